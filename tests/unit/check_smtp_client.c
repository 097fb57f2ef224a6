/* SPDX-License-Identifier: ISC */
/*
 * check_smtp_client - the client side of SMTP as scripted dialogues: a
 * server's replies in, the client's events and commands out, each script
 * run with the replies fed whole and trickled one byte at a time.  Also
 * the body stuffer and the capability check.  Links only libcore.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "smtp_client.h"

/*
 * A step: S feed the server's bytes (events are collected), E the events
 * since the last E ("ready,data"), C the commands written since the last
 * C, T TLS done, A "MECH [initial]" AUTH, a an AUTH answer, M send the
 * message, D the body arg through the stuffer then data sent, B the
 * same as BDAT, R RSET, Q QUIT, V the verdicts ("S" sent, "D" deferred,
 * "F" failed, "-" none), F the failure's reply text.
 */
struct step {
	char		 op;
	const char	*arg;
};

struct script {
	const char	*name;
	int		 mode;	/* 0 smtps, 1 STARTTLS, 2 STARTTLS + AUTH */
	int		 body;	/* the message's BODY */
	struct step	 steps[32];
};

#define GREET		{ 'S', "220 relay.example ESMTP\r\n" }
#define EHLO_CMD	{ 'C', "EHLO client.example\r\n" }

