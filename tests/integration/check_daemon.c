/* SPDX-License-Identifier: ISC */
/*
 * check_daemon - integration tests against the real inletd.
 * Each test starts server/inletd -d -R 3 with a temporary config on
 * 127.0.0.1 port 0 and a temporary Maildir, learns the bound port from
 * the -R report, talks SMTP over loopback with raw sockets, and checks
 * the files delivered.  Every transcript in tests/chat/ (except the
 * fake-* ones, which need the fake spool) is replayed here too.
 * All waits are bounded (poll with a timeout); nothing asserts timing.
 */
#define _XOPEN_SOURCE 700	/* nftw */

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "chat.h"

#define WAIT_MS		10000	/* upper bound for any single wait */

/* argv words (execv takes char *const[]) */
static char a_daemon[] = DAEMON_PATH;
static char a_d[] = "-d", a_c[] = "-c", a_o[] = "-o", a_r[] = "-R";
static char a_3[] = "3", a_n[] = "-n", a_sink[] = "--sink";

struct daemon {
	pid_t	pid;
	int	port;
	char	dir[256];
	char	maildir[300];
	char	log[300];
};

/* A throwaway certificate made by main() with openssl req. */
static char tls_dir[] = "/tmp/inlet-tls-XXXXXX";
static char tls_cert[64], tls_key[64], sasldb[64];

struct client {
	int	fd;
	SSL_CTX	*ctx;
	SSL	*ssl;
	char	buf[65536];
	size_t	len;
	bool	eof;
	struct daemon *d;
};

/* write_file - create path with text. */
static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	ck_assert_int_ge(fputs(text, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
}

/* read_report - parse the -R report up to "ready"; returns the port. */
static int
read_report(int fd)
{
	char buf[4096], *p;
	size_t len = 0;
	struct pollfd pfd = { fd, POLLIN, 0 };
	ssize_t n;
	int port = -1;

	while (len < sizeof(buf) - 1 && poll(&pfd, 1, WAIT_MS) == 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "ready\n") != NULL)
			break;
	}
	buf[len] = '\0';
	p = strstr(buf, "listen 127.0.0.1:");
	if (p != NULL && strstr(buf, "ready\n") != NULL)
		port = atoi(p + strlen("listen 127.0.0.1:"));
	return port;
}

