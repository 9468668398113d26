/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for keyd/core/hsmsg.c: the handshake accept reply as the kernel
 * builds it (net/handshake/tlshd.c: sockfd, message-type, timeout, auth-mode,
 * then peer identities or the certificate nest, peername, keyring), and
 * malformed attribute sets next to it.
 */
#include <setjmp.h>
#include <errno.h>
#include <linux/netlink.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hsmsg.h"

struct buf {
	uint8_t data[8192];
	size_t len;
};

/* Append one attribute with padding; flags go into the type's top bits. */
static size_t put_attr(struct buf *b, uint16_t type, const void *payload, size_t len)
{
	struct nlattr h = { .nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type };
	size_t start = b->len;

	assert_true(b->len + NLA_ALIGN(NLA_HDRLEN + len) <= sizeof(b->data));
	memcpy(b->data + b->len, &h, sizeof(h));
	if (len)
		memcpy(b->data + b->len + NLA_HDRLEN, payload, len);
	b->len += NLA_ALIGN(NLA_HDRLEN + len);
	return start;
}

static void put_u32(struct buf *b, uint16_t type, uint32_t v)
{
	put_attr(b, type, &v, sizeof(v));
}

static void put_str(struct buf *b, uint16_t type, const char *s)
{
	put_attr(b, type, s, strlen(s) + 1);
}

static void put_cert_nest(struct buf *b, uint32_t cert, uint32_t key)
{
	struct buf inner = { .len = 0 };

	put_u32(&inner, KEYD_HS_A_X509_CERT, cert);
	put_u32(&inner, KEYD_HS_A_X509_PRIVKEY, key);
	put_attr(b, KEYD_HS_A_ACCEPT_CERTIFICATE | NLA_F_NESTED, inner.data, inner.len);
}

static void put_base(struct buf *b, uint32_t type, uint32_t auth)
{
	put_u32(b, KEYD_HS_A_ACCEPT_SOCKFD, 7);
	put_u32(b, KEYD_HS_A_ACCEPT_MESSAGE_TYPE, type);
	put_u32(b, KEYD_HS_A_ACCEPT_TIMEOUT, 10000);
	put_u32(b, KEYD_HS_A_ACCEPT_AUTH_MODE, auth);
}

static int parse(const struct buf *b, struct keyd_hs_request *req, const char **reason)
{
	return keyd_hsmsg_accept_parse(b->data, b->len, req, reason);
}

static void test_psk_client(void **state)
{
	struct buf b = { .len = 0 };
	struct keyd_hs_request req;
	const char *reason;

	(void)state;
	put_base(&b, KEYD_HS_MSG_TYPE_CLIENTHELLO, KEYD_HS_AUTH_PSK);
	put_u32(&b, KEYD_HS_A_ACCEPT_PEER_IDENTITY, 0x1234567);
	put_u32(&b, KEYD_HS_A_ACCEPT_PEER_IDENTITY, 42);
	put_str(&b, KEYD_HS_A_ACCEPT_PEERNAME, "192.168.1.10");
	put_u32(&b, KEYD_HS_A_ACCEPT_KEYRING, 555);
	assert_int_equal(parse(&b, &req, &reason), 0);
	assert_int_equal(req.sockfd, 7);
	assert_int_equal(req.message_type, KEYD_HS_MSG_TYPE_CLIENTHELLO);
	assert_int_equal(req.auth_mode, KEYD_HS_AUTH_PSK);
	assert_int_equal(req.timeout_ms, 10000);
	assert_int_equal(req.n_peerids, 2);
	assert_int_equal(req.peerids[0], 0x1234567);
	assert_int_equal(req.peerids[1], 42);
	assert_string_equal(req.peername, "192.168.1.10");
	assert_int_equal(req.keyring, 555);
	assert_int_equal(req.n_certs, 0);
	assert_string_equal(keyd_hsmsg_auth_mode_to_string(req.auth_mode), "psk");
	assert_string_equal(keyd_hsmsg_message_type_to_string(req.message_type), "clienthello");
}

