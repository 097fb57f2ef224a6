/* SPDX-License-Identifier: ISC */
/*
 * check_smtp_data - unit tests for the DATA and BDAT body decoders.
 * Every byte-stream case is fed whole, one octet at a time, and split in
 * two at every offset; each way must give the same output, counts and
 * leftover.  Covers RFC 5321 §4.1.1.4 and §4.5.2 (end marker, dot
 * stuffing, SMTP smuggling), RFC 1870 §6.3 (size) and RFC 3030 (BDAT),
 * and the body rules that DATA and BDAT share (line ends, bare CR and
 * LF, NUL), each case run through both.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"

#define BODY_MAX	8192
#define CANARY		0x5a
#define GUARD		8

/* Two fields from one literal: the pointer and the length (NULs kept). */
#define S(s)	(s), sizeof(s) - 1

struct data_case {
	const char		*name;
	uint64_t		 max_size;
	size_t			 fill;	/* octets 'a' for each '#' in `in` */
	size_t			 ofill;	/* octets 'a' for each '#' in `out` */
	const char		*in;
	size_t			 inlen;
	const char		*out;
	size_t			 outlen;
	enum smtp_data_result	 r;
	size_t			 rest;	/* input left after END */
	uint64_t		 size;
	bool			 too_big;
	unsigned		 bare_lf;
	unsigned		 bare_cr;
	unsigned		 nul;
	unsigned		 long_lines;
};

