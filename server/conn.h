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

#include <event2/event.h>

#include "conf.h"

struct conn;
struct conn_cfg;
struct tls;
struct auth;
struct throttle;
struct workq;
struct mindex;
struct chaos;
TAILQ_HEAD(conn_list, conn);

/*
 * What every connection shares: owned by main, passed down by pointer.
 * cfg is set and swapped only through conn_env_set_cfg(); a connection
 * keeps the one it started with, and holds a reference to it (cfg_ref)
 * until it is freed.
 */
struct conn_env {
	struct event_base	*base;
	const struct config	*cfg;		/* for new connections */
	struct conn_cfg		*cfg_ref;	/* cfg and its user count */
	struct conn_list	 conns;
	unsigned		 nconns;
	unsigned long		 seq;		/* Maildir file name counter */
	unsigned long		 messages;	/* committed */
	struct tls		*tls;		/* NULL without certificates */
	struct auth		*auth;		/* NULL without AUTH */
	struct throttle		*throttle;	/* failed logins; with auth */
	struct workq		*workq;		/* commits; NULL: on the loop */
	struct mindex		*mindex;	/* the sink API's index, or NULL */
	struct chaos		*chaos;		/* live sink_chaos rules, or NULL */
	bool			 stopping;
	void			(*idle_cb)(struct conn_env *);	/* last conn gone */
	unsigned char		 ids[256];	/* random bytes for session ids */
	size_t			 ids_left;	/* not yet used, at the front */
};

/*
 * conn_accept - take over an accepted socket, admitted by the listener,
 * from addr (numeric) and port for a listener of the given role: start a
 * session and send the greeting; for role submissions the TLS handshake
 * comes first (RFC 8314) and the greeting is sent inside TLS.  Without
 * tls (a "notls" listener) STARTTLS is never offered.  Never fails.
 */
void	conn_accept(struct conn_env *env, int fd, const char *addr,
	    unsigned port, enum conf_role role, bool tls);

/* conn_count_ip - how many connections addr has now. */
unsigned conn_count_ip(const struct conn_env *env, const char *addr);

/*
 * conn_env_set_cfg - make cfg the configuration of new connections; env
 * takes it over.  The configuration it replaces is freed at once if no
 * connection uses it, else when the last connection using it is freed.
 * cfg NULL just releases the current one (at exit).
 */
void	conn_env_set_cfg(struct conn_env *env, struct config *cfg);

/* conn_shutdown_all - tell every session the daemon is stopping. */
void	conn_shutdown_all(struct conn_env *env);

/*
 * conn_abort_spools - at exit, once no worker thread runs: remove the
 * tmp/ files of every message still being received (a shutdown that ran
 * out of shutdown_timeout), rather than leave them for the start-up
 * cleaner 36 hours later.  Messages already committed stay in new/.
 */
void	conn_abort_spools(struct conn_env *env);

#endif
