/* SPDX-License-Identifier: ISC */
/*
 * check_session_filter - the session's content-filter stages with a fake
 * filter op: where it stops (connect, HELO, MAIL, each RCPT, end of
 * message, aborts), what each verdict answers, that pipelined replies
 * stay in order while a stage waits, and that a connect refusal answers
 * every command but QUIT.  Every case fed whole and one byte at a time;
 * the verdicts come later, as the edge delivers them.  Links only
 * libcore.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "session.h"

#define BASE_CONF \
	"hostname mx.test\n" \
	"listen 127.0.0.1:0 mx\n" \
	"domains example.test\n" \
	"maildir /nonexistent/Maildir\n"

struct fake {
	struct session	*s;
	struct buf	 out;
	char		 stages[64];
	const char	*verdicts;	/* one letter per waited stage */
	bool		 waiting;
	bool		 commit_pending;
	bool		 closed;
	unsigned	 commits, aborts;
};

static void
fake_send(void *ctx, const char *data, size_t len)
{
	struct fake *f = ctx;

	ck_assert_int_eq(buf_add(&f->out, data, len), 0);
}

static void
fake_close(void *ctx)
{
	((struct fake *)ctx)->closed = true;
}

static void
fake_nop(void *ctx)
{
	(void)ctx;
}

static void
fake_pause(void *ctx, unsigned ms)
{
	(void)ctx;
	(void)ms;
}

static int
fake_spool_open(void *ctx, const struct session_tx *tx)
{
	(void)ctx;
	(void)tx;
	return 0;
}

static int
fake_spool_write(void *ctx, const char *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
	return 0;
}

static void
fake_spool_commit(void *ctx, const struct session_tx *tx)
{
	struct fake *f = ctx;

	(void)tx;
	f->commit_pending = true;
	f->commits++;
}

static void
fake_spool_abort(void *ctx)
{
	((struct fake *)ctx)->aborts++;
}

static time_t
fake_now(void *ctx)
{
	(void)ctx;
	return 1800000000;
}

static const char *
fake_auth_mechs(void *ctx)
{
	(void)ctx;
	return "";
}

static void
fake_auth_start(void *ctx, const char *mech, const char *ir, size_t irlen)
{
	(void)ctx;
	(void)mech;
	(void)ir;
	(void)irlen;
}

static void
fake_auth_step(void *ctx, const char *resp, size_t len)
{
	(void)ctx;
	(void)resp;
	(void)len;
}

/* fake_filter - note the stage; every stage but ABORT waits. */
static bool
fake_filter(void *ctx, enum session_filter_stage stage,
    const struct session_filter_args *args)
{
	struct fake *f = ctx;
	static const char letters[] = "CHMREA";
	size_t n = strlen(f->stages);

	ck_assert(!f->waiting);
	if (stage == SESSION_FILTER_MAIL || stage == SESSION_FILTER_RCPT)
		ck_assert(args->addr != NULL && args->addr[0] == '<');
	if (n + 1 < sizeof(f->stages))
		f->stages[n] = letters[stage];
	if (stage == SESSION_FILTER_ABORT)
		return false;
	f->waiting = true;
	return true;
}

static const struct session_ops fake_ops = {
	fake_send, fake_close, fake_nop, fake_spool_open, fake_spool_write,
	fake_spool_commit, fake_spool_abort, fake_now, fake_auth_mechs,
	fake_auth_start, fake_auth_step, fake_nop, fake_pause, fake_filter,
};

/* answer - the next scripted verdict, as the edge delivers it. */
static void
answer(struct fake *f)
{
	struct session_filter_verdict v = { SESSION_FILTER_CONTINUE, 0, NULL };
	char c = *f->verdicts != '\0' ? *f->verdicts++ : 'c';

	f->waiting = false;
	switch (c) {
	case 'r':
		v.action = SESSION_FILTER_REJECT;
		break;
	case 't':
		v.action = SESSION_FILTER_TEMPFAIL;
		break;
	case 'd':
		v.action = SESSION_FILTER_DISCARD;
		break;
	case '4':
		v.action = SESSION_FILTER_SHUTDOWN;
		break;
	case 'y':
		v.action = SESSION_FILTER_CUSTOM;
		v.code = 553;
		v.text = "not you";
		break;
	case 'Y':
		v.action = SESSION_FILTER_CUSTOM;
		v.code = 421;
		v.text = "bye";
		break;
	default:
		break;
	}
	session_filter_done(f->s, &v);
}

/* settle - deliver what waits: verdicts and commits. */
static void
settle(struct fake *f)
{
	while (f->waiting || f->commit_pending) {
		if (f->waiting)
			answer(f);
		if (f->commit_pending) {
			f->commit_pending = false;
			session_commit_done(f->s, 0);
		}
	}
}

/* feed - in, whole or one byte at a time, completions between. */
static void
feed(struct fake *f, const char *in, bool trickle)
{
	size_t len = strlen(in), n;

	while (len > 0 && !session_is_closed(f->s)) {
		n = session_feed(f->s, in, trickle ? 1 : len);
		if (n == 0 && !f->waiting && !f->commit_pending)
			break;
		settle(f);
		in += n;
		len -= n;
	}
	settle(f);
}

