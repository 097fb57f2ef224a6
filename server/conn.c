/* SPDX-License-Identifier: ISC */
/*
 * conn - one client connection on a libevent bufferevent.
 * Implements struct session_ops: send/close on the bufferevent, the spool
 * on the maildir module.  Completions (spool commit) are delivered to the
 * session on a later loop turn through a deferred event, never from
 * inside the op that started them.  Flow control: reading stops while the
 * session waits for a completion or while our output is backed up.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "auth.h"
#include "buf.h"
#include "conn.h"
#include "log.h"
#include "maildir.h"
#include "mime.h"
#include "session.h"
#include "smtp_reply.h"
#include "throttle.h"
#include "tls.h"
#include "workq.h"

#define CONN_OUT_HIGH	(64 * 1024)	/* stop reading above this */
#define CONN_IN_HIGH	(64 * 1024)	/* read no more while this waits */
#define CONN_UNDER_HIGH	(16 * 1024)	/* TLS records queued below a filter */
#define CONN_DRAIN_MS	20		/* re-check of TLS output on close */

/* A configuration and how many hold it: the env while it is current,
 * plus each connection that started under it. */
struct conn_cfg {
	struct config		*cfg;
	unsigned		 refs;
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct conn_env		*env;
	const struct config	*cfg;
	struct conn_cfg		*cfg_ref;	/* keeps cfg alive */
	struct bufferevent	*bev;
	struct session		*session;
	struct event		*defer;		/* completions, delayed free */
	struct event		*body_timer;	/* data_timeout for one body */
	bool			 body_armed;
	struct maildir_spool	*spool;
	int			 commit_err;
	bool			 commit_done;	/* completion pending delivery */
	bool			 worker_busy;	/* a worker thread has c->spool */
	struct event		*cmd_timer;	/* command_timeout deadline */
	struct event		*life_timer;	/* session_timeout ceiling */
	bool			 closing;	/* free once output is written */
	bool			 gone;		/* the client went away */
	bool			 tls_switch;	/* STARTTLS accepted, not yet begun */
	bool			 handshaking;	/* a TLS handshake is running */
	bool			 is_tls;	/* c->bev is an SSL bufferevent */
	bool			 tls_shut;	/* close_notify queued */
	struct tls		*tls;		/* held until the handshake ends */
	int			 ssf;		/* TLS cipher bits, 0 before */
	struct auth_sess	*auth;		/* SASL state, made on demand */
	struct event		*auth_ev;	/* delivers an AUTH result */
	struct buf		 auth_out;	/* its challenge or user */
	enum session_auth_result auth_res;
	struct event		*pause_ev;	/* error-budget pause, greet_pause */
	bool			 greet_pending;	/* greet_pause running */
	enum conf_role		 role;
	char			 id[SESSION_ID_LEN + 1];
	char			 addr[INET6_ADDRSTRLEN];
	unsigned		 port;
	time_t			 started;
};

static void conn_process(struct conn *c);
static void conn_starttls_begin(struct conn *c);
static void conn_tls_done(struct conn *c);
static void conn_tls_failed(struct conn *c, short what);
static void conn_setup_bev(struct conn *c);
static void conn_start(struct conn *c, const struct session_tls_info *info);
static void conn_log_delivery(const struct conn *c,
    const struct session_tx *tx);
static void conn_maybe_free(struct conn *c);

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

/*
 * conn_arm_cmd_timer - command_timeout from now: the time the client has
 * to complete its next command (or the TLS handshake).  Restarted by
 * each reply, never by the client's bytes, so trickling a command one
 * byte at a time does not stretch it.
 */
static void
conn_arm_cmd_timer(struct conn *c)
{
	struct timeval tv = { (time_t)c->cfg->command_timeout, 0 };

	(void)evtimer_add(c->cmd_timer, &tv);
}

/* conn_cmd_timeout_cb - no command completed in command_timeout.  While
 * the daemon itself is the one working (a commit, a login delay, the
 * error-budget pause) or a body is streaming (data_timeout's turn), the
 * deadline starts again. */
