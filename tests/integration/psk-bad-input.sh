#!/bin/bash
# Bad input to keyd-ctl psk gives one clear message naming the input (never the
# secret) and the right exit code: garbled and mistyped interchange strings, bad
# NQNs, secret-printing verbs without the flag, a damaged file in the store.
source "$KEYD_TOP/tests/lib/harness.sh"
source "$KEYD_TOP/tests/lib/vectors-psk.sh"
require_cmd tpm2_getcap
start_swtpm
new_store

H=nqn.2014-08.org.example:host S=nqn.2014-08.org.example:sub
add() { ctl psk add --hostnqn "$H" --subnqn "$S" "$@"; }

printf 'not a key\n' >"$T/garbled"
expect_status 1 add --key-file "$T/garbled"
assert_contains "$OUT" "the key in '$T/garbled' is invalid: not an NVMe TLS PSK interchange string"

printf '%s\n' "${VEC_K32_HH01%Z:}a:" >"$T/badcrc"
expect_status 1 add --key-file "$T/badcrc"
assert_contains "$OUT" "'$T/badcrc' is invalid: its CRC-32 does not match"
assert_not_contains "$OUT" "VRLbtn"

printf '%s\n' "${VEC_K32_HH01/-1:01:/-1:02:}" >"$T/badlen"
expect_status 1 add --key-file "$T/badlen"
assert_contains "$OUT" "key length does not fit its hash indicator"

printf '%s\n' "${VEC_K32_HH01/-1:01:/-2:01:}" >"$T/badver"
expect_status 1 add --key-file "$T/badver"
assert_contains "$OUT" "unknown version or hash indicator"

printf '%s\n' "${VEC_K32_HH01%:}" >"$T/nocolon"
expect_status 1 add --key-file "$T/nocolon"
assert_contains "$OUT" "'$T/nocolon' is invalid"

expect_status 1 add --key-file "$T/does-not-exist"
assert_contains "$OUT" "cannot read the key from '$T/does-not-exist'"

# --key on the command line: a warning about /proc, and a bad key is not echoed.
expect_status 2 add --key "${VEC_K32_HH01%Z:}a:"
assert_contains "$OUT" "visible to other users in /proc"
assert_contains "$OUT" "the key given with --key is invalid: its CRC-32"
assert_not_contains "$OUT" "VRLbtn"

expect_status 2 ctl psk add --hostnqn host.example --subnqn "$S" --generate
assert_contains "$OUT" "invalid --hostnqn 'host.example': an NQN starts with 'nqn.'"
long="nqn.$(printf 'a%.0s' $(seq 1 220))"
expect_status 2 ctl psk add --hostnqn "$H" --subnqn "$long" --generate
assert_contains "$OUT" "invalid --subnqn 'nqn.a+': an NQN is at most 223 bytes"
expect_status 2 ctl psk add --hostnqn "nqn.with space" --subnqn "$S" --generate
assert_contains "$OUT" "invalid --hostnqn 'nqn.with space'"
expect_status 2 add
assert_contains "$OUT" "exactly one of --key-file, --key and --generate"
expect_status 2 add --generate --pcrs sha256:99
assert_contains "$OUT" "invalid --pcrs 'sha256:99'"
[ ! -d "$STORE/psk" ] || [ -z "$(ls -A "$STORE/psk")" ] || fail "a refused add left files"

# A good entry, then the secret verbs without the flag.
add --generate >/dev/null
assert_no_transients
expect_status 2 ctl psk export --hostnqn "$H" --subnqn "$S"
assert_contains "$OUT" "only when asked with --i-understand-this-prints-a-secret"
expect_status 2 ctl psk derive --hostnqn "$H" --subnqn "$S"
assert_contains "$OUT" "only when asked with --i-understand-this-prints-a-secret"
expect_status 1 add --generate
assert_contains "$OUT" "already in the store as '[0-9a-f]{16}'.*keyd-ctl psk remove"
expect_status 2 ctl psk show not-an-id
assert_contains "$OUT" "'not-an-id' is not a PSK id"

# An import file with a garbled line names the line, not its content.
printf 'NVMe1R01 nqn.a nqn.b %s\n' "${VEC_K32_HH01%Z:}a:" >"$T/tls-keys"
expect_status 1 ctl psk import "$T/tls-keys"
assert_contains "$OUT" "'$T/tls-keys' line 1: its CRC-32 does not match"
assert_not_contains "$OUT" "VRLbtn"

# A damaged and a foreign file in psk/: reported by name, skipped, not deleted.
printf 'type = something-else\n' >"$STORE/psk/0123456789abcdef.meta"
chmod 600 "$STORE/psk/0123456789abcdef.meta"
printf 'junk\n' >"$STORE/psk/notes.txt"
chmod 600 "$STORE/psk/notes.txt"
expect_status 0 ctl psk list
assert_contains "$OUT" "0123456789abcdef.meta' is damaged or not keyd's"
assert_contains "$OUT" "NVMe1R01 $H $S "
[ -e "$STORE/psk/0123456789abcdef.meta" ] && [ -e "$STORE/psk/notes.txt" ] || fail "files were deleted"
expect_status 0 ctl psk remove --hostnqn "$H" --subnqn "$S"
[ -z "$(ls "$STORE/psk" | grep -v -e 0123456789abcdef.meta -e notes.txt)" ] || fail "remove left files"
assert_no_transients
