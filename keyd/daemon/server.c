/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd's event loop and socket server.
 *
 * Concurrency model
 * -----------------
 * One thread, no fork, no locks. The loop poll()s over
 *   - a signalfd for SIGHUP (reload), SIGTERM and SIGINT (stop): the signals are
 *     blocked, so they arrive as readable data between two iterations and never
 *     interrupt the code below (no async-signal-safety questions, no EINTR games);
 *   - the listening SOCK_SEQPACKET socket, polled only while fewer than
 *     max-clients connections are open, so extra clients wait in the kernel's
 *     backlog (bounded memory here, nobody refused);
 *   - every client connection.
 * All sockets are non-blocking. A readable client gives exactly one record per
 * iteration (SEQPACKET keeps message boundaries, so there is no partial message
 * to keep between iterations), which is decoded, answered with one send and
 * forgotten: the only per-client state is the fd, the peer's credentials taken
 * at accept time, the time of its last request and a count of its malformed
 * messages. A client whose reply does not fit its socket buffer at once is
 * dropped instead of being waited for.
 *
 * Provisioning (start, SIGHUP, PROVISION and RELOAD messages) runs inline, on
 * this thread, and takes as long as the TPM takes; meanwhile clients queue in
 * their socket buffers and the backlog. That is the point: the daemon state
 * (config, policy, provisioning state) has exactly one writer and the requests
 * see it either before or after a pass, never half-built. A reload builds the
 * new config, policy and keyring generations completely, then swaps the
 * pointers and frees the old ones; any failure before the swap keeps the old
 * state (and the kernel keeps the old generations, see provision.h). Inside a
 * pass, a CA set's asymmetric keys are added by this thread and one short-lived
 * helper that only calls add_key (the kernel's certificate parsing is most of a
 * pass) and is joined before the pass goes on; it inherits the blocked signals.
 */
#define _GNU_SOURCE /* accept4, strsignal */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "listen.h"
#include "log.h"
#include "macro.h"
#include "notify.h"
#include "peer.h"
#include "policy.h"
#include "proto.h"
#include "provision.h"
#include "ratelimit.h"
#include "report.h"
#include "request-key.h"
#include "server.h"
#include "signer.h"
#include "store.h"
#include "tpm.h"

/* A receive buffer one byte larger than the largest message, so an oversized
 * record is recognised (MSG_TRUNC) rather than decoded short. */
#define RECV_BUF_SIZE (KEYD_PROTO_MESSAGE_MAX + 1)
/* A client sending this many malformed messages on one connection is closed:
 * honest clients send none, so this only bounds the work a flood can cause. */
#define CLIENT_BAD_MAX 32
/* An idle connection holds a slot; free it after this long without a request. */
#define CLIENT_IDLE_USEC (60ULL * 1000000ULL)

struct client {
	int fd;
	struct keyd_peer peer;
	uint64_t last_usec;
	unsigned bad;
};

struct server {
	/* The configuration in force: the caller's until the first successful reload,
	 * then own_config. */
	const struct keyd_config *config;
	struct keyd_config own_config;
	bool own_config_set;
	const char *config_path;
	const char *socket_path; /* fixed at start: the socket is not moved by a reload */

	keyd_policy *policy;
	keyd_provision_state *state;
	bool has_group;
	gid_t group;

	struct keyd_listen listen;
	int signal_fd;
	struct client *clients; /* KEYD_CONFIG_MAX_CLIENTS_MAX slots, fd -1 when free */
	size_t n_clients;
	uint8_t *buf;

