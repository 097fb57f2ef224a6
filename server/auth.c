/* SPDX-License-Identifier: ISC */
/*
 * auth - SMTP AUTH sessions (RFC 4954) over a backend: Cyrus SASL
 * (auth_cyrus.c) or the sink's stand-in that accepts anything
 * (auth_sink.c), chosen once per session.  Here: the base64 of every
 * exchange ("=" is an empty response), the login name and mechanism kept
 * for the logs, and the helpers both backends share.  Edge module: no
 * libevent; base64 through libsasl2's helpers.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sasl/sasl.h>
#include <sasl/saslutil.h>

#include "auth_impl.h"
#include "log.h"
#include "xalloc.h"

struct auth_sess *
auth_sess_new(struct auth *a, const struct config *cfg, const char *session,
    const char *local, const char *remote, int ssf)
{
	struct auth_sess *s = xcalloc(1, sizeof(*s));

	s->be = cfg->sink ? &auth_sink_backend : &auth_cyrus_backend;
	s->a = a;
	s->cfg = cfg;
	(void)snprintf(s->session, sizeof(s->session), "%s", session);
	if (s->be->open(s, local, remote, ssf) != 0)
		s->be = NULL;		/* every exchange: 454 */
	return s;
}

void
auth_sess_free(struct auth_sess **sp)
{
	struct auth_sess *s = *sp;

	if (s == NULL)
		return;
	if (s->be != NULL)
		s->be->close(s);
	free(s);
	*sp = NULL;
}

const char *
auth_sess_mechs(struct auth_sess *s)
{
	return s->be != NULL ? s->be->mechs(s) : "";
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
	if (s->be != NULL)
		s->be->abort(s);
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

enum session_auth_result
auth_sess_start(struct auth_sess *s, const char *mech, const char *ir,
    size_t irlen, struct buf *out)
{
	char data[AUTH_MAX_DATA];
	int n = 0;

	(void)snprintf(s->mech, sizeof(s->mech), "%s", mech);
	s->login[0] = '\0';
	if (s->be == NULL)
		return SESSION_AUTH_TEMP;
	if (ir != NULL && (n = auth_decode(ir, irlen, data)) < 0)
		return SESSION_AUTH_BADB64;
	return s->be->start(s, data, (size_t)n, ir != NULL, out);
}

enum session_auth_result
auth_sess_step(struct auth_sess *s, const char *resp, size_t len,
    struct buf *out)
{
	char data[AUTH_MAX_DATA];
	int n;

	if ((n = auth_decode(resp, len, data)) < 0) {
		auth_sess_abort(s);
		return SESSION_AUTH_BADB64;
	}
	if (s->be == NULL)
		return SESSION_AUTH_TEMP;
	return s->be->step(s, data, (size_t)n, out);
}

void
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

void
auth_set_login(struct auth_sess *s, const char *p, size_t n)
{
	if (n >= sizeof(s->login))
		n = sizeof(s->login) - 1;
	memcpy(s->login, p, n);
	s->login[n] = '\0';
}

void
auth_plain_login(struct auth_sess *s, const char *d, size_t n)
{
	const char *a = memchr(d, '\0', n), *b;

	if (a == NULL)
		return;
	a++;
	b = memchr(a, '\0', n - (size_t)(a - d));
	auth_set_login(s, a, b != NULL ? (size_t)(b - a) : 0);
}

bool
auth_is_identity(const char *p)
{
	const unsigned char *u;

	for (u = (const unsigned char *)p; *u != '\0'; u++)
		if (*u <= 0x20 || *u == 0x7f || *u == '<' || *u == '>' ||
		    u - (const unsigned char *)p >= 255)
			return false;
	return true;
}

void
auth_bad_identity(const struct auth_sess *s)
{
	log_event(LOG_LEVEL_INFO, s->session, "event=sasl-result",
	    LOG_TOK("mech", s->mech), LOG_TOK("result", "bad-identity"));
}
