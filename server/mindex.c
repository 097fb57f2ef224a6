/* SPDX-License-Identifier: ISC */
/*
 * mindex - the sink Maildir's index.  Messages are held oldest first in
 * one array (the API reads it from the end); each keeps what a list, a
 * search and a MessageSummary need (msgview_sum, the envelope's login
 * and sender), a few hundred bytes.  IDs are checked before they reach
 * a path (mindex_is_valid_id).  Read state is the Maildir S flag
 * (maildir(5): new/ID becomes cur/ID:2,S), so a mail reader on the same
 * Maildir sees it.  Loop thread only.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envelope.h"
#include "log.h"
#include "mindex.h"
#include "xalloc.h"

#define MINDEX_ENV_MAX		(1024 * 1024)	/* bytes of an env/ record */
#define MINDEX_SWEEP_SECS	60		/* retention by age */
#define MINDEX_FLAGS_MAX	26

struct mindex {
	char			*dir;
	unsigned		 max_messages, max_age;
	mindex_event_fn		 events;
	void			*arg;
	struct event		*sweep;
	struct mindex_msg	**msgs;		/* oldest first */
	size_t			 n, cap;
	size_t			 unread;
};

bool
mindex_is_valid_id(const char *id)
{
	size_t i;

	if (id[0] == '\0' || id[0] == '.')
		return false;
	for (i = 0; id[i] != '\0'; i++) {
		char ch = id[i];

		if (i >= MINDEX_ID_MAX || !((ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("._-,=", ch) != NULL))
			return false;
	}
	return true;
}

void
mindex_path(const struct mindex *ix, const struct mindex_msg *m, char *out,
    size_t outlen)
{
	if (m->in_cur)
		(void)snprintf(out, outlen, "%s/cur/%s:2,%s", ix->dir, m->id,
		    m->flags);
	else
		(void)snprintf(out, outlen, "%s/new/%s", ix->dir, m->id);
}

/* mindex_read_env - the env/ID record of id into env; false without. */
static bool
mindex_read_env(const struct mindex *ix, const char *id,
    struct envelope *env)
{
	char path[PATH_MAX], *text;
	const char *err = NULL;
	ssize_t n;
	int fd;

	(void)snprintf(path, sizeof(path), "%s/env/%s", ix->dir, id);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	text = xmalloc(MINDEX_ENV_MAX);
	n = read(fd, text, MINDEX_ENV_MAX);
	(void)close(fd);
	if (n <= 0 || envelope_parse(env, text, (size_t)n, &err) != 0) {
		free(text);
		return false;
	}
	free(text);
	return true;
}

/* mindex_msg_free - one entry. */
static void
mindex_msg_free(struct mindex_msg *m)
{
	if (m == NULL)
		return;
	free(m->id);
	free(m->flags);
	free(m->username);
	free(m->return_path);
	msgview_sum_clear(&m->sum);
	free(m);
}

/* mindex_load - the entry for file name (in new/ or cur/), or NULL when
 * it is not a message (a dot file, a bad ID, unreadable). */
static struct mindex_msg *
mindex_load(const struct mindex *ix, const char *name, bool in_cur)
{
	struct mindex_msg *m;
	struct envelope env;
	struct stat st;
	char path[PATH_MAX], id[MINDEX_ID_MAX + 1];
	const char *info = strstr(name, ":2,");
	size_t idlen = info != NULL ? (size_t)(info - name) : strlen(name);
	bool has_env;

	if (idlen == 0 || idlen > MINDEX_ID_MAX)
		return NULL;
	memcpy(id, name, idlen);
	id[idlen] = '\0';
	(void)snprintf(path, sizeof(path), "%s/%s/%s", ix->dir,
	    in_cur ? "cur" : "new", name);
	if (!mindex_is_valid_id(id) || stat(path, &st) != 0 ||
	    !S_ISREG(st.st_mode))
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->id = xstrdup(id);
	m->in_cur = in_cur && info != NULL;
	m->flags = xstrdup(m->in_cur ? info + 3 : "");
	m->read = strchr(m->flags, 'S') != NULL;
	m->created = st.st_mtim;
	m->size = (uint64_t)st.st_size;
	memset(&env, 0, sizeof(env));
	has_env = mindex_read_env(ix, id, &env);
	if (has_env) {
		m->username = env.user != NULL ? xstrdup(env.user) : NULL;
		m->return_path = xstrdup(env.sender);
	}
	if (msgview_summary(path, has_env ? &env : NULL, &m->sum) != 0) {
		mindex_msg_free(m);
		m = NULL;
	}
	if (has_env)
		envelope_clear(&env);
	return m;
}

/* mindex_append - add m as the newest. */
static void
mindex_append(struct mindex *ix, struct mindex_msg *m)
{
	if (ix->n == ix->cap) {
		ix->cap = ix->cap == 0 ? 256 : ix->cap * 2;
		ix->msgs = xrealloc(ix->msgs, ix->cap, sizeof(*ix->msgs));
	}
	ix->msgs[ix->n++] = m;
	if (!m->read)
		ix->unread++;
}

/* mindex_cmp - oldest first; the same time by ID. */
static int
mindex_cmp(const void *a, const void *b)
{
	const struct mindex_msg *x = *(struct mindex_msg *const *)a;
	const struct mindex_msg *y = *(struct mindex_msg *const *)b;

	if (x->created.tv_sec != y->created.tv_sec)
		return x->created.tv_sec < y->created.tv_sec ? -1 : 1;
	if (x->created.tv_nsec != y->created.tv_nsec)
		return x->created.tv_nsec < y->created.tv_nsec ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* mindex_scan_dir - every message of new/ or cur/. */
static void
mindex_scan_dir(struct mindex *ix, bool in_cur)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	(void)snprintf(path, sizeof(path), "%s/%s", ix->dir,
	    in_cur ? "cur" : "new");
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct mindex_msg *m;

		if (de->d_name[0] == '.')
			continue;
		if ((m = mindex_load(ix, de->d_name, in_cur)) != NULL)
			mindex_append(ix, m);
	}
	(void)closedir(d);
}