	const char *state_name; /* "starting", "ready", "degraded" */
	uint64_t generation;
	int last_errno;
	time_t last_time;
	time_t started;
	uint64_t started_usec;
	struct keyd_ratelimit bad_log;
	keyd_signer *signer; /* SIGN, GET-PUBKEY (signer.c); made on first use */
	bool stop;
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void log_errors(const char *what, char **errors)
{
	for (char **e = errors; e && *e; e++)
		log_error("%s: %s", what, *e);
}

/* ---- policy and enrollment group -------------------------------------------------- */

static int load_policy(const struct keyd_config *config, keyd_policy **ret, char *reason,
		       size_t reason_size)
{
	_cleanup_strv_free_ char **errors = NULL;
	int r;

	r = keyd_policy_load_dir(config->policy_dir, KEYD_POLICY_CHECK_OWNER, NULL, ret, &errors);
	if (r == -ENOENT) {
		/* No policy directory: nothing to provision, but the socket still serves. */
		log_warning(
			"policy directory '%s' does not exist: no keyrings will be provisioned; "
			"install policies there (keyd-policy(5))",
			config->policy_dir);
		return keyd_policy_parse(NULL, 0, NULL, ret, NULL);
	}
	if (r < 0) {
		log_errors("policy", errors);
		snprintf(reason, reason_size, "the policy in '%s' is not valid: %s",
			 config->policy_dir, errors && errors[0] ? errors[0] : strerror(-r));
	}
	return r;
}

static void resolve_group(const struct keyd_config *config, bool *ret_has, gid_t *ret_gid)
{
	int r = keyd_peer_resolve_group(config->enroll_group, ret_gid);

	*ret_has = r == 0;
	if (r < 0)
		log_warning("enroll-group '%s' does not exist: only root may provision and reload; "
			    "create the group or change enroll-group in keyd.conf",
			    config->enroll_group);
}

/* ---- one provisioning pass ----------------------------------------------------------- */

/* Open the store, first creating an empty one (a fresh installation has nothing
 * enrolled yet, and provisioning an empty store is not an error). */
static int open_store(const char *root, keyd_store **ret, char *reason, size_t reason_size)
{
	keyd_store *s = NULL;
	int r;

	r = keyd_store_open(root, KEYD_STORE_READONLY, ret, reason, reason_size);
	if (r != -ENOENT)
		return r;
	r = keyd_store_open(root, KEYD_STORE_CREATE, &s, reason, reason_size);
	if (r < 0)
		return r;
	keyd_store_close(s);
	log_notice("created an empty store in '%s'", root);
	return keyd_store_open(root, KEYD_STORE_READONLY, ret, reason, reason_size);
}

/* The TPM device may appear late in early boot: wait up to tpm-wait seconds for
 * a device: TCTI's node, still answering SIGTERM. */
static int wait_for_tpm(struct server *s, const struct keyd_config *config)
{
	const char *dev;
	uint64_t deadline;

	if (!startswith(config->tcti, "device:"))
		return 0;
	dev = config->tcti + strlen("device:");
	if (!dev[0] || access(dev, F_OK) >= 0)
		return 0;
	log_notice("waiting up to %u s for the TPM device '%s'", config->tpm_wait, dev);
	deadline = now_usec() + (uint64_t)config->tpm_wait * 1000000u;
	while (access(dev, F_OK) < 0) {
		struct pollfd p = { .fd = s->signal_fd, .events = POLLIN };

		if (now_usec() >= deadline)
			return -ENODEV;
		if (poll(&p, 1, 200) > 0)
			return -EINTR; /* a signal is pending: the loop handles it */
	}
	return 0;
}

/* Returns KEYD_PROVISION_OK/PARTIAL or -errno; *ret_state as keyd_provision_run()
 * (NULL when no pass could start). */
static int provision_pass(struct server *s, const struct keyd_config *config,
			  const keyd_policy *policy, const keyd_provision_state *previous,
			  keyd_provision_state **ret_state)
{
	char reason[512] = "";
	keyd_store *store = NULL;
	keyd_tpm *tpm = NULL;
	int r;

	*ret_state = NULL;
	r = wait_for_tpm(s, config);
	if (r == -EINTR)
		return r;
	/* Open per pass and close after: the store lock and (for swtpm) the TPM
	 * connection are not held between passes, so keyd-ctl can enroll meanwhile. */
	r = open_store(config->store, &store, reason, sizeof(reason));
	if (r < 0) {
		log_error_errno(r, "cannot open the store '%s': %s", config->store,
				reason[0] ? reason : strerror(-r));
		goto finish;
	}
	/* Cheap: no TPM command is sent until a sealed entry needs one, and
	 * provisioning pins the store's SRK itself. A -ENODEV handle still comes back
	 * and names the TCTI that failed when (and only if) it is needed, so a store
	 * without sealed entries provisions without a TPM. */
	(void)keyd_tpm_open(config->tcti, &tpm);
	/* Loading a sealed object under the SRK takes two of the TPM's object slots
	 * (a PC Client TPM may have 3): the signer's held key leaves first. */
	keyd_signer_release_loaded(s->signer);
	(void)keyd_signer_recover(s->socket_path, tpm);
	r = keyd_provision_run(store, tpm, policy, previous, ret_state);
	if (r < 0)
		log_error_errno(r, "provisioning failed: %m");
	if (*ret_state) {
		_cleanup_strv_free_ char **problems = NULL, **warnings = NULL;

		if (keyd_provision_state_warnings(*ret_state, &warnings) >= 0)
			for (char **p = warnings; p && *p; p++)
				log_warning("%s", *p);
		if (keyd_provision_state_problems(*ret_state, &problems) >= 0)
			for (char **p = problems; p && *p; p++)
				log_error("%s", *p);
		log_info("provisioning pass: %zu keyring(s) provisioned, %zu kept the previous "
			 "generation or failed, %u TPM command(s)",
			 keyd_provision_state_rings_ok(*ret_state),
			 keyd_provision_state_rings_failed(*ret_state),
			 keyd_provision_state_tpm_commands(*ret_state));
	}
finish:
	keyd_tpm_close(tpm);
	keyd_store_close(store);
	return r;
}

static void publish(struct server *s)
{
	const struct keyd_report_info info = {
		.state = s->state_name,
		.generation = s->generation,
		.last_errno = s->last_errno,
		.last_time = s->last_time,
		.started = s->started,
		.policy_dir = s->config->policy_dir,
		.store = s->config->store,
	};
	char status[160];
	int r;

	r = keyd_report_write(s->socket_path, &info, s->state, s->has_group ? s->group : 0);
	if (r < 0)
		log_warning_errno(r, "cannot write the status report next to '%s': %m",
				  s->socket_path);
	snprintf(status, sizeof(status), "STATUS=%s, generation %llu%s%s", s->state_name,
		 (unsigned long long)s->generation, s->last_errno ? ": " : "",
		 s->last_errno ? strerror(s->last_errno) : "");
	(void)keyd_notify_send(status);
}

/* Record the outcome of a pass whose state was swapped in. */
static void account(struct server *s, int r)
{
	s->last_time = time(NULL);
	s->last_errno = r < 0 ? -r : 0;
	s->state_name = r == KEYD_PROVISION_OK ? "ready" : "degraded";
	if (r >= 0)
		s->generation++;
}

/* PROVISION and the start: a pass with the policy in force. */
static int provision_now(struct server *s)
{
	keyd_provision_state *state = NULL;
	int r;

	r = provision_pass(s, s->config, s->policy, s->state, &state);
	if (r == -EINTR)
		return r;
	if (state) {
		keyd_provision_state_free(s->state);
		s->state = state;
	}
	account(s, r);
	publish(s);
	return r;
}

/* SIGHUP and RELOAD: build everything new, then swap. reason gets why a reload
 * was refused. */
static int reload(struct server *s, char *reason, size_t reason_size)
{
	_cleanup_strv_free_ char **errors = NULL;
	struct keyd_config config = {};
	keyd_policy *policy = NULL;
	keyd_provision_state *state = NULL;
	bool has_group;
	gid_t group = 0;
	int r;

	log_info("reloading '%s' and the policy",
		 s->config_path ? s->config_path : KEYD_CONFIG_DEFAULT_PATH);
	r = keyd_config_init(&config);
	if (r >= 0)
		r = keyd_config_load(&config, s->config_path, KEYD_CONFIG_CHECK_OWNER, &errors);
	if (r >= 0) {
		errors = strv_free(errors);
		r = keyd_config_apply_env(&config, &errors);
	}
	if (r < 0) {
		log_errors("keyd.conf", errors);
		snprintf(reason, reason_size, "the configuration is not valid: %s",
			 errors && errors[0] ? errors[0] : strerror(-r));
		goto fail;
	}
	if (!streq(config.socket, s->socket_path))
		log_warning(
			"socket '%s' in keyd.conf differs from the one in use '%s': restart keyd "
			"to move it",
			config.socket, s->socket_path);

	r = load_policy(&config, &policy, reason, reason_size);
	if (r < 0)
		goto fail;
	resolve_group(&config, &has_group, &group);

	r = provision_pass(s, &config, policy, s->state, &state);
	if (r == -EINTR) {
		snprintf(reason, reason_size, "interrupted by a signal");
		goto fail;
	}
	if (!state) {
		snprintf(reason, reason_size,
			 "provisioning with the new policy failed: %s; the previous "
			 "state stays",
			 strerror(-r));
		goto fail;
	}

	/* The swap: nothing below can fail. The old state goes first: it may point
	 * into the old policy. */
	keyd_provision_state_free(s->state);
	s->state = state;
	keyd_policy_free(s->policy);
	s->policy = policy;
	if (s->own_config_set)
		keyd_config_done(&s->own_config);
	s->own_config = config;
	s->own_config_set = true;
	s->config = &s->own_config;
	s->has_group = has_group;
	s->group = group;
	/* As at start (main.c): keyd.conf's level, then $KEYD_LOG_LEVEL over it. */
	keyd_log_set_max_level(s->config->log_level);
	keyd_log_parse_env();
	account(s, r);
	publish(s);
	log_info("reloaded: generation %llu, %s", (unsigned long long)s->generation, s->state_name);
	return r < 0 ? r : 0;

fail:
	keyd_provision_state_free(state);
	keyd_policy_free(policy);
	keyd_config_done(&config);
	log_error("reload refused, the previous configuration and keyrings stay: %s", reason);
	return r < 0 ? r : -EINVAL;
}

/* ---- clients ------------------------------------------------------------------------ */

static void client_close(struct server *s, struct client *c)
{
	c->fd = safe_close(c->fd);
	keyd_peer_done(&c->peer);
	s->n_clients--;
}

static void log_bad_peer(struct server *s, const struct client *c, const char *reason)
{
	unsigned suppressed = 0;

	if (!keyd_ratelimit_test(&s->bad_log, &suppressed))
		return;
	if (suppressed > 0)
		log_warning("(%u more messages about bad peers suppressed)", suppressed);
	log_warning("peer pid=%d uid=%u: %s", (int)c->peer.pid, (unsigned)c->peer.uid, reason);
}

/* Send one encoded reply. false when the client must be dropped. */
static bool send_reply(struct client *c, uint8_t *out, size_t len)
{
	ssize_t n = send(c->fd, out, len, MSG_DONTWAIT | MSG_NOSIGNAL);

	keyd_proto_buffer_free(out, len);
	return n >= 0 && (size_t)n == len;
}

static bool reply_error(struct client *c, uint32_t id, int error, const char *message)
{
	uint8_t *out = NULL;
	size_t len = 0;

	if (keyd_proto_encode_error(id, error, message, &out, &len) < 0)
		return false;
	return send_reply(c, out, len);
}

static bool reply_msg(struct client *c, struct keyd_proto_msg *m)
{
	struct keyd_proto_error perr = {};
	uint8_t *out = NULL;
	size_t len = 0;

	if (keyd_proto_encode(m, &out, &len, &perr) < 0) {
		char why[256];

		keyd_proto_error_format(&perr, why, sizeof(why));
		log_error("internal error: cannot encode a reply: %s", why);
		return reply_error(c, m->id, EIO,
				   "internal error in keyd: the reply could not be encoded");
	}
	return send_reply(c, out, len);
}

static bool handle_status(struct server *s, struct client *c, uint32_t id)
{
	struct keyd_proto_msg m;

	keyd_proto_msg_init(&m, KEYD_PROTO_STATUS_REPLY, id);
	keyd_proto_add_string(&m, KEYD_TAG_DAEMON_VERSION, KEYD_VERSION);
	keyd_proto_add_u32(&m, KEYD_TAG_PROTO_MAX, KEYD_PROTO_VERSION);
	keyd_proto_add_u64(&m, KEYD_TAG_UPTIME, (now_usec() - s->started_usec) / 1000000u);
	keyd_proto_add_string(&m, KEYD_TAG_STATE, s->state_name);
	keyd_proto_add_u32(&m, KEYD_TAG_KEYRING_COUNT, (uint32_t)keyd_policy_ring_count(s->policy));
	if (s->last_time) {
		keyd_proto_add_u32(&m, KEYD_TAG_LAST_ERRNO, (uint32_t)s->last_errno);
		keyd_proto_add_u64(&m, KEYD_TAG_LAST_TIME, (uint64_t)s->last_time);
	}
	return reply_msg(c, &m);
}

static bool handle_provision(struct server *s, struct client *c, const struct keyd_proto_msg *req)
{
	_cleanup_strv_free_ char **problems = NULL;
	struct keyd_proto_msg m;
	uint32_t flags = 0;
	size_t n_problems = 0;
	char text[256];
	int r;

	(void)keyd_proto_get_u32(req, KEYD_TAG_FLAGS, &flags);
	if (flags & KEYD_PROTO_FLAG_DRY_RUN)
		return reply_error(c, req->id, EOPNOTSUPP,
				   "a dry run is not supported by this keyd");
	if (keyd_proto_count(req, KEYD_TAG_KEYRING) > 0)
		return reply_error(c, req->id, EOPNOTSUPP,
				   "provisioning a single keyring is not supported by this keyd; "
				   "omit the keyring to provision all");

	log_info("provisioning on request of pid=%d uid=%u", (int)c->peer.pid,
		 (unsigned)c->peer.uid);
	r = provision_now(s);
	if (r == -EINTR)
		return reply_error(c, req->id, EINTR, "keyd is stopping or reloading; try again");
	if (r < 0) {
		snprintf(text, sizeof(text), "provisioning failed: %s; see the journal of keyd",
			 strerror(-r));
		return reply_error(c, req->id, -r, text);
	}
	if (s->state && keyd_provision_state_problems(s->state, &problems) >= 0)
		while (problems && problems[n_problems])
			n_problems++;

	keyd_proto_msg_init(&m, KEYD_PROTO_PROVISION_REPLY, req->id);
	if (n_problems > 0) {
		snprintf(text, sizeof(text), "%zu problem(s); see keyd-ctl status", n_problems);
		keyd_proto_add_string(&m, KEYD_TAG_MESSAGE, text);
	}
	keyd_proto_add_u32(&m, KEYD_TAG_PROVISIONED,
			   (uint32_t)(s->state ? keyd_provision_state_rings_ok(s->state) : 0));
	keyd_proto_add_u32(&m, KEYD_TAG_FAILED,
			   (uint32_t)(s->state ? keyd_provision_state_rings_failed(s->state) : 0));
	keyd_proto_add_u64(&m, KEYD_TAG_GENERATION, s->generation);
	return reply_msg(c, &m);
}

static bool handle_reload(struct server *s, struct client *c, uint32_t id)
{
	struct keyd_proto_msg m;
	char reason[512] = "";
	int r;

	log_info("reload requested by pid=%d uid=%u", (int)c->peer.pid, (unsigned)c->peer.uid);
	r = reload(s, reason, sizeof(reason));
	if (r < 0)
		return reply_error(c, id, r == -EBADMSG ? EINVAL : -r, reason);
	keyd_proto_msg_init(&m, KEYD_PROTO_RELOAD_REPLY, id);
	keyd_proto_add_u64(&m, KEYD_TAG_GENERATION, s->generation);
	return reply_msg(c, &m);
}

/* SIGN and GET-PUBKEY: the signer checks the [signing] grants itself. */
static bool handle_signing(struct server *s, struct client *c, const struct keyd_proto_msg *m)
{
	uint8_t *out = NULL;
	size_t len = 0;
	char text[1024];
	int r;

	if (!s->signer && keyd_signer_new(s->socket_path, &s->signer) < 0)
		return reply_error(c, m->id, ENOMEM, "keyd is out of memory");
	r = keyd_signer_handle(s->signer, s->config, s->policy, &c->peer, m, &out, &len, text,
			       sizeof(text));
	if (r < 0)
		return reply_error(c, m->id, -r, text);
	return send_reply(c, out, len);
}

/* true when the peer may PROVISION or RELOAD; otherwise logs the refusal and
 * fills text with the message for the ERROR reply. */
static bool require_privileged(struct server *s, struct client *c, const struct keyd_proto_msg *m,
			       char *text, size_t size)
{
	const char *what = m->type == KEYD_PROTO_RELOAD ? "reload keyd" : "provision keyrings";

	if (keyd_peer_is_privileged(&c->peer, s->has_group, s->group))
		return true;
	if (s->has_group)
		snprintf(text, size, "permission denied: only root or group '%s' may %s",
			 s->config->enroll_group, what);
	else
		snprintf(text, size, "permission denied: only root may %s", what);
	log_notice("peer pid=%d uid=%u: %s refused: %s", (int)c->peer.pid, (unsigned)c->peer.uid,
		   keyd_proto_type_to_string(m->type), text);
	return false;
}

/* Answer one decoded request. false when the client must be dropped. */
static bool dispatch(struct server *s, struct client *c, const struct keyd_proto_msg *m)
{
	char text[256];

	switch ((enum keyd_proto_type)m->type) {
	case KEYD_PROTO_STATUS:
		return handle_status(s, c, m->id);
	case KEYD_PROTO_PROVISION:
	case KEYD_PROTO_RELOAD:
		if (!require_privileged(s, c, m, text, sizeof(text)))
			return reply_error(c, m->id, EACCES, text);
		if (m->type == KEYD_PROTO_RELOAD)
			return handle_reload(s, c, m->id);
		return handle_provision(s, c, m);
	case KEYD_PROTO_SIGN:
	case KEYD_PROTO_GET_PUBKEY:
		return handle_signing(s, c, m);
	case KEYD_PROTO_REQUEST_KEY: { /* request-key.c */
		uint8_t *out = NULL;
		size_t len = 0;

		if (keyd_request_key_answer(s->config, &c->peer, m, &out, &len) < 0)
			return reply_error(c, m->id, ENOMEM, "out of memory");
		return send_reply(c, out, len);
	}
	case KEYD_PROTO_STATUS_REPLY:
	case KEYD_PROTO_PROVISION_REPLY:
	case KEYD_PROTO_RELOAD_REPLY:
	case KEYD_PROTO_SIGN_REPLY:
	case KEYD_PROTO_GET_PUBKEY_REPLY:
	case KEYD_PROTO_REQUEST_KEY_REPLY:
	case KEYD_PROTO_ERROR:
		break;
	}
	/* The decoder refuses replies sent to the server; not reached. */
	return reply_error(c, m->id, EBADMSG, "not a request");
}

/* Read and answer one record from c. */
static void client_read(struct server *s, struct client *c)
{
	struct keyd_proto_error perr = {};
	struct keyd_proto_msg m;
	char why[300], text[400];
	ssize_t n;
	int r;

	n = recv(c->fd, s->buf, RECV_BUF_SIZE, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		client_close(s, c);
		return;
	}
	if (n == 0) { /* orderly close (SEQPACKET has no empty records) */
		client_close(s, c);
		return;
	}
	c->last_usec = now_usec();
	if ((size_t)n >= RECV_BUF_SIZE) {
		snprintf(text, sizeof(text),
			 "oversized record of %zd bytes (the limit is %u); "
			 "connection closed",
			 n, (unsigned)KEYD_PROTO_MESSAGE_MAX);
		log_bad_peer(s, c, text);
		(void)reply_error(c, 0, EMSGSIZE, text);
		client_close(s, c);
		return;
	}

	r = keyd_proto_decode(s->buf, (size_t)n, KEYD_PROTO_EXPECT_REQUEST, &m, &perr);
	if (r < 0) {
		keyd_proto_error_format(&perr, why, sizeof(why));
		snprintf(text, sizeof(text), "malformed message: %s", why);
		log_bad_peer(s, c, text);
		if (!reply_error(c, perr.id, -r, why) || ++c->bad >= CLIENT_BAD_MAX) {
			if (c->bad >= CLIENT_BAD_MAX)
				log_bad_peer(s, c,
					     "too many malformed messages; connection closed");
			client_close(s, c);
		}
		goto wipe;
	}
	if (!dispatch(s, c, &m))
		client_close(s, c);
wipe:
	/* A request may carry key material in later protocol uses (REQUEST-KEY
	 * replies go the other way, but be uniform). */
	explicit_bzero(s->buf, (size_t)n);
}

static void accept_clients(struct server *s)
{
	while (s->n_clients < s->config->max_clients) {
		struct client *c = NULL;
		int fd, r;

		fd = accept4(s->listen.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warning_errno(errno, "accept on '%s': %m", s->socket_path);
			return;
		}
		for (size_t i = 0; i < KEYD_CONFIG_MAX_CLIENTS_MAX; i++)
			if (s->clients[i].fd < 0) {
				c = &s->clients[i];
				break;
			}
		if (!c) { /* cannot happen: n_clients < max_clients <= slots */
			safe_close(fd);
			return;
		}
		r = keyd_peer_from_fd(fd, &c->peer);
		if (r < 0) {
			log_warning_errno(r,
					  "cannot identify a peer on '%s': %m; connection closed",
					  s->socket_path);
			safe_close(fd);
			continue;
		}
		c->fd = fd;
		c->bad = 0;
		c->last_usec = now_usec();
		s->n_clients++;
	}
}

/* ---- signals and the loop ----------------------------------------------------------- */

static void read_signals(struct server *s)
{
	struct signalfd_siginfo si;
	bool hup = false;

	/* Drain everything pending: several SIGHUPs make one reload. */
	while (read(s->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			hup = true;
			break;
		case SIGTERM:
		case SIGINT:
			log_info("received %s from pid %u, stopping", strsignal((int)si.ssi_signo),
				 si.ssi_pid);
			s->stop = true;
			break;
		default:
			break;
		}
	}
	if (hup && !s->stop) {
		char reason[512] = "";

		(void)keyd_notify_send("RELOADING=1");
		(void)reload(s, reason, sizeof(reason));
		(void)keyd_notify_send("READY=1");
	}
}

static int setup_signals(struct server *s)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	s->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->signal_fd < 0)
		return -errno;
	/* A peer that closes before its reply arrives must not kill keyd; sends use
	 * MSG_NOSIGNAL as well, this covers anything else. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void drop_idle(struct server *s, uint64_t now)
{
	for (size_t i = 0; i < KEYD_CONFIG_MAX_CLIENTS_MAX; i++) {
		struct client *c = &s->clients[i];

		if (c->fd >= 0 && now - c->last_usec >= CLIENT_IDLE_USEC) {
			log_debug("peer pid=%d uid=%u: idle, connection closed", (int)c->peer.pid,
				  (unsigned)c->peer.uid);
			client_close(s, c);
		}
	}
}

static int loop(struct server *s)
{
	struct pollfd *pfd;
	size_t *slot;

	pfd = calloc(KEYD_CONFIG_MAX_CLIENTS_MAX + 2, sizeof(*pfd));
	slot = calloc(KEYD_CONFIG_MAX_CLIENTS_MAX + 2, sizeof(*slot));
	if (!pfd || !slot) {
		free(pfd);
		free(slot);
		return -ENOMEM;
	}
	while (!s->stop) {
		size_t n = 0;
		int r, timeout;

		pfd[n++] = (struct pollfd){ .fd = s->signal_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){
			/* Full: leave new connections in the backlog (negative fd = ignored). */
			.fd = s->n_clients < s->config->max_clients ? s->listen.fd : -1,
			.events = POLLIN,
		};
		for (size_t i = 0; i < KEYD_CONFIG_MAX_CLIENTS_MAX; i++)
			if (s->clients[i].fd >= 0) {
				slot[n] = i;
				pfd[n++] =
					(struct pollfd){ .fd = s->clients[i].fd, .events = POLLIN };
			}

		/* Wake up for the signer's hold (sign-hold-ms) as well as for the
		 * idle clients, checked at least every 10 s. */
		timeout = keyd_signer_timeout_ms(s->signer);
		if (timeout < 0 || timeout > 10000)
			timeout = 10000;
		r = poll(pfd, n, timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			free(pfd);
			free(slot);
			return log_error_errno(r, "poll: %m");
		}
		if (pfd[0].revents)
			read_signals(s);
		if (s->stop)
			break;
		for (size_t i = 2; i < n; i++) {
			struct client *c = &s->clients[slot[i]];

			if (c->fd != pfd[i].fd || !pfd[i].revents)
				continue;
			if (pfd[i].revents & POLLIN)
				client_read(s, c);
			else /* POLLHUP/POLLERR without data */
				client_close(s, c);
		}
		if (pfd[1].fd >= 0 && pfd[1].revents)
			accept_clients(s);
		drop_idle(s, now_usec());
		keyd_signer_release_idle(s->signer); /* the TPM, after a burst of signatures */
	}
	free(pfd);
	free(slot);
	return 0;
}

