/* SPDX-License-Identifier: ISC */
/*
 * conn_impl - the connection as conn.c, conn_tls.c and conn_auth.c share
 * it; no other module includes this.  conn.c owns the lifecycle (one
 * phase, one end: conn_settle after every completion, conn_maybe_free
 * the only place a connection is freed); conn_tls.c the handshake and
 * the STARTTLS switch; conn_auth.c the AUTH ops and the login throttle;
 * conn_deadline.c the timers.
 */
#ifndef INLET_CONN_IMPL_H
#define INLET_CONN_IMPL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "buf.h"
#include "conn.h"
#include "session.h"

#define CONN_IN_HIGH	(64 * 1024)	/* read no more while this waits */
#define CONN_UNDER_HIGH	(16 * 1024)	/* TLS records queued below a filter */

/*
 * A connection's life, one phase at a time (conn_set_phase).  The last
 * three end it, in this order: once a connection is ending it never goes
 * back, so whatever comes late (an event, a completion) finds it ending.
 */
enum conn_phase {
	CONN_HANDSHAKE,		/* a TLS handshake runs (465, or STARTTLS) */
	CONN_GREET_PAUSE,	/* greet_pause: the banner waits */
	CONN_RUNNING,		/* the session is fed */
	CONN_TLS_SWITCH,	/* STARTTLS accepted: switch once fed */
	CONN_CLOSING,		/* reading stopped: flush, then free */
	CONN_TLS_SHUT,		/* closing, close_notify queued */
	CONN_GONE,		/* the client went away: free now */
};

/* A commit in flight holds the connection: conn_maybe_free waits. */
enum conn_commit {
	CONN_COMMIT_NONE,
	CONN_COMMIT_RUNNING,	/* a worker thread has c->spool */
	CONN_COMMIT_DONE,	/* the result waits for delivery */
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
	struct maildir_spool	*spool;
	int			 commit_err;
	enum conn_commit	 commit;
	struct hook		*hook;		/* the data_hook running, or NULL */
	struct buf		 hook_hdrs;	/* its header lines, to prepend */
	struct event		*cmd_timer;	/* command_timeout deadline */
	struct event		*life_timer;	/* session_timeout ceiling */
	enum conn_phase		 phase;
	bool			 is_tls;	/* c->bev is an SSL bufferevent */
	struct tls		*tls;		/* held until the handshake ends */
	int			 ssf;		/* TLS cipher bits, 0 before */
	struct auth_sess	*auth;		/* SASL state, made on demand */
	struct event		*auth_ev;	/* delivers an AUTH result */
	struct buf		 auth_out;	/* its challenge or user */
	enum session_auth_result auth_res;
	struct event		*pause_ev;	/* error-budget pause, greet_pause */
	struct milter_set	*milters;	/* NULL: no filters */
	struct buf		 milter_msg;	/* the message, for them */
	bool			 quarantined;	/* c->spool: quarantine */
	enum conf_role		 role;
	char			 id[SESSION_ID_LEN + 1];
	char			 addr[INET6_ADDRSTRLEN];
	unsigned		 port;
	time_t			 started;
};

/*
 * conn.c, the lifecycle:
 * conn_is_ending - closing, or gone: nothing more is read or started.
 * conn_set_phase - move to phase to, logged at debug level; an ending
 *	connection only moves further towards its end.
 * conn_maybe_free - the one place a connection ends (see conn.c).
 * conn_settle - after every completion: end, or read on.
 * conn_start - create the session and greet (info: implicit TLS).
 * conn_process - feed buffered input to the session.
 * conn_setup_bev - callbacks, timeouts and reading on c->bev.
 */
bool	conn_is_ending(const struct conn *c);
void	conn_set_phase(struct conn *c, enum conn_phase to);
void	conn_maybe_free(struct conn *c);
void	conn_settle(struct conn *c);
void	conn_start(struct conn *c, const struct session_tls_info *info);
void	conn_process(struct conn *c);
void	conn_setup_bev(struct conn *c);

/*
 * conn_deadline.c, the timers of command_timeout, session_timeout and
 * data_timeout: made and armed with the connection (conn_deadline_start),
 * freed with it (conn_deadline_stop).  conn_arm_cmd_timer restarts
 * command_timeout: the time the client has to complete its next command
 * (or the TLS handshake), restarted by each reply, never by the client's
 * bytes, so trickling a command one byte at a time does not stretch it.
 * conn_watch_body arms data_timeout when a body starts, disarms it after.
 *
 * conn_tls.c: the handshake finished (conn_tls_done), failed or timed
 * out (conn_tls_failed), or is to begin after STARTTLS
 * (conn_starttls_begin).
 */
void	conn_deadline_start(struct conn *c);
void	conn_deadline_stop(struct conn *c);
void	conn_arm_cmd_timer(struct conn *c);
void	conn_watch_body(struct conn *c);
void	conn_tls_done(struct conn *c);
void	conn_tls_failed(struct conn *c, short what);
void	conn_starttls_begin(struct conn *c);

/*
 * conn.c: conn_commit_submit - make the spool durable (on a worker
 * thread); the result comes back through the commit's completion.
 * conn_hook.c: conn_hook_start - run the data_hook on the spooled
 * message, then conn_commit_submit() or refuse it (session).
 */
void	conn_commit_submit(struct conn *c);
void	conn_hook_start(struct conn *c, const struct session_tx *tx);

/*
 * conn.c: conn_op_spool_open, session_ops.spool_open (the plan of tx
 * opened as c->spool).  conn_milter.c: the end-of-message edits of the
 * milters applied before the commit (conn_milter_eom: the spool written
 * anew, or a refusal in *v), and the log line of a quarantined message.
 */
int	conn_op_spool_open(void *ctx, const struct session_tx *tx);
void	conn_milter_eom(struct conn *c, struct session_filter_verdict *v);
void	conn_milter_log_quarantine(struct conn *c);

/* conn_auth.c: session_ops for AUTH, and the timer that delivers. */
const char *conn_op_auth_mechs(void *ctx);
void	conn_op_auth_start(void *ctx, const char *mech, const char *ir,
	    size_t irlen);
void	conn_op_auth_step(void *ctx, const char *resp, size_t len);
void	conn_op_auth_abort(void *ctx);
void	conn_auth_done_cb(evutil_socket_t fd, short what, void *arg);

#endif
