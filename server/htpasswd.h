/* SPDX-License-Identifier: ISC */
/*
 * htpasswd - the sink's HTTP users (the `http_auth` file) and HTTP Basic
 * authentication against them.
 *
 * Edge module (reads a file, calls libcrypt).  The file holds one
 * "user:hash" line per user; blank lines and lines starting with '#' are
 * skipped.  Only slow, salted hashes are accepted: bcrypt ($2y$, $2b$,
 * $2a$), SHA-crypt ($5$, $6$) and yescrypt ($y$, when libcrypt has it);
 * anything else (plaintext, Apache's $apr1$ MD5, {SHA}, DES crypt, $1$)
 * is refused when the file is loaded, naming file:line.  RFC 7617 (the
 * "Basic" scheme), RFC 7235 (Authorization).
 */
#ifndef INLET_HTPASSWD_H
#define INLET_HTPASSWD_H

#include <stdbool.h>

struct htpasswd;

/*
 * htpasswd_load - read the users of the file at path.  Returns 0 and
 * *out (free with htpasswd_free), or -1 and *err_out: a message
 * beginning "path:line: " (or "path: " for an unreadable file), valid
 * until the next htpasswd_load call.  A file with no user is an error.
 */
int	htpasswd_load(const char *path, struct htpasswd **out,
	    const char **err_out);

/*
 * htpasswd_check - whether authorization (the value of an HTTP
 * Authorization header, e.g. "Basic dXNlcjpwYXNz"; NULL when the request
 * had none) names a user of h with the right password.  A malformed
 * value is false.  An unknown user costs one hash like a known one.  A
 * success is remembered (a salted SHA-256 of the value, a few entries
 * for a few minutes) so a browser's every request does not cost a
 * bcrypt on the event loop; failures are never remembered.  At most 16
 * hashes a second are done for values the cache does not know; past
 * that it is false without hashing until the next second, so a flood
 * of guesses cannot stall the loop.
 */
bool	htpasswd_check(const struct htpasswd *h, const char *authorization);

/* htpasswd_free - free *hp and set it to NULL; NULL-safe. */
void	htpasswd_free(struct htpasswd **hp);

#endif
