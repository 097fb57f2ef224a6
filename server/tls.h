/* SPDX-License-Identifier: ISC */
/*
 * tls - the OpenSSL 3 server side: contexts built from the tls_cert /
 * tls_key pairs of the configuration (the first pair is the default, the
 * others are chosen by SNI against their certificates' names), TLS 1.2 or
 * newer, server cipher preference, no compression or renegotiation, a
 * session cache; expiry warnings; a self-signed certificate for --sink.
 * Edge module: no libevent, no protocol.
 */
#ifndef INLET_TLS_H
#define INLET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>

#include "conf.h"

#define TLS_EXPIRY_WARN_DAYS	14

struct tls;

/*
 * tls_new - load every certificate/key pair of cfg, check that each key
 * matches its certificate and that the chain loads.  Returns a context
 * with one reference, or NULL and *err_out (heap, caller frees) saying
 * which file and why.
 */
struct tls *tls_new(const struct config *cfg, char **err_out);

/* tls_ref / tls_unref - connections hold a reference while they may
 * still need the SNI callback; the last unref frees.  NULL-safe. */
struct tls *tls_ref(struct tls *t);
void	tls_unref(struct tls **tp);

/* tls_ssl_new - a server SSL object on the default context. */
SSL	*tls_ssl_new(struct tls *t);

/*
 * tls_check_expiry - log a warning for each certificate that expires
 * within TLS_EXPIRY_WARN_DAYS days of now (or has expired).  Returns the
 * number of such certificates.
 */
int	tls_check_expiry(const struct tls *t, time_t now);

/*
 * tls_error_string - the queued OpenSSL errors of this thread as one
 * line "reason; reason" (skipping libevent's lib-0 entries) into buf.
 * Clears the queue.  Returns buf ("unknown" when nothing was queued).
 */
char	*tls_error_string(char *buf, size_t len);

/*
 * tls_selfsigned - make a self-signed certificate (EC P-256, valid for
 * 10 years, CN and DNS name `name`, IP 127.0.0.1 and ::1) and its key
 * (mode 0600) unless both files exist.  0 or -1 with *err_out.
 */
int	tls_selfsigned(const char *cert, const char *key, const char *name,
	    char **err_out);

#endif
