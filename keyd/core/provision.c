/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Provisioning (provision.h). One pass:
 *
 *  1. A staging keyring "keyd:staging" is made in this process's process
 *     keyring. keyd possesses everything in it, and the kernel drops it when the
 *     process dies: a pass killed at any point leaves nothing half-built linked
 *     anywhere (the new generations die with the staging ring).
 *  2. Rings are built in keyd_policy_ring_order(). A created ring is a new
 *     keyring with the ring's description in the staging ring: a chain: ring is
 *     restricted first (so the kernel verifies every certificate keyd adds), then
 *     filled (and the rings linked into it with keyring:NAME are linked in), then
 *     a closed ring is restricted with no type and loses write, then the
 *     permission mask is set and the ring is linked into its destinations: a
 *     link displaces the same-described previous generation in one step, so a
 *     destination always holds a complete generation, old or new. Then the
 *     previous generation is unlinked where the policy no longer links it and
 *     invalidated.
 *  3. A kernel ring (".nvme") is updated in place: add_key of an existing
 *     type+description updates the payload; keys keyd added in the previous pass
 *     that the policy no longer selects are unlinked. When it is missing and the
 *     policy says if-absent = create, the ring is built like a created one as
 *     "keyd:NAME" and a warning in the state says so.
 *
 * TPM use: one connection (the caller's), the SRK pin checked once (one
 * ReadPublic) the first time a PSK needs unsealing, each PSK unsealed at most
 * once per pass (the TLS PSK is kept, wiped at the end of the pass, when several
 * rings select it). The pass is one unseal batch (tpm.h): one salted session per
 * kind (policy or not) serves every PSK, so a PSK costs Load, Unseal and
 * FlushContext (+ PolicyPCR when sealed to PCRs) and the pass StartAuthSession and
 * FlushContext once per kind used (tests/bench/provision.sh measures it). A TPM
 * failure that is not about one entry (no TPM, SRK mismatch, lockout, I/O) stops
 * the rings that need the TPM: they keep their previous generation.
 *
 * CPU: most of a pass is the kernel parsing CA certificates and checking their
 * self-signatures inside add_key; a CA set's asymmetric keys are added by two
 * threads (asym_add_all), joined before the set's other keys are added.
 *
 * Nothing here logs above debug: problems and warnings are lines in the state,
 * which the program logs.
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ca-set.h"
#include "crypto.h"
#include "kernel-key.h"
#include "key-entry.h"
#include "keyring.h"
#include "log.h"
#include "macro.h"
#include "parse.h"
#include "provision.h"
#include "psk-entry.h"
#include "srk-pin.h"

#define STAGING_DESCRIPTION "keyd:staging"
#define WRITE_ALL_CLASSES                                                                          \
	(KEYD_PERM_POSSESSOR(KEYD_PERM_WRITE) | KEYD_PERM_USER(KEYD_PERM_WRITE) |                  \
	 KEYD_PERM_GROUP(KEYD_PERM_WRITE) | KEYD_PERM_OTHER(KEYD_PERM_WRITE))
#define STATE_KEYS_MAX 65536 /* keys recorded per ring */

struct prov_key {
	keyd_serial_t serial;
	char type[KEYD_KEYRING_TYPE_MAX + 1];
	char *description;
	char *source; /* the store entry: "psk/<id>", "ca/<set>", "keys/<name>" */
};

struct prov_dest {
	enum keyd_policy_link_kind kind;
	uint32_t uid;
};

struct prov_ring {
	char *name;
	char *description;
	keyd_serial_t serial; /* 0 when the ring has no generation in the kernel */
	unsigned generation;
	enum keyd_policy_seal seal;
	bool kernel;      /* a kernel ring updated in place */
	bool substitute;  /* a keyd ring standing in for a missing kernel ring */
	bool ok;          /* provisioned in this pass */
	bool kept_previous;
	struct prov_dest *dests;
	size_t n_dests;
	struct prov_key *keys;
	size_t n_keys;
};

struct prov_line {
	char *entry;
	int error;
	char *message;
};

struct keyd_provision_state {
	struct prov_ring *rings;
	size_t n_rings;
	struct prov_line *problems;
	size_t n_problems;
	struct prov_line *warnings;
	size_t n_warnings;
	int tpm_error;
	unsigned tpm_commands;
	unsigned unsealed;
};

/* A TLS PSK derived in this pass, kept for rings that select it again. */
struct psk_cache {
	char id[KEYD_PSK_ENTRY_ID_LEN + 1];
	int error; /* < 0: this entry failed (already reported) */
	uint8_t psk[KEYD_PSK_KEY_MAX];
	size_t len;
};

struct pass {
	keyd_store *store;
	keyd_tpm *tpm;
	const keyd_policy *policy;
	const keyd_provision_state *previous;
	keyd_provision_state *state;
	keyd_serial_t staging;
	keyd_serial_t *current; /* per policy ring: the generation in the kernel now */
	bool *failed;           /* per policy ring: kept its previous generation */
	unsigned tpm_start;
	bool tpm_pinned;
	int psk_type; /* -1 unknown, 0 no, 1 yes */
	char **psk_ids; /* the store's PSK ids, listed once */
	bool psk_listed;
	struct psk_cache *cache; /* one slot per PSK of the store, never reallocated */
	size_t n_cache, cache_size;
};

/* ---- state ------------------------------------------------------------------------ */

static void prov_ring_done(struct prov_ring *r)
{
	free(r->name);
	free(r->description);
	free(r->dests);
	for (size_t i = 0; i < r->n_keys; i++) {
		free(r->keys[i].description);
		free(r->keys[i].source);
	}
	free(r->keys);
}

static void lines_free(struct prov_line *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(l[i].entry);
		free(l[i].message);
	}
	free(l);
}

keyd_provision_state *keyd_provision_state_free(keyd_provision_state *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_rings; i++)
		prov_ring_done(&s->rings[i]);
	free(s->rings);
	lines_free(s->problems, s->n_problems);
	lines_free(s->warnings, s->n_warnings);
	free(s);
	return NULL;
}

static void state_freep(keyd_provision_state **s)
{
	keyd_provision_state_free(*s);
}

_printf_(5, 6) static int add_line(struct prov_line **lines, size_t *n, const char *entry,
				   int error, const char *fmt, ...)
{
	struct prov_line *grown;
	char *msg = NULL, *e;
	va_list ap;
	int w;

	/* The same entry failing the same way for two rings is reported once. */
	va_start(ap, fmt);
	w = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (w < 0)
		return -ENOMEM;
	for (size_t i = 0; i < *n; i++)
		if (streq((*lines)[i].entry, entry) && streq((*lines)[i].message, msg)) {
			free(msg);
			return 0;
		}
	e = strdup(entry);
	grown = reallocarray(*lines, *n + 1, sizeof(**lines));
	if (!e || !grown) {
		free(e);
		free(msg);
		if (grown)
			*lines = grown;
		return -ENOMEM;
	}
	*lines = grown;
	(*lines)[(*n)++] = (struct prov_line){ .entry = e, .error = error, .message = msg };
	return 0;
}

#define problem(p, entry, error, ...)                                                              \
	(void)add_line(&(p)->state->problems, &(p)->state->n_problems, entry, error, __VA_ARGS__)
#define warning(p, entry, ...)                                                                     \
	(void)add_line(&(p)->state->warnings, &(p)->state->n_warnings, entry, 0, __VA_ARGS__)

