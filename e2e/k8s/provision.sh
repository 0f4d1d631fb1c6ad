#!/usr/bin/env bash
# provision.sh — build the real Kubernetes binaries the end-to-end tests run against
# (kube-apiserver, kubectl, etcd, helm, kubeconform) from Go modules, and cache them.
#
# Usage:
#   e2e/k8s/provision.sh [TOOL...]
#     TOOL: kube-apiserver kubectl etcd helm kubeconform (default: all of them)
#   BIN=$(e2e/k8s/provision.sh | tail -n1)     # the last line of stdout is the bin directory
#
# Environment:
#   TOLLGATE_CACHE   cache root (default: $HOME/.cache/tollgate); binaries live in
#                    $TOLLGATE_CACHE/k8s/<name>-<version>/<name>, so only the first run builds.
#   GO               go command to use (default: `go` on PATH, else /usr/local/go/bin/go); needs Go >= 1.26.
#   TOLLGATE_K8S_VERSIONS (space separated candidates), TOLLGATE_ETCD_VERSION, TOLLGATE_HELM_VERSION,
#   TOLLGATE_KUBECONFORM_VERSION   override the pins below.
#   GOFLAGS, GOMAXPROCS, GOMODCACHE are honoured as usual. GOCACHE too when set explicitly; else the
#     build cache is a throwaway one, deleted after the run (it grows by ~4 GB for kube-apiserver,
#     and the binaries themselves are what is cached). On a shared machine run it as
#     nice -n 19 env GOFLAGS=-p=1 GOMAXPROCS=1 e2e/k8s/provision.sh
#
# Everything comes through the Go module proxy: each tool is built in a throwaway module under
# the cache (`go mod init` + `go get` + `go build`), into a temp dir that is renamed into place
# only once complete, so an interrupted build never leaves a half-written cache entry. A lock
# serialises concurrent runs. All progress goes to stderr.
set -euo pipefail

# ---- version pins (each can be overridden from the environment, e.g. to try a new release) ----
# k8s.io/kubernetes candidates, tried in order: the first one already cached wins, else the first
# one that the proxy serves and that builds. kubernetes v1.N.M pairs with staging modules v0.N.M.
read -r -a K8S_VERSIONS <<<"${TOLLGATE_K8S_VERSIONS:-v1.37.2 v1.36.3}"
ETCD_VERSION=${TOLLGATE_ETCD_VERSION:-v3.6.16}                # go.etcd.io/etcd/server/v3 (root package = etcd main)
HELM_VERSION=${TOLLGATE_HELM_VERSION:-v3.22.0}                # helm.sh/helm/v3/cmd/helm
KUBECONFORM_VERSION=${TOLLGATE_KUBECONFORM_VERSION:-v0.8.0}   # github.com/yannh/kubeconform/cmd/kubeconform
# ---------------------------------------------------------------------------------------------

ALL_TOOLS=(kube-apiserver kubectl etcd helm kubeconform)

