/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The TPM 2.0 core: with tpm-session.c (the sessions keyd computes itself) the only
 * file that includes tss2 headers (ESYS, MU, RC, TCTI loader). See tpm.h for the
 * contract and shared/reference/tpm.md for the practice behind it.
 *
 * Resources: every function that loads an object or starts a session owns it in
 * a scope-bound struct tpm_tr, flushed when the scope ends, so no transient
 * object or session outlives a call, on success or failure; the exceptions are
 * the signing service's, which its caller bounds: a held key stays loaded after
 * keyd_tpm_sign_held() until keyd_tpm_held_key_unload(), and the Sign session is
 * kept until keyd_tpm_close(). Single-use sessions
 * are started with continueSession clear: the TPM ends them after the command
 * they authorise, which saves a FlushContext per operation on the boot path.
 *
 * Commands on the unseal path (PCR policy with PIN), after the SRK was looked
 * up once per connection (one ReadPublic):
 *   PCR_Read, Load, StartAuthSession, PolicyPCR, PolicyAuthValue, Unseal,
 *   FlushContext(object) = 7 (6 without a PIN; PCR_Read may repeat for more
 *   than 8 PCRs).
 * The policy digest is computed in software (TPM 2.0 Part 1, 19.7), so sealing
 * needs no trial session either.
 *
 * In an unseal batch (a provisioning pass, tpm.h) the session is kept and the
 * PCR_Read dropped: Load, Unseal, FlushContext per object (+ PolicyPCR,
 * + PolicyAuthValue), StartAuthSession and FlushContext once per batch and kind.
 *
 * The session of the hot path of provisioning, Unseal of an object without a
 * policy (kept in a batch, single-use otherwise), is tpm-session.c's: the same
 * salted, encrypted HMAC session, with its HMACs and parameter encryption
 * computed by keyd instead of ESYS, whose crypto backend (tpm2-tss 3.x) costs
 * milliseconds of CPU per command (tpm-session.h says why); such an object under
 * the SRK is loaded and flushed by tpm-session.c too. Policy sessions and the other
 * single-use sessions stay ESYS's. TPM2_Sign on a held key runs in a kept salted
 * HMAC session of tpm-session.c's too, without parameter encryption
 * (sign_in_session() says why).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "crypto.h"
#include "der.h"
#include "log.h"
#include "macro.h"
#include "parse.h"
#include "tpm-session.h"
#include "tpm.h"

#define TPM_ERROR_MAX 512
#define TPM_PCR_CHANGED_RETRIES 3
#define TPM_PIN_MAX 32 /* authValue is at most the nameAlg (SHA-256) digest size */

struct keyd_tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	char tcti_conf[256];
	char error[TPM_ERROR_MAX];
	unsigned commands;

	/* The SRK at KEYD_TPM_SRK_HANDLE, looked up once per connection. */
	bool srk_looked_up;
	ESYS_TR srk; /* ESYS_TR_NONE when absent */
	uint8_t srk_name[KEYD_TPM_NAME_MAX];
	size_t srk_name_len;
	/* Its public area, read when tpm-session.c first needs it to salt a session. */
	bool srk_pub_read;
	TPM2B_PUBLIC srk_pub;

	bool pinned;
	uint8_t pin_name[KEYD_TPM_NAME_MAX];
	size_t pin_name_len;

	/* Capabilities, read once per connection. */
	bool caps_loaded;
	TPML_ALG_PROPERTY algs;
	TPML_ECC_CURVE curves;
	TPML_PCR_SELECTION pcrs;

	/* The salted HMAC session that authorises keyd_tpm_sign_held(), kept with
	 * continueSession so a burst of signatures pays for one StartAuthSession
	 * (an ECDH with the SRK) instead of one each. Handle 0 until first use;
	 * flushed by keyd_tpm_close() or after any failure of a command it
	 * authorised. keyd computes its crypto (tpm-session.c). */
	struct tpm_session sign_session;

	/* keyd_tpm_unseal_batch_begin(): the salted sessions that authorise Unseal,
	 * kept with continueSession until keyd_tpm_unseal_batch_end(), one per kind
	 * (an HMAC session for objects without a policy, computed by keyd, and an
	 * ESYS policy session for the others); none until first use and after a
	 * failure. */
	bool unseal_batch;
	struct tpm_session unseal_hmac;
	ESYS_TR unseal_policy;
};

/* Count every Esys call that sends a command (tpm.h keyd_tpm_command_count). */
#define TPM_CMD(t, call) ((t)->commands++, (call))

/* ---- errors ------------------------------------------------------------------ */

_printf_(3, 4) static int tpm_fail(keyd_tpm *t, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->error, sizeof(t->error), fmt, ap);
	va_end(ap);
	log_debug("tpm: %s", t->error);
	return err < 0 ? err : -err;
}

/* Strip the handle/session/parameter number from a format-one response code so
 * that e.g. TPM_RC_AUTH_FAIL for session 1 (0x98e) compares equal to 0x08e. */
static TSS2_RC rc_base(TSS2_RC rc)
{
	if (rc & TSS2_RC_LAYER_MASK)
		return rc;
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3f);
	return rc & 0xfff;
}

static bool rc_is_tcti_connection(TSS2_RC rc)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
	TSS2_RC code = rc & ~TSS2_RC_LAYER_MASK;

	if (layer != TSS2_TCTI_RC_LAYER && layer != TSS2_RESMGR_RC_LAYER &&
	    layer != TSS2_ESAPI_RC_LAYER && layer != TSS2_SYS_RC_LAYER)
		return false;
	return code == TSS2_BASE_RC_IO_ERROR || code == TSS2_BASE_RC_NO_CONNECTION ||
	       code == TSS2_BASE_RC_NOT_SUPPORTED || code == TSS2_BASE_RC_NOT_PERMITTED ||
	       code == TSS2_BASE_RC_MALFORMED_RESPONSE || code == TSS2_BASE_RC_TRY_AGAIN;
}

int keyd_tpm_rc_describe(uint32_t rc, const char *what, char *buf, size_t size)
{
	TSS2_RC b = rc_base(rc);
	const char *cause, *remedy;
	int err;

	if (rc_is_tcti_connection(rc)) {
		err = -ENODEV;
		cause = "lost the connection to the TPM";
		remedy = "is the TPM present (tpm_tis/tpm_crb loaded) or swtpm running?";
	} else if (rc == TSS2_ESYS_RC_RSP_AUTH_FAILED) {
		err = -EIO;
		cause = "the TPM's response failed its HMAC check";
		remedy = "the bus to the TPM may be tampered with, or the TPM is faulty";
	} else
		switch (b) {
		case TPM2_RC_LOCKOUT:
			err = -EBUSY;
			cause = "the TPM is in dictionary-attack lockout after too many wrong PINs";
			remedy = "wait until the lockout expires, or reset it with "
				 "'tpm2_dictionarylockout --clear-lockout' (needs the lockout "
				 "auth)";
			break;
		case TPM2_RC_AUTH_FAIL:
		case TPM2_RC_BAD_AUTH:
			err = -EACCES;
			cause = "wrong PIN (the TPM rejected the authorization value)";
			remedy = "try again with the right PIN; repeated failures lock the TPM "
				 "(dictionary-attack protection)";
			break;
		case TPM2_RC_OBJECT_MEMORY:
		case TPM2_RC_SESSION_MEMORY:
		case TPM2_RC_OBJECT_HANDLES:
		case TPM2_RC_SESSION_HANDLES:
			err = -ENOSPC;
			cause = "too many objects loaded in the TPM";
			remedy = "another program leaks TPM objects; with /dev/tpm0 use "
				 "/dev/tpmrm0 (the kernel resource manager), or flush them with "
				 "'tpm2_flushcontext -t'";
			break;
		case TPM2_RC_PCR_CHANGED:
			err = -EBUSY;
			cause = "the PCRs kept changing during the policy session";
			remedy = "retry when the boot measurements have settled";
			break;
		case TPM2_RC_RETRY:
		case TPM2_RC_YIELDED:
		case TPM2_RC_TESTING:
		case TPM2_RC_NV_RATE:
		case TPM2_RC_NV_UNAVAILABLE:
			err = -EBUSY;
			cause = "the TPM is busy";
			remedy = "retry in a moment";
			break;
		case TPM2_RC_INITIALIZE:
			err = -ENODEV;
			cause = "the TPM has not been started (TPM2_Startup)";
			remedy = "in early boot wait for the firmware; for swtpm pass "
				 "--flags startup-clear";
			break;
		case TPM2_RC_CURVE:
		case TPM2_RC_KEY_SIZE:
		case TPM2_RC_SCHEME:
		case TPM2_RC_HASH:
		case TPM2_RC_ASYMMETRIC:
		case TPM2_RC_SYMMETRIC:
		case TPM2_RC_KDF:
		case TPM2_RC_MODE:
			err = -EOPNOTSUPP;
			cause = "the TPM does not support this algorithm, curve, key size or "
				"scheme";
			remedy = "choose another algorithm (keyd-ctl tpm info lists what it "
				 "offers)";
			break;
		case TPM2_RC_INTEGRITY:
		case TPM2_RC_SENSITIVE:
		case TPM2_RC_BINDING:
		case TPM2_RC_SIZE:
		case TPM2_RC_INSUFFICIENT:
			err = -EBADMSG;
			cause = "the TPM rejected the object as damaged or not made under this "
				"storage root key";
			remedy = "restore the file from a backup, or re-enroll it";
			break;
		case TPM2_RC_POLICY_FAIL:
			err = -EBADMSG;
			cause = "the object's policy does not match the policy recorded with it";
			remedy = "the file is damaged or was written by another tool; re-enroll it";
			break;
		default:
			err = -EIO;
			cause = "the TPM command failed";
			remedy = "see the TPM code; run with KEYD_LOG_LEVEL=debug for details";
			break;
		}
	snprintf(buf, size, "%s: %s; %s (TPM code 0x%x: %s)", what, cause, remedy, (unsigned)rc,
		 Tss2_RC_Decode(rc));
	return err;
}

static int tpm_fail_rc(keyd_tpm *t, TSS2_RC rc, const char *what)
{
	int r = keyd_tpm_rc_describe(rc, what, t->error, sizeof(t->error));

	log_debug("tpm: %s", t->error);
	return r;
}

/* ---- scope-bound handles ------------------------------------------------------ */

struct tpm_tr {
	keyd_tpm *t;
	ESYS_TR tr;
};

static void tpm_tr_flush(struct tpm_tr *h)
{
	if (!h->t || h->tr == ESYS_TR_NONE)
		return;
	(void)TPM_CMD(h->t, Esys_FlushContext(h->t->esys, h->tr));
	h->tr = ESYS_TR_NONE;
}
#define _cleanup_tr_ _cleanup_(tpm_tr_flush)

/* A session started with continueSession clear ends in the TPM when the command it
 * authorised succeeds; drop ESYS's record of it without sending anything. */
static void tpm_tr_session_ended(struct tpm_tr *h)
{
	TPM2_HANDLE handle;

	if (h->tr == ESYS_TR_NONE)
		return;
	/* ESYS may already have dropped it; only close what it still knows. */
	if (Esys_TR_GetTpmHandle(h->t->esys, h->tr, &handle) == TSS2_RC_SUCCESS)
		(void)Esys_TR_Close(h->t->esys, &h->tr);
	h->tr = ESYS_TR_NONE;
}

/* ESYS keeps a copy of an object's auth value (the PIN) in its resource record:
 * overwrite it before the object is flushed. Declared after the object's
 * struct tpm_tr so that it runs first. */
static void tpm_tr_wipe_auth(struct tpm_tr **h)
{
	TPM2B_AUTH zero = { .size = sizeof(zero.buffer) };

	if (*h && (*h)->t && (*h)->tr != ESYS_TR_NONE)
		(void)Esys_TR_SetAuth((*h)->t->esys, (*h)->tr, &zero);
}

static void sensitive_create_wipe(TPM2B_SENSITIVE_CREATE *s)
{
	explicit_bzero(s, sizeof(*s));
}

static void auth_wipe(TPM2B_AUTH *a)
{
	explicit_bzero(a, sizeof(*a));
}

static void esys_freep(void *p)
{
	Esys_Free(*(void **)p);
}
#define _cleanup_esys_ _cleanup_(esys_freep)

/* ---- connection ------------------------------------------------------------------ */

int keyd_tpm_open(const char *tcti, keyd_tpm **ret)
{
	keyd_tpm *t;
	TSS2_RC rc;

	if (!ret)
		return -EINVAL;
	if (!tcti || !*tcti)
		tcti = getenv("KEYD_TCTI");
	if (!tcti || !*tcti)
		tcti = KEYD_TPM_DEFAULT_TCTI;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->srk = ESYS_TR_NONE;
	t->unseal_policy = ESYS_TR_NONE;
	snprintf(t->tcti_conf, sizeof(t->tcti_conf), "%s", tcti);

	/* The TSS logs its own errors to stderr; keyd reports them decoded, once.
	 * Respect an explicit TSS2_LOG (debugging). */
	(void)setenv("TSS2_LOG", "all+none", 0);

	rc = Tss2_TctiLdr_Initialize(tcti, &t->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		snprintf(t->error, sizeof(t->error),
			 "no TPM reachable at '%s': is a TPM present (/dev/tpmrm0, "
			 "modules tpm_tis/tpm_crb loaded) or, for a test TPM, is swtpm running? "
			 "Set the TCTI with --tcti or $KEYD_TCTI (TSS code 0x%x: %s)",
			 tcti, (unsigned)rc, Tss2_RC_Decode(rc));
		*ret = t; /* so that keyd_tpm_last_error() can say why */
		return -ENODEV;
	}
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		snprintf(t->error, sizeof(t->error),
			 "cannot initialise the TPM software stack for '%s' (TSS code 0x%x: %s); "
			 "check that libtss2-esys matches the installed TCTI libraries",
			 tcti, (unsigned)rc, Tss2_RC_Decode(rc));
		*ret = t;
		return -ENODEV;
	}
	*ret = t;
	return 0;
}

