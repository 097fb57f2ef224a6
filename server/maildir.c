/* SPDX-License-Identifier: ISC */
/*
 * maildir - durable delivery of one message into one or more Maildirs.
 *
 * Owns the spool handle: one tmp file per recipient, a fixed 64 KiB
 * write buffer (memory does not grow with the message) and the move into
 * new/.  Blocking file I/O only: no libevent, no OpenSSL, and one global
 * (the group commit table, under its own mutex), so maildir_commit() may
 * run on several worker threads at once.  Implements the recipe of
 * cr.yp.to/proto/maildir.html; Return-Path: is RFC 5321 §4.4.
 */
#include "config.h"
#ifdef HAVE_COPY_FILE_RANGE
#define _GNU_SOURCE	/* glibc declares copy_file_range(2) only here */
#endif

#include <sys/stat.h>
#include <sys/types.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "idn.h"
#include "log.h"
#include "maildir.h"
#include "xalloc.h"

#define MAILDIR_BUFSIZE	(64 * 1024)
#define MAILDIR_TRIES	5	/* names tried when one already exists */

struct maildir_copy {
	char		*dir;	/* the Maildir */
	char		*addr;	/* for Delivered-To:; NULL: none (the sink's) */
	char		*tmp;	/* dir/tmp/<name> while that file exists */
	char		*new;	/* dir/new/<name>,S=<size> */
	char		*envelope; /* its envelope text (queue, sink), or NULL */
	char		*env;	/* dir/env/<name>,S=<size> once written */
	char		*made;	/* the top directory open created, else NULL */
	bool		 linked; /* new names our file (set by commit) */
	mode_t		 dmode;	/* of what it creates, taken at open */
	mode_t		 fmode;
	int		 fd;
	unsigned long	 q;	/* the Q number of this copy's name */
	uint64_t	 size;	/* octets, header lines included */
};

enum maildir_state {
	MAILDIR_ST_OPEN,
	MAILDIR_ST_DONE,	/* commit ran, whatever its outcome */
};

struct maildir_spool {
	struct maildir_copy	*copies;
	size_t			 ncopy;
	char			*return_path;
	char			*host;		/* escaped for file names */
	long			 pid;		/* for file names */
	enum maildir_state	 state;
	int			 err;		/* sticky write error */
	uint64_t		 hdrlen;	/* first copy's header octets */
	uint64_t		 size;		/* first copy's octets so far */
	size_t			 buflen;
	char			 buf[MAILDIR_BUFSIZE];	/* last: not zeroed */
};

/*
 * Modes of the directories and files this module creates: 0700 and 0600,
 * or with group_access 0770 and 0640.  Set by the main thread only (at
 * start and reload); a spool takes them at open, so commits on worker
 * threads never read these.
 */
static mode_t maildir_dmode = 0700;
static mode_t maildir_fmode = 0600;

void
maildir_set_group_access(bool yes)
{
	mode_t mask;

	maildir_dmode = yes ? 0770 : 0700;
	maildir_fmode = yes ? 0640 : 0600;
	if (!yes)
		return;
	/* A umask with group bits (systemd's UMask=0077) would undo it. */
	mask = umask(0);
	(void)umask(mask & (mode_t)~S_IRWXG);
}

mode_t
maildir_dir_mode(void)
{
	return maildir_dmode;
}

mode_t
maildir_file_mode(void)
{
	return maildir_fmode;
}

/* maildir_write_all - write all of p, through short writes and EINTR. */
static int
maildir_write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return errno;
		if (n == 0)
			return EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * maildir_made - note that path was just created: *made (heap, or NULL)
 * keeps the shortest such path, the top of what this call made.
 */
static void
maildir_made(char **made, const char *path)
{
	if (*made != NULL && strlen(*made) <= strlen(path))
		return;
	free(*made);
	*made = xstrdup(path);
}

/*
 * maildir_mkdirs - mkdir -p path with mode dmode (like "mkdir -p"),
 * noting in *made the top directory it created.
 */
static int
maildir_mkdirs(const char *path, char **made, mode_t dmode)
{
	char buf[PATH_MAX];
	char *p;

	if (strlen(path) >= sizeof(buf))
		return ENAMETOOLONG;
	strcpy(buf, path);
	/* Errors on the parents show up again, better named, below. */
	for (p = strchr(buf + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(buf, dmode) == 0)
			maildir_made(made, buf);
		*p = '/';
	}
	if (mkdir(buf, dmode) == 0)
		maildir_made(made, buf);
	else if (errno != EEXIST)
		return errno;
	return 0;
}

/*
 * maildir_make - maildir_create without the fsyncs: the top directory it
 * created goes into *made (heap; NULL, or a higher directory of the same
 * Maildir, is kept when it created nothing higher).
 */
