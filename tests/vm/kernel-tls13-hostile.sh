#!/bin/bash
# Negative cases of the in-kernel TLS 1.3 PSK client (kernel-patches/tls13-psk), each repeated
# (KEYD_HOSTILE_TRIES, default 100) in Debian's 6.12 kernel: the core and
# tls13_psk_client_hello() are built out of tree with the test driver module
# (tests/tls13/kmod/tls13_vmtest.c, count=N runs N handshakes, each on a new socket).
#  - every mode of tests/tls13/tls13-hostile.c (--list: truncated, oversized, badly sized and
#    out-of-order server messages, a second ServerHello, a wrong Finished, a record after
#    close_notify, an alert for ServerHello, garbage, two HelloRetryRequests, HRR groups not
#    acceptable, a close in the middle of a record): every try ends with the mode's status,
#    before the 3 s handshake timeout, and the hostile server reads the mode's alert from
#    the client every time (or no alert where the client must not send one);
#  - openssl s_server with a different PSK: every try is -EKEYREJECTED (the server's binder
#    alert), and s_server logged a refused binder for every one;
#  - openssl s_server -groups P-256: every try succeeds after a HelloRetryRequest, with a line
#    through kTLS both ways.
# After all of them: no TCP socket left to any port used (only LISTEN/TIME_WAIT), the TCP
# socket counts (/proc/net/sockstat) and kTLS contexts (/proc/net/tls_stat) back at their
# baseline, the driver unloads, and dmesg has no Oops, BUG, WARNING, refcount or leak line.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/vm.sh"
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/tls13-kmod.sh"

vm_require
vm_fetch_kernel
require_cmd openssl xxd make

TRIES=${KEYD_HOSTILE_TRIES:-100}
tls13_kmod_build

note "building the release tls13-hostile"
hostile=$KEYD_TOP/build/release/tests/tls13-hostile
make -s -C "$KEYD_TOP" NO_DEPS=1 build/release/tests/tls13-hostile >"$T/make.log" 2>&1 ||
	fail "could not build $hostile: $(tail -n 5 "$T/make.log")"

ID256="NVMe0R01 nqn.2014-08.org.keyd:host nqn.2014-08.org.keyd:sub"
IDBAD="NVMe0R01 nqn.2014-08.org.keyd:host nqn.2014-08.org.keyd:other"
PSK256=$(openssl rand -hex 32)
mkdir -p "$T/root/etc/tls13" "$T/root/lib/tls13"
cp "$T/kmod/tls13_vmtest_mod.ko" "$T/root/lib/tls13/"
echo "$PSK256" | xxd -r -p >"$T/root/etc/tls13/psk256.bin"
openssl rand 32 >"$T/root/etc/tls13/pskbad.bin"
cat >"$T/root/etc/tls13/env" <<ENV
ID256='$ID256'
IDBAD='$IDBAD'
PSK256=$PSK256
TRIES=$TRIES
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

# listening PORT: wait until PORT is in LISTEN state.
listening() {
	hex=$(printf ':%04X 0*:0000 0A' "$1")
	i=0
	while ! grep -q "$hex" /proc/net/tcp; do
		i=$((i + 1)); [ $i -gt 300 ] && return 1; sleep 0.1
	done
}
# tcp_left PORT: sockets to or from PORT in a state other than TIME_WAIT (06) and LISTEN (0A),
# after letting closes finish for up to 3 s.
tcp_left() {
	hex=$(printf ':%04X ' "$1")
	i=0
	while :; do
		left=$(grep "$hex" /proc/net/tcp | awk '$4 != "06" && $4 != "0A"')
		[ -z "$left" ] && return 0
		i=$((i + 1)); [ $i -gt 30 ] && break; sleep 0.1
	done
	echo "$left"
	return 1
}
# sockstat: "TCP inuse alloc" and the kTLS software contexts now.
sockstat() {
	awk '$1 == "TCP:" { print "inuse=" $3, "alloc=" $9 }' /proc/net/sockstat
}
tlsstat() {
	awk '$1 == "TlsCurrTxSw" || $1 == "TlsCurrRxSw" { printf "%s=%s ", $1, $2 }' \
		/proc/net/tls_stat
}
# drive NAME PORT KEY TIMEOUT_MS: TRIES handshakes through the driver; sets SUMMARY.
drive() {
	insmod /lib/tls13/tls13_vmtest_mod.ko port="$2" key="$3" send=hostile \
		timeout_ms="$4" count="$TRIES" || vm_fail "$1: insmod failed"
	rmmod tls13_vmtest_mod || vm_fail "$1: the driver module does not unload"
	SUMMARY=$(dmesg | grep 'tls13-vmtest: tries=' | tail -n 1)
	[ -n "$SUMMARY" ] || vm_fail "$1: the driver printed no summary"
	echo "$1: ${SUMMARY#*tls13-vmtest: }" | tee -a /out/results.txt
}
# check_summary NAME STATUS LIMIT_MS: every try had STATUS and took less than LIMIT_MS.
check_summary() {
	case $SUMMARY in
	*"statuses=$2:$TRIES max_ms="*) ;;
	*) vm_fail "$1: not $TRIES x status $2: $SUMMARY" ;;
	esac
	max=$(echo "$SUMMARY" | sed -n 's/.*max_ms=\([0-9]*\).*/\1/p')
	[ -n "$max" ] && [ "$max" -lt "$3" ] || vm_fail "$1: a try took ${max} ms (limit $3 ms)"
}