/* mindex_remove_at - drop entry i from the array (the files are the
 * caller's), telling the event callback. */
static void
mindex_remove_at(struct mindex *ix, size_t i)
{
	struct mindex_msg *m = ix->msgs[i];

	memmove(&ix->msgs[i], &ix->msgs[i + 1],
	    (ix->n - i - 1) * sizeof(*ix->msgs));
	ix->n--;
	if (!m->read)
		ix->unread--;
	if (ix->events != NULL)
		ix->events(ix->arg, "delete", m);
	mindex_msg_free(m);
}

/* mindex_index_of - the array position of id, or ix->n. */
static size_t
mindex_index_of(const struct mindex *ix, const char *id)
{
	size_t i;

	for (i = ix->n; i > 0; i--)
		if (strcmp(ix->msgs[i - 1]->id, id) == 0)
			return i - 1;
	return ix->n;
}

int
mindex_delete(struct mindex *ix, const char *id, const char *reason)
{
	char path[PATH_MAX];
	size_t i = mindex_index_of(ix, id);

	if (i == ix->n) {
		errno = ENOENT;
		return -1;
	}
	mindex_path(ix, ix->msgs[i], path, sizeof(path));
	if (unlink(path) != 0 && errno != ENOENT)
		return -1;
	(void)snprintf(path, sizeof(path), "%s/env/%s", ix->dir, id);
	(void)unlink(path);
	log_event(LOG_LEVEL_INFO, NULL, "event=sink-delete", LOG_TOK("id", id),
	    LOG_TOK("reason", reason));
	mindex_remove_at(ix, i);
	return 0;
}

/* mindex_retain - remove the oldest while over max_messages or older
 * than max_age. */
static void
mindex_retain(struct mindex *ix)
{
	time_t now = time(NULL);

	while (ix->n > 0) {
		const struct mindex_msg *m = ix->msgs[0];
		const char *why = NULL;

		if (ix->max_messages != 0 && ix->n > ix->max_messages)
			why = "max-messages";
		else if (ix->max_age != 0 &&
		    m->created.tv_sec + (time_t)ix->max_age < now)
			why = "max-age";
		if (why == NULL || mindex_delete(ix, m->id, why) != 0)
			return;
	}
}