keyd_tpm *keyd_tpm_close(keyd_tpm *t)
{
	if (!t)
		return NULL;
	if (t->esys)
		tpm_session_flush(t->tcti, &t->sign_session, &t->commands);
	if (t->esys)
		keyd_tpm_unseal_batch_end(t);
	if (t->esys)
		Esys_Finalize(&t->esys);
	if (t->tcti)
		Tss2_TctiLdr_Finalize(&t->tcti);
	free(t);
	return NULL;
}

const char *keyd_tpm_last_error(const keyd_tpm *t)
{
	return t ? t->error : "";
}

unsigned keyd_tpm_command_count(const keyd_tpm *t)
{
	return t ? t->commands : 0;
}

static int tpm_ready(keyd_tpm *t)
{
	if (!t)
		return -EINVAL;
	if (!t->esys)
		return tpm_fail(t, -ENODEV, "%s", t->error[0] ? t->error : "no TPM connection");
	t->error[0] = '\0';
	return 0;
}

/* ---- hash algorithms ------------------------------------------------------------ */

static TPMI_ALG_HASH hash_to_tpm(enum keyd_hash_alg h)
{
	switch (h) {
	case KEYD_HASH_SHA256:
		return TPM2_ALG_SHA256;
	case KEYD_HASH_SHA384:
		return TPM2_ALG_SHA384;
	case KEYD_HASH_SHA512:
		return TPM2_ALG_SHA512;
	case _KEYD_HASH_ALG_MAX:
	case _KEYD_HASH_ALG_INVALID:
		break;
	}
	return TPM2_ALG_ERROR;
}

/* ---- capabilities ------------------------------------------------------------------- */

static TSS2_RC get_cap(keyd_tpm *t, TPM2_CAP cap, uint32_t prop, uint32_t count,
		       TPMI_YES_NO *more, TPMS_CAPABILITY_DATA **ret)
{
	return TPM_CMD(t, Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					     cap, prop, count, more, ret));
}

static int caps_load(keyd_tpm *t)
{
	TPMI_YES_NO more = TPM2_NO;
	TSS2_RC rc;

	if (t->caps_loaded)
		return 0;
	{
		_cleanup_esys_ TPMS_CAPABILITY_DATA *cap = NULL;

		rc = get_cap(t, TPM2_CAP_ALGS, TPM2_ALG_FIRST, TPM2_MAX_CAP_ALGS, &more, &cap);
		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail_rc(t, rc, "cannot read the TPM's algorithms");
		t->algs = cap->data.algorithms;
	}
	{
		_cleanup_esys_ TPMS_CAPABILITY_DATA *cap = NULL;

		rc = get_cap(t, TPM2_CAP_ECC_CURVES, TPM2_ECC_NONE, TPM2_MAX_ECC_CURVES, &more,
			     &cap);
		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail_rc(t, rc, "cannot read the TPM's curves");
		t->curves = cap->data.eccCurves;
	}
	{
		_cleanup_esys_ TPMS_CAPABILITY_DATA *cap = NULL;

		rc = get_cap(t, TPM2_CAP_PCRS, 0, 1, &more, &cap);
		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail_rc(t, rc, "cannot read the TPM's PCR banks");
		t->pcrs = cap->data.assignedPCR;
	}
	t->caps_loaded = true;
	return 0;
}

static bool caps_has_alg(const keyd_tpm *t, TPM2_ALG_ID alg)
{
	for (uint32_t i = 0; i < t->algs.count && i < TPM2_MAX_CAP_ALGS; i++)
		if (t->algs.algProperties[i].alg == alg)
			return true;
	return false;
}

static bool caps_has_curve(const keyd_tpm *t, TPM2_ECC_CURVE c)
{
	for (uint32_t i = 0; i < t->curves.count && i < TPM2_MAX_ECC_CURVES; i++)
		if (t->curves.eccCurves[i] == c)
			return true;
	return false;
}

/* Mask of PCRs allocated in a bank (0 when the bank is absent). */
static uint32_t caps_bank_mask(const keyd_tpm *t, TPMI_ALG_HASH bank)
{
	for (uint32_t i = 0; i < t->pcrs.count && i < TPM2_NUM_PCR_BANKS; i++) {
		const TPMS_PCR_SELECTION *s = &t->pcrs.pcrSelections[i];
		uint32_t m = 0;

		if (s->hash != bank)
			continue;
		for (unsigned b = 0; b < s->sizeofSelect && b < 3; b++)
			m |= (uint32_t)s->pcrSelect[b] << (8 * b);
		return m;
	}
	return 0;
}

/* ---- the SRK ----------------------------------------------------------------------- */

/*
 * The SRK template: ECC NIST P-256 restricted decryption key, noDA, AES-128-CFB,
 * SHA-256 name, empty unique. This is the TCG "TPM v2.0 Provisioning Guidance"
 * SRK template, the one systemd-tpm2-setup uses and the ECC primary template of
 * tpm2-openssl (src/tpm2-provider-pkey.c, primaryEccTemplate) and of
 * `tpm2_createprimary -G ecc -a '...|noda'`. Primary keys are derived from the
 * template and the owner seed, so keys made by tpm2-openssl with parent
 * 0x40000001 load under a persistent SRK made from it.
 */
static void srk_template(TPM2B_PUBLIC *p)
{
	*p = (TPM2B_PUBLIC){
		.publicArea = {
			.type = TPM2_ALG_ECC,
			.nameAlg = TPM2_ALG_SHA256,
			.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					    TPMA_OBJECT_SENSITIVEDATAORIGIN |
					    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA |
					    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
			.parameters.eccDetail = {
				.symmetric = {
					.algorithm = TPM2_ALG_AES,
					.keyBits.aes = 128,
					.mode.aes = TPM2_ALG_CFB,
				},
				.scheme.scheme = TPM2_ALG_NULL,
				.curveID = TPM2_ECC_NIST_P256,
				.kdf.scheme = TPM2_ALG_NULL,
			},
		},
	};
}

/* Take tr as the connection's SRK with its Name (for salted sessions and pins);
 * on failure ESYS's record of tr is closed (nothing is flushed: it is persistent). */
static int srk_adopt(keyd_tpm *t, ESYS_TR tr)
{
	_cleanup_esys_ TPM2B_NAME *name = NULL;
	TSS2_RC rc;

	rc = Esys_TR_GetName(t->esys, tr, &name);
	if (rc != TSS2_RC_SUCCESS || name->size == 0 || name->size > KEYD_TPM_NAME_MAX) {
		(void)Esys_TR_Close(t->esys, &tr);
		return rc != TSS2_RC_SUCCESS ?
			       tpm_fail_rc(t, rc, "cannot get the name of the storage root key") :
			       tpm_fail(t, -EIO, "the storage root key has an invalid name");
	}
	memcpy(t->srk_name, name->name, name->size);
	t->srk_name_len = name->size;
	t->srk = tr;
	t->srk_looked_up = true;
	return 0;
}

/* Look the SRK up once per connection: one ReadPublic (ESYS checks that the
 * returned public area matches the name). 1 present, 0 absent. */
static int srk_lookup(keyd_tpm *t)
{
	ESYS_TR tr = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	if (t->srk_looked_up)
		return t->srk != ESYS_TR_NONE;
	rc = TPM_CMD(t, Esys_TR_FromTPMPublic(t->esys, KEYD_TPM_SRK_HANDLE, ESYS_TR_NONE,
					      ESYS_TR_NONE, ESYS_TR_NONE, &tr));
	if (rc_base(rc) == TPM2_RC_HANDLE) {
		t->srk_looked_up = true;
		return 0;
	}
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail_rc(t, rc, "cannot read the storage root key at 0x81000001");
	r = srk_adopt(t, tr);
	return r < 0 ? r : 1;
}

static int srk_mismatch(keyd_tpm *t)
{
	return tpm_fail(t, -EXDEV,
			"the SRK at 0x81000001 is not the one this store was enrolled with: the "
			"TPM was cleared or this is another machine's store; re-enroll the keys "
			"and secrets on this machine (or use the store that belongs to this TPM)");
}

/* The SRK for an operation: present and, if pinned, the pinned one. */
static int srk_get(keyd_tpm *t, ESYS_TR *ret)
{
	int r;

	r = srk_lookup(t);
	if (r < 0)
		return r;
	if (r == 0) {
		if (t->pinned)
			return tpm_fail(t, -EXDEV,
					"there is no SRK at 0x81000001 but this store was enrolled "
					"with one: the TPM was cleared or this is another "
					"machine's "
					"store; re-enroll the keys and secrets on this machine");
		return tpm_fail(t, -EXDEV,
				"there is no storage root key at 0x81000001; enroll first "
				"(keyd-ctl creates it with the first key or secret)");
	}
	if (t->pinned && (t->pin_name_len != t->srk_name_len ||
			  memcmp(t->pin_name, t->srk_name, t->srk_name_len) != 0))
		return srk_mismatch(t);
	*ret = t->srk;
	return 0;
}

/* The public area ESYS read with the SRK's handle (Esys_TR_FromTPMPublic), from its
 * serialised record (handle, TPM2B_NAME, resource type, TPM2B_PUBLIC: the format
 * tools store ESYS_TRs in), so no second ReadPublic is sent. Used only when the
 * public area hashes to the SRK's Name; false (nothing set) otherwise. */
static bool srk_public_from_esys(keyd_tpm *t, ESYS_TR srk)
{
	uint8_t *buf = NULL, marshalled[sizeof(TPMT_PUBLIC)];
	size_t size = 0, off = 0, n = 0;
	TPM2B_NAME name = {};
	TPM2B_PUBLIC pub = {};
	TPM2_HANDLE handle = 0;
	uint32_t type = 0;
	uint8_t digest[TPM2_SHA256_DIGEST_SIZE];
	bool ok;

	if (Esys_TR_Serialize(t->esys, srk, &buf, &size) != TSS2_RC_SUCCESS)
		return false;
	ok = Tss2_MU_TPM2_HANDLE_Unmarshal(buf, size, &off, &handle) == TSS2_RC_SUCCESS &&
	     Tss2_MU_TPM2B_NAME_Unmarshal(buf, size, &off, &name) == TSS2_RC_SUCCESS &&
	     Tss2_MU_UINT32_Unmarshal(buf, size, &off, &type) == TSS2_RC_SUCCESS &&
	     Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, size, &off, &pub) == TSS2_RC_SUCCESS &&
	     handle == KEYD_TPM_SRK_HANDLE && pub.publicArea.nameAlg == TPM2_ALG_SHA256 &&
	     Tss2_MU_TPMT_PUBLIC_Marshal(&pub.publicArea, marshalled, sizeof(marshalled), &n) ==
		     TSS2_RC_SUCCESS &&
	     keyd_crypto_hash(KEYD_HASH_SHA256, marshalled, n, digest) == 0 &&
	     t->srk_name_len == 2 + sizeof(digest) && t->srk_name[0] == (TPM2_ALG_SHA256 >> 8) &&
	     t->srk_name[1] == (TPM2_ALG_SHA256 & 0xff) &&
	     memcmp(t->srk_name + 2, digest, sizeof(digest)) == 0 &&
	     pub.publicArea.type == TPM2_ALG_ECC &&
	     pub.publicArea.parameters.eccDetail.curveID == TPM2_ECC_NIST_P256;
	Esys_Free(buf);
	if (!ok) {
		log_debug("tpm: the SRK's public area is not in ESYS's record; reading it");
		return false;
	}
	t->srk_pub = pub;
	t->srk_pub_read = true;
	return true;
}

/* The SRK's public area, for salting tpm-session.c's sessions: from ESYS's record
 * of the lookup, else one ReadPublic per connection, whose Name must be the one
 * srk_lookup() checked (and pinned). */
static int srk_public(keyd_tpm *t, ESYS_TR srk, const TPM2B_PUBLIC **ret)
{
	_cleanup_esys_ TPM2B_PUBLIC *pub = NULL;
	_cleanup_esys_ TPM2B_NAME *name = NULL;
	TSS2_RC rc;

	if (!t->srk_pub_read && srk_public_from_esys(t, srk)) {
		*ret = &t->srk_pub;
		return 0;
	}
	if (!t->srk_pub_read) {
		rc = TPM_CMD(t, Esys_ReadPublic(t->esys, srk, ESYS_TR_NONE, ESYS_TR_NONE,
						ESYS_TR_NONE, &pub, &name, NULL));
		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail_rc(t, rc, "cannot read the storage root key at 0x81000001");
		if (name->size != t->srk_name_len ||
		    memcmp(name->name, t->srk_name, t->srk_name_len) != 0)
			return srk_mismatch(t);
		if (pub->publicArea.type != TPM2_ALG_ECC ||
		    pub->publicArea.parameters.eccDetail.curveID != TPM2_ECC_NIST_P256)
			return tpm_fail(t, -EOPNOTSUPP,
					"the storage root key at 0x81000001 is not an ECC P-256 "
					"key; keyd creates its SRK as one (move this one elsewhere "
					"with tpm2_evictcontrol and enroll again)");
		t->srk_pub = *pub;
		t->srk_pub_read = true;
	}
	*ret = &t->srk_pub;
	return 0;
}

/* The Name of the object in b (Part 1, 16: nameAlg || H_nameAlg(TPMT_PUBLIC)),
 * computed here for cpHash: ESYS's Esys_TR_GetName hashes through its costly
 * crypto backend on every call. The blob's pub is a TPM2B_PUBLIC: the size, then
 * the TPMT_PUBLIC, whose second field is nameAlg. */
