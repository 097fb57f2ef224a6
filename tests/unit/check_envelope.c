/* SPDX-License-Identifier: ISC */
/*
 * check_envelope - the envelope record (envelope.h) as tables: records
 * that parse, with what they mean, and print back the same (new keys,
 * recipient parameters, quoted local parts, UTF-8); records written by
 * the inletd before the new keys, with their defaults; bad records,
 * each with the error naming its line; the bounds (ENVID 100, ORCPT 500,
 * line length, recipient count, text size); every prefix of a record
 * parsing or failing cleanly; the builder from a transaction, with
 * its RFC 3461 parameters.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "envelope.h"
#include "session.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define HEAD \
	"queue-id 5190D824093C0001\narrival 2026-11-29T07:06:40Z\n" \
	"client 192.0.2.7\nuser alice@example.org\n" \
	"sender <alice@example.org>\n"
#define NEWKEYS "body 7BIT\nsmtputf8 no\nsize 0\n"

/* Records in envelope_fmt()'s own form: they parse and print back. */
static const struct {
	const char	*text;
	const char	*sender;
	enum envelope_body body;
	bool		 smtputf8;
	uint64_t	 size;
	enum envelope_ret ret;
	const char	*envid;		/* NULL: none */
	size_t		 nrcpt;
	const char	*addr0;
	unsigned	 notify0;
	const char	*orcpt0;	/* NULL: none */
} good[] = {
	{ HEAD "body 8BITMIME\nsmtputf8 yes\nsize 1234\nret HDRS\n"
	  "envid QQ+2B123\nrecipient <x@remote.example> "
	  "notify=SUCCESS,FAILURE orcpt=rfc822;x@remote.example\n"
	  "recipient <y@remote.example>\n", "alice@example.org",
	  ENVELOPE_BODY_8BITMIME, true, 1234, ENVELOPE_RET_HDRS, "QQ+2B123",
	  2, "x@remote.example", ENVELOPE_NOTIFY_SUCCESS |
	  ENVELOPE_NOTIFY_FAILURE, "rfc822;x@remote.example" },
	{ HEAD "body BINARYMIME\nsmtputf8 no\nsize 18446744073709551615\n"
	  "ret FULL\nrecipient <a@b.example> notify=NEVER\n",
	  "alice@example.org", ENVELOPE_BODY_BINARYMIME, false,
	  UINT64_MAX, ENVELOPE_RET_FULL, NULL, 1, "a@b.example",
	  ENVELOPE_NOTIFY_NEVER, NULL },
	{ "queue-id Q\narrival 2026-01-01T00:00:00Z\nclient ::1\nuser -\n"
	  "sender <>\n" NEWKEYS "recipient <\"a b>c\"@b.example> "
	  "notify=SUCCESS,FAILURE,DELAY\n", "", ENVELOPE_BODY_7BIT, false,
	  0, ENVELOPE_RET_NONE, NULL, 1, "\"a b>c\"@b.example",
	  7, NULL },
	{ HEAD NEWKEYS "recipient <d\xc3\xa9j\xc3\xa0@b\xc3\xa9.example> "
	  "orcpt=utf-8;d\\x{E9}j\\x{E0}@b\\x{E9}.example\n",
	  "alice@example.org", ENVELOPE_BODY_7BIT, false, 0,
	  ENVELOPE_RET_NONE, NULL, 1, "d\xc3\xa9j\xc3\xa0@b\xc3\xa9.example",
	  0, "utf-8;d\\x{E9}j\\x{E0}@b\\x{E9}.example" },
	{ HEAD NEWKEYS "recipient <z@[192.0.2.1]> notify=DELAY\n",
	  "alice@example.org", ENVELOPE_BODY_7BIT, false, 0,
	  ENVELOPE_RET_NONE, NULL, 1, "z@[192.0.2.1]",
	  ENVELOPE_NOTIFY_DELAY, NULL },
};

