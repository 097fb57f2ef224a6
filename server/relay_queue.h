/* SPDX-License-Identifier: ISC */
/*
 * relay_queue - inlet-relay's file side of the queue Maildir: the
 * messages in new/, their envelopes in env/ (envelope.h), their
 * per-recipient state in state/ (relay_state.h, written durably: temp
 * file, fsync, rename, fsync of state/), removal of a finished message,
 * and the DSN delivered into the sender's local Maildir (route.h's plan,
 * maildir.h's commit).  Edge: file I/O, no network.
 */
#ifndef INLET_RELAY_QUEUE_H
#define INLET_RELAY_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "envelope.h"
#include "relay_state.h"

#define RELAY_QUEUE_PID	"relay.pid"	/* in the queue directory */

/* One queued message as the relay sees it. */
struct relay_msg {
	char		*name;		/* its file name in new/ */
	struct envelope	 env;
	struct relay_state st;
	time_t		 arrival;
	uint64_t	 size;		/* octets of the stored file */
};

/*
 * relay_queue_list - the names in queue/new (no dot files), sorted (so
 * oldest first).  0 and *names_out (heap array of heap strings, the
 * caller frees with relay_queue_names_free) or an errno value.
 */
int	relay_queue_list(const char *queue, char ***names_out, size_t *n_out);
void	relay_queue_names_free(char **names, size_t n);

/*
 * relay_queue_clean - remove state/ and env/ files whose message is gone
 * from new/ (deleted with -D while it was being sent, a crash between
 * the removals, or inletd's between writing an envelope and linking its
 * message), logged (event=orphan).  Only the agent writes state/, and
 * only between scans, so a state file goes at once; an envelope only
 * once it is an hour old, so that one whose message inletd is still
 * committing is never touched.
 */
void	relay_queue_clean(const char *queue);

/*
 * relay_msg_load - the message name: its envelope and its state (all
 * pending when there is no state file yet).  0, or -1 with *err_out
 * (heap) naming the file.
 */
int	relay_msg_load(const char *queue, const char *name,
	    struct relay_msg *m, char **err_out);

/* relay_msg_clear - free what m holds. */
void	relay_msg_clear(struct relay_msg *m);

/*
 * relay_msg_save - the state, durably: written to state/.NAME.tmp,
 * fsynced, renamed to state/NAME, state/ fsynced.  0 or an errno value
 * (the old state file is untouched then).
 */
int	relay_msg_save(const char *queue, const struct relay_msg *m);

/*
 * relay_msg_read - the stored message's bytes (heap, NUL-terminated),
 * at most max octets.  0 or an errno value (EFBIG over max).
 */
int	relay_msg_read(const char *queue, const char *name, size_t max,
	    char **text_out, size_t *len_out);

/*
 * relay_msg_open - the stored message, open for reading (to stream it).
 * 0 and *fd_out (the caller closes it) or an errno value.
 */
int	relay_msg_open(const char *queue, const char *name, int *fd_out);

/*
 * relay_msg_remove - a finished message leaves: new/NAME first (so a
 * crash leaves no message without its envelope), then env/NAME and
 * state/NAME; new/ fsynced.  0 or an errno value.
 */
int	relay_msg_remove(const char *queue, const char *name);

/*
 * relay_msg_find - the name in new/ of a message given by its name or
 * its queue id (-D).  0 and *name_out (heap), or ENOENT.
 */
int	relay_msg_find(const char *queue, const char *id, char **name_out);

/*
 * relay_dsn_deliver - the failed, unreported recipients of m into one
 * RFC 3464 report to its sender, delivered through the maildir
 * template (route_rcpt, as inletd delivers to a local user) with the
 * null sender; then they are reported (the caller saves the state).
 * Nothing is made for the null sender or against NOTIFY; a sender who
 * is not local gets none (logged).  text is the stored message.  0 or an
 * errno value (the recipients stay unreported, to be tried again).
 */
int	relay_dsn_deliver(const struct config *cfg, struct relay_msg *m,
	    const char *text, size_t len, const char *remote_mta, time_t now,
	    unsigned long *seq);

/*
 * relay_delay_warn - m's delay warning (delay_warning_time), when it is
 * due at now: the deferred recipients whose NOTIFY asks for it, in one
 * RFC 3464 report (Action: delayed, the header) to the sender's Maildir
 * as relay_dsn_deliver does.  At most once: m's state is saved with the
 * warned flag (fsynced) before the report is committed; a report that
 * cannot be committed clears the flag again (the next pass retries).
 * Returns when a warning falls due later (to wake up for it), else -1.
 */
time_t	relay_delay_warn(const struct config *cfg, struct relay_msg *m,
	    time_t now, unsigned long *seq);

/* relay_time_parse - "2026-11-29T07:06:40Z" into *out; 0 or -1. */
int	relay_time_parse(const char *s, time_t *out);

#endif
