/* SPDX-License-Identifier: ISC */
/*
 * check_conf - unit tests for conf: every key good and bad (bounds +-1),
 * sizes and durations up to overflow, listen forms, comments and CRLF,
 * error texts with their exact file:line, -o overrides, conf_check and
 * the conf_fmt round trip.  The sample configs in conf/ are read from the
 * source tree (found from CHAT_DIR) and must pass conf_check.
 */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define CONF_DIR	CHAT_DIR "/../../conf"
#define FILE_NAME	"t.conf"

/* new_conf - a fresh config whose default host name is mx.test. */
static struct config *
new_conf(void)
{
	struct config *c = conf_new("mx.test");

	ck_assert_ptr_nonnull(c);
	return c;
}

/* parse_len - conf_parse of len bytes as FILE_NAME; *err_out on -1. */
static int
parse_len(struct config *c, const char *text, size_t len, char **err_out)
{
	*err_out = NULL;
	return conf_parse(c, FILE_NAME, text, len, err_out);
}

/* parse_ok - a config from text, which must parse. */
static struct config *
parse_ok(const char *text)
{
	struct config *c = new_conf();
	char *err;

	if (parse_len(c, text, strlen(text), &err) != 0)
		ck_abort_msg("parse of \"%s\" failed: %s", text, err);
	ck_assert_ptr_null(err);
	return c;
}

/* check_err - rc must be -1 with err equal to want; frees err. */
static void
check_err(int rc, char *err, const char *want)
{
	ck_assert_int_eq(rc, -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(err, want);
	free(err);
}

/* has_line - whether text holds line as a whole line. */
static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p;

	for (p = text; (p = strstr(p, line)) != NULL; p++) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	}
	return 0;
}

/* check_line - conf_fmt(c) must print line. */
static void
check_line(const struct config *c, const char *line)
{
	char *text = conf_fmt(c);

	ck_assert_ptr_nonnull(text);
	if (!has_line(text, line))
		ck_abort_msg("no line \"%s\" in:\n%s", line, text);
	free(text);
}

/* round_trip - fmt, parse, fmt, parse, fmt: the three texts are equal. */
static void
round_trip(const struct config *c)
{
	struct config *c2, *c3;
	char *t1, *t2, *t3, *err;

	t1 = conf_fmt(c);
	c2 = conf_new("other.test");
	if (parse_len(c2, t1, strlen(t1), &err) != 0)
		ck_abort_msg("conf_fmt text does not parse: %s\n%s", err, t1);
	t2 = conf_fmt(c2);
	ck_assert_str_eq(t1, t2);
	c3 = conf_new("third.test");
	ck_assert_int_eq(parse_len(c3, t2, strlen(t2), &err), 0);
	t3 = conf_fmt(c3);
	ck_assert_str_eq(t2, t3);
	free(t1);
	free(t2);
	free(t3);
	conf_free(&c2);
	conf_free(&c3);
}

