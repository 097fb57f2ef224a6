/* SPDX-License-Identifier: ISC */
/*
 * check_maildir - the Maildir writer against real directories.
 *
 * Each test runs in its own mkdtemp() directory under /tmp, removed by
 * the teardown fixture.  Covers the stored copies (content, names, modes,
 * one file per recipient), rollback on failure (RLIMIT_FSIZE, a broken
 * new/), unique names, the template expansion (idn_expand) and the tmp/ cleaners.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "idn.h"
#include "maildir.h"

#define TEST_PATH	4096

static char tdir[64];		/* this test's directory */
static char shm_dir[64];	/* a second filesystem, when one is used */
static unsigned long seq;
static bool fake_clock;		/* see clock_gettime() below */
static struct timespec fake_now;

/*
 * clock_gettime - this program's own, a link-time seam that makes file
 * names predictable: while fake_clock is set it returns fake_now and
 * moves it on by 1 µs; otherwise it asks the kernel.
 */
int
clock_gettime(clockid_t id, struct timespec *ts)
{
	if (!fake_clock)
		return (int)syscall(SYS_clock_gettime, id, ts);
	*ts = fake_now;
	fake_now.tv_nsec += 1000;
	return 0;
}

#define SYNCED_MAX	64
static char synced[SYNCED_MAX][TEST_PATH];	/* directories fsynced */
static int nsynced;

/* The group commit test's counters (threads: atomics). */
static atomic_bool group_hold;	/* the first directory fsync waits */
static atomic_int group_links;	/* link() calls so far */
static atomic_int group_dir_syncs; /* directory fsyncs so far */
static int group_n;		/* the links it waits for */

/* group_wait - the first directory fsync of the group test waits
 * (bounded: 10 s) until every commit has linked, then a little more. */
static void
group_wait(void)
{
	struct timespec ms = { 0, 1000000 };
	int i;

	for (i = 0; i < 10000 && atomic_load(&group_links) < group_n; i++)
		(void)nanosleep(&ms, NULL);
	ms.tv_nsec = 50000000;
	(void)nanosleep(&ms, NULL);
}

/* link - this program's own: counts, then asks the kernel. */
int
link(const char *from, const char *to)
{
	int r = (int)syscall(SYS_linkat, AT_FDCWD, from, AT_FDCWD, to, 0);

	atomic_fetch_add(&group_links, 1);
	return r;
}

/*
 * fsync - this program's own too: it notes the path of every directory
 * fsynced (from /proc/self/fd), then asks the kernel.  In the group
 * commit test it counts them instead, holding the first one back.
 */
int
fsync(int fd)
{
	char link[64];
	struct stat st;
	ssize_t n;

	if (atomic_load(&group_hold)) {
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) &&
		    atomic_fetch_add(&group_dir_syncs, 1) == 0)
			group_wait();
		return (int)syscall(SYS_fsync, fd);
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) &&
	    nsynced < SYNCED_MAX) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, synced[nsynced], TEST_PATH - 1);
		if (n > 0) {
			synced[nsynced][n] = '\0';
			nsynced++;
		}
	}
	return (int)syscall(SYS_fsync, fd);
}

/* rm_rf - remove path and everything below it. */
static void
rm_rf(const char *path)
{
	char sub[TEST_PATH];
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (lstat(path, &st) == -1)
		return;
	if (!S_ISDIR(st.st_mode)) {
		(void)unlink(path);
		return;
	}
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			rm_rf(sub);
		}
		closedir(d);
	}
	(void)rmdir(path);
}

/* setup - a fresh directory for the test. */
static void
setup(void)
{
	strcpy(tdir, "/tmp/check_maildir.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	shm_dir[0] = '\0';
	seq = 0;
}

/* teardown - remove the test's directories. */
static void
teardown(void)
{
	rm_rf(tdir);
	if (shm_dir[0] != '\0')
		rm_rf(shm_dir);
}

/* tpath - a path below the test directory, in one of 16 buffers. */
static const char *
    __attribute__((format(printf, 1, 2)))
tpath(const char *fmt, ...)
{
	static char bufs[16][TEST_PATH];
	static int next;
	char *b = bufs[next++ % 16];
	va_list ap;
	int n;

	n = snprintf(b, TEST_PATH, "%s/", tdir);
	va_start(ap, fmt);
	vsnprintf(b + n, TEST_PATH - (size_t)n, fmt, ap);
	va_end(ap);
	return b;
}

/* count_entries - entries in dir other than "." and "..", or -1. */
static int
count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* assert_counts - the numbers of files in md's tmp/ and new/. */
static void
assert_counts(const char *md, int ntmp, int nnew)
{
	char p[TEST_PATH];

	snprintf(p, sizeof(p), "%s/tmp", md);
	ck_assert_int_eq(count_entries(p), ntmp);
	snprintf(p, sizeof(p), "%s/new", md);
	ck_assert_int_eq(count_entries(p), nnew);
}

/* slurp - the whole (small) file at path, NUL-terminated; free it. */
static char *
slurp(const char *path, size_t *len_out)
{
	struct stat st;
	char *s;
	int fd;

	ck_assert_int_ne(fd = open(path, O_RDONLY), -1);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_ptr_nonnull(s = malloc((size_t)st.st_size + 1));
	ck_assert_int_eq(read(fd, s, (size_t)st.st_size), st.st_size);
	s[st.st_size] = '\0';
	close(fd);
	*len_out = (size_t)st.st_size;
	return s;
}

/* assert_file - path holds exactly want and its name ends ",S=<size>". */
static void
assert_file(const char *path, const char *want)
{
	char suffix[64];
	struct stat st;
	size_t len;
	char *got;

	ck_assert_ptr_nonnull(path);
	got = slurp(path, &len);
	ck_assert_str_eq(got, want);
	free(got);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	snprintf(suffix, sizeof(suffix), ",S=%lld", (long long)st.st_size);
	ck_assert_str_eq(path + strlen(path) - strlen(suffix), suffix);
}

/* assert_mode - path is a directory with mode 0700. */
static void
assert_mode(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0700);
}

