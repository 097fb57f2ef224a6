/* SPDX-License-Identifier: ISC */
/*
 * mime - message text for people, through GMime 3: RFC 2047 encoded
 * words in header fields decoded to UTF-8.  An edge: the core never
 * decodes MIME (what it stores is the client's bytes, untouched).
 */
#ifndef INLET_MIME_H
#define INLET_MIME_H

/* mime_init - GMime's one-time setup; main() calls it once, early. */
void	mime_init(void);

/* mime_shutdown - undo mime_init() at exit. */
void	mime_shutdown(void);

/*
 * mime_header_text - an unstructured header field's value (a Subject:,
 * RFC 5322 §3.6.5) as UTF-8 for one quoted line: encoded words decoded
 * (RFC 2047 §6.1, RFC 2231 language tags dropped), raw 8-bit text taken
 * as UTF-8 when it is and converted from Latin-1 when not, what is still
 * not UTF-8 replaced by U+FFFD; control and format characters, '"' and
 * '\' become spaces.  Heap-allocated, the caller free()s it.
 */
char	*mime_header_text(const char *raw);

#endif
