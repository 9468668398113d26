/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A fixed-window rate limit for log messages a peer can provoke (malformed
 * messages), so a flood cannot fill the journal or slow the event loop down.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct keyd_ratelimit {
	uint64_t interval_usec;
	unsigned burst;
	uint64_t begin_usec;
	unsigned count;
	unsigned suppressed; /* events refused in the windows since the last allowed one */
};

#define KEYD_RATELIMIT_INIT(interval_sec, burst_)                                                  \
	{ .interval_usec = (uint64_t)(interval_sec) * 1000000u, .burst = (burst_) }

/* true when one more event may be logged now. *ret_suppressed (may be NULL) gets the
 * number refused since the previous allowed one, to be mentioned in the message. */
bool keyd_ratelimit_test(struct keyd_ratelimit *rl, unsigned *ret_suppressed);
