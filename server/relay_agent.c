/* SPDX-License-Identifier: ISC */
/*
 * relay_agent - inlet-relay's scheduler on the event loop.  A scan looks
 * at every queued message not in flight: recipients past queue_lifetime
 * fail, failed ones get their DSN, finished messages leave, due ones
 * become the round's work list.  Up to relay_connections connections
 * (slots) take messages from that list, one at a time each, so a message
 * is in flight on one connection at most.  A round starts with one
 * connection, the probe; once it is ready the others open.  When the
 * host fails with no working connection to it, the round moves to the
 * next smarthost (one probe again), and after the last one the work not
 * tried is deferred: a smarthost that is down sees one connection per
 * round, never N.  A failure beside working connections (a provider's
 * cap on sessions) only lowers the round's connection count.  Each
 * transaction's verdicts are saved (fsync) before anything else happens,
 * so a crash sends a recipient again at most once and loses none.  A
 * timer wakes the agent for the next retry; relay_agent_kick() for new
 * mail and signals.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dsn.h"
#include "log.h"
#include "relay_agent.h"
#include "relay_queue.h"
#include "xalloc.h"

#define RELAY_MSG_MAX	(1024u * 1024 * 1024)	/* what we will read */

/* A message whose state could not be saved (a full disk): kept here so
 * that what was sent is not sent again while the process lives. */
struct relay_unsaved {
	char			*name;
	struct relay_state	 st;
};

/* One connection to a smarthost and the message in flight on it. */
struct relay_slot {
	struct relay_agent	*a;
	struct relay_conn	*conn;		/* NULL: the slot is free */
	size_t			 host;		/* relay_hosts index */
	char			 host_name[256];
	bool			 up;		/* it got ready: the host works */
	/* The message in flight: */
	bool			 busy;
	struct relay_msg	 cur;
	int			 fd;		/* its file, streamed */
	struct smtp_client_msg	 cmsg;
	struct smtp_client_rcpt	*crcpts;
	size_t			*cmap;		/* crcpts[k] is st.r[cmap[k]] */
};

struct relay_agent {
	struct event_base	*base;
	struct evdns_base	*dns;
	struct relay_env	 env;
	struct event		*scan_ev;
	struct event		*timer;
	struct relay_slot	*slots;		/* RELAY_SLOTS_MAX */
	size_t			 nconns;	/* slots with a connection */
	/* The round (from a scan until no connection is left): */
	size_t			 host;		/* where new connections go */
	bool			 host_up;	/* a connection to it got ready */
	size_t			 limit;		/* connections at most */
	char			**work;		/* due messages' names */
	size_t			 nwork, iwork;
	bool			 flush, flush_work, rescan;
	bool			 stopping;
	void			(*stop_done)(void *);
	void			*stop_arg;
	unsigned long		 seq;		/* DSN file names */
	struct relay_unsaved	*unsaved;
	size_t			 nunsaved;
};

#define RELAY_SLOTS_MAX	100	/* relay_connections' bound in conf.c */

static void	fill(struct relay_agent *a);

/* sched - the schedule from the config. */
static struct relay_sched
sched(const struct relay_agent *a)
{
	return (struct relay_sched){ a->env.cfg->relay_retry_min,
	    a->env.cfg->relay_retry_max, a->env.cfg->queue_lifetime };
}

/* log_rcpt - the Postfix-style line for one recipient's outcome. */
static void
log_rcpt(const struct relay_msg *m, size_t i, const char *relay, time_t now)
{
	const struct relay_rcpt *r = &m->st.r[i];
	char dsn[16];

	(void)dsn_status(r->reply, dsn, sizeof(dsn));
	if (r->state == RELAY_R_DEFERRED)
		dsn[0] = '4';
	else if (r->state == RELAY_R_SENT)
		dsn[0] = '2';
	log_event(r->state == RELAY_R_SENT ? LOG_LEVEL_INFO : LOG_LEVEL_WARN,
	    NULL, "event=delivery", LOG_TOK("id", m->env.queue_id),
	    LOG_ADDR("to", r->addr), LOG_Q("relay", relay),
	    LOG_SECS("delay", (long long)(now - m->arrival)),
	    LOG_TOK("status", r->state == RELAY_R_SENT ? "sent" :
	    r->state == RELAY_R_DEFERRED ? "deferred" : "bounced"),
	    LOG_TOK("dsn", dsn), LOG_Q("reply", r->reply));
}

