/* SPDX-License-Identifier: ISC */
/*
 * conn_hook - the data_hook between the end of the body and the commit:
 * the message, spooled in tmp/, is the program's standard input; its
 * verdict (hook_out) either lets the commit go on, with the header lines
 * it printed put before the message on the worker thread, or throws the
 * spool away and refuses the message (550 5.7.1 / 451 4.7.1).  The
 * connection waits in CONN_COMMIT_RUNNING meanwhile, as for a commit;
 * the result arrives from hook's events, a later loop turn.  One log
 * line per run (event=data-hook).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conn_impl.h"
#include "hook.h"
#include "hook_out.h"
#include "log.h"
#include "maildir.h"
#include "session.h"
#include "smtp_reply.h"

/* conn_hook_log - the one line about a run and its verdict. */
static void
conn_hook_log(const struct conn *c, enum hook_out_verdict v,
    enum hook_out_end end, int code, const char *why)
{
	static const char *const verdicts[] = { "accept", "reject",
	    "tempfail" };
	static const char *const ends[] = { "exit", "signal", "timeout",
	    "overflow", "nostart" };

	log_event(end == HOOK_OUT_EXITED && why == NULL ? LOG_LEVEL_INFO :
	    LOG_LEVEL_WARN, c->id, "event=data-hook",
	    LOG_TOK("id", session_tx(c->session)->queue_id),
	    LOG_TOK("result", verdicts[v]), LOG_TOK("end", ends[end]),
	    end == HOOK_OUT_NOSTART ? LOG_Q("error", strerror(code)) :
	    end == HOOK_OUT_EXITED || end == HOOK_OUT_SIGNALLED ?
	    LOG_I("code", code) : LOG_NONE,
	    why != NULL ? LOG_Q("why", why) : LOG_NONE,
	    v == HOOK_OUT_ACCEPT ? LOG_U("headers", c->hook_hdrs.len) :
	    LOG_NONE);
}

/* conn_hook_done - hook_done_fn: commit, or refuse the message. */
static void
conn_hook_done(void *arg, enum hook_out_end end, int code, const char *out,
    size_t len)
{
	struct conn *c = arg;
	char text[HOOK_OUT_TEXT_MAX + 1];
	const char *why, *reason;
	enum hook_out_verdict v;

	v = hook_out_verdict(end, code, out, len, &c->hook_hdrs, &why);
	conn_hook_log(c, v, end, code, why);
	reason = v == HOOK_OUT_REJECT ? hook_out_text(out, len, text) : NULL;
	hook_free(&c->hook);	/* out is gone now */
	if (v == HOOK_OUT_ACCEPT) {
		conn_commit_submit(c);
		return;
	}
	maildir_abort(&c->spool);
	c->commit = CONN_COMMIT_NONE;
	session_commit_refused(c->session, v == HOOK_OUT_REJECT ?
	    SMTP_R_HOOK_REJECT : SMTP_R_HOOK_TEMPFAIL, reason);
	if (c->env->stopping)
		session_shutdown(c->session);
	conn_settle(c);
}

void
conn_hook_start(struct conn *c, const struct session_tx *tx)
{
	char addr[SMTP_PATH_MAX + 1];
	struct hook_env e;
	struct buf rcpts;
	size_t i;
	int fd;

	c->commit = CONN_COMMIT_RUNNING;
	buf_reset(&c->hook_hdrs);
	if ((fd = maildir_reader(c->spool)) == -1) {
		/* as a failed commit: 451 4.3.0 (452 4.3.1), logged */
		c->commit_err = errno;
		maildir_abort(&c->spool);
		c->commit = CONN_COMMIT_DONE;
		event_active(c->defer, EV_TIMEOUT, 0);
		return;
	}
	buf_init(&rcpts, SIZE_MAX);
	for (i = 0; i < tx->nrcpt; i++)
		if ((i > 0 && buf_addc(&rcpts, ' ') != 0) ||
		    buf_adds(&rcpts, smtp_addr_fmt(&tx->rcpts[i], addr,
		    sizeof(addr))) != 0)
			log_fatal("can't happen: unbounded buffer full");
	e = (struct hook_env){ .remote_addr = c->addr,
	    .ehlo = session_helo_name(c->session), .mail_from = tx->from_str,
	    .rcpt_to = buf_cstr(&rcpts), .auth_as = tx->auth_user,
	    .on_tls = c->is_tls, .queue_id = tx->queue_id };
	c->hook = hook_start(c->env->base, c->cfg->data_hook, fd, &e,
	    c->cfg->data_hook_timeout, conn_hook_done, c);
	(void)close(fd);
	buf_release(&rcpts);
}
