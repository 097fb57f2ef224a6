/* SPDX-License-Identifier: ISC */
/*
 * check_smtp_reply - the reply table: every row well-formed (RFC 5321
 * §4.2 codes, RFC 3463 enhanced codes whose class matches the first
 * digit), formatting with and without an argument, every reply read as
 * a client reads it (a text after the codes, never "Error: " with the
 * reason missing), the EHLO list, and a full buffer left untouched.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "smtp_reply.h"

/* test_row - row _i: code range, enhanced code shape, text. */
START_TEST(test_row)
{
	const struct smtp_reply *r = smtp_reply_get((enum smtp_reply_id)_i);
	const char *pct;

	ck_assert_uint_ge(r->code, 200);
	ck_assert_uint_lt(r->code, 600);
	ck_assert_ptr_nonnull(r->text);
	ck_assert_uint_gt(strlen(r->text), 0);
	pct = strchr(r->text, '%');
	if (pct != NULL) {	/* at most one %s */
		ck_assert_int_eq(pct[1], 's');
		ck_assert_ptr_null(strchr(pct + 1, '%'));
	}
	if (r->enh == NULL) {	/* greeting, HELO, 354, 334 */
		ck_assert(_i == SMTP_R_GREETING || _i == SMTP_R_HELO ||
		    _i == SMTP_R_DATA_GO || _i == SMTP_R_AUTH_CHALLENGE);
		return;
	}
	ck_assert_int_eq(strlen(r->enh) >= 5, 1);
	ck_assert_int_eq(r->enh[0], '0' + (int)(r->code / 100));
	ck_assert_int_eq(r->enh[1], '.');
	ck_assert_uint_eq(smtp_reply_code((enum smtp_reply_id)_i), r->code);
}
END_TEST

struct fmt_case {
	enum smtp_reply_id	 id;
	const char		*arg;
	const char		*want;
};

static const struct fmt_case fmt_cases[] = {
	{ SMTP_R_GREETING, "mx.test", "220 mx.test ESMTP inlet\r\n" },
	{ SMTP_R_OK, NULL, "250 2.0.0 Ok\r\n" },
	{ SMTP_R_QUEUED, "ABC", "250 2.0.0 Ok: queued as ABC\r\n" },
	{ SMTP_R_SYNTAX_ARGS, NULL,
	    "501 5.5.4 Syntax error in parameters or arguments\r\n" },
	{ SMTP_R_SYNTAX_ARGS, "DATA", "501 5.5.4 Syntax: DATA\r\n" },
	{ SMTP_R_BAD_SEQ, NULL,
	    "503 5.5.1 Error: bad sequence of commands\r\n" },
	{ SMTP_R_BAD_SEQ, "need MAIL command",
	    "503 5.5.1 Error: need MAIL command\r\n" },
	{ SMTP_R_BAD_SEQ, "", "503 5.5.1 Error: \r\n" },
	{ SMTP_R_CHAOS_550, NULL, "550 5.7.1 Rejected (sink_chaos)\r\n" },
	{ SMTP_R_CHAOS_451, "Try again later",
	    "451 4.3.0 Try again later\r\n" },
	{ SMTP_R_CHAOS_421, NULL,
	    "421 4.3.0 Service not available (sink_chaos)\r\n" },
	{ SMTP_R_TIMEOUT, NULL, "421 4.4.2 Error: timeout exceeded\r\n" },
	{ SMTP_R_AUTH_CHALLENGE, NULL, "334 \r\n" },
	{ SMTP_R_PARAM_REPEATED, NULL,
	    "501 5.5.4 Parameter repeated with a different value\r\n" },
	{ SMTP_R_PARAM_TWICE, NULL,
	    "501 5.5.4 Parameter given more than once\r\n" },
	{ SMTP_R_NUL, NULL, "554 5.6.0 Message rejected: NUL octet in message; "
	    "binary data needs BDAT and BODY=BINARYMIME\r\n" },
	{ SMTP_R_DATA_GO, NULL, "354 End data with <CR><LF>.<CR><LF>\r\n" },
	{ SMTP_R_TOO_BIG, "ignored", "552 5.3.4 Message size exceeds fixed limit\r\n" },
	{ SMTP_R_TIMEOUT, "h", "421 4.4.2 h Error: timeout exceeded\r\n" },
	{ SMTP_R_STORAGE_FULL, NULL, "452 4.3.1 Insufficient system storage\r\n" },
	{ SMTP_R_LOCAL_ERROR, NULL, "451 4.3.0 Local error in processing\r\n" },
	{ SMTP_R_RELAY_DENIED, NULL, "550 5.7.1 Relay access denied\r\n" },
	{ SMTP_R_HOOK_REJECT, "Spam score 12 > 10",
	    "550 5.7.1 Spam score 12 > 10\r\n" },
	{ SMTP_R_HOOK_REJECT, NULL,
	    "550 5.7.1 Message rejected by content policy\r\n" },
	{ SMTP_R_HOOK_TEMPFAIL, NULL,
	    "451 4.7.1 Message content check failed, try again later\r\n" },
};

