#!/bin/bash
# keyd-ctl tpm info [--json]: reports the TPM and the SRK without creating anything,
# and says whether the SRK is the one the store was enrolled with.
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd tpm2_getcap tpm2_evictcontrol tpm2_createprimary tpm2_flushcontext jq
command -v keyd-ctl >/dev/null || skip "keyd-ctl is not built"
start_swtpm
new_store

note "no TPM: exit 5 with the TCTI named"
expect_status 5 keyd-ctl --root "$STORE" --tcti "swtpm:path=$T/none.sock" tpm info
assert_contains "$OUT" "no TPM reachable at 'swtpm:path=$T/none.sock'"

note "fresh TPM, no store: SRK absent, and still absent afterwards"
rmdir "$STORE"
expect_status 0 ctl tpm info
assert_contains "$OUT" "^manufacturer: +IBM$"
assert_contains "$OUT" "^srk: +absent at 0x81000001"
assert_contains "$OUT" "^store: +no store at"
assert_contains "$OUT" "^pcr banks: +sha256 \(PCR 0-23\)$"
assert_contains "$OUT" "^lockout: +no$"
expect_status 0 ctl tpm info --json
jq -e '.srk.present == false and .srk.name == null and .store.state == "none" and
	(.curves | index("nist-p256")) != null and (.rsa_key_sizes | index(2048)) != null and
	.pcr_banks.sha256 == "0-23" and .lockout == false' <<<"$OUT" >/dev/null ||
	fail "unexpected JSON: $OUT"
expect_status 0 ctl tpm info
assert_contains "$OUT" "^srk: +absent"
[ ! -e "$STORE" ] || fail "tpm info created the store"
assert_no_transients

note "enrolled store: this SRK"
mkdir -m 0700 "$STORE"
expect_status 0 ctl key create k1 --alg ec-p256
expect_status 0 ctl tpm info
assert_contains "$OUT" "^srk: +present at 0x81000001, name 000b[0-9a-f]{64}$"
assert_contains "$OUT" "enrolled with this SRK"
expect_status 0 ctl --json tpm info
jq -e '.store.state == "pinned" and .store.srk_matches == true and
	.store.pinned_srk_name == .srk.name' <<<"$OUT" >/dev/null ||
	fail "unexpected JSON: $OUT"

note "SRK replaced: reported, exit 0 (a report), and other verbs refuse with exit 6"
tpm2_evictcontrol -Q -C o -c 0x81000001
tpm2_createprimary -Q -C o -G rsa2048 -c "$T/rsa.ctx" \
	-a 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda'
tpm2_evictcontrol -Q -C o -c "$T/rsa.ctx" 0x81000001
tpm2_flushcontext -t
expect_status 0 ctl tpm info
assert_contains "$OUT" "enrolled with ANOTHER SRK"
expect_status 0 ctl tpm info --json
jq -e '.store.srk_matches == false' <<<"$OUT" >/dev/null ||
	fail "unexpected JSON: $OUT"
expect_status 6 ctl key create k2 --alg ec-p256
assert_contains "$OUT" "not the one this store was enrolled with"
assert_no_transients
echo "PASS: ctl-tpm-info"
