/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-ctl list: everything in the store, from the metadata files alone. It never
 * talks to the TPM and never unseals, so it works on any copy of a store (an
 * initramfs image, a backup) and shows nothing secret. A damaged or foreign file
 * is reported on stderr by name and skipped; the rest is listed and the exit
 * status stays 0, so the command also works on a store a crash interrupted.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "key-info.h"
#include "macro.h"
#include "meta.h"

static const char list_usage[] = "Usage: keyd-ctl list [--json]\n";

static void meta_freep(keyd_meta **m)
{
	keyd_meta_free(*m);
}

/* Read and parse <section>/<name>.meta. Reports a problem and returns < 0. */
static int meta_load(keyd_store *s, const char *section, const char *name, keyd_meta **ret)
{
	_cleanup_free_ char *text = NULL;
	char file[80], reason[160] = "";
	size_t len;
	int r;

	snprintf(file, sizeof(file), "%s.meta", name);
	r = keyd_store_read(s, section, file, &text, &len);
	if (r < 0) {
		log_warning("%s/%s: %s; skipped", section, file, keyd_store_last_error(s));
		return r;
	}
	r = keyd_meta_parse(text, len, ret, reason, sizeof(reason));
	if (r < 0)
		log_warning("%s/%s: %s; skipped", section, file, reason[0] ? reason : strerror(-r));
	return r;
}

/* Names with a .meta file in section; -ENOENT (nothing there yet) gives an empty list. */
static int section_names(keyd_store *s, const char *section, char ***ret)
{
	size_t skipped = 0;
	int r;

	*ret = NULL;
	r = keyd_store_list(s, section, "meta", ret, &skipped);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		log_warning("cannot list '%s/%s': %s; skipped", keyd_store_root(s), section,
			    keyd_store_last_error(s));
		return 0;
	}
	if (skipped > 0)
		log_warning("%s/%s: %zu file(s) that are not keyd's were skipped",
			    keyd_store_root(s), section, skipped);
	return 0;
}

/* Metadata values are printable text (meta.h); still, keep them to one column. */
static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void list_psks(keyd_store *s, struct keyd_json *j)
{
	static const char *const fields[] = { "identity", "hostnqn", "subnqn" };
	_cleanup_strv_free_ char **names = NULL;

	(void)section_names(s, "psk", &names);
	if (j) {
		keyd_json_key(j, "psks");
		keyd_json_begin_array(j);
	} else {
		printf("\nPSKs:\n%-24s %s\n", "ID", "IDENTITY / HOST NQN / SUBSYSTEM NQN");
	}
	for (char **n = names; n && *n; n++) {
		_cleanup_(meta_freep) keyd_meta *m = NULL;

		if (meta_load(s, "psk", *n, &m) < 0)
			continue;
		if (j) {
			keyd_json_begin_object(j);
			keyd_json_kv_string(j, "id", *n);
			for (size_t i = 0; i < ELEMENTSOF(fields); i++)
				keyd_json_kv_string(j, fields[i], keyd_meta_get(m, fields[i]));
			keyd_json_end_object(j);
		} else {
			printf("%-24s %s\n", *n, or_dash(keyd_meta_get(m, "identity")));
			if (keyd_meta_get(m, "hostnqn") || keyd_meta_get(m, "subnqn"))
				printf("%-24s %s -> %s\n", "", or_dash(keyd_meta_get(m, "hostnqn")),
				       or_dash(keyd_meta_get(m, "subnqn")));
		}
	}
	if (j)
		keyd_json_end_array(j);
}

static void list_ca_sets(keyd_store *s, struct keyd_json *j)
{
	_cleanup_strv_free_ char **names = NULL;

	(void)section_names(s, "ca", &names);
	if (j) {
		keyd_json_key(j, "ca_sets");
		keyd_json_begin_array(j);
	} else {
		printf("\nCA sets:\n%-24s %s\n", "NAME", "CERTIFICATES");
	}
	for (char **n = names; n && *n; n++) {
		_cleanup_(meta_freep) keyd_meta *m = NULL;
		uint64_t count = 0;
		int r;

		if (meta_load(s, "ca", *n, &m) < 0)
			continue;
		r = keyd_meta_get_u64(m, "count", &count);
		if (r < 0 && r != -ENOENT) {
			log_warning("ca/%s.meta: 'count' is not a number; skipped", *n);
			continue;
		}
		if (j) {
			keyd_json_begin_object(j);
			keyd_json_kv_string(j, "name", *n);
			if (r >= 0)
				keyd_json_kv_uint(j, "count", count);
			else {
				keyd_json_key(j, "count");
				keyd_json_null(j);
			}
			keyd_json_end_object(j);
		} else if (r >= 0) {
			printf("%-24s %llu\n", *n, (unsigned long long)count);
		} else {
			printf("%-24s -\n", *n);
		}
	}
	if (j)
		keyd_json_end_array(j);
}

/* The SRK the store's objects were made under (tpm/srk.meta), if any. */
static void list_srk(keyd_store *s, struct keyd_json *j)
{
	_cleanup_(meta_freep) keyd_meta *m = NULL;
	int r;

	r = keyd_store_exists(s, "tpm", "srk.meta");
	if (r < 0)
		log_warning("tpm/srk.meta: %s; skipped", keyd_store_last_error(s));
	if (r > 0 && meta_load(s, "tpm", "srk", &m) < 0)
		m = keyd_meta_free(m);
	if (j) {
		keyd_json_key(j, "srk");
		if (m) {
			keyd_json_begin_object(j);
			keyd_json_kv_string(j, "handle", keyd_meta_get(m, "handle"));
			keyd_json_kv_string(j, "name", keyd_meta_get(m, "name"));
			keyd_json_end_object(j);
		} else {
			keyd_json_null(j);
		}
	} else if (m) {
		printf("SRK: %s, name %s\n", or_dash(keyd_meta_get(m, "handle")),
		       or_dash(keyd_meta_get(m, "name")));
	} else {
		printf("SRK: none enrolled yet\n");
	}
}

int ctl_verb_list(struct ctl_ctx *c, int argc, char **argv)
{
	struct keyd_json j;
	keyd_store *s;
	int r;

	if (argc > 1 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
		fputs(list_usage, stdout);
		return CTL_EXIT_OK;
	}
	if (argc > 1)
		return ctl_usage_error(list_usage, "list takes no arguments");
	r = ctl_store(c, false, &s);
	if (r != CTL_EXIT_OK)
		return r;

	if (c->json) {
		keyd_json_init(&j, stdout);
		keyd_json_begin_object(&j);
		keyd_json_kv_string(&j, "root", keyd_store_root(s));
	} else {
		printf("Store: %s\n", keyd_store_root(s));
	}
	list_srk(s, c->json ? &j : NULL);
	if (c->json) {
		keyd_json_key(&j, "keys");
		keyd_json_begin_array(&j);
	} else {
		printf("\nKeys:\n");
	}
	/* A key section that cannot be read at all is reported; the rest still lists. */
	(void)ctl_key_list_all(s, c->json ? &j : NULL);
	if (c->json)
		keyd_json_end_array(&j);
	list_psks(s, c->json ? &j : NULL);
	list_ca_sets(s, c->json ? &j : NULL);

	if (c->json) {
		keyd_json_end_object(&j);
		r = keyd_json_finish(&j);
	} else {
		r = fflush(stdout) == 0 ? 0 : -EIO;
	}
	if (r < 0) {
		log_error("cannot write to standard output");
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}
