/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpm-tool: a TEST-ONLY driver for keyd/core/tpm.c, so integration scenarios can
 * seal, unseal and inspect the SRK without keyd-ctl. Never installed.
 *
 *   tpm-tool seal --pcrs SPEC [--pin] --in SECRETFILE --out BLOBDIR
 *   tpm-tool unseal BLOBDIR [--pin]        prints sha256(secret) in hex, never the secret
 *   tpm-tool srk-ensure                    "created NAME" or "found NAME"
 *   tpm-tool srk-name                      NAME, or "absent"
 *   tpm-tool pin-check NAME                pins NAME and checks the SRK against it
 *   tpm-tool key-create ALG BLOBDIR        a signing key under the SRK
 *   tpm-tool key-check BLOBDIR             loads and flushes it
 *   tpm-tool sign BLOBDIR SCHEME HASH DIGESTHEX   prints the signature in hex
 *   tpm-tool count CMD...                  runs CMD, then prints "commands N" on stderr
 *
 * The PIN comes from $KEYD_PIN. A BLOBDIR holds pub, priv, parent and policy
 * (the PCR policy with its values, text). Exit codes are keyd-ctl's (ctl.h):
 * 3 PCR mismatch, 4 auth/lockout, 5 no TPM, 6 SRK mismatch, 1 other, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto.h"
#include "ctl.h"
#include "fileio.h"
#include "macro.h"
#include "parse.h"
#include "tpm.h"

static bool show_count;

static int exit_code(int r)
{
	switch (-r) {
	case 0:
		return CTL_EXIT_OK;
	case ESTALE:
		return CTL_EXIT_PCR_MISMATCH;
	case EACCES:
	case EBUSY:
		return CTL_EXIT_AUTH;
	case ENODEV:
		return CTL_EXIT_NO_TPM;
	case EXDEV:
		return CTL_EXIT_SRK_MISMATCH;
	default:
		return CTL_EXIT_FAILED;
	}
}

static int fail(keyd_tpm *t, int r, const char *what)
{
	fprintf(stderr, "tpm-tool: %s: %s\n", what,
		t && keyd_tpm_last_error(t)[0] ? keyd_tpm_last_error(t) : strerror(-r));
	return exit_code(r);
}

static int usage(void)
{
	fprintf(stderr, "usage: tpm-tool seal --pcrs SPEC [--pin] --in FILE --out DIR | "
			"unseal DIR [--pin] | srk-ensure | srk-name | pin-check NAME | "
			"key-create ALG DIR | key-check DIR | sign DIR SCHEME HASH DIGESTHEX\n");
	return CTL_EXIT_USAGE;
}