/* state_copy - dst (the same recipients) takes src's outcomes. */
static void
state_copy(struct relay_state *dst, const struct relay_state *src)
{
	size_t i;

	for (i = 0; i < dst->n && i < src->n; i++) {
		char *addr = dst->r[i].addr;

		dst->r[i] = src->r[i];
		dst->r[i].addr = addr;
	}
}

/* unsaved_find - the index of name's unsaved state, or nunsaved. */
static size_t
unsaved_find(const struct relay_agent *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->nunsaved; i++)
		if (strcmp(a->unsaved[i].name, name) == 0)
			break;
	return i;
}

/* unsaved_drop - forget entry i. */
static void
unsaved_drop(struct relay_agent *a, size_t i)
{
	free(a->unsaved[i].name);
	relay_state_clear(&a->unsaved[i].st);
	a->unsaved[i] = a->unsaved[--a->nunsaved];
}

/* unsaved_put - remember m's state, which is not on disk. */
static void
unsaved_put(struct relay_agent *a, const struct relay_msg *m)
{
	size_t i = unsaved_find(a, m->name), k;
	const char **addrs = xcalloc(m->st.n + 1, sizeof(*addrs));

	if (i == a->nunsaved) {
		a->unsaved = xrealloc(a->unsaved, a->nunsaved + 1,
		    sizeof(*a->unsaved));
		a->unsaved[a->nunsaved++].name = xstrdup(m->name);
	} else
		relay_state_clear(&a->unsaved[i].st);
	for (k = 0; k < m->st.n; k++)
		addrs[k] = m->st.r[k].addr;
	relay_state_init(&a->unsaved[i].st, addrs, m->st.n);
	state_copy(&a->unsaved[i].st, &m->st);
	free(addrs);
}

/*
 * unsaved_apply - a message read from disk takes the state it has in
 * memory only, which is saved now if the disk lets it.
 */
static void
unsaved_apply(struct relay_agent *a, struct relay_msg *m)
{
	size_t i = unsaved_find(a, m->name);

	if (i == a->nunsaved)
		return;
	state_copy(&m->st, &a->unsaved[i].st);
	if (relay_msg_save(a->env.cfg->queue, m) == 0)
		unsaved_drop(a, i);
}

/*
 * settle - after a change: save the state, make the DSN of new failures
 * (and save again), remove the message once finished.  text is the
 * stored message or NULL (read here when a DSN needs it).
 */
static void
settle(struct relay_agent *a, struct relay_msg *m, const char *text,
    size_t len, const char *remote, time_t now)
{
	const char *q = a->env.cfg->queue;
	char *own = NULL;
	size_t i;
	int err;

	if ((err = relay_msg_save(q, m)) != 0) {
		/* sent stays sent: kept in memory, saved when it can be */
		log_event(LOG_LEVEL_WARN, NULL, "event=state",
		    LOG_TOK("id", m->env.queue_id), LOG_Q("error",
		    strerror(err)));
		unsaved_put(a, m);
		return;
	}
	if ((i = unsaved_find(a, m->name)) < a->nunsaved)
		unsaved_drop(a, i);
	for (i = 0; i < m->st.n; i++)
		if (m->st.r[i].state == RELAY_R_FAILED && !m->st.r[i].reported)
			break;
	if (i < m->st.n) {
		if (text == NULL && relay_msg_read(q, m->name, RELAY_MSG_MAX,
		    &own, &len) == 0)
			text = own;
		if (text != NULL && relay_dsn_deliver(a->env.cfg, m, text, len,
		    remote, now, &a->seq) == 0 &&
		    (err = relay_msg_save(q, m)) != 0) {
			log_event(LOG_LEVEL_WARN, NULL, "event=state",
			    LOG_TOK("id", m->env.queue_id), LOG_Q("error",
			    strerror(err)));
			unsaved_put(a, m);
		}
		free(own);
	}
	if (relay_state_is_done(&m->st)) {
		err = relay_msg_remove(q, m->name);
		log_event(err == 0 ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, NULL,
		    "event=removed", LOG_TOK("id", m->env.queue_id),
		    err != 0 ? LOG_Q("error", strerror(err)) : LOG_NONE);
	}
}

