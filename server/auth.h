/* SPDX-License-Identifier: ISC */
/*
 * auth - AUTH for SMTP (RFC 4954) on Cyrus SASL, configured from
 * inlet.conf without touching /etc: sasldb (auxprop) or saslauthd,
 * mech_list, realm, proxy users; security properties that forbid
 * plaintext mechanisms before TLS and anonymous ones always.  In sink
 * mode a built-in stand-in accepts any credentials for PLAIN, LOGIN and
 * CRAM-MD5.  Also the failed-login throttle (delays, bans by address).
 * Edge module: no libevent; base64 through libsasl2's helpers.
 */
#ifndef INLET_AUTH_H
#define INLET_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "conf.h"
#include "session.h"

#define AUTH_FAIL_WINDOW	600	/* failures counted over 10 minutes */

struct auth;		/* process-wide: one per daemon */
struct auth_sess;	/* one per SMTP session */

/*
 * auth_new - initialise SASL (once per process) for cfg: check that the
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

/*
 * auth_throttle_fail - count a failed login from addr at now.  Returns
 * the delay in seconds before the 535 (it grows with each failure), or
 * -1 when this failure reaches auth_fail_limit: the address is then
 * banned for auth_ban_time (logged with session).  *fails_out gets the
 * count.
 */
int	auth_throttle_fail(struct auth *a, const struct config *cfg,
	    const char *session, const char *addr, time_t now,
	    unsigned *fails_out);

/* auth_is_banned - whether addr is banned at now. */
bool	auth_is_banned(struct auth *a, const char *addr, time_t now);

#endif
