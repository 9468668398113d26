/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's "handshake" generic-netlink family: join the tlshd group, accept
 * a request, report done. netlink.c is the only file that uses libnl; nothing
 * here exposes a libnl type. Attribute parsing is core/hsmsg.c's.
 */
#pragma once

#include <stddef.h>

#include "hsmsg.h"
#include "keyring.h"

struct keyd_hs_listener;

/* Open a socket joined to the handshake family's tlshd multicast group.
 * -ENOENT when the kernel has no "handshake" family (no CONFIG_NET_HANDSHAKE),
 * -EPERM without the rights to join. */
int keyd_hs_netlink_listen(struct keyd_hs_listener **ret);
struct keyd_hs_listener *keyd_hs_netlink_free(struct keyd_hs_listener *l);
int keyd_hs_netlink_fd(const struct keyd_hs_listener *l);
/* Read what is waiting on the listener (non-blocking); *ret_ready counts the
 * "ready" notifications seen. */
int keyd_hs_netlink_dispatch(struct keyd_hs_listener *l, unsigned *ret_ready);

/* Accept the next queued request on a private socket (the kernel installs the
 * handshake socket in the CALLING process, so call it in the process that does
 * the handshake). -EAGAIN when nothing is queued (another agent took it),
 * -EBADMSG/-EPROTO with *ret_reason for a reply the parser refuses. */
int keyd_hs_netlink_accept(struct keyd_hs_request *ret, const char **ret_reason);

/* Report the outcome: status 0 or a positive errno; remote_auth: the serials of
 * verified peer keys (at most KEYD_HS_PEERIDS_MAX are sent). */
int keyd_hs_netlink_done(int sockfd, unsigned status, const keyd_serial_t *remote_auth,
			 size_t n_remote_auth);