/* 6.12 sends no peername, no keyring and (a server PSK request) no identity. */
static void test_psk_server_minimal(void **state)
{
	struct buf b = { .len = 0 };
	struct keyd_hs_request req;

	(void)state;
	put_u32(&b, KEYD_HS_A_ACCEPT_SOCKFD, 0);
	put_u32(&b, KEYD_HS_A_ACCEPT_MESSAGE_TYPE, KEYD_HS_MSG_TYPE_SERVERHELLO);
	put_u32(&b, KEYD_HS_A_ACCEPT_AUTH_MODE, KEYD_HS_AUTH_PSK);
	assert_int_equal(parse(&b, &req, NULL), 0);
	assert_int_equal(req.sockfd, 0);
	assert_int_equal(req.timeout_ms, 0);
	assert_int_equal(req.n_peerids, 0);
	assert_string_equal(req.peername, "");
	assert_int_equal(req.keyring, 0);
}

static void test_x509(void **state)
{
	struct buf b = { .len = 0 };
	struct keyd_hs_request req;

	(void)state;
	put_base(&b, KEYD_HS_MSG_TYPE_SERVERHELLO, KEYD_HS_AUTH_X509);
	put_cert_nest(&b, 100, 200);
	put_str(&b, KEYD_HS_A_ACCEPT_PEERNAME, "nfs.example.org");
	assert_int_equal(parse(&b, &req, NULL), 0);
	assert_int_equal(req.n_certs, 1);
	assert_int_equal(req.certs[0].cert, 100);
	assert_int_equal(req.certs[0].privkey, 200);
	assert_string_equal(req.peername, "nfs.example.org");
}

/* Unknown attribute types are skipped; the last attribute may lack padding. */
static void test_unknown_and_unpadded(void **state)
{
	struct buf b = { .len = 0 };
	struct keyd_hs_request req;

	(void)state;
	put_base(&b, KEYD_HS_MSG_TYPE_CLIENTHELLO, KEYD_HS_AUTH_UNAUTH);
	put_u32(&b, 200, 1);
	put_attr(&b, 0, "x", 1);
	put_attr(&b, 50, "abcde", 5);
	b.len -= 3; /* drop the final padding */
	assert_int_equal(parse(&b, &req, NULL), 0);
	assert_int_equal(req.auth_mode, KEYD_HS_AUTH_UNAUTH);
}

static void test_malformed_framing(void **state)
{
	struct buf b = { .len = 0 };
	struct keyd_hs_request req;
	struct nlattr *h;
	const char *reason;

	(void)state;
	put_base(&b, KEYD_HS_MSG_TYPE_CLIENTHELLO, KEYD_HS_AUTH_UNAUTH);
	/* Trailing bytes shorter than a header. */
	b.len += 2;
	assert_int_equal(parse(&b, &req, &reason), -EBADMSG);
	assert_non_null(reason);
	assert_int_equal(req.sockfd, -1);
	b.len -= 2;

	/* Length beyond the buffer. */
	h = (struct nlattr *)b.data;
	h->nla_len = 200;
	assert_int_equal(parse(&b, &req, NULL), -EBADMSG);
	/* Length shorter than the header. */
	h->nla_len = 3;
	assert_int_equal(parse(&b, &req, NULL), -EBADMSG);
	/* u32 of the wrong size. */
	h->nla_len = 6;
	assert_int_equal(parse(&b, &req, &reason), -EBADMSG);
	assert_string_equal(reason, "sockfd");

	/* Too long as a whole. */
	assert_int_equal(keyd_hsmsg_accept_parse(b.data, KEYD_HS_ATTRS_MAX_LEN + 1, &req, NULL),
			 -EBADMSG);
	assert_int_equal(keyd_hsmsg_accept_parse(NULL, 4, &req, NULL), -EINVAL);
	/* Empty: nothing required is there. */
	assert_int_equal(keyd_hsmsg_accept_parse(b.data, 0, &req, NULL), -EPROTO);
}

