/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-handshaked: a handshake agent for the kernel's net/handshake upcall.
 *
 * Concurrency model: one thread in the parent, poll() over the netlink listener
 * (the tlshd multicast group) and a signalfd (SIGCHLD, SIGTERM, SIGINT). Each
 * "ready" notification forks a child that accepts one request on its own netlink
 * socket (the kernel installs the handshake socket, and links the request's
 * keyring, into the accepting process only), runs the handshake, reports done and
 * exits. The parent holds no handshake state, so no locks are needed, and a crash
 * or a stall in one handshake cannot block another: every child is bounded by an
 * alarm derived from the request's timeout (the default SIGALRM action kills it;
 * the kernel then times the request out itself). This is tlshd's model.
 *
 * Configuration: /etc/keyd/handshaked.conf, "key = value" lines (see
 * keyd-handshaked(8)); --test-config checks it and prints the effective values.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "config.h"
#include "crypto.h"
#include "fileio.h"
#include "keyring.h"
#include "log.h"
#include "macro.h"
#include "netlink.h"
#include "notify.h"
#include "parse.h"
#include "tls.h"

#define HS_CONFIG_DEFAULT_PATH "/etc/keyd/handshaked.conf"
#define HS_CONFIG_FILE_MAX (64 * 1024)
#define HS_CONFIG_LINE_MAX 1024
#define HS_KEYRING_NAME_MAX 255
/* Handshakes served at once; more ready notifications wait for the kernel to time out. */
#define HS_CHILDREN_MAX 64
/* A child's lifetime when the kernel gave no timeout, and the slack on top of one. */
#define HS_DEFAULT_TIMEOUT_MS 60000u
#define HS_TIMEOUT_SLACK_S 2u
#define HS_TIMEOUT_MAX_MS (10u * 60u * 1000u)

/* Keyrings tlshd links into its session keyring at start (ktls-utils), which
 * keyd's provisioning fills; missing ones are skipped. */
static const char *const default_keyrings[] = { ".nvme", ".nfs", ".nfsd" };

struct hs_config {
	char *keyrings[KEYD_TLS_KEYRINGS_MAX];
	size_t n_keyrings;
	char *ca_keyring;
	int log_level;
	bool lock_memory;
};

static void hs_config_done(struct hs_config *c)
{
	for (size_t i = 0; i < c->n_keyrings; i++)
		free(c->keyrings[i]);
	free(c->ca_keyring);
	*c = (struct hs_config){ .log_level = LOG_INFO };
}

static bool keyring_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > HS_KEYRING_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
			return false;
	return true;
}

/* Strict "key = value" parser: unknown or repeated keys, bad values, long lines
 * and control characters are errors, each logged as FILE:LINE. */
