/* SPDX-License-Identifier: ISC */
/*
 * gen - the load generator of bench/run (built by it with cc -O2): one
 * process, one epoll loop, SESSIONS connections at once to 127.0.0.1,
 * MESSAGES messages in all.  Each session: connect, 220, EHLO, MAIL,
 * RCPT, DATA, the message, QUIT (one message per connection, as
 * smtp-source does by default; -d sends several per connection; -H
 * says HELO instead of EHLO), then a new connection while messages
 * remain.  No pipelining: every command waits for its reply, so each
 * message costs the server the same round trips as with smtp-source.
 *
 *   gen [-d] [-H] [-g SECONDS] [-T SECONDS] -s SESSIONS -m MESSAGES
 *       -l SIZE -f FROM -t TO -M HELO PORT
 *
 * Why not smtp-source alone: with it the ceiling was the generator's,
 * not smtp-sink's (bench/README, "The load generator": two smtp-source
 * processes drove smtp-sink at about 6,500 messages/s where this one
 * drives it at about 10,000, at about half the CPU per message).  One
 * deadline for the run (-T, default 300 s), no timer per session: once a
 * second, connections still without a 220 after -g seconds (default 10)
 * are closed and made again, and their count is printed at the end as
 * "regreet N" (see greet_scan).  The last line, "span START END", is
 * CLOCK_MONOTONIC in seconds just before the first connect and just after
 * the last session ended: bench/run times the run by it, without the
 * processes' start and exit.
 *
 * The message: From:, To:, Subject:, Message-ID: (unique per message),
 * a blank line and SIZE bytes of 78-character lines.  Every reply code is
 * checked: anything else than the expected 2xx/3xx ends the run with a
 * message on stderr and exit status 1.  Exit 0: every message got its
 * 250.  Bounded: sessions 1..20000, messages 1..10000000, size 0..64 MiB.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum st { S_CONNECT, S_GREET, S_EHLO, S_MAIL, S_RCPT, S_DATA, S_DOT, S_QUIT };

struct sess {
	int fd;
	enum st st;
	const char *out; /* pending output */
	size_t outlen;
	char *own; /* the message, while it is sent */
	int wout; /* EPOLLOUT is asked for */
	unsigned long gen; /* one more per connection */
	double since; /* when the connect began */
	long msgno; /* the message of this transaction */
	size_t inlen;
	char in[2048];
};

static const char *from, *to, *helo;
static size_t size;
static long total, started, done, live;
static int reuse, epfd, helo_only;
static double greet_limit = 10; /* -g: seconds to wait for the 220 */
static long regreets; /* connections given up for that */
static struct sockaddr_in addr;
static char *body; /* SIZE bytes of lines, then ".\r\n" */
static size_t bodylen;
static char cmd_ehlo[600], cmd_mail[600], cmd_rcpt[600];

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)fputs("gen: ", stderr);
	(void)vfprintf(stderr, fmt, ap);
	(void)fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static double
mono(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
make_body(void)
{
	size_t left = size, n;
	char *p;

	body = malloc(size + size / 78 * 2 + 8);
	if (body == NULL)
		die("out of memory");
	p = body;
	while (left > 0) {
		n = left > 80 ? 78 : (left > 2 ? left - 2 : 0);
		memset(p, 'x', n);
		p += n;
		*p++ = '\r';
		*p++ = '\n';
		left -= n + 2 > left ? left : n + 2;
	}
	memcpy(p, ".\r\n", 3);
	bodylen = (size_t)(p - body) + 3;
}

/* sess_watch - add or change s's socket in the epoll set: readable,
 * and writable too when out is set. */
static void
sess_watch(struct sess *s, int op, int out)
{
	struct epoll_event ev = {
	    .events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = s};

	s->wout = out;
	if (epoll_ctl(epfd, op, s->fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
}

/* sess_flush - write what s has pending and the socket takes now; ask
 * for EPOLLOUT while some is left. */
static void
sess_flush(struct sess *s)
{
	ssize_t k;

	while (s->outlen > 0) {
		k = send(s->fd, s->out, s->outlen, MSG_NOSIGNAL);
		if (k == -1 && errno == EINTR)
			continue;
		if (k == -1 && errno == EAGAIN)
			break;
		if (k == -1)
			die("send: %s", strerror(errno));
		s->out += k;
		s->outlen -= (size_t)k;
	}
	if (s->outlen == 0) {
		free(s->own);
		s->own = NULL;
	}
	if ((s->outlen > 0) != s->wout)
		sess_watch(s, EPOLL_CTL_MOD, s->outlen > 0);
}

static void
sess_send(struct sess *s, const char *p, size_t n)
{
	s->out = p;
	s->outlen = n;
	sess_flush(s);
}

/* sess_open - a new connection for s, or none when every message has
 * been started. */
static void
sess_open(struct sess *s)
{
	int one = 1;

	s->fd = -1;
	if (started >= total)
		return;
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd == -1)
		die("socket: %s", strerror(errno));
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s->fd, (struct sockaddr *)&addr, sizeof(addr)) == -1 &&
	    errno != EINPROGRESS)
		die("connect: %s", strerror(errno));
	s->st = S_CONNECT;
	s->inlen = 0;
	s->gen++;
	s->since = mono();
	live++;
	sess_watch(s, EPOLL_CTL_ADD, 1); /* writable: connected */
}

