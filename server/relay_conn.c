/* SPDX-License-Identifier: ISC */
/*
 * relay_conn - a connection to a smarthost: the bytes between the socket
 * and smtp_client, TLS and SASL.  Edge.  Never a plaintext fall back:
 * smtp:// without STARTTLS, a failed handshake or a certificate that
 * does not verify for the configured host ends the connection (and the
 * caller defers).  AUTH only over TLS (smtp_client enforces it too).
 * RFC 3207 (STARTTLS: unread input is dropped after the 220), RFC 8314
 * (implicit TLS), RFC 4954 (AUTH), RFC 6066 §3 (SNI, never an address).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sasl/sasl.h>
#include <sasl/saslutil.h>

#include "log.h"
#include "relay_conn.h"
#include "xalloc.h"

#define RELAY_CONNECT_SECS	30
#define RELAY_B64_MAX		16384
#define RELAY_FEED_CHUNK	4096
/* The body goes out as the socket drains: read in chunks, refilled
 * while less than LOW is pending, up to HIGH (so a connection holds
 * about HIGH + 3 chunks, whatever the message's size). */
#define RELAY_BODY_CHUNK	(64u * 1024)
#define RELAY_BODY_LOW		(128u * 1024)
#define RELAY_BODY_HIGH		(256u * 1024)

struct relay_conn {
	struct event_base	*base;
	struct evdns_base	*dns;
	struct evdns_getaddrinfo_request *req;
	bool			 resolving;
	struct evutil_addrinfo	*ai, *ai_cur;
	SSL_CTX			*ctx;
	SSL			*ssl;		/* owned by bev once wrapped */
	struct bufferevent	*bev;
	struct conf_relay_url	 url;
	struct relay_cred	 cred;
	bool			 has_cred;
	sasl_conn_t		*sasl;
	sasl_callback_t		 sasl_cbs[4];
	sasl_secret_t		*secret;
	struct smtp_client	 c;
	unsigned		 timeout;
	bool			 connected;
	bool			 handshaking;	/* a TLS handshake runs */
	bool			 used;		/* a message was sent */
	bool			 closing;
	struct smtp_client_msg	*pending;	/* waits for the RSET */
	int			 body_fd;	/* the message (borrowed) */
	bool			 streaming;	/* the body is going out */
	struct smtp_client_stuffer st;
	char			*chunk, *wire;	/* RELAY_BODY_CHUNK, 2x+8 */
	char			 peer[320];
	struct relay_conn_cbs	 cbs;
	void			*arg;
	struct event		*later;		/* the first callback */
};

static void	conn_try(struct relay_conn *rc);
static void	conn_feed(struct relay_conn *rc);
static void	write_cb(struct bufferevent *bev, void *arg);

int
relay_conn_sasl_init(void)
{
	return sasl_client_init(NULL) == SASL_OK ? 0 : -1;
}

SSL_CTX *
relay_conn_ssl_ctx(const char *ca_file, char **err_out)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char e[256];

	if (ctx == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    (ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, ca_file,
	    NULL) : SSL_CTX_set_default_verify_paths(ctx)) != 1) {
		ERR_error_string_n(ERR_get_error(), e, sizeof(e));
		*err_out = xasprintf("relay_ca_file %s: %s",
		    ca_file != NULL ? ca_file : "(system)", e);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

/* finish - the connection is over: say why, once; the caller frees. */
static void
finish(struct relay_conn *rc, const char *why)
{
	if (rc->closing)
		return;
	rc->closing = true;
	rc->streaming = false;
	if (rc->bev != NULL) {
		bufferevent_free(rc->bev);
		rc->bev = NULL;
	}
	rc->cbs.closed(rc->arg, rc, why);
}

/* flush - what smtp_client wrote, onto the wire. */
static void
flush(struct relay_conn *rc)
{
	if (rc->c.out.len > 0 && rc->bev != NULL) {
		(void)bufferevent_write(rc->bev, rc->c.out.data, rc->c.out.len);
		buf_reset(&rc->c.out);
	}
}

/* is_ip - whether the host is an address literal (no SNI for it). */
static bool
is_ip(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
}

/* new_ssl - one SSL for the host: SNI and the name (or address) check. */
static SSL *
new_ssl(struct relay_conn *rc)
{
	SSL *ssl = SSL_new(rc->ctx);

	if (ssl == NULL)
		return NULL;
	if (is_ip(rc->url.host)) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    rc->url.host) != 1)
			goto fail;
	} else if (SSL_set_tlsext_host_name(ssl, rc->url.host) != 1 ||
	    SSL_set1_host(ssl, rc->url.host) != 1)
		goto fail;
	return ssl;