/* is_due - whether recipient i is to be tried now (flush: deferred
 * ones too). */
static bool
is_due(const struct relay_msg *m, size_t i, time_t now, bool flush)
{
	return relay_state_is_due(&m->st, i, now) ||
	    (flush && m->st.r[i].state == RELAY_R_DEFERRED);
}

/* look - one message at scan time: expire, settle; due or when next. */
static void
look(struct relay_agent *a, const char *name, time_t now, time_t *next)
{
	struct relay_sched s = sched(a);
	struct relay_msg m;
	char *err = NULL;
	time_t t;
	size_t i;

	if (relay_msg_load(a->env.cfg->queue, name, &m, &err) != 0) {
		log_event(LOG_LEVEL_WARN, NULL, "event=queue",
		    LOG_Q("file", name), LOG_Q("error", err));
		free(err);
		relay_msg_clear(&m);
		return;
	}
	unsaved_apply(a, &m);
	if (relay_state_expire(&m.st, m.arrival, now, &s) > 0) {
		for (i = 0; i < m.st.n; i++)
			if (m.st.r[i].state == RELAY_R_FAILED &&
			    !m.st.r[i].reported)
				log_rcpt(&m, i, "none", now);
	}
	if (relay_state_next(&m.st) == 0 || relay_state_is_done(&m.st))
		settle(a, &m, NULL, 0, NULL, now);
	/* delay_warning_time: the warning now, or a wake-up for it */
	if (!relay_state_is_done(&m.st) && (t = relay_delay_warn(a->env.cfg,
	    &m, now, &a->seq)) != -1 && (*next == -1 || t < *next))
		*next = t;
	for (i = 0; i < m.st.n && !relay_state_is_done(&m.st); i++)
		if (is_due(&m, i, now, a->flush))
			break;
	if (!relay_state_is_done(&m.st) && i < m.st.n) {
		a->work = xrealloc(a->work, a->nwork + 1, sizeof(*a->work));
		a->work[a->nwork++] = xstrdup(name);
	} else if ((t = relay_state_next(&m.st)) > 0 &&
	    (*next == -1 || t < *next))
		*next = t;
	relay_msg_clear(&m);
}

/* arm - the timer for the next retry. */
static void
arm(struct relay_agent *a, time_t next, time_t now)
{
	struct timeval tv = { next > now ? next - now : 0, 0 };

	evtimer_del(a->timer);
	if (next != -1)
		(void)evtimer_add(a->timer, &tv);
}

/* work_free - forget the work list. */
static void
work_free(struct relay_agent *a)
{
	size_t i;

	for (i = 0; i < a->nwork; i++)
		free(a->work[i]);
	free(a->work);
	a->work = NULL;
	a->nwork = a->iwork = 0;
}

/* in_flight - whether name is being sent on a connection now. */
static bool
in_flight(const struct relay_agent *a, const char *name)
{
	size_t i;

	for (i = 0; i < RELAY_SLOTS_MAX; i++)
		if (a->slots[i].busy && strcmp(a->slots[i].cur.name, name) == 0)
			return true;
	return false;
}

