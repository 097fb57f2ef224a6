/* SPDX-License-Identifier: ISC */
/*
 * fuzz_session - libFuzzer target for the SMTP session state machine,
 * driven through fake session_ops as tests/unit/check_session.c does.
 * The first three octets choose the configuration (the sink ones with
 * sink_chaos rules: replies, delays that hold a reply or a commit,
 * disconnects), the TLS situation,
 * injected spool failures, AUTH outcomes, timer events (greet_pause,
 * timeouts, shutdown) and the feeding; the rest is what the client sends.
 * Commits, STARTTLS handshakes, AUTH steps and error-budget pauses
 * complete on the next "turn", never from inside an op (session.h).
 * Checked: no reply after close, every reply line "NNN", "NNN SP text" or
 * "NNN-text" with CRLF and at most 512 octets (RFC 5321 §4.2,
 * §4.5.3.1.5), nothing sent or consumed while the session waits for a
 * completion, nothing executed during a handshake (RFC 3207 §4.2), spool
 * and AUTH calls in order, no "queued" without a successful commit (or a
 * content filter's discard: with seed bit 0x80 the filters stop the session
 * at every stage now and then and answer with a random verdict), size
 * limits honoured.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "chaos.h"
#include "conf.h"
#include "harness.h"
#include "log.h"
#include "session.h"
#include "smtp_reply.h"

#define BASE_CONF \
	"hostname mx.test\n" \
	"listen 127.0.0.1:0 mx\n" \
	"domains example.test example.org\n" \
	"maildir /nonexistent/Maildir\n"

#define REPLY_LINE_MAX	512		/* RFC 5321 §4.5.3.1.5, CRLF included */
#define SPOOL_MAX	(16 * 1024)
#define OUT_KEEP	(64 * 1024)	/* transcript kept for reports */
/* session.h: a feed may stop early once this much was sent (8 KiB). */
#define SESSION_OUT_FLUSH_MIN	(8 * 1024)

/* Option bits of the first octet (the low three pick the config). */
#define OPT_TLS_AVAILABLE	0x08
#define OPT_TLS_ACTIVE		0x10
#define OPT_TLS_FAIL		0x20	/* handshakes fail */
#define OPT_EVENTS		0x40	/* timeouts, shutdowns, slow turns */
#define OPT_EOF			0x80	/* the client vanishes at the end */

/* Overrides on BASE_CONF, one configuration each; the sinks have
 * sink_chaos rules (replies, delays, disconnects at every stage). */
static const char *const conf_variants[][6] = {
	{ NULL },
	{ "bare_newline=reject", "max_errors=3", NULL },
	{ "message_size_limit=100", "recipient_limit=2", NULL },
	{ "strict_envelope=yes", "mx_auth=yes", "sasl_db=/nonexistent", NULL },
	{ "listen=127.0.0.1:0 submission", "sasl_db=/nonexistent", NULL },
	{ "sink=yes", "message_size_limit=0",
	    "sink_chaos=mail *x* 50% reply 451 Try later",
	    "sink_chaos=rcpt *@example.org 50% delay 10ms",
	    "sink_chaos=data * 30% delay 5ms", NULL },
	{ "message_size_limit=1K", "bare_newline=reject", NULL },
	{ "listen=127.0.0.1:0 submission", "sink=yes",
	    "sink_chaos=auth * 50% reply 535",
	    "sink_chaos=rcpt *z* disconnect",
	    "sink_chaos=data *@example.test 50% reply 421", NULL },
};
#define NCONF	(sizeof(conf_variants) / sizeof(conf_variants[0]))

static const int fault_errs[] = { 0, 0, EIO, ENOSPC };

/* Outcomes of an AUTH step, CONTINUE and OK the likeliest. */
static const enum session_auth_result auth_results[] = {
	SESSION_AUTH_OK, SESSION_AUTH_OK, SESSION_AUTH_CONTINUE,
	SESSION_AUTH_CONTINUE, SESSION_AUTH_CONTINUE, SESSION_AUTH_FAIL,
	SESSION_AUTH_BADB64, SESSION_AUTH_TEMP, SESSION_AUTH_ENCRYPT,
	SESSION_AUTH_WEAK, SESSION_AUTH_NOMECH, SESSION_AUTH_BANNED,
};
#define NAUTH_RESULTS	(sizeof(auth_results) / sizeof(auth_results[0]))

