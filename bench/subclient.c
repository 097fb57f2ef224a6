/* SPDX-License-Identifier: ISC */
/*
 * subclient - one submission client process for bench/run (built by it
 * with cc ... -lssl -lcrypto): sends COUNT messages one after the other,
 * each the way an office client does: its own connection, TLS (STARTTLS
 * on the submission port, or implicit TLS on submissions), AUTH PLAIN,
 * one message, QUIT.  bench/run starts several at once (one per
 * concurrent session) and counts their CPU (wait4) apart from the
 * server's.
 *
 *   subclient PORT MODE RESUME COUNT LOGIN PASSWORD RCPT SIZE
 *
 * MODE: starttls, tls (implicit), or hs (implicit TLS handshake, 220 and
 * QUIT only: handshakes per second).  RESUME 1 offers each connection the
 * TLS session of the previous one.  127.0.0.1 only; every read and write
 * is bounded by a 30 s socket timeout.  Prints one JSON line: ok,
 * failed, resumed, first error.  Blocking I/O: one connection at a time
 * per process keeps it simple and cheap.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>

struct conn {
	int	 fd;
	SSL	*ssl;
	size_t	 len;
	char	 buf[8192];
};

static char errmsg[256];

static int
fail(const char *what)
{
	if (errmsg[0] == '\0')
		(void)snprintf(errmsg, sizeof(errmsg), "%s", what);
	return -1;
}

static int
conn_write(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		int k = c->ssl != NULL ? SSL_write(c->ssl, p, (int)n) :
		    (int)write(c->fd, p, n);
		if (k <= 0)
			return fail("write failed");
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* conn_reply - read one whole reply; its code, or -1. */
static int
conn_reply(struct conn *c)
{
	for (;;) {
		size_t start = 0, i;

		for (i = 0; i + 1 < c->len; i++) {
			if (c->buf[i] != '\r' || c->buf[i + 1] != '\n')
				continue;
			if (i - start >= 3 && c->buf[start + 3] != '-') {
				int code = atoi(c->buf + start);

				memmove(c->buf, c->buf + i + 2, c->len - i - 2);
				c->len -= i + 2;
				return code;
			}
			start = i + 2;
		}
		if (c->len == sizeof(c->buf))
			return fail("reply too long");
		int k = c->ssl != NULL ? SSL_read(c->ssl, c->buf + c->len,
		    (int)(sizeof(c->buf) - c->len)) :
		    (int)read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (k <= 0)
			return fail("connection closed or timed out");
		c->len += (size_t)k;
	}
}

static int
conn_cmd(struct conn *c, const char *p, size_t n, int want)
{
	int code;

	if (conn_write(c, p, n) != 0 || (code = conn_reply(c)) == -1)
		return -1;
	if (code != want) {
		(void)snprintf(errmsg, sizeof(errmsg), "%.12s: %d, wanted %d",
		    p, code, want);
		return -1;
	}
	return 0;
}

#define CMD(c, s, want)	conn_cmd((c), (s), strlen(s), (want))

