/* SPDX-License-Identifier: ISC */
/*
 * conn - one client connection on a libevent bufferevent: libevent glue
 * with one lifecycle.  A connection is in one phase (conn_impl.h); every
 * completion (commit, AUTH, pause) ends in conn_settle(), and
 * conn_maybe_free() is the one place it ends.  Implements struct
 * session_ops: send/close on the bufferevent, the spool on the maildir
 * module (TLS in conn_tls.c, AUTH in conn_auth.c).  Completions are
 * delivered on a later loop turn, never from inside the op that started
 * them.  Flow control: reading stops while the session waits for a
 * completion or while our output is backed up.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "auth.h"
#include "buf.h"
#include "conn_impl.h"
#include "hook.h"
#include "log.h"
#include "maildir.h"
#include "milter.h"
#include "mime.h"
#include "envelope.h"
#include "route.h"
#include "session.h"
#include "mindex.h"
#include "sinkline.h"
#include "tls.h"
#include "workq.h"
#include "xalloc.h"

#define CONN_OUT_HIGH	(64 * 1024)	/* stop reading above this */
#define CONN_DRAIN_MS	20		/* re-check of TLS output on close */

/* A configuration and how many hold it: the env while it is current,
 * plus each connection that started under it. */
struct conn_cfg {
	struct config		*cfg;
	unsigned		 refs;
};

static void conn_log_delivery(const struct conn *c,
    const struct session_tx *tx);

/* conn_cfg_unref - drop one hold on a configuration; the last frees it. */
static void
conn_cfg_unref(struct conn_cfg **ccp)
{
	struct conn_cfg *cc = *ccp;

	if (cc == NULL)
		return;
	*ccp = NULL;
	if (cc->refs == 0)
		log_fatal("can't happen: configuration released twice");
	if (--cc->refs > 0)
		return;
	conf_free(&cc->cfg);
	free(cc);
}

/* conn_is_ending - closing, or gone: nothing more is read or started. */
bool
conn_is_ending(const struct conn *c)
{
	switch (c->phase) {
	case CONN_HANDSHAKE:
	case CONN_GREET_PAUSE:
	case CONN_RUNNING:
	case CONN_TLS_SWITCH:
		return false;
	case CONN_CLOSING:
	case CONN_TLS_SHUT:
	case CONN_GONE:
		return true;
	}
	return true;
}

/* conn_set_phase - move to phase to, logged at debug level; an ending
 * connection only moves further towards its end. */
void
conn_set_phase(struct conn *c, enum conn_phase to)
{
	static const char *const names[] = { "handshake", "greet-pause",
	    "running", "tls-switch", "closing", "tls-shut", "gone" };

	if (c->phase == to || (conn_is_ending(c) && to < c->phase))
		return;
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_event(LOG_LEVEL_DEBUG, c->id, "event=conn-phase",
		    LOG_TOK("from", names[c->phase]), LOG_TOK("to", names[to]));
	c->phase = to;
}

/* conn_free - log the end of the connection and release everything. */
static void
conn_free(struct conn *c)
{
	static const struct session_stats none;
	const struct session_stats *st = c->session != NULL ?
	    session_stats(c->session) : &none;
	struct conn_env *env = c->env;

	log_event(LOG_LEVEL_INFO, c->id, "event=disconnect",
	    LOG_TOK("client", c->addr), LOG_U("commands", st->commands),
	    LOG_U("errors", st->errors), LOG_U("messages", st->messages),
	    LOG_U("rcpts", st->rcpts), LOG_SECS("duration",
	    (long long)(time(NULL) - c->started)));
	session_free(&c->session);
	tls_unref(&c->tls);
	auth_sess_free(&c->auth);
	milter_set_free(&c->milters);
	buf_release(&c->milter_msg);
	event_free(c->auth_ev);
	event_free(c->pause_ev);
	buf_release(&c->auth_out);
	maildir_abort(&c->spool);
	hook_free(&c->hook);
	buf_release(&c->hook_hdrs);
	bufferevent_free(c->bev);
	event_free(c->defer);
	conn_deadline_stop(c);
	conn_cfg_unref(&c->cfg_ref);
	TAILQ_REMOVE(&env->conns, c, entry);
	env->nconns--;
	free(c);
	if (env->nconns == 0 && env->idle_cb != NULL)
		env->idle_cb(env);
}

