/* SPDX-License-Identifier: ISC */
/*
 * fuzz_smtp_cmd - libFuzzer target for the command parser.
 * The input is one command line without its CRLF.  It goes through
 * smtp_cmd_parse(); then both its argument and the whole line go through
 * every smtp_cmd_parse_* under every flag combination.  Whatever parses
 * must be what RFC 5321 §4.1.2 and §4.5.3.1 allow: a local part and a
 * domain of the right shape and length, UTF-8 only when allowed and
 * well-formed (checked by a decoder of our own, RFC 3629), and an address
 * that smtp_addr_fmt() renders whole.  log_clean() gets the line too,
 * since every piece of client text reaches the log through it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "harness.h"
#include "log.h"
#include "smtp_cmd.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_open("fuzz_smtp_cmd", true, LOG_LEVEL_ERR);
	return 0;
}

/* ---- independent models --------------------------------------------- */

/*
 * model_utf8 - RFC 3629 by decoding: the code point must need exactly
 * the octets used (no overlong form), not be a surrogate, and not be
 * above U+10FFFF.
 */
/* utf8_lead - the sequence length a lead octet announces, 0 if none. */
static size_t
utf8_lead(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	if ((c & 0xf8) == 0xf0)
		return 4;
	return 0;
}

static bool
model_utf8(const char *str, size_t n)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	static const unsigned char lead_bits[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, k, len;
	uint32_t cp;

	while (i < n) {
		len = utf8_lead(s[i]);
		if (len == 0 || n - i < len)
			return false;
		cp = s[i] & lead_bits[len];
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3fu);
		}
		if (cp < min[len] || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static bool
has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* is_atext - RFC 5322 §3.2.3 atext, plus UTF-8 octets (RFC 6531). */
static bool
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80 ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* check_local - Dot-string or Quoted-string (RFC 5321 §4.1.2). */
static void
check_local(const char *l)
{
	size_t n = strlen(l), i;

	HARNESS_CHECK(n >= 1 && n <= SMTP_LOCAL_MAX);
	if (l[0] == '"') {
		HARNESS_CHECK(n >= 2 && l[n - 1] == '"');
		for (i = 1; i < n - 1; i++)
			HARNESS_CHECK((unsigned char)l[i] >= 32 &&
			    l[i] != 0x7f);
		return;
	}
	HARNESS_CHECK(l[0] != '.' && l[n - 1] != '.');
	HARNESS_CHECK(strstr(l, "..") == NULL);
	for (i = 0; i < n; i++)
		HARNESS_CHECK(l[i] == '.' || is_atext((unsigned char)l[i]));
}

/*
 * check_domain - an address-literal as sent, or dot-separated labels of
 * lower-case letters, digits, inner hyphens and UTF-8 octets.
 */
static void
check_domain(const char *d)
{
	size_t n = strlen(d), i, label = 0;
	unsigned char c;

	HARNESS_CHECK(n >= 1 && n <= SMTP_DOMAIN_MAX);
	if (d[0] == '[') {
		HARNESS_CHECK(n >= 3 && d[n - 1] == ']');
		for (i = 1; i < n - 1; i++) {
			c = (unsigned char)d[i];
			HARNESS_CHECK(c >= 33 && c <= 126 && c != '[' &&
			    c != ']' && c != '\\');
		}
		return;
	}
	for (i = 0; i <= n; i++) {
		c = (unsigned char)d[i];
		if (c == '.' || c == '\0') {
			HARNESS_CHECK(label > 0 && d[i - 1] != '-');
			label = 0;
			continue;
		}
		HARNESS_CHECK(label > 0 || c != '-');
		HARNESS_CHECK((c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c >= 0x80);
		label++;
	}
}

/*
 * check_fmt - smtp_addr_fmt() renders the whole address into the size
 * the session uses, and a cut, NUL-terminated prefix into a buffer of
 * a few smaller sizes (each allocated exactly, for ASan).
 */
static void
check_fmt(const struct smtp_addr *a)
{
	static const size_t sizes[] = { 1, 2, 17, 65, 0 };	/* 0: n + 1 */
	char full[SMTP_PATH_MAX + 1], want[SMTP_PATH_MAX + 1], *small;
	size_t n, k, i;

	if (a->null)
		want[0] = '\0';
	else if (a->domain[0] == '\0')
		(void)strcpy(want, a->local);
	else {
		(void)strcpy(want, a->local);
		(void)strcat(want, "@");
		(void)strcat(want, a->domain);
	}
	HARNESS_CHECK(smtp_addr_fmt(a, full, sizeof(full)) == full);
	HARNESS_CHECK(strcmp(full, want) == 0);
	n = strlen(want);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		k = sizes[i] == 0 ? n + 1 : sizes[i] <= n ? sizes[i] : n;
		if (k == 0)
			continue;
		small = malloc(k);
		HARNESS_CHECK(small != NULL);
		(void)smtp_addr_fmt(a, small, k);
		HARNESS_CHECK(strlen(small) == (k <= n ? k - 1 : n));
		HARNESS_CHECK(memcmp(small, want, strlen(small)) == 0);
		free(small);
	}
}

/*
 * check_addr - a path that parsed.  pm: "<postmaster>" may stand alone
 * (RCPT), and with local any local part may; utf8_ok: UTF-8 was allowed.
 */
static void
check_addr(const struct smtp_addr *a, bool pm, bool local, bool utf8_ok)
{
	size_t plen;

	HARNESS_CHECK(memchr(a->local, '\0', sizeof(a->local)) != NULL);
	HARNESS_CHECK(memchr(a->domain, '\0', sizeof(a->domain)) != NULL);
	if (a->null) {
		HARNESS_CHECK(a->local[0] == '\0' && a->domain[0] == '\0');
		HARNESS_CHECK(!a->utf8);
		check_fmt(a);
		return;
	}
	check_local(a->local);
	if (a->domain[0] == '\0')
		HARNESS_CHECK(pm && (local ||
		    strcmp(a->local, "postmaster") == 0));
	else
		check_domain(a->domain);
	HARNESS_CHECK(a->utf8 == (has_8bit(a->local) || has_8bit(a->domain)));
	HARNESS_CHECK(utf8_ok || !a->utf8);
	HARNESS_CHECK(model_utf8(a->local, strlen(a->local)));
	HARNESS_CHECK(model_utf8(a->domain, strlen(a->domain)));
	plen = strlen(a->local) + 2;
	if (a->domain[0] != '\0')
		plen += 1 + strlen(a->domain);
	HARNESS_CHECK(plen <= SMTP_PATH_MAX);
	if (smtp_addr_is_safe_local(a))
		HARNESS_CHECK(a->local[0] != '.' &&
		    strchr(a->local, '/') == NULL);
	check_fmt(a);
}

/* ---- one parser each ------------------------------------------------ */

/* is_zero - smtp_cmd.h: "on error *out is all zero". */
static bool
is_zero(const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != 0)
			return false;
	return true;
}

