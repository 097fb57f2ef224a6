/* SPDX-License-Identifier: ISC */
/*
 * listener - bind each configured address with evconnlistener (or take
 * over a socket passed by systemd), admit or refuse each accepted socket
 * (max_connections, max_connections_per_ip, the AUTH ban: 421 4.7.0 on
 * the socket), and pass the admitted ones to conn.  Owns nothing but the
 * listening socket and a timer used to back off when the process runs
 * out of descriptors.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "buf.h"
#include "listener.h"
#include "log.h"
#include "smtp_reply.h"
#include "throttle.h"
#include "xalloc.h"

#define LISTENER_BACKLOG	4096	/* the kernel caps it at net.core.somaxconn */
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

/* listener_addr_fmt - numeric address and port; v4-mapped shown as v4. */
static void
listener_addr_fmt(const struct sockaddr *sa, char *out, size_t outlen,
    unsigned *port_out)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	*port_out = 0;
	(void)snprintf(out, outlen, "unknown");
	if (sa->sa_family == AF_INET) {
		(void)inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)outlen);
		*port_out = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			(void)inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12],
			    out, (socklen_t)outlen);
		else
			(void)inet_ntop(AF_INET6, &sin6->sin6_addr, out,
			    (socklen_t)outlen);
		*port_out = ntohs(sin6->sin6_port);
	}
}

/* listener_refuse - answer 421 straight on the socket and close it. */
static void
listener_refuse(struct conn_env *env, int fd, const char *addr,
    const char *why, enum smtp_reply_id id)
{
	struct buf b;
	ssize_t n;

	log_event(LOG_LEVEL_INFO, NULL, "event=refused", LOG_TOK("client", addr),
	    LOG_TOK("reason", why));
	buf_init(&b, 512);
	if (smtp_reply_fmt(&b, id, env->cfg->hostname) == 0)
		n = write(fd, b.data, b.len);	/* best effort, non-blocking */
	(void)n;
	buf_release(&b);
	evutil_closesocket(fd);
}

/*
 * listener_admit - whether a connection from addr may start: 421 4.7.0
 * beyond max_connections (or while stopping), max_connections_per_ip,
 * or from an address banned for failed logins (on port 465 the socket is
 * just closed: no clear text there).
 */
static bool
listener_admit(struct listener *l, int fd, const char *addr)
{
	struct conn_env *env = l->env;
	const struct config *cfg = env->cfg;
	const char *why = NULL;

	if (env->stopping || env->nconns >= cfg->max_connections)
		why = "max_connections";
	else if (cfg->max_connections_per_ip > 0 &&
	    conn_count_ip(env, addr) >= cfg->max_connections_per_ip)
		why = "max_connections_per_ip";
	if (why != NULL) {
		listener_refuse(env, fd, addr, why, SMTP_R_TOO_MANY_CONN);
		return false;
	}
	if (env->throttle == NULL ||
	    !throttle_is_banned(env->throttle, addr, time(NULL)))
		return true;
	if (l->role == CONF_ROLE_SUBMISSIONS) {	/* no clear text on 465 */
		log_event(LOG_LEVEL_INFO, NULL, "event=refused",
		    LOG_TOK("client", addr), LOG_TOK("reason", "auth-ban"));
		evutil_closesocket(fd);
	} else {
		listener_refuse(env, fd, addr, "auth-ban", SMTP_R_AUTH_BANNED);
	}
	return false;
}

/* listener_accept_cb - a new connection: admit it, or refuse it. */
static void
listener_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;
	char addr[INET6_ADDRSTRLEN];
	unsigned port;

	(void)lev;
	(void)salen;
	listener_addr_fmt(sa, addr, sizeof(addr), &port);
	if (!listener_admit(l, fd, addr))
		return;
	/* Each write is a whole reply or TLS flight: Nagle would hold the
	 * 220 behind the TLS 1.3 session tickets for the peer's delayed
	 * ACK (40 ms per implicit-TLS connection).  Best effort. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 },
	    sizeof(int));
	conn_accept(l->env, fd, addr, port, l->role, l->tls);
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

/* A reload's plan for the listeners: next[j] serves c->listens[j]. */
struct listener_plan {
	struct listener	**next;
	bool		 *kept;		/* per old listener: still in use */
	bool		 *fresh;	/* per line: bound by this reload */
	bool		 *rerole;	/* per line: old socket, new role */
	struct listener	**old;		/* the listeners now */
	size_t		  nold;
	size_t		  added, removed;
};