static struct config *configs[NCONF];
static struct chaos *chaos_sets[NCONF];	/* from each one's sink_chaos */
static char queued_prefix[64];		/* "250 2.0.0 Ok: queued as " */

struct fake {
	struct session		*s;
	const struct config	*cfg;
	struct harness_split	 split;
	unsigned		 opts;
	int			 open_err;	/* injected spool failures */
	int			 write_err;
	int			 commit_err;
	bool			 no_mechs;	/* auth_mechs says "" */
	bool			 pregreet;	/* talked before the greeting */
	/* what the session did to us */
	struct buf		 out;		/* the transcript (bounded) */
	bool			 closed;
	bool			 tls_pending;
	bool			 commit_pending;
	bool			 auth_exchange;	/* started, not over */
	bool			 auth_pending;	/* a step awaits its result */
	bool			 paused;	/* session_resume() is due */
	bool			 in_event;	/* a timer callback runs */
	bool			 quiet;		/* sending now is a bug */
	bool			 spool_open;
	size_t			 spool_len;
	size_t			 spool_writes;
	uint64_t		 body_len;	/* after the Received: header */
	uint64_t		 fed;		/* octets the session took */
	uint64_t		 sent;		/* octets of replies */
	unsigned		 commits_ok;
	/* the reply line being checked */
	size_t			 col;
	char			 line[REPLY_LINE_MAX];
	char			 prev_code[3];
	bool			 cont;		/* the previous line was NNN- */
	bool			 cr;
	unsigned		 queued;	/* "250 ... queued as" lines */
	bool			 filters;	/* ops->filter stops the session */
	bool			 filter_pending;	/* a verdict is due */
	enum session_filter_stage filter_stage;
	unsigned		 discards;	/* "queued as" by a discard */
	char			 spool[SPOOL_MAX];
};

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fake_fail - print the end of the transcript, then fail. */
#define FAKE_CHECK(f, e) do {						\
	if (!(e))							\
		fake_fail((f), __LINE__, #e);				\
} while (0)

static _Noreturn void
fake_fail(struct fake *f, int line, const char *what)
{
	const char *out = buf_cstr(&f->out);
	char tail[2048];
	size_t n = f->out.len < 400 ? f->out.len : 400;

	(void)log_clean(tail, sizeof(tail), out + f->out.len - n, n);
	(void)fprintf(stderr, "transcript tail: \"%s\"\n", tail);
	harness_fail("%s:%d: %s", __FILE__, line, what);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const struct smtp_reply *q = smtp_reply_get(SMTP_R_QUEUED);
	const char *ov, *why;
	char *err = NULL;
	size_t i, k;

	(void)argc;
	(void)argv;
	log_open("fuzz_session", true, LOG_LEVEL_ERR);
	for (i = 0; i < NCONF; i++) {
		configs[i] = conf_new("mx.test");
		if (conf_parse(configs[i], "base", BASE_CONF,
		    strlen(BASE_CONF), &err) != 0)
			harness_fail("base config: %s", err);
		for (k = 0; conf_variants[i][k] != NULL; k++) {
			ov = conf_variants[i][k];
			if (conf_set(configs[i], ov, &err) != 0)
				harness_fail("%s: %s", ov, err);
		}
		chaos_sets[i] = chaos_new();
		for (k = 0; k < configs[i]->nsink_chaos; k++)
			if (chaos_add(chaos_sets[i], configs[i]->sink_chaos[k],
			    &why) != 0)
				harness_fail("sink_chaos: %s", why);
	}
	(void)snprintf(queued_prefix, sizeof(queued_prefix), "%u %s %.*s",
	    q->code, q->enh, (int)strcspn(q->text, "%"), q->text);
	return 0;
}

/* ---- replies -------------------------------------------------------- */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* reply_line_end - CRLF ended a reply line of f->col octets. */
static void
reply_line_end(struct fake *f)
{
	size_t plen = strlen(queued_prefix);

	FAKE_CHECK(f, f->col >= 3 + 2);
	if (f->col >= plen && memcmp(f->line, queued_prefix, plen) == 0)
		f->queued++;
	memcpy(f->prev_code, f->line, 3);
	f->cont = f->col > 3 + 2 && f->line[3] == '-';
	f->col = 0;
	f->cr = false;
}

