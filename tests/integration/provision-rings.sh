#!/bin/bash
# keyd provision --once against the real kernel keyrings and a swtpm:
#  - the rings carry the policy's descriptions, permission masks and links;
#  - a closed ring refuses add and link with EPERM, also for root, and has no write bit;
#  - a chain: ring accepts a certificate signed by the enrolled (RSA) CA and the
#    kernel refuses one from an unknown CA;
#  - PSK payloads equal 'keyd-ctl psk derive', descriptions equal the identities;
#  - uid 65534 (setpriv) cannot read a PSK payload;
#  - a second pass replaces every generation (new serials, one link each, the old
#    ones gone) and --test-config summarises the policy.
# The host kernel has no 'psk' key type and no .nvme: the PSK ring uses
# 'if-absent = create' and user keys here, and the run says so; the psk-type path
# (keys of type psk in the kernel's .nvme) is covered in the 6.12 VM scenario.
source "$KEYD_TOP/tests/lib/harness.sh"
source "$KEYD_TOP/tests/lib/provision.sh"
require_root
require_cmd setpriv jq
start_swtpm
new_store
prov_setup

H=nqn.2014-08.org.example:host-$RUN_ID
S1=nqn.2014-08.org.example:sub1 S2=nqn.2014-08.org.example:sub2
ctl psk add --hostnqn "$H" --subnqn "$S1" --generate >/dev/null
ctl psk add --hostnqn "$H" --subnqn "$S2" --generate --hmac sha384 >/dev/null
ctl psk add --hostnqn "$H" --subnqn "$S1" --identity v0 --generate >/dev/null
prov_ca trustca
prov_ca otherca
ctl ca add "$T/trustca.pem" --set trust >/dev/null
prov_leaf trustca goodpeer
prov_leaf otherca badpeer

NV=nvme-$RUN_ID TR=trust-$RUN_ID PE=peers-$RUN_ID
prov_policy 50-test <<EOF
[keyring $NV]
kernel = .nvme
if-absent = create
link = session
psk = all
item-perm = possessor:view,read,search,setattr user:view,read,search
seal = open

[keyring $TR]
ca-set = trust as asymmetric,user
link = session
perm = possessor:view,read,search,link,setattr user:view,read,search
seal = closed

[keyring $PE]
link = session
seal = chain:$TR
EOF

expect_status 0 keyd --config "$CONF" --test-config
assert_contains "$OUT" "3 keyrings"
assert_contains "$OUT" "$TR +keyd:$TR, seal closed"
assert_contains "$OUT" "$PE +keyd:$PE, seal chain:$TR"
note "--test-config: ok"

provision
[ "$RC" = 0 ] || fail "provision exited $RC: $OUT"
assert_contains "$OUT" "result: ok"
# Never silent about the stand-in for .nvme.
assert_contains "$OUT" "warning: keyring '$NV': the kernel has no keyring '.nvme'"
assert_contains "$OUT" "uses its own keyring 'keyd:$NV' instead"
assert_contains "$OUT" "as 'user' keys because the kernel has no 'psk' key type"
note "the host kernel has no 'psk' key type: the PSKs went in as user keys in keyd:$NV (the psk-type path into .nvme is covered in the 6.12 VM)"
assert_no_transients

NVS=$(ring_serial "keyd:$NV") TRS=$(ring_serial "keyd:$TR") PES=$(ring_serial "keyd:$PE")
[ -n "$NVS" ] && [ -n "$TRS" ] && [ -n "$PES" ] || fail "rings not linked in the session: $(keyctl show @s)"

# Permission masks: the policy's, with write dropped for the closed ring.
[ "$(key_perm "$TRS")" = 3b0b0000 ] || fail "closed ring perm $(key_perm "$TRS"), want 3b0b0000"
[ "$(key_perm "$NVS")" = 3f0b0000 ] || fail "nvme ring perm $(key_perm "$NVS"), want the default 3f0b0000"
[ "$(key_perm "$PES")" = 3f0b0000 ] || fail "chain ring perm $(key_perm "$PES")"
for k in $(keyctl rlist "$NVS"); do
	[ "$(key_perm "$k")" = 2b0b0000 ] || fail "PSK key $k perm $(key_perm "$k"), want 2b0b0000"
done
note "names, masks and links as the policy says"

# The CA ring holds the CA as an asymmetric key and as a readable DER copy.
KEYS=$(ring_keys "$TRS")
assert_contains "$KEYS" "^asymmetric:trustca-$RUN_ID: "
assert_contains "$KEYS" "^user:keyd:ca:trust:[0-9a-f]{16}$"
USERCA=$(keyctl search "$TRS" user "$(grep '^user:' <<<"$KEYS" | cut -d: -f2-)")
cmp <(keyctl pipe "$USERCA") <(openssl x509 -in "$T/trustca.pem" -outform DER) ||
	fail "the user copy of the CA is not its DER"

