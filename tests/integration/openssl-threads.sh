#!/bin/bash
# keyd.so from several threads of one program at once (provider.h: any number of
# threads may use one provider context). 8 threads start together, each loads
# keyd:host-ec or keyd:host-rsa through OSSL_STORE (the provider's first use:
# its library context and its connection to keyd are made while they race) and
# signs messages of its own; every signature must verify with the key's public
# part, so a reply handed to the wrong thread would fail. keyd served them all.
source "$KEYD_TOP/tests/lib/harness.sh"
source "$KEYD_TOP/tests/lib/openssl-provider.sh"
[ -x "$KEYD_BUILD/tests/sign-loop" ] || skip "tests/sign-loop is not built"

for k in host-ec host-rsa; do
	n=20
	[ "$k" = host-rsa ] && n=5
	note "$k: 8 threads x $n signatures, each verified"
	before=$(grep -c "sign with key '$k'" "$T/keyd.log" || true)
	out=$("$KEYD_BUILD/tests/sign-loop" --threads 8 "keyd:$k" "$n" keyd default 2>&1) ||
		fail "threads signing with keyd:$k failed: $out"
	assert_contains "$out" "^$((8 * n)) "
	after=$(grep -c "sign with key '$k'" "$T/keyd.log" || true)
	[ $((after - before)) -ge $((8 * n)) ] ||
		fail "keyd logged $((after - before)) signatures with $k, want at least $((8 * n))"
done
echo "ok"
