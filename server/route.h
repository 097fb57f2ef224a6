/* SPDX-License-Identifier: ISC */
/*
 * route - the delivery plan: what becomes of each recipient, decided
 * once, at RCPT time.  Refused (with which reply), delivered locally
 * (into which Maildirs, each with which Delivered-To) or queued for
 * relay.  Applies the role's relay rule, the recipients file, the
 * recipient_delimiter, aliases and catch-alls, and the Maildir
 * template.  The plan travels in the transaction; the edge (conn) only
 * carries it out.  Pure: no I/O.
 */
#ifndef INLET_ROUTE_H
#define INLET_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "smtp_cmd.h"
#include "smtp_reply.h"

enum route_kind {
	ROUTE_REFUSE,	/* reply with route.reply */
	ROUTE_LOCAL,	/* one stored copy per route.boxes[] */
	ROUTE_QUEUE,	/* into the queue, for the relay */
};

/* One local mailbox a recipient's mail goes to. */
struct route_box {
	char		*maildir;	/* the Maildir (template expanded) */
	char		*delivered_to;	/* its Delivered-To: address */
};

struct route {
	enum route_kind	 kind;
	enum smtp_reply_id reply;	/* ROUTE_REFUSE: the answer */
	struct route_box *boxes;	/* ROUTE_LOCAL: one or more */
	size_t		 nboxes;
};

/*
 * route_rcpt - the plan for recipient a, into *out (route_reset() it
 * after).  A bare local part (<postmaster>, the sink's <root>) is given
 * the first local domain (the host name without one) in *a.  In order:
 * a local part or domain that cannot become one Maildir path component
 * is refused 553 5.1.3 whatever the role; sink mode takes everything
 * else locally; a local domain's recipient (postmaster always) is
 * looked up, unquoted and without its recipient_delimiter tag, as an
 * alias, then as itself in the recipients file, then through its
 * domain's catch-all alias, else refused 550 5.1.1; another domain is
 * queued for an authenticated client when there is a queue, else
 * refused 550 5.7.1.  A local delivery goes into the Maildir the
 * template names for each final mailbox: Delivered-To: is the address
 * as given (tag kept) for the recipient's own mailbox, or the alias's
 * target.  A template that does not fit is 451 4.3.0.
 */
void	route_rcpt(const struct config *cfg, bool authenticated,
	    struct smtp_addr *a, struct route *out);

/* route_reset - free what a plan holds; it becomes a refusal. */
void	route_reset(struct route *r);

/* One stored copy of a message: a recipient's mailbox, or the queue. */
struct route_copy {
	size_t		 rcpt;	/* the recipient (the queue: the first) */
	size_t		 box;	/* its mailbox (not for the queue) */
	bool		 queue;
};

/*
 * route_copies - the copies the plans r[0..n) ask for, in order: each
 * mailbox of each local recipient, and one copy in the queue for all
 * queued ones, where the first of them stands.  Writes out (room for
 * the count that a call with NULL returns) unless NULL; returns the
 * count.
 */
size_t	route_copies(const struct route *r, size_t n, struct route_copy *out);

#endif
