/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libkeyd-client: the client side of keyd's socket (docs/protocol.md), used by
 * keyd-ctl, keyd-request-key, keyd-handshaked, the OpenSSL provider and the
 * GnuTLS adapter. It is loaded into other programs, so it never exits, aborts,
 * logs above debug or touches signal handlers (SIGPIPE is avoided with
 * MSG_NOSIGNAL); every wait has a timeout. Functions return >= 0 or -errno:
 *   -ENOENT, -ECONNREFUSED  keyd is not running (no socket, or nobody accepts)
 *   -EACCES                 the socket exists but the caller may not connect
 *   -ETIMEDOUT              keyd did not accept or answer in time
 *   -EPROTO                 keyd answered something that is not a reply to the request
 *   other                   the errno of an ERROR reply (keyd_client_last_error()
 *                           then gives its message) or of a failed system call
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define KEYD_CLIENT_DEFAULT_TIMEOUT_MS 30000
#define KEYD_CLIENT_PATH_MAX 4096
/* The daemon's detailed status report, in the socket's directory (see keyd(8)). */
#define KEYD_CLIENT_REPORT_NAME "status.json"
#define KEYD_CLIENT_REPORT_MAX (4 * 1024 * 1024)

typedef struct keyd_client keyd_client;

/* The socket to use: path if not NULL, else $KEYD_SOCKET, else
 * KEYD_PROTO_SOCKET_PATH. The result is not copied: it points at path, the
 * environment or a constant. */
const char *keyd_client_socket_path(const char *path);

/* Connect to path (as keyd_client_socket_path()), waiting at most timeout_ms
 * (<= 0: KEYD_CLIENT_DEFAULT_TIMEOUT_MS) for the daemon to accept; the same
 * timeout bounds each later send and receive. *ret is freed with
 * keyd_client_free(). */
int keyd_client_connect(const char *path, int timeout_ms, keyd_client **ret);
keyd_client *keyd_client_free(keyd_client *c); /* accepts NULL; wipes the buffers */

/* Send req (its request id is set here) and receive the reply to it. On success
 * *ret_reply is the decoded reply, of type req's type | 0x8000; its fields point
 * into c and stay valid until the next call on c or keyd_client_free(). An ERROR
 * reply returns its -errno and keeps its message for keyd_client_last_error(). */
int keyd_client_call(keyd_client *c, struct keyd_proto_msg *req, struct keyd_proto_msg *ret_reply);

/* The message of the last ERROR reply, or a short description of the last local
 * failure ("" if none). Never NULL; valid until the next call on c. */
const char *keyd_client_last_error(const keyd_client *c);

struct keyd_client_status {
	char daemon_version[65];
	uint32_t proto_max;
	uint64_t uptime;       /* UINT64_MAX when not reported */
	char state[33];
	uint32_t keyring_count; /* UINT32_MAX when not reported */
	uint32_t last_errno;    /* UINT32_MAX when not reported */
	uint64_t last_time;     /* 0 when not reported */
};
/* STATUS, which every peer may ask. */
int keyd_client_status(keyd_client *c, struct keyd_client_status *ret);

/* The path of the detailed report for the socket at socket_path: its directory
 * plus KEYD_CLIENT_REPORT_NAME. -ENAMETOOLONG. */
int keyd_client_report_path(const char *socket_path, char *buf, size_t size);
/* Read the report: a regular file owned by root (or by the caller's euid),
 * writable by nobody else, at most KEYD_CLIENT_REPORT_MAX bytes. NUL-terminated.
 * -ENOENT none, -EACCES not readable by the caller, -EPERM wrong owner or mode. */
int keyd_client_read_report(const char *socket_path, char **ret, size_t *ret_len);

/* ---- signing with TPM-resident keys (SIGN, GET-PUBKEY; keyd/client/client-sign.c) ----
 * Used by the OpenSSL provider and the GnuTLS adapter. keyd checks that the
 * calling uid is granted the key ([signing] in the policy): -EACCES/-EPERM
 * otherwise, -ENOENT for an unknown key, -EINVAL for a scheme the key cannot
 * do (an ECDSA request for an RSA key, ...), -EIO when the TPM failed;
 * keyd_client_last_error() has keyd's message. */
#define KEYD_CLIENT_SIGNATURE_MAX 1024 /* the bound of the signature tag */
#define KEYD_CLIENT_CERTS_MAX 8        /* the bound of GET-PUBKEY-REPLY's cert count */
/* Timeouts the in-process consumers use (connect, then each sign). */
#define KEYD_CLIENT_CONNECT_TIMEOUT_MS 5000
#define KEYD_CLIENT_SIGN_TIMEOUT_MS 30000

/* Sign digest (the hash of the message, digest_len = the hash's size) with the
 * key named key_name (scheme: enum keyd_proto_scheme, hash: enum
 * keyd_proto_hash). The signature is copied to sig (sig_size bytes; -ENOBUFS
 * if it does not fit, KEYD_CLIENT_SIGNATURE_MAX always does): RSA as an octet
 * string of the modulus size, ECDSA as DER ECDSA-Sig-Value. -EINVAL for a
 * digest length that does not match the hash (nothing is sent). */
int keyd_client_sign(keyd_client *c, const char *key_name, uint32_t scheme, uint32_t hash,
		     const void *digest, size_t digest_len, void *sig, size_t sig_size,
		     size_t *ret_sig_len);

/* A key's public part, copied out of the reply (owned by the caller). */
struct keyd_client_pubkey {
	uint8_t *spki; /* SubjectPublicKeyInfo DER */
	size_t spki_len;
	size_t n_certs; /* 0..KEYD_CLIENT_CERTS_MAX; 0 when no certificate is enrolled */
	uint8_t *certs[KEYD_CLIENT_CERTS_MAX]; /* X.509 DER, leaf first, then its chain */
	size_t cert_lens[KEYD_CLIENT_CERTS_MAX];
};
/* GET-PUBKEY for key_name. *ret is freed with keyd_client_pubkey_free(). */
int keyd_client_get_pubkey(keyd_client *c, const char *key_name, struct keyd_client_pubkey **ret);
struct keyd_client_pubkey *keyd_client_pubkey_free(struct keyd_client_pubkey *p); /* accepts NULL */
