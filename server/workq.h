/* SPDX-License-Identifier: ISC */
/*
 * workq - a small pool of worker threads for blocking work (the Maildir
 * commit: fsync, link, directory fsync), so one slow disk never stalls
 * the event loop.  A job's work runs on a worker; its completion runs
 * back on the loop thread, on a later loop turn, in submission order per
 * worker.  Edge module (pthreads + libevent).
 */
#ifndef INLET_WORKQ_H
#define INLET_WORKQ_H

#include <event2/event.h>

struct workq;

/* workq_fn - runs on a worker thread; must touch only its own job. */
typedef void (*workq_fn)(void *arg);

/* workq_done_fn - runs on the loop thread after the work. */
typedef void (*workq_done_fn)(void *arg);

/*
 * workq_new - nthreads workers delivering completions into base (which
 * must have been made after evthread_use_pthreads()).  NULL on failure.
 */
struct workq *workq_new(struct event_base *base, unsigned nthreads);

/* workq_free - finish queued jobs, join the workers; NULL-safe. */
void	workq_free(struct workq **wqp);

/* workq_submit - queue a job; allocation failure is fatal. */
void	workq_submit(struct workq *wq, workq_fn work, workq_done_fn done,
	    void *arg);

#endif
