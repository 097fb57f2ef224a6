/* SPDX-License-Identifier: ISC */
/*
 * log - one line per event, key=value, to stderr or syslog (LOG_MAIL).
 *
 * The one place in the core that emits anything; it owns no protocol
 * state.  Client-supplied text must pass through log_clean() before it
 * is logged, and AUTH payloads are never logged at all.
 */
#ifndef INLET_LOG_H
#define INLET_LOG_H

#include <stdbool.h>
#include <stddef.h>

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

/* log_msg - log one line (no trailing newline needed). */
void	log_msg(enum log_level level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#define log_debug(...)	log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_err(...)	log_msg(LOG_LEVEL_ERR, __VA_ARGS__)

/* log_fatal - log at error level and exit(1).  For broken invariants. */
_Noreturn void log_fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* log_enabled - whether a message at this level would be emitted. */
bool	log_enabled(enum log_level level);

/*
 * log_clean - copy at most n bytes of client text into dst (size dstlen,
 * always NUL-terminated), escaping everything but printable ASCII other
 * than '"' and '\\' as \xHH, so the result is safe inside a quoted log
 * value.  Truncates with "..." when it does not fit.  Returns dst.
 */
char	*log_clean(char *dst, size_t dstlen, const char *src, size_t n);

#endif
