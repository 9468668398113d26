#!/bin/bash
# A PCR changes between enrollment and provisioning: the PSKs sealed to it are
# reported with the PCR named, everything else is provisioned (the other PSK, the
# CA ring), and the exit status says partial (7). A PSK sealed with a PIN is
# reported (provisioning cannot ask) and does not stop the rest. Also measures the
# TPM commands a pass costs: fixed, and per unsealed PSK.
source "$KEYD_TOP/tests/lib/harness.sh"
source "$KEYD_TOP/tests/lib/provision.sh"
require_root
require_cmd tpm2_pcrextend jq
start_swtpm
new_store
prov_setup

H=nqn.2014-08.org.example:pcr-$RUN_ID
ctl psk add --hostnqn "$H" --subnqn nqn.2014-08.org.example:plain --generate >/dev/null
prov_ca pcrca
ctl ca add "$T/pcrca.pem" --set trust >/dev/null

NV=nvme-$RUN_ID TR=trust-$RUN_ID
prov_policy 50-test <<EOF
[keyring $TR]
ca-set = trust
link = session
seal = closed

[keyring $NV]
kernel = .nvme
if-absent = create
link = session
psk = all
seal = open
EOF

# TPM cost of a pass, from keyd's own count (keyd_tpm_command_count).
tpm_cmds() { jq -r '"\(.tpm_commands) \(.unsealed)"' <<<"$1"; }
provision --json
[ "$RC" = 0 ] || fail "pass 1 exited $RC: $OUT"
read -r C1 U1 < <(tpm_cmds "$OUT")
ctl psk add --hostnqn "$H" --subnqn nqn.2014-08.org.example:plain2 --generate >/dev/null
provision --json
[ "$RC" = 0 ] || fail "pass 2 exited $RC: $OUT"
read -r C2 U2 < <(tpm_cmds "$OUT")
ctl psk add --hostnqn "$H" --subnqn nqn.2014-08.org.example:pcr16 --generate --pcrs sha256:16 >/dev/null
provision --json
[ "$RC" = 0 ] || fail "pass 3 exited $RC: $OUT"
read -r C3 U3 < <(tpm_cmds "$OUT")
[ "$U1" = 1 ] && [ "$U2" = 2 ] && [ "$U3" = 3 ] || fail "unsealed $U1 $U2 $U3, want 1 2 3"
PER=$((C2 - C1)) FIXED=$((C1 - PER)) PERPCR=$((C3 - C2))
note "TPM commands per pass: fixed $FIXED, per PSK $PER (no PCR policy), $PERPCR (PCR policy)"
# Fixed: the SRK ReadPublic, and the StartAuthSession and FlushContext of the one salted
# session that serves every PSK of the pass; per PSK: Load, Unseal, FlushContext (the
# PCR-sealed one adds PolicyPCR and its own session's two).
[ "$FIXED" -le 3 ] || fail "a pass costs $FIXED fixed TPM commands, want at most 3"
[ "$PER" -le 3 ] && [ "$PERPCR" -le 7 ] || fail "too many TPM commands per PSK: $PER / $PERPCR"
assert_no_transients

KEYD_PIN=1234 ctl psk add --hostnqn "$H" --subnqn nqn.2014-08.org.example:pin --generate --pin >/dev/null
ctl psk add --hostnqn "$H" --subnqn nqn.2014-08.org.example:pcr16b --generate --pcrs sha256:16 >/dev/null
provision
[ "$RC" = 7 ] || fail "with a PIN-sealed PSK: exit $RC, want 7: $OUT"
assert_contains "$OUT" "pin.*sealed with a PIN, which provisioning cannot ask for"
[ "$(keyctl rlist "$(ring_serial "keyd:$NV")" | wc -w)" = 4 ] || fail "the 4 other PSKs are not all in"

tpm2_pcrextend 16:sha256=$(printf '%064d' 1)
provision --json
[ "$RC" = 7 ] || fail "after the PCR change: exit $RC, want 7 (partial): $OUT"
jq -e --arg nv "$NV" --arg tr "$TR" '
	.result == "partial" and
	([.problems[] | select(.error == "pcr-mismatch")] | length == 2 and
		all(.[]; (.message | contains("PCR 16 (sha256) changed")) and
			(.entry | contains("pcr16")))) and
	(.rings[] | select(.name == $tr) | .status == "provisioned") and
	(.rings[] | select(.name == $nv) | .status == "provisioned" and
		([.keys[].description | split(" ")[2]] | sort) ==
		["nqn.2014-08.org.example:plain", "nqn.2014-08.org.example:plain2"])' \
	<<<"$OUT" >/dev/null || fail "unexpected state: $OUT"# The same through the human output and the log: PCR named, cause and remedy.
provision
[ "$RC" = 7 ] || fail "exit $RC, want 7"
assert_contains "$OUT" "pcr16.*PCR 16 \(sha256\) changed since the key was sealed; if the change is expected, enroll it again"
assert_contains "$OUT" "result: partial"
NVS=$(ring_serial "keyd:$NV")
[ "$(ring_keys "$NVS" | wc -l)" = 2 ] || fail "keyd:$NV should hold the 2 unaffected PSKs: $(ring_keys "$NVS")"
[ "$(ring_keys "$(ring_serial "keyd:$TR")" | grep -c .)" = 2 ] || fail "the CA ring is not complete"
assert_no_transients
note "PCR 16 changed: both affected PSKs named, the rest provisioned, exit 7"
