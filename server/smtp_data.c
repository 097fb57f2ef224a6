/* SPDX-License-Identifier: ISC */
/*
 * smtp_data - decode a message body sent with DATA or BDAT.
 * Owns no memory: the state is the caller's struct and the output goes
 * to the caller's buffer; no I/O, no policy (bare CR/LF and size are
 * counted, the session decides).  DATA: RFC 5321 §4.1.1.4 (end marker),
 * §4.5.2 (transparency), §4.5.3.1.6 (text line length); RFC 1870 §6.3
 * (size).  BDAT: RFC 3030 §2 (chunks) and §3 (BINARYMIME).
 */
#include <limits.h>
#include <string.h>

#include "log.h"
#include "smtp_data.h"

/*
 * The body rules, one set for DATA and BDAT (RFC 5321 §2.3.8, §4.1.1.4,
 * §4.5.2; RFC 3030 §2, §3), each applied in one function below:
 *  - CR LF ends a line and is stored as LF (the Maildir convention).
 *  - A bare LF, or a CR that no LF follows, ends a line too, stored as
 *    LF and counted in bare_lf / bare_cr for bare_newline (data_newline).
 *  - A NUL is stored and counted in nul (data_text).  RFC 5321 §4.5.2
 *    carries any ASCII octet, but a message may not hold one: RFC 5322
 *    §3.5 text and RFC 2045 §2.7-2.8 7bit and 8bit data exclude NUL, and
 *    it cuts the C strings of mail readers and indexers.  The session
 *    refuses it; only binary data (BODY=BINARYMIME), which never comes
 *    through here, may carry it.
 *  - DATA only (dots): every line end, bare or not, begins a line.  A "."
 *    that begins a line and has more of the line after it is a stuffed
 *    dot and is removed; a "." alone on its line (a line end follows)
 *    is kept (data_dot).  The data ends only at CR LF "." CR LF, the
 *    first CR LF being the previous line's end or the start of the data
 *    (data_dot_cr): after a bare line end, "." CR LF is just a line with
 *    a dot (SMTP smuggling, CVE-2023-51764).
 *  - BDAT has no dot-stuffing and no end marker (RFC 3030 §2), and
 *    BINARYMIME content is not decoded at all (§3).
 */

/* RFC 5321 §4.5.3.1.6: 1000 octets with the CRLF, the stuffed dot aside. */
#define SMTP_DATA_TEXT_MAX	998

/* data_init - a fresh decoder; dots for DATA, not for BDAT. */
static void
data_init(struct smtp_data *d, uint64_t max_size, bool dots)
{
	d->state = SMTP_DATA_ST_LINE_START;
	d->dots = dots;
	d->size = 0;
	d->max_size = max_size;
	d->line_len = 0;
	d->too_big = false;
	d->bare_lf = 0;
	d->bare_cr = 0;
	d->nul = 0;
	d->long_lines = 0;
}

void
smtp_data_init(struct smtp_data *d, uint64_t max_size)
{
	data_init(d, max_size, true);
}

bool
smtp_data_has_bare(const struct smtp_data *d)
{
	return d->bare_lf > 0 || d->bare_cr > 0;
}

bool
smtp_data_has_nul(const struct smtp_data *d)
{
	return d->nul > 0;
}

/*
 * data_inc - count one more; saturates, so that 2^32 bare LFs cannot
 * wrap a counter back to 0 and slip past the bare_newline policy.
 */
static void
data_inc(unsigned *n)
{
	if (*n < UINT_MAX)
		(*n)++;
}

/*
 * data_count - n more wire octets of the body.  Past the limit the body
 * is still read to its end, only no longer stored (RFC 1870 §6.3).
 */
static void
data_count(struct smtp_data *d, uint64_t n)
{
	d->size += n;
	if (d->max_size != 0 && d->size > d->max_size)
		d->too_big = true;
}

/* data_put - write one decoded octet; nothing is written once too big. */
static void
data_put(const struct smtp_data *d, char c, char *out, size_t *o)
{
	if (!d->too_big)
		out[(*o)++] = c;
}

/*
 * data_newline - a line ends: by CRLF (bare is NULL), or by a bare CR or
 * LF counted in *bare.  Either way it is written as LF (Maildir), and
 * a line begins; one after a bare line end can hold no end marker.
 */
