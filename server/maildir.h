/* SPDX-License-Identifier: ISC */
/*
 * maildir - durable delivery of one message into one or more Maildirs.
 *
 * Edge module (does file I/O).  A spool handle is opened, written, then
 * ends in exactly one of two calls: maildir_commit() or maildir_abort().
 * Each recipient gets its own stored copy beginning with its own
 * Return-Path: and Delivered-To: lines (so no Bcc leaks between copies).
 * The recipe (cr.yp.to/proto/maildir.html): unique name
 * <sec>.M<usec>P<pid>Q<n>.<host>, O_EXCL create in tmp/, write, fsync,
 * rename into new/ (as <name>,S=<size>), fsync new/.  Nothing is ever
 * overwritten; on any failure every tmp file is removed.
 */
#ifndef INLET_MAILDIR_H
#define INLET_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Files in tmp/ older than this are debris (the Maildir convention). */
#define MAILDIR_TMP_MAX_AGE	(36 * 3600)

struct maildir_spool;

/*
 * maildir_set_group_access - the modes of everything created from now
 * on (Maildirs, tmp/ new/ cur/ env/ and files): 0700/0600, or with yes
 * 0770/0640, so that members of the group may read the files, rename or
 * unlink them and create files (the group_access key).  yes also clears
 * the group bits of the process umask.  Call from the main thread only;
 * a spool keeps the modes it was opened with.
 */
void	maildir_set_group_access(bool yes);

/* maildir_dir_mode, maildir_file_mode - the modes set above, for the
 * relay's own files beside the queue. */
mode_t	maildir_dir_mode(void);
mode_t	maildir_file_mode(void);

struct maildir_rcpt {
	/*
	 * for Delivered-To: (copied); NULL for the sink's one copy of a
	 * whole transaction, which gets Return-Path: alone (its recipients
	 * are in its envelope)
	 */
	const char *addr;
	const char *dir;	/* the Maildir (copied); created on demand */
	/*
	 * NULL for a delivered copy.  Otherwise this text (copied) is
	 * stored durably as dir/env/<name> -- the same name the message
	 * gets in new/ -- before the message enters new/; with addr this
	 * copy is for the queue and gets no Return-Path:/Delivered-To:
	 * lines (the message is still in transit).
	 */
	const char *envelope;
};

/*
 * maildir_create - make sure dir and its tmp/, new/, cur/ exist (mode
 * 0700, parents created as needed); what it creates is made durable
 * (each new directory and its parent fsynced), what exists costs one
 * mkdir() each.  Returns 0 or an errno value.
 */
int	maildir_create(const char *dir);

/*
 * maildir_open - start a delivery.  return_path is the envelope sender
 * ("" for the null path), host the name used in file names (with '/' and
 * ':' escaped as \057 and \072), seq a counter bumped for every file
 * name.  Creates every recipient's Maildir as needed, the first copy's
 * tmp file, and its "Return-Path: <sender>" and "Delivered-To: rcpt"
 * lines.  Returns 0 and *sp_out, or an errno value (nothing left
 * behind; EINVAL for no recipients or an address holding CR or LF).
 * The first copy's Maildir is made (maildir_create) only when its tmp/
 * is missing, and commit makes it again when new/ has gone since, so a
 * Maildir removed while the daemon runs is made anew; the others' are
 * checked with maildir_create here.
 *
 * The Q numbers of all nrcpt copies are taken from *seq here, one per
 * copy, so commit never touches the caller's counter.  A name that
 * exists already is retried with a fresh timestamp, never overwritten.
 * The first copy is opened O_RDWR: commit reads it back to make the
 * others (copy_file_range, or pread/write across filesystems).
 */
int	maildir_open(struct maildir_spool **sp_out, const char *return_path,
	    const struct maildir_rcpt *rcpts, size_t nrcpt, const char *host,
	    unsigned long *seq);

/*
 * maildir_write - append message bytes (LF line endings), buffered.
 * Returns 0 or an errno value; after an error the handle only accepts
 * maildir_abort().
 */
int	maildir_write(struct maildir_spool *sp, const void *data, size_t len);