# Closed: no write bit, so an add is refused by the mask (EACCES); and when root
# gives write back (it can: the possessor keeps setattr), the restriction still
# refuses every add and link with EPERM.
expect_status 1 keyctl add user "probe-$RUN_ID" data "$TRS"
assert_contains "$OUT" "Permission denied"
keyctl setperm "$TRS" 0x3f0b0000
PROBE=$(keyctl add user "probe-$RUN_ID" data @s)
expect_status 1 keyctl add user "probe-$RUN_ID" data "$TRS"
assert_contains "$OUT" "Operation not permitted"
expect_status 1 keyctl link "$PROBE" "$TRS"
assert_contains "$OUT" "Operation not permitted"
expect_status 1 keyctl padd asymmetric "" "$TRS" <"$T/goodpeer.der"
assert_contains "$OUT" "Operation not permitted"
expect_status 1 keyctl link "$PES" "$TRS"
assert_contains "$OUT" "Operation not permitted"
keyctl setperm "$TRS" 0x3b0b0000
keyctl unlink "$PROBE" @s >/dev/null
[ "$(ring_keys "$TRS")" = "$KEYS" ] || fail "the closed ring changed"
note "closed ring: add and link refused with EPERM as root"

# chain: the kernel checks the signature against the CA ring.
GOOD=$(keyctl padd asymmetric "" "$PES" <"$T/goodpeer.der") ||
	fail "the chain ring refused a certificate signed by the enrolled CA"
expect_status 1 keyctl padd asymmetric "" "$PES" <"$T/badpeer.der"
assert_contains "$OUT" "Key was rejected by service|Required key not available"
expect_status 1 keyctl add user "probe2-$RUN_ID" data "$PES"
note "chain ring: accepted $GOOD (enrolled CA), refused the unknown CA's certificate"

# PSKs: description = identity, payload = keyd-ctl psk derive.
N=0
while read -r id identity; do
	k=$(keyctl search "$NVS" user "$identity") || fail "no key for '$identity'"
	want=$(ctl psk derive "$id" --i-understand-this-prints-a-secret)
	got=$(keyctl pipe "$k" | od -An -v -tx1 | tr -d ' \n')
	[ "$got" = "$want" ] || fail "payload of '$identity' differs from psk derive"
	# Another user, in a session of its own (the test's session would make it a
	# possessor), cannot read it.
	set +e
	NOBODY=$(setpriv --reuid=65534 --regid=65534 --clear-groups keyctl session - \
		keyctl pipe "$k" 2>&1)
	nrc=$?
	set -e
	[ "$nrc" != 0 ] || fail "uid 65534 read the PSK payload of '$identity'"
	assert_contains "$NOBODY" "Permission denied|Required key not available"
	N=$((N + 1))
done < <(ctl psk list --json | jq -r '.[] | "\(.id) \(.identity)"')
[ "$N" = 3 ] || fail "expected 3 PSKs, checked $N"
[ "$(keyctl rlist "$NVS" | wc -w)" = 3 ] || fail "keyd:$NV holds $(keyctl rlist "$NVS" | wc -w) keys, want 3"
note "3 PSK payloads equal keyd-ctl psk derive; descriptions are the identities; uid 65534 cannot read them"

# JSON state names the rings and keys.
provision --json
[ "$RC" = 0 ] || fail "second pass exited $RC: $OUT"
jq -e --arg nv "$NV" '
	.result == "ok" and (.problems | length) == 0 and (.warnings | length) == 1 and
	(.rings[] | select(.name == $nv) |
		.substitute and .status == "provisioned" and .links == ["session"] and
		(.keys | length) == 3 and all(.keys[]; .type == "user"))' <<<"$OUT" >/dev/null ||
	fail "bad JSON state: $OUT"assert_no_transients

# The second pass replaced each generation: new serials, still exactly one link,
# and the old generations are gone.
NVS2=$(ring_serial "keyd:$NV") TRS2=$(ring_serial "keyd:$TR") PES2=$(ring_serial "keyd:$PE")
[ "$NVS2" != "$NVS" ] && [ "$TRS2" != "$TRS" ] && [ "$PES2" != "$PES" ] ||
	fail "the second pass did not make new generations"
sleep 1 # the kernel's key garbage collector unlinks invalidated keys shortly after
for old in "$NVS" "$TRS" "$PES"; do
	! keyctl rdescribe "$old" >/dev/null 2>&1 || fail "old generation $old still exists"
done
[ "$(ring_keys "$TRS2")" = "$KEYS" ] || fail "the new CA ring holds other keys"
note "second pass: new generations $NVS2 $TRS2 $PES2 replaced the old ones"