/* sess_mail - begin the next transaction on s (a message is claimed). */
static void
sess_mail(struct sess *s)
{
	s->msgno = ++started;
	s->st = S_MAIL;
	sess_send(s, cmd_mail, strlen(cmd_mail));
}

/* sess_reply - one whole reply with code on s: the next step. */
static void
sess_reply(struct sess *s, int code, const char *line)
{
	static const int want[] = {[S_GREET] = 220,
	    [S_EHLO] = 250,
	    [S_MAIL] = 250,
	    [S_RCPT] = 250,
	    [S_DATA] = 354,
	    [S_DOT] = 250,
	    [S_QUIT] = 221};
	char hdr[1024];
	int n;

	if (code != want[s->st])
		die("unexpected reply in state %d: %s", (int)s->st, line);
	switch (s->st) {
	case S_GREET:
		s->st = S_EHLO;
		sess_send(s, cmd_ehlo, strlen(cmd_ehlo));
		break;
	case S_EHLO:
		if (started >= total) {
			s->st = S_QUIT;
			sess_send(s, "QUIT\r\n", 6);
		} else
			sess_mail(s);
		break;
	case S_MAIL:
		s->st = S_RCPT;
		sess_send(s, cmd_rcpt, strlen(cmd_rcpt));
		break;
	case S_RCPT:
		s->st = S_DATA;
		sess_send(s, "DATA\r\n", 6);
		break;
	case S_DATA:
		n = snprintf(hdr, sizeof(hdr),
		    "From: <%s>\r\nTo: <%s>\r\n"
		    "Subject: bench %ld\r\nMessage-ID: <%ld.%ld@%s>\r\n\r\n",
		    from, to, s->msgno, s->msgno, (long)getpid(), helo);
		if (n < 0 || (size_t)n >= sizeof(hdr))
			die("header too long");
		s->own = malloc((size_t)n + bodylen);
		if (s->own == NULL)
			die("out of memory");
		memcpy(s->own, hdr, (size_t)n);
		memcpy(s->own + n, body, bodylen);
		s->st = S_DOT;
		sess_send(s, s->own, (size_t)n + bodylen);
		break;
	case S_DOT:
		done++;
		if (reuse && started < total)
			sess_mail(s);
		else {
			s->st = S_QUIT;
			sess_send(s, "QUIT\r\n", 6);
		}
		break;
	case S_QUIT:
		(void)close(s->fd); /* removes it from the epoll set */
		live--;
		sess_open(s);
		break;
	default:
		die("reply in state %d", (int)s->st);
	}
}

/* sess_input - read what s's socket has and act on every whole reply. */
static void
sess_input(struct sess *s)
{
	ssize_t k;
	char *nl, *p;

	for (;;) {
		if (s->inlen == sizeof(s->in))
			die("reply too long");
		k = recv(s->fd, s->in + s->inlen, sizeof(s->in) - s->inlen, 0);
		if (k == -1 && errno == EINTR)
			continue;
		if (k == -1 && errno == EAGAIN)
			return;
		if (k == -1)
			die("recv: %s", strerror(errno));
		if (k == 0)
			die("connection closed by the server in state %d",
			    (int)s->st);
		s->inlen += (size_t)k;
		p = s->in;
		while ((nl = memchr(p, '\n', s->inlen - (size_t)(p - s->in))) !=
		    NULL) {
			*nl = '\0';
			if (nl - p < 3)
				die("short reply line");
			if (nl - p == 3 || p[3] == ' ' || p[3] == '\r') {
				unsigned long gen = s->gen;

				sess_reply(s, atoi(p), p);
				if (s->gen != gen || s->fd == -1)
					return; /* closed (and maybe anew) */
			}
			p = nl + 1;
		}
		s->inlen -= (size_t)(p - s->in);
		memmove(s->in, p, s->inlen);
		if ((size_t)k < sizeof(s->in) / 2)
			return; /* most likely all there was */
	}
}

