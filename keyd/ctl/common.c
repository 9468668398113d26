/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"
#include "fileio.h"
#include "macro.h"
#include "srk-pin.h"
#include "parse.h"

int ctl_usage_error(const char *usage, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_error("%s", buf);
	fprintf(stderr, "%s", usage);
	return CTL_EXIT_USAGE;
}

int ctl_check_name(const char *usage, const char *what, const char *name)
{
	if (keyd_name_is_valid(name))
		return CTL_EXIT_OK;
	return ctl_usage_error(usage, "invalid %s name '%s': use 1 to 64 characters from "
			       "A-Z a-z 0-9 . _ -, not starting with '.' or '-'", what, name);
}

int ctl_run_subverb(struct ctl_ctx *c, const char *group, const char *usage,
		    const struct ctl_subverb *table, int argc, char **argv)
{
	char choices[256] = "";
	size_t used = 0;

	if (argc >= 2) {
		for (const struct ctl_subverb *v = table; v->name; v++)
			if (streq(argv[1], v->name))
				return v->run(c, argc - 1, argv + 1);
		if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
			fputs(usage, stdout);
			return CTL_EXIT_OK;
		}
	}
	for (const struct ctl_subverb *v = table; v->name; v++) {
		int n = snprintf(choices + used, sizeof(choices) - used, "%s%s",
				 v == table ? "" : v[1].name ? ", " : " or ", v->name);
		if (n < 0 || (size_t)n >= sizeof(choices) - used)
			break;
		used += (size_t)n;
	}
	if (argc < 2)
		return ctl_usage_error(usage, "%s needs a verb: %s", group, choices);
	return ctl_usage_error(usage, "unknown %s verb '%s' (one of: %s)", group, argv[1], choices);
}

void ctl_take_json(struct ctl_ctx *c, int *argc, char **argv)
{
	int o = 0;

	for (int i = 0; i < *argc; i++) {
		if (streq(argv[i], "--"))
			o += 0;
		if (streq(argv[i], "--json")) {
			c->json = true;
			continue;
		}
		argv[o++] = argv[i];
	}
	argv[o] = NULL;
	*argc = o;
}

int ctl_store(struct ctl_ctx *c, bool writable, keyd_store **ret)
{
	char reason[256] = "";
	int r;

	if (c->store && (c->store_writable || !writable)) {
		*ret = c->store;
		return CTL_EXIT_OK;
	}
	c->store = keyd_store_close(c->store);
	r = keyd_store_open(c->root, writable ? KEYD_STORE_CREATE : KEYD_STORE_READONLY, &c->store,
			    reason, sizeof(reason));
	if (r == -ENOENT && !writable) {
		log_error("no keyd store at '%s'; enroll something first, or pass --root DIR", c->root);
		return CTL_EXIT_FAILED;
	}
	if (r < 0) {
		log_error_errno(r, "cannot open the store '%s': %s", c->root, reason[0] ? reason : strerror(-r));
		return CTL_EXIT_FAILED;
	}
	c->store_writable = writable;
	*ret = c->store;
	return CTL_EXIT_OK;
}

int ctl_tpm_error(struct ctl_ctx *c, int r, const char *what_fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, what_fmt);
	vsnprintf(what, sizeof(what), what_fmt, ap);
	va_end(ap);
	log_error("%s: %s", what, c->tpm ? keyd_tpm_last_error(c->tpm) : strerror(-r));
	switch (-r) {
	case ESTALE:
		return CTL_EXIT_PCR_MISMATCH;
	case EACCES:
	case EBUSY:
		return CTL_EXIT_AUTH;
	case ENODEV:
		return CTL_EXIT_NO_TPM;
	case EXDEV:
		return CTL_EXIT_SRK_MISMATCH;
	default:
		return CTL_EXIT_FAILED;
	}
}

int ctl_tpm(struct ctl_ctx *c, bool enroll, keyd_tpm **ret)
{
	uint8_t name[KEYD_TPM_NAME_MAX];
	char reason[256] = "";
	size_t name_len = 0;
	keyd_store *s;
	bool created = false;
	int r;

	if (c->tpm) {
		*ret = c->tpm;
		return CTL_EXIT_OK;
	}
	r = ctl_store(c, enroll, &s);
	if (r != CTL_EXIT_OK)
		return r;

	r = keyd_tpm_open(c->tcti, &c->tpm);
	if (r < 0)
		return ctl_tpm_error(c, r, "cannot connect to the TPM");

	r = keyd_srk_pin_load(s, name, &name_len, reason, sizeof(reason));
	if (r == -EBADMSG) {
		log_error("%s/tpm/srk.meta: %s; restore it from a backup", keyd_store_root(s), reason);
		return CTL_EXIT_FAILED;
	}
	if (r >= 0) {
		r = keyd_tpm_srk_pin(c->tpm, name, name_len);
		if (r < 0)
			return ctl_tpm_error(c, r, "the storage root key");
	} else if (r == -ENOENT && enroll) {
		r = keyd_tpm_srk_ensure(c->tpm, &created, name, &name_len);
		if (r < 0)
			return ctl_tpm_error(c, r, "cannot set up the storage root key at 0x%08x",
					     KEYD_TPM_SRK_HANDLE);
		r = keyd_srk_pin_save(s, name, name_len);
		if (r < 0) {
			log_error_errno(r, "cannot record the SRK in '%s': %m", c->root);
			return CTL_EXIT_FAILED;
		}
		r = keyd_tpm_srk_pin(c->tpm, name, name_len);
		if (r < 0)
			return ctl_tpm_error(c, r, "the storage root key");
		log_info("%s the storage root key at 0x%08x and pinned it in the store",
			 created ? "created" : "found", KEYD_TPM_SRK_HANDLE);
	} else if (r != -ENOENT) {
		log_error_errno(r, "cannot read the pinned SRK of the store '%s': %s", c->root,
				reason[0] ? reason : strerror(-r));
		return CTL_EXIT_FAILED;
	}
	*ret = c->tpm;
	return CTL_EXIT_OK;
}

int ctl_read_secret_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	char *buf = NULL;
	size_t len;
	int r;

	r = keyd_read_file(path, max, &buf, &len);
	if (r < 0)
		return r;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

int ctl_read_pin(const char *prompt, char **ret)
{
	const char *env = getenv("KEYD_PIN");
	struct termios old, noecho;
	char buf[256];
	_cleanup_close_ int fd = -1;
	ssize_t n;
	size_t len = 0;

	if (env) {
		*ret = strdup(env);
		return *ret ? 0 : -ENOMEM;
	}
	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -ENOTTY;
	if (tcgetattr(fd, &old) < 0)
		return -errno;
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	if (write(fd, prompt, strlen(prompt)) < 0 || tcsetattr(fd, TCSAFLUSH, &noecho) < 0)
		return -errno;
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, 1)) == 1 && buf[len] != '\n')
		len++;
	buf[len] = '\0';
	(void)tcsetattr(fd, TCSAFLUSH, &old);
	(void)!write(fd, "\n", 1);
	*ret = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return *ret ? 0 : -ENOMEM;
}
