/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The keyd socket protocol codec (docs/protocol.md). Everything a peer sends is
 * checked here against two tables: the tag registry (kind and bounds of every
 * tag) and the message table (which tags each type allows, how often). The
 * encoder runs the decoder over its own output, so the two cannot drift apart.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "proto.h"

enum kind {
	KIND_U32,
	KIND_U64,
	KIND_STRING,
	KIND_BYTES,
};

struct tag_spec {
	uint16_t tag;
	const char *name;
	enum kind kind;
	uint64_t min, max; /* numbers: value range; strings and bytes: length range */
};

/* Bounds: kernel limits where a field ends up in a key (description 4095, user
 * payload 32767, type name 31: security/keys), store name rules for key names
 * (64), errno values below 4096 (the kernel's MAX_ERRNO). */
static const struct tag_spec tags[] = {
	{ KEYD_TAG_ERRNO, "errno", KIND_U32, 1, 4095 },
	{ KEYD_TAG_MESSAGE, "message", KIND_STRING, 1, 1024 },
	{ KEYD_TAG_DAEMON_VERSION, "daemon-version", KIND_STRING, 1, 64 },
	{ KEYD_TAG_PROTO_MAX, "proto-max", KIND_U32, 1, 65535 },
	{ KEYD_TAG_UPTIME, "uptime", KIND_U64, 0, UINT64_MAX },
	{ KEYD_TAG_STATE, "state", KIND_STRING, 1, 32 },
	{ KEYD_TAG_KEYRING_COUNT, "keyring-count", KIND_U32, 0, UINT32_MAX },
	{ KEYD_TAG_LAST_ERRNO, "last-errno", KIND_U32, 0, 4095 },
	{ KEYD_TAG_LAST_TIME, "last-time", KIND_U64, 0, UINT64_MAX },
	{ KEYD_TAG_KEYRING, "keyring", KIND_STRING, 1, 255 },
	{ KEYD_TAG_FLAGS, "flags", KIND_U32, 0, KEYD_PROTO_FLAGS_ALL },
	{ KEYD_TAG_PROVISIONED, "provisioned", KIND_U32, 0, UINT32_MAX },
	{ KEYD_TAG_FAILED, "failed", KIND_U32, 0, UINT32_MAX },
	{ KEYD_TAG_GENERATION, "generation", KIND_U64, 0, UINT64_MAX },
	{ KEYD_TAG_KEY_NAME, "key-name", KIND_STRING, 1, 64 },
	{ KEYD_TAG_SCHEME, "scheme", KIND_U32, KEYD_PROTO_SCHEME_RSA_PKCS1,
	  KEYD_PROTO_SCHEME_ECDSA },
	{ KEYD_TAG_HASH, "hash", KIND_U32, KEYD_PROTO_HASH_SHA256, KEYD_PROTO_HASH_SHA512 },
	{ KEYD_TAG_DIGEST, "digest", KIND_BYTES, 32, 64 },
	{ KEYD_TAG_SIGNATURE, "signature", KIND_BYTES, 1, 1024 },
	{ KEYD_TAG_SPKI, "spki", KIND_BYTES, 1, 4096 },
	{ KEYD_TAG_CERT, "cert", KIND_BYTES, 1, 16384 },
	{ KEYD_TAG_KEY_TYPE, "key-type", KIND_STRING, 1, 31 },
	{ KEYD_TAG_DESCRIPTION, "description", KIND_STRING, 1, 4095 },
	{ KEYD_TAG_UID, "uid", KIND_U32, 0, UINT32_MAX },
	{ KEYD_TAG_GID, "gid", KIND_U32, 0, UINT32_MAX },
	{ KEYD_TAG_CALLOUT, "callout", KIND_STRING, 1, 1024 },
	{ KEYD_TAG_PAYLOAD, "payload", KIND_BYTES, 1, 32767 },
	{ KEYD_TAG_TIMEOUT, "timeout", KIND_U32, 0, UINT32_MAX },
};

struct field_rule {
	uint16_t tag;
	uint8_t min, max; /* instances: min 1 = required */
};

struct type_spec {
	uint16_t type;
	const char *name;
	const struct field_rule *rules;
	size_t n_rules;
	/* Rules that span fields; NULL if none. Returns a reject class. */
	enum keyd_proto_reject (*check)(const struct keyd_proto_msg *m, uint16_t *ret_tag);
};

