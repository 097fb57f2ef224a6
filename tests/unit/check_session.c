/* SPDX-License-Identifier: ISC */
/*
 * check_session - the session state machine through fake session_ops.
 * Every transcript in tests/chat/ is replayed twice: fed whole, and
 * trickled one byte at a time.  The fake spool fails on request for
 * recipients named enospc@, eio@ and openfail@ (fault injection).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "chaos.h"
#include "chat.h"
#include "conf.h"
#include "envelope.h"
#include "log.h"
#include "route.h"
#include "session.h"

#define BASE_CONF \
	"hostname mx.test\n" \
	"listen 127.0.0.1:0 mx\n" \
	"domains example.test example.org\n" \
	"maildir /nonexistent/Maildir\n" \
	"sasl_db /nonexistent/sasldb2\n"

struct fake {
	struct session	*s;
	struct config	*cfg;
	bool		 trickle;
	struct buf	 in;		/* not yet consumed by the session */
	struct buf	 out;		/* everything the session sent */
	size_t		 out_pos;	/* replies read so far */
	struct buf	 spool;		/* the message as spooled */
	bool		 closed;
	bool		 spool_open;
	bool		 commit_pending;
	int		 commit_err;
	int		 write_err;
	size_t		 commit_nrcpt;
	long		 delivered;
	unsigned	 starttls_calls;
	bool		 auth_pending;	/* a result to deliver next turn */
	enum session_auth_result auth_res;
	const char	*auth_data;
	int		 auth_step;	/* LOGIN: 1 user sent, 2 password */
	bool		 pause_pending;	/* ops->pause: resume next turn */
	unsigned	 pauses;
	unsigned	 pause_ms;	/* the last pause's length */
	struct chaos	*chaos;		/* from the config's sink_chaos */
	char		*envelope;	/* the last commit's envelope record */
};

/* has_rcpt - whether a recipient's local part is name. */
static bool
has_rcpt(const struct session_tx *tx, const char *name)
{
	size_t i;

	for (i = 0; i < tx->nrcpt; i++)
		if (strcmp(tx->rcpts[i].local, name) == 0)
			return true;
	return false;
}

static void
fake_send(void *ctx, const char *data, size_t len)
{
	struct fake *f = ctx;

	ck_assert_int_eq(buf_add(&f->out, data, len), 0);
}

static void
fake_close(void *ctx)
{
	struct fake *f = ctx;

	f->closed = true;
}

static void
fake_starttls(void *ctx)
{
	struct fake *f = ctx;

	f->starttls_calls++;
	buf_reset(&f->in);	/* the connection's STARTTLS purge */
}

static int
fake_spool_open(void *ctx, const struct session_tx *tx)
{
	struct fake *f = ctx;

	ck_assert(!f->spool_open);
	if (has_rcpt(tx, "openfail"))
		return EACCES;
	f->spool_open = true;
	f->write_err = has_rcpt(tx, "eio") ? EIO : 0;
	buf_reset(&f->spool);
	return 0;
}

static int
fake_spool_write(void *ctx, const char *data, size_t len)
{
	struct fake *f = ctx;

	ck_assert(f->spool_open);
	if (f->write_err != 0 && f->spool.len > 0)	/* after Received: */
		return f->write_err;
	(void)buf_add(&f->spool, data, len);
	return 0;
}

/* fake_envelope - the record conn would store for tx (envelope.h): the
 * queued recipients, or all of them in sink mode. */
static void
fake_envelope(struct fake *f, const struct session_tx *tx)
{
	struct envelope e;
	struct buf b;

	session_tx_envelope(tx, "192.0.2.1", "T", 0, !f->cfg->sink, &e);
	buf_init(&b, 1 << 20);
	envelope_fmt(&b, &e);
	free(f->envelope);
	f->envelope = strdup(buf_cstr(&b));
	buf_release(&b);
	envelope_clear(&e);
}

static void
fake_spool_commit(void *ctx, const struct session_tx *tx)
{
	struct fake *f = ctx;

	ck_assert(f->spool_open);
	f->spool_open = false;
	f->commit_pending = true;
	f->commit_nrcpt = conf_is_sink_store(f->cfg) ? 1 :
	    route_copies(tx->routes, tx->nrcpt, NULL);
	f->commit_err = has_rcpt(tx, "enospc") ? ENOSPC : 0;
	fake_envelope(f, tx);
}

