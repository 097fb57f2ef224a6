/* SPDX-License-Identifier: ISC */
/*
 * check_dispatch - the session's command table, verb by state: what
 * every verb answers in every command-mode state (GREETED, READY, MAIL,
 * RCPT, and MAIL after refused recipients), on an mx listener and on a
 * submission listener before STARTTLS, each case fed whole and trickled
 * one byte at a time.  The reply budget's side lives in
 * check_smtp_reply (the flag column) and 12-error-budget.chat.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "log.h"
#include "session.h"

#define BASE_CONF \
	"hostname mx.test\n" \
	"listen 127.0.0.1:0 mx\n" \
	"domains example.test\n" \
	"maildir /nonexistent/Maildir\n" \
	"sasl_db /nonexistent/sasldb2\n"

/* The client's way into each state. */
enum dstate { D_GREETED, D_READY, D_MAIL, D_RCPT, D_REFUSED, D_NSTATES };

static const char *const dstate_input[D_NSTATES] = {
	[D_GREETED] = "",
	[D_READY] = "EHLO c.test\r\n",
	[D_MAIL] = "EHLO c.test\r\nMAIL FROM:<s@x.test>\r\n",
	[D_RCPT] = "EHLO c.test\r\nMAIL FROM:<s@x.test>\r\n"
	    "RCPT TO:<u@example.test>\r\n",
	[D_REFUSED] = "EHLO c.test\r\nMAIL FROM:<s@x.test>\r\n"
	    "RCPT TO:<u@elsewhere.test>\r\n",	/* relay denied */
};

/* One command line for each verb of the table. */
enum dverb {
	V_EHLO, V_HELO, V_MAIL, V_RCPT, V_DATA, V_BDAT, V_RSET, V_NOOP,
	V_QUIT, V_VRFY, V_EXPN, V_HELP, V_STARTTLS, V_AUTH, V_HTTP,
	V_NVERBS
};

static const char *const dverb_input[V_NVERBS] = {
	[V_EHLO] = "EHLO c.test\r\n",
	[V_HELO] = "HELO c.test\r\n",
	[V_MAIL] = "MAIL FROM:<t@x.test>\r\n",
	[V_RCPT] = "RCPT TO:<v@example.test>\r\n",
	[V_DATA] = "DATA\r\n",
	[V_BDAT] = "BDAT 3 LAST\r\nabc",
	[V_RSET] = "RSET\r\n",
	[V_NOOP] = "NOOP\r\n",
	[V_QUIT] = "QUIT\r\n",
	[V_VRFY] = "VRFY u\r\n",
	[V_EXPN] = "EXPN list\r\n",
	[V_HELP] = "HELP\r\n",
	[V_STARTTLS] = "STARTTLS\r\n",
	[V_AUTH] = "AUTH PLAIN\r\n",
	[V_HTTP] = "GET / HTTP/1.1\r\n",
};

#define HELO_FIRST	"503 5.5.1 Error: send HELO/EHLO first"
#define NEED_MAIL	"503 5.5.1 Error: need MAIL command"
#define NEED_RCPT	"503 5.5.1 Error: need RCPT command"
#define NESTED		"503 5.5.1 Error: nested MAIL command"
#define IN_TX		"503 5.5.1 Error: AUTH not allowed during a mail " \
			    "transaction"
#define NO_VALID	"554 5.5.1 Error: no valid recipients"
#define TLS_FIRST	"530 5.7.0 Must issue a STARTTLS command first"
#define EHLO_OK		"250-mx.test greets c.test"
#define HELO_OK		"250 mx.test"
#define OK		"250 2.0.0 Ok"
#define MAIL_OK		"250 2.1.0 Sender ok"
#define RCPT_OK		"250 2.1.5 Recipient ok"
#define QUIT_OK		"221 2.0.0 Bye"
#define VRFY_OK		"252 2.5.0"
#define NOT_IMPL	"502 5.5.1 Error: command not implemented"
#define HELP_OK		"214 2.0.0 Commands:"
#define TLS_GO		"220 2.0.0 Ready to start TLS"
#define HTTP_NO		"554 5.7.0 Error: this is an SMTP server"
#define DATA_GO		"354 End data with"
#define QUEUED		"250 2.0.0 Ok: queued as"
#define CHALLENGE	"334 "

