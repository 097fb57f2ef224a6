/* SPDX-License-Identifier: ISC */
/*
 * conf - configuration text into an immutable struct config.
 *
 * Pure: the caller reads the file and passes its text; nothing here opens
 * files or sockets.  One table describes every key once (name, type,
 * bounds, default, one line of documentation); parsing, -o overrides,
 * defaults and the -n dump all come from it.  Errors carry file:line.
 */
#ifndef INLET_CONF_H
#define INLET_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum conf_role {
	CONF_ROLE_MX,
	CONF_ROLE_SUBMISSION,
	CONF_ROLE_SUBMISSIONS,
};

/* What a milter that is down, slow or broken means (Postfix's names). */
enum conf_milter_action {
	CONF_MILTER_ACCEPT,
	CONF_MILTER_TEMPFAIL,
	CONF_MILTER_REJECT,
};

enum conf_bare_newline {
	CONF_BARE_NORMALIZE,
	CONF_BARE_REJECT,
};

enum conf_tls_version {
	CONF_TLS_1_2,
	CONF_TLS_1_3,
};

enum conf_pwcheck {
	CONF_PWCHECK_AUXPROP,	/* Cyrus sasldb (sasl_db) */
	CONF_PWCHECK_SASLAUTHD,	/* saslauthd (system/PAM users) */
};

/* A listener's TLS: the listen line's optional last word, or AUTO. */
enum conf_ltls {
	CONF_LTLS_AUTO,		/* none given: see conf_listen_tls() */
	CONF_LTLS_NONE,		/* "notls": clear text, no STARTTLS offered */
	CONF_LTLS_STARTTLS,	/* "starttls": offered (RFC 3207) */
	CONF_LTLS_IMPLICIT,	/* "tls": from the first byte (RFC 8314) */
};

struct conf_listen {
	char		*addr;	/* "127.0.0.1", "::1", "0.0.0.0", "::" */
	unsigned	 port;	/* 0 = ephemeral (tests) */
	enum conf_role	 role;
	enum conf_ltls	 tls;	/* as written; AUTO when not */
	char		*where;	/* "file:line" or "-o listen=..." */
};

/* An alias (conf_load_aliases): a name and the addresses it stands for. */
struct conf_alias {
	char		*key;		/* "local@domain", "local@", "@domain" */
	char		**targets;	/* "local@domain" or "local@" */
	size_t		 ntargets;
	unsigned	 line;		/* in the aliases file */
};

#define CONF_ALIAS_DEPTH	8	/* aliases of aliases, at most */
#define CONF_ALIAS_FANOUT	100	/* mailboxes one address becomes */

struct config {
	char		*hostname;
	struct conf_listen *listens;
	size_t		 nlistens;
	char		**domains;	/* lower-case A-labels (idn_domain) */
	size_t		 ndomains;
	char		*maildir;	/* path or template with %d / %u */
	uint64_t	 message_size_limit;	/* octets, 0 = none */
	unsigned	 recipient_limit;
	unsigned	 recipient_overshoot_limit;
	enum conf_bare_newline bare_newline;
	bool		 strict_envelope;
	bool		 sink;
	char		**sink_chaos;		/* rules (chaos.h), in order */
	size_t		 nsink_chaos;
	unsigned	 command_timeout;	/* seconds */
	unsigned	 data_timeout;		/* seconds, whole DATA/BDAT */
	unsigned	 session_timeout;	/* seconds, whole connection */
	unsigned	 max_connections;
	unsigned	 max_connections_per_ip;
	unsigned	 max_errors;		/* hard error budget */
	unsigned	 shutdown_timeout;	/* seconds, SIGTERM grace */
	char		*user;			/* NULL = do not drop */
	bool		 group_access;		/* 0770/0640, not 0700/0600 */
	char		**tls_certs;		/* PEM chain files, in order */
	size_t		 ntls_certs;
	char		**tls_keys;		/* one per certificate */
	size_t		 ntls_keys;
	enum conf_tls_version tls_min_version;
	char		*sasl_db;		/* sasldb2 file */
	enum conf_pwcheck sasl_pwcheck;
	char		*sasl_saslauthd_path;	/* saslauthd socket */
	char		**sasl_mechanisms;	/* SASL mech_list */
	size_t		 nsasl_mechanisms;
	char		*sasl_realm;		/* for logins without @domain */
	char		**sasl_proxy_users;	/* may use a PLAIN authzid */
	size_t		 nsasl_proxy_users;
	bool		 mx_auth;		/* offer AUTH on mx too */
	char		*queue;			/* Maildir for relayed mail */
	bool		 sender_login_match;	/* MAIL FROM = login */
	unsigned	 auth_fail_limit;	/* failures before a ban */
	unsigned	 auth_ban_time;		/* seconds */
	char		*recipients;		/* file of valid addresses */
	char		*recipient_delimiter;	/* "+" for user+tag */
	char		*aliases;		/* file of aliases */
	unsigned	 greet_pause;		/* seconds before the 220 */
	unsigned	 max_transactions;	/* per session */
	unsigned	 junk_command_limit;	/* NOOP RSET VRFY HELP EXPN */
	uint64_t	 header_size_limit;	/* octets, 0 = none */
	char		*http_listen;		/* sink HTTP API ADDR:PORT */
	char		*http_listen_where;	/* "file:line" of it */
	char		*http_auth;		/* htpasswd file */
	unsigned	 sink_max_messages;	/* 0 = no limit */
	unsigned	 sink_max_age;		/* seconds, 0 = no limit */
	/* inlet-relay's (inletd ignores them): */
	char		**relay_hosts;		/* smtps:// or smtp:// URLs */
	size_t		 nrelay_hosts;
	char		*relay_auth_file;	/* HOST USER PASSWORD lines */
	char		*relay_ca_file;		/* NULL = the system CAs */
	unsigned	 queue_lifetime;	/* seconds, then bounce */
	unsigned	 delay_warning_time;	/* seconds, 0 = no delay DSN */
	unsigned	 relay_retry_min;	/* first retry after */
	unsigned	 relay_retry_max;	/* backoff cap */
	char		*relay_user;		/* inlet-relay drops to it */
	unsigned	 relay_connections;	/* to the smarthost at once */
	char		*data_hook;		/* program run after DATA */
	unsigned	 data_hook_timeout;	/* seconds */
	char		**milters;	/* "milter" lines, flat: each socket
					 * (inet:HOST:PORT, unix:PATH), then
					 * its roles (none: every role) */
	size_t		 nmilters;
	enum conf_milter_action milter_default_action;
	unsigned	 milter_connect_timeout;	/* seconds */
	unsigned	 milter_command_timeout;	/* seconds */
	unsigned	 milter_content_timeout;	/* seconds */
	char		*milter_quarantine;	/* Maildir, or NULL */
	/* Loaded from the recipients file by conf_load_recipients(): */
	char		**rcpt_addrs;		/* sorted, lower-cased */
	size_t		 nrcpt_addrs;
	/* Loaded from the aliases file by conf_load_aliases(): */
	struct conf_alias *alias_tab;		/* sorted by key */
	size_t		 nalias_tab;
};