static void
check_mail(const char *arg, size_t len, unsigned flags)
{
	struct smtp_mail_args m;
	size_t i;

	if (smtp_cmd_parse_mail(arg, len, flags, &m) != SMTP_CMD_OK) {
		HARNESS_CHECK(is_zero(&m, sizeof(m)));
		return;
	}
	check_addr(&m.from, false, false, (flags & SMTP_CMD_F_UTF8) != 0 ||
	    m.smtputf8);
	HARNESS_CHECK(m.body >= SMTP_BODY_DEFAULT &&
	    m.body <= SMTP_BODY_BINARYMIME);
	/* RFC 3461: RET and ENVID only under DSN, ENVID valid xtext */
	HARNESS_CHECK((flags & SMTP_CMD_F_DSN) != 0 ||
	    (m.ret == SMTP_RET_NONE && m.envid[0] == '\0'));
	HARNESS_CHECK(m.envid[0] == '\0' ||
	    smtp_envid_valid(m.envid, strlen(m.envid)));
	if (!m.has_auth)
		return;
	HARNESS_CHECK(memchr(m.auth, '\0', sizeof(m.auth)) != NULL);
	for (i = 0; m.auth[i] != '\0'; i++)
		HARNESS_CHECK((unsigned char)m.auth[i] >= 0x20 &&
		    m.auth[i] != 0x7f);
}

