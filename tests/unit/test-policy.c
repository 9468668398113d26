/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for keyd/core/policy.c: golden parses of the shipped policies
 * ($KEYD_TOP/policy), every error class with its FILE:LINE message, and the
 * request-key and signing checks, hostile descriptions included.
 */
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
#include <unistd.h>

#include <cmocka.h>

#include "macro.h"
#include "policy.h"

/* Names resolve through this table, never through NSS: the test does not depend
 * on the accounts of the machine it runs on. */
static int fake_user(const char *name, uint32_t *ret, void *userdata)
{
	(void)userdata;
	if (streq(name, "root"))
		*ret = 0;
	else if (streq(name, "alice"))
		*ret = 1000;
	else
		return -ENOENT;
	return 0;
}

static int fake_group(const char *name, uint32_t *ret, void *userdata)
{
	(void)userdata;
	if (streq(name, "root"))
		*ret = 0;
	else if (streq(name, "keyd"))
		*ret = 990;
	else if (streq(name, "nfs"))
		*ret = 991;
	else
		return -ENOENT;
	return 0;
}

static const struct keyd_policy_resolver resolver = { fake_user, fake_group, NULL };

static int parse_one(const char *text, keyd_policy **ret, char ***errors)
{
	struct keyd_policy_source s = { "t.policy", text, strlen(text) };
	return keyd_policy_parse(&s, 1, &resolver, ret, errors);
}

static bool errors_have(char **errors, const char *expected)
{
	for (char **e = errors; e && *e; e++)
		if (startswith(*e, expected))
			return true;
	return false;
}

static void dump_errors(char **errors)
{
	for (char **e = errors; e && *e; e++)
		print_message("    error: %s\n", *e);
}

/* The text must fail, and one error line must start with expected. */
static void expect_error(const char *text, const char *expected)
{
	keyd_policy *p = NULL;
	char **errors = NULL;
	int r = parse_one(text, &p, &errors);

	if (r != -EBADMSG || !errors_have(errors, expected)) {
		print_message("  text:\n%s\n  wanted: %s\n  got r=%d\n", text, expected, r);
		dump_errors(errors);
		fail();
	}
	assert_null(p);
	strv_free(errors);
}

static keyd_policy *expect_ok(const char *text)
{
	keyd_policy *p = NULL;
	char **errors = NULL;
	int r = parse_one(text, &p, &errors);

	if (r != 0) {
		print_message("  text:\n%s\n  r=%d\n", text, r);
		dump_errors(errors);
		fail();
	}
	assert_null(errors);
	assert_non_null(p);
	return p;
}

static const char *top(void)
{
	const char *t = getenv("KEYD_TOP");
	return t ? t : ".";
}

static keyd_policy *load_shipped(const char *file)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	keyd_policy *p = NULL;
	char **errors = NULL;
	struct keyd_policy_source s;
	struct stat st;
	int fd;

	assert_true(asprintf(&path, "%s/policy/%s", top(), file) > 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("cannot open %s (set KEYD_TOP to the source tree)", path);
	assert_int_equal(fstat(fd, &st), 0);
	text = malloc((size_t)st.st_size + 1);
	assert_non_null(text);
	assert_int_equal(read(fd, text, (size_t)st.st_size), st.st_size);
	close(fd);
	s = (struct keyd_policy_source){ path, text, (size_t)st.st_size };
	if (keyd_policy_parse(&s, 1, &resolver, &p, &errors) != 0) {
		dump_errors(errors);
		fail_msg("%s does not parse", path);
	}
	return p;
}

/* ---- golden parses of the shipped policies ------------------------------------------ */

static void test_shipped_nvme(void **state)
{
	keyd_policy *p = load_shipped("nvme-tls.policy");
	const struct keyd_policy_ring *r;
	const struct keyd_policy_rule *rule;
	struct keyd_policy_subject root = { 0, 0, NULL, 0 }, user = { 1000, 1000, NULL, 0 };

	(void)state;
	assert_int_equal(keyd_policy_ring_count(p), 1);
	r = keyd_policy_ring(p, 0);
	assert_string_equal(r->name, "nvme");
	assert_true(r->kernel);
	assert_string_equal(r->description, ".nvme");
	assert_int_equal(r->if_absent, KEYD_POLICY_ABSENT_CREATE);
	assert_int_equal(r->n_items, 1);
	assert_int_equal(r->items[0].kind, KEYD_POLICY_ITEM_PSK);
	assert_int_equal(r->items[0].psk_match, KEYD_POLICY_PSK_ALL);
	assert_null(r->items[0].name);
	assert_int_equal(r->n_links, 1);
	assert_int_equal(r->links[0].kind, KEYD_POLICY_LINK_USER);
	assert_int_equal(r->links[0].uid, 0);
	assert_false(r->perm_set); /* the kernel's ring keeps its permissions */
	assert_int_equal(r->item_perm, 0x2b0b0000);
	assert_int_equal(r->timeout, 86400);
	assert_int_equal(r->seal, KEYD_POLICY_SEAL_OPEN);
	assert_ptr_equal(keyd_policy_ring_by_name(p, "nvme"), r);
	assert_null(keyd_policy_ring_by_name(p, ".nvme"));

	assert_int_equal(keyd_policy_rule_count(p), 2);
	rule = keyd_policy_rule(p, 0);
	assert_true(rule->allow);
	assert_string_equal(rule->type, "psk");
	assert_string_equal(rule->keyring, ".nvme"); /* keyring=nvme resolved */
	assert_int_equal(rule->who.n_uids, 1);
	assert_int_equal(keyd_policy_negative_timeout(p), KEYD_POLICY_DEFAULT_NEG_TIMEOUT);
	assert_int_equal(keyd_policy_transient_timeout(p), KEYD_POLICY_DEFAULT_TRANSIENT_TIMEOUT);

	/* The public libnvme test identity (shared/reference/nvme-psk.md). */
	static const char id[] = "NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys "
				 "iSbjiStwJ/1TrTvDlt2fjFmzvsytOJelidNnA+X5lEU=";
	assert_int_equal(keyd_policy_check_request(p, "psk", id, &root, ".nvme", &rule), 1);
	assert_ptr_equal(rule, keyd_policy_rule(p, 0));
	assert_int_equal(
		keyd_policy_check_request(p, "psk", "NVMe0R01 nqn.a nqn.b", &root, ".nvme", &rule),
		1);
	assert_int_equal(rule->line, keyd_policy_rule(p, 1)->line);
	assert_int_equal(keyd_policy_check_request(p, "psk", id, &user, ".nvme", &rule), 0);
	assert_null(rule);
	assert_int_equal(keyd_policy_check_request(p, "psk", id, &root, "keyd:other", &rule), 0);
	assert_int_equal(keyd_policy_check_request(p, "psk", id, &root, NULL, &rule), 0);
	assert_int_equal(keyd_policy_check_request(p, "user", id, &root, ".nvme", &rule), 0);
	/* hh 03 does not exist */
	assert_int_equal(keyd_policy_check_request(p, "psk", "NVMe1R03 nqn.a nqn.b x", &root,
						   ".nvme", &rule),
			 0);
	keyd_policy_free(p);
}

