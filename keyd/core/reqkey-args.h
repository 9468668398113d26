/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The request-key callout's command line ("%k %t %d %c %u %g %T %P %S", as
 * /sbin/request-key passes it), message quoting and the classes of failure.
 * libc only: the part of keyd-request-key that asks keyd needs no
 * cryptographic or TPM library, so it starts as fast as keyctl does; the
 * description grammar (reqkey.h) is checked by keyd, or by
 * keyd-request-key-direct when keyd is not running.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYD_REQKEY_DESC_MAX 4095   /* the kernel's limit on a description */
#define KEYD_REQKEY_TYPE_MAX 31     /* ... and on a key type name */
#define KEYD_REQKEY_CALLOUT_MAX 1024 /* keyd's limit (the protocol's callout field) */
#define KEYD_REQKEY_ARGS 9          /* %k %t %d %c %u %g %T %P %S */

/* The positional arguments of the callout, as /sbin/request-key passes them. */
struct keyd_reqkey_args {
	int32_t key;          /* %k: the key under construction (> 0) */
	const char *type;     /* %t */
	const char *description; /* %d */
	const char *callout;  /* %c */
	uint32_t uid, gid;    /* %u %g: the requester's fsuid and fsgid */
	int32_t thread_ring, process_ring, session_ring; /* %T %P %S: 0 when none */
};

/* Parse argv[0..argc) (the nine values only, no program name or options) into
 * *ret (views into argv). Key ids are decimal, as request-key writes them: %k
 * must be > 0; %T %P %S may be 0 (no such keyring). uid and gid are decimal
 * u32. -EINVAL with reason for a wrong count or a bad number. Does not look at
 * type, description or callout beyond their lengths (keyd_reqkey_parse()). */
int keyd_reqkey_args_parse(int argc, char *const *argv, struct keyd_reqkey_args *ret,
			   char *reason, size_t reason_size);

/* Every description and callout keyd answers is printable ASCII (NQNs, store
 * names, base64): true when s is, so anything else is refused before it is
 * sent anywhere (the socket protocol carries UTF-8 only). */
bool keyd_reqkey_text_is_plain(const char *s);

/* Whether a failure may go away by itself soon (no TPM yet, TPM busy or out of
 * memory, daemon starting): the negative key then gets the short timeout. */
bool keyd_reqkey_error_is_transient(int error);

/* Copy s into buf for a message: at most max_len bytes of it, control and
 * non-ASCII bytes as \xNN, "..." appended when cut. buf holds 4*max_len+4. */
void keyd_reqkey_quote(const char *s, size_t max_len, char *buf, size_t size);
