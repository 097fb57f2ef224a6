/* SPDX-License-Identifier: ISC */
/*
 * session - the SMTP server state machine (RFC 5321, RFC 2920 pipelining,
 * RFC 3207 STARTTLS, RFC 3030 CHUNKING, RFC 1870 SIZE, RFC 6152, RFC 6531).
 * Pure: no I/O, no libevent/OpenSSL/SASL.  Bytes come in through
 * session_feed(); replies, spool writes and the like go out through
 * struct session_ops; asynchronous effects come back through
 * session_*_done().  One handler per verb, dispatched from one table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "chaos.h"
#include "log.h"
#include "route.h"
#include "session.h"
#include "smtp_data.h"
#include "smtp_line.h"
#include "smtp_reply.h"
#include "xalloc.h"

#define SESSION_CMD_LINE_MAX	512	/* RFC 5321 §4.5.3.1.4 */
#define SESSION_AUTH_LINE_MAX	12288	/* RFC 4954 §4 */
#define SESSION_DSN_LINE_MAX	(512 + 500)	/* RFC 3461 §4 (ORCPT) */
#define SESSION_OUT_MAX		(64 * 1024)
#define SESSION_OUT_FLUSH	(8 * 1024)
#define SESSION_CHUNK		4096	/* body bytes decoded per step */
#define SESSION_RECEIVED_MAX	50	/* RFC 5321 §6.3 loop detection */

/* Command flags. */
#define CMD_F_PRE_TLS	0x01	/* allowed before STARTTLS where required */
#define CMD_F_PRE_AUTH	0x02	/* allowed before AUTH where required */
#define CMD_F_NO_ARGS	0x04	/* arguments are a syntax error */
#define CMD_F_IN_BDAT	0x08	/* allowed between BDAT chunks */
#define CMD_F_JUNK	0x10	/* counts against junk_command_limit */
#define CMD_F_NEED_RCPT	0x20	/* 554 when every RCPT was refused */
#define CMD_F_SEQ_LATE	0x40	/* the handler applies the state rule */

/*
 * The 503 reasons of the command table's state column (RFC 5321 §4.1.4
 * and §3.3: EHLO first; MAIL, RCPT, DATA in that order).
 */
#define SEQ_HELO	"send HELO/EHLO first"
#define SEQ_NESTED	"nested MAIL command"
#define SEQ_NEED_MAIL	"need MAIL command"
#define SEQ_NEED_RCPT	"need RCPT command"
#define SEQ_IN_TX	"AUTH not allowed during a mail transaction"

/* header scanner state: finds Received: count and Subject: */
struct session_hdr {
	bool	 done;		/* past the header section */
	bool	 bol;		/* at the beginning of a line */
	bool	 in_name;	/* reading a field name */
	bool	 in_subject;	/* copying the Subject: value */
	size_t	 name_len;
	char	 name[16];
	size_t	 subj_len;
	unsigned received;
};

struct session {
	const struct config	*cfg;
	const struct session_ops *ops;
	void			*ctx;
	enum conf_role		 role;
	enum session_state	 state;
	char			 id[SESSION_ID_LEN + 1];
	char			 client[64];
	bool			 tls_active;
	bool			 tls_available;
	char			 tls_version[32];
	char			 tls_cipher[64];
	int			 tls_bits;
	bool			 esmtp;
	bool			 authenticated;
	char			 auth_user[256];	/* authorization id */
	char			 auth_mech[21];	/* its mechanism ({auth_type}) */
	char			 helo[SESSION_CMD_LINE_MAX];
	struct smtp_line	 line;
	struct buf		 out;
	struct session_tx	 tx;
	struct smtp_data	 data;
	struct smtp_bdat	 bdat;
	bool			 bdat_last;
	uint64_t		 bdat_skip;	/* octets to discard */
	int			 bdat_err;	/* reply id after skip, or -1 */
	const char		*bdat_why;	/* its reason (a literal) */
	enum session_state	 bdat_prev;	/* state to return to after skip */
	int			 end_after;	/* 421 reply due after commit, or -1 */
	bool			 pause_due;	/* an error past half the budget */
	bool			 paused;	/* waiting for session_resume() */
	unsigned		 pause_ms;	/* how long the due pause is */
	bool			 commit_after_pause;	/* a data delay */
	struct chaos *const	*chaos_live;	/* sink_chaos, or NULL */
	unsigned		 ntx_mail;	/* MAIL commands accepted */
	unsigned		 junk;		/* NOOP etc. since the last message */
	uint64_t		 hdr_size;	/* header octets of this message */
	int			 spool_err;	/* first spool_write error */
	struct session_hdr	 hdr;
	char			*scratch;	/* SESSION_CHUNK + 2, in tx */
	unsigned		 ntx;
	struct session_stats	 stats;
	const char		*cur_verb;	/* for reject logs */
	const struct smtp_addr	*cur_rcpt;	/* RCPT being refused, or NULL */
	bool			 filter_wait;	/* until session_filter_done */
	enum session_filter_stage filter_stage;
	int			 refused;	/* connect-stage refusal, or -1 */
	char			 refused_text[256];
	unsigned		 refused_code;
	struct smtp_rcpt_args	 pend_rcpt;	/* RCPT the filters judge */
	struct route		 pend_route;
};

/*
 * One row of the command table.  seq[] is the state column: for each
 * command-mode state, NULL where the verb may run, or the reason of the
 * 503 it gets there.  Nothing else answers a verb for its state.
 */
struct session_cmd {
	enum smtp_verb	 verb;
	const char	*seq[SESSION_ST_RCPT + 1];
	unsigned	 flags;
	void		(*handler)(struct session *, const struct smtp_cmd *);
};

static void session_reply(struct session *, enum smtp_reply_id, const char *);
static void session_spend_error(struct session *);
static void session_end_with(struct session *, enum smtp_reply_id);
static void session_bdat_chunk_end(struct session *);
static bool session_filter_ask(struct session *, enum session_filter_stage,
    const struct session_filter_args *);
static void session_helo_reply(struct session *);
static void session_rcpt_accept(struct session *);
static enum smtp_reply_id session_seq_refusal(const struct session *,
    enum smtp_verb, const char **);

/* session_state_name - for debug logs. */
static const char *
session_state_name(enum session_state st)
{
	switch (st) {
	case SESSION_ST_GREETED:
		return "greeted";
	case SESSION_ST_READY:
		return "ready";
	case SESSION_ST_MAIL:
		return "mail";
	case SESSION_ST_RCPT:
		return "rcpt";
	case SESSION_ST_DATA:
		return "data";
	case SESSION_ST_BDAT:
		return "bdat";
	case SESSION_ST_COMMIT:
		return "commit";
	case SESSION_ST_TLS:
		return "tls";
	case SESSION_ST_AUTH:
		return "auth";
	case SESSION_ST_AUTH_WAIT:
		return "auth-wait";
	case SESSION_ST_CLOSED:
		return "closed";
	}
	return "?";
}

/* session_set_state - the only place the state changes. */
static void
session_set_state(struct session *s, enum session_state st)
{
	if (s->state != st)
		log_event(LOG_LEVEL_DEBUG, s->id, "event=state",
		    LOG_TOK("from", session_state_name(s->state)),
		    LOG_TOK("to", session_state_name(st)));
	s->state = st;
}

/* session_flush - hand queued replies to the connection. */
static void
session_flush(struct session *s)
{
	if (s->out.len == 0)
		return;
	s->ops->send(s->ctx, s->out.data, s->out.len);
	buf_reset(&s->out);
}

/* session_close - stop taking input and close after the output. */
static void
session_close(struct session *s)
{
	if (s->state == SESSION_ST_AUTH || s->state == SESSION_ST_AUTH_WAIT)
		s->ops->auth_abort(s->ctx);
	if (s->tx.spool_open) {
		s->ops->spool_abort(s->ctx);
		s->tx.spool_open = false;
	}
	session_flush(s);
	if (s->state != SESSION_ST_CLOSED) {
		session_set_state(s, SESSION_ST_CLOSED);
		s->ops->close(s->ctx);
	}
}

/* session_rcpts_free - the transaction's recipients and their plans. */
static void
session_rcpts_free(struct session_tx *tx)
{
	size_t i;

	for (i = 0; i < tx->nrcpt; i++) {
		route_reset(&tx->routes[i]);
		free(tx->dsn[i].orcpt);
	}
	free(tx->routes);
	free(tx->rcpts);
	free(tx->dsn);
}

/* session_tx_reset - forget the transaction (RSET, EHLO, end of data). */
static void
session_tx_reset(struct session *s)
{
	if (s->tx.spool_open)
		s->ops->spool_abort(s->ctx);
	if (s->ops->filter != NULL && s->state >= SESSION_ST_MAIL &&
	    s->state <= SESSION_ST_COMMIT)
		(void)s->ops->filter(s->ctx, SESSION_FILTER_ABORT, NULL);
	session_rcpts_free(&s->tx);
	chaos_unref(&s->tx.chaos);
	free(s->scratch);
	s->scratch = NULL;
	memset(&s->tx, 0, sizeof(s->tx));
	s->commit_after_pause = false;
	s->bdat_last = false;
	s->bdat_skip = 0;
	s->bdat_err = -1;
	s->spool_err = 0;
	memset(&s->hdr, 0, sizeof(s->hdr));
	s->hdr.bol = true;
	s->hdr_size = 0;
	if (s->state == SESSION_ST_MAIL || s->state == SESSION_ST_RCPT ||
	    s->state == SESSION_ST_DATA || s->state == SESSION_ST_BDAT ||
	    s->state == SESSION_ST_COMMIT)
		session_set_state(s, SESSION_ST_READY);
}

/*
 * session_make_room - every reply goes into s->out through here (or
 * right after it): hand what is queued to the connection once it passes
 * SESSION_OUT_FLUSH, so that s->out never holds more than that plus one
 * reply (the longest, EHLO's, is far below SESSION_OUT_MAX).  Client
 * input decides how many replies there are, so a full buffer must never
 * be possible, let alone fatal.
 */
static void
session_make_room(struct session *s)
{
	if (s->out.len > SESSION_OUT_FLUSH)
		session_flush(s);
}

/*
 * session_log_reject - one line per 4xx/5xx reply: with the sender in a
 * transaction, the recipient of a refused RCPT, and the reply's text.
 */
