/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The TPM 2.0 core. tpm.c (with tpm-session.c, its sessions computed by keyd) is
 * the only file that includes tss2 headers.
 *
 * Objects cross this interface as marshalled TPM2B_PUBLIC / TPM2B_PRIVATE byte
 * strings (each including its 2-byte size prefix), exactly the bytes a
 * TSS2 PRIVATE KEY file stores (tss2key.h), so callers never see TSS types.
 *
 * Every operation loads what it needs, uses it and flushes it: no transient
 * object or session is left in the TPM when a function returns, on success or
 * failure. Commands that carry a secret (Create of sealed data, Unseal, Sign)
 * run in a salted HMAC or policy session bound to the SRK with AES-128-CFB
 * parameter encryption.
 *
 * Errors: functions return -errno; keyd_tpm_last_error() then gives one line
 * naming the cause and the remedy (no secret in it). The errno values are fixed
 * so programs can map them to exit codes:
 *   -ENODEV      no TPM at the TCTI (or TCTI library missing)
 *   -ESTALE      the PCR state differs from the policy a secret was sealed to
 *   -EXDEV       the SRK at 0x81000001 is not the pinned one (another TPM / cleared)
 *   -EACCES      wrong auth value (PIN)
 *   -EBUSY       dictionary-attack lockout (or TPM busy/retry exhausted)
 *   -ENOSPC      TPM out of object memory
 *   -EOPNOTSUPP  algorithm, curve or bank not supported by this TPM
 *   -EBADMSG     a blob that the TPM rejects as malformed or not ours (integrity)
 *   -EINVAL      bad argument
 *   -EIO         any other TPM failure (the decoded TSS code is in the message)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyalg.h"
#include "macro.h"

#define KEYD_TPM_SRK_HANDLE 0x81000001u
#define KEYD_TPM_OWNER_HIERARCHY 0x40000001u
#define KEYD_TPM_DEFAULT_TCTI "device:/dev/tpmrm0"
#define KEYD_TPM_NAME_MAX 68      /* TPM2B_NAME buffer */
#define KEYD_TPM_SEAL_MAX 128     /* largest secret keyd seals */
#define KEYD_TPM_BLOB_MAX 4096    /* marshalled TPM2B_PUBLIC / TPM2B_PRIVATE */
#define KEYD_TPM_PCR_MAX 24

typedef struct keyd_tpm keyd_tpm;

/* Connect. tcti NULL -> $KEYD_TCTI -> KEYD_TPM_DEFAULT_TCTI. Cheap: no TPM
 * command is sent until one is needed. On -ENODEV *ret is still set to a handle
 * whose keyd_tpm_last_error() says which TCTI failed and what to check; every
 * other call on it fails with -ENODEV; close it as usual. */
int keyd_tpm_open(const char *tcti, keyd_tpm **ret);
keyd_tpm *keyd_tpm_close(keyd_tpm *t); /* accepts NULL, returns NULL */
/* Message for the last failure on t (never NULL; "" if none). */
const char *keyd_tpm_last_error(const keyd_tpm *t);
/* Number of TPM commands sent on this connection (for benchmarks and tests). */
unsigned keyd_tpm_command_count(const keyd_tpm *t);

struct keyd_tpm_info {
	char manufacturer[8];       /* e.g. "IBM", "INTC" */
	char vendor[32];            /* vendor strings concatenated */
	uint32_t spec_level, spec_revision, spec_year;
	uint64_t firmware_version;
	bool alg_rsa, alg_ecc, alg_aes, alg_sha1, alg_sha256, alg_sha384, alg_sha512;
	bool curve_p256, curve_p384, curve_p521;
	bool rsa2048, rsa3072;      /* as far as the TPM advertises key sizes */
	uint32_t pcr_banks_mask;    /* bit per enum keyd_hash_alg with >=1 PCR allocated; bit 3 = sha1 */
	uint32_t pcr_allocated[4];  /* per bank, indexed like pcr_banks_mask: bit i = PCR i */
	bool srk_present;
	char srk_name_hex[2 * KEYD_TPM_NAME_MAX + 1]; /* "" if absent */
	bool lockout;               /* dictionary-attack lockout in force */
};
int keyd_tpm_get_info(keyd_tpm *t, struct keyd_tpm_info *ret);

