/* SPDX-License-Identifier: ISC */
/*
 * check_smtp_line - unit tests for the SMTP command line splitter.
 * Every byte-stream case is fed whole, one octet at a time, and split in
 * two at every offset; each way must give the same lines, results and
 * leftover.  Covers RFC 5321 §2.3.8 (CRLF) and §4.5.3.1.4 (512 octets).
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_line.h"

#define EV_MAX		6
#define TEXT_MAX	16384

/* Two fields from one literal: the pointer and the length (NULs kept). */
#define S(s)	(s), sizeof(s) - 1

struct line_ev {
	enum smtp_line_result	 r;
	const char		*text;	/* '#' stands for fill octets 'a' */
	size_t			 len;
};

struct line_case {
	const char	*name;
	size_t		 max;
	size_t		 fill;		/* octets each '#' expands to */
	const char	*in;		/* '#' stands for fill octets 'a' */
	size_t		 inlen;
	struct line_ev	 ev[EV_MAX];	/* ends at the first MORE */
	size_t		 pending;	/* smtp_line_pending() at the end */
};

static const struct line_case line_cases[] = {
	{ .name = "crlf", .max = 512, .in = S("HELO x\r\n"),
	  .ev = { { SMTP_LINE_OK, S("HELO x") } } },
	{ .name = "empty line", .max = 512, .in = S("\r\n"),
	  .ev = { { SMTP_LINE_OK, S("") } } },
	{ .name = "pipelined", .max = 512,
	  .in = S("MAIL FROM:<>\r\nRCPT TO:<a@b>\r\nDATA\r\n"),
	  .ev = { { SMTP_LINE_OK, S("MAIL FROM:<>") },
	      { SMTP_LINE_OK, S("RCPT TO:<a@b>") },
	      { SMTP_LINE_OK, S("DATA") } } },
	{ .name = "509 octets", .max = 512, .fill = 509, .in = S("#\r\n"),
	  .ev = { { SMTP_LINE_OK, S("#") } } },
	{ .name = "510 octets (max)", .max = 512, .fill = 510,
	  .in = S("#\r\n"), .ev = { { SMTP_LINE_OK, S("#") } } },
	{ .name = "511 octets", .max = 512, .fill = 511, .in = S("#\r\n"),
	  .ev = { { SMTP_LINE_TOOLONG, S("") } } },
	{ .name = "too long then good", .max = 512, .fill = 511,
	  .in = S("#\r\nQUIT\r\n"),
	  .ev = { { SMTP_LINE_TOOLONG, S("") },
	      { SMTP_LINE_OK, S("QUIT") } } },
	{ .name = "too long, reported once", .max = 512, .fill = 1500,
	  .in = S("#\r\nNOOP\r\n#\r\n"),
	  .ev = { { SMTP_LINE_TOOLONG, S("") },
	      { SMTP_LINE_OK, S("NOOP") },
	      { SMTP_LINE_TOOLONG, S("") } } },
	{ .name = "too long, bare LF end", .max = 512, .fill = 600,
	  .in = S("#\nNOOP\r\n"),
	  .ev = { { SMTP_LINE_TOOLONG, S("") },
	      { SMTP_LINE_OK, S("NOOP") } } },
	{ .name = "too long, skipping", .max = 512, .fill = 600,
	  .in = S("#"), .pending = 510 },
	{ .name = "too long, CR held", .max = 512, .fill = 600,
	  .in = S("#\r"), .pending = 511 },
	{ .name = "bare CR pushes over", .max = 512, .fill = 510,
	  .in = S("#\rx\r\nQUIT\r\n"),
	  .ev = { { SMTP_LINE_TOOLONG, S("") },
	      { SMTP_LINE_OK, S("QUIT") } } },
	{ .name = "bare CR at max", .max = 512, .fill = 509,
	  .in = S("#\r\r\n"), .ev = { { SMTP_LINE_BARE_CR, S("#\r") } } },
	{ .name = "bare LF 510", .max = 512, .fill = 510, .in = S("#\n"),
	  .ev = { { SMTP_LINE_BARE_LF, S("#") } } },
	{ .name = "bare LF 511", .max = 512, .fill = 511,
	  .in = S("#\nRSET\r\n"),
	  .ev = { { SMTP_LINE_TOOLONG, S("") },
	      { SMTP_LINE_OK, S("RSET") } } },
	{ .name = "bare LF", .max = 512, .in = S("A\nB\r\n\n"),
	  .ev = { { SMTP_LINE_BARE_LF, S("A") }, { SMTP_LINE_OK, S("B") },
	      { SMTP_LINE_BARE_LF, S("") } } },
	{ .name = "bare CR", .max = 512, .in = S("A\rB\r\nC\r\r\n\r.\r\n"),
	  .ev = { { SMTP_LINE_BARE_CR, S("A\rB") },
	      { SMTP_LINE_BARE_CR, S("C\r") },
	      { SMTP_LINE_BARE_CR, S("\r.") } } },
	{ .name = "bare CR before bare LF", .max = 512, .in = S("A\rB\n"),
	  .ev = { { SMTP_LINE_BARE_CR, S("A\rB") } } },
	{ .name = "NUL", .max = 512, .in = S("AB\0CD\r\n\0\r\n"),
	  .ev = { { SMTP_LINE_NUL, S("AB\0CD") },
	      { SMTP_LINE_NUL, S("\0") } } },
	{ .name = "NUL before bare CR", .max = 512, .in = S("A\0\rB\n"),
	  .ev = { { SMTP_LINE_NUL, S("A\0\rB") } } },
	{ .name = "libevent sample", .max = 512,
	  .in = S("A\nB\r\nC\r\r\n.\nD\r\n"),
	  .ev = { { SMTP_LINE_BARE_LF, S("A") }, { SMTP_LINE_OK, S("B") },
	      { SMTP_LINE_BARE_CR, S("C\r") },
	      { SMTP_LINE_BARE_LF, S(".") }, { SMTP_LINE_OK, S("D") } } },
	{ .name = "partial line", .max = 512, .in = S("NOOP\r\nMAIL FR"),
	  .ev = { { SMTP_LINE_OK, S("NOOP") } }, .pending = 7 },
	{ .name = "partial CR", .max = 512, .in = S("AB\r"), .pending = 3 },
	{ .name = "smallest limit", .max = 3,
	  .in = S("a\r\nab\r\n\r\nb\n"),
	  .ev = { { SMTP_LINE_OK, S("a") }, { SMTP_LINE_TOOLONG, S("") },
	      { SMTP_LINE_OK, S("") }, { SMTP_LINE_BARE_LF, S("b") } } },
	{ .name = "AUTH line", .max = 12288, .fill = 12286,
	  .in = S("#\r\n"), .ev = { { SMTP_LINE_OK, S("#") } } },
};