/* is_listed - whether name is among the n names. */
static bool
is_listed(char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* work_merge - the work not taken yet (kept: it was due, perhaps by a
 * flush) first, then what the scan found. */
static void
work_merge(struct relay_agent *a, char **keep, size_t nkeep)
{
	char **w = xcalloc(nkeep + a->nwork + 1, sizeof(*w));

	if (nkeep > 0)
		memcpy(w, keep, nkeep * sizeof(*w));
	if (a->nwork > 0)
		memcpy(w + nkeep, a->work, a->nwork * sizeof(*w));
	free(a->work);
	a->work = w;
	a->nwork += nkeep;
	a->iwork = 0;
}

/* scan - look at the whole queue (but the messages in flight or still
 * in the work list); connections for the work.  Not once stopping. */
static void
scan(struct relay_agent *a)
{
	time_t now = time(NULL), next = -1;
	char **names, **old = a->work;
	/* the work not taken yet (none before the first scan: old NULL) */
	char **keep = old != NULL ? old + a->iwork : NULL;
	size_t n, i, nkeep = a->nwork - a->iwork;
	int err;

	if (a->stopping)
		return;
	a->rescan = false;
	if ((err = relay_queue_list(a->env.cfg->queue, &names, &n)) != 0) {
		log_event(LOG_LEVEL_WARN, NULL, "event=queue",
		    LOG_Q("file", a->env.cfg->queue), LOG_Q("error",
		    strerror(err)));
		return;
	}
	for (i = 0; i < a->iwork; i++)
		free(old[i]);
	a->work = NULL;
	a->nwork = 0;
	a->flush_work = a->flush_work || a->flush;
	for (i = 0; i < n; i++)
		if (!in_flight(a, names[i]) &&
		    !is_listed(keep, nkeep, names[i]))
			look(a, names[i], now, &next);
	a->flush = false;
	work_merge(a, keep, nkeep);
	free(old);
	relay_queue_names_free(names, n);
	relay_queue_clean(a->env.cfg->queue);
	/* states that wait for the disk: try them again in a while */
	if (a->nunsaved > 0 && (next == -1 ||
	    next > now + (time_t)a->env.cfg->relay_retry_min))
		next = now + (time_t)a->env.cfg->relay_retry_min;
	arm(a, next, now);
	fill(a);
}

/* scan_cb - a scan on the loop (kicked, the timer, a round's end). */
static void
scan_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	scan(arg);
}

/*
 * want_scan - new mail, a flush or the timer: scan now when there is
 * room for another connection, else when a connection runs out of work
 * (so a busy agent does not read the queue once per new message).
 */
static void
want_scan(struct relay_agent *a)
{
	if (a->stopping)
		return;
	if (a->nconns < a->limit)
		event_active(a->scan_ev, EV_TIMEOUT, 0);
	else
		a->rescan = true;
}

/* msg_prepare - the due recipients of name into s's message. */
static int
msg_prepare(struct relay_slot *s, const char *name, time_t now)
{
	struct relay_agent *a = s->a;
	struct relay_msg *m = &s->cur;
	char *err = NULL;
	size_t i, k = 0;

	if (relay_msg_load(a->env.cfg->queue, name, m, &err) != 0) {
		free(err);
		relay_msg_clear(m);
		return -1;
	}
	unsaved_apply(a, m);
	s->crcpts = xcalloc(m->st.n + 1, sizeof(*s->crcpts));
	s->cmap = xcalloc(m->st.n + 1, sizeof(*s->cmap));
	for (i = 0; i < m->st.n; i++) {
		if (!is_due(m, i, now, a->flush_work))
			continue;
		s->crcpts[k].addr = m->env.rcpts[i].addr;
		s->crcpts[k].notify = m->env.rcpts[i].notify;
		s->crcpts[k].orcpt = m->env.rcpts[i].orcpt;
		s->cmap[k++] = i;
	}
	s->busy = true;
	s->cmsg = (struct smtp_client_msg){ .sender = m->env.sender,
	    .body = m->env.body == ENVELOPE_BODY_8BITMIME ?
	    SMTP_CLIENT_BODY_8BITMIME : m->env.body == ENVELOPE_BODY_BINARYMIME ?
	    SMTP_CLIENT_BODY_BINARYMIME : SMTP_CLIENT_BODY_7BIT,
	    .smtputf8 = m->env.smtputf8, .size = m->size,
	    .ret = m->env.ret == ENVELOPE_RET_FULL ? SMTP_CLIENT_RET_FULL :
	    m->env.ret == ENVELOPE_RET_HDRS ? SMTP_CLIENT_RET_HDRS :
	    SMTP_CLIENT_RET_NONE, .envid = m->env.envid, .rcpts = s->crcpts,
	    .nrcpt = k };
	return k > 0 ? 0 : -1;
}

