/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for libkeyd-gnutls (keyd/gnutls) against the REAL kernel keyrings, in
 * a fresh, uniquely named session keyring; keys made are invalidated at the end.
 * Certificates are generated here with GnuTLS, at run time. Signing needs keyd
 * and a TPM: tests/integration/gnutls-*.sh cover it; here only the failures that
 * need no keyd (keyd not running, bad names, non-references).
 *
 * The golden and the negative case side by side: the CA in the keyring verifies
 * its leaf and a foreign CA's leaf fails; a PSK that fits its identity reads and
 * one that does not is refused.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "keyd-gnutls.h"
#include "keyring.h"
#include "macro.h"

static keyd_serial_t session;

static int group_setup(void **state)
{
	char name[64];

	(void)state;
	snprintf(name, sizeof(name), "keyd-test-gnutls-%d", (int)getpid());
	if (keyd_keyring_join_session(name, &session) < 0) {
		fprintf(stderr, "cannot join a session keyring: %m\n");
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	(void)keyd_keyring_clear(session);
	(void)keyd_keyring_invalidate(session);
	return 0;
}

static keyd_serial_t new_ring(const char *name)
{
	keyd_serial_t s = 0;

	assert_int_equal(keyd_keyring_new(name, session, &s), 0);
	return s;
}

static keyd_serial_t add_user(keyd_serial_t ring, const char *desc, const void *p, size_t len)
{
	keyd_serial_t s = 0;

	assert_int_equal(keyd_keyring_add_user(ring, desc, p, len, &s), 0);
	return s;
}

/* A certificate with a fresh P-256 key: a CA (self-signed when issuer is NULL) or a
 * leaf signed by issuer. */
struct cert {
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;
};

static void make_cert(struct cert *c, const char *cn, bool ca, const struct cert *issuer)
{
	unsigned bits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1);
	time_t now = time(NULL);
	unsigned char serial[8];

	assert_int_equal(gnutls_x509_privkey_init(&c->key), 0);
	assert_int_equal(gnutls_x509_privkey_generate(c->key, GNUTLS_PK_ECDSA, bits, 0), 0);
	assert_int_equal(gnutls_x509_crt_init(&c->crt), 0);
	assert_int_equal(gnutls_x509_crt_set_version(c->crt, 3), 0);
	assert_int_equal(gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)), 0);
	serial[0] &= 0x7f;
	assert_int_equal(gnutls_x509_crt_set_serial(c->crt, serial, sizeof(serial)), 0);
	assert_int_equal(gnutls_x509_crt_set_activation_time(c->crt, now - 60), 0);
	assert_int_equal(gnutls_x509_crt_set_expiration_time(c->crt, now + 3600), 0);
	assert_int_equal(gnutls_x509_crt_set_dn_by_oid(c->crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
						       strlen(cn)),
			 0);
	assert_int_equal(gnutls_x509_crt_set_key(c->crt, c->key), 0);
	assert_int_equal(gnutls_x509_crt_set_basic_constraints(c->crt, ca ? 1 : 0, -1), 0);
	if (ca)
		assert_int_equal(gnutls_x509_crt_set_key_usage(c->crt, GNUTLS_KEY_KEY_CERT_SIGN |
									       GNUTLS_KEY_CRL_SIGN),
				 0);
	assert_int_equal(gnutls_x509_crt_sign2(c->crt, issuer ? issuer->crt : c->crt,
					       issuer ? issuer->key : c->key, GNUTLS_DIG_SHA256, 0),
			 0);
}

static void free_cert(struct cert *c)
{
	gnutls_x509_crt_deinit(c->crt);
	gnutls_x509_privkey_deinit(c->key);
}

static keyd_serial_t add_cert(keyd_serial_t ring, const char *desc, const struct cert *c)
{
	gnutls_datum_t der = { NULL, 0 };
	keyd_serial_t s;

	assert_int_equal(gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_DER, &der), 0);
	s = add_user(ring, desc, der.data, der.size);
	gnutls_free(der.data);
	return s;
}

/* Verify leaf as it would arrive from a peer: GnuTLS looks issuers up by the raw
 * DNs it records when it imports a certificate, which a certificate built in
 * memory does not have yet. */
static unsigned verify(gnutls_x509_trust_list_t tl, const struct cert *leaf)
{
	gnutls_datum_t der = { NULL, 0 };
	gnutls_x509_crt_t chain[1];
	unsigned status = 0;

	assert_int_equal(gnutls_x509_crt_export2(leaf->crt, GNUTLS_X509_FMT_DER, &der), 0);
	assert_int_equal(gnutls_x509_crt_init(&chain[0]), 0);
	assert_int_equal(gnutls_x509_crt_import(chain[0], &der, GNUTLS_X509_FMT_DER), 0);
	gnutls_free(der.data);
	assert_int_equal(gnutls_x509_trust_list_verify_crt2(tl, chain, 1, NULL, 0, 0, &status,
							    NULL),
			 0);
	gnutls_x509_crt_deinit(chain[0]);
	return status;
}

