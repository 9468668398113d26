#!/bin/bash
# Real request_key() upcalls answered by keyd-request-key, with keyd running and
# with it stopped (then from the store and swtpm directly): an enrolled NVMe
# identity (v1, its v1 prefix, v0) gives a key whose payload is the derived TLS
# PSK (keyd-ctl psk derive); a CA set gives its DER certificate; an unknown
# identity fails at once with ENOKEY and its negative key expires after the
# policy's negative-timeout; a description outside the policy is rejected
# (EKEYREJECTED); an unprivileged requester gets only what the policy grants it.
# The host kernel has no psk key type, so PSKs are asked for through keyd's
# user-type alias "keyd:psk:<identity>" (the psk type itself: tests/vm).
source "$KEYD_TOP/tests/lib/harness.sh"
source "$KEYD_TOP/tests/lib/daemon.sh"
source "$KEYD_TOP/tests/lib/request-key.sh"
require_cmd setpriv od

rk_setup "[request-key]
deny user \"keyd:psk:* $RK_HOST-denied *\" uid=*
allow user \"keyd:psk:NVMe* $RK_HOST* *\" uid=0
allow user \"keyd:ca:rkca-$RK_ID\" uid=0
allow user \"keyd:ca:rkpub-$RK_ID\" uid=0,65534
negative-timeout = 2
transient-timeout = 1"
rk_enroll v1 sha256 "-a"; V1_ID=$RK_IDENTITY V1_PSK=$RK_TLS_PSK V1_HOST="$RK_HOST-a" V1_SUB="$RK_SUB-a"
rk_enroll v1 sha384 "-b"; V1B_ID=$RK_IDENTITY V1B_PSK=$RK_TLS_PSK
rk_enroll v0 sha256 "-c"; V0_ID=$RK_IDENTITY V0_PSK=$RK_TLS_PSK
rk_enroll v1 sha256 "-denied"; DENIED_ID=$RK_IDENTITY
enroll_test_ca "rkca-$RK_ID"
enroll_test_ca "rkpub-$RK_ID"
openssl x509 -in "$T/rkca-$RK_ID.pem" -outform DER | od -An -tx1 | tr -d ' \n' >"$T/ca.hex"
openssl x509 -in "$T/rkpub-$RK_ID.pem" -outform DER | od -An -tx1 | tr -d ' \n' >"$T/pub.hex"

# check_psk DESC WANT-HEX: a fresh upcall (the key is unlinked afterwards).
check_psk() {
	local id
	id=$(rk_request "$1") || fail "request for '$1' failed: $(tail -n 3 "$RK_LOG")"
	[ "$(rk_payload_hex "$id")" = "$2" ] || fail "payload of '$1' is not the derived TLS PSK"
	keyctl unlink "$id" @s >/dev/null
}

run_checks() { # VIA: "keyd" or "store"
	local via=$1 id t0 t1 n
	: >"$RK_LOG"
	note "$via: enrolled identities give the derived TLS PSK"
	check_psk "keyd:psk:$V1_ID" "$V1_PSK"
	check_psk "keyd:psk:$V1B_ID" "$V1B_PSK"
	check_psk "keyd:psk:$V0_ID" "$V0_PSK"
	# The v1 prefix, as the kernel asks; the key keeps the description asked for.
	id=$(rk_request "keyd:psk:NVMe1R01 $V1_HOST $V1_SUB") || fail "v1 prefix request failed"
	[ "$(rk_payload_hex "$id")" = "$V1_PSK" ] || fail "v1 prefix: wrong payload"
	assert_contains "$(keyctl rdescribe "$id")" ";keyd:psk:NVMe1R01 $V1_HOST $V1_SUB\$"
	keyctl unlink "$id" @s >/dev/null
	# A prefix with the other hash does not find the SHA-256 entry.
	rk_expect_error "not available" "keyd:psk:NVMe1R02 $V1_HOST $V1_SUB"
	grep -q "instantiated from $via" "$RK_LOG" || fail "not served by $via: $(cat "$RK_LOG")"
	grep -q "instantiated from $([ "$via" = keyd ] && echo store || echo keyd)" "$RK_LOG" &&
		fail "some requests were not served by $via"

	note "$via: a CA set by name gives its DER certificate"
	id=$(rk_request "keyd:ca:rkca-$RK_ID") || fail "CA request failed"
	[ "$(rk_payload_hex "$id")" = "$(cat "$T/ca.hex")" ] || fail "CA payload is not the DER"
	keyctl unlink "$id" @s >/dev/null

	note "$via: unknown identity: ENOKEY at once, negative for negative-timeout"
	local unknown="keyd:psk:NVMe1R01 $RK_HOST-$via-unknown $RK_SUB"
	t0=$(date +%s%N)
	rk_expect_error "Required key not available" "$unknown"
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -lt 2000 ] || fail "the unknown identity took $(((t1 - t0) / 1000000)) ms"
	n=$(grep -c "$RK_HOST-$via-unknown" "$RK_LOG")
	rk_expect_error "Required key not available" "$unknown"
	[ "$(grep -c "$RK_HOST-$via-unknown" "$RK_LOG")" = "$n" ] ||
		fail "the negative key did not answer the second request"
	sleep 3
	rk_expect_error "Required key not available" "$unknown"
	[ "$(grep -c "$RK_HOST-$via-unknown" "$RK_LOG")" -gt "$n" ] ||
		fail "the negative key did not expire after negative-timeout (2 s)"
	assert_contains "$(cat "$RK_LOG")" "no PSK with this identity is enrolled; negated for 2 s"

	note "$via: outside the policy: EKEYREJECTED"
	rk_expect_error "Key was rejected" "keyd:psk:$DENIED_ID"
	rk_expect_error "Key was rejected" "keyd:ca:other-$RK_ID"
	rk_expect_error "Key was rejected" "keyd:cert:nosuch-$RK_ID-$via"
	assert_contains "$(cat "$RK_LOG")" "not allowed by the policy"

	note "$via: an unprivileged requester gets only what the policy grants"
	nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups keyctl session - "$@"; }
	expect_status 0 nobody sh -c "keyctl request2 user 'keyd:ca:rkpub-$RK_ID' '$RK_CALLOUT' @s >/dev/null && keyctl pipe %user:keyd:ca:rkpub-$RK_ID | od -An -tx1 | tr -d ' \n'"
	[ "$(tail -n 1 <<<"$OUT")" = "$(cat "$T/pub.hex")" ] || fail "nobody did not get the CA set granted to it: $OUT"
	expect_status 1 nobody keyctl request2 user "keyd:ca:rkca-$RK_ID" "$RK_CALLOUT" @s
	assert_contains "$OUT" "rejected"
	expect_status 1 nobody keyctl request2 user "keyd:psk:$V1_ID" "$RK_CALLOUT" @s
	assert_contains "$OUT" "rejected"
	rk_assert_clean_log
}

start_keyd
run_checks keyd
stop_keyd
run_checks store
assert_no_transients
echo "ok"
