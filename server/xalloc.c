/* SPDX-License-Identifier: ISC */
/*
 * xalloc - allocation that never returns NULL: out of memory is fatal
 * (log_fatal), so callers hold no failure paths for it.  Pure: no I/O
 * beyond that last log line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"

/* xalloc_fail - the one out-of-memory death. */
static _Noreturn void
xalloc_fail(size_t n, size_t size)
{
	log_fatal("out of memory (%zu x %zu bytes)", n, size);
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size != 0 ? size : 1);

	if (p == NULL)
		xalloc_fail(1, size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n != 0 ? n : 1, size != 0 ? size : 1);

	if (p == NULL)
		xalloc_fail(n, size);
	return p;
}

void *
xrealloc(void *p, size_t n, size_t size)
{
	void *q;

	if (size != 0 && n > SIZE_MAX / size)
		xalloc_fail(n, size);
	q = realloc(p, n * size != 0 ? n * size : 1);
	if (q == NULL)
		xalloc_fail(n, size);
	return q;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		xalloc_fail(1, n + 1);
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	va_list aq;
	char *p;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		log_fatal("can't happen: vsnprintf failed");
	p = xmalloc((size_t)n + 1);
	(void)vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}
