/* SPDX-License-Identifier: ISC */
/*
 * search - Mailpit's search syntax, parsed and matched (search.h).
 * A query is split into terms at white space outside double quotes; the
 * quotes group and are dropped ("a b" is one term, subject:"a b" too).
 * A term's leading - or ! (outside quotes) excludes it; its prefix, up
 * to the first quote, names the field; a term with no letter or digit
 * is skipped.  Text is folded once at parse time (the needle) and each
 * field per match (ASCII fast path, else u8_casefold to NFC).
 * Core: pure, no I/O; every size bounded by SEARCH_QUERY_MAX.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <unistr.h>
#include <uninorm.h>

#include "log.h"
#include "search.h"
#include "xalloc.h"

enum search_field {
	SEARCH_F_TEXT,		/* a free word or phrase */
	SEARCH_F_TO,
	SEARCH_F_FROM,
	SEARCH_F_CC,
	SEARCH_F_BCC,
	SEARCH_F_REPLY_TO,
	SEARCH_F_ADDRESSED,	/* any of the five address fields */
	SEARCH_F_SUBJECT,
	SEARCH_F_MESSAGE_ID,
	SEARCH_F_TAG,		/* the sink has no tags: never matches */
	SEARCH_F_IS_READ,
	SEARCH_F_IS_UNREAD,
	SEARCH_F_IS_TAGGED,
	SEARCH_F_HAS_ATTACHMENT,
	SEARCH_F_HAS_INLINE,
	SEARCH_F_BEFORE,	/* created <= when */
	SEARCH_F_AFTER,		/* created >= when */
	SEARCH_F_LARGER,	/* size > size */
	SEARCH_F_SMALLER,	/* size < size */
};

struct search_term {
	enum search_field field;
	bool		 negate;
	char		*needle;	/* folded; text fields only */
	size_t		 nlen;
	time_t		 when;
	uint64_t	 size;
};

struct search {
	struct search_term terms[SEARCH_TERMS_MAX];
	size_t		 nterms;
	bool		 needs_text;
};

/*
 * The words a term may start with, matched case-insensitively: a name
 * ending in ':' is a prefix with a value after it, any other is a
 * filter, the whole term (after a - or ! is taken off).  search_fmt
 * prints a field's first name.
 */
static const struct {
	const char	*name;
	enum search_field field;
} search_words[] = {
	{ "to:", SEARCH_F_TO },
	{ "from:", SEARCH_F_FROM },
	{ "cc:", SEARCH_F_CC },
	{ "bcc:", SEARCH_F_BCC },
	{ "reply-to:", SEARCH_F_REPLY_TO },
	{ "addressed:", SEARCH_F_ADDRESSED },
	{ "subject:", SEARCH_F_SUBJECT },
	{ "message-id:", SEARCH_F_MESSAGE_ID },
	{ "tag:", SEARCH_F_TAG },
	{ "before:", SEARCH_F_BEFORE },
	{ "after:", SEARCH_F_AFTER },
	{ "larger:", SEARCH_F_LARGER },
	{ "smaller:", SEARCH_F_SMALLER },
	{ "is:read", SEARCH_F_IS_READ },
	{ "is:unread", SEARCH_F_IS_UNREAD },
	{ "is:tagged", SEARCH_F_IS_TAGGED },
	{ "has:attachment", SEARCH_F_HAS_ATTACHMENT },
	{ "has:attachments", SEARCH_F_HAS_ATTACHMENT },
	{ "has:inline", SEARCH_F_HAS_INLINE },
	{ "has:inlines", SEARCH_F_HAS_INLINE },
};

#define SEARCH_NWORDS (sizeof(search_words) / sizeof(search_words[0]))

/* search_lower - ASCII lower case, whatever the locale. */
static char
search_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* search_is_ascii - whether s[0..n) is all ASCII. */
static bool
search_is_ascii(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/* search_has_alnum - Mailpit skips a term with no letter or digit; any
 * non-ASCII octet counts as a letter here. */
static bool
search_has_alnum(const char *s, size_t n)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c >= 0x80)
			return true;
	}
	return false;
}

/* search_ieq_prefix - whether s starts with lower-case p, ignoring ASCII
 * case, within n octets. */