static void
conn_cmd_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->closing || c->gone)
		return;
	if (c->handshaking) {
		conn_tls_failed(c, BEV_EVENT_TIMEOUT);
		return;
	}
	if (c->session == NULL || session_is_busy(c->session) ||
	    session_in_body(c->session)) {
		conn_arm_cmd_timer(c);
		return;
	}
	session_timeout(c->session);
}

/* conn_life_timeout_cb - the connection reached session_timeout. */
static void
conn_life_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->closing || c->gone)
		return;
	if (c->session == NULL || c->handshaking) {
		log_event(LOG_LEVEL_INFO, c->id, "event=session-timeout",
		    LOG_TOK("state", "handshake"), LOG_TOK("client", c->addr));
		c->gone = true;		/* nothing to say in clear */
		conn_maybe_free(c);
		return;
	}
	session_expire(c->session);
}

/* conn_body_timeout_cb - a DATA/BDAT phase ran past data_timeout. */
static void
conn_body_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	c->body_armed = false;
	if (session_in_body(c->session))
		session_timeout(c->session);
}

/* conn_watch_body - arm data_timeout when a body starts, disarm after. */
static void
conn_watch_body(struct conn *c)
{
	struct timeval tv = { (time_t)c->cfg->data_timeout, 0 };
	bool in_body = session_in_body(c->session);

	if (in_body && !c->body_armed)
		c->body_armed = evtimer_add(c->body_timer, &tv) == 0;
	else if (!in_body && c->body_armed) {
		(void)evtimer_del(c->body_timer);
		c->body_armed = false;
	}
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
	event_free(c->auth_ev);
	event_free(c->pause_ev);
	buf_release(&c->auth_out);
	maildir_abort(&c->spool);
	bufferevent_free(c->bev);
	event_free(c->defer);
	event_free(c->body_timer);
	event_free(c->cmd_timer);
	event_free(c->life_timer);
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
static void
conn_maybe_free(struct conn *c)
{
	struct timeval tv = { 0, CONN_DRAIN_MS * 1000 };

	if (c->worker_busy || c->commit_done)
		return;
	if (c->closing && !c->gone && c->is_tls && !c->tls_shut &&
	    conn_output_pending(c) == 0) {
		/* all replies are out: end TLS cleanly (close_notify) */
		c->tls_shut = true;
		(void)SSL_shutdown(bufferevent_openssl_get_ssl(c->bev));
	}
	if (c->gone || (c->closing && conn_output_pending(c) == 0)) {
		conn_free(c);
		return;
	}
	if (c->closing && c->is_tls)
		(void)event_add(c->defer, &tv);
}

/*
 * conn_settle - after every completion (commit, AUTH, pause): end the
 * connection if it is over, else read on and feed what is buffered.
 */
static void
conn_settle(struct conn *c)
{
	if (c->gone || c->closing || c->session == NULL ||
	    session_is_closed(c->session)) {
		conn_maybe_free(c);
		return;
	}
	if (!c->handshaking && !session_is_busy(c->session)) {
		bufferevent_enable(c->bev, EV_READ);
		conn_process(c);
	}
}

/* conn_sink_line - the human-readable line --sink prints per message:
 * the subject decoded to UTF-8, then every file the message became. */
static void
conn_sink_line(struct conn *c, const struct session_tx *tx)
{
	char addr[SMTP_PATH_MAX + 1], stamp[LOG_TIME_LEN], *subj;
	size_t i;

	(void)log_time_fmt(time(NULL), stamp, sizeof(stamp));
	subj = mime_header_text(tx->subject);
	(void)printf("%s from=<%s> to=", stamp, tx->from_str);
	for (i = 0; i < tx->nrcpt; i++)
		(void)printf("%s<%s>", i > 0 ? "," : "",
		    smtp_addr_fmt(&tx->rcpts[i], addr, sizeof(addr)));
	(void)printf(" subject=\"%s\" size=%llu", subj,
	    (unsigned long long)maildir_size(c->spool));
	for (i = 0; i < maildir_ncopy(c->spool); i++)
		(void)printf(" file=%s", maildir_path(c->spool, i));
	(void)putchar('\n');
	(void)fflush(stdout);
	free(subj);
}

/* conn_defer_cb - deliver a completion, or free a closing connection. */
static void
conn_defer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->commit_done) {
		c->commit_done = false;
		if (c->commit_err == 0) {
			c->env->messages++;
			if (c->cfg->sink)
				conn_sink_line(c, session_tx(c->session));
		}
		conn_log_delivery(c, session_tx(c->session));
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

	if (c->gone)
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

	c->closing = true;
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
	c->tls_switch = true;
}

