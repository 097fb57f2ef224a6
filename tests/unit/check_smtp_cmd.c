/* SPDX-License-Identifier: ISC */
/*
 * check_smtp_cmd - table tests for the command parser.
 *
 * Each RFC 5321 §4.1.2 rule the parser implements, accepted and refused
 * with its exact error; strict and lenient MAIL FROM forms; the RFC 1870,
 * 6152, 3030, 6531 and 4954 parameters; BDAT, HELO, AUTH; the limits of
 * §4.5.3.1 at ±1; the local-part safety test and the UTF-8 validator.
 * Lines are whole strings here, not byte streams, so nothing is trickled.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_cmd.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

#define F_S		SMTP_CMD_F_STRICT
#define F_U		SMTP_CMD_F_UTF8
#define F_L		SMTP_CMD_F_LOCAL
#define F_D		SMTP_CMD_F_DSN

/* tlen - a row's length: explicit when it holds a NUL, else strlen(). */
static size_t
tlen(const char *s, size_t len)
{
	return len != 0 ? len : strlen(s);
}

/* ---- verbs ---------------------------------------------------------- */

static const struct verb_case {
	const char	*line;
	enum smtp_verb	 verb;
	const char	*name;
	const char	*arg;
} verb_cases[] = {
	{ "HELO example.org", SMTP_VERB_HELO, "HELO", "example.org" },
	{ "ehlo example.org", SMTP_VERB_EHLO, "EHLO", "example.org" },
	{ "MAIL FROM:<a@b>", SMTP_VERB_MAIL, "MAIL", "FROM:<a@b>" },
	{ "mail from:<a@b>", SMTP_VERB_MAIL, "MAIL", "from:<a@b>" },
	{ "MAIL  FROM:<a@b>", SMTP_VERB_MAIL, "MAIL", "FROM:<a@b>" },
	/* runs of blanks (SP, HTAB) around the argument (emailjs, Postfix) */
	{ "AUTH  CRAM-MD5", SMTP_VERB_AUTH, "AUTH", "CRAM-MD5" },
	{ "EHLO  host", SMTP_VERB_EHLO, "EHLO", "host" },
	{ "EHLO\thost", SMTP_VERB_EHLO, "EHLO", "host" },
	{ "HELO \t host \t", SMTP_VERB_HELO, "HELO", "host" },
	{ "MAIL\tFROM:<a@b>  SIZE=10", SMTP_VERB_MAIL, "MAIL",
	    "FROM:<a@b>  SIZE=10" },
	{ "RCPT \tTO:<a@b>\t", SMTP_VERB_RCPT, "RCPT", "TO:<a@b>" },
	{ "DATA \t ", SMTP_VERB_DATA, "DATA", "" },
	{ "BDAT   10\tLAST ", SMTP_VERB_BDAT, "BDAT", "10\tLAST" },
	{ "VRFY\t\tuser", SMTP_VERB_VRFY, "VRFY", "user" },
	{ "STARTTLS  ", SMTP_VERB_STARTTLS, "STARTTLS", "" },
	{ "Rcpt TO:<a@b>", SMTP_VERB_RCPT, "RCPT", "TO:<a@b>" },
	{ "DATA", SMTP_VERB_DATA, "DATA", "" },
	{ "data", SMTP_VERB_DATA, "DATA", "" },
	{ "BDAT 10 LAST", SMTP_VERB_BDAT, "BDAT", "10 LAST" },
	{ "RSET", SMTP_VERB_RSET, "RSET", "" },
	{ "NOOP", SMTP_VERB_NOOP, "NOOP", "" },
	{ "NOOP ", SMTP_VERB_NOOP, "NOOP", "" },
	{ "nOoP x y", SMTP_VERB_NOOP, "NOOP", "x y" },
	{ "QUIT", SMTP_VERB_QUIT, "QUIT", "" },
	{ "VRFY user", SMTP_VERB_VRFY, "VRFY", "user" },
	{ "EXPN list", SMTP_VERB_EXPN, "EXPN", "list" },
	{ "HELP", SMTP_VERB_HELP, "HELP", "" },
	{ "HELP MAIL", SMTP_VERB_HELP, "HELP", "MAIL" },
	{ "StartTLS", SMTP_VERB_STARTTLS, "STARTTLS", "" },
	{ "AUTH PLAIN =", SMTP_VERB_AUTH, "AUTH", "PLAIN =" },
	{ "NOOPX", SMTP_VERB_UNKNOWN, "NOOPX", "" },
	{ "NOO", SMTP_VERB_UNKNOWN, "NOO", "" },
	{ "QUIT\t", SMTP_VERB_QUIT, "QUIT", "" },
	{ "QUIT\tnow", SMTP_VERB_QUIT, "QUIT", "now" },
	{ "", SMTP_VERB_UNKNOWN, "", "" },
	{ " NOOP", SMTP_VERB_UNKNOWN, "", "NOOP" },
	{ "MAIL:FROM:<a@b>", SMTP_VERB_UNKNOWN, "MAIL:FROM:<A@B>", "" },
	{ "ABCDEFGHIJKLMNOPQRSTUVWXYZ x", SMTP_VERB_UNKNOWN,
	    "ABCDEFGHIJKLMNO", "x" },
	{ "GET / HTTP/1.1", SMTP_VERB_HTTP, "GET", "/ HTTP/1.1" },
	{ "get /", SMTP_VERB_HTTP, "GET", "/" },
	{ "POST /x HTTP/1.0", SMTP_VERB_HTTP, "POST", "/x HTTP/1.0" },
	{ "HEAD / HTTP/1.1", SMTP_VERB_HTTP, "HEAD", "/ HTTP/1.1" },
	{ "PUT /", SMTP_VERB_HTTP, "PUT", "/" },
	{ "DELETE /", SMTP_VERB_HTTP, "DELETE", "/" },
	{ "OPTIONS *", SMTP_VERB_HTTP, "OPTIONS", "*" },
	{ "CONNECT mx:25 HTTP/1.1", SMTP_VERB_HTTP, "CONNECT",
	    "mx:25 HTTP/1.1" },
	{ "PATCH /", SMTP_VERB_HTTP, "PATCH", "/" },
	{ "GET", SMTP_VERB_UNKNOWN, "GET", "" },
	{ "GET\t/", SMTP_VERB_HTTP, "GET", "/" },
	{ "GET ", SMTP_VERB_HTTP, "GET", "" },
	{ "GETX /", SMTP_VERB_UNKNOWN, "GETX", "/" },
};

START_TEST(test_verb)
{
	const struct verb_case *c = &verb_cases[_i];
	struct smtp_cmd cmd;
	size_t len = strlen(c->line);

	smtp_cmd_parse(c->line, len, &cmd);
	ck_assert_int_eq(cmd.verb, c->verb);
	ck_assert_str_eq(cmd.name, c->name);
	ck_assert_uint_eq(cmd.arglen, strlen(c->arg));
	ck_assert_mem_eq(cmd.arg, c->arg, cmd.arglen);
	if (cmd.arglen > 0)	/* into the line, after the verb */
		ck_assert_ptr_eq(cmd.arg, strstr(c->line + strlen(c->name),
		    c->arg));
}
END_TEST

static const struct {
	enum smtp_verb	 verb;
	const char	*name;
} verb_names[] = {
	{ SMTP_VERB_UNKNOWN, "UNKNOWN" },
	{ SMTP_VERB_HELO, "HELO" },
	{ SMTP_VERB_EHLO, "EHLO" },
	{ SMTP_VERB_MAIL, "MAIL" },
	{ SMTP_VERB_RCPT, "RCPT" },
	{ SMTP_VERB_DATA, "DATA" },
	{ SMTP_VERB_BDAT, "BDAT" },
	{ SMTP_VERB_RSET, "RSET" },
	{ SMTP_VERB_NOOP, "NOOP" },
	{ SMTP_VERB_QUIT, "QUIT" },
	{ SMTP_VERB_VRFY, "VRFY" },
	{ SMTP_VERB_EXPN, "EXPN" },
	{ SMTP_VERB_HELP, "HELP" },
	{ SMTP_VERB_STARTTLS, "STARTTLS" },
	{ SMTP_VERB_AUTH, "AUTH" },
	{ SMTP_VERB_HTTP, "HTTP" },
};

