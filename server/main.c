/* SPDX-License-Identifier: ISC */
/*
 * main - inletd: arguments, configuration, listeners, privilege drop,
 * signals and the event loop.  The only main() and the only place the two
 * globals (cfg and rt) are named; everything else receives what it needs.
 */
#include "config.h"

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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <sasl/sasl.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "conf.h"
#include "conn.h"
#include "listener.h"
#include "log.h"
#include "maildir.h"
#include "tls.h"

#ifndef INLET_CONF
#define INLET_CONF "/etc/inlet/inlet.conf"
#endif
#define MAIN_SHUTDOWN_SECS	30
#define MAIN_CONF_MAX		(1024 * 1024)

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
	struct event_base	*base;
	struct conn_env		 env;
	struct listener		**listeners;
	size_t			 nlisteners;
	struct event		*sig_term, *sig_int, *sig_hup, *stop_timer;
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
	char **n = realloc(o->overrides, (o->noverrides + 1) * sizeof(*n));

	if (n == NULL)
		log_fatal("out of memory (options)");
	o->overrides = n;
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

/* read_file - a whole (small) file into memory; NULL with errno. */
static char *
read_file(const char *path, size_t *len_out)
{
	FILE *fp = fopen(path, "re");
	char *text;
	size_t n;

	if (fp == NULL)
		return NULL;
	text = malloc(MAIN_CONF_MAX + 1);
	if (text == NULL)
		log_fatal("out of memory (config)");
	n = fread(text, 1, MAIN_CONF_MAX + 1, fp);
	if (ferror(fp) || n > MAIN_CONF_MAX) {
		int err = ferror(fp) ? EIO : EFBIG;

		(void)fclose(fp);
		free(text);
		errno = err;
		return NULL;
	}
	(void)fclose(fp);
	text[n] = '\0';
	*len_out = n;
	return text;
}

/*
 * sink_text - the configuration --sink stands for (conf/sink.conf): the
 * mx role on 2525, STARTTLS on 2587 and implicit TLS on 2465 with a
 * self-signed certificate kept in the sink Maildir, every recipient
 * accepted into the one Maildir dir.
 */
static char *
sink_text(const char *dir)
{
	char cwd[PATH_MAX], path[2 * PATH_MAX], esc[4 * PATH_MAX];
	size_t len = 8 * PATH_MAX + 256, o = 0, i;
	char *text = malloc(len);

	if (text == NULL)
		log_fatal("out of memory (sink config)");
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
	(void)snprintf(text, len, "listen 127.0.0.1:2525 mx\n"
	    "listen 127.0.0.1:2587 submission\n"
	    "listen 127.0.0.1:2465 submissions\n"
	    "sink yes\nmaildir %s\n"
	    "tls_cert %s/sink-cert.pem\ntls_key %s/sink-key.pem\n",
	    esc, path, path);
	return text;
}

/* load_config - defaults, file or sink, overrides, cross-checks. */
static struct config *
load_config(const struct options *o)
{
	char host[256], *text, *err = NULL;
	const char *name;
	struct config *c;
	size_t len, i;

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		(void)snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	c = conf_new(host);
	if (o->sink) {
		name = "--sink";
		text = sink_text(o->sink_dir);
		len = strlen(text);
	} else {
		name = o->conf_file != NULL ? o->conf_file : INLET_CONF;
		text = read_file(name, &len);
		if (text == NULL) {
			(void)fprintf(stderr, "inletd: %s: %s\n", name,
			    strerror(errno));
			exit(2);
		}
	}
	if (conf_parse(c, name, text, len, &err) != 0)
		config_fail(err);
	free(text);
	for (i = 0; i < o->noverrides; i++)
		if (conf_set(c, o->overrides[i], &err) != 0)
			config_fail(err);
	if (conf_check(c, &err) != 0)
		config_fail(err);
	return c;
}

/* stop_loop_cb - the shutdown grace time is over. */
static void
stop_loop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_info("event=stop reason=timeout sessions=%u", rt.env.nconns);
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
	struct timeval tv = { MAIN_SHUTDOWN_SECS, 0 };
	size_t i;

	(void)what;
	(void)arg;
	if (rt.env.stopping)
		return;
	log_info("event=stop signal=%d sessions=%u", (int)sig, rt.env.nconns);
#ifdef HAVE_SYSTEMD
	(void)sd_notify(0, "STOPPING=1");
#endif
	rt.env.stopping = true;
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
 * load_tls - the TLS contexts at start (a self-signed certificate is made
 * first for --sink); a bad certificate or key is a configuration error.
 */
static void
load_tls(const struct options *o)
{
	char *err = NULL;

	if (cfg->ntls_certs == 0)
		return;
	if (o->sink && tls_selfsigned(cfg->tls_certs[0], cfg->tls_keys[0],
	    "localhost", &err) != 0)
		config_fail(err);
	rt.env.tls = tls_new(cfg, &err);
	if (rt.env.tls == NULL)
		config_fail(err);
	(void)tls_check_expiry(rt.env.tls, time(NULL));
}

