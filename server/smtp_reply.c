/* SPDX-License-Identifier: ISC */
/*
 * smtp_reply - the reply table and its formatting.
 * Every reply the daemon sends is one row here (RFC 5321 §4.2, enhanced
 * status codes per RFC 3463 / RFC 5248, advertised per RFC 2034).
 * Pure formatting into a struct buf; no I/O.
 */
#include <stdio.h>
#include <string.h>

#include "smtp_reply.h"

/* ERR - the reply counts against max_errors (see smtp_reply.h). */
#define ERR	SMTP_REPLY_F_ERROR
/* CHAOS - a reply a sink_chaos rule may name by its code. */
#define CHAOS	SMTP_REPLY_F_CHAOS

static const struct smtp_reply smtp_reply_table[SMTP_R_COUNT] = {
	[SMTP_R_GREETING] = { 220, NULL, "%s ESMTP inlet", 0 },
	[SMTP_R_HELO] = { 250, NULL, "%s", 0 },
	[SMTP_R_OK] = { 250, "2.0.0", "Ok", 0 },
	[SMTP_R_MAIL_OK] = { 250, "2.1.0", "Sender ok", 0 },
	[SMTP_R_RCPT_OK] = { 250, "2.1.5", "Recipient ok", 0 },
	[SMTP_R_DATA_GO] = { 354, NULL, "End data with <CR><LF>.<CR><LF>", 0 },
	[SMTP_R_QUEUED] = { 250, "2.0.0", "Ok: queued as %s", 0 },
	[SMTP_R_BDAT_OK] = { 250, "2.0.0", "%s octets received", 0 },
	[SMTP_R_QUIT] = { 221, "2.0.0", "Bye", 0 },
	[SMTP_R_VRFY] = { 252, "2.5.0",
	    "Cannot VRFY user, but will accept message and attempt delivery", 0 },
	[SMTP_R_HELP] = { 214, "2.0.0",
	    "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP", 0 },
	[SMTP_R_STARTTLS_GO] = { 220, "2.0.0", "Ready to start TLS", 0 },
	[SMTP_R_UNKNOWN] = { 500, "5.5.2",
	    "Error: command not recognized", ERR },
	[SMTP_R_LINE_TOOLONG] = { 500, "5.5.0", "Error: line too long", ERR },
	[SMTP_R_AUTH_TOOLONG] = { 500, "5.5.6",
	    "Error: authentication line too long", ERR },
	[SMTP_R_BARE_LF_CMD] = { 500, "5.5.2",
	    "Error: bare <LF> received; lines must end in <CR><LF>", ERR },
	[SMTP_R_BAD_CHAR] = { 500, "5.5.2",
	    "Error: bare <CR> or NUL in command", ERR },
	[SMTP_R_SYNTAX_ARGS] = { 501, "5.5.4", "Syntax: %s", ERR },
	[SMTP_R_SYNTAX_SENDER] = { 501, "5.1.7",
	    "Bad sender address syntax", ERR },
	[SMTP_R_SYNTAX_RCPT] = { 501, "5.1.3",
	    "Bad recipient address syntax", ERR },
	[SMTP_R_PATH_TOOLONG] = { 501, "5.1.3", "Address too long", ERR },
	[SMTP_R_NOT_IMPL] = { 502, "5.5.1",
	    "Error: command not implemented", ERR },
	[SMTP_R_BAD_SEQ] = { 503, "5.5.1", "Error: %s", ERR },
	[SMTP_R_NO_VALID_RCPT] = { 554, "5.5.1",
	    "Error: no valid recipients", ERR },
	[SMTP_R_PARAM_UNKNOWN] = { 555, "5.5.4", "Unsupported parameter", ERR },
	[SMTP_R_PARAM_VALUE] = { 501, "5.5.4", "Bad parameter value: %s", ERR },
	[SMTP_R_UTF8_REQUIRED] = { 553, "5.6.7",
	    "Non-ASCII address requires SMTPUTF8", 0 },
	[SMTP_R_BAD_MAILBOX] = { 553, "5.1.3", "Mailbox name not allowed", 0 },
	[SMTP_R_TLS_UNAVAIL] = { 454, "4.7.0", "TLS not available", 0 },
	[SMTP_R_TLS_REQUIRED] = { 530, "5.7.0",
	    "Must issue a STARTTLS command first", 0 },
	[SMTP_R_AUTH_REQUIRED] = { 530, "5.7.0", "Authentication required", 0 },
	[SMTP_R_RELAY_DENIED] = { 550, "5.7.1", "Relay access denied", 0 },
	[SMTP_R_UNKNOWN_USER] = { 550, "5.1.1", "Recipient address rejected: User unknown", 0 },
	[SMTP_R_TOO_MANY_RCPT] = { 452, "4.5.3", "Error: too many recipients", 0 },
	[SMTP_R_TOO_BIG] = { 552, "5.3.4", "Message size exceeds fixed limit", 0 },
	[SMTP_R_BARE_NEWLINE] = { 550, "5.5.2",
	    "Message rejected: bare <CR> or <LF> in message; lines must end in <CR><LF>", 0 },
	[SMTP_R_STORAGE_FULL] = { 452, "4.3.1", "Insufficient system storage", 0 },
	[SMTP_R_LOCAL_ERROR] = { 451, "4.3.0", "Local error in processing", 0 },
	[SMTP_R_TOO_MANY_ERRORS] = { 421, "4.7.0",
	    "%s Error: too many errors, closing connection", 0 },
	[SMTP_R_TIMEOUT] = { 421, "4.4.2", "%s Error: timeout exceeded", 0 },
	[SMTP_R_SESSION_TIMEOUT] = { 421, "4.4.2",
	    "%s Error: session time limit exceeded", 0 },
	[SMTP_R_SHUTDOWN] = { 421, "4.3.2",
	    "%s Service shutting down, closing transmission channel", 0 },
	[SMTP_R_TOO_MANY_CONN] = { 421, "4.7.0",
	    "%s Error: too many connections", 0 },
	[SMTP_R_LOOP] = { 554, "5.4.6", "Too many Received: headers: mail loop", 0 },
	[SMTP_R_HTTP] = { 554, "5.7.0", "Error: this is an SMTP server", 0 },
	[SMTP_R_PREGREET] = { 554, "5.5.1",
	    "%s Error: talked before the greeting", 0 },
	[SMTP_R_AUTH_OK] = { 235, "2.7.0", "Authentication successful", 0 },
	[SMTP_R_AUTH_CHALLENGE] = { 334, NULL, "%s", 0 },
	[SMTP_R_AUTH_FAILED] = { 535, "5.7.8",
	    "Authentication credentials invalid", 0 },
	[SMTP_R_AUTH_CANCELLED] = { 501, "5.7.0", "Authentication cancelled", 0 },
	[SMTP_R_AUTH_BADB64] = { 501, "5.5.2", "Invalid base64 data", ERR },
	[SMTP_R_AUTH_TEMP] = { 454, "4.7.0",
	    "Temporary authentication failure", 0 },
	[SMTP_R_AUTH_ENCRYPT] = { 538, "5.7.11",
	    "Encryption required for requested authentication mechanism", 0 },
	[SMTP_R_AUTH_WEAK] = { 534, "5.7.9",
	    "Authentication mechanism is too weak", 0 },
	[SMTP_R_AUTH_MECH] = { 504, "5.5.4",
	    "Unrecognized authentication type", ERR },
	[SMTP_R_AUTH_BANNED] = { 421, "4.7.0",
	    "%s Error: too many failed authentications, try again later", 0 },
	[SMTP_R_SENDER_NOT_OWNED] = { 553, "5.7.1",
	    "Sender address rejected: not owned by user %s", 0 },
	[SMTP_R_TOO_MANY_TX] = { 421, "4.7.0",
	    "%s Error: too many messages in one connection", 0 },
	[SMTP_R_TOO_MANY_JUNK] = { 421, "4.7.0",
	    "%s Error: too many NOOP, RSET, VRFY, EXPN or HELP commands", 0 },
	[SMTP_R_HEADER_TOO_BIG] = { 552, "5.3.4",
	    "Message header size exceeds fixed limit", 0 },
	[SMTP_R_BDAT_MIXED] = { 503, "5.5.1",
	    "Error: DATA and BDAT cannot be mixed", ERR },
	[SMTP_R_PARAM_REPEATED] = { 501, "5.5.4",
	    "Parameter repeated with a different value", ERR },
	[SMTP_R_PARAM_TWICE] = { 501, "5.5.4",
	    "Parameter given more than once", ERR },
	[SMTP_R_NUL] = { 554, "5.6.0", "Message rejected: NUL octet in "
	    "message; binary data needs BDAT and BODY=BINARYMIME", 0 },
	[SMTP_R_CHAOS_421] = { 421, "4.3.0", "%s", CHAOS },
	[SMTP_R_CHAOS_450] = { 450, "4.2.0", "%s", CHAOS },
	[SMTP_R_CHAOS_451] = { 451, "4.3.0", "%s", CHAOS },
	[SMTP_R_CHAOS_452] = { 452, "4.3.1", "%s", CHAOS },
	[SMTP_R_CHAOS_454] = { 454, "4.7.0", "%s", CHAOS },
	[SMTP_R_CHAOS_535] = { 535, "5.7.8", "%s", CHAOS },
	[SMTP_R_CHAOS_550] = { 550, "5.7.1", "%s", CHAOS },
	[SMTP_R_CHAOS_552] = { 552, "5.2.2", "%s", CHAOS },
	[SMTP_R_CHAOS_553] = { 553, "5.1.3", "%s", CHAOS },
	[SMTP_R_CHAOS_554] = { 554, "5.7.1", "%s", CHAOS },
	[SMTP_R_HOOK_REJECT] = { 550, "5.7.1", "%s", 0 },
	[SMTP_R_HOOK_TEMPFAIL] = { 451, "4.7.1",
	    "Message content check failed, try again later", 0 },
	[SMTP_R_FILTER_REJECT] = { 550, "5.7.1",
	    "Rejected by a content filter", 0 },
	[SMTP_R_FILTER_TEMPFAIL] = { 451, "4.7.1",
	    "Service unavailable - try again later", 0 },
	[SMTP_R_FILTER_CONN_REJECT] = { 554, "5.7.1",
	    "Service unavailable; rejected by a content filter", 0 },
	[SMTP_R_FILTER_CONN_TEMPFAIL] = { 421, "4.7.1",
	    "%s Service unavailable - try again later", 0 },
	[SMTP_R_FILTER_SHUTDOWN] = { 421, "4.7.0",
	    "%s Service unavailable - closing connection", 0 },
	[SMTP_R_FILTER_450] = { 450, "4.7.1", "%s", 0 },
	[SMTP_R_FILTER_451] = { 451, "4.7.1", "%s", 0 },
	[SMTP_R_FILTER_452] = { 452, "4.7.1", "%s", 0 },
	[SMTP_R_FILTER_550] = { 550, "5.7.1", "%s", 0 },
	[SMTP_R_FILTER_551] = { 551, "5.7.1", "%s", 0 },
	[SMTP_R_FILTER_552] = { 552, "5.7.1", "%s", 0 },
	[SMTP_R_FILTER_553] = { 553, "5.7.1", "%s", 0 },
	[SMTP_R_FILTER_554] = { 554, "5.7.1", "%s", 0 },
};