/* conn_unquote - a local part without its quotes and quoted-pairs. */
static void
conn_unquote(const char *local, char *out, size_t outlen)
{
	size_t o = 0;
	const char *p;

	for (p = local; *p != '\0' && o + 1 < outlen; p++) {
		if (*p == '"')
			continue;
		if (*p == '\\' && p[1] != '\0')
			p++;
		out[o++] = *p;
	}
	out[o] = '\0';
}

/* conn_untag - user+tag is delivered to user (recipient_delimiter); the
 * tag stays in Delivered-To. */
static void
conn_untag(const struct conn *c, char *local)
{
	const char *d = c->cfg->recipient_delimiter;

	if (d != NULL && local[0] != '\0' && local[0] != d[0])
		local[strcspn(local, d)] = '\0';
}

/* conn_is_remote - a recipient for the outbound queue (relayed mail). */
static bool
conn_is_remote(const struct conn *c, const struct smtp_addr *a)
{
	return !c->cfg->sink && c->cfg->queue != NULL &&
	    !conf_is_local_domain(c->cfg, a->domain);
}

/*
 * conn_log_delivery - after the commit: one line per recipient, with the
 * file its copy went to (the copies are numbered as conn_op_spool_open
 * made them: one per local recipient, one for all the remote ones), or
 * status=deferred when the commit failed (the client was told 4xx).
 */
static void
conn_log_delivery(const struct conn *c, const struct session_tx *tx)
{
	char to[SMTP_PATH_MAX + 1];
	size_t i, n = 0, q = SIZE_MAX, copy;
	bool remote;

	for (i = 0; i < tx->nrcpt; i++) {
		remote = conn_is_remote(c, &tx->rcpts[i]);
		if (remote && q == SIZE_MAX)
			q = n++;
		copy = remote ? q : n++;
		log_event(LOG_LEVEL_INFO, c->id, "event=delivery",
		    LOG_TOK("id", tx->queue_id),
		    LOG_ADDR("to", smtp_addr_fmt(&tx->rcpts[i], to,
		    sizeof(to))), LOG_TOK("relay", remote ? "queue" : "maildir"),
		    LOG_TOK("status", c->commit_err != 0 ? "deferred" :
		    remote ? "queued" : "sent"),
		    c->commit_err != 0 ? LOG_Q("error", strerror(c->commit_err)) :
		    LOG_Q("file", maildir_path(c->spool, copy)));
	}
}

/*
 * conn_envelope - the queue copy's envelope (inlet.conf(5), QUEUE): one
 * "key value" per line; recipients of the queue only.
 */
static void
conn_envelope(const struct conn *c, const struct session_tx *tx,
    struct buf *b)
{
	char stamp[LOG_TIME_LEN], addr[SMTP_PATH_MAX + 1];
	size_t i;

	(void)log_time_fmt(time(NULL), stamp, sizeof(stamp));
	(void)buf_addf(b, "queue-id %s\narrival %s\nclient %s\nuser %s\n"
	    "sender <%s>\n", tx->queue_id, stamp, c->addr,
	    tx->auth_user != NULL ? tx->auth_user : "-", tx->from_str);
	for (i = 0; i < tx->nrcpt; i++)
		if (conn_is_remote(c, &tx->rcpts[i]))
			(void)buf_addf(b, "recipient <%s>\n", smtp_addr_fmt(
			    &tx->rcpts[i], addr, sizeof(addr)));
}

