/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for keyd/core/config.c: defaults, every key, every error class with
 * its FILE:LINE message, all-or-nothing application, the environment overrides. */
#define _GNU_SOURCE /* asprintf */
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "macro.h"

static void assert_defaults(const struct keyd_config *c)
{
	assert_string_equal(c->store, "/var/lib/keyd");
	assert_string_equal(c->tcti, "device:/dev/tpmrm0");
	assert_string_equal(c->policy_dir, "/etc/keyd/policy.d");
	assert_string_equal(c->socket, "/run/keyd/keyd.sock");
	assert_string_equal(c->enroll_group, "keyd");
	assert_int_equal(c->log_level, LOG_INFO);
	assert_int_equal(c->tpm_wait, 30);
	assert_int_equal(c->max_clients, 64);
	assert_int_equal(c->sign_hold_ms, 500);
}

static void test_defaults(void **state)
{
	struct keyd_config c;
	char **errors = (char **)1;

	(void)state;
	assert_int_equal(keyd_config_init(&c), 0);
	assert_defaults(&c);
	/* no file: the defaults stand */
	assert_int_equal(
		keyd_config_load(&c, "/nonexistent/keyd.conf", KEYD_CONFIG_CHECK_OWNER, &errors),
		0);
	assert_null(errors);
	assert_defaults(&c);
	/* an empty or all-comment text changes nothing */
	assert_int_equal(keyd_config_parse(&c, "k.conf", "", 0, &errors), 0);
	assert_int_equal(keyd_config_parse(&c, "k.conf", "# x\n\n  \t\n", 9, &errors), 0);
	assert_defaults(&c);
	keyd_config_done(&c);
	keyd_config_done(&c); /* twice is fine */
}

static void test_all_keys(void **state)
{
	static const char text[] = "# keyd.conf\n"
				   "store = /srv/keyd\n"
				   "  tcti=swtpm:path=/run/swtpm/sock  \n"
				   "policy-dir\t=\t/etc/keyd/other.d\n"
				   "socket = /run/k.sock\n"
				   "enroll-group = 990\n"
				   "log-level = debug\n"
				   "tpm-wait = 0\n"
				   "sign-hold-ms = 0\n"
				   "max-clients = 1024"; /* no final newline */
	struct keyd_config c;
	char **errors = NULL, *out = NULL;

	(void)state;
	assert_int_equal(keyd_config_init(&c), 0);
	assert_int_equal(keyd_config_parse(&c, "k.conf", text, sizeof(text) - 1, &errors), 0);
	assert_string_equal(c.store, "/srv/keyd");
	assert_string_equal(c.tcti, "swtpm:path=/run/swtpm/sock");
	assert_string_equal(c.policy_dir, "/etc/keyd/other.d");
	assert_string_equal(c.socket, "/run/k.sock");
	assert_string_equal(c.enroll_group, "990");
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(c.tpm_wait, 0);
	assert_int_equal(c.max_clients, 1024);
	assert_int_equal(c.sign_hold_ms, 0);

	/* format gives text that parses back to the same values */
	assert_int_equal(keyd_config_format(&c, &out), 0);
	assert_non_null(strstr(out, "tcti = swtpm:path=/run/swtpm/sock\n"));
	assert_non_null(strstr(out, "log-level = debug\n"));
	{
		struct keyd_config d;
		char *again = NULL;
		assert_int_equal(keyd_config_init(&d), 0);
		assert_int_equal(keyd_config_parse(&d, "fmt", out, strlen(out), &errors), 0);
		assert_int_equal(keyd_config_format(&d, &again), 0);
		assert_string_equal(out, again);
		free(again);
		keyd_config_done(&d);
	}
	free(out);
	keyd_config_done(&c);

	assert_string_equal(keyd_config_log_level_to_string(LOG_WARNING), "warning");
	assert_null(keyd_config_log_level_to_string(LOG_ALERT));
	assert_null(keyd_config_log_level_to_string(42));
	assert_int_equal(keyd_config_log_level_from_string("notice"), LOG_NOTICE);
	assert_int_equal(keyd_config_log_level_from_string("INFO"), -EINVAL);
}

/* The text must fail, leave the configuration at its defaults, and one error line
 * must start with expected. */
