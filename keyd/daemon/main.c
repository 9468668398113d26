/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd: the daemon's entry point.
 *
 *   keyd [--config FILE]                      run the daemon in the foreground (server.c)
 *   keyd [--config FILE] --test-config [--json]   check keyd.conf and the policy, print a summary
 *   keyd [--config FILE] provision --once [--json]  one provisioning pass, then exit
 *
 * Exit status (the numbers keyd-ctl(8) uses): 0 ok, 1 failed, 2 usage, 4 TPM in
 * dictionary-attack lockout or busy, 5 no TPM, 6 the TPM's SRK is not the store's,
 * 7 partial (some entries or keyrings failed; each is logged).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "keyring.h"
#include "log.h"
#include "macro.h"
#include "policy.h"
#include "provision.h"
#include "server.h"
#include "store.h"
#include "tpm.h"

/* The same numbers as keyd-ctl's (keyd/ctl/ctl.h, keyd-ctl(8)), so scripts and
 * the initramfs read both alike. */
enum {
	KEYD_EXIT_OK = 0,
	KEYD_EXIT_FAILED = 1,
	KEYD_EXIT_USAGE = 2,
	KEYD_EXIT_AUTH = 4,
	KEYD_EXIT_NO_TPM = 5,
	KEYD_EXIT_SRK_MISMATCH = 6,
	KEYD_EXIT_PARTIAL = 7,
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: keyd [--config FILE]                     run the daemon (foreground)\n"
		"       keyd [--config FILE] --test-config [--json]\n"
		"                                                check keyd.conf and the policy\n"
		"       keyd [--config FILE] provision --once [--json]\n"
		"                                                one provisioning pass, then exit\n"
		"\n"
		"Options:\n"
		"  --config FILE  keyd.conf (default " KEYD_CONFIG_DEFAULT_PATH ")\n"
		"  --json         machine-readable output\n"
		"  -h, --help     this text\n"
		"  --version      the version\n"
		"\n"
		"Exit status: 0 ok, 1 failed, 2 usage, 4 TPM lockout/busy, 5 no TPM,\n"
		"6 SRK mismatch, 7 partial. See keyd(8).\n");
}

static void print_errors(char **errors)
{
	for (char **e = errors; e && *e; e++)
		fprintf(stderr, "%s\n", *e);
}

static void config_donep(struct keyd_config *c)
{
	keyd_config_done(c);
}

static void policy_freep(keyd_policy **p)
{
	keyd_policy_free(*p);
}

static void state_freep(keyd_provision_state **s)
{
	keyd_provision_state_free(*s);
}

/* keyd.conf and the environment. Prints "FILE:LINE: reason" lines; exit code. */
static int load_config(const char *path, struct keyd_config *c, bool *ret_found)
{
	_cleanup_strv_free_ char **errors = NULL;
	int r;

	r = keyd_config_init(c);
	if (r < 0) {
		log_error("out of memory");
		return KEYD_EXIT_FAILED;
	}
	r = keyd_config_load(c, path, KEYD_CONFIG_CHECK_OWNER, &errors);
	if (r == -EBADMSG) {
		print_errors(errors);
		return KEYD_EXIT_FAILED;
	}
	if (r < 0) {
		log_error_errno(r, "cannot read '%s': %m", path ?: KEYD_CONFIG_DEFAULT_PATH);
		return KEYD_EXIT_FAILED;
	}
	if (ret_found)
		*ret_found = r > 0;
	errors = strv_free(errors);
	r = keyd_config_apply_env(c, &errors);
	if (r == -EBADMSG) {
		print_errors(errors);
		return KEYD_EXIT_FAILED;
	}
	if (r < 0) {
		log_error_errno(r, "cannot apply the environment: %m");
		return KEYD_EXIT_FAILED;
	}
	return KEYD_EXIT_OK;
}

