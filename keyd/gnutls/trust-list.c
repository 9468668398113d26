/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A GnuTLS trust list from a kernel keyring (keyd-gnutls.h): the DER CA
 * certificates that keyd's policy puts in a ring as readable "user" keys
 * ("ca-set = NAME as user"). The kernel's "asymmetric" copies have no read
 * operation (shared/reference/handshake.md), so they are skipped, as is anything
 * else that is not a CA certificate: a keyring may also hold the host's own
 * certificate, which must not become a trust anchor.
 */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

#include "error.h"
#include "keyd-gnutls.h"
#include "keyring.h"
#include "log.h"
#include "macro.h"

/* A ring holds each CA twice at most (asymmetric and user) plus certificates and
 * references: more links than this is not a trust keyring. */
#define RING_LINKS_MAX (4 * KEYD_GNUTLS_TRUST_MAX)

/* The CA certificate in key serial, or NULL when it holds none (skipped). */
static gnutls_x509_crt_t read_ca(keyd_serial_t serial)
{
	_cleanup_secret_ struct keyd_secret der = { 0 };
	struct keyd_keyring_info info;
	gnutls_x509_crt_t crt = NULL;
	unsigned critical = 0;
	int r;

	r = keyd_keyring_describe(serial, &info);
	if (r < 0) {
		log_debug_errno(r, "trust: key %d: cannot describe it: %m", (int)serial);
		return NULL;
	}
	if (!streq(info.type, "user"))
		return NULL;
	r = keyd_keyring_read(serial, KEYD_GNUTLS_DER_MAX, &der);
	if (r < 0) {
		log_debug_errno(r, "trust: key %d: cannot read it: %m", (int)serial);
		return NULL;
	}
	if (gnutls_x509_crt_init(&crt) < 0)
		return NULL;
	/* basicConstraints: 1 = CA, 0 = not a CA, negative = absent. */
	if (gnutls_x509_crt_import(crt, &(gnutls_datum_t){ der.data, (unsigned)der.len },
				   GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_get_basic_constraints(crt, &critical, NULL, NULL) != 1) {
		log_debug("trust: key %d ('%s') is not a DER CA certificate", (int)serial,
			  info.description);
		gnutls_x509_crt_deinit(crt);
		return NULL;
	}
	return crt;
}

_public_ int keyd_gnutls_trust_list_from_keyring(gnutls_x509_trust_list_t list, int32_t ring)
{
	_cleanup_free_ keyd_serial_t *serials = NULL;
	gnutls_x509_crt_t cas[KEYD_GNUTLS_TRUST_MAX];
	size_t count = 0, n = 0;
	int r, g;

	keyd_gnutls_error_clear();
	if (!list)
		return keyd_gnutls_error_set(GNUTLS_E_INVALID_REQUEST,
					     "keyd_gnutls_trust_list_from_keyring: no list");
	r = keyd_keyring_list(ring, RING_LINKS_MAX, &serials, &count);
	if (r == -EFBIG)
		return keyd_gnutls_error_set(GNUTLS_E_KEYFILE_ERROR,
					     "keyring %d holds more than %d keys: not a trust "
					     "keyring", (int)ring, RING_LINKS_MAX);
	if (r < 0)
		return keyd_gnutls_error_set(keyd_gnutls_error_from_errno(r,
								      KEYD_GNUTLS_ORIGIN_KEYRING),
					     "cannot list keyring %d: %s", (int)ring, strerror(-r));
	for (size_t i = 0; i < count; i++) {
		gnutls_x509_crt_t crt = read_ca(serials[i]);

		if (!crt)
			continue;
		if (n == KEYD_GNUTLS_TRUST_MAX) {
			gnutls_x509_crt_deinit(crt);
			r = keyd_gnutls_error_set(GNUTLS_E_KEYFILE_ERROR,
						  "keyring %d holds more than %d CA certificates",
						  (int)ring, KEYD_GNUTLS_TRUST_MAX);
			goto fail;
		}
		cas[n++] = crt;
	}
	if (n == 0)
		return 0;
	/* The list takes the certificates (duplicates of ones it has are freed). */
	g = gnutls_x509_trust_list_add_cas(list, cas, (unsigned)n, GNUTLS_TL_NO_DUPLICATES);
	if (g < 0)
		return keyd_gnutls_error_set(g, "GnuTLS refuses the CA certificates: %s",
					     gnutls_strerror(g));
	return (int)n;
fail:
	for (size_t i = 0; i < n; i++)
		gnutls_x509_crt_deinit(cas[i]);
	return r;
}
