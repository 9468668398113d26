/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sign-loop: in-process signing rate through OpenSSL providers, for
 * tests/bench/sign.sh. Loads the providers named, loads the key at URI through
 * OSSL_STORE once, then signs COUNT 64-byte messages with EVP_DigestSign over
 * SHA-256 (ECDSA, or RSA PKCS#1 v1.5), as a TLS stack does, and prints
 * "<count> <seconds> <signatures/s>".
 * The first and the last signature are checked with the key's public part.
 * With --threads N, N threads each load the key and sign COUNT messages, every
 * signature checked (tests/integration/openssl-threads.sh).
 *
 *   sign-loop [--threads N] URI COUNT PROVIDER...
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/store.h>

#include "parse.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static EVP_PKEY *load_key(const char *uri)
{
	OSSL_STORE_CTX *s = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
	EVP_PKEY *pkey = NULL;

	if (!s)
		return NULL;
	(void)OSSL_STORE_expect(s, OSSL_STORE_INFO_PKEY);
	while (!pkey && !OSSL_STORE_eof(s)) {
		OSSL_STORE_INFO *info = OSSL_STORE_load(s);

		if (!info)
			break;
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			pkey = OSSL_STORE_INFO_get1_PKEY(info);
		OSSL_STORE_INFO_free(info);
	}
	OSSL_STORE_close(s);
	return pkey;
}

/* EVP_DigestSign, as TLS signs (and the only form every provider offers). */
static int sign_once(EVP_PKEY *pkey, const unsigned char *msg, unsigned char *sig, size_t *siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	ok = md && EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, pkey, NULL) == 1 &&
	     (!EVP_PKEY_is_a(pkey, "RSA") ||
	      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1) &&
	     EVP_DigestSign(md, sig, siglen, msg, 64) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

static int verify_once(EVP_PKEY *pkey, const unsigned char *msg, const unsigned char *sig,
		       size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	ok = md && EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, NULL, pkey, NULL) == 1 &&
	     (!EVP_PKEY_is_a(pkey, "RSA") ||
	      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1) &&
	     EVP_DigestVerify(md, sig, siglen, msg, 64) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

/* --threads: every thread loads the key itself once all are started (so the
 * provider's first use races between them), then signs count messages of its
 * own, each checked: a reply that reached the wrong thread would not verify. */
struct worker {
	pthread_t thread;
	pthread_barrier_t *start;
	const char *uri;
	uint32_t count;
	unsigned id;
	int ok;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	unsigned char msg[64], sig[1024];
	EVP_PKEY *pkey;

	pthread_barrier_wait(w->start);
	pkey = load_key(w->uri);
	if (!pkey) {
		fprintf(stderr, "sign-loop: thread %u cannot load a key from '%s'\n", w->id, w->uri);
		ERR_print_errors_fp(stderr);
		return NULL;
	}
	memset(msg, 0x42, sizeof(msg));
	msg[1] = (unsigned char)w->id;
	for (uint32_t i = 0; i < w->count; i++) {
		size_t len = sizeof(sig);

		msg[0] = (unsigned char)i;
		if (!sign_once(pkey, msg, sig, &len) || !verify_once(pkey, msg, sig, len)) {
			fprintf(stderr, "sign-loop: thread %u, signature %u failed or does not verify\n",
				w->id, i);
			ERR_print_errors_fp(stderr);
			EVP_PKEY_free(pkey);
			return NULL;
		}
	}
	EVP_PKEY_free(pkey);
	w->ok = 1;
	return NULL;
}

static int run_threads(const char *uri, uint32_t n, uint32_t count)
{
	struct worker w[64] = {};
	pthread_barrier_t start;
	uint32_t started = 0;
	double t0, t;
	int ok = 1;

	if (pthread_barrier_init(&start, NULL, n) != 0)
		return 1;
	t0 = now();
	for (; started < n; started++) {
		w[started] = (struct worker){ .start = &start, .uri = uri, .count = count,
					      .id = started };
		if (pthread_create(&w[started].thread, NULL, worker_run, &w[started]) != 0)
			break;
	}
	if (started < n) {
		/* The barrier would wait for ever: nothing to undo but to stop. */
		fprintf(stderr, "sign-loop: cannot start thread %u\n", started);
		exit(1);
	}
	for (uint32_t i = 0; i < n; i++) {
		pthread_join(w[i].thread, NULL);
		ok &= w[i].ok;
	}
	t = now() - t0;
	pthread_barrier_destroy(&start);
	if (!ok)
		return 1;
	printf("%u %.3f %.1f\n", n * count, t, (double)(n * count) / t);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char digest[64], sig[1024];
	OSSL_PROVIDER *provs[8] = {};
	uint32_t count, threads = 0;
	EVP_PKEY *pkey;
	double t0, t;
	int r;

	if (argc > 2 && strcmp(argv[1], "--threads") == 0) {
		if (keyd_parse_u32(argv[2], 10, &threads) < 0 || threads < 1 || threads > 64) {
			fprintf(stderr, "sign-loop: --threads takes 1..64\n");
			return 2;
		}
		argc -= 2;
		argv += 2;
	}
	if (argc < 4 || argc > 3 + 8 || keyd_parse_u32(argv[2], 10, &count) < 0 || count == 0) {
		fprintf(stderr, "usage: sign-loop [--threads N] URI COUNT PROVIDER...\n");
		return 2;
	}
	for (int i = 3; i < argc; i++)
		if (!(provs[i - 3] = OSSL_PROVIDER_load(NULL, argv[i]))) {
			fprintf(stderr, "sign-loop: cannot load provider '%s'\n", argv[i]);
			ERR_print_errors_fp(stderr);
			return 1;
		}
	if (threads) {
		r = run_threads(argv[1], threads, count);
		for (int i = 8; i-- > 0;)
			if (provs[i])
				OSSL_PROVIDER_unload(provs[i]);
		return r;
	}
	pkey = load_key(argv[1]);
	if (!pkey) {
		fprintf(stderr, "sign-loop: cannot load a key from '%s'\n", argv[1]);
		ERR_print_errors_fp(stderr);
		return 1;
	}
	memset(digest, 0x42, sizeof(digest));
	/* One signature outside the clock: the first one sets up what is reused. */
	{
		size_t len = sizeof(sig);

		if (!sign_once(pkey, digest, sig, &len) || !verify_once(pkey, digest, sig, len)) {
			fprintf(stderr, "sign-loop: the first signature failed\n");
			ERR_print_errors_fp(stderr);
			return 1;
		}
	}
	t0 = now();
	for (uint32_t i = 0; i < count; i++) {
		size_t len = sizeof(sig);

		digest[0] = (unsigned char)i;
		if (!sign_once(pkey, digest, sig, &len)) {
			fprintf(stderr, "sign-loop: signature %u failed\n", i);
			ERR_print_errors_fp(stderr);
			return 1;
		}
	}
	t = now() - t0;
	/* The last one must verify: the loop measured real signatures. */
	{
		size_t len = sizeof(sig);

		if (!sign_once(pkey, digest, sig, &len) || !verify_once(pkey, digest, sig, len)) {
			fprintf(stderr, "sign-loop: a signature does not verify\n");
			return 1;
		}
	}
	printf("%u %.3f %.1f\n", count, t, (double)count / t);
	EVP_PKEY_free(pkey);
	for (int i = 8; i-- > 0;)
		if (provs[i])
			OSSL_PROVIDER_unload(provs[i]);
	return 0;
}
