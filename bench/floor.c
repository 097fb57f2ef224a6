/* SPDX-License-Identifier: ISC */
/*
 * floor - the smallest durable SMTP server bench/run can think of, to
 * measure what one durable message costs on this machine at least (built
 * by bench/run with cc -O2 -Wall; standard library and Linux only).  Not
 * a product: one thread, one epoll loop, no logging, no TLS, no timeouts,
 * no connection limit, no checks of the protocol beyond the ones below.
 *
 *   floor -p PORT -d DIR     listen on 127.0.0.1:PORT (0: any, printed
 *                            on stdout as "port N")
 *
 * 220 greeting; EHLO/HELO, MAIL, RSET, NOOP -> 250; RCPT -> 250 and the
 * first recipient's local part (other bytes than [A-Za-z0-9._-] become _)
 * names the Maildir DIR/<local>/; DATA -> 354, the message up to CRLF.CRLF
 * (dots unstuffed), then, inline before the 250, the Maildir commit:
 * create tmp/<unique>, write, fsync, close, link to new/<unique>, unlink
 * tmp/<unique>, fsync new/ (one descriptor per Maildir, kept open).  Any
 * failure: 451, nothing acknowledged.  QUIT -> 221; anything else -> 500.
 * Lines up to 1000 bytes, messages up to 1 MiB: beyond, 500/552 and the
 * connection closes.  SIGTERM: exit.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_ 1000
#define MSG_MAX (1024 * 1024)
#define IN_SIZE 8192
#define OUT_SIZE 4096

struct box { /* one Maildir, kept open */
	struct box *next;
	int dir, new; /* DIR/<local>/ and its new/ */
	char name[65];
};

struct conn {
	int fd, data, closing, epout;
	size_t inlen, outlen, outoff, msglen, msgcap;
	char *msg, rcpt[65];
	char in[IN_SIZE], out[OUT_SIZE];
};

static int ep, top; /* epoll, DIR */
static struct box *boxes;
static unsigned long seq;
static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static struct box *
box_get(const char *name)
{
	struct box *b;

	for (b = boxes; b; b = b->next)
		if (strcmp(b->name, name) == 0)
			return b;
	if ((mkdirat(top, name, 0700) < 0 && errno != EEXIST) ||
	    (b = calloc(1, sizeof *b)) == NULL)
		return NULL;
	b->dir = openat(top, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->dir < 0)
		goto fail;
	for (const char *const *s =
		 (const char *const[]){"tmp", "new", "cur", NULL};
	     *s; s++)
		if (mkdirat(b->dir, *s, 0700) < 0 && errno != EEXIST)
			goto fail;
	b->new = openat(b->dir, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->new < 0 || fsync(b->dir) < 0 || fsync(top) < 0)
		goto fail;
	snprintf(b->name, sizeof b->name, "%s", name);
	b->next = boxes;
	return boxes = b;
fail:
	if (b->dir > 0)
		close(b->dir);
	if (b->new > 0)
		close(b->new);
	free(b);
	return NULL;
}

static int
commit(struct conn *c)
{
	struct box *b = box_get(c->rcpt);
	char tmp[128], new[128];
	size_t off = 0;
	ssize_t n;
	int fd, ok;

	if (b == NULL)
		return -1;
	snprintf(tmp, sizeof tmp, "tmp/%ld.P%dQ%lu.floor", (long)time(NULL),
	    (int)getpid(), ++seq);
	snprintf(new, sizeof new, "new/%s", tmp + 4);
	if ((fd = openat(b->dir, tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
		 0600)) < 0)
		return -1;
	while (off < c->msglen) {
		if ((n = write(fd, c->msg + off, c->msglen - off)) < 0 &&
		    errno != EINTR)
			break;
		off += n > 0 ? (size_t)n : 0;
	}
	ok = off == c->msglen && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	ok = ok && linkat(b->dir, tmp, b->dir, new, 0) == 0;
	unlinkat(b->dir, tmp, 0);
	return ok && fsync(b->new) == 0 ? 0 : -1;
}

static void
reply(struct conn *c, const char *s)
{
	size_t n = strlen(s);

	if (c->outlen + n <= sizeof c->out) { /* room is checked before */
		memcpy(c->out + c->outlen, s, n);
		c->outlen += n;
	}
}