static const struct data_case data_cases[] = {
	{ .name = "simple", .in = S("Hi\r\n.\r\n"), .out = S("Hi\n"),
	  .r = SMTP_DATA_END, .size = 4 },
	{ .name = "empty body", .in = S(".\r\n"), .out = S(""),
	  .r = SMTP_DATA_END },
	{ .name = "empty line", .in = S("\r\n.\r\n"), .out = S("\n"),
	  .r = SMTP_DATA_END, .size = 2 },
	{ .name = "pipelined after end", .in = S("Hi\r\n.\r\nQUIT\r\n"),
	  .out = S("Hi\n"), .r = SMTP_DATA_END, .rest = 6, .size = 4 },
	{ .name = "unstuff", .in = S("..x\r\n...\r\n.\r\n"),
	  .out = S(".x\n..\n"), .r = SMTP_DATA_END, .size = 10 },
	{ .name = "stuffed dot line", .in = S("..\r\n.\r\n"),
	  .out = S(".\n"), .r = SMTP_DATA_END, .size = 4 },
	{ .name = "dot inside a line", .in = S("a.b\r\n.a\r\n.\r\n"),
	  .out = S("a.b\na\n"), .r = SMTP_DATA_END, .size = 9 },
	{ .name = "LF . LF", .in = S("a\n.\nb\r\n.\r\n"),
	  .out = S("a\n.\nb\n"), .r = SMTP_DATA_END, .size = 7,
	  .bare_lf = 2 },
	{ .name = "CR . CR", .in = S("a\r.\rb\r\n.\r\n"),
	  .out = S("a\n.\nb\n"), .r = SMTP_DATA_END, .size = 7,
	  .bare_cr = 2 },
	{ .name = "LF . CRLF", .in = S("a\n.\r\nb\r\n.\r\n"),
	  .out = S("a\n.\nb\n"), .r = SMTP_DATA_END, .size = 8,
	  .bare_lf = 1 },
	{ .name = "CRLF . LF", .in = S("a\r\n.\nb\r\n.\r\n"),
	  .out = S("a\n.\nb\n"), .r = SMTP_DATA_END, .size = 8,
	  .bare_lf = 1 },
	{ .name = ". LF at start", .in = S(".\nb\r\n.\r\n"),
	  .out = S(".\nb\n"), .r = SMTP_DATA_END, .size = 5, .bare_lf = 1 },
	{ .name = "LF .. x", .in = S("a\n..x\r\n.\r\n"),
	  .out = S("a\n.x\n"), .r = SMTP_DATA_END, .size = 7, .bare_lf = 1 },
	{ .name = "CR . x", .in = S("a\r.x\r\n.\r\n"),
	  .out = S("a\nx\n"), .r = SMTP_DATA_END, .size = 6, .bare_cr = 1 },
	{ .name = "CRLF . CR . x", .in = S("a\r\n.\r.x\r\n.\r\n"),
	  .out = S("a\n.\nx\n"), .r = SMTP_DATA_END, .size = 9,
	  .bare_cr = 1 },
	{ .name = "LF . CRLF at start", .in = S("\n.\r\n.\r\n"),
	  .out = S("\n.\n"), .r = SMTP_DATA_END, .size = 4, .bare_lf = 1 },
	{ .name = "CRLF . CR x", .in = S("a\r\n.\rx\r\n.\r\n"),
	  .out = S("a\n.\nx\n"), .r = SMTP_DATA_END, .size = 8,
	  .bare_cr = 1 },
	{ .name = "CRLF . CR CR LF", .in = S("a\r\n.\r\r\n.\r\n"),
	  .out = S("a\n.\n\n"), .r = SMTP_DATA_END, .size = 7,
	  .bare_cr = 1 },
	{ .name = "CR . CRLF", .in = S("a\r.\r\n.\r\n"),
	  .out = S("a\n.\n"), .r = SMTP_DATA_END, .size = 5, .bare_cr = 1 },
	{ .name = "CR CRLF . CRLF", .in = S("a\r\r\n.\r\n"),
	  .out = S("a\n\n"), .r = SMTP_DATA_END, .size = 4, .bare_cr = 1 },
	{ .name = "smuggled LF . LF", .in = S("a\n.\nMAIL FROM:<x>\r\n"),
	  .out = S("a\n.\nMAIL FROM:<x>\n"), .r = SMTP_DATA_MORE,
	  .size = 19, .bare_lf = 2 },
	{ .name = "smuggled CRLF . LF",
	  .in = S("a\r\n.\nRCPT TO:<x>\r\n.\r\nQUIT\r\n"),
	  .out = S("a\n.\nRCPT TO:<x>\n"), .r = SMTP_DATA_END, .rest = 6,
	  .size = 18, .bare_lf = 1 },
	{ .name = "ends with dot", .in = S("Hi\r\n."), .out = S("Hi\n"),
	  .r = SMTP_DATA_MORE, .size = 4 },
	{ .name = "ends with dot CR", .in = S("Hi\r\n.\r"), .out = S("Hi\n"),
	  .r = SMTP_DATA_MORE, .size = 4 },
	{ .name = "bare counts", .in = S("a\rb\nc\r\r\n.\r\n"),
	  .out = S("a\nb\nc\n\n"), .r = SMTP_DATA_END, .size = 8,
	  .bare_lf = 1, .bare_cr = 2 },
	{ .name = "NUL and 8bit", .in = S("a\0b\xff\r\n.\r\n"),
	  .out = S("a\0b\xff\n"), .r = SMTP_DATA_END, .size = 6, .nul = 1 },
	{ .name = "NULs in a long line", .fill = 300, .ofill = 300,
	  .in = S("#\0#\0\0#\r\n.\r\n"), .out = S("#\0#\0\0#\n"),
	  .r = SMTP_DATA_END, .size = 905, .nul = 3 },
	{ .name = "NUL begins a line", .in = S("\0\r\n\0.\r\n.\r\n"),
	  .out = S("\0\n\0.\n"), .r = SMTP_DATA_END, .size = 7,
	  .nul = 2 },
	{ .name = "size at the limit", .max_size = 4,
	  .in = S("Hi\r\n.\r\n"), .out = S("Hi\n"), .r = SMTP_DATA_END,
	  .size = 4 },
	{ .name = "size over by one", .max_size = 3,
	  .in = S("Hi\r\n.\r\n"), .out = S("Hi"), .r = SMTP_DATA_END,
	  .size = 4, .too_big = true },
	{ .name = "size overflow", .max_size = 5,
	  .in = S("0123456789\r\n.\r\nQUIT\r\n"), .out = S("01234"),
	  .r = SMTP_DATA_END, .rest = 6, .size = 12, .too_big = true },
	{ .name = "size counts stuffed dot", .max_size = 2,
	  .in = S("..\r\n.\r\n"), .out = S("."), .r = SMTP_DATA_END,
	  .size = 4, .too_big = true },
	{ .name = "size overflow, long body", .max_size = 100,
	  .fill = 3000, .ofill = 100, .in = S("#\r\n#\r\n.\r\nQUIT\r\n"),
	  .out = S("#"), .r = SMTP_DATA_END, .rest = 6, .size = 6004,
	  .too_big = true, .long_lines = 2 },
	{ .name = "size limit inside a line", .max_size = 50, .fill = 100,
	  .ofill = 50, .in = S("#\r\n.\r\n"), .out = S("#"),
	  .r = SMTP_DATA_END, .size = 102, .too_big = true },
	{ .name = "size limit at a line's last octet", .max_size = 100,
	  .fill = 100, .ofill = 100, .in = S("#\r\nb\r\n.\r\n"),
	  .out = S("#"), .r = SMTP_DATA_END, .size = 105, .too_big = true },
	{ .name = "size limit after a long line", .max_size = 1104,
	  .fill = 1100, .ofill = 1100, .in = S("#\r\nxyz#\r\n.\r\n"),
	  .out = S("#\nxy"), .r = SMTP_DATA_END, .size = 2207,
	  .too_big = true, .long_lines = 2 },
	{ .name = "998 octets", .fill = 998, .ofill = 998,
	  .in = S("#\r\n.\r\n"), .out = S("#\n"), .r = SMTP_DATA_END,
	  .size = 1000 },
	{ .name = "999 octets", .fill = 999, .ofill = 999,
	  .in = S("#\r\n.\r\n"), .out = S("#\n"), .r = SMTP_DATA_END,
	  .size = 1001, .long_lines = 1 },
	{ .name = "1500 octets twice", .fill = 1500, .ofill = 1500,
	  .in = S("#\r\n#\r\nb\r\n.\r\n"), .out = S("#\n#\nb\n"),
	  .r = SMTP_DATA_END, .size = 3007, .long_lines = 2 },
	{ .name = "stuffed dot not in length", .fill = 998, .ofill = 998,
	  .in = S(".#\r\n.\r\n"), .out = S("#\n"), .r = SMTP_DATA_END,
	  .size = 1001 },
	{ .name = "bare LF splits length", .fill = 600, .ofill = 600,
	  .in = S("#\n#\r\n.\r\n"), .out = S("#\n#\n"), .r = SMTP_DATA_END,
	  .size = 1203, .bare_lf = 1 },
};

