/* SPDX-License-Identifier: ISC */
/*
 * throttle - failed logins by address over time: a delay that grows with
 * each failure, then a ban.  One flat table, scanned linearly (it holds
 * at most a few thousand entries and is consulted only on a failed login
 * or at accept while AUTH is on); expired entries are reused.  Pure: no
 * I/O, the time is an argument.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "throttle.h"
#include "xalloc.h"

struct throttle_entry {
	char		addr[64];
	time_t		first;		/* first failure of the window */
	time_t		until;		/* banned until (0 = not banned) */
	unsigned	fails;
};

struct throttle {
	struct throttle_entry	*v;
	size_t			 n;	/* entries in use or expired */
	size_t			 max;
};

struct throttle *
throttle_new(size_t max)
{
	struct throttle *t = xcalloc(1, sizeof(*t));

	t->max = max > 0 ? max : 1;
	return t;
}

void
throttle_free(struct throttle **tp)
{
	if (*tp == NULL)
		return;
	free((*tp)->v);
	free(*tp);
	*tp = NULL;
}

size_t
throttle_size(const struct throttle *t)
{
	return t->n;
}

/* throttle_is_expired - neither banned nor within its window at now. */
static bool
throttle_is_expired(const struct throttle_entry *e, time_t now)
{
	return e->until <= now && e->first + THROTTLE_WINDOW <= now;
}

/* throttle_find - the entry for addr, expiring stale ones on the way;
 * *spare_out gets a free slot, else the oldest entry, NULL if none. */
static struct throttle_entry *
throttle_find(struct throttle *t, const char *addr, time_t now,
    struct throttle_entry **spare_out)
{
	struct throttle_entry *e, *spare = NULL;
	size_t i;

	for (i = 0; i < t->n; i++) {
		e = &t->v[i];
		if (throttle_is_expired(e, now))
			e->addr[0] = '\0';	/* expired: free slot */
		if (addr[0] != '\0' && strcmp(e->addr, addr) == 0)
			return e;
		if (spare == NULL || e->addr[0] == '\0' ||
		    (spare->addr[0] != '\0' && e->first < spare->first))
			spare = e;
	}
	*spare_out = spare;
	return NULL;
}

/* throttle_add - a new entry for addr: a free slot, a new one while the
 * table is below its size, else the oldest. */
static struct throttle_entry *
throttle_add(struct throttle *t, struct throttle_entry *spare,
    const char *addr, time_t now)
{
	if ((spare == NULL || spare->addr[0] != '\0') && t->n < t->max) {
		t->v = xrealloc(t->v, t->n + 1, sizeof(*t->v));
		spare = &t->v[t->n++];
	}
	memset(spare, 0, sizeof(*spare));
	(void)snprintf(spare->addr, sizeof(spare->addr), "%s", addr);
	spare->first = now;
	return spare;
}

int
throttle_fail(struct throttle *t, const char *addr, time_t now,
    unsigned limit, unsigned ban_secs, unsigned *fails_out)
{
	struct throttle_entry *spare = NULL;
	struct throttle_entry *e = throttle_find(t, addr, now, &spare);

	if (e == NULL)
		e = throttle_add(t, spare, addr, now);
	e->fails++;
	*fails_out = e->fails;
	if (e->fails >= limit) {
		e->until = now + (time_t)ban_secs;
		return -1;
	}
	return e->fails < THROTTLE_DELAY_MAX ? (int)e->fails :
	    THROTTLE_DELAY_MAX;
}

bool
throttle_is_banned(struct throttle *t, const char *addr, time_t now)
{
	struct throttle_entry *spare;
	const struct throttle_entry *e = throttle_find(t, addr, now, &spare);

	return e != NULL && e->until > now;
}