/*
 * conf_load_recipients - the text of the recipients file (name for
 * errors): one address a line, "@domain" for every address of a domain,
 * "#" comments, blank lines.  Domains may be given as U-labels or
 * A-labels, local parts in UTF-8, in any case (kept case-folded, see
 * idn.h).  Replaces what was loaded before.  0 or -1 with *err_out
 * "name:line: ..." (heap).
 */
int	conf_load_recipients(struct config *c, const char *name,
	    const char *text, size_t len, char **err_out);

/*
 * conf_is_listed_recipient - whether local@domain itself (not only its
 * @domain) is in the recipients file; false without one.
 */
bool	conf_is_listed_recipient(const struct config *c, const char *local,
	    const char *domain);

/*
 * conf_load_aliases - the text of the aliases file (name for errors),
 * read after conf_check() (the domains must be known): one alias a line,
 * "name[@domain]: target[, target...]", '#' to the end of the line a
 * comment.  A name without a domain is one in every local domain, and
 * "@domain" is the domain's catch-all; a target is a local address,
 * "name" meaning the alias's own domain.  Names, targets and domains
 * are kept case-folded (idn.h).  An alias may name other aliases; a
 * target that is the alias itself is its own mailbox.  Refused, with
 * *err_out "name:line: ..." (heap): bad syntax, a domain not in
 * domains, a name given twice, a loop (a -> b -> a), nesting deeper
 * than CONF_ALIAS_DEPTH, more than CONF_ALIAS_FANOUT mailboxes for one
 * address.  Replaces what was loaded before.  0 or -1.
 */
int	conf_load_aliases(struct config *c, const char *name,
	    const char *text, size_t len, char **err_out);

/*
 * conf_alias_expand - the final mailboxes local@domain stands for: its
 * alias (local@domain, else local in every domain) or, with catchall
 * and no such alias, its domain's catch-all.  local is unquoted and
 * untagged by the caller.  Returns 1 with *out (heap array of nout heap
 * strings "local@domain", case-folded, each once; the caller frees) or
 * 0 when no alias applies.
 */
int	conf_alias_expand(const struct config *c, const char *local,
	    const char *domain, bool catchall, char ***out, size_t *nout);

/*
 * conf_is_valid_recipient - with a recipients file loaded, whether
 * local@domain (any case; U-labels or A-labels) is listed, or @domain
 * is; true without one.
 * The caller takes off a recipient_delimiter tag first.
 */
bool	conf_is_valid_recipient(const struct config *c, const char *local,
	    const char *domain);

/* conf_has_auth - whether an authentication backend is configured. */
bool	conf_has_auth(const struct config *c);

/*
 * conf_is_sink_store - sink mode into one Maildir (no %d or %u): each
 * transaction is stored once, with an env/ record of all its
 * recipients, rather than once per recipient.
 */
bool	conf_is_sink_store(const struct config *c);

/*
 * conf_new - a config with every default in place.  default_hostname is
 * the system host name (the caller asks the system; conf does no I/O);
 * NULL means "localhost".  It is copied as is and vetted by conf_check().
 * Allocation failure is fatal, so this never returns NULL.
 */
