#!/bin/bash
# keyd-handshaked signs with a TPM key that the kernel holds (kernel-patches/0004, the TPM2
# subtype of the asymmetric key type) in Debian's 6.12 kernel, with a swtpm as the guest's TPM:
#  1. keyd-ctl creates an ECDSA P-256 key in the TPM, its CSR is signed by a test CA (made on
#     the host at run time) and enrolled; keyd provisions a keyring from a policy with
#     "cert = K as user" and "key = K as tpm2": the key goes in as an asymmetric key whose
#     payload is the TSS2 key, keyctl pkey_query describes it (256 bits, sign), keyctl read
#     of it fails;
#  2. keyd-handshaked --test-handshake --x509 with --key-serial = that asymmetric key completes
#     TLS 1.3 mutual authentication against openssl s_server -Verify 1 -CAfile ca.pem on
#     loopback, and s_server reports the enrolled certificate's subject (the agent signed with
#     KEYCTL_PKEY_SIGN: no keyd daemon runs, no reference key exists);
#  3. the same with the key placed by 'keyd-ctl key to-kernel' instead of the policy.
# Skips (77) while mk/kernel.sh builds no asym_tpm2.ko (the series has no 0004 yet).
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/vm.sh"

t0=$(vm_now)
vm_require
require_cmd openssl
vm_fetch_kernel

note "building the patched modules (mk/kernel.sh --kver $VM_KVER)"
krc=0
"$KEYD_TOP/mk/kernel.sh" --kver "$VM_KVER" || krc=$?
[ "$krc" = 77 ] && skip "mk/kernel.sh could not fetch the kernel packages"
[ "$krc" = 0 ] || fail "mk/kernel.sh failed (exit $krc)"
ko=$KEYD_TOP/build/kernel/$VM_KVER/crypto/asymmetric_keys/asym_tpm2.ko
[ -r "$ko" ] || skip "module not built: mk/kernel.sh made no $ko (kernel-patches/0004, the TPM2 asymmetric key subtype, is not in the series yet)"
t_kernel=$(vm_since "$t0")

note "building the release keyd, keyd-ctl and keyd-handshaked"
bins=()
for p in keyd keyd-ctl keyd-handshaked; do
	make -s -C "$KEYD_TOP" NO_DEPS=1 "build/release/$p" >"$T/make-$p.log" 2>&1 ||
		fail "could not build build/release/$p: $(tail -n 5 "$T/make-$p.log")"
	bins+=(--bin "$KEYD_TOP/build/release/$p")
done

# The test PKI: a CA and a server certificate for s_server, software keys made now.
mkdir -p "$T/root/lib/keyd-vm" "$T/root/etc/keyd-vm"
cp "$ko" "$T/root/lib/keyd-vm/asym_tpm2.ko"
P=$T/root/etc/keyd-vm
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=keyd kernel-key test CA" -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign -keyout "$P/ca.key" -out "$P/ca.pem" \
	2>/dev/null || fail "cannot make the test CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
	-keyout "$P/server.key" -out "$T/server.csr" 2>/dev/null || fail "cannot make a server key"
printf '%s\n' "subjectAltName=DNS:localhost" "extendedKeyUsage=serverAuth" \
	"basicConstraints=CA:FALSE" >"$T/server.ext"
openssl x509 -req -in "$T/server.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial \
	-days 2 -extfile "$T/server.ext" -out "$P/server.pem" 2>/dev/null ||
	fail "cannot sign the server certificate"
printf '%s\n' "extendedKeyUsage=clientAuth" "basicConstraints=CA:FALSE" >"$P/client.ext"

cat >"$T/root/init" <<'INIT'
#!/bin/sh
. /lib/keyd-vm/guest.sh
vm_guest_init
# PID 1 has no session keyring: run the scenario in one (keyd links its rings there).
exec keyctl session keyd-vm /bin/sh /etc/keyd-vm/scenario.sh
INIT
chmod 0755 "$T/root/init"

cat >"$P/scenario.sh" <<'SCENARIO'
. /lib/keyd-vm/guest.sh
trap 'vm_result FAIL "the scenario ended without a verdict (last status $?)"' EXIT
P=/etc/keyd-vm
SUBJECT="keyd kernel key agent"
export KEYD_TCTI=device:/dev/tpmrm0