/* the local part of the first <addr> on a RCPT line, sanitized */
static int
rcpt_local(struct conn *c, const char *line, size_t len)
{
	const char *p = memchr(line, '<', len), *end = line + len;
	size_t n = 0;

	if (p == NULL)
		return -1;
	for (p++; p < end && *p != '@' && *p != '>' && n < sizeof c->rcpt - 1;
	     p++)
		c->rcpt[n++] = (*p >= 'a' && *p <= 'z') ||
			(*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			*p == '.' || *p == '_' || *p == '-'
		    ? *p
		    : '_';
	c->rcpt[n] = '\0';
	if (n == 0 || c->rcpt[0] == '.') { /* no "", ".", ".." */
		c->rcpt[0] = '\0';
		return -1;
	}
	return 0;
}

static void
data_line(struct conn *c, const char *line, size_t len)
{
	if ((len == 3 && memcmp(line, ".\r\n", 3) == 0) ||
	    (len == 2 && memcmp(line, ".\n", 2) == 0)) {
		c->data = 0;
		reply(c, commit(c) == 0 ? "250 OK\r\n" : "451 not stored\r\n");
		c->rcpt[0] = '\0';
		c->msglen = 0;
		return;
	}
	if (line[0] == '.') { /* dot-stuffing */
		line++;
		len--;
	}
	if (c->msglen + len > MSG_MAX) {
		reply(c, "552 message too big\r\n");
		c->closing = 1;
		return;
	}
	if (c->msglen + len > c->msgcap) {
		size_t cap = c->msgcap ? c->msgcap : 16384;
		char *m;

		while (cap < c->msglen + len)
			cap *= 2;
		if ((m = realloc(c->msg, cap)) == NULL) {
			reply(c, "451 out of memory\r\n");
			c->closing = 1;
			return;
		}
		c->msg = m;
		c->msgcap = cap;
	}
	memcpy(c->msg + c->msglen, line, len);
	c->msglen += len;
}

static void
cmd_line(struct conn *c, const char *line, size_t len)
{
	if (len < 4 ||
	    (len > 6 && line[4] != ' ' && line[4] != '\r' && line[4] != '\n'))
		reply(c, "500 unrecognized\r\n");
	else if (!strncasecmp(line, "EHLO", 4) || !strncasecmp(line, "HELO", 4))
		reply(c, "250 floor\r\n");
	else if (!strncasecmp(line, "MAIL", 4) ||
	    !strncasecmp(line, "RSET", 4)) {
		c->rcpt[0] = '\0';
		reply(c, "250 OK\r\n");
	} else if (!strncasecmp(line, "NOOP", 4))
		reply(c, "250 OK\r\n");
	else if (!strncasecmp(line, "RCPT", 4)) {
		if (c->rcpt[0] == '\0' && rcpt_local(c, line, len) < 0)
			reply(c, "501 bad address\r\n");
		else
			reply(c, "250 OK\r\n");
	} else if (!strncasecmp(line, "DATA", 4)) {
		if (c->rcpt[0] == '\0')
			reply(c, "503 no recipient\r\n");
		else {
			c->data = 1;
			c->msglen = 0;
			reply(c, "354 go ahead\r\n");
		}
	} else if (!strncasecmp(line, "QUIT", 4)) {
		reply(c, "221 bye\r\n");
		c->closing = 1;
	} else
		reply(c, "500 unrecognized\r\n");
}

static void
conn_close(struct conn *c)
{
	close(c->fd); /* also leaves the epoll set */
	free(c->msg);
	free(c);
}

static void
want(struct conn *c, int out)
{
	struct epoll_event ev = {
	    .events = out ? EPOLLOUT : EPOLLIN, .data.ptr = c};

	if (out != c->epout && epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->epout = out;
}

/* work through the complete lines in c->in, one send() per batch of
 * replies; wait for EPOLLOUT if the socket is full */
static void
pump(struct conn *c)
{
	for (;;) {
		size_t used = 0;
		char *nl;

		while (!c->closing && c->outlen + 64 <= sizeof c->out &&
		    (nl = memchr(c->in + used, '\n', c->inlen - used)) !=
			NULL) {
			size_t len = nl + 1 - (c->in + used);

			if (len > LINE_MAX_) {
				reply(c, "500 line too long\r\n");
				c->closing = 1;
			} else if (c->data)
				data_line(c, c->in + used, len);
			else
				cmd_line(c, c->in + used, len);
			used += len;
		}
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
		if (!c->closing && c->inlen > LINE_MAX_ &&
		    !memchr(c->in, '\n', c->inlen)) {
			reply(c, "500 line too long\r\n");
			c->closing = 1;
		}
		while (c->outoff < c->outlen) {
			ssize_t n = send(c->fd, c->out + c->outoff,
			    c->outlen - c->outoff, MSG_NOSIGNAL);

			if (n < 0 && errno == EAGAIN) {
				want(c, 1);
				return;
			}
			if (n < 0 && errno != EINTR) {
				conn_close(c);
				return;
			}
			c->outoff += n > 0 ? (size_t)n : 0;
		}
		c->outoff = c->outlen = 0;
		if (c->closing) {
			conn_close(c);
			return;
		}
		if (!memchr(c->in, '\n', c->inlen))
			break; /* more lines were left for want of room */
	}
	want(c, 0);
}

static void
on_read(struct conn *c)
{
	ssize_t n = recv(c->fd, c->in + c->inlen, sizeof c->in - c->inlen, 0);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(c);
		return;
	}
	c->inlen += n > 0 ? (size_t)n : 0;
	pump(c);
}

static void
on_accept(int lfd)
{
	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC),
		    one = 1;
		struct conn *c;
		struct epoll_event ev = {.events = EPOLLIN};

		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if ((c = calloc(1, sizeof *c)) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			conn_close(c);
			continue;
		}
		reply(c, "220 floor ESMTP\r\n");
		pump(c);
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sigaction sa = {.sa_handler = on_term};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[64];
	socklen_t slen = sizeof sin;
	const char *dir = NULL;
	int opt, port = -1, lfd, one = 1;

	while ((opt = getopt(argc, argv, "p:d:")) != -1) {
		if (opt == 'p')
			port = atoi(optarg);
		else if (opt == 'd')
			dir = optarg;
		else
			port = -2;
	}
	if (port < 0 || port > 65535 || dir == NULL || optind != argc) {
		fprintf(stderr, "usage: floor -p PORT -d DIR\n");
		return 2;
	}
	if ((top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		perror(dir);
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: epoll_wait returns */
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if ((lfd = socket(
		 AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
	    listen(lfd, 4096) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &slen) < 0 ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		perror("floor: listen");
		return 1;
	}
	if (port == 0) {
		printf("port %d\n", ntohs(sin.sin_port));
		fflush(stdout);
	}
	while (!stop) {
		int n = epoll_wait(ep, evs, 64, -1);

		if (n < 0 && errno != EINTR) {
			perror("floor: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c == NULL)
				on_accept(lfd);
			else if (c->epout)
				pump(c);
			else
				on_read(c);
		}
	}
	return 0;
}