#define NDATA	(sizeof(data_cases) / sizeof(data_cases[0]))

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

/*
 * check_room - the decoder wrote only out[0..n), and n is within the
 * documented room.
 */
static void
check_room(const char *out, size_t n, size_t room, const char *what)
{
	size_t i;

	ck_assert_msg(n <= room, "%s: wrote %zu, room %zu", what, n, room);
	for (i = n; i < room + GUARD; i++)
		if ((unsigned char)out[i] != CANARY)
			break;
	ck_assert_msg(i == room + GUARD, "%s: out[%zu] written past %zu",
	    what, i, n);
}

/*
 * data_feed - feed one piece into d, append its output to body; returns
 * the number of input octets left unconsumed.
 */
static size_t
data_feed(struct smtp_data *d, const char *p, size_t len, char *body,
    size_t *blen, enum smtp_data_result *r)
{
	char *out;
	size_t used, n;

	out = malloc(len + 2 + GUARD);
	ck_assert_ptr_nonnull(out);
	memset(out, CANARY, len + 2 + GUARD);
	*r = smtp_data_feed(d, p, len, &used, out, &n);
	check_room(out, n, len + 2, "smtp_data_feed");
	ck_assert_uint_le(used, len);
	if (*r == SMTP_DATA_MORE)
		ck_assert_uint_eq(used, len);
	ck_assert_uint_le(*blen + n, BODY_MAX);
	memcpy(body + *blen, out, n);
	*blen += n;
	free(out);
	return len - used;
}

