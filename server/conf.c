/* SPDX-License-Identifier: ISC */
/*
 * conf - configuration text into an immutable struct config.
 *
 * Owns the key table conf_keys[]: each key's name, type, bounds, default
 * text, place in struct config and one line of documentation.  Parsing,
 * -o overrides, the defaults of conf_new() and the -n dump of conf_fmt()
 * are all driven by it, so a key is described exactly once.  Pure: no
 * I/O, no libevent or OpenSSL; the caller reads the file.  Errors are heap
 * strings beginning "file:line: " or "-o key=value: ".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "chaos.h"
#include "conf.h"
#include "idn.h"
#include "log.h"
#include "xalloc.h"

#define CONF_WORD_MAX	255	/* host and user names */
#define CONF_ADDR_MAX	(INET6_ADDRSTRLEN + sizeof("[]:65535"))

enum conf_type {
	CONF_T_STRING,		/* one word, vetted by the row's valid() */
	CONF_T_DOMAINS,		/* DOMAIN...; repeatable, appends; with a
				 * valid(): WORD..., kept as given, in order */
	CONF_T_SIZE,		/* uint64_t octets; K, M, G suffixes */
	CONF_T_DURATION,	/* unsigned seconds; s, m, h suffixes */
	CONF_T_UINT,		/* unsigned */
	CONF_T_BOOL,		/* bool: yes | no */
	CONF_T_ENUM,		/* stored as unsigned: one of words[] */
	CONF_T_LISTEN,		/* ADDRESS:PORT [ROLE] [TLS]...; appends */
	CONF_T_LINES,		/* the words of a line as one string, vetted
				 * by valid(); repeatable, one per line */
};

/* An enum field is written through an unsigned pointer (CONF_T_ENUM). */
_Static_assert(sizeof(enum conf_bare_newline) == sizeof(unsigned),
    "enum conf_bare_newline is not unsigned-sized");

/* conf_valid_fn - NULL when a string value is acceptable, else why not. */
typedef const char *(*conf_valid_fn)(const char *s);

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	uint64_t	 min;		/* SIZE, DURATION, UINT bounds */
	uint64_t	 max;
	const char	*def;		/* default as config text, or NULL */
	size_t		 off;		/* offsetof the field */
	size_t		 noff;		/* offsetof its count (lists) */
	conf_valid_fn	 valid;		/* STRING */
	size_t		 woff;		/* STRING: offsetof its "file:line" */
	const char *const *words;	/* ENUM: in enum order, NULL-ended */
	const char	*doc;
};

/* A number suffix: "25M", "5m". */
struct conf_unit {
	char		 c;
	uint64_t	 n;
};

/* What a number type accepts and where it is stored. */
struct conf_num {
	const char		*noun;	/* "bad size 'x'" */
	const struct conf_unit	*units;
	bool			 wide;	/* a uint64_t field, else unsigned */
};

/* One directive being applied. */
struct conf_ctx {
	struct config	*c;
	const char	*where;		/* "file:line" or "-o key=value" */
	bool		 replace;	/* -o: a list value replaces the list */
	char		**err_out;
};

static const char *conf_valid_word(const char *);
static const char *conf_valid_http(const char *);
static const char *conf_valid_delim(const char *);
static const char *conf_valid_maildir(const char *);
static const char *conf_valid_chaos(const char *);
static const char *conf_valid_relay_url(const char *);
static const char *conf_valid_program(const char *);
static const char *conf_valid_milter(const char *);

static const char *const conf_bare_words[] = { "normalize", "reject", NULL };
static const char *const conf_tls_words[] = { "TLSv1.2", "TLSv1.3", NULL };
static const char *const conf_pwcheck_words[] = { "auxprop", "saslauthd",
    NULL };
static const char *const conf_milter_words[] = { "accept", "tempfail",
    "reject", NULL };
_Static_assert(sizeof(enum conf_milter_action) == sizeof(unsigned),
    "enum conf_milter_action is not unsigned-sized");
_Static_assert(sizeof(enum conf_pwcheck) == sizeof(unsigned),
    "enum conf_pwcheck is not unsigned-sized");
_Static_assert(sizeof(enum conf_tls_version) == sizeof(unsigned),
    "enum conf_tls_version is not unsigned-sized");
_Static_assert(CONF_BARE_NORMALIZE == 0 && CONF_BARE_REJECT == 1,
    "conf_bare_words[] is indexed by enum conf_bare_newline");

#define CONF_OFF(f)	offsetof(struct config, f)

