/* SPDX-License-Identifier: ISC */
/*
 * http - the sink's HTTP listener (evhttp).  Bounds: HTTP_MAX_HEADERS for
 * the request line and headers, HTTP_MAX_BODY for a body (evhttp answers
 * 413 past it), HTTP_MAX_CONNS connections at once (503 to one more),
 * HTTP_TIMEOUT_SECS to read a request or write an answer.  With an
 * htpasswd every request needs HTTP Basic credentials (RFC 7617) and
 * gets 401 without them.  Runs on the loop thread; owns the evhttp and
 * the table of admitted connections, nothing else.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "htpasswd.h"
#include "http.h"
#include "log.h"
#include "xalloc.h"

struct http {
	struct evhttp			*evh;
	const struct htpasswd		*auth;
	http_handler_fn			 handler;
	http_close_fn			 on_close;
	void				*arg;
	struct evhttp_connection	*conns[HTTP_MAX_CONNS];
	size_t				 nconns;
};

/* http_conn_closed_cb - an admitted connection is gone: forget it. */
static void
http_conn_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct http *h = arg;
	size_t i;

	for (i = 0; i < h->nconns; i++) {
		if (h->conns[i] == evcon) {
			h->conns[i] = h->conns[--h->nconns];
			h->on_close(evcon, h->arg);
			return;
		}
	}
}

/* http_admit - whether req's connection is (or may become) one of the
 * HTTP_MAX_CONNS admitted ones. */
static bool
http_admit(struct http *h, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	size_t i;

	for (i = 0; i < h->nconns; i++)
		if (h->conns[i] == evcon)
			return true;
	if (evcon == NULL || h->nconns == HTTP_MAX_CONNS)
		return false;
	h->conns[h->nconns++] = evcon;
	evhttp_connection_set_closecb(evcon, http_conn_closed_cb, h);
	return true;
}

/* http_authorized - no http_auth, or the request's credentials match. */
static bool
http_authorized(const struct http *h, struct evhttp_request *req)
{
	const char *hdr;

	if (h->auth == NULL)
		return true;
	hdr = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	return hdr != NULL && htpasswd_check(h->auth, hdr);
}

/* http_request_cb - every request: admission, credentials, handler. */
static void
http_request_cb(struct evhttp_request *req, void *arg)
{
	struct http *h = arg;

	if (!http_admit(h, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		http_error(req, 503, "too many connections");
		return;
	}
	if (!http_authorized(h, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate",
		    "Basic realm=\"inlet\", charset=\"UTF-8\"");
		http_error(req, 401, "credentials needed");
		return;
	}
	h->handler(req, h->arg);
}

void
http_send(struct evhttp_request *req, int code, const char *type,
    const void *body, size_t len)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evbuffer_new();

	if (b == NULL)
		log_fatal("out of memory (http)");
	evhttp_add_header(out, "Content-Type", type);
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(out, "Cache-Control", "no-store");
	if (len > 0 && evbuffer_add(b, body, len) != 0)
		log_fatal("out of memory (http)");
	evhttp_send_reply(req, code, NULL, b);
	evbuffer_free(b);
}

void
http_error(struct evhttp_request *req, int code, const char *text)
{
	char body[256];
	int n = snprintf(body, sizeof(body), "%s\n", text);

	http_send(req, code, "text/plain; charset=utf-8", body,
	    n > 0 ? (size_t)n : 0);
}

/* http_split - "ADDR:PORT" or "[ADDR]:PORT" into its parts. */
static int
http_split(const char *addrport, char *addr, size_t addrlen,
    unsigned short *port_out)
{
	const char *colon = strrchr(addrport, ':');
	const char *a = addrport;
	size_t n;

	if (colon == NULL)
		return -1;
	n = (size_t)(colon - addrport);
	if (a[0] == '[' && n >= 2 && a[n - 1] == ']') {
		a++;
		n -= 2;
	}
	if (n >= addrlen)
		return -1;
	memcpy(addr, a, n);
	addr[n] = '\0';
	*port_out = (unsigned short)strtoul(colon + 1, NULL, 10);
	return 0;
}

/* http_name - the bound socket's "ADDRESS:PORT" (port 0 resolved). */
static void
http_name(evutil_socket_t fd, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		(void)inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		(void)snprintf(out, outlen, "[%s]:%u", a, ntohs(s6->sin6_port));
		return;
	}
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		(void)inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		port = ntohs(s4->sin_port);
	}
	(void)snprintf(out, outlen, "%s:%u", a, port);
}

/* http_bind - the listening socket: fd passed, or addrport bound. */
static struct evhttp_bound_socket *
http_bind(struct evhttp *evh, const char *addrport, int fd)
{
	char addr[INET6_ADDRSTRLEN + 2];
	unsigned short port;

	if (fd >= 0)
		return evhttp_accept_socket_with_handle(evh, fd);
	if (http_split(addrport, addr, sizeof(addr), &port) != 0)
		return NULL;
	return evhttp_bind_socket_with_handle(evh, addr, port);
}

struct http *
http_new(struct event_base *base, const char *addrport, int fd,
    const struct htpasswd *auth, http_handler_fn handler,
    http_close_fn on_close, void *arg, char *name_out, size_t namelen,
    const char **err_out)
{
	struct http *h = xcalloc(1, sizeof(*h));
	struct evhttp_bound_socket *bound;

	h->auth = auth;
	h->handler = handler;
	h->on_close = on_close;
	h->arg = arg;
	if ((h->evh = evhttp_new(base)) == NULL)
		log_fatal("out of memory (evhttp)");
	evhttp_set_max_headers_size(h->evh, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(h->evh, HTTP_MAX_BODY);
	evhttp_set_timeout(h->evh, HTTP_TIMEOUT_SECS);
	evhttp_set_allowed_methods(h->evh, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_POST);
	evhttp_set_gencb(h->evh, http_request_cb, h);
	if ((bound = http_bind(h->evh, addrport, fd)) == NULL) {
		*err_out = "cannot listen (address in use or not available?)";
		http_free(&h);
		return NULL;
	}
	http_name(evhttp_bound_socket_get_fd(bound), name_out, namelen);
	return h;
}

void
http_free(struct http **hp)
{
	if (hp == NULL || *hp == NULL)
		return;
	if ((*hp)->evh != NULL)
		evhttp_free((*hp)->evh);	/* calls the close callbacks */
	free(*hp);
	*hp = NULL;
}