/* data_check - compare the decoder's state with the case. */
static void
data_check(const struct data_case *c, const struct smtp_data *d,
    const char *mode)
{
	ck_assert_msg(d->size == c->size, "%s (%s): size %ju, want %ju",
	    c->name, mode, (uintmax_t)d->size, (uintmax_t)c->size);
	ck_assert_msg(d->too_big == c->too_big, "%s (%s): too_big", c->name,
	    mode);
	ck_assert_msg(d->bare_lf == c->bare_lf && d->bare_cr == c->bare_cr,
	    "%s (%s): bare LF %u CR %u", c->name, mode, d->bare_lf,
	    d->bare_cr);
	ck_assert(smtp_data_has_bare(d) == (c->bare_lf + c->bare_cr > 0));
	ck_assert_msg(d->nul == c->nul, "%s (%s): %u NULs", c->name, mode,
	    d->nul);
	ck_assert(smtp_data_has_nul(d) == (c->nul > 0));
	ck_assert_msg(d->long_lines == c->long_lines,
	    "%s (%s): long lines %u", c->name, mode, d->long_lines);
}

/*
 * data_run - feed in as a first piece of `first` octets, then pieces of
 * `step` octets, and compare with the case.
 */
static void
data_run(const struct data_case *c, const char *in, size_t len,
    size_t first, size_t step, const char *mode)
{
	static char body[BODY_MAX], want[BODY_MAX];
	enum smtp_data_result r;
	struct smtp_data d;
	size_t off, n, blen, rest, wlen;

	smtp_data_init(&d, c->max_size);
	blen = rest = 0;
	r = SMTP_DATA_MORE;
	for (off = 0, n = first; off < len; off += n, n = step) {
		n = n < len - off ? n : len - off;
		rest = data_feed(&d, in + off, n, body, &blen, &r);
		if (r == SMTP_DATA_END) {
			rest += len - off - n;
			break;
		}
	}
	ck_assert_msg(r == c->r, "%s (%s): result %d", c->name, mode, r);
	ck_assert_msg(rest == c->rest, "%s (%s): %zu octets left, want %zu",
	    c->name, mode, rest, c->rest);
	wlen = expand(want, sizeof(want), c->out, c->outlen, c->ofill);
	ck_assert_msg(blen == wlen && memcmp(body, want, wlen) == 0,
	    "%s (%s): output differs (%zu octets, want %zu)", c->name, mode,
	    blen, wlen);
	data_check(c, &d, mode);
	if (r == SMTP_DATA_END) {
		/* Once ended, nothing more is taken. */
		ck_assert_uint_eq(data_feed(&d, in + len - rest, rest, body,
		    &blen, &r), rest);
		ck_assert_int_eq(r, SMTP_DATA_END);
		ck_assert_uint_eq(blen, wlen);
	}
}

START_TEST(test_data_cases)
{
	static char in[BODY_MAX];
	const struct data_case *c = &data_cases[_i];
	char mode[32];
	size_t len, k;

	len = expand(in, sizeof(in), c->in, c->inlen, c->fill);
	data_run(c, in, len, len, len, "whole");
	data_run(c, in, len, 1, 1, "trickled");
	for (k = 1; k < len; k++) {
		snprintf(mode, sizeof(mode), "split at %zu", k);
		data_run(c, in, len, k, len, mode);
	}
}
END_TEST

struct bdat_case {
	const char	*name;
	uint64_t	 max_size;
	bool		 binary;
	uint64_t	 chunk[4];	/* chunk sizes; the last is LAST */
	size_t		 nchunk;
	const char	*in;
	size_t		 inlen;
	const char	*out;
	size_t		 outlen;
	size_t		 rest;		/* input left after the last chunk */
	bool		 too_big;
	unsigned	 bare_lf;	/* counted unless binary */
	unsigned	 bare_cr;
	unsigned	 nul;
};

