/* SPDX-License-Identifier: ISC */
/*
 * main - inletd: arguments, configuration, listeners (bound here or passed
 * by systemd), privilege drop, signals (SIGHUP reloads everything), the
 * sd_notify state and the event loop.  The only main() and the only place
 * the two globals (cfg and rt) are named; everything else receives what
 * it needs.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <sasl/sasl.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "chaos.h"
#include "conf.h"
#include "conffile.h"
#include "conn.h"
#include "listener.h"
#include "log.h"
#include "idn.h"
#include "maildir.h"
#include "mime.h"
#include "htpasswd.h"
#include "mindex.h"
#include "sinkapi.h"
#include "auth.h"
#include "throttle.h"
#include "tls.h"
#include "workq.h"
#include "xalloc.h"

#ifndef INLET_CONF
#define INLET_CONF "/etc/inlet/inlet.conf"
#endif
#define MAIN_COMMIT_THREADS	16	/* Maildir commits off the loop */
#define MAIN_STATUS_SECS	10	/* sd_notify STATUS= refresh */

struct options {
	const char	*conf_file;
	char		**overrides;
	size_t		 noverrides;
	bool		 foreground;
	bool		 check_only;
	bool		 sink;
	const char	*sink_dir;
	bool		 verbose;
	int		 report_fd;
};

struct runtime {
	const struct options	*opts;		/* kept for reloads */
	struct event_base	*base;
	struct conn_env		 env;
	struct listener		**listeners;
	size_t			 nlisteners;
	bool			 activated;	/* listeners from systemd */
	bool			 activated_tls;	/* ... with a TLS role */
	bool			 already_user;	/* nothing left to drop */
	struct event		*sig_term, *sig_int, *sig_hup, *stop_timer;
	struct event		*status_timer;	/* NULL without NOTIFY_SOCKET */
	unsigned		 status_conns;	/* what STATUS= said last */
	unsigned long		 status_msgs;
	struct sinkapi		*sinkapi;	/* http_listen: the HTTP API */
	struct htpasswd		*htpasswd;	/* http_auth */
	int			 http_fd;	/* systemd's "http" socket, or -1 */
};

const struct config *cfg;
struct runtime rt;

/* usage - the -h text. */
static void
usage(FILE *fp)
{
	(void)fprintf(fp,
	    "usage: inletd [-dnvV] [-c file] [-o key=value]... [-R fd]\n"
	    "       inletd --sink [DIR] [-o key=value]...\n"
	    "  -c file   configuration file (default " INLET_CONF ")\n"
	    "  -o k=v    override one configuration key (repeatable)\n"
	    "  -d        stay in the foreground, log to stderr\n"
	    "  -n        check the configuration, print it and exit\n"
	    "  -v        verbose (debug) logging\n"
	    "  -R fd     write the bound listeners and \"ready\" to fd\n"
	    "  --sink [DIR]  test sink on 127.0.0.1:2525 into DIR "
	    "(default ./Maildir)\n"
	    "  -V        print the version and exit\n"
	    "  -h        this help\n");
}

/* version - the -V text: ours and the libraries'. */
static void
version(void)
{
	(void)printf("inletd %s\nlibevent %s\n%s\nCyrus SASL %d.%d.%d\n",
	    PACKAGE_VERSION, event_get_version(),
	    OpenSSL_version(OPENSSL_VERSION), SASL_VERSION_MAJOR,
	    SASL_VERSION_MINOR, SASL_VERSION_STEP);
}

/* add_override - remember one -o for after the file is read. */
static void
add_override(struct options *o, char *kv)
{
	o->overrides = xrealloc(o->overrides, o->noverrides + 1,
	    sizeof(*o->overrides));
	o->overrides[o->noverrides++] = kv;
}

/* parse_report_fd - the -R argument. */
static int
parse_report_fd(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > INT_MAX) {
		(void)fprintf(stderr, "inletd: -R: bad descriptor '%s'\n", s);
		exit(2);
	}
	return (int)v;
}

