/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for unseal batches of keyd/core/tpm.c (keyd_tpm_unseal_batch_begin/end,
 * what a provisioning pass uses), against a private swtpm (skipped with a message
 * when swtpm or tpm2-tools are not installed):
 *  - objects without a policy, sealed to PCR 16, and to PCR 16 with a PIN, unsealed
 *    interleaved and twice each: every secret comes back; the kept policy session
 *    serves object after object (the TPM resets it after each use); the commands
 *    are Load, Unseal, FlushContext per object (+ PolicyPCR, + PolicyAuthValue) and
 *    one StartAuthSession per session kind;
 *  - a wrong PIN fails with -EACCES and drops the policy session, the next object
 *    starts a new one and unseals;
 *  - after PCR 16 moves, an object sealed to it fails with -ESTALE and PCR 16 named,
 *    at the cost of PolicyPCR and the PCR_Read that names it (no Load, no Unseal),
 *    and the batch goes on with the other objects;
 *  - batch end (and close without end) leaves no session and no object loaded.
 */
#include <setjmp.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "swtpm-fixture.h"

#include "tpm.h"

static bool have_tools;

static int swtpm_setup(void **state)
{
	(void)state;
	have_tools = in_path("tpm2_getcap") && in_path("tpm2_pcrextend");
	if (!have_tools)
		return 0;
	if (swtpm_fixture_start("batch") < 0)
		return -1;
	return 0;
}

static int swtpm_teardown(void **state)
{
	(void)state;
	swtpm_fixture_stop();
	return 0;
}

static keyd_tpm *tpm_or_skip(void)
{
	keyd_tpm *t = NULL;

	if (swtpm_pid <= 0)
		skip();
	assert_int_equal(keyd_tpm_open(swtpm_tcti, &t), 0);
	return t;
}

/* No transient object and no loaded session in the TPM. */
static void assert_no_handles(void)
{
	static const char *const caps[] = { "handles-transient", "handles-loaded-session" };

	for (size_t i = 0; i < 2; i++) {
		char cmd[128], line[256];
		FILE *f;

		snprintf(cmd, sizeof(cmd), "tpm2_getcap %s 2>&1", caps[i]);
		f = popen(cmd, "r");
		assert_non_null(f);
		if (fgets(line, sizeof(line), f))
			fail_msg("%s not empty: %s", caps[i], line);
		assert_int_equal(pclose(f), 0);
	}
}

struct sealed {
	struct keyd_pcr_policy policy;
	struct keyd_tpm_blob blob;
	uint8_t secret[32];
};

static void seal(keyd_tpm *t, struct sealed *s, uint32_t mask, bool pin, uint8_t fill)
{
	struct keyd_tpm_policy_step steps[KEYD_TPM_POLICY_STEPS_MAX];
	size_t n_steps;

	memset(s, 0, sizeof(*s));
	memset(s->secret, fill, sizeof(s->secret));
	s->policy = (struct keyd_pcr_policy){ .bank = KEYD_HASH_SHA256, .mask = mask, .pin = pin };
	assert_int_equal(keyd_tpm_seal(t, s->secret, sizeof(s->secret), &s->policy,
				       pin ? "2468" : NULL, &s->blob, steps, &n_steps),
			 0);
}

/* Unseal s, expect its secret back, and the number of commands it cost. */
static void unseal_ok(keyd_tpm *t, const struct sealed *s, unsigned want_commands)
{
	struct keyd_secret out = {};
	unsigned before = keyd_tpm_command_count(t);
	int r = keyd_tpm_unseal(t, &s->blob, &s->policy, s->policy.pin ? "2468" : NULL, &out,
				NULL);

	if (r < 0)
		fail_msg("unseal: %s", keyd_tpm_last_error(t));
	assert_int_equal(out.len, sizeof(s->secret));
	assert_memory_equal(out.data, s->secret, sizeof(s->secret));
	keyd_secret_wipe(&out);
	assert_int_equal(keyd_tpm_command_count(t) - before, want_commands);
}