static int blob_name_compute(const struct keyd_tpm_blob *b, TPM2B_NAME *ret)
{
	if (b->pub_len < 6 || (size_t)(b->pub[0] << 8 | b->pub[1]) != b->pub_len - 2)
		return -EBADMSG;
	if ((b->pub[4] << 8 | b->pub[5]) != TPM2_ALG_SHA256)
		return -EOPNOTSUPP;
	ret->size = 2 + TPM2_SHA256_DIGEST_SIZE;
	ret->name[0] = TPM2_ALG_SHA256 >> 8;
	ret->name[1] = TPM2_ALG_SHA256 & 0xff;
	return keyd_crypto_hash(KEYD_HASH_SHA256, b->pub + 2, b->pub_len - 2, ret->name + 2) < 0 ?
		       -EIO :
		       0;
}

static int blob_name(keyd_tpm *t, const struct keyd_tpm_blob *b, TPM2B_NAME *ret)
{
	int r = blob_name_compute(b, ret);

	if (r == -EBADMSG)
		return tpm_fail(t, r, "the object's public area is malformed");
	if (r == -EOPNOTSUPP)
		return tpm_fail(t, r, "the object's name algorithm is not SHA-256; keyd "
				"creates and seals with SHA-256 (re-enroll it with keyd-ctl)");
	if (r < 0)
		return tpm_fail(t, r, "cannot hash the object's public area");
	return 0;
}

/* Start tpm-session.c's salted HMAC session with the SRK into *s. */
static int fast_session_start(keyd_tpm *t, ESYS_TR srk, struct tpm_session *s)
{
	const TPM2B_PUBLIC *pub = NULL;
	TSS2_RC rc;
	int r;

	r = srk_public(t, srk, &pub);
	if (r < 0)
		return r;
	rc = tpm_session_start(t->tcti, KEYD_TPM_SRK_HANDLE, pub, s, &t->commands);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail_rc(t, rc, "cannot start a salted session with the SRK");
	return 0;
}

static int srk_check_storage_key(keyd_tpm *t, ESYS_TR srk)
{
	_cleanup_esys_ TPM2B_PUBLIC *pub = NULL;
	TPMA_OBJECT need = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	TSS2_RC rc;

	rc = TPM_CMD(t, Esys_ReadPublic(t->esys, srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					&pub, NULL, NULL));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail_rc(t, rc, "cannot read the storage root key at 0x81000001");
	if ((pub->publicArea.objectAttributes & need) != need ||
	    (pub->publicArea.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT))
		return tpm_fail(t, -EOPNOTSUPP,
				"the object at 0x81000001 is not a storage key (restricted "
				"decryption); keyd never replaces it: move it elsewhere with "
				"tpm2_evictcontrol if it is not needed, then enroll again");
	return 0;
}

int keyd_tpm_srk_ensure(keyd_tpm *t, bool *ret_created, uint8_t *ret_name, size_t *ret_name_len)
{
	TPM2B_SENSITIVE_CREATE sensitive = {};
	TPM2B_DATA outside = {};
	TPML_PCR_SELECTION creation_pcr = {};
	TPM2B_PUBLIC tmpl;
	_cleanup_tr_ struct tpm_tr primary = { t, ESYS_TR_NONE };
	ESYS_TR persistent = ESYS_TR_NONE;
	bool created = false;
	TSS2_RC rc;
	int r;

	r = tpm_ready(t);
	if (r < 0)
		return r;
	r = srk_lookup(t);
	if (r < 0)
		return r;
	if (r > 0) {
		r = srk_check_storage_key(t, t->srk);
		if (r < 0)
			return r;
	} else {
		srk_template(&tmpl);
		rc = TPM_CMD(t, Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
						   ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &tmpl,
						   &outside, &creation_pcr, &primary.tr, NULL, NULL,
						   NULL, NULL));
		if (rc_base(rc) == TPM2_RC_BAD_AUTH || rc_base(rc) == TPM2_RC_AUTH_FAIL)
			return tpm_fail(t, -EACCES,
					"cannot create the storage root key: the owner hierarchy "
					"has a password; create the SRK with "
					"'tpm2_createprimary -C o -P OWNERPW -G ecc -c srk.ctx "
					"-a \"restricted|decrypt|fixedtpm|"
					"fixedparent|sensitivedataorigin|userwithauth|noda\"' and "
					"'tpm2_evictcontrol -C o -P OWNERPW -c srk.ctx "
					"0x81000001'");
		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail_rc(t, rc, "cannot create the storage root key");
		rc = TPM_CMD(t, Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, primary.tr,
						  ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
						  KEYD_TPM_SRK_HANDLE, &persistent));
		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail_rc(t, rc, "cannot make the storage root key persistent");
		r = srk_adopt(t, persistent);
		if (r < 0)
			return r;
		created = true;
	}
	if (t->pinned && (t->pin_name_len != t->srk_name_len ||
			  memcmp(t->pin_name, t->srk_name, t->srk_name_len) != 0))
		return srk_mismatch(t);
	if (ret_created)
		*ret_created = created;
	if (ret_name)
		memcpy(ret_name, t->srk_name, t->srk_name_len);
	if (ret_name_len)
		*ret_name_len = t->srk_name_len;
	return 0;
}

int keyd_tpm_srk_pin(keyd_tpm *t, const uint8_t *name, size_t name_len)
{
	ESYS_TR srk;
	int r;

	r = tpm_ready(t);
	if (r < 0)
		return r;
	if (!name || name_len == 0 || name_len > KEYD_TPM_NAME_MAX)
		return tpm_fail(t, -EINVAL, "invalid SRK name to pin");
	memcpy(t->pin_name, name, name_len);
	t->pin_name_len = name_len;
	t->pinned = true;
	/* Check now, so a wrong TPM is reported before any work is done. */
	return srk_get(t, &srk);
}

int keyd_tpm_srk_lookup(keyd_tpm *t, bool *ret_present, uint8_t *ret_name, size_t *ret_name_len)
{
	int r;

	r = tpm_ready(t);
	if (r < 0)
		return r;
	r = srk_lookup(t);
	if (r < 0)
		return r;
	if (ret_present)
		*ret_present = r > 0;
	if (r > 0 && ret_name)
		memcpy(ret_name, t->srk_name, t->srk_name_len);
	if (ret_name_len)
		*ret_name_len = r > 0 ? t->srk_name_len : 0;
	return 0;
}

/* ---- sessions ----------------------------------------------------------------------- */

/* A salted session bound to nothing, with the SRK as tpmKey: the session key
 * comes from a secret encrypted to the SRK, so only this TPM can compute it,
 * and parameters are encrypted with AES-128-CFB. attrs: TPMA_SESSION_DECRYPT
 * (command parameter encrypted) and/or _ENCRYPT (response parameter encrypted).
 * continueSession is clear: the TPM ends the session after the one command. */
static int session_start(keyd_tpm *t, ESYS_TR srk, TPM2_SE type, TPMA_SESSION attrs,
			 struct tpm_tr *ret)
{
	const TPMT_SYM_DEF sym = {
		.algorithm = TPM2_ALG_AES,
		.keyBits.aes = 128,
		.mode.aes = TPM2_ALG_CFB,
	};
	TSS2_RC rc;

	rc = TPM_CMD(t, Esys_StartAuthSession(t->esys, srk, ESYS_TR_NONE, ESYS_TR_NONE,
					      ESYS_TR_NONE, ESYS_TR_NONE, NULL, type, &sym,
					      TPM2_ALG_SHA256, &ret->tr));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail_rc(t, rc, "cannot start a salted session with the SRK");
	rc = Esys_TRSess_SetAttributes(t->esys, ret->tr, attrs,
				       TPMA_SESSION_CONTINUESESSION | TPMA_SESSION_DECRYPT |
					       TPMA_SESSION_ENCRYPT | TPMA_SESSION_AUDIT);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail_rc(t, rc, "cannot set the session attributes");
	return 0;
}

/* ---- loading objects ------------------------------------------------------------- */

static int blob_unmarshal(keyd_tpm *t, const struct keyd_tpm_blob *b, TPM2B_PUBLIC *pub,
			  TPM2B_PRIVATE *priv)
{
	size_t off = 0;

	/* Tss2_MU refuses to unmarshal into a TPM2B whose size is not zero. */
	memset(pub, 0, sizeof(*pub));
	memset(priv, 0, sizeof(*priv));
	if (b->pub_len > sizeof(b->pub) || b->priv_len > sizeof(b->priv))
		return tpm_fail(t, -EINVAL, "object larger than keyd's bounds");
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(b->pub, b->pub_len, &off, pub) != TSS2_RC_SUCCESS ||
	    off != b->pub_len)
		return tpm_fail(t, -EBADMSG, "the object's public part is malformed; restore the "
				"file from a backup");
	off = 0;
	if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(b->priv, b->priv_len, &off, priv) !=
		    TSS2_RC_SUCCESS ||
	    off != b->priv_len)
		return tpm_fail(t, -EBADMSG, "the object's private part is malformed; restore the "
				"file from a backup");
	return 0;
}

/* tpm2-openssl's ECC primary for parent 0x40000001 (see srk_template): when the
 * persistent SRK was made from another template, create it transiently. */
static int load_under_owner_primary(keyd_tpm *t, const TPM2B_PUBLIC *pub,
				    const TPM2B_PRIVATE *priv, ESYS_TR *ret)
{
	TPM2B_SENSITIVE_CREATE sensitive = {};
	TPM2B_DATA outside = {};
	TPML_PCR_SELECTION creation_pcr = {};
	TPM2B_PUBLIC tmpl;
	_cleanup_tr_ struct tpm_tr primary = { t, ESYS_TR_NONE };
	TSS2_RC rc;

	srk_template(&tmpl);
	rc = TPM_CMD(t, Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
					   ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &tmpl, &outside,
					   &creation_pcr, &primary.tr, NULL, NULL, NULL, NULL));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail_rc(t, rc, "cannot create the owner-hierarchy primary key the "
				   "object was made under");
	rc = TPM_CMD(t, Esys_Load(t->esys, primary.tr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				  ESYS_TR_NONE, priv, pub, ret));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail_rc(t, rc, "cannot load the object");
	return 0;
}

/* Load b under its parent. Loading sends no secret (the private part is
 * encrypted to the parent), so the SRK's empty auth goes in a password session. */
static int object_load(keyd_tpm *t, const struct keyd_tpm_blob *b, struct tpm_tr *ret,
		       TPM2B_PUBLIC *ret_pub)
{
	TPM2B_PUBLIC pub = {};
	TPM2B_PRIVATE priv = {};
	ESYS_TR srk;
	TSS2_RC rc;
	int r;

	if (b->parent != KEYD_TPM_SRK_HANDLE && b->parent != KEYD_TPM_OWNER_HIERARCHY)
		return tpm_fail(t, -EOPNOTSUPP,
				"the object's parent 0x%08x is neither the SRK 0x81000001 nor the "
				"owner hierarchy 0x40000001; keyd cannot load it", b->parent);
	r = blob_unmarshal(t, b, &pub, &priv);
	if (r < 0)
		return r;
	r = srk_get(t, &srk);
	if (r < 0)
		return r;
	rc = TPM_CMD(t, Esys_Load(t->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
				  &priv, &pub, &ret->tr));
	if (rc != TSS2_RC_SUCCESS && b->parent == KEYD_TPM_OWNER_HIERARCHY &&
	    (rc_base(rc) & TPM2_RC_FMT1)) {
		ret->tr = ESYS_TR_NONE;
		r = load_under_owner_primary(t, &pub, &priv, &ret->tr);
		if (r < 0)
			return r;
	} else if (rc != TSS2_RC_SUCCESS) {
		ret->tr = ESYS_TR_NONE;
		return tpm_fail_rc(t, rc, "cannot load the object under the SRK");
	}
	if (ret_pub)
		*ret_pub = pub;
	return 0;
}

static int blob_store(keyd_tpm *t, const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv,
		      struct keyd_tpm_blob *ret)
{
	size_t off = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, ret->pub, sizeof(ret->pub), &off) !=
	    TSS2_RC_SUCCESS)
		return tpm_fail(t, -EIO, "cannot marshal the public part");
	ret->pub_len = off;
	off = 0;
	if (Tss2_MU_TPM2B_PRIVATE_Marshal(priv, ret->priv, sizeof(ret->priv), &off) !=
	    TSS2_RC_SUCCESS)
		return tpm_fail(t, -EIO, "cannot marshal the private part");
	ret->priv_len = off;
	ret->parent = KEYD_TPM_SRK_HANDLE;
	return 0;
}

/* ---- signing keys ------------------------------------------------------------------ */

static int key_template(enum keyd_key_alg alg, TPM2B_PUBLIC *p)
{
	*p = (TPM2B_PUBLIC){
		.publicArea = {
			.nameAlg = TPM2_ALG_SHA256,
			.objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
					    TPMA_OBJECT_FIXEDPARENT |
					    TPMA_OBJECT_SENSITIVEDATAORIGIN |
					    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA,
		},
	};
	switch (alg) {
	case KEYD_KEY_EC_P256:
	case KEYD_KEY_EC_P384:
		p->publicArea.type = TPM2_ALG_ECC;
		p->publicArea.parameters.eccDetail = (TPMS_ECC_PARMS){
			.symmetric.algorithm = TPM2_ALG_NULL,
			.scheme.scheme = TPM2_ALG_NULL,
			.curveID = alg == KEYD_KEY_EC_P256 ? TPM2_ECC_NIST_P256 :
							     TPM2_ECC_NIST_P384,
			.kdf.scheme = TPM2_ALG_NULL,
		};
		return 0;
	case KEYD_KEY_RSA2048:
	case KEYD_KEY_RSA3072:
		p->publicArea.type = TPM2_ALG_RSA;
		p->publicArea.parameters.rsaDetail = (TPMS_RSA_PARMS){
			.symmetric.algorithm = TPM2_ALG_NULL,
			.scheme.scheme = TPM2_ALG_NULL,
			.keyBits = alg == KEYD_KEY_RSA2048 ? 2048 : 3072,
			.exponent = 0, /* 65537 */
		};
		return 0;
	case _KEYD_KEY_ALG_MAX:
	case _KEYD_KEY_ALG_INVALID:
		break;
	}
	return -EINVAL;
}

