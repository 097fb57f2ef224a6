/* SPDX-License-Identifier: ISC */
/*
 * relay_agent - inlet-relay's scheduler on the event loop.  A scan looks
 * at every queued message: recipients past queue_lifetime fail, failed
 * ones get their DSN, finished messages leave, due ones become the work
 * of one connection (smarthosts in order: a connection failure tries the
 * next, and the last one's failure defers).  Each transaction's verdicts
 * are saved (fsync) before anything else happens, so a crash sends a
 * recipient again at most once and loses none.  A timer wakes the agent
 * for the next retry; relay_agent_kick() for new mail and signals.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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

struct relay_agent {
	struct event_base	*base;
	struct evdns_base	*dns;
	struct relay_env	 env;
	struct event		*scan_ev;
	struct event		*timer;
	struct relay_conn	*conn;
	size_t			 host;		/* relay_hosts index */
	char			 host_name[256];
	char			**work;		/* due messages' names */
	size_t			 nwork, iwork;
	bool			 flush, flush_work, rescan;
	bool			 stopping;
	void			(*stop_done)(void *);
	void			*stop_arg;
	unsigned long		 seq;		/* DSN file names */
	struct relay_unsaved	*unsaved;
	size_t			 nunsaved;
	/* The message in flight: */
	bool			 busy;
	struct relay_msg	 cur;
	char			*text;
	size_t			 len;
	struct smtp_client_msg	 cmsg;
	struct smtp_client_rcpt	*crcpts;
	size_t			*cmap;		/* crcpts[k] is st.r[cmap[k]] */
};

static void	agent_start_conn(struct relay_agent *a);

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

/* scan_cb - look at the whole queue; start a connection for the work. */
static void
scan_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_agent *a = arg;
	time_t now = time(NULL), next = -1;
	char **names;
	size_t n, i;
	int err;

	(void)fd;
	(void)what;
	if (a->conn != NULL || a->stopping) {
		a->rescan = a->conn != NULL;
		return;
	}
	if ((err = relay_queue_list(a->env.cfg->queue, &names, &n)) != 0) {
		log_event(LOG_LEVEL_WARN, NULL, "event=queue",
		    LOG_Q("file", a->env.cfg->queue), LOG_Q("error",
		    strerror(err)));
		return;
	}
	for (i = 0; i < n; i++)
		look(a, names[i], now, &next);
	relay_queue_names_free(names, n);
	relay_queue_clean(a->env.cfg->queue);
	a->flush_work = a->flush;
	a->flush = false;
	/* states that wait for the disk: try them again in a while */
	if (a->nunsaved > 0 && (next == -1 ||
	    next > now + (time_t)a->env.cfg->relay_retry_min))
		next = now + (time_t)a->env.cfg->relay_retry_min;
	arm(a, next, now);
	if (a->nwork > 0) {
		a->host = 0;
		agent_start_conn(a);
	}
}

/* msg_prepare - the due recipients of the next work item into cmsg. */
static int
msg_prepare(struct relay_agent *a, const char *name, time_t now)
{
	struct relay_msg *m = &a->cur;
	char *err = NULL;
	size_t i, k = 0;

	if (relay_msg_load(a->env.cfg->queue, name, m, &err) != 0) {
		free(err);
		relay_msg_clear(m);
		return -1;
	}
	unsaved_apply(a, m);
	a->crcpts = xcalloc(m->st.n + 1, sizeof(*a->crcpts));
	a->cmap = xcalloc(m->st.n + 1, sizeof(*a->cmap));
	for (i = 0; i < m->st.n; i++) {
		if (!is_due(m, i, now, a->flush_work))
			continue;
		a->crcpts[k].addr = m->env.rcpts[i].addr;
		a->crcpts[k].notify = m->env.rcpts[i].notify;
		a->crcpts[k].orcpt = m->env.rcpts[i].orcpt;
		a->cmap[k++] = i;
	}
	if (k == 0 || relay_msg_read(a->env.cfg->queue, m->name,
	    RELAY_MSG_MAX, &a->text, &a->len) != 0)
		return -1;
	a->cmsg = (struct smtp_client_msg){ .sender = m->env.sender,
	    .body = m->env.body == ENVELOPE_BODY_8BITMIME ?
	    SMTP_CLIENT_BODY_8BITMIME : m->env.body == ENVELOPE_BODY_BINARYMIME ?
	    SMTP_CLIENT_BODY_BINARYMIME : SMTP_CLIENT_BODY_7BIT,
	    .smtputf8 = m->env.smtputf8, .size = m->size,
	    .ret = m->env.ret == ENVELOPE_RET_FULL ? SMTP_CLIENT_RET_FULL :
	    m->env.ret == ENVELOPE_RET_HDRS ? SMTP_CLIENT_RET_HDRS :
	    SMTP_CLIENT_RET_NONE, .envid = m->env.envid, .rcpts = a->crcpts,
	    .nrcpt = k };
	return 0;
}

/* msg_end - forget the message in flight. */
static void
msg_end(struct relay_agent *a)
{
	relay_msg_clear(&a->cur);
	free(a->text);
	free(a->crcpts);
	free(a->cmap);
	a->text = NULL;
	a->crcpts = NULL;
	a->cmap = NULL;
	a->busy = false;
}

/*
 * apply - the verdicts of the message in flight into its state; a
 * recipient without one gets why (the session's failure), deferred.
 */
