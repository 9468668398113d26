/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PEM certificate bundles as the store keeps them (ca/<set>.pem, keys/<name>.crt,
 * keys/<name>.chain), turned into DER for the kernel: libc only (base/der.c), so
 * the boot path needs no certificate library. Enrollment checked the
 * certificates (x509.c); here a block that does not decode, or whose DER is not
 * one complete SEQUENCE, is an error for the whole file (it means damage).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define KEYD_CERT_BUNDLE_MAX 4096 /* certificates in one file (x509.h's bound) */

struct keyd_cert_der {
	uint8_t *der;
	size_t len;
};

/* Every "CERTIFICATE" block of text, in order. -ENODATA when there is none,
 * -EBADMSG for a garbled block (ret_index, may be NULL, then counts it from 1),
 * -E2BIG beyond KEYD_CERT_BUNDLE_MAX, -ENOMEM. */
int keyd_cert_bundle_from_pem(const char *text, size_t len, struct keyd_cert_der **ret,
			      size_t *ret_n, size_t *ret_index);
void keyd_cert_bundle_free(struct keyd_cert_der *certs, size_t n);