/* deliver - one whole delivery of body; returns commit's result. */
static int
deliver(struct maildir_spool **sp_out, const char *from,
    const struct maildir_rcpt *r, size_t n, const char *body)
{
	ck_assert_int_eq(maildir_open(sp_out, from, r, n, "mx", &seq), 0);
	ck_assert_int_eq(maildir_write(*sp_out, body, strlen(body)), 0);
	return maildir_commit(*sp_out);
}

/* One recipient; _i 0 writes the body whole, 1 one byte at a time. */
START_TEST(test_one_rcpt)
{
	static const char body[] = "Subject: hi\n\nbody\n.line\n";
	static const char want[] = "Return-Path: <alice@example.net>\n"
	    "Delivered-To: Bob@Example.org\n" "Subject: hi\n\nbody\n.line\n";
	size_t i, len = strlen(body), step = _i == 0 ? len : 1;
	struct maildir_rcpt r = { "Bob@Example.org", NULL, NULL };
	struct maildir_spool *sp;
	const char *p, *name;
	char md[TEST_PATH];

	snprintf(md, sizeof(md), "%s", tpath("a/b/Maildir"));
	r.dir = md;
	ck_assert_int_eq(maildir_open(&sp, "alice@example.net", &r, 1,
	    "mx/1:2", &seq), 0);
	ck_assert_uint_eq(seq, 1);
	/* the Maildir is made, the file not yet: a message that fits the
	 * buffer is created by commit (on a worker thread in inletd) */
	assert_counts(md, 0, 0);
	for (i = 0; i < len; i += step)
		ck_assert_int_eq(maildir_write(sp, body + i, step), 0);
	assert_counts(md, 0, 0);
	ck_assert_int_eq(maildir_commit(sp), 0);
	p = maildir_path(sp, 0);
	assert_file(p, want);
	ck_assert_uint_eq(maildir_size(sp), strlen(want));
	ck_assert_int_eq(strncmp(p, tpath("a/b/Maildir/new/"),
	    strlen(tpath("a/b/Maildir/new/"))), 0);
	name = strrchr(p, '/') + 1;
	ck_assert_ptr_nonnull(strstr(name, ".mx\\0571\\0722,S="));
	ck_assert_ptr_nonnull(strstr(name, "Q0.mx"));
	assert_counts(md, 0, 1);
	ck_assert_int_eq(count_entries(tpath("a/b/Maildir/cur")), 0);
	assert_mode(tpath("a"));
	assert_mode(md);
	assert_mode(tpath("a/b/Maildir/tmp"));
	assert_mode(tpath("a/b/Maildir/new"));
	assert_mode(tpath("a/b/Maildir/cur"));
	maildir_free(&sp);
	ck_assert_ptr_null(sp);
}
END_TEST

/* The file name is <sec>.M<usec>P<pid>Q<n>.<host>,S=<size>. */
START_TEST(test_name_format)
{
	const char *md = tpath("Maildir");
	struct maildir_rcpt r = { "u@d", md, NULL };
	struct maildir_spool *sp;
	long long sec;
	long usec, pid;
	unsigned long q;
	char host[32];
	int size;

	seq = 41;
	ck_assert_int_eq(deliver(&sp, "", &r, 1, "x\n"), 0);
	ck_assert_int_eq(sscanf(strrchr(maildir_path(sp, 0), '/') + 1,
	    "%lld.M%ldP%ldQ%lu.%31[^,],S=%d", &sec, &usec, &pid, &q, host,
	    &size), 6);
	ck_assert(sec >= (long long)time(NULL) - 5 &&
	    sec <= (long long)time(NULL));
	ck_assert(usec >= 0 && usec < 1000000);
	ck_assert_int_eq(pid, (long)getpid());
	ck_assert_uint_eq(q, 41);
	ck_assert_uint_eq(seq, 42);
	ck_assert_str_eq(host, "mx");
	ck_assert_int_eq(size, (int)maildir_size(sp));
	maildir_free(&sp);
}
END_TEST

/* expect_copies - each rcpt's file: its own header lines, then body. */
static void
expect_copies(struct maildir_spool *sp, const struct maildir_rcpt *r,
    size_t n, const char *from, const char *body)
{
	size_t i, j, len;
	char *want;

	for (i = 0; i < n; i++) {
		len = strlen(from) + strlen(r[i].addr) + strlen(body) + 64;
		ck_assert_ptr_nonnull(want = malloc(len));
		snprintf(want, len, "Return-Path: <%s>\nDelivered-To: %s\n%s",
		    from, r[i].addr, body);
		assert_file(maildir_path(sp, i), want);
		free(want);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(maildir_path(sp, i),
			    maildir_path(sp, j));
	}
}

/* big_body - a body of n bytes, LF-terminated lines; free it. */
static char *
big_body(size_t n)
{
	char *b;
	size_t i;

	ck_assert_ptr_nonnull(b = malloc(n + 1));
	for (i = 0; i < n; i++)
		b[i] = i % 71 == 70 ? '\n' : (char)('a' + i * 7 % 26);
	b[n] = '\0';
	return b;
}

/* Three recipients, two Maildirs: three files, each its own header. */
START_TEST(test_three_rcpts)
{
	const char *a = tpath("A"), *b = tpath("B");
	struct maildir_rcpt r[] = {
		{ "one@example.org", a, NULL }, { "two@example.org", b, NULL },
		{ "three@example.org", a, NULL },
	};
	struct maildir_spool *sp;
	char *body = big_body(200000);

	ck_assert_int_eq(deliver(&sp, "", r, 3, body), 0);
	ck_assert_uint_eq(seq, 3);
	expect_copies(sp, r, 3, "", body);
	ck_assert_uint_eq(maildir_size(sp),
	    strlen("Return-Path: <>\nDelivered-To: one@example.org\n") +
	    200000);
	assert_counts(a, 0, 2);
	assert_counts(b, 0, 1);
	maildir_free(&sp);
	free(body);
}
END_TEST

