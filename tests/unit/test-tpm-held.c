/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the held keys of keyd/core/tpm.c (keyd_tpm_key_hold,
 * keyd_tpm_sign_held), against a private swtpm (skipped with a message when
 * swtpm is not installed): signatures verify with the key's public part; a
 * burst costs one Sign per signature once the key is loaded; the key stays
 * loaded (one transient object) until unloaded or freed, and nothing transient
 * stays after that; after an unload the next signature costs ContextLoad and
 * Sign; after a TPM reset (the loaded key and its saved context are gone) the
 * next signature reloads the key from its blob and succeeds; a held handle that
 * another program's key took since is not signed with, nor flushed; an object
 * is flushed by handle only with the recorded Name; a changed blob is told
 * apart.
 */
#include <setjmp.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "evp-check.h"
#include "swtpm-fixture.h"
#include <openssl/evp.h>

#include "crypto.h"
#include "tpm.h"

static int swtpm_setup(void **state)
{
	(void)state;
	if (swtpm_fixture_start("held") < 0)
		return -1;
	return 0;
}

static int swtpm_teardown(void **state)
{
	(void)state;
	swtpm_fixture_stop();
	return 0;
}

static keyd_tpm *tpm_or_skip(void)
{
	keyd_tpm *t = NULL;

	if (swtpm_pid <= 0)
		skip();
	assert_int_equal(keyd_tpm_open(swtpm_tcti, &t), 0);
	return t;
}

static void sign_and_check(keyd_tpm *t, keyd_tpm_held_key *h, EVP_PKEY *pkey,
			   enum keyd_sig_scheme s, const uint8_t *digest, unsigned want_commands)
{
	unsigned before = keyd_tpm_command_count(t);
	uint8_t *sig = NULL;
	size_t slen = 0;
	int r;

	r = keyd_tpm_sign_held(t, h, s, KEYD_HASH_SHA256, digest, 32, &sig, &slen);
	if (r < 0)
		fail_msg("sign_held %s: %s", keyd_sig_scheme_to_string(s), keyd_tpm_last_error(t));
	if (want_commands)
		assert_int_equal(keyd_tpm_command_count(t) - before, want_commands);
	assert_int_equal(evp_verify(pkey, s, EVP_sha256(), digest, 32, sig, slen), 1);
	sig[slen / 2] ^= 0x01;
	assert_int_not_equal(evp_verify(pkey, s, EVP_sha256(), digest, 32, sig, slen), 1);
	free(sig);
}

/* The number of transient objects loaded in the TPM (-1: tpm2_getcap missing). */
static int transients(void)
{
	FILE *f;
	char line[128];
	int n = 0;

	if (!in_path("tpm2_getcap"))
		return -1;
	f = popen("tpm2_getcap handles-transient 2>&1", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "- 0x80", 6) == 0)
			n++;
		else
			fail_msg("tpm2_getcap handles-transient: %s", line);
	assert_int_equal(pclose(f), 0);
	return n;
}

static void no_transients(void)
{
	int n = transients();

	if (n > 0)
		fail_msg("%d transient object(s) left in the TPM", n);
}

static void one_transient(void)
{
	int n = transients();

	if (n >= 0)
		assert_int_equal(n, 1);
}

