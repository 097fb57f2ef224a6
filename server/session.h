/* SPDX-License-Identifier: ISC */
/*
 * session - the SMTP server state machine of one connection.
 *
 * Pure: bytes in through session_feed(), effects out through struct
 * session_ops, completions of asynchronous effects back in through the
 * session_*_done() calls (always on a later event-loop turn, never from
 * inside an op).  Owns the command table (RFC 5321 §4.1, RFC 3207
 * STARTTLS, RFC 3030 BDAT, RFC 2920 pipelining), the per-role policy,
 * the EHLO list, the STARTTLS input purge and the error budget.  No
 * libevent, OpenSSL or SASL here, and no file or network I/O.
 */
#ifndef INLET_SESSION_H
#define INLET_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "envelope.h"
#include "route.h"
#include "smtp_cmd.h"
#include "smtp_reply.h"

struct chaos;

#define SESSION_ID_LEN		16	/* hex digits */
#define SESSION_QID_LEN		16	/* hex digits */
#define SESSION_SUBJECT_MAX	200

enum session_state {
	SESSION_ST_GREETED,	/* greeting sent, no HELO/EHLO yet */
	SESSION_ST_READY,	/* HELO/EHLO done, no transaction */
	SESSION_ST_MAIL,	/* MAIL accepted, no recipient yet */
	SESSION_ST_RCPT,	/* at least one recipient accepted */
	SESSION_ST_DATA,	/* reading a DATA body */
	SESSION_ST_BDAT,	/* reading a BDAT chunk */
	SESSION_ST_COMMIT,	/* waiting for session_commit_done() */
	SESSION_ST_TLS,		/* waiting for session_starttls_done() */
	SESSION_ST_AUTH,	/* 334 sent: reading an AUTH response line */
	SESSION_ST_AUTH_WAIT,	/* waiting for session_auth_done() */
	SESSION_ST_CLOSED,	/* closing: input is ignored */
};

/* What the TLS edge tells the session once a handshake is done. */
struct session_tls_info {
	const char	*version;	/* "TLSv1.3" */
	const char	*cipher;	/* "TLS_AES_256_GCM_SHA384" */
	int		 bits;
};

/* How an AUTH exchange step ended (RFC 4954 §4, §6). */
enum session_auth_result {
	SESSION_AUTH_OK,	/* 235 2.7.0; data: the authorization id */
	SESSION_AUTH_CONTINUE,	/* 334; data: the base64 challenge */
	SESSION_AUTH_FAIL,	/* 535 5.7.8 (bad password or unknown user) */
	SESSION_AUTH_BADB64,	/* 501 5.5.2 */
	SESSION_AUTH_TEMP,	/* 454 4.7.0 (backend unavailable) */
	SESSION_AUTH_ENCRYPT,	/* 538 5.7.11 (mechanism needs TLS) */
	SESSION_AUTH_WEAK,	/* 534 5.7.9 */
	SESSION_AUTH_NOMECH,	/* 504 5.5.4 */
	SESSION_AUTH_BANNED,	/* 421 4.7.0, close (too many failures) */
};

/* A recipient's RFC 3461 parameters. */
struct session_rcpt_dsn {
	unsigned	 notify;	/* SMTP_NOTIFY_* bits, 0 = not given */
	char		*orcpt;		/* ORCPT= as given, or NULL */
};

/* One transaction (MAIL ... end of data), readable by the edges. */
struct session_tx {
	struct smtp_addr from;
	char		 from_str[SMTP_PATH_MAX + 1];	/* "" for <> */
	struct smtp_addr *rcpts;	/* accepted recipients, in order */
	struct route	*routes;	/* the plan of each (route.h) */
	size_t		 nrcpt;
	size_t		 rcpt_cap;
	unsigned	 rcpt_tried;	/* RCPT commands seen, good or bad */
	unsigned	 overshoot;	/* RCPTs refused past recipient_limit */
	bool		 smtputf8;
	enum smtp_body	 body;
	char		 queue_id[SESSION_QID_LEN + 1];
	bool		 spool_open;
	uint64_t	 size;		/* message octets received */
	char		 subject[SESSION_SUBJECT_MAX + 1];	/* raw, cleaned */
	bool		 bdat;		/* a BDAT was accepted in this tx */
	const char	*auth_user;	/* authorization id, or NULL */
	struct chaos	*chaos;		/* sink_chaos rules (a ref), or NULL */
	enum smtp_ret	 ret;		/* RET= (RFC 3461) */
	char		 envid[SMTP_ENVID_MAX + 1];	/* ENVID=, or "" */
	struct session_rcpt_dsn *dsn;	/* NOTIFY=, ORCPT= of each rcpt */
};

/*
 * Content filters (milters, in the edge): the stages the session stops
 * at, and what the filters decided.  The session asks through
 * ops->filter and waits (busy: no input is read, so pipelined replies
 * stay in order) until session_filter_done() on a later loop turn.
 */
