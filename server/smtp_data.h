/* SPDX-License-Identifier: ISC */
/*
 * smtp_data - streaming decoders for a message body: DATA and BDAT.
 *
 * Pure byte state machines, no I/O, no allocation.  One set of body
 * rules serves both (smtp_data.c states them once, above the code):
 * CRLF becomes LF (the Maildir convention); a bare LF or bare CR is also
 * a line end, written as LF and counted (the session applies the
 * bare_newline policy from the counts); a NUL is counted (the session
 * refuses it unless BODY=BINARYMIME).  DATA adds dot-stuffing: a "."
 * that begins a line, after any line end, is removed when more of the
 * line follows, and kept when it is alone on its line; and the data ends
 * ONLY at the exact bytes CR LF "." CR LF (the CRLF before the dot being
 * the previous line's end, or the start of the data).  "\n.\n", "\r.\r",
 * "\n.\r\n", "\r\n.\n" and the like never end it (SMTP smuggling,
 * CVE-2023-51764 family).  Octets are counted as they arrive on the wire;
 * past the size limit output stops but input is still consumed to the
 * end, so the session stays in step (RFC 1870 §6.3).  Lines longer than
 * 1000 octets are passed through and counted in long_lines.
 *
 * The BDAT reader (RFC 3030) counts down the announced chunk size and
 * decodes the chunks with the same machine, without dot-stuffing or end
 * marker (RFC 3030 §2), across chunk boundaries; BODY=BINARYMIME chunks
 * are passed through untouched (§3).
 */
#ifndef INLET_SMTP_DATA_H
#define INLET_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum smtp_data_state {
	SMTP_DATA_ST_LINE_START,	/* after CRLF, or at the start */
	SMTP_DATA_ST_BARE_START,	/* after a bare CR or LF */
	SMTP_DATA_ST_DOT,		/* a "." at LINE_START */
	SMTP_DATA_ST_BARE_DOT,		/* a "." at BARE_START */
	SMTP_DATA_ST_DOT_CR,		/* "." CR at LINE_START */
	SMTP_DATA_ST_TEXT,		/* inside a line */
	SMTP_DATA_ST_CR,		/* CR inside a line */
	SMTP_DATA_ST_END,		/* CRLF.CRLF seen */
};

enum smtp_data_result {
	SMTP_DATA_MORE,		/* all input consumed, data not ended */
	SMTP_DATA_END,		/* end marker consumed; rest is not ours */
};

struct smtp_data {
	enum smtp_data_state state;
	bool		dots;		/* DATA: dot-stuffing, end marker */
	uint64_t	size;		/* octets received (wire count),
					   without the final ".\r\n" */
	uint64_t	max_size;	/* 0 = no limit */
	size_t		line_len;	/* octets in the current line */
	bool		too_big;	/* size exceeded max_size */
	unsigned	bare_lf;	/* number of bare LFs seen */
	unsigned	bare_cr;	/* number of bare CRs seen */
	unsigned	nul;		/* number of NUL octets seen */
	unsigned	long_lines;	/* lines over 998 octets + CRLF,
					   a stuffed dot not counted */
};

/* smtp_data_init - start decoding a new message body sent with DATA. */
void	smtp_data_init(struct smtp_data *d, uint64_t max_size);

/*
 * smtp_data_feed - decode len bytes of input.  Decoded bytes are written
 * to out, which must have room for len + 2 bytes; *outlen_out is set to
 * the number written (output stops at the octet that takes size over
 * max_size, so it is 0 once too_big).  A "." or "." CR at the start of a
 * line is counted in size only when the next octet shows that it does
 * not begin the end marker.  *used_out is the number of input
 * bytes consumed: len, unless the result is SMTP_DATA_END, in which case
 * the bytes after the end marker are left for the caller (pipelined
 * commands).
 */
enum smtp_data_result smtp_data_feed(struct smtp_data *d, const char *in,
	    size_t len, size_t *used_out, char *out, size_t *outlen_out);

/* smtp_data_has_bare - whether a bare CR or LF was seen. */
bool	smtp_data_has_bare(const struct smtp_data *d);

/* smtp_data_has_nul - whether a NUL octet was seen. */
bool	smtp_data_has_nul(const struct smtp_data *d);

struct smtp_bdat {
	uint64_t	remaining;	/* octets left in the current chunk */
	uint64_t	size;		/* octets of all chunks so far */
	uint64_t	max_size;	/* 0 = no limit */
	bool		too_big;
	bool		binary;		/* BODY=BINARYMIME: untouched */
	struct smtp_data text;		/* unless binary: the body rules
					   without dots; its bare_lf,
					   bare_cr and nul count */
};

/* smtp_bdat_init - start a new message (first BDAT of a transaction). */
void	smtp_bdat_init(struct smtp_bdat *b, uint64_t max_size, bool binary);

/*
 * smtp_bdat_chunk - announce the next chunk of n octets.  Adds n to the
 * size and sets too_big when it goes over the limit (the chunk must still
 * be read).
 */
void	smtp_bdat_chunk(struct smtp_bdat *b, uint64_t n);

/*
 * smtp_bdat_feed - take up to `remaining` octets of input.  Output goes to
 * out (room for len + 1 bytes), decoded by the body rules (text) unless
 * binary; nothing is written once too_big.  Returns true when the chunk
 * is complete (remaining is 0).  *used_out is the number of bytes
 * consumed.
 */
bool	smtp_bdat_feed(struct smtp_bdat *b, const char *in, size_t len,
	    size_t *used_out, char *out, size_t *outlen_out);

/*
 * smtp_bdat_finish - at the end of the LAST chunk: a CR held back at the
 * end of the previous input (a lone CR at the very end) is a bare CR,
 * written to out as LF (room for 1 byte) and counted.  Returns the number
 * of bytes written (0 or 1).
 */
size_t	smtp_bdat_finish(struct smtp_bdat *b, char *out);

#endif
