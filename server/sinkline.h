/* SPDX-License-Identifier: ISC */
/*
 * sinkline - the line a sink prints on stdout for each message it
 * queued, for the people watching it.  Edge module (stdout, GMime).
 */
#ifndef INLET_SINKLINE_H
#define INLET_SINKLINE_H

#include "maildir.h"
#include "session.h"

/*
 * sinkline_print - after a successful commit of tx into spool: the time,
 * the envelope, the subject decoded to UTF-8, the size and every file
 * the message became, on one line of stdout, flushed.
 */
void	sinkline_print(const struct session_tx *tx,
	    const struct maildir_spool *spool);

#endif
