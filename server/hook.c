/* SPDX-License-Identifier: ISC */
/*
 * hook - one run of the data_hook program, driven by libevent: spawn,
 * read its standard output (bounded), time it out, reap it.  Nothing
 * here blocks: the pipe is non-blocking, the exit is polled with
 * waitpid(WNOHANG) on a short timer (inletd keeps SIGCHLD at its
 * default, and a signal handler would be main's), and a program past
 * its time, or writing too much, is killed with its whole process group
 * so that what it started dies too.  The message is its standard input
 * as a file descriptor: nothing to write, so no SIGPIPE.
 */
#include "config.h"
#define _GNU_SOURCE	/* posix_spawn_file_actions_addclosefrom_np */

#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "hook.h"
#include "log.h"
#include "xalloc.h"

#define HOOK_REAP_MAX_MS	100	/* the longest wait between polls */
#define HOOK_NENV		12

struct hook {
	pid_t		 pid;		/* -1 once reaped (or never started) */
	int		 out_fd;	/* our end of the stdout pipe, or -1 */
	struct event	*out_ev;	/* out_fd readable */
	struct event	*deadline_ev;	/* the timeout */
	struct event	*reap_ev;	/* the next waitpid, or the report */
	unsigned	 reap_ms;
	enum hook_out_end end;
	int		 code;
	bool		 killed;	/* the end is decided: timeout, overflow */
	struct buf	 out;
	hook_done_fn	 done;
	void		*arg;
};

/* hook_env_add - one NAME=value string into env[*n]. */
static void
hook_env_add(char **env, size_t *n, const char *name, const char *value)
{
	env[(*n)++] = xasprintf("%s=%s", name, value != NULL ? value : "");
}

/*
 * hook_env_new - the environment: chasquid's names (EHLO_DOMAIN
 * sanitised as chasquid does: letters, digits and "-.[]:" only), our
 * queue id, and inletd's own USER, SHELL and PATH.
 */
static char **
hook_env_new(const struct hook_env *e)
{
	static const char *const keep[] = { "USER", "SHELL", "PATH" };
	char **env = xcalloc(HOOK_NENV + 1, sizeof(*env));
	char *ehlo = xstrdup(e->ehlo != NULL ? e->ehlo : "");
	size_t i, n = 0;
	const char *v;

	for (i = 0; ehlo[i] != '\0'; i++)
		if (!((ehlo[i] >= 'a' && ehlo[i] <= 'z') ||
		    (ehlo[i] >= 'A' && ehlo[i] <= 'Z') ||
		    (ehlo[i] >= '0' && ehlo[i] <= '9') ||
		    strchr("-.[]:", ehlo[i]) != NULL))
			ehlo[i] = '_';
	hook_env_add(env, &n, "REMOTE_ADDR", e->remote_addr);
	hook_env_add(env, &n, "EHLO_DOMAIN", ehlo);
	hook_env_add(env, &n, "MAIL_FROM", e->mail_from);
	hook_env_add(env, &n, "RCPT_TO", e->rcpt_to);
	hook_env_add(env, &n, "AUTH_AS", e->auth_as);
	hook_env_add(env, &n, "ON_TLS", e->on_tls ? "1" : "0");
	hook_env_add(env, &n, "INLET_QUEUE_ID", e->queue_id);
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if ((v = getenv(keep[i])) != NULL)
			hook_env_add(env, &n, keep[i], v);
	free(ehlo);
	return env;
}

/* hook_env_free - free what hook_env_new made. */
static void
hook_env_free(char **env)
{
	size_t i;

	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/*
 * hook_spawn - posix_spawn program: stdin from in, stdout into out_w,
 * stderr on /dev/null, every other descriptor closed, a process group
 * of its own (so the timeout kills all of it), every signal at its
 * default (inletd ignores SIGPIPE; the program must not inherit that)
 * and none blocked.  0 and *pid_out, or an errno value.
 */
static int
hook_spawn(const char *program, int in, int out_w, char **env,
    pid_t *pid_out)
{
	char *prog = xstrdup(program);	/* argv[0]: not const in the API */
	char *const argv[] = { prog, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t all, none;
	int err;

	(void)sigfillset(&all);
	(void)sigemptyset(&none);
	if ((err = posix_spawn_file_actions_init(&fa)) != 0) {
		free(prog);
		return err;
	}
	if ((err = posix_spawnattr_init(&at)) != 0) {
		(void)posix_spawn_file_actions_destroy(&fa);
		free(prog);
		return err;
	}
	if ((err = posix_spawn_file_actions_adddup2(&fa, in, 0)) == 0 &&
	    (err = posix_spawn_file_actions_adddup2(&fa, out_w, 1)) == 0 &&
	    (err = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null",
	    O_WRONLY, 0)) == 0 &&
#ifdef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP
	    (err = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) == 0 &&
#endif
	    (err = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)) == 0 &&
	    (err = posix_spawnattr_setpgroup(&at, 0)) == 0 &&
	    (err = posix_spawnattr_setsigdefault(&at, &all)) == 0 &&
	    (err = posix_spawnattr_setsigmask(&at, &none)) == 0)
		err = posix_spawn(pid_out, program, &fa, &at, argv, env);
	(void)posix_spawn_file_actions_destroy(&fa);
	(void)posix_spawnattr_destroy(&at);
	free(prog);
	return err;
}