static const struct field_rule status_reply_rules[] = {
	{ KEYD_TAG_DAEMON_VERSION, 1, 1 }, { KEYD_TAG_PROTO_MAX, 1, 1 },
	{ KEYD_TAG_UPTIME, 0, 1 },         { KEYD_TAG_STATE, 1, 1 },
	{ KEYD_TAG_KEYRING_COUNT, 0, 1 },  { KEYD_TAG_LAST_ERRNO, 0, 1 },
	{ KEYD_TAG_LAST_TIME, 0, 1 },
};
static const struct field_rule provision_rules[] = {
	{ KEYD_TAG_KEYRING, 0, 1 },
	{ KEYD_TAG_FLAGS, 0, 1 },
};
static const struct field_rule provision_reply_rules[] = {
	{ KEYD_TAG_MESSAGE, 0, 1 },
	{ KEYD_TAG_PROVISIONED, 1, 1 },
	{ KEYD_TAG_FAILED, 1, 1 },
	{ KEYD_TAG_GENERATION, 0, 1 },
};
static const struct field_rule reload_reply_rules[] = {
	{ KEYD_TAG_GENERATION, 1, 1 },
};
static const struct field_rule sign_rules[] = {
	{ KEYD_TAG_KEY_NAME, 1, 1 },
	{ KEYD_TAG_SCHEME, 1, 1 },
	{ KEYD_TAG_HASH, 1, 1 },
	{ KEYD_TAG_DIGEST, 1, 1 },
};
static const struct field_rule sign_reply_rules[] = {
	{ KEYD_TAG_SIGNATURE, 1, 1 },
};
static const struct field_rule get_pubkey_rules[] = {
	{ KEYD_TAG_KEY_NAME, 1, 1 },
};
static const struct field_rule get_pubkey_reply_rules[] = {
	{ KEYD_TAG_SPKI, 1, 1 },
	{ KEYD_TAG_CERT, 0, 8 },
};
static const struct field_rule request_key_rules[] = {
	{ KEYD_TAG_KEY_TYPE, 1, 1 }, { KEYD_TAG_DESCRIPTION, 1, 1 }, { KEYD_TAG_UID, 1, 1 },
	{ KEYD_TAG_GID, 1, 1 },      { KEYD_TAG_CALLOUT, 0, 1 },
};
static const struct field_rule request_key_reply_rules[] = {
	{ KEYD_TAG_PAYLOAD, 1, 1 },
	{ KEYD_TAG_TIMEOUT, 0, 1 },
};
static const struct field_rule error_rules[] = {
	{ KEYD_TAG_ERRNO, 1, 1 },
	{ KEYD_TAG_MESSAGE, 0, 1 },
};

static enum keyd_proto_reject check_sign(const struct keyd_proto_msg *m, uint16_t *ret_tag);

#define RULES(r) r, ELEMENTSOF(r)
static const struct type_spec types[] = {
	{ KEYD_PROTO_STATUS, "STATUS", NULL, 0, NULL },
	{ KEYD_PROTO_PROVISION, "PROVISION", RULES(provision_rules), NULL },
	{ KEYD_PROTO_RELOAD, "RELOAD", NULL, 0, NULL },
	{ KEYD_PROTO_SIGN, "SIGN", RULES(sign_rules), check_sign },
	{ KEYD_PROTO_GET_PUBKEY, "GET-PUBKEY", RULES(get_pubkey_rules), NULL },
	{ KEYD_PROTO_REQUEST_KEY, "REQUEST-KEY", RULES(request_key_rules), NULL },
	{ KEYD_PROTO_STATUS_REPLY, "STATUS-REPLY", RULES(status_reply_rules), NULL },
	{ KEYD_PROTO_PROVISION_REPLY, "PROVISION-REPLY", RULES(provision_reply_rules), NULL },
	{ KEYD_PROTO_RELOAD_REPLY, "RELOAD-REPLY", RULES(reload_reply_rules), NULL },
	{ KEYD_PROTO_SIGN_REPLY, "SIGN-REPLY", RULES(sign_reply_rules), NULL },
	{ KEYD_PROTO_GET_PUBKEY_REPLY, "GET-PUBKEY-REPLY", RULES(get_pubkey_reply_rules), NULL },
	{ KEYD_PROTO_REQUEST_KEY_REPLY, "REQUEST-KEY-REPLY", RULES(request_key_reply_rules), NULL },
	{ KEYD_PROTO_ERROR, "ERROR", RULES(error_rules), NULL },
};

