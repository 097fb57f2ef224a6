/* SPDX-License-Identifier: ISC */
/*
 * milter - a session's content filters over the milter protocol (v6),
 * asynchronous on libevent (milter.h).  Each filter is one bufferevent
 * on inet:HOST:PORT or unix:PATH, negotiated once (OPTNEG) and kept for
 * the session's transactions.  A stage is a list of packets per filter,
 * each marked with whether the filter answers it (its NO* flags leave a
 * step out, its NR_* flags mean no answer is awaited, as rspamd asks up
 * to end of message); the filters run one after the other, and the
 * first that refuses decides.  A filter that cannot be reached, times
 * out or breaks the protocol gets milter_default_action: accept skips it
 * for the session; tempfail and reject answer the stage (from MAIL on:
 * at connect and HELO it waits for MAIL, as the client has not yet said
 * anything to refuse).  Edge module; packets from milter_proto.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "log.h"
#include "milter.h"
#include "xalloc.h"

/* The actions inlet can carry out, offered to every filter. */
#define MILTER_ACTIONS	(MILTER_F_ADDHDRS | MILTER_F_CHGBODY |		\
	MILTER_F_ADDRCPT | MILTER_F_DELRCPT | MILTER_F_CHGHDRS |	\
	MILTER_F_QUARANTINE | MILTER_F_CHGFROM | MILTER_F_ADDRCPT_PAR)
/* The steps it knows, minus NOUNKNOWN/NR_UNKN (no U command is sent). */
#define MILTER_PROTO	(MILTER_P_ALL & ~(MILTER_P_NOUNKNOWN | MILTER_P_NR_UNKN))

enum mf_state {
	MF_CONNECTING,		/* socket connecting */
	MF_NEGOTIATING,		/* OPTNEG sent */
	MF_READY,		/* idle or running a stage */
	MF_OFF,			/* accepted for the session ('a' early) */
	MF_DEAD,		/* down, timed out or broken */
};

/* One packet of a stage: where it is in the filter's queue. */
struct mf_step {
	size_t	 off, len;
	char	 cmd;
	bool	 wait;		/* the filter answers it */
};

struct milter_filter {
	struct milter_set	*set;
	const char		*name;		/* the socket, from cfg */
	struct bufferevent	*bev;
	struct event		*timer;
	struct milter_reader	 rd;
	enum mf_state		 st;
	uint32_t		 proto;		/* negotiated SMFIP_* */
	uint32_t		 actions;	/* negotiated SMFIF_* */
	bool			 msg_skip;	/* 'a' for this message */
	bool			 in_msg;	/* saw MAIL, no end yet */
	bool			 running;	/* steps of this stage queued */
	bool			 waiting;	/* for an answer */
	struct buf		 q;		/* this stage's packets */
	struct mf_step		*steps;
	size_t			 nsteps, cap, next;
};

struct milter_set {
	struct event_base	*base;
	const struct config	*cfg;
	char			 id[SESSION_ID_LEN + 1];
	char			 addr[64];
	unsigned		 port;
	struct milter_filter	*f;
	size_t			 nf;
	size_t			 cur;		/* the filter of this stage */
	enum session_filter_stage stage;
	bool			 active;	/* a stage runs */
	bool			 discard;	/* 'd' before EOM */
	struct session_filter_verdict v;
	char			 text[MILTER_TEXT_MAX + 1];
	struct event		*defer;		/* delivers v */
	milter_done_fn		 done;
	void			*arg;
	/* the stage's arguments, copied */
	char			 helo[256];
	char			 path[SMTP_PATH_MAX + 3];
	char			 esmtp[512];
	char			 auth[256];
	char			 auth_type[21];	/* {auth_type}: the mechanism */
	char			 tls_version[32];
	char			 tls_cipher[64];
	char			 qid[SESSION_QID_LEN + 1];
	const char		*msg;
	size_t			 msglen;
	struct milter_result	 res;
};

static void mf_run(struct milter_set *set);
static void mf_pump(struct milter_filter *f);

static const char *const stage_names[] = { "connect", "helo", "mail",
    "rcpt", "eom", "abort" };

/* mf_log - one line per filter decision. */
static void
mf_log(const struct milter_filter *f, const char *action, const char *text)
{
	struct milter_set *set = f->set;

	log_event(LOG_LEVEL_INFO, set->id, "event=milter",
	    LOG_TOK("filter", f->name), LOG_TOK("stage",
	    stage_names[set->stage]), set->qid[0] != '\0' ?
	    LOG_TOK("id", set->qid) : LOG_NONE, LOG_TOK("action", action),
	    text != NULL ? LOG_Q("text", text) : LOG_NONE);
}

