/* SPDX-License-Identifier: ISC */
/*
 * dsn - RFC 3464 delivery status notifications as message text.  Owns
 * the report's layout and the rule of when one is due; no I/O (the
 * relay delivers the text into the sender's Maildir).  RFC 3461 §4.1
 * (NOTIFY), RFC 3464 (fields; §2.3.3 Action: delayed, §2.3.9
 * Will-Retry-Until), RFC 6522 (multipart/report), RFC 3463
 * (status codes), RFC 3834 (Auto-Submitted).
 */
#include <stdio.h>
#include <string.h>

#include "dsn.h"
#include "envelope.h"
#include "log.h"

/* is_notified - whether sender is told about a recipient with these
 * NOTIFY bits when the event is bit (FAILURE or DELAY): never the null
 * sender, never NEVER; when NOTIFY was not given, yes (the default). */
static bool
is_notified(const char *sender, unsigned notify, unsigned bit)
{
	if (sender == NULL || sender[0] == '\0')
		return false;
	if (notify == 0)
		return true;
	return (notify & ENVELOPE_NOTIFY_NEVER) == 0 && (notify & bit) != 0;
}

bool
dsn_is_wanted(const char *sender, unsigned notify)
{
	return is_notified(sender, notify, ENVELOPE_NOTIFY_FAILURE);
}

bool
dsn_is_delay_wanted(const char *sender, unsigned notify)
{
	return is_notified(sender, notify, ENVELOPE_NOTIFY_DELAY);
}

/* is_status - "X.Y.Z" (RFC 3463: class 2/4/5, 1-3 and 1-3 digits). */
static size_t
is_status(const char *s)
{
	size_t i = 0, n;
	int part;

	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return 0;
	i = 1;
	for (part = 0; part < 2; part++) {
		if (s[i] != '.')
			return 0;
		i++;
		for (n = 0; s[i] >= '0' && s[i] <= '9' && n < 3; n++)
			i++;
		if (n == 0)
			return 0;
	}
	return s[i] == ' ' || s[i] == '\0' ? i : 0;
}

/* is_reply - "550 text" or "550": a reply's code first. */
static bool
is_reply(const char *p)
{
	return p[0] >= '2' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' &&
	    p[2] >= '0' && p[2] <= '9' && (p[3] == ' ' || p[3] == '\0');
}

char *
dsn_status(const char *reply, char *dst, size_t dstlen)
{
	const char *p = reply;
	size_t n;

	if (is_reply(p)) {
		p += p[3] == ' ' ? 4 : 3;
		if ((n = is_status(p)) != 0 && p[0] == reply[0]) {
			(void)snprintf(dst, dstlen, "%.*s", (int)n, p);
			return dst;
		}
		(void)snprintf(dst, dstlen, "%c.0.0", reply[0]);
		return dst;
	}
	if ((n = is_status(p)) != 0) {
		(void)snprintf(dst, dstlen, "%.*s", (int)n, p);
		return dst;
	}
	(void)snprintf(dst, dstlen, "5.0.0");
	return dst;
}

char *
dsn_date_fmt(time_t t, char *dst, size_t dstlen)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
		"Sep", "Oct", "Nov", "Dec",
	};
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11) {
		(void)snprintf(dst, dstlen, "Thu, 01 Jan 1970 00:00:00 +0000");
		return dst;
	}
	(void)snprintf(dst, dstlen, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return dst;
}

/* is_ascii - whether s is all ASCII. */
static bool
is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* intro - the text part's words for people: why they get this. */
static int
intro(struct buf *b, const struct dsn_report *r)
{
	char date[64];

	if (!r->delayed)
		return buf_addf(b, "Your message could not be delivered to "
		    "one or more of its\nrecipients; the reasons are below, "
		    "and the message%s is\nattached.\n\n",
		    r->full ? "" : "'s header");
	return buf_addf(b, "Your message has not been delivered yet to one "
	    "or more of its\nrecipients; the reasons are below.  It is "
	    "still being retried\nuntil %s, so you need not\nsend it "
	    "again.  The message's header is attached.\n\n",
	    dsn_date_fmt(r->retry_until, date, sizeof(date)));
}