/*
 * reply_byte - RFC 5321 §4.2: Reply-line = *( Reply-code "-" [ textstring ]
 * CRLF ) Reply-code [ SP textstring ] CRLF, the code the same on every
 * line of a multiline reply; no CR or LF but the CRLF.
 */
static void
reply_byte(struct fake *f, char c)
{
	FAKE_CHECK(f, f->col < REPLY_LINE_MAX);
	f->line[f->col] = c;
	if (f->cr) {
		FAKE_CHECK(f, c == '\n');
		f->col++;
		reply_line_end(f);
		return;
	}
	if (c == '\r') {
		/* "NNN" CRLF, or "NNN-" / "NNN SP" and text (RFC 4954 §4:
		 * an empty challenge is "334 " CRLF) */
		FAKE_CHECK(f, f->col == 3 || f->col >= 4);
		f->cr = true;
		f->col++;
		return;
	}
	if (f->col < 3) {
		FAKE_CHECK(f, is_digit(c));
		FAKE_CHECK(f, !f->cont || c == f->prev_code[f->col]);
	} else if (f->col == 3)
		FAKE_CHECK(f, c == ' ' || c == '-');
	else	/* textstring = 1*(%d09 / %d32-126) */
		FAKE_CHECK(f, c == '\t' || (c >= 32 && c <= 126));
	f->col++;
}

/* ---- the fake ops --------------------------------------------------- */

static void
fake_send(void *ctx, const char *data, size_t len)
{
	struct fake *f = ctx;
	size_t i;

	FAKE_CHECK(f, !f->closed);		/* nothing after close */
	FAKE_CHECK(f, !f->tls_pending);		/* RFC 3207 §4.2 */
	FAKE_CHECK(f, !f->commit_pending);	/* the 250 waits for it */
	FAKE_CHECK(f, !f->quiet);		/* fed while waiting */
	FAKE_CHECK(f, !f->paused || f->in_event);	/* replies held */
	FAKE_CHECK(f, len > 0);
	f->sent += len;
	for (i = 0; i < len; i++) {
		if (f->out.len < OUT_KEEP)
			(void)buf_addc(&f->out, data[i]);
		reply_byte(f, data[i]);
	}
}

static void
fake_close(void *ctx)
{
	struct fake *f = ctx;

	FAKE_CHECK(f, !f->closed);
	FAKE_CHECK(f, f->col == 0);		/* a whole reply went out */
	f->closed = true;
}

static void
fake_starttls(void *ctx)
{
	struct fake *f = ctx;

	FAKE_CHECK(f, !f->closed && !f->tls_pending && !f->commit_pending);
	FAKE_CHECK(f, (f->opts & OPT_TLS_AVAILABLE) != 0);
	FAKE_CHECK(f, session_state(f->s) == SESSION_ST_TLS);
	f->tls_pending = true;
}

static int
fake_spool_open(void *ctx, const struct session_tx *tx)
{
	struct fake *f = ctx;

	FAKE_CHECK(f, !f->closed && !f->spool_open && !f->commit_pending);
	FAKE_CHECK(f, tx->nrcpt >= 1 && tx->nrcpt <= f->cfg->recipient_limit);
	if (f->open_err != 0)
		return f->open_err;
	f->spool_open = true;
	f->spool_len = 0;
	f->spool_writes = 0;
	f->body_len = 0;
	return 0;
}

static int
fake_spool_write(void *ctx, const char *data, size_t len)
{
	struct fake *f = ctx;

	FAKE_CHECK(f, f->spool_open && !f->closed);
	FAKE_CHECK(f, len > 0);
	if (f->spool_writes++ > 0) {
		f->body_len += len;
		/* decoding never makes a body longer than it came in */
		FAKE_CHECK(f, f->body_len <= f->fed);
		if (f->write_err != 0)
			return f->write_err;
	}
	if (len > SPOOL_MAX - f->spool_len)
		return ENOSPC;
	memcpy(f->spool + f->spool_len, data, len);
	f->spool_len += len;
	return 0;
}