static void test_shipped_nfs(void **state)
{
	keyd_policy *p = load_shipped("nfs-mtls.policy");
	const struct keyd_policy_ring *trust, *client, *peers;
	const struct keyd_policy_grant *g;
	struct keyd_policy_subject root = { 0, 0, NULL, 0 }, user = { 1000, 1000, NULL, 0 };
	size_t pos[3];

	(void)state;
	assert_int_equal(keyd_policy_ring_count(p), 3);
	trust = keyd_policy_ring_by_name(p, "nfs-trust");
	client = keyd_policy_ring_by_name(p, "nfs-client");
	peers = keyd_policy_ring_by_name(p, "nfs-peers");
	assert_non_null(trust);
	assert_non_null(client);
	assert_non_null(peers);

	assert_false(trust->kernel);
	assert_string_equal(trust->description, "keyd:nfs-trust");
	assert_int_equal(trust->n_items, 1);
	assert_int_equal(trust->items[0].kind, KEYD_POLICY_ITEM_CA_SET);
	assert_string_equal(trust->items[0].name, "nfs-ca");
	assert_int_equal(trust->items[0].as, KEYD_POLICY_AS_ASYMMETRIC | KEYD_POLICY_AS_USER);
	assert_int_equal(trust->seal, KEYD_POLICY_SEAL_CLOSED);
	/* the default mask with write dropped by the closed seal */
	assert_int_equal(trust->perm, KEYD_POLICY_DEFAULT_RING_PERM & ~0x04040404u);

	assert_int_equal(client->n_items, 2);
	assert_int_equal(client->items[0].kind, KEYD_POLICY_ITEM_CERT);
	assert_int_equal(client->items[0].as, KEYD_POLICY_AS_USER);
	assert_int_equal(client->items[1].kind, KEYD_POLICY_ITEM_KEY);
	assert_int_equal(client->items[1].as, KEYD_POLICY_AS_REF);
	assert_true(client->perm_set);
	assert_int_equal(client->perm, 0x3b0b0000);

	assert_int_equal(peers->seal, KEYD_POLICY_SEAL_CHAIN);
	assert_string_equal(peers->chain, "nfs-trust");
	assert_ptr_equal(keyd_policy_ring(p, peers->chain_index), trust);

	/* nfs-trust must exist before nfs-peers is restricted to it. */
	for (size_t i = 0; i < 3; i++)
		pos[keyd_policy_ring_order(p, i)] = i;
	assert_true(pos[peers->chain_index] < pos[2]);

	assert_int_equal(keyd_policy_check_sign(p, "nfs-client", &root, &g), 1);
	assert_non_null(g);
	assert_string_equal(g->key, "nfs-client");
	assert_int_equal(keyd_policy_check_sign(p, "nfs-client", &user, &g), 0);
	assert_null(g);
	assert_int_equal(keyd_policy_check_sign(p, "other", &root, &g), 0);
	assert_int_equal(
		keyd_policy_check_request(p, "user", "keyd:cert:nfs-client", &root, NULL, NULL), 1);
	assert_int_equal(
		keyd_policy_check_request(p, "user", "keyd:cert:nfs-client2", &root, NULL, NULL),
		0);
	keyd_policy_free(p);
}

static void test_shipped_default(void **state)
{
	keyd_policy *p = load_shipped("default.policy");
	const struct keyd_policy_rule *rule;
	struct keyd_policy_subject root = { 0, 0, NULL, 0 }, user = { 1000, 1000, NULL, 0 };

	(void)state;
	assert_int_equal(keyd_policy_ring_count(p), 0);
	assert_int_equal(keyd_policy_negative_timeout(p), 60);
	assert_int_equal(keyd_policy_transient_timeout(p), 5);
	assert_int_equal(keyd_policy_rule_count(p), 2);
	assert_int_equal(keyd_policy_check_request(p, "logon", "keyd:x", &root, NULL, &rule), 0);
	assert_non_null(rule);
	assert_false(rule->allow);
	assert_int_equal(keyd_policy_check_request(p, "user", "keyd:cert:host", &root, "", &rule),
			 1);
	assert_int_equal(keyd_policy_check_request(p, "user", "keyd:cert:host", &user, "", &rule),
			 0);
	assert_int_equal(keyd_policy_check_sign(p, "anything", &root, NULL), 1);
	assert_int_equal(keyd_policy_check_sign(p, "anything", &user, NULL), 0);
	keyd_policy_free(p);
}

/* All three together, as installed: names do not clash, the timeouts appear once. */
static void test_shipped_dir(void **state)
{
	_cleanup_free_ char *dir = NULL;
	keyd_policy *p = NULL;
	char **errors = NULL;
	int r;

	(void)state;
	assert_true(asprintf(&dir, "%s/policy", top()) > 0);
	r = keyd_policy_load_dir(dir, 0, &resolver, &p, &errors);
	dump_errors(errors);
	assert_int_equal(r, 0);
	assert_int_equal(keyd_policy_ring_count(p), 4);
	/* strcmp order: default, nfs-mtls, nvme-tls */
	assert_int_equal(keyd_policy_rule_count(p), 5);
	assert_string_equal(keyd_policy_rule(p, 0)->type, "logon");
	assert_string_equal(keyd_policy_ring(p, 0)->name, "nfs-trust");
	assert_string_equal(keyd_policy_ring(p, 3)->name, "nvme");
	keyd_policy_free(p);
}