# handshake LABEL CERT_SERIAL KEY_SERIAL TRUST: one agent handshake against s_server.
handshake() {
	rm -f /tmp/in; mkfifo /tmp/in; exec 9<>/tmp/in
	openssl s_server -accept 127.0.0.1:4433 -naccept 1 -tls1_3 -num_tickets 0 \
		-cert $P/server.pem -key $P/server.key -CAfile $P/ca.pem -Verify 1 \
		-verify_return_error -rev </tmp/in >/out/s_server-$1.log 2>&1 &
	SERVER=$!
	i=0
	until grep -q ':1151 ' /proc/net/tcp 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && { cat /out/s_server-$1.log; vm_fail "$1: s_server does not listen"; }
		sleep 0.1
	done
	start=$(vm_uptime)
	keyd-handshaked --test-handshake --x509 --connect 127.0.0.1:4433 --cert-serial "$2" \
		--key-serial "$3" --ca-keyring "$4" --peername localhost \
		--send 'agent ok
' --expect 'ko tnega
' >/out/agent-$1.log 2>&1 || {
		cat /out/agent-$1.log; cat /out/s_server-$1.log
		vm_fail "$1: the agent's handshake with the kernel key failed"; }
	took=$(awk -v a="$start" -v b="$(vm_uptime)" 'BEGIN { printf "%.2f", b - a }')
	wait $SERVER 2>/dev/null
	exec 9>&-
	cat /out/agent-$1.log
	grep -q "status=ok" /out/agent-$1.log || vm_fail "$1: the agent did not report status=ok"
	grep -q "peer=CN=localhost" /out/agent-$1.log || vm_fail "$1: the agent did not verify the server"
	grep -Eq "^Peer certificate: .*CN ?= ?$SUBJECT" /out/s_server-$1.log || {
		cat /out/s_server-$1.log; vm_fail "$1: s_server did not report the client certificate '$SUBJECT'"; }
	grep -q "^Verification: OK" /out/s_server-$1.log || vm_fail "$1: s_server did not verify the client"
	! grep -qi "verify error" /out/s_server-$1.log || vm_fail "$1: s_server logged a verify error"
	echo "ok: $1: TLS 1.3 mutual authentication, the client signed by the kernel ($took s)"
}

# -- the subtype, the TPM.
vm_check "insmod asym_tpm2.ko" /sbin/insmod /lib/keyd-vm/asym_tpm2.ko
vm_wait_for /dev/tpmrm0 50 || vm_fail "no /dev/tpmrm0 (is the swtpm attached?)"
# kTLS for the agent's session keys (the kernel asks for these by alias; loaded now).
vm_check "modprobe tls gcm ghash-generic" modprobe -a tls gcm ghash-generic
vm_time module

# -- 1. enrollment (the key is made in this TPM) and provisioning "as tpm2".
mkdir -m 0700 -p /var/lib/keyd /etc/keyd/policy.d
vm_check "keyd-ctl key create kk --alg ec-p256" keyd-ctl --root /var/lib/keyd key create kk --alg ec-p256
vm_check "keyd-ctl csr" keyd-ctl --root /var/lib/keyd csr kk --subject "/CN=$SUBJECT" --out /tmp/kk.csr
vm_check "sign the CSR with the test CA" openssl x509 -req -in /tmp/kk.csr -CA $P/ca.pem \
	-CAkey $P/ca.key -CAcreateserial -days 2 -extfile $P/client.ext -out /tmp/kk.pem
vm_check "keyd-ctl ca add" keyd-ctl --root /var/lib/keyd ca add $P/ca.pem --set vmca
vm_check "keyd-ctl cert add" keyd-ctl --root /var/lib/keyd cert add kk /tmp/kk.pem
vm_time enroll
cat >/etc/keyd/keyd.conf <<EOF
store = /var/lib/keyd
tcti = device:/dev/tpmrm0
policy-dir = /etc/keyd/policy.d
EOF
cat >/etc/keyd/policy.d/50-vm.policy <<EOF
[keyring client]
cert = kk as user
key = kk as tpm2
link = session
seal = closed

