/* SPDX-License-Identifier: ISC */
/*
 * buf - a bounded, growable byte buffer.
 *
 * Owns one heap block that grows on demand up to a hard cap fixed at
 * init time; nothing here does I/O.  Every buffer in the protocol core is
 * a struct buf, so no client can make a session's memory grow past the
 * caps taken from the configuration.
 */
#ifndef INLET_BUF_H
#define INLET_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char	*data;	/* NUL-terminated when len > 0 or after buf_cstr() */
	size_t	 len;
	size_t	 cap;	/* bytes allocated (excluding the NUL slot) */
	size_t	 max;	/* hard cap on len */
};

/* buf_init - an empty buffer that may hold at most max bytes. */
void	buf_init(struct buf *b, size_t max);

/* buf_reset - forget the contents, keep the allocation. */
void	buf_reset(struct buf *b);

/* buf_release - free the allocation; the buffer is empty and reusable. */
void	buf_release(struct buf *b);

/*
 * buf_add - append n bytes.  Returns 0, or -1 (nothing appended) when the
 * result would exceed the cap.  Allocation failure is fatal.
 */
int	buf_add(struct buf *b, const void *p, size_t n);

/* buf_addc - append one byte; 0 or -1 as buf_add. */
int	buf_addc(struct buf *b, char c);

/* buf_adds - append a NUL-terminated string; 0 or -1 as buf_add. */
int	buf_adds(struct buf *b, const char *s);

/*
 * buf_addf - append printf-formatted text.  Returns 0, or -1 when it would
 * exceed the cap (then nothing is appended).
 */
int	buf_addf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* buf_truncate - cut the contents back to len bytes (len <= b->len). */
void	buf_truncate(struct buf *b, size_t len);

/* buf_drop - remove the first n bytes (n <= len). */
void	buf_drop(struct buf *b, size_t n);

/* buf_cstr - the contents as a NUL-terminated string ("" when empty). */
const char *buf_cstr(struct buf *b);

/* buf_room - how many more bytes fit under the cap. */
size_t	buf_room(const struct buf *b);

#endif
