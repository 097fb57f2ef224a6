/* SPDX-License-Identifier: ISC */
/*
 * check_milter_proto - the milter packet codec as tables: the commands
 * the MTA sends, byte for byte; the filter's reply streams, decoded whole
 * and fed one byte at a time (the same replies either way); the OPTNEG
 * answer with its flags and symbol lists; broken streams; the 'y' text
 * sanitiser.  Links only libcore.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "buf.h"
#include "milter_proto.h"

/* ---- encoders ---------------------------------------------------------- */

struct enc_case {
	const char	*name;
	int		 which;
	const char	*want;		/* bytes */
	size_t		 wantlen;
};

#define W(s)	s, sizeof(s) - 1

static const struct enc_case enc_cases[] = {
	{ "optneg", 0, W("\0\0\0\x0dO\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff") },
	{ "macros", 1, W("\0\0\0\x1c" "DCi\0QID\0{daemon_name}\0inlet\0") },
	{ "connect v4", 2,
	    W("\0\0\0\x1a" "Cclient.test\0" "4\x01\xbb" "192.0.2.1\0") },
	{ "connect unknown", 3, W("\0\0\0\x04" "Cx\0U") },
	{ "mail with args", 4, W("\0\0\0\x15" "M<a@b.test>\0SIZE=100\0") },
	{ "header", 5, W("\0\0\0\x0d" "LSubject\0 hi\0") },
	{ "body", 6, W("\0\0\0\x05" "Bab\r\n") },
	{ "eob", 7, W("\0\0\0\x01" "E") },
	{ "quit", 8, W("\0\0\0\x01" "Q") },
};

START_TEST(test_enc)
{
	const struct enc_case *c = &enc_cases[_i];
	static const char *const mac[] = { "i", "QID", "{daemon_name}",
	    "inlet", "{x}", "", "{y}", NULL };
	static const char *const mail[] = { "<a@b.test>", "SIZE=100" };
	static const char *const hdr[] = { "Subject", " hi" };
	struct buf b;

	buf_init(&b, 4096);
	switch (c->which) {
	case 0:
		ck_assert_int_eq(milter_enc_optneg(&b, 6, 0x1ff, 0x1fffff), 0);
		break;
	case 1:	/* empty and NULL values are left out */
		ck_assert_int_eq(milter_enc_macros(&b, 'C', mac, 4), 0);
		break;
	case 2:
		ck_assert_int_eq(milter_enc_connect(&b, "client.test", '4', 443,
		    "192.0.2.1"), 0);
		break;
	case 3:
		ck_assert_int_eq(milter_enc_connect(&b, "x", 'U', 0, NULL), 0);
		break;
	case 4:
		ck_assert_int_eq(milter_enc_strings(&b, 'M', mail, 2), 0);
		break;
	case 5:
		ck_assert_int_eq(milter_enc_strings(&b, 'L', hdr, 2), 0);
		break;
	case 6:
		ck_assert_int_eq(milter_enc_body(&b, "ab\r\n", 4), 0);
		break;
	case 7:
		ck_assert_int_eq(milter_enc_cmd(&b, 'E'), 0);
		break;
	case 8:
		ck_assert_int_eq(milter_enc_cmd(&b, 'Q'), 0);
		break;
	}
	ck_assert_uint_eq(b.len, c->wantlen);
	ck_assert_msg(memcmp(b.data, c->want, c->wantlen) == 0, "%s", c->name);
	buf_release(&b);
}
END_TEST

/* The encoder's bounds: a full buffer and a chunk too big change nothing. */
START_TEST(test_enc_bounds)
{
	static char big[MILTER_CHUNK_MAX + 1];
	static const char *const one[] = { "x" };
	struct buf b;

	buf_init(&b, 8);
	ck_assert_int_eq(milter_enc_strings(&b, 'H', one, 1), 0);
	ck_assert_uint_eq(b.len, 7);
	ck_assert_int_eq(milter_enc_cmd(&b, 'Q'), -1);
	ck_assert_uint_eq(b.len, 7);
	buf_release(&b);
	buf_init(&b, 2 * sizeof(big));
	ck_assert_int_eq(milter_enc_body(&b, big, sizeof(big)), -1);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(milter_enc_body(&b, big, MILTER_CHUNK_MAX), 0);
	ck_assert_uint_eq(b.len, MILTER_CHUNK_MAX + 5);
	buf_release(&b);
}
END_TEST

