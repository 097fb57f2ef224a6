/* SPDX-License-Identifier: ISC */
/*
 * http - the sink's HTTP listener on libevent's evhttp: binds
 * http_listen, bounds what a client may make it hold (request line and
 * headers, body, concurrent connections, time), asks for HTTP Basic
 * credentials when http_auth is set (RFC 7617), and hands every admitted
 * request to one handler (sinkapi).  Edge module; knows no routes.
 */
#ifndef INLET_HTTP_H
#define INLET_HTTP_H

#include <stddef.h>

#include <event2/event.h>
#include <event2/http.h>

struct http;
struct htpasswd;

#define HTTP_MAX_HEADERS	(16 * 1024)	/* request line + headers */
#define HTTP_MAX_BODY		(1024 * 1024)	/* a JSON request body */
#define HTTP_MAX_CONNS		64		/* concurrent connections */
#define HTTP_TIMEOUT_SECS	30		/* to read a request, to write */

/* http_handler_fn - one admitted request; it must answer it (now or
 * later: an answer kept for later is the handler's to track). */
typedef void (*http_handler_fn)(struct evhttp_request *req, void *arg);

/* http_close_fn - an admitted connection closed: a handler holding one of
 * its requests for later must forget it now. */
typedef void (*http_close_fn)(struct evhttp_connection *evcon, void *arg);

/*
 * http_new - listen on addrport ("127.0.0.1:8025", "[::1]:0"), or on the
 * listening socket fd when fd >= 0; auth (borrowed, may be NULL) makes
 * every request need its credentials.  The bound "ADDRESS:PORT" goes to
 * name_out.  NULL and *err_out (static text) when it cannot listen.
 */
struct http *http_new(struct event_base *base, const char *addrport,
	    int fd, const struct htpasswd *auth, http_handler_fn handler,
	    http_close_fn on_close, void *arg, char *name_out, size_t namelen, const char **err_out);

/* http_free - close the listener and every connection; NULL-safe. */
void	http_free(struct http **hp);

/*
 * http_send - answer req with status code, Content-Type type and len
 * bytes of body, with the headers every answer carries
 * (X-Content-Type-Options: nosniff, Cache-Control: no-store).
 */
void	http_send(struct evhttp_request *req, int code, const char *type,
	    const void *body, size_t len);

/* http_error - a text/plain answer "text\n" with status code. */
void	http_error(struct evhttp_request *req, int code, const char *text);

#endif