/* check_tx - what a committed transaction must look like. */
static void
check_tx(struct fake *f, const struct session_tx *tx)
{
	uint64_t limit = f->cfg->message_size_limit;
	size_t i;

	FAKE_CHECK(f, tx->nrcpt >= 1 && tx->nrcpt <= f->cfg->recipient_limit);
	FAKE_CHECK(f, strlen(tx->queue_id) == SESSION_QID_LEN);
	FAKE_CHECK(f, memchr(tx->from_str, '\0', sizeof(tx->from_str)));
	FAKE_CHECK(f, memchr(tx->subject, '\0', sizeof(tx->subject)));
	for (i = 0; tx->subject[i] != '\0'; i++)
		FAKE_CHECK(f, (unsigned char)tx->subject[i] >= 0x20 &&
		    tx->subject[i] != 0x7f && tx->subject[i] != '"' &&
		    tx->subject[i] != '\\');
	FAKE_CHECK(f, limit == 0 || f->body_len <= limit);
	FAKE_CHECK(f, limit == 0 || tx->size <= limit);
	FAKE_CHECK(f, f->spool_writes >= 1);	/* Received: at least */
}

static void
fake_spool_commit(void *ctx, const struct session_tx *tx)
{
	struct fake *f = ctx;

	FAKE_CHECK(f, f->spool_open && !f->closed && !f->commit_pending);
	FAKE_CHECK(f, session_state(f->s) == SESSION_ST_COMMIT);
	check_tx(f, tx);
	f->spool_open = false;
	f->commit_pending = true;
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
	return 1800000000;
}

static const char *
fake_auth_mechs(void *ctx)
{
	struct fake *f = ctx;

	return f->no_mechs ? "" : "PLAIN LOGIN CRAM-MD5";
}

static void
fake_auth_start(void *ctx, const char *mech, const char *ir, size_t irlen)
{
	struct fake *f = ctx;

	FAKE_CHECK(f, !f->closed && !f->auth_exchange && !f->no_mechs);
	FAKE_CHECK(f, session_state(f->s) == SESSION_ST_AUTH_WAIT);
	FAKE_CHECK(f, strcmp(mech, "PLAIN") == 0 ||
	    strcmp(mech, "LOGIN") == 0 || strcmp(mech, "CRAM-MD5") == 0);
	FAKE_CHECK(f, ir != NULL || irlen == 0);
	f->auth_exchange = true;
	f->auth_pending = true;
}

static void
fake_auth_step(void *ctx, const char *resp, size_t len)
{
	struct fake *f = ctx;

	FAKE_CHECK(f, !f->closed && f->auth_exchange && !f->auth_pending);
	FAKE_CHECK(f, session_state(f->s) == SESSION_ST_AUTH_WAIT);
	FAKE_CHECK(f, resp != NULL && memchr(resp, '\n', len) == NULL);
	f->auth_pending = true;
}

static void
fake_auth_abort(void *ctx)
{
	struct fake *f = ctx;

	FAKE_CHECK(f, f->auth_exchange);	/* "ended early" */
	f->auth_exchange = false;
	f->auth_pending = false;
}

static void
fake_pause(void *ctx, unsigned ms)
{
	struct fake *f = ctx;

	(void)ms;
	FAKE_CHECK(f, !f->closed && !f->paused);
	f->paused = true;
}

/* fake_filter - content filters: wait (most of the time) at a stage. */
static bool
fake_filter(void *ctx, enum session_filter_stage stage,
    const struct session_filter_args *args)
{
	struct fake *f = ctx;

	FAKE_CHECK(f, !f->filter_pending && !f->commit_pending);
	FAKE_CHECK(f, args == NULL || stage == SESSION_FILTER_ABORT ||
	    (stage != SESSION_FILTER_MAIL && stage != SESSION_FILTER_RCPT) ||
	    (args->addr != NULL && args->addr[0] == '<'));
	if (!f->filters || stage == SESSION_FILTER_ABORT ||
	    harness_rand(&f->split) % 4 == 0)
		return false;
	f->filter_pending = true;
	f->filter_stage = stage;
	return true;
}

