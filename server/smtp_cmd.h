/* SPDX-License-Identifier: ISC */
/*
 * smtp_cmd - one command line into a verb, its paths and parameters.
 *
 * Syntax only (RFC 5321 §4.1.1, §4.1.2 ABNF; RFC 1870 SIZE; RFC 6152
 * BODY; RFC 3030 BDAT and BINARYMIME; RFC 6531 SMTPUTF8; RFC 4954 AUTH=).
 * No policy, no state, no I/O: whether a command may run now, and whether
 * a recipient is acceptable, is the session's business.
 */
#ifndef INLET_SMTP_CMD_H
#define INLET_SMTP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum smtp_verb {
	SMTP_VERB_UNKNOWN,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	SMTP_VERB_HTTP,		/* GET/POST/HEAD/PUT/CONNECT...: not SMTP */
};

#define SMTP_CMD_VERB_MAX	16

struct smtp_cmd {
	enum smtp_verb	 verb;
	char		 name[SMTP_CMD_VERB_MAX];	/* as sent, upper-cased */
	const char	*arg;	/* after the verb and its blanks; "" if none */
	size_t		 arglen;
};

/*
 * smtp_cmd_parse - split "VERB[ blanks args]" (the verb case-insensitive).
 * The verb ends at the first SP or HTAB; a run of them, however long,
 * separates it from the argument, and blanks at the end of the line are
 * dropped (Postfix splits command lines on runs of white space, and
 * clients such as emailjs send "AUTH  CRAM-MD5").  arg points into line
 * at the first octet after those blanks, or is "" when arglen is 0; it
 * is not NUL-terminated.  "MAIL FROM:" and "RCPT TO:" keep their keyword
 * in arg (parse it with smtp_cmd_parse_mail/rcpt).  Never fails: an
 * unknown or malformed verb is SMTP_VERB_UNKNOWN.  An HTTP method counts
 * as SMTP_VERB_HTTP only when a blank follows it.
 */
void	smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd_out);

/* smtp_cmd_verb_name - "MAIL" etc. for a verb (for logs). */
const char *smtp_cmd_verb_name(enum smtp_verb verb);

#define SMTP_LOCAL_MAX		64	/* RFC 5321 §4.5.3.1.1 */
#define SMTP_DOMAIN_MAX		255	/* §4.5.3.1.2 */
#define SMTP_PATH_MAX		256	/* §4.5.3.1.3, brackets included */

enum smtp_cmd_err {
	SMTP_CMD_OK,
	SMTP_CMD_ERR_SYNTAX,		/* "FROM:"/"TO:" missing, garbage */
	SMTP_CMD_ERR_PATH,		/* the address does not parse */
	SMTP_CMD_ERR_PATH_LONG,		/* local part, domain or path too long */
	SMTP_CMD_ERR_UTF8,		/* non-ASCII in a path without SMTPUTF8
					   (ill-formed UTF-8 with it: PATH) */
	SMTP_CMD_ERR_PARAM,		/* malformed ESMTP parameter */
	SMTP_CMD_ERR_PARAM_UNKNOWN,	/* unknown ESMTP parameter */
	SMTP_CMD_ERR_PARAM_VALUE,	/* bad value (SIZE=x, BODY=x, ...) */
	SMTP_CMD_ERR_PARAM_REPEATED,	/* a keyword again, another value */
	SMTP_CMD_ERR_PARAM_TWICE,	/* a once-only keyword (RFC 3461) again */
};

enum smtp_body {
	SMTP_BODY_DEFAULT,	/* no BODY= given (7BIT) */
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
	SMTP_BODY_BINARYMIME,
};

/*
 * An address from a path.  For "<>" null is set and both parts are
 * empty.  For "<postmaster>" (RFC 5321 §4.5.1) the domain is empty.
 * The local part is kept as sent, quotes included; the domain is
 * lower-cased (address literals kept as sent).
 */
struct smtp_addr {
	bool	null;
	bool	utf8;			/* has non-ASCII octets */
	char	local[SMTP_LOCAL_MAX + 1];
	char	domain[SMTP_DOMAIN_MAX + 1];
};

enum smtp_ret {
	SMTP_RET_NONE,		/* no RET= given */
	SMTP_RET_FULL,
	SMTP_RET_HDRS,
};

#define SMTP_ENVID_MAX		100	/* RFC 3461 §4.4: 100 characters */
#define SMTP_ORCPT_MAX		500	/* RFC 3461 §4.2: 500 characters */

