// SPDX-License-Identifier: GPL-2.0-only
/*
 * TEST-ONLY module for tests/vm/kernel-tls13-psk.sh: loading it connects a
 * kernel TCP socket to 127.0.0.1:port, runs tls13_psk_client_hello() with
 * the psk key 'key' exactly as nvme-tcp would call tls_client_hello_psk(),
 * and on success sends 'send' through kTLS and reads the answer through kTLS
 * (skipping post-handshake records such as NewSessionTicket); a reply that is
 * not 'send' reversed (openssl s_server -rev) is status -EBADMSG. It prints
 * one line: "tls13-vmtest: status=<errno> reply=<text>" and always loads, so
 * the guest script judges the line. With count=N > 1 it runs N handshakes,
 * each on a new socket, and prints instead one line
 * "tls13-vmtest: tries=N statuses=<errno>:<n>,... max_ms=M total_ms=T"
 * (tests/vm/kernel-tls13-hostile.sh). Never installed, never part of the patch.
 */
#include <linux/completion.h>
#include <linux/in.h>
#include <linux/inet.h>
#include <linux/ktime.h>
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
static int count = 1;
module_param(count, int, 0444);

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

/* A reply must be 'send' reversed, as openssl s_server -rev answers a line. */
static bool vmtest_reply_ok(const char *reply)
{
	size_t n = strlen(send), i;

	if (strlen(reply) != n)
		return false;
	for (i = 0; i < n; i++)
		if (reply[i] != send[n - 1 - i])
			return false;
	return true;
}

/* One connect + handshake (+ one line through kTLS); the status, reply in reply. */
static int vmtest_try(char *reply, size_t cap)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct tls_handshake_args args = { };
	struct vmtest t = { .status = -EINPROGRESS };
	struct socket *sock;
	int r;

	reply[0] = 0;
	init_completion(&t.done);
	r = sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP, &sock);
	if (r)
		return r;
	r = kernel_connect(sock, (struct sockaddr *)&sa, sizeof(sa), 0);
	if (r)
		goto out;
	args.ta_sock = sock;
	args.ta_done = vmtest_done;
	args.ta_data = &t;
	args.ta_timeout_ms = timeout_ms;
	args.ta_num_peerids = 1;
	args.ta_my_peerids[0] = key;
	r = tls13_psk_client_hello(&args, GFP_KERNEL);
	if (r)
		goto out;
	if (!wait_for_completion_timeout(&t.done, msecs_to_jiffies(timeout_ms + 5000))) {
		/* Must not return while the work item may still call vmtest_done. */
		if (!tls13_psk_handshake_cancel(sock->sk))
			wait_for_completion(&t.done);
		r = -ETIMEDOUT;
		goto out;
	}
	r = t.status;
	if (r)
		goto out;
	if (t.peerid != key) {
		r = -EBADE;
		goto out;
	}
	{
		struct msghdr msg = { };
		struct kvec iov;
		char line[128];

		snprintf(line, sizeof(line), "%s\n", send);
		iov.iov_base = line;
		iov.iov_len = strlen(line);
		r = kernel_sendmsg(sock, &msg, &iov, 1, iov.iov_len);
		if (r >= 0)
			r = vmtest_read(sock, reply, cap);
		if (r > 0)
			r = 0;
	}
	strim(reply);
	if (!r && !vmtest_reply_ok(reply))
		r = -EBADMSG;
out:
	sock_release(sock);
	return r;
}

static int __init vmtest_init(void)
{
	int status[8], n[8], kinds = 0, i, j, r;
	char reply[256], line[160];
	s64 max_ms = 0, total_ms = 0;
	size_t len = 0;

	if (count <= 1) {
		r = vmtest_try(reply, sizeof(reply));
		pr_info("tls13-vmtest: status=%d reply=%s\n", r, reply);
		return 0;
	}
	for (i = 0; i < count; i++) {
		ktime_t t0 = ktime_get();
		s64 ms;

		r = vmtest_try(reply, sizeof(reply));
		ms = ktime_ms_delta(ktime_get(), t0);
		total_ms += ms;
		if (ms > max_ms)
			max_ms = ms;
		for (j = 0; j < kinds && status[j] != r; j++)
			;
		if (j == kinds && kinds < ARRAY_SIZE(status)) {
			status[kinds] = r;
			n[kinds++] = 0;
		}
		if (j < kinds)
			n[j]++;
	}
	line[0] = 0;
	for (j = 0; j < kinds && len < sizeof(line); j++)
		len += scnprintf(line + len, sizeof(line) - len, "%s%d:%d", j ? "," : "",
				 status[j], n[j]);
	pr_info("tls13-vmtest: tries=%d statuses=%s max_ms=%lld total_ms=%lld\n", count, line,
		max_ms, total_ms);
	return 0;
}

static void __exit vmtest_exit(void)
{
}

module_init(vmtest_init);
module_exit(vmtest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("TEST-ONLY: in-kernel TLS 1.3 PSK handshake against a local server");