/* ---- language details --------------------------------------------------------------- */

static void test_syntax(void **state)
{
	keyd_policy *p;
	const struct keyd_policy_ring *r;
	const struct keyd_policy_rule *rule;
	const struct keyd_policy_grant *g;
	struct keyd_policy_subject s = { 1000, 1000, (const uint32_t[]){ 5, 991 }, 2 };
	struct keyd_policy_subject nobody = { 2000, 2000, NULL, 0 };
	size_t pos[3];

	(void)state;
	p = expect_ok("# comment\n"
		      "   \t\n"
		      "  [ keyring  a ]  \n"
		      "\tca-set=cas\n"
		      "cert = c1 as asymmetric,user\n"
		      "key = k1 as tpm2\n"
		      "psk = hostnqn:nqn.2014-08.org.nvmexpress:uuid:*\n"
		      "psk = subnqn:nqn.x[0-9]\n"
		      "psk = id:host-?\n"
		      "link = persistent:alice\n"
		      "link = session\n"
		      "perm = 0x3f1b0800\n"
		      "item-perm = possessor:view,read user:none group:read other:none\n"
		      "timeout = 0\n"
		      "seal = open\n"
		      "[keyring b]\n"
		      "link = user:0\n"
		      "perm = possessor:all\n"
		      "seal = chain:a\n"
		      "[keyring c]\n"
		      "link = keyring:a\n"
		      "seal = closed\n"
		      "[request-key]\n"
		      "allow user \"quote\\\"and\\\\back\" gid=nfs\n"
		      "deny user \"x*\" uid=alice,0 gid=keyd,7 keyring=a\n"
		      "allow user \"x*\" uid=*\n"
		      "[signing]\n"
		      "grant key \"k[0-9]\" to gid=991\n"
		      "[request-key]\n"
		      "negative-timeout = 1\n"
		      "transient-timeout = 86400"); /* no newline at the end */
	r = keyd_policy_ring(p, 0);
	assert_int_equal(r->n_items, 6);
	assert_int_equal(r->items[0].as, KEYD_POLICY_AS_ASYMMETRIC | KEYD_POLICY_AS_USER);
	assert_int_equal(r->items[1].as, KEYD_POLICY_AS_ASYMMETRIC | KEYD_POLICY_AS_USER);
	assert_int_equal(r->items[2].as, KEYD_POLICY_AS_TPM2);
	assert_int_equal(r->items[3].psk_match, KEYD_POLICY_PSK_HOSTNQN);
	assert_string_equal(r->items[3].name, "nqn.2014-08.org.nvmexpress:uuid:*");
	assert_int_equal(r->items[4].psk_match, KEYD_POLICY_PSK_SUBNQN);
	assert_int_equal(r->items[5].psk_match, KEYD_POLICY_PSK_ID);
	assert_int_equal(r->items[5].line, 9);
	assert_int_equal(r->links[0].kind, KEYD_POLICY_LINK_PERSISTENT);
	assert_int_equal(r->links[0].uid, 1000);
	assert_int_equal(r->links[1].kind, KEYD_POLICY_LINK_SESSION);
	assert_int_equal(r->perm, 0x3f1b0800);
	assert_int_equal(r->item_perm, 0x03000200);
	assert_int_equal(r->line, 3);
	assert_string_equal(r->file, "t.policy");
	r = keyd_policy_ring(p, 1);
	assert_int_equal(r->perm, 0x3f000000);
	assert_int_equal(r->chain_index, 0);
	r = keyd_policy_ring(p, 2);
	assert_int_equal(r->links[0].ring_index, 0);
	assert_int_equal(r->perm, 0x3b0b0000);
	/* c goes into a before a is provisioned; a holds b's CAs, so a before b. */
	for (size_t i = 0; i < 3; i++)
		pos[keyd_policy_ring_order(p, i)] = i;
	assert_true(pos[2] < pos[0]);
	assert_true(pos[0] < pos[1]);

	assert_int_equal(keyd_policy_negative_timeout(p), 1);
	assert_int_equal(keyd_policy_transient_timeout(p), 86400);
	rule = keyd_policy_rule(p, 0);
	assert_string_equal(rule->description, "quote\"and\\back");
	assert_int_equal(rule->who.n_gids, 1);
	assert_int_equal(rule->who.gids[0], 991);
	/* supplementary group 991 = nfs */
	assert_int_equal(keyd_policy_check_request(p, "user", "quote\"and\\back", &s, NULL, NULL),
			 1);
	rule = keyd_policy_rule(p, 1);
	assert_false(rule->allow);
	assert_string_equal(rule->keyring, "keyd:a");
	assert_int_equal(rule->who.n_uids, 2);
	assert_int_equal(rule->who.gids[0], 990);
	/* deny wins for alice into keyd:a; elsewhere the next rule allows anyone */
	assert_int_equal(keyd_policy_check_request(p, "user", "xy", &s, "keyd:a", &rule), 0);
	assert_int_equal(rule->line, 25);
	assert_int_equal(keyd_policy_check_request(p, "user", "xy", &s, "keyd:b", &rule), 1);
	assert_int_equal(rule->line, 26);
	assert_int_equal(keyd_policy_check_request(p, "user", "xy", &nobody, "keyd:a", &rule), 1);
	assert_true(keyd_policy_rule(p, 2)->who.any);

	assert_int_equal(keyd_policy_check_sign(p, "k7", &s, &g), 1);
	assert_int_equal(g->line, 28);
	assert_int_equal(keyd_policy_check_sign(p, "k77", &s, &g), 0);
	assert_int_equal(keyd_policy_check_sign(p, "k7", &nobody, &g), 0);
	assert_int_equal(keyd_policy_check_sign(p, "../k7", &s, &g), 0);
	keyd_policy_free(p);
}

/* ---- every error class, with its FILE:LINE ---------------------------------------- */

#define RING_OK "[keyring r]\nlink = user:0\nseal = open\n"

