/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for keyd_tss2key_parse() (DER and PEM). Beyond "no crash":
 * whatever parses must write back (DER and PEM) and parse again to the same
 * struct, and a failure must come with a one-line reason. DER input is also
 * armored as PEM and must give the same result, which drives the PEM path with
 * well-formed blocks (no PEM seed is committed: key-file text stays out of git).
 *
 * Seeds: KEYD_FUZZ_WRITE_SEEDS=DIR build/fuzz/fuzz-tss2key writes a few
 * synthetic DER files (fake pub/priv bytes, made by keyd's own writer) into DIR
 * and exits; tests/fuzz/corpus/tss2key was made that way.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "der.h"
#include "tss2key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* emptyAuth FALSE and absent mean the same and the writer omits FALSE. */
static enum keyd_tss2_empty_auth norm(enum keyd_tss2_empty_auth a)
{
	return a == KEYD_TSS2_EMPTY_AUTH_TRUE ? a : KEYD_TSS2_EMPTY_AUTH_ABSENT;
}

static void check_same(const struct keyd_tss2key *a, const struct keyd_tss2key *b)
{
	if (a->type != b->type || norm(a->empty_auth) != norm(b->empty_auth) ||
	    a->rsa_parent != b->rsa_parent || a->n_policy != b->n_policy ||
	    strcmp(a->description, b->description) != 0 || a->blob.parent != b->blob.parent ||
	    a->blob.pub_len != b->blob.pub_len || a->blob.priv_len != b->blob.priv_len ||
	    memcmp(a->blob.pub, b->blob.pub, a->blob.pub_len) != 0 ||
	    memcmp(a->blob.priv, b->blob.priv, a->blob.priv_len) != 0)
		abort();
	for (size_t i = 0; i < a->n_policy; i++)
		if (a->policy[i].command_code != b->policy[i].command_code ||
		    a->policy[i].params_len != b->policy[i].params_len ||
		    memcmp(a->policy[i].params, b->policy[i].params, a->policy[i].params_len) != 0)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct keyd_tss2key k, k2, k3;
	char reason[256];
	uint8_t *der = NULL;
	size_t len = 0;
	char *pem = NULL;
	int r;

	r = keyd_tss2key_parse(data, size, &k, reason, sizeof(reason));
	if (r < 0 && (reason[0] == '\0' || strchr(reason, '\n')))
		abort();
	if (size > 0 && data[0] == KEYD_DER_SEQUENCE &&
	    keyd_pem_encode(KEYD_TSS2_PEM_LABEL, data, size, &pem) == 0) {
		int r2 = keyd_tss2key_parse((const uint8_t *)pem, strlen(pem), &k2, reason,
					    sizeof(reason));
		/* Armoring may push the text over KEYD_TSS2_FILE_MAX. */
		if (r2 != r && r2 != -E2BIG)
			abort();
		if (r == 0 && r2 == 0)
			check_same(&k, &k2);
		free(pem);
		pem = NULL;
	}
	if (r < 0)
		return 0;
	if (keyd_tss2key_to_der(&k, &der, &len) < 0)
		abort();
	if (keyd_tss2key_parse(der, len, &k2, reason, sizeof(reason)) < 0)
		abort();
	check_same(&k, &k2);
	free(der);
	if (keyd_tss2key_to_pem(&k, &pem) < 0)
		abort();
	if (keyd_tss2key_parse((const uint8_t *)pem, strlen(pem), &k3, reason, sizeof(reason)) < 0)
		abort();
	check_same(&k, &k3);
	free(pem);
	return 0;
}

static void write_seed(const char *dir, const char *name, const struct keyd_tss2key *k)
{
	char path[4096];
	uint8_t *der = NULL;
	size_t len = 0;
	FILE *f;

	if (keyd_tss2key_to_der(k, &der, &len) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f || fwrite(der, 1, len, f) != len || fclose(f) != 0)
		abort();
	free(der);
}

static void fake_tpm2b(uint8_t *b, size_t *ret_len, size_t len, uint8_t seed)
{
	b[0] = (uint8_t)((len - 2) >> 8);
	b[1] = (uint8_t)(len - 2);
	for (size_t i = 2; i < len; i++)
		b[i] = (uint8_t)(seed ^ i);
	*ret_len = len;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct keyd_tss2key k;
	const char *dir = getenv("KEYD_FUZZ_WRITE_SEEDS");

	(void)argc;
	(void)argv;
	if (!dir)
		return 0;
	k = (struct keyd_tss2key){ .type = KEYD_TSS2_LOADABLE };
	fake_tpm2b(k.blob.pub, &k.blob.pub_len, 90, 0x11);
	fake_tpm2b(k.blob.priv, &k.blob.priv_len, 126, 0x22);
	k.blob.parent = KEYD_TPM_SRK_HANDLE;
	write_seed(dir, "loadable-srk", &k);
	k.empty_auth = KEYD_TSS2_EMPTY_AUTH_TRUE;
	k.blob.parent = KEYD_TPM_OWNER_HIERARCHY;
	write_seed(dir, "loadable-owner-emptyauth", &k);
	k.type = KEYD_TSS2_SEALED;
	k.empty_auth = KEYD_TSS2_EMPTY_AUTH_ABSENT;
	k.blob.parent = KEYD_TPM_SRK_HANDLE;
	k.n_policy = 2;
	k.policy[0].command_code = 0x17f; /* TPM_CC_PolicyPCR */
	memset(k.policy[0].params, 0x33, 38);
	k.policy[0].params_len = 38;
	k.policy[1].command_code = 0x16b; /* TPM_CC_PolicyAuthValue */
	snprintf(k.description, sizeof(k.description), "fuzz seed \xc3\xa9");
	write_seed(dir, "sealed-policy-description", &k);
	k.rsa_parent = true;
	k.n_policy = 1;
	write_seed(dir, "sealed-rsaparent", &k);
	exit(0);
}
