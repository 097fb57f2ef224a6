/* SPDX-License-Identifier: ISC */
/*
 * fuzz_milter - libFuzzer target for the milter reply reader and parsers.
 * The first octet seeds the feeding (whole, byte by byte, short or any
 * pieces); the rest is a filter's byte stream.  The stream is read twice,
 * once whole and once in pieces: the same packets must come out, each
 * within MILTER_PACKET_MAX, and every packet is given to the reply and
 * OPTNEG parsers, whose pointers must stay inside it, and every 'y' text
 * to the sanitiser, whose output must be bounded and printable.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "log.h"
#include "milter_proto.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_open("fuzz_milter", true, LOG_LEVEL_ERR);
	return 0;
}

/* inside - whether s (with its NUL) lies in the packet. */
static bool
inside(const struct milter_packet *p, const char *s)
{
	return s == NULL || (s >= p->data && s + strlen(s) <= p->data +
	    p->len);
}

/* check_packet - parse p every way and check what comes out. */
static void
check_packet(const struct milter_packet *p)
{
	struct milter_reply r;
	struct milter_optneg o;
	char text[MILTER_TEXT_MAX + 1];
	unsigned code;
	size_t i;

	HARNESS_CHECK(p->len + 1 <= MILTER_PACKET_MAX);
	if (milter_reply_parse(p, &r) == 0) {
		HARNESS_CHECK(inside(p, r.a) && inside(p, r.b));
		if (r.kind == MILTER_R_REPLYCODE) {
			code = milter_reply_text(r.a, text, sizeof(text));
			HARNESS_CHECK(code == 0 || (code >= 400 && code < 600));
			HARNESS_CHECK(strlen(text) <= MILTER_TEXT_MAX);
			for (i = 0; text[i] != '\0'; i++)
				HARNESS_CHECK(text[i] >= 0x20 && text[i] < 0x7f);
		}
	}
	if (milter_optneg_parse(p, &o) == 0)
		for (i = 0; i < MILTER_STAGE_COUNT; i++)
			HARNESS_CHECK(inside(p, o.macros[i]));
}

/* struct seen - a digest of the packets read, to compare two feedings. */
struct seen {
	size_t		 n;
	uint64_t	 sum;
	bool		 error;
};

/* run - read the stream in pieces from sp (NULL: whole). */
static void
run(const char *in, size_t len, struct harness_split *sp, struct seen *out)
{
	struct milter_reader rd;
	struct milter_packet p;
	enum milter_read_result res;
	size_t off = 0, n, used, i;

	memset(out, 0, sizeof(*out));
	milter_reader_init(&rd);
	while (off < len) {
		n = sp == NULL ? len - off : harness_split_next(sp, len - off);
		res = milter_reader_feed(&rd, in + off, n, &used, &p);
		HARNESS_CHECK(used <= n);
		HARNESS_CHECK(used > 0 || n == 0);
		off += used;
		if (res == MILTER_READ_ERROR) {
			out->error = true;
			break;
		}
		if (res != MILTER_READ_OK)
			continue;
		check_packet(&p);
		out->n++;
		out->sum = out->sum * 31 + (unsigned char)p.cmd + p.len;
		for (i = 0; i < p.len; i++)
			out->sum = out->sum * 131 + (unsigned char)p.data[i];
	}
	milter_reader_release(&rd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct harness_split split;
	struct seen whole, pieces;
	uint64_t seed = harness_take_seed(&data, &size, 1);

	harness_split_init(&split, seed);
	run((const char *)data, size, NULL, &whole);
	run((const char *)data, size, &split, &pieces);
	HARNESS_CHECK(whole.n == pieces.n && whole.sum == pieces.sum &&
	    whole.error == pieces.error);
	return 0;
}
