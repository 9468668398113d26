#!/bin/bash
# With swtpm stopped, an upcall for a sealed PSK ends at once with a clear
# message naming the TPM, a negative key with the short transient-timeout (then
# the kernel asks again), and no key left under construction; a description
# outside the policy is still rejected (the policy is decided before any TPM
# use). Both with keyd running (a PSK keyd already derived is served from its
# cache, which needs no TPM for a PSK sealed without PCRs) and with keyd stopped.
source "$KEYD_TOP/tests/lib/harness.sh"
source "$KEYD_TOP/tests/lib/daemon.sh"
source "$KEYD_TOP/tests/lib/request-key.sh"

rk_setup "[request-key]
allow user \"keyd:psk:NVMe* $RK_HOST* *\" uid=0
negative-timeout = 60
transient-timeout = 1"
rk_enroll v1 sha256 "-a"; A_ID=$RK_IDENTITY A_PSK=$RK_TLS_PSK
rk_enroll v1 sha256 "-b"; B_ID=$RK_IDENTITY
rk_enroll v1 sha256 "-c"; C_ID=$RK_IDENTITY

no_construction_left() {
	# /proc/keys flags: U = under construction, N = negative.
	if awk -v id="$RK_ID" 'index($0, id) && substr($3, 3, 1) == "U"' /proc/keys | grep -q .; then
		fail "a key is still under construction: $(grep "$RK_ID" /proc/keys)"
	fi
}

# transient_fail DESC: ENOKEY at once, "no TPM"-style message, 1 s negative.
transient_fail() {
	local t0 t1 n
	t0=$(date +%s%N)
	rk_expect_error "Required key not available" "$1"
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -lt 5000 ] || fail "took $(((t1 - t0) / 1000000)) ms without a TPM"
	assert_contains "$(tail -n 1 "$RK_LOG")" "negated for 1 s, asked again after that"
	assert_contains "$(tail -n 1 "$RK_LOG")" "TPM|tpm|swtpm"
	no_construction_left
	n=$(grep -c "negated for 1 s" "$RK_LOG")
	sleep 1.5
	rk_expect_error "Required key not available" "$1"
	[ "$(grep -c "negated for 1 s" "$RK_LOG")" -gt "$n" ] ||
		fail "the transient negative key did not expire after 1 s"
}

note "keyd running, swtpm stopped"
start_keyd
id=$(rk_request "keyd:psk:$A_ID") || fail "request with the TPM up failed"
keyctl unlink "$id" @s >/dev/null
stop_swtpm
transient_fail "keyd:psk:$B_ID"
note "keyd running: a PSK keyd derived before is served from its cache"
id=$(rk_request "keyd:psk:$A_ID") || fail "the cached PSK was not served: $(tail -n 2 "$RK_LOG")"
[ "$(rk_payload_hex "$id")" = "$A_PSK" ] || fail "cached PSK: wrong payload"
keyctl unlink "$id" @s >/dev/null
rk_expect_error "Key was rejected" "keyd:psk:NVMe1R01 nqn.other.host $RK_SUB"
stop_keyd

note "keyd stopped, swtpm stopped"
: >"$RK_LOG"
transient_fail "keyd:psk:$C_ID"
grep -q "instantiated\|from keyd" "$RK_LOG" && fail "unexpected: $(cat "$RK_LOG")"
rk_expect_error "Key was rejected" "keyd:psk:NVMe1R01 nqn.other.host $RK_SUB"
no_construction_left
rk_assert_clean_log
cat "$RK_LOG"
echo "ok"