/* parse_args - the command line; exits on -h, -V and errors. */
static void
parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "sink", optional_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->report_fd = -1;
	while ((ch = getopt_long(argc, argv, "c:o:dnvVhR:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->conf_file = optarg;
			break;
		case 'o':
			add_override(o, optarg);
			break;
		case 'd':
			o->foreground = true;
			break;
		case 'n':
			o->check_only = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'R':
			o->report_fd = parse_report_fd(optarg);
			break;
		case 'S':
			o->sink = true;
			o->sink_dir = optarg;
			if (optarg == NULL && optind < argc &&
			    argv[optind][0] != '-')
				o->sink_dir = argv[optind++];
			break;
		case 'V':
			version();
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc) {
		(void)fprintf(stderr, "inletd: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		exit(2);
	}
}

/* config_fail - one clear error, exit status 2. */
static _Noreturn void
config_fail(char *err)
{
	(void)fprintf(stderr, "inletd: %s\n", err);
	free(err);
	exit(2);
}

/*
 * sink_text - the configuration --sink stands for (conf/sink.conf, which
 * must say the same; tests/test_sink.py compares them): the mx role on
 * 2525 in clear text with no STARTTLS offered (clients that upgrade
 * whenever it is offered would reject the self-signed certificate),
 * STARTTLS on 2587 and implicit TLS on 2465 with a self-signed
 * certificate kept in the sink Maildir, every recipient accepted into
 * the one Maildir dir.
 */
static char *
sink_text(const char *dir)
{
	char cwd[PATH_MAX], path[2 * PATH_MAX], esc[4 * PATH_MAX];
	size_t len = 8 * PATH_MAX + 256, o = 0, i;
	char *text = xmalloc(len);

	if (dir == NULL)
		dir = "Maildir";
	if (dir[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		cwd[0] = '\0';
	(void)snprintf(path, sizeof(path), "%s%s%s", cwd,
	    cwd[0] != '\0' ? "/" : "", dir);
	for (i = 0; path[i] != '\0' && o + 2 < sizeof(esc); i++) {
		if (path[i] == '%')	/* a literal %, not a template */
			esc[o++] = '%';
		esc[o++] = path[i];
	}
	esc[o] = '\0';
	(void)snprintf(text, len, "listen 127.0.0.1:2525 mx notls\n"
	    "listen 127.0.0.1:2587 submission\n"
	    "listen 127.0.0.1:2465 submissions\n"
	    "http_listen 127.0.0.1:8025\n"
	    "sink yes\nmaildir %s\n"
	    "tls_cert %s/sink-cert.pem\ntls_key %s/sink-key.pem\n",
	    esc, path, path);
	return text;
}

/*
 * load_config - defaults, then the file (or the --sink text), then the
 * -o overrides, then the cross-checks.  NULL and *err_out (heap, naming
 * file:line) on any error; used at start and by every reload.
 */
static struct config *
load_config(const struct options *o, char **err_out)
{
	struct config *c;
	const char *name;
	char *text;
	size_t len;

	if (o->sink) {
		name = "--sink";
		text = sink_text(o->sink_dir);
		len = strlen(text);
	} else {
		name = o->conf_file != NULL ? o->conf_file : INLET_CONF;
		if ((text = conffile_read(name, &len)) == NULL) {
			*err_out = xasprintf("%s: %s", name, strerror(errno));
			return NULL;
		}
	}
	c = conffile_load(name, text, len, o->overrides, o->noverrides,
	    err_out);
	free(text);
	return c;
}

/*
 * notify - tell systemd (or a test's NOTIFY_SOCKET) a new state, always
 * with STATUS= counts.  Nothing without libsystemd or NOTIFY_SOCKET.
 */
static void
notify(const char *state)
{
	rt.status_conns = rt.env.nconns;
	rt.status_msgs = rt.env.messages;
#ifdef HAVE_SYSTEMD
	(void)sd_notifyf(0, "%s%sSTATUS=%s%u sessions, %lu messages accepted",
	    state, state[0] != '\0' ? "\n" : "", rt.env.stopping ?
	    "stopping: " : "", rt.env.nconns, rt.env.messages);
#else
	(void)state;
#endif
}

/* status_cb - refresh STATUS= every MAIN_STATUS_SECS if it changed. */
static void
status_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (rt.status_conns != rt.env.nconns ||
	    rt.status_msgs != rt.env.messages)
		notify("");
}

/* stop_loop_cb - the shutdown grace time is over. */
static void
stop_loop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_event(LOG_LEVEL_INFO, NULL, "event=stop",
	    LOG_TOK("reason", "timeout"), LOG_U("sessions", rt.env.nconns));
	event_base_loopexit(rt.base, NULL);
}

/* env_idle_cb - the last connection is gone while stopping. */
static void
env_idle_cb(struct conn_env *env)
{
	if (env->stopping)
		event_base_loopexit(rt.base, NULL);
}

/* stop_cb - SIGTERM/SIGINT: stop accepting, 421 to idle sessions, let
 * messages in flight finish, exit when the last session is gone. */
static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct timeval tv = { (time_t)cfg->shutdown_timeout, 0 };
	size_t i;

	(void)what;
	(void)arg;
	if (rt.env.stopping)
		return;
	log_event(LOG_LEVEL_INFO, NULL, "event=stop", LOG_I("signal", sig),
	    LOG_U("sessions", rt.env.nconns),
	    LOG_SECS("timeout", cfg->shutdown_timeout));
	rt.env.stopping = true;
	notify("STOPPING=1");
	for (i = 0; i < rt.nlisteners; i++)
		listener_free(&rt.listeners[i]);
	conn_shutdown_all(&rt.env);
	if (rt.env.nconns == 0) {
		event_base_loopexit(rt.base, NULL);
		return;
	}
	rt.stop_timer = evtimer_new(rt.base, stop_loop_cb, NULL);
	if (rt.stop_timer == NULL || evtimer_add(rt.stop_timer, &tv) != 0)
		event_base_loopexit(rt.base, NULL);
}

/*
 * make_tls - the TLS contexts of c (after making the self-signed
 * certificate of a sink, --sink or "sink yes", when it is missing): 0
 * with *tls_out set (NULL without tls_cert), or -1 with *err_out.
 */
static int
make_tls(const struct config *c, struct tls **tls_out, char **err_out)
{
	*tls_out = NULL;
	if (c->ntls_certs == 0)
		return 0;
	if (c->sink && tls_selfsigned(c->tls_certs[0], c->tls_keys[0],
	    "localhost", err_out) != 0)
		return -1;
	*tls_out = tls_new(c, err_out);
	return *tls_out != NULL ? 0 : -1;
}

/*
 * load_tls - the TLS contexts at start; a bad certificate or key is a
 * configuration error.
 */
static void
load_tls(void)
{
	char *err = NULL;

	if (make_tls(cfg, &rt.env.tls, &err) != 0)
		config_fail(err);
	if (rt.env.tls != NULL)
		(void)tls_check_expiry(rt.env.tls, time(NULL));
}

/*
 * load_auth - Cyrus SASL for AUTH when sasl_db or saslauthd is set (or
 * the sink's stand-in); an unreadable sasldb is a configuration error.
 */
static void
load_auth(void)
{
	char *err = NULL;

	if (!cfg->sink && !conf_has_auth(cfg))
		return;
	rt.env.auth = auth_new(cfg, &err);
	if (rt.env.auth == NULL)
		config_fail(err);
	if (rt.env.throttle == NULL)
		rt.env.throttle = throttle_new(THROTTLE_MAX);
}

#ifdef HAVE_SYSTEMD
/* fd_role - an inherited socket's role: its FileDescriptorName= if that
 * is a role name, else what its port implies. */
static enum conf_role
fd_role(int fd, const char *name)
{
	static const enum conf_role roles[] = { CONF_ROLE_MX,
	    CONF_ROLE_SUBMISSION, CONF_ROLE_SUBMISSIONS };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	size_t i;

	for (i = 0; name != NULL && i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(name, conf_role_name(roles[i])) == 0)
			return roles[i];
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return CONF_ROLE_MX;
	if (ss.ss_family == AF_INET)
		return conf_role_by_port(
		    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	if (ss.ss_family == AF_INET6)
		return conf_role_by_port(
		    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	return CONF_ROLE_MX;
}

/*
 * inherit_listeners - take over the sockets systemd passed (LISTEN_FDS,
 * LISTEN_FDNAMES); they replace the listen lines for the life of the
 * process.  Returns false when there are none; exits 2 on a bad one.
 */
static bool
inherit_listeners(void)
{
	char **names = NULL;
	const char *err = NULL;
	enum conf_role role;
	int n = sd_listen_fds_with_names(1, &names), i, fd;

	if (n <= 0) {
		if (n < 0)
			log_event(LOG_LEVEL_WARN, NULL, "event=start",
			    LOG_Q("warning", "LISTEN_FDS"),
			    LOG_Q("error", strerror(-n)));
		return false;
	}
	rt.listeners = calloc((size_t)n, sizeof(*rt.listeners));
	if (rt.listeners == NULL)
		log_fatal("out of memory (listeners)");
	for (i = 0; i < n; i++) {
		fd = SD_LISTEN_FDS_START + i;
		if (names != NULL && strcmp(names[i], "http") == 0) {
			rt.http_fd = fd;	/* the sink API's: start_sinkapi */
			continue;
		}
		role = fd_role(fd, names != NULL ? names[i] : NULL);
		rt.listeners[i] = listener_new_fd(&rt.env, fd, role, &err);
		if (rt.listeners[i] == NULL) {
			(void)fprintf(stderr, "inletd: inherited socket %d "
			    "(%s): %s\n", fd, names != NULL ? names[i] : "",
			    err);
			exit(2);
		}
		rt.nlisteners++;
		rt.activated_tls |= role != CONF_ROLE_MX;
	}
	for (i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
	rt.activated = true;
	return true;
}
#endif

/* bind_listeners - bind every listen line of cfg; exit 2 on failure. */
static void
bind_listeners(void)
{
	const char *err = NULL;
	size_t i;

	rt.listeners = calloc(cfg->nlistens, sizeof(*rt.listeners));
	if (rt.listeners == NULL)
		log_fatal("out of memory (listeners)");
	for (i = 0; i < cfg->nlistens; i++) {
		rt.listeners[i] = listener_new(&rt.env, &cfg->listens[i], &err);
		if (rt.listeners[i] == NULL) {
			(void)fprintf(stderr, "inletd: %s: listen %s:%u: %s\n",
			    cfg->listens[i].where, cfg->listens[i].addr,
			    cfg->listens[i].port, err);
			exit(2);
		}
		rt.nlisteners++;
	}
}

/* open_listeners - the sockets passed by systemd, or else every listen
 * line (quietly: announce_listeners logs them once the start is sure). */
static void
open_listeners(void)
{
#ifdef HAVE_SYSTEMD
	if (!inherit_listeners())
#endif
		bind_listeners();
}

/*
 * announce_listeners - log the listeners and list them on -R's fd
 * (returned, still open: "ready" follows once the start is complete, so
 * a harness that sees it may rely on the daemon being fully started).
 */
static FILE *
announce_listeners(const struct options *o)
{
	char name[128];
	size_t i;
	FILE *rep = NULL;

	if (o->report_fd >= 0 && (rep = fdopen(o->report_fd, "w")) == NULL)
		log_fatal("-R %d: %s", o->report_fd, strerror(errno));
	for (i = 0; i < rt.nlisteners; i++) {
		listener_fmt(rt.listeners[i], name, sizeof(name));
		log_event(LOG_LEVEL_INFO, NULL, "event=listen",
		    LOG_Q("address", name), rt.activated ?
		    LOG_TOK("inherited", "yes") : LOG_NONE);
		if (rep != NULL)
			(void)fprintf(rep, "listen %s\n", name);
	}
	return rep;
}

/*
 * relisten - make the listeners match c's listen lines, all or nothing
 * (listener_reconcile); sockets passed by systemd stay as they are.
 */
static int
relisten(const struct config *c, size_t *added_out, size_t *removed_out,
    char **err_out)
{
	const struct conf_listen *cl;
	const char *err = NULL;
	size_t bad = 0;

	*added_out = *removed_out = 0;
	if (rt.activated || listener_reconcile(&rt.env, &rt.listeners,
	    &rt.nlisteners, c, added_out, removed_out, &bad, &err) == 0)
		return 0;
	cl = &c->listens[bad];
	*err_out = xasprintf("%s: listen %s:%u: %s", cl->where, cl->addr,
	    cl->port, err);
	return -1;
}

/* is_catchall - c's maildir names one Maildir (no %d or %u); its path,
 * with %% undone, goes to out. */
static bool
is_catchall(const struct config *c, char *out, size_t outlen)
{
	return strstr(c->maildir, "%d") == NULL &&
	    strstr(c->maildir, "%u") == NULL &&
	    idn_expand(c->maildir, "", "", false, out, outlen) == 0;
}

/* check_read - 0, or -1 and *err_out when the process as it runs now
 * may not read path (a missing one is left to the code that loads it). */
static int
check_read(const char *key, const char *path, char **err_out)
{
	if (path == NULL || faccessat(AT_FDCWD, path, R_OK, AT_EACCESS) == 0 ||
	    errno == ENOENT)
		return 0;
	*err_out = conffile_path_err(key, path, "not readable", errno);
	return -1;
}

/* nearest_dir - the nearest existing ancestor of path, into out. */
static void
nearest_dir(const char *path, char *out, size_t outlen)
{
	struct stat st;
	char *slash;

	(void)snprintf(out, outlen, "%s", path);
	while ((slash = strrchr(out, '/')) != NULL) {
		if (slash == out) {
			out[1] = '\0';
			return;
		}
		*slash = '\0';
		if (stat(out, &st) == 0)
			return;
	}
	(void)snprintf(out, outlen, ".");
}

/*
 * check_maildir - create the Maildir at path (as the process runs now)
 * when missing, and check that it may deliver there.  When it cannot be
 * made, the error names the directory that refuses it.
 */
static int
check_maildir(const char *key, const char *path, bool with_env,
    char **err_out)
{
	char dir[PATH_MAX], how[PATH_MAX + 32];
	int err;

	if ((err = maildir_create(path)) == 0)
		err = maildir_check(path, with_env);
	if (err == 0)
		return 0;
	if (err == ENOENT) {
		nearest_dir(path, dir, sizeof(dir));
		if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0) {
			(void)snprintf(how, sizeof(how), "cannot be made in %s",
			    dir);
			*err_out = conffile_path_err(key, path, how, errno);
			return -1;
		}
	}
	*err_out = conffile_path_err(key, path, "not writable", err);
	return -1;
}

/*
 * check_paths - what the daemon, as the user it runs as, writes or
 * reads again later (at delivery, at a reload): the catch-all Maildir
 * and the queue, made now (so by that user) when missing, the
 * recipients file, the sasldb and the TLS files.  Run after the
 * privilege drop at start and by every reload; -1 and *err_out naming
 * the path and the user.  Template Maildirs are made at delivery.
 */
static int
check_paths(const struct config *c, char **err_out)
{
	char path[PATH_MAX];
	size_t i;

	maildir_set_group_access(c->group_access);	/* for what is made */
	if (is_catchall(c, path, sizeof(path)) &&
	    check_maildir("maildir", path, false, err_out) != 0)
		return -1;
	if (!c->sink && c->queue != NULL &&
	    check_maildir("queue", c->queue, true, err_out) != 0)
		return -1;
	if (check_read("recipients", c->recipients, err_out) != 0 ||
	    check_read("aliases", c->aliases, err_out) != 0)
		return -1;
	if (!c->sink && c->sasl_pwcheck == CONF_PWCHECK_AUXPROP &&
	    check_read("sasl_db", c->sasl_db, err_out) != 0)
		return -1;
	for (i = 0; i < c->ntls_certs && i < c->ntls_keys; i++)
		if (check_read("tls_cert", c->tls_certs[i], err_out) != 0 ||
		    check_read("tls_key", c->tls_keys[i], err_out) != 0)
			return -1;
	return 0;
}

/*
 * set_chaos - the live sink_chaos rules become c's (conf checked them):
 * at start and by every reload, which also starts their counts afresh.
 * Transactions under way keep the set they took.
 */
static void
set_chaos(const struct config *c)
{
	const char *why;
	size_t i;

	chaos_unref(&rt.env.chaos);
	rt.env.chaos = chaos_new();
	for (i = 0; i < c->nsink_chaos; i++)
		if (chaos_add(rt.env.chaos, c->sink_chaos[i], &why) != 0)
			log_fatal("can't happen: sink_chaos %s: %s",
			    c->sink_chaos[i], why);
}

/* reload_check - what a start or reload needs besides a valid file and
 * usable paths: sockets passed for the submission roles have what
 * conf_check_role says (certificates and AUTH). */
static int
reload_check(const struct config *c, const struct tls *t, char **err_out)
{
	if (!rt.activated_tls)
		return 0;
	return conf_check_role(c, CONF_ROLE_SUBMISSION, t != NULL,
	    "a socket passed by systemd", err_out);
}

/* reload_failed - log why and keep everything as it is. */
static void
reload_failed(bool tls_failed, char *err)
{
	log_event(LOG_LEVEL_ERR, NULL, "event=reload", tls_failed ?
	    LOG_TOK("tls", "failed") : LOG_NONE, LOG_Q("error", err),
	    LOG_TOK("status", "failed"),
	    LOG_Q("action", "keeping the running configuration"));
	free(err);
	maildir_set_group_access(cfg->group_access);	/* check_paths' */
	notify("READY=1");
}

/*
 * reload - SIGHUP: read the configuration again (the same file or
 * --sink, the same -o overrides), check it, load its certificates, bind
 * its new listeners; only when all of that works do new connections get
 * it (and listeners it no longer names close).  Connections already
 * running keep the configuration they started with (conn_env_set_cfg).
 */
static void
reload(void)
{
	struct config *c;
	struct tls *t = NULL;
	char *err = NULL;
	size_t added, removed;

	notify("RELOADING=1");
	if ((c = load_config(rt.opts, &err)) == NULL) {
		reload_failed(false, err);
		return;
	}
	if (check_paths(c, &err) != 0) {
		reload_failed(false, err);
		conf_free(&c);
		return;
	}
	if (make_tls(c, &t, &err) != 0) {
		reload_failed(true, err);
		conf_free(&c);
		return;
	}
	if ((c->sink || conf_has_auth(c)) && auth_check(c, &err) != 0) {
		reload_failed(false, err);
		tls_unref(&t);
		conf_free(&c);
		return;
	}
	if (reload_check(c, t, &err) != 0 ||
	    relisten(c, &added, &removed, &err) != 0) {
		reload_failed(false, err);
		tls_unref(&t);
		conf_free(&c);
		return;
	}
	if ((cfg->user == NULL) != (c->user == NULL) || (c->user != NULL &&
	    strcmp(cfg->user, c->user) != 0))
		log_event(LOG_LEVEL_WARN, NULL, "event=reload",
		    LOG_Q("warning", "a new user takes effect only at "
		    "restart"));
	conn_env_set_cfg(&rt.env, c);
	cfg = c;
	set_chaos(c);
	tls_unref(&rt.env.tls);
	rt.env.tls = t;
	if (rt.env.auth != NULL)
		auth_reconfigure(rt.env.auth, c);
	else
		load_auth();	/* AUTH configured for the first time */
	if (t != NULL)
		(void)tls_check_expiry(t, time(NULL));
	log_event(LOG_LEVEL_INFO, NULL, "event=reload",
	    LOG_TOK("tls", t != NULL ? "ok" : "none"),
	    LOG_U("certificates", c->ntls_certs), LOG_TOK("status", "ok"),
	    LOG_U("listeners", rt.nlisteners), LOG_U("added", added),
	    LOG_U("removed", removed), LOG_U("sessions", rt.env.nconns));
	notify("READY=1");
}

/* hup_cb - SIGHUP: reload, unless already stopping. */
static void
hup_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	if (rt.env.stopping) {
		log_event(LOG_LEVEL_INFO, NULL, "event=reload",
		    LOG_TOK("status", "ignored"), LOG_TOK("reason", "stopping"));
		return;
	}
	reload();
}

/*
 * drop_privileges - become `user` (after binding, before anything is
 * created or loaded); verify no way back.  Quiet: log_privileges() says
 * what happened once the start has worked.
 */
static void
drop_privileges(void)
{
	struct passwd *pw;

	if (cfg->user == NULL)
		return;
	pw = getpwnam(cfg->user);
	if (pw == NULL) {
		(void)fprintf(stderr, "inletd: user %s: no such user\n",
		    cfg->user);
		exit(2);
	}
	if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid &&
	    getgid() == pw->pw_gid && getegid() == pw->pw_gid) {
		/* e.g. User= in the systemd unit: nothing left to drop */
		rt.already_user = true;
		return;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
		log_fatal("cannot become user %s: %s", cfg->user,
		    strerror(errno));
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		log_fatal("can't happen: regained root after dropping to %s",
		    cfg->user);
}

/* log_privileges - the user the daemon runs as (drop_privileges). */
static void
log_privileges(void)
{
	if (cfg->user == NULL) {
		if (geteuid() == 0)
			log_event(LOG_LEVEL_WARN, NULL, "event=start",
			    LOG_Q("warning", "running as root: set 'user' in "
			    "the configuration"));
	} else if (rt.already_user) {
		log_event(LOG_LEVEL_INFO, NULL, "event=privileges",
		    LOG_TOK("user", cfg->user), LOG_TOK("already", "yes"));
	} else {
		log_event(LOG_LEVEL_INFO, NULL, "event=privileges",
		    LOG_TOK("user", cfg->user), LOG_U("uid", getuid()),
		    LOG_U("gid", getgid()));
	}
}

/*
 * start_checks - after the privilege drop, as the user the daemon runs
 * as (as every reload will): the Maildirs made and every path checked
 * (check_paths), the certificates and SASL loaded, passed sockets with
 * TLS roles served; one line on stderr and exit 2 otherwise, like a bad
 * configuration.  A configuration file that user cannot read gets a
 * warning: SIGHUP could not read it again.
 */
static void
start_checks(const struct options *o)
{
	const char *conf = o->conf_file != NULL ? o->conf_file : INLET_CONF;
	char *err = NULL;

	if (check_paths(cfg, &err) != 0)
		config_fail(err);
	load_tls();
	load_auth();
	if (reload_check(cfg, rt.env.tls, &err) != 0)
		config_fail(err);
	if (!o->sink && faccessat(AT_FDCWD, conf, R_OK, AT_EACCESS) != 0) {
		char why[PATH_MAX + 128];

		err = conffile_path_err("config", conf, "not readable", errno);
		(void)snprintf(why, sizeof(why), "%s: SIGHUP cannot reload it",
		    err);
		log_event(LOG_LEVEL_WARN, NULL, "event=start",
		    LOG_Q("warning", why));
		free(err);
	}
}

/*
 * raise_nofile - lift the soft descriptor limit to the hard one, so that
 * max_connections sessions (each one socket, plus a file while a message
 * is committed) fit; say so when even the hard limit is too low.
 */
static void
raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)cfg->max_connections * 2 + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		log_event(LOG_LEVEL_WARN, NULL, "event=start",
		    LOG_Q("warning", "descriptor limit is low"),
		    LOG_U("limit", rl.rlim_cur),
		    LOG_U("max_connections", cfg->max_connections));
}

