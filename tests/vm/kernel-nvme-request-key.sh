#!/bin/bash
# kernel-patches/0001 (nvme-keyring: fall back to request_key() for missing PSKs) in Debian's
# 6.12 kernel: mk/kernel.sh applies the series to linux-source-6.12 ('git apply --check' first)
# and builds nvme-keyring.ko out of tree; the guest loads it by full path before nvme-tcp and
# nvmet-tcp, with an NVMe/TCP target on loopback that requires TLS and an empty .nvme:
#  1. no request-key rule for 'psk': a ",tls" connect fails with ENOKEY, as before the patch,
#     and no callout ran;
#  2. a rule whose program declines NVMe1R02 and answers NVMe1R01 (keyctl, a PSK made at run
#     time), no handshake agent: the kernel asked for 'NVMe1R02 <host> <sub>' then
#     'NVMe1R01 <host> <sub>', the key it got sits in .nvme, and the connect gets as far as the
#     handshake upcall (ESRCH: no agent) instead of ENOKEY;
#  3. keyd-handshaked running: the same subsystem connects over TLS with no new upcall (the
#     key from 2 is found by the ordinary search) and tls_key names that key; a new subsystem
#     connects through a fresh upcall and tls_key names the key the callout made;
#  4. a callout slower than psk_request_timeout (2 s): the connect fails with ENOKEY in about
#     2 s instead of hanging, the late key still lands in .nvme, and the next connect uses it;
#  5. with keyd-request-key built (build/release/keyd-request-key): a PSK sealed by keyd-ctl
#     to the guest's swtpm is unsealed on demand and the connect's tls_key names the key
#     keyd-request-key made (skipped, with a note, while that program does not exist).
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/vm.sh"

t0=$(vm_now)
vm_require
vm_fetch_kernel

note "building the patched modules (mk/kernel.sh --kver $VM_KVER)"
krc=0
"$KEYD_TOP/mk/kernel.sh" --kver "$VM_KVER" || krc=$?
[ "$krc" = 77 ] && skip "mk/kernel.sh could not fetch the kernel packages"
[ "$krc" = 0 ] || fail "mk/kernel.sh failed (exit $krc)"
ko=$KEYD_TOP/build/kernel/$VM_KVER/drivers/nvme/common/nvme-keyring.ko
[ -r "$ko" ] || fail "mk/kernel.sh made no $ko"
t_kernel=$(vm_since "$t0")

note "building the release keyd-handshaked"
hs_bin=$KEYD_TOP/build/release/keyd-handshaked
make -s -C "$KEYD_TOP" NO_DEPS=1 build/release/keyd-handshaked >"$T/make.log" 2>&1 ||
	fail "could not build $hs_bin: $(tail -n 5 "$T/make.log")"
rk_bin=$KEYD_TOP/build/release/keyd-request-key
# The callout runs its store-and-TPM half, installed next to it, when keyd is not running.
rkd_bin=$KEYD_TOP/build/release/keyd-request-key-direct
ctl_bin=$KEYD_TOP/build/release/keyd-ctl
extra_bins=()
if make -s -C "$KEYD_TOP" NO_DEPS=1 build/release/keyd-request-key \
	build/release/keyd-request-key-direct build/release/keyd-ctl \
	>"$T/make-rk.log" 2>&1 && [ -x "$rk_bin" ] && [ -x "$rkd_bin" ] && [ -x "$ctl_bin" ]; then
	extra_bins=(--bin "$rk_bin" --bin "$rkd_bin" --bin "$ctl_bin" --tcti)
	note "keyd-request-key built: case 5 runs"
else
	note "keyd-request-key cannot be built yet ($(tail -n 1 "$T/make-rk.log")): case 5 is skipped"
fi

mkdir -p "$T/root/lib/keyd-vm" "$T/root/etc/keyd-vm"
cp "$ko" "$T/root/lib/keyd-vm/nvme-keyring.ko"
# The PSK the test callout hands out: made now, never stored anywhere else.
head -c 32 /dev/urandom >"$T/root/etc/keyd-vm/psk.bin"