/*
 * The text of a row with a "%s" when the caller has no argument for it
 * (smtp_reply_fmt with NULL): a whole sentence, never "Error: " with
 * nothing after it.  The 503 and 501 ones are RFC 5321 §4.2.2's.  The
 * empty 334 is an empty challenge (RFC 4954 §4).
 */
static const char *const smtp_reply_noarg[SMTP_R_COUNT] = {
	[SMTP_R_GREETING] = "ESMTP inlet",
	[SMTP_R_HELO] = "Ok",
	[SMTP_R_QUEUED] = "Ok: queued",
	[SMTP_R_BDAT_OK] = "Ok: chunk received",
	[SMTP_R_SYNTAX_ARGS] = "Syntax error in parameters or arguments",
	[SMTP_R_BAD_SEQ] = "Error: bad sequence of commands",
	[SMTP_R_PARAM_VALUE] = "Bad parameter value",
	[SMTP_R_TOO_MANY_ERRORS] = "Error: too many errors, closing connection",
	[SMTP_R_TIMEOUT] = "Error: timeout exceeded",
	[SMTP_R_SESSION_TIMEOUT] = "Error: session time limit exceeded",
	[SMTP_R_SHUTDOWN] =
	    "Service shutting down, closing transmission channel",
	[SMTP_R_TOO_MANY_CONN] = "Error: too many connections",
	[SMTP_R_PREGREET] = "Error: talked before the greeting",
	[SMTP_R_AUTH_CHALLENGE] = "",
	[SMTP_R_AUTH_BANNED] =
	    "Error: too many failed authentications, try again later",
	[SMTP_R_SENDER_NOT_OWNED] =
	    "Sender address rejected: not owned by the authenticated user",
	[SMTP_R_TOO_MANY_TX] = "Error: too many messages in one connection",
	[SMTP_R_TOO_MANY_JUNK] =
	    "Error: too many NOOP, RSET, VRFY, EXPN or HELP commands",
	[SMTP_R_CHAOS_421] = "Service not available (sink_chaos)",
	[SMTP_R_CHAOS_450] = "Mailbox unavailable (sink_chaos)",
	[SMTP_R_CHAOS_451] = "Local error in processing (sink_chaos)",
	[SMTP_R_CHAOS_452] = "Insufficient system storage (sink_chaos)",
	[SMTP_R_CHAOS_454] = "Temporary authentication failure (sink_chaos)",
	[SMTP_R_CHAOS_535] = "Authentication credentials invalid (sink_chaos)",
	[SMTP_R_CHAOS_550] = "Rejected (sink_chaos)",
	[SMTP_R_CHAOS_552] = "Mailbox full (sink_chaos)",
	[SMTP_R_CHAOS_553] = "Mailbox name not allowed (sink_chaos)",
	[SMTP_R_CHAOS_554] = "Transaction failed (sink_chaos)",
	[SMTP_R_HOOK_REJECT] = "Message rejected by content policy",
	[SMTP_R_FILTER_CONN_TEMPFAIL] = "Service unavailable - try again later",
	[SMTP_R_FILTER_SHUTDOWN] = "Service unavailable - closing connection",
	[SMTP_R_FILTER_450] = "Try again later",
	[SMTP_R_FILTER_451] = "Try again later",
	[SMTP_R_FILTER_452] = "Try again later",
	[SMTP_R_FILTER_550] = "Rejected by a content filter",
	[SMTP_R_FILTER_551] = "Rejected by a content filter",
	[SMTP_R_FILTER_552] = "Rejected by a content filter",
	[SMTP_R_FILTER_553] = "Rejected by a content filter",
	[SMTP_R_FILTER_554] = "Rejected by a content filter",
};