static void test_errors_text(void **state)
{
	char *long_line;

	(void)state;
	long_line = malloc(KEYD_POLICY_LINE_MAX + 40);
	assert_non_null(long_line);
	memset(long_line, '#', KEYD_POLICY_LINE_MAX + 1);
	strcpy(long_line + KEYD_POLICY_LINE_MAX + 1, "\n[bogus]\n");
	expect_error(long_line, "t.policy:1: line longer than 1024 bytes");
	expect_error(long_line, "t.policy:2: unknown section '[bogus]'");
	free(long_line);

	expect_error(RING_OK "timeout = 1\r\n", "t.policy:4: carriage return");
	expect_error(RING_OK "timeout = 1\x1b[0m\n", "t.policy:4: control character \\x1b");
	expect_error(RING_OK "timeout = 1\x7f\n", "t.policy:4: control character \\x7f");
	{
		/* a NUL byte inside the text: the length decides, not the NUL */
		static const char nul[] = RING_OK "time\0out = 1\n";
		struct keyd_policy_source src = { "t.policy", nul, sizeof(nul) - 1 };
		keyd_policy *p = NULL;
		char **errors = NULL;
		assert_int_equal(keyd_policy_parse(&src, 1, &resolver, &p, &errors), -EBADMSG);
		assert_true(errors_have(errors, "t.policy:4: control character \\x00"));
		strv_free(errors);
	}
	expect_error("timeout = 5\n", "t.policy:1: 'timeout' outside a section");
	expect_error("[keyring r\n", "t.policy:1: a section header ends with ']'");
	expect_error("[]\n", "t.policy:1: expected [keyring NAME]");
	expect_error("[keyring]\n", "t.policy:1: unknown section");
	expect_error("[keyring .nvme]\n", "t.policy:1: keyring name '.nvme'");
	expect_error("[keyring a b]\n", "t.policy:1: unknown section");
	expect_error(RING_OK "colour = blue\n", "t.policy:4: unknown key 'colour' in [keyring r]");
	expect_error(RING_OK "just words\n", "t.policy:4: expected 'key = value'");
	expect_error(RING_OK " = 1\n", "t.policy:4: a line starts with '='");
	expect_error(RING_OK "timeout =\n", "t.policy:4: 'timeout' needs a value");
	/* hostile text in a message is escaped */
	expect_error(RING_OK "k\xff'ey = 1\n", "t.policy:4: unknown key 'k\\xff\\x27ey'");
	/* lines after an unknown section are not reported one by one */
	{
		keyd_policy *p = NULL;
		char **errors = NULL;
		assert_int_equal(parse_one("[nope]\nx = 1\ny\n", &p, &errors), -EBADMSG);
		assert_non_null(errors);
		assert_null(errors[1]);
		strv_free(errors);
	}
}

static void test_errors_ring(void **state)
{
	(void)state;
	/* duplicates */
	expect_error(RING_OK "[keyring r]\n", "t.policy:4: keyring 'r' is already defined at "
					      "t.policy:1");
	expect_error(RING_OK "timeout = 1\ntimeout = 2\n",
		     "t.policy:5: duplicate 'timeout' (first at line 4)");
	expect_error(RING_OK "seal = closed\n", "t.policy:4: duplicate 'seal' (first at line 3)");
	expect_error(RING_OK "cert = a\ncert = a as asymmetric\n",
		     "t.policy:5: cert 'a' is already in this keyring (line 4)");
	expect_error(RING_OK "psk = all\npsk = all\n", "t.policy:5: psk 'all' is already");
	expect_error(RING_OK "link = user:root\n", "t.policy:4: link 'user:root' given twice");
	expect_error("[keyring a]\nkernel = .nvme\nlink = user:0\nseal = open\n"
		     "[keyring b]\nkernel = .nvme\nseal = open\n",
		     "t.policy:6: kernel keyring '.nvme' is already keyring 'a'");
	/* values */
	expect_error(RING_OK "kernel = nvme\n", "t.policy:4: kernel 'nvme': expected");
	expect_error(RING_OK "if-absent = maybe\n", "t.policy:4: if-absent 'maybe'");
	expect_error(RING_OK "if-absent = create\n",
		     "t.policy:4: 'if-absent' applies only with 'kernel ='");
	expect_error(RING_OK "psk = some\n", "t.policy:4: psk 'some': expected all");
	expect_error(RING_OK "psk = id:\n", "t.policy:4: psk 'id:': not a valid pattern");
	expect_error(RING_OK "psk = id:[ab\n", "t.policy:4: psk 'id:[ab': not a valid pattern");
	expect_error(RING_OK "psk = id:[b-a]\n", "t.policy:4: psk 'id:[b-a]': not a valid");
	expect_error(RING_OK "ca-set = .hidden\n", "t.policy:4: ca-set '.hidden': names are");
	expect_error(RING_OK "ca-set = a as ref\n", "t.policy:4: ca-set cannot go in as 'ref'");
	expect_error(RING_OK "key = a as user\n", "t.policy:4: key cannot go in as 'user'");
	expect_error(RING_OK "cert = a b\n", "t.policy:4: expected 'cert = NAME'");
	expect_error(RING_OK "link = everywhere\n", "t.policy:4: link 'everywhere': expected");
	expect_error(RING_OK "link = user:bob\n", "t.policy:4: unknown user 'bob'");
	expect_error(RING_OK "link = user:4294967295\n", "t.policy:4: '4294967295' is not a valid");
	expect_error(RING_OK "link = user:-1\n", "t.policy:4: '-1' is neither a number");
	expect_error(RING_OK "link = keyring:-x\n", "t.policy:4: link 'keyring:-x': not a valid");
	expect_error(RING_OK "timeout = 315360001\n", "t.policy:4: timeout '315360001': expected "
						      "seconds from 0 to 315360000");
	expect_error(RING_OK "timeout = -1\n", "t.policy:4: timeout '-1'");
	expect_error(RING_OK "timeout = 0x10\n", "t.policy:4: timeout '0x10'");
	expect_error("[keyring r]\nlink = user:0\nseal = sealed\n",
		     "t.policy:3: seal 'sealed': expected closed, chain:RING or open");
	/* permission masks */
	expect_error(RING_OK "perm = 0x7f000000\n",
		     "t.policy:4: perm 0x7f000000 sets bits outside");
	expect_error(RING_OK "perm = 0x3f00000040\n", "t.policy:4: perm '0x3f00000040': write the");
	expect_error(RING_OK "perm = 0x3f0000\n", "t.policy:4: perm '0x3f0000': write the");
	expect_error(RING_OK "perm = 1061093376\n", "t.policy:4: perm: expected CLASS:BITS");
	expect_error(RING_OK "perm = owner:all\n", "t.policy:4: perm: unknown class 'owner'");
	expect_error(RING_OK "perm = possessor:all possessor:view\n",
		     "t.policy:4: perm: class 'possessor' given twice");
	expect_error(RING_OK "perm = possessor:view,fly\n",
		     "t.policy:4: perm: unknown permission 'fly'");
	expect_error(RING_OK "perm = possessor:\n", "t.policy:4: perm: 'possessor:' needs bits");
	expect_error(RING_OK "perm = user:all\n", "t.policy:4: perm must give the possessor view "
						  "and search");
	expect_error(RING_OK "perm = possessor:view,search\n",
		     "t.policy:4: perm must give the possessor link");
	expect_error(RING_OK "item-perm = user:all\n",
		     "t.policy:4: item-perm must give the possessor view");
	expect_error("[keyring r]\nlink = user:0\nseal = closed\nperm = possessor:all\n",
		     "t.policy:4: perm grants write, but seal = closed drops it");
	/* whole-ring rules */
	expect_error("\n[keyring r]\nlink = user:0\n", "t.policy:2: keyring 'r' has no 'seal'");
	expect_error("[keyring r]\nseal = open\n", "t.policy:1: keyring 'r' is linked nowhere, so "
						   "the kernel would drop it as soon "
						   "as keyd creates it: add");
	expect_error(
		"[keyring r]\nkernel = .nvme\nif-absent = create\nseal = open\n",
		"t.policy:1: keyring 'r' is linked nowhere, so the kernel would drop it as soon "
		"as keyd creates it (if-absent = create)");
	expect_error("[keyring r]\nkernel = .nvme\nseal = closed\n",
		     "t.policy:3: keyring 'r' is the kernel's '.nvme'");
	/* keyring= prefers a ring of the policy over a kernel name of the same spelling */
	{
		keyd_policy *p = expect_ok("[keyring _k]\nlink = user:0\nseal = open\n"
					   "[request-key]\nallow user \"x\" uid=0 keyring=_k\n"
					   "allow user \"y\" uid=0 keyring=_ima\n");
		assert_string_equal(keyd_policy_rule(p, 0)->keyring, "keyd:_k");
		assert_string_equal(keyd_policy_rule(p, 1)->keyring, "_ima");
		keyd_policy_free(p);
	}
	/* a kernel ring needs no link: the kernel anchors it */
	keyd_policy_free(expect_ok("[keyring r]\nkernel = .nvme\nseal = open\n"));
}