static const char *const reject_names[_KEYD_PROTO_REJECT_MAX] = {
	[KEYD_PROTO_OK] = "ok",
	[KEYD_PROTO_TRUNCATED] = "truncated",
	[KEYD_PROTO_OVERSIZED] = "oversized",
	[KEYD_PROTO_BAD_MAGIC] = "bad magic",
	[KEYD_PROTO_BAD_VERSION] = "unsupported version",
	[KEYD_PROTO_UNKNOWN_TYPE] = "unknown message type",
	[KEYD_PROTO_WRONG_DIRECTION] = "wrong direction",
	[KEYD_PROTO_UNKNOWN_TAG] = "unknown tag",
	[KEYD_PROTO_DUPLICATE_TAG] = "duplicate tag",
	[KEYD_PROTO_BAD_ORDER] = "tags out of order",
	[KEYD_PROTO_MISSING_TAG] = "missing tag",
	[KEYD_PROTO_BAD_LENGTH] = "bad length",
	[KEYD_PROTO_BAD_STRING] = "bad string",
	[KEYD_PROTO_BAD_VALUE] = "bad value",
};

static const struct tag_spec *tag_lookup(uint16_t tag)
{
	for (size_t i = 0; i < ELEMENTSOF(tags); i++)
		if (tags[i].tag == tag)
			return &tags[i];
	return NULL;
}

static const struct type_spec *type_lookup(uint16_t type)
{
	for (size_t i = 0; i < ELEMENTSOF(types); i++)
		if (types[i].type == type)
			return &types[i];
	return NULL;
}

const char *keyd_proto_reject_to_string(enum keyd_proto_reject r)
{
	if ((unsigned)r >= _KEYD_PROTO_REJECT_MAX)
		return NULL;
	return reject_names[r];
}

const char *keyd_proto_type_to_string(uint16_t type)
{
	const struct type_spec *t = type_lookup(type);
	return t ? t->name : NULL;
}

const char *keyd_proto_tag_to_string(uint16_t tag)
{
	const struct tag_spec *t = tag_lookup(tag);
	return t ? t->name : NULL;
}

void keyd_proto_error_format(const struct keyd_proto_error *e, char *buf, size_t size)
{
	const char *reason, *type, *tag;
	int n;

	if (!buf || size == 0)
		return;
	reason = keyd_proto_reject_to_string(e->reason);
	n = snprintf(buf, size, "%s", reason ? reason : "invalid");
	if (n < 0 || (size_t)n >= size)
		return;
	if (e->tag) {
		tag = keyd_proto_tag_to_string(e->tag);
		n += snprintf(buf + n, size - (size_t)n, ": tag 0x%04x (%s)", e->tag,
			      tag ? tag : "unknown");
		if (n < 0 || (size_t)n >= size)
			return;
	}
	type = e->type ? keyd_proto_type_to_string(e->type) : NULL;
	if (type)
		snprintf(buf + n, size - (size_t)n, " in %s", type);
}

size_t keyd_proto_hash_size(uint32_t hash)
{
	switch (hash) {
	case KEYD_PROTO_HASH_SHA256:
		return 32;
	case KEYD_PROTO_HASH_SHA384:
		return 48;
	case KEYD_PROTO_HASH_SHA512:
		return 64;
	default:
		return 0;
	}
}

/* ---- byte order --------------------------------------------------------------------- */

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* ---- validation ------------------------------------------------------------------- */

/* Well-formed UTF-8 (RFC 3629 section 4: no overlong forms, no surrogates, nothing
 * above U+10FFFF) without NUL. */
static bool utf8_is_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint8_t lo = 0x80, hi = 0xbf; /* range of the first continuation byte */

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			return false;
		if (len - i - 1 < n)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += n + 1;
	}
	return true;
}

