/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tls13-hostile: a TEST-ONLY TLS 1.3 "server" that answers the in-kernel PSK
 * client (kernel-patches/tls13-psk) with broken flights, for
 * tests/vm/kernel-tls13-hostile.sh. Never installed.
 *
 *   tls13-hostile --list
 *   tls13-hostile --mode NAME --port PORT --count N [--psk-file FILE]   (PORT 0: any free
 *   port, printed as "port=N")
 *
 * It listens on 127.0.0.1:PORT, serves N connections one after the other
 * with the flight of mode NAME, then reads what the client sends back until
 * it closes, and notes the last alert in it (plaintext, or protected under
 * the client handshake key when this server derived one). Modes that need a
 * genuine ServerHello build it with the core's own key schedule
 * (server_sim.c) from the SHA-256 PSK in FILE, so the flight is valid up to
 * the byte that is broken. It prints one line
 *   tls13-hostile: mode=NAME conns=N alert_ok=K alerts=A:n,... hung=H
 * and exits 0 when every connection showed the mode's expected alert (or no
 * alert where none may be sent) and none hung.
 *
 * --list prints "NAME STATUS ALERT" per mode: the status the kernel client
 * must report (negative errno, as ta_done gets it) and the alert it must send
 * (RFC 8446 6.2), or "none". The modes live in one table (hostile_modes).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "server_sim.h"
#include "tls13_msg.h"

#define NO_ALERT (-1)
#define MAX_STEPS 6
/* Seconds a connection may take before it counts as hung (the driver's timeout is 3 s). */
#define CONN_TIMEOUT 8

enum op {
	OP_END,
	OP_READ_CH,	/* read one ClientHello record */
	OP_HEX,		/* send canned bytes */
	OP_SH,		/* a genuine ServerHello for the last ClientHello; arg = copies in one record */
	OP_SH_AGAIN,	/* the same ServerHello record once more */
	OP_EE_FIN,	/* protected EncryptedExtensions + Finished; arg 1 = verify_data flipped */
	OP_HRR,		/* a HelloRetryRequest selecting group arg */
	OP_SH_BROKEN,	/* a ServerHello broken as arg says (enum broken) */
	OP_SHUT_WR,	/* close our side, keep reading the client */
};

enum broken {
	BROKEN_TRUNCATED,	/* the body stops after the random; lengths agree with that */
	BROKEN_EXT_LEN,		/* extensions length one more than there is */
	BROKEN_HS_LEN,		/* handshake length 0xffffff */
};

struct step {
	enum op op;
	int arg;
	const char *hex;
};

struct mode {
	const char *name;
	int status;	/* what ta_done must report */
	int alert;	/* what the client must send, NO_ALERT for nothing */
	struct step steps[MAX_STEPS];
};

#define READ_CH { OP_READ_CH, 0, NULL }
#define HEX(h) { OP_HEX, 0, h }

