/* SPDX-License-Identifier: ISC */
/*
 * tls - OpenSSL 3 server contexts for STARTTLS (RFC 3207) and implicit
 * TLS (RFC 8314).  One SSL_CTX per tls_cert/tls_key pair, all set up the
 * same way; the first is the default and the SNI callback switches to the
 * first other whose certificate matches the requested name.  Reference
 * counted so that a reload never frees a context a handshake still uses.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tls.h"
#include "xalloc.h"

/* TLS 1.2 suites with forward secrecy and AEAD only (TLS 1.3 suites are
 * OpenSSL's defaults, all of them AEAD). */
#define TLS_CIPHERS_12 \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384"
#define TLS_SESSION_CACHE	20000
#define TLS_SID_CTX		"inlet"

struct tls_pair {
	SSL_CTX	*ctx;
	X509	*cert;		/* borrowed from ctx */
	char	*file;
};

struct tls {
	unsigned	 refs;
	struct tls_pair	*pairs;
	size_t		 npairs;
};

/* tls_fail - an error message naming the file, with OpenSSL's reasons. */
static int
tls_fail(char **err_out, const char *file, const char *what)
{
	char why[512];

	tls_error_string(why, sizeof(why));
	*err_out = xasprintf("%s: %s: %s", file, what, why);
	return -1;
}

char *
tls_error_string(char *buf, size_t len)
{
	unsigned long e;
	size_t o = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		if (ERR_GET_LIB(e) == 0 || o + 3 >= len)
			continue;	/* libevent's bogus lib-0 entries */
		if (o > 0) {
			buf[o++] = ';';
			buf[o++] = ' ';
		}
		ERR_error_string_n(e, buf + o, len - o);
		o += strlen(buf + o);
	}
	if (o == 0)
		(void)snprintf(buf, len, "unknown");
	return buf;
}

/* tls_sni_cb - pick the context whose certificate matches the name. */
static int
tls_sni_cb(SSL *ssl, int *alert, void *arg)
{
	const struct tls *t = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	size_t i;

	(void)alert;
	if (name == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	for (i = 1; i < t->npairs; i++) {
		if (X509_check_host(t->pairs[i].cert, name, 0, 0, NULL) == 1) {
			if (SSL_set_SSL_CTX(ssl, t->pairs[i].ctx) == NULL)
				return SSL_TLSEXT_ERR_ALERT_FATAL;
			return SSL_TLSEXT_ERR_OK;
		}
	}
	return SSL_TLSEXT_ERR_OK;	/* the default certificate */
}

/* tls_ctx_setup - the settings every context shares. */
static int
tls_ctx_setup(SSL_CTX *ctx, const struct config *cfg)
{
	int min = cfg->tls_min_version == CONF_TLS_1_3 ? TLS1_3_VERSION :
	    TLS1_2_VERSION;

	if (SSL_CTX_set_min_proto_version(ctx, min) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_12) != 1)
		return -1;
	(void)SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	(void)SSL_CTX_set_dh_auto(ctx, 1);
	(void)SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	(void)SSL_CTX_sess_set_cache_size(ctx, TLS_SESSION_CACHE);
	if (SSL_CTX_set_session_id_context(ctx,
	    (const unsigned char *)TLS_SID_CTX, sizeof(TLS_SID_CTX) - 1) != 1)
		return -1;
	return 0;
}

/* tls_pair_load - one context from a certificate chain and its key. */
static int
tls_pair_load(struct tls_pair *p, const struct config *cfg, const char *cert,
    const char *key, char **err_out)
{
	p->file = xstrdup(cert);
	p->ctx = SSL_CTX_new(TLS_server_method());
	if (p->ctx == NULL)
		log_fatal("out of memory (TLS context)");
	if (tls_ctx_setup(p->ctx, cfg) != 0)
		return tls_fail(err_out, cert, "cannot set up the context");
	if (SSL_CTX_use_certificate_chain_file(p->ctx, cert) != 1)
		return tls_fail(err_out, cert, "cannot load the certificate "
		    "chain");
	if (SSL_CTX_use_PrivateKey_file(p->ctx, key, SSL_FILETYPE_PEM) != 1)
		return tls_fail(err_out, key, "cannot load the private key");
	if (SSL_CTX_check_private_key(p->ctx) != 1)
		return tls_fail(err_out, key, "the key does not match the "
		    "certificate");
	p->cert = SSL_CTX_get0_certificate(p->ctx);
	return 0;
}

/* tls_free - release every context. */
static void
tls_free(struct tls *t)
{
	size_t i;

	for (i = 0; i < t->npairs; i++) {
		SSL_CTX_free(t->pairs[i].ctx);
		free(t->pairs[i].file);
	}
	free(t->pairs);
	free(t);
}

