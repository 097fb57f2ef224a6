/* SPDX-License-Identifier: ISC */
/*
 * envelope - the envelope record of a stored message (envelope.h): its
 * one formatter and its one parser.  Every value is checked on the way
 * in, since the relay acts on it (the addresses against the RFC 5321
 * grammar through smtp_cmd, ENVID and ORCPT as RFC 3461 xtext), and
 * every failure names its line.  Pure: no I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "xalloc.h"

/* The message envelope_parse() gives through err_out. */
static _Thread_local char envelope_err[96];

/* The keys a record has, each once: bits of envelope_parser.seen. */
enum envelope_key {
	ENVELOPE_K_QUEUE_ID,
	ENVELOPE_K_ARRIVAL,
	ENVELOPE_K_CLIENT,
	ENVELOPE_K_USER,
	ENVELOPE_K_SENDER,
	ENVELOPE_K_BODY,
	ENVELOPE_K_SMTPUTF8,
	ENVELOPE_K_SIZE,
	ENVELOPE_K_RET,
	ENVELOPE_K_ENVID,
	ENVELOPE_K_RECIPIENT,	/* any number of times */
};

#define ENVELOPE_REQUIRED \
	((1u << ENVELOPE_K_QUEUE_ID) | (1u << ENVELOPE_K_ARRIVAL) | \
	 (1u << ENVELOPE_K_CLIENT) | (1u << ENVELOPE_K_USER) | \
	 (1u << ENVELOPE_K_SENDER) | (1u << ENVELOPE_K_RECIPIENT))

static const char *const envelope_keys[] = {
	"queue-id", "arrival", "client", "user", "sender", "body",
	"smtputf8", "size", "ret", "envid", "recipient",
};

static const char *const envelope_bodies[] = {
	[ENVELOPE_BODY_7BIT] = "7BIT",
	[ENVELOPE_BODY_8BITMIME] = "8BITMIME",
	[ENVELOPE_BODY_BINARYMIME] = "BINARYMIME",
};

static const char *const envelope_rets[] = {
	[ENVELOPE_RET_NONE] = "",
	[ENVELOPE_RET_FULL] = "FULL",
	[ENVELOPE_RET_HDRS] = "HDRS",
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

char *
envelope_notify_fmt(unsigned notify, char *dst, size_t dstlen)
{
	(void)snprintf(dst, dstlen, "%s%s%s%s%s%s",
	    notify & ENVELOPE_NOTIFY_NEVER ? "NEVER" : "",
	    notify & ENVELOPE_NOTIFY_SUCCESS ? "SUCCESS" : "",
	    notify & ENVELOPE_NOTIFY_SUCCESS &&
	    notify & (ENVELOPE_NOTIFY_FAILURE | ENVELOPE_NOTIFY_DELAY) ?
	    "," : "",
	    notify & ENVELOPE_NOTIFY_FAILURE ? "FAILURE" : "",
	    notify & ENVELOPE_NOTIFY_FAILURE &&
	    notify & ENVELOPE_NOTIFY_DELAY ? "," : "",
	    notify & ENVELOPE_NOTIFY_DELAY ? "DELAY" : "");
	return dst;
}

void
envelope_fmt(struct buf *b, const struct envelope *e)
{
	char notify[32];
	size_t i;

	(void)buf_addf(b, "queue-id %s\narrival %s\nclient %s\nuser %s\n"
	    "sender <%s>\nbody %s\nsmtputf8 %s\nsize %llu\n", e->queue_id,
	    e->arrival, e->client, e->user != NULL ? e->user : "-",
	    e->sender, envelope_bodies[e->body], e->smtputf8 ? "yes" : "no",
	    (unsigned long long)e->size);
	if (e->ret != ENVELOPE_RET_NONE)
		(void)buf_addf(b, "ret %s\n", envelope_rets[e->ret]);
	if (e->envid != NULL)
		(void)buf_addf(b, "envid %s\n", e->envid);
	for (i = 0; i < e->nrcpt; i++) {
		(void)buf_addf(b, "recipient <%s>", e->rcpts[i].addr);
		if (e->rcpts[i].notify != 0)
			(void)buf_addf(b, " notify=%s", envelope_notify_fmt(
			    e->rcpts[i].notify, notify, sizeof(notify)));
		if (e->rcpts[i].orcpt != NULL)
			(void)buf_addf(b, " orcpt=%s", e->rcpts[i].orcpt);
		(void)buf_adds(b, "\n");
	}
}

void
envelope_add_rcpt(struct envelope *e, const char *addr, unsigned notify,
    const char *orcpt)
{
	struct envelope_rcpt *r;

	if (e->nrcpt == e->rcpt_cap) {	/* doubling: 100000 stay linear */
		e->rcpt_cap = e->rcpt_cap == 0 ? 4 : e->rcpt_cap * 2;
		e->rcpts = xrealloc(e->rcpts, e->rcpt_cap, sizeof(*e->rcpts));
	}
	r = &e->rcpts[e->nrcpt++];
	r->addr = xstrdup(addr);
	r->notify = notify;
	r->orcpt = orcpt != NULL ? xstrdup(orcpt) : NULL;
}

void
envelope_clear(struct envelope *e)
{
	size_t i;

	free(e->queue_id);
	free(e->arrival);
	free(e->client);
	free(e->user);
	free(e->sender);
	free(e->envid);
	for (i = 0; i < e->nrcpt; i++) {
		free(e->rcpts[i].addr);
		free(e->rcpts[i].orcpt);
	}
	free(e->rcpts);
	memset(e, 0, sizeof(*e));
}

/* ---- parsing -------------------------------------------------------- */

/* is_word - s[0..n) is 1..max printable ASCII octets, no blank. */
static bool
is_word(const char *s, size_t n, size_t max)
{
	size_t i;

	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] <= ' ' || s[i] >= 0x7f)
			return false;
	}
	return true;
}

