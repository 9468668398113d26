/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-ctl key to-kernel NAME: place a TPM-resident key of the store into a kernel
 * keyring as an "asymmetric" key of the kernel's TPM2 subtype (kernel-patches/0004),
 * once, outside any policy - what keyd-policy(5) "key = NAME as tpm2" does on every
 * provisioning pass. The payload is the key file in DER (the private part wrapped by
 * the SRK); the kernel then signs with KEYCTL_PKEY_SIGN through the TPM.
 *
 * Needs only the store file: no TPM command is sent here (the kernel sends its own
 * when it signs) and the daemon is not asked. A kernel without the subtype refuses
 * the key, and that is the error: there is no fallback to another form.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "kernel-key.h"
#include "key-entry.h"
#include "keyring.h"
#include "macro.h"
#include "parse.h"
#include "policy.h"
#include "tss2key.h"

static const char to_kernel_usage[] =
	"Usage: keyd-ctl key to-kernel NAME [--keyring RING] [--description TEXT] [--json]\n"
	"  Add the TPM key NAME to a kernel keyring as an asymmetric key of the kernel's\n"
	"  TPM2 subtype (kernel-patches/0004) and print its serial.\n"
	"  --keyring RING       @s (default: the session keyring), @u, @p, @us, a serial,\n"
	"                       or a keyring's description (\"keyd:RING\", \".nvme\")\n"
	"  --description TEXT   the key's description (default \"keyd:key:NAME\")\n";

static const struct {
	const char *name;
	keyd_serial_t id;
} special_rings[] = {
	{ "@p", KEYD_KEYRING_PROCESS },
	{ "@s", KEYD_KEYRING_SESSION }, { "@u", KEYD_KEYRING_USER },
	{ "@us", KEYD_KEYRING_USER_SESSION },
};

/* The destination keyring as keyctl(1) names them. Logs; returns an exit code. */
static int ring_resolve(const char *spec, keyd_serial_t *ret)
{
	struct keyd_keyring_info info;
	uint32_t v;
	int r;

	for (size_t i = 0; i < ELEMENTSOF(special_rings); i++)
		if (streq(spec, special_rings[i].name)) {
			r = keyd_keyring_resolve(special_rings[i].id, true, ret);
			if (r < 0) {
				log_error_errno(r, "--keyring %s: %m", spec);
				return CTL_EXIT_FAILED;
			}
			return CTL_EXIT_OK;
		}
	if (keyd_parse_u32(spec, 10, &v) >= 0 && v > 0 && v <= INT32_MAX) {
		r = keyd_keyring_describe((keyd_serial_t)v, &info);
		if (r < 0 || !streq(info.type, "keyring")) {
			log_error("--keyring %s: %s", spec,
				  r < 0 ? strerror(-r) : "not a keyring");
			return CTL_EXIT_FAILED;
		}
		*ret = (keyd_serial_t)v;
		return CTL_EXIT_OK;
	}
	r = keyd_keyring_find_by_name(spec, ret);
	if (r < 0) {
		log_error("--keyring '%s': no such keyring visible to this process (%s); give "
			  "@s, @u, a serial, or the description of a keyring you can see",
			  spec, strerror(-r));
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

int ctl_key_to_kernel(struct ctl_ctx *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "keyring", required_argument, NULL, 'k' },
		{ "description", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *ring_spec = "@s", *description = NULL, *name;
	_cleanup_free_ uint8_t *der = NULL;
	char reason[512] = "", desc[KEYD_KEYRING_DESC_MAX + 1];
	struct keyd_tss2key k;
	struct keyd_pubkey pk;
	keyd_serial_t ring, key;
	size_t der_len = 0;
	keyd_store *s;
	int opt, r;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (opt) {
		case 'k':
			ring_spec = optarg;
			break;
		case 'd':
			description = optarg;
			break;
		case 'h':
			fputs(to_kernel_usage, stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_usage_error(to_kernel_usage, "key to-kernel: bad option");
		}
	}
	if (argc - optind != 1)
		return ctl_usage_error(to_kernel_usage, "key to-kernel takes one NAME");
	name = argv[optind];
	if (!keyd_name_is_valid(name))
		return ctl_check_name(to_kernel_usage, "key", name);
	if (description) {
		if (!*description || strlen(description) > KEYD_KEYRING_DESC_MAX)
			return ctl_usage_error(to_kernel_usage, "--description: 1 to %d bytes",
					       KEYD_KEYRING_DESC_MAX);
		snprintf(desc, sizeof(desc), "%s", description);
	} else {
		snprintf(desc, sizeof(desc), "keyd:key:%s", name);
	}

	r = ctl_store(c, false, &s);
	if (r != CTL_EXIT_OK)
		return r;
	r = keyd_key_entry_load(s, name, &k, &pk, reason, sizeof(reason));
	if (r == -ENOENT) {
		log_error("no key '%s' in the store '%s'; see keyd-ctl key list", name,
			  keyd_store_root(s));
		return CTL_EXIT_FAILED;
	}
	if (r < 0) {
		log_error("cannot read the key '%s' in '%s': %s", name, keyd_store_root(s), reason);
		return CTL_EXIT_FAILED;
	}
	r = keyd_tss2key_to_der(&k, &der, &der_len);
	explicit_bzero(&k, sizeof(k));
	if (r < 0) {
		log_error_errno(r, "cannot encode the key '%s': %m", name);
		return CTL_EXIT_FAILED;
	}
	r = ring_resolve(ring_spec, &ring);
	if (r != CTL_EXIT_OK)
		return r;

	r = keyd_keyring_add("asymmetric", desc, der, der_len, ring, &key);
	if (r < 0) {
		log_error("key '%s': cannot add it to keyring %s as a kernel TPM2 key: %s (%s)",
			  name, ring_spec, keyd_kernel_key_add_error_reason(r), strerror(-r));
		return CTL_EXIT_FAILED;
	}
	/* The policy's default for keys keyd adds: the owner's other processes (a
	 * handshake agent running as root) may find and sign with it, nothing more. */
	r = keyd_keyring_setperm(key, KEYD_POLICY_DEFAULT_ITEM_PERM);
	if (r < 0) {
		log_error_errno(r, "key '%s': added as %d, but its permissions cannot be set "
				"(%m); it was unlinked", name, key);
		(void)keyd_keyring_unlink(key, ring);
		return CTL_EXIT_FAILED;
	}

	if (c->json) {
		struct keyd_json j;

		keyd_json_init(&j, stdout);
		keyd_json_begin_object(&j);
		keyd_json_kv_string(&j, "key", name);
		keyd_json_kv_string(&j, "alg", keyd_key_alg_to_string(pk.alg));
		keyd_json_kv_int(&j, "serial", key);
		keyd_json_kv_string(&j, "type", "asymmetric");
		keyd_json_kv_string(&j, "description", desc);
		keyd_json_kv_int(&j, "keyring", ring);
		keyd_json_end_object(&j);
		return keyd_json_finish(&j) < 0 ? CTL_EXIT_FAILED : CTL_EXIT_OK;
	}
	printf("%d\n", key);
	return CTL_EXIT_OK;
}
