/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The payload for a request_key() upcall from the store and the TPM (reqkey-payload.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "ca-set.h"
#include "crypto.h"
#include "cert-bundle.h"
#include "key-entry.h"
#include "keyring.h"
#include "psk-entry.h"
#include "reqkey-payload.h"
#include "srk-pin.h"

static int fail(int error, char *reason, size_t size, const char *fmt, ...) _printf_(4, 5);
static int fail(int error, char *reason, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (reason && size > 0) {
		va_start(ap, fmt);
		vsnprintf(reason, size, fmt, ap);
		va_end(ap);
	}
	return error < 0 ? error : -error;
}

struct cache_entry {
	bool used;
	uint8_t fp[32]; /* SHA-256 of the sealed blob and the identity */
	uint64_t expires_usec;
	uint8_t psk[KEYD_PSK_KEY_MAX];
	size_t len;
};

struct keyd_reqkey_cache {
	uint64_t lifetime_usec;
	struct cache_entry e[KEYD_REQKEY_CACHE_MAX];
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int keyd_reqkey_cache_new(unsigned lifetime_sec, keyd_reqkey_cache **ret)
{
	keyd_reqkey_cache *c;

	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED)
		return -errno;
	/* Best effort: a locked-memory limit too small for it still leaves a working
	 * cache, only swappable. */
	(void)mlock(c, sizeof(*c));
	(void)madvise(c, sizeof(*c), MADV_DONTDUMP);
	c->lifetime_usec = (uint64_t)lifetime_sec * 1000000u;
	*ret = c;
	return 0;
}

keyd_reqkey_cache *keyd_reqkey_cache_free(keyd_reqkey_cache *c)
{
	if (!c)
		return NULL;
	explicit_bzero(c, sizeof(*c));
	munmap(c, sizeof(*c));
	return NULL;
}

static struct cache_entry *cache_find(keyd_reqkey_cache *c, const uint8_t fp[32])
{
	uint64_t now = now_usec();

	for (size_t i = 0; i < KEYD_REQKEY_CACHE_MAX; i++) {
		struct cache_entry *e = &c->e[i];

		if (e->used && now >= e->expires_usec)
			explicit_bzero(e, sizeof(*e));
		if (e->used && memcmp(e->fp, fp, 32) == 0)
			return e;
	}
	return NULL;
}

static void cache_put(keyd_reqkey_cache *c, const uint8_t fp[32], const uint8_t *psk, size_t len)
{
	struct cache_entry *slot = NULL;

	for (size_t i = 0; i < KEYD_REQKEY_CACHE_MAX; i++) {
		struct cache_entry *e = &c->e[i];

		if (!e->used) {
			slot = e;
			break;
		}
		if (!slot || e->expires_usec < slot->expires_usec)
			slot = e; /* full: the one closest to expiry makes room */
	}
	explicit_bzero(slot, sizeof(*slot));
	slot->used = true;
	memcpy(slot->fp, fp, 32);
	memcpy(slot->psk, psk, len);
	slot->len = len;
	slot->expires_usec = now_usec() + c->lifetime_usec;
}

/* What ties a cached key to the store: the sealed blob (new for every seal) and
 * the identity it was derived for. */
static int fingerprint(const struct keyd_tss2key *sealed, const struct keyd_psk_entry *e,
		       uint8_t fp[32])
{
	size_t il = strlen(e->identity), n = sealed->blob.pub_len + sealed->blob.priv_len + il;
	_cleanup_free_ uint8_t *buf = malloc(n ? n : 1);

	if (!buf)
		return -ENOMEM;
	memcpy(buf, sealed->blob.pub, sealed->blob.pub_len);
	memcpy(buf + sealed->blob.pub_len, sealed->blob.priv, sealed->blob.priv_len);
	memcpy(buf + sealed->blob.pub_len + sealed->blob.priv_len, e->identity, il);
	return keyd_crypto_hash(KEYD_HASH_SHA256, buf, n, fp);
}

void keyd_reqkey_source_done(struct keyd_reqkey_source *src)
{
	if (!src)
		return;
	src->tpm = keyd_tpm_close(src->tpm);
	src->tpm_pinned = false;
}

/* Connect and check the SRK pin once per source. A connection that fails is
 * dropped, so the next request (in the daemon) connects again. */
static int tpm_ready(struct keyd_reqkey_source *src, char *reason, size_t size)
{
	uint8_t name[KEYD_TPM_NAME_MAX];
	char why[256] = "";
	size_t len = 0;
	int r;

	if (src->tpm && src->tpm_pinned)
		return 0;
	r = keyd_srk_pin_load(src->store, name, &len, why, sizeof(why));
	if (r == -ENOENT)
		return fail(EXDEV, reason, size,
			    "the store records no storage root key (tpm/srk.meta) although it "
			    "holds sealed entries; restore tpm/srk.meta from a backup");
	if (r < 0)
		return fail(r, reason, size, "%s", why);
	if (!src->tpm) {
		r = keyd_tpm_open(src->tcti, &src->tpm);
		if (r < 0) {
			fail(r, reason, size, "%s", keyd_tpm_last_error(src->tpm));
			keyd_reqkey_source_done(src);
			return r;
		}
	}
	r = keyd_tpm_srk_pin(src->tpm, name, len);
	if (r < 0) {
		fail(r, reason, size, "%s", keyd_tpm_last_error(src->tpm));
		keyd_reqkey_source_done(src);
		return r;
	}
	src->tpm_pinned = true;
	return 0;
}

/* The entry a PSK request names: exactly its identity, or for a v1 prefix the
 * v1 entry of its NQN pair whose identity extends the prefix. 1 found, 0 not. */
static int psk_find(keyd_store *s, const struct keyd_reqkey_request *req,
		    struct keyd_psk_entry *ret, char *reason, size_t size)
{
	char id[KEYD_PSK_ENTRY_ID_LEN + 1];
	size_t n;
	int r;

	if (!req->prefix)
		return keyd_psk_entry_find_by_identity(s, req->identity, ret, reason, size);
	r = keyd_psk_entry_find(s, req->parts.hostnqn, req->parts.subnqn, true,
				KEYD_PSK_IDENTITY_V1, id);
	if (r <= 0)
		return r;
	r = keyd_psk_entry_load(s, id, ret, reason, size);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	n = strlen(req->identity);
	/* The prefix fixes the hash (hh): a SHA-384 entry does not answer "NVMe1R01". */
	if (strncmp(ret->identity, req->identity, n) != 0 || ret->identity[n] != ' ')
		return 0;
	return 1;
}

static int psk_payload(struct keyd_reqkey_source *src, const struct keyd_reqkey_request *req,
		       struct keyd_secret *ret, char *reason, size_t size)
{
	struct keyd_tss2key sealed = {};
	struct keyd_psk_key k = {};
	struct keyd_psk_entry e;
	uint8_t psk[KEYD_PSK_KEY_MAX], fp[32] = {};
	bool cached = false;
	uint32_t changed = 0;
	char why[256] = "";
	int r;

	r = psk_find(src->store, req, &e, why, sizeof(why));
	if (r < 0)
		return fail(r, reason, size, "%s", why);
	if (r == 0)
		return fail(ENOKEY, reason, size, "no PSK with this identity is enrolled");
	if (e.policy.pin)
		/* An upcall has nobody to ask for a PIN. */
		return fail(EKEYREJECTED, reason, size,
			    "PSK %s is sealed with a PIN, which an upcall cannot ask for; "
			    "re-enroll it without --pin to serve it on demand", e.id);
	r = keyd_psk_entry_read_sealed(src->store, &e, &sealed, why, sizeof(why));
	if (r < 0)
		return fail(r, reason, size, "%s; restore it from a backup", why);
	if (src->cache && fingerprint(&sealed, &e, fp) >= 0) {
		struct cache_entry *hit = cache_find(src->cache, fp);

		if (hit && e.policy.mask) {
			/* The PCRs may have moved on since: check, as an unseal would. */
			r = tpm_ready(src, reason, size);
			if (r < 0)
				goto out;
			if (keyd_tpm_policy_check(src->tpm, &e.policy, NULL) < 0) {
				explicit_bzero(hit, sizeof(*hit));
				hit = NULL; /* the unseal below says why, precisely */
			}
		}
		if (hit) {
			r = -ENOMEM;
			ret->data = malloc(hit->len);
			if (!ret->data)
				goto out;
			memcpy(ret->data, hit->psk, hit->len);
			ret->len = hit->len;
			src->cache_hits++;
			r = 0;
			goto out;
		}
		cached = true;
	}
	r = tpm_ready(src, reason, size);
	if (r < 0)
		goto out;
	r = keyd_psk_entry_unseal(src->tpm, &e, &sealed, NULL, &k, &changed);
	if (r == -ESTALE) {
		char names[160];

		keyd_psk_entry_pcr_names(changed, names, sizeof(names));
		fail(r, reason, size,
		     "PSK %s: the boot state does not match the sealing policy (PCR %s changed); "
		     "if expected, enroll it again (keyd-ctl psk add --replace)", e.id, names);
		goto out;
	}
	if (r == -EKEYREJECTED) {
		fail(r, reason, size,
		     "PSK %s: the sealed key does not give the recorded identity; psk/%s.sealed "
		     "and .meta do not belong together", e.id, e.id);
		goto out;
	}
	if (r < 0) {
		fail(r, reason, size, "PSK %s: %s", e.id, keyd_tpm_last_error(src->tpm));
		/* A broken connection is not reused. */
		if (r == -ENODEV || r == -EIO)
			keyd_reqkey_source_done(src);
		goto out;
	}
	src->unsealed++;
	r = keyd_psk_entry_tls_psk(&e, &k, psk);
	if (r < 0) {
		fail(r, reason, size, "PSK %s: cannot derive the TLS PSK", e.id);
		goto out;
	}
	ret->data = malloc(k.len);
	if (!ret->data) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(ret->data, psk, k.len);
	ret->len = k.len;
	if (cached)
		cache_put(src->cache, fp, psk, k.len);
	r = 0;
out:
	explicit_bzero(fp, sizeof(fp));
	explicit_bzero(psk, sizeof(psk));
	keyd_psk_key_wipe(&k);
	explicit_bzero(&sealed, sizeof(sealed));
	return r;
}

/* DER certificates one after the other: each is a complete SEQUENCE, so a
 * reader splits them without any other framing. */
static int der_concat(const struct keyd_cert_der *certs, size_t n, struct keyd_secret *ret,
		      char *reason, size_t size)
{
	size_t total = 0, o = 0;

	for (size_t i = 0; i < n; i++) {
		if (certs[i].len > KEYD_KEYRING_USER_PAYLOAD_MAX - total)
			return fail(EMSGSIZE, reason, size,
				    "the certificates do not fit in a user key (%u bytes)",
				    KEYD_KEYRING_USER_PAYLOAD_MAX);
		total += certs[i].len;
	}
	if (total == 0)
		return fail(ENOKEY, reason, size, "no certificate");
	ret->data = malloc(total);
	if (!ret->data)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		memcpy(ret->data + o, certs[i].der, certs[i].len);
		o += certs[i].len;
	}
	ret->len = total;
	return 0;
}