static const struct conf_key conf_keys[] = {
	{ .name = "hostname", .type = CONF_T_STRING, .off = CONF_OFF(hostname),
	  .valid = conf_valid_word,
	  .doc = "name in the banner, the EHLO reply and Received: headers" },
	{ .name = "listen", .type = CONF_T_LISTEN, .off = CONF_OFF(listens),
	  .noff = CONF_OFF(nlistens),
	  .doc = "ADDRESS:PORT [mx|submission|submissions] [starttls|notls|"
	  "tls] to accept on" },
	{ .name = "domains", .type = CONF_T_DOMAINS, .off = CONF_OFF(domains),
	  .noff = CONF_OFF(ndomains),
	  .doc = "domains the mx role accepts mail for" },
	{ .name = "maildir", .type = CONF_T_STRING, .off = CONF_OFF(maildir),
	  .valid = conf_valid_maildir,
	  .doc = "one Maildir, or a template: %d domain, %u local part" },
	{ .name = "message_size_limit", .type = CONF_T_SIZE, .min = 0,
	  .max = UINT64_MAX, .def = "25M", .off = CONF_OFF(message_size_limit),
	  .doc = "largest message in octets (K, M, G); 0 = no limit" },
	{ .name = "recipient_limit", .type = CONF_T_UINT, .min = 1,
	  .max = 100000, .def = "100", .off = CONF_OFF(recipient_limit),
	  .doc = "most recipients in one message" },
	{ .name = "recipient_overshoot_limit", .type = CONF_T_UINT, .min = 0,
	  .max = 100000, .def = "1000",
	  .off = CONF_OFF(recipient_overshoot_limit),
	  .doc = "RCPTs past recipient_limit answered 452 before each is an error" },
	{ .name = "bare_newline", .type = CONF_T_ENUM, .words = conf_bare_words,
	  .def = "normalize", .off = CONF_OFF(bare_newline),
	  .doc = "a bare CR or LF in DATA: normalize or reject" },
	{ .name = "strict_envelope", .type = CONF_T_BOOL, .def = "no",
	  .off = CONF_OFF(strict_envelope),
	  .doc = "yes: MAIL FROM and RCPT TO need <angle brackets>" },
	{ .name = "sink", .type = CONF_T_BOOL, .def = "no",
	  .off = CONF_OFF(sink),
	  .doc = "yes: accept every recipient (testing)" },
	{ .name = "sink_chaos", .type = CONF_T_LINES,
	  .off = CONF_OFF(sink_chaos), .noff = CONF_OFF(nsink_chaos),
	  .valid = conf_valid_chaos,
	  .doc = "sink fault rule: mail|rcpt|data|auth PATTERN [N%] "
	  "reply CODE [TEXT] | delay DURATION | disconnect" },
	{ .name = "command_timeout", .type = CONF_T_DURATION, .min = 1,
	  .max = 3600, .def = "5m", .off = CONF_OFF(command_timeout),
	  .doc = "time to complete one command, from the previous reply (s, m, h)" },
	{ .name = "data_timeout", .type = CONF_T_DURATION, .min = 1,
	  .max = 86400, .def = "30m", .off = CONF_OFF(data_timeout),
	  .doc = "time allowed for a whole DATA or BDAT phase (s, m, h)" },
	{ .name = "session_timeout", .type = CONF_T_DURATION, .min = 1,
	  .max = 604800, .def = "1h", .off = CONF_OFF(session_timeout),
	  .doc = "the longest a whole connection may last (s, m, h)" },
	{ .name = "max_connections", .type = CONF_T_UINT, .min = 1,
	  .max = 1000000, .def = "1000", .off = CONF_OFF(max_connections),
	  .doc = "simultaneous connections in all" },
	{ .name = "max_connections_per_ip", .type = CONF_T_UINT, .min = 0,
	  .max = 1000000, .def = "50", .off = CONF_OFF(max_connections_per_ip),
	  .doc = "simultaneous connections from one address; 0 = no limit" },
	{ .name = "max_errors", .type = CONF_T_UINT, .min = 1, .max = 1000,
	  .def = "20", .off = CONF_OFF(max_errors),
	  .doc = "client errors before the connection is closed" },
	{ .name = "shutdown_timeout", .type = CONF_T_DURATION, .min = 0,
	  .max = 3600, .def = "30s", .off = CONF_OFF(shutdown_timeout),
	  .doc = "on SIGTERM, wait this long for messages in flight (s, m, h)" },
	{ .name = "user", .type = CONF_T_STRING, .off = CONF_OFF(user),
	  .valid = conf_valid_word,
	  .doc = "drop privileges to this user after binding" },
	{ .name = "group_access", .type = CONF_T_BOOL, .def = "no",
	  .off = CONF_OFF(group_access),
	  .doc = "yes: Maildirs and the queue 0770, files 0640 (the group "
	  "shares them: inlet-relay, Dovecot)" },
	{ .name = "tls_cert", .type = CONF_T_DOMAINS, .off = CONF_OFF(tls_certs),
	  .noff = CONF_OFF(ntls_certs), .valid = conf_valid_word,
	  .doc = "certificate chain files (PEM); the first is the default, "
	  "the others are chosen by SNI" },
	{ .name = "tls_key", .type = CONF_T_DOMAINS, .off = CONF_OFF(tls_keys),
	  .noff = CONF_OFF(ntls_keys), .valid = conf_valid_word,
	  .doc = "private key files (PEM), one per tls_cert, in the same order" },
	{ .name = "tls_min_version", .type = CONF_T_ENUM,
	  .words = conf_tls_words, .def = "TLSv1.2",
	  .off = CONF_OFF(tls_min_version),
	  .doc = "oldest TLS version accepted: TLSv1.2 or TLSv1.3" },
	{ .name = "sasl_db", .type = CONF_T_STRING, .off = CONF_OFF(sasl_db),
	  .valid = conf_valid_word,
	  .doc = "Cyrus sasldb2 file with the users (saslpasswd2 -f FILE)" },
	{ .name = "sasl_pwcheck", .type = CONF_T_ENUM,
	  .words = conf_pwcheck_words, .def = "auxprop",
	  .off = CONF_OFF(sasl_pwcheck),
	  .doc = "auxprop (sasl_db) or saslauthd (system users, PLAIN/LOGIN)" },
	{ .name = "sasl_saslauthd_path", .type = CONF_T_STRING,
	  .def = "/var/run/saslauthd/mux", .valid = conf_valid_word,
	  .off = CONF_OFF(sasl_saslauthd_path),
	  .doc = "the saslauthd socket (sasl_pwcheck saslauthd)" },
	{ .name = "sasl_mechanisms", .type = CONF_T_DOMAINS,
	  .off = CONF_OFF(sasl_mechanisms), .noff = CONF_OFF(nsasl_mechanisms),
	  .def = "PLAIN LOGIN", .valid = conf_valid_word,
	  .doc = "SASL mechanisms offered (PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256...)" },
	{ .name = "sasl_realm", .type = CONF_T_STRING,
	  .off = CONF_OFF(sasl_realm), .valid = conf_valid_word,
	  .doc = "domain for logins given without @domain" },
	{ .name = "sasl_proxy_users", .type = CONF_T_DOMAINS,
	  .off = CONF_OFF(sasl_proxy_users),
	  .noff = CONF_OFF(nsasl_proxy_users), .valid = conf_valid_word,
	  .doc = "logins that may act as another user (PLAIN authzid)" },
	{ .name = "mx_auth", .type = CONF_T_BOOL, .def = "no",
	  .off = CONF_OFF(mx_auth),
	  .doc = "yes: offer AUTH on mx listeners too" },
	{ .name = "queue", .type = CONF_T_STRING, .off = CONF_OFF(queue),
	  .valid = conf_valid_word,
	  .doc = "Maildir for mail that authenticated users send elsewhere" },
	{ .name = "sender_login_match", .type = CONF_T_BOOL, .def = "no",
	  .off = CONF_OFF(sender_login_match),
	  .doc = "yes: MAIL FROM must be the authenticated login" },
	{ .name = "auth_fail_limit", .type = CONF_T_UINT, .min = 1,
	  .max = 1000, .def = "5", .off = CONF_OFF(auth_fail_limit),
	  .doc = "failed logins from one address (in 10 minutes) before a ban" },
	{ .name = "auth_ban_time", .type = CONF_T_DURATION, .min = 1,
	  .max = 604800, .def = "10m", .off = CONF_OFF(auth_ban_time),
	  .doc = "how long such an address is refused (s, m, h)" },
	{ .name = "recipients", .type = CONF_T_STRING,
	  .off = CONF_OFF(recipients), .valid = conf_valid_word,
	  .doc = "file of valid local addresses (@domain: all of a domain)" },
	{ .name = "aliases", .type = CONF_T_STRING,
	  .off = CONF_OFF(aliases), .valid = conf_valid_word,
	  .doc = "file of aliases: name[@domain]: target, ... (@domain: catch-all)" },
	{ .name = "recipient_delimiter", .type = CONF_T_STRING,
	  .off = CONF_OFF(recipient_delimiter), .valid = conf_valid_delim,
	  .doc = "one character that starts an address tag: user+tag" },
	{ .name = "greet_pause", .type = CONF_T_DURATION, .min = 0,
	  .max = 60, .def = "0s", .off = CONF_OFF(greet_pause),
	  .doc = "wait before the greeting; clients that talk first are "
	  "refused (0s = off)" },
	{ .name = "max_transactions", .type = CONF_T_UINT, .min = 1,
	  .max = 100000, .def = "100", .off = CONF_OFF(max_transactions),
	  .doc = "MAIL commands in one connection" },
	{ .name = "junk_command_limit", .type = CONF_T_UINT, .min = 1,
	  .max = 100000, .def = "100", .off = CONF_OFF(junk_command_limit),
	  .doc = "NOOP, RSET, VRFY, EXPN, HELP between two messages" },
	{ .name = "header_size_limit", .type = CONF_T_SIZE, .min = 0,
	  .max = UINT64_MAX, .def = "1M", .off = CONF_OFF(header_size_limit),
	  .doc = "largest header section in octets; 0 = no limit" },
	{ .name = "http_listen", .type = CONF_T_STRING,
	  .off = CONF_OFF(http_listen), .valid = conf_valid_http,
	  .woff = CONF_OFF(http_listen_where),
	  .doc = "ADDRESS:PORT of the sink's HTTP API and page (sink only)" },
	{ .name = "http_auth", .type = CONF_T_STRING,
	  .off = CONF_OFF(http_auth), .valid = conf_valid_word,
	  .doc = "htpasswd file: HTTP Basic auth (needed off loopback)" },
	{ .name = "sink_max_messages", .type = CONF_T_UINT, .min = 0,
	  .max = 10000000, .def = "1000", .off = CONF_OFF(sink_max_messages),
	  .doc = "messages the sink keeps, oldest removed first; 0 = no limit" },
	{ .name = "sink_max_age", .type = CONF_T_DURATION, .min = 0,
	  .max = 31536000, .def = "0s", .off = CONF_OFF(sink_max_age),
	  .doc = "older sink messages are removed (s, m, h, d); 0s = kept" },
	{ .name = "relay_host", .type = CONF_T_DOMAINS,
	  .off = CONF_OFF(relay_hosts), .noff = CONF_OFF(nrelay_hosts),
	  .valid = conf_valid_relay_url,
	  .doc = "inlet-relay: smarthosts, tried in order: smtps://HOST[:PORT] "
	  "or smtp://HOST[:PORT] (STARTTLS required)" },
	{ .name = "relay_auth_file", .type = CONF_T_STRING,
	  .off = CONF_OFF(relay_auth_file), .valid = conf_valid_word,
	  .doc = "inlet-relay: HOST USER PASSWORD lines (mode 0600 or 0640)" },
	{ .name = "relay_ca_file", .type = CONF_T_STRING,
	  .off = CONF_OFF(relay_ca_file), .valid = conf_valid_word,
	  .doc = "inlet-relay: CA certificates (PEM) for the smarthost; "
	  "default: the system's" },
	{ .name = "queue_lifetime", .type = CONF_T_DURATION, .min = 1,
	  .max = 60 * 86400, .def = "5d", .off = CONF_OFF(queue_lifetime),
	  .doc = "inlet-relay: retry this long, then bounce (s, m, h, d)" },
	{ .name = "delay_warning_time", .type = CONF_T_DURATION, .min = 0,
	  .max = 60 * 86400, .def = "0s", .off = CONF_OFF(delay_warning_time),
	  .doc = "inlet-relay: a message still deferred this long after it "
	  "arrived gets one delay DSN to its sender; 0s = none" },
	{ .name = "relay_retry_min", .type = CONF_T_DURATION, .min = 1,
	  .max = 86400, .def = "5m", .off = CONF_OFF(relay_retry_min),
	  .doc = "inlet-relay: the first retry after a deferral" },
	{ .name = "relay_retry_max", .type = CONF_T_DURATION, .min = 1,
	  .max = 86400, .def = "1h", .off = CONF_OFF(relay_retry_max),
	  .doc = "inlet-relay: the longest wait between retries" },
	{ .name = "relay_user", .type = CONF_T_STRING,
	  .off = CONF_OFF(relay_user), .valid = conf_valid_word,
	  .doc = "inlet-relay: run as this user" },
	{ .name = "relay_connections", .type = CONF_T_UINT, .min = 1,
	  .max = 100, .def = "4", .off = CONF_OFF(relay_connections),
	  .doc = "inlet-relay: connections to the smarthost at once, each "
	  "sending several messages" },
	{ .name = "data_hook", .type = CONF_T_STRING, .off = CONF_OFF(data_hook),
	  .valid = conf_valid_program,
	  .doc = "program run on each message before it is accepted "
	  "(exit 0: stdout headers prepended, 20: 550, else 451)" },
	{ .name = "data_hook_timeout", .type = CONF_T_DURATION, .min = 1,
	  .max = 3600, .def = "60s", .off = CONF_OFF(data_hook_timeout),
	  .doc = "the data_hook is killed after this, and the message gets "
	  "451 (s, m, h)" },
	{ .name = "milter", .type = CONF_T_DOMAINS, .off = CONF_OFF(milters),
	  .noff = CONF_OFF(nmilters), .valid = conf_valid_milter,
	  .doc = "content filter: inet:HOST:PORT or unix:PATH [ROLE...]; "
	  "repeatable, in order" },
	{ .name = "milter_default_action", .type = CONF_T_ENUM,
	  .words = conf_milter_words, .def = "tempfail",
	  .off = CONF_OFF(milter_default_action),
	  .doc = "when a filter is down, slow or broken: accept, tempfail, "
	  "reject" },
	{ .name = "milter_connect_timeout", .type = CONF_T_DURATION, .min = 1,
	  .max = 3600, .def = "30s", .off = CONF_OFF(milter_connect_timeout),
	  .doc = "time to connect to a filter and negotiate" },
	{ .name = "milter_command_timeout", .type = CONF_T_DURATION, .min = 1,
	  .max = 3600, .def = "30s", .off = CONF_OFF(milter_command_timeout),
	  .doc = "time a filter has to answer one command" },
	{ .name = "milter_content_timeout", .type = CONF_T_DURATION, .min = 1,
	  .max = 3600, .def = "300s", .off = CONF_OFF(milter_content_timeout),
	  .doc = "time a filter has to answer a body chunk or end of message" },
	{ .name = "milter_quarantine", .type = CONF_T_STRING,
	  .off = CONF_OFF(milter_quarantine), .valid = conf_valid_word,
	  .doc = "Maildir for quarantined mail (none: quarantine is tempfail)" },
};