/* result_reset - forget the edits of a message. */
static void
result_reset(struct milter_result *r)
{
	size_t i;

	for (i = 0; i < r->nown; i++)
		free(r->own[i]);
	free(r->own);
	free(r->hdr_edits);
	for (i = 0; i < r->nenv_edits; i++)
		free(r->env_edits[i].addr);
	free(r->env_edits);
	free(r->quarantine);
	buf_release(&r->body);
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, SIZE_MAX);
}

/* set_finish - the stage is decided: deliver v on the next loop turn. */
static void
set_finish(struct milter_set *set)
{
	size_t i;

	if (set->stage == SESSION_FILTER_EOM)	/* the message is over */
		for (i = 0; i < set->nf; i++)
			set->f[i].in_msg = false;
	set->active = false;
	event_active(set->defer, EV_TIMEOUT, 0);
}

/* set_defer_cb - hand the verdict to the session's connection. */
static void
set_defer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct milter_set *set = arg;
	struct session_filter_verdict v = set->v;

	(void)fd;
	(void)what;
	set->done(set->arg, &v);	/* may free set: touch nothing after */
}

/* mf_close - drop the filter's connection. */
static void
mf_close(struct milter_filter *f)
{
	if (f->bev != NULL)
		bufferevent_free(f->bev);
	f->bev = NULL;
	(void)evtimer_del(f->timer);
	f->waiting = false;
	f->running = false;
}

/* default_verdict - milter_default_action as a verdict; false: accept. */
static bool
default_verdict(const struct milter_set *set,
    struct session_filter_verdict *v)
{
	memset(v, 0, sizeof(*v));
	switch (set->cfg->milter_default_action) {
	case CONF_MILTER_ACCEPT:
		return false;
	case CONF_MILTER_TEMPFAIL:
		v->action = SESSION_FILTER_TEMPFAIL;
		return true;
	case CONF_MILTER_REJECT:
		v->action = SESSION_FILTER_REJECT;
		return true;
	}
	return true;
}

/*
 * mf_fail - the filter is down, slow or broken: log it, drop it, and if
 * the stage was waiting on it, apply the default action and go on.
 */
static void
mf_fail(struct milter_filter *f, const char *why)
{
	struct milter_set *set = f->set;
	bool was_current = set->active && set->cur < set->nf &&
	    &set->f[set->cur] == f;

	log_event(LOG_LEVEL_WARN, set->id, "event=milter-error",
	    LOG_TOK("filter", f->name), LOG_TOK("stage",
	    stage_names[set->stage]), LOG_Q("error", why),
	    LOG_TOK("default", set->cfg->milter_default_action ==
	    CONF_MILTER_ACCEPT ? "accept" : set->cfg->milter_default_action ==
	    CONF_MILTER_REJECT ? "reject" : "tempfail"));
	mf_close(f);
	f->st = MF_DEAD;
	if (was_current)
		mf_run(set);
}

/* mf_timer_cb - a deadline passed. */
static void
mf_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct milter_filter *f = arg;

	(void)fd;
	(void)what;
	mf_fail(f, f->st == MF_READY ? "timeout" : "connect timeout");
}

/* mf_arm - the filter's deadline for what it does next. */
static void
mf_arm(struct milter_filter *f, unsigned secs)
{
	struct timeval tv = { (time_t)secs, 0 };

	(void)evtimer_add(f->timer, &tv);
}

/* mf_add_step - queue one packet, encoded into f->q by the caller. */
static void
mf_add_step(struct milter_filter *f, size_t start, bool wait)
{
	if (f->nsteps == f->cap) {
		f->cap = f->cap == 0 ? 16 : f->cap * 2;
		f->steps = xrealloc(f->steps, f->cap, sizeof(*f->steps));
	}
	f->steps[f->nsteps].off = start;
	f->steps[f->nsteps].len = f->q.len - start;
	f->steps[f->nsteps].cmd = f->q.data[start + 4];
	f->steps[f->nsteps].wait = wait;
	f->nsteps++;
}

/* mf_macros - a D packet (never answered). */
static void
mf_macros(struct milter_filter *f, char cmd, const char *const *pairs,
    size_t n)
{
	size_t start = f->q.len;

	if (milter_enc_macros(&f->q, cmd, pairs, n) == 0)
		mf_add_step(f, start, false);
}

/* mf_strings - a command with strings; answered unless nr. */
static void
mf_strings(struct milter_filter *f, char cmd, const char *const *strs,
    size_t n, uint32_t nr)
{
	size_t start = f->q.len;

	if (milter_enc_strings(&f->q, cmd, strs, n) == 0)
		mf_add_step(f, start, (f->proto & nr) == 0);
}