/* ---- replies ----------------------------------------------------------- */

/* One expected reply: kind, index, a, b, body (for 'b'). */
struct want_reply {
	int		 kind;		/* enum milter_reply_kind, -1: bad */
	uint32_t	 index;
	const char	*a;
	const char	*b;
};

struct reply_case {
	const char	*name;
	const char	*in;
	size_t		 len;
	struct want_reply want[6];
	size_t		 nwant;
	int		 end;	/* 0: stream ends clean, 1: READ_ERROR */
};

#define R(s)	s, sizeof(s) - 1

static const struct reply_case reply_cases[] = {
	{ "continue", R("\0\0\0\x01" "c"),
	    { { MILTER_R_CONTINUE, 0, NULL, NULL } }, 1, 0 },
	{ "every simple reply", R("\0\0\0\x01" "a\0\0\0\x01" "r\0\0\0\x01"
	    "t\0\0\0\x01" "d\0\0\0\x01" "f\0\0\0\x01" "4"),
	    { { MILTER_R_ACCEPT, 0, NULL, NULL },
	      { MILTER_R_REJECT, 0, NULL, NULL },
	      { MILTER_R_TEMPFAIL, 0, NULL, NULL },
	      { MILTER_R_DISCARD, 0, NULL, NULL },
	      { MILTER_R_CONN_FAIL, 0, NULL, NULL },
	      { MILTER_R_SHUTDOWN, 0, NULL, NULL } }, 6, 0 },
	{ "progress, skip", R("\0\0\0\x01" "p\0\0\0\x01" "s"),
	    { { MILTER_R_PROGRESS, 0, NULL, NULL },
	      { MILTER_R_SKIP, 0, NULL, NULL } }, 2, 0 },
	{ "reply code", R("\0\0\0\x17" "y554 5.7.1 Spam, sorry\0"),
	    { { MILTER_R_REPLYCODE, 0, "554 5.7.1 Spam, sorry", NULL } },
	    1, 0 },
	{ "header edits", R("\0\0\0\x0d" "hX-Spam\0 yes\0"
	    "\0\0\0\x0c" "i\0\0\0\x01" "X-A\0 1\0"
	    "\0\0\0\x0e" "m\0\0\0\x02" "Subject\0\0"),
	    { { MILTER_R_ADDHEADER, 0, "X-Spam", " yes" },
	      { MILTER_R_INSHEADER, 1, "X-A", " 1" },
	      { MILTER_R_CHGHEADER, 2, "Subject", "" } }, 3, 0 },
	{ "envelope edits", R("\0\0\0\x0c" "+<n@b.test>\0"
	    "\0\0\0\x0c" "-<o@b.test>\0"
	    "\0\0\0\x0e" "2<p@b.test>\0x\0"
	    "\0\0\0\x0c" "e<s@b.test>\0"
	    "\0\0\0\x07" "qvirus\0"),
	    { { MILTER_R_ADDRCPT, 0, "<n@b.test>", NULL },
	      { MILTER_R_DELRCPT, 0, "<o@b.test>", NULL },
	      { MILTER_R_ADDRCPT_PAR, 0, "<p@b.test>", "x" },
	      { MILTER_R_CHGFROM, 0, "<s@b.test>", NULL },
	      { MILTER_R_QUARANTINE, 0, "virus", NULL } }, 5, 0 },
	{ "replace body", R("\0\0\0\x05" "bnew\n"),
	    { { MILTER_R_REPLBODY, 0, "new\n", NULL } }, 1, 0 },
	{ "unknown reply", R("\0\0\0\x01" "Z"),
	    { { -1, 0, NULL, NULL } }, 1, 0 },
	{ "header without value", R("\0\0\0\x05" "hX-A\0"),
	    { { -1, 0, NULL, NULL } }, 1, 0 },
	{ "insheader short", R("\0\0\0\x03" "i\0\0"),
	    { { -1, 0, NULL, NULL } }, 1, 0 },
	{ "reply code without NUL", R("\0\0\0\x04" "y550"),
	    { { -1, 0, NULL, NULL } }, 1, 0 },
	{ "zero length", R("\0\0\0\0"), { { 0, 0, NULL, NULL } }, 0, 1 },
	{ "too long", R("\0\x10\0\x01" "c"), { { 0, 0, NULL, NULL } }, 0, 1 },
	{ "partial at the end", R("\0\0\0\x01" "c\0\0\0\x05" "hX"),
	    { { MILTER_R_CONTINUE, 0, NULL, NULL } }, 1, 0 },
};

