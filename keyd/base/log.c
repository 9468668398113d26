/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "parse.h"

static const char *log_ident = "keyd";
static enum keyd_log_target log_target = KEYD_LOG_STDERR;
static int log_max_level = LOG_INFO;
static bool syslog_opened;

void keyd_log_open(const char *ident, enum keyd_log_target target)
{
	if (ident)
		log_ident = ident;
	if (target == KEYD_LOG_AUTO)
		target = isatty(STDERR_FILENO) ? KEYD_LOG_STDERR : KEYD_LOG_SYSLOG;
	log_target = target;
	if (target == KEYD_LOG_SYSLOG && !syslog_opened) {
		openlog(log_ident, LOG_PID | LOG_CONS, LOG_DAEMON);
		syslog_opened = true;
	}
}

void keyd_log_set_max_level(int level)
{
	if (level >= LOG_EMERG && level <= LOG_DEBUG)
		log_max_level = level;
}

int keyd_log_get_max_level(void)
{
	return log_max_level;
}

void keyd_log_parse_env(void)
{
	static const char *const names[] = {
		[LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
		[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
	};
	const char *e = getenv("KEYD_LOG_LEVEL");
	uint32_t v;

	if (!e)
		return;
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (names[i] && strcasecmp(e, names[i]) == 0) {
			log_max_level = (int)i;
			return;
		}
	if (keyd_parse_u32(e, 10, &v) >= 0 && v <= LOG_DEBUG)
		log_max_level = (int)v;
}

int keyd_log_internal(int level, int error, const char *file, int line, const char *fmt, ...)
{
	int saved = errno;
	char buf[2048];
	va_list ap;

	if (error < 0)
		error = -error;
	if (level > log_max_level) {
		errno = saved;
		return -error;
	}

	/* %m refers to the error we were given, not whatever errno happens to hold. */
	errno = error;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	if (log_target == KEYD_LOG_SYSLOG) {
		syslog(level, "%s", buf);
	} else if (level == LOG_DEBUG) {
		fprintf(stderr, "%s: debug: %s (%s:%d)\n", log_ident, buf, file, line);
	} else {
		fprintf(stderr, "%s: %s%s\n", log_ident,
			level <= LOG_ERR ? "error: " : level == LOG_WARNING ? "warning: " : "", buf);
	}
	errno = saved;
	return -error;
}