int keyd_server_run(const struct keyd_config *config, const char *config_path)
{
	struct server s = {
		.config = config,
		.config_path = config_path,
		.socket_path = config->socket,
		.listen = { .fd = -1 },
		.signal_fd = -1,
		.state_name = "starting",
		.started = time(NULL),
		.started_usec = now_usec(),
		.bad_log = KEYD_RATELIMIT_INIT(5, 10),
	};
	char reason[512] = "";
	int r, ret = 1;

	s.clients = calloc(KEYD_CONFIG_MAX_CLIENTS_MAX, sizeof(*s.clients));
	s.buf = malloc(RECV_BUF_SIZE);
	if (!s.clients || !s.buf) {
		log_error("out of memory");
		goto out;
	}
	for (size_t i = 0; i < KEYD_CONFIG_MAX_CLIENTS_MAX; i++)
		s.clients[i].fd = -1;

	r = setup_signals(&s);
	if (r < 0) {
		log_error_errno(r, "cannot set up signal handling: %m");
		goto out;
	}
	r = load_policy(config, &s.policy, reason, sizeof(reason));
	if (r < 0) {
		log_error("%s; fix it (keyd --test-config shows every error) and start keyd again",
			  reason);
		goto out;
	}
	resolve_group(config, &s.has_group, &s.group);

	/* The socket before provisioning: a second keyd is refused at once, before it
	 * touches the keyrings of the running one. */
	r = keyd_listen_open(s.socket_path, &s.listen);
	if (r == -EADDRINUSE) {
		log_error("another keyd is serving '%s'; stop it first (systemctl stop keyd)",
			  s.socket_path);
		goto out;
	}
	if (r == -EEXIST) {
		log_error("'%s' exists and is not a socket; remove it or set another socket "
			  "in keyd.conf", s.socket_path);
		goto out;
	}
	if (r < 0) {
		log_error_errno(r, "cannot listen on '%s': %m", s.socket_path);
		goto out;
	}

	r = provision_now(&s);
	if (r == -EINTR) {
		read_signals(&s);
		if (s.stop) {
			ret = 0;
			goto out;
		}
	}
	/* Also when degraded: keyd serves status (which says why) and retries on
	 * SIGHUP or PROVISION, rather than leaving the operator with a dead unit. */
	log_info("ready on '%s': %s, generation %llu, %zu keyring(s) in the policy", s.socket_path,
		 s.state_name, (unsigned long long)s.generation, keyd_policy_ring_count(s.policy));
	{
		char notify[200];

		snprintf(notify, sizeof(notify), "READY=1\nSTATUS=%s, generation %llu",
			 s.state_name, (unsigned long long)s.generation);
		r = keyd_notify_send(notify);
		if (r < 0)
			log_debug_errno(r, "sd_notify: %m");
	}

	r = loop(&s);
	(void)keyd_notify_send("STOPPING=1");
	ret = r < 0 ? 1 : 0;
out:
	for (size_t i = 0; s.clients && i < KEYD_CONFIG_MAX_CLIENTS_MAX; i++)
		if (s.clients[i].fd >= 0)
			client_close(&s, &s.clients[i]);
	free(s.clients);
	if (s.listen.fd >= 0) {
		keyd_report_remove(s.socket_path);
		keyd_listen_close(&s.listen, s.socket_path);
	}
	safe_close(s.signal_fd);
	erase_and_free(s.buf, RECV_BUF_SIZE);
	/* The keyrings stay in the kernel: a restarted keyd adopts them. */
	keyd_provision_state_free(s.state);
	keyd_policy_free(s.policy);
	keyd_signer_free(s.signer);
	keyd_request_key_release();
	if (s.own_config_set)
		keyd_config_done(&s.own_config);
	return ret;
}