struct smtp_mail_args {
	struct smtp_addr from;
	bool		 has_size;
	uint64_t	 size;		/* SIZE= */
	enum smtp_body	 body;		/* BODY= */
	bool		 smtputf8;	/* SMTPUTF8 */
	bool		 has_auth;
	char		 auth[SMTP_PATH_MAX + 1];	/* AUTH= xtext, decoded */
	enum smtp_ret	 ret;		/* RET= (with SMTP_CMD_F_DSN) */
	char		 envid[SMTP_ENVID_MAX + 1];	/* ENVID= xtext as
							   given, or "" */
};

struct smtp_rcpt_args {
	struct smtp_addr to;
	unsigned	 notify;	/* NOTIFY= SMTP_NOTIFY_* bits, or 0 */
	char		 orcpt[SMTP_ORCPT_MAX + 1];	/* ORCPT= as given, or "" */
};

/*
 * Parse flags.  STRICT demands "FROM:<path>" exactly (strict_envelope
 * yes); without it blanks after the colon and a bare address without
 * angle brackets are accepted (what people type by hand), while the
 * address itself is still checked by the RFC 5321 grammar.  Either way
 * blanks (SP or HTAB, any number) are taken before "FROM:"/"TO:", between
 * the path and the parameters, between parameters and at the end.  UTF8
 * allows UTF-8 in the path (RCPT after MAIL ... SMTPUTF8); MAIL looks for
 * its own SMTPUTF8 parameter.  LOCAL (RCPT only; the sink) also takes a
 * path that is a local part alone, "<root>" as cron and mail(1) send it:
 * the domain is then empty.
 */
#define SMTP_CMD_F_STRICT	0x01
#define SMTP_CMD_F_UTF8		0x02
#define SMTP_CMD_F_LOCAL	0x04
#define SMTP_CMD_F_DSN		0x08	/* RFC 3461 parameters known */

/*
 * smtp_cmd_parse_mail - arg of MAIL: "FROM:<reverse-path> [params]".
 * Known parameters: SIZE=n, BODY=7BIT|8BITMIME|BINARYMIME, SMTPUTF8,
 * AUTH=xtext, and under DSN (RFC 3461 §4.3, §4.4) RET=FULL|HDRS and
 * ENVID=xtext (smtp_envid_valid()), values in any case but ENVID's.  A
 * keyword given again with the same value is taken (it changes nothing);
 * with another value it is SMTP_CMD_ERR_PARAM_REPEATED; RET and ENVID
 * again are SMTP_CMD_ERR_PARAM_TWICE whatever the value (RFC 3461 §4.3,
 * §4.4: at most once each).
 * Nothing after "FROM:", a missing "<" under STRICT, or anything but a
 * blank after the path is SMTP_CMD_ERR_SYNTAX.  UTF-8 in parameter values needs
 * SMTPUTF8 too (else SMTP_CMD_ERR_PARAM).  The first error from the left
 * wins, except that the path's UTF-8 is judged before the parameters.
 * On error *out is all zero.
 */
enum smtp_cmd_err smtp_cmd_parse_mail(const char *arg, size_t len,
	    unsigned flags, struct smtp_mail_args *out);

/*
 * smtp_cmd_parse_rcpt - arg of RCPT: "TO:<forward-path> [params]".
 * The null path is SMTP_CMD_ERR_PATH here.  "<postmaster>" in any case
 * (and, without STRICT, a bare "postmaster") gives local "postmaster"
 * and an empty domain; so does "<root>" for "root" under LOCAL.  Under
 * DSN the parameters NOTIFY= (smtp_notify_parse()) and ORCPT=
 * (smtp_orcpt_valid()) are known, each at most once (again is
 * SMTP_CMD_ERR_PARAM_TWICE; RFC 3461 §4.1, §4.2); otherwise none:
 * a well-formed unknown one is SMTP_CMD_ERR_PARAM_UNKNOWN, a malformed
 * one SMTP_CMD_ERR_PARAM, a bad value SMTP_CMD_ERR_PARAM_VALUE.
 * Source routes ("<@a,@b:u@d>") are accepted and ignored (§4.1.1.3).
 * Other errors as smtp_cmd_parse_mail; on error *out is all zero.
 */
enum smtp_cmd_err smtp_cmd_parse_rcpt(const char *arg, size_t len,
	    unsigned flags, struct smtp_rcpt_args *out);

/*
 * smtp_cmd_parse_bdat - arg of BDAT: "chunk-size [LAST]", at most 19
 * digits, LAST in any case, blanks before, between and after tolerated.
 * Returns SMTP_CMD_OK or SMTP_CMD_ERR_SYNTAX (then *size_out is 0 and
 * *last_out false).
 */
enum smtp_cmd_err smtp_cmd_parse_bdat(const char *arg, size_t len,
	    uint64_t *size_out, bool *last_out);

