/* SPDX-License-Identifier: ISC */
/*
 * check_relay_state - inlet-relay's per-recipient record and schedule
 * with an injected clock and injected random numbers: the backoff
 * table, the transitions (sent, deferred, failed, expired, reported),
 * when the message is due and done, the text form read back (with the
 * delay warning's flag, and records older versions wrote without it),
 * and when the delay warning is due.  Links only libcore.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "relay_state.h"

static const struct relay_sched sched = { 300, 3600, 5 * 86400 };

static const struct {
	unsigned	 attempts;
	uint32_t	 rnd;
	unsigned	 want;
} delays[] = {
	{ 1, 0, 300 }, { 2, 0, 600 }, { 3, 0, 1200 }, { 4, 0, 2400 },
	{ 5, 0, 3600 }, { 6, 0, 3600 }, { 40, 0, 3600 },
	{ 1, 999, 359 }, { 5, 999, 4319 }, { 5, 500, 3960 },
	{ 1, 1000, 300 },		/* rnd is taken mod 1000 */
	{ 0, 0, 300 },
};

START_TEST(test_delay)
{
	ck_assert_uint_eq(relay_sched_delay(&sched, delays[_i].attempts,
	    delays[_i].rnd), delays[_i].want);
}
END_TEST

static const char *const addrs[] = { "a@x.example", "b@x.example", "c@x.example" };

START_TEST(test_transitions)
{
	struct relay_state st;
	time_t t0 = 1764800000;

	relay_state_init(&st, addrs, 3);
	ck_assert_int_eq(relay_state_next(&st), 0);
	ck_assert(relay_state_is_due(&st, 0, t0));
	relay_state_sent(&st, 0, t0, "250 2.0.0 ok");
	relay_state_defer(&st, 1, t0, &sched, 0, "450 4.2.0 later");
	relay_state_fail(&st, 2, t0, "550 5.1.1\r\nno");
	ck_assert_str_eq(st.r[2].reply, "550 5.1.1  no");
	ck_assert_int_eq(relay_state_next(&st), 0);	/* unreported */
	st.r[2].reported = true;
	ck_assert_int_eq(relay_state_next(&st), t0 + 300);
	ck_assert(!relay_state_is_due(&st, 1, t0 + 299));
	ck_assert(relay_state_is_due(&st, 1, t0 + 300));
	relay_state_defer(&st, 1, t0 + 300, &sched, 0, "451 again");
	ck_assert_uint_eq(st.r[1].attempts, 2);
	ck_assert_int_eq(relay_state_next(&st), t0 + 300 + 600);
	ck_assert(!relay_state_is_done(&st));
	/* not yet old: nothing expires */
	ck_assert_uint_eq(relay_state_expire(&st, t0, t0 + 86400, &sched), 0);
	ck_assert_uint_eq(relay_state_expire(&st, t0, t0 + 5 * 86400,
	    &sched), 1);
	ck_assert_int_eq(st.r[1].state, RELAY_R_FAILED);
	ck_assert_str_eq(st.r[1].reply,
	    "4.4.7 gave up after queue_lifetime; last: 451 again");
	ck_assert(!st.r[1].reported);
	ck_assert_int_eq(st.r[0].state, RELAY_R_SENT);	/* untouched */
	st.r[1].reported = true;
	ck_assert(relay_state_is_done(&st));
	relay_state_clear(&st);
}
END_TEST

START_TEST(test_text_roundtrip)
{
	struct relay_state st, back;
	struct buf b;
	const char *err = NULL;

	relay_state_init(&st, addrs, 3);
	relay_state_sent(&st, 0, 10, "250 ok");
	relay_state_defer(&st, 1, 20, &sched, 0, "450 4.2.0 later");
	relay_state_fail(&st, 2, 30, "");
	buf_init(&b, 1 << 16);
	relay_state_fmt(&b, &st);
	ck_assert_str_eq(buf_cstr(&b),
	    "<a@x.example> sent 0 10 no 250 ok\n"
	    "<b@x.example> deferred 1 320 no 450 4.2.0 later\n"
	    "<c@x.example> failed 0 30 no \n");
	relay_state_init(&back, addrs, 3);
	ck_assert_int_eq(relay_state_parse(&back, b.data, b.len, &err), 0);
	ck_assert_int_eq(back.r[1].state, RELAY_R_DEFERRED);
	ck_assert_uint_eq(back.r[1].attempts, 1);
	ck_assert_int_eq(back.r[1].when, 320);
	ck_assert_str_eq(back.r[1].reply, "450 4.2.0 later");
	ck_assert_str_eq(back.r[2].reply, "");
	buf_reset(&b);
	relay_state_fmt(&b, &back);
	ck_assert_str_eq(buf_cstr(&b),
	    "<a@x.example> sent 0 10 no 250 ok\n"
	    "<b@x.example> deferred 1 320 no 450 4.2.0 later\n"
	    "<c@x.example> failed 0 30 no \n");
	buf_release(&b);
	relay_state_clear(&st);
	relay_state_clear(&back);
}
END_TEST

static const char *bad_texts[] = {
	"<z@x.example> sent 0 10 no ok\n",	/* another address */
	"<a@x.example> lost 0 10 no ok\n",
	"<a@x.example> sent x 10 no ok\n",
	"<a@x.example> sent 0 -1 no ok\n",
	"<a@x.example> sent 0 10 maybe ok\n",
	"<a@x.example> sent 0 10\n",
	"a@x.example sent 0 10 no ok\n",
	("<a@x.example> sent 0 10 no\n<b@x.example> sent 0 10 no\n"
	    "<c@x.example> sent 0 10 no\n<d@x.example> sent 0 10 no\n"),
};

