/* SPDX-License-Identifier: ISC */
/*
 * chaos - the sink's deterministic fault injection: rules keyed on the
 * envelope that make MAIL, RCPT, the end of DATA or AUTH answer with a
 * chosen reply, wait, or drop the connection, so that an application's
 * error paths can be tested.  A rule set is built from sink_chaos lines
 * (inlet.conf(5)) or from Mailpit's chaos triggers, and shared by
 * reference count between main (the live set) and the transactions
 * that use it.  Core module: pure, no I/O, no clock; loop thread only
 * (the counts are not atomic).
 *
 *   rule     = stage SP pattern [SP rate] SP action
 *   stage    = "mail" / "rcpt" / "data" / "auth"
 *   pattern  = a glob on the address: "*" any run, "?" one octet, ASCII
 *              case ignored; "<>" is the null sender
 *   rate     = 1*3DIGIT "%"   ; 0..100: fire on that many of every 100
 *   action   = "reply" SP code [SP text] / "delay" SP duration /
 *              "disconnect"
 *   duration = 1*DIGIT ("ms" / "s" / "m")   ; at most CHAOS_DELAY_MAX_MS
 */
#ifndef INLET_CHAOS_H
#define INLET_CHAOS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "smtp_reply.h"

#define CHAOS_RULES_MAX		100	/* rules in one set */
#define CHAOS_TEXT_MAX		200	/* octets of a reply text */
#define CHAOS_PATTERN_MAX	255	/* octets of a pattern */
#define CHAOS_DELAY_MAX_MS	300000	/* five minutes */

/* Where a rule applies, and what it is matched against. */
enum chaos_stage {
	CHAOS_MAIL,	/* MAIL FROM: the sender ("" for <>) */
	CHAOS_RCPT,	/* RCPT TO: the recipient */
	CHAOS_DATA,	/* the end of DATA or BDAT: any recipient */
	CHAOS_AUTH,	/* a successful AUTH: the login name */
};

/* Mailpit's chaos triggers (its API: Sender, Recipient, Authentication). */
enum chaos_trigger {
	CHAOS_TRIGGER_SENDER,		/* = stage mail */
	CHAOS_TRIGGER_RECIPIENT,	/* = stage rcpt */
	CHAOS_TRIGGER_AUTH,		/* = stage auth */
};

enum chaos_kind {
	CHAOS_NONE,		/* no rule fired */
	CHAOS_REPLY,		/* answer with reply (text may be NULL) */
	CHAOS_DELAY,		/* answer as usual, delay_ms later */
	CHAOS_DISCONNECT,	/* close the connection without a reply */
};

/* What a fired rule asks for; text points into the set (hold a ref). */
struct chaos_action {
	enum chaos_kind	 kind;
	enum smtp_reply_id reply;
	unsigned	 code;
	const char	*text;
	unsigned	 delay_ms;
};

struct chaos;

/* chaos_new - an empty set holding one reference.  Dies on OOM. */
struct chaos *chaos_new(void);

/*
 * chaos_add - append a rule in its text form (above; words separated by
 * spaces).  Returns 0, or -1 with *err_out a static message and the set
 * unchanged.  The reply code must be one a sink_chaos reply row exists
 * for (smtp_reply_chaos(): 421 450 451 452 454 535 550 552 553 554);
 * text is printable ASCII, at most CHAOS_TEXT_MAX octets.
 */
int	chaos_add(struct chaos *c, const char *rule, const char **err_out);

/* chaos_check_rule - whether rule parses: NULL, or why not. */
const char *chaos_check_rule(const char *rule);

/*
 * chaos_add_mailpit - Mailpit's trigger t with error_code (400-599, one
 * with a reply row) and probability (0-100): the rule "STAGE * P% reply
 * CODE", fired deterministically on P of every 100 attempts (below).
 * Replaces the trigger's earlier rule, if any.  0 or -1 as chaos_add().
 */
int	chaos_add_mailpit(struct chaos *c, enum chaos_trigger t,
	    int error_code, int probability, const char **err_out);

/*
 * chaos_mailpit - the rule chaos_add_mailpit() made for t: true with its
 * code and probability, or false (none: Mailpit shows 0 and 0).
 */
bool	chaos_mailpit(const struct chaos *c, enum chaos_trigger t,
	    int *error_code_out, int *probability_out);

struct chaos *chaos_ref(struct chaos *c);

/* chaos_unref - drop one reference; the last frees.  NULL-safe, NULLs. */
void	chaos_unref(struct chaos **cp);

/* chaos_count - how many rules the set has. */
size_t	chaos_count(const struct chaos *c);

/*
 * chaos_fmt - the rules in their text form, one a line (each ends in
 * "\n"); what chaos_add() reads back to the same set.
 */
void	chaos_fmt(const struct chaos *c, struct buf *b);

/*
 * chaos_match - the first rule of stage st (in the order added) whose
 * pattern matches one of addrs[0..n) and whose rate fires, into *out;
 * false (out->kind CHAOS_NONE) when none does.  c may be NULL.
 * The rate is deterministic: each rule counts the attempts its pattern
 * matched (from 0), and attempt k fires when (k * rate) mod 100 < rate,
 * which is exactly rate of every 100 consecutive attempts, the first
 * one included (50%: every other attempt, the first failing).
 */
bool	chaos_match(struct chaos *c, enum chaos_stage st,
	    const char *const *addrs, size_t n, struct chaos_action *out);

#endif
