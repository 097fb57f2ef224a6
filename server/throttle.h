/* SPDX-License-Identifier: ISC */
/*
 * throttle - the failed-login throttle: a bounded table of client
 * addresses and their recent AUTH failures.  Given an address and the
 * time it answers with the delay before the 535, or a ban once the limit
 * is reached.  Core module: pure, no I/O, no clock (the caller passes
 * the time), no logging.
 */
#ifndef INLET_THROTTLE_H
#define INLET_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define THROTTLE_WINDOW		600	/* failures counted over 10 minutes */
#define THROTTLE_DELAY_MAX	5	/* seconds */
#define THROTTLE_MAX		4096	/* addresses remembered */

struct throttle;

/* throttle_new - an empty table remembering at most max addresses (when
 * it is full the entry with the oldest first failure is reused).  Dies
 * on OOM. */
struct throttle *throttle_new(size_t max);

/* throttle_free - NULL-safe, NULLs *tp. */
void	throttle_free(struct throttle **tp);

/*
 * throttle_fail - count a failed login from addr at now.  Returns the
 * delay in seconds before the failure is answered (1, 2, ... up to
 * THROTTLE_DELAY_MAX: one more each failure within THROTTLE_WINDOW of
 * the first), or -1 when this failure reaches limit: the address is then
 * banned until now + ban_secs.  *fails_out gets the count.
 */
int	throttle_fail(struct throttle *t, const char *addr, time_t now,
	    unsigned limit, unsigned ban_secs, unsigned *fails_out);

/* throttle_is_banned - whether addr is banned at now. */
bool	throttle_is_banned(struct throttle *t, const char *addr, time_t now);

/* throttle_size - how many entries the table holds (live or expired). */
size_t	throttle_size(const struct throttle *t);

#endif
