// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-kernel TLS 1.3 PSK client handshake for NVMe/TCP.
 *
 * Concurrency: each handshake is one work item on system_unbound_wq. The
 * request is reference counted: the work item holds one reference, a cancel
 * takes another while it waits for the work item to end. Completion and
 * cancellation race on one atomic bit (TLS13_REQ_CLAIMED): whoever sets it
 * first decides whether ta_done is called. The request list is only for
 * cancellation and is protected by tls13_req_lock.
 *
 * I/O: the socket is read exactly up to the end of the record being received
 * (tls13_client_want()), so the handshake never consumes the first
 * application record, which kTLS must see. Every socket call is bounded by
 * the time left of ta_timeout_ms.
 */
#include <linux/jiffies.h>
#include <linux/key.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/nvme-keyring.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <linux/workqueue.h>
#include <keys/user-type.h>
#include <net/sock.h>
#include <net/tls.h>
#include <uapi/linux/tls.h>

#include "tls13_client.h"
#include "tls13_handshake.h"
#include "tls13_msg.h"
#include "tls13_record.h"

enum {
	TLS13_REQ_CLAIMED,
};

struct tls13_req {
	struct list_head list;
	struct work_struct work;
	refcount_t ref;		/* the work item's, plus a cancel's while it waits */
	struct tls_handshake_args args;
	struct sock *sk;
	unsigned long deadline;
	unsigned long flags;
};

static LIST_HEAD(tls13_reqs);
static DEFINE_SPINLOCK(tls13_req_lock);

static void tls13_req_put(struct tls13_req *req)
{
	if (refcount_dec_and_test(&req->ref)) {
		sock_put(req->sk);
		kfree(req);
	}
}

/* The PSK and identity of a "psk" key; the hash follows the NVMe identity prefix. */
static int tls13_read_psk(key_serial_t serial, struct tls13_client_config *cfg, u8 *psk,
			  char *identity, size_t identity_cap)
{
	const struct user_key_payload *payload;
	struct key *key;
	unsigned int version, hh;
	char kind;
	int r = 0;

	key = nvme_tls_key_lookup(serial);
	if (IS_ERR(key))
		return -ENOKEY;
	down_read(&key->sem);
	payload = user_key_payload_locked(key);
	if (!payload || !key->description ||
	    strscpy(identity, key->description, identity_cap) < 0) {
		r = -ENOKEY;
		goto out;
	}
	/* NVMe<v><R|G><hh> ...: hh 01 = SHA-256, 02 = SHA-384 (NVMe/TCP TLS PSK identity). */
	if (sscanf(identity, "NVMe%1u%c%2u ", &version, &kind, &hh) != 3 ||
	    (kind != 'R' && kind != 'G') || (hh != 1 && hh != 2)) {
		r = -ENOKEY;
		goto out;
	}
	cfg->hash = hh == 2 ? TLS13_SHA384 : TLS13_SHA256;
	if (payload->datalen != tls13_hash_len(cfg->hash)) {
		r = -ENOKEY;
		goto out;
	}
	memcpy(psk, payload->data, payload->datalen);
	cfg->psk = psk;
	cfg->psk_len = payload->datalen;
	cfg->identity = (const u8 *)identity;
	cfg->identity_len = strlen(identity);
out:
	up_read(&key->sem);
	key_put(key);
	return r;
}

static long tls13_time_left(const struct tls13_req *req)
{
	long left = (long)(req->deadline - jiffies);

	return left > 0 ? left : 0;
}

static int tls13_send(struct tls13_req *req, const u8 *p, size_t len)
{
	struct socket *sock = req->args.ta_sock;

	while (len) {
		struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
		struct kvec iov = { .iov_base = (void *)p, .iov_len = len };
		long left = tls13_time_left(req);
		int r;

		if (!left)
			return -ETIMEDOUT;
		WRITE_ONCE(sock->sk->sk_sndtimeo, left);
		r = kernel_sendmsg(sock, &msg, &iov, 1, len);
		if (r == -EAGAIN)
			return -ETIMEDOUT;
		if (r <= 0)
			return r ? r : -EIO;
		p += r;
		len -= r;
	}
	return 0;
}