# The callout /sbin/request-key runs for 'psk' keys once the rule is installed (cases 2-4):
# it records what the kernel asked for, answers NVMe1R01 identities (after a delay when the
# subsystem NQN says "slow") and declines everything else, as a provider without that PSK would.
cat >"$T/root/etc/keyd-vm/psk-callout.sh" <<'CALLOUT'
#!/bin/sh
# psk-callout.sh KEY DESCRIPTION DEST_KEYRING (request-key.conf: %k %d %S)
echo "$2" >>/run/psk-upcalls.log
case $2 in
"NVMe1R01 "*slow*)
	sleep 5
	keyctl pinstantiate "$1" "$3" </etc/keyd-vm/psk.bin ;;
"NVMe1R01 "*)
	keyctl pinstantiate "$1" "$3" </etc/keyd-vm/psk.bin ;;
*)
	keyctl negate "$1" 30 "$3" ;;
esac
CALLOUT
chmod 0755 "$T/root/etc/keyd-vm/psk-callout.sh"
echo "create psk * * /etc/keyd-vm/psk-callout.sh %k %d %S" >"$T/root/etc/keyd-vm/psk-test.conf"

cat >"$T/root/init" <<'INIT'
#!/bin/sh
. /lib/keyd-vm/guest.sh
vm_guest_init
HOSTNQN=nqn.2014-08.org.keyd:vm-rk-host
HOSTID=6f1c2a9e-0d4b-4c8e-9b1a-7e3d5c2f8a41
SUB=nqn.2014-08.org.keyd:vm-rk

connect_opts() {
	echo "nqn=$1,transport=tcp,traddr=127.0.0.1,trsvcid=4420,hostnqn=$HOSTNQN,hostid=$HOSTID,tls"
}
# fabrics_fail OPTIONS: a connect that must fail; the error text and the kernel's last lines
# end up in /tmp/err.
fabrics_fail() {
	dmesg -c >/dev/null
	if sh -c 'echo -n "$1" >/dev/nvme-fabrics' _ "$1" 2>/tmp/err; then
		return 1
	fi
	dmesg | tail -n 3 >>/tmp/err
	return 0
}
delete_ctrl() {
	local c=/sys/class/nvme/$1 i=0
	[ -e "$c" ] || return 0
	echo 1 >"$c/delete_controller"
	while [ -e "$c" ]; do
		i=$((i + 1)); [ $i -gt 100 ] && vm_fail "$1 still present after delete_controller"
		sleep 0.1
	done
}
upcalls() { [ -e /run/psk-upcalls.log ] && wc -l </run/psk-upcalls.log || echo 0; }
# psk_serial SUBNQN: the serial of the psk key 'NVMe1R01 <host> <SUBNQN>' in .nvme, or nothing.
psk_serial() { keyctl search %:.nvme psk "NVMe1R01 $HOSTNQN $1" 2>/dev/null; }
agent_start() {
	keyd-handshaked -d >>/out/agent.log 2>&1 &
	AGENT=$!
	sleep 0.5
	kill -0 $AGENT 2>/dev/null || { cat /out/agent.log; vm_fail "keyd-handshaked did not start"; }
}
# expect_tls_connect SUBNQN [SERIAL]: connect over TLS, check tls_key = SERIAL (default: the
# PSK for SUBNQN in .nvme after the connect), disconnect.
expect_tls_connect() {
	vm_nvme_connect "$(connect_opts "$1")" ||
		{ dmesg | tail -n 5; cat /out/agent.log; vm_fail "TLS connect to $1 refused"; }
	c=/sys/class/nvme/$VM_NVME_CTRL
	[ "$(cat "$c/state")" = live ] || vm_fail "$VM_NVME_CTRL state is '$(cat "$c/state")'"
	want=${2:-$(psk_serial "$1")}
	[ -n "$want" ] || vm_fail "no PSK for $1 in .nvme after the connect"
	want=$(printf %08x "$want")
	[ "$(cat "$c/tls_key")" = "$want" ] ||
		vm_fail "$VM_NVME_CTRL tls_key is '$(cat "$c/tls_key")', expected $want"
	echo "ok: $1 connected over TLS, tls_key $(cat "$c/tls_key")"
	delete_ctrl "$VM_NVME_CTRL"
}