/* msg_end - forget the message in flight. */
static void
msg_end(struct relay_slot *s)
{
	relay_msg_clear(&s->cur);
	if (s->fd != -1)
		(void)close(s->fd);
	s->fd = -1;
	free(s->crcpts);
	free(s->cmap);
	s->crcpts = NULL;
	s->cmap = NULL;
	s->busy = false;
}

/*
 * apply - the verdicts of s's message into its state; a recipient
 * without one gets why (the session's failure), deferred.
 */
static void
apply(struct relay_slot *s, const char *relay, const char *why,
    bool fail_all, time_t now)
{
	struct relay_agent *a = s->a;
	struct relay_sched sc = sched(a);
	struct relay_msg *m = &s->cur;
	size_t k;

	for (k = 0; k < s->cmsg.nrcpt; k++) {
		const struct smtp_client_rcpt *r = &s->crcpts[k];
		size_t i = s->cmap[k];

		if (fail_all)
			relay_state_fail(&m->st, i, now, why);
		else if (r->verdict == SMTP_CLIENT_V_SENT)
			relay_state_sent(&m->st, i, now, r->reply);
		else if (r->verdict == SMTP_CLIENT_V_FAIL)
			relay_state_fail(&m->st, i, now, r->reply);
		else
			relay_state_defer(&m->st, i, now, &sc,
			    (uint32_t)random(), r->verdict ==
			    SMTP_CLIENT_V_DEFER ? r->reply : why);
		log_rcpt(m, i, relay, now);
	}
	settle(a, m, NULL, 0, s->host_name, now);
	msg_end(s);
}

/* take - the next work item onto s (opened, checked against the
 * server's EHLO); false when the work is over. */
static bool
take(struct relay_slot *s, struct relay_conn *rc, time_t now)
{
	struct relay_agent *a = s->a;
	char why[300];
	const char *no;
	bool temp;
	int err;

	while (!a->stopping) {
		if (a->iwork == a->nwork && a->rescan)
			scan(a);
		if (a->iwork == a->nwork)
			return false;
		if (msg_prepare(s, a->work[a->iwork++], now) != 0) {
			msg_end(s);
			continue;
		}
		if ((err = relay_msg_open(a->env.cfg->queue, s->cur.name,
		    &s->fd)) != 0) {
			(void)snprintf(why, sizeof(why), "4.3.0 cannot read "
			    "the queued message: %s", strerror(err));
			apply(s, relay_conn_peer(rc), why, false, now);
			continue;
		}
		no = smtp_client_check(relay_conn_client(rc), &s->cmsg, &temp);
		if (no == NULL)
			return true;
		/* no silent downgrade: the reason is every recipient's */
		apply(s, relay_conn_peer(rc), no, !temp, now);
	}
	return false;
}

/* ready_cb - the connection is idle: the next message, or QUIT. */
static void
ready_cb(void *arg, struct relay_conn *rc)
{
	struct relay_slot *s = arg;
	struct relay_agent *a = s->a;

	if (!s->up && s->host == a->host)
		a->host_up = true;	/* the probe got in: open the rest */
	s->up = true;
	if (take(s, rc, time(NULL))) {
		relay_conn_send(rc, &s->cmsg, s->fd);
		fill(a);
		return;
	}
	relay_conn_quit(rc);
}

static void
done_cb(void *arg, struct relay_conn *rc, struct smtp_client_msg *msg)
{
	(void)msg;
	apply(arg, relay_conn_peer(rc), "4.4.2 no reply", false, time(NULL));
}

/* free_cb - a finished connection is freed on a later loop turn. */
static void
free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_conn *rc = arg;

	(void)fd;
	(void)what;
	relay_conn_free(&rc);
}

/* defer_rest - the work not tried gets why (no smarthost took it;
 * host the last one tried). */