static const struct script scripts[] = {
	{ "one at a time, verdicts per recipient", 0, 1, {
		GREET, EHLO_CMD,
		{ 'S', "250-relay.example\r\n250-8BITMIME\r\n250-SIZE 1000\r\n"
		    "250 DSN\r\n" },
		{ 'E', "ready" }, { 'M', NULL },
		{ 'C', "MAIL FROM:<a@x.example> BODY=8BITMIME SIZE=100 "
		    "RET=HDRS ENVID=E1\r\n" },
		{ 'S', "250 2.1.0 ok\r\n" },
		{ 'C', "RCPT TO:<b@y.example> NOTIFY=FAILURE\r\n" },
		{ 'S', "250 2.1.5 ok\r\n" },
		{ 'C', "RCPT TO:<c@y.example> ORCPT=rfc822;C@y.example\r\n" },
		{ 'S', "450 4.2.0 later\r\n" },
		{ 'C', "RCPT TO:<d@y.example> NOTIFY=NEVER\r\n" },
		{ 'S', "550 5.1.1 no such user\r\n" },
		{ 'C', "DATA\r\n" }, { 'E', "" },
		{ 'S', "354 go\r\n" }, { 'E', "data" },
		{ 'D', "Subject: x\n\n.hidden\nend" },
		{ 'C', "Subject: x\r\n\r\n..hidden\r\nend\r\n.\r\n" },
		{ 'S', "250 2.0.0 queued\r\n" }, { 'E', "done" },
		{ 'V', "SDF" },
		{ 'R', NULL }, { 'C', "RSET\r\n" },
		{ 'S', "250 ok\r\n" }, { 'E', "ready" },
		{ 'Q', NULL }, { 'C', "QUIT\r\n" },
		{ 'S', "221 bye\r\n" }, { 'E', "closed" },
		{ 0, NULL } } },
	{ "pipelined: one round trip", 0, 0, {
		GREET, EHLO_CMD,
		{ 'S', "250-relay.example\r\n250 PIPELINING\r\n" },
		{ 'E', "ready" }, { 'M', NULL },
		{ 'C', "MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\n"
		    "RCPT TO:<c@y.example>\r\nRCPT TO:<d@y.example>\r\n"
		    "DATA\r\n" },
		{ 'S', "250 ok\r\n250 ok\r\n450 4.2.0 later\r\n250 ok\r\n"
		    "354 go\r\n" },
		{ 'E', "data" }, { 'D', "x\n" }, { 'C', "x\r\n.\r\n" },
		{ 'S', "250 2.0.0 queued\r\n" }, { 'E', "done" },
		{ 'V', "SDS" }, { 0, NULL } } },
	{ "pipelined: MAIL refused decides for all", 0, 0, {
		GREET, EHLO_CMD,
		{ 'S', "250-relay.example\r\n250 PIPELINING\r\n" },
		{ 'E', "ready" }, { 'M', NULL },
		{ 'C', "MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\n"
		    "RCPT TO:<c@y.example>\r\nRCPT TO:<d@y.example>\r\n"
		    "DATA\r\n" },
		{ 'S', "553 5.7.1 sender refused\r\n503 5.5.1 no\r\n"
		    "503 5.5.1 no\r\n503 5.5.1 no\r\n554 5.5.1 no valid\r\n" },
		{ 'E', "done" }, { 'V', "FFF" }, { 0, NULL } } },
	{ "pipelined: nobody accepted but 354 anyway", 0, 0, {
		GREET, EHLO_CMD,
		{ 'S', "250-relay.example\r\n250 PIPELINING\r\n" },
		{ 'E', "ready" }, { 'M', NULL }, { 'C', NULL },
		{ 'S', "250 ok\r\n550 no\r\n450 later\r\n550 no\r\n354 go\r\n" },
		{ 'E', "" }, { 'C', ".\r\n" },
		{ 'S', "554 no data\r\n" }, { 'E', "done" },
		{ 'V', "FDF" }, { 0, NULL } } },
	{ "one at a time: all refused, no DATA", 0, 0, {
		GREET, EHLO_CMD, { 'S', "250 relay.example\r\n" },
		{ 'E', "ready" }, { 'M', NULL }, { 'C', NULL },
		{ 'S', "250 ok\r\n" }, { 'C', NULL }, { 'S', "550 no\r\n" },
		{ 'C', NULL }, { 'S', "550 no\r\n" }, { 'C', NULL },
		{ 'S', "451 4.3.0 later\r\n" }, { 'C', "" },
		{ 'E', "done" }, { 'V', "FFD" }, { 0, NULL } } },
	{ "a DATA-phase 552 fails the accepted ones", 0, 0, {
		GREET, EHLO_CMD,
		{ 'S', "250-relay.example\r\n250 PIPELINING\r\n" },
		{ 'E', "ready" }, { 'M', NULL }, { 'C', NULL },
		{ 'S', "250 ok\r\n250 ok\r\n450 later\r\n250 ok\r\n354 go\r\n" },
		{ 'D', "" }, { 'C', ".\r\n" },
		{ 'S', "552 5.3.4 too big\r\n" }, { 'E', "data,done" },
		{ 'V', "FDF" }, { 0, NULL } } },
	{ "STARTTLS then AUTH PLAIN", 2, 0, {
		GREET, EHLO_CMD,
		{ 'S', "250-relay.example\r\n250-STARTTLS\r\n"
		    "250 AUTH PLAIN\r\n" },
		{ 'C', "STARTTLS\r\n" }, { 'S', "220 2.0.0 go\r\n" },
		{ 'E', "tls" }, { 'T', NULL }, EHLO_CMD,
		{ 'S', "250-relay.example\r\n250 AUTH PLAIN LOGIN\r\n" },
		{ 'E', "auth" }, { 'A', "PLAIN AGEAcHc=" },
		{ 'C', "AUTH PLAIN AGEAcHc=\r\n" },
		{ 'S', "235 2.7.0 ok\r\n" }, { 'E', "ready" },
		{ 0, NULL } } },
	{ "AUTH LOGIN challenges, then 535", 2, 0, {
		GREET, EHLO_CMD,
		{ 'S', "250-relay.example\r\n250 STARTTLS\r\n" },
		{ 'C', "STARTTLS\r\n" }, { 'S', "220 go\r\n" }, { 'T', NULL },
		{ 'S', "250-relay.example\r\n250 AUTH LOGIN\r\n" },
		{ 'E', "tls,auth" }, { 'A', "LOGIN" },
		{ 'C', "EHLO client.example\r\nAUTH LOGIN\r\n" },
		{ 'S', "334 VXNlcm5hbWU6\r\n" }, { 'E', "auth-step" },
		{ 'a', "YQ==" }, { 'C', "YQ==\r\n" },
		{ 'S', "334 UGFzc3dvcmQ6\r\n" }, { 'a', "cHc=" },
		{ 'S', "535 5.7.8 bad credentials\r\n" },
		{ 'E', "auth-step,fail" },
		{ 'F', "535 5.7.8 bad credentials" }, { 0, NULL } } },
	{ "STARTTLS required but not offered", 1, 0, {
		GREET, EHLO_CMD, { 'S', "250-relay.example\r\n250 SIZE\r\n" },
		{ 'E', "fail" }, { 'C', "" },
		{ 'F', "STARTTLS is required but not offered" },
		{ 0, NULL } } },
	{ "STARTTLS refused", 1, 0, {
		GREET, { 'S', "250-relay.example\r\n250 STARTTLS\r\n" },
		{ 'S', "454 4.7.0 no TLS now\r\n" }, { 'E', "fail" },
		{ 'F', "454 4.7.0 no TLS now" }, { 0, NULL } } },
	{ "AUTH wanted, not offered", 2, 0, {
		GREET, { 'S', "250-relay.example\r\n250 STARTTLS\r\n" },
		{ 'S', "220 go\r\n" },
		{ 'T', NULL }, { 'S', "250 relay.example\r\n" },
		{ 'E', "tls,fail" },
		{ 'F', "AUTH is configured but not offered" }, { 0, NULL } } },
	{ "421 greeting", 0, 0, {
		{ 'S', "421 4.3.2 busy\r\n" }, { 'E', "fail" }, { 'C', "" },
		{ 'F', "421 4.3.2 busy" }, { 0, NULL } } },
	{ "554 greeting, multi-line", 0, 0, {
		{ 'S', "554-no\r\n554 go away\r\n" }, { 'E', "fail" },
		{ 'F', "554 no go away" }, { 0, NULL } } },
	{ "421 in the middle of RCPTs", 0, 0, {
		GREET, { 'S', "250-x\r\n250 PIPELINING\r\n" }, { 'M', NULL },
		{ 'S', "250 ok\r\n250 ok\r\n421 4.3.2 closing\r\n" },
		{ 'E', "ready,fail" }, { 'V', "---" },
		{ 'F', "421 4.3.2 closing" }, { 0, NULL } } },
	{ "not a reply", 0, 0, {
		{ 'S', "hello there\r\n" }, { 'E', "fail" },
		{ 'F', "a malformed reply" }, { 0, NULL } } },
	{ "a continuation with another code", 0, 0, {
		{ 'S', "220-one\r\n250 two\r\n" }, { 'E', "fail" },
		{ 0, NULL } } },
	{ "a reply nobody asked for", 0, 0, {
		GREET, { 'S', "250 relay.example\r\n" },
		{ 'S', "250 extra\r\n" }, { 'E', "ready,fail" },
		{ 0, NULL } } },
	{ "a too long reply line", 0, 0, {
		{ 'S', "220 " "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "\r\n" },
		{ 'E', "fail" }, { 0, NULL } } },
	{ "BINARYMIME goes by BDAT", 0, 2, {
		GREET, EHLO_CMD,
		{ 'S', "250-relay.example\r\n250-CHUNKING\r\n"
		    "250-BINARYMIME\r\n250 PIPELINING\r\n" },
		{ 'E', "ready" }, { 'M', NULL },
		{ 'C', "MAIL FROM:<a@x.example> BODY=BINARYMIME\r\n"
		    "RCPT TO:<b@y.example>\r\nRCPT TO:<c@y.example>\r\n"
		    "RCPT TO:<d@y.example>\r\n" },
		{ 'S', "250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n" },
		{ 'E', "data" }, { 'B', ".a\n" },
		{ 'C', "BDAT 4 LAST\r\n.a\r\n" },
		{ 'S', "250 2.0.0 queued\r\n" }, { 'E', "done" },
		{ 'V', "SSS" }, { 0, NULL } } },
	{ "bare LF replies are read", 0, 0, {
		{ 'S', "220 hi\n" }, EHLO_CMD, { 'S', "250-x\n250 DSN\n" },
		{ 'E', "ready" }, { 0, NULL } } },
};

/* The message every script sends. */
static struct smtp_client_rcpt fixture_rcpts[3];
static struct smtp_client_msg fixture;

static void
fixture_make(int body)
{
	memset(fixture_rcpts, 0, sizeof(fixture_rcpts));
	fixture_rcpts[0].addr = "b@y.example";
	fixture_rcpts[0].notify = SMTP_CLIENT_NOTIFY_FAILURE;
	fixture_rcpts[1].addr = "c@y.example";
	fixture_rcpts[1].orcpt = "rfc822;C@y.example";
	fixture_rcpts[2].addr = "d@y.example";
	fixture_rcpts[2].notify = SMTP_CLIENT_NOTIFY_NEVER;
	memset(&fixture, 0, sizeof(fixture));
	fixture.sender = "a@x.example";
	fixture.body = (enum smtp_client_body)body;
	fixture.size = body == 1 ? 100 : 0;
	fixture.ret = body == 1 ? SMTP_CLIENT_RET_HDRS : SMTP_CLIENT_RET_NONE;
	fixture.envid = body == 1 ? "E1" : NULL;
	fixture.rcpts = fixture_rcpts;
	fixture.nrcpt = 3;
}

/* feed - the server's bytes, whole or one at a time; events noted. */
static void
feed(struct smtp_client *c, const char *s, bool trickle, char *events,
    size_t evlen)
{
	size_t len = strlen(s), off = 0, step, used;

	while (off < len) {
		step = trickle ? 1 : len - off;
		while (step > 0) {
			enum smtp_client_event ev = smtp_client_feed(c,
			    s + off, step, &used);

			ck_assert_uint_le(used, step);
			off += used;
			step -= used;
			if (ev == SMTP_CLIENT_MORE) {
				ck_assert_uint_eq(step, 0);
				continue;
			}
			if (events[0] != '\0')
				(void)strncat(events, ",", evlen - strlen(events) - 1);
			(void)strncat(events, smtp_client_event_name(ev),
			    evlen - strlen(events) - 1);
			if (ev == SMTP_CLIENT_FAIL)
				return;
		}
	}
}

/* body - the stuffer's output for s into c->out (as the edge sends it). */
static void
body(struct smtp_client *c, const char *s, bool dots, bool trickle)
{
	struct smtp_client_stuffer st;
	char out[256];
	size_t i, n, len = strlen(s);

	smtp_client_stuff_init(&st, dots);
	if (!dots) {
		struct smtp_client_stuffer pre;
		size_t total = 0;

		smtp_client_stuff_init(&pre, false);
		total = smtp_client_stuff(&pre, s, len, out);
		total += smtp_client_stuff_end(&pre, out + total);
		smtp_client_bdat_len(c, total);
	}
	for (i = 0; i < len; i += n) {
		n = trickle ? 1 : len;
		ck_assert_int_eq(buf_add(&c->out, out,
		    smtp_client_stuff(&st, s + i, n, out)), 0);
	}
	ck_assert_int_eq(buf_add(&c->out, out, smtp_client_stuff_end(&st,
	    out)), 0);
	smtp_client_data_sent(c);
}

static void
verdicts(const char *want)
{
	size_t i;

	for (i = 0; i < fixture.nrcpt; i++) {
		char v = "-SDF"[fixture_rcpts[i].verdict];

		ck_assert_msg(v == want[i], "recipient %zu: %c, want %c (%s)",
		    i, v, want[i], fixture_rcpts[i].reply);
	}
}

static void
run_script(const struct script *sc, bool trickle)
{
	struct smtp_client c;
	char events[256] = "", mech[64], *sp;
	const struct step *s;

	fixture_make(sc->body);
	smtp_client_init(&c, "client.example", sc->mode == 0, true,
	    sc->mode == 2);
	for (s = sc->steps; s->op != 0; s++) {
		switch (s->op) {
		case 'S':
			feed(&c, s->arg, trickle, events, sizeof(events));
			break;
		case 'E':
			ck_assert_str_eq(events, s->arg);
			events[0] = '\0';
			break;
		case 'C':
			if (s->arg != NULL)
				ck_assert_str_eq(buf_cstr(&c.out), s->arg);
			buf_reset(&c.out);
			break;
		case 'T':
			smtp_client_tls_done(&c);
			break;
		case 'A':
			(void)snprintf(mech, sizeof(mech), "%s", s->arg);
			sp = strchr(mech, ' ');
			if (sp != NULL)
				*sp++ = '\0';
			smtp_client_auth(&c, mech, sp);
			break;
		case 'a':
			smtp_client_auth_step(&c, s->arg);
			break;
		case 'M':
			smtp_client_send(&c, &fixture);
			break;
		case 'D':
		case 'B':
			body(&c, s->arg, s->op == 'D', trickle);
			break;
		case 'R':
			smtp_client_rset(&c);
			break;
		case 'Q':
			smtp_client_quit(&c);
			break;
		case 'V':
			verdicts(s->arg);
			break;
		case 'F':
			ck_assert_str_eq(c.fail_reply, s->arg);
			break;
		default:
			ck_abort_msg("bad step %c", s->op);
		}
	}
	smtp_client_release(&c);
}

START_TEST(test_script_whole)
{
	run_script(&scripts[_i], false);
}
END_TEST

START_TEST(test_script_trickled)
{
	run_script(&scripts[_i], true);
}
END_TEST

/* ---- the stuffer --------------------------------------------------- */
static const struct {
	const char	*in, *data, *bdat;
} stuff_cases[] = {
	{ "", ".\r\n", "" },
	{ "a\n", "a\r\n.\r\n", "a\r\n" },
	{ "a", "a\r\n.\r\n", "a\r\n" },
	{ ".\n", "..\r\n.\r\n", ".\r\n" },
	{ "a\n.\n..b\n", "a\r\n..\r\n...b\r\n.\r\n", "a\r\n.\r\n..b\r\n" },
	{ "a\r\n.b\r\n", "a\r\n..b\r\n.\r\n", "a\r\n.b\r\n" },
	{ "x.y\n", "x.y\r\n.\r\n", "x.y\r\n" },
	{ "a\r", "a\r\n.\r\n", "a\r\n" },
	{ "a\rb\n", "a\rb\r\n.\r\n", "a\rb\r\n" },
	{ "\n.\n", "\r\n..\r\n.\r\n", "\r\n.\r\n" },
};

static void
stuff_one(const char *in, bool dots, bool trickle, const char *want)
{
	struct smtp_client_stuffer st;
	char out[256];
	size_t o = 0, i, len = strlen(in), n;

	smtp_client_stuff_init(&st, dots);
	for (i = 0; i < len; i += n) {
		n = trickle ? 1 : len;
		o += smtp_client_stuff(&st, in + i, n, out + o);
	}
	o += smtp_client_stuff_end(&st, out + o);
	out[o] = '\0';
	ck_assert_str_eq(out, want);
}

START_TEST(test_stuff)
{
	stuff_one(stuff_cases[_i].in, true, false, stuff_cases[_i].data);
	stuff_one(stuff_cases[_i].in, true, true, stuff_cases[_i].data);
	stuff_one(stuff_cases[_i].in, false, false, stuff_cases[_i].bdat);
	stuff_one(stuff_cases[_i].in, false, true, stuff_cases[_i].bdat);
}
END_TEST

/* ---- the capability check ----------------------------------------- */
static const struct {
	const char	*ehlo;
	int		 body;
	bool		 utf8;
	unsigned	 size;
	const char	*want;	/* the status the refusal starts with */
} check_cases[] = {
	{ "250 x\r\n", 0, false, 10, NULL },
	{ "250 x\r\n", 1, false, 10, "5.6.3" },
	{ "250-x\r\n250 8BITMIME\r\n", 1, false, 10, NULL },
	{ "250-x\r\n250 8BITMIME\r\n", 0, true, 10, "5.6.7" },
	{ "250-x\r\n250 SMTPUTF8\r\n", 0, true, 10, NULL },
	{ "250-x\r\n250 BINARYMIME\r\n", 2, false, 10, "5.6.3" },
	{ "250-x\r\n250-CHUNKING\r\n250 BINARYMIME\r\n", 2, false, 10, NULL },
	{ "250-x\r\n250 SIZE 5\r\n", 0, false, 10, "5.3.4" },
	{ "250-x\r\n250 SIZE 10\r\n", 0, false, 10, NULL },
	{ "250-x\r\n250 SIZE\r\n", 0, false, 10, NULL },
};

START_TEST(test_check)
{
	struct smtp_client c;
	struct smtp_client_msg m;
	const char *why;
	size_t used;
	bool temp;

	smtp_client_init(&c, "h", true, true, false);
	(void)smtp_client_feed(&c, "220 x\r\n", 7, &used);
	ck_assert_int_eq(smtp_client_feed(&c, check_cases[_i].ehlo,
	    strlen(check_cases[_i].ehlo), &used), SMTP_CLIENT_READY);
	memset(&m, 0, sizeof(m));
	m.body = (enum smtp_client_body)check_cases[_i].body;
	m.smtputf8 = check_cases[_i].utf8;
	m.size = check_cases[_i].size;
	why = smtp_client_check(&c, &m, &temp);
	if (check_cases[_i].want == NULL)
		ck_assert_ptr_null(why);
	else {
		ck_assert_ptr_nonnull(why);
		ck_assert_int_eq(strncmp(why, check_cases[_i].want, 5), 0);
		ck_assert(!temp);
	}
	smtp_client_release(&c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smtp_client");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_script_whole, 0,
	    (int)(sizeof(scripts) / sizeof(scripts[0])));
	tcase_add_loop_test(tc, test_script_trickled, 0,
	    (int)(sizeof(scripts) / sizeof(scripts[0])));
	tcase_add_loop_test(tc, test_stuff, 0,
	    (int)(sizeof(stuff_cases) / sizeof(stuff_cases[0])));
	tcase_add_loop_test(tc, test_check, 0,
	    (int)(sizeof(check_cases) / sizeof(check_cases[0])));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