static void
session_log_reject(struct session *s, enum smtp_reply_id id, const char *arg)
{
	const struct smtp_reply *r = smtp_reply_get(id);
	bool in_tx = s->state == SESSION_ST_MAIL ||
	    s->state == SESSION_ST_RCPT || s->state == SESSION_ST_DATA ||
	    s->state == SESSION_ST_BDAT || s->state == SESSION_ST_COMMIT;
	char to[SMTP_PATH_MAX + 1];
	struct buf text;

	buf_init(&text, 2048);
	(void)smtp_reply_fmt(&text, id, arg);
	while (text.len > 0 && (text.data[text.len - 1] == '\n' ||
	    text.data[text.len - 1] == '\r'))
		text.len--;
	log_event(LOG_LEVEL_INFO, s->id, "event=reject",
	    LOG_TOK("cmd", s->cur_verb != NULL ? s->cur_verb : "-"),
	    LOG_U("code", r->code), LOG_TOK("enh", r->enh != NULL ? r->enh :
	    "-"), LOG_TOK("client", s->client),
	    in_tx ? LOG_ADDR("from", s->tx.from_str) : LOG_NONE,
	    s->cur_rcpt != NULL ? LOG_ADDR("to", smtp_addr_fmt(s->cur_rcpt,
	    to, sizeof(to))) : LOG_NONE,
	    LOG_QN("reply", text.data, text.len));
	buf_release(&text);
}

/*
 * session_reply - queue one reply; count and log rejects; enforce the
 * error budget (doc/HACKING.md: 421 4.7.0 and close when it is spent).
 */
static void
session_reply(struct session *s, enum smtp_reply_id id, const char *arg)
{
	unsigned code = smtp_reply_code(id);

	session_make_room(s);
	if (smtp_reply_fmt(&s->out, id, arg) != 0)
		log_fatal("can't happen: reply buffer full");
	if (code >= 400) {
		s->stats.rejects++;
		session_log_reject(s, id, arg);
	}
	if (smtp_reply_is_error(id))
		session_spend_error(s);
}

/* session_pause_due - hold the replies ms before the next command is
 * read (the longest of the pauses due wins). */
static void
session_pause_due(struct session *s, unsigned ms)
{
	s->pause_due = true;
	if (ms > s->pause_ms)
		s->pause_ms = ms;
}

/*
 * session_spend_error - count one client error against max_errors: past
 * half of it the next command waits a second (ops->pause); at the limit
 * 421 4.7.0 and close.
 */
static void
session_spend_error(struct session *s)
{
	s->stats.errors++;
	if (s->stats.errors < s->cfg->max_errors) {
		/* doc/HACKING.md: past half the budget, an error costs 1 s */
		if (s->stats.errors >= (s->cfg->max_errors + 1) / 2)
			session_pause_due(s, 1000);
		return;
	}
	log_event(LOG_LEVEL_INFO, s->id, "event=error-limit",
	    LOG_U("errors", s->stats.errors), LOG_TOK("client", s->client));
	session_make_room(s);
	if (smtp_reply_fmt(&s->out, SMTP_R_TOO_MANY_ERRORS, s->cfg->hostname))
		log_fatal("can't happen: reply buffer full");
	session_close(s);
}

static size_t session_line_max(const struct session *s);

struct session *
session_new(const struct session_params *p, const struct session_ops *ops,
    void *ctx)
{
	struct session *s;

	s = xcalloc(1, sizeof(*s));
	s->cfg = p->cfg;
	s->ops = ops;
	s->ctx = ctx;
	s->role = p->role;
	s->state = SESSION_ST_GREETED;
	(void)snprintf(s->id, sizeof(s->id), "%s", p->id);
	(void)snprintf(s->client, sizeof(s->client), "%s", p->client_addr);
	s->tls_available = p->tls_available;
	s->tls_active = p->tls_active;
	s->chaos_live = p->chaos;
	if (p->tls_active && p->tls != NULL) {
		(void)snprintf(s->tls_version, sizeof(s->tls_version), "%s",
		    p->tls->version);
		(void)snprintf(s->tls_cipher, sizeof(s->tls_cipher), "%s",
		    p->tls->cipher);
		s->tls_bits = p->tls->bits;
	}
	smtp_line_init(&s->line, session_line_max(s));
	buf_init(&s->out, SESSION_OUT_MAX);
	s->bdat_err = -1;
	s->end_after = -1;
	s->refused = -1;
	s->hdr.bol = true;
	return s;
}

void
session_free(struct session **sp)
{
	struct session *s = *sp;

	if (s == NULL)
		return;
	if (s->tx.spool_open)
		s->ops->spool_abort(s->ctx);
	s->tx.spool_open = false;
	session_rcpts_free(&s->tx);
	chaos_unref(&s->tx.chaos);
	if (s->filter_wait && s->filter_stage == SESSION_FILTER_RCPT)
		route_reset(&s->pend_route);
	free(s->scratch);
	smtp_line_release(&s->line);
	buf_release(&s->out);
	free(s);
	*sp = NULL;
}

void
session_start(struct session *s)
{
	session_reply(s, SMTP_R_GREETING, s->cfg->hostname);
	session_flush(s);
	(void)session_filter_ask(s, SESSION_FILTER_CONNECT, NULL);
}

enum session_state
session_state(const struct session *s)
{
	return s->state;
}

bool
session_is_busy(const struct session *s)
{
	return s->state == SESSION_ST_COMMIT || s->state == SESSION_ST_TLS ||
	    s->state == SESSION_ST_AUTH_WAIT || s->paused || s->filter_wait;
}

bool
session_is_closed(const struct session *s)
{
	return s->state == SESSION_ST_CLOSED;
}

bool
session_in_body(const struct session *s)
{
	return s->state == SESSION_ST_DATA || s->state == SESSION_ST_BDAT;
}

const struct session_tx *
session_tx(const struct session *s)
{
	return &s->tx;
}

void
session_tx_envelope(const struct session_tx *tx, const char *client,
    const char *arrival, uint64_t size, bool queued_only,
    struct envelope *out)
{
	char addr[SMTP_PATH_MAX + 1], user[SMTP_PATH_MAX + 1];
	size_t i;

	memset(out, 0, sizeof(*out));
	out->queue_id = xstrdup(tx->queue_id);
	out->arrival = xstrdup(arrival);
	out->client = xstrdup(client);
	out->user = tx->auth_user == NULL ? NULL : xstrdup(log_clean(user,
	    sizeof(user), tx->auth_user, strlen(tx->auth_user)));
	out->sender = xstrdup(tx->from_str);
	out->body = tx->body == SMTP_BODY_8BITMIME ? ENVELOPE_BODY_8BITMIME :
	    tx->body == SMTP_BODY_BINARYMIME ? ENVELOPE_BODY_BINARYMIME :
	    ENVELOPE_BODY_7BIT;
	out->smtputf8 = tx->smtputf8;
	out->size = size;
	out->ret = tx->ret == SMTP_RET_FULL ? ENVELOPE_RET_FULL :
	    tx->ret == SMTP_RET_HDRS ? ENVELOPE_RET_HDRS : ENVELOPE_RET_NONE;
	out->envid = tx->envid[0] != '\0' ? xstrdup(tx->envid) : NULL;
	for (i = 0; i < tx->nrcpt; i++) {
		if (!queued_only || tx->routes[i].kind == ROUTE_QUEUE)
			envelope_add_rcpt(out, smtp_addr_fmt(&tx->rcpts[i],
			    addr, sizeof(addr)), tx->dsn[i].notify,
			    tx->dsn[i].orcpt);
	}
}

const char *
session_helo_name(const struct session *s)
{
	return s->helo;
}

const struct session_stats *
session_stats(const struct session *s)
{
	return &s->stats;
}

/* session_needs_tls - the role demands STARTTLS before most commands. */
static bool
session_needs_tls(const struct session *s)
{
	return s->role == CONF_ROLE_SUBMISSION && !s->tls_active &&
	    !s->cfg->sink;
}

/* session_needs_auth - the role demands AUTH before a transaction. */
static bool
session_needs_auth(const struct session *s)
{
	return s->role != CONF_ROLE_MX && !s->authenticated && !s->cfg->sink;
}

/* session_clean_word - copy client text for a header: printable, no ()\ */
static void
session_clean_word(char *dst, size_t dstlen, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < dstlen && src[i] != '\0'; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (c > 0x20 && c < 0x7f && c != '(' && c != ')' &&
		    c != '\\') ? (char)c : '?';
	}
	if (dstlen > 0)
		dst[i] = '\0';
}

/* session_protocol - RFC 3848 / RFC 6531 §3.7.3 "with" protocol type. */
static const char *
session_protocol(const struct session *s)
{
	static const char *const names[2][2][2] = {
		{ { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } },
		{ { "UTF8SMTP", "UTF8SMTPA" }, { "UTF8SMTPS", "UTF8SMTPSA" } },
	};

	if (!s->esmtp)
		return "SMTP";
	return names[s->tx.smtputf8][s->tls_active][s->authenticated];
}

/*
 * session_received_fmt - the Received: trace header (RFC 5321 §4.4):
 *   Received: from helo ([addr])
 *           by host (inlet) with PROTO id QID
 *           (using TLSv1.3 with cipher X (256 bits))
 *           for <rcpt>; date
 * [addr] is an address literal (RFC 5321 §4.1.3): an IPv6 client is
 * [IPv6:2001:db8::1] ("IPv6:" IPv6-addr).  "for" only with a single
 * recipient, so copies do not reveal Bcc; with several the date follows
 * the last clause's ";".
 */
