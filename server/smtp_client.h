/* SPDX-License-Identifier: ISC */
/*
 * smtp_client - the client side of SMTP as a pure state machine: reply
 * bytes in, commands out, one event at a time.  Parses multi-line
 * replies (RFC 5321 §4.2.1) with the core's line splitter, the EHLO
 * keywords (PIPELINING RFC 2920, SIZE RFC 1870, 8BITMIME RFC 6152,
 * CHUNKING/BINARYMIME RFC 3030, SMTPUTF8 RFC 6531, DSN RFC 3461, AUTH
 * RFC 4954, STARTTLS RFC 3207, ENHANCEDSTATUSCODES RFC 2034), writes
 * MAIL/RCPT/DATA (pipelined when offered) and gives a verdict per
 * recipient.  No I/O: the edge moves c->out to the network, runs TLS and
 * SASL, and streams the body through smtp_client_stuff().
 */
#ifndef INLET_SMTP_CLIENT_H
#define INLET_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "envelope.h"
#include "smtp_line.h"

#define SMTP_CLIENT_LINE_MAX	2048	/* a reply line, CRLF included */
#define SMTP_CLIENT_REPLY_MAX	16384	/* a whole multi-line reply */
#define SMTP_CLIENT_MECHS_MAX	256	/* the AUTH keyword's mechanisms */

/* What the server said in its EHLO reply. */
struct smtp_client_ehlo {
	bool		 pipelining, eightbitmime, binarymime, chunking;
	bool		 smtputf8, dsn, starttls, enhanced;
	bool		 has_size;
	uint64_t	 size;		/* SIZE n; 0 = no fixed limit */
	char		 mechs[SMTP_CLIENT_MECHS_MAX]; /* "PLAIN LOGIN" */
};

/* The message's envelope as it is to be sent (borrowed by the client). */
enum smtp_client_body {
	SMTP_CLIENT_BODY_7BIT,
	SMTP_CLIENT_BODY_8BITMIME,
	SMTP_CLIENT_BODY_BINARYMIME,
};

enum smtp_client_ret {
	SMTP_CLIENT_RET_NONE,
	SMTP_CLIENT_RET_FULL,
	SMTP_CLIENT_RET_HDRS,
};

/* The NOTIFY bits are the envelope's (RFC 3461 §4.1). */
#define SMTP_CLIENT_NOTIFY_SUCCESS	ENVELOPE_NOTIFY_SUCCESS
#define SMTP_CLIENT_NOTIFY_FAILURE	ENVELOPE_NOTIFY_FAILURE
#define SMTP_CLIENT_NOTIFY_DELAY	ENVELOPE_NOTIFY_DELAY
#define SMTP_CLIENT_NOTIFY_NEVER	ENVELOPE_NOTIFY_NEVER

/* A recipient's verdict from this transaction. */
enum smtp_client_verdict {
	SMTP_CLIENT_V_NONE,	/* not tried (yet) */
	SMTP_CLIENT_V_SENT,	/* the final reply was 2xx */
	SMTP_CLIENT_V_DEFER,	/* a 4xx (RCPT, MAIL or the DATA phase) */
	SMTP_CLIENT_V_FAIL,	/* a 5xx */
};

struct smtp_client_rcpt {
	const char	*addr;		/* no <> */
	unsigned	 notify;	/* SMTP_CLIENT_NOTIFY_*, 0 = not given */
	const char	*orcpt;		/* "rfc822;addr" xtext, or NULL */
	/* Results, set by the client: */
	enum smtp_client_verdict verdict;
	bool		 accepted;	/* RCPT got 2xx */
	int		 code;		/* the reply that decided it */
	char		 reply[512];	/* "550 5.1.1 text", one line */
};

struct smtp_client_msg {
	const char	*sender;	/* "" for <> */
	enum smtp_client_body body;
	bool		 smtputf8;
	uint64_t	 size;		/* octets; 0 = unknown */
	enum smtp_client_ret ret;
	const char	*envid;		/* xtext, or NULL */
	struct smtp_client_rcpt *rcpts;
	size_t		 nrcpt;
};