static const struct bdat_case bdat_cases[] = {
	{ .name = "one chunk", .chunk = { 11 }, .nchunk = 1,
	  .in = S("Hi\r\nthere\r\n"), .out = S("Hi\nthere\n") },
	{ .name = "pipelined after LAST", .chunk = { 4 }, .nchunk = 1,
	  .in = S("Hi\r\nQUIT\r\n"), .out = S("Hi\n"), .rest = 6 },
	{ .name = "CR|LF across chunks", .chunk = { 3, 3 }, .nchunk = 2,
	  .in = S("ab\r\ncd"), .out = S("ab\ncd") },
	{ .name = "CR|x across chunks", .chunk = { 3, 1 }, .nchunk = 2,
	  .in = S("ab\rx"), .out = S("ab\nx"), .bare_cr = 1 },
	{ .name = "lone CR at the end", .chunk = { 3 }, .nchunk = 1,
	  .in = S("ab\r"), .out = S("ab\n"), .bare_cr = 1 },
	{ .name = "CR CR LF", .chunk = { 2, 1, 2 }, .nchunk = 3,
	  .in = S("a\r\r\nb"), .out = S("a\n\nb"), .bare_cr = 1 },
	{ .name = "CR|CR LF across chunks", .chunk = { 2, 2 }, .nchunk = 2,
	  .in = S("a\r\r\n"), .out = S("a\n\n"), .bare_cr = 1 },
	{ .name = "NUL", .chunk = { 2, 3 }, .nchunk = 2,
	  .in = S("a\0b\0\n"), .out = S("a\0b\0\n"), .nul = 2,
	  .bare_lf = 1 },
	{ .name = "empty chunk between CR and LF", .chunk = { 2, 0, 2 },
	  .nchunk = 3, .in = S("a\r\nb"), .out = S("a\nb") },
	{ .name = "BDAT 0 LAST", .chunk = { 0 }, .nchunk = 1, .in = S(""),
	  .out = S("") },
	{ .name = "dots kept, bare LF and CR", .chunk = { 9 }, .nchunk = 1,
	  .in = S(".\r\n.\n\r.\r\n"), .out = S(".\n.\n\n.\n"),
	  .bare_lf = 1, .bare_cr = 1 },
	{ .name = "binary", .binary = true, .chunk = { 4, 4 }, .nchunk = 2,
	  .in = S("a\r\nb\0\r\n\r"), .out = S("a\r\nb\0\r\n\r") },
	{ .name = "too big in second chunk", .max_size = 5,
	  .chunk = { 4, 4 }, .nchunk = 2, .in = S("abcdefghNOOP\r\n"),
	  .out = S("abcd"), .rest = 6, .too_big = true },
	{ .name = "too big holds no CR", .max_size = 2, .chunk = { 3 },
	  .nchunk = 1, .in = S("ab\r"), .out = S(""), .too_big = true },
	{ .name = "size at the limit", .max_size = 6, .chunk = { 3, 3 },
	  .nchunk = 2, .in = S("ab\r\ncd"), .out = S("ab\ncd") },
};

#define NBDAT	(sizeof(bdat_cases) / sizeof(bdat_cases[0]))

struct bdat_run {
	struct smtp_bdat	 b;
	const struct bdat_case	*c;
	size_t			 k;	/* chunks completed */
	char			 body[BODY_MAX];
	size_t			 blen;
};

/*
 * bdat_piece - feed one piece, announcing chunks as they complete;
 * returns the octets left once the last chunk is read.
 */
static size_t
bdat_piece(struct bdat_run *br, const char *p, size_t len)
{
	char out[BODY_MAX + 1 + GUARD];
	size_t used, n;
	bool done;

	while (br->k < br->c->nchunk) {
		ck_assert_uint_le(len, BODY_MAX);
		memset(out, CANARY, len + 1 + GUARD);
		done = smtp_bdat_feed(&br->b, p, len, &used, out, &n);
		check_room(out, n, len + 1, "smtp_bdat_feed");
		ck_assert_uint_le(used, len);
		memcpy(br->body + br->blen, out, n);
		br->blen += n;
		p += used;
		len -= used;
		if (!done) {
			ck_assert_uint_eq(len, 0);
			return 0;
		}
		if (++br->k < br->c->nchunk)
			smtp_bdat_chunk(&br->b, br->c->chunk[br->k]);
	}
	return len;
}