/* The storage root key at KEYD_TPM_SRK_HANDLE. ensure: use if present, otherwise
 * CreatePrimary (ECC P-256 restricted decryption, noDA, the TCG template) and
 * EvictControl once; never replaces an existing object. ret_created says which.
 * The name (TPM2B_NAME bytes, without size) identifies the SRK for pinning. */
int keyd_tpm_srk_ensure(keyd_tpm *t, bool *ret_created, uint8_t *ret_name, size_t *ret_name_len);
/* Pin: every later operation on t refuses an SRK whose name differs (-EXDEV).
 * Checks at once (one ReadPublic per connection): -EXDEV when the SRK is absent
 * or differs. */
int keyd_tpm_srk_pin(keyd_tpm *t, const uint8_t *name, size_t name_len);
/* Look the SRK up without creating it: *ret_present, and its name when present.
 * Does not check the pin (for reports such as keyd-ctl tpm info). */
int keyd_tpm_srk_lookup(keyd_tpm *t, bool *ret_present, uint8_t *ret_name, size_t *ret_name_len);

/* A loadable object (key or sealed data) as stored in a TSS2 file. */
struct keyd_tpm_blob {
	uint8_t pub[KEYD_TPM_BLOB_MAX];
	size_t pub_len;
	uint8_t priv[KEYD_TPM_BLOB_MAX];
	size_t priv_len;
	uint32_t parent; /* KEYD_TPM_SRK_HANDLE, or KEYD_TPM_OWNER_HIERARCHY for keys made by
	                  * tools that create their parent from the standard template */
};

/* Create a signing key under the SRK: sign attribute, not restricted, scheme NULL
 * (any scheme chosen per signature), fixedTPM, fixedParent, userWithAuth, empty auth,
 * noDA. */
int keyd_tpm_key_create(keyd_tpm *t, enum keyd_key_alg alg, struct keyd_tpm_blob *ret);
/* Decode the public area of a key (no TPM command). -EOPNOTSUPP for a key that is
 * not one of keyd's algorithms or cannot sign. */
int keyd_tpm_key_public(const struct keyd_tpm_blob *b, struct keyd_pubkey *ret);
/* The public area keyd creates for a key of pk->alg with pk's public value, as a
 * marshalled TPM2B_PUBLIC in ret->pub (priv_len 0). For tests and tools; no TPM. */
int keyd_tpm_key_public_encode(const struct keyd_pubkey *pk, struct keyd_tpm_blob *ret);
/* Check a foreign key: loads it under its parent and flushes it. */
int keyd_tpm_key_check(keyd_tpm *t, const struct keyd_tpm_blob *b);
/* Sign a digest (its length must match hash). ECDSA returns a DER ECDSA-Sig-Value,
 * RSA the raw signature of modulus size. *ret is malloc'ed. */
int keyd_tpm_sign(keyd_tpm *t, const struct keyd_tpm_blob *key, enum keyd_sig_scheme scheme,
		  enum keyd_hash_alg hash, const uint8_t *digest, size_t digest_len,
		  uint8_t **ret_sig, size_t *ret_sig_len);

/* A key kept ready for repeated signing (the daemon's signing service): the
 * blob, its public part, the TPM's saved context of the loaded key and, during a
 * burst of signatures, the loaded key itself, so a signature costs one TPM2_Sign
 * while the key is loaded, ContextLoad and Sign after keyd_tpm_held_key_unload(),
 * and Load, ContextSave and Sign the first time (never a CreatePrimary). The
 * saved context lives in this process and is valid until the TPM resets, after
 * which keyd_tpm_sign_held() loads the blob again by itself. Holds no secret
 * (the TPM encrypts the context). */
typedef struct keyd_tpm_held_key keyd_tpm_held_key;
/* Copy b, decode its public part and compute its Name (no TPM command):
 * -EOPNOTSUPP as keyd_tpm_key_public() or for a name algorithm other than SHA-256.
 * Free with keyd_tpm_held_key_free(), which unloads it first: free or unload held
 * keys before closing the keyd_tpm they were loaded through (a TPM without a
 * resource manager keeps an object loaded after its client disconnects). */