static int hs_config_parse(struct hs_config *c, const char *path, char *text)
{
	unsigned seen_keyrings = 0, seen_ca = 0, seen_level = 0, seen_lock = 0;
	unsigned lineno = 0;
	int errors = 0;

	/* strsep, not strtok: blank lines must count for the line numbers. */
	for (char *rest = text, *line; (line = strsep(&rest, "\n"));) {
		char *key, *value, *eq, *end;

		lineno++;
		if (!rest && *line == '\0')
			break; /* after the final newline */
		if (strlen(line) > HS_CONFIG_LINE_MAX) {
			log_error("%s:%u: line longer than %d bytes", path, lineno,
				  HS_CONFIG_LINE_MAX);
			errors++;
			continue;
		}
		for (char *p = line; *p; p++)
			if ((unsigned char)*p < 0x20 && *p != '\t') {
				log_error("%s:%u: control character in the line", path, lineno);
				errors++;
				goto next;
			}
		key = line + strspn(line, " \t");
		if (*key == '\0' || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			log_error("%s:%u: expected 'key = value'", path, lineno);
			errors++;
			continue;
		}
		for (end = eq; end > key && (end[-1] == ' ' || end[-1] == '\t'); end--)
			;
		*end = '\0';
		value = eq + 1 + strspn(eq + 1, " \t");
		for (end = value + strlen(value);
		     end > value && (end[-1] == ' ' || end[-1] == '\t'); end--)
			;
		*end = '\0';

		if (streq(key, "keyrings")) {
			char *s2 = NULL;

			if (seen_keyrings++)
				goto repeated;
			for (char *n = strtok_r(value, " \t,", &s2); n;
			     n = strtok_r(NULL, " \t,", &s2)) {
				if (!keyring_name_ok(n) ||
				    c->n_keyrings >= KEYD_TLS_KEYRINGS_MAX - 4) {
					log_error(
						"%s:%u: bad keyring name, or more than 12, at '%s'",
						path, lineno, n);
					errors++;
					break;
				}
				c->keyrings[c->n_keyrings] = strdup(n);
				if (!c->keyrings[c->n_keyrings])
					return -ENOMEM;
				c->n_keyrings++;
			}
		} else if (streq(key, "ca-keyring")) {
			if (seen_ca++)
				goto repeated;
			if (!keyring_name_ok(value)) {
				log_error("%s:%u: bad keyring name '%s'", path, lineno, value);
				errors++;
				continue;
			}
			c->ca_keyring = strdup(value);
			if (!c->ca_keyring)
				return -ENOMEM;
		} else if (streq(key, "log-level")) {
			int l;

			if (seen_level++)
				goto repeated;
			l = keyd_config_log_level_from_string(value);
			if (l < 0) {
				log_error("%s:%u: log-level '%s': use err, warning, notice, "
					  "info or debug",
					  path, lineno, value);
				errors++;
				continue;
			}
			c->log_level = l;
		} else if (streq(key, "lock-memory")) {
			if (seen_lock++)
				goto repeated;
			if (streq(value, "yes"))
				c->lock_memory = true;
			else if (streq(value, "no"))
				c->lock_memory = false;
			else {
				log_error("%s:%u: lock-memory '%s': use yes or no", path, lineno,
					  value);
				errors++;
				continue;
			}
		} else {
			log_error("%s:%u: unknown key '%s' (keyrings, ca-keyring, log-level, "
				  "lock-memory)",
				  path, lineno, key);
			errors++;
		}
		continue;
repeated:
		log_error("%s:%u: '%s' given twice", path, lineno, key);
		errors++;
next:;
	}
	return errors ? -EBADMSG : 0;
}

static int hs_config_load(struct hs_config *c, const char *path, bool must_exist)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = keyd_read_file(path, HS_CONFIG_FILE_MAX, &text, &len);
	if (r == -ENOENT && !must_exist)
		return 0;
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %m", path);
	if (strlen(text) != len)
		return log_error_errno(-EBADMSG, "'%s': NUL byte in the file", path);
	return hs_config_parse(c, path, text);
}

/* ---- keyrings ---------------------------------------------------------------------- */

struct hs_keyrings {
	keyd_serial_t ca; /* 0 = none */
};

/* Give the agent its own session keyring with the configured keyrings linked
 * in, as tlshd does, so a server-side identity search finds their PSKs. */
static int hs_keyrings_setup(const struct hs_config *c, struct hs_keyrings *ret)
{
	keyd_serial_t session, ring;
	int r;

	r = keyd_keyring_join_session(NULL, &session);
	if (r < 0)
		return log_error_errno(r, "cannot create a session keyring: %m");
	for (size_t i = 0; i < ELEMENTSOF(default_keyrings) + c->n_keyrings; i++) {
		const char *name = i < ELEMENTSOF(default_keyrings)
					   ? default_keyrings[i]
					   : c->keyrings[i - ELEMENTSOF(default_keyrings)];

		r = keyd_keyring_find_by_name(name, &ring);
		if (r >= 0)
			r = keyd_keyring_link(ring, session);
		if (r < 0 && i >= ELEMENTSOF(default_keyrings))
			log_warning_errno(r,
					  "keyring '%s' from the configuration: %m; "
					  "its keys will not be found (is keyd provisioning it?)",
					  name);
		else if (r < 0)
			log_debug_errno(r, "keyring '%s': %m", name);
	}
	ret->ca = 0;
	if (c->ca_keyring) {
		r = keyd_keyring_find_by_name(c->ca_keyring, &ret->ca);
		if (r < 0)
			log_warning_errno(r,
					  "ca-keyring '%s': %m; x509 clients will refuse every "
					  "server until it exists",
					  c->ca_keyring);
	}
	return 0;
}

/* ---- memory locking ------------------------------------------------------------------- */