/* bdat_run - feed in as a first piece of `first`, then of `step`. */
static void
bdat_run(const struct bdat_case *c, size_t first, size_t step,
    const char *mode)
{
	static struct bdat_run br;
	char last[1 + GUARD];
	size_t off, n, rest;

	memset(&br, 0, sizeof(br));
	br.c = c;
	smtp_bdat_init(&br.b, c->max_size, c->binary);
	smtp_bdat_chunk(&br.b, c->chunk[0]);
	rest = 0;
	for (off = 0, n = first; off < c->inlen; off += n, n = step) {
		n = n < c->inlen - off ? n : c->inlen - off;
		rest += bdat_piece(&br, c->in + off, n);
	}
	/* Zero-length chunks at the end complete without input. */
	rest += bdat_piece(&br, "", 0);
	ck_assert_msg(br.k == c->nchunk, "%s (%s): chunks left", c->name,
	    mode);
	memset(last, CANARY, sizeof(last));
	n = smtp_bdat_finish(&br.b, last);
	check_room(last, n, 1, "smtp_bdat_finish");
	memcpy(br.body + br.blen, last, n);
	br.blen += n;
	ck_assert_msg(rest == c->rest, "%s (%s): %zu octets left", c->name,
	    mode, rest);
	ck_assert_msg(br.blen == c->outlen && memcmp(br.body, c->out,
	    c->outlen) == 0, "%s (%s): output differs", c->name, mode);
	ck_assert_msg(br.b.too_big == c->too_big, "%s (%s): too_big",
	    c->name, mode);
	ck_assert_msg(br.b.text.bare_lf == c->bare_lf &&
	    br.b.text.bare_cr == c->bare_cr && br.b.text.nul == c->nul,
	    "%s (%s): bare LF %u CR %u, %u NULs", c->name, mode,
	    br.b.text.bare_lf, br.b.text.bare_cr, br.b.text.nul);
	ck_assert_uint_eq(br.b.remaining, 0);
}

START_TEST(test_bdat_cases)
{
	const struct bdat_case *c = &bdat_cases[_i];
	char mode[32];
	size_t k;

	bdat_run(c, c->inlen, c->inlen, "whole");
	bdat_run(c, 1, 1, "trickled");
	for (k = 1; k < c->inlen; k++) {
		snprintf(mode, sizeof(mode), "split at %zu", k);
		bdat_run(c, k, c->inlen, mode);
	}
}
END_TEST

/* A client may announce any size: the total saturates, never wraps. */
START_TEST(test_bdat_huge)
{
	struct smtp_bdat b;
	char out[16];
	size_t used, n;

	smtp_bdat_init(&b, 1000, false);
	smtp_bdat_chunk(&b, UINT64_MAX);
	ck_assert(b.too_big);
	ck_assert(!smtp_bdat_feed(&b, "abc", 3, &used, out, &n));
	ck_assert_uint_eq(used, 3);
	ck_assert_uint_eq(n, 0);
	smtp_bdat_init(&b, 1000, false);
	smtp_bdat_chunk(&b, 10);
	ck_assert(smtp_bdat_feed(&b, "0123456789", 10, &used, out, &n));
	smtp_bdat_chunk(&b, UINT64_MAX - 5);
	ck_assert(b.too_big);
	ck_assert(b.size == UINT64_MAX);
}
END_TEST

/*
 * The body rules shared by DATA and BDAT, one row each: in is a body as
 * sent (ending in CRLF, so that DATA can end it with ".\r\n"); DATA must
 * give data_out, BDAT, which has no dot-stuffing, bdat_out; both count
 * the same bare line ends and NULs.
 */
struct rule_case {
	const char	*name;
	const char	*in;
	size_t		 inlen;
	const char	*data_out;
	size_t		 data_outlen;
	const char	*bdat_out;
	size_t		 bdat_outlen;
	unsigned	 bare_lf;
	unsigned	 bare_cr;
	unsigned	 nul;
};

