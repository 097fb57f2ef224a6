/* SPDX-License-Identifier: ISC */
/*
 * msgview - one stored message as people and Mailpit's API see it,
 * through GMime 3: the summary the index keeps (decoded addresses,
 * subject, Message-ID, snippet, attachment counts), the Message JSON
 * (Text, HTML, Inline[], Attachments[] with PartIDs), the headers, one
 * part's decoded bytes.  Best effort and bounded: malformed MIME, deep
 * nesting and 8-bit garbage give what can be read, never a crash.  Edge
 * module (reads the file); GMime stays inside msgview.c and mime.c.
 */
#ifndef INLET_MSGVIEW_H
#define INLET_MSGVIEW_H

#include <stddef.h>

#include <jansson.h>

struct envelope;

#define MSGVIEW_SNIPPET_MAX	250	/* characters, as Mailpit's */
#define MSGVIEW_PARTS_MAX	500	/* MIME parts looked at in a message */

/* What the index keeps of a message: heap strings, NULL when absent.
 * Address lists are "Name <addr>, ..." as GMime formats them (quoted
 * where needed, so msgview_addresses() reads them back). */
struct msgview_sum {
	char		*from, *to, *cc, *bcc, *reply_to;
	char		*subject, *message_id, *snippet;
	unsigned	 attachments, inlines;
};

/*
 * msgview_summary - read the message at path; env (may be NULL) adds
 * its recipients that no header names to bcc, as Mailpit does.  0, or
 * -1 when the file cannot be read (errno).
 */
int	msgview_summary(const char *path, const struct envelope *env,
	    struct msgview_sum *out);

/* msgview_sum_clear - free the strings of s, zero it. */
void	msgview_sum_clear(struct msgview_sum *s);

/* msgview_addresses - a list as msgview_sum holds it into a JSON array of
 * {"Name", "Address"} (empty for NULL); msgview_address - its first one,
 * or {"Name": "", "Address": ""}. */
json_t	*msgview_addresses(const char *list);
json_t	*msgview_address(const char *list);

/*
 * msgview_message - the MIME side of Mailpit's Message object into o:
 * Date (the Date: header, else fallback), Text, HTML, Inline[],
 * Attachments[], ListUnsubscribe.  -1 when the file cannot be read.
 */
int	msgview_message(const char *path, const char *fallback_date,
	    json_t *o);

/* msgview_headers - {"Name": ["value", ...]} in the message's order,
 * values decoded; NULL when the file cannot be read. */
json_t	*msgview_headers(const char *path);

/*
 * msgview_part - the decoded bytes of part part_id ("1.2", as in
 * Inline[]/Attachments[]) into *data_out (free()), their length, the
 * part's Content-Type and file name (heap, "" when none).  -1 when the
 * file cannot be read or has no such part.
 */
int	msgview_part(const char *path, const char *part_id, char **data_out,
	    size_t *len_out, char **type_out, char **name_out);

/* msgview_text - the message's text (Text, else the HTML's text) as
 * heap UTF-8, for /view/ID.txt and free-word search; "" when none. */
char	*msgview_text(const char *path);

/* msgview_html - the HTML body (heap), "" when none; for /view/ID.html. */
char	*msgview_html(const char *path);

#endif
