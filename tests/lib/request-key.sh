# Helpers for the request-key scenarios (tests/integration/request-key-*.sh); source
# after harness.sh and daemon.sh. Real upcalls: the kernel runs /sbin/request-key,
# which runs the keyd-request-key under test from a conf file this run installs in
# /etc/request-key.d and removes at exit.
#
# Routing: /sbin/request-key matches the type, the description and the callout
# data of a line (one '*' each). keyd's descriptions are fixed by its grammar
# ("keyd:psk:...", "keyd:cert:..."), so this run's requests are routed by a
# unique callout word, "timeout=$RK_TAG" (a valid keyd callout: the key expires
# in some years), or, for requests with other callout data, by a description
# that starts with "keyd:cert:$RK_ID" (Debian's request-key matches a '*' only
# at the end). Nothing else on the machine matches those lines.

require_cmd keyctl request-key
require_root
[ -x "$KEYD_BUILD/keyd-request-key" ] || skip "keyd-request-key is not built"
[ -d /etc/request-key.d ] || skip "/etc/request-key.d does not exist (keyutils too old)"

RK_ID="rk$$x$RANDOM"
RK_TAG=$((200000000 + ($$ % 10000) * 10000 + RANDOM % 10000))
RK_CALLOUT="timeout=$RK_TAG"
RK_CONF="/etc/request-key.d/zz-keyd-test-$RK_ID.conf"
RK_LOG="$T/request-key.log"
RK_HOST="nqn.2014-08.org.example:host-$RK_ID"
RK_SUB="nqn.2014-08.org.example:sub-$RK_ID"

# The conf file goes first; then the harness's cleanup, with the scenario's status.
_rk_cleanup() {
	local rc=$?
	set +e
	rm -f "$RK_CONF" "$RK_CONF.tmp"
	(exit "$rc")
	_cleanup
}
trap _rk_cleanup EXIT

# rk_install_conf [EXTRA OPTIONS]: the lines routing this run's requests to the
# callout under test, with this run's keyd.conf.
rk_install_conf() {
	local cmd="$KEYD_BUILD/keyd-request-key --config $KEYD_CONF --log-file $RK_LOG $*"
	{
		echo "# keyd test run $RK_ID (removed at the end of the run)"
		echo "create user keyd:* $RK_CALLOUT $cmd %k %t %d %c %u %g %T %P %S"
		echo "create user keyd:cert:$RK_ID* * $cmd %k %t %d %c %u %g %T %P %S"
	} >"$RK_CONF.tmp"
	mv "$RK_CONF.tmp" "$RK_CONF"
}

# rk_request DESC [CALLOUT]: keyctl request2 user DESC into @s; prints the key id.
# Exit status and output are keyctl's.
rk_request() { keyctl request2 user "$1" "${2-$RK_CALLOUT}" @s; }

# rk_expect_error ERRTEXT DESC [CALLOUT]
rk_expect_error() {
	local want=$1; shift
	expect_status 1 rk_request "$@"
	grep -qE -- "$want" <<<"$OUT" ||
		fail "expected /$want/ for '$(head -c 200 <<<"$1")', got: $OUT; callout log: $(tail -n 3 "$RK_LOG" 2>/dev/null)"
}

# rk_setup POLICY-TEXT: swtpm, store, keyd.conf and policy for this run.
rk_setup() {
	start_swtpm
	new_store
	write_keyd_conf
	write_policy 50-request-key "$1"
	rk_install_conf
}

# rk_enroll VERSION HMAC SUFFIX: a generated PSK for host/sub-SUFFIX; sets RK_IDENTITY
# and RK_TLS_PSK (hex, from keyd-ctl psk derive).
rk_enroll() {
	local v=$1 hmac=$2 host="$RK_HOST$3" sub="$RK_SUB$3"
	ctl psk add --hostnqn "$host" --subnqn "$sub" --generate --hmac "$hmac" \
		--identity "$v" >/dev/null
	RK_IDENTITY=$(ctl --json psk show --hostnqn "$host" --subnqn "$sub" --identity "$v" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["identity"])')
	RK_TLS_PSK=$(ctl psk derive --hostnqn "$host" --subnqn "$sub" --identity "$v" \
		--i-understand-this-prints-a-secret)
}

# The payload of key ID in hex.
rk_payload_hex() { keyctl pipe "$1" | od -An -tx1 | tr -d ' \n'; }

# The callout must not have crashed or leaked (ASan writes to its stderr, the log).
rk_assert_clean_log() {
	[ -f "$RK_LOG" ] || return 0
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$RK_LOG"; then
		fail "keyd-request-key reported a sanitizer error: $(grep -m5 -E 'Sanitizer|runtime error' "$RK_LOG")"
	fi
}