static bool
search_ieq_prefix(const char *s, size_t n, const char *p)
{
	size_t i, pl = strlen(p);

	if (n < pl)
		return false;
	for (i = 0; i < pl; i++)
		if (search_lower(s[i]) != p[i])
			return false;
	return true;
}

/*
 * search_fold - s[0..n) case-folded into a new string (*len_out its
 * length): ASCII lower-cased in place of a copy, anything else through
 * u8_casefold (NFC).  NULL when s is not UTF-8.
 */
static char *
search_fold(const char *s, size_t n, size_t *len_out)
{
	char *r;
	uint8_t *f;
	size_t i, len = 0;

	if (search_is_ascii(s, n)) {
		r = xmalloc(n + 1);
		for (i = 0; i < n; i++)
			r[i] = search_lower(s[i]);
		r[n] = '\0';
		*len_out = n;
		return r;
	}
	if (u8_check((const uint8_t *)s, n) != NULL)
		return NULL;
	f = u8_casefold((const uint8_t *)s, n, NULL, UNINORM_NFC, NULL, &len);
	if (f == NULL) {
		if (errno == ENOMEM)
			log_fatal("search: out of memory");
		return NULL;
	}
	r = xmalloc(len + 1);
	memcpy(r, f, len);
	r[len] = '\0';
	free(f);
	*len_out = len;
	return r;
}

/* search_ascii_find - whether folded needle n occurs in h, ignoring
 * ASCII case (octets from 0x80 compare as they are). */
static bool
search_ascii_find(const char *h, size_t hl, const char *n, size_t nl)
{
	size_t i, j;

	if (nl > hl)
		return false;
	for (i = 0; i + nl <= hl; i++) {
		for (j = 0; j < nl; j++)
			if (search_lower(h[i + j]) != n[j])
				break;
		if (j == nl)
			return true;
	}
	return false;
}

/*
 * search_find - whether the folded needle occurs in haystack h, folded
 * alike.  An ASCII haystack is compared without a copy; a haystack that
 * is not UTF-8 is compared as ASCII.
 */
static bool
search_find(const char *h, const struct search_term *t)
{
	size_t hl, fl;
	char *f;
	bool found;

	if (h == NULL)
		return false;
	hl = strlen(h);
	if (search_is_ascii(h, hl) || (f = search_fold(h, hl, &fl)) == NULL)
		return search_ascii_find(h, hl, t->needle, t->nlen);
	found = search_ascii_find(f, fl, t->needle, t->nlen);
	free(f);
	return found;
}

/* ---- dates and sizes ---------------------------------------------- */

/* search_digits - n decimal digits at *p into *v, advancing *p. */
static bool
search_digits(const char **p, const char *end, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++, (*p)++) {
		if (*p >= end || **p < '0' || **p > '9')
			return false;
		*v = *v * 10 + (**p - '0');
	}
	return true;
}

/* search_days - days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static long
search_days(int y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* search_offset - an offset Z, +HH:MM, +HHMM or -... at p into *secs.
 * Returns false when p..end is anything else. */
static bool
search_offset(const char *p, const char *end, long *secs)
{
	int hh, mm, sign;

	if (p == end)
		return true;
	if (*p == 'Z' || *p == 'z') {
		*secs = 0;
		return p + 1 == end;
	}
	if (*p != '+' && *p != '-')
		return false;
	sign = *p++ == '-' ? -1 : 1;
	if (!search_digits(&p, end, 2, &hh))
		return false;
	if (p < end && *p == ':')
		p++;
	if (!search_digits(&p, end, 2, &mm) || p != end || hh > 23 || mm > 59)
		return false;
	*secs = sign * (hh * 3600L + mm * 60L);
	return true;
}

/*
 * search_date - "YYYY-MM-DD" (or with /), optionally followed by
 * [T or space]HH:MM[:SS] and an offset, into *out.  Without an offset
 * the time is local at utc_offset.
 */