/*
 * smtp_cmd_parse_helo - the EHLO/HELO argument: a domain or an address
 * literal.  Lenient, like real servers (RFC 5321 §4.1.4 forbids refusing
 * on a failed check): any single word of printable ASCII is accepted,
 * blanks around it ignored.  Returns SMTP_CMD_OK or SMTP_CMD_ERR_SYNTAX
 * (empty, or blanks inside).
 */
enum smtp_cmd_err smtp_cmd_parse_helo(const char *arg, size_t len);

/*
 * smtp_cmd_parse_auth - arg of AUTH: "mechanism [initial-response]".
 * mech_out gets the upper-cased mechanism name (up to 20 chars, RFC 4422
 * §3.1), *ir_out / *irlen_out the initial response (NULL when absent;
 * it points into arg and may be "=").  Blanks (SP or HTAB, any number)
 * before, between and after are tolerated.  Returns SMTP_CMD_OK or
 * SMTP_CMD_ERR_SYNTAX.
 */
enum smtp_cmd_err smtp_cmd_parse_auth(const char *arg, size_t len,
	    char mech_out[21], const char **ir_out, size_t *irlen_out);

/*
 * smtp_addr_fmt - "local@domain", "local" when there is no domain, ""
 * for the null path, into dst (size dstlen).  Returns dst.
 */
char	*smtp_addr_fmt(const struct smtp_addr *a, char *dst, size_t dstlen);

/*
 * smtp_addr_unquote - the local part as the mailbox it names: a
 * Quoted-string without its quotes and quoted-pair backslashes
 * ("a\\ b" is a b), a Dot-string as it is (RFC 5321 §4.1.2), into dst
 * (size dstlen, cut to fit).  The one unquoter: recipient checks, alias
 * lookups and Maildir names all use it.  Returns dst.
 */
char	*smtp_addr_unquote(const char *local, char *dst, size_t dstlen);

/*
 * smtp_addr_is_safe_local - false when the local part could escape a
 * Maildir tree or confuse a file system: it contains '/', a NUL or a
 * control byte, begins with '.', or contains "..", or is empty (it would
 * name the root).  (Quotes and quoted-pair backslashes are taken off
 * before the test.)
 */
bool	smtp_addr_is_safe_local(const struct smtp_addr *a);

/*
 * smtp_utf8_valid - whether s[0..n) is well-formed UTF-8 (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF).
 */
bool	smtp_utf8_valid(const char *s, size_t n);

/* smtp_utf8_seq - the length of the well-formed UTF-8 character (RFC
 * 3629) at s, which has n > 0 octets left; 0 if there is none. */
size_t	smtp_utf8_seq(const unsigned char *s, size_t n);

/*
 * RFC 3461 (DSN) parameter syntax, shared by the RCPT and MAIL parsers
 * and the envelope record (envelope.h).  The NOTIFY bits:
 */
#define SMTP_NOTIFY_SUCCESS	1u
#define SMTP_NOTIFY_FAILURE	2u
#define SMTP_NOTIFY_DELAY	4u
#define SMTP_NOTIFY_NEVER	8u	/* never with another bit */

/*
 * smtp_xtext_valid - whether s[0..n) is xtext (RFC 3461 §4), possibly
 * empty:
 *   xtext   = *( xchar / hexchar )
 *   xchar   = any ASCII CHAR between "!" (33) and "~" (126) inclusive,
 *             except for "+" and "="
 *   hexchar = ASCII "+" immediately followed by two upper case
 *             hexadecimal digits
 */
bool	smtp_xtext_valid(const char *s, size_t n);

/*
 * smtp_notify_parse - a NOTIFY value (RFC 3461 §4.1), case-insensitive,
 * into *out (SMTP_NOTIFY_* bits):
 *   notify-esmtp-value  = "NEVER" / 1#notify-list-element
 *   notify-list-element = "SUCCESS" / "FAILURE" / "DELAY"
 * An element given twice, an empty one, or NEVER with another is an
 * error.  Returns 0, or -1 (*out 0).
 */
int	smtp_notify_parse(const char *s, size_t n, unsigned *out);

/*
 * smtp_orcpt_valid - whether s[0..n) is an ORCPT value of at most
 * SMTP_ORCPT_MAX octets (RFC 3461 §4.2):
 *   original-recipient-address = addr-type ";" xtext
 *   addr-type = atom   (RFC 5322 atext, at least one)
 * The xtext part may not be empty, and what it decodes to must be
 * printable US-ASCII (graphic, SP or HTAB: §4.2).
 */
bool	smtp_orcpt_valid(const char *s, size_t n);

/*
 * smtp_envid_valid - whether s[0..n) is an ENVID value: 1 to
 * SMTP_ENVID_MAX octets of xtext that decodes to printable US-ASCII
 * (RFC 3461 §4.4).
 */
bool	smtp_envid_valid(const char *s, size_t n);

#endif
