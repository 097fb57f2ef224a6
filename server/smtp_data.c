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

/* RFC 5321 §4.5.3.1.6: 1000 octets with the CRLF, the stuffed dot aside. */
#define SMTP_DATA_TEXT_MAX	998

void
smtp_data_init(struct smtp_data *d, uint64_t max_size)
{
	d->state = SMTP_DATA_ST_LINE_START;
	d->size = 0;
	d->max_size = max_size;
	d->line_len = 0;
	d->too_big = false;
	d->bare_lf = 0;
	d->bare_cr = 0;
	d->long_lines = 0;
}

bool
smtp_data_has_bare(const struct smtp_data *d)
{
	return d->bare_lf > 0 || d->bare_cr > 0;
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
 * LF counted in *bare.  Either way it is written as LF (Maildir).
 */
static void
data_newline(struct smtp_data *d, unsigned *bare, char *out, size_t *o)
{
	if (bare != NULL)
		data_inc(bare);
	d->line_len = 0;
	data_put(d, '\n', out, o);
}

/*
 * data_text - one octet just received, not at the start of a line.  A CR
 * waits for the next octet.  A bare LF ends the line but leads to TEXT,
 * not LINE_START: after it no "." is unstuffed and ".\r\n" does not end
 * the data (SMTP smuggling, CVE-2023-51764).
 */
static void
data_text(struct smtp_data *d, char c, char *out, size_t *o)
{
	data_count(d, 1);
	if (c == '\r') {
		d->state = SMTP_DATA_ST_CR;
		return;
	}
	d->state = SMTP_DATA_ST_TEXT;
	if (c == '\n') {
		data_newline(d, &d->bare_lf, out, o);
		return;
	}
	if (++d->line_len == SMTP_DATA_TEXT_MAX + 1)
		data_inc(&d->long_lines);
	data_put(d, c, out, o);
}

/*
 * data_dot - the octet after a "." that starts a line.  RFC 5321 §4.5.2:
 * "If the first character is a period and there are other characters on
 * the line, the first character is deleted."  The dot was not counted
 * yet, in case it began the end marker.
 */
static void
data_dot(struct smtp_data *d, char c, char *out, size_t *o)
{
	if (c == '\r') {
		d->state = SMTP_DATA_ST_DOT_CR;
		return;
	}
	data_count(d, 1);
	data_text(d, c, out, o);
}

/*
 * data_dot_cr - the octet after "." CR at the start of a line.  RFC 5321
 * §4.1.1.4: only CRLF "." CRLF ends the data.  Anything else makes the
 * CR a bare CR, after the dot was removed.
 */
static void
data_dot_cr(struct smtp_data *d, char c, char *out, size_t *o)
{
	if (c == '\n') {
		d->state = SMTP_DATA_ST_END;
		return;
	}
	data_count(d, 2);
	data_newline(d, &d->bare_cr, out, o);
	data_text(d, c, out, o);
}

/* data_cr - the octet after a CR (already counted) inside a line. */
static void
data_cr(struct smtp_data *d, char c, char *out, size_t *o)
{
	if (c == '\n') {
		data_count(d, 1);
		data_newline(d, NULL, out, o);
		d->state = SMTP_DATA_ST_LINE_START;
		return;
	}
	data_newline(d, &d->bare_cr, out, o);
	data_text(d, c, out, o);
}

/* data_step - advance the state machine by one input octet. */
static void
data_step(struct smtp_data *d, char c, char *out, size_t *o)
{
	switch (d->state) {
	case SMTP_DATA_ST_LINE_START:
		if (c == '.')
			d->state = SMTP_DATA_ST_DOT;
		else
			data_text(d, c, out, o);
		return;
	case SMTP_DATA_ST_DOT:
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
 * data_span - how many octets from p on are neither CR nor LF: memchr()
 * scans many octets a step, where a loop would take them one by one.
 */
static size_t
data_span(const char *p, size_t len)
{
	const char *cr = memchr(p, '\r', len);
	const char *lf;

	if (cr != NULL)
		len = (size_t)(cr - p);
	lf = memchr(p, '\n', len);
	return lf != NULL ? (size_t)(lf - p) : len;
}

/*
 * data_run - n octets without CR or LF inside a line (state TEXT): what
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
	b->cr = false;
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

/*
 * bdat_unfold - copy n octets turning CRLF into LF.  A CR at the end is
 * held in b->cr, since its LF may come in the next input or chunk: the
 * chunk size (RFC 3030 §2) need not fall on a line end.
 */
static size_t
bdat_unfold(struct smtp_bdat *b, const char *in, size_t n, char *out)
{
	size_t i, o;

	o = 0;
	for (i = 0; i < n; i++) {
		if (b->cr) {
			b->cr = false;
			if (in[i] == '\n') {
				out[o++] = '\n';
				continue;
			}
			out[o++] = '\r';
		}
		if (in[i] == '\r')
			b->cr = true;
		else
			out[o++] = in[i];
	}
	return o;
}

bool
smtp_bdat_feed(struct smtp_bdat *b, const char *in, size_t len,
    size_t *used_out, char *out, size_t *outlen_out)
{
	size_t n;

	n = b->remaining < len ? (size_t)b->remaining : len;
	b->remaining -= n;
	*used_out = n;
	if (b->too_big) {
		/* RFC 3030 §2: a refused chunk is still read, and dropped. */
		b->cr = false;
		*outlen_out = 0;
	} else if (b->binary) {
		/* RFC 3030 §3: BINARYMIME content is not altered. */
		if (n > 0)
			memcpy(out, in, n);
		*outlen_out = n;
	} else
		*outlen_out = bdat_unfold(b, in, n, out);
	return b->remaining == 0;
}

size_t
smtp_bdat_finish(struct smtp_bdat *b, char *out)
{
	bool cr;

	cr = b->cr;
	b->cr = false;
	if (!cr || b->too_big)
		return 0;
	out[0] = '\r';
	return 1;
}
