/* SPDX-License-Identifier: ISC */
/*
 * conffile - inlet.conf from disk, for both programs (inletd and
 * inlet-relay): read a small file, apply the text, the -o overrides and
 * the cross-checks (conf.h), then load the lists the config names (the
 * recipients and aliases files).  Edge: file I/O around the pure conf.
 */
#ifndef INLET_CONFFILE_H
#define INLET_CONFFILE_H

#include <stddef.h>

#include "conf.h"

#define CONFFILE_MAX	(1024 * 1024)	/* the largest file read */

/*
 * conffile_read - a whole file of at most CONFFILE_MAX octets into
 * memory (heap, NUL-terminated; the caller frees).  NULL with errno
 * (EFBIG when too big).
 */
char	*conffile_read(const char *path, size_t *len_out);

/*
 * conffile_path_err - "KEY PATH: HOW by user NAME: reason" (the user the
 * process runs as now), heap, for an *err_out.
 */
char	*conffile_path_err(const char *key, const char *path, const char *how,
	    int err);

/*
 * conffile_load_lists - read the recipients and aliases files c names
 * (if any) into c; at start and on every reload.  0, or -1 with *err_out.
 */
int	conffile_load_lists(struct config *c, char **err_out);

/*
 * conffile_load - a config from text (len octets, read from the file
 * called name): defaults (the host name from the system), the text, the
 * n overrides ("key=value"), conf_check(), then the lists.  NULL and
 * *err_out (heap, naming file:line) on any error.
 */
struct config *conffile_load(const char *name, const char *text, size_t len,
	    char *const *overrides, size_t n, char **err_out);

#endif
