/* SPDX-License-Identifier: ISC */
/*
 * relay_state - the per-recipient delivery record of inlet-relay and
 * its retry schedule.  Text form, one line per recipient in the
 * envelope's order:
 *
 *	<addr> STATE ATTEMPTS WHEN REPORTED REPLY...
 *	<bob@remote.example> deferred 2 1764800000 no 450 4.2.0 try later
 *
 * STATE pending|sent|deferred|failed, WHEN seconds since the epoch,
 * REPORTED yes|no, REPLY the rest of the line (may be empty).  Before
 * them, once the message's delay warning is sent, a line "warned WHEN"
 * (absent from older records: not warned).  Pure: no clock, no
 * randomness, no I/O of its own.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "relay_state.h"
#include "xalloc.h"

void
relay_state_init(struct relay_state *st, const char *const *addrs, size_t n)
{
	size_t i;

	st->n = n;
	st->warned = 0;
	st->r = xcalloc(n == 0 ? 1 : n, sizeof(*st->r));
	for (i = 0; i < n; i++) {
		st->r[i].addr = xstrdup(addrs[i]);
		st->r[i].state = RELAY_R_PENDING;
	}
}

void
relay_state_clear(struct relay_state *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		free(st->r[i].addr);
	free(st->r);
	st->r = NULL;
	st->n = 0;
	st->warned = 0;
}

const char *
relay_state_name(enum relay_rstate s)
{
	switch (s) {
	case RELAY_R_PENDING:
		return "pending";
	case RELAY_R_SENT:
		return "sent";
	case RELAY_R_DEFERRED:
		return "deferred";
	case RELAY_R_FAILED:
		return "failed";
	}
	log_fatal("can't happen: relay state %d", (int)s);
}

/* state_parse - a state word into *out; 0 or -1. */
static int
state_parse(const char *w, size_t n, enum relay_rstate *out)
{
	static const enum relay_rstate all[] = {
		RELAY_R_PENDING, RELAY_R_SENT, RELAY_R_DEFERRED,
		RELAY_R_FAILED,
	};
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strlen(relay_state_name(all[i])) == n &&
		    memcmp(relay_state_name(all[i]), w, n) == 0) {
			*out = all[i];
			return 0;
		}
	return -1;
}

/* word - the next space-separated word of [*p, end); its length. */
static size_t
word(const char **p, const char *end, const char **w_out)
{
	const char *s = *p, *e;

	e = memchr(s, ' ', (size_t)(end - s));
	if (e == NULL)
		e = end;
	*w_out = s;
	*p = e < end ? e + 1 : end;
	return (size_t)(e - s);
}

/* num - a decimal word into *out (at most 18 digits); 0 or -1. */
static int
num(const char *w, size_t n, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (n == 0 || n > 18)
		return -1;
	for (i = 0; i < n; i++) {
		if (w[i] < '0' || w[i] > '9')
			return -1;
		v = v * 10 + (w[i] - '0');
	}
	*out = v;
	return 0;
}

/* line_parse - one recipient line into r (whose address it must be). */
static int
line_parse(struct relay_rcpt *r, const char *p, const char *end)
{
	struct relay_rcpt v = *r;
	const char *w;
	size_t n;
	int64_t att, when;

	n = word(&p, end, &w);
	if (n != strlen(r->addr) + 2 || w[0] != '<' || w[n - 1] != '>' ||
	    memcmp(w + 1, r->addr, n - 2) != 0)
		return -1;
	n = word(&p, end, &w);
	if (state_parse(w, n, &v.state) != 0)
		return -1;
	n = word(&p, end, &w);
	if (num(w, n, &att) != 0 || att > UINT32_MAX)
		return -1;
	n = word(&p, end, &w);
	if (num(w, n, &when) != 0)
		return -1;
	n = word(&p, end, &w);
	if ((n == 3 && memcmp(w, "yes", 3) == 0) ||
	    (n == 2 && memcmp(w, "no", 2) == 0))
		v.reported = n == 3;
	else
		return -1;
	v.attempts = (unsigned)att;
	v.when = (time_t)when;
	(void)snprintf(v.reply, sizeof(v.reply), "%.*s", (int)(end - p), p);
	*r = v;
	return 0;
}

/* warned_parse - a "warned WHEN" line into st->warned; 0, or -1 when
 * the line is not one. */
static int
warned_parse(struct relay_state *st, const char *p, const char *end)
{
	static const char kw[] = "warned ";
	int64_t when;

	if ((size_t)(end - p) < sizeof(kw) - 1 ||
	    memcmp(p, kw, sizeof(kw) - 1) != 0 ||
	    num(p + sizeof(kw) - 1, (size_t)(end - p) - (sizeof(kw) - 1),
	    &when) != 0 || when == 0)
		return -1;
	st->warned = (time_t)when;
	return 0;
}

int
relay_state_parse(struct relay_state *st, const char *text, size_t len,
    const char **err_out)
{
	static char err[64];
	const char *p = text, *end = text + len, *nl, *why = NULL;
	size_t i = 0, line;

	for (line = 1; p < end && why == NULL; line++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (warned_parse(st, p, nl) == 0) {
			/* the message's own line, anywhere */
		} else if (i >= st->n)
			why = "more recipients than the envelope";
		else if (line_parse(&st->r[i], p, nl) != 0)
			why = "bad recipient state";
		else
			i++;
		p = nl < end ? nl + 1 : end;
	}
	if (why == NULL)
		return 0;
	(void)snprintf(err, sizeof(err), "line %zu: %s", line - 1, why);
	*err_out = err;
	return -1;
}

