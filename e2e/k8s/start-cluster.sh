#!/usr/bin/env bash
# start-cluster.sh — start a real control plane (etcd + kube-apiserver, no nodes, no controllers)
# on loopback ports, for end-to-end tests.
#
# Usage:
#   KUBECONFIG=$(e2e/k8s/start-cluster.sh [DIR] | tail -n1)
#   ... run tests ...
#   e2e/k8s/stop-cluster.sh DIR          # or: kill $(cat DIR/pids)
#
#   DIR   where certs, data, logs and the kubeconfig go (default: a new temp dir). Must be empty
#         or absent.
#
# Environment:
#   K8S_BIN_DIR          dir holding etcd, kube-apiserver, kubectl (default: what provision.sh prints;
#                        it builds them on first use, which takes a long time)
#   ETCD_PORT, ETCD_PEER_PORT, APISERVER_PORT
#                        fixed ports (default: free ones picked at random, retried on a clash)
#   START_TIMEOUT        seconds to wait for /readyz (default 180)
#   APISERVER_EXTRA_ARGS extra kube-apiserver flags, space separated
#
# Writes into DIR: kubeconfig (admin via client cert, group system:masters), admin.token (bearer
# token for the same admin), ca.crt, env (sourceable: KUBECONFIG, K8S_SERVER, K8S_CA_FILE,
# K8S_TOKEN_FILE, ETCD_ENDPOINT), pids (etcd and kube-apiserver), etcd.log, kube-apiserver.log.
# Progress goes to stderr; the last line of stdout is the kubeconfig path.
#
# There is no controller-manager: namespaces never finish deleting, no default service account is
# created (so Pods are refused by the ServiceAccount admission plugin), and nothing runs Pods.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { printf '[start-cluster] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

bin=${K8S_BIN_DIR:-}
if [[ -z $bin ]]; then
	bin=$("$here/provision.sh" etcd kube-apiserver kubectl | tail -n1)
fi
for b in etcd kube-apiserver kubectl; do [[ -x $bin/$b ]] || die "$bin/$b not found"; done
command -v openssl >/dev/null || die "openssl is required"

dir=${1:-}
if [[ -z $dir ]]; then
	dir=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-k8s-XXXXXX")
else
	mkdir -p "$dir"
	[[ -z $(ls -A "$dir") ]] || die "$dir is not empty"
fi
dir=$(cd "$dir" && pwd)
timeout_s=${START_TIMEOUT:-180}