static int load_policy(const struct keyd_config *c, keyd_policy **ret)
{
	_cleanup_strv_free_ char **errors = NULL;
	int r;

	r = keyd_policy_load_dir(c->policy_dir, KEYD_POLICY_CHECK_OWNER, NULL, ret, &errors);
	if (r == -EBADMSG) {
		print_errors(errors);
		return KEYD_EXIT_FAILED;
	}
	if (r == -ENOENT) {
		log_error("the policy directory '%s' does not exist; create it and install the "
			  "policies (e.g. /usr/share/keyd/policy/*.policy), or set policy-dir in "
			  "keyd.conf", c->policy_dir);
		return KEYD_EXIT_FAILED;
	}
	if (r < 0) {
		log_error_errno(r, "cannot read the policy directory '%s': %m", c->policy_dir);
		return KEYD_EXIT_FAILED;
	}
	return KEYD_EXIT_OK;
}

static void links_format(const struct keyd_policy_ring *ring, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ring->n_links && n < size; i++) {
		const struct keyd_policy_link *l = &ring->links[i];
		const char *sep = i ? ", " : "";
		int w;

		switch (l->kind) {
		case KEYD_POLICY_LINK_USER:
		case KEYD_POLICY_LINK_PERSISTENT:
			w = snprintf(buf + n, size - n, "%s%s:%u", sep,
				     keyd_policy_link_kind_to_string(l->kind), l->uid);
			break;
		case KEYD_POLICY_LINK_KEYRING:
			w = snprintf(buf + n, size - n, "%skeyring:%s", sep, l->ring);
			break;
		case KEYD_POLICY_LINK_SESSION:
		default:
			w = snprintf(buf + n, size - n, "%s%s", sep,
				     keyd_policy_link_kind_to_string(l->kind));
			break;
		}
		if (w < 0)
			break;
		n += (size_t)w;
	}
	if (!buf[0])
		snprintf(buf, size, "none");
}

static int test_config(const char *path, bool json)
{
	_cleanup_(config_donep) struct keyd_config c = {};
	_cleanup_(policy_freep) keyd_policy *p = NULL;
	bool found = false;
	size_t n;
	int r;

	r = load_config(path, &c, &found);
	if (r == KEYD_EXIT_OK)
		r = load_policy(&c, &p);
	if (r != KEYD_EXIT_OK)
		return r;
	n = keyd_policy_ring_count(p);
	if (json) {
		struct keyd_json j;

		keyd_json_init(&j, stdout);
		keyd_json_begin_object(&j);
		keyd_json_kv_string(&j, "config", path ?: KEYD_CONFIG_DEFAULT_PATH);
		keyd_json_kv_bool(&j, "config_found", found);
		keyd_json_kv_string(&j, "store", c.store);
		keyd_json_kv_string(&j, "tcti", c.tcti);
		keyd_json_kv_string(&j, "policy_dir", c.policy_dir);
		keyd_json_key(&j, "keyrings");
		keyd_json_begin_array(&j);
		for (size_t i = 0; i < n; i++) {
			const struct keyd_policy_ring *ring =
				keyd_policy_ring(p, keyd_policy_ring_order(p, i));
			char links[512];

			links_format(ring, links, sizeof(links));
			keyd_json_begin_object(&j);
			keyd_json_kv_string(&j, "name", ring->name);
			keyd_json_kv_string(&j, "description", ring->description);
			keyd_json_kv_bool(&j, "kernel", ring->kernel);
			keyd_json_kv_string(&j, "seal", keyd_policy_seal_to_string(ring->seal));
			keyd_json_kv_uint(&j, "items", ring->n_items);
			keyd_json_kv_string(&j, "links", links);
			keyd_json_kv_uint(&j, "perm", ring->perm);
			keyd_json_end_object(&j);
		}
		keyd_json_end_array(&j);
		keyd_json_kv_uint(&j, "request_key_rules", keyd_policy_rule_count(p));
		keyd_json_kv_uint(&j, "signing_grants", keyd_policy_grant_count(p));
		keyd_json_end_object(&j);
		return keyd_json_finish(&j) < 0 ? KEYD_EXIT_FAILED : KEYD_EXIT_OK;
	}
	printf("configuration: %s%s\n", path ?: KEYD_CONFIG_DEFAULT_PATH,
	       found ? "" : " (absent: defaults)");
	printf("store: %s\ntcti: %s\npolicy: %s\n", c.store, c.tcti, c.policy_dir);
	printf("%zu keyring%s, in provisioning order:\n", n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		const struct keyd_policy_ring *ring =
			keyd_policy_ring(p, keyd_policy_ring_order(p, i));
		char links[512], seal[96];

		links_format(ring, links, sizeof(links));
		if (ring->seal == KEYD_POLICY_SEAL_CHAIN)
			snprintf(seal, sizeof(seal), "chain:%s", ring->chain);
		else
			snprintf(seal, sizeof(seal), "%s", keyd_policy_seal_to_string(ring->seal));
		printf("  %-16s %s%s, seal %s, %zu item%s, perm 0x%08x, links %s\n", ring->name,
		       ring->description, ring->kernel ? " (kernel)" : "", seal, ring->n_items,
		       ring->n_items == 1 ? "" : "s", ring->perm, links);
	}
	printf("%zu request-key rule%s, %zu signing grant%s\n", keyd_policy_rule_count(p),
	       keyd_policy_rule_count(p) == 1 ? "" : "s", keyd_policy_grant_count(p),
	       keyd_policy_grant_count(p) == 1 ? "" : "s");
	printf("configuration ok\n");
	return KEYD_EXIT_OK;
}

