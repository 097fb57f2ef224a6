/* SPDX-License-Identifier: ISC */
/*
 * auth - Cyrus SASL server side for SMTP AUTH (RFC 4954, RFC 4616 PLAIN).
 * SASL is configured through a SASL_CB_GETOPT callback from inlet.conf,
 * never from /etc/sasl2.  Results map to enum session_auth_result; an
 * unknown user and a wrong password give the same answer (no user
 * enumeration).  The sink's stand-in accepts anything: it exists so that
 * applications under test can log in with whatever they have.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <sasl/sasl.h>
#include <sasl/saslutil.h>

#include "auth.h"
#include "log.h"

#define AUTH_SERVICE	"smtp"			/* RFC 4954 §4 */
#define AUTH_MAX_DATA	12288			/* RFC 4954 §4 line limit */
#define AUTH_BANS_MAX	4096			/* addresses remembered */
#define AUTH_DELAY_MAX	5			/* seconds */
#define AUTH_SINK_MECHS	"PLAIN LOGIN CRAM-MD5"

struct auth_ban {
	char	addr[64];
	time_t	first;		/* first failure of the window */
	time_t	until;		/* banned until (0 = not banned) */
	unsigned fails;
};

struct auth {
	bool		 sink;
	char		 pwcheck[16];
	char		 sasldb[1024];
	char		 saslauthd[1024];
	char		 mech_list[512];
	sasl_callback_t	 cbs[3];
	struct auth_ban	*bans;
	size_t		 nbans;
};

enum auth_sink_step {
	AUTH_SINK_NONE,
	AUTH_SINK_PLAIN,	/* waiting for the PLAIN response */
	AUTH_SINK_LOGIN_USER,	/* "Username:" sent */
	AUTH_SINK_LOGIN_PASS,	/* "Password:" sent */
	AUTH_SINK_CRAM,		/* challenge sent */
};

struct auth_sess {
	struct auth		*a;
	const struct config	*cfg;
	sasl_conn_t		*conn;
	sasl_callback_t		 cbs[3];
	bool			 final_pending;	/* data sent with SASL_OK */
	enum auth_sink_step	 sink;
	char			 session[17];	/* the session id, for logs */
	char			 login[256];	/* as sent (logs escape it) */
	char			 mech[21];
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

