/* SPDX-License-Identifier: ISC */
/*
 * idn - domains and local parts in one normal form, and the path
 * component each becomes.
 *
 * Domains: IDNA2008 (RFC 5891) through libidn2 with the UTS #46
 * non-transitional mapping, giving lower-case A-labels.  Local parts:
 * Unicode full case folding and NFC through libunistring (RFC 6531 lets
 * them hold UTF-8).  Pure: no I/O, and no locale (the case mappings are
 * the locale-independent ones).  Allocation failure is fatal.
 *
 * Most names are plain ASCII, and for those both libraries only lower-
 * case: UTS #46 maps A-Z to a-z and libidn2 copies an ASCII label as it
 * is unless "--" are its third and fourth characters (an A-label,
 * "xn--", which it decodes and checks, or a label it refuses), and
 * full case folding and NFC leave ASCII as it is but for A-Z.  So an
 * ASCII local part, and an ASCII domain without such labels, are lower-
 * cased here without the libraries (about 4 % of the event loop's CPU,
 * 1.4 % of inletd's, per message otherwise); tests/unit/check_idn.c
 * holds both paths to the same answers.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>
#include <unicase.h>
#include <unistr.h>
#include <uninorm.h>

#include "idn.h"
#include "log.h"

#define IDN_LABEL_MAX	63

/* idn_is_ldh - an ASCII letter, digit or hyphen. */
static bool
idn_is_ldh(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

/* idn_lower - ASCII lower case; the locale must not change a name. */
static char
idn_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * idn_is_hostname - label *("." label), each label 1-63 letters, digits
 * and hyphens, not beginning or ending with a hyphen (RFC 1123 §2.1), at
 * most IDN_DOMAIN_MAX in all.  What libidn2 returns is checked again
 * against this, so that no mapping can ever hand on another octet.
 */
static bool
idn_is_hostname(const char *s)
{
	size_t i, label = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (idn_is_ldh(s[i]) && (s[i] != '-' || label > 0)) {
			if (++label > IDN_LABEL_MAX)
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && s[i - 1] != '-' && i <= IDN_DOMAIN_MAX;
}

/* idn_is_plain - all ASCII, and no label with "--" as its third and
 * fourth characters (an A-label, "xn--", which libidn2 decodes and
 * checks, or a label it refuses, "ab--c"): what UTS #46 and libidn2
 * only lower-case. */
static bool
idn_is_plain(const char *s)
{
	const unsigned char *p;
	bool start = true;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p >= 0x80)
			return false;
		if (start && p[1] != '\0' && p[2] == '-' && p[3] == '-')
			return false;
		start = *p == '.';
	}
	return true;
}

int
idn_domain(const char *in, char *out, size_t outlen)
{
	const unsigned char *p;
	uint8_t *res = NULL;
	size_t i, len;
	int rc;

	/* Only labels go in: no brackets, '_', '/' or anything UTS #46
	 * would map or drop (libidn2 drops some disallowed ASCII). */
	if (in[0] == '\0')
		return -1;
	for (p = (const unsigned char *)in; *p != '\0'; p++)
		if (*p < 0x80 && *p != '.' && !idn_is_ldh(*p))
			return -1;
	if (idn_is_plain(in)) {
		len = (size_t)(p - (const unsigned char *)in);
		if (len >= outlen || !idn_is_hostname(in))
			return -1;
		for (i = 0; i <= len; i++)
			out[i] = idn_lower(in[i]);
		return 0;
	}
	rc = idn2_lookup_u8((const uint8_t *)in, &res, IDN2_NONTRANSITIONAL);
	if (rc == IDN2_MALLOC)
		log_fatal("idn: out of memory");
	if (rc != IDN2_OK)
		return -1;
	len = strlen((const char *)res);
	if (len >= outlen || !idn_is_hostname((const char *)res)) {
		idn2_free(res);
		return -1;
	}
	for (i = 0; i <= len; i++)
		out[i] = idn_lower((char)res[i]);
	idn2_free(res);
	return 0;
}

