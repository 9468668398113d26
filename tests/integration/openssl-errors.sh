#!/bin/bash
# keyd.so failing cleanly: a peer the policy grants no key gets keyd's permission
# error; an unknown key and a malformed keyd: URI are named as such; with keyd
# stopped, openssl fails at once with the provider's reason (no hang, no crash:
# exit status 1, not a signal), for pkeyutl and for a TLS client, and with
# keyd.so in openssl.cnf the commands that use no keyd key still work.
source "$KEYD_TOP/tests/lib/harness.sh"
require_root
require_cmd setpriv
source "$KEYD_TOP/tests/lib/openssl-provider.sh"

note "a peer without a [signing] grant (uid 65534) gets a permission error"
# uid 65534 may not be able to read the build tree (a clone in a 0700 directory):
# it gets keyd.so and the digest from a world-readable directory of its own.
PUBDIR=$(mktemp -d /tmp/keyd-ossl-pub.XXXXXX)
trap 'rm -rf "$PUBDIR"; _cleanup' EXIT
chmod 0755 "$PUBDIR"
cp "$KEYD_BUILD/keyd.so" digest.bin "$PUBDIR/"
chmod 0644 "$PUBDIR/keyd.so" "$PUBDIR/digest.bin"
expect_status 1 env OPENSSL_MODULES="$PUBDIR" setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	openssl pkeyutl -sign $PROV -inkey keyd:host-ec -in "$PUBDIR/digest.bin" -out /dev/null
assert_contains "$OUT" "keyd's policy does not grant this key to the caller"
assert_contains "$OUT" "permission denied: uid 65534 may not read key 'host-ec'"
assert_contains "$(cat "$T/keyd.log")" "uid=65534: read key 'host-ec' refused: no \[signing\] grant"

note "an unknown key (granted by the glob) and a malformed URI"
expect_status 1 openssl pkeyutl -sign $PROV -inkey keyd:host-none -in digest.bin -out /dev/null
assert_contains "$OUT" "no such key in keyd's store"
assert_contains "$OUT" "no key 'host-none' in the store"
expect_status 1 openssl pkeyutl -sign $PROV -inkey 'keyd:../etc/x' -in digest.bin -out /dev/null
assert_contains "$OUT" "not a keyd:<name> URI"

note "keyd stopped: openssl fails fast with the provider's reason"
stop_keyd
for cmd in "openssl pkeyutl -sign $PROV -inkey keyd:host-ec -in digest.bin -out /dev/null" \
	"openssl s_client $PROV -key keyd:host-ec -cert host-ec.pem -unix $T/none.sock"; do
	start=$(date +%s%N)
	set +e
	OUT=$(timeout 20 $cmd </dev/null 2>&1)
	rc=$?
	set -e
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "$rc" = 1 ] || fail "'$cmd' exited with $rc (want 1; 124 = hang, >128 = signal): $OUT"
	[ "$ms" -lt 3000 ] || fail "'$cmd' took $ms ms to fail"
	assert_contains "$OUT" "keyd is not reachable"
	assert_contains "$OUT" "cannot connect to keyd at '$KEYD_SOCK'"
	echo "failed in $ms ms"
done

note "keyd stopped: with keyd.so in openssl.cnf, commands that use no keyd key still work"
d=$(OPENSSL_CONF=keyd-openssl.cnf openssl dgst -sha256 digest.bin 2>&1) || fail "dgst: $d"
assert_contains "$d" "SHA2-256(digest.bin)="
OPENSSL_CONF=keyd-openssl.cnf openssl pkeyutl -sign -inkey ca.key -in digest.bin -out ca.sig ||
	fail "pkeyutl with a key in a file failed while keyd.so is loaded and keyd stopped"
openssl pkeyutl -verify -inkey ca.key -in digest.bin -sigfile ca.sig >/dev/null ||
	fail "the file key's signature does not verify"
echo "ok"
