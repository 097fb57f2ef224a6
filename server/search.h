/* SPDX-License-Identifier: ISC */
/*
 * search - Mailpit's search syntax for the sink: a query parsed once
 * into terms, then matched against one message's summary at a time.
 * Free words and "quoted phrases" (all must match), the prefixes to:
 * from: cc: bcc: reply-to: addressed: subject: message-id: tag:, the
 * filters is:read is:unread is:tagged has:attachment(s) has:inline(s),
 * before: after: (dates) and larger: smaller: (sizes); a term prefixed
 * with - or ! is excluded.  Matching is a substring match, case-
 * insensitive under Unicode full case folding (libunistring).  Core
 * module: pure, bounded, no I/O, no clock, no logging.
 */
#ifndef INLET_SEARCH_H
#define INLET_SEARCH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

#define SEARCH_QUERY_MAX	1024	/* bytes of a query */
#define SEARCH_TERMS_MAX	32	/* terms in a query */

struct search;

/*
 * The message a query is matched against, as the index holds it.  The
 * address fields are decoded "Name <addr>, ..." lists (NULL = none);
 * subject and message_id decoded (message_id without <>).  created is
 * the arrival time, size the stored octets.  text, when not NULL,
 * returns the body text (NUL-terminated UTF-8, owned by the caller); it
 * is called at most once per search_match(), and only when a free word
 * or phrase is not found in the header fields.
 */
struct search_msg {
	const char	*from, *to, *cc, *bcc, *reply_to;
	const char	*subject, *message_id;
	bool		 read, has_attachment, has_inline;
	time_t		 created;
	uint64_t	 size;
	const char	*(*text)(void *ctx);
	void		*ctx;
};

/*
 * search_parse - query into *out (search_free() it).  Dates without an
 * offset are UTC.  Returns 0, or -1 with *err_out set to a static
 * message fit for an HTTP 400 (query over SEARCH_QUERY_MAX bytes, over
 * SEARCH_TERMS_MAX terms, not UTF-8, a bad date or size); *out is then
 * NULL.  An empty query (or one of terms with no letter or digit, which
 * are skipped as Mailpit skips them) matches every message.
 */
int	search_parse(const char *query, struct search **out,
	    const char **err_out);

/*
 * search_parse_tz - search_parse(), with dates that carry no offset
 * taken as local time utc_offset seconds east of UTC (the edge turns
 * Mailpit's tz= parameter into it).
 */
int	search_parse_tz(const char *query, long utc_offset,
	    struct search **out, const char **err_out);

/* search_free - NULL-safe, NULLs *sp. */
void	search_free(struct search **sp);

/* search_match - whether m matches every term of s. */
bool	search_match(const struct search *s, const struct search_msg *m);

/* search_needs_text - whether some term (a free word or phrase) may need
 * the body text. */
bool	search_needs_text(const struct search *s);

/*
 * search_fmt - the parsed terms in a canonical form that parses back to
 * the same terms, separated by spaces: [-]"folded phrase" for free text,
 * [-]FIELD:"folded value" for a prefix, the is:/has: filters as such,
 * before:/after: as a UTC time, larger:/smaller: in octets.  For tests
 * and logs; appends to b (truncated at its cap).
 */
void	search_fmt(const struct search *s, struct buf *b);

#endif
