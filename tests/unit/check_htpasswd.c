/* SPDX-License-Identifier: ISC */
/*
 * check_htpasswd - the http_auth file and HTTP Basic checks against real
 * files and the system's libcrypt (an edge test, like check_maildir).
 *
 * The hashes below were made once with Python's crypt module (libxcrypt)
 * for the password "s3cret pass:word" (a space and a colon: only the
 * first colon of user:password splits).  Each test writes its file into
 * its own mkdtemp() directory, removed by the teardown fixture.
 */
#include <sys/syscall.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <openssl/evp.h>

#include "htpasswd.h"

#define PASSWORD	"s3cret pass:word"

static const char good_file[] =
    "# users of the sink's page\n"
    "\n"
    "bc2y:$2y$04$abcdefghijklmnopqrstuus4QrAiYzHZbBJgdJrKg0ATgQV/22xpu\n"
    "bc2b:$2b$04$ABCDEFGHIJKLMNOPQRSTUu.J/4HRR5dgScp393Q11EvmnVd1Vy1DW\r\n"
    "sha256:$5$saltsalt$WEJzUktwUAv/ZD3/UFDtqPLg/HznuEYGB1rsh6oauC6\n"
    "sha512:$6$rounds=1000$saltsalt$vfMV65oulKmbPpRij/7o3Tf52EGOFA8ZQ2eWF"
    "dqygAim0VR4dLj/Vtaf3.oeL22L.jvGCrYBbtuc//k26yVxa0\n"
    "yes:$y$j9T$abcdefghijklmnop$IkMIQy6N1R44kxtb9ZgeuWPFnuJFHMCJjCURco/4T25";

static char tdir[64];
static char tpath[128];
static bool fake_clock;		/* see clock_gettime() below */
static time_t fake_sec;

/*
 * clock_gettime - this program's own, a link-time seam (as in
 * check_maildir): while fake_clock is set the time is fake_sec, so a
 * test can stay within one second or step to the next.
 */
int
clock_gettime(clockid_t id, struct timespec *ts)
{
	if (!fake_clock || id == CLOCK_THREAD_CPUTIME_ID)
		return (int)syscall(SYS_clock_gettime, id, ts);
	ts->tv_sec = fake_sec;
	ts->tv_nsec = 0;
	return 0;
}