static void
data_newline(struct smtp_data *d, unsigned *bare, char *out, size_t *o)
{
	if (bare != NULL)
		data_inc(bare);
	d->line_len = 0;
	d->state = bare != NULL ? SMTP_DATA_ST_BARE_START :
	    SMTP_DATA_ST_LINE_START;
	data_put(d, '\n', out, o);
}

/*
 * data_text - one octet just received, inside a line (or beginning one
 * without a dot).  A CR waits for the next octet; a bare LF ends the
 * line.
 */
static void
data_text(struct smtp_data *d, char c, char *out, size_t *o)
{
	data_count(d, 1);
	if (c == '\r') {
		d->state = SMTP_DATA_ST_CR;
		return;
	}
	if (c == '\n') {
		data_newline(d, &d->bare_lf, out, o);
		return;
	}
	d->state = SMTP_DATA_ST_TEXT;
	if (c == '\0')
		data_inc(&d->nul);
	if (++d->line_len == SMTP_DATA_TEXT_MAX + 1)
		data_inc(&d->long_lines);
	data_put(d, c, out, o);
}

/*
 * data_line_start - the first octet of a line.  With dots, a "." waits
 * for the next octet, uncounted (it may begin the end marker).
 */
static void
data_line_start(struct smtp_data *d, char c, char *out, size_t *o)
{
	if (c == '.' && d->dots) {
		d->state = d->state == SMTP_DATA_ST_LINE_START ?
		    SMTP_DATA_ST_DOT : SMTP_DATA_ST_BARE_DOT;
		return;
	}
	data_text(d, c, out, o);
}

/* data_kept_dot - a "." alone on its line, kept as text. */
static void
data_kept_dot(struct smtp_data *d, char *out, size_t *o)
{
	d->line_len = 1;
	data_put(d, '.', out, o);
}

/*
 * data_dot - the octet after a "." that begins a line.  RFC 5321 §4.5.2:
 * "If the first character is a period and there are other characters on
 * the line, the first character is deleted."  A line end next means the
 * dot is alone on its line: it is kept.  After CR LF (not after a bare
 * line end), "." CR may still be the end marker: wait for the next octet.
 */
static void
data_dot(struct smtp_data *d, char c, char *out, size_t *o)
{
	if (c == '\r' && d->state == SMTP_DATA_ST_DOT) {
		d->state = SMTP_DATA_ST_DOT_CR;
		return;
	}
	data_count(d, 1);
	if (c == '\r' || c == '\n')
		data_kept_dot(d, out, o);
	data_text(d, c, out, o);
}

/*
 * data_dot_cr - the octet after CR LF "." CR.  RFC 5321 §4.1.1.4: only
 * CRLF "." CRLF ends the data.  Anything else makes the CR a bare CR
 * ending a line that holds a dot alone; the octet then begins a line.
 */
static void
data_dot_cr(struct smtp_data *d, char c, char *out, size_t *o)
{
	if (c == '\n') {
		d->state = SMTP_DATA_ST_END;
		return;
	}
	data_count(d, 2);
	data_kept_dot(d, out, o);
	data_newline(d, &d->bare_cr, out, o);
	data_line_start(d, c, out, o);
}

/*
 * data_cr - the octet after a CR (already counted) inside a line: LF
 * makes CR LF; anything else makes the CR bare and begins a line.
 */
static void
data_cr(struct smtp_data *d, char c, char *out, size_t *o)
{
	if (c == '\n') {
		data_count(d, 1);
		data_newline(d, NULL, out, o);
		return;
	}
	data_newline(d, &d->bare_cr, out, o);
	data_line_start(d, c, out, o);
}

/* data_step - advance the state machine by one input octet. */
static void
data_step(struct smtp_data *d, char c, char *out, size_t *o)
{
	switch (d->state) {
	case SMTP_DATA_ST_LINE_START:
	case SMTP_DATA_ST_BARE_START:
		data_line_start(d, c, out, o);
		return;
	case SMTP_DATA_ST_DOT:
	case SMTP_DATA_ST_BARE_DOT:
		data_dot(d, c, out, o);
		return;
	case SMTP_DATA_ST_DOT_CR:
		data_dot_cr(d, c, out, o);
		return;
	case SMTP_DATA_ST_TEXT:
		data_text(d, c, out, o);
		return;
	case SMTP_DATA_ST_CR:
		data_cr(d, c, out, o);
		return;
	case SMTP_DATA_ST_END:
		break;
	}
	log_fatal("can't happen: DATA octet after the end marker");
}