/* A queue copy (first or second): no Return-Path/Delivered-To, and its
 * envelope in env/ under the same name as the message in new/. */
START_TEST(test_queue_copy)
{
	static const char body[] = "Received: x\n\nqueued\n";
	static const char env[] = "sender <a@example.org>\n"
	    "recipient <x@remote.example>\n";
	const char *local = tpath("L"), *queue = tpath("Q");
	struct maildir_rcpt r[] = {
		{ "u@example.org", local, NULL },
		{ "x@remote.example", queue, env },
	};
	struct maildir_spool *sp;
	char envpath[TEST_PATH], want[256];
	const char *qpath;
	size_t len;
	char *got;

	if (_i == 1) {		/* the queue copy first */
		struct maildir_rcpt t = r[0];

		r[0] = r[1];
		r[1] = t;
	}
	ck_assert_int_eq(deliver(&sp, "a@example.org", r, 2, body), 0);
	qpath = maildir_path(sp, _i == 1 ? 0 : 1);
	assert_file(qpath, body);
	snprintf(want, sizeof(want), "Return-Path: <a@example.org>\n"
	    "Delivered-To: u@example.org\n%s", body);
	assert_file(maildir_path(sp, _i == 1 ? 1 : 0), want);
	snprintf(envpath, sizeof(envpath), "%s/env/%s", queue,
	    strrchr(qpath, '/') + 1);
	got = slurp(envpath, &len);
	ck_assert_str_eq(got, env);
	free(got);
	assert_counts(queue, 0, 1);
	assert_counts(local, 0, 1);
	maildir_free(&sp);
	snprintf(envpath, sizeof(envpath), "%s/env", queue);
	ck_assert_int_eq(count_entries(envpath), 1);
}
END_TEST

/* The sink's copy of a whole transaction (no address): Return-Path:
 * alone, and its envelope (set after open) in env/ under its name. */
START_TEST(test_sink_copy)
{
	static const char body[] = "Received: x\n\nsunk\n";
	static const char env[] = "sender <a@example.org>\n"
	    "recipient <x@one.example>\nrecipient <y@two.example>\n";
	const char *sink = tpath("S");
	struct maildir_rcpt r = { NULL, sink, "" };
	struct maildir_spool *sp;
	char envpath[TEST_PATH], want[256];
	const char *path;
	size_t len;
	char *got;

	ck_assert_int_eq(maildir_open(&sp, "a@example.org", &r, 1, "mx", &seq),
	    0);
	ck_assert_int_eq(maildir_write(sp, body, strlen(body)), 0);
	maildir_set_envelope(sp, env);
	ck_assert_int_eq(maildir_commit(sp), 0);
	path = maildir_path(sp, 0);
	snprintf(want, sizeof(want), "Return-Path: <a@example.org>\n%s", body);
	assert_file(path, want);
	ck_assert_uint_eq(maildir_size(sp), strlen(want));
	snprintf(envpath, sizeof(envpath), "%s/env/%s", sink,
	    strrchr(path, '/') + 1);
	got = slurp(envpath, &len);
	ck_assert_str_eq(got, env);
	free(got);
	assert_counts(sink, 0, 1);
	maildir_free(&sp);
}
END_TEST

/*
 * maildir_reader sees the message (buffered bytes included) from after
 * the delivery lines; maildir_prepend puts header lines before it in
 * every copy, a queue copy too (first or second, _i), and leaves tmp/
 * with one file per copy until the commit.
 */
START_TEST(test_prepend)
{
	static const char body[] = "Received: x\n\nprepended\n";
	static const char hdrs[] = "X-Hook: yes\n";
	const char *local = tpath("L"), *queue = tpath("Q");
	struct maildir_rcpt r[] = {
		{ "u@example.org", local, NULL },
		{ "x@remote.example", queue, "sender <a@example.org>\n" },
	};
	struct maildir_spool *sp;
	char got[64], want[256];
	ssize_t n;
	int fd;

	if (_i == 1) {
		struct maildir_rcpt t = r[0];

		r[0] = r[1];
		r[1] = t;
	}
	ck_assert_int_eq(maildir_open(&sp, "a@example.org", r, 2, "mx", &seq),
	    0);
	ck_assert_int_eq(maildir_write(sp, body, strlen(body)), 0);
	ck_assert_int_ne(fd = maildir_reader(sp), -1);
	n = read(fd, got, sizeof(got) - 1);
	ck_assert_int_eq(n, (ssize_t)strlen(body));
	got[n] = '\0';
	ck_assert_str_eq(got, body);
	close(fd);
	ck_assert_int_eq(maildir_prepend(sp, hdrs, strlen(hdrs)), 0);
	ck_assert_int_eq(maildir_prepend(sp, "", 0), 0);
	ck_assert_int_eq(count_entries(tpath(_i == 1 ? "Q/tmp" : "L/tmp")),
	    1);
	ck_assert_int_eq(maildir_commit(sp), 0);
	snprintf(want, sizeof(want), "%s%s", hdrs, body);
	assert_file(maildir_path(sp, _i == 1 ? 0 : 1), want);
	snprintf(want, sizeof(want), "Return-Path: <a@example.org>\n"
	    "Delivered-To: u@example.org\n%s%s", hdrs, body);
	assert_file(maildir_path(sp, _i == 1 ? 1 : 0), want);
	ck_assert_uint_eq(maildir_size(sp), _i == 1 ?
	    strlen(hdrs) + strlen(body) : strlen(want));
	assert_counts(queue, 0, 1);
	assert_counts(local, 0, 1);
	maildir_free(&sp);
}
END_TEST