static void
fake_spool_abort(void *ctx)
{
	struct fake *f = ctx;

	f->spool_open = false;
}

static time_t
fake_now(void *ctx)
{
	(void)ctx;
	return 1800000000;	/* fixed, so spooled headers are stable */
}

static const char *
fake_auth_mechs(void *ctx)
{
	(void)ctx;
	return "PLAIN LOGIN";
}

/* fake_auth_result - queue a result for the next "loop turn". */
static void
fake_auth_result(struct fake *f, enum session_auth_result r, const char *d)
{
	ck_assert(!f->auth_pending);
	f->auth_pending = true;
	f->auth_res = r;
	f->auth_data = d;
}

/*
 * fake_auth_start - a scripted SASL: PLAIN "\0user\0secret" and LOGIN
 * user/secret succeed; "=" and anything else fail; "AAA" is bad base64.
 */
static void
fake_auth_start(void *ctx, const char *mech, const char *ir, size_t irlen)
{
	struct fake *f = ctx;

	f->auth_step = 0;
	if (strcmp(mech, "LOGIN") == 0 && ir == NULL) {
		f->auth_step = 1;
		fake_auth_result(f, SESSION_AUTH_CONTINUE, "VXNlcm5hbWU6");
	} else if (ir == NULL) {
		fake_auth_result(f, SESSION_AUTH_CONTINUE, "");
	} else if (irlen == 16 && memcmp(ir, "AHVzZXIAc2VjcmV0", 16) == 0) {
		fake_auth_result(f, SESSION_AUTH_OK, "user@example.test");
	} else if (irlen == 36 && memcmp(ir,
	    "AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=", 36) == 0) {
		fake_auth_result(f, SESSION_AUTH_OK, "alice@example.test");
	} else if (irlen == 8 && memcmp(ir, "VEVNUA==", 8) == 0) {
		fake_auth_result(f, SESSION_AUTH_TEMP, NULL);	/* "TEMP" */
	} else if (irlen == 3 && memcmp(ir, "AAA", 3) == 0) {
		fake_auth_result(f, SESSION_AUTH_BADB64, NULL);
	} else {
		fake_auth_result(f, SESSION_AUTH_FAIL, NULL);
	}
}

static void
fake_auth_step(void *ctx, const char *resp, size_t len)
{
	struct fake *f = ctx;

	if (f->auth_step == 1 && len == 8 && memcmp(resp, "dXNlcg==", 8) == 0) {
		f->auth_step = 2;
		fake_auth_result(f, SESSION_AUTH_CONTINUE, "UGFzc3dvcmQ6");
	} else if (f->auth_step == 2 && len == 8 &&
	    memcmp(resp, "c2VjcmV0", 8) == 0) {
		fake_auth_result(f, SESSION_AUTH_OK, "user@example.test");
	} else {
		fake_auth_start(ctx, "PLAIN", resp, len);
	}
}

static void
fake_auth_abort(void *ctx)
{
	struct fake *f = ctx;

	f->auth_pending = false;
	f->auth_step = 0;
}

static void
fake_pause(void *ctx, unsigned ms)
{
	struct fake *f = ctx;

	f->pause_pending = true;
	f->pauses++;
	f->pause_ms = ms;
}

static const struct session_ops fake_ops = {
	fake_send, fake_close, fake_starttls, fake_spool_open,
	fake_spool_write, fake_spool_commit, fake_spool_abort, fake_now,
	fake_auth_mechs, fake_auth_start, fake_auth_step, fake_auth_abort,
	fake_pause, NULL,
};

/* fake_pump - feed pending input; deliver completions "next turn". */
static void
fake_pump(struct fake *f)
{
	size_t n;

	for (;;) {
		if (f->pause_pending) {
			f->pause_pending = false;
			session_resume(f->s);
			continue;
		}
		if (f->auth_pending) {
			f->auth_pending = false;
			session_auth_done(f->s, f->auth_res, f->auth_data);
			continue;
		}
		if (f->commit_pending) {
			f->commit_pending = false;
			if (f->commit_err == 0)
				f->delivered += (long)f->commit_nrcpt;
			session_commit_done(f->s, f->commit_err);
			continue;
		}
		if (f->in.len == 0 || f->closed)
			break;
		n = session_feed(f->s, f->in.data, f->trickle ? 1 : f->in.len);
		buf_drop(&f->in, n);
		if (n == 0 && !f->commit_pending && !f->auth_pending &&
		    !f->pause_pending)
			break;
	}
}