[keyring trust]
ca-set = vmca as user
link = session
seal = closed
EOF
chmod 0600 /etc/keyd/keyd.conf /etc/keyd/policy.d/50-vm.policy
keyd --config /etc/keyd/keyd.conf provision --once >/out/provision.log 2>&1 || {
	cat /out/provision.log; vm_fail "1. keyd provision --once failed"; }
cat /out/provision.log
CLIENT=$(keyctl search @s keyring keyd:client) || vm_fail "1. no keyring keyd:client"
TRUST=$(keyctl search @s keyring keyd:trust) || vm_fail "1. no keyring keyd:trust"
KEY=$(keyctl search "$CLIENT" asymmetric keyd:key:kk) || {
	keyctl show @s; vm_fail "1. no asymmetric key keyd:key:kk in keyd:client"; }
CERT=$(keyctl search "$CLIENT" user keyd:cert:kk) || vm_fail "1. no certificate key in keyd:client"
keyctl search "$CLIENT" user keyd:key:kk >/dev/null 2>&1 &&
	vm_fail "1. a reference key stands next to the kernel key ('as tpm2' alone was asked)"
Q=$(keyctl pkey_query "$KEY" 0 enc=x962 hash=sha256) || vm_fail "1. keyctl pkey_query failed"
echo "$Q"
echo "$Q" | grep -q "key_size=256" || vm_fail "1. pkey_query: not a 256-bit key"
echo "$Q" | grep -q "sign=y" || vm_fail "1. pkey_query: the key cannot sign"
keyctl read "$KEY" >/dev/null 2>&1 && vm_fail "1. keyctl read of the kernel key succeeded"
echo "ok: 1. keyd provisioned kk as asymmetric key $KEY (pkey_query: 256 bits, sign; no read)"
vm_time provision

# -- 2. the agent signs with the provisioned kernel key.
handshake policy "$CERT" "$KEY" "$TRUST"
vm_time handshake-policy

# -- 3. keyd-ctl key to-kernel places the same key once, outside the policy.
KEY2=$(keyd-ctl --root /var/lib/keyd key to-kernel kk --keyring @s --description vm:kk) ||
	vm_fail "3. keyd-ctl key to-kernel failed"
[ "$KEY2" != "$KEY" ] || vm_fail "3. keyd-ctl key to-kernel returned the provisioned key"
keyctl rdescribe "$KEY2" | grep -q "^asymmetric;.*;vm:kk$" ||
	vm_fail "3. key $KEY2 is '$(keyctl rdescribe "$KEY2")', not an asymmetric key 'vm:kk'"
echo "ok: 3. keyd-ctl key to-kernel made asymmetric key $KEY2"
handshake to-kernel "$CERT" "$KEY2" "$TRUST"
keyctl unlink "$KEY2" @s >/dev/null || vm_fail "3. cannot unlink $KEY2"
vm_time handshake-to-kernel
vm_result PASS "keyd-handshaked signed with TPM keys the kernel holds (policy 'as tpm2' and keyd-ctl key to-kernel): TLS 1.3 mutual authentication against openssl s_server"
SCENARIO

vm_initramfs "$T/root" --out "$T/initrd.cpio" "${bins[@]}" --bin keyctl --bin openssl --tcti \
	--module tls --module gcm --module ghash-generic --module virtio_blk
vm_swtpm "$T/tpm"
vm_outbox "$T/outbox.img"
rc=0
vm_run kernel-tpm-asym-tls --outbox "$T/outbox.img" --tpm "$T/tpm" || rc=$?
vm_outbox_extract "$T/outbox.img" "$T/out" 2>/dev/null || true
for f in "$T"/out/agent-*.log "$T"/out/s_server-*.log; do
	[ -f "$f" ] || continue
	note "$(basename "$f") from the guest:"
	sed 's/^/    /' "$f"
done
[ "$rc" = 0 ] || exit "$rc"
note "timings: mk/kernel.sh ${t_kernel} s, initramfs ${VM_TIME_INITRAMFS} s, qemu start to verdict ${VM_TIME_BOOT} s, whole test $(vm_since "$t0") s"
echo "PASS: kernel-tpm-asym-tls"