/* daemon_mkdir - the temp dir every daemon of a test lives in. */
static void
daemon_mkdir(struct daemon *d)
{
	memset(d, 0, sizeof(*d));
	(void)snprintf(d->dir, sizeof(d->dir), "/tmp/inlet-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d->dir));
	(void)snprintf(d->log, sizeof(d->log), "%s/inletd.log", d->dir);
}

/*
 * daemon_exec - run argv (plus "-R 3") with stderr in d->log and stdout
 * in DIR/stdout; wait for the ready report and learn the port.
 */
static void
daemon_exec(struct daemon *d, char **argv, rlim_t fsize_limit)
{
	char out[320];
	int pfd[2];
	size_t argc;

	for (argc = 0; argv[argc] != NULL; argc++)
		;
	argv[argc++] = a_r;
	argv[argc++] = a_3;
	argv[argc] = NULL;
	(void)snprintf(out, sizeof(out), "%s/stdout", d->dir);
	ck_assert_int_eq(pipe(pfd), 0);
	d->pid = fork();
	ck_assert_int_ge(d->pid, 0);
	if (d->pid == 0) {
		int logfd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int outfd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		struct rlimit rl = { fsize_limit, fsize_limit };

		/* never outlive the test, whatever happens to it */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (fsize_limit > 0) {
			(void)signal(SIGXFSZ, SIG_IGN);
			(void)setrlimit(RLIMIT_FSIZE, &rl);
		}
		(void)dup2(pfd[1], 3);
		(void)dup2(logfd, 2);
		(void)dup2(outfd, 1);
		(void)execv(DAEMON_PATH, argv);
		_exit(127);
	}
	(void)close(pfd[1]);
	d->port = read_report(pfd[0]);
	(void)close(pfd[0]);
	if (d->port <= 0)
		ck_abort_msg("inletd did not report ready (see %s)", d->log);
}

/*
 * daemon_start - a fresh daemon.  conf is appended to the base config
 * (hostname mx.test, domains example.test example.org, catch-all Maildir
 * in the temp dir); ov are -o overrides.  fsize_limit > 0 sets
 * RLIMIT_FSIZE in the daemon (disk-full simulation).
 */
static void
daemon_start_tmpl(struct daemon *d, const char *tmpl, const char *conf,
    char *const *ov, size_t nov, rlim_t fsize_limit)
{
	char path[320], text[4096];
	char *argv[64];
	size_t i, argc = 0;

	daemon_mkdir(d);
	(void)snprintf(d->maildir, sizeof(d->maildir), "%s/%s", d->dir,
	    tmpl != NULL ? tmpl : "Maildir");
	(void)snprintf(path, sizeof(path), "%s/inlet.conf", d->dir);
	(void)snprintf(text, sizeof(text), "hostname mx.test\n"
	    "listen 127.0.0.1:0 mx\ndomains example.test example.org\n"
	    "maildir %s\ntls_cert %s\ntls_key %s\nsasl_db %s\n%s", d->maildir,
	    tls_cert, tls_key, sasldb, conf != NULL ? conf : "");
	write_file(path, text);
	argv[argc++] = a_daemon;
	argv[argc++] = a_d;
	argv[argc++] = a_c;
	argv[argc++] = path;
	for (i = 0; i < nov && argc < 60; i++) {
		argv[argc++] = a_o;
		argv[argc++] = ov[i];
	}
	argv[argc] = NULL;
	daemon_exec(d, argv, fsize_limit);
}

/* daemon_start - daemon_start_tmpl with the catch-all DIR/Maildir. */
static void
daemon_start(struct daemon *d, const char *conf, char *const *ov, size_t nov,
    rlim_t fsize_limit)
{
	daemon_start_tmpl(d, NULL, conf, ov, nov, fsize_limit);
}

/* rm_cb - nftw callback removing everything. */
static int
rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

/* daemon_stop_keep - SIGTERM and a bounded wait; the exit status. */
static int
daemon_stop_keep(struct daemon *d)
{
	int status = -1, i;

	(void)kill(d->pid, SIGTERM);
	for (i = 0; i < WAIT_MS / 10; i++) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid)
			break;
		(void)usleep(10000);
	}
	if (i == WAIT_MS / 10) {
		(void)kill(d->pid, SIGKILL);
		(void)waitpid(d->pid, &status, 0);
	}
	return status;
}

/* daemon_stop - daemon_stop_keep, then the temp dir goes. */
static int
daemon_stop(struct daemon *d)
{
	int status = daemon_stop_keep(d);

	(void)nftw(d->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return status;
}

/* count_files - regular files in dir (-1 if it cannot be read). */
static long
count_files(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	long n = 0;

	if (dp == NULL)
		return -1;
	while ((de = readdir(dp)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	(void)closedir(dp);
	return n;
}

/* maildir_new_count - files in a Maildir's new/ (0 if it is absent). */
static long
maildir_new_count(const char *maildir)
{
	char p[512];
	long n;

	(void)snprintf(p, sizeof(p), "%s/new", maildir);
	n = count_files(p);
	return n < 0 ? 0 : n;
}

/* client_connect - a TCP connection to the daemon. */
static void
client_connect(struct client *c, struct daemon *d)
{
	struct sockaddr_in sin;

	memset(c, 0, sizeof(*c));
	c->d = d;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(c->fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)d->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&sin,
	    sizeof(sin)), 0);
}

/* client_fill - read more bytes (bounded wait); 0 on EOF/timeout. */
static int
client_fill(struct client *c)
{
	struct pollfd pfd = { c->fd, POLLIN, 0 };
	ssize_t n;

	if (c->eof || c->len >= sizeof(c->buf))
		return 0;
	if ((c->ssl == NULL || SSL_pending(c->ssl) == 0) &&
	    poll(&pfd, 1, WAIT_MS) != 1)
		return 0;
	if (c->ssl != NULL)
		n = SSL_read(c->ssl, c->buf + c->len,
		    (int)(sizeof(c->buf) - c->len));
	else
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n <= 0) {
		c->eof = true;
		return 0;
	}
	c->len += (size_t)n;
	return 1;
}