log() { printf '[provision] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[[ -x $GO ]] || GO=$(command -v "$GO") || die "no go toolchain found (set GO=/path/to/go)"
go_version=$("$GO" env GOVERSION)
[[ $go_version =~ ^go1\.([0-9]+) ]] && ((BASH_REMATCH[1] >= 26)) ||
	die "need Go >= 1.26 (k8s.io/kubernetes requires it), have $go_version"

# Static binaries, no toolchain downloads: the installed Go must do.
export CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GO111MODULE=on

CACHE_ROOT=${TOLLGATE_CACHE:-$HOME/.cache/tollgate}/k8s
mkdir -p "$CACHE_ROOT"

tools=("$@")
((${#tools[@]})) || tools=("${ALL_TOOLS[@]}")
for t in "${tools[@]}"; do
	[[ " ${ALL_TOOLS[*]} " == *" $t "* ]] || die "unknown tool '$t' (known: ${ALL_TOOLS[*]})"
done

# One run at a time per cache: a second run waits, then finds the cache filled.
exec 9>"$CACHE_ROOT/.lock"
flock 9

# Leftover temp dirs are from interrupted runs (we hold the lock, so none is live).
rm -rf "$CACHE_ROOT"/.tmp-* 2>/dev/null || true

# Everything of this run is built under one temp dir on the cache's filesystem, so publishing is
# a rename and whatever is left (failure, interrupt) goes away with it.
run_tmp=$(mktemp -d "$CACHE_ROOT/.tmp-run-XXXXXX")
trap 'rm -rf "$run_tmp"' EXIT
if [[ -z ${GOCACHE:-} ]]; then
	export GOCACHE=$run_tmp/gocache
fi

cached() { [[ -x $CACHE_ROOT/$1-$2/$1 ]]; } # name version

# Moves <tmp>/<name> into $CACHE_ROOT/<name>-<version>/ atomically (rename of a complete dir).
publish() { # name version tmpdir seconds details
	local name=$1 version=$2 src=$3 secs=$4 details=$5 out
	out=$(mktemp -d "$run_tmp/pub-$name-XXXXXX")
	chmod 755 "$out"
	mv "$src/$name" "$out/$name"
	{
		echo "name: $name"
		echo "version: $version"
		echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "build_seconds: $secs"
		echo "go: $go_version"
		echo "$details"
	} >"$out/BUILDINFO"
	if [[ -e $CACHE_ROOT/$name-$version ]]; then
		rm -rf "$CACHE_ROOT/$name-$version" # a dir without its binary: replace it
	fi
	mv -T "$out" "$CACHE_ROOT/$name-$version"
	log "$name $version -> $CACHE_ROOT/$name-$version ($(du -sh "$CACHE_ROOT/$name-$version/$name" | cut -f1), ${secs}s)"
}

# Creates a throwaway module in a new temp dir and prints the dir.
throwaway_module() { # label
	local d
	d=$(mktemp -d "$run_tmp/$1-XXXXXX")
	mkdir "$d/src"
	(cd "$d/src" && "$GO" mod init "tollgate.local/provision/$1" >&2)
	printf '%s\n' "$d"
}

# ---- kube-apiserver + kubectl (k8s.io/kubernetes) --------------------------------------------
build_k8s() { # version names...
	local v=$1
	shift
	local names=("$@") minor staging_v gomod d start secs n mods=() ldflags
	[[ $v =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || die "bad kubernetes version $v"
	minor=${BASH_REMATCH[1]}
	staging_v="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"

	log "kubernetes $v: resolving through the module proxy"
	local dl
	if ! dl=$("$GO" mod download -json "k8s.io/kubernetes@$v"); then
		log "kubernetes $v: $(sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' <<<"$dl")"
		return 1
	fi
	gomod=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' <<<"$dl")
	[[ -f $gomod ]] || return 1
	# Every k8s.io/* module required at v0.0.0 is a staging module, replaced upstream by a path
	# inside the repo; as a dependency it must be pinned to its real release instead.
	mapfile -t mods < <(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }' "$gomod" | sort -u)
	((${#mods[@]})) || die "found no staging modules in $gomod"
	log "kubernetes $v: pinning ${#mods[@]} staging modules to $staging_v"

	d=$(throwaway_module "kubernetes-$v") || return 1
	start=$SECONDS
	# (Callers test this function's status, which turns errexit off in here: check each step.)
	local edits=() pkgs=()
	for n in "${mods[@]}"; do edits+=("-replace=$n=$n@$staging_v"); done
	for n in "${names[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$n@$v"); done
	(cd "$d/src" && "$GO" mod edit "${edits[@]}" && "$GO" get "${pkgs[@]}" >&2) || return 1
	# What the upstream build stamps in (hack/lib/version.sh), so /version and `kubectl version`
	# report the real release instead of v0.0.0-master.
	ldflags="-s -w"
	for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor"
		ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	done
	for n in "${names[@]}"; do
		log "kubernetes $v: building $n (slow: this is the big one)"
		local t0=$SECONDS
		(cd "$d/src" && "$GO" build -trimpath -ldflags "$ldflags" -o "$d/$n" "k8s.io/kubernetes/cmd/$n") || return 1
		log "kubernetes $v: $n built in $((SECONDS - t0))s"
	done
	secs=$((SECONDS - start))
	for n in "${names[@]}"; do
		publish "$n" "$v" "$d" "$secs" "module: k8s.io/kubernetes@$v (staging modules at $staging_v)"
	done
}

# ---- single-module tools --------------------------------------------------------------------
build_simple() { # name version module-version-to-get package ldflags...
	local name=$1 v=$2 get=$3 pkg=$4 ldflags=${5:-} d start
	d=$(throwaway_module "$name-$v") || return 1
	start=$SECONDS
	log "$name $v: fetching $get"
	(cd "$d/src" && "$GO" get "$get" >&2) || return 1
	if [[ $name == helm ]]; then
		# helm's own Makefile stamps the Kubernetes version it was built against (client-go v0.N ->
		# 1.N) as the default .Capabilities.KubeVersion; without it templates see v1.20.
		local cg
		cg=$(cd "$d/src" && "$GO" list -m -f '{{.Version}}' k8s.io/client-go)
		[[ $cg =~ ^v0\.([0-9]+)\. ]] || die "unexpected k8s.io/client-go version $cg"
		for p in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
			ldflags+=" -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=${BASH_REMATCH[1]}"
		done
	fi
	log "$name $v: building $pkg"
	(cd "$d/src" && "$GO" build -trimpath -ldflags "-s -w $ldflags" -o "$d/$name" "$pkg") || return 1
	publish "$name" "$v" "$d" "$((SECONDS - start))" "module: $get"
}

want() { [[ " ${tools[*]} " == *" $1 "* ]]; }

# ---- main -----------------------------------------------------------------------------------
declare -A chosen=()

k8s_names=()
for n in kube-apiserver kubectl; do want "$n" && k8s_names+=("$n"); done
if ((${#k8s_names[@]})); then
	# Prefer a candidate that is already fully cached, in pin order.
	for v in "${K8S_VERSIONS[@]}"; do
		ok=1
		for n in "${k8s_names[@]}"; do cached "$n" "$v" || ok=0; done
		if ((ok)); then chosen[k8s]=$v && break; fi
	done
	if [[ -z ${chosen[k8s]:-} ]]; then
		for v in "${K8S_VERSIONS[@]}"; do
			missing=()
			for n in "${k8s_names[@]}"; do cached "$n" "$v" || missing+=("$n"); done
			if build_k8s "$v" "${missing[@]}"; then chosen[k8s]=$v && break; fi
			log "kubernetes $v: failed; trying the next pinned version"
		done
		[[ -n ${chosen[k8s]:-} ]] || die "could not build kubernetes at any of: ${K8S_VERSIONS[*]}"
	fi
	for n in "${k8s_names[@]}"; do chosen[$n]=${chosen[k8s]}; done
fi

if want etcd; then
	cached etcd "$ETCD_VERSION" || build_simple etcd "$ETCD_VERSION" \
		"go.etcd.io/etcd/server/v3@$ETCD_VERSION" go.etcd.io/etcd/server/v3 ||
		die "etcd $ETCD_VERSION failed to build"
	chosen[etcd]=$ETCD_VERSION
fi
if want helm; then
	cached helm "$HELM_VERSION" || build_simple helm "$HELM_VERSION" \
		"helm.sh/helm/v3/cmd/helm@$HELM_VERSION" helm.sh/helm/v3/cmd/helm \
		"-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean" ||
		die "helm $HELM_VERSION failed to build"
	chosen[helm]=$HELM_VERSION
fi
if want kubeconform; then
	cached kubeconform "$KUBECONFORM_VERSION" || build_simple kubeconform "$KUBECONFORM_VERSION" \
		"github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION" \
		github.com/yannh/kubeconform/cmd/kubeconform "-X main.version=$KUBECONFORM_VERSION" ||
		die "kubeconform $KUBECONFORM_VERSION failed to build"
	chosen[kubeconform]=$KUBECONFORM_VERSION
fi

# One bin dir per set of pins (so two checkouts with different pins never fight over it), holding
# symlinks to the versioned cache entries. Each link is swapped in with a rename.
pins_key=$(printf '%s\n' "${K8S_VERSIONS[*]}" "$ETCD_VERSION" "$HELM_VERSION" "$KUBECONFORM_VERSION" |
	sha256sum | cut -c1-12)
bin_dir=$CACHE_ROOT/bin-$pins_key
mkdir -p "$bin_dir"
for n in "${tools[@]}"; do
	target=$CACHE_ROOT/$n-${chosen[$n]}/$n
	[[ -x $target ]] || die "missing $target after build"
	if [[ $(readlink "$bin_dir/$n" 2>/dev/null || true) != "$target" ]]; then
		ln -sfn "$target" "$bin_dir/.$n.new"
		mv -T "$bin_dir/.$n.new" "$bin_dir/$n"
	fi
	log "$n ${chosen[$n]}: $target"
done

printf '%s\n' "$bin_dir"
