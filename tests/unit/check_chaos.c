/* SPDX-License-Identifier: ISC */
/*
 * check_chaos - the sink's fault rules as tables: rule texts and what
 * they parse into (chaos_fmt) or the error they give; which rule fires
 * for which stage and address; the deterministic rate; Mailpit's
 * triggers; references.  Links only libcore.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "chaos.h"

struct parse_row {
	const char	*rule;
	const char	*want;	/* chaos_fmt() line, or NULL: an error */
	const char	*err;	/* a part of the error */
};

static const struct parse_row parse_rows[] = {
	{ "rcpt *@fail.test reply 550", "rcpt *@fail.test reply 550\n", NULL },
	{ "mail bad@* reply 451 Try  again later",
	    "mail bad@* reply 451 Try  again later\n", NULL },
	{ "data *@slow.test delay 5s", "data *@slow.test delay 5000ms\n",
	    NULL },
	{ "data * delay 250ms", "data * delay 250ms\n", NULL },
	{ "data * delay 5m", "data * delay 300000ms\n", NULL },
	{ "rcpt *@drop.test disconnect", "rcpt *@drop.test disconnect\n",
	    NULL },
	{ "auth * 30% reply 535", "auth * 30% reply 535\n", NULL },
	{ "mail <> 0% reply 421", "mail <> 0% reply 421\n", NULL },
	{ "mail <> 100% reply 421", "mail <> reply 421\n", NULL },
	{ "  rcpt\t?@x   reply   554  ", "rcpt ?@x reply 554\n", NULL },
	{ "", NULL, "missing stage" },
	{ "helo * reply 550", NULL, "unknown stage" },
	{ "rcpt", NULL, "pattern" },
	{ "rcpt *", NULL, "missing action" },
	{ "rcpt * bounce", NULL, "unknown action" },
	{ "rcpt * reply", NULL, "bad reply code" },
	{ "rcpt * reply 250", NULL, "bad reply code" },
	{ "rcpt * reply 599", NULL, "bad reply code" },
	{ "rcpt * reply 55x", NULL, "bad reply code" },
	{ "rcpt * reply 550 caf\xc3\xa9", NULL, "bad reply text" },
	{ "rcpt * delay", NULL, "bad delay" },
	{ "rcpt * delay 0s", NULL, "bad delay" },
	{ "rcpt * delay 6m", NULL, "bad delay" },
	{ "rcpt * delay 5", NULL, "bad delay" },
	{ "rcpt * delay 1h", NULL, "bad delay" },
	{ "rcpt * delay 99999999999ms", NULL, "bad delay" },
	{ "rcpt * delay 5s now", NULL, "extra words" },
	{ "rcpt * disconnect now", NULL, "extra words" },
	{ "rcpt * 101% reply 550", NULL, "bad rate" },
	{ "rcpt * 5x% reply 550", NULL, "bad rate" },
};

START_TEST(test_parse)
{
	const struct parse_row *r = &parse_rows[_i];
	struct chaos *c = chaos_new();
	const char *err = NULL;
	struct buf b;
	int rc;

	rc = chaos_add(c, r->rule, &err);
	if (r->want == NULL) {
		ck_assert_msg(rc == -1, "%s: parsed", r->rule);
		ck_assert_msg(err != NULL && strstr(err, r->err) != NULL,
		    "%s: error %s", r->rule, err ? err : "(none)");
		ck_assert_uint_eq(chaos_count(c), 0);
		ck_assert_ptr_nonnull(chaos_check_rule(r->rule));
		chaos_unref(&c);
		return;
	}
	ck_assert_msg(rc == 0, "%s: %s", r->rule, err);
	ck_assert_ptr_null(chaos_check_rule(r->rule));
	buf_init(&b, 4096);
	chaos_fmt(c, &b);
	ck_assert_str_eq(buf_cstr(&b), r->want);
	/* the text form reads back the same */
	chaos_unref(&c);
	c = chaos_new();
	b.data[b.len - 1] = '\0';
	ck_assert_int_eq(chaos_add(c, b.data, &err), 0);
	buf_reset(&b);
	chaos_fmt(c, &b);
	ck_assert_str_eq(buf_cstr(&b), r->want);
	buf_release(&b);
	chaos_unref(&c);
	ck_assert_ptr_null(c);
}
END_TEST

/* ---- matching -------------------------------------------------------- */

static const char *const rules[] = {
	"mail bad@* reply 451 Try later",
	"mail <> reply 421",
	"rcpt *@FAIL.test reply 550",
	"rcpt *@slow.test delay 2s",
	"rcpt *@drop.test disconnect",
	"rcpt user?@x.test reply 553",
	"rcpt *@fail.test reply 552",	/* never reached: the one above */
	"data *@reject.test reply 554",
	"auth alice reply 535",
};

struct match_row {
	enum chaos_stage stage;
	const char	*addrs[3];
	enum chaos_kind	 kind;
	unsigned	 code;	/* or delay ms */
	const char	*text;
};

