/* SPDX-License-Identifier: ISC */
/*
 * chaos - the sink's fault injection rules (chaos.h): parsing, the glob
 * match on addresses, the deterministic rate, the text form.  Core: pure,
 * no I/O; every size bounded (CHAOS_RULES_MAX rules of bounded words).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos.h"
#include "log.h"
#include "xalloc.h"

#define CHAOS_RULE_MAX	(CHAOS_PATTERN_MAX + CHAOS_TEXT_MAX + 64)

struct chaos_rule {
	enum chaos_stage stage;
	char		*pattern;
	unsigned	 rate;		/* 0..100 */
	struct chaos_action action;	/* its text is text */
	char		*text;
	int		 trigger;	/* chaos_trigger + 1 for Mailpit's, 0 */
	unsigned long	 attempts;	/* matches so far */
};

struct chaos {
	unsigned	 refs;
	struct chaos_rule rules[CHAOS_RULES_MAX];
	size_t		 nrules;
};

static const char *const chaos_stage_names[] = {
	[CHAOS_MAIL] = "mail",
	[CHAOS_RCPT] = "rcpt",
	[CHAOS_DATA] = "data",
	[CHAOS_AUTH] = "auth",
};

struct chaos *
chaos_new(void)
{
	struct chaos *c = xcalloc(1, sizeof(*c));

	c->refs = 1;
	return c;
}

struct chaos *
chaos_ref(struct chaos *c)
{
	if (c != NULL)
		c->refs++;
	return c;
}

/* chaos_rule_clear - free what one rule holds. */
static void
chaos_rule_clear(struct chaos_rule *r)
{
	free(r->pattern);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

void
chaos_unref(struct chaos **cp)
{
	struct chaos *c = *cp;
	size_t i;

	*cp = NULL;
	if (c == NULL || --c->refs > 0)
		return;
	for (i = 0; i < c->nrules; i++)
		chaos_rule_clear(&c->rules[i]);
	free(c);
}

size_t
chaos_count(const struct chaos *c)
{
	return c->nrules;
}

/* ---- parsing -------------------------------------------------------- */

/* chaos_lower - ASCII lower case, whatever the locale. */
static char
chaos_lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* chaos_word - the next space-separated word of *sp into w (at most
 * wlen - 1 octets); false at the end or when it does not fit. */
static bool
chaos_word(const char **sp, char *w, size_t wlen)
{
	const char *s = *sp;
	size_t n;

	s += strspn(s, " \t");
	n = strcspn(s, " \t");
	if (n == 0 || n >= wlen)
		return false;
	memcpy(w, s, n);
	w[n] = '\0';
	*sp = s + n;
	return true;
}

/* chaos_uint - all digits, at most max: 0 or -1. */
static int
chaos_uint(const char *s, unsigned max, unsigned *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++)
		if ((v = v * 10 + (unsigned long)(*s - '0')) > max)
			return -1;
	if (*s != '\0')
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* chaos_duration - N ms / N s / N m into milliseconds, 1..max. */
static int
chaos_duration(const char *s, unsigned *ms_out)
{
	char num[16];
	size_t n = strspn(s, "0123456789");
	unsigned v, mult;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	if (strcmp(s + n, "ms") == 0)
		mult = 1;
	else if (strcmp(s + n, "s") == 0)
		mult = 1000;
	else if (strcmp(s + n, "m") == 0)
		mult = 60000;
	else
		return -1;
	if (chaos_uint(num, CHAOS_DELAY_MAX_MS, &v) == -1 || v == 0 ||
	    v > CHAOS_DELAY_MAX_MS / mult)
		return -1;
	*ms_out = v * mult;
	return 0;
}

/* chaos_text_ok - printable ASCII (the reply goes on the wire as is). */
static bool
chaos_text_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < ' ' || *s > '~')
			return false;
	return true;
}

/* chaos_pattern_ok - a pattern: printable, no space, bounded. */
static bool
chaos_pattern_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= CHAOS_PATTERN_MAX && chaos_text_ok(s) &&
	    strchr(s, ' ') == NULL;
}

/* chaos_parse_action - "reply CODE [text]", "delay D" or "disconnect"
 * from s into a; NULL or why not (*text_out heap when set). */