int keyd_tpm_key_create(keyd_tpm *t, enum keyd_key_alg alg, struct keyd_tpm_blob *ret)
{
	TPM2B_SENSITIVE_CREATE sensitive = {};
	TPM2B_DATA outside = {};
	TPML_PCR_SELECTION creation_pcr = {};
	_cleanup_esys_ TPM2B_PRIVATE *priv = NULL;
	_cleanup_esys_ TPM2B_PUBLIC *pub = NULL;
	TPM2B_PUBLIC tmpl;
	ESYS_TR srk;
	TSS2_RC rc;
	int r;

	r = tpm_ready(t);
	if (r < 0)
		return r;
	if (!ret)
		return tpm_fail(t, -EINVAL, "no output for the key");
	r = key_template(alg, &tmpl);
	if (r < 0)
		return tpm_fail(t, r, "unknown key algorithm");
	r = caps_load(t);
	if (r < 0)
		return r;
	if (tmpl.publicArea.type == TPM2_ALG_ECC &&
	    !caps_has_curve(t, tmpl.publicArea.parameters.eccDetail.curveID))
		return tpm_fail(t, -EOPNOTSUPP, "this TPM does not support the curve of '%s'; "
				"choose another algorithm (keyd-ctl tpm info lists its curves)",
				keyd_key_alg_to_string(alg));
	if (!caps_has_alg(t, tmpl.publicArea.type))
		return tpm_fail(t, -EOPNOTSUPP, "this TPM does not support '%s' keys; choose "
				"another algorithm (keyd-ctl tpm info)",
				keyd_key_alg_to_string(alg));
	r = srk_get(t, &srk);
	if (r < 0)
		return r;
	/* No secret travels in or out (the TPM generates the key; the private part
	 * comes back encrypted to the SRK): a password session for the SRK's empty
	 * auth is enough. */
	rc = TPM_CMD(t, Esys_Create(t->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
				    &sensitive, &tmpl, &outside, &creation_pcr, &priv, &pub, NULL,
				    NULL, NULL));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail_rc(t, rc, "cannot create the key");
	return blob_store(t, pub, priv, ret);
}

/* Copy a big-endian number without its leading zero bytes. */
static size_t be_strip(const uint8_t *in, size_t len, uint8_t *out, size_t out_size)
{
	while (len > 0 && in[0] == 0) {
		in++;
		len--;
	}
	if (len > out_size)
		return SIZE_MAX;
	memcpy(out, in, len);
	return len;
}

int keyd_tpm_key_public(const struct keyd_tpm_blob *b, struct keyd_pubkey *ret)
{
	TPM2B_PUBLIC pub = {};
	const TPMT_PUBLIC *p;
	size_t off = 0, n;

	if (!b || !ret || b->pub_len > sizeof(b->pub))
		return -EINVAL;
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(b->pub, b->pub_len, &off, &pub) != TSS2_RC_SUCCESS ||
	    off != b->pub_len)
		return -EBADMSG;
	p = &pub.publicArea;
	if (!(p->objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) ||
	    (p->objectAttributes & TPMA_OBJECT_RESTRICTED))
		return -EOPNOTSUPP;
	memset(ret, 0, sizeof(*ret));
	switch (p->type) {
	case TPM2_ALG_ECC: {
		const TPMS_ECC_PARMS *e = &p->parameters.eccDetail;
		size_t field;

		if (e->curveID == TPM2_ECC_NIST_P256) {
			ret->alg = KEYD_KEY_EC_P256;
			field = 32;
		} else if (e->curveID == TPM2_ECC_NIST_P384) {
			ret->alg = KEYD_KEY_EC_P384;
			field = 48;
		} else
			return -EOPNOTSUPP;
		if (e->scheme.scheme != TPM2_ALG_NULL && e->scheme.scheme != TPM2_ALG_ECDSA)
			return -EOPNOTSUPP;
		if (p->unique.ecc.x.size > field || p->unique.ecc.y.size > field ||
		    p->unique.ecc.x.size == 0 || p->unique.ecc.y.size == 0)
			return -EBADMSG;
		/* Left-pad to the field size: the point is fixed-width. */
		memcpy(ret->ec.x + field - p->unique.ecc.x.size, p->unique.ecc.x.buffer,
		       p->unique.ecc.x.size);
		memcpy(ret->ec.y + field - p->unique.ecc.y.size, p->unique.ecc.y.buffer,
		       p->unique.ecc.y.size);
		ret->ec.len = field;
		return 0;
	}
	case TPM2_ALG_RSA: {
		const TPMS_RSA_PARMS *rp = &p->parameters.rsaDetail;

		if (rp->keyBits == 2048)
			ret->alg = KEYD_KEY_RSA2048;
		else if (rp->keyBits == 3072)
			ret->alg = KEYD_KEY_RSA3072;
		else
			return -EOPNOTSUPP;
		if (rp->scheme.scheme != TPM2_ALG_NULL && rp->scheme.scheme != TPM2_ALG_RSASSA &&
		    rp->scheme.scheme != TPM2_ALG_RSAPSS)
			return -EOPNOTSUPP;
		if (p->unique.rsa.size != rp->keyBits / 8)
			return -EBADMSG;
		n = be_strip(p->unique.rsa.buffer, p->unique.rsa.size, ret->rsa.n,
			     sizeof(ret->rsa.n));
		if (n == SIZE_MAX || n == 0)
			return -EBADMSG;
		ret->rsa.n_len = n;
		ret->rsa.e = rp->exponent == 0 ? 65537 : rp->exponent;
		return 0;
	}
	default:
		return -EOPNOTSUPP;
	}
}

int keyd_tpm_key_public_encode(const struct keyd_pubkey *pk, struct keyd_tpm_blob *ret)
{
	TPM2B_PUBLIC pub;
	size_t off = 0;
	int r;

	if (!pk || !ret)
		return -EINVAL;
	r = key_template(pk->alg, &pub);
	if (r < 0)
		return r;
	if (keyd_key_alg_is_ec(pk->alg)) {
		size_t field = pk->alg == KEYD_KEY_EC_P256 ? 32 : 48;

		if (pk->ec.len != field)
			return -EINVAL;
		pub.publicArea.unique.ecc.x.size = field;
		memcpy(pub.publicArea.unique.ecc.x.buffer, pk->ec.x, field);
		pub.publicArea.unique.ecc.y.size = field;
		memcpy(pub.publicArea.unique.ecc.y.buffer, pk->ec.y, field);
	} else {
		size_t mod = pub.publicArea.parameters.rsaDetail.keyBits / 8;

		if (pk->rsa.n_len == 0 || pk->rsa.n_len > mod)
			return -EINVAL;
		memset(pub.publicArea.unique.rsa.buffer, 0, mod);
		memcpy(pub.publicArea.unique.rsa.buffer + mod - pk->rsa.n_len, pk->rsa.n,
		       pk->rsa.n_len);
		pub.publicArea.unique.rsa.size = mod;
		pub.publicArea.parameters.rsaDetail.exponent = pk->rsa.e == 65537 ? 0 : pk->rsa.e;
	}
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, ret->pub, sizeof(ret->pub), &off) !=
	    TSS2_RC_SUCCESS)
		return -EIO;
	ret->pub_len = off;
	ret->priv_len = 0;
	ret->parent = KEYD_TPM_SRK_HANDLE;
	return 0;
}

int keyd_tpm_key_check(keyd_tpm *t, const struct keyd_tpm_blob *b)
{
	_cleanup_tr_ struct tpm_tr key = { t, ESYS_TR_NONE };
	int r;

	r = tpm_ready(t);
	if (r < 0)
		return r;
	if (!b)
		return tpm_fail(t, -EINVAL, "no key");
	return object_load(t, b, &key, NULL);
}

/* Check a signing request against the key and turn it into the TPM's scheme and digest. */
static int sign_args(keyd_tpm *t, enum keyd_key_alg alg, enum keyd_sig_scheme scheme,
		     enum keyd_hash_alg hash, const uint8_t *digest, size_t digest_len,
		     TPMT_SIG_SCHEME *ret_scheme, TPM2B_DIGEST *ret_digest)
{
	TPMI_ALG_HASH halg = hash_to_tpm(hash);

	*ret_scheme = (TPMT_SIG_SCHEME){};
	if (halg == TPM2_ALG_ERROR || digest_len != keyd_hash_alg_size(hash) ||
	    digest_len > sizeof(ret_digest->buffer))
		return tpm_fail(t, -EINVAL, "the digest length does not match the hash");
	switch (scheme) {
	case KEYD_SIG_ECDSA:
		ret_scheme->scheme = TPM2_ALG_ECDSA;
		break;
	case KEYD_SIG_RSA_PKCS1:
		ret_scheme->scheme = TPM2_ALG_RSASSA;
		break;
	case KEYD_SIG_RSA_PSS:
		ret_scheme->scheme = TPM2_ALG_RSAPSS;
		break;
	case _KEYD_SIG_SCHEME_MAX:
	case _KEYD_SIG_SCHEME_INVALID:
		return tpm_fail(t, -EINVAL, "unknown signature scheme");
	}
	if (keyd_key_alg_is_ec(alg) != (scheme == KEYD_SIG_ECDSA))
		return tpm_fail(t, -EOPNOTSUPP, "the signature scheme '%s' does not fit the %s key",
				keyd_sig_scheme_to_string(scheme), keyd_key_alg_to_string(alg));
	ret_scheme->details.any.hashAlg = halg;
	ret_digest->size = (UINT16)digest_len;
	memcpy(ret_digest->buffer, digest, digest_len);
	return 0;
}

/* The TPM's signature in the form keyd_tpm_sign() documents: DER for ECDSA, raw for RSA. */
static int signature_out(keyd_tpm *t, const TPMT_SIGNATURE *sig, uint8_t **ret_sig,
			 size_t *ret_sig_len)
{
	if (sig->sigAlg == TPM2_ALG_ECDSA) {
		int r = keyd_der_ecdsa_sig_encode(sig->signature.ecdsa.signatureR.buffer,
						  sig->signature.ecdsa.signatureR.size,
						  sig->signature.ecdsa.signatureS.buffer,
						  sig->signature.ecdsa.signatureS.size, ret_sig,
						  ret_sig_len);
		if (r < 0)
			return tpm_fail(t, r, "cannot encode the ECDSA signature");
		return 0;
	}
	if (sig->sigAlg == TPM2_ALG_RSASSA || sig->sigAlg == TPM2_ALG_RSAPSS) {
		const TPM2B_PUBLIC_KEY_RSA *s = &sig->signature.rsassa.sig;
		uint8_t *out;

		if (s->size == 0 || s->size > sizeof(s->buffer))
			return tpm_fail(t, -EIO, "the TPM returned an empty signature");
		out = malloc(s->size);
		if (!out)
			return tpm_fail(t, -ENOMEM, "out of memory");
		memcpy(out, s->buffer, s->size);
		*ret_sig = out;
		*ret_sig_len = s->size;
		return 0;
	}
	return tpm_fail(t, -EIO, "the TPM returned an unexpected signature type 0x%x",
			sig->sigAlg);
}

int keyd_tpm_sign(keyd_tpm *t, const struct keyd_tpm_blob *key, enum keyd_sig_scheme scheme,
		  enum keyd_hash_alg hash, const uint8_t *digest, size_t digest_len,
		  uint8_t **ret_sig, size_t *ret_sig_len)
{
	_cleanup_tr_ struct tpm_tr obj = { t, ESYS_TR_NONE };
	_cleanup_tr_ struct tpm_tr session = { t, ESYS_TR_NONE };
	_cleanup_esys_ TPMT_SIGNATURE *sig = NULL;
	TPMT_TK_HASHCHECK validation = {
		.tag = TPM2_ST_HASHCHECK,
		.hierarchy = TPM2_RH_NULL,
	};
	TPMT_SIG_SCHEME in_scheme = {};
	TPM2B_DIGEST dig = {};
	struct keyd_pubkey pk;
	ESYS_TR srk;
	TSS2_RC rc;
	int r;

	r = tpm_ready(t);
	if (r < 0)
		return r;
	if (!key || !digest || !ret_sig || !ret_sig_len)
		return tpm_fail(t, -EINVAL, "missing argument to sign");
	r = keyd_tpm_key_public(key, &pk);
	if (r < 0)
		return tpm_fail(t, r, "the key cannot be used for signing with keyd (%s)",
				r == -EOPNOTSUPP ? "not an unrestricted ECC P-256/P-384 or RSA "
				"2048/3072 signing key" : "malformed public part");
	r = sign_args(t, pk.alg, scheme, hash, digest, digest_len, &in_scheme, &dig);
	if (r < 0)
		return r;
	r = srk_get(t, &srk);
	if (r < 0)
		return r;
	r = object_load(t, key, &obj, NULL);
	if (r < 0)
		return r;
	/* The digest goes in encrypted (decrypt attribute: first command parameter);
	 * the signature is not a TPM2B, so the response cannot be encrypted, and it
	 * is public anyway. The session's HMAC authorises the key's empty auth. */
	r = session_start(t, srk, TPM2_SE_HMAC, TPMA_SESSION_DECRYPT, &session);
	if (r < 0)
		return r;
	rc = TPM_CMD(t, Esys_Sign(t->esys, obj.tr, session.tr, ESYS_TR_NONE, ESYS_TR_NONE, &dig,
				  &in_scheme, &validation, &sig));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail_rc(t, rc, "cannot sign with the key");
	tpm_tr_session_ended(&session);
	return signature_out(t, sig, ret_sig, ret_sig_len);
}