	a->sink = cfg->sink;
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
	*err_out = malloc(1200);
	if (*err_out == NULL)
		log_fatal("out of memory (auth)");
	(void)snprintf(*err_out, 1200, "sasl_db %s: cannot be read (%s)",
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
	if ((a = calloc(1, sizeof(*a))) == NULL)
		log_fatal("out of memory (auth)");
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
	free((*ap)->bans);
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
	sasl_security_properties_t sec;
	sasl_ssf_t ssf = (sasl_ssf_t)s->ssf;
	int rc;

	rc = sasl_server_new(AUTH_SERVICE, s->cfg->hostname, s->cfg->sasl_realm,
	    s->local[0] != '\0' ? s->local : NULL,
	    s->remote[0] != '\0' ? s->remote : NULL, s->cbs, 0, &s->conn);
	if (rc != SASL_OK) {
		log_event(LOG_LEVEL_WARN, s->session, "event=sasl",
		    LOG_TOK("op", "sasl_server_new"),
		    LOG_Q("error", sasl_errstring(rc, NULL, NULL)));
		s->conn = NULL;
		return;
	}
	memset(&sec, 0, sizeof(sec));
	sec.security_flags = SASL_SEC_NOPLAINTEXT | SASL_SEC_NOANONYMOUS;
	sec.max_ssf = 0;		/* no SASL security layer */
	(void)sasl_setprop(s->conn, SASL_SEC_PROPS, &sec);
	if (ssf > 0)			/* TLS: plaintext mechanisms allowed */
		(void)sasl_setprop(s->conn, SASL_SSF_EXTERNAL, &ssf);
}

struct auth_sess *
auth_sess_new(struct auth *a, const struct config *cfg, const char *session,
    const char *local, const char *remote, int ssf)
{
	struct auth_sess *s = calloc(1, sizeof(*s));

	if (s == NULL)
		log_fatal("out of memory (auth session)");
	s->a = a;
	s->cfg = cfg;
	s->ssf = ssf;
	(void)snprintf(s->session, sizeof(s->session), "%s", session);
	(void)snprintf(s->local, sizeof(s->local), "%s", local ? local : "");
	(void)snprintf(s->remote, sizeof(s->remote), "%s",
	    remote ? remote : "");
	s->cbs[0] = (sasl_callback_t){ SASL_CB_PROXY_POLICY,
	    (int (*)(void))(void (*)(void))auth_proxy_cb, s };
	s->cbs[1] = (sasl_callback_t){ SASL_CB_LOG,
	    (int (*)(void))(void (*)(void))auth_sess_log_cb, s };
	s->cbs[2] = (sasl_callback_t){ SASL_CB_LIST_END, NULL, NULL };
	if (!cfg->sink)
		auth_conn_open(s);
	return s;
}

void
auth_sess_free(struct auth_sess **sp)
{
	struct auth_sess *s = *sp;

	if (s == NULL)
		return;
	if (s->conn != NULL)
		sasl_dispose(&s->conn);
	free(s->mechs);
	free(s);
	*sp = NULL;
}

const char *
auth_sess_mechs(struct auth_sess *s)
{
	const char *list = NULL;
	unsigned len = 0;
	int count = 0;

	if (s->cfg->sink)
		return AUTH_SINK_MECHS;
	if (s->conn == NULL)
		return "";
	if (sasl_listmech(s->conn, NULL, "", " ", "", &list, &len, &count) !=
	    SASL_OK || count == 0)
		return "";
	free(s->mechs);
	s->mechs = strdup(list);	/* list is owned by the conn */
	if (s->mechs == NULL)
		log_fatal("out of memory (mechanisms)");
	return s->mechs;
}

const char *
auth_sess_login(const struct auth_sess *s)
{
	return s->login;
}

const char *
auth_sess_mech(const struct auth_sess *s)
{
	return s->mech;
}

void
auth_sess_abort(struct auth_sess *s)
{
	s->final_pending = false;
	s->sink = AUTH_SINK_NONE;
	if (s->conn != NULL) {		/* a clean slate for the next try */
		sasl_dispose(&s->conn);
		auth_conn_open(s);
	}
}

/*
 * auth_decode - base64 (RFC 4954 §4: "=" is an empty response) into out
 * (room for AUTH_MAX_DATA).  Returns the length, or -1 on bad base64
 * (sasl_decode64 answers CONTINUE for incomplete input: that is bad too).
 */
static int
auth_decode(const char *in, size_t len, char *out)
{
	unsigned outlen = 0;

	if (len == 1 && in[0] == '=')
		return 0;
	if (len > AUTH_MAX_DATA || sasl_decode64(in, (unsigned)len, out,
	    AUTH_MAX_DATA, &outlen) != SASL_OK)
		return -1;
	return (int)outlen;
}

/* auth_encode - raw bytes as base64 into out ("" for none). */
static void
auth_encode(const char *in, unsigned len, struct buf *out)
{
	char b64[AUTH_MAX_DATA];
	unsigned outlen = 0;

	buf_reset(out);
	if (len == 0 || sasl_encode64(in, len, b64, sizeof(b64), &outlen) !=
	    SASL_OK)
		outlen = 0;
	(void)buf_add(out, b64, outlen);
}

/* auth_set_login - remember the login name seen (up to 255 bytes). */
static void
auth_set_login(struct auth_sess *s, const char *p, size_t n)
{
	if (n >= sizeof(s->login))
		n = sizeof(s->login) - 1;
	memcpy(s->login, p, n);
	s->login[n] = '\0';
}

/*
 * auth_is_identity - an authorization id fit for the logs, replies and
 * the queue's envelope: no control characters, spaces or angle brackets
 * (a PLAIN authzid may contain anything), under 255 bytes.
 */
static bool
auth_is_identity(const char *p)
{
	const unsigned char *u;

	for (u = (const unsigned char *)p; *u != '\0'; u++)
		if (*u <= 0x20 || *u == 0x7f || *u == '<' || *u == '>' ||
		    u - (const unsigned char *)p >= 255)
			return false;
	return true;
}

/* auth_plain_login - authcid from "authzid NUL authcid NUL passwd". */
static void
auth_plain_login(struct auth_sess *s, const char *d, size_t n)
{
	const char *a = memchr(d, '\0', n), *b;

	if (a == NULL)
		return;
	a++;
	b = memchr(a, '\0', n - (size_t)(a - d));
	auth_set_login(s, a, b != NULL ? (size_t)(b - a) : 0);
}

/*
 * auth_identity - the authorization id after success; one that is not
 * auth_is_identity() is refused as a failure.
 */
static enum session_auth_result
auth_identity(struct auth_sess *s, struct buf *out)
{
	const void *p = NULL;

	if (sasl_getprop(s->conn, SASL_USERNAME, &p) != SASL_OK || p == NULL)
		return SESSION_AUTH_TEMP;
	if (!auth_is_identity(p)) {
		log_event(LOG_LEVEL_INFO, s->session, "event=sasl-result",
		    LOG_TOK("mech", s->mech), LOG_TOK("result", "bad-identity"));
		auth_sess_abort(s);
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
	enum session_auth_result r = auth_map(rc);

	if (r == SESSION_AUTH_OK && len > 0) {
		s->final_pending = true;
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
	    LOG_Q("detail", sasl_errdetail(s->conn)));
	auth_sess_abort(s);
	return r;
}

/* auth_sink_start - the stand-in: any credentials are good. */
static enum session_auth_result
auth_sink_start(struct auth_sess *s, const char *mech, const char *ir,
    size_t irlen, struct buf *out)
{
	char chal[128];
	unsigned char r[8];

	buf_reset(out);
	if (strcmp(mech, "PLAIN") == 0) {
		s->sink = AUTH_SINK_PLAIN;
		return ir == NULL ? SESSION_AUTH_CONTINUE :
		    auth_sess_step(s, ir, irlen, out);
	}
	if (strcmp(mech, "LOGIN") == 0) {
		s->sink = AUTH_SINK_LOGIN_USER;
		if (ir != NULL)
			return auth_sess_step(s, ir, irlen, out);
		auth_encode("Username:", 9, out);
		return SESSION_AUTH_CONTINUE;
	}
	if (strcmp(mech, "CRAM-MD5") == 0) {
		(void)RAND_bytes(r, sizeof(r));
		(void)snprintf(chal, sizeof(chal), "<%02x%02x%02x%02x%02x%02x"
		    "%02x%02x.%lld@%s>", r[0], r[1], r[2], r[3], r[4], r[5],
		    r[6], r[7], (long long)time(NULL), s->cfg->hostname);
		s->sink = AUTH_SINK_CRAM;
		auth_encode(chal, (unsigned)strlen(chal), out);
		return SESSION_AUTH_CONTINUE;
	}
	return SESSION_AUTH_NOMECH;
}

/* auth_sink_step - the stand-in's next step. */
static enum session_auth_result
auth_sink_step(struct auth_sess *s, const char *d, size_t n, struct buf *out)
{
	enum auth_sink_step st = s->sink;

	buf_reset(out);
	s->sink = AUTH_SINK_NONE;
	switch (st) {
	case AUTH_SINK_PLAIN:
		auth_plain_login(s, d, n);
		break;
	case AUTH_SINK_LOGIN_USER:
		auth_set_login(s, d, n);
		s->sink = AUTH_SINK_LOGIN_PASS;
		auth_encode("Password:", 9, out);
		return SESSION_AUTH_CONTINUE;
	case AUTH_SINK_LOGIN_PASS:
		break;
	case AUTH_SINK_CRAM:
		auth_set_login(s, d, memchr(d, ' ', n) != NULL ?
		    (size_t)((const char *)memchr(d, ' ', n) - d) : n);
		break;
	case AUTH_SINK_NONE:
		return SESSION_AUTH_FAIL;
	}
	if (!auth_is_identity(s->login)) {	/* as the real backend would */
		log_event(LOG_LEVEL_INFO, s->session, "event=sasl-result",
		    LOG_TOK("mech", s->mech), LOG_TOK("result", "bad-identity"));
		return SESSION_AUTH_FAIL;
	}
	(void)buf_adds(out, s->login[0] != '\0' ? s->login : "anonymous");
	return SESSION_AUTH_OK;
}

enum session_auth_result
auth_sess_start(struct auth_sess *s, const char *mech, const char *ir,
    size_t irlen, struct buf *out)
{
	char data[AUTH_MAX_DATA];
	const char *sout = NULL;
	unsigned soutlen = 0;
	int n = 0, rc;

	(void)snprintf(s->mech, sizeof(s->mech), "%s", mech);
	s->login[0] = '\0';
	s->final_pending = false;
	if (s->cfg->sink)
		return auth_sink_start(s, mech, ir, irlen, out);
	if (s->conn == NULL)
		return SESSION_AUTH_TEMP;
	if (ir != NULL && (n = auth_decode(ir, irlen, data)) < 0)
		return SESSION_AUTH_BADB64;
	if (ir != NULL && strcmp(mech, "PLAIN") == 0)
		auth_plain_login(s, data, (size_t)n);
	if (ir != NULL && strcmp(mech, "LOGIN") == 0)
		auth_set_login(s, data, (size_t)n);
	rc = sasl_server_start(s->conn, mech, ir != NULL ? data : NULL,
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

enum session_auth_result
auth_sess_step(struct auth_sess *s, const char *resp, size_t len,
    struct buf *out)
{
	char data[AUTH_MAX_DATA];
	const char *sout = NULL;
	unsigned soutlen = 0;
	int n, rc;

	if ((n = auth_decode(resp, len, data)) < 0) {
		auth_sess_abort(s);
		return SESSION_AUTH_BADB64;
	}
	if (s->cfg->sink)
		return auth_sink_step(s, data, (size_t)n, out);
	if (s->conn == NULL)
		return SESSION_AUTH_TEMP;
	if (s->final_pending) {		/* the client's empty line */
		s->final_pending = false;
		return auth_identity(s, out);
	}
	auth_step_login(s, data, (size_t)n);
	rc = sasl_server_step(s->conn, data, (unsigned)n, &sout, &soutlen);
	return auth_result(s, rc, sout, soutlen, out);
}

/* auth_ban_find - the entry for addr, expiring stale ones on the way;
 * with create, a new entry (the oldest is reused when the table is
 * full). */
static struct auth_ban *
auth_ban_find(struct auth *a, const char *addr, time_t now, bool create)
{
	struct auth_ban *b, *oldest = NULL;
	size_t i;

	for (i = 0; i < a->nbans; i++) {
		b = &a->bans[i];
		if (b->until <= now && b->first + AUTH_FAIL_WINDOW <= now)
			b->addr[0] = '\0';	/* expired: free slot */
		if (strcmp(b->addr, addr) == 0 && addr[0] != '\0')
			return b;
		if (oldest == NULL || b->addr[0] == '\0' ||
		    (oldest->addr[0] != '\0' && b->first < oldest->first))
			oldest = b;
	}
	if (!create)
		return NULL;
	if ((oldest == NULL || oldest->addr[0] != '\0') &&
	    a->nbans < AUTH_BANS_MAX) {
		b = realloc(a->bans, (a->nbans + 1) * sizeof(*b));
		if (b == NULL)
			log_fatal("out of memory (auth bans)");
		a->bans = b;
		oldest = &a->bans[a->nbans++];
	}
	memset(oldest, 0, sizeof(*oldest));
	(void)snprintf(oldest->addr, sizeof(oldest->addr), "%s", addr);
	oldest->first = now;
	return oldest;
}

int
auth_throttle_fail(struct auth *a, const struct config *cfg,
    const char *session, const char *addr, time_t now, unsigned *fails_out)
{
	struct auth_ban *b = auth_ban_find(a, addr, now, true);

	b->fails++;
	*fails_out = b->fails;
	if (b->fails >= cfg->auth_fail_limit) {
		b->until = now + (time_t)cfg->auth_ban_time;
		log_event(LOG_LEVEL_INFO, session, "event=auth-ban",
		    LOG_TOK("client", addr), LOG_U("fails", b->fails),
		    LOG_U("seconds", cfg->auth_ban_time));
		return -1;
	}
	return b->fails < AUTH_DELAY_MAX ? (int)b->fails : AUTH_DELAY_MAX;
}

bool
auth_is_banned(struct auth *a, const char *addr, time_t now)
{
	const struct auth_ban *b = auth_ban_find(a, addr, now, false);

	return b != NULL && b->until > now;
}