int keyd_tpm_held_key_new(const struct keyd_tpm_blob *b, keyd_tpm_held_key **ret);
keyd_tpm_held_key *keyd_tpm_held_key_free(keyd_tpm_held_key *h); /* accepts NULL */
/* Whether h was made from exactly the blob b (to notice a re-enrolled key). */
bool keyd_tpm_held_key_is(const keyd_tpm_held_key *h, const struct keyd_tpm_blob *b);
const struct keyd_pubkey *keyd_tpm_held_key_public(const keyd_tpm_held_key *h);
const struct keyd_tpm_blob *keyd_tpm_held_key_blob(const keyd_tpm_held_key *h);
/* Load the key and save its context now (Load, ContextSave, FlushContext: it is
 * not left loaded): optional, keyd_tpm_sign_held() does it on first use. */
int keyd_tpm_key_hold(keyd_tpm *t, keyd_tpm_held_key *h);
/* As keyd_tpm_sign() for a held key, which stays loaded in the TPM afterwards
 * (one of its object slots: the caller bounds how many and for how long, and
 * releases it with keyd_tpm_held_key_unload()). The salted HMAC session that
 * authorises the Sign (its HMAC covers the key's Name, so a handle that names
 * another object by now is refused, tpm.c sign_in_session()) is kept on t
 * (continueSession) for the next signature: keyd_tpm_close() flushes it. keyd
 * computes that session's HMACs and salt itself (tpm-session.h), not ESYS, whose
 * crypto costs milliseconds per command. A loaded key, saved context or session
 * the TPM no longer accepts (TPM reset) is replaced and the signature retried
 * once.
 * -ENOSPC: no free object slot in the TPM for the key. Steady state: 1 TPM
 * command (Sign). */
int keyd_tpm_sign_held(keyd_tpm *t, keyd_tpm_held_key *h, enum keyd_sig_scheme scheme,
		       enum keyd_hash_alg hash, const uint8_t *digest, size_t digest_len,
		       uint8_t **ret_sig, size_t *ret_sig_len);
/* Flush the key if keyd_tpm_sign_held() left it loaded (FlushContext, on the
 * connection it was loaded through); its saved context stays. Returns 1 when it
 * was loaded, 0 when not. Accepts NULL. */
int keyd_tpm_held_key_unload(keyd_tpm_held_key *h);
bool keyd_tpm_held_key_is_loaded(const keyd_tpm_held_key *h);
/* While loaded: its TPM handle (-ENOENT when not loaded), and its Name, to find
 * it again after this process is gone (keyd_tpm_flush_if_named()). */
int keyd_tpm_held_key_loaded_handle(const keyd_tpm_held_key *h, uint32_t *ret);
const uint8_t *keyd_tpm_held_key_name(const keyd_tpm_held_key *h, size_t *ret_len);
/* Flush the transient object at handle if its Name is name (ReadPublic, and
 * FlushContext when it matches): what a killed keyd left loaded on a TPM without
 * a resource manager. 1 flushed, 0 nothing there or another object (left as it
 * is), -errno (-ENODEV no TPM). */
int keyd_tpm_flush_if_named(keyd_tpm *t, uint32_t handle, const uint8_t *name, size_t len);

/* What a secret is sealed to. */
struct keyd_pcr_policy {
	enum keyd_hash_alg bank;      /* meaningful when mask != 0 */
	uint32_t mask;                /* bit i = PCR i; 0 = no PCR binding */
	bool pin;                     /* an auth value is also required */
	/* Values at sealing time, filled by keyd_tpm_seal(); used to name the PCRs that
	 * changed. Not secret. */
	uint8_t values[KEYD_TPM_PCR_MAX][64];
};

/* Policy in the form the TSS2 file records (draft-bottomley-tpm2-keys TPMPolicy):
 * a list of (command code, command parameters) steps, e.g. TPM2_PolicyPCR with
 * pcrDigest || TPML_PCR_SELECTION, TPM2_PolicyAuthValue with nothing. */