/*
 * What each verb answers in each state: the start of its first reply
 * line.  An mx listener (no AUTH offered), and a submission listener
 * before STARTTLS (only EHLO, HELO, RSET, NOOP, QUIT, HELP, STARTTLS,
 * AUTH and HTTP come before TLS; AUTH there is 538).
 */
static const char *const mx_want[V_NVERBS][D_NSTATES] = {
	/*		GREETED		READY		MAIL	RCPT	REFUSED */
	[V_EHLO] = { EHLO_OK, EHLO_OK, EHLO_OK, EHLO_OK, EHLO_OK },
	[V_HELO] = { HELO_OK, HELO_OK, HELO_OK, HELO_OK, HELO_OK },
	[V_MAIL] = { HELO_FIRST, MAIL_OK, NESTED, NESTED, NESTED },
	[V_RCPT] = { HELO_FIRST, NEED_MAIL, RCPT_OK, RCPT_OK, RCPT_OK },
	[V_DATA] = { HELO_FIRST, NEED_MAIL, NEED_RCPT, DATA_GO, NO_VALID },
	[V_BDAT] = { HELO_FIRST, NEED_MAIL, NEED_RCPT, QUEUED, NO_VALID },
	[V_RSET] = { OK, OK, OK, OK, OK },
	[V_NOOP] = { OK, OK, OK, OK, OK },
	[V_QUIT] = { QUIT_OK, QUIT_OK, QUIT_OK, QUIT_OK, QUIT_OK },
	[V_VRFY] = { VRFY_OK, VRFY_OK, VRFY_OK, VRFY_OK, VRFY_OK },
	[V_EXPN] = { NOT_IMPL, NOT_IMPL, NOT_IMPL, NOT_IMPL, NOT_IMPL },
	[V_HELP] = { HELP_OK, HELP_OK, HELP_OK, HELP_OK, HELP_OK },
	[V_STARTTLS] = { TLS_GO, TLS_GO, TLS_GO, TLS_GO, TLS_GO },
	[V_AUTH] = { HELO_FIRST, NOT_IMPL, IN_TX, IN_TX, IN_TX },
	[V_HTTP] = { HTTP_NO, HTTP_NO, HTTP_NO, HTTP_NO, HTTP_NO },
};

/* Submission before STARTTLS never gets past READY: MAIL needs TLS. */
#define ENCRYPT		"538 5.7.11 Encryption required"
static const char *const sub_want[V_NVERBS][2] = {
	/*		GREETED		READY */
	[V_EHLO] = { EHLO_OK, EHLO_OK },
	[V_HELO] = { HELO_OK, HELO_OK },
	[V_MAIL] = { HELO_FIRST, TLS_FIRST },
	[V_RCPT] = { HELO_FIRST, TLS_FIRST },
	[V_DATA] = { HELO_FIRST, TLS_FIRST },
	[V_BDAT] = { TLS_FIRST, TLS_FIRST },
	[V_RSET] = { OK, OK },
	[V_NOOP] = { OK, OK },
	[V_QUIT] = { QUIT_OK, QUIT_OK },
	[V_VRFY] = { TLS_FIRST, TLS_FIRST },
	[V_EXPN] = { TLS_FIRST, TLS_FIRST },
	[V_HELP] = { HELP_OK, HELP_OK },
	[V_STARTTLS] = { TLS_GO, TLS_GO },
	[V_AUTH] = { HELO_FIRST, ENCRYPT },
	[V_HTTP] = { HTTP_NO, HTTP_NO },
};

struct fake {
	struct session	*s;
	struct config	*cfg;
	struct buf	 out;
	bool		 commit_pending;
};

static void
fake_send(void *ctx, const char *data, size_t len)
{
	struct fake *f = ctx;

	ck_assert_int_eq(buf_add(&f->out, data, len), 0);
}