#define NCASES	(sizeof(line_cases) / sizeof(line_cases[0]))

struct got {
	enum smtp_line_result	 r[EV_MAX];
	char			 text[EV_MAX][TEXT_MAX];
	size_t			 len[EV_MAX];
	size_t			 n;
};

/*
 * expand - copy src to dst, each '#' becoming fill octets 'a'.  Checks
 * are made once, not per octet: each passing ck_assert costs a message
 * to the parent process.
 */
static size_t
expand(char *dst, size_t dstlen, const char *src, size_t len, size_t fill)
{
	size_t i, n;

	n = 0;
	for (i = 0; i < len && n < dstlen; i++) {
		if (src[i] != '#')
			dst[n++] = src[i];
		else if (fill <= dstlen - n) {
			memset(dst + n, 'a', fill);
			n += fill;
		} else
			break;
	}
	ck_assert_msg(i == len, "expanded case too long");
	return n;
}

/* feed_piece - feed one piece until it is consumed, recording lines. */
static void
feed_piece(struct smtp_line *sl, const char *p, size_t len, struct got *g)
{
	enum smtp_line_result r;
	const char *line;
	size_t used, n;

	do {
		r = smtp_line_feed(sl, p, len, &used, &line, &n);
		ck_assert_uint_le(used, len);
		if (r == SMTP_LINE_MORE) {
			ck_assert_uint_eq(used, len);
			ck_assert_ptr_null(line);
			return;
		}
		ck_assert_uint_ge(used, 1);
		ck_assert_int_eq(p[used - 1], '\n');
		ck_assert_uint_lt(g->n, EV_MAX);
		g->r[g->n] = r;
		if (r != SMTP_LINE_TOOLONG) {
			ck_assert_ptr_nonnull(line);
			ck_assert_int_eq(line[n], '\0');
			ck_assert_uint_le(n, TEXT_MAX);
			memcpy(g->text[g->n], line, n);
			g->len[g->n] = n;
		}
		g->n++;
		p += used;
		len -= used;
	} while (len > 0);
}