/* The agent may serve the device its own files live on (root over NVMe/TCP): a handshake
 * that needs a page from that device while the device reconnects waits for itself, and the
 * kernel times the reconnect out (-ETIMEDOUT, seen in the root VM test). So everything the
 * handshake path reads lazily is loaded first, then every page is pinned, as iscsid does.
 * Children get no lock of their own (fork(2)), but the code and library pages they share with
 * the parent stay resident under the parent's lock; their own pages are anonymous. */
static int hs_lock_memory(void)
{
	uint8_t digest[64];
	const char *reason = NULL;
	int r;

	r = keyd_tls_preload(&reason);
	if (r < 0)
		return log_error_errno(r, "cannot initialise GnuTLS before locking memory: %s",
				       reason ? reason : "?");
	/* libcrypto reads its configuration (openssl.cnf) and loads providers at first use. */
	r = keyd_crypto_hash(KEYD_HASH_SHA256, "", 0, digest);
	if (r >= 0)
		r = keyd_crypto_hmac(KEYD_HASH_SHA384, digest, 32, "", 0, digest);
	explicit_bzero(digest, sizeof(digest));
	if (r < 0)
		return log_error_errno(r, "cannot initialise libcrypto before locking memory: %m");
	if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
		return log_error_errno(-errno,
				       "lock-memory: mlockall: %m; the agent needs CAP_IPC_LOCK or "
				       "a RLIMIT_MEMLOCK above its size (LimitMEMLOCK=infinity), "
				       "or set lock-memory = no if it does not serve its own root");
	log_info("memory locked: handshakes need no page from disk");
	return 0;
}

/* ---- one handshake (child) ----------------------------------------------------------- */

/* The statuses the kernel's consumers understand (shared/reference/handshake.md). */
static const char *status_name(int status)
{
	switch (status) {
	case 0:
		return "ok";
	case EACCES:
		return "EACCES";
	case ENOMEM:
		return "ENOMEM";
	case EINVAL:
		return "EINVAL";
	case ENOKEY:
		return "ENOKEY";
	case EIO:
		return "EIO";
	case EKEYREJECTED:
		return "EKEYREJECTED";
	default:
		return "error";
	}
}

