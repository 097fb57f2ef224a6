/* SPDX-License-Identifier: ISC */
/*
 * auth_sink - the sink's AUTH backend: any credentials are good for
 * PLAIN (RFC 4616), LOGIN and CRAM-MD5 (RFC 2195), so that applications
 * under test can log in with whatever they have.  The login name becomes
 * the authorization id, refused like the real backend would refuse it
 * when it is not fit for the logs.  Edge module.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "auth_impl.h"
#include "xalloc.h"

#define AUTH_SINK_MECHS	"PLAIN LOGIN CRAM-MD5"

enum auth_sink_step {
	AUTH_SINK_NONE,
	AUTH_SINK_PLAIN,	/* waiting for the PLAIN response */
	AUTH_SINK_LOGIN_USER,	/* "Username:" sent */
	AUTH_SINK_LOGIN_PASS,	/* "Password:" sent */
	AUTH_SINK_CRAM,		/* challenge sent */
};

struct auth_sink {
	enum auth_sink_step	 step;
};

/* auth_sink_open - auth_backend.open */
static int
auth_sink_open(struct auth_sess *s, const char *local, const char *remote,
    int ssf)
{
	(void)local;
	(void)remote;
	(void)ssf;
	s->impl = xcalloc(1, sizeof(struct auth_sink));
	return 0;
}

/* auth_sink_close - auth_backend.close */
static void
auth_sink_close(struct auth_sess *s)
{
	free(s->impl);
	s->impl = NULL;
}

/* auth_sink_mechs - auth_backend.mechs */
static const char *
auth_sink_mechs(struct auth_sess *s)
{
	(void)s;
	return AUTH_SINK_MECHS;
}

/* auth_sink_abort - auth_backend.abort */
static void
auth_sink_abort(struct auth_sess *s)
{
	struct auth_sink *k = s->impl;

	k->step = AUTH_SINK_NONE;
}

/* auth_sink_step - auth_backend.step: the stand-in's next step. */
static enum session_auth_result
auth_sink_step(struct auth_sess *s, const char *d, size_t n, struct buf *out)
{
	struct auth_sink *k = s->impl;
	enum auth_sink_step st = k->step;

	buf_reset(out);
	k->step = AUTH_SINK_NONE;
	switch (st) {
	case AUTH_SINK_PLAIN:
		auth_plain_login(s, d, n);
		break;
	case AUTH_SINK_LOGIN_USER:
		auth_set_login(s, d, n);
		k->step = AUTH_SINK_LOGIN_PASS;
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
		auth_bad_identity(s);
		return SESSION_AUTH_FAIL;
	}
	(void)buf_adds(out, s->login[0] != '\0' ? s->login : "anonymous");
	return SESSION_AUTH_OK;
}

/* auth_sink_cram - a CRAM-MD5 challenge (RFC 2195 §2 shape). */
static void
auth_sink_cram(struct auth_sess *s, struct buf *out)
{
	char chal[128];
	unsigned char r[8];

	(void)RAND_bytes(r, sizeof(r));
	(void)snprintf(chal, sizeof(chal), "<%02x%02x%02x%02x%02x%02x"
	    "%02x%02x.%lld@%s>", r[0], r[1], r[2], r[3], r[4], r[5],
	    r[6], r[7], (long long)time(NULL), s->cfg->hostname);
	auth_encode(chal, (unsigned)strlen(chal), out);
}

/* auth_sink_start - auth_backend.start */
static enum session_auth_result
auth_sink_start(struct auth_sess *s, const char *data, size_t n,
    bool has_ir, struct buf *out)
{
	struct auth_sink *k = s->impl;

	buf_reset(out);
	if (strcmp(s->mech, "PLAIN") == 0) {
		k->step = AUTH_SINK_PLAIN;
		return !has_ir ? SESSION_AUTH_CONTINUE :
		    auth_sink_step(s, data, n, out);
	}
	if (strcmp(s->mech, "LOGIN") == 0) {
		k->step = AUTH_SINK_LOGIN_USER;
		if (has_ir)
			return auth_sink_step(s, data, n, out);
		auth_encode("Username:", 9, out);
		return SESSION_AUTH_CONTINUE;
	}
	if (strcmp(s->mech, "CRAM-MD5") == 0) {
		k->step = AUTH_SINK_CRAM;
		auth_sink_cram(s, out);
		return SESSION_AUTH_CONTINUE;
	}
	return SESSION_AUTH_NOMECH;
}

const struct auth_backend auth_sink_backend = {
	.open = auth_sink_open, .close = auth_sink_close,
	.mechs = auth_sink_mechs, .start = auth_sink_start,
	.step = auth_sink_step, .abort = auth_sink_abort,
};
