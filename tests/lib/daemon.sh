# Helpers for the daemon scenarios (tests/integration/daemon-*.sh); source after
# harness.sh. A private keyd: config, policy, socket and store under $T, the
# private swtpm, logs in $T/keyd.log. keyd runs in the scenario's session
# keyring, so rings linked to "session" are visible to the scenario.

[ -x "$KEYD_BUILD/keyd" ] || skip "keyd is not built ($KEYD_BUILD/keyd)"
require_cmd keyctl openssl python3

# $T must be reachable by the unprivileged peers some scenarios run.
chmod 0711 "$T"
KEYD_SOCK="$T/run/keyd.sock"
KEYD_CONF="$T/keyd.conf"
POLICY_DIR="$T/policy.d"
export KEYD_SOCKET="$KEYD_SOCK"

# write_keyd_conf [extra lines...]: log-level debug unless KEYD_TEST_LOG_LEVEL says
# otherwise (the benchmarks time keyd at info).
write_keyd_conf() {
	{
		echo "store = $STORE"
		echo "tcti = $KEYD_TCTI"
		echo "policy-dir = $POLICY_DIR"
		echo "socket = $KEYD_SOCK"
		echo "log-level = ${KEYD_TEST_LOG_LEVEL:-debug}"
		for l in "$@"; do echo "$l"; done
	} >"$KEYD_CONF"
	chmod 0600 "$KEYD_CONF"
}

# write_policy NAME TEXT: policy.d/NAME.policy, root-only as keyd requires.
write_policy() {
	mkdir -p -m 0700 "$POLICY_DIR"
	printf '%s\n' "$2" >"$POLICY_DIR/$1.policy.tmp"
	chmod 0600 "$POLICY_DIR/$1.policy.tmp"
	mv "$POLICY_DIR/$1.policy.tmp" "$POLICY_DIR/$1.policy"
}

# A throwaway CA certificate enrolled as CA set NAME (generated now, never committed).
enroll_test_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=keyd test CA $1" -keyout "$T/$1.key" -out "$T/$1.pem" 2>/dev/null
	ctl ca add "$T/$1.pem" --set "$1" >/dev/null
}

# Start keyd in the foreground, in the background; wait until it answers STATUS.
# keyd logs to syslog unless stderr is a terminal (keyd_log_open(KEYD_LOG_AUTO)),
# and a test machine may have no syslog: give it a pseudo-terminal whose output
# a small relay appends to $T/keyd.log. $KEYD_PID is keyd itself, so signals
# reach it directly.
start_keyd() {
	rm -f "$T/keyd.pid"
	python3 - "$T/keyd.pid" "$T/keyd.log" keyd --config "$KEYD_CONF" "$@" <<'PY' &
import os, pty, sys
pidfile, log, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
master, slave = pty.openpty()
pid = os.fork()
if pid == 0:
    os.setsid()
    os.close(master)
    os.dup2(slave, 1)
    os.dup2(slave, 2)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.execvp(argv[0], argv)
os.close(slave)
with open(pidfile + ".tmp", "w") as f:
    f.write(str(pid))
os.rename(pidfile + ".tmp", pidfile)
with open(log, "ab", buffering=0) as out:
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        out.write(data.replace(b"\r\n", b"\n"))
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) & 0xff)
PY
	KEYD_RELAY=$!
	track_pid "$KEYD_RELAY"
	for _ in $(seq 100); do [ -s "$T/keyd.pid" ] && break; sleep 0.05; done
	KEYD_PID=$(cat "$T/keyd.pid")
	track_pid "$KEYD_PID"
	wait_keyd
}

# keyd ARGS on a pseudo-terminal (so it logs to stderr), in the foreground.
keyd_on_tty() {
	python3 -c 'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])) & 0xff)' \
		keyd "$@"
}

wait_keyd() {
	for _ in $(seq 300); do
		if [ -S "$KEYD_SOCK" ] && "$KEYD_BUILD/tests/proto-send" "$KEYD_SOCK" status >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$KEYD_PID" 2>/dev/null || fail "keyd exited at start: $(tail -n 20 "$T/keyd.log")"
		sleep 0.1
	done
	fail "keyd did not answer on '$KEYD_SOCK' within 30 s: $(tail -n 20 "$T/keyd.log")"
}

# SIGTERM; keyd must exit 0 (the relay reports its exit status).
stop_keyd() {
	kill "$KEYD_PID" 2>/dev/null || true
	local rc=0
	wait "$KEYD_RELAY" || rc=$?
	[ "$rc" = 0 ] || fail "keyd exited with $rc after SIGTERM: $(tail -n 20 "$T/keyd.log")"
}

# The JSON status, a value by a Python expression over it (d).
status_json() {
	keyd-ctl --json status >"$T/status.json" || fail "keyd-ctl --json status failed"
	python3 -m json.tool "$T/status.json" >/dev/null || fail "status --json does not parse: $(cat "$T/status.json")"
}
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/status.json"; }
