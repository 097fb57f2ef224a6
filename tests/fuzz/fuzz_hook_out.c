/* SPDX-License-Identifier: ISC */
/*
 * fuzz_hook_out - libFuzzer target for what a data_hook prints.  The
 * input is its standard output.  Header lines accepted by
 * hook_out_headers() must be lines a mail reader takes as header fields
 * (LF ends, no CR or NUL, no blank line, a field name of printable ASCII
 * before the first continuation), and judging them again must give the
 * same bytes; a refusal leaves the buffer as it was.  The reject text
 * from hook_out_text() must be one bounded line of printable ASCII with
 * no blank at either end.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "harness.h"
#include "hook_out.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_headers_shape - every accepted line is a field or its fold. */
static void
check_headers_shape(const char *p, size_t n)
{
	size_t i = 0, end, k;
	bool first = true;

	HARNESS_CHECK(n == 0 || p[n - 1] == '\n');
	while (i < n) {
		end = i;
		while (p[end] != '\n')
			end++;
		HARNESS_CHECK(end > i);
		for (k = i; k < end; k++)
			HARNESS_CHECK(p[k] != '\r' && p[k] != '\0');
		if (p[i] == ' ' || p[i] == '\t') {
			HARNESS_CHECK(!first);
		} else {
			for (k = i; p[k] != ':'; k++)
				HARNESS_CHECK(k < end && p[k] > ' ' &&
				    p[k] < 0x7f);
			HARNESS_CHECK(k > i);
		}
		first = false;
		i = end + 1;
	}
}

/* check_text - one printable line, bounded, trimmed. */
static void
check_text(const char *t)
{
	size_t i, n;

	if (t == NULL)
		return;
	n = strlen(t);
	HARNESS_CHECK(n > 0 && n <= HOOK_OUT_TEXT_MAX);
	HARNESS_CHECK(t[0] != ' ' && t[n - 1] != ' ');
	for (i = 0; i < n; i++)
		HARNESS_CHECK(t[i] >= 0x20 && t[i] < 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *why = NULL;
	char text[HOOK_OUT_TEXT_MAX + 1];
	struct buf b, again;

	if (size > HOOK_OUT_MAX)
		return 0;
	buf_init(&b, HOOK_OUT_MAX + 1);
	buf_init(&again, HOOK_OUT_MAX + 1);
	(void)buf_adds(&b, "Kept: 1\n");
	if (hook_out_headers(in, size, &b, &why) == 0) {
		HARNESS_CHECK(why == NULL);
		check_headers_shape(b.data, b.len);
		HARNESS_CHECK(hook_out_headers(b.data + 8, b.len - 8, &again,
		    &why) == 0);
		HARNESS_CHECK(again.len == b.len - 8 && (again.len == 0 ||
		    memcmp(again.data, b.data + 8, again.len) == 0));
	} else {
		HARNESS_CHECK(why != NULL);
		HARNESS_CHECK(b.len == 8 && memcmp(b.data, "Kept: 1\n", 8) == 0);
	}
	check_text(hook_out_text(in, size, text));
	buf_release(&b);
	buf_release(&again);
	return 0;
}