static void test_batch_mixed(void **state)
{
	struct sealed plain[2], pcr[2], pin;
	struct keyd_secret out = {};
	unsigned before;
	keyd_tpm *t;

	(void)state;
	t = tpm_or_skip();
	assert_int_equal(keyd_tpm_srk_ensure(t, NULL, NULL, NULL), 0);
	seal(t, &plain[0], 0, false, 0x11);
	seal(t, &plain[1], 0, false, 0x22);
	seal(t, &pcr[0], 1u << 16, false, 0x33);
	seal(t, &pcr[1], (1u << 16) | (1u << 7), false, 0x44);
	seal(t, &pin, 1u << 16, true, 0x55);
	assert_no_handles();

	keyd_tpm_unseal_batch_begin(t);
	keyd_tpm_unseal_batch_begin(t); /* no effect */
	/* StartAuthSession (HMAC), Load, Unseal, FlushContext */
	unseal_ok(t, &plain[0], 4);
	/* StartAuthSession (policy), PolicyPCR, Load, Unseal, FlushContext */
	unseal_ok(t, &pcr[0], 5);
	/* The kept sessions from now on: the policy session was reset by the TPM. */
	unseal_ok(t, &plain[1], 3);
	unseal_ok(t, &pcr[1], 4);
	unseal_ok(t, &pcr[0], 4);
	/* PolicyPCR, PolicyAuthValue, Load, Unseal, FlushContext */
	unseal_ok(t, &pin, 5);
	unseal_ok(t, &plain[0], 3);
	unseal_ok(t, &pcr[1], 4);

	/* A wrong PIN: refused, the policy session dropped (the next one starts anew). */
	assert_int_equal(keyd_tpm_unseal(t, &pin.blob, &pin.policy, "1357", &out, NULL), -EACCES);
	assert_non_null(strstr(keyd_tpm_last_error(t), "wrong PIN"));
	assert_null(out.data);
	unseal_ok(t, &pcr[0], 5);
	unseal_ok(t, &pin, 5);

	/* End: FlushContext of both kept sessions, and nothing left. */
	before = keyd_tpm_command_count(t);
	keyd_tpm_unseal_batch_end(t);
	assert_int_equal(keyd_tpm_command_count(t) - before, 2);
	assert_no_handles();
	/* Out of the batch again: the one-shot path with its PCR_Read. */
	unseal_ok(t, &pcr[0], 5 + 1);
	assert_no_handles();
	keyd_tpm_close(t);
}

static void test_batch_pcr_changed(void **state)
{
	struct sealed plain, pcr;
	struct keyd_secret out = {};
	uint32_t changed = 0;
	unsigned before;
	keyd_tpm *t;

	(void)state;
	t = tpm_or_skip();
	assert_int_equal(keyd_tpm_srk_ensure(t, NULL, NULL, NULL), 0);
	seal(t, &plain, 0, false, 0x66);
	seal(t, &pcr, 1u << 16, false, 0x77);

	keyd_tpm_unseal_batch_begin(t);
	unseal_ok(t, &pcr, 5);
	assert_int_equal(system("tpm2_pcrextend 16:sha256=00000000000000000000000000000000"
				"00000000000000000000000000000002 >/dev/null"),
			 0);
	/* PolicyPCR refused, then PCR_Read to name the PCR; nothing loaded, no Unseal. */
	before = keyd_tpm_command_count(t);
	assert_int_equal(keyd_tpm_unseal(t, &pcr.blob, &pcr.policy, NULL, &out, &changed),
			 -ESTALE);
	assert_int_equal(keyd_tpm_command_count(t) - before, 2);
	assert_int_equal(changed, 1u << 16);
	assert_null(out.data);
	assert_non_null(strstr(keyd_tpm_last_error(t), "PCR 16 (sha256) changed"));
	/* Again: the kept session is still good for the check. */
	before = keyd_tpm_command_count(t);
	assert_int_equal(keyd_tpm_unseal(t, &pcr.blob, &pcr.policy, NULL, &out, &changed),
			 -ESTALE);
	assert_int_equal(keyd_tpm_command_count(t) - before, 2);
	/* The rest of the batch goes on. */
	unseal_ok(t, &plain, 4);
	unseal_ok(t, &plain, 3);
	/* close without end flushes the kept sessions too */
	keyd_tpm_close(t);
	assert_no_handles();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_mixed),
		cmocka_unit_test(test_batch_pcr_changed),
	};

	if (!in_path("swtpm") || !in_path("tpm2_getcap") || !in_path("tpm2_pcrextend"))
		fprintf(stderr, "swtpm or tpm2-tools are not installed: the batch tests are "
			"skipped\n");
	return cmocka_run_group_tests(tests, swtpm_setup, swtpm_teardown);
}
