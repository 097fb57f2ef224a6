/* SPDX-License-Identifier: ISC */
/*
 * smtp_cmd - one command line into a verb, its paths and parameters.
 *
 * Owns the RFC 5321 §4.1.1-4.1.2 grammar with the RFC 6531 UTF-8
 * extensions, and the MAIL parameters of RFC 1870, 6152, 3030, 6531 and
 * 4954.  Pure: no I/O, no allocation, no state and no policy; every
 * verdict is an enum that the session turns into a reply.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "smtp_cmd.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* A read cursor over one argument; it never reads past n. */
struct rd {
	const unsigned char	*s;
	size_t			 n;
	size_t			 i;
	bool			 eight;	/* took an octet >= 0x80 */
};

/* Where the parts of a parsed path lie (offsets into the argument). */
struct span {
	bool	null;		/* "<>" */
	bool	postmaster;	/* "<postmaster>" (RCPT only) */
	bool	literal;	/* the domain is an address-literal */
	bool	eight;		/* UTF8-non-ascii somewhere in the path */
	size_t	pstart;		/* the path as sent: [pstart, pend) */
	size_t	pend;
	size_t	plen;		/* its length counting angle brackets */
	size_t	lstart;		/* Local-part */
	size_t	llen;
	size_t	dstart;		/* Domain or address-literal */
	size_t	dlen;
};

/* One esmtp-param, pointing into the argument. */
struct param {
	const char	*kw;
	size_t		 kwlen;
	const char	*val;	/* NULL when there is no "=" */
	size_t		 vallen;
};

typedef bool (*class_fn)(int);
typedef enum smtp_cmd_err (*mail_param_fn)(const struct param *,
    struct smtp_mail_args *);

static const struct {
	const char	*name;
	enum smtp_verb	 verb;
} verbs[] = {
	{ "HELO",	SMTP_VERB_HELO },
	{ "EHLO",	SMTP_VERB_EHLO },
	{ "MAIL",	SMTP_VERB_MAIL },
	{ "RCPT",	SMTP_VERB_RCPT },
	{ "DATA",	SMTP_VERB_DATA },
	{ "BDAT",	SMTP_VERB_BDAT },
	{ "RSET",	SMTP_VERB_RSET },
	{ "NOOP",	SMTP_VERB_NOOP },
	{ "QUIT",	SMTP_VERB_QUIT },
	{ "VRFY",	SMTP_VERB_VRFY },
	{ "EXPN",	SMTP_VERB_EXPN },
	{ "HELP",	SMTP_VERB_HELP },
	{ "STARTTLS",	SMTP_VERB_STARTTLS },
	{ "AUTH",	SMTP_VERB_AUTH },
	/*
	 * Not SMTP: named so that the session can hang up on a browser or
	 * a proxy probe (cross-protocol requests) instead of counting errors.
	 */
	{ "GET",	SMTP_VERB_HTTP },
	{ "POST",	SMTP_VERB_HTTP },
	{ "HEAD",	SMTP_VERB_HTTP },
	{ "PUT",	SMTP_VERB_HTTP },
	{ "DELETE",	SMTP_VERB_HTTP },
	{ "OPTIONS",	SMTP_VERB_HTTP },
	{ "CONNECT",	SMTP_VERB_HTTP },
	{ "PATCH",	SMTP_VERB_HTTP },
};

/* ---- characters (ASCII whatever the locale) ------------------------ */

/*
 * is_blank - WSP = SP / HTAB (RFC 5234 B.1).  RFC 5321 puts one SP
 * between the parts of a command; a run of either is taken wherever one
 * SP would do, as Postfix takes it (RFC 1122 §1.2.2: be liberal in what
 * you accept).  Never inside a path or a parameter.
 */
static bool
is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* is_letdig - Let-dig = ALPHA / DIGIT */
static bool
is_letdig(int c)
{
	return is_alpha(c) || is_digit(c);
}

/* is_ldh - ALPHA / DIGIT / "-", as in Ldh-str and esmtp-keyword. */
static bool
is_ldh(int c)
{
	return is_letdig(c) || c == '-';
}

/* is_ldh8 - is_ldh() plus the UTF-8 octets of a U-label (RFC 6531). */
static bool
is_ldh8(int c)
{
	return is_ldh(c) || c >= 0x80;
}

/*
 * is_atext - atext (RFC 5322 §3.2.3), plus UTF8-non-ascii (RFC 6531
 * §3.3), whose well-formedness addr_fill() checks for the whole path.
 *   atext = ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "'" / "*" /
 *           "+" / "-" / "/" / "=" / "?" / "^" / "_" / "`" / "{" / "|" /
 *           "}" / "~"
 */
