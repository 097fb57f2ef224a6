/* SPDX-License-Identifier: ISC */
/*
 * mindex - the index of the sink Maildir the HTTP API serves: built by a
 * scan at start (new/, cur/ and the env/ records), told of each commit
 * (mindex_added), changed by the API (read state as the Maildir S flag,
 * deletes), trimmed by retention (sink_max_messages, sink_max_age, the
 * oldest first, each removal logged).  A message's ID is its Maildir
 * base name (before ":2,").  Edge module (the filesystem); loop thread.
 */
#ifndef INLET_MINDEX_H
#define INLET_MINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "msgview.h"

#define MINDEX_ID_MAX	200	/* bytes of an ID */

struct mindex;

struct mindex_msg {
	char		*id;		/* Maildir base name */
	char		*flags;		/* after ":2," ("" in new/) */
	bool		 in_cur;	/* cur/ID:2,FLAGS, else new/ID */
	bool		 read;		/* S in flags */
	struct timespec	 created;	/* arrival (the file's mtime) */
	uint64_t	 size;		/* octets of the file */
	char		*username;	/* the AUTH login, or NULL */
	char		*return_path;	/* the envelope sender, or NULL */
	struct msgview_sum sum;
};

/* mindex_event_fn - told of each message added ("new") or removed
 * ("delete"; by the API or by retention); m is borrowed for the call. */
typedef void (*mindex_event_fn)(void *arg, const char *type,
	    const struct mindex_msg *m);

/*
 * mindex_new - scan the Maildir dir; keep at most max_messages (0 = no
 * limit) no older than max_age seconds (0 = no limit), checked after
 * each addition and once a minute.
 */
struct mindex *mindex_new(struct event_base *base, const char *dir,
	    unsigned max_messages, unsigned max_age);
void	mindex_free(struct mindex **ip);

/* mindex_set_events - who hears of additions and removals (NULL: no
 * one). */
void	mindex_set_events(struct mindex *ix, mindex_event_fn events,
	    void *arg);

/* mindex_added - a sink commit put path (a file in new/) in place. */
void	mindex_added(struct mindex *ix, const char *path_in_new);

/* mindex_count - messages held (unread_only: those without S). */
size_t	mindex_count(const struct mindex *ix, bool unread_only);

/* mindex_at - the i-th message, newest first (0 = latest); NULL past
 * the end. */
const struct mindex_msg *mindex_at(const struct mindex *ix, size_t i);

/* mindex_find - the message whose ID is id, or NULL. */
const struct mindex_msg *mindex_find(const struct mindex *ix,
	    const char *id);

/* mindex_is_valid_id - [A-Za-z0-9._,=-] (",S=size" is in inletd's
 * names), 1..MINDEX_ID_MAX bytes, not starting with '.': safe in a path. */
bool	mindex_is_valid_id(const char *id);

/* mindex_path - the file of m now, into out. */
void	mindex_path(const struct mindex *ix, const struct mindex_msg *m,
	    char *out, size_t outlen);

/* mindex_set_read - the S flag of m on (rename into cur/) or off; 0 or
 * -1 (errno). */
int	mindex_set_read(struct mindex *ix, const char *id, bool read);

/* mindex_delete - unlink the message id and its env/ record; 0 or -1
 * (errno, ENOENT: no such ID).  reason goes to the log. */
int	mindex_delete(struct mindex *ix, const char *id, const char *reason);

#endif