static void
check_rcpt(const char *arg, size_t len, unsigned flags)
{
	struct smtp_rcpt_args r;

	if (smtp_cmd_parse_rcpt(arg, len, flags, &r) != SMTP_CMD_OK) {
		HARNESS_CHECK(is_zero(&r, sizeof(r)));
		return;
	}
	HARNESS_CHECK(!r.to.null);
	check_addr(&r.to, true, (flags & SMTP_CMD_F_LOCAL) != 0,
	    (flags & SMTP_CMD_F_UTF8) != 0);
	/* RFC 3461: NOTIFY and ORCPT only under DSN; NEVER alone */
	HARNESS_CHECK((flags & SMTP_CMD_F_DSN) != 0 ||
	    (r.notify == 0 && r.orcpt[0] == '\0'));
	HARNESS_CHECK(r.notify <= 7 || r.notify == SMTP_NOTIFY_NEVER);
	HARNESS_CHECK(r.orcpt[0] == '\0' ||
	    smtp_orcpt_valid(r.orcpt, strlen(r.orcpt)));
}

/* blank - SP or HTAB, the blanks smtp_cmd takes in runs. */
static bool
blank(char c)
{
	return c == ' ' || c == '\t';
}

/* model_bdat - RFC 3030 §2 as smtp_cmd.h words it, by hand. */
static bool
model_bdat(const char *s, size_t n, uint64_t *size, bool *last)
{
	size_t i = 0, d, sp;

	*size = 0;
	*last = false;
	while (i < n && blank(s[i]))
		i++;
	for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		continue;
	if (i == d || i - d > 19)
		return false;
	for (sp = d; sp < i; sp++)
		*size = *size * 10 + (uint64_t)(s[sp] - '0');
	for (sp = i; i < n && blank(s[i]); i++)
		continue;
	if (i > sp && n - i >= 4 && strncasecmp(s + i, "LAST", 4) == 0) {
		*last = true;
		for (i += 4; i < n && blank(s[i]); i++)
			continue;
	}
	return i == n;
}

static void
check_bdat(const char *arg, size_t len)
{
	uint64_t size, msize;
	bool last, mlast, ok;

	ok = smtp_cmd_parse_bdat(arg, len, &size, &last) == SMTP_CMD_OK;
	HARNESS_CHECK(ok == model_bdat(arg, len, &msize, &mlast));
	if (ok)
		HARNESS_CHECK(size == msize && last == mlast);
	else
		HARNESS_CHECK(size == 0 && !last);
}

static void
check_helo(const char *arg, size_t len)
{
	bool ok = smtp_cmd_parse_helo(arg, len) == SMTP_CMD_OK, want;
	size_t i = 0, n = len;
	unsigned char c;

	while (n > 0 && blank(arg[n - 1]))
		n--;
	while (i < n && blank(arg[i]))
		i++;
	want = i < n;
	for (; i < n; i++) {
		c = (unsigned char)arg[i];
		if (c < 0x21 || c > 0x7e)
			want = false;
	}
	HARNESS_CHECK(ok == want);
}

static void
check_auth(const char *arg, size_t len)
{
	char mech[21];
	const char *ir;
	size_t irlen, n, i, m = 0, end;

	if (smtp_cmd_parse_auth(arg, len, mech, &ir, &irlen) != SMTP_CMD_OK)
		return;
	n = strnlen(mech, sizeof(mech));
	HARNESS_CHECK(n >= 1 && n <= 20);
	for (i = 0; i < n; i++)
		HARNESS_CHECK((mech[i] >= 'A' && mech[i] <= 'Z') ||
		    (mech[i] >= '0' && mech[i] <= '9') || mech[i] == '-' ||
		    mech[i] == '_');
	while (m < len && blank(arg[m]))
		m++;
	HARNESS_CHECK(m + n <= len && strncasecmp(mech, arg + m, n) == 0);
	end = ir != NULL ? (size_t)(ir - arg) + irlen : m + n;
	for (i = end; i < len; i++)		/* only blanks after */
		HARNESS_CHECK(blank(arg[i]));
	if (ir == NULL) {
		HARNESS_CHECK(irlen == 0);
		return;
	}
	HARNESS_CHECK(ir > arg + m + n && end <= len && irlen >= 1);
	for (i = m + n; i < (size_t)(ir - arg); i++)	/* blanks between */
		HARNESS_CHECK(blank(arg[i]));
	for (i = 0; i < irlen; i++)		/* base64 / "=" */
		HARNESS_CHECK((ir[i] >= 'A' && ir[i] <= 'Z') ||
		    (ir[i] >= 'a' && ir[i] <= 'z') ||
		    (ir[i] >= '0' && ir[i] <= '9') || ir[i] == '+' ||
		    ir[i] == '/' || ir[i] == '=');
}

/*
 * check_verb - smtp_cmd_parse() splits at the first blank, as documented;
 * the argument is what lies between the blanks after the verb and those
 * at the end.
 */