/* header - the report's own header and the text part for people. */
static int
header(struct buf *b, const struct dsn_report *r)
{
	char date[64];
	size_t i;
	int rc = 0;

	rc |= buf_addf(b, "From: Mail Delivery System <MAILER-DAEMON@%s>\n"
	    "To: <%s>\nSubject: %s\n"
	    "Date: %s\nMessage-ID: <%s.%lld.%s@%s>\n"
	    "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"%s\"\n\nThis is a MIME-encapsulated message.\n\n",
	    r->reporting_mta, r->sender, r->delayed ? "Delayed Mail (still "
	    "being retried)" : "Undelivered Mail Returned to Sender",
	    dsn_date_fmt(r->now, date, sizeof(date)), r->queue_id,
	    (long long)r->now, r->delayed ? "delay" : "dsn", r->reporting_mta,
	    r->boundary);
	rc |= buf_addf(b, "--%s\nContent-Description: Notification\n"
	    "Content-Type: text/plain; charset=utf-8\n\n"
	    "This is the mail system at host %s.\n\n", r->boundary,
	    r->reporting_mta);
	rc |= intro(b, r);
	for (i = 0; i < r->nrcpt; i++)
		rc |= buf_addf(b, "<%s>: %s\n", r->rcpts[i].addr,
		    r->rcpts[i].reply);
	return rc;
}

/* status_part - the message/delivery-status part (RFC 3464 §2). */
static int
status_part(struct buf *b, const struct dsn_report *r)
{
	char date[64], status[16];
	size_t i;
	int rc = 0;

	rc |= buf_addf(b, "\n--%s\nContent-Description: Delivery report\n"
	    "Content-Type: message/%sdelivery-status\n\n"
	    "Reporting-MTA: dns; %s\n", r->boundary, r->utf8 ? "global-" : "",
	    r->reporting_mta);
	if (r->envid != NULL)
		rc |= buf_addf(b, "Original-Envelope-Id: %s\n", r->envid);
	rc |= buf_addf(b, "Arrival-Date: %s\n", dsn_date_fmt(r->arrival,
	    date, sizeof(date)));
	for (i = 0; i < r->nrcpt; i++) {
		const struct dsn_rcpt *d = &r->rcpts[i];

		rc |= buf_adds(b, "\n");
		if (d->orcpt != NULL)
			rc |= buf_addf(b, "Original-Recipient: %s\n",
			    d->orcpt);
		/* RFC 3464 §2.3.4: a delay is reported with a 4.X.X code */
		(void)dsn_status(d->reply, status, sizeof(status));
		if (r->delayed)
			status[0] = '4';
		/* RFC 6533 §3: a UTF-8 address is of type utf-8 */
		rc |= buf_addf(b, "Final-Recipient: %s; %s\n"
		    "Action: %s\nStatus: %s\n", is_ascii(d->addr) ?
		    "rfc822" : "utf-8", d->addr, r->delayed ? "delayed" :
		    "failed", status);
		if (r->remote_mta != NULL)
			rc |= buf_addf(b, "Remote-MTA: dns; %s\n",
			    r->remote_mta);
		/* RFC 3464 §2.3.6: smtp; the reply when the peer said it */
		rc |= buf_addf(b, "Diagnostic-Code: %s; %s\n",
		    is_reply(d->reply) ? "smtp" : "x-inlet", d->reply);
		if (d->last_attempt != 0)
			rc |= buf_addf(b, "Last-Attempt-Date: %s\n",
			    dsn_date_fmt(d->last_attempt, date, sizeof(date)));
		if (r->delayed)
			rc |= buf_addf(b, "Will-Retry-Until: %s\n",
			    dsn_date_fmt(r->retry_until, date, sizeof(date)));
	}
	return rc;
}

/* header_len - the octets of the original's header (to the blank line,
 * which is not included). */
static size_t
header_len(const char *m, size_t len)
{
	size_t i;

	if (len > 0 && m[0] == '\n')
		return 0;
	for (i = 0; i + 1 < len; i++)
		if (m[i] == '\n' && (m[i + 1] == '\n' ||
		    (m[i + 1] == '\r' && i + 2 < len && m[i + 2] == '\n')))
			return i + 1;
	return len;
}

int
dsn_fmt(struct buf *b, const struct dsn_report *r)
{
	size_t n = r->full ? r->original_len : header_len(r->original,
	    r->original_len);
	int rc = 0;

	rc |= header(b, r);
	rc |= status_part(b, r);
	rc |= buf_addf(b, "\n--%s\nContent-Description: %s %s\n"
	    "Content-Type: %s\n%s\n", r->boundary,
	    r->delayed ? "Delayed" : "Undelivered",
	    r->full ? "Message" : "Message Headers",
	    r->full ? (r->utf8 ? "message/global" : "message/rfc822") :
	    (r->utf8 ? "message/global-headers" : "text/rfc822-headers"),
	    r->full ? "Content-Transfer-Encoding: 8bit\n" : "");
	rc |= buf_add(b, r->original, n);
	if (n > 0 && r->original[n - 1] != '\n')
		rc |= buf_adds(b, "\n");
	rc |= buf_addf(b, "\n--%s--\n", r->boundary);
	return rc == 0 ? 0 : -1;
}