#define CONF_NKEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))

/* The state of one conf_parse() call. */
struct conf_file {
	struct config	*c;
	const char	*name;
	size_t		 line;
	size_t		 seen[CONF_NKEYS];	/* line a key was given on */
	char		**err_out;
};

static const struct conf_unit conf_size_units[] = {
	{ 'K', UINT64_C(1) << 10 }, { 'k', UINT64_C(1) << 10 },
	{ 'M', UINT64_C(1) << 20 }, { 'm', UINT64_C(1) << 20 },
	{ 'G', UINT64_C(1) << 30 }, { 'g', UINT64_C(1) << 30 },
	{ '\0', 0 },
};
static const struct conf_unit conf_time_units[] = {
	{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { '\0', 0 },
};
static const struct conf_unit conf_no_units[] = { { '\0', 0 } };

static const struct conf_num conf_num_size = {
	"size", conf_size_units, true
};
static const struct conf_num conf_num_duration = {
	"duration", conf_time_units, false
};
static const struct conf_num conf_num_uint = {
	"number", conf_no_units, false
};

/* conf_fail - set *err_out (unless err_out is NULL) and return -1. */
static __attribute__((format(printf, 2, 3))) int
conf_fail(char **err_out, const char *fmt, ...)
{
	va_list ap;

	if (err_out == NULL)
		return -1;
	va_start(ap, fmt);
	*err_out = xvasprintf(fmt, ap);
	va_end(ap);
	return -1;
}

/* conf_field - the field of c at offset off. */
static void *
conf_field(struct config *c, size_t off)
{
	return (char *)c + off;
}

/* conf_cfield - conf_field for a const config. */
static const void *
conf_cfield(const struct config *c, size_t off)
{
	return (const char *)c + off;
}

/* conf_lower - ASCII lower case; config text is not locale text. */
static char
conf_lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* conf_has_ctl - whether s[0..n) holds a control character but tab. */
static bool
conf_has_ctl(const char *s, size_t n)
{
	unsigned char ch;
	size_t i;

	for (i = 0; i < n; i++) {
		ch = (unsigned char)s[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return true;
	}
	return false;
}

/*
 * conf_digits - one or more decimal digits at *sp, at most max; *sp is
 * left after them.  -1 when there is no digit or the value exceeds max.
 */
static int
conf_digits(const char **sp, uint64_t max, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0, d;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		d = (uint64_t)(*s - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*sp = s;
	*out = v;
	return 0;
}

/*
 * conf_parse_unit - number = 1*DIGIT [suffix], one of units; the product
 * must not exceed max.  0 or -1.
 */
static int
conf_parse_unit(const char *s, const struct conf_unit *units, uint64_t max,
    uint64_t *out)
{
	const struct conf_unit *u;
	uint64_t v, n = 1;

	if (conf_digits(&s, max, &v) == -1)
		return -1;
	if (*s != '\0') {
		for (u = units; u->c != '\0' && u->c != *s; u++)
			continue;
		if (u->c == '\0' || s[1] != '\0')
			return -1;
		n = u->n;
	}
	if (v > max / n)
		return -1;
	*out = v * n;
	return 0;
}

/*
 * conf_fmt_unit - v in the largest unit that divides it exactly: "25M".
 * Days are read but never written, so -n prints what it always printed
 * ("24h").
 */
static void
conf_fmt_unit(uint64_t v, const struct conf_unit *units, char *dst,
    size_t len)
{
	const struct conf_unit *u, *best = NULL;

	for (u = units; u->c != '\0'; u++) {
		if (u->c != 'd' && v != 0 && v % u->n == 0 && (best == NULL || u->n > best->n))
			best = u;
	}
	if (best == NULL)
		(void)snprintf(dst, len, "%" PRIu64, v);
	else
		(void)snprintf(dst, len, "%" PRIu64 "%c", v / best->n, best->c);
}

int
conf_parse_size(const char *s, uint64_t *out)
{
	return conf_parse_unit(s, conf_size_units, UINT64_MAX, out);
}

int
conf_parse_duration(const char *s, unsigned *out)
{
	uint64_t v;

	if (conf_parse_unit(s, conf_time_units, UINT_MAX, &v) == -1)
		return -1;
	*out = (unsigned)v;
	return 0;
}

const char *
conf_role_name(enum conf_role role)
{
	switch (role) {
	case CONF_ROLE_MX:
		return "mx";
	case CONF_ROLE_SUBMISSION:
		return "submission";
	case CONF_ROLE_SUBMISSIONS:
		return "submissions";
	}
	log_fatal("can't happen: listener role %d", (int)role);
}

/* conf_role_parse - a role name into *out; 0 or -1. */
static int
conf_role_parse(const char *s, enum conf_role *out)
{
	static const enum conf_role roles[] = {
		CONF_ROLE_MX, CONF_ROLE_SUBMISSION, CONF_ROLE_SUBMISSIONS,
	};
	size_t i;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		if (strcmp(s, conf_role_name(roles[i])) == 0) {
			*out = roles[i];
			return 0;
		}
	}
	return -1;
}

const char *
conf_ltls_name(enum conf_ltls tls)
{
	switch (tls) {
	case CONF_LTLS_AUTO:
		return "";
	case CONF_LTLS_NONE:
		return "notls";
	case CONF_LTLS_STARTTLS:
		return "starttls";
	case CONF_LTLS_IMPLICIT:
		return "tls";
	}
	log_fatal("can't happen: listener TLS %d", (int)tls);
}

/* conf_ltls_parse - a TLS word into *out; 0 or -1. */
static int
conf_ltls_parse(const char *s, enum conf_ltls *out)
{
	static const enum conf_ltls words[] = {
		CONF_LTLS_NONE, CONF_LTLS_STARTTLS, CONF_LTLS_IMPLICIT,
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(s, conf_ltls_name(words[i])) == 0) {
			*out = words[i];
			return 0;
		}
	}
	return -1;
}

enum conf_ltls
conf_listen_tls(const struct config *c, const struct conf_listen *l)
{
	if (l->tls != CONF_LTLS_AUTO)
		return l->tls;
	switch (l->role) {
	case CONF_ROLE_MX:
		return c->ntls_certs > 0 ? CONF_LTLS_STARTTLS : CONF_LTLS_NONE;
	case CONF_ROLE_SUBMISSION:
		return CONF_LTLS_STARTTLS;
	case CONF_ROLE_SUBMISSIONS:
		return CONF_LTLS_IMPLICIT;
	}
	log_fatal("can't happen: listener role %d", (int)l->role);
}

enum conf_role
conf_role_by_port(unsigned port)
{
	if (port == 587)
		return CONF_ROLE_SUBMISSION;
	if (port == 465)
		return CONF_ROLE_SUBMISSIONS;
	return CONF_ROLE_MX;
}

/* conf_num_of - how a number type parses, prints and is stored. */
static const struct conf_num *
conf_num_of(enum conf_type type)
{
	switch (type) {
	case CONF_T_SIZE:
		return &conf_num_size;
	case CONF_T_DURATION:
		return &conf_num_duration;
	case CONF_T_UINT:
		return &conf_num_uint;
	case CONF_T_STRING:
	case CONF_T_DOMAINS:
	case CONF_T_BOOL:
	case CONF_T_ENUM:
	case CONF_T_LISTEN:
	case CONF_T_LINES:
		break;
	}
	log_fatal("can't happen: conf type %d is not a number", (int)type);
}

/* conf_is_list - whether a type takes several words and may repeat. */
static bool
conf_is_list(enum conf_type type)
{
	switch (type) {
	case CONF_T_DOMAINS:
	case CONF_T_LISTEN:
	case CONF_T_LINES:
		return true;
	case CONF_T_STRING:
	case CONF_T_SIZE:
	case CONF_T_DURATION:
	case CONF_T_UINT:
	case CONF_T_BOOL:
	case CONF_T_ENUM:
		return false;
	}
	log_fatal("can't happen: conf type %d", (int)type);
}

/* conf_valid_word - a host or user name: printable ASCII, one word. */
static const char *
conf_valid_word(const char *s)
{
	size_t i;

	if (s[0] == '\0')
		return "empty";
	if (s[0] == '#')
		return "a word beginning with '#' is a comment";
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '!' || s[i] > '~')
			return "printable ASCII only";
	}
	if (i > CONF_WORD_MAX)
		return "longer than 255 characters";
	return NULL;
}

int
conf_relay_url_parse(const char *s, struct conf_relay_url *out,
    const char **why_out)
{
	const char *h, *end, *colon;
	size_t n;
	unsigned long port;
	char *e;

	memset(out, 0, sizeof(*out));
	if (strncmp(s, "smtps://", 8) == 0) {
		out->implicit_tls = true;
		out->port = 465;
		h = s + 8;
	} else if (strncmp(s, "smtp://", 7) == 0) {
		out->port = 587;
		h = s + 7;
	} else {
		*why_out = "smtps://HOST[:PORT] or smtp://HOST[:PORT]";
		return -1;
	}
	if (h[0] == '[') {
		if ((end = strchr(h, ']')) == NULL) {
			*why_out = "no ']' after the address";
			return -1;
		}
		h++;
		colon = end[1] == ':' ? end + 1 : end[1] == '\0' ? NULL : end;
	} else {
		colon = strchr(h, ':');
		end = colon != NULL ? colon : h + strlen(h);
	}
	n = (size_t)(end - h);
	if (n == 0 || n >= sizeof(out->host) || strcspn(h, "/@?#") < n) {
		*why_out = "bad host";
		return -1;
	}
	memcpy(out->host, h, n);
	out->host[n] = '\0';
	if (colon == NULL)
		return 0;
	if (colon[0] != ':' || colon[1] < '0' || colon[1] > '9') {
		*why_out = "bad port";
		return -1;
	}
	errno = 0;
	port = strtoul(colon + 1, &e, 10);
	if (errno != 0 || *e != '\0' || port == 0 || port > 65535) {
		*why_out = "bad port";
		return -1;
	}
	out->port = (unsigned)port;
	return 0;
}