/* ---- keys kept ready for repeated signing -------------------------------------------- */

struct keyd_tpm_held_key {
	struct keyd_tpm_blob blob;
	struct keyd_pubkey pk;
	TPM2B_NAME name;     /* the key's Name, for cpHash */
	bool saved;          /* context holds a saved context of the loaded blob */
	TPMS_CONTEXT context; /* not secret: the TPM encrypts and MACs it (Part 1, 30.3) */
	/* While loaded (keyd_tpm_sign_held() until keyd_tpm_held_key_unload()): the
	 * connection it is loaded on and its ESYS handle there. */
	keyd_tpm *loaded_on;
	ESYS_TR loaded;
};

int keyd_tpm_held_key_unload(keyd_tpm_held_key *h)
{
	struct tpm_tr obj;

	if (!h || !h->loaded_on)
		return 0;
	/* A flush that fails (the TPM was reset, the connection is gone) leaves
	 * nothing loaded either. */
	obj = (struct tpm_tr){ h->loaded_on, h->loaded };
	tpm_tr_flush(&obj);
	h->loaded_on = NULL;
	h->loaded = ESYS_TR_NONE;
	return 1;
}

/* The TPM said the loaded key's handle names nothing (it was reset) or another
 * object (the Sign session's HMAC, which covers the key's Name, failed): drop
 * ESYS's record without a FlushContext, which could hit another program's object
 * that took the same handle since. */
static void held_forget(keyd_tpm_held_key *h)
{
	if (!h->loaded_on)
		return;
	(void)Esys_TR_Close(h->loaded_on->esys, &h->loaded);
	h->loaded_on = NULL;
	h->loaded = ESYS_TR_NONE;
}

bool keyd_tpm_held_key_is_loaded(const keyd_tpm_held_key *h)
{
	return h && h->loaded_on;
}

int keyd_tpm_held_key_loaded_handle(const keyd_tpm_held_key *h, uint32_t *ret)
{
	TPM2_HANDLE handle;

	if (!h || !h->loaded_on)
		return -ENOENT;
	if (Esys_TR_GetTpmHandle(h->loaded_on->esys, h->loaded, &handle) != TSS2_RC_SUCCESS)
		return -EIO;
	*ret = handle;
	return 0;
}

const uint8_t *keyd_tpm_held_key_name(const keyd_tpm_held_key *h, size_t *ret_len)
{
	*ret_len = h->name.size;
	return h->name.name;
}

int keyd_tpm_flush_if_named(keyd_tpm *t, uint32_t handle, const uint8_t *name, size_t len)
{
	_cleanup_esys_ TPM2B_NAME *n = NULL;
	ESYS_TR tr = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	r = tpm_ready(t);
	if (r < 0)
		return r;
	if ((handle >> 24) != TPM2_HT_TRANSIENT || !name || len == 0)
		return tpm_fail(t, -EINVAL, "0x%08x is not a transient handle", (unsigned)handle);
	/* ReadPublic: ESYS checks the public area against the Name it returns. */
	rc = TPM_CMD(t, Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE,
					      ESYS_TR_NONE, &tr));
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_fail_rc(t, rc, "no object to flush at that handle");
		return r == -ENODEV ? r : 0; /* gone (a TPM reset, another program) */
	}
	rc = Esys_TR_GetName(t->esys, tr, &n);
	if (rc != TSS2_RC_SUCCESS || n->size != len || memcmp(n->name, name, len) != 0) {
		(void)Esys_TR_Close(t->esys, &tr);
		return 0; /* another object took the handle: not keyd's to flush */
	}
	rc = TPM_CMD(t, Esys_FlushContext(t->esys, tr));
	if (rc != TSS2_RC_SUCCESS) {
		(void)Esys_TR_Close(t->esys, &tr);
		return tpm_fail_rc(t, rc, "cannot flush the object a previous keyd left loaded");
	}
	return 1;
}

keyd_tpm_held_key *keyd_tpm_held_key_free(keyd_tpm_held_key *h)
{
	if (!h)
		return NULL;
	keyd_tpm_held_key_unload(h);
	explicit_bzero(h, sizeof(*h));
	free(h);
	return NULL;
}

int keyd_tpm_held_key_new(const struct keyd_tpm_blob *b, keyd_tpm_held_key **ret)
{
	keyd_tpm_held_key *h;
	int r;

	if (!b || !ret)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->blob = *b;
	h->loaded = ESYS_TR_NONE;
	r = keyd_tpm_key_public(b, &h->pk);
	if (r == 0)
		r = blob_name_compute(b, &h->name);
	if (r < 0) {
		keyd_tpm_held_key_free(h);
		return r;
	}
	*ret = h;
	return 0;
}

bool keyd_tpm_held_key_is(const keyd_tpm_held_key *h, const struct keyd_tpm_blob *b)
{
	return h && b && h->blob.parent == b->parent && h->blob.pub_len == b->pub_len &&
	       h->blob.priv_len == b->priv_len &&
	       memcmp(h->blob.pub, b->pub, b->pub_len) == 0 &&
	       memcmp(h->blob.priv, b->priv, b->priv_len) == 0;
}

const struct keyd_pubkey *keyd_tpm_held_key_public(const keyd_tpm_held_key *h)
{
	return &h->pk;
}

const struct keyd_tpm_blob *keyd_tpm_held_key_blob(const keyd_tpm_held_key *h)
{
	return &h->blob;
}

/* Load the blob and save its context: Load, ContextSave, and FlushContext unless
 * keep, which leaves the key loaded for the signature that follows. */
static int held_save(keyd_tpm *t, keyd_tpm_held_key *h, bool keep)
{
	_cleanup_tr_ struct tpm_tr obj = { t, ESYS_TR_NONE };
	_cleanup_esys_ TPMS_CONTEXT *ctx = NULL;
	TSS2_RC rc;
	int r;

	keyd_tpm_held_key_unload(h);
	h->saved = false;
	r = object_load(t, &h->blob, &obj, NULL);
	if (r < 0)
		return r;
	/* ContextSave leaves a transient object loaded (Part 3, 28.2); the cleanup
	 * flushes it unless it is kept. */
	rc = TPM_CMD(t, Esys_ContextSave(t->esys, obj.tr, &ctx));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail_rc(t, rc, "cannot save the key's context");
	h->context = *ctx;
	h->saved = true;
	if (keep) {
		h->loaded_on = t;
		h->loaded = obj.tr;
		obj.tr = ESYS_TR_NONE;
	}
	return 0;
}

int keyd_tpm_key_hold(keyd_tpm *t, keyd_tpm_held_key *h)
{
	int r;

	r = tpm_ready(t);
	if (r < 0)
		return r;
	if (!h)
		return tpm_fail(t, -EINVAL, "no key");
	return held_save(t, h, false);
}

static void sign_session_drop(keyd_tpm *t)
{
	/* After a TPM reset the session is gone and the flush fails: no matter. */
	tpm_session_flush(t->tcti, &t->sign_session, &t->commands);
}

/* TPM2_Sign of the loaded key obj in the kept salted HMAC session. The session
 * authorises the key's empty auth, and its HMAC covers the key's Name: a held
 * handle that names another object by now (another program flushed keyd's key
 * and loaded its own at the same handle on a TPM without a resource manager, or
 * the TPM was reset) fails authorisation instead of signing with that object.
 * It also authenticates the response. The digest is not a secret, so it goes in
 * the clear (no decrypt attribute: no KDFa and AES per signature); the signature
 * is public. */
static TSS2_RC sign_in_session(keyd_tpm *t, ESYS_TR obj, const TPM2B_NAME *name,
			       const TPMT_SIG_SCHEME *scheme, const TPM2B_DIGEST *dig,
			       TPMT_SIGNATURE *ret)
{
	const TPMT_TK_HASHCHECK validation = {
		.tag = TPM2_ST_HASHCHECK,
		.hierarchy = TPM2_RH_NULL,
	};
	uint8_t params[sizeof(*dig) + sizeof(*scheme) + sizeof(validation)];
	uint8_t rsp[sizeof(TPMT_SIGNATURE) + 16];
	struct tpm_session_cmd c = {
		.cc = TPM2_CC_Sign,
		.params = params,
		.attrs = TPMA_SESSION_CONTINUESESSION,
	};
	size_t off = 0, len = 0;
	TSS2_RC rc;

	rc = Esys_TR_GetTpmHandle(t->esys, obj, &c.handle);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPM2B_DIGEST_Marshal(dig, params, sizeof(params), &off);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPMT_SIG_SCHEME_Marshal(scheme, params, sizeof(params), &off);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPMT_TK_HASHCHECK_Marshal(&validation, params, sizeof(params), &off);
	if (rc != TSS2_RC_SUCCESS)
		return rc;
	c.name = name;
	c.params_len = off;
	rc = tpm_session_run(t->tcti, &t->sign_session, &c, rsp, sizeof(rsp), &len,
			     &t->commands);
	if (rc != TSS2_RC_SUCCESS)
		return rc;
	off = 0;
	rc = Tss2_MU_TPMT_SIGNATURE_Unmarshal(rsp, len, &off, ret);
	if (rc == TSS2_RC_SUCCESS && off != len)
		rc = TSS2_ESYS_RC_MALFORMED_RESPONSE;
	return rc;
}

/* One attempt: the key loaded (kept from the last signature, or ContextLoad of
 * its saved context, or Load and ContextSave of its blob), StartAuthSession when
 * no session is kept, Sign. The key stays loaded. *ret_retry says whether a
 * failure may be cured by starting over from the blob and a new session (a TPM
 * reset or restart invalidates loaded objects, saved contexts and sessions). */
static int sign_held_once(keyd_tpm *t, keyd_tpm_held_key *h, ESYS_TR srk,
			  const TPMT_SIG_SCHEME *scheme, const TPM2B_DIGEST *dig,
			  uint8_t **ret_sig, size_t *ret_sig_len, bool *ret_retry)
{
	TPMT_SIGNATURE sig = {};
	ESYS_TR obj = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	*ret_retry = false;
	if (h->loaded_on && h->loaded_on != t)
		return tpm_fail(t, -EINVAL, "the key is loaded through another TPM connection");
	if (!h->saved) {
		r = held_save(t, h, true);
		if (r < 0)
			return r;
	} else if (!h->loaded_on) {
		rc = TPM_CMD(t, Esys_ContextLoad(t->esys, &h->context, &obj));
		if (rc != TSS2_RC_SUCCESS) {
			r = tpm_fail_rc(t, rc, "cannot load the saved context of the key");
			/* No free object slot: the context is still good, the TPM is full
			 * (other programs' objects); loading the blob would not help. */
			if (r == -ENOSPC)
				return r;
			/* What invalidates a saved context (a TPM reset) ended the session
			 * too. */
			h->saved = false;
			sign_session_drop(t);
			*ret_retry = r != -ENODEV;
			return r;
		}
		h->loaded_on = t;
		h->loaded = obj;
	}
	if (t->sign_session.handle == 0) {
		/* Kept (continueSession) until close or a failure. */
		r = fast_session_start(t, srk, &t->sign_session);
		if (r < 0)
			return r;
	}
	rc = sign_in_session(t, h->loaded, &h->name, scheme, dig, &sig);
	if (rc != TSS2_RC_SUCCESS) {
		/* Nothing of this attempt stays: not the session, not the loaded key.
		 * A handle the TPM says names nothing (a TPM reset) is forgotten, not
		 * flushed; one that names another object fails the HMAC (its Name
		 * differs) and is not flushed either: it is not keyd's. */
		sign_session_drop(t);
		if (rc_base(rc) == TPM2_RC_HANDLE || rc_base(rc) == TPM2_RC_REFERENCE_H0 ||
		    rc_base(rc) == TPM2_RC_BAD_AUTH || rc_base(rc) == TPM2_RC_AUTH_FAIL)
			held_forget(h);
		else
			keyd_tpm_held_key_unload(h);
		r = tpm_fail_rc(t, rc, "cannot sign with the key");
		/* A refused scheme or a lost TPM stays refused or lost. */
		*ret_retry = r != -EOPNOTSUPP && r != -ENODEV && r != -EBUSY;
		return r;
	}
	return signature_out(t, &sig, ret_sig, ret_sig_len);
}

int keyd_tpm_sign_held(keyd_tpm *t, keyd_tpm_held_key *h, enum keyd_sig_scheme scheme,
		       enum keyd_hash_alg hash, const uint8_t *digest, size_t digest_len,
		       uint8_t **ret_sig, size_t *ret_sig_len)
{
	TPMT_SIG_SCHEME in_scheme = {};
	TPM2B_DIGEST dig = {};
	bool retry = false;
	ESYS_TR srk;
	int r;

	r = tpm_ready(t);
	if (r < 0)
		return r;
	if (!h || !digest || !ret_sig || !ret_sig_len)
		return tpm_fail(t, -EINVAL, "missing argument to sign");
	r = sign_args(t, h->pk.alg, scheme, hash, digest, digest_len, &in_scheme, &dig);
	if (r < 0)
		return r;

	r = srk_get(t, &srk);
	if (r < 0)
		return r;
	r = sign_held_once(t, h, srk, &in_scheme, &dig, ret_sig, ret_sig_len, &retry);
	if (r < 0 && retry) {
		/* Start over from the blob with a new session, once. */
		log_debug("tpm: %s; retrying from the key blob", t->error);
		h->saved = false;
		r = sign_held_once(t, h, srk, &in_scheme, &dig, ret_sig, ret_sig_len, &retry);
	}
	return r;
}

/* ---- PCR policies -------------------------------------------------------------------- */

