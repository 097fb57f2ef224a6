/* SPDX-License-Identifier: ISC */
/*
 * relay_main - inlet-relay: arguments, the configuration (inletd's
 * inlet.conf), the smarthost logins, privileges, the one-instance lock,
 * signals (SIGHUP reloads, SIGUSR1 flushes, SIGTERM finishes the
 * transaction in flight), inotify on the queue's new/, and the queue
 * commands -l, -f, -D.  The second program's only main().
 */
#include "config.h"

#include <dirent.h>
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
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "conf.h"
#include "conffile.h"
#include "log.h"
#include "maildir.h"
#include "relay_agent.h"
#include "relay_conn.h"
#include "relay_queue.h"
#include "xalloc.h"

#ifndef INLET_CONF
#define INLET_CONF "/etc/inlet/inlet.conf"
#endif

enum relay_cmd { CMD_RUN, CMD_LIST, CMD_FLUSH, CMD_DELETE, CMD_CHECK };

struct options {
	const char	*conf_file;
	char		**overrides;
	size_t		 noverrides;
	bool		 foreground;
	enum relay_cmd	 cmd;
	const char	*id;
};

/* The running agent's world (the reload swaps env). */
struct relay_run {
	struct options	*o;
	struct event_base *base;
	struct evdns_base *dns;
	struct relay_agent *agent;
	struct relay_env env;
	struct config	*cfg;
	struct event	*inotify_ev;
	int		 inotify_fd;
	int		 lock_fd;
};

static void
usage(FILE *fp)
{
	(void)fprintf(fp, "usage: inlet-relay [-d] [-c file] [-o key=value]"
	    "...\n       inlet-relay [-c file] [-o key=value]... -l | -f | "
	    "-D id | -n\n");
}