static bool
is_atext(int c)
{
	return is_letdig(c) || c >= 0x80 ||
	    (c > 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/*
 * is_qtext - qtextSMTP (RFC 5321 §4.1.2), plus UTF8-non-ascii.
 *   qtextSMTP = %d32-33 / %d35-91 / %d93-126
 */
static bool
is_qtext(int c)
{
	return (c >= 32 && c <= 126 && c != '"' && c != '\\') || c >= 0x80;
}

/*
 * is_value - esmtp-value = 1*(%d33-60 / %d62-126); RFC 6531 §3.3 adds
 * UTF8-non-ascii, which next_param() allows only with SMTPUTF8.
 */
static bool
is_value(int c)
{
	return (c >= 33 && c <= 126 && c != '=') || c >= 0x80;
}

/* is_mech - mech-char = ALPHA / DIGIT / "-" / "_" (RFC 4422 §3.1) */
static bool
is_mech(int c)
{
	return is_ldh(c) || c == '_';
}

/* is_b64 - the alphabet of an initial response (RFC 4954 §4). */
static bool
is_b64(int c)
{
	return is_letdig(c) || c == '+' || c == '/' || c == '=';
}

/* hexval - RFC 3461 §4: "two upper case hexadecimal digits"; -1 if not. */
static int
hexval(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char
ascii_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ieq - whether s[0..n) is lit, ignoring ASCII case (RFC 5234 §2.3). */
static bool
ieq(const char *s, size_t n, const char *lit)
{
	size_t i;

	if (n != strlen(lit))
		return false;
	for (i = 0; i < n; i++) {
		if (ascii_upper(s[i]) != ascii_upper(lit[i]))
			return false;
	}
	return true;
}

/*
 * parse_u64 - 1..maxdigits decimal digits, all of s[0..n), into *out;
 * false on anything else or when the value does not fit in 64 bits.
 */
static bool
parse_u64(const char *s, size_t n, size_t maxdigits, uint64_t *out)
{
	uint64_t v = 0, d;
	size_t i;

	if (n == 0 || n > maxdigits)
		return false;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* ---- the read cursor ------------------------------------------------ */

static void
rd_init(struct rd *r, const char *s, size_t n)
{
	r->s = (const unsigned char *)s;
	r->n = n;
	r->i = 0;
	r->eight = false;
}

/* rd_peek - the next octet, or -1 at the end. */
static int
rd_peek(const struct rd *r)
{
	return r->i < r->n ? r->s[r->i] : -1;
}

/* rd_eat - consume c if it comes next. */
static bool
rd_eat(struct rd *r, int c)
{
	if (rd_peek(r) != c)
		return false;
	r->i++;
	return true;
}

/* rd_ieat - consume lit if it comes next, in any case. */
static bool
rd_ieat(struct rd *r, const char *lit)
{
	size_t n = strlen(lit);

	if (r->n - r->i < n || !ieq((const char *)r->s + r->i, n, lit))
		return false;
	r->i += n;
	return true;
}

/* rd_span - consume octets while ok(); notes UTF-8; returns how many. */
static size_t
rd_span(struct rd *r, class_fn ok)
{
	size_t start = r->i;
	int c;

	while ((c = rd_peek(r)) != -1 && ok(c)) {
		if (c >= 0x80)
			r->eight = true;
		r->i++;
	}
	return r->i - start;
}

/* rd_skip_sp - consume blanks (SP, HTAB); returns how many. */
static size_t
rd_skip_sp(struct rd *r)
{
	size_t start = r->i;

	while (is_blank(rd_peek(r)))
		r->i++;
	return r->i - start;
}

/* rd_at_word_end - whether a word ends here: a blank or the end. */
static bool
rd_at_word_end(const struct rd *r)
{
	int c = rd_peek(r);

	return is_blank(c) || c == -1;
}

/* rd_ieat_word - consume lit if it comes next as a whole word. */
static bool
rd_ieat_word(struct rd *r, const char *lit)
{
	size_t start = r->i;

	if (rd_ieat(r, lit) && rd_at_word_end(r))
		return true;
	r->i = start;
	return false;
}

/* ---- UTF-8 ---------------------------------------------------------- */

/*
 * smtp_utf8_seq - the length of the well-formed character at s (n > 0
 * octets left), 0 if none.
 *   UTF8-2 = %xC2-DF UTF8-tail                               RFC 3629 §4
 *   UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
 *            %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
 *   UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
 *            %xF4 %x80-8F 2( UTF8-tail )
 * The narrowed second octets are what exclude overlong forms,
 * surrogates (ED A0-BF) and code points above U+10FFFF.
 */
size_t
smtp_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0 || s[0] == 0xf0)
		lo = s[0] == 0xe0 ? 0xa0 : 0x90;
	if (s[0] == 0xed || s[0] == 0xf4)
		hi = s[0] == 0xed ? 0x9f : 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return len;
}

bool
smtp_utf8_valid(const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		k = smtp_utf8_seq((const unsigned char *)s + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

/* ---- verbs ---------------------------------------------------------- */

/*
 * verb_lookup - the verb named by s[0..n).  An HTTP method counts only
 * with something after it ("GET / HTTP/1.1"); alone it is just unknown.
 */
static enum smtp_verb
verb_lookup(const char *s, size_t n, bool has_arg)
{
	size_t i;

	for (i = 0; i < NITEMS(verbs); i++) {
		if (ieq(s, n, verbs[i].name))
			break;
	}
	if (i == NITEMS(verbs))
		return SMTP_VERB_UNKNOWN;
	if (verbs[i].verb == SMTP_VERB_HTTP && !has_arg)
		return SMTP_VERB_UNKNOWN;
	return verbs[i].verb;
}

/*
 * RFC 5321 §4.1.1: verbs are case-insensitive, separated from their
 * argument by one SP; here by any run of blanks.  "NOOPX" is a verb of
 * its own, an unknown one.
 */
void
smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd_out)
{
	size_t vlen = 0, start, i;

	while (vlen < len && !is_blank(line[vlen]))
		vlen++;
	for (i = 0; i < vlen && i < SMTP_CMD_VERB_MAX - 1; i++)
		cmd_out->name[i] = ascii_upper(line[i]);
	cmd_out->name[i] = '\0';
	cmd_out->verb = verb_lookup(line, vlen, vlen < len);
	for (start = vlen; start < len && is_blank(line[start]); start++)
		continue;
	while (len > start && is_blank(line[len - 1]))
		len--;
	cmd_out->arg = start < len ? line + start : "";
	cmd_out->arglen = len - start;
}

const char *
smtp_cmd_verb_name(enum smtp_verb verb)
{
	size_t i;

	if (verb == SMTP_VERB_HTTP)
		return "HTTP";		/* several names: the class */
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].verb == verb)
			return verbs[i].name;	/* the one table of names */
	return "UNKNOWN";
}

/* ---- paths (RFC 5321 §4.1.2) ---------------------------------------- */

/*
 * parse_dot_string - Dot-string = Atom *("."  Atom)
 *                    Atom       = 1*atext
 */
static bool
parse_dot_string(struct rd *r)
{
	do {
		if (rd_span(r, is_atext) == 0)
			return false;
	} while (rd_eat(r, '.'));
	return true;
}

/*
 * parse_quoted_string - the local part in quotes.
 *   Quoted-string   = DQUOTE *QcontentSMTP DQUOTE
 *   QcontentSMTP    = qtextSMTP / quoted-pairSMTP
 *   quoted-pairSMTP = %d92 %d32-126
 */
static bool
parse_quoted_string(struct rd *r)
{
	int c;

	if (!rd_eat(r, '"'))
		return false;
	for (;;) {
		rd_span(r, is_qtext);
		if (rd_eat(r, '"'))
			return true;
		if (!rd_eat(r, '\\'))
			return false;
		c = rd_peek(r);
		if (c < 32 || c > 126)
			return false;
		r->i++;
	}
}

/*
 * parse_sub_domain - one label.
 *   sub-domain = Let-dig [Ldh-str]          ; RFC 6531 §3.3: / U-label
 *   Ldh-str    = *( ALPHA / DIGIT / "-" ) Let-dig
 */
static bool
parse_sub_domain(struct rd *r)
{
	int c = rd_peek(r);

	if (c == '-' || !is_ldh8(c))
		return false;
	rd_span(r, is_ldh8);
	return r->s[r->i - 1] != '-';
}

/* parse_domain - Domain = sub-domain *("." sub-domain) */
static bool
parse_domain(struct rd *r)
{
	do {
		if (!parse_sub_domain(r))
			return false;
	} while (rd_eat(r, '.'));
	return true;
}

/*
 * is_ipv4 - IPv4-address-literal = Snum 3("."  Snum)
 *           Snum = 1*3DIGIT  ; representing a decimal integer 0-255
 * (By hand: inet_pton(3) refuses the leading zeros Snum allows.)
 */
static bool
is_ipv4(const char *s, size_t n)
{
	size_t i = 0, part, digits;
	unsigned v;

	for (part = 0; part < 4; part++) {
		if (part > 0 && (i >= n || s[i++] != '.'))
			return false;
		v = 0;
		digits = 0;
		while (digits < 3 && i < n && is_digit(s[i])) {
			v = v * 10 + (unsigned)(s[i++] - '0');
			digits++;
		}
		if (digits == 0 || v > 255)
			return false;
	}
	return i == n;
}

/*
 * is_ipv6 - IPv6-addr (all four RFC 5321 forms, IPv6-full, -comp, -v4-full
 * and -v4-comp), checked by inet_pton(3).
 */
static bool
is_ipv6(const char *s, size_t n)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (n >= sizeof(buf) || memchr(s, '\0', n) != NULL)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/*
 * is_general_literal - a tag and its content (the tag ends at colon).
 *   General-address-literal = Standardized-tag ":" 1*dcontent
 *   Standardized-tag = Ldh-str
 *   dcontent         = %d33-90 / %d94-126
 */
static bool
is_general_literal(const char *s, size_t n, size_t colon)
{
	size_t i;
	int c;

	if (colon == 0 || s[colon - 1] == '-' || colon + 1 == n)
		return false;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (i < colon && !is_ldh(c))
			return false;
		if (i > colon && (c < 33 || c > 126 || (c >= 91 && c <= 93)))
			return false;
	}
	return true;
}