/* hook_stop_reading - close our end of the pipe. */
static void
hook_stop_reading(struct hook *h)
{
	if (h->out_fd == -1)
		return;
	if (h->out_ev != NULL)
		(void)event_del(h->out_ev);
	(void)close(h->out_fd);
	h->out_fd = -1;
}

/* hook_kill - the end is decided (why): kill the program's group. */
static void
hook_kill(struct hook *h, enum hook_out_end why)
{
	if (!h->killed) {
		h->killed = true;
		h->end = why;
	}
	if (h->pid > 0)
		(void)kill(-h->pid, SIGKILL);
	hook_stop_reading(h);
}

/* hook_poll_later - look for the exit again after a short, growing wait. */
static void
hook_poll_later(struct hook *h)
{
	struct timeval tv = { 0, (suseconds_t)h->reap_ms * 1000 };

	if (h->reap_ms < HOOK_REAP_MAX_MS)
		h->reap_ms = h->reap_ms * 2 + 1;
	(void)evtimer_add(h->reap_ev, &tv);
}

/*
 * hook_reap_cb - once the output is closed (or the start failed): reap
 * the program if it has exited, then report; else poll again.
 */
static void
hook_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook *h = arg;
	int status;
	pid_t r;

	(void)fd;
	(void)what;
	if (h->pid > 0) {
		while ((r = waitpid(h->pid, &status, WNOHANG)) == -1 &&
		    errno == EINTR)
			;
		if (r == 0) {
			hook_poll_later(h);
			return;
		}
		h->pid = -1;
		if (r > 0 && !h->killed) {
			h->end = WIFSIGNALED(status) ? HOOK_OUT_SIGNALLED :
			    HOOK_OUT_EXITED;
			h->code = WIFSIGNALED(status) ? WTERMSIG(status) :
			    WEXITSTATUS(status);
		}
	}
	(void)event_del(h->deadline_ev);
	h->done(h->arg, h->end, h->code, h->out.data, h->out.len);
}

/* hook_read_cb - stdout readable: keep it (bounded), or it ended. */
static void
hook_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook *h = arg;
	char chunk[4096];
	ssize_t n;

	(void)what;
	n = read(fd, chunk, sizeof(chunk));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0 && buf_add(&h->out, chunk, (size_t)n) == 0)
		return;
	if (n > 0)
		hook_kill(h, HOOK_OUT_OVERFLOW);
	hook_stop_reading(h);
	hook_poll_later(h);
}

/* hook_deadline_cb - past the timeout: kill it, then reap. */
static void
hook_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook *h = arg;

	(void)fd;
	(void)what;
	hook_kill(h, HOOK_OUT_TIMEOUT);
	if (!evtimer_pending(h->reap_ev, NULL))
		hook_poll_later(h);
}

/* hook_new - the handle and its events, nothing started. */
static struct hook *
hook_new(struct event_base *base, hook_done_fn done, void *arg)
{
	struct hook *h = xcalloc(1, sizeof(*h));

	h->pid = -1;
	h->out_fd = -1;
	h->done = done;
	h->arg = arg;
	buf_init(&h->out, HOOK_OUT_MAX);
	h->deadline_ev = evtimer_new(base, hook_deadline_cb, h);
	h->reap_ev = evtimer_new(base, hook_reap_cb, h);
	if (h->deadline_ev == NULL || h->reap_ev == NULL)
		log_fatal("out of memory (hook events)");
	return h;
}

struct hook *
hook_start(struct event_base *base, const char *program, int stdin_fd,
    const struct hook_env *env, unsigned timeout, hook_done_fn done,
    void *arg)
{
	struct hook *h = hook_new(base, done, arg);
	struct timeval tv = { (time_t)timeout, 0 };
	char **envp = hook_env_new(env);
	int p[2], err;

	if (pipe2(p, O_CLOEXEC) == -1) {
		err = errno;
	} else {
		err = hook_spawn(program, stdin_fd, p[1], envp, &h->pid);
		(void)close(p[1]);
		h->out_fd = p[0];
	}
	hook_env_free(envp);
	if (err != 0) {
		h->pid = -1;
		hook_stop_reading(h);
		h->killed = true;
		h->end = HOOK_OUT_NOSTART;
		h->code = err;
		event_active(h->reap_ev, EV_TIMEOUT, 0);
		return h;
	}
	(void)evutil_make_socket_nonblocking(h->out_fd);
	h->out_ev = event_new(base, h->out_fd, EV_READ | EV_PERSIST,
	    hook_read_cb, h);
	if (h->out_ev == NULL)
		log_fatal("out of memory (hook events)");
	(void)event_add(h->out_ev, NULL);
	(void)evtimer_add(h->deadline_ev, &tv);
	return h;
}

void
hook_free(struct hook **hp)
{
	struct hook *h = *hp;

	if (h == NULL)
		return;
	*hp = NULL;
	if (h->pid > 0) {
		(void)kill(-h->pid, SIGKILL);
		(void)waitpid(h->pid, NULL, WNOHANG);
	}
	hook_stop_reading(h);
	if (h->out_ev != NULL)
		event_free(h->out_ev);
	event_free(h->deadline_ev);
	event_free(h->reap_ev);
	buf_release(&h->out);
	free(h);
}
