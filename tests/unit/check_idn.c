/* SPDX-License-Identifier: ISC */
/*
 * check_idn - domains and local parts in their one normal form, and the
 * path component each becomes.  Tables: idn_domain() (U-labels, A-labels,
 * mixed case, invalid IDNs refused), idn_local() (Unicode case folding
 * and NFC), idn_domain_name() and idn_local_name() (hostile names always
 * one safe component).  Plain ASCII names take a path of their own in
 * idn.c, without the libraries: test_ascii holds it to what libidn2 and
 * libunistring answer for the same names.  Links only libcore (and the
 * two libraries it uses).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <idn2.h>
#include <unicase.h>
#include <uninorm.h>

#include "idn.h"

#define A10	"aaaaaaaaaa"
#define A63	A10 A10 A10 A10 A10 A10 "aaa"
#define S10	"//////////"

struct row {
	const char	*in;
	const char	*want;		/* NULL: -1 */
	size_t		 outlen;	/* 0: the whole buffer */
};

static const struct row domain_rows[] = {
	{ "example.test", "example.test", 0 },
	{ "Example.TEST", "example.test", 0 },
	{ "ex\xc3\xa4mple.test", "xn--exmple-cua.test", 0 },	/* exämple */
	{ "EX\xc3\x84MPLE.TEST", "xn--exmple-cua.test", 0 },	/* EXÄMPLE */
	{ "xn--exmple-cua.test", "xn--exmple-cua.test", 0 },
	{ "XN--EXMPLE-CUA.Test", "xn--exmple-cua.test", 0 },
	{ "x.ex\xc3\xa4mple.xn--exmple-cua", "x.xn--exmple-cua.xn--exmple-cua",
	    0 },
	{ "Stra\xc3\x9f" "e.de", "xn--strae-oqa.de", 0 },	/* ß is kept */
	{ "\xef\xbd\x81\xef\xbd\x82.test", "ab.test", 0 },	/* fullwidth ab */
	{ "1.2.3.4", "1.2.3.4", 0 },
	{ A63 ".test", A63 ".test", 0 },
	{ "example.test", "example.test", 13 },
	{ "example.test", NULL, 12 },
	{ "xn--zz.test", NULL, 0 },		/* bad punycode */
	{ "\xe2\x98\x83.test", NULL, 0 },	/* U+2603, disallowed */
	{ "xn--n3h.test", NULL, 0 },		/* the same as an A-label */
	{ "a\xef\xbc\x8f" "b.test", NULL, 0 },	/* fullwidth '/' */
	{ "a\xef\xbc\xbf" "b.test", NULL, 0 },	/* fullwidth '_' */
	{ "\xff.test", NULL, 0 },		/* not UTF-8 */
	{ "a_b.test", NULL, 0 },
	{ "a/b.test", NULL, 0 },
	{ "[1.2.3.4]", NULL, 0 },
	{ "[IPv6:::1]", NULL, 0 },
	{ "example.test.", NULL, 0 },
	{ "a..b", NULL, 0 },
	{ ".a", NULL, 0 },
	{ "", NULL, 0 },
	{ ".", NULL, 0 },
	{ "..", NULL, 0 },
	{ "-x.test", NULL, 0 },
	{ "x-.test", NULL, 0 },
	{ A63 "a.test", NULL, 0 },		/* a 64-octet label */
	/* ASCII: lower-cased without libidn2, but for "--" at 3-4 */
	{ "Mail-Host.Example.TEST", "mail-host.example.test", 0 },
	{ "ab--cd.test", NULL, 0 },		/* libidn2 refuses it */
	{ "x.AB--cd.test", NULL, 0 },
	{ "a--b.test", "a--b.test", 0 },
	{ "Xn--exmple-cua.test", "xn--exmple-cua.test", 0 },
	{ "x.Xn--zz", NULL, 0 },		/* bad punycode, 2nd label */
	{ "ex.test", "ex.test", 8 },		/* exactly fits */
	{ "ex.test", NULL, 7 },
	{ A63 "." A63 "." A63 "." A10 A10 A10 A10 A10 A10 "a", /* 253 */
	    A63 "." A63 "." A63 "." A10 A10 A10 A10 A10 A10 "a", 0 },
	{ A63 "." A63 "." A63 "." A10 A10 A10 A10 A10 A10 "aa", NULL, 0 },
};

