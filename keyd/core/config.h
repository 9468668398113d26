/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /etc/keyd/keyd.conf, keyd.conf(5): "key = value" lines, '#' comments at the
 * start of a line, blank lines. Every key is optional; a missing file means all
 * defaults. Strict: unknown or repeated keys, bad values, over-long lines and
 * control characters are errors, each reported as "FILE:LINE: reason" (user
 * text quoted '...' with control and non-ASCII bytes escaped) in a
 * NULL-terminated vector the caller frees with strv_free().
 *
 *   key            default               value
 *   store          /var/lib/keyd         absolute path
 *   tcti           device:/dev/tpmrm0    TCTI string (device:, swtpm:, mssim:, tabrmd:)
 *   policy-dir     /etc/keyd/policy.d    absolute path
 *   socket         /run/keyd/keyd.sock   absolute path, at most 107 bytes (sun_path)
 *   enroll-group   keyd                  group allowed to enroll; "root" = only root
 *   log-level      info                  err, warning, notice, info, debug
 *   tpm-wait       30                    seconds to wait for the TPM device (early boot), 0..600
 *   max-clients    64                    socket connections served at once, 1..1024
 *   sign-hold-ms   500                   how long a signing key stays loaded in the TPM
 *                                        after its last signature, 0..60000
 *
 * Environment (keyd_config_apply_env(), after the file): KEYD_TCTI replaces tcti,
 * KEYD_ROOT replaces store; both are validated like the file's values.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define KEYD_CONFIG_DEFAULT_PATH "/etc/keyd/keyd.conf"
#define KEYD_CONFIG_LINE_MAX 1024
#define KEYD_CONFIG_FILE_MAX (64 * 1024)
#define KEYD_CONFIG_ERRORS_MAX 32
#define KEYD_CONFIG_PATH_MAX 4095
#define KEYD_CONFIG_SOCKET_MAX 107  /* sizeof(sun_path) - 1 */
#define KEYD_CONFIG_TCTI_MAX 256
#define KEYD_CONFIG_TPM_WAIT_MAX 600
#define KEYD_CONFIG_MAX_CLIENTS_MAX 1024
#define KEYD_CONFIG_SIGN_HOLD_MS_MAX 60000

#define KEYD_CONFIG_DEFAULT_STORE "/var/lib/keyd"
#define KEYD_CONFIG_DEFAULT_TCTI "device:/dev/tpmrm0"
#define KEYD_CONFIG_DEFAULT_POLICY_DIR "/etc/keyd/policy.d"
#define KEYD_CONFIG_DEFAULT_SOCKET "/run/keyd/keyd.sock"
#define KEYD_CONFIG_DEFAULT_ENROLL_GROUP "keyd"
#define KEYD_CONFIG_DEFAULT_TPM_WAIT 30
#define KEYD_CONFIG_DEFAULT_MAX_CLIENTS 64
#define KEYD_CONFIG_DEFAULT_SIGN_HOLD_MS 500

/* Plain values; the strings are owned by the struct (keyd_config_done()). */
struct keyd_config {
	char *store;
	char *tcti;
	char *policy_dir;
	char *socket;
	char *enroll_group; /* a group name or a decimal gid; resolved by the daemon */
	int log_level;      /* LOG_ERR .. LOG_DEBUG (syslog.h) */
	uint32_t tpm_wait;  /* seconds */
	uint32_t max_clients;
	uint32_t sign_hold_ms;
};

/* Fill c with the defaults. -ENOMEM. */
int keyd_config_init(struct keyd_config *c);
/* Free the strings; c may then be initialised again. Accepts a zeroed struct. */
void keyd_config_done(struct keyd_config *c);

/* Apply the text of one file (name is used in messages) over the values in c.
 * All or nothing: on any error c is unchanged, -EBADMSG is returned and the
 * errors are in *ret_errors (may be NULL; set to NULL on success). */
int keyd_config_parse(struct keyd_config *c, const char *name, const char *text, size_t len,
		      char ***ret_errors);

enum {
	/* The file must be owned by root (or the caller's euid) and not writable by
	 * group or others. */
	KEYD_CONFIG_CHECK_OWNER = 1 << 0,
};

/* Read path (NULL: KEYD_CONFIG_DEFAULT_PATH) and apply it over c. Returns 1 when
 * the file was read, 0 when it does not exist (c untouched: the defaults stand),
 * -EBADMSG with *ret_errors for a bad file (too big, unreadable, wrong owner or
 * mode, or any parse error). */
int keyd_config_load(struct keyd_config *c, const char *path, unsigned flags, char ***ret_errors);

/* KEYD_TCTI and KEYD_ROOT over c. All or nothing; -EBADMSG with "KEYD_ROOT: reason"
 * lines in *ret_errors. */
int keyd_config_apply_env(struct keyd_config *c, char ***ret_errors);

/* The effective configuration as keyd.conf text (for keyd --test-config). */
int keyd_config_format(const struct keyd_config *c, char **ret);

const char *keyd_config_log_level_to_string(int level); /* NULL if not one of the five */
int keyd_config_log_level_from_string(const char *s);   /* LOG_* or -EINVAL */
