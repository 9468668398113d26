// SPDX-License-Identifier: GPL-2.0-only
/*
 * TEST-ONLY module for tests/vm/kernel-tls13-psk.sh: loading it connects a
 * kernel TCP socket to 127.0.0.1:port, runs tls13_psk_client_hello() with
 * the psk key 'key' exactly as nvme-tcp would call tls_client_hello_psk(),
 * and on success sends 'send' through kTLS and reads the answer through kTLS
 * (skipping post-handshake records such as NewSessionTicket). It prints one
 * line: "tls13-vmtest: status=<errno> reply=<text>" and always loads, so the
 * guest script judges the line. Never installed, never part of the patch.
 */
#include <linux/completion.h>
#include <linux/in.h>
#include <linux/inet.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tls.h>
#include <net/tls_prot.h>

#include "tls13_handshake.h"

static int port = 4433;
module_param(port, int, 0444);
static int key;
module_param(key, int, 0444);
static char *send = "hello";
module_param(send, charp, 0444);
static int timeout_ms = 20000;
module_param(timeout_ms, int, 0444);

struct vmtest {
	struct completion done;
	int status;
	key_serial_t peerid;
};

static void vmtest_done(void *data, int status, key_serial_t peerid)
{
	struct vmtest *t = data;

	t->status = status;
	t->peerid = peerid;
	complete(&t->done);
}

/* One application record through kTLS; handshake records are skipped. */
static int vmtest_read(struct socket *sock, char *buf, size_t cap)
{
	int tries;

	for (tries = 0; tries < 8; tries++) {
		char cbuf[CMSG_SPACE(sizeof(u8))];
		struct msghdr msg = { .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct kvec iov = { .iov_base = buf, .iov_len = cap - 1 };
		struct cmsghdr *cmsg;
		u8 type = TLS_RECORD_TYPE_DATA;
		int r;

		msg.msg_control_is_user = false;
		r = kernel_recvmsg(sock, &msg, &iov, 1, cap - 1, 0);
		if (r < 0)
			return r;
		cmsg = (struct cmsghdr *)cbuf;
		if (msg.msg_controllen < sizeof(cbuf) && cmsg->cmsg_level == SOL_TLS &&
		    cmsg->cmsg_type == TLS_GET_RECORD_TYPE)
			type = *(u8 *)CMSG_DATA(cmsg);
		if (type != TLS_RECORD_TYPE_DATA) {
			pr_info("tls13-vmtest: skipped record type %u (%d bytes)\n", type, r);
			continue;
		}
		buf[r] = 0;
		return r;
	}
	return -EPROTO;
}

static int __init vmtest_init(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct tls_handshake_args args = { };
	struct vmtest t = { .status = -EINPROGRESS };
	struct socket *sock;
	char reply[256] = "";
	int r;

	init_completion(&t.done);
	r = sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP, &sock);
	if (r) {
		pr_info("tls13-vmtest: status=%d reply= (socket)\n", r);
		return 0;
	}
	r = kernel_connect(sock, (struct sockaddr *)&sa, sizeof(sa), 0);
	if (r)
		goto report;
	args.ta_sock = sock;
	args.ta_done = vmtest_done;
	args.ta_data = &t;
	args.ta_timeout_ms = timeout_ms;
	args.ta_num_peerids = 1;
	args.ta_my_peerids[0] = key;
	r = tls13_psk_client_hello(&args, GFP_KERNEL);
	if (r)
		goto report;
	if (!wait_for_completion_timeout(&t.done, msecs_to_jiffies(timeout_ms + 5000))) {
		/* Must not return while the work item may still call vmtest_done. */
		if (!tls13_psk_handshake_cancel(sock->sk))
			wait_for_completion(&t.done);
		r = -ETIMEDOUT;
		goto report;
	}
	r = t.status;
	if (r)
		goto report;
	if (t.peerid != key) {
		r = -EBADE;
		goto report;
	}
	{
		struct msghdr msg = { };
		struct kvec iov = { .iov_base = send, .iov_len = strlen(send) };
		char line[128];

		snprintf(line, sizeof(line), "%s\n", send);
		iov.iov_base = line;
		iov.iov_len = strlen(line);
		r = kernel_sendmsg(sock, &msg, &iov, 1, iov.iov_len);
		if (r >= 0)
			r = vmtest_read(sock, reply, sizeof(reply));
		if (r > 0)
			r = 0;
	}
report:
	strim(reply);
	pr_info("tls13-vmtest: status=%d reply=%s\n", r, reply);
	sock_release(sock);
	return 0;
}

static void __exit vmtest_exit(void)
{
}

module_init(vmtest_init);
module_exit(vmtest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("TEST-ONLY: in-kernel TLS 1.3 PSK handshake against a local server");