/*
 * hup_cb - SIGHUP: load the certificates and keys again; if they all load
 * and match, new connections use them; otherwise keep the old ones and
 * say why.  (Reloading the rest of the configuration is future work.)
 */
static void
hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct tls *t;
	char *err = NULL;

	(void)sig;
	(void)what;
	(void)arg;
	if (cfg->ntls_certs == 0) {
		log_info("event=reload tls=none");
		return;
	}
	t = tls_new(cfg, &err);
	if (t == NULL) {
		log_err("event=reload tls=failed error=\"%s\" "
		    "action=\"keeping the loaded certificates\"", err);
		free(err);
		return;
	}
	tls_unref(&rt.env.tls);
	rt.env.tls = t;
	(void)tls_check_expiry(t, time(NULL));
	log_info("event=reload tls=ok certificates=%zu", cfg->ntls_certs);
}

/* open_listeners - bind every listen line; report them on -R's fd. */
static void
open_listeners(const struct options *o)
{
	const char *err = NULL;
	char name[128];
	size_t i;
	FILE *rep = NULL;

	if (o->report_fd >= 0 && (rep = fdopen(o->report_fd, "w")) == NULL)
		log_fatal("-R %d: %s", o->report_fd, strerror(errno));
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
		listener_fmt(rt.listeners[i], name, sizeof(name));
		log_info("event=listen address=\"%s\"", name);
		if (rep != NULL)
			(void)fprintf(rep, "listen %s\n", name);
	}
	if (rep != NULL) {
		(void)fprintf(rep, "ready\n");
		(void)fclose(rep);
	}
}

/* drop_privileges - become `user` (after binding); verify no way back. */
static void
drop_privileges(void)
{
	struct passwd *pw;

	if (cfg->user == NULL) {
		if (geteuid() == 0)
			log_warn("event=start warning=\"running as root: set "
			    "'user' in the configuration\"");
		return;
	}
	pw = getpwnam(cfg->user);
	if (pw == NULL) {
		(void)fprintf(stderr, "inletd: user %s: no such user\n",
		    cfg->user);
		exit(2);
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
		log_fatal("cannot become user %s: %s", cfg->user,
		    strerror(errno));
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		log_fatal("can't happen: regained root after dropping to %s",
		    cfg->user);
	log_info("event=privileges user=%s uid=%u gid=%u", cfg->user,
	    (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
}

/* is_catchall - the maildir setting names one Maildir (no %d or %u);
 * its path, with %% undone, goes to out. */
static bool
is_catchall(char *out, size_t outlen)
{
	return strstr(cfg->maildir, "%d") == NULL &&
	    strstr(cfg->maildir, "%u") == NULL &&
	    maildir_expand(cfg->maildir, "", "", out, outlen) == 0;
}

/* clean_maildirs - remove stale tmp/ files (> 36 h) at start. */
static void
clean_maildirs(void)
{
	char path[PATH_MAX];
	int n;

	if (is_catchall(path, sizeof(path)))
		n = maildir_clean_tmp(path, time(NULL), MAILDIR_TMP_MAX_AGE);
	else
		n = maildir_clean_template(cfg->maildir, cfg->domains,
		    cfg->ndomains, time(NULL), MAILDIR_TMP_MAX_AGE);
	if (n > 0)
		log_info("event=tmp-clean removed=%d", n);
}

/* setup_signals - TERM/INT stop, HUP reload, PIPE ignored. */
static void
setup_signals(void)
{
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

/* cleanup - free what the loop used (valgrind-clean exit). */
static void
cleanup(void)
{
	size_t i;

	for (i = 0; i < rt.nlisteners; i++)
		listener_free(&rt.listeners[i]);
	free(rt.listeners);
	event_free(rt.sig_term);
	event_free(rt.sig_int);
	event_free(rt.sig_hup);
	if (rt.stop_timer != NULL)
		event_free(rt.stop_timer);
	event_base_free(rt.base);
	tls_unref(&rt.env.tls);
}

int
main(int argc, char **argv)
{
	struct options o;
	struct config *c;
	char *text, path[PATH_MAX];
	int err;

	parse_args(argc, argv, &o);
	c = load_config(&o);
	cfg = c;
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
	if (is_catchall(path, sizeof(path)) && (err = maildir_create(path)))
		log_fatal("maildir %s: %s", path, strerror(err));
	load_tls(&o);
	rt.base = event_base_new();
	if (rt.base == NULL)
		log_fatal("cannot create the event loop");
	rt.env.base = rt.base;
	rt.env.cfg = cfg;
	rt.env.idle_cb = env_idle_cb;
	TAILQ_INIT(&rt.env.conns);
	setup_signals();
	open_listeners(&o);
	drop_privileges();
	clean_maildirs();
	log_info("event=start version=%s sink=%s maildir=\"%s\"",
	    PACKAGE_VERSION, cfg->sink ? "yes" : "no", cfg->maildir);
#ifdef HAVE_SYSTEMD
	(void)sd_notify(0, "READY=1\nSTATUS=accepting mail");
#endif
	(void)event_base_dispatch(rt.base);
	log_info("event=exit messages=%lu", rt.env.messages);
	cleanup();
	conf_free(&c);
	free(o.overrides);
	return 0;
}
