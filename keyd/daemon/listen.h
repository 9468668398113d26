/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The listening socket: SOCK_SEQPACKET at the configured path (docs/protocol.md).
 */
#pragma once

#include <sys/types.h>

struct keyd_listen {
	int fd;
	dev_t dev; /* of the socket inode we bound, so we remove only our own */
	ino_t ino;
};

/* Create the directory (0755, mkdir -p), replace a stale socket left by a keyd
 * that died (nobody accepts on it), refuse a live one (-EADDRINUSE) and anything
 * that is not a socket (-EEXIST), bind, make the socket 0666 (every peer may
 * connect; what it may ask is decided per message) and listen, non-blocking and
 * close-on-exec. */
int keyd_listen_open(const char *path, struct keyd_listen *ret);
/* Close, and unlink path when it is still the socket we bound. */
void keyd_listen_close(struct keyd_listen *l, const char *path);
