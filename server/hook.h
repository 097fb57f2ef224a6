/* SPDX-License-Identifier: ISC */
/*
 * hook - runs the data_hook program for one message, off the event
 * loop: spawned with posix_spawn (its own process group, default signal
 * dispositions), the message on its standard input (a file, so a hook
 * that reads nothing costs nothing and no SIGPIPE can reach inletd), its
 * standard output read through a pipe driven by libevent and capped at
 * HOOK_OUT_MAX, its exit reaped without blocking, the whole bounded by a
 * timeout after which its process group is killed.  Edge module
 * (processes, libevent); the judging of the output is hook_out.c's.
 */
#ifndef INLET_HOOK_H
#define INLET_HOOK_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

#include "hook_out.h"

struct hook;

/* The message's envelope, as the program's environment (chasquid's). */
struct hook_env {
	const char	*remote_addr;	/* REMOTE_ADDR */
	const char	*ehlo;		/* EHLO_DOMAIN (sanitised here) */
	const char	*mail_from;	/* MAIL_FROM ("" for <>) */
	const char	*rcpt_to;	/* RCPT_TO, space-separated */
	const char	*auth_as;	/* AUTH_AS, NULL or "" for none */
	bool		 on_tls;	/* ON_TLS 1 or 0 */
	const char	*queue_id;	/* INLET_QUEUE_ID */
};

/*
 * hook_done_fn - the run is over: how it ended (code: the exit status,
 * the signal, or the errno of a failed start) and its standard output
 * (at most HOOK_OUT_MAX octets, borrowed for the call).  Called on a
 * later loop turn than hook_start(), once; the callee may hook_free().
 */
typedef void (*hook_done_fn)(void *arg, enum hook_out_end end, int code,
    const char *out, size_t len);

/*
 * hook_start - run program with stdin_fd (read from its current offset;
 * hook_start dups it, the caller keeps its own) as standard input,
 * standard error on /dev/null, the environment from env plus USER,
 * SHELL and PATH of inletd's, and kill it after timeout seconds.  A
 * program that cannot be started reports HOOK_OUT_NOSTART through done,
 * as every other end.
 */
struct hook *hook_start(struct event_base *base, const char *program,
	    int stdin_fd, const struct hook_env *env, unsigned timeout,
	    hook_done_fn done, void *arg);

/* hook_free - NULL-safe; a program still running is killed (its group). */
void	hook_free(struct hook **hp);

#endif
