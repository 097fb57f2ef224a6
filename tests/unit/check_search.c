/* SPDX-License-Identifier: ISC */
/*
 * check_search - Mailpit's search syntax as tables: queries and the
 * terms they parse into (search_fmt) or the error they give; queries
 * against a few messages and whether each matches; that the body text
 * is fetched only when a free word needs it.  Links only libcore.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "search.h"

/* ---- parse rows ------------------------------------------------------ */

struct parse_row {
	const char	*query;
	const char	*want;	/* search_fmt() output, or NULL: an error */
	const char	*err;	/* a part of the error message */
};

static const struct parse_row parse_rows[] = {
	{ "", "", NULL },
	{ "   \t ", "", NULL },
	{ "hello", "\"hello\"", NULL },
	{ "Hello World", "\"hello\" \"world\"", NULL },
	{ "\"Hello World\"", "\"hello world\"", NULL },
	{ "-spam !ham", "-\"spam\" -\"ham\"", NULL },
	{ "-\"two words\"", "-\"two words\"", NULL },
	{ "- lone", "\"lone\"", NULL },	/* a lone - is skipped */
	{ "--- !!! \"\"", "", NULL },		/* no letter or digit */
	{ "TO:Alice@Example.ORG", "to:\"alice@example.org\"", NULL },
	{ "from:bob cc:c bcc:d reply-to:e addressed:f",
	    "from:\"bob\" cc:\"c\" bcc:\"d\" reply-to:\"e\" addressed:\"f\"",
	    NULL },
	{ "subject:\"Your order\"", "subject:\"your order\"", NULL },
	{ "message-id:abc@x", "message-id:\"abc@x\"", NULL },
	{ "tag:t is:tagged", "tag:\"t\" is:tagged", NULL },
	{ "to:", "", NULL },			/* empty value: ignored */
	{ "\"to:alice\"", "\"to:alice\"", NULL },	/* quoted: text */
	{ "is:read -is:unread IS:READ", "is:read -is:unread is:read", NULL },
	{ "has:attachment has:attachments has:inline has:inlines",
	    "has:attachment has:attachment has:inline has:inline", NULL },
	{ "is:starred", "\"is:starred\"", NULL },	/* as Mailpit */
	{ "http://x.test/a", "\"http://x.test/a\"", NULL },
	{ "after:2026-01-02", "after:2026-01-02T00:00:00Z", NULL },
	{ "before:2026/12/31", "before:2026-12-31T00:00:00Z", NULL },
	{ "after:2026-01-02T10:20", "after:2026-01-02T10:20:00Z", NULL },
	{ "after:\"2026-01-02 10:20:30\"", "after:2026-01-02T10:20:30Z",
	    NULL },
	{ "after:2026-01-02T10:20+02:00", "after:2026-01-02T08:20:00Z",
	    NULL },
	{ "after:2026-01-02T00:00-0130", "after:2026-01-02T01:30:00Z",
	    NULL },
	{ "-before:2024-02-29T23:59:59Z", "-before:2024-02-29T23:59:59Z",
	    NULL },
	{ "larger:10 smaller:2k", "larger:10 smaller:2048", NULL },
	{ "larger:5825421639680", "larger:5825421639680", NULL },
	{ "larger:1.5MB smaller:\"3 kb\" larger:1g",
	    "larger:1572864 smaller:3072 larger:1073741824", NULL },
	{ "subject:ÉTÉ", "subject:\"été\"", NULL },
	{ "STRASSE Straße", "\"strasse\" \"strasse\"", NULL },
	{ "\"unterminated phrase", "\"unterminated phrase\"", NULL },
	{ "after:yesterday", NULL, "bad date" },
	{ "before:2026-13-01", NULL, "bad date" },
	{ "before:0460-01-02", NULL, "bad date" },
	{ "after:2026-01-02T25:00", NULL, "bad date" },
	{ "after:2026-01-02+5", NULL, "bad date" },
	{ "larger:big", NULL, "bad size" },
	{ "smaller:0", NULL, "bad size" },
	{ "larger:5tb", NULL, "bad size" },
	{ "larger:99999999999999999999", NULL, "bad size" },
	{ "subject:\xff\xfe", NULL, "not UTF-8" },
};

