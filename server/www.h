/* SPDX-License-Identifier: ISC */
/*
 * www - the sink's web page (server/www/: index.html, app.js, style.css),
 * compiled into inletd.
 *
 * The table is generated at build time by server/www_embed.sh into
 * www_data.c in the build directory (never committed), so the page needs
 * no files at run time and no build step beyond make.  Nothing here does
 * I/O; the HTTP side (sinkapi) serves "/" as index.html and
 * "/static/<path>" from this table.
 */
#ifndef INLET_WWW_H
#define INLET_WWW_H

#include <stddef.h>

struct www_file {
	const char		*path;	/* the base name, e.g. "app.js" */
	const char		*type;	/* Content-Type, from the extension */
	const unsigned char	*data;	/* len bytes, then a NUL not counted */
	size_t			 len;
};

extern const struct www_file www_files[];
extern const size_t www_nfiles;

#endif
