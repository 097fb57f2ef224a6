/* SPDX-License-Identifier: ISC */
/*
 * auth_cyrus - the Cyrus SASL backend of AUTH (RFC 4954, RFC 4616
 * PLAIN).  SASL is configured through a SASL_CB_GETOPT callback from
 * inlet.conf, never from /etc/sasl2: sasldb (auxprop) or saslauthd,
 * mech_list, realm, proxy users; security properties forbid plaintext
 * mechanisms before TLS and anonymous ones always.  Results map to enum
 * session_auth_result; an unknown user and a wrong password give the
 * same answer (no user enumeration).  Edge module.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sasl/sasl.h>

#include "auth_impl.h"
#include "log.h"
#include "xalloc.h"

#define AUTH_SERVICE	"smtp"			/* RFC 4954 §4 */

struct auth {
	char		 pwcheck[16];
	char		 sasldb[1024];
	char		 saslauthd[1024];
	char		 mech_list[512];
	sasl_callback_t	 cbs[3];
};

/* One session's SASL state. */
struct auth_cyrus {
	sasl_conn_t		*conn;
	sasl_callback_t		 cbs[3];
	bool			 final_pending;	/* data sent with SASL_OK */
	char			 local[80], remote[80];
	int			 ssf;
	char			*mechs;		/* from sasl_listmech */
};
/* auth_getopt_cb - SASL_CB_GETOPT: our settings, library defaults else. */
static int
auth_getopt_cb(void *context, const char *plugin, const char *option,
    const char **result, unsigned *len)
{
	const struct auth *a = context;

	(void)plugin;
	if (len != NULL)
		*len = 0;
	if (strcmp(option, "pwcheck_method") == 0)
		*result = a->pwcheck;
	else if (strcmp(option, "auxprop_plugin") == 0)
		*result = "sasldb";
	else if (strcmp(option, "sasldb_path") == 0 && a->sasldb[0] != '\0')
		*result = a->sasldb;
	else if (strcmp(option, "saslauthd_path") == 0)
		*result = a->saslauthd;
	else if (strcmp(option, "mech_list") == 0)
		*result = a->mech_list;
	else
		return SASL_FAIL;
	return SASL_OK;
}

/* auth_log - the library's own messages (they may quote the client). */
static void
auth_log(const char *session, int level, const char *message)
{
	if (level <= SASL_LOG_ERR)
		log_event(LOG_LEVEL_WARN, session, "event=sasl",
		    LOG_Q("message", message));
	else if (level <= SASL_LOG_NOTE)
		log_event(LOG_LEVEL_DEBUG, session, "event=sasl",
		    LOG_Q("message", message));
}

/* auth_log_cb - SASL_CB_LOG outside a connection. */
static int
auth_log_cb(void *context, int level, const char *message)
{
	(void)context;
	auth_log(NULL, level, message);
	return SASL_OK;
}

/* auth_sess_log_cb - SASL_CB_LOG of one session's connection. */
static int
auth_sess_log_cb(void *context, int level, const char *message)
{
	const struct auth_sess *s = context;

	auth_log(s->session, level, message);
	return SASL_OK;
}

/* auth_set_options - copy the settings the GETOPT callback hands out. */
static void
auth_set_options(struct auth *a, const struct config *cfg)
{
	size_t i, o = 0;

	(void)snprintf(a->pwcheck, sizeof(a->pwcheck), "%s",
	    cfg->sasl_pwcheck == CONF_PWCHECK_SASLAUTHD ? "saslauthd" :
	    "auxprop");
	(void)snprintf(a->sasldb, sizeof(a->sasldb), "%s",
	    cfg->sasl_db != NULL ? cfg->sasl_db : "");
	(void)snprintf(a->saslauthd, sizeof(a->saslauthd), "%s",
	    cfg->sasl_saslauthd_path);
	a->mech_list[0] = '\0';
	for (i = 0; i < cfg->nsasl_mechanisms && o < sizeof(a->mech_list);
	    i++)
		o += (size_t)snprintf(a->mech_list + o, sizeof(a->mech_list) - o,
		    "%s%s", i > 0 ? " " : "", cfg->sasl_mechanisms[i]);
}

