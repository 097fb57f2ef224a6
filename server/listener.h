/* SPDX-License-Identifier: ISC */
/*
 * listener - one listening socket per `listen` line, on evconnlistener.
 * Admits accepted sockets (connection limits, AUTH bans) and hands them
 * to conn_accept() with the listener's role; on
 * EMFILE/ENFILE it pauses accepting for a moment instead of spinning.
 * Edge module.
 */
#ifndef INLET_LISTENER_H
#define INLET_LISTENER_H

#include <stdbool.h>
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

/*
 * listener_new_fd - accept on fd, a socket already bound and listening
 * (socket activation); it is made non-blocking and close-on-exec, and
 * the listener owns it from now on, even on failure.  Returns NULL and
 * sets *err_out (static text) when fd is not a listening stream socket.
 */
struct listener *listener_new_fd(struct conn_env *env, int fd,
	    enum conf_role role, const char **err_out);

/*
 * listener_is_same - whether l was made from a listen line with this
 * address, port (as configured: 0 stays 0) and, when with_role, role
 * and TLS ("notls" or not).  A listener made by listener_new_fd()
 * matches no listen line.
 */
bool	listener_is_same(const struct listener *l,
	    const struct conf_listen *cl, bool with_role);

/* listener_set_role - connections accepted from now on get cl's role
 * and TLS. */
void	listener_set_role(struct listener *l, const struct conf_listen *cl);

/* listener_free - close the socket; NULL-safe, NULLs *lp. */
void	listener_free(struct listener **lp);

/* listener_fmt - "127.0.0.1:2525 mx" with the real bound port (and
 * " notls" for a listener that never offers TLS). */
void	listener_fmt(const struct listener *l, char *out, size_t outlen);

/*
 * listener_reconcile - make the listeners (*lsp, *np of them) match c's
 * listen lines, all or nothing: a line that is unchanged (address, port,
 * role, notls) keeps its socket, one that only changed its role or TLS
 * word keeps it too, new ones are bound, and only then are the listeners
 * no line names any more closed (each change logged as event=listen or
 * event=unlisten).  On success *lsp and *np are the new set (the old
 * array freed) and 0; when a bind fails nothing changes: -1, *bad_out
 * the index of the line and *err_out (static text) why.
 */
int	listener_reconcile(struct conn_env *env, struct listener ***lsp,
	    size_t *np, const struct config *c, size_t *added_out,
	    size_t *removed_out, size_t *bad_out, const char **err_out);

#endif