static const char *
chaos_parse_action(const char *s, struct chaos_action *a, char **text_out)
{
	char w[32];
	unsigned code;

	if (!chaos_word(&s, w, sizeof(w)))
		return "missing action (reply CODE [text], delay DURATION "
		    "or disconnect)";
	if (strcmp(w, "disconnect") == 0 || strcmp(w, "delay") == 0) {
		a->kind = w[0] == 'd' && w[1] == 'i' ? CHAOS_DISCONNECT :
		    CHAOS_DELAY;
		if (a->kind == CHAOS_DELAY && (!chaos_word(&s, w, sizeof(w)) ||
		    chaos_duration(w, &a->delay_ms) == -1))
			return "bad delay (1ms to 5m: a number and ms, s or m)";
		s += strspn(s, " \t");
		return *s == '\0' ? NULL : "extra words after the action";
	}
	if (strcmp(w, "reply") != 0)
		return "unknown action (reply, delay or disconnect)";
	if (!chaos_word(&s, w, sizeof(w)) || chaos_uint(w, 999, &code) == -1 ||
	    smtp_reply_chaos(code, &a->reply) == -1)
		return "bad reply code (one of 421 450 451 452 454 535 550 "
		    "552 553 554)";
	a->kind = CHAOS_REPLY;
	a->code = code;
	s += strspn(s, " \t");
	if (strlen(s) > CHAOS_TEXT_MAX || !chaos_text_ok(s))
		return "bad reply text (printable ASCII, at most 200 octets)";
	a->text = *text_out = *s != '\0' ? xstrdup(s) : NULL;
	return NULL;
}

/* chaos_parse - rule text into r; NULL or why not (r then cleared). */
static const char *
chaos_parse(const char *s, struct chaos_rule *r)
{
	char w[CHAOS_PATTERN_MAX + 2];
	const char *why, *save;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->rate = 100;
	if (strlen(s) > CHAOS_RULE_MAX)
		return "rule too long";
	if (!chaos_word(&s, w, sizeof(w)))
		return "missing stage (mail, rcpt, data or auth)";
	for (i = 0; i < sizeof(chaos_stage_names) / sizeof(*chaos_stage_names);
	    i++)
		if (strcmp(w, chaos_stage_names[i]) == 0)
			break;
	if (i == sizeof(chaos_stage_names) / sizeof(*chaos_stage_names))
		return "unknown stage (mail, rcpt, data or auth)";
	r->stage = (enum chaos_stage)i;
	if (!chaos_word(&s, w, sizeof(w)) || !chaos_pattern_ok(w))
		return "missing or bad address pattern";
	r->pattern = xstrdup(w);
	save = s;
	if (chaos_word(&s, w, sizeof(w)) && w[0] >= '0' && w[0] <= '9' &&
	    w[strlen(w) - 1] == '%') {
		w[strlen(w) - 1] = '\0';
		if (chaos_uint(w, 100, &r->rate) == -1) {
			chaos_rule_clear(r);
			return "bad rate (0% to 100%)";
		}
	} else {
		s = save;
	}
	if ((why = chaos_parse_action(s, &r->action, &r->text)) != NULL)
		chaos_rule_clear(r);
	return why;
}

int
chaos_add(struct chaos *c, const char *rule, const char **err_out)
{
	struct chaos_rule r;

	if (c->nrules == CHAOS_RULES_MAX) {
		*err_out = "too many rules";
		return -1;
	}
	if ((*err_out = chaos_parse(rule, &r)) != NULL)
		return -1;
	c->rules[c->nrules++] = r;
	return 0;
}

const char *
chaos_check_rule(const char *rule)
{
	struct chaos_rule r;
	const char *why = chaos_parse(rule, &r);

	if (why == NULL)
		chaos_rule_clear(&r);
	return why;
}

/* chaos_trigger_stage - the stage Mailpit's trigger stands for. */
static enum chaos_stage
chaos_trigger_stage(enum chaos_trigger t)
{
	switch (t) {
	case CHAOS_TRIGGER_SENDER:
		return CHAOS_MAIL;
	case CHAOS_TRIGGER_RECIPIENT:
		return CHAOS_RCPT;
	case CHAOS_TRIGGER_AUTH:
		return CHAOS_AUTH;
	}
	return CHAOS_MAIL;
}