/* conf_valid_relay_url - a relay_host URL (conf_relay_url_parse). */
static const char *
conf_valid_relay_url(const char *s)
{
	struct conf_relay_url u;
	const char *why;

	if ((why = conf_valid_word(s)) != NULL)
		return why;
	return conf_relay_url_parse(s, &u, &why) == 0 ? NULL : why;
}

/* conf_valid_program - an absolute path, one printable ASCII word. */
static const char *
conf_valid_program(const char *s)
{
	if (s[0] != '/')
		return "an absolute path";
	return conf_valid_word(s);
}

/* conf_valid_delim - one printable character that may not start a path. */
static const char *
conf_valid_delim(const char *s)
{
	if (s[0] == '\0' || s[1] != '\0')
		return "one character";
	if (strchr("+-_=.", s[0]) == NULL)
		return "one of + - _ = .";
	return NULL;
}

/*
 * conf_valid_maildir - a path, or a template whose only escapes are the
 * ones idn_expand() knows: %d, %u and %%.
 */
static const char *
conf_valid_maildir(const char *s)
{
	const char *p;

	if (s[0] == '#')
		return "a word beginning with '#' is a comment";
	for (p = strchr(s, '%'); p != NULL; p = strchr(p + 2, '%')) {
		if (p[1] != 'd' && p[1] != 'u' && p[1] != '%')
			return "only %d, %u and %% may follow '%'";
	}
	return NULL;
}

/* conf_valid_chaos - a sink_chaos rule (chaos.h has the grammar). */
static const char *
conf_valid_chaos(const char *s)
{
	return chaos_check_rule(s);
}

/*
 * conf_valid_milter - a word of a milter line: a socket (inet:HOST:PORT,
 * unix:/PATH) or a role name; which comes first is conf_check's.
 */
static const char *
conf_valid_milter(const char *s)
{
	enum conf_role role;
	const char *port;

	if (conf_valid_word(s) != NULL)
		return conf_valid_word(s);
	if (conf_role_parse(s, &role) == 0)
		return NULL;
	if (strncmp(s, "unix:", 5) == 0)
		return s[5] == '/' ? NULL : "unix: needs an absolute path";
	if (strncmp(s, "inet:", 5) != 0)
		return "inet:HOST:PORT, unix:/PATH or a role";
	port = strrchr(s + 5, ':');
	if (port == NULL || port == s + 5 || port[1] == '\0' ||
	    strspn(port + 1, "0123456789") != strlen(port + 1) ||
	    strlen(port + 1) > 5 || atoi(port + 1) < 1 ||
	    atoi(port + 1) > 65535)
		return "inet: needs HOST:PORT";
	return NULL;
}

/* conf_free_strings - free a string list and empty it. */
static void
conf_free_strings(char ***list, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*n = 0;
}

/* conf_free_aliases - free an alias table and empty it. */
static void
conf_free_aliases(struct conf_alias **tab, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		free((*tab)[i].key);
		conf_free_strings(&(*tab)[i].targets, &(*tab)[i].ntargets);
	}
	free(*tab);
	*tab = NULL;
	*n = 0;
}

/* conf_free_listens - free a listener list and empty it. */
static void
conf_free_listens(struct conf_listen **list, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		free((*list)[i].addr);
		free((*list)[i].where);
	}
	free(*list);
	*list = NULL;
	*n = 0;
}

/* conf_add_domain - append the domain (in idn_domain() form, which the
 * caller has checked it has) unless already listed. */
static void
conf_add_domain(char ***list, size_t *n, const char *domain)
{
	char a[IDN_DOMAIN_MAX + 1];
	char *d;
	size_t i;

	if (idn_domain(domain, a, sizeof(a)) == -1)
		log_fatal("can't happen: conf_add_domain %s", domain);
	d = xstrdup(a);
	for (i = 0; i < *n; i++) {
		if (strcmp((*list)[i], d) == 0) {
			free(d);
			return;
		}
	}
	*list = xrealloc(*list, *n + 1, sizeof(**list));
	(*list)[(*n)++] = d;
}

/* conf_set_domains - DOMAIN... (or WORD... for a row with valid()): all
 * are checked before any is added. */
static int
conf_set_domains(struct conf_ctx *x, const struct conf_key *k, char **w,
    size_t n)
{
	char ***list = conf_field(x->c, k->off);
	size_t *count = conf_field(x->c, k->noff);
	char a[IDN_DOMAIN_MAX + 1];
	const char *why;
	size_t i;

	for (i = 0; i < n; i++) {
		if (k->valid != NULL && (why = k->valid(w[i])) != NULL)
			return conf_fail(x->err_out, "%s: %s: bad value '%s' "
			    "(%s)", x->where, k->name, w[i], why);
		if (k->valid == NULL && idn_domain(w[i], a, sizeof(a)) == -1)
			return conf_fail(x->err_out, "%s: %s: bad domain '%s'",
			    x->where, k->name, w[i]);
	}
	if (x->replace)
		conf_free_strings(list, count);
	for (i = 0; i < n && k->valid == NULL; i++)
		conf_add_domain(list, count, w[i]);
	for (i = 0; i < n && k->valid != NULL; i++) {
		*list = xrealloc(*list, *count + 1, sizeof(**list));
		(*list)[(*count)++] = xstrdup(w[i]);
	}
	return 0;
}

/*
 * conf_addrport - listen-addr = IPv4-literal ":" port / "[" IPv6-literal
 * "]" ":" port, port = 1*DIGIT (at most 65535).  The address is stored in
 * its canonical inet_ntop() form, so [0::1] and [::1] compare equal.
 * Returns NULL, or what is wrong.
 */
static const char *
conf_addrport(const char *w, char *addr, size_t addrlen, unsigned *port_out)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char host[INET6_ADDRSTRLEN];
	const char *end, *p;
	uint64_t port;
	int af = AF_INET;

	if (w[0] == '[') {
		af = AF_INET6;
		if ((end = strchr(++w, ']')) == NULL)
			return "bad address";
		p = end + 1;
	} else {
		p = end = strchr(w, ':');
		if (p != NULL && strchr(p + 1, ':') != NULL)
			return "IPv6 address without [brackets]";
	}
	if (end == NULL || *p != ':')
		return "missing :PORT";
	if ((size_t)(end - w) >= sizeof(host))
		return "bad address";
	memcpy(host, w, (size_t)(end - w));
	host[end - w] = '\0';
	if (inet_pton(af, host, bin) != 1)
		return "bad address";
	p++;
	if (conf_digits(&p, 65535, &port) == -1 || *p != '\0')
		return "bad port";
	if (inet_ntop(af, bin, addr, (socklen_t)addrlen) == NULL)
		log_fatal("can't happen: inet_ntop of '%s' failed", host);
	*port_out = (unsigned)port;
	return NULL;
}

/* conf_valid_http - http_listen: ADDRESS:PORT as a listen line has it. */
static const char *
conf_valid_http(const char *s)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned port;

	return conf_addrport(s, addr, sizeof(addr), &port);
}

/* conf_is_loopback - an http_listen address on 127.0.0.0/8 or ::1. */
static bool
conf_is_loopback(const char *s)
{
	return strncmp(s, "127.", 4) == 0 || strncmp(s, "[::1]:", 6) == 0;
}

/* conf_add_listens - append n parsed listeners to the key's list. */
static void
conf_add_listens(struct conf_ctx *x, const struct conf_key *k,
    struct conf_listen *l, size_t n)
{
	struct conf_listen **list = conf_field(x->c, k->off);
	size_t *count = conf_field(x->c, k->noff);

	if (x->replace)
		conf_free_listens(list, count);
	*list = xrealloc(*list, *count + n, sizeof(**list));
	memcpy(*list + *count, l, n * sizeof(*l));
	*count += n;
}

/* conf_is_word - w[i] exists and is no listen-addr (it has no ':'). */
static bool
conf_is_word(char **w, size_t n, size_t i)
{
	return i < n && strchr(w[i], ':') == NULL;
}

/*
 * conf_listen_words - [role] [tls] after the address w[*i] into l, *i
 * moved past them; tls = "starttls" / "notls" / "tls".  0 or -1.
 */
static int
conf_listen_words(struct conf_ctx *x, const struct conf_key *k, char **w,
    size_t n, size_t *i, struct conf_listen *l)
{
	if (conf_is_word(w, n, *i + 1) &&
	    conf_ltls_parse(w[*i + 1], &l->tls) == 0) {
		(*i)++;
		return 0;
	}
	if (conf_is_word(w, n, *i + 1) &&
	    conf_role_parse(w[++*i], &l->role) == -1)
		return conf_fail(x->err_out, "%s: %s: bad role '%s' "
		    "(mx|submission|submissions)", x->where, k->name, w[*i]);
	if (conf_is_word(w, n, *i + 1) &&
	    conf_ltls_parse(w[++*i], &l->tls) == -1)
		return conf_fail(x->err_out, "%s: %s: bad TLS '%s' "
		    "(starttls|notls|tls)", x->where, k->name, w[*i]);
	return 0;
}

/*
 * conf_set_listens - listen = listen-addr [role] [tls] *(listen-addr
 * [role] [tls]): the words without ':' after an address are its role
 * and then its TLS.  All or nothing.
 */
static int
conf_set_listens(struct conf_ctx *x, const struct conf_key *k, char **w,
    size_t n)
{
	char addr[INET6_ADDRSTRLEN];
	struct conf_listen *l;
	const char *why;
	size_t i, nl = 0;
	unsigned port;

	l = xcalloc(n, sizeof(*l));
	for (i = 0; i < n; i++) {
		why = conf_addrport(w[i], addr, sizeof(addr), &port);
		if (why != NULL) {
			(void)conf_fail(x->err_out, "%s: %s: %s in '%s'",
			    x->where, k->name, why, w[i]);
			goto fail;
		}
		l[nl].role = conf_role_by_port(port);
		l[nl].tls = CONF_LTLS_AUTO;
		if (conf_listen_words(x, k, w, n, &i, &l[nl]) == -1)
			goto fail;
		l[nl].addr = xstrdup(addr);
		l[nl].port = port;
		l[nl++].where = xstrdup(x->where);
	}
	conf_add_listens(x, k, l, nl);
	free(l);
	return 0;
fail:
	conf_free_listens(&l, &nl);
	return -1;
}

