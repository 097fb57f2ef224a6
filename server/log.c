/* SPDX-License-Identifier: ISC */
/*
 * log - one-line events to stderr or syslog (LOG_MAIL).
 * The core's only output channel.  Holds the chosen sink in file-static
 * state set once at start (by main) and read by every module.  Owns the
 * one escaping function (log_clean) that every logged value passes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"
#include "smtp_cmd.h"

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
	static _Thread_local char stamp[LOG_TIME_LEN];
	static _Thread_local time_t last = (time_t)-1;
	time_t now = time(NULL);

	if (now == last)
		return stamp;
	last = now;
	return log_time_fmt(now, stamp, sizeof(stamp));
}

char *
log_time_fmt(time_t t, char *dst, size_t dstlen)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(dst, dstlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		dst[0] = '\0';
	return dst;
}

/* log_emit - write one finished line to the sink. */
static void
log_emit(enum log_level level, const char *line)
{
	if (!log_state.to_stderr) {
		syslog(log_prio(level), "%s", line);
		return;
	}
	(void)fprintf(stderr, "%s %s[%s]: %s\n", log_stamp(), log_state.ident,
	    log_name(level), line);
}

/* log_is_name - an event or key name: [a-z0-9_-]+ */
static bool
log_is_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_' || *s == '-'))
			return false;
	return true;
}

/* log_is_token - printable ASCII but '"', '\\', '=' and space; not "". */
static bool
log_is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s >= 0x7f || *s == '"' || *s == '\\' ||
		    *s == '=')
			return false;
	return true;
}

/*
 * log_value - one field's value as it appears after "key=", into v
 * (size vlen).  Every string goes through log_clean() here.
 */
static void
log_value(const struct log_field *f, char *v, size_t vlen)
{
	const char *str = f->str != NULL ? f->str : "";
	const unsigned char *u = (const unsigned char *)str;
	size_t n = f->type == LOG_T_TEXT && f->len != SIZE_MAX ? f->len :
	    strnlen(str, LOG_VALUE_MAX + 1);
	bool more = n > LOG_VALUE_MAX;
	size_t o;

	switch (f->type) {
	case LOG_T_UINT:
		(void)snprintf(v, vlen, "%llu", f->u);
		return;
	case LOG_T_INT:
	case LOG_T_SECS:
		(void)snprintf(v, vlen, "%lld%s", f->i,
		    f->type == LOG_T_SECS ? "s" : "");
		return;
	case LOG_T_TOKEN:
		if (!more && log_is_token(str)) {
			(void)snprintf(v, vlen, "%s", str);
			return;
		}
		break;
	case LOG_T_TEXT:
	case LOG_T_ADDR:
		break;
	case LOG_T_END:
	case LOG_T_NONE:
		log_fatal("can't happen: log field type %d", (int)f->type);
	}
	if (more) {		/* cut before a character, not inside one */
		n = LOG_VALUE_MAX;
		while (n > LOG_VALUE_MAX - 3 && (u[n] & 0xc0) == 0x80)
			n--;
	}
	o = f->type == LOG_T_ADDR ? 2 : 1;
	memcpy(v, f->type == LOG_T_ADDR ? "\"<" : "\"", o);
	(void)log_clean(v + o, vlen - o - 8, str, n);	/* room for all */
	o += strlen(v + o);
	(void)snprintf(v + o, vlen - o, "%s%s", more ? "..." : "",
	    f->type == LOG_T_ADDR ? ">\"" : "\"");
}

size_t
log_event_fmt(char *dst, size_t dstlen, const char *session,
    const char *event, const struct log_field *fields)
{
	static const char more[] = " truncated=yes";
	char v[LOG_VALUE_MAX * 4 + 32];
	const struct log_field *f;
	size_t o, klen, vl;
	bool cut = false;

	if (strncmp(event, "event=", 6) != 0 || !log_is_name(event + 6))
		log_fatal("can't happen: log event name \"%s\"", event);
	if (session == NULL || !log_is_token(session) || strlen(session) > 32)
		session = "-";
	o = (size_t)snprintf(dst, dstlen, "session=%s %s", session, event);
	for (f = fields; f->type != LOG_T_END; f++) {
		if (f->type == LOG_T_NONE)
			continue;
		if (!log_is_name(f->key))
			log_fatal("can't happen: log key \"%s\"", f->key);
		log_value(f, v, sizeof(v));
		klen = strlen(f->key);
		vl = strlen(v);
		if (o + 1 + klen + 1 + vl + sizeof(more) > dstlen) {
			cut = true;	/* never half a field */
			continue;
		}
		dst[o++] = ' ';
		memcpy(dst + o, f->key, klen);
		o += klen;
		dst[o++] = '=';
		memcpy(dst + o, v, vl + 1);
		o += vl;
	}
	if (cut) {
		memcpy(dst + o, more, sizeof(more));
		o += sizeof(more) - 1;
	}
	return o;
}

void
log_event_fields(enum log_level level, const char *session,
    const char *event, const struct log_field *fields)
{
	char line[LOG_LINE_MAX];

	if (!log_enabled(level))
		return;
	(void)log_event_fmt(line, sizeof(line), session, event, fields);
	log_emit(level, line);
}

void
log_fatal(const char *fmt, ...)
{
	char msg[LOG_LINE_MAX / 4];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_event_fields(LOG_LEVEL_ERR, NULL, "event=fatal",
	    (const struct log_field[]){ LOG_Q("message", msg),
	    (struct log_field){ .key = NULL, .type = LOG_T_END } });
	exit(1);
}

/*
 * log_char - the length of the character at s (n > 0 bytes left) that
 * log_clean keeps as it is, or 0 when the byte at s is escaped.
 */
static size_t
log_char(const unsigned char *s, size_t n)
{
	if (s[0] >= 0x20 && s[0] < 0x7f)
		return s[0] == '"' || s[0] == '\\' ? 0 : 1;
	if (s[0] < 0x80)
		return 0;	/* controls, DEL */
	if (s[0] == 0xc2 && n > 1 && s[1] < 0xa0)
		return 0;	/* C1 controls */
	return smtp_utf8_seq(s, n);
}

char *
log_clean(char *dst, size_t dstlen, const char *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)src;
	size_t o = 0, i = 0, k, need;

	if (dstlen == 0)
		return dst;
	while (i < n) {
		k = log_char(u + i, n - i);
		need = k > 0 ? k : (u[i] == '"' || u[i] == '\\') ? 2 : 4;
		if (o + need + 4 > dstlen) {
			if (dstlen >= 4) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (k > 0) {
			memcpy(dst + o, src + i, k);
			o += k;
			i += k;
			continue;
		}
		dst[o++] = '\\';
		if (need == 2) {
			dst[o++] = (char)u[i++];
			continue;
		}
		dst[o++] = 'x';
		dst[o++] = hex[u[i] >> 4];
		dst[o++] = hex[u[i++] & 15];
	}
	dst[o] = '\0';
	return dst;
}
