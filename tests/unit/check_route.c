/* SPDX-License-Identifier: ISC */
/*
 * check_route - the delivery plan (route.h) as tables: every role
 * (authenticated or not) x sink x local or other domain x recipients
 * file x recipient_delimiter x queue x aliases combination that decides
 * something, with the Maildirs and Delivered-To of each plan; the
 * aliases file (conf_load_aliases): good lines, bad lines with their
 * exact file:line errors, loops, depth and fan-out; the copies a
 * transaction's plans make.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "route.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define BASE \
	"hostname mx.test\nlisten 127.0.0.1:0 mx\n" \
	"domains example.test example.org\n"

/* new_cfg - BASE plus extra, with a recipients and an aliases file. */
static struct config *
new_cfg(const char *extra, const char *rcpts, const char *aliases)
{
	struct config *c = conf_new("mx.test");
	char text[1024], *err = NULL;

	if (extra == NULL)
		extra = "";
	(void)snprintf(text, sizeof(text), "%s%s%s%s%s", BASE, extra,
	    strstr(extra, "maildir") == NULL ? "maildir /m/%d/%u\n" : "", rcpts != NULL ? "recipients /r\n" : "",
	    aliases != NULL ? "aliases /a\n" : "");
	if (conf_parse(c, "t", text, strlen(text), &err) != 0 ||
	    conf_check(c, &err) != 0 ||
	    (rcpts != NULL && conf_load_recipients(c, "r", rcpts,
	    strlen(rcpts), &err) != 0) ||
	    (aliases != NULL && conf_load_aliases(c, "a", aliases,
	    strlen(aliases), &err) != 0))
		ck_abort_msg("config: %s", err);
	return c;
}

/* addr - "local@domain" or a bare "local" into a. */
static void
addr(struct smtp_addr *a, const char *s)
{
	const char *at = strrchr(s, '@');

	memset(a, 0, sizeof(*a));
	if (at == NULL) {
		(void)snprintf(a->local, sizeof(a->local), "%s", s);
		return;
	}
	(void)snprintf(a->local, sizeof(a->local), "%.*s", (int)(at - s), s);
	(void)snprintf(a->domain, sizeof(a->domain), "%s", at + 1);
}