/*
 * literal_valid - the text between the brackets of an address-literal.
 *   address-literal = "[" ( IPv4-address-literal /
 *                     IPv6-address-literal /
 *                     General-address-literal ) "]"
 *   IPv6-address-literal = "IPv6:" IPv6-addr
 * The tag "IPv6" always means IPv6: a bad address under it is not
 * rescued by the general form.
 */
static bool
literal_valid(const char *s, size_t n)
{
	const char *colon;
	size_t tag;

	if (is_ipv4(s, n))
		return true;
	colon = memchr(s, ':', n);
	if (colon == NULL)
		return false;
	tag = (size_t)(colon - s);
	if (ieq(s, tag, "IPv6"))
		return is_ipv6(colon + 1, n - tag - 1);
	return is_general_literal(s, n, tag);
}

/*
 * parse_addr_literal - "[" ... "]".  No dcontent octet is "]", so the
 * first one closes the literal.
 */
static bool
parse_addr_literal(struct rd *r)
{
	const unsigned char *end;
	size_t start;

	if (!rd_eat(r, '['))
		return false;
	start = r->i;
	end = memchr(r->s + start, ']', r->n - start);
	if (end == NULL)
		return false;
	r->i = (size_t)(end - r->s) + 1;
	return literal_valid((const char *)r->s + start, r->i - 1 - start);
}