static int
maildir_make(const char *dir, char **made, mode_t dmode)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char path[PATH_MAX];
	size_t i;
	int err, n;

	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		n = snprintf(path, sizeof(path), "%s/%s", dir, sub[i]);
		if (n < 0 || (size_t)n >= sizeof(path))
			return ENAMETOOLONG;
		/* The common case: the Maildir exists, one syscall each. */
		if (mkdir(path, dmode) == 0) {
			maildir_made(made, path);
			continue;
		}
		if (errno == EEXIST)
			continue;
		if (errno != ENOENT)
			return errno;
		if ((err = maildir_mkdirs(path, made, dmode)) != 0)
			return err;
	}
	return 0;
}

/* maildir_fsync_path - fsync a directory by name. */
static int
maildir_fsync_path(const char *path)
{
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return errno;
	if (fsync(fd) == -1)
		err = errno;
	(void)close(fd);
	return err;
}

/*
 * Group commit of a directory.  Commits that finish at about the same
 * time into the same directory share its fsync: each counts its links
 * (linked), and a finished fsync covers every link counted before it
 * started (synced).  A worker whose links are covered by a finished fsync
 * skips its own; otherwise one runs it for all who wait, and the others
 * sleep until it is done.  An entry lives only while a commit uses it,
 * so the table holds at most one entry per worker thread.
 */
struct maildir_group {
	struct maildir_group	*next;
	char			*path;
	unsigned		 refs;
	bool			 running;	/* an fsync is under way */
	uint64_t		 linked;	/* links counted so far */
	uint64_t		 synced;	/* covered by a good fsync */
	uint64_t		 failed;	/* covered by a failed fsync */
	int			 err;		/* its errno */
	pthread_cond_t		 cond;
};

static pthread_mutex_t maildir_group_lock = PTHREAD_MUTEX_INITIALIZER;
static struct maildir_group *maildir_groups;

/* maildir_group_get - path's entry, made if none; under the lock. */
static struct maildir_group *
maildir_group_get(const char *path)
{
	struct maildir_group *g;

	for (g = maildir_groups; g != NULL; g = g->next)
		if (strcmp(g->path, path) == 0)
			break;
	if (g == NULL) {
		g = xcalloc(1, sizeof(*g));
		g->path = xstrdup(path);
		if (pthread_cond_init(&g->cond, NULL) != 0)
			log_fatal("cannot make a condition variable");
		g->next = maildir_groups;
		maildir_groups = g;
	}
	g->refs++;
	return g;
}

/* maildir_group_put - drop a reference; the last one frees the entry. */
static void
maildir_group_put(struct maildir_group *g)
{
	struct maildir_group **gp;

	if (--g->refs > 0)
		return;
	for (gp = &maildir_groups; *gp != g; gp = &(*gp)->next)
		continue;
	*gp = g->next;
	(void)pthread_cond_destroy(&g->cond);
	free(g->path);
	free(g);
}

/*
 * maildir_group_sync - make the entries this thread put into directory
 * path durable: 0 once an fsync of path that began after them has
 * succeeded (ours or another thread's), else that fsync's errno.  A
 * failure fails every commit it was to cover; they are not retried on a
 * later fsync, which might not report the lost write-back.
 */
static int
maildir_group_sync(const char *path)
{
	struct maildir_group *g;
	uint64_t mine, upto;
	int err;

	(void)pthread_mutex_lock(&maildir_group_lock);
	g = maildir_group_get(path);
	mine = ++g->linked;
	for (;;) {
		if (g->failed >= mine) {
			err = g->err;
			break;
		}
		if (g->synced >= mine) {
			err = 0;
			break;
		}
		if (g->running) {
			(void)pthread_cond_wait(&g->cond, &maildir_group_lock);
			continue;
		}
		g->running = true;
		upto = g->linked;
		(void)pthread_mutex_unlock(&maildir_group_lock);
		err = maildir_fsync_path(path);
		(void)pthread_mutex_lock(&maildir_group_lock);
		g->running = false;
		if (err == 0 && upto > g->synced)
			g->synced = upto;
		if (err != 0 && upto > g->failed) {
			g->failed = upto;
			g->err = err;
		}
		(void)pthread_cond_broadcast(&g->cond);
	}
	maildir_group_put(g);
	(void)pthread_mutex_unlock(&maildir_group_lock);
	return err;
}

/*
 * maildir_sync_made - make a Maildir that was just created durable:
 * fsync its tmp/, new/ and cur/, then dir and each directory above it up
 * to the parent of made (the top one created), so that every new
 * directory and its entry in its parent are on disk.  Only after a
 * creation: a message into an existing Maildir costs nothing here.
 */
static int
maildir_sync_made(const char *dir, const char *made)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char buf[PATH_MAX], top[PATH_MAX];
	char *slash;
	size_t i;
	int err;

	if (strlen(dir) >= sizeof(buf) || strlen(made) >= sizeof(top))
		return ENAMETOOLONG;
	strcpy(top, made);	/* its parent: the last one to fsync */
	slash = strrchr(top, '/');
	if (slash == NULL)
		strcpy(top, ".");
	else
		slash[slash == top ? 1 : 0] = '\0';
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		(void)snprintf(buf, sizeof(buf), "%s/%s", dir, sub[i]);
		if ((err = maildir_fsync_path(buf)) != 0)
			return err;
	}
	strcpy(buf, dir);
	for (;;) {
		if ((err = maildir_fsync_path(buf)) != 0)
			return err;
		if (strcmp(buf, top) == 0 || strcmp(buf, ".") == 0 ||
		    strcmp(buf, "/") == 0)
			return 0;
		if ((slash = strrchr(buf, '/')) == NULL)
			strcpy(buf, ".");
		else
			slash[slash == buf ? 1 : 0] = '\0';
	}
}

