/* SPDX-License-Identifier: ISC */
/*
 * check_throttle - the failed-login throttle as a table: sequences of
 * failures from addresses over time and the delay, ban or expiry each
 * step must give; and a table that stays bounded under many addresses.
 * Links only libcore.
 */
#include <stdio.h>
#include <stdlib.h>

#include <check.h>

#include "throttle.h"

#define LIMIT	5
#define BAN	3600

enum op {
	OP_FAIL,	/* a failure: want = delay (-1 = ban), fails = count */
	OP_BANNED,	/* is_banned: want = 1 or 0 */
	OP_END,
};

struct step {
	enum op		 op;
	const char	*addr;
	time_t		 at;
	int		 want;
	unsigned	 fails;
};

struct seq {
	const char	*name;
	struct step	 steps[16];
};

static const struct seq seqs[] = {
	{ "delay grows, then a ban", {
		{ OP_BANNED, "192.0.2.1", 100, 0, 0 },
		{ OP_FAIL, "192.0.2.1", 100, 1, 1 },
		{ OP_FAIL, "192.0.2.1", 101, 2, 2 },
		{ OP_FAIL, "192.0.2.1", 102, 3, 3 },
		{ OP_FAIL, "192.0.2.1", 103, 4, 4 },
		{ OP_BANNED, "192.0.2.1", 103, 0, 0 },
		{ OP_FAIL, "192.0.2.1", 104, -1, 5 },
		{ OP_BANNED, "192.0.2.1", 104, 1, 0 },
		{ OP_BANNED, "192.0.2.1", 104 + BAN - 1, 1, 0 },
		{ OP_BANNED, "192.0.2.1", 104 + BAN, 0, 0 },
		{ OP_FAIL, "192.0.2.1", 104 + BAN, 1, 1 },	/* forgotten */
		{ OP_END, NULL, 0, 0, 0 } } },
	{ "addresses are counted apart", {
		{ OP_FAIL, "192.0.2.1", 10, 1, 1 },
		{ OP_FAIL, "192.0.2.2", 10, 1, 1 },
		{ OP_FAIL, "2001:db8::1", 11, 1, 1 },
		{ OP_FAIL, "192.0.2.1", 12, 2, 2 },
		{ OP_FAIL, "192.0.2.2", 13, 2, 2 },
		{ OP_BANNED, "192.0.2.3", 13, 0, 0 },
		{ OP_END, NULL, 0, 0, 0 } } },
	{ "the window expires", {
		{ OP_FAIL, "192.0.2.9", 1000, 1, 1 },
		{ OP_FAIL, "192.0.2.9", 1000 + THROTTLE_WINDOW - 1, 2, 2 },
		{ OP_FAIL, "192.0.2.9", 1000 + THROTTLE_WINDOW, 1, 1 },
		{ OP_END, NULL, 0, 0, 0 } } },
	{ "the delay stops growing at its cap", {
		{ OP_FAIL, "198.51.100.7", 0, 1, 1 },
		{ OP_FAIL, "198.51.100.7", 0, 2, 2 },
		{ OP_FAIL, "198.51.100.7", 0, 3, 3 },
		{ OP_FAIL, "198.51.100.7", 0, 4, 4 },
		{ OP_FAIL, "198.51.100.7", 0, 5, 5 },
		{ OP_FAIL, "198.51.100.7", 0, 5, 6 },
		{ OP_FAIL, "198.51.100.7", 0, 5, 7 },
		{ OP_END, NULL, 0, 0, 0 } } },
};

/* limit per sequence: the cap sequence uses a higher one */
static unsigned
seq_limit(size_t i)
{
	return i == 3 ? 100 : LIMIT;
}

START_TEST(test_sequences)
{
	const struct seq *s = &seqs[_i];
	struct throttle *t = throttle_new(THROTTLE_MAX);
	const struct step *st;
	unsigned fails;
	int got;

	for (st = s->steps; st->op != OP_END; st++) {
		fails = 0;
		if (st->op == OP_FAIL) {
			got = throttle_fail(t, st->addr, st->at, seq_limit(
			    (size_t)_i), BAN, &fails);
			ck_assert_msg(got == st->want && fails == st->fails,
			    "%s: step %d: fail %s at %lld gave %d/%u, want "
			    "%d/%u", s->name, (int)(st - s->steps), st->addr,
			    (long long)st->at, got, fails, st->want,
			    st->fails);
		} else {
			got = throttle_is_banned(t, st->addr, st->at);
			ck_assert_msg(got == st->want, "%s: step %d: banned "
			    "%s at %lld gave %d", s->name,
			    (int)(st - s->steps), st->addr,
			    (long long)st->at, got);
		}
	}
	throttle_free(&t);
	ck_assert_ptr_null(t);
}
END_TEST

/* Many addresses: the table never grows past its size, and a full table
 * reuses the oldest entry rather than refusing new addresses. */
START_TEST(test_bounded)
{
	struct throttle *t = throttle_new(64);
	char addr[64];
	unsigned fails, i;

	for (i = 0; i < 10000; i++) {
		(void)snprintf(addr, sizeof(addr), "10.%u.%u.%u", i >> 16,
		    (i >> 8) & 255, i & 255);
		ck_assert_int_eq(throttle_fail(t, addr, (time_t)i, LIMIT, BAN,
		    &fails), 1);
		ck_assert_uint_le(throttle_size(t), 64);
	}
	ck_assert_uint_eq(throttle_size(t), 64);
	/* the newest address is still counted */
	ck_assert_int_eq(throttle_fail(t, addr, 9999, LIMIT, BAN, &fails), 2);
	throttle_free(&t);
}
END_TEST

/* Expired entries are reused: one address after another, each after the
 * window, never needs a second slot. */
START_TEST(test_expired_reused)
{
	struct throttle *t = throttle_new(THROTTLE_MAX);
	char addr[64];
	unsigned fails, i;

	for (i = 0; i < 100; i++) {
		(void)snprintf(addr, sizeof(addr), "192.0.2.%u", i);
		(void)throttle_fail(t, addr, (time_t)i * THROTTLE_WINDOW,
		    LIMIT, BAN, &fails);
	}
	ck_assert_uint_eq(throttle_size(t), 1);
	throttle_free(&t);
	throttle_free(&t);	/* NULL-safe */
}
END_TEST

static Suite *
throttle_suite(void)
{
	Suite *s = suite_create("throttle");
	TCase *tc = tcase_create("table");

	tcase_add_loop_test(tc, test_sequences, 0,
	    (int)(sizeof(seqs) / sizeof(seqs[0])));
	tcase_add_test(tc, test_bounded);
	tcase_add_test(tc, test_expired_reused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(throttle_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
