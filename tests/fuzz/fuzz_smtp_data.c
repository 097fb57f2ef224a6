/* SPDX-License-Identifier: ISC */
/*
 * fuzz_smtp_data - libFuzzer target for the DATA decoder and BDAT reader.
 * The first two octets choose DATA or BDAT, the size limit, BINARYMIME,
 * the feeding and the BDAT chunk sizes; the rest is the body as sent.
 * Each input is decoded twice, whole and in pieces, and both must give
 * the same output, counts and verdict.  Both are also compared with a
 * model that reads the whole stream with lookahead instead of a state
 * machine: RFC 5321 §4.1.1.4 (only CRLF "." CRLF ends the data), §4.5.2
 * (dot-unstuffing after every line end, a lone dot kept), the bare CR,
 * LF and NUL counts, RFC 1870 §6.3 (size) and RFC 3030 §2-3 (BDAT: the
 * same rules without dots; BINARYMIME untouched).  The
 * output buffers end exactly at the documented room, so ASan catches a
 * write past it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "log.h"
#include "smtp_data.h"

#define OPT_BDAT	0x01
#define OPT_BINARY	0x10
#define CHUNKS_MAX	64

/* Size limits: none, tiny ones that cut mid-line, and a realistic one. */
static const uint64_t size_limits[] = { 0, 1, 2, 5, 16, 100, 1000, 4096 };

/* A body decoded one way: everything the decoder wrote, and its state. */
struct data_out {
	char		*buf;
	size_t		 len;
	size_t		 cap;
	size_t		 used;		/* input octets consumed */
	bool		 end;		/* SMTP_DATA_END seen */
	struct smtp_data d;
	struct smtp_bdat b;
};

/* The BDAT chunks announced, the same for every way of feeding. */
struct chunks {
	uint64_t	 n[CHUNKS_MAX];
	size_t		 count;
	bool		 last;		/* the final chunk ends the input */
};

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_open("fuzz_smtp_data", true, LOG_LEVEL_ERR);
	return 0;
}

/* out_init - room for everything a whole feed of len octets may write. */
static void
out_init(struct data_out *o, size_t len)
{
	memset(o, 0, sizeof(*o));
	o->cap = len + 2;
	o->buf = malloc(o->cap);
	HARNESS_CHECK(o->buf != NULL);
}

/*
 * out_room - a buffer of exactly room octets whose end is the end of
 * the allocation, so that one octet more is a heap-buffer-overflow.
 */
static char *
out_room(struct data_out *o, size_t room)
{
	if (o->len + room > o->cap)
		harness_fail("output %zu + room %zu exceeds %zu", o->len, room,
		    o->cap);
	return o->buf + o->cap - room;
}

/* out_keep - move what the decoder wrote at p to the end of the output. */
static void
out_keep(struct data_out *o, const char *p, size_t n)
{
	memmove(o->buf + o->len, p, n);
	o->len += n;
}

/* ---- DATA ----------------------------------------------------------- */

/*
 * model_data_end - where the data must end: just after the first CR LF
 * "." CR LF, or after ".\r\n" at the very start; 0 when it does not.
 */
static size_t
model_data_end(const char *in, size_t len)
{
	size_t i;

	if (len >= 3 && memcmp(in, ".\r\n", 3) == 0)
		return 3;
	for (i = 0; i + 5 <= len; i++)
		if (memcmp(in + i, "\r\n.\r\n", 5) == 0)
			return i + 5;
	return 0;
}

/* Counts a decoding makes. */
struct counts {
	unsigned	 bare_lf;
	unsigned	 bare_cr;
	unsigned	 nul;
};

/*
 * model_text - the body rules on in[0..len) by lookahead, with dots
 * (DATA, the end marker excluded from in) or without (BDAT).  Every line
 * end (CR LF, bare CR, bare LF) becomes LF and begins a line.  With
 * dots, a "." that begins a line is dropped when an octet other than CR
 * or LF follows, and kept when a line end does.  Still undecided, and
 * written nowhere: a CR on the last octet (unless finished: then it is
 * bare), a line-start "." on the last octet, and "." CR at the end of a
 * line begun by CR LF (it may be the end marker).  Returns the output
 * length.
 */