/* mf_build_connect - D, C for the connect stage. */
static void
mf_build_connect(struct milter_filter *f)
{
	struct milter_set *set = f->set;
	char name[80], port[8];
	const char *mac[] = { "j", set->cfg->hostname, "{daemon_name}",
	    "inletd", "{client_addr}", set->addr, "{client_port}", port,
	    "{client_name}", name };
	size_t start;

	if ((f->proto & MILTER_P_NOCONNECT) != 0)
		return;
	(void)snprintf(name, sizeof(name), "[%s]", set->addr);
	(void)snprintf(port, sizeof(port), "%u", set->port);
	mf_macros(f, MILTER_C_CONNECT, mac, 5);
	start = f->q.len;
	if (milter_enc_connect(&f->q, name, strchr(set->addr, ':') != NULL ?
	    '6' : '4', (uint16_t)set->port, set->addr) == 0)
		mf_add_step(f, start, (f->proto & MILTER_P_NR_CONN) == 0);
}

/* mf_build_path - D and M or R, the path then each ESMTP parameter. */
static void
mf_build_path(struct milter_filter *f, char cmd)
{
	struct milter_set *set = f->set;
	const char *strs[32];
	char params[sizeof(set->esmtp)], *p, *save = NULL;
	const char *mac_m[] = { "{mail_addr}", set->path, "{auth_authen}",
	    set->auth, "{auth_type}", set->auth_type, "i", set->qid };
	const char *mac_r[] = { "{rcpt_addr}", set->path };
	size_t n = 0;

	strs[n++] = set->path;
	(void)snprintf(params, sizeof(params), "%s", set->esmtp);
	for (p = strtok_r(params, " ", &save); p != NULL && n < 32;
	    p = strtok_r(NULL, " ", &save))
		strs[n++] = p;
	if (cmd == MILTER_C_MAIL) {
		mf_macros(f, cmd, mac_m, 4);
		mf_strings(f, cmd, strs, n, MILTER_P_NR_MAIL);
	} else {
		mf_macros(f, cmd, mac_r, 1);
		mf_strings(f, cmd, strs, n, MILTER_P_NR_RCPT);
	}
}

/*
 * mf_build_body - the body in B chunks of at most MILTER_CHUNK_MAX, its
 * LF line ends sent as CR LF (as the message travels in SMTP).
 */
static void
mf_build_body(struct milter_filter *f, const char *p, size_t len)
{
	char chunk[MILTER_CHUNK_MAX];
	size_t n = 0, i, start;
	bool wait = (f->proto & MILTER_P_NR_BODY) == 0;

	for (i = 0; i <= len; i++) {
		if (i == len || n + 2 > sizeof(chunk)) {
			if (n == 0)
				break;
			start = f->q.len;
			if (milter_enc_body(&f->q, chunk, n) == 0)
				mf_add_step(f, start, wait);
			n = 0;
			if (i == len)
				break;
		}
		if (p[i] == '\n')
			chunk[n++] = '\r';
		chunk[n++] = p[i];
	}
}

/* mf_build_eom - T, the header fields (L), N, the body (B), E. */
static void
mf_build_eom(struct milter_filter *f)
{
	struct milter_set *set = f->set;
	const char *mac[] = { "i", set->qid };
	struct milter_hdr *h;
	size_t nh, i, body, vlen, start;
	char *name, *value;
	const char *strs[2], *v;

	if ((f->proto & MILTER_P_NODATA) == 0) {
		mf_macros(f, MILTER_C_DATA, mac, 1);
		mf_strings(f, MILTER_C_DATA, NULL, 0, MILTER_P_NR_DATA);
	}
	nh = milter_headers(set->msg, set->msglen, &h, &body);
	for (i = 0; i < nh && (f->proto & MILTER_P_NOHDRS) == 0; i++) {
		if (h[i].name_len == 0)
			continue;
		v = h[i].p + h[i].name_len + 1;		/* after ':' */
		vlen = h[i].len - h[i].name_len - 1;
		while (vlen > 0 && (v[vlen - 1] == '\n' || v[vlen - 1] == '\r'))
			vlen--;
		if ((f->proto & MILTER_P_HDR_LEADSPC) == 0 && vlen > 0 &&
		    *v == ' ') {
			v++;
			vlen--;
		}
		name = xasprintf("%.*s", (int)h[i].name_len, h[i].p);
		value = xasprintf("%.*s", (int)vlen, v);
		strs[0] = name;
		strs[1] = value;
		mf_strings(f, MILTER_C_HEADER, strs, 2, MILTER_P_NR_HDR);
		free(name);
		free(value);
	}
	free(h);
	if ((f->proto & MILTER_P_NOEOH) == 0)
		mf_strings(f, MILTER_C_EOH, NULL, 0, MILTER_P_NR_EOH);
	if ((f->proto & MILTER_P_NOBODY) == 0)
		mf_build_body(f, set->msg + body, set->msglen - body);
	mf_macros(f, MILTER_C_BODYEOB, mac, 1);
	start = f->q.len;
	if (milter_enc_cmd(&f->q, MILTER_C_BODYEOB) == 0)
		mf_add_step(f, start, true);
}

