/* SPDX-License-Identifier: ISC */
/*
 * smtp_line - split a byte stream into SMTP command lines.
 * Owns the line being assembled (a struct buf capped at the line limit);
 * no I/O and no policy: bare LF, bare CR, NUL and overlong lines are
 * reported to the caller, which decides the reply.  Implements the line
 * rules of RFC 5321 §2.3.8 and §4.5.3.1.4, and RFC 4954 §4 for AUTH.
 */
#include <string.h>

#include "log.h"
#include "smtp_line.h"

/* The CRLF that ends a line counts against the limit (RFC 5321 §4.5.3.1.4). */
#define SMTP_LINE_EOL_LEN	2

void
smtp_line_init(struct smtp_line *sl, size_t max)
{
	if (max <= SMTP_LINE_EOL_LEN)
		log_fatal("can't happen: line limit %zu too small", max);
	buf_init(&sl->line, max);
	sl->max = max;
	sl->cr = false;
	sl->too_long = false;
	sl->bare_cr = false;
	sl->nul = false;
}

void
smtp_line_release(struct smtp_line *sl)
{
	buf_release(&sl->line);
	sl->cr = false;
	sl->too_long = false;
	sl->bare_cr = false;
	sl->nul = false;
}

/*
 * line_begin - start a new line: empty the buffer and apply a limit
 * changed by smtp_line_set_max().  The buffer is reallocated then, so an
 * AUTH-sized allocation does not outlive the AUTH exchange.
 */
static void
line_begin(struct smtp_line *sl)
{
	sl->cr = false;
	sl->too_long = false;
	sl->bare_cr = false;
	sl->nul = false;
	if (sl->line.max != sl->max) {
		buf_release(&sl->line);
		buf_init(&sl->line, sl->max);
	} else
		buf_reset(&sl->line);
}

void
smtp_line_reset(struct smtp_line *sl)
{
	line_begin(sl);
}

void
smtp_line_set_max(struct smtp_line *sl, size_t max)
{
	if (max <= SMTP_LINE_EOL_LEN)
		log_fatal("can't happen: line limit %zu too small", max);
	sl->max = max;
}

size_t
smtp_line_pending(const struct smtp_line *sl)
{
	/* While a too-long line is skipped, its first max - 2 octets stay. */
	return sl->line.len + (sl->cr ? 1 : 0);
}

/*
 * line_add - append n octets of line text, or start skipping the line
 * once its text would exceed max - 2 octets.
 */
static void
line_add(struct smtp_line *sl, const char *p, size_t n)
{
	size_t room;

	if (sl->too_long || n == 0)
		return;
	if (memchr(p, '\0', n) != NULL)
		sl->nul = true;
	room = sl->line.max - SMTP_LINE_EOL_LEN - sl->line.len;
	if (n > room) {
		n = room;
		sl->too_long = true;
	}
	if (n > 0 && buf_add(&sl->line, p, n) == -1)
		log_fatal("can't happen: line buffer over its cap");
}

/*
 * line_take - take n octets that contain no LF.  A CR is held back until
 * the next octet shows whether it starts a CRLF; a CR followed by
 * anything but LF is a bare CR and stays in the line text.
 */
static void
line_take(struct smtp_line *sl, const char *p, size_t n)
{
	const char *cr;
	size_t run;

	while (n > 0) {
		if (sl->cr) {
			sl->cr = false;
			sl->bare_cr = true;
			line_add(sl, "\r", 1);
		}
		cr = memchr(p, '\r', n);
		run = cr == NULL ? n : (size_t)(cr - p);
		line_add(sl, p, run);
		if (cr == NULL)
			return;
		sl->cr = true;
		p += run + 1;
		n -= run + 1;
	}
}

/*
 * line_end - an LF ended the line: classify it and hand it out.  The text
 * stays in the buffer (so *line_out remains valid) until the next feed
 * begins a new line; only the length is cleared, so that
 * smtp_line_pending() reports 0 between lines.
 */
static enum smtp_line_result
line_end(struct smtp_line *sl, const char **line_out, size_t *len_out)
{
	enum smtp_line_result r;

	if (sl->too_long)
		r = SMTP_LINE_TOOLONG;
	else if (sl->nul)
		r = SMTP_LINE_NUL;
	else if (sl->bare_cr)
		r = SMTP_LINE_BARE_CR;
	else if (!sl->cr)
		r = SMTP_LINE_BARE_LF;
	else
		r = SMTP_LINE_OK;
	if (r != SMTP_LINE_TOOLONG) {
		*line_out = buf_cstr(&sl->line);
		*len_out = sl->line.len;
	}
	sl->line.len = 0;
	sl->cr = false;
	sl->too_long = false;
	sl->bare_cr = false;
	sl->nul = false;
	return r;
}

enum smtp_line_result
smtp_line_feed(struct smtp_line *sl, const char *in, size_t len,
    size_t *used_out, const char **line_out, size_t *len_out)
{
	const char *lf;
	size_t n;

	*line_out = NULL;
	*len_out = 0;
	if (smtp_line_pending(sl) == 0)
		line_begin(sl);
	lf = len == 0 ? NULL : memchr(in, '\n', len);
	n = lf == NULL ? len : (size_t)(lf - in);
	line_take(sl, in, n);
	if (lf == NULL) {
		*used_out = len;
		return SMTP_LINE_MORE;
	}
	*used_out = n + 1;
	return line_end(sl, line_out, len_out);
}