#define AL_R	"alice@example.test\nbob@example.org\n"
static const struct {
	const char	*conf;		/* lines after BASE */
	const char	*rcpts;		/* recipients file, or NULL */
	const char	*aliases;	/* aliases file, or NULL */
	bool		 auth;		/* an authenticated client */
	const char	*rcpt;
	enum route_kind	 kind;
	enum smtp_reply_id reply;	/* REFUSE */
	const char	*boxes;		/* LOCAL: "dir>to;dir>to" */
} cases[] = {
	/* mx: local domains in any case, others refused */
	{ NULL, NULL, NULL, false, "bob@example.test", ROUTE_LOCAL, 0,
	  "/m/example.test/bob>bob@example.test" },
	{ NULL, NULL, NULL, false, "Bob@EXAMPLE.ORG", ROUTE_LOCAL, 0,
	  "/m/example.org/bob>Bob@EXAMPLE.ORG" },
	{ NULL, NULL, NULL, false, "bob@other.test", ROUTE_REFUSE,
	  SMTP_R_RELAY_DENIED, NULL },
	{ NULL, NULL, NULL, false, "bob@sub.example.test", ROUTE_REFUSE,
	  SMTP_R_RELAY_DENIED, NULL },
	{ NULL, NULL, NULL, true, "bob@other.test", ROUTE_REFUSE,
	  SMTP_R_RELAY_DENIED, NULL },
	/* queue: only for an authenticated client, only other domains */
	{ "queue /q\n", NULL, NULL, true, "bob@other.test", ROUTE_QUEUE, 0,
	  NULL },
	{ "queue /q\n", NULL, NULL, false, "bob@other.test", ROUTE_REFUSE,
	  SMTP_R_RELAY_DENIED, NULL },
	{ "queue /q\n", NULL, NULL, true, "bob@example.test", ROUTE_LOCAL, 0,
	  "/m/example.test/bob>bob@example.test" },
	/* sink: everything local, queue or not */
	{ "sink yes\n", NULL, NULL, false, "bob@other.test", ROUTE_LOCAL, 0,
	  "/m/other.test/bob>bob@other.test" },
	{ "sink yes\nqueue /q\n", NULL, NULL, true, "bob@other.test",
	  ROUTE_LOCAL, 0, "/m/other.test/bob>bob@other.test" },
	{ "sink yes\n", AL_R, NULL, false, "zed@example.test", ROUTE_LOCAL,
	  0, "/m/example.test/zed>zed@example.test" },
	{ "sink yes\n", NULL, NULL, false, "root", ROUTE_LOCAL, 0,
	  "/m/example.test/root>root@example.test" },
	/* a bare postmaster gets the first local domain */
	{ NULL, NULL, NULL, false, "postmaster", ROUTE_LOCAL, 0,
	  "/m/example.test/postmaster>postmaster@example.test" },
	/* unsafe names, whatever the role */
	{ NULL, NULL, NULL, false, ".x@example.test", ROUTE_REFUSE,
	  SMTP_R_BAD_MAILBOX, NULL },
	{ "sink yes\n", NULL, NULL, true, "\"a/b\"@example.test",
	  ROUTE_REFUSE, SMTP_R_BAD_MAILBOX, NULL },
	/* quoted local parts: one unquoter */
	{ NULL, NULL, NULL, false, "\"bob\"@example.test", ROUTE_LOCAL, 0,
	  "/m/example.test/bob>\"bob\"@example.test" },
	{ NULL, AL_R, NULL, false, "\"al\\ice\"@example.test", ROUTE_LOCAL,
	  0, "/m/example.test/alice>\"al\\ice\"@example.test" },
	/* the recipients file */
	{ NULL, AL_R, NULL, false, "alice@example.test", ROUTE_LOCAL, 0,
	  "/m/example.test/alice>alice@example.test" },
	{ NULL, AL_R, NULL, false, "bob@example.test", ROUTE_REFUSE,
	  SMTP_R_UNKNOWN_USER, NULL },
	{ NULL, AL_R, NULL, false, "PostMaster@example.org", ROUTE_LOCAL, 0,
	  "/m/example.org/postmaster>PostMaster@example.org" },
	{ NULL, "@example.org\n", NULL, false, "zed@example.org",
	  ROUTE_LOCAL, 0, "/m/example.org/zed>zed@example.org" },
	{ NULL, "@example.org\n", NULL, false, "zed@example.test",
	  ROUTE_REFUSE, SMTP_R_UNKNOWN_USER, NULL },
	{ "queue /q\n", AL_R, NULL, true, "zed@other.test", ROUTE_QUEUE, 0,
	  NULL },
	/* recipient_delimiter: the tag stays in Delivered-To */
	{ "recipient_delimiter +\n", NULL, NULL, false,
	  "bob+tag@example.test", ROUTE_LOCAL, 0,
	  "/m/example.test/bob>bob+tag@example.test" },
	{ "recipient_delimiter +\n", AL_R, NULL, false,
	  "alice+x@example.test", ROUTE_LOCAL, 0,
	  "/m/example.test/alice>alice+x@example.test" },
	{ "recipient_delimiter +\n", AL_R, NULL, false,
	  "+x@example.test", ROUTE_REFUSE, SMTP_R_UNKNOWN_USER, NULL },
	{ NULL, AL_R, NULL, false, "alice+x@example.test", ROUTE_REFUSE,
	  SMTP_R_UNKNOWN_USER, NULL },
	/* aliases: to a person, in every domain or one */
	{ NULL, NULL, "postmaster: alice\n", false, "postmaster@example.org",
	  ROUTE_LOCAL, 0, "/m/example.org/alice>alice@example.org" },
	{ NULL, NULL, "postmaster: alice\n", false, "postmaster",
	  ROUTE_LOCAL, 0, "/m/example.test/alice>alice@example.test" },
	{ NULL, NULL, "abuse@example.org: alice@example.test\n", false,
	  "Abuse@example.org", ROUTE_LOCAL, 0,
	  "/m/example.test/alice>alice@example.test" },
	{ NULL, NULL, "abuse@example.org: alice@example.test\n", false,
	  "abuse@example.test", ROUTE_LOCAL, 0,
	  "/m/example.test/abuse>abuse@example.test" },
	/* one-to-many, nested, itself among its targets */
	{ NULL, NULL, "team: alice, bob@example.org\n", false,
	  "team@example.test", ROUTE_LOCAL, 0,
	  "/m/example.test/alice>alice@example.test;"
	  "/m/example.org/bob>bob@example.org" },
	{ NULL, NULL, "a: b\nb: c, d, c\n", false, "a@example.test",
	  ROUTE_LOCAL, 0, "/m/example.test/c>c@example.test;"
	  "/m/example.test/d>d@example.test" },
	{ NULL, NULL, "alice: alice, bob\n", false, "alice@example.test",
	  ROUTE_LOCAL, 0, "/m/example.test/alice>alice@example.test;"
	  "/m/example.test/bob>bob@example.test" },
	{ "maildir /m/all\n", NULL, "team: alice, bob\n", false,
	  "team@example.test", ROUTE_LOCAL, 0,
	  "/m/all>alice@example.test;/m/all>bob@example.test" },
	/* an alias is a valid recipient; the targets need not be listed */
	{ NULL, AL_R, "sales: carol\n", false, "sales@example.test",
	  ROUTE_LOCAL, 0, "/m/example.test/carol>carol@example.test" },
	{ "recipient_delimiter +\n", AL_R, "sales: carol\n", false,
	  "SALES+x@example.test", ROUTE_LOCAL, 0,
	  "/m/example.test/carol>carol@example.test" },
	/* catch-alls: whatever is not listed or aliased */
	{ NULL, NULL, "@example.org: alice\n", false, "zed@example.org",
	  ROUTE_LOCAL, 0, "/m/example.org/alice>alice@example.org" },
	{ NULL, NULL, "@example.org: alice\n", false, "alice@example.org",
	  ROUTE_LOCAL, 0, "/m/example.org/alice>alice@example.org" },
	{ NULL, NULL, "@example.org: alice\n", false, "zed@example.test",
	  ROUTE_LOCAL, 0, "/m/example.test/zed>zed@example.test" },
	{ NULL, AL_R, "@example.org: alice\n", false, "bob@example.org",
	  ROUTE_LOCAL, 0, "/m/example.org/bob>bob@example.org" },
	{ NULL, AL_R, "@example.org: alice\n", false, "zed@example.org",
	  ROUTE_LOCAL, 0, "/m/example.org/alice>alice@example.org" },
	{ NULL, AL_R, "@example.org: alice\n", false, "zed@example.test",
	  ROUTE_REFUSE, SMTP_R_UNKNOWN_USER, NULL },
	{ NULL, NULL, "@example.org: alice\nx@example.org: bob\n", false,
	  "x@example.org", ROUTE_LOCAL, 0,
	  "/m/example.org/bob>bob@example.org" },
	/* aliases in sink mode; never for a queued recipient */
	{ "sink yes\n", NULL, "root: alice\n", false, "root", ROUTE_LOCAL,
	  0, "/m/example.test/alice>alice@example.test" },
	{ "queue /q\n", NULL, "@example.org: alice\n", true,
	  "zed@other.test", ROUTE_QUEUE, 0, NULL },
};

