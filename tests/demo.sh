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
keyd_pid=
cleanup() {
	[ -n "$keyd_pid" ] && kill "$keyd_pid" 2>/dev/null || true
	[ -n "$swtpm_pid" ] && kill "$swtpm_pid" 2>/dev/null || true
	# The demo's keyrings hang off one ring in root's user keyring: unlink it.
	r=$(keyctl search @u keyring keyd:demo-root 2>/dev/null) && keyctl unlink "$r" @u >/dev/null 2>&1 || true
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

say "Sealed keyrings from a policy: keyd provisions them from the store and the TPM"
# Everything is linked under one ring, keyd:demo-root, in root's user keyring;
# the demo unlinks it at the end.
mkdir -m 0700 "$D/policy.d"
cat >"$D/policy.d/demo.policy" <<POLICY
# The demo CA as kernel-parsed certificates and readable DER; closed: nothing
# more can be linked into it, even by root.
[keyring demo-trust]
ca-set = demo as asymmetric,user
link = keyring:demo-root
seal = closed

# The TPM key's certificate (DER) and a reference to its private key, which
# stays in the TPM.
[keyring demo-host]
cert = host
key = host as ref
link = keyring:demo-root
seal = closed

# The NVMe/TCP PSKs: into the kernel's .nvme keyring when the nvme-keyring module
# is loaded; otherwise keyd says so and uses a keyring of its own.
[keyring nvme]
kernel = .nvme
if-absent = create
psk = all
link = keyring:demo-root
seal = open

[keyring demo-root]
link = user:0
seal = open
POLICY
chmod 0600 "$D/policy.d/demo.policy"
cat >"$D/keyd.conf" <<CONF
store = $KEYD_ROOT
tcti = $KEYD_TCTI
policy-dir = $D/policy.d
socket = $D/run/keyd.sock
CONF
chmod 0600 "$D/keyd.conf"
run keyd --config "$D/keyd.conf" --test-config
run keyd --config "$D/keyd.conf" provision --once || true

say "The keyring tree the kernel now holds"
run keyctl show @u

say "keyd as a daemon: it provisions at start and answers on its socket"
keyd --config "$D/keyd.conf" >"$D/keyd.log" 2>&1 &
keyd_pid=$!
for _ in $(seq 100); do [ -S "$D/run/keyd.sock" ] && break; sleep 0.1; done
run keyd-ctl status --socket "$D/run/keyd.sock"
kill "$keyd_pid"; wait "$keyd_pid" 2>/dev/null || true; keyd_pid=

say "The TPM holds no transient object after all of this"
TPM2TOOLS_TCTI=$KEYD_TCTI tpm2_getcap handles-transient && echo "(none)"

say "Done: a TPM key, a CSR signed in the TPM, a CA and a certificate, two sealed PSKs, sealed keyrings provisioned from a policy."

# ---- the main job: a machine whose root file system comes over NVMe/TCP with TLS ----------
# tests/vm/root-dracut.sh, narrated (KEYD_DEMO=1): it enrolls a PSK on a private swtpm of its
# own (the guest's TPM), builds an initramfs with keyd's dracut module, and boots two VMs
# (Debian's 6.12 kernel under qemu): a storage target, and the host whose root is mounted over
# NVMe/TCP with TLS. Everything stays in temp dirs and build/vm-cache; nothing is installed.
say "Now the main job: a VM whose root file system is on NVMe/TCP with TLS, its PSK unsealed by keyd in the initramfs"
echo "(two VMs under qemu without KVM: two to four minutes)"
boot_rc=0
KEYD_DEMO=1 KEYD_BUILD=$build bash "$top/tests/vm/root-dracut.sh" || boot_rc=$?
case $boot_rc in
0) say "Done: enrolled, built an initramfs with keyd's module, booted from NVMe/TCP over TLS." ;;
77) say "The VM boot was skipped (the reason is above); the enrollment part ran." ;;
*) say "The VM boot failed (exit $boot_rc); consoles: build/test-logs/vm-root-dracut-*.serial.log"
   exit "$boot_rc" ;;
esac