static size_t
model_text(const char *in, size_t len, bool dots, bool finished, char *out,
    struct counts *n)
{
	size_t i, o = 0;
	bool bol = true, crlf = true;

	memset(n, 0, sizeof(*n));
	for (i = 0; i < len; i++) {
		if (dots && bol && in[i] == '.') {
			if (i + 1 == len || (crlf && in[i + 1] == '\r' &&
			    i + 2 == len))
				break;
			if (in[i + 1] == '\r' || in[i + 1] == '\n')
				out[o++] = '.';
			i++;
		}
		bol = false;
		if (in[i] == '\r') {
			if (i + 1 == len && !finished)
				break;
			crlf = i + 1 < len && in[i + 1] == '\n';
			if (crlf)
				i++;
			else
				n->bare_cr++;
			out[o++] = '\n';
			bol = true;
		} else if (in[i] == '\n') {
			n->bare_lf++;
			out[o++] = '\n';
			bol = true;
			crlf = false;
		} else {
			n->nul += in[i] == '\0';
			out[o++] = in[i];
		}
	}
	return o;
}

/* data_pending - octets consumed but not yet counted in size. */
static uint64_t
data_pending(const struct smtp_data *d)
{
	switch (d->state) {
	case SMTP_DATA_ST_DOT:
	case SMTP_DATA_ST_BARE_DOT:
		return 1;
	case SMTP_DATA_ST_DOT_CR:
		return 2;
	case SMTP_DATA_ST_END:
		return 3;
	case SMTP_DATA_ST_LINE_START:
	case SMTP_DATA_ST_BARE_START:
	case SMTP_DATA_ST_TEXT:
	case SMTP_DATA_ST_CR:
		break;
	}
	return 0;
}

/* data_feed - one smtp_data_feed() with its per-call invariants. */
static size_t
data_feed(struct data_out *o, const char *in, size_t n)
{
	enum smtp_data_result r;
	bool was_big = o->d.too_big;
	size_t used, outlen;
	char *room = out_room(o, n + 2);

	r = smtp_data_feed(&o->d, in, n, &used, room, &outlen);
	HARNESS_CHECK(used <= n);
	HARNESS_CHECK(outlen <= n + 2);
	HARNESS_CHECK(r == SMTP_DATA_END || used == n);
	HARNESS_CHECK((r == SMTP_DATA_END) ==
	    (o->d.state == SMTP_DATA_ST_END));
	HARNESS_CHECK(!was_big || outlen == 0);
	HARNESS_CHECK(memchr(room, '\r', outlen) == NULL);
	o->used += used;
	HARNESS_CHECK(o->d.size == o->used - data_pending(&o->d));
	out_keep(o, room, outlen);
	o->end = r == SMTP_DATA_END;
	return used;
}

/* data_check_model - the whole-feed result against model_text(). */
static void
data_check_model(const struct data_out *o, const char *in, size_t len)
{
	size_t end = model_data_end(in, len), mlen;
	struct counts n;
	char *m;

	HARNESS_CHECK(o->end == (end != 0));
	HARNESS_CHECK(o->used == (end != 0 ? end : len));
	m = malloc(len + 1);
	HARNESS_CHECK(m != NULL);
	mlen = model_text(in, end != 0 ? end - 3 : len, true, false, m, &n);
	HARNESS_CHECK(o->d.bare_lf == n.bare_lf && o->d.bare_cr == n.bare_cr);
	HARNESS_CHECK(o->d.nul == n.nul);
	if (!o->d.too_big)
		HARNESS_CHECK(o->len == mlen);
	HARNESS_CHECK(o->len <= mlen && memcmp(o->buf, m, o->len) == 0);
	free(m);
	HARNESS_CHECK(o->d.too_big ==
	    (o->d.max_size != 0 && o->d.size > o->d.max_size));
	HARNESS_CHECK(o->d.max_size == 0 || o->len <= o->d.max_size);
}

