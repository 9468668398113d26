/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for keyd/core/keyring.c against the REAL kernel keyrings. Every
 * test runs in a fresh, uniquely named session keyring that the group setup
 * joins; every key and keyring made is invalidated in teardown. Certificates
 * are generated here with libcrypto (RSA: the host kernel has no ECDSA).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "keyring.h"

static keyd_serial_t session;
static keyd_serial_t made[64];
static size_t n_made;

static void track(keyd_serial_t s)
{
	assert_true(n_made < ELEMENTSOF(made));
	made[n_made++] = s;
}

static keyd_serial_t new_ring(const char *name, keyd_serial_t dest)
{
	keyd_serial_t s = 0;

	assert_int_equal(keyd_keyring_new(name, dest, &s), 0);
	assert_true(s > 0);
	track(s);
	return s;
}

static int group_setup(void **state)
{
	char name[64];

	(void)state;
	snprintf(name, sizeof(name), "keyd-test-keyring-%d", (int)getpid());
	if (keyd_keyring_join_session(name, &session) < 0) {
		fprintf(stderr, "cannot join a session keyring: %m\n");
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (size_t i = n_made; i > 0; i--)
		(void)keyd_keyring_invalidate(made[i - 1]);
	(void)keyd_keyring_clear(session);
	(void)keyd_keyring_invalidate(session);
	return 0;
}

static bool list_contains(keyd_serial_t ring, keyd_serial_t key)
{
	_cleanup_free_ keyd_serial_t *l = NULL;
	size_t n = 0;

	assert_int_equal(keyd_keyring_list(ring, 128, &l, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (l[i] == key)
			return true;
	return false;
}

static void test_user_key(void **state)
{
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x2a };
	_cleanup_secret_ struct keyd_secret payload = {};
	struct keyd_keyring_info info;
	keyd_serial_t ring, key = 0, found = 0;
	uint32_t perm;

	(void)state;
	ring = new_ring("keyd-test-user", session);
	assert_int_equal(keyd_keyring_add_user(ring, "cert:test", der, sizeof(der), &key), 0);
	track(key);

	assert_int_equal(keyd_keyring_read(key, 4096, &payload), 0);
	assert_int_equal(payload.len, sizeof(der));
	assert_memory_equal(payload.data, der, sizeof(der));
	keyd_secret_wipe(&payload);
	assert_int_equal(keyd_keyring_read(key, sizeof(der) - 1, &payload), -EFBIG);
	assert_null(payload.data);

	assert_int_equal(keyd_keyring_describe(key, &info), 0);
	assert_string_equal(info.type, "user");
	assert_string_equal(info.description, "cert:test");
	assert_int_equal(info.uid, getuid());

	perm = KEYD_PERM_POSSESSOR(KEYD_PERM_ALL) | KEYD_PERM_USER(KEYD_PERM_VIEW | KEYD_PERM_READ);
	assert_int_equal(keyd_keyring_setperm(key, perm), 0);
	assert_int_equal(keyd_keyring_describe(key, &info), 0);
	assert_int_equal(info.perm, perm);

	assert_true(list_contains(ring, key));
	assert_int_equal(keyd_keyring_search(ring, "user", "cert:test", &found), 0);
	assert_int_equal(found, key);
	assert_int_equal(keyd_keyring_search(ring, "user", "cert:none", &found), -ENOKEY);

	/* A key, not a keyring, has no list; too small a bound is refused. */
	_cleanup_free_ keyd_serial_t *l = NULL;
	size_t n;
	assert_int_equal(keyd_keyring_list(key, 16, &l, &n), -ENOTDIR);
	assert_int_equal(keyd_keyring_list(ring, 0, &l, &n), -EFBIG);

	assert_int_equal(keyd_keyring_unlink(key, ring), 0);
	assert_false(list_contains(ring, key));
	assert_int_equal(keyd_keyring_describe(0x7ffffff0, &info), -ENOKEY);

	/* Bad arguments never reach the kernel. */
	assert_int_equal(keyd_keyring_add_user(ring, "", der, sizeof(der), &key), -EINVAL);
	assert_int_equal(keyd_keyring_add_user(ring, "x", der, 0, &key), -EINVAL);
}

static void test_move_revoke_timeout(void **state)
{
	_cleanup_secret_ struct keyd_secret p = {};
	keyd_serial_t a, b, k1 = 0, k2 = 0, k3 = 0;
	int r;

	(void)state;
	a = new_ring("keyd-test-move-a", session);
	b = new_ring("keyd-test-move-b", session);
	assert_int_equal(keyd_keyring_add_user(a, "k1", "one", 3, &k1), 0);
	track(k1);
	assert_int_equal(keyd_keyring_move(k1, a, b, true), 0);
	assert_false(list_contains(a, k1));
	assert_true(list_contains(b, k1));

	/* Exclusive move refuses to displace a same-named key. */
	assert_int_equal(keyd_keyring_add_user(a, "k1", "other", 5, &k2), 0);
	track(k2);
	assert_int_equal(keyd_keyring_move(k2, a, b, true), -EEXIST);

	assert_int_equal(keyd_keyring_revoke(k2), 0);
	assert_int_equal(keyd_keyring_read(k2, 64, &p), -EKEYREVOKED);

	assert_int_equal(keyd_keyring_add_user(a, "k3", "three", 5, &k3), 0);
	track(k3);
	assert_int_equal(keyd_keyring_set_timeout(k3, 1), 0);
	sleep(2);
	assert_int_equal(keyd_keyring_read(k3, 64, &p), -EKEYEXPIRED);

	/* Invalidated keys are unusable at once (ENOKEY); the garbage collector unlinks
	 * them soon after, and then the key is not even possessed any more (EACCES). */
	assert_int_equal(keyd_keyring_invalidate(k1), 0);
	r = keyd_keyring_read(k1, 64, &p);
	assert_true(r == -ENOKEY || r == -EACCES);
}

static void test_restrict_closed(void **state)
{
	keyd_serial_t ring, before = 0, loose = 0, k = 0;
	struct keyd_keyring_info info;

	(void)state;
	ring = new_ring("keyd-test-closed", session);
	assert_int_equal(keyd_keyring_add_user(ring, "before", "x", 1, &before), 0);
	track(before);
	assert_int_equal(keyd_keyring_add_user(session, "loose", "y", 1, &loose), 0);
	track(loose);

	assert_int_equal(keyd_keyring_restrict_closed(ring), 0);
	/* Closed means closed, for root too. */
	assert_int_equal(keyd_keyring_add_user(ring, "after", "z", 1, &k), -EPERM);
	assert_int_equal(keyd_keyring_link(loose, ring), -EPERM);
	assert_true(list_contains(ring, before));
	/* A restriction cannot be replaced. */
	assert_int_not_equal(keyd_keyring_restrict_chain(ring, session), 0);

	/* The restriction does not stop unlink: dropping write does. */
	assert_int_equal(keyd_keyring_setperm(ring, KEYD_PERM_POSSESSOR(KEYD_PERM_VIEW |
				KEYD_PERM_READ | KEYD_PERM_SEARCH | KEYD_PERM_SETATTR) |
			 KEYD_PERM_USER(KEYD_PERM_VIEW | KEYD_PERM_READ)), 0);
	assert_int_equal(keyd_keyring_unlink(before, ring), -EACCES);
	assert_int_equal(keyd_keyring_clear(ring), -EACCES);
	assert_int_equal(keyd_keyring_describe(ring, &info), 0);
	assert_string_equal(info.type, "keyring");
	assert_string_equal(info.description, "keyd-test-closed");
}

/* ---- certificates made with libcrypto -------------------------------------------- */

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(cert, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A certificate for key, signed by issuer_key (self-signed when issuer is NULL). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
		       bool ca, long serial)
{
	X509 *c = X509_new();
	X509_NAME *name;

	assert_non_null(c);
	assert_int_equal(X509_set_version(c, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(c), serial), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(c), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(c), 3600L * 24));
	assert_int_equal(X509_set_pubkey(c, key), 1);
	name = X509_get_subject_name(c);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
						    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name), 1);
	add_ext(c, issuer, NID_subject_key_identifier, "hash");
	/* The kernel finds the signer by the authority key identifier. */
	add_ext(c, issuer, NID_authority_key_identifier, "keyid:always");
	if (ca) {
		add_ext(c, issuer, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(c, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(c, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(c, issuer, NID_key_usage, "critical,digitalSignature");
	}
	assert_true(X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
	return c;
}

struct der {
	uint8_t *p;
	size_t len;
};

static struct der to_der(X509 *c)
{
	struct der d = {};
	int n = i2d_X509(c, &d.p);

	assert_true(n > 0);
	d.len = (size_t)n;
	return d;
}

static void test_asymmetric_chain(void **state)
{
	EVP_PKEY *ca1_key = EVP_RSA_gen(2048), *ca2_key = EVP_RSA_gen(2048);
	EVP_PKEY *leaf_key = EVP_RSA_gen(2048);
	X509 *ca1, *ca2, *leaf1, *leaf2;
	struct der ca1_der, leaf1_der, leaf2_der;
	keyd_serial_t ca_ring, chain_ring, k = 0, extra = 0;
	struct keyd_keyring_info info;
	_cleanup_secret_ struct keyd_secret p = {};
	char reason[256];
	int r;

	(void)state;
	assert_non_null(ca1_key);
	assert_non_null(ca2_key);
	assert_non_null(leaf_key);
	ca1 = make_cert(ca1_key, "keyd test CA 1", NULL, NULL, true, 1);
	ca2 = make_cert(ca2_key, "keyd test CA 2", NULL, NULL, true, 2);
	leaf1 = make_cert(leaf_key, "keyd test leaf 1", ca1, ca1_key, false, 3);
	leaf2 = make_cert(leaf_key, "keyd test leaf 2", ca2, ca2_key, false, 4);
	ca1_der = to_der(ca1);
	leaf1_der = to_der(leaf1);
	leaf2_der = to_der(leaf2);

	ca_ring = new_ring("keyd-test-ca", session);
	assert_int_equal(keyd_keyring_add_asymmetric(ca_ring, NULL, ca1_der.p, ca1_der.len, &k,
						     reason, sizeof(reason)), 0);
	track(k);
	assert_string_equal(reason, "");
	assert_int_equal(keyd_keyring_describe(k, &info), 0);
	assert_string_equal(info.type, "asymmetric");
	/* The kernel names it "<CN>: <subject key id>". */
	assert_true(startswith(info.description, "keyd test CA 1: "));
	/* asymmetric keys have no read operation */
	assert_int_equal(keyd_keyring_read(k, 65536, &p), -EOPNOTSUPP);

	chain_ring = new_ring("keyd-test-chain", session);
	assert_int_equal(keyd_keyring_restrict_chain(chain_ring, ca_ring), 0);
	/* Signed by CA 1: the kernel verifies and accepts. */
	assert_int_equal(keyd_keyring_add_asymmetric(chain_ring, NULL, leaf1_der.p, leaf1_der.len,
						     &k, reason, sizeof(reason)), 0);
	track(k);
	assert_true(list_contains(chain_ring, k));
	/* Signed by CA 2, which is not in the CA keyring: refused. */
	r = keyd_keyring_add_asymmetric(chain_ring, NULL, leaf2_der.p, leaf2_der.len, &k, reason,
					sizeof(reason));
	assert_true(r == -ENOKEY || r == -EKEYREJECTED);
	assert_non_null(strstr(reason, "restriction refused"));
	/* Nothing but asymmetric keys gets in. */
	assert_true(keyd_keyring_add_user(chain_ring, "x", "y", 1, &extra) < 0);

	/* Garbage is reported as unparseable, with the reason. */
	leaf1_der.p[0] = 0x31;
	r = keyd_keyring_add_asymmetric(ca_ring, NULL, leaf1_der.p, leaf1_der.len, &k, reason,
					sizeof(reason));
	assert_true(r == -EBADMSG || r == -ENOPKG);
	assert_non_null(strstr(reason, "kernel"));

	OPENSSL_free(ca1_der.p);
	OPENSSL_free(leaf1_der.p);
	OPENSSL_free(leaf2_der.p);
	X509_free(ca1);
	X509_free(ca2);
	X509_free(leaf1);
	X509_free(leaf2);
	EVP_PKEY_free(ca1_key);
	EVP_PKEY_free(ca2_key);
	EVP_PKEY_free(leaf_key);
}

/* An ECDSA certificate: kernels without CRYPTO_ECDSA fail with ENOENT, and keyd
 * says so in words. */
static void test_asymmetric_ecdsa(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *c;
	struct der d;
	keyd_serial_t ring, k = 0;
	char reason[256];
	int r;

	(void)state;
	assert_non_null(key);
	c = make_cert(key, "keyd test ec", NULL, NULL, true, 5);
	d = to_der(c);
	ring = new_ring("keyd-test-ec", session);
	r = keyd_keyring_add_asymmetric(ring, "", d.p, d.len, &k, reason, sizeof(reason));
	if (r == 0) {
		track(k);
		print_message("this kernel parses ECDSA certificates\n");
	} else {
		assert_int_equal(r, -ENOENT);
		assert_string_equal(reason,
				    "the kernel cannot parse this certificate (no ECDSA support?)");
	}
	OPENSSL_free(d.p);
	X509_free(c);
	EVP_PKEY_free(key);
}

static void test_types(void **state)
{
	keyd_serial_t k = 0;
	int psk;

	(void)state;
	assert_int_equal(keyd_keyring_has_type("user"), 1);
	assert_int_equal(keyd_keyring_has_type("asymmetric"), 1);
	assert_int_equal(keyd_keyring_has_type("keyring"), 1);
	assert_int_equal(keyd_keyring_has_type("keyd-no-such-type"), 0);
	assert_int_equal(keyd_keyring_has_type(".reserved"), -EINVAL);
	assert_int_equal(keyd_keyring_add("keyd-no-such-type", "x", "y", 1, session, &k), -ENODEV);

	psk = keyd_keyring_has_type("psk");
	assert_true(psk == 0 || psk == 1);
	if (psk == 0) {
		uint8_t secret[32] = { 1 };
		assert_int_equal(keyd_keyring_add_psk(session, "NVMe0R01 a b", secret,
						      sizeof(secret), &k), -ENODEV);
		assert_non_null(strstr(keyd_keyring_add_error_reason("psk", -ENODEV),
				       "nvme-keyring"));
	}
}

static void test_psk(void **state)
{
	uint8_t secret[48];
	_cleanup_secret_ struct keyd_secret p = {};
	struct keyd_keyring_info info;
	keyd_serial_t ring, k = 0;
	const char *id = "NVMe0R02 nqn.2014-08.org.nvmexpress:uuid:host nqn.test:sub";

	(void)state;
	if (keyd_keyring_has_type("psk") != 1) {
		print_message("SKIP psk: this kernel has no 'psk' key type (no nvme-keyring)\n");
		skip();
	}
	for (size_t i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)(i * 7 + 1);
	ring = new_ring("keyd-test-psk", session);
	assert_int_equal(keyd_keyring_add_psk(ring, id, secret, 40, &k), -EINVAL);
	assert_int_equal(keyd_keyring_add_psk(ring, id, secret, sizeof(secret), &k), 0);
	track(k);
	assert_int_equal(keyd_keyring_describe(k, &info), 0);
	assert_string_equal(info.type, "psk");
	assert_string_equal(info.description, id);
	assert_int_equal(keyd_keyring_read(k, 64, &p), 0);
	assert_int_equal(p.len, sizeof(secret));
	assert_memory_equal(p.data, secret, sizeof(secret));
	explicit_bzero(secret, sizeof(secret));
}

static void test_find_by_name(void **state)
{
	char name[64];
	keyd_serial_t ring, found = 0;
	int r;

	(void)state;
	snprintf(name, sizeof(name), "keyd-test-find-%d", (int)getpid());
	ring = new_ring(name, session);
	assert_int_equal(keyd_keyring_find_by_name(name, &found), 0);
	assert_int_equal(found, ring);
	snprintf(name, sizeof(name), "keyd-test-absent-%d", (int)getpid());
	assert_int_equal(keyd_keyring_find_by_name(name, &found), -ENOKEY);
	/* .nvme exists only with the nvme-keyring module; either answer is clean. */
	r = keyd_keyring_find_by_name(".nvme", &found);
	assert_true(r == 0 || r == -ENOKEY);
	print_message(".nvme: %s\n", r == 0 ? "present" : "absent (no nvme-keyring)");
}

/* A ring the caller does not possess is found through /proc/keys; a hostile
 * description elsewhere (an embedded newline forging a keyring line, 4 KiB of
 * text) must neither crash the lookup nor be taken for the ring. */
static void test_find_by_name_hostile_proc_keys(void **state)
{
	char name[64], forged[256], big[4000];
	keyd_serial_t user, ring, found = 0;

	(void)state;
	snprintf(name, sizeof(name), "keyd-test-unpossessed-%d", (int)getpid());
	snprintf(forged, sizeof(forged),
		 "x\n7fffffff I--Q---     1 perm 3f010000     0     0 keyring   %s: empty", name);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(keyd_keyring_add_user(session, forged, "v", 1, NULL), 0);
	assert_int_equal(keyd_keyring_add_user(session, big, "v", 1, NULL), 0);
	/* Forged line only: nothing is found (7fffffff is not a keyring named so). */
	assert_int_equal(keyd_keyring_find_by_name(name, &found), -ENOKEY);

	assert_int_equal(keyd_keyring_resolve(KEYD_KEYRING_USER, true, &user), 0);
	assert_int_equal(keyd_keyring_new(name, user, &ring), 0);
	assert_int_equal(keyd_keyring_find_by_name(name, &found), 0);
	assert_int_equal(found, ring);
	assert_int_equal(keyd_keyring_unlink(ring, user), 0);
}

static void test_resolve_persistent(void **state)
{
	keyd_serial_t s = 0, p = 0;
	int r;

	(void)state;
	assert_int_equal(keyd_keyring_resolve(KEYD_KEYRING_SESSION, false, &s), 0);
	assert_int_equal(s, session);
	r = keyd_keyring_get_persistent((uid_t)-1, session, &p);
	if (r == -EOPNOTSUPP) {
		print_message("persistent keyrings not configured in this kernel\n");
		return;
	}
	assert_int_equal(r, 0);
	assert_true(list_contains(session, p));
	assert_int_equal(keyd_keyring_unlink(p, session), 0);
}

/* In a child with real uid uid: is ring linked in @u (then _uid.<uid>)? */
static int child_user_has(uid_t uid, const char *name, keyd_serial_t ring, bool drop_after)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		keyd_serial_t found = 0;
		int r;

		if (syscall(SYS_setresuid, uid, (uid_t)-1, (uid_t)-1) < 0)
			_exit(3);
		r = keyd_keyring_search(KEYD_KEYRING_USER, "keyring", name, &found);
		if (drop_after) /* the test's throw-away user keyring goes */
			(void)keyd_keyring_invalidate(KEYD_KEYRING_USER);
		_exit(r == 0 && found == ring ? 0 : r == -ENOKEY ? 1 : 2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_user_keyring_of_uid(void **state)
{
	const uid_t uid = 2000000000u + (uid_t)(getpid() % 100000);
	struct keyd_keyring_info info;
	keyd_serial_t ring, user = 0;
	char name[64];

	(void)state;
	if (getuid() != 0) {
		print_message("SKIP: linking into another uid's user keyring needs root\n");
		skip();
	}
	snprintf(name, sizeof(name), "keyd-test-ulink-%d", (int)getpid());
	ring = new_ring(name, session);
	assert_int_equal(keyd_keyring_user_id(uid, &user), 0);
	assert_true(user > 0);
	/* What the header says: root cannot use another uid's user keyring by serial. */
	assert_int_equal(keyd_keyring_describe(user, &info), -EACCES);
	assert_int_equal(keyd_keyring_link(ring, user), -EACCES);

	assert_int_equal(keyd_keyring_user_link(uid, ring), 0);
	assert_int_equal(child_user_has(uid, name, ring, false), 0);
	assert_int_equal(keyd_keyring_user_unlink(uid, ring), 0);
	assert_int_equal(child_user_has(uid, name, ring, true), 1);
	/* Our own uid goes the direct way. */
	assert_int_equal(keyd_keyring_user_link(getuid(), ring), 0);
	assert_int_equal(keyd_keyring_user_unlink(getuid(), ring), 0);
}

static void test_request_key_without_authority(void **state)
{
	keyd_serial_t k = 0;

	(void)state;
	assert_int_equal(keyd_keyring_add_user(session, "not-pending", "x", 1, &k), 0);
	track(k);
	/* Instantiating needs an authorisation key from a pending request. */
	assert_int_equal(keyd_keyring_instantiate(k, "y", 1, 0), -EPERM);
	assert_int_equal(keyd_keyring_negate(k, 5, 0), -EPERM);
	assert_int_equal(keyd_keyring_reject(k, 5, 0, 0), -EINVAL);
	assert_true(keyd_keyring_assume_authority(k) < 0);
	assert_int_equal(keyd_keyring_assume_authority(0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_key),
		cmocka_unit_test(test_move_revoke_timeout),
		cmocka_unit_test(test_restrict_closed),
		cmocka_unit_test(test_asymmetric_chain),
		cmocka_unit_test(test_asymmetric_ecdsa),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_psk),
		cmocka_unit_test(test_find_by_name),
		cmocka_unit_test(test_find_by_name_hostile_proc_keys),
		cmocka_unit_test(test_resolve_persistent),
		cmocka_unit_test(test_user_keyring_of_uid),
		cmocka_unit_test(test_request_key_without_authority),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