static void hs_child(const struct hs_keyrings *rings, int took_fd)
{
	struct keyd_hs_request req;
	struct keyd_tls_params p = { 0 };
	struct keyd_tls_result res;
	keyd_serial_t psk_rings[3], trust[2], remote[1];
	size_t n_psk_rings = 0, n_trust = 0, n_remote = 0;
	const char *reason = NULL, *peer;
	char what[KEYD_PSK_IDENTITY_MAX + 64];
	uint32_t timeout_ms;
	int r;

	alarm((HS_DEFAULT_TIMEOUT_MS / 1000) + HS_TIMEOUT_SLACK_S);
	r = keyd_hs_netlink_accept(&req, &reason);
	if (r == -EAGAIN) {
		close(took_fd);
		_exit(0); /* the queue is empty: another child took the request */
	}
	/* The queue may hold more (requests queued while no agent ran, or notifications
	 * that coalesced): tell the parent to start another accepter now. */
	if (r != -EAGAIN && write(took_fd, "1", 1) != 1)
		log_debug_errno(-errno, "cannot ask for another accepter: %m");
	close(took_fd);
	if (r < 0) {
		log_error_errno(r, "cannot accept a handshake request: %s%s%m",
				reason ? reason : "", reason ? ": " : "");
		_exit(1);
	}
	timeout_ms = req.timeout_ms ? req.timeout_ms : HS_DEFAULT_TIMEOUT_MS;
	if (timeout_ms > HS_TIMEOUT_MAX_MS)
		timeout_ms = HS_TIMEOUT_MAX_MS;
	alarm(timeout_ms / 1000 + HS_TIMEOUT_SLACK_S);

	p.fd = req.sockfd;
	p.server = req.message_type == KEYD_HS_MSG_TYPE_SERVERHELLO;
	p.peername = req.peername;
	p.timeout_ms = timeout_ms;
	p.install = KEYD_TLS_INSTALL_KTLS;
	/* The request's keyring (6.17+), the process keyring where the kernel linked
	 * it, then ours. */
	if (req.keyring)
		psk_rings[n_psk_rings++] = req.keyring;
	psk_rings[n_psk_rings++] = KEYD_KEYRING_PROCESS;
	psk_rings[n_psk_rings++] = KEYD_KEYRING_SESSION;
	if (rings->ca)
		trust[n_trust++] = rings->ca;
	if (req.keyring)
		trust[n_trust++] = req.keyring;
	switch (req.auth_mode) {
	case KEYD_HS_AUTH_PSK:
		p.auth = KEYD_TLS_AUTH_PSK;
		p.psk_serials = req.peerids;
		p.n_psk_serials = req.n_peerids;
		p.psk_keyrings = psk_rings;
		p.n_psk_keyrings = n_psk_rings;
		break;
	case KEYD_HS_AUTH_X509:
		p.auth = KEYD_TLS_AUTH_X509;
		if (req.n_certs > 0) {
			p.cert = req.certs[0].cert;
			p.privkey = req.certs[0].privkey;
		}
		p.key_source = KEYD_TLS_KEY_KEYRING_DER;
		p.trust_keyrings = trust;
		p.n_trust_keyrings = n_trust;
		break;
	default:
		p.auth = KEYD_TLS_AUTH_UNAUTH;
		p.trust_keyrings = trust;
		p.n_trust_keyrings = n_trust;
		break;
	}

	r = keyd_tls_handshake(&p, &res);
	if (r >= 0 && p.auth == KEYD_TLS_AUTH_PSK && res.psk_serial)
		/* nvme reports the PSK it used (tls_key) from remote-auth. */
		remote[n_remote++] = res.psk_serial;
	else if (r >= 0 && res.peer_der) {
		char desc[16 + KEYD_HS_PEERNAME_MAX];
		keyd_serial_t k;
		int e;

		/* tlshd's convention: the verified peer certificate as an asymmetric key. */
		snprintf(desc, sizeof(desc), "TLS x509 %s",
			 req.peername[0] ? req.peername : "peer");
		e = keyd_keyring_add_asymmetric(KEYD_KEYRING_USER, desc, res.peer_der,
						res.peer_der_len, &k, NULL, 0);
		if (e >= 0)
			remote[n_remote++] = k;
		else
			log_warning_errno(e,
					  "peer '%s': cannot hand the verified certificate to the "
					  "kernel: %s",
					  req.peername,
					  keyd_keyring_add_error_reason("asymmetric", e));
	}

	/* One line per handshake: role, peer, mode, what identified it, outcome. */
	peer = req.peername[0] ? req.peername : "(no name)";
	if (res.identity[0])
		snprintf(what, sizeof(what), " identity '%s'", res.identity);
	else if (res.peer_dn[0])
		snprintf(what, sizeof(what), " peer certificate '%s'", res.peer_dn);
	else if (p.cert)
		snprintf(what, sizeof(what), " certificate key %d", (int)p.cert);
	else
		what[0] = '\0';
	if (res.status == 0)
		log_info("handshake %s peer '%s' mode %s%s: ok, %s, %s", p.server ? "server" : "client",
			 peer, keyd_hsmsg_auth_mode_to_string(req.auth_mode), what, res.cipher,
			 res.ktls ? "kTLS" : "no kTLS");
	else
		log_error("handshake %s peer '%s' mode %s%s: %s (%s)", p.server ? "server" : "client",
			  peer, keyd_hsmsg_auth_mode_to_string(req.auth_mode), what,
			  status_name(res.status), res.reason);

	r = keyd_hs_netlink_done(req.sockfd, (unsigned)res.status, remote, n_remote);
	if (r < 0)
		log_error_errno(r, "cannot report the handshake result to the kernel: %m");
	keyd_tls_result_done(&res);
	close(req.sockfd);
	_exit(r < 0 ? 1 : 0);
}

/* ---- the agent ------------------------------------------------------------------------ */

/* Start one accepter child. */
static int hs_spawn(const struct hs_keyrings *rings, struct keyd_hs_listener *l, int sfd,
		    const int took[2], const sigset_t *mask)
{
	pid_t pid = fork();

	if (pid < 0)
		return log_error_errno(-errno, "fork: %m");
	if (pid == 0) {
		sigprocmask(SIG_UNBLOCK, mask, NULL);
		close(sfd);
		close(took[0]);
		close(keyd_hs_netlink_fd(l));
		hs_child(rings, took[1]);
	}
	return 0;
}