static void test_held_burst(void **state)
{
	static const enum keyd_key_alg algs[] = { KEYD_KEY_EC_P256, KEYD_KEY_RSA2048 };
	keyd_tpm *t;
	uint8_t digest[32];

	(void)state;
	t = tpm_or_skip();
	assert_int_equal(keyd_tpm_srk_ensure(t, NULL, NULL, NULL), 0);
	assert_int_equal(keyd_crypto_hash(KEYD_HASH_SHA256, "keyd", 4, digest), 0);
	for (size_t a = 0; a < 2; a++) {
		struct keyd_tpm_blob blob = {}, other = {};
		keyd_tpm_held_key *h = NULL;
		enum keyd_sig_scheme s = keyd_key_alg_is_ec(algs[a]) ? KEYD_SIG_ECDSA :
								      KEYD_SIG_RSA_PSS;
		EVP_PKEY *pkey;
		unsigned before;

		assert_int_equal(keyd_tpm_key_create(t, algs[a], &blob), 0);
		assert_int_equal(keyd_tpm_key_create(t, algs[a], &other), 0);
		assert_int_equal(keyd_tpm_held_key_new(&blob, &h), 0);
		assert_true(keyd_tpm_held_key_is(h, &blob));
		assert_false(keyd_tpm_held_key_is(h, &other));
		pkey = evp_pkey_from(keyd_tpm_held_key_public(h));

		before = keyd_tpm_command_count(t);
		assert_int_equal(keyd_tpm_key_hold(t, h), 0);
		/* Load, ContextSave, FlushContext */
		assert_int_equal(keyd_tpm_command_count(t) - before, 3);
		no_transients();
		/* ContextLoad, and StartAuthSession for the first signature of the
		 * connection, then Sign. */
		sign_and_check(t, h, pkey, s, digest, a == 0 ? 3 : 2);
		assert_true(keyd_tpm_held_key_is_loaded(h));
		one_transient();
		/* The burst: one Sign each. */
		for (int i = 0; i < 5; i++)
			sign_and_check(t, h, pkey, s, digest, 1);
		one_transient();
		/* Unloaded: FlushContext; then ContextLoad and Sign. */
		before = keyd_tpm_command_count(t);
		assert_int_equal(keyd_tpm_held_key_unload(h), 1);
		assert_int_equal(keyd_tpm_held_key_unload(h), 0);
		assert_int_equal(keyd_tpm_command_count(t) - before, 1);
		assert_false(keyd_tpm_held_key_is_loaded(h));
		no_transients();
		sign_and_check(t, h, pkey, s, digest, 2);
		sign_and_check(t, h, pkey, s, digest, 1);
		/* A scheme that does not fit is refused before anything is sent. */
		before = keyd_tpm_command_count(t);
		{
			uint8_t *sig = NULL;
			size_t slen;

			assert_int_equal(keyd_tpm_sign_held(t, h,
							    keyd_key_alg_is_ec(algs[a]) ?
								    KEYD_SIG_RSA_PKCS1 :
								    KEYD_SIG_ECDSA,
							    KEYD_HASH_SHA256, digest, 32, &sig,
							    &slen),
					 -EOPNOTSUPP);
		}
		assert_int_equal(keyd_tpm_command_count(t), before);
		/* Freeing a loaded key flushes it. */
		assert_true(keyd_tpm_held_key_is_loaded(h));
		EVP_PKEY_free(pkey);
		keyd_tpm_held_key_free(h);
		no_transients();
	}
	keyd_tpm_close(t);
	no_transients();
}

static void test_held_after_reset(void **state)
{
	struct keyd_tpm_blob blob = {};
	keyd_tpm_held_key *h = NULL;
	keyd_tpm *t;
	EVP_PKEY *pkey;
	uint8_t digest[32];
	char cmd[256];

	(void)state;
	t = tpm_or_skip();
	if (!in_path("swtpm_ioctl") || !in_path("tpm2_startup")) {
		keyd_tpm_close(t);
		skip();
	}
	assert_int_equal(keyd_tpm_srk_ensure(t, NULL, NULL, NULL), 0);
	assert_int_equal(keyd_crypto_hash(KEYD_HASH_SHA256, "reset", 5, digest), 0);
	assert_int_equal(keyd_tpm_key_create(t, KEYD_KEY_EC_P256, &blob), 0);
	assert_int_equal(keyd_tpm_held_key_new(&blob, &h), 0);
	pkey = evp_pkey_from(keyd_tpm_held_key_public(h));
	sign_and_check(t, h, pkey, KEYD_SIG_ECDSA, digest, 0);

	/* TPM Reset: saved contexts and sessions of the old epoch become invalid. */
	snprintf(cmd, sizeof(cmd),
		 "swtpm_ioctl --unix '%s/sock.ctrl' -i >/dev/null && tpm2_startup -c", swtpm_dir);
	assert_int_equal(system(cmd), 0);
	/* The loaded key and the session are gone with the reset: a refused Sign,
	 * then Load, ContextSave, StartAuthSession, Sign: it recovers by itself. */
	sign_and_check(t, h, pkey, KEYD_SIG_ECDSA, digest, 0);
	sign_and_check(t, h, pkey, KEYD_SIG_ECDSA, digest, 1);
	one_transient();
	/* Again with the key unloaded: the saved context is refused instead. */
	assert_int_equal(system(cmd), 0);
	keyd_tpm_held_key_unload(h);
	sign_and_check(t, h, pkey, KEYD_SIG_ECDSA, digest, 0);
	sign_and_check(t, h, pkey, KEYD_SIG_ECDSA, digest, 1);
	keyd_tpm_held_key_unload(h);
	no_transients();
	EVP_PKEY_free(pkey);
	keyd_tpm_held_key_free(h);
	keyd_tpm_close(t);
}