/*
 * conn_op_spool_open - session_ops.spool_open: one copy per local
 * recipient in its Maildir, and one copy for all the remote ones in the
 * queue (with their envelope).
 */
static int
conn_op_spool_open(void *ctx, const struct session_tx *tx)
{
	struct conn *c = ctx;
	struct maildir_rcpt *rc;
	char (*dirs)[PATH_MAX];
	char (*addrs)[SMTP_PATH_MAX + 1];
	char local[SMTP_LOCAL_MAX + 1];
	struct buf env;
	size_t i, n = 0, q = SIZE_MAX;
	int err = 0;

	rc = calloc(tx->nrcpt, sizeof(*rc));
	/* Written before they are read: no need to clear 4 KiB a recipient
	 * (nrcpt <= recipient_limit, so the products cannot overflow). */
	dirs = malloc(tx->nrcpt * sizeof(*dirs));
	addrs = malloc(tx->nrcpt * sizeof(*addrs));
	if (rc == NULL || dirs == NULL || addrs == NULL)
		log_fatal("out of memory (recipients)");
	buf_init(&env, SIZE_MAX);
	for (i = 0; i < tx->nrcpt && err == 0; i++) {
		if (conn_is_remote(c, &tx->rcpts[i])) {
			if (q != SIZE_MAX)
				continue;	/* one queue copy for all */
			q = n;
			conn_envelope(c, tx, &env);
			(void)snprintf(dirs[n], sizeof(dirs[n]), "%s",
			    c->cfg->queue);
			rc[n].envelope = buf_cstr(&env);
		} else {
			conn_unquote(tx->rcpts[i].local, local, sizeof(local));
			conn_untag(c, local);
			if (maildir_expand(c->cfg->maildir, local,
			    tx->rcpts[i].domain, dirs[n], sizeof(dirs[n])) != 0)
				err = ENAMETOOLONG;
		}
		rc[n].dir = dirs[n];
		rc[n].addr = smtp_addr_fmt(&tx->rcpts[i], addrs[n],
		    sizeof(addrs[n]));
		n++;
	}
	if (err == 0)
		err = maildir_open(&c->spool, tx->from_str, rc, n,
		    c->cfg->hostname, &c->env->seq);
	buf_release(&env);
	free(rc);
	free(dirs);
	free(addrs);
	return err;
}

/* conn_op_spool_write - session_ops.spool_write */
static int
conn_op_spool_write(void *ctx, const char *data, size_t len)
{
	struct conn *c = ctx;

	return maildir_write(c->spool, data, len);
}

/* conn_commit_work - on a worker thread: fsync, link, fsync of new/.
 * Touches only c->spool and c->commit_err, which the loop thread leaves
 * alone while the session is in SESSION_ST_COMMIT. */
static void
conn_commit_work(void *arg)
{
	struct conn *c = arg;

	c->commit_err = maildir_commit(c->spool);
}

/* conn_commit_finished - back on the loop thread: deliver the result. */
static void
conn_commit_finished(void *arg)
{
	struct conn *c = arg;

	c->worker_busy = false;
	if (c->commit_err != 0)
		maildir_abort(&c->spool);
	c->commit_done = true;
	conn_defer_cb(-1, 0, c);
}

/*
 * conn_op_spool_commit - session_ops.spool_commit: the commit runs on a
 * worker thread; the 250 goes out from its completion on the loop.
 * While it runs every other session is served.
 */