/* conn_output_pending - bytes not yet handed to the kernel (with a TLS
 * filter, its underlying bufferevent holds some too). */
static size_t
conn_output_pending(struct conn *c)
{
	struct bufferevent *under = bufferevent_get_underlying(c->bev);
	size_t n = evbuffer_get_length(bufferevent_get_output(c->bev));

	if (under != NULL)
		n += evbuffer_get_length(bufferevent_get_output(under));
	return n;
}

/*
 * conn_maybe_free - the one place a connection ends: free it once the
 * client is gone, or once a closing connection's output is out.  Only a
 * commit holds it back (a worker thread has the spool, or its result
 * waits for delivery): that completion comes back here.  Every other
 * wait (the error-budget pause, a login delay, a handshake, a body) is a
 * timer or an event that conn_free() cancels.  With TLS the write
 * callback may not fire for the last bytes (they move synchronously to
 * the layer below), so look again shortly; the write timeout bounds a
 * client that never reads them.
 */
void
conn_maybe_free(struct conn *c)
{
	struct timeval tv = { 0, CONN_DRAIN_MS * 1000 };

	if (c->commit != CONN_COMMIT_NONE || !conn_is_ending(c))
		return;
	if (c->phase == CONN_CLOSING && c->is_tls &&
	    conn_output_pending(c) == 0) {
		/* all replies are out: end TLS cleanly (close_notify) */
		conn_set_phase(c, CONN_TLS_SHUT);
		(void)SSL_shutdown(bufferevent_openssl_get_ssl(c->bev));
	}
	if (c->phase == CONN_GONE || conn_output_pending(c) == 0) {
		conn_free(c);
		return;
	}
	if (c->is_tls)
		(void)event_add(c->defer, &tv);
}

/*
 * conn_settle - after every completion (commit, AUTH, pause): end the
 * connection if it is over, else read on and feed what is buffered.
 */
void
conn_settle(struct conn *c)
{
	if (conn_is_ending(c) || c->session == NULL ||
	    session_is_closed(c->session)) {
		conn_maybe_free(c);
		return;
	}
	if (c->phase != CONN_HANDSHAKE && !session_is_busy(c->session)) {
		bufferevent_enable(c->bev, EV_READ);
		conn_process(c);
	}
}

/* conn_index - tell the sink API's index of a commit's files. */
static void
conn_index(struct conn *c)
{
	size_t i;

	for (i = 0; c->env->mindex != NULL && i < maildir_ncopy(c->spool); i++)
		mindex_added(c->env->mindex, maildir_path(c->spool, i));
}

/* conn_defer_cb - deliver a completion, or free a closing connection. */
static void
conn_defer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->commit == CONN_COMMIT_DONE) {
		c->commit = CONN_COMMIT_NONE;
		if (c->commit_err == 0) {
			c->env->messages++;
			if (c->cfg->sink)
				sinkline_print(session_tx(c->session), c->spool);
			conn_index(c);
		}
		if (c->quarantined)
			conn_milter_log_quarantine(c);
		else
			conn_log_delivery(c, session_tx(c->session));
		c->quarantined = false;
		maildir_free(&c->spool);
		session_commit_done(c->session, c->commit_err);
		if (c->env->stopping)	/* the message is safe: now go */
			session_shutdown(c->session);
	}
	conn_settle(c);
}

/*
 * conn_op_send - session_ops.send.  With nothing queued ahead of it a
 * reply goes straight to the socket: through the bufferevent it would
 * wait a loop turn for EV_WRITE, and cost an epoll_ctl() to watch for
 * that and one to stop.  What the socket does not take goes the usual
 * way, and so does everything after an error, which the bufferevent then
 * meets and reports as before.  Not under TLS: the filter owns the bytes.
 */