static enum keyd_proto_reject check_value(const struct tag_spec *t, const uint8_t *v, size_t len)
{
	uint64_t x;

	switch (t->kind) {
	case KIND_U32:
		if (len != 4)
			return KEYD_PROTO_BAD_LENGTH;
		x = get_be32(v);
		break;
	case KIND_U64:
		if (len != 8)
			return KEYD_PROTO_BAD_LENGTH;
		x = get_be64(v);
		break;
	case KIND_STRING:
		if (len < t->min || len > t->max)
			return KEYD_PROTO_BAD_LENGTH;
		return utf8_is_valid(v, len) ? KEYD_PROTO_OK : KEYD_PROTO_BAD_STRING;
	case KIND_BYTES:
		return len < t->min || len > t->max ? KEYD_PROTO_BAD_LENGTH : KEYD_PROTO_OK;
	default:
		return KEYD_PROTO_BAD_VALUE;
	}
	return x < t->min || x > t->max ? KEYD_PROTO_BAD_VALUE : KEYD_PROTO_OK;
}

static const struct keyd_proto_field *find_field(const struct keyd_proto_msg *m, uint16_t tag,
						 size_t nth)
{
	for (size_t i = 0; i < m->n_fields; i++)
		if (m->fields[i].tag == tag && nth-- == 0)
			return &m->fields[i];
	return NULL;
}

static enum keyd_proto_reject check_sign(const struct keyd_proto_msg *m, uint16_t *ret_tag)
{
	const struct keyd_proto_field *hash = find_field(m, KEYD_TAG_HASH, 0);
	const struct keyd_proto_field *digest = find_field(m, KEYD_TAG_DIGEST, 0);

	/* Both are required, so present after the table check. */
	if (!hash || !digest || digest->len != keyd_proto_hash_size(get_be32(hash->value))) {
		*ret_tag = KEYD_TAG_DIGEST;
		return KEYD_PROTO_BAD_VALUE;
	}
	return KEYD_PROTO_OK;
}

static int reject_errno(enum keyd_proto_reject r)
{
	switch (r) {
	case KEYD_PROTO_OK:
		return 0;
	case KEYD_PROTO_OVERSIZED:
		return -EMSGSIZE;
	case KEYD_PROTO_BAD_VERSION:
		return -EPROTONOSUPPORT;
	case KEYD_PROTO_UNKNOWN_TYPE:
		return -EOPNOTSUPP;
	case KEYD_PROTO_TRUNCATED:
	case KEYD_PROTO_BAD_MAGIC:
	case KEYD_PROTO_WRONG_DIRECTION:
	case KEYD_PROTO_UNKNOWN_TAG:
	case KEYD_PROTO_DUPLICATE_TAG:
	case KEYD_PROTO_BAD_ORDER:
	case KEYD_PROTO_MISSING_TAG:
	case KEYD_PROTO_BAD_LENGTH:
	case KEYD_PROTO_BAD_STRING:
	case KEYD_PROTO_BAD_VALUE:
	case _KEYD_PROTO_REJECT_MAX:
		break;
	}
	return -EBADMSG;
}

static int reject(struct keyd_proto_error *e, enum keyd_proto_reject r, uint16_t type,
		  uint16_t tag)
{
	if (e)
		*e = (struct keyd_proto_error){ .reason = r, .type = type, .tag = tag };
	return reject_errno(r);
}

/* The header checks shared by frame_size and decode; *ret_payload = its length. */
static int check_header(const uint8_t *p, size_t len, uint32_t *ret_payload,
			struct keyd_proto_error *e)
{
	uint32_t plen;

	if (len < KEYD_PROTO_HEADER_SIZE)
		return reject(e, KEYD_PROTO_TRUNCATED, 0, 0);
	if (memcmp(p, KEYD_PROTO_MAGIC, 4) != 0)
		return reject(e, KEYD_PROTO_BAD_MAGIC, 0, 0);
	if (get_be16(p + 4) != KEYD_PROTO_VERSION)
		return reject(e, KEYD_PROTO_BAD_VERSION, 0, 0);
	plen = get_be32(p + 12);
	if (plen > KEYD_PROTO_PAYLOAD_MAX)
		return reject(e, KEYD_PROTO_OVERSIZED, get_be16(p + 6), 0);
	*ret_payload = plen;
	return 0;
}

