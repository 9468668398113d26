#!/bin/bash
# Faults: SIGKILL of keyd leaves a stale socket and the keyrings in the kernel;
# a restarted keyd replaces the stale socket, adopts and reprovisions cleanly
# (ready, no problems, the key still found). A second keyd on a live socket is
# refused.
source "$KEYD_TOP/tests/lib/harness.sh"
start_swtpm
new_store
source "$KEYD_TOP/tests/lib/daemon.sh"

RING="rs$$"
enroll_test_ca rsca
write_policy 50-restart "[keyring $RING]
ca-set = rsca as user
link = session
seal = closed"
write_keyd_conf
start_keyd
status_json
read -r type desc < <(json_get '" ".join([(k["type"], k["description"]) for k in d["report"]["provision"]["rings"][0]["keys"] if k["type"] == "user"][0])')

note "a second keyd is refused while the first runs"
expect_status 1 keyd_on_tty --config "$KEYD_CONF"
assert_contains "$OUT" "another keyd"
kill -0 "$KEYD_PID" || fail "the first keyd died"

note "SIGKILL"
kill -9 "$KEYD_PID"
wait "$KEYD_RELAY" 2>/dev/null || true
[ -S "$KEYD_SOCK" ] || fail "expected a stale socket after SIGKILL"
keyctl search @s "$type" "$desc" >/dev/null || fail "the key vanished with keyd"
expect_status 1 keyd-ctl status
assert_contains "$OUT" "keyd is not running"

note "restart"
start_keyd
status_json
[ "$(json_get 'd["daemon"]["state"]')" = ready ] || fail "restarted keyd is not ready: $(cat "$T/status.json")"
[ "$(json_get 'len(d["report"]["provision"]["problems"])')" = 0 ] || fail "problems after restart: $(cat "$T/status.json")"
keyctl search @s "$type" "$desc" >/dev/null || fail "the key is not found after the restart"
# Exactly one generation of the ring is linked in the session.
n=$(keyctl rlist @s | tr ' ' '\n' | while read -r k; do keyctl rdescribe "$k" 2>/dev/null; done | grep -c "^keyring;.*;keyd:$RING$" || true)
[ "$n" = 1 ] || fail "$n generations of $RING linked in the session after the restart"
stop_keyd