static int path_join(char *buf, size_t size, const char *dir, const char *file)
{
	int n = snprintf(buf, size, "%s/%s", dir, file);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int write_in(const char *dir, const char *file, const void *data, size_t len)
{
	char p[4096];
	int r = path_join(p, sizeof(p), dir, file);

	return r < 0 ? r : keyd_write_file_atomic(p, data, len, 0600);
}

static int read_in(const char *dir, const char *file, size_t max, char **ret, size_t *ret_len)
{
	char p[4096];
	int r = path_join(p, sizeof(p), dir, file);

	return r < 0 ? r : keyd_read_file(p, max, ret, ret_len);
}

static int blob_save(const char *dir, const struct keyd_tpm_blob *b)
{
	char parent[16];
	int r;

	r = keyd_mkdir_p(dir, 0700);
	if (r >= 0)
		r = write_in(dir, "pub", b->pub, b->pub_len);
	if (r >= 0)
		r = write_in(dir, "priv", b->priv, b->priv_len);
	snprintf(parent, sizeof(parent), "0x%08x\n", b->parent);
	if (r >= 0)
		r = write_in(dir, "parent", parent, strlen(parent));
	return r;
}

static int blob_load(const char *dir, struct keyd_tpm_blob *b)
{
	_cleanup_free_ char *pub = NULL, *priv = NULL, *parent = NULL;
	size_t len;
	int r;

	memset(b, 0, sizeof(*b));
	r = read_in(dir, "pub", KEYD_TPM_BLOB_MAX, &pub, &len);
	if (r < 0)
		return r;
	memcpy(b->pub, pub, len);
	b->pub_len = len;
	r = read_in(dir, "priv", KEYD_TPM_BLOB_MAX, &priv, &len);
	if (r < 0)
		return r;
	memcpy(b->priv, priv, len);
	b->priv_len = len;
	r = read_in(dir, "parent", 32, &parent, &len);
	if (r < 0)
		return r;
	parent[strcspn(parent, "\n")] = '\0';
	return keyd_parse_u32(parent, 0, &b->parent);
}

/* policy file: "SPEC PIN" on the first line, then one "INDEX HEX" line per PCR. */
static int policy_save(const char *dir, const struct keyd_pcr_policy *p)
{
	char text[4096], spec[128], hex[129];
	size_t len = 0, d = keyd_hash_alg_size(p->bank);
	int r;

	r = keyd_pcr_policy_format(p, spec, sizeof(spec));
	if (r < 0)
		return r;
	len += (size_t)snprintf(text + len, sizeof(text) - len, "%s %d\n", spec, p->pin ? 1 : 0);
	for (unsigned i = 0; i < KEYD_TPM_PCR_MAX; i++)
		if (p->mask & (1u << i)) {
			keyd_hex_encode(p->values[i], d, hex);
			len += (size_t)snprintf(text + len, sizeof(text) - len, "%u %s\n", i, hex);
		}
	return write_in(dir, "policy", text, len);
}

static int policy_load(const char *dir, struct keyd_pcr_policy *p)
{
	_cleanup_free_ char *text = NULL;
	char spec[129], *line, *save = NULL;
	size_t len, n;
	int pin, r;

	r = read_in(dir, "policy", 8192, &text, &len);
	if (r < 0)
		return r;
	line = strtok_r(text, "\n", &save);
	if (!line || sscanf(line, "%128s %d", spec, &pin) != 2)
		return -EBADMSG;
	r = keyd_pcr_policy_parse(spec, p);
	if (r < 0)
		return r;
	p->pin = pin == 1;
	while ((line = strtok_r(NULL, "\n", &save))) {
		char hex[129];
		unsigned idx;

		if (sscanf(line, "%u %128s", &idx, hex) != 2 || idx >= KEYD_TPM_PCR_MAX)
			return -EBADMSG;
		r = keyd_hex_decode(hex, p->values[idx], sizeof(p->values[idx]), &n);
		if (r < 0)
			return r;
	}
	return 0;
}

static const char *pin_from_env(bool want)
{
	return want ? getenv("KEYD_PIN") : NULL;
}

static int do_seal(keyd_tpm *t, int argc, char **argv)
{
	struct keyd_tpm_policy_step steps[KEYD_TPM_POLICY_STEPS_MAX];
	struct keyd_pcr_policy policy = {};
	struct keyd_tpm_blob blob = {};
	const char *pcrs = "none", *in = NULL, *out = NULL;
	_cleanup_free_ char *secret = NULL;
	size_t len, n_steps;
	bool pin = false;
	int r;

	for (int i = 1; i < argc; i++) {
		if (streq(argv[i], "--pcrs") && i + 1 < argc)
			pcrs = argv[++i];
		else if (streq(argv[i], "--pin"))
			pin = true;
		else if (streq(argv[i], "--in") && i + 1 < argc)
			in = argv[++i];
		else if (streq(argv[i], "--out") && i + 1 < argc)
			out = argv[++i];
		else
			return usage();
	}
	if (!in || !out)
		return usage();
	r = keyd_pcr_policy_parse(pcrs, &policy);
	if (r < 0) {
		fprintf(stderr, "tpm-tool: bad PCR list '%s'\n", pcrs);
		return CTL_EXIT_USAGE;
	}
	policy.pin = pin;
	if (pin && !getenv("KEYD_PIN")) {
		fprintf(stderr, "tpm-tool: --pin needs $KEYD_PIN\n");
		return CTL_EXIT_USAGE;
	}
	r = keyd_read_file(in, KEYD_TPM_SEAL_MAX, &secret, &len);
	if (r < 0) {
		fprintf(stderr, "tpm-tool: cannot read '%s': %s\n", in, strerror(-r));
		return CTL_EXIT_FAILED;
	}
	r = keyd_tpm_seal(t, (const uint8_t *)secret, len, &policy, pin_from_env(pin), &blob, steps,
			  &n_steps);
	explicit_bzero(secret, len);
	if (r < 0)
		return fail(t, r, "seal");
	r = blob_save(out, &blob);
	if (r >= 0)
		r = policy_save(out, &policy);
	if (r < 0) {
		fprintf(stderr, "tpm-tool: cannot write '%s': %s\n", out, strerror(-r));
		return CTL_EXIT_FAILED;
	}
	printf("sealed %zu bytes, %zu policy steps\n", len, n_steps);
	return CTL_EXIT_OK;
}

static int do_unseal(keyd_tpm *t, int argc, char **argv)
{
	struct keyd_pcr_policy policy = {};
	struct keyd_tpm_blob blob;
	_cleanup_secret_ struct keyd_secret s = {};
	uint8_t digest[32];
	char hex[65], list[128] = "";
	uint32_t changed = 0;
	bool pin = false;
	int r;

	if (argc < 2 || argc > 3)
		return usage();
	if (argc == 3) {
		if (!streq(argv[2], "--pin"))
			return usage();
		pin = true;
	}
	r = blob_load(argv[1], &blob);
	if (r >= 0)
		r = policy_load(argv[1], &policy);
	if (r < 0) {
		fprintf(stderr, "tpm-tool: cannot read '%s': %s\n", argv[1], strerror(-r));
		return CTL_EXIT_FAILED;
	}
	(void)pin; /* the policy records whether a PIN is needed; --pin documents intent */
	r = keyd_tpm_unseal(t, &blob, &policy, pin_from_env(policy.pin), &s, &changed);
	if (r == -ESTALE) {
		for (unsigned i = 0; i < KEYD_TPM_PCR_MAX; i++)
			if (changed & (1u << i))
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%u",
					 list[0] ? "," : "", i);
		fprintf(stderr, "tpm-tool: changed-mask 0x%06x (%s)\n", changed, list);
	}
	if (r < 0)
		return fail(t, r, "unseal");
	r = keyd_crypto_hash(KEYD_HASH_SHA256, s.data, s.len, digest);
	if (r < 0)
		return fail(NULL, r, "hash");
	keyd_hex_encode(digest, sizeof(digest), hex);
	printf("%s\n", hex);
	return CTL_EXIT_OK;
}