/* check_reply - packet p against the expected reply w. */
static void
check_reply(const char *name, const struct milter_packet *p,
    const struct want_reply *w)
{
	struct milter_reply r;
	int rc = milter_reply_parse(p, &r);

	if (w->kind < 0) {
		ck_assert_msg(rc == -1, "%s: parsed a bad reply", name);
		return;
	}
	ck_assert_msg(rc == 0, "%s: reply '%c' refused", name, p->cmd);
	ck_assert_int_eq((int)r.kind, w->kind);
	ck_assert_uint_eq(r.index, w->index);
	if (r.kind == MILTER_R_REPLBODY) {
		ck_assert_uint_eq(r.len, strlen(w->a));
		ck_assert(memcmp(r.data, w->a, r.len) == 0);
		return;
	}
	if (w->a == NULL)
		ck_assert_ptr_null(r.a);
	else
		ck_assert_str_eq(r.a, w->a);
	if (w->b == NULL)
		ck_assert_ptr_null(r.b);
	else
		ck_assert_str_eq(r.b, w->b);
}

/* run_replies - feed case c in pieces of step octets (0: whole). */
static void
run_replies(const struct reply_case *c, size_t step)
{
	struct milter_reader rd;
	struct milter_packet p;
	enum milter_read_result res = MILTER_READ_MORE;
	size_t off = 0, used, n, got = 0;

	milter_reader_init(&rd);
	while (off < c->len) {
		n = step == 0 ? c->len - off : step;
		if (n > c->len - off)
			n = c->len - off;
		res = milter_reader_feed(&rd, c->in + off, n, &used, &p);
		off += used;
		if (res == MILTER_READ_ERROR)
			break;
		if (res == MILTER_READ_OK) {
			ck_assert_msg(got < c->nwant, "%s: extra reply",
			    c->name);
			check_reply(c->name, &p, &c->want[got++]);
		}
	}
	ck_assert_msg(got == c->nwant, "%s (step %zu): %zu replies, want %zu",
	    c->name, step, got, c->nwant);
	ck_assert_int_eq(res == MILTER_READ_ERROR, c->end);
	milter_reader_release(&rd);
}

START_TEST(test_replies_whole)
{
	run_replies(&reply_cases[_i], 0);
}
END_TEST

START_TEST(test_replies_trickled)
{
	run_replies(&reply_cases[_i], 1);
}
END_TEST

/* ---- OPTNEG ------------------------------------------------------------ */

struct optneg_case {
	const char	*name;
	const char	*in;
	size_t		 len;
	int		 rc;
	uint32_t	 version, actions, protocol;
	const char	*connect_macros, *eom_macros;
};