static const struct row local_rows[] = {
	{ "Bob", "bob", 0 },
	{ "J\xc3\x96S\xc3\x89", "j\xc3\xb6s\xc3\xa9", 0 },	/* JÖSÉ */
	{ "j\xc3\xb6s\xc3\xa9", "j\xc3\xb6s\xc3\xa9", 0 },	/* jösé */
	{ "JO\xcc\x88SE\xcc\x81", "j\xc3\xb6s\xc3\xa9", 0 },	/* decomposed */
	{ "Stra\xc3\x9f" "e", "strasse", 0 },
	{ "a+Tag", "a+tag", 0 },
	{ "", "", 0 },
	{ "Bob", "bob", 4 },
	{ "Bob", NULL, 3 },
	{ "\xff", NULL, 0 },
	{ "a\xc3", NULL, 0 },
	{ "Bob", "bob", 4 },			/* ASCII: exactly fits */
	{ "Bob.Smith+X_y", "bob.smith+x_y", 0 },
};

static const struct row domain_name_rows[] = {
	{ "EX\xc3\x84MPLE.test", "xn--exmple-cua.test", 0 },
	{ "[IPv6:::1]", "[ipv6:::1]", 0 },
	{ "[127.0.0.1]", "[127.0.0.1]", 0 },
	{ "[x:/../../y]", "[x:%2F..%2F..%2Fy]", 0 },
	{ "[a:%2f..]", "[a:%252f..]", 0 },
	{ "..", "%2E.", 0 },
	{ ".", "%2E", 0 },
	{ ".x", "%2Ex", 0 },
	{ "a/b", "a%2Fb", 0 },
	{ "a\x01" "b", "a%01b", 0 },
	{ "xn--zz.TEST", "xn--zz.test", 0 },	/* invalid: lower-cased */
	{ "\xe2\x98\x83.test", "\xe2\x98\x83.test", 0 },
	{ "\xff.test", "%FF.test", 0 },
	{ "", NULL, 0 },
	{ "[x:" S10 S10 S10 S10 S10 S10 S10 S10 "////]", NULL, 0 }, /* 256 */
	{ "[x:" S10 S10 S10 S10 S10 S10 S10 S10 "//]", "[x:" "%2F%2F%2F%2F"
	    "%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F"
	    "%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F"
	    "%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F"
	    "%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F]", 0 },
	{ "x.test", "x.test", 7 },
	{ "x.test", NULL, 6 },
};

static const struct row local_name_rows[] = {
	{ "J\xc3\x96S\xc3\x89", "j\xc3\xb6s\xc3\xa9", 0 },
	{ "..", "%2E.", 0 },
	{ ".", "%2E", 0 },
	{ ".hidden", "%2Ehidden", 0 },
	{ "a.b", "a.b", 0 },
	{ "a/../../b", "a%2F..%2F..%2Fb", 0 },
	{ "/", "%2F", 0 },
	{ "%2f", "%252f", 0 },
	{ "%2e%2e", "%252e%252e", 0 },
	{ "a\x7f" "b", "a%7Fb", 0 },
	{ "\x1b[0m", "%1B[0m", 0 },
	{ "A\\B", "a\\b", 0 },
	{ "\xff\xfe" "A", "%FF%FEa", 0 },	/* not UTF-8: not folded */
	{ "", NULL, 0 },
	{ A63 "a", A63 "a", 0 },
	{ "bob", "bob", 4 },
	{ "bob", NULL, 3 },
	{ "..", NULL, 4 },
};

/* check_row - run fn on row r; bytes past the outlen are not written. */
static void
check_row(int (*fn)(const char *, char *, size_t), const struct row *r)
{
	char out[1024];
	size_t outlen = r->outlen != 0 ? r->outlen : sizeof(out), i;
	int rc;

	memset(out, 'Z', sizeof(out));
	rc = fn(r->in, out, outlen);
	if (r->want == NULL) {
		ck_assert_msg(rc == -1, "%s: got %d", r->in, rc);
	} else {
		ck_assert_msg(rc == 0, "%s: got %d", r->in, rc);
		ck_assert_str_eq(out, r->want);
	}
	for (i = outlen; i < sizeof(out); i++)
		ck_assert_int_eq(out[i], 'Z');
}

START_TEST(test_domain)
{
	check_row(idn_domain, &domain_rows[_i]);
}
END_TEST

START_TEST(test_local)
{
	check_row(idn_local, &local_rows[_i]);
}
END_TEST

START_TEST(test_domain_name)
{
	check_row(idn_domain_name, &domain_name_rows[_i]);
}
END_TEST

START_TEST(test_local_name)
{
	check_row(idn_local_name, &local_name_rows[_i]);
}
END_TEST

/*
 * Whatever the octets, a name is one safe component or refused: every
 * two-octet string (and a leading dot before it) is tried.
 */