pids=()
ok=0
on_exit() {
	if ((!ok)); then
		((${#pids[@]})) && kill "${pids[@]}" 2>/dev/null
		for f in etcd.log kube-apiserver.log; do
			[[ -f $dir/$f ]] && { log "--- tail of $dir/$f"; tail -n 25 "$dir/$f" >&2; }
		done
	fi
	return 0
}
trap on_exit EXIT

# ---- ports ---------------------------------------------------------------------------------
# Below the kernel's ephemeral range (32768+), so outgoing connections do not take them meanwhile.
taken=" "
etcd_port='' etcd_peer_port='' api_port='' # set by pick_port
is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() { # var [fixed]: sets var to fixed, or else to a free port not handed out before
	local -n out=$1
	local p
	if [[ -n ${2:-} ]]; then out=$2 && return 0; fi
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 12000))
		if [[ $taken != *" $p "* ]] && is_free "$p"; then
			taken+="$p "
			out=$p
			return 0
		fi
	done
	die "no free port found"
}

# ---- certificates --------------------------------------------------------------------------
pki=$dir/pki
mkdir -p "$pki"
(
	cd "$pki"
	openssl genrsa -out ca.key 2048 2>/dev/null
	openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=tollgate-e2e-ca" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out ca.crt
	sign() { # name subject extensions
		openssl genrsa -out "$1.key" 2048 2>/dev/null
		openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
		printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "$3" >"$1.ext"
		openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 3650 \
			-extfile "$1.ext" -out "$1.crt" 2>/dev/null
		rm -f "$1.csr" "$1.ext"
	}
	sign apiserver "/CN=kube-apiserver" \
		"extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
	sign admin "/O=system:masters/CN=tollgate-e2e-admin" "extendedKeyUsage=clientAuth"
	# Service-account token signing pair.
	openssl genrsa -out sa.key 2048 2>/dev/null
	openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
)
cp "$pki/ca.crt" "$dir/ca.crt"
token=$(openssl rand -hex 32)
printf '%s\n' "$token" >"$dir/admin.token"
printf '%s,tollgate-e2e-admin,tollgate-e2e-admin,"system:masters"\n' "$token" >"$pki/tokens.csv"
chmod 600 "$pki"/*.key "$pki/tokens.csv" "$dir/admin.token"

# ---- etcd ----------------------------------------------------------------------------------
# Starts a process in the background with its output in DIR/<name>.log; waits until it listens
# on port, or fails if it exits first (returning 2 when the port was taken after all).
start_process() { # name port args...
	local name=$1 port=$2 pid deadline
	shift 2
	# Someone else's listener would pass the wait below for ours.
	is_free "$port" || { log "$name: 127.0.0.1:$port is in use"; return 2; }
	"$@" </dev/null >"$dir/$name.log" 2>&1 &
	pid=$!
	deadline=$((SECONDS + timeout_s))
	while is_free "$port"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null || true
			grep -qi 'address already in use' "$dir/$name.log" && return 2
			return 1
		fi
		((SECONDS < deadline)) || { kill "$pid"; return 1; }
		sleep 0.2
	done
	pids+=("$pid")
	started_pid=$pid
}

for attempt in 1 2 3; do
	pick_port etcd_port "${ETCD_PORT:-}"
	pick_port etcd_peer_port "${ETCD_PEER_PORT:-}"
	rm -rf "$dir/etcd-data"
	rc=0
	is_free "$etcd_peer_port" || rc=2
	((rc)) || start_process etcd "$etcd_port" "$bin/etcd" \
		--name=e2e \
		--data-dir="$dir/etcd-data" \
		--listen-client-urls="http://127.0.0.1:$etcd_port" \
		--advertise-client-urls="http://127.0.0.1:$etcd_port" \
		--listen-peer-urls="http://127.0.0.1:$etcd_peer_port" \
		--initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer_port" \
		--initial-cluster="e2e=http://127.0.0.1:$etcd_peer_port" \
		--unsafe-no-fsync \
		--log-level=warn || rc=$?
	((rc == 0)) && break
	((rc == 2 && attempt < 3)) && [[ -z ${ETCD_PORT:-}${ETCD_PEER_PORT:-} ]] || die "etcd did not start"
	log "etcd: port clash, retrying"
done
etcd_pid=$started_pid
log "etcd pid $etcd_pid on 127.0.0.1:$etcd_port"

# ---- kube-apiserver ------------------------------------------------------------------------
read -r -a extra <<<"${APISERVER_EXTRA_ARGS:-}"
for attempt in 1 2 3; do
	pick_port api_port "${APISERVER_PORT:-}"
	rc=0
	start_process kube-apiserver "$api_port" "$bin/kube-apiserver" \
		--bind-address=127.0.0.1 \
		--secure-port="$api_port" \
		--advertise-address=127.0.0.1 \
		--etcd-servers="http://127.0.0.1:$etcd_port" \
		--cert-dir="$dir/apiserver-certs" \
		--tls-cert-file="$pki/apiserver.crt" \
		--tls-private-key-file="$pki/apiserver.key" \
		--client-ca-file="$pki/ca.crt" \
		--token-auth-file="$pki/tokens.csv" \
		--authorization-mode=RBAC \
		--service-account-issuer="https://kubernetes.default.svc.cluster.local" \
		--service-account-key-file="$pki/sa.pub" \
		--service-account-signing-key-file="$pki/sa.key" \
		--service-cluster-ip-range=10.0.0.0/24 \
		--endpoint-reconciler-type=none \
		--allow-privileged=true \
		--profiling=false \
		"${extra[@]}" || rc=$?
	((rc == 0)) && break
	((rc == 2 && attempt < 3)) && [[ -z ${APISERVER_PORT:-} ]] || die "kube-apiserver did not start"
	log "kube-apiserver: port clash, retrying"
done
api_pid=$started_pid
printf '%s\n' "$etcd_pid" "$api_pid" >"$dir/pids"
server=https://127.0.0.1:$api_port
log "kube-apiserver pid $api_pid on $server"

# ---- kubeconfig ----------------------------------------------------------------------------
b64() { base64 -w0 <"$1"; }
cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: tollgate-e2e
    cluster:
      server: $server
      certificate-authority-data: $(b64 "$pki/ca.crt")
users:
  - name: tollgate-e2e-admin
    user:
      client-certificate-data: $(b64 "$pki/admin.crt")
      client-key-data: $(b64 "$pki/admin.key")
contexts:
  - name: tollgate-e2e
    context:
      cluster: tollgate-e2e
      user: tollgate-e2e-admin
current-context: tollgate-e2e
EOF
chmod 600 "$dir/kubeconfig"
cat >"$dir/env" <<EOF
KUBECONFIG=$dir/kubeconfig
K8S_SERVER=$server
K8S_CA_FILE=$dir/ca.crt
K8S_TOKEN_FILE=$dir/admin.token
ETCD_ENDPOINT=http://127.0.0.1:$etcd_port
EOF

# ---- readiness -----------------------------------------------------------------------------
deadline=$((SECONDS + timeout_s))
until out=$("$bin/kubectl" --kubeconfig="$dir/kubeconfig" get --raw /readyz 2>&1) && [[ $out == ok ]]; do
	for p in "$etcd_pid" "$api_pid"; do kill -0 "$p" 2>/dev/null || die "process $p exited"; done
	((SECONDS < deadline)) || die "not ready after ${timeout_s}s: $out"
	sleep 0.5
done
log "ready in ${SECONDS}s (dir $dir)"
ok=1
printf '%s\n' "$dir/kubeconfig"