/* conf_set_lines - the words joined by single spaces, vetted by the
 * key's valid(), appended as one entry: an -o adds one too (a list of
 * lines cannot be given in one -o). */
static int
conf_set_lines(struct conf_ctx *x, const struct conf_key *k, char **w,
    size_t n)
{
	char ***list = conf_field(x->c, k->off);
	size_t *count = conf_field(x->c, k->noff), i;
	const char *why;
	struct buf b;

	buf_init(&b, SIZE_MAX);
	for (i = 0; i < n; i++)
		(void)buf_addf(&b, "%s%s", i > 0 ? " " : "", w[i]);
	if ((why = k->valid(buf_cstr(&b))) != NULL) {
		(void)conf_fail(x->err_out, "%s: %s: bad value '%s' (%s)",
		    x->where, k->name, buf_cstr(&b), why);
		buf_release(&b);
		return -1;
	}
	*list = xrealloc(*list, *count + 1, sizeof(**list));
	(*list)[(*count)++] = xstrdup(buf_cstr(&b));
	buf_release(&b);
	return 0;
}

/* conf_set_string - one word, vetted by the key's valid(). */
static int
conf_set_string(struct conf_ctx *x, const struct conf_key *k, const char *w)
{
	char **p = conf_field(x->c, k->off);
	const char *why;

	if ((why = k->valid(w)) != NULL)
		return conf_fail(x->err_out, "%s: %s: bad value '%s' (%s)",
		    x->where, k->name, w, why);
	free(*p);
	*p = xstrdup(w);
	if (k->woff != 0) {
		p = conf_field(x->c, k->woff);
		free(*p);
		*p = xstrdup(x->where);
	}
	return 0;
}

/* conf_set_num - a size, duration or number within the key's bounds. */
static int
conf_set_num(struct conf_ctx *x, const struct conf_key *k, const char *w)
{
	const struct conf_num *num = conf_num_of(k->type);
	void *p = conf_field(x->c, k->off);
	char lo[32], hi[32];
	uint64_t v;

	if (conf_parse_unit(w, num->units, num->wide ? UINT64_MAX : UINT_MAX,
	    &v) == -1)
		return conf_fail(x->err_out, "%s: %s: bad %s '%s'", x->where,
		    k->name, num->noun, w);
	if (v < k->min || v > k->max) {
		conf_fmt_unit(k->min, num->units, lo, sizeof(lo));
		conf_fmt_unit(k->max, num->units, hi, sizeof(hi));
		return conf_fail(x->err_out, "%s: %s: '%s' out of range "
		    "(%s..%s)", x->where, k->name, w, lo, hi);
	}
	if (num->wide)
		*(uint64_t *)p = v;
	else
		*(unsigned *)p = (unsigned)v;
	return 0;
}

/* conf_set_bool - yes | no. */
static int
conf_set_bool(struct conf_ctx *x, const struct conf_key *k, const char *w)
{
	bool *p = conf_field(x->c, k->off);

	if (strcmp(w, "yes") == 0)
		*p = true;
	else if (strcmp(w, "no") == 0)
		*p = false;
	else
		return conf_fail(x->err_out, "%s: %s: bad value '%s' (yes|no)",
		    x->where, k->name, w);
	return 0;
}

/* conf_set_enum - one of the key's words; its index is the enum value. */
static int
conf_set_enum(struct conf_ctx *x, const struct conf_key *k, const char *w)
{
	unsigned *p = conf_field(x->c, k->off);
	struct buf b;
	unsigned i;
	int rc;

	for (i = 0; k->words[i] != NULL; i++) {
		if (strcmp(w, k->words[i]) == 0) {
			*p = i;
			return 0;
		}
	}
	buf_init(&b, SIZE_MAX);
	for (i = 0; k->words[i] != NULL; i++)
		(void)buf_addf(&b, "%s%s", i > 0 ? "|" : "", k->words[i]);
	rc = conf_fail(x->err_out, "%s: %s: bad value '%s' (%s)", x->where,
	    k->name, w, buf_cstr(&b));
	buf_release(&b);
	return rc;
}

/*
 * conf_apply - give key k the value words w[0..n).  On error the config
 * is unchanged.
 */
static int
conf_apply(struct conf_ctx *x, const struct conf_key *k, char **w, size_t n)
{
	if (n == 0)
		return conf_fail(x->err_out, "%s: %s: missing value", x->where,
		    k->name);
	if (n > 1 && !conf_is_list(k->type))
		return conf_fail(x->err_out, "%s: %s: extra value '%s'",
		    x->where, k->name, w[1]);
	switch (k->type) {
	case CONF_T_STRING:
		return conf_set_string(x, k, w[0]);
	case CONF_T_DOMAINS:
		return conf_set_domains(x, k, w, n);
	case CONF_T_SIZE:
	case CONF_T_DURATION:
	case CONF_T_UINT:
		return conf_set_num(x, k, w[0]);
	case CONF_T_BOOL:
		return conf_set_bool(x, k, w[0]);
	case CONF_T_ENUM:
		return conf_set_enum(x, k, w[0]);
	case CONF_T_LISTEN:
		return conf_set_listens(x, k, w, n);
	case CONF_T_LINES:
		return conf_set_lines(x, k, w, n);
	}
	log_fatal("can't happen: conf key %s has type %d", k->name,
	    (int)k->type);
}

/*
 * conf_split - cut s into words at spaces and tabs, in place; with
 * comments, a word beginning with '#' ends the line.  w must have room
 * for strlen(s) / 2 + 1 words.  Returns the count.
 */
static size_t
conf_split(char *s, char **w, bool comments)
{
	size_t n = 0;

	for (;;) {
		s += strspn(s, " \t");
		if (*s == '\0' || (comments && *s == '#'))
			return n;
		w[n++] = s;
		s += strcspn(s, " \t");
		if (*s != '\0')
			*s++ = '\0';
	}
}

/* conf_apply_text - apply a value given as text (a default, an -o). */
static int
conf_apply_text(struct conf_ctx *x, const struct conf_key *k,
    const char *text)
{
	char *s, **w;
	int rc;

	s = xstrdup(text);
	w = xcalloc(strlen(s) / 2 + 1, sizeof(*w));
	rc = conf_apply(x, k, w, conf_split(s, w, false));
	free(w);
	free(s);
	return rc;
}

/* conf_lookup - the table row of a key name, or NULL. */
static const struct conf_key *
conf_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < CONF_NKEYS; i++) {
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	}
	return NULL;
}

struct config *
conf_new(const char *default_hostname)
{
	struct config *c;
	struct conf_ctx x;
	char *err = NULL;
	size_t i;

	c = xcalloc(1, sizeof(*c));
	x = (struct conf_ctx){ c, "default", false, &err };
	for (i = 0; i < CONF_NKEYS; i++) {
		if (conf_keys[i].def != NULL &&
		    conf_apply_text(&x, &conf_keys[i], conf_keys[i].def) == -1)
			log_fatal("can't happen: %s", err);
	}
	/* Vetted by conf_check(): the system's name is not config text. */
	c->hostname = xstrdup(default_hostname != NULL ?
	    default_hostname : "localhost");
	return c;
}

/* conf_release - free whatever key k holds in c. */
static void
conf_release(struct config *c, const struct conf_key *k)
{
	void *p = conf_field(c, k->off);

	switch (k->type) {
	case CONF_T_STRING:
		free(*(char **)p);
		return;
	case CONF_T_DOMAINS:
	case CONF_T_LINES:
		conf_free_strings(p, conf_field(c, k->noff));
		return;
	case CONF_T_LISTEN:
		conf_free_listens(p, conf_field(c, k->noff));
		return;
	case CONF_T_SIZE:
	case CONF_T_DURATION:
	case CONF_T_UINT:
	case CONF_T_BOOL:
	case CONF_T_ENUM:
		return;
	}
	log_fatal("can't happen: conf key %s has type %d", k->name,
	    (int)k->type);
}

void
conf_free(struct config **cp)
{
	size_t i;

	if (cp == NULL || *cp == NULL)
		return;
	conf_free_strings(&(*cp)->rcpt_addrs, &(*cp)->nrcpt_addrs);
	conf_free_aliases(&(*cp)->alias_tab, &(*cp)->nalias_tab);
	free((*cp)->http_listen_where);
	for (i = 0; i < CONF_NKEYS; i++)
		conf_release(*cp, &conf_keys[i]);
	free(*cp);
	*cp = NULL;
}

/* conf_directive - one line's words: key and values. */
static int
conf_directive(struct conf_file *f, char **w, size_t n)
{
	const struct conf_key *k;
	struct conf_ctx x;
	char *where;
	size_t i;
	int rc;

	if ((k = conf_lookup(w[0])) == NULL)
		return conf_fail(f->err_out, "%s:%zu: unknown key '%s'",
		    f->name, f->line, w[0]);
	i = (size_t)(k - conf_keys);
	if (f->seen[i] != 0 && !conf_is_list(k->type))
		return conf_fail(f->err_out, "%s:%zu: duplicate key '%s', "
		    "first at %s:%zu", f->name, f->line, k->name, f->name,
		    f->seen[i]);
	/* a list with a default: the file's first line replaces it */
	x.replace = f->seen[i] == 0 && k->def != NULL;
	if (f->seen[i] == 0)
		f->seen[i] = f->line;
	where = xasprintf("%s:%zu", f->name, f->line);
	x = (struct conf_ctx){ f->c, where, x.replace, f->err_out };
	rc = conf_apply(&x, k, w + 1, n - 1);
	free(where);
	return rc;
}

