/* SPDX-License-Identifier: ISC */
/*
 * conn_deadline - a connection's three deadlines: command_timeout for
 * each command (and a handshake), session_timeout for the whole
 * connection, data_timeout for one DATA/BDAT body.  Each is a timer
 * conn_free() cancels, so none holds a connection alive.  Part of conn
 * (conn_impl.h).
 */
#include "config.h"

#include <event2/event.h>

#include "conn_impl.h"
#include "log.h"

void
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
	switch (c->phase) {
	case CONN_HANDSHAKE:
		conn_tls_failed(c, BEV_EVENT_TIMEOUT);
		break;
	case CONN_GREET_PAUSE:
	case CONN_RUNNING:
	case CONN_TLS_SWITCH:
		if (session_is_busy(c->session) || session_in_body(c->session))
			conn_arm_cmd_timer(c);
		else
			session_timeout(c->session);
		break;
	case CONN_CLOSING:
	case CONN_TLS_SHUT:
	case CONN_GONE:
		break;
	}
}

/* conn_life_timeout_cb - the connection reached session_timeout; in a
 * handshake there is nothing to say in clear. */
static void
conn_life_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (conn_is_ending(c))
		return;
	if (c->phase != CONN_HANDSHAKE) {
		session_expire(c->session);
		return;
	}
	log_event(LOG_LEVEL_INFO, c->id, "event=session-timeout",
	    LOG_TOK("state", "handshake"), LOG_TOK("client", c->addr));
	conn_set_phase(c, CONN_GONE);
	conn_maybe_free(c);
}

/* conn_body_timeout_cb - a DATA/BDAT phase ran past data_timeout. */
static void
conn_body_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	const struct conn *c = arg;

	(void)fd;
	(void)what;
	if (session_in_body(c->session))
		session_timeout(c->session);
}

void
conn_watch_body(struct conn *c)
{
	struct timeval tv = { (time_t)c->cfg->data_timeout, 0 };
	bool in_body = session_in_body(c->session);
	bool armed = evtimer_pending(c->body_timer, NULL) != 0;

	if (in_body && !armed)
		(void)evtimer_add(c->body_timer, &tv);
	else if (!in_body && armed)
		(void)evtimer_del(c->body_timer);
}

void
conn_deadline_start(struct conn *c)
{
	struct event_base *base = c->env->base;
	struct timeval life = { (time_t)c->cfg->session_timeout, 0 };

	c->cmd_timer = evtimer_new(base, conn_cmd_timeout_cb, c);
	c->life_timer = evtimer_new(base, conn_life_timeout_cb, c);
	c->body_timer = evtimer_new(base, conn_body_timeout_cb, c);
	if (c->cmd_timer == NULL || c->life_timer == NULL ||
	    c->body_timer == NULL)
		log_fatal("out of memory (timers)");
	conn_arm_cmd_timer(c);		/* the handshake or the first command */
	(void)evtimer_add(c->life_timer, &life);
}

void
conn_deadline_stop(struct conn *c)
{
	event_free(c->body_timer);
	event_free(c->cmd_timer);
	event_free(c->life_timer);
	c->body_timer = c->cmd_timer = c->life_timer = NULL;
}
