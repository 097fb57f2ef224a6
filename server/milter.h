/* SPDX-License-Identifier: ISC */
/*
 * milter - the content filters of one SMTP session: one connection per
 * configured milter (the "milter" lines whose roles include the
 * session's), opened when the session starts, on libevent, with the
 * milter_*_timeout deadlines and milter_default_action when a filter is
 * down, slow or broken.  Edge module: sockets and timers.  The packets
 * are milter_proto's; what the session makes of a verdict is session's.
 * Every answer comes back through the done callback on a later loop
 * turn, never from inside a milter_* call.
 */
#ifndef INLET_MILTER_H
#define INLET_MILTER_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

#include "buf.h"
#include "conf.h"
#include "milter_proto.h"
#include "session.h"

struct milter_set;

/* What the filters are told about the connection (copied). */
struct milter_client {
	const char	*session_id;
	const char	*addr;		/* numeric */
	unsigned	 port;
	enum conf_role	 role;
};

/* An envelope edit, in the order the filters asked. */
struct milter_env_edit {
	char		 kind;		/* '+' (and '2'), '-', 'e' */
	char		*addr;		/* as the filter gave it */
};

/* What the end-of-message stage left to apply before the commit. */
struct milter_result {
	struct milter_edit	*hdr_edits;	/* in order */
	size_t			 nhdr_edits;
	bool			 leadspc;	/* values as given */
	bool			 body_replaced;
	struct buf		 body;		/* the new body (CR LF) */
	struct milter_env_edit	*env_edits;
	size_t			 nenv_edits;
	char			*quarantine;	/* the reason, or NULL */
	char			**own;		/* the edits' strings */
	size_t			 nown;
};

typedef void (*milter_done_fn)(void *arg,
	    const struct session_filter_verdict *v);

/*
 * milter_set_new - the filters of a session with cl's role, connecting
 * now; NULL when no milter line applies.  done is called with each
 * stage's verdict (see milter_stage).
 */
struct milter_set *milter_set_new(struct event_base *base,
	    const struct config *cfg, const struct milter_client *cl,
	    milter_done_fn done, void *arg);

/* milter_set_free - quit every filter (Q) and free; NULL-safe. */
void	milter_set_free(struct milter_set **setp);

/*
 * milter_stage - run a stage through the filters in order (as ops->filter
 * does): true when the verdict will come through done, false when the
 * session may go on at once (no filter waits here).  ABORT sends A to
 * the filters that saw the transaction and never waits.  For EOM, msg
 * (LF line ends, borrowed until done) is the message as spooled and
 * queue_id its id.
 */
bool	milter_stage(struct milter_set *set, enum session_filter_stage stage,
	    const struct session_filter_args *args, const char *queue_id,
	    const char *msg, size_t len);

/* milter_result - after an EOM verdict: the edits to apply. */
const struct milter_result *milter_result(const struct milter_set *set);

#endif