/* mf_build - this stage's packets for f. */
static void
mf_build(struct milter_filter *f)
{
	struct milter_set *set = f->set;
	const char *mac_h[] = { "{tls_version}", set->tls_version,
	    "{cipher}", set->tls_cipher };
	const char *helo[] = { set->helo };

	buf_reset(&f->q);
	f->nsteps = f->next = 0;
	switch (set->stage) {
	case SESSION_FILTER_CONNECT:
		mf_build_connect(f);
		break;
	case SESSION_FILTER_HELO:
		if ((f->proto & MILTER_P_NOHELO) == 0) {
			mf_macros(f, MILTER_C_HELO, mac_h, 2);
			mf_strings(f, MILTER_C_HELO, helo, 1,
			    MILTER_P_NR_HELO);
		}
		break;
	case SESSION_FILTER_MAIL:
		f->in_msg = true;
		f->msg_skip = false;
		if ((f->proto & MILTER_P_NOMAIL) == 0)
			mf_build_path(f, MILTER_C_MAIL);
		break;
	case SESSION_FILTER_RCPT:
		if ((f->proto & MILTER_P_NORCPT) == 0)
			mf_build_path(f, MILTER_C_RCPT);
		break;
	case SESSION_FILTER_EOM:
		mf_build_eom(f);
		break;
	case SESSION_FILTER_ABORT:
		break;
	}
	f->running = true;
}

/* mf_stage_done - f let the stage pass: the next filter. */
static void
mf_stage_done(struct milter_filter *f)
{
	struct milter_set *set = f->set;

	f->running = false;
	f->waiting = false;
	(void)evtimer_del(f->timer);
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_event(LOG_LEVEL_DEBUG, set->id, "event=milter",
		    LOG_TOK("filter", f->name), LOG_TOK("stage",
		    stage_names[set->stage]), LOG_TOK("action", "continue"));
	if (set->stage == SESSION_FILTER_EOM)
		f->in_msg = false;
	set->cur++;
	mf_run(set);
}

/*
 * mf_pump - send f's packets up to and including the next one it
 * answers; with none left, the stage has passed f.
 */
static void
mf_pump(struct milter_filter *f)
{
	struct milter_set *set = f->set;
	const struct mf_step *st;

	while (f->next < f->nsteps) {
		st = &f->steps[f->next++];
		if (bufferevent_write(f->bev, f->q.data + st->off, st->len)) {
			mf_fail(f, "write failed");
			return;
		}
		if (st->wait) {
			f->waiting = true;
			mf_arm(f, st->cmd == MILTER_C_BODY || st->cmd ==
			    MILTER_C_BODYEOB || st->cmd == MILTER_C_HEADER ?
			    set->cfg->milter_content_timeout :
			    set->cfg->milter_command_timeout);
			return;
		}
	}
	mf_stage_done(f);
}

/*
 * mf_run - carry the stage on from filter set->cur: skip the ones that
 * accepted, apply the default for dead ones, wait for connecting ones,
 * start the next; when all passed, the stage goes on.
 */
static void
mf_run(struct milter_set *set)
{
	struct milter_filter *f;

	while (set->active && set->cur < set->nf) {
		f = &set->f[set->cur];
		if (f->st == MF_CONNECTING || f->st == MF_NEGOTIATING)
			return;		/* mf_optneg resumes */
		if (f->st == MF_DEAD && set->stage != SESSION_FILTER_CONNECT &&
		    set->stage != SESSION_FILTER_HELO &&
		    default_verdict(set, &set->v)) {
			set_finish(set);
			return;
		}
		if (f->st != MF_READY || (f->msg_skip &&
		    set->stage != SESSION_FILTER_MAIL)) {
			set->cur++;
			continue;
		}
		if (f->running)
			return;		/* its answer resumes */
		mf_build(f);
		mf_pump(f);
		return;
	}
	if (set->active)
		set_finish(set);
}