static void
conn_op_send(void *ctx, const char *data, size_t len)
{
	struct conn *c = ctx;
	ssize_t n = 0;

	if (c->phase == CONN_GONE)
		return;
	if (!c->is_tls &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		n = send(bufferevent_getfd(c->bev), data, len,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			n = 0;
	}
	if ((size_t)n < len &&
	    bufferevent_write(c->bev, data + n, len - (size_t)n) != 0)
		log_event(LOG_LEVEL_WARN, c->id, "event=write-error",
		    LOG_TOK("client", c->addr));
	conn_arm_cmd_timer(c);	/* a reply: the next command's time starts */
}

/* conn_op_close - session_ops.close: stop reading, free after output */
static void
conn_op_close(void *ctx)
{
	struct conn *c = ctx;

	conn_set_phase(c, CONN_CLOSING);
	bufferevent_disable(c->bev, EV_READ);
	event_active(c->defer, EV_TIMEOUT, 0);
}

/* conn_op_starttls - session_ops.starttls: switch once the feed returns */
static void
conn_op_starttls(void *ctx)
{
	struct conn *c = ctx;

	if (c->tls == NULL)
		log_fatal("can't happen: STARTTLS on session=%s without TLS",
		    c->id);
	conn_set_phase(c, CONN_TLS_SWITCH);
}

/* conn_stamp - the time now as 2024-01-02T03:04:05Z ("" if unknown). */
static const char *
conn_stamp(char *stamp, size_t len)
{
	return log_time_fmt(time(NULL), stamp, len);
}

/*
 * conn_log_delivery - after the commit: one line per recipient and
 * mailbox, with the file its copy went to (the copies as route_copies()
 * numbers them, as conn_op_spool_open made them; in a sink with one
 * Maildir, the one file of the transaction), or status=deferred when
 * the commit failed (the client was told 4xx).
 */
static void
conn_log_delivery(const struct conn *c, const struct session_tx *tx)
{
	char to[SMTP_PATH_MAX + 1];
	struct route_copy *cp;
	const struct route *r;
	size_t i, k, n = route_copies(tx->routes, tx->nrcpt, NULL);
	bool q, one = conf_is_sink_store(c->cfg);

	if ((cp = calloc(n, sizeof(*cp))) == NULL)
		log_fatal("out of memory (recipients)");
	(void)route_copies(tx->routes, tx->nrcpt, cp);
	for (i = 0; i < tx->nrcpt; i++) {
		r = &tx->routes[i];
		q = r->kind == ROUTE_QUEUE;
		smtp_addr_fmt(&tx->rcpts[i], to, sizeof(to));
		for (k = 0; k < n; k++) {
			if (q ? !cp[k].queue : cp[k].queue || cp[k].rcpt != i)
				continue;
			log_event(LOG_LEVEL_INFO, c->id, "event=delivery",
			    LOG_TOK("id", tx->queue_id), LOG_ADDR("to", to),
			    q || strcmp(r->boxes[cp[k].box].delivered_to,
			    to) == 0 ? LOG_NONE : LOG_ADDR("mailbox",
			    r->boxes[cp[k].box].delivered_to),
			    LOG_TOK("relay", q ? "queue" : "maildir"),
			    LOG_TOK("status", c->commit_err != 0 ? "deferred" :
			    q ? "queued" : "sent"),
			    c->commit_err != 0 ? LOG_Q("error",
			    strerror(c->commit_err)) :
			    LOG_Q("file", maildir_path(c->spool, one ? 0 : k)));
		}
	}
	free(cp);
}

/*
 * conn_op_spool_open - session_ops.spool_open: carry out the plan (one
 * copy per planned Maildir, and one copy for all the queued recipients
 * in the queue, with their envelope); in a sink with one Maildir, one
 * copy for the whole transaction, with its envelope.
 */
int
conn_op_spool_open(void *ctx, const struct session_tx *tx)
{
	struct conn *c = ctx;
	const struct route_box *box;
	struct maildir_rcpt *rc;
	struct route_copy *cp;
	char addr[SMTP_PATH_MAX + 1];
	size_t k, n = route_copies(tx->routes, tx->nrcpt, NULL);
	int err;

	if (conf_is_sink_store(c->cfg)) {	/* envelope: conn_set_envelope */
		struct maildir_rcpt one = { NULL, c->cfg->maildir, "" };

		return maildir_open(&c->spool, tx->from_str, &one, 1,
		    c->cfg->hostname, &c->env->seq);
	}
	rc = calloc(n, sizeof(*rc));
	cp = calloc(n, sizeof(*cp));
	if (rc == NULL || cp == NULL)
		log_fatal("out of memory (recipients)");
	(void)route_copies(tx->routes, tx->nrcpt, cp);
	for (k = 0; k < n; k++) {
		if (cp[k].queue) {
			rc[k].dir = c->cfg->queue;
			rc[k].addr = smtp_addr_fmt(&tx->rcpts[cp[k].rcpt],
			    addr, sizeof(addr));
			rc[k].envelope = "";	/* conn_set_envelope() */
		} else {
			box = &tx->routes[cp[k].rcpt].boxes[cp[k].box];
			rc[k].dir = box->maildir;
			rc[k].addr = box->delivered_to;
		}
	}
	err = maildir_open(&c->spool, tx->from_str, rc, n, c->cfg->hostname,
	    &c->env->seq);
	free(rc);
	free(cp);
	return err;
}

/* conn_op_spool_write - session_ops.spool_write */
static int
conn_op_spool_write(void *ctx, const char *data, size_t len)
{
	struct conn *c = ctx;

	if (c->milters != NULL && buf_add(&c->milter_msg, data, len) != 0)
		return EFBIG;
	return maildir_write(c->spool, data, len);
}

/* conn_commit_work - on a worker thread: fsync, link, fsync of new/.
 * Touches only c->spool and c->commit_err, which the loop thread leaves
 * alone while the session is in SESSION_ST_COMMIT. */
static void
conn_commit_work(void *arg)
{
	struct conn *c = arg;

	c->commit_err = c->hook_hdrs.len > 0 ? maildir_prepend(c->spool,
	    c->hook_hdrs.data, c->hook_hdrs.len) : 0;
	if (c->commit_err == 0)
		c->commit_err = maildir_commit(c->spool);
}

/* conn_commit_finished - back on the loop thread: deliver the result. */
static void
conn_commit_finished(void *arg)
{
	struct conn *c = arg;

	if (c->commit_err != 0)
		maildir_abort(&c->spool);
	c->commit = CONN_COMMIT_DONE;
	conn_defer_cb(-1, 0, c);
}

/*
 * conn_set_envelope - the envelope record (envelope.h) of the queue copy
 * (its recipients), or of the sink's one copy (all of them, its size
 * with Return-Path:), made at the end of the data, when the size is
 * known.
 */
static void
conn_set_envelope(struct conn *c, const struct session_tx *tx)
{
	char stamp[LOG_TIME_LEN];
	bool sink = conf_is_sink_store(c->cfg);
	struct envelope e;
	struct buf b;
	size_t i;

	for (i = 0; i < tx->nrcpt && tx->routes[i].kind != ROUTE_QUEUE; i++)
		continue;
	if (i == tx->nrcpt && !sink)
		return;
	/* the data_hook's header lines are prepended on the worker */
	session_tx_envelope(tx, c->addr, conn_stamp(stamp, sizeof(stamp)),
	    c->hook_hdrs.len + (sink ? maildir_size(c->spool) :
	    maildir_body_size(c->spool)), !sink, &e);
	buf_init(&b, SIZE_MAX);
	envelope_fmt(&b, &e);
	maildir_set_envelope(c->spool, buf_cstr(&b));
	buf_release(&b);
	envelope_clear(&e);
}

/*
 * conn_commit_submit - the commit runs on a worker thread; the 250 goes
 * out from its completion on the loop.  While it runs every other
 * session is served.
 */
void
conn_commit_submit(struct conn *c)
{
	conn_set_envelope(c, session_tx(c->session));
	if (c->env->workq != NULL) {
		c->commit = CONN_COMMIT_RUNNING;
		workq_submit(c->env->workq, conn_commit_work,
		    conn_commit_finished, c);
		return;
	}
	conn_commit_work(c);
	if (c->commit_err != 0)
		maildir_abort(&c->spool);
	c->commit = CONN_COMMIT_DONE;
	event_active(c->defer, EV_TIMEOUT, 0);
}

/* conn_op_spool_commit - session_ops.spool_commit: the data_hook first,
 * if there is one. */
static void
conn_op_spool_commit(void *ctx, const struct session_tx *tx)
{
	struct conn *c = ctx;

	if (c->cfg->data_hook != NULL)
		conn_hook_start(c, tx);
	else
		conn_commit_submit(c);
}

/* conn_op_spool_abort - session_ops.spool_abort */
static void
conn_op_spool_abort(void *ctx)
{
	struct conn *c = ctx;

	maildir_abort(&c->spool);
}

/* conn_op_now - session_ops.now */
static time_t
conn_op_now(void *ctx)
{
	(void)ctx;
	return time(NULL);
}

/* conn_pause_cb - the pause is over: greet, or resume the session. */
static void
conn_pause_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->phase == CONN_GREET_PAUSE) {
		conn_set_phase(c, CONN_RUNNING);
		session_start(c->session);
	} else {
		session_resume(c->session);
	}
	conn_settle(c);
}