static void test_counts(void **state)
{
	struct buf b = { .len = 0 };
	struct keyd_hs_request req;
	const char *reason;

	(void)state;
	put_base(&b, KEYD_HS_MSG_TYPE_CLIENTHELLO, KEYD_HS_AUTH_PSK);
	for (int i = 0; i < KEYD_HS_PEERIDS_MAX; i++)
		put_u32(&b, KEYD_HS_A_ACCEPT_PEER_IDENTITY, 10 + i);
	assert_int_equal(parse(&b, &req, NULL), 0);
	assert_int_equal(req.n_peerids, KEYD_HS_PEERIDS_MAX);
	put_u32(&b, KEYD_HS_A_ACCEPT_PEER_IDENTITY, 99);
	assert_int_equal(parse(&b, &req, &reason), -EBADMSG);
	assert_string_equal(reason, "peer-identity");

	b.len = 0;
	put_base(&b, KEYD_HS_MSG_TYPE_CLIENTHELLO, KEYD_HS_AUTH_UNAUTH);
	put_u32(&b, KEYD_HS_A_ACCEPT_SOCKFD, 8);
	assert_int_equal(parse(&b, &req, &reason), -EBADMSG);
	assert_string_equal(reason, "sockfd");

	b.len = 0;
	put_base(&b, KEYD_HS_MSG_TYPE_CLIENTHELLO, KEYD_HS_AUTH_X509);
	for (int i = 0; i <= KEYD_HS_CERTS_MAX; i++)
		put_cert_nest(&b, 1, 2);
	assert_int_equal(parse(&b, &req, &reason), -EBADMSG);
	assert_string_equal(reason, "certificate");
}

static void test_nested_bad(void **state)
{
	struct buf b = { .len = 0 }, inner = { .len = 0 };
	struct keyd_hs_request req;
	const char *reason;

	(void)state;
	put_base(&b, KEYD_HS_MSG_TYPE_CLIENTHELLO, KEYD_HS_AUTH_X509);
	put_u32(&inner, KEYD_HS_A_X509_CERT, 1);
	put_u32(&inner, KEYD_HS_A_X509_CERT, 2);
	put_attr(&b, KEYD_HS_A_ACCEPT_CERTIFICATE | NLA_F_NESTED, inner.data, inner.len);
	assert_int_equal(parse(&b, &req, &reason), -EBADMSG);
	assert_string_equal(reason, "certificate.cert");

	b.len = 0;
	put_base(&b, KEYD_HS_MSG_TYPE_CLIENTHELLO, KEYD_HS_AUTH_X509);
	put_attr(&b, KEYD_HS_A_ACCEPT_CERTIFICATE, "\x09\x00\x01\x00\x00\x00", 6);
	assert_int_equal(parse(&b, &req, NULL), -EBADMSG);

	/* An empty nest is a certificate with no serials (tlshd's "none"). */
	b.len = 0;
	put_base(&b, KEYD_HS_MSG_TYPE_CLIENTHELLO, KEYD_HS_AUTH_X509);
	put_attr(&b, KEYD_HS_A_ACCEPT_CERTIFICATE | NLA_F_NESTED, NULL, 0);
	assert_int_equal(parse(&b, &req, NULL), 0);
	assert_int_equal(req.n_certs, 1);
	assert_int_equal(req.certs[0].cert, 0);
}