int keyd_proto_frame_size(const void *buf, size_t len, size_t *ret_size,
			  struct keyd_proto_error *ret_error)
{
	uint32_t plen;
	int r;

	if (!buf || !ret_size)
		return -EINVAL;
	if (len < KEYD_PROTO_HEADER_SIZE)
		return -EAGAIN;
	r = check_header(buf, len, &plen, ret_error);
	if (r < 0)
		return r;
	*ret_size = KEYD_PROTO_HEADER_SIZE + (size_t)plen;
	return 0;
}

static int decode(const uint8_t *p, size_t len, enum keyd_proto_expect expect,
		  struct keyd_proto_msg *ret, struct keyd_proto_error *ret_error);

int keyd_proto_decode(const void *buf, size_t len, enum keyd_proto_expect expect,
		      struct keyd_proto_msg *ret, struct keyd_proto_error *ret_error)
{
	int r;

	if (!buf || !ret)
		return -EINVAL;
	if (ret_error)
		*ret_error = (struct keyd_proto_error){};
	r = decode(buf, len, expect, ret, ret_error);
	/* Whoever answers with ERROR needs the id, even from a message that failed. */
	if (r < 0 && ret_error && len >= 12)
		ret_error->id = get_be32((const uint8_t *)buf + 8);
	return r;
}

static int decode(const uint8_t *p, size_t len, enum keyd_proto_expect expect,
		  struct keyd_proto_msg *ret, struct keyd_proto_error *ret_error)
{
	const struct type_spec *ts;
	struct keyd_proto_msg m = {};
	uint8_t counts[KEYD_PROTO_FIELDS_MAX] = {};
	uint32_t plen;
	size_t off, end;
	uint16_t type, prev_tag = 0;
	int r;

	r = check_header(p, len, &plen, ret_error);
	if (r < 0)
		return r;
	type = get_be16(p + 6);
	if (len - KEYD_PROTO_HEADER_SIZE < plen)
		return reject(ret_error, KEYD_PROTO_TRUNCATED, type, 0);
	if (len - KEYD_PROTO_HEADER_SIZE > plen)
		return reject(ret_error, KEYD_PROTO_OVERSIZED, type, 0);
	ts = type_lookup(type);
	if (!ts)
		return reject(ret_error, KEYD_PROTO_UNKNOWN_TYPE, type, 0);
	if ((expect == KEYD_PROTO_EXPECT_REQUEST && keyd_proto_type_is_reply(type)) ||
	    (expect == KEYD_PROTO_EXPECT_REPLY && !keyd_proto_type_is_reply(type)))
		return reject(ret_error, KEYD_PROTO_WRONG_DIRECTION, type, 0);

	m.version = get_be16(p + 4);
	m.type = type;
	m.id = get_be32(p + 8);

	off = KEYD_PROTO_HEADER_SIZE;
	end = KEYD_PROTO_HEADER_SIZE + plen;
	while (off < end) {
		const struct tag_spec *tspec;
		size_t rule = SIZE_MAX;
		uint16_t tag, flen;
		enum keyd_proto_reject why;

		if (end - off < 4)
			return reject(ret_error, KEYD_PROTO_TRUNCATED, type, 0);
		tag = get_be16(p + off);
		flen = get_be16(p + off + 2);
		off += 4;
		if (end - off < flen)
			return reject(ret_error, KEYD_PROTO_TRUNCATED, type, tag);
		for (size_t i = 0; i < ts->n_rules; i++)
			if (ts->rules[i].tag == tag)
				rule = i;
		tspec = tag_lookup(tag);
		if (rule == SIZE_MAX || !tspec)
			return reject(ret_error, KEYD_PROTO_UNKNOWN_TAG, type, tag);
		if (counts[rule] >= ts->rules[rule].max)
			return reject(ret_error, KEYD_PROTO_DUPLICATE_TAG, type, tag);
		if (tag < prev_tag)
			return reject(ret_error, KEYD_PROTO_BAD_ORDER, type, tag);
		why = check_value(tspec, p + off, flen);
		if (why != KEYD_PROTO_OK)
			return reject(ret_error, why, type, tag);
		/* The table keeps every type's sum of max counts within
		 * KEYD_PROTO_FIELDS_MAX; this guard holds even if a table edit does not. */
		if (m.n_fields >= KEYD_PROTO_FIELDS_MAX)
			return reject(ret_error, KEYD_PROTO_DUPLICATE_TAG, type, tag);
		counts[rule]++;
		m.fields[m.n_fields++] = (struct keyd_proto_field){ tag, flen, p + off };
		prev_tag = tag;
		off += flen;
	}
	for (size_t i = 0; i < ts->n_rules; i++)
		if (counts[i] < ts->rules[i].min)
			return reject(ret_error, KEYD_PROTO_MISSING_TAG, type, ts->rules[i].tag);
	if (ts->check) {
		uint16_t tag = 0;
		enum keyd_proto_reject why = ts->check(&m, &tag);
		if (why != KEYD_PROTO_OK)
			return reject(ret_error, why, type, tag);
	}
	*ret = m;
	return 0;
}

