/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gnutls-client: a TLS 1.3 client built on libkeyd-gnutls only (keyd-gnutls.h), as
 * a third-party GnuTLS program would use it. For the gnutls-*.sh scenarios.
 *
 *   gnutls-client (--unix PATH | --tcp HOST:PORT) [--server-name NAME]
 *                 (--key NAME [--socket PATH] --trust-keyring SERIAL | --psk-serial SERIAL)
 *                 [--send TEXT] [--expect TEXT] [--timeout MS] [--delay MS]
 *                 [--priority STRING]
 *
 * x509: trusts the CA certificates of the keyring, presents the certificate keyd
 * holds for key NAME and signs with it in the TPM. PSK: identity and key from the
 * key serial. After the handshake it sends TEXT plus a newline and, with
 * --expect, requires a reply line containing that text. --delay waits between
 * setting up the credentials and connecting (a test stops keyd meanwhile).
 * --priority replaces the TLS 1.3-only priority string (to reach TLS 1.2's RSA
 * PKCS#1 v1.5 client signatures).
 *
 * Prints "ok: <session> auth PSK|certificate [client signature <alg>]" on success.
 * Exit: 0 ok, 1 the handshake or the exchange failed, 2 usage, 3 the credentials
 * could not be set up (keyd refused, keyd not running, no such key ...), with the
 * library's reason on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "keyd-gnutls.h"

#define EXIT_HANDSHAKE 1
#define EXIT_USAGE 2
#define EXIT_SETUP 3

#define PRIO_X509 "NORMAL:-VERS-ALL:+VERS-TLS1.3"
#define PRIO_PSK "NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+DHE-PSK:+PSK"

struct opts {
	const char *unix_path, *tcp, *server_name, *key, *socket, *send, *expect, *priority;
	long trust_ring, psk_serial;
	int timeout_ms, delay_ms;
};

static int usage(void)
{
	fprintf(stderr, "usage: gnutls-client (--unix PATH | --tcp HOST:PORT)\n"
			"       [--server-name NAME]\n"
			"       (--key NAME [--socket PATH] --trust-keyring SERIAL | --psk-serial "
			"SERIAL)\n"
			"       [--send TEXT] [--expect TEXT] [--timeout MS] [--delay MS]\n"
			"       [--priority STRING]\n");
	return EXIT_USAGE;
}

static bool parse_long(const char *s, long *ret)
{
	char *end;

	errno = 0;
	*ret = strtol(s, &end, 0);
	return errno == 0 && end != s && *end == '\0';
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int connect_tcp(const char *hostport)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char host[256];
	const char *colon = strrchr(hostport, ':');
	int fd = -ECONNREFUSED;

	if (!colon || (size_t)(colon - hostport) >= sizeof(host))
		return -EINVAL;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -EHOSTUNREACH;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -ECONNREFUSED;
	}
	freeaddrinfo(res);
	return fd;
}

static int setup_x509(const struct opts *o, gnutls_session_t s,
		      gnutls_certificate_credentials_t *ret)
{
	gnutls_x509_trust_list_t tl = NULL;
	int g;

	g = gnutls_certificate_allocate_credentials(ret);
	if (g < 0)
		return g;
	/* The library compares the certificate's public key with the key's; GnuTLS's
	 * own check would cost a TPM signature (keyd-gnutls.h). */
	gnutls_certificate_set_flags(*ret, GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
	g = gnutls_x509_trust_list_init(&tl, 0);
	if (g < 0)
		return g;
	g = keyd_gnutls_trust_list_from_keyring(tl, (int32_t)o->trust_ring);
	if (g < 0) {
		fprintf(stderr, "gnutls-client: trust: %s (%s)\n", keyd_gnutls_last_error(),
			gnutls_strerror(g));
		gnutls_x509_trust_list_deinit(tl, 1);
		return g;
	}
	if (g == 0) {
		fprintf(stderr, "gnutls-client: keyring %ld holds no CA certificate\n",
			o->trust_ring);
		gnutls_x509_trust_list_deinit(tl, 1);
		return GNUTLS_E_NO_CERTIFICATE_FOUND;
	}
	fprintf(stderr, "gnutls-client: %d CA certificate(s) from keyring %ld\n", g, o->trust_ring);
	gnutls_certificate_set_trust_list(*ret, tl, 0); /* *ret owns tl now */

	g = keyd_gnutls_certificate_set_key(*ret, o->key, o->socket, 0);
	if (g < 0) {
		fprintf(stderr, "gnutls-client: key: %s (%s)\n", keyd_gnutls_last_error(),
			gnutls_strerror(g));
		return g;
	}
	g = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, *ret);
	if (g < 0)
		return g;
	gnutls_session_set_verify_cert(s, o->server_name, 0);
	return gnutls_priority_set_direct(s, o->priority ? o->priority : PRIO_X509, NULL);
}

