#!/bin/bash
# Reload swaps generations with no gap: while a reader looks a key of a keyd
# ring up in a tight loop, 20 reloads (SIGHUP, the policy changed before each)
# replace the ring 20 times and the reader never gets ENOKEY. A policy with an
# error is refused on reload and the previous state stays.
source "$KEYD_TOP/tests/lib/harness.sh"
start_swtpm
new_store
source "$KEYD_TOP/tests/lib/daemon.sh"

RING="gap$$"
enroll_test_ca gapca
policy() { # $1: a timeout, so each reload really changes the policy
	write_policy 50-gap "[keyring $RING]
ca-set = gapca as user
link = session
seal = closed
timeout = $1"
}
policy 86400
write_keyd_conf
start_keyd

status_json
gen0=$(json_get 'd["report"]["generation"]')
read -r type desc < <(json_get '" ".join([(k["type"], k["description"]) for k in d["report"]["provision"]["rings"][0]["keys"] if k["type"] == "user"][0])')
[ -n "$desc" ] || fail "no user key in ring $RING"
note "reader looks up $type '$desc'"
keyctl search @s "$type" "$desc" >/dev/null || fail "the key is not reachable from the session"

"$KEYD_BUILD/tests/keyring-reader" "$type" "$desc" "$T/stop" >"$T/reader.out" 2>&1 &
READER=$!
track_pid $READER
sleep 0.5
for i in $(seq 20); do
	policy $((86400 + i))
	before=$(grep -c 'reloaded: generation' "$T/keyd.log" || true)
	kill -HUP "$KEYD_PID"
	for _ in $(seq 600); do
		[ "$(grep -c 'reloaded: generation' "$T/keyd.log" || true)" -gt "$before" ] && break
		grep -q 'reload refused' "$T/keyd.log" && fail "reload $i refused: $(tail -n 5 "$T/keyd.log")"
		sleep 0.05
	done
	[ "$(grep -c 'reloaded: generation' "$T/keyd.log" || true)" -gt "$before" ] || fail "reload $i did not finish"
done
sleep 0.2
touch "$T/stop"
rc=0
wait $READER || rc=$?
cat "$T/reader.out"
[ "$rc" = 0 ] || fail "the reader missed the key during reloads: $(cat "$T/reader.out")"
lookups=$(awk '{print $2}' "$T/reader.out")
[ "$lookups" -gt 1000 ] || fail "only $lookups lookups: the reader did not run during the reloads"

status_json
gen=$(json_get 'd["report"]["generation"]')
[ "$gen" -ge $((gen0 + 20)) ] || fail "generation $gen after 20 reloads from $gen0"
[ "$(json_get 'd["daemon"]["state"]')" = ready ] || fail "not ready after the reloads"

note "a broken policy is refused, the old state stays"
serial=$(json_get 'd["report"]["provision"]["rings"][0]["serial"]')
write_policy 60-broken "[keyring"
kill -HUP "$KEYD_PID"
for _ in $(seq 100); do grep -q 'reload refused' "$T/keyd.log" && break; sleep 0.05; done
assert_contains "$(cat "$T/keyd.log")" "reload refused, the previous configuration and keyrings stay"
status_json
[ "$(json_get 'd["report"]["provision"]["rings"][0]["serial"]')" = "$serial" ] ||
	fail "the ring changed after a refused reload"
keyctl search @s "$type" "$desc" >/dev/null || fail "the key vanished after a refused reload"
rm -f "$POLICY_DIR/60-broken.policy"
stop_keyd
