#!/bin/bash
# The in-kernel TLS 1.3 PSK client (kernel-patches/tls13-psk: the core, the kernel crypto
# backend and tls13_psk_client_hello(), the tls_client_hello_psk() stand-in) in Debian's 6.12
# kernel. It is built out of tree against the 6.12 headers together with a test-only driver
# module (tests/tls13/kmod/tls13_vmtest.c) that connects a kernel TCP socket to an
# openssl s_server in the same guest, runs the handshake with a 'psk' key from .nvme as
# nvme-tcp would, then sends a line through kTLS and reads s_server's reversed answer
# through kTLS (skipping its NewSessionTicket records). Cases:
#  1. SHA-256 PSK (NVMe0R01 identity), TLS_AES_128_GCM_SHA256, x25519;
#  2. HelloRetryRequest: s_server -groups P-256 (the kernel's ecdh-nist-p256);
#  3. SHA-384 PSK (NVMe0R02 identity), TLS_AES_256_GCM_SHA384 (s_server -psk_session);
#  4. a wrong PSK: the status is -EKEYREJECTED and no kTLS is installed;
#  5. a server that accepts the connection and never answers: the handshake ends at its
#     timeout (ta_timeout_ms = 3 s) with -EIO, the status nvme-tcp gets for a timeout.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/vm.sh"
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/tls13-kmod.sh"

vm_require
vm_fetch_kernel
require_cmd openssl xxd base64 make

tls13_kmod_build

ID256="NVMe0R01 nqn.2014-08.org.keyd:host nqn.2014-08.org.keyd:sub"
ID384="NVMe0R02 nqn.2014-08.org.keyd:host nqn.2014-08.org.keyd:sub"
IDBAD="NVMe0R01 nqn.2014-08.org.keyd:host nqn.2014-08.org.keyd:other"
PSK256=$(openssl rand -hex 32)
PSK384=$(openssl rand -hex 48)
mkdir -p "$T/root/etc/tls13" "$T/root/lib/tls13"
cp "$T/kmod/tls13_vmtest_mod.ko" "$T/root/lib/tls13/"
echo "$PSK256" | xxd -r -p >"$T/root/etc/tls13/psk256.bin"
echo "$PSK384" | xxd -r -p >"$T/root/etc/tls13/psk384.bin"
openssl rand 32 >"$T/root/etc/tls13/pskbad.bin"
# s_server takes a SHA-384 external PSK only as an SSL_SESSION (see tls13-psk-interop.sh).
now=$(printf '%08x' "$(date +%s)")
{
	echo "-----BEGIN SSL SESSION PARAMETERS-----"
	echo "304d020101020203040402130204000430${PSK384}a1060204${now}a20402021c20" |
		xxd -r -p | base64 -w64
	echo "-----END SSL SESSION PARAMETERS-----"
} >"$T/root/etc/tls13/psk384.pem"
cat >"$T/root/etc/tls13/env" <<ENV
ID256='$ID256'
ID384='$ID384'
IDBAD='$IDBAD'
PSK256=$PSK256
ENV

cat >"$T/root/init" <<'INIT'
#!/bin/sh
. /lib/keyd-vm/guest.sh
vm_guest_init
. /etc/tls13/env
for m in nvme-keyring tls gcm ghash-generic ecdh_generic libcurve25519-generic; do
	vm_check "modprobe $m" modprobe "$m"
done
modprobe curve25519-x86_64 2>/dev/null || true

# listening PORT: a server is up when its port is in LISTEN state (IPv4 or IPv6 socket).
listening() {
	hex=$(printf ':%04X 0*:0000 0A' "$1")
	i=0
	while ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q "$hex"; do
		i=$((i + 1)); [ $i -gt 300 ] && return 1; sleep 0.1
	done
}
# run_case NAME PORT KEY TEXT [TIMEOUT_MS]: load the driver once, print its result line.
run_case() {
	dmesg -c >/dev/null
	insmod /lib/tls13/tls13_vmtest_mod.ko port="$2" key="$3" send="$4" \
		timeout_ms="${5:-60000}" ||
		vm_fail "$1: insmod failed"
	rmmod tls13_vmtest_mod
	RESULT=$(dmesg | grep 'tls13-vmtest: status=' | tail -n 1)
	echo "$1: $RESULT" | tee -a /out/results.txt
	dmesg | grep 'tls13-vmtest: skipped' >>/out/results.txt || true
}