/* conn_op_pause - session_ops.pause: a timer of ms milliseconds. */
static void
conn_op_pause(void *ctx, unsigned ms)
{
	struct conn *c = ctx;
	struct timeval tv = { (time_t)(ms / 1000),
	    (suseconds_t)(ms % 1000) * 1000 };

	(void)evtimer_add(c->pause_ev, &tv);
}

/* conn_op_filter - session_ops.filter: the session's milters. */
static bool
conn_op_filter(void *ctx, enum session_filter_stage stage,
    const struct session_filter_args *args)
{
	struct conn *c = ctx;
	const struct session_tx *tx = session_tx(c->session);

	if (c->milters == NULL)
		return false;
	if (stage == SESSION_FILTER_EOM)
		return milter_stage(c->milters, stage, args, tx->queue_id,
		    buf_cstr(&c->milter_msg), c->milter_msg.len);
	if (stage == SESSION_FILTER_MAIL || stage == SESSION_FILTER_ABORT)
		buf_release(&c->milter_msg);	/* a big one is not kept */
	return milter_stage(c->milters, stage, args, tx->queue_id, NULL, 0);
}

/* conn_milter_done - the filters' verdict on a stage, for the session;
 * at end of message their edits are applied to the spool first. */
static void
conn_milter_done(void *arg, const struct session_filter_verdict *v)
{
	struct conn *c = arg;
	struct session_filter_verdict vv = *v;

	if (c->session == NULL)
		return;
	if (session_state(c->session) == SESSION_ST_COMMIT &&
	    vv.action == SESSION_FILTER_CONTINUE)
		conn_milter_eom(c, &vv);
	session_filter_done(c->session, &vv);
	conn_settle(c);
}