/* read_file - the whole of a sample config; NUL-terminated. */
static char *
read_file(const char *path, size_t *len_out)
{
	FILE *fp;
	char *text;
	long n;

	fp = fopen(path, "rb");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	ck_assert_int_ge(n, 0);
	rewind(fp);
	text = calloc((size_t)n + 1, 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(fread(text, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len_out = (size_t)n;
	return text;
}

/* ---- conf_parse_size, conf_parse_duration ------------------------- */

static const struct {
	const char	*s;
	int		 rc;
	uint64_t	 v;
} size_cases[] = {
	{ "0", 0, 0 },
	{ "1", 0, 1 },
	{ "007", 0, 7 },
	{ "1K", 0, 1024 },
	{ "1k", 0, 1024 },
	{ "25M", 0, 25 * 1024 * 1024 },
	{ "25m", 0, 25 * 1024 * 1024 },
	{ "1G", 0, 1024 * 1024 * 1024 },
	{ "1g", 0, 1024 * 1024 * 1024 },
	{ "0G", 0, 0 },
	{ "10485760", 0, 10485760 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "18446744073709551616", -1, 0 },
	{ "99999999999999999999", -1, 0 },
	{ "18014398509481983K", 0, UINT64_C(18014398509481983) << 10 },
	{ "18014398509481984K", -1, 0 },
	{ "17592186044415M", 0, UINT64_C(17592186044415) << 20 },
	{ "17592186044416M", -1, 0 },
	{ "17179869183G", 0, UINT64_C(17179869183) << 30 },
	{ "17179869184G", -1, 0 },
	{ "", -1, 0 },
	{ "K", -1, 0 },
	{ "-1", -1, 0 },
	{ "+1", -1, 0 },
	{ " 1", -1, 0 },
	{ "1 ", -1, 0 },
	{ "1KB", -1, 0 },
	{ "1KK", -1, 0 },
	{ "1T", -1, 0 },
	{ "1.5M", -1, 0 },
	{ "0x10", -1, 0 },
	{ "1s", -1, 0 },
};

START_TEST(t_size)
{
	uint64_t v = 12345;
	int rc;

	rc = conf_parse_size(size_cases[_i].s, &v);
	ck_assert_msg(rc == size_cases[_i].rc, "conf_parse_size(\"%s\") = %d",
	    size_cases[_i].s, rc);
	if (rc == 0)
		ck_assert_uint_eq(v, size_cases[_i].v);
}
END_TEST

static const struct {
	const char	*s;
	int		 rc;
	unsigned	 v;
} duration_cases[] = {
	{ "0", 0, 0 },
	{ "1", 0, 1 },
	{ "300", 0, 300 },
	{ "300s", 0, 300 },
	{ "5m", 0, 300 },
	{ "1h", 0, 3600 },
	{ "24h", 0, 86400 },
	{ "0h", 0, 0 },
	{ "4294967295", 0, UINT_MAX },
	{ "4294967295s", 0, UINT_MAX },
	{ "4294967296", -1, 0 },
	{ "71582788m", 0, 4294967280U },
	{ "71582789m", -1, 0 },
	{ "1193046h", 0, 4294965600U },
	{ "1193047h", -1, 0 },
	{ "99999999999999999999", -1, 0 },
	{ "", -1, 0 },
	{ "s", -1, 0 },
	{ "5M", -1, 0 },
	{ "5H", -1, 0 },
	{ "5S", -1, 0 },
	{ "1d", 0, 86400 },
	{ "49710d", 0, 4294944000U },
	{ "49711d", -1, 0 },
	{ "1D", -1, 0 },
	{ "5 m", -1, 0 },
	{ "5ms", -1, 0 },
	{ "-5", -1, 0 },
	{ "1.5h", -1, 0 },
	{ "5K", -1, 0 },
};

START_TEST(t_duration)
{
	unsigned v = 12345;
	int rc;

	rc = conf_parse_duration(duration_cases[_i].s, &v);
	ck_assert_msg(rc == duration_cases[_i].rc,
	    "conf_parse_duration(\"%s\") = %d", duration_cases[_i].s, rc);
	if (rc == 0)
		ck_assert_uint_eq(v, duration_cases[_i].v);
}
END_TEST

/* ---- every key, good and bad ------------------------------------- */

/* One directive: the line conf_fmt prints for it, or the error. */
static const struct {
	const char	*text;
	const char	*want;
	const char	*err;
} key_cases[] = {
	{ "hostname mx.example.org", "hostname mx.example.org", NULL },
	{ "relay_host smtps://smtp.example.net",
	  "relay_host smtps://smtp.example.net", NULL },
	{ "relay_host smtp://smtp.example.net:2587 smtps://[2001:db8::1]:465",
	  "relay_host smtp://smtp.example.net:2587 smtps://[2001:db8::1]:465",
	  NULL },
	{ "relay_host http://x.example", NULL, "t.conf:1: relay_host: bad "
	  "value 'http://x.example' (smtps://HOST[:PORT] or smtp://HOST[:PORT])" },
	{ "relay_host smtp://x.example:0", NULL, "t.conf:1: relay_host: bad "
	  "value 'smtp://x.example:0' (bad port)" },
	{ "relay_host smtp://x.example:25x", NULL, "t.conf:1: relay_host: bad "
	  "value 'smtp://x.example:25x' (bad port)" },
	{ "relay_host smtps://", NULL, "t.conf:1: relay_host: bad "
	  "value 'smtps://' (bad host)" },
	{ "relay_host smtps://u@x.example", NULL, "t.conf:1: relay_host: bad "
	  "value 'smtps://u@x.example' (bad host)" },
	{ "relay_host smtps://[::1", NULL, "t.conf:1: relay_host: bad "
	  "value 'smtps://[::1' (no ']' after the address)" },
	{ "relay_auth_file /etc/inlet/relay-auth",
	  "relay_auth_file /etc/inlet/relay-auth", NULL },
	{ "relay_ca_file /etc/inlet/ca.pem", "relay_ca_file /etc/inlet/ca.pem",
	  NULL },
	{ "queue_lifetime 5d", "queue_lifetime 120h", NULL },
	{ "queue_lifetime 0", NULL, "t.conf:1: queue_lifetime: '0' out of "
	  "range (1s..1440h)" },
	{ "relay_retry_min 1", "relay_retry_min 1s", NULL },
	{ "relay_retry_max 2h", "relay_retry_max 2h", NULL },
	{ "relay_user inlet-relay", "relay_user inlet-relay", NULL },
	{ "relay_connections 20", "relay_connections 20", NULL },
	{ "relay_connections 0", NULL, "t.conf:1: relay_connections: '0' out "
	  "of range (1..100)" },
	{ "milter inet:127.0.0.1:11332 mx", "milter inet:127.0.0.1:11332 mx",
	  NULL },
	{ "milter unix:/run/f.sock submission submissions",
	  "milter unix:/run/f.sock submission submissions", NULL },
	{ "milter inet:[::1]:8891", "milter inet:[::1]:8891", NULL },
	{ "milter inet:h:0", NULL, "t.conf:1: milter: bad value 'inet:h:0' "
	  "(inet: needs HOST:PORT)" },
	{ "milter inet:h:65536", NULL, "t.conf:1: milter: bad value "
	  "'inet:h:65536' (inet: needs HOST:PORT)" },
	{ "milter inet:h", NULL, "t.conf:1: milter: bad value 'inet:h' "
	  "(inet: needs HOST:PORT)" },
	{ "milter unix:run", NULL, "t.conf:1: milter: bad value 'unix:run' "
	  "(unix: needs an absolute path)" },
	{ "milter inet:h:1 relay", NULL, "t.conf:1: milter: bad value 'relay' "
	  "(inet:HOST:PORT, unix:/PATH or a role)" },
	{ "milter_default_action accept", "milter_default_action accept",
	  NULL },
	{ "milter_default_action reject", "milter_default_action reject",
	  NULL },
	{ "milter_default_action quarantine", NULL, "t.conf:1: "
	  "milter_default_action: bad value 'quarantine' (accept|tempfail|reject)" },
	{ "milter_connect_timeout 1s", "milter_connect_timeout 1s", NULL },
	{ "milter_command_timeout 0s", NULL, "t.conf:1: "
	  "milter_command_timeout: '0s' out of range (1s..1h)" },
	{ "milter_content_timeout 5m", "milter_content_timeout 5m", NULL },
	{ "milter_quarantine /var/mail/quarantine",
	  "milter_quarantine /var/mail/quarantine", NULL },
	{ "hostname [192.0.2.1]", "hostname [192.0.2.1]", NULL },
	{ "hostname", NULL, "t.conf:1: hostname: missing value" },
	{ "hostname a b", NULL, "t.conf:1: hostname: extra value 'b'" },
	{ "hostname h\xc3\xa9", NULL, "t.conf:1: hostname: bad value "
	  "'h\xc3\xa9' (printable ASCII only)" },
	{ "domains Example.ORG", "domains example.org", NULL },
	{ "domains a.example b-c.example x1.example 9.example",
	  "domains a.example b-c.example x1.example 9.example", NULL },
	{ "domains a.example A.EXAMPLE", "domains a.example", NULL },
	{ "domains localhost", "domains localhost", NULL },
	{ "domains", NULL, "t.conf:1: domains: missing value" },
	{ "domains a.example -b.example", NULL,
	  "t.conf:1: domains: bad domain '-b.example'" },
	{ "domains b-.example", NULL,
	  "t.conf:1: domains: bad domain 'b-.example'" },
	{ "domains a..example", NULL,
	  "t.conf:1: domains: bad domain 'a..example'" },
	{ "domains .example", NULL,
	  "t.conf:1: domains: bad domain '.example'" },
	{ "domains example.", NULL,
	  "t.conf:1: domains: bad domain 'example.'" },
	{ "domains a_b.example", NULL,
	  "t.conf:1: domains: bad domain 'a_b.example'" },
	{ "domains [192.0.2.1]", NULL,
	  "t.conf:1: domains: bad domain '[192.0.2.1]'" },
	{ "domains *.example", NULL,
	  "t.conf:1: domains: bad domain '*.example'" },
	/* IDN: U-labels or A-labels in, lower-case A-labels kept */
	{ "domains ex\xc3\xa4mple.test", "domains xn--exmple-cua.test", NULL },
	{ "domains EX\xc3\x84MPLE.TEST", "domains xn--exmple-cua.test", NULL },
	{ "domains XN--EXMPLE-CUA.test ex\xc3\xa4mple.test",
	  "domains xn--exmple-cua.test", NULL },
	{ "domains xn--zz.test", NULL,
	  "t.conf:1: domains: bad domain 'xn--zz.test'" },
	{ "domains \xe2\x98\x83.test", NULL,
	  "t.conf:1: domains: bad domain '\xe2\x98\x83.test'" },
	{ "domains a\xef\xbc\x8f" "b.test", NULL,
	  "t.conf:1: domains: bad domain 'a\xef\xbc\x8f" "b.test'" },
	{ "maildir /var/mail/%d/%u/Maildir",
	  "maildir /var/mail/%d/%u/Maildir", NULL },
	{ "maildir ./Maildir", "maildir ./Maildir", NULL },
	{ "maildir /m/100%%", "maildir /m/100%%", NULL },
	{ "maildir", NULL, "t.conf:1: maildir: missing value" },
	{ "maildir /m/%x", NULL, "t.conf:1: maildir: bad value '/m/%x' "
	  "(only %d, %u and %% may follow '%')" },
	{ "maildir /m/%", NULL, "t.conf:1: maildir: bad value '/m/%' "
	  "(only %d, %u and %% may follow '%')" },
	{ "maildir /a b", NULL, "t.conf:1: maildir: extra value 'b'" },
	{ "message_size_limit 0", "message_size_limit 0", NULL },
	{ "message_size_limit 1", "message_size_limit 1", NULL },
	{ "message_size_limit 1023", "message_size_limit 1023", NULL },
	{ "message_size_limit 1024", "message_size_limit 1K", NULL },
	{ "message_size_limit 1025", "message_size_limit 1025", NULL },
	{ "message_size_limit 10m", "message_size_limit 10M", NULL },
	{ "message_size_limit 1536K", "message_size_limit 1536K", NULL },
	{ "message_size_limit 2048M", "message_size_limit 2G", NULL },
	{ "message_size_limit 18446744073709551615",
	  "message_size_limit 18446744073709551615", NULL },
	{ "message_size_limit 18446744073709551616", NULL,
	  "t.conf:1: message_size_limit: bad size '18446744073709551616'" },
	{ "message_size_limit x", NULL,
	  "t.conf:1: message_size_limit: bad size 'x'" },
	{ "message_size_limit 10MB", NULL,
	  "t.conf:1: message_size_limit: bad size '10MB'" },
	{ "message_size_limit -1", NULL,
	  "t.conf:1: message_size_limit: bad size '-1'" },
	{ "message_size_limit", NULL,
	  "t.conf:1: message_size_limit: missing value" },
	{ "message_size_limit 1 M", NULL,
	  "t.conf:1: message_size_limit: extra value 'M'" },
	{ "recipient_limit 0", NULL,
	  "t.conf:1: recipient_limit: '0' out of range (1..100000)" },
	{ "recipient_limit 1", "recipient_limit 1", NULL },
	{ "recipient_limit 2", "recipient_limit 2", NULL },
	{ "recipient_limit 99999", "recipient_limit 99999", NULL },
	{ "recipient_limit 100000", "recipient_limit 100000", NULL },
	{ "recipient_limit 100001", NULL,
	  "t.conf:1: recipient_limit: '100001' out of range (1..100000)" },
	{ "recipient_limit 1K", NULL,
	  "t.conf:1: recipient_limit: bad number '1K'" },
	{ "recipient_limit 4294967296", NULL,
	  "t.conf:1: recipient_limit: bad number '4294967296'" },
	{ "bare_newline normalize", "bare_newline normalize", NULL },
	{ "bare_newline reject", "bare_newline reject", NULL },
	{ "bare_newline strip", NULL, "t.conf:1: bare_newline: bad value "
	  "'strip' (normalize|reject)" },
	{ "bare_newline Reject", NULL, "t.conf:1: bare_newline: bad value "
	  "'Reject' (normalize|reject)" },
	{ "strict_envelope yes", "strict_envelope yes", NULL },
	{ "strict_envelope no", "strict_envelope no", NULL },
	{ "strict_envelope true", NULL,
	  "t.conf:1: strict_envelope: bad value 'true' (yes|no)" },
	{ "sink yes", "sink yes", NULL },
	{ "sink no", "sink no", NULL },
	{ "sink 1", NULL, "t.conf:1: sink: bad value '1' (yes|no)" },
	{ "sink YES", NULL, "t.conf:1: sink: bad value 'YES' (yes|no)" },
	{ "sink_chaos rcpt *@fail.test reply 550",
	  "sink_chaos rcpt *@fail.test reply 550", NULL },
	{ "sink_chaos  mail\tbad@*  reply 451  Try later",
	  "sink_chaos mail bad@* reply 451 Try later", NULL },
	{ "sink_chaos data *@slow.test delay 5s",
	  "sink_chaos data *@slow.test delay 5s", NULL },
	{ "sink_chaos rcpt *@drop.test disconnect",
	  "sink_chaos rcpt *@drop.test disconnect", NULL },
	{ "sink_chaos auth * 30% reply 535 # a comment",
	  "sink_chaos auth * 30% reply 535", NULL },
	{ "sink_chaos", NULL, "t.conf:1: sink_chaos: missing value" },
	{ "sink_chaos rcpt * reply 250", NULL, "t.conf:1: sink_chaos: bad "
	  "value 'rcpt * reply 250' (bad reply code (one of 421 450 451 452 "
	  "454 535 550 552 553 554))" },
	{ "sink_chaos helo * disconnect", NULL, "t.conf:1: sink_chaos: bad "
	  "value 'helo * disconnect' (unknown stage (mail, rcpt, data or "
	  "auth))" },
	{ "command_timeout 0", NULL,
	  "t.conf:1: command_timeout: '0' out of range (1s..1h)" },
	{ "command_timeout 1", "command_timeout 1s", NULL },
	{ "command_timeout 2", "command_timeout 2s", NULL },
	{ "command_timeout 90", "command_timeout 90s", NULL },
	{ "command_timeout 60s", "command_timeout 1m", NULL },
	{ "command_timeout 3599", "command_timeout 3599s", NULL },
	{ "command_timeout 1h", "command_timeout 1h", NULL },
	{ "command_timeout 3600s", "command_timeout 1h", NULL },
	{ "command_timeout 3601", NULL,
	  "t.conf:1: command_timeout: '3601' out of range (1s..1h)" },
	{ "command_timeout 61m", NULL,
	  "t.conf:1: command_timeout: '61m' out of range (1s..1h)" },
	{ "command_timeout 5x", NULL,
	  "t.conf:1: command_timeout: bad duration '5x'" },
	{ "command_timeout 5M", NULL,
	  "t.conf:1: command_timeout: bad duration '5M'" },
	{ "data_timeout 0", NULL,
	  "t.conf:1: data_timeout: '0' out of range (1s..24h)" },
	{ "data_timeout 1", "data_timeout 1s", NULL },
	{ "data_timeout 2", "data_timeout 2s", NULL },
	{ "data_timeout 86399", "data_timeout 86399s", NULL },
	{ "data_timeout 24h", "data_timeout 24h", NULL },
	{ "data_timeout 1440m", "data_timeout 24h", NULL },
	{ "data_timeout 86401", NULL,
	  "t.conf:1: data_timeout: '86401' out of range (1s..24h)" },
	{ "data_timeout 1441m", NULL,
	  "t.conf:1: data_timeout: '1441m' out of range (1s..24h)" },
	{ "max_connections 0", NULL,
	  "t.conf:1: max_connections: '0' out of range (1..1000000)" },
	{ "max_connections 1", "max_connections 1", NULL },
	{ "max_connections 2", "max_connections 2", NULL },
	{ "max_connections 999999", "max_connections 999999", NULL },
	{ "max_connections 1000000", "max_connections 1000000", NULL },
	{ "max_connections 1000001", NULL,
	  "t.conf:1: max_connections: '1000001' out of range (1..1000000)" },
	{ "max_connections_per_ip 0", "max_connections_per_ip 0", NULL },
	{ "max_connections_per_ip 1", "max_connections_per_ip 1", NULL },
	{ "max_connections_per_ip 999999", "max_connections_per_ip 999999",
	  NULL },
	{ "max_connections_per_ip 1000000", "max_connections_per_ip 1000000",
	  NULL },
	{ "max_connections_per_ip 1000001", NULL,
	  "t.conf:1: max_connections_per_ip: '1000001' out of range "
	  "(0..1000000)" },
	{ "max_connections_per_ip -1", NULL,
	  "t.conf:1: max_connections_per_ip: bad number '-1'" },
	{ "max_errors 0", NULL,
	  "t.conf:1: max_errors: '0' out of range (1..1000)" },
	{ "max_errors 1", "max_errors 1", NULL },
	{ "max_errors 2", "max_errors 2", NULL },
	{ "max_errors 999", "max_errors 999", NULL },
	{ "max_errors 1000", "max_errors 1000", NULL },
	{ "max_errors 1001", NULL,
	  "t.conf:1: max_errors: '1001' out of range (1..1000)" },
	{ "shutdown_timeout 0", "shutdown_timeout 0", NULL },
	{ "shutdown_timeout 1", "shutdown_timeout 1s", NULL },
	{ "shutdown_timeout 90s", "shutdown_timeout 90s", NULL },
	{ "shutdown_timeout 3600", "shutdown_timeout 1h", NULL },
	{ "shutdown_timeout 3601", NULL,
	  "t.conf:1: shutdown_timeout: '3601' out of range (0..1h)" },
	{ "shutdown_timeout -1", NULL,
	  "t.conf:1: shutdown_timeout: bad duration '-1'" },
	{ "user inlet", "user inlet", NULL },
	{ "user", NULL, "t.conf:1: user: missing value" },
	{ "user a b", NULL, "t.conf:1: user: extra value 'b'" },
	{ "data_hook /etc/inlet/post-data", "data_hook /etc/inlet/post-data",
	  NULL },
	{ "data_hook post-data", NULL, "t.conf:1: data_hook: bad value "
	  "'post-data' (an absolute path)" },
	{ "data_hook /a\xc3\xa9", NULL, "t.conf:1: data_hook: bad value "
	  "'/a\xc3\xa9' (printable ASCII only)" },
	{ "data_hook /a b", NULL, "t.conf:1: data_hook: extra value 'b'" },
	{ "data_hook", NULL, "t.conf:1: data_hook: missing value" },
	{ "data_hook_timeout 1", "data_hook_timeout 1s", NULL },
	{ "data_hook_timeout 60", "data_hook_timeout 1m", NULL },
	{ "data_hook_timeout 1h", "data_hook_timeout 1h", NULL },
	{ "data_hook_timeout 0", NULL,
	  "t.conf:1: data_hook_timeout: '0' out of range (1s..1h)" },
	{ "data_hook_timeout 3601", NULL,
	  "t.conf:1: data_hook_timeout: '3601' out of range (1s..1h)" },
	{ "foo bar", NULL, "t.conf:1: unknown key 'foo'" },
	{ "Hostname x", NULL, "t.conf:1: unknown key 'Hostname'" },
	{ "hostname=x", NULL, "t.conf:1: unknown key 'hostname=x'" },
	{ "http_listen 127.0.0.1:8025", "http_listen 127.0.0.1:8025", NULL },
	{ "http_listen [::1]:0", "http_listen [::1]:0", NULL },
	{ "http_listen 127.0.0.1", NULL, "t.conf:1: http_listen: bad value "
	  "'127.0.0.1' (missing :PORT)" },
	{ "http_listen localhost:80", NULL, "t.conf:1: http_listen: bad "
	  "value 'localhost:80' (bad address)" },
	{ "http_auth /etc/inlet/htpasswd", "http_auth /etc/inlet/htpasswd",
	  NULL },
	{ "sink_max_messages 0", "sink_max_messages 0", NULL },
	{ "sink_max_messages 10000001", NULL, "t.conf:1: sink_max_messages: "
	  "'10000001' out of range (0..10000000)" },
	{ "sink_max_age 7d", "sink_max_age 168h", NULL },	/* d is read */
	{ "sink_max_age 1w", NULL, "t.conf:1: sink_max_age: bad duration "
	  "'1w'" },
	{ "sink_max_age 2h", "sink_max_age 2h", NULL },
};

START_TEST(t_key)
{
	struct config *c = new_conf();
	const char *text = key_cases[_i].text;
	char *err;
	int rc;

	rc = parse_len(c, text, strlen(text), &err);
	if (key_cases[_i].err != NULL) {
		check_err(rc, err, key_cases[_i].err);
	} else {
		ck_assert_msg(rc == 0, "\"%s\": %s", text, err);
		check_line(c, key_cases[_i].want);
		round_trip(c);
	}
	conf_free(&c);
}
END_TEST

#define LABEL49	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/*
 * Long names: the 255-character host name, 63-octet label and
 * 253-character domain limits, each at -1, 0 and +1.
 */
START_TEST(t_key_lengths)
{
	char text[600], *err;
	struct config *c;
	int len;

	for (len = 254; len <= 256; len++) {
		c = new_conf();
		(void)snprintf(text, sizeof(text), "hostname %0*d", len, 0);
		ck_assert_int_eq(parse_len(c, text, strlen(text), &err),
		    len <= 255 ? 0 : -1);
		free(err);
		conf_free(&c);
	}
	for (len = 62; len <= 64; len++) {
		c = new_conf();
		(void)snprintf(text, sizeof(text), "domains %0*d.example", len,
		    0);
		ck_assert_int_eq(parse_len(c, text, strlen(text), &err),
		    len <= 63 ? 0 : -1);
		free(err);
		conf_free(&c);
	}
	for (len = 252; len <= 254; len++) {
		c = new_conf();
		/* five labels of 49 octets and a dot: 250, then 2..4 more */
		(void)snprintf(text, sizeof(text), "domains %s%s%s%s%s%0*d",
		    LABEL49 ".", LABEL49 ".", LABEL49 ".", LABEL49 ".",
		    LABEL49 ".", len - 250, 0);
		ck_assert_uint_eq(strlen(text) - strlen("domains "),
		    (size_t)len);
		ck_assert_int_eq(parse_len(c, text, strlen(text), &err),
		    len <= 253 ? 0 : -1);
		free(err);
		conf_free(&c);
	}
}
END_TEST

/* ---- listen ------------------------------------------------------ */

static const struct {
	const char	*text;
	size_t		 n;		/* listeners */
	const char	*addr;		/* of the first */
	unsigned	 port;
	enum conf_role	 role;
	const char	*err;
} listen_cases[] = {
	{ "listen 127.0.0.1:25", 1, "127.0.0.1", 25, CONF_ROLE_MX, NULL },
	{ "listen 0.0.0.0:587", 1, "0.0.0.0", 587, CONF_ROLE_SUBMISSION,
	  NULL },
	{ "listen 0.0.0.0:465", 1, "0.0.0.0", 465, CONF_ROLE_SUBMISSIONS,
	  NULL },
	{ "listen 0.0.0.0:2525 submission", 1, "0.0.0.0", 2525,
	  CONF_ROLE_SUBMISSION, NULL },
	{ "listen 0.0.0.0:587 mx", 1, "0.0.0.0", 587, CONF_ROLE_MX, NULL },
	{ "listen 127.0.0.1:2465 submissions", 1, "127.0.0.1", 2465,
	  CONF_ROLE_SUBMISSIONS, NULL },
	{ "listen [::1]:25 mx", 1, "::1", 25, CONF_ROLE_MX, NULL },
	{ "listen [::]:0", 1, "::", 0, CONF_ROLE_MX, NULL },
	{ "listen [2001:DB8:0:0::1]:25", 1, "2001:db8::1", 25, CONF_ROLE_MX,
	  NULL },
	{ "listen [::ffff:127.0.0.1]:587", 1, "::ffff:127.0.0.1", 587,
	  CONF_ROLE_SUBMISSION, NULL },
	{ "listen 127.0.0.1:0", 1, "127.0.0.1", 0, CONF_ROLE_MX, NULL },
	{ "listen 127.0.0.1:65535", 1, "127.0.0.1", 65535, CONF_ROLE_MX,
	  NULL },
	{ "listen 127.0.0.1:0025", 1, "127.0.0.1", 25, CONF_ROLE_MX, NULL },
	{ "listen 127.0.0.1:25 mx [::1]:587", 2, "127.0.0.1", 25,
	  CONF_ROLE_MX, NULL },
	{ "listen 127.0.0.1:465 [::1]:25 submission", 2, "127.0.0.1", 465,
	  CONF_ROLE_SUBMISSIONS, NULL },
	{ "listen", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: missing value" },
	{ "listen 127.0.0.1:65536", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad port in '127.0.0.1:65536'" },
	{ "listen 127.0.0.1:99999999999999999999999", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad port in '127.0.0.1:99999999999999999999999'" },
	{ "listen 127.0.0.1:", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad port in '127.0.0.1:'" },
	{ "listen 127.0.0.1:-1", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad port in '127.0.0.1:-1'" },
	{ "listen 127.0.0.1:+25", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad port in '127.0.0.1:+25'" },
	{ "listen 127.0.0.1:25x", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad port in '127.0.0.1:25x'" },
	{ "listen [::1]:smtp", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad port in '[::1]:smtp'" },
	{ "listen 127.0.0.1", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: missing :PORT in '127.0.0.1'" },
	{ "listen [::1]", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: missing :PORT in '[::1]'" },
	{ "listen [::1]25", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: missing :PORT in '[::1]25'" },
	{ "listen ::1:25", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: IPv6 address without [brackets] in '::1:25'" },
	{ "listen [::1:25", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad address in '[::1:25'" },
	{ "listen []:25", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad address in '[]:25'" },
	{ "listen 256.0.0.1:25", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad address in '256.0.0.1:25'" },
	{ "listen 1.2.3:25", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad address in '1.2.3:25'" },
	{ "listen localhost:25", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad address in 'localhost:25'" },
	{ "listen :25", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad address in ':25'" },
	{ "listen [127.0.0.1]:25", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad address in '[127.0.0.1]:25'" },
	{ "listen [fe80::1%eth0]:25", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad address in '[fe80::1%eth0]:25'" },
	{ "listen 127.0.0.1:25 smtp", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad role 'smtp' (mx|submission|submissions)" },
	{ "listen 127.0.0.1:25 MX", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad role 'MX' (mx|submission|submissions)" },
	{ "listen 127.0.0.1:25 mx mx", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad TLS 'mx' (starttls|notls|tls)" },
	{ "listen mx", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: missing :PORT in 'mx'" },
	{ "listen 127.0.0.1:25 [::1]:99999", 0, NULL, 0, CONF_ROLE_MX,
	  "t.conf:1: listen: bad port in '[::1]:99999'" },
};

/* The optional TLS word: parsed, kept as written, printed back. */
static const struct {
	const char	*text;
	enum conf_role	 role;
	enum conf_ltls	 tls;
	const char	*line;	/* what conf_fmt prints; NULL: text is bad */
	const char	*err;
} listen_tls_cases[] = {
	{ "listen 127.0.0.1:2525 mx notls", CONF_ROLE_MX, CONF_LTLS_NONE,
	  "listen 127.0.0.1:2525 mx notls", NULL },
	{ "listen 127.0.0.1:2525 notls", CONF_ROLE_MX, CONF_LTLS_NONE,
	  "listen 127.0.0.1:2525 mx notls", NULL },
	{ "listen 127.0.0.1:25 mx starttls", CONF_ROLE_MX, CONF_LTLS_STARTTLS,
	  "listen 127.0.0.1:25 mx starttls", NULL },
	{ "listen 127.0.0.1:587 starttls", CONF_ROLE_SUBMISSION,
	  CONF_LTLS_STARTTLS, "listen 127.0.0.1:587 submission starttls",
	  NULL },
	{ "listen 127.0.0.1:2465 submissions tls", CONF_ROLE_SUBMISSIONS,
	  CONF_LTLS_IMPLICIT, "listen 127.0.0.1:2465 submissions tls", NULL },
	{ "listen 127.0.0.1:25 mx", CONF_ROLE_MX, CONF_LTLS_AUTO,
	  "listen 127.0.0.1:25 mx", NULL },
	{ "listen 127.0.0.1:25 mx notls [::1]:25 mx", CONF_ROLE_MX,
	  CONF_LTLS_NONE, "listen [::1]:25 mx", NULL },
	{ "listen 127.0.0.1:25 mx NOTLS", CONF_ROLE_MX, CONF_LTLS_AUTO, NULL,
	  "t.conf:1: listen: bad TLS 'NOTLS' (starttls|notls|tls)" },
	{ "listen 127.0.0.1:25 mx notls notls", CONF_ROLE_MX, CONF_LTLS_AUTO,
	  NULL, "t.conf:1: listen: missing :PORT in 'notls'" },
	{ "listen 127.0.0.1:25 notls mx", CONF_ROLE_MX, CONF_LTLS_AUTO, NULL,
	  "t.conf:1: listen: missing :PORT in 'mx'" },
};

START_TEST(t_listen_tls)
{
	struct config *c = new_conf();
	const char *text = listen_tls_cases[_i].text;
	char *err;
	int rc;

	rc = parse_len(c, text, strlen(text), &err);
	if (listen_tls_cases[_i].err != NULL) {
		check_err(rc, err, listen_tls_cases[_i].err);
		ck_assert_uint_eq(c->nlistens, 0);
		conf_free(&c);
		return;
	}
	ck_assert_msg(rc == 0, "\"%s\": %s", text, err);
	ck_assert_int_eq(c->listens[0].role, listen_tls_cases[_i].role);
	ck_assert_int_eq(c->listens[0].tls, listen_tls_cases[_i].tls);
	check_line(c, listen_tls_cases[_i].line);
	round_trip(c);
	conf_free(&c);
}
END_TEST

START_TEST(t_listen)
{
	struct config *c = new_conf();
	const char *text = listen_cases[_i].text;
	char *err;
	int rc;

	rc = parse_len(c, text, strlen(text), &err);
	if (listen_cases[_i].err != NULL) {
		check_err(rc, err, listen_cases[_i].err);
		ck_assert_uint_eq(c->nlistens, 0);
		conf_free(&c);
		return;
	}
	ck_assert_msg(rc == 0, "\"%s\": %s", text, err);
	ck_assert_uint_eq(c->nlistens, listen_cases[_i].n);
	ck_assert_str_eq(c->listens[0].addr, listen_cases[_i].addr);
	ck_assert_uint_eq(c->listens[0].port, listen_cases[_i].port);
	ck_assert_int_eq(c->listens[0].role, listen_cases[_i].role);
	ck_assert_str_eq(c->listens[0].where, "t.conf:1");
	round_trip(c);
	conf_free(&c);
}
END_TEST

/* ---- syntax: comments, blank lines, CRLF, line numbers ------------ */

static const struct {
	const char	*text;
	size_t		 len;		/* 0: strlen(text) */
	const char	*want;		/* a line conf_fmt then prints */
	const char	*err;
} syntax_cases[] = {
	{ "", 0, "recipient_limit 100", NULL },
	{ "\n\n\n", 0, "recipient_limit 100", NULL },
	{ " \t \n\t\n", 0, "recipient_limit 100", NULL },
	{ "# a comment\n", 0, "recipient_limit 100", NULL },
	{ "#recipient_limit 5\n", 0, "recipient_limit 100", NULL },
	{ "  \t# indented comment\nrecipient_limit 5\n", 0,
	  "recipient_limit 5", NULL },
	{ "recipient_limit 5 # five\n", 0, "recipient_limit 5", NULL },
	{ "recipient_limit 5\t#five\n", 0, "recipient_limit 5", NULL },
	{ "recipient_limit 5#five\n", 0, NULL,
	  "t.conf:1: recipient_limit: bad number '5#five'" },
	{ "\trecipient_limit\t \t7\t\n", 0, "recipient_limit 7", NULL },
	{ "user u#x\n", 0, "user u#x", NULL },
	{ "user #x\n", 0, NULL, "t.conf:1: user: missing value" },
	{ "# caf\xc3\xa9 au lait\nuser u\n", 0, "user u", NULL },
	{ "recipient_limit 5", 0, "recipient_limit 5", NULL },
	{ "hostname a.example\r\nrecipient_limit 5\r\n", 0,
	  "recipient_limit 5", NULL },
	{ "hostname a.example\r\nrecipient_limit 5\r", 0,
	  "recipient_limit 5", NULL },
	{ "hostname a.example\nrecipient_limit 5\r\nuser u\n", 0,
	  "recipient_limit 5", NULL },
	{ "\r\n\r\nfoo x\r\n", 0, NULL, "t.conf:3: unknown key 'foo'" },
	{ "\n# c\n\n\tfoo\n", 0, NULL, "t.conf:4: unknown key 'foo'" },
	{ "user u\nrecipient_limit 0\n", 0, NULL,
	  "t.conf:2: recipient_limit: '0' out of range (1..100000)" },
	{ "recipient_limit 5\r\r\n", 0, NULL,
	  "t.conf:1: control character in line" },
	{ "recipient_limit 5\rsink yes\n", 0, NULL,
	  "t.conf:1: control character in line" },
	{ "user u\nhostname a\0b\n", 20, NULL,
	  "t.conf:2: control character in line" },
	{ "\n\n# \x01\n", 0, NULL, "t.conf:3: control character in line" },
	{ "recipient_limit\f5\n", 0, NULL,
	  "t.conf:1: control character in line" },
	{ "user u\x7f\n", 0, NULL, "t.conf:1: control character in line" },
	{ "hostname a\nhostname b\n", 0, NULL,
	  "t.conf:2: duplicate key 'hostname', first at t.conf:1" },
	{ "sink yes\n\n# again\nsink yes\n", 0, NULL,
	  "t.conf:4: duplicate key 'sink', first at t.conf:1" },
	{ "user u\r\n\r\nrecipient_limit 7\r\nrecipient_limit 7\r\n", 0, NULL,
	  "t.conf:4: duplicate key 'recipient_limit', first at t.conf:3" },
	{ "maildir /a\nuser u\nmaildir /b\nmaildir /c\n", 0, NULL,
	  "t.conf:3: duplicate key 'maildir', first at t.conf:1" },
	{ "domains a.example\ndomains b.example\n", 0,
	  "domains a.example b.example", NULL },
	{ "listen 127.0.0.1:25\nlisten [::1]:25\n", 0, "listen [::1]:25 mx",
	  NULL },
};

START_TEST(t_syntax)
{
	struct config *c = new_conf();
	const char *text = syntax_cases[_i].text;
	size_t len = syntax_cases[_i].len;
	char *err;
	int rc;

	rc = parse_len(c, text, len != 0 ? len : strlen(text), &err);
	if (syntax_cases[_i].err != NULL) {
		check_err(rc, err, syntax_cases[_i].err);
	} else {
		ck_assert_msg(rc == 0, "case %d: %s", _i, err);
		check_line(c, syntax_cases[_i].want);
	}
	conf_free(&c);
}
END_TEST

/* Repeatable keys append, within a file and across files. */
START_TEST(t_repeat)
{
	struct config *c;
	char *err;
	const char *b = "listen 127.0.0.1:2525\ndomains C.example\n";

	c = parse_ok("domains a.example\n\nlisten [::1]:25\n"
	    "domains b.example a.example\n");
	ck_assert_int_eq(conf_parse(c, "b.conf", b, strlen(b), &err), 0);
	ck_assert_uint_eq(c->ndomains, 3);
	ck_assert_str_eq(c->domains[0], "a.example");
	ck_assert_str_eq(c->domains[1], "b.example");
	ck_assert_str_eq(c->domains[2], "c.example");
	ck_assert_uint_eq(c->nlistens, 2);
	ck_assert_str_eq(c->listens[0].where, "t.conf:3");
	ck_assert_str_eq(c->listens[1].where, "b.conf:1");
	conf_free(&c);
}
END_TEST

/* A key given again in a second text replaces the first text's value. */
START_TEST(t_second_file)
{
	struct config *c;
	char *err;
	const char *b = "hostname b.example\n";

	c = parse_ok("hostname a.example\n");
	ck_assert_int_eq(conf_parse(c, "b.conf", b, strlen(b), &err), 0);
	ck_assert_str_eq(c->hostname, "b.example");
	conf_free(&c);
}
END_TEST

/* A bad line changes nothing; the lines before it stay applied. */
START_TEST(t_bad_line_atomic)
{
	struct config *c = new_conf();
	const char *text = "domains a.example\nlisten 127.0.0.1:25\n"
	    "domains b.example bad_x\nlisten 127.0.0.2:25 127.0.0.3:x\n";
	char *err;
	int rc;

	rc = parse_len(c, text, strlen(text), &err);
	check_err(rc, err, "t.conf:3: domains: bad domain 'bad_x'");
	ck_assert_uint_eq(c->ndomains, 1);
	ck_assert_uint_eq(c->nlistens, 1);
	conf_free(&c);
}
END_TEST

/* ---- conf_set (-o key=value) -------------------------------------- */

static const struct {
	const char	*file;		/* parsed first */
	const char	*kv;
	const char	*want;		/* a line conf_fmt then prints */
	const char	*gone;		/* a line it no longer prints */
	const char	*err;
} set_cases[] = {
	{ "domains a.example b.example\n", "domains=c.example D.example",
	  "domains c.example d.example", "domains a.example b.example", NULL },
	{ "domains a.example\ndomains b.example\n", "domains=z.example",
	  "domains z.example", NULL, NULL },
	{ "listen 127.0.0.1:25\nlisten [::1]:25\n", "listen=127.0.0.1:2525",
	  "listen 127.0.0.1:2525 mx", "listen [::1]:25 mx", NULL },
	{ "listen 127.0.0.1:25\n", "listen=[::1]:25 mx 127.0.0.1:587",
	  "listen 127.0.0.1:587 submission", "listen 127.0.0.1:25 mx", NULL },
	{ "recipient_limit 5\n", "recipient_limit=7", "recipient_limit 7",
	  "recipient_limit 5", NULL },
	{ "", "message_size_limit=10M", "message_size_limit 10M", NULL, NULL },
	{ "", "message_size_limit=0", "message_size_limit 0", NULL, NULL },
	{ "user a\n", "user=nobody", "user nobody", "user a", NULL },
	{ "", "bare_newline=reject", "bare_newline reject", NULL, NULL },
	{ "", "sink=yes", "sink yes", NULL, NULL },
	{ "", "hostname=x#y", "hostname x#y", NULL, NULL },
	{ "", "maildir=/var/mail/%d/%u", "maildir /var/mail/%d/%u", NULL,
	  NULL },
	{ "", "command_timeout=120", "command_timeout 2m", NULL, NULL },
	{ "", "foo=1", NULL, NULL, "-o foo=1: unknown key 'foo'" },
	{ "", "=5", NULL, NULL, "-o =5: unknown key ''" },
	{ "", "recipient_limit", NULL, NULL,
	  "-o recipient_limit: expected key=value" },
	{ "", "recipient_limit=", NULL, NULL,
	  "-o recipient_limit=: recipient_limit: missing value" },
	{ "", "recipient_limit= ", NULL, NULL,
	  "-o recipient_limit= : recipient_limit: missing value" },
	{ "recipient_limit 5\n", "recipient_limit=0", "recipient_limit 5",
	  NULL, "-o recipient_limit=0: recipient_limit: '0' out of range "
	  "(1..100000)" },
	{ "", "recipient_limit=100001", NULL, NULL,
	  "-o recipient_limit=100001: recipient_limit: '100001' out of range "
	  "(1..100000)" },
	{ "", "hostname=a b", NULL, NULL,
	  "-o hostname=a b: hostname: extra value 'b'" },
	{ "", "user=a\tb", NULL, NULL, "-o user=a\tb: user: extra value 'b'" },
	{ "", "user=a\nb", NULL, NULL, "-o user=a\nb: control character" },
	{ "sink_chaos mail * disconnect\n", "sink_chaos=rcpt * reply 550",
	  "sink_chaos rcpt * reply 550", NULL, NULL },
	{ "", "sink_chaos=rcpt * delay 1x", NULL, NULL,
	  "-o sink_chaos=rcpt * delay 1x: sink_chaos: bad value 'rcpt * "
	  "delay 1x' (bad delay (1ms to 5m: a number and ms, s or m))" },
	{ "", "sink=maybe", NULL, NULL,
	  "-o sink=maybe: sink: bad value 'maybe' (yes|no)" },
	{ "", "hostname=#x", NULL, NULL, "-o hostname=#x: hostname: bad value "
	  "'#x' (a word beginning with '#' is a comment)" },
	{ "", "message_size_limit=1X", NULL, NULL,
	  "-o message_size_limit=1X: message_size_limit: bad size '1X'" },
	{ "listen 127.0.0.1:25\n", "listen=127.0.0.2:25 bogus",
	  "listen 127.0.0.1:25 mx", NULL, "-o listen=127.0.0.2:25 bogus: "
	  "listen: bad role 'bogus' (mx|submission|submissions)" },
	{ "domains a.example\n", "domains=b.example bad_x", "domains a.example",
	  NULL, "-o domains=b.example bad_x: domains: bad domain 'bad_x'" },
};

START_TEST(t_set)
{
	struct config *c = parse_ok(set_cases[_i].file);
	char *err = NULL, *text;
	int rc;

	rc = conf_set(c, set_cases[_i].kv, &err);
	if (set_cases[_i].err != NULL)
		check_err(rc, err, set_cases[_i].err);
	else
		ck_assert_msg(rc == 0, "-o %s: %s", set_cases[_i].kv, err);
	if (set_cases[_i].want != NULL)
		check_line(c, set_cases[_i].want);
	if (set_cases[_i].gone != NULL) {
		text = conf_fmt(c);
		ck_assert_msg(!has_line(text, set_cases[_i].gone),
		    "\"%s\" still in:\n%s", set_cases[_i].gone, text);
		free(text);
	}
	conf_free(&c);
}
END_TEST

/* A listener from -o carries the -o text as its location. */
START_TEST(t_set_where)
{
	struct config *c = parse_ok("listen 127.0.0.1:25\n");
	char *err = NULL;
	int rc;

	ck_assert_int_eq(conf_set(c, "listen=127.0.0.1:2525", &err), 0);
	ck_assert_uint_eq(c->nlistens, 1);
	ck_assert_str_eq(c->listens[0].where, "-o listen=127.0.0.1:2525");
	ck_assert_int_eq(conf_set(c, "listen=[::1]:1 [::1]:1", &err), 0);
	ck_assert_int_eq(conf_set(c, "maildir=/m", &err), 0);
	ck_assert_int_eq(conf_set(c, "domains=a.example", &err), 0);
	rc = conf_check(c, &err);
	check_err(rc, err, "-o listen=[::1]:1 [::1]:1: "
	    "duplicate listener [::1]:1, first at -o listen=[::1]:1 [::1]:1");
	conf_free(&c);
}
END_TEST

/* ---- conf_check --------------------------------------------------- */

#define BASE	"maildir /m\ndomains example.org\n"

static const struct {
	const char	*text;
	const char	*err;		/* NULL: conf_check passes */
} check_cases[] = {
	{ BASE "listen 127.0.0.1:25\n", NULL },
	{ "maildir /m\n", "no listen directive: at least one listener is "
	  "needed" },
	{ BASE "listen 127.0.0.1:25\nlisten 127.0.0.1:26\n# x\n"
	  "listen 127.0.0.1:25 submission\n",
	  "t.conf:6: duplicate listener 127.0.0.1:25, first at t.conf:3" },
	{ BASE "listen [::1]:25\nlisten [0:0::1]:25\n",
	  "t.conf:4: duplicate listener [::1]:25, first at t.conf:3" },
	{ BASE "listen 127.0.0.1:25 127.0.0.1:25\n",
	  "t.conf:3: duplicate listener 127.0.0.1:25, first at t.conf:3" },
	{ BASE "listen 127.0.0.1:0\nlisten 127.0.0.1:0\n", NULL },
	{ BASE "listen 127.0.0.1:25\nlisten 127.0.0.2:25\nlisten [::1]:25\n"
	  "listen 0.0.0.0:25\nlisten [::]:25\n", NULL },
	{ "domains example.org\nlisten 127.0.0.1:25\n", "maildir: not set "
	  "(a path, or a template such as /var/mail/%d/%u/Maildir)" },
	{ "maildir /m\nlisten 127.0.0.1:25\n",
	  "t.conf:2: an mx listener needs domains (or sink yes)" },
	{ "maildir /m\nlisten 127.0.0.1:25\nsink yes\n", NULL },
	{ "maildir /m\nlisten 127.0.0.1:25\nsink yes\n"
	  "sink_chaos rcpt * reply 550\n", NULL },
	{ BASE "listen 127.0.0.1:25\nsink_chaos rcpt * reply 550\n",
	  "sink_chaos: fault rules only with sink yes" },
	{ BASE "listen 127.0.0.1:25\nmilter mx inet:h:1\n", "milter: a line "
	  "begins with a socket (inet:HOST:PORT or unix:PATH), not 'mx'" },
	{ BASE "listen 127.0.0.1:25\nmilter inet:h:1 mx\nmilter unix:/s\n",
	  NULL },
#define TLS	"tls_cert /c.pem\ntls_key /k.pem\n"
	{ TLS "maildir /m\nlisten 127.0.0.1:587\nlisten 127.0.0.1:465\n"
	  "sasl_db /s\n", NULL },
	{ TLS "maildir /m\nlisten 127.0.0.1:587\nlisten 127.0.0.1:2525\n"
	  "sasl_db /s\n", "t.conf:5: an mx listener needs domains (or sink yes)" },
	{ TLS "maildir /m\nlisten 127.0.0.1:587\n",
	  "t.conf:4: a submission listener needs sasl_db (or sasl_pwcheck "
	  "saslauthd)" },
	{ TLS "maildir /m\nlisten 127.0.0.1:587\nsasl_pwcheck saslauthd\n",
	  NULL },
	{ "maildir /m\nlisten 127.0.0.1:587\n",
	  "t.conf:2: a submission listener needs tls_cert and tls_key" },
	{ "maildir /m\nsink yes\nlisten 127.0.0.1:25\nlisten 127.0.0.1:465\n",
	  "t.conf:4: a submissions listener needs tls_cert and tls_key" },
	{ TLS "tls_cert /c2.pem\n" BASE "listen 127.0.0.1:25\n",
	  "tls_cert and tls_key: 2 certificate(s) but 1 key(s); they pair up "
	  "in order" },
	{ TLS "tls_cert /c2.pem\ntls_key /k2.pem\ntls_min_version TLSv1.3\n"
	  BASE "listen 127.0.0.1:465\nsasl_db /s\n", NULL },
	/* the TLS word on a listen line */
	{ BASE "listen 127.0.0.1:25 mx notls\n", NULL },
	{ TLS BASE "listen 127.0.0.1:25 mx notls\n", NULL },
	{ TLS BASE "listen 127.0.0.1:25 mx starttls\n", NULL },
	{ BASE "listen 127.0.0.1:25 mx starttls\n", "t.conf:3: an mx "
	  "listener with starttls needs tls_cert and tls_key" },
	{ BASE "listen 127.0.0.1:25 mx tls\n", "t.conf:3: 'tls' does not go "
	  "with role mx (tls is for submissions, and submissions is tls)" },
	{ TLS BASE "listen 127.0.0.1:465 submissions starttls\nsasl_db /s\n",
	  "t.conf:5: 'starttls' does not go with role submissions (tls is "
	  "for submissions, and submissions is tls)" },
	{ TLS BASE "listen 127.0.0.1:465 submissions notls\nsink yes\n",
	  "t.conf:5: 'notls' does not go with role submissions (tls is for "
	  "submissions, and submissions is tls)" },
	{ TLS BASE "listen 127.0.0.1:587 submission notls\nsasl_db /s\n",
	  "t.conf:5: a submission listener needs TLS for its passwords "
	  "(notls only with sink yes)" },
	{ BASE "listen 127.0.0.1:587 submission notls\nsink yes\n", NULL },
	{ TLS BASE "listen 127.0.0.1:587 submission starttls\nsasl_db /s\n",
	  NULL },
	/* the sink's HTTP API */
	{ "maildir /m\nlisten 127.0.0.1:25\nsink yes\n"
	  "http_listen 127.0.0.1:0\n", NULL },
	{ "maildir /m\nlisten 127.0.0.1:25\nsink yes\n"
	  "http_listen [::1]:8025\n", NULL },
	{ BASE "listen 127.0.0.1:25\nhttp_listen 127.0.0.1:0\n",
	  "t.conf:4: http_listen needs sink yes and one Maildir (no %d or %u)" },
	{ "maildir /m/%d\nlisten 127.0.0.1:25\nsink yes\n"
	  "http_listen 127.0.0.1:0\n",
	  "t.conf:4: http_listen needs sink yes and one Maildir (no %d or %u)" },
	{ "maildir /m\nlisten 127.0.0.1:25\nsink yes\n"
	  "http_listen 0.0.0.0:8025\n", "t.conf:4: http_listen 0.0.0.0:8025 "
	  "is not a loopback address: set http_auth" },
	{ "maildir /m\nlisten 127.0.0.1:25\nsink yes\n"
	  "http_listen 0.0.0.0:8025\nhttp_auth /h\n", NULL },
};

START_TEST(t_check)
{
	struct config *c = parse_ok(check_cases[_i].text);
	char *err = NULL;
	int rc;

	rc = conf_check(c, &err);
	if (check_cases[_i].err != NULL)
		check_err(rc, err, check_cases[_i].err);
	else
		ck_assert_msg(rc == 0, "case %d: %s", _i, err);
	conf_free(&c);
}
END_TEST

/* The system host name from conf_new() is vetted by conf_check(). */
START_TEST(t_check_hostname)
{
	static const struct {
		const char	*host;
		const char	*err;
	} cases[] = {
		{ "", "hostname: bad value '' (empty): set hostname" },
		{ "my host", "hostname: bad value 'my host' (printable ASCII "
		  "only): set hostname" },
		{ "#x", "hostname: bad value '#x' (a word beginning with '#' "
		  "is a comment): set hostname" },
	};
	const char *text = BASE "listen 127.0.0.1:25\n";
	struct config *c;
	char *err;
	size_t i;
	int rc;

	for (i = 0; i < NELEM(cases); i++) {
		c = conf_new(cases[i].host);
		ck_assert_int_eq(parse_len(c, text, strlen(text), &err), 0);
		rc = conf_check(c, &err);
		check_err(rc, err, cases[i].err);
		ck_assert_int_eq(conf_set(c, "hostname=mx.example.org", &err),
		    0);
		ck_assert_int_eq(conf_check(c, &err), 0);
		conf_free(&c);
	}
}
END_TEST

/* ---- defaults and conf_fmt ---------------------------------------- */

START_TEST(t_defaults)
{
	struct config *c = new_conf();

	ck_assert_str_eq(c->hostname, "mx.test");
	ck_assert_uint_eq(c->nlistens, 0);
	ck_assert_uint_eq(c->ndomains, 0);
	ck_assert_ptr_null(c->maildir);
	ck_assert_uint_eq(c->message_size_limit, 25 * 1024 * 1024);
	ck_assert_uint_eq(c->recipient_limit, 100);
	ck_assert_int_eq(c->bare_newline, CONF_BARE_NORMALIZE);
	ck_assert(!c->strict_envelope);
	ck_assert(!c->sink);
	ck_assert_uint_eq(c->command_timeout, 300);
	ck_assert_uint_eq(c->data_timeout, 1800);
	ck_assert_uint_eq(c->max_connections, 1000);
	ck_assert_uint_eq(c->max_connections_per_ip, 50);
	ck_assert_uint_eq(c->max_errors, 20);
	ck_assert_uint_eq(c->shutdown_timeout, 30);
	ck_assert_ptr_null(c->user);
	conf_free(&c);
	c = conf_new(NULL);
	ck_assert_str_eq(c->hostname, "localhost");
	conf_free(&c);
}
END_TEST

/* Every key in table order, defaults included, unset ones as comments. */
START_TEST(t_fmt_defaults)
{
	static const char *const lines[] = {
		"hostname mx.test",
		"# listen (not set)",
		"# domains (not set)",
		"# maildir (not set)",
		"message_size_limit 25M",
		"recipient_limit 100",
		"bare_newline normalize",
		"strict_envelope no",
		"sink no",
		"command_timeout 5m",
		"data_timeout 30m",
		"max_connections 1000",
		"max_connections_per_ip 50",
		"max_errors 20",
		"shutdown_timeout 30s",
		"# user (not set)",
	};
	struct config *c = new_conf();
	char *text = conf_fmt(c);
	const char *p = text, *q;
	size_t i;

	for (i = 0; i < NELEM(lines); i++) {
		q = strstr(p, lines[i]);
		ck_assert_msg(q != NULL && has_line(q, lines[i]),
		    "\"%s\" missing or out of order in:\n%s", lines[i], text);
		p = q + strlen(lines[i]);
	}
	free(text);
	round_trip(c);
	conf_free(&c);
}
END_TEST

static const char *const fmt_cases[] = {
	"hostname mx.example.org\n"
	"listen 0.0.0.0:25 mx\n"
	"listen [::]:25\n"
	"listen 127.0.0.1:587 submission [::1]:465\n"
	"domains Example.org example.net\n"
	"maildir /var/mail/%d/%u/Maildir\n"
	"message_size_limit 52428800\n"
	"recipient_limit 1000\n"
	"bare_newline reject\n"
	"strict_envelope yes\n"
	"sink yes\n"
	"command_timeout 3600\n"
	"data_timeout 7200s\n"
	"max_connections 5\n"
	"max_connections_per_ip 0\n"
	"max_errors 1000\n"
	"shutdown_timeout 2m\n"
	"user inlet\n",
	"listen 127.0.0.1:0\nmaildir ./Maildir\nsink yes\n",
	("sink yes\nsink_chaos rcpt *@a reply 550 No such user\n"
	"sink_chaos data * 5% delay 250ms\nsink_chaos mail <> disconnect\n"),
	"message_size_limit 1025\ncommand_timeout 61\n",
	"\r\n# nothing but a comment\r\n",
};

/* Parse, fmt, parse again, fmt again: identical text. */
START_TEST(t_fmt_round_trip)
{
	struct config *c = parse_ok(fmt_cases[_i]);

	round_trip(c);
	conf_free(&c);
}
END_TEST

START_TEST(t_fmt_values)
{
	struct config *c = parse_ok(fmt_cases[0]);

	check_line(c, "message_size_limit 50M");
	check_line(c, "command_timeout 1h");
	check_line(c, "data_timeout 2h");
	check_line(c, "listen [::]:25 mx");
	check_line(c, "listen 127.0.0.1:587 submission");
	check_line(c, "listen [::1]:465 submissions");
	check_line(c, "domains example.org example.net");
	conf_free(&c);
}
END_TEST

/* ---- small functions ---------------------------------------------- */

static const struct {
	const char	*domains;
	const char	*query;
	bool		 want;
} local_cases[] = {
	{ "domains Example.ORG\n", "example.org", true },
	{ "domains example.org\n", "EXAMPLE.ORG", true },
	{ "domains example.org\n", "eXaMpLe.OrG", true },
	{ "domains a.example example.org\n", "example.org", true },
	{ "domains example.org\n", "example.net", false },
	{ "domains example.org\n", "sub.example.org", false },
	{ "domains example.org\n", "example.or", false },
	{ "domains example.org\n", "example.orgx", false },
	{ "domains example.org\n", "", false },
	{ "domains example.org\n", NULL, false },
	{ "", "example.org", false },
	{ "domains xn--exmple-cua.test\n", "ex\xc3\xa4mple.test", true },
	{ "domains xn--exmple-cua.test\n", "EX\xc3\x84MPLE.test", true },
	{ "domains xn--exmple-cua.test\n", "XN--EXMPLE-cua.TEST", true },
	{ "domains ex\xc3\xa4mple.test\n", "xn--exmple-cua.test", true },
	{ "domains ex\xc3\xa4mple.test\n", "example.test", false },
	{ "domains ex\xc3\xa4mple.test\n", "ex\xc3\xa4mple.tes", false },
	{ "domains example.test\n", "\xff.test", false },
	{ "domains example.test\n", "[192.0.2.1]", false },
};

/* The recipients file: U-labels, A-labels and UTF-8 in any case. */
START_TEST(t_recipients)
{
	static const char text[] = "x@EX\xc3\x84MPLE.test\n"
	    "J\xc3\xb6s\xc3\xa9@xn--exmple-cua.test\n@whole.example\n";
	struct config *c = parse_ok("recipients /r\n");
	char *err = NULL;

	ck_assert_int_eq(conf_load_recipients(c, "r", text, strlen(text),
	    &err), 0);
	ck_assert(conf_is_valid_recipient(c, "X", "xn--exmple-cua.test"));
	ck_assert(conf_is_valid_recipient(c, "x", "ex\xc3\xa4mple.test"));
	ck_assert(conf_is_valid_recipient(c, "J\xc3\x96S\xc3\x89",
	    "ex\xc3\xa4mple.test"));
	ck_assert(conf_is_valid_recipient(c, "jo\xcc\x88se\xcc\x81",
	    "XN--EXMPLE-CUA.test"));
	ck_assert(conf_is_valid_recipient(c, "anyone", "Whole.Example"));
	ck_assert(!conf_is_valid_recipient(c, "y", "xn--exmple-cua.test"));
	ck_assert(!conf_is_valid_recipient(c, "x", "example.test"));
	ck_assert(!conf_is_valid_recipient(c, "x", "[192.0.2.1]"));
	ck_assert(!conf_is_valid_recipient(c, "\xff", "xn--exmple-cua.test"));
	ck_assert_int_eq(conf_load_recipients(c, "r", "x@xn--zz.test\n", 14,
	    &err), -1);
	check_err(-1, err, "r:1: bad address 'x@xn--zz.test' "
	    "(user@domain or @domain)");
	ck_assert_int_eq(conf_load_recipients(c, "r", "\xff@x.test\n", 9,
	    &err), -1);
	free(err);
	ck_assert(conf_is_valid_recipient(c, "x", "ex\xc3\xa4mple.test"));
	conf_free(&c);
}
END_TEST

START_TEST(t_local_domain)
{
	struct config *c = parse_ok(local_cases[_i].domains);

	ck_assert_int_eq(conf_is_local_domain(c, local_cases[_i].query),
	    local_cases[_i].want);
	conf_free(&c);
}
END_TEST

START_TEST(t_role_name)
{
	ck_assert_str_eq(conf_role_name(CONF_ROLE_MX), "mx");
	ck_assert_str_eq(conf_role_name(CONF_ROLE_SUBMISSION), "submission");
	ck_assert_str_eq(conf_role_name(CONF_ROLE_SUBMISSIONS),
	    "submissions");
}
END_TEST

START_TEST(t_free)
{
	struct config *c = parse_ok("listen 127.0.0.1:25\n"
	    "domains a.example\nuser u\nmaildir /m\n");

	conf_free(&c);
	ck_assert_ptr_null(c);
	conf_free(&c);
	conf_free(NULL);
}
END_TEST

/* ---- the sample configs in conf/ ---------------------------------- */

static const char *const sample_files[] = {
	CONF_DIR "/inlet.conf",
	CONF_DIR "/sink.conf",
	CONF_DIR "/submission.conf",
};

START_TEST(t_sample)
{
	struct config *c = new_conf();
	char *text, *err = NULL;
	size_t len;

	text = read_file(sample_files[_i], &len);
	if (conf_parse(c, sample_files[_i], text, len, &err) != 0 ||
	    conf_check(c, &err) != 0)
		ck_abort_msg("%s", err);
	round_trip(c);
	free(text);
	conf_free(&c);
}
END_TEST

START_TEST(t_sample_values)
{
	struct config *c = new_conf();
	char *text, *err = NULL;
	size_t len;

	text = read_file(CONF_DIR "/sink.conf", &len);
	ck_assert_int_eq(conf_parse(c, "sink.conf", text, len, &err), 0);
	ck_assert(c->sink);
	ck_assert_str_eq(c->hostname, "mx.test");	/* as conf_new() said */
	ck_assert_str_eq(c->maildir, "./Maildir");
	ck_assert_uint_eq(c->nlistens, 3);
	ck_assert_str_eq(c->listens[0].addr, "127.0.0.1");
	ck_assert_uint_eq(c->listens[0].port, 2525);
	ck_assert_int_eq(c->listens[0].role, CONF_ROLE_MX);
	ck_assert_int_eq(conf_listen_tls(c, &c->listens[0]), CONF_LTLS_NONE);
	ck_assert_int_eq(conf_listen_tls(c, &c->listens[1]),
	    CONF_LTLS_STARTTLS);
	ck_assert_int_eq(conf_listen_tls(c, &c->listens[2]),
	    CONF_LTLS_IMPLICIT);
	ck_assert_uint_eq(c->ntls_certs, 1);
	free(text);
	conf_free(&c);
	c = new_conf();
	text = read_file(CONF_DIR "/inlet.conf", &len);
	ck_assert_int_eq(conf_parse(c, "inlet.conf", text, len, &err), 0);
	ck_assert(conf_is_local_domain(c, "example.org"));
	ck_assert_str_eq(c->maildir, "/var/mail/%d/%u/Maildir");
	ck_assert_str_eq(c->user, "inlet");
	ck_assert_str_eq(c->listens[0].addr, "0.0.0.0");
	ck_assert_uint_eq(c->listens[0].port, 25);
	free(text);
	conf_free(&c);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc;

	tc = tcase_create("numbers");
	tcase_add_loop_test(tc, t_size, 0, (int)NELEM(size_cases));
	tcase_add_loop_test(tc, t_duration, 0, (int)NELEM(duration_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_loop_test(tc, t_key, 0, (int)NELEM(key_cases));
	tcase_add_test(tc, t_key_lengths);
	tcase_add_loop_test(tc, t_listen, 0, (int)NELEM(listen_cases));
	tcase_add_loop_test(tc, t_listen_tls, 0, (int)NELEM(listen_tls_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("syntax");
	tcase_add_loop_test(tc, t_syntax, 0, (int)NELEM(syntax_cases));
	tcase_add_test(tc, t_repeat);
	tcase_add_test(tc, t_second_file);
	tcase_add_test(tc, t_bad_line_atomic);
	suite_add_tcase(s, tc);

	tc = tcase_create("set");
	tcase_add_loop_test(tc, t_set, 0, (int)NELEM(set_cases));
	tcase_add_test(tc, t_set_where);
	suite_add_tcase(s, tc);

	tc = tcase_create("check");
	tcase_add_loop_test(tc, t_check, 0, (int)NELEM(check_cases));
	tcase_add_test(tc, t_check_hostname);
	suite_add_tcase(s, tc);

	tc = tcase_create("fmt");
	tcase_add_test(tc, t_defaults);
	tcase_add_test(tc, t_fmt_defaults);
	tcase_add_loop_test(tc, t_fmt_round_trip, 0, (int)NELEM(fmt_cases));
	tcase_add_test(tc, t_fmt_values);
	suite_add_tcase(s, tc);

	tc = tcase_create("misc");
	tcase_add_loop_test(tc, t_local_domain, 0, (int)NELEM(local_cases));
	tcase_add_test(tc, t_recipients);
	tcase_add_test(tc, t_role_name);
	tcase_add_test(tc, t_free);
	tcase_add_loop_test(tc, t_sample, 0, (int)NELEM(sample_files));
	tcase_add_test(tc, t_sample_values);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(conf_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
