#!/bin/bash
# A "kernel =" ring that exists is updated in place, never replaced: the same
# keyring serial after every pass, readable keys updated in place (same serials).
# The host kernel has no 'psk' key type, so PSKs bound for a kernel ring are each
# reported, naming the missing nvme-keyring module, and the rest is provisioned
# (exit 7). The real .nvme with psk keys is covered in the 6.12 VM scenario; here a
# keyring the test makes ("_keyd-test-...") stands in for a kernel-made one.
source "$KEYD_TOP/tests/lib/harness.sh"
source "$KEYD_TOP/tests/lib/provision.sh"
require_root
require_cmd jq
start_swtpm
new_store
prov_setup

if keyctl add psk "keyd-probe-$RUN_ID" x @s >/dev/null 2>&1; then
	skip "this kernel has the psk key type: the VM scenario covers it"
fi
KR="_keyd-test-$RUN_ID"
KRS=$(keyctl newring "$KR" @s)
ctl psk add --hostnqn nqn.2014-08.org.example:kr-$RUN_ID --subnqn nqn.2014-08.org.example:s \
	--generate >/dev/null
prov_ca krca
ctl ca add "$T/krca.pem" --set trust >/dev/null
prov_policy 50-test <<EOF
[keyring kr-$RUN_ID]
kernel = $KR
ca-set = trust as user
psk = all
item-perm = possessor:view,read,search,setattr user:view,read,search
seal = open
EOF

provision --json
[ "$RC" = 7 ] || fail "exit $RC, want 7 (the PSK cannot go in): $OUT $ERR"
jq -e --arg krs "$KRS" '
	(.rings[0] | .kernel and .status == "provisioned" and (.serial | tostring) == $krs and
		(.keys | length) == 1 and .keys[0].type == "user") and
	(.problems | length) == 1 and .problems[0].error == "not-supported-by-kernel-or-no-tpm" and
	(.problems[0].message | contains("key type (the nvme-keyring module"))' \
	<<<"$OUT" >/dev/null || fail "unexpected state: $OUT"
assert_contains "$ERR" "psk [0-9a-f]{16} .*the kernel has no 'psk' key type .*modprobe nvme-keyring"
K1=$(keyctl rlist "$KRS")
[ "$(key_perm "$K1")" = 2b0b0000 ] || fail "item perm $(key_perm "$K1")"
note "the PSK was refused with the module named; the CA went in place into $KR"

provision --json
[ "$RC" = 7 ] || fail "second pass: exit $RC"
[ "$(ring_serial "$KR")" = "$KRS" ] || fail "the kernel ring was replaced"
[ "$(keyctl rlist "$KRS")" = "$K1" ] || fail "the CA key was not updated in place: $(keyctl rlist "$KRS")"
note "second pass: same ring $KRS, same key $K1 (updated in place)"
assert_no_transients

# A missing kernel ring with if-absent = fail: the ring fails, clearly.
prov_policy 50-test <<EOF
[keyring kr-$RUN_ID]
kernel = _keyd-test-missing-$RUN_ID
ca-set = trust
seal = open
EOF
provision
[ "$RC" = 1 ] || fail "a missing kernel ring (if-absent = fail): exit $RC, want 1: $OUT"
assert_contains "$OUT" "the kernel has no keyring '_keyd-test-missing-$RUN_ID'; set 'if-absent = create'"