/*
 * greet_scan - connections without their 220 after greet_limit seconds
 * are closed and made again.  A listen queue that overflows drops the
 * client's last handshake ACK (or answers with a SYN cookie): the client
 * sees an open connection the server does not know, and would wait for
 * the greeting forever.  Real clients give up after minutes (RFC 5321
 * 4.5.3.2); here after -g seconds, and the count is printed.
 */
static void
greet_scan(struct sess *ss, long n)
{
	double t = mono();
	long i;

	for (i = 0; i < n; i++) {
		struct sess *s = &ss[i];

		if (s->fd == -1 || (s->st != S_CONNECT && s->st != S_GREET) ||
		    t - s->since < greet_limit)
			continue;
		(void)close(s->fd);
		live--;
		regreets++;
		sess_open(s);
	}
}

/* sess_event - what epoll said of s's socket. */
static void
sess_event(struct sess *s, uint32_t events)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (s->fd == -1)
		return;
	if (s->st == S_CONNECT) {
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0)
			die("connect: %s", strerror(err));
		if (!(events & EPOLLOUT))
			return;
		s->st = S_GREET;
		sess_watch(s, EPOLL_CTL_MOD, 0);
		return;
	}
	if ((events & EPOLLOUT) && s->outlen > 0)
		sess_flush(s);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		sess_input(s);
}

int
main(int argc, char **argv)
{
	long sessions = 0, i;
	double limit = 300, end, scanned, start, stop;
	struct epoll_event evs[256];
	struct sess *ss;
	int c, n, port;

	while ((c = getopt(argc, argv, "dg:HT:s:m:l:f:t:M:")) != -1) {
		switch (c) {
		case 'd':
			reuse = 1;
			break;
		case 'H':
			helo_only = 1;
			break;
		case 'g':
			greet_limit = atof(optarg);
			break;
		case 'T':
			limit = atof(optarg);
			break;
		case 's':
			sessions = atol(optarg);
			break;
		case 'm':
			total = atol(optarg);
			break;
		case 'l':
			size = (size_t)atol(optarg);
			break;
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'M':
			helo = optarg;
			break;
		default:
			die("usage: gen [-d] [-H] [-g secs] [-T secs] "
			    "-s N -m N -l SIZE -f FROM -t TO -M HELO PORT");
		}
	}
	if (optind != argc - 1 || from == NULL || to == NULL || helo == NULL)
		die("usage: gen [-d] [-H] [-g secs] [-T secs] -s N -m N "
		    "-l SIZE -f FROM -t TO -M HELO PORT");
	port = atoi(argv[optind]);
	if (sessions < 1 || sessions > 20000 || total < 1 || total > 10000000 ||
	    size > 64u << 20 || port < 1 || port > 65535 || !(limit > 0) ||
	    !(greet_limit > 0) || strlen(from) > 500 || strlen(to) > 500 ||
	    strlen(helo) > 500)
		die("out of bounds: sessions 1..20000, messages 1..10000000, "
		    "size 0..64 MiB, addresses up to 500 bytes");
	(void)snprintf(cmd_ehlo, sizeof(cmd_ehlo), "%s %s\r\n",
	    helo_only ? "HELO" : "EHLO", helo);
	(void)snprintf(cmd_mail, sizeof(cmd_mail), "MAIL FROM:<%s>\r\n", from);
	(void)snprintf(cmd_rcpt, sizeof(cmd_rcpt), "RCPT TO:<%s>\r\n", to);
	make_body();
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	if (sessions > total)
		sessions = total;
	if ((ss = calloc((size_t)sessions, sizeof(*ss))) == NULL)
		die("out of memory");
	start = mono();
	for (i = 0; i < sessions; i++)
		sess_open(&ss[i]);
	end = mono() + limit;
	scanned = mono();
	/* until every message has its 250 and every session its 221 */
	while (done < total || live > 0) {
		if (mono() > end)
			die("time limit (%g s) reached: %ld of %ld messages "
			    "done, %ld sessions open",
			    limit, done, total, live);
		n = epoll_wait(epfd, evs, 256, 1000);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			die("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++)
			sess_event(evs[i].data.ptr, evs[i].events);
		if (mono() - scanned >= 1) {
			greet_scan(ss, sessions);
			scanned = mono();
		}
	}
	stop = mono();
	if (regreets > 0)
		(void)printf("regreet %ld\n", regreets);
	(void)printf("span %.6f %.6f\n", start, stop);
	return 0;
}