static void test_trust_list(void **state)
{
	struct cert ca, other_ca, leaf, foreign_leaf;
	gnutls_x509_trust_list_t tl;
	keyd_serial_t ring, sub;

	(void)state;
	make_cert(&ca, "keyd unit CA", true, NULL);
	make_cert(&other_ca, "keyd unit other CA", true, NULL);
	make_cert(&leaf, "leaf.example", false, &ca);
	make_cert(&foreign_leaf, "foreign.example", false, &other_ca);

	ring = new_ring("keyd-test-gnutls-trust");
	add_cert(ring, "ca", &ca);
	/* None of these may become a trust anchor: a leaf, garbage, a nested keyring. */
	add_cert(ring, "leaf", &leaf);
	add_user(ring, "garbage", "not a certificate", 17);
	assert_int_equal(keyd_keyring_new("keyd-test-gnutls-nested", ring, &sub), 0);

	assert_int_equal(gnutls_x509_trust_list_init(&tl, 0), 0);
	assert_int_equal(keyd_gnutls_trust_list_from_keyring(tl, ring), 1);
	assert_string_equal(keyd_gnutls_last_error(), "");
	assert_int_equal(verify(tl, &leaf), 0);
	assert_int_not_equal(verify(tl, &foreign_leaf) & GNUTLS_CERT_SIGNER_NOT_FOUND, 0);
	/* A second pass adds no duplicate and still verifies. */
	assert_int_equal(keyd_gnutls_trust_list_from_keyring(tl, ring), 1);
	assert_int_equal(verify(tl, &leaf), 0);
	gnutls_x509_trust_list_deinit(tl, 1);

	/* An empty keyring gives nothing, and everything is then untrusted. */
	assert_int_equal(gnutls_x509_trust_list_init(&tl, 0), 0);
	assert_int_equal(keyd_gnutls_trust_list_from_keyring(tl, sub), 0);
	assert_int_not_equal(verify(tl, &leaf), 0);
	/* No such keyring: an error and a reason, nothing added. */
	assert_int_equal(keyd_gnutls_trust_list_from_keyring(tl, 0x7ffffff0),
			 GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
	assert_non_null(strstr(keyd_gnutls_last_error(), "cannot list keyring"));
	assert_int_equal(keyd_gnutls_trust_list_from_keyring(NULL, ring), GNUTLS_E_INVALID_REQUEST);
	gnutls_x509_trust_list_deinit(tl, 1);

	free_cert(&ca);
	free_cert(&other_ca);
	free_cert(&leaf);
	free_cert(&foreign_leaf);
}

#define NVME_ID_256 "NVMe0R01 nqn.2026-01.test.host nqn.2026-01.test.sub"
#define NVME_ID_384 "NVMe0R02 nqn.2026-01.test.host nqn.2026-01.test.sub"

static void test_psk(void **state)
{
	uint8_t k32[32], k48[48], k40[40];
	keyd_serial_t ring, s, sub;
	char *identity = (char *)"sentinel";
	gnutls_datum_t key = { (unsigned char *)"x", 1 };

	(void)state;
	memset(k32, 0x32, sizeof(k32));
	memset(k48, 0x48, sizeof(k48));
	memset(k40, 0x40, sizeof(k40));
	ring = new_ring("keyd-test-gnutls-psk");

	/* The golden case: an NVMe SHA-256 identity with 32 bytes. */
	s = add_user(ring, NVME_ID_256, k32, sizeof(k32));
	assert_int_equal(keyd_gnutls_psk_from_serial(s, &identity, &key), 0);
	assert_string_equal(identity, NVME_ID_256);
	assert_int_equal(key.size, 32);
	assert_memory_equal(key.data, k32, 32);
	keyd_gnutls_psk_free(&identity, &key);
	assert_null(identity);
	assert_null(key.data);
	assert_int_equal(key.size, 0);
	keyd_gnutls_psk_free(NULL, NULL);

	/* SHA-384 identity with 48 bytes reads (GnuTLS 3.7 cannot use it, but the key
	 * itself is right). */
	s = add_user(ring, NVME_ID_384, k48, sizeof(k48));
	assert_int_equal(keyd_gnutls_psk_from_serial(s, &identity, &key), 0);
	assert_int_equal(key.size, 48);
	keyd_gnutls_psk_free(&identity, &key);

	/* Lengths that do not fit the identity. */
	s = add_user(ring, NVME_ID_256, k48, sizeof(k48)); /* updates the key in place */
	assert_int_equal(keyd_gnutls_psk_from_serial(s, &identity, &key), GNUTLS_E_KEYFILE_ERROR);
	assert_null(identity);
	assert_null(key.data);
	assert_non_null(strstr(keyd_gnutls_last_error(), "48 bytes do not fit identity"));
	s = add_user(ring, "plain identity", k40, sizeof(k40));
	assert_int_equal(keyd_gnutls_psk_from_serial(s, &identity, &key), GNUTLS_E_KEYFILE_ERROR);
	s = add_user(ring, "plain identity", k48, sizeof(k48));
	assert_int_equal(keyd_gnutls_psk_from_serial(s, &identity, &key), 0);
	assert_string_equal(identity, "plain identity");
	keyd_gnutls_psk_free(&identity, &key);

	/* Wrong type, missing key, bad arguments. */
	assert_int_equal(keyd_keyring_new("keyd-test-gnutls-psk-sub", ring, &sub), 0);
	assert_int_equal(keyd_gnutls_psk_from_serial(sub, &identity, &key), GNUTLS_E_KEYFILE_ERROR);
	assert_non_null(strstr(keyd_gnutls_last_error(), "'keyring' key"));
	assert_int_equal(keyd_gnutls_psk_from_serial(0x7ffffff0, &identity, &key),
			 GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
	assert_int_equal(keyd_gnutls_psk_from_serial(s, NULL, &key), GNUTLS_E_INVALID_REQUEST);
}

static void test_refs(void **state)
{
	keyd_serial_t ring, ref, bad, der;
	uint8_t blob[300];

	(void)state;
	memset(blob, 0x30, sizeof(blob));
	ring = new_ring("keyd-test-gnutls-refs");
	ref = add_user(ring, "keyd:key:k1", "keyd:k1", 7);
	bad = add_user(ring, "keyd:key:bad", "keyd:bad name", 13);
	der = add_user(ring, "der", blob, sizeof(blob));
	assert_int_equal(keyd_gnutls_serial_is_ref(ref), 1);
	assert_int_equal(keyd_gnutls_serial_is_ref(bad), 0);
	assert_int_equal(keyd_gnutls_serial_is_ref(der), 0);
	assert_int_equal(keyd_gnutls_serial_is_ref(ring), 0);
	assert_true(keyd_gnutls_serial_is_ref(0x7ffffff0) < 0);
}

static void test_import_without_keyd(void **state)
{
	char path[128];
	gnutls_privkey_t pk;
	keyd_serial_t ring, der, ref;
	struct timespec a, b;
	long ms;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/keyd-test-gnutls-%d.sock", (int)getpid());
	assert_int_equal(gnutls_privkey_init(&pk), 0);

	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(keyd_gnutls_privkey_import(pk, "k1", path, 0), GNUTLS_E_PK_SIGN_FAILED);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms < 1000);
	assert_non_null(strstr(keyd_gnutls_last_error(), "key 'k1': keyd is not running"));
	assert_non_null(strstr(keyd_gnutls_last_error(), path));

	assert_int_equal(keyd_gnutls_privkey_import(pk, "bad name", path, 0),
			 GNUTLS_E_INVALID_REQUEST);
	assert_non_null(strstr(keyd_gnutls_last_error(), "'bad name' is not a keyd key name"));
	assert_int_equal(keyd_gnutls_privkey_import(pk, "k1", path, 1), GNUTLS_E_INVALID_REQUEST);
	assert_int_equal(keyd_gnutls_privkey_import(pk, NULL, path, 0), GNUTLS_E_INVALID_REQUEST);

	ring = new_ring("keyd-test-gnutls-import");
	der = add_user(ring, "der", "\x30\x03\x02\x01\x00", 5);
	assert_int_equal(keyd_gnutls_privkey_import_ref(pk, der, path, 0), GNUTLS_E_KEYFILE_ERROR);
	assert_non_null(strstr(keyd_gnutls_last_error(), "is not a reference to a keyd key"));
	ref = add_user(ring, "keyd:key:k2", "keyd:k2", 7);
	assert_int_equal(keyd_gnutls_privkey_import_ref(pk, ref, path, 0), GNUTLS_E_PK_SIGN_FAILED);
	assert_non_null(strstr(keyd_gnutls_last_error(), "key 'k2': keyd is not running"));
	/* pkey was left as it was: still usable for an import, still to be deinit'ed. */
	gnutls_privkey_deinit(pk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trust_list),
		cmocka_unit_test(test_psk),
		cmocka_unit_test(test_refs),
		cmocka_unit_test(test_import_without_keyd),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
