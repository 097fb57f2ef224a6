/* SPDX-License-Identifier: ISC */
/*
 * fuzz_envelope - libFuzzer target for the envelope record parser
 * (envelope.h).  The input is a record.  When it parses, envelope_fmt()
 * must print it so that envelope_parse() reads it back, and printing the
 * copy again must give the same text; it has at least one recipient.
 * When it does not parse, the error names a line or a missing key.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "envelope.h"
#include "harness.h"
#include "log.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_open("fuzz_envelope", true, LOG_LEVEL_ERR);
	return 0;
}

/* check_roundtrip - e printed parses back to a record that prints alike. */
static void
check_roundtrip(const struct envelope *e)
{
	struct envelope copy;
	struct buf a, b;
	const char *err = NULL;

	buf_init(&a, SIZE_MAX);
	buf_init(&b, SIZE_MAX);
	envelope_fmt(&a, e);
	if (envelope_parse(&copy, a.data, a.len, &err) != 0)
		harness_fail("envelope_fmt output does not parse: %s\n%s", err,
		    buf_cstr(&a));
	envelope_fmt(&b, &copy);
	if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
		harness_fail("round trip differs:\n%s\n----\n%s", buf_cstr(&a),
		    buf_cstr(&b));
	envelope_clear(&copy);
	buf_release(&a);
	buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope e;
	const char *err = NULL;

	if (envelope_parse(&e, (const char *)data, size, &err) == 0) {
		HARNESS_CHECK(e.nrcpt > 0 && e.queue_id != NULL &&
		    e.sender != NULL);
		check_roundtrip(&e);
	} else {
		HARNESS_CHECK(err != NULL && (strncmp(err, "line ", 5) == 0 ||
		    strncmp(err, "missing ", 8) == 0 ||
		    strcmp(err, "too long") == 0));
	}
	envelope_clear(&e);
	return 0;
}
