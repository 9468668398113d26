/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A CA set of the store, ca/<set>.pem (written by keyd-ctl ca add), as DER
 * certificates for the kernel. No certificate library: see cert-bundle.h.
 */
#pragma once

#include <stddef.h>

#include "cert-bundle.h"
#include "store.h"

/* The certificates of ca/<set>.pem, in file order. -ENOENT no such set,
 * -EBADMSG damaged (reason names the file and the block), other -errno from the
 * store (reason holds its account). */
int keyd_ca_set_load(keyd_store *s, const char *set, struct keyd_cert_der **ret, size_t *ret_n,
		     char *reason, size_t reason_size);