const struct smtp_reply *
smtp_reply_get(enum smtp_reply_id id)
{
	return &smtp_reply_table[id];
}

unsigned
smtp_reply_code(enum smtp_reply_id id)
{
	return smtp_reply_table[id].code;
}

int
smtp_reply_chaos(unsigned code, enum smtp_reply_id *out)
{
	size_t i;

	for (i = 0; i < SMTP_R_COUNT; i++)
		if ((smtp_reply_table[i].flags & SMTP_REPLY_F_CHAOS) != 0 &&
		    smtp_reply_table[i].code == code) {
			*out = (enum smtp_reply_id)i;
			return 0;
		}
	return -1;
}

bool
smtp_reply_is_error(enum smtp_reply_id id)
{
	return (smtp_reply_table[id].flags & SMTP_REPLY_F_ERROR) != 0;
}

int
smtp_reply_fmt(struct buf *out, enum smtp_reply_id id, const char *arg)
{
	const struct smtp_reply *r = &smtp_reply_table[id];
	const char *text = r->text, *pct;
	size_t save = out->len;
	int rc;

	if (arg == NULL && smtp_reply_noarg[id] != NULL)
		text = smtp_reply_noarg[id];
	if (arg == NULL)
		arg = "";
	pct = strstr(text, "%s");
	if (r->enh != NULL)
		rc = buf_addf(out, "%u %s ", r->code, r->enh);
	else
		rc = buf_addf(out, "%u ", r->code);
	if (rc == 0 && pct == NULL)
		rc = buf_adds(out, text);
	else if (rc == 0)
		rc = buf_addf(out, "%.*s%s%s", (int)(pct - text), text, arg,
		    pct + 2);
	if (rc == 0)
		rc = buf_add(out, "\r\n", 2);
	if (rc != 0) {
		buf_truncate(out, save);
		return -1;
	}
	return 0;
}

int
smtp_reply_ehlo_fmt(struct buf *out, const char *host, const char *helo,
    const char *const *keywords, size_t n)
{
	size_t save = out->len;
	size_t i;
	int rc;

	/* RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets; the
	 * host name is at most 255, so the client's name is cut at 200 */
	rc = buf_addf(out, "250%c%s greets %.200s\r\n", n > 0 ? '-' : ' ',
	    host, helo);
	for (i = 0; rc == 0 && i < n; i++)
		rc = buf_addf(out, "250%c%s\r\n", i + 1 < n ? '-' : ' ',
		    keywords[i]);
	if (rc != 0) {
		buf_truncate(out, save);
		return -1;
	}
	return 0;
}
