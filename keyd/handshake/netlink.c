/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libnl-genl-3 for the handshake family (see netlink.h). Numbers are from
 * core/handshake-protocol.h. The accept reply is validated by core/hsmsg.c's
 * declarative rule table, not by a libnl nla_policy: keeping the table in a
 * libnl-free parser lets the unit test and the fuzz target run the very code the
 * agent runs on kernel input.
 */
#include <errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <stdlib.h>

#include "macro.h"
#include "netlink.h"

struct keyd_hs_listener {
	struct nl_sock *sk;
	unsigned ready;
};

static int errno_from_nl(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case 0:
		return 0;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_PERM:
		return -EPERM;
	case NLE_AGAIN:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

static void nl_sock_freep(struct nl_sock **sk)
{
	if (*sk)
		nl_socket_free(*sk);
}

static void nl_msg_freep(struct nl_msg **m)
{
	if (*m)
		nlmsg_free(*m);
}

/* A connected generic-netlink socket and the family id. */
static int genl_open(struct nl_sock **ret, int *ret_family)
{
	_cleanup_(nl_sock_freep) struct nl_sock *sk = NULL;
	int r, family;

	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	r = genl_connect(sk);
	if (r < 0)
		return errno_from_nl(r);
	family = genl_ctrl_resolve(sk, KEYD_HS_FAMILY_NAME);
	if (family < 0)
		return errno_from_nl(family);
	*ret_family = family;
	*ret = TAKE_PTR(sk);
	return 0;
}

static int on_notification(struct nl_msg *msg, void *arg)
{
	struct keyd_hs_listener *l = arg;
	struct genlmsghdr *g = genlmsg_hdr(nlmsg_hdr(msg));

	if (g->cmd == KEYD_HS_CMD_READY)
		l->ready++;
	return NL_OK;
}

int keyd_hs_netlink_listen(struct keyd_hs_listener **ret)
{
	_cleanup_(nl_sock_freep) struct nl_sock *sk = NULL;
	struct keyd_hs_listener *l;
	int r, family, grp;

	r = genl_open(&sk, &family);
	if (r < 0)
		return r;
	grp = genl_ctrl_resolve_grp(sk, KEYD_HS_FAMILY_NAME, KEYD_HS_MCGRP_TLSHD);
	if (grp < 0)
		return errno_from_nl(grp);
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	/* Notifications carry no sequence number of ours. */
	nl_socket_disable_seq_check(sk);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_notification, l);
	r = nl_socket_add_membership(sk, grp);
	if (r >= 0)
		r = nl_socket_set_nonblocking(sk);
	if (r < 0) {
		free(l);
		return errno_from_nl(r);
	}
	l->sk = TAKE_PTR(sk);
	*ret = l;
	return 0;
}

struct keyd_hs_listener *keyd_hs_netlink_free(struct keyd_hs_listener *l)
{
	if (l) {
		nl_socket_free(l->sk);
		free(l);
	}
	return NULL;
}

int keyd_hs_netlink_fd(const struct keyd_hs_listener *l)
{
	return nl_socket_get_fd(l->sk);
}

int keyd_hs_netlink_dispatch(struct keyd_hs_listener *l, unsigned *ret_ready)
{
	int r;

	l->ready = 0;
	r = nl_recvmsgs_default(l->sk);
	*ret_ready = l->ready;
	if (r < 0 && r != -NLE_AGAIN)
		return errno_from_nl(r);
	return 0;
}

/* Request state for the unicast exchanges. */
struct exchange {
	int error;   /* the kernel's errno from an NLMSG_ERROR, negative */
	bool got_reply;
	int parse_error;
	const char *reason;
	struct keyd_hs_request *req;
};

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct exchange *x = arg;

	(void)nla;
	x->error = e->error < 0 ? e->error : -e->error;
	return NL_STOP;
}

static int on_accept_reply(struct nl_msg *msg, void *arg)
{
	struct exchange *x = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *g;

	if (!genlmsg_valid_hdr(nlh, 0)) {
		x->parse_error = -EBADMSG;
		x->reason = "short generic-netlink header";
		return NL_STOP;
	}
	g = genlmsg_hdr(nlh);
	if (g->cmd != KEYD_HS_CMD_ACCEPT || x->got_reply)
		return NL_OK;
	x->got_reply = true;
	x->parse_error = keyd_hsmsg_accept_parse(genlmsg_attrdata(g, 0),
						 (size_t)genlmsg_attrlen(g, 0), x->req, &x->reason);
	return NL_OK;
}

int keyd_hs_netlink_accept(struct keyd_hs_request *ret, const char **ret_reason)
{
	_cleanup_(nl_sock_freep) struct nl_sock *sk = NULL;
	_cleanup_(nl_msg_freep) struct nl_msg *msg = NULL;
	struct exchange x = { .req = ret };
	int r, family;

	*ret_reason = NULL;
	r = genl_open(&sk, &family);
	if (r < 0)
		return r;
	msg = nlmsg_alloc();
	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, KEYD_HS_CMD_ACCEPT,
			 KEYD_HS_FAMILY_VERSION) ||
	    nla_put_u32(msg, KEYD_HS_A_ACCEPT_HANDLER_CLASS, KEYD_HS_HANDLER_CLASS_TLSHD) < 0)
		return -ENOMEM;
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_accept_reply, &x);
	nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, on_error, &x);
	r = nl_send_auto(sk, msg);
	if (r < 0)
		return errno_from_nl(r);
	/* The reply, then the ACK (libnl asks for one), or an error. */
	r = nl_recvmsgs_default(sk);
	if (x.error < 0)
		return x.error;
	if (r < 0)
		return errno_from_nl(r);
	if (!x.got_reply) {
		*ret_reason = "no accept reply";
		return -EPROTO;
	}
	if (x.parse_error < 0) {
		/* The kernel installed the socket in our fd table: do not leak it. */
		*ret_reason = x.reason;
		return x.parse_error;
	}
	return 0;
}

int keyd_hs_netlink_done(int sockfd, unsigned status, const keyd_serial_t *remote_auth,
			 size_t n_remote_auth)
{
	_cleanup_(nl_sock_freep) struct nl_sock *sk = NULL;
	struct nl_msg *msg;
	struct exchange x = { 0 };
	int r, family;

	r = genl_open(&sk, &family);
	if (r < 0)
		return r;
	msg = nlmsg_alloc();
	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, KEYD_HS_CMD_DONE,
			 KEYD_HS_FAMILY_VERSION) ||
	    nla_put_u32(msg, KEYD_HS_A_DONE_STATUS, status) < 0 ||
	    nla_put_u32(msg, KEYD_HS_A_DONE_SOCKFD, (uint32_t)sockfd) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_remote_auth && i < KEYD_HS_PEERIDS_MAX; i++)
		if (nla_put_u32(msg, KEYD_HS_A_DONE_REMOTE_AUTH, (uint32_t)remote_auth[i]) < 0) {
			nlmsg_free(msg);
			return -ENOMEM;
		}
	nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, on_error, &x);
	r = nl_send_sync(sk, msg); /* sends, frees msg, waits for the ACK */
	if (x.error < 0)
		return x.error;
	return errno_from_nl(r);
}