START_TEST(test_parse)
{
	const struct parse_row *r = &parse_rows[_i];
	struct search *s = NULL;
	const char *err = NULL;
	struct buf b;
	int rc;

	rc = search_parse(r->query, &s, &err);
	if (r->want == NULL) {
		ck_assert_msg(rc == -1, "%s: parsed", r->query);
		ck_assert_ptr_null(s);
		ck_assert_msg(err != NULL && strstr(err, r->err) != NULL,
		    "%s: error %s", r->query, err ? err : "(none)");
		return;
	}
	ck_assert_msg(rc == 0, "%s: %s", r->query, err);
	buf_init(&b, 4096);
	search_fmt(s, &b);
	ck_assert_str_eq(buf_cstr(&b), r->want);
	buf_release(&b);
	search_free(&s);
	ck_assert_ptr_null(s);
	search_free(&s);	/* NULL-safe */
}
END_TEST

/* The bounds: 1024 bytes, 32 terms. */
START_TEST(test_bounds)
{
	char q[2048];
	struct search *s = NULL;
	const char *err = NULL;
	size_t i;

	memset(q, 'a', 1024);
	q[1024] = '\0';
	ck_assert_int_eq(search_parse(q, &s, &err), 0);
	search_free(&s);
	q[1024] = 'a';
	q[1025] = '\0';
	ck_assert_int_eq(search_parse(q, &s, &err), -1);
	ck_assert_str_eq(err, "query is too long");

	q[0] = '\0';
	for (i = 0; i < 32; i++)
		strcat(q, "w ");
	ck_assert_int_eq(search_parse(q, &s, &err), 0);
	search_free(&s);
	strcat(q, "x");
	ck_assert_int_eq(search_parse(q, &s, &err), -1);
	ck_assert_str_eq(err, "query has too many terms");
	ck_assert_ptr_null(s);
}
END_TEST

/* A date with a local offset: search_parse_tz. */
START_TEST(test_tz)
{
	struct search *s = NULL;
	const char *err = NULL;
	struct buf b;

	ck_assert_int_eq(search_parse_tz("after:2026-01-02 before:"
	    "2026-01-02T00:00Z", 3600, &s, &err), 0);
	buf_init(&b, 256);
	search_fmt(s, &b);
	ck_assert_str_eq(buf_cstr(&b), "after:2026-01-01T23:00:00Z "
	    "before:2026-01-02T00:00:00Z");
	buf_release(&b);
	search_free(&s);
}
END_TEST

/* ---- match rows ------------------------------------------------------ */

struct body {
	const char	*text;
	int		 calls;
};

static const char *
body_text(void *ctx)
{
	struct body *b = ctx;

	b->calls++;
	return b->text;
}

static struct body bodies[3];

/* Three messages: 0 plain, 1 read with attachments, 2 Unicode. */
static void
fixture(struct search_msg m[3])
{
	memset(m, 0, 3 * sizeof(*m));
	memset(bodies, 0, sizeof(bodies));	/* CK_FORK=no: one process */
	bodies[0].text = "Click the link to confirm your account.";
	bodies[1].text = "The invoice is attached.";
	bodies[2].text = "Grüße aus München";
	m[0] = (struct search_msg){ .from = "Shop <noreply@shop.test>",
	    .to = "Alice Smith <alice@example.org>",
	    .subject = "Confirm your account", .message_id = "abc.1@shop.test",
	    .created = 1767312000 /* 2026-01-02T00:00:00Z */, .size = 900,
	    .text = body_text, .ctx = &bodies[0] };
	m[1] = (struct search_msg){ .from = "Billing <billing@corp.test>",
	    .to = "bob@example.org, Carol <carol@example.org>",
	    .cc = "dave@example.org", .bcc = "eve@hidden.test",
	    .reply_to = "support@corp.test", .subject = "Invoice 42",
	    .message_id = "inv42@corp.test", .read = true,
	    .has_attachment = true, .has_inline = true,
	    .created = 1767398400 /* 2026-01-03 */, .size = 3 * 1024 * 1024,
	    .text = body_text, .ctx = &bodies[1] };
	m[2] = (struct search_msg){ .from = "JÖRG <joerg@müller.test>",
	    .to = "Zoë <zoe@example.org>", .subject = "ÉTÉ STRASSE",
	    .created = 1767484800 /* 2026-01-04 */, .size = 2048,
	    .text = body_text, .ctx = &bodies[2] };
}

struct match_row {
	const char	*query;
	const char	*want;	/* one '1' or '0' per message */
};

