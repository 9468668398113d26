/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The keyd socket protocol (docs/protocol.md): encode, decode, validate.
 * Transport-agnostic; keyd uses one message per SOCK_SEQPACKET record on
 * /run/keyd/keyd.sock.
 *
 * A message is a 16-byte header (all integers big-endian)
 *   "KEYD" | version u16 | type u16 | request id u32 | payload length u32
 * followed by the payload: TLV fields (tag u16, length u16, value) in ascending
 * tag order. Which tags a message type allows or requires, their kinds and
 * bounds, come from one declarative table in proto.c; the decoder enforces it
 * and the encoder refuses to produce anything the decoder would reject.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYD_PROTO_MAGIC "KEYD"
#define KEYD_PROTO_VERSION 1
#define KEYD_PROTO_HEADER_SIZE 16
#define KEYD_PROTO_PAYLOAD_MAX (64 * 1024)
#define KEYD_PROTO_MESSAGE_MAX (KEYD_PROTO_HEADER_SIZE + KEYD_PROTO_PAYLOAD_MAX)
#define KEYD_PROTO_FIELDS_MAX 32 /* >= the sum of max counts of any message type */
#define KEYD_PROTO_SOCKET_PATH "/run/keyd/keyd.sock"

/* Message types. A reply's type is its request's type | 0x8000; ERROR answers any. */
enum keyd_proto_type {
	KEYD_PROTO_STATUS = 0x0001,
	KEYD_PROTO_PROVISION = 0x0002,
	KEYD_PROTO_RELOAD = 0x0003,
	KEYD_PROTO_SIGN = 0x0010,
	KEYD_PROTO_GET_PUBKEY = 0x0011,
	KEYD_PROTO_REQUEST_KEY = 0x0020,
	KEYD_PROTO_STATUS_REPLY = 0x8001,
	KEYD_PROTO_PROVISION_REPLY = 0x8002,
	KEYD_PROTO_RELOAD_REPLY = 0x8003,
	KEYD_PROTO_SIGN_REPLY = 0x8010,
	KEYD_PROTO_GET_PUBKEY_REPLY = 0x8011,
	KEYD_PROTO_REQUEST_KEY_REPLY = 0x8020,
	KEYD_PROTO_ERROR = 0xffff,
};
#define KEYD_PROTO_REPLY_BIT 0x8000

/* Field tags. One registry for all types: a tag has one kind and one set of
 * bounds wherever it appears. */
enum keyd_proto_tag {
	KEYD_TAG_ERRNO = 0x0001,          /* u32, 1..4095 */
	KEYD_TAG_MESSAGE = 0x0002,        /* string, 1..1024 */
	KEYD_TAG_DAEMON_VERSION = 0x0010, /* string, 1..64 */
	KEYD_TAG_PROTO_MAX = 0x0011,      /* u32, 1..65535: highest protocol version spoken */
	KEYD_TAG_UPTIME = 0x0012,         /* u64, seconds */
	KEYD_TAG_STATE = 0x0013,          /* string, 1..32 ("starting", "ready", "degraded") */
	KEYD_TAG_KEYRING_COUNT = 0x0014,  /* u32 */
	KEYD_TAG_LAST_ERRNO = 0x0015,     /* u32, 0..4095: result of the last provisioning pass */
	KEYD_TAG_LAST_TIME = 0x0016,      /* u64, Unix seconds of the last provisioning pass */
	KEYD_TAG_KEYRING = 0x0020,        /* string, 1..255: one keyring by policy name */
	KEYD_TAG_FLAGS = 0x0021,          /* u32, bit mask (KEYD_PROTO_FLAG_*) */
	KEYD_TAG_PROVISIONED = 0x0022,    /* u32 */
	KEYD_TAG_FAILED = 0x0023,         /* u32 */
	KEYD_TAG_GENERATION = 0x0024,     /* u64 */
	KEYD_TAG_KEY_NAME = 0x0030,       /* string, 1..64 */
	KEYD_TAG_SCHEME = 0x0031,         /* u32, enum keyd_proto_scheme */
	KEYD_TAG_HASH = 0x0032,           /* u32, enum keyd_proto_hash */
	KEYD_TAG_DIGEST = 0x0033,         /* bytes, 32..64, = the hash's size */
	KEYD_TAG_SIGNATURE = 0x0034,      /* bytes, 1..1024 */
	KEYD_TAG_SPKI = 0x0035,           /* bytes, 1..4096: SubjectPublicKeyInfo DER */
	KEYD_TAG_CERT = 0x0036,           /* bytes, 1..16384, repeated: X.509 DER, leaf first */
	KEYD_TAG_KEY_TYPE = 0x0040,       /* string, 1..31 */
	KEYD_TAG_DESCRIPTION = 0x0041,    /* string, 1..4095 */
	KEYD_TAG_UID = 0x0042,            /* u32 */
	KEYD_TAG_GID = 0x0043,            /* u32 */
	KEYD_TAG_CALLOUT = 0x0044,        /* string, 1..1024 */
	KEYD_TAG_PAYLOAD = 0x0045,        /* bytes, 1..32767: KEY MATERIAL */
	KEYD_TAG_TIMEOUT = 0x0046,        /* u32, seconds */
};

