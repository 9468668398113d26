/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The keyd daemon's socket server and event loop (server.c): provisions once,
 * announces readiness, serves the socket (docs/protocol.md) and reloads on
 * SIGHUP or a RELOAD message until SIGTERM or SIGINT.
 */
#pragma once

#include "config.h"

/* Run the daemon. config is the loaded configuration (keyd.conf plus the
 * environment); it is borrowed for the whole run, and on reload the server
 * builds its own new copy from config_path (NULL: KEYD_CONFIG_DEFAULT_PATH) and
 * the environment, so the caller's struct is never modified. Blocks SIGHUP,
 * SIGTERM and SIGINT in the calling thread (they are read from a signalfd).
 * Logs through keyd_log (the caller opened it). Returns the process exit code:
 * 0 after SIGTERM/SIGINT, 1 when the daemon could not start: the policy is not
 * valid, or the socket cannot be served (another keyd is live on it, or a
 * non-socket is in the way). A provisioning pass that fails (no TPM, store
 * unreadable) does not stop keyd: it serves in state "degraded", logs why, and
 * retries on SIGHUP or PROVISION. The reasons are logged. */
int keyd_server_run(const struct keyd_config *config, const char *config_path);