static int cert_payload(struct keyd_reqkey_source *src, const struct keyd_reqkey_request *req,
			struct keyd_secret *ret, char *reason, size_t size)
{
	struct keyd_cert_der cert = {}, *chain = NULL, *certs = NULL;
	size_t n_chain = 0, n = 0;
	char why[256] = "";
	int r;

	if (req->kind == KEYD_REQKEY_CERT) {
		r = keyd_key_entry_cert(src->store, req->name, &cert, &chain, &n_chain, why,
					sizeof(why));
		if (r == -ENOENT)
			return fail(ENOKEY, reason, size, "no certificate for key '%s'", req->name);
		if (r < 0)
			return fail(r, reason, size, "%s", why);
		r = der_concat(&cert, 1, ret, reason, size);
		free(cert.der);
		keyd_cert_bundle_free(chain, n_chain);
		return r;
	}
	r = keyd_ca_set_load(src->store, req->name, &certs, &n, why, sizeof(why));
	if (r == -ENOENT)
		return fail(ENOKEY, reason, size, "no CA set '%s'", req->name);
	if (r < 0)
		return fail(r, reason, size, "%s", why);
	r = der_concat(certs, n, ret, reason, size);
	keyd_cert_bundle_free(certs, n);
	return r;
}

int keyd_reqkey_payload(struct keyd_reqkey_source *src, const struct keyd_reqkey_request *req,
			struct keyd_secret *ret, char *reason, size_t reason_size)
{
	if (!src || !src->store || !req || !ret)
		return -EINVAL;
	*ret = (struct keyd_secret){};
	if (reason && reason_size)
		reason[0] = '\0';
	switch (req->kind) {
	case KEYD_REQKEY_PSK:
	case KEYD_REQKEY_USER_PSK:
		return psk_payload(src, req, ret, reason, reason_size);
	case KEYD_REQKEY_CERT:
	case KEYD_REQKEY_CA:
		return cert_payload(src, req, ret, reason, reason_size);
	case _KEYD_REQKEY_KIND_MAX:
		break;
	}
	return -EINVAL;
}