/* is_text - s[0..n) holds no control octet (UTF-8 logins allowed). */
static bool
is_text(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
			return false;
	}
	return n > 0;
}

/*
 * path_len - the length of the "<...>" path at the start of s[0..n),
 * quoted local parts (which may hold '>' and blanks) skipped; 0 if it
 * does not close.
 */
static size_t
path_len(const char *s, size_t n)
{
	bool quoted = false;
	size_t i;

	if (n == 0 || s[0] != '<')
		return 0;
	for (i = 1; i < n; i++) {
		if (quoted && s[i] == '\\' && i + 1 < n)
			i++;
		else if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted && s[i] == '>')
			return i + 1;
	}
	return 0;
}

/*
 * path_take - the path "<addr>" s[0..n) checked by the RFC 5321 grammar
 * (as a reverse-path, where <> is fine, or a forward-path), its address
 * into a fresh string in *out.  -1 when it does not parse.
 */
static int
path_take(const char *s, size_t n, bool reverse, char **out)
{
	char line[ENVELOPE_LINE_MAX + 8];
	struct smtp_mail_args m;
	struct smtp_rcpt_args r;
	enum smtp_cmd_err err;
	int len;

	len = snprintf(line, sizeof(line), "%s%.*s", reverse ? "FROM:" :
	    "TO:", (int)n, s);
	if (len < 0 || (size_t)len >= sizeof(line))
		return -1;
	if (reverse)
		err = smtp_cmd_parse_mail(line, (size_t)len,
		    SMTP_CMD_F_STRICT | SMTP_CMD_F_UTF8, &m);
	else
		err = smtp_cmd_parse_rcpt(line, (size_t)len, SMTP_CMD_F_STRICT |
		    SMTP_CMD_F_UTF8 | SMTP_CMD_F_LOCAL, &r);
	if (err != SMTP_CMD_OK)
		return -1;
	*out = xstrndup(s + 1, n - 2);
	return 0;
}

/*
 * rcpt_param - one "name=value" of a recipient line: notify= and orcpt=
 * into r; another name (a later inletd's: [a-z0-9-]) is ignored.  -1
 * when malformed, repeated or bad.
 */
