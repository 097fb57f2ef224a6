/* SPDX-License-Identifier: ISC */
/*
 * hook_out - a data_hook's exit and standard output into a verdict, the
 * header lines it prepends or the text it rejects with.  Pure (no I/O):
 * the bytes come from the edge, hook.c, which never trusts them further
 * than this file lets it.  RFC 5322 §2.2 (header fields), §3.6.8
 * (field names); RFC 5321 §4.2 (a reply's text is one printable line).
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "buf.h"
#include "hook_out.h"

/* hook_out_is_blank - SP or HTAB (RFC 5234 WSP). */
static bool
hook_out_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * hook_out_line - why line p[0..n) (no line end) cannot be a header line
 * here, or NULL.  RFC 5322 §3.6.8:
 *
 *	field-name = 1*ftext
 *	ftext      = %d33-57 / %d59-126   ; printable US-ASCII but ":"
 *
 * and a continuation line (§2.2.3) starts with WSP and is not blank
 * (a blank line would end the header section).  Values may hold UTF-8
 * (RFC 6532) but no control bytes other than HTAB.
 */
static const char *
hook_out_line(const char *p, size_t n, bool first)
{
	size_t i, name = 0;
	unsigned char c;

	if (n == 0)
		return "empty line";
	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return "control byte";
	}
	if (hook_out_is_blank(p[0])) {
		for (i = 0; i < n && hook_out_is_blank(p[i]); i++)
			;
		if (i == n)
			return "blank line";
		return first ? "continuation before a field" : NULL;
	}
	while (name < n && p[name] != ':') {
		c = (unsigned char)p[name];
		if (c < 33 || c > 126)
			return "bad field name";
		name++;
	}
	if (name == n)
		return "no colon";
	return name == 0 ? "empty field name" : NULL;
}

int
hook_out_headers(const char *out, size_t len, struct buf *hdrs,
    const char **why_out)
{
	size_t save = hdrs->len, i = 0, end, n;
	const char *why;

	while (i < len) {
		end = i;
		while (end < len && out[end] != '\n')
			end++;
		n = end - i;
		if (n > 0 && out[i + n - 1] == '\r')
			n--;
		if ((why = hook_out_line(out + i, n, hdrs->len == save)) !=
		    NULL)
			goto fail;
		why = "too long";
		if (buf_add(hdrs, out + i, n) != 0 || buf_addc(hdrs, '\n') != 0)
			goto fail;
		i = end + 1;
	}
	return 0;
fail:
	buf_truncate(hdrs, save);
	*why_out = why;
	return -1;
}

const char *
hook_out_text(const char *out, size_t len, char *text)
{
	size_t i, n = 0, end = 0;
	unsigned char c;

	for (i = 0; i < len && out[i] != '\n' && out[i] != '\r'; i++) {
		c = (unsigned char)out[i];
		if (n == 0 && hook_out_is_blank((char)c))
			continue;
		if (n == HOOK_OUT_TEXT_MAX)
			break;
		text[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		if (c != ' ')
			end = n;
	}
	text[end] = '\0';
	return end > 0 ? text : NULL;
}

enum hook_out_verdict
hook_out_verdict(enum hook_out_end end, int code, const char *out,
    size_t len, struct buf *hdrs, const char **why_out)
{
	*why_out = NULL;
	switch (end) {
	case HOOK_OUT_EXITED:
		if (code == HOOK_OUT_REJECT_EXIT)
			return HOOK_OUT_REJECT;
		if (code != 0)
			return HOOK_OUT_TEMPFAIL;
		return hook_out_headers(out, len, hdrs, why_out) == 0 ?
		    HOOK_OUT_ACCEPT : HOOK_OUT_TEMPFAIL;
	case HOOK_OUT_SIGNALLED:
	case HOOK_OUT_TIMEOUT:
	case HOOK_OUT_OVERFLOW:
	case HOOK_OUT_NOSTART:
		return HOOK_OUT_TEMPFAIL;
	}
	return HOOK_OUT_TEMPFAIL;
}
