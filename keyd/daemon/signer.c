/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The signing service: SIGN and GET-PUBKEY (signer.h, docs/protocol.md).
 *
 * Each request checks the policy in force and finds the key in the store, so a
 * key re-enrolled with keyd-ctl is used at once: GET-PUBKEY reads it (a
 * read-only open: shared lock, a few small files); SIGN first stats
 * keys/<name>.tss2 and, when the file is the one a held key was read from (same
 * inode, size, mtime and ctime: the store replaces files by rename), signs with
 * the held key without opening the store. What is kept between requests is what
 * costs TPM commands: the TPM connection (with the SRK looked up and pinned
 * once), per key the saved context of the loaded key and, during a burst, the
 * one key last used, loaded, so a burst of signatures with one key costs one
 * TPM2_Sign each.
 *
 * The TPM's object slots: at most one key is left loaded (a PC Client TPM has as
 * few as 3 slots, and loading a key under the SRK takes 2 of them), and only
 * while signatures keep coming: sign-hold-ms (keyd.conf(5)) after the last one
 * the event loop calls keyd_signer_release_idle(), which flushes it; signing with
 * another key flushes it first; so do a provisioning pass (a reload runs one)
 * and exit. Saved contexts occupy no TPM slot, only memory here: at most
 * HELD_MAX keys are held, the least recently used one is dropped to make room. A
 * held key is dropped too when its blob in the store changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cert-bundle.h"
#include "fileio.h"
#include "parse.h"
#include "key-entry.h"
#include "log.h"
#include "macro.h"
#include "sign-request.h"
#include "signer.h"
#include "srk-pin.h"
#include "store.h"
#include "tpm.h"
#include "x509.h"

#define HELD_MAX 16
/* GET-PUBKEY-REPLY must fit one message: leave room for the SPKI and the TLV
 * headers when adding certificates. */
#define CERTS_BYTES_MAX (KEYD_PROTO_PAYLOAD_MAX - 4096 - 64)
#define CERT_MAX 16384 /* the cert tag's bound */
#define CERTS_MAX 8    /* GET-PUBKEY-REPLY: cert 0..8 */

/* What identifies one version of a store file (the store writes a new file and
 * renames it over the old one). */
