/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's handshake "accept" reply, parsed from raw netlink attribute bytes
 * (what follows the generic-netlink header) into a plain struct. No libnl here:
 * handshake/netlink.c receives the message and hands the attribute bytes over,
 * so the unit test and the fuzz target exercise exactly the code the daemon runs.
 *
 * Strict and bounded: every attribute is checked against a declarative rule
 * table (type, exact or maximum length, how often it may appear); a message that
 * breaks a rule is refused as a whole. Unknown attribute types are skipped (a
 * newer kernel may add some), but their framing is still checked.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handshake-protocol.h"
#include "keyring.h"

/* A peer name is a host name or an address: DNS names are at most 253 bytes. */
#define KEYD_HS_PEERNAME_MAX 255
/* The kernel sends at most one certificate nest today; a few more are tolerated
 * and kept, the first one is used. */
#define KEYD_HS_CERTS_MAX 4
/* A whole accept reply is far smaller than this (about 100 bytes). */
#define KEYD_HS_ATTRS_MAX_LEN 4096

struct keyd_hs_cert {
	keyd_serial_t cert;    /* 0 = none */
	keyd_serial_t privkey; /* 0 = none */
};

struct keyd_hs_request {
	int sockfd;
	uint32_t message_type; /* KEYD_HS_MSG_TYPE_CLIENTHELLO or _SERVERHELLO */
	uint32_t auth_mode;    /* KEYD_HS_AUTH_UNAUTH, _PSK or _X509 */
	uint32_t timeout_ms;   /* 0 = the kernel gave none */
	keyd_serial_t peerids[KEYD_HS_PEERIDS_MAX];
	size_t n_peerids;
	struct keyd_hs_cert certs[KEYD_HS_CERTS_MAX];
	size_t n_certs;
	char peername[KEYD_HS_PEERNAME_MAX + 1]; /* "" when absent */
	keyd_serial_t keyring;                   /* 0 = absent */
};

/* Parse len bytes of attributes. -EBADMSG for a malformed or rule-breaking
 * message, -EPROTO when a required attribute is missing or an enum value is
 * unknown; *ret_reason (may be NULL) then names the attribute and the rule, a
 * static string. ret is zeroed first and filled only on success. */
int keyd_hsmsg_accept_parse(const void *attrs, size_t len, struct keyd_hs_request *ret,
			    const char **ret_reason);

/* Names for log lines: "clienthello"/"serverhello", "unauth"/"psk"/"x509". Never NULL. */
const char *keyd_hsmsg_message_type_to_string(uint32_t t);
const char *keyd_hsmsg_auth_mode_to_string(uint32_t a);