int
maildir_create(const char *dir)
{
	char *made = NULL;
	int err;

	if ((err = maildir_make(dir, &made, maildir_dmode)) == 0 &&
	    made != NULL)
		err = maildir_sync_made(dir, made);
	free(made);
	return err;
}

/* maildir_host_escape - host with '/' and ':' as \057 and \072. */
static char *
maildir_host_escape(const char *host)
{
	char *out, *p;

	out = xmalloc(strlen(host) * 4 + 1);
	for (p = out; *host != '\0'; host++) {
		if (*host == '/') {
			memcpy(p, "\\057", 4);
			p += 4;
		} else if (*host == ':') {
			memcpy(p, "\\072", 4);
			p += 4;
		} else {
			*p++ = *host;
		}
	}
	*p = '\0';
	return out;
}

/*
 * maildir_stamp - the time for a new name, taken again until its
 * microsecond differs from *ts, so that a retry never repeats a name.
 */
static void
maildir_stamp(struct timespec *ts)
{
	struct timespec now;

	do {
		clock_gettime(CLOCK_REALTIME, &now);
	} while (now.tv_sec == ts->tv_sec &&
	    now.tv_nsec / 1000 == ts->tv_nsec / 1000);
	*ts = now;
}

/*
 * maildir_tmp_create - create c's file in tmp/ as
 * <sec>.M<usec>P<pid>Q<n>.<host>, never reusing an existing name.  On
 * EEXIST (a stale file, or another host or pid namespace sharing the
 * Maildir) the name is retried with a fresh timestamp.  A missing tmp/
 * (ENOENT) means a new or removed Maildir: it is created, once, and the
 * name tried again, so that the common case costs no mkdir().  What was
 * created is noted in c->made, for commit to fsync.
 */
static int
maildir_tmp_create(const struct maildir_spool *sp, struct maildir_copy *c,
    int flags)
{
	struct timespec ts = { 0, 0 };
	bool created = false;
	char *path;
	int i, fd, err;

	for (i = 0; i < MAILDIR_TRIES; i++) {
		maildir_stamp(&ts);
		path = xasprintf("%s/tmp/%lld.M%ldP%ldQ%lu.%s", c->dir,
		    (long long)ts.tv_sec, ts.tv_nsec / 1000L, sp->pid, c->q,
		    sp->host);
		fd = open(path, flags | O_CREAT | O_EXCL | O_CLOEXEC,
		    c->fmode);
		if (fd != -1) {
			c->tmp = path;
			c->fd = fd;
			return 0;
		}
		err = errno;
		free(path);
		if (err == ENOENT && !created) {
			if ((err = maildir_make(c->dir, &c->made,
			    c->dmode)) != 0)
				return err;
			created = true;
			i--;	/* not a name taken: try this one again */
			continue;
		}
		if (err != EEXIST)
			return err;
	}
	return EEXIST;
}

/*
 * maildir_tmp_ready - whether c's tmp/ takes a new file (access check
 * with the effective ids); a missing Maildir is created, as
 * maildir_tmp_create() would, and noted in c->made.
 */
static int
maildir_tmp_ready(struct maildir_copy *c)
{
	char *path = xasprintf("%s/tmp", c->dir);
	int err = 0;

	if (faccessat(AT_FDCWD, path, W_OK | X_OK, AT_EACCESS) == -1) {
		err = errno;
		if (err == ENOENT &&
		    (err = maildir_make(c->dir, &c->made, c->dmode)) == 0 &&
		    faccessat(AT_FDCWD, path, W_OK | X_OK, AT_EACCESS) == -1)
			err = errno;
	}
	free(path);
	return err;
}

/*
 * maildir_header - put c's Return-Path: and Delivered-To: lines into the
 * (empty) buffer: none for a queue copy (an envelope and an address),
 * Return-Path: alone for the sink's copy of a whole transaction (no
 * address).  Returns their length, or MAILDIR_NOHDR when they do not
 * fit.
 */
#define MAILDIR_NOHDR	((size_t)-1)
static size_t
maildir_header(struct maildir_spool *sp, const struct maildir_copy *c)
{
	int n;

	if (c->envelope != NULL && c->addr != NULL)
		return 0;
	if (c->addr == NULL)
		n = snprintf(sp->buf, sizeof(sp->buf), "Return-Path: <%s>\n",
		    sp->return_path);
	else
		n = snprintf(sp->buf, sizeof(sp->buf),
		    "Return-Path: <%s>\nDelivered-To: %s\n", sp->return_path,
		    c->addr);
	if (n < 0 || (size_t)n >= sizeof(sp->buf))
		return MAILDIR_NOHDR;
	return (size_t)n;
}

