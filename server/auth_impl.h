/* SPDX-License-Identifier: ISC */
/*
 * auth_impl - what an AUTH implementation provides and may use; only
 * auth.c, auth_cyrus.c and auth_sink.c include it.  The shape is
 * Postfix's XSASL: a session is created for one backend, which lists its
 * mechanisms, runs the first step and the next ones, and names the user
 * on success; auth.c does the base64 and the bookkeeping every backend
 * shares.  Edge module.
 */
#ifndef INLET_AUTH_IMPL_H
#define INLET_AUTH_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"

#define AUTH_MAX_DATA	12288			/* RFC 4954 §4 line limit */

/*
 * One backend.  open makes s->impl (0, or -1: the backend cannot serve
 * this session and every exchange answers 454).  start gets the decoded
 * initial response (has_ir false: none was sent), step a decoded
 * response; both answer as auth_sess_start().  On OK out holds the
 * authorization id (checked with auth_is_identity()).
 */
struct auth_backend {
	int	(*open)(struct auth_sess *s, const char *local,
		    const char *remote, int ssf);
	void	(*close)(struct auth_sess *s);
	const char *(*mechs)(struct auth_sess *s);
	enum session_auth_result (*start)(struct auth_sess *s,
		    const char *data, size_t n, bool has_ir, struct buf *out);
	enum session_auth_result (*step)(struct auth_sess *s,
		    const char *data, size_t n, struct buf *out);
	void	(*abort)(struct auth_sess *s);
};

extern const struct auth_backend auth_cyrus_backend;
extern const struct auth_backend auth_sink_backend;

struct auth_sess {
	const struct auth_backend *be;
	struct auth		*a;
	const struct config	*cfg;
	void			*impl;		/* the backend's state */
	char			 session[17];	/* the session id, for logs */
	char			 login[256];	/* as sent (logs escape it) */
	char			 mech[21];
};

/* auth_encode - raw bytes as base64 into out ("" for none). */
void	auth_encode(const char *in, unsigned len, struct buf *out);

/* auth_set_login - remember the login name seen (up to 255 bytes). */
void	auth_set_login(struct auth_sess *s, const char *p, size_t n);

/* auth_plain_login - authcid from "authzid NUL authcid NUL passwd". */
void	auth_plain_login(struct auth_sess *s, const char *d, size_t n);

/*
 * auth_is_identity - an authorization id fit for the logs, replies and
 * the queue's envelope: no control characters, spaces or angle brackets
 * (a PLAIN authzid may contain anything), under 255 bytes.
 */
bool	auth_is_identity(const char *p);

/* auth_bad_identity - log a refused authorization id. */
void	auth_bad_identity(const struct auth_sess *s);

#endif