static void
session_received_fmt(struct session *s, struct buf *b)
{
	char helo[128], date[64], rcpt[SMTP_PATH_MAX + 1];
	time_t now = s->ops->now(s->ctx);
	struct tm tm;
	int rc;

	session_clean_word(helo, sizeof(helo), s->helo);
	if (gmtime_r(&now, &tm) == NULL || strftime(date, sizeof(date),
	    "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		log_fatal("can't happen: date formatting");
	rc = buf_addf(b, "Received: from %s ([%s%s])\n\tby %s (inlet) with %s "
	    "id %s", helo, strchr(s->client, ':') != NULL ? "IPv6:" : "",
	    s->client, s->cfg->hostname, session_protocol(s), s->tx.queue_id);
	if (rc == 0 && s->tls_active)
		rc = buf_addf(b, "\n\t(using %s with cipher %s (%d bits))",
		    s->tls_version, s->tls_cipher, s->tls_bits);
	if (rc == 0 && s->tx.nrcpt == 1)
		rc = buf_addf(b, "\n\tfor <%s>", smtp_addr_fmt(&s->tx.rcpts[0],
		    rcpt, sizeof(rcpt)));
	if (rc == 0)
		rc = buf_addf(b, ";%s%s\n", s->tx.nrcpt == 1 ? " " : "\n\t",
		    date);
	if (rc != 0)
		log_fatal("can't happen: Received: header too long");
}

/*
 * session_spool_open - open the spool and write the Received: header.
 * Returns the reply to send on failure, or -1 when all went well.
 */
static int
session_spool_open(struct session *s)
{
	struct buf hdr;
	int err;

	s->ntx++;
	(void)snprintf(s->tx.queue_id, sizeof(s->tx.queue_id), "%.12s%04X",
	    s->id, s->ntx & 0xffffu);
	err = s->ops->spool_open(s->ctx, &s->tx);
	if (err == 0) {
		s->tx.spool_open = true;
		buf_init(&hdr, 4096);
		session_received_fmt(s, &hdr);
		err = s->ops->spool_write(s->ctx, hdr.data, hdr.len);
		buf_release(&hdr);
	}
	if (err != 0) {
		log_event(LOG_LEVEL_WARN, s->id, "event=spool-error",
		    LOG_TOK("id", s->tx.queue_id), LOG_Q("error", strerror(err)));
		if (s->tx.spool_open)
			s->ops->spool_abort(s->ctx);
		s->tx.spool_open = false;
		return (err == ENOSPC || err == EDQUOT) ?
		    SMTP_R_STORAGE_FULL : SMTP_R_LOCAL_ERROR;
	}
	s->scratch = xmalloc(SESSION_CHUNK + 2);
	return -1;
}

/* session_spool_write - pass body bytes on unless an error was seen. */
static void
session_spool_write(struct session *s, const char *p, size_t n)
{
	int err;

	if (n == 0 || s->spool_err != 0)
		return;
	err = s->ops->spool_write(s->ctx, p, n);
	if (err != 0) {
		s->spool_err = err;
		log_event(LOG_LEVEL_WARN, s->id, "event=spool-error",
		    LOG_TOK("id", s->tx.queue_id), LOG_Q("error", strerror(err)));
	}
}

/* session_hdr_byte - scan one byte of the header section. */
static void
session_hdr_byte(struct session *s, struct session_hdr *h, char c)
{
	if (h->bol) {
		h->bol = false;
		if (c == '\n') {
			h->done = true;
			return;
		}
		if (c != ' ' && c != '\t') {
			h->in_subject = false;
			h->in_name = true;
			h->name_len = 0;
		}
	}
	if (c == '\n') {
		h->bol = true;
		h->in_name = false;
		return;
	}
	if (h->in_name) {
		if (c == ':') {
			h->in_name = false;
			h->name[h->name_len] = '\0';
			if (strcasecmp(h->name, "received") == 0)
				h->received++;
			h->in_subject = strcasecmp(h->name, "subject") == 0 &&
			    h->subj_len == 0;
			return;
		}
		if (h->name_len + 1 >= sizeof(h->name) ||
		    (unsigned char)c <= 0x20)
			h->in_name = false;
		else
			h->name[h->name_len++] = c;
		return;
	}
	if (h->in_subject && h->subj_len < SESSION_SUBJECT_MAX &&
	    !(h->subj_len == 0 && (c == ' ' || c == '\t')))
		s->tx.subject[h->subj_len++] = ((unsigned char)c < 0x20 ||
		    c == '"' || c == '\\' || c == 0x7f) ? ' ' : c;
}

/* session_hdr_scan - feed decoded message bytes to the header scanner. */
static void
session_hdr_scan(struct session *s, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && !s->hdr.done; i++) {
		session_hdr_byte(s, &s->hdr, p[i]);
		s->hdr_size++;
	}
}

/*
 * session_dsn_offered - are RFC 3461's parameters honoured here?  They
 * are recorded in the envelope of the queue (where inlet-relay acts on
 * them) and of the sink: so where mail may be queued, on the submission
 * roles (every transaction is authenticated) and on mx once logged in,
 * and in sink mode.  Local deliveries act on none of them.
 */
static bool
session_dsn_offered(const struct session *s)
{
	if (s->cfg->sink)
		return true;
	return s->cfg->queue != NULL &&
	    (s->authenticated || s->role != CONF_ROLE_MX);
}

/*
 * session_line_max - the command line limit: RFC 5321 §4.5.3.1.4's 512,
 * or where DSN is offered 500 more, which RFC 3461 §4 adds to RCPT for
 * NOTIFY and ORCPT (100 to MAIL for RET and ENVID).
 */
static size_t
session_line_max(const struct session *s)
{
	return session_dsn_offered(s) ? SESSION_DSN_LINE_MAX :
	    SESSION_CMD_LINE_MAX;
}

/* session_ehlo_keywords - the EHLO list for this session's state. */
static size_t
session_ehlo_keywords(const struct session *s, const char **kw,
    char *size_kw, size_t size_len)
{
	size_t n = 0;

	kw[n++] = "PIPELINING";				/* RFC 2920 */
	if (s->cfg->message_size_limit > 0)
		(void)snprintf(size_kw, size_len, "SIZE %llu",
		    (unsigned long long)s->cfg->message_size_limit);
	else
		(void)snprintf(size_kw, size_len, "SIZE");
	kw[n++] = size_kw;				/* RFC 1870 */
	kw[n++] = "8BITMIME";				/* RFC 6152 */
	kw[n++] = "ENHANCEDSTATUSCODES";		/* RFC 2034 */
	kw[n++] = "SMTPUTF8";				/* RFC 6531 */
	kw[n++] = "CHUNKING";				/* RFC 3030 */
	kw[n++] = "BINARYMIME";				/* RFC 3030 */
	if (session_dsn_offered(s))
		kw[n++] = "DSN";			/* RFC 3461 */
	if (s->tls_available && !s->tls_active)
		kw[n++] = "STARTTLS";			/* RFC 3207 */
	return n;
}

/*
 * session_auth_offered - may AUTH be used now (RFC 4954 §4; RFC 8314
 * §5.1: no passwords before TLS on submission)?  mx only with mx_auth;
 * the sink always.
 */
static bool
session_auth_offered(const struct session *s)
{
	if (s->authenticated)
		return false;
	if (s->cfg->sink)
		return true;
	if (!conf_has_auth(s->cfg))
		return false;
	if (s->role == CONF_ROLE_MX)
		return s->cfg->mx_auth;
	return s->tls_active;
}

/* session_helo - HELO and EHLO (RFC 5321 §4.1.1.1): reset and greet. */
static void
session_helo(struct session *s, const struct smtp_cmd *cmd)
{
	struct session_filter_args fa = { 0 };

	if (smtp_cmd_parse_helo(cmd->arg, cmd->arglen) != SMTP_CMD_OK) {
		session_reply(s, SMTP_R_SYNTAX_ARGS, cmd->verb == SMTP_VERB_EHLO ?
		    "EHLO hostname" : "HELO hostname");
		return;
	}
	session_tx_reset(s);
	(void)snprintf(s->helo, sizeof(s->helo), "%.*s", (int)cmd->arglen,
	    cmd->arg);
	s->helo[strcspn(s->helo, " ")] = '\0';
	s->esmtp = cmd->verb == SMTP_VERB_EHLO;
	session_set_state(s, SESSION_ST_READY);
	log_event(LOG_LEVEL_INFO, s->id, "event=helo", LOG_Q("helo", s->helo),
	    LOG_TOK("esmtp", s->esmtp ? "yes" : "no"));
	fa.helo = s->helo;
	if (!session_filter_ask(s, SESSION_FILTER_HELO, &fa))
		session_helo_reply(s);
}

/* session_helo_reply - the HELO or EHLO reply, once filters agree. */
static void
session_helo_reply(struct session *s)
{
	const char *kw[16], *mechs;
	char size_kw[32], auth_kw[256];
	size_t n;

	if (!s->esmtp) {
		session_reply(s, SMTP_R_HELO, s->cfg->hostname);
		return;
	}
	n = session_ehlo_keywords(s, kw, size_kw, sizeof(size_kw));
	auth_kw[0] = '\0';
	if (session_auth_offered(s) && (mechs = s->ops->auth_mechs(s->ctx)) !=
	    NULL && mechs[0] != '\0') {
		(void)snprintf(auth_kw, sizeof(auth_kw), "AUTH %s", mechs);
		kw[n++] = auth_kw;			/* RFC 4954 */
	}
	session_make_room(s);
	if (smtp_reply_ehlo_fmt(&s->out, s->cfg->hostname, s->helo, kw, n))
		log_fatal("can't happen: EHLO reply too long");
}

/*
 * session_path_err - the reply for a MAIL or RCPT parse error: a bad
 * sender is 501 5.1.7, a bad recipient 501 5.1.3 (RFC 3463).
 */
static enum smtp_reply_id
session_path_err(enum smtp_cmd_err err, bool rcpt)
{
	switch (err) {
	case SMTP_CMD_OK:
	case SMTP_CMD_ERR_SYNTAX:
		return SMTP_R_SYNTAX_ARGS;
	case SMTP_CMD_ERR_PATH:
		return rcpt ? SMTP_R_SYNTAX_RCPT : SMTP_R_SYNTAX_SENDER;
	case SMTP_CMD_ERR_PATH_LONG:
		return rcpt ? SMTP_R_PATH_TOOLONG : SMTP_R_SYNTAX_SENDER;
	case SMTP_CMD_ERR_UTF8:
		return SMTP_R_UTF8_REQUIRED;
	case SMTP_CMD_ERR_PARAM_UNKNOWN:
		return SMTP_R_PARAM_UNKNOWN;
	case SMTP_CMD_ERR_PARAM:
	case SMTP_CMD_ERR_PARAM_VALUE:
		return SMTP_R_PARAM_VALUE;
	case SMTP_CMD_ERR_PARAM_REPEATED:
		return SMTP_R_PARAM_REPEATED;
	case SMTP_CMD_ERR_PARAM_TWICE:
		return SMTP_R_PARAM_TWICE;
	}
	return SMTP_R_SYNTAX_ARGS;
}


/*
 * session_sender_ok - sender_login_match: an authenticated client may use
 * only its own address (or <>) as the envelope sender (RFC 6409 §6.1).
 */
static bool
session_sender_ok(const struct session *s, const struct smtp_addr *from)
{
	char addr[SMTP_PATH_MAX + 1];

	if (!s->cfg->sender_login_match || !s->authenticated || from->null)
		return true;
	smtp_addr_fmt(from, addr, sizeof(addr));
	return strcasecmp(addr, s->auth_user) == 0;
}

/* session_chaos_kind - an action's name for the log. */
static const char *
session_chaos_kind(enum chaos_kind k)
{
	switch (k) {
	case CHAOS_NONE:
		return "none";
	case CHAOS_REPLY:
		return "reply";
	case CHAOS_DELAY:
		return "delay";
	case CHAOS_DISCONNECT:
		return "disconnect";
	}
	return "none";
}

/*
 * session_chaos - sink mode: the first sink_chaos rule of set c for
 * stage st that fires on addrs (chaos.h).  A reply is sent (421 then
 * closes), a disconnect closes without one: true, the command is
 * answered.  A delay holds this command's reply (session_pause_due):
 * false, and so is no rule, the command goes on as usual.
 */
static bool
session_chaos(struct session *s, struct chaos *c, enum chaos_stage st,
    const char *stage, const char *const *addrs, size_t n)
{
	struct chaos_action a;
	struct chaos *hold;

	if (!s->cfg->sink || !chaos_match(c, st, addrs, n, &a))
		return false;
	log_event(LOG_LEVEL_INFO, s->id, "event=chaos", LOG_TOK("stage", stage),
	    LOG_TOK("action", session_chaos_kind(a.kind)),
	    a.kind == CHAOS_REPLY ? LOG_U("code", a.code) :
	    a.kind == CHAOS_DELAY ? LOG_U("ms", a.delay_ms) : LOG_NONE,
	    LOG_TOK("client", s->client));
	switch (a.kind) {
	case CHAOS_NONE:
		return false;
	case CHAOS_DELAY:
		session_pause_due(s, a.delay_ms);
		if (st == CHAOS_DATA)
			s->commit_after_pause = true;
		return st == CHAOS_DATA;
	case CHAOS_DISCONNECT:
		session_close(s);
		return true;
	case CHAOS_REPLY:
		hold = chaos_ref(c);	/* a.text lives in it */
		if (st == CHAOS_DATA || st == CHAOS_MAIL)
			session_tx_reset(s);
		session_reply(s, a.reply, a.text);
		chaos_unref(&hold);
		if (a.code == 421)
			session_close(s);
		return true;
	}
	return false;
}

/*
 * session_filter_path - ask the filters about MAIL or RCPT: the path in
 * angle brackets and the parameters as the client gave them.
 */
static bool
session_filter_path(struct session *s, enum session_filter_stage stage,
    const char *addr, const struct smtp_cmd *cmd)
{
	struct session_filter_args fa = { 0 };
	char path[SMTP_PATH_MAX + 3], params[SESSION_CMD_LINE_MAX];
	const char *gt = memchr(cmd->arg, '>', cmd->arglen);
	size_t off = gt != NULL ? (size_t)(gt - cmd->arg) + 1 : cmd->arglen;

	if (s->ops->filter == NULL)
		return false;
	while (off < cmd->arglen && cmd->arg[off] == ' ')
		off++;
	(void)snprintf(path, sizeof(path), "<%s>", addr);
	(void)snprintf(params, sizeof(params), "%.*s",
	    (int)(cmd->arglen - off), cmd->arg + off);
	fa.addr = path;
	fa.esmtp = params;
	return session_filter_ask(s, stage, &fa);
}

/* session_mail - MAIL FROM (RFC 5321 §4.1.1.2; SIZE RFC 1870 §6). */
static void
session_mail(struct session *s, const struct smtp_cmd *cmd)
{
	struct smtp_mail_args m;
	enum smtp_cmd_err err;
	unsigned flags = s->cfg->strict_envelope ? SMTP_CMD_F_STRICT : 0;

	if (session_dsn_offered(s))
		flags |= SMTP_CMD_F_DSN;
	err = smtp_cmd_parse_mail(cmd->arg, cmd->arglen, flags, &m);
	if (err != SMTP_CMD_OK) {
		session_reply(s, session_path_err(err, false),
		    err == SMTP_CMD_ERR_SYNTAX ? "MAIL FROM:<address>" :
		    "MAIL parameter");
		return;
	}
	if (m.has_size && s->cfg->message_size_limit > 0 &&
	    m.size > s->cfg->message_size_limit) {
		session_reply(s, SMTP_R_TOO_BIG, NULL);
		return;
	}
	if (!session_sender_ok(s, &m.from)) {
		session_reply(s, SMTP_R_SENDER_NOT_OWNED, s->auth_user);
		return;
	}
	if (++s->ntx_mail > s->cfg->max_transactions) {
		session_end_with(s, SMTP_R_TOO_MANY_TX);
		return;
	}
	session_tx_reset(s);
	/* the id the message will have, known to the filters from MAIL on */
	(void)snprintf(s->tx.queue_id, sizeof(s->tx.queue_id), "%.12s%04X",
	    s->id, (s->ntx + 1) & 0xffffu);
	s->tx.auth_user = s->authenticated ? s->auth_user : NULL;
	s->tx.from = m.from;
	smtp_addr_fmt(&m.from, s->tx.from_str, sizeof(s->tx.from_str));
	s->tx.smtputf8 = m.smtputf8;
	s->tx.body = m.body;
	s->tx.ret = m.ret;
	memcpy(s->tx.envid, m.envid, sizeof(s->tx.envid));
	if (s->chaos_live != NULL)
		s->tx.chaos = chaos_ref(*s->chaos_live);
	if (session_chaos(s, s->tx.chaos, CHAOS_MAIL, "mail",
	    &(const char *){ s->tx.from_str }, 1))
		return;
	session_set_state(s, SESSION_ST_MAIL);
	if (!session_filter_path(s, SESSION_FILTER_MAIL, s->tx.from_str,
	    cmd))
		session_reply(s, SMTP_R_MAIL_OK, NULL);
}


/* session_rcpt_add - append an accepted recipient, its plan and its
 * RFC 3461 parameters. */
static void
session_rcpt_add(struct session *s, const struct smtp_rcpt_args *a,
    const struct route *r)
{
	size_t cap;

	if (s->tx.nrcpt == s->tx.rcpt_cap) {
		cap = s->tx.rcpt_cap == 0 ? 4 : s->tx.rcpt_cap * 2;
		s->tx.rcpts = realloc(s->tx.rcpts, cap * sizeof(*s->tx.rcpts));
		s->tx.routes = realloc(s->tx.routes,
		    cap * sizeof(*s->tx.routes));
		s->tx.dsn = xrealloc(s->tx.dsn, cap, sizeof(*s->tx.dsn));
		if (s->tx.rcpts == NULL || s->tx.routes == NULL)
			log_fatal("out of memory (recipients)");
		s->tx.rcpt_cap = cap;
	}
	s->tx.rcpts[s->tx.nrcpt] = a->to;
	s->tx.routes[s->tx.nrcpt] = *r;
	s->tx.dsn[s->tx.nrcpt].notify = a->notify;
	s->tx.dsn[s->tx.nrcpt].orcpt = a->orcpt[0] != '\0' ?
	    xstrdup(a->orcpt) : NULL;
	s->tx.nrcpt++;
	s->stats.rcpts++;
}

/* session_rcpt - RCPT TO (RFC 5321 §4.1.1.3). */
static void
session_rcpt(struct session *s, const struct smtp_cmd *cmd)
{
	struct smtp_rcpt_args r;
	enum smtp_cmd_err err;
	unsigned flags = s->cfg->strict_envelope ? SMTP_CMD_F_STRICT : 0;
	char to[SMTP_PATH_MAX + 1];
	struct route plan;
	char rcpt[SMTP_PATH_MAX + 1];

	s->tx.rcpt_tried++;
	if (s->tx.smtputf8)
		flags |= SMTP_CMD_F_UTF8;
	if (s->cfg->sink)	/* "<root>" from cron and mail(1) */
		flags |= SMTP_CMD_F_LOCAL;
	if (session_dsn_offered(s))
		flags |= SMTP_CMD_F_DSN;
	err = smtp_cmd_parse_rcpt(cmd->arg, cmd->arglen, flags, &r);
	if (err != SMTP_CMD_OK) {
		session_reply(s, session_path_err(err, true), err ==
		    SMTP_CMD_ERR_SYNTAX ? "RCPT TO:<address>" : "RCPT parameter");
		return;
	}
	s->cur_rcpt = &r.to;	/* for reject logs, until the handler ends */
	if (s->tx.nrcpt >= s->cfg->recipient_limit) {
		/* RFC 5321 §4.5.3.1.8: 452, and the client sends the rest in
		 * another transaction; past recipient_overshoot_limit of them
		 * (as Postfix's smtpd_recipient_overshoot_limit) each one is
		 * an error, so an endless run of RCPTs ends. */
		session_reply(s, SMTP_R_TOO_MANY_RCPT, NULL);
		if (++s->tx.overshoot > s->cfg->recipient_overshoot_limit)
			session_spend_error(s);
		return;
	}
	if (session_chaos(s, s->tx.chaos, CHAOS_RCPT, "rcpt",
	    &(const char *){ smtp_addr_fmt(&r.to, rcpt, sizeof(rcpt)) }, 1))
		return;
	route_rcpt(s->cfg, s->authenticated, &r.to, &plan);
	if (plan.kind == ROUTE_REFUSE) {
		session_reply(s, plan.reply, NULL);
		return;
	}
	s->pend_rcpt = r;
	s->pend_route = plan;
	if (session_filter_path(s, SESSION_FILTER_RCPT, smtp_addr_fmt(&r.to,
	    to, sizeof(to)), cmd))
		return;		/* the plan waits in pend_route */
	session_rcpt_accept(s);
}

/* session_rcpt_accept - take the recipient in pend_rcpt, pend_route. */
static void
session_rcpt_accept(struct session *s)
{
	session_rcpt_add(s, &s->pend_rcpt, &s->pend_route);
	session_set_state(s, SESSION_ST_RCPT);
	session_reply(s, SMTP_R_RCPT_OK, NULL);
}

/* session_data - DATA (RFC 5321 §4.1.1.4): open the spool, 354. */
static void
session_data(struct session *s, const struct smtp_cmd *cmd)
{
	int fail;

	(void)cmd;
	if (s->tx.body == SMTP_BODY_BINARYMIME) {	/* RFC 3030 §3 */
		session_reply(s, SMTP_R_BAD_SEQ, "BINARYMIME requires BDAT");
		return;
	}
	fail = session_spool_open(s);
	if (fail >= 0) {
		session_reply(s, (enum smtp_reply_id)fail, NULL);
		return;
	}
	smtp_data_init(&s->data, s->cfg->message_size_limit);
	session_set_state(s, SESSION_ST_DATA);
	session_reply(s, SMTP_R_DATA_GO, NULL);
}

/*
 * session_bdat_skip - refuse a BDAT whose octets must still be read
 * (RFC 3030 §3: the announced chunk is consumed whatever the reply);
 * why is the reply's reason, a string literal, or NULL.
 */
static void
session_bdat_skip(struct session *s, uint64_t size, enum smtp_reply_id id,
    const char *why)
{
	if (size == 0) {
		session_reply(s, id, why);
		return;
	}
	s->bdat_skip = size;
	s->bdat_err = (int)id;
	s->bdat_why = why;
	s->bdat_prev = s->state;
	s->bdat_last = false;
	session_set_state(s, SESSION_ST_BDAT);
}

/* session_bdat_begin - the first BDAT of a transaction. */
static int
session_bdat_begin(struct session *s)
{
	int fail;

	fail = session_spool_open(s);
	if (fail >= 0)
		return fail;
	s->tx.bdat = true;
	smtp_bdat_init(&s->bdat, s->cfg->message_size_limit,
	    s->tx.body == SMTP_BODY_BINARYMIME);
	return -1;
}

/* session_bdat - BDAT size [LAST] (RFC 3030 §2). */
static void
session_bdat(struct session *s, const struct smtp_cmd *cmd)
{
	enum smtp_reply_id id;
	const char *why;
	uint64_t size;
	bool last;
	int fail;

	if (smtp_cmd_parse_bdat(cmd->arg, cmd->arglen, &size, &last) !=
	    SMTP_CMD_OK) {
		session_reply(s, SMTP_R_SYNTAX_ARGS, "BDAT size [LAST]");
		return;
	}
	id = session_seq_refusal(s, cmd->verb, &why);
	if (id != SMTP_R_COUNT) {	/* the table's answer, chunk consumed */
		session_bdat_skip(s, size, id, why);
		return;
	}
	if (!s->tx.bdat && (fail = session_bdat_begin(s)) >= 0) {
		session_bdat_skip(s, size, (enum smtp_reply_id)fail, NULL);
		return;
	}
	s->bdat_last = last;
	s->bdat_err = -1;
	smtp_bdat_chunk(&s->bdat, size);
	session_set_state(s, SESSION_ST_BDAT);
	if (size == 0)		/* "BDAT 0 LAST": nothing to read */
		session_bdat_chunk_end(s);
}

/*
 * session_junk - count NOOP, RSET, VRFY, EXPN and HELP (Postfix's
 * smtpd_junk_command_limit); too many between two messages: 421, close.
 * Returns false when the session ended.
 */
static bool
session_junk(struct session *s)
{
	if (++s->junk <= s->cfg->junk_command_limit)
		return true;
	session_end_with(s, SMTP_R_TOO_MANY_JUNK);
	return false;
}

/* session_rset - RSET (RFC 5321 §4.1.1.5). */
static void
session_rset(struct session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	session_tx_reset(s);
	session_reply(s, SMTP_R_OK, NULL);
}

/* session_noop - NOOP [string] (RFC 5321 §4.1.1.9). */
static void
session_noop(struct session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	session_reply(s, SMTP_R_OK, NULL);
}

/* session_quit - QUIT (RFC 5321 §4.1.1.10): 221, then close. */
static void
session_quit(struct session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	session_reply(s, SMTP_R_QUIT, NULL);
	session_close(s);
}

/* session_vrfy - VRFY (RFC 5321 §3.5.3): 252, nothing disclosed. */
static void
session_vrfy(struct session *s, const struct smtp_cmd *cmd)
{
	if (cmd->arglen == 0) {
		session_reply(s, SMTP_R_SYNTAX_ARGS, "VRFY address");
		return;
	}
	session_reply(s, SMTP_R_VRFY, NULL);
}

/* session_not_impl - EXPN (RFC 5321 §3.5.3: optional). */
static void
session_not_impl(struct session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	session_reply(s, SMTP_R_NOT_IMPL, NULL);
}

/* session_help - HELP (RFC 5321 §4.1.1.8). */
static void
session_help(struct session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	session_reply(s, SMTP_R_HELP, NULL);
}

/*
 * session_starttls - STARTTLS (RFC 3207 §4): 220, then every byte the
 * client sent after this line is discarded (the caller stops feeding us
 * and the state below swallows anything fed anyway).
 */
static void
session_starttls(struct session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	if (s->tls_active) {
		session_reply(s, SMTP_R_BAD_SEQ, "TLS already active");
		return;
	}
	if (!s->tls_available) {
		session_reply(s, SMTP_R_TLS_UNAVAIL, NULL);
		return;
	}
	session_reply(s, SMTP_R_STARTTLS_GO, NULL);
	session_flush(s);
	session_set_state(s, SESSION_ST_TLS);
	s->ops->starttls(s->ctx);
}

/* session_has_word - whether the space-separated list has word. */
static bool
session_has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

/*
 * session_auth - AUTH mechanism [initial-response] (RFC 4954 §4).  The
 * exchange itself runs in the edge; replies come back through
 * session_auth_done().
 */
static void
session_auth(struct session *s, const struct smtp_cmd *cmd)
{
	char mech[21];
	const char *ir, *mechs;
	size_t irlen;

	if (s->authenticated) {
		session_reply(s, SMTP_R_BAD_SEQ, "already authenticated");
		return;
	}
	if (session_needs_tls(s) && conf_has_auth(s->cfg)) {
		session_reply(s, SMTP_R_AUTH_ENCRYPT, NULL);	/* RFC 4954 §6 */
		return;
	}
	if (!session_auth_offered(s)) {
		session_reply(s, SMTP_R_NOT_IMPL, NULL);
		return;
	}
	if (smtp_cmd_parse_auth(cmd->arg, cmd->arglen, mech, &ir, &irlen) !=
	    SMTP_CMD_OK) {
		session_reply(s, SMTP_R_SYNTAX_ARGS, "AUTH mechanism "
		    "[initial-response]");
		return;
	}
	mechs = s->ops->auth_mechs(s->ctx);
	if (mechs == NULL || !session_has_word(mechs, mech)) {
		session_reply(s, SMTP_R_AUTH_MECH, NULL);
		return;
	}
	session_set_state(s, SESSION_ST_AUTH_WAIT);
	smtp_line_set_max(&s->line, SESSION_AUTH_LINE_MAX);
	memcpy(s->auth_mech, mech, sizeof(s->auth_mech));
	s->ops->auth_start(s->ctx, mech, ir, irlen);
}

/* session_auth_end - back to command mode after an exchange. */
static void
session_auth_end(struct session *s)
{
	smtp_line_set_max(&s->line, session_line_max(s));
	session_set_state(s, SESSION_ST_READY);
}

/* session_feed_auth - a response line to a 334 challenge. */
static size_t
session_feed_auth(struct session *s, const char *in, size_t len)
{
	enum smtp_line_result r;
	const char *line;
	size_t used, n;

	r = smtp_line_feed(&s->line, in, len, &used, &line, &n);
	switch (r) {
	case SMTP_LINE_MORE:
		return used;
	case SMTP_LINE_OK:
	case SMTP_LINE_BARE_LF:
		if (n == 1 && line[0] == '*') {		/* RFC 4954 §4 */
			s->ops->auth_abort(s->ctx);
			session_auth_end(s);
			session_reply(s, SMTP_R_AUTH_CANCELLED, NULL);
			return used;
		}
		session_set_state(s, SESSION_ST_AUTH_WAIT);
		s->ops->auth_step(s->ctx, line, n);
		return used;
	case SMTP_LINE_BARE_CR:
	case SMTP_LINE_NUL:
		s->ops->auth_abort(s->ctx);
		session_auth_end(s);
		session_reply(s, SMTP_R_AUTH_BADB64, NULL);
		return used;
	case SMTP_LINE_TOOLONG:
		s->ops->auth_abort(s->ctx);
		session_auth_end(s);
		session_reply(s, SMTP_R_AUTH_TOOLONG, NULL);
		return used;
	}
	return used;
}

/* session_http - an HTTP request line: not a mail client; close. */
static void
session_http(struct session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	log_event(LOG_LEVEL_INFO, s->id, "event=http",
	    LOG_TOK("client", s->client));
	session_reply(s, SMTP_R_HTTP, NULL);
	session_close(s);
}

/*
 * The command table.  The seq column reads GREETED, READY, MAIL, RCPT
 * (the command-mode states; session_feed sends every other state's
 * bytes elsewhere).
 */
static const struct session_cmd session_cmds[] = {
	{ SMTP_VERB_EHLO, { NULL, NULL, NULL, NULL },
	    CMD_F_PRE_TLS | CMD_F_PRE_AUTH, session_helo },
	{ SMTP_VERB_HELO, { NULL, NULL, NULL, NULL },
	    CMD_F_PRE_TLS | CMD_F_PRE_AUTH, session_helo },
	{ SMTP_VERB_MAIL, { SEQ_HELO, NULL, SEQ_NESTED, SEQ_NESTED },
	    0, session_mail },
	{ SMTP_VERB_RCPT, { SEQ_HELO, SEQ_NEED_MAIL, NULL, NULL },
	    0, session_rcpt },
	{ SMTP_VERB_DATA, { SEQ_HELO, SEQ_NEED_MAIL, SEQ_NEED_RCPT, NULL },
	    CMD_F_NO_ARGS | CMD_F_NEED_RCPT, session_data },
	{ SMTP_VERB_BDAT, { SEQ_HELO, SEQ_NEED_MAIL, SEQ_NEED_RCPT, NULL },
	    CMD_F_IN_BDAT | CMD_F_NEED_RCPT | CMD_F_SEQ_LATE, session_bdat },
	{ SMTP_VERB_RSET, { NULL, NULL, NULL, NULL }, CMD_F_PRE_TLS |
	    CMD_F_PRE_AUTH | CMD_F_NO_ARGS | CMD_F_IN_BDAT | CMD_F_JUNK,
	    session_rset },
	{ SMTP_VERB_NOOP, { NULL, NULL, NULL, NULL }, CMD_F_PRE_TLS |
	    CMD_F_PRE_AUTH | CMD_F_IN_BDAT | CMD_F_JUNK, session_noop },
	{ SMTP_VERB_QUIT, { NULL, NULL, NULL, NULL }, CMD_F_PRE_TLS |
	    CMD_F_PRE_AUTH | CMD_F_IN_BDAT, session_quit },
	{ SMTP_VERB_VRFY, { NULL, NULL, NULL, NULL },
	    CMD_F_PRE_AUTH | CMD_F_JUNK, session_vrfy },
	{ SMTP_VERB_EXPN, { NULL, NULL, NULL, NULL },
	    CMD_F_PRE_AUTH | CMD_F_JUNK, session_not_impl },
	{ SMTP_VERB_HELP, { NULL, NULL, NULL, NULL },
	    CMD_F_PRE_TLS | CMD_F_PRE_AUTH | CMD_F_JUNK, session_help },
	{ SMTP_VERB_STARTTLS, { NULL, NULL, NULL, NULL },
	    CMD_F_PRE_TLS | CMD_F_PRE_AUTH | CMD_F_NO_ARGS, session_starttls },
	{ SMTP_VERB_AUTH, { SEQ_HELO, NULL, SEQ_IN_TX, SEQ_IN_TX },
	    CMD_F_PRE_TLS | CMD_F_PRE_AUTH, session_auth },
	{ SMTP_VERB_HTTP, { NULL, NULL, NULL, NULL }, CMD_F_PRE_TLS |
	    CMD_F_PRE_AUTH | CMD_F_IN_BDAT, session_http },
};

/* session_find_cmd - the table row for a verb, or NULL. */
static const struct session_cmd *
session_find_cmd(enum smtp_verb verb)
{
	size_t i;

	for (i = 0; i < sizeof(session_cmds) / sizeof(session_cmds[0]); i++)
		if (session_cmds[i].verb == verb)
			return &session_cmds[i];
	return NULL;
}

/*
 * session_seq_refusal - the state column's answer to verb now: a reply
 * with its reason in *why_out, or SMTP_R_COUNT when it may run.  A DATA
 * or BDAT after recipients that were all refused is 554 rather than 503
 * (RFC 2920 §3.1).
 */
static enum smtp_reply_id
session_seq_refusal(const struct session *s, enum smtp_verb verb,
    const char **why_out)
{
	const struct session_cmd *c = session_find_cmd(verb);

	*why_out = NULL;
	if (c == NULL || s->state > SESSION_ST_RCPT ||
	    c->seq[s->state] == NULL)
		return SMTP_R_COUNT;
	if ((c->flags & CMD_F_NEED_RCPT) != 0 &&
	    s->state == SESSION_ST_MAIL && s->tx.rcpt_tried > 0)
		return SMTP_R_NO_VALID_RCPT;
	*why_out = c->seq[s->state];
	return SMTP_R_BAD_SEQ;
}

/*
 * session_seq_ok - apply the state column; false when it refused.
 */
static bool
session_seq_ok(struct session *s, const struct session_cmd *c)
{
	enum smtp_reply_id id;
	const char *why;

	id = session_seq_refusal(s, c->verb, &why);
	if (id == SMTP_R_COUNT)
		return true;
	session_reply(s, id, why);
	return false;
}

/*
 * session_may_run - the checks every command passes before its handler,
 * in this order: EHLO first (a client that has not said it learns that
 * before anything else); BDAT sequence; STARTTLS and AUTH requirements;
 * no-argument verbs; then the rest of the state column.  BDAT
 * (CMD_F_SEQ_LATE) applies its state column itself, after parsing its
 * size, since a refused chunk is still read (RFC 3030 §3).  Replies and
 * returns false when the command may not run.
 */
static bool
session_may_run(struct session *s, const struct session_cmd *c,
    const struct smtp_cmd *cmd)
{
	bool late = (c->flags & CMD_F_SEQ_LATE) != 0;

	if (s->state == SESSION_ST_GREETED && !late && !session_seq_ok(s, c))
		return false;
	if (s->tx.bdat && (c->flags & CMD_F_IN_BDAT) == 0) {
		session_reply(s, SMTP_R_BDAT_MIXED, NULL);
		return false;
	}
	if (session_needs_tls(s) && (c->flags & CMD_F_PRE_TLS) == 0) {
		session_reply(s, SMTP_R_TLS_REQUIRED, NULL);
		return false;
	}
	if (session_needs_auth(s) && (c->flags & CMD_F_PRE_AUTH) == 0) {
		session_reply(s, SMTP_R_AUTH_REQUIRED, NULL);
		return false;
	}
	if ((c->flags & CMD_F_NO_ARGS) != 0 && cmd->arglen > 0) {
		session_reply(s, SMTP_R_SYNTAX_ARGS, cmd->name);
		return false;
	}
	return late || session_seq_ok(s, c);
}

/* session_command - dispatch one complete command line. */
static void
session_command(struct session *s, const char *line, size_t len)
{
	const struct session_cmd *c;
	struct smtp_cmd cmd;

	smtp_cmd_parse(line, len, &cmd);
	s->stats.commands++;
	s->cur_verb = smtp_cmd_verb_name(cmd.verb);
	c = session_find_cmd(cmd.verb);
	if (s->refused >= 0 && cmd.verb != SMTP_VERB_QUIT)
		session_reply(s, (enum smtp_reply_id)s->refused,
		    s->refused_text[0] != '\0' ? s->refused_text : NULL);
	else if (c == NULL)
		session_reply(s, SMTP_R_UNKNOWN, NULL);
	else if (session_may_run(s, c, &cmd) &&
	    ((c->flags & CMD_F_JUNK) == 0 || session_junk(s)))
		c->handler(s, &cmd);
	s->cur_verb = NULL;
	s->cur_rcpt = NULL;
}

/* session_feed_line - command mode: take bytes up to one line. */
static size_t
session_feed_line(struct session *s, const char *in, size_t len)
{
	enum smtp_line_result r;
	const char *line;
	size_t used, n;

	r = smtp_line_feed(&s->line, in, len, &used, &line, &n);
	switch (r) {
	case SMTP_LINE_MORE:
		break;
	case SMTP_LINE_BARE_LF:
		if (s->cfg->bare_newline == CONF_BARE_REJECT) {
			session_reply(s, SMTP_R_BARE_LF_CMD, NULL);
			break;
		}
		session_command(s, line, n);
		break;
	case SMTP_LINE_OK:
		session_command(s, line, n);
		break;
	case SMTP_LINE_BARE_CR:
	case SMTP_LINE_NUL:
		session_reply(s, SMTP_R_BAD_CHAR, NULL);
		break;
	case SMTP_LINE_TOOLONG:
		session_reply(s, SMTP_R_LINE_TOOLONG, NULL);
		break;
	}
	return used;
}

/* session_commit - all checks passed: make the message durable. */
static void
session_commit(struct session *s)
{
	session_set_state(s, SESSION_ST_COMMIT);
	session_flush(s);
	if (!session_filter_ask(s, SESSION_FILTER_EOM, NULL))
		s->ops->spool_commit(s->ctx, &s->tx);
}

/*
 * session_body_verdict - at the end of the body, the reply that refuses
 * the message, or -1 to commit.  text is the decoder that applied the
 * body rules (NULL for BINARYMIME, which has none).  Checked in order:
 * size (RFC 1870 §6.3), spool errors (always 4xx), bare line ends under
 * bare_newline reject, NUL octets, mail loops (RFC 5321 §6.3).
 */
static int
session_body_verdict(struct session *s, bool too_big,
    const struct smtp_data *text)
{
	if (too_big)
		return SMTP_R_TOO_BIG;
	if (s->spool_err != 0)
		return (s->spool_err == ENOSPC || s->spool_err == EDQUOT) ?
		    SMTP_R_STORAGE_FULL : SMTP_R_LOCAL_ERROR;
	if (text != NULL && smtp_data_has_bare(text) &&
	    s->cfg->bare_newline == CONF_BARE_REJECT)
		return SMTP_R_BARE_NEWLINE;
	if (text != NULL && smtp_data_has_nul(text))
		return SMTP_R_NUL;
	if (s->hdr.received > SESSION_RECEIVED_MAX)
		return SMTP_R_LOOP;
	if (s->cfg->header_size_limit > 0 &&
	    s->hdr_size > s->cfg->header_size_limit)
		return SMTP_R_HEADER_TOO_BIG;
	return -1;
}

/*
 * session_chaos_data - the sink_chaos data rules at the end of the body,
 * matched on every recipient: true when one answered (a reply, a
 * disconnect) or delays the commit until session_resume().
 */
static bool
session_chaos_data(struct session *s)
{
	char (*addr)[SMTP_PATH_MAX + 1];
	const char **addrs;
	size_t i, n = s->tx.nrcpt;
	bool r;

	if (s->tx.chaos == NULL || !s->cfg->sink)
		return false;
	addr = xcalloc(n, sizeof(*addr));
	addrs = xcalloc(n, sizeof(*addrs));
	for (i = 0; i < n; i++)
		addrs[i] = smtp_addr_fmt(&s->tx.rcpts[i], addr[i],
		    sizeof(addr[i]));
	r = session_chaos(s, s->tx.chaos, CHAOS_DATA, "data", addrs, n);
	free(addrs);
	free(addr);
	return r;
}

/* session_body_end - the message is complete: refuse it or commit. */
static void
session_body_end(struct session *s, bool too_big,
    const struct smtp_data *text)
{
	int refuse = session_body_verdict(s, too_big, text);

	if (refuse < 0) {
		if (!session_chaos_data(s))
			session_commit(s);
		return;
	}
	log_event(LOG_LEVEL_INFO, s->id, "event=refused",
	    LOG_TOK("id", s->tx.queue_id), LOG_U("size", s->tx.size));
	session_tx_reset(s);
	session_reply(s, (enum smtp_reply_id)refuse, NULL);
}

/* session_feed_data - DATA mode: decode, scan headers, spool. */
static size_t
session_feed_data(struct session *s, const char *in, size_t len)
{
	enum smtp_data_result r;
	size_t used, outlen;

	if (len > SESSION_CHUNK)
		len = SESSION_CHUNK;
	r = smtp_data_feed(&s->data, in, len, &used, s->scratch, &outlen);
	session_hdr_scan(s, s->scratch, outlen);
	session_spool_write(s, s->scratch, outlen);
	s->tx.size = s->data.size;
	if (r == SMTP_DATA_END)
		session_body_end(s, s->data.too_big, &s->data);
	return used;
}

/* session_bdat_chunk_end - a BDAT chunk has been read completely. */
static void
session_bdat_chunk_end(struct session *s)
{
	char n[32];
	size_t extra;

	if (s->bdat_err >= 0) {		/* a refused chunk, now skipped */
		session_set_state(s, s->bdat_prev);
		session_reply(s, (enum smtp_reply_id)s->bdat_err, s->bdat_why);
		s->bdat_err = -1;
		return;
	}
	if (s->bdat.too_big || !s->bdat_last) {
		if (s->bdat.too_big) {
			session_body_end(s, true, NULL);
			return;
		}
		session_set_state(s, SESSION_ST_RCPT);
		(void)snprintf(n, sizeof(n), "%llu",
		    (unsigned long long)s->bdat.size);
		session_reply(s, SMTP_R_BDAT_OK, n);
		return;
	}
	extra = smtp_bdat_finish(&s->bdat, s->scratch);
	session_hdr_scan(s, s->scratch, extra);
	session_spool_write(s, s->scratch, extra);
	session_body_end(s, false, s->bdat.binary ? NULL : &s->bdat.text);
}

/* session_feed_bdat - BDAT mode: copy (or skip) the announced octets. */
static size_t
session_feed_bdat(struct session *s, const char *in, size_t len)
{
	size_t used, outlen;
	bool done;

	if (len > SESSION_CHUNK)
		len = SESSION_CHUNK;
	if (s->bdat_err >= 0) {
		used = s->bdat_skip < len ? (size_t)s->bdat_skip : len;
		s->bdat_skip -= used;
		if (s->bdat_skip == 0)
			session_bdat_chunk_end(s);
		return used;
	}
	done = smtp_bdat_feed(&s->bdat, in, len, &used, s->scratch, &outlen);
	session_hdr_scan(s, s->scratch, outlen);
	session_spool_write(s, s->scratch, outlen);
	s->tx.size = s->bdat.size;
	if (done)
		session_bdat_chunk_end(s);
	return used;
}

/* session_hold_or_flush - start a due pause (the replies wait for
 * session_resume()), else hand the replies over. */
static void
session_hold_or_flush(struct session *s)
{
	if (s->pause_due && !session_is_closed(s)) {
		s->pause_due = false;
		s->paused = true;
		s->ops->pause(s->ctx, s->pause_ms);
		s->pause_ms = 0;
		return;
	}
	s->pause_due = false;
	s->pause_ms = 0;
	session_flush(s);
}

size_t
session_feed(struct session *s, const char *data, size_t len)
{
	size_t off = 0;

	if (s->paused)		/* the held replies wait for the resume */
		return 0;
	while (off < len && !session_is_busy(s) && !session_is_closed(s) &&
	    !s->pause_due && s->out.len < SESSION_OUT_FLUSH) {
		switch (s->state) {
		case SESSION_ST_GREETED:
		case SESSION_ST_READY:
		case SESSION_ST_MAIL:
		case SESSION_ST_RCPT:
			off += session_feed_line(s, data + off, len - off);
			break;
		case SESSION_ST_DATA:
			off += session_feed_data(s, data + off, len - off);
			break;
		case SESSION_ST_BDAT:
			off += session_feed_bdat(s, data + off, len - off);
			break;
		case SESSION_ST_AUTH:
			off += session_feed_auth(s, data + off, len - off);
			break;
		case SESSION_ST_COMMIT:
		case SESSION_ST_TLS:
		case SESSION_ST_AUTH_WAIT:
		case SESSION_ST_CLOSED:
			break;
		}
	}
	if (s->state == SESSION_ST_TLS || s->state == SESSION_ST_CLOSED) {
		if (off < len && s->state == SESSION_ST_TLS)
			log_event(LOG_LEVEL_INFO, s->id, "event=starttls-purge",
			    LOG_U("bytes", len - off));
		off = len;	/* RFC 3207 §4.2: discard, never execute */
	}
	session_hold_or_flush(s);	/* held: until session_resume() */
	return off;
}

/* session_commit_end - the commit's reply is queued: next transaction. */
static void
session_commit_end(struct session *s)
{
	session_tx_reset(s);
	session_flush(s);
	if (s->end_after >= 0)
		session_end_with(s, (enum smtp_reply_id)s->end_after);
}

void
session_commit_done(struct session *s, int err)
{
	const struct session_tx *tx = &s->tx;

	if (s->state != SESSION_ST_COMMIT)
		log_fatal("can't happen: commit done in state %s",
		    session_state_name(s->state));
	s->tx.spool_open = false;	/* committed or cleaned up */
	if (err == 0) {
		s->stats.messages++;
		s->junk = 0;
		log_event(LOG_LEVEL_INFO, s->id, "event=queued",
		    LOG_TOK("id", tx->queue_id), LOG_ADDR("from", tx->from_str),
		    LOG_U("nrcpt", tx->nrcpt), LOG_U("size", tx->size),
		    tx->auth_user != NULL ? LOG_Q("user", tx->auth_user) :
		    LOG_NONE);
		session_reply(s, SMTP_R_QUEUED, tx->queue_id);
	} else {
		log_event(LOG_LEVEL_WARN, s->id, "event=spool-error",
		    LOG_TOK("id", tx->queue_id), LOG_Q("error", strerror(err)));
		session_reply(s, (err == ENOSPC || err == EDQUOT) ?
		    SMTP_R_STORAGE_FULL : SMTP_R_LOCAL_ERROR, NULL);
	}
	session_commit_end(s);
}

void
session_commit_refused(struct session *s, enum smtp_reply_id id,
    const char *arg)
{
	if (s->state != SESSION_ST_COMMIT)
		log_fatal("can't happen: commit refused in state %s",
		    session_state_name(s->state));
	s->tx.spool_open = false;	/* the edge threw it away */
	s->cur_verb = s->tx.bdat ? "BDAT" : "DATA";	/* the reply's command */
	session_reply(s, id, arg);
	s->cur_verb = NULL;
	session_commit_end(s);
}

void
session_starttls_done(struct session *s, const struct session_tls_info *info)
{
	if (s->state != SESSION_ST_TLS)
		log_fatal("can't happen: TLS done in state %s",
		    session_state_name(s->state));
	if (info == NULL) {
		session_close(s);
		return;
	}
	/* RFC 3207 §4.2: forget everything learnt before TLS. */
	session_tx_reset(s);
	smtp_line_reset(&s->line);
	s->helo[0] = '\0';
	s->esmtp = false;
	s->authenticated = false;
	s->auth_user[0] = '\0';
	s->tls_active = true;
	(void)snprintf(s->tls_version, sizeof(s->tls_version), "%s",
	    info->version);
	(void)snprintf(s->tls_cipher, sizeof(s->tls_cipher), "%s",
	    info->cipher);
	s->tls_bits = info->bits;
	session_set_state(s, SESSION_ST_GREETED);
}

/* session_auth_reply - the reply for an exchange result. */
static enum smtp_reply_id
session_auth_reply(enum session_auth_result r)
{
	switch (r) {
	case SESSION_AUTH_OK:
		return SMTP_R_AUTH_OK;
	case SESSION_AUTH_CONTINUE:
		return SMTP_R_AUTH_CHALLENGE;
	case SESSION_AUTH_FAIL:
		return SMTP_R_AUTH_FAILED;
	case SESSION_AUTH_BADB64:
		return SMTP_R_AUTH_BADB64;
	case SESSION_AUTH_TEMP:
		return SMTP_R_AUTH_TEMP;
	case SESSION_AUTH_ENCRYPT:
		return SMTP_R_AUTH_ENCRYPT;
	case SESSION_AUTH_WEAK:
		return SMTP_R_AUTH_WEAK;
	case SESSION_AUTH_NOMECH:
		return SMTP_R_AUTH_MECH;
	case SESSION_AUTH_BANNED:
		return SMTP_R_AUTH_BANNED;
	}
	return SMTP_R_AUTH_TEMP;
}

void
session_auth_done(struct session *s, enum session_auth_result r,
    const char *data)
{
	if (s->state != SESSION_ST_AUTH_WAIT)
		log_fatal("can't happen: AUTH done in state %s",
		    session_state_name(s->state));
	s->cur_verb = "AUTH";
	if (r == SESSION_AUTH_CONTINUE) {
		session_set_state(s, SESSION_ST_AUTH);
		session_reply(s, SMTP_R_AUTH_CHALLENGE, data);
	} else if (r == SESSION_AUTH_BANNED) {
		session_auth_end(s);
		session_end_with(s, SMTP_R_AUTH_BANNED);
	} else {
		session_auth_end(s);
		if (r == SESSION_AUTH_OK && s->chaos_live != NULL &&
		    session_chaos(s, *s->chaos_live, CHAOS_AUTH, "auth",
		    &(const char *){ data != NULL ? data : "" }, 1)) {
			s->cur_verb = NULL;
			session_flush(s);
			return;
		}
		if (r == SESSION_AUTH_OK) {
			s->authenticated = true;
			(void)snprintf(s->auth_user, sizeof(s->auth_user), "%s",
			    data != NULL ? data : "");
		}
		session_reply(s, session_auth_reply(r), NULL);
	}
	s->cur_verb = NULL;
	session_hold_or_flush(s);
}

/*
 * session_end_with - send a 421-class reply and close; while a commit is
 * in flight, after its reply (the message is not thrown away).
 */
static void
session_end_with(struct session *s, enum smtp_reply_id id)
{
	if (s->state == SESSION_ST_CLOSED)
		return;
	if (s->state == SESSION_ST_COMMIT) {
		s->end_after = (int)id;
		return;
	}
	session_reply(s, id, s->cfg->hostname);
	session_close(s);
}

void
session_resume(struct session *s)
{
	s->paused = false;
	if (s->commit_after_pause) {	/* a sink_chaos data delay */
		s->commit_after_pause = false;
		if (s->state == SESSION_ST_DATA || s->state == SESSION_ST_BDAT) {
			session_commit(s);
			return;
		}
	}
	session_flush(s);
}

void
session_pregreet(struct session *s)
{
	log_event(LOG_LEVEL_INFO, s->id, "event=pregreet",
	    LOG_TOK("client", s->client));
	s->cur_verb = "-";
	session_end_with(s, SMTP_R_PREGREET);
}

void
session_timeout(struct session *s)
{
	log_event(LOG_LEVEL_INFO, s->id, "event=timeout",
	    LOG_TOK("state", session_state_name(s->state)),
	    LOG_TOK("client", s->client));
	session_end_with(s, SMTP_R_TIMEOUT);
}

void
session_expire(struct session *s)
{
	log_event(LOG_LEVEL_INFO, s->id, "event=session-timeout",
	    LOG_TOK("state", session_state_name(s->state)),
	    LOG_TOK("client", s->client));
	session_end_with(s, SMTP_R_SESSION_TIMEOUT);
}

void
session_shutdown(struct session *s)
{
	session_end_with(s, SMTP_R_SHUTDOWN);
}

void
session_eof(struct session *s)
{
	if (s->state == SESSION_ST_COMMIT)
		return;		/* the commit finishes; the client retries */
	if (s->state == SESSION_ST_AUTH || s->state == SESSION_ST_AUTH_WAIT)
		s->ops->auth_abort(s->ctx);
	if (s->tx.spool_open) {
		log_event(LOG_LEVEL_INFO, s->id, "event=lost",
		    LOG_TOK("id", s->tx.queue_id),
		    LOG_TOK("state", session_state_name(s->state)));
		s->ops->spool_abort(s->ctx);
		s->tx.spool_open = false;
	}
	session_set_state(s, SESSION_ST_CLOSED);
}

/*
 * session_filter_ask - stop at a filter stage: true when the answer
 * comes later through session_filter_done (the session is busy until
 * then), false to go on now.
 */
static bool
session_filter_ask(struct session *s, enum session_filter_stage stage,
    const struct session_filter_args *args)
{
	struct session_filter_args fa = { 0 };

	if (s->ops->filter == NULL)
		return false;
	if (args != NULL)
		fa = *args;
	fa.auth_user = s->authenticated ? s->auth_user : NULL;
	fa.auth_type = s->authenticated ? s->auth_mech : NULL;
	fa.tls_version = s->tls_active ? s->tls_version : NULL;
	fa.tls_cipher = s->tls_active ? s->tls_cipher : NULL;
	if (!s->ops->filter(s->ctx, stage, &fa))
		return false;
	s->filter_wait = true;
	s->filter_stage = stage;
	return true;
}

/* session_filter_custom - the table row for a filter's own reply code. */
static enum smtp_reply_id
session_filter_custom(unsigned code)
{
	static const struct {
		unsigned		 code;
		enum smtp_reply_id	 id;
	} rows[] = {
		{ 450, SMTP_R_FILTER_450 },
		{ 452, SMTP_R_FILTER_452 }, { 551, SMTP_R_FILTER_551 },
		{ 552, SMTP_R_FILTER_552 }, { 553, SMTP_R_FILTER_553 },
		{ 554, SMTP_R_FILTER_554 },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].code == code)
			return rows[i].id;
	return code < 500 ? SMTP_R_FILTER_451 : SMTP_R_FILTER_550;
}