# -- the patched nvme-keyring first (kmod's insmod, by full path), then what depends on it.
# insmod resolves no dependencies: the modules the series' nvme-keyring links against (the
# in-kernel handshake's ecdh helpers and curve25519, kernel-patches/0002) come first.
vm_check "modprobe the patched nvme-keyring's dependencies" \
	modprobe -a ecdh_generic libcurve25519-generic curve25519-x86_64
vm_check "insmod the patched nvme-keyring.ko" /sbin/insmod /lib/keyd-vm/nvme-keyring.ko
[ -e /sys/module/nvme_keyring/parameters/psk_request_timeout ] ||
	vm_fail "the loaded nvme-keyring has no psk_request_timeout parameter (not the patched one)"
vm_check "modprobe nvmet-tcp nvme-tcp loop tls gcm ghash-generic" \
	modprobe -a nvmet-tcp nvme-tcp loop tls gcm ghash-generic
grep -q '^nvme_keyring .*nvme_tcp' /proc/modules || { cat /proc/modules; vm_fail "nvme_tcp does not use nvme_keyring"; }
echo "ok: patched nvme_keyring loaded (taint $(cat /proc/sys/kernel/tainted)), nvme-tcp on top"
# Keys in .nvme are readable by their possessor: link it where this shell (PID 1, no session
# keyring of its own) possesses it.
keyctl link %:.nvme @us || vm_fail "no .nvme keyring"
[ "$(keyctl list %:.nvme)" = "keyring is empty" ] || vm_fail ".nvme is not empty at the start"
SMOKE=$(keyctl padd psk "NVMe0R01 smoke-host smoke-sub" %:.nvme </etc/keyd-vm/psk.bin) &&
	keyctl unlink "$SMOKE" %:.nvme >/dev/null || vm_fail "the psk type does not work"
echo "ok: .nvme and the psk type work"
vm_time modules

# -- an NVMe/TCP target requiring TLS, subsystems a (cases 1-2-3), b (3), slow (4), keyd (5).
dd if=/dev/zero of=/tmp/backing bs=1M count=8 2>/dev/null
vm_wait_for /dev/loop0 50 || vm_fail "no /dev/loop0"
vm_check "losetup" losetup /dev/loop0 /tmp/backing
vm_nvmet_target "$SUB-a" 127.0.0.1 4420 /dev/loop0 tls1.3
n=/sys/kernel/config/nvmet
for s in b slow keyd; do
	mkdir $n/subsystems/"$SUB-$s" && echo 1 >$n/subsystems/"$SUB-$s"/attr_allow_any_host &&
		ln -s $n/subsystems/"$SUB-$s" $n/ports/1/subsystems/"$SUB-$s" ||
		vm_fail "nvmet: could not add subsystem $SUB-$s"
done
vm_time target

# -- 1. no request-key rule: ENOKEY as before, and no callout ran. (Its own subsystem NQN:
#       request-key's negative answers are cached for a while, as request_key() does.)
fabrics_fail "$(connect_opts "$SUB-none")" || vm_fail "a TLS connect without PSK or rule succeeded"
grep -q "Required key not available\|no valid PSK found" /tmp/err ||
	vm_fail "without a rule: expected ENOKEY, got '$(cat /tmp/err)'"
[ "$(upcalls)" = 0 ] || vm_fail "the test callout ran without a rule"
[ -z "$(psk_serial "$SUB-none")" ] || vm_fail "a PSK appeared without a rule"
echo "ok: 1. no request-key rule -> ENOKEY, no callout"
vm_time case1-no-rule