static const struct optneg_case optneg_cases[] = {
	{ "plain v6", R("\0\0\0\x0dO\0\0\0\x06\0\0\0\x11\0\0\0\x30"), 0, 6,
	    0x11, 0x30, NULL, NULL },
	/* rspamd: every NR_* up to the body, SKIP, HDR_LEADSPC */
	{ "rspamd-like", R("\0\0\0\x0dO\0\0\0\x06\0\0\x01\xff\0\x1f\xf4\x80"),
	    0, 6, 0x1ff, 0x1ff480, NULL, NULL },
	{ "with macro lists", R("\0\0\0\x2dO\0\0\0\x06\0\0\0\x01\0\0\0\0"
	    "\0\0\0\0{client_addr} j\0" "\0\0\0\x05i\0" "\0\0\0\x09x\0"),
	    0, 6, 1, 0, "{client_addr} j", "i" },
	{ "old version", R("\0\0\0\x0dO\0\0\0\x01\0\0\0\0\0\0\0\0"), -1, 1, 0,
	    0, NULL, NULL },
	{ "short", R("\0\0\0\x09O\0\0\0\x06\0\0\0\0"), -1, 0, 0, 0, NULL,
	    NULL },
	{ "list without NUL", R("\0\0\0\x13O\0\0\0\x06\0\0\0\0\0\0\0\0"
	    "\0\0\0\0ab"), -1, 6, 0, 0, NULL, NULL },
	{ "trailing octets", R("\0\0\0\x0fO\0\0\0\x06\0\0\0\0\0\0\0\0ab"), -1,
	    6, 0, 0, NULL, NULL },
};

/* run_optneg - case c whole (step 0) or trickled. */
static void
run_optneg(const struct optneg_case *c, size_t step)
{
	struct milter_reader rd;
	struct milter_packet p;
	struct milter_optneg o;
	enum milter_read_result res = MILTER_READ_MORE;
	size_t off = 0, used, n;

	milter_reader_init(&rd);
	while (off < c->len && res != MILTER_READ_OK) {
		n = step == 0 || step > c->len - off ? c->len - off : step;
		res = milter_reader_feed(&rd, c->in + off, n, &used, &p);
		off += used;
	}
	ck_assert_int_eq(res, MILTER_READ_OK);
	ck_assert_int_eq(off, c->len);
	ck_assert_int_eq(milter_optneg_parse(&p, &o), c->rc);
	ck_assert_uint_eq(o.version, c->version);
	if (c->rc == 0) {
		ck_assert_uint_eq(o.actions, c->actions);
		ck_assert_uint_eq(o.protocol, c->protocol);
		if (c->connect_macros != NULL)
			ck_assert_str_eq(o.macros[MILTER_STAGE_CONNECT],
			    c->connect_macros);
		if (c->eom_macros != NULL)
			ck_assert_str_eq(o.macros[MILTER_STAGE_EOM],
			    c->eom_macros);
	}
	milter_reader_release(&rd);
}

START_TEST(test_optneg_whole)
{
	run_optneg(&optneg_cases[_i], 0);
}
END_TEST

START_TEST(test_optneg_trickled)
{
	run_optneg(&optneg_cases[_i], 1);
}
END_TEST

/* ---- 'y' text ---------------------------------------------------------- */

static const struct {
	const char	*in;
	unsigned	 code;
	const char	*text;
} text_cases[] = {
	{ "554 5.7.1 Spam message rejected", 554, "Spam message rejected" },
	{ "451 4.7.1 Try later", 451, "Try later" },
	{ "550 Go away", 550, "Go away" },
	{ "550", 550, "" },
	{ "550-5.7.1 first\r\n550 5.7.1 second", 550, "first" },
	{ "550 5.7.1 bell\a and \xc3\xa9", 550, "bell? and ??" },
	{ "550 4.7.1 class mismatch", 550, "4.7.1 class mismatch" },
	{ "250 2.0.0 fine", 0, "" },
	{ "354 go", 0, "" },
	{ "55", 0, "" },
	{ "5500 x", 0, "" },
	{ "abc", 0, "" },
	{ "", 0, "" },
};