static void test_errors_references(void **state)
{
	(void)state;
	expect_error(RING_OK "link = keyring:ghost\n", "t.policy:4: link: keyring 'ghost' is not "
						       "defined");
	expect_error("[keyring r]\nlink = user:0\nseal = chain:ghost\n",
		     "t.policy:3: seal chain: keyring 'ghost' is not defined");
	expect_error("[keyring r]\nlink = user:0\nseal = chain:r\n",
		     "t.policy:3: keyring 'r' cannot chain to itself");
	expect_error("[keyring r]\nlink = keyring:r\nseal = open\n",
		     "t.policy:2: keyring 'r' cannot be linked into itself");
	expect_error(RING_OK "[keyring c]\nlink = user:0\nseal = chain:r\n",
		     "t.policy:6: seal chain:r, but keyring 'r' holds no CA set as asymmetric");
	expect_error(RING_OK "ca-set = x as user\n[keyring c]\nlink = user:0\nseal = chain:r\n",
		     "t.policy:7: seal chain:r, but keyring 'r'");
	expect_error("[keyring ca]\nca-set = x\nlink = user:0\nseal = closed\n"
		     "[keyring c]\nlink = user:0\nseal = chain:ca\n"
		     "[keyring d]\nlink = keyring:c\nseal = open\n",
		     "t.policy:9: keyring 'c' is sealed chain: and accepts only certificates");
	/* cycles: by links, and by a link against a chain */
	expect_error("[keyring a]\nlink = keyring:b\nseal = open\n"
		     "[keyring b]\nlink = keyring:a\nseal = open\n",
		     "t.policy:1: keyring 'a' is on a cycle");
	expect_error("[keyring a]\nlink = keyring:b\nseal = open\n"
		     "[keyring b]\nlink = keyring:c\nseal = open\n"
		     "[keyring c]\nlink = keyring:a\nseal = open\n",
		     "t.policy:7: keyring 'c' is on a cycle");
	expect_error("[keyring a]\nlink = keyring:b\nseal = chain:c\n"
		     "[keyring b]\nlink = keyring:c\nseal = open\n"
		     "[keyring c]\nca-set = x\nlink = user:0\nseal = open\n",
		     "t.policy:1: keyring 'a' is on a cycle");
	/* a chain ring cannot hold another ring (only certificates pass its check) */
	expect_error("[keyring a]\nca-set = x\nlink = keyring:b\nseal = open\n"
		     "[keyring b]\nlink = user:0\nseal = chain:a\n",
		     "t.policy:3: keyring 'b' is sealed chain: and accepts only certificates");
	/* a ring referenced before its definition is fine */
	keyd_policy_free(expect_ok("[keyring a]\nlink = keyring:b\nseal = open\n"
				   "[keyring b]\nlink = user:0\nseal = open\n"));
}

