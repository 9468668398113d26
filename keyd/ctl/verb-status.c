/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-ctl status: what the running keyd has provisioned. The summary comes
 * from the daemon (a STATUS request, which any user may send); the details
 * (keyrings, serials, generations, seal state, links, keys and their source
 * entries, problems) from the report keyd publishes next to its socket, which
 * root and the enrollment group may read. Without a daemon (or with --offline
 * or --root) it shows the store instead, as keyd-ctl list does.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "ctl.h"
#include "macro.h"
#include "parse.h"
#include "status-render.h"

static const char status_usage[] =
	"Usage: keyd-ctl status [--json] [--socket PATH] [--timeout SECONDS] [--offline]\n"
	"  Show what the running keyd provisioned: keyrings with serials, generations,\n"
	"  sealing, links, each key and its source entry in the store, and problems.\n"
	"  --socket PATH    keyd's socket (default $KEYD_SOCKET, else " KEYD_PROTO_SOCKET_PATH ")\n"
	"  --timeout SECS   how long to wait for keyd (default 30)\n"
	"  --offline        do not ask keyd: summarise the store (also implied by --root)\n";

static void print_uptime(uint64_t s)
{
	if (s >= 86400)
		printf("%llud %lluh", (unsigned long long)(s / 86400),
		       (unsigned long long)(s % 86400 / 3600));
	else if (s >= 3600)
		printf("%lluh %llum", (unsigned long long)(s / 3600),
		       (unsigned long long)(s % 3600 / 60));
	else
		printf("%llum %llus", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
}

static void print_human(const char *socket, const struct keyd_client_status *st, const char *report,
			size_t report_len, int report_r)
{
	printf("keyd %s on %s: %s", st->daemon_version, socket, st->state);
	if (st->uptime != UINT64_MAX) {
		printf(", up ");
		print_uptime(st->uptime);
	}
	printf("\n");
	if (st->keyring_count != UINT32_MAX)
		printf("keyrings in the policy: %u\n", st->keyring_count);
	if (st->last_time) {
		char when[64] = "?";
		time_t t = (time_t)st->last_time;
		struct tm tm;

		if (localtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		printf("last provisioning: %s, %s\n", when,
		       st->last_errno == 0 ? "succeeded" : strerror((int)st->last_errno));
	}
	if (report_r == -ENOENT || report_r == -EACCES) {
		printf("details: %s; they are shown to root and the enrollment group\n",
		       report_r == -ENOENT ? "no report published yet" : "not readable by you");
		return;
	}
	if (report_r < 0) {
		printf("details: the report next to the socket is unusable (%s)\n",
		       strerror(-report_r));
		return;
	}
	printf("\n");
	if (status_render(report, report_len, stdout) < 0)
		printf("details: the report next to the socket is not valid JSON\n");
}

static void print_json(const struct keyd_client_status *st, const char *report, size_t report_len,
		       int report_r)
{
	struct keyd_json j;

	keyd_json_init(&j, stdout);
	keyd_json_begin_object(&j);
	keyd_json_key(&j, "daemon");
	keyd_json_begin_object(&j);
	keyd_json_kv_bool(&j, "running", true);
	keyd_json_kv_string(&j, "version", st->daemon_version);
	keyd_json_kv_uint(&j, "proto_max", st->proto_max);
	keyd_json_kv_string(&j, "state", st->state);
	if (st->uptime != UINT64_MAX)
		keyd_json_kv_uint(&j, "uptime", st->uptime);
	if (st->keyring_count != UINT32_MAX)
		keyd_json_kv_uint(&j, "keyring_count", st->keyring_count);
	if (st->last_errno != UINT32_MAX)
		keyd_json_kv_uint(&j, "last_errno", st->last_errno);
	if (st->last_time)
		keyd_json_kv_uint(&j, "last_time", st->last_time);
	keyd_json_end_object(&j);
	if (report_r < 0) {
		keyd_json_kv_string(&j, "report_error", strerror(-report_r));
		keyd_json_key(&j, "report");
		keyd_json_null(&j);
		keyd_json_end_object(&j);
		keyd_json_finish(&j);
		return;
	}
	/* The report is a JSON document already (checked by status_render()): it
	 * goes in as it is. */
	keyd_json_key(&j, "report");
	fflush(stdout);
	fwrite(report, 1, report_len, stdout);
	printf("}\n");
}

static int offline(struct ctl_ctx *c)
{
	char *argv[] = { (char *)"list", NULL };

	if (!c->json)
		printf("keyd is not asked (offline): the store in '%s'\n\n", c->root);
	return ctl_verb_list(c, 1, argv);
}

int ctl_verb_status(struct ctl_ctx *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "offline", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct keyd_client_status st;
	_cleanup_free_ char *report = NULL;
	const char *socket = NULL;
	keyd_client *client = NULL;
	size_t report_len = 0;
	bool off = c->offline;
	uint32_t timeout = 30;
	int opt, r, report_r;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (opt) {
		case 's':
			socket = optarg;
			break;
		case 't':
			if (keyd_parse_u32(optarg, 10, &timeout) < 0 || timeout == 0 ||
			    timeout > 3600)
				return ctl_usage_error(status_usage,
						       "status: --timeout takes 1..3600 seconds, "
						       "not '%s'",
						       optarg);
			break;
		case 'o':
			off = true;
			break;
		case 'h':
			fputs(status_usage, stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_usage_error(status_usage, "status: bad option");
		}
	}
	if (optind < argc)
		return ctl_usage_error(status_usage, "status takes no arguments");
	if (off)
		return offline(c);

	socket = keyd_client_socket_path(socket);
	r = keyd_client_connect(socket, (int)timeout * 1000, &client);
	if (r == -ENOENT || r == -ECONNREFUSED) {
		log_error("keyd is not running (nobody serves '%s'); start it with 'systemctl "
			  "start keyd', or run 'keyd-ctl status --offline' to see the store", socket);
		return CTL_EXIT_FAILED;
	}
	if (r < 0) {
		log_error_errno(r, "cannot reach keyd at '%s': %m%s", socket,
				r == -EACCES ? "; check the socket's permissions" : "");
		return CTL_EXIT_FAILED;
	}
	r = keyd_client_status(client, &st);
	if (r < 0) {
		log_error_errno(r, "keyd at '%s' did not answer STATUS: %s", socket,
				keyd_client_last_error(client));
		keyd_client_free(client);
		return CTL_EXIT_FAILED;
	}
	keyd_client_free(client);

	report_r = keyd_client_read_report(socket, &report, &report_len);
	if (report_r >= 0 && status_render(report, report_len, NULL) < 0)
		report_r = -EBADMSG;
	if (c->json)
		print_json(&st, report, report_len, report_r);
	else
		print_human(socket, &st, report, report_len, report_r);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_error("cannot write the status to stdout");
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}