static const struct match_row match_rows[] = {
	{ CHAOS_MAIL, { "bad@x.test" }, CHAOS_REPLY, 451, "Try later" },
	{ CHAOS_MAIL, { "BAD@Y.TEST" }, CHAOS_REPLY, 451, "Try later" },
	{ CHAOS_MAIL, { "notbad@x.test" }, CHAOS_NONE, 0, NULL },
	{ CHAOS_MAIL, { "" }, CHAOS_REPLY, 421, NULL },
	{ CHAOS_RCPT, { "" }, CHAOS_NONE, 0, NULL },	/* <> is mail's */
	{ CHAOS_RCPT, { "a@fail.test" }, CHAOS_REPLY, 550, NULL },
	{ CHAOS_RCPT, { "a@fail.test.org" }, CHAOS_NONE, 0, NULL },
	{ CHAOS_RCPT, { "a@slow.test" }, CHAOS_DELAY, 2000, NULL },
	{ CHAOS_RCPT, { "z@drop.test" }, CHAOS_DISCONNECT, 0, NULL },
	{ CHAOS_RCPT, { "user1@x.test" }, CHAOS_REPLY, 553, NULL },
	{ CHAOS_RCPT, { "user12@x.test" }, CHAOS_NONE, 0, NULL },
	{ CHAOS_RCPT, { "bad@x.test" }, CHAOS_NONE, 0, NULL },	/* mail's */
	{ CHAOS_DATA, { "a@b.test", "c@reject.test" }, CHAOS_REPLY, 554,
	    NULL },
	{ CHAOS_DATA, { "a@b.test", "c@d.test" }, CHAOS_NONE, 0, NULL },
	{ CHAOS_DATA, { "a@fail.test" }, CHAOS_NONE, 0, NULL },
	{ CHAOS_AUTH, { "alice" }, CHAOS_REPLY, 535, NULL },
	{ CHAOS_AUTH, { "alice@x.test" }, CHAOS_NONE, 0, NULL },
};

START_TEST(test_match)
{
	const struct match_row *r = &match_rows[_i];
	struct chaos *c = chaos_new();
	struct chaos_action a;
	const char *err;
	size_t i, n;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		ck_assert_int_eq(chaos_add(c, rules[i], &err), 0);
	for (n = 0; n < 3 && r->addrs[n] != NULL; n++)
		continue;
	ck_assert(chaos_match(c, r->stage, r->addrs, n, &a) ==
	    (r->kind != CHAOS_NONE));
	ck_assert_int_eq(a.kind, r->kind);
	if (r->kind == CHAOS_REPLY) {
		ck_assert_uint_eq(a.code, r->code);
		ck_assert_uint_eq(smtp_reply_code(a.reply), r->code);
		if (r->text == NULL)
			ck_assert_ptr_null(a.text);
		else
			ck_assert_str_eq(a.text, r->text);
	}
	if (r->kind == CHAOS_DELAY)
		ck_assert_uint_eq(a.delay_ms, r->code);
	chaos_unref(&c);
}
END_TEST

/* A rate fires on exactly that many of every 100 attempts, the first
 * one included; attempts count only where the pattern matched. */
START_TEST(test_rate)
{
	static const unsigned rates[] = { 0, 1, 10, 30, 33, 50, 99, 100 };
	struct chaos *c;
	struct chaos_action a;
	const char *err, *to = "x@rate.test", *other = "y@other.test";
	char rule[64];
	unsigned rate = rates[_i], fired, k;

	c = chaos_new();
	(void)snprintf(rule, sizeof(rule), "rcpt *@rate.test %u%% reply 451",
	    rate);
	ck_assert_int_eq(chaos_add(c, rule, &err), 0);
	fired = 0;
	for (k = 0; k < 300; k++) {
		ck_assert(!chaos_match(c, CHAOS_RCPT, &other, 1, &a));
		if (chaos_match(c, CHAOS_RCPT, &to, 1, &a))
			fired++;
		if (k == 0)
			ck_assert(chaos_match(c, CHAOS_RCPT, &to, 0, &a) ==
			    false);
		if (k % 100 == 99) {
			ck_assert_uint_eq(fired, rate);
			fired = 0;
		}
	}
	chaos_unref(&c);

	/* the first attempt fails whenever the rate is above 0 */
	c = chaos_new();
	ck_assert_int_eq(chaos_add(c, rule, &err), 0);
	ck_assert(chaos_match(c, CHAOS_RCPT, &to, 1, &a) == (rate > 0));
	chaos_unref(&c);
}
END_TEST