static int do_srk(keyd_tpm *t, int argc, char **argv)
{
	uint8_t name[KEYD_TPM_NAME_MAX];
	char hex[2 * KEYD_TPM_NAME_MAX + 1];
	size_t len = 0;
	bool flag = false;
	int r;

	if (streq(argv[0], "srk-ensure")) {
		if (argc != 1)
			return usage();
		r = keyd_tpm_srk_ensure(t, &flag, name, &len);
		if (r < 0)
			return fail(t, r, "srk-ensure");
		keyd_hex_encode(name, len, hex);
		printf("%s %s\n", flag ? "created" : "found", hex);
		return CTL_EXIT_OK;
	}
	if (streq(argv[0], "srk-name")) {
		if (argc != 1)
			return usage();
		r = keyd_tpm_srk_lookup(t, &flag, name, &len);
		if (r < 0)
			return fail(t, r, "srk-name");
		keyd_hex_encode(name, len, hex);
		printf("%s\n", flag ? hex : "absent");
		return CTL_EXIT_OK;
	}
	/* pin-check NAME */
	if (argc != 2)
		return usage();
	r = keyd_hex_decode(argv[1], name, sizeof(name), &len);
	if (r < 0 || len == 0) {
		fprintf(stderr, "tpm-tool: bad SRK name '%s'\n", argv[1]);
		return CTL_EXIT_USAGE;
	}
	r = keyd_tpm_srk_pin(t, name, len);
	if (r < 0)
		return fail(t, r, "pin-check");
	printf("match\n");
	return CTL_EXIT_OK;
}

