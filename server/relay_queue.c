/* SPDX-License-Identifier: ISC */
/*
 * relay_queue - the queue Maildir from inlet-relay's side: list, load
 * (envelope and state), save the state durably, read, remove; and the
 * DSN into the sender's Maildir.  Edge (file I/O).  The order of every
 * write is what makes a crash harmless: the state is on disk before the
 * next step, a message leaves new/ before its envelope and state go, and
 * a DSN is committed before its recipients are marked reported (so a
 * crash repeats a DSN at most once and loses none).
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

#include "buf.h"
#include "dsn.h"
#include "log.h"
#include "maildir.h"
#include "relay_queue.h"
#include "route.h"
#include "smtp_cmd.h"
#include "xalloc.h"

#define RELAY_ENV_MAX	(16u * 1024 * 1024)
#define RELAY_DSN_MAX	(64u * 1024 * 1024)
/* inletd renames env/NAME into place just before it links new/NAME: an
 * envelope younger than this may belong to a message being committed */
#define RELAY_ORPHAN_GRACE	(60 * 60)

/* path - "queue/sub/name" into dst; -1 (ENAMETOOLONG) if it is too long. */
static int
path(char *dst, size_t len, const char *queue, const char *sub,
    const char *name)
{
	int n = snprintf(dst, len, "%s/%s%s%s", queue, sub,
	    name != NULL ? "/" : "", name != NULL ? name : "");

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* read_all - a whole file (at most max octets; with cut its first max
 * octets) into *out; errno value. */
static int
read_all(const char *p, size_t max, bool cut, char **out, size_t *len_out)
{
	struct stat sb;
	size_t len = 0, want;
	ssize_t n;
	char *buf;
	int fd, err;

	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) == -1)
		return errno;
	if (fstat(fd, &sb) != 0 || (!cut && (uint64_t)sb.st_size > max)) {
		err = errno != 0 && (uint64_t)sb.st_size <= max ? errno : EFBIG;
		(void)close(fd);
		return err;
	}
	want = (uint64_t)sb.st_size > max ? max : (size_t)sb.st_size;
	buf = xmalloc(want + 1);
	while (len < want && (n = read(fd, buf + len, want - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			free(buf);
			(void)close(fd);
			return err;
		}
		len += (size_t)n;
	}
	(void)close(fd);
	buf[len] = '\0';
	*out = buf;
	*len_out = len;
	return 0;
}