static int ring_add_key(struct prov_ring *r, keyd_serial_t serial, const char *type,
			const char *description, const char *source)
{
	struct prov_key *grown;
	char *d, *s;

	if (r->n_keys >= STATE_KEYS_MAX)
		return -E2BIG;
	d = strdup(description ?: "");
	s = strdup(source);
	grown = reallocarray(r->keys, r->n_keys + 1, sizeof(*r->keys));
	if (!d || !s || !grown) {
		free(d);
		free(s);
		if (grown)
			r->keys = grown;
		return -ENOMEM;
	}
	r->keys = grown;
	r->keys[r->n_keys] = (struct prov_key){ .serial = serial, .description = d, .source = s };
	snprintf(r->keys[r->n_keys].type, sizeof(r->keys[r->n_keys].type), "%s", type);
	r->n_keys++;
	return 0;
}

static const struct prov_ring *state_ring(const keyd_provision_state *s, const char *name)
{
	for (size_t i = 0; s && i < s->n_rings; i++)
		if (streq(s->rings[i].name, name))
			return &s->rings[i];
	return NULL;
}

/* ---- helpers ---------------------------------------------------------------------- */

static const char *ring_entry(const struct keyd_policy_ring *ring, char *buf, size_t size)
{
	snprintf(buf, size, "keyring '%s'", ring->name);
	return buf;
}

/* Describe the link targets for messages and JSON. */
static void dest_format(const struct prov_dest *d, char *buf, size_t size)
{
	switch (d->kind) {
	case KEYD_POLICY_LINK_USER:
		snprintf(buf, size, "user:%u", d->uid);
		break;
	case KEYD_POLICY_LINK_PERSISTENT:
		snprintf(buf, size, "persistent:%u", d->uid);
		break;
	case KEYD_POLICY_LINK_SESSION:
		snprintf(buf, size, "session");
		break;
	case KEYD_POLICY_LINK_KEYRING:
		snprintf(buf, size, "keyring");
		break;
	}
}

/* The keyring a destination names, when keyd can reach it directly. 0 and the
 * serial, or -errno. User keyrings of other uids are reached through
 * keyd_keyring_user_link() instead (-EOPNOTSUPP here). */
static int dest_resolve(struct pass *p, const struct prov_dest *d, keyd_serial_t *ret)
{
	switch (d->kind) {
	case KEYD_POLICY_LINK_SESSION:
		return keyd_keyring_resolve(KEYD_KEYRING_SESSION, false, ret);
	case KEYD_POLICY_LINK_USER:
		if (d->uid != getuid())
			return -EOPNOTSUPP;
		return keyd_keyring_resolve(KEYD_KEYRING_USER, true, ret);
	case KEYD_POLICY_LINK_PERSISTENT:
		return keyd_keyring_get_persistent((uid_t)d->uid, p->staging, ret);
	case KEYD_POLICY_LINK_KEYRING:
		return -EOPNOTSUPP;
	}
	return -EINVAL;
}

static int dest_link(struct pass *p, const struct prov_dest *d, keyd_serial_t key)
{
	keyd_serial_t ring;
	int r;

	if (d->kind == KEYD_POLICY_LINK_USER && d->uid != getuid())
		return keyd_keyring_user_link((uid_t)d->uid, key);
	r = dest_resolve(p, d, &ring);
	if (r < 0)
		return r;
	return keyd_keyring_link(key, ring);
}

static int dest_unlink(struct pass *p, const struct prov_dest *d, keyd_serial_t key)
{
	keyd_serial_t ring;
	int r;

	if (d->kind == KEYD_POLICY_LINK_USER && d->uid != getuid())
		return keyd_keyring_user_unlink((uid_t)d->uid, key);
	r = dest_resolve(p, d, &ring);
	if (r < 0)
		return r;
	return keyd_keyring_unlink(key, ring);
}

