/* SPDX-License-Identifier: ISC */
/*
 * smtp_client - the client side of SMTP (RFC 5321) as a pure state
 * machine.  Owns the reply being assembled, the EHLO capabilities, the
 * FIFO of replies awaited (RFC 2920 pipelining keeps the order) and the
 * recipients' verdicts; writes commands into c->out.  No I/O, no
 * policy beyond SMTP's: the edge decides what a verdict means for the
 * queue.  Replies: RFC 5321 §4.2 (multi-line, one code), §4.2.1.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "envelope.h"
#include "log.h"
#include "smtp_client.h"
#include "xalloc.h"

#define SMTP_CLIENT_OUT_MAX	(8u * 1024 * 1024)

void
smtp_client_init(struct smtp_client *c, const char *helo, bool tls,
    bool require_tls, bool want_auth)
{
	memset(c, 0, sizeof(*c));
	smtp_line_init(&c->line, SMTP_CLIENT_LINE_MAX);
	buf_init(&c->out, SMTP_CLIENT_OUT_MAX);
	buf_init(&c->text, SMTP_CLIENT_REPLY_MAX);
	(void)snprintf(c->helo, sizeof(c->helo), "%s", helo);
	c->tls = tls;
	c->require_tls = require_tls;
	c->want_auth = want_auth;
	c->state = SMTP_CLIENT_ST_GREETING;
	c->reply_text = "";
	c->capexp = 8;
	c->exp = xrealloc(NULL, c->capexp, sizeof(*c->exp));
	c->exp[0] = SMTP_CLIENT_EXP_GREETING;
	c->nexp = 1;
}

void
smtp_client_release(struct smtp_client *c)
{
	smtp_line_release(&c->line);
	buf_release(&c->out);
	buf_release(&c->text);
	free(c->exp);
	c->exp = NULL;
	c->nexp = c->hexp = c->capexp = 0;
}

/* expect - one more reply awaited, at the end of the FIFO. */
static void
expect(struct smtp_client *c, enum smtp_client_exp e)
{
	if (c->hexp > 0 && c->hexp == c->nexp)
		c->hexp = c->nexp = 0;
	if (c->nexp == c->capexp) {
		c->capexp *= 2;
		c->exp = xrealloc(c->exp, c->capexp, sizeof(*c->exp));
	}
	c->exp[c->nexp++] = e;
}

