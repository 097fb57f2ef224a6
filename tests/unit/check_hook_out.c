/* SPDX-License-Identifier: ISC */
/*
 * check_hook_out - a data_hook's output judged: header lines to prepend
 * (good ones kept with LF ends, every bad shape refused and the buffer
 * left as it was), the reject text made one safe bounded line, and the
 * verdict of each way a run can end.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hook_out.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* One output: the headers kept (want), or NULL and the reason. */
static const struct {
	const char	*out;
	const char	*want;
	const char	*why;
} hdr_cases[] = {
	{ "", "", NULL },
	{ "X-Spam: yes\n", "X-Spam: yes\n", NULL },
	{ "X-Spam: yes", "X-Spam: yes\n", NULL },
	{ "X-Spam: yes\r\n", "X-Spam: yes\n", NULL },
	{ "X-A: 1\r\nX-B: 2\n", "X-A: 1\nX-B: 2\n", NULL },
	{ "X-A: folded\n\tmore\n  and more\n",
	  "X-A: folded\n\tmore\n  and more\n", NULL },
	{ "X-Empty:\n", "X-Empty:\n", NULL },
	{ "X-Tab:\tv\n", "X-Tab:\tv\n", NULL },
	{ "X-Utf8: caf\xc3\xa9\n", "X-Utf8: caf\xc3\xa9\n", NULL },
	{ "X-A: 1\n\nbody\n", NULL, "empty line" },
	{ "\n", NULL, "empty line" },
	{ "X-A: 1\n \n", NULL, "blank line" },
	{ " folded first\n", NULL, "continuation before a field" },
	{ "nocolon\n", NULL, "no colon" },
	{ "no colon here\n", NULL, "bad field name" },
	{ ": no name\n", NULL, "empty field name" },
	{ "X A: space in name\n", NULL, "bad field name" },
	{ "X-\xc3\xa9: 8-bit name\n", NULL, "bad field name" },
	{ "X-A: bare\rcr\n", NULL, "control byte" },
	{ "X-A: del\x7f\n", NULL, "control byte" },
	{ "X-A: esc\x1b[0m\n", NULL, "control byte" },
};

START_TEST(t_headers)
{
	const char *out = hdr_cases[_i].out, *why = NULL;
	struct buf b;
	int rc;

	buf_init(&b, HOOK_OUT_MAX + 1);
	(void)buf_adds(&b, "Kept: before\n");
	rc = hook_out_headers(out, strlen(out), &b, &why);
	if (hdr_cases[_i].want != NULL) {
		ck_assert_int_eq(rc, 0);
		ck_assert_str_eq(buf_cstr(&b) + strlen("Kept: before\n"),
		    hdr_cases[_i].want);
	} else {
		ck_assert_int_eq(rc, -1);
		ck_assert_str_eq(why, hdr_cases[_i].why);
		ck_assert_str_eq(buf_cstr(&b), "Kept: before\n");
	}
	buf_release(&b);
}
END_TEST

/* A NUL in the output is refused (no C string would show it). */
START_TEST(t_headers_nul)
{
	static const char out[] = "X-A: nul\0x\n";
	const char *why = NULL;
	struct buf b;

	buf_init(&b, 100);
	ck_assert_int_eq(hook_out_headers(out, sizeof(out) - 1, &b, &why), -1);
	ck_assert_str_eq(why, "control byte");
	buf_release(&b);
}
END_TEST

/* A continuation line may follow a field only: not the kept lines. */
START_TEST(t_headers_first)
{
	const char *why = NULL;
	struct buf b;

	buf_init(&b, 100);
	ck_assert_int_eq(hook_out_headers(" x\n", 3, &b, &why), -1);
	ck_assert_str_eq(why, "continuation before a field");
	ck_assert_int_eq(hook_out_headers("A: 1\n b\n", 8, &b, &why), 0);
	buf_release(&b);
}
END_TEST

/* Output past the buffer's cap: refused, nothing kept. */
START_TEST(t_headers_cap)
{
	char line[64];
	const char *why = NULL;
	struct buf b;

	memset(line, 'v', sizeof(line));
	memcpy(line, "X-L: ", 5);
	buf_init(&b, 32);
	ck_assert_int_eq(hook_out_headers(line, sizeof(line), &b, &why), -1);
	ck_assert_str_eq(why, "too long");
	ck_assert_uint_eq(b.len, 0);
	buf_release(&b);
}
END_TEST

