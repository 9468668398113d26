/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE /* struct ucred */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "macro.h"
#include "parse.h"
#include "peer.h"

int keyd_peer_from_fd(int fd, struct keyd_peer *ret)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	_cleanup_free_ gid_t *groups = NULL;
	size_t n = 16;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (len != sizeof(cred))
		return -EIO;

	for (;;) {
		socklen_t glen = (socklen_t)(n * sizeof(gid_t));
		gid_t *g = realloc(groups, n * sizeof(gid_t));

		if (!g)
			return -ENOMEM;
		groups = g;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) >= 0) {
			n = glen / sizeof(gid_t);
			break;
		}
		if (errno == ENOPROTOOPT) {
			n = 0;
			break;
		}
		/* ERANGE tells the size needed in glen. */
		if (errno != ERANGE || glen / sizeof(gid_t) <= n ||
		    glen / sizeof(gid_t) > KEYD_PEER_GROUPS_MAX)
			return errno == ERANGE ? -E2BIG : -errno;
		n = glen / sizeof(gid_t);
	}

	*ret = (struct keyd_peer){
		.pid = cred.pid,
		.uid = cred.uid,
		.gid = cred.gid,
		.groups = TAKE_PTR(groups),
		.n_groups = n,
	};
	return 0;
}

void keyd_peer_done(struct keyd_peer *p)
{
	free(p->groups);
	p->groups = NULL;
	p->n_groups = 0;
}

int keyd_peer_resolve_group(const char *name, gid_t *ret_gid)
{
	struct group gr, *res = NULL;
	char buf[16384];
	uint32_t v;
	int r;

	if (streq(name, "root"))
		return 1;
	if (keyd_parse_u32(name, 10, &v) >= 0) {
		if (v == 0)
			return 1;
		*ret_gid = (gid_t)v;
		return 0;
	}
	r = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
	if (r != 0)
		return -r;
	if (!res)
		return -ENOENT;
	if (res->gr_gid == 0)
		return 1;
	*ret_gid = res->gr_gid;
	return 0;
}

bool keyd_peer_is_privileged(const struct keyd_peer *p, bool has_group, gid_t gid)
{
	if (p->uid == 0)
		return true;
	if (!has_group)
		return false;
	if (p->gid == gid)
		return true;
	for (size_t i = 0; i < p->n_groups; i++)
		if (p->groups[i] == gid)
			return true;
	return false;
}
