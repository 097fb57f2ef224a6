/* SPDX-License-Identifier: ISC */
/*
 * fuzz_smtp_line - libFuzzer target for the command line splitter.
 * The first two octets choose the feeding (whole, byte by byte, short or
 * any pieces), the line limit, and whether the limit changes and the
 * splitter is reset between feeds (as AUTH and STARTTLS do); the rest is
 * the client's byte stream.  Every line handed out is checked against a
 * model of RFC 5321 §2.3.8 and §4.5.3.1.4 computed from the whole stream,
 * so a split anywhere must not change a single verdict.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "log.h"
#include "smtp_line.h"

#define OPT_SET_MAX	0x20	/* change the limit now and then */
#define OPT_RESET	0x40	/* drop a partial line now and then */

/* Limits worth testing: the smallest allowed, commands, AUTH lines. */
static const size_t line_limits[] = { 3, 4, 5, 8, 64, 512, 1000, 12288 };

struct line_run {
	struct smtp_line	 sl;
	struct harness_split	 split;
	const char		*in;		/* the whole stream */
	size_t			 len;
	size_t			 pos;		/* octets consumed so far */
	size_t			 line_start;	/* where this line began */
	size_t			 max;		/* the limit last set */
	size_t			 line_max;	/* the limit of this line */
	bool			 at_boundary;	/* between two lines */
	unsigned		 opts;
};

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_open("fuzz_smtp_line", true, LOG_LEVEL_ERR);
	return 0;
}

/*
 * model_result - what the splitter must say about the line s[0..n), its
 * LF excluded, under limit max: the priority of smtp_line.h is TOOLONG,
 * NUL, BARE_CR, BARE_LF.  *textlen_out is the length without a final CR.
 */
static enum smtp_line_result
model_result(const char *s, size_t n, size_t max, size_t *textlen_out)
{
	bool crlf = n > 0 && s[n - 1] == '\r';
	size_t t = crlf ? n - 1 : n;

	*textlen_out = t;
	if (t > max - 2)
		return SMTP_LINE_TOOLONG;
	if (memchr(s, '\0', t) != NULL)
		return SMTP_LINE_NUL;
	if (memchr(s, '\r', t) != NULL)
		return SMTP_LINE_BARE_CR;
	return crlf ? SMTP_LINE_OK : SMTP_LINE_BARE_LF;
}

/* check_line - a line ended at r->pos - 1 (the LF): compare to the model. */
static void
check_line(struct line_run *r, enum smtp_line_result got, const char *line,
    size_t linelen)
{
	const char *s = r->in + r->line_start;
	size_t t;
	enum smtp_line_result want;

	want = model_result(s, r->pos - 1 - r->line_start, r->line_max, &t);
	if (got != want)
		harness_fail("line at %zu: result %d, model says %d (max %zu)",
		    r->line_start, (int)got, (int)want, r->line_max);
	if (got == SMTP_LINE_TOOLONG)
		return;
	HARNESS_CHECK(line != NULL);
	HARNESS_CHECK(linelen == t);
	HARNESS_CHECK(linelen <= r->line_max - 2);
	HARNESS_CHECK(memcmp(line, s, t) == 0);
	HARNESS_CHECK(line[linelen] == '\0');
}

/* feed_once - one smtp_line_feed() of up to n octets at r->pos. */
static size_t
feed_once(struct line_run *r, size_t n)
{
	enum smtp_line_result res;
	const char *line;
	size_t used, linelen, pending;

	pending = smtp_line_pending(&r->sl);
	if (r->at_boundary) {
		HARNESS_CHECK(pending == 0);
		r->line_max = r->max;
	} else {
		HARNESS_CHECK(pending > 0);
		HARNESS_CHECK(pending <= r->pos - r->line_start);
		HARNESS_CHECK(pending <= r->line_max - 1);
	}
	res = smtp_line_feed(&r->sl, r->in + r->pos, n, &used, &line,
	    &linelen);
	HARNESS_CHECK(used >= 1 && used <= n);
	r->pos += used;
	if (res == SMTP_LINE_MORE) {
		HARNESS_CHECK(used == n);
		HARNESS_CHECK(memchr(r->in + r->pos - used, '\n', used) ==
		    NULL);
		r->at_boundary = false;
		return used;
	}
	HARNESS_CHECK(r->in[r->pos - 1] == '\n');
	HARNESS_CHECK(memchr(r->in + r->pos - used, '\n', used - 1) == NULL);
	check_line(r, res, line, linelen);
	r->line_start = r->pos;
	r->at_boundary = true;
	return used;
}

/* between_feeds - what the session may do between two feeds. */
static void
between_feeds(struct line_run *r)
{
	uint32_t x;

	if (r->opts == 0)
		return;
	x = harness_rand(&r->split);
	if ((r->opts & OPT_SET_MAX) != 0 && x % 16 == 0) {
		r->max = line_limits[(x >> 8) % 8];
		smtp_line_set_max(&r->sl, r->max);	/* next line */
	}
	if ((r->opts & OPT_RESET) != 0 && (x >> 4) % 64 == 0) {
		smtp_line_reset(&r->sl);
		r->line_start = r->pos;
		r->at_boundary = true;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct line_run r;
	uint64_t seed;
	size_t piece;

	seed = harness_take_seed(&data, &size, 2);
	memset(&r, 0, sizeof(r));
	harness_split_init(&r.split, seed);
	r.opts = (unsigned)(seed >> 8) & (OPT_SET_MAX | OPT_RESET);
	r.max = line_limits[(seed >> 10) % 8];
	r.line_max = r.max;
	r.in = (const char *)data;
	r.len = size;
	r.at_boundary = true;
	smtp_line_init(&r.sl, r.max);
	while (r.pos < r.len) {
		piece = harness_split_next(&r.split, r.len - r.pos);
		while (piece > 0) {
			piece -= feed_once(&r, piece);
			between_feeds(&r);
		}
	}
	smtp_line_release(&r.sl);
	return 0;
}