/* fake_init_from - a session on BASE_CONF plus overrides, for a client
 * at addr. */
static void
fake_init_from(struct fake *f, char *const *ov, size_t nov, bool tls,
    const char *addr)
{
	struct session_params p;
	char *err = NULL;
	const char *why;
	size_t i;

	memset(f, 0, sizeof(*f));
	buf_init(&f->in, 1 << 24);
	buf_init(&f->out, 1 << 24);
	buf_init(&f->spool, 1 << 24);
	f->cfg = conf_new("mx.test");
	ck_assert_int_eq(conf_parse(f->cfg, "base", BASE_CONF,
	    strlen(BASE_CONF), &err), 0);
	for (i = 0; i < nov; i++) {
		if (conf_set(f->cfg, ov[i], &err) != 0)
			ck_abort_msg("override %s: %s", ov[i], err);
	}
	f->chaos = chaos_new();
	for (i = 0; i < f->cfg->nsink_chaos; i++)
		ck_assert_int_eq(chaos_add(f->chaos, f->cfg->sink_chaos[i],
		    &why), 0);
	memset(&p, 0, sizeof(p));
	p.cfg = f->cfg;
	p.chaos = &f->chaos;
	p.role = f->cfg->listens[0].role;
	p.id = "0123456789ABCDEF";
	p.client_addr = addr;
	p.tls_available = tls;
	f->s = session_new(&p, &fake_ops, f);
	session_start(f->s);
}

/* fake_init - fake_init_from for a client at 192.0.2.1. */
static void
fake_init(struct fake *f, char *const *ov, size_t nov, bool tls)
{
	fake_init_from(f, ov, nov, tls, "192.0.2.1");
}

static void
fake_fini(struct fake *f)
{
	session_free(&f->s);
	free(f->envelope);
	ck_assert(!f->spool_open);
	chaos_unref(&f->chaos);
	conf_free(&f->cfg);
	buf_release(&f->in);
	buf_release(&f->out);
	buf_release(&f->spool);
}

/* io_send - chat_io.send */
static int
io_send(void *ctx, const char *data, size_t len)
{
	struct fake *f = ctx;

	if (!f->closed)
		ck_assert_int_eq(buf_add(&f->in, data, len), 0);
	fake_pump(f);
	return 0;
}

/* io_reply - chat_io.reply: one complete reply from the output */
static int
io_reply(void *ctx, char *buf, size_t buflen)
{
	struct fake *f = ctx;
	const char *p = f->out.data + f->out_pos;
	size_t left = f->out.len - f->out_pos, o = 0, ll;

	while (left > 0) {
		const char *nl = memchr(p, '\n', left);

		if (nl == NULL)
			return -1;
		ll = (size_t)(nl - p) + 1;
		if (o + ll >= buflen)
			return -1;
		memcpy(buf + o, p, ll - 2);	/* without CRLF */
		o += ll - 2;
		buf[o++] = '\n';
		f->out_pos += ll;
		if (ll < 6 || p[3] == ' ') {
			buf[o - 1] = '\0';
			return 1;
		}
		p += ll;
		left -= ll;
	}
	return f->closed ? 0 : -1;
}

static int
io_starttls(void *ctx)
{
	struct fake *f = ctx;
	static const struct session_tls_info info = {
		"TLSv1.3", "TLS_AES_256_GCM_SHA384", 256,
	};

	if (session_state(f->s) != SESSION_ST_TLS)
		return -1;
	session_starttls_done(f->s, &info);
	fake_pump(f);
	return 0;
}

static long
io_maildir_count(void *ctx)
{
	struct fake *f = ctx;

	return f->delivered;
}

static int
io_is_closed(void *ctx)
{
	struct fake *f = ctx;

	return f->closed && f->out_pos == f->out.len;
}

static const struct chat_io fake_io = {
	io_send, io_reply, io_starttls, io_maildir_count, io_is_closed,
};

static char **chat_files;
static size_t nchat_files;

/* chat_has_tls - whether a transcript uses !starttls. */
static bool
chat_has_tls(const struct chat *c)
{
	size_t i;

	for (i = 0; i < c->nsteps; i++)
		if (c->steps[i].op == CHAT_STARTTLS)
			return true;
	return false;
}