static void
setup(void)
{
	strcpy(tdir, "/tmp/check_htpasswd.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	(void)snprintf(tpath, sizeof tpath, "%s/users", tdir);
}

static void
teardown(void)
{
	(void)unlink(tpath);
	(void)rmdir(tdir);
}

/* write_file - tpath holds text. */
static void
write_file(const char *text)
{
	FILE *f = fopen(tpath, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* basic - "Basic " and the base64 of user:password, in a static buffer. */
static const char *
basic(const char *user, const char *password)
{
	static char out[512];
	char plain[256];
	int n;

	n = snprintf(plain, sizeof plain, "%s:%s", user, password);
	strcpy(out, "Basic ");
	EVP_EncodeBlock((unsigned char *)out + 6, (unsigned char *)plain, n);
	return out;
}

/* ---- loading a good file; the right and wrong passwords ---- */

static const char *const good_users[] = {
	"bc2y", "bc2b", "sha256", "sha512", "yes",
};

START_TEST(test_good_password)
{
	struct htpasswd *h;
	const char *err = NULL;
	const char *user = good_users[_i];

	write_file(good_file);
	ck_assert_msg(htpasswd_load(tpath, &h, &err) == 0, "%s", err);
	ck_assert_msg(htpasswd_check(h, basic(user, PASSWORD)), "%s", user);
	/* again: now from the cache of successes */
	ck_assert(htpasswd_check(h, basic(user, PASSWORD)));
	ck_assert(!htpasswd_check(h, basic(user, "s3cret pass:wore")));
	ck_assert(!htpasswd_check(h, basic(user, "")));
	ck_assert(!htpasswd_check(h, basic(user, "s3cret pass")));
	htpasswd_free(&h);
	ck_assert_ptr_null(h);
}
END_TEST

/* ---- a flood of guesses: at most 16 hashes a second ---- */

START_TEST(test_hash_budget)
{
	struct htpasswd *h;
	const char *err = NULL;
	int i;

	write_file(good_file);
	ck_assert_msg(htpasswd_load(tpath, &h, &err) == 0, "%s", err);
	fake_clock = true;
	fake_sec = 1000;
	ck_assert(htpasswd_check(h, basic("sha256", PASSWORD)));  /* 1 */
	for (i = 0; i < 15; i++)				/* 16 */
		ck_assert(!htpasswd_check(h, basic("sha256", "guess")));
	/* the budget is spent: the right password is refused unhashed... */
	ck_assert(!htpasswd_check(h, basic("sha512", PASSWORD)));
	/* ...but a browser already let in is answered from the cache */
	ck_assert(htpasswd_check(h, basic("sha256", PASSWORD)));
	fake_sec++;
	ck_assert(htpasswd_check(h, basic("sha512", PASSWORD)));
	/* a remembered success lasts five minutes, not more */
	fake_sec += 298;					/* 1299 */
	for (i = 0; i < 16; i++)
		(void)htpasswd_check(h, basic("sha256", "guess"));
	ck_assert(htpasswd_check(h, basic("sha256", PASSWORD)));
	fake_sec += 2;						/* 1301 */
	for (i = 0; i < 16; i++)
		(void)htpasswd_check(h, basic("sha256", "guess"));
	ck_assert(!htpasswd_check(h, basic("sha256", PASSWORD)));
	fake_clock = false;
	htpasswd_free(&h);
}
END_TEST

/*
 * ---- and at most about 40 ms of hashing a second: a slow hash (bcrypt
 * cost 11, some 100 ms) spends it at once ----
 */

START_TEST(test_hash_time_budget)
{
	static const char slow_file[] =
	    "slow:$2b$11$iITOOrnUBUcGJ4vPXGIhGOpgM/.TRMceH30iF94GV7.apjShIwGha\n"
	    "sha256:$5$saltsalt$WEJzUktwUAv/ZD3/UFDtqPLg/HznuEYGB1rsh6oauC6\n";
	struct htpasswd *h;
	const char *err = NULL;

	write_file(slow_file);
	ck_assert_msg(htpasswd_load(tpath, &h, &err) == 0, "%s", err);
	fake_clock = true;
	fake_sec = 2000;
	ck_assert(!htpasswd_check(h, basic("slow", "guess")));	/* hashed */
	/* the second's budget is spent: refused unhashed */
	ck_assert(!htpasswd_check(h, basic("sha256", PASSWORD)));
	fake_sec++;
	ck_assert(htpasswd_check(h, basic("sha256", PASSWORD)));
	fake_sec++;
	ck_assert(htpasswd_check(h, basic("slow", "slow pass")));
	fake_clock = false;
	htpasswd_free(&h);
}
END_TEST

/* ---- Authorization values that are not a valid login ---- */

static const char *const bad_auth[] = {
	"",
	"Basic",
	"Basic ",
	"Bearer eWVzOnMzY3JldCBwYXNzOndvcmQ=",
	"Basicxyz",
	/* yes:s3cret pass:word (eWVz...), corrupted */
	"Basic eWVzOnMzY3JldCBwYXNzOndvcmQ",	/* not a multiple of 4 */
	"Basic eWVzOnMzY3JldCBwYXNzOndvc*Q=",	/* not base64 */
	"Basic eWVzOnMzY3JldCBwYXNzOndvcmQ= x",	/* trailing junk */
	"Basic bm9jb2xvbg==",			/* "nocolon" */
	"Basic OnMzY3JldCBwYXNzOndvcmQ=",		/* ":s3cret pass:word" */
	"Basic bm9ib2R5OnMzY3JldCBwYXNzOndvcmQ=",	/* nobody: unknown */
	"Basic eWVzAHg6czNjcmV0IHBhc3M6d29yZA==",	/* "yes\0x:..." NUL */
};

START_TEST(test_bad_auth)
{
	struct htpasswd *h;
	const char *err = NULL;

	write_file(good_file);
	ck_assert_msg(htpasswd_load(tpath, &h, &err) == 0, "%s", err);
	ck_assert_msg(!htpasswd_check(h, bad_auth[_i]), "'%s'", bad_auth[_i]);
	htpasswd_free(&h);
}
END_TEST

START_TEST(test_auth_forms)
{
	struct htpasswd *h;
	const char *err = NULL;
	char huge[8192];

	write_file(good_file);
	ck_assert_msg(htpasswd_load(tpath, &h, &err) == 0, "%s", err);
	/* the scheme is case-insensitive (RFC 7235 §2.1), spaces may repeat;
	 * each check in a second of its own, so that no hashing budget (a
	 * slow hash under valgrind) is in the way */
	fake_clock = true;
	fake_sec = 3000;
	ck_assert(htpasswd_check(h,
	    "basic eWVzOnMzY3JldCBwYXNzOndvcmQ="));
	fake_sec++;
	ck_assert(htpasswd_check(h,
	    "BASIC   eWVzOnMzY3JldCBwYXNzOndvcmQ="));
	fake_clock = false;
	ck_assert(!htpasswd_check(h, NULL));
	ck_assert(!htpasswd_check(NULL, basic("yes", PASSWORD)));
	memset(huge, 'A', sizeof huge - 1);
	memcpy(huge, "Basic ", 6);
	huge[sizeof huge - 1] = '\0';
	ck_assert(!htpasswd_check(h, huge));
	htpasswd_free(&h);
	htpasswd_free(&h);	/* NULL-safe */
	htpasswd_free(NULL);
}
END_TEST

/* ---- files that are refused, and the file:line of the error ---- */

struct bad_file {
	const char	*text;
	const char	*err;	/* the start of the error after the path */
};

static const struct bad_file bad_files[] = {
	{ "alice:secret\n", ":1: user 'alice': not a crypt(5) hash" },
	{ "# x\nalice:$apr1$abc$0123456789012345678901\n",
	    ":2: user 'alice': unsupported hash type" },
	{ "alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n",
	    ":1: user 'alice': not a crypt(5) hash" },
	{ "alice:$1$abc$OGyl6dDvZCDiGmIVbeuCq/\n",
	    ":1: user 'alice': unsupported hash type" },
	{ "alice:abJnggxhB/yWI\n", ":1: user 'alice': not a crypt(5) hash" },
	{ "alice\n", ":1: no ':'" },
	{ ":$5$saltsalt$WEJzUktwUAv/ZD3/UFDtqPLg/HznuEYGB1rsh6oauC6\n",
	    ":1: empty user name" },
	{ "a:$5$saltsalt$WEJzUktwUAv/ZD3/UFDtqPLg/HznuEYGB1rsh6oauC6\n"
	  "a:$5$saltsalt$WEJzUktwUAv/ZD3/UFDtqPLg/HznuEYGB1rsh6oauC6\n",
	    ":2: user 'a' again" },
	{ "a:$5$saltsalt$WEJzUktwUAv/ZD3/UFDtqPLg/HznuEYGB1rsh6oauC6 x\n",
	    ":1: user 'a': a malformed hash" },
	{ "a:$2y$04$abcdefghijklmnopqrstuus4QrAiYzHZbBJgdJrKg0A\n",
	    ":1: user 'a': a malformed or truncated hash" },
	{ "a:$5$saltsalt\n", ":1: user 'a': a malformed or truncated hash" },
	{ "a:\n", ":1: user 'a': not a crypt(5) hash" },
	{ "\n# only comments\n", ": no users" },
	{ "", ": no users" },
};

START_TEST(test_bad_file)
{
	struct htpasswd *h = (struct htpasswd *)1;
	const char *err = NULL;
	char want[256];

	write_file(bad_files[_i].text);
	ck_assert_int_eq(htpasswd_load(tpath, &h, &err), -1);
	ck_assert_ptr_null(h);
	ck_assert_ptr_nonnull(err);
	(void)snprintf(want, sizeof want, "%s%s", tpath, bad_files[_i].err);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
	    "got '%s', want '%s...'", err, want);
}
END_TEST

START_TEST(test_long_line)
{
	struct htpasswd *h;
	const char *err = NULL;
	char text[3000], want[256];

	memset(text, 'a', sizeof text - 2);
	text[sizeof text - 2] = '\n';
	text[sizeof text - 1] = '\0';
	write_file(text);
	ck_assert_int_eq(htpasswd_load(tpath, &h, &err), -1);
	(void)snprintf(want, sizeof want, "%s:1: line too long", tpath);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_missing_file)
{
	struct htpasswd *h;
	const char *err = NULL;
	char want[256];

	ck_assert_int_eq(htpasswd_load(tpath, &h, &err), -1);
	(void)snprintf(want, sizeof want, "%s: No such file or directory",
	    tpath);
	ck_assert_str_eq(err, want);
}
END_TEST

static Suite *
htpasswd_suite(void)
{
	Suite *s = suite_create("htpasswd");
	TCase *tc = tcase_create("htpasswd");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_good_password, 0,
	    (int)(sizeof good_users / sizeof *good_users));
	tcase_add_loop_test(tc, test_bad_auth, 0,
	    (int)(sizeof bad_auth / sizeof *bad_auth));
	tcase_add_test(tc, test_auth_forms);
	tcase_add_test(tc, test_hash_budget);
	tcase_add_test(tc, test_hash_time_budget);
	tcase_add_loop_test(tc, test_bad_file, 0,
	    (int)(sizeof bad_files / sizeof *bad_files));
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_missing_file);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(htpasswd_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