/*
 * maildir_flush - write out the first copy's buffered bytes, creating its
 * file first if this is the first time.  The file is made only here, so a
 * message that fits the buffer is created by commit on a worker thread:
 * a create in tmp/ can wait on the file system (its journal, the
 * directory that other commits change), and must not stall the loop.
 */
static int
maildir_flush(struct maildir_spool *sp)
{
	int err;

	if (sp->err != 0)
		return sp->err;
	if (sp->copies[0].fd == -1 &&
	    (err = maildir_tmp_create(sp, &sp->copies[0], O_RDWR)) != 0) {
		sp->err = err;
		return err;
	}
	err = maildir_write_all(sp->copies[0].fd, sp->buf, sp->buflen);
	sp->buflen = 0;
	sp->err = err;
	return err;
}

/* maildir_is_header_safe - no CR or LF that could end a header line
 * (NULL: no line at all). */
static bool
maildir_is_header_safe(const char *s)
{
	return s == NULL || strpbrk(s, "\r\n") == NULL;
}

/* maildir_spool_new - a handle with its copies, no files yet. */
static struct maildir_spool *
maildir_spool_new(const char *return_path, const struct maildir_rcpt *rcpts,
    size_t nrcpt, const char *host, unsigned long *seq)
{
	struct maildir_spool *sp;
	size_t i;

	sp = xmalloc(sizeof(*sp));
	/* Zeroing the 64 KiB buffer too cost more than the rest of open. */
	memset(sp, 0, offsetof(struct maildir_spool, buf));
	sp->copies = xcalloc(nrcpt, sizeof(*sp->copies));
	sp->ncopy = nrcpt;
	sp->pid = (long)getpid();
	sp->return_path = xstrdup(return_path);
	sp->host = maildir_host_escape(host);
	sp->state = MAILDIR_ST_OPEN;
	for (i = 0; i < nrcpt; i++) {
		sp->copies[i].dir = xstrdup(rcpts[i].dir);
		sp->copies[i].addr = rcpts[i].addr != NULL ?
		    xstrdup(rcpts[i].addr) : NULL;
		sp->copies[i].envelope = rcpts[i].envelope != NULL ?
		    xstrdup(rcpts[i].envelope) : NULL;
		sp->copies[i].fd = -1;
		sp->copies[i].dmode = maildir_dmode;
		sp->copies[i].fmode = maildir_fmode;
		/* Taken now: commit must not touch the caller's counter. */
		sp->copies[i].q = (*seq)++;
	}
	return sp;
}

/*
 * maildir_create_all - create the Maildirs of copies 1 and up not shared
 * with an earlier copy, so that a bad one fails the open, before the
 * body is read (noting what was created in made, for commit to fsync).
 * The first copy's is made by maildir_tmp_create().
 */
static int
maildir_create_all(const struct maildir_spool *sp)
{
	size_t i, j;
	int err;

	for (i = 1; i < sp->ncopy; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(sp->copies[j].dir, sp->copies[i].dir) == 0)
				break;
		if (j == i && (err = maildir_make(sp->copies[i].dir,
		    &sp->copies[i].made, sp->copies[i].dmode)) != 0)
			return err;
	}
	return 0;
}

int
maildir_open(struct maildir_spool **sp_out, const char *return_path,
    const struct maildir_rcpt *rcpts, size_t nrcpt, const char *host,
    unsigned long *seq)
{
	struct maildir_spool *sp = NULL;
	size_t i;
	int err;

	*sp_out = NULL;
	if (nrcpt == 0 || !maildir_is_header_safe(return_path))
		return EINVAL;
	for (i = 0; i < nrcpt; i++)
		if (!maildir_is_header_safe(rcpts[i].addr))
			return EINVAL;
	sp = maildir_spool_new(return_path, rcpts, nrcpt, host, seq);
	if ((err = maildir_create_all(sp)) != 0)
		goto fail;
	/* The file itself is made at the first flush (commit for a small
	 * message); here only whether it can be, so that a bad Maildir
	 * fails before the body is read. */
	if ((err = maildir_tmp_ready(&sp->copies[0])) != 0)
		goto fail;
	if ((sp->buflen = maildir_header(sp, &sp->copies[0])) ==
	    MAILDIR_NOHDR) {
		err = ENAMETOOLONG;
		goto fail;
	}
	sp->hdrlen = sp->size = sp->buflen;
	*sp_out = sp;
	return 0;
fail:
	maildir_abort(&sp);
	return err;
}

int
maildir_write(struct maildir_spool *sp, const void *data, size_t len)
{
	int err;

	if (sp->state != MAILDIR_ST_OPEN)
		log_fatal("can't happen: maildir_write after commit");
	if (sp->err != 0)
		return sp->err;
	sp->size += len;
	if (len <= sizeof(sp->buf) - sp->buflen) {
		memcpy(sp->buf + sp->buflen, data, len);
		sp->buflen += len;
		return 0;
	}
	if ((err = maildir_flush(sp)) != 0)
		return err;
	if (len < sizeof(sp->buf)) {
		memcpy(sp->buf, data, len);
		sp->buflen = len;
		return 0;
	}
	/* A large piece goes straight out rather than through the buffer. */
	sp->err = maildir_write_all(sp->copies[0].fd, data, len);
	return sp->err;
}

