/* SPDX-License-Identifier: ISC */
/*
 * check_dsn - the RFC 3464 report text (compared with a golden copy),
 * RET=FULL against headers only, the status codes taken from replies,
 * the delay warning (compared with a golden copy: Action: delayed, a
 * 4.X.X Status, Will-Retry-Until, the header only), and the rules of
 * when a report is due (never for <>, as NOTIFY says).
 * Links only libcore.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "dsn.h"

static const struct {
	const char	*sender;
	unsigned	 notify;
	bool		 want;		/* a failure is reported */
	bool		 want_delay;	/* a delay is reported */
} wanted[] = {
	{ "a@x.example", 0, true, true },	/* not given: FAILURE,DELAY */
	{ "a@x.example", 2, true, false },	/* FAILURE */
	{ "a@x.example", 4, false, true },	/* DELAY */
	{ "a@x.example", 2 | 4, true, true },
	{ "a@x.example", 1 | 2 | 4, true, true },
	{ "a@x.example", 1, false, false },	/* SUCCESS */
	{ "a@x.example", 1 | 4, false, true },	/* SUCCESS,DELAY */
	{ "a@x.example", 1 | 2, true, false },
	{ "a@x.example", 8, false, false },	/* NEVER */
	{ "", 0, false, false },		/* a bounce is never bounced */
	{ "", 2, false, false },
	{ "", 4, false, false },
	{ NULL, 0, false, false },
};

START_TEST(test_wanted)
{
	ck_assert(dsn_is_wanted(wanted[_i].sender, wanted[_i].notify) ==
	    wanted[_i].want);
	ck_assert(dsn_is_delay_wanted(wanted[_i].sender, wanted[_i].notify) ==
	    wanted[_i].want_delay);
}
END_TEST

static const struct {
	const char	*reply, *want;
} statuses[] = {
	{ "550 5.1.1 no such user", "5.1.1" },
	{ "450 4.2.0 later", "4.2.0" },
	{ "550 no code here", "5.0.0" },
	{ "552", "5.0.0" },
	{ "550 4.1.1 class mismatch", "5.0.0" },
	{ "5.6.7 needs SMTPUTF8", "5.6.7" },
	{ "4.4.7 gave up after queue_lifetime", "4.4.7" },
	{ "554 5.7.123 long detail", "5.7.123" },
	{ "connection refused", "5.0.0" },
};

START_TEST(test_status)
{
	char dst[16];

	ck_assert_str_eq(dsn_status(statuses[_i].reply, dst, sizeof(dst)),
	    statuses[_i].want);
}
END_TEST

static const char original[] =
    "From: a@x.example\nTo: b@y.example\nSubject: hi\n\nbody line\n";

static const char golden[] =
    "From: Mail Delivery System <MAILER-DAEMON@mail.x.example>\n"
    "To: <a@x.example>\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "Date: Thu, 04 Dec 2025 22:13:20 +0000\n"
    "Message-ID: <Q1.1764886400.dsn@mail.x.example>\n"
    "Auto-Submitted: auto-replied\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status;\n"
    "\tboundary=\"B0\"\n"
    "\n"
    "This is a MIME-encapsulated message.\n"
    "\n"
    "--B0\n"
    "Content-Description: Notification\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "This is the mail system at host mail.x.example.\n"
    "\n"
    "Your message could not be delivered to one or more of its\n"
    "recipients; the reasons are below, and the message's header is\n"
    "attached.\n"
    "\n"
    "<b@y.example>: 550 5.1.1 no such user\n"
    "<c@y.example>: 5.6.7 needs SMTPUTF8\n"
    "\n"
    "--B0\n"
    "Content-Description: Delivery report\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mail.x.example\n"
    "Original-Envelope-Id: E1\n"
    "Arrival-Date: Thu, 04 Dec 2025 21:50:00 +0000\n"
    "\n"
    "Original-Recipient: rfc822;B@y.example\n"
    "Final-Recipient: rfc822; b@y.example\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "Remote-MTA: dns; smtp.provider.example\n"
    "Diagnostic-Code: smtp; 550 5.1.1 no such user\n"
    "Last-Attempt-Date: Thu, 04 Dec 2025 22:00:00 +0000\n"
    "\n"
    "Final-Recipient: rfc822; c@y.example\n"
    "Action: failed\n"
    "Status: 5.6.7\n"
    "Remote-MTA: dns; smtp.provider.example\n"
    "Diagnostic-Code: x-inlet; 5.6.7 needs SMTPUTF8\n"
    "\n"
    "--B0\n"
    "Content-Description: Undelivered Message Headers\n"
    "Content-Type: text/rfc822-headers\n"
    "\n"
    "From: a@x.example\nTo: b@y.example\nSubject: hi\n"
    "\n"
    "--B0--\n";

static void
report(struct dsn_report *r, struct dsn_rcpt *rc)
{
	rc[0] = (struct dsn_rcpt){ "b@y.example", "rfc822;B@y.example",
	    "550 5.1.1 no such user", 1764885600 };
	rc[1] = (struct dsn_rcpt){ "c@y.example", NULL,
	    "5.6.7 needs SMTPUTF8", 0 };
	*r = (struct dsn_report){ .reporting_mta = "mail.x.example",
	    .remote_mta = "smtp.provider.example", .queue_id = "Q1",
	    .sender = "a@x.example", .envid = "E1", .arrival = 1764885600 - 600,
	    .now = 1764886400, .boundary = "B0", .rcpts = rc, .nrcpt = 2,
	    .original = original, .original_len = sizeof(original) - 1 };
}