static const struct session_ops conn_session_ops = {
	.send = conn_op_send,
	.close = conn_op_close,
	.starttls = conn_op_starttls,
	.spool_open = conn_op_spool_open,
	.spool_write = conn_op_spool_write,
	.spool_commit = conn_op_spool_commit,
	.spool_abort = conn_op_spool_abort,
	.now = conn_op_now,
	.auth_mechs = conn_op_auth_mechs,
	.auth_start = conn_op_auth_start,
	.auth_step = conn_op_auth_step,
	.auth_abort = conn_op_auth_abort,
	.pause = conn_op_pause,
	.filter = conn_op_filter,
};

/*
 * conn_process - feed buffered input to the session until it is empty,
 * the session waits for a completion or closes, or our output backs up.
 */
void
conn_process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t avail, used;
	char *p;

	if (c->session == NULL || c->phase == CONN_HANDSHAKE)
		return;		/* no application data before the handshake */
	if (c->phase == CONN_GREET_PAUSE) {	/* talked before the greeting */
		if (evbuffer_get_length(in) == 0)
			return;
		conn_set_phase(c, CONN_RUNNING);
		(void)evtimer_del(c->pause_ev);
		session_pregreet(c->session);
		return;
	}
	/* session_feed() stops after about SESSION_OUT_FLUSH of replies, so
	 * what waits to be sent stays under CONN_OUT_HIGH plus that, in
	 * every stack of bufferevents; conn_write_cb() resumes. */
	while ((avail = evbuffer_get_contiguous_space(in)) > 0) {
		if (session_is_busy(c->session) ||
		    session_is_closed(c->session))
			break;
		if (conn_output_pending(c) > CONN_OUT_HIGH) {
			bufferevent_disable(c->bev, EV_READ);
			return;
		}
		p = (char *)evbuffer_pullup(in, (ev_ssize_t)avail);
		used = session_feed(c->session, p, avail);
		evbuffer_drain(in, used);
		if (used == 0)
			break;
	}
	if (c->phase == CONN_TLS_SWITCH) {
		conn_starttls_begin(c);
		return;
	}
	if (session_is_busy(c->session))
		bufferevent_disable(c->bev, EV_READ);
	conn_watch_body(c);
}