/* listener_plan_match - give line j an old listener that is the same
 * (address, port and, when with_role, role) and not yet taken. */
static void
listener_plan_match(struct listener_plan *r, const struct config *c,
    bool with_role)
{
	size_t i, j;

	for (j = 0; j < c->nlistens; j++) {
		if (r->next[j] != NULL ||
		    (!with_role && c->listens[j].port == 0))
			continue;
		for (i = 0; i < r->nold && r->next[j] == NULL; i++) {
			if (r->kept[i] || !listener_is_same(r->old[i],
			    &c->listens[j], with_role))
				continue;
			r->next[j] = r->old[i];
			r->kept[i] = true;
			r->rerole[j] = !with_role;
		}
	}
}

/* listener_plan_bind - bind the lines no old listener serves; -1 with
 * *bad_out and *err_out if one cannot be bound. */
static int
listener_plan_bind(struct listener_plan *r, struct conn_env *env,
    const struct config *c, size_t *bad_out, const char **err_out)
{
	size_t j;

	for (j = 0; j < c->nlistens; j++) {
		if (r->next[j] != NULL)
			continue;
		r->next[j] = listener_new(env, &c->listens[j], err_out);
		if (r->next[j] == NULL) {
			*bad_out = j;
			return -1;
		}
		r->fresh[j] = true;
		r->added++;
	}
	return 0;
}

/*
 * listener_plan_commit - the new listeners are all bound: give re-used
 * sockets their new role, close the ones no line names, and switch.
 */
static void
listener_plan_commit(struct listener_plan *r, const struct config *c)
{
	char name[128];
	size_t i, j;

	for (j = 0; j < c->nlistens; j++) {
		if (r->rerole[j])
			listener_set_role(r->next[j], &c->listens[j]);
		if (r->fresh[j] || r->rerole[j]) {
			listener_fmt(r->next[j], name, sizeof(name));
			log_event(LOG_LEVEL_INFO, NULL, "event=listen",
			    LOG_Q("address", name));
		}
	}
	for (i = 0; i < r->nold; i++) {
		if (r->kept[i])
			continue;
		listener_fmt(r->old[i], name, sizeof(name));
		log_event(LOG_LEVEL_INFO, NULL, "event=unlisten",
		    LOG_Q("address", name));
		listener_free(&r->old[i]);
		r->removed++;
	}
	free(r->old);
	r->old = r->next;
	r->nold = c->nlistens;
	r->next = NULL;
}

int
listener_reconcile(struct conn_env *env, struct listener ***lsp, size_t *np,
    const struct config *c, size_t *added_out, size_t *removed_out,
    size_t *bad_out, const char **err_out)
{
	struct listener_plan r;
	size_t j;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	r.old = *lsp;
	r.nold = *np;
	r.next = xcalloc(c->nlistens, sizeof(*r.next));
	r.kept = xcalloc(r.nold + 1, sizeof(*r.kept));
	r.fresh = xcalloc(c->nlistens, sizeof(*r.fresh));
	r.rerole = xcalloc(c->nlistens, sizeof(*r.rerole));
	listener_plan_match(&r, c, true);
	listener_plan_match(&r, c, false);
	if (listener_plan_bind(&r, env, c, bad_out, err_out) == 0) {
		listener_plan_commit(&r, c);
		*lsp = r.old;
		*np = r.nold;
		*added_out = r.added;
		*removed_out = r.removed;
	} else {
		for (j = 0; j < c->nlistens; j++)
			if (r.fresh[j])
				listener_free(&r.next[j]);
		rc = -1;
	}
	free(r.next);
	free(r.kept);
	free(r.fresh);
	free(r.rerole);
	return rc;
}
