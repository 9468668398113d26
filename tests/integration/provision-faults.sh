#!/bin/bash
# Faults during provisioning never leave a partial generation linked:
#  - keyd is killed (SIGKILL, injected by strace) at every add_key and keyctl call
#    of a pass that moves the rings from an old content (3 PSKs, 1 CA) to a new
#    one (4 PSKs, 2 CAs): after each kill, each ring linked in the session holds
#    exactly the old key set or exactly the new one;
#  - swtpm is killed while keyd is between TPM commands (keyd stopped by an
#    injected SIGSTOP at a TPM write, swtpm killed, keyd continued): the PSK ring
#    keeps its previous generation, the CA ring (no TPM needed) is provisioned,
#    keyd exits with a TPM status and names the cause;
#  - afterwards a restarted keyd (and swtpm) provisions cleanly, with no
#    transient object left in the TPM and no staging keyring left behind.
# swtpm has no resource manager: after a killed keyd the test flushes what it
# left loaded, as /dev/tpmrm0 does for a dead process.
source "$KEYD_TOP/tests/lib/harness.sh"
source "$KEYD_TOP/tests/lib/provision.sh"
require_root
require_cmd strace
start_swtpm
new_store
prov_setup

H=nqn.2014-08.org.example:fault-$RUN_ID
for i in 1 2 3; do
	ctl psk add --hostnqn "$H" --subnqn "nqn.2014-08.org.example:s$i" --generate >/dev/null
done
prov_ca ca1
prov_ca ca2
ctl ca add "$T/ca1.pem" --set trust >/dev/null
NV=nvme-$RUN_ID TR=trust-$RUN_ID
prov_policy 50-test <<EOF
[keyring $NV]
kernel = .nvme
if-absent = create
link = session
psk = all
seal = open

[keyring $TR]
ca-set = trust
link = session
seal = closed
EOF

# The new content: a copy of the store with one more PSK and one more CA.
OLD_STORE=$STORE NEW_STORE="$T/store-new"
cp -a "$STORE" "$NEW_STORE"
keyd-ctl --root "$NEW_STORE" psk add --hostnqn "$H" --subnqn nqn.2014-08.org.example:s4 \
	--generate >/dev/null
keyd-ctl --root "$NEW_STORE" ca add "$T/ca2.pem" --set trust >/dev/null
NEW_CONF="$T/keyd-new.conf"
sed "s|^store = .*|store = $NEW_STORE|" "$CONF" >"$NEW_CONF"
chmod 0600 "$NEW_CONF"

# Key sets: "type:description" lines of each ring, after a clean pass of each store.
sets() { echo "$(ring_keys "$(ring_serial "keyd:$NV")")|$(ring_keys "$(ring_serial "keyd:$TR")")"; }
clean_pass() { # CONF
	set +e
	OUT=$(keyd --config "$1" provision --once 2>&1)
	RC=$?
	set -e
	[ "$RC" = 0 ] || fail "clean pass with $1 exited $RC: $OUT"
	assert_no_transients
}
clean_pass "$NEW_CONF"
NEW_NV=$(ring_keys "$(ring_serial "keyd:$NV")") NEW_TR=$(ring_keys "$(ring_serial "keyd:$TR")")
clean_pass "$CONF"
OLD_NV=$(ring_keys "$(ring_serial "keyd:$NV")") OLD_TR=$(ring_keys "$(ring_serial "keyd:$TR")")
[ "$(wc -l <<<"$OLD_NV")" = 3 ] && [ "$(wc -l <<<"$NEW_NV")" = 4 ] || fail "PSK sets: $OLD_NV / $NEW_NV"
[ "$(wc -l <<<"$OLD_TR")" = 2 ] && [ "$(wc -l <<<"$NEW_TR")" = 4 ] || fail "CA sets: $OLD_TR / $NEW_TR"

check_whole() { # WHAT
	local nv tr
	nv=$(ring_keys "$(ring_serial "keyd:$NV")")
	tr=$(ring_keys "$(ring_serial "keyd:$TR")")
	[ "$nv" = "$OLD_NV" ] || [ "$nv" = "$NEW_NV" ] ||
		fail "$1: keyd:$NV holds a partial generation: $nv"
	[ "$tr" = "$OLD_TR" ] || [ "$tr" = "$NEW_TR" ] ||
		fail "$1: keyd:$TR holds a partial generation: $tr"
	[ "$nv" = "$NEW_NV" ] && echo -n "N" || echo -n "o"
	[ "$tr" = "$NEW_TR" ] && echo -n "N " || echo -n "o "
}

