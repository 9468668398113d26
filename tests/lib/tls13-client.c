/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tls13-client: a TEST-ONLY userspace driver of the in-kernel TLS 1.3 PSK
 * client core (kernel-patches/tls13-psk) on the OpenSSL backend, to check it
 * against real servers (openssl s_server, gnutls-serv). Never installed.
 *
 *   tls13-client (--unix PATH | --tcp HOST:PORT) --psk HEX --identity ID
 *                [--share-p256] [--send TEXT] [--expect TEXT] [--timeout SEC]
 *                [--fixed-keys --capture FILE]
 *
 * The PSK length picks the hash: 32 bytes SHA-256, 48 bytes SHA-384. It reads
 * the socket exactly record by record (tls13_client_want), as the kernel
 * module does, so nothing after the handshake is consumed by the handshake.
 * After the handshake it sends TEXT + "\n" as application data under the
 * client traffic key and reads application records (skipping post-handshake
 * messages such as NewSessionTicket) until their text contains --expect.
 *
 * --fixed-keys uses a fixed ClientHello.random and fixed ephemeral keys (the
 * TLS13_CAPTURE_* values below) and --capture writes what was sent and
 * received during the handshake as hex lines ("client HEX", "server HEX"), so
 * a handshake with a real server can be replayed in a unit test
 * (tests/unit/vectors-tls13.h).
 *
 * Prints "handshake ok suite=0x1301 hrr=no" and "received: ..." lines; on
 * failure "handshake failed: <error> (alert sent N, alert received M)".
 * Exit 0 ok, 1 failed, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tls13_client.h"
#include "tls13_record.h"

static int timeout_ms = 10000;
static FILE *capture;

/* Fixed inputs of captured handshakes; tests/unit/test-tls13.c uses the same values. */
static const u8 capture_random[32] = {
	0x6b, 0x65, 0x79, 0x64, 0x2d, 0x74, 0x6c, 0x73, 0x31, 0x33, 0x2d, 0x63, 0x61, 0x70, 0x74,
	0x75, 0x72, 0x65, 0x2d, 0x72, 0x61, 0x6e, 0x64, 0x6f, 0x6d, 0x2d, 0x30, 0x30, 0x30, 0x30,
	0x30, 0x31,
};
static const u8 capture_priv[32] = {
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e,
	0x1f, 0x20,
};

static void capture_bytes(const char *who, const u8 *p, size_t n)
{
	size_t i;

	if (!capture || n == 0)
		return;
	fprintf(capture, "%s ", who);
	for (i = 0; i < n; i++)
		fprintf(capture, "%02x", p[i]);
	fprintf(capture, "\n");
}

static int hex_decode(const char *s, u8 *out, size_t cap, size_t *ret_len)
{
	size_t n = strlen(s), i;

	if (n % 2 || n / 2 > cap)
		return -EINVAL;
	for (i = 0; i < n / 2; i++) {
		unsigned int v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (u8)v;
	}
	*ret_len = n / 2;
	return 0;
}

static int connect_to(const char *unix_path, const char *tcp)
{
	int fd;

	if (unix_path) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		if (strlen(unix_path) >= sizeof(sa.sun_path))
			return -ENAMETOOLONG;
		strcpy(sa.sun_path, unix_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int r = -errno;

			close(fd);
			return r;
		}
		return fd;
	} else {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
		char host[256], *colon;

		snprintf(host, sizeof(host), "%s", tcp);
		colon = strrchr(host, ':');
		if (!colon)
			return -EINVAL;
		*colon = 0;
		if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
			return -EHOSTUNREACH;
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			int r = -errno;

			close(fd);
			fd = r;
		}
		freeaddrinfo(ai);
		return fd < 0 && errno ? -errno : fd;
	}
}