void
relay_state_fmt(struct buf *b, const struct relay_state *st)
{
	size_t i;

	if (st->warned != 0 && buf_addf(b, "warned %" PRId64 "\n",
	    (int64_t)st->warned) != 0)
		log_fatal("can't happen: relay state too big");
	for (i = 0; i < st->n; i++) {
		const struct relay_rcpt *r = &st->r[i];

		if (buf_addf(b, "<%s> %s %u %" PRId64 " %s %s\n", r->addr,
		    relay_state_name(r->state), r->attempts,
		    (int64_t)r->when, r->reported ? "yes" : "no",
		    r->reply) != 0)
			log_fatal("can't happen: relay state too big");
	}
}

unsigned
relay_sched_delay(const struct relay_sched *s, unsigned attempts,
    uint32_t rnd)
{
	uint64_t d = s->min == 0 ? 1 : s->min;
	unsigned i;

	for (i = 1; i < attempts && d < s->max; i++)
		d *= 2;
	if (d > s->max)
		d = s->max;
	d += d * (rnd % 1000u) / 5000u;
	return d > UINT32_MAX ? UINT32_MAX : (unsigned)d;
}

/* set_reply - a recipient's last reply, one line. */
static void
set_reply(struct relay_rcpt *r, const char *reply)
{
	size_t i;

	(void)snprintf(r->reply, sizeof(r->reply), "%s", reply);
	for (i = 0; r->reply[i] != '\0'; i++)
		if (r->reply[i] == '\n' || r->reply[i] == '\r')
			r->reply[i] = ' ';
}

/* rcpt_at - recipient i, which must exist. */
static struct relay_rcpt *
rcpt_at(struct relay_state *st, size_t i)
{
	if (i >= st->n)
		log_fatal("can't happen: recipient %zu of %zu", i, st->n);
	return &st->r[i];
}

void
relay_state_sent(struct relay_state *st, size_t i, time_t now,
    const char *reply)
{
	struct relay_rcpt *r = rcpt_at(st, i);

	r->state = RELAY_R_SENT;
	r->when = now;
	set_reply(r, reply);
}

void
relay_state_defer(struct relay_state *st, size_t i, time_t now,
    const struct relay_sched *s, uint32_t rnd, const char *reply)
{
	struct relay_rcpt *r = rcpt_at(st, i);

	if (r->attempts < UINT32_MAX)
		r->attempts++;
	r->state = RELAY_R_DEFERRED;
	r->when = now + (time_t)relay_sched_delay(s, r->attempts, rnd);
	set_reply(r, reply);
}

void
relay_state_fail(struct relay_state *st, size_t i, time_t now,
    const char *reply)
{
	struct relay_rcpt *r = rcpt_at(st, i);

	r->state = RELAY_R_FAILED;
	r->when = now;
	r->reported = false;
	set_reply(r, reply);
}

size_t
relay_state_expire(struct relay_state *st, time_t arrival, time_t now,
    const struct relay_sched *s)
{
	char why[RELAY_STATE_REPLY_MAX + 64];
	size_t i, n = 0;

	if (now - arrival < (time_t)s->lifetime)
		return 0;
	for (i = 0; i < st->n; i++) {
		struct relay_rcpt *r = &st->r[i];

		if (r->state != RELAY_R_PENDING &&
		    r->state != RELAY_R_DEFERRED)
			continue;
		(void)snprintf(why, sizeof(why), "4.4.7 gave up after "
		    "queue_lifetime%s%s", r->reply[0] != '\0' ? "; last: " :
		    "", r->reply);
		relay_state_fail(st, i, now, why);
		n++;
	}
	return n;
}

time_t
relay_state_warn_at(const struct relay_state *st, time_t arrival,
    unsigned delay)
{
	size_t i;

	if (delay == 0 || st->warned != 0)
		return -1;
	for (i = 0; i < st->n; i++)
		if (st->r[i].state == RELAY_R_DEFERRED)
			return arrival + (time_t)delay;
	return -1;
}

bool
relay_state_is_due(const struct relay_state *st, size_t i, time_t now)
{
	const struct relay_rcpt *r = &st->r[i];

	return r->state == RELAY_R_PENDING ||
	    (r->state == RELAY_R_DEFERRED && r->when <= now);
}

time_t
relay_state_next(const struct relay_state *st)
{
	time_t next = -1;
	size_t i;

	for (i = 0; i < st->n; i++) {
		const struct relay_rcpt *r = &st->r[i];

		switch (r->state) {
		case RELAY_R_PENDING:
			return 0;
		case RELAY_R_FAILED:
			if (!r->reported)
				return 0;
			break;
		case RELAY_R_DEFERRED:
			if (next == -1 || r->when < next)
				next = r->when;
			break;
		case RELAY_R_SENT:
			break;
		}
	}
	return next;
}

bool
relay_state_is_done(const struct relay_state *st)
{
	return relay_state_next(st) == -1;
}
