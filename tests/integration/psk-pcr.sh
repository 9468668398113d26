#!/bin/bash
# A PSK sealed to PCR 16 unseals while PCR 16 is unchanged; after tpm2_pcrextend,
# psk show --unseal-check names PCR 16 and exits 3. A PSK with a PIN: the right PIN
# unseals, a wrong one exits 4. No transient object is left after any command.
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd tpm2_getcap tpm2_pcrextend
start_swtpm
new_store

H=nqn.2014-08.org.example:pcr-host S=nqn.2014-08.org.example:pcr-sub
ctl psk add --hostnqn $H --subnqn $S --generate --pcrs sha256:16 >/dev/null
assert_no_transients
expect_status 0 ctl psk show --hostnqn $H --subnqn $S --unseal-check
assert_contains "$OUT" "sealed to PCRs: +sha256:16"
assert_contains "$OUT" "unseal check: +ok"
assert_no_transients

tpm2_pcrextend 16:sha256=$(printf '%064d' 1)
expect_status 3 ctl psk show --hostnqn $H --subnqn $S --unseal-check
assert_contains "$OUT" "PCR 16 \(sha256\) changed"
assert_no_transients
note "after extending PCR 16: $OUT"
# Nothing secret is printed either way, and the export refuses too.
expect_status 3 ctl psk export --hostnqn $H --subnqn $S --i-understand-this-prints-a-secret
assert_not_contains "$OUT" "NVMeTLSkey"
assert_no_transients

H2=nqn.2014-08.org.example:pin-host
KEYD_PIN=correct-horse ctl psk add --hostnqn $H2 --subnqn $S --generate --hmac sha384 --pin >/dev/null
assert_no_transients
KEYD_PIN=correct-horse expect_status 0 ctl psk show --hostnqn $H2 --subnqn $S --unseal-check
assert_contains "$OUT" "unseal check: +ok"
assert_no_transients
KEYD_PIN=wrong expect_status 4 ctl psk show --hostnqn $H2 --subnqn $S --unseal-check
assert_contains "$OUT" "wrong PIN"
assert_no_transients