openssl s_server -4 -accept 4434 -tls1_3 -nocert -rev -psk "$PSK256" -psk_identity "$ID256" \
	-ciphersuites TLS_AES_128_GCM_SHA256 -groups P-256 >/tmp/hrr.log 2>&1 &
openssl s_server -4 -accept 4436 -tls1_3 -nocert -rev -psk "$PSK256" -psk_identity "$IDBAD" \
	-ciphersuites TLS_AES_128_GCM_SHA256 >/tmp/wrong.log 2>&1 &
for p in 4434 4436; do listening $p || vm_fail "s_server on port $p did not start"; done
k256=$(keyctl padd psk "$ID256" %:.nvme </etc/tls13/psk256.bin) || vm_fail "keyctl padd (256)"
kbad=$(keyctl padd psk "$IDBAD" %:.nvme </etc/tls13/pskbad.bin) || vm_fail "keyctl padd (bad)"
dmesg -c >/dev/null
base_sock=$(sockstat)
base_tls=$(tlsstat)
echo "baseline: $base_sock $base_tls" | tee -a /out/results.txt
vm_time setup

port=5000
modes=0
tls13-hostile --list >/tmp/modes
while read -r name status alert; do
	port=$((port + 1))
	tls13-hostile --mode "$name" --port $port --count "$TRIES" --psk-file /etc/tls13/psk256.bin \
		>/tmp/hostile.out 2>&1 &
	hpid=$!
	listening $port || vm_fail "$name: tls13-hostile did not listen on $port"
	drive "$name" $port "$k256" 3000
	hrc=0
	wait $hpid || hrc=$?
	server=$(cat /tmp/hostile.out)
	echo "$name: $server (expected alert $alert)" >>/out/results.txt
	check_summary "$name" "$status" 3000
	[ "$hrc" = 0 ] || vm_fail "$name: the client's alerts were not all '$alert': $server"
	left=$(tcp_left $port) || vm_fail "$name: sockets left on port $port: $left"
	modes=$((modes + 1))
done </tmp/modes
[ "$modes" -ge 20 ] || vm_fail "only $modes hostile modes listed"
vm_time "hostile-modes-x$TRIES"

drive wrong-psk 4436 "$kbad" 3000
check_summary wrong-psk -129 3000
refused=$(grep -c 'binder does not verify' /tmp/wrong.log || true)
echo "wrong-psk: s_server refused $refused binders" | tee -a /out/results.txt
[ "$refused" = "$TRIES" ] ||
	vm_fail "wrong-psk: s_server logged $refused refused binders, not $TRIES"
vm_time "wrong-psk-x$TRIES"

drive hrr 4434 "$k256" 10000
check_summary hrr 0 10000
vm_time "hrr-x$TRIES"

for p in 4434 4436; do
	left=$(tcp_left $p) || vm_fail "sockets left on port $p: $left"
done
i=0
while [ "$(sockstat)" != "$base_sock" ] && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
now_sock=$(sockstat)
now_tls=$(tlsstat)
echo "after: $now_sock $now_tls" | tee -a /out/results.txt
[ "$now_sock" = "$base_sock" ] ||
	vm_fail "TCP sockets not back to baseline: $base_sock -> $now_sock"
[ "$now_tls" = "$base_tls" ] || vm_fail "kTLS contexts not back to baseline: $base_tls -> $now_tls"
dmesg >/out/dmesg.txt
bad=$(grep -iE 'oops|bug:|warning:|refcount|leak|call trace|general protection|blocked for more' \
	/out/dmesg.txt | head -n 5)
[ -z "$bad" ] || vm_fail "dmesg: $bad"
cp /tmp/hrr.log /tmp/wrong.log /out/ 2>/dev/null
vm_result PASS "in-kernel TLS 1.3 PSK client: $modes hostile modes x $TRIES fail with their status and alert, wrong PSK x $TRIES -> EKEYREJECTED, HRR x $TRIES ok; no socket, kTLS context or dmesg complaint left"
INIT
chmod 0755 "$T/root/init"

vm_initramfs "$T/root" --out "$T/initrd.cpio" --bin "$(command -v openssl)" --bin keyctl \
	--bin "$hostile" --module virtio_blk \
	--module nvme-keyring --module tls --module gcm --module ghash-generic \
	--module ecdh_generic --module libcurve25519-generic --module curve25519-x86_64
vm_outbox "$T/outbox.img"
rc=0
vm_run kernel-tls13-hostile --outbox "$T/outbox.img" || rc=$?
vm_outbox_extract "$T/outbox.img" "$T/out" || true
cat "$T/out/results.txt" 2>/dev/null || true
if [ "$rc" != 0 ] && [ -r "$T/out/dmesg.txt" ]; then tail -n 20 "$T/out/dmesg.txt"; fi
[ "$rc" = 0 ] || exit "$rc"
echo "PASS: kernel-tls13-hostile"
