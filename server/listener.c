/* SPDX-License-Identifier: ISC */
/*
 * listener - bind each configured address with evconnlistener (or take
 * over a socket passed by systemd) and pass accepted sockets to conn.
 * Owns nothing but the listening socket and a timer used to back off when
 * the process runs out of descriptors.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "listener.h"
#include "log.h"

#define LISTENER_BACKLOG	511
#define LISTENER_PAUSE_MS	200

struct listener {
	struct conn_env		*env;
	struct evconnlistener	*lev;
	struct event		*resume;
	enum conf_role		 role;
	bool			 tls;		/* not "notls" */
	bool			 inherited;	/* from listener_new_fd() */
	char			 addr[INET6_ADDRSTRLEN];	/* as configured */
	unsigned		 port;		/* as configured, maybe 0 */
	char			 name[INET6_ADDRSTRLEN + 32];
};

/* listener_accept_cb - a new connection. */
static void
listener_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;

	(void)lev;
	conn_accept(l->env, fd, sa, (socklen_t)salen, l->role, l->tls);
}

/* listener_resume_cb - the pause after EMFILE is over. */
static void
listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(l->lev);
}

/* listener_error_cb - accept failed: pause on descriptor exhaustion. */
static void
listener_error_cb(struct evconnlistener *lev, void *arg)
{
	struct listener *l = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 0, LISTENER_PAUSE_MS * 1000 };

	log_event(LOG_LEVEL_WARN, NULL, "event=accept-error",
	    LOG_Q("listener", l->name),
	    LOG_Q("error", evutil_socket_error_to_string(err)));
	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		evconnlistener_disable(lev);
		evtimer_add(l->resume, &tv);
	}
}

/* listener_sockaddr - the configured address and port as a sockaddr
 * (built by hand: evutil_parse_sockaddr_port refuses port 0). */
static int
listener_sockaddr(const struct conf_listen *cl, struct sockaddr_storage *ss,
    int *len_out)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, cl->addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)cl->port);
		*len_out = (int)sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, cl->addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)cl->port);
		*len_out = (int)sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* listener_name - "addr:port role [notls]" from the bound socket. */
static void
listener_name(struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	unsigned port = 0;

	host[0] = '\0';
	if (getsockname(evconnlistener_get_fd(l->lev), (struct sockaddr *)&ss,
	    &len) == 0 && ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

		(void)inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	} else if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

		(void)inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	}
	(void)snprintf(l->name, sizeof(l->name), ss.ss_family == AF_INET6 ?
	    "[%s]:%u %s%s" : "%s:%u %s%s", host, port,
	    conf_role_name(l->role), l->tls ? "" : " notls");
}

/* listener_finish - the back-off timer, error callback and name. */
static void
listener_finish(struct listener *l)
{
	l->resume = evtimer_new(l->env->base, listener_resume_cb, l);
	if (l->resume == NULL)
		log_fatal("out of memory (listener timer)");
	evconnlistener_set_error_cb(l->lev, listener_error_cb);
	listener_name(l);
}

struct listener *
listener_new(struct conn_env *env, const struct conf_listen *cl,
    const char **err_out)
{
	struct sockaddr_storage ss;
	struct listener *l;
	unsigned flags = LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_CLOSE_ON_EXEC;
	int len;

	if (listener_sockaddr(cl, &ss, &len) != 0) {
		*err_out = "bad address";
		return NULL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= LEV_OPT_BIND_IPV6ONLY;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		log_fatal("out of memory (listener)");
	l->env = env;
	l->role = cl->role;
	l->tls = cl->tls != CONF_LTLS_NONE;
	(void)snprintf(l->addr, sizeof(l->addr), "%s", cl->addr);
	l->port = cl->port;
	l->lev = evconnlistener_new_bind(env->base, listener_accept_cb, l,
	    flags, LISTENER_BACKLOG, (struct sockaddr *)&ss, len);
	if (l->lev == NULL) {
		*err_out = strerror(errno);
		free(l);
		return NULL;
	}
	listener_finish(l);
	return l;
}

struct listener *
listener_new_fd(struct conn_env *env, int fd, enum conf_role role,
    const char **err_out)
{
	struct listener *l;
	int type = 0, on = 0;
	socklen_t len = sizeof(type), onlen = sizeof(on);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
	    type != SOCK_STREAM ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &onlen) != 0 ||
	    on == 0) {
		*err_out = "not a listening stream socket";
		evutil_closesocket(fd);
		return NULL;
	}
	if (evutil_make_socket_nonblocking(fd) != 0 ||
	    evutil_make_socket_closeonexec(fd) != 0) {
		*err_out = strerror(errno);
		evutil_closesocket(fd);
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		log_fatal("out of memory (listener)");
	l->env = env;
	l->role = role;
	l->tls = true;
	l->inherited = true;
	/* backlog 0: the socket is listening already */
	l->lev = evconnlistener_new(env->base, listener_accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE, 0, fd);
	if (l->lev == NULL) {
		*err_out = strerror(errno);
		evutil_closesocket(fd);
		free(l);
		return NULL;
	}
	listener_finish(l);
	return l;
}

bool
listener_is_same(const struct listener *l, const struct conf_listen *cl,
    bool with_role)
{
	return !l->inherited && strcmp(l->addr, cl->addr) == 0 &&
	    l->port == cl->port && (!with_role || (l->role == cl->role &&
	    l->tls == (cl->tls != CONF_LTLS_NONE)));
}

void
listener_set_role(struct listener *l, const struct conf_listen *cl)
{
	l->role = cl->role;
	l->tls = cl->tls != CONF_LTLS_NONE;
	listener_name(l);
}

void
listener_free(struct listener **lp)
{
	struct listener *l = *lp;

	if (l == NULL)
		return;
	evconnlistener_free(l->lev);
	event_free(l->resume);
	free(l);
	*lp = NULL;
}

void
listener_fmt(const struct listener *l, char *out, size_t outlen)
{
	(void)snprintf(out, outlen, "%s", l->name);
}