static bool
search_date(const char *s, size_t n, long utc_offset, time_t *out)
{
	const char *p = s, *end = s + n;
	int y, mo, d, h = 0, mi = 0, sec = 0;
	long off = utc_offset;

	if (!search_digits(&p, end, 4, &y) || p >= end ||
	    (*p != '-' && *p != '/'))
		return false;
	p++;
	if (!search_digits(&p, end, 2, &mo) || p >= end ||
	    (*p != '-' && *p != '/'))
		return false;
	p++;
	/* years kept to four digits whatever the offset (search_fmt) */
	if (!search_digits(&p, end, 2, &d) || y < 1900 || y > 9998 ||
	    mo < 1 || mo > 12 || d < 1 || d > 31)
		return false;
	if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
		p++;
		if (!search_digits(&p, end, 2, &h) || p >= end || *p++ != ':' ||
		    !search_digits(&p, end, 2, &mi))
			return false;
		if (p < end && *p == ':' && (p++, !search_digits(&p, end, 2,
		    &sec)))
			return false;
		if (h > 23 || mi > 59 || sec > 60)
			return false;
	}
	if (!search_offset(p, end, &off))
		return false;
	*out = (time_t)(search_days(y, mo, d) * 86400L + h * 3600L +
	    mi * 60L + sec - off);
	return true;
}

/*
 * search_size - Mailpit's sizes: digits, an optional fraction, an
 * optional space and unit k/kb (KiB), m/mb (MiB), g/gb (GiB), b; case
 * ignored.  Must be above zero.
 */
static bool
search_size(const char *s, size_t n, uint64_t *out)
{
	const char *p = s, *end = s + n;
	uint64_t whole = 0, mult = 1, frac = 0, scale = 1;
	char u[3] = "";

	if (p == end || *p < '0' || *p > '9')
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (whole > UINT64_MAX / 10 - 1)
			return false;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (p < end && *p == '.')
		for (p++; p < end && *p >= '0' && *p <= '9'; p++)
			if (scale < 1000000) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				scale *= 10;
			}
	if (p < end && *p == ' ')
		p++;
	if (end - p > 2)
		return false;
	if (p < end)
		u[0] = search_lower(*p++);
	if (p < end)
		u[1] = search_lower(*p);
	if (strcmp(u, "k") == 0 || strcmp(u, "kb") == 0)
		mult = 1024;
	else if (strcmp(u, "m") == 0 || strcmp(u, "mb") == 0)
		mult = 1024 * 1024;
	else if (strcmp(u, "g") == 0 || strcmp(u, "gb") == 0)
		mult = 1024 * 1024 * 1024;
	else if (strcmp(u, "") != 0 && strcmp(u, "b") != 0)
		return false;
	if (whole > (UINT64_MAX - mult) / mult)	/* room for the fraction */
		return false;
	*out = whole * mult + frac * mult / scale;
	return *out > 0;
}

/* ---- parsing -------------------------------------------------------- */

/* One term as the splitter found it: quotes dropped. */
struct search_token {
	char	 text[SEARCH_QUERY_MAX + 1];
	size_t	 len;
	size_t	 unquoted;	/* octets before the first quote */
	bool	 negate;
};

/*
 * search_next - the next term of *qp into *tok (quotes dropped, a
 * leading - or ! outside quotes taken as negation when more follows).
 * Returns false at the end of the query.  An unterminated quote runs
 * to the end, as in Mailpit.
 */
static bool
search_next(const char **qp, struct search_token *tok)
{
	const char *q = *qp;
	bool quoted = false, seen_quote = false;

	while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
		q++;
	if (*q == '\0')
		return false;
	tok->len = 0;
	tok->negate = false;
	if ((*q == '-' || *q == '!') && q[1] != '\0' && q[1] != ' ' &&
	    q[1] != '\t') {
		tok->negate = true;
		q++;
	}
	for (; *q != '\0'; q++) {
		if (!quoted && (*q == ' ' || *q == '\t' || *q == '\r' ||
		    *q == '\n'))
			break;
		if (*q == '"') {
			if (!seen_quote)
				tok->unquoted = tok->len;
			seen_quote = true;
			quoted = !quoted;
			continue;
		}
		tok->text[tok->len++] = *q;
	}
	if (!seen_quote)
		tok->unquoted = tok->len;
	tok->text[tok->len] = '\0';
	*qp = q;
	return true;
}