/*
 * session_filter_refusal - the reply for a verdict that refuses (not
 * CONTINUE or DISCARD), with its argument in *arg_out.
 */
static enum smtp_reply_id
session_filter_refusal(const struct session *s,
    const struct session_filter_verdict *v, const char **arg_out)
{
	*arg_out = NULL;
	switch (v->action) {
	case SESSION_FILTER_CUSTOM:
		*arg_out = v->text != NULL && v->text[0] != '\0' ? v->text :
		    NULL;
		return session_filter_custom(v->code);
	case SESSION_FILTER_TEMPFAIL:
		return SMTP_R_FILTER_TEMPFAIL;
	case SESSION_FILTER_SHUTDOWN:
		*arg_out = s->cfg->hostname;
		return SMTP_R_FILTER_SHUTDOWN;
	case SESSION_FILTER_CONTINUE:
	case SESSION_FILTER_DISCARD:
	case SESSION_FILTER_REJECT:
		break;
	}
	return SMTP_R_FILTER_REJECT;
}

/*
 * session_filter_connect - the connect stage's answer: a refusal answers
 * every later command but QUIT (5xx, as Postfix); a temporary one, or a
 * shutdown, is 421 and the end.
 */
static void
session_filter_connect(struct session *s,
    const struct session_filter_verdict *v)
{
	const char *arg;
	enum smtp_reply_id id = session_filter_refusal(s, v, &arg);

	if (v->action == SESSION_FILTER_CONTINUE ||
	    v->action == SESSION_FILTER_DISCARD)
		return;
	s->cur_verb = "CONNECT";
	if (smtp_reply_code(id) < 500) {
		session_end_with(s, v->action == SESSION_FILTER_SHUTDOWN ?
		    SMTP_R_FILTER_SHUTDOWN : SMTP_R_FILTER_CONN_TEMPFAIL);
		s->cur_verb = NULL;
		return;
	}
	s->refused = (int)(v->action == SESSION_FILTER_CUSTOM ? id :
	    SMTP_R_FILTER_CONN_REJECT);
	(void)snprintf(s->refused_text, sizeof(s->refused_text), "%s",
	    arg != NULL ? arg : "");
	s->cur_verb = NULL;
}