/* What smtp_client_feed() reports (after it, send c->out). */
enum smtp_client_event {
	SMTP_CLIENT_MORE,	/* all input used; nothing happened */
	SMTP_CLIENT_READY,	/* ready for a message (smtp_client_send) */
	SMTP_CLIENT_TLS,	/* start TLS now, drop unread input, then
				   smtp_client_tls_done() */
	SMTP_CLIENT_AUTH,	/* choose a mechanism: smtp_client_auth() */
	SMTP_CLIENT_AUTH_STEP,	/* c->reply_text is the base64 challenge:
				   smtp_client_auth_step() */
	SMTP_CLIENT_DATA,	/* send the body (smtp_client_stuff), then
				   smtp_client_data_sent() */
	SMTP_CLIENT_DONE,	/* the message's verdicts are set */
	SMTP_CLIENT_FAIL,	/* the session failed: c->fail_* */
	SMTP_CLIENT_CLOSED,	/* QUIT answered */
};

enum smtp_client_state {
	SMTP_CLIENT_ST_GREETING,
	SMTP_CLIENT_ST_EHLO,
	SMTP_CLIENT_ST_STARTTLS,
	SMTP_CLIENT_ST_TLS_WAIT,
	SMTP_CLIENT_ST_AUTH_WAIT,
	SMTP_CLIENT_ST_AUTH,
	SMTP_CLIENT_ST_READY,
	SMTP_CLIENT_ST_TX,	/* MAIL, RCPT, DATA out; replies coming */
	SMTP_CLIENT_ST_BODY,	/* the edge sends the body */
	SMTP_CLIENT_ST_END,	/* waiting for the final reply */
	SMTP_CLIENT_ST_RSET,
	SMTP_CLIENT_ST_QUIT,
	SMTP_CLIENT_ST_FAILED,
	SMTP_CLIENT_ST_CLOSED,
};

/* Which step failed (for the log and the recipients' reason). */
enum smtp_client_stage {
	SMTP_CLIENT_STAGE_GREETING,
	SMTP_CLIENT_STAGE_EHLO,
	SMTP_CLIENT_STAGE_STARTTLS,
	SMTP_CLIENT_STAGE_AUTH,
	SMTP_CLIENT_STAGE_PROTOCOL,	/* a reply that is not SMTP */
	SMTP_CLIENT_STAGE_TX,		/* 421 or an unexpected reply */
};

/* The commands the client waits for replies to, in order. */
enum smtp_client_exp {
	SMTP_CLIENT_EXP_GREETING,
	SMTP_CLIENT_EXP_EHLO,
	SMTP_CLIENT_EXP_STARTTLS,
	SMTP_CLIENT_EXP_AUTH,
	SMTP_CLIENT_EXP_MAIL,
	SMTP_CLIENT_EXP_RCPT,
	SMTP_CLIENT_EXP_DATA,
	SMTP_CLIENT_EXP_END,		/* after the dot or BDAT LAST */
	SMTP_CLIENT_EXP_IGNORE,		/* the dot after an empty 354 */
	SMTP_CLIENT_EXP_RSET,
	SMTP_CLIENT_EXP_QUIT,
};

struct smtp_client {
	enum smtp_client_state state;
	struct smtp_line line;
	struct buf	 out;		/* commands to send */
	struct buf	 text;		/* the reply being read: lines by \n */
	int		 code;		/* its code so far, 0 = none */
	/* The last complete reply: */
	int		 reply_code;
	const char	*reply_text;	/* its last line's text (in text) */
	char		 helo[256];
	bool		 tls;		/* the connection is encrypted */
	bool		 require_tls;	/* STARTTLS unless tls */
	bool		 want_auth;	/* AUTH after EHLO (over TLS only) */
	struct smtp_client_ehlo ehlo;
	/* The transaction: */
	struct smtp_client_msg *msg;
	enum smtp_client_exp *exp;	/* the replies awaited, FIFO */
	size_t		 nexp, hexp, capexp;
	size_t		 next;		/* next command: 0 MAIL, 1..n RCPT */
	size_t		 rcpt_reply;	/* next RCPT reply's recipient */
	bool		 use_bdat;
	bool		 mail_failed;
	/* Why the session failed: */
	enum smtp_client_stage fail_stage;
	char		 fail_reply[512];	/* "421 4.3.2 text" or ours */
};