static const struct rule_case rule_cases[] = {
	{ "CRLF", S("a\r\nb\r\n"), S("a\nb\n"), S("a\nb\n"), 0, 0, 0 },
	{ "bare LF", S("a\nb\r\n"), S("a\nb\n"), S("a\nb\n"), 1, 0, 0 },
	{ "bare CR", S("a\rb\r\n"), S("a\nb\n"), S("a\nb\n"), 0, 1, 0 },
	{ "CR CRLF", S("a\r\r\n"), S("a\n\n"), S("a\n\n"), 0, 1, 0 },
	{ "LF CRLF", S("a\n\r\n"), S("a\n\n"), S("a\n\n"), 1, 0, 0 },
	{ "LF CR", S("a\n\rb\r\n"), S("a\n\nb\n"), S("a\n\nb\n"), 1, 1,
	  0 },
	{ "NUL", S("a\0b\r\n"), S("a\0b\n"), S("a\0b\n"), 0, 0, 1 },
	{ "NULs", S("\0\0\r\n\0\r\n"), S("\0\0\n\0\n"),
	  S("\0\0\n\0\n"), 0, 0, 3 },
	{ "stuffed dot", S("..b\r\n"), S(".b\n"), S("..b\n"), 0, 0, 0 },
	{ "stuffed dot after LF", S("a\n..b\r\n"), S("a\n.b\n"),
	  S("a\n..b\n"), 1, 0, 0 },
	{ "stuffed dot after CR", S("a\r..b\r\n"), S("a\n.b\n"),
	  S("a\n..b\n"), 0, 1, 0 },
	{ "dot, text after LF", S("a\n.x\r\n"), S("a\nx\n"),
	  S("a\n.x\n"), 1, 0, 0 },
	{ "CRLF . LF", S("a\r\n.\nb\r\n"), S("a\n.\nb\n"),
	  S("a\n.\nb\n"), 1, 0, 0 },
	{ "LF . LF", S("a\n.\nb\r\n"), S("a\n.\nb\n"), S("a\n.\nb\n"),
	  2, 0, 0 },
	{ "CRLF . CR x", S("a\r\n.\rb\r\n"), S("a\n.\nb\n"),
	  S("a\n.\nb\n"), 0, 1, 0 },
	{ "CR . CRLF", S("a\r.\r\n"), S("a\n.\n"), S("a\n.\n"), 0, 1, 0 },
	{ "LF . CRLF", S("a\n.\r\nb\r\n"), S("a\n.\nb\n"),
	  S("a\n.\nb\n"), 1, 0, 0 },
	{ "CRLF . CR CRLF", S("a\r\n.\r\r\n"), S("a\n.\n\n"),
	  S("a\n.\n\n"), 0, 1, 0 },
	{ "CRLF . CR .x", S("a\r\n.\r.b\r\n"), S("a\n.\nb\n"),
	  S("a\n.\n.b\n"), 0, 1, 0 },
	{ ". LF at the start", S(".\n\r\n"), S(".\n\n"), S(".\n\n"), 1, 0,
	  0 },
	{ "CRLF ..", S("a\r\n..\r\n"), S("a\n.\n"), S("a\n..\n"), 0, 0,
	  0 },
	{ "LF .. LF", S("a\n..\n\r\n"), S("a\n.\n\n"), S("a\n..\n\n"),
	  2, 0, 0 },
	{ "LF . NUL", S("a\n.\0\r\n"), S("a\n\0\n"), S("a\n.\0\n"), 1,
	  0, 1 },
};

#define NRULE	(sizeof(rule_cases) / sizeof(rule_cases[0]))