static const struct mode hostile_modes[] = {
	/* A ServerHello record whose message ends after legacy_version and random. */
	{ "sh-truncated", -EIO, TLS13_ALERT_DECODE_ERROR,
	  { READ_CH, { OP_SH_BROKEN, BROKEN_TRUNCATED, NULL } } },
	/* Record headers announcing more than the record layer allows (RFC 8446 5.1, 5.2). */
	{ "record-overflow-plain", -EIO, TLS13_ALERT_RECORD_OVERFLOW,
	  { READ_CH, HEX("1603034001" "020000") } },
	{ "record-overflow-protected", -EIO, TLS13_ALERT_RECORD_OVERFLOW,
	  { READ_CH, HEX("1703034101" "00000000") } },
	{ "record-length-max", -EIO, TLS13_ALERT_RECORD_OVERFLOW,
	  { READ_CH, HEX("160303ffff" "02") } },
	/* ServerHello length fields that disagree with its contents. */
	{ "sh-bad-ext-length", -EIO, TLS13_ALERT_DECODE_ERROR,
	  { READ_CH, { OP_SH_BROKEN, BROKEN_EXT_LEN, NULL } } },
	{ "sh-bad-hs-length", -EIO, TLS13_ALERT_DECODE_ERROR,
	  { READ_CH, { OP_SH_BROKEN, BROKEN_HS_LEN, NULL } } },
	/* Out of order: EncryptedExtensions (in the clear) where ServerHello belongs. */
	{ "ee-before-sh", -EIO, TLS13_ALERT_UNEXPECTED_MESSAGE,
	  { READ_CH, HEX("1603030006" "080000020000") } },
	/* A second ServerHello, in a record of its own (then it is a plaintext handshake
	 * record after the keys changed) or in the same record (5.1).
	 */
	{ "sh-twice", -EIO, TLS13_ALERT_UNEXPECTED_MESSAGE,
	  { READ_CH, { OP_SH, 1, NULL }, { OP_SH_AGAIN, 0, NULL } } },
	{ "sh-twice-one-record", -EIO, TLS13_ALERT_UNEXPECTED_MESSAGE,
	  { READ_CH, { OP_SH, 2, NULL } } },
	/* Everything genuine but the server Finished's verify_data (4.4.4). */
	{ "finished-bad", -EKEYREJECTED, TLS13_ALERT_DECRYPT_ERROR,
	  { READ_CH, { OP_SH, 1, NULL }, { OP_EE_FIN, 1, NULL } } },
	/* close_notify, then a record after it: the client stops at the alert, sends none. */
	{ "record-after-close", -EACCES, NO_ALERT,
	  { READ_CH, HEX("15030300020100" "1603030006" "080000020000") } },
	/* A fatal alert in place of ServerHello. */
	{ "alert-for-sh", -EACCES, NO_ALERT,
	  { READ_CH, HEX("15030300020250") } },
	/* Empty records (5.1), a protected record before any key, a third compatibility CCS
	 * (the client drops at most TLS13_MAX_CCS of them).
	 */
	{ "record-empty", -EIO, TLS13_ALERT_DECODE_ERROR,
	  { READ_CH, HEX("1603030000") } },
	{ "appdata-before-sh", -EIO, TLS13_ALERT_UNEXPECTED_MESSAGE,
	  { READ_CH, HEX("1703030011" "000102030405060708090a0b0c0d0e0f10") } },
	{ "ccs-flood", -EIO, TLS13_ALERT_UNEXPECTED_MESSAGE,
	  { READ_CH, HEX("140303000101" "140303000101" "140303000101") } },
	/* Not TLS at all. */
	{ "garbage", -EIO, TLS13_ALERT_UNEXPECTED_MESSAGE,
	  { READ_CH, HEX("485454502f312e31203430302042616420526571756573740d0a0d0a") } },
	/* A second HelloRetryRequest (4.1.4), a group never offered, a group already sent. */
	{ "hrr-twice", -EIO, TLS13_ALERT_UNEXPECTED_MESSAGE,
	  { READ_CH, { OP_HRR, TLS13_GROUP_P256, NULL }, READ_CH,
	    { OP_HRR, TLS13_GROUP_P256, NULL } } },
	{ "hrr-group-not-offered", -EIO, TLS13_ALERT_ILLEGAL_PARAMETER,
	  { READ_CH, { OP_HRR, 0x0018 /* secp384r1 */, NULL } } },
	{ "hrr-group-already-sent", -EIO, TLS13_ALERT_ILLEGAL_PARAMETER,
	  { READ_CH, { OP_HRR, TLS13_GROUP_X25519, NULL } } },
	/* The connection closed in the middle of a ServerHello record: nothing to alert. */
	{ "close-mid-record", -EIO, NO_ALERT,
	  { READ_CH, HEX("160303005a" "0200005603035a5a5a5a5a5a"), { OP_SHUT_WR, 0, NULL } } },
};

/* RFC 8446 4.1.3: the random of a HelloRetryRequest, SHA-256("HelloRetryRequest"). */
static const u8 hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8,
	0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8,
	0x33, 0x9c,
};
static const u8 server_priv[32] = { 0x48, 0x6f, 0x73, 0x74, 0x69, 0x6c, 0x65, 0x21 };

struct conn {
	int fd;
	struct tls13_sim sim;
	bool keys;
	u8 ch[TLS13_MAX_RECORD];
	size_t ch_len;
	u8 sh[512];
	size_t sh_len;
};

static u8 psk[32];