static void
defer_rest(struct relay_agent *a, const char *host, const char *relay,
    const char *why)
{
	struct relay_slot tmp = { .a = a, .fd = -1 };
	time_t now = time(NULL);

	(void)snprintf(tmp.host_name, sizeof(tmp.host_name), "%s", host);
	while (a->iwork < a->nwork) {
		if (msg_prepare(&tmp, a->work[a->iwork++], now) == 0)
			apply(&tmp, relay, why, false, now);
		else
			msg_end(&tmp);
	}
}

/* stopped_cb - nothing runs any more: tell whoever stopped the agent. */
static void
stopped_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_agent *a = arg;

	(void)fd;
	(void)what;
	if (a->stop_done != NULL)
		a->stop_done(a->stop_arg);
}

/* round_end - no connection is left: the next round starts afresh
 * (the first smarthost, one probe); look again. */
static void
round_end(struct relay_agent *a)
{
	work_free(a);
	a->host = 0;
	a->host_up = false;
	a->limit = a->env.cfg->relay_connections;
	a->flush_work = false;
	if (a->stopping) {
		(void)event_base_once(a->base, -1, EV_TIMEOUT, stopped_cb, a,
		    NULL);
		return;
	}
	/* what changed meanwhile (new mail, a flush), and the timer */
	event_active(a->scan_ev, EV_TIMEOUT, 0);
}

/* host_works - whether another connection to host h got ready. */
static bool
host_works(const struct relay_agent *a, size_t h)
{
	size_t i;

	for (i = 0; i < RELAY_SLOTS_MAX; i++)
		if (a->slots[i].conn != NULL && a->slots[i].up &&
		    a->slots[i].host == h)
			return true;
	return false;
}

/*
 * host_failed - a connection to host h failed (why) and none to it
 * works: the round moves on to the next smarthost, or, after the last,
 * the work not tried is deferred.  Beside working connections, only
 * the round's connection count drops.
 */
static void
host_failed(struct relay_agent *a, const struct relay_slot *s,
    const char *relay, const char *why)
{
	size_t h = s->host;

	if (host_works(a, h)) {
		a->limit = a->nconns > 0 ? a->nconns : 1;
		return;
	}
	if (h != a->host)
		return;
	a->host++;
	a->host_up = false;
	if (a->host >= a->env.cfg->nrelay_hosts)
		defer_rest(a, s->host_name, relay, why);
}

static void
closed_cb(void *arg, struct relay_conn *rc, const char *why)
{
	struct relay_slot *s = arg;
	struct relay_agent *a = s->a;
	char reason[600];
	const char *relay = relay_conn_peer(rc);

	(void)event_base_once(a->base, -1, EV_TIMEOUT, free_cb, rc, NULL);
	s->conn = NULL;
	s->up = false;
	a->nconns--;
	if (why != NULL) {
		/* our own words get a temporary status; a reply keeps its */
		(void)snprintf(reason, sizeof(reason), "%s%s",
		    why[0] >= '2' && why[0] <= '5' && why[3] == ' ' ? "" :
		    "4.4.2 ", why);
		log_event(LOG_LEVEL_WARN, NULL, "event=connection",
		    LOG_Q("relay", relay), LOG_Q("error", reason));
	} else
		(void)snprintf(reason, sizeof(reason), "4.4.2 connection "
		    "closed");
	if (s->busy)
		apply(s, relay, reason, false, time(NULL));
	if (why != NULL && !a->stopping)
		host_failed(a, s, relay, reason);
	fill(a);
	if (a->nconns == 0)
		round_end(a);
}

/* cred_for - the login for host, or NULL. */
static const struct relay_cred *
cred_for(const struct relay_agent *a, const char *host)
{
	size_t i;

	for (i = 0; i < a->env.ncreds; i++)
		if (strcasecmp(a->env.creds[i].host, host) == 0)
			return &a->env.creds[i];
	return NULL;
}