static void pcr_selection(TPMI_ALG_HASH bank, uint32_t mask, TPML_PCR_SELECTION *ret)
{
	*ret = (TPML_PCR_SELECTION){
		.count = 1,
		.pcrSelections[0] = {
			.hash = bank,
			.sizeofSelect = 3,
			.pcrSelect = { mask & 0xff, (mask >> 8) & 0xff, (mask >> 16) & 0xff },
		},
	};
}

static void pcr_list_format(uint32_t mask, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < KEYD_TPM_PCR_MAX && len < size; i++)
		if (mask & (1u << i)) {
			int n = snprintf(buf + len, size - len, "%s%u", len ? ", " : "", i);

			if (n < 0)
				break;
			len += (size_t)n;
		}
}

/* Read the PCRs in mask from bank into values[i] (bank digest size each). A TPM
 * returns at most 8 digests per PCR_Read, so this loops over what is left. */
static int pcr_read(keyd_tpm *t, enum keyd_hash_alg h, uint32_t mask,
		    uint8_t values[KEYD_TPM_PCR_MAX][64])
{
	TPMI_ALG_HASH bank = hash_to_tpm(h);
	size_t dsize = keyd_hash_alg_size(h);
	uint32_t left = mask;

	for (unsigned round = 0; left && round < KEYD_TPM_PCR_MAX; round++) {
		_cleanup_esys_ TPML_PCR_SELECTION *out_sel = NULL;
		_cleanup_esys_ TPML_DIGEST *out_val = NULL;
		TPML_PCR_SELECTION sel;
		uint32_t counter, got = 0;
		unsigned k = 0;
		TSS2_RC rc;

		pcr_selection(bank, left, &sel);
		rc = TPM_CMD(t, Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					      &sel, &counter, &out_sel, &out_val));
		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail_rc(t, rc, "cannot read the PCRs");
		for (uint32_t s = 0; s < out_sel->count && s < TPM2_NUM_PCR_BANKS; s++) {
			const TPMS_PCR_SELECTION *ps = &out_sel->pcrSelections[s];

			if (ps->hash != bank)
				continue;
			for (unsigned b = 0; b < ps->sizeofSelect && b < 3; b++)
				got |= (uint32_t)ps->pcrSelect[b] << (8 * b);
		}
		got &= left;
		if (got == 0)
			break;
		/* Digests come in ascending PCR order of the returned selection. */
		for (unsigned i = 0; i < KEYD_TPM_PCR_MAX; i++) {
			if (!(got & (1u << i)))
				continue;
			if (k >= out_val->count || out_val->digests[k].size != dsize)
				return tpm_fail(t, -EIO, "the TPM returned malformed PCR values");
			memcpy(values[i], out_val->digests[k].buffer, dsize);
			k++;
		}
		left &= ~got;
	}
	/* PCR_Read leaves out what is not allocated: no capability query needed. */
	if (left) {
		char list[128];

		pcr_list_format(left, list, sizeof(list));
		return tpm_fail(t, -EOPNOTSUPP,
				"the TPM has no PCR %s allocated in the %s bank; choose another "
				"bank (keyd-ctl tpm info lists them) or allocate it with "
				"tpm2_pcrallocate", list, keyd_hash_alg_to_string(h));
	}
	return 0;
}

/* pcrDigest for TPM2_PolicyPCR: the session hash (SHA-256) over the selected PCR
 * values in ascending order (TPM 2.0 Part 3, PolicyPCR). */
static int pcr_digest(const struct keyd_pcr_policy *p, uint8_t out[32])
{
	uint8_t buf[KEYD_TPM_PCR_MAX * 64];
	size_t dsize = keyd_hash_alg_size(p->bank), len = 0;

	for (unsigned i = 0; i < KEYD_TPM_PCR_MAX; i++)
		if (p->mask & (1u << i)) {
			memcpy(buf + len, p->values[i], dsize);
			len += dsize;
		}
	return keyd_crypto_hash(KEYD_HASH_SHA256, buf, len, out);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* The policy digest a sealed object gets as authPolicy, in software
 * (TPM 2.0 Part 1, 19.7.8 and Part 3 PolicyPCR/PolicyAuthValue):
 *   d1 = H(0^32 || TPM_CC_PolicyPCR || TPML_PCR_SELECTION || pcrDigest)
 *   d2 = H(d1 || TPM_CC_PolicyAuthValue)
 * Also fills the steps the TSS2 file records. */
static int policy_compute(const struct keyd_pcr_policy *p, uint8_t digest[32],
			  struct keyd_tpm_policy_step steps[KEYD_TPM_POLICY_STEPS_MAX],
			  size_t *ret_n_steps)
{
	uint8_t buf[32 + 4 + 64 + 32];
	size_t n = 0;
	int r;

	memset(digest, 0, 32);
	if (p->mask) {
		TPML_PCR_SELECTION sel;
		TPM2B_DIGEST pd = { .size = 32 };
		size_t off = 32 + 4, soff = 0;

		pcr_selection(hash_to_tpm(p->bank), p->mask, &sel);
		r = pcr_digest(p, pd.buffer);
		if (r < 0)
			return r;
		memcpy(buf, digest, 32);
		put_be32(buf + 32, TPM2_CC_PolicyPCR);
		if (Tss2_MU_TPML_PCR_SELECTION_Marshal(&sel, buf, sizeof(buf) - 32, &off) !=
		    TSS2_RC_SUCCESS)
			return -EIO;
		memcpy(buf + off, pd.buffer, 32);
		off += 32;
		r = keyd_crypto_hash(KEYD_HASH_SHA256, buf, off, digest);
		if (r < 0)
			return r;
		if (steps) {
			/* draft-bottomley-tpm2-keys: commandPolicy is the TPM-ordered command
			 * body, for PolicyPCR TPM2B_DIGEST pcrDigest || TPML_PCR_SELECTION
			 * (as GRUB's tpm2key reader expects). */
			steps[n].command_code = TPM2_CC_PolicyPCR;
			if (Tss2_MU_TPM2B_DIGEST_Marshal(&pd, steps[n].params,
							 sizeof(steps[n].params), &soff) !=
				    TSS2_RC_SUCCESS ||
			    Tss2_MU_TPML_PCR_SELECTION_Marshal(&sel, steps[n].params,
							       sizeof(steps[n].params), &soff) !=
				    TSS2_RC_SUCCESS)
				return -EIO;
			steps[n].params_len = soff;
		}
		n++;
	}
	if (p->pin) {
		memcpy(buf, digest, 32);
		put_be32(buf + 32, TPM2_CC_PolicyAuthValue);
		r = keyd_crypto_hash(KEYD_HASH_SHA256, buf, 36, digest);
		if (r < 0)
			return r;
		if (steps) {
			steps[n].command_code = TPM2_CC_PolicyAuthValue;
			steps[n].params_len = 0;
		}
		n++;
	}
	if (ret_n_steps)
		*ret_n_steps = n;
	return 0;
}

static int policy_validate(keyd_tpm *t, const struct keyd_pcr_policy *p)
{
	if (!p)
		return tpm_fail(t, -EINVAL, "no policy");
	if (p->mask >> KEYD_TPM_PCR_MAX)
		return tpm_fail(t, -EINVAL, "PCR index out of range (0-23)");
	if (p->mask && hash_to_tpm(p->bank) == TPM2_ALG_ERROR)
		return tpm_fail(t, -EINVAL, "unknown PCR bank");
	return 0;
}

int keyd_tpm_policy_check(keyd_tpm *t, const struct keyd_pcr_policy *policy,
			  uint32_t *ret_changed_mask)
{
	uint8_t now[KEYD_TPM_PCR_MAX][64];
	uint32_t changed = 0;
	size_t dsize;
	char list[128];
	int r;

	if (ret_changed_mask)
		*ret_changed_mask = 0;
	r = tpm_ready(t);
	if (r < 0)
		return r;
	r = policy_validate(t, policy);
	if (r < 0)
		return r;
	if (!policy->mask)
		return 0;
	dsize = keyd_hash_alg_size(policy->bank);
	r = pcr_read(t, policy->bank, policy->mask, now);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < KEYD_TPM_PCR_MAX; i++)
		if ((policy->mask & (1u << i)) && memcmp(now[i], policy->values[i], dsize) != 0)
			changed |= 1u << i;
	if (ret_changed_mask)
		*ret_changed_mask = changed;
	if (!changed)
		return 0;
	pcr_list_format(changed, list, sizeof(list));
	return tpm_fail(t, -ESTALE,
			"the boot state does not match the policy this secret was sealed to: "
			"PCR %s (%s) changed; re-seal it (keyd-ctl psk reseal) or restore the "
			"boot configuration", list, keyd_hash_alg_to_string(policy->bank));
}

/* ---- seal / unseal ----------------------------------------------------------------- */

static int pin_check(keyd_tpm *t, const struct keyd_pcr_policy *p, const char *pin,
		     TPM2B_AUTH *ret)
{
	size_t len;

	memset(ret, 0, sizeof(*ret));
	if (!p->pin)
		return 0;
	if (!pin || !*pin)
		return tpm_fail(t, -EACCES, "a PIN is required for this secret");
	len = strlen(pin);
	if (len > TPM_PIN_MAX)
		return tpm_fail(t, -EINVAL, "the PIN is longer than %d bytes", TPM_PIN_MAX);
	ret->size = len;
	memcpy(ret->buffer, pin, len);
	return 0;
}

int keyd_tpm_seal(keyd_tpm *t, const uint8_t *secret, size_t len, struct keyd_pcr_policy *policy,
		  const char *pin, struct keyd_tpm_blob *ret,
		  struct keyd_tpm_policy_step ret_steps[KEYD_TPM_POLICY_STEPS_MAX],
		  size_t *ret_n_steps)
{
	_cleanup_tr_ struct tpm_tr session = { t, ESYS_TR_NONE };
	_cleanup_esys_ TPM2B_PRIVATE *priv = NULL;
	_cleanup_esys_ TPM2B_PUBLIC *pub = NULL;
	_cleanup_(sensitive_create_wipe) TPM2B_SENSITIVE_CREATE sensitive = {};
	TPM2B_DATA outside = {};
	TPML_PCR_SELECTION creation_pcr = {};
	TPM2B_PUBLIC tmpl = {};
	uint8_t digest[32];
	size_t n_steps = 0;
	ESYS_TR srk;
	TSS2_RC rc;
	int r;

	r = tpm_ready(t);
	if (r < 0)
		return r;
	if (!secret || len == 0 || len > KEYD_TPM_SEAL_MAX || !ret)
		return tpm_fail(t, -EINVAL, "a sealed secret must be 1 to %d bytes",
				KEYD_TPM_SEAL_MAX);
	r = policy_validate(t, policy);
	if (r < 0)
		return r;
	r = pin_check(t, policy, pin, &sensitive.sensitive.userAuth);
	if (r < 0)
		return r;
	r = srk_get(t, &srk);
	if (r < 0)
		return r;
	if (policy->mask) {
		r = pcr_read(t, policy->bank, policy->mask, policy->values);
		if (r < 0)
			return r;
	}
	r = policy_compute(policy, digest, ret_steps, &n_steps);
	if (r < 0)
		return tpm_fail(t, r, "cannot compute the policy digest");

	tmpl.publicArea.type = TPM2_ALG_KEYEDHASH;
	tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	tmpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;
	/* A PIN-protected object is subject to dictionary-attack protection so that
	 * the PIN cannot be guessed quickly; without a PIN there is nothing to guess. */
	if (!policy->pin)
		tmpl.publicArea.objectAttributes |= TPMA_OBJECT_NODA;
	if (n_steps > 0) {
		tmpl.publicArea.authPolicy.size = 32;
		memcpy(tmpl.publicArea.authPolicy.buffer, digest, 32);
	} else
		/* No policy at all: the (empty) auth value in an HMAC session. */
		tmpl.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	tmpl.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	sensitive.sensitive.data.size = len;
	memcpy(sensitive.sensitive.data.buffer, secret, len);

	/* The secret and the PIN travel encrypted: inSensitive is the first command
	 * parameter, covered by the decrypt attribute of the salted session. */
	r = session_start(t, srk, TPM2_SE_HMAC, TPMA_SESSION_DECRYPT, &session);
	if (r < 0)
		return r;
	rc = TPM_CMD(t, Esys_Create(t->esys, srk, session.tr, ESYS_TR_NONE, ESYS_TR_NONE,
				    &sensitive, &tmpl, &outside, &creation_pcr, &priv, &pub, NULL,
				    NULL, NULL));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail_rc(t, rc, "cannot seal the secret");
	tpm_tr_session_ended(&session);
	r = blob_store(t, pub, priv, ret);
	if (r < 0)
		return r;
	if (ret_n_steps)
		*ret_n_steps = n_steps;
	return 0;
}

/* The sealed object's authPolicy must be the digest of the recorded policy:
 * checked before anything is sent, so a mismatch costs no TPM command. */
static int policy_matches_object(keyd_tpm *t, const struct keyd_pcr_policy *p,
				 const TPM2B_PUBLIC *pub)
{
	uint8_t digest[32];
	size_t n = 0;
	int r;

	r = policy_compute(p, digest, NULL, &n);
	if (r < 0)
		return tpm_fail(t, r, "cannot compute the policy digest");
	if (pub->publicArea.type != TPM2_ALG_KEYEDHASH)
		return tpm_fail(t, -EBADMSG, "the object is not sealed data");
	if (n == 0) {
		if (pub->publicArea.authPolicy.size == 0 &&
		    (pub->publicArea.objectAttributes & TPMA_OBJECT_USERWITHAUTH))
			return 0;
	} else if (pub->publicArea.authPolicy.size == 32 &&
		   memcmp(pub->publicArea.authPolicy.buffer, digest, 32) == 0)
		return 0;
	return tpm_fail(t, -EBADMSG,
			"the sealed object's policy does not match the policy recorded with it "
			"(PCRs, bank or PIN); the metadata is damaged or belongs to another "
			"object; restore it from a backup or re-seal the secret");
}