/* The transient handles loaded, as tpm2_getcap lists them. */
static void transient_list(char *buf, size_t size)
{
	FILE *f = popen("tpm2_getcap handles-transient 2>&1", "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	assert_int_equal(pclose(f), 0);
}

/* A TPM without a resource manager: another program flushes keyd's loaded key
 * and loads its own empty-auth signing key at the same handle. The next
 * signature must not come from that key (the Sign session's HMAC covers the
 * held key's Name), must come from keyd's key, and must leave the other
 * program's object loaded. */
static void test_held_handle_reused(void **state)
{
	struct keyd_tpm_blob blob_a = {}, blob_b = {};
	keyd_tpm_held_key *a = NULL, *b = NULL;
	keyd_tpm *t, *other = NULL;
	EVP_PKEY *pka, *pkb;
	uint8_t digest[32];
	char before[256], after[256];

	(void)state;
	t = tpm_or_skip();
	if (!in_path("tpm2_flushcontext") || !in_path("tpm2_getcap")) {
		keyd_tpm_close(t);
		skip();
	}
	assert_int_equal(keyd_tpm_srk_ensure(t, NULL, NULL, NULL), 0);
	assert_int_equal(keyd_crypto_hash(KEYD_HASH_SHA256, "reuse", 5, digest), 0);
	assert_int_equal(keyd_tpm_key_create(t, KEYD_KEY_EC_P256, &blob_a), 0);
	assert_int_equal(keyd_tpm_key_create(t, KEYD_KEY_EC_P256, &blob_b), 0);
	assert_int_equal(keyd_tpm_held_key_new(&blob_a, &a), 0);
	assert_int_equal(keyd_tpm_held_key_new(&blob_b, &b), 0);
	pka = evp_pkey_from(keyd_tpm_held_key_public(a));
	pkb = evp_pkey_from(keyd_tpm_held_key_public(b));

	sign_and_check(t, a, pka, KEYD_SIG_ECDSA, digest, 0);
	transient_list(before, sizeof(before));
	assert_int_equal(system("tpm2_flushcontext -t"), 0);
	no_transients();
	assert_int_equal(keyd_tpm_open(swtpm_tcti, &other), 0);
	sign_and_check(other, b, pkb, KEYD_SIG_ECDSA, digest, 0);
	transient_list(after, sizeof(after));
	assert_string_equal(before, after); /* b took a's handle */

	/* Verified with a's public key inside (and a tampered one refused). */
	sign_and_check(t, a, pka, KEYD_SIG_ECDSA, digest, 0);
	{
		int n = transients();

		if (n >= 0)
			assert_int_equal(n, 2); /* b's object was not flushed */
	}
	assert_true(keyd_tpm_held_key_is_loaded(b));
	sign_and_check(other, b, pkb, KEYD_SIG_ECDSA, digest, 1);

	/* What a restarted keyd does with a killed one's record: flush the object at
	 * the handle only when it has the recorded Name. */
	{
		const uint8_t *name_a, *name_b;
		size_t len_a, len_b;
		uint32_t hb;

		name_a = keyd_tpm_held_key_name(a, &len_a);
		name_b = keyd_tpm_held_key_name(b, &len_b);
		assert_int_equal(keyd_tpm_held_key_loaded_handle(b, &hb), 0);
		assert_int_equal(keyd_tpm_flush_if_named(t, hb, name_a, len_a), 0);
		if (transients() >= 0)
			assert_int_equal(transients(), 2);
		assert_int_equal(keyd_tpm_flush_if_named(t, hb, name_b, len_b), 1);
		if (transients() >= 0)
			assert_int_equal(transients(), 1);
		assert_int_equal(keyd_tpm_flush_if_named(t, hb, name_b, len_b), 0); /* gone */
		assert_int_equal(keyd_tpm_flush_if_named(t, 0x81000001, name_b, len_b), -EINVAL);
	}

	EVP_PKEY_free(pka);
	EVP_PKEY_free(pkb);
	keyd_tpm_held_key_free(a);
	keyd_tpm_held_key_free(b);
	keyd_tpm_close(other);
	keyd_tpm_close(t);
	no_transients();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_held_burst),
		cmocka_unit_test(test_held_after_reset),
		cmocka_unit_test(test_held_handle_reused),
	};

	if (!in_path("swtpm"))
		fprintf(stderr, "swtpm is not installed: the held-key tests are skipped\n");
	return cmocka_run_group_tests(tests, swtpm_setup, swtpm_teardown);
}
