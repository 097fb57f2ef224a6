/* SPDX-License-Identifier: ISC */
/*
 * auth - AUTH for SMTP (RFC 4954): one interface (Postfix's XSASL
 * shape: create a session, list its mechanisms, first step, next steps,
 * the user name) over two backends chosen per session: Cyrus SASL
 * (auth_cyrus.c), configured from inlet.conf without touching /etc, and
 * in sink mode a stand-in that accepts any credentials for PLAIN, LOGIN
 * and CRAM-MD5 (auth_sink.c).  The failed-login throttle is the core's
 * (throttle.h).  Edge module: no libevent.
 */
#ifndef INLET_AUTH_H
#define INLET_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "conf.h"
#include "session.h"

struct auth;		/* process-wide: one per daemon */
struct auth_sess;	/* one per SMTP session */

/*
 * auth_new - initialise Cyrus SASL (once per process) for cfg: check that the
 * sasldb can be read (a wrong path otherwise shows only as "user not
 * found" at every login).  NULL and *err_out (heap) on failure.
 */
struct auth *auth_new(const struct config *cfg, char **err_out);

/*
 * auth_check - whether cfg's AUTH backend can be used: the sasldb must be
 * readable.  0, or -1 and *err_out (heap).  Nothing changes.
 */
int	auth_check(const struct config *cfg, char **err_out);

/*
 * auth_reconfigure - take cfg's SASL settings (after a reload that
 * passed auth_check); sessions started later see them.
 */
void	auth_reconfigure(struct auth *a, const struct config *cfg);

/* auth_free - sasl_done(); NULL-safe, NULLs *ap. */
void	auth_free(struct auth **ap);

/*
 * auth_sess_new - SASL state for one session: session is its id (for
 * the logs), local and remote are "ip;port" (or NULL), ssf the TLS
 * cipher bits (0 before TLS).
 */
struct auth_sess *auth_sess_new(struct auth *a, const struct config *cfg,
	    const char *session, const char *local, const char *remote,
	    int ssf);

/* auth_sess_free - NULL-safe, NULLs *sp. */
void	auth_sess_free(struct auth_sess **sp);

/* auth_sess_mechs - the mechanisms usable now, space-separated. */
const char *auth_sess_mechs(struct auth_sess *s);

/*
 * auth_sess_start / auth_sess_step - one step of an exchange.  ir is the
 * initial response as sent (base64, "=" for empty, NULL for none); resp a
 * response line.  On CONTINUE out holds the base64 challenge, on OK the
 * authorization id.  After any result other than CONTINUE the exchange
 * is over.
 */
enum session_auth_result auth_sess_start(struct auth_sess *s,
	    const char *mech, const char *ir, size_t irlen, struct buf *out);
enum session_auth_result auth_sess_step(struct auth_sess *s,
	    const char *resp, size_t len, struct buf *out);

/* auth_sess_abort - forget an exchange in progress. */
void	auth_sess_abort(struct auth_sess *s);

/* auth_sess_login - the login name the client gave, as sent (up to 255
 * bytes; log it with LOG_Q), "" if none could be seen. */
const char *auth_sess_login(const struct auth_sess *s);

/* auth_sess_mech - the mechanism of the last exchange. */
const char *auth_sess_mech(const struct auth_sess *s);

#endif