# -- 2. the rule, no agent: the fallback asks, the key lands in .nvme, the handshake upcall
#       (ESRCH) is where it fails now.
mkdir -p /etc/request-key.d
cp /etc/keyd-vm/psk-test.conf /etc/request-key.d/psk-test.conf
fabrics_fail "$(connect_opts "$SUB-a")" || vm_fail "a TLS connect without an agent succeeded"
grep -q "No such process" /tmp/err || {
	cat /run/psk-upcalls.log 2>/dev/null; keyctl show @us
	vm_fail "with the rule and no agent: expected ESRCH, got '$(cat /tmp/err)'"; }
echo "upcalls:"; cat /run/psk-upcalls.log
[ "$(sed -n 1p /run/psk-upcalls.log)" = "NVMe1R02 $HOSTNQN $SUB-a" ] ||
	vm_fail "the first request was not 'NVMe1R02 $HOSTNQN $SUB-a'"
[ "$(sed -n 2p /run/psk-upcalls.log)" = "NVMe1R01 $HOSTNQN $SUB-a" ] ||
	vm_fail "the second request was not 'NVMe1R01 $HOSTNQN $SUB-a'"
[ "$(upcalls)" = 2 ] || vm_fail "expected 2 requests, saw $(upcalls)"
KA=$(psk_serial "$SUB-a")
[ -n "$KA" ] || vm_fail "the key the callout made is not in .nvme"
keyctl pipe "$KA" | cmp -s - /etc/keyd-vm/psk.bin || vm_fail "key $KA does not hold the callout's PSK"
echo "ok: 2. rule, no agent -> requests NVMe1R02 then NVMe1R01, key $KA in .nvme, ESRCH"
vm_time case2-upcall

# -- 3. with the agent: the cached key (no new upcall), then a fresh upcall for b.
agent_start
expect_tls_connect "$SUB-a" "$KA"
[ "$(upcalls)" = 2 ] || vm_fail "a key already in .nvme caused another upcall"
expect_tls_connect "$SUB-b"
KB=$(psk_serial "$SUB-b")
[ -n "$KB" ] && [ "$KB" != "$KA" ] || vm_fail "no new key for $SUB-b"
[ "$(upcalls)" = 4 ] || vm_fail "expected 4 requests after $SUB-b, saw $(upcalls)"
echo "ok: 3. TLS connect with the upcall's key (tls_key = $KB), a cached key makes no upcall"
vm_time case3-tls

# -- 4. a callout slower than the bound.
echo 2 >/sys/module/nvme_keyring/parameters/psk_request_timeout
start=$(vm_uptime)
fabrics_fail "$(connect_opts "$SUB-slow")" || vm_fail "the slow connect succeeded"
took=$(awk -v a="$start" -v b="$(vm_uptime)" 'BEGIN { printf "%.1f", b - a }')
grep -q "Required key not available\|no valid PSK found" /tmp/err ||
	vm_fail "slow callout: expected ENOKEY, got '$(cat /tmp/err)'"
awk -v t="$took" 'BEGIN { exit !(t >= 1.5 && t < 4.5) }' ||
	vm_fail "the slow connect failed after $took s, not after the 2 s bound"
echo "ok: 4. a callout slower than 2 s -> ENOKEY after $took s"
i=0
while [ -z "$(psk_serial "$SUB-slow")" ]; do
	i=$((i + 1)); [ $i -gt 80 ] && vm_fail "the late answer never reached .nvme"
	sleep 0.1
done
expect_tls_connect "$SUB-slow"
echo "ok: 4. the late key landed in .nvme and serves the next connect"
echo 10 >/sys/module/nvme_keyring/parameters/psk_request_timeout
vm_time case4-bound

# -- 5. keyd-request-key unseals the PSK from the TPM.
if command -v keyd-request-key >/dev/null 2>&1; then
	. /etc/keyd-vm/case5.sh
else
	echo "note: 5. keyd-request-key is not in this image: case 5 skipped"
fi
kill $AGENT
vm_result PASS "nvme-keyring request_key() fallback: ENOKEY without a rule, upcall in priority order, TLS connect with the key it made, cached key, bounded wait"
INIT
chmod 0755 "$T/root/init"