int
auth_check(const struct config *cfg, char **err_out)
{
	if (cfg->sink || cfg->sasl_pwcheck != CONF_PWCHECK_AUXPROP ||
	    (cfg->sasl_db != NULL && access(cfg->sasl_db, R_OK) == 0))
		return 0;
	*err_out = xasprintf("sasl_db %s: cannot be read (%s)",
	    cfg->sasl_db != NULL ? cfg->sasl_db : "(not set)",
	    cfg->sasl_db != NULL ? strerror(errno) : "set sasl_db");
	return -1;
}

void
auth_reconfigure(struct auth *a, const struct config *cfg)
{
	auth_set_options(a, cfg);
}

struct auth *
auth_new(const struct config *cfg, char **err_out)
{
	struct auth *a;
	int rc;

	if (auth_check(cfg, err_out) != 0)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	auth_set_options(a, cfg);
	a->cbs[0] = (sasl_callback_t){ SASL_CB_GETOPT,
	    (int (*)(void))(void (*)(void))auth_getopt_cb, a };
	a->cbs[1] = (sasl_callback_t){ SASL_CB_LOG,
	    (int (*)(void))(void (*)(void))auth_log_cb, a };
	a->cbs[2] = (sasl_callback_t){ SASL_CB_LIST_END, NULL, NULL };
	rc = sasl_server_init(a->cbs, "smtpd");
	if (rc != SASL_OK)
		log_fatal("sasl_server_init: %s", sasl_errstring(rc, NULL,
		    NULL));
	return a;
}

void
auth_free(struct auth **ap)
{
	if (*ap == NULL)
		return;
	(void)sasl_server_done();
	free(*ap);
	*ap = NULL;
}

/*
 * auth_proxy_cb - SASL_CB_PROXY_POLICY: a PLAIN authzid other than the
 * login is allowed only for the logins listed in sasl_proxy_users.
 */
static int
auth_proxy_cb(sasl_conn_t *conn, void *context, const char *requested,
    unsigned rlen, const char *authid, unsigned alen, const char *realm,
    unsigned urlen, struct propctx *propctx)
{
	const struct auth_sess *s = context;
	char who[256], as[256];
	size_t i;

	(void)realm;
	(void)urlen;
	(void)propctx;
	if (rlen == alen && memcmp(requested, authid, alen) == 0)
		return SASL_OK;
	for (i = 0; i < s->cfg->nsasl_proxy_users; i++) {
		if (strlen(s->cfg->sasl_proxy_users[i]) == alen &&
		    memcmp(s->cfg->sasl_proxy_users[i], authid, alen) == 0)
			return SASL_OK;
	}
	/* sasl_seterror's own formatter knows %s but not %.*s */
	(void)snprintf(who, sizeof(who), "%.*s", (int)alen, authid);
	(void)snprintf(as, sizeof(as), "%.*s", (int)rlen, requested);
	sasl_seterror(conn, SASL_NOLOG, "%s may not act as %s", who, as);
	return SASL_NOAUTHZ;
}

/* auth_conn_open - a fresh sasl_conn_t with our security properties. */
static void
auth_conn_open(struct auth_sess *s)
{
	struct auth_cyrus *y = s->impl;
	sasl_security_properties_t sec;
	sasl_ssf_t ssf = (sasl_ssf_t)y->ssf;
	int rc;

	rc = sasl_server_new(AUTH_SERVICE, s->cfg->hostname, s->cfg->sasl_realm,
	    y->local[0] != '\0' ? y->local : NULL,
	    y->remote[0] != '\0' ? y->remote : NULL, y->cbs, 0, &y->conn);
	if (rc != SASL_OK) {
		log_event(LOG_LEVEL_WARN, s->session, "event=sasl",
		    LOG_TOK("op", "sasl_server_new"),
		    LOG_Q("error", sasl_errstring(rc, NULL, NULL)));
		y->conn = NULL;
		return;
	}
	memset(&sec, 0, sizeof(sec));
	sec.security_flags = SASL_SEC_NOPLAINTEXT | SASL_SEC_NOANONYMOUS;
	sec.max_ssf = 0;		/* no SASL security layer */
	(void)sasl_setprop(y->conn, SASL_SEC_PROPS, &sec);
	if (ssf > 0)			/* TLS: plaintext mechanisms allowed */
		(void)sasl_setprop(y->conn, SASL_SSF_EXTERNAL, &ssf);
}