/* A compact human summary, from the accessors. */
static void print_summary(const keyd_provision_state *s, int result)
{
	_cleanup_strv_free_ char **problems = NULL, **warnings = NULL;
	size_t n_problems = 0, n_warnings = 0;

	/* The problems and warnings themselves were logged (once); this counts them. */
	keyd_provision_state_print(s, stdout);
	(void)keyd_provision_state_problems(s, &problems);
	(void)keyd_provision_state_warnings(s, &warnings);
	for (char **w = warnings; w && *w; w++)
		n_warnings++;
	for (char **p = problems; p && *p; p++)
		n_problems++;
	printf("keyrings provisioned: %zu, kept previous or failed: %zu; %zu problem%s, %zu "
	       "warning%s\n", keyd_provision_state_rings_ok(s),
	       keyd_provision_state_rings_failed(s), n_problems, n_problems == 1 ? "" : "s",
	       n_warnings, n_warnings == 1 ? "" : "s");
	printf("tpm commands: %u (PSKs unsealed: %u)\n", keyd_provision_state_tpm_commands(s),
	       keyd_provision_state_unsealed(s));
	printf("result: %s\n", result == KEYD_EXIT_OK ? "ok"
			       : result == KEYD_EXIT_PARTIAL ? "partial"
							      : "failed");
}

static int tpm_exit_code(int error)
{
	switch (-error) {
	case 0:
		return KEYD_EXIT_OK;
	case EACCES:
	case EBUSY:
		return KEYD_EXIT_AUTH;
	case ENODEV:
		return KEYD_EXIT_NO_TPM;
	case EXDEV:
		return KEYD_EXIT_SRK_MISMATCH;
	default:
		return KEYD_EXIT_FAILED;
	}
}

