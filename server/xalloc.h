/* SPDX-License-Identifier: ISC */
/*
 * xalloc - the one set of allocation helpers: each returns memory or
 * ends the process through log_fatal() (doc/HACKING.md: every size is
 * bounded by the configuration, so running out is not a case to
 * handle).  Core and edges use these; nothing else tests malloc's result.
 */
#ifndef INLET_XALLOC_H
#define INLET_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* xmalloc - malloc(size); size 0 gives a unique pointer. */
void	*xmalloc(size_t size);

/* xcalloc - calloc(n, size), zeroed, n * size checked for overflow. */
void	*xcalloc(size_t n, size_t size);

/* xrealloc - realloc(p, n * size), checked for overflow; p may be NULL. */
void	*xrealloc(void *p, size_t n, size_t size);

/* xstrdup, xstrndup - copies of s (at most n bytes, NUL added). */
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);

/* xasprintf, xvasprintf - the formatted text in a fresh heap string. */
char	*xasprintf(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
char	*xvasprintf(const char *fmt, va_list ap)
	    __attribute__((format(printf, 1, 0)));

#endif
