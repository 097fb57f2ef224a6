/* SPDX-License-Identifier: ISC */
/*
 * harness - invariant failures and input splitting for the fuzz targets.
 * Deterministic by construction (no time, no global state), so that a
 * saved input replays the same feeding.  No I/O but the failure message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

void
harness_fail(const char *fmt, ...)
{
	va_list ap;

	(void)fputs("fuzz invariant failed: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
	abort();
}

void
harness_split_init(struct harness_split *sp, uint64_t seed)
{
	sp->mode = (enum harness_split_mode)(seed & 3);
	/* xorshift must not start at 0; mix so that close seeds diverge */
	sp->rng = (seed ^ UINT64_C(0x9e3779b97f4a7c15)) | 1;
}

/* harness_rand - xorshift64* (Vigna 2016): small, fast, good enough. */
uint32_t
harness_rand(struct harness_split *sp)
{
	sp->rng ^= sp->rng >> 12;
	sp->rng ^= sp->rng << 25;
	sp->rng ^= sp->rng >> 27;
	return (uint32_t)((sp->rng * UINT64_C(0x2545f4914f6cdd1d)) >> 32);
}

size_t
harness_split_next(struct harness_split *sp, size_t left)
{
	size_t n = left;

	switch (sp->mode) {
	case HARNESS_SPLIT_WHOLE:
		break;
	case HARNESS_SPLIT_BYTE:
		n = 1;
		break;
	case HARNESS_SPLIT_SHORT:
		n = 1 + harness_rand(sp) % 8;
		break;
	case HARNESS_SPLIT_ANY:
		n = 1 + harness_rand(sp) % left;
		break;
	}
	return n < left ? n : left;
}

uint64_t
harness_take_seed(const uint8_t **data, size_t *size, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		v <<= 8;
		if (i < *size)
			v |= (*data)[i];
	}
	n = n < *size ? n : *size;
	*data += n;
	*size -= n;
	return v;
}