/* io_send - chat_io.send: all bytes, blocking. */
static int
io_send(void *ctx, const char *data, size_t len)
{
	struct client *c = ctx;
	ssize_t n;

	while (len > 0) {
		if (c->ssl != NULL)
			n = SSL_write(c->ssl, data, (int)len);
		else
			n = send(c->fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* reply_end - length of the first complete reply in buf, or 0. */
static size_t
reply_end(const char *buf, size_t len)
{
	size_t off = 0;
	const char *nl;

	while (off < len && (nl = memchr(buf + off, '\n', len - off))) {
		size_t ll = (size_t)(nl - (buf + off)) + 1;

		if (ll < 6 || buf[off + 3] == ' ')
			return off + ll;
		off += ll;
	}
	return 0;
}

/* io_reply - chat_io.reply: lines joined by \n, without CR. */
static int
io_reply(void *ctx, char *out, size_t outlen)
{
	struct client *c = ctx;
	size_t end, i, o = 0;

	while ((end = reply_end(c->buf, c->len)) == 0)
		if (!client_fill(c))
			return c->eof && c->len == 0 ? 0 : -1;
	for (i = 0; i < end && o + 1 < outlen; i++)
		if (c->buf[i] != '\r')
			out[o++] = c->buf[i];
	if (o > 0 && out[o - 1] == '\n')
		o--;
	out[o] = '\0';
	memmove(c->buf, c->buf + end, c->len - end);
	c->len -= end;
	return 1;
}

/*
 * io_starttls - the client side of a TLS handshake on the connection
 * (blocking, bounded by SO_RCVTIMEO).  Bytes already buffered from the
 * server before it would be a protocol error: there must be none.
 */
static int
io_starttls(void *ctx)
{
	struct client *c = ctx;
	struct timeval tv = { WAIT_MS / 1000, 0 };

	if (c->len != 0)
		return -1;
	(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	c->ctx = SSL_CTX_new(TLS_client_method());
	c->ssl = SSL_new(c->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
	    SSL_connect(c->ssl) != 1) {
		ERR_print_errors_fp(stderr);
		return -1;
	}
	return 0;
}

/* client_close - end the connection (and its TLS state). */
static void
client_close(struct client *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	c->ssl = NULL;
	c->ctx = NULL;
	(void)close(c->fd);
}

static long
io_maildir_count(void *ctx)
{
	struct client *c = ctx;

	return maildir_new_count(c->d->maildir);
}

/* io_is_closed - EOF with nothing unread. */
static int
io_is_closed(void *ctx)
{
	struct client *c = ctx;

	while (!c->eof && client_fill(c))
		;
	return c->eof && c->len == 0;
}

static const struct chat_io daemon_io = {
	io_send, io_reply, io_starttls, io_maildir_count, io_is_closed,
};

/* expect - read one reply and check that it matches. */
static void
expect(struct client *c, const char *want)
{
	char reply[CHAT_REPLY_MAX];

	ck_assert_int_eq(io_reply(c, reply, sizeof(reply)), 1);
	if (!chat_reply_matches(reply, want))
		ck_abort_msg("expected \"%s\", got \"%s\"", want, reply);
}

/* say - send one command line. */
static void
say(struct client *c, const char *line)
{
	ck_assert_int_eq(io_send(c, line, strlen(line)), 0);
	ck_assert_int_eq(io_send(c, "\r\n", 2), 0);
}

static char **chat_files;
static size_t nchat_files;

/* test_chat - replay one transcript against a fresh daemon. */
START_TEST(test_chat)
{
	struct chat *c = chat_load(chat_files[_i]);
	struct daemon d;
	struct client cl;
	char err[CHAT_REPLY_MAX + 512], apath[400], aconf[420];
	int rc;

	ck_assert_ptr_nonnull(c);
	if (c->aliases != NULL) {	/* the file beside the sasldb */
		(void)snprintf(apath, sizeof(apath), "%s.aliases.%ld", sasldb,
		    (long)getpid());
		write_file(apath, c->aliases);
		(void)snprintf(aconf, sizeof(aconf), "aliases %s\n", apath);
	}
	daemon_start(&d, c->aliases != NULL ? aconf : NULL, c->overrides,
	    c->noverrides, 0);
	client_connect(&cl, &d);
	rc = chat_run(c, &daemon_io, &cl, err, sizeof(err));
	client_close(&cl);
	ck_assert_int_eq(daemon_stop(&d), 0);
	if (c->aliases != NULL)
		(void)unlink(apath);
	if (rc != 0)
		ck_abort_msg("%s", err);
	chat_free(c);
}
END_TEST

/* begin_tx - EHLO (once), MAIL FROM and one RCPT, all accepted. */
static void
begin_tx(struct client *c, bool ehlo, const char *rcpt)
{
	char line[512];

	if (ehlo) {
		expect(c, "220 ");
		say(c, "EHLO client.test");
		expect(c, "250 PIPELINING");
	}
	say(c, "MAIL FROM:<sender@example.net>");
	expect(c, "250 2.1.0");
	(void)snprintf(line, sizeof(line), "RCPT TO:<%s>", rcpt);
	say(c, line);
	expect(c, "250 2.1.5");
}

/* file_contains - whether the only file in dir contains text. */
static bool
file_contains(const char *dir, const char *text)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	char path[1024], buf[65536];
	bool found = false;
	FILE *fp;
	size_t n;

	if (dp == NULL)
		return false;
	while (!found && (de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		buf[n] = '\0';
		found = strstr(buf, text) != NULL;
		(void)fclose(fp);
	}
	(void)closedir(dp);
	return found;
}

/* test_hundred_rcpts - 100 recipients, per-recipient Maildirs, each its
 * own copy with its own Delivered-To (no Bcc leak). */
START_TEST(test_hundred_rcpts)
{
	char line[128], dir[600];
	struct daemon d;
	struct client c;
	int i;

	daemon_start_tmpl(&d, "%d/%u", NULL, NULL, 0, 0);
	client_connect(&c, &d);
	begin_tx(&c, true, "u0@example.test");
	for (i = 1; i < 100; i++) {
		(void)snprintf(line, sizeof(line), "RCPT TO:<U%d@Example.Test>",
		    i);
		say(&c, line);
		expect(&c, "250 2.1.5");
	}
	say(&c, "RCPT TO:<u100@example.test>");
	expect(&c, "452 4.5.3");
	say(&c, "DATA");
	expect(&c, "354");
	say(&c, "Subject: many\r\n\r\nhello\r\n.");
	expect(&c, "250 2.0.0 Ok: queued as");
	for (i = 0; i < 100; i++) {
		(void)snprintf(dir, sizeof(dir), "%s/example.test/u%d/new",
		    d.dir, i);
		ck_assert_int_eq(count_files(dir), 1);
		(void)snprintf(line, sizeof(line), "Delivered-To: %c%d@"
		    "example.test\n", i == 0 ? 'u' : 'U', i);
		if (!file_contains(dir, line))
			ck_abort_msg("%s lacks %s", dir, line);
		if (i > 0 && file_contains(dir, "Delivered-To: u0@"))
			ck_abort_msg("%s shows another recipient", dir);
	}
	say(&c, "QUIT");
	expect(&c, "221");
	client_close(&c);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/* wait_empty - bounded wait until dir has no files; its final count. */
static long
wait_empty(const char *dir)
{
	long n = count_files(dir);
	int i;

	for (i = 0; i < WAIT_MS / 10 && n > 0; i++) {
		(void)usleep(10000);
		n = count_files(dir);
	}
	return n;
}

/* test_disconnect_mid_data - a client that vanishes mid-DATA leaves
 * nothing in new/ or tmp/, and the daemon goes on serving. */
START_TEST(test_disconnect_mid_data)
{
	char tmp[512];
	struct daemon d;
	struct client c;

	daemon_start(&d, NULL, NULL, 0, 0);
	client_connect(&c, &d);
	begin_tx(&c, true, "u@example.test");
	say(&c, "DATA");
	expect(&c, "354");
	say(&c, "Subject: cut\r\n\r\nhalf a message");
	client_close(&c);
	(void)snprintf(tmp, sizeof(tmp), "%s/tmp", d.maildir);
	ck_assert_int_eq(wait_empty(tmp), 0);
	ck_assert_int_eq(maildir_new_count(d.maildir), 0);
	client_connect(&c, &d);
	begin_tx(&c, true, "u@example.test");
	say(&c, "DATA");
	expect(&c, "354");
	say(&c, "Subject: whole\r\n\r\nall of it\r\n.");
	expect(&c, "250 2.0.0");
	ck_assert_int_eq(maildir_new_count(d.maildir), 1);
	client_close(&c);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/* test_traversal - local parts that could leave the Maildir tree are
 * refused at RCPT and create nothing. */
START_TEST(test_traversal)
{
	static const char *const bad[] = {
		"RCPT TO:<\"../../etc\"@example.test>",
		"RCPT TO:<a/b@example.test>",
		"RCPT TO:<\"..\"@example.test>",
		"RCPT TO:<\"x\\/y\"@example.test>",
	};
	struct daemon d;
	struct client c;
	size_t i;

	daemon_start_tmpl(&d, "%d/%u", NULL, NULL, 0, 0);
	client_connect(&c, &d);
	begin_tx(&c, true, "ok@example.test");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		say(&c, bad[i]);
		expect(&c, "553 5.1.3");
	}
	say(&c, "RCPT TO:<x@../../etc>");
	expect(&c, "501 5.1.3");
	say(&c, "DATA");
	expect(&c, "354");
	say(&c, "hi\r\n.");
	expect(&c, "250 2.0.0");
	/* only example.test/ok exists below the temp dir's Maildir root */
	{
		char p[600];

		(void)snprintf(p, sizeof(p), "%s/example.test", d.dir);
		ck_assert_int_eq(count_files(p), 1);
		ck_assert_int_eq(count_files(d.dir), 4);  /* conf log stdout dom */
	}
	client_close(&c);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/* test_idle_timeout - command_timeout expires: 421 4.4.2, closed. */
START_TEST(test_idle_timeout)
{
	char ov0[] = "command_timeout=1s";
	char *ov[] = { ov0 };
	struct daemon d;
	struct client c;

	daemon_start(&d, NULL, ov, 1, 0);
	client_connect(&c, &d);
	expect(&c, "220");
	expect(&c, "421 4.4.2 mx.test Error: timeout exceeded");
	ck_assert_int_eq(io_is_closed(&c), 1);
	client_close(&c);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/* test_per_ip_limit - the N+1th connection from one address: 421. */
START_TEST(test_per_ip_limit)
{
	char ov0[] = "max_connections_per_ip=2";
	char *ov[] = { ov0 };
	struct daemon d;
	struct client c1, c2, c3;

	daemon_start(&d, NULL, ov, 1, 0);
	client_connect(&c1, &d);
	expect(&c1, "220");
	client_connect(&c2, &d);
	expect(&c2, "220");
	client_connect(&c3, &d);
	expect(&c3, "421 4.7.0 mx.test Error: too many connections");
	ck_assert_int_eq(io_is_closed(&c3), 1);
	say(&c1, "QUIT");
	expect(&c1, "221");
	client_close(&c1);
	client_close(&c2);
	client_close(&c3);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/* test_disk_full - a write that fails (RLIMIT_FSIZE: EFBIG) gives a 4xx,
 * never a 250, and leaves no file behind. */
START_TEST(test_disk_full)
{
	char tmp[512], line[128];
	struct daemon d;
	struct client c;
	int i;

	daemon_start(&d, NULL, NULL, 0, 4096);
	client_connect(&c, &d);
	begin_tx(&c, true, "u@example.test");
	say(&c, "DATA");
	expect(&c, "354");
	say(&c, "Subject: big");
	say(&c, "");
	for (i = 0; i < 200; i++) {
		(void)snprintf(line, sizeof(line), "%d %s", i,
		    "0123456789012345678901234567890123456789012345678901234");
		say(&c, line);
	}
	say(&c, ".");
	expect(&c, "451 4.3.0");
	(void)snprintf(tmp, sizeof(tmp), "%s/tmp", d.maildir);
	ck_assert_int_eq(count_files(tmp), 0);
	ck_assert_int_eq(maildir_new_count(d.maildir), 0);
	say(&c, "QUIT");
	expect(&c, "221");
	client_close(&c);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/* run_capture - run inletd with args; exit status, stdout+stderr. */
static int
run_capture(char *const *argv, char *out, size_t outlen)
{
	int pfd[2], status = -1;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		(void)dup2(pfd[1], 1);
		(void)dup2(pfd[1], 2);
		(void)execv(DAEMON_PATH, argv);
		_exit(127);
	}
	(void)close(pfd[1]);
	while (len + 1 < outlen && (n = read(pfd[0], out + len,
	    outlen - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	(void)close(pfd[0]);
	(void)waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* test_config_check - -n prints the effective config; a bad config is
 * one error with file:line and exit status 2. */
START_TEST(test_config_check)
{
	char dir[] = "/tmp/inlet-conf-XXXXXX", path[128], out[16384];
	char *argv[8], size5m[] = "message_size_limit=5M";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/good.conf", dir);
	write_file(path, "listen 127.0.0.1:2525 mx\ndomains example.test\n"
	    "maildir /tmp/x/Maildir\n");
	argv[0] = a_daemon;
	argv[1] = a_n;
	argv[2] = a_c;
	argv[3] = path;
	argv[4] = a_o;
	argv[5] = size5m;
	argv[6] = NULL;
	ck_assert_int_eq(run_capture(argv, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "message_size_limit 5M"));
	ck_assert_ptr_nonnull(strstr(out, "listen 127.0.0.1:2525 mx"));
	(void)snprintf(path, sizeof(path), "%s/bad.conf", dir);
	write_file(path, "listen 127.0.0.1:2525 mx\nmessage_size_limit lots\n");
	argv[3] = path;
	argv[4] = NULL;
	ck_assert_int_eq(run_capture(argv, out, sizeof(out)), 2);
	ck_assert_ptr_nonnull(strstr(out, "bad.conf:2:"));
	write_file(path, "bogus_key 1\n");
	ck_assert_int_eq(run_capture(argv, out, sizeof(out)), 2);
	ck_assert_ptr_nonnull(strstr(out, "bad.conf:1:"));
	(void)nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}
END_TEST

/* test_sink - --sink takes any recipient of any domain into one Maildir,
 * one file per message, and prints one line per message on stdout. */
START_TEST(test_sink)
{
	char mdir[300], out[320], text[4096];
	char *argv[16], listen0[] = "listen=127.0.0.1:0";
	char http0[] = "http_listen=127.0.0.1:0";
	struct daemon d;
	struct client c;
	FILE *fp;
	size_t n;

	daemon_mkdir(&d);
	(void)snprintf(mdir, sizeof(mdir), "%s/sink", d.dir);
	(void)snprintf(d.maildir, sizeof(d.maildir), "%s", mdir);
	argv[0] = a_daemon;
	argv[1] = a_sink;
	argv[2] = mdir;
	argv[3] = a_o;
	argv[4] = listen0;
	argv[5] = a_o;
	argv[6] = http0;
	argv[7] = NULL;
	daemon_exec(&d, argv, 0);
	client_connect(&c, &d);
	begin_tx(&c, true, "anyone@anywhere.example");
	say(&c, "RCPT TO:<second@else.example>");
	expect(&c, "250 2.1.5");
	say(&c, "DATA");
	expect(&c, "354");
	say(&c, "Subject: caught\r\n\r\nbody\r\n.");
	expect(&c, "250 2.0.0");
	say(&c, "QUIT");
	expect(&c, "221");
	client_close(&c);
	ck_assert_int_eq(maildir_new_count(mdir), 1);	/* one per message */
	ck_assert_int_eq(daemon_stop_keep(&d), 0);
	(void)snprintf(out, sizeof(out), "%s/stdout", d.dir);
	fp = fopen(out, "r");
	ck_assert_ptr_nonnull(fp);
	n = fread(text, 1, sizeof(text) - 1, fp);
	text[n] = '\0';
	(void)fclose(fp);
	(void)nftw(d.dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	ck_assert_ptr_nonnull(strstr(text, "from=<sender@example.net> "
	    "to=<anyone@anywhere.example>,<second@else.example> "
	    "subject=\"caught\""));
}
END_TEST

/* test_shutdown - SIGTERM: an idle session gets 421 4.3.2; a message
 * being received still gets its 250, then 421; exit status 0. */
START_TEST(test_shutdown)
{
	struct daemon d;
	struct client idle, busy;
	int status;

	daemon_start(&d, NULL, NULL, 0, 0);
	client_connect(&idle, &d);
	expect(&idle, "220");
	client_connect(&busy, &d);
	begin_tx(&busy, true, "u@example.test");
	say(&busy, "DATA");
	expect(&busy, "354");
	say(&busy, "Subject: in flight\r\n\r\nfirst half");
	ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
	expect(&idle, "421 4.3.2 mx.test Service shutting down");
	ck_assert_int_eq(io_is_closed(&idle), 1);
	say(&busy, "second half\r\n.");
	expect(&busy, "250 2.0.0 Ok: queued as");
	expect(&busy, "421 4.3.2");
	ck_assert_int_eq(io_is_closed(&busy), 1);
	ck_assert_int_eq(maildir_new_count(d.maildir), 1);
	status = daemon_stop(&d);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	client_close(&idle);
	client_close(&busy);
}
END_TEST

/* make_cert - a throwaway self-signed certificate (openssl req). */
static int
make_cert(const char *cert, const char *key)
{
	char cmd[512];

	(void)snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey rsa:2048 "
	    "-nodes -keyout %s -out %s -days 2 -subj /CN=localhost "
	    "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null",
	    key, cert);
	return system(cmd) == 0 ? 0 : -1;
}

/* make_sasldb - user alice@example.test, password secret. */
static int
make_sasldb(const char *path)
{
	char cmd[256];

	(void)snprintf(cmd, sizeof(cmd), "printf %%s secret | saslpasswd2 -p "
	    "-c -f %s -u example.test alice", path);
	return system(cmd) == 0 ? 0 : -1;
}

static Suite *
daemon_suite(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc;

	tc = tcase_create("chat");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_chat, 0, (int)nchat_files);
	suite_add_tcase(s, tc);
	tc = tcase_create("direct");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hundred_rcpts);
	tcase_add_test(tc, test_disconnect_mid_data);
	tcase_add_test(tc, test_traversal);
	tcase_add_test(tc, test_idle_timeout);
	tcase_add_test(tc, test_per_ip_limit);
	tcase_add_test(tc, test_disk_full);
	tcase_add_test(tc, test_config_check);
	tcase_add_test(tc, test_sink);
	tcase_add_test(tc, test_shutdown);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	const char *dir = getenv("CHAT_DIR");
	char **all;
	size_t n, i;
	SRunner *sr;
	int failed;

	if (mkdtemp(tls_dir) == NULL)
		return EXIT_FAILURE;
	(void)snprintf(tls_cert, sizeof(tls_cert), "%s/cert.pem", tls_dir);
	(void)snprintf(tls_key, sizeof(tls_key), "%s/key.pem", tls_dir);
	if (make_cert(tls_cert, tls_key) != 0) {
		(void)fprintf(stderr, "openssl req failed: cannot make a "
		    "test certificate\n");
		return EXIT_FAILURE;
	}
	(void)snprintf(sasldb, sizeof(sasldb), "%s/sasldb2", tls_dir);
	if (make_sasldb(sasldb) != 0) {
		(void)fprintf(stderr, "saslpasswd2 failed: cannot make the "
		    "test sasldb (apt-get install sasl2-bin)\n");
		return getenv("CI") == NULL ? 77 : EXIT_FAILURE;
	}
	all = chat_list(dir != NULL ? dir : CHAT_DIR, &n);
	for (i = 0; i < n; i++) {
		const char *base = strrchr(all[i], '/') + 1;

		if (strncmp(base, "fake-", 5) == 0) {
			free(all[i]);
			continue;
		}
		chat_files = realloc(chat_files, (nchat_files + 1) *
		    sizeof(*chat_files));
		chat_files[nchat_files++] = all[i];
	}
	free(all);
	if (access(DAEMON_PATH, X_OK) != 0 || nchat_files == 0) {
		(void)fprintf(stderr, "%s missing or no transcripts\n",
		    DAEMON_PATH);
		return EXIT_FAILURE;
	}
	sr = srunner_create(daemon_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (i = 0; i < nchat_files; i++)
		free(chat_files[i]);
	free(chat_files);
	(void)nftw(tls_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