struct file_id {
	bool set;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct held {
	char name[65];
	keyd_tpm_held_key *key;
	struct file_id file; /* keys/<name>.tss2 when it was read */
	uint64_t last_use;   /* a counter: larger = more recent */
};

struct keyd_signer {
	keyd_tpm *tpm;
	char *tcti;  /* what tpm was opened with */
	char *store; /* the store the held keys came from */
	unsigned commands_closed; /* commands of connections already closed */
	struct held held[HELD_MAX];
	struct held *loaded; /* the key left loaded in the TPM, or NULL */
	/* The record of the loaded key (RECORD_NAME next to the socket) and the
	 * handle it names (0: no record). */
	char record[KEYD_CONFIG_SOCKET_MAX + 32];
	uint32_t recorded;
	uint64_t clock;
	uint64_t last_sign_usec; /* CLOCK_MONOTONIC */
	uint32_t hold_ms;        /* sign-hold-ms in force at the last signature */
};

static uint64_t monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The record of the loaded key: "<handle> <Name in hex>\n", in the socket's
 * directory (a tmpfs: gone at reboot, when the TPM forgets the key too). A keyd
 * killed during a hold leaves it behind; the next one flushes the key it names
 * (keyd_signer_recover()). */
#define RECORD_NAME "signer-loaded"

static void record_drop(keyd_signer *sg)
{
	if (sg->recorded && sg->record[0] && unlink(sg->record) < 0 && errno != ENOENT)
		log_warning("signer: cannot remove '%s': %m", sg->record);
	sg->recorded = 0;
}

/* Record the loaded key when it is new or moved (a reload from its blob). */
static void record_update(keyd_signer *sg)
{
	char text[32 + 2 * KEYD_TPM_NAME_MAX];
	const uint8_t *name;
	uint32_t handle;
	size_t len, n;
	int r;

	if (!sg->loaded || !sg->record[0] ||
	    keyd_tpm_held_key_loaded_handle(sg->loaded->key, &handle) < 0 ||
	    handle == sg->recorded)
		return;
	name = keyd_tpm_held_key_name(sg->loaded->key, &len);
	if (len > KEYD_TPM_NAME_MAX)
		return;
	n = (size_t)snprintf(text, sizeof(text), "0x%08x ", (unsigned)handle);
	keyd_hex_encode(name, len, text + n);
	n += 2 * len;
	text[n++] = '\n';
	r = keyd_write_file_atomic(sg->record, text, n, 0600);
	if (r < 0) {
		log_warning("signer: cannot write '%s': %s", sg->record, strerror(-r));
		return;
	}
	sg->recorded = handle;
}

/* Flush the key left loaded, if any (its saved context stays). */
static void loaded_release(keyd_signer *sg)
{
	if (!sg->loaded)
		return;
	if (keyd_tpm_held_key_unload(sg->loaded->key))
		log_debug("signer: key '%s' flushed from the TPM", sg->loaded->name);
	sg->loaded = NULL;
	record_drop(sg);
}

int keyd_signer_recover(const char *socket_path, keyd_tpm *tpm)
{
	uint8_t name[KEYD_TPM_NAME_MAX];
	char path[KEYD_CONFIG_SOCKET_MAX + 32], hex[2 * KEYD_TPM_NAME_MAX + 1];
	_cleanup_free_ char *text = NULL;
	unsigned handle;
	size_t len = 0, n;
	int r;

	if (!tpm || keyd_sibling_path(socket_path, RECORD_NAME, path, sizeof(path)) < 0)
		return 0;
	r = keyd_read_file(path, 256, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r >= 0 && sscanf(text, "0x%x %130s", &handle, hex) == 2 &&
	    keyd_hex_decode(hex, name, sizeof(name), &n) == 0 && n > 0)
		r = keyd_tpm_flush_if_named(tpm, handle, name, n);
	else if (r >= 0)
		r = -EBADMSG;
	if (r == 1)
		log_notice("signer: flushed the key a previous keyd left loaded at 0x%08x", handle);
	else if (r < 0 && r != -ENODEV)
		log_warning("signer: '%s' names no key keyd can flush (%s); removing it", path,
			    r == -EBADMSG ? "damaged" : keyd_tpm_last_error(tpm));
	if (r == -ENODEV) /* no TPM now: try again at the next pass */
		return r;
	if (unlink(path) < 0 && errno != ENOENT)
		log_warning("signer: cannot remove '%s': %m", path);
	return r;
}

void keyd_signer_release_loaded(keyd_signer *sg)
{
	if (sg)
		loaded_release(sg);
}

int keyd_signer_timeout_ms(const keyd_signer *sg)
{
	uint64_t now, due;

	if (!sg || !sg->tpm)
		return -1;
	now = monotonic_usec();
	due = sg->last_sign_usec +
	      (sg->loaded ? sg->hold_ms * 1000ull : KEYD_SIGNER_IDLE_SEC * 1000000ull);
	return due <= now ? 0 : (int)((due - now + 999) / 1000);
}

void keyd_signer_release_idle(keyd_signer *sg)
{
	uint64_t idle;

	if (!sg || !sg->tpm)
		return;
	idle = monotonic_usec() - sg->last_sign_usec;
	if (sg->loaded && idle >= sg->hold_ms * 1000ull)
		loaded_release(sg);
	if (idle < KEYD_SIGNER_IDLE_SEC * 1000000ull)
		return;
	log_debug("signer: idle for %d s; releasing the TPM", KEYD_SIGNER_IDLE_SEC);
	keyd_signer_reset(sg);
}

int keyd_signer_new(const char *socket_path, keyd_signer **ret)
{
	keyd_signer *sg = calloc(1, sizeof(*sg));

	if (!sg)
		return -ENOMEM;
	if (keyd_sibling_path(socket_path, RECORD_NAME, sg->record, sizeof(sg->record)) < 0)
		sg->record[0] = '\0'; /* no record: a kill during a hold leaks the key */
	*ret = sg;
	return 0;
}

void keyd_signer_reset(keyd_signer *sg)
{
	if (!sg)
		return;
	loaded_release(sg); /* before the connection it was loaded through closes */
	for (size_t i = 0; i < HELD_MAX; i++) {
		sg->held[i].key = keyd_tpm_held_key_free(sg->held[i].key);
		sg->held[i].name[0] = '\0';
	}
	sg->commands_closed += keyd_tpm_command_count(sg->tpm);
	sg->tpm = keyd_tpm_close(sg->tpm);
	free(sg->tcti);
	free(sg->store);
	sg->tcti = sg->store = NULL;
}

keyd_signer *keyd_signer_free(keyd_signer *sg)
{
	if (!sg)
		return NULL;
	keyd_signer_reset(sg);
	free(sg);
	return NULL;
}

unsigned keyd_signer_tpm_commands(const keyd_signer *sg)
{
	return sg->commands_closed + keyd_tpm_command_count(sg->tpm);
}

static void store_closep(keyd_store **s)
{
	keyd_store_close(*s);
}

/* The TPM connection for config, opened and pinned to the store's SRK when
 * there is none (or the TCTI or store changed by a reload). */
static int tpm_get(keyd_signer *sg, const struct keyd_config *config, keyd_store *store,
		   char *text, size_t text_size)
{
	_cleanup_(store_closep) keyd_store *own = NULL;
	uint8_t name[KEYD_TPM_NAME_MAX];
	char reason[256] = "";
	size_t len = 0;
	int r;

	if (sg->tpm && streq(sg->tcti, config->tcti) && streq(sg->store, config->store))
		return 0;
	keyd_signer_reset(sg);
	sg->tcti = strdup(config->tcti);
	sg->store = strdup(config->store);
	if (!sg->tcti || !sg->store)
		return -ENOMEM;
	r = keyd_tpm_open(config->tcti, &sg->tpm);
	if (r < 0) {
		snprintf(text, text_size, "%s", keyd_tpm_last_error(sg->tpm));
		keyd_signer_reset(sg);
		return r;
	}
	if (!store) { /* the key came from a held one; the SRK record is in the store */
		r = keyd_store_open(config->store, KEYD_STORE_READONLY, &own, reason,
				    sizeof(reason));
		if (r < 0) {
			snprintf(text, text_size, "cannot open the store '%s': %s", config->store,
				 reason[0] ? reason : strerror(-r));
			keyd_signer_reset(sg);
			return r;
		}
		store = own;
	}
	r = keyd_srk_pin_load(store, name, &len, reason, sizeof(reason));
	if (r == -ENOENT) /* nothing sealed yet: keys were made under whatever SRK is there */
		return 0;
	if (r < 0) {
		snprintf(text, text_size, "the store's SRK record is damaged: %s", reason);
		keyd_signer_reset(sg);
		return r;
	}
	r = keyd_tpm_srk_pin(sg->tpm, name, len);
	if (r < 0) {
		snprintf(text, text_size, "%s", keyd_tpm_last_error(sg->tpm));
		keyd_signer_reset(sg);
		return r;
	}
	return 0;
}

/* The identity of keys/<name>.tss2 in the store at root, taken before the file
 * is read (a file replaced in between is told apart at the next request). */
static void file_id_of(const char *root, const char *name, struct file_id *ret)
{
	char path[KEYD_CONFIG_PATH_MAX + 96];
	struct stat st;

	*ret = (struct file_id){};
	if ((size_t)snprintf(path, sizeof(path), "%s/keys/%s.tss2", root, name) >= sizeof(path) ||
	    stat(path, &st) < 0)
		return;
	*ret = (struct file_id){
		.set = true,
		.dev = st.st_dev,
		.ino = st.st_ino,
		.size = st.st_size,
		.mtime = st.st_mtim,
		.ctime = st.st_ctim,
	};
}

static bool file_id_eq(const struct file_id *a, const struct file_id *b)
{
	return a->set && b->set && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* The held key read from exactly the file id names, or NULL. */
static struct held *held_find_file(keyd_signer *sg, const struct keyd_config *config,
				   const char *name, const struct file_id *id)
{
	if (!sg->tpm || !streq(sg->store, config->store))
		return NULL;
	for (size_t i = 0; i < HELD_MAX; i++)
		if (sg->held[i].key && streq(sg->held[i].name, name) &&
		    file_id_eq(&sg->held[i].file, id))
			return &sg->held[i];
	return NULL;
}

/* The held slot for name with exactly blob: reuse, replace a changed one, or
 * take the least recently used slot. */
static int held_get(keyd_signer *sg, const char *name, const struct keyd_tpm_blob *blob,
		    struct held **ret)
{
	struct held *h = NULL, *lru = &sg->held[0];
	int r;

	for (size_t i = 0; i < HELD_MAX; i++) {
		if (sg->held[i].key && streq(sg->held[i].name, name)) {
			h = &sg->held[i];
			break;
		}
		if (!sg->held[i].key)
			lru = &sg->held[i];
		else if (lru->key && sg->held[i].last_use < lru->last_use)
			lru = &sg->held[i];
	}
	if (h && !keyd_tpm_held_key_is(h->key, blob)) {
		log_debug("signer: key '%s' changed in the store; holding the new one", name);
		if (sg->loaded == h)
			loaded_release(sg);
		h->key = keyd_tpm_held_key_free(h->key);
	}
	if (!h) {
		h = lru;
		if (sg->loaded == h)
			loaded_release(sg);
		h->key = keyd_tpm_held_key_free(h->key);
		snprintf(h->name, sizeof(h->name), "%s", name);
	}
	if (!h->key) {
		r = keyd_tpm_held_key_new(blob, &h->key);
		if (r < 0)
			return r;
	}
	h->last_use = ++sg->clock;
	*ret = h;
	return 0;
}

static int encode(struct keyd_proto_msg *m, uint8_t **ret_out, size_t *ret_len, char *text,
		  size_t text_size)
{
	struct keyd_proto_error perr = {};
	char why[256];
	int r;

	r = keyd_proto_encode(m, ret_out, ret_len, &perr);
	if (r < 0) {
		keyd_proto_error_format(&perr, why, sizeof(why));
		snprintf(text, text_size, "internal error in keyd: the reply could not be encoded "
			 "(%s)", why);
		return -EIO;
	}
	return 0;
}

/* Sign q with blob (read from the file id). store is the open store, or NULL
 * when the key came from a held one; it is opened here if a (re)connection needs
 * the SRK record. */
static int sign(keyd_signer *sg, const struct keyd_config *config, keyd_store *store,
		const struct keyd_sign_request *q, const struct keyd_tpm_blob *blob,
		const struct file_id *file, uint32_t id, uint8_t **ret_out, size_t *ret_len,
		char *text, size_t text_size)
{
	struct keyd_tpm_blob copy = *blob; /* blob may point into a held key replaced below */
	_cleanup_free_ uint8_t *sig = NULL;
	const char *name = q->key;
	struct keyd_proto_msg m;
	const struct keyd_pubkey *pk;
	size_t sig_len = 0;
	struct held *h;
	int r;

	for (int attempt = 0;; attempt++) {
		r = tpm_get(sg, config, store, text, text_size);
		if (r < 0)
			return r;
		r = held_get(sg, name, &copy, &h);
		if (r < 0) {
			snprintf(text, text_size, "key '%s' cannot sign: %s", name, strerror(-r));
			return r;
		}
		h->file = *file;
		pk = keyd_tpm_held_key_public(h->key);
		if (keyd_key_alg_is_ec(pk->alg) != (q->scheme == KEYD_SIG_ECDSA)) {
			snprintf(text, text_size,
				 "key '%s' is %s and cannot make %s signatures; ask for %s",
				 name, keyd_key_alg_to_string(pk->alg),
				 keyd_sig_scheme_to_string(q->scheme),
				 keyd_key_alg_is_ec(pk->alg) ? "ECDSA" : "RSA PKCS#1 or PSS");
			return -EINVAL;
		}
		/* One key loaded at a time: another one leaves first. */
		if (sg->loaded && sg->loaded != h)
			loaded_release(sg);
		r = keyd_tpm_sign_held(sg->tpm, h->key, q->scheme, q->hash, q->digest,
				       q->digest_len, &sig, &sig_len);
		sg->loaded = keyd_tpm_held_key_is_loaded(h->key) ? h : NULL;
		if (sg->loaded)
			record_update(sg);
		else
			record_drop(sg);
		/* A lost connection (swtpm or the resource manager restarted): reconnect
		 * once; the held contexts go with the old connection. */
		if (r == -ENODEV && attempt == 0) {
			log_debug("signer: %s; reconnecting", keyd_tpm_last_error(sg->tpm));
			keyd_signer_reset(sg);
			continue;
		}
		break;
	}
	sg->last_sign_usec = monotonic_usec();
	sg->hold_ms = config->sign_hold_ms;
	if (sg->hold_ms == 0) /* nothing stays loaded between requests */
		loaded_release(sg);
	if (r < 0) {
		snprintf(text, text_size, "signing with key '%s' failed: %s", name,
			 keyd_tpm_last_error(sg->tpm));
		return r;
	}
	if (sig_len == 0 || sig_len > 1024) {
		snprintf(text, text_size, "signing with key '%s' gave a signature of %zu bytes",
			 name, sig_len);
		return -EIO;
	}
	keyd_proto_msg_init(&m, KEYD_PROTO_SIGN_REPLY, id);
	keyd_proto_add_bytes(&m, KEYD_TAG_SIGNATURE, sig, sig_len);
	return encode(&m, ret_out, ret_len, text, text_size);
}

static int get_pubkey(keyd_store *store, const char *name, const struct keyd_pubkey *pk,
		      const struct keyd_proto_msg *req, uint8_t **ret_out, size_t *ret_len,
		      char *text, size_t text_size)
{
	_cleanup_free_ uint8_t *spki = NULL;
	struct keyd_cert_der leaf = {}, *chain = NULL;
	size_t spki_len = 0, n_chain = 0, bytes = 0, n_certs = 0;
	struct keyd_proto_msg m;
	char reason[256] = "";
	int r;

	r = keyd_x509_pubkey_to_spki(pk, &spki, &spki_len);
	if (r < 0 || spki_len == 0 || spki_len > 4096) {
		snprintf(text, text_size, "key '%s': cannot encode its public key", name);
		return r < 0 ? r : -EIO;
	}
	r = keyd_key_entry_cert(store, name, &leaf, &chain, &n_chain, reason, sizeof(reason));
	if (r < 0 && r != -ENOENT) {
		snprintf(text, text_size, "key '%s': %s; enroll the certificate again with "
			 "keyd-ctl cert add", name, reason);
		return r;
	}
	keyd_proto_msg_init(&m, KEYD_PROTO_GET_PUBKEY_REPLY, req->id);
	keyd_proto_add_bytes(&m, KEYD_TAG_SPKI, spki, spki_len);
	if (r >= 0) {
		/* Leaf first, then as much of the chain as one reply holds: a peer that
		 * needs more has the CA anyway (the chain ends at a trust anchor). */
		for (size_t i = 0; i <= n_chain && n_certs < CERTS_MAX; i++) {
			const struct keyd_cert_der *c = i == 0 ? &leaf : &chain[i - 1];

			if (c->len == 0 || c->len > CERT_MAX || bytes + c->len > CERTS_BYTES_MAX) {
				log_warning("key '%s': certificate %zu of its chain does not fit "
					    "GET-PUBKEY-REPLY; sending %zu", name, i, n_certs);
				break;
			}
			keyd_proto_add_bytes(&m, KEYD_TAG_CERT, c->der, c->len);
			bytes += c->len + 4;
			n_certs++;
		}
	}
	r = encode(&m, ret_out, ret_len, text, text_size);
	free(leaf.der);
	keyd_cert_bundle_free(chain, n_chain);
	return r;
}

int keyd_signer_handle(keyd_signer *sg, const struct keyd_config *config,
		       const keyd_policy *policy, const struct keyd_peer *peer,
		       const struct keyd_proto_msg *req, uint8_t **ret_out, size_t *ret_len,
		       char *text, size_t text_size)
{
	const struct keyd_policy_subject who = {
		.uid = peer->uid,
		.gid = peer->gid,
		.groups = peer->groups,
		.n_groups = peer->n_groups,
	};
	const char *what = req->type == KEYD_PROTO_SIGN ? "sign with" : "read";
	const struct keyd_policy_grant *grant = NULL;
	struct keyd_sign_request q;
	struct keyd_tss2key k = {};
	struct keyd_pubkey pk;
	struct file_id file = {};
	char reason[512] = "";
	const char *name = q.key;
	keyd_store *store = NULL;
	unsigned commands = keyd_signer_tpm_commands(sg);
	uint64_t start = monotonic_usec();
	int r;

	text[0] = '\0';
	r = keyd_sign_request_parse(req, &q, reason, sizeof(reason));
	if (r == -ENOENT) {
		snprintf(text, text_size, "no such key: %s", reason);
		log_notice("peer pid=%d uid=%u: %s: %s", (int)peer->pid, (unsigned)peer->uid,
			   keyd_proto_type_to_string(req->type), text);
		return r;
	}
	if (r < 0) {
		snprintf(text, text_size, "%s", reason);
		return r;
	}
	/* The policy first: an ungranted peer learns nothing about the store, not
	 * even whether the key exists. */
	if (keyd_policy_check_sign(policy, name, &who, &grant) <= 0) {
		snprintf(text, text_size,
			 "permission denied: uid %u may not %s key '%s'; grant it in the "
			 "[signing] section of the policy (keyd-policy(5))",
			 (unsigned)peer->uid, what, name);
		log_notice("peer pid=%d uid=%u: %s key '%s' refused: no [signing] grant",
			   (int)peer->pid, (unsigned)peer->uid, what, name);
		return -EACCES;
	}

	if (req->type == KEYD_PROTO_SIGN) {
		struct held *h;

		file_id_of(config->store, name, &file);
		h = held_find_file(sg, config, name, &file);
		if (h) { /* the file a held key was read from: no need to read it again */
			r = sign(sg, config, NULL, &q, keyd_tpm_held_key_blob(h->key), &file,
				 req->id, ret_out, ret_len, text, text_size);
			goto finish;
		}
	}
	r = keyd_store_open(config->store, KEYD_STORE_READONLY, &store, reason, sizeof(reason));
	if (r < 0) {
		snprintf(text, text_size, "cannot open the store '%s': %s", config->store,
			 reason[0] ? reason : strerror(-r));
		goto finish;
	}
	r = keyd_key_entry_load(store, name, &k, &pk, reason, sizeof(reason));
	if (r < 0) {
		if (r == -ENOENT)
			snprintf(text, text_size, "no key '%s' in the store; create it with "
				 "keyd-ctl key create", name);
		else
			snprintf(text, text_size, "%s", reason);
		r = r == -ENOENT || r == -EINVAL ? -ENOENT : r;
		goto finish;
	}
	if (req->type == KEYD_PROTO_SIGN)
		r = sign(sg, config, store, &q, &k.blob, &file, req->id, ret_out, ret_len, text,
			 text_size);
	else
		r = get_pubkey(store, name, &pk, req, ret_out, ret_len, text, text_size);
finish:
	keyd_store_close(store);
	explicit_bzero(&k, sizeof(k));
	if (r < 0 && r != -ENOENT && r != -EINVAL)
		log_error("peer pid=%d uid=%u: %s key '%s': %s", (int)peer->pid,
			  (unsigned)peer->uid, what, name, text);
	else if (r < 0)
		log_notice("peer pid=%d uid=%u: %s key '%s': %s", (int)peer->pid,
			   (unsigned)peer->uid, what, name, text);
	else /* the TPM command count is what tests/bench/sign.sh reports */
		log_debug("peer pid=%d uid=%u: %s key '%s' (grant %s:%u): %u TPM command(s), "
			  "%llu us",
			  (int)peer->pid, (unsigned)peer->uid, what, name,
			  grant->file ? grant->file : "?", grant->line,
			  keyd_signer_tpm_commands(sg) - commands,
			  (unsigned long long)(monotonic_usec() - start));
	return r;
}