static int
conn_tls(struct conn *c, SSL_CTX *ctx, SSL_SESSION *sess)
{
	if ((c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return fail("SSL_new");
	(void)SSL_set_tlsext_host_name(c->ssl, "localhost");
	if (sess != NULL)
		(void)SSL_set_session(c->ssl, sess);
	if (SSL_connect(c->ssl) != 1)
		return fail("TLS handshake failed");
	return 0;
}

/* one - one connection; 0 or -1.  *sess is replaced by this one's. */
static int
one(int port, const char *mode, SSL_CTX *ctx, SSL_SESSION **sess,
    int resume, int *reused, const char *auth, const char *mail,
    const char *rcpt, const char *msg, size_t msglen)
{
	struct sockaddr_in sa;
	struct timeval tv = { 30, 0 };
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1, rc = -1;

	if (c == NULL)
		return fail("out of memory");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
		free(c);
		return fail("socket");
	}
	(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		(void)fail("connect failed");
		goto out;
	}
	if (strcmp(mode, "starttls") == 0) {
		if (conn_reply(c) != 220 ||
		    CMD(c, "EHLO client.test\r\n", 250) != 0 ||
		    CMD(c, "STARTTLS\r\n", 220) != 0)
			goto out;
		if (conn_tls(c, ctx, resume ? *sess : NULL) != 0)
			goto out;
	} else {
		if (conn_tls(c, ctx, resume ? *sess : NULL) != 0)
			goto out;
		if (conn_reply(c) != 220)
			goto out;
	}
	if (strcmp(mode, "hs") != 0 &&
	    (CMD(c, "EHLO client.test\r\n", 250) != 0 ||
	    CMD(c, auth, 235) != 0 || CMD(c, mail, 250) != 0 ||
	    CMD(c, rcpt, 250) != 0 || CMD(c, "DATA\r\n", 354) != 0 ||
	    conn_cmd(c, msg, msglen, 250) != 0))
		goto out;
	if (CMD(c, "QUIT\r\n", 221) != 0)
		goto out;
	*reused = SSL_session_reused(c->ssl);
	/* Keep the latest resumable session (TLS 1.3: the latest ticket);
	 * a server that sends no new ticket on resumption leaves a session
	 * OpenSSL will not offer again: then the previous one is kept. */
	{
		SSL_SESSION *s = SSL_get1_session(c->ssl);

		if (s != NULL && SSL_SESSION_is_resumable(s)) {
			if (*sess != NULL)
				SSL_SESSION_free(*sess);
			*sess = s;
		} else if (s != NULL) {
			SSL_SESSION_free(s);
		}
	}
	rc = 0;
out:
	if (c->ssl != NULL) {
		if (rc == 0)
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	(void)close(c->fd);
	free(c);
	return rc;
}

int
main(int argc, char **argv)
{
	SSL_CTX *ctx;
	SSL_SESSION *sess = NULL;
	char auth[512], mail[300], rcpt[300], plain[300], b64[420];
	char *msg, *p;
	size_t size, msglen, i, lines;
	int port, resume, count, n, ok = 0, failed = 0, resumed = 0, r;

	if (argc != 9) {
		(void)fprintf(stderr, "usage: subclient PORT MODE RESUME COUNT "
		    "LOGIN PASSWORD RCPT SIZE\n");
		return 2;
	}
	port = atoi(argv[1]);
	resume = atoi(argv[3]);
	count = atoi(argv[4]);
	size = (size_t)atol(argv[8]);
	if (strlen(argv[5]) + strlen(argv[6]) > 200 || strlen(argv[7]) > 200)
		return 2;
	n = snprintf(plain, sizeof(plain), "%c%s%c%s", 0, argv[5], 0,
	    argv[6]);
	(void)EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)plain, n);
	(void)snprintf(auth, sizeof(auth), "AUTH PLAIN %s\r\n", b64);
	(void)snprintf(mail, sizeof(mail), "MAIL FROM:<%s>\r\n", argv[5]);
	(void)snprintf(rcpt, sizeof(rcpt), "RCPT TO:<%s>\r\n", argv[7]);
	lines = size / 78 > 0 ? size / 78 : 1;
	if ((msg = malloc(lines * 78 + 600)) == NULL)
		return 2;
	p = msg + sprintf(msg, "From: <%s>\r\nTo: <%s>\r\nSubject: bench\r\n"
	    "\r\n", argv[5], argv[7]);
	for (i = 0; i < lines; i++) {
		memset(p, 'x', 76);
		memcpy(p + 76, "\r\n", 2);
		p += 78;
	}
	memcpy(p, ".\r\n", 3);
	msglen = (size_t)(p + 3 - msg);
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return 2;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);	/* bench cert */
	/* Keep sessions for SSL_get1_session (no internal cache needed). */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	for (i = 0; i < (size_t)count; i++) {
		int reused = 0;

		r = one(port, argv[2], ctx, &sess, resume, &reused, auth, mail,
		    rcpt, msg, msglen);
		if (r == 0) {
			ok++;
			resumed += reused;
		} else {
			failed++;
		}
	}
	for (p = errmsg; *p != '\0'; p++)	/* JSON-safe */
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = '?';
	(void)printf("{\"ok\": %d, \"failed\": %d, \"resumed\": %d, "
	    "\"errors\": [%s%s%s]}\n", ok, failed, resumed,
	    errmsg[0] ? "\"" : "", errmsg, errmsg[0] ? "\"" : "");
	if (sess != NULL)
		SSL_SESSION_free(sess);
	SSL_CTX_free(ctx);
	free(msg);
	return failed == 0 ? 0 : 1;
}