/* clean_maildirs - remove stale tmp/ files (> 36 h) at start. */
static void
clean_maildirs(void)
{
	char path[PATH_MAX];
	int n;

	if (is_catchall(cfg, path, sizeof(path)))
		n = maildir_clean_tmp(path, time(NULL), MAILDIR_TMP_MAX_AGE);
	else
		n = maildir_clean_template(cfg->maildir, cfg->domains,
		    cfg->ndomains, time(NULL), MAILDIR_TMP_MAX_AGE);
	if (n > 0)
		log_event(LOG_LEVEL_INFO, NULL, "event=tmp-clean",
		    LOG_I("removed", n));
}

/*
 * start_sinkapi - with http_listen: the sink Maildir's index and the
 * HTTP API on it (on the socket systemd named "http" if it passed one),
 * kept as they are by reloads (a new http_listen, http_auth or
 * retention needs a restart).  The bound address is logged
 * and reported (-R "http ADDRESS:PORT"); exit 2 when it cannot listen.
 */
static void
start_sinkapi(FILE *rep)
{
	char dir[PATH_MAX], name[INET6_ADDRSTRLEN + 16];
	const char *err = NULL;

	if (cfg->http_listen == NULL || !is_catchall(cfg, dir, sizeof(dir)))
		return;
	if (cfg->http_auth != NULL && htpasswd_load(cfg->http_auth,
	    &rt.htpasswd, &err) != 0)
		config_fail(xasprintf("http_auth %s: %s", cfg->http_auth, err));
	rt.env.mindex = mindex_new(rt.base, dir, cfg->sink_max_messages,
	    cfg->sink_max_age);
	rt.sinkapi = sinkapi_new(rt.base, rt.env.mindex, &rt.env.chaos,
	    cfg->http_listen, rt.http_fd, rt.htpasswd, name, sizeof(name),
	    &err);
	if (rt.sinkapi == NULL)
		config_fail(xasprintf("%s: http_listen %s: %s",
		    cfg->http_listen_where, cfg->http_listen, err));
	log_event(LOG_LEVEL_INFO, NULL, "event=http-listen",
	    LOG_Q("address", name), LOG_TOK("auth",
	    rt.htpasswd != NULL ? "basic" : "none"), rt.http_fd >= 0 ?
	    LOG_TOK("inherited", "yes") : LOG_NONE);
	if (rep != NULL)
		(void)fprintf(rep, "http %s\n", name);
}