/* parse_local_part - Local-part = Dot-string / Quoted-string, into sp. */
static bool
parse_local_part(struct rd *r, struct span *sp)
{
	bool ok;

	sp->lstart = r->i;
	if (rd_peek(r) == '"')
		ok = parse_quoted_string(r);
	else
		ok = parse_dot_string(r);
	sp->llen = r->i - sp->lstart;
	return ok;
}

/*
 * parse_mailbox - recording where its parts are.
 *   Mailbox    = Local-part "@" ( Domain / address-literal )
 *   Local-part = Dot-string / Quoted-string
 */
static bool
parse_mailbox(struct rd *r, struct span *sp)
{
	bool ok;

	if (!parse_local_part(r, sp) || !rd_eat(r, '@'))
		return false;
	sp->dstart = r->i;
	sp->literal = rd_peek(r) == '[';
	ok = sp->literal ? parse_addr_literal(r) : parse_domain(r);
	sp->dlen = r->i - sp->dstart;
	return ok;
}

/*
 * parse_path - the source route, if any, is parsed and dropped
 * (RFC 5321 §4.1.1.3, §C).
 *   Path      = "<" [ A-d-l ":" ] Mailbox ">"
 *   A-d-l     = At-domain *( "," At-domain )
 *   At-domain = "@" Domain
 */
static bool
parse_path(struct rd *r, struct span *sp)
{
	if (!rd_eat(r, '<'))
		return false;
	if (rd_peek(r) == '@') {
		do {
			if (!rd_eat(r, '@') || !parse_domain(r))
				return false;
		} while (rd_eat(r, ','));
		if (!rd_eat(r, ':'))
			return false;
	}
	return parse_mailbox(r, sp) && rd_eat(r, '>');
}

/*
 * parse_local_only - a path that is a Local-part alone, "<root>" (or, bare,
 * "root"), for SMTP_CMD_F_LOCAL: not RFC 5321 grammar, but what cron and
 * mail(1) send to a local host.  Starts again at the start of the path.
 */
static bool
parse_local_only(struct rd *r, bool bare, struct span *sp)
{
	bool ok;

	r->i = sp->pstart;
	r->eight = false;
	if (!bare && !rd_eat(r, '<'))
		return false;
	ok = parse_local_part(r, sp);
	sp->dstart = r->i;
	sp->dlen = 0;
	sp->literal = false;
	return ok && (bare ? rd_at_word_end(r) : rd_eat(r, '>'));
}

/*
 * read_path - the path after "FROM:" or "TO:", into sp: "<>", a Path,
 * "<postmaster>" when pm (RCPT, §4.5.1), or, without STRICT, blanks and
 * then a bare Mailbox (or bare "postmaster"); under LOCAL a local part
 * alone too.  Grammar only: limits and UTF-8 are addr_fill()'s.
 * Something other than a blank after the path is SMTP_CMD_ERR_SYNTAX.
 *   Reverse-path = Path / "<>"
 *   Forward-path = Path
 */
static enum smtp_cmd_err
read_path(struct rd *r, unsigned flags, bool pm, struct span *sp)
{
	bool strict = (flags & SMTP_CMD_F_STRICT) != 0, bare;

	memset(sp, 0, sizeof(*sp));
	if (!strict)
		rd_skip_sp(r);
	sp->pstart = r->i;
	bare = rd_peek(r) != '<';
	if (bare && (strict || rd_at_word_end(r)))
		return SMTP_CMD_ERR_SYNTAX;
	if (rd_ieat(r, "<>"))
		sp->null = true;
	else if (pm && (rd_ieat(r, "<postmaster>") ||
	    (bare && rd_ieat_word(r, "postmaster"))))
		sp->postmaster = true;
	else if ((bare ? !parse_mailbox(r, sp) || !rd_at_word_end(r) :
	    !parse_path(r, sp)) && ((flags & SMTP_CMD_F_LOCAL) == 0 ||
	    !parse_local_only(r, bare, sp)))
		return SMTP_CMD_ERR_PATH;
	sp->eight = r->eight;
	sp->pend = r->i;
	sp->plen = sp->pend - sp->pstart + (bare ? 2 : 0);
	return rd_at_word_end(r) ? SMTP_CMD_OK : SMTP_CMD_ERR_SYNTAX;
}

/* has_8bit - whether s[0..n) holds an octet >= 0x80. */
static bool
has_8bit(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return true;
	}
	return false;
}

/*
 * addr_fill - check a parsed path against RFC 6531 and the limits of
 * §4.5.3.1, then copy it out.  Octets >= 0x80 anywhere in the path (a
 * dropped source route too) are SMTP_CMD_ERR_UTF8 unless utf8_ok, and
 * then they must be well-formed UTF-8.
 */
