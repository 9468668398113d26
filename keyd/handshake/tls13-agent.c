/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SHA-384 PSK handshakes on keyd's TLS 1.3 core (see tls13-agent.h): socket I/O with the
 * request's deadline, PSK lookup, status mapping and the kTLS hand-over.
 *
 * The core and tls13-server.c do no I/O. Here every read asks for at most the bytes that
 * complete the current record (tls13_client_want() / tls13_server_want()), so the read
 * stops at the end of the peer's last handshake record and whatever follows (the peer's
 * first application record) stays in the socket for kTLS RX, which starts at sequence 0.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "tls13-agent.h"
#include "tls13-server.h"
#include "tls13_client.h"
#include "tls13_msg.h"
#include "tls13_record.h"

/* The agent's default when the kernel gives no timeout (main.c uses 60 s too). */
#define TLS13_AGENT_DEFAULT_TIMEOUT_MS 60000

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t deadline_of(uint32_t timeout_ms)
{
	return now_ms() + (timeout_ms ? timeout_ms : TLS13_AGENT_DEFAULT_TIMEOUT_MS);
}

/* Wait until fd is readable or the deadline passes. */
static int wait_readable(int fd, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = now_ms();
		int n;

		if (now >= deadline)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)(deadline - now > 60000 ? 60000 : deadline - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n > 0)
			return 0;
	}
}