/* conf_line - one line of s[0..n) without its LF; a CR before it goes. */
static int
conf_line(struct conf_file *f, const char *s, size_t n)
{
	char *line, **w;
	size_t nw;
	int rc = 0;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (conf_has_ctl(s, n))
		return conf_fail(f->err_out, "%s:%zu: control character in "
		    "line", f->name, f->line);
	line = xstrndup(s, n);
	w = xcalloc(n / 2 + 1, sizeof(*w));
	if ((nw = conf_split(line, w, true)) > 0)
		rc = conf_directive(f, w, nw);
	free(w);
	free(line);
	return rc;
}

int
conf_parse(struct config *c, const char *name, const char *text,
    size_t len, char **err_out)
{
	struct conf_file f;
	const char *eol;
	size_t pos, n;

	memset(&f, 0, sizeof(f));
	f.c = c;
	f.name = name;
	f.err_out = err_out;
	for (pos = 0; pos < len; pos += n + 1) {
		f.line++;
		eol = memchr(text + pos, '\n', len - pos);
		n = eol != NULL ? (size_t)(eol - (text + pos)) : len - pos;
		if (conf_line(&f, text + pos, n) == -1)
			return -1;
	}
	return 0;
}

int
conf_set(struct config *c, const char *kv, char **err_out)
{
	const struct conf_key *k;
	struct conf_ctx x;
	const char *eq;
	char *key, *where;
	int rc;

	where = xasprintf("-o %s", kv);
	x = (struct conf_ctx){ c, where, true, err_out };
	eq = strchr(kv, '=');
	key = xstrndup(kv, eq != NULL ? (size_t)(eq - kv) : strlen(kv));
	if (eq == NULL)
		rc = conf_fail(err_out, "%s: expected key=value", where);
	else if (conf_has_ctl(kv, strlen(kv)))
		rc = conf_fail(err_out, "%s: control character", where);
	else if ((k = conf_lookup(key)) == NULL)
		rc = conf_fail(err_out, "%s: unknown key '%s'", where, key);
	else
		rc = conf_apply_text(&x, k, eq + 1);
	free(key);
	free(where);
	return rc;
}

/* conf_fmt_addr - "127.0.0.1:25" or "[::1]:25". */
static void
conf_fmt_addr(const struct conf_listen *l, char *dst, size_t len)
{
	if (strchr(l->addr, ':') != NULL)
		(void)snprintf(dst, len, "[%s]:%u", l->addr, l->port);
	else
		(void)snprintf(dst, len, "%s:%u", l->addr, l->port);
}

/* conf_same_listener - whether a and b bind the same address and port. */
static bool
conf_same_listener(const struct conf_listen *a, const struct conf_listen *b)
{
	/* Port 0 asks the system for a fresh port each time: no clash. */
	return a->port != 0 && a->port == b->port &&
	    strcmp(a->addr, b->addr) == 0;
}

/* conf_check_listens - at least one, and no address:port twice. */
static int
conf_check_listens(const struct config *c, char **err_out)
{
	char addr[CONF_ADDR_MAX];
	size_t i, j;

	if (c->nlistens == 0)
		return conf_fail(err_out, "no listen directive: at least one "
		    "listener is needed");
	for (i = 1; i < c->nlistens; i++) {
		for (j = 0; j < i; j++) {
			if (!conf_same_listener(&c->listens[i], &c->listens[j]))
				continue;
			conf_fmt_addr(&c->listens[i], addr, sizeof(addr));
			return conf_fail(err_out, "%s: duplicate listener %s, "
			    "first at %s", c->listens[i].where, addr,
			    c->listens[j].where);
		}
	}
	return 0;
}

/*
 * conf_check_ltls - a listener's TLS word fits its role, and a listener
 * that uses TLS has a certificate.  No passwords in clear text: a
 * submission listener without TLS only in a sink; a submissions one is
 * TLS by definition (RFC 8314), and implicit TLS is only for it.
 */
static int
conf_check_ltls(const struct config *c, const struct conf_listen *l,
    char **err_out)
{
	const char *role = conf_role_name(l->role);

	if ((l->role == CONF_ROLE_SUBMISSIONS) !=
	    (conf_listen_tls(c, l) == CONF_LTLS_IMPLICIT))
		return conf_fail(err_out, "%s: '%s' does not go with role %s "
		    "(tls is for submissions, and submissions is tls)",
		    l->where, conf_ltls_name(l->tls), role);
	if (l->role == CONF_ROLE_SUBMISSION && l->tls == CONF_LTLS_NONE &&
	    !c->sink)
		return conf_fail(err_out, "%s: a submission listener needs "
		    "TLS for its passwords (notls only with sink yes)",
		    l->where);
	if (conf_listen_tls(c, l) != CONF_LTLS_NONE && c->ntls_certs == 0)
		return conf_fail(err_out, "%s: a%s %s listener%s needs "
		    "tls_cert and tls_key", l->where, l->role ==
		    CONF_ROLE_MX ? "n" : "", role, l->role == CONF_ROLE_MX ?
		    " with starttls" : "");
	return 0;
}

/*
 * conf_check_http - the HTTP API serves one sink Maildir, and only on
 * loopback unless its clients must log in (http_auth).
 */
static int
conf_check_http(const struct config *c, char **err_out)
{
	if (c->http_listen == NULL)
		return 0;
	if (!c->sink || strstr(c->maildir, "%d") != NULL ||
	    strstr(c->maildir, "%u") != NULL)
		return conf_fail(err_out, "%s: http_listen needs sink yes and "
		    "one Maildir (no %%d or %%u)", c->http_listen_where);
	if (!conf_is_loopback(c->http_listen) && c->http_auth == NULL)
		return conf_fail(err_out, "%s: http_listen %s is not a "
		    "loopback address: set http_auth", c->http_listen_where,
		    c->http_listen);
	return 0;
}

/*
 * conf_check_tls - tls_cert and tls_key pair up; a listener that needs
 * TLS (submission: STARTTLS before AUTH; submissions: implicit TLS,
 * RFC 8314) has a certificate.
 */
static int
conf_check_tls(const struct config *c, char **err_out)
{
	size_t i;

	if (c->ntls_certs != c->ntls_keys)
		return conf_fail(err_out, "tls_cert and tls_key: %zu "
		    "certificate(s) but %zu key(s); they pair up in order",
		    c->ntls_certs, c->ntls_keys);
	for (i = 0; i < c->nlistens; i++)
		if (conf_check_ltls(c, &c->listens[i], err_out) == -1)
			return -1;
	for (i = 0; i < c->nlistens; i++)
		if (conf_check_role(c, c->listens[i].role, true,
		    c->listens[i].where, err_out) == -1)
			return -1;
	return 0;
}

int
conf_check_role(const struct config *c, enum conf_role role, bool has_tls,
    const char *where, char **err_out)
{
	if (role == CONF_ROLE_MX)
		return 0;
	if (!has_tls)
		return conf_fail(err_out, "%s: a %s listener needs tls_cert "
		    "and tls_key", where, conf_role_name(role));
	if (!c->sink && !conf_has_auth(c))
		return conf_fail(err_out, "%s: a %s listener needs sasl_db "
		    "(or sasl_pwcheck saslauthd)", where, conf_role_name(role));
	return 0;
}

/* conf_is_addr_word - printable ASCII or UTF-8 octets, at most 255. */
static bool
conf_is_addr_word(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((s[i] < '!' || s[i] > '~') && (unsigned char)s[i] < 0x80)
			return false;
	}
	return i > 0 && i <= CONF_WORD_MAX;
}

/*
 * conf_addr_key - local@domain as the recipients list holds it: the local
 * part case-folded (idn_local()), the domain as lower-case A-labels
 * (idn_domain()); "@domain" for an empty local part.  NULL when the
 * domain is no domain name or the local part not UTF-8.
 */
static char *
conf_addr_key(const char *local, const char *domain)
{
	char l[IDN_COMPONENT_MAX + 1], d[IDN_DOMAIN_MAX + 1];

	if (idn_domain(domain, d, sizeof(d)) == -1)
		return NULL;
	l[0] = '\0';
	if (local[0] != '\0' && idn_local(local, l, sizeof(l)) == -1)
		return NULL;
	return xasprintf("%s@%s", l, d);
}

/* conf_next_line - the next line of a list file (heap, without its LF
 * or CR LF) and its number in *no; NULL at the end. */
static char *
conf_next_line(const char *text, size_t len, size_t *off, size_t *no)
{
	size_t end;
	char *line;

	if (*off >= len)
		return NULL;
	for (end = *off; end < len && text[end] != '\n'; end++)
		continue;
	(*no)++;
	line = xstrndup(text + *off, end - *off);
	line[strcspn(line, "\r")] = '\0';
	*off = end + 1;
	return line;
}

/* conf_cmp_str - qsort/bsearch on an array of strings. */
static int
conf_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
conf_load_recipients(struct config *c, const char *name, const char *text,
    size_t len, char **err_out)
{
	char **list = NULL, *line, **w, *at, *key = NULL;
	size_t n = 0, no = 0, off = 0;

	while ((line = conf_next_line(text, len, &off, &no)) != NULL) {
		w = xcalloc(strlen(line) / 2 + 1, sizeof(*w));
		if (conf_split(line, w, true) == 0) {
			free(w);
			free(line);
			continue;
		}
		at = strchr(w[0], '@');
		if (at != NULL && at == strrchr(w[0], '@') &&
		    conf_is_addr_word(w[0])) {
			*at = '\0';
			key = conf_addr_key(w[0], at + 1);
			*at = '@';
		}
		if (key == NULL) {
			conf_free_strings(&list, &n);
			(void)conf_fail(err_out, "%s:%zu: bad address '%s' "
			    "(user@domain or @domain)", name, no, w[0]);
			free(w);
			free(line);
			return -1;
		}
		list = xrealloc(list, n + 1, sizeof(*list));
		list[n++] = key;
		key = NULL;
		free(w);
		free(line);
	}
	if (n > 0)
		qsort(list, n, sizeof(*list), conf_cmp_str);
	conf_free_strings(&c->rcpt_addrs, &c->nrcpt_addrs);
	c->rcpt_addrs = list;
	c->nrcpt_addrs = n;
	return 0;
}