#define KEYD_PROTO_FLAG_DRY_RUN 0x1u /* PROVISION: build and check, link nothing */
#define KEYD_PROTO_FLAGS_ALL 0x1u

enum keyd_proto_scheme {
	KEYD_PROTO_SCHEME_RSA_PKCS1 = 1, /* RSASSA-PKCS1-v1_5 */
	KEYD_PROTO_SCHEME_RSA_PSS = 2,   /* RSASSA-PSS, salt length = hash length */
	KEYD_PROTO_SCHEME_ECDSA = 3,     /* signature as DER ECDSA-Sig-Value */
};

enum keyd_proto_hash {
	KEYD_PROTO_HASH_SHA256 = 1,
	KEYD_PROTO_HASH_SHA384 = 2,
	KEYD_PROTO_HASH_SHA512 = 3,
};

/* Why a message was rejected. Each class also maps to an errno (see decode). */
enum keyd_proto_reject {
	KEYD_PROTO_OK = 0,
	KEYD_PROTO_TRUNCATED,     /* -EBADMSG: shorter than its header or lengths say */
	KEYD_PROTO_OVERSIZED,     /* -EMSGSIZE: payload length above the limit, or trailing bytes */
	KEYD_PROTO_BAD_MAGIC,     /* -EBADMSG */
	KEYD_PROTO_BAD_VERSION,   /* -EPROTONOSUPPORT */
	KEYD_PROTO_UNKNOWN_TYPE,  /* -EOPNOTSUPP */
	KEYD_PROTO_WRONG_DIRECTION, /* -EBADMSG: a reply where a request was expected or back */
	KEYD_PROTO_UNKNOWN_TAG,   /* -EBADMSG: tag not allowed in this message type */
	KEYD_PROTO_DUPLICATE_TAG, /* -EBADMSG: more instances than the type allows */
	KEYD_PROTO_BAD_ORDER,     /* -EBADMSG: tags not in ascending order */
	KEYD_PROTO_MISSING_TAG,   /* -EBADMSG: a required tag is absent */
	KEYD_PROTO_BAD_LENGTH,    /* -EBADMSG: wrong size of a fixed-size field, or out of bounds */
	KEYD_PROTO_BAD_STRING,    /* -EBADMSG: not UTF-8, or contains NUL */
	KEYD_PROTO_BAD_VALUE,     /* -EBADMSG: a number out of range, or fields that disagree */
	_KEYD_PROTO_REJECT_MAX,
};

struct keyd_proto_error {
	enum keyd_proto_reject reason;
	uint16_t type; /* the message type, when the header got that far */
	uint16_t tag;  /* the offending tag, 0 if none */
	uint32_t id;   /* the request id, when at least 12 bytes arrived (for the ERROR reply) */
};

const char *keyd_proto_reject_to_string(enum keyd_proto_reject r); /* "truncated", ... */
/* "bad length: tag 0x0033 (digest) in SIGN" for logs and ERROR replies. */
void keyd_proto_error_format(const struct keyd_proto_error *e, char *buf, size_t size);
const char *keyd_proto_type_to_string(uint16_t type); /* "SIGN", NULL if unknown */
const char *keyd_proto_tag_to_string(uint16_t tag);   /* "digest", NULL if unknown */
static inline bool keyd_proto_type_is_reply(uint16_t type)
{
	return type & KEYD_PROTO_REPLY_BIT;
}

/* A field: a view into the buffer the message was decoded from (or the
 * builder's storage). */
struct keyd_proto_field {
	uint16_t tag;
	uint16_t len;
	const uint8_t *value;
};

