# Setup for the keyd.so scenarios (tests/integration/openssl-*.sh); source after
# harness.sh. Makes at run time: a private swtpm, a store with TPM keys host-ec
# (ECDSA P-256) and host-rsa (RSA-2048), a throwaway CA, the keys' certificates
# from keyd-ctl csr signed by that CA and enrolled, a policy granting both keys
# to root, and a private keyd serving them. keyd.so is found through
# OPENSSL_MODULES=$KEYD_BUILD; $PROV holds the -provider options, and
# keyd-openssl.cnf activates keyd.so and the default provider (OPENSSL_CONF).

[ -e "$KEYD_BUILD/keyd.so" ] || skip "keyd.so is not built ($KEYD_BUILD/keyd.so)"
require_cmd openssl keyd-ctl
export OPENSSL_MODULES="$KEYD_BUILD"
PROV="-provider keyd -provider default"
HOST_KEYS="host-ec host-rsa"

start_swtpm
new_store
source "$KEYD_TOP/tests/lib/daemon.sh"
cd "$T"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=keyd test CA" -keyout ca.key -out ca.pem 2>/dev/null
ctl ca add ca.pem --set test >/dev/null 2>&1
ctl key create host-ec --alg ec-p256 >/dev/null
ctl key create host-rsa --alg rsa2048 >/dev/null
for k in $HOST_KEYS; do
	ctl csr "$k" --subject "/CN=$k.keyd.test/O=keyd test" --out "$k.csr" >/dev/null
	openssl x509 -req -in "$k.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-out "$k.pem" 2>/dev/null
	ctl cert add "$k" "$k.pem" >/dev/null 2>&1
done
# A server certificate from the same CA, key in a file (the server is not under test).
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key \
	-subj "/CN=server.keyd.test" -out srv.csr 2>/dev/null
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
	-out srv.pem 2>/dev/null

write_policy signing "[signing]
grant key host-* to uid=0"
write_keyd_conf
start_keyd

# keyd.so activated from a configuration file, as docs/openssl-provider.md shows.
cat >keyd-openssl.cnf <<'EOF'
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
keyd = keyd_sect
default = default_sect
[keyd_sect]
activate = 1
[default_sect]
activate = 1
EOF

# A SHA-256 digest to sign.
echo 'keyd provider test' | openssl dgst -sha256 -binary >digest.bin