/* mf_edit_header - h, i, m: a header edit, in order. */
static void
mf_edit_header(struct milter_filter *f, const struct milter_reply *r)
{
	struct milter_result *res = &f->set->res;
	struct milter_edit *e;

	res->hdr_edits = xrealloc(res->hdr_edits, res->nhdr_edits + 1,
	    sizeof(*res->hdr_edits));
	e = &res->hdr_edits[res->nhdr_edits++];
	e->kind = r->kind == MILTER_R_ADDHEADER ? MILTER_EDIT_ADD :
	    r->kind == MILTER_R_INSHEADER ? MILTER_EDIT_INSERT :
	    MILTER_EDIT_CHANGE;
	e->index = r->index;
	res->own = xrealloc(res->own, res->nown + 2, sizeof(*res->own));
	e->name = res->own[res->nown++] = xstrdup(r->a);
	e->value = res->own[res->nown++] = xstrdup(r->b);
	res->leadspc = (f->proto & MILTER_P_HDR_LEADSPC) != 0;
}

/* edit_action - the SMFIF_* flag an edit needs negotiated. */
static uint32_t
edit_action(enum milter_reply_kind kind)
{
	static const struct {
		enum milter_reply_kind	 kind;
		uint32_t		 flag;
	} need[] = {
		{ MILTER_R_ADDHEADER, MILTER_F_ADDHDRS },
		{ MILTER_R_INSHEADER, MILTER_F_ADDHDRS },
		{ MILTER_R_CHGHEADER, MILTER_F_CHGHDRS },
		{ MILTER_R_REPLBODY, MILTER_F_CHGBODY },
		{ MILTER_R_ADDRCPT, MILTER_F_ADDRCPT },
		{ MILTER_R_ADDRCPT_PAR, MILTER_F_ADDRCPT_PAR },
		{ MILTER_R_DELRCPT, MILTER_F_DELRCPT },
		{ MILTER_R_CHGFROM, MILTER_F_CHGFROM },
		{ MILTER_R_QUARANTINE, MILTER_F_QUARANTINE },
	};
	size_t i;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (need[i].kind == kind)
			return need[i].flag;
	return 0;
}

/*
 * mf_edit - record an end-of-message edit; -1 when out of room or not
 * negotiated (as libmilter's own side refuses to send it).
 */
static int
mf_edit(struct milter_filter *f, const struct milter_reply *r)
{
	struct milter_result *res = &f->set->res;
	struct milter_env_edit *ee;

	if ((f->actions & edit_action(r->kind)) == 0)
		return -1;

	if (r->kind == MILTER_R_REPLBODY) {
		if (!res->body_replaced)
			buf_reset(&res->body);
		res->body_replaced = true;
		return buf_add(&res->body, r->data, r->len);
	}
	if (r->kind == MILTER_R_QUARANTINE) {
		free(res->quarantine);
		res->quarantine = xstrdup(r->a);
		mf_log(f, "quarantine", r->a);
		return 0;
	}
	if (r->kind == MILTER_R_ADDHEADER || r->kind == MILTER_R_INSHEADER ||
	    r->kind == MILTER_R_CHGHEADER) {
		mf_edit_header(f, r);
		return 0;
	}
	/* + 2 - e: the envelope */
	res->env_edits = xrealloc(res->env_edits, res->nenv_edits + 1,
	    sizeof(*res->env_edits));
	ee = &res->env_edits[res->nenv_edits++];
	ee->kind = r->kind == MILTER_R_DELRCPT ? '-' :
	    r->kind == MILTER_R_CHGFROM ? 'e' : '+';
	ee->addr = xstrdup(r->a);
	return 0;
}

/* mf_verdict - a reply that decides the stage for every filter. */
static void
mf_verdict(struct milter_filter *f, enum session_filter_action a,
    const char *what, const char *text)
{
	struct milter_set *set = f->set;

	mf_log(f, what, text);
	f->running = false;
	f->waiting = false;
	(void)evtimer_del(f->timer);
	memset(&set->v, 0, sizeof(set->v));
	set->v.action = a;
	set_finish(set);
}

/* mf_custom - a 'y' reply: its code and text, or tempfail if unusable. */
static void
mf_custom(struct milter_filter *f, const char *text)
{
	struct milter_set *set = f->set;
	unsigned code = milter_reply_text(text, set->text, sizeof(set->text));

	if (code == 0) {
		mf_verdict(f, SESSION_FILTER_TEMPFAIL, "tempfail", text);
		return;
	}
	mf_verdict(f, SESSION_FILTER_CUSTOM, "reply", text);
	set->v.code = code;
	set->v.text = set->text;
}

/* mf_skip_body - 's': no more body chunks; on with what follows them. */
static void
mf_skip_body(struct milter_filter *f)
{
	while (f->next < f->nsteps && f->steps[f->next].cmd == MILTER_C_BODY)
		f->next++;
	mf_pump(f);
}

