#!/bin/bash
# NVMe/TCP over TLS with the host's handshake run in the kernel (kernel-patches/0002 + 0003),
# in one guest with Debian's 6.12 kernel:
#  - the patched nvme-keyring.ko (carrying the TLS 1.3 PSK client) and nvme-tcp.ko are loaded
#    by full path, nvme-tcp with tls_handshake=kernel; Debian's nvmet-tcp serves a port with
#    addr_tsas=tls1.3 whose server handshakes keyd-handshaked runs (GnuTLS for SHA-256 PSKs,
#    keyd's TLS 1.3 server for SHA-384 ones);
#  - a SHA-256 PSK (NVMe0R01): the ",tls" connect goes live without any client agent (the
#    agent log shows only server handshakes), tls_key names the PSK, 1 MiB written through
#    /dev/nvme0n1 reaches the backing device;
#  - a SHA-384 PSK (NVMe0R02, chosen with tls_key=): TLS_AES_256_GCM_SHA384 between the
#    in-kernel client and the agent's server, tls_key names it, data reaches the device;
#  - a wrong PSK (same identity, another key forced with tls_key=): the connect fails within
#    the handshake timeout, no controller is left;
#  - no oops, BUG or WARN in the kernel log.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/vm.sh"

t0=$(vm_now)
vm_require
vm_fetch_kernel

note "building the patched modules (mk/kernel.sh --kver $VM_KVER)"
krc=0
"$KEYD_TOP/mk/kernel.sh" --kver "$VM_KVER" >"$T/kernel.log" 2>&1 || krc=$?
[ "$krc" = 77 ] && skip "mk/kernel.sh could not fetch the kernel packages: $(tail -n 1 "$T/kernel.log")"
[ "$krc" = 0 ] || { tail -n 20 "$T/kernel.log"; fail "mk/kernel.sh failed (exit $krc)"; }
kdir=$KEYD_TOP/build/kernel/$VM_KVER/drivers/nvme
for m in common/nvme-keyring host/nvme-tcp; do
	[ -r "$kdir/$m.ko" ] || fail "mk/kernel.sh made no $kdir/$m.ko"
done
t_kernel=$(vm_since "$t0")

note "building the release keyd-handshaked"
hs_bin=$KEYD_TOP/build/release/keyd-handshaked
make -s -C "$KEYD_TOP" NO_DEPS=1 build/release/keyd-handshaked >"$T/make.log" 2>&1 ||
	fail "could not build $hs_bin: $(tail -n 5 "$T/make.log")"

mkdir -p "$T/root/lib/keyd-vm"
cp "$kdir/common/nvme-keyring.ko" "$kdir/host/nvme-tcp.ko" "$T/root/lib/keyd-vm/"

cat >"$T/root/init" <<'INIT'
#!/bin/sh
. /lib/keyd-vm/guest.sh
vm_guest_init
HOSTNQN=nqn.2014-08.org.keyd:vm-tls13-host
HOSTID=5e0c2f1a-7d43-4b8e-9a61-3f2d8c7b1e04
SUBNQN=nqn.2014-08.org.keyd:vm-tls13-target
ID="NVMe0R01 $HOSTNQN $SUBNQN"
CONNECT="nqn=$SUBNQN,transport=tcp,traddr=127.0.0.1,trsvcid=4420,hostnqn=$HOSTNQN,hostid=$HOSTID,tls"

# -- the patched modules, by full path, each after what it needs and before what needs it
# (insmod resolves nothing): nvme-keyring needs the handshake's ecdh helpers and curve25519;
# nvme-tcp needs nvme-core and nvme-fabrics (Debian's, whose CRCs the patches keep).
vm_check "modprobe ecdh_generic libcurve25519-generic curve25519-x86_64" \
	modprobe -a ecdh_generic libcurve25519-generic curve25519-x86_64
vm_check "insmod the patched nvme-keyring.ko" /sbin/insmod /lib/keyd-vm/nvme-keyring.ko
vm_check "modprobe nvme-fabrics" modprobe nvme-fabrics
vm_check "insmod the patched nvme-tcp.ko tls_handshake=kernel" \
	/sbin/insmod /lib/keyd-vm/nvme-tcp.ko tls_handshake=kernel tls_handshake_timeout=4