static void
run_data(const char *in, size_t len, uint64_t max, struct harness_split *sp)
{
	struct data_out w, s;
	size_t pos = 0, n;

	out_init(&w, len);
	smtp_data_init(&w.d, max);
	(void)data_feed(&w, in, len);
	data_check_model(&w, in, len);

	out_init(&s, len);
	smtp_data_init(&s.d, max);
	while (pos < len && !s.end) {
		n = harness_split_next(sp, len - pos);
		pos += data_feed(&s, in + pos, n);
	}
	HARNESS_CHECK(s.end == w.end && s.used == w.used);
	HARNESS_CHECK(s.len == w.len && memcmp(s.buf, w.buf, s.len) == 0);
	HARNESS_CHECK(s.d.state == w.d.state && s.d.size == w.d.size);
	HARNESS_CHECK(s.d.too_big == w.d.too_big);
	HARNESS_CHECK(s.d.line_len == w.d.line_len);
	HARNESS_CHECK(s.d.bare_lf == w.d.bare_lf &&
	    s.d.bare_cr == w.d.bare_cr && s.d.nul == w.d.nul);
	HARNESS_CHECK(s.d.long_lines == w.d.long_lines);
	free(w.buf);
	free(s.buf);
}

/* ---- BDAT ----------------------------------------------------------- */

/*
 * chunks_make - cut len octets into chunk sizes: mostly short, some 0,
 * now and then one far larger than the input (the client may announce
 * anything up to 19 digits; the sum must saturate, not wrap).
 */
static void
chunks_make(struct chunks *c, size_t len, struct harness_split *sp)
{
	uint64_t left = len, n;
	uint32_t x;

	memset(c, 0, sizeof(*c));
	while (c->count < CHUNKS_MAX - 1) {
		x = harness_rand(sp);
		if (x % 32 == 0)
			n = UINT64_MAX - (x >> 8) % 4;
		else if (x % 32 == 1)
			n = UINT64_C(9999999999999999999);
		else
			n = (x >> 8) % (left + 1);
		c->n[c->count++] = n;
		if (n > left)
			return;		/* the input ends inside this chunk */
		left -= n;
		if (left == 0)
			break;
	}
	if (left > 0)
		c->n[c->count++] = left;
	if (harness_rand(sp) % 4 == 0 && c->count < CHUNKS_MAX)
		c->n[c->count++] = 0;	/* "BDAT 0 LAST" */
	c->last = true;
}

/* bdat_feed - one smtp_bdat_feed() with its per-call invariants. */
static bool
bdat_feed(struct data_out *o, const char *in, size_t n, size_t *used_out)
{
	uint64_t before = o->b.remaining;
	bool was_big = o->b.too_big, done;
	size_t used, outlen;
	char *room = out_room(o, n + 1);

	done = smtp_bdat_feed(&o->b, in, n, &used, room, &outlen);
	HARNESS_CHECK(used == (before < n ? before : n));
	HARNESS_CHECK(o->b.remaining == before - used);
	HARNESS_CHECK(done == (o->b.remaining == 0));
	HARNESS_CHECK(outlen <= used + 1);
	HARNESS_CHECK(!was_big || outlen == 0);
	if (o->b.binary && !o->b.too_big)
		HARNESS_CHECK(outlen == used && memcmp(room, in, used) == 0);
	out_keep(o, room, outlen);
	o->used += used;
	*used_out = used;
	return done;
}

/* bdat_finish - the LAST chunk was read: a held CR comes out now. */
static void
bdat_finish(struct data_out *o)
{
	char *room = out_room(o, 1);
	size_t n;

	n = smtp_bdat_finish(&o->b, room);
	HARNESS_CHECK(n <= 1);
	out_keep(o, room, n);
	o->end = true;
}

/*
 * bdat_run - feed in[0..len) through the chunks c, in pieces from sp
 * (NULL: everything that is left at each call).
 */
