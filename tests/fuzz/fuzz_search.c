/* SPDX-License-Identifier: ISC */
/*
 * fuzz_search - libFuzzer target for the sink's search syntax.
 * The input's first octet picks a time-zone offset; its first line is
 * the query; the next lines are a message's From, To, Cc, Bcc,
 * Reply-To, Subject and Message-ID, and the rest is its body; the first
 * octet also sets the flags.  A query either parses or fails with a
 * message (and no search); what search_fmt() prints parses back to the
 * same text and matches the message alike; the body is fetched at most
 * once, and never when search_needs_text() says no.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "log.h"
#include "search.h"

#define FIELDS	7

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct body {
	const char	*text;
	int		 calls;
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_open("fuzz_search", true, LOG_LEVEL_ERR);
	return 0;
}

static const char *
body_text(void *ctx)
{
	struct body *b = ctx;

	b->calls++;
	return b->text;
}

/* split - the input into NUL-terminated lines: query, fields, body. */
static char *
split(const uint8_t *data, size_t size, char **query, char *fields[FIELDS],
    char **body)
{
	char *copy = malloc(size + 1), *p, *nl;
	int i;

	HARNESS_CHECK(copy != NULL);
	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	*query = p;
	for (i = -1; i < FIELDS; i++) {
		if (i >= 0)
			fields[i] = p;
		nl = strchr(p, '\n');
		if (nl == NULL) {
			p += strlen(p);
			continue;
		}
		*nl = '\0';
		p = nl + 1;
	}
	*body = p;
	return copy;
}

/* check_match - m against s; the body read at most once, and only when
 * the query may need it. */
static bool
check_match(const struct search *s, struct search_msg *m, struct body *b)
{
	bool r;

	b->calls = 0;
	r = search_match(s, m);
	HARNESS_CHECK(b->calls <= 1);
	if (!search_needs_text(s))
		HARNESS_CHECK(b->calls == 0);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long tzs[] = { 0, 3600, -5 * 3600 - 1800, 14 * 3600 };
	struct search *s = NULL, *again = NULL;
	struct search_msg m;
	struct body b;
	struct buf fmt, fmt2;
	char *copy, *query, *fields[FIELDS], *body;
	const char *err = NULL;
	uint64_t flags = harness_take_seed(&data, &size, 1);
	bool r;

	copy = split(data, size, &query, fields, &body);
	if (search_parse_tz(query, tzs[flags & 3], &s, &err) != 0) {
		HARNESS_CHECK(s == NULL && err != NULL && *err != '\0');
		free(copy);
		return 0;
	}
	HARNESS_CHECK(s != NULL);
	memset(&m, 0, sizeof(m));
	m.from = fields[0];
	m.to = fields[1];
	m.cc = (flags & 4) ? NULL : fields[2];
	m.bcc = fields[3];
	m.reply_to = fields[4];
	m.subject = fields[5];
	m.message_id = fields[6];
	m.read = flags & 8;
	m.has_attachment = flags & 16;
	m.has_inline = flags & 32;
	m.created = (time_t)(flags * 86400 * 400);
	m.size = flags * 1000;
	b.text = body;
	m.text = (flags & 64) ? NULL : body_text;
	m.ctx = &b;
	r = check_match(s, &m, &b);

	buf_init(&fmt, 64 * 1024);
	buf_init(&fmt2, 64 * 1024);
	search_fmt(s, &fmt);
	if (fmt.len <= SEARCH_QUERY_MAX) {
		if (search_parse(buf_cstr(&fmt), &again, &err) != 0)
			harness_fail("search_fmt output does not parse: %s\n"
			    "%s", err, buf_cstr(&fmt));
		search_fmt(again, &fmt2);
		if (strcmp(buf_cstr(&fmt), buf_cstr(&fmt2)) != 0)
			harness_fail("round trip differs:\n%s\n----\n%s",
			    buf_cstr(&fmt), buf_cstr(&fmt2));
		if (check_match(again, &m, &b) != r)
			harness_fail("round trip matches otherwise: %s",
			    buf_cstr(&fmt));
		search_free(&again);
	}
	buf_release(&fmt);
	buf_release(&fmt2);
	search_free(&s);
	HARNESS_CHECK(s == NULL);
	free(copy);
	return 0;
}
