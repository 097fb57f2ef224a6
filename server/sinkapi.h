/* SPDX-License-Identifier: ISC */
/*
 * sinkapi - the sink's HTTP API, compatible with Mailpit's API v1 (its
 * field names and types), and the web page: the routes, on top of http
 * (the listener), mindex (the messages) and msgview (their MIME).  Edge
 * module; loop thread.
 */
#ifndef INLET_SINKAPI_H
#define INLET_SINKAPI_H

#include <stddef.h>

#include <event2/event.h>

struct sinkapi;
struct mindex;
struct htpasswd;
struct chaos;

#define SINKAPI_SSE_MAX		16	/* /api/events clients */
#define SINKAPI_WAIT_MAX	64	/* searches waiting (wait=) */
#define SINKAPI_WAIT_SECS	60	/* the longest wait= */
#define SINKAPI_LIMIT_MAX	5000	/* limit= of one page */
#define SINKAPI_PING_SECS	15	/* a comment line to event streams */
#define SINKAPI_SSE_TIMEOUT_SECS 3600	/* an event stream's idle bound */
#define SINKAPI_SSE_BACKLOG	(256 * 1024)	/* bytes a stream's client has
						 * not taken: then it is closed */

/*
 * sinkapi_new - serve ix (borrowed, outlives the API) on addrport (or the
 * listening socket fd >= 0); auth (borrowed, may be NULL) asks for
 * credentials.  *chaos is main's live sink_chaos set, which PUT
 * /api/v1/chaos replaces (unref'ing the old one).  The bound "ADDRESS:PORT" goes to name_out.  NULL and
 * *err_out (static) when it cannot listen.
 */
struct sinkapi *sinkapi_new(struct event_base *base, struct mindex *ix,
	    struct chaos **chaos, const char *addrport, int fd,
	    const struct htpasswd *auth, char *name_out, size_t namelen,
	    const char **err_out);

/* sinkapi_free - close the listener, answer or drop what waits; NULL-safe. */
void	sinkapi_free(struct sinkapi **ap);

#endif