/* run_chat - replay transcript i/2, trickled when i is odd. */
START_TEST(test_chat)
{
	struct chat *c = chat_load(chat_files[_i / 2]);
	struct fake f;
	char err[CHAT_REPLY_MAX + 512], *e = NULL;

	ck_assert_ptr_nonnull(c);
	fake_init(&f, c->overrides, c->noverrides, chat_has_tls(c));
	if (c->aliases != NULL && (conf_set(f.cfg, "aliases=chat", &e) != 0 ||
	    conf_load_aliases(f.cfg, "chat", c->aliases, strlen(c->aliases),
	    &e) != 0))
		ck_abort_msg("%s: aliases: %s", c->name, e);
	f.trickle = (_i % 2) == 1;
	fake_pump(&f);
	if (chat_run(c, &fake_io, &f, err, sizeof(err)) != 0)
		ck_abort_msg("%s (%s)", err, f.trickle ? "trickled" : "whole");
	fake_fini(&f);
	chat_free(c);
}
END_TEST

/* replies - everything sent so far, as one string. */
static const char *
replies(struct fake *f)
{
	return buf_cstr(&f->out);
}

/* test_starttls_purge - bytes after STARTTLS are never executed
 * (RFC 3207 §4.2, CVE-2011-0411), whole and trickled. */
START_TEST(test_starttls_purge)
{
	static const char in[] = "EHLO c.test\r\nSTARTTLS\r\nRSET\r\n"
	    "MAIL FROM:<a@example.test>\r\n";
	struct fake f;

	fake_init(&f, NULL, 0, true);
	f.trickle = _i == 1;
	io_send(&f, in, sizeof(in) - 1);
	ck_assert_uint_eq(f.starttls_calls, 1);
	ck_assert_int_eq(session_state(f.s), SESSION_ST_TLS);
	ck_assert_ptr_null(strstr(replies(&f), "2.0.0 Ok"));
	ck_assert_ptr_null(strstr(replies(&f), "2.1.0"));
	ck_assert_ptr_nonnull(strstr(replies(&f), "220 2.0.0 Ready to start TLS"));
	/* fed anyway while the handshake runs: swallowed */
	ck_assert_uint_eq(session_feed(f.s, "NOOP\r\n", 6), 6);
	ck_assert(io_starttls(&f) == 0);
	io_send(&f, "MAIL FROM:<a@example.test>\r\n", 28);
	ck_assert_ptr_nonnull(strstr(replies(&f), "503 5.5.1 Error: send HELO/EHLO first"));
	io_send(&f, "EHLO c.test\r\n", 13);
	ck_assert_ptr_null(strstr(replies(&f) + f.out.len - 60, "STARTTLS"));
	fake_fini(&f);
}
END_TEST

/* test_spool_content - what reaches the spool: Received:, LF endings,
 * dot-unstuffing; headers scanned for Subject:. */
START_TEST(test_spool_content)
{
	static const char in[] = "EHLO client.test\r\nMAIL FROM:<s@x.test>\r\n"
	    "RCPT TO:<u@example.test>\r\nDATA\r\n"
	    "Subject: hi there\r\nX: 1\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n";
	static const char want[] = "Received: from client.test ([192.0.2.1])\n"
	    "\tby mx.test (inlet) with ESMTP id 0123456789AB0001\n"
	    "\tfor <u@example.test>; Fri, 15 Jan 2027 08:00:00 +0000\n"
	    "Subject: hi there\nX: 1\n\n.dot\nbody\n";
	struct fake f;

	fake_init(&f, NULL, 0, false);
	f.trickle = _i == 1;
	io_send(&f, in, sizeof(in) - 1);
	ck_assert_str_eq(buf_cstr(&f.spool), want);
	ck_assert_int_eq(f.delivered, 1);
	ck_assert_ptr_nonnull(strstr(replies(&f),
	    "250 2.0.0 Ok: queued as 0123456789AB0001\r\n221 2.0.0"));
	ck_assert(f.closed);
	fake_fini(&f);
}
END_TEST

/* The Received: line's address literal for each kind of client address
 * (RFC 5321 §4.1.3: "[" IPv4-address-literal "]", "[IPv6:" ... "]"). */