START_TEST(test_text)
{
	char dst[MILTER_TEXT_MAX + 1];

	ck_assert_uint_eq(milter_reply_text(text_cases[_i].in, dst,
	    sizeof(dst)), text_cases[_i].code);
	ck_assert_str_eq(dst, text_cases[_i].text);
}
END_TEST

/* A long text is cut at MILTER_TEXT_MAX. */
START_TEST(test_text_bounded)
{
	char in[1000], dst[1000];

	memset(in, 'x', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	memcpy(in, "550 ", 4);
	ck_assert_uint_eq(milter_reply_text(in, dst, sizeof(dst)), 550);
	ck_assert_uint_eq(strlen(dst), MILTER_TEXT_MAX);
}
END_TEST

/* ---- end-of-message edits ---------------------------------------------- */

#define MSG	"Received: from x\n\tby y\nFrom: a@b.test\nX-Old: one\n" \
		"X-Old: two\nSubject: s\n\nbody\n"
#define HDRS	"Received: from x\n\tby y\nFrom: a@b.test\nX-Old: one\n" \
		"X-Old: two\nSubject: s\n"

static const struct {
	const char		*name;
	const char		*msg;
	struct milter_edit	 e[3];
	size_t			 n;
	bool			 leadspc;
	const char		*body;	/* replacement, or NULL */
	const char		*want;
} edit_cases[] = {
	{ "add", MSG, { { MILTER_EDIT_ADD, 0, "X-A", "1" } }, 1, false, NULL,
	  HDRS "X-A: 1\n\nbody\n" },
	{ "insert at the top", MSG, { { MILTER_EDIT_INSERT, 0, "X-T",
	  "top" } }, 1, false, NULL, "X-T: top\n" HDRS "\nbody\n" },
	{ "insert in the middle", MSG, { { MILTER_EDIT_INSERT, 2, "X-M",
	  "m" } }, 1, false, NULL, "Received: from x\n\tby y\nFrom: a@b.test\n"
	  "X-M: m\nX-Old: one\nX-Old: two\nSubject: s\n\nbody\n" },
	{ "insert past the end", MSG, { { MILTER_EDIT_INSERT, 99, "X-E",
	  "e" } }, 1, false, NULL, HDRS "X-E: e\n\nbody\n" },
	{ "change the second", MSG, { { MILTER_EDIT_CHANGE, 2, "x-old",
	  "new" } }, 1, false, NULL, "Received: from x\n\tby y\nFrom: a@b.test\n"
	  "X-Old: one\nx-old: new\nSubject: s\n\nbody\n" },
	{ "delete the first", MSG, { { MILTER_EDIT_CHANGE, 1, "X-Old", "" } },
	  1, false, NULL, "Received: from x\n\tby y\nFrom: a@b.test\n"
	  "X-Old: two\nSubject: s\n\nbody\n" },
	{ "delete a folded field", MSG, { { MILTER_EDIT_CHANGE, 1, "Received",
	  "" } }, 1, false, NULL, "From: a@b.test\nX-Old: one\nX-Old: two\n"
	  "Subject: s\n\nbody\n" },
	{ "change a missing one adds it", MSG, { { MILTER_EDIT_CHANGE, 3,
	  "X-Old", "3" } }, 1, false, NULL, HDRS "X-Old: 3\n\nbody\n" },
	{ "delete a missing one", MSG, { { MILTER_EDIT_CHANGE, 1, "X-No",
	  "" } }, 1, false, NULL, MSG },
	{ "no field smuggled", MSG, { { MILTER_EDIT_ADD, 0, "X-F",
	  "a\r\nBcc: evil@x.test\nc\r\n\td" } }, 1, false, NULL,
	  HDRS "X-F: a\n\tBcc: evil@x.test\n\tc\n\td\n\nbody\n" },
	{ "bad names skipped", MSG, { { MILTER_EDIT_ADD, 0, "Bad Name", "v" },
	  { MILTER_EDIT_ADD, 0, "", "v" }, { MILTER_EDIT_ADD, 0, "A:B", "v" } },
	  3, false, NULL, MSG },
	{ "leading space as given", MSG, { { MILTER_EDIT_ADD, 0, "X-L",
	  " v" } }, 1, true, NULL, HDRS "X-L: v\n\nbody\n" },
	{ "in order", MSG, { { MILTER_EDIT_ADD, 0, "X-1", "1" },
	  { MILTER_EDIT_CHANGE, 1, "X-1", "one" },
	  { MILTER_EDIT_CHANGE, 1, "Subject", "" } }, 3, false, NULL,
	  "Received: from x\n\tby y\nFrom: a@b.test\nX-Old: one\nX-Old: two\n"
	  "X-1: one\n\nbody\n" },
	{ "body replaced", MSG, { { MILTER_EDIT_ADD, 0, "X-A", "1" } }, 1,
	  false, "new\r\nbody\r\nbare\rcr\r\n", HDRS "X-A: 1\n\nnew\nbody\n"
	  "bare\rcr\n" },
	{ "body only", MSG, { { MILTER_EDIT_ADD, 0, "", "" } }, 0, false, "",
	  HDRS "\n" },
	{ "no body, no blank line", "A: b\n", { { MILTER_EDIT_ADD, 0, "X",
	  "1" } }, 1, false, NULL, "A: b\nX: 1\n" },
	{ "no headers", "\nbody\n", { { MILTER_EDIT_ADD, 0, "X", "1" } }, 1,
	  false, NULL, "X: 1\n\nbody\n" },
};

START_TEST(test_edit)
{
	struct buf out, body;
	const char *m = edit_cases[_i].msg;

	buf_init(&out, 1 << 16);
	buf_init(&body, 1 << 16);
	if (edit_cases[_i].body != NULL)
		ck_assert_int_eq(buf_adds(&body, edit_cases[_i].body), 0);
	ck_assert_int_eq(milter_edit_apply(m, strlen(m), edit_cases[_i].e,
	    edit_cases[_i].n, edit_cases[_i].leadspc,
	    edit_cases[_i].body != NULL ? &body : NULL, &out), 0);
	ck_assert_msg(strcmp(buf_cstr(&out), edit_cases[_i].want) == 0,
	    "%s: got\n%s", edit_cases[_i].name, buf_cstr(&out));
	buf_release(&out);
	buf_release(&body);
}
END_TEST

/* The header splitter: fields, folds, a line without a colon, the body. */
START_TEST(test_headers)
{
	static const char m[] = "A: 1\n\t2\nno colon\nB:3\n\nbody: no\n";
	struct milter_hdr *h;
	size_t n, body;

	n = milter_headers(m, sizeof(m) - 1, &h, &body);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(h[0].len, 8);
	ck_assert_uint_eq(h[0].name_len, 1);
	ck_assert_uint_eq(h[1].name_len, 0);
	ck_assert_uint_eq(h[2].name_len, 1);
	ck_assert_str_eq(m + body, "body: no\n");
	free(h);
	n = milter_headers("A: 1", 4, &h, &body);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(h[0].len, 4);
	ck_assert_uint_eq(body, 4);
	free(h);
}
END_TEST

#define N(a)	((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
milter_proto_suite(void)
{
	Suite *s = suite_create("milter_proto");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_enc, 0, N(enc_cases));
	tcase_add_test(tc, test_enc_bounds);
	tcase_add_loop_test(tc, test_replies_whole, 0, N(reply_cases));
	tcase_add_loop_test(tc, test_replies_trickled, 0, N(reply_cases));
	tcase_add_loop_test(tc, test_optneg_whole, 0, N(optneg_cases));
	tcase_add_loop_test(tc, test_optneg_trickled, 0, N(optneg_cases));
	tcase_add_loop_test(tc, test_text, 0, N(text_cases));
	tcase_add_test(tc, test_text_bounded);
	tcase_add_loop_test(tc, test_edit, 0, N(edit_cases));
	tcase_add_test(tc, test_headers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(milter_proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