static void
fake_nop(void *ctx)
{
	(void)ctx;
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
	return "PLAIN";
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

static void
fake_pause(void *ctx, unsigned ms)
{
	(void)ctx;
	(void)ms;
}

static const struct session_ops fake_ops = {
	fake_send, fake_nop, fake_nop, fake_spool_open, fake_spool_write,
	fake_spool_commit, fake_nop, fake_now, fake_auth_mechs,
	fake_auth_start, fake_auth_step, fake_nop, fake_pause, NULL,
};

/* feed - all of in, whole or one byte at a time; commits complete. */
static void
feed(struct fake *f, const char *in, bool trickle)
{
	size_t len = strlen(in), n;

	while (len > 0 && !session_is_closed(f->s)) {
		n = session_feed(f->s, in, trickle ? 1 : len);
		if (f->commit_pending) {
			f->commit_pending = false;
			session_commit_done(f->s, 0);
		}
		if (n == 0)
			break;
		in += n;
		len -= n;
	}
}

/*
 * answer - the first reply line verb gets in state st, on BASE_CONF plus
 * override ov (or none), into line.
 */
static void
answer(const char *ov, enum dstate st, enum dverb v, bool trickle,
    char *line, size_t linelen)
{
	struct session_params p;
	struct fake f;
	char *err = NULL, ovbuf[128];
	size_t mark, n;

	memset(&f, 0, sizeof(f));
	buf_init(&f.out, 1 << 16);
	f.cfg = conf_new("mx.test");
	ck_assert_int_eq(conf_parse(f.cfg, "base", BASE_CONF,
	    strlen(BASE_CONF), &err), 0);
	if (ov != NULL) {
		(void)snprintf(ovbuf, sizeof(ovbuf), "%s", ov);
		if (conf_set(f.cfg, ovbuf, &err) != 0)
			ck_abort_msg("override %s: %s", ov, err);
	}
	memset(&p, 0, sizeof(p));
	p.cfg = f.cfg;
	p.role = f.cfg->listens[0].role;
	p.id = "0123456789ABCDEF";
	p.client_addr = "192.0.2.1";
	p.tls_available = true;
	f.s = session_new(&p, &fake_ops, &f);
	session_start(f.s);
	feed(&f, dstate_input[st], trickle);
	mark = f.out.len;
	feed(&f, dverb_input[v], trickle);
	n = strcspn(buf_cstr(&f.out) + mark, "\r");
	(void)snprintf(line, linelen, "%.*s", (int)n, buf_cstr(&f.out) + mark);
	session_free(&f.s);
	conf_free(&f.cfg);
	buf_release(&f.out);
}

/* test_mx - mx_want, case _i: verb, state, whole or trickled. */
START_TEST(test_mx)
{
	enum dverb v = (enum dverb)(_i / 2 / D_NSTATES);
	enum dstate st = (enum dstate)(_i / 2 % D_NSTATES);
	const char *want = mx_want[v][st];
	char line[512];

	answer(NULL, st, v, _i % 2 == 1, line, sizeof(line));
	ck_assert_msg(strncmp(line, want, strlen(want)) == 0,
	    "%.*s in state %d: got \"%s\", want \"%s...\"",
	    (int)strcspn(dverb_input[v], "\r"), dverb_input[v], (int)st, line,
	    want);
}
END_TEST

/* test_submission - sub_want, case _i, before STARTTLS. */
START_TEST(test_submission)
{
	enum dverb v = (enum dverb)(_i / 2 / 2);
	enum dstate st = (enum dstate)(_i / 2 % 2);
	const char *want = sub_want[v][st];
	char line[512];

	answer("listen=127.0.0.1:0 submission", st, v, _i % 2 == 1, line,
	    sizeof(line));
	ck_assert_msg(strncmp(line, want, strlen(want)) == 0,
	    "%.*s in state %d: got \"%s\", want \"%s...\"",
	    (int)strcspn(dverb_input[v], "\r"), dverb_input[v], (int)st, line,
	    want);
}
END_TEST

static Suite *
dispatch_suite(void)
{
	Suite *s = suite_create("dispatch");
	TCase *tc;

	tc = tcase_create("verb x state");
	tcase_set_timeout(tc, 60);	/* byte-by-byte runs, ASan, busy CI */
	tcase_add_loop_test(tc, test_mx, 0, 2 * V_NVERBS * D_NSTATES);
	tcase_add_loop_test(tc, test_submission, 0, 2 * V_NVERBS * 2);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	log_open("check_dispatch", true, LOG_LEVEL_WARN);
	sr = srunner_create(dispatch_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