/*
 * A copy on another filesystem (tmpfs) takes the pread/write path after
 * copy_file_range() says EXDEV; without /dev/shm both share /tmp.
 */
START_TEST(test_other_fs)
{
	struct maildir_rcpt r[] = {
		{ "one@example.org", tpath("A"), NULL }, { "two@example.org", NULL, NULL },
	};
	struct maildir_spool *sp;
	char *body = big_body(300001);

	strcpy(shm_dir, "/dev/shm/check_maildir.XXXXXX");
	if (mkdtemp(shm_dir) == NULL)
		strcpy(shm_dir, tpath("B"));
	r[1].dir = shm_dir;
	ck_assert_int_eq(deliver(&sp, "s@example.net", r, 2, body), 0);
	expect_copies(sp, r, 2, "s@example.net", body);
	assert_counts(shm_dir, 0, 1);
	maildir_free(&sp);
	free(body);
}
END_TEST

/* pattern - byte i of the large body. */
static char
pattern(uint64_t i)
{
	return i % 67 == 66 ? '\n' : (char)('A' + (i / 67 + i) % 26);
}

/* assert_pattern - path is hdr followed by len pattern bytes. */
static void
assert_pattern(const char *path, const char *hdr, uint64_t len)
{
	char buf[8192], want[sizeof(buf)];
	uint64_t off = 0;
	size_t i, hlen = strlen(hdr);
	ssize_t n;
	int fd;

	ck_assert_int_ne(fd = open(path, O_RDONLY), -1);
	ck_assert_int_eq(read(fd, buf, hlen), (ssize_t)hlen);
	ck_assert_int_eq(memcmp(buf, hdr, hlen), 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < (size_t)n; i++)
			want[i] = pattern(off + i);
		ck_assert_int_eq(memcmp(buf, want, (size_t)n), 0);
		off += (uint64_t)n;
	}
	ck_assert_int_eq(n, 0);
	ck_assert_uint_eq(off, len);
	close(fd);
}

/* max_rss - the peak resident set of this process, in KiB. */
static long
max_rss(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

/* Several MiB in odd-sized pieces: same bytes, bounded memory. */
START_TEST(test_big_body)
{
	static const size_t piece[] = { 1, 7, 4093, 65535, 65536, 65537,
	    131071, 3, 200003 };
	const uint64_t total = 6 * 1024 * 1024 + 12345;
	struct maildir_rcpt r[] = {
		{ "a@example.org", tpath("A"), NULL },
		{ "b@example.org", tpath("B"), NULL },
	};
	static char chunk[200003];
	struct maildir_spool *sp;
	uint64_t off = 0;
	size_t i, k, n;
	long rss;

	ck_assert_int_eq(maildir_open(&sp, "s@x", r, 2, "mx", &seq), 0);
	memset(chunk, 'x', sizeof(chunk));
	rss = max_rss();
	for (k = 0; off < total; k++) {
		n = piece[k % (sizeof(piece) / sizeof(piece[0]))];
		n = total - off < n ? (size_t)(total - off) : n;
		for (i = 0; i < n; i++)
			chunk[i] = pattern(off + i);
		ck_assert_int_eq(maildir_write(sp, chunk, n), 0);
		off += n;
	}
	ck_assert_int_eq(maildir_commit(sp), 0);
	ck_assert_int_lt(max_rss() - rss, 1024);
	assert_pattern(maildir_path(sp, 0),
	    "Return-Path: <s@x>\nDelivered-To: a@example.org\n", total);
	assert_pattern(maildir_path(sp, 1),
	    "Return-Path: <s@x>\nDelivered-To: b@example.org\n", total);
	maildir_free(&sp);
}
END_TEST

/* Abort leaves tmp/ and new/ empty; abort and free are NULL-safe. */
START_TEST(test_abort)
{
	struct maildir_rcpt r[] = {
		{ "a@example.org", tpath("A"), NULL },
		{ "b@example.org", tpath("A"), NULL },
	};
	struct maildir_spool *sp;
	char *body = big_body(100000);

	ck_assert_int_eq(maildir_open(&sp, "s@x", r, 2, "mx", &seq), 0);
	ck_assert_int_eq(maildir_write(sp, body, 100000), 0);
	assert_counts(tpath("A"), 1, 0);
	maildir_abort(&sp);
	ck_assert_ptr_null(sp);
	assert_counts(tpath("A"), 0, 0);
	maildir_abort(&sp);
	maildir_free(&sp);
	free(body);
}
END_TEST

/* Bad arguments are refused before anything is created. */
START_TEST(test_bad_args)
{
	struct maildir_rcpt r = { "a@example.org", tpath("A"), NULL };
	struct maildir_rcpt evil = { "a@x\r\nBcc: b@y", tpath("A"), NULL };
	struct maildir_spool *sp;

	ck_assert_int_eq(maildir_open(&sp, "s@x", &r, 0, "mx", &seq), EINVAL);
	ck_assert_ptr_null(sp);
	ck_assert_int_eq(maildir_open(&sp, "s@x", &evil, 1, "mx", &seq),
	    EINVAL);
	ck_assert_int_eq(maildir_open(&sp, "s@x\nX: y", &r, 1, "mx", &seq),
	    EINVAL);
	ck_assert_ptr_null(sp);
	ck_assert_int_eq(count_entries(tdir), 0);
}
END_TEST

/* maildir_create: idempotent, and an errno when a file is in the way. */
START_TEST(test_create)
{
	ck_assert_int_eq(maildir_create(tpath("x/y/Maildir")), 0);
	ck_assert_int_eq(maildir_create(tpath("x/y/Maildir")), 0);
	assert_mode(tpath("x/y"));
	assert_mode(tpath("x/y/Maildir/cur"));
	ck_assert_int_ne(creat(tpath("file"), 0600), -1);
	ck_assert_int_eq(maildir_create(tpath("file/Maildir")), ENOTDIR);
}
END_TEST

/* as_other - maildir_check(dir, with_env) as another user: as nobody
 * (uid 65534) when root, else as ourselves (root would pass anything). */
static int
as_other(const char *dir, bool with_env)
{
	int err;

	if (geteuid() != 0)
		return maildir_check(dir, with_env);
	ck_assert_int_eq(setegid(65534), 0);
	ck_assert_int_eq(seteuid(65534), 0);
	err = maildir_check(dir, with_env);
	ck_assert_int_eq(seteuid(0), 0);
	ck_assert_int_eq(setegid(0), 0);
	return err;
}

/* give - dir to the user as_other() checks as, mode 0700. */
static void
give(const char *dir)
{
	if (geteuid() == 0)
		ck_assert_int_eq(chown(dir, 65534, 65534), 0);
	ck_assert_int_eq(chmod(dir, 0700), 0);
}

/*
 * maildir_check: tmp/ and new/ (and for the queue env/, or the Maildir
 * while env/ is missing) writable by the caller; a tmp/ or env/ made by
 * another user (root, when run as root; else mode 0500) is EACCES.
 */
START_TEST(test_check)
{
	const char *md = tpath("M");
	static const char *const subs[] = { "", "/tmp", "/new", "/cur" };
	char path[TEST_PATH];
	size_t i;

	ck_assert_int_eq(chmod(tdir, 0755), 0);
	ck_assert_int_eq(mkdir(md, 0700), 0);
	ck_assert_int_eq(maildir_check(md, false), ENOENT);
	ck_assert_int_eq(maildir_create(md), 0);
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", md, subs[i]);
		give(path);
	}
	ck_assert_int_eq(as_other(md, false), 0);
	ck_assert_int_eq(as_other(md, true), 0);	/* may make env/ */
	ck_assert_int_eq(mkdir(tpath("M/env"), 0700), 0);
	if (geteuid() != 0)
		ck_assert_int_eq(chmod(tpath("M/env"), 0500), 0);
	ck_assert_int_eq(as_other(md, false), 0);
	ck_assert_int_eq(as_other(md, true), EACCES);
	give(tpath("M/env"));
	ck_assert_int_eq(as_other(md, true), 0);
	ck_assert_int_eq(chown(tpath("M/tmp"), geteuid(), getegid()), 0);
	ck_assert_int_eq(chmod(tpath("M/tmp"), geteuid() == 0 ? 0700 : 0500),
	    0);
	ck_assert_int_eq(as_other(md, false), EACCES);
	ck_assert_int_eq(chmod(tpath("M/tmp"), 0700), 0);
}
END_TEST