/* session_filter_eom - the end-of-message answer: commit or not. */
static void
session_filter_eom(struct session *s, const struct session_filter_verdict *v)
{
	char qid[SESSION_QID_LEN + 1];
	const char *arg;
	enum smtp_reply_id id;

	if (v->action == SESSION_FILTER_CONTINUE) {
		s->ops->spool_commit(s->ctx, &s->tx);
		return;
	}
	s->cur_verb = s->tx.bdat ? "BDAT" : "DATA";
	(void)snprintf(qid, sizeof(qid), "%s", s->tx.queue_id);
	id = session_filter_refusal(s, v, &arg);
	session_tx_reset(s);
	if (v->action == SESSION_FILTER_DISCARD) {
		s->junk = 0;
		session_reply(s, SMTP_R_QUEUED, qid);
	} else if (v->action == SESSION_FILTER_SHUTDOWN) {
		session_end_with(s, SMTP_R_FILTER_SHUTDOWN);
	} else {
		session_reply(s, id, arg);
	}
	s->cur_verb = NULL;
	if (s->end_after >= 0)
		session_end_with(s, (enum smtp_reply_id)s->end_after);
}

/* session_filter_cmd - the answer for HELO, MAIL or RCPT. */
static void
session_filter_cmd(struct session *s, const struct session_filter_verdict *v)
{
	const char *arg;
	enum smtp_reply_id id = session_filter_refusal(s, v, &arg);
	bool go = v->action == SESSION_FILTER_CONTINUE ||
	    v->action == SESSION_FILTER_DISCARD;

	s->cur_verb = s->filter_stage == SESSION_FILTER_HELO ? "HELO" :
	    s->filter_stage == SESSION_FILTER_MAIL ? "MAIL" : "RCPT";
	if (s->filter_stage == SESSION_FILTER_HELO && go) {
		session_helo_reply(s);
	} else if (s->filter_stage == SESSION_FILTER_HELO) {
		s->helo[0] = '\0';
		session_set_state(s, SESSION_ST_GREETED);
	} else if (s->filter_stage == SESSION_FILTER_MAIL && go) {
		session_reply(s, SMTP_R_MAIL_OK, NULL);
	} else if (s->filter_stage == SESSION_FILTER_MAIL) {
		session_tx_reset(s);
	} else if (go) {
		session_rcpt_accept(s);
	} else {
		route_reset(&s->pend_route);
		s->cur_rcpt = &s->pend_rcpt.to;
	}
	if (!go && v->action == SESSION_FILTER_SHUTDOWN)
		session_end_with(s, SMTP_R_FILTER_SHUTDOWN);
	else if (!go)
		session_reply(s, id, arg);
	s->cur_verb = NULL;
	s->cur_rcpt = NULL;
}