/* Mailpit's triggers map onto rules; setting one again replaces it. */
START_TEST(test_mailpit)
{
	struct chaos *c = chaos_new();
	const char *err, *from = "a@b.test";
	struct chaos_action a;
	struct buf b;
	int code, prob;

	ck_assert(!chaos_mailpit(c, CHAOS_TRIGGER_SENDER, &code, &prob));
	ck_assert_int_eq(code, 0);
	ck_assert_int_eq(chaos_add(c, "rcpt *@x reply 550", &err), 0);
	ck_assert_int_eq(chaos_add_mailpit(c, CHAOS_TRIGGER_SENDER, 451, 50,
	    &err), 0);
	ck_assert_int_eq(chaos_add_mailpit(c, CHAOS_TRIGGER_AUTH, 535, 100,
	    &err), 0);
	ck_assert_int_eq(chaos_add_mailpit(c, CHAOS_TRIGGER_SENDER, 450, 10,
	    &err), 0);
	ck_assert_int_eq(chaos_add_mailpit(c, CHAOS_TRIGGER_RECIPIENT, 399,
	    10, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "ErrorCode"));
	ck_assert_int_eq(chaos_add_mailpit(c, CHAOS_TRIGGER_RECIPIENT, 451,
	    101, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "Probability"));
	ck_assert_int_eq(chaos_add_mailpit(c, CHAOS_TRIGGER_RECIPIENT, 499,
	    10, &err), -1);		/* no reply row for it */
	ck_assert_ptr_nonnull(strstr(err, "bad reply code"));
	ck_assert_uint_eq(chaos_count(c), 3);
	ck_assert(chaos_mailpit(c, CHAOS_TRIGGER_SENDER, &code, &prob));
	ck_assert_int_eq(code, 450);
	ck_assert_int_eq(prob, 10);
	ck_assert(chaos_mailpit(c, CHAOS_TRIGGER_AUTH, &code, &prob));
	ck_assert_int_eq(code, 535);
	ck_assert_int_eq(prob, 100);
	ck_assert(!chaos_mailpit(c, CHAOS_TRIGGER_RECIPIENT, &code, &prob));
	buf_init(&b, 4096);
	chaos_fmt(c, &b);
	ck_assert_str_eq(buf_cstr(&b), "rcpt *@x reply 550\n"
	    "mail * 10% reply 450\nauth * reply 535\n");
	buf_release(&b);
	ck_assert(chaos_match(c, CHAOS_MAIL, &from, 1, &a));
	ck_assert_uint_eq(a.code, 450);
	chaos_unref(&c);
}
END_TEST

/* References: the set lives while one is held; the text of a fired
 * rule stays valid with it. */
START_TEST(test_refs)
{
	struct chaos *live = chaos_new(), *tx;
	struct chaos_action a;
	const char *err, *to = "x@y";

	ck_assert_int_eq(chaos_add(live, "rcpt * reply 550 held", &err), 0);
	tx = chaos_ref(live);
	ck_assert_ptr_eq(tx, live);
	chaos_unref(&live);		/* a PUT swapped the live set */
	ck_assert_ptr_null(live);
	ck_assert(chaos_match(tx, CHAOS_RCPT, &to, 1, &a));
	ck_assert_str_eq(a.text, "held");
	chaos_unref(&tx);
	chaos_unref(&tx);		/* NULL-safe */
	ck_assert_ptr_null(chaos_ref(NULL));
	ck_assert(!chaos_match(NULL, CHAOS_RCPT, &to, 1, &a));
	ck_assert_int_eq(a.kind, CHAOS_NONE);
}
END_TEST

/* A set holds at most CHAOS_RULES_MAX rules. */
START_TEST(test_bounds)
{
	struct chaos *c = chaos_new();
	const char *err;
	char pat[CHAOS_PATTERN_MAX + 16], rule[CHAOS_PATTERN_MAX + 64];
	size_t i;

	for (i = 0; i < CHAOS_RULES_MAX; i++)
		ck_assert_int_eq(chaos_add(c, "rcpt * disconnect", &err), 0);
	ck_assert_int_eq(chaos_add(c, "rcpt * disconnect", &err), -1);
	ck_assert_str_eq(err, "too many rules");
	chaos_unref(&c);
	memset(pat, 'a', CHAOS_PATTERN_MAX + 1);
	pat[CHAOS_PATTERN_MAX + 1] = '\0';
	(void)snprintf(rule, sizeof(rule), "rcpt %s disconnect", pat);
	ck_assert_ptr_nonnull(chaos_check_rule(rule));
	pat[CHAOS_PATTERN_MAX] = '\0';
	(void)snprintf(rule, sizeof(rule), "rcpt %s disconnect", pat);
	ck_assert_ptr_null(chaos_check_rule(rule));
}
END_TEST

static Suite *
chaos_suite(void)
{
	Suite *s = suite_create("chaos");
	TCase *tc = tcase_create("chaos");

	tcase_add_loop_test(tc, test_parse, 0,
	    (int)(sizeof(parse_rows) / sizeof(parse_rows[0])));
	tcase_add_loop_test(tc, test_match, 0,
	    (int)(sizeof(match_rows) / sizeof(match_rows[0])));
	tcase_add_loop_test(tc, test_rate, 0, 8);
	tcase_add_test(tc, test_mailpit);
	tcase_add_test(tc, test_refs);
	tcase_add_test(tc, test_bounds);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(chaos_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