enum session_filter_stage {
	SESSION_FILTER_CONNECT,	/* after the greeting */
	SESSION_FILTER_HELO,	/* HELO/EHLO accepted, before its reply */
	SESSION_FILTER_MAIL,	/* MAIL accepted, before its 250 */
	SESSION_FILTER_RCPT,	/* a recipient routed, before its 250 */
	SESSION_FILTER_EOM,	/* the message spooled, before the commit */
	SESSION_FILTER_ABORT,	/* the transaction ended early (no wait) */
};

enum session_filter_action {
	SESSION_FILTER_CONTINUE,	/* go on (accepted, or not filtered) */
	SESSION_FILTER_REJECT,		/* 550 5.7.1 (554 at connect) */
	SESSION_FILTER_TEMPFAIL,	/* 451 4.7.1 (421 at connect) */
	SESSION_FILTER_CUSTOM,		/* code and text from the filter */
	SESSION_FILTER_DISCARD,		/* EOM: 250, nothing delivered */
	SESSION_FILTER_SHUTDOWN,	/* 421 4.7.0, close */
};

struct session_filter_verdict {
	enum session_filter_action action;
	unsigned	 code;		/* CUSTOM: 4xx or 5xx */
	const char	*text;		/* CUSTOM: sanitised, may be "" */
};

/* What a stage tells the filters (borrowed for the call). */
struct session_filter_args {
	const char	*helo;		/* HELO name, or NULL */
	const char	*addr;		/* MAIL/RCPT path, "<a@b>" */
	const char	*esmtp;		/* MAIL/RCPT parameters, space-sep. */
	const char	*auth_user;	/* authenticated id, or NULL */
	const char	*auth_type;	/* its SASL mechanism, or NULL */
	const char	*tls_version;	/* or NULL */
	const char	*tls_cipher;	/* or NULL */
};

/*
 * The effects a session asks of its connection.  ctx is the pointer given
 * to session_new.  All ops are called from inside session_* calls.
 */
struct session_ops {
	/* queue bytes for the client */
	void	(*send)(void *ctx, const char *data, size_t len);
	/* close the connection once queued output is written */
	void	(*close)(void *ctx);
	/*
	 * STARTTLS accepted and "220" sent: discard every byte still
	 * buffered from the client, start the handshake, and later call
	 * session_starttls_done().
	 */
	void	(*starttls)(void *ctx);
	/* open the spool for tx; 0 or an errno value */
	int	(*spool_open)(void *ctx, const struct session_tx *tx);
	/* append message bytes (LF line ends); 0 or an errno value */
	int	(*spool_write)(void *ctx, const char *data, size_t len);
	/* make it durable; later session_commit_done() */
	void	(*spool_commit)(void *ctx, const struct session_tx *tx);
	/* throw the spool away (tmp files removed) */
	void	(*spool_abort)(void *ctx);
	/* the current time (for the Received: header) */
	time_t	(*now)(void *ctx);
	/* SASL mechanisms to offer now, space-separated ("" for none) */
	const char *(*auth_mechs)(void *ctx);
	/*
	 * start an AUTH exchange: mech upper-cased, ir the initial response
	 * as sent (base64, or "=" for empty; NULL when absent); later
	 * session_auth_done()
	 */
	void	(*auth_start)(void *ctx, const char *mech, const char *ir,
		    size_t irlen);
	/* the client's response line (base64); later session_auth_done() */
	void	(*auth_step)(void *ctx, const char *resp, size_t len);
	/* the exchange ended early (cancelled, line too long, closed) */
	void	(*auth_abort)(void *ctx);
	/*
	 * hold everything for ms milliseconds (a second when the error
	 * budget is half spent; a sink_chaos delay), then call
	 * session_resume() (replies stay queued until then)
	 */
	void	(*pause)(void *ctx, unsigned ms);
	/*
	 * optional (NULL: no filters): a filter stage; true when the
	 * answer will come through session_filter_done(), false to go on
	 * at once (no filter, or none waits at this stage)
	 */
	bool	(*filter)(void *ctx, enum session_filter_stage stage,
		    const struct session_filter_args *args);
};

struct session_params {
	const struct config *cfg;	/* borrowed; outlives the session */
	enum conf_role	 role;
	const char	*id;		/* SESSION_ID_LEN hex digits, copied */
	const char	*client_addr;	/* "192.0.2.1" / "2001:db8::1", copied */
	bool		 tls_active;	/* implicit TLS: already encrypted */
	bool		 tls_available;	/* STARTTLS may be offered */
	const struct session_tls_info *tls;	/* when tls_active */
	/* sink mode: the live sink_chaos rules (main's pointer, read at
	 * each MAIL and AUTH; a transaction holds a ref), or NULL */
	struct chaos *const *chaos;
};

