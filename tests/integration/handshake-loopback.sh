#!/bin/bash
# keyd-handshaked's TLS half on loopback, without the kernel upcall: PSK and x509
# client handshakes (keys read from the session keyring) against gnutls-serv and
# openssl s_server, then data through the exported session keys (kTLS when the
# kernel has it, otherwise keyd's software record layer over the same parameters),
# and the failure statuses the kernel would be told.
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd keyctl gnutls-serv openssl xxd base64
HS="$KEYD_BUILD/keyd-handshaked"
[ -x "$HS" ] || fail "$HS is not built"

# Start a server on a random free port; retry when the port is taken.
# start_server NAME CMD... (the literal PORT in CMD is replaced); sets PORT and SPID.
start_server() {
	local name=$1; shift
	for _ in 1 2 3 4 5 6 7 8; do
		PORT=$((20000 + RANDOM % 40000))
		local args=("${@//PORT/$PORT}")
		"${args[@]}" >"$T/$name.log" 2>&1 &
		SPID=$!
		track_pid "$SPID"
		for _ in $(seq 50); do
			kill -0 "$SPID" 2>/dev/null || break
			(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
			sleep 0.1
		done
		kill "$SPID" 2>/dev/null || true
	done
	fail "$name would not start: $(tail -n 3 "$T/$name.log")"
}
stop_server() { kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; }

nqnh=nqn.2014-08.org.example.host
nqns=nqn.2014-08.org.example.sub
psk_identity() { echo "NVMe1R$1 $nqnh $nqns $(head -c "$2" /dev/urandom | base64 -w0)"; }

K256=$(head -c 32 /dev/urandom | xxd -p -c 64)
ID256=$(psk_identity 01 32)
S256=$(xxd -r -p <<<"$K256" | keyctl padd user "$ID256" @s)
KBAD=$(head -c 32 /dev/urandom | xxd -p -c 64)

note "PSK SHA-256 against gnutls-serv (echo)"
echo "$ID256:$K256" >"$T/psk.txt"
start_server gnutls-serv gnutls-serv --echo --noticket -p PORT --pskpasswd "$T/psk.txt" \
	--priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3:+PSK:+ECDHE-PSK:+DHE-PSK'
expect_status 0 "$HS" --test-handshake --connect "127.0.0.1:$PORT" --psk-serial "$S256" \
	--send $'ping gnutls\n' --expect $'ping gnutls\n'
assert_contains "$OUT" "status=ok"
assert_contains "$OUT" "cipher=TLS_AES_128_GCM_SHA256"
assert_contains "$OUT" "identity=NVMe1R01 $nqnh"
assert_contains "$OUT" "ktls=(kernel|soft)"
KTLS=$(grep -o 'ktls=.*' <<<"$OUT")
note "session keys went to: $KTLS"
stop_server

note "PSK SHA-256 against openssl s_server (reverses lines)"
start_server s_server openssl s_server -accept PORT -nocert -tls1_3 -num_tickets 0 -rev \
	-ciphersuites TLS_AES_128_GCM_SHA256 -psk "$K256" -psk_identity "$ID256"
expect_status 0 "$HS" --test-handshake --connect "127.0.0.1:$PORT" --psk-serial "$S256" \
	--send $'abc123\n' --expect $'321cba\n'
assert_contains "$OUT" "status=ok"
stop_server

note "wrong PSK: the peer refuses, status EKEYREJECTED"
start_server s_server-bad openssl s_server -accept PORT -nocert -tls1_3 -num_tickets 0 -rev \
	-ciphersuites TLS_AES_128_GCM_SHA256 -psk "$KBAD" -psk_identity "$ID256"
expect_status 1 "$HS" --test-handshake --connect "127.0.0.1:$PORT" --psk-serial "$S256" --timeout 5000
assert_contains "$OUT" "status=EKEYREJECTED"
stop_server
echo "$ID256:$KBAD" >"$T/psk-bad.txt"
start_server gnutls-serv-bad gnutls-serv --echo --noticket -p PORT --pskpasswd "$T/psk-bad.txt" \
	--priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3:+PSK:+ECDHE-PSK:+DHE-PSK'
expect_status 1 "$HS" --test-handshake --connect "127.0.0.1:$PORT" --psk-serial "$S256" --timeout 5000
assert_contains "$OUT" "status=EKEYREJECTED"
stop_server

note "missing key: ENOKEY; key size not matching the identity's hash: EINVAL"
SMISS=$(keyctl padd user "gone" @s <<<"x"); keyctl unlink "$SMISS" @s >/dev/null
start_server gnutls-serv2 gnutls-serv --echo --noticket -p PORT --pskpasswd "$T/psk.txt" \
	--priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3:+PSK:+ECDHE-PSK:+DHE-PSK'
expect_status 1 "$HS" --test-handshake --connect "127.0.0.1:$PORT" --psk-serial "$SMISS"
assert_contains "$OUT" "status=ENOKEY"
SSHORT=$(head -c 16 /dev/urandom | keyctl padd user "$(psk_identity 01 32)" @s)
expect_status 1 "$HS" --test-handshake --connect "127.0.0.1:$PORT" --psk-serial "$SSHORT"
assert_contains "$OUT" "status=EINVAL"
stop_server
# SHA-384 PSKs run on keyd's TLS 1.3 core, not GnuTLS: handshake-sha384.sh.

note "x509: client certificate and key from user keys, trust from a CA keyring, s_server -Verify 1"
cd "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
	-subj /CN=keyd-test-ca -days 1 -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr \
	-subj /CN=localhost 2>/dev/null
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 1 \
	-extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n') 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout cli.key -out cli.csr \
	-subj /CN=keyd-test-client 2>/dev/null
openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cli.pem -days 1 2>/dev/null
CARING=$(keyctl newring keyd-test-ca @s)
openssl x509 -in ca.pem -outform DER | keyctl padd user ca "$CARING" >/dev/null
SCERT=$(openssl x509 -in cli.pem -outform DER | keyctl padd user client-cert @s)
SKEY=$(openssl pkcs8 -topk8 -nocrypt -in cli.key -outform DER | keyctl padd user client-key @s)
cd - >/dev/null
start_server s_server-x509 openssl s_server -accept PORT -tls1_3 -num_tickets 0 -rev \
	-cert "$T/srv.pem" -key "$T/srv.key" -CAfile "$T/ca.pem" -Verify 1
expect_status 0 "$HS" --test-handshake --x509 --connect "127.0.0.1:$PORT" --cert-serial "$SCERT" \
	--key-serial "$SKEY" --ca-keyring "$CARING" --peername localhost \
	--send $'x509 ok\n' --expect $'ko 905x\n'
assert_contains "$OUT" "status=ok"
assert_contains "$OUT" "peer=CN=localhost"
grep -q 'keyd-test-client' "$T/s_server-x509.log" || note "(s_server did not print the client subject)"
stop_server

note "x509: a server name the certificate does not carry is refused with EACCES"
start_server s_server-x509b openssl s_server -accept PORT -tls1_3 -num_tickets 0 -rev \
	-cert "$T/srv.pem" -key "$T/srv.key" -CAfile "$T/ca.pem" -Verify 1
expect_status 1 "$HS" --test-handshake --x509 --connect "127.0.0.1:$PORT" --cert-serial "$SCERT" \
	--key-serial "$SKEY" --ca-keyring "$CARING" --peername other.example
assert_contains "$OUT" "status=EACCES"

note "x509: no trust anchor: fail closed with EACCES"
EMPTY=$(keyctl newring keyd-test-empty @s)
expect_status 1 "$HS" --test-handshake --x509 --connect "127.0.0.1:$PORT" --cert-serial "$SCERT" \
	--key-serial "$SKEY" --ca-keyring "$EMPTY" --peername localhost
assert_contains "$OUT" "status=EACCES"
assert_contains "$OUT" "no trust anchor"
stop_server
echo "PASS ($KTLS)"
