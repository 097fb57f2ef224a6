/* SPDX-License-Identifier: ISC */
/*
 * log - one line per event, key=value, to stderr or syslog (LOG_MAIL).
 *
 * The one place in the core that emits anything; it owns no protocol
 * state.  Every event goes through log_event(), whose values all pass
 * one escaping function (log_clean); AUTH payloads are never logged.
 */
#ifndef INLET_LOG_H
#define INLET_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERR,
};

/*
 * log_open - choose the sink: stderr when to_stderr, syslog(LOG_MAIL)
 * otherwise.  Messages below min are dropped.  May be called again.
 */
void	log_open(const char *ident, bool to_stderr, enum log_level min);

/*
 * Events.  Every line about something that happened is one call:
 *
 *	log_event(LOG_LEVEL_INFO, s->id, "event=helo",
 *	    LOG_Q("helo", s->helo), LOG_TOK("esmtp", "yes"));
 *
 * logs	session=0123456789abcdef event=helo helo="mx.example" esmtp=yes
 *
 * The rule: there is no format string.  The only text that reaches the
 * line unescaped is string literals (the event name and the keys, which
 * the macros insist on); every value passes log_clean(), the one
 * escaping function, at one choke point (log_event_fmt).  So:
 *
 *   LOG_Q(key, s)      Text: anything a client sent (HELO name, AUTH user,
 *                      SNI, reply text, ...) and any other free text.
 *                      Always quoted: key="..." with '"' and '\\'
 *                      backslash-escaped, control bytes, C1 controls and
 *                      bytes that are not UTF-8 as \xHH; other UTF-8 kept.
 *   LOG_QN(key, p, n)  The same for n bytes (NULs included).
 *   LOG_ADDR(key, s)   A mailbox, Postfix-style in angle brackets and
 *                      quoted like text: from="<a@example.org>", from="<>".
 *   LOG_TOK(key, s)    Our own word (a mechanism, a state, a queue id,
 *                      the client's IP address).  Bare when it is a plain
 *                      token (printable ASCII but '"', '\\', '=', space);
 *                      anything else is quoted as LOG_Q would.
 *   LOG_U, LOG_I       Numbers; LOG_SECS(key, n) prints "<n>s".
 *   LOG_NONE           Nothing (for a field that only sometimes applies:
 *                      cond ? LOG_Q(...) : LOG_NONE).
 *
 * session is the 16-hex-digit session id; NULL (outside a session) logs
 * session=-.  A value is cut after LOG_VALUE_MAX bytes (at a character
 * boundary, "..." inside the quotes); a field that no longer fits in the
 * line is left out whole and the line ends in truncated=yes.  Key and
 * event names are [a-z0-9_-]; anything else is a bug and fatal.
 */
#define LOG_VALUE_MAX	1024
#define LOG_LINE_MAX	8192

enum log_type {
	LOG_T_END,
	LOG_T_NONE,
	LOG_T_TEXT,
	LOG_T_ADDR,
	LOG_T_TOKEN,
	LOG_T_UINT,
	LOG_T_INT,
	LOG_T_SECS,
};

struct log_field {
	const char		*key;
	enum log_type		 type;
	const char		*str;	/* TEXT, ADDR, TOKEN; NULL is "" */
	size_t			 len;	/* TEXT: SIZE_MAX for up to the NUL */
	unsigned long long	 u;	/* UINT */
	long long		 i;	/* INT, SECS */
};

#define LOG_FIELD_(k, t, ...)						\
	((struct log_field){ .key = "" k, .type = (t), __VA_ARGS__ })
#define LOG_Q(k, s)	LOG_FIELD_(k, LOG_T_TEXT, .str = (s), .len = SIZE_MAX)
#define LOG_QN(k, p, n)	LOG_FIELD_(k, LOG_T_TEXT, .str = (p), .len = (n))
#define LOG_ADDR(k, s)	LOG_FIELD_(k, LOG_T_ADDR, .str = (s))
#define LOG_TOK(k, s)	LOG_FIELD_(k, LOG_T_TOKEN, .str = (s))
#define LOG_U(k, n)	LOG_FIELD_(k, LOG_T_UINT, .u = (n))
#define LOG_I(k, n)	LOG_FIELD_(k, LOG_T_INT, .i = (n))
#define LOG_SECS(k, n)	LOG_FIELD_(k, LOG_T_SECS, .i = (n))
#define LOG_NONE	((struct log_field){ .key = "", .type = LOG_T_NONE })

/* log_event - one event line (see above); fields end with the macro. */
#define log_event(level, session, event, ...)				\
	log_event_fields((level), (session), "" event,			\
	    (const struct log_field[]){ __VA_ARGS__,			\
	    (struct log_field){ .key = NULL, .type = LOG_T_END } })

void	log_event_fields(enum log_level level, const char *session,
	    const char *event, const struct log_field *fields);

/*
 * log_event_fmt - the line log_event() emits, without the time stamp,
 * into dst (size dstlen >= 64, always NUL-terminated).  Pure; returns
 * the length.  fields ends with a LOG_T_END entry.
 */
size_t	log_event_fmt(char *dst, size_t dstlen, const char *session,
	    const char *event, const struct log_field *fields);

/*
 * log_fatal - log at error level and exit(1).  For broken invariants and
 * start-up failures; never with client text (that goes in an event).
 */
_Noreturn void log_fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* log_enabled - whether a message at this level would be emitted. */
bool	log_enabled(enum log_level level);

/*
 * log_clean - the one escaping function: copy at most n bytes of text
 * into dst (size dstlen, always NUL-terminated) so that it is safe
 * between double quotes in a log line: '"' and '\\' become \" and \\,
 * bytes below 0x20, 0x7f, the C1 controls U+0080-U+009F and every byte
 * that is not part of well-formed UTF-8 (RFC 3629) become \xHH; other
 * printable ASCII and UTF-8 characters are kept.  Truncates at a
 * character boundary with "..." when it does not fit.  Returns dst.
 */
char	*log_clean(char *dst, size_t dstlen, const char *src, size_t n);

/*
 * LOG_TIME_LEN - room for log_time_fmt's text and its NUL.
 * log_time_fmt - t as UTC "2026-01-01T00:00:00Z" (RFC 3339) into dst,
 * the one timestamp of logs, the sink's line and envelopes; "" if t
 * cannot be converted.  Returns dst.
 */
#define LOG_TIME_LEN	32
char	*log_time_fmt(time_t t, char *dst, size_t dstlen);

#endif