static int send_all(int fd, const u8 *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int recv_exact(int fd, u8 *p, size_t n)
{
	while (n) {
		ssize_t r = recv(fd, p, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (r == 0)
			return -ECONNRESET;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One record into buf; its total length, or a negative errno. */
static int recv_record(int fd, u8 *buf, size_t cap)
{
	size_t len;
	int r = recv_exact(fd, buf, TLS13_RECORD_HEADER);

	if (r < 0)
		return r;
	len = tls13_get_u16(buf + 3);
	if (TLS13_RECORD_HEADER + len > cap)
		return -EMSGSIZE;
	r = recv_exact(fd, buf + TLS13_RECORD_HEADER, len);
	return r < 0 ? r : (int)(TLS13_RECORD_HEADER + len);
}

static int send_hex(int fd, const char *hex)
{
	u8 b[256];
	size_t n = strlen(hex) / 2, i;

	if (n > sizeof(b))
		return -1;
	for (i = 0; i < n; i++) {
		unsigned int v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		b[i] = (u8)v;
	}
	return send_all(fd, b, n);
}

/* A ServerHello or HelloRetryRequest message (x25519 share of 32 0x09 bytes: u = 9). */
static size_t build_sh(u8 *m, const u8 *random, u16 hrr_group, bool hrr)
{
	size_t n = 4, ext;

	m[0] = TLS13_HS_SERVER_HELLO;
	m[n++] = 3;
	m[n++] = 3;
	memcpy(m + n, random, 32);
	n += 32;
	m[n++] = 0;				/* legacy_session_id_echo: empty, as sent */
	tls13_put_u16(m + n, TLS13_AES128_GCM_SHA256);
	n += 2;
	m[n++] = 0;
	ext = n;
	n += 2;
	memcpy(m + n, "\x00\x2b\x00\x02\x03\x04", 6);
	n += 6;
	if (hrr) {
		memcpy(m + n, "\x00\x33\x00\x02", 4);
		tls13_put_u16(m + n + 4, hrr_group);
		n += 6;
	} else {
		memcpy(m + n, "\x00\x33\x00\x24\x00\x1d\x00\x20", 8);
		memset(m + n + 8, 9, 32);
		n += 40;
		memcpy(m + n, "\x00\x29\x00\x02\x00\x00", 6);
		n += 6;
	}
	tls13_put_u16(m + ext, (u16)(n - ext - 2));
	tls13_put_u24(m + 1, (u32)(n - 4));
	return n;
}

static int send_message(int fd, const u8 *m, size_t n)
{
	u8 rec[TLS13_RECORD_HEADER + 512];
	size_t len;

	if (tls13_record_write_plain(TLS13_CT_HANDSHAKE, m, n, rec, sizeof(rec), &len) < 0)
		return -1;
	return send_all(fd, rec, len);
}

static int send_broken_sh(int fd, enum broken how)
{
	static const u8 random[32] = { 0x5a, 0x5a, 0x5a, 0x5a };
	u8 m[256];
	size_t n = build_sh(m, random, 0, false);

	switch (how) {
	case BROKEN_TRUNCATED:
		n = 4 + 2 + 32;
		tls13_put_u24(m + 1, (u32)(n - 4));
		break;
	case BROKEN_EXT_LEN:
		/* extensions length sits after version, random, session id, suite, compression */
		tls13_put_u16(m + 4 + 2 + 32 + 1 + 2 + 1,
			      (u16)(tls13_get_u16(m + 4 + 2 + 32 + 1 + 2 + 1) + 1));
		break;
	case BROKEN_HS_LEN:
		tls13_put_u24(m + 1, 0xffffff);
		break;
	}
	return send_message(fd, m, n);
}

static int send_sh(struct conn *c, int copies)
{
	u8 rec[TLS13_RECORD_HEADER + 1024];
	size_t len, body;
	int r;

	tls13_sim_init(&c->sim, TLS13_SHA256, psk);
	r = tls13_sim_server_hello(&c->sim, c->ch, c->ch_len, server_priv, c->sh, sizeof(c->sh),
				   &c->sh_len);
	if (r < 0 || !c->sim.binder_ok) {
		fprintf(stderr, "tls13-hostile: no ServerHello (%d, binder %s): is the PSK the client's?\n",
			r, c->sim.binder_ok ? "ok" : "wrong");
		return -1;
	}
	c->keys = true;
	if (copies == 1)
		return send_all(c->fd, c->sh, c->sh_len);
	body = c->sh_len - TLS13_RECORD_HEADER;
	memcpy(rec + TLS13_RECORD_HEADER, c->sh + TLS13_RECORD_HEADER, body);
	memcpy(rec + TLS13_RECORD_HEADER + body, c->sh + TLS13_RECORD_HEADER, body);
	if (tls13_record_write_plain(TLS13_CT_HANDSHAKE, rec + TLS13_RECORD_HEADER, 2 * body, rec,
				     sizeof(rec), &len) < 0)
		return -1;
	return send_all(c->fd, rec, len);
}

/* EncryptedExtensions (empty) + Finished as one protected record, like server_sim.c. */
static int send_ee_finished(struct conn *c, bool flip)
{
	u8 m[6 + 4 + TLS13_MAX_HASH] = { TLS13_HS_ENCRYPTED_EXTENSIONS, 0, 0, 2, 0, 0 };
	u8 th[TLS13_MAX_HASH], rec[TLS13_RECORD_HEADER + 128];
	struct tls13_sim *s = &c->sim;
	size_t len;

	memcpy(s->transcript + s->transcript_len, m, 6);
	s->transcript_len += 6;
	if (tls13_transcript_hash(s->hash, s->transcript, s->transcript_len, th) < 0 ||
	    tls13_ks_finished(s->hash, s->s_hs, th, m + 10) < 0)
		return -1;
	m[6] = TLS13_HS_FINISHED;
	tls13_put_u24(m + 7, (u32)s->hlen);
	if (flip)
		m[10 + s->hlen - 1] ^= 0x01;
	if (tls13_record_seal(&s->wr, TLS13_CT_HANDSHAKE, m, 10 + s->hlen, rec, sizeof(rec),
			      &len) < 0)
		return -1;
	return send_all(c->fd, rec, len);
}

static int run_step(struct conn *c, const struct step *st)
{
	u8 m[256];
	int r;

	switch (st->op) {
	case OP_END:
		return 0;
	case OP_READ_CH:
		r = recv_record(c->fd, c->ch, sizeof(c->ch));
		if (r < 0 || c->ch[0] != TLS13_CT_HANDSHAKE || c->ch[5] != TLS13_HS_CLIENT_HELLO) {
			fprintf(stderr, "tls13-hostile: no ClientHello (%d)\n", r);
			return -1;
		}
		c->ch_len = (size_t)r;
		return 0;
	case OP_HEX:
		return send_hex(c->fd, st->hex);
	case OP_SH:
		return send_sh(c, st->arg);
	case OP_SH_AGAIN:
		return send_all(c->fd, c->sh, c->sh_len);
	case OP_EE_FIN:
		return send_ee_finished(c, st->arg);
	case OP_HRR:
		return send_message(c->fd, m, build_sh(m, hrr_random, (u16)st->arg, true));
	case OP_SH_BROKEN:
		return send_broken_sh(c->fd, (enum broken)st->arg);
	case OP_SHUT_WR:
		return shutdown(c->fd, SHUT_WR);
	}
	return -1;
}

/*
 * Read the client until it closes; the last alert it sent, NO_ALERT, or -2 when it
 * neither closed nor sent anything within CONN_TIMEOUT (a hang).
 */
static int read_client_alert(struct conn *c)
{
	u8 rec[TLS13_MAX_RECORD], *inner, type;
	size_t ilen;
	int alert = NO_ALERT, r;

	for (;;) {
		r = recv_record(c->fd, rec, sizeof(rec));
		if (r == -ETIMEDOUT)
			return -2;
		if (r < 0)
			return alert;
		if (rec[0] == TLS13_CT_ALERT && r == TLS13_RECORD_HEADER + 2)
			alert = rec[6];
		if (rec[0] == TLS13_CT_APPLICATION_DATA && c->keys &&
		    tls13_record_open(&c->sim.rd, rec, (size_t)r, &inner, &ilen, &type) == 0 &&
		    type == TLS13_CT_ALERT && ilen == 2)
			alert = inner[1];
	}
}

static void add_count(int *keys, int *counts, int *n, int key)
{
	int i;

	for (i = 0; i < *n; i++)
		if (keys[i] == key)
			break;
	if (i == *n) {
		if (*n == 16)
			return;
		keys[i] = key;
		counts[i] = 0;
		(*n)++;
	}
	counts[i]++;
}

static int serve(const struct mode *md, int port, int count)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((u16)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = CONN_TIMEOUT };
	int keys[16], counts[16], nk = 0, ok = 0, hung = 0, errors = 0, i, lfd, one = 1;
	static struct conn c;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 16) < 0) {
		fprintf(stderr, "tls13-hostile: cannot listen on 127.0.0.1:%d: %s\n", port,
			strerror(errno));
		return 2;
	}
	if (port == 0) {
		/* --port 0: the kernel picks a free port; say which (tests on a busy host). */
		socklen_t len = sizeof(sa);

		if (getsockname(lfd, (struct sockaddr *)&sa, &len) < 0) {
			fprintf(stderr, "tls13-hostile: getsockname: %s\n", strerror(errno));
			return 2;
		}
		printf("port=%d\n", ntohs(sa.sin_port));
		fflush(stdout);
	}
	/* An accept that never comes ends the run: the driver hung or never connected. */
	setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){ .tv_sec = 120 },
		   sizeof(struct timeval));
	for (i = 0; i < count; i++) {
		const struct step *st;
		int alert;

		memset(&c, 0, sizeof(c));
		c.fd = accept(lfd, NULL, NULL);
		if (c.fd < 0) {
			fprintf(stderr, "tls13-hostile: accept %d/%d: %s\n", i + 1, count,
				strerror(errno));
			break;
		}
		setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		for (st = md->steps; st < md->steps + MAX_STEPS && st->op != OP_END; st++)
			if (run_step(&c, st) < 0)
				break;
		if (st < md->steps + MAX_STEPS && st->op != OP_END) {
			errors++;
			alert = -3;
		} else {
			alert = read_client_alert(&c);
		}
		if (alert == -2)
			hung++;
		if (alert == md->alert)
			ok++;
		add_count(keys, counts, &nk, alert);
		if (c.keys)
			tls13_sim_done(&c.sim);
		close(c.fd);
	}
	close(lfd);
	printf("tls13-hostile: mode=%s conns=%d alert_ok=%d alerts=", md->name, i, ok);
	for (i = 0; i < nk; i++) {
		const char *what = keys[i] == NO_ALERT ? "none" : keys[i] == -2 ? "hung" : "error";

		if (keys[i] >= 0)
			printf("%s%d:%d", i ? "," : "", keys[i], counts[i]);
		else
			printf("%s%s:%d", i ? "," : "", what, counts[i]);
	}
	printf(" hung=%d errors=%d\n", hung, errors);
	fflush(stdout);
	return ok == count && !hung && !errors ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *mode = NULL, *psk_file = NULL;
	const struct mode *md = NULL;
	int port = 0, count = 1, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--list")) {
			for (md = hostile_modes; md < hostile_modes + ARRAY_SIZE(hostile_modes); md++) {
				if (md->alert == NO_ALERT)
					printf("%s %d none\n", md->name, md->status);
				else
					printf("%s %d %d\n", md->name, md->status, md->alert);
			}
			return 0;
		} else if (i + 1 < argc && !strcmp(argv[i], "--mode")) {
			mode = argv[++i];
		} else if (i + 1 < argc && !strcmp(argv[i], "--port")) {
			port = atoi(argv[++i]);
		} else if (i + 1 < argc && !strcmp(argv[i], "--count")) {
			count = atoi(argv[++i]);
		} else if (i + 1 < argc && !strcmp(argv[i], "--psk-file")) {
			psk_file = argv[++i];
		} else {
			fprintf(stderr, "usage: tls13-hostile --list | --mode NAME --port PORT "
					"--count N [--psk-file FILE]\n");
			return 2;
		}
	}
	for (i = 0; mode && i < (int)ARRAY_SIZE(hostile_modes); i++)
		if (!strcmp(hostile_modes[i].name, mode))
			md = &hostile_modes[i];
	if (!md || port < 0 || port > 65535 || count < 1) {
		fprintf(stderr, "tls13-hostile: need a known --mode (see --list), --port and --count\n");
		return 2;
	}
	if (psk_file) {
		FILE *f = fopen(psk_file, "rb");

		if (!f || fread(psk, 1, sizeof(psk), f) != sizeof(psk)) {
			fprintf(stderr, "tls13-hostile: %s must hold a 32-byte SHA-256 PSK\n",
				psk_file);
			return 2;
		}
		fclose(f);
	}
	return serve(md, port, count);
}
