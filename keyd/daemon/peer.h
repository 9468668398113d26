/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who is on the other end of a socket connection, as the kernel says
 * (SO_PEERCRED, SO_PEERGROUPS; both taken at connect() time), and what such a
 * peer may ask. Nothing in a message claims an identity (docs/protocol.md).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define KEYD_PEER_GROUPS_MAX 65536 /* NGROUPS_MAX of Linux */

struct keyd_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t *groups; /* supplementary groups, owned */
	size_t n_groups;
};

/* Read the credentials of the peer of a connected unix socket. A kernel without
 * SO_PEERGROUPS (before 4.13) leaves the groups empty: then only the primary gid
 * counts. Free with keyd_peer_done(). */
int keyd_peer_from_fd(int fd, struct keyd_peer *ret);
void keyd_peer_done(struct keyd_peer *p);

/* The group allowed to enroll, provision and reload, from keyd.conf's
 * enroll-group: "root" (only uid 0), a decimal gid, or a group name. 0 and *ret_gid,
 * 1 when only root is meant, -ENOENT for an unknown group name. */
int keyd_peer_resolve_group(const char *name, gid_t *ret_gid);

/* root always; otherwise a peer whose primary or a supplementary group is gid
 * (when has_group). */
bool keyd_peer_is_privileged(const struct keyd_peer *p, bool has_group, gid_t gid);