static void test_errors_request_key(void **state)
{
	(void)state;
	expect_error("[request-key]\nallow user keyd:* uid=0\n",
		     "t.policy:2: expected 'allow|deny TYPE \"DESCRIPTION\"");
	expect_error("[request-key]\nallow User \"x\" uid=0\n", "t.policy:2: 'User' is not a key");
	expect_error("[request-key]\nallow user \"\" uid=0\n",
		     "t.policy:2: description pattern ''");
	expect_error("[request-key]\nallow user \"[x\" uid=0\n", "t.policy:2: description pattern");
	expect_error("[request-key]\nallow user \"x\"\n", "t.policy:2: say for whom");
	expect_error("[request-key]\nallow user \"x\" keyring=.nvme\n", "t.policy:2: say for whom");
	expect_error("[request-key]\nallow user \"x\" uid=0 uid=1\n",
		     "t.policy:2: uid= given twice");
	expect_error("[request-key]\nallow user \"x\" uid=0,0\n",
		     "t.policy:2: uid 0 is listed twice");
	expect_error("[request-key]\nallow user \"x\" uid=0,*\n", "t.policy:2: uid=* cannot be");
	expect_error("[request-key]\nallow user \"x\" uid=0,\n", "t.policy:2: uid= needs a comma");
	expect_error("[request-key]\nallow user \"x\" uid=\n", "t.policy:2: uid= needs a comma");
	expect_error("[request-key]\nallow user \"x\" gid=wheel\n",
		     "t.policy:2: unknown group 'wheel'");
	expect_error("[request-key]\nallow user \"x\" uid=0 host=a\n",
		     "t.policy:2: unknown condition 'host='");
	expect_error("[request-key]\nallow user \"x\" uid=0 \"y\"\n", "t.policy:2: unexpected 'y'");
	expect_error("[request-key]\nallow user \"x\" uid=0 keyring=ghost\n",
		     "t.policy:2: keyring=ghost: no such keyring");
	expect_error("[request-key]\nallow user \"x\" uid=0 keyring=a/b\n",
		     "t.policy:2: keyring 'a/b': expected");
	expect_error("[request-key]\nallow user \"x uid=0\n", "t.policy:2: unterminated \"");
	expect_error("[request-key]\nallow user \"x\\n\" uid=0\n",
		     "t.policy:2: only \\\" and \\\\");
	expect_error("[request-key]\nallow user \"x\"y uid=0\n", "t.policy:2: text right after");
	expect_error("[request-key]\nallow user a\"b uid=0\n", "t.policy:2: a \" inside a word");
	expect_error("[request-key]\nallow user \"x\" uid=0 1 2 3 4 5\n", "t.policy:2: too many");
	expect_error("[request-key]\nallowed = 1\n", "t.policy:2: unknown key 'allowed' in "
						     "[request-key]");
	expect_error("[request-key]\nnegative-timeout = 0\n",
		     "t.policy:2: negative-timeout '0': expected seconds from 1 to 86400");
	expect_error("[request-key]\ntransient-timeout = 86401\n", "t.policy:2: transient-timeout");
	{
		/* once per policy, across files */
		static const char a[] = "[request-key]\nnegative-timeout = 10\n";
		static const char b[] = "# b\n[request-key]\nnegative-timeout = 20\n";
		struct keyd_policy_source src[] = { { "a.policy", a, sizeof(a) - 1 },
						    { "b.policy", b, sizeof(b) - 1 } };
		keyd_policy *p = NULL;
		char **errors = NULL;
		assert_int_equal(keyd_policy_parse(src, 2, &resolver, &p, &errors), -EBADMSG);
		assert_true(errors_have(errors,
					"b.policy:3: duplicate 'negative-timeout' (first at "
					"a.policy:2)"));
		strv_free(errors);
	}
	/* signing */
	expect_error("[signing]\ngrant k to uid=0\n", "t.policy:2: expected 'grant key NAME to");
	expect_error("[signing]\ngrant key k uid=0\n", "t.policy:2: expected 'grant key NAME to");
	expect_error("[signing]\ngrant key k to\n", "t.policy:2: expected 'grant key NAME to");
	expect_error("[signing]\ngrant key [k to uid=0\n", "t.policy:2: key pattern '[k'");
	expect_error("[signing]\ngrant key k to keyring=x uid=0\n",
		     "t.policy:2: unknown condition 'keyring='");
	expect_error("[signing]\ngrant key k to user=0\n", "t.policy:2: unknown condition 'user='");
}

static void test_errors_limits(void **state)
{
	_cleanup_free_ char *text = NULL;
	size_t cap = 200 * 1024, n = 0;
	keyd_policy *p = NULL;
	char **errors = NULL;
	size_t count = 0;

	(void)state;
	text = malloc(cap);
	assert_non_null(text);
	for (int i = 0; i <= KEYD_POLICY_RINGS_MAX; i++)
		n += (size_t)snprintf(text + n, cap - n,
				      "[keyring r%d]\nlink = user:0\nseal = open\n", i);
	expect_error(text, "t.policy:193: more than 64 keyrings");

	n = (size_t)snprintf(text, cap, "[keyring r]\nlink = user:0\nseal = open\n");
	for (int i = 0; i <= KEYD_POLICY_ITEMS_MAX; i++)
		n += (size_t)snprintf(text + n, cap - n, "cert = c%d\n", i);
	expect_error(text, "t.policy:260: more than 256 items in one keyring");

	n = (size_t)snprintf(text, cap, "[keyring r]\nseal = open\n");
	for (int i = 0; i <= KEYD_POLICY_LINKS_MAX; i++)
		n += (size_t)snprintf(text + n, cap - n, "link = user:%d\n", i);
	expect_error(text, "t.policy:11: more than 8 links");

	n = (size_t)snprintf(text, cap, "[request-key]\n");
	for (int i = 0; i <= KEYD_POLICY_RULES_MAX; i++)
		n += (size_t)snprintf(text + n, cap - n, "allow user \"k%d\" uid=0\n", i);
	expect_error(text, "t.policy:258: more than 256 request-key rules");

	n = (size_t)snprintf(text, cap, "[signing]\n");
	for (int i = 0; i <= KEYD_POLICY_GRANTS_MAX; i++)
		n += (size_t)snprintf(text + n, cap - n, "grant key k%d to uid=0\n", i);
	expect_error(text, "t.policy:258: more than 256 grants");

	n = (size_t)snprintf(text, cap, "[request-key]\nallow user \"k\" uid=");
	for (int i = 0; i <= KEYD_POLICY_IDS_MAX; i++)
		n += (size_t)snprintf(text + n, cap - n, "%s%d", i ? "," : "", i);
	expect_error(text, "t.policy:2: uid= lists more than 16 entries");

	/* the error list is bounded and says how many it left out */
	n = 0;
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(text + n, cap - n, "bad%d\n", i);
	assert_int_equal(parse_one(text, &p, &errors), -EBADMSG);
	for (char **e = errors; *e; e++)
		count++;
	assert_int_equal(count, KEYD_POLICY_ERRORS_MAX);
	assert_string_equal(errors[0], "t.policy:1: expected 'key = value', got 'bad0'");
	assert_string_equal(errors[KEYD_POLICY_ERRORS_MAX - 1], "... and 9 more errors");
	strv_free(errors);

	/* a file over the size limit is refused whole */
	{
		char *big = calloc(1, KEYD_POLICY_FILE_MAX + 1);
		struct keyd_policy_source src = { "big.policy", big, KEYD_POLICY_FILE_MAX + 1 };
		assert_non_null(big);
		memset(big, '\n', KEYD_POLICY_FILE_MAX + 1);
		assert_int_equal(keyd_policy_parse(&src, 1, &resolver, &p, &errors), -EBADMSG);
		assert_string_equal(errors[0], "big.policy: larger than 262144 bytes");
		strv_free(errors);
		free(big);
	}
	/* no error list asked for: still refused */
	assert_int_equal(parse_one("bad\n", &p, NULL), -EBADMSG);
	assert_null(p);
}

