/* SPDX-License-Identifier: ISC */
/*
 * check_log - the one escaping function (log_clean) and the event line
 * it feeds (log_event_fmt): hostile client text (quotes, '=', spaces,
 * backslashes, control bytes, C1 controls, bad and good UTF-8, very long
 * values) always lands inside one quoted value, and a line never holds
 * half a field.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct clean_case {
	const char	*in;
	size_t		 n;	/* 0: strlen(in) */
	const char	*want;
};

static const struct clean_case clean_cases[] = {
	{ "alice@example.test", 0, "alice@example.test" },
	{ "x\" user=evil", 0, "x\\\" user=evil" },
	{ "a\\b", 0, "a\\\\b" },
	{ "a b=c", 0, "a b=c" },
	{ "cr\rlf\ntab\tnul", 0, "cr\\x0dlf\\x0atab\\x09nul" },
	{ "a\0b", 3, "a\\x00b" },
	{ "del\x7f", 0, "del\\x7f" },
	{ "\xc3\xa9t\xc3\xa9", 0, "\xc3\xa9t\xc3\xa9" },		/* été */
	{ "\xe2\x82\xac \xf0\x9f\x93\xa7", 0, "\xe2\x82\xac \xf0\x9f\x93\xa7" },
	{ "c1\xc2\x85", 0, "c1\\xc2\\x85" },			/* U+0085 NEL */
	{ "nbsp\xc2\xa0", 0, "nbsp\xc2\xa0" },			/* U+00A0 */
	{ "lone\xff", 0, "lone\\xff" },
	{ "overlong\xc0\xaf", 0, "overlong\\xc0\\xaf" },
	{ "surrogate\xed\xa0\x80", 0, "surrogate\\xed\\xa0\\x80" },
	{ "cut\xe2\x82", 0, "cut\\xe2\\x82" },
	{ "", 0, "" },
};

/* test_clean - table row _i. */
START_TEST(test_clean)
{
	const struct clean_case *c = &clean_cases[_i];
	char dst[256];

	ck_assert_str_eq(log_clean(dst, sizeof(dst), c->in,
	    c->n != 0 ? c->n : strlen(c->in)), c->want);
}
END_TEST

/* test_clean_truncates - "..." at a character boundary, never past. */
START_TEST(test_clean_truncates)
{
	char dst[12];

	ck_assert_str_eq(log_clean(dst, sizeof(dst), "abcdefghijklmnop", 16),
	    "abcdefgh...");
	ck_assert_str_eq(log_clean(dst, sizeof(dst), "abcdefg\xc3\xa9", 9),
	    "abcdefg...");		/* not half of the é */
	ck_assert_str_eq(log_clean(dst, sizeof(dst), "abcd\xc3\xa9\xc3\xa9"
	    "xyz", 11), "abcd\xc3\xa9\xc3\xa9...");
	ck_assert_str_eq(log_clean(dst, sizeof(dst), "\"\"\"\"\"\"", 6),
	    "\\\"\\\"\\\"\\\"...");
	ck_assert_str_eq(log_clean(dst, sizeof(dst), "\x01\x01\x01", 3),
	    "\\x01\\x01...");
	ck_assert_str_eq(log_clean(dst, 3, "abc", 3), "");
}
END_TEST

#define FMT(dst, sid, ev, ...)						\
	log_event_fmt((dst), sizeof(dst), (sid), "" ev,			\
	    (const struct log_field[]){ __VA_ARGS__,			\
	    (struct log_field){ .key = NULL, .type = LOG_T_END } })