/* search_field_is_text - whether a field's value is matched as text. */
static bool
search_field_is_text(enum search_field f)
{
	switch (f) {
	case SEARCH_F_TEXT:
	case SEARCH_F_TO:
	case SEARCH_F_FROM:
	case SEARCH_F_CC:
	case SEARCH_F_BCC:
	case SEARCH_F_REPLY_TO:
	case SEARCH_F_ADDRESSED:
	case SEARCH_F_SUBJECT:
	case SEARCH_F_MESSAGE_ID:
	case SEARCH_F_TAG:
		return true;
	case SEARCH_F_IS_READ:
	case SEARCH_F_IS_UNREAD:
	case SEARCH_F_IS_TAGGED:
	case SEARCH_F_HAS_ATTACHMENT:
	case SEARCH_F_HAS_INLINE:
	case SEARCH_F_BEFORE:
	case SEARCH_F_AFTER:
	case SEARCH_F_LARGER:
	case SEARCH_F_SMALLER:
		return false;
	}
	return false;
}

/* search_classify - which field tok names, and where its value starts
 * (*vp).  A prefix or filter counts only when written outside quotes. */
static enum search_field
search_classify(const struct search_token *tok, size_t *vp)
{
	const char *name;
	size_t i, n;

	*vp = 0;
	for (i = 0; i < SEARCH_NWORDS; i++) {
		name = search_words[i].name;
		n = strlen(name);
		if (!search_ieq_prefix(tok->text, tok->unquoted, name))
			continue;
		if (name[n - 1] == ':') {
			*vp = n;
			return search_words[i].field;
		}
		if (n == tok->len && tok->unquoted == tok->len)
			return search_words[i].field;
	}
	return SEARCH_F_TEXT;
}

/* search_value - the term's value into t; NULL or an error message. */
static const char *
search_value(struct search_term *t, const char *v, size_t n, long tz)
{
	if (search_field_is_text(t->field)) {
		t->needle = search_fold(v, n, &t->nlen);
		return t->needle != NULL ? NULL : "query is not UTF-8";
	}
	if (t->field == SEARCH_F_BEFORE || t->field == SEARCH_F_AFTER)
		return search_date(v, n, tz, &t->when) ? NULL :
		    "bad date in before: or after: (YYYY-MM-DD, optionally "
		    "with THH:MM[:SS] and an offset)";
	if (t->field == SEARCH_F_LARGER || t->field == SEARCH_F_SMALLER)
		return search_size(v, n, &t->size) ? NULL :
		    "bad size in larger: or smaller: (a number above zero, "
		    "optionally with k, m or g)";
	return NULL;		/* is: and has: take no value */
}

/* search_add - one token into s: 0, 1 when skipped, -1 with *err_out. */
static int
search_add(struct search *s, const struct search_token *tok, long tz,
    const char **err_out)
{
	struct search_term *t;
	size_t v;
	enum search_field f;

	if (!search_has_alnum(tok->text, tok->len))
		return 1;
	f = search_classify(tok, &v);
	if (v == tok->len)	/* "to:" with nothing after: ignored */
		return 1;
	if (s->nterms == SEARCH_TERMS_MAX) {
		*err_out = "query has too many terms";
		return -1;
	}
	t = &s->terms[s->nterms];
	memset(t, 0, sizeof(*t));
	t->field = f;
	t->negate = tok->negate;
	if ((*err_out = search_value(t, tok->text + v, tok->len - v, tz)) !=
	    NULL)
		return -1;
	if (f == SEARCH_F_TEXT)
		s->needs_text = true;
	s->nterms++;
	return 0;
}

int
search_parse_tz(const char *query, long utc_offset, struct search **out,
    const char **err_out)
{
	struct search *s;
	struct search_token *tok;
	const char *q = query;

	*out = NULL;
	if (strlen(query) > SEARCH_QUERY_MAX) {
		*err_out = "query is too long";
		return -1;
	}
	s = xcalloc(1, sizeof(*s));
	tok = xmalloc(sizeof(*tok));
	while (search_next(&q, tok))
		if (search_add(s, tok, utc_offset, err_out) < 0) {
			free(tok);
			search_free(&s);
			return -1;
		}
	free(tok);
	*out = s;
	return 0;
}

int
search_parse(const char *query, struct search **out, const char **err_out)
{
	return search_parse_tz(query, 0, out, err_out);
}

void
search_free(struct search **sp)
{
	size_t i;

	if (*sp == NULL)
		return;
	for (i = 0; i < (*sp)->nterms; i++)
		free((*sp)->terms[i].needle);
	free(*sp);
	*sp = NULL;
}

bool
search_needs_text(const struct search *s)
{
	return s->needs_text;
}

/* ---- matching ------------------------------------------------------- */

/* The body text, fetched at most once per match. */
struct search_text {
	const struct search_msg *m;
	const char	*text;
	bool		 fetched;
};