/*
 * maildir_reader - the message as written so far (buffered bytes flushed
 * first), for a data_hook to read: a new read-only descriptor on the
 * first copy, positioned after its Return-Path:/Delivered-To: lines.
 * The caller closes it.  Returns it, or -1 with errno set.
 */
int	maildir_reader(struct maildir_spool *sp);

/*
 * maildir_prepend - put text (header lines, LF line ends) before the
 * message in every copy: the first copy is written anew in tmp/ (its own
 * lines, text, the message) and the old file removed.  Blocking; runs on
 * a worker thread before maildir_commit().  Returns 0 or an errno value
 * (the handle then only accepts maildir_abort()).
 */
int	maildir_prepend(struct maildir_spool *sp, const char *text, size_t len);

/*
 * maildir_commit - write the other recipients' copies, fsync every file,
 * write the queue copy's envelope, link every copy into new/ (one after
 * the other, nothing slow between them), fsync each new/ once and, for
 * a Maildir that open or commit created, every new directory and the
 * one above it; then remove the tmp/ names.  Only when this returns 0 is
 * the message delivered.  A crash after the first link can leave some
 * copies in new/ without a 0 returned: at least once per recipient,
 * never a partial file.  On failure returns an errno value
 * (ENOSPC and EDQUOT are the "storage full" ones) and nothing is left in
 * tmp/ or new/.  The handle stays valid for maildir_path() and must be
 * freed with maildir_free().  Blocking; safe to call from a worker thread
 * (it touches only its own handle).
 */
int	maildir_commit(struct maildir_spool *sp);

/* maildir_abort - remove every tmp file and free; NULL-safe, NULLs *spp. */
void	maildir_abort(struct maildir_spool **spp);

/*
 * maildir_free - free a committed handle; NULL-safe, NULLs *spp.  Copies
 * delivered into new/ stay; on an uncommitted handle it acts as
 * maildir_abort().
 */
void	maildir_free(struct maildir_spool **spp);

/* maildir_ncopy - how many copies: one per recipient given to open. */
size_t	maildir_ncopy(const struct maildir_spool *sp);

/* maildir_size - octets in the first copy (headers included). */
uint64_t maildir_size(const struct maildir_spool *sp);

/* maildir_body_size - octets given to maildir_write() so far: the size
 * of a queue copy, which has no added lines. */
uint64_t maildir_body_size(const struct maildir_spool *sp);

/*
 * maildir_set_envelope - before commit: the envelope text (copied) of
 * the copies given one at open (the queue's, the sink's), replacing it
 * (envelope facts such as the size are known only at the end of the
 * data).
 */
void	maildir_set_envelope(struct maildir_spool *sp, const char *text);

/*
 * maildir_path - after a successful commit: the path in new/ of copy i
 * (i < nrcpt, in the order of rcpts); NULL before or after a failure.
 */
const char *maildir_path(const struct maildir_spool *sp, size_t i);

/*
 * maildir_clean_tmp - remove regular files older than max_age seconds
 * (by mtime, relative to now) from dir/tmp.  Returns the number removed,
 * or -1 when dir/tmp cannot be read.
 */
int	maildir_clean_tmp(const char *dir, time_t now, time_t max_age);

/*
 * maildir_clean_template - maildir_clean_tmp for every existing Maildir
 * a template can name: %d over the given domains, %u over the entries of
 * the directory it stands in (names beginning with '.' skipped; the path
 * component may hold fixed text around one %u, e.g. "%u.mail").  A
 * template without %d is cleaned once, whatever the domains.  Returns
 * the number of files removed; Maildirs that cannot be read count 0.
 */
int	maildir_clean_template(const char *tmpl, char *const *domains,
	    size_t ndomains, time_t now, time_t max_age);

/*
 * maildir_check - whether this process (by its effective user and
 * groups) can deliver into the existing Maildir dir: tmp/ and new/
 * writable and searchable; with with_env (the queue) env/ too, or dir
 * itself while env/ does not exist yet.  Returns 0 or an errno value
 * (EACCES: made by or for another user).
 */
int	maildir_check(const char *dir, bool with_env);

#endif