static enum smtp_cmd_err
addr_fill(const char *arg, const struct span *sp, bool utf8_ok,
    struct smtp_addr *a)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	if (sp->eight && !utf8_ok)
		return SMTP_CMD_ERR_UTF8;
	if (sp->eight &&
	    !smtp_utf8_valid(arg + sp->pstart, sp->pend - sp->pstart))
		return SMTP_CMD_ERR_PATH;
	if (sp->llen > SMTP_LOCAL_MAX || sp->dlen > SMTP_DOMAIN_MAX ||
	    sp->plen > SMTP_PATH_MAX)
		return SMTP_CMD_ERR_PATH_LONG;
	a->null = sp->null;
	a->utf8 = has_8bit(arg + sp->lstart, sp->llen) ||
	    has_8bit(arg + sp->dstart, sp->dlen);
	if (sp->postmaster) {
		memcpy(a->local, "postmaster", sizeof("postmaster"));
		return SMTP_CMD_OK;
	}
	memcpy(a->local, arg + sp->lstart, sp->llen);
	for (i = 0; i < sp->dlen; i++) {
		a->domain[i] = sp->literal ? arg[sp->dstart + i] :
		    ascii_lower(arg[sp->dstart + i]);
	}
	return SMTP_CMD_OK;
}

/* ---- ESMTP parameters ----------------------------------------------- */

/*
 * next_param - the next parameter after spaces: 1 and *p filled, 0 at the
 * end of the line (trailing spaces are fine), -1 when malformed.
 *   esmtp-param   = esmtp-keyword ["=" esmtp-value]
 *   esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
 *   esmtp-value   = 1*(%d33-60 / %d62-126)  ; RFC 6531: / UTF8-non-ascii
 */
static int
next_param(struct rd *r, bool utf8_ok, struct param *p)
{
	rd_skip_sp(r);
	if (rd_peek(r) == -1)
		return 0;
	if (!is_letdig(rd_peek(r)))
		return -1;
	p->kw = (const char *)r->s + r->i;
	p->kwlen = rd_span(r, is_ldh);
	p->val = NULL;
	p->vallen = 0;
	if (rd_eat(r, '=')) {
		r->eight = false;
		p->val = (const char *)r->s + r->i;
		p->vallen = rd_span(r, is_value);
		if (p->vallen == 0)
			return -1;
		if (r->eight &&
		    (!utf8_ok || !smtp_utf8_valid(p->val, p->vallen)))
			return -1;
	}
	return rd_at_word_end(r) ? 1 : -1;
}

/*
 * has_smtputf8 - whether the parameters ahead include SMTPUTF8.  The
 * path's UTF-8 is judged before the parameters that may allow it are
 * parsed; values never hold a SP, so looking at words is exact.
 */
static bool
has_smtputf8(const struct rd *r)
{
	struct rd w = *r;
	size_t start;

	for (;;) {
		rd_skip_sp(&w);
		if (rd_peek(&w) == -1)
			return false;
		start = w.i;
		while (!rd_at_word_end(&w))
			w.i++;
		if (ieq((const char *)w.s + start, w.i - start, "SMTPUTF8"))
			return true;
	}
}

/* param_size - SIZE=1*20DIGIT (RFC 1870 §3). */
static enum smtp_cmd_err
param_size(const struct param *p, struct smtp_mail_args *out)
{
	if (p->val == NULL || !parse_u64(p->val, p->vallen, 20, &out->size))
		return SMTP_CMD_ERR_PARAM_VALUE;
	out->has_size = true;
	return SMTP_CMD_OK;
}

/* param_body - BODY=7BIT / 8BITMIME (RFC 6152) / BINARYMIME (RFC 3030). */
static enum smtp_cmd_err
param_body(const struct param *p, struct smtp_mail_args *out)
{
	if (p->val == NULL)
		return SMTP_CMD_ERR_PARAM_VALUE;
	if (ieq(p->val, p->vallen, "7BIT"))
		out->body = SMTP_BODY_7BIT;
	else if (ieq(p->val, p->vallen, "8BITMIME"))
		out->body = SMTP_BODY_8BITMIME;
	else if (ieq(p->val, p->vallen, "BINARYMIME"))
		out->body = SMTP_BODY_BINARYMIME;
	else
		return SMTP_CMD_ERR_PARAM_VALUE;
	return SMTP_CMD_OK;
}

/* param_smtputf8 - SMTPUTF8, which takes no value (RFC 6531 §3.4). */
static enum smtp_cmd_err
param_smtputf8(const struct param *p, struct smtp_mail_args *out)
{
	if (p->val != NULL)
		return SMTP_CMD_ERR_PARAM_VALUE;
	out->smtputf8 = true;
	return SMTP_CMD_OK;
}

/*
 * xtext_next - the octet that the xtext at s[*i] stands for, moving *i
 * past it; -1 when it is not xtext.
 *   xtext   = *( xchar / hexchar )                        RFC 3461 §4
 *   xchar   = any ASCII CHAR between "!" (33) and "~" (126) inclusive,
 *             except for "+" and "="
 *   hexchar = ASCII "+" immediately followed by two upper case
 *             hexadecimal digits
 */
static int
xtext_next(const char *s, size_t n, size_t *i)
{
	int c = (unsigned char)s[*i], hi, lo;

	(*i)++;
	if (c != '+')
		return c >= 33 && c <= 126 && c != '=' ? c : -1;
	if (n - *i < 2)
		return -1;
	hi = hexval(s[*i]);
	lo = hexval(s[*i + 1]);
	*i += 2;
	return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/*
 * param_auth - AUTH=mailbox or AUTH=<> (RFC 4954 §5), xtext-decoded.  A
 * decoded control octet has no place in an addr-spec (and a NUL would
 * cut the string), so it makes a bad value too.
 */
static enum smtp_cmd_err
param_auth(const struct param *p, struct smtp_mail_args *out)
{
	size_t i = 0, n = 0;
	int c;

	if (p->val == NULL)
		return SMTP_CMD_ERR_PARAM_VALUE;
	while (i < p->vallen) {
		c = xtext_next(p->val, p->vallen, &i);
		if (c < 0x20 || c == 0x7f || n == SMTP_PATH_MAX)
			return SMTP_CMD_ERR_PARAM_VALUE;
		out->auth[n++] = (char)c;
	}
	out->auth[n] = '\0';
	out->has_auth = true;
	return SMTP_CMD_OK;
}

/* ---- RFC 3461 (DSN) values ------------------------------------------ */

bool
smtp_xtext_valid(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (xtext_next(s, n, &i) < 0)
			return false;
	}
	return true;
}