static void expect_error(const char *text, size_t len, const char *expected)
{
	struct keyd_config c;
	char **errors = NULL;
	bool found = false;
	int r;

	assert_int_equal(keyd_config_init(&c), 0);
	r = keyd_config_parse(&c, "k.conf", text, len, &errors);
	for (char **e = errors; e && *e; e++)
		if (startswith(*e, expected))
			found = true;
	if (r != -EBADMSG || !found) {
		print_message("  text: %s\n  wanted: %s\n  r=%d\n", text, expected, r);
		for (char **e = errors; e && *e; e++)
			print_message("    error: %s\n", *e);
		fail();
	}
	assert_defaults(&c);
	strv_free(errors);
	keyd_config_done(&c);
}

#define E(text, expected) expect_error(text, sizeof(text) - 1, expected)

static void test_errors(void **state)
{
	char *big;

	(void)state;
	E("colour = blue\n", "k.conf:1: unknown key 'colour'");
	E("\n\nstore\n", "k.conf:3: expected 'key = value', got 'store'");
	E("store = /a\nstore = /b\n", "k.conf:2: duplicate 'store' (first at line 1)");
	E("store =\n", "k.conf:1: 'store' needs a value");
	E(" = /a\n", "k.conf:1: unknown key ''");
	E("store = var/lib/keyd\n", "k.conf:1: store 'var/lib/keyd': must be an absolute path");
	E("store = /var/../etc\n", "k.conf:1: store '/var/../etc': '..' is not allowed");
	E("policy-dir = /etc/keyd/..\n", "k.conf:1: policy-dir '/etc/keyd/..': '..' is not");
	E("socket = /run/keyd/a-socket-path-that-is-much-too-long-for-sun-path-because-it-"
	  "goes-on-and-on-and-on-and-on-and-on-and-on-and-on.sock\n",
	  "k.conf:1: socket '/run/keyd/a-socket-path-that-"
	  "is-much-too-long-for-sun-path-b...': path too long");
	E("tcti = carrier-pigeon:1\n", "k.conf:1: tcti 'carrier-pigeon:1': expected device:PATH");
	E("tcti = device:/dev/tpm rm0\n", "k.conf:1: tcti 'device:/dev/tpm rm0': blanks");
	E("tcti = device:/dev/\xc3\xa9\n", "k.conf:1: tcti 'device:/dev/\\xc3\\xa9': blanks");
	E("enroll-group = wh eel\n", "k.conf:1: enroll-group 'wh eel': expected a group name");
	E("enroll-group = -x\n", "k.conf:1: enroll-group '-x': a group name does not start");
	E("enroll-group = 4294967295\n", "k.conf:1: enroll-group '4294967295': not a valid gid");
	E("enroll-group = abcdefghijklmnopqrstuvwxyzabcdefg\n", "k.conf:1: enroll-group");
	E("log-level = verbose\n", "k.conf:1: log-level 'verbose': expected err, warning");
	E("tpm-wait = 601\n", "k.conf:1: tpm-wait '601': expected seconds from 0 to 600");
	E("tpm-wait = -1\n", "k.conf:1: tpm-wait '-1'");
	E("tpm-wait = 1s\n", "k.conf:1: tpm-wait '1s'");
	E("max-clients = 0\n", "k.conf:1: max-clients '0': expected a number from 1 to 1024");
	E("sign-hold-ms = 60001\n",
	  "k.conf:1: sign-hold-ms '60001': expected milliseconds from 0 to 60000");
	E("store = /a\r\n", "k.conf:1: carriage return");
	E("store = /a\x1b[1m\n", "k.conf:1: control character \\x1b");
	E("store = /a\0b\n", "k.conf:1: control character \\x00");
	E("# ok\nst\xffore = 1\n", "k.conf:2: unknown key 'st\\xffore'");
	/* all-or-nothing: one bad line and the good ones are not applied either */
	E("store = /good\ntpm-wait = 5\nbogus = 1\n", "k.conf:3: unknown key 'bogus'");

	big = malloc(KEYD_CONFIG_FILE_MAX + 2);
	assert_non_null(big);
	memset(big, '#', KEYD_CONFIG_LINE_MAX + 1);
	expect_error(big, KEYD_CONFIG_LINE_MAX + 1, "k.conf:1: line longer than 1024 bytes");
	memset(big, '\n', KEYD_CONFIG_FILE_MAX + 1);
	expect_error(big, KEYD_CONFIG_FILE_MAX + 1, "k.conf: larger than 65536 bytes");
	free(big);

	/* the error list is bounded */
	{
		struct keyd_config c;
		char text[64 * 8] = "", **errors = NULL;
		size_t n = 0;
		for (int i = 0; i < 40; i++)
			strcat(text, "x = 1\n");
		assert_int_equal(keyd_config_init(&c), 0);
		assert_int_equal(keyd_config_parse(&c, "k.conf", text, strlen(text), &errors),
				 -EBADMSG);
		for (char **e = errors; *e; e++)
			n++;
		assert_int_equal(n, KEYD_CONFIG_ERRORS_MAX);
		assert_string_equal(errors[n - 1], "... and 9 more errors");
		strv_free(errors);
		assert_int_equal(keyd_config_parse(&c, "k.conf", "x\n", 2, NULL), -EBADMSG);
		keyd_config_done(&c);
	}
}

