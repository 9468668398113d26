#!/bin/bash
# Hostile upcalls: descriptions and callout data with shell metacharacters,
# newlines and escapes, 4 KiB lengths, invalid UTF-8, and forged key ids. Each is
# rejected (EKEYREJECTED) or refused cleanly: nothing runs, nothing is left under
# construction, the callout reports no sanitizer error, and a forged key id
# leaves the key it names untouched. The policy here allows every "keyd:"
# description, so the parser itself is what refuses them.
source "$KEYD_TOP/tests/lib/harness.sh"
source "$KEYD_TOP/tests/lib/daemon.sh"
source "$KEYD_TOP/tests/lib/request-key.sh"

rk_setup "[request-key]
allow user \"keyd:*\" uid=0
negative-timeout = 5"
PWN="$T/pwned"
start_keyd

rejected() { # DESC [CALLOUT]
	rk_expect_error "Key was rejected" "$@"
}

note "descriptions"
rejected "keyd:cert:\$(touch $PWN)-$RK_ID"
rejected "keyd:cert:\`touch $PWN\`-$RK_ID"
rejected "keyd:cert:a;touch $PWN;-$RK_ID"
rejected "keyd:cert:a|touch $PWN&-$RK_ID"
rejected "keyd:cert:'\"-$RK_ID"
rejected "keyd:psk:NVMe1R01 nqn.a;touch $PWN nqn.b-$RK_ID"
rejected $'keyd:cert:a\nb-'"$RK_ID"
rejected $'keyd:cert:a\x1b[2Jb-'"$RK_ID"
rejected $'keyd:cert:\xff\xfe\xc3\x28-'"$RK_ID"
rejected "keyd:cert:../../../etc/shadow-$RK_ID"
rejected "keyd:cert:%k %d %c %%-$RK_ID"
long=$(head -c 4000 /dev/zero | tr '\0' 'a')
rejected "keyd:cert:$long-$RK_ID"
rejected "keyd:psk:NVMe1R01 nqn.$long nqn.b-$RK_ID"
# The kernel's own limit: a description of 4096 bytes never reaches us.
expect_status 1 rk_request "keyd:cert:$(head -c 4086 /dev/zero | tr '\0' 'a')" "$RK_CALLOUT"

note "callout data"
rejected "keyd:cert:$RK_ID-x" "timeout=1;touch $PWN"
rejected "keyd:cert:$RK_ID-x" "\$(touch $PWN)"
rejected "keyd:cert:$RK_ID-x" $'timeout=5\ntimeout=6'
rejected "keyd:cert:$RK_ID-x" $'\xff\xfe'
rejected "keyd:cert:$RK_ID-x" "timeout=99999999999999999999"
rejected "keyd:cert:$RK_ID-x" "$(head -c 2000 /dev/zero | tr '\0' 'b')"
rejected "keyd:cert:$RK_ID-x" "$(head -c 4000 /dev/zero | tr '\0' 'b')"
# A valid request for something absent is negated, not rejected: the parser passed.
rk_expect_error "Required key not available" "keyd:cert:$RK_ID-y" "timeout=5"

[ ! -e "$PWN" ] || fail "a metacharacter was interpreted"
if awk -v id="$RK_ID" 'index($0, id) && substr($3, 3, 1) == "U"' /proc/keys | grep -q .; then
	fail "a key is still under construction"
fi

note "forged key ids"
victim=$(keyctl add user "victim-$RK_ID" "payload" @s)
RK="$KEYD_BUILD/keyd-request-key --config $KEYD_CONF --log-file /dev/stderr"
for k in "$victim" 1 2147483647; do
	expect_status 1 $RK "$k" user "keyd:cert:x" "" 0 0 0 0 0
	assert_contains "$OUT" "cannot assume the authority"
done
[ "$(keyctl pipe "$victim")" = payload ] || fail "the forged key id changed the key"
for bad in -1 0 0x10 12a 99999999999; do
	expect_status 2 $RK "$bad" user "keyd:cert:x" "" 0 0 0 0 0
	assert_contains "$OUT" "bad command line|invalid option"
done
expect_status 2 $RK "$victim" user "keyd:cert:x" ""
expect_status 2 $RK --no-such-option "$victim" user "keyd:cert:x" "" 0 0 0 0 0
[ "$(keyctl pipe "$victim")" = payload ] || fail "a bad command line changed the key"

note "debug mode never touches the kernel"
expect_status 1 $RK --debug "$victim" user "keyd:cert:\$(x)" "" 0 0 0 0 0
assert_contains "$OUT" "would reject key $victim"
[ "$(keyctl pipe "$victim")" = payload ] || fail "--debug changed the key"

rk_assert_clean_log
grep -q 'AddressSanitizer\|runtime error' "$T/keyd.log" && fail "keyd reported a sanitizer error"
echo "ok"
