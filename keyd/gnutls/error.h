/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libkeyd-gnutls internals: the per-thread last error and the translation of
 * keyd's -errno space into GNUTLS_E_* codes, done once here so every entry point
 * reports the same cause with the same code (the table in keyd-gnutls.h).
 */
#pragma once

#include "macro.h"

/* Record the sentence for keyd_gnutls_last_error() and return gnutls_error. */
int keyd_gnutls_error_set(int gnutls_error, const char *fmt, ...) _printf_(2, 3);
void keyd_gnutls_error_clear(void);

/* Where an -errno came from decides what it means: -ENOENT from connect() is
 * "keyd is not running", from a reply "no such key". */
enum keyd_gnutls_error_origin {
	KEYD_GNUTLS_ORIGIN_CONNECT, /* keyd_client_connect() */
	KEYD_GNUTLS_ORIGIN_REPLY,   /* keyd_client_sign()/keyd_client_get_pubkey() */
	KEYD_GNUTLS_ORIGIN_KEYRING, /* core/keyring.c */
};
int keyd_gnutls_error_from_errno(int r, enum keyd_gnutls_error_origin origin);
