#!/bin/bash
# keyd --test-config: errors as "FILE:LINE: reason" and exit 1 for a bad policy or
# keyd.conf; a summary of rings and rules and exit 0 for a good one. Usage errors
# of the command line exit 2. Needs no TPM and touches no keyring.
source "$KEYD_TOP/tests/lib/harness.sh"
command -v keyd >/dev/null || skip "keyd is not built"
new_store
unset KEYD_ROOT KEYD_TCTI
POLICY="$T/policy"
mkdir -m 0700 "$POLICY"
CONF="$T/keyd.conf"
printf 'store = %s\npolicy-dir = %s\n' "$STORE" "$POLICY" >"$CONF"
chmod 0600 "$CONF"

cp "$KEYD_TOP/policy/default.policy" "$POLICY/10-default.policy"
cp "$KEYD_TOP/policy/nvme-tls.policy" "$POLICY/50-nvme-tls.policy"
cp "$KEYD_TOP/policy/nfs-mtls.policy" "$POLICY/50-nfs-mtls.policy"
chmod 0600 "$POLICY"/*.policy
expect_status 0 keyd --config "$CONF" --test-config
assert_contains "$OUT" "4 keyrings, in provisioning order"
assert_contains "$OUT" "nvme +\.nvme \(kernel\), seal open"
assert_contains "$OUT" "nfs-peers +keyd:nfs-peers, seal chain:nfs-trust"
assert_contains "$OUT" "request-key rules?, [0-9]+ signing grants?"
assert_contains "$OUT" "configuration ok"
expect_status 0 keyd --config "$CONF" --test-config --json
jq -e '(.keyrings | length) == 4 and .request_key_rules > 0' <<<"$OUT" >/dev/null ||
	fail "bad JSON: $OUT"
note "the shipped policies pass"

printf '[keyring bad]\nlink = session\nseal = sideways\nfrobnicate = 1\n' >"$POLICY/60-bad.policy"
chmod 0600 "$POLICY/60-bad.policy"
expect_status 1 keyd --config "$CONF" --test-config
assert_contains "$OUT" "60-bad.policy:3: "
assert_contains "$OUT" "60-bad.policy:4: "
assert_not_contains "$OUT" "configuration ok"
rm "$POLICY/60-bad.policy"
note "a bad policy: every error as FILE:LINE, exit 1"

cp "$POLICY/10-default.policy" "$POLICY/70-writable.policy"
chmod 0620 "$POLICY/70-writable.policy"
expect_status 1 keyd --config "$CONF" --test-config
assert_contains "$OUT" "70-writable.policy"
rm "$POLICY/70-writable.policy"

printf 'store = %s\npolicy-dir = %s\nno-such-key = 1\n' "$STORE" "$POLICY" >"$CONF"
expect_status 1 keyd --config "$CONF" --test-config
assert_contains "$OUT" "keyd.conf:3: "
note "a bad keyd.conf: FILE:LINE, exit 1"

printf 'store = %s\npolicy-dir = %s/none\n' "$STORE" "$T" >"$CONF"
expect_status 1 keyd --config "$CONF" --test-config
assert_contains "$OUT" "policy directory '$T/none' does not exist"

expect_status 2 keyd --config "$CONF" provision
assert_contains "$OUT" "needs --once"
expect_status 2 keyd --config "$CONF" frobnicate
expect_status 2 keyd --no-such-option
expect_status 0 keyd --help
assert_contains "$OUT" "provision --once"