[ "$(cat /sys/module/nvme_tcp/parameters/tls_handshake)" = kernel ] ||
	vm_fail "nvme_tcp tls_handshake is '$(cat /sys/module/nvme_tcp/parameters/tls_handshake)'"
vm_check "modprobe nvmet-tcp loop tls gcm ghash-generic" \
	modprobe -a nvmet-tcp loop tls gcm ghash-generic
echo "ok: patched nvme_keyring and nvme_tcp (tls_handshake=kernel) loaded, taint $(cat /proc/sys/kernel/tainted)"
vm_time modules

keyd-handshaked -d >>/out/agent.log 2>&1 &
AGENT=$!
sleep 0.5
kill -0 $AGENT 2>/dev/null || { cat /out/agent.log; vm_fail "keyd-handshaked did not start"; }

fabrics_fail() {
	if sh -c 'echo -n "$1" >/dev/nvme-fabrics' _ "$1" 2>/tmp/err; then
		return 1
	fi
	dmesg | grep nvme | tail -n 3 >>/tmp/err
	return 0
}
delete_ctrl() {
	local c=/sys/class/nvme/nvme0 i=0
	[ -e $c ] || return 0
	echo 1 >$c/delete_controller
	while [ -e $c ]; do
		i=$((i + 1)); [ $i -gt 100 ] && vm_fail "nvme0 still present after delete_controller"
		sleep 0.1
	done
}

dd if=/dev/zero of=/tmp/backing bs=1M count=16 2>/dev/null
vm_wait_for /dev/loop0 50 || vm_fail "no /dev/loop0"
vm_check "losetup" losetup /dev/loop0 /tmp/backing
vm_nvmet_target "$SUBNQN" 127.0.0.1 4420 /dev/loop0 tls1.3
PSK=$(head -c 32 /dev/urandom | keyctl padd psk "$ID" %:.nvme) || vm_fail "cannot add the PSK to .nvme"
echo "ok: PSK $PSK '$ID' in .nvme"
vm_time target-setup

# -- 1. SHA-256 PSK, in-kernel client handshake.
vm_nvme_connect "$CONNECT" || { cat /out/agent.log; dmesg | tail -n 20; vm_fail "TLS connect refused"; }
vm_wait_for /dev/nvme0n1 100 || vm_fail "no /dev/nvme0n1 after the TLS connect"
c=/sys/class/nvme/nvme0
[ "$(cat $c/state)" = live ] || vm_fail "nvme0 state is '$(cat $c/state)'"
want=$(printf %08x "$PSK")
[ "$(cat $c/tls_key)" = "$want" ] || vm_fail "tls_key is '$(cat $c/tls_key)', the PSK is $want"
echo "ok: nvme0 live over TLS, tls_key $(cat $c/tls_key) = PSK serial"
head -c 1048576 /dev/urandom >/tmp/pattern
vm_check "write through /dev/nvme0n1" dd if=/tmp/pattern of=/dev/nvme0n1 bs=65536 seek=16 conv=fsync
dd if=/tmp/backing bs=65536 skip=16 count=16 2>/dev/null | cmp -s - /tmp/pattern ||
	vm_fail "the data written over NVMe/TCP+TLS is not in the backing file"
echo "ok: 1 MiB over NVMe/TCP with the in-kernel TLS handshake reached the backing device"
delete_ctrl
grep -q "handshake server .*mode psk identity '$ID': ok" /out/agent.log ||
	vm_fail "no server success line in the agent log"
! grep -q "handshake client" /out/agent.log ||
	vm_fail "the agent ran a client handshake: the host did not use the in-kernel one"
echo "ok: the agent served only the target's handshakes"
vm_time tls13-connect-io

# -- 1b. a SHA-384 PSK: the in-kernel client against keyd-handshaked's own TLS 1.3 server.
ID384="NVMe0R02 $HOSTNQN $SUBNQN"
PSK384=$(head -c 48 /dev/urandom | keyctl padd psk "$ID384" %:.nvme) ||
	vm_fail "cannot add the SHA-384 PSK to .nvme"
vm_nvme_connect "$CONNECT,tls_key=$PSK384" ||
	{ cat /out/agent.log; dmesg | tail -n 20; vm_fail "SHA-384 TLS connect refused"; }