fail:
	SSL_free(ssl);
	return NULL;
}

/* tls_why - a failed handshake in words (the verify result first). */
static void
tls_why(struct relay_conn *rc, unsigned long e, char *dst, size_t len)
{
	long v = rc->ssl != NULL ? SSL_get_verify_result(rc->ssl) : X509_V_OK;
	char es[200] = "handshake failed";

	if (e != 0)
		ERR_error_string_n(e, es, sizeof(es));
	if (v != X509_V_OK)
		(void)snprintf(dst, len, "TLS with %s: certificate: %s",
		    rc->peer, X509_verify_cert_error_string(v));
	else
		(void)snprintf(dst, len, "TLS with %s: %s", rc->peer, es);
}

/* connected - TCP up, or a TLS handshake done. */
static void
connected(struct relay_conn *rc)
{
	struct timeval tv = { (time_t)rc->timeout, 0 };

	rc->connected = true;
	bufferevent_set_timeouts(rc->bev, &tv, &tv);
	if (!rc->handshaking)
		return;
	rc->handshaking = false;
	if (rc->c.state == SMTP_CLIENT_ST_TLS_WAIT) {
		smtp_client_tls_done(&rc->c);
		flush(rc);
	}
	conn_feed(rc);
}

/* event_cb - connected, handshake done, EOF, error or timeout. */
static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relay_conn *rc = arg;
	unsigned long ossl;
	bool tcp_fail;
	char why[512];
	int err = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		connected(rc);
		return;
	}
	if ((what & BEV_EVENT_EOF) && rc->connected && !rc->handshaking) {
		/* libevent's TLS filter reports the close before the last
		 * reply it read (the 221 to our QUIT): read that first */
		conn_feed(rc);
		if (rc->closing)
			return;
	}
	ossl = rc->ssl != NULL ? bufferevent_get_openssl_error(rc->bev) : 0;
	tcp_fail = !rc->connected && ossl == 0 && (rc->ssl == NULL ||
	    SSL_get_verify_result(rc->ssl) == X509_V_OK) &&
	    !(what & (BEV_EVENT_EOF | BEV_EVENT_TIMEOUT));
	if (tcp_fail && rc->ai_cur != NULL && rc->ai_cur->ai_next != NULL) {
		/* this address did not answer: the next one */
		bufferevent_free(rc->bev);
		rc->bev = NULL;
		rc->ssl = NULL;
		rc->handshaking = false;
		rc->ai_cur = rc->ai_cur->ai_next;
		conn_try(rc);
		return;
	}
	if (tcp_fail)
		(void)snprintf(why, sizeof(why), "connect to %s: %s", rc->peer,
		    evutil_socket_error_to_string(err));
	else if (rc->handshaking && !(what & BEV_EVENT_TIMEOUT))
		tls_why(rc, ossl, why, sizeof(why));
	else if (what & BEV_EVENT_TIMEOUT)
		(void)snprintf(why, sizeof(why), "timeout talking to %s",
		    rc->peer);
	else if (what & BEV_EVENT_EOF)
		(void)snprintf(why, sizeof(why), "%s closed the connection",
		    rc->peer);
	else
		(void)snprintf(why, sizeof(why), "lost connection to %s: %s",
		    rc->peer, evutil_socket_error_to_string(err));
	finish(rc, why);
}

/* read_cb - reply bytes into the client. */
static void
read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_feed(arg);
}