START_TEST(test_fmt)
{
	const struct fmt_case *c = &fmt_cases[_i];
	struct buf b;

	buf_init(&b, 1024);
	ck_assert_int_eq(smtp_reply_fmt(&b, c->id, c->arg), 0);
	ck_assert_str_eq(buf_cstr(&b), c->want);
	buf_release(&b);
}
END_TEST

/*
 * reply_text - the text of a formatted one-line reply: after "NNN " and,
 * when the row has one, the enhanced code and a SP; NULL if malformed.
 */
static const char *
reply_text(const char *line, const struct smtp_reply *r)
{
	size_t n = strlen(line);

	if (n < 6 || line[3] != ' ' || strcmp(line + n - 2, "\r\n") != 0 ||
	    memchr(line, '\r', n - 2) != NULL || memchr(line, '\n', n - 2))
		return NULL;
	line += 4;
	if (r->enh == NULL)
		return line;
	if (strncmp(line, r->enh, strlen(r->enh)) != 0 ||
	    line[strlen(r->enh)] != ' ')
		return NULL;
	return line + strlen(r->enh) + 1;
}

/*
 * test_audit - every reply as the client reads it, formatted with no
 * argument (what a caller without a reason sends) and with one: a
 * non-empty text after the codes that neither begins nor ends with a
 * blank, ends with no ":" waiting for a reason, and holds no "%".  The
 * 334 challenge alone may be empty (RFC 4954 §4).
 */
START_TEST(test_audit)
{
	const struct smtp_reply *r = smtp_reply_get((enum smtp_reply_id)_i);
	static const char *const args[] = { NULL, "x" };
	const char *text;
	struct buf b;
	size_t k, n;

	for (k = 0; k < 2; k++) {
		buf_init(&b, 1024);
		ck_assert_int_eq(smtp_reply_fmt(&b, (enum smtp_reply_id)_i,
		    args[k]), 0);
		text = reply_text(buf_cstr(&b), r);
		ck_assert_msg(text != NULL, "reply %d: \"%s\"", _i,
		    buf_cstr(&b));
		n = strlen(text) - 2;
		if (_i == SMTP_R_AUTH_CHALLENGE && n == 0) {
			buf_release(&b);
			continue;
		}
		ck_assert_msg(n > 0 && text[0] != ' ' && text[n - 1] != ' ' &&
		    text[n - 1] != ':' && strchr(text, '%') == NULL,
		    "reply %d, arg %s: \"%s\"", _i, args[k] != NULL ?
		    args[k] : "NULL", buf_cstr(&b));
		buf_release(&b);
	}
}
END_TEST

/*
 * The exceptions to the error budget's rule (below), each with why: the
 * rule is that a 500-504 or 555 reply (syntax, sequence, not
 * implemented, bad parameter) spends the budget, and no other does.
 */
static const struct {
	enum smtp_reply_id	 id;
	bool			 counts;
} budget_exceptions[] = {
	/* "*" ends an AUTH exchange on the client's own wish (RFC 4954
	 * §4); the failed-login throttle counts AUTH, not the budget */
	{ SMTP_R_AUTH_CANCELLED, false },
	/* DATA after every RCPT was refused (RFC 2920 §3.1): a sequence
	 * error, though RFC 5321 gives it 554 */
	{ SMTP_R_NO_VALID_RCPT, true },
};

/*
 * test_budget - reply _i's flag column: every 500-504 and 555 reply
 * counts against max_errors, no 2xx, 3xx or 4xx does, nor any other 5xx
 * (policy refusals), but for budget_exceptions.
 */