/*
 * run_case - feed in as a first piece of `first` octets, then pieces of
 * `step` octets, and compare with the case.
 */
static void
run_case(const struct line_case *c, const char *in, size_t len, size_t first,
    size_t step, const char *mode)
{
	static struct got g;
	static char want[TEXT_MAX];
	struct smtp_line sl;
	size_t off, n, i, wlen;

	memset(&g, 0, sizeof(g));
	smtp_line_init(&sl, c->max);
	for (off = 0, n = first; off < len; off += n, n = step)
		feed_piece(&sl, in + off, n < len - off ? n : len - off, &g);
	for (i = 0; i < EV_MAX && c->ev[i].r != SMTP_LINE_MORE; i++) {
		ck_assert_msg(i < g.n, "%s (%s): line %zu missing", c->name,
		    mode, i);
		ck_assert_msg(g.r[i] == c->ev[i].r, "%s (%s): line %zu is %d,"
		    " want %d", c->name, mode, i, g.r[i], c->ev[i].r);
		if (c->ev[i].r == SMTP_LINE_TOOLONG)
			continue;
		wlen = expand(want, sizeof(want), c->ev[i].text, c->ev[i].len,
		    c->fill);
		ck_assert_msg(g.len[i] == wlen && memcmp(g.text[i], want,
		    wlen) == 0, "%s (%s): line %zu text", c->name, mode, i);
	}
	ck_assert_msg(g.n == i, "%s (%s): %zu lines, want %zu", c->name, mode,
	    g.n, i);
	ck_assert_msg(smtp_line_pending(&sl) == c->pending,
	    "%s (%s): pending %zu, want %zu", c->name, mode,
	    smtp_line_pending(&sl), c->pending);
	smtp_line_release(&sl);
}

START_TEST(test_line_cases)
{
	static char in[4 * TEXT_MAX];
	const struct line_case *c = &line_cases[_i];
	char mode[32];
	size_t len, k;

	len = expand(in, sizeof(in), c->in, c->inlen, c->fill);
	run_case(c, in, len, len, len, "whole");
	run_case(c, in, len, 1, 1, "trickled");
	for (k = 1; k < len; k++) {
		snprintf(mode, sizeof(mode), "split at %zu", k);
		run_case(c, in, len, k, len, mode);
	}
}
END_TEST

START_TEST(test_line_empty_feed)
{
	struct smtp_line sl;
	const char *line;
	size_t used, n;

	smtp_line_init(&sl, 512);
	ck_assert_int_eq(smtp_line_feed(&sl, "", 0, &used, &line, &n),
	    SMTP_LINE_MORE);
	ck_assert_uint_eq(used, 0);
	ck_assert_uint_eq(smtp_line_pending(&sl), 0);
	smtp_line_release(&sl);
}
END_TEST