/* good: parse, check the fields, print back the same text. */
START_TEST(t_good)
{
	struct envelope e;
	struct buf b;
	const char *err = NULL;

	ck_assert_msg(envelope_parse(&e, good[_i].text,
	    strlen(good[_i].text), &err) == 0, "%s", err);
	ck_assert_str_eq(e.sender, good[_i].sender);
	ck_assert_int_eq(e.body, good[_i].body);
	ck_assert_int_eq(e.smtputf8, good[_i].smtputf8);
	ck_assert_uint_eq(e.size, good[_i].size);
	ck_assert_int_eq(e.ret, good[_i].ret);
	if (good[_i].envid == NULL)
		ck_assert_ptr_null(e.envid);
	else
		ck_assert_str_eq(e.envid, good[_i].envid);
	ck_assert_uint_eq(e.nrcpt, good[_i].nrcpt);
	ck_assert_str_eq(e.rcpts[0].addr, good[_i].addr0);
	ck_assert_uint_eq(e.rcpts[0].notify, good[_i].notify0);
	if (good[_i].orcpt0 == NULL)
		ck_assert_ptr_null(e.rcpts[0].orcpt);
	else
		ck_assert_str_eq(e.rcpts[0].orcpt, good[_i].orcpt0);
	buf_init(&b, 1 << 20);
	envelope_fmt(&b, &e);
	ck_assert_str_eq(buf_cstr(&b), good[_i].text);
	buf_release(&b);
	envelope_clear(&e);
	ck_assert_ptr_null(e.rcpts);
}
END_TEST

/*
 * Records an older inletd wrote (route_envelope, before body, smtputf8,
 * size, ret, envid and the recipient parameters), and ones with keys a
 * later one may add: they read with the defaults.
 */
static const struct {
	const char	*text;
	const char	*user;	/* NULL: "-" */
	size_t		 nrcpt;
} old[] = {
	{ "queue-id Q1\narrival T\nclient 192.0.2.1\nuser -\n"
	  "sender <s@x.test>\nrecipient <x@other.test>\n"
	  "recipient <y@other.test>\n", NULL, 2 },
	{ HEAD "recipient <x@other.test>", "alice@example.org", 1 },
	{ "queue-id Q1\narrival \nclient 192.0.2.1\nuser alice\n"
	  "sender <>\nrecipient <x@other.test>\n", "alice", 1 },
	{ HEAD "priority high\nrecipient <x@other.test> later=1 notify=DELAY"
	  " x=y\nx-later a b c\n",
	  "alice@example.org", 1 },
	{ "recipient <x@other.test>\nuser bob smith\nsender <s@x.test>\n"
	  "client unix\narrival T\nqueue-id Q1\n", "bob smith", 1 },
};

START_TEST(t_old)
{
	struct envelope e;
	const char *err = NULL;

	ck_assert_msg(envelope_parse(&e, old[_i].text, strlen(old[_i].text),
	    &err) == 0, "%s", err);
	if (old[_i].user == NULL)
		ck_assert_ptr_null(e.user);
	else
		ck_assert_str_eq(e.user, old[_i].user);
	ck_assert_uint_eq(e.nrcpt, old[_i].nrcpt);
	ck_assert_int_eq(e.body, ENVELOPE_BODY_7BIT);
	ck_assert(!e.smtputf8);
	ck_assert_uint_eq(e.size, 0);
	ck_assert_int_eq(e.ret, ENVELOPE_RET_NONE);
	ck_assert_ptr_null(e.envid);
	ck_assert_uint_eq(e.rcpts[0].notify, _i == 3 ?
	    ENVELOPE_NOTIFY_DELAY : 0);
	ck_assert_ptr_null(e.rcpts[0].orcpt);
	envelope_clear(&e);
}
END_TEST

#define R "recipient <x@y.example>\n"