#define KEYD_TPM_POLICY_STEPS_MAX 4
struct keyd_tpm_policy_step {
	uint32_t command_code;
	uint8_t params[256];
	size_t params_len;
};

/* Seal up to KEYD_TPM_SEAL_MAX bytes under the SRK to the current values of the
 * PCRs in policy->mask (bank policy->bank) and, if policy->pin, to pin as auth
 * value. Fills policy->values, ret (a keyedHash object with the policy digest as
 * authPolicy, userWithAuth clear, noDA unless a PIN is set) and ret_steps for the file. */
int keyd_tpm_seal(keyd_tpm *t, const uint8_t *secret, size_t len, struct keyd_pcr_policy *policy,
		  const char *pin, struct keyd_tpm_blob *ret,
		  struct keyd_tpm_policy_step ret_steps[KEYD_TPM_POLICY_STEPS_MAX], size_t *ret_n_steps);

/* Unseal. The current PCR values are read and compared with the policy first;
 * on a difference nothing is sent to Unseal, -ESTALE is returned and
 * *ret_changed_mask (if not NULL) has a bit set for each PCR whose value differs
 * from policy->values. PCR_CHANGED during the session is retried a few times.
 * ret->data is malloc'ed secret memory (wipe with keyd_secret_wipe). */
int keyd_tpm_unseal(keyd_tpm *t, const struct keyd_tpm_blob *sealed,
		    const struct keyd_pcr_policy *policy, const char *pin,
		    struct keyd_secret *ret, uint32_t *ret_changed_mask);
/* A batch of unseals (a provisioning pass): between begin and end, keyd_tpm_unseal()
 * keeps the salted session that authorises Unseal open (continueSession), one HMAC
 * session for objects without a policy and one policy session for the others, instead
 * of starting one per object; the TPM resets a policy session after each command it
 * authorises with continueSession (TCG reference code, SessionProcess.c), so it
 * serves the next object as new. It also skips the PCR_Read before each Unseal: PolicyPCR
 * with the recorded digest is the TPM's own check of the current PCR state and comes
 * before Unseal; only when it fails are the PCRs read, to name those that changed
 * (-ESTALE with *ret_changed_mask as usual). A session is dropped (flushed) after any
 * failure it may have been changed by. Cost per object: Load, Unseal, FlushContext
 * (3), plus PolicyPCR with PCRs and PolicyAuthValue with a PIN; per batch and kind
 * used: StartAuthSession and the FlushContext at the end. The second exception to
 * "no session left when a function returns": end flushes what is kept, and so does
 * keyd_tpm_close(). begin on a batch already begun changes nothing. */
void keyd_tpm_unseal_batch_begin(keyd_tpm *t);
void keyd_tpm_unseal_batch_end(keyd_tpm *t);
/* Only the check part of keyd_tpm_unseal (PCR_Read and compare): 0 when the current
 * state satisfies the policy, -ESTALE with ret_changed_mask otherwise. */
int keyd_tpm_policy_check(keyd_tpm *t, const struct keyd_pcr_policy *policy,
			  uint32_t *ret_changed_mask);

/* Random bytes from the TPM (for generated PSKs): at most 64 per call. */
int keyd_tpm_random(keyd_tpm *t, uint8_t *buf, size_t len);

/* The PCRs allocated in a bank (bit i = PCR i; 0 when the bank is absent). */
int keyd_tpm_pcr_bank_mask(keyd_tpm *t, enum keyd_hash_alg bank, uint32_t *ret_mask);

/* Map a TSS2/TPM return code to the -errno above and write one line
 * "what: cause; remedy (TPM code 0x...: decoded)" into buf. Pure; for messages
 * and tests. */
int keyd_tpm_rc_describe(uint32_t rc, const char *what, char *buf, size_t size);

/* Format a PCR mask as "sha256:7,14" into buf. */
int keyd_pcr_policy_format(const struct keyd_pcr_policy *p, char *buf, size_t size);
/* Parse "sha256:7,14" (bank optional, default sha256; "" or "none" = no binding). */
int keyd_pcr_policy_parse(const char *s, struct keyd_pcr_policy *ret);