/* mf_accept - 'a': this filter is done with the message (or session). */
static void
mf_accept(struct milter_filter *f)
{
	struct milter_set *set = f->set;

	mf_log(f, "accept", NULL);
	if (set->stage == SESSION_FILTER_CONNECT ||
	    set->stage == SESSION_FILTER_HELO)
		f->st = MF_OFF;
	else
		f->msg_skip = true;
	mf_stage_done(f);
}

/*
 * mf_discard - 'd': at end of message, the verdict; before it, the
 * message is to be dropped (the other filters hear no more of it).
 */
static void
mf_discard(struct milter_filter *f)
{
	struct milter_set *set = f->set;

	if (set->stage == SESSION_FILTER_EOM) {
		mf_verdict(f, SESSION_FILTER_DISCARD, "discard", NULL);
		return;
	}
	mf_log(f, "discard", NULL);
	if (set->stage != SESSION_FILTER_CONNECT &&
	    set->stage != SESSION_FILTER_HELO)
		set->discard = true;
	f->msg_skip = true;
	mf_stage_done(f);
}

/* mf_answer - one answer of a filter in a stage. */
static void
mf_answer(struct milter_filter *f, const struct milter_reply *r)
{
	struct milter_set *set = f->set;
	bool at_eob = f->next > 0 &&
	    f->steps[f->next - 1].cmd == MILTER_C_BODYEOB;

	if (milter_reply_is_edit(r->kind)) {	/* while E is answered */
		if (!at_eob)
			mf_fail(f, "edit before end of message");
		else if (mf_edit(f, r) != 0)
			mf_fail(f, "edit not negotiated");
		return;
	}
	switch (r->kind) {
	case MILTER_R_PROGRESS:
		mf_arm(f, set->cfg->milter_content_timeout);
		return;
	case MILTER_R_CONTINUE:
		f->waiting = false;
		mf_pump(f);
		return;
	case MILTER_R_SKIP:
		f->waiting = false;
		mf_skip_body(f);
		return;
	case MILTER_R_ACCEPT:
		mf_accept(f);
		return;
	case MILTER_R_REJECT:
		mf_verdict(f, SESSION_FILTER_REJECT, "reject", NULL);
		return;
	case MILTER_R_TEMPFAIL:
		mf_verdict(f, SESSION_FILTER_TEMPFAIL, "tempfail", NULL);
		return;
	case MILTER_R_REPLYCODE:
		mf_custom(f, r->a);
		return;
	case MILTER_R_SHUTDOWN:
		mf_verdict(f, SESSION_FILTER_SHUTDOWN, "shutdown", NULL);
		return;
	case MILTER_R_CONN_FAIL:
		mf_verdict(f, SESSION_FILTER_TEMPFAIL, "conn-fail", NULL);
		f->st = MF_OFF;
		mf_close(f);
		return;
	case MILTER_R_DISCARD:
		mf_discard(f);
		return;
	case MILTER_R_OPTNEG:
	case MILTER_R_ADDHEADER:	/* the edits: above */
	case MILTER_R_INSHEADER:
	case MILTER_R_CHGHEADER:
	case MILTER_R_REPLBODY:
	case MILTER_R_ADDRCPT:
	case MILTER_R_ADDRCPT_PAR:
	case MILTER_R_DELRCPT:
	case MILTER_R_CHGFROM:
	case MILTER_R_QUARANTINE:
		break;
	}
	mf_fail(f, "unexpected reply");
}

/* mf_optneg - the filter's OPTNEG answer: what it wants, then go. */
static void
mf_optneg(struct milter_filter *f, const struct milter_packet *p)
{
	struct milter_optneg o;

	if (milter_optneg_parse(p, &o) != 0 || o.version < MILTER_VERSION) {
		mf_fail(f, "bad OPTNEG reply (milter protocol 6 needed)");
		return;
	}
	f->proto = o.protocol & MILTER_PROTO;
	f->actions = o.actions & MILTER_ACTIONS;
	f->st = MF_READY;
	(void)evtimer_del(f->timer);
	mf_run(f->set);
}

/* mf_read_cb - the filter's bytes: packets, one at a time. */
static void
mf_read_cb(struct bufferevent *bev, void *arg)
{
	struct milter_filter *f = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct milter_packet p;
	struct milter_reply r;
	enum milter_read_result res;
	size_t avail, used;
	char *data;

	while (f->bev != NULL && (avail = evbuffer_get_contiguous_space(in)) >
	    0) {
		data = (char *)evbuffer_pullup(in, (ev_ssize_t)avail);
		res = milter_reader_feed(&f->rd, data, avail, &used, &p);
		evbuffer_drain(in, used);
		if (res == MILTER_READ_ERROR) {
			mf_fail(f, "bad packet length");
			return;
		}
		if (res == MILTER_READ_MORE)
			continue;
		if (f->st == MF_NEGOTIATING)
			mf_optneg(f, &p);
		else if (!f->waiting)
			mf_fail(f, "reply out of turn");
		else if (milter_reply_parse(&p, &r) != 0)
			mf_fail(f, "malformed reply");
		else
			mf_answer(f, &r);
	}
}

