# Helpers for the libkeyd-gnutls scenarios (tests/integration/gnutls-*.sh); source
# after harness.sh. Test PKI is made at run time in $T, never committed. Servers
# listen on a unix socket where they can (openssl s_server -unix) and on a free
# loopback port otherwise (gnutls-serv has no unix socket option).

GNUTLS_CLIENT="$KEYD_BUILD/tests/gnutls-client"
[ -x "$GNUTLS_CLIENT" ] || skip "the test client is not built ($GNUTLS_CLIENT)"
require_cmd openssl gnutls-serv keyctl python3

# make_ca NAME: a throwaway ECDSA P-256 CA, $T/NAME.pem and $T/NAME.key.
make_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=keyd gnutls test CA $1" -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout "$T/$1.key" -out "$T/$1.pem" 2>/dev/null || fail "cannot make CA $1"
}

# sign_csr CA CSR OUT [EXTFILE-LINES]: a certificate for CSR, signed by CA.
sign_csr() {
	local ca=$1 csr=$2 out=$3 ext=$4
	printf '%b\n' "$ext" >"$out.ext"
	openssl x509 -req -in "$csr" -CA "$T/$ca.pem" -CAkey "$T/$ca.key" -CAcreateserial \
		-days 2 -extfile "$out.ext" -out "$out" 2>/dev/null || fail "cannot sign $csr with $ca"
}

# make_server_cert CA NAME: $T/NAME.pem, $T/NAME.key for DNS:localhost, signed by CA.
make_server_cert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
		-keyout "$T/$2.key" -out "$T/$2.csr" 2>/dev/null || fail "cannot make a server key"
	sign_csr "$1" "$T/$2.csr" "$T/$2.pem" \
		"subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE"
}

# new_trust_ring NAME CA...: a keyring in the session keyring holding each CA as DER
# in a user key (as keyd's policy does with "ca-set = X as user"); serial in $RING.
new_trust_ring() {
	local name=$1; shift
	RING=$(keyctl newring "$name" @s) || fail "cannot make keyring $name"
	for ca in "$@"; do
		openssl x509 -in "$T/$ca.pem" -outform DER -out "$T/$ca.der"
		keyctl padd user "ca:$ca" "$RING" <"$T/$ca.der" >/dev/null ||
			fail "cannot add CA $ca to keyring $name"
	done
}

# free_port: a loopback TCP port nobody listens on right now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_unix PATH / wait_tcp PORT PID: until the server listens (or died).
wait_unix() {
	for _ in $(seq 100); do [ -S "$1" ] && return 0; kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
	fail "no server on $1: $(cat "$3" 2>/dev/null | head -n 12)"
}
wait_tcp() {
	# Look for the listening socket instead of connecting: a probe connection would
	# use up a server that accepts only one (-naccept 1).
	for _ in $(seq 100); do
		if python3 - "$1" <<'PY'
import sys
port = "%04X" % int(sys.argv[1])
for f in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        lines = open(f).read().splitlines()[1:]
    except OSError:
        continue
    for l in lines:
        fields = l.split()
        if fields[1].endswith(":" + port) and fields[3] == "0A":
            sys.exit(0)
sys.exit(1)
PY
		then
			return 0
		fi
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	fail "no server on port $1: $(cat "$3" 2>/dev/null | head -n 12)"
}

# start_s_server NAME CERT CA [ARGS...]: openssl s_server on a unix socket ($SERVER_SOCK)
# for one connection, TLS 1.3 (unless ARGS say otherwise), client certificate required
# and verified against CA; log $T/NAME.log.
# The socket path is kept short: OpenSSL 3.0 formats it through getnameinfo()'s
# 32-byte service buffer and fails on longer paths ("ACCEPTunknown:error").
_n_servers=0
start_s_server() {
	_n_servers=$((_n_servers + 1))
	local sock="$T/s$_n_servers" name=$1 cert=$2 ca=$3
	shift 3
	rm -f "$sock"
	# s_server quits at the end of its stdin: give it a fifo this shell keeps open.
	[ -p "$T/stdin.fifo" ] || { mkfifo "$T/stdin.fifo"; exec 9<>"$T/stdin.fifo"; }
	[ $# -gt 0 ] || set -- -tls1_3
	openssl s_server -unix "$sock" -naccept 1 -cert "$T/$cert.pem" -key "$T/$cert.key" \
		-CAfile "$T/$ca.pem" -Verify 1 -verify_return_error -rev "$@" \
		<"$T/stdin.fifo" >"$T/$name.log" 2>&1 &
	SERVER_PID=$!
	track_pid "$SERVER_PID"
	wait_unix "$sock" "$SERVER_PID" "$T/$name.log"
	SERVER_SOCK=$sock
}

# start_gnutls_serv NAME ARGS...: gnutls-serv --echo on a free port, TLS 1.3 only.
start_gnutls_serv() {
	local name=$1; shift
	for _ in 1 2 3; do
		SERVER_PORT=$(free_port)
		gnutls-serv --echo --port "$SERVER_PORT" "$@" </dev/null >"$T/$name.log" 2>&1 &
		SERVER_PID=$!
		track_pid "$SERVER_PID"
		sleep 0.2
		kill -0 "$SERVER_PID" 2>/dev/null && break
	done
	wait_tcp "$SERVER_PORT" "$SERVER_PID" "$T/$name.log"
}
stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }

# start_s_server_tcp NAME CERT CA: as start_s_server, on a free loopback port
# (for clients that take only HOST:PORT); sets SERVER_PORT.
start_s_server_tcp() {
	[ -p "$T/stdin.fifo" ] || { mkfifo "$T/stdin.fifo"; exec 9<>"$T/stdin.fifo"; }
	for _ in 1 2 3; do
		SERVER_PORT=$(free_port)
		openssl s_server -accept "127.0.0.1:$SERVER_PORT" -naccept 1 -tls1_3 -num_tickets 0 \
			-cert "$T/$2.pem" -key "$T/$2.key" -CAfile "$T/$3.pem" -Verify 1 \
			-verify_return_error -rev <"$T/stdin.fifo" >"$T/$1.log" 2>&1 &
		SERVER_PID=$!
		track_pid "$SERVER_PID"
		sleep 0.2
		kill -0 "$SERVER_PID" 2>/dev/null && break
	done
	wait_tcp "$SERVER_PORT" "$SERVER_PID" "$T/$1.log"
}