static int
rcpt_param(const char *s, size_t n, struct envelope_rcpt *r)
{
	size_t k;

	for (k = 0; k < n && ((s[k] >= 'a' && s[k] <= 'z') ||
	    (s[k] >= '0' && s[k] <= '9') || s[k] == '-'); k++)
		continue;
	if (k == 0 || k + 1 >= n || s[k] != '=')
		return -1;
	if (k == 6 && memcmp(s, "notify", 6) == 0)
		return r->notify != 0 ? -1 :
		    smtp_notify_parse(s + 7, n - 7, &r->notify);
	if (k == 5 && memcmp(s, "orcpt", 5) == 0) {
		if (r->orcpt != NULL || !smtp_orcpt_valid(s + 6, n - 6))
			return -1;
		r->orcpt = xstrndup(s + 6, n - 6);
	}
	return 0;
}

/*
 * rcpt_take - "<addr>[ notify=...][ orcpt=...]" s[0..n) appended to e;
 * -1 when it does not parse (e unchanged).
 */
static int
rcpt_take(struct envelope *e, const char *s, size_t n)
{
	struct envelope_rcpt r = { NULL, 0, NULL };
	size_t p = path_len(s, n), w;

	if (e->nrcpt == ENVELOPE_RCPT_MAX || p == 0 ||
	    path_take(s, p, false, &r.addr) == -1)
		return -1;
	while (p < n) {
		if (s[p++] != ' ')
			goto fail;
		for (w = p; w < n && s[w] != ' '; w++)
			continue;
		if (rcpt_param(s + p, w - p, &r) == -1)
			goto fail;
		p = w;
	}
	if (e->nrcpt == e->rcpt_cap) {	/* doubling: 100000 stay linear */
		e->rcpt_cap = e->rcpt_cap == 0 ? 4 : e->rcpt_cap * 2;
		e->rcpts = xrealloc(e->rcpts, e->rcpt_cap, sizeof(*e->rcpts));
	}
	e->rcpts[e->nrcpt++] = r;
	return 0;
fail:
	free(r.addr);
	free(r.orcpt);
	return -1;
}

/* pick - the index of s[0..n) in names[0..count), or -1. */
static int
pick(const char *s, size_t n, const char *const *names, size_t count)
{
	size_t k;

	for (k = 0; k < count; k++) {
		if (strlen(names[k]) == n && memcmp(s, names[k], n) == 0)
			return (int)k;
	}
	return -1;
}