/* was_synced - whether the directory path was fsynced since nsynced = 0. */
static bool
was_synced(const char *path)
{
	char real[TEST_PATH];
	int i;

	ck_assert_ptr_nonnull(realpath(path, real));
	for (i = 0; i < nsynced; i++)
		if (strcmp(synced[i], real) == 0)
			return true;
	return false;
}

/*
 * A new Maildir is durable before the commit returns: every directory
 * made, and the directory above each, fsynced -- and only when made:
 * the next message costs one fsync of new/.  _i 0 through open and
 * commit (the first recipient's and a second one's), 1 through
 * maildir_create.
 */
START_TEST(test_create_durable)
{
	static const char *const made[] = { "", "d", "d/u", "d/u/Maildir",
	    "d/u/Maildir/tmp", "d/u/Maildir/new", "d/u/Maildir/cur",
	    "e", "e/Maildir", "e/Maildir/tmp", "e/Maildir/new",
	    "e/Maildir/cur" };
	struct maildir_rcpt r[2] = { { "a@x", tpath("d/u/Maildir"), NULL },
	    { "b@x", tpath("e/Maildir"), NULL } };
	struct maildir_spool *sp;
	size_t i, n = _i == 0 ? 12 : 7;

	nsynced = 0;
	if (_i == 0)
		ck_assert_int_eq(deliver(&sp, "s@x", r, 2, "x\n"), 0);
	else
		ck_assert_int_eq(maildir_create(r[0].dir), 0);
	if (_i == 0)
		maildir_free(&sp);
	for (i = 0; i < n; i++)
		ck_assert_msg(was_synced(tpath("%s", made[i])),
		    "%s not fsynced", made[i]);
	nsynced = 0;
	if (_i == 1) {
		ck_assert_int_eq(maildir_create(r[0].dir), 0);
		ck_assert_int_eq(nsynced, 0);
		return;
	}
	ck_assert_int_eq(deliver(&sp, "s@x", r, 2, "y\n"), 0);
	maildir_free(&sp);
	ck_assert_int_eq(nsynced, 2);	/* the two new/, nothing else */
	ck_assert(was_synced(tpath("d/u/Maildir/new")));
	ck_assert(was_synced(tpath("e/Maildir/new")));
}
END_TEST

/*
 * A Maildir removed while the daemon runs is made again: _i 0, all of it
 * between two deliveries; 1, its new/ and cur/ between open and commit.
 */
START_TEST(test_recreate)
{
	struct maildir_rcpt r = { "a@x", tpath("A"), NULL };
	struct maildir_spool *sp;

	ck_assert_int_eq(deliver(&sp, "s@x", &r, 1, "x\n"), 0);
	maildir_free(&sp);
	if (_i == 0) {
		rm_rf(r.dir);
		ck_assert_int_eq(deliver(&sp, "s@x", &r, 1, "x\n"), 0);
	} else {
		ck_assert_int_eq(maildir_open(&sp, "s@x", &r, 1, "mx", &seq),
		    0);
		rm_rf(tpath("A/new"));
		rm_rf(tpath("A/cur"));
		ck_assert_int_eq(maildir_write(sp, "x\n", 2), 0);
		ck_assert_int_eq(maildir_commit(sp), 0);
	}
	assert_file(maildir_path(sp, 0), "Return-Path: <s@x>\n"
	    "Delivered-To: a@x\nx\n");
	maildir_free(&sp);
	assert_mode(tpath("A/tmp"));
	assert_mode(tpath("A/cur"));
	assert_counts(r.dir, 0, 1);	/* the first went with A or A/new */
}
END_TEST

