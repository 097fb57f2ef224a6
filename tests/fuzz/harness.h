/* SPDX-License-Identifier: ISC */
/*
 * harness - what every libFuzzer target in tests/fuzz shares: a failed
 * invariant becomes a crash that libFuzzer records, and the input is cut
 * into pieces by a small deterministic generator seeded from the input's
 * first bytes, so that a reproducer replays exactly.  Test code only:
 * never linked into inletd or libcore.a.
 */
#ifndef INLET_FUZZ_HARNESS_H
#define INLET_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

/*
 * How the pieces are cut: all at once, one octet at a time, short pieces
 * (1-8 octets, so that every CR LF and ". CR LF" gets split somewhere),
 * or pieces of any length.
 */
enum harness_split_mode {
	HARNESS_SPLIT_WHOLE,
	HARNESS_SPLIT_BYTE,
	HARNESS_SPLIT_SHORT,
	HARNESS_SPLIT_ANY,
};

struct harness_split {
	uint64_t		 rng;	/* xorshift64* state, never 0 */
	enum harness_split_mode	 mode;
};

/*
 * harness_fail - an invariant does not hold: print what and abort(), so
 * that libFuzzer saves the input and the sanitizers print a stack.
 */
_Noreturn void harness_fail(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* HARNESS_CHECK - fail with the expression's text unless it holds. */
#define HARNESS_CHECK(e) do {						\
	if (!(e))							\
		harness_fail("%s:%d: %s", __FILE__, __LINE__, #e);	\
} while (0)

/* harness_split_init - a generator from seed; mode taken from seed too. */
void	harness_split_init(struct harness_split *sp, uint64_t seed);

/* harness_rand - the next pseudo-random 32 bits. */
uint32_t harness_rand(struct harness_split *sp);

/* harness_split_next - the length of the next piece, 1..left (left > 0). */
size_t	harness_split_next(struct harness_split *sp, size_t left);

/*
 * harness_take_seed - the first n (<= 8) octets of *data as a number,
 * removed from the input; missing octets count as 0.
 */
uint64_t harness_take_seed(const uint8_t **data, size_t *size, size_t n);

#endif
