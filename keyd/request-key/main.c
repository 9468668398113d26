/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-request-key: answers request_key() upcalls for the keys keyd provides
 * (keyd-request-key(8)). Built twice: keyd-request-key asks keyd, and without
 * keyd runs keyd-request-key-direct, the same program with the store and TPM
 * path (request-key.h). /sbin/request-key runs it from
 * /etc/request-key.d/keyd.conf as
 *   keyd-request-key [OPTIONS] %k %t %d %c %u %g %T %P %S
 * Every path after the authority is assumed ends in instantiate, negate or
 * reject, each with a deliberate timeout (keyutils' key.dns_resolver is the
 * model): a requester is never left waiting for a key under construction.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "parse.h"
#include "policy.h"
#include "request-key.h"

/* The kernel starts usermode helpers with fds 0-2 open, but a person or another
 * caller may not: without this a file we open could become fd 2 and get our
 * messages written into it. */
static int ensure_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int n;

		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (n < 0)
			return -errno;
		if (n != fd) /* cannot happen: the lowest free fd is fd itself */
			return -EBADF;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: keyd-request-key [OPTIONS] [--] %%k %%t %%d %%c %%u %%g %%T %%P %%S\n"
		"Answers request_key() upcalls for keyd's keys; run by /sbin/request-key\n"
		"from /etc/request-key.d/keyd.conf.\n\n"
		"  --config PATH     keyd.conf (default " KEYD_CONFIG_DEFAULT_PATH ")\n"
		"  --socket PATH     keyd's socket (default: the configuration's)\n"
		"  --no-daemon       do not ask keyd; answer from the store and the TPM\n"
		"  --log-file PATH   append messages to PATH instead of stderr/syslog\n"
		"  -D, --debug       decide and fetch, print what would happen; never touches\n"
		"                    the kernel (no authority, no instantiate/negate/reject)\n"
		"  --dest DESC       with --debug: the destination keyring's description\n"
		"  -h, --help        this text\n\n"
		"Exit status: 0 instantiated, 1 negated, rejected or failed, 2 usage.\n");
}