# How many add_key and keyctl calls a pass to the new content makes.
ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$T/trace" -e trace=add_key,keyctl \
	keyd --config "$NEW_CONF" provision --once >/dev/null 2>&1 || true
N_ADD=$(grep -c 'add_key(' "$T/trace")
N_CTL=$(grep -c 'keyctl(' "$T/trace")
note "a pass makes $N_ADD add_key and $N_CTL keyctl calls; killing keyd at each"
clean_pass "$CONF"

KILLS=0
for sc in add_key keyctl; do
	n=$N_ADD
	[ "$sc" = keyctl ] && n=$N_CTL
	for ((i = 1; i <= n; i++)); do
		clean_pass "$CONF" >/dev/null
		[ "$(sets)" = "$OLD_NV|$OLD_TR" ] || fail "the clean pass did not restore the old content"
		set +e
		# LeakSanitizer cannot run under ptrace; the process is killed anyway.
		# In a subshell whose stderr is dropped: bash reports a job's SIGKILL there.
		(
			ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o /dev/null \
				-e trace="$sc" -e inject="$sc":signal=SIGKILL:when="$i" \
				keyd --config "$NEW_CONF" provision --once >/dev/null 2>&1 &
			wait $!
		) 2>/dev/null
		rc=$?
		set -e
		[ "$rc" != 0 ] || fail "keyd was not killed at $sc #$i"
		echo -n "$sc#$i:"
		check_whole "SIGKILL at $sc #$i"
		flush_dead_transients
		KILLS=$((KILLS + 1))
	done
done
echo
note "$KILLS kills of keyd: every linked ring held a whole generation (o = old, N = new)"

# No staging keyring of a dead keyd survives (the kernel drops process keyrings).
sleep 1
! grep -q 'keyd:staging' /proc/keys || fail "a staging keyring survived: $(grep keyd:staging /proc/keys)"

# The TPM goes away mid-pass.
for k in 3 6 11; do
	clean_pass "$CONF" >/dev/null
	set +e
	rm -f "$T/strace"
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$T/strace" -e trace=write \
		-e inject=write:signal=SIGSTOP:when="$k" \
		keyd --config "$NEW_CONF" provision --once >"$T/out" 2>&1 &
	spid=$!
	set -e
	track_pid "$spid"
	# Wait until strace reports keyd's group stop (a ptrace syscall stop looks the
	# same in ps), then take the TPM away and let keyd go on.
	kpid=
	for _ in $(seq 200); do
		kpid=$(grep -m1 -- '--- stopped by SIGSTOP ---' "$T/strace" 2>/dev/null | cut -d' ' -f1 || true)
		[ -n "$kpid" ] && break
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$kpid" ] || fail "keyd did not stop at write #$k: $(cat "$T/out")"
	stop_swtpm
	kill -CONT "$kpid"
	set +e
	wait "$spid"
	rc=$?
	set -e
	OUT=$(cat "$T/out")
	[ "$rc" != 0 ] || fail "keyd exited 0 although the TPM went away at write #$k: $OUT"
	assert_contains "$OUT" "keyring '$NV': not provisioned: the TPM is needed"
	echo "TPM killed at write #$k: exit $rc, state $(check_whole "swtpm killed at write #$k")"
	[ "$(ring_keys "$(ring_serial "keyd:$NV")")" = "$OLD_NV" ] ||
		fail "the PSK ring did not keep its previous generation"
	[ "$(ring_keys "$(ring_serial "keyd:$TR")")" = "$NEW_TR" ] ||
		fail "the CA ring (no TPM needed) was not provisioned"
	start_swtpm
	flush_dead_transients
done
note "swtpm killed mid-pass 3 times: the PSK ring kept its previous generation each time"

# A restarted keyd provisions cleanly.
clean_pass "$NEW_CONF"
[ "$(sets)" = "$NEW_NV|$NEW_TR" ] || fail "the restarted keyd did not provision the new content"
clean_pass "$NEW_CONF"
[ "$(sets)" = "$NEW_NV|$NEW_TR" ] || fail "a second clean pass changed the content"
note "restarted keyd: clean passes, the new content, no transients"
