/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The per-thread last error of libkeyd-gnutls and errno -> GNUTLS_E_* (error.h).
 * Thread-local, so concurrent handshakes in one program do not see each other's
 * messages and no lock is needed.
 */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdarg.h>
#include <stdio.h>

#include "error.h"
#include "keyd-gnutls.h"

static _Thread_local char last_error[512];

_public_ const char *keyd_gnutls_last_error(void)
{
	return last_error;
}

int keyd_gnutls_error_set(int gnutls_error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return gnutls_error;
}

void keyd_gnutls_error_clear(void)
{
	last_error[0] = '\0';
}

int keyd_gnutls_error_from_errno(int r, enum keyd_gnutls_error_origin origin)
{
	switch (r) {
	case -ENOMEM:
		return GNUTLS_E_MEMORY_ERROR;
	case -EACCES:
	case -EPERM:
		return GNUTLS_E_INSUFFICIENT_CREDENTIALS;
	case -ETIMEDOUT:
		return GNUTLS_E_TIMEDOUT;
	case -ENOENT:
	case -ENOKEY:
	case -EKEYREVOKED:
	case -EKEYEXPIRED:
		/* Connecting, ENOENT is a missing socket: keyd is not running. */
		return origin == KEYD_GNUTLS_ORIGIN_CONNECT ? GNUTLS_E_PK_SIGN_FAILED
							    : GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE;
	case -EINVAL:
		/* keyd's answer to a scheme the key cannot do (client.h). */
		return origin == KEYD_GNUTLS_ORIGIN_REPLY ? GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM
							  : GNUTLS_E_INVALID_REQUEST;
	case -EOPNOTSUPP:
	case -EKEYREJECTED:
	case -EFBIG:
	case -EBADMSG:
		return origin == KEYD_GNUTLS_ORIGIN_KEYRING ? GNUTLS_E_KEYFILE_ERROR
							    : GNUTLS_E_PK_SIGN_FAILED;
	default:
		return origin == KEYD_GNUTLS_ORIGIN_KEYRING ? GNUTLS_E_KEYFILE_ERROR
							    : GNUTLS_E_PK_SIGN_FAILED;
	}
}
