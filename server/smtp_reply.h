/* SPDX-License-Identifier: ISC */
/*
 * smtp_reply - the one table of SMTP replies: code, enhanced status code
 * (RFC 3463, RFC 5248; RFC 2034 puts one on every reply but the greeting
 * and the EHLO lines) and text.  Reply text lives nowhere else.
 * Pure formatting, no I/O.
 */
#ifndef INLET_SMTP_REPLY_H
#define INLET_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum smtp_reply_id {
	SMTP_R_GREETING,	/* 220 host ESMTP (no enhanced code) */
	SMTP_R_HELO,		/* 250 host */
	SMTP_R_OK,		/* 250 2.0.0 Ok (NOOP, RSET) */
	SMTP_R_MAIL_OK,		/* 250 2.1.0 */
	SMTP_R_RCPT_OK,		/* 250 2.1.5 */
	SMTP_R_DATA_GO,		/* 354 */
	SMTP_R_QUEUED,		/* 250 2.0.0 Ok: queued as %s */
	SMTP_R_BDAT_OK,		/* 250 2.0.0 %s octets received */
	SMTP_R_QUIT,		/* 221 2.0.0 */
	SMTP_R_VRFY,		/* 252 2.5.0 */
	SMTP_R_HELP,		/* 214 2.0.0 */
	SMTP_R_STARTTLS_GO,	/* 220 2.0.0 Ready to start TLS */
	SMTP_R_UNKNOWN,		/* 500 5.5.2 */
	SMTP_R_LINE_TOOLONG,	/* 500 5.5.0 */
	SMTP_R_AUTH_TOOLONG,	/* 500 5.5.6 */
	SMTP_R_BARE_LF_CMD,	/* 500 5.5.2 bare LF in command */
	SMTP_R_BAD_CHAR,	/* 500 5.5.2 CR or NUL in command */
	SMTP_R_SYNTAX_ARGS,	/* 501 5.5.4 %s (usage) */
	SMTP_R_SYNTAX_SENDER,	/* 501 5.1.7 */
	SMTP_R_SYNTAX_RCPT,	/* 501 5.1.3 */
	SMTP_R_PATH_TOOLONG,	/* 501 5.1.3 */
	SMTP_R_NOT_IMPL,	/* 502 5.5.1 */
	SMTP_R_BAD_SEQ,		/* 503 5.5.1 %s */
	SMTP_R_NO_VALID_RCPT,	/* 554 5.5.1 */
	SMTP_R_PARAM_UNKNOWN,	/* 555 5.5.4 */
	SMTP_R_PARAM_VALUE,	/* 501 5.5.4 %s */
	SMTP_R_UTF8_REQUIRED,	/* 553 5.6.7 */
	SMTP_R_BAD_MAILBOX,	/* 553 5.1.3 mailbox name not allowed */
	SMTP_R_TLS_UNAVAIL,	/* 454 4.7.0 */
	SMTP_R_TLS_REQUIRED,	/* 530 5.7.0 Must issue a STARTTLS command first */
	SMTP_R_AUTH_REQUIRED,	/* 530 5.7.0 Authentication required */
	SMTP_R_RELAY_DENIED,	/* 550 5.7.1 */
	SMTP_R_UNKNOWN_USER,	/* 550 5.1.1 */
	SMTP_R_TOO_MANY_RCPT,	/* 452 4.5.3 */
	SMTP_R_TOO_BIG,		/* 552 5.3.4 */
	SMTP_R_BARE_NEWLINE,	/* 550 5.5.2 bare CR or LF in message */
	SMTP_R_STORAGE_FULL,	/* 452 4.3.1 */
	SMTP_R_LOCAL_ERROR,	/* 451 4.3.0 */
	SMTP_R_TOO_MANY_ERRORS,	/* 421 4.7.0 */
	SMTP_R_TIMEOUT,		/* 421 4.4.2 */
	SMTP_R_SESSION_TIMEOUT,	/* 421 4.4.2 */
	SMTP_R_SHUTDOWN,	/* 421 4.3.2 */
	SMTP_R_TOO_MANY_CONN,	/* 421 4.7.0 too many connections */
	SMTP_R_LOOP,		/* 554 5.4.6 too many Received: headers */
	SMTP_R_HTTP,		/* 554 5.7.0 not an HTTP server */
	SMTP_R_PREGREET,	/* 554 5.5.1 talked before the greeting */
	SMTP_R_BDAT_MIXED,	/* 503 5.5.1 DATA/BDAT mixed */
	SMTP_R_AUTH_OK,		/* 235 2.7.0 */
	SMTP_R_AUTH_CHALLENGE,	/* 334 %s (no enhanced code) */
	SMTP_R_AUTH_FAILED,	/* 535 5.7.8 */
	SMTP_R_AUTH_CANCELLED,	/* 501 5.7.0 */
	SMTP_R_AUTH_BADB64,	/* 501 5.5.2 */
	SMTP_R_AUTH_TEMP,	/* 454 4.7.0 */
	SMTP_R_AUTH_ENCRYPT,	/* 538 5.7.11 */
	SMTP_R_AUTH_WEAK,	/* 534 5.7.9 */
	SMTP_R_AUTH_MECH,	/* 504 5.5.4 */
	SMTP_R_AUTH_BANNED,	/* 421 4.7.0 */
	SMTP_R_SENDER_NOT_OWNED, /* 553 5.7.1 */
	SMTP_R_TOO_MANY_TX,	/* 421 4.7.0 */
	SMTP_R_TOO_MANY_JUNK,	/* 421 4.7.0 */
	SMTP_R_HEADER_TOO_BIG,	/* 552 5.3.4 */
	SMTP_R_PARAM_REPEATED,	/* 501 5.5.4 a MAIL parameter twice */
	SMTP_R_PARAM_TWICE,	/* 501 5.5.4 a once-only parameter twice */
	SMTP_R_NUL,		/* 554 5.6.0 NUL in a message, not binary */
	/* sink_chaos replies (chaos.h): %s the rule's text, if any */
	SMTP_R_CHAOS_421,	/* 421 4.3.0, then close */
	SMTP_R_CHAOS_450,	/* 450 4.2.0 */
	SMTP_R_CHAOS_451,	/* 451 4.3.0 */
	SMTP_R_CHAOS_452,	/* 452 4.3.1 */
	SMTP_R_CHAOS_454,	/* 454 4.7.0 */
	SMTP_R_CHAOS_535,	/* 535 5.7.8 */
	SMTP_R_CHAOS_550,	/* 550 5.7.1 */
	SMTP_R_CHAOS_552,	/* 552 5.2.2 */
	SMTP_R_CHAOS_553,	/* 553 5.1.3 */
	SMTP_R_CHAOS_554,	/* 554 5.7.1 */
	SMTP_R_HOOK_REJECT,	/* 550 5.7.1 %s (the data_hook's line) */
	SMTP_R_HOOK_TEMPFAIL,	/* 451 4.7.1 the data_hook failed */
	SMTP_R_FILTER_REJECT,	/* 550 5.7.1 a content filter said no */
	SMTP_R_FILTER_TEMPFAIL,	/* 451 4.7.1 a filter: later (or is down) */
	SMTP_R_FILTER_CONN_REJECT, /* 554 5.7.1 refused at connect */
	SMTP_R_FILTER_CONN_TEMPFAIL, /* 421 4.7.1 %s (host), at connect */
	SMTP_R_FILTER_SHUTDOWN,	/* 421 4.7.0 %s (host), filter said '4' */
	SMTP_R_FILTER_450,	/* a filter's own reply ('y'), by code: */
	SMTP_R_FILTER_451,	/* 451 4.7.1 %s (any other 4xx) */
	SMTP_R_FILTER_452,	/* 452 4.7.1 %s */
	SMTP_R_FILTER_550,	/* 550 5.7.1 %s (any other 5xx) */
	SMTP_R_FILTER_551,	/* 551 5.7.1 %s */
	SMTP_R_FILTER_552,	/* 552 5.7.1 %s */
	SMTP_R_FILTER_553,	/* 553 5.7.1 %s */
	SMTP_R_FILTER_554,	/* 554 5.7.1 %s */
	SMTP_R_COUNT		/* number of replies */
};

