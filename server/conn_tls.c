/* SPDX-License-Identifier: ISC */
/*
 * conn_tls - TLS on a connection: the handshake of an implicit-TLS
 * listener (RFC 8314) and the STARTTLS switch (RFC 3207 §4.2: purge what
 * the client sent after the command, then wrap the socket in an OpenSSL
 * filter), and how each handshake ends.  Part of conn (conn_impl.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "auth.h"
#include "conn_impl.h"
#include "log.h"
#include "tls.h"

/* conn_ssl_errors - libevent's queued OpenSSL errors as one line. */
static void
conn_ssl_errors(struct conn *c, char *buf, size_t len)
{
	unsigned long e;
	size_t o = 0;

	buf[0] = '\0';
	while ((e = bufferevent_get_openssl_error(c->bev)) != 0) {
		if (ERR_GET_LIB(e) == 0 || o + 3 >= len)
			continue;	/* libevent's SSL_get_error entry */
		if (o > 0)
			buf[o++] = ' ';
		ERR_error_string_n(e, buf + o, len - o);
		o += strlen(buf + o);
	}
	if (o == 0)
		(void)snprintf(buf, len, "%s", EVUTIL_SOCKET_ERROR() != 0 ?
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()) :
		    "connection closed during the handshake");
}

/* conn_tls_failed - the handshake failed or timed out: log and go. */
void
conn_tls_failed(struct conn *c, short what)
{
	char why[512];

	if ((what & BEV_EVENT_TIMEOUT) != 0)
		(void)snprintf(why, sizeof(why), "handshake timeout");
	else if ((what & BEV_EVENT_EOF) != 0)
		(void)snprintf(why, sizeof(why), "connection closed during the "
		    "handshake");
	else
		conn_ssl_errors(c, why, sizeof(why));
	log_event(LOG_LEVEL_INFO, c->id, "event=tls-failed",
	    LOG_TOK("client", c->addr), LOG_Q("reason", why));
	conn_set_phase(c, CONN_GONE);
	if (c->session != NULL) {
		session_starttls_done(c->session, NULL);
		session_eof(c->session);
	}
	conn_maybe_free(c);
}

/* conn_tls_done - the handshake finished: greet, or resume the session
 * from scratch (RFC 3207 §4.2). */
void
conn_tls_done(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	struct session_tls_info info;

	info.version = SSL_get_version(ssl);
	info.cipher = SSL_get_cipher_name(ssl);
	info.bits = SSL_get_cipher_bits(ssl, NULL);
	log_event(LOG_LEVEL_INFO, c->id, "event=tls",
	    LOG_TOK("version", info.version), LOG_TOK("cipher", info.cipher),
	    LOG_I("bits", info.bits), LOG_Q("sni", sni));
	conn_set_phase(c, CONN_RUNNING);
	c->ssf = info.bits;
	tls_unref(&c->tls);
	auth_sess_free(&c->auth);	/* RFC 3207 §4.2: SASL state anew */
	if (c->session == NULL)
		conn_start(c, &info);
	else
		session_starttls_done(c->session, &info);
	conn_process(c);
}

/*
 * conn_starttls_begin - after "220 Ready to start TLS": throw away every
 * byte the client sent after STARTTLS (RFC 3207 §4.2, CVE-2011-0411),
 * then wrap the connection in a TLS filter and start the handshake.  The
 * 220 already sits in the plain output, ahead of the TLS bytes.
 */
void
conn_starttls_begin(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t junk = evbuffer_get_length(in);
	struct bufferevent *f;

	if (junk > 0) {
		log_event(LOG_LEVEL_INFO, c->id, "event=starttls-purge",
		    LOG_U("bytes", junk));
		(void)evbuffer_drain(in, junk);
	}
	f = bufferevent_openssl_filter_new(c->env->base, c->bev,
	    tls_ssl_new(c->tls), BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (f == NULL)
		log_fatal("out of memory (TLS filter)");
	bufferevent_openssl_set_allow_dirty_shutdown(f, 1);
	/* Bound the plain layer below the filter too: TLS records wait in it
	 * at most CONN_UNDER_HIGH (the rest stays above, in the filter's
	 * output, where conn_process sees it).  Its reading is the filter's
	 * business (libevent clears its read watermarks and suspends it
	 * while the filter's input is full), so only the filter's input
	 * gets CONN_IN_HIGH, in conn_setup_bev(). */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, CONN_UNDER_HIGH);
	c->bev = f;
	c->is_tls = true;
	conn_set_phase(c, CONN_HANDSHAKE);
	conn_setup_bev(c);
}