int
idn_local(const char *in, char *out, size_t outlen)
{
	size_t n = strlen(in), len;
	uint8_t *r;

	if (outlen == 0 || u8_check((const uint8_t *)in, n) != NULL)
		return -1;
	for (len = 0; len < n && (unsigned char)in[len] < 0x80; len++)
		continue;
	if (len == n) {		/* ASCII: folding and NFC only lower-case */
		if (n >= outlen)
			return -1;
		for (len = 0; len <= n; len++)
			out[len] = idn_lower(in[len]);
		return 0;
	}
	len = outlen - 1;	/* room for the NUL */
	r = u8_casefold((const uint8_t *)in, n, NULL, UNINORM_NFC,
	    (uint8_t *)out, &len);
	if (r == NULL) {
		if (errno == ENOMEM)
			log_fatal("idn: out of memory");
		return -1;
	}
	if (r != (uint8_t *)out) {	/* did not fit: libunistring's copy */
		free(r);
		return -1;
	}
	out[len] = '\0';
	return 0;
}

/*
 * idn_escape - s as one safe path component (idn.h): '/', '%', control
 * octets, a leading '.' and (when s is not valid UTF-8) octets from 0x80
 * become %XX; ASCII lower-cased when lower.  Returns 0, or -1 for an
 * empty s or a result over IDN_COMPONENT_MAX or outlen - 1.
 */
static int
idn_escape(const char *s, bool lower, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, n = 0, max;
	bool utf8;
	int c;

	if (s[0] == '\0' || outlen == 0)
		return -1;
	max = outlen - 1 < IDN_COMPONENT_MAX ? outlen - 1 : IDN_COMPONENT_MAX;
	utf8 = u8_check((const uint8_t *)s, strlen(s)) == NULL;
	for (i = 0; s[i] != '\0'; i++) {
		c = (unsigned char)s[i];
		if (c == '/' || c == '%' || c < 0x20 || c == 0x7f ||
		    (i == 0 && c == '.') || (c >= 0x80 && !utf8)) {
			if (max - n < 3)
				return -1;
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 0xf];
			continue;
		}
		if (n == max)
			return -1;
		out[n++] = lower ? idn_lower((char)c) : (char)c;
	}
	out[n] = '\0';
	return 0;
}

int
idn_domain_name(const char *in, char *out, size_t outlen)
{
	char a[IDN_DOMAIN_MAX + 1];

	if (idn_domain(in, a, sizeof(a)) == 0)
		return idn_escape(a, false, out, outlen);
	return idn_escape(in, true, out, outlen);
}

int
idn_local_name(const char *in, char *out, size_t outlen)
{
	char f[IDN_COMPONENT_MAX + 1];

	/* Valid UTF-8 is folded or refused, never stored unfolded. */
	if (u8_check((const uint8_t *)in, strlen(in)) != NULL)
		return idn_escape(in, true, out, outlen);
	if (idn_local(in, f, sizeof(f)) == -1)
		return -1;
	return idn_escape(f, false, out, outlen);
}

/* idn_put - append len bytes of src to out. */
static int
idn_put(char *out, size_t outlen, size_t *n, const char *src, size_t len)
{
	if (*n >= outlen || len >= outlen - *n)
		return -1;
	memcpy(out + *n, src, len);
	*n += len;
	return 0;
}

/*
 * idn_put_name - append the single path component that name (a
 * domain for %d, a local part for %u) becomes (idn.h), or name itself
 * when raw (a directory entry, a component already).
 */
static int
idn_put_name(char *out, size_t outlen, size_t *n, const char *name,
    bool domain, bool raw)
{
	char comp[IDN_COMPONENT_MAX + 1];
	int r;

	if (raw)
		return idn_put(out, outlen, n, name, strlen(name));
	r = domain ? idn_domain_name(name, comp, sizeof(comp)) :
	    idn_local_name(name, comp, sizeof(comp));
	if (r == -1)
		return -1;
	return idn_put(out, outlen, n, comp, strlen(comp));
}

int
idn_expand(const char *tmpl, const char *local, const char *domain,
    bool raw_local, char *out, size_t outlen)
{
	const char *s;
	size_t n = 0;
	int r;

	for (s = tmpl; *s != '\0'; s++) {
		if (*s != '%') {
			r = idn_put(out, outlen, &n, s, 1);
		} else {
			switch (*++s) {
			case 'd':
				r = idn_put_name(out, outlen, &n, domain,
				    true, false);
				break;
			case 'u':
				r = idn_put_name(out, outlen, &n, local,
				    false, raw_local);
				break;
			case '%':
				r = idn_put(out, outlen, &n, "%", 1);
				break;
			default:	/* another escape, or a trailing '%' */
				return -1;
			}
		}
		if (r == -1)
			return -1;
	}
	if (n >= outlen)
		return -1;
	out[n] = '\0';
	return 0;
}
