/* SPDX-License-Identifier: ISC */
/*
 * envelope - a stored message's envelope record (queue/env/NAME, the
 * sink's env/NAME): the one parser and the one formatter of its text
 * form (inlet.conf(5), QUEUE).  One "key value" a line; keys unknown
 * here are ignored and the keys added later are optional, so a record
 * written by an older inletd stays readable.  Pure: no I/O.  RFC 3461
 * (the DSN parameters: NOTIFY, ORCPT, RET, ENVID), RFC 6152 and RFC
 * 3030 (BODY), RFC 6531 (SMTPUTF8).
 */
#ifndef INLET_ENVELOPE_H
#define INLET_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "smtp_cmd.h"

/* The NOTIFY bits and the DSN bounds are smtp_cmd's (the syntax). */
#define ENVELOPE_NOTIFY_SUCCESS	SMTP_NOTIFY_SUCCESS
#define ENVELOPE_NOTIFY_FAILURE	SMTP_NOTIFY_FAILURE
#define ENVELOPE_NOTIFY_DELAY	SMTP_NOTIFY_DELAY
#define ENVELOPE_NOTIFY_NEVER	SMTP_NOTIFY_NEVER
#define ENVELOPE_ENVID_MAX	SMTP_ENVID_MAX
#define ENVELOPE_ORCPT_MAX	SMTP_ORCPT_MAX
#define ENVELOPE_LINE_MAX	1024	/* longer than any valid line */
#define ENVELOPE_RCPT_MAX	100000	/* recipient_limit's ceiling */
#define ENVELOPE_TEXT_MAX	((size_t)(ENVELOPE_RCPT_MAX + 16) * \
				    ENVELOPE_LINE_MAX)

struct envelope_rcpt {
	char		*addr;		/* no <> */
	unsigned	 notify;	/* ENVELOPE_NOTIFY_* bits, 0 = not given */
	char		*orcpt;		/* "rfc822;addr" as given (xtext), or NULL */
};

enum envelope_body {
	ENVELOPE_BODY_7BIT,
	ENVELOPE_BODY_8BITMIME,
	ENVELOPE_BODY_BINARYMIME,
};

enum envelope_ret {
	ENVELOPE_RET_NONE,	/* not given */
	ENVELOPE_RET_FULL,
	ENVELOPE_RET_HDRS,
};

struct envelope {
	char		*queue_id;
	char		*arrival;	/* "2026-11-29T07:06:40Z" ("" unknown) */
	char		*client;	/* the client's address */
	char		*user;		/* the login; NULL for "-" */
	char		*sender;	/* no <>; "" for the null sender */
	enum envelope_body body;
	bool		 smtputf8;
	uint64_t	 size;		/* octets of the stored message */
	enum envelope_ret ret;
	char		*envid;		/* xtext as given, or NULL */
	struct envelope_rcpt *rcpts;
	size_t		 nrcpt;
	size_t		 rcpt_cap;	/* room in rcpts (envelope_add_rcpt) */
};

/*
 * envelope_parse - text[0..len) into *out (zeroed first; envelope_clear()
 * it after, on success or not).  Required: queue-id, arrival, client,
 * user, sender (each once) and at least one recipient; body, smtputf8,
 * size, ret, envid (each at most once) and a recipient's notify= and
 * orcpt= take their defaults when absent; other keys are ignored.
 * Addresses must pass the RFC 5321 grammar (UTF-8 allowed), envid and
 * orcpt are checked as xtext within their RFC 3461 bounds; lines are at
 * most ENVELOPE_LINE_MAX, recipients at most ENVELOPE_RCPT_MAX, the
 * text at most ENVELOPE_TEXT_MAX octets.  Returns 0, or -1 with *err_out
 * (unless NULL) set to a message naming the line ("line 3: bad size"),
 * valid until the next call on the same thread.
 */
int	envelope_parse(struct envelope *out, const char *text, size_t len,
	    const char **err_out);

/*
 * envelope_fmt - e's text form appended to b: queue-id, arrival, client,
 * user, sender, body, smtputf8, size, then ret and envid when given, then
 * one recipient line each, with notify= and orcpt= when given.  What
 * envelope_parse() reads back as e.
 */
void	envelope_fmt(struct buf *b, const struct envelope *e);

/*
 * envelope_add_rcpt - append a recipient (copies of addr and orcpt, which
 * may be NULL) to e.
 */
void	envelope_add_rcpt(struct envelope *e, const char *addr,
	    unsigned notify, const char *orcpt);

/* envelope_clear - free what e holds; it becomes all zero. */
void	envelope_clear(struct envelope *e);

/*
 * envelope_notify_fmt - "NEVER" or "SUCCESS,FAILURE,DELAY" (those given,
 * in that order) for notify bits into dst (at least 24 octets); "" for 0.
 */
char	*envelope_notify_fmt(unsigned notify, char *dst, size_t dstlen);

#endif
