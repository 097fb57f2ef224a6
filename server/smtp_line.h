/* SPDX-License-Identifier: ISC */
/*
 * smtp_line - split a byte stream into SMTP command lines.
 *
 * Pure and incremental: no I/O, bytes in, one line out at a time.  A
 * line ends at CRLF (RFC 5321 §2.3.8).  A bare LF also ends a line but is
 * reported as SMTP_LINE_BARE_LF so that the caller applies its policy;
 * a CR not followed by LF is reported as SMTP_LINE_BARE_CR, a NUL byte as
 * SMTP_LINE_NUL.  A line longer than the limit (RFC 5321 §4.5.3.1.4: 512
 * octets including CRLF for commands; 12288 for AUTH continuation lines,
 * RFC 4954 §4) is discarded up to its end and reported once as
 * SMTP_LINE_TOOLONG, so the stream never desynchronises.
 */
#ifndef INLET_SMTP_LINE_H
#define INLET_SMTP_LINE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum smtp_line_result {
	SMTP_LINE_MORE,		/* all input consumed, no complete line yet */
	SMTP_LINE_OK,		/* a line ended by CRLF */
	SMTP_LINE_BARE_LF,	/* a line ended by LF without CR */
	SMTP_LINE_BARE_CR,	/* a line (ended by CRLF or LF) had a lone CR */
	SMTP_LINE_NUL,		/* a line had a NUL byte */
	SMTP_LINE_TOOLONG,	/* a line exceeded the limit (now skipped) */
};

struct smtp_line {
	struct buf	 line;		/* the line being assembled */
	size_t		 max;		/* limit in octets, CRLF included */
	bool		 cr;		/* the last byte seen was CR */
	bool		 too_long;	/* discarding to the end of a line */
	bool		 bare_cr;
	bool		 nul;
};

/*
 * smtp_line_init - max is the longest line accepted, CRLF included
 * (so a 512 limit accepts 510 bytes of text).  At least 3.
 */
void	smtp_line_init(struct smtp_line *sl, size_t max);

/* smtp_line_release - free the buffer. */
void	smtp_line_release(struct smtp_line *sl);

/* smtp_line_reset - drop any partial line (e.g. after STARTTLS). */
void	smtp_line_reset(struct smtp_line *sl);

/* smtp_line_set_max - change the limit; applies to the next line. */
void	smtp_line_set_max(struct smtp_line *sl, size_t max);

/*
 * smtp_line_pending - bytes of a partial line held (0 when between lines;
 * while a too-long line is skipped, its first max - 2 bytes stay held).
 */
size_t	smtp_line_pending(const struct smtp_line *sl);

/*
 * smtp_line_feed - consume input up to and including the end of the next
 * line.  *used_out is set to the number of bytes consumed (all of them
 * when the result is SMTP_LINE_MORE).  For every result other than MORE
 * and TOOLONG, *line_out / *len_out give the line without its line
 * ending; the pointer is valid until the next call.  The line is also
 * NUL-terminated at line_out[len] (it may contain NULs when NUL is
 * reported).  Priority when several apply: TOOLONG, NUL, BARE_CR, BARE_LF.
 */
enum smtp_line_result smtp_line_feed(struct smtp_line *sl, const char *in,
	    size_t len, size_t *used_out, const char **line_out,
	    size_t *len_out);

#endif