int
chaos_add_mailpit(struct chaos *c, enum chaos_trigger t, int error_code,
    int probability, const char **err_out)
{
	char rule[64];
	size_t i;

	if (error_code < 400 || error_code > 599) {
		*err_out = "ErrorCode must be 400 to 599";
		return -1;
	}
	if (probability < 0 || probability > 100) {
		*err_out = "Probability must be 0 to 100";
		return -1;
	}
	(void)snprintf(rule, sizeof(rule), "%s * %d%% reply %d",
	    chaos_stage_names[chaos_trigger_stage(t)], probability, error_code);
	for (i = 0; i < c->nrules && c->rules[i].trigger != (int)t + 1; i++)
		continue;
	if (i < c->nrules) {		/* the trigger's rule, replaced */
		struct chaos_rule r;

		if ((*err_out = chaos_parse(rule, &r)) != NULL)
			return -1;
		chaos_rule_clear(&c->rules[i]);
		c->rules[i] = r;
	} else if (chaos_add(c, rule, err_out) == -1) {
		return -1;
	}
	c->rules[i].trigger = (int)t + 1;
	return 0;
}

bool
chaos_mailpit(const struct chaos *c, enum chaos_trigger t,
    int *error_code_out, int *probability_out)
{
	size_t i;

	for (i = 0; i < c->nrules; i++)
		if (c->rules[i].trigger == (int)t + 1) {
			*error_code_out = (int)c->rules[i].action.code;
			*probability_out = (int)c->rules[i].rate;
			return true;
		}
	*error_code_out = 0;
	*probability_out = 0;
	return false;
}

/* ---- matching ------------------------------------------------------- */

/*
 * chaos_glob - whether s matches pattern p: '*' any run of octets, '?'
 * one, anything else itself with ASCII case ignored.  The classic
 * backtracking to the last '*': linear in practice, at worst
 * |p| * |s|, both bounded.
 */
static bool
chaos_glob(const char *p, const char *s)
{
	const char *star = NULL, *retry = NULL;

	while (*s != '\0') {
		if (*p == '*') {
			star = ++p;
			retry = s;
		} else if (*p != '\0' && (*p == '?' ||
		    chaos_lower(*p) == chaos_lower(*s))) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star;
			s = ++retry;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* chaos_rule_matches - whether r's pattern matches one of addrs ("<>"
 * stands for the null sender, ""). */
static bool
chaos_rule_matches(const struct chaos_rule *r, const char *const *addrs,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (addrs[i][0] == '\0' && strcmp(r->pattern, "<>") == 0)
			return true;
		if (chaos_glob(r->pattern, addrs[i]))
			return true;
	}
	return false;
}

bool
chaos_match(struct chaos *c, enum chaos_stage st, const char *const *addrs,
    size_t n, struct chaos_action *out)
{
	struct chaos_rule *r;
	unsigned long k;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->kind = CHAOS_NONE;
	for (i = 0; c != NULL && i < c->nrules; i++) {
		r = &c->rules[i];
		if (r->stage != st || !chaos_rule_matches(r, addrs, n))
			continue;
		k = r->attempts++ % 100;
		if ((k * r->rate) % 100 < r->rate) {
			*out = r->action;
			return true;
		}
	}
	return false;
}

/* ---- text form ------------------------------------------------------ */

void
chaos_fmt(const struct chaos *c, struct buf *b)
{
	const struct chaos_rule *r;
	size_t i;

	for (i = 0; i < c->nrules; i++) {
		r = &c->rules[i];
		(void)buf_addf(b, "%s %s", chaos_stage_names[r->stage],
		    r->pattern);
		if (r->rate != 100)
			(void)buf_addf(b, " %u%%", r->rate);
		switch (r->action.kind) {
		case CHAOS_REPLY:
			(void)buf_addf(b, " reply %u%s%s\n", r->action.code,
			    r->action.text != NULL ? " " : "",
			    r->action.text != NULL ? r->action.text : "");
			break;
		case CHAOS_DELAY:
			(void)buf_addf(b, " delay %ums\n", r->action.delay_ms);
			break;
		case CHAOS_DISCONNECT:
			(void)buf_adds(b, " disconnect\n");
			break;
		case CHAOS_NONE:
			log_fatal("can't happen: chaos rule without action");
		}
	}
}