/* setup_signals - TERM/INT stop, HUP reload, PIPE ignored; the STATUS=
 * timer when there is someone to notify. */
static void
setup_signals(void)
{
	struct timeval tv = { MAIN_STATUS_SECS, 0 };

	if (getenv("NOTIFY_SOCKET") != NULL) {
		rt.status_timer = event_new(rt.base, -1, EV_PERSIST, status_cb,
		    NULL);
		if (rt.status_timer == NULL ||
		    evtimer_add(rt.status_timer, &tv) != 0)
			log_fatal("cannot set up the status timer");
	}
	(void)signal(SIGPIPE, SIG_IGN);
	rt.sig_term = evsignal_new(rt.base, SIGTERM, stop_cb, NULL);
	rt.sig_int = evsignal_new(rt.base, SIGINT, stop_cb, NULL);
	rt.sig_hup = evsignal_new(rt.base, SIGHUP, hup_cb, NULL);
	if (rt.sig_term == NULL || rt.sig_int == NULL || rt.sig_hup == NULL ||
	    evsignal_add(rt.sig_term, NULL) != 0 ||
	    evsignal_add(rt.sig_int, NULL) != 0 ||
	    evsignal_add(rt.sig_hup, NULL) != 0)
		log_fatal("cannot set up signal handlers");
}

