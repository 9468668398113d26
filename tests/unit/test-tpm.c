/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for keyd/core/tpm.c.
 *
 * Pure parts: PCR policy text, TSS return code mapping, public-area decoding.
 * With swtpm installed, a round trip against a private swtpm that this test
 * starts on a unix socket in a temp directory and stops by pid: SRK, keys of
 * every algorithm signed and verified with libcrypto, seal/unseal with PCR and
 * PIN, PCR change, wrong PIN, pinning, and no transient object or session left.
 * Without swtpm that group is skipped with a message.
 */
#include <setjmp.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "evp-check.h"
#include "swtpm-fixture.h"

#include <openssl/evp.h>

#include "crypto.h"
#include "tpm.h"

/* ---- PCR policy text --------------------------------------------------------- */

static void test_pcr_parse(void **state)
{
	struct keyd_pcr_policy p;

	(void)state;
	assert_int_equal(keyd_pcr_policy_parse("sha256:7,14", &p), 0);
	assert_int_equal(p.bank, KEYD_HASH_SHA256);
	assert_int_equal(p.mask, (1u << 7) | (1u << 14));
	assert_false(p.pin);

	assert_int_equal(keyd_pcr_policy_parse("7,14", &p), 0);
	assert_int_equal(p.bank, KEYD_HASH_SHA256);
	assert_int_equal(p.mask, (1u << 7) | (1u << 14));

	assert_int_equal(keyd_pcr_policy_parse("sha384:0,23", &p), 0);
	assert_int_equal(p.bank, KEYD_HASH_SHA384);
	assert_int_equal(p.mask, 1u | (1u << 23));

	assert_int_equal(keyd_pcr_policy_parse("sha512:16", &p), 0);
	assert_int_equal(p.bank, KEYD_HASH_SHA512);

	assert_int_equal(keyd_pcr_policy_parse("none", &p), 0);
	assert_int_equal(p.mask, 0);
	assert_int_equal(keyd_pcr_policy_parse("", &p), 0);
	assert_int_equal(p.mask, 0);
}

static void test_pcr_parse_bad(void **state)
{
	static const char *const bad[] = {
		"sha256:", ":7", "sha256:24", "24", "7,,14", "7,", ",7", "x", "07", "-1", "+1",
		"7,7", " 7", "7 ", "sha256:7:8", "md5:1", "SHA256:7", "1-3", "99999999999",
		"sha256:7,14,", "sha2566:1", "none,1",
	};
	struct keyd_pcr_policy p;
	char longer[300];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = keyd_pcr_policy_parse(bad[i], &p);

		if (r != -EINVAL)
			fail_msg("'%s' gave %d, expected -EINVAL", bad[i], r);
	}
	/* sha1 is a known bank keyd refuses to seal to */
	assert_int_equal(keyd_pcr_policy_parse("sha1:7", &p), -EOPNOTSUPP);
	memset(longer, '1', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(keyd_pcr_policy_parse(longer, &p), -EINVAL);
	assert_int_equal(keyd_pcr_policy_parse(NULL, &p), -EINVAL);
}

