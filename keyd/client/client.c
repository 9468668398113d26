/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"

/* A reply record is at most KEYD_PROTO_MESSAGE_MAX; one byte more lets recv()
 * tell an oversized record from a maximal one even without MSG_TRUNC. */
#define BUF_SIZE (KEYD_PROTO_MESSAGE_MAX + 1)

struct keyd_client {
	int fd;
	uint32_t next_id;
	uint8_t *buf; /* the last reply: may hold key material (REQUEST-KEY-REPLY) */
	size_t buf_len;
	char error[1025];
};

const char *keyd_client_socket_path(const char *path)
{
	const char *e;

	if (path)
		return path;
	e = getenv("KEYD_SOCKET");
	if (e && e[0])
		return e;
	return KEYD_PROTO_SOCKET_PATH;
}

static int set_timeouts(int fd, int timeout_ms)
{
	struct timeval tv = {
		.tv_sec = timeout_ms / 1000,
		.tv_usec = (timeout_ms % 1000) * 1000,
	};

	/* AF_UNIX connect() waits for a slot in a full backlog for SO_SNDTIMEO. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

int keyd_client_connect(const char *path, int timeout_ms, keyd_client **ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	keyd_client *c;
	size_t len;
	int r;

	path = keyd_client_socket_path(path);
	len = strlen(path);
	if (len == 0 || len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len);
	if (timeout_ms <= 0)
		timeout_ms = KEYD_CLIENT_DEFAULT_TIMEOUT_MS;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = set_timeouts(fd, timeout_ms);
	if (r < 0)
		return r;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		log_debug_errno(r, "keyd client: connect to '%s': %m", path);
		return r == -EAGAIN || r == -EINPROGRESS ? -ETIMEDOUT : r;
	}

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->buf = malloc(BUF_SIZE);
	if (!c->buf) {
		free(c);
		return -ENOMEM;
	}
	c->fd = TAKE_FD(fd);
	/* Ids only need to differ between outstanding requests; start somewhere
	 * recognisable in traces. */
	c->next_id = 1;
	*ret = c;
	return 0;
}

keyd_client *keyd_client_free(keyd_client *c)
{
	if (!c)
		return NULL;
	safe_close(c->fd);
	erase_and_free(c->buf, BUF_SIZE);
	free(c);
	return NULL;
}

const char *keyd_client_last_error(const keyd_client *c)
{
	return c->error;
}

static int set_error(keyd_client *c, int r, const char *fmt, ...) _printf_(3, 4);
static int set_error(keyd_client *c, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	log_debug("keyd client: %s", c->error);
	return r;
}

int keyd_client_call(keyd_client *c, struct keyd_proto_msg *req, struct keyd_proto_msg *ret_reply)
{
	struct keyd_proto_error perr = {};
	uint8_t *out = NULL;
	size_t out_len = 0;
	uint16_t want;
	ssize_t n;
	uint32_t e;
	int r;

	c->error[0] = '\0';
	explicit_bzero(c->buf, c->buf_len);
	c->buf_len = 0;

	req->id = c->next_id++;
	r = keyd_proto_encode(req, &out, &out_len, &perr);
	if (r < 0) {
		char why[256];

		keyd_proto_error_format(&perr, why, sizeof(why));
		return set_error(c, r, "cannot encode the request: %s", why);
	}
	n = send(c->fd, out, out_len, MSG_NOSIGNAL);
	r = n < 0 ? -errno : 0;
	keyd_proto_buffer_free(out, out_len);
	if (r == -EAGAIN)
		r = -ETIMEDOUT;
	if (r < 0)
		return set_error(c, r, "cannot send to keyd: %s", strerror(-r));
	if ((size_t)n != out_len)
		return set_error(c, -EIO, "short send to keyd");

	n = recv(c->fd, c->buf, BUF_SIZE, MSG_TRUNC);
	if (n < 0) {
		r = errno == EAGAIN ? -ETIMEDOUT : -errno;
		return set_error(c, r, "no reply from keyd: %s", strerror(-r));
	}
	if (n == 0)
		return set_error(c, -ECONNRESET, "keyd closed the connection without a reply");
	if ((size_t)n >= BUF_SIZE)
		return set_error(c, -EPROTO, "keyd sent a record larger than any reply");
	c->buf_len = (size_t)n;

	r = keyd_proto_decode(c->buf, c->buf_len, KEYD_PROTO_EXPECT_REPLY, ret_reply, &perr);
	if (r < 0) {
		char why[256];

		keyd_proto_error_format(&perr, why, sizeof(why));
		return set_error(c, -EPROTO, "malformed reply from keyd: %s", why);
	}
	if (ret_reply->id != req->id)
		return set_error(c, -EPROTO, "reply for request %u, expected %u", ret_reply->id,
				 req->id);
	if (ret_reply->type == KEYD_PROTO_ERROR) {
		if (keyd_proto_get_u32(ret_reply, KEYD_TAG_ERRNO, &e) < 0)
			e = EIO;
		if (keyd_proto_get_string(ret_reply, KEYD_TAG_MESSAGE, c->error, sizeof(c->error)) <
		    0)
			snprintf(c->error, sizeof(c->error), "%s", strerror((int)e));
		return -(int)e;
	}
	want = (uint16_t)(req->type | KEYD_PROTO_REPLY_BIT);
	if (ret_reply->type != want)
		return set_error(c, -EPROTO, "reply of type 0x%04x to a request of type 0x%04x",
				 ret_reply->type, req->type);
	return 0;
}

int keyd_client_status(keyd_client *c, struct keyd_client_status *ret)
{
	struct keyd_proto_msg req, rep;
	int r;

	keyd_proto_msg_init(&req, KEYD_PROTO_STATUS, 0);
	r = keyd_client_call(c, &req, &rep);
	if (r < 0)
		return r;
	*ret = (struct keyd_client_status){
		.uptime = UINT64_MAX,
		.keyring_count = UINT32_MAX,
		.last_errno = UINT32_MAX,
	};
	/* Required fields: the decoder has checked they are present and bounded. */
	r = keyd_proto_get_string(&rep, KEYD_TAG_DAEMON_VERSION, ret->daemon_version,
				  sizeof(ret->daemon_version));
	if (r >= 0)
		r = keyd_proto_get_u32(&rep, KEYD_TAG_PROTO_MAX, &ret->proto_max);
	if (r >= 0)
		r = keyd_proto_get_string(&rep, KEYD_TAG_STATE, ret->state, sizeof(ret->state));
	if (r < 0)
		return set_error(c, -EPROTO, "STATUS-REPLY without its required fields");
	(void)keyd_proto_get_u64(&rep, KEYD_TAG_UPTIME, &ret->uptime);
	(void)keyd_proto_get_u32(&rep, KEYD_TAG_KEYRING_COUNT, &ret->keyring_count);
	(void)keyd_proto_get_u32(&rep, KEYD_TAG_LAST_ERRNO, &ret->last_errno);
	(void)keyd_proto_get_u64(&rep, KEYD_TAG_LAST_TIME, &ret->last_time);
	return 0;
}

int keyd_client_report_path(const char *socket_path, char *buf, size_t size)
{
	return keyd_sibling_path(socket_path, KEYD_CLIENT_REPORT_NAME, buf, size);
}

int keyd_client_read_report(const char *socket_path, char **ret, size_t *ret_len)
{
	char path[KEYD_CLIENT_PATH_MAX];
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	r = keyd_client_report_path(socket_path, path, sizeof(path));
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & 0022))
		return -EPERM;
	return keyd_read_fd(fd, KEYD_CLIENT_REPORT_MAX, ret, ret_len);
}
