/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "fileio.h"
#include "json.h"
#include "macro.h"
#include "report.h"

static void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

int keyd_report_write(const char *socket_path, const struct keyd_report_info *info,
		      const keyd_provision_state *state, gid_t gid)
{
	_cleanup_(fclosep) FILE *f = NULL;
	_cleanup_free_ char *text = NULL;
	char path[KEYD_CLIENT_PATH_MAX];
	struct keyd_json j;
	size_t len = 0;
	int r;

	r = keyd_sibling_path(socket_path, KEYD_CLIENT_REPORT_NAME, path, sizeof(path));
	if (r < 0)
		return r;
	f = open_memstream(&text, &len);
	if (!f)
		return -errno;
	keyd_json_init(&j, f);
	keyd_json_begin_object(&j);
	keyd_json_kv_string(&j, "daemon_version", KEYD_VERSION);
	keyd_json_kv_string(&j, "state", info->state);
	keyd_json_kv_uint(&j, "generation", info->generation);
	keyd_json_kv_int(&j, "last_errno", info->last_errno);
	keyd_json_kv_int(&j, "last_time", (int64_t)info->last_time);
	keyd_json_kv_int(&j, "started", (int64_t)info->started);
	keyd_json_kv_string(&j, "policy_dir", info->policy_dir);
	keyd_json_kv_string(&j, "store", info->store);
	keyd_json_key(&j, "provision");
	if (state)
		keyd_provision_state_to_json(state, &j);
	else
		keyd_json_null(&j);
	keyd_json_end_object(&j);
	r = keyd_json_finish(&j);
	if (r < 0)
		return r;
	if (fclose(TAKE_PTR(f)) != 0)
		return -errno;

	r = keyd_write_file_atomic(path, text, len, 0640);
	if (r < 0)
		return r;
	/* After the rename: until then the file is root:root 0640, never wider. */
	if (chown(path, 0, gid) < 0 && geteuid() == 0)
		return -errno;
	return 0;
}

void keyd_report_remove(const char *socket_path)
{
	char path[KEYD_CLIENT_PATH_MAX];

	if (keyd_sibling_path(socket_path, KEYD_CLIENT_REPORT_NAME, path, sizeof(path)) >= 0)
		(void)unlink(path);
}
