#!/bin/bash
# make demo: keyd's main job so far, end to end, on a private software TPM.
# Nothing outside a temporary directory is touched; everything started is stopped by pid.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${KEYD_BUILD:-$top/build/release}
export PATH="$build:$PATH"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

D=$(mktemp -d /tmp/keyd-demo.XXXXXX)
swtpm_pid=
cleanup() {
	[ -n "$swtpm_pid" ] && kill "$swtpm_pid" 2>/dev/null || true
	rm -rf "$D"
}
trap cleanup EXIT

say "Starting a private software TPM (swtpm) on a unix socket in $D"
mkdir -p "$D/tpm"
swtpm socket --tpm2 --server type=unixio,path="$D/tpm/sock" --ctrl type=unixio,path="$D/tpm/sock.ctrl" \
	--tpmstate dir="$D/tpm" --flags not-need-init,startup-clear --daemon --pid file="$D/tpm/pid"
for _ in $(seq 50); do [ -s "$D/tpm/pid" ] && break; sleep 0.05; done
swtpm_pid=$(cat "$D/tpm/pid")
export KEYD_TCTI="swtpm:path=$D/tpm/sock"
export KEYD_ROOT="$D/store"
mkdir -m 0700 "$KEYD_ROOT"
echo "KEYD_TCTI=$KEYD_TCTI  KEYD_ROOT=$KEYD_ROOT"

say "What the TPM offers"
run keyd-ctl tpm info

say "Creating a TPM-resident ECDSA P-256 key: its private part never leaves the TPM"
run keyd-ctl key create host --alg ec-p256
run keyd-ctl key show host

say "A certificate request for it, signed inside the TPM"
run keyd-ctl csr host --subject "/CN=host.demo.example/O=keyd demo" --san DNS:host.demo.example --out "$D/host.csr"
cat "$D/host.csr"
run openssl req -in "$D/host.csr" -noout -verify -subject

say "A demo CA signs it; keyd enrolls the CA and the certificate"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/ca.key" -out "$D/ca.pem" -days 30 \
	-subj "/CN=keyd demo CA" -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl x509 -req -in "$D/host.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" -CAcreateserial \
	-days 30 -out "$D/host.pem" -copy_extensions copy 2>/dev/null
rm -f "$D/ca.key"
run keyd-ctl ca add "$D/ca.pem" --set demo
run keyd-ctl cert add host "$D/host.pem"

say "Two NVMe/TCP TLS pre-shared keys, generated and sealed to the TPM at once"
run keyd-ctl psk add --hostnqn nqn.2014-08.org.nvmexpress:uuid:0c468c4d-a385-47e0-8299-6e95051277db \
	--subnqn nqn.2024-01.io.keyd:demo-a --generate --hmac sha256 --identity v1
run keyd-ctl psk add --hostnqn nqn.2014-08.org.nvmexpress:uuid:0c468c4d-a385-47e0-8299-6e95051277db \
	--subnqn nqn.2024-01.io.keyd:demo-b --generate --hmac sha384 --identity v1 --pcrs sha256:7
run keyd-ctl psk list
run keyd-ctl psk show --hostnqn nqn.2014-08.org.nvmexpress:uuid:0c468c4d-a385-47e0-8299-6e95051277db \
	--subnqn nqn.2024-01.io.keyd:demo-b --unseal-check

say "What the store holds: TPM key files, sealed blobs, certificates, readable metadata"
run keyd-ctl list
(cd "$KEYD_ROOT" && find . -type f ! -name '.*' | sort | xargs ls -l)

say "The TPM holds no transient object after all of this"
TPM2TOOLS_TCTI=$KEYD_TCTI tpm2_getcap handles-transient && echo "(none)"

say "Done: a TPM key, a CSR signed in the TPM, a CA and a certificate, two sealed PSKs."