static int hs_serve(const struct hs_keyrings *rings)
{
	struct keyd_hs_listener *l = NULL;
	_cleanup_close_ int sfd = -1;
	int took[2] = { -1, -1 };
	unsigned children = 0, wanted = 1; /* one accepter at start drains what waited for us */
	sigset_t mask;
	int r;

	r = keyd_hs_netlink_listen(&l);
	if (r == -ENOENT)
		return log_error_errno(r, "the kernel has no 'handshake' netlink family "
					  "(CONFIG_NET_HANDSHAKE, Linux 6.5+); nothing to serve");
	if (r < 0)
		return log_error_errno(r, "cannot join the handshake family's tlshd group: %m "
					  "(needs CAP_NET_ADMIN)");
	/* Children write a byte here after each accept: "there may be more, start another". */
	if (pipe(took) < 0 || fcntl(took[0], F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(took[1], F_SETFD, FD_CLOEXEC) < 0 || fcntl(took[0], F_SETFL, O_NONBLOCK) < 0) {
		r = log_error_errno(-errno, "pipe: %m");
		goto out;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		r = log_error_errno(-errno, "signalfd: %m");
		goto out;
	}
	log_info("serving TLS handshakes for the kernel");
	/* Ready only now that we listen (and, with lock-memory, are locked): the initramfs
	 * agent's handover (ExecStartPost=) must not retire it before. */
	r = keyd_notify_send("READY=1\nSTATUS=serving TLS handshakes");
	if (r < 0)
		log_debug_errno(r, "sd_notify: %m");

	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = keyd_hs_netlink_fd(l), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = took[0], .events = POLLIN },
		};
		unsigned ready = 0;
		char buf[64];
		ssize_t n;

		/* Ready notifications are hints: every one, and every accept a child made,
		 * starts one accepter; an accepter that finds the queue empty just exits. */
		while (wanted > 0 && children < HS_CHILDREN_MAX) {
			if (hs_spawn(rings, l, sfd, took, &mask) < 0)
				break;
			children++;
			wanted--;
		}
		if (wanted > 0 && children >= HS_CHILDREN_MAX)
			log_warning("%d handshakes already running; new requests wait",
				    HS_CHILDREN_MAX);

		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = log_error_errno(-errno, "poll: %m");
			goto out;
		}
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			bool stop = false;

			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
					stop = true;
			for (;;) {
				int st;
				pid_t pid = waitpid(-1, &st, WNOHANG);

				if (pid <= 0)
					break;
				children--;
				if (WIFSIGNALED(st))
					log_error("handshake process %d %s (signal %d); "
						  "the kernel times the "
						  "request out",
						  (int)pid,
						  WTERMSIG(st) == SIGALRM ? "ran past its timeout"
									  : "crashed",
						  WTERMSIG(st));
			}
			if (stop) {
				log_info("stopping");
				r = 0;
				goto out;
			}
		}
		if (pfd[2].revents & POLLIN)
			while ((n = read(took[0], buf, sizeof(buf))) > 0)
				wanted += (unsigned)n;
		if (pfd[0].revents & POLLIN) {
			r = keyd_hs_netlink_dispatch(l, &ready);
			if (r < 0)
				log_warning_errno(r, "reading handshake notifications: %m");
			wanted += ready;
		}
		if (wanted > 4 * HS_CHILDREN_MAX)
			wanted = 4 * HS_CHILDREN_MAX; /* hints, not a debt */
	}
out:
	safe_close(took[0]);
	safe_close(took[1]);
	keyd_hs_netlink_free(l);
	return r;
}

/* ---- test mode: one client handshake on a TCP connection -------------------------- */

struct hs_test {
	const char *connect;
	const char *listen; /* server role: accept one connection here */
	keyd_serial_t psk_ring; /* server role: the keyring searched for the client's identity */
	keyd_serial_t psk[KEYD_HS_PEERIDS_MAX];
	size_t n_psk;
	keyd_serial_t cert, key, ca;
	const char *peername;
	uint32_t timeout_ms;
	const char *send, *expect;
	bool x509;
};