/* ---- unseal batches ---------------------------------------------------------------- */

static void unseal_session_drop(keyd_tpm *t, ESYS_TR *s)
{
	if (*s == ESYS_TR_NONE)
		return;
	/* A session the TPM no longer has (TPM reset) only needs ESYS's record gone. */
	if (TPM_CMD(t, Esys_FlushContext(t->esys, *s)) != TSS2_RC_SUCCESS)
		(void)Esys_TR_Close(t->esys, s);
	*s = ESYS_TR_NONE;
}

void keyd_tpm_unseal_batch_begin(keyd_tpm *t)
{
	if (t)
		t->unseal_batch = true;
}

void keyd_tpm_unseal_batch_end(keyd_tpm *t)
{
	if (!t)
		return;
	if (t->esys) {
		tpm_session_flush(t->tcti, &t->unseal_hmac, &t->commands);
		unseal_session_drop(t, &t->unseal_policy);
	}
	t->unseal_batch = false;
}

/* Copy what Unseal returned into ret and wipe it. */
static int unsealed_copy(keyd_tpm *t, TPM2B_SENSITIVE_DATA *out, struct keyd_secret *ret)
{
	int r = 0;

	if (out->size == 0 || out->size > KEYD_TPM_SEAL_MAX)
		r = tpm_fail(t, -EIO, "the TPM returned sealed data of a wrong size");
	else if (!(ret->data = malloc(out->size)))
		r = tpm_fail(t, -ENOMEM, "out of memory");
	else {
		memcpy(ret->data, out->buffer, out->size);
		ret->len = out->size;
	}
	explicit_bzero(out, sizeof(*out));
	return r;
}

/* As unsealed_copy() for what ESYS returned, which is freed too. */
static int unsealed_take(keyd_tpm *t, TPM2B_SENSITIVE_DATA *out, struct keyd_secret *ret)
{
	int r = unsealed_copy(t, out, ret);

	Esys_Free(out);
	return r;
}

/* An object without a policy: Load, then Unseal in the HMAC session *s of
 * tpm-session.c (started if it has no handle), the secret coming back encrypted
 * (encrypt attribute) and the response authenticated by the session's HMAC, then
 * FlushContext; all three sent by tpm-session.c for an object under the SRK, so
 * ESYS's crypto is not involved at all. keep: continueSession (a batch's kept
 * session); else the TPM ends the session with the Unseal. After a failure *s is
 * flushed. */
static int unseal_hmac(keyd_tpm *t, const struct keyd_tpm_blob *sealed, ESYS_TR srk,
		       struct tpm_session *s, bool keep, struct keyd_secret *ret)
{
	_cleanup_tr_ struct tpm_tr obj = { t, ESYS_TR_NONE };
	TPM2B_SENSITIVE_DATA out = {};
	TPM2B_NAME name;
	TPM2_HANDLE loaded = 0;
	bool used = false;
	uint8_t rsp[sizeof(out) + 16];
	struct tpm_session_cmd c = {
		.cc = TPM2_CC_Unseal,
		.attrs = TPMA_SESSION_ENCRYPT | (keep ? TPMA_SESSION_CONTINUESESSION : 0),
	};
	size_t len = 0, off = 0;
	TSS2_RC rc;
	int r;

	if (s->handle == 0) {
		r = fast_session_start(t, srk, s);
		if (r < 0)
			return r;
	}
	r = blob_name(t, sealed, &name);
	if (r < 0)
		goto fail;
	if (sealed->parent == KEYD_TPM_SRK_HANDLE) {
		/* Load without ESYS too (it would hash the public area through its
		 * backend): a password session for the SRK's empty auth, as object_load. */
		TPM2B_PUBLIC pub;
		TPM2B_PRIVATE priv;
		ESYS_TR srk_checked;

		r = blob_unmarshal(t, sealed, &pub, &priv);
		if (r < 0)
			goto fail;
		r = srk_get(t, &srk_checked);
		if (r < 0)
			goto fail;
		rc = tpm_session_load(t->tcti, KEYD_TPM_SRK_HANDLE, sealed->priv, sealed->priv_len,
				      sealed->pub, sealed->pub_len, &loaded, &t->commands);
		if (rc != TSS2_RC_SUCCESS) {
			r = tpm_fail_rc(t, rc, "cannot load the object under the SRK");
			goto fail;
		}
		c.handle = loaded;
	} else {
		r = object_load(t, sealed, &obj, NULL);
		if (r < 0)
			goto fail;
		rc = Esys_TR_GetTpmHandle(t->esys, obj.tr, &c.handle);
		if (rc != TSS2_RC_SUCCESS) {
			r = tpm_fail_rc(t, rc, "cannot unseal the secret");
			goto fail;
		}
	}
	c.name = &name;
	used = true;
	rc = tpm_session_run(t->tcti, s, &c, rsp, sizeof(rsp), &len, &t->commands);
	/* No transient object outlives the call. */
	tpm_session_flush_handle(t->tcti, loaded, &t->commands);
	if (rc == TSS2_RC_SUCCESS) {
		rc = Tss2_MU_TPM2B_SENSITIVE_DATA_Unmarshal(rsp, len, &off, &out);
		if (rc == TSS2_RC_SUCCESS && off != len)
			rc = TSS2_ESYS_RC_MALFORMED_RESPONSE;
	}
	explicit_bzero(rsp, sizeof(rsp));
	if (rc != TSS2_RC_SUCCESS) {
		explicit_bzero(&out, sizeof(out));
		r = tpm_fail_rc(t, rc, "cannot unseal the secret");
		goto fail;
	}
	return unsealed_copy(t, &out, ret);
fail:
	/* After a failed Unseal the session's state is not worth trusting; a single-use
	 * session that was never used is not left behind either. A kept session that
	 * did not take part (a damaged blob, a refused Load) serves the next object. */
	if (used || !keep)
		tpm_session_flush(t->tcti, s, &t->commands);
	return r;
}

/* keyd_tpm_unseal() in a batch: the kept session of the object's kind authorises
 * Unseal, started once with continueSession. The policy goes first, so a PCR
 * mismatch costs PolicyPCR and the PCR_Read that names the PCRs, and no Load. */
static int unseal_kept(keyd_tpm *t, const struct keyd_tpm_blob *sealed,
		       const struct keyd_pcr_policy *policy, const TPM2B_AUTH *auth, ESYS_TR srk,
		       struct keyd_secret *ret, uint32_t *ret_changed_mask)
{
	bool use_policy = policy->mask || policy->pin;
	ESYS_TR *kept = &t->unseal_policy;
	TPM2B_DIGEST pd = { .size = 32 };
	TPML_PCR_SELECTION sel = {};
	TSS2_RC rc = TSS2_RC_SUCCESS;
	int r;

	if (!use_policy)
		return unseal_hmac(t, sealed, srk, &t->unseal_hmac, true, ret);
	if (policy->mask) {
		pcr_selection(hash_to_tpm(policy->bank), policy->mask, &sel);
		r = pcr_digest(policy, pd.buffer);
		if (r < 0)
			return tpm_fail(t, r, "cannot compute the PCR digest");
	}
	for (unsigned attempt = 0;; attempt++) {
		_cleanup_tr_ struct tpm_tr obj = { t, ESYS_TR_NONE };
		TPM2B_SENSITIVE_DATA *out = NULL;

		if (*kept == ESYS_TR_NONE) {
			struct tpm_tr s = { t, ESYS_TR_NONE };

			r = session_start(t, srk, use_policy ? TPM2_SE_POLICY : TPM2_SE_HMAC,
					  TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION, &s);
			if (r < 0) {
				tpm_tr_flush(&s);
				return r;
			}
			*kept = s.tr;
		}
		if (policy->mask) {
			rc = TPM_CMD(t, Esys_PolicyPCR(t->esys, *kept, ESYS_TR_NONE, ESYS_TR_NONE,
						       ESYS_TR_NONE, &pd, &sel));
			if (rc_base(rc) == TPM2_RC_VALUE) {
				/* The PCRs differ from the recorded ones. A command that fails
				 * changes nothing, so the session stays as it was, fresh. */
				r = keyd_tpm_policy_check(t, policy, ret_changed_mask);
				return r < 0 ? r : tpm_fail_rc(t, rc, "the PCR policy failed");
			}
			if (rc != TSS2_RC_SUCCESS) {
				unseal_session_drop(t, kept);
				return tpm_fail_rc(t, rc, "the PCR policy failed");
			}
		}
		if (policy->pin) {
			rc = TPM_CMD(t, Esys_PolicyAuthValue(t->esys, *kept, ESYS_TR_NONE,
							     ESYS_TR_NONE, ESYS_TR_NONE));
			if (rc != TSS2_RC_SUCCESS) {
				unseal_session_drop(t, kept);
				return tpm_fail_rc(t, rc, "the PIN policy failed");
			}
		}
		r = object_load(t, sealed, &obj, NULL);
		if (r < 0) {
			/* The policy session holds this object's assertions now. */
			if (use_policy)
				unseal_session_drop(t, kept);
			return r;
		}
		_cleanup_(tpm_tr_wipe_auth) _unused_ struct tpm_tr *wipe = &obj;
		rc = Esys_TR_SetAuth(t->esys, obj.tr, auth);
		if (rc != TSS2_RC_SUCCESS) {
			unseal_session_drop(t, kept);
			return tpm_fail_rc(t, rc, "cannot set the PIN");
		}
		rc = TPM_CMD(t, Esys_Unseal(t->esys, obj.tr, *kept, ESYS_TR_NONE, ESYS_TR_NONE,
					    &out));
		if (rc == TSS2_RC_SUCCESS)
			/* continueSession: the TPM reset the policy session for the next use. */
			return unsealed_take(t, out, ret);
		/* After a failed authorisation the session's state is not worth trusting. */
		unseal_session_drop(t, kept);
		if (rc_base(rc) != TPM2_RC_PCR_CHANGED || attempt + 1 >= TPM_PCR_CHANGED_RETRIES)
			break;
		log_debug("tpm: PCRs changed during the policy session, retrying");
	}
	if (rc_base(rc) == TPM2_RC_AUTH_FAIL || rc_base(rc) == TPM2_RC_BAD_AUTH)
		return tpm_fail(t, -EACCES, "wrong PIN for this secret; try again (repeated "
				"failures put the TPM into dictionary-attack lockout) (TPM code "
				"0x%x: %s)", (unsigned)rc, Tss2_RC_Decode(rc));
	return tpm_fail_rc(t, rc, "cannot unseal the secret");
}

int keyd_tpm_unseal(keyd_tpm *t, const struct keyd_tpm_blob *sealed,
		    const struct keyd_pcr_policy *policy, const char *pin,
		    struct keyd_secret *ret, uint32_t *ret_changed_mask)
{
	_cleanup_tr_ struct tpm_tr obj = { t, ESYS_TR_NONE };
	_cleanup_(auth_wipe) TPM2B_AUTH auth = {};
	TPM2B_DIGEST pd = { .size = 32 };
	TPML_PCR_SELECTION sel = {};
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	bool use_policy;
	ESYS_TR srk;
	TSS2_RC rc = TSS2_RC_SUCCESS;
	int r;

	if (ret_changed_mask)
		*ret_changed_mask = 0;
	r = tpm_ready(t);
	if (r < 0)
		return r;
	if (!sealed || !ret)
		return tpm_fail(t, -EINVAL, "missing argument to unseal");
	r = policy_validate(t, policy);
	if (r < 0)
		return r;
	r = pin_check(t, policy, pin, &auth);
	if (r < 0)
		return r;
	r = blob_unmarshal(t, sealed, &pub, &priv);
	if (r < 0)
		return r;
	r = policy_matches_object(t, policy, &pub);
	if (r < 0)
		return r;
	r = srk_get(t, &srk);
	if (r < 0)
		return r;
	if (t->unseal_batch)
		return unseal_kept(t, sealed, policy, &auth, srk, ret, ret_changed_mask);
	if (!policy->mask && !policy->pin) {
		/* No policy: a single-use session of tpm-session.c, which the TPM ends
		 * with the Unseal. StartAuthSession, Load, Unseal, FlushContext. */
		struct tpm_session one = {};

		return unseal_hmac(t, sealed, srk, &one, false, ret);
	}
	/* Refuse early, with the PCRs named, before Unseal is ever sent. */
	r = keyd_tpm_policy_check(t, policy, ret_changed_mask);
	if (r < 0)
		return r;
	use_policy = policy->mask || policy->pin;
	if (policy->mask) {
		pcr_selection(hash_to_tpm(policy->bank), policy->mask, &sel);
		r = pcr_digest(policy, pd.buffer);
		if (r < 0)
			return tpm_fail(t, r, "cannot compute the PCR digest");
	}
	r = object_load(t, sealed, &obj, NULL);
	if (r < 0)
		return r;
	_cleanup_(tpm_tr_wipe_auth) _unused_ struct tpm_tr *wipe = &obj;
	rc = Esys_TR_SetAuth(t->esys, obj.tr, &auth);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail_rc(t, rc, "cannot set the PIN");