static int provision_once(const char *path, bool json)
{
	_cleanup_(config_donep) struct keyd_config c = {};
	_cleanup_(policy_freep) keyd_policy *p = NULL;
	_cleanup_(state_freep) keyd_provision_state *state = NULL;
	_cleanup_strv_free_ char **problems = NULL, **warnings = NULL;
	char reason[256] = "";
	keyd_store *store = NULL;
	keyd_tpm *tpm = NULL;
	int r, ret;

	r = load_config(path, &c, NULL);
	if (r == KEYD_EXIT_OK)
		r = load_policy(&c, &p);
	if (r != KEYD_EXIT_OK)
		return r;
	keyd_log_set_max_level(c.log_level);
	keyd_log_parse_env();

	/* Read-only: provisioning never changes the store (and works from a read-only
	 * initramfs copy). */
	r = keyd_store_open(c.store, KEYD_STORE_READONLY, &store, reason, sizeof(reason));
	if (r < 0) {
		if (r == -ENOENT)
			log_error("no keyd store at '%s'; enroll keys with keyd-ctl first, or set "
				  "store in keyd.conf", c.store);
		else
			log_error("cannot open the store '%s': %s", c.store,
				  reason[0] ? reason : strerror(-r));
		return KEYD_EXIT_FAILED;
	}
	/* Cheap: no TPM command until a PSK needs unsealing. A -ENODEV handle is kept:
	 * it reports which TCTI failed when (and only if) it is needed. */
	(void)keyd_tpm_open(c.tcti, &tpm);

	r = keyd_provision_run(store, tpm, p, NULL, &state);
	if (r < 0 && !state) {
		log_error_errno(r, "provisioning failed: %m");
		ret = KEYD_EXIT_FAILED;
		goto out;
	}
	(void)keyd_provision_state_warnings(state, &warnings);
	(void)keyd_provision_state_problems(state, &problems);
	for (char **w = warnings; w && *w; w++)
		log_warning("%s", *w);
	for (char **e = problems; e && *e; e++)
		log_error("%s", *e);

	if (r < 0)
		ret = KEYD_EXIT_FAILED;
	else if (keyd_provision_state_tpm_error(state) < 0)
		ret = tpm_exit_code(keyd_provision_state_tpm_error(state));
	else if (r == KEYD_PROVISION_PARTIAL)
		ret = keyd_provision_state_rings_ok(state) == 0 &&
				      keyd_provision_state_rings_failed(state) > 0
			      ? KEYD_EXIT_FAILED
			      : KEYD_EXIT_PARTIAL;
	else
		ret = KEYD_EXIT_OK;

	if (json) {
		struct keyd_json j;

		keyd_json_init(&j, stdout);
		keyd_provision_state_to_json(state, &j);
		if (keyd_json_finish(&j) < 0)
			ret = KEYD_EXIT_FAILED;
	} else
		print_summary(state, ret);
	log_debug("provisioning pass: %u TPM commands, %u PSKs unsealed",
		  keyd_provision_state_tpm_commands(state), keyd_provision_state_unsealed(state));
out:
	keyd_tpm_close(tpm);
	keyd_store_close(store);
	return ret;
}

static int run_daemon(const char *path)
{
	_cleanup_(config_donep) struct keyd_config c = {};
	int r;

	r = load_config(path, &c, NULL);
	if (r != KEYD_EXIT_OK)
		return r;
	keyd_log_open("keyd", KEYD_LOG_AUTO);
	keyd_log_set_max_level(c.log_level);
	keyd_log_parse_env();
	return keyd_server_run(&c, path);
}

int main(int argc, char **argv)
{
	enum { OPT_VERSION = 0x100, OPT_TEST_CONFIG, OPT_ONCE };
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test-config", no_argument, NULL, OPT_TEST_CONFIG },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{},
	};
	const char *config = NULL;
	bool test = false, once = false, json = false;
	int opt;

	/* --test-config and provision --once are commands: their messages go to
	 * stderr (the journal, under systemd). The daemon picks its target below. */
	keyd_log_open("keyd", KEYD_LOG_STDERR);
	keyd_log_parse_env();
	/* A TPM (swtpm, a TCTI socket) or a client that goes away must be an error
	 * return on write, not a signal that kills keyd mid-pass. */
	(void)signal(SIGPIPE, SIG_IGN);

	while ((opt = getopt_long(argc, argv, "hc:", options, NULL)) >= 0) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case OPT_TEST_CONFIG:
			test = true;
			break;
		case OPT_ONCE:
			once = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return KEYD_EXIT_OK;
		case OPT_VERSION:
			printf("keyd %s\n", KEYD_VERSION);
			return KEYD_EXIT_OK;
		default:
			usage(stderr);
			return KEYD_EXIT_USAGE;
		}
	}
	if (test) {
		if (optind != argc || once) {
			log_error("--test-config takes no verb");
			usage(stderr);
			return KEYD_EXIT_USAGE;
		}
		return test_config(config, json);
	}
	if (optind < argc) {
		if (!streq(argv[optind], "provision") || optind + 1 != argc) {
			log_error("unknown verb '%s'; see keyd --help", argv[optind]);
			return KEYD_EXIT_USAGE;
		}
		if (!once) {
			/* Repeated passes are the daemon's job; the verb exists for one. */
			log_error("'keyd provision' needs --once; run keyd without a verb for the "
				  "daemon");
			return KEYD_EXIT_USAGE;
		}
		return provision_once(config, json);
	}
	if (once || json) {
		log_error("--once and --json go with 'provision' or --test-config");
		return KEYD_EXIT_USAGE;
	}
	return run_daemon(config);
}