struct config *conf_new(const char *default_hostname);

/* conf_free - NULL-safe; sets *cp to NULL. */
void	conf_free(struct config **cp);

/*
 * conf_parse - apply the directives in text (len bytes) read from the
 * file called name.  One directive a line, "key value...", words split
 * at spaces and tabs; '#' at the start of a word begins a comment; LF or
 * CRLF line ends; any other control character is an error.  Returns 0,
 * or -1 with *err_out set to a message "name:line: what is wrong" (heap,
 * the caller frees).  Repeatable keys (listen, domains) append.  A key
 * given twice otherwise in this text is an error ("duplicate key 'k',
 * first at name:line").  On error the lines before the bad one stay
 * applied and the bad one changed nothing: free the config.
 */
int	conf_parse(struct config *c, const char *name, const char *text,
	    size_t len, char **err_out);

/*
 * conf_set - apply one "key=value" override (the -o option).  The value
 * is the words that would follow the key in a file, without comments
 * ("domains=a.example b.example", "listen=[::1]:25 mx 127.0.0.1:587").
 * It replaces whatever the file or an earlier -o said, lists included.
 * Errors as conf_parse, with "-o key=value" in place of file:line; on
 * error the config is unchanged.
 */
int	conf_set(struct config *c, const char *kv, char **err_out);

/*
 * conf_check - cross-key validation after all text and overrides: the
 * host name is one word of printable ASCII; at least one listener; no
 * two listeners on the same address and port ("where: duplicate
 * listener 127.0.0.1:25, first at where"; port 0 never clashes); maildir
 * set; mx needs domains unless sink; tls_cert and tls_key pair up, and
 * a listener that uses TLS (submission/submissions, or "starttls") needs
 * them; "tls" only on submissions, which takes no other word; a
 * submission listener is "notls" only with sink.  0 or -1 with *err_out.
 */
int	conf_check(const struct config *c, char **err_out);

/*
 * conf_fmt - the effective configuration as config text, heap-allocated;
 * the caller frees.  Every key in table order, defaults included, each
 * after a "# doc" line; an unset key is a comment "# user (not set)".
 * Sizes and durations are in their largest exact unit (25M, 5m).
 * conf_parse() reads it back to an equal config.
 */
char	*conf_fmt(const struct config *c);

/* conf_role_name - "mx", "submission", "submissions". */
const char *conf_role_name(enum conf_role role);

/*
 * conf_role_by_port - the role of a listener that names none: 587 is
 * submission (RFC 6409), 465 submissions (RFC 8314), any other port mx.
 */
enum conf_role conf_role_by_port(unsigned port);

/*
 * conf_check_role - the one rule for the submission roles: a submission
 * or submissions listener has TLS (has_tls: a certificate it can use)
 * and an AUTH backend (sasl_db or saslauthd; the sink brings its own).
 * where names the listener in the message.  Returns 0, or -1 with
 * *err_out set (heap, the caller frees).  conf_parse applies it to the
 * listen lines; inletd to the sockets systemd passes.
 */
int	conf_check_role(const struct config *c, enum conf_role role,
	    bool has_tls, const char *where, char **err_out);

/*
 * conf_listen_tls - what l does with TLS under c, never AUTO: a
 * submissions listener speaks it from the first byte, a submission one
 * offers STARTTLS, an mx one offers STARTTLS when c has a certificate;
 * a word on the listen line says otherwise (conf_check vets it).
 */
enum conf_ltls conf_listen_tls(const struct config *c,
	    const struct conf_listen *l);

/* conf_ltls_name - "notls", "starttls", "tls"; "" for AUTO. */
const char *conf_ltls_name(enum conf_ltls tls);

/*
 * conf_is_local_domain - whether domain (any case, U-labels or A-labels)
 * is in domains; an exact match, so a subdomain is not local.  NULL is
 * not.
 */
bool	conf_is_local_domain(const struct config *c, const char *domain);

/* A relay_host URL, parsed. */
struct conf_relay_url {
	bool		 implicit_tls;	/* smtps:// (else smtp:// + STARTTLS) */
	char		 host[256];	/* name or IP address, no brackets */
	unsigned	 port;		/* 465 and 587 by default */
};

/*
 * conf_relay_url_parse - "smtps://HOST[:PORT]" or "smtp://HOST[:PORT]"
 * (an IPv6 address in brackets) into *out.  0, or -1 with *why_out.
 */
int	conf_relay_url_parse(const char *s, struct conf_relay_url *out,
	    const char **why_out);

/*
 * conf_parse_size - "10485760", "10M", "512K", "1G" into octets: digits
 * and an optional K, M or G (either case; powers of 1024).
 * conf_parse_duration - "300", "300s", "5m", "1h", "5d" into seconds.
 * Both return 0 or -1 on bad syntax or overflow; no sign, no spaces.
 */
int	conf_parse_size(const char *s, uint64_t *out);
int	conf_parse_duration(const char *s, unsigned *out);

#endif