static void
conn_op_spool_commit(void *ctx, const struct session_tx *tx)
{
	struct conn *c = ctx;

	(void)tx;
	if (c->env->workq != NULL) {
		c->worker_busy = true;
		workq_submit(c->env->workq, conn_commit_work,
		    conn_commit_finished, c);
		return;
	}
	conn_commit_work(c);
	if (c->commit_err != 0)
		maildir_abort(&c->spool);
	c->commit_done = true;
	event_active(c->defer, EV_TIMEOUT, 0);
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

/* conn_auth_sess - the session's SASL state, made on first use. */
static struct auth_sess *
conn_auth_sess(struct conn *c)
{
	char remote[80];

	if (c->auth == NULL && c->env->auth != NULL) {
		(void)snprintf(remote, sizeof(remote), "%s;%u", c->addr, c->port);
		c->auth = auth_sess_new(c->env->auth, c->cfg, c->id, NULL,
		    remote, c->ssf);
	}
	return c->auth;
}

/* conn_op_auth_mechs - session_ops.auth_mechs */
static const char *
conn_op_auth_mechs(void *ctx)
{
	struct auth_sess *a = conn_auth_sess(ctx);

	return a != NULL ? auth_sess_mechs(a) : "";
}

/* conn_auth_done_cb - hand an AUTH result to the session. */
static void
conn_auth_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	session_auth_done(c->session, c->auth_res, c->auth_out.len > 0 ||
	    c->auth_res == SESSION_AUTH_CONTINUE ? buf_cstr(&c->auth_out) :
	    NULL);
	conn_settle(c);
}

/*
 * conn_auth_deliver - schedule the result: on the next loop turn, or for
 * a failed login after a delay that grows with each failure from this
 * address; at auth_fail_limit the address is banned (421 4.7.0).  One
 * line per failure, fail2ban-ready; never the password.
 */
static void
conn_auth_deliver(struct conn *c, enum session_auth_result r)
{
	struct timeval tv = { 0, 0 };
	unsigned fails = 0;
	int delay;

	if (r == SESSION_AUTH_FAIL) {
		delay = throttle_fail(c->env->throttle, c->addr, time(NULL),
		    c->cfg->auth_fail_limit, c->cfg->auth_ban_time, &fails);
		if (delay < 0)
			log_event(LOG_LEVEL_INFO, c->id, "event=auth-ban",
			    LOG_TOK("client", c->addr), LOG_U("fails", fails),
			    LOG_U("seconds", c->cfg->auth_ban_time));
		log_event(LOG_LEVEL_INFO, c->id, "event=auth-failed",
		    LOG_TOK("client", c->addr),
		    LOG_Q("user", auth_sess_login(c->auth)),
		    LOG_TOK("mech", auth_sess_mech(c->auth)),
		    LOG_U("fails", fails), LOG_SECS("delay", delay < 0 ? 0 :
		    delay));
		if (delay < 0)
			r = SESSION_AUTH_BANNED;
		else
			tv.tv_sec = delay;
	} else if (r == SESSION_AUTH_OK) {
		log_event(LOG_LEVEL_INFO, c->id, "event=auth",
		    LOG_TOK("client", c->addr),
		    LOG_QN("user", c->auth_out.data, c->auth_out.len),
		    LOG_TOK("mech", auth_sess_mech(c->auth)));
	}
	c->auth_res = r;
	(void)evtimer_add(c->auth_ev, &tv);
}

/* conn_op_auth_start - session_ops.auth_start */
static void
conn_op_auth_start(void *ctx, const char *mech, const char *ir, size_t irlen)
{
	struct conn *c = ctx;
	struct auth_sess *a = conn_auth_sess(c);

	buf_reset(&c->auth_out);
	if (a == NULL) {
		conn_auth_deliver(c, SESSION_AUTH_TEMP);
		return;
	}
	conn_auth_deliver(c, auth_sess_start(a, mech, ir, irlen, &c->auth_out));
}

/* conn_op_auth_step - session_ops.auth_step */
static void
conn_op_auth_step(void *ctx, const char *resp, size_t len)
{
	struct conn *c = ctx;

	buf_reset(&c->auth_out);
	conn_auth_deliver(c, auth_sess_step(c->auth, resp, len, &c->auth_out));
}

/* conn_pause_cb - the pause is over: greet, or resume the session. */
static void
conn_pause_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->greet_pending) {
		c->greet_pending = false;
		session_start(c->session);
	} else {
		session_resume(c->session);
	}
	conn_settle(c);
}