/* maildir_copy_rw - copy len bytes from in at off to out with pread/write. */
static int
maildir_copy_rw(struct maildir_spool *sp, int in, int out, off_t off,
    uint64_t len)
{
	size_t want;
	ssize_t n;
	int err;

	while (len > 0) {
		want = len < sizeof(sp->buf) ? (size_t)len : sizeof(sp->buf);
		n = pread(in, sp->buf, want, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return errno;
		if (n == 0)	/* the first copy is shorter than counted */
			return EIO;
		if ((err = maildir_write_all(out, sp->buf, (size_t)n)) != 0)
			return err;
		off += n;
		len -= (uint64_t)n;
	}
	return 0;
}

/*
 * maildir_copy_body - copy len bytes from in at off to out's position:
 * in the kernel where it can, by hand across filesystems (EXDEV) or
 * where the filesystem or kernel cannot (ENOSYS, EINVAL, EOPNOTSUPP).
 */
static int
maildir_copy_body(struct maildir_spool *sp, int in, int out, off_t off,
    uint64_t len)
{
#ifdef HAVE_COPY_FILE_RANGE
	ssize_t n;

	while (len > 0) {
		n = copy_file_range(in, &off, out, NULL,
		    len < SSIZE_MAX ? (size_t)len : SSIZE_MAX, 0);
		if (n > 0) {
			len -= (uint64_t)n;
			continue;
		}
		if (n == 0)
			return EIO;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != ENOSYS && errno != EINVAL &&
		    errno != EOPNOTSUPP)
			return errno;
		break;
	}
#endif
	return maildir_copy_rw(sp, in, out, off, len);
}

/* maildir_copy_make - write copy c: its own header, the first's body. */
static int
maildir_copy_make(struct maildir_spool *sp, struct maildir_copy *c)
{
	uint64_t body = sp->size - sp->hdrlen;
	size_t hlen;
	int err;

	if ((err = maildir_tmp_create(sp, c, O_WRONLY)) != 0)
		return err;
	if ((hlen = maildir_header(sp, c)) == MAILDIR_NOHDR)
		return ENAMETOOLONG;
	if (hlen > 0 && (err = maildir_write_all(c->fd, sp->buf, hlen)) != 0)
		return err;
	c->size = hlen + body;
	return maildir_copy_body(sp, sp->copies[0].fd, c->fd,
	    (off_t)sp->hdrlen, body);
}

/* maildir_sync_close - fsync and close c's file. */
static int
maildir_sync_close(struct maildir_copy *c)
{
	int fd = c->fd;

	c->fd = -1;
	if (fsync(fd) == -1) {
		int err = errno;

		(void)close(fd);
		return err;
	}
	/* After a good fsync, EINTR from close() loses no data on Linux. */
	if (close(fd) == -1 && errno != EINTR)
		return errno;
	return 0;
}

/*
 * maildir_envelope - a queue copy's envelope: written to tmp/<name>.env,
 * fsynced, renamed to env/<name>,S=<size> and env/ fsynced, all before
 * the message itself enters new/, so a relay agent that sees the message
 * always finds its envelope.
 */
static int
maildir_envelope(struct maildir_copy *c, const char *name)
{
	char *tmp = xasprintf("%s/tmp/%s.env", c->dir, name);
	char *dir = xasprintf("%s/env", c->dir);
	bool made = false;
	int fd, err;

	c->env = xasprintf("%s/%s", dir, strrchr(c->new, '/') + 1);
	if (mkdir(dir, c->dmode) == 0) {
		made = true;
	} else if (errno != EEXIST) {
		err = errno;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, c->fmode);
	if (fd == -1) {
		err = errno;
		goto out;
	}
	err = maildir_write_all(fd, c->envelope, strlen(c->envelope));
	if (fsync(fd) == -1 && err == 0)
		err = errno;
	if (close(fd) == -1 && err == 0 && errno != EINTR)
		err = errno;
	if (err == 0 && rename(tmp, c->env) == -1)
		err = errno;
	if (err == 0)
		err = maildir_group_sync(dir);
	if (err == 0 && made)	/* env/'s own entry */
		err = maildir_fsync_path(c->dir);
out:
	if (err != 0) {
		(void)unlink(tmp);
		(void)unlink(c->env);
	}
	free(tmp);
	free(dir);
	return err;
}

/*
 * maildir_prepare - c's name in new/, <name>,S=<size>, and for a queue
 * copy its envelope, made durable before any copy is linked.
 */
static int
maildir_prepare(struct maildir_copy *c)
{
	const char *name = strrchr(c->tmp, '/') + 1;

	c->new = xasprintf("%s/new/%s,S=%" PRIu64, c->dir, name, c->size);
	return c->envelope != NULL ? maildir_envelope(c, name) : 0;
}