/* conn_read_cb - bytes arrived. */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_process(arg);
}

/* conn_write_cb - output drained: resume reading, or finish closing. */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (conn_is_ending(c)) {
		conn_maybe_free(c);
		return;
	}
	if (c->session != NULL && c->phase != CONN_HANDSHAKE &&
	    !session_is_busy(c->session)) {
		bufferevent_enable(c->bev, EV_READ);
		conn_process(c);
	}
}

/* conn_event_cb - EOF, error or timeout on the connection. */
static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if ((what & BEV_EVENT_CONNECTED) != 0) {
		conn_tls_done(c);
		return;
	}
	if (c->phase == CONN_HANDSHAKE) {
		conn_tls_failed(c, what);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) != 0 && !conn_is_ending(c)) {
		session_timeout(c->session);
		bufferevent_enable(c->bev, EV_WRITE);
		return;
	}
	if ((what & BEV_EVENT_ERROR) != 0 && log_enabled(LOG_LEVEL_DEBUG))
		log_event(LOG_LEVEL_DEBUG, c->id, "event=socket-error",
		    LOG_Q("error", evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR())));
	conn_set_phase(c, CONN_GONE);
	session_eof(c->session);
	conn_maybe_free(c);
}

/*
 * conn_new_id - 16 random hex digits for the session id.  A RAND_bytes
 * call costs about the same for 8 bytes as for 256, so they are drawn
 * in batches.
 */
static void
conn_new_id(struct conn_env *env, char *id)
{
	static const char hex[] = "0123456789ABCDEF";
	const size_t n = SESSION_ID_LEN / 2;
	const unsigned char *r;
	size_t i;

	if (env->ids_left < n) {
		if (RAND_bytes(env->ids, (int)sizeof(env->ids)) != 1)
			log_fatal("RAND_bytes failed");
		env->ids_left = sizeof(env->ids);
	}
	env->ids_left -= n;
	r = env->ids + env->ids_left;
	for (i = 0; i < n; i++) {
		id[2 * i] = hex[r[i] >> 4];
		id[2 * i + 1] = hex[r[i] & 15];
	}
	id[SESSION_ID_LEN] = '\0';
}

/* conn_start - create the session and send the greeting; info is the
 * finished handshake of an implicit-TLS connection, else NULL. */
void
conn_start(struct conn *c, const struct session_tls_info *info)
{
	struct session_params p;

	memset(&p, 0, sizeof(p));
	p.cfg = c->cfg;
	p.role = c->role;
	p.id = c->id;
	p.client_addr = c->addr;
	p.tls_active = info != NULL;
	p.tls = info;
	p.tls_available = c->tls != NULL && info == NULL;
	p.chaos = &c->env->chaos;
	c->session = session_new(&p, &conn_session_ops, c);
	if (c->cfg->nmilters > 0) {
		struct milter_client cl = { c->id, c->addr, c->port, c->role };

		c->milters = milter_set_new(c->env->base, c->cfg, &cl,
		    conn_milter_done, c);
	}
	if (c->cfg->greet_pause > 0 && info == NULL) {
		struct timeval tv = { (time_t)c->cfg->greet_pause, 0 };

		conn_set_phase(c, CONN_GREET_PAUSE);	/* pregreet test */
		(void)evtimer_add(c->pause_ev, &tv);
		return;
	}
	session_start(c->session);
}