/* conn_op_pause - session_ops.pause: one second. */
static void
conn_op_pause(void *ctx)
{
	struct conn *c = ctx;
	struct timeval tv = { 1, 0 };

	(void)evtimer_add(c->pause_ev, &tv);
}

/* conn_op_auth_abort - session_ops.auth_abort */
static void
conn_op_auth_abort(void *ctx)
{
	struct conn *c = ctx;

	(void)evtimer_del(c->auth_ev);
	if (c->auth != NULL)
		auth_sess_abort(c->auth);
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
};

/* conn_ssl_errors - libevent's queued OpenSSL errors as one line. */
static void
conn_ssl_errors(struct conn *c, char *buf, size_t len)
{
	unsigned long e;
	size_t o = 0;

	buf[0] = '\0';
	while ((e = bufferevent_get_openssl_error(c->bev)) != 0) {
		if (ERR_GET_LIB(e) == 0 || o + 3 >= len)
			continue;	/* libevent's SSL_get_error entry */
		if (o > 0)
			buf[o++] = ' ';
		ERR_error_string_n(e, buf + o, len - o);
		o += strlen(buf + o);
	}
	if (o == 0)
		(void)snprintf(buf, len, "%s", EVUTIL_SOCKET_ERROR() != 0 ?
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()) :
		    "connection closed during the handshake");
}

/* conn_tls_failed - the handshake failed or timed out: log and go. */
static void
conn_tls_failed(struct conn *c, short what)
{
	char why[512];

	if ((what & BEV_EVENT_TIMEOUT) != 0)
		(void)snprintf(why, sizeof(why), "handshake timeout");
	else if ((what & BEV_EVENT_EOF) != 0)
		(void)snprintf(why, sizeof(why), "connection closed during the "
		    "handshake");
	else
		conn_ssl_errors(c, why, sizeof(why));
	log_event(LOG_LEVEL_INFO, c->id, "event=tls-failed",
	    LOG_TOK("client", c->addr), LOG_Q("reason", why));
	c->handshaking = false;
	c->gone = true;
	if (c->session != NULL) {
		session_starttls_done(c->session, NULL);
		session_eof(c->session);
	}
	conn_maybe_free(c);
}

/* conn_tls_done - the handshake finished: greet, or resume the session
 * from scratch (RFC 3207 §4.2). */
static void
conn_tls_done(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	struct session_tls_info info;

	info.version = SSL_get_version(ssl);
	info.cipher = SSL_get_cipher_name(ssl);
	info.bits = SSL_get_cipher_bits(ssl, NULL);
	log_event(LOG_LEVEL_INFO, c->id, "event=tls",
	    LOG_TOK("version", info.version), LOG_TOK("cipher", info.cipher),
	    LOG_I("bits", info.bits), LOG_Q("sni", sni));
	c->handshaking = false;
	c->ssf = info.bits;
	tls_unref(&c->tls);
	auth_sess_free(&c->auth);	/* RFC 3207 §4.2: SASL state anew */
	if (c->session == NULL)
		conn_start(c, &info);
	else
		session_starttls_done(c->session, &info);
	conn_process(c);
}

/*
 * conn_starttls_begin - after "220 Ready to start TLS": throw away every
 * byte the client sent after STARTTLS (RFC 3207 §4.2, CVE-2011-0411),
 * then wrap the connection in a TLS filter and start the handshake.  The
 * 220 already sits in the plain output, ahead of the TLS bytes.
 */
static void
conn_starttls_begin(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t junk = evbuffer_get_length(in);
	struct bufferevent *f;

	c->tls_switch = false;
	if (junk > 0) {
		log_event(LOG_LEVEL_INFO, c->id, "event=starttls-purge",
		    LOG_U("bytes", junk));
		(void)evbuffer_drain(in, junk);
	}
	f = bufferevent_openssl_filter_new(c->env->base, c->bev,
	    tls_ssl_new(c->tls), BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (f == NULL)
		log_fatal("out of memory (TLS filter)");
	bufferevent_openssl_set_allow_dirty_shutdown(f, 1);
	/* Bound the plain layer below the filter too: TLS records wait in it
	 * at most CONN_UNDER_HIGH (the rest stays above, in the filter's
	 * output, where conn_process sees it), and it reads no more than
	 * CONN_IN_HIGH ahead of what the filter took. */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, CONN_UNDER_HIGH);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CONN_IN_HIGH);
	c->bev = f;
	c->is_tls = true;
	c->handshaking = true;
	conn_setup_bev(c);
}