/* Bad records and the error, which names the line (HEAD is 5 lines). */
static const struct {
	const char	*text;
	const char	*err;
} bad[] = {
	{ "", "missing queue-id" },
	{ HEAD, "missing recipient" },
	{ "queue-id Q\narrival T\nclient c\nuser -\n" R, "missing sender" },
	{ HEAD "size x\n" R, "line 6: bad size" },
	{ HEAD "size -1\n" R, "line 6: bad size" },
	{ HEAD "size 18446744073709551616\n" R, "line 6: bad size" },
	{ HEAD "size\n" R, "line 6: bad size" },
	{ HEAD "body 8bitmime\n" R, "line 6: bad body" },
	{ HEAD "body 8BITMIME\nbody 8BITMIME\n" R, "line 7: duplicate body" },
	{ HEAD "smtputf8 true\n" R, "line 6: bad smtputf8" },
	{ HEAD "ret NONE\n" R, "line 6: bad ret" },
	{ HEAD "ret \n" R, "line 6: bad ret" },
	{ HEAD "envid a b\n" R, "line 6: bad envid" },
	{ HEAD "envid a+2b\n" R, "line 6: bad envid" },
	{ HEAD "envid a=b\n" R, "line 6: bad envid" },
	{ HEAD "envid \n" R, "line 6: bad envid" },
	{ HEAD "\n" R, "line 6: no key" },
	{ HEAD " size 1\n" R, "line 6: no key" },
	{ HEAD "sender <b@c.example>\n" R, "line 6: duplicate sender" },
	{ "queue-id Q\nqueue-id Q\n", "line 2: duplicate queue-id" },
	{ "queue-id a/b c\n", "line 1: bad queue-id" },
	{ "client 192.0.2.1 x\n", "line 1: bad client" },
	{ "user a\tb\n", "line 1: bad user" },
	{ "sender s@x.test\n", "line 1: bad sender" },
	{ "sender <s@x.test> x\n", "line 1: bad sender" },
	{ "sender <s@@x.test>\n", "line 1: bad sender" },
	{ "sender <s@x.test\n", "line 1: bad sender" },
	{ HEAD "recipient <>\n", "line 6: bad recipient" },
	{ HEAD "recipient x@y.example\n", "line 6: bad recipient" },
	{ HEAD "recipient <x@y.example>  notify=DELAY\n",
	  "line 6: bad recipient" },
	{ HEAD "recipient <x@y.example> notify=DELAY \n",
	  "line 6: bad recipient" },
	{ HEAD "recipient <x@y.example> notify=NEVER,DELAY\n",
	  "line 6: bad recipient" },
	{ HEAD "recipient <x@y.example> notify=DELAY,DELAY\n",
	  "line 6: bad recipient" },
	{ HEAD "recipient <x@y.example> notify=\n", "line 6: bad recipient" },
	{ HEAD "recipient <x@y.example> notify=DELAY notify=DELAY\n",
	  "line 6: bad recipient" },
	{ HEAD "recipient <x@y.example> orcpt=rfc822\n",
	  "line 6: bad recipient" },
	{ HEAD "recipient <x@y.example> orcpt=;x@y.example\n",
	  "line 6: bad recipient" },
	{ HEAD "recipient <x@y.example> orcpt=rfc822;\n",
	  "line 6: bad recipient" },
	{ HEAD "recipient <x@y.example> orcpt=utf-8;+C3+A9@y.example\n",
	  "line 6: bad recipient" },
	{ HEAD "recipient <x@y.example> orcpt=rfc822;x=y\n",
	  "line 6: bad recipient" },
	{ HEAD "recipient <x@y.example> orcpt=rfc822;a orcpt=rfc822;a\n",
	  "line 6: bad recipient" },
	{ HEAD "recipient <x@y.example> Later=1\n", "line 6: bad recipient" },
	{ HEAD "recipient <x@y.example> later\n", "line 6: bad recipient" },
	{ HEAD "recipient <x@y.example> later=\n", "line 6: bad recipient" },
	{ HEAD "recipient <x@y.example> =1\n", "line 6: bad recipient" },
	{ HEAD "recipient <x@y.example>\r\n", "line 6: bad recipient" },
	{ HEAD "recipient <x\x01@y.example>\n", "line 6: bad recipient" },
	{ HEAD "recipient <d\xc3@y.example>\n", "line 6: bad recipient" },
};

START_TEST(t_bad)
{
	struct envelope e;
	const char *err = NULL;

	ck_assert_int_eq(envelope_parse(&e, bad[_i].text,
	    strlen(bad[_i].text), &err), -1);
	ck_assert_str_eq(err, bad[_i].err);
	envelope_clear(&e);
	/* err_out may be NULL */
	ck_assert_int_eq(envelope_parse(&e, bad[_i].text,
	    strlen(bad[_i].text), NULL), -1);
	envelope_clear(&e);
}
END_TEST

/* rec - HEAD with one extra line and a recipient, into b. */
static void
rec(struct buf *b, const char *line)
{
	buf_reset(b);
	(void)buf_addf(b, HEAD "%s\n" R, line);
}

/* parse_buf - envelope_parse() of b; the error, or NULL for success. */
static const char *
parse_buf(struct buf *b)
{
	struct envelope e;
	const char *err = NULL;
	int rc = envelope_parse(&e, b->data, b->len, &err);

	envelope_clear(&e);
	return rc == 0 ? NULL : err;
}

