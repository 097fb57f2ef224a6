/* SPDX-License-Identifier: ISC */
/*
 * htpasswd - the http_auth file and HTTP Basic authentication
 * (RFC 7617) against it.
 *
 * Edge module: reads a file, hashes with libcrypt (crypt_rn), decodes
 * base64 and compares with OpenSSL.  It does not log: errors go back to
 * the caller (config load, reload) with file:line.  The hash types are
 * those of libxcrypt that are salted and slow; the rest are refused at
 * load so a site never runs with a password it thinks is protected and
 * is not.
 */
#include "config.h"

#include <crypt.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "htpasswd.h"
#include "xalloc.h"

#define HTPASSWD_LINE_MAX	1024	/* bytes of one line, newline included */
#define HTPASSWD_USERS_MAX	1000	/* each costs a hash at load */
#define HTPASSWD_AUTH_MAX	4096	/* bytes of an Authorization value */
#define HTPASSWD_CACHE_N	8	/* remembered successes */
#define HTPASSWD_CACHE_SECS	300
/*
 * Hashes per second of the clock, for the requests the cache does not
 * answer: a flood of guesses costs the event loop at most this many
 * hashes a second (then 401 without hashing until the next second); a
 * browser already let in is answered from the cache meanwhile.
 */
#define HTPASSWD_HASHES_PER_SEC	16
/*
 * And at most this much CPU time hashing a second (the first hash of a
 * second always runs): 16 bcrypt hashes of cost 12 would hold the loop
 * for seconds; this bounds a flood to the budget plus one hash.
 */
#define HTPASSWD_BUDGET_NS	(40L * 1000 * 1000)

struct htpasswd_user {
	char		*name;
	char		*hash;
};

struct htpasswd_cache {
	unsigned char	 salt[16];
	unsigned char	 key[HTPASSWD_CACHE_N][32];	/* SHA-256 */
	time_t		 until[HTPASSWD_CACHE_N];	/* 0 = empty */
	size_t		 next;				/* round robin */
	time_t		 second;	/* of the hashes counted below */
	unsigned	 hashes;	/* done in that second */
	long		 spent_ns;	/* the CPU time they took */
};

struct htpasswd {
	struct htpasswd_user	*users;
	size_t			 nusers;
	/* Mutable behind a const htpasswd: remembering is not a change. */
	struct htpasswd_cache	*cache;
};

/* The hash prefixes accepted (crypt(5)); everything else is refused. */
static const char *const htpasswd_prefixes[] = {
	"$2y$", "$2b$", "$2a$", "$5$", "$6$", "$y$",
};

static char htpasswd_err[512];

