/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parser of the handshake family's accept reply (see hsmsg.h). Netlink attribute
 * framing (include/uapi/linux/netlink.h): a 4-byte header {u16 len, u16 type}, len
 * counts the header, the next attribute starts at len rounded up to 4, the top two
 * type bits are flags (nested, network byte order).
 */
#include <errno.h>
#include <linux/netlink.h>
#include <string.h>

#include "hsmsg.h"
#include "macro.h"

enum hs_attr_kind {
	HS_ATTR_IGNORE = 0, /* not expected from the kernel: skipped */
	HS_ATTR_U32,
	HS_ATTR_STRING, /* NUL-terminated, printable ASCII, at most max_len bytes before the NUL */
	HS_ATTR_NESTED,
};

/* One rule per attribute type: the declarative validation table. */
struct hs_attr_rule {
	enum hs_attr_kind kind;
	uint16_t max_len;   /* HS_ATTR_STRING only */
	uint8_t max_count;  /* how often the attribute may appear */
	const char *name;
};

static const struct hs_attr_rule accept_rules[KEYD_HS_A_ACCEPT_MAX + 1] = {
	[KEYD_HS_A_ACCEPT_SOCKFD] = { HS_ATTR_U32, 0, 1, "sockfd" },
	/* Sent by the agent, not the kernel; tolerated once. */
	[KEYD_HS_A_ACCEPT_HANDLER_CLASS] = { HS_ATTR_U32, 0, 1, "handler-class" },
	[KEYD_HS_A_ACCEPT_MESSAGE_TYPE] = { HS_ATTR_U32, 0, 1, "message-type" },
	[KEYD_HS_A_ACCEPT_TIMEOUT] = { HS_ATTR_U32, 0, 1, "timeout" },
	[KEYD_HS_A_ACCEPT_AUTH_MODE] = { HS_ATTR_U32, 0, 1, "auth-mode" },
	[KEYD_HS_A_ACCEPT_PEER_IDENTITY] = { HS_ATTR_U32, 0, KEYD_HS_PEERIDS_MAX, "peer-identity" },
	[KEYD_HS_A_ACCEPT_CERTIFICATE] = { HS_ATTR_NESTED, 0, KEYD_HS_CERTS_MAX, "certificate" },
	[KEYD_HS_A_ACCEPT_PEERNAME] = { HS_ATTR_STRING, KEYD_HS_PEERNAME_MAX, 1, "peername" },
	[KEYD_HS_A_ACCEPT_KEYRING] = { HS_ATTR_U32, 0, 1, "keyring" },
};

static const struct hs_attr_rule x509_rules[KEYD_HS_A_X509_MAX + 1] = {
	[KEYD_HS_A_X509_CERT] = { HS_ATTR_U32, 0, 1, "certificate.cert" },
	[KEYD_HS_A_X509_PRIVKEY] = { HS_ATTR_U32, 0, 1, "certificate.privkey" },
};

/* One attribute, located in the buffer. */
struct hs_attr {
	uint16_t type;
	const uint8_t *payload;
	size_t len;
};

static void set_reason(const char **ret_reason, const char *reason)
{
	if (ret_reason)
		*ret_reason = reason;
}

/* Step through attributes: returns 1 with *a filled, 0 at the end, -EBADMSG on bad framing. */
static int hs_attr_next(const uint8_t *buf, size_t len, size_t *pos, struct hs_attr *a)
{
	struct nlattr h;
	size_t rem, step;

	if (*pos >= len)
		return 0;
	rem = len - *pos;
	if (rem < NLA_HDRLEN)
		return -EBADMSG; /* trailing bytes that cannot be an attribute */
	memcpy(&h, buf + *pos, sizeof(h)); /* the buffer may be unaligned */
	if (h.nla_len < NLA_HDRLEN || h.nla_len > rem)
		return -EBADMSG;
	a->type = h.nla_type & NLA_TYPE_MASK;
	a->payload = buf + *pos + NLA_HDRLEN;
	a->len = h.nla_len - NLA_HDRLEN;
	/* The last attribute may come without its padding. */
	step = ((size_t)h.nla_len + NLA_ALIGNTO - 1) & ~(size_t)(NLA_ALIGNTO - 1);
	*pos += step < rem ? step : rem;
	return 1;
}

/* Check one attribute against its rule; counts[] tracks repetitions. */
static int hs_attr_check(const struct hs_attr *a, const struct hs_attr_rule *rules, size_t n_rules,
			 uint8_t *counts, const char **ret_reason)
{
	const struct hs_attr_rule *r;

	if (a->type >= n_rules || rules[a->type].kind == HS_ATTR_IGNORE)
		return 0;
	r = &rules[a->type];
	if (counts[a->type] >= r->max_count) {
		set_reason(ret_reason, r->name);
		return -EBADMSG;
	}
	counts[a->type]++;
	switch (r->kind) {
	case HS_ATTR_U32:
		if (a->len != sizeof(uint32_t))
			goto bad;
		break;
	case HS_ATTR_STRING:
		/* At least the NUL; the NUL is the last byte and the only one. */
		if (a->len < 1 || a->len > (size_t)r->max_len + 1 || a->payload[a->len - 1] != '\0')
			goto bad;
		for (size_t i = 0; i + 1 < a->len; i++)
			if (a->payload[i] < 0x21 || a->payload[i] > 0x7e)
				goto bad;
		break;
	case HS_ATTR_NESTED:
		break;
	case HS_ATTR_IGNORE:
		break;
	}
	return 1;
bad:
	set_reason(ret_reason, r->name);
	return -EBADMSG;
}