# Case 5's guest part: a store sealed to the guest's swtpm, keyd.conf and keyd's request-key rule.
cat >"$T/root/etc/keyd-vm/case5.sh" <<'CASE5'
rm -f /etc/request-key.d/psk-test.conf
mkdir -m 0700 -p /var/lib/keyd
vm_check "keyd-ctl psk add (sealed to the guest's TPM)" keyd-ctl --root /var/lib/keyd psk add \
	--hostnqn "$HOSTNQN" --subnqn "$SUB-keyd" --generate
echo "$VM_OUT"
vm_time case5-enroll
# What the kernel asks for (keyring.c: the v1 identity without its digest, into .nvme).
mkdir -p /etc/keyd/policy.d
printf '%s\n' '[request-key]' 'allow psk "NVMe1R0[12] nqn.* nqn.*" uid=0 keyring=.nvme' \
	>/etc/keyd/policy.d/50-vm-request-key.policy
echo "create psk * * /usr/bin/keyd-request-key --no-daemon --log-file /out/request-key.log %k %t %d %c %u %g %T %P %S" \
	>/etc/request-key.d/keyd.conf
before=$(upcalls)
vm_nvme_connect "$(connect_opts "$SUB-keyd")" || {
	dmesg | tail -n 5; cat /out/request-key.log; cat /out/agent.log
	vm_fail "5. TLS connect through keyd-request-key refused"; }
cat /out/request-key.log
c=/sys/class/nvme/$VM_NVME_CTRL
K=$(keyctl search %:.nvme psk "NVMe1R01 $HOSTNQN $SUB-keyd" 2>/dev/null) ||
	vm_fail "5. keyd-request-key made no key in .nvme"
[ "$(cat "$c/tls_key")" = "$(printf %08x "$K")" ] || vm_fail "5. tls_key is not the key keyd-request-key made"
[ "$(upcalls)" = "$before" ] || vm_fail "5. the test callout answered instead of keyd-request-key"
grep -q "psk 'NVMe1R01 $HOSTNQN $SUB-keyd') for uid 0: instantiated" /out/request-key.log ||
	vm_fail "5. keyd-request-key did not log instantiating 'NVMe1R01 $HOSTNQN $SUB-keyd'"
echo "ok: 5. keyd-request-key unsealed the PSK from the TPM: tls_key $(cat "$c/tls_key")"
delete_ctrl "$VM_NVME_CTRL"
vm_time case5-keyd-request-key
CASE5

vm_initramfs "$T/root" --out "$T/initrd.cpio" \
	--bin "$hs_bin" --bin keyctl --bin /sbin/request-key:/sbin/request-key "${extra_bins[@]+"${extra_bins[@]}"}" \
	--module nvmet-tcp --module nvme-tcp --module loop \
	--module tls --module gcm --module ghash-generic --module virtio_blk \
	--module ecdh_generic --module libcurve25519-generic --module curve25519-x86_64
tpm_args=()
if [ ${#extra_bins[@]} -gt 0 ]; then
	vm_swtpm "$T/tpm"
	tpm_args=(--tpm "$T/tpm")
fi
vm_outbox "$T/outbox.img"
rc=0
vm_run kernel-nvme-request-key --outbox "$T/outbox.img" "${tpm_args[@]+"${tpm_args[@]}"}" || rc=$?
vm_outbox_extract "$T/outbox.img" "$T/out" 2>/dev/null || true
if [ -f "$T/out/agent.log" ]; then
	note "agent log from the guest:"
	sed 's/^/    /' "$T/out/agent.log"
fi
[ "$rc" = 0 ] || exit "$rc"
note "timings: mk/kernel.sh ${t_kernel} s, initramfs ${VM_TIME_INITRAMFS} s, qemu start to verdict ${VM_TIME_BOOT} s, whole test $(vm_since "$t0") s"
echo "PASS: kernel-nvme-request-key"