START_TEST(test_golden)
{
	struct dsn_report r;
	struct dsn_rcpt rc[2];
	struct buf b;

	report(&r, rc);
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(dsn_fmt(&b, &r), 0);
	ck_assert_str_eq(buf_cstr(&b), golden);
	buf_release(&b);
}
END_TEST

START_TEST(test_full)
{
	struct dsn_report r;
	struct dsn_rcpt rc[2];
	struct buf b;

	report(&r, rc);
	r.full = true;
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(dsn_fmt(&b, &r), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b),
	    "Content-Type: message/rfc822\nContent-Transfer-Encoding: 8bit\n"
	    "\nFrom: a@x.example\nTo: b@y.example\nSubject: hi\n\n"
	    "body line\n\n--B0--\n"));
	/* too small a buffer: -1, never a cut report */
	buf_release(&b);
	buf_init(&b, 100);
	ck_assert_int_eq(dsn_fmt(&b, &r), -1);
	buf_release(&b);
}
END_TEST

START_TEST(test_utf8)
{
	struct dsn_report r;
	struct dsn_rcpt rc[2];
	struct buf b;
	const char *t;

	report(&r, rc);
	rc[1].addr = "j\xc3\xb6rg@y.example";
	r.utf8 = true;
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(dsn_fmt(&b, &r), 0);
	t = buf_cstr(&b);
	ck_assert_ptr_nonnull(strstr(t, "Content-Type: "
	    "message/global-delivery-status\n"));
	ck_assert_ptr_nonnull(strstr(t, "Content-Type: "
	    "message/global-headers\n"));
	ck_assert_ptr_nonnull(strstr(t, "Final-Recipient: rfc822; "
	    "b@y.example\n"));
	ck_assert_ptr_nonnull(strstr(t, "Final-Recipient: utf-8; "
	    "j\xc3\xb6rg@y.example\n"));
	buf_reset(&b);
	r.full = true;
	ck_assert_int_eq(dsn_fmt(&b, &r), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "Content-Type: "
	    "message/global\n"));
	buf_release(&b);
}
END_TEST

static const char golden_delayed[] =
    "From: Mail Delivery System <MAILER-DAEMON@mail.x.example>\n"
    "To: <a@x.example>\n"
    "Subject: Delayed Mail (still being retried)\n"
    "Date: Thu, 04 Dec 2025 22:13:20 +0000\n"
    "Message-ID: <Q1.1764886400.delay@mail.x.example>\n"
    "Auto-Submitted: auto-replied\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status;\n"
    "\tboundary=\"B0\"\n"
    "\n"
    "This is a MIME-encapsulated message.\n"
    "\n"
    "--B0\n"
    "Content-Description: Notification\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "This is the mail system at host mail.x.example.\n"
    "\n"
    "Your message has not been delivered yet to one or more of its\n"
    "recipients; the reasons are below.  It is still being retried\n"
    "until Tue, 09 Dec 2025 21:50:00 +0000, so you need not\n"
    "send it again.  The message's header is attached.\n"
    "\n"
    "<b@y.example>: 450 4.2.0 mailbox busy\n"
    "<c@y.example>: 4.4.1 connection refused\n"
    "\n"
    "--B0\n"
    "Content-Description: Delivery report\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mail.x.example\n"
    "Original-Envelope-Id: E1\n"
    "Arrival-Date: Thu, 04 Dec 2025 21:50:00 +0000\n"
    "\n"
    "Original-Recipient: rfc822;B@y.example\n"
    "Final-Recipient: rfc822; b@y.example\n"
    "Action: delayed\n"
    "Status: 4.2.0\n"
    "Diagnostic-Code: smtp; 450 4.2.0 mailbox busy\n"
    "Will-Retry-Until: Tue, 09 Dec 2025 21:50:00 +0000\n"
    "\n"
    "Final-Recipient: rfc822; c@y.example\n"
    "Action: delayed\n"
    "Status: 4.4.1\n"
    "Diagnostic-Code: x-inlet; 4.4.1 connection refused\n"
    "Will-Retry-Until: Tue, 09 Dec 2025 21:50:00 +0000\n"
    "\n"
    "--B0\n"
    "Content-Description: Delayed Message Headers\n"
    "Content-Type: text/rfc822-headers\n"
    "\n"
    "From: a@x.example\nTo: b@y.example\nSubject: hi\n"
    "\n"
    "--B0--\n";

START_TEST(test_delayed)
{
	struct dsn_report r;
	struct dsn_rcpt rc[2];
	struct buf b;

	report(&r, rc);
	rc[0].reply = "450 4.2.0 mailbox busy";
	rc[0].last_attempt = 0;
	rc[1].reply = "4.4.1 connection refused";
	r.remote_mta = NULL;
	r.delayed = true;
	r.retry_until = r.arrival + 5 * 86400;
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(dsn_fmt(&b, &r), 0);
	ck_assert_str_eq(buf_cstr(&b), golden_delayed);
	/* a reply of another class still makes a 4.X.X delay status */
	buf_reset(&b);
	rc[1].reply = "";
	ck_assert_int_eq(dsn_fmt(&b, &r), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "Final-Recipient: rfc822; "
	    "c@y.example\nAction: delayed\nStatus: 4.0.0\n"));
	buf_release(&b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dsn");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_wanted, 0,
	    (int)(sizeof(wanted) / sizeof(wanted[0])));
	tcase_add_loop_test(tc, test_status, 0,
	    (int)(sizeof(statuses) / sizeof(statuses[0])));
	tcase_add_test(tc, test_golden);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_delayed);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