/* Read at most want bytes (>= 1), waiting up to the deadline. 0 bytes: the peer closed. */
static int read_some(int fd, uint8_t *buf, size_t want, uint64_t deadline, size_t *ret_len)
{
	for (;;) {
		ssize_t n;
		int r = wait_readable(fd, deadline);

		if (r < 0)
			return r;
		n = recv(fd, buf, want, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		*ret_len = (size_t)n;
		return 0;
	}
}

static const char *alert_name(int desc)
{
	switch (desc) {
	case TLS13_ALERT_CLOSE_NOTIFY:
		return "close_notify";
	case TLS13_ALERT_UNEXPECTED_MESSAGE:
		return "unexpected_message";
	case TLS13_ALERT_BAD_RECORD_MAC:
		return "bad_record_mac";
	case TLS13_ALERT_RECORD_OVERFLOW:
		return "record_overflow";
	case TLS13_ALERT_HANDSHAKE_FAILURE:
		return "handshake_failure";
	case TLS13_ALERT_ILLEGAL_PARAMETER:
		return "illegal_parameter";
	case TLS13_ALERT_DECODE_ERROR:
		return "decode_error";
	case TLS13_ALERT_DECRYPT_ERROR:
		return "decrypt_error";
	case TLS13_ALERT_PROTOCOL_VERSION:
		return "protocol_version";
	case TLS13_ALERT_INTERNAL_ERROR:
		return "internal_error";
	case TLS13_ALERT_MISSING_EXTENSION:
		return "missing_extension";
	case TLS13_ALERT_UNSUPPORTED_EXTENSION:
		return "unsupported_extension";
	case TLS13_ALERT_UNKNOWN_PSK_IDENTITY:
		return "unknown_psk_identity";
	case -1:
		return "none";
	default:
		return "other";
	}
}

int keyd_tls13_agent_preload(void)
{
	static const u8 zero[48];
	struct tls13_iov iov = { zero, sizeof(zero) };
	struct tls13_ecdh *e = NULL;
	struct tls13_aead *a = NULL;
	u8 out[TLS13_MAX_HASH];
	int r;

	/* One use of every primitive loads libcrypto's configuration and providers now. */
	r = tls13_hmac(TLS13_SHA384, zero, sizeof(zero), &iov, 1, out);
	if (r >= 0)
		r = tls13_hmac(TLS13_SHA256, zero, 32, &iov, 1, out);
	if (r >= 0)
		r = tls13_aead_new(zero, 32, &a);
	tls13_aead_free(a);
	if (r >= 0)
		r = tls13_ecdh_new(TLS13_GROUP_X25519, NULL, &e);
	tls13_ecdh_free(e);
	e = NULL;
	if (r >= 0)
		r = tls13_ecdh_new(TLS13_GROUP_P256, NULL, &e);
	tls13_ecdh_free(e);
	return r;
}

/* r->tx/r->rx in kTLS's layout (linux/tls.h): salt = iv[0..3], iv = iv[4..11], seq 0. */
static void traffic_to_dir(const struct tls13_traffic *t, struct keyd_tls_dir *d)
{
	memset(d, 0, sizeof(*d));
	d->info.version = TLS_1_3_VERSION;
	if (t->key_len == TLS_CIPHER_AES_GCM_128_KEY_SIZE) {
		d->info.cipher_type = TLS_CIPHER_AES_GCM_128;
		memcpy(d->gcm128.key, t->key, TLS_CIPHER_AES_GCM_128_KEY_SIZE);
		memcpy(d->gcm128.salt, t->iv, TLS_CIPHER_AES_GCM_128_SALT_SIZE);
		memcpy(d->gcm128.iv, t->iv + TLS_CIPHER_AES_GCM_128_SALT_SIZE,
		       TLS_CIPHER_AES_GCM_128_IV_SIZE);
		d->len = sizeof(d->gcm128);
	} else {
		d->info.cipher_type = TLS_CIPHER_AES_GCM_256;
		memcpy(d->gcm256.key, t->key, TLS_CIPHER_AES_GCM_256_KEY_SIZE);
		memcpy(d->gcm256.salt, t->iv, TLS_CIPHER_AES_GCM_256_SALT_SIZE);
		memcpy(d->gcm256.iv, t->iv + TLS_CIPHER_AES_GCM_256_SALT_SIZE,
		       TLS_CIPHER_AES_GCM_256_IV_SIZE);
		d->len = sizeof(d->gcm256);
	}
}

static int install(const struct keyd_tls_params *p, struct keyd_tls_result *r, u16 suite,
		   struct tls13_traffic *tx, struct tls13_traffic *rx)
{
	const char *cipher = suite == TLS13_AES256_GCM_SHA384 ? "TLS_AES_256_GCM_SHA384"
							       : "TLS_AES_128_GCM_SHA256";

	snprintf(r->cipher, sizeof(r->cipher), "%s", cipher);
	traffic_to_dir(tx, &r->tx);
	traffic_to_dir(rx, &r->rx);
	explicit_bzero(tx, sizeof(*tx));
	explicit_bzero(rx, sizeof(*rx));
	return keyd_tls_install_keys(p, r, cipher);
}

/* The failures both roles report alike. */
static int common_status(struct keyd_tls_result *r, int e, int alert_sent)
{
	switch (e) {
	case -ETIMEDOUT:
		return keyd_tls_fail(r, EIO, "the handshake timed out");
	case -ENOMEM:
		return keyd_tls_fail(r, ENOMEM, "out of memory");
	default:
		return keyd_tls_fail(r, EIO, "the handshake failed: %s (alert sent %s)",
				     strerror(-e), alert_name(alert_sent));
	}
}

/* ---- client ---------------------------------------------------------------------------- */

static int client_status(struct keyd_tls_result *r, const struct tls13_client *c, int e)
{
	int sent = tls13_client_alert_sent(c), got = tls13_client_alert_received(c);

	switch (e) {
	case -EKEYREJECTED:
	case -ECONNABORTED:
		return keyd_tls_fail(r, EKEYREJECTED,
				     "the server refused PSK identity '%s' (alert received %s, "
				     "sent %s); the target's PSK differs",
				     r->identity, alert_name(got), alert_name(sent));
	case -ECONNRESET:
		/* Some servers close without an alert when they do not know the identity. */
		return keyd_tls_fail(r, EKEYREJECTED,
				     "the server closed the connection during the handshake");
	default:
		return common_status(r, e, sent);
	}
}

/* Send what the core produced after feeding it; the first error wins (an alert after a
 * failure is best-effort: the status says why). */
static int send_output(int fd, const u8 *out, size_t out_len, int e)
{
	int w;

	if (!out_len)
		return e;
	w = keyd_write_all(fd, out, out_len);
	return e >= 0 && w < 0 ? w : e;
}

/* The end of both roles: e is what deriving the traffic keys returned. */
static int install_traffic(const struct keyd_tls_params *p, struct keyd_tls_result *r, int e,
			   struct tls13_traffic *tx, struct tls13_traffic *rx)
{
	if (e < 0) {
		explicit_bzero(tx, sizeof(*tx));
		explicit_bzero(rx, sizeof(*rx));
		return keyd_tls_fail(r, EIO, "cannot derive the traffic keys: %s", strerror(-e));
	}
	return install(p, r, tx->cipher_suite, tx, rx);
}

int keyd_tls13_agent_client(const struct keyd_tls_params *p, const struct keyd_secret *key,
			    struct keyd_tls_result *r)
{
	struct tls13_client_config cfg = {
		.hash = key->len == 48 ? TLS13_SHA384 : TLS13_SHA256,
		.psk = key->data,
		.psk_len = key->len,
		.identity = (const u8 *)r->identity,
		.identity_len = strlen(r->identity),
		/* One x25519 share; a P-256-only server costs a HelloRetryRequest. */
		.share_p256 = false,
	};
	static u8 in[TLS13_MAX_RECORD], out[TLS13_CLIENT_OUT_MAX];
	struct tls13_client *c = NULL;
	struct tls13_traffic tx, rx;
	uint64_t deadline = deadline_of(p->timeout_ms);
	size_t out_len = 0;
	int e;

	e = tls13_client_new(&cfg, &c);
	if (e < 0)
		return keyd_tls_fail(r, e == -ENOMEM ? ENOMEM : EINVAL,
				     "PSK '%s': the TLS 1.3 core refuses it: %s", r->identity,
				     strerror(-e));
	e = tls13_client_start(c, out, sizeof(out), &out_len);
	if (e >= 0)
		e = keyd_write_all(p->fd, out, out_len);
	while (e >= 0) {
		size_t got = 0, used = 0;

		e = read_some(p->fd, in, tls13_client_want(c), deadline, &got);
		if (e < 0)
			break;
		e = tls13_client_feed(c, in, got, &used, out, sizeof(out), &out_len);
		e = send_output(p->fd, out, out_len, e);
		if (e == TLS13_CLIENT_DONE)
			break;
	}
	if (e < 0) {
		e = client_status(r, c, e);
		tls13_client_free(c);
		return e;
	}
	e = tls13_client_traffic(c, &tx, &rx);
	tls13_client_free(c);
	return install_traffic(p, r, e, &tx, &rx);
}

/* ---- server ---------------------------------------------------------------------------- */

int keyd_tls13_agent_peek(int fd, uint32_t timeout_ms)
{
	static u8 buf[TLS13_RECORD_HEADER + TLS13_MAX_PLAINTEXT];
	uint64_t deadline = deadline_of(timeout_ms);
	struct tls13_ch_info ch;
	size_t len, mlen;
	ssize_t n;
	u8 alert;
	int r;

	for (;;) {
		r = wait_readable(fd, deadline);
		if (r < 0)
			return r;
		n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		if (n >= TLS13_RECORD_HEADER) {
			/* Not a handshake record or too long: GnuTLS answers it. */
			len = tls13_get_u16(buf + 3);
			if (buf[0] != TLS13_CT_HANDSHAKE || len > TLS13_MAX_PLAINTEXT)
				return 0;
			if ((size_t)n >= TLS13_RECORD_HEADER + len)
				break;
		}
		/* The rest of the record is on its way: poll() would return at once while
		 * the peeked bytes wait, so sleep a little instead. */
		nanosleep(&(struct timespec){ .tv_nsec = 5 * 1000 * 1000 }, NULL);
	}
	/* A ClientHello split over records is left to GnuTLS, and so is one that does not
	 * parse (GnuTLS sends its alert). */
	if (len < TLS13_HS_HEADER || buf[TLS13_RECORD_HEADER] != TLS13_HS_CLIENT_HELLO)
		return 0;
	mlen = tls13_get_u24(buf + TLS13_RECORD_HEADER + 1);
	if (TLS13_HS_HEADER + mlen > len)
		return 0;
	if (tls13_server_parse_client_hello(buf + TLS13_RECORD_HEADER, TLS13_HS_HEADER + mlen, &ch,
					    &alert) < 0)
		return 0;
	return ch.has_pre_shared_key && ch.n_offers > 0 && ch.offers[0].binder_len == 48;
}

struct server_lookup {
	const struct keyd_tls_params *p;
	struct keyd_tls_result *r;
};

static int server_lookup(void *userdata, const u8 *identity, size_t identity_len,
			 enum tls13_hash_alg *ret_hash, u8 *psk, size_t *ret_psk_len)
{
	struct server_lookup *l = userdata;
	char id[KEYD_PSK_IDENTITY_MAX + 1];
	_cleanup_secret_ struct keyd_secret secret = { 0 };
	keyd_serial_t serial = 0;
	int e;

	/* The identity is peer input: bounded, printable, no NUL (as tls.c's GnuTLS path). */
	if (identity_len == 0 || identity_len > KEYD_PSK_IDENTITY_MAX)
		return 0;
	for (size_t i = 0; i < identity_len; i++)
		if (identity[i] < 0x20 || identity[i] > 0x7e)
			return 0;
	memcpy(id, identity, identity_len);
	id[identity_len] = '\0';
	if (!l->r->identity[0])
		snprintf(l->r->identity, sizeof(l->r->identity), "%s", id);
	e = keyd_tls_psk_find(l->p, id, &secret, &serial);
	if (e < 0) {
		log_debug_errno(e, "PSK identity '%s': no usable key: %m", id);
		return 0;
	}
	memcpy(psk, secret.data, secret.len);
	*ret_psk_len = secret.len;
	*ret_hash = secret.len == 48 ? TLS13_SHA384 : TLS13_SHA256;
	snprintf(l->r->identity, sizeof(l->r->identity), "%s", id);
	l->r->psk_serial = serial;
	return 1;
}

static int server_status(struct keyd_tls_result *r, const struct tls13_server *s, int e)
{
	int sent = tls13_server_alert_sent(s), got = tls13_server_alert_received(s);

	switch (e) {
	case -ENOKEY:
		return keyd_tls_fail(r, ENOKEY, "no PSK for the identity '%s' the client offered",
				     r->identity);
	case -EKEYREJECTED:
		return keyd_tls_fail(r, EKEYREJECTED,
				     "PSK identity '%s': the client's key differs (alert sent %s, "
				     "received %s)",
				     r->identity, alert_name(sent), alert_name(got));
	case -ECONNABORTED:
		return keyd_tls_fail(r, EKEYREJECTED, "the client sent alert %s",
				     alert_name(got));
	default:
		return common_status(r, e, sent);
	}
}

int keyd_tls13_agent_server(const struct keyd_tls_params *p, struct keyd_tls_result *r)
{
	struct server_lookup l = { .p = p, .r = r };
	struct tls13_server_config cfg = { .lookup = server_lookup, .userdata = &l };
	static u8 in[TLS13_MAX_RECORD], out[TLS13_SERVER_OUT_MAX];
	struct tls13_server *s = NULL;
	struct tls13_traffic tx, rx;
	uint64_t deadline = deadline_of(p->timeout_ms);
	int e;

	e = tls13_server_new(&cfg, &s);
	if (e < 0)
		return keyd_tls_fail(r, ENOMEM, "out of memory");
	for (;;) {
		size_t got = 0, used = 0, out_len = 0;

		e = read_some(p->fd, in, tls13_server_want(s), deadline, &got);
		if (e < 0)
			break;
		e = tls13_server_feed(s, in, got, &used, out, sizeof(out), &out_len);
		e = send_output(p->fd, out, out_len, e);
		if (e < 0 || e == TLS13_CLIENT_DONE)
			break;
	}
	if (e < 0) {
		e = server_status(r, s, e);
		tls13_server_free(s);
		return e;
	}
	e = tls13_server_traffic(s, &tx, &rx);
	tls13_server_free(s);
	return install_traffic(p, r, e, &tx, &rx);
}