/* ---- request-key matching with hostile descriptions ---------------------------------- */

static void test_request_hostile(void **state)
{
	keyd_policy *p;
	const struct keyd_policy_rule *rule = NULL;
	struct keyd_policy_subject root = { 0, 0, NULL, 0 };
	char *big;

	(void)state;
	p = expect_ok("[request-key]\n"
		      "allow user \"keyd:cert:host\" uid=0\n"
		      "allow user \"keyd:any:*\" uid=0\n"
		      "allow user \"keyd:two:??\" uid=0\n"
		      "allow user \"a\\\\*\" uid=0\n"
		      "allow user \"#;$(x)`|&<>'*\" uid=0\n");
	/* literal: no prefix, suffix or shell meaning */
	assert_int_equal(keyd_policy_check_request(p, "user", "keyd:cert:host", &root, NULL, &rule),
			 1);
	assert_int_equal(
		keyd_policy_check_request(p, "user", "keyd:cert:host;reboot", &root, NULL, &rule),
		0);
	assert_int_equal(keyd_policy_check_request(p, "user", "keyd:cert:hos", &root, NULL, &rule),
			 0);
	assert_int_equal(
		keyd_policy_check_request(p, "user", "keyd:cert:host ", &root, NULL, &rule), 0);
	assert_int_equal(keyd_policy_check_request(p, "user", "keyd:cert:*", &root, NULL, &rule),
			 0);
	/* '*' spans metacharacters and slashes, matched as bytes */
	assert_int_equal(keyd_policy_check_request(p, "user", "keyd:any:$(reboot);rm -rf /*", &root,
						   NULL, &rule),
			 1);
	assert_int_equal(rule->line, 3);
	assert_int_equal(
		keyd_policy_check_request(p, "user", "keyd:any:.hidden/../..", &root, NULL, &rule),
		1);
	assert_int_equal(
		keyd_policy_check_request(p, "user", "#;$(x)`|&<>'tail", &root, NULL, &rule), 1);
	assert_int_equal(rule->line, 6);
	/* a backslash is an ordinary byte: "a\*" is 'a', '\', then anything */
	assert_int_equal(keyd_policy_check_request(p, "user", "a\\xyz", &root, NULL, &rule), 1);
	assert_int_equal(keyd_policy_check_request(p, "user", "a*", &root, NULL, &rule), 0);
	/* newlines and other control bytes: always refused, even where '*' would match */
	assert_int_equal(keyd_policy_check_request(p, "user", "keyd:any:x\ny", &root, NULL, &rule),
			 0);
	assert_null(rule);
	assert_int_equal(
		keyd_policy_check_request(p, "user", "keyd:cert:host\n", &root, NULL, &rule), 0);
	assert_int_equal(keyd_policy_check_request(p, "user", "keyd:any:\t", &root, NULL, &rule),
			 0);
	assert_int_equal(
		keyd_policy_check_request(p, "user", "keyd:any:\x1b[2J", &root, NULL, &rule), 0);
	assert_int_equal(keyd_policy_check_request(p, "user", "keyd:any:\x7f", &root, NULL, &rule),
			 0);
	/* invalid UTF-8: bytes like any other; '?' is one byte */
	assert_int_equal(
		keyd_policy_check_request(p, "user", "keyd:any:\xff\xfe\xc0", &root, NULL, &rule),
		1);
	assert_int_equal(
		keyd_policy_check_request(p, "user", "keyd:two:\xc3\xa9", &root, NULL, &rule), 1);
	assert_int_equal(
		keyd_policy_check_request(p, "user", "keyd:two:\xe2\x82\xac", &root, NULL, &rule),
		0);
	/* 4 KiB: the kernel's largest description is checked, one byte more is refused */
	big = malloc(KEYD_POLICY_DESC_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', KEYD_POLICY_DESC_MAX + 1);
	memcpy(big, "keyd:any:", 9);
	big[KEYD_POLICY_DESC_MAX] = '\0';
	assert_int_equal(keyd_policy_check_request(p, "user", big, &root, NULL, &rule), 1);
	big[KEYD_POLICY_DESC_MAX] = 'a';
	big[KEYD_POLICY_DESC_MAX + 1] = '\0';
	assert_int_equal(keyd_policy_check_request(p, "user", big, &root, NULL, &rule), 0);
	assert_null(rule);
	free(big);
	/* empty and odd arguments */
	assert_int_equal(keyd_policy_check_request(p, "user", "", &root, NULL, &rule), 0);
	assert_int_equal(keyd_policy_check_request(p, "", "keyd:cert:host", &root, NULL, &rule), 0);
	assert_int_equal(keyd_policy_check_request(p, "user", NULL, &root, NULL, &rule), -EINVAL);
	assert_int_equal(keyd_policy_check_request(NULL, "user", "x", &root, NULL, &rule), -EINVAL);
	assert_int_equal(keyd_policy_check_sign(p, "x", NULL, NULL), -EINVAL);
	keyd_policy_free(p);
}

static void test_glob(void **state)
{
	static const struct {
		const char *pattern, *text;
		bool match;
	} cases[] = {
		{ "", "", true },
		{ "", "a", false },
		{ "*", "", true },
		{ "*", "anything", true },
		{ "a*", "a", true },
		{ "a*b", "axxb", true },
		{ "a*b", "axxbc", false },
		{ "*b*", "abc", true },
		{ "a?c", "abc", true },
		{ "a?c", "ac", false },
		{ "[abc]", "b", true },
		{ "[abc]", "d", false },
		{ "[!abc]", "d", true },
		{ "[^abc]", "a", false },
		{ "[a-c]x", "bx", true },
		{ "[a-c]x", "dx", false },
		{ "[]]", "]", true },
		{ "[!]]", "]", false },
		{ "[!]]", "x", true },
		{ "[a-]", "-", true },
		{ "[ab", "[ab", true },
		{ "[ab", "a", false },
		{ "x[", "x[", true },
		{ ".*", ".hidden", true },
		{ "*", ".hidden", true },
		{ "a/*", "a/b/c", true },
		{ "\\*", "\\x", true },
		{ "\\*", "*", false },
		{ "**a", "bba", true },
		{ "*a*a*b", "aaaaaab", true },
		{ "[\xc3]?", "\xc3\xa9", true },
	};
	char *many;

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		if (keyd_policy_glob_match(cases[i].pattern, cases[i].text) != cases[i].match)
			fail_msg("glob '%s' on '%s': expected %d", cases[i].pattern, cases[i].text,
				 cases[i].match);
	}
	assert_false(keyd_policy_glob_match(NULL, "x"));
	assert_int_equal(keyd_policy_glob_validate("a[b-c]*?"), 0);
	assert_int_equal(keyd_policy_glob_validate("[]x]"), 0);
	assert_int_equal(keyd_policy_glob_validate("[ab"), -EINVAL);
	assert_int_equal(keyd_policy_glob_validate("[]"), -EINVAL);
	assert_int_equal(keyd_policy_glob_validate("[!]"), -EINVAL);
	assert_int_equal(keyd_policy_glob_validate("[z-a]"), -EINVAL);

	/* The classic blow-up pattern stays fast: one remembered star, no recursion. */
	many = malloc(KEYD_POLICY_DESC_MAX + 1);
	assert_non_null(many);
	memset(many, 'a', KEYD_POLICY_DESC_MAX);
	many[KEYD_POLICY_DESC_MAX] = '\0';
	assert_false(keyd_policy_glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", many));
	assert_true(keyd_policy_glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*", many));
	free(many);
}

/* ---- the directory loader ------------------------------------------------------------ */

static void write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	_cleanup_free_ char *path = NULL;
	int fd;

	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_load_dir(void **state)
{
	char dir[] = "/tmp/keyd-test-policy-XXXXXX";
	_cleanup_free_ char *sub = NULL;
	keyd_policy *p = NULL;
	char **errors = NULL;
	char cmd[128];

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(keyd_policy_load_dir("/nonexistent/keyd", 0, &resolver, &p, &errors),
			 -ENOENT);

	/* empty: an empty policy */
	assert_int_equal(keyd_policy_load_dir(dir, KEYD_POLICY_CHECK_OWNER, &resolver, &p, &errors),
			 0);
	assert_int_equal(keyd_policy_ring_count(p), 0);
	p = keyd_policy_free(p);

	/* lexical order; other names ignored; references across files */
	write_file(dir, "20-b.policy", "[keyring b]\nlink = keyring:a\nseal = open\n", 0644);
	write_file(dir, "10-a.policy", "[keyring a]\nlink = user:0\nseal = open\n", 0644);
	write_file(dir, "30-c.policy.rpmsave", "garbage\n", 0644);
	write_file(dir, ".90-hidden.policy", "garbage\n", 0644);
	write_file(dir, "README", "garbage\n", 0644);
	assert_int_equal(keyd_policy_load_dir(dir, KEYD_POLICY_CHECK_OWNER, &resolver, &p, &errors),
			 0);
	assert_int_equal(keyd_policy_ring_count(p), 2);
	assert_string_equal(keyd_policy_ring(p, 0)->name, "a");
	assert_true(strstr(keyd_policy_ring(p, 1)->file, "/20-b.policy") != NULL);
	p = keyd_policy_free(p);

	/* messages name the file */
	write_file(dir, "15-bad.policy", "[keyring a]\n", 0644);
	assert_int_equal(keyd_policy_load_dir(dir, 0, &resolver, &p, &errors), -EBADMSG);
	{
		_cleanup_free_ char *want = NULL;
		assert_true(asprintf(&want,
				     "%s/15-bad.policy:1: keyring 'a' is already defined at "
				     "%s/10-a.policy:1",
				     dir, dir) > 0);
		assert_true(errors_have(errors, want));
	}
	errors = strv_free(errors);

	/* a writable policy file is refused when owners are checked */
	write_file(dir, "15-bad.policy", "# fine\n", 0666);
	assert_int_equal(keyd_policy_load_dir(dir, 0, &resolver, &p, &errors), 0);
	p = keyd_policy_free(p);
	assert_int_equal(keyd_policy_load_dir(dir, KEYD_POLICY_CHECK_OWNER, &resolver, &p, &errors),
			 -EBADMSG);
	assert_non_null(
		strstr(errors[0], "15-bad.policy: writable by group or others (mode 0666)"));
	errors = strv_free(errors);

	/* a *.policy that is not a regular file */
	write_file(dir, "15-bad.policy", "# fine\n", 0644);
	assert_true(asprintf(&sub, "%s/40-dir.policy", dir) > 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(keyd_policy_load_dir(dir, 0, &resolver, &p, &errors), -EBADMSG);
	assert_non_null(strstr(errors[0], "40-dir.policy: not a regular file"));
	errors = strv_free(errors);
	assert_int_equal(rmdir(sub), 0);

	/* too many files */
	for (int i = 0; i < KEYD_POLICY_FILES_MAX; i++) {
		char name[32];
		snprintf(name, sizeof(name), "5%02d.policy", i);
		write_file(dir, name, "", 0644);
	}
	assert_int_equal(keyd_policy_load_dir(dir, 0, &resolver, &p, &errors), -EBADMSG);
	assert_non_null(strstr(errors[0], ": more than 64 *.policy files"));
	errors = strv_free(errors);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_nvme),
		cmocka_unit_test(test_shipped_nfs),
		cmocka_unit_test(test_shipped_default),
		cmocka_unit_test(test_shipped_dir),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_errors_text),
		cmocka_unit_test(test_errors_ring),
		cmocka_unit_test(test_errors_references),
		cmocka_unit_test(test_errors_request_key),
		cmocka_unit_test(test_errors_limits),
		cmocka_unit_test(test_request_hostile),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_load_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