/* rule_data - a rule row through DATA, its end marker added. */
static void
rule_data(const struct rule_case *rc)
{
	struct data_case c;
	char in[256], mode[64];
	size_t len, k;

	memset(&c, 0, sizeof(c));
	c.name = rc->name;
	c.out = rc->data_out;
	c.outlen = rc->data_outlen;
	c.r = SMTP_DATA_END;
	c.size = rc->inlen;
	c.bare_lf = rc->bare_lf;
	c.bare_cr = rc->bare_cr;
	c.nul = rc->nul;
	ck_assert_uint_le(rc->inlen + 3, sizeof(in));
	memcpy(in, rc->in, rc->inlen);
	memcpy(in + rc->inlen, ".\r\n", 3);
	len = rc->inlen + 3;
	data_run(&c, in, len, len, len, "DATA whole");
	data_run(&c, in, len, 1, 1, "DATA trickled");
	for (k = 1; k < len; k++) {
		snprintf(mode, sizeof(mode), "DATA split at %zu", k);
		data_run(&c, in, len, k, len, mode);
	}
}

/*
 * rule_bdat - a rule row through BDAT: one chunk fed whole, trickled and
 * split at every offset; then two chunks meeting at every offset.
 */
static void
rule_bdat(const struct rule_case *rc)
{
	struct bdat_case c;
	char mode[64];
	size_t k;

	memset(&c, 0, sizeof(c));
	c.name = rc->name;
	c.in = rc->in;
	c.inlen = rc->inlen;
	c.out = rc->bdat_out;
	c.outlen = rc->bdat_outlen;
	c.bare_lf = rc->bare_lf;
	c.bare_cr = rc->bare_cr;
	c.nul = rc->nul;
	c.chunk[0] = rc->inlen;
	c.nchunk = 1;
	bdat_run(&c, c.inlen, c.inlen, "BDAT whole");
	bdat_run(&c, 1, 1, "BDAT trickled");
	for (k = 1; k < c.inlen; k++) {
		snprintf(mode, sizeof(mode), "BDAT split at %zu", k);
		bdat_run(&c, k, c.inlen, mode);
	}
	c.nchunk = 2;
	for (k = 1; k < c.inlen; k++) {
		c.chunk[0] = k;
		c.chunk[1] = rc->inlen - k;
		snprintf(mode, sizeof(mode), "BDAT chunks %zu+%zu", k,
		    rc->inlen - k);
		bdat_run(&c, c.inlen, c.inlen, mode);
		bdat_run(&c, 1, 1, mode);
	}
}

START_TEST(test_rules)
{
	rule_data(&rule_cases[_i]);
	rule_bdat(&rule_cases[_i]);
}
END_TEST

/* BINARYMIME: the same bytes untouched, nothing counted. */
START_TEST(test_bdat_binary_counts)
{
	static const char in[] = "a\rb\nc\0\r\n.\r\n";
	struct smtp_bdat b;
	char out[sizeof(in) + 1];
	size_t used, n;

	smtp_bdat_init(&b, 0, true);
	smtp_bdat_chunk(&b, sizeof(in) - 1);
	ck_assert(smtp_bdat_feed(&b, in, sizeof(in) - 1, &used, out, &n));
	ck_assert_uint_eq(n, sizeof(in) - 1);
	ck_assert_mem_eq(out, in, n);
	ck_assert_uint_eq(smtp_bdat_finish(&b, out), 0);
	ck_assert(!smtp_data_has_bare(&b.text) && !smtp_data_has_nul(&b.text));
}
END_TEST

static Suite *
data_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("smtp_data");
	tc = tcase_create("data");
	tcase_set_timeout(tc, 120);	/* byte-by-byte runs, ASan, busy CI */
	tcase_add_loop_test(tc, test_data_cases, 0, (int)NDATA);
	suite_add_tcase(s, tc);
	tc = tcase_create("bdat");
	tcase_set_timeout(tc, 120);	/* byte-by-byte runs, ASan, busy CI */
	tcase_add_loop_test(tc, test_bdat_cases, 0, (int)NBDAT);
	tcase_add_test(tc, test_bdat_huge);
	tcase_add_test(tc, test_bdat_binary_counts);
	suite_add_tcase(s, tc);
	tc = tcase_create("rules");
	tcase_set_timeout(tc, 120);	/* byte-by-byte runs, ASan, busy CI */
	tcase_add_loop_test(tc, test_rules, 0, (int)NRULE);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(data_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