static void test_peername(void **state)
{
	static const char *const bad[] = { "has space", "tab\there", "\x80high", "" };
	struct buf b = { .len = 0 };
	struct keyd_hs_request req;
	char longname[KEYD_HS_PEERNAME_MAX + 2];
	const char *reason;

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		b.len = 0;
		put_base(&b, KEYD_HS_MSG_TYPE_CLIENTHELLO, KEYD_HS_AUTH_UNAUTH);
		put_str(&b, KEYD_HS_A_ACCEPT_PEERNAME, bad[i]);
		/* "" is a lone NUL: allowed, and means no name. */
		assert_int_equal(parse(&b, &req, &reason), bad[i][0] ? -EBADMSG : 0);
	}
	/* Not NUL-terminated. */
	b.len = 0;
	put_base(&b, KEYD_HS_MSG_TYPE_CLIENTHELLO, KEYD_HS_AUTH_UNAUTH);
	put_attr(&b, KEYD_HS_A_ACCEPT_PEERNAME, "host", 4);
	assert_int_equal(parse(&b, &req, &reason), -EBADMSG);
	assert_string_equal(reason, "peername");
	/* Embedded NUL. */
	b.len = 0;
	put_base(&b, KEYD_HS_MSG_TYPE_CLIENTHELLO, KEYD_HS_AUTH_UNAUTH);
	put_attr(&b, KEYD_HS_A_ACCEPT_PEERNAME, "ho\0st", 6);
	assert_int_equal(parse(&b, &req, NULL), -EBADMSG);
	/* The longest allowed, and one more. */
	memset(longname, 'a', sizeof(longname));
	longname[KEYD_HS_PEERNAME_MAX] = '\0';
	b.len = 0;
	put_base(&b, KEYD_HS_MSG_TYPE_CLIENTHELLO, KEYD_HS_AUTH_UNAUTH);
	put_str(&b, KEYD_HS_A_ACCEPT_PEERNAME, longname);
	assert_int_equal(parse(&b, &req, NULL), 0);
	assert_int_equal(strlen(req.peername), KEYD_HS_PEERNAME_MAX);
	longname[KEYD_HS_PEERNAME_MAX] = 'a';
	longname[KEYD_HS_PEERNAME_MAX + 1] = '\0';
	b.len = 0;
	put_base(&b, KEYD_HS_MSG_TYPE_CLIENTHELLO, KEYD_HS_AUTH_UNAUTH);
	put_str(&b, KEYD_HS_A_ACCEPT_PEERNAME, longname);
	assert_int_equal(parse(&b, &req, NULL), -EBADMSG);
}

static void test_semantics(void **state)
{
	struct buf b = { .len = 0 };
	struct keyd_hs_request req;
	const char *reason;

	(void)state;
	/* A PSK client without an identity. */
	put_base(&b, KEYD_HS_MSG_TYPE_CLIENTHELLO, KEYD_HS_AUTH_PSK);
	assert_int_equal(parse(&b, &req, &reason), -EPROTO);
	/* Unknown enum values. */
	b.len = 0;
	put_base(&b, 3, KEYD_HS_AUTH_UNAUTH);
	assert_int_equal(parse(&b, &req, &reason), -EPROTO);
	b.len = 0;
	put_base(&b, KEYD_HS_MSG_TYPE_CLIENTHELLO, 4);
	assert_int_equal(parse(&b, &req, &reason), -EPROTO);
	b.len = 0;
	put_base(&b, KEYD_HS_MSG_TYPE_CLIENTHELLO, KEYD_HS_AUTH_UNSPEC);
	assert_int_equal(parse(&b, &req, &reason), -EPROTO);
	/* No sockfd; a sockfd beyond int. */
	b.len = 0;
	put_u32(&b, KEYD_HS_A_ACCEPT_MESSAGE_TYPE, KEYD_HS_MSG_TYPE_CLIENTHELLO);
	put_u32(&b, KEYD_HS_A_ACCEPT_AUTH_MODE, KEYD_HS_AUTH_UNAUTH);
	assert_int_equal(parse(&b, &req, &reason), -EPROTO);
	assert_string_equal(reason, "sockfd missing");
	put_u32(&b, KEYD_HS_A_ACCEPT_SOCKFD, 0x80000000u);
	assert_int_equal(parse(&b, &req, &reason), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_psk_client),
		cmocka_unit_test(test_psk_server_minimal),
		cmocka_unit_test(test_x509),
		cmocka_unit_test(test_unknown_and_unpadded),
		cmocka_unit_test(test_malformed_framing),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_nested_bad),
		cmocka_unit_test(test_peername),
		cmocka_unit_test(test_semantics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