/*
 * cleanup - free what the loop used (valgrind-clean exit).  The stop
 * signals are blocked and the worker threads joined first: once the loop
 * has ended, a late SIGTERM (whose handler goes with its event) must not
 * turn a clean exit into death by signal, in any thread.
 */
static void
cleanup(void)
{
	sigset_t late;
	size_t i;

	(void)sigemptyset(&late);
	(void)sigaddset(&late, SIGTERM);
	(void)sigaddset(&late, SIGINT);
	(void)sigaddset(&late, SIGHUP);
	(void)pthread_sigmask(SIG_BLOCK, &late, NULL);
	workq_free(&rt.env.workq);	/* no other thread to take a signal */
	conn_abort_spools(&rt.env);	/* what a timed-out stop left in tmp/ */
	sinkapi_free(&rt.sinkapi);
	mindex_free(&rt.env.mindex);
	htpasswd_free(&rt.htpasswd);
	for (i = 0; i < rt.nlisteners; i++)
		listener_free(&rt.listeners[i]);
	free(rt.listeners);
	event_free(rt.sig_term);
	event_free(rt.sig_int);
	event_free(rt.sig_hup);
	if (rt.stop_timer != NULL)
		event_free(rt.stop_timer);
	if (rt.status_timer != NULL)
		event_free(rt.status_timer);
	event_base_free(rt.base);
	tls_unref(&rt.env.tls);
	auth_free(&rt.env.auth);
	throttle_free(&rt.env.throttle);
	chaos_unref(&rt.env.chaos);
	conn_env_set_cfg(&rt.env, NULL);
	cfg = NULL;
	mime_shutdown();
}