/* fmt_boxes - a plan's boxes as "dir>to;dir>to". */
static void
fmt_boxes(const struct route *r, char *out, size_t len)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < r->nboxes && o < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%s>%s",
		    i > 0 ? ";" : "", r->boxes[i].maildir,
		    r->boxes[i].delivered_to);
}

START_TEST(t_route)
{
	struct config *c = new_cfg(cases[_i].conf, cases[_i].rcpts,
	    cases[_i].aliases);
	struct smtp_addr a;
	struct route r;
	char got[1024];

	addr(&a, cases[_i].rcpt);
	route_rcpt(c, cases[_i].auth, &a, &r);
	ck_assert_msg(r.kind == cases[_i].kind, "%s: kind %d", cases[_i].rcpt,
	    (int)r.kind);
	if (r.kind == ROUTE_REFUSE)
		ck_assert_int_eq(r.reply, cases[_i].reply);
	fmt_boxes(&r, got, sizeof(got));
	ck_assert_str_eq(got, cases[_i].boxes != NULL ? cases[_i].boxes : "");
	route_reset(&r);
	ck_assert_int_eq(r.kind, ROUTE_REFUSE);
	ck_assert_uint_eq(r.nboxes, 0);
	conf_free(&c);
}
END_TEST

/* The aliases file: NULL err means it loads. */
static const struct {
	const char	*text;
	const char	*err;
} files[] = {
	{ "", NULL },
	{ "# only a comment\n\n   \n", NULL },
	{ "postmaster: alice\r\nabuse:alice,bob # people\n", NULL },
	{ " X@EXAMPLE.test :  Y ,, z@Example.ORG\n", NULL },
	{ "@example.org: alice\n@example.test: bob@example.org\n", NULL },
	{ "a: b\nb: c\nc: d\nd: e\ne: f\nf: g\ng: h\nh: i\n", NULL },
	{ "alice\n", "a:1: no ':' (name[@domain]: target, ...)" },
	{ "ok: x\na b: c\n", "a:2: bad alias name 'a b' (name, name@domain "
	  "or @domain, of a local domain)" },
	{ "a@other.test: b\n", "a:1: bad alias name 'a@other.test' (name, "
	  "name@domain or @domain, of a local domain)" },
	{ ": b\n", "a:1: bad alias name '' (name, name@domain or @domain, "
	  "of a local domain)" },
	{ "a@b@example.test: c\n", "a:1: bad alias name 'a@b@example.test' "
	  "(name, name@domain or @domain, of a local domain)" },
	{ "\n\na:\n", "a:3: no target" },
	{ "a: # nothing\n", "a:1: no target" },
	{ "a: b@other.test\n", "a:1: bad target 'b@other.test' (a local "
	  "address: name or name@domain)" },
	{ "a: @example.org\n", "a:1: bad target '@example.org' (a local "
	  "address: name or name@domain)" },
	{ "a: b\nA: c\n", "a:2: alias 'a@' given twice, first at a:1" },
	{ "x: y\na: b\nb: a\n", "a:2: alias loop: a@example.test -> "
	  "b@example.test -> a@example.test" },
	{ "a@example.org: b\nb: c\nc: a\n", "a:1: alias loop: a@example.org "
	  "-> b@example.org -> c@example.org -> a@example.org" },
	{ "@example.org: a\na: b\nb: a\n", "a:1: alias loop: @example.org "
	  "-> a@example.org -> b@example.org -> a@example.org" },
	{ "a: b\nb: c\nc: d\nd: e\ne: f\nf: g\ng: h\nh: i\ni: j\n",
	  "a:1: aliases nest deeper than 8" },
};