/* limit_fsize - set RLIMIT_FSIZE (soft) and ignore SIGXFSZ. */
static void
limit_fsize(rlim_t max, struct rlimit *old)
{
	struct rlimit rl;

	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, old), 0);
	rl = *old;
	rl.rlim_cur = max;
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/* efbig_run - deliver with the file size limit; the first error. */
static int
efbig_run(const struct maildir_rcpt *r, rlim_t max, const char *body)
{
	struct maildir_spool *sp;
	struct rlimit old;
	size_t i, len = strlen(body);
	int err = 0;

	if (maildir_open(&sp, "s@x", r, 2, "mx", &seq) != 0)
		return -1;
	limit_fsize(max, &old);
	for (i = 0; i < len && err == 0; i += 1000)
		err = maildir_write(sp, body + i, len - i < 1000 ? len - i :
		    1000);
	if (err == 0) {
		err = maildir_commit(sp);
		if (maildir_path(sp, 0) != NULL)
			err = -2;
		maildir_free(&sp);
	} else {
		maildir_abort(&sp);
	}
	/* Check reports through a file: lift the limit before asserting. */
	setrlimit(RLIMIT_FSIZE, &old);
	return err;
}

/*
 * A full file system, simulated with RLIMIT_FSIZE: _i 0 fails in
 * maildir_write, _i 1 in commit (only the second copy, whose header is
 * longer, exceeds the limit; the first, already complete, goes too).
 */
START_TEST(test_efbig)
{
	struct maildir_rcpt r[] = {
		{ "a@x", tpath("A"), NULL }, { "much-longer@x", tpath("B"), NULL },
	};
	char *body = big_body(150000);
	rlim_t max;

	max = _i == 0 ? 4096 : strlen("Return-Path: <s@x>\nDelivered-To: "
	    "a@x\n") + 150000 + 1;
	ck_assert_int_eq(efbig_run(r, max, body), EFBIG);
	assert_counts(tpath("A"), 0, 0);
	assert_counts(tpath("B"), 0, 0);
	free(body);
}
END_TEST

/* A failed move into new/ takes back the copies already moved. */
START_TEST(test_rollback_new)
{
	struct maildir_rcpt r[] = {
		{ "a@x", tpath("A"), NULL }, { "b@x", tpath("B"), NULL },
	};
	struct maildir_spool *sp;

	ck_assert_int_eq(maildir_create(tpath("A")), 0);
	ck_assert_int_eq(mkdir(tpath("B"), 0700), 0);
	ck_assert_int_eq(mkdir(tpath("B/tmp"), 0700), 0);
	ck_assert_int_ne(creat(tpath("B/new"), 0600), -1);
	ck_assert_int_eq(deliver(&sp, "s@x", r, 2, "x\n"), ENOTDIR);
	ck_assert_ptr_null(maildir_path(sp, 0));
	ck_assert_ptr_null(maildir_path(sp, 1));
	maildir_free(&sp);
	assert_counts(tpath("A"), 0, 0);
	ck_assert_int_eq(count_entries(tpath("B/tmp")), 0);
}
END_TEST

/* put_file - create path holding "precious". */
static void
put_file(const char *path)
{
	int fd;

	ck_assert_int_ne(fd = creat(path, 0600), -1);
	ck_assert_int_eq(write(fd, "precious", 8), 8);
	close(fd);
}

/* name_at - the name of Q0 at fake time usec (suffix appended). */
static const char *
name_at(const char *sub, long usec, const char *suffix)
{
	return tpath("A/%s/1000000000.M%ldP%ldQ0.mx%s", sub, usec,
	    (long)getpid(), suffix);
}

/*
 * Existing names are never overwritten: _i 0, a tmp/ name in use is
 * retried (1 µs later); 1, the new/ name in use fails the commit;
 * 2, every name tried is in use.
 */
START_TEST(test_no_overwrite)
{
	struct maildir_rcpt r = { "a@x", tpath("A"), NULL };
	struct maildir_spool *sp = NULL;
	const char *taken = _i == 1 ? name_at("new", 5, ",S=39") :
	    name_at("tmp", 5, "");
	static const int ntmp[] = { 1, 0, 5 }, nnew[] = { 1, 1, 0 };
	size_t len;
	char *got;
	long k;
	int err;

	ck_assert_int_eq(maildir_create(r.dir), 0);
	put_file(taken);
	for (k = 6; _i == 2 && k < 10; k++)
		put_file(name_at("tmp", k, ""));
	fake_now.tv_sec = 1000000000;
	fake_now.tv_nsec = 5000;
	fake_clock = true;
	err = deliver(&sp, "s@x", &r, 1, "x\n");
	fake_clock = false;
	ck_assert_int_eq(err, _i == 0 ? 0 : EEXIST);
	if (_i == 0)
		ck_assert_str_eq(maildir_path(sp, 0),
		    name_at("new", 6, ",S=39"));
	maildir_free(&sp);
	got = slurp(taken, &len);
	ck_assert_str_eq(got, "precious");
	free(got);
	assert_counts(r.dir, ntmp[_i], nnew[_i]);
}
END_TEST

/* group_commit - a thread's commit. */
static void *
group_commit(void *arg)
{
	return (void *)(intptr_t)maildir_commit(arg);
}

/*
 * Group commit: 8 commits into one Maildir at once, the first directory
 * fsync held back until all have linked, share the fsyncs of new/: fewer
 * than 8 (one each before), and every message is in new/.
 */
