/* SPDX-License-Identifier: ISC */
/*
 * buf - bounded byte buffer.
 * Owns its heap block; grows geometrically up to the cap given at init.
 * No I/O.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "xalloc.h"

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/* buf_reserve - make room for need bytes plus the NUL slot. */
static void
buf_reserve(struct buf *b, size_t need)
{
	size_t ncap;
	char *p;

	if (need <= b->cap)
		return;
	ncap = b->cap < 64 ? 64 : b->cap;
	while (ncap < need)
		ncap = ncap > b->max / 2 ? b->max : ncap * 2;
	if (ncap < need)
		ncap = need;
	p = xrealloc(b->data, ncap + 1, 1);
	b->data = p;
	b->cap = ncap;
}

/* buf_nul - put back the NUL after the contents (a failed format). */
static void
buf_nul(struct buf *b)
{
	if (b->data != NULL)
		b->data[b->len] = '\0';
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n > b->max - b->len)
		return -1;
	buf_reserve(b, b->len + n);
	if (b->data == NULL)		/* n == 0 on a fresh buffer */
		return 0;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int
buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_addf(struct buf *b, const char *fmt, ...)
{
	char *end = b->data != NULL ? b->data + b->len : NULL;
	size_t room = b->data != NULL ? b->cap - b->len : 0;
	size_t need;
	va_list ap;
	int n;

	/* One pass when the text fits the room already allocated. */
	va_start(ap, fmt);
	n = vsnprintf(end, end != NULL ? room + 1 : 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		buf_nul(b);
		return -1;
	}
	need = (size_t)n;
	if (need > b->max - b->len) {
		buf_nul(b);
		return -1;
	}
	if (end != NULL && need <= room) {
		b->len += need;
		return 0;
	}
	buf_reserve(b, b->len + need);
	if (b->data == NULL)		/* need == 0 on a fresh buffer */
		return 0;
	va_start(ap, fmt);
	(void)vsnprintf(b->data + b->len, need + 1, fmt, ap);
	va_end(ap);
	b->len += need;
	return 0;
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->data[len] = '\0';
}

void
buf_drop(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

const char *
buf_cstr(struct buf *b)
{
	return b->data == NULL ? "" : b->data;
}

size_t
buf_room(const struct buf *b)
{
	return b->max - b->len;
}
