/* SPDX-License-Identifier: ISC */
/*
 * relay_conn - one connection from inlet-relay to a smarthost on the
 * event loop: name resolution (every address in turn), TCP, TLS
 * (implicit for smtps://, STARTTLS required for smtp://; certificate
 * verified, host name checked, SNI sent), Cyrus SASL's client side, and
 * the smtp_client state machine fed from the socket.  Edge: libevent,
 * OpenSSL, SASL.  Whoever starts one hears back through relay_conn_cbs.
 */
#ifndef INLET_RELAY_CONN_H
#define INLET_RELAY_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <event2/dns.h>
#include <openssl/ssl.h>

#include "conf.h"
#include "smtp_client.h"

struct relay_conn;

/* A smarthost login (relay_auth_file). */
struct relay_cred {
	char	*host;
	char	*user;
	char	*pass;
};

struct relay_conn_cbs {
	/* Idle and ready for a message: relay_conn_send() or _quit(). */
	void	(*ready)(void *arg, struct relay_conn *rc);
	/* The message's verdicts are in its recipients. */
	void	(*done)(void *arg, struct relay_conn *rc,
		    struct smtp_client_msg *msg);
	/*
	 * The connection is over: why is NULL after a clean QUIT, else the
	 * reason (a reply or our words).  The last call; free rc on a
	 * later loop turn, never inside it.
	 */
	void	(*closed)(void *arg, struct relay_conn *rc, const char *why);
};

/*
 * relay_conn_sasl_init - the SASL client library, once at start.  0 or
 * -1.
 */
int	relay_conn_sasl_init(void);

/*
 * relay_conn_ssl_ctx - a client context: TLS 1.2 or later, peers
 * verified against ca_file (PEM) or, when NULL, the system's CAs.  NULL
 * with *err_out (heap).
 */
SSL_CTX *relay_conn_ssl_ctx(const char *ca_file, char **err_out);

/*
 * relay_conn_start - connect to url; cred (copied) or NULL for no AUTH;
 * helo our EHLO name; timeout seconds for each reply.  Never calls back
 * from inside this call.
 */
struct relay_conn *relay_conn_start(struct event_base *base,
	    struct evdns_base *dns, SSL_CTX *ctx,
	    const struct conf_relay_url *url, const struct relay_cred *cred,
	    const char *helo, unsigned timeout,
	    const struct relay_conn_cbs *cbs, void *arg);

/* relay_conn_client - the session (its EHLO, for smtp_client_check). */
const struct smtp_client *relay_conn_client(const struct relay_conn *rc);

/*
 * relay_conn_send - after ready: send msg (borrowed until done or
 * closed) with the stored message (LF or CRLF lines) read from fd, open
 * at its start and borrowed too: the body is streamed in chunks as the
 * socket drains, never held whole.  A read error ends the connection
 * (closed, with a 4.3.0 reason) before the end of data, so the
 * smarthost never takes a truncated message.  A second message on the
 * connection goes after an RSET.
 */
void	relay_conn_send(struct relay_conn *rc, struct smtp_client_msg *msg,
	    int fd);

/* relay_conn_quit - after ready: QUIT, then closed. */
void	relay_conn_quit(struct relay_conn *rc);

/* relay_conn_peer - "host[address]:port" (the address once known). */
const char *relay_conn_peer(const struct relay_conn *rc);

/* relay_conn_free - NULL-safe; NULLs *rcp. */
void	relay_conn_free(struct relay_conn **rcp);

#endif