START_TEST(test_group_sync)
{
	struct maildir_rcpt r = { "a@x", tpath("A"), NULL };
	struct maildir_spool *sp[8];
	pthread_t th[8];
	unsigned long q = 0;
	void *ret;
	int i, syncs;

	ck_assert_int_eq(maildir_create(r.dir), 0);
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(maildir_open(&sp[i], "s@x", &r, 1, "mx", &q),
		    0);
		ck_assert_int_eq(maildir_write(sp[i], "x\n", 2), 0);
	}
	group_n = 8;
	atomic_store(&group_hold, true);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, group_commit,
		    sp[i]), 0);
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(pthread_join(th[i], &ret), 0);
		ck_assert_int_eq((int)(intptr_t)ret, 0);
	}
	atomic_store(&group_hold, false);
	syncs = atomic_load(&group_dir_syncs);
	ck_assert_int_ge(syncs, 1);
	ck_assert_int_lt(syncs, 8);
	assert_counts(r.dir, 0, 8);
	for (i = 0; i < 8; i++)
		maildir_free(&sp[i]);
}
END_TEST

/* 1000 deliveries into one Maildir: 1000 names (link never replaces). */
START_TEST(test_unique)
{
	struct maildir_rcpt r = { "a@x", tpath("A"), NULL };
	struct maildir_spool *sp;
	int i;

	for (i = 0; i < 1000; i++) {
		ck_assert_int_eq(deliver(&sp, "s@x", &r, 1, "x\n"), 0);
		maildir_free(&sp);
	}
	ck_assert_uint_eq(seq, 1000);
	assert_counts(tpath("A"), 0, 1000);
}
END_TEST

static const struct {
	const char	*tmpl, *local, *domain;
	size_t		 outlen;
	const char	*want;		/* NULL: -1 */
} expand_cases[] = {
	{ "/var/mail/%d/%u", "Bob", "Example.ORG", 64,
	    "/var/mail/example.org/bob" },
	{ "/srv/%u@%d/Maildir", "b.c", "x.y", 64, "/srv/b.c@x.y/Maildir" },
	{ "/plain/Maildir", "bob", "x", 64, "/plain/Maildir" },
	{ "100%%/%u", "bob", "x", 64, "100%/bob" },
	{ "%%%u%%", "bob", "x", 64, "%bob%" },
	{ "%%u", "bob", "x", 64, "%u" },
	{ "/m/%u", "\xc3\x84Z", "x", 64, "/m/\xc3\xa4z" },	/* ÄZ: äz */
	/* %d and %u are one safe component each, whatever they hold */
	{ "/m/%d/%u", "x", "[x:/../../y]", 64, "/m/[x:%2F..%2F..%2Fy]/x" },
	{ "/m/%d/%u", "..", "[IPv6:::1]", 64, "/m/[ipv6:::1]/%2E." },
	{ "/m/%d/%u", ".", "..", 64, "/m/%2E./%2E" },
	{ "/m/%u/Maildir", ".hidden", "x", 64, "/m/%2Ehidden/Maildir" },
	{ "x/%d/y/%u/Maildir", "a/../../b", "a/b", 64,
	    "x/a%2Fb/y/a%2F..%2F..%2Fb/Maildir" },
	{ "/m/%u", "%2f", "x", 64, "/m/%252f" },
	{ "/m/%u", "a\x01\x7f" "b", "x", 64, "/m/a%01%7Fb" },
	{ "/m/%u", "\xff\xfe", "x", 64, "/m/%FF%FE" },
	{ "/m/%u", "J\xc3\x96S\xc3\x89", "x", 64, "/m/j\xc3\xb6s\xc3\xa9" },
	{ "/m/%u", "JO\xcc\x88SE\xcc\x81", "x", 64,
	    "/m/j\xc3\xb6s\xc3\xa9" },
	{ "/m/%d", "x", "EX\xc3\x84MPLE.Test", 64, "/m/xn--exmple-cua.test" },
	{ "/m/%d", "x", "xn--EXMPLE-cua.test", 64, "/m/xn--exmple-cua.test" },
	{ "/m/%u", "", "x", 64, NULL },
	{ "/m/%d", "x", "", 64, NULL },
	{ "/m/%u", "%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%"
	    "%%%%%%%%%%%%%%%%%%%%%%%%%%%%", "x", 512, NULL },	/* 86 x 3 */
	{ "", "bob", "x", 1, "" },
	{ "/m/%u", "bob", "x", 7, "/m/bob" },
	{ "/m/%u", "bob", "x", 6, NULL },
	{ "/m/%d", "bob", "abc", 6, NULL },
	{ "/plain", "bob", "x", 6, NULL },
	{ "/plain", "bob", "x", 0, NULL },
	{ "/x/%x", "bob", "x", 64, NULL },
	{ "/x/%U", "bob", "x", 64, NULL },
	{ "/x/%", "bob", "x", 64, NULL },
	{ "/x/%/", "bob", "x", 64, NULL },
};

/* idn_expand table (the Maildir template); bytes past outlen are never written. */
START_TEST(test_expand)
{
	char out[600];
	size_t i;
	int r;

	memset(out, 'Z', sizeof(out));
	r = idn_expand(expand_cases[_i].tmpl, expand_cases[_i].local,
	    expand_cases[_i].domain, false, out, expand_cases[_i].outlen);
	if (expand_cases[_i].want == NULL) {
		ck_assert_int_eq(r, -1);
	} else {
		ck_assert_int_eq(r, 0);
		ck_assert_str_eq(out, expand_cases[_i].want);
	}
	for (i = expand_cases[_i].outlen; i < sizeof(out); i++)
		ck_assert_int_eq(out[i], 'Z');
}
END_TEST

