/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Logging for programs. Library code (core/, client/, provider, adapter) may
 * call log_debug() only; it reports failures by returning -errno.
 *
 * Messages go to stderr when it is a terminal or when the program chose
 * stderr, to syslog otherwise. User-controlled strings are quoted by the
 * caller ("'%s'").
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>

#include "macro.h"

enum keyd_log_target {
	KEYD_LOG_AUTO,   /* stderr on a terminal, syslog otherwise */
	KEYD_LOG_STDERR,
	KEYD_LOG_SYSLOG,
};

/* Program name used as prefix and syslog ident. Not copied. */
void keyd_log_open(const char *ident, enum keyd_log_target target);
void keyd_log_set_max_level(int level); /* LOG_ERR .. LOG_DEBUG */
int keyd_log_get_max_level(void);
/* Parse KEYD_LOG_LEVEL (err|warning|notice|info|debug or 3..7) from the environment. */
void keyd_log_parse_env(void);

/* Logs and returns -abs(error) so callers can write "return log_error_errno(r, ...)". */
int keyd_log_internal(int level, int error, const char *file, int line, const char *fmt, ...)
	_printf_(5, 6);

#include <syslog.h>

#define log_full_errno(level, error, ...) keyd_log_internal(level, error, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) (void)log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) (void)log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) (void)log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) (void)log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) (void)log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)