/*
 * Reply flags.  SMTP_REPLY_F_ERROR: the reply is a client mistake that
 * spends the session's error budget (max_errors): every 500-504 and 555
 * syntax or sequence reply, and 554 "no valid recipients" (RFC 2920
 * §3.1: a DATA after refused recipients).  Never a 2xx/3xx, never a
 * 4xx (our condition, not the client's), never a policy refusal (relay,
 * unknown user, size), and not AUTH's own failures, which the failed-
 * login throttle counts instead.
 */
#define SMTP_REPLY_F_ERROR	0x01
/* SMTP_REPLY_F_CHAOS: a reply sink_chaos rules may ask for by its code
 * (smtp_reply_chaos()). */
#define SMTP_REPLY_F_CHAOS	0x02

struct smtp_reply {
	unsigned	 code;
	const char	*enh;	/* "2.0.0"; NULL for the greeting */
	const char	*text;	/* may contain one "%s" */
	unsigned	 flags;	/* SMTP_REPLY_F_* */
};

/* smtp_reply_get - the table row for id. */
const struct smtp_reply *smtp_reply_get(enum smtp_reply_id id);

/*
 * smtp_reply_fmt - append "code enh text\r\n" to out; arg fills the %s.
 * With arg NULL, a row with a %s is sent with its text for no argument
 * (so no reply ever reads "Error: " with its reason missing); a row
 * without a %s ignores arg.  Returns 0, or -1 when out is full.
 */
int	smtp_reply_fmt(struct buf *out, enum smtp_reply_id id, const char *arg);

/*
 * smtp_reply_ehlo_fmt - append the EHLO reply: "250-<host> greets <helo>"
 * then one line per keyword, the last with "250 ".  Returns 0 or -1.
 */
int	smtp_reply_ehlo_fmt(struct buf *out, const char *host,
	    const char *helo, const char *const *keywords, size_t n);

/* smtp_reply_code - the reply code of id (for logs and error counting). */
unsigned smtp_reply_code(enum smtp_reply_id id);

/*
 * smtp_reply_chaos - the sink_chaos row (SMTP_REPLY_F_CHAOS) whose code
 * is code, into *out: 0, or -1 when there is none.
 */
int	smtp_reply_chaos(unsigned code, enum smtp_reply_id *out);

/* smtp_reply_is_error - whether id spends the error budget. */
bool	smtp_reply_is_error(enum smtp_reply_id id);

#endif