START_TEST(test_budget)
{
	enum smtp_reply_id id = (enum smtp_reply_id)_i;
	unsigned code = smtp_reply_code(id);
	bool want = (code >= 500 && code <= 504) || code == 555;
	size_t k;

	for (k = 0; k < sizeof(budget_exceptions) /
	    sizeof(budget_exceptions[0]); k++)
		if (budget_exceptions[k].id == id)
			want = budget_exceptions[k].counts;
	if (code < 400)
		ck_assert_msg(!want, "reply %d: a %u is never an error", _i,
		    code);
	ck_assert_msg(smtp_reply_is_error(id) == want,
	    "reply %d (%u %s): counts %d, want %d", _i, code,
	    smtp_reply_get(id)->enh != NULL ? smtp_reply_get(id)->enh : "-",
	    smtp_reply_is_error(id), want);
}
END_TEST

/* test_chaos - smtp_reply_chaos finds the sink_chaos row by its code,
 * and only those. */
START_TEST(test_chaos)
{
	static const unsigned codes[] = { 421, 450, 451, 452, 454, 535, 550,
	    552, 553, 554 };
	enum smtp_reply_id id;
	size_t k;

	for (k = 0; k < sizeof(codes) / sizeof(codes[0]); k++) {
		ck_assert_int_eq(smtp_reply_chaos(codes[k], &id), 0);
		ck_assert_uint_eq(smtp_reply_code(id), codes[k]);
		ck_assert(smtp_reply_get(id)->flags & SMTP_REPLY_F_CHAOS);
		ck_assert(!smtp_reply_is_error(id));
	}
	ck_assert_int_eq(smtp_reply_chaos(250, &id), -1);
	ck_assert_int_eq(smtp_reply_chaos(500, &id), -1);
	ck_assert_int_eq(smtp_reply_chaos(0, &id), -1);
}
END_TEST

START_TEST(test_full_buffer)
{
	struct buf b;

	buf_init(&b, 20);
	ck_assert_int_eq(buf_adds(&b, "x"), 0);
	ck_assert_int_eq(smtp_reply_fmt(&b, SMTP_R_LOCAL_ERROR, NULL), -1);
	ck_assert_str_eq(buf_cstr(&b), "x");
	/* formatted into the spare room, then refused: "x" as it was */
	ck_assert_int_eq(buf_addf(&b, "%s", "0123456789abcdefghij"), -1);
	ck_assert_str_eq(buf_cstr(&b), "x");
	ck_assert_int_eq(smtp_reply_ehlo_fmt(&b, "h", "c", NULL, 0), 0);
	ck_assert_str_eq(buf_cstr(&b), "x250 h greets c\r\n");
	buf_release(&b);
}
END_TEST

START_TEST(test_ehlo)
{
	static const char *const kw[] = { "PIPELINING", "SIZE 10", "8BITMIME" };
	struct buf b;

	buf_init(&b, 1024);
	ck_assert_int_eq(smtp_reply_ehlo_fmt(&b, "mx.test", "c.test", kw, 3),
	    0);
	ck_assert_str_eq(buf_cstr(&b), "250-mx.test greets c.test\r\n"
	    "250-PIPELINING\r\n250-SIZE 10\r\n250 8BITMIME\r\n");
	buf_release(&b);
}
END_TEST

/* test_ehlo_long - a 500-octet client name still gives a first line of
 * at most 512 octets (RFC 5321 §4.5.3.1.5). */
START_TEST(test_ehlo_long)
{
	char host[256], helo[501];
	struct buf b;

	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	memset(helo, 'c', sizeof(helo) - 1);
	helo[sizeof(helo) - 1] = '\0';
	buf_init(&b, 4096);
	ck_assert_int_eq(smtp_reply_ehlo_fmt(&b, host, helo, NULL, 0), 0);
	ck_assert_uint_le(strlen(buf_cstr(&b)), 512);
	buf_release(&b);
}
END_TEST

static Suite *
reply_suite(void)
{
	Suite *s = suite_create("smtp_reply");
	TCase *tc = tcase_create("table");

	tcase_add_loop_test(tc, test_row, 0, SMTP_R_COUNT);
	tcase_add_loop_test(tc, test_audit, 0, SMTP_R_COUNT);
	tcase_add_loop_test(tc, test_budget, 0, SMTP_R_COUNT);
	tcase_add_loop_test(tc, test_fmt, 0,
	    (int)(sizeof(fmt_cases) / sizeof(fmt_cases[0])));
	tcase_add_test(tc, test_full_buffer);
	tcase_add_test(tc, test_chaos);
	tcase_add_test(tc, test_ehlo);
	tcase_add_test(tc, test_ehlo_long);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(reply_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
