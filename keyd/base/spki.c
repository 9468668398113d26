/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SubjectPublicKeyInfo of EC and RSA keys; see spki.h. */
#include <errno.h>
#include <stdbool.h>

#include "der.h"
#include "macro.h"
#include "spki.h"

#define OID_EC_PUBLIC_KEY "1.2.840.10045.2.1" /* RFC 5480 2.1.1 */
#define OID_RSA_ENCRYPTION "1.2.840.113549.1.1.1" /* RFC 8017 A.1 */

static const struct {
	const char *oid, *name;
} curves[] = {
	{ "1.2.840.10045.3.1.7", "P-256" }, /* secp256r1, RFC 5480 2.1.1.1 */
	{ "1.3.132.0.34", "P-384" },        /* secp384r1 */
	{ "1.3.132.0.35", "P-521" },        /* secp521r1 */
};

/* A DER reader error as this parser reports it: any malformation is -EBADMSG. */
static int bad(int r)
{
	return r < 0 ? -EBADMSG : 0;
}

static int parse_ec(struct keyd_der *alg, struct keyd_der bits, struct keyd_spki *ret)
{
	struct keyd_der oid;
	int r;

	/* ECParameters is a CHOICE; keyd writes only namedCurve (an OID). */
	r = keyd_der_read(alg, KEYD_DER_OID, &oid);
	if (r == -ENOMSG)
		return -EOPNOTSUPP;
	if (r < 0 || !keyd_der_empty(alg) || bits.len == 0)
		return -EBADMSG;
	for (size_t i = 0; i < ELEMENTSOF(curves); i++)
		if (keyd_der_oid_equal(&oid, curves[i].oid)) {
			*ret = (struct keyd_spki){ .kind = KEYD_SPKI_EC, .curve = curves[i].name,
						   .point = bits };
			return 0;
		}
	return -EOPNOTSUPP;
}

static int parse_rsa(struct keyd_der *alg, struct keyd_der bits, struct keyd_spki *ret)
{
	struct keyd_der params, key, n, e;
	int r;

	/* The parameters "SHALL be NULL"; an absent field is tolerated, anything else not. */
	if (!keyd_der_empty(alg)) {
		r = keyd_der_read(alg, KEYD_DER_NULL, &params);
		if (r < 0 || params.len != 0 || !keyd_der_empty(alg))
			return -EBADMSG;
	}
	/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } */
	r = keyd_der_read(&bits, KEYD_DER_SEQUENCE, &key);
	if (r < 0 || !keyd_der_empty(&bits))
		return -EBADMSG;
	r = keyd_der_read_uint(&key, &n);
	if (r >= 0)
		r = keyd_der_read_uint(&key, &e);
	if (r < 0 || !keyd_der_empty(&key) || n.len == 0 || e.len == 0)
		return -EBADMSG;
	*ret = (struct keyd_spki){ .kind = KEYD_SPKI_RSA, .n = n, .e = e };
	return 0;
}

int keyd_spki_parse(const uint8_t *der, size_t len, struct keyd_spki *ret)
{
	struct keyd_der in = { .p = der, .len = len }, spki, alg, oid, bits;
	int r;

	if (!der || !ret)
		return -EINVAL;
	r = bad(keyd_der_read(&in, KEYD_DER_SEQUENCE, &spki));
	if (r < 0 || !keyd_der_empty(&in))
		return -EBADMSG;
	r = bad(keyd_der_read(&spki, KEYD_DER_SEQUENCE, &alg));
	if (r >= 0)
		r = bad(keyd_der_read(&spki, KEYD_DER_BIT_STRING, &bits));
	if (r >= 0)
		r = bad(keyd_der_read(&alg, KEYD_DER_OID, &oid));
	if (r < 0 || !keyd_der_empty(&spki))
		return -EBADMSG;
	/* Both forms hold whole octets: no unused bits. */
	if (bits.len == 0 || bits.p[0] != 0)
		return -EBADMSG;
	bits.p++;
	bits.len--;
	if (keyd_der_oid_equal(&oid, OID_EC_PUBLIC_KEY))
		return parse_ec(&alg, bits, ret);
	if (keyd_der_oid_equal(&oid, OID_RSA_ENCRYPTION))
		return parse_rsa(&alg, bits, ret);
	return -EOPNOTSUPP;
}