/*
 * xtext_printable - whether s[0..n) is xtext standing for printable
 * US-ASCII: graphic characters, SP and HTAB (RFC 3461 §4.2, §4.4).
 */
static bool
xtext_printable(const char *s, size_t n)
{
	size_t i = 0;
	int c;

	while (i < n) {
		c = xtext_next(s, n, &i);
		if (c < 0 || (c < 0x20 && c != '\t') || c > 0x7e)
			return false;
	}
	return true;
}

bool
smtp_envid_valid(const char *s, size_t n)
{
	return n > 0 && n <= SMTP_ENVID_MAX && xtext_printable(s, n);
}

bool
smtp_orcpt_valid(const char *s, size_t n)
{
	size_t i = 0;

	if (n > SMTP_ORCPT_MAX)
		return false;
	while (i < n && (unsigned char)s[i] < 0x80 && is_atext(s[i]))
		i++;
	return i > 0 && i + 1 < n && s[i] == ';' &&
	    xtext_printable(s + i + 1, n - i - 1);
}

int
smtp_notify_parse(const char *s, size_t n, unsigned *out)
{
	static const char *const names[] = { "SUCCESS", "FAILURE", "DELAY",
	    "NEVER" };
	size_t i = 0, e, k;
	unsigned bit;

	*out = 0;
	while (i <= n) {
		for (e = i; e < n && s[e] != ','; e++)
			continue;
		for (k = 0; k < NITEMS(names); k++) {
			if (ieq(s + i, e - i, names[k]))
				break;
		}
		bit = k < NITEMS(names) ? 1u << k : 0;
		if (bit == 0 || (*out & bit) != 0 ||
		    (*out != 0 && (bit | *out) & SMTP_NOTIFY_NEVER)) {
			*out = 0;
			return -1;
		}
		*out |= bit;
		i = e + 1;
	}
	return 0;
}

/* param_ret - RET=FULL / HDRS (RFC 3461 §4.3). */
static enum smtp_cmd_err
param_ret(const struct param *p, struct smtp_mail_args *out)
{
	if (p->val != NULL && ieq(p->val, p->vallen, "FULL"))
		out->ret = SMTP_RET_FULL;
	else if (p->val != NULL && ieq(p->val, p->vallen, "HDRS"))
		out->ret = SMTP_RET_HDRS;
	else
		return SMTP_CMD_ERR_PARAM_VALUE;
	return SMTP_CMD_OK;
}

/* param_envid - ENVID=xtext, at most 100 characters (RFC 3461 §4.4). */
static enum smtp_cmd_err
param_envid(const struct param *p, struct smtp_mail_args *out)
{
	if (p->val == NULL || !smtp_envid_valid(p->val, p->vallen))
		return SMTP_CMD_ERR_PARAM_VALUE;
	memcpy(out->envid, p->val, p->vallen);
	out->envid[p->vallen] = '\0';
	return SMTP_CMD_OK;
}

/* The MAIL parameters; once marks those that may not come twice. */
static const struct {
	const char	*kw;
	mail_param_fn	 fn;
	bool		 dsn;	/* known only under SMTP_CMD_F_DSN */
	bool		 once;
} mail_params[] = {
	{ "SIZE",	param_size,	false, false },
	{ "BODY",	param_body,	false, false },
	{ "SMTPUTF8",	param_smtputf8,	false, false },
	{ "AUTH",	param_auth,	false, false },
	{ "RET",	param_ret,	true, true },
	{ "ENVID",	param_envid,	true, true },
};

/*
 * param_again - a keyword seen before on this line.  RFC 5321 §4.1.2 and
 * RFC 1869 §6 give the grammar of the list but say nothing of a keyword
 * that comes twice, nor do RFC 1870, 6152, 3030, 6531 or 4954 for theirs;
 * and real clients repeat one (Python's smtplib appends SMTPUTF8 and
 * BODY=8BITMIME to mail_options that may hold them already).  The same
 * value again changes nothing and is taken; another value leaves the
 * client's intent unclear and is refused.  A bad value is still a bad
 * value.
 */
static enum smtp_cmd_err
param_again(mail_param_fn fn, const struct param *p,
    struct smtp_mail_args *out)
{
	struct smtp_mail_args again = *out;
	enum smtp_cmd_err err;

	err = fn(p, &again);
	if (err != SMTP_CMD_OK)
		return err;
	return memcmp(&again, out, sizeof(again)) == 0 ? SMTP_CMD_OK :
	    SMTP_CMD_ERR_PARAM_REPEATED;
}

/*
 * mail_params_parse - Mail-parameters = esmtp-param *(SP esmtp-param),
 * left to right, the first error winning.  Keywords are case-insensitive;
 * a repeated one goes to param_again().
 */
