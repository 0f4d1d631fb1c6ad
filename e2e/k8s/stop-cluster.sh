#!/usr/bin/env bash
# stop-cluster.sh — stop a control plane started by start-cluster.sh.
#
# Usage: e2e/k8s/stop-cluster.sh DIR [--rm]
#   Sends SIGTERM to the PIDs in DIR/pids (kube-apiserver first, then etcd), waits up to 15s,
#   then SIGKILLs what is left. With --rm, deletes DIR afterwards.
set -euo pipefail

dir=${1:?usage: stop-cluster.sh DIR [--rm]}
[[ -f $dir/pids ]] || { echo "[stop-cluster] no $dir/pids" >&2; exit 1; }
mapfile -t pids <"$dir/pids"

alive() { kill -0 "$1" 2>/dev/null; }
# Reverse order: the apiserver goes before the etcd it talks to.
for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
	p=${pids[i]}
	alive "$p" || continue
	kill "$p" 2>/dev/null || true
	for _ in $(seq 75); do alive "$p" || break; sleep 0.2; done
	alive "$p" && kill -9 "$p" 2>/dev/null || true
done
if [[ ${2:-} == --rm ]]; then rm -rf "$dir"; fi