struct keyd_proto_msg {
	uint16_t version;
	uint16_t type;
	uint32_t id;
	size_t n_fields;
	struct keyd_proto_field fields[KEYD_PROTO_FIELDS_MAX];
	/* Builder state: a sticky error and storage for big-endian numbers (so a
	 * built message must not be copied by value while its fields are in use). */
	int error;
	uint8_t numbers[KEYD_PROTO_FIELDS_MAX][8];
};

/* What the decoder expects: a server decodes requests, a client replies. */
enum keyd_proto_expect {
	KEYD_PROTO_EXPECT_ANY,
	KEYD_PROTO_EXPECT_REQUEST,
	KEYD_PROTO_EXPECT_REPLY,
};

/* Stream transports: from at least KEYD_PROTO_HEADER_SIZE bytes, the size of the
 * whole message (header + payload), after checking magic, version and the
 * payload bound. -EAGAIN with fewer bytes; other errors as decode. ret_error may
 * be NULL. */
int keyd_proto_frame_size(const void *buf, size_t len, size_t *ret_size,
			  struct keyd_proto_error *ret_error);

/* Decode exactly one message filling buf[0..len). Fields in ret point into buf,
 * which must outlive ret (and be wiped by its owner if it held key material).
 * On failure -errno (see enum keyd_proto_reject) with the class in ret_error
 * (may be NULL). Never reads outside buf. */
int keyd_proto_decode(const void *buf, size_t len, enum keyd_proto_expect expect,
		      struct keyd_proto_msg *ret, struct keyd_proto_error *ret_error);

/* Encode a message (fields in any order: they are emitted sorted by tag, repeated
 * tags in the order given) and validate the result with the decoder, so nothing
 * invalid leaves. *ret is heap memory that may hold key material: release it with
 * keyd_proto_buffer_free(). -EINVAL with ret_error when the message breaks the
 * table, -EMSGSIZE when it would exceed KEYD_PROTO_PAYLOAD_MAX. */
int keyd_proto_encode(const struct keyd_proto_msg *m, uint8_t **ret, size_t *ret_len,
		      struct keyd_proto_error *ret_error);
void keyd_proto_buffer_free(uint8_t *buf, size_t len); /* erases, accepts NULL */

/* Building a message: init, then append fields. Bytes and strings are referenced,
 * not copied, until keyd_proto_encode(); numbers are stored in m. Errors are
 * sticky in m (and returned): -ENOBUFS past KEYD_PROTO_FIELDS_MAX, -EMSGSIZE for
 * a value longer than 65535 bytes; keyd_proto_encode() then fails with it. */
void keyd_proto_msg_init(struct keyd_proto_msg *m, uint16_t type, uint32_t id);
int keyd_proto_add_bytes(struct keyd_proto_msg *m, uint16_t tag, const void *value, size_t len);
int keyd_proto_add_string(struct keyd_proto_msg *m, uint16_t tag, const char *s);
int keyd_proto_add_u32(struct keyd_proto_msg *m, uint16_t tag, uint32_t v);
int keyd_proto_add_u64(struct keyd_proto_msg *m, uint16_t tag, uint64_t v);
/* An ERROR reply to request id: errno (positive or negative) and a message
 * (may be NULL; cut at 1024 bytes on a UTF-8 boundary). Encoded into *ret. */
int keyd_proto_encode_error(uint32_t id, int error, const char *message, uint8_t **ret,
			    size_t *ret_len);

/* Accessors on a decoded (hence validated) message. -ENOENT when absent. */
int keyd_proto_get_u32(const struct keyd_proto_msg *m, uint16_t tag, uint32_t *ret);
int keyd_proto_get_u64(const struct keyd_proto_msg *m, uint16_t tag, uint64_t *ret);
/* The n-th instance (0-based) of a bytes or string field, as a view. */
int keyd_proto_get_bytes(const struct keyd_proto_msg *m, uint16_t tag, size_t n,
			 const uint8_t **ret, size_t *ret_len);
/* A string field copied NUL-terminated into buf; -ENOBUFS if it does not fit. */
int keyd_proto_get_string(const struct keyd_proto_msg *m, uint16_t tag, char *buf, size_t size);
/* Number of instances of tag. */
size_t keyd_proto_count(const struct keyd_proto_msg *m, uint16_t tag);

/* Size in bytes of a digest for the hash (32, 48, 64), 0 if unknown. */
size_t keyd_proto_hash_size(uint32_t hash);