static const struct {
	const char *addr, *want;
} received_addrs[] = {
	{ "192.0.2.1", "Received: from c.test ([192.0.2.1])\n" },
	{ "::1", "Received: from c.test ([IPv6:::1])\n" },
	{ "2001:db8::25", "Received: from c.test ([IPv6:2001:db8::25])\n" },
	{ "fe80::1", "Received: from c.test ([IPv6:fe80::1])\n" },
};
#define NRECEIVED_ADDRS (sizeof(received_addrs) / sizeof(received_addrs[0]))

/* test_received_addr - each address of received_addrs, whole (even _i)
 * and trickled (odd _i). */
START_TEST(test_received_addr)
{
	static const char in[] = "EHLO c.test\r\nMAIL FROM:<s@x.test>\r\n"
	    "RCPT TO:<u@example.test>\r\nDATA\r\nSubject: x\r\n\r\n"
	    "hi\r\n.\r\n";
	const char *want = received_addrs[_i / 2].want;
	struct fake f;

	fake_init_from(&f, NULL, 0, false, received_addrs[_i / 2].addr);
	f.trickle = _i % 2 == 1;
	io_send(&f, in, sizeof(in) - 1);
	ck_assert_int_eq(f.delivered, 1);
	ck_assert_msg(strncmp(buf_cstr(&f.spool), want, strlen(want)) == 0,
	    "spooled %s", buf_cstr(&f.spool));
	fake_fini(&f);
}
END_TEST

/* test_subject - the Subject: the sink line shows. */
START_TEST(test_subject)
{
	static const char in[] = "HELO c\r\nMAIL FROM:<>\r\n"
	    "RCPT TO:<postmaster>\r\nDATA\r\nFrom: a\r\nSubject:  Hello\r\n"
	    " world\r\n\r\nSubject: not this\r\n.\r\n";
	struct fake f;
	const struct session_tx *tx;

	fake_init(&f, NULL, 0, false);
	f.trickle = _i == 1;
	ck_assert_int_eq(buf_add(&f.in, in, sizeof(in) - 1), 0);
	/* stop before the commit completes to read the tx */
	while (f.in.len > 0 && !f.commit_pending)
		buf_drop(&f.in, session_feed(f.s, f.in.data,
		    f.trickle ? 1 : f.in.len));
	ck_assert(f.commit_pending);
	tx = session_tx(f.s);
	ck_assert_str_eq(tx->subject, "Hello world");	/* unfolded */
	ck_assert_str_eq(tx->rcpts[0].domain, "example.test");
	ck_assert(tx->from.null);
	fake_pump(&f);
	fake_fini(&f);
}
END_TEST

/*
 * The envelope a transaction records (session_tx_envelope): BODY and the
 * RFC 3461 parameters, per recipient; only the queued recipients but in
 * sink mode.  Whole (even _i) and trickled (odd _i).
 */
static const struct {
	const char	*ov;
	const char	*in;
	const char	*want;
} dsn_envs[] = {
	{ "sink=yes", "EHLO c\r\nMAIL FROM:<a@x.test> RET=HDRS ENVID=E+2B1 "
	  "BODY=8BITMIME\r\nRCPT TO:<b@y.test> NOTIFY=success,delay "
	  "ORCPT=rfc822;b@y.test\r\nRCPT TO:<c@y.test>\r\nDATA\r\n"
	  "Subject: x\r\n\r\nhi\r\n.\r\n",
	  "queue-id 0123456789AB0001\narrival T\nclient 192.0.2.1\nuser -\n"
	  "sender <a@x.test>\nbody 8BITMIME\nsmtputf8 no\nsize 0\n"
	  "ret HDRS\nenvid E+2B1\nrecipient <b@y.test> notify=SUCCESS,DELAY "
	  "orcpt=rfc822;b@y.test\nrecipient <c@y.test>\n" },
	{ "mx_auth=yes", "EHLO c\r\nAUTH PLAIN AHVzZXIAc2VjcmV0\r\n"
	  "MAIL FROM:<user@example.test> RET=FULL ENVID=x SMTPUTF8\r\n"
	  "RCPT TO:<user@example.test> NOTIFY=NEVER\r\n"
	  "RCPT TO:<x@remote.example> NOTIFY=FAILURE "
	  "ORCPT=rfc822;x@remote.example\r\nRCPT TO:<y@remote.example>\r\n"
	  "DATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n",
	  "queue-id 0123456789AB0001\narrival T\nclient 192.0.2.1\n"
	  "user user@example.test\nsender <user@example.test>\nbody 7BIT\n"
	  "smtputf8 yes\nsize 0\nret FULL\nenvid x\n"
	  "recipient <x@remote.example> notify=FAILURE "
	  "orcpt=rfc822;x@remote.example\nrecipient <y@remote.example>\n" },
};