static int parse_options(int argc, char **argv, struct rk_options *o)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "no-daemon", no_argument, NULL, 'n' },
		{ "log-file", required_argument, NULL, 'l' },
		{ "debug", no_argument, NULL, 'D' },
		{ "dest", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	int opt;

	/* '+': options end at the first positional argument, so a description that
	 * starts with '-' is never taken for an option. */
	while ((opt = getopt_long(argc, argv, "+Dh", options, NULL)) >= 0) {
		switch (opt) {
		case 'c':
			o->config_path = optarg;
			break;
		case 's':
			o->socket = optarg;
			break;
		case 'n':
			o->no_daemon = true;
			break;
		case 'l':
			o->log_file = optarg;
			break;
		case 'D':
			o->debug = true;
			break;
		case 'd':
			o->debug_dest = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("keyd-request-key " KEYD_VERSION "\n");
			return 0;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	return 1;
}

static int open_log(const struct rk_options *o)
{
	int fd;

	keyd_log_open("keyd-request-key", o->debug ? KEYD_LOG_STDERR : KEYD_LOG_AUTO);
	if (!o->log_file)
		return 0;
	fd = open(o->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return -errno;
	if (dup2(fd, STDERR_FILENO) < 0) {
		safe_close(fd);
		return -errno;
	}
	safe_close(fd);
	keyd_log_open("keyd-request-key", KEYD_LOG_STDERR);
	return 0;
}

/* A command line we cannot parse: if its first value is a key id we hold the
 * authority for, reject that key rather than leave it under construction. */
static int reject_unparsed(const struct rk_options *o, int argc, char **argv)
{
	uint32_t v;

	if (o->debug || argc < 1 || keyd_parse_u32(argv[0], 10, &v) < 0 || v == 0 ||
	    v > INT32_MAX)
		return RK_EXIT_USAGE;
	if (keyd_keyring_assume_authority((keyd_serial_t)v) < 0)
		return RK_EXIT_USAGE;
	(void)rk_answer_reject(o, (keyd_serial_t)v, KEYD_POLICY_DEFAULT_NEG_TIMEOUT, EKEYREJECTED);
	return RK_EXIT_USAGE;
}

static int serve(const struct rk_options *o, char **argv, const struct keyd_reqkey_args *args)
{
	_cleanup_secret_ struct keyd_secret payload = {};
	struct keyd_config config = {};
	struct rk_decision d;
	struct rk_upcall u;
	const char *via = "store";
	char reason[1024] = "", quoted[1024];
	uint32_t timeout = 0;
	int key = (int)args->key, r;

	keyd_reqkey_quote(args->description, 200, quoted, sizeof(quoted));

	r = rk_upcall_read(o->debug, o->debug_dest, args, &u, reason, sizeof(reason));
	if (r == -EKEYREJECTED) {
		log_error("key %d (%s '%s'): %s; rejected", key, args->type, quoted, reason);
		return rk_answer_reject(o, args->key, KEYD_POLICY_DEFAULT_NEG_TIMEOUT, EKEYREJECTED);
	}
	if (r < 0) {
		/* Without the authority there is nothing we may do to the key. */
		log_error("key %d: %s", key, reason);
		return RK_EXIT_FAILED;
	}

	if (!o->debug)
		rk_answer_arm_watchdog(args->key, KEYD_POLICY_DEFAULT_TRANSIENT_TIMEOUT,
				       RK_DEADLINE_SEC);
	r = keyd_config_init(&config);
	if (r < 0) {
		log_error("key %d: out of memory", key);
		return rk_answer_negate(o, args->key, KEYD_POLICY_DEFAULT_TRANSIENT_TIMEOUT);
	}
	r = rk_decide(o, &u, &config, &d, reason, sizeof(reason));
	if (r < 0) {
		log_error("key %d (%s '%s'): the configuration or policy is not valid: %s; fix it "
			  "(keyd --test-config); negated for %u s",
			  key, args->type, quoted, reason, d.negative_timeout);
		r = rk_answer_negate(o, args->key, d.negative_timeout);
		goto out;
	}
	if (!d.allow) {
		log_notice("key %d (%s '%s') for uid %u, keyring '%s': not allowed by the policy "
			   "(%s); rejected for %u s",
			   key, args->type, quoted, (unsigned)args->uid,
			   u.dest[0] ? u.dest : "?", d.rule, d.negative_timeout);
		r = rk_answer_reject(o, args->key, d.negative_timeout, EKEYREJECTED);
		goto out;
	}
	if (!o->debug)
		rk_answer_arm_watchdog(args->key, d.transient_timeout, RK_DEADLINE_SEC);

	if (!keyd_reqkey_text_is_plain(args->description) || !keyd_reqkey_text_is_plain(u.callout)) {
		log_notice("key %d (%s '%s'): not a key keyd provides (a control or non-ASCII "
			   "byte); rejected for %u s", key, args->type, quoted, d.negative_timeout);
		r = rk_answer_reject(o, args->key, d.negative_timeout, EKEYREJECTED);
		goto out;
	}
	r = 0;
	if (!o->no_daemon && rk_fetch_daemon(o, &config, &u, &payload, &timeout, &r, reason,
					     sizeof(reason)) > 0)
		via = "keyd";
	else
		/* keyd-request-key: runs keyd-request-key-direct and returns only on failure. */
		r = rk_direct(o, argv, &config, &u, &payload, &timeout, &via, reason,
			      sizeof(reason));
	if (r >= 0) {
		r = rk_answer_instantiate(o, &u, &payload, timeout, via);
		if (r == RK_EXIT_OK)
			log_info("key %d (%s '%s') for uid %u: instantiated from %s (%s)", key,
				 args->type, quoted, (unsigned)args->uid, via, d.rule);
	} else if (r == -ENOKEY) {
		log_notice("key %d (%s '%s'): %s; negated for %u s", key, args->type, quoted,
			   reason[0] ? reason : "no such key", d.negative_timeout);
		r = rk_answer_negate(o, args->key, d.negative_timeout);
	} else if (r == -EKEYREJECTED || r == -EACCES || r == -EPERM) {
		log_error("key %d (%s '%s'): %s; rejected for %u s", key, args->type, quoted,
			  reason[0] ? reason : strerror(-r), d.negative_timeout);
		r = rk_answer_reject(o, args->key, d.negative_timeout, EKEYREJECTED);
	} else if (keyd_reqkey_error_is_transient(r)) {
		log_error("key %d (%s '%s'): %s; negated for %u s, asked again after that", key,
			  args->type, quoted, reason[0] ? reason : strerror(-r),
			  d.transient_timeout);
		r = rk_answer_negate(o, args->key, d.transient_timeout);
	} else {
		log_error("key %d (%s '%s'): %s; negated for %u s", key, args->type, quoted,
			  reason[0] ? reason : strerror(-r), d.negative_timeout);
		r = rk_answer_negate(o, args->key, d.negative_timeout);
	}
out:
	keyd_config_done(&config);
	return r;
}

int main(int argc, char **argv)
{
	struct rk_options o = {};
	struct keyd_reqkey_args args;
	char reason[256];
	int r;

	if (ensure_std_fds() < 0)
		return RK_EXIT_FAILED;
	r = parse_options(argc, argv, &o);
	if (r <= 0)
		return r < 0 ? RK_EXIT_USAGE : RK_EXIT_OK;
	if (open_log(&o) < 0) {
		keyd_log_open("keyd-request-key", KEYD_LOG_AUTO);
		log_warning("cannot open the log file '%s': %m; logging to stderr or syslog",
			    o.log_file);
	}
	keyd_log_parse_env();

	r = keyd_reqkey_args_parse(argc - optind, argv + optind, &args, reason, sizeof(reason));
	if (r < 0) {
		log_error("bad command line: %s; /etc/request-key.d/keyd.conf must run "
			  "keyd-request-key [OPTIONS] %%k %%t %%d %%c %%u %%g %%T %%P %%S",
			  reason);
		return reject_unparsed(&o, argc - optind, argv + optind);
	}
	return serve(&o, argv, &args);
}