static const struct {
	const char	*out;
	const char	*want;	/* NULL: nothing left */
} text_cases[] = {
	{ "Spam detected\n", "Spam detected" },
	{ "Spam detected", "Spam detected" },
	{ "Spam\r\nsecond line\n", "Spam" },
	{ "first\nsecond\n", "first" },
	{ "  padded  \n", "padded" },
	{ "\t tabbed\n", "tabbed" },
	{ "", NULL },
	{ "\n", NULL },
	{ "   \nlater\n", NULL },
	{ "caf\xc3\xa9 \x1b[1m", "caf?? ?[1m" },
	{ "100% spam", "100% spam" },
};

START_TEST(t_text)
{
	char text[HOOK_OUT_TEXT_MAX + 1];
	const char *got;

	got = hook_out_text(text_cases[_i].out, strlen(text_cases[_i].out),
	    text);
	if (text_cases[_i].want == NULL)
		ck_assert_ptr_null(got);
	else
		ck_assert_str_eq(got, text_cases[_i].want);
}
END_TEST

/* A long line is cut at HOOK_OUT_TEXT_MAX. */
START_TEST(t_text_long)
{
	char out[HOOK_OUT_TEXT_MAX * 2], text[HOOK_OUT_TEXT_MAX + 1];

	memset(out, 'x', sizeof(out));
	ck_assert_ptr_nonnull(hook_out_text(out, sizeof(out), text));
	ck_assert_uint_eq(strlen(text), HOOK_OUT_TEXT_MAX);
}
END_TEST

static const struct {
	enum hook_out_end	 end;
	int			 code;
	const char		*out;
	enum hook_out_verdict	 want;
	int			 why;	/* a reason is given */
} verdict_cases[] = {
	{ HOOK_OUT_EXITED, 0, "", HOOK_OUT_ACCEPT, 0 },
	{ HOOK_OUT_EXITED, 0, "X-A: 1\n", HOOK_OUT_ACCEPT, 0 },
	{ HOOK_OUT_EXITED, 0, "not a header\n", HOOK_OUT_TEMPFAIL, 1 },
	{ HOOK_OUT_EXITED, 20, "spam\n", HOOK_OUT_REJECT, 0 },
	{ HOOK_OUT_EXITED, 20, "", HOOK_OUT_REJECT, 0 },
	{ HOOK_OUT_EXITED, 1, "", HOOK_OUT_TEMPFAIL, 0 },
	{ HOOK_OUT_EXITED, 19, "", HOOK_OUT_TEMPFAIL, 0 },
	{ HOOK_OUT_EXITED, 21, "", HOOK_OUT_TEMPFAIL, 0 },
	{ HOOK_OUT_EXITED, 75, "", HOOK_OUT_TEMPFAIL, 0 },
	{ HOOK_OUT_EXITED, 255, "", HOOK_OUT_TEMPFAIL, 0 },
	{ HOOK_OUT_SIGNALLED, 9, "", HOOK_OUT_TEMPFAIL, 0 },
	{ HOOK_OUT_SIGNALLED, 20, "X-A: 1\n", HOOK_OUT_TEMPFAIL, 0 },
	{ HOOK_OUT_TIMEOUT, 0, "X-A: 1\n", HOOK_OUT_TEMPFAIL, 0 },
	{ HOOK_OUT_OVERFLOW, 0, "X-A: 1\n", HOOK_OUT_TEMPFAIL, 0 },
	{ HOOK_OUT_NOSTART, 2, "", HOOK_OUT_TEMPFAIL, 0 },
};

START_TEST(t_verdict)
{
	const char *why = "unset";
	struct buf b;

	buf_init(&b, HOOK_OUT_MAX + 1);
	ck_assert_int_eq(hook_out_verdict(verdict_cases[_i].end,
	    verdict_cases[_i].code, verdict_cases[_i].out,
	    strlen(verdict_cases[_i].out), &b, &why), verdict_cases[_i].want);
	ck_assert_int_eq(why != NULL, verdict_cases[_i].why);
	if (verdict_cases[_i].want == HOOK_OUT_ACCEPT)
		ck_assert_str_eq(buf_cstr(&b), verdict_cases[_i].out);
	else
		ck_assert_uint_eq(b.len, 0);
	buf_release(&b);
}
END_TEST

static Suite *
hook_out_suite(void)
{
	Suite *s = suite_create("hook_out");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, t_headers, 0, (int)NELEM(hdr_cases));
	tcase_add_test(tc, t_headers_nul);
	tcase_add_test(tc, t_headers_first);
	tcase_add_test(tc, t_headers_cap);
	tcase_add_loop_test(tc, t_text, 0, (int)NELEM(text_cases));
	tcase_add_test(tc, t_text_long);
	tcase_add_loop_test(tc, t_verdict, 0, (int)NELEM(verdict_cases));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(hook_out_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