/*
 * conn_setup_bev - callbacks, timeouts and reading on c->bev.  A new
 * bufferevent has writing enabled already; enabling it again on a plain
 * socket would only watch for EV_WRITE once with nothing to write.
 */
void
conn_setup_bev(struct conn *c)
{
	struct timeval tv = { (time_t)c->cfg->command_timeout, 0 };

	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CONN_IN_HIGH);
	bufferevent_enable(c->bev, c->is_tls ? EV_READ | EV_WRITE : EV_READ);
}

/* conn_new - a connection from addr, port on a listener of role, under
 * the configuration of new connections (held until it is freed). */
static struct conn *
conn_new(struct conn_env *env, const char *addr, unsigned port,
    enum conf_role role, bool tls)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->env = env;
	c->cfg = env->cfg;
	c->cfg_ref = env->cfg_ref;
	if (c->cfg_ref != NULL)
		c->cfg_ref->refs++;
	c->role = role;
	c->port = port;
	c->started = time(NULL);
	(void)snprintf(c->addr, sizeof(c->addr), "%s", addr);
	conn_new_id(env, c->id);
	c->tls = tls ? tls_ref(env->tls) : NULL;
	c->is_tls = role == CONF_ROLE_SUBMISSIONS;
	c->phase = c->is_tls ? CONN_HANDSHAKE : CONN_RUNNING;
	buf_init(&c->auth_out, 16384);
	buf_init(&c->hook_hdrs, HOOK_OUT_MAX + 1);
	buf_init(&c->milter_msg, SIZE_MAX);
	return c;
}

void
conn_accept(struct conn_env *env, int fd, const char *addr, unsigned port,
    enum conf_role role, bool tls)
{
	struct conn *c = conn_new(env, addr, port, role, tls);

	c->bev = c->is_tls ? bufferevent_openssl_socket_new(env->base, fd,
	    tls_ssl_new(c->tls), BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE) :
	    bufferevent_socket_new(env->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->defer = event_new(env->base, -1, 0, conn_defer_cb, c);
	c->auth_ev = evtimer_new(env->base, conn_auth_done_cb, c);
	c->pause_ev = evtimer_new(env->base, conn_pause_cb, c);
	if (c->bev == NULL || c->defer == NULL || c->auth_ev == NULL ||
	    c->pause_ev == NULL)
		log_fatal("out of memory (bufferevent)");
	conn_deadline_start(c);
	TAILQ_INSERT_TAIL(&env->conns, c, entry);
	env->nconns++;
	log_event(LOG_LEVEL_INFO, c->id, "event=connect",
	    LOG_TOK("client", c->addr), LOG_U("port", c->port),
	    LOG_TOK("role", conf_role_name(c->role)));
	if (c->is_tls)
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	conn_setup_bev(c);
	if (c->phase != CONN_HANDSHAKE)
		conn_start(c, NULL);
}

void
conn_env_set_cfg(struct conn_env *env, struct config *cfg)
{
	struct conn_cfg *cc = NULL;

	if (cfg != NULL) {
		cc = xcalloc(1, sizeof(*cc));
		cc->cfg = cfg;
		cc->refs = 1;
	}
	conn_cfg_unref(&env->cfg_ref);
	env->cfg_ref = cc;
	env->cfg = cfg;
}

void
conn_shutdown_all(struct conn_env *env)
{
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&env->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->session == NULL || c->phase == CONN_HANDSHAKE) {
			/* nothing to say in clear */
			conn_set_phase(c, CONN_GONE);
			event_active(c->defer, EV_TIMEOUT, 0);
		} else if (!session_in_body(c->session)) {
			session_shutdown(c->session);
		}
	}
}

void
conn_abort_spools(struct conn_env *env)
{
	struct conn *c;

	TAILQ_FOREACH(c, &env->conns, entry) {
		hook_free(&c->hook);	/* kills a data_hook still running */
		maildir_abort(&c->spool);
	}
}

unsigned
conn_count_ip(const struct conn_env *env, const char *addr)
{
	const struct conn *c;
	unsigned n = 0;

	TAILQ_FOREACH(c, &env->conns, entry)
		if (strcmp(c->addr, addr) == 0)
			n++;
	return n;
}