/* htpasswd_fail - format the error into htpasswd_err and return -1. */
static int
htpasswd_fail(const char **err_out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int
htpasswd_fail(const char **err_out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(htpasswd_err, sizeof htpasswd_err, fmt, ap);
	va_end(ap);
	if (err_out != NULL)
		*err_out = htpasswd_err;
	return -1;
}

/*
 * htpasswd_hash_works - whether libcrypt hashes with hash as the setting
 * into a hash of the same shape: a truncated or damaged one would
 * otherwise lock its user out without a word.  Costs one hash.
 */
static bool
htpasswd_hash_works(const char *hash)
{
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	const char *got;
	bool ok;

	got = crypt_rn("", hash, cd, (int)sizeof *cd);
	ok = got != NULL && got[0] == '$' && strlen(got) == strlen(hash);
	free(cd);
	return ok;
}

/*
 * htpasswd_hash_problem - NULL if hash is one this module verifies,
 * else why not.  crypt_checksalt() knows what this libcrypt supports
 * (yescrypt may be missing from an older one) and which are legacy.
 */
static const char *
htpasswd_hash_problem(const char *hash)
{
	size_t i;

	if (hash[0] != '$')
		return "not a crypt(5) hash (a plaintext password, {SHA} or "
		    "DES crypt?): use bcrypt, e.g. htpasswd -B or "
		    "mkpasswd -m bcrypt";
	for (i = 0; i < sizeof htpasswd_prefixes / sizeof *htpasswd_prefixes;
	    i++)
		if (strncmp(hash, htpasswd_prefixes[i],
		    strlen(htpasswd_prefixes[i])) == 0)
			break;
	if (i == sizeof htpasswd_prefixes / sizeof *htpasswd_prefixes)
		return "unsupported hash type (Apache's $apr1$ MD5 and $1$ "
		    "are weak): use bcrypt ($2y$), SHA-crypt ($5$, $6$) or "
		    "yescrypt ($y$)";
	if (strspn(hash, "$./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz=,") != strlen(hash))
		return "a malformed hash (stray characters)";
#ifdef HAVE_CRYPT_CHECKSALT
	/* Debian's libxcrypt calls $5$ legacy; the list above is ours. */
	switch (crypt_checksalt(hash)) {
	case CRYPT_SALT_OK:
	case CRYPT_SALT_METHOD_LEGACY:
		break;
	default:
		return "a malformed hash, or one this libcrypt does not "
		    "support";
	}
#endif
	if (!htpasswd_hash_works(hash))
		return "a malformed or truncated hash (libcrypt cannot use "
		    "it)";
	return NULL;
}

/*
 * htpasswd_line - parse one line (newline stripped) into h.  Returns 0,
 * or -1 with the error for where ("path:line").
 */
static int
htpasswd_line(struct htpasswd *h, char *line, const char *where,
    const char **err_out)
{
	char *colon, *hash;
	const char *why;
	size_t i;

	colon = strchr(line, ':');
	if (colon == NULL)
		return htpasswd_fail(err_out, "%s: no ':' (user:hash)", where);
	*colon = '\0';
	hash = colon + 1;
	if (line[0] == '\0')
		return htpasswd_fail(err_out, "%s: empty user name", where);
	for (i = 0; line[i] != '\0'; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			return htpasswd_fail(err_out,
			    "%s: control character in the user name", where);
	if ((why = htpasswd_hash_problem(hash)) != NULL)
		return htpasswd_fail(err_out, "%s: user '%s': %s", where, line,
		    why);
	for (i = 0; i < h->nusers; i++)
		if (strcmp(h->users[i].name, line) == 0)
			return htpasswd_fail(err_out, "%s: user '%s' again",
			    where, line);
	if (h->nusers == HTPASSWD_USERS_MAX)
		return htpasswd_fail(err_out, "%s: more than %d users", where,
		    HTPASSWD_USERS_MAX);
	h->users = xrealloc(h->users, h->nusers + 1, sizeof *h->users);
	h->users[h->nusers].name = xstrdup(line);
	h->users[h->nusers].hash = xstrdup(hash);
	h->nusers++;
	return 0;
}

/* htpasswd_read - read every line of f (named path) into h. */
static int
htpasswd_read(struct htpasswd *h, FILE *f, const char *path,
    const char **err_out)
{
	char line[HTPASSWD_LINE_MAX + 1], where[300];
	size_t lineno = 0, len;

	while (fgets(line, sizeof line, f) != NULL) {
		lineno++;
		(void)snprintf(where, sizeof where, "%s:%zu", path, lineno);
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(f))
			return htpasswd_fail(err_out, "%s: line too long",
			    where);
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (strlen(line) != len)
			return htpasswd_fail(err_out, "%s: NUL byte", where);
		if (len == 0 || line[0] == '#')
			continue;
		if (htpasswd_line(h, line, where, err_out) == -1)
			return -1;
	}
	if (ferror(f))
		return htpasswd_fail(err_out, "%s: %s", path, strerror(errno));
	if (h->nusers == 0)
		return htpasswd_fail(err_out, "%s: no users", path);
	return 0;
}

int
htpasswd_load(const char *path, struct htpasswd **out, const char **err_out)
{
	struct htpasswd *h;
	FILE *f;
	int rc;

	*out = NULL;
	if ((f = fopen(path, "re")) == NULL)
		return htpasswd_fail(err_out, "%s: %s", path, strerror(errno));
	h = xcalloc(1, sizeof *h);
	h->cache = xcalloc(1, sizeof *h->cache);
	rc = htpasswd_read(h, f, path, err_out);
	(void)fclose(f);
	if (rc == 0 && RAND_bytes(h->cache->salt, sizeof h->cache->salt) != 1)
		rc = htpasswd_fail(err_out, "%s: no random bytes for the "
		    "cache salt", path);
	if (rc == -1) {
		htpasswd_free(&h);
		return -1;
	}
	*out = h;
	return 0;
}

/*
 * htpasswd_decode - the "user:password" of a Basic credentials value
 * into out (size cap), NUL-terminated; the length or -1.
 *   credentials = "Basic" 1*SP token68     (RFC 7617 §2, RFC 7235 §2.1)
 */
static int
htpasswd_decode(const char *auth, unsigned char *out, size_t cap)
{
	size_t len, pad = 0;
	int n;

	if (strncasecmp(auth, "Basic", 5) != 0 || auth[5] != ' ')
		return -1;
	auth += 5;
	auth += strspn(auth, " ");
	len = strcspn(auth, " \t\r\n");
	if (auth[len] != '\0' || len == 0 || len % 4 != 0 ||
	    len / 4 * 3 >= cap)
		return -1;
	if (auth[len - 1] == '=')
		pad = auth[len - 2] == '=' ? 2 : 1;
	n = EVP_DecodeBlock(out, (const unsigned char *)auth, (int)len);
	if (n < 0 || (size_t)n < pad)
		return -1;
	n -= (int)pad;
	out[n] = '\0';
	if (memchr(out, '\0', (size_t)n) != NULL)
		return -1;
	return n;
}

/* htpasswd_cache_key - SHA-256 of the cache's salt and auth; false if none. */
static bool
htpasswd_cache_key(const struct htpasswd_cache *c, const char *auth,
    unsigned char key[32])
{
	EVP_MD_CTX *ctx;
	unsigned int n = 32;
	bool ok;

	ok = (ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, c->salt, sizeof c->salt) == 1 &&
	    EVP_DigestUpdate(ctx, auth, strlen(auth)) == 1 &&
	    EVP_DigestFinal_ex(ctx, key, &n) == 1 && n == 32;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* htpasswd_cache_hit - whether key is a remembered, unexpired success. */
static bool
htpasswd_cache_hit(const struct htpasswd_cache *c,
    const unsigned char key[32], time_t now)
{
	size_t i;

	for (i = 0; i < HTPASSWD_CACHE_N; i++)
		if (c->until[i] > now &&
		    CRYPTO_memcmp(c->key[i], key, 32) == 0)
			return true;
	return false;
}

/*
 * htpasswd_verify - whether password is user's.  An unknown user is
 * hashed against the first user's hash, so it costs the same time.
 */
static bool
htpasswd_verify(const struct htpasswd *h, const char *user,
    const char *password)
{
	const struct htpasswd_user *u = NULL;
	struct crypt_data *cd;
	const char *got;
	bool ok;
	size_t i;

	for (i = 0; i < h->nusers; i++)
		if (strcmp(h->users[i].name, user) == 0)
			u = &h->users[i];
	cd = xcalloc(1, sizeof *cd);
	got = crypt_rn(password, (u != NULL ? u : &h->users[0])->hash, cd,
	    (int)sizeof *cd);
	ok = u != NULL && got != NULL && strlen(got) == strlen(u->hash) &&
	    CRYPTO_memcmp(got, u->hash, strlen(got)) == 0;
	OPENSSL_cleanse(cd, sizeof *cd);
	free(cd);
	return ok;
}

/* htpasswd_timed_verify - htpasswd_verify, its CPU time added to *ns. */
static bool
htpasswd_timed_verify(const struct htpasswd *h, const char *user,
    const char *pass, long *ns)
{
	struct timespec a, b;
	bool ok;

	(void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	ok = htpasswd_verify(h, user, pass);
	(void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	*ns += (long)(b.tv_sec - a.tv_sec) * 1000000000L +
	    (b.tv_nsec - a.tv_nsec);
	return ok;
}

bool
htpasswd_check(const struct htpasswd *h, const char *authorization)
{
	unsigned char plain[HTPASSWD_AUTH_MAX], key[32];
	struct htpasswd_cache *c;
	struct timespec ts;
	char *colon;
	bool ok, keyed;

	if (h == NULL || authorization == NULL ||
	    strlen(authorization) > HTPASSWD_AUTH_MAX ||
	    htpasswd_decode(authorization, plain, sizeof plain) < 0 ||
	    (colon = strchr((char *)plain, ':')) == NULL)
		return false;
	c = h->cache;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	keyed = htpasswd_cache_key(c, authorization, key);
	if (keyed && htpasswd_cache_hit(c, key, ts.tv_sec)) {
		OPENSSL_cleanse(plain, sizeof plain);
		return true;
	}
	if (c->second != ts.tv_sec) {
		c->second = ts.tv_sec;
		c->hashes = 0;
		c->spent_ns = 0;
	}
	*colon = '\0';
	ok = false;
	if (c->hashes < HTPASSWD_HASHES_PER_SEC &&
	    c->spent_ns < HTPASSWD_BUDGET_NS) {
		c->hashes++;
		ok = htpasswd_timed_verify(h, (char *)plain, colon + 1,
		    &c->spent_ns);
	}
	OPENSSL_cleanse(plain, sizeof plain);
	if (ok && keyed) {
		memcpy(c->key[c->next], key, sizeof key);
		c->until[c->next] = ts.tv_sec + HTPASSWD_CACHE_SECS;
		c->next = (c->next + 1) % HTPASSWD_CACHE_N;
	}
	return ok;
}

void
htpasswd_free(struct htpasswd **hp)
{
	struct htpasswd *h;
	size_t i;

	if (hp == NULL || (h = *hp) == NULL)
		return;
	for (i = 0; i < h->nusers; i++) {
		free(h->users[i].name);
		OPENSSL_cleanse(h->users[i].hash, strlen(h->users[i].hash));
		free(h->users[i].hash);
	}
	free(h->users);
	if (h->cache != NULL)
		OPENSSL_cleanse(h->cache, sizeof *h->cache);
	free(h->cache);
	free(h);
	*hp = NULL;
}
