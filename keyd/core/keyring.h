/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel keyrings: the only module that calls add_key()/keyctl() (through
 * libkeyutils). Everything returns >= 0 on success and -errno on failure, with
 * the kernel's errno passed through unchanged so callers can explain it
 * (keyd_keyring_add_error_reason()).
 *
 * Facts behind the API are in shared/reference/keyrings.md and handshake.md:
 *  - add_key("keyring", name, ..., dest) always makes a NEW keyring and displaces
 *    a same-named keyring already linked in dest. Linking works the same way:
 *    keyd_keyring_link() of a new generation "foo" into dest replaces the old
 *    "foo" link in one step. Build a generation in a private staging keyring,
 *    seal it, then link it into place.
 *  - KEYCTL_RESTRICT_KEYRING with no type closes a keyring (EPERM on add/link,
 *    even for root) but does not stop unlink/clear: also drop the write bit.
 *  - root has no override on key permissions: it sees and changes only what the
 *    masks grant its fsuid, or what it possesses.
 *
 * Payloads that may hold key material are never copied into a buffer that is
 * not wiped: reads return a struct keyd_secret (explicit_bzero on free) and
 * intermediate buffers are erased on every path.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* A key serial number (the kernel's key_serial_t). */
typedef int32_t keyd_serial_t;

/* Special keyring ids (include/uapi/linux/keyctl.h, a stable kernel ABI). */
#define KEYD_KEYRING_THREAD ((keyd_serial_t)-1)
#define KEYD_KEYRING_PROCESS ((keyd_serial_t)-2)
#define KEYD_KEYRING_SESSION ((keyd_serial_t)-3)
#define KEYD_KEYRING_USER ((keyd_serial_t)-4) /* the CALLER's user keyring only */
#define KEYD_KEYRING_USER_SESSION ((keyd_serial_t)-5)
#define KEYD_KEYRING_REQKEY_AUTH ((keyd_serial_t)-7) /* the assumed authorisation key */
#define KEYD_KEYRING_REQUESTOR ((keyd_serial_t)-8)  /* the requestor's destination keyring */

/* Permission bits (include/linux/key.h). A mask is four bytes:
 * possessor << 24 | user << 16 | group << 8 | other. */
#define KEYD_PERM_VIEW 0x01u
#define KEYD_PERM_READ 0x02u
#define KEYD_PERM_WRITE 0x04u
#define KEYD_PERM_SEARCH 0x08u
#define KEYD_PERM_LINK 0x10u
#define KEYD_PERM_SETATTR 0x20u
#define KEYD_PERM_ALL 0x3fu
#define KEYD_PERM_POSSESSOR(bits) ((uint32_t)(bits) << 24)
#define KEYD_PERM_USER(bits) ((uint32_t)(bits) << 16)
#define KEYD_PERM_GROUP(bits) ((uint32_t)(bits) << 8)
#define KEYD_PERM_OTHER(bits) ((uint32_t)(bits))

/* Kernel limits (security/keys): description 4095 bytes, user/logon/psk payload
 * 32767 bytes; any add_key payload below 1 MiB. */
#define KEYD_KEYRING_DESC_MAX 4095
#define KEYD_KEYRING_TYPE_MAX 31
#define KEYD_KEYRING_USER_PAYLOAD_MAX 32767
#define KEYD_KEYRING_PAYLOAD_MAX (1024 * 1024 - 1)
/* keyd_keyring_list(): more links than this in one keyring is refused. */
#define KEYD_KEYRING_LIST_MAX 65536

/* ---- names and lookups ------------------------------------------------------------ */

/* Create a keyring called name and link it into dest (which must grant write).
 * The new keyring displaces a same-named keyring linked in dest (see above). */
int keyd_keyring_new(const char *name, keyd_serial_t dest, keyd_serial_t *ret);

/* Find an existing keyring by name anywhere the caller may view, e.g. the
 * kernel's ".nvme" (what keyctl writes as %:.nvme): first a search of the
 * caller's keyrings, then /proc/keys (parsed by keyd, each candidate confirmed by KEYCTL_DESCRIBE).
 * -ENOKEY when there is none (for .nvme: the nvme-keyring module is not loaded).
 * Without a mounted /proc (early boot before mount), only the first step runs. */
int keyd_keyring_find_by_name(const char *name, keyd_serial_t *ret);

/* KEYCTL_SEARCH: a key of type with exactly this description, searched
 * recursively from ring (needs search permission along the way). -ENOKEY. */
int keyd_keyring_search(keyd_serial_t ring, const char *type, const char *description,
			keyd_serial_t *ret);

/* Resolve a special id (KEYD_KEYRING_*) to its serial; create asks the kernel to
 * make a missing thread/process/session keyring. -ENOKEY if absent. */
int keyd_keyring_resolve(keyd_serial_t special, bool create, keyd_serial_t *ret);

/* Join (creating if needed) a session keyring named name; NULL = a new anonymous
 * one. Used by tests and by programs that need a private session. */
int keyd_keyring_join_session(const char *name, keyd_serial_t *ret);

/* ---- adding keys ------------------------------------------------------------------ */

/* Generic add_key(type, description, payload, ring). Updates a same-described key
 * of an updatable type (user, psk) in place. The caller owns and wipes payload. */
int keyd_keyring_add(const char *type, const char *description, const void *payload,
		     size_t len, keyd_serial_t ring, keyd_serial_t *ret);

/* A "user" key: readable payload of 1..32767 bytes (DER certificates and keys for
 * tlshd-style consumers). */
int keyd_keyring_add_user(keyd_serial_t ring, const char *description, const void *payload,
			  size_t len, keyd_serial_t *ret);

/* An "asymmetric" key from one DER X.509 certificate, parsed by the kernel.
 * description NULL or "" lets the kernel name it "<CN>: <subject key id>".
 * On failure ret_reason (may be NULL) receives keyd_keyring_add_error_reason():
 * -ENOENT/-ENOPKG the kernel lacks the public-key algorithm (ECDSA on kernels
 * without CRYPTO_ECDSA), -EBADMSG it cannot parse the DER, -EKEYREJECTED/-ENOKEY
 * a chain restriction refused it, -EPERM the keyring is closed. */
int keyd_keyring_add_asymmetric(keyd_serial_t ring, const char *description, const void *der,
				size_t len, keyd_serial_t *ret, char *ret_reason,
				size_t reason_size);

/* A "psk" key (nvme-keyring, kernel 6.7+): description = the TLS PSK identity,
 * payload = the TLS PSK (32 or 48 bytes). -ENODEV when the kernel has no psk type
 * (no nvme-keyring): never substituted silently with another type. */
int keyd_keyring_add_psk(keyd_serial_t ring, const char *identity, const void *psk, size_t len,
			 keyd_serial_t *ret);

/* 1 if the kernel knows key type (e.g. "psk"), 0 if not, -errno if it cannot
 * tell. Probes with an add_key of an empty payload into the caller's user
 * keyring, which every type refuses before creating anything (EINVAL) and an
 * unknown type fails with ENODEV. Creates no key (the kernel may create the
 * caller's user keyring, as it does on first use anyway). */
int keyd_keyring_has_type(const char *type);

/* A short sentence for an add_key() failure of a key of type, for messages:
 * "the kernel cannot parse this certificate (no ECDSA support?)". Never NULL. */
const char *keyd_keyring_add_error_reason(const char *type, int error);

/* ---- links, attributes, sealing ----------------------------------------------------- */

int keyd_keyring_link(keyd_serial_t key, keyd_serial_t ring);
int keyd_keyring_unlink(keyd_serial_t key, keyd_serial_t ring);
/* KEYCTL_MOVE (5.3+): unlink from one keyring and link into another in one step;
 * exclusive fails with -EEXIST instead of displacing a same-named key in to. */
int keyd_keyring_move(keyd_serial_t key, keyd_serial_t from, keyd_serial_t to, bool exclusive);
int keyd_keyring_setperm(keyd_serial_t key, uint32_t perm);
/* Expire the key after seconds; 0 clears a timeout. */
int keyd_keyring_set_timeout(keyd_serial_t key, unsigned seconds);
/* Remove all links from a keyring. */
int keyd_keyring_clear(keyd_serial_t ring);

/* KEYCTL_RESTRICT_KEYRING with no type: nothing more can be added or linked
 * (EPERM for everyone, root included). Irreversible. Pair with a setperm that
 * drops write, or unlink/clear remain possible. */
int keyd_keyring_restrict_closed(keyd_serial_t ring);
/* Only "asymmetric" certificates signed by a key in ca_ring, or by one already in
 * ring, can be added or linked ("key_or_keyring:<ca_ring>:chain"); the kernel
 * verifies the signature at link time. Irreversible. */
int keyd_keyring_restrict_chain(keyd_serial_t ring, keyd_serial_t ca_ring);
/* The general form: type NULL closes; otherwise the restriction string as the
 * kernel documents it for that type. */
int keyd_keyring_restrict(keyd_serial_t ring, const char *type, const char *restriction);

/* Invalidate (every access fails with ENOKEY at once; the kernel's garbage
 * collector unlinks it from all keyrings shortly after) or revoke (it stays
 * linked but every access fails with EKEYREVOKED). */
int keyd_keyring_invalidate(keyd_serial_t key);
int keyd_keyring_revoke(keyd_serial_t key);

/* ---- inspection ------------------------------------------------------------------- */

struct keyd_keyring_info {
	char type[KEYD_KEYRING_TYPE_MAX + 1];
	uid_t uid;
	gid_t gid;
	uint32_t perm;
	char description[KEYD_KEYRING_DESC_MAX + 1];
};
/* KEYCTL_DESCRIBE, parsed strictly ("type;uid;gid;perm;description"). */
int keyd_keyring_describe(keyd_serial_t key, struct keyd_keyring_info *ret);

/* Read a key's payload (at most max bytes, else -EFBIG) into ret, which the
 * caller wipes with keyd_secret_wipe() (or _cleanup_secret_). -EOPNOTSUPP for
 * types without a read operation (asymmetric, logon). */
int keyd_keyring_read(keyd_serial_t key, size_t max, struct keyd_secret *ret);

/* The serials linked in ring, in the kernel's order. At most max entries (and at
 * most KEYD_KEYRING_LIST_MAX), else -EFBIG. The caller frees *ret. */
int keyd_keyring_list(keyd_serial_t ring, size_t max, keyd_serial_t **ret, size_t *ret_count);

/* ---- keys the kernel signs with (KEYCTL_PKEY_*, Linux 4.20+) ------------------------ */

/* What KEYCTL_PKEY_QUERY says about an asymmetric key for the operation info
 * ("enc=x962 hash=sha256", see kernel-key.h; NULL or "" for the key's default). */
struct keyd_keyring_pkey {
	unsigned key_bits;  /* key size in bits */
	bool can_sign;      /* KEYCTL_SUPPORTS_SIGN */
	size_t max_data;    /* largest input to sign (a digest) */
	size_t max_sig;     /* largest signature */
};
/* -EOPNOTSUPP when the key's type or subtype has no such operation (a user key, an
 * X.509 certificate's public key for sign). */
int keyd_keyring_pkey_query(keyd_serial_t key, const char *info, struct keyd_keyring_pkey *ret);
/* KEYCTL_PKEY_SIGN: sign data (a digest, for the TPM2 subtype) as info says, into
 * sig (size bytes); *ret_len is the signature's length. The key needs search
 * permission for the caller (possessed or granted to its uid). Two syscalls: the
 * kernel wants the output length to be at most the key's max_sig_size, which a
 * KEYCTL_PKEY_QUERY with the same info gives. -EMSGSIZE when sig is smaller than
 * that, -EOPNOTSUPP when the key cannot sign. */
int keyd_keyring_pkey_sign(keyd_serial_t key, const char *info, const void *data, size_t len,
			   void *sig, size_t size, size_t *ret_len);

/* ---- per-uid keyrings --------------------------------------------------------------- */

/* The persistent keyring of uid (KEYCTL_GET_PERSISTENT; (uid_t)-1 = the caller),
 * linked into dest, which the kernel requires. Another uid needs CAP_SETUID.
 * -EOPNOTSUPP without CONFIG_PERSISTENT_KEYRINGS. */
int keyd_keyring_get_persistent(uid_t uid, keyd_serial_t dest, keyd_serial_t *ret);

/* The user keyring "_uid.<uid>" of ANOTHER uid. KEY_SPEC_USER_KEYRING names the
 * caller's own only, and root has no permission override: the kernel creates
 * _uid.N owned by N with possessor and user permissions only, so root can neither
 * describe nor link into it by serial (EACCES), and /proc/keys does not show it.
 * What works (checked here on 6.18): a child process that sets only its real
 * uid to N (setresuid(N, -1, -1); euid stays 0, so it keeps root's access to
 * root's keys) reaches the keyring as KEY_SPEC_USER_KEYRING, which the kernel
 * treats as possessed, creating it if needed. These functions fork such a child
 * for the one operation (the caller must have CAP_SETUID; for uid == getuid()
 * they act directly). key must be linkable by root (owner or possessor). */
int keyd_keyring_user_link(uid_t uid, keyd_serial_t key);
int keyd_keyring_user_unlink(uid_t uid, keyd_serial_t key);
/* The serial of _uid.<uid> (created if missing), for display: the caller cannot
 * use it for much else (see above). */
int keyd_keyring_user_id(uid_t uid, keyd_serial_t *ret);

/* ---- request-key helper ------------------------------------------------------------- */

/* Assume the authority to instantiate key (the %k of the upcall); 0 drops it.
 * Afterwards KEYD_KEYRING_REQKEY_AUTH reads the callout data with
 * keyd_keyring_read() and KEYD_KEYRING_REQUESTOR names the destination. */
int keyd_keyring_assume_authority(keyd_serial_t key);
/* Instantiate key with payload (the caller wipes it), linked into ring (0: none). */
int keyd_keyring_instantiate(keyd_serial_t key, const void *payload, size_t len,
			     keyd_serial_t ring);
/* Negative instantiation: lookups fail with ENOKEY (negate) or error (reject) for
 * timeout seconds. Every helper path must end in instantiate, negate or reject. */
int keyd_keyring_negate(keyd_serial_t key, unsigned timeout, keyd_serial_t ring);
int keyd_keyring_reject(keyd_serial_t key, unsigned timeout, int error, keyd_serial_t ring);