/*
 * conn_process - feed buffered input to the session until it is empty,
 * the session waits for a completion or closes, or our output backs up.
 */
static void
conn_process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t avail, used;
	char *p;

	if (c->session == NULL || c->handshaking)
		return;		/* no application data before the handshake */
	if (c->greet_pending) {	/* talked before the greeting */
		if (evbuffer_get_length(in) == 0)
			return;
		c->greet_pending = false;
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
	if (c->tls_switch) {
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
	if (c->closing) {
		conn_maybe_free(c);
		return;
	}
	if (c->session != NULL && !c->handshaking &&
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
	if (c->handshaking) {
		conn_tls_failed(c, what);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) != 0 && !c->closing) {
		session_timeout(c->session);
		bufferevent_enable(c->bev, EV_WRITE);
		return;
	}
	if ((what & BEV_EVENT_ERROR) != 0 && log_enabled(LOG_LEVEL_DEBUG))
		log_event(LOG_LEVEL_DEBUG, c->id, "event=socket-error",
		    LOG_Q("error", evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR())));
	c->gone = true;
	session_eof(c->session);
	conn_maybe_free(c);
}

/* conn_addr_fmt - numeric address and port; v4-mapped shown as v4. */
static void
conn_addr_fmt(const struct sockaddr *sa, char *out, size_t outlen,
    unsigned *port_out)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	*port_out = 0;
	(void)snprintf(out, outlen, "unknown");
	if (sa->sa_family == AF_INET) {
		(void)inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)outlen);
		*port_out = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			(void)inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12],
			    out, (socklen_t)outlen);
		else
			(void)inet_ntop(AF_INET6, &sin6->sin6_addr, out,
			    (socklen_t)outlen);
		*port_out = ntohs(sin6->sin6_port);
	}
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

/* conn_count_ip - how many connections this address has now. */
static unsigned
conn_count_ip(const struct conn_env *env, const char *addr)
{
	const struct conn *c;
	unsigned n = 0;

	TAILQ_FOREACH(c, &env->conns, entry)
		if (strcmp(c->addr, addr) == 0)
			n++;
	return n;
}

/* conn_refuse - answer 421 straight on the socket and close it. */
static void
conn_refuse(struct conn_env *env, int fd, const char *addr,
    const char *why, enum smtp_reply_id id)
{
	struct buf b;
	ssize_t n;

	log_event(LOG_LEVEL_INFO, NULL, "event=refused", LOG_TOK("client", addr),
	    LOG_TOK("reason", why));
	buf_init(&b, 512);
	if (smtp_reply_fmt(&b, id, env->cfg->hostname) == 0)
		n = write(fd, b.data, b.len);	/* best effort, non-blocking */
	(void)n;
	buf_release(&b);
	evutil_closesocket(fd);
}

/* conn_start - create the session and send the greeting; info is the
 * finished handshake of an implicit-TLS connection, else NULL. */
static void
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
	c->session = session_new(&p, &conn_session_ops, c);
	if (c->cfg->greet_pause > 0 && info == NULL) {
		struct timeval tv = { (time_t)c->cfg->greet_pause, 0 };

		c->greet_pending = true;	/* postscreen-style pregreet test */
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
static void
conn_setup_bev(struct conn *c)
{
	struct timeval tv = { (time_t)c->cfg->command_timeout, 0 };

	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CONN_IN_HIGH);
	bufferevent_enable(c->bev, c->is_tls ? EV_READ | EV_WRITE : EV_READ);
}