/*
 * smtp_client_init - a new session: helo is our EHLO name; tls says the
 * connection is already encrypted (smtps), require_tls demands STARTTLS
 * otherwise, want_auth asks for AUTH once encrypted.  Waits for the
 * greeting.
 */
void	smtp_client_init(struct smtp_client *c, const char *helo, bool tls,
	    bool require_tls, bool want_auth);

/* smtp_client_release - free what the client holds. */
void	smtp_client_release(struct smtp_client *c);

/*
 * smtp_client_feed - reply bytes in.  Consumes up to the end of the
 * first reply that makes an event (*used_out says how far) and returns
 * it, or SMTP_CLIENT_MORE with everything consumed.  Call again with the
 * rest.  After FAIL or CLOSED the input is ignored.
 */
enum smtp_client_event smtp_client_feed(struct smtp_client *c,
	    const char *in, size_t len, size_t *used_out);

/* smtp_client_tls_done - the handshake after SMTP_CLIENT_TLS worked:
 * forget the EHLO, send it again. */
void	smtp_client_tls_done(struct smtp_client *c);

/*
 * smtp_client_auth - AUTH mech with an initial response (base64, "=" for
 * an empty one, NULL for none).  After SMTP_CLIENT_AUTH.
 */
void	smtp_client_auth(struct smtp_client *c, const char *mech,
	    const char *initial_b64);

/* smtp_client_auth_step - the answer to a challenge (base64, may be ""). */
void	smtp_client_auth_step(struct smtp_client *c, const char *b64);

/*
 * smtp_client_check - whether the server (its EHLO) can take msg as it
 * is, without a downgrade: NULL, or why not ("5.6.7 ..." for a reply,
 * with *temp_out whether another try may do).  SMTPUTF8 and 8BITMIME
 * need the keyword, BINARYMIME needs BINARYMIME and CHUNKING, a size
 * over the server's SIZE is 5.3.4.
 */
const char *smtp_client_check(const struct smtp_client *c,
	    const struct smtp_client_msg *msg, bool *temp_out);

/*
 * smtp_client_send - start a transaction (state READY): writes MAIL with
 * BODY=, SMTPUTF8, SIZE=, RET=, ENVID= as the server offers them, RCPT
 * with NOTIFY= and ORCPT= when it offers DSN, and DATA (all at once
 * with PIPELINING, else one at a time).  msg is borrowed until DONE;
 * its recipients' verdicts are reset.
 */
void	smtp_client_send(struct smtp_client *c, struct smtp_client_msg *msg);

/*
 * smtp_client_bdat_len - after SMTP_CLIENT_DATA with c->use_bdat: write
 * "BDAT len LAST"; the edge sends the len octets (CRLF lines, not
 * stuffed) after it and then calls smtp_client_data_sent().
 */
void	smtp_client_bdat_len(struct smtp_client *c, uint64_t len);

/* smtp_client_data_sent - the body (and its end) is out. */
void	smtp_client_data_sent(struct smtp_client *c);

/* smtp_client_rset - another message on this connection: RSET. */
void	smtp_client_rset(struct smtp_client *c);

/* smtp_client_quit - QUIT. */
void	smtp_client_quit(struct smtp_client *c);

/*
 * The body stuffer: stored lines (LF or CRLF endings) into the wire
 * form: CRLF endings and, for DATA, a dot doubled at a line start (RFC
 * 5321 §4.5.2).  out has room for 2 * len + 5 octets; returns the bytes
 * written.  smtp_client_stuff_end writes the end: a CRLF if the last
 * line had none, then ".\r\n" for DATA (room 5).
 */
struct smtp_client_stuffer {
	bool	 bol;		/* at the beginning of a line */
	bool	 cr;		/* a CR held back (it may precede LF) */
	bool	 dots;		/* DATA: stuff dots; BDAT: do not */
};

void	smtp_client_stuff_init(struct smtp_client_stuffer *st, bool dots);
size_t	smtp_client_stuff(struct smtp_client_stuffer *st, const char *in,
	    size_t len, char *out);
size_t	smtp_client_stuff_end(struct smtp_client_stuffer *st, char *out);

/* smtp_client_event_name - "ready", "data", ... for logs and tests. */
const char *smtp_client_event_name(enum smtp_client_event ev);

#endif