/*
 * maildir_deliver - link c from tmp/ into new/.  link() refuses to
 * replace an existing name, where rename() would not.  The tmp/ name
 * stays until maildir_untmp(), so that the links of all copies follow
 * one another with nothing slow between them.
 */
static int
maildir_deliver(struct maildir_copy *c)
{
	int err;

	if (link(c->tmp, c->new) == -1) {
		/* new/ gone (only tmp/ was checked): make it, try once more */
		if (errno != ENOENT)
			return errno;
		if ((err = maildir_create(c->dir)) != 0)
			return err;
		if (link(c->tmp, c->new) == -1)
			return errno;
	}
	c->linked = true;
	return 0;
}

/*
 * maildir_untmp - remove a delivered copy's tmp/ name.  The message is
 * safe in new/ by now: a failure leaves debris for the tmp/ cleaner,
 * not an error that would make the client send the message again.
 */
static void
maildir_untmp(struct maildir_copy *c)
{
	if (unlink(c->tmp) == -1 && errno != ENOENT)
		log_event(LOG_LEVEL_WARN, NULL, "event=spool",
		    LOG_TOK("op", "unlink"), LOG_Q("path", c->tmp),
		    LOG_Q("error", strerror(errno)));
	free(c->tmp);
	c->tmp = NULL;
}

/* maildir_sync_dir - fsync copy i's new/ (shared with the commits of
 * other threads into it), unless an earlier copy did. */
static int
maildir_sync_dir(const struct maildir_spool *sp, size_t i)
{
	char *path;
	size_t j;
	int err;

	for (j = 0; j < i; j++)
		if (strcmp(sp->copies[j].dir, sp->copies[i].dir) == 0)
			return 0;
	path = xasprintf("%s/new", sp->copies[i].dir);
	err = maildir_group_sync(path);
	free(path);
	return err;
}

/* maildir_rollback - close and remove every file this handle made. */
static void
maildir_rollback(struct maildir_spool *sp)
{
	struct maildir_copy *c;
	size_t i;

	for (i = 0; i < sp->ncopy; i++) {
		c = &sp->copies[i];
		if (c->fd != -1)
			(void)close(c->fd);
		c->fd = -1;
		if (c->tmp != NULL && unlink(c->tmp) == -1 && errno != ENOENT)
			log_event(LOG_LEVEL_WARN, NULL, "event=spool",
			    LOG_TOK("op", "unlink"), LOG_Q("path", c->tmp),
			    LOG_Q("error", strerror(errno)));
		free(c->tmp);
		c->tmp = NULL;
		/* A reader may have moved it to cur/ already: ENOENT. */
		if (c->linked && unlink(c->new) == -1 && errno != ENOENT)
			log_event(LOG_LEVEL_WARN, NULL, "event=spool",
			    LOG_TOK("op", "unlink"), LOG_Q("path", c->new),
			    LOG_Q("error", strerror(errno)));
		c->linked = false;
		if (c->env != NULL)
			(void)unlink(c->env);
		free(c->env);
		c->env = NULL;
	}
}