/* ---- encoding --------------------------------------------------------------------- */

void keyd_proto_buffer_free(uint8_t *buf, size_t len)
{
	erase_and_free(buf, len);
}

int keyd_proto_encode(const struct keyd_proto_msg *m, uint8_t **ret, size_t *ret_len,
		      struct keyd_proto_error *ret_error)
{
	const struct keyd_proto_field *order[KEYD_PROTO_FIELDS_MAX];
	struct keyd_proto_msg check;
	size_t plen = 0, off;
	uint8_t *buf;
	int r;

	if (!m || !ret || !ret_len)
		return -EINVAL;
	if (ret_error)
		*ret_error = (struct keyd_proto_error){};
	if (m->error < 0)
		return m->error;
	if (m->n_fields > KEYD_PROTO_FIELDS_MAX)
		return -ENOBUFS;
	/* Stable insertion sort by tag: repeated tags keep the caller's order. */
	for (size_t i = 0; i < m->n_fields; i++) {
		size_t j = i;
		while (j > 0 && order[j - 1]->tag > m->fields[i].tag) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = &m->fields[i];
		if (m->fields[i].len > 0 && !m->fields[i].value)
			return -EINVAL;
		plen += 4 + (size_t)m->fields[i].len;
	}
	if (plen > KEYD_PROTO_PAYLOAD_MAX)
		return -EMSGSIZE;

	buf = malloc(KEYD_PROTO_HEADER_SIZE + plen);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, KEYD_PROTO_MAGIC, 4);
	put_be16(buf + 4, m->version);
	put_be16(buf + 6, m->type);
	put_be32(buf + 8, m->id);
	put_be32(buf + 12, (uint32_t)plen);
	off = KEYD_PROTO_HEADER_SIZE;
	for (size_t i = 0; i < m->n_fields; i++) {
		put_be16(buf + off, order[i]->tag);
		put_be16(buf + off + 2, order[i]->len);
		if (order[i]->len > 0)
			memcpy(buf + off + 4, order[i]->value, order[i]->len);
		off += 4 + (size_t)order[i]->len;
	}

	/* Nothing leaves that the decoder would refuse. */
	r = keyd_proto_decode(buf, off, KEYD_PROTO_EXPECT_ANY, &check, ret_error);
	explicit_bzero(&check, sizeof(check));
	if (r < 0) {
		keyd_proto_buffer_free(buf, off);
		return r == -EMSGSIZE ? r : -EINVAL;
	}
	*ret = buf;
	*ret_len = off;
	return 0;
}

void keyd_proto_msg_init(struct keyd_proto_msg *m, uint16_t type, uint32_t id)
{
	*m = (struct keyd_proto_msg){ .version = KEYD_PROTO_VERSION, .type = type, .id = id };
}

int keyd_proto_add_bytes(struct keyd_proto_msg *m, uint16_t tag, const void *value, size_t len)
{
	if (m->error < 0)
		return m->error;
	if (m->n_fields >= KEYD_PROTO_FIELDS_MAX)
		return (m->error = -ENOBUFS);
	if (len > UINT16_MAX)
		return (m->error = -EMSGSIZE);
	if (len > 0 && !value)
		return (m->error = -EINVAL);
	m->fields[m->n_fields++] = (struct keyd_proto_field){ tag, (uint16_t)len, value };
	return 0;
}