/* auth_cyrus_open - auth_backend.open: a SASL connection.  When the
 * library cannot make one every exchange answers 454 (and the next
 * abort tries again). */
static int
auth_cyrus_open(struct auth_sess *s, const char *local, const char *remote,
    int ssf)
{
	struct auth_cyrus *y = xcalloc(1, sizeof(*y));

	s->impl = y;
	y->ssf = ssf;
	(void)snprintf(y->local, sizeof(y->local), "%s", local ? local : "");
	(void)snprintf(y->remote, sizeof(y->remote), "%s",
	    remote ? remote : "");
	y->cbs[0] = (sasl_callback_t){ SASL_CB_PROXY_POLICY,
	    (int (*)(void))(void (*)(void))auth_proxy_cb, s };
	y->cbs[1] = (sasl_callback_t){ SASL_CB_LOG,
	    (int (*)(void))(void (*)(void))auth_sess_log_cb, s };
	y->cbs[2] = (sasl_callback_t){ SASL_CB_LIST_END, NULL, NULL };
	auth_conn_open(s);
	return 0;
}

/* auth_cyrus_close - auth_backend.close */
static void
auth_cyrus_close(struct auth_sess *s)
{
	struct auth_cyrus *y = s->impl;

	if (y->conn != NULL)
		sasl_dispose(&y->conn);
	free(y->mechs);
	free(y);
	s->impl = NULL;
}

/* auth_cyrus_mechs - auth_backend.mechs: what sasl_listmech offers. */
static const char *
auth_cyrus_mechs(struct auth_sess *s)
{
	struct auth_cyrus *y = s->impl;
	const char *list = NULL;
	unsigned len = 0;
	int count = 0;

	if (y->conn == NULL)
		return "";
	if (sasl_listmech(y->conn, NULL, "", " ", "", &list, &len, &count) !=
	    SASL_OK || count == 0)
		return "";
	free(y->mechs);
	y->mechs = xstrdup(list);	/* list is owned by the conn */
	return y->mechs;
}

/* auth_cyrus_abort - auth_backend.abort: a clean slate for the next try */
static void
auth_cyrus_abort(struct auth_sess *s)
{
	struct auth_cyrus *y = s->impl;

	y->final_pending = false;
	if (y->conn != NULL) {
		sasl_dispose(&y->conn);
		auth_conn_open(s);
	}
}

/*
 * auth_identity - the authorization id after success; one that is not
 * auth_is_identity() is refused as a failure.
 */
static enum session_auth_result
auth_identity(struct auth_sess *s, struct buf *out)
{
	struct auth_cyrus *y = s->impl;
	const void *p = NULL;

	if (sasl_getprop(y->conn, SASL_USERNAME, &p) != SASL_OK || p == NULL)
		return SESSION_AUTH_TEMP;
	if (!auth_is_identity(p)) {
		auth_bad_identity(s);
		auth_cyrus_abort(s);
		return SESSION_AUTH_FAIL;
	}
	buf_reset(out);
	(void)buf_adds(out, p);
	return SESSION_AUTH_OK;
}
/* auth_map - a SASL result as a session result. */
static enum session_auth_result
auth_map(int rc)
{
	switch (rc) {
	case SASL_OK:
		return SESSION_AUTH_OK;
	case SASL_CONTINUE:
		return SESSION_AUTH_CONTINUE;
	case SASL_BADAUTH:
	case SASL_NOUSER:
	case SASL_NOAUTHZ:
	case SASL_NOVERIFY:
	case SASL_BADPROT:
	case SASL_BADPARAM:
	case SASL_BADVERS:
	case SASL_EXPIRED:
	case SASL_DISABLED:
	case SASL_TRANS:
		return SESSION_AUTH_FAIL;
	case SASL_NOMECH:
		return SESSION_AUTH_NOMECH;
	case SASL_ENCRYPT:
		return SESSION_AUTH_ENCRYPT;
	case SASL_TOOWEAK:
		return SESSION_AUTH_WEAK;
	default:			/* SASL_FAIL, SASL_UNAVAIL, NOMEM... */
		return SESSION_AUTH_TEMP;
	}
}