int
maildir_reader(struct maildir_spool *sp)
{
	int fd, err;

	if ((err = maildir_flush(sp)) != 0) {
		errno = err;
		return -1;
	}
	fd = open(sp->copies[0].tmp, O_RDONLY | O_CLOEXEC);
	if (fd != -1 && lseek(fd, (off_t)sp->hdrlen, SEEK_SET) == -1) {
		err = errno;
		(void)close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/*
 * maildir_rewrite_first - write the first copy anew as its own lines,
 * text, then the message of the old file old_fd; the new file's name
 * and descriptor replace the old ones in *c.
 */
static int
maildir_rewrite_first(struct maildir_spool *sp, struct maildir_copy *c,
    int old_fd, const char *text, size_t len)
{
	size_t hlen;
	int err;

	if ((err = maildir_tmp_create(sp, c, O_RDWR)) != 0)
		return err;
	if ((hlen = maildir_header(sp, c)) == MAILDIR_NOHDR)
		return ENAMETOOLONG;
	if ((err = maildir_write_all(c->fd, sp->buf, hlen)) != 0 ||
	    (err = maildir_write_all(c->fd, text, len)) != 0)
		return err;
	return maildir_copy_body(sp, old_fd, c->fd, (off_t)sp->hdrlen,
	    sp->size - sp->hdrlen);
}

int
maildir_prepend(struct maildir_spool *sp, const char *text, size_t len)
{
	struct maildir_copy *c = &sp->copies[0];
	char *old_tmp = c->tmp;
	int old_fd = c->fd, err;

	if (sp->state != MAILDIR_ST_OPEN)
		log_fatal("can't happen: maildir_prepend after commit");
	if ((err = maildir_flush(sp)) != 0 || len == 0)
		return err;
	c->tmp = NULL;
	c->fd = -1;
	if ((err = maildir_rewrite_first(sp, c, old_fd, text, len)) != 0) {
		if (c->fd != -1)
			(void)close(c->fd);
		if (c->tmp != NULL)
			(void)unlink(c->tmp);
		free(c->tmp);
		c->tmp = old_tmp;
		c->fd = old_fd;
		sp->err = err;
		return err;
	}
	(void)close(old_fd);
	(void)unlink(old_tmp);
	free(old_tmp);
	sp->size += len;
	return 0;
}

int
maildir_commit(struct maildir_spool *sp)
{
	size_t i;
	int err;

	if (sp->state != MAILDIR_ST_OPEN)
		log_fatal("can't happen: maildir_commit twice");
	sp->state = MAILDIR_ST_DONE;
	if ((err = maildir_flush(sp)) != 0)
		goto fail;
	sp->copies[0].size = sp->size;
	for (i = 1; i < sp->ncopy; i++)
		if ((err = maildir_copy_make(sp, &sp->copies[i])) != 0)
			goto fail;
	for (i = 0; i < sp->ncopy; i++)
		if ((err = maildir_sync_close(&sp->copies[i])) != 0)
			goto fail;
	for (i = 0; i < sp->ncopy; i++)
		if ((err = maildir_prepare(&sp->copies[i])) != 0)
			goto fail;
	/* From the first link to the 250, a crash leaves some copies in
	 * new/ unacknowledged: only link() calls, then the fsyncs. */
	for (i = 0; i < sp->ncopy; i++)
		if ((err = maildir_deliver(&sp->copies[i])) != 0)
			goto fail;
	for (i = 0; i < sp->ncopy; i++)
		if ((err = maildir_sync_dir(sp, i)) != 0)
			goto fail;
	for (i = 0; i < sp->ncopy; i++)
		if (sp->copies[i].made != NULL && (err = maildir_sync_made(
		    sp->copies[i].dir, sp->copies[i].made)) != 0)
			goto fail;
	for (i = 0; i < sp->ncopy; i++)
		maildir_untmp(&sp->copies[i]);
	return 0;
fail:
	maildir_rollback(sp);
	return err;
}

/*
 * maildir_release - remove what is left in tmp/ and free the handle.
 * Copies already in new/ after a successful commit are delivered: kept.
 */
static void
maildir_release(struct maildir_spool **spp)
{
	struct maildir_spool *sp = *spp;
	size_t i;

	if (sp == NULL)
		return;
	*spp = NULL;
	for (i = 0; i < sp->ncopy; i++) {
		/* in new/ and env/ after a good commit: delivered, kept */
		sp->copies[i].linked = false;
		free(sp->copies[i].env);
		sp->copies[i].env = NULL;
	}
	maildir_rollback(sp);
	for (i = 0; i < sp->ncopy; i++) {
		free(sp->copies[i].dir);
		free(sp->copies[i].addr);
		free(sp->copies[i].new);
		free(sp->copies[i].envelope);
		free(sp->copies[i].made);
	}
	free(sp->copies);
	free(sp->return_path);
	free(sp->host);
	free(sp);
}

void
maildir_abort(struct maildir_spool **spp)
{
	maildir_release(spp);
}

void
maildir_free(struct maildir_spool **spp)
{
	maildir_release(spp);
}

uint64_t
maildir_size(const struct maildir_spool *sp)
{
	return sp->size;
}

uint64_t
maildir_body_size(const struct maildir_spool *sp)
{
	return sp->size - sp->hdrlen;
}

void
maildir_set_envelope(struct maildir_spool *sp, const char *text)
{
	size_t i;

	for (i = 0; i < sp->ncopy; i++) {
		if (sp->copies[i].envelope == NULL)
			continue;
		free(sp->copies[i].envelope);
		sp->copies[i].envelope = xstrdup(text);
	}
}

size_t
maildir_ncopy(const struct maildir_spool *sp)
{
	return sp->ncopy;
}

const char *
maildir_path(const struct maildir_spool *sp, size_t i)
{
	if (i >= sp->ncopy)
		log_fatal("can't happen: maildir_path(%zu) of %zu", i,
		    sp->ncopy);
	return sp->copies[i].linked ? sp->copies[i].new : NULL;
}

int
maildir_clean_tmp(const char *dir, time_t now, time_t max_age)
{
	struct dirent *de;
	struct stat st;
	char *path;
	DIR *d;
	int fd, n = 0;

	path = xasprintf("%s/tmp", dir);
	d = opendir(path);
	free(path);
	if (d == NULL)
		return -1;
	fd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode) || st.st_mtime >= now - max_age)
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0)
			n++;
		else
			log_event(LOG_LEVEL_WARN, NULL, "event=clean",
			    LOG_Q("dir", dir), LOG_Q("file", de->d_name),
			    LOG_Q("error", strerror(errno)));
	}
	(void)closedir(d);
	return n;
}

/* maildir_find_escape - the first "%c" escape in s (skipping "%%"). */
static const char *
maildir_find_escape(const char *s, char c)
{
	for (; *s != '\0'; s++) {
		if (*s != '%')
			continue;
		if (s[1] == c)
			return s;
		if (s[1] == '\0')
			return NULL;
		s++;
	}
	return NULL;
}

