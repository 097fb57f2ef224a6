/* SPDX-License-Identifier: ISC */
/*
 * hook_out - what a data_hook program said, judged: its exit into a
 * verdict, its standard output into header lines to prepend (exit 0) or
 * the text of a rejection (exit 20).  The model is chasquid's post-data
 * hook.  Pure: no I/O; the edge (hook.c) runs the program and hands the
 * bytes and the wait status here.  Header syntax is RFC 5322 §2.2 and
 * §3.6.8 (field name: printable ASCII but ':'; folding: a continuation
 * line starts with SP or HTAB).
 */
#ifndef INLET_HOOK_OUT_H
#define INLET_HOOK_OUT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define HOOK_OUT_MAX		(64 * 1024)	/* stdout octets read, at most */
#define HOOK_OUT_TEXT_MAX	200		/* reject text kept, at most */
#define HOOK_OUT_REJECT_EXIT	20		/* chasquid's permanent reject */

enum hook_out_verdict {
	HOOK_OUT_ACCEPT,	/* exit 0, headers good: prepend, commit */
	HOOK_OUT_REJECT,	/* exit 20: 550 5.7.1 with its first line */
	HOOK_OUT_TEMPFAIL,	/* anything else: 451 4.7.1 */
};

/* How the program ended, as the edge saw it. */
enum hook_out_end {
	HOOK_OUT_EXITED,	/* exited with a status (code) */
	HOOK_OUT_SIGNALLED,	/* killed by a signal (code) */
	HOOK_OUT_TIMEOUT,	/* ran past data_hook_timeout: killed */
	HOOK_OUT_OVERFLOW,	/* wrote more than HOOK_OUT_MAX: killed */
	HOOK_OUT_NOSTART,	/* could not be started (code: errno) */
};

/*
 * hook_out_headers - check out[0..len) as header lines to prepend and
 * append them to hdrs with LF line ends (CRLF accepted, a missing last
 * newline added).  Empty output is good (nothing to add).  Returns 0, or
 * -1 and *why_out (a static phrase for the log) when a line is not a
 * header field or its continuation, or holds NUL, a bare CR or a byte
 * above 0x7e in a field name; hdrs is then as it was.
 */
int	hook_out_headers(const char *out, size_t len, struct buf *hdrs,
	    const char **why_out);

/*
 * hook_out_text - the first line of out[0..len) as one safe line of an
 * SMTP reply: bytes outside printable ASCII become '?', leading and
 * trailing blanks are dropped, at most HOOK_OUT_TEXT_MAX octets; into
 * text (size at least HOOK_OUT_TEXT_MAX + 1).  Returns text, or NULL
 * when nothing is left (the reply then has its own words).
 */
const char *hook_out_text(const char *out, size_t len, char *text);

/*
 * hook_out_verdict - the verdict on a run that ended so (code: the exit
 * status or the signal) with standard output out[0..len); on
 * HOOK_OUT_ACCEPT the header lines are appended to hdrs.  *why_out is a
 * static phrase for the log when the verdict is not the exit's plain
 * meaning (bad header output), else NULL.
 */
enum hook_out_verdict hook_out_verdict(enum hook_out_end end, int code,
	    const char *out, size_t len, struct buf *hdrs,
	    const char **why_out);

#endif