struct session;

/* session_new - a session in SESSION_ST_GREETED; nothing is sent yet. */
struct session *session_new(const struct session_params *p,
	    const struct session_ops *ops, void *ctx);

/* session_free - NULL-safe; aborts an open spool; NULLs *sp. */
void	session_free(struct session **sp);

/* session_start - send the 220 greeting. */
void	session_start(struct session *s);

/*
 * session_feed - process client bytes.  Returns how many were consumed;
 * fewer than len when the session is waiting for a completion (COMMIT)
 * or closed, or when it has sent more than 8 KiB of replies in this
 * call (a pipelined run: the caller feeds the rest once its output has
 * drained, which bounds what waits to be sent).  The caller keeps the
 * rest and feeds it again after the completion.  Bytes fed while waiting for a TLS handshake are counted
 * as consumed and discarded (RFC 3207 §4.2, CVE-2011-0411).
 */
size_t	session_feed(struct session *s, const char *data, size_t len);

/* session_commit_done - the spool commit finished: 0 or an errno. */
void	session_commit_done(struct session *s, int err);

/*
 * session_commit_refused - instead of the commit, the message was
 * refused (a data_hook): reply id (arg fills its %s, NULL for its own
 * words); the edge has thrown the spool away.
 */
void	session_commit_refused(struct session *s, enum smtp_reply_id id,
	    const char *arg);

/*
 * session_starttls_done - the handshake finished; NULL info means it
 * failed (the session closes).  All state is forgotten (RFC 3207 §4.2):
 * the client must send EHLO again.
 */
void	session_starttls_done(struct session *s,
	    const struct session_tls_info *info);

/*
 * session_auth_done - an AUTH step finished; data is the challenge
 * (CONTINUE) or the authorization id (OK), else NULL.
 */
void	session_auth_done(struct session *s, enum session_auth_result r,
	    const char *data);

/*
 * session_filter_done - the filters answered the stage asked through
 * ops->filter.  Ignored when nothing waits (the session ended since).
 */
void	session_filter_done(struct session *s,
	    const struct session_filter_verdict *v);

/*
 * The envelope edits a filter may make at end of message, before the
 * commit (edge only, while the EOM answer is pending): the sender, one
 * more recipient with its plan (taken over), or recipient i removed.
 */
void	session_tx_set_sender(struct session *s, const struct smtp_addr *a);
void	session_tx_add_rcpt(struct session *s, const struct smtp_addr *a,
	    const struct route *r);
void	session_tx_del_rcpt(struct session *s, size_t i);

/* session_resume - the pause asked for through ops->pause is over. */
void	session_resume(struct session *s);

/*
 * session_pregreet - the client talked before the greeting (greet_pause):
 * 554 5.5.1 and close, instead of session_start().
 */
void	session_pregreet(struct session *s);

/* session_timeout - the client was idle too long: 421 4.4.2, close. */
void	session_timeout(struct session *s);

/* session_expire - the session ran past session_timeout: 421 4.4.2,
 * close (after the reply of a commit in flight). */
void	session_expire(struct session *s);

/* session_shutdown - the daemon is stopping: 421 4.3.2, close. */
void	session_shutdown(struct session *s);

/* session_eof - the client went away: abort any open spool. */
void	session_eof(struct session *s);

/* session_state - for the edge's flow control and logs. */
enum session_state session_state(const struct session *s);

/* session_is_busy - waiting for a completion: stop reading. */
bool	session_is_busy(const struct session *s);

/* session_is_closed - no more input wanted. */
bool	session_is_closed(const struct session *s);

/* session_in_body - in DATA or BDAT (data timeouts apply). */
bool	session_in_body(const struct session *s);

/* session_helo_name - the client's HELO/EHLO name ("" before one). */
const char *session_helo_name(const struct session *s);

/* session_tx - the current transaction (valid during commit). */
const struct session_tx *session_tx(const struct session *s);

/*
 * session_tx_envelope - the envelope record (envelope.h) of tx into *out
 * (envelope_clear() it after): its queue id, sender, login, BODY,
 * SMTPUTF8 and DSN parameters, with the client's address, the arrival
 * time and the stored size given; the recipients in order, only those
 * planned for the queue when queued_only.  The one builder: the queue
 * and the sink record what it gives.
 */
void	session_tx_envelope(const struct session_tx *tx, const char *client,
	    const char *arrival, uint64_t size, bool queued_only,
	    struct envelope *out);

/* Counters for the disconnect log line. */
struct session_stats {
	unsigned	commands;
	unsigned	errors;
	unsigned	messages;	/* committed */
	unsigned	rcpts;		/* accepted */
	unsigned	rejects;	/* 4xx/5xx replies */
};

const struct session_stats *session_stats(const struct session *s);

#endif