/* maildir_expand_n - idn_expand of the first n bytes of tmpl. */
static int
maildir_expand_n(const char *tmpl, size_t n, const char *local,
    const char *domain, char *out, size_t outlen)
{
	char part[PATH_MAX];

	if (n >= sizeof(part))
		return -1;
	memcpy(part, tmpl, n);
	part[n] = '\0';
	return idn_expand(part, local, domain, false, out, outlen);
}

/*
 * maildir_clean_one - clean the Maildir tmpl names for domain and local,
 * a directory entry (or unused) that stands for %u as it is.
 */
static int
maildir_clean_one(const char *tmpl, const char *local, const char *domain,
    time_t now, time_t max_age)
{
	char path[PATH_MAX];
	int n;

	if (idn_expand(tmpl, local, domain, true, path, sizeof(path)) == -1)
		return 0;
	/* Not every name a template can form is a Maildir. */
	n = maildir_clean_tmp(path, now, max_age);
	return n > 0 ? n : 0;
}

/*
 * maildir_match - whether entry e is pre<local>post, with local
 * non-empty; copies local into out (size PATH_MAX).
 */
static bool
maildir_match(const char *e, const char *pre, const char *post, char *out)
{
	size_t elen = strlen(e), plen = strlen(pre), slen = strlen(post);

	if (elen <= plen + slen || elen - plen - slen >= PATH_MAX ||
	    strncmp(e, pre, plen) != 0 || strcmp(e + elen - slen, post) != 0)
		return false;
	memcpy(out, e + plen, elen - plen - slen);
	out[elen - plen - slen] = '\0';
	return true;
}

/*
 * maildir_clean_users - clean every Maildir of one domain that the
 * path component holding %u (at u; "%u", or with fixed text around it
 * such as "%u.mail") names among the entries of its directory.
 */
static int
maildir_clean_users(const char *tmpl, const char *u, const char *domain,
    time_t now, time_t max_age)
{
	char parent[PATH_MAX], pre[PATH_MAX], post[PATH_MAX], local[PATH_MAX];
	const char *start, *end;
	struct dirent *de;
	DIR *d;
	int n = 0;

	for (start = u; start > tmpl && start[-1] != '/'; start--)
		continue;
	if ((end = strchr(u, '/')) == NULL)
		end = u + strlen(u);
	if (maildir_expand_n(tmpl, (size_t)(start - tmpl), "", domain,
	    parent, sizeof(parent)) == -1 ||
	    maildir_expand_n(start, (size_t)(u - start), "", domain,
	    pre, sizeof(pre)) == -1 ||
	    maildir_expand_n(u + 2, (size_t)(end - u - 2), "", domain,
	    post, sizeof(post)) == -1)
		return 0;
	if ((d = opendir(parent[0] != '\0' ? parent : ".")) == NULL) {
		if (errno != ENOENT)
			log_event(LOG_LEVEL_WARN, NULL, "event=clean",
			    LOG_Q("dir", parent), LOG_Q("error", strerror(errno)));
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    !maildir_match(de->d_name, pre, post, local))
			continue;
		n += maildir_clean_one(tmpl, local, domain, now, max_age);
	}
	(void)closedir(d);
	return n;
}

/* maildir_clean_domain - clean the Maildirs of one domain. */
static int
maildir_clean_domain(const char *tmpl, const char *domain, time_t now,
    time_t max_age)
{
	const char *u;

	if ((u = maildir_find_escape(tmpl, 'u')) == NULL)
		return maildir_clean_one(tmpl, "", domain, now, max_age);
	return maildir_clean_users(tmpl, u, domain, now, max_age);
}

int
maildir_clean_template(const char *tmpl, char *const *domains,
    size_t ndomains, time_t now, time_t max_age)
{
	size_t i;
	int n = 0;

	/* Without %d every domain would name the same Maildirs. */
	if (maildir_find_escape(tmpl, 'd') == NULL)
		return maildir_clean_domain(tmpl, "", now, max_age);
	for (i = 0; i < ndomains; i++)
		n += maildir_clean_domain(tmpl, domains[i], now, max_age);
	return n;
}

/* maildir_can_write - 0, or the errno of the effective ids' access check
 * for making and removing entries in dir/sub. */
static int
maildir_can_write(const char *dir, const char *sub)
{
	char *path = xasprintf("%s/%s", dir, sub);
	int err = 0;

	if (faccessat(AT_FDCWD, path, W_OK | X_OK, AT_EACCESS) == -1)
		err = errno;
	free(path);
	return err;
}

int
maildir_check(const char *dir, bool with_env)
{
	int err;

	if ((err = maildir_can_write(dir, "tmp")) != 0 ||
	    (err = maildir_can_write(dir, "new")) != 0)
		return err;
	if (!with_env)
		return 0;
	/* env/ is made at the first queued message: then dir must allow it */
	if ((err = maildir_can_write(dir, "env")) == ENOENT)
		err = maildir_can_write(dir, ".");
	return err;
}
