/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proto-send: a TEST-ONLY client sending one well-formed request to keyd's
 * socket and printing the reply. Never installed.
 *
 *   proto-send SOCKET status|provision|reload
 *
 * Prints "REPLY <TYPE>" (with "generation N" when the reply has one), or
 * "ERROR <errno>: <message>". Exit 0 for a reply, 1 for an ERROR, 2 when the
 * socket or the reply failed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "macro.h"
#include "proto.h"

int main(int argc, char **argv)
{
	static uint8_t rbuf[KEYD_PROTO_MESSAGE_MAX + 1];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 120 };
	struct keyd_proto_msg req, rep;
	char text[1025] = "";
	uint8_t *out = NULL;
	size_t out_len = 0;
	uint16_t type;
	uint64_t gen;
	uint32_t e;
	ssize_t n;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: proto-send SOCKET status|provision|reload\n");
		return 2;
	}
	if (streq(argv[2], "status"))
		type = KEYD_PROTO_STATUS;
	else if (streq(argv[2], "provision"))
		type = KEYD_PROTO_PROVISION;
	else if (streq(argv[2], "reload"))
		type = KEYD_PROTO_RELOAD;
	else
		return 2;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "connect '%s': %m\n", argv[1]);
		return 2;
	}
	keyd_proto_msg_init(&req, type, 7);
	if (keyd_proto_encode(&req, &out, &out_len, NULL) < 0 ||
	    send(fd, out, out_len, MSG_NOSIGNAL) != (ssize_t)out_len) {
		fprintf(stderr, "send: %m\n");
		return 2;
	}
	keyd_proto_buffer_free(out, out_len);
	n = recv(fd, rbuf, sizeof(rbuf), 0);
	close(fd);
	if (n <= 0 || keyd_proto_decode(rbuf, (size_t)n, KEYD_PROTO_EXPECT_REPLY, &rep, NULL) < 0) {
		fprintf(stderr, "no valid reply\n");
		return 2;
	}
	if (rep.type == KEYD_PROTO_ERROR) {
		if (keyd_proto_get_u32(&rep, KEYD_TAG_ERRNO, &e) < 0)
			e = 0;
		(void)keyd_proto_get_string(&rep, KEYD_TAG_MESSAGE, text, sizeof(text));
		printf("ERROR %u: %s\n", e, text);
		return 1;
	}
	printf("REPLY %s", keyd_proto_type_to_string(rep.type));
	if (keyd_proto_get_u64(&rep, KEYD_TAG_GENERATION, &gen) >= 0)
		printf(" generation %llu", (unsigned long long)gen);
	printf("\n");
	return 0;
}