/* Connect to HOST:PORT, or with listen_once, accept one connection there. */
static int tcp_connect(const char *spec, bool listen_once)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(spec, ':');
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	uint32_t port;
	_cleanup_close_ int fd = -1;
	size_t hl;

	if (!colon || colon == spec || (hl = (size_t)(colon - spec)) >= sizeof(host))
		return -EINVAL;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if (keyd_parse_u32(colon + 1, 10, &port) < 0 || port == 0 || port > 65535)
		return -EINVAL;
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (listen_once) {
		int one = 1, cfd;

		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 1) < 0)
			return -errno;
		/* Tests wait for this line before they connect. */
		printf("listening=%s\n", spec);
		fflush(stdout);
		cfd = accept(fd, NULL, NULL);
		if (cfd < 0)
			return -errno;
		(void)fcntl(cfd, F_SETFD, FD_CLOEXEC);
		return cfd;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0)
		return -errno;
	return TAKE_FD(fd);
}

/* Test mode: application data through the session (kTLS or the software record layer). */
static int hs_test_send(int fd, struct keyd_tls_result *res, const char *text)
{
	size_t len = strlen(text);

	return res->ktls ? keyd_write_all(fd, text, len) : keyd_tls_soft_send(fd, res, text, len);
}

/* Read records until want bytes are in (the peer may split them); buf gets a NUL. */
static int hs_test_recv(int fd, struct keyd_tls_result *res, char *buf, size_t size, size_t want)
{
	size_t got = 0;
	int r = 0;

	while (r >= 0 && got < want) {
		size_t n = 0;

		if (res->ktls) {
			ssize_t k = read(fd, buf + got, size - 1 - got);

			r = k < 0 ? -errno : k == 0 ? -ECONNRESET : 0;
			n = k > 0 ? (size_t)k : 0;
		} else {
			r = keyd_tls_soft_recv(fd, res, buf + got, size - 1 - got, &n);
		}
		got += n;
	}
	buf[got] = '\0';
	return r;
}

static int hs_test_run(const struct hs_test *t)
{
	struct keyd_tls_params p = { 0 };
	struct keyd_tls_result res;
	_cleanup_close_ int fd = -1;
	const char *addr = t->listen ? t->listen : t->connect;
	char buf[4096];
	int r;

	fd = tcp_connect(addr, t->listen != NULL);
	if (fd < 0)
		return log_error_errno(fd, "cannot %s '%s' (HOST:PORT with a numeric address): %m",
				       t->listen ? "accept a connection on" : "connect to", addr);
	p.fd = fd;
	p.peername = t->peername;
	p.timeout_ms = t->timeout_ms;
	p.install = KEYD_TLS_INSTALL_KTLS_OR_SOFT;
	if (t->x509) {
		p.auth = KEYD_TLS_AUTH_X509;
		p.cert = t->cert;
		p.privkey = t->key;
		p.trust_keyrings = &t->ca;
		p.n_trust_keyrings = t->ca ? 1 : 0;
	} else if (t->listen) {
		p.server = true;
		p.auth = KEYD_TLS_AUTH_PSK;
		p.psk_keyrings = &t->psk_ring;
		p.n_psk_keyrings = 1;
	} else {
		p.auth = KEYD_TLS_AUTH_PSK;
		p.psk_serials = t->psk;
		p.n_psk_serials = t->n_psk;
	}
	r = keyd_tls_handshake(&p, &res);
	printf("status=%s\n", status_name(res.status));
	if (r < 0) {
		log_error("handshake %s '%s' failed: %s (%s)", t->listen ? "on" : "with", addr,
			  status_name(res.status), res.reason);
		keyd_tls_result_done(&res);
		return r;
	}
	printf("cipher=%s\nktls=%s\n", res.cipher, res.ktls ? "kernel" : "soft");
	if (res.identity[0])
		printf("identity=%s\n", res.identity);
	if (res.peer_dn[0])
		printf("peer=%s\n", res.peer_dn);
	fflush(stdout);
	/* A client speaks first and reads the answer; a server reads first, then answers. */
	if (t->send && !t->listen)
		r = hs_test_send(fd, &res, t->send);
	if (r >= 0 && (t->expect || (t->send && !t->listen))) {
		r = hs_test_recv(fd, &res, buf, sizeof(buf), t->expect ? strlen(t->expect) : 1);
		if (r >= 0) {
			printf("received=%s\n", buf);
			fflush(stdout);
			if (t->expect && !streq(buf, t->expect)) {
				log_error("received '%s', expected '%s'", buf, t->expect);
				r = -EBADMSG;
			}
		}
	}
	if (r >= 0 && t->send && t->listen)
		r = hs_test_send(fd, &res, t->send);
	if (r < 0 && r != -EBADMSG)
		log_error_errno(r, "data exchange after the handshake failed: %m");
	keyd_tls_result_done(&res);
	return r;
}