/* codes - the code of each whole reply in out ("220 250 ..."). */
static void
codes(const char *out, char *dst, size_t dstlen)
{
	size_t n = 0;
	const char *p;

	dst[0] = '\0';
	for (p = out; *p != '\0'; p = strchr(p, '\n') + 1) {
		if (p[3] != '-' && n + 5 < dstlen) {
			(void)snprintf(dst + n, dstlen - n, "%s%.3s",
			    n > 0 ? " " : "", p);
			n = strlen(dst);
		}
		if (strchr(p, '\n') == NULL)
			break;
	}
}

#define EHLO	"EHLO c.test\r\n"
#define MAIL	"MAIL FROM:<s@x.test> SIZE=10\r\n"
#define RCPT(u)	"RCPT TO:<" u "@example.test>\r\n"
#define BODY	"DATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n"

static const struct {
	const char	*name;
	const char	*in;
	const char	*verdicts;
	const char	*want;		/* reply codes */
	const char	*stages;	/* C H M R E A */
	unsigned	 commits;
} cases[] = {
	{ "all pass", EHLO MAIL RCPT("a") RCPT("b") BODY "QUIT\r\n", "",
	  "220 250 250 250 250 354 250 221", "CHMRREA", 1 },
	{ "rcpt refused, pipelined", EHLO MAIL RCPT("a") RCPT("bad")
	  RCPT("c") "DATA\r\n", "ccccrc",
	  "220 250 250 250 550 250 354", "CHMRRR", 0 },
	{ "rcpt tempfail and a custom one", EHLO MAIL RCPT("a") RCPT("b")
	  RCPT("c") "DATA\r\n", "cccty", "220 250 250 451 553 250 354",
	  "CHMRRR", 0 },
	{ "connect refused: all but QUIT", EHLO MAIL "NOOP\r\nQUIT\r\n", "r",
	  "220 554 554 554 221", "C", 0 },
	{ "connect custom refusal", EHLO "QUIT\r\n", "y", "220 553 221", "C",
	  0 },
	{ "connect tempfail: 421", EHLO MAIL, "t", "220 421", "C", 0 },
	{ "helo refused", EHLO MAIL "QUIT\r\n", "cr", "220 550 503 221", "CH",
	  0 },
	{ "mail refused", EHLO MAIL RCPT("a") MAIL "QUIT\r\n", "ccr",
	  "220 250 550 503 250 221", "CHMAM", 0 },
	{ "mail discard goes on", EHLO MAIL RCPT("a") BODY, "ccdcc",
	  "220 250 250 250 354 250", "CHMREA", 1 },
	{ "eom refused", EHLO MAIL RCPT("a") BODY "QUIT\r\n", "ccccr",
	  "220 250 250 250 354 550 221", "CHMREA", 0 },
	{ "eom discard", EHLO MAIL RCPT("a") BODY "QUIT\r\n", "ccccd",
	  "220 250 250 250 354 250 221", "CHMREA", 0 },
	{ "eom shutdown", EHLO MAIL RCPT("a") BODY "QUIT\r\n", "cccc4",
	  "220 250 250 250 354 421", "CHMREA", 0 },
	{ "eom custom 421 closes", EHLO MAIL RCPT("a") BODY "QUIT\r\n",
	  "ccccY", "220 250 250 250 354 421", "CHMREA", 0 },
	{ "rset aborts", EHLO MAIL RCPT("a") "RSET\r\nQUIT\r\n", "",
	  "220 250 250 250 250 221", "CHMRA", 0 },
	{ "bdat", EHLO MAIL RCPT("a") "BDAT 4 LAST\r\nhi\r\n", "",
	  "220 250 250 250 250", "CHMREA", 1 },
};

START_TEST(test_case)
{
	int k = _i / 2;
	struct session_params p;
	struct fake f;
	struct config *cfg = conf_new("mx.test");
	char *err = NULL, got[256];

	ck_assert_int_eq(conf_parse(cfg, "base", BASE_CONF, strlen(BASE_CONF),
	    &err), 0);
	memset(&f, 0, sizeof(f));
	buf_init(&f.out, 1 << 16);
	f.verdicts = cases[k].verdicts;
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.role = CONF_ROLE_MX;
	p.id = "0123456789ABCDEF";
	p.client_addr = "192.0.2.1";
	f.s = session_new(&p, &fake_ops, &f);
	session_start(f.s);
	settle(&f);
	feed(&f, cases[k].in, _i % 2 == 1);
	codes(buf_cstr(&f.out), got, sizeof(got));
	ck_assert_msg(strcmp(got, cases[k].want) == 0, "%s (%s): got %s",
	    cases[k].name, _i % 2 ? "trickled" : "whole", got);
	ck_assert_msg(strcmp(f.stages, cases[k].stages) == 0,
	    "%s: stages %s", cases[k].name, f.stages);
	ck_assert_uint_eq(f.commits, cases[k].commits);
	session_free(&f.s);
	conf_free(&cfg);
	buf_release(&f.out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("session_filter");
	TCase *tc = tcase_create("stages");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_case, 0,
	    2 * (int)(sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