static void
bdat_run(struct data_out *o, const struct chunks *c, const char *in,
    size_t len, struct harness_split *sp)
{
	size_t pos = 0, k, piece, used;
	bool done;

	for (k = 0; k < c->count; k++) {
		smtp_bdat_chunk(&o->b, c->n[k]);
		do {
			piece = len - pos;
			if (sp != NULL && piece > 0)
				piece = harness_split_next(sp, piece);
			done = bdat_feed(o, in + pos, piece, &used);
			pos += used;
			if (!done && pos == len)
				return;		/* the input ends in a chunk */
		} while (!done);
		if (k + 1 == c->count && c->last)
			bdat_finish(o);
	}
}

/*
 * model_bdat - RFC 3030 §3: BINARYMIME as is, nothing counted; otherwise
 * the body rules without dots, across chunk boundaries, a final lone CR
 * being a bare CR once the LAST chunk is read.
 */
static size_t
model_bdat(const char *in, size_t len, bool binary, bool finished, char *out,
    struct counts *n)
{
	if (binary) {
		memset(n, 0, sizeof(*n));
		memcpy(out, in, len);
		return len;
	}
	return model_text(in, len, false, finished, out, n);
}

/* bdat_check_model - sizes, the limit and the output against the model. */
static void
bdat_check_model(const struct data_out *o, const struct chunks *c,
    const char *in)
{
	uint64_t sum = 0;
	size_t k, mlen;
	struct counts n;
	char *m;

	for (k = 0; k < c->count; k++)
		sum = c->n[k] > UINT64_MAX - sum ? UINT64_MAX : sum + c->n[k];
	HARNESS_CHECK(o->b.size == sum);
	HARNESS_CHECK(o->b.too_big ==
	    (o->b.max_size != 0 && sum > o->b.max_size));
	HARNESS_CHECK(o->b.max_size == 0 || o->len <= o->b.max_size);
	m = malloc(o->used + 1);
	HARNESS_CHECK(m != NULL);
	mlen = model_bdat(in, o->used, o->b.binary, o->end, m, &n);
	if (!o->b.too_big) {
		HARNESS_CHECK(o->len == mlen);
		HARNESS_CHECK(o->b.text.bare_lf == n.bare_lf &&
		    o->b.text.bare_cr == n.bare_cr && o->b.text.nul == n.nul);
	}
	HARNESS_CHECK(o->len <= mlen && memcmp(o->buf, m, o->len) == 0);
	free(m);
}

static void
run_bdat(const char *in, size_t len, uint64_t max, bool binary,
    struct harness_split *sp)
{
	struct data_out w, s;
	struct chunks c;

	chunks_make(&c, len, sp);
	out_init(&w, len);
	smtp_bdat_init(&w.b, max, binary);
	bdat_run(&w, &c, in, len, NULL);
	bdat_check_model(&w, &c, in);

	out_init(&s, len);
	smtp_bdat_init(&s.b, max, binary);
	bdat_run(&s, &c, in, len, sp);
	HARNESS_CHECK(s.used == w.used && s.end == w.end);
	HARNESS_CHECK(s.len == w.len && memcmp(s.buf, w.buf, s.len) == 0);
	HARNESS_CHECK(s.b.size == w.b.size && s.b.too_big == w.b.too_big);
	HARNESS_CHECK(s.b.remaining == w.b.remaining &&
	    s.b.text.state == w.b.text.state);
	HARNESS_CHECK(s.b.text.bare_lf == w.b.text.bare_lf &&
	    s.b.text.bare_cr == w.b.text.bare_cr &&
	    s.b.text.nul == w.b.text.nul);
	free(w.buf);
	free(s.buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct harness_split sp;
	uint64_t seed, max;
	unsigned opts;

	seed = harness_take_seed(&data, &size, 2);
	harness_split_init(&sp, seed);
	opts = (unsigned)(seed >> 8);
	max = size_limits[(opts >> 1) % 8];
	if ((opts & OPT_BDAT) != 0)
		run_bdat((const char *)data, size, max,
		    (opts & OPT_BINARY) != 0, &sp);
	else
		run_data((const char *)data, size, max, &sp);
	return 0;
}
