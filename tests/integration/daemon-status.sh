#!/bin/bash
# keyd serves its socket: keyd-ctl status (human and --json) shows the keyring
# it provisioned with serial, generation, seal state, links and each key's
# source entry; readiness reaches $NOTIFY_SOCKET; any user gets the summary,
# but only root or the enrollment group may PROVISION or RELOAD (others get
# "permission denied"); without a daemon status says so and exits 1, and
# --offline shows the store instead.
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd setpriv
start_swtpm
new_store
source "$KEYD_TOP/tests/lib/daemon.sh"

RING="st$$"
enroll_test_ca cas
write_policy 50-status "[keyring $RING]
ca-set = cas as user
link = session
seal = closed"
# A numeric enrollment group, so no system group has to be created.
write_keyd_conf "enroll-group = 4242"

note "no daemon yet"
expect_status 1 keyd-ctl status
assert_contains "$OUT" "keyd is not running"
expect_status 0 keyd-ctl status --offline
assert_contains "$OUT" "offline"
assert_contains "$OUT" "cas"

# Readiness: a datagram socket standing in for the service manager.
python3 - "$T/notify.sock" >"$T/notify.out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
while True:
    m = s.recv(4096).decode()
    print(m.replace("\n", "|"), flush=True)
    if "READY=1" in m:
        break
PY
track_pid $!
for _ in $(seq 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done
NOTIFY_SOCKET="$T/notify.sock" start_keyd
for _ in $(seq 50); do grep -q READY=1 "$T/notify.out" && break; sleep 0.1; done
assert_contains "$(cat "$T/notify.out")" "READY=1"

note "status, human"
expect_status 0 keyd-ctl status
echo "$OUT"
assert_contains "$OUT" "^keyd .* ready"
assert_contains "$OUT" "name: $RING"
assert_contains "$OUT" "serial: [0-9]+"
assert_contains "$OUT" "generation: [0-9]+"
assert_contains "$OUT" "seal: closed"
assert_contains "$OUT" "session"
assert_contains "$OUT" "source: ca/cas"

note "status --json"
status_json
[ "$(json_get 'd["daemon"]["state"]')" = ready ] || fail "state is not ready"
[ "$(json_get '[r["name"] for r in d["report"]["provision"]["rings"]][0]')" = "$RING" ] ||
	fail "ring $RING not in the report"
serial=$(json_get 'd["report"]["provision"]["rings"][0]["serial"]')
keyctl rdescribe "$serial" | grep -q "^keyring;.*;keyd:$RING$" || fail "serial $serial is not keyd:$RING"
[ "$(json_get 'len(d["report"]["provision"]["rings"][0]["keys"])')" -ge 1 ] || fail "no keys listed"

note "an unprivileged peer"
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
expect_status 0 "${nobody[@]}" "$KEYD_BUILD/keyd-ctl" status
assert_contains "$OUT" "ready"
assert_contains "$OUT" "not readable by you"
expect_status 1 "${nobody[@]}" "$KEYD_BUILD/tests/proto-send" "$KEYD_SOCK" provision
assert_contains "$OUT" "^ERROR 13: permission denied: only root or group '4242' may provision"
expect_status 1 "${nobody[@]}" "$KEYD_BUILD/tests/proto-send" "$KEYD_SOCK" reload
assert_contains "$OUT" "^ERROR 13: permission denied: only root or group '4242' may reload"
assert_contains "$(cat "$T/keyd.log")" "uid=65534: RELOAD refused: permission denied"

note "a member of the enrollment group, and root"
expect_status 0 setpriv --reuid=65534 --regid=65534 --groups=4242 \
	"$KEYD_BUILD/tests/proto-send" "$KEYD_SOCK" reload
assert_contains "$OUT" "^REPLY RELOAD-REPLY generation [0-9]+"
expect_status 0 "$KEYD_BUILD/tests/proto-send" "$KEYD_SOCK" provision
assert_contains "$OUT" "^REPLY PROVISION-REPLY"

stop_keyd
[ ! -e "$KEYD_SOCK" ] || fail "keyd left its socket behind after SIGTERM"
expect_status 1 keyd-ctl status
assert_contains "$OUT" "keyd is not running"
