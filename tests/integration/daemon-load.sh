#!/bin/bash
# Load: 100 concurrent keyd-ctl status clients while a hostile client floods the
# socket with malformed records (truncated, oversized, wrong version, bad magic,
# random bytes...). keyd stays up, answers every well-formed client, answers each
# malformed record with the right ERROR, and logs the bad peers (rate-limited).
source "$KEYD_TOP/tests/lib/harness.sh"
start_swtpm
new_store
source "$KEYD_TOP/tests/lib/daemon.sh"

enroll_test_ca loadca
write_policy 50-load "[keyring ld$$]
ca-set = loadca as user
link = session
seal = closed"
# Fewer slots than clients: the rest must wait in the backlog, not be refused.
write_keyd_conf "max-clients = 16"
start_keyd

note "each malformed kind gets its ERROR"
expect_status 0 "$KEYD_BUILD/tests/proto-flood" "$KEYD_SOCK" check
echo "$OUT"

note "100 status clients during a flood"
"$KEYD_BUILD/tests/proto-flood" "$KEYD_SOCK" flood 300 >"$T/flood.out" 2>&1 &
FLOOD=$!
track_pid $FLOOD
pids=()
for i in $(seq 100); do
	keyd-ctl --json status >"$T/st.$i" 2>&1 &
	pids+=($!)
done
bad=0
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || { bad=$((bad + 1)); echo "client $i: $(cat "$T/st.$((i + 1))")"; }
done
wait $FLOOD || fail "the flood client could not connect at all: $(cat "$T/flood.out")"
cat "$T/flood.out"
[ "$bad" = 0 ] || fail "$bad of 100 status clients failed"
for i in $(seq 100); do
	python3 -m json.tool "$T/st.$i" >/dev/null || fail "client $i got no valid status: $(cat "$T/st.$i")"
done

kill -0 "$KEYD_PID" || fail "keyd died under the flood"
expect_status 0 keyd-ctl status
assert_contains "$OUT" "ready"
assert_contains "$(cat "$T/keyd.log")" "peer pid=[0-9]+ uid=0: malformed message"
assert_contains "$(cat "$T/keyd.log")" "peer pid=[0-9]+ uid=0: oversized record"
# The flood's bad peers were counted, not logged one by one: once the rate
# limit's window has passed, the next bad peer's line says how many were held back.
sleep 5.5
expect_status 0 "$KEYD_BUILD/tests/proto-flood" "$KEYD_SOCK" check
assert_contains "$(cat "$T/keyd.log")" "\(([0-9]+) more messages about bad peers suppressed\)"
note "bad-peer lines logged: $(grep -c 'peer pid=' "$T/keyd.log"), $(grep -o '[0-9]* more messages about bad peers suppressed' "$T/keyd.log")"
stop_keyd
