/* SPDX-License-Identifier: ISC */
/*
 * fuzz_msgview - libFuzzer target for the MIME-to-JSON path of the sink
 * API (server/msgview.c over GMime 3).  The input is a stored message.
 * Whatever it is, every view must come back: the summary's strings are
 * UTF-8 and the snippet at most MSGVIEW_SNIPPET_MAX characters, the
 * Message, headers and address objects serialize as JSON (jansson
 * refuses invalid UTF-8), and every part the Message lists can be
 * fetched by its PartID with exactly the Size it lists.  Not part of the
 * core: it links GMime, GLib and jansson, and writes the input to one
 * temporary file.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <jansson.h>

#include "envelope.h"
#include "harness.h"
#include "log.h"
#include "mime.h"
#include "msgview.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static int fd = -1;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_open("fuzz_msgview", true, LOG_LEVEL_ERR);
	mime_init();
	(void)snprintf(path, sizeof(path), "/tmp/fuzz_msgview.XXXXXX");
	fd = mkstemp(path);
	HARNESS_CHECK(fd >= 0);
	return 0;
}

/* check_text - s (may be NULL) is UTF-8 and serializes. */
static void
check_text(const char *s)
{
	json_t *j;

	if (s == NULL)
		return;
	HARNESS_CHECK(g_utf8_validate(s, -1, NULL));
	j = json_string(s);
	HARNESS_CHECK(j != NULL);
	json_decref(j);
}

/* check_json - o serializes; freed. */
static void
check_json(json_t *o)
{
	char *text;

	HARNESS_CHECK(o != NULL);
	text = json_dumps(o, JSON_COMPACT);
	HARNESS_CHECK(text != NULL);
	free(text);
	json_decref(o);
}

/* check_summary - the index's view of the message. */
static void
check_summary(void)
{
	struct envelope_rcpt rcpts[2] = { { .addr = (char *)"a@example.org" },
	    { .addr = (char *)"hidden@example.org" } };
	struct envelope env = { .rcpts = rcpts, .nrcpt = 2 };
	struct msgview_sum s;

	if (msgview_summary(path, &env, &s) != 0)
		return;
	check_text(s.from);
	check_text(s.to);
	check_text(s.cc);
	check_text(s.bcc);
	check_text(s.reply_to);
	check_text(s.subject);
	check_text(s.message_id);
	check_text(s.snippet);
	HARNESS_CHECK(s.snippet == NULL ||
	    g_utf8_strlen(s.snippet, -1) <= MSGVIEW_SNIPPET_MAX);
	check_json(msgview_addresses(s.to));
	check_json(msgview_address(s.from));
	check_json(msgview_addresses(s.bcc));
	msgview_sum_clear(&s);
}

/* check_parts - every part in list fetches with its listed Size. */
static void
check_parts(json_t *list)
{
	size_t i, len;
	json_t *a;

	json_array_foreach(list, i, a) {
		char *data, *type, *name;
		const char *id = json_string_value(json_object_get(a, "PartID"));

		HARNESS_CHECK(id != NULL);
		if (msgview_part(path, id, &data, &len, &type, &name) != 0)
			harness_fail("PartID %s listed but not found", id);
		HARNESS_CHECK((json_int_t)len ==
		    json_integer_value(json_object_get(a, "Size")));
		free(data);
		free(type);
		free(name);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *o = json_object();
	char *t;

	HARNESS_CHECK(ftruncate(fd, 0) == 0);
	HARNESS_CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
	check_summary();
	if (msgview_message(path, "2026-01-01T00:00:00Z", o) == 0) {
		check_parts(json_object_get(o, "Inline"));
		check_parts(json_object_get(o, "Attachments"));
		check_text(json_string_value(json_object_get(o, "Text")));
		check_text(json_string_value(json_object_get(o, "HTML")));
	}
	check_json(o);
	check_json(msgview_headers(path));
	t = msgview_text(path);
	check_text(t);
	free(t);
	t = msgview_html(path);
	check_text(t);
	free(t);
	return 0;
}