/* A keyring with description desc linked directly in ring, 0 if none. */
static keyd_serial_t find_in(keyd_serial_t ring, const char *desc)
{
	_cleanup_free_ keyd_serial_t *keys = NULL;
	size_t n = 0;

	if (keyd_keyring_list(ring, KEYD_KEYRING_LIST_MAX, &keys, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct keyd_keyring_info info;

		if (keyd_keyring_describe(keys[i], &info) >= 0 && streq(info.type, "keyring") &&
		    streq(info.description, desc))
			return keys[i];
	}
	return 0;
}

/* The previous generation of a created ring: from the last pass of this process,
 * or, for a first pass, one an earlier keyd linked in the policy's destinations. */
static keyd_serial_t previous_generation(struct pass *p, const struct keyd_policy_ring *ring,
					 const char *desc, unsigned *ret_generation)
{
	const struct prov_ring *prev = state_ring(p->previous, ring->name);

	*ret_generation = 0;
	if (p->previous) {
		if (!prev || prev->kernel || !streq(prev->description, desc))
			return 0;
		*ret_generation = prev->generation;
		return prev->serial;
	}
	for (size_t i = 0; i < ring->n_links; i++) {
		struct prov_dest d = { .kind = ring->links[i].kind, .uid = ring->links[i].uid };
		keyd_serial_t dest, found;

		if (dest_resolve(p, &d, &dest) < 0)
			continue;
		found = find_in(dest, desc);
		if (found)
			return found;
	}
	return 0;
}

static int set_key_attrs(const struct keyd_policy_ring *ring, keyd_serial_t key)
{
	int r = keyd_keyring_setperm(key, ring->item_perm);

	if (r >= 0 && ring->timeout)
		r = keyd_keyring_set_timeout(key, ring->timeout);
	return r;
}

/* ---- the TPM -------------------------------------------------------------------- */

static bool tpm_error_is_global(int r)
{
	/* Errors about one entry: its PCR policy, its PIN, its blob or metadata. Every
	 * other TPM error would hit every entry the same way. */
	return r != -ESTALE && r != -EACCES && r != -EBADMSG && r != -EKEYREJECTED &&
	       r != -EINVAL && r != -ENOMEM;
}

static int tpm_ready(struct pass *p, const char *entry)
{
	uint8_t name[KEYD_TPM_NAME_MAX];
	char reason[256] = "";
	size_t len = 0;
	int r;

	if (p->state->tpm_error < 0)
		return p->state->tpm_error;
	if (p->tpm_pinned)
		return 0;
	if (!p->tpm) {
		r = -ENODEV;
		problem(p, "tpm", r, "no TPM connection; sealed entries cannot be unsealed");
		return p->state->tpm_error = r;
	}
	r = keyd_srk_pin_load(p->store, name, &len, reason, sizeof(reason));
	if (r == -ENOENT) {
		/* Sealed entries exist but no SRK was recorded: the store is incomplete. */
		r = -EXDEV;
		problem(p, entry, r, "%s: the store records no storage root key (tpm/srk.meta) "
			"although it holds sealed entries; restore tpm/srk.meta from a backup, or "
			"enroll the PSKs again", keyd_store_root(p->store));
		return p->state->tpm_error = r;
	}
	if (r < 0) {
		problem(p, "tpm", r, "%s/%s; restore it from a backup", keyd_store_root(p->store),
			reason);
		return p->state->tpm_error = r;
	}
	r = keyd_tpm_srk_pin(p->tpm, name, len);
	if (r < 0) {
		problem(p, "tpm", r, "the TPM cannot be used: %s", keyd_tpm_last_error(p->tpm));
		return p->state->tpm_error = r;
	}
	p->tpm_pinned = true;
	return 0;
}

static struct psk_cache *cache_find(struct pass *p, const char *id)
{
	for (size_t i = 0; i < p->n_cache; i++)
		if (streq(p->cache[i].id, id))
			return &p->cache[i];
	return NULL;
}

static void cache_wipe(struct pass *p)
{
	if (p->cache)
		explicit_bzero(p->cache, p->n_cache * sizeof(*p->cache));
	free(p->cache);
	p->cache = NULL;
	p->n_cache = 0;
}

/* Unseal and derive the TLS PSK of e, once per pass. Returns the cache slot, or
 * NULL with *ret_error: an entry problem (reported here) or a global TPM error
 * (returned for the ring to fail). */
static struct psk_cache *psk_derive(struct pass *p, const struct keyd_psk_entry *e,
				    const char *entry, int *ret_error)
{
	_cleanup_(keyd_psk_key_wipe) struct keyd_psk_key k = {};
	struct keyd_tss2key sealed;
	struct psk_cache *c;
	char reason[512] = "";
	uint32_t changed = 0;
	int r;

	c = cache_find(p, e->id);
	if (c) {
		*ret_error = c->error;
		return c->error < 0 ? NULL : c;
	}
	if (p->n_cache >= p->cache_size) {
		*ret_error = -ENOMEM;
		return NULL;
	}
	c = &p->cache[p->n_cache];
	memset(c, 0, sizeof(*c));
	memcpy(c->id, e->id, sizeof(c->id));

	if (e->policy.pin) {
		r = -EACCES;
		problem(p, entry, r, "sealed with a PIN, which provisioning cannot ask for; "
			"re-enroll it without --pin, or let keyd-request-key answer for it");
		goto entry_fail;
	}
	r = keyd_psk_entry_read_sealed(p->store, e, &sealed, reason, sizeof(reason));
	if (r < 0) {
		problem(p, entry, r, "%s/%s; restore it from a backup, or remove the PSK and add "
			"it again", keyd_store_root(p->store), reason);
		goto entry_fail;
	}
	r = tpm_ready(p, entry);
	if (r < 0) {
		*ret_error = r;
		return NULL; /* not cached: the ring fails as a whole */
	}
	r = keyd_psk_entry_unseal(p->tpm, e, &sealed, NULL, &k, &changed);
	if (r == -ESTALE) {
		char names[160];

		keyd_psk_entry_pcr_names(changed, names, sizeof(names));
		problem(p, entry, r, "the boot state does not match the sealing policy: PCR %s "
			"(%s) changed since the key was sealed; if the change is expected, enroll "
			"it again (keyd-ctl psk add --replace)", names,
			keyd_hash_alg_to_string(e->policy.bank));
		goto entry_fail;
	}
	if (r == -EKEYREJECTED) {
		problem(p, entry, r, "the sealed key does not give the recorded identity; the "
			"files psk/%s.sealed and .meta do not belong together, restore them from a "
			"backup", e->id);
		goto entry_fail;
	}
	if (r < 0 && !tpm_error_is_global(r)) {
		problem(p, entry, r, "cannot unseal: %s", keyd_tpm_last_error(p->tpm));
		goto entry_fail;
	}
	if (r < 0) {
		problem(p, "tpm", r, "%s", keyd_tpm_last_error(p->tpm));
		p->state->tpm_error = r;
		*ret_error = r;
		return NULL;
	}
	p->state->unsealed++;
	r = keyd_psk_entry_tls_psk(e, &k, c->psk);
	if (r < 0) {
		explicit_bzero(c->psk, sizeof(c->psk));
		problem(p, entry, r, "cannot derive the TLS PSK: %s", strerror(-r));
		goto entry_fail;
	}
	c->len = k.len;
	p->n_cache++;
	*ret_error = 0;
	return c;

entry_fail:
	c->error = r;
	p->n_cache++;
	*ret_error = r;
	return NULL;
}

/* ---- items -------------------------------------------------------------------------- */

struct fill {
	struct pass *p;
	const struct keyd_policy_ring *ring;
	struct prov_ring *out;
	keyd_serial_t target;
	bool psk_as_user;    /* a keyd ring standing in for .nvme without the psk type */
	const char *ring_entry;
};

static bool psk_selected(const struct keyd_policy_item *it, const struct keyd_psk_entry *e)
{
	switch (it->psk_match) {
	case KEYD_POLICY_PSK_ALL:
		return true;
	case KEYD_POLICY_PSK_ID:
		return keyd_policy_glob_match(it->name, e->id);
	case KEYD_POLICY_PSK_HOSTNQN:
		return keyd_policy_glob_match(it->name, e->hostnqn);
	case KEYD_POLICY_PSK_SUBNQN:
		return keyd_policy_glob_match(it->name, e->subnqn);
	}
	return false;
}

static int psk_type_known(struct pass *p)
{
	if (p->psk_type < 0) {
		int r = keyd_keyring_has_type("psk");

		p->psk_type = r > 0 ? 1 : 0;
	}
	return p->psk_type;
}

/* The kernel's "psk" key type has no update operation: add_key of an identity already in a
 * kernel ring replaces the key (a new serial, seen in tests/vm/root-*.sh), and a controller's
 * tls_key would name a key no longer in the ring. A key there with the same payload (early
 * boot's, or the last pass's) is kept as it is. Returns its serial, or 0 to add. */
static keyd_serial_t psk_in_place(keyd_serial_t ring, const char *identity, const uint8_t *psk,
				  size_t len)
{
	_cleanup_secret_ struct keyd_secret cur = { 0 };
	uint8_t diff = 0;
	keyd_serial_t k;

	/* 64: above any TLS PSK (SHA-384's 48 bytes). */
	if (keyd_keyring_search(ring, "psk", identity, &k) < 0 ||
	    keyd_keyring_read(k, 64, &cur) < 0 || cur.len != len)
		return 0;
	/* Constant time over the secret bytes. */
	for (size_t i = 0; i < len; i++)
		diff |= cur.data[i] ^ psk[i];
	return diff == 0 ? k : 0;
}

/* Every PSK the ring's psk lines select. Returns < 0 only for a global failure. */
static int fill_psks(struct fill *f)
{
	struct pass *p = f->p;
	bool any_psk_line = false;
	int r;

	for (size_t i = 0; i < f->ring->n_items; i++)
		any_psk_line = any_psk_line || f->ring->items[i].kind == KEYD_POLICY_ITEM_PSK;
	if (!any_psk_line)
		return 0;
	if (!p->psk_listed) {
		r = keyd_psk_entry_list(p->store, &p->psk_ids, NULL);
		if (r < 0) {
			problem(p, f->ring_entry, r, "cannot list the PSKs of the store: %s",
				keyd_store_last_error(p->store));
			return r;
		}
		p->psk_listed = true;
		for (char **id = p->psk_ids; *id; id++)
			p->cache_size++;
		/* Sized once: a realloc could leave a copy of the secrets behind unwiped. */
		p->cache = calloc(p->cache_size ?: 1, sizeof(*p->cache));
		if (!p->cache)
			return -ENOMEM;
	}
	for (char **id = p->psk_ids; id && *id; id++) {
		struct keyd_psk_entry e;
		struct psk_cache *c;
		char reason[512] = "", entry[KEYD_PSK_IDENTITY_MAX + 64], source[32];
		const char *type;
		keyd_serial_t key;
		bool selected = false;

		snprintf(entry, sizeof(entry), "psk %s", *id);
		r = keyd_psk_entry_load(p->store, *id, &e, reason, sizeof(reason));
		if (r < 0) {
			problem(p, entry, r, "%s/%s; restore it from a backup, or remove it with "
				"keyd-ctl psk remove %s", keyd_store_root(p->store), reason, *id);
			continue;
		}
		for (size_t i = 0; i < f->ring->n_items && !selected; i++)
			selected = f->ring->items[i].kind == KEYD_POLICY_ITEM_PSK &&
				   psk_selected(&f->ring->items[i], &e);
		if (!selected)
			continue;
		snprintf(entry, sizeof(entry), "psk %s ('%s')", e.id, e.identity);
		snprintf(source, sizeof(source), "psk/%s", e.id);
		if (!f->psk_as_user && !psk_type_known(p)) {
			problem(p, entry, -ENODEV,
				"the kernel has no 'psk' key type (the nvme-keyring module is "
				"not loaded, or the kernel is older than 6.7), so %s cannot "
				"hold it; run 'modprobe nvme-keyring', or put PSKs in a "
				"'kernel = .nvme' ring with 'if-absent = create'",
				f->ring_entry);
			continue;
		}
		c = psk_derive(p, &e, entry, &r);
		if (!c) {
			if (r < 0 && p->state->tpm_error == r)
				return r;
			continue;
		}
		type = f->psk_as_user ? "user" : "psk";
		key = f->out->kernel && !f->psk_as_user
			      ? psk_in_place(f->target, e.identity, c->psk, c->len)
			      : 0;
		r = 0;
		if (key == 0 && f->psk_as_user)
			r = keyd_keyring_add_user(f->target, e.identity, c->psk, c->len, &key);
		else if (key == 0)
			r = keyd_keyring_add_psk(f->target, e.identity, c->psk, c->len, &key);
		if (r >= 0)
			r = set_key_attrs(f->ring, key);
		if (r < 0) {
			problem(p, entry, r, "cannot add it to %s as a '%s' key: %s", f->ring_entry,
				type, keyd_keyring_add_error_reason(type, r));
			continue;
		}
		if (ring_add_key(f->out, key, type, e.identity, source) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void fingerprint16(const struct keyd_cert_der *c, char out[17])
{
	uint8_t digest[32];
	char hex[65];

	if (keyd_crypto_hash(KEYD_HASH_SHA256, c->der, c->len, digest) < 0) {
		snprintf(out, 17, "unknown");
		return;
	}
	keyd_hex_encode(digest, sizeof(digest), hex);
	memcpy(out, hex, 16);
	out[16] = '\0';
}

/* The outcome of one asymmetric add_key (add_cert, asym_add_range). */
struct asym_result {
	int r;
	keyd_serial_t key;
	bool displaced; /* added, but no longer in the ring (asym_add_all) */
	char reason[160];
};

/* One certificate as asymmetric and/or user. user_desc names the user copy. pre, when
 * not NULL, is the outcome of the asymmetric add_key already made (fill_ca_set). */
static void add_cert(struct fill *f, const struct keyd_cert_der *c, unsigned as,
		     const char *user_desc, const char *entry, const char *source,
		     const struct asym_result *pre)
{
	struct pass *p = f->p;
	keyd_serial_t key;
	int r;

	if (as & KEYD_POLICY_AS_ASYMMETRIC) {
		char reason[160] = "";

		if (pre && pre->displaced) {
			/* Displaced by another certificate of the set with the same kernel
			 * description (subject and key identifier: the same CA key,
			 * re-issued), which the ring holds instead. */
			log_debug("%s: displaced in %s by a certificate of the same subject "
				  "and key", entry, f->ring_entry);
			goto user;
		}
		if (pre) {
			r = pre->r;
			key = pre->key;
			snprintf(reason, sizeof(reason), "%s", pre->reason);
		} else
			r = keyd_keyring_add_asymmetric(f->target, NULL, c->der, c->len, &key,
							reason, sizeof(reason));
		if (r >= 0)
			r = set_key_attrs(f->ring, key);
		if (r >= 0) {
			struct keyd_keyring_info info;

			if (keyd_keyring_describe(key, &info) < 0)
				snprintf(info.description, sizeof(info.description), "?");
			if (ring_add_key(f->out, key, "asymmetric", info.description, source) < 0)
				return;
		} else
			problem(p, entry, r, "the kernel refused it as an 'asymmetric' key in %s: "
				"%s%s", f->ring_entry, reason[0] ? reason :
				keyd_keyring_add_error_reason("asymmetric", r),
				as & KEYD_POLICY_AS_USER ? "; the readable DER copy is still added"
							 : "");
	}
user:
	if (as & KEYD_POLICY_AS_USER) {
		r = keyd_keyring_add_user(f->target, user_desc, c->der, c->len, &key);
		if (r >= 0)
			r = set_key_attrs(f->ring, key);
		if (r < 0) {
			problem(p, entry, r, "cannot add its DER copy '%s' to %s: %s", user_desc,
				f->ring_entry, keyd_keyring_add_error_reason("user", r));
			return;
		}
		(void)ring_add_key(f->out, key, "user", user_desc, source);
	}
}

/* The asymmetric add_keys of certificates [from, to) of a set, into ring. */
struct asym_range {
	keyd_serial_t ring;
	const struct keyd_cert_der *certs;
	size_t from, to;
	struct asym_result *res;
};

static void *asym_add_range(void *arg)
{
	struct asym_range *a = arg;

	for (size_t i = a->from; i < a->to; i++) {
		struct asym_result *x = &a->res[i];

		x->r = keyd_keyring_add_asymmetric(a->ring, NULL, a->certs[i].der, a->certs[i].len,
						   &x->key, x->reason, sizeof(x->reason));
	}
	return NULL;
}

static int serial_cmp(const void *a, const void *b)
{
	keyd_serial_t x = *(const keyd_serial_t *)a, y = *(const keyd_serial_t *)b;

	return x < y ? -1 : x > y;
}

/* Two certificates with the same kernel description (the same subject and key
 * identifier) in a set: the later add_key displaces the earlier key from the ring.
 * Which one stays depends on the threads' timing, so what is in the ring decides:
 * an added key no longer in it is marked displaced (not listed, no problem). */
static void mark_displaced(keyd_serial_t ring, struct asym_result *res, size_t n)
{
	_cleanup_free_ keyd_serial_t *in = NULL;
	size_t count = 0;

	if (keyd_keyring_list(ring, KEYD_KEYRING_LIST_MAX, &in, &count) < 0)
		return; /* then a displaced key fails as it would one by one */
	qsort(in, count, sizeof(*in), serial_cmp);
	for (size_t i = 0; i < n; i++)
		res[i].displaced = res[i].r >= 0 &&
				   !bsearch(&res[i].key, in, count, sizeof(*in), serial_cmp);
}

/* A set's asymmetric keys, added by two threads: the kernel parses each certificate
 * and checks a self-signed one's signature (RSA: most of the cost of a CA bundle) in
 * add_key before it takes the ring's lock, so the two halves go in in parallel. The
 * results are taken in the set's order afterwards (add_cert), so the outcome, the
 * problems and their order are those of adding one by one. NULL (nothing added) for a
 * small set, or when no thread can be made: add_cert adds them itself then. The thread
 * is joined before this returns; the daemon's event loop stays single-threaded. */
#define ASYM_PARALLEL_MIN 16
static struct asym_result *asym_add_all(keyd_serial_t ring, const struct keyd_cert_der *certs,
					size_t n)
{
	struct asym_result *res;
	struct asym_range lo, hi;
	pthread_t th;

	if (n < ASYM_PARALLEL_MIN || sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return NULL;
	res = calloc(n, sizeof(*res));
	if (!res)
		return NULL;
	lo = (struct asym_range){ ring, certs, 0, n / 2, res };
	hi = (struct asym_range){ ring, certs, n / 2, n, res };
	if (pthread_create(&th, NULL, asym_add_range, &hi) != 0) {
		free(res);
		return NULL;
	}
	asym_add_range(&lo);
	(void)pthread_join(th, NULL);
	mark_displaced(ring, res, n);
	return res;
}

static void fill_ca_set(struct fill *f, const struct keyd_policy_item *it)
{
	struct keyd_cert_der *certs = NULL;
	_cleanup_free_ struct asym_result *pre = NULL;
	char reason[512] = "", entry[128], source[96];
	unsigned as = it->as ?: KEYD_POLICY_AS_ASYMMETRIC | KEYD_POLICY_AS_USER;
	size_t n = 0;
	int r;

	snprintf(entry, sizeof(entry), "ca-set '%s'", it->name);
	snprintf(source, sizeof(source), "ca/%s", it->name);
	r = keyd_ca_set_load(f->p->store, it->name, &certs, &n, reason, sizeof(reason));
	if (r == -ENOENT) {
		problem(f->p, entry, r, "no CA set '%s' in the store %s; enroll it with 'keyd-ctl "
			"ca add FILE --set %s'", it->name, keyd_store_root(f->p->store), it->name);
		return;
	}
	if (r < 0) {
		problem(f->p, entry, r, "%s/%s; enroll the set again with keyd-ctl ca add",
			keyd_store_root(f->p->store), reason);
		return;
	}
	if (as & KEYD_POLICY_AS_ASYMMETRIC)
		pre = asym_add_all(f->target, certs, n);
	for (size_t i = 0; i < n; i++) {
		char fpr[17], desc[128], centry[192];

		fingerprint16(&certs[i], fpr);
		snprintf(desc, sizeof(desc), "keyd:ca:%s:%s", it->name, fpr);
		snprintf(centry, sizeof(centry), "ca-set '%s' certificate %zu (%s)", it->name,
			 i + 1, fpr);
		add_cert(f, &certs[i], as, desc, centry, source, pre ? &pre[i] : NULL);
	}
	keyd_cert_bundle_free(certs, n);
}

static void fill_cert(struct fill *f, const struct keyd_policy_item *it)
{
	struct keyd_cert_der leaf = {}, *chain = NULL;
	char reason[512] = "", entry[128], source[96], desc[128];
	size_t n_chain = 0;
	int r;

	snprintf(entry, sizeof(entry), "cert '%s'", it->name);
	snprintf(source, sizeof(source), "keys/%s.crt", it->name);
	r = keyd_key_entry_cert(f->p->store, it->name, &leaf, &chain, &n_chain, reason,
				sizeof(reason));
	if (r == -ENOENT) {
		problem(f->p, entry, r, "no certificate for key '%s' in the store %s; add it with "
			"'keyd-ctl cert add %s FILE'", it->name, keyd_store_root(f->p->store),
			it->name);
		return;
	}
	if (r < 0) {
		problem(f->p, entry, r, "%s/%s; add the certificate again with keyd-ctl cert add",
			keyd_store_root(f->p->store), reason);
		return;
	}
	snprintf(desc, sizeof(desc), "keyd:cert:%s", it->name);
	add_cert(f, &leaf, it->as ?: KEYD_POLICY_AS_USER, desc, entry, source, NULL);
	/* The chain only as readable copies: the kernel needs no intermediates. */
	for (size_t i = 0; i < n_chain; i++) {
		snprintf(desc, sizeof(desc), "keyd:chain:%s:%zu", it->name, i + 1);
		add_cert(f, &chain[i], KEYD_POLICY_AS_USER, desc, entry, source, NULL);
	}
	free(leaf.der);
	keyd_cert_bundle_free(chain, n_chain);
}

/* "as tpm2": the key itself, as an asymmetric key of the kernel's TPM2 subtype
 * (kernel-patches/0004). The payload is the TSS2 PRIVATE KEY in DER - the private
 * part wrapped by the SRK, which only the TPM can use - so nothing secret crosses.
 * A kernel without the subtype refuses it (EBADMSG): that is reported, never
 * replaced by a reference behind the policy's back. */
static void fill_key_tpm2(struct fill *f, const struct keyd_tss2key *k, const char *entry,
			  const char *source, const char *desc)
{
	_cleanup_free_ uint8_t *der = NULL;
	size_t der_len = 0;
	keyd_serial_t key;
	int r;

	r = keyd_tss2key_to_der(k, &der, &der_len);
	if (r < 0) {
		problem(f->p, entry, r, "%s/%s cannot be encoded for the kernel: %s",
			keyd_store_root(f->p->store), source, strerror(-r));
		return;
	}
	r = keyd_keyring_add("asymmetric", desc, der, der_len, f->target, &key);
	if (r >= 0) {
		r = set_key_attrs(f->ring, key);
		if (r < 0)
			(void)keyd_keyring_unlink(key, f->target);
	}
	if (r < 0) {
		problem(f->p, entry, r, "cannot add it to %s as a kernel TPM2 key ('as tpm2'): %s",
			f->ring_entry, keyd_kernel_key_add_error_reason(r));
		return;
	}
	(void)ring_add_key(f->out, key, "asymmetric", desc, source);
}

static void fill_key(struct fill *f, const struct keyd_policy_item *it)
{
	struct keyd_tss2key k;
	struct keyd_pubkey pk;
	char reason[512] = "", entry[128], source[96], desc[128], ref[96];
	keyd_serial_t key;
	int r;

	snprintf(entry, sizeof(entry), "key '%s'", it->name);
	snprintf(source, sizeof(source), "keys/%s", it->name);
	r = keyd_key_entry_load(f->p->store, it->name, &k, &pk, reason, sizeof(reason));
	if (r == -ENOENT) {
		problem(f->p, entry, r,
			"no TPM key '%s' in the store %s; create it with "
			"'keyd-ctl key create %s --alg ...'",
			it->name, keyd_store_root(f->p->store), it->name);
		return;
	}
	if (r < 0) {
		problem(f->p, entry, r, "%s/%s; restore it from a backup",
			keyd_store_root(f->p->store), reason);
		return;
	}
	/* Both forms are described "keyd:key:<name>"; the types differ. */
	snprintf(desc, sizeof(desc), "keyd:key:%s", it->name);
	if (it->as & KEYD_POLICY_AS_TPM2)
		fill_key_tpm2(f, &k, entry, source, desc);
	explicit_bzero(&k, sizeof(k)); /* wrapped by the TPM, but no need to keep it */
	if (it->as && !(it->as & KEYD_POLICY_AS_REF))
		return;
	/* The reference is what the OpenSSL provider and keyd-handshaked take: the
	 * "keyd:<name>" URI. Never key material. */
	snprintf(ref, sizeof(ref), "keyd:%s", it->name);
	r = keyd_keyring_add_user(f->target, desc, ref, strlen(ref), &key);
	if (r >= 0)
		r = set_key_attrs(f->ring, key);
	if (r < 0) {
		problem(f->p, entry, r, "cannot add its reference to %s: %s", f->ring_entry,
			keyd_keyring_add_error_reason("user", r));
		return;
	}
	(void)ring_add_key(f->out, key, "user", desc, source);
}

/* Link the rings that name this one in "link = keyring:NAME". */
static void fill_subrings(struct fill *f, size_t ring_index)
{
	struct pass *p = f->p;
	size_t n = keyd_policy_ring_count(p->policy);

	for (size_t i = 0; i < n; i++) {
		const struct keyd_policy_ring *sub = keyd_policy_ring(p->policy, i);
		char entry[128];

		for (size_t l = 0; l < sub->n_links; l++) {
			int r;

			if (sub->links[l].kind != KEYD_POLICY_LINK_KEYRING ||
			    sub->links[l].ring_index != ring_index)
				continue;
			snprintf(entry, sizeof(entry), "keyring '%s'", sub->name);
			if (!p->current[i]) {
				problem(p, entry, -ENOKEY, "has no generation to link into %s (see "
					"its own problem)", f->ring_entry);
				continue;
			}
			r = keyd_keyring_link(p->current[i], f->target);
			if (r < 0) {
				problem(p, entry, r, "cannot be linked into %s: %s", f->ring_entry,
					strerror(-r));
				continue;
			}
			/* The state knows the description actually used (a stand-in's). */
			(void)ring_add_key(f->out, p->current[i], "keyring",
					   state_ring(p->state, sub->name)
						   ? state_ring(p->state, sub->name)->description
						   : sub->description,
					   "policy");
		}
	}
}

static int fill_ring(struct fill *f, size_t ring_index)
{
	int r;

	r = fill_psks(f);
	if (r < 0)
		return r;
	for (size_t i = 0; i < f->ring->n_items; i++) {
		const struct keyd_policy_item *it = &f->ring->items[i];

		switch (it->kind) {
		case KEYD_POLICY_ITEM_PSK:
			break; /* above */
		case KEYD_POLICY_ITEM_CA_SET:
			fill_ca_set(f, it);
			break;
		case KEYD_POLICY_ITEM_CERT:
			fill_cert(f, it);
			break;
		case KEYD_POLICY_ITEM_KEY:
			fill_key(f, it);
			break;
		}
	}
	fill_subrings(f, ring_index);
	return 0;
}

/* ---- rings -------------------------------------------------------------------------- */

static int ring_dests(const struct keyd_policy_ring *ring, struct prov_ring *out)
{
	out->dests = calloc(ring->n_links ?: 1, sizeof(*out->dests));
	if (!out->dests)
		return -ENOMEM;
	for (size_t i = 0; i < ring->n_links; i++)
		if (ring->links[i].kind != KEYD_POLICY_LINK_KEYRING)
			out->dests[out->n_dests++] = (struct prov_dest){
				.kind = ring->links[i].kind,
				.uid = ring->links[i].uid,
			};
	return 0;
}

static bool dests_contain(const struct prov_ring *r, const struct prov_dest *d)
{
	for (size_t i = 0; i < r->n_dests; i++)
		if (r->dests[i].kind == d->kind && r->dests[i].uid == d->uid)
			return true;
	return false;
}

/* Is the previous generation of ring index i still held by a ring that kept its
 * own previous generation in this pass (then it must not be invalidated)? */
static bool held_by_kept_ring(struct pass *p, size_t i)
{
	const struct keyd_policy_ring *ring = keyd_policy_ring(p->policy, i);

	for (size_t l = 0; l < ring->n_links; l++)
		if (ring->links[l].kind == KEYD_POLICY_LINK_KEYRING &&
		    p->failed[ring->links[l].ring_index])
			return true;
	return false;
}

/* A new generation of a created ring (or of a substitute for a kernel ring). */
static int build_generation(struct pass *p, size_t index, const struct keyd_policy_ring *ring,
			    const char *desc, bool substitute, struct prov_ring *out)
{
	const struct prov_ring *prev_state = state_ring(p->previous, ring->name);
	char entry[128];
	keyd_serial_t serial = 0, prev;
	uint32_t perm, link_perm;
	size_t linked = 0;
	unsigned prev_gen;
	bool foreign_user = false;
	struct fill f = {
		.p = p,
		.ring = ring,
		.out = out,
		.ring_entry = ring_entry(ring, entry, sizeof(entry)),
	};
	int r;

	prev = previous_generation(p, ring, desc, &prev_gen);
	out->generation = prev_gen + 1;

	r = keyd_keyring_new(desc, p->staging, &serial);
	if (r < 0) {
		problem(p, entry, r, "cannot create a new generation '%s': %s", desc, strerror(-r));
		goto fail;
	}
	f.target = serial;
	f.psk_as_user = substitute && !psk_type_known(p);

	if (ring->seal == KEYD_POLICY_SEAL_CHAIN) {
		keyd_serial_t ca = p->current[ring->chain_index];

		/* Before anything goes in, so the kernel checks every certificate keyd adds
		 * against the CA ring, as it will check those added later. */
		r = ca ? keyd_keyring_restrict_chain(serial, ca) : -ENOKEY;
		if (r < 0) {
			problem(p, entry, r,
				"cannot restrict it to certificates signed by a CA in "
				"keyring '%s': %s",
				ring->chain,
				ca ? strerror(-r)
				   : "that keyring has no generation (see its problem)");
			goto fail;
		}
	}
	r = fill_ring(&f, index);
	if (r < 0) {
		problem(p, entry, r,
			"not provisioned: the TPM is needed for its PSKs and cannot be "
			"used (see 'tpm'); %s",
			prev ? "the previous generation stays" : "it has no previous generation");
		goto fail;
	}

	/* A stand-in for a kernel ring has no mask of its own unless the policy gave
	 * one: it gets what a created ring gets. */
	perm = ring->perm_set || !ring->kernel ? ring->perm : KEYD_POLICY_DEFAULT_RING_PERM;
	if (ring->seal == KEYD_POLICY_SEAL_CLOSED) {
		r = keyd_keyring_restrict_closed(serial);
		if (r < 0) {
			problem(p, entry, r, "cannot seal it (restrict): %s", strerror(-r));
			goto fail;
		}
		/* The restriction does not stop unlink or clear; no write does. */
		perm &= ~WRITE_ALL_CLASSES;
	}
	if (ring->timeout) {
		r = keyd_keyring_set_timeout(serial, ring->timeout);
		if (r < 0) {
			problem(p, entry, r, "cannot set its timeout: %s", strerror(-r));
			goto fail;
		}
	}
	/* Linking into another uid's user keyring happens in a child that is root
	 * only as owner (keyring.h): it needs the owner's link and search bits
	 * until the links are made. */
	for (size_t i = 0; i < out->n_dests; i++)
		foreign_user = foreign_user || (out->dests[i].kind == KEYD_POLICY_LINK_USER &&
						out->dests[i].uid != getuid());
	link_perm = perm | KEYD_PERM_POSSESSOR(KEYD_PERM_LINK | KEYD_PERM_SETATTR) |
		    (foreign_user ? KEYD_PERM_USER(KEYD_PERM_LINK | KEYD_PERM_SEARCH) : 0);
	r = keyd_keyring_setperm(serial, link_perm);
	if (r < 0) {
		problem(p, entry, r, "cannot set its permissions: %s", strerror(-r));
		goto fail;
	}
	for (linked = 0; linked < out->n_dests; linked++) {
		char d[64];

		r = dest_link(p, &out->dests[linked], serial);
		if (r < 0) {
			dest_format(&out->dests[linked], d, sizeof(d));
			problem(p, entry, r, "cannot link the new generation into %s: %s; the "
				"previous generation stays", d, strerror(-r));
			goto unlink;
		}
	}
	if (link_perm != perm) {
		r = keyd_keyring_setperm(serial, perm);
		if (r < 0)
			problem(p, entry, r, "linked, but cannot set its final permissions 0x%08x: "
				"%s", perm, strerror(-r));
	}
	/* The new generation stays in the staging ring until the end of the pass: a ring
	 * whose only destination is "keyring:NAME" is held by nothing else until that
	 * ring is built (later: a ring comes before the rings it is linked into), and a
	 * keyring nobody holds is gone at once. The pass clears the staging ring at its end. */

	/* The previous generation: every destination it shares with this one now holds
	 * the new one; drop it from the others, then invalidate it. */
	if (prev && prev != serial) {
		if (prev_state)
			for (size_t i = 0; i < prev_state->n_dests; i++)
				if (!dests_contain(out, &prev_state->dests[i]))
					(void)dest_unlink(p, &prev_state->dests[i], prev);
		if (!held_by_kept_ring(p, index))
			(void)keyd_keyring_invalidate(prev);
	}
	out->serial = serial;
	out->substitute = substitute;
	out->ok = true;
	p->current[index] = serial;
	return 0;

unlink:
	/* Put the previous generation back where the new one already went. */
	for (size_t i = 0; i < linked; i++) {
		if (prev)
			(void)dest_link(p, &out->dests[i], prev);
		else
			(void)dest_unlink(p, &out->dests[i], serial);
	}
fail:
	if (serial)
		(void)keyd_keyring_invalidate(serial);
	out->serial = prev;
	out->generation = prev_gen;
	out->kept_previous = prev != 0;
	out->substitute = substitute;
	if (prev_state && prev) {
		/* Report what stays in the kernel. */
		for (size_t i = 0; i < prev_state->n_keys; i++)
			(void)ring_add_key(
				out, prev_state->keys[i].serial, prev_state->keys[i].type,
				prev_state->keys[i].description, prev_state->keys[i].source);
	}
	p->current[index] = prev;
	p->failed[index] = true;
	return r < 0 ? r : -EIO;
}

/* A kernel ring updated in place. */
static int build_in_place(struct pass *p, size_t index, const struct keyd_policy_ring *ring,
			  keyd_serial_t serial, struct prov_ring *out)
{
	const struct prov_ring *prev = state_ring(p->previous, ring->name);
	char entry[128];
	struct fill f = {
		.p = p,
		.ring = ring,
		.out = out,
		.target = serial,
		.ring_entry = ring_entry(ring, entry, sizeof(entry)),
	};
	int r;

	out->serial = serial;
	r = fill_ring(&f, index);
	if (r < 0) {
		/* What was updated stays (each key is complete); nothing is removed. */
		problem(p, entry, r, "not fully provisioned: the TPM is needed for its PSKs and "
			"cannot be used (see 'tpm'); the keys already in '%s' stay",
			ring->description);
		p->failed[index] = true;
		out->kept_previous = true;
		p->current[index] = serial;
		return r;
	}
	/* Keys keyd added in the last pass that the policy no longer selects. */
	for (size_t i = 0; prev && prev->kernel && prev->serial == serial && i < prev->n_keys;
	     i++) {
		bool still = false;

		for (size_t j = 0; j < out->n_keys && !still; j++)
			still = out->keys[j].serial == prev->keys[i].serial;
		if (!still)
			(void)keyd_keyring_unlink(prev->keys[i].serial, serial);
	}
	if (ring->perm_set) {
		r = keyd_keyring_setperm(serial, ring->perm);
		if (r < 0)
			problem(p, entry, r, "cannot set the permissions of '%s': %s",
				ring->description, strerror(-r));
	}
	for (size_t i = 0; i < out->n_dests; i++) {
		char d[64];

		r = dest_link(p, &out->dests[i], serial);
		if (r < 0) {
			dest_format(&out->dests[i], d, sizeof(d));
			problem(p, entry, r, "cannot link '%s' into %s: %s", ring->description, d,
				strerror(-r));
		}
	}
	out->ok = true;
	p->current[index] = serial;
	return 0;
}

static int build_ring(struct pass *p, size_t index, struct prov_ring *out)
{
	const struct keyd_policy_ring *ring = keyd_policy_ring(p->policy, index);
	_cleanup_free_ char *sub_desc = NULL;
	const char *why;
	char entry[128];
	keyd_serial_t serial;
	bool nvme;
	int r;

	out->name = strdup(ring->name);
	out->seal = ring->seal;
	if (!out->name || ring_dests(ring, out) < 0)
		return -ENOMEM;
	ring_entry(ring, entry, sizeof(entry));
	if (!ring->kernel) {
		out->description = strdup(ring->description);
		if (!out->description)
			return -ENOMEM;
		return build_generation(p, index, ring, ring->description, false, out);
	}

	r = keyd_keyring_find_by_name(ring->description, &serial);
	if (r >= 0) {
		/* Possess the kernel ring for the pass: setting the mask and timeout of the
		 * keys keyd adds needs setattr, which the kernel grants .nvme's possessor only
		 * (in an initramfs, or under KeyringMode=private, keyd possesses nothing else).
		 * The staging ring is cleared at the end of the pass. */
		(void)keyd_keyring_link(serial, p->staging);
		out->kernel = true;
		out->description = strdup(ring->description);
		if (!out->description)
			return -ENOMEM;
		return build_in_place(p, index, ring, serial, out);
	}
	/* Name the missing kernel support: for .nvme it is one module. */
	nvme = streq(ring->description, ".nvme");
	why = nvme ? " (the nvme-keyring module is not loaded, or the kernel is older than 6.7)"
		   : "";
	if (ring->if_absent == KEYD_POLICY_ABSENT_FAIL || r != -ENOKEY) {
		out->description = strdup(ring->description);
		p->failed[index] = true;
		if (r == -ENOKEY)
			problem(p, entry, r, "the kernel has no keyring '%s'%s; %sset 'if-absent = "
				"create' to use a keyd keyring instead", ring->description, why,
				nvme ? "run 'modprobe nvme-keyring', or " : "");
		else
			problem(p, entry, r, "cannot look for the kernel keyring '%s': %s",
				ring->description, strerror(-r));
		return out->description ? r : -ENOMEM;
	}
	if (asprintf(&sub_desc, "keyd:%s", ring->name) < 0) {
		sub_desc = NULL;
		return -ENOMEM;
	}
	out->description = strdup(sub_desc);
	if (!out->description)
		return -ENOMEM;
	warning(p, entry, "the kernel has no keyring '%s'%s: as 'if-absent = create' says, keyd "
		"uses its own keyring '%s' instead%s. The kernel's own consumers (nvme-tcp) do not "
		"look there; %sset 'if-absent = fail' to refuse", ring->description, why, sub_desc,
		psk_type_known(p) ? "" : ", with the PSKs as 'user' keys because the kernel has no "
					 "'psk' key type either",
		nvme ? "load nvme-keyring (modprobe nvme-keyring) for in-kernel NVMe/TLS, or "
		     : "");
	return build_generation(p, index, ring, sub_desc, true, out);
}

/* ---- the pass ------------------------------------------------------------------------- */

int keyd_provision_run(keyd_store *store, keyd_tpm *tpm, const keyd_policy *policy,
		       const keyd_provision_state *previous, keyd_provision_state **ret_state)
{
	_cleanup_(state_freep) keyd_provision_state *state = NULL;
	size_t n = keyd_policy_ring_count(policy);
	struct pass p = {
		.store = store,
		.tpm = tpm,
		.policy = policy,
		.previous = previous,
		.psk_type = -1,
		.tpm_start = tpm ? keyd_tpm_command_count(tpm) : 0,
	};
	bool partial;
	int r;

	if (!store || !policy || !ret_state)
		return -EINVAL;
	state = calloc(1, sizeof(*state));
	if (!state)
		return -ENOMEM;
	p.state = state;
	state->rings = calloc(n ?: 1, sizeof(*state->rings));
	p.current = calloc(n ?: 1, sizeof(*p.current));
	p.failed = calloc(n ?: 1, sizeof(*p.failed));
	if (!state->rings || !p.current || !p.failed) {
		r = -ENOMEM;
		goto out;
	}

	if (tpm)
		keyd_tpm_unseal_batch_begin(tpm);
	r = keyd_keyring_new(STAGING_DESCRIPTION, KEYD_KEYRING_PROCESS, &p.staging);
	if (r < 0) {
		problem(&p, "staging", r, "cannot create keyd's staging keyring in the process "
			"keyring: %s", strerror(-r));
		goto out;
	}

	for (size_t i = 0; i < n; i++) {
		size_t index = keyd_policy_ring_order(policy, i);

		state->n_rings++;
		r = build_ring(&p, index, &state->rings[state->n_rings - 1]);
		if (r == -ENOMEM)
			goto out;
	}
	r = 0;
out:
	cache_wipe(&p);
	strv_free(p.psk_ids);
	if (p.staging) {
		/* Invalidate while it is still possessed (through the process keyring). */
		(void)keyd_keyring_clear(p.staging);
		(void)keyd_keyring_invalidate(p.staging);
		(void)keyd_keyring_unlink(p.staging, KEYD_KEYRING_PROCESS);
	}
	free(p.current);
	free(p.failed);
	if (tpm)
		keyd_tpm_unseal_batch_end(tpm); /* flushes the pass's sessions */
	if (tpm)
		state->tpm_commands = keyd_tpm_command_count(tpm) - p.tpm_start;
	partial = state->n_problems > 0;
	*ret_state = TAKE_PTR(state);
	if (r < 0)
		return r;
	return partial ? KEYD_PROVISION_PARTIAL : KEYD_PROVISION_OK;
}

/* ---- reporting ----------------------------------------------------------------------- */

static int lines_strv(const struct prov_line *l, size_t n, char ***ret)
{
	char **v = calloc(n + 1, sizeof(char *));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (asprintf(&v[i], "%s: %s", l[i].entry, l[i].message) < 0) {
			v[i] = NULL;
			strv_free(v);
			return -ENOMEM;
		}
	*ret = v;
	return 0;
}

int keyd_provision_state_problems(const keyd_provision_state *s, char ***ret_lines)
{
	return lines_strv(s ? s->problems : NULL, s ? s->n_problems : 0, ret_lines);
}

int keyd_provision_state_warnings(const keyd_provision_state *s, char ***ret_lines)
{
	return lines_strv(s ? s->warnings : NULL, s ? s->n_warnings : 0, ret_lines);
}

int keyd_provision_state_tpm_error(const keyd_provision_state *s)
{
	return s ? s->tpm_error : 0;
}

unsigned keyd_provision_state_tpm_commands(const keyd_provision_state *s)
{
	return s ? s->tpm_commands : 0;
}

unsigned keyd_provision_state_unsealed(const keyd_provision_state *s)
{
	return s ? s->unsealed : 0;
}

size_t keyd_provision_state_rings_ok(const keyd_provision_state *s)
{
	size_t n = 0;

	for (size_t i = 0; s && i < s->n_rings; i++)
		n += s->rings[i].ok;
	return n;
}

size_t keyd_provision_state_rings_failed(const keyd_provision_state *s)
{
	return s ? s->n_rings - keyd_provision_state_rings_ok(s) : 0;
}

void keyd_provision_state_print(const keyd_provision_state *s, FILE *f)
{
	for (size_t i = 0; s && i < s->n_rings; i++) {
		const struct prov_ring *r = &s->rings[i];
		char links[256] = "";
		size_t n = 0;

		for (size_t d = 0; d < r->n_dests && n < sizeof(links); d++) {
			char buf[64];
			int w;

			dest_format(&r->dests[d], buf, sizeof(buf));
			w = snprintf(links + n, sizeof(links) - n, "%s%s", d ? ", " : "", buf);
			if (w < 0)
				break;
			n += (size_t)w;
		}
		fprintf(f, "keyring %s: '%s' serial %d generation %u %s%s: %s%s%s\n", r->name,
			r->description ?: "", r->serial, r->generation,
			r->kernel ? "kernel" : keyd_policy_seal_to_string(r->seal),
			r->substitute ? " (keyd's stand-in for a missing kernel keyring)" : "",
			r->ok ? "provisioned" : r->kept_previous ? "kept the previous generation"
								 : "not provisioned",
			links[0] ? ", linked in " : "", links);
		for (size_t k = 0; k < r->n_keys; k++)
			fprintf(f, "  %-10s %11d '%s' (%s)\n", r->keys[k].type, r->keys[k].serial,
				r->keys[k].description, r->keys[k].source);
	}
}

/* Stable names for the errors a problem can carry: what a script matches on.
 * strerror()'s words fit a shell, not these cases ("Stale file handle" for a PCR
 * mismatch). */
static const char *error_name(int error)
{
	switch (-error) {
	case ESTALE:
		return "pcr-mismatch";
	case EACCES:
		return "access-denied";
	case EPERM:
		return "not-permitted";
	case ENOENT:
		return "not-found";
	case ENOKEY:
		return "no-key";
	case ENODEV:
		return "not-supported-by-kernel-or-no-tpm";
	case EXDEV:
		return "srk-mismatch";
	case EBUSY:
		return "tpm-busy-or-lockout";
	case EBADMSG:
		return "damaged";
	case EKEYREJECTED:
		return "rejected";
	case EOPNOTSUPP:
		return "not-supported";
	case ENOMEM:
		return "out-of-memory";
	default:
		return "failed";
	}
}

static void lines_json(struct keyd_json *j, const char *key, const struct prov_line *l, size_t n)
{
	keyd_json_key(j, key);
	keyd_json_begin_array(j);
	for (size_t i = 0; i < n; i++) {
		keyd_json_begin_object(j);
		keyd_json_kv_string(j, "entry", l[i].entry);
		if (l[i].error) {
			keyd_json_kv_string(j, "error", error_name(l[i].error));
			keyd_json_kv_int(j, "errno", -l[i].error);
		}
		keyd_json_kv_string(j, "message", l[i].message);
		keyd_json_end_object(j);
	}
	keyd_json_end_array(j);
}

void keyd_provision_state_to_json(const keyd_provision_state *s, struct keyd_json *j)
{
	keyd_json_begin_object(j);
	keyd_json_kv_string(j, "result", !s ? "failed"
					 : s->n_problems ? "partial"
							 : "ok");
	keyd_json_key(j, "rings");
	keyd_json_begin_array(j);
	for (size_t i = 0; s && i < s->n_rings; i++) {
		const struct prov_ring *r = &s->rings[i];

		keyd_json_begin_object(j);
		keyd_json_kv_string(j, "name", r->name);
		keyd_json_kv_string(j, "description", r->description);
		keyd_json_kv_int(j, "serial", r->serial);
		keyd_json_kv_uint(j, "generation", r->generation);
		keyd_json_kv_string(j, "seal",
				    r->kernel ? "kernel" : keyd_policy_seal_to_string(r->seal));
		keyd_json_kv_bool(j, "kernel", r->kernel);
		keyd_json_kv_bool(j, "substitute", r->substitute);
		keyd_json_kv_string(j, "status", r->ok ? "provisioned"
						  : r->kept_previous ? "kept-previous"
								     : "failed");
		keyd_json_key(j, "links");
		keyd_json_begin_array(j);
		for (size_t d = 0; d < r->n_dests; d++) {
			char buf[64];

			dest_format(&r->dests[d], buf, sizeof(buf));
			keyd_json_string(j, buf);
		}
		keyd_json_end_array(j);
		keyd_json_key(j, "keys");
		keyd_json_begin_array(j);
		for (size_t k = 0; k < r->n_keys; k++) {
			keyd_json_begin_object(j);
			keyd_json_kv_int(j, "serial", r->keys[k].serial);
			keyd_json_kv_string(j, "type", r->keys[k].type);
			keyd_json_kv_string(j, "description", r->keys[k].description);
			keyd_json_kv_string(j, "source", r->keys[k].source);
			keyd_json_end_object(j);
		}
		keyd_json_end_array(j);
		keyd_json_end_object(j);
	}
	keyd_json_end_array(j);
	lines_json(j, "problems", s ? s->problems : NULL, s ? s->n_problems : 0);
	lines_json(j, "warnings", s ? s->warnings : NULL, s ? s->n_warnings : 0);
	keyd_json_kv_uint(j, "tpm_commands", s ? s->tpm_commands : 0);
	keyd_json_kv_uint(j, "unsealed", s ? s->unsealed : 0);
	keyd_json_end_object(j);
}