static void test_load(void **state)
{
	char dir[] = "/tmp/keyd-test-config-XXXXXX";
	_cleanup_free_ char *path = NULL;
	struct keyd_config c;
	char **errors = NULL;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_true(asprintf(&path, "%s/keyd.conf", dir) > 0);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "tpm-wait = 7\n", 13), 13);
	close(fd);

	assert_int_equal(keyd_config_init(&c), 0);
	assert_int_equal(keyd_config_load(&c, path, KEYD_CONFIG_CHECK_OWNER, &errors), 1);
	assert_int_equal(c.tpm_wait, 7);

	/* group-writable: refused when owners are checked, and nothing applied */
	assert_int_equal(chmod(path, 0664), 0);
	c.tpm_wait = 1;
	assert_int_equal(keyd_config_load(&c, path, KEYD_CONFIG_CHECK_OWNER, &errors), -EBADMSG);
	assert_non_null(strstr(errors[0], "keyd.conf: must be owned by root and not writable"));
	assert_int_equal(c.tpm_wait, 1);
	errors = strv_free(errors);
	assert_int_equal(keyd_config_load(&c, path, 0, &errors), 1);

	/* a directory is not a configuration file */
	assert_int_equal(keyd_config_load(&c, dir, 0, &errors), -EBADMSG);
	assert_non_null(strstr(errors[0], ": not a regular file"));
	errors = strv_free(errors);

	/* errors name the file */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\nsocket = relative\n", 19), 19);
	close(fd);
	assert_int_equal(keyd_config_load(&c, path, 0, &errors), -EBADMSG);
	{
		_cleanup_free_ char *want = NULL;
		assert_true(asprintf(&want, "%s:2: socket 'relative': must be an absolute path",
				     path) > 0);
		assert_string_equal(errors[0], want);
	}
	errors = strv_free(errors);
	keyd_config_done(&c);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_env(void **state)
{
	struct keyd_config c;
	char **errors = NULL;

	(void)state;
	assert_int_equal(keyd_config_init(&c), 0);
	unsetenv("KEYD_TCTI");
	unsetenv("KEYD_ROOT");
	assert_int_equal(keyd_config_apply_env(&c, &errors), 0);
	assert_defaults(&c);

	setenv("KEYD_TCTI", "swtpm:path=/tmp/s", 1);
	setenv("KEYD_ROOT", "/tmp/store", 1);
	assert_int_equal(keyd_config_apply_env(&c, &errors), 0);
	assert_string_equal(c.tcti, "swtpm:path=/tmp/s");
	assert_string_equal(c.store, "/tmp/store");

	/* invalid: nothing applied, both reported */
	setenv("KEYD_TCTI", "nonsense", 1);
	setenv("KEYD_ROOT", "relative/dir", 1);
	assert_int_equal(keyd_config_apply_env(&c, &errors), -EBADMSG);
	assert_string_equal(errors[0],
			    "KEYD_TCTI: 'nonsense': expected device:PATH, swtpm:..., "
			    "mssim:..., tabrmd:..., libtpms:..., cmd:..., spi-helper:... or pcap:...");
	assert_string_equal(errors[1], "KEYD_ROOT: 'relative/dir': must be an absolute path");
	assert_string_equal(c.tcti, "swtpm:path=/tmp/s");
	errors = strv_free(errors);

	setenv("KEYD_ROOT", "", 1);
	unsetenv("KEYD_TCTI");
	assert_int_equal(keyd_config_apply_env(&c, &errors), -EBADMSG);
	assert_string_equal(errors[0], "KEYD_ROOT: '': is set but empty");
	errors = strv_free(errors);
	unsetenv("KEYD_ROOT");
	keyd_config_done(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults), cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_errors),   cmocka_unit_test(test_load),
		cmocka_unit_test(test_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
