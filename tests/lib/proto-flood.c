/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proto-flood: a TEST-ONLY hostile client for keyd's socket. Never installed.
 *
 *   proto-flood SOCKET check        one connection: each kind of malformed record,
 *                                   checking the ERROR reply's errno for each
 *   proto-flood SOCKET flood ROUNDS ROUNDS connections, each sending every kind
 *                                   of malformed record without reading replies,
 *                                   then closing
 *
 * Kinds: truncated header, payload shorter than its length, oversized record
 * (larger than any message), payload length above the limit, wrong version,
 * bad magic, a reply type sent as a request, unknown type, a TLV running past
 * the end, random bytes. Prints a summary; exit 0 when all checks held, 1 not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "macro.h"
#include "parse.h"
#include "proto.h"

static uint8_t big[KEYD_PROTO_MESSAGE_MAX + 512];

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static size_t header(uint8_t *b, const char *magic, uint16_t version, uint16_t type, uint32_t id,
		     uint32_t len)
{
	uint16_t v = htons(version), t = htons(type);
	uint32_t i = htonl(id), l = htonl(len);

	memcpy(b, magic, 4);
	memcpy(b + 4, &v, 2);
	memcpy(b + 6, &t, 2);
	memcpy(b + 8, &i, 4);
	memcpy(b + 12, &l, 4);
	return 16;
}

struct kind {
	const char *name;
	int expect;  /* errno of the ERROR reply; 0: any ERROR */
	bool closes; /* the server closes after it */
};

static const struct kind kinds[] = {
	{ "truncated header", EBADMSG, false },
	{ "short payload", EBADMSG, false },
	{ "payload length over the limit", EMSGSIZE, false },
	{ "wrong version", EPROTONOSUPPORT, false },
	{ "bad magic", EBADMSG, false },
	{ "reply type as request", EBADMSG, false },
	{ "unknown type", EOPNOTSUPP, false },
	{ "TLV past the end", EBADMSG, false },
	{ "random bytes", 0, false },
	{ "oversized record", EMSGSIZE, true },
};

/* Build record number k into big; its length. */
static size_t build(size_t k, uint32_t id)
{
	size_t n;

	switch (k) {
	case 0:
		memcpy(big, "KEYD\0\1", 6);
		return 6;
	case 1:
		n = header(big, "KEYD", 1, KEYD_PROTO_PROVISION, id, 40);
		memset(big + n, 0, 8);
		return n + 8;
	case 2:
		return header(big, "KEYD", 1, KEYD_PROTO_STATUS, id, KEYD_PROTO_PAYLOAD_MAX + 1);
	case 3:
		return header(big, "KEYD", 2, KEYD_PROTO_STATUS, id, 0);
	case 4:
		return header(big, "KEYX", 1, KEYD_PROTO_STATUS, id, 0);
	case 5:
		return header(big, "KEYD", 1, KEYD_PROTO_STATUS_REPLY, id, 0);
	case 6:
		return header(big, "KEYD", 1, 0x7777, id, 0);
	case 7:
		n = header(big, "KEYD", 1, KEYD_PROTO_PROVISION, id, 6);
		memcpy(big + n, "\x00\x20\x00\x40zz", 6); /* keyring, 64 bytes claimed, 2 there */
		return n + 6;
	case 8: {
		uint16_t len;

		if (getrandom(&len, sizeof(len), 0) != sizeof(len))
			len = 77;
		len = (uint16_t)(len % 2048 + 1);
		if (getrandom(big, len, 0) != len)
			memset(big, 0x5a, len);
		return len;
	}
	default:
		n = header(big, "KEYD", 1, KEYD_PROTO_STATUS, id, 0);
		memset(big + n, 0xa5, sizeof(big) - n);
		return sizeof(big);
	}
}

static int check(const char *path)
{
	static uint8_t rbuf[KEYD_PROTO_MESSAGE_MAX + 1];
	int fd = connect_to(path), bad = 0;

	if (fd < 0) {
		fprintf(stderr, "connect: %s\n", strerror(-fd));
		return 1;
	}
	for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
		struct keyd_proto_msg m;
		size_t len = build(k, (uint32_t)(100 + k));
		uint32_t e = 0;
		ssize_t n;

		if (send(fd, big, len, MSG_NOSIGNAL) != (ssize_t)len) {
			printf("%-32s send failed: %m\n", kinds[k].name);
			bad++;
			continue;
		}
		n = recv(fd, rbuf, sizeof(rbuf), 0);
		if (n <= 0 ||
		    keyd_proto_decode(rbuf, (size_t)n, KEYD_PROTO_EXPECT_REPLY, &m, NULL) < 0 ||
		    m.type != KEYD_PROTO_ERROR || keyd_proto_get_u32(&m, KEYD_TAG_ERRNO, &e) < 0) {
			printf("%-32s no ERROR reply\n", kinds[k].name);
			bad++;
			continue;
		}
		if (kinds[k].expect && (int)e != kinds[k].expect) {
			printf("%-32s ERROR %u, expected %d\n", kinds[k].name, e, kinds[k].expect);
			bad++;
			continue;
		}
		printf("%-32s ERROR %u (%s)\n", kinds[k].name, e, strerror((int)e));
		/* The connection survives a malformed record, but for the random kind (it
		 * counts like any other) and until the oversized one closes it. */
	}
	/* After the oversized record the server has closed the connection. */
	if (recv(fd, rbuf, sizeof(rbuf), 0) != 0) {
		printf("connection not closed after the oversized record\n");
		bad++;
	}
	close(fd);
	return bad ? 1 : 0;
}

static int flood(const char *path, uint32_t rounds)
{
	unsigned long sent = 0, refused = 0;

	for (uint32_t i = 0; i < rounds; i++) {
		int fd = connect_to(path);

		if (fd < 0) {
			refused++;
			continue;
		}
		/* Less than CLIENT_BAD_MAX records on the connection, in a rotating
		 * order, none of the replies read; the oversized one last. */
		for (size_t j = 0; j < 6; j++) {
			size_t k = (i + j) % (ELEMENTSOF(kinds) - 1);
			size_t len = build(k, i);

			if (send(fd, big, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len)
				sent++;
		}
		if (i % 4 == 0 &&
		    send(fd, big, build(ELEMENTSOF(kinds) - 1, i), MSG_NOSIGNAL | MSG_DONTWAIT) > 0)
			sent++;
		close(fd);
	}
	printf("flood: %u connections, %lu malformed records sent, %lu connects failed\n", rounds,
	       sent, refused);
	return refused == rounds ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint32_t rounds;

	if (argc == 3 && streq(argv[2], "check"))
		return check(argv[1]);
	if (argc == 4 && streq(argv[2], "flood") && keyd_parse_u32(argv[3], 10, &rounds) >= 0)
		return flood(argv[1], rounds);
	fprintf(stderr, "usage: proto-flood SOCKET check | proto-flood SOCKET flood ROUNDS\n");
	return 2;
}