/* The pointer stays valid until the next call, even with more input. */
START_TEST(test_line_pointer)
{
	static const char in[] = "EHLO a\r\nNOOP\r\n";
	struct smtp_line sl;
	const char *line;
	size_t used, n;

	smtp_line_init(&sl, 512);
	ck_assert_int_eq(smtp_line_feed(&sl, in, sizeof(in) - 1, &used, &line,
	    &n), SMTP_LINE_OK);
	ck_assert_uint_eq(used, 8);
	ck_assert_uint_eq(smtp_line_pending(&sl), 0);
	ck_assert_str_eq(line, "EHLO a");
	ck_assert_int_eq(smtp_line_feed(&sl, in + used, sizeof(in) - 1 - used,
	    &used, &line, &n), SMTP_LINE_OK);
	ck_assert_str_eq(line, "NOOP");
	ck_assert_int_eq(smtp_line_feed(&sl, "\r\n", 2, &used, &line, &n),
	    SMTP_LINE_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(line, "");
	smtp_line_release(&sl);
}
END_TEST

/* After STARTTLS the partial line (and a held CR) is dropped. */
START_TEST(test_line_reset)
{
	struct smtp_line sl;
	const char *line;
	size_t used, n;

	smtp_line_init(&sl, 512);
	smtp_line_feed(&sl, "MAIL FROM:<x>\r", 14, &used, &line, &n);
	ck_assert_uint_eq(smtp_line_pending(&sl), 14);
	smtp_line_reset(&sl);
	ck_assert_uint_eq(smtp_line_pending(&sl), 0);
	ck_assert_int_eq(smtp_line_feed(&sl, "\nEHLO b\r\n", 9, &used, &line,
	    &n), SMTP_LINE_BARE_LF);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(smtp_line_feed(&sl, "EHLO b\r\n", 8, &used, &line,
	    &n), SMTP_LINE_OK);
	ck_assert_str_eq(line, "EHLO b");
	smtp_line_release(&sl);
}
END_TEST

/*
 * feed_a - feed n octets 'a', then CRLF when eol; returns the result
 * of the last call.
 */
static enum smtp_line_result
feed_a(struct smtp_line *sl, size_t n, bool eol)
{
	enum smtp_line_result r;
	const char *line;
	char *in;
	size_t used, len, total;

	total = n + (eol ? 2 : 0);
	in = malloc(total);
	ck_assert_ptr_nonnull(in);
	memset(in, 'a', n);
	if (eol)
		memcpy(in + n, "\r\n", 2);
	r = smtp_line_feed(sl, in, total, &used, &line, &len);
	ck_assert_uint_eq(used, total);
	free(in);
	return r;
}

/* RFC 4954 §4: the limit rises for AUTH and falls back afterwards. */
START_TEST(test_line_set_max)
{
	struct smtp_line sl;
	const char *line;
	size_t used, n;

	smtp_line_init(&sl, 512);
	ck_assert_int_eq(feed_a(&sl, 600, true), SMTP_LINE_TOOLONG);
	smtp_line_set_max(&sl, 12288);
	ck_assert_int_eq(feed_a(&sl, 12286, true), SMTP_LINE_OK);
	ck_assert_int_eq(feed_a(&sl, 12287, true), SMTP_LINE_TOOLONG);
	/* Set in the middle of a line: that line keeps the old limit. */
	ck_assert_int_eq(feed_a(&sl, 5000, false), SMTP_LINE_MORE);
	smtp_line_set_max(&sl, 512);
	ck_assert_int_eq(smtp_line_feed(&sl, "\r\n", 2, &used, &line, &n),
	    SMTP_LINE_OK);
	ck_assert_uint_eq(n, 5000);
	ck_assert_int_eq(feed_a(&sl, 510, true), SMTP_LINE_OK);
	ck_assert_int_eq(feed_a(&sl, 511, true), SMTP_LINE_TOOLONG);
	smtp_line_release(&sl);
}
END_TEST

static Suite *
line_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("smtp_line");
	tc = tcase_create("streams");
	tcase_set_timeout(tc, 120);	/* byte-by-byte runs, ASan, busy CI */
	tcase_add_loop_test(tc, test_line_cases, 0, (int)NCASES);
	suite_add_tcase(s, tc);
	tc = tcase_create("api");
	tcase_set_timeout(tc, 120);	/* byte-by-byte runs, ASan, busy CI */
	tcase_add_test(tc, test_line_empty_feed);
	tcase_add_test(tc, test_line_pointer);
	tcase_add_test(tc, test_line_reset);
	tcase_add_test(tc, test_line_set_max);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(line_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
