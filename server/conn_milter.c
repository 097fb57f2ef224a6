/* SPDX-License-Identifier: ISC */
/*
 * conn_milter - what the milters decided at end of message, carried out
 * on the spool before the commit: envelope edits (sender, recipients
 * added with a plan of their own, recipients removed) through the
 * session, header and body edits (milter_edit_apply on the message as
 * spooled), quarantine into milter_quarantine.  The spooled tmp file is
 * written anew and the old one removed; the commit that follows fsyncs
 * it as any other, so the 250 still comes only after fsync.  Edge.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn_impl.h"
#include "log.h"
#include "maildir.h"
#include "milter.h"
#include "route.h"
#include "smtp_cmd.h"

/* parse_path - a filter's address, with or without <>, as a path. */
static int
parse_path(const char *addr, bool sender, struct smtp_addr *out)
{
	char arg[SMTP_PATH_MAX + 16];
	struct smtp_mail_args m;
	struct smtp_rcpt_args r;
	bool br = addr[0] == '<';

	(void)snprintf(arg, sizeof(arg), "%s:%s%s%s", sender ? "FROM" : "TO",
	    br ? "" : "<", addr, br ? "" : ">");
	if (sender) {
		if (smtp_cmd_parse_mail(arg, strlen(arg), SMTP_CMD_F_UTF8, &m) !=
		    SMTP_CMD_OK)
			return -1;
		*out = m.from;
		return 0;
	}
	if (smtp_cmd_parse_rcpt(arg, strlen(arg), SMTP_CMD_F_UTF8, &r) !=
	    SMTP_CMD_OK)
		return -1;
	*out = r.to;
	return 0;
}

/* env_edit - one envelope edit; false when it could not be made. */
static bool
env_edit(struct conn *c, const struct milter_env_edit *e)
{
	const struct session_tx *tx = session_tx(c->session);
	char have[SMTP_PATH_MAX + 1], want[SMTP_PATH_MAX + 1];
	struct smtp_addr a;
	struct route plan;
	size_t i;

	if (parse_path(e->addr, e->kind == 'e', &a) != 0)
		return false;
	if (e->kind == 'e') {
		session_tx_set_sender(c->session, &a);
		return true;
	}
	if (e->kind == '+') {
		/* the filter is trusted as an authenticated client is */
		route_rcpt(c->cfg, true, &a, &plan);
		if (plan.kind == ROUTE_REFUSE)
			return false;
		session_tx_add_rcpt(c->session, &a, &plan);
		return true;
	}
	smtp_addr_fmt(&a, want, sizeof(want));
	for (i = 0; i < tx->nrcpt; i++) {
		smtp_addr_fmt(&tx->rcpts[i], have, sizeof(have));
		if (strcasecmp(have, want) == 0) {
			session_tx_del_rcpt(c->session, i);
			return true;
		}
	}
	return false;
}

/* log_edit - one line per edit made or refused. */
static void
log_edit(const struct conn *c, const char *edit, const char *addr, bool ok)
{
	log_event(LOG_LEVEL_INFO, c->id, "event=milter-edit",
	    LOG_TOK("id", session_tx(c->session)->queue_id),
	    LOG_TOK("edit", edit), addr != NULL ? LOG_Q("addr", addr) :
	    LOG_NONE, LOG_TOK("result", ok ? "ok" : "refused"));
}

/* spool_quarantine - open c->spool in the quarantine Maildir. */
static int
spool_quarantine(struct conn *c)
{
	const struct session_tx *tx = session_tx(c->session);
	char addr[SMTP_PATH_MAX + 1];
	struct maildir_rcpt rc = { NULL, c->cfg->milter_quarantine, NULL };

	rc.addr = tx->nrcpt > 0 ? smtp_addr_fmt(&tx->rcpts[0], addr,
	    sizeof(addr)) : "quarantine";
	return maildir_open(&c->spool, tx->from_str, &rc, 1, c->cfg->hostname,
	    &c->env->seq);
}

/* rewrite - the spool anew with msg: the plan, or the quarantine. */
static int
rewrite(struct conn *c, const struct buf *msg, bool quarantine)
{
	struct maildir_spool *old = c->spool;
	int err;

	c->spool = NULL;
	err = quarantine ? spool_quarantine(c) :
	    conn_op_spool_open(c, session_tx(c->session));
	if (err == 0)
		err = maildir_write(c->spool, msg->data, msg->len);
	if (err != 0)
		maildir_abort(&c->spool);
	maildir_abort(&old);
	return err;
}

void
conn_milter_eom(struct conn *c, struct session_filter_verdict *v)
{
	const struct milter_result *r = milter_result(c->milters);
	static const char *const names[] = { "addrcpt", "delrcpt", "chgfrom" };
	struct buf out;
	size_t i;
	int err;

	if (r->nhdr_edits == 0 && !r->body_replaced && r->nenv_edits == 0 &&
	    r->quarantine == NULL)
		return;
	for (i = 0; i < r->nenv_edits; i++)
		log_edit(c, names[r->env_edits[i].kind == '+' ? 0 :
		    r->env_edits[i].kind == '-' ? 1 : 2],
		    r->env_edits[i].addr, env_edit(c, &r->env_edits[i]));
	if (r->nhdr_edits > 0 || r->body_replaced)
		log_edit(c, r->body_replaced ? "body" : "headers", NULL, true);
	if (session_tx(c->session)->nrcpt == 0) {
		v->action = SESSION_FILTER_DISCARD;	/* nobody left */
		return;
	}
	if (r->quarantine != NULL && c->cfg->milter_quarantine == NULL) {
		log_edit(c, "quarantine", NULL, false);	/* no Maildir for it */
		v->action = SESSION_FILTER_TEMPFAIL;	/* inlet.conf(5) */
		return;
	}
	buf_init(&out, SIZE_MAX);
	(void)milter_edit_apply(c->milter_msg.data, c->milter_msg.len,
	    r->hdr_edits, r->nhdr_edits, r->leadspc,
	    r->body_replaced ? &r->body : NULL, &out);
	err = rewrite(c, &out, r->quarantine != NULL);
	buf_release(&out);
	if (err != 0) {
		log_event(LOG_LEVEL_WARN, c->id, "event=spool-error",
		    LOG_TOK("id", session_tx(c->session)->queue_id),
		    LOG_Q("error", strerror(err)));
		v->action = SESSION_FILTER_TEMPFAIL;
		return;
	}
	c->quarantined = r->quarantine != NULL;
}

void
conn_milter_log_quarantine(struct conn *c)
{
	const struct session_tx *tx = session_tx(c->session);
	char to[SMTP_PATH_MAX + 1];

	log_event(LOG_LEVEL_INFO, c->id, "event=delivery",
	    LOG_TOK("id", tx->queue_id), LOG_ADDR("to", tx->nrcpt > 0 ?
	    smtp_addr_fmt(&tx->rcpts[0], to, sizeof(to)) : ""),
	    LOG_TOK("relay", "quarantine"),
	    LOG_TOK("status", c->commit_err != 0 ? "deferred" : "sent"),
	    c->commit_err != 0 ? LOG_Q("error", strerror(c->commit_err)) :
	    LOG_Q("file", maildir_path(c->spool, 0)));
}