/* conf_has_addr - whether the lower-cased key is in the sorted list. */
static bool
conf_has_addr(const struct config *c, const char *key)
{
	return c->nrcpt_addrs > 0 && bsearch(&key, c->rcpt_addrs,
	    c->nrcpt_addrs, sizeof(*c->rcpt_addrs), conf_cmp_str) != NULL;
}

bool
conf_is_listed_recipient(const struct config *c, const char *local,
    const char *domain)
{
	char *full = conf_addr_key(local, domain);
	bool ok = full != NULL && conf_has_addr(c, full);

	free(full);
	return ok;
}

bool
conf_is_valid_recipient(const struct config *c, const char *local,
    const char *domain)
{
	char *dom;
	bool ok;

	if (c->recipients == NULL)
		return true;
	dom = conf_addr_key("", domain);
	ok = conf_is_listed_recipient(c, local, domain) ||
	    (dom != NULL && conf_has_addr(c, dom));
	free(dom);
	return ok;
}

/*
 * The aliases file (inlet.conf(5), ALIASES).  Keys and targets are kept
 * as conf_addr_key() makes them: "local@domain", "local@" for a name
 * without a domain (every local domain; a target's domain is then the
 * one of the address being expanded) and "@domain" for a catch-all.
 */

/* conf_cmp_alias - qsort/bsearch on the alias table, by key. */
static int
conf_cmp_alias(const void *a, const void *b)
{
	return strcmp(((const struct conf_alias *)a)->key,
	    ((const struct conf_alias *)b)->key);
}

/* conf_sort_alias - conf_cmp_alias, then by line: a key given twice
 * sorts in file order, for the error. */
static int
conf_sort_alias(const void *a, const void *b)
{
	const struct conf_alias *x = a, *y = b;
	int r = conf_cmp_alias(a, b);

	return r != 0 ? r : x->line < y->line ? -1 : x->line > y->line;
}

/* conf_alias_find - the alias whose key is key, or NULL. */
static const struct conf_alias *
conf_alias_find(const struct config *c, const char *key)
{
	struct conf_alias k = { .key = (char *)(uintptr_t)key };

	if (c->nalias_tab == 0)
		return NULL;
	return bsearch(&k, c->alias_tab, c->nalias_tab, sizeof(k),
	    conf_cmp_alias);
}

/* conf_alias_exact - the alias for addr ("local@domain"): its own key
 * first, then "local@" (every local domain); never a catch-all. */
static const struct conf_alias *
conf_alias_exact(const struct config *c, const char *addr)
{
	const struct conf_alias *a = conf_alias_find(c, addr);
	size_t at = strcspn(addr, "@");
	char *any;

	if (a != NULL || addr[at] == '\0' || addr[at + 1] == '\0')
		return a;
	any = xstrndup(addr, at + 1);
	a = conf_alias_find(c, any);
	free(any);
	return a;
}

/* The state of one expansion: the chain of aliases being expanded
 * (for loop detection) and the final mailboxes found so far. */
struct conf_walk {
	const struct config *c;
	const char	*chain[CONF_ALIAS_DEPTH];
	size_t		 depth;
	char		**out;
	size_t		 nout;
	char		*err;		/* heap, when -1 */
};

/* conf_walk_chain - "a -> b -> last" for a loop report. */
static char *
conf_walk_chain(const struct conf_walk *w, const char *last)
{
	char *s = xstrdup(""), *t;
	size_t i;

	for (i = 0; i < w->depth; i++) {
		t = xasprintf("%s%s -> ", s, w->chain[i]);
		free(s);
		s = t;
	}
	t = xasprintf("alias loop: %s%s", s, last);
	free(s);
	return t;
}

/* conf_walk_add - a final mailbox (taken), once; -1 past the fan-out. */
static int
conf_walk_add(struct conf_walk *w, char *addr)
{
	size_t i;

	for (i = 0; i < w->nout; i++) {
		if (strcmp(w->out[i], addr) == 0) {
			free(addr);
			return 0;
		}
	}
	if (w->nout == CONF_ALIAS_FANOUT) {
		free(addr);
		w->err = xasprintf("more than %d mailboxes",
		    CONF_ALIAS_FANOUT);
		return -1;
	}
	w->out = xrealloc(w->out, w->nout + 1, sizeof(*w->out));
	w->out[w->nout++] = addr;
	return 0;
}

/*
 * conf_walk_alias - expand alias a, reached as addr: a target that is
 * addr itself is its own mailbox ("alice: alice, bob"), one that is an
 * alias is expanded in turn, any other is a final mailbox.  -1 with
 * w->err on a loop, past CONF_ALIAS_DEPTH or CONF_ALIAS_FANOUT.
 */
static int
conf_walk_alias(struct conf_walk *w, const char *addr,
    const struct conf_alias *a)
{
	const struct conf_alias *sub;
	const char *dom = strchr(addr, '@') + 1;
	char *t;
	size_t i, j;
	int rc = 0;

	if (w->depth == CONF_ALIAS_DEPTH) {
		w->err = xasprintf("aliases nest deeper than %d",
		    CONF_ALIAS_DEPTH);
		return -1;
	}
	w->chain[w->depth++] = addr;
	for (i = 0; i < a->ntargets && rc == 0; i++) {
		t = a->targets[i][strlen(a->targets[i]) - 1] == '@' ?
		    xasprintf("%s%s", a->targets[i], dom) :
		    xstrdup(a->targets[i]);
		for (j = 0; j < w->depth && strcmp(t, addr) != 0; j++)
			if (strcmp(t, w->chain[j]) == 0)
				w->err = conf_walk_chain(w, t);
		sub = strcmp(t, addr) == 0 ? NULL : conf_alias_exact(w->c, t);
		if (w->err != NULL)
			rc = -1;
		else if (sub != NULL)
			rc = conf_walk_alias(w, t, sub);
		else
			rc = conf_walk_add(w, xstrdup(t));
		free(t);
	}
	w->depth--;
	return rc;
}

/* conf_walk_run - expand a from addr into *out; -1 and *err_out (heap,
 * unless err_out is NULL). */
static int
conf_walk_run(const struct config *c, const char *addr,
    const struct conf_alias *a, char ***out, size_t *nout, char **err_out)
{
	struct conf_walk w = { .c = c };

	if (conf_walk_alias(&w, addr, a) == 0) {
		*out = w.out;
		*nout = w.nout;
		return 0;
	}
	conf_free_strings(&w.out, &w.nout);
	if (err_out != NULL)
		*err_out = w.err;
	else
		free(w.err);
	return -1;
}

int
conf_alias_expand(const struct config *c, const char *local,
    const char *domain, bool catchall, char ***out, size_t *nout)
{
	const struct conf_alias *a;
	char *addr, *dom;

	if (c->nalias_tab == 0 ||
	    (addr = conf_addr_key(local, domain)) == NULL)
		return 0;
	dom = conf_addr_key("", domain);
	a = conf_alias_exact(c, addr);
	if (a == NULL && catchall && local[0] != '\0')
		a = conf_alias_find(c, dom);
	*out = NULL;
	*nout = 0;
	if (a != NULL && conf_walk_run(c, a->key[0] == '@' ? dom : addr, a,
	    out, nout, NULL) != 0)
		a = NULL;
	free(addr);
	free(dom);
	return a != NULL && *nout > 0 ? 1 : 0;
}

/*
 * conf_alias_word - one name or target of an aliases line as a key:
 * local@domain with a domain of c (catch-all: an empty local part, only
 * when catchall) or a local part alone ("local@").  NULL when it is none
 * of these.
 */
static char *
conf_alias_word(const struct config *c, char *word, bool catchall)
{
	char l[IDN_COMPONENT_MAX + 1], *at = strchr(word, '@'), *key = NULL;

	if (!conf_is_addr_word(word) || (at != NULL && at != strrchr(word, '@')))
		return NULL;
	if (at == NULL)
		return word[0] != '\0' && idn_local(word, l, sizeof(l)) == 0 ?
		    xasprintf("%s@", l) : NULL;
	*at = '\0';
	if ((word[0] != '\0' || catchall) &&
	    conf_is_local_domain(c, at + 1))
		key = conf_addr_key(word, at + 1);
	*at = '@';
	return key;
}

/*
 * conf_alias_parse - one line of the aliases file into *a: 1, or 0 for
 * a blank or comment line, or -1 with *err_out.
 */
static int
conf_alias_parse(const struct config *c, char *line, const char *where,
    struct conf_alias *a, char **err_out)
{
	char *colon, **w, *t;
	size_t n, i;

	line[strcspn(line, "#")] = '\0';
	if (line[strspn(line, " \t")] == '\0')
		return 0;
	if ((colon = strchr(line, ':')) == NULL)
		return conf_fail(err_out, "%s: no ':' (name[@domain]: "
		    "target, ...)", where);
	*colon = '\0';
	for (n = strlen(line); n > 0 && strchr(" \t", line[n - 1]); n--)
		line[n - 1] = '\0';
	line += strspn(line, " \t");
	a->key = line[strcspn(line, " \t")] == '\0' ?
	    conf_alias_word(c, line, true) : NULL;
	if (a->key == NULL)
		return conf_fail(err_out, "%s: bad alias name '%s' (name, "
		    "name@domain or @domain, of a local domain)", where, line);
	for (t = colon + 1; (t = strchr(t, ',')) != NULL; )
		*t = ' ';
	w = xcalloc(strlen(colon + 1) / 2 + 1, sizeof(*w));
	n = conf_split(colon + 1, w, false);
	for (i = 0; i < n; i++) {
		if ((t = conf_alias_word(c, w[i], false)) == NULL) {
			(void)conf_fail(err_out, "%s: bad target '%s' (a "
			    "local address: name or name@domain)", where, w[i]);
			free(w);
			return -1;
		}
		a->targets = xrealloc(a->targets, a->ntargets + 1,
		    sizeof(*a->targets));
		a->targets[a->ntargets++] = t;
	}
	free(w);
	return n == 0 ? conf_fail(err_out, "%s: no target", where) : 1;
}