START_TEST(test_bad_text)
{
	struct relay_state st;
	const char *err = NULL;

	relay_state_init(&st, addrs, 3);
	ck_assert_int_eq(relay_state_parse(&st, bad_texts[_i],
	    strlen(bad_texts[_i]), &err), -1);
	ck_assert_ptr_nonnull(err);
	relay_state_clear(&st);
}
END_TEST

START_TEST(test_partial_text)
{
	struct relay_state st;
	const char *err = NULL;
	const char *t = "<a@x.example> sent 0 10 no 250 ok";

	/* a record without its last newline, and shorter than the list */
	relay_state_init(&st, addrs, 3);
	ck_assert_int_eq(relay_state_parse(&st, t, strlen(t), &err), 0);
	ck_assert_int_eq(st.r[0].state, RELAY_R_SENT);
	ck_assert_int_eq(st.r[1].state, RELAY_R_PENDING);
	relay_state_clear(&st);
}
END_TEST

START_TEST(test_warned_roundtrip)
{
	struct relay_state st, back;
	struct buf b;
	const char *err = NULL;

	relay_state_init(&st, addrs, 3);
	ck_assert_int_eq(st.warned, 0);
	relay_state_defer(&st, 1, 20, &sched, 0, "450 4.2.0 later");
	st.warned = 1764800000;
	buf_init(&b, 1 << 16);
	relay_state_fmt(&b, &st);
	ck_assert_str_eq(buf_cstr(&b),
	    "warned 1764800000\n"
	    "<a@x.example> pending 0 0 no \n"
	    "<b@x.example> deferred 1 320 no 450 4.2.0 later\n"
	    "<c@x.example> pending 0 0 no \n");
	relay_state_init(&back, addrs, 3);
	ck_assert_int_eq(relay_state_parse(&back, b.data, b.len, &err), 0);
	ck_assert_int_eq(back.warned, 1764800000);
	ck_assert_int_eq(back.r[1].state, RELAY_R_DEFERRED);
	ck_assert_int_eq(back.r[2].state, RELAY_R_PENDING);
	relay_state_clear(&back);
	ck_assert_int_eq(back.warned, 0);
	/* an error names the line it is on, the flag's line counted */
	relay_state_init(&back, addrs, 3);
	ck_assert_int_eq(relay_state_parse(&back, "warned 5\n<a@x.example> "
	    "lost 0 1 no\n", 35, &err), -1);
	ck_assert_str_eq(err, "line 2: bad recipient state");
	relay_state_clear(&back);
	buf_release(&b);
	relay_state_clear(&st);
}
END_TEST

START_TEST(test_old_record)
{
	struct relay_state st;
	const char *err = NULL;
	const char *t = "<a@x.example> sent 0 10 no 250 ok\n"
	    "<b@x.example> deferred 3 900 no 450 4.2.0 later\n"
	    "<c@x.example> failed 0 30 yes 550 5.1.1 no\n";

	/* written before the flag existed: read as not warned */
	relay_state_init(&st, addrs, 3);
	ck_assert_int_eq(relay_state_parse(&st, t, strlen(t), &err), 0);
	ck_assert_int_eq(st.warned, 0);
	ck_assert_int_eq(st.r[1].state, RELAY_R_DEFERRED);
	ck_assert_uint_eq(st.r[1].attempts, 3);
	ck_assert(st.r[2].reported);
	relay_state_clear(&st);
}
END_TEST

START_TEST(test_warn_at)
{
	struct relay_state st;
	time_t t0 = 1764800000;

	relay_state_init(&st, addrs, 3);
	/* nothing deferred: no warning, whatever the age */
	ck_assert_int_eq(relay_state_warn_at(&st, t0, 3600), -1);
	relay_state_sent(&st, 0, t0, "250 ok");
	relay_state_defer(&st, 1, t0 + 10, &sched, 0, "450 4.2.0 later");
	ck_assert_int_eq(relay_state_warn_at(&st, t0, 3600), t0 + 3600);
	ck_assert_int_eq(relay_state_warn_at(&st, t0, 0), -1);	/* off */
	st.warned = t0 + 3600;
	ck_assert_int_eq(relay_state_warn_at(&st, t0, 3600), -1);	/* once */
	st.warned = 0;
	relay_state_sent(&st, 1, t0 + 400, "250 ok");
	ck_assert_int_eq(relay_state_warn_at(&st, t0, 3600), -1);
	relay_state_fail(&st, 2, t0 + 400, "550 no");
	ck_assert_int_eq(relay_state_warn_at(&st, t0, 3600), -1);
	relay_state_clear(&st);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("relay_state");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_delay, 0,
	    (int)(sizeof(delays) / sizeof(delays[0])));
	tcase_add_test(tc, test_transitions);
	tcase_add_test(tc, test_text_roundtrip);
	tcase_add_loop_test(tc, test_bad_text, 0,
	    (int)(sizeof(bad_texts) / sizeof(bad_texts[0])));
	tcase_add_test(tc, test_partial_text);
	tcase_add_test(tc, test_warned_roundtrip);
	tcase_add_test(tc, test_old_record);
	tcase_add_test(tc, test_warn_at);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
