/* SPDX-License-Identifier: ISC */
/*
 * workq - worker threads for blocking work.  Jobs wait on one list under
 * a mutex; finished jobs go on a second list and one libevent event is
 * activated (event_active is thread-safe once evthread_use_pthreads() is
 * in force); its callback runs the completions on the loop thread.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "log.h"
#include "workq.h"
#include "xalloc.h"

#define WORKQ_MAX_THREADS	16

struct workq_job {
	STAILQ_ENTRY(workq_job)	 entry;
	workq_fn		 work;
	workq_done_fn		 done;
	void			*arg;
};

STAILQ_HEAD(workq_list, workq_job);

struct workq {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct workq_list todo;
	struct workq_list finished;
	bool		 stopping;
	struct event	*ev;
	pthread_t	 threads[WORKQ_MAX_THREADS];
	unsigned	 nthreads;
};

/* workq_main - a worker: take a job, run it, hand it back. */
static void *
workq_main(void *arg)
{
	struct workq *wq = arg;
	struct workq_job *j;

	(void)pthread_mutex_lock(&wq->lock);
	for (;;) {
		while (STAILQ_EMPTY(&wq->todo) && !wq->stopping)
			(void)pthread_cond_wait(&wq->cond, &wq->lock);
		if ((j = STAILQ_FIRST(&wq->todo)) == NULL)
			break;		/* stopping, and nothing left */
		STAILQ_REMOVE_HEAD(&wq->todo, entry);
		(void)pthread_mutex_unlock(&wq->lock);
		j->work(j->arg);
		(void)pthread_mutex_lock(&wq->lock);
		STAILQ_INSERT_TAIL(&wq->finished, j, entry);
		(void)pthread_mutex_unlock(&wq->lock);
		/* outside the lock: the loop thread, woken, takes it */
		event_active(wq->ev, EV_READ, 0);
		(void)pthread_mutex_lock(&wq->lock);
	}
	(void)pthread_mutex_unlock(&wq->lock);
	return NULL;
}

/* workq_done_cb - on the loop thread: run the finished jobs' completions. */
static void
workq_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct workq *wq = arg;
	struct workq_list done;
	struct workq_job *j;

	(void)fd;
	(void)what;
	STAILQ_INIT(&done);
	(void)pthread_mutex_lock(&wq->lock);
	STAILQ_CONCAT(&done, &wq->finished);
	(void)pthread_mutex_unlock(&wq->lock);
	while ((j = STAILQ_FIRST(&done)) != NULL) {
		STAILQ_REMOVE_HEAD(&done, entry);
		j->done(j->arg);
		free(j);
	}
}

struct workq *
workq_new(struct event_base *base, unsigned nthreads)
{
	struct workq *wq = xcalloc(1, sizeof(*wq));
	unsigned i;

	if (nthreads > WORKQ_MAX_THREADS)
		nthreads = WORKQ_MAX_THREADS;
	STAILQ_INIT(&wq->todo);
	STAILQ_INIT(&wq->finished);
	if (pthread_mutex_init(&wq->lock, NULL) != 0 ||
	    pthread_cond_init(&wq->cond, NULL) != 0 ||
	    (wq->ev = event_new(base, -1, 0, workq_done_cb, wq)) == NULL)
		log_fatal("cannot set up the worker threads");
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&wq->threads[i], NULL, workq_main, wq) != 0)
			break;
		wq->nthreads++;
	}
	if (wq->nthreads == 0) {
		workq_free(&wq);
		return NULL;
	}
	return wq;
}

void
workq_free(struct workq **wqp)
{
	struct workq *wq = *wqp;
	unsigned i;

	if (wq == NULL)
		return;
	(void)pthread_mutex_lock(&wq->lock);
	wq->stopping = true;
	(void)pthread_cond_broadcast(&wq->cond);
	(void)pthread_mutex_unlock(&wq->lock);
	for (i = 0; i < wq->nthreads; i++)
		(void)pthread_join(wq->threads[i], NULL);
	workq_done_cb(-1, 0, wq);	/* completions still owed */
	event_free(wq->ev);
	(void)pthread_cond_destroy(&wq->cond);
	(void)pthread_mutex_destroy(&wq->lock);
	free(wq);
	*wqp = NULL;
}

void
workq_submit(struct workq *wq, workq_fn work, workq_done_fn done, void *arg)
{
	struct workq_job *j = xmalloc(sizeof(*j));

	j->work = work;
	j->done = done;
	j->arg = arg;
	(void)pthread_mutex_lock(&wq->lock);
	STAILQ_INSERT_TAIL(&wq->todo, j, entry);
	(void)pthread_mutex_unlock(&wq->lock);
	/* after the unlock, so that the worker woken does not wait for it */
	(void)pthread_cond_signal(&wq->cond);
}