/* ---- main ------------------------------------------------------------------------------ */

static int parse_serial(const char *opt, const char *s, keyd_serial_t *ret)
{
	uint32_t v;

	if (keyd_parse_u32(s, 0, &v) < 0 || v == 0 || v > INT32_MAX)
		return log_error_errno(-EINVAL, "%s '%s': not a key serial", opt, s);
	*ret = (keyd_serial_t)v;
	return 0;
}

static void help(void)
{
	printf("Usage: keyd-handshaked [OPTIONS]\n"
	       "TLS handshake agent for the kernel's net/handshake upcall.\n\n"
	       "  -c, --config=PATH      configuration file (default " HS_CONFIG_DEFAULT_PATH ")\n"
	       "      --test-config      check the configuration, print it, and exit\n"
	       "  -d, --debug            log to stderr at debug level\n"
	       "      --lock-memory      load GnuTLS's files, then mlockall() (lock-memory = yes)\n"
	       "      --test-handshake   one PSK or x509 client handshake on a TCP connection:\n"
	       "        --connect=ADDR:PORT --psk-serial=N |\n"
	       "        --x509 --cert-serial=N --key-serial=N\n"
	       "        --ca-keyring=N --peername=NAME --timeout=MS --send=TEXT --expect=TEXT\n"
	       "        or, as a PSK server: --listen=ADDR:PORT --psk-keyring=N\n"
	       "  -h, --help, --version\n");
}

