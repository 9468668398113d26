/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The policy decision. It is made here, before keyd or the TPM are asked
 * anything, because only the upcall knows the destination keyring; keyd serves
 * REQUEST-KEY to root peers (this program) only and relies on it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "request-key.h"

static void first_error(char **errors, int r, char *reason, size_t size)
{
	snprintf(reason, size, "%s", errors && errors[0] ? errors[0] : strerror(-r));
}

int rk_decide(const struct rk_options *o, const struct rk_upcall *u, struct keyd_config *config,
	      struct rk_decision *ret, char *reason, size_t reason_size)
{
	_cleanup_strv_free_ char **errors = NULL;
	const struct keyd_policy_rule *rule = NULL;
	struct keyd_policy_subject who = { .uid = u->args.uid, .gid = u->args.gid };
	keyd_policy *p = NULL;
	int r;

	*ret = (struct rk_decision){
		.negative_timeout = KEYD_POLICY_DEFAULT_NEG_TIMEOUT,
		.transient_timeout = KEYD_POLICY_DEFAULT_TRANSIENT_TIMEOUT,
	};
	snprintf(ret->rule, sizeof(ret->rule), "no rule");

	r = keyd_config_load(config, o->config_path, KEYD_CONFIG_CHECK_OWNER, &errors);
	if (r >= 0)
		r = keyd_config_apply_env(config, &errors);
	if (r < 0) {
		first_error(errors, r, reason, reason_size);
		return r;
	}

	r = keyd_policy_load_dir(config->policy_dir, KEYD_POLICY_CHECK_OWNER, NULL, &p, &errors);
	if (r == -ENOENT) {
		/* No policy: no rule allows anything. */
		snprintf(ret->rule, sizeof(ret->rule), "no policy directory '%s'",
			 config->policy_dir);
		return 0;
	}
	if (r < 0) {
		first_error(errors, r, reason, reason_size);
		return r;
	}
	ret->negative_timeout = keyd_policy_negative_timeout(p);
	ret->transient_timeout = keyd_policy_transient_timeout(p);
	r = keyd_policy_check_request(p, u->args.type, u->args.description, &who,
				      u->dest[0] ? u->dest : NULL, &rule);
	if (r < 0) {
		snprintf(reason, reason_size, "policy check failed: %s", strerror(-r));
		keyd_policy_free(p);
		return r;
	}
	ret->allow = r > 0;
	if (rule)
		snprintf(ret->rule, sizeof(ret->rule), "%s:%u", rule->file, rule->line);
	keyd_policy_free(p);
	return 0;
}