/* cmd - one command line into out, and the reply it awaits. */
static void
cmd(struct smtp_client *c, enum smtp_client_exp e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
cmd(struct smtp_client *c, enum smtp_client_exp e, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		log_fatal("can't happen: SMTP command too long");
	if (buf_add(&c->out, line, (size_t)n) != 0 ||
	    buf_add(&c->out, "\r\n", 2) != 0)
		log_fatal("can't happen: SMTP client output full");
	expect(c, e);
}

/* summary - the last reply as one printable line "550 5.1.1 text". */
static void
summary(const struct smtp_client *c, char *dst, size_t dstlen)
{
	size_t o, i;

	(void)snprintf(dst, dstlen, "%d ", c->reply_code);
	o = strlen(dst);
	for (i = 0; i < c->text.len && o + 1 < dstlen; i++) {
		unsigned char ch = (unsigned char)c->text.data[i];

		dst[o++] = (char)(ch == '\n' ? ' ' : (ch < 0x20 ||
		    ch == 0x7f) ? '?' : ch);
	}
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	dst[o] = '\0';
}

/* fail - the session is over; why. */
static enum smtp_client_event
fail(struct smtp_client *c, enum smtp_client_stage stage, const char *why)
{
	c->state = SMTP_CLIENT_ST_FAILED;
	c->fail_stage = stage;
	if (why != NULL)
		(void)snprintf(c->fail_reply, sizeof(c->fail_reply), "%s",
		    why);
	else
		summary(c, c->fail_reply, sizeof(c->fail_reply));
	return SMTP_CLIENT_FAIL;
}

/*
 * reply_line - one line of a reply.  RFC 5321 §4.2:
 *   Reply-line = *( Reply-code "-" [ textstring ] CRLF )
 *                Reply-code [ SP textstring ] CRLF
 * Returns 1 when the reply is complete, 0 for more lines, -1 when the
 * line is not a reply line (or a continuation changes the code).
 */
static int
reply_line(struct smtp_client *c, const char *l, size_t n)
{
	int code;

	if (n < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
	    l[2] < '0' || l[2] > '9' || (n > 3 && l[3] != ' ' && l[3] != '-'))
		return -1;
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (c->code == 0)
		buf_reset(&c->text);
	else if (code != c->code)
		return -1;
	else if (buf_addc(&c->text, '\n') != 0)
		return -1;
	c->code = code;
	if (n > 4 && buf_add(&c->text, l + 4, n - 4) != 0)
		return -1;
	if (n > 3 && l[3] == '-')
		return 0;
	return 1;
}

/* ehlo_keyword - one EHLO line: "KEYWORD [params]" (RFC 5321 §4.1.1.1). */
static void
ehlo_keyword(struct smtp_client_ehlo *e, const char *l, size_t n)
{
	char kw[32], rest[SMTP_CLIENT_MECHS_MAX];
	size_t k = 0, i;

	while (k < n && l[k] != ' ' && k + 1 < sizeof(kw)) {
		kw[k] = l[k];
		k++;
	}
	kw[k] = '\0';
	i = k < n && l[k] == ' ' ? k + 1 : k;
	(void)snprintf(rest, sizeof(rest), "%.*s", (int)(n - i), l + i);
	if (strcasecmp(kw, "PIPELINING") == 0)
		e->pipelining = true;
	else if (strcasecmp(kw, "8BITMIME") == 0)
		e->eightbitmime = true;
	else if (strcasecmp(kw, "BINARYMIME") == 0)
		e->binarymime = true;
	else if (strcasecmp(kw, "CHUNKING") == 0)
		e->chunking = true;
	else if (strcasecmp(kw, "SMTPUTF8") == 0)
		e->smtputf8 = true;
	else if (strcasecmp(kw, "DSN") == 0)
		e->dsn = true;
	else if (strcasecmp(kw, "STARTTLS") == 0)
		e->starttls = true;
	else if (strcasecmp(kw, "ENHANCEDSTATUSCODES") == 0)
		e->enhanced = true;
	else if (strcasecmp(kw, "AUTH") == 0 && n - i < sizeof(e->mechs))
		(void)snprintf(e->mechs, sizeof(e->mechs), "%s", rest);
	else if (strcasecmp(kw, "SIZE") == 0) {
		uint64_t v = 0;

		e->has_size = true;
		for (i = 0; rest[i] >= '0' && rest[i] <= '9' &&
		    v < UINT64_MAX / 10 - 9; i++)
			v = v * 10 + (uint64_t)(rest[i] - '0');
		e->size = v;
	}
}

/* ehlo_parse - the capabilities from the EHLO reply's lines 2..n. */
static void
ehlo_parse(struct smtp_client *c)
{
	const char *p, *end, *nl;

	memset(&c->ehlo, 0, sizeof(c->ehlo));
	if (c->text.len == 0)
		return;
	p = c->text.data;
	end = p + c->text.len;
	nl = memchr(p, '\n', (size_t)(end - p));
	while (nl != NULL) {
		p = nl + 1;
		nl = memchr(p, '\n', (size_t)(end - p));
		ehlo_keyword(&c->ehlo, p, (size_t)((nl != NULL ? nl : end) -
		    p));
	}
}

/* after_ehlo - STARTTLS, AUTH or ready, as the session needs. */
static enum smtp_client_event
after_ehlo(struct smtp_client *c)
{
	if (!c->tls && c->require_tls) {
		if (!c->ehlo.starttls)
			return fail(c, SMTP_CLIENT_STAGE_STARTTLS,
			    "STARTTLS is required but not offered");
		c->state = SMTP_CLIENT_ST_STARTTLS;
		cmd(c, SMTP_CLIENT_EXP_STARTTLS, "STARTTLS");
		return SMTP_CLIENT_MORE;
	}
	if (c->want_auth) {
		if (!c->tls)
			return fail(c, SMTP_CLIENT_STAGE_AUTH,
			    "AUTH refused without TLS");
		if (c->ehlo.mechs[0] == '\0')
			return fail(c, SMTP_CLIENT_STAGE_AUTH,
			    "AUTH is configured but not offered");
		c->state = SMTP_CLIENT_ST_AUTH_WAIT;
		return SMTP_CLIENT_AUTH;
	}
	c->state = SMTP_CLIENT_ST_READY;
	return SMTP_CLIENT_READY;
}

/* verdict - a recipient's outcome from a reply's code. */
static void
verdict(struct smtp_client *c, struct smtp_client_rcpt *r)
{
	r->code = c->reply_code;
	summary(c, r->reply, sizeof(r->reply));
	r->verdict = c->reply_code < 300 ? SMTP_CLIENT_V_SENT :
	    c->reply_code < 500 ? SMTP_CLIENT_V_DEFER : SMTP_CLIENT_V_FAIL;
}

/* any_accepted - whether a recipient still waits for the DATA phase. */
static bool
any_accepted(const struct smtp_client *c)
{
	size_t i;

	if (c->mail_failed)
		return false;
	for (i = 0; i < c->msg->nrcpt; i++)
		if (c->msg->rcpts[i].accepted &&
		    c->msg->rcpts[i].verdict == SMTP_CLIENT_V_NONE)
			return true;
	return false;
}

/* tx_done - the transaction is over; its verdicts stand. */
static enum smtp_client_event
tx_done(struct smtp_client *c)
{
	c->state = SMTP_CLIENT_ST_READY;
	return SMTP_CLIENT_DONE;
}

/* send_rcpt - RCPT TO for recipient i, with its DSN parameters. */
static void
send_rcpt(struct smtp_client *c, size_t i)
{
	const struct smtp_client_rcpt *r = &c->msg->rcpts[i];
	char notify[64] = "";

	/* RFC 3461 §4.1: NOTIFY=NEVER or SUCCESS,FAILURE,DELAY */
	if (c->ehlo.dsn && r->notify != 0)
		(void)envelope_notify_fmt(r->notify, notify, sizeof(notify));
	cmd(c, SMTP_CLIENT_EXP_RCPT, "RCPT TO:<%s>%s%s%s%s", r->addr,
	    notify[0] != '\0' ? " NOTIFY=" : "", notify,
	    c->ehlo.dsn && r->orcpt != NULL ? " ORCPT=" : "",
	    c->ehlo.dsn && r->orcpt != NULL ? r->orcpt : "");
}

/* rcpts_over - after the last RCPT reply: DATA, the body, or done. */
static enum smtp_client_event
rcpts_over(struct smtp_client *c)
{
	if (!any_accepted(c))
		return tx_done(c);
	if (c->use_bdat) {
		c->state = SMTP_CLIENT_ST_BODY;
		return SMTP_CLIENT_DATA;
	}
	cmd(c, SMTP_CLIENT_EXP_DATA, "DATA");
	return SMTP_CLIENT_MORE;
}

/* on_mail - the MAIL reply: a failure is every recipient's verdict. */
static enum smtp_client_event
on_mail(struct smtp_client *c)
{
	size_t i;

	if (c->reply_code >= 300) {
		c->mail_failed = true;
		for (i = 0; i < c->msg->nrcpt; i++)
			verdict(c, &c->msg->rcpts[i]);
		if (!c->ehlo.pipelining)
			return tx_done(c);
		return SMTP_CLIENT_MORE;
	}
	if (!c->ehlo.pipelining)
		send_rcpt(c, 0);
	return SMTP_CLIENT_MORE;
}

/* on_rcpt - a RCPT reply: 2xx accepted, 4xx deferred, 5xx failed. */
static enum smtp_client_event
on_rcpt(struct smtp_client *c)
{
	size_t i = c->rcpt_reply++;
	struct smtp_client_rcpt *r;
	bool last = c->rcpt_reply == c->msg->nrcpt;

	if (i >= c->msg->nrcpt)
		log_fatal("can't happen: RCPT reply %zu of %zu", i,
		    c->msg->nrcpt);
	r = &c->msg->rcpts[i];
	if (!c->mail_failed) {
		if (c->reply_code < 300)
			r->accepted = true;
		else
			verdict(c, r);
	}
	if (!c->ehlo.pipelining && !last)
		send_rcpt(c, c->rcpt_reply);
	if (!last || (c->ehlo.pipelining && !c->use_bdat))
		return SMTP_CLIENT_MORE;
	return rcpts_over(c);
}

/* on_final - the DATA reply (not 354) or the final one: every
 * recipient still waiting gets it. */
static enum smtp_client_event
on_final(struct smtp_client *c)
{
	size_t i;

	for (i = 0; i < c->msg->nrcpt; i++) {
		struct smtp_client_rcpt *r = &c->msg->rcpts[i];

		if (!c->mail_failed && r->accepted &&
		    r->verdict == SMTP_CLIENT_V_NONE)
			verdict(c, r);
	}
	return tx_done(c);
}

/* on_data - 354: the body, or (nobody accepted) an empty end. */
static enum smtp_client_event
on_data(struct smtp_client *c)
{
	if (c->reply_code != 354)
		return on_final(c);
	if (any_accepted(c)) {
		c->state = SMTP_CLIENT_ST_BODY;
		return SMTP_CLIENT_DATA;
	}
	/* RFC 2920 §3.1: after 354 with no recipient, end it empty. */
	cmd(c, SMTP_CLIENT_EXP_IGNORE, ".");
	return SMTP_CLIENT_MORE;
}

/* on_session - the replies outside a transaction. */
static enum smtp_client_event
on_session(struct smtp_client *c, enum smtp_client_exp e)
{
	bool ok = c->reply_code < 400;

	switch (e) {
	case SMTP_CLIENT_EXP_GREETING:
		if (c->reply_code != 220)
			return fail(c, SMTP_CLIENT_STAGE_GREETING, NULL);
		c->state = SMTP_CLIENT_ST_EHLO;
		cmd(c, SMTP_CLIENT_EXP_EHLO, "EHLO %s", c->helo);
		return SMTP_CLIENT_MORE;
	case SMTP_CLIENT_EXP_EHLO:
		if (c->reply_code != 250)
			return fail(c, SMTP_CLIENT_STAGE_EHLO, NULL);
		ehlo_parse(c);
		return after_ehlo(c);
	case SMTP_CLIENT_EXP_STARTTLS:
		if (c->reply_code != 220)
			return fail(c, SMTP_CLIENT_STAGE_STARTTLS, NULL);
		c->state = SMTP_CLIENT_ST_TLS_WAIT;
		return SMTP_CLIENT_TLS;
	case SMTP_CLIENT_EXP_AUTH:
		if (c->reply_code == 334)
			return SMTP_CLIENT_AUTH_STEP;
		if (c->reply_code != 235)
			return fail(c, SMTP_CLIENT_STAGE_AUTH, NULL);
		c->state = SMTP_CLIENT_ST_READY;
		return SMTP_CLIENT_READY;
	case SMTP_CLIENT_EXP_RSET:
		if (!ok)
			return fail(c, SMTP_CLIENT_STAGE_TX, NULL);
		c->state = SMTP_CLIENT_ST_READY;
		return SMTP_CLIENT_READY;
	case SMTP_CLIENT_EXP_QUIT:
		c->state = SMTP_CLIENT_ST_CLOSED;
		return SMTP_CLIENT_CLOSED;
	case SMTP_CLIENT_EXP_MAIL:
	case SMTP_CLIENT_EXP_RCPT:
	case SMTP_CLIENT_EXP_DATA:
	case SMTP_CLIENT_EXP_END:
	case SMTP_CLIENT_EXP_IGNORE:
		break;
	}
	log_fatal("can't happen: session reply for %d", (int)e);
}

/* reply_done - a complete reply, matched with the command it answers. */
static enum smtp_client_event
reply_done(struct smtp_client *c)
{
	enum smtp_client_exp e;
	size_t i;

	c->reply_code = c->code;
	c->code = 0;
	c->reply_text = buf_cstr(&c->text);
	for (i = c->text.len; i > 0; i--)
		if (c->text.data[i - 1] == '\n') {
			c->reply_text = c->text.data + i;
			break;
		}
	if (c->hexp == c->nexp)
		return fail(c, SMTP_CLIENT_STAGE_PROTOCOL, NULL);
	e = c->exp[c->hexp++];
	/* RFC 5321 §3.8: 421 means the server is closing the channel. */
	if (c->reply_code == 421 && e != SMTP_CLIENT_EXP_QUIT)
		return fail(c, SMTP_CLIENT_STAGE_TX, NULL);
	switch (e) {
	case SMTP_CLIENT_EXP_MAIL:
		return on_mail(c);
	case SMTP_CLIENT_EXP_RCPT:
		return on_rcpt(c);
	case SMTP_CLIENT_EXP_DATA:
		return on_data(c);
	case SMTP_CLIENT_EXP_END:
		return on_final(c);
	case SMTP_CLIENT_EXP_IGNORE:
		return tx_done(c);
	case SMTP_CLIENT_EXP_GREETING:
	case SMTP_CLIENT_EXP_EHLO:
	case SMTP_CLIENT_EXP_STARTTLS:
	case SMTP_CLIENT_EXP_AUTH:
	case SMTP_CLIENT_EXP_RSET:
	case SMTP_CLIENT_EXP_QUIT:
		break;
	}
	return on_session(c, e);
}

enum smtp_client_event
smtp_client_feed(struct smtp_client *c, const char *in, size_t len,
    size_t *used_out)
{
	size_t off = 0, used, n;
	const char *l;
	int rc;

	while (off < len && c->state != SMTP_CLIENT_ST_FAILED &&
	    c->state != SMTP_CLIENT_ST_CLOSED) {
		enum smtp_client_event ev;

		switch (smtp_line_feed(&c->line, in + off, len - off, &used,
		    &l, &n)) {
		case SMTP_LINE_MORE:
			off += used;
			continue;
		case SMTP_LINE_TOOLONG:
		case SMTP_LINE_NUL:
			*used_out = off + used;
			return fail(c, SMTP_CLIENT_STAGE_PROTOCOL,
			    "a malformed reply line");
		case SMTP_LINE_OK:
		case SMTP_LINE_BARE_LF:
		case SMTP_LINE_BARE_CR:
			break;
		}
		off += used;
		if ((rc = reply_line(c, l, n)) < 0) {
			*used_out = off;
			return fail(c, SMTP_CLIENT_STAGE_PROTOCOL,
			    "a malformed reply");
		}
		if (rc == 0)
			continue;
		if ((ev = reply_done(c)) != SMTP_CLIENT_MORE) {
			*used_out = off;
			return ev;
		}
	}
	*used_out = len;
	return SMTP_CLIENT_MORE;
}

void
smtp_client_tls_done(struct smtp_client *c)
{
	if (c->state != SMTP_CLIENT_ST_TLS_WAIT)
		log_fatal("can't happen: TLS done in state %d", (int)c->state);
	c->tls = true;
	memset(&c->ehlo, 0, sizeof(c->ehlo));
	smtp_line_reset(&c->line);
	c->code = 0;
	c->state = SMTP_CLIENT_ST_EHLO;
	cmd(c, SMTP_CLIENT_EXP_EHLO, "EHLO %s", c->helo);
}

void
smtp_client_auth(struct smtp_client *c, const char *mech,
    const char *initial_b64)
{
	if (c->state != SMTP_CLIENT_ST_AUTH_WAIT)
		log_fatal("can't happen: AUTH in state %d", (int)c->state);
	c->state = SMTP_CLIENT_ST_AUTH;
	cmd(c, SMTP_CLIENT_EXP_AUTH, "AUTH %s%s%s", mech,
	    initial_b64 != NULL ? " " : "",
	    initial_b64 != NULL ? initial_b64 : "");
}

void
smtp_client_auth_step(struct smtp_client *c, const char *b64)
{
	if (c->state != SMTP_CLIENT_ST_AUTH)
		log_fatal("can't happen: AUTH step in state %d",
		    (int)c->state);
	cmd(c, SMTP_CLIENT_EXP_AUTH, "%s", b64);
}

const char *
smtp_client_check(const struct smtp_client *c,
    const struct smtp_client_msg *msg, bool *temp_out)
{
	*temp_out = false;
	if (msg->smtputf8 && !c->ehlo.smtputf8)
		return "5.6.7 the message needs SMTPUTF8 (RFC 6531) and "
		    "the smarthost does not offer it";
	if (msg->body == SMTP_CLIENT_BODY_8BITMIME && !c->ehlo.eightbitmime)
		return "5.6.3 the message has 8-bit data and the smarthost "
		    "does not offer 8BITMIME";
	if (msg->body == SMTP_CLIENT_BODY_BINARYMIME &&
	    (!c->ehlo.binarymime || !c->ehlo.chunking))
		return "5.6.3 the message is BINARYMIME and the smarthost "
		    "does not offer BINARYMIME with CHUNKING";
	if (c->ehlo.has_size && c->ehlo.size != 0 && msg->size > c->ehlo.size)
		return "5.3.4 the message is bigger than the smarthost's "
		    "SIZE limit";
	return NULL;
}

/* mail_params - MAIL's ESMTP parameters for msg as the server allows. */
static void
mail_params(const struct smtp_client *c, const struct smtp_client_msg *m,
    char *dst, size_t dstlen)
{
	char size[32] = "";

	if (c->ehlo.has_size && m->size != 0)
		(void)snprintf(size, sizeof(size), " SIZE=%" PRIu64, m->size);
	(void)snprintf(dst, dstlen, "%s%s%s%s%s%s",
	    m->body == SMTP_CLIENT_BODY_8BITMIME ? " BODY=8BITMIME" :
	    m->body == SMTP_CLIENT_BODY_BINARYMIME ? " BODY=BINARYMIME" : "",
	    m->smtputf8 ? " SMTPUTF8" : "", size,
	    !c->ehlo.dsn || m->ret == SMTP_CLIENT_RET_NONE ? "" :
	    m->ret == SMTP_CLIENT_RET_FULL ? " RET=FULL" : " RET=HDRS",
	    c->ehlo.dsn && m->envid != NULL ? " ENVID=" : "",
	    c->ehlo.dsn && m->envid != NULL ? m->envid : "");
}

void
smtp_client_send(struct smtp_client *c, struct smtp_client_msg *msg)
{
	char params[512];
	size_t i;

	if (c->state != SMTP_CLIENT_ST_READY || msg->nrcpt == 0)
		log_fatal("can't happen: send in state %d with %zu rcpts",
		    (int)c->state, msg->nrcpt);
	c->msg = msg;
	c->rcpt_reply = 0;
	c->mail_failed = false;
	c->use_bdat = msg->body == SMTP_CLIENT_BODY_BINARYMIME;
	for (i = 0; i < msg->nrcpt; i++) {
		msg->rcpts[i].verdict = SMTP_CLIENT_V_NONE;
		msg->rcpts[i].accepted = false;
		msg->rcpts[i].code = 0;
		msg->rcpts[i].reply[0] = '\0';
	}
	c->state = SMTP_CLIENT_ST_TX;
	mail_params(c, msg, params, sizeof(params));
	cmd(c, SMTP_CLIENT_EXP_MAIL, "MAIL FROM:<%s>%s", msg->sender, params);
	if (!c->ehlo.pipelining)
		return;
	for (i = 0; i < msg->nrcpt; i++)
		send_rcpt(c, i);
	if (!c->use_bdat)
		cmd(c, SMTP_CLIENT_EXP_DATA, "DATA");
}

void
smtp_client_bdat_len(struct smtp_client *c, uint64_t len)
{
	char line[64];

	if (c->state != SMTP_CLIENT_ST_BODY || !c->use_bdat)
		log_fatal("can't happen: BDAT in state %d", (int)c->state);
	(void)snprintf(line, sizeof(line), "BDAT %" PRIu64 " LAST\r\n", len);
	if (buf_adds(&c->out, line) != 0)
		log_fatal("can't happen: SMTP client output full");
}

void
smtp_client_data_sent(struct smtp_client *c)
{
	if (c->state != SMTP_CLIENT_ST_BODY)
		log_fatal("can't happen: data sent in state %d",
		    (int)c->state);
	c->state = SMTP_CLIENT_ST_END;
	expect(c, SMTP_CLIENT_EXP_END);
}

void
smtp_client_rset(struct smtp_client *c)
{
	if (c->state != SMTP_CLIENT_ST_READY)
		log_fatal("can't happen: RSET in state %d", (int)c->state);
	c->state = SMTP_CLIENT_ST_RSET;
	cmd(c, SMTP_CLIENT_EXP_RSET, "RSET");
}

void
smtp_client_quit(struct smtp_client *c)
{
	c->state = SMTP_CLIENT_ST_QUIT;
	cmd(c, SMTP_CLIENT_EXP_QUIT, "QUIT");
}

void
smtp_client_stuff_init(struct smtp_client_stuffer *st, bool dots)
{
	st->bol = true;
	st->cr = false;
	st->dots = dots;
}

size_t
smtp_client_stuff(struct smtp_client_stuffer *st, const char *in,
    size_t len, char *out)
{
	size_t o = 0, i;

	for (i = 0; i < len; i++) {
		char ch = in[i];

		if (st->cr) {
			st->cr = false;
			out[o++] = '\r';
			if (ch == '\n') {
				out[o++] = '\n';
				st->bol = true;
				continue;
			}
			st->bol = false;
		}
		if (ch == '\r') {
			st->cr = true;
			continue;
		}
		if (ch == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			st->bol = true;
			continue;
		}
		/* RFC 5321 §4.5.2: a line starting with "." gets another. */
		if (st->bol && st->dots && ch == '.')
			out[o++] = '.';
		out[o++] = ch;
		st->bol = false;
	}
	return o;
}

size_t
smtp_client_stuff_end(struct smtp_client_stuffer *st, char *out)
{
	size_t o = 0;

	if (st->cr || !st->bol) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	st->cr = false;
	st->bol = true;
	if (st->dots) {
		memcpy(out + o, ".\r\n", 3);
		o += 3;
	}
	return o;
}

const char *
smtp_client_event_name(enum smtp_client_event ev)
{
	switch (ev) {
	case SMTP_CLIENT_MORE:
		return "more";
	case SMTP_CLIENT_READY:
		return "ready";
	case SMTP_CLIENT_TLS:
		return "tls";
	case SMTP_CLIENT_AUTH:
		return "auth";
	case SMTP_CLIENT_AUTH_STEP:
		return "auth-step";
	case SMTP_CLIENT_DATA:
		return "data";
	case SMTP_CLIENT_DONE:
		return "done";
	case SMTP_CLIENT_FAIL:
		return "fail";
	case SMTP_CLIENT_CLOSED:
		return "closed";
	}
	return "?";
}