vm_wait_for /dev/nvme0n1 100 || vm_fail "no /dev/nvme0n1 after the SHA-384 connect"
[ "$(cat $c/state)" = live ] || vm_fail "nvme0 state is '$(cat $c/state)' (SHA-384)"
want=$(printf %08x "$PSK384")
[ "$(cat $c/tls_key)" = "$want" ] || vm_fail "tls_key is '$(cat $c/tls_key)', the SHA-384 PSK is $want"
head -c 1048576 /dev/urandom >/tmp/pattern384
vm_check "write through /dev/nvme0n1 (SHA-384)" \
	dd if=/tmp/pattern384 of=/dev/nvme0n1 bs=65536 seek=48 conv=fsync
dd if=/tmp/backing bs=65536 skip=48 count=16 2>/dev/null | cmp -s - /tmp/pattern384 ||
	vm_fail "the data written over the SHA-384 session is not in the backing file"
delete_ctrl
grep -q "handshake server .*mode psk identity '$ID384': ok, TLS_AES_256_GCM_SHA384, kTLS" /out/agent.log ||
	vm_fail "no SHA-384 server success line in the agent log"
echo "ok: SHA-384 PSK with the in-kernel client: live, tls_key $want, 1 MiB reached the device"
keyctl unlink "$PSK384" %:.nvme >/dev/null
vm_time tls13-sha384

# -- 2. a wrong PSK: same identity, another key forced with tls_key=.
RING=$(keyctl newring keyd-other @us)
BAD=$(head -c 32 /dev/urandom | keyctl padd psk "$ID" "$RING") || vm_fail "cannot add the other PSK"
keyctl setperm "$BAD" 0x3f030000 >/dev/null
start=$(vm_uptime)
fabrics_fail "$CONNECT,tls_key=$BAD" || vm_fail "a connect with a wrong PSK succeeded"
took=$(awk -v a="$start" -v b="$(vm_uptime)" 'BEGIN { printf "%d", b - a }')
echo "ok: wrong PSK refused in ${took} s: $(cat /tmp/err | tr '\n' ' ')"
[ "$took" -le 12 ] || vm_fail "the wrong-PSK connect took ${took} s (a hang?)"
[ ! -e /sys/class/nvme/nvme0 ] || vm_fail "a controller was left after the failed connect"
vm_time wrong-psk

# -- 3. the good PSK again after the failure (nothing left behind), then the kernel log.
vm_nvme_connect "$CONNECT" || vm_fail "the connect after the failed one was refused"
vm_wait_for /dev/nvme0n1 100 || vm_fail "no /dev/nvme0n1 on the second connect"
delete_ctrl
kill $AGENT
if dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|general protection'; then
	dmesg >/out/dmesg.txt
	vm_fail "the kernel log has a warning or oops"
fi
echo "ok: no oops/BUG/WARN in the kernel log"
vm_result PASS "NVMe/TCP TLS with the in-kernel host handshake: SHA-256 and SHA-384 connect+I/O, tls_key, wrong PSK refused, no kernel warnings"
INIT
chmod 0755 "$T/root/init"

vm_initramfs "$T/root" --out "$T/initrd.cpio" \
	--bin "$hs_bin" --bin keyctl \
	--module nvme-fabrics --module nvmet-tcp --module loop \
	--module tls --module gcm --module ghash-generic --module virtio_blk \
	--module ecdh_generic --module libcurve25519-generic --module curve25519-x86_64
vm_outbox "$T/outbox.img"
rc=0
vm_run kernel-nvme-tls13 --outbox "$T/outbox.img" || rc=$?
vm_outbox_extract "$T/outbox.img" "$T/out" 2>/dev/null || true
if [ -f "$T/out/agent.log" ]; then
	note "agent log from the guest:"
	sed 's/^/    /' "$T/out/agent.log"
fi
[ "$rc" = 0 ] || exit "$rc"
note "timings: mk/kernel.sh ${t_kernel} s, initramfs ${VM_TIME_INITRAMFS} s, qemu start to verdict ${VM_TIME_BOOT} s, whole test $(vm_since "$t0") s"
echo "PASS: kernel-nvme-tls13"