START_TEST(test_names_safe)
{
	char in[4], out[IDN_COMPONENT_MAX + 1];
	int (*fn)(const char *, char *, size_t) = _i ? idn_local_name :
	    idn_domain_name;
	unsigned a, b;

	for (a = 1; a < 256; a++) {
		for (b = 0; b < 256; b++) {
			in[0] = (char)a;
			in[1] = (char)b;
			in[2] = '\0';
			if (fn(in, out, sizeof(out)) == -1)
				continue;
			ck_assert_ptr_null(strchr(out, '/'));
			ck_assert_int_ne(out[0], '.');
			ck_assert_int_ne(out[0], '\0');
			for (size_t i = 0; out[i] != '\0'; i++)
				ck_assert((unsigned char)out[i] >= 0x20 &&
				    out[i] != 0x7f);
		}
	}
}
END_TEST

/* ref_domain - idn_domain() by libidn2 alone, for an ASCII name. */
static int
ref_domain(const char *in, char *out, size_t outlen)
{
	uint8_t *res = NULL;
	size_t i, len, label = 0;
	bool ok = true;

	for (i = 0; in[i] != '\0'; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789-.", in[i]) == NULL)
			return -1;
	if (in[0] == '\0' || idn2_lookup_u8((const uint8_t *)in, &res,
	    IDN2_NONTRANSITIONAL) != IDN2_OK)
		return -1;
	len = strlen((const char *)res);
	/* labels of 1..63 LDH, no '-' first or last, 253 in all */
	for (i = 0; i <= len; i++) {
		if (res[i] == '.' || res[i] == '\0') {
			ok = ok && label > 0 && res[i - 1] != '-';
			label = 0;
		} else if (++label > 63 || (label == 1 && res[i] == '-')) {
			ok = false;
		}
	}
	if (!ok || len > 253 || len >= outlen) {
		idn2_free(res);
		return -1;
	}
	for (i = 0; i <= len; i++)
		out[i] = (char)(res[i] >= 'A' && res[i] <= 'Z' ? res[i] + 32 :
		    res[i]);
	idn2_free(res);
	return 0;
}

/* ref_local - idn_local() by libunistring alone. */
static int
ref_local(const char *in, char *out, size_t outlen)
{
	size_t len = outlen - 1;
	uint8_t *r = u8_casefold((const uint8_t *)in, strlen(in), NULL,
	    UNINORM_NFC, (uint8_t *)out, &len);

	if (r == NULL)
		return -1;
	if (r != (uint8_t *)out) {
		free(r);
		return -1;
	}
	out[len] = '\0';
	return 0;
}

/*
 * 20,000 ASCII names from a fixed pseudo-random sequence (letters of
 * both cases, digits, '-', '.', "xn--" and "ab--" at label starts, and
 * a few octets no domain may hold), each at several output sizes:
 * idn_domain() and idn_local() answer what the libraries answer.
 */
START_TEST(test_ascii)
{
	static const char alpha[] = "aZxXnN09-.-.q_ +";
	static const struct {
		const char	*what;
		int		(*fn)(const char *, char *, size_t);
		int		(*ref)(const char *, char *, size_t);
	} pairs[] = {
		{ "domain", idn_domain, ref_domain },
		{ "local", idn_local, ref_local },
	};
	char in[300], a[300], b[300];
	uint32_t seed = 12345;
	size_t len, i, j, outlen;
	int k, ra, rb;

#define NEXT()	(seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff)
	for (k = 0; k < 20000; k++) {
		len = 1 + NEXT() % (k % 100 == 0 ? 280 : 16);
		for (i = 0; i < len; i++)
			in[i] = alpha[NEXT() % (sizeof(alpha) - 1)];
		in[len] = '\0';
		if (k % 5 == 0 && len >= 4)
			memcpy(in + NEXT() % (len - 3), k % 10 ? "xn--" : "AB--",
			    4);
		for (outlen = 1; outlen < sizeof(a); outlen += 1 + outlen) {
			for (j = 0; j < 2; j++) {
				ra = pairs[j].fn(in, a, outlen);
				rb = pairs[j].ref(in, b, outlen);
				ck_assert_msg(ra == rb, "%s \"%s\" (%zu): %d, "
				    "the libraries %d", pairs[j].what, in,
				    outlen, ra, rb);
				if (ra == 0)
					ck_assert_str_eq(a, b);
			}
		}
	}
#undef NEXT
}
END_TEST

#define NROWS(t)	(int)(sizeof(t) / sizeof(t[0]))

int
main(void)
{
	Suite *s = suite_create("idn");
	TCase *tc = tcase_create("names");
	SRunner *sr;
	int nfailed;

	tcase_add_loop_test(tc, test_domain, 0, NROWS(domain_rows));
	tcase_add_loop_test(tc, test_local, 0, NROWS(local_rows));
	tcase_add_loop_test(tc, test_domain_name, 0, NROWS(domain_name_rows));
	tcase_add_loop_test(tc, test_local_name, 0, NROWS(local_name_rows));
	tcase_add_loop_test(tc, test_names_safe, 0, 2);
	tcase_add_test(tc, test_ascii);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed ? EXIT_FAILURE : EXIT_SUCCESS;
}