/* start_tls - after STARTTLS's 220: drop unread input, wrap the socket. */
static void
start_tls(struct relay_conn *rc)
{
	struct bufferevent *tls;
	struct evbuffer *in = bufferevent_get_input(rc->bev);
	struct timeval tv = { RELAY_CONNECT_SECS, 0 };

	(void)evbuffer_drain(in, evbuffer_get_length(in));
	if ((rc->ssl = new_ssl(rc)) == NULL ||
	    (tls = bufferevent_openssl_filter_new(rc->base, rc->bev, rc->ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		if (rc->ssl != NULL)
			SSL_free(rc->ssl);
		rc->ssl = NULL;
		finish(rc, "cannot start TLS");
		return;
	}
	/* the filter's writes wait once this much is pending below it
	 * (libevent: a filter honours its underlying's write high mark),
	 * so a streamed body is held here only a chunk or two at a time */
	bufferevent_setwatermark(rc->bev, EV_WRITE, 0, RELAY_BODY_HIGH);
	rc->bev = tls;
	rc->handshaking = true;
	bufferevent_setcb(rc->bev, read_cb, write_cb, event_cb, rc);
	bufferevent_set_timeouts(rc->bev, &tv, &tv);
	(void)bufferevent_enable(rc->bev, EV_READ | EV_WRITE);
}

/* b64 - n octets as base64 into dst ("=" for none: RFC 4954 §4). */
static int
b64(const char *in, unsigned n, char *dst, size_t len)
{
	unsigned out;

	if (n == 0) {
		(void)snprintf(dst, len, "=");
		return 0;
	}
	return sasl_encode64(in, n, dst, (unsigned)len, &out) == SASL_OK ?
	    0 : -1;
}

/* sasl_simple - SASL_CB_USER / SASL_CB_AUTHNAME: the login. */
static int
sasl_simple(void *ctx, int id, const char **result, unsigned *len)
{
	struct relay_conn *rc = ctx;

	if (id != SASL_CB_USER && id != SASL_CB_AUTHNAME)
		return SASL_BADPARAM;
	*result = rc->cred.user;
	if (len != NULL)
		*len = (unsigned)strlen(rc->cred.user);
	return SASL_OK;
}

/* sasl_pass - SASL_CB_PASS: the password. */
static int
sasl_pass(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **out)
{
	struct relay_conn *rc = ctx;

	(void)conn;
	if (id != SASL_CB_PASS)
		return SASL_BADPARAM;
	*out = rc->secret;
	return SASL_OK;
}

/* auth_start - choose from what the server offers; AUTH with the first
 * response. */
static void
auth_start(struct relay_conn *rc)
{
	const char *out = NULL, *mech = NULL;
	unsigned outlen = 0;
	char *enc;
	int r;

	rc->sasl_cbs[0] = (sasl_callback_t){ SASL_CB_USER,
	    (int (*)(void))(void (*)(void))sasl_simple, rc };
	rc->sasl_cbs[1] = (sasl_callback_t){ SASL_CB_AUTHNAME,
	    (int (*)(void))(void (*)(void))sasl_simple, rc };
	rc->sasl_cbs[2] = (sasl_callback_t){ SASL_CB_PASS,
	    (int (*)(void))(void (*)(void))sasl_pass, rc };
	rc->sasl_cbs[3] = (sasl_callback_t){ SASL_CB_LIST_END, NULL, NULL };
	if (sasl_client_new("smtp", rc->url.host, NULL, NULL, rc->sasl_cbs,
	    0, &rc->sasl) != SASL_OK) {
		finish(rc, "SASL: cannot start a client");
		return;
	}
	r = sasl_client_start(rc->sasl, rc->c.ehlo.mechs, NULL, &out,
	    &outlen, &mech);
	if ((r != SASL_OK && r != SASL_CONTINUE) || mech == NULL) {
		char why[400];

		(void)snprintf(why, sizeof(why), "SASL: no usable mechanism "
		    "in \"%s\": %s", rc->c.ehlo.mechs, sasl_errdetail(rc->sasl));
		finish(rc, why);
		return;
	}
	enc = xmalloc(RELAY_B64_MAX);
	if (out != NULL && b64(out, outlen, enc, RELAY_B64_MAX) != 0) {
		free(enc);
		finish(rc, "SASL: response too long");
		return;
	}
	smtp_client_auth(&rc->c, mech, out != NULL ? enc : NULL);
	free(enc);
	flush(rc);
}

/* auth_step - answer a 334 challenge. */
static void
auth_step(struct relay_conn *rc)
{
	char *in = xmalloc(RELAY_B64_MAX), *enc = xmalloc(RELAY_B64_MAX);
	const char *out = NULL;
	unsigned inlen = 0, outlen = 0;
	int r;

	r = sasl_decode64(rc->c.reply_text, (unsigned)strlen(
	    rc->c.reply_text), in, RELAY_B64_MAX, &inlen);
	if (r == SASL_OK)
		r = sasl_client_step(rc->sasl, in, inlen, NULL, &out,
		    &outlen);
	if (r != SASL_OK && r != SASL_CONTINUE)
		finish(rc, "SASL: the server's challenge was refused");
	else if (outlen > 0 && b64(out, outlen, enc, RELAY_B64_MAX) != 0)
		finish(rc, "SASL: response too long");
	else {
		smtp_client_auth_step(&rc->c, outlen > 0 ? enc : "");
		flush(rc);
	}
	free(in);
	free(enc);
}

/* body_read - up to a chunk of the message; its length, 0 at the end,
 * -1 (errno) on an error. */
static ssize_t
body_read(struct relay_conn *rc)
{
	ssize_t n;

	if (rc->chunk == NULL) {
		rc->chunk = xmalloc(RELAY_BODY_CHUNK);
		rc->wire = xmalloc(2 * RELAY_BODY_CHUNK + 8);
	}
	while ((n = read(rc->body_fd, rc->chunk, RELAY_BODY_CHUNK)) < 0 &&
	    errno == EINTR)
		continue;
	return n;
}

/* body_fail - the message cannot be read: the transaction cannot end
 * (no final dot), so the connection does, and the caller defers. */
static void
body_fail(struct relay_conn *rc)
{
	char why[300];

	(void)snprintf(why, sizeof(why), "cannot read the queued message: "
	    "%s", strerror(errno));
	finish(rc, why);
}

/* bdat_size - the octets BDAT will carry (CRLF lines, not stuffed): a
 * first pass over the file, which is then read again from its start. */
static int
bdat_size(struct relay_conn *rc, uint64_t *size_out)
{
	struct smtp_client_stuffer st;
	uint64_t size = 0;
	ssize_t n;

	smtp_client_stuff_init(&st, false);
	while ((n = body_read(rc)) > 0)
		size += smtp_client_stuff(&st, rc->chunk, (size_t)n, rc->wire);
	if (n < 0 || lseek(rc->body_fd, 0, SEEK_SET) != 0)
		return -1;
	*size_out = size + smtp_client_stuff_end(&st, rc->wire);
	return 0;
}

/* pump - more of the body onto the wire, while little is pending; at the
 * end, the end of data. */
static void
pump(struct relay_conn *rc)
{
	struct evbuffer *out = bufferevent_get_output(rc->bev);
	ssize_t n;
	size_t w;

	while (rc->streaming && evbuffer_get_length(out) < RELAY_BODY_HIGH) {
		if ((n = body_read(rc)) < 0) {
			body_fail(rc);
			return;
		}
		if (n == 0) {
			w = smtp_client_stuff_end(&rc->st, rc->wire);
			(void)evbuffer_add(out, rc->wire, w);
			rc->streaming = false;
			bufferevent_setwatermark(rc->bev, EV_WRITE, 0, 0);
			smtp_client_data_sent(&rc->c);
			return;
		}
		w = smtp_client_stuff(&rc->st, rc->chunk, (size_t)n, rc->wire);
		(void)evbuffer_add(out, rc->wire, w);
	}
}

/* write_cb - the output drained below the low mark: more body. */
static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct relay_conn *rc = arg;

	(void)bev;
	if (rc->streaming)
		pump(rc);
}

/* send_body - the message after 354 (stuffed) or as one BDAT LAST,
 * streamed from the file as the socket drains. */
static void
send_body(struct relay_conn *rc)
{
	uint64_t size;

	if (rc->c.use_bdat) {
		if (bdat_size(rc, &size) != 0) {
			body_fail(rc);
			return;
		}
		smtp_client_bdat_len(&rc->c, size);
		flush(rc);
	}
	smtp_client_stuff_init(&rc->st, !rc->c.use_bdat);
	rc->streaming = true;
	bufferevent_setwatermark(rc->bev, EV_WRITE, RELAY_BODY_LOW, 0);
	pump(rc);
}

/* on_event - what the client's event asks of the edge; false to stop
 * reading (the connection is closing or changing). */
static bool
on_event(struct relay_conn *rc, enum smtp_client_event ev)
{
	switch (ev) {
	case SMTP_CLIENT_MORE:
		return true;
	case SMTP_CLIENT_READY:
		if (rc->pending != NULL) {
			struct smtp_client_msg *m = rc->pending;

			rc->pending = NULL;
			smtp_client_send(&rc->c, m);
			flush(rc);
			return true;
		}
		rc->cbs.ready(rc->arg, rc);
		return !rc->closing;
	case SMTP_CLIENT_TLS:
		start_tls(rc);
		return false;
	case SMTP_CLIENT_AUTH:
		auth_start(rc);
		return !rc->closing;
	case SMTP_CLIENT_AUTH_STEP:
		auth_step(rc);
		return !rc->closing;
	case SMTP_CLIENT_DATA:
		send_body(rc);
		return !rc->closing;
	case SMTP_CLIENT_DONE:
		rc->cbs.done(rc->arg, rc, rc->c.msg);
		rc->cbs.ready(rc->arg, rc);
		return !rc->closing;
	case SMTP_CLIENT_FAIL:
		finish(rc, rc->c.fail_reply);
		return false;
	case SMTP_CLIENT_CLOSED:
		finish(rc, NULL);
		return false;
	}
	return false;
}

/* conn_feed - the input so far through the client, event by event. */
static void
conn_feed(struct relay_conn *rc)
{
	struct evbuffer *in;
	size_t n, used;

	while (!rc->closing && rc->bev != NULL && !rc->handshaking) {
		enum smtp_client_event ev;
		const char *p;

		in = bufferevent_get_input(rc->bev);
		if ((n = evbuffer_get_length(in)) == 0)
			return;
		if (n > RELAY_FEED_CHUNK)
			n = RELAY_FEED_CHUNK;
		p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
		ev = smtp_client_feed(&rc->c, p, n, &used);
		(void)evbuffer_drain(in, used);
		flush(rc);
		if (!on_event(rc, ev))
			return;
	}
}

/* conn_try - connect to the current address (ai_cur). */
static void
conn_try(struct relay_conn *rc)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	struct timeval tv = { RELAY_CONNECT_SECS, 0 };
	const struct sockaddr *sa = rc->ai_cur->ai_addr;

	if (sa->sa_family == AF_INET)
		(void)inet_ntop(AF_INET, &((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr, ip, sizeof(ip));
	else if (sa->sa_family == AF_INET6)
		(void)inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr, ip, sizeof(ip));
	(void)snprintf(rc->peer, sizeof(rc->peer), "%s[%s]:%u",
	    rc->url.host, ip, rc->url.port);
	rc->connected = false;
	if (rc->url.implicit_tls) {
		if ((rc->ssl = new_ssl(rc)) == NULL) {
			finish(rc, "cannot start TLS");
			return;
		}
		rc->bev = bufferevent_openssl_socket_new(rc->base, -1, rc->ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
		rc->handshaking = rc->bev != NULL;
	} else
		rc->bev = bufferevent_socket_new(rc->base, -1,
		    BEV_OPT_CLOSE_ON_FREE);
	if (rc->bev == NULL) {
		finish(rc, "out of sockets");
		return;
	}
	bufferevent_setcb(rc->bev, read_cb, write_cb, event_cb, rc);
	bufferevent_set_timeouts(rc->bev, &tv, &tv);
	(void)bufferevent_enable(rc->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(rc->bev, rc->ai_cur->ai_addr,
	    (int)rc->ai_cur->ai_addrlen) != 0)
		event_cb(rc->bev, BEV_EVENT_ERROR, rc);
}

/* resolved_cb - the host's addresses; try the first. */
static void
resolved_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct relay_conn *rc = arg;
	char why[400];

	if (result == EVUTIL_EAI_CANCEL)
		return;
	rc->req = NULL;
	rc->resolving = false;
	if (result != 0 || res == NULL) {
		(void)snprintf(why, sizeof(why), "cannot resolve %s: %s",
		    rc->url.host, evutil_gai_strerror(result));
		finish(rc, why);
		return;
	}
	rc->ai = rc->ai_cur = res;
	conn_try(rc);
}

/* later_cb - resolution starts on the loop, never inside _start(). */
static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_conn *rc = arg;
	struct evdns_getaddrinfo_request *req;
	struct evutil_addrinfo hints;
	char port[16];

	(void)fd;
	(void)what;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
	(void)snprintf(port, sizeof(port), "%u", rc->url.port);
	/* may answer at once (an address, /etc/hosts): rc stays valid, as
	 * the owner frees it only on a later loop turn */
	rc->resolving = true;
	req = evdns_getaddrinfo(rc->dns, rc->url.host, port, &hints,
	    resolved_cb, rc);
	if (rc->resolving)
		rc->req = req;
}