static void
parse_args(int argc, char **argv, struct options *o)
{
	int ch;

	while ((ch = getopt(argc, argv, "dc:o:lfD:nh")) != -1) {
		switch (ch) {
		case 'd':
			o->foreground = true;
			break;
		case 'c':
			o->conf_file = optarg;
			break;
		case 'o':
			o->overrides = xrealloc(o->overrides,
			    o->noverrides + 1, sizeof(*o->overrides));
			o->overrides[o->noverrides++] = optarg;
			break;
		case 'l':
			o->cmd = CMD_LIST;
			break;
		case 'f':
			o->cmd = CMD_FLUSH;
			break;
		case 'D':
			o->cmd = CMD_DELETE;
			o->id = optarg;
			break;
		case 'n':
			o->cmd = CMD_CHECK;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
}

/* load_config - inlet.conf as inletd reads it (conffile), and what
 * inlet-relay needs besides: a smarthost and a queue.  NULL with
 * *err_out. */
static struct config *
load_config(const struct options *o, char **err_out)
{
	const char *name = o->conf_file != NULL ? o->conf_file : INLET_CONF;
	struct config *c;
	size_t len;
	char *text;

	if ((text = conffile_read(name, &len)) == NULL) {
		*err_out = xasprintf("%s: %s", name, strerror(errno));
		return NULL;
	}
	c = conffile_load(name, text, len, o->overrides, o->noverrides,
	    err_out);
	free(text);
	if (c != NULL && (c->nrelay_hosts == 0 || c->queue == NULL)) {
		*err_out = xasprintf("%s: inlet-relay needs %s", name,
		    c->queue == NULL ? "queue" : "relay_host");
		conf_free(&c);
	}
	return c;
}

/* check_secret_mode - the logins file: no access for others, no group
 * write, owned by root or by us. */
static int
check_secret_mode(const char *path, int fd, char **err_out)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0) {
		*err_out = xasprintf("relay_auth_file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((sb.st_mode & (S_IRWXO | S_IWGRP)) != 0 ||
	    (sb.st_uid != 0 && sb.st_uid != geteuid())) {
		*err_out = xasprintf("relay_auth_file %s: mode %04o owner %u: "
		    "it holds passwords: make it 0600 (or 0640), owned by "
		    "root or the relay user", path,
		    (unsigned)(sb.st_mode & 07777), (unsigned)sb.st_uid);
		return -1;
	}
	return 0;
}

/* cred_line - "HOST USER PASSWORD" into the list; 0 or -1. */
static int
cred_line(char *line, struct relay_env *env)
{
	char *w[4], *save = NULL;
	size_t n = 0;

	for (w[n] = strtok_r(line, " \t\r", &save); w[n] != NULL && n < 3;
	    w[n] = strtok_r(NULL, " \t\r", &save))
		n++;
	if (n == 0 || w[0][0] == '#')
		return 0;
	if (n != 3 || w[3] != NULL)
		return -1;
	env->creds = xrealloc(env->creds, env->ncreds + 1,
	    sizeof(*env->creds));
	env->creds[env->ncreds++] = (struct relay_cred){ xstrdup(w[0]),
	    xstrdup(w[1]), xstrdup(w[2]) };
	return 0;
}

static void
creds_free(struct relay_env *env)
{
	size_t i;

	for (i = 0; i < env->ncreds; i++) {
		free(env->creds[i].host);
		free(env->creds[i].user);
		explicit_bzero(env->creds[i].pass, strlen(env->creds[i].pass));
		free(env->creds[i].pass);
	}
	free(env->creds);
	env->creds = NULL;
	env->ncreds = 0;
}

/* load_creds - relay_auth_file (if set) into env; 0 or -1. */
static int
load_creds(const char *path, struct relay_env *env, char **err_out)
{
	char *text = NULL, *line, *save = NULL;
	size_t len, n = 0;
	int fd, rc = 0;

	if (path == NULL)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*err_out = xasprintf("relay_auth_file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	rc = check_secret_mode(path, fd, err_out);
	(void)close(fd);
	if (rc != 0)
		return -1;
	if ((text = conffile_read(path, &len)) == NULL) {
		*err_out = xasprintf("relay_auth_file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL && rc == 0;
	    line = strtok_r(NULL, "\n", &save)) {
		n++;
		if (cred_line(line, env) != 0) {
			*err_out = xasprintf("%s:%zu: expected HOST USER "
			    "PASSWORD", path, n);
			rc = -1;
		}
	}
	explicit_bzero(text, len);
	free(text);
	return rc;
}

/* load_env - config, TLS context and logins; 0 or -1 with *err_out. */
static int
load_env(const struct options *o, struct config **cfg_out,
    struct relay_env *env, char **err_out)
{
	struct config *c = load_config(o, err_out);

	memset(env, 0, sizeof(*env));
	if (c == NULL)
		return -1;
	if (load_creds(c->relay_auth_file, env, err_out) != 0 ||
	    (env->ctx = relay_conn_ssl_ctx(c->relay_ca_file, err_out)) ==
	    NULL) {
		creds_free(env);
		conf_free(&c);
		return -1;
	}
	env->cfg = c;
	*cfg_out = c;
	return 0;
}

static void
env_free(struct relay_env *env, struct config **cfg)
{
	creds_free(env);
	SSL_CTX_free(env->ctx);
	env->ctx = NULL;
	conf_free(cfg);
}

/* drop_privileges - become relay_user (or inletd's user) when root. */
static void
drop_privileges(const struct config *c)
{
	const char *user = c->relay_user != NULL ? c->relay_user : c->user;
	struct passwd *pw;

	if (user == NULL || geteuid() != 0)
		return;
	if ((pw = getpwnam(user)) == NULL) {
		(void)fprintf(stderr, "inlet-relay: user %s: no such user\n",
		    user);
		exit(2);
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
		log_fatal("cannot become user %s: %s", user, strerror(errno));
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		log_fatal("can't happen: regained root after dropping to %s",
		    user);
}

/* lock_path - queue/relay.pid into dst. */
static void
lock_path(const struct config *c, char *dst, size_t len)
{
	(void)snprintf(dst, len, "%s/%s", c->queue, RELAY_QUEUE_PID);
}

/*
 * queue_denied - path (a directory when dir) as the user we run as now:
 * searchable and writable, or readable; the errno of a permission error,
 * else 0 (a missing one is made or reported later).
 */
static int
queue_denied(const char *path, bool dir)
{
	if (faccessat(AT_FDCWD, path, dir ? R_OK | W_OK | X_OK : R_OK,
	    AT_EACCESS) == 0 || (errno != EACCES && errno != EPERM))
		return 0;
	return errno;
}

/*
 * check_queue_access - the queue's directories, and the first file of
 * new/ and env/, as the user we now run as.  inletd makes them 0700 and
 * 0600 for its own user unless group_access is yes, so a permission
 * error here names that key.  0, or 1 after the log line.
 */
static int
check_queue_access(const struct config *c)
{
	static const char *const sub[] = { "", "/new", "/env", "/cur",
	    "/tmp", "/state" };
	char p[PATH_MAX], why[PATH_MAX + 256];
	struct dirent *de;
	struct passwd *pw;
	size_t i;
	DIR *d;
	int err = 0;

	for (i = 0; i < sizeof(sub) / sizeof(sub[0]) && err == 0; i++) {
		(void)snprintf(p, sizeof(p), "%s%s", c->queue, sub[i]);
		if ((err = queue_denied(p, true)) != 0 || i == 0 || i > 2 ||
		    (d = opendir(p)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL && de->d_name[0] == '.')
			continue;
		if (de != NULL && strlen(p) + 1 + strlen(de->d_name) <
		    sizeof(p)) {
			(void)strcat(strcat(p, "/"), de->d_name);
			err = queue_denied(p, false);
		}
		(void)closedir(d);
	}
	if (err == 0) {
		lock_path(c, p, sizeof(p));
		if (faccessat(AT_FDCWD, p, F_OK, AT_EACCESS) == 0)
			err = queue_denied(p, false);
	}
	if (err == 0)
		return 0;
	pw = getpwuid(geteuid());
	(void)snprintf(why, sizeof(why), "%s: inlet-relay runs as user %s, "
	    "and inletd keeps its queue to itself unless group_access is yes "
	    "in inlet.conf (then 0770/0640 for its group; an older tree needs "
	    "chmod -R g+rwX,o-rwx once)", strerror(err),
	    pw != NULL ? pw->pw_name : "?");
	log_event(LOG_LEVEL_ERR, NULL, "event=queue", LOG_Q("file", p),
	    LOG_Q("error", why));
	return 1;
}

/*
 * take_lock - one agent per queue: queue/relay.pid, locked, holding our
 * pid.  A queue command may hold a shared lock on it for a moment
 * (agent_pid), so a busy lock is tried a few times.  The descriptor, or
 * -1 (another agent runs: errno EWOULDBLOCK).
 */
static int
take_lock(const struct config *c)
{
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	char p[PATH_MAX], buf[32];
	int fd, n, tries;

	lock_path(c, p, sizeof(p));
	if ((fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1)
		return -1;
	for (tries = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; tries++) {
		if (errno != EWOULDBLOCK || tries == 20) {
			(void)close(fd);
			errno = EWOULDBLOCK;
			return -1;
		}
		(void)nanosleep(&pause, NULL);
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

/*
 * agent_pid - the running agent's pid: the pid file is locked by it
 * (our shared lock fails) and names it; 0 when no agent runs.
 */
static long
agent_pid(const struct config *c)
{
	char p[PATH_MAX], buf[32];
	long pid = 0;
	ssize_t n;
	int fd;

	lock_path(c, p, sizeof(p));
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		(void)flock(fd, LOCK_UN);	/* nobody holds it */
	else if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		pid = strtol(buf, NULL, 10);
	}
	(void)close(fd);
	return pid;
}

/* ---- the queue commands ------------------------------------------- */

/* age_fmt - seconds as "42s", "5m", "3h", "2d". */
static void
age_fmt(long long s, char *dst, size_t len)
{
	if (s < 120)
		(void)snprintf(dst, len, "%llds", s < 0 ? 0 : s);
	else if (s < 7200)
		(void)snprintf(dst, len, "%lldm", s / 60);
	else if (s < 172800)
		(void)snprintf(dst, len, "%lldh", s / 3600);
	else
		(void)snprintf(dst, len, "%lldd", s / 86400);
}

/* list_one - one message: id age size sender, then each recipient. */
static void
list_one(const struct relay_msg *m, time_t now)
{
	char age[32], t[LOG_TIME_LEN];
	size_t i;

	age_fmt((long long)(now - m->arrival), age, sizeof(age));
	(void)printf("%-20s %6s %10llu <%s>  (%s)%s\n", m->env.queue_id, age,
	    (unsigned long long)m->size, m->env.sender, m->name,
	    m->st.warned != 0 ? " warned" : "");
	for (i = 0; i < m->st.n; i++) {
		const struct relay_rcpt *r = &m->st.r[i];

		(void)printf("    <%s> %s", r->addr,
		    relay_state_name(r->state));
		if (r->state == RELAY_R_DEFERRED)
			(void)printf(" until %s, %u tries", log_time_fmt(
			    r->when, t, sizeof(t)), r->attempts);
		(void)printf("%s%s\n", r->reply[0] != '\0' ? ": " : "",
		    r->reply);
	}
}

static int
cmd_list(const struct config *c)
{
	struct relay_msg m;
	char **names, *err = NULL;
	size_t n, i;
	time_t now = time(NULL);
	int rc;

	if ((rc = relay_queue_list(c->queue, &names, &n)) != 0) {
		(void)fprintf(stderr, "inlet-relay: %s: %s\n", c->queue,
		    strerror(rc));
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (relay_msg_load(c->queue, names[i], &m, &err) == 0)
			list_one(&m, now);
		else
			(void)printf("%s: %s\n", names[i], err);
		free(err);
		err = NULL;
		relay_msg_clear(&m);
	}
	(void)printf("%zu message%s in the queue\n", n, n == 1 ? "" : "s");
	relay_queue_names_free(names, n);
	return 0;
}

/* cmd_flush - SIGUSR1 to the running agent. */
static int
cmd_flush(const struct config *c)
{
	long pid = agent_pid(c);

	if (pid <= 0) {
		(void)fprintf(stderr, "inlet-relay: not running (no agent "
		    "holds %s/%s)\n", c->queue, RELAY_QUEUE_PID);
		return 1;
	}
	if (kill((pid_t)pid, SIGUSR1) != 0) {
		(void)fprintf(stderr, "inlet-relay: pid %ld: %s\n", pid,
		    strerror(errno));
		return 1;
	}
	(void)printf("flush requested (pid %ld)\n", pid);
	return 0;
}

static int
cmd_delete(const struct config *c, const char *id)
{
	char *name = NULL;
	int rc;

	if ((rc = relay_msg_find(c->queue, id, &name)) != 0 ||
	    (rc = relay_msg_remove(c->queue, name)) != 0) {
		(void)fprintf(stderr, "inlet-relay: %s: %s\n", id,
		    rc == ENOENT ? "no such message" : strerror(rc));
		free(name);
		return 1;
	}
	log_event(LOG_LEVEL_INFO, NULL, "event=deleted", LOG_TOK("id", id),
	    LOG_Q("file", name));
	(void)printf("deleted %s\n", name);
	free(name);
	return 0;
}

/* ---- the agent ---------------------------------------------------- */

static void
stopped(void *arg)
{
	struct relay_run *r = arg;

	(void)event_base_loopexit(r->base, NULL);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct relay_run *r = arg;
	struct relay_env env;
	struct config *c = NULL;
	struct timeval grace = { (time_t)r->cfg->shutdown_timeout, 0 };
	char *err = NULL;

	(void)what;
	if (sig == SIGUSR1) {
		log_event(LOG_LEVEL_INFO, NULL, "event=flush", LOG_NONE);
		relay_agent_kick(r->agent, true);
		return;
	}
	if (sig == SIGHUP) {
		if (load_env(r->o, &c, &env, &err) != 0) {
			log_event(LOG_LEVEL_WARN, NULL, "event=reload",
			    LOG_TOK("status", "failed"), LOG_Q("error", err));
			free(err);
			return;
		}
		relay_agent_set_env(r->agent, &env);
		maildir_set_group_access(c->group_access);
		env_free(&r->env, &r->cfg);
		r->env = env;
		r->cfg = c;
		log_event(LOG_LEVEL_INFO, NULL, "event=reload",
		    LOG_TOK("status", "ok"));
		relay_agent_kick(r->agent, false);
		return;
	}
	log_event(LOG_LEVEL_INFO, NULL, "event=stop",
	    LOG_TOK("signal", sig == SIGTERM ? "TERM" : "INT"));
	relay_agent_stop(r->agent, stopped, r);
	(void)event_base_loopexit(r->base, &grace);
}

/* inotify_cb - something arrived in new/: look. */
static void
inotify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_run *r = arg;
	char buf[4096];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		continue;
	relay_agent_kick(r->agent, false);
}

/* watch_queue - inotify on queue/new (made if need be). */
static void
watch_queue(struct relay_run *r)
{
	char p[PATH_MAX];
	int err;

	if ((err = maildir_create(r->cfg->queue)) != 0)
		log_fatal("queue %s: %s", r->cfg->queue, strerror(err));
	(void)snprintf(p, sizeof(p), "%s/new", r->cfg->queue);
	r->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (r->inotify_fd == -1 || inotify_add_watch(r->inotify_fd, p,
	    IN_CREATE | IN_MOVED_TO) == -1)
		log_fatal("inotify on %s: %s", p, strerror(errno));
	r->inotify_ev = event_new(r->base, r->inotify_fd, EV_READ | EV_PERSIST,
	    inotify_cb, r);
	if (r->inotify_ev == NULL || event_add(r->inotify_ev, NULL) != 0)
		log_fatal("cannot watch %s", p);
}

static int
run(struct relay_run *r)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	struct event *sev[4];
	size_t i;

	r->base = event_base_new();
	if (r->base == NULL)
		log_fatal("cannot make the event loop");
	r->dns = evdns_base_new(r->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (r->dns == NULL && (r->dns = evdns_base_new(r->base, 0)) == NULL)
		log_fatal("cannot make the resolver");
	(void)signal(SIGPIPE, SIG_IGN);
	if ((r->lock_fd = take_lock(r->cfg)) == -1) {
		(void)fprintf(stderr, "inlet-relay: %s/%s: %s\n",
		    r->cfg->queue, RELAY_QUEUE_PID, errno == EWOULDBLOCK ?
		    "another inlet-relay runs" : strerror(errno));
		return 1;
	}
	watch_queue(r);
	for (i = 0; i < 4; i++)
		if ((sev[i] = evsignal_new(r->base, sigs[i], signal_cb,
		    r)) == NULL || event_add(sev[i], NULL) != 0)
			log_fatal("cannot catch signal %d", sigs[i]);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	r->agent = relay_agent_new(r->base, r->dns, &r->env);
	log_event(LOG_LEVEL_INFO, NULL, "event=start",
	    LOG_Q("queue", r->cfg->queue),
	    LOG_Q("relay", r->cfg->relay_hosts[0]));
	(void)event_base_dispatch(r->base);
	relay_agent_free(&r->agent);
	for (i = 0; i < 4; i++)
		event_free(sev[i]);
	event_free(r->inotify_ev);
	(void)close(r->inotify_fd);
	evdns_base_free(r->dns, 0);
	event_base_free(r->base);
	(void)close(r->lock_fd);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	struct relay_run r = { 0 };
	char *err = NULL;
	int rc = 1;

	parse_args(argc, argv, &o);
	log_open("inlet-relay", o.foreground || o.cmd != CMD_RUN,
	    LOG_LEVEL_INFO);
	if (relay_conn_sasl_init() != 0)
		log_fatal("cannot start the SASL client library");
	if (load_env(&o, &r.cfg, &r.env, &err) != 0) {
		(void)fprintf(stderr, "inlet-relay: %s\n", err);
		free(err);
		return 2;
	}
	r.o = &o;
	maildir_set_group_access(r.cfg->group_access);
	drop_privileges(r.cfg);
	if (check_queue_access(r.cfg) != 0) {
		env_free(&r.env, &r.cfg);
		free(o.overrides);
		return 1;
	}
	switch (o.cmd) {
	case CMD_CHECK:
		rc = 0;
		break;
	case CMD_LIST:
		rc = cmd_list(r.cfg);
		break;
	case CMD_FLUSH:
		rc = cmd_flush(r.cfg);
		break;
	case CMD_DELETE:
		rc = cmd_delete(r.cfg, o.id);
		break;
	case CMD_RUN:
		rc = run(&r);
		break;
	}
	env_free(&r.env, &r.cfg);
	free(o.overrides);
	return rc;
}
