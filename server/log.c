/* SPDX-License-Identifier: ISC */
/*
 * log - one-line events to stderr or syslog (LOG_MAIL).
 * The core's only output channel.  Holds the chosen sink in file-static
 * state set once at start (by main) and read by every module.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static struct {
	bool		 to_stderr;
	enum log_level	 min;
	const char	*ident;
} log_state = { true, LOG_LEVEL_INFO, "inletd" };

void
log_open(const char *ident, bool to_stderr, enum log_level min)
{
	log_state.ident = ident;
	log_state.to_stderr = to_stderr;
	log_state.min = min;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

bool
log_enabled(enum log_level level)
{
	return level >= log_state.min;
}

/* log_prio - syslog priority of a level. */
static int
log_prio(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_DEBUG:
		return LOG_DEBUG;
	case LOG_LEVEL_INFO:
		return LOG_INFO;
	case LOG_LEVEL_WARN:
		return LOG_WARNING;
	case LOG_LEVEL_ERR:
		return LOG_ERR;
	}
	return LOG_ERR;
}

/* log_name - level word on stderr lines. */
static const char *
log_name(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_DEBUG:
		return "debug";
	case LOG_LEVEL_INFO:
		return "info";
	case LOG_LEVEL_WARN:
		return "warn";
	case LOG_LEVEL_ERR:
		return "error";
	}
	return "error";
}

/*
 * log_stamp - now as 2026-01-01T00:00:00Z, formatted once a second and
 * kept per thread (the commit workers log too).
 */
static const char *
log_stamp(void)
{
	static _Thread_local char stamp[32];
	static _Thread_local time_t last = (time_t)-1;
	time_t now = time(NULL);
	struct tm tm;

	if (now == last)
		return stamp;
	last = now;
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		stamp[0] = '\0';
	return stamp;
}

/* log_vmsg - format and emit one line. */
static void log_vmsg(enum log_level, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[2048];

	(void)vsnprintf(line, sizeof(line), fmt, ap);
	if (!log_state.to_stderr) {
		syslog(log_prio(level), "%s", line);
		return;
	}
	(void)fprintf(stderr, "%s %s[%s]: %s\n", log_stamp(), log_state.ident,
	    log_name(level), line);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

char *
log_clean(char *dst, size_t dstlen, const char *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	size_t i;

	if (dstlen == 0)
		return dst;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '"' &&
		    c != '\\') ? 1 : 4;

		if (o + need + 4 > dstlen) {
			if (dstlen >= 4) {
				o = o + 4 > dstlen ? dstlen - 4 : o;
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1) {
			dst[o++] = (char)c;
			continue;
		}
		dst[o++] = '\\';
		dst[o++] = 'x';
		dst[o++] = hex[c >> 4];
		dst[o++] = hex[c & 15];
	}
	dst[o] = '\0';
	return dst;
}