	for (unsigned attempt = 0;; attempt++) {
		_cleanup_tr_ struct tpm_tr session = { t, ESYS_TR_NONE };
		TPM2B_SENSITIVE_DATA *out = NULL;

		/* The secret comes back encrypted (encrypt attribute: the response's
		 * first parameter); the policy session is salted like the HMAC one. */
		r = session_start(t, srk, use_policy ? TPM2_SE_POLICY : TPM2_SE_HMAC,
				  TPMA_SESSION_ENCRYPT, &session);
		if (r < 0)
			return r;
		if (policy->mask) {
			rc = TPM_CMD(t, Esys_PolicyPCR(t->esys, session.tr, ESYS_TR_NONE,
						       ESYS_TR_NONE, ESYS_TR_NONE, &pd, &sel));
			if (rc_base(rc) == TPM2_RC_VALUE) {
				/* A PCR moved between our read and the policy: name it. */
				r = keyd_tpm_policy_check(t, policy, ret_changed_mask);
				return r < 0 ? r : tpm_fail_rc(t, rc, "the PCR policy failed");
			}
			if (rc != TSS2_RC_SUCCESS)
				return tpm_fail_rc(t, rc, "the PCR policy failed");
		}
		if (policy->pin) {
			rc = TPM_CMD(t, Esys_PolicyAuthValue(t->esys, session.tr, ESYS_TR_NONE,
							     ESYS_TR_NONE, ESYS_TR_NONE));
			if (rc != TSS2_RC_SUCCESS)
				return tpm_fail_rc(t, rc, "the PIN policy failed");
		}
		rc = TPM_CMD(t, Esys_Unseal(t->esys, obj.tr, session.tr, ESYS_TR_NONE, ESYS_TR_NONE,
					    &out));
		if (rc == TSS2_RC_SUCCESS) {
			tpm_tr_session_ended(&session);
			if (out->size == 0 || out->size > KEYD_TPM_SEAL_MAX) {
				explicit_bzero(out, sizeof(*out));
				Esys_Free(out);
				return tpm_fail(t, -EIO, "the TPM returned sealed data of a "
						"wrong size");
			}
			ret->data = malloc(out->size);
			if (!ret->data) {
				explicit_bzero(out, sizeof(*out));
				Esys_Free(out);
				return tpm_fail(t, -ENOMEM, "out of memory");
			}
			memcpy(ret->data, out->buffer, out->size);
			ret->len = out->size;
			explicit_bzero(out, sizeof(*out));
			Esys_Free(out);
			return 0;
		}
		if (rc_base(rc) != TPM2_RC_PCR_CHANGED || attempt + 1 >= TPM_PCR_CHANGED_RETRIES)
			break;
		log_debug("tpm: PCRs changed during the policy session, retrying");
	}
	if (rc_base(rc) == TPM2_RC_AUTH_FAIL || rc_base(rc) == TPM2_RC_BAD_AUTH)
		return tpm_fail(t, -EACCES, "wrong PIN for this secret; try again (repeated "
				"failures put the TPM into dictionary-attack lockout) (TPM code "
				"0x%x: %s)", (unsigned)rc, Tss2_RC_Decode(rc));
	return tpm_fail_rc(t, rc, "cannot unseal the secret");
}

/* ---- random ---------------------------------------------------------------------- */

int keyd_tpm_random(keyd_tpm *t, uint8_t *buf, size_t len)
{
	size_t done = 0;
	ESYS_TR srk = ESYS_TR_NONE;
	int r;

	r = tpm_ready(t);
	if (r < 0)
		return r;
	if (!buf || len > 64)
		return tpm_fail(t, -EINVAL, "at most 64 random bytes per call");
	/* Random bytes for keys must not cross the bus in the clear: use a salted
	 * session with the response encrypted when there is an SRK. */
	r = srk_lookup(t);
	if (r < 0)
		return r;
	if (r > 0) {
		r = srk_get(t, &srk);
		if (r < 0)
			return r;
	}
	while (done < len) {
		_cleanup_tr_ struct tpm_tr session = { t, ESYS_TR_NONE };
		_cleanup_esys_ TPM2B_DIGEST *out = NULL;
		TSS2_RC rc;
		size_t n;

		if (srk != ESYS_TR_NONE) {
			r = session_start(t, srk, TPM2_SE_HMAC, TPMA_SESSION_ENCRYPT, &session);
			if (r < 0)
				return r;
		}
		rc = TPM_CMD(t, Esys_GetRandom(t->esys, session.tr, ESYS_TR_NONE, ESYS_TR_NONE,
					       len - done, &out));
		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail_rc(t, rc, "cannot get random bytes from the TPM");
		tpm_tr_session_ended(&session);
		n = out->size < len - done ? out->size : len - done;
		if (n == 0)
			return tpm_fail(t, -EIO, "the TPM returned no random bytes");
		memcpy(buf + done, out->buffer, n);
		explicit_bzero(out->buffer, out->size);
		done += n;
	}
	return 0;
}

/* ---- info ------------------------------------------------------------------------- */

static void u32_chars(uint32_t v, char *out, size_t *len, size_t size)
{
	for (int s = 24; s >= 0; s -= 8) {
		char c = (char)((v >> s) & 0xff);

		if (c == '\0')
			continue;
		if (*len + 1 < size)
			out[(*len)++] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	out[*len] = '\0';
}

int keyd_tpm_get_info(keyd_tpm *t, struct keyd_tpm_info *ret)
{
	TPMI_YES_NO more = TPM2_YES;
	uint32_t prop = TPM2_PT_FIXED;
	size_t vlen = 0, mlen = 0;
	bool present = false;
	int r;

	r = tpm_ready(t);
	if (r < 0)
		return r;
	if (!ret)
		return tpm_fail(t, -EINVAL, "no output for the TPM info");
	memset(ret, 0, sizeof(*ret));

	/* The fixed properties (one or a few GetCapability rounds), then the one
	 * variable property keyd reports (TPM2_PT_PERMANENT: inLockout). */
	for (unsigned round = 0; more == TPM2_YES && round < 8; round++) {
		_cleanup_esys_ TPMS_CAPABILITY_DATA *cap = NULL;
		const TPML_TAGGED_TPM_PROPERTY *l;
		TSS2_RC rc;

		rc = get_cap(t, TPM2_CAP_TPM_PROPERTIES, prop, TPM2_MAX_TPM_PROPERTIES, &more,
			     &cap);
		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail_rc(t, rc, "cannot read the TPM's properties");
		l = &cap->data.tpmProperties;
		for (uint32_t i = 0; i < l->count && i < TPM2_MAX_TPM_PROPERTIES; i++) {
			uint32_t v = l->tpmProperty[i].value;

			prop = l->tpmProperty[i].property + 1;
			if (l->tpmProperty[i].property >= TPM2_PT_VAR) {
				more = TPM2_NO;
				break;
			}
			switch (l->tpmProperty[i].property) {
			case TPM2_PT_MANUFACTURER:
				mlen = 0;
				u32_chars(v, ret->manufacturer, &mlen, sizeof(ret->manufacturer));
				break;
			case TPM2_PT_VENDOR_STRING_1:
			case TPM2_PT_VENDOR_STRING_2:
			case TPM2_PT_VENDOR_STRING_3:
			case TPM2_PT_VENDOR_STRING_4:
				u32_chars(v, ret->vendor, &vlen, sizeof(ret->vendor));
				break;
			case TPM2_PT_LEVEL:
				ret->spec_level = v;
				break;
			case TPM2_PT_REVISION:
				ret->spec_revision = v;
				break;
			case TPM2_PT_YEAR:
				ret->spec_year = v;
				break;
			case TPM2_PT_FIRMWARE_VERSION_1:
				ret->firmware_version |= (uint64_t)v << 32;
				break;
			case TPM2_PT_FIRMWARE_VERSION_2:
				ret->firmware_version |= v;
				break;
			default:
				break;
			}
		}
		if (l->count == 0)
			break;
	}
	{
		_cleanup_esys_ TPMS_CAPABILITY_DATA *cap = NULL;
		TSS2_RC rc;

		rc = get_cap(t, TPM2_CAP_TPM_PROPERTIES, TPM2_PT_PERMANENT, 1, &more, &cap);
		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail_rc(t, rc, "cannot read the TPM's lockout state");
		if (cap->data.tpmProperties.count >= 1 &&
		    cap->data.tpmProperties.tpmProperty[0].property == TPM2_PT_PERMANENT)
			ret->lockout = cap->data.tpmProperties.tpmProperty[0].value &
				       TPMA_PERMANENT_INLOCKOUT;
	}

	r = caps_load(t);
	if (r < 0)
		return r;
	ret->alg_rsa = caps_has_alg(t, TPM2_ALG_RSA);
	ret->alg_ecc = caps_has_alg(t, TPM2_ALG_ECC);
	ret->alg_aes = caps_has_alg(t, TPM2_ALG_AES);
	ret->alg_sha1 = caps_has_alg(t, TPM2_ALG_SHA1);
	ret->alg_sha256 = caps_has_alg(t, TPM2_ALG_SHA256);
	ret->alg_sha384 = caps_has_alg(t, TPM2_ALG_SHA384);
	ret->alg_sha512 = caps_has_alg(t, TPM2_ALG_SHA512);
	ret->curve_p256 = caps_has_curve(t, TPM2_ECC_NIST_P256);
	ret->curve_p384 = caps_has_curve(t, TPM2_ECC_NIST_P384);
	ret->curve_p521 = caps_has_curve(t, TPM2_ECC_NIST_P521);
	if (ret->alg_rsa)
		for (unsigned i = 0; i < 2; i++) {
			TPMT_PUBLIC_PARMS parms = {
				.type = TPM2_ALG_RSA,
				.parameters.rsaDetail = {
					.symmetric.algorithm = TPM2_ALG_NULL,
					.scheme.scheme = TPM2_ALG_NULL,
					.keyBits = i == 0 ? 2048 : 3072,
				},
			};
			TSS2_RC rc = TPM_CMD(t, Esys_TestParms(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
							       ESYS_TR_NONE, &parms));

			if (i == 0)
				ret->rsa2048 = rc == TSS2_RC_SUCCESS;
			else
				ret->rsa3072 = rc == TSS2_RC_SUCCESS;
		}
	{
		static const TPMI_ALG_HASH banks[4] = { TPM2_ALG_SHA256, TPM2_ALG_SHA384,
							TPM2_ALG_SHA512, TPM2_ALG_SHA1 };

		for (unsigned b = 0; b < 4; b++) {
			ret->pcr_allocated[b] = caps_bank_mask(t, banks[b]);
			if (ret->pcr_allocated[b])
				ret->pcr_banks_mask |= 1u << b;
		}
	}

	r = keyd_tpm_srk_lookup(t, &present, NULL, NULL);
	if (r < 0)
		return r;
	ret->srk_present = present;
	if (present)
		keyd_hex_encode(t->srk_name, t->srk_name_len, ret->srk_name_hex);
	return 0;
}

int keyd_tpm_pcr_bank_mask(keyd_tpm *t, enum keyd_hash_alg bank, uint32_t *ret_mask)
{
	TPMI_ALG_HASH b = hash_to_tpm(bank);
	int r;

	r = tpm_ready(t);
	if (r < 0)
		return r;
	if (b == TPM2_ALG_ERROR || !ret_mask)
		return tpm_fail(t, -EINVAL, "unknown PCR bank");
	r = caps_load(t);
	if (r < 0)
		return r;
	*ret_mask = caps_bank_mask(t, b);
	return 0;
}

/* ---- PCR policy text --------------------------------------------------------------- */

int keyd_pcr_policy_format(const struct keyd_pcr_policy *p, char *buf, size_t size)
{
	size_t len;
	int n;

	if (!p || !buf || size == 0)
		return -EINVAL;
	if (p->mask >> KEYD_TPM_PCR_MAX)
		return -EINVAL;
	if (p->mask == 0) {
		n = snprintf(buf, size, "none");
		return n < 0 || (size_t)n >= size ? -ENOBUFS : 0;
	}
	if (!keyd_hash_alg_to_string(p->bank))
		return -EINVAL;
	n = snprintf(buf, size, "%s:", keyd_hash_alg_to_string(p->bank));
	if (n < 0 || (size_t)n >= size)
		return -ENOBUFS;
	len = (size_t)n;
	for (unsigned i = 0; i < KEYD_TPM_PCR_MAX; i++) {
		if (!(p->mask & (1u << i)))
			continue;
		n = snprintf(buf + len, size - len, "%s%u", buf[len - 1] == ':' ? "" : ",", i);
		if (n < 0 || (size_t)n >= size - len)
			return -ENOBUFS;
		len += (size_t)n;
	}
	return 0;
}

int keyd_pcr_policy_parse(const char *s, struct keyd_pcr_policy *ret)
{
	struct keyd_pcr_policy p = { .bank = KEYD_HASH_SHA256 };
	const char *colon, *list;
	char item[8];

	if (!s || !ret)
		return -EINVAL;
	if (strlen(s) > 128)
		return -EINVAL;
	if (*s == '\0' || streq(s, "none")) {
		*ret = p;
		return 0;
	}
	colon = strchr(s, ':');
	if (colon) {
		char bank[16];
		size_t blen = (size_t)(colon - s);

		if (blen == 0 || blen >= sizeof(bank))
			return -EINVAL;
		memcpy(bank, s, blen);
		bank[blen] = '\0';
		p.bank = keyd_hash_alg_from_string(bank);
		if ((int)p.bank < 0)
			return streq(bank, "sha1") ? -EOPNOTSUPP : -EINVAL;
		list = colon + 1;
	} else
		list = s;
	if (*list == '\0')
		return -EINVAL;
	while (*list) {
		const char *comma = strchr(list, ',');
		size_t ilen = comma ? (size_t)(comma - list) : strlen(list);
		uint32_t idx;

		if (ilen == 0 || ilen >= sizeof(item))
			return -EINVAL;
		memcpy(item, list, ilen);
		item[ilen] = '\0';
		/* Decimal only, no sign, no leading zeros beyond "0". */
		if (item[0] < '0' || item[0] > '9' || (item[0] == '0' && ilen > 1))
			return -EINVAL;
		if (keyd_parse_u32(item, 10, &idx) < 0 || idx >= KEYD_TPM_PCR_MAX)
			return -EINVAL;
		if (p.mask & (1u << idx))
			return -EINVAL; /* duplicate */
		p.mask |= 1u << idx;
		if (!comma)
			break;
		list = comma + 1;
		if (*list == '\0')
			return -EINVAL; /* trailing comma */
	}
	*ret = p;
	return 0;
}