/*
 * auth_result - after sasl_server_start/step: a challenge, or success
 * (with final server data sent first as a 334, RFC 4954 §4), or failure
 * (logged with SASL's detail, never with the client's data).
 */
static enum session_auth_result
auth_result(struct auth_sess *s, int rc, const char *data, unsigned len,
    struct buf *out)
{
	struct auth_cyrus *y = s->impl;
	enum session_auth_result r = auth_map(rc);

	if (r == SESSION_AUTH_OK && len > 0) {
		y->final_pending = true;
		auth_encode(data, len, out);
		return SESSION_AUTH_CONTINUE;
	}
	if (r == SESSION_AUTH_CONTINUE) {
		auth_encode(data, len, out);
		return r;
	}
	if (r == SESSION_AUTH_OK)
		return auth_identity(s, out);
	log_event(LOG_LEVEL_INFO, s->session, "event=sasl-result",
	    LOG_TOK("mech", s->mech), LOG_I("result", rc),
	    LOG_Q("detail", sasl_errdetail(y->conn)));
	auth_cyrus_abort(s);
	return r;
}

/* auth_cyrus_start - auth_backend.start: sasl_server_start. */
static enum session_auth_result
auth_cyrus_start(struct auth_sess *s, const char *data, size_t n,
    bool has_ir, struct buf *out)
{
	struct auth_cyrus *y = s->impl;
	const char *sout = NULL;
	unsigned soutlen = 0;
	int rc;

	y->final_pending = false;
	if (y->conn == NULL)
		return SESSION_AUTH_TEMP;
	if (has_ir && strcmp(s->mech, "PLAIN") == 0)
		auth_plain_login(s, data, n);
	if (has_ir && strcmp(s->mech, "LOGIN") == 0)
		auth_set_login(s, data, n);
	rc = sasl_server_start(y->conn, s->mech, has_ir ? data : NULL,
	    (unsigned)n, &sout, &soutlen);
	return auth_result(s, rc, sout, soutlen, out);
}

/* auth_step_login - note the login name a response carries. */
static void
auth_step_login(struct auth_sess *s, const char *d, size_t n)
{
	const char *sp;

	if (s->login[0] != '\0')
		return;
	if (strcmp(s->mech, "PLAIN") == 0)
		auth_plain_login(s, d, n);
	else if (strcmp(s->mech, "LOGIN") == 0)
		auth_set_login(s, d, n);
	else if (strcmp(s->mech, "CRAM-MD5") == 0 &&
	    (sp = memchr(d, ' ', n)) != NULL)
		auth_set_login(s, d, (size_t)(sp - d));
}

/* auth_cyrus_step - auth_backend.step: sasl_server_step. */
static enum session_auth_result
auth_cyrus_step(struct auth_sess *s, const char *data, size_t n,
    struct buf *out)
{
	struct auth_cyrus *y = s->impl;
	const char *sout = NULL;
	unsigned soutlen = 0;
	int rc;

	if (y->conn == NULL)
		return SESSION_AUTH_TEMP;
	if (y->final_pending) {		/* the client's empty line */
		y->final_pending = false;
		return auth_identity(s, out);
	}
	auth_step_login(s, data, n);
	rc = sasl_server_step(y->conn, data, (unsigned)n, &sout, &soutlen);
	return auth_result(s, rc, sout, soutlen, out);
}

const struct auth_backend auth_cyrus_backend = {
	.open = auth_cyrus_open, .close = auth_cyrus_close,
	.mechs = auth_cyrus_mechs, .start = auth_cyrus_start,
	.step = auth_cyrus_step, .abort = auth_cyrus_abort,
};