struct relay_conn *
relay_conn_start(struct event_base *base, struct evdns_base *dns,
    SSL_CTX *ctx, const struct conf_relay_url *url,
    const struct relay_cred *cred, const char *helo, unsigned timeout,
    const struct relay_conn_cbs *cbs, void *arg)
{
	struct relay_conn *rc = xcalloc(1, sizeof(*rc));
	struct timeval now = { 0, 0 };

	rc->base = base;
	rc->dns = dns;
	rc->ctx = ctx;
	SSL_CTX_up_ref(ctx);	/* a reload may free the caller's */
	rc->url = *url;
	rc->timeout = timeout;
	rc->cbs = *cbs;
	rc->arg = arg;
	(void)snprintf(rc->peer, sizeof(rc->peer), "%s[?]:%u", url->host,
	    url->port);
	if (cred != NULL) {
		size_t n = strlen(cred->pass);

		rc->has_cred = true;
		rc->cred.host = xstrdup(cred->host);
		rc->cred.user = xstrdup(cred->user);
		rc->cred.pass = NULL;
		rc->secret = xcalloc(1, sizeof(*rc->secret) + n + 1);
		rc->secret->len = n;
		memcpy(rc->secret->data, cred->pass, n);
	}
	smtp_client_init(&rc->c, helo, url->implicit_tls, true, cred != NULL);
	rc->later = evtimer_new(base, later_cb, rc);
	if (rc->later == NULL)
		log_fatal("cannot make a timer");
	(void)evtimer_add(rc->later, &now);
	return rc;
}

