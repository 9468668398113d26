/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The detailed status report: what keyd-ctl status shows beyond the STATUS
 * reply (keyrings, serials, generations, seal state, links, keys, their source
 * entries, problems). Protocol version 1 has no message that carries it, so the
 * daemon publishes it after every provisioning pass as a JSON file next to the
 * socket (KEYD_CLIENT_REPORT_NAME), replaced atomically, root-owned, mode 0640
 * with the enrollment group: root and that group read the details, others get
 * the STATUS summary only. It holds descriptions and serials, never key material.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "provision.h"

struct keyd_report_info {
	const char *state;  /* "starting", "ready", "degraded" */
	uint64_t generation;
	int last_errno;     /* positive, 0 = success */
	time_t last_time;
	time_t started;
	const char *policy_dir;
	const char *store;
};

/* Write the report for the socket at socket_path. gid: the group that may read it
 * (0 when only root). -errno on failure (the caller logs it). */
int keyd_report_write(const char *socket_path, const struct keyd_report_info *info,
		      const keyd_provision_state *state, gid_t gid);
/* Remove it (at exit, so a stale report is not mistaken for a live one). */
void keyd_report_remove(const char *socket_path);