/* test_event - every kind of field, and session=- outside a session. */
START_TEST(test_event)
{
	char line[LOG_LINE_MAX];

	(void)FMT(line, "0123456789ABCDEF", "event=queued",
	    LOG_TOK("id", "Q1"), LOG_ADDR("from", "\"x\\\" user=evil\"@a.test"),
	    LOG_U("nrcpt", 2), LOG_Q("user", "u\"=\\"), LOG_NONE,
	    LOG_I("bits", -1), LOG_SECS("delay", 3));
	ck_assert_str_eq(line, "session=0123456789ABCDEF event=queued id=Q1 "
	    "from=\"<\\\"x\\\\\\\" user=evil\\\"@a.test>\" nrcpt=2 "
	    "user=\"u\\\"=\\\\\" bits=-1 delay=3s");
	(void)FMT(line, NULL, "event=start", LOG_ADDR("from", ""),
	    LOG_Q("empty", NULL), LOG_Q("sni", "a b"));
	ck_assert_str_eq(line, "session=- event=start from=\"<>\" empty=\"\" "
	    "sni=\"a b\"");
}
END_TEST

/* test_token - a token that is not one is quoted like text. */
START_TEST(test_token)
{
	char line[256];

	(void)FMT(line, "evil user=x", "event=connect",
	    LOG_TOK("client", "::1"), LOG_TOK("mech", "PLAIN user=x"),
	    LOG_TOK("state", ""), LOG_TOK("verb", "a\"b"));
	ck_assert_str_eq(line, "session=- event=connect client=::1 "
	    "mech=\"PLAIN user=x\" state=\"\" verb=\"a\\\"b\"");
}
END_TEST

/* test_long_value - cut after LOG_VALUE_MAX bytes, quotes kept. */
START_TEST(test_long_value)
{
	char line[LOG_LINE_MAX], *big = malloc(LOG_VALUE_MAX * 3);
	size_t n;

	ck_assert_ptr_nonnull(big);
	memset(big, 'a', LOG_VALUE_MAX * 3 - 1);
	big[LOG_VALUE_MAX * 3 - 1] = '\0';
	big[LOG_VALUE_MAX - 1] = '\xc3';	/* é across the cut */
	big[LOG_VALUE_MAX] = '\xa9';
	n = FMT(line, NULL, "event=helo", LOG_Q("helo", big),
	    LOG_TOK("esmtp", "yes"));
	ck_assert_uint_eq(n, strlen(line));
	/* session=- event=helo helo=" + 1023 a's + ..." esmtp=yes */
	ck_assert_uint_eq(n, 27 + (LOG_VALUE_MAX - 1) + 4 + 10);
	ck_assert_int_eq(memcmp(line + n - 15, "a...\" esmtp=yes", 15), 0);
	free(big);
}
END_TEST

/* test_line_full - a field that does not fit is left out whole. */
START_TEST(test_line_full)
{
	char line[LOG_LINE_MAX], v[LOG_VALUE_MAX + 1];
	size_t n;

	memset(v, '\x01', LOG_VALUE_MAX);	/* 4 bytes each escaped */
	v[LOG_VALUE_MAX] = '\0';
	n = FMT(line, NULL, "event=reject", LOG_Q("a", v), LOG_Q("b", v),
	    LOG_TOK("c", "kept"));
	ck_assert_uint_eq(n, strlen(line));
	ck_assert_ptr_nonnull(strstr(line, " a=\""));
	ck_assert_ptr_null(strstr(line, " b="));
	ck_assert_ptr_nonnull(strstr(line, " c=kept truncated=yes"));
	ck_assert_uint_lt(n, 64 + LOG_VALUE_MAX * 4 + 64);
	{
		char small[64];

		n = FMT(small, "S", "event=x", LOG_Q("long", v));
		ck_assert_str_eq(small, "session=S event=x truncated=yes");
		ck_assert_uint_eq(n, strlen(small));
	}
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_clean, 0,
	    (int)(sizeof(clean_cases) / sizeof(clean_cases[0])));
	tcase_add_test(tc, test_clean_truncates);
	tcase_add_test(tc, test_event);
	tcase_add_test(tc, test_token);
	tcase_add_test(tc, test_long_value);
	tcase_add_test(tc, test_line_full);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
