/* SPDX-License-Identifier: ISC */
/*
 * mime - message text for people through GMime 3 (RFC 2047 decoding).
 * Runs on the event loop thread only; GMime and GLib stay inside this
 * file, so no other module includes their headers.  No I/O.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "log.h"
#include "mime.h"
#include "xalloc.h"

void
mime_init(void)
{
	g_mime_init();
}

void
mime_shutdown(void)
{
	g_mime_shutdown();
}

/* mime_is_unsafe - a character that must not reach a one-line display:
 * controls, format characters (bidi overrides, zero widths), line and
 * paragraph separators, and the quote and backslash of the line. */
static bool
mime_is_unsafe(gunichar ch)
{
	GUnicodeType t = g_unichar_type(ch);

	return t == G_UNICODE_CONTROL || t == G_UNICODE_FORMAT ||
	    t == G_UNICODE_LINE_SEPARATOR ||
	    t == G_UNICODE_PARAGRAPH_SEPARATOR || ch == '"' || ch == '\\';
}

char *
mime_header_text(const char *raw)
{
	char *dec, *valid, *out, *p;
	GString *s;

	dec = g_mime_utils_header_decode_text(NULL, raw);
	valid = g_utf8_make_valid(dec != NULL ? dec : "", -1);
	s = g_string_sized_new(strlen(valid));
	for (p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar ch = g_utf8_get_char(p);

		g_string_append_unichar(s, mime_is_unsafe(ch) ? ' ' : ch);
	}
	out = xstrdup(s->str);
	g_string_free(s, TRUE);
	g_free(valid);
	g_free(dec);
	return out;
}