static int send_all(int fd, const u8 *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read up to n bytes (at least 1) within the timeout. */
static ssize_t recv_some(int fd, u8 *p, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t r;
	int k = poll(&pfd, 1, timeout_ms);

	if (k == 0)
		return -ETIMEDOUT;
	if (k < 0)
		return -errno;
	r = recv(fd, p, n, 0);
	if (r == 0)
		return -ECONNRESET;
	return r < 0 ? -errno : r;
}

static int recv_exact(int fd, u8 *p, size_t n)
{
	while (n) {
		ssize_t r = recv_some(fd, p, n);

		if (r < 0)
			return (int)r;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int handshake(int fd, struct tls13_client *c)
{
	static u8 out[TLS13_CLIENT_OUT_MAX], in[TLS13_MAX_RECORD];
	size_t out_len, used;
	int r;

	r = tls13_client_start(c, out, sizeof(out), &out_len);
	if (r < 0)
		return r;
	capture_bytes("client", out, out_len);
	r = send_all(fd, out, out_len);
	if (r < 0)
		return r;
	for (;;) {
		size_t want = tls13_client_want(c);
		ssize_t got = recv_some(fd, in, want);

		if (got < 0)
			return (int)got;
		capture_bytes("server", in, (size_t)got);
		r = tls13_client_feed(c, in, (size_t)got, &used, out, sizeof(out), &out_len);
		capture_bytes("client", out, out_len);
		if (out_len && send_all(fd, out, out_len) < 0 && r >= 0)
			return -EIO;
		if (r != TLS13_CLIENT_CONTINUE)
			return r;
		if (used != (size_t)got)
			return -EPROTO;
	}
}

static int exchange(int fd, const struct tls13_traffic *tx, const struct tls13_traffic *rx,
		    const char *text, const char *expect)
{
	static u8 rec[TLS13_MAX_RECORD + 64], seen[65536];
	struct tls13_rec_key wk = { 0 }, rk = { 0 };
	size_t len, seen_len = 0;
	char line[4096];
	int r;

	r = tls13_rec_key_set(&wk, tx->hash, tx->secret, tx->key_len);
	if (r >= 0)
		r = tls13_rec_key_set(&rk, rx->hash, rx->secret, rx->key_len);
	if (r < 0)
		goto out;
	/* The traffic keys handed to kTLS must be the ones derived from the secrets. */
	if (memcmp(wk.iv, tx->iv, TLS13_IV_LEN) || memcmp(rk.iv, rx->iv, TLS13_IV_LEN)) {
		r = -EINVAL;
		goto out;
	}
	snprintf(line, sizeof(line), "%s\n", text);
	r = tls13_record_seal(&wk, TLS13_CT_APPLICATION_DATA, (const u8 *)line, strlen(line), rec,
			      sizeof(rec), &len);
	if (r >= 0)
		r = send_all(fd, rec, len);
	if (r < 0)
		goto out;
	while (!expect || !memmem(seen, seen_len, expect, strlen(expect))) {
		u8 type, *inner;
		size_t ilen;

		r = recv_exact(fd, rec, TLS13_RECORD_HEADER);
		if (r < 0)
			goto out;
		r = tls13_record_check_header(rec, &type);
		if (r < 0 || type != TLS13_CT_APPLICATION_DATA) {
			r = r < 0 ? r : -EPROTO;
			goto out;
		}
		len = (size_t)r;
		r = recv_exact(fd, rec + TLS13_RECORD_HEADER, len);
		if (r >= 0)
			r = tls13_record_open(&rk, rec, TLS13_RECORD_HEADER + len, &inner, &ilen,
					      &type);
		if (r < 0)
			goto out;
		if (type == TLS13_CT_HANDSHAKE) {
			/* NewSessionTicket and the like: nothing to do for this client. */
			printf("post-handshake message type %u (%zu bytes) ignored\n", inner[0],
			       ilen);
			continue;
		}
		if (type == TLS13_CT_ALERT) {
			printf("alert received: %u\n", ilen == 2 ? inner[1] : 255);
			r = -ECONNABORTED;
			goto out;
		}
		if (type != TLS13_CT_APPLICATION_DATA) {
			r = -EPROTO;
			goto out;
		}
		printf("received: %.*s\n", (int)ilen, (const char *)inner);
		if (ilen > sizeof(seen) - seen_len) {
			r = -E2BIG;
			goto out;
		}
		memcpy(seen + seen_len, inner, ilen);
		seen_len += ilen;
		if (!expect)
			break;
	}
	r = 0;
out:
	tls13_rec_key_clear(&wk);
	tls13_rec_key_clear(&rk);
	return r;
}

int main(int argc, char **argv)
{
	const char *unix_path = NULL, *tcp = NULL, *psk_hex = NULL, *identity = NULL;
	const char *text = "hello from the in-kernel TLS 1.3 PSK client core", *expect = NULL;
	const char *capture_path = NULL;
	bool fixed = false;
	struct tls13_client_config cfg = { 0 };
	struct tls13_traffic tx, rx;
	struct tls13_client *c = NULL;
	u8 psk[48];
	size_t psk_len = 0;
	int fd, r, i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--share-p256")) {
			cfg.share_p256 = true;
			continue;
		}
		if (!strcmp(a, "--fixed-keys")) {
			fixed = true;
			continue;
		}
		if (!v)
			goto usage;
		i++;
		if (!strcmp(a, "--unix"))
			unix_path = v;
		else if (!strcmp(a, "--tcp"))
			tcp = v;
		else if (!strcmp(a, "--psk"))
			psk_hex = v;
		else if (!strcmp(a, "--identity"))
			identity = v;
		else if (!strcmp(a, "--send"))
			text = v;
		else if (!strcmp(a, "--expect"))
			expect = v;
		else if (!strcmp(a, "--capture"))
			capture_path = v;
		else if (!strcmp(a, "--timeout"))
			timeout_ms = atoi(v) * 1000;
		else
			goto usage;
	}
	if ((!unix_path == !tcp) || !psk_hex || !identity ||
	    hex_decode(psk_hex, psk, sizeof(psk), &psk_len) < 0 ||
	    (psk_len != 32 && psk_len != 48) || timeout_ms <= 0)
		goto usage;
	cfg.hash = psk_len == 48 ? TLS13_SHA384 : TLS13_SHA256;
	cfg.psk = psk;
	cfg.psk_len = psk_len;
	cfg.identity = (const u8 *)identity;
	cfg.identity_len = strlen(identity);
	if (fixed) {
		cfg.fixed_random = capture_random;
		cfg.fixed_x25519 = capture_priv;
		cfg.fixed_p256 = capture_priv;
	}
	if (capture_path) {
		capture = fopen(capture_path, "we");
		if (!capture) {
			fprintf(stderr, "tls13-client: cannot write '%s': %m\n", capture_path);
			return 1;
		}
	}

	fd = connect_to(unix_path, tcp);
	if (fd < 0) {
		fprintf(stderr, "tls13-client: cannot connect to '%s': %s\n",
			unix_path ? unix_path : tcp, strerror(-fd));
		return 1;
	}
	r = tls13_client_new(&cfg, &c);
	if (r >= 0)
		r = handshake(fd, c);
	explicit_bzero(psk, sizeof(psk));
	if (r != TLS13_CLIENT_DONE) {
		printf("handshake failed: %s (alert sent %d, alert received %d)\n",
		       strerror(r < 0 ? -r : EPROTO), c ? tls13_client_alert_sent(c) : -1,
		       c ? tls13_client_alert_received(c) : -1);
		tls13_client_free(c);
		close(fd);
		return 1;
	}
	r = tls13_client_traffic(c, &tx, &rx);
	printf("handshake ok suite=0x%04x hrr=%s\n", tx.cipher_suite,
	       tls13_client_had_hrr(c) ? "yes" : "no");
	fflush(stdout);
	tls13_client_free(c);
	if (capture)
		fclose(capture);
	if (r >= 0)
		r = exchange(fd, &tx, &rx, text, expect);
	explicit_bzero(&tx, sizeof(tx));
	explicit_bzero(&rx, sizeof(rx));
	close(fd);
	if (r < 0) {
		printf("application data failed: %s\n", strerror(-r));
		return 1;
	}
	return 0;
usage:
	fprintf(stderr, "usage: tls13-client (--unix PATH | --tcp HOST:PORT) --psk HEX "
			"--identity ID [--share-p256] [--send TEXT] [--expect TEXT] "
			"[--timeout SEC] [--fixed-keys --capture FILE]\n");
	return 2;
}