int keyd_proto_add_string(struct keyd_proto_msg *m, uint16_t tag, const char *s)
{
	if (!s) {
		if (m->error == 0)
			m->error = -EINVAL;
		return -EINVAL;
	}
	return keyd_proto_add_bytes(m, tag, s, strnlen(s, (size_t)UINT16_MAX + 1));
}

int keyd_proto_add_u32(struct keyd_proto_msg *m, uint16_t tag, uint32_t v)
{
	uint8_t *slot;

	if (m->error < 0)
		return m->error;
	if (m->n_fields >= KEYD_PROTO_FIELDS_MAX)
		return (m->error = -ENOBUFS);
	slot = m->numbers[m->n_fields];
	put_be32(slot, v);
	return keyd_proto_add_bytes(m, tag, slot, 4);
}

int keyd_proto_add_u64(struct keyd_proto_msg *m, uint16_t tag, uint64_t v)
{
	uint8_t *slot;

	if (m->error < 0)
		return m->error;
	if (m->n_fields >= KEYD_PROTO_FIELDS_MAX)
		return (m->error = -ENOBUFS);
	slot = m->numbers[m->n_fields];
	put_be64(slot, v);
	return keyd_proto_add_bytes(m, tag, slot, 8);
}

int keyd_proto_encode_error(uint32_t id, int error, const char *message, uint8_t **ret,
			    size_t *ret_len)
{
	struct keyd_proto_msg m;
	uint32_t e = (uint32_t)(error < 0 ? -(int64_t)error : error);
	size_t n;
	int r;

	if (e == 0 || e > 4095)
		e = EIO;
	keyd_proto_msg_init(&m, KEYD_PROTO_ERROR, id);
	(void)keyd_proto_add_u32(&m, KEYD_TAG_ERRNO, e);
	if (message && *message) {
		n = strnlen(message, 1024);
		/* Cut on a character boundary: back off over continuation bytes. */
		if (message[n] != '\0')
			while (n > 0 && ((uint8_t)message[n] & 0xc0) == 0x80)
				n--;
		if (n > 0)
			(void)keyd_proto_add_bytes(&m, KEYD_TAG_MESSAGE, message, n);
	}
	r = keyd_proto_encode(&m, ret, ret_len, NULL);
	if (r != -EINVAL || m.n_fields < 2)
		return r;
	/* The message was not valid UTF-8: an error reply still goes out, without it. */
	m.n_fields = 1;
	return keyd_proto_encode(&m, ret, ret_len, NULL);
}

/* ---- accessors -------------------------------------------------------------------- */

int keyd_proto_get_u32(const struct keyd_proto_msg *m, uint16_t tag, uint32_t *ret)
{
	const struct keyd_proto_field *f = find_field(m, tag, 0);

	if (!f)
		return -ENOENT;
	if (f->len != 4)
		return -EBADMSG;
	*ret = get_be32(f->value);
	return 0;
}

int keyd_proto_get_u64(const struct keyd_proto_msg *m, uint16_t tag, uint64_t *ret)
{
	const struct keyd_proto_field *f = find_field(m, tag, 0);

	if (!f)
		return -ENOENT;
	if (f->len != 8)
		return -EBADMSG;
	*ret = get_be64(f->value);
	return 0;
}

int keyd_proto_get_bytes(const struct keyd_proto_msg *m, uint16_t tag, size_t n,
			 const uint8_t **ret, size_t *ret_len)
{
	const struct keyd_proto_field *f = find_field(m, tag, n);

	if (!f)
		return -ENOENT;
	*ret = f->value;
	*ret_len = f->len;
	return 0;
}

int keyd_proto_get_string(const struct keyd_proto_msg *m, uint16_t tag, char *buf, size_t size)
{
	const struct keyd_proto_field *f = find_field(m, tag, 0);

	if (!f)
		return -ENOENT;
	if (!buf || size <= f->len)
		return -ENOBUFS;
	if (f->len > 0)
		memcpy(buf, f->value, f->len);
	buf[f->len] = '\0';
	return 0;
}

size_t keyd_proto_count(const struct keyd_proto_msg *m, uint16_t tag)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_fields; i++)
		n += m->fields[i].tag == tag;
	return n;
}