const struct smtp_client *
relay_conn_client(const struct relay_conn *rc)
{
	return &rc->c;
}

void
relay_conn_send(struct relay_conn *rc, struct smtp_client_msg *msg, int fd)
{
	rc->body_fd = fd;
	if (rc->used) {
		rc->pending = msg;
		smtp_client_rset(&rc->c);
	} else
		smtp_client_send(&rc->c, msg);
	rc->used = true;
	flush(rc);
}

void
relay_conn_quit(struct relay_conn *rc)
{
	smtp_client_quit(&rc->c);
	flush(rc);
}

const char *
relay_conn_peer(const struct relay_conn *rc)
{
	return rc->peer;
}

void
relay_conn_free(struct relay_conn **rcp)
{
	struct relay_conn *rc;

	if (rcp == NULL || (rc = *rcp) == NULL)
		return;
	if (rc->req != NULL)
		evdns_getaddrinfo_cancel(rc->req);
	if (rc->bev != NULL)
		bufferevent_free(rc->bev);
	if (rc->ai != NULL)
		evutil_freeaddrinfo(rc->ai);
	if (rc->later != NULL)
		event_free(rc->later);
	if (rc->sasl != NULL)
		sasl_dispose(&rc->sasl);
	if (rc->secret != NULL) {
		explicit_bzero(rc->secret->data, rc->secret->len);
		free(rc->secret);
	}
	free(rc->chunk);
	free(rc->wire);
	free(rc->cred.host);
	free(rc->cred.user);
	SSL_CTX_free(rc->ctx);
	smtp_client_release(&rc->c);
	free(rc);
	*rcp = NULL;
}