/* slot_start - a connection on the free slot s to the round's host. */
static void
slot_start(struct relay_agent *a, struct relay_slot *s)
{
	static const struct relay_conn_cbs cbs = { ready_cb, done_cb,
	    closed_cb };
	struct conf_relay_url url;
	const char *why;

	if (conf_relay_url_parse(a->env.cfg->relay_hosts[a->host], &url,
	    &why) != 0)
		log_fatal("can't happen: relay_host %s: %s",
		    a->env.cfg->relay_hosts[a->host], why);
	s->host = a->host;
	s->up = false;
	(void)snprintf(s->host_name, sizeof(s->host_name), "%s", url.host);
	s->conn = relay_conn_start(a->base, a->dns, a->env.ctx, &url,
	    cred_for(a, url.host), a->env.cfg->hostname,
	    a->env.cfg->command_timeout, &cbs, s);
	a->nconns++;
}

/*
 * fill - connections for the work not yet taken: one (the probe) until
 * a connection to the round's host got ready, then up to the limit, no
 * more than the work waiting.
 */
static void
fill(struct relay_agent *a)
{
	size_t i, idle = 0, probing = 0, want = a->nwork - a->iwork;

	if (a->stopping || a->host >= a->env.cfg->nrelay_hosts)
		return;
	for (i = 0; i < RELAY_SLOTS_MAX; i++) {
		const struct relay_slot *s = &a->slots[i];

		if (s->conn != NULL && !s->busy)
			idle++;		/* connecting, or about to take */
		if (s->conn != NULL && !s->up && s->host == a->host)
			probing++;
	}
	for (i = 0; i < RELAY_SLOTS_MAX && idle < want &&
	    a->nconns < a->limit; i++) {
		if (a->slots[i].conn != NULL)
			continue;
		if (!a->host_up && probing > 0)
			break;
		slot_start(a, &a->slots[i]);
		idle++;
		probing++;
	}
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	want_scan(arg);
}

struct relay_agent *
relay_agent_new(struct event_base *base, struct evdns_base *dns,
    const struct relay_env *env)
{
	struct relay_agent *a = xcalloc(1, sizeof(*a));
	size_t i;

	a->base = base;
	a->dns = dns;
	a->env = *env;
	a->limit = env->cfg->relay_connections;
	a->slots = xcalloc(RELAY_SLOTS_MAX, sizeof(*a->slots));
	for (i = 0; i < RELAY_SLOTS_MAX; i++)
		a->slots[i] = (struct relay_slot){ .a = a, .fd = -1 };
	a->scan_ev = event_new(base, -1, 0, scan_cb, a);
	a->timer = evtimer_new(base, timer_cb, a);
	if (a->scan_ev == NULL || a->timer == NULL)
		log_fatal("cannot make the agent's events");
	event_active(a->scan_ev, EV_TIMEOUT, 0);
	return a;
}

void
relay_agent_set_env(struct relay_agent *a, const struct relay_env *env)
{
	a->env = *env;
	a->limit = env->cfg->relay_connections;
}

void
relay_agent_kick(struct relay_agent *a, bool flush)
{
	if (flush)
		a->flush = true;
	want_scan(a);
}

void
relay_agent_stop(struct relay_agent *a, void (*done)(void *), void *arg)
{
	a->stopping = true;
	a->stop_done = done;
	a->stop_arg = arg;
	evtimer_del(a->timer);
	if (a->nconns == 0)
		(void)event_base_once(a->base, -1, EV_TIMEOUT, stopped_cb, a,
		    NULL);
}

void
relay_agent_free(struct relay_agent **ap)
{
	struct relay_agent *a;
	size_t i;

	if (ap == NULL || (a = *ap) == NULL)
		return;
	for (i = 0; i < RELAY_SLOTS_MAX; i++) {
		relay_conn_free(&a->slots[i].conn);
		if (a->slots[i].busy)
			msg_end(&a->slots[i]);
	}
	free(a->slots);
	work_free(a);
	while (a->nunsaved > 0)
		unsaved_drop(a, 0);
	free(a->unsaved);
	event_free(a->scan_ev);
	event_free(a->timer);
	free(a);
	*ap = NULL;
}