static int tls13_recv(struct tls13_req *req, u8 *p, size_t len)
{
	struct socket *sock = req->args.ta_sock;
	struct msghdr msg = { .msg_flags = 0 };
	struct kvec iov = { .iov_base = p, .iov_len = len };
	long left = tls13_time_left(req);
	int r;

	if (!left)
		return -ETIMEDOUT;
	WRITE_ONCE(sock->sk->sk_rcvtimeo, left);
	r = kernel_recvmsg(sock, &msg, &iov, 1, len, 0);
	if (r == -EAGAIN)
		return -ETIMEDOUT;
	if (r == 0)
		return -ECONNRESET;
	return r;
}

/* kTLS for one direction, with the keys the handshake derived (sequence 0). */
static int tls13_ktls_set(struct socket *sock, int optname, const struct tls13_traffic *t)
{
	union {
		struct tls12_crypto_info_aes_gcm_128 g128;
		struct tls12_crypto_info_aes_gcm_256 g256;
	} ci;
	unsigned int len;
	int r;

	memset(&ci, 0, sizeof(ci));
	if (t->key_len == TLS_CIPHER_AES_GCM_128_KEY_SIZE) {
		ci.g128.info.version = TLS_1_3_VERSION;
		ci.g128.info.cipher_type = TLS_CIPHER_AES_GCM_128;
		memcpy(ci.g128.key, t->key, t->key_len);
		/* TLS 1.3 per-record nonce = (salt || iv) XOR seq: salt = iv[0..3]. */
		memcpy(ci.g128.salt, t->iv, TLS_CIPHER_AES_GCM_128_SALT_SIZE);
		memcpy(ci.g128.iv, t->iv + TLS_CIPHER_AES_GCM_128_SALT_SIZE,
		       TLS_CIPHER_AES_GCM_128_IV_SIZE);
		len = sizeof(ci.g128);
	} else {
		ci.g256.info.version = TLS_1_3_VERSION;
		ci.g256.info.cipher_type = TLS_CIPHER_AES_GCM_256;
		memcpy(ci.g256.key, t->key, t->key_len);
		memcpy(ci.g256.salt, t->iv, TLS_CIPHER_AES_GCM_256_SALT_SIZE);
		memcpy(ci.g256.iv, t->iv + TLS_CIPHER_AES_GCM_256_SALT_SIZE,
		       TLS_CIPHER_AES_GCM_256_IV_SIZE);
		len = sizeof(ci.g256);
	}
	r = sock->ops->setsockopt(sock, SOL_TLS, optname, KERNEL_SOCKPTR(&ci), len);
	memzero_explicit(&ci, sizeof(ci));
	return r;
}

static int tls13_ktls_install(struct socket *sock, const struct tls13_traffic *tx,
			      const struct tls13_traffic *rx)
{
	char ulp[] = "tls";
	int r;

	r = sock->ops->setsockopt(sock, SOL_TCP, TCP_ULP, KERNEL_SOCKPTR(ulp), sizeof(ulp));
	if (!r)
		r = tls13_ktls_set(sock, TLS_TX, tx);
	if (!r)
		r = tls13_ktls_set(sock, TLS_RX, rx);
	return r;
}

/*
 * The status nvme-tcp understands (see docs/in-kernel-handshake.md). Once the
 * handshake runs, -EINVAL only means a server's illegal_parameter: EIO, like
 * any other bad server data.
 */
static int tls13_status(int r)
{
	switch (r) {
	case 0:
	case -EKEYREJECTED:
	case -ENOKEY:
	case -ENOMEM:
		return r;
	case -ECONNABORTED:
		return -EACCES;
	default:
		return -EIO;
	}
}

