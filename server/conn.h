/* SPDX-License-Identifier: ISC */
/*
 * conn - one client connection: owns the bufferevent, the session and the
 * spool handle, and implements struct session_ops on top of libevent and
 * the maildir module.  Edge module.
 */
#ifndef INLET_CONN_H
#define INLET_CONN_H

#include <stdbool.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "conf.h"

struct conn;
struct tls;
TAILQ_HEAD(conn_list, conn);

/*
 * What every connection shares: owned by main, passed down by pointer.
 * cfg may be swapped by a reload; a connection keeps the one it started
 * with.
 */
struct conn_env {
	struct event_base	*base;
	const struct config	*cfg;
	struct conn_list	 conns;
	unsigned		 nconns;
	unsigned long		 seq;		/* Maildir file name counter */
	unsigned long		 messages;	/* committed */
	struct tls		*tls;		/* NULL without certificates */
	bool			 stopping;
	void			(*idle_cb)(struct conn_env *);	/* last conn gone */
};

/*
 * conn_accept - take over an accepted socket for a listener of the given
 * role: check the connection limits (421 4.7.0 beyond them), then start
 * a session and send the greeting; for role submissions the TLS
 * handshake comes first (RFC 8314) and the greeting is sent inside TLS.
 * Never fails: on error the socket is closed and the reason logged.
 */
void	conn_accept(struct conn_env *env, int fd, const struct sockaddr *sa,
	    socklen_t salen, enum conf_role role);

/* conn_shutdown_all - tell every session the daemon is stopping. */
void	conn_shutdown_all(struct conn_env *env);

#endif
