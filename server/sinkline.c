/* SPDX-License-Identifier: ISC */
/*
 * sinkline - the sink's human-readable line per message, for a developer
 * watching a terminal: not a log line (those are key=value for
 * machines), so the subject is decoded (mime) and addresses are shown
 * as <...>.  One printf stream to stdout, flushed per line.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "mime.h"
#include "sinkline.h"

void
sinkline_print(const struct session_tx *tx, const struct maildir_spool *spool)
{
	char addr[SMTP_PATH_MAX + 1], stamp[LOG_TIME_LEN], *subj;
	size_t i;

	(void)log_time_fmt(time(NULL), stamp, sizeof(stamp));
	subj = mime_header_text(tx->subject);
	(void)printf("%s from=<%s> to=", stamp, tx->from_str);
	for (i = 0; i < tx->nrcpt; i++)
		(void)printf("%s<%s>", i > 0 ? "," : "",
		    smtp_addr_fmt(&tx->rcpts[i], addr, sizeof(addr)));
	(void)printf(" subject=\"%s\" size=%llu", subj,
	    (unsigned long long)maildir_size(spool));
	for (i = 0; i < maildir_ncopy(spool); i++)
		(void)printf(" file=%s", maildir_path(spool, i));
	(void)putchar('\n');
	(void)fflush(stdout);
	free(subj);
}