static const struct match_row match_rows[] = {
	{ "", "111" },
	{ "confirm", "100" },
	{ "CONFIRM ACCOUNT", "100" },
	{ "\"confirm your\"", "100" },
	{ "\"your confirm\"", "000" },
	{ "link", "100" },			/* in the body only */
	{ "invoice attached", "010" },
	{ "-invoice", "101" },
	{ "!invoice -confirm", "001" },
	{ "to:alice", "100" },
	{ "to:example.org", "111" },
	{ "to:carol", "010" },
	{ "to:\"alice smith\"", "100" },
	{ "-to:alice", "011" },
	{ "from:billing", "010" },
	{ "cc:dave", "010" },
	{ "bcc:eve", "010" },
	{ "reply-to:support", "010" },
	{ "addressed:eve", "010" },
	{ "addressed:noreply", "100" },
	{ "-addressed:example.org", "000" },
	{ "subject:invoice", "010" },
	{ "subject:\"invoice 42\"", "010" },
	{ "subject:link", "000" },		/* not in the subject */
	{ "message-id:INV42", "010" },
	{ "is:read", "010" },
	{ "is:unread", "101" },
	{ "-is:read", "101" },
	{ "has:attachment", "010" },
	{ "-has:attachments", "101" },
	{ "has:inline", "010" },
	{ "tag:x", "000" },
	{ "-tag:x", "111" },
	{ "is:tagged", "000" },
	{ "after:2026-01-03", "011" },
	{ "before:2026-01-03", "110" },
	{ "after:2026-01-02T12:00 before:2026-01-03T12:00", "010" },
	{ "-after:2026-01-03", "100" },
	{ "larger:1m", "010" },
	{ "smaller:1k", "100" },
	{ "-larger:2k", "101" },
	{ "larger:2k", "010" },			/* strictly larger */
	{ "subject:été", "001" },
	{ "subject:strasse", "001" },
	{ "from:jörg", "001" },
	{ "from:müller", "001" },
	{ "zoë", "001" },
	{ "ZOË", "001" },
	{ "grüsse", "001" },			/* ß folds to ss */
	{ "münchen", "001" },
	{ "to:example.org -is:read after:2026-01-01", "101" },
	{ "nothing-like-this", "000" },
};

START_TEST(test_match)
{
	const struct match_row *r = &match_rows[_i];
	struct search_msg m[3];
	struct search *s = NULL;
	const char *err = NULL;
	int i;

	fixture(m);
	ck_assert_msg(search_parse(r->query, &s, &err) == 0, "%s: %s",
	    r->query, err);
	for (i = 0; i < 3; i++)
		ck_assert_msg(search_match(s, &m[i]) == (r->want[i] == '1'),
		    "%s: message %d", r->query, i);
	search_free(&s);
}
END_TEST

/* The body is fetched only when a free word is not in the headers, at
 * most once per match, and a NULL text callback is an empty body. */
START_TEST(test_text_lazy)
{
	struct search_msg m[3];
	struct search *s = NULL;
	const char *err = NULL;

	fixture(m);
	ck_assert_int_eq(search_parse("to:alice subject:confirm", &s, &err), 0);
	ck_assert(!search_needs_text(s));
	ck_assert(search_match(s, &m[0]));
	ck_assert_int_eq(bodies[0].calls, 0);
	search_free(&s);

	ck_assert_int_eq(search_parse("account", &s, &err), 0);
	ck_assert(search_needs_text(s));
	ck_assert(search_match(s, &m[0]));	/* in the subject */
	ck_assert_int_eq(bodies[0].calls, 0);
	search_free(&s);

	ck_assert_int_eq(search_parse("link the -zzz", &s, &err), 0);
	ck_assert(search_match(s, &m[0]));
	ck_assert_int_eq(bodies[0].calls, 1);
	search_free(&s);

	/* a filter that fails first: the body is never read */
	bodies[1].calls = 0;
	ck_assert_int_eq(search_parse("invoice is:unread", &s, &err), 0);
	ck_assert(!search_match(s, &m[1]));
	ck_assert_int_eq(bodies[1].calls, 0);
	m[1].text = NULL;
	search_free(&s);
	ck_assert_int_eq(search_parse("attached", &s, &err), 0);
	ck_assert(!search_match(s, &m[1]));
	search_free(&s);
}
END_TEST

static Suite *
search_suite(void)
{
	Suite *s = suite_create("search");
	TCase *tc = tcase_create("search");

	tcase_add_loop_test(tc, test_parse, 0,
	    (int)(sizeof(parse_rows) / sizeof(parse_rows[0])));
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_tz);
	tcase_add_loop_test(tc, test_match, 0,
	    (int)(sizeof(match_rows) / sizeof(match_rows[0])));
	tcase_add_test(tc, test_text_lazy);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(search_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
