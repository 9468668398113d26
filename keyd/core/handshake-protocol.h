/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The numbers of the kernel's "handshake" generic-netlink family (net/handshake,
 * kernel 6.5+). Source: Documentation/netlink/specs/handshake.yaml and the
 * generated include/uapi/linux/handshake.h in Linux; peername (8) and keyring (9)
 * from net/handshake/tlshd.c of later kernels (keyring: 6.17+). Debian 12's
 * linux-libc-dev (6.1) has no uapi header for this family, so keyd keeps the
 * numbers here, in the one header both the parser (core/hsmsg.c) and the
 * netlink code (handshake/netlink.c) include. These are a stable kernel ABI:
 * never renumber.
 */
#pragma once

#define KEYD_HS_FAMILY_NAME "handshake"
#define KEYD_HS_FAMILY_VERSION 1
#define KEYD_HS_MCGRP_TLSHD "tlshd"

/* enum handler-class */
enum {
	KEYD_HS_HANDLER_CLASS_NONE = 0,
	KEYD_HS_HANDLER_CLASS_TLSHD = 1,
};

/* enum msg-type */
enum {
	KEYD_HS_MSG_TYPE_UNSPEC = 0,
	KEYD_HS_MSG_TYPE_CLIENTHELLO = 1,
	KEYD_HS_MSG_TYPE_SERVERHELLO = 2,
};

/* enum auth */
enum {
	KEYD_HS_AUTH_UNSPEC = 0,
	KEYD_HS_AUTH_UNAUTH = 1,
	KEYD_HS_AUTH_PSK = 2,
	KEYD_HS_AUTH_X509 = 3,
};

/* attribute-set x509 (nested in accept's certificate) */
enum {
	KEYD_HS_A_X509_CERT = 1,    /* u32 key serial */
	KEYD_HS_A_X509_PRIVKEY = 2, /* u32 key serial */
	KEYD_HS_A_X509_MAX = 2,
};

/* attribute-set accept */
enum {
	KEYD_HS_A_ACCEPT_SOCKFD = 1,        /* u32: the fd installed in the accepting process */
	KEYD_HS_A_ACCEPT_HANDLER_CLASS = 2, /* u32, in the request (and the ready notification) */
	KEYD_HS_A_ACCEPT_MESSAGE_TYPE = 3,  /* u32 msg-type */
	KEYD_HS_A_ACCEPT_TIMEOUT = 4,       /* u32 milliseconds; absent = none */
	KEYD_HS_A_ACCEPT_AUTH_MODE = 5,     /* u32 auth */
	KEYD_HS_A_ACCEPT_PEER_IDENTITY = 6, /* u32 key serial, multi-attr (the kernel sends <= 5) */
	KEYD_HS_A_ACCEPT_CERTIFICATE = 7,   /* nest x509, multi-attr */
	KEYD_HS_A_ACCEPT_PEERNAME = 8,      /* NUL-terminated string */
	KEYD_HS_A_ACCEPT_KEYRING = 9,       /* u32 key serial (6.17+) */
	KEYD_HS_A_ACCEPT_MAX = 9,
};

/* attribute-set done */
enum {
	KEYD_HS_A_DONE_STATUS = 1,      /* u32: 0 or a positive errno */
	KEYD_HS_A_DONE_SOCKFD = 2,      /* u32 */
	KEYD_HS_A_DONE_REMOTE_AUTH = 3, /* u32 key serial, multi-attr */
	KEYD_HS_A_DONE_MAX = 3,
};

/* operations */
enum {
	KEYD_HS_CMD_READY = 1,  /* notification on the tlshd group */
	KEYD_HS_CMD_ACCEPT = 2, /* needs CAP_NET_ADMIN; -EAGAIN when nothing is queued */
	KEYD_HS_CMD_DONE = 3,
};

/* net/handshake/tlshd.c keeps at most this many peer identities per request. */
#define KEYD_HS_PEERIDS_MAX 5
