/* SPDX-License-Identifier: ISC */
/*
 * listener - one listening socket per `listen` line, on evconnlistener.
 * Hands accepted sockets to conn_accept() with the listener's role; on
 * EMFILE/ENFILE it pauses accepting for a moment instead of spinning.
 * Edge module.
 */
#ifndef INLET_LISTENER_H
#define INLET_LISTENER_H

#include <stddef.h>

#include "conf.h"
#include "conn.h"

struct listener;

/*
 * listener_new - bind and listen on l (backlog 511; IPv6 sockets are
 * v6-only so that [::]:25 and 0.0.0.0:25 can coexist).  Returns NULL
 * and sets *err_out (static text) on failure; errno is kept.
 */
struct listener *listener_new(struct conn_env *env,
	    const struct conf_listen *l, const char **err_out);

/* listener_free - close the socket; NULL-safe, NULLs *lp. */
void	listener_free(struct listener **lp);

/* listener_fmt - "127.0.0.1:2525 mx" with the real bound port. */
void	listener_fmt(const struct listener *l, char *out, size_t outlen);

#endif
