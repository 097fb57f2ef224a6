/* SPDX-License-Identifier: ISC */
/*
 * idn - domains and local parts in the one form the daemon compares and
 * stores them in, and the path component each becomes in a Maildir
 * template.  Pure computation (libidn2 for IDNA, libunistring for Unicode
 * case folding): no I/O, no locale.  RFC 5890/5891 (IDNA2008) with the
 * UTS #46 non-transitional mapping; RFC 6531 (UTF-8 local parts).
 */
#ifndef INLET_IDN_H
#define INLET_IDN_H

#include <stdbool.h>
#include <stddef.h>

#define IDN_DOMAIN_MAX		253	/* RFC 1035 §2.3.4, no final dot */
#define IDN_COMPONENT_MAX	255	/* NAME_MAX of common filesystems */

/*
 * idn_domain - the lower-case A-label form of a domain given with
 * U-labels or A-labels in any case ("EXÄMPLE.test" and
 * "xn--exmple-cua.TEST" both give "xn--exmple-cua.test").  The result
 * holds only a-z, 0-9, '-' and '.', in labels of 1-63 octets, at most
 * IDN_DOMAIN_MAX in all.  Writes out (size outlen).  Returns 0, or -1
 * when in is no valid domain name (an address literal, a final dot, an
 * empty label, ASCII other than letters, digits and hyphens, bad
 * punycode, a code point IDNA2008 disallows) or the result does not fit.
 */
int	idn_domain(const char *in, char *out, size_t outlen);

/*
 * idn_local - a local part case-folded: Unicode full case folding and
 * NFC (so "JÖSÉ", "jösé" and "JO\u0308SE\u0301" are one), which for
 * ASCII is plain lower case.  Writes out (size outlen).  Returns 0, or -1
 * when in is not valid UTF-8 or the result does not fit.
 */
int	idn_local(const char *in, char *out, size_t outlen);

/*
 * idn_domain_name, idn_local_name - the single path component a domain
 * (%d) or a local part (%u) becomes: idn_domain() or idn_local() of it,
 * or, when that refuses it (an address literal, invalid UTF-8), its
 * octets with ASCII lower-cased; then escaped so that it is always one
 * safe component: '/', '%', control octets (below 0x20, 0x7f), a leading
 * '.' and, unless the whole is valid UTF-8, octets from 0x80 become %XX
 * (two upper-case hex digits).  So the result is never empty, ".", "..",
 * never begins with '.', holds no '/' or NUL, and distinct inputs in the
 * same normal form stay distinct.  Writes out (size outlen).  Returns 0,
 * or -1 when in is empty or the result is longer than IDN_COMPONENT_MAX
 * or does not fit.
 */
int	idn_domain_name(const char *in, char *out, size_t outlen);
int	idn_local_name(const char *in, char *out, size_t outlen);

/*
 * idn_expand - expand a maildir template: %d is the domain and %u
 * the local part, %% a percent sign.  Each of %d and %u becomes exactly
 * one path component, whatever the address holds (idn_domain_name() and
 * idn_local_name(): the domain as lower-case A-labels, the local part
 * case-folded, and '/', '%', control octets and a leading '.' escaped as
 * %XX), so no recipient can name a directory outside the template's.
 * With raw_local the local part is taken as it is (the Maildir cleaner
 * passes directory entries, which are components already).  A path
 * without '%' is returned as is.  Writes to out (size outlen).  Returns
 * 0, or -1 when the result does not fit, a name cannot become a
 * component (empty, or over IDN_COMPONENT_MAX) or the template has
 * another %-escape.
 */
int	idn_expand(const char *tmpl, const char *local, const char *domain,
	    bool raw_local, char *out, size_t outlen);

#endif