/* The verdicts a filter gives, continue the likeliest. */
static const struct session_filter_verdict verdicts[] = {
	{ SESSION_FILTER_CONTINUE, 0, NULL },
	{ SESSION_FILTER_CONTINUE, 0, NULL },
	{ SESSION_FILTER_CONTINUE, 0, NULL },
	{ SESSION_FILTER_CONTINUE, 0, NULL },
	{ SESSION_FILTER_REJECT, 0, NULL },
	{ SESSION_FILTER_TEMPFAIL, 0, NULL },
	{ SESSION_FILTER_CUSTOM, 553, "no thanks" },
	{ SESSION_FILTER_CUSTOM, 451, "" },
	{ SESSION_FILTER_CUSTOM, 421, "going" },
	{ SESSION_FILTER_DISCARD, 0, NULL },
	{ SESSION_FILTER_SHUTDOWN, 0, NULL },
};
#define NVERDICTS	(sizeof(verdicts) / sizeof(verdicts[0]))

static const struct session_ops fake_ops = {
	.send = fake_send,
	.close = fake_close,
	.starttls = fake_starttls,
	.spool_open = fake_spool_open,
	.spool_write = fake_spool_write,
	.spool_commit = fake_spool_commit,
	.spool_abort = fake_spool_abort,
	.now = fake_now,
	.auth_mechs = fake_auth_mechs,
	.auth_start = fake_auth_start,
	.auth_step = fake_auth_step,
	.auth_abort = fake_auth_abort,
	.pause = fake_pause,
	.filter = fake_filter,
};

/* ---- the event loop ------------------------------------------------- */

/* turn - the next loop turn: deliver the completion that is due. */
static void
turn(struct fake *f)
{
	static const struct session_tls_info info = {
		"TLSv1.3", "TLS_AES_256_GCM_SHA384", 256,
	};

	enum session_auth_result r;
	const struct session_filter_verdict *v;

	if (f->filter_pending) {
		v = &verdicts[harness_rand(&f->split) % NVERDICTS];
		f->filter_pending = false;
		if (f->filter_stage == SESSION_FILTER_EOM &&
		    v->action == SESSION_FILTER_DISCARD &&
		    session_state(f->s) == SESSION_ST_COMMIT)
			f->discards++;		/* 250, nothing stored */
		session_filter_done(f->s, v);
	} else if (f->commit_pending) {
		f->commit_pending = false;
		if (f->commit_err == 0)
			f->commits_ok++;
		session_commit_done(f->s, f->commit_err);
	} else if (f->tls_pending) {
		f->tls_pending = false;
		session_starttls_done(f->s, (f->opts & OPT_TLS_FAIL) != 0 ?
		    NULL : &info);
		/* RFC 3207 §4.2: all is forgotten, EHLO again (or closed) */
		FAKE_CHECK(f, session_state(f->s) == ((f->opts &
		    OPT_TLS_FAIL) != 0 ? SESSION_ST_CLOSED :
		    SESSION_ST_GREETED));
	} else if (f->auth_pending) {
		r = auth_results[harness_rand(&f->split) % NAUTH_RESULTS];
		f->auth_pending = false;
		f->auth_exchange = r == SESSION_AUTH_CONTINUE;
		session_auth_done(f->s, r, r == SESSION_AUTH_OK ?
		    "user@example.test" : r != SESSION_AUTH_CONTINUE ? NULL :
		    harness_rand(&f->split) % 2 == 0 ? "" : "VXNlcm5hbWU6");
	} else if (f->paused) {
		f->paused = false;
		session_resume(f->s);
	}
}

/* is_pending - a completion is due. */
static bool
is_pending(const struct fake *f)
{
	return f->commit_pending || f->tls_pending || f->auth_pending ||
	    f->paused || f->filter_pending;
}

/* event - now and then a timer fires between two reads. */
static void
event(struct fake *f)
{
	uint32_t x;

	if ((f->opts & OPT_EVENTS) == 0 || f->tls_pending)
		return;
	x = harness_rand(&f->split);
	f->in_event = true;
	if (x % 128 == 0)
		session_timeout(f->s);
	else if (x % 128 == 1)
		session_shutdown(f->s);
	f->in_event = false;
}

/*
 * feed - one read of n octets, fed until the session has taken them.
 * session.h: all of them unless it waits for a commit, an AUTH step or
 * the end of a pause; while a handshake runs they are swallowed.
 */