START_TEST(t_aliases_file)
{
	struct config *c = new_cfg(NULL, NULL, NULL);
	char *err = NULL;
	int rc;

	rc = conf_load_aliases(c, "a", files[_i].text, strlen(files[_i].text),
	    &err);
	if (files[_i].err == NULL) {
		ck_assert_msg(rc == 0, "%s", err);
	} else {
		ck_assert_int_eq(rc, -1);
		ck_assert_ptr_nonnull(err);
		ck_assert_str_eq(err, files[_i].err);
		ck_assert_uint_eq(c->nalias_tab, 0);
		free(err);
	}
	conf_free(&c);
}
END_TEST

/* fan-out: CONF_ALIAS_FANOUT mailboxes load, one more does not. */
START_TEST(t_aliases_fanout)
{
	struct config *c = new_cfg(NULL, NULL, NULL);
	struct buf b;
	char *err = NULL, **out;
	size_t i, n;

	buf_init(&b, 1 << 20);
	(void)buf_addf(&b, "big: t0");
	for (i = 1; i < CONF_ALIAS_FANOUT; i++)
		(void)buf_addf(&b, ", t%zu", i);
	(void)buf_addf(&b, "\n");
	ck_assert_int_eq(conf_load_aliases(c, "a", b.data, b.len, &err), 0);
	ck_assert_int_eq(conf_alias_expand(c, "BIG", "example.org", false,
	    &out, &n), 1);
	ck_assert_uint_eq(n, CONF_ALIAS_FANOUT);
	ck_assert_str_eq(out[0], "t0@example.org");
	for (i = 0; i < n; i++)
		free(out[i]);
	free(out);
	b.len--;
	(void)buf_addf(&b, ", extra\n");
	ck_assert_int_eq(conf_load_aliases(c, "a", b.data, b.len, &err), -1);
	ck_assert_str_eq(err, "a:1: more than 100 mailboxes");
	free(err);
	buf_release(&b);
	conf_free(&c);
}
END_TEST

/* The copies of a transaction: mailboxes in order, one queue copy where
 * the first queued recipient stands; the envelope lists only those. */
START_TEST(t_copies)
{
	struct config *c = new_cfg("queue /q\n", NULL, "team: a, b\n");
	const char *to[] = { "x@other.test", "team@example.test",
	    "y@other.test", "c@example.org" };
	struct smtp_addr a[4];
	struct route r[4];
	struct route_copy cp[8];
	size_t i;

	for (i = 0; i < 4; i++) {
		addr(&a[i], to[i]);
		route_rcpt(c, true, &a[i], &r[i]);
	}
	ck_assert_uint_eq(route_copies(r, 4, NULL), 4);
	ck_assert_uint_eq(route_copies(r, 4, cp), 4);
	ck_assert(cp[0].queue && cp[0].rcpt == 0);
	ck_assert(!cp[1].queue && cp[1].rcpt == 1 && cp[1].box == 0);
	ck_assert(!cp[2].queue && cp[2].rcpt == 1 && cp[2].box == 1);
	ck_assert(!cp[3].queue && cp[3].rcpt == 3 && cp[3].box == 0);
	ck_assert_uint_eq(route_copies(r, 0, NULL), 0);
	for (i = 0; i < 4; i++)
		route_reset(&r[i]);
	conf_free(&c);
}
END_TEST

static Suite *
route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, t_route, 0, NELEM(cases));
	tcase_add_loop_test(tc, t_aliases_file, 0, NELEM(files));
	tcase_add_test(tc, t_aliases_fanout);
	tcase_add_test(tc, t_copies);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(route_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