openssl s_server -4 -accept 4433 -tls1_3 -nocert -rev -psk "$PSK256" -psk_identity "$ID256" \
	-ciphersuites TLS_AES_128_GCM_SHA256 >/tmp/s1.log 2>&1 &
openssl s_server -4 -accept 4434 -tls1_3 -nocert -rev -psk "$PSK256" -psk_identity "$ID256" \
	-ciphersuites TLS_AES_128_GCM_SHA256 -groups P-256 >/tmp/s2.log 2>&1 &
openssl s_server -4 -accept 4435 -tls1_3 -nocert -rev -psk_session /etc/tls13/psk384.pem \
	-psk_identity "$ID384" -ciphersuites TLS_AES_256_GCM_SHA384 >/tmp/s3.log 2>&1 &
openssl s_server -4 -accept 4436 -tls1_3 -nocert -rev -psk "$PSK256" -psk_identity "$IDBAD" \
	-ciphersuites TLS_AES_128_GCM_SHA256 >/tmp/s4.log 2>&1 &
# nc's input stays open and empty: it accepts, reads and never answers.
sleep 600 | nc -l -p 4437 >/dev/null 2>&1 &
for p in 4433 4434 4435 4436 4437; do listening $p || vm_fail "s_server on port $p did not start"; done

k256=$(keyctl padd psk "$ID256" %:.nvme </etc/tls13/psk256.bin) || vm_fail "keyctl padd (256)"
k384=$(keyctl padd psk "$ID384" %:.nvme </etc/tls13/psk384.bin) || vm_fail "keyctl padd (384)"
kbad=$(keyctl padd psk "$IDBAD" %:.nvme </etc/tls13/pskbad.bin) || vm_fail "keyctl padd (bad)"
vm_time setup

run_case sha256 4433 "$k256" keyd-tls13
case $RESULT in *"status=0 reply=31slt-dyek"*) ;; *) vm_fail "sha256: $RESULT" ;; esac
vm_time handshake-sha256
run_case hrr 4434 "$k256" retry
case $RESULT in *"status=0 reply=yrter"*) ;; *) vm_fail "hrr: $RESULT" ;; esac
run_case sha384 4435 "$k384" sha384
case $RESULT in *"status=0 reply=483ahs"*) ;; *) vm_fail "sha384: $RESULT" ;; esac
run_case wrong-psk 4436 "$kbad" nothing
case $RESULT in *"status=-129 reply="*) ;; *) vm_fail "wrong psk: $RESULT" ;; esac
t0=$(cut -d' ' -f1 /proc/uptime)
run_case silent-server 4437 "$k256" nothing 3000
t1=$(cut -d' ' -f1 /proc/uptime)
echo "silent-server: $t0 -> $t1" >>/out/results.txt
case $RESULT in *"status=-5 reply="*) ;; *) vm_fail "silent server: $RESULT" ;; esac
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a >= 2.9 && b - a < 20) }' ||
	vm_fail "silent server: the handshake took $t0 -> $t1 s, not its 3 s timeout"
cat /tmp/s1.log /tmp/s2.log /tmp/s3.log /tmp/s4.log >/out/servers.txt 2>&1
vm_result PASS "in-kernel TLS 1.3 PSK handshakes (SHA-256, HRR/P-256, SHA-384) with kTLS data; wrong PSK -> EKEYREJECTED; silent server -> EIO at the timeout"
INIT
chmod 0755 "$T/root/init"

vm_initramfs "$T/root" --out "$T/initrd.cpio" --bin "$(command -v openssl)" --bin keyctl \
	--module nvme-keyring --module tls --module gcm --module ghash-generic \
	--module ecdh_generic --module libcurve25519-generic --module curve25519-x86_64
vm_outbox "$T/outbox.img"
rc=0
vm_run kernel-tls13-psk --outbox "$T/outbox.img" || rc=$?
vm_outbox_extract "$T/outbox.img" "$T/out" || true
cat "$T/out/results.txt" 2>/dev/null || true
[ "$rc" = 0 ] || exit "$rc"
echo "PASS: kernel-tls13-psk"