static enum smtp_cmd_err
mail_params_parse(struct rd *r, bool utf8_ok, bool dsn,
    struct smtp_mail_args *out)
{
	struct param p;
	enum smtp_cmd_err err;
	unsigned seen = 0;
	size_t k;
	int got;

	while ((got = next_param(r, utf8_ok, &p)) == 1) {
		for (k = 0; k < NITEMS(mail_params); k++) {
			if (ieq(p.kw, p.kwlen, mail_params[k].kw) &&
			    (dsn || !mail_params[k].dsn))
				break;
		}
		if (k == NITEMS(mail_params))
			return SMTP_CMD_ERR_PARAM_UNKNOWN;
		if ((seen & (1u << k)) != 0 && mail_params[k].once)
			err = SMTP_CMD_ERR_PARAM_TWICE;
		else if (seen & (1u << k))
			err = param_again(mail_params[k].fn, &p, out);
		else
			err = mail_params[k].fn(&p, out);
		if (err != SMTP_CMD_OK)
			return err;
		seen |= 1u << k;
	}
	return got == 0 ? SMTP_CMD_OK : SMTP_CMD_ERR_PARAM;
}

/*
 * RFC 5321 §4.1.1.2:
 *   mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF
 * UTF-8 in the path is allowed by SMTPUTF8 anywhere on the same line.
 */
enum smtp_cmd_err
smtp_cmd_parse_mail(const char *arg, size_t len, unsigned flags,
    struct smtp_mail_args *out)
{
	struct rd r;
	struct span sp;
	enum smtp_cmd_err err;
	bool utf8_ok = false;

	memset(out, 0, sizeof(*out));
	rd_init(&r, arg, len);
	rd_skip_sp(&r);
	if (!rd_ieat(&r, "FROM:"))
		return SMTP_CMD_ERR_SYNTAX;
	err = read_path(&r, flags & ~(unsigned)SMTP_CMD_F_LOCAL, false, &sp);
	if (err == SMTP_CMD_OK) {
		utf8_ok = (flags & SMTP_CMD_F_UTF8) != 0 || has_smtputf8(&r);
		err = addr_fill(arg, &sp, utf8_ok, &out->from);
	}
	if (err == SMTP_CMD_OK)
		err = mail_params_parse(&r, utf8_ok,
		    (flags & SMTP_CMD_F_DSN) != 0, out);
	if (err != SMTP_CMD_OK)
		memset(out, 0, sizeof(*out));
	return err;
}

/*
 * rcpt_params_parse - Rcpt-parameters = esmtp-param *(SP esmtp-param),
 * left to right, the first error winning; under dsn NOTIFY and ORCPT
 * (RFC 3461 §4.1, §4.2), each at most once, else none is known.
 *   notify-esmtp-value = "NEVER" / 1#notify-list-element
 *   orcpt-parameter    = "ORCPT=" original-recipient-address
 */
static enum smtp_cmd_err
rcpt_params_parse(struct rd *r, bool utf8_ok, bool dsn,
    struct smtp_rcpt_args *out)
{
	struct param p;
	unsigned notify;
	int got;

	while ((got = next_param(r, utf8_ok, &p)) == 1) {
		if (dsn && ieq(p.kw, p.kwlen, "NOTIFY")) {
			if (out->notify != 0)
				return SMTP_CMD_ERR_PARAM_TWICE;
			if (p.val == NULL ||
			    smtp_notify_parse(p.val, p.vallen, &notify) == -1)
				return SMTP_CMD_ERR_PARAM_VALUE;
			out->notify = notify;
		} else if (dsn && ieq(p.kw, p.kwlen, "ORCPT")) {
			if (out->orcpt[0] != '\0')
				return SMTP_CMD_ERR_PARAM_TWICE;
			if (p.val == NULL ||
			    !smtp_orcpt_valid(p.val, p.vallen))
				return SMTP_CMD_ERR_PARAM_VALUE;
			memcpy(out->orcpt, p.val, p.vallen);
			out->orcpt[p.vallen] = '\0';
		} else {
			return SMTP_CMD_ERR_PARAM_UNKNOWN;
		}
	}
	return got == 0 ? SMTP_CMD_OK : SMTP_CMD_ERR_PARAM;
}

/*
 * RFC 5321 §4.1.1.3:
 *   rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
 *          Forward-path ) [SP Rcpt-parameters] CRLF
 * The Rcpt-parameters known are RFC 3461's, under SMTP_CMD_F_DSN.
 */
enum smtp_cmd_err
smtp_cmd_parse_rcpt(const char *arg, size_t len, unsigned flags,
    struct smtp_rcpt_args *out)
{
	struct rd r;
	struct span sp;
	enum smtp_cmd_err err;
	bool utf8_ok = (flags & SMTP_CMD_F_UTF8) != 0;

	memset(out, 0, sizeof(*out));
	rd_init(&r, arg, len);
	rd_skip_sp(&r);
	if (!rd_ieat(&r, "TO:"))
		return SMTP_CMD_ERR_SYNTAX;
	err = read_path(&r, flags, true, &sp);
	if (err == SMTP_CMD_OK && sp.null)
		err = SMTP_CMD_ERR_PATH;
	if (err == SMTP_CMD_OK)
		err = addr_fill(arg, &sp, utf8_ok, &out->to);
	if (err == SMTP_CMD_OK)
		err = rcpt_params_parse(&r, utf8_ok,
		    (flags & SMTP_CMD_F_DSN) != 0, out);
	if (err != SMTP_CMD_OK)
		memset(out, 0, sizeof(*out));
	return err;
}

