#!/bin/bash
# Seal and unseal through keyd/core/tpm.c (tests/lib/tpm-tool) on a private swtpm:
# round trip with a PCR policy and a PIN; after a PCR 16 extend unseal refuses with
# the PCR-mismatch message naming PCR 16 (exit 3) without sending Unseal; a wrong
# PIN gives the auth message (exit 4); no transient object or session is left in
# the TPM after any command.
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd tpm2_getcap tpm2_pcrextend sha256sum
TOOL="$KEYD_BUILD/tests/tpm-tool"
[ -x "$TOOL" ] || skip "$TOOL is not built (make SANITIZE=1 build-all)"
start_swtpm

no_handles() {
	assert_no_transients
	local s
	s=$(tpm2_getcap handles-loaded-session 2>&1) || fail "tpm2_getcap failed: $s"
	[ -z "$s" ] || fail "sessions left in the TPM: $s"
}

head -c 32 /dev/urandom >"$T/secret"
want=$(sha256sum "$T/secret" | cut -d' ' -f1)

note "no TPM: exit 5 and the TCTI named"
expect_status 5 env KEYD_TCTI="swtpm:path=$T/nonexistent.sock" "$TOOL" srk-name
assert_contains "$OUT" "nonexistent.sock"
assert_contains "$OUT" "swtpm running"

note "SRK"
expect_status 0 "$TOOL" srk-ensure
assert_contains "$OUT" "^created 000b[0-9a-f]{64}$"
no_handles

note "seal to sha256:16 with a PIN, unseal: same digest"
expect_status 0 env KEYD_PIN=2468 "$TOOL" seal --pcrs sha256:16 --pin --in "$T/secret" \
	--out "$T/pin"
no_handles
expect_status 0 env KEYD_PIN=2468 "$TOOL" count unseal "$T/pin" --pin
assert_contains "$OUT" "^$want$"
# SRK ReadPublic (once per connection) + PCR_Read, Load, StartAuthSession, PolicyPCR,
# PolicyAuthValue, Unseal, FlushContext
assert_contains "$OUT" "^commands 8$"
no_handles

note "seal to sha256:16,23 without a PIN"
expect_status 0 "$TOOL" seal --pcrs 16,23 --in "$T/secret" --out "$T/nopin"
expect_status 0 "$TOOL" count unseal "$T/nopin"
assert_contains "$OUT" "^$want$"
assert_contains "$OUT" "^commands 7$"
no_handles

note "wrong PIN: exit 4 and the auth message"
expect_status 4 env KEYD_PIN=1357 "$TOOL" unseal "$T/pin" --pin
assert_contains "$OUT" "wrong PIN"
assert_not_contains "$OUT" "$want"
no_handles
expect_status 4 env -u KEYD_PIN "$TOOL" unseal "$T/pin"
assert_contains "$OUT" "PIN is required"
no_handles

note "PCR 16 extended: exit 3, PCR 16 named, Unseal not sent"
tpm2_pcrextend 16:sha256=$(printf '%064x' 1)
expect_status 3 env KEYD_PIN=2468 "$TOOL" count unseal "$T/pin" --pin
assert_contains "$OUT" "the boot state does not match the policy this secret was sealed to: "
assert_contains "$OUT" "sealed to: PCR 16 \(sha256\) changed"
assert_contains "$OUT" "changed-mask 0x010000"
# ReadPublic of the SRK and PCR_Read only
assert_contains "$OUT" "^commands 2$"
no_handles
expect_status 3 "$TOOL" unseal "$T/nopin"
assert_contains "$OUT" "PCR 16 \(sha256\) changed"
no_handles

note "re-seal to the new state works; a bank that is not allocated is refused"
expect_status 0 "$TOOL" seal --pcrs sha256:16 --in "$T/secret" --out "$T/resealed"
expect_status 0 "$TOOL" unseal "$T/resealed"
assert_contains "$OUT" "^$want$"
no_handles
if ! tpm2_getcap pcrs | grep -q 'sha512: \[ 0'; then
	expect_status 1 "$TOOL" seal --pcrs sha512:16 --in "$T/secret" --out "$T/x"
	assert_contains "$OUT" "no PCR 16 allocated in the sha512 bank"
	no_handles
fi

note "a damaged blob is refused as such"
cp -r "$T/resealed" "$T/damaged"
# Flip the byte at offset 40 (writing a fixed value left the blob intact when the
# byte already had it: 1 run in 256).
python3 - "$T/damaged/priv" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(40)
    b = f.read(1)[0]
    f.seek(40)
    f.write(bytes([b ^ 0xff]))
PY
cmp -s "$T/resealed/priv" "$T/damaged/priv" && fail "the damaged copy equals the original"
expect_status 1 "$TOOL" unseal "$T/damaged"
assert_contains "$OUT" "damaged"
no_handles
echo "PASS: tpm-seal"