/* The RFC 3461 bounds (ENVID 100, ORCPT 500), a line, a NUL. */
START_TEST(t_bounds)
{
	char v[ENVELOPE_LINE_MAX + 2];
	struct buf b;

	buf_init(&b, 1 << 20);
	memset(v, 'a', sizeof(v));
	(void)snprintf(v, sizeof(v), "envid %.*s", ENVELOPE_ENVID_MAX,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	rec(&b, v);
	ck_assert_ptr_null(parse_buf(&b));
	(void)snprintf(v, sizeof(v), "envid %.*sa", ENVELOPE_ENVID_MAX,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	rec(&b, v);
	ck_assert_str_eq(parse_buf(&b), "line 6: bad envid");
	/* orcpt= of exactly 500, then 501 */
	buf_reset(&b);
	(void)buf_addf(&b, HEAD "recipient <x@y.example> orcpt=rfc822;");
	(void)buf_addf(&b, "%.*s\n", ENVELOPE_ORCPT_MAX - 7, v + 200);
	memset(v, 'b', sizeof(v));
	ck_assert_ptr_null(parse_buf(&b));
	buf_truncate(&b, b.len - 1);
	(void)buf_adds(&b, "b\n");
	ck_assert_str_eq(parse_buf(&b), "line 6: bad recipient");
	/* a line of ENVELOPE_LINE_MAX + 1 (an ignored key, even) */
	buf_reset(&b);
	(void)buf_addf(&b, HEAD "x-later %.*s\n" R,
	    ENVELOPE_LINE_MAX - 7, v);
	ck_assert_str_eq(parse_buf(&b), "line 6: too long");
	buf_truncate(&b, 0);
	(void)buf_addf(&b, HEAD "x-later %.*s\n" R,
	    ENVELOPE_LINE_MAX - 8, v);
	ck_assert_ptr_null(parse_buf(&b));
	/* a NUL inside a line */
	rec(&b, "x-later a");
	b.data[strlen(HEAD) + 8] = '\0';
	ck_assert_str_eq(parse_buf(&b), "line 6: NUL");
	buf_release(&b);
}
END_TEST

/* At most ENVELOPE_RCPT_MAX recipients, ENVELOPE_TEXT_MAX octets. */
START_TEST(t_counts)
{
	struct envelope e;
	struct buf b;
	const char *err = NULL;
	size_t i;

	buf_init(&b, 64u << 20);
	(void)buf_adds(&b, HEAD);
	for (i = 0; i < ENVELOPE_RCPT_MAX; i++)
		(void)buf_addf(&b, "recipient <r%zu@y.example>\n", i);
	ck_assert_int_eq(envelope_parse(&e, b.data, b.len, &err), 0);
	ck_assert_uint_eq(e.nrcpt, ENVELOPE_RCPT_MAX);
	ck_assert_str_eq(e.rcpts[ENVELOPE_RCPT_MAX - 1].addr,
	    "r99999@y.example");
	envelope_clear(&e);
	(void)buf_adds(&b, "recipient <one@more.example>\n");
	ck_assert_int_eq(envelope_parse(&e, b.data, b.len, &err), -1);
	ck_assert_str_eq(err, "line 100006: bad recipient");
	envelope_clear(&e);
	/* the text bound is judged before a byte is read */
	ck_assert_int_eq(envelope_parse(&e, b.data, ENVELOPE_TEXT_MAX + 1,
	    &err), -1);
	ck_assert_str_eq(err, "too long");
	envelope_clear(&e);
	buf_release(&b);
}
END_TEST

/* Every prefix of a full record parses or fails with an error, no leak. */
START_TEST(t_prefixes)
{
	const char *text = good[0].text, *err;
	struct envelope e;
	size_t n, len = strlen(text);
	int ok = 0;

	for (n = 0; n <= len; n++) {
		err = NULL;
		if (envelope_parse(&e, text, n, &err) == 0)
			ok++;
		else
			ck_assert_ptr_nonnull(err);
		envelope_clear(&e);
	}
	/* from the end of the first recipient's address on, it parses */
	ck_assert_int_gt(ok, 0);
}
END_TEST

/* A record made by hand, printed, parsed back: the same facts. */
START_TEST(t_round_trip)
{
	struct envelope e = { 0 }, back;
	struct buf b;
	const char *err = NULL;
	char notify[32];
	unsigned i;

	e.queue_id = strdup("Q1");
	e.arrival = strdup("2026-01-01T00:00:00Z");
	e.client = strdup("2001:db8::1");
	e.sender = strdup("s@x.example");
	e.envid = strdup("+2B");
	e.ret = ENVELOPE_RET_FULL;
	e.size = 42;
	for (i = 0; i <= 15; i++) {
		if ((i & ENVELOPE_NOTIFY_NEVER) != 0 && i != 8)
			continue;
		envelope_add_rcpt(&e, "r@y.example", i, i % 2 != 0 ?
		    "rfc822;r@y.example" : NULL);
	}
	buf_init(&b, 1 << 16);
	envelope_fmt(&b, &e);
	ck_assert_msg(envelope_parse(&back, b.data, b.len, &err) == 0, "%s",
	    err);
	ck_assert_uint_eq(back.nrcpt, e.nrcpt);
	for (i = 0; i < e.nrcpt; i++) {
		ck_assert_uint_eq(back.rcpts[i].notify, e.rcpts[i].notify);
		ck_assert_int_eq(back.rcpts[i].orcpt == NULL,
		    e.rcpts[i].orcpt == NULL);
	}
	ck_assert_ptr_null(back.user);
	ck_assert_str_eq(back.envid, "+2B");
	ck_assert_str_eq(envelope_notify_fmt(15 & ~8u, notify,
	    sizeof(notify)), "SUCCESS,FAILURE,DELAY");
	ck_assert_str_eq(envelope_notify_fmt(6, notify, sizeof(notify)),
	    "FAILURE,DELAY");
	ck_assert_str_eq(envelope_notify_fmt(5, notify, sizeof(notify)),
	    "SUCCESS,DELAY");
	ck_assert_str_eq(envelope_notify_fmt(0, notify, sizeof(notify)), "");
	envelope_clear(&back);
	envelope_clear(&e);
	buf_release(&b);
}
END_TEST

/* session_tx_envelope: the facts of a transaction, queued ones only. */
START_TEST(t_from_tx)
{
	struct session_tx tx;
	struct smtp_addr rcpts[3];
	struct route routes[3];
	char orcpt[] = "rfc822;y+2B1@o.test";
	struct session_rcpt_dsn dsn[3] = {
		{ SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY, NULL },
		{ SMTP_NOTIFY_NEVER, NULL },
		{ 0, orcpt },
	};
	struct envelope e;
	struct buf b;

	memset(&tx, 0, sizeof(tx));
	memset(rcpts, 0, sizeof(rcpts));
	memset(routes, 0, sizeof(routes));
	tx.dsn = dsn;
	tx.ret = SMTP_RET_HDRS;
	(void)snprintf(tx.envid, sizeof(tx.envid), "ID+2B1");
	(void)snprintf(tx.queue_id, sizeof(tx.queue_id), "ABC");
	(void)snprintf(tx.from_str, sizeof(tx.from_str), "s@x.test");
	tx.auth_user = "alice";
	tx.body = SMTP_BODY_8BITMIME;
	tx.rcpts = rcpts;
	tx.routes = routes;
	tx.nrcpt = 3;
	(void)snprintf(rcpts[0].local, sizeof(rcpts[0].local), "x");
	(void)snprintf(rcpts[0].domain, sizeof(rcpts[0].domain), "o.test");
	(void)snprintf(rcpts[1].local, sizeof(rcpts[1].local), "l");
	(void)snprintf(rcpts[1].domain, sizeof(rcpts[1].domain), "x.test");
	(void)snprintf(rcpts[2].local, sizeof(rcpts[2].local), "y");
	(void)snprintf(rcpts[2].domain, sizeof(rcpts[2].domain), "o.test");
	routes[0].kind = routes[2].kind = ROUTE_QUEUE;
	routes[1].kind = ROUTE_LOCAL;
	session_tx_envelope(&tx, "192.0.2.1", "T", 99, true, &e);
	buf_init(&b, 4096);
	envelope_fmt(&b, &e);
	ck_assert_str_eq(buf_cstr(&b), "queue-id ABC\narrival T\n"
	    "client 192.0.2.1\nuser alice\nsender <s@x.test>\n"
	    "body 8BITMIME\nsmtputf8 no\nsize 99\nret HDRS\nenvid ID+2B1\n"
	    "recipient <x@o.test> notify=FAILURE,DELAY\n"
	    "recipient <y@o.test> orcpt=rfc822;y+2B1@o.test\n");
	envelope_clear(&e);
	session_tx_envelope(&tx, "192.0.2.1", "T", 99, false, &e);
	ck_assert_uint_eq(e.nrcpt, 3);
	ck_assert_str_eq(e.rcpts[1].addr, "l@x.test");
	envelope_clear(&e);
	buf_release(&b);
}
END_TEST

static Suite *
envelope_suite(void)
{
	Suite *s = suite_create("envelope");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, t_good, 0, NELEM(good));
	tcase_add_loop_test(tc, t_old, 0, NELEM(old));
	tcase_add_loop_test(tc, t_bad, 0, NELEM(bad));
	tcase_add_test(tc, t_bounds);
	tcase_add_test(tc, t_counts);
	tcase_add_test(tc, t_prefixes);
	tcase_add_test(tc, t_round_trip);
	tcase_add_test(tc, t_from_tx);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(envelope_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
