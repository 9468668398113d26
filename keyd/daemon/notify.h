/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Readiness and status for the service manager: the sd_notify datagram
 * protocol, written by hand so keyd needs no libsystemd. The protocol (a
 * datagram of "KEY=value" lines to the AF_UNIX socket named by $NOTIFY_SOCKET,
 * a leading '@' meaning the abstract namespace) is described in systemd's
 * sd_notify(3).
 */
#pragma once

/* Send text (e.g. "READY=1\nSTATUS=ready") when $NOTIFY_SOCKET is set. Returns 1
 * sent, 0 not running under a service manager, -errno on failure (the caller
 * decides whether that matters; keyd logs it at debug level). */
int keyd_notify_send(const char *text);