int
main(int argc, char **argv)
{
	struct options o;
	struct config *c;
	char *text, *cerr = NULL;
	FILE *report;

	rt.http_fd = -1;
	parse_args(argc, argv, &o);
	if ((c = load_config(&o, &cerr)) == NULL)
		config_fail(cerr);
	cfg = c;
	rt.opts = &o;
	if (o.check_only) {
		text = conf_fmt(cfg);
		(void)fputs(text, stdout);
		free(text);
		conf_free(&c);
		free(o.overrides);
		return 0;
	}
	log_open("inletd", o.foreground || o.sink,
	    o.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	mime_init();	/* before any thread: the sink line decodes MIME */
	if (evthread_use_pthreads() != 0)
		log_fatal("libevent without pthreads support");
	rt.base = event_base_new();
	if (rt.base == NULL)
		log_fatal("cannot create the event loop");
	rt.env.base = rt.base;
	conn_env_set_cfg(&rt.env, c);	/* rt.env owns c from here on */
	set_chaos(c);
	rt.env.idle_cb = env_idle_cb;
	TAILQ_INIT(&rt.env.conns);
	setup_signals();
	open_listeners();
	/* Root only to bind: all that is made or loaded from here on is
	 * the runtime user's, as it is for every reload. */
	drop_privileges();
	start_checks(&o);
	raise_nofile();
	rt.env.workq = workq_new(rt.base, MAIN_COMMIT_THREADS);
	if (rt.env.workq == NULL)
		log_event(LOG_LEVEL_WARN, NULL, "event=start",
		    LOG_Q("warning", "no worker threads: commits run on the "
		    "event loop"));
	report = announce_listeners(&o);
	start_sinkapi(report);
	log_privileges();
	clean_maildirs();
	if (report != NULL) {
		(void)fprintf(report, "ready\n");
		(void)fclose(report);
	}
	log_event(LOG_LEVEL_INFO, NULL, "event=start",
	    LOG_TOK("version", PACKAGE_VERSION),
	    LOG_TOK("sink", cfg->sink ? "yes" : "no"),
	    LOG_Q("maildir", cfg->maildir));
	notify("READY=1");
	(void)event_base_dispatch(rt.base);
	log_event(LOG_LEVEL_INFO, NULL, "event=exit",
	    LOG_U("messages", rt.env.messages));
	cleanup();
	free(o.overrides);
	return 0;
}