struct tls *
tls_new(const struct config *cfg, char **err_out)
{
	struct tls *t;
	size_t i;

	t = xcalloc(1, sizeof(*t));
	t->pairs = xcalloc(cfg->ntls_certs + 1, sizeof(*t->pairs));
	t->refs = 1;
	ERR_clear_error();
	for (i = 0; i < cfg->ntls_certs && i < cfg->ntls_keys; i++) {
		t->npairs++;
		if (tls_pair_load(&t->pairs[i], cfg, cfg->tls_certs[i],
		    cfg->tls_keys[i], err_out) != 0) {
			tls_free(t);
			return NULL;
		}
	}
	if (t->npairs > 1) {
		SSL_CTX_set_tlsext_servername_callback(t->pairs[0].ctx,
		    tls_sni_cb);
		SSL_CTX_set_tlsext_servername_arg(t->pairs[0].ctx, t);
	}
	return t;
}

struct tls *
tls_ref(struct tls *t)
{
	if (t != NULL)
		t->refs++;
	return t;
}

void
tls_unref(struct tls **tp)
{
	struct tls *t = *tp;

	*tp = NULL;
	if (t != NULL && --t->refs == 0)
		tls_free(t);
}

SSL *
tls_ssl_new(struct tls *t)
{
	SSL *ssl = SSL_new(t->pairs[0].ctx);

	if (ssl == NULL)
		log_fatal("out of memory (SSL)");
	return ssl;
}

int
tls_check_expiry(const struct tls *t, time_t now)
{
	time_t soon = now + (time_t)TLS_EXPIRY_WARN_DAYS * 86400;
	const ASN1_TIME *na;
	size_t i;
	int n = 0;

	for (i = 0; i < t->npairs; i++) {
		na = X509_get0_notAfter(t->pairs[i].cert);
		if (X509_cmp_time(na, &soon) > 0)
			continue;
		n++;
		log_event(LOG_LEVEL_WARN, NULL, "event=tls-expiry",
		    LOG_Q("cert", t->pairs[i].file), LOG_TOK("status",
		    X509_cmp_time(na, &now) <= 0 ? "expired" :
		    "expires-within-14-days"));
	}
	return n;
}

/* tls_write_pem - write a key (mode 0600) or a certificate (0644). */
static int
tls_write_pem(const char *path, EVP_PKEY *key, X509 *cert)
{
	int fd, ok;
	FILE *fp;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    key != NULL ? 0600 : 0644);
	if (fd < 0)
		return -1;
	fp = fdopen(fd, "w");
	if (fp == NULL) {
		(void)close(fd);
		return -1;
	}
	ok = key != NULL ? PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL,
	    NULL) : PEM_write_X509(fp, cert);
	if (fclose(fp) != 0)
		ok = 0;
	return ok == 1 ? 0 : -1;
}

/* tls_x509_build - a self-signed v3 certificate for key. */
static X509 *
tls_x509_build(EVP_PKEY *key, const char *name)
{
	X509 *x = X509_new();
	X509_NAME *subj;
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	char san[600];

	if (x == NULL)
		return NULL;
	(void)snprintf(san, sizeof(san), "DNS:%s,IP:127.0.0.1,IP:::1", name);
	subj = X509_get_subject_name(x);
	if (X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL)) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 86400) == NULL ||
	    X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
	    (const unsigned char *)name, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, subj) != 1 || X509_set_pubkey(x, key) != 1)
		goto fail;
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (ext == NULL || X509_add_ext(x, ext, -1) != 1) {
		X509_EXTENSION_free(ext);
		goto fail;
	}
	X509_EXTENSION_free(ext);
	if (X509_sign(x, key, EVP_sha256()) == 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

int
tls_selfsigned(const char *cert, const char *key, const char *name,
    char **err_out)
{
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	int rc = -1;

	if (access(cert, R_OK) == 0 && access(key, R_OK) == 0)
		return 0;
	ERR_clear_error();
	pk = EVP_EC_gen("P-256");
	if (pk == NULL || (x = tls_x509_build(pk, name)) == NULL) {
		(void)tls_fail(err_out, cert, "cannot make a certificate");
		goto out;
	}
	if (tls_write_pem(key, pk, NULL) != 0 ||
	    tls_write_pem(cert, NULL, x) != 0) {
		(void)tls_fail(err_out, cert, strerror(errno));
		goto out;
	}
	log_event(LOG_LEVEL_INFO, NULL, "event=tls-selfsigned",
	    LOG_Q("cert", cert), LOG_Q("key", key));
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	return rc;
}