/* size_take - 1..20 digits that fit 64 bits into *out; -1 if not. */
static int
size_take(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0, d;
	size_t i;

	if (n == 0 || n > 20)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* str_take - a copy of v[0..n) into *dst when ok; else -1. */
static int
str_take(char **dst, const char *v, size_t n, bool ok)
{
	if (!ok)
		return -1;
	*dst = xstrndup(v, n);
	return 0;
}

/*
 * value_take - the value v[0..n) of key k into e; -1 when it is not a
 * valid one.
 */
static int
value_take(struct envelope *e, enum envelope_key k, const char *v, size_t n)
{
	static const char *const yesno[] = { "no", "yes" };
	int i = 0;

	switch (k) {
	case ENVELOPE_K_QUEUE_ID:
		return str_take(&e->queue_id, v, n, is_word(v, n, 64));
	case ENVELOPE_K_ARRIVAL:	/* "" when the clock failed */
		return str_take(&e->arrival, v, n, n == 0 || is_word(v, n, 64));
	case ENVELOPE_K_CLIENT:
		return str_take(&e->client, v, n, is_word(v, n, 128));
	case ENVELOPE_K_USER:
		if (n == 1 && v[0] == '-')
			return 0;
		return str_take(&e->user, v, n, is_text(v, n) &&
		    n <= SMTP_PATH_MAX);
	case ENVELOPE_K_SENDER:
		if (n == 0 || path_len(v, n) != n)
			return -1;
		return path_take(v, n, true, &e->sender);
	case ENVELOPE_K_BODY:
		i = pick(v, n, envelope_bodies, NITEMS(envelope_bodies));
		e->body = i < 0 ? ENVELOPE_BODY_7BIT : (enum envelope_body)i;
		break;
	case ENVELOPE_K_SMTPUTF8:
		i = pick(v, n, yesno, NITEMS(yesno));
		e->smtputf8 = i == 1;
		break;
	case ENVELOPE_K_SIZE:
		return size_take(v, n, &e->size);
	case ENVELOPE_K_RET:	/* "" (RET_NONE) is not a value */
		i = pick(v, n, envelope_rets, NITEMS(envelope_rets));
		e->ret = i <= 0 ? ENVELOPE_RET_NONE : (enum envelope_ret)i;
		i = i == 0 ? -1 : i;
		break;
	case ENVELOPE_K_ENVID:
		return str_take(&e->envid, v, n, smtp_envid_valid(v, n));
	case ENVELOPE_K_RECIPIENT:
		return rcpt_take(e, v, n);
	}
	return i < 0 ? -1 : 0;
}

/* envelope_fail - -1 with "line N: what" through err_out. */
static int
envelope_fail(const char **err_out, size_t line, const char *what,
    const char *key)
{
	if (line > 0)
		(void)snprintf(envelope_err, sizeof(envelope_err),
		    "line %zu: %s%s%s", line, what, key != NULL ? " " : "",
		    key != NULL ? key : "");
	else
		(void)snprintf(envelope_err, sizeof(envelope_err), "%s%s%s",
		    what, key != NULL ? " " : "", key != NULL ? key : "");
	if (err_out != NULL)
		*err_out = envelope_err;
	return -1;
}

/*
 * envelope_line - one line s[0..n) (number line) into e; seen collects
 * the keys met.  0, or -1 through envelope_fail().
 */
static int
envelope_line(struct envelope *e, const char *s, size_t n, size_t line,
    unsigned *seen, const char **err_out)
{
	size_t kl;
	int k;

	if (n > ENVELOPE_LINE_MAX)
		return envelope_fail(err_out, line, "too long", NULL);
	for (kl = 0; kl < n && s[kl] != ' '; kl++)
		continue;
	if (kl == 0)
		return envelope_fail(err_out, line, "no key", NULL);
	k = pick(s, kl, envelope_keys, NITEMS(envelope_keys));
	if (k < 0)
		return 0;	/* a later inletd's key: ignored */
	if (k != ENVELOPE_K_RECIPIENT && (*seen & (1u << k)) != 0)
		return envelope_fail(err_out, line, "duplicate",
		    envelope_keys[k]);
	*seen |= 1u << k;
	if (kl == n || value_take(e, (enum envelope_key)k, s + kl + 1,
	    n - kl - 1) == -1)
		return envelope_fail(err_out, line, "bad", envelope_keys[k]);
	return 0;
}

int
envelope_parse(struct envelope *out, const char *text, size_t len,
    const char **err_out)
{
	const char *nl;
	size_t line = 0, k, pos = 0;
	unsigned seen = 0;

	memset(out, 0, sizeof(*out));
	if (len > ENVELOPE_TEXT_MAX)
		return envelope_fail(err_out, 0, "too long", NULL);
	while (pos < len) {
		line++;
		nl = memchr(text + pos, '\n', len - pos);
		k = nl != NULL ? (size_t)(nl - text) - pos : len - pos;
		if (memchr(text + pos, '\0', k) != NULL)
			return envelope_fail(err_out, line, "NUL", NULL);
		if (envelope_line(out, text + pos, k, line, &seen,
		    err_out) == -1)
			return -1;
		pos += k + 1;
	}
	for (k = 0; k < NITEMS(envelope_keys); k++) {
		if ((ENVELOPE_REQUIRED & ~seen & (1u << k)) != 0)
			return envelope_fail(err_out, 0, "missing",
			    envelope_keys[k]);
	}
	return 0;
}