/* search_headers_have - whether t's needle is in a header field Mailpit's
 * free-text search covers (subject and the address lists). */
static bool
search_headers_have(const struct search_term *t, const struct search_msg *m)
{
	return search_find(m->subject, t) || search_find(m->from, t) ||
	    search_find(m->to, t) || search_find(m->cc, t) ||
	    search_find(m->bcc, t) || search_find(m->reply_to, t);
}

/* search_text_has - whether a free word or phrase is in the message. */
static bool
search_text_has(const struct search_term *t, struct search_text *st)
{
	if (search_headers_have(t, st->m))
		return true;
	if (!st->fetched) {
		st->fetched = true;
		if (st->m->text != NULL)
			st->text = st->m->text(st->m->ctx);
	}
	return search_find(st->text, t);
}

/* search_term_has - whether m has what t names (before negation). */
static bool
search_term_has(const struct search_term *t, const struct search_msg *m,
    struct search_text *st)
{
	switch (t->field) {
	case SEARCH_F_TEXT:
		return search_text_has(t, st);
	case SEARCH_F_TO:
		return search_find(m->to, t);
	case SEARCH_F_FROM:
		return search_find(m->from, t);
	case SEARCH_F_CC:
		return search_find(m->cc, t);
	case SEARCH_F_BCC:
		return search_find(m->bcc, t);
	case SEARCH_F_REPLY_TO:
		return search_find(m->reply_to, t);
	case SEARCH_F_ADDRESSED:
		return search_find(m->to, t) || search_find(m->from, t) ||
		    search_find(m->cc, t) || search_find(m->bcc, t) ||
		    search_find(m->reply_to, t);
	case SEARCH_F_SUBJECT:
		return search_find(m->subject, t);
	case SEARCH_F_MESSAGE_ID:
		return search_find(m->message_id, t);
	case SEARCH_F_TAG:
	case SEARCH_F_IS_TAGGED:
		return false;
	case SEARCH_F_IS_READ:
		return m->read;
	case SEARCH_F_IS_UNREAD:
		return !m->read;
	case SEARCH_F_HAS_ATTACHMENT:
		return m->has_attachment;
	case SEARCH_F_HAS_INLINE:
		return m->has_inline;
	case SEARCH_F_BEFORE:
		return m->created <= t->when;
	case SEARCH_F_AFTER:
		return m->created >= t->when;
	case SEARCH_F_LARGER:
		return m->size > t->size;
	case SEARCH_F_SMALLER:
		return m->size < t->size;
	}
	return false;
}

bool
search_match(const struct search *s, const struct search_msg *m)
{
	struct search_text st = { m, NULL, false };
	size_t i;
	int pass;

	/* Everything but free text first: the body may never be needed. */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < s->nterms; i++) {
			const struct search_term *t = &s->terms[i];

			if ((t->field == SEARCH_F_TEXT) != (pass == 1))
				continue;
			if (search_term_has(t, m, &st) == t->negate)
				return false;
		}
	return true;
}

/* ---- formatting ----------------------------------------------------- */

/* search_field_name - a field's name as search_fmt() prints it. */
static const char *
search_field_name(enum search_field f)
{
	size_t i;

	for (i = 0; i < SEARCH_NWORDS; i++)
		if (search_words[i].field == f)
			return search_words[i].name;
	return "";
}

void
search_fmt(const struct search *s, struct buf *b)
{
	char ts[LOG_TIME_LEN];
	size_t i;

	for (i = 0; i < s->nterms; i++) {
		const struct search_term *t = &s->terms[i];

		(void)buf_addf(b, "%s%s%s", i > 0 ? " " : "",
		    t->negate ? "-" : "", t->field == SEARCH_F_TEXT ? "" :
		    search_field_name(t->field));
		if (search_field_is_text(t->field))
			(void)buf_addf(b, "\"%s\"", t->needle);
		else if (t->field == SEARCH_F_BEFORE ||
		    t->field == SEARCH_F_AFTER)
			(void)buf_adds(b, log_time_fmt(t->when, ts,
			    sizeof(ts)));
		else if (t->field == SEARCH_F_LARGER ||
		    t->field == SEARCH_F_SMALLER)
			(void)buf_addf(b, "%llu", (unsigned long long)t->size);
	}
}
