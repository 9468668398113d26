/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <time.h>

#include "ratelimit.h"

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

bool keyd_ratelimit_test(struct keyd_ratelimit *rl, unsigned *ret_suppressed)
{
	uint64_t now = now_usec();

	if (rl->begin_usec == 0 || now - rl->begin_usec >= rl->interval_usec) {
		rl->begin_usec = now;
		rl->count = 0;
	}
	if (rl->count >= rl->burst) {
		if (rl->suppressed < UINT32_MAX)
			rl->suppressed++;
		return false;
	}
	rl->count++;
	if (ret_suppressed)
		*ret_suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}