void
conn_accept(struct conn_env *env, int fd, const struct sockaddr *sa,
    socklen_t salen, enum conf_role role, bool tls)
{
	const struct config *cfg = env->cfg;
	struct conn *c;
	char addr[INET6_ADDRSTRLEN];
	unsigned port;

	(void)salen;
	conn_addr_fmt(sa, addr, sizeof(addr), &port);
	if (env->stopping || env->nconns >= cfg->max_connections) {
		conn_refuse(env, fd, addr, "max_connections",
		    SMTP_R_TOO_MANY_CONN);
		return;
	}
	if (cfg->max_connections_per_ip > 0 &&
	    conn_count_ip(env, addr) >= cfg->max_connections_per_ip) {
		conn_refuse(env, fd, addr, "max_connections_per_ip",
		    SMTP_R_TOO_MANY_CONN);
		return;
	}
	if (env->throttle != NULL &&
	    throttle_is_banned(env->throttle, addr, time(NULL))) {
		if (role == CONF_ROLE_SUBMISSIONS) {	/* no clear text on 465 */
			log_event(LOG_LEVEL_INFO, NULL, "event=refused",
			    LOG_TOK("client", addr),
			    LOG_TOK("reason", "auth-ban"));
			evutil_closesocket(fd);
			return;
		}
		conn_refuse(env, fd, addr, "auth-ban", SMTP_R_AUTH_BANNED);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		log_fatal("out of memory (connection)");
	c->env = env;
	c->cfg = cfg;
	c->cfg_ref = env->cfg_ref;
	if (c->cfg_ref != NULL)
		c->cfg_ref->refs++;
	c->role = role;
	c->port = port;
	c->started = time(NULL);
	(void)snprintf(c->addr, sizeof(c->addr), "%s", addr);
	conn_new_id(env, c->id);
	c->tls = tls ? tls_ref(env->tls) : NULL;
	c->handshaking = role == CONF_ROLE_SUBMISSIONS;
	c->is_tls = c->handshaking;
	c->bev = c->handshaking ? bufferevent_openssl_socket_new(env->base, fd,
	    tls_ssl_new(c->tls), BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE) :
	    bufferevent_socket_new(env->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->defer = event_new(env->base, -1, 0, conn_defer_cb, c);
	c->body_timer = evtimer_new(env->base, conn_body_timeout_cb, c);
	c->auth_ev = evtimer_new(env->base, conn_auth_done_cb, c);
	c->pause_ev = evtimer_new(env->base, conn_pause_cb, c);
	c->cmd_timer = evtimer_new(env->base, conn_cmd_timeout_cb, c);
	c->life_timer = evtimer_new(env->base, conn_life_timeout_cb, c);
	buf_init(&c->auth_out, 16384);
	if (c->bev == NULL || c->defer == NULL || c->body_timer == NULL ||
	    c->auth_ev == NULL || c->pause_ev == NULL || c->cmd_timer == NULL ||
	    c->life_timer == NULL)
		log_fatal("out of memory (bufferevent)");
	conn_arm_cmd_timer(c);		/* the handshake or the first command */
	{
		struct timeval life = { (time_t)cfg->session_timeout, 0 };

		(void)evtimer_add(c->life_timer, &life);
	}
	TAILQ_INSERT_TAIL(&env->conns, c, entry);
	env->nconns++;
	log_event(LOG_LEVEL_INFO, c->id, "event=connect",
	    LOG_TOK("client", c->addr), LOG_U("port", c->port),
	    LOG_TOK("role", conf_role_name(c->role)));
	if (c->is_tls)
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	conn_setup_bev(c);
	if (!c->handshaking)
		conn_start(c, NULL);
}

void
conn_env_set_cfg(struct conn_env *env, struct config *cfg)
{
	struct conn_cfg *cc = NULL;

	if (cfg != NULL) {
		cc = calloc(1, sizeof(*cc));
		if (cc == NULL)
			log_fatal("out of memory (configuration)");
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
		if (c->session == NULL || c->handshaking) {
			c->gone = true;		/* nothing to say in clear */
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

	TAILQ_FOREACH(c, &env->conns, entry)
		maildir_abort(&c->spool);
}