START_TEST(test_dsn_envelope)
{
	char o1[64], o2[] = "queue=/nonexistent/queue";
	char *ov[] = { o1, o2 };
	struct fake f;

	(void)snprintf(o1, sizeof(o1), "%s", dsn_envs[_i / 2].ov);
	fake_init(&f, ov, 2, false);
	f.trickle = _i % 2 == 1;
	io_send(&f, dsn_envs[_i / 2].in, strlen(dsn_envs[_i / 2].in));
	ck_assert_msg(strstr(replies(&f), "250 2.0.0 Ok: queued") != NULL,
	    "%s", replies(&f));
	ck_assert_ptr_nonnull(f.envelope);
	ck_assert_str_eq(f.envelope, dsn_envs[_i / 2].want);
	fake_fini(&f);
}
END_TEST

/* test_error_pause - past half the error budget every error reply is
 * held for a pause (ops->pause) before it is sent. */
START_TEST(test_error_pause)
{
	char ov0[] = "max_errors=6";
	char *ov[] = { ov0 };
	struct fake f;
	size_t held;
	int i;

	fake_init(&f, ov, 1, false);
	f.trickle = _i == 1;
	for (i = 0; i < 2; i++)
		io_send(&f, "BOGUS\r\n", 7);
	/* the third error pauses: its reply is held, and input fed anyway
	 * is neither taken nor answered until the resume */
	held = f.out.len;
	ck_assert_uint_eq(session_feed(f.s, "BOGUS\r\n", 7), 7);
	ck_assert(f.pause_pending);
	ck_assert_uint_eq(session_feed(f.s, "BOGUS\r\n", 7), 0);
	ck_assert_uint_eq(f.out.len, held);
	fake_pump(&f);
	ck_assert_uint_gt(f.out.len, held);
	for (i = 0; i < 2; i++)
		io_send(&f, "BOGUS\r\n", 7);
	ck_assert_uint_eq(f.pauses, 3);		/* errors 3, 4 and 5 */
	ck_assert(!f.closed);
	io_send(&f, "BOGUS\r\n", 7);
	ck_assert(f.closed);
	ck_assert_ptr_nonnull(strstr(replies(&f), "421 4.7.0"));
	fake_fini(&f);
}
END_TEST

static Suite *
session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc;

	tc = tcase_create("chat");
	tcase_set_timeout(tc, 120);	/* byte-by-byte runs, ASan, busy CI */
	tcase_add_loop_test(tc, test_chat, 0, (int)(2 * nchat_files));
	suite_add_tcase(s, tc);
	tc = tcase_create("direct");
	tcase_set_timeout(tc, 120);	/* byte-by-byte runs, ASan, busy CI */
	tcase_add_loop_test(tc, test_starttls_purge, 0, 2);
	tcase_add_loop_test(tc, test_spool_content, 0, 2);
	tcase_add_loop_test(tc, test_received_addr, 0,
	    (int)(2 * NRECEIVED_ADDRS));
	tcase_add_loop_test(tc, test_subject, 0, 2);
	tcase_add_loop_test(tc, test_error_pause, 0, 2);
	tcase_add_loop_test(tc, test_dsn_envelope, 0,
	    (int)(2 * (sizeof(dsn_envs) / sizeof(dsn_envs[0]))));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	const char *dir = getenv("CHAT_DIR");
	SRunner *sr;
	int failed;
	size_t i;

	log_open("check_session", true, LOG_LEVEL_WARN);
	chat_files = chat_list(dir != NULL ? dir : CHAT_DIR, &nchat_files);
	if (nchat_files == 0) {
		(void)fprintf(stderr, "no transcripts in %s\n", CHAT_DIR);
		return EXIT_FAILURE;
	}
	sr = srunner_create(session_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (i = 0; i < nchat_files; i++)
		free(chat_files[i]);
	free(chat_files);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
