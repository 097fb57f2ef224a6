/* SPDX-License-Identifier: ISC */
/*
 * relay_state - what inlet-relay knows of each recipient of a queued
 * message (queue/state/NAME) and when to try again: the record's text
 * form, its transitions and the retry schedule.  Pure: the caller
 * passes the time and the random numbers, and does the file I/O.
 *
 * A recipient is pending (not tried), sent, deferred (until when, why)
 * or failed (why; "reported" once its DSN is made or known unneeded).
 * The message leaves the queue when every recipient is sent or failed
 * and reported.  Per message: when its delay warning was sent, if it was.
 */
#ifndef INLET_RELAY_STATE_H
#define INLET_RELAY_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

#define RELAY_STATE_REPLY_MAX	512

enum relay_rstate {
	RELAY_R_PENDING,
	RELAY_R_SENT,
	RELAY_R_DEFERRED,
	RELAY_R_FAILED,
};

struct relay_rcpt {
	char		*addr;		/* no <> */
	enum relay_rstate state;
	unsigned	 attempts;	/* tries that ended in a deferral */
	time_t		 when;		/* deferred: due; else: last change */
	bool		 reported;	/* failed: DSN made or not needed */
	char		 reply[RELAY_STATE_REPLY_MAX];	/* the last reply */
};

struct relay_state {
	struct relay_rcpt *r;
	size_t		 n;
	time_t		 warned;	/* delay warning sent then; 0 = not */
};

/* The schedule: backoff from min doubling to max, give up after life. */
struct relay_sched {
	unsigned	 min;		/* seconds before the first retry */
	unsigned	 max;		/* the cap */
	unsigned	 lifetime;	/* queue_lifetime */
};

/* relay_state_init - n recipients (addrs copied), all pending. */
void	relay_state_init(struct relay_state *st, const char *const *addrs,
	    size_t n);

/* relay_state_clear - free; the state becomes empty. */
void	relay_state_clear(struct relay_state *st);

/*
 * relay_state_parse - the record's text (relay_state_fmt's) into st,
 * which must already hold the envelope's recipients (relay_state_init):
 * each line "<addr> STATE ATTEMPTS WHEN REPORTED REPLY" updates the
 * recipient at its position, which must have that address; a line
 * "warned WHEN" sets st->warned (records without it, as older versions
 * wrote them, read as not warned).  0, or -1
 * with *err_out ("line 2: ...", static) and st unchanged in meaning.
 */
int	relay_state_parse(struct relay_state *st, const char *text,
	    size_t len, const char **err_out);

/* relay_state_fmt - st as text appended to b. */
void	relay_state_fmt(struct buf *b, const struct relay_state *st);

/* relay_state_name - "pending", "sent", "deferred", "failed". */
const char *relay_state_name(enum relay_rstate s);

/*
 * relay_sched_delay - the wait after the attempts-th deferral: min
 * doubled attempts - 1 times, capped at max, plus up to a fifth more
 * from rnd (jitter, so deferred messages do not retry in step).
 */
unsigned relay_sched_delay(const struct relay_sched *s, unsigned attempts,
	    uint32_t rnd);

/*
 * relay_state_sent, relay_state_defer, relay_state_fail - recipient i's
 * outcome at now with reply (one line, copied): sent; deferred until
 * now + relay_sched_delay(); failed (not yet reported).
 */
void	relay_state_sent(struct relay_state *st, size_t i, time_t now,
	    const char *reply);
void	relay_state_defer(struct relay_state *st, size_t i, time_t now,
	    const struct relay_sched *s, uint32_t rnd, const char *reply);
void	relay_state_fail(struct relay_state *st, size_t i, time_t now,
	    const char *reply);

/*
 * relay_state_expire - deferred or pending recipients of a message that
 * arrived at arrival and is older than s->lifetime at now become failed
 * ("4.4.7 ... gave up ..."; the last reply kept after it).  Returns how
 * many.
 */
size_t	relay_state_expire(struct relay_state *st, time_t arrival,
	    time_t now, const struct relay_sched *s);

/*
 * relay_state_warn_at - when the delay warning of a message that arrived
 * at arrival is due, with delay_warning_time delay: arrival + delay while
 * a recipient is deferred and no warning was sent; -1 when none is due
 * (delay 0 = off, already warned, nothing deferred).
 */
time_t	relay_state_warn_at(const struct relay_state *st, time_t arrival,
	    unsigned delay);

/* relay_state_is_due - pending, or deferred and due at now. */
bool	relay_state_is_due(const struct relay_state *st, size_t i,
	    time_t now);

/*
 * relay_state_next - when something is to be done next: 0 when a
 * recipient is pending or a failure unreported, the earliest deferral
 * otherwise, -1 when the message is finished (relay_state_is_done).
 */
time_t	relay_state_next(const struct relay_state *st);

/* relay_state_is_done - every recipient sent, or failed and reported. */
bool	relay_state_is_done(const struct relay_state *st);

#endif