/* age_file - create path (a regular file) with mtime t. */
static void
age_file(const char *path, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	int fd;

	ck_assert_int_ne(fd = creat(path, 0600), -1);
	close(fd);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* aged_maildir - a Maildir at rel with one old and one recent tmp file. */
static void
aged_maildir(const char *rel, time_t now)
{
	ck_assert_int_eq(maildir_create(tpath("%s", rel)), 0);
	age_file(tpath("%s/tmp/old", rel), now - MAILDIR_TMP_MAX_AGE - 1);
	age_file(tpath("%s/tmp/recent", rel), now - 60);
}

/* maildir_clean_tmp: old regular files in tmp/ go, nothing else. */
START_TEST(test_clean_tmp)
{
	struct timespec ts[2];
	time_t now = time(NULL);
	const char *md = tpath("M");

	aged_maildir("M", now);
	age_file(tpath("M/tmp/old2"), now - 10 * MAILDIR_TMP_MAX_AGE);
	age_file(tpath("M/tmp/edge"), now - MAILDIR_TMP_MAX_AGE);
	age_file(tpath("M/new/old"), now - 10 * MAILDIR_TMP_MAX_AGE);
	ck_assert_int_eq(mkdir(tpath("M/tmp/dir"), 0700), 0);
	ts[0].tv_sec = ts[1].tv_sec = now - 10 * MAILDIR_TMP_MAX_AGE;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	ck_assert_int_eq(utimensat(AT_FDCWD, tpath("M/tmp/dir"), ts, 0), 0);
	ck_assert_int_eq(maildir_clean_tmp(md, now, MAILDIR_TMP_MAX_AGE), 2);
	ck_assert_int_eq(access(tpath("M/tmp/recent"), F_OK), 0);
	ck_assert_int_eq(access(tpath("M/tmp/edge"), F_OK), 0);
	ck_assert_int_eq(access(tpath("M/tmp/dir"), F_OK), 0);
	assert_counts(md, 3, 1);
	ck_assert_int_eq(maildir_clean_tmp(md, now, MAILDIR_TMP_MAX_AGE), 0);
	ck_assert_int_eq(maildir_clean_tmp(tpath("none"), now, 1), -1);
}
END_TEST

/* maildir_clean_template over two domains and their users. */
START_TEST(test_clean_template)
{
	static char d1[] = "a.example", d2[] = "B.Example", d3[] = "c.example";
	char *domains[] = { d1, d2, d3 };
	time_t now = time(NULL), age = MAILDIR_TMP_MAX_AGE;
	char tmpl[TEST_PATH];

	aged_maildir("a.example/alice/Maildir", now);
	aged_maildir("a.example/bob/Maildir", now);
	aged_maildir("a.example/.hidden/Maildir", now);
	ck_assert_int_eq(mkdir(tpath("a.example/nomail"), 0700), 0);
	aged_maildir("b.example/carol/Maildir", now);
	snprintf(tmpl, sizeof(tmpl), "%s/%%d/%%u/Maildir", tdir);
	ck_assert_int_eq(maildir_clean_template(tmpl, domains, 3, now, age), 3);
	ck_assert_int_eq(maildir_clean_template(tmpl, domains, 3, now, age), 0);
	assert_counts(tpath("a.example/alice/Maildir"), 1, 0);
	assert_counts(tpath("a.example/.hidden/Maildir"), 2, 0);
	assert_counts(tpath("b.example/carol/Maildir"), 1, 0);

	aged_maildir("x/a.example/dave.mail", now);
	aged_maildir("x/a.example/erin", now);
	snprintf(tmpl, sizeof(tmpl), "%s/x/%%d/%%u.mail", tdir);
	ck_assert_int_eq(maildir_clean_template(tmpl, domains, 3, now, age), 1);
	assert_counts(tpath("x/a.example/erin"), 2, 0);

	aged_maildir("users/frank", now);
	snprintf(tmpl, sizeof(tmpl), "%s/users/%%u", tdir);
	ck_assert_int_eq(maildir_clean_template(tmpl, domains, 3, now, age), 1);
	aged_maildir("single", now);
	snprintf(tmpl, sizeof(tmpl), "%s/single", tdir);
	ck_assert_int_eq(maildir_clean_template(tmpl, NULL, 0, now, age), 1);
}
END_TEST

/* maildir_suite - the test cases; the RLIMIT one only when forking. */
static Suite *
maildir_suite(TCase **fail_out)
{
	Suite *s = suite_create("maildir");
	TCase *tc;

	tc = tcase_create("deliver");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_one_rcpt, 0, 2);
	tcase_add_test(tc, test_name_format);
	tcase_add_test(tc, test_three_rcpts);
	tcase_add_loop_test(tc, test_queue_copy, 0, 2);
	tcase_add_test(tc, test_sink_copy);
	tcase_add_loop_test(tc, test_prepend, 0, 2);
	tcase_add_test(tc, test_other_fs);
	tcase_add_test(tc, test_big_body);
	tcase_add_test(tc, test_unique);
	tcase_add_test(tc, test_group_sync);
	suite_add_tcase(s, tc);

	tc = tcase_create("failure");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_abort);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_create);
	tcase_add_test(tc, test_check);
	tcase_add_loop_test(tc, test_create_durable, 0, 2);
	tcase_add_loop_test(tc, test_recreate, 0, 2);
	tcase_add_test(tc, test_rollback_new);
	tcase_add_loop_test(tc, test_no_overwrite, 0, 3);
	suite_add_tcase(s, tc);
	*fail_out = tc;

	tc = tcase_create("names");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_expand, 0,
	    sizeof(expand_cases) / sizeof(expand_cases[0]));
	tcase_add_test(tc, test_clean_tmp);
	tcase_add_test(tc, test_clean_template);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	TCase *fail;
	int nfailed;

	sr = srunner_create(maildir_suite(&fail));
	/* RLIMIT_FSIZE and SIGXFSZ must stay in a forked child. */
	if (srunner_fork_status(sr) != CK_NOFORK)
		tcase_add_loop_test(fail, test_efbig, 0, 2);
	srunner_run_all(sr, CK_ENV);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed ? EXIT_FAILURE : EXIT_SUCCESS;
}