static int setup_psk(const struct opts *o, gnutls_session_t s,
		     gnutls_psk_client_credentials_t *ret)
{
	char *identity = NULL;
	gnutls_datum_t key = { NULL, 0 };
	int g;

	g = keyd_gnutls_psk_from_serial((int32_t)o->psk_serial, &identity, &key);
	if (g < 0) {
		fprintf(stderr, "gnutls-client: psk: %s (%s)\n", keyd_gnutls_last_error(),
			gnutls_strerror(g));
		return g;
	}
	fprintf(stderr, "gnutls-client: PSK identity '%s', %u bytes\n", identity, key.size);
	g = gnutls_psk_allocate_client_credentials(ret);
	if (g >= 0)
		g = gnutls_psk_set_client_credentials(*ret, identity, &key, GNUTLS_PSK_KEY_RAW);
	keyd_gnutls_psk_free(&identity, &key);
	if (g < 0)
		return g;
	g = gnutls_credentials_set(s, GNUTLS_CRD_PSK, *ret);
	if (g < 0)
		return g;
	return gnutls_priority_set_direct(s, o->priority ? o->priority : PRIO_PSK, NULL);
}

static int exchange(const struct opts *o, gnutls_session_t s)
{
	char buf[4096];
	size_t have = 0;
	ssize_t n;

	if (!o->send)
		return 0;
	snprintf(buf, sizeof(buf), "%s\n", o->send);
	do
		n = gnutls_record_send(s, buf, strlen(buf));
	while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
	if (n < 0) {
		fprintf(stderr, "gnutls-client: send: %s\n", gnutls_strerror((int)n));
		return -1;
	}
	if (!o->expect)
		return 0;
	while (have < sizeof(buf) - 1) {
		n = gnutls_record_recv(s, buf + have, sizeof(buf) - 1 - have);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0) {
			fprintf(stderr, "gnutls-client: receive: %s\n",
				n == 0 ? "the server closed" : gnutls_strerror((int)n));
			return -1;
		}
		have += (size_t)n;
		buf[have] = '\0';
		if (strstr(buf, o->expect)) {
			printf("reply: %s", buf);
			return 0;
		}
	}
	fprintf(stderr, "gnutls-client: the reply does not contain '%s': %s\n", o->expect, buf);
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "unix", required_argument, NULL, 'u' },
		{ "tcp", required_argument, NULL, 't' },
		{ "server-name", required_argument, NULL, 'n' },
		{ "key", required_argument, NULL, 'k' },
		{ "socket", required_argument, NULL, 'S' },
		{ "trust-keyring", required_argument, NULL, 'r' },
		{ "psk-serial", required_argument, NULL, 'p' },
		{ "send", required_argument, NULL, 's' },
		{ "expect", required_argument, NULL, 'e' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "delay", required_argument, NULL, 'D' },
		{ "priority", required_argument, NULL, 'P' },
		{}
	};
	struct opts o = { .timeout_ms = 10000 };
	gnutls_session_t s = NULL;
	gnutls_certificate_credentials_t x509 = NULL;
	gnutls_psk_client_credentials_t psk = NULL;
	long v;
	int c, fd, g, rc = EXIT_HANDSHAKE;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		switch (c) {
		case 'u': o.unix_path = optarg; break;
		case 't': o.tcp = optarg; break;
		case 'n': o.server_name = optarg; break;
		case 'k': o.key = optarg; break;
		case 'S': o.socket = optarg; break;
		case 'r':
			if (!parse_long(optarg, &o.trust_ring))
				return usage();
			break;
		case 'p':
			if (!parse_long(optarg, &o.psk_serial))
				return usage();
			break;
		case 's': o.send = optarg; break;
		case 'e': o.expect = optarg; break;
		case 'P': o.priority = optarg; break;
		case 'T':
			if (!parse_long(optarg, &v) || v <= 0 || v > 600000)
				return usage();
			o.timeout_ms = (int)v;
			break;
		case 'D':
			if (!parse_long(optarg, &v) || v < 0 || v > 600000)
				return usage();
			o.delay_ms = (int)v;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc || !o.unix_path == !o.tcp || !o.key == !o.psk_serial ||
	    (o.key && !o.trust_ring))
		return usage();

	g = gnutls_init(&s, GNUTLS_CLIENT);
	if (g < 0)
		goto gnutls_fail;
	if (o.server_name) {
		g = gnutls_server_name_set(s, GNUTLS_NAME_DNS, o.server_name,
					   strlen(o.server_name));
		if (g < 0)
			goto gnutls_fail;
	}
	g = o.key ? setup_x509(&o, s, &x509) : setup_psk(&o, s, &psk);
	if (g < 0) {
		rc = EXIT_SETUP;
		goto out;
	}

	if (o.delay_ms > 0)
		usleep((useconds_t)o.delay_ms * 1000);
	fd = o.unix_path ? connect_unix(o.unix_path) : connect_tcp(o.tcp);
	if (fd < 0) {
		fprintf(stderr, "gnutls-client: cannot connect to '%s': %s\n",
			o.unix_path ? o.unix_path : o.tcp, strerror(-fd));
		goto out;
	}
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, (unsigned)o.timeout_ms);
	do
		g = gnutls_handshake(s);
	while (g < 0 && !gnutls_error_is_fatal(g));
	if (g < 0) {
		fprintf(stderr, "gnutls-client: handshake failed: %s", gnutls_strerror(g));
		if (g == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
			gnutls_datum_t why = { NULL, 0 };

			if (gnutls_certificate_verification_status_print(
				    gnutls_session_get_verify_cert_status(s), GNUTLS_CRT_X509, &why,
				    0) >= 0)
				fprintf(stderr, ": %s", why.data);
			gnutls_free(why.data);
		}
		if (keyd_gnutls_last_error()[0])
			fprintf(stderr, " (keyd: %s)", keyd_gnutls_last_error());
		fputc('\n', stderr);
		goto close_fd;
	}
	{
		char *desc = gnutls_session_get_desc(s);
		gnutls_sign_algorithm_t sa = gnutls_sign_algorithm_get_client(s);

		printf("ok: %s auth %s", desc ? desc : "?",
		       gnutls_auth_get_type(s) == GNUTLS_CRD_PSK ? "PSK" : "certificate");
		if (o.key)
			printf(" client signature %s", gnutls_sign_get_name(sa) ?: "?");
		printf("\n");
		gnutls_free(desc);
	}
	fflush(stdout);
	if (exchange(&o, s) == 0)
		rc = 0;
	gnutls_bye(s, GNUTLS_SHUT_WR);
close_fd:
	close(fd);
	goto out;
gnutls_fail:
	fprintf(stderr, "gnutls-client: GnuTLS: %s\n", gnutls_strerror(g));
out:
	if (s)
		gnutls_deinit(s);
	if (x509)
		gnutls_certificate_free_credentials(x509);
	if (psk)
		gnutls_psk_free_client_credentials(psk);
	return rc;
}