/* ---- BDAT, HELO, AUTH ----------------------------------------------- */

/*
 * RFC 3030 §2, with runs of blanks tolerated and at most 19 digits, which
 * always fit in 64 bits:
 *   bdat-cmd   = "BDAT" SP chunk-size [ SP end-marker ] CR LF
 *   chunk-size = 1*DIGIT
 *   end-marker = "LAST"
 */
enum smtp_cmd_err
smtp_cmd_parse_bdat(const char *arg, size_t len, uint64_t *size_out,
    bool *last_out)
{
	struct rd r;
	uint64_t size;
	size_t start;
	bool last = false;

	*size_out = 0;
	*last_out = false;
	rd_init(&r, arg, len);
	start = rd_skip_sp(&r);
	if (!parse_u64(arg + start, rd_span(&r, is_digit), 19, &size))
		return SMTP_CMD_ERR_SYNTAX;
	if (rd_skip_sp(&r) > 0 && rd_ieat(&r, "LAST")) {
		last = true;
		rd_skip_sp(&r);
	}
	if (rd_peek(&r) != -1)
		return SMTP_CMD_ERR_SYNTAX;
	*size_out = size;
	*last_out = last;
	return SMTP_CMD_OK;
}

/*
 * RFC 5321 §4.1.1.1 asks for Domain / address-literal, but §4.1.4 forbids
 * refusing a client whose argument fails a check, and many send a bare
 * host name; so one word of printable ASCII, blanks around it, will do.
 */
enum smtp_cmd_err
smtp_cmd_parse_helo(const char *arg, size_t len)
{
	size_t i, start = 0;
	int c;

	while (len > 0 && is_blank(arg[len - 1]))
		len--;
	while (start < len && is_blank(arg[start]))
		start++;
	if (start == len)
		return SMTP_CMD_ERR_SYNTAX;
	for (i = start; i < len; i++) {
		c = (unsigned char)arg[i];
		if (c < 0x21 || c > 0x7e)
			return SMTP_CMD_ERR_SYNTAX;
	}
	return SMTP_CMD_OK;
}

/*
 * RFC 4954 §4 and RFC 4422 §3.1, mechanism names in any case, runs of
 * blanks tolerated (emailjs sends "AUTH  CRAM-MD5"):
 *   auth-command     = "AUTH" SP sasl-mech [SP initial-response]
 *   sasl-mech        = 1*20mech-char
 *   mech-char        = UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE
 *   initial-response = base64 / "="
 */
enum smtp_cmd_err
smtp_cmd_parse_auth(const char *arg, size_t len, char mech_out[21],
    const char **ir_out, size_t *irlen_out)
{
	struct rd r;
	size_t start, n, ir, irlen, i;

	mech_out[0] = '\0';
	*ir_out = NULL;
	*irlen_out = 0;
	rd_init(&r, arg, len);
	start = rd_skip_sp(&r);
	n = rd_span(&r, is_mech);
	if (n == 0 || n > 20 || !rd_at_word_end(&r))
		return SMTP_CMD_ERR_SYNTAX;
	rd_skip_sp(&r);
	ir = r.i;
	irlen = rd_span(&r, is_b64);
	rd_skip_sp(&r);
	if (rd_peek(&r) != -1)
		return SMTP_CMD_ERR_SYNTAX;
	for (i = 0; i < n; i++)
		mech_out[i] = ascii_upper(arg[start + i]);
	mech_out[n] = '\0';
	if (irlen > 0) {
		*ir_out = arg + ir;
		*irlen_out = irlen;
	}
	return SMTP_CMD_OK;
}

/* ---- addresses ------------------------------------------------------ */

char *
smtp_addr_fmt(const struct smtp_addr *a, char *dst, size_t dstlen)
{
	if (dstlen == 0)
		return dst;
	if (a->null)
		dst[0] = '\0';
	else if (a->domain[0] == '\0')
		snprintf(dst, dstlen, "%s", a->local);
	else
		snprintf(dst, dstlen, "%s@%s", a->local, a->domain);
	return dst;
}

char *
smtp_addr_unquote(const char *local, char *dst, size_t dstlen)
{
	size_t n = strnlen(local, SMTP_LOCAL_MAX), i, j = 0;

	if (dstlen == 0)
		return dst;
	if (n < 2 || local[0] != '"' || local[n - 1] != '"') {
		(void)snprintf(dst, dstlen, "%.*s", (int)n, local);
		return dst;
	}
	for (i = 1; i < n - 1 && j + 1 < dstlen; i++) {
		if (local[i] == '\\' && i + 1 < n - 1)
			i++;
		dst[j++] = local[i];
	}
	dst[j] = '\0';
	return dst;
}

/*
 * The local part may become a file name under a Maildir root.  An empty
 * one (the null path, or "") would name the root itself.  A NUL cannot
 * survive in a C string, so the control test covers the rest.
 */
bool
smtp_addr_is_safe_local(const struct smtp_addr *a)
{
	char s[SMTP_LOCAL_MAX + 1];
	size_t i;
	int c;

	smtp_addr_unquote(a->local, s, sizeof(s));
	if (s[0] == '\0' || s[0] == '.')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		c = (unsigned char)s[i];
		if (c == '/' || c < 0x20 || c == 0x7f)
			return false;
		if (c == '.' && s[i + 1] == '.')
			return false;
	}
	return true;
}