static int tls13_run(struct tls13_req *req)
{
	struct tls13_client_config cfg = { };
	struct tls13_traffic tx, rx;
	struct tls13_client *c = NULL;
	char *identity = NULL;
	u8 *out = NULL, *in = NULL, psk[TLS13_MAX_HASH];
	size_t out_len, used;
	int r;

	out = kmalloc(TLS13_CLIENT_OUT_MAX, GFP_KERNEL);
	in = kmalloc(TLS13_MAX_RECORD, GFP_KERNEL);
	identity = kzalloc(TLS13_MAX_IDENTITY + 1, GFP_KERNEL);
	if (!out || !in || !identity) {
		r = -ENOMEM;
		goto out;
	}
	if (req->args.ta_num_peerids < 1) {
		r = -ENOKEY;
		goto out;
	}
	r = tls13_read_psk(req->args.ta_my_peerids[0], &cfg, psk, identity,
			   TLS13_MAX_IDENTITY + 1);
	if (r)
		goto out;
	r = tls13_client_new(&cfg, &c);
	memzero_explicit(psk, sizeof(psk));
	if (r)
		goto out;
	r = tls13_client_start(c, out, TLS13_CLIENT_OUT_MAX, &out_len);
	if (!r)
		r = tls13_send(req, out, out_len);
	while (!r) {
		int got = tls13_recv(req, in, tls13_client_want(c));

		if (got < 0) {
			r = got;
			break;
		}
		r = tls13_client_feed(c, in, got, &used, out, TLS13_CLIENT_OUT_MAX, &out_len);
		/* The second ClientHello, our Finished, or the alert for a failure. */
		if (out_len) {
			int s = tls13_send(req, out, out_len);

			if (r >= 0 && s)
				r = s;
		}
		if (r == TLS13_CLIENT_DONE)
			break;
	}
	if (r == TLS13_CLIENT_DONE) {
		r = tls13_client_traffic(c, &tx, &rx);
		if (!r)
			r = tls13_ktls_install(req->args.ta_sock, &tx, &rx);
		memzero_explicit(&tx, sizeof(tx));
		memzero_explicit(&rx, sizeof(rx));
	}
out:
	tls13_client_free(c);
	kfree(identity);
	kfree(in);
	kfree_sensitive(out);
	return r;
}

static void tls13_work(struct work_struct *work)
{
	struct tls13_req *req = container_of(work, struct tls13_req, work);
	long rcvtimeo = req->sk->sk_rcvtimeo, sndtimeo = req->sk->sk_sndtimeo;
	int r = tls13_run(req);

	WRITE_ONCE(req->sk->sk_rcvtimeo, rcvtimeo);
	WRITE_ONCE(req->sk->sk_sndtimeo, sndtimeo);
	spin_lock(&tls13_req_lock);
	list_del_init(&req->list);
	spin_unlock(&tls13_req_lock);
	if (!test_and_set_bit(TLS13_REQ_CLAIMED, &req->flags))
		req->args.ta_done(req->args.ta_data, tls13_status(r),
				  r ? TLS_NO_PEERID : req->args.ta_my_peerids[0]);
	tls13_req_put(req);
}

int tls13_psk_client_hello(const struct tls_handshake_args *args, gfp_t flags)
{
	struct tls13_req *req;

	if (!args->ta_sock || !args->ta_sock->sk || !args->ta_done ||
	    args->ta_num_peerids < 1)
		return -EINVAL;
	req = kzalloc(sizeof(*req), flags);
	if (!req)
		return -ENOMEM;
	req->args = *args;
	req->sk = args->ta_sock->sk;
	sock_hold(req->sk);
	/* nvme-tcp always passes a timeout; refuse to run unbounded without one. */
	req->deadline = jiffies + msecs_to_jiffies(args->ta_timeout_ms ?: 10000);
	INIT_WORK(&req->work, tls13_work);
	refcount_set(&req->ref, 1);
	spin_lock(&tls13_req_lock);
	list_add_tail(&req->list, &tls13_reqs);
	spin_unlock(&tls13_req_lock);
	queue_work(system_unbound_wq, &req->work);
	return 0;
}
EXPORT_SYMBOL_GPL(tls13_psk_client_hello);

bool tls13_psk_handshake_cancel(struct sock *sk)
{
	struct tls13_req *req, *found = NULL;
	bool cancelled = false;

	spin_lock(&tls13_req_lock);
	list_for_each_entry(req, &tls13_reqs, list) {
		if (req->sk == sk) {
			found = req;
			refcount_inc(&req->ref);
			/* The work item will not call ta_done once this bit is ours. */
			cancelled = !test_and_set_bit(TLS13_REQ_CLAIMED, &req->flags);
			break;
		}
	}
	spin_unlock(&tls13_req_lock);
	if (!found)
		return false;
	/*
	 * Wake a blocked recvmsg/sendmsg, then wait for the work item: once this
	 * returns, the handshake no longer touches the socket and the caller may
	 * release it.
	 */
	if (cancelled)
		kernel_sock_shutdown(found->args.ta_sock, SHUT_RDWR);
	flush_work(&found->work);
	tls13_req_put(found);
	return cancelled;
}
EXPORT_SYMBOL_GPL(tls13_psk_handshake_cancel);