static uint32_t hs_attr_u32(const struct hs_attr *a)
{
	uint32_t v;

	memcpy(&v, a->payload, sizeof(v));
	return v;
}

static int hs_parse_x509(const struct hs_attr *nest, struct keyd_hs_cert *ret,
			 const char **ret_reason)
{
	uint8_t counts[KEYD_HS_A_X509_MAX + 1] = { 0 };
	struct hs_attr a;
	size_t pos = 0;
	int r;

	*ret = (struct keyd_hs_cert){ 0 };
	while ((r = hs_attr_next(nest->payload, nest->len, &pos, &a)) > 0) {
		r = hs_attr_check(&a, x509_rules, ELEMENTSOF(x509_rules), counts, ret_reason);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		if (a.type == KEYD_HS_A_X509_CERT)
			ret->cert = (keyd_serial_t)hs_attr_u32(&a);
		else if (a.type == KEYD_HS_A_X509_PRIVKEY)
			ret->privkey = (keyd_serial_t)hs_attr_u32(&a);
	}
	if (r < 0)
		set_reason(ret_reason, "certificate: bad attribute framing");
	return r;
}

int keyd_hsmsg_accept_parse(const void *attrs, size_t len, struct keyd_hs_request *ret,
			    const char **ret_reason)
{
	uint8_t counts[KEYD_HS_A_ACCEPT_MAX + 1] = { 0 };
	struct keyd_hs_request req = { .sockfd = -1 };
	struct hs_attr a;
	size_t pos = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->sockfd = -1;
	set_reason(ret_reason, NULL);
	if (!attrs && len > 0)
		return -EINVAL;
	if (len > KEYD_HS_ATTRS_MAX_LEN) {
		set_reason(ret_reason, "message too long");
		return -EBADMSG;
	}

	while ((r = hs_attr_next(attrs, len, &pos, &a)) > 0) {
		uint32_t v;

		r = hs_attr_check(&a, accept_rules, ELEMENTSOF(accept_rules), counts, ret_reason);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		v = accept_rules[a.type].kind == HS_ATTR_U32 ? hs_attr_u32(&a) : 0;
		switch (a.type) {
		case KEYD_HS_A_ACCEPT_SOCKFD:
			if (v > INT32_MAX) {
				set_reason(ret_reason, "sockfd");
				return -EBADMSG;
			}
			req.sockfd = (int)v;
			break;
		case KEYD_HS_A_ACCEPT_MESSAGE_TYPE:
			req.message_type = v;
			break;
		case KEYD_HS_A_ACCEPT_TIMEOUT:
			req.timeout_ms = v;
			break;
		case KEYD_HS_A_ACCEPT_AUTH_MODE:
			req.auth_mode = v;
			break;
		case KEYD_HS_A_ACCEPT_PEER_IDENTITY:
			req.peerids[req.n_peerids++] = (keyd_serial_t)v;
			break;
		case KEYD_HS_A_ACCEPT_CERTIFICATE:
			r = hs_parse_x509(&a, &req.certs[req.n_certs], ret_reason);
			if (r < 0)
				return r;
			req.n_certs++;
			break;
		case KEYD_HS_A_ACCEPT_PEERNAME:
			memcpy(req.peername, a.payload, a.len); /* bounded by the rule */
			break;
		case KEYD_HS_A_ACCEPT_KEYRING:
			req.keyring = (keyd_serial_t)v;
			break;
		default: /* handler-class: ours, echoed; nothing to keep */
			break;
		}
	}
	if (r < 0) {
		set_reason(ret_reason, "bad attribute framing");
		return r;
	}

	if (req.sockfd < 0) {
		set_reason(ret_reason, "sockfd missing");
		return -EPROTO;
	}
	if (req.message_type != KEYD_HS_MSG_TYPE_CLIENTHELLO &&
	    req.message_type != KEYD_HS_MSG_TYPE_SERVERHELLO) {
		set_reason(ret_reason, "message-type missing or unknown");
		return -EPROTO;
	}
	if (req.auth_mode != KEYD_HS_AUTH_UNAUTH && req.auth_mode != KEYD_HS_AUTH_PSK &&
	    req.auth_mode != KEYD_HS_AUTH_X509) {
		set_reason(ret_reason, "auth-mode missing or unknown");
		return -EPROTO;
	}
	/* A PSK client must have an identity to offer (tls_client_hello_psk refuses none). */
	if (req.auth_mode == KEYD_HS_AUTH_PSK && req.message_type == KEYD_HS_MSG_TYPE_CLIENTHELLO &&
	    req.n_peerids == 0) {
		set_reason(ret_reason, "peer-identity missing for a PSK client");
		return -EPROTO;
	}
	*ret = req;
	return 0;
}

const char *keyd_hsmsg_message_type_to_string(uint32_t t)
{
	switch (t) {
	case KEYD_HS_MSG_TYPE_CLIENTHELLO:
		return "clienthello";
	case KEYD_HS_MSG_TYPE_SERVERHELLO:
		return "serverhello";
	default:
		return "unknown";
	}
}

const char *keyd_hsmsg_auth_mode_to_string(uint32_t a)
{
	switch (a) {
	case KEYD_HS_AUTH_UNAUTH:
		return "unauth";
	case KEYD_HS_AUTH_PSK:
		return "psk";
	case KEYD_HS_AUTH_X509:
		return "x509";
	default:
		return "unknown";
	}
}
