/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A private swtpm for the unit tests that talk to a real TPM (test-tpm, test-tpm-held,
 * test-tpm-batch, test-tpm-session): started on a unix socket in its own temp dir, stopped by pid.
 * When swtpm is not installed or does not start, swtpm_pid stays 0 and the tests
 * that need it skip with a message.
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char swtpm_dir[64];
static char swtpm_tcti[128];
static pid_t swtpm_pid;

static bool in_path(const char *cmd)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "command -v %s >/dev/null 2>&1", cmd);
	return system(buf) == 0;
}

/* 0 with swtpm running (or absent: swtpm_pid == 0), -1 on a broken start. */
static int swtpm_fixture_start(const char *name)
{
	char cmd[1024], pidfile[128], buf[32];
	FILE *f;

	if (!in_path("swtpm"))
		return 0;
	snprintf(swtpm_dir, sizeof(swtpm_dir), "/tmp/keyd-test-%s.XXXXXX", name);
	if (!mkdtemp(swtpm_dir))
		return -1;
	snprintf(pidfile, sizeof(pidfile), "%s/pid", swtpm_dir);
	snprintf(cmd, sizeof(cmd),
		 "swtpm socket --tpm2 --server type=unixio,path=%s/sock "
		 "--ctrl type=unixio,path=%s/sock.ctrl --tpmstate dir=%s "
		 "--flags not-need-init,startup-clear --daemon --pid file=%s",
		 swtpm_dir, swtpm_dir, swtpm_dir, pidfile);
	if (system(cmd) != 0)
		return 0; /* the tests skip */
	for (int i = 0; i < 100; i++) {
		struct stat st;

		if (stat(pidfile, &st) == 0 && st.st_size > 0)
			break;
		usleep(20000);
	}
	f = fopen(pidfile, "re");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	swtpm_pid = (pid_t)strtol(buf, NULL, 10);
	snprintf(swtpm_tcti, sizeof(swtpm_tcti), "swtpm:path=%s/sock", swtpm_dir);
	setenv("TPM2TOOLS_TCTI", swtpm_tcti, 1);
	return 0;
}

static void swtpm_fixture_stop(void)
{
	char cmd[128];

	if (swtpm_pid > 0) {
		kill(swtpm_pid, SIGTERM);
		for (int i = 0; i < 50 && kill(swtpm_pid, 0) == 0; i++)
			usleep(20000);
		if (kill(swtpm_pid, 0) == 0)
			kill(swtpm_pid, SIGKILL);
	}
	if (swtpm_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", swtpm_dir);
		(void)!system(cmd);
	}
}