/* fsync_dir - make a directory's entries durable; errno value. */
static int
fsync_dir(const char *dir)
{
	int fd, err = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return errno;
	if (fsync(fd) != 0)
		err = errno;
	(void)close(fd);
	return err;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
relay_queue_list(const char *queue, char ***names_out, size_t *n_out)
{
	char p[PATH_MAX], **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	if (path(p, sizeof(p), queue, "new", NULL) != 0)
		return errno;
	if ((d = opendir(p)) == NULL)
		return errno;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = xrealloc(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	(void)closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	*names_out = names;
	*n_out = n;
	return 0;
}

/*
 * clean_dir - remove queue/sub/NAME where queue/new/NAME is gone and the
 * file is at least grace seconds old (by its mtime), one log line each.
 */
static void
clean_dir(const char *queue, const char *sub, time_t grace, time_t now)
{
	char dir[PATH_MAX], p[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if (path(dir, sizeof(dir), queue, sub, NULL) != 0 ||
	    (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || path(p, sizeof(p), queue, "new",
		    de->d_name) != 0 || stat(p, &sb) == 0 || errno != ENOENT)
			continue;
		if (path(p, sizeof(p), queue, sub, de->d_name) != 0 ||
		    lstat(p, &sb) != 0 || now - sb.st_mtime < grace)
			continue;
		if (unlink(p) != 0) {
			if (errno != ENOENT)
				log_event(LOG_LEVEL_WARN, NULL, "event=orphan",
				    LOG_Q("file", p), LOG_Q("error",
				    strerror(errno)));
		} else
			log_event(LOG_LEVEL_INFO, NULL, "event=orphan",
			    LOG_Q("file", p), LOG_SECS("age", (long long)(now -
			    sb.st_mtime)));
	}
	(void)closedir(d);
}

void
relay_queue_clean(const char *queue)
{
	time_t now = time(NULL);

	clean_dir(queue, "state", 0, now);
	clean_dir(queue, "env", RELAY_ORPHAN_GRACE, now);
}

void
relay_queue_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
relay_time_parse(const char *s, time_t *out)
{
	struct tm tm;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    s[n] != '\0' || n == 0)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

/* load_state - state/NAME over the all-pending state, if it exists. */
static int
load_state(const char *queue, struct relay_msg *m, char **err_out)
{
	char p[PATH_MAX], *text;
	const char *err;
	size_t len;
	int rc;

	if (path(p, sizeof(p), queue, "state", m->name) != 0)
		return -1;
	if ((rc = read_all(p, RELAY_ENV_MAX, false, &text, &len)) == ENOENT)
		return 0;
	if (rc != 0) {
		*err_out = xasprintf("%s: %s", p, strerror(rc));
		return -1;
	}
	rc = relay_state_parse(&m->st, text, len, &err);
	free(text);
	if (rc != 0)
		*err_out = xasprintf("%s: %s", p, err);
	return rc;
}

int
relay_msg_load(const char *queue, const char *name, struct relay_msg *m,
    char **err_out)
{
	char p[PATH_MAX], *text;
	const char **addrs;
	const char *err;
	struct stat sb;
	size_t len, i;
	int rc;

	memset(m, 0, sizeof(*m));
	m->name = xstrdup(name);
	if (path(p, sizeof(p), queue, "new", name) != 0 || stat(p, &sb) != 0) {
		*err_out = xasprintf("%s: %s", p, strerror(errno));
		return -1;
	}
	m->size = (uint64_t)sb.st_size;
	if (path(p, sizeof(p), queue, "env", name) != 0) {
		*err_out = xasprintf("%s: %s", p, strerror(errno));
		return -1;
	}
	if ((rc = read_all(p, RELAY_ENV_MAX, false, &text, &len)) != 0) {
		*err_out = xasprintf("%s: %s%s", p, strerror(rc), rc == EACCES ?
		    " (inletd's group_access yes shares the queue)" : "");
		return -1;
	}
	rc = envelope_parse(&m->env, text, len, &err);
	free(text);
	if (rc != 0) {
		*err_out = xasprintf("%s: %s", p, err);
		return -1;
	}
	if (relay_time_parse(m->env.arrival, &m->arrival) != 0)
		m->arrival = sb.st_mtime;
	addrs = xcalloc(m->env.nrcpt + 1, sizeof(*addrs));
	for (i = 0; i < m->env.nrcpt; i++)
		addrs[i] = m->env.rcpts[i].addr;
	relay_state_init(&m->st, addrs, m->env.nrcpt);
	free(addrs);
	return load_state(queue, m, err_out);
}

void
relay_msg_clear(struct relay_msg *m)
{
	free(m->name);
	m->name = NULL;
	envelope_clear(&m->env);
	relay_state_clear(&m->st);
}

/* write_all - all of len octets to fd; errno value. */
static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
relay_msg_save(const char *queue, const struct relay_msg *m)
{
	char dir[PATH_MAX], tmp[PATH_MAX], dst[PATH_MAX];
	struct buf b;
	int fd, err;

	if (path(dir, sizeof(dir), queue, "state", NULL) != 0 ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, m->name) >=
	    (int)sizeof(tmp) || path(dst, sizeof(dst), queue, "state",
	    m->name) != 0)
		return ENAMETOOLONG;
	if (mkdir(dir, maildir_dir_mode()) == 0 &&
	    (err = fsync_dir(queue)) != 0)
		return err;
	buf_init(&b, RELAY_ENV_MAX);
	relay_state_fmt(&b, &m->st);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    maildir_file_mode());
	if (fd == -1) {
		err = errno;
		buf_release(&b);
		return err;
	}
	err = write_all(fd, b.data, b.len);
	buf_release(&b);
	if (err == 0 && fsync(fd) != 0)
		err = errno;
	if (close(fd) != 0 && err == 0)
		err = errno;
	if (err == 0 && rename(tmp, dst) != 0)
		err = errno;
	if (err != 0) {
		(void)unlink(tmp);
		return err;
	}
	return fsync_dir(dir);
}

int
relay_msg_read(const char *queue, const char *name, size_t max,
    char **text_out, size_t *len_out)
{
	char p[PATH_MAX];

	if (path(p, sizeof(p), queue, "new", name) != 0)
		return errno;
	return read_all(p, max, false, text_out, len_out);
}

int
relay_msg_open(const char *queue, const char *name, int *fd_out)
{
	char p[PATH_MAX];

	if (path(p, sizeof(p), queue, "new", name) != 0)
		return errno;
	if ((*fd_out = open(p, O_RDONLY | O_CLOEXEC)) == -1)
		return errno;
	return 0;
}

int
relay_msg_remove(const char *queue, const char *name)
{
	char p[PATH_MAX], dir[PATH_MAX];
	int err;

	if (path(p, sizeof(p), queue, "new", name) != 0 ||
	    path(dir, sizeof(dir), queue, "new", NULL) != 0)
		return errno;
	if (unlink(p) != 0 && errno != ENOENT)
		return errno;
	if ((err = fsync_dir(dir)) != 0)
		return err;
	if (path(p, sizeof(p), queue, "env", name) == 0 && unlink(p) != 0 &&
	    errno != ENOENT)
		return errno;
	if (path(p, sizeof(p), queue, "state", name) == 0 && unlink(p) != 0 &&
	    errno != ENOENT)
		return errno;
	return 0;
}

int
relay_msg_find(const char *queue, const char *id, char **name_out)
{
	struct relay_msg m;
	char **names, *err = NULL;
	size_t n, i;
	int rc = ENOENT;

	if (strchr(id, '/') != NULL || id[0] == '.' || id[0] == '\0')
		return ENOENT;
	if ((rc = relay_queue_list(queue, &names, &n)) != 0)
		return rc;
	rc = ENOENT;
	for (i = 0; i < n && rc != 0; i++) {
		if (strcmp(names[i], id) == 0)
			rc = 0;
		else {
			if (relay_msg_load(queue, names[i], &m, &err) == 0 &&
			    strcmp(m.env.queue_id, id) == 0)
				rc = 0;
			relay_msg_clear(&m);
			free(err);
			err = NULL;
		}
		if (rc == 0)
			*name_out = xstrdup(names[i]);
	}
	relay_queue_names_free(names, n);
	return rc;
}

/* dsn_box - the Maildir the sender's DSN goes to; NULL if not local. */
static char *
dsn_box(const struct config *cfg, const char *sender)
{
	struct smtp_rcpt_args a;
	struct route r;
	char *arg, *box = NULL;

	arg = xasprintf("TO:<%s>", sender);
	if (smtp_cmd_parse_rcpt(arg, strlen(arg), SMTP_CMD_F_UTF8, &a) !=
	    SMTP_CMD_OK) {
		free(arg);
		return NULL;
	}
	free(arg);
	memset(&r, 0, sizeof(r));
	route_rcpt(cfg, false, &a.to, &r);
	if (r.kind == ROUTE_LOCAL && r.nboxes > 0)
		box = xstrdup(r.boxes[0].maildir);
	route_reset(&r);
	return box;
}

/* dsn_commit - the report text into box, with the null sender. */
static int
dsn_commit(const struct config *cfg, const char *box, const char *to,
    const struct buf *b, unsigned long *seq)
{
	struct maildir_rcpt rc = { .addr = to, .dir = box, .envelope = NULL };
	struct maildir_spool *sp = NULL;
	int err;

	if ((err = maildir_open(&sp, "", &rc, 1, cfg->hostname, seq)) != 0)
		return err;
	if ((err = maildir_write(sp, b->data, b->len)) != 0) {
		maildir_abort(&sp);
		return err;
	}
	err = maildir_commit(sp);
	maildir_free(&sp);
	return err;
}

/* is_reported - whether recipient i goes into the report: a failure not
 * yet reported, or for a delay warning a deferral, as NOTIFY asks. */
static bool
is_reported(const struct relay_msg *m, size_t i, bool delayed)
{
	const struct relay_rcpt *rr = &m->st.r[i];

	if (delayed)
		return rr->state == RELAY_R_DEFERRED &&
		    dsn_is_delay_wanted(m->env.sender, m->env.rcpts[i].notify);
	return rr->state == RELAY_R_FAILED && !rr->reported &&
	    dsn_is_wanted(m->env.sender, m->env.rcpts[i].notify);
}

/* dsn_text - the report for the due recipients into b (delayed: the
 * delay warning, with the header only); their count. */
static size_t
dsn_text(const struct config *cfg, const struct relay_msg *m,
    const char *text, size_t len, const char *remote_mta, time_t now,
    bool delayed, struct buf *b)
{
	struct dsn_rcpt *d = xcalloc(m->st.n + 1, sizeof(*d));
	struct dsn_report r;
	char boundary[96];
	size_t i, n = 0;

	for (i = 0; i < m->st.n; i++) {
		const struct relay_rcpt *rr = &m->st.r[i];

		if (!is_reported(m, i, delayed))
			continue;
		/* a deferral's when is its next try, not its last */
		d[n++] = (struct dsn_rcpt){ rr->addr, m->env.rcpts[i].orcpt,
		    rr->reply, delayed ? 0 : rr->when };
	}
	(void)snprintf(boundary, sizeof(boundary), "%s.%lld/%s",
	    m->env.queue_id, (long long)now, cfg->hostname);
	for (i = 0; boundary[i] != '\0'; i++)
		if (boundary[i] == '/')
			boundary[i] = '=';
	r = (struct dsn_report){ .reporting_mta = cfg->hostname,
	    .remote_mta = remote_mta, .queue_id = m->env.queue_id,
	    .sender = m->env.sender, .envid = m->env.envid,
	    .arrival = m->arrival, .now = now, .boundary = boundary,
	    .rcpts = d, .nrcpt = n, .original = text, .original_len = len,
	    .full = m->env.ret == ENVELOPE_RET_FULL && !delayed,
	    .utf8 = m->env.smtputf8, .delayed = delayed,
	    .retry_until = m->arrival + (time_t)cfg->queue_lifetime };
	if (n > 0 && dsn_fmt(b, &r) != 0) {
		/* too big with the whole message: the headers will do */
		buf_reset(b);
		r.full = false;
		if (dsn_fmt(b, &r) != 0)
			n = 0;
	}
	free(d);
	return n;
}

/* mark_reported - every failed recipient is now reported. */
static void
mark_reported(struct relay_msg *m)
{
	size_t i;

	for (i = 0; i < m->st.n; i++)
		if (m->st.r[i].state == RELAY_R_FAILED)
			m->st.r[i].reported = true;
}

/*
 * dsn_send - the report in b (about n recipients) into the sender's
 * Maildir, logged.  0 when it is delivered or cannot ever be (the
 * sender is not local: dropped), else an errno value.
 */
static int
dsn_send(const struct config *cfg, const struct relay_msg *m,
    const struct buf *b, size_t n, const char *action, unsigned long *seq)
{
	char *box;
	int err;

	if ((box = dsn_box(cfg, m->env.sender)) == NULL) {
		log_event(LOG_LEVEL_WARN, NULL, "event=dsn",
		    LOG_TOK("id", m->env.queue_id),
		    LOG_ADDR("to", m->env.sender), LOG_TOK("action", action),
		    LOG_TOK("status", "dropped"),
		    LOG_Q("reason", "the sender is not a local address"));
		return 0;
	}
	err = dsn_commit(cfg, box, m->env.sender, b, seq);
	log_event(err == 0 ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, NULL,
	    "event=dsn", LOG_TOK("id", m->env.queue_id),
	    LOG_ADDR("to", m->env.sender), LOG_TOK("action", action),
	    LOG_U("rcpts", n),
	    LOG_TOK("status", err == 0 ? "delivered" : "deferred"),
	    err != 0 ? LOG_Q("reason", strerror(err)) : LOG_NONE);
	free(box);
	return err;
}

int
relay_dsn_deliver(const struct config *cfg, struct relay_msg *m,
    const char *text, size_t len, const char *remote_mta, time_t now,
    unsigned long *seq)
{
	struct buf b;
	size_t n;
	int err = 0;

	buf_init(&b, RELAY_DSN_MAX);
	n = dsn_text(cfg, m, text, len, remote_mta, now, false, &b);
	if (n > 0)
		err = dsn_send(cfg, m, &b, n, "failed", seq);
	buf_release(&b);
	if (err == 0)
		mark_reported(m);
	return err;
}

/* warn_commit - the delay warning for m, whose flag is on disk. */
static int
warn_commit(const struct config *cfg, const struct relay_msg *m,
    time_t now, unsigned long *seq)
{
	char p[PATH_MAX], *text = NULL;
	struct buf b;
	size_t len = 0, n;
	int err;

	/* its header is what goes with it: a start of the file will do */
	if (path(p, sizeof(p), cfg->queue, "new", m->name) != 0)
		return errno;
	if ((err = read_all(p, RELAY_DSN_MAX / 2, true, &text, &len)) != 0)
		return err;
	buf_init(&b, RELAY_DSN_MAX);
	n = dsn_text(cfg, m, text, len, NULL, now, true, &b);
	err = n > 0 ? dsn_send(cfg, m, &b, n, "delayed", seq) : 0;
	buf_release(&b);
	free(text);
	return err;
}

time_t
relay_delay_warn(const struct config *cfg, struct relay_msg *m, time_t now,
    unsigned long *seq)
{
	time_t at = relay_state_warn_at(&m->st, m->arrival,
	    cfg->delay_warning_time);
	size_t i;
	int err;

	if (at == -1 || at > now)
		return at;
	for (i = 0; i < m->st.n && !is_reported(m, i, true); i++)
		continue;
	if (i == m->st.n)
		return -1;	/* nobody asked for one (NOTIFY, <>) */
	/* at most once: the flag is on disk before the DSN is */
	m->st.warned = now;
	if ((err = relay_msg_save(cfg->queue, m)) == 0 &&
	    (err = warn_commit(cfg, m, now, seq)) != 0) {
		/* not delivered (a full disk): the next pass tries again */
		m->st.warned = 0;
		(void)relay_msg_save(cfg->queue, m);
		return -1;
	}
	if (err != 0) {
		m->st.warned = 0;
		log_event(LOG_LEVEL_WARN, NULL, "event=state",
		    LOG_TOK("id", m->env.queue_id), LOG_Q("error",
		    strerror(err)));
	}
	return -1;
}