/* Every SMTP verb's name parses back to the verb. */
START_TEST(test_verb_name)
{
	struct smtp_cmd cmd;
	const char *name = verb_names[_i].name;

	ck_assert_str_eq(smtp_cmd_verb_name(verb_names[_i].verb), name);
	if (verb_names[_i].verb == SMTP_VERB_UNKNOWN ||
	    verb_names[_i].verb == SMTP_VERB_HTTP)
		return;
	smtp_cmd_parse(name, strlen(name), &cmd);
	ck_assert_int_eq(cmd.verb, verb_names[_i].verb);
}
END_TEST

/* ---- MAIL ----------------------------------------------------------- */

static const struct mail_case {
	const char		*arg;
	size_t			 len;		/* 0: strlen(arg) */
	unsigned		 flags;
	enum smtp_cmd_err	 err;
	const char		*local;		/* checked when err is OK */
	const char		*domain;
	bool			 null;
	bool			 utf8;
	bool			 has_size;
	uint64_t		 size;
	enum smtp_body		 body;
	bool			 smtputf8;
	const char		*auth;		/* NULL: no AUTH= */
	enum smtp_ret		 ret;
	const char		*envid;		/* NULL: no ENVID= */
} mail_cases[] = {
	/* "FROM:" and the strict and lenient forms */
	{ .arg = "FROM:<a@example.org>", .local = "a",
	    .domain = "example.org" },
	{ .arg = "FROM:<a@example.org>", .flags = F_S, .local = "a",
	    .domain = "example.org" },
	{ .arg = "from:<A@Example.ORG>", .local = "A",
	    .domain = "example.org" },
	{ .arg = "FrOm:<a@b>", .flags = F_S, .local = "a", .domain = "b" },
	{ .arg = "FROM: <a@b>", .local = "a", .domain = "b" },
	{ .arg = "FROM:   <a@b>", .local = "a", .domain = "b" },
	{ .arg = "FROM: <a@b>", .flags = F_S, .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "FROM: a@b", .local = "a", .domain = "b" },
	{ .arg = "FROM: a@b", .flags = F_S, .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "FROM:a@b", .local = "a", .domain = "b" },
	{ .arg = "FROM:a@b SIZE=10", .local = "a", .domain = "b",
	    .has_size = true, .size = 10 },
	{ .arg = "FROM:a@b SIZE=10", .flags = F_S,
	    .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "FROM: \"a b\"@c SIZE=1", .local = "\"a b\"", .domain = "c",
	    .has_size = true, .size = 1 },
	{ .arg = "FROM:<a@b>   ", .flags = F_S, .local = "a", .domain = "b" },
	{ .arg = "FROM: a@b   ", .local = "a", .domain = "b" },
	{ .arg = "FROM: a@b>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM: a@b<", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM: a", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM: a@b c@d", .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "FROM:", .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "FROM:   ", .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "FROM", .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "", .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "FROM <a@b>", .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "FROM :<a@b>", .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = " FROM:<a@b>", .local = "a", .domain = "b" },
	{ .arg = " \t FROM:<a@b>", .flags = F_S, .local = "a", .domain = "b" },
	{ .arg = "TO:<a@b>", .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "FROM:<a@b>x", .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "FROM:<a@b>SIZE=1", .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "FROM:<a@b>>", .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "FROM:<a@b", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<<a@b>>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@b >", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:< a@b>", .err = SMTP_CMD_ERR_PATH },
	/* blanks: SP or HTAB, any number, but not inside the path */
	{ .arg = "FROM:<a@b>\t", .local = "a", .domain = "b" },
	{ .arg = "FROM:<a@b>\t", .flags = F_S, .local = "a", .domain = "b" },
	{ .arg = "FROM:<a@b>  SIZE=10", .flags = F_S, .local = "a",
	    .domain = "b", .has_size = true, .size = 10 },
	{ .arg = "FROM:<a@b>\tSIZE=10", .flags = F_S, .local = "a",
	    .domain = "b", .has_size = true, .size = 10 },
	{ .arg = "FROM:<a@b> \t SIZE=10\t\tBODY=8BITMIME \t", .flags = F_S,
	    .local = "a", .domain = "b", .has_size = true, .size = 10,
	    .body = SMTP_BODY_8BITMIME },
	{ .arg = "FROM:\t<a@b>", .local = "a", .domain = "b" },
	{ .arg = "FROM:\t<a@b>", .flags = F_S, .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "FROM: \ta@b\tSIZE=1", .local = "a", .domain = "b",
	    .has_size = true, .size = 1 },
	{ .arg = "FROM:<a@b\t>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@b>\v", .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "FROM:<root>", .flags = F_L, .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a\0b@c>", .len = 12, .err = SMTP_CMD_ERR_PATH },
	/* the null reverse-path */
	{ .arg = "FROM:<>", .null = true, .local = "", .domain = "" },
	{ .arg = "FROM:<>", .flags = F_S, .null = true, .local = "",
	    .domain = "" },
	{ .arg = "FROM: <> BODY=8BITMIME", .null = true, .local = "",
	    .domain = "", .body = SMTP_BODY_8BITMIME },
	{ .arg = "FROM:<> x", .err = SMTP_CMD_ERR_PARAM_UNKNOWN },
	{ .arg = "FROM:<>x", .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "FROM:<postmaster>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a>", .err = SMTP_CMD_ERR_PATH },
	/* Dot-string = Atom *("." Atom), atext of RFC 5322 */
	{ .arg = "FROM:<first.last@b>", .local = "first.last",
	    .domain = "b" },
	{ .arg = "FROM:<!#$%&'*+-/=?^_`{|}~@b>",
	    .local = "!#$%&'*+-/=?^_`{|}~", .domain = "b" },
	{ .arg = "FROM:<.a@b>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a.@b>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a..b@b>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a b@c>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a(b)@c>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a,b@c>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a\"b@c>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a\\b@c>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a\x01" "b@c>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<@b>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@@b>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@b@c>", .err = SMTP_CMD_ERR_PATH },
	/* Quoted-string: qtextSMTP and quoted-pairSMTP */
	{ .arg = "FROM:<\"a b\"@c>", .local = "\"a b\"", .domain = "c" },
	{ .arg = "FROM:<\"a\\\"b\"@c>", .local = "\"a\\\"b\"",
	    .domain = "c" },
	{ .arg = "FROM:<\"a\\\\b\"@c>", .local = "\"a\\\\b\"",
	    .domain = "c" },
	{ .arg = "FROM:<\"a\\ b\"@c>", .local = "\"a\\ b\"", .domain = "c" },
	{ .arg = "FROM:<\"\"@c>", .local = "\"\"", .domain = "c" },
	{ .arg = "FROM:<\"a>b\"@c>", .local = "\"a>b\"", .domain = "c" },
	{ .arg = "FROM:<\"a@b\"@c>", .local = "\"a@b\"", .domain = "c" },
	{ .arg = "FROM:<\"a\"b@c>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<\"a\".b@c>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<\"a@c>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<\"a\tb\"@c>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<\"a\x7f\"@c>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<\"a\\\x01\"@c>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<\"a\\\"@c>", .err = SMTP_CMD_ERR_PATH },
	/* Domain = sub-domain *("." sub-domain) */
	{ .arg = "FROM:<a@b.c.d>", .local = "a", .domain = "b.c.d" },
	{ .arg = "FROM:<a@B-1.Example>", .local = "a",
	    .domain = "b-1.example" },
	{ .arg = "FROM:<a@1.2.3.4>", .local = "a", .domain = "1.2.3.4" },
	{ .arg = "FROM:<a@x--y>", .local = "a", .domain = "x--y" },
	{ .arg = "FROM:<a@-b.c>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@b-.c>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@b..c>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@.b>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@b.>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@b_c>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@b c>", .err = SMTP_CMD_ERR_PATH },
	/* address-literal */
	{ .arg = "FROM:<a@[192.0.2.1]>", .local = "a",
	    .domain = "[192.0.2.1]" },
	{ .arg = "FROM:<a@[001.02.3.255]>", .local = "a",
	    .domain = "[001.02.3.255]" },
	{ .arg = "FROM:<a@[256.1.1.1]>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[1.2.3]>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[1.2.3.4.5]>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[1.2.3.]>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[1234.1.1.1]>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[1.2.3.4]x>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[1.2.3.4>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[]>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[IPv6:2001:DB8::1]>", .local = "a",
	    .domain = "[IPv6:2001:DB8::1]" },
	{ .arg = "FROM:<a@[ipv6:::1]>", .local = "a",
	    .domain = "[ipv6:::1]" },
	{ .arg = "FROM:<a@[IPv6:::ffff:192.0.2.1]>", .local = "a",
	    .domain = "[IPv6:::ffff:192.0.2.1]" },
	{ .arg = "FROM:<a@[IPv6:1:2:3:4:5:6:7:8]>", .local = "a",
	    .domain = "[IPv6:1:2:3:4:5:6:7:8]" },
	{ .arg = "FROM:<a@[IPv6:1:2:3:4:5:6:7:8:9]>",
	    .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[IPv6:2001:db8::g]>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[IPv6:1.2.3.4]>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[IPv6:]>", .err = SMTP_CMD_ERR_PATH },
	/* no "IPv6:" tag: by the ABNF a General-address-literal, tag "2001" */
	{ .arg = "FROM:<a@[2001:db8::1]>", .local = "a",
	    .domain = "[2001:db8::1]" },
	{ .arg = "FROM:<a@[IPv6:::1\0]>", .len = 20,
	    .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[x-tag:any;thing]>", .local = "a",
	    .domain = "[x-tag:any;thing]" },
	{ .arg = "FROM:<a@[tag-:x]>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[:x]>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[tag:]>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[t_g:x]>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[tag:a\\b]>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[tag:a[b]>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[tag:a b]>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[example.org]>", .err = SMTP_CMD_ERR_PATH },
	/* source routes, accepted and dropped */
	{ .arg = "FROM:<@a.example,@b.example:u@d.example>", .local = "u",
	    .domain = "d.example" },
	{ .arg = "FROM:<@a:u@d>", .flags = F_S, .local = "u",
	    .domain = "d" },
	{ .arg = "FROM:<@a,u@d>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<@a:>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<@:u@d>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<@a,@:u@d>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<@a,:u@d>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<@[1.2.3.4]:u@d>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:@a:u@d", .err = SMTP_CMD_ERR_PATH },
	/* RFC 6531 UTF-8 */
	{ .arg = "FROM:<\xc3\xa9@b> SMTPUTF8", .local = "\xc3\xa9",
	    .domain = "b", .utf8 = true, .smtputf8 = true },
	{ .arg = "FROM:<\xc3\xa9@b> SIZE=5 smtputf8", .local = "\xc3\xa9",
	    .domain = "b", .utf8 = true, .smtputf8 = true, .has_size = true,
	    .size = 5 },
	{ .arg = "FROM:<\xc3\xa9@b>", .err = SMTP_CMD_ERR_UTF8 },
	{ .arg = "FROM:<\xc3\xa9@b> SIZE=1", .err = SMTP_CMD_ERR_UTF8 },
	{ .arg = "FROM:<\xc3\xa9@b> FOO", .err = SMTP_CMD_ERR_UTF8 },
	{ .arg = "FROM:<\xc3\xa9@b>", .flags = F_U, .local = "\xc3\xa9",
	    .domain = "b", .utf8 = true },
	{ .arg = "FROM:<a@\xc3\x89X.example> SMTPUTF8", .local = "a",
	    .domain = "\xc3\x89x.example", .utf8 = true, .smtputf8 = true },
	{ .arg = "FROM:<a@\xc3\x89X.example>", .err = SMTP_CMD_ERR_UTF8 },
	{ .arg = "FROM:<\"\xe2\x82\xac x\"@b> SMTPUTF8",
	    .local = "\"\xe2\x82\xac x\"", .domain = "b", .utf8 = true,
	    .smtputf8 = true },
	{ .arg = "FROM:<\"\xe2\x82\xac x\"@b>", .err = SMTP_CMD_ERR_UTF8 },
	{ .arg = "FROM: \xc3\xa9@b SMTPUTF8", .local = "\xc3\xa9",
	    .domain = "b", .utf8 = true, .smtputf8 = true },
	{ .arg = "FROM:<@\xc3\xa9:a@b> SMTPUTF8", .local = "a",
	    .domain = "b", .smtputf8 = true },
	{ .arg = "FROM:<@\xc3\xa9:a@b>", .err = SMTP_CMD_ERR_UTF8 },
	{ .arg = "FROM:<\xc0\xaf@b> SMTPUTF8", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<\xc0\xaf@b>", .err = SMTP_CMD_ERR_UTF8 },
	{ .arg = "FROM:<\xed\xa0\x80@b> SMTPUTF8", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<\xc3@b> SMTPUTF8", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@b\xff> SMTPUTF8", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@[\xc3\xa9]> SMTPUTF8", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<\"a\\\xc3\xa9\"@b> SMTPUTF8",
	    .err = SMTP_CMD_ERR_PATH },
	{ .arg = "FROM:<a@b> X-FOO=\xc3\xa9", .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "FROM:<a@b> SMTPUTF8 X-FOO=\xc3\xa9",
	    .err = SMTP_CMD_ERR_PARAM_UNKNOWN },
	{ .arg = "FROM:<a@b> SMTPUTF8 X-FOO=\xc0\xaf",
	    .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "FROM:<a@b> X\xc3\xa9 SMTPUTF8", .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "FROM:<a@b> SMTPUTF8=yes", .err = SMTP_CMD_ERR_PARAM_VALUE },
	/* a repeated keyword: the same value is taken, another refused */
	{ .arg = "FROM:<a@b> SMTPUTF8 SMTPUTF8", .local = "a", .domain = "b",
	    .smtputf8 = true },
	{ .arg = "FROM:<\xc3\xa9@b> SMTPUTF8 BODY=8BITMIME SMTPUTF8 "
	    "BODY=8BITMIME", .local = "\xc3\xa9", .domain = "b", .utf8 = true,
	    .smtputf8 = true, .body = SMTP_BODY_8BITMIME },
	{ .arg = "FROM:<a@b> SMTPUTF8 smtputf8=x",
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	/* SIZE=1*20DIGIT */
	{ .arg = "FROM:<a@b> SIZE=0", .local = "a", .domain = "b",
	    .has_size = true, .size = 0 },
	{ .arg = "FROM:<a@b> size=12345", .local = "a", .domain = "b",
	    .has_size = true, .size = 12345 },
	{ .arg = "FROM:<a@b> SIZE=18446744073709551615", .local = "a",
	    .domain = "b", .has_size = true, .size = UINT64_MAX },
	{ .arg = "FROM:<a@b> SIZE=00000000000000000001", .local = "a",
	    .domain = "b", .has_size = true, .size = 1 },
	{ .arg = "FROM:<a@b> SIZE=18446744073709551616",
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> SIZE=99999999999999999999",
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> SIZE=000000000000000000001",
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> SIZE", .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> SIZE=-1", .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> SIZE=1k", .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> SIZE=", .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "FROM:<a@b> SIZE=1 size=2",
	    .err = SMTP_CMD_ERR_PARAM_REPEATED },
	{ .arg = "FROM:<a@b> SIZE=10 size=010", .local = "a", .domain = "b",
	    .has_size = true, .size = 10 },
	{ .arg = "FROM:<a@b> SIZE=1 SIZE=x", .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> SIZE=1 SIZE", .err = SMTP_CMD_ERR_PARAM_VALUE },
	/* BODY= */
	{ .arg = "FROM:<a@b> BODY=7BIT", .local = "a", .domain = "b",
	    .body = SMTP_BODY_7BIT },
	{ .arg = "FROM:<a@b> body=8bitmime", .local = "a", .domain = "b",
	    .body = SMTP_BODY_8BITMIME },
	{ .arg = "FROM:<a@b> Body=BinaryMIME", .local = "a", .domain = "b",
	    .body = SMTP_BODY_BINARYMIME },
	{ .arg = "FROM:<a@b> BODY=8BIT", .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> BODY", .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> BODY=7BIT BODY=7BIT", .local = "a", .domain = "b",
	    .body = SMTP_BODY_7BIT },
	{ .arg = "FROM:<a@b> BODY=8BITMIME body=8bitmime", .local = "a",
	    .domain = "b", .body = SMTP_BODY_8BITMIME },
	{ .arg = "FROM:<a@b> BODY=7BIT BODY=8BITMIME",
	    .err = SMTP_CMD_ERR_PARAM_REPEATED },
	{ .arg = "FROM:<a@b> BODY=7BIT SIZE=1 BODY=BINARYMIME",
	    .err = SMTP_CMD_ERR_PARAM_REPEATED },
	/* AUTH=xtext */
	{ .arg = "FROM:<a@b> AUTH=<>", .local = "a", .domain = "b",
	    .auth = "<>" },
	{ .arg = "FROM:<a@b> auth=user@example.org", .local = "a",
	    .domain = "b", .auth = "user@example.org" },
	{ .arg = "FROM:<a@b> AUTH=a+2Bb@c", .local = "a", .domain = "b",
	    .auth = "a+b@c" },
	{ .arg = "FROM:<a@b> AUTH=a+3Db+20c", .local = "a", .domain = "b",
	    .auth = "a=b c" },
	{ .arg = "FROM:<a@b> AUTH=+41", .local = "a", .domain = "b",
	    .auth = "A" },
	{ .arg = "FROM:<a@b> AUTH=a+2b", .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> AUTH=a+4a", .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> AUTH=a+4G", .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> AUTH=a+2", .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> AUTH=a+", .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> AUTH=a+GG", .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> AUTH=+00", .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> AUTH=a+0Db", .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> SMTPUTF8 AUTH=\xc3\xa9",
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> AUTH", .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> AUTH=", .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "FROM:<a@b> AUTH=<> AUTH=<>", .local = "a", .domain = "b",
	    .auth = "<>" },
	{ .arg = "FROM:<a@b> AUTH=u@d AUTH=u+40d", .local = "a", .domain = "b",
	    .auth = "u@d" },
	{ .arg = "FROM:<a@b> AUTH=u@d AUTH=u@do",
	    .err = SMTP_CMD_ERR_PARAM_REPEATED },
	{ .arg = "FROM:<a@b> AUTH=u@do AUTH=u@d",
	    .err = SMTP_CMD_ERR_PARAM_REPEATED },
	/* esmtp-param grammar, unknown keywords, order of errors */
	{ .arg = "FROM:<a@b>  SIZE=1   BODY=8BITMIME  ", .local = "a",
	    .domain = "b", .has_size = true, .size = 1,
	    .body = SMTP_BODY_8BITMIME },
	{ .arg = "FROM:<a@b> SIZE=100 BODY=BINARYMIME SMTPUTF8 AUTH=<>",
	    .flags = F_S, .local = "a", .domain = "b", .has_size = true,
	    .size = 100, .body = SMTP_BODY_BINARYMIME, .smtputf8 = true,
	    .auth = "<>" },
	{ .arg = "FROM:<a@b> FOO=bar", .err = SMTP_CMD_ERR_PARAM_UNKNOWN },
	{ .arg = "FROM:<a@b> RET=HDRS", .err = SMTP_CMD_ERR_PARAM_UNKNOWN },
	{ .arg = "FROM:<a@b> X-1", .err = SMTP_CMD_ERR_PARAM_UNKNOWN },
	{ .arg = "FROM:<a@b> 1X", .err = SMTP_CMD_ERR_PARAM_UNKNOWN },
	{ .arg = "FROM:<a@b> SIZEX=1", .err = SMTP_CMD_ERR_PARAM_UNKNOWN },
	{ .arg = "FROM:<a@b> =x", .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "FROM:<a@b> -X", .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "FROM:<a@b> K_X", .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "FROM:<a@b> SIZE=1=2", .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "FROM:<a@b> SIZE==1", .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "FROM:<a@b> FOO=a\x01", .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "FROM:<a@b> SIZE=1\t", .local = "a", .domain = "b",
	    .has_size = true, .size = 1 },
	{ .arg = "FROM:<a@b> SIZE=1\v", .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "FROM:<a@b> SIZE=1\0", .len = 18, .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "FROM:<a@b> FOO SIZE=x", .err = SMTP_CMD_ERR_PARAM_UNKNOWN },
	{ .arg = "FROM:<a@b> SIZE=x FOO", .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> FOO =", .err = SMTP_CMD_ERR_PARAM_UNKNOWN },
	{ .arg = "FROM:<a@@b> FOO", .err = SMTP_CMD_ERR_PATH },
	/* RFC 3461 §4.3, §4.4: RET and ENVID, only under DSN, once each */
	{ .arg = "FROM:<a@b> ENVID=x", .err = SMTP_CMD_ERR_PARAM_UNKNOWN },
	{ .arg = "FROM:<a@b> RET=FULL", .flags = F_D, .local = "a",
	    .domain = "b", .ret = SMTP_RET_FULL },
	{ .arg = "FROM:<a@b> ret=hdrs", .flags = F_D, .local = "a",
	    .domain = "b", .ret = SMTP_RET_HDRS },
	{ .arg = "FROM:<a@b> RET=NONE", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> RET", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> RET=", .flags = F_D, .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "FROM:<a@b> RET=FULL RET=FULL", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_TWICE },
	{ .arg = "FROM:<a@b> RET=FULL RET=HDRS", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_TWICE },
	{ .arg = "FROM:<a@b> ENVID=QQ+2B123", .flags = F_D, .local = "a",
	    .domain = "b", .envid = "QQ+2B123" },
	{ .arg = "FROM:<a@b> ENVID=a+20b+09c", .flags = F_D, .local = "a",
	    .domain = "b", .envid = "a+20b+09c" },
	{ .arg = "FROM:<a@b> envid=x ENVID=x", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_TWICE },
	{ .arg = "FROM:<a@b> ENVID=a+2b", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> ENVID=a+", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> ENVID=+00", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> ENVID=+0A", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> ENVID=+C3+A9", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> ENVID", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> SMTPUTF8 ENVID=\xc3\xa9", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "FROM:<a@b> SIZE=5 RET=HDRS BODY=8BITMIME ENVID=e SMTPUTF8",
	    .flags = F_D | F_S, .local = "a", .domain = "b",
	    .has_size = true, .size = 5, .body = SMTP_BODY_8BITMIME,
	    .smtputf8 = true, .ret = SMTP_RET_HDRS, .envid = "e" },
};

/* check_addr - the parsed address against a row's expectations. */
static void
check_addr(const struct smtp_addr *a, const char *local, const char *domain,
    bool null, bool utf8)
{
	ck_assert_str_eq(a->local, local);
	ck_assert_str_eq(a->domain, domain);
	ck_assert(a->null == null);
	ck_assert(a->utf8 == utf8);
}

START_TEST(test_mail)
{
	const struct mail_case *c = &mail_cases[_i];
	struct smtp_mail_args m, zero;

	memset(&m, 0xa5, sizeof(m));
	memset(&zero, 0, sizeof(zero));
	ck_assert_int_eq(smtp_cmd_parse_mail(c->arg, tlen(c->arg, c->len),
	    c->flags, &m), c->err);
	if (c->err != SMTP_CMD_OK) {
		ck_assert(memcmp(&m, &zero, sizeof(m)) == 0);
		return;
	}
	check_addr(&m.from, c->local, c->domain, c->null, c->utf8);
	ck_assert(m.has_size == c->has_size);
	ck_assert_uint_eq(m.size, c->size);
	ck_assert_int_eq(m.body, c->body);
	ck_assert(m.smtputf8 == c->smtputf8);
	ck_assert(m.has_auth == (c->auth != NULL));
	ck_assert_str_eq(m.auth, c->auth != NULL ? c->auth : "");
	ck_assert_int_eq(m.ret, c->ret);
	ck_assert_str_eq(m.envid, c->envid != NULL ? c->envid : "");
}
END_TEST

/* ---- RCPT ----------------------------------------------------------- */

static const struct rcpt_case {
	const char		*arg;
	size_t			 len;
	unsigned		 flags;
	enum smtp_cmd_err	 err;
	const char		*local;
	const char		*domain;
	bool			 utf8;
	unsigned		 notify;
	const char		*orcpt;		/* NULL: no ORCPT= */
} rcpt_cases[] = {
	{ .arg = "TO:<u@example.org>", .local = "u",
	    .domain = "example.org" },
	{ .arg = "to:<U@Example.Org>", .flags = F_S, .local = "U",
	    .domain = "example.org" },
	{ .arg = "TO: <u@d>", .local = "u", .domain = "d" },
	{ .arg = "TO: <u@d>", .flags = F_S, .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "TO: u@d", .local = "u", .domain = "d" },
	{ .arg = "TO:u@d", .local = "u", .domain = "d" },
	{ .arg = "TO:u@d", .flags = F_S, .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "TO:<u@d>  ", .flags = F_S, .local = "u", .domain = "d" },
	{ .arg = "TO:<\"a b\"@d>", .local = "\"a b\"", .domain = "d" },
	{ .arg = "TO:<u@[192.0.2.1]>", .local = "u", .domain = "[192.0.2.1]" },
	/* blanks, SP or HTAB */
	{ .arg = "\t TO:<u@d>\t", .flags = F_S, .local = "u", .domain = "d" },
	{ .arg = "TO:\t\tu@d ", .local = "u", .domain = "d" },
	{ .arg = "TO:\t<u@d>", .flags = F_S, .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "TO:<u@d>\tNOTIFY=NEVER",
	    .err = SMTP_CMD_ERR_PARAM_UNKNOWN },
	/* a local part alone (LOCAL, the sink): "<root>" from cron */
	{ .arg = "TO:<root>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "TO:<root>", .flags = F_L, .local = "root", .domain = "" },
	{ .arg = "TO:<root>", .flags = F_L | F_S, .local = "root",
	    .domain = "" },
	{ .arg = "TO: Root ", .flags = F_L, .local = "Root", .domain = "" },
	{ .arg = "TO:root", .flags = F_L | F_S, .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "TO:<first.last>", .flags = F_L, .local = "first.last",
	    .domain = "" },
	{ .arg = "TO:<\"a b\">", .flags = F_L, .local = "\"a b\"",
	    .domain = "" },
	{ .arg = "TO:<u@d>", .flags = F_L, .local = "u", .domain = "d" },
	{ .arg = "TO:<PostMaster>", .flags = F_L, .local = "postmaster",
	    .domain = "" },
	{ .arg = "TO:<root@>", .flags = F_L, .err = SMTP_CMD_ERR_PATH },
	{ .arg = "TO:<.root>", .flags = F_L, .err = SMTP_CMD_ERR_PATH },
	{ .arg = "TO:<root", .flags = F_L, .err = SMTP_CMD_ERR_PATH },
	{ .arg = "TO:<>", .flags = F_L, .err = SMTP_CMD_ERR_PATH },
	{ .arg = "TO:<@a:root>", .flags = F_L, .err = SMTP_CMD_ERR_PATH },
	{ .arg = "TO:<root>x", .flags = F_L, .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "TO:<root> X=1", .flags = F_L,
	    .err = SMTP_CMD_ERR_PARAM_UNKNOWN },
	{ .arg = "TO:<\xc3\xa9>", .flags = F_L, .err = SMTP_CMD_ERR_UTF8 },
	{ .arg = "TO:<\xc3\xa9>", .flags = F_L | F_U, .local = "\xc3\xa9",
	    .domain = "", .utf8 = true },
	/* RFC 5321 §4.5.1 postmaster */
	{ .arg = "TO:<postmaster>", .flags = F_S, .local = "postmaster",
	    .domain = "" },
	{ .arg = "TO:<PostMaster>", .local = "postmaster", .domain = "" },
	{ .arg = "TO: <POSTMASTER>  ", .local = "postmaster", .domain = "" },
	{ .arg = "TO: postmaster", .local = "postmaster", .domain = "" },
	{ .arg = "TO:Postmaster ", .local = "postmaster", .domain = "" },
	{ .arg = "TO: postmaster", .flags = F_S, .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "TO:<Postmaster@Example.ORG>", .local = "Postmaster",
	    .domain = "example.org" },
	{ .arg = "TO:<postmaster>x", .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "TO:postmasterx", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "TO:<postmaster@>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "TO:<postmaster", .err = SMTP_CMD_ERR_PATH },
	/* no null path, source routes dropped */
	{ .arg = "TO:<>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "TO: <>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "TO:<@a,@b:u@d>", .local = "u", .domain = "d" },
	{ .arg = "TO:<@a;@b:u@d>", .err = SMTP_CMD_ERR_PATH },
	/* syntax */
	{ .arg = "TO:", .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "TO", .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "FROM:<u@d>", .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "TO:<u@d>,<v@d>", .err = SMTP_CMD_ERR_SYNTAX },
	{ .arg = "TO:<u@d> <v@d>", .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "TO:<u>", .err = SMTP_CMD_ERR_PATH },
	{ .arg = "TO:<u@d\0>", .len = 9, .err = SMTP_CMD_ERR_PATH },
	/* parameters: none known */
	{ .arg = "TO:<u@d> NOTIFY=NEVER", .err = SMTP_CMD_ERR_PARAM_UNKNOWN },
	{ .arg = "TO:<u@d> ORCPT=rfc822;a@b",
	    .err = SMTP_CMD_ERR_PARAM_UNKNOWN },
	{ .arg = "TO:<u@d> SIZE=1", .err = SMTP_CMD_ERR_PARAM_UNKNOWN },
	{ .arg = "TO:<u@d> =x", .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "TO:<u@d> A=", .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "TO:<u@d> A=1=2", .err = SMTP_CMD_ERR_PARAM },
	/* UTF-8 needs MAIL ... SMTPUTF8 before (F_UTF8) */
	{ .arg = "TO:<\xc3\xa9@d>", .err = SMTP_CMD_ERR_UTF8 },
	{ .arg = "TO:<\xc3\xa9@d> SMTPUTF8", .err = SMTP_CMD_ERR_UTF8 },
	{ .arg = "TO:<\xc3\xa9@d>", .flags = F_U, .local = "\xc3\xa9",
	    .domain = "d", .utf8 = true },
	{ .arg = "TO:<u@\xe4\xbe\x8b.example>", .flags = F_U | F_S,
	    .local = "u", .domain = "\xe4\xbe\x8b.example", .utf8 = true },
	{ .arg = "TO:<\xc0\xaf@d>", .flags = F_U, .err = SMTP_CMD_ERR_PATH },
	{ .arg = "TO:<\xc0\xaf@d>", .err = SMTP_CMD_ERR_UTF8 },
	{ .arg = "TO:<u@d> X=\xc3\xa9", .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "TO:<u@d> X=\xc3\xa9", .flags = F_U,
	    .err = SMTP_CMD_ERR_PARAM_UNKNOWN },
	/* RFC 3461 §4.1, §4.2: NOTIFY and ORCPT under DSN, once each */
	{ .arg = "TO:<u@d> NOTIFY=NEVER", .flags = F_D, .local = "u",
	    .domain = "d", .notify = SMTP_NOTIFY_NEVER },
	{ .arg = "TO:<u@d> notify=success,Failure,DELAY", .flags = F_D,
	    .local = "u", .domain = "d", .notify = SMTP_NOTIFY_SUCCESS |
	    SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY },
	{ .arg = "TO:<u@d> NOTIFY=DELAY,FAILURE", .flags = F_D, .local = "u",
	    .domain = "d", .notify = SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY },
	{ .arg = "TO:<u@d> NOTIFY=SUCCESS,NEVER", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "TO:<u@d> NOTIFY=NEVER,SUCCESS", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "TO:<u@d> NOTIFY=SUCCESS,SUCCESS", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "TO:<u@d> NOTIFY=SUCCESS,,FAILURE", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "TO:<u@d> NOTIFY=SUCCESS,", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "TO:<u@d> NOTIFY=ALWAYS", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "TO:<u@d> NOTIFY", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "TO:<u@d> NOTIFY=", .flags = F_D, .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "TO:<u@d> NOTIFY=DELAY NOTIFY=DELAY", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_TWICE },
	{ .arg = "TO:<u@d> ORCPT=rfc822;u@d", .flags = F_D, .local = "u",
	    .domain = "d", .orcpt = "rfc822;u@d" },
	{ .arg = "TO:<u@d> ORCPT=RFC822;a+20b+2Bc@d", .flags = F_D,
	    .local = "u", .domain = "d", .orcpt = "RFC822;a+20b+2Bc@d" },
	{ .arg = "TO:<u@d> ORCPT=utf-8;u\\x{E9}@d", .flags = F_D,
	    .local = "u", .domain = "d", .orcpt = "utf-8;u\\x{E9}@d" },
	{ .arg = "TO:<u@d> ORCPT=rfc822", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "TO:<u@d> ORCPT=;u@d", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "TO:<u@d> ORCPT=rfc822;", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "TO:<u@d> ORCPT=rfc(822);u@d", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "TO:<u@d> ORCPT=rfc822;a+2b", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "TO:<u@d> ORCPT=rfc822;a+0Db", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "TO:<u@d> ORCPT=rfc822;a+7F", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "TO:<u@d> ORCPT", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "TO:<u@d> ORCPT=rfc822;\xc3\xa9@d", .flags = F_D | F_U,
	    .err = SMTP_CMD_ERR_PARAM_VALUE },
	{ .arg = "TO:<u@d> ORCPT=rfc822;a ORCPT=rfc822;a", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_TWICE },
	{ .arg = "TO:<u@d>  ORCPT=rfc822;x@y\tNOTIFY=FAILURE ", .flags = F_D,
	    .local = "u", .domain = "d", .notify = SMTP_NOTIFY_FAILURE,
	    .orcpt = "rfc822;x@y" },
	{ .arg = "TO:<u@d> NOTIFY=FAILURE FOO=1", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_UNKNOWN },
	{ .arg = "TO:<u@d> NOTIFY=FAILURE =1", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM },
	{ .arg = "TO:<u@d> RET=FULL", .flags = F_D,
	    .err = SMTP_CMD_ERR_PARAM_UNKNOWN },
};

START_TEST(test_rcpt)
{
	const struct rcpt_case *c = &rcpt_cases[_i];
	struct smtp_rcpt_args r, zero;

	memset(&r, 0xa5, sizeof(r));
	memset(&zero, 0, sizeof(zero));
	ck_assert_int_eq(smtp_cmd_parse_rcpt(c->arg, tlen(c->arg, c->len),
	    c->flags, &r), c->err);
	if (c->err != SMTP_CMD_OK) {
		ck_assert(memcmp(&r, &zero, sizeof(r)) == 0);
		return;
	}
	check_addr(&r.to, c->local, c->domain, false, c->utf8);
	ck_assert_uint_eq(r.notify, c->notify);
	ck_assert_str_eq(r.orcpt, c->orcpt != NULL ? c->orcpt : "");
}
END_TEST

/* ---- the limits of RFC 5321 §4.5.3.1 -------------------------------- */

static const struct len_case {
	bool			 rcpt;
	bool			 bare;		/* no angle brackets */
	bool			 quoted;	/* local part in quotes */
	size_t			 route;		/* "@r...r:" length, or 0 */
	size_t			 local;
	size_t			 domain;
	enum smtp_cmd_err	 err;
} len_cases[] = {
	{ .local = 64, .domain = 10 },
	{ .local = 65, .domain = 10, .err = SMTP_CMD_ERR_PATH_LONG },
	{ .rcpt = true, .local = 64, .domain = 10 },
	{ .rcpt = true, .local = 65, .domain = 10,
	    .err = SMTP_CMD_ERR_PATH_LONG },
	{ .quoted = true, .local = 64, .domain = 10 },
	{ .quoted = true, .local = 65, .domain = 10,
	    .err = SMTP_CMD_ERR_PATH_LONG },
	{ .bare = true, .local = 64, .domain = 10 },
	{ .bare = true, .local = 65, .domain = 10,
	    .err = SMTP_CMD_ERR_PATH_LONG },
	/* the whole path: 64 + "@" + 189 + "<>" = 256 */
	{ .local = 64, .domain = 189 },
	{ .local = 64, .domain = 190, .err = SMTP_CMD_ERR_PATH_LONG },
	{ .rcpt = true, .local = 64, .domain = 189 },
	{ .rcpt = true, .local = 64, .domain = 190,
	    .err = SMTP_CMD_ERR_PATH_LONG },
	{ .bare = true, .local = 64, .domain = 189 },
	{ .bare = true, .local = 64, .domain = 190,
	    .err = SMTP_CMD_ERR_PATH_LONG },
	{ .route = 10, .local = 54, .domain = 189 },
	{ .route = 10, .local = 55, .domain = 189,
	    .err = SMTP_CMD_ERR_PATH_LONG },
	/* a 255-octet domain always makes the path too long */
	{ .local = 1, .domain = 252 },
	{ .local = 1, .domain = 253, .err = SMTP_CMD_ERR_PATH_LONG },
	{ .local = 1, .domain = 255, .err = SMTP_CMD_ERR_PATH_LONG },
	{ .local = 1, .domain = 256, .err = SMTP_CMD_ERR_PATH_LONG },
	{ .local = 1, .domain = 1000, .err = SMTP_CMD_ERR_PATH_LONG },
	{ .local = 1000, .domain = 1, .err = SMTP_CMD_ERR_PATH_LONG },
};

/* fill - n octets of c, with a dot every 61 when dots (never last). */
static char *
fill(char *p, size_t n, char c, bool dots)
{
	size_t i;

	for (i = 0; i < n; i++)
		*p++ = dots && i % 61 == 60 && i + 1 < n ? '.' : c;
	return p;
}

START_TEST(test_len)
{
	const struct len_case *c = &len_cases[_i];
	char arg[2200], *p = arg;
	struct smtp_mail_args m;
	struct smtp_rcpt_args r;
	enum smtp_cmd_err err;

	p = stpcpy(p, c->rcpt ? "TO:" : "FROM:");
	p = stpcpy(p, c->bare ? "" : "<");
	if (c->route > 0) {
		*p++ = '@';
		p = fill(p, c->route - 2, 'r', false);
		*p++ = ':';
	}
	p = c->quoted ? stpcpy(p, "\"") : p;
	p = fill(p, c->local - (c->quoted ? 2 : 0), 'l', false);
	p = c->quoted ? stpcpy(p, "\"") : p;
	*p++ = '@';
	p = fill(p, c->domain, 'd', true);
	p = stpcpy(p, c->bare ? " " : ">");
	err = c->rcpt ? smtp_cmd_parse_rcpt(arg, (size_t)(p - arg), 0, &r) :
	    smtp_cmd_parse_mail(arg, (size_t)(p - arg), 0, &m);
	ck_assert_int_eq(err, c->err);
	if (err == SMTP_CMD_OK) {
		ck_assert_uint_eq(strlen(c->rcpt ? r.to.local : m.from.local),
		    c->local);
		ck_assert_uint_eq(strlen(c->rcpt ? r.to.domain :
		    m.from.domain), c->domain);
	}
}
END_TEST

/* AUTH= decodes to at most SMTP_PATH_MAX octets. */
START_TEST(test_auth_param_len)
{
	char arg[600], *p;
	size_t n = 255 + (size_t)_i;
	struct smtp_mail_args m;
	enum smtp_cmd_err err;

	p = stpcpy(arg, "FROM:<a@b> AUTH=+41");
	p = fill(p, n - 1, 'x', false);
	err = smtp_cmd_parse_mail(arg, (size_t)(p - arg), 0, &m);
	ck_assert_int_eq(err, n <= SMTP_PATH_MAX ? SMTP_CMD_OK :
	    SMTP_CMD_ERR_PARAM_VALUE);
	if (err == SMTP_CMD_OK)
		ck_assert_uint_eq(strlen(m.auth), n);
}
END_TEST

/* ENVID= is at most 100 characters, ORCPT= at most 500 (RFC 3461). */
START_TEST(test_dsn_param_len)
{
	char arg[700], *p;
	size_t n = (size_t)_i % 2 + (_i < 2 ? SMTP_ENVID_MAX :
	    SMTP_ORCPT_MAX);
	struct smtp_mail_args m;
	struct smtp_rcpt_args r;
	enum smtp_cmd_err err;

	if (_i < 2) {
		p = stpcpy(arg, "FROM:<a@b> ENVID=");
		p = fill(p, n, 'e', false);
		err = smtp_cmd_parse_mail(arg, (size_t)(p - arg), F_D, &m);
	} else {
		p = stpcpy(arg, "TO:<a@b> ORCPT=rfc822;");
		p = fill(p, n - 7, 'o', false);
		err = smtp_cmd_parse_rcpt(arg, (size_t)(p - arg), F_D, &r);
	}
	ck_assert_int_eq(err, _i % 2 == 0 ? SMTP_CMD_OK :
	    SMTP_CMD_ERR_PARAM_VALUE);
	if (err == SMTP_CMD_OK)
		ck_assert_uint_eq(strlen(_i < 2 ? m.envid : r.orcpt), n);
}
END_TEST

/* ---- BDAT ----------------------------------------------------------- */

static const struct bdat_case {
	const char		*arg;
	enum smtp_cmd_err	 err;
	uint64_t		 size;
	bool			 last;
} bdat_cases[] = {
	{ "0", SMTP_CMD_OK, 0, false },
	{ "0 LAST", SMTP_CMD_OK, 0, true },
	{ "10", SMTP_CMD_OK, 10, false },
	{ "10 LAST", SMTP_CMD_OK, 10, true },
	{ "10 last", SMTP_CMD_OK, 10, true },
	{ "10 LaSt", SMTP_CMD_OK, 10, true },
	{ "10   LAST  ", SMTP_CMD_OK, 10, true },
	{ "10 ", SMTP_CMD_OK, 10, false },
	{ "007", SMTP_CMD_OK, 7, false },
	{ "9999999999999999999", SMTP_CMD_OK, 9999999999999999999u, false },
	{ "10000000000000000000", SMTP_CMD_ERR_SYNTAX, 0, false },
	{ "0000000000000000000", SMTP_CMD_OK, 0, false },
	{ "00000000000000000000", SMTP_CMD_ERR_SYNTAX, 0, false },
	{ "", SMTP_CMD_ERR_SYNTAX, 0, false },
	{ " ", SMTP_CMD_ERR_SYNTAX, 0, false },
	{ " 10", SMTP_CMD_OK, 10, false },
	{ "\t10\t\tLAST\t", SMTP_CMD_OK, 10, true },
	{ "10LAST", SMTP_CMD_ERR_SYNTAX, 0, false },
	{ "10 LASTX", SMTP_CMD_ERR_SYNTAX, 0, false },
	{ "10 LAS", SMTP_CMD_ERR_SYNTAX, 0, false },
	{ "10 LAST x", SMTP_CMD_ERR_SYNTAX, 0, false },
	{ "10 LAST LAST", SMTP_CMD_ERR_SYNTAX, 0, false },
	{ "10 10", SMTP_CMD_ERR_SYNTAX, 0, false },
	{ "10\tLAST", SMTP_CMD_OK, 10, true },
	{ "10\vLAST", SMTP_CMD_ERR_SYNTAX, 0, false },
	{ "-1", SMTP_CMD_ERR_SYNTAX, 0, false },
	{ "+1", SMTP_CMD_ERR_SYNTAX, 0, false },
	{ "1x", SMTP_CMD_ERR_SYNTAX, 0, false },
	{ "0x10", SMTP_CMD_ERR_SYNTAX, 0, false },
	{ "LAST", SMTP_CMD_ERR_SYNTAX, 0, false },
};

START_TEST(test_bdat)
{
	const struct bdat_case *c = &bdat_cases[_i];
	uint64_t size = 42;
	bool last = true;

	ck_assert_int_eq(smtp_cmd_parse_bdat(c->arg, strlen(c->arg), &size,
	    &last), c->err);
	ck_assert_uint_eq(size, c->size);
	ck_assert(last == c->last);
}
END_TEST

/* ---- HELO / EHLO ---------------------------------------------------- */

static const struct helo_case {
	const char		*arg;
	enum smtp_cmd_err	 err;
} helo_cases[] = {
	{ "example.org", SMTP_CMD_OK },
	{ "mx.Example.ORG", SMTP_CMD_OK },
	{ "localhost", SMTP_CMD_OK },
	{ "x", SMTP_CMD_OK },
	{ "[192.0.2.1]", SMTP_CMD_OK },
	{ "[IPv6:2001:db8::1]", SMTP_CMD_OK },
	{ "under_score!#~", SMTP_CMD_OK },
	{ "example.org   ", SMTP_CMD_OK },
	{ "", SMTP_CMD_ERR_SYNTAX },
	{ "   ", SMTP_CMD_ERR_SYNTAX },
	{ " example.org", SMTP_CMD_OK },
	{ "\t example.org \t", SMTP_CMD_OK },
	{ "\t", SMTP_CMD_ERR_SYNTAX },
	{ "a b", SMTP_CMD_ERR_SYNTAX },
	{ "a\tb", SMTP_CMD_ERR_SYNTAX },
	{ "a\x7f", SMTP_CMD_ERR_SYNTAX },
	{ "\xc3\xa9.example", SMTP_CMD_ERR_SYNTAX },
	{ "a\x01", SMTP_CMD_ERR_SYNTAX },
};

START_TEST(test_helo)
{
	const char *arg = helo_cases[_i].arg;

	ck_assert_int_eq(smtp_cmd_parse_helo(arg, strlen(arg)),
	    helo_cases[_i].err);
}
END_TEST

/* A NUL inside the argument is not printable ASCII. */
START_TEST(test_helo_nul)
{
	ck_assert_int_eq(smtp_cmd_parse_helo("a\0b", 3), SMTP_CMD_ERR_SYNTAX);
}
END_TEST

/* ---- AUTH ----------------------------------------------------------- */

static const struct auth_case {
	const char		*arg;
	enum smtp_cmd_err	 err;
	const char		*mech;
	const char		*ir;	/* NULL: none */
} auth_cases[] = {
	{ "PLAIN", SMTP_CMD_OK, "PLAIN", NULL },
	{ "plain", SMTP_CMD_OK, "PLAIN", NULL },
	{ "Login", SMTP_CMD_OK, "LOGIN", NULL },
	{ "CRAM-MD5", SMTP_CMD_OK, "CRAM-MD5", NULL },
	{ "SCRAM-SHA-256", SMTP_CMD_OK, "SCRAM-SHA-256", NULL },
	{ "x_oauth2", SMTP_CMD_OK, "X_OAUTH2", NULL },
	{ "ABCDEFGHIJKLMNOPQRST", SMTP_CMD_OK, "ABCDEFGHIJKLMNOPQRST", NULL },
	{ "PLAIN AGFsaWNlAHNlY3JldA==", SMTP_CMD_OK, "PLAIN",
	    "AGFsaWNlAHNlY3JldA==" },
	{ "PLAIN =", SMTP_CMD_OK, "PLAIN", "=" },
	{ "login dXNlcg==", SMTP_CMD_OK, "LOGIN", "dXNlcg==" },
	{ "XOAUTH2 a+b/c", SMTP_CMD_OK, "XOAUTH2", "a+b/c" },
	/* runs of blanks, SP or HTAB (emailjs: "AUTH  CRAM-MD5") */
	{ " CRAM-MD5", SMTP_CMD_OK, "CRAM-MD5", NULL },
	{ " PLAIN", SMTP_CMD_OK, "PLAIN", NULL },
	{ "PLAIN ", SMTP_CMD_OK, "PLAIN", NULL },
	{ "PLAIN  abc", SMTP_CMD_OK, "PLAIN", "abc" },
	{ "PLAIN abc ", SMTP_CMD_OK, "PLAIN", "abc" },
	{ "PLAIN\tabc", SMTP_CMD_OK, "PLAIN", "abc" },
	{ "\tLOGIN \t dXNlcg== \t", SMTP_CMD_OK, "LOGIN", "dXNlcg==" },
	{ "ABCDEFGHIJKLMNOPQRSTU", SMTP_CMD_ERR_SYNTAX, "", NULL },
	{ "", SMTP_CMD_ERR_SYNTAX, "", NULL },
	{ " \t ", SMTP_CMD_ERR_SYNTAX, "", NULL },
	{ "PLAIN abc def", SMTP_CMD_ERR_SYNTAX, "", NULL },
	{ "PLAIN a*b", SMTP_CMD_ERR_SYNTAX, "", NULL },
	{ "PLAIN *", SMTP_CMD_ERR_SYNTAX, "", NULL },
	{ "PLAIN\vabc", SMTP_CMD_ERR_SYNTAX, "", NULL },
	{ "PL@IN", SMTP_CMD_ERR_SYNTAX, "", NULL },
	{ "PLAIN.X", SMTP_CMD_ERR_SYNTAX, "", NULL },
	{ "PL\xc3\xa9", SMTP_CMD_ERR_SYNTAX, "", NULL },
};

START_TEST(test_auth)
{
	const struct auth_case *c = &auth_cases[_i];
	char mech[21];
	const char *ir = "junk";
	size_t irlen = 99;

	memset(mech, 'z', sizeof(mech));
	ck_assert_int_eq(smtp_cmd_parse_auth(c->arg, strlen(c->arg), mech,
	    &ir, &irlen), c->err);
	ck_assert_str_eq(mech, c->mech);
	if (c->ir == NULL) {
		ck_assert_ptr_null(ir);
		ck_assert_uint_eq(irlen, 0);
		return;
	}
	ck_assert_ptr_nonnull(ir);
	ck_assert_uint_eq(irlen, strlen(c->ir));
	ck_assert_mem_eq(ir, c->ir, irlen);
	ck_assert_ptr_eq(ir, strstr(c->arg + strspn(c->arg, " \t") +
	    strlen(c->mech), c->ir));
}
END_TEST

/* ---- addresses ------------------------------------------------------ */

static const struct safe_case {
	const char	*local;
	bool		 safe;
} safe_cases[] = {
	{ "user", true },
	{ "first.last", true },
	{ "a+tag", true },
	{ "a-b_c=d", true },
	{ "a.", true },
	{ "\"a b\"", true },
	{ "\"a\\\\b\"", true },
	{ "\xc3\xa9", true },
	{ "postmaster", true },
	{ "\"a\\\"b\"", true },
	{ "../x", false },
	{ "..", false },
	{ ".x", false },
	{ "a/b", false },
	{ "/etc", false },
	{ "a..b", false },
	{ "\"a/b\"", false },
	{ "\"a\\/b\"", false },
	{ "\"../x\"", false },
	{ "\".x\"", false },
	{ "\"a..b\"", false },
	{ "a\x01" "b", false },
	{ "a\tb", false },
	{ "a\x7f", false },
	{ "\"a\x1f\"", false },
	{ "", false },
	{ "\"\"", false },
};

START_TEST(test_safe_local)
{
	struct smtp_addr a;

	memset(&a, 0, sizeof(a));
	strcpy(a.local, safe_cases[_i].local);
	strcpy(a.domain, "example.org");
	ck_assert(smtp_addr_is_safe_local(&a) == safe_cases[_i].safe);
}
END_TEST

/* The same test on addresses as they come out of the parser. */
static const struct safe_rcpt_case {
	const char	*arg;
	bool		 safe;
} safe_rcpt_cases[] = {
	{ "TO:<user@d>", true },
	{ "TO:<postmaster>", true },
	{ "TO:<a+b@d>", true },
	{ "TO:<\"a b\"@d>", true },
	{ "TO:<a/b@d>", false },
	{ "TO:<\"a/b\"@d>", false },
	{ "TO:<\"../x\"@d>", false },
	{ "TO:<\".x\"@d>", false },
	{ "TO:<\"a\\/b\"@d>", false },
	{ "TO:<\"\"@d>", false },
};

START_TEST(test_safe_rcpt)
{
	const struct safe_rcpt_case *c = &safe_rcpt_cases[_i];
	struct smtp_rcpt_args r;

	ck_assert_int_eq(smtp_cmd_parse_rcpt(c->arg, strlen(c->arg), 0, &r),
	    SMTP_CMD_OK);
	ck_assert(smtp_addr_is_safe_local(&r.to) == c->safe);
}
END_TEST

static const struct fmt_case {
	const char	*local;
	const char	*domain;
	bool		 null;
	size_t		 dstlen;
	const char	*want;
} fmt_cases[] = {
	{ "a", "example.org", false, 64, "a@example.org" },
	{ "\"a b\"", "[192.0.2.1]", false, 64, "\"a b\"@[192.0.2.1]" },
	{ "postmaster", "", false, 64, "postmaster" },
	{ "", "", true, 64, "" },
	{ "abc", "def", false, 4, "abc" },
	{ "abc", "def", false, 1, "" },
};

START_TEST(test_fmt)
{
	const struct fmt_case *c = &fmt_cases[_i];
	struct smtp_addr a;
	char dst[64];

	memset(&a, 0, sizeof(a));
	strcpy(a.local, c->local);
	strcpy(a.domain, c->domain);
	a.null = c->null;
	memset(dst, 'z', sizeof(dst));
	ck_assert_ptr_eq(smtp_addr_fmt(&a, dst, c->dstlen), dst);
	ck_assert_str_eq(dst, c->want);
}
END_TEST

/* A zero-sized destination is left alone. */
START_TEST(test_fmt_empty)
{
	struct smtp_addr a;
	char dst = 'z';

	memset(&a, 0, sizeof(a));
	strcpy(a.local, "a");
	ck_assert_ptr_eq(smtp_addr_fmt(&a, &dst, 0), &dst);
	ck_assert_int_eq(dst, 'z');
}
END_TEST

/* ---- UTF-8 (RFC 3629) ----------------------------------------------- */

static const struct utf8_case {
	const char	*s;
	size_t		 len;
	bool		 valid;
} utf8_cases[] = {
	{ "", 0, true },
	{ "abc", 0, true },
	{ "\0", 1, true },
	{ "\xc2\x80", 0, true },		/* U+0080 */
	{ "\xc3\xa9", 0, true },
	{ "\xdf\xbf", 0, true },		/* U+07FF */
	{ "\xe0\xa0\x80", 0, true },		/* U+0800 */
	{ "\xe2\x82\xac", 0, true },
	{ "\xed\x9f\xbf", 0, true },		/* U+D7FF */
	{ "\xee\x80\x80", 0, true },		/* U+E000 */
	{ "\xef\xbf\xbf", 0, true },		/* U+FFFF */
	{ "\xf0\x90\x80\x80", 0, true },	/* U+10000 */
	{ "\xf0\x9f\x98\x80", 0, true },
	{ "\xf4\x8f\xbf\xbf", 0, true },	/* U+10FFFF */
	{ "a\xc3\xa9" "b\xe2\x82\xac", 0, true },
	{ "\xc0\xaf", 0, false },		/* overlong "/" */
	{ "\xc0\x80", 0, false },		/* overlong NUL */
	{ "\xc1\xbf", 0, false },
	{ "\xe0\x80\xaf", 0, false },
	{ "\xe0\x9f\xbf", 0, false },
	{ "\xf0\x80\x80\xaf", 0, false },
	{ "\xf0\x8f\xbf\xbf", 0, false },
	{ "\xed\xa0\x80", 0, false },		/* surrogates */
	{ "\xed\xbf\xbf", 0, false },
	{ "\xf4\x90\x80\x80", 0, false },	/* above U+10FFFF */
	{ "\xf5\x80\x80\x80", 0, false },
	{ "\xf8\x88\x80\x80\x80", 0, false },
	{ "\xfe", 0, false },
	{ "\xff", 0, false },
	{ "\x80", 0, false },			/* lone continuation */
	{ "\xbf", 0, false },
	{ "\xc3", 0, false },			/* truncated */
	{ "a\xc3", 0, false },
	{ "\xe2\x82", 0, false },
	{ "\xf0\x9f\x98", 0, false },
	{ "\xc3\x28", 0, false },		/* bad continuation */
	{ "\xe2\x28\xa1", 0, false },
	{ "\xe2\x82\x28", 0, false },
	{ "\xf0\x9f\x98\x28", 0, false },
	{ "\xc3\xa9\xa9", 0, false },
};

START_TEST(test_utf8)
{
	const struct utf8_case *c = &utf8_cases[_i];

	ck_assert(smtp_utf8_valid(c->s, tlen(c->s, c->len)) == c->valid);
}
END_TEST

/* ---- the suite ------------------------------------------------------ */

/* add_table - a test case that runs ttest once per table row. */
static void
add_table(Suite *s, const char *name, const TTest *ttest, size_t rows)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, 60);	/* ASan on a busy CI machine */
	tcase_add_loop_test(tc, ttest, 0, (int)rows);
	suite_add_tcase(s, tc);
}

static Suite *
smtp_cmd_suite(void)
{
	Suite *s = suite_create("smtp_cmd");

	add_table(s, "verb", test_verb, NITEMS(verb_cases));
	add_table(s, "verb_name", test_verb_name, NITEMS(verb_names));
	add_table(s, "mail", test_mail, NITEMS(mail_cases));
	add_table(s, "rcpt", test_rcpt, NITEMS(rcpt_cases));
	add_table(s, "limits", test_len, NITEMS(len_cases));
	add_table(s, "auth_param_len", test_auth_param_len, 3);
	add_table(s, "dsn_param_len", test_dsn_param_len, 4);
	add_table(s, "bdat", test_bdat, NITEMS(bdat_cases));
	add_table(s, "helo", test_helo, NITEMS(helo_cases));
	add_table(s, "helo_nul", test_helo_nul, 1);
	add_table(s, "auth", test_auth, NITEMS(auth_cases));
	add_table(s, "safe_local", test_safe_local, NITEMS(safe_cases));
	add_table(s, "safe_rcpt", test_safe_rcpt, NITEMS(safe_rcpt_cases));
	add_table(s, "fmt", test_fmt, NITEMS(fmt_cases));
	add_table(s, "fmt_empty", test_fmt_empty, 1);
	add_table(s, "utf8", test_utf8, NITEMS(utf8_cases));
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(smtp_cmd_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