void
session_filter_done(struct session *s, const struct session_filter_verdict *fv)
{
	struct session_filter_verdict w = *fv;
	const struct session_filter_verdict *v = &w;

	if (w.action == SESSION_FILTER_CUSTOM && w.code == 421)
		w.action = SESSION_FILTER_SHUTDOWN;	/* 421 closes */
	if (!s->filter_wait)
		return;
	s->filter_wait = false;
	if (s->state == SESSION_ST_CLOSED) {
		if (s->filter_stage == SESSION_FILTER_RCPT)
			route_reset(&s->pend_route);
		return;
	}
	switch (s->filter_stage) {
	case SESSION_FILTER_CONNECT:
		session_filter_connect(s, v);
		break;
	case SESSION_FILTER_HELO:
	case SESSION_FILTER_MAIL:
	case SESSION_FILTER_RCPT:
		session_filter_cmd(s, v);
		break;
	case SESSION_FILTER_EOM:
		session_filter_eom(s, v);
		break;
	case SESSION_FILTER_ABORT:
		break;
	}
	session_flush(s);
}

void
session_tx_set_sender(struct session *s, const struct smtp_addr *a)
{
	s->tx.from = *a;
	smtp_addr_fmt(a, s->tx.from_str, sizeof(s->tx.from_str));
}

void
session_tx_add_rcpt(struct session *s, const struct smtp_addr *a,
    const struct route *r)
{
	struct smtp_rcpt_args args = { .to = *a };

	session_rcpt_add(s, &args, r);
	s->stats.rcpts--;	/* not a recipient the client gave */
}

void
session_tx_del_rcpt(struct session *s, size_t i)
{
	if (i >= s->tx.nrcpt)
		return;
	route_reset(&s->tx.routes[i]);
	free(s->tx.dsn[i].orcpt);
	memmove(&s->tx.rcpts[i], &s->tx.rcpts[i + 1],
	    (s->tx.nrcpt - i - 1) * sizeof(*s->tx.rcpts));
	memmove(&s->tx.routes[i], &s->tx.routes[i + 1],
	    (s->tx.nrcpt - i - 1) * sizeof(*s->tx.routes));
	memmove(&s->tx.dsn[i], &s->tx.dsn[i + 1],
	    (s->tx.nrcpt - i - 1) * sizeof(*s->tx.dsn));
	s->tx.nrcpt--;
}