/* mf_event_cb - connected, or the filter went away. */
static void
mf_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct milter_filter *f = arg;
	struct buf b;

	(void)bev;
	if ((what & BEV_EVENT_CONNECTED) != 0) {
		buf_init(&b, 64);
		(void)milter_enc_optneg(&b, MILTER_VERSION, MILTER_ACTIONS,
		    MILTER_PROTO);
		f->st = MF_NEGOTIATING;
		if (bufferevent_write(f->bev, b.data, b.len) != 0)
			mf_fail(f, "write failed");
		buf_release(&b);
		return;
	}
	mf_fail(f, (what & BEV_EVENT_EOF) != 0 ? "connection closed" :
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* mf_sockaddr - the filter's address: inet:HOST:PORT or unix:PATH. */
static int
mf_sockaddr(const char *name, struct sockaddr_storage *ss, int *len)
{
	struct sockaddr_un *un = (struct sockaddr_un *)ss;
	struct evutil_addrinfo hints, *ai = NULL;
	char host[256];
	const char *colon;

	memset(ss, 0, sizeof(*ss));
	if (strncmp(name, "unix:", 5) == 0) {
		if (strlen(name + 5) >= sizeof(un->sun_path))
			return -1;
		un->sun_family = AF_UNIX;
		(void)snprintf(un->sun_path, sizeof(un->sun_path), "%s",
		    name + 5);
		*len = (int)sizeof(*un);
		return 0;
	}
	colon = strrchr(name + 5, ':');
	if (colon == NULL)
		return -1;
	(void)snprintf(host, sizeof(host), "%.*s", (int)(colon - name - 5),
	    name + 5);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (evutil_getaddrinfo(host, colon + 1, &hints, &ai) != 0 || ai == NULL)
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = (int)ai->ai_addrlen;
	evutil_freeaddrinfo(ai);
	return 0;
}

/* mf_connect - start connecting; a failure leaves the filter dead. */
static void
mf_connect(struct milter_filter *f)
{
	struct sockaddr_storage ss;
	int len;

	f->st = MF_CONNECTING;
	f->bev = bufferevent_socket_new(f->set->base, -1,
	    BEV_OPT_CLOSE_ON_FREE);
	f->timer = evtimer_new(f->set->base, mf_timer_cb, f);
	if (f->bev == NULL || f->timer == NULL)
		log_fatal("out of memory (milter)");
	bufferevent_setcb(f->bev, mf_read_cb, NULL, mf_event_cb, f);
	bufferevent_enable(f->bev, EV_READ);
	mf_arm(f, f->set->cfg->milter_connect_timeout);
	if (mf_sockaddr(f->name, &ss, &len) != 0) {
		mf_fail(f, "cannot resolve the filter's address");
		return;
	}
	if (bufferevent_socket_connect(f->bev, (struct sockaddr *)&ss, len))
		mf_fail(f, "connect failed");
}

/* is_socket - a milter line's first word (the others are roles). */
static bool
is_socket(const char *word)
{
	return strncmp(word, "inet:", 5) == 0 || strncmp(word, "unix:", 5) == 0;
}

/* applies - whether the milter line at words[i] covers role. */
static bool
applies(const struct config *cfg, size_t i, enum conf_role role)
{
	size_t k;
	bool any = false;

	for (k = i + 1; k < cfg->nmilters && !is_socket(cfg->milters[k]);
	    k++) {
		any = true;
		if (strcmp(cfg->milters[k], conf_role_name(role)) == 0)
			return true;
	}
	return !any;
}

struct milter_set *
milter_set_new(struct event_base *base, const struct config *cfg,
    const struct milter_client *cl, milter_done_fn done, void *arg)
{
	struct milter_set *set;
	size_t i, n = 0;

	for (i = 0; i < cfg->nmilters; i++)
		if (is_socket(cfg->milters[i]) && applies(cfg, i, cl->role))
			n++;
	if (n == 0)
		return NULL;
	set = xcalloc(1, sizeof(*set));
	set->base = base;
	set->cfg = cfg;
	set->done = done;
	set->arg = arg;
	set->port = cl->port;
	(void)snprintf(set->id, sizeof(set->id), "%s", cl->session_id);
	(void)snprintf(set->addr, sizeof(set->addr), "%s", cl->addr);
	set->defer = event_new(base, -1, 0, set_defer_cb, set);
	if (set->defer == NULL)
		log_fatal("out of memory (milter)");
	buf_init(&set->res.body, SIZE_MAX);
	set->f = xcalloc(n, sizeof(*set->f));
	for (i = 0; i < cfg->nmilters; i++) {
		if (!is_socket(cfg->milters[i]) || !applies(cfg, i, cl->role))
			continue;
		set->f[set->nf].set = set;
		set->f[set->nf].name = cfg->milters[i];
		milter_reader_init(&set->f[set->nf].rd);
		buf_init(&set->f[set->nf].q, SIZE_MAX);
		set->nf++;
	}
	for (i = 0; i < set->nf; i++)
		mf_connect(&set->f[i]);
	return set;
}

void
milter_set_free(struct milter_set **setp)
{
	struct milter_set *set = *setp;
	struct milter_filter *f;
	struct buf b;
	size_t i;

	if (set == NULL)
		return;
	buf_init(&b, 16);
	(void)milter_enc_cmd(&b, MILTER_C_QUIT);
	for (i = 0; i < set->nf; i++) {
		f = &set->f[i];
		if (f->bev != NULL && f->st == MF_READY &&
		    bufferevent_write(f->bev, b.data, b.len) == 0)
			/* best effort: Q goes out if the socket takes it */
			(void)evbuffer_write(bufferevent_get_output(f->bev),
			    bufferevent_getfd(f->bev));
		mf_close(f);
		event_free(f->timer);
		milter_reader_release(&f->rd);
		buf_release(&f->q);
		free(f->steps);
	}
	buf_release(&b);
	result_reset(&set->res);
	buf_release(&set->res.body);
	event_free(set->defer);
	free(set->f);
	free(set);
	*setp = NULL;
}

/* set_abort - A to every filter inside a transaction; no answer. */
static void
set_abort(struct milter_set *set)
{
	struct buf b;
	size_t i;

	buf_init(&b, 16);
	(void)milter_enc_cmd(&b, MILTER_C_ABORT);
	for (i = 0; i < set->nf; i++) {
		if (set->f[i].in_msg && set->f[i].bev != NULL &&
		    set->f[i].st == MF_READY && !set->f[i].running)
			(void)bufferevent_write(set->f[i].bev, b.data, b.len);
		set->f[i].in_msg = false;
		set->f[i].msg_skip = false;
	}
	buf_release(&b);
	set->discard = false;
	result_reset(&set->res);
}

/* set_args - copy what a stage tells the filters. */
static void
set_args(struct milter_set *set, const struct session_filter_args *a,
    const char *queue_id)
{
	if (a->helo != NULL)
		(void)snprintf(set->helo, sizeof(set->helo), "%s", a->helo);
	(void)snprintf(set->path, sizeof(set->path), "%s",
	    a->addr != NULL ? a->addr : "");
	(void)snprintf(set->esmtp, sizeof(set->esmtp), "%s",
	    a->esmtp != NULL ? a->esmtp : "");
	(void)snprintf(set->auth, sizeof(set->auth), "%s",
	    a->auth_user != NULL ? a->auth_user : "");
	(void)snprintf(set->auth_type, sizeof(set->auth_type), "%s",
	    a->auth_type != NULL ? a->auth_type : "");
	(void)snprintf(set->tls_version, sizeof(set->tls_version), "%s",
	    a->tls_version != NULL ? a->tls_version : "");
	(void)snprintf(set->tls_cipher, sizeof(set->tls_cipher), "%s",
	    a->tls_cipher != NULL ? a->tls_cipher : "");
	(void)snprintf(set->qid, sizeof(set->qid), "%s",
	    queue_id != NULL ? queue_id : "");
}

bool
milter_stage(struct milter_set *set, enum session_filter_stage stage,
    const struct session_filter_args *args, const char *queue_id,
    const char *msg, size_t len)
{
	if (stage == SESSION_FILTER_ABORT) {
		set_abort(set);
		return false;
	}
	if (stage == SESSION_FILTER_MAIL)
		set_abort(set);		/* a new message: nothing carried */
	set_args(set, args, queue_id);
	set->stage = stage;
	set->msg = msg;
	set->msglen = len;
	set->cur = 0;
	memset(&set->v, 0, sizeof(set->v));
	if (stage == SESSION_FILTER_EOM && set->discard) {
		set_abort(set);		/* the filters hear no more of it */
		set->v.action = SESSION_FILTER_DISCARD;
		set_finish(set);
		return true;
	}
	set->active = true;
	mf_run(set);
	/* the stage passed every filter at once (no answer awaited) */
	if (!set->active && set->v.action == SESSION_FILTER_CONTINUE) {
		(void)event_del(set->defer);
		return false;
	}
	return true;
}

const struct milter_result *
milter_result(const struct milter_set *set)
{
	return &set->res;
}
