/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a request_key() upcall asks keyd-request-key for, parsed strictly from
 * what crosses the kernel boundary: the command line /sbin/request-key builds
 * from /etc/request-key.d/keyd.conf ("%k %t %d %c %u %g %T %P %S", see
 * request-key.conf(5)) and the callout data read through the authorisation key.
 * No I/O here, so the parser has a unit test and a fuzz target
 * (tests/unit/test-reqkey.c, tests/fuzz/fuzz-reqkey.c).
 *
 * The descriptions keyd answers (keyd-request-key(8)):
 *   psk   "NVMe0Rhh <hostnqn> <subnqn>"            v0 identity
 *   psk   "NVMe1Rhh <hostnqn> <subnqn> <digest>"   v1 identity
 *   psk   "NVMe1Rhh <hostnqn> <subnqn>"            v1 prefix: the kernel's nvme
 *                                                 code looks PSKs up by prefix
 *   user  "keyd:psk:<identity>"                    the same TLS PSK as a user key,
 *                                                 for kernels without the psk type
 *   user  "keyd:cert:<name>"                       DER certificate of store key <name>
 *   user  "keyd:ca:<set>"                          DER certificates of CA set <set>,
 *                                                 concatenated in file order
 * Anything else is not keyd's: -EINVAL, and the program rejects the key.
 *
 * Callout data: empty, or space-separated words; the only word defined is
 * "timeout=SECONDS" (1..KEYD_REQKEY_TIMEOUT_MAX), the expiry of the key made.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "psk.h"
#include "reqkey-args.h"

#define KEYD_REQKEY_TIMEOUT_MAX 315360000u /* ten years, as the policy's timeouts */
#define KEYD_REQKEY_NAME_MAX 64     /* store names (keyd_name_is_valid) */

enum keyd_reqkey_kind {
	KEYD_REQKEY_PSK,      /* type psk, an NVMe identity (or a v1 prefix) */
	KEYD_REQKEY_USER_PSK, /* type user, "keyd:psk:<identity>" */
	KEYD_REQKEY_CERT,     /* type user, "keyd:cert:<name>" */
	KEYD_REQKEY_CA,       /* type user, "keyd:ca:<set>" */
	_KEYD_REQKEY_KIND_MAX,
};

/* A classified request. The strings are copies owned by the struct. */
struct keyd_reqkey_request {
	enum keyd_reqkey_kind kind;
	char type[KEYD_REQKEY_TYPE_MAX + 1];
	char description[KEYD_REQKEY_DESC_MAX + 1];
	/* PSK, USER_PSK: the identity (without "keyd:psk:"), parsed. */
	char identity[KEYD_PSK_IDENTITY_MAX];
	struct keyd_psk_identity_parts parts;
	bool prefix; /* a v1 identity without its digest */
	/* CERT, CA: the store name. */
	char name[KEYD_REQKEY_NAME_MAX + 1];
	/* From the callout data: seconds until the key expires, 0 = none. */
	uint32_t timeout;
};

/* Classify (type, description) and parse callout (may be NULL = empty). 0 and
 * *ret; -EINVAL not a description keyd answers or bad callout words (reason
 * says which); -EMSGSIZE longer than the limits; -EBADMSG a control byte.
 * ret is fully initialised on every path. */
int keyd_reqkey_parse(const char *type, const char *description, const char *callout,
		      struct keyd_reqkey_request *ret, char *reason, size_t reason_size);

/* Whether answering needs the TPM (PSKs are sealed; certificates are not). */
bool keyd_reqkey_needs_tpm(const struct keyd_reqkey_request *r);

/* "psk", "user-psk", "cert", "ca" */
const char *keyd_reqkey_kind_to_string(enum keyd_reqkey_kind k);