static int do_key(keyd_tpm *t, int argc, char **argv)
{
	struct keyd_tpm_blob blob;
	int r;

	if (streq(argv[0], "key-create")) {
		enum keyd_key_alg alg;

		if (argc != 3)
			return usage();
		alg = keyd_key_alg_from_string(argv[1]);
		if ((int)alg < 0)
			return usage();
		r = keyd_tpm_key_create(t, alg, &blob);
		if (r < 0)
			return fail(t, r, "key-create");
		r = blob_save(argv[2], &blob);
		if (r < 0)
			return fail(NULL, r, "write");
		printf("created %s\n", argv[1]);
		return CTL_EXIT_OK;
	}
	if (streq(argv[0], "key-check")) {
		if (argc != 2)
			return usage();
		r = blob_load(argv[1], &blob);
		if (r < 0)
			return fail(NULL, r, "read");
		r = keyd_tpm_key_check(t, &blob);
		if (r < 0)
			return fail(t, r, "key-check");
		printf("ok\n");
		return CTL_EXIT_OK;
	}
	/* sign DIR SCHEME HASH DIGESTHEX */
	{
		enum keyd_sig_scheme scheme;
		enum keyd_hash_alg hash;
		uint8_t digest[64];
		_cleanup_free_ uint8_t *sig = NULL;
		_cleanup_free_ char *hex = NULL;
		size_t dlen, slen;

		if (argc != 5)
			return usage();
		scheme = keyd_sig_scheme_from_string(argv[2]);
		hash = keyd_hash_alg_from_string(argv[3]);
		if ((int)scheme < 0 || (int)hash < 0 ||
		    keyd_hex_decode(argv[4], digest, sizeof(digest), &dlen) < 0)
			return usage();
		r = blob_load(argv[1], &blob);
		if (r < 0)
			return fail(NULL, r, "read");
		r = keyd_tpm_sign(t, &blob, scheme, hash, digest, dlen, &sig, &slen);
		if (r < 0)
			return fail(t, r, "sign");
		hex = malloc(2 * slen + 1);
		if (!hex)
			return CTL_EXIT_FAILED;
		keyd_hex_encode(sig, slen, hex);
		printf("%s\n", hex);
		return CTL_EXIT_OK;
	}
}

int main(int argc, char **argv)
{
	keyd_tpm *t = NULL;
	int r;

	if (argc >= 2 && streq(argv[1], "count")) {
		show_count = true;
		argc--;
		argv++;
	}
	if (argc < 2)
		return usage();
	argc--;
	argv++;
	if (!streq(argv[0], "seal") && !streq(argv[0], "unseal") && !streq(argv[0], "srk-ensure") &&
	    !streq(argv[0], "srk-name") && !streq(argv[0], "pin-check") &&
	    !streq(argv[0], "key-create") && !streq(argv[0], "key-check") &&
	    !streq(argv[0], "sign"))
		return usage();

	r = keyd_tpm_open(NULL, &t);
	if (r < 0) {
		r = fail(t, r, "open");
		keyd_tpm_close(t);
		return r;
	}
	if (streq(argv[0], "seal"))
		r = do_seal(t, argc, argv);
	else if (streq(argv[0], "unseal"))
		r = do_unseal(t, argc, argv);
	else if (startswith(argv[0], "key-") || streq(argv[0], "sign"))
		r = do_key(t, argc, argv);
	else
		r = do_srk(t, argc, argv);
	if (show_count)
		fprintf(stderr, "commands %u\n", keyd_tpm_command_count(t));
	keyd_tpm_close(t);
	return r;
}