/* mindex_sweep_cb - retention by age, once a minute. */
static void
mindex_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	mindex_retain(arg);
}

struct mindex *
mindex_new(struct event_base *base, const char *dir, unsigned max_messages,
    unsigned max_age)
{
	struct mindex *ix = xcalloc(1, sizeof(*ix));
	struct timeval tv = { MINDEX_SWEEP_SECS, 0 };

	ix->dir = xstrdup(dir);
	ix->max_messages = max_messages;
	ix->max_age = max_age;
	mindex_scan_dir(ix, false);
	mindex_scan_dir(ix, true);
	if (ix->n > 1)
		qsort(ix->msgs, ix->n, sizeof(*ix->msgs), mindex_cmp);
	mindex_retain(ix);
	if (max_age != 0) {
		ix->sweep = event_new(base, -1, EV_PERSIST, mindex_sweep_cb,
		    ix);
		if (ix->sweep == NULL || evtimer_add(ix->sweep, &tv) != 0)
			log_fatal("cannot set up the sink retention timer");
	}
	log_event(LOG_LEVEL_INFO, NULL, "event=sink-index",
	    LOG_U("messages", ix->n), LOG_U("unread", ix->unread));
	return ix;
}

void
mindex_set_events(struct mindex *ix, mindex_event_fn events, void *arg)
{
	ix->events = events;
	ix->arg = arg;
}

void
mindex_free(struct mindex **ip)
{
	struct mindex *ix;
	size_t i;

	if (ip == NULL || (ix = *ip) == NULL)
		return;
	if (ix->sweep != NULL)
		event_free(ix->sweep);
	for (i = 0; i < ix->n; i++)
		mindex_msg_free(ix->msgs[i]);
	free(ix->msgs);
	free(ix->dir);
	free(ix);
	*ip = NULL;
}

void
mindex_added(struct mindex *ix, const char *path_in_new)
{
	const char *name = strrchr(path_in_new, '/');
	struct mindex_msg *m;

	name = name != NULL ? name + 1 : path_in_new;
	if ((m = mindex_load(ix, name, false)) == NULL)
		return;
	mindex_append(ix, m);
	if (ix->events != NULL)
		ix->events(ix->arg, "new", m);
	mindex_retain(ix);
}

size_t
mindex_count(const struct mindex *ix, bool unread_only)
{
	return unread_only ? ix->unread : ix->n;
}

const struct mindex_msg *
mindex_at(const struct mindex *ix, size_t i)
{
	return i < ix->n ? ix->msgs[ix->n - 1 - i] : NULL;
}

const struct mindex_msg *
mindex_find(const struct mindex *ix, const char *id)
{
	size_t i = mindex_index_of(ix, id);

	return i < ix->n ? ix->msgs[i] : NULL;
}

/* mindex_new_flags - flags with S added or taken out, in ASCII order
 * (maildir(5)), into out. */
static void
mindex_new_flags(const char *flags, bool read, char *out, size_t outlen)
{
	size_t o = 0;
	char c;

	for (c = 'A'; c <= 'z' && o + 1 < outlen; c++) {
		if (c == 'S' ? read : strchr(flags, c) != NULL)
			out[o++] = c;
	}
	out[o] = '\0';
}

int
mindex_set_read(struct mindex *ix, const char *id, bool read)
{
	char from[PATH_MAX], to[PATH_MAX], flags[MINDEX_FLAGS_MAX * 2 + 1];
	size_t i = mindex_index_of(ix, id);
	struct mindex_msg *m;

	if (i == ix->n) {
		errno = ENOENT;
		return -1;
	}
	m = ix->msgs[i];
	if (m->read == read)
		return 0;
	mindex_new_flags(m->flags, read, flags, sizeof(flags));
	mindex_path(ix, m, from, sizeof(from));
	(void)snprintf(to, sizeof(to), "%s/cur/%s:2,%s", ix->dir, m->id, flags);
	if (rename(from, to) != 0)
		return -1;
	free(m->flags);
	m->flags = xstrdup(flags);
	m->in_cur = true;
	m->read = read;
	if (read)
		ix->unread--;
	else
		ix->unread++;
	return 0;
}