static void
apply(struct relay_agent *a, const char *relay, const char *why,
    bool fail_all, time_t now)
{
	struct relay_sched s = sched(a);
	struct relay_msg *m = &a->cur;
	size_t k;

	for (k = 0; k < a->cmsg.nrcpt; k++) {
		const struct smtp_client_rcpt *r = &a->crcpts[k];
		size_t i = a->cmap[k];

		if (fail_all)
			relay_state_fail(&m->st, i, now, why);
		else if (r->verdict == SMTP_CLIENT_V_SENT)
			relay_state_sent(&m->st, i, now, r->reply);
		else if (r->verdict == SMTP_CLIENT_V_FAIL)
			relay_state_fail(&m->st, i, now, r->reply);
		else
			relay_state_defer(&m->st, i, now, &s,
			    (uint32_t)random(), r->verdict ==
			    SMTP_CLIENT_V_DEFER ? r->reply : why);
		log_rcpt(m, i, relay, now);
	}
	settle(a, m, a->text, a->len, a->host_name, now);
	msg_end(a);
}

/* ready_cb - the connection is idle: the next message, or QUIT. */
static void
ready_cb(void *arg, struct relay_conn *rc)
{
	struct relay_agent *a = arg;
	time_t now = time(NULL);
	const char *why;
	bool temp;

	while (!a->stopping && a->iwork < a->nwork) {
		if (msg_prepare(a, a->work[a->iwork++], now) != 0) {
			msg_end(a);
			continue;
		}
		a->busy = true;
		why = smtp_client_check(relay_conn_client(rc), &a->cmsg, &temp);
		if (why == NULL) {
			relay_conn_send(rc, &a->cmsg, a->text, a->len);
			return;
		}
		/* no silent downgrade: the reason is every recipient's */
		apply(a, relay_conn_peer(rc), why, !temp, now);
	}
	relay_conn_quit(rc);
}

static void
done_cb(void *arg, struct relay_conn *rc, struct smtp_client_msg *msg)
{
	struct relay_agent *a = arg;

	(void)msg;
	apply(a, relay_conn_peer(rc), "4.4.2 no reply", false, time(NULL));
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

/* defer_rest - the work not tried gets why (no smarthost took it). */
static void
defer_rest(struct relay_agent *a, const char *relay, const char *why)
{
	time_t now = time(NULL);

	while (a->iwork < a->nwork) {
		if (msg_prepare(a, a->work[a->iwork++], now) == 0) {
			a->busy = true;
			apply(a, relay, why, false, now);
		} else
			msg_end(a);
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

/* work_end - the connection's work is over; look again. */
static void
work_end(struct relay_agent *a)
{
	size_t i;

	for (i = 0; i < a->nwork; i++)
		free(a->work[i]);
	free(a->work);
	a->work = NULL;
	a->nwork = a->iwork = 0;
	if (a->stopping) {
		(void)event_base_once(a->base, -1, EV_TIMEOUT, stopped_cb, a,
		    NULL);
		return;
	}
	/* what changed meanwhile (new mail, a flush), and the timer */
	a->rescan = false;
	event_active(a->scan_ev, EV_TIMEOUT, 0);
}

static void
closed_cb(void *arg, struct relay_conn *rc, const char *why)
{
	struct relay_agent *a = arg;
	char reason[600];
	const char *relay = relay_conn_peer(rc);

	(void)event_base_once(a->base, -1, EV_TIMEOUT, free_cb, rc, NULL);
	a->conn = NULL;
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
	if (a->busy)
		apply(a, relay, reason, false, time(NULL));
	if (why != NULL && a->iwork < a->nwork && !a->stopping &&
	    a->host + 1 < a->env.cfg->nrelay_hosts) {
		a->host++;
		agent_start_conn(a);
		return;
	}
	if (why != NULL && !a->stopping)
		defer_rest(a, relay, reason);
	work_end(a);
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

static void
agent_start_conn(struct relay_agent *a)
{
	static const struct relay_conn_cbs cbs = { ready_cb, done_cb,
	    closed_cb };
	struct conf_relay_url url;
	const char *why;

	if (conf_relay_url_parse(a->env.cfg->relay_hosts[a->host], &url,
	    &why) != 0)
		log_fatal("can't happen: relay_host %s: %s",
		    a->env.cfg->relay_hosts[a->host], why);
	(void)snprintf(a->host_name, sizeof(a->host_name), "%s", url.host);
	a->conn = relay_conn_start(a->base, a->dns, a->env.ctx, &url,
	    cred_for(a, url.host), a->env.cfg->hostname,
	    a->env.cfg->command_timeout, &cbs, a);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	scan_cb(fd, what, arg);
}

struct relay_agent *
relay_agent_new(struct event_base *base, struct evdns_base *dns,
    const struct relay_env *env)
{
	struct relay_agent *a = xcalloc(1, sizeof(*a));

	a->base = base;
	a->dns = dns;
	a->env = *env;
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
}

void
relay_agent_kick(struct relay_agent *a, bool flush)
{
	if (flush)
		a->flush = true;
	if (a->conn != NULL)
		a->rescan = true;
	else
		event_active(a->scan_ev, EV_TIMEOUT, 0);
}

void
relay_agent_stop(struct relay_agent *a, void (*done)(void *), void *arg)
{
	a->stopping = true;
	a->stop_done = done;
	a->stop_arg = arg;
	evtimer_del(a->timer);
	if (a->conn == NULL)
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
	relay_conn_free(&a->conn);
	if (a->busy)
		msg_end(a);
	for (i = 0; i < a->nwork; i++)
		free(a->work[i]);
	free(a->work);
	while (a->nunsaved > 0)
		unsaved_drop(a, 0);
	free(a->unsaved);
	event_free(a->scan_ev);
	event_free(a->timer);
	free(a);
	*ap = NULL;
}
