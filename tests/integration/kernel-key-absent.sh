#!/bin/bash
# A TPM key placed as the kernel's own key ("key = K as tpm2", keyd-ctl key to-kernel)
# on a kernel WITHOUT the TPM2 asymmetric subtype of kernel-patches/0004 (the host's):
#  - provisioning reports the key's problem with the cause and both remedies (load the
#    module, or use 'as ref'), exits 7 (partial), and provisions the rest of the same
#    ring (the certificate, the reference of 'as ref,tpm2') and the other rings; no
#    reference stands in for the refused kernel key;
#  - keyd-ctl key to-kernel fails with the same sentence and exit 1, adding nothing;
#  - its usage errors exit 2;
#  - keyd-handshaked given an asymmetric key the kernel cannot sign with (a certificate's
#    public key) as its private key fails with EINVAL and says so.
# The VM scenario tests/vm/kernel-tpm-asym-tls.sh covers the kernel WITH the subtype.
source "$KEYD_TOP/tests/lib/harness.sh"
source "$KEYD_TOP/tests/lib/provision.sh"
start_swtpm
new_store
prov_setup

# The host kernel must lack the subtype for this scenario to mean anything.
if grep -qi "tpm2" /proc/keys 2>/dev/null || lsmod 2>/dev/null | grep -qi "asym.*tpm\|tpm.*asym"; then
	skip "this kernel seems to have a TPM2 asymmetric key subtype loaded"
fi

ctl key create kk --alg ec-p256 >/dev/null
ctl key create kr --alg ec-p256 >/dev/null
ctl csr kk --subject "/CN=kk-$RUN_ID" --out "$T/kk.csr"
prov_ca kca
openssl x509 -req -in "$T/kk.csr" -CA "$T/kca.pem" -CAkey "$T/kca.key" -CAcreateserial \
	-days 2 -out "$T/kk.pem" 2>/dev/null
ctl ca add "$T/kca.pem" --set kca >/dev/null
ctl cert add kk "$T/kk.pem" >/dev/null
KR=keys-$RUN_ID TR=trust-$RUN_ID
prov_policy 50-kernel-key <<EOF
[keyring $KR]
cert = kk as user
key = kk as tpm2
key = kr as ref,tpm2
link = session
seal = closed

[keyring $TR]
ca-set = kca as user
link = session
seal = closed
EOF

note "provisioning: the kernel key is refused with the cause, the rest goes in"
provision
echo "$OUT"
[ "$RC" = 7 ] || fail "expected exit 7 (partial), got $RC"
assert_contains "$OUT" "key 'kk'.*the kernel has no TPM2 asymmetric key subtype"
assert_contains "$OUT" "load the module from kernel-patches/0004 or use 'as ref'"
assert_contains "$OUT" "key 'kr'.*the kernel has no TPM2 asymmetric key subtype"
ring=$(ring_serial "keyd:$KR")
[ -n "$ring" ] || fail "keyd:$KR was not provisioned (a key's problem must not stop the ring)"
keys=$(ring_keys "$ring")
echo "$keys"
assert_contains "$keys" "^user:keyd:cert:kk$"
assert_contains "$keys" "^user:keyd:key:kr$"
assert_not_contains "$keys" "asymmetric"
assert_not_contains "$keys" "keyd:key:kk"
[ "$(keyctl pipe "$(keyctl search "$ring" user keyd:key:kr)")" = "keyd:kr" ] ||
	fail "the 'as ref' reference of kr is not 'keyd:kr'"
[ -n "$(ring_serial "keyd:$TR")" ] || fail "keyd:$TR was not provisioned"

provision --json
[ "$RC" = 7 ] || fail "--json: expected exit 7, got $RC"
python3 - "$OUT" <<'PY' || fail "the status JSON does not name the problem: $OUT"
import json, sys
d = json.loads(sys.argv[1])
probs = [p for p in d["problems"] if p["entry"] == "key 'kk'"]
assert probs and "no TPM2 asymmetric key subtype" in probs[0]["message"], probs
PY
assert_no_transients

note "keyd-ctl key to-kernel: the same cause, exit 1, nothing added"
before=$(keyctl rlist @s | wc -w)
expect_status 1 keyd-ctl --root "$STORE" key to-kernel kk --keyring @s
echo "$OUT"
assert_contains "$OUT" "key 'kk': cannot add it to keyring @s as a kernel TPM2 key: the kernel has no TPM2 asymmetric key subtype"
assert_contains "$OUT" "kernel-patches/0004"
[ "$(keyctl rlist @s | wc -w)" = "$before" ] || fail "keyd-ctl key to-kernel linked something"
expect_status 1 keyd-ctl --root "$STORE" --json key to-kernel kk
assert_contains "$OUT" "no TPM2 asymmetric key subtype"

note "keyd-handshaked: an asymmetric key the kernel cannot sign with is refused with the cause"
HS="$KEYD_BUILD/keyd-handshaked"
if [ -x "$HS" ]; then
	openssl x509 -in "$T/kca.pem" -outform DER -out "$T/kca.der"
	openssl x509 -in "$T/kk.pem" -outform DER -out "$T/kk.der"
	PUB=$(keyctl padd asymmetric "" @s <"$T/kca.der") || fail "the host kernel refuses an RSA certificate"
	CERT=$(keyctl padd user "kk-cert-$RUN_ID" @s <"$T/kk.der")
	PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	openssl s_server -accept "127.0.0.1:$PORT" -naccept 1 -tls1_3 -cert "$T/kca.pem" \
		-key "$T/kca.key" </dev/null >"$T/s_server.log" 2>&1 &
	track_pid $!
	for _ in $(seq 50); do grep -q "ACCEPT" "$T/s_server.log" && break; sleep 0.1; done
	expect_status 1 "$HS" --test-handshake --x509 --connect "127.0.0.1:$PORT" \
		--cert-serial "$CERT" --key-serial "$PUB" --ca-keyring "$(ring_serial "keyd:$TR")"
	echo "$OUT"
	assert_contains "$OUT" "EINVAL"
	assert_contains "$OUT" "private key $PUB is an asymmetric key the kernel cannot sign with"
	keyctl unlink "$PUB" @s >/dev/null
	keyctl unlink "$CERT" @s >/dev/null
else
	note "keyd-handshaked is not built: case skipped"
fi

note "keyd-ctl key to-kernel: usage and lookup errors"
expect_status 1 keyd-ctl --root "$STORE" key to-kernel nosuchkey
assert_contains "$OUT" "no key 'nosuchkey' in the store"
expect_status 2 keyd-ctl --root "$STORE" key to-kernel
expect_status 2 keyd-ctl --root "$STORE" key to-kernel kk extra
expect_status 2 keyd-ctl --root "$STORE" key to-kernel -- -bad
expect_status 1 keyd-ctl --root "$STORE" key to-kernel kk --keyring "no-such-ring-$RUN_ID"
assert_contains "$OUT" "no such keyring"
expect_status 0 keyd-ctl --root "$STORE" key to-kernel --help
assert_contains "$OUT" "Usage: keyd-ctl key to-kernel NAME"
echo "ok"