static void
check_verb(const char *line, size_t len, const struct smtp_cmd *cmd)
{
	size_t vlen = 0, start, end = len, i;

	while (vlen < len && !blank(line[vlen]))
		vlen++;
	for (start = vlen; start < len && blank(line[start]); start++)
		continue;
	while (end > start && blank(line[end - 1]))
		end--;
	HARNESS_CHECK(memchr(cmd->name, '\0', sizeof(cmd->name)) != NULL);
	for (i = 0; i < vlen && i < SMTP_CMD_VERB_MAX - 1; i++)
		HARNESS_CHECK(cmd->name[i] == ((line[i] >= 'a' &&
		    line[i] <= 'z') ? line[i] - 'a' + 'A' : line[i]));
	HARNESS_CHECK(cmd->arg != NULL);
	HARNESS_CHECK(cmd->arglen == end - start);
	if (cmd->arglen > 0)
		HARNESS_CHECK(cmd->arg == line + start);
	HARNESS_CHECK(smtp_cmd_verb_name(cmd->verb) != NULL);
	if (cmd->verb == SMTP_VERB_HTTP)
		HARNESS_CHECK(vlen < len);
	else if (cmd->verb != SMTP_VERB_UNKNOWN)
		HARNESS_CHECK(vlen == strlen(cmd->name) &&
		    strcmp(cmd->name, smtp_cmd_verb_name(cmd->verb)) == 0);
}

/* check_args - every argument parser on arg[0..len). */
static void
check_args(const char *arg, size_t len)
{
	unsigned flags;

	for (flags = 0; flags < 16; flags++) {	/* STRICT UTF8 LOCAL DSN */
		check_mail(arg, len, flags);
		check_rcpt(arg, len, flags);
	}
	check_bdat(arg, len);
	check_helo(arg, len);
	check_auth(arg, len);
}

/* ---- log_clean ------------------------------------------------------ */

/* hexval - a hex digit's value, -1 if not one. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * check_clean - the result is safe in a quoted log value (no control
 * byte, no bare '"', well-formed UTF-8 without C1 controls), fits, and
 * reads back as the input, or as a prefix of it followed by "...".
 */
static void
check_clean(const char *src, size_t n, size_t dstlen)
{
	char *dst = malloc(dstlen), *back = malloc(dstlen);
	size_t i, o = 0, dn;
	int hi, lo;

	HARNESS_CHECK(dst != NULL && back != NULL);
	HARNESS_CHECK(log_clean(dst, dstlen, src, n) == dst);
	dn = strnlen(dst, dstlen);
	HARNESS_CHECK(dn < dstlen);
	HARNESS_CHECK(smtp_utf8_valid(dst, dn));
	for (i = 0; i < dn; i++) {
		unsigned char c = (unsigned char)dst[i];

		HARNESS_CHECK(c >= 0x20 && c != 0x7f && c != '"');
		HARNESS_CHECK(c != 0xc2 || (unsigned char)dst[i + 1] >= 0xa0);
		if (c != '\\') {
			back[o++] = dst[i];
			continue;
		}
		HARNESS_CHECK(i + 1 < dn);
		if (dst[i + 1] == '"' || dst[i + 1] == '\\') {
			back[o++] = dst[++i];
			continue;
		}
		HARNESS_CHECK(i + 3 < dn && dst[i + 1] == 'x');
		hi = hexval(dst[i + 2]);
		lo = hexval(dst[i + 3]);
		HARNESS_CHECK(hi >= 0 && lo >= 0);
		back[o++] = (char)(hi * 16 + lo);
		i += 3;
	}
	if (o != n || memcmp(back, src, n) != 0) {
		if (dstlen >= 4) {
			HARNESS_CHECK(o >= 3 &&
			    memcmp(back + o - 3, "...", 3) == 0);
			o -= 3;
		}
		HARNESS_CHECK(o < n && memcmp(back, src, o) == 0);
	}
	free(back);
	free(dst);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct smtp_cmd cmd;

	smtp_cmd_parse(line, size, &cmd);
	check_verb(line, size, &cmd);
	check_args(cmd.arg, cmd.arglen);
	check_args(line, size);
	HARNESS_CHECK(smtp_utf8_valid(line, size) == model_utf8(line, size));
	check_clean(line, size, size > 0 ? 1 + data[0] % 128 : 1);
	return 0;
}