/*
 * conf_alias_check - sort the table; then no key twice, and every
 * alias expands without a loop, within depth and fan-out, for each
 * local domain (and any other, for a name without a domain: sink mode
 * takes every domain).  0 or -1 with *err_out naming the alias's line.
 */
static int
conf_alias_check(struct config *c, const char *name, char **err_out)
{
	const struct conf_alias *a;
	char **out = NULL, *addr, *why = NULL;
	size_t i, d, nout = 0;
	bool any;
	int rc = 0;

	if (c->nalias_tab > 0)
		qsort(c->alias_tab, c->nalias_tab, sizeof(*c->alias_tab),
		    conf_sort_alias);
	for (i = 0; i < c->nalias_tab && rc == 0; i++) {
		a = &c->alias_tab[i];
		if (i > 0 && strcmp(a->key, a[-1].key) == 0)
			return conf_fail(err_out, "%s:%u: alias '%s' given "
			    "twice, first at %s:%u", name, a->line, a->key,
			    name, a[-1].line);
		any = a->key[strlen(a->key) - 1] == '@';
		for (d = 0; d <= (any ? c->ndomains : 0) && rc == 0; d++) {
			addr = !any ? xstrdup(a->key) : xasprintf("%s%s",
			    a->key, d < c->ndomains ? c->domains[d] : "");
			if (conf_alias_exact(c, addr) == a || a->key[0] == '@')
				rc = conf_walk_run(c, addr, a, &out, &nout,
				    &why);
			if (rc == 0 && out != NULL)
				conf_free_strings(&out, &nout);
			out = NULL;
			free(addr);
		}
		if (rc != 0) {
			(void)conf_fail(err_out, "%s:%u: %s", name, a->line,
			    why);
			free(why);
		}
	}
	return rc;
}

int
conf_load_aliases(struct config *c, const char *name, const char *text,
    size_t len, char **err_out)
{
	struct conf_alias *tab = NULL, a;
	char *line, *where;
	size_t n = 0, no = 0, off = 0;
	int r = 0;

	while (r != -1 && (line = conf_next_line(text, len, &off, &no))) {
		memset(&a, 0, sizeof(a));
		a.line = (unsigned)no;
		where = xasprintf("%s:%zu", name, no);
		if ((r = conf_alias_parse(c, line, where, &a, err_out)) == 1) {
			tab = xrealloc(tab, n + 1, sizeof(*tab));
			tab[n++] = a;
		} else {
			free(a.key);
			conf_free_strings(&a.targets, &a.ntargets);
		}
		free(where);
		free(line);
	}
	conf_free_aliases(&c->alias_tab, &c->nalias_tab);
	c->alias_tab = tab;
	c->nalias_tab = n;
	if (r == -1 || conf_alias_check(c, name, err_out) != 0) {
		conf_free_aliases(&c->alias_tab, &c->nalias_tab);
		return -1;
	}
	return 0;
}

bool
conf_has_auth(const struct config *c)
{
	return c->sasl_db != NULL || c->sasl_pwcheck == CONF_PWCHECK_SASLAUTHD;
}

bool
conf_is_sink_store(const struct config *c)
{
	return c->sink && c->maildir != NULL && strchr(c->maildir, '%') == NULL;
}

int
conf_check(const struct config *c, char **err_out)
{
	const char *why;
	size_t i;

	if ((why = conf_valid_word(c->hostname)) != NULL)
		return conf_fail(err_out, "hostname: bad value '%s' (%s): set "
		    "hostname", c->hostname, why);
	if (conf_check_listens(c, err_out) == -1)
		return -1;
	if (c->maildir == NULL)
		return conf_fail(err_out, "maildir: not set (a path, or a "
		    "template such as /var/mail/%%d/%%u/Maildir)");
	if (conf_check_tls(c, err_out) == -1 ||
	    conf_check_http(c, err_out) == -1)
		return -1;
	if (c->nsink_chaos > 0 && !c->sink)
		return conf_fail(err_out, "sink_chaos: fault rules only with "
		    "sink yes");
	if (c->nsink_chaos > CHAOS_RULES_MAX)
		return conf_fail(err_out, "sink_chaos: more than %d rules",
		    CHAOS_RULES_MAX);
	if (c->nmilters > 0 && strncmp(c->milters[0], "inet:", 5) != 0 &&
	    strncmp(c->milters[0], "unix:", 5) != 0)
		return conf_fail(err_out, "milter: a line begins with a socket "
		    "(inet:HOST:PORT or unix:PATH), not '%s'", c->milters[0]);
	if (c->sink || c->ndomains > 0)
		return 0;
	for (i = 0; i < c->nlistens; i++) {
		if (c->listens[i].role == CONF_ROLE_MX)
			return conf_fail(err_out, "%s: an mx listener needs "
			    "domains (or sink yes)", c->listens[i].where);
	}
	return 0;
}

/* conf_fmt_list - a domain list as one line, or a comment when empty. */
static void
conf_fmt_list(struct buf *b, const struct config *c, const struct conf_key *k)
{
	char *const *list = *(char **const *)conf_cfield(c, k->off);
	size_t n = *(const size_t *)conf_cfield(c, k->noff), i;

	if (n == 0) {
		(void)buf_addf(b, "# %s (not set)\n", k->name);
		return;
	}
	(void)buf_adds(b, k->name);
	for (i = 0; i < n; i++)
		(void)buf_addf(b, " %s", list[i]);
	(void)buf_addc(b, '\n');
}

/* conf_fmt_listens - one line per listener, its role always spelled out. */
static void
conf_fmt_listens(struct buf *b, const struct config *c,
    const struct conf_key *k)
{
	const struct conf_listen *l;
	char addr[CONF_ADDR_MAX];
	size_t n, i;

	l = *(struct conf_listen *const *)conf_cfield(c, k->off);
	n = *(const size_t *)conf_cfield(c, k->noff);
	if (n == 0)
		(void)buf_addf(b, "# %s (not set)\n", k->name);
	for (i = 0; i < n; i++) {
		conf_fmt_addr(&l[i], addr, sizeof(addr));
		(void)buf_addf(b, "%s %s %s%s%s\n", k->name, addr,
		    conf_role_name(l[i].role), l[i].tls != CONF_LTLS_AUTO ?
		    " " : "", conf_ltls_name(l[i].tls));
	}
}

/* conf_fmt_lines - one line per entry, or a comment when there is none. */
static void
conf_fmt_lines(struct buf *b, const struct config *c,
    const struct conf_key *k)
{
	char *const *list = *(char **const *)conf_cfield(c, k->off);
	size_t n = *(const size_t *)conf_cfield(c, k->noff), i;

	if (n == 0)
		(void)buf_addf(b, "# %s (not set)\n", k->name);
	for (i = 0; i < n; i++)
		(void)buf_addf(b, "%s %s\n", k->name, list[i]);
}

/* conf_fmt_num - a size, duration or number in its largest exact unit. */
static void
conf_fmt_num(struct buf *b, const struct config *c, const struct conf_key *k)
{
	const struct conf_num *num = conf_num_of(k->type);
	const void *p = conf_cfield(c, k->off);
	char s[32];

	conf_fmt_unit(num->wide ? *(const uint64_t *)p : *(const unsigned *)p,
	    num->units, s, sizeof(s));
	(void)buf_addf(b, "%s %s\n", k->name, s);
}

/* conf_fmt_key - one key as config text; unset ones as a comment. */
static void
conf_fmt_key(struct buf *b, const struct config *c, const struct conf_key *k)
{
	const void *p = conf_cfield(c, k->off);
	const char *s;

	switch (k->type) {
	case CONF_T_STRING:
		if ((s = *(char *const *)p) == NULL)
			(void)buf_addf(b, "# %s (not set)\n", k->name);
		else
			(void)buf_addf(b, "%s %s\n", k->name, s);
		return;
	case CONF_T_DOMAINS:
		conf_fmt_list(b, c, k);
		return;
	case CONF_T_SIZE:
	case CONF_T_DURATION:
	case CONF_T_UINT:
		conf_fmt_num(b, c, k);
		return;
	case CONF_T_BOOL:
		(void)buf_addf(b, "%s %s\n", k->name,
		    *(const bool *)p ? "yes" : "no");
		return;
	case CONF_T_ENUM:
		(void)buf_addf(b, "%s %s\n", k->name,
		    k->words[*(const unsigned *)p]);
		return;
	case CONF_T_LISTEN:
		conf_fmt_listens(b, c, k);
		return;
	case CONF_T_LINES:
		conf_fmt_lines(b, c, k);
		return;
	}
	log_fatal("can't happen: conf key %s has type %d", k->name,
	    (int)k->type);
}

char *
conf_fmt(const struct config *c)
{
	struct buf b;
	size_t i;

	/* Uncapped: the text is as long as the config, which we hold. */
	buf_init(&b, SIZE_MAX);
	for (i = 0; i < CONF_NKEYS; i++) {
		(void)buf_addf(&b, "# %s\n", conf_keys[i].doc);
		conf_fmt_key(&b, c, &conf_keys[i]);
	}
	return b.data;
}

bool
conf_is_local_domain(const struct config *c, const char *domain)
{
	char norm[IDN_DOMAIN_MAX + 1];
	const char *a, *d;
	size_t i;

	if (domain == NULL)
		return false;
	/* The list holds A-labels: ASCII compares as it is (a name that
	 * matches one is valid too), anything else in idn_domain() form. */
	for (d = domain; *d != '\0' && (unsigned char)*d < 0x80; d++)
		continue;
	if (*d != '\0') {
		if (idn_domain(domain, norm, sizeof(norm)) == -1)
			return false;
		domain = norm;
	}
	for (i = 0; i < c->ndomains; i++) {
		for (a = c->domains[i], d = domain;
		    *a != '\0' && *a == conf_lower(*d); a++, d++)
			continue;
		if (*a == '\0' && *d == '\0')
			return true;
	}
	return false;
}