/*
 * data_span - how many octets from p on are neither CR, LF nor NUL:
 * memchr() scans many octets a step, where a loop would take them one
 * by one.
 */
static size_t
data_span(const char *p, size_t len)
{
	static const char stop[] = { '\r', '\n', '\0' };
	const char *q;
	size_t i;

	for (i = 0; i < sizeof(stop); i++) {
		q = memchr(p, stop[i], len);
		if (q != NULL)
			len = (size_t)(q - p);
	}
	return len;
}

/*
 * data_run - n octets without CR, LF or NUL inside a line (state TEXT): what
 * data_text() does to each of them, done at once.  Most of a body is
 * such runs, and octet by octet they cost ten times as much.  While not
 * too_big, size <= max_size (data_count), so the subtraction is safe.
 */
static void
data_run(struct smtp_data *d, const char *p, size_t n, char *out, size_t *o)
{
	size_t put = n;

	if (d->too_big)
		put = 0;
	else if (d->max_size != 0 && d->max_size - d->size < n)
		put = (size_t)(d->max_size - d->size);
	data_count(d, n);
	if (d->line_len <= SMTP_DATA_TEXT_MAX &&
	    d->line_len + n > SMTP_DATA_TEXT_MAX)
		data_inc(&d->long_lines);
	d->line_len += n;
	memcpy(out + *o, p, put);
	*o += put;
}

enum smtp_data_result
smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
    size_t *used_out, char *out, size_t *outlen_out)
{
	size_t i, n, o;

	o = 0;
	i = 0;
	while (i < len && d->state != SMTP_DATA_ST_END) {
		if (d->state == SMTP_DATA_ST_TEXT &&
		    (n = data_span(in + i, len - i)) > 0) {
			data_run(d, in + i, n, out, &o);
			i += n;
			continue;
		}
		data_step(d, in[i], out, &o);
		i++;
	}
	*used_out = i;
	*outlen_out = o;
	return d->state == SMTP_DATA_ST_END ? SMTP_DATA_END : SMTP_DATA_MORE;
}

void
smtp_bdat_init(struct smtp_bdat *b, uint64_t max_size, bool binary)
{
	b->remaining = 0;
	b->size = 0;
	b->max_size = max_size;
	b->too_big = false;
	b->binary = binary;
	/* sizes are counted by chunk, so the text decoder has no limit */
	data_init(&b->text, 0, false);
}

void
smtp_bdat_chunk(struct smtp_bdat *b, uint64_t n)
{
	if (b->remaining != 0)
		log_fatal("can't happen: BDAT chunk before the previous one "
		    "was read");
	b->remaining = n;
	/* The client chooses n: saturate rather than wrap. */
	b->size = n > UINT64_MAX - b->size ? UINT64_MAX : b->size + n;
	if (b->max_size != 0 && b->size > b->max_size)
		b->too_big = true;
}

bool
smtp_bdat_feed(struct smtp_bdat *b, const char *in, size_t len,
    size_t *used_out, char *out, size_t *outlen_out)
{
	size_t n, used;

	n = b->remaining < len ? (size_t)b->remaining : len;
	b->remaining -= n;
	*used_out = n;
	*outlen_out = 0;
	/* RFC 3030 §2: a refused chunk is still read, and dropped. */
	if (b->too_big || n == 0)
		return b->remaining == 0;
	if (b->binary) {
		/* RFC 3030 §3: BINARYMIME content is not altered. */
		memcpy(out, in, n);
		*outlen_out = n;
	} else {
		/* The body rules without dots: there is no END, so all of
		 * it is used.  A chunk need not end at a line end (§2), so
		 * a CR may be held until the next input or chunk. */
		(void)smtp_data_feed(&b->text, in, n, &used, out, outlen_out);
	}
	return b->remaining == 0;
}

size_t
smtp_bdat_finish(struct smtp_bdat *b, char *out)
{
	size_t o = 0;

	if (b->too_big || b->binary || b->text.state != SMTP_DATA_ST_CR)
		return 0;
	data_newline(&b->text, &b->text.bare_cr, out, &o);
	return o;
}