static void
feed(struct fake *f, const char *p, size_t n)
{
	size_t used;
	uint64_t sent;
	bool waiting;

	while (n > 0 && !f->closed) {
		/* a slow turn: bytes arrive before the completion */
		if ((f->opts & OPT_EVENTS) == 0 ||
		    harness_rand(&f->split) % 8 != 0)
			turn(f);
		waiting = f->commit_pending || f->auth_pending || f->paused ||
		    f->filter_pending;
		f->quiet = is_pending(f);
		f->fed += n;
		sent = f->sent;
		used = session_feed(f->s, p, n);
		f->fed -= n - used;
		f->quiet = false;
		FAKE_CHECK(f, used <= n);
		FAKE_CHECK(f, !waiting || used == 0);
		if (f->commit_pending)
			FAKE_CHECK(f, session_state(f->s) == SESSION_ST_COMMIT);
		else if (f->auth_pending)
			FAKE_CHECK(f, session_state(f->s) ==
			    SESSION_ST_AUTH_WAIT);
		else if (f->filter_pending)	/* a stage waits */
			FAKE_CHECK(f, session_is_busy(f->s));
		else if (!f->paused)	/* or it stopped after a flush's worth */
			FAKE_CHECK(f, used == n || (used > 0 &&
			    f->sent - sent >= SESSION_OUT_FLUSH_MIN));
		p += used;
		n -= used;
		event(f);
	}
}

/* fake_run - the connection: configure, greet, feed, finish. */
static void
fake_run(struct fake *f, const char *in, size_t len)
{
	struct session_params p;
	static const struct session_tls_info tls = {
		"TLSv1.3", "TLS_AES_128_GCM_SHA256", 128,
	};
	size_t pos = 0, n;

	memset(&p, 0, sizeof(p));
	p.cfg = f->cfg;
	p.role = f->cfg->listens[0].role;
	p.id = "0123456789ABCDEF";
	p.client_addr = "192.0.2.1";
	p.chaos = &chaos_sets[f->opts % NCONF];
	p.tls_available = (f->opts & OPT_TLS_AVAILABLE) != 0;
	p.tls_active = (f->opts & OPT_TLS_ACTIVE) != 0;
	p.tls = p.tls_active ? &tls : NULL;
	f->s = session_new(&p, &fake_ops, f);
	FAKE_CHECK(f, session_state(f->s) == SESSION_ST_GREETED);
	if (f->pregreet)
		session_pregreet(f->s);		/* greet_pause caught it */
	else
		session_start(f->s);
	FAKE_CHECK(f, f->out.len > 0 && f->col == 0);
	FAKE_CHECK(f, f->closed == f->pregreet);
	while (pos < len && !f->closed) {
		n = harness_split_next(&f->split, len - pos);
		feed(f, in + pos, n);
		pos += n;
	}
	while (is_pending(f))
		turn(f);
	if ((f->opts & OPT_EOF) != 0)
		session_eof(f->s);
	FAKE_CHECK(f, f->col == 0);
	FAKE_CHECK(f, session_stats(f->s)->messages == f->commits_ok);
	FAKE_CHECK(f, f->queued == f->commits_ok + f->discards);
	session_free(&f->s);
	FAKE_CHECK(f, f->s == NULL && !f->spool_open);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake *f;
	uint64_t seed;
	unsigned faults;

	seed = harness_take_seed(&data, &size, 3);
	f = calloc(1, sizeof(*f));
	HARNESS_CHECK(f != NULL);
	harness_split_init(&f->split, seed);
	f->opts = (unsigned)(seed >> 16) & 0xff;
	faults = (unsigned)(seed >> 8) & 0xff;
	f->cfg = configs[f->opts % NCONF];
	f->open_err = fault_errs[faults & 3] == EIO ? EACCES :
	    fault_errs[faults & 3];
	f->write_err = fault_errs[(faults >> 2) & 3];
	f->commit_err = fault_errs[(faults >> 4) & 3];
	f->no_mechs = (faults & 0x40) != 0;
	f->pregreet = (faults & 0x80) != 0;
	f->filters = (seed & 0x80) != 0;	/* the split takes the rest */
	buf_init(&f->out, OUT_KEEP);
	fake_run(f, (const char *)data, size);
	buf_release(&f->out);
	free(f);
	return 0;
}
