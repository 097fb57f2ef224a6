/* SPDX-License-Identifier: ISC */
/*
 * conn_auth - the AUTH ops of a connection (RFC 4954) on the auth
 * module's interface, and the failed-login throttle (throttle.h): a
 * result reaches the session on a later loop turn, or after the delay a
 * failure earns; at auth_fail_limit the address is banned.  Part of conn
 * (conn_impl.h).
 */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include "auth.h"
#include "conn_impl.h"
#include "log.h"
#include "throttle.h"

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
const char *
conn_op_auth_mechs(void *ctx)
{
	struct auth_sess *a = conn_auth_sess(ctx);

	return a != NULL ? auth_sess_mechs(a) : "";
}

/* conn_auth_done_cb - hand an AUTH result to the session. */
void
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
void
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
void
conn_op_auth_step(void *ctx, const char *resp, size_t len)
{
	struct conn *c = ctx;

	buf_reset(&c->auth_out);
	conn_auth_deliver(c, auth_sess_step(c->auth, resp, len, &c->auth_out));
}

/* conn_op_auth_abort - session_ops.auth_abort */
void
conn_op_auth_abort(void *ctx)
{
	struct conn *c = ctx;

	(void)evtimer_del(c->auth_ev);
	if (c->auth != NULL)
		auth_sess_abort(c->auth);
}
