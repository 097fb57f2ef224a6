/* SPDX-License-Identifier: ISC */
/*
 * dsn - delivery status notifications: the RFC 3464 report
 * (multipart/report; report-type=delivery-status, RFC 6522) that tells a
 * sender which recipients failed and why, with the original headers
 * (text/rfc822-headers) or, for RET=FULL, the whole message
 * (message/rfc822); or, for a message still being retried, the delay
 * warning (Action: delayed, Will-Retry-Until).  And the rule of when
 * one is made at all: never for the null sender (so never for a
 * bounce), never against NOTIFY.
 * Pure: the caller gives the time, the names and the message text.
 */
#ifndef INLET_DSN_H
#define INLET_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"

struct dsn_rcpt {
	const char	*addr;		/* Final-Recipient, no <> */
	const char	*orcpt;		/* "rfc822;addr" (xtext) or NULL */
	const char	*reply;		/* "550 5.1.1 text", or our reason
					   "5.6.7 text"; one line */
	time_t		 last_attempt;	/* 0 = unknown */
};

struct dsn_report {
	const char	*reporting_mta;	/* our host name */
	const char	*remote_mta;	/* the smarthost, or NULL */
	const char	*queue_id;	/* the message's, for Message-ID */
	const char	*sender;	/* the envelope sender (To:) */
	const char	*envid;		/* ENVID xtext, or NULL */
	time_t		 arrival;
	time_t		 now;		/* Date: */
	const char	*boundary;	/* unique; [A-Za-z0-9._=-] */
	const struct dsn_rcpt *rcpts;
	size_t		 nrcpt;
	const char	*original;	/* the stored message (LF lines) */
	size_t		 original_len;
	bool		 full;		/* RET=FULL: all of it, else headers */
	bool		 utf8;		/* an SMTPUTF8 message: RFC 6533 */
	bool		 delayed;	/* a delay warning: Action: delayed */
	time_t		 retry_until;	/* delayed: Will-Retry-Until */
};

/*
 * dsn_is_wanted - whether a failure of a recipient with these NOTIFY
 * bits (0 = not given: FAILURE by default, RFC 3461 §4.1) is reported
 * to sender: never for the null sender "".
 */
bool	dsn_is_wanted(const char *sender, unsigned notify);

/*
 * dsn_is_delay_wanted - whether a recipient with these NOTIFY bits that
 * is still being retried is reported to sender: when DELAY was asked
 * for, or NOTIFY was not given (RFC 3461 §4.1 leaves that default to
 * the MTA: FAILURE,DELAY, as Postfix does); never for NEVER, never for
 * the null sender "".
 */
bool	dsn_is_delay_wanted(const char *sender, unsigned notify);

/*
 * dsn_status - the status code for a reply into dst (room 16): the
 * enhanced code it carries ("550 5.1.1 ..." or "5.6.7 ..."), else one
 * made from its class ("550 ..." is 5.0.0).  Returns dst.
 */
char	*dsn_status(const char *reply, char *dst, size_t dstlen);

/*
 * dsn_fmt - the report as a message (LF line endings) appended to b:
 * header, a text part for people, the message/delivery-status part
 * (per message: Reporting-MTA, Original-Envelope-Id, Arrival-Date; per
 * recipient: Original-Recipient, Final-Recipient, Action: failed,
 * Status, Remote-MTA, Diagnostic-Code, Last-Attempt-Date) and the
 * original.  With delayed: the delay warning's subject and text,
 * Action: delayed, a 4.X.X Status and Will-Retry-Until: retry_until.
 * Returns 0, or -1 when it does not fit under b's cap.
 */
int	dsn_fmt(struct buf *b, const struct dsn_report *r);

/* dsn_date_fmt - t as an RFC 5322 date "Fri, 04 Dec 2026 21:38:04 +0000". */
char	*dsn_date_fmt(time_t t, char *dst, size_t dstlen);

#endif