enum {
	OPT_TEST_CONFIG = 0x100,
	OPT_TEST_HANDSHAKE,
	OPT_CONNECT,
	OPT_PSK_SERIAL,
	OPT_X509,
	OPT_CERT_SERIAL,
	OPT_KEY_SERIAL,
	OPT_CA_KEYRING,
	OPT_PEERNAME,
	OPT_TIMEOUT,
	OPT_SEND,
	OPT_EXPECT,
	OPT_VERSION,
	OPT_LOCK_MEMORY,
	OPT_LISTEN,
	OPT_PSK_KEYRING,
};

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test-config", no_argument, NULL, OPT_TEST_CONFIG },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "lock-memory", no_argument, NULL, OPT_LOCK_MEMORY },
		{ "test-handshake", no_argument, NULL, OPT_TEST_HANDSHAKE },
		{ "connect", required_argument, NULL, OPT_CONNECT },
		{ "psk-serial", required_argument, NULL, OPT_PSK_SERIAL },
		{ "x509", no_argument, NULL, OPT_X509 },
		{ "cert-serial", required_argument, NULL, OPT_CERT_SERIAL },
		{ "key-serial", required_argument, NULL, OPT_KEY_SERIAL },
		{ "ca-keyring", required_argument, NULL, OPT_CA_KEYRING },
		{ "peername", required_argument, NULL, OPT_PEERNAME },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "send", required_argument, NULL, OPT_SEND },
		{ "expect", required_argument, NULL, OPT_EXPECT },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "psk-keyring", required_argument, NULL, OPT_PSK_KEYRING },
		{}
	};
	const char *config_path = HS_CONFIG_DEFAULT_PATH;
	bool test_config = false, test_handshake = false, debug = false, explicit_config = false;
	bool lock_memory = false;
	struct hs_config cfg = { .log_level = LOG_INFO };
	struct hs_keyrings rings;
	struct hs_test t = { 0 };
	int opt, r;

	keyd_log_open("keyd-handshaked", KEYD_LOG_AUTO);
	keyd_log_parse_env();
	/* A peer that goes away mid-handshake must cost an error, not the process. */
	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt_long(argc, argv, "c:dh", options, NULL)) >= 0) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			explicit_config = true;
			break;
		case 'd':
			debug = true;
			break;
		case 'h':
			help();
			return 0;
		case OPT_VERSION:
			printf("keyd-handshaked " KEYD_VERSION "\n");
			return 0;
		case OPT_LOCK_MEMORY:
			lock_memory = true;
			break;
		case OPT_TEST_CONFIG:
			test_config = true;
			break;
		case OPT_TEST_HANDSHAKE:
			test_handshake = true;
			break;
		case OPT_CONNECT:
			t.connect = optarg;
			break;
		case OPT_PSK_SERIAL:
			if (t.n_psk >= KEYD_HS_PEERIDS_MAX) {
				log_error("at most %d --psk-serial options", KEYD_HS_PEERIDS_MAX);
				return 2;
			}
			if (parse_serial("--psk-serial", optarg, &t.psk[t.n_psk++]) < 0)
				return 2;
			break;
		case OPT_X509:
			t.x509 = true;
			break;
		case OPT_CERT_SERIAL:
			if (parse_serial("--cert-serial", optarg, &t.cert) < 0)
				return 2;
			break;
		case OPT_KEY_SERIAL:
			if (parse_serial("--key-serial", optarg, &t.key) < 0)
				return 2;
			break;
		case OPT_CA_KEYRING:
			if (parse_serial("--ca-keyring", optarg, &t.ca) < 0)
				return 2;
			break;
		case OPT_PEERNAME:
			t.peername = optarg;
			break;
		case OPT_TIMEOUT:
			if (keyd_parse_u32(optarg, 10, &t.timeout_ms) < 0 ||
			    t.timeout_ms > HS_TIMEOUT_MAX_MS) {
				log_error("--timeout '%s': milliseconds, at most %u", optarg,
					  HS_TIMEOUT_MAX_MS);
				return 2;
			}
			break;
		case OPT_SEND:
			t.send = optarg;
			break;
		case OPT_EXPECT:
			t.expect = optarg;
			break;
		case OPT_LISTEN:
			t.listen = optarg;
			break;
		case OPT_PSK_KEYRING:
			if (parse_serial("--psk-keyring", optarg, &t.psk_ring) < 0)
				return 2;
			break;
		default:
			fprintf(stderr, "Try 'keyd-handshaked --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (debug) {
		keyd_log_open("keyd-handshaked", KEYD_LOG_STDERR);
		keyd_log_set_max_level(LOG_DEBUG);
	}

	if (test_handshake) {
		/* A command run by a person or a test: messages belong on stderr. */
		keyd_log_open("keyd-handshaked", KEYD_LOG_STDERR);
		if ((t.listen && (t.connect || t.x509 || t.n_psk > 0 || !t.psk_ring)) ||
		    (!t.listen && (!t.connect || (!t.x509 && t.n_psk == 0) ||
				   (t.x509 && t.n_psk > 0) || t.psk_ring)) ||
		    (t.send && strlen(t.send) > 4000)) {
			log_error("--test-handshake needs --connect and either --psk-serial or "
				  "--x509, or --listen and --psk-keyring");
			return 2;
		}
		return hs_test_run(&t) < 0 ? 1 : 0;
	}

	if (test_config)
		keyd_log_open("keyd-handshaked", KEYD_LOG_STDERR);
	r = hs_config_load(&cfg, config_path, explicit_config || test_config);
	if (r < 0) {
		if (r == -EBADMSG)
			log_error("configuration '%s' is invalid; see keyd-handshaked(8)",
				  config_path);
		hs_config_done(&cfg);
		return 1;
	}
	if (!debug)
		keyd_log_set_max_level(cfg.log_level);
	if (test_config) {
		printf("keyrings =");
		for (size_t i = 0; i < cfg.n_keyrings; i++)
			printf(" %s", cfg.keyrings[i]);
		printf("\nca-keyring = %s\nlog-level = %s\nlock-memory = %s\n",
		       cfg.ca_keyring ? cfg.ca_keyring : "",
		       keyd_config_log_level_to_string(cfg.log_level),
		       cfg.lock_memory || lock_memory ? "yes" : "no");
		hs_config_done(&cfg);
		return 0;
	}
	r = hs_keyrings_setup(&cfg, &rings);
	/* Before joining the netlink group: the first request may be the root's reconnect. */
	if (r >= 0 && (cfg.lock_memory || lock_memory))
		r = hs_lock_memory();
	if (r >= 0)
		r = hs_serve(&rings);
	hs_config_done(&cfg);
	return r < 0 ? 1 : 0;
}
