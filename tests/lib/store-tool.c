/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store-tool: drives keyd/core/store.c directly, for tests/integration/store-crash.sh
 * (it is killed at every syscall of a transaction) and by hand.
 *
 *   store-tool txn ROOT OP...   one transaction; OP is "put SECTION FILE TEXT" or
 *                               "rm SECTION FILE" (TEXT "-" reads stdin)
 *   store-tool dump ROOT        the committed state, read-only: every file of every
 *                               section with a known extension, and its content
 *   store-tool names ROOT       the same, names only (for contents that differ run to run)
 *   store-tool open ROOT        open writable (rolls a pending transaction forward)
 *
 * Exit: 0 ok, 1 failed (the store's reason on stderr), 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "store.h"

static const char *const sections[] = { "tpm", "keys", "psk", "ca" };
static const char *const exts[] = { "meta", "sealed", "tss2", "crt", "chain", "pem", "txt" };

static int usage(void)
{
	fprintf(stderr, "usage: store-tool txn ROOT {put SECTION FILE TEXT | rm SECTION FILE}...\n"
			"       store-tool dump|names ROOT\n"
			"       store-tool open ROOT\n");
	return 2;
}

static int fail(const char *what, int r, const char *reason)
{
	fprintf(stderr, "store-tool: %s: %s (%s)\n", what, reason && *reason ? reason : "-",
		strerror(-r));
	return 1;
}

static int do_txn(keyd_store *s, int argc, char **argv)
{
	keyd_store_txn *t = NULL;
	int r;

	r = keyd_store_txn_begin(s, &t);
	if (r < 0)
		return fail("begin", r, keyd_store_last_error(s));
	for (int i = 0; i < argc;) {
		if (streq(argv[i], "put") && i + 3 < argc) {
			_cleanup_free_ char *stdin_text = NULL;
			const char *text = argv[i + 3];
			size_t len = strlen(text);

			if (streq(text, "-")) {
				r = keyd_read_fd(0, KEYD_STORE_FILE_MAX, &stdin_text, &len);
				if (r < 0) {
					keyd_store_txn_abort(t);
					return fail("stdin", r, NULL);
				}
				text = stdin_text;
			}
			r = keyd_store_txn_put(t, argv[i + 1], argv[i + 2], text, len);
			i += 4;
		} else if (streq(argv[i], "rm") && i + 2 < argc) {
			r = keyd_store_txn_remove(t, argv[i + 1], argv[i + 2]);
			i += 3;
		} else {
			keyd_store_txn_abort(t);
			return usage();
		}
		if (r < 0) {
			keyd_store_txn_abort(t);
			return fail("stage", r, keyd_store_last_error(s));
		}
	}
	r = keyd_store_txn_commit(t);
	if (r < 0)
		return fail("commit", r, keyd_store_last_error(s));
	return 0;
}

static int do_dump(keyd_store *s, bool content)
{
	size_t skipped_total = 0;

	for (size_t i = 0; i < ELEMENTSOF(sections); i++)
		for (size_t e = 0; e < ELEMENTSOF(exts); e++) {
			_cleanup_strv_free_ char **names = NULL;
			size_t skipped = 0;
			int r;

			r = keyd_store_list(s, sections[i], exts[e], &names, &skipped);
			if (r < 0)
				return fail("list", r, keyd_store_last_error(s));
			if (e == 0)
				skipped_total += skipped;
			for (char **n = names; *n; n++) {
				_cleanup_free_ char *data = NULL;
				char file[256];
				size_t len;

				snprintf(file, sizeof(file), "%s.%s", *n, exts[e]);
				r = keyd_store_read(s, sections[i], file, &data, &len);
				if (r < 0)
					return fail("read", r, keyd_store_last_error(s));
				if (content)
					printf("%s/%s = %s\n", sections[i], file, data);
				else
					printf("%s/%s\n", sections[i], file);
			}
		}
	fprintf(stderr, "store-tool: %zu foreign entries skipped\n", skipped_total);
	return 0;
}

int main(int argc, char **argv)
{
	keyd_store *s = NULL;
	char reason[512];
	unsigned flags;
	int r;

	if (argc < 3)
		return usage();
	if (streq(argv[1], "txn"))
		flags = KEYD_STORE_CREATE;
	else if (streq(argv[1], "dump") || streq(argv[1], "names"))
		flags = KEYD_STORE_READONLY;
	else if (streq(argv[1], "open"))
		flags = KEYD_STORE_CREATE;
	else
		return usage();

	r = keyd_store_open(argv[2], flags, &s, reason, sizeof(reason));
	if (r < 0)
		return fail("open", r, reason);
	if (streq(argv[1], "txn"))
		r = do_txn(s, argc - 3, argv + 3);
	else if (streq(argv[1], "dump") || streq(argv[1], "names"))
		r = do_dump(s, streq(argv[1], "dump"));
	else
		r = 0;
	keyd_store_close(s);
	return r;
}