static void test_pcr_format(void **state)
{
	struct keyd_pcr_policy p = { .bank = KEYD_HASH_SHA256, .mask = (1u << 7) | (1u << 14) };
	struct keyd_pcr_policy q;
	char buf[128];

	(void)state;
	assert_int_equal(keyd_pcr_policy_format(&p, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "sha256:7,14");
	assert_int_equal(keyd_pcr_policy_parse(buf, &q), 0);
	assert_int_equal(q.mask, p.mask);
	assert_int_equal(q.bank, p.bank);

	p.bank = KEYD_HASH_SHA384;
	p.mask = 0xffffff;
	assert_int_equal(keyd_pcr_policy_format(&p, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "sha384:0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,"
				 "21,22,23");
	assert_int_equal(keyd_pcr_policy_parse(buf, &q), 0);
	assert_int_equal(q.mask, 0xffffff);

	p.mask = 0;
	assert_int_equal(keyd_pcr_policy_format(&p, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "none");

	p.mask = 1u << 24;
	assert_int_equal(keyd_pcr_policy_format(&p, buf, sizeof(buf)), -EINVAL);
	p.mask = (1u << 7) | (1u << 14);
	p.bank = KEYD_HASH_SHA256;
	assert_int_equal(keyd_pcr_policy_format(&p, buf, 8), -ENOBUFS);
}

/* ---- return codes --------------------------------------------------------------- */

static void expect_rc(uint32_t rc, int err, const char *word)
{
	char msg[512];
	int r = keyd_tpm_rc_describe(rc, "doing it", msg, sizeof(msg));

	if (r != err)
		fail_msg("rc 0x%x gave %d, expected %d (%s)", rc, r, err, msg);
	if (!strstr(msg, word))
		fail_msg("rc 0x%x: '%s' lacks '%s'", rc, msg, word);
	if (strncmp(msg, "doing it: ", 10) != 0 || !strstr(msg, "TPM code 0x"))
		fail_msg("rc 0x%x: '%s' lacks the operation or the decoded code", rc, msg);
}

static void test_rc_mapping(void **state)
{
	(void)state;
	/* TPM_RC_AUTH_FAIL (0x08e) for session 1, and for session 2 */
	expect_rc(0x98e, -EACCES, "wrong PIN");
	expect_rc(0xa8e, -EACCES, "wrong PIN");
	/* TPM_RC_BAD_AUTH (0x0a2) for session 1 */
	expect_rc(0x9a2, -EACCES, "wrong PIN");
	/* TPM_RC_LOCKOUT */
	expect_rc(0x921, -EBUSY, "lockout");
	expect_rc(0x921, -EBUSY, "tpm2_dictionarylockout --clear-lockout");
	/* TPM_RC_OBJECT_MEMORY */
	expect_rc(0x902, -ENOSPC, "too many objects");
	expect_rc(0x902, -ENOSPC, "/dev/tpmrm0");
	/* TPM_RC_PCR_CHANGED */
	expect_rc(0x128, -EBUSY, "PCRs kept changing");
	/* TPM_RC_CURVE for parameter 2, TPM_RC_KEY_SIZE, TPM_RC_SCHEME */
	expect_rc(0x2e6, -EOPNOTSUPP, "does not support");
	expect_rc(0x087, -EOPNOTSUPP, "does not support");
	expect_rc(0x092, -EOPNOTSUPP, "does not support");
	/* TPM_RC_INTEGRITY for parameter 1 */
	expect_rc(0x19f, -EBADMSG, "damaged");
	/* TPM_RC_INITIALIZE */
	expect_rc(0x100, -ENODEV, "not been started");
	/* TCTI layer (10 << 16): IO error, no connection */
	expect_rc(0xa000a, -ENODEV, "connection");
	expect_rc(0xa0008, -ENODEV, "swtpm");
	/* TPM_RC_FAILURE and anything else */
	expect_rc(0x101, -EIO, "failed");
	expect_rc(0x9a2, -EACCES, "0x9a2");
}

/* ---- public area decoding --------------------------------------------------------- */

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + 7 * i);
}

static void test_public_roundtrip(void **state)
{
	struct keyd_pubkey in = {}, out;
	struct keyd_tpm_blob b;

	(void)state;
	/* EC P-256 and P-384 with a leading zero coordinate byte (kept: fixed width) */
	for (int a = KEYD_KEY_EC_P256; a <= KEYD_KEY_EC_P384; a++) {
		size_t field = a == KEYD_KEY_EC_P256 ? 32 : 48;

		memset(&in, 0, sizeof(in));
		in.alg = a;
		in.ec.len = field;
		fill(in.ec.x, field, 1);
		fill(in.ec.y, field, 2);
		in.ec.x[0] = 0;
		assert_int_equal(keyd_tpm_key_public_encode(&in, &b), 0);
		assert_int_equal(keyd_tpm_key_public(&b, &out), 0);
		assert_int_equal(out.alg, a);
		assert_int_equal(out.ec.len, field);
		assert_memory_equal(out.ec.x, in.ec.x, field);
		assert_memory_equal(out.ec.y, in.ec.y, field);
	}
	/* RSA 2048 and 3072, default and odd exponents */
	for (int a = KEYD_KEY_RSA2048; a <= KEYD_KEY_RSA3072; a++) {
		size_t mod = a == KEYD_KEY_RSA2048 ? 256 : 384;

		memset(&in, 0, sizeof(in));
		in.alg = a;
		in.rsa.n_len = mod;
		fill(in.rsa.n, mod, 3);
		in.rsa.n[0] = 0xc1;
		in.rsa.e = a == KEYD_KEY_RSA2048 ? 65537 : 3;
		assert_int_equal(keyd_tpm_key_public_encode(&in, &b), 0);
		assert_int_equal(keyd_tpm_key_public(&b, &out), 0);
		assert_int_equal(out.alg, a);
		assert_int_equal(out.rsa.n_len, mod);
		assert_memory_equal(out.rsa.n, in.rsa.n, mod);
		assert_int_equal(out.rsa.e, in.rsa.e);
	}
}

static void test_public_bad(void **state)
{
	struct keyd_pubkey in = { .alg = KEYD_KEY_EC_P256 }, out;
	struct keyd_tpm_blob b, c;

	(void)state;
	in.ec.len = 32;
	fill(in.ec.x, 32, 5);
	fill(in.ec.y, 32, 6);
	assert_int_equal(keyd_tpm_key_public_encode(&in, &b), 0);
	/* Layout: size(2) type(2) nameAlg(2) attributes(4, big-endian) authPolicy(2+0)
	 * symmetric(2: NULL) scheme(2: NULL) curveID(2) kdf(2) x y */
	assert_int_equal(b.pub[2], 0x00);
	assert_int_equal(b.pub[3], 0x23); /* TPM_ALG_ECC */

	/* truncated, and trailing garbage */
	c = b;
	c.pub_len--;
	assert_int_equal(keyd_tpm_key_public(&c, &out), -EBADMSG);
	c = b;
	c.pub[c.pub_len++] = 0;
	assert_int_equal(keyd_tpm_key_public(&c, &out), -EBADMSG);
	c = b;
	c.pub_len = 0;
	assert_int_equal(keyd_tpm_key_public(&c, &out), -EBADMSG);
	c = b;
	c.pub_len = sizeof(c.pub) + 1;
	assert_int_equal(keyd_tpm_key_public(&c, &out), -EINVAL);

	/* not a signing key (sign attribute 0x00040000 cleared) */
	c = b;
	c.pub[7] &= (uint8_t)~0x04;
	assert_int_equal(keyd_tpm_key_public(&c, &out), -EOPNOTSUPP);
	/* restricted (0x00010000) */
	c = b;
	c.pub[7] |= 0x01;
	assert_int_equal(keyd_tpm_key_public(&c, &out), -EOPNOTSUPP);
	/* curve P-521 (0x0005) is not one of keyd's */
	c = b;
	assert_int_equal(c.pub[16], 0x00);
	assert_int_equal(c.pub[17], 0x03); /* TPM_ECC_NIST_P256 */
	c.pub[17] = 0x05;
	assert_int_equal(keyd_tpm_key_public(&c, &out), -EOPNOTSUPP);

	/* encode refuses wrong sizes */
	in.ec.len = 48;
	assert_int_equal(keyd_tpm_key_public_encode(&in, &c), -EINVAL);
	in.alg = KEYD_KEY_RSA2048;
	in.rsa.n_len = 257;
	assert_int_equal(keyd_tpm_key_public_encode(&in, &c), -EINVAL);
	in.alg = (enum keyd_key_alg)42;
	assert_int_equal(keyd_tpm_key_public_encode(&in, &c), -EINVAL);
}

/* ---- against swtpm -------------------------------------------------------------------- */

static bool have_tpm2_tools;

static int swtpm_setup(void **state)
{
	(void)state;
	if (swtpm_fixture_start("tpm") < 0)
		return -1;
	have_tpm2_tools = in_path("tpm2_getcap") && in_path("tpm2_pcrextend");
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

	if (swtpm_pid <= 0) {
		printf("SKIP: swtpm is not installed or does not start; TPM round trip not run\n");
		skip();
	}
	assert_int_equal(keyd_tpm_open(swtpm_tcti, &t), 0);
	return t;
}

/* Empty output of `tpm2_getcap handles-transient` and `handles-loaded-session`. */
static void assert_no_handles(void)
{
	static const char *const caps[] = { "handles-transient", "handles-loaded-session" };

	if (!have_tpm2_tools)
		return;
	for (size_t i = 0; i < 2; i++) {
		char cmd[128], line[256];
		FILE *f;

		snprintf(cmd, sizeof(cmd), "tpm2_getcap %s", caps[i]);
		f = popen(cmd, "r");
		assert_non_null(f);
		if (fgets(line, sizeof(line), f))
			fail_msg("%s not empty: %s", caps[i], line);
		assert_int_equal(pclose(f), 0);
	}
}

static void test_tpm_open_fail(void **state)
{
	keyd_tpm *t = NULL;

	(void)state;
	assert_int_equal(keyd_tpm_open("swtpm:path=/nonexistent/keyd/sock", &t), -ENODEV);
	assert_non_null(strstr(keyd_tpm_last_error(t), "/nonexistent/keyd/sock"));
	assert_non_null(strstr(keyd_tpm_last_error(t), "swtpm running"));
	assert_int_equal(keyd_tpm_random(t, (uint8_t[4]){}, 4), -ENODEV);
	assert_null(keyd_tpm_close(t));
}

static void test_tpm_srk(void **state)
{
	uint8_t name[KEYD_TPM_NAME_MAX], name2[KEYD_TPM_NAME_MAX], other[KEYD_TPM_NAME_MAX];
	size_t len = 0, len2 = 0;
	bool created = false, present = true;
	keyd_tpm *t;

	(void)state;
	t = tpm_or_skip();
	assert_int_equal(keyd_tpm_srk_lookup(t, &present, NULL, NULL), 0);
	assert_false(present);
	assert_int_equal(keyd_tpm_srk_ensure(t, &created, name, &len), 0);
	assert_true(created);
	assert_int_equal(len, 34); /* nameAlg SHA-256: 2 + 32 */
	t = keyd_tpm_close(t);

	t = tpm_or_skip();
	assert_int_equal(keyd_tpm_srk_ensure(t, &created, name2, &len2), 0);
	assert_false(created);
	assert_int_equal(len2, len);
	assert_memory_equal(name, name2, len);
	assert_int_equal(keyd_tpm_srk_pin(t, name, len), 0);
	/* The first ReadPublic was the only command for the SRK on this connection. */
	assert_int_equal(keyd_tpm_command_count(t), 2); /* ReadPublic + ReadPublic(check) */
	t = keyd_tpm_close(t);

	t = tpm_or_skip();
	memcpy(other, name, len);
	other[len - 1] ^= 1;
	assert_int_equal(keyd_tpm_srk_pin(t, other, len), -EXDEV);
	assert_non_null(strstr(keyd_tpm_last_error(t), "the SRK at 0x81000001 is not the one "
						       "this store was enrolled with"));
	assert_non_null(strstr(keyd_tpm_last_error(t), "re-enroll"));
	/* ...and every later operation is refused too */
	assert_int_equal(keyd_tpm_key_create(t, KEYD_KEY_EC_P256, &(struct keyd_tpm_blob){}),
			 -EXDEV);
	t = keyd_tpm_close(t);
	assert_no_handles();
}

static void test_tpm_keys(void **state)
{
	static const struct {
		enum keyd_hash_alg h;
		const char *md;
	} hashes[] = { { KEYD_HASH_SHA256, "SHA256" }, { KEYD_HASH_SHA384, "SHA384" } };
	keyd_tpm *t;

	(void)state;
	t = tpm_or_skip();
	assert_int_equal(keyd_tpm_srk_ensure(t, NULL, NULL, NULL), 0);
	for (int a = 0; a < _KEYD_KEY_ALG_MAX; a++) {
		struct keyd_tpm_blob key = {};
		struct keyd_pubkey pk;
		EVP_PKEY *pkey;

		assert_int_equal(keyd_tpm_key_create(t, a, &key), 0);
		assert_int_equal(key.parent, KEYD_TPM_SRK_HANDLE);
		assert_int_equal(keyd_tpm_key_public(&key, &pk), 0);
		assert_int_equal(pk.alg, a);
		assert_int_equal(keyd_tpm_key_check(t, &key), 0);
		pkey = evp_pkey_from(&pk);
		for (size_t h = 0; h < 2; h++) {
			uint8_t digest[64];
			const EVP_MD *md = EVP_get_digestbyname(hashes[h].md);
			size_t dlen = keyd_hash_alg_size(hashes[h].h);

			assert_int_equal(keyd_crypto_hash(hashes[h].h, "keyd", 4, digest), 0);
			for (int s = 0; s < _KEYD_SIG_SCHEME_MAX; s++) {
				uint8_t *sig = NULL;
				size_t slen = 0;
				unsigned before = keyd_tpm_command_count(t);
				int r = keyd_tpm_sign(t, &key, s, hashes[h].h, digest, dlen, &sig,
						      &slen);

				if (keyd_key_alg_is_ec(a) != (s == KEYD_SIG_ECDSA)) {
					assert_int_equal(r, -EOPNOTSUPP);
					/* refused before anything was sent */
					assert_int_equal(keyd_tpm_command_count(t), before);
					continue;
				}
				if (r < 0)
					fail_msg("sign %s %s: %s", keyd_key_alg_to_string(a),
						 keyd_sig_scheme_to_string(s),
						 keyd_tpm_last_error(t));
				/* Load, StartAuthSession, Sign, FlushContext */
				assert_int_equal(keyd_tpm_command_count(t) - before, 4);
				if (evp_verify(pkey, s, md, digest, dlen, sig, slen) != 1)
					fail_msg("signature of %s %s %s does not verify",
						 keyd_key_alg_to_string(a),
						 keyd_sig_scheme_to_string(s), hashes[h].md);
				/* the forgery fails */
				sig[slen / 2] ^= 0x10;
				r = evp_verify(pkey, s, md, digest, dlen, sig, slen);
				assert_int_not_equal(r, 1);
				free(sig);
			}
		}
		/* wrong digest length */
		{
			uint8_t *sig = NULL;
			size_t slen;

			assert_int_equal(keyd_tpm_sign(t, &key,
						       keyd_key_alg_is_ec(a) ? KEYD_SIG_ECDSA :
									      KEYD_SIG_RSA_PKCS1,
						       KEYD_HASH_SHA256, (uint8_t[20]){}, 20, &sig,
						       &slen),
					 -EINVAL);
		}
		/* a damaged private part is refused by the TPM */
		{
			struct keyd_tpm_blob bad = key;

			bad.priv[bad.priv_len - 5] ^= 0x55;
			assert_int_equal(keyd_tpm_key_check(t, &bad), -EBADMSG);
		}
		EVP_PKEY_free(pkey);
	}
	keyd_tpm_close(t);
	assert_no_handles();
}

static void pcr_extend_16(void)
{
	assert_int_equal(system("tpm2_pcrextend 16:sha256=00000000000000000000000000000000"
				"00000000000000000000000000000001 >/dev/null"),
			 0);
}

static void test_tpm_seal(void **state)
{
	static const uint8_t secret[] = "a 32-byte NVMe PSK or anything!!";
	struct keyd_tpm_policy_step steps[KEYD_TPM_POLICY_STEPS_MAX];
	struct keyd_pcr_policy policy = { .bank = KEYD_HASH_SHA256, .mask = 1u << 16, .pin = true };
	struct keyd_pcr_policy nopin = { .bank = KEYD_HASH_SHA256, .mask = (1u << 16) | (1u << 7) };
	struct keyd_pcr_policy none = {};
	struct keyd_tpm_blob blob = {}, blob2 = {}, blob3 = {};
	struct keyd_secret out = {};
	size_t n_steps = 0;
	uint32_t changed = 0;
	unsigned before;
	keyd_tpm *t;

	(void)state;
	t = tpm_or_skip();
	assert_int_equal(keyd_tpm_srk_ensure(t, NULL, NULL, NULL), 0);

	/* PCR 16 + PIN */
	assert_int_equal(keyd_tpm_seal(t, secret, 32, &policy, "1234", &blob, steps, &n_steps), 0);
	assert_int_equal(n_steps, 2);
	assert_int_equal(steps[0].command_code, 0x17f); /* TPM_CC_PolicyPCR */
	/* TPM2B_DIGEST(32) || TPML_PCR_SELECTION{1, sha256, 3, 00 00 01} */
	assert_int_equal(steps[0].params_len, 2 + 32 + 4 + 2 + 1 + 3);
	assert_int_equal(steps[0].params[0], 0);
	assert_int_equal(steps[0].params[1], 32);
	assert_memory_equal(steps[0].params + 34,
			    "\x00\x00\x00\x01\x00\x0b\x03\x00\x00\x01", 10);
	assert_int_equal(steps[1].command_code, 0x16b); /* TPM_CC_PolicyAuthValue */
	assert_int_equal(steps[1].params_len, 0);

	before = keyd_tpm_command_count(t);
	assert_int_equal(keyd_tpm_unseal(t, &blob, &policy, "1234", &out, &changed), 0);
	/* PCR_Read, Load, StartAuthSession, PolicyPCR, PolicyAuthValue, Unseal, Flush */
	assert_int_equal(keyd_tpm_command_count(t) - before, 7);
	assert_int_equal(out.len, 32);
	assert_memory_equal(out.data, secret, 32);
	keyd_secret_wipe(&out);

	/* wrong PIN, no PIN */
	assert_int_equal(keyd_tpm_unseal(t, &blob, &policy, "9999", &out, &changed), -EACCES);
	assert_non_null(strstr(keyd_tpm_last_error(t), "wrong PIN"));
	assert_null(out.data);
	assert_int_equal(keyd_tpm_unseal(t, &blob, &policy, NULL, &out, &changed), -EACCES);
	/* the recorded policy must match the object's */
	policy.pin = false;
	before = keyd_tpm_command_count(t);
	assert_int_equal(keyd_tpm_unseal(t, &blob, &policy, NULL, &out, &changed), -EBADMSG);
	assert_int_equal(keyd_tpm_command_count(t), before);
	policy.pin = true;

	/* PCRs 7 + 16 without PIN, and no policy at all */
	assert_int_equal(keyd_tpm_seal(t, secret, 5, &nopin, NULL, &blob2, steps, &n_steps), 0);
	assert_int_equal(n_steps, 1);
	assert_int_equal(keyd_tpm_unseal(t, &blob2, &nopin, NULL, &out, &changed), 0);
	assert_int_equal(out.len, 5);
	keyd_secret_wipe(&out);
	assert_int_equal(keyd_tpm_seal(t, secret, 1, &none, NULL, &blob3, steps, &n_steps), 0);
	assert_int_equal(n_steps, 0);
	assert_int_equal(keyd_tpm_unseal(t, &blob3, &none, NULL, &out, &changed), 0);
	assert_int_equal(out.len, 1);
	keyd_secret_wipe(&out);

	/* bounds */
	assert_int_equal(keyd_tpm_seal(t, secret, 0, &none, NULL, &blob3, steps, &n_steps),
			 -EINVAL);
	assert_int_equal(keyd_tpm_seal(t, (uint8_t[129]){}, 129, &none, NULL, &blob3, steps,
				       &n_steps), -EINVAL);
	assert_int_equal(keyd_tpm_seal(t, secret, 4, &policy, "0123456789012345678901234567890123",
				       &blob3, steps, &n_steps), -EINVAL);

	if (have_tpm2_tools) {
		pcr_extend_16();
		before = keyd_tpm_command_count(t);
		assert_int_equal(keyd_tpm_unseal(t, &blob, &policy, "1234", &out, &changed),
				 -ESTALE);
		assert_int_equal(changed, 1u << 16);
		/* SRK known already: only PCR_Read, no Unseal */
		assert_int_equal(keyd_tpm_command_count(t) - before, 1);
		assert_non_null(strstr(keyd_tpm_last_error(t), "PCR 16 (sha256) changed"));
		assert_non_null(strstr(keyd_tpm_last_error(t),
				       "the boot state does not match the policy"));
		assert_int_equal(keyd_tpm_unseal(t, &blob2, &nopin, NULL, &out, &changed), -ESTALE);
		assert_int_equal(changed, 1u << 16);
		assert_int_equal(keyd_tpm_policy_check(t, &nopin, &changed), -ESTALE);
		/* the policy without PCRs is unaffected */
		assert_int_equal(keyd_tpm_unseal(t, &blob3, &none, NULL, &out, &changed), 0);
		keyd_secret_wipe(&out);
	} else
		printf("SKIP: tpm2-tools not installed; PCR change not tested\n");
	keyd_tpm_close(t);
	assert_no_handles();
}

static void test_tpm_info_random(void **state)
{
	struct keyd_tpm_info info;
	uint8_t buf[64] = {}, zero[64] = {};
	uint32_t mask = 0;
	keyd_tpm *t;

	(void)state;
	t = tpm_or_skip();
	assert_int_equal(keyd_tpm_get_info(t, &info), 0);
	assert_string_equal(info.manufacturer, "IBM");
	assert_true(info.spec_year >= 2014);
	assert_true(info.alg_ecc && info.alg_rsa && info.alg_sha256 && info.alg_aes);
	assert_true(info.curve_p256);
	assert_true(info.rsa2048);
	assert_true(info.pcr_banks_mask & (1u << KEYD_HASH_SHA256));
	assert_false(info.lockout);
	assert_int_equal(keyd_tpm_pcr_bank_mask(t, KEYD_HASH_SHA256, &mask), 0);
	assert_int_equal(mask, 0xffffff);
	assert_int_equal(keyd_tpm_random(t, buf, 64), 0);
	assert_memory_not_equal(buf, zero, 64);
	assert_int_equal(keyd_tpm_random(t, buf, 65), -EINVAL);
	keyd_tpm_close(t);
	assert_no_handles();
}

int main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_pcr_parse),
		cmocka_unit_test(test_pcr_parse_bad),
		cmocka_unit_test(test_pcr_format),
		cmocka_unit_test(test_rc_mapping),
		cmocka_unit_test(test_public_roundtrip),
		cmocka_unit_test(test_public_bad),
		cmocka_unit_test(test_tpm_open_fail),
	};
	/* Order matters: the SRK test starts from an empty TPM. */
	const struct CMUnitTest swtpm[] = {
		cmocka_unit_test(test_tpm_srk),
		cmocka_unit_test(test_tpm_keys),
		cmocka_unit_test(test_tpm_seal),
		cmocka_unit_test(test_tpm_info_random),
	};
	int failed;

	/* The TSS would print its own errors for the deliberate failures. */
	setenv("TSS2_LOG", "all+none", 1);
	failed = cmocka_run_group_tests_name("tpm-pure", pure, NULL, NULL);
	failed += cmocka_run_group_tests_name("tpm-swtpm", swtpm, swtpm_setup, swtpm_teardown);
	return failed ? 1 : 0;
}
