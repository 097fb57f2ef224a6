/* SPDX-License-Identifier: ISC */
/*
 * msgview - a stored message read through GMime 3 (RFC 2045-2049 MIME,
 * RFC 2047/2231 words, charsets to UTF-8), turned into what the index
 * keeps and the JSON of Mailpit's API.  Runs on the loop thread.  Every
 * walk over a message's parts is iterative (GMimePartIter) and stops
 * after MSGVIEW_PARTS_MAX parts, so nesting and part counts are bounded;
 * text that is not UTF-8 after conversion is made valid.  The envelope
 * (Bcc) comes from the caller.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "envelope.h"
#include "msgview.h"
#include "xalloc.h"

static json_t *msgview_jstr(const char *s);

/* msgview_open - the parsed message at path (an empty one when GMime
 * finds no message in it: the views are best effort), or NULL when it
 * cannot be opened (errno). */
static GMimeMessage *
msgview_open(const char *path)
{
	GMimeStream *st;
	GMimeParser *p;
	GMimeMessage *m;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	st = g_mime_stream_fs_new(fd);
	p = g_mime_parser_new_with_stream(st);
	g_object_unref(st);
	m = g_mime_parser_construct_message(p, NULL);
	g_object_unref(p);
	return m != NULL ? m : g_mime_message_new(FALSE);
}

/* msgview_dup - a GLib string (may be NULL) as valid UTF-8 on our heap;
 * NULL stays NULL, "" too when empty_null. */
static char *
msgview_dup(const char *s, bool empty_null)
{
	char *valid, *out;

	if (s == NULL || (empty_null && s[0] == '\0'))
		return NULL;
	valid = g_utf8_make_valid(s, -1);
	out = xstrdup(valid);
	g_free(valid);
	return out;
}

/* msgview_list - an address list as text (NULL when empty). */
static char *
msgview_list(InternetAddressList *l)
{
	char *s, *out;

	if (l == NULL || internet_address_list_length(l) == 0)
		return NULL;
	s = internet_address_list_to_string(l, NULL, FALSE);
	out = msgview_dup(s, true);
	g_free(s);
	return out;
}

/* msgview_has_addr - whether list (groups opened) names addr. */
static bool
msgview_has_addr(InternetAddressList *l, const char *addr)
{
	int i, n = l != NULL ? internet_address_list_length(l) : 0;

	for (i = 0; i < n; i++) {
		InternetAddress *a = internet_address_list_get_address(l, i);

		if (INTERNET_ADDRESS_IS_GROUP(a) && msgview_has_addr(
		    internet_address_group_get_members(
		    INTERNET_ADDRESS_GROUP(a)), addr))
			return true;
		if (INTERNET_ADDRESS_IS_MAILBOX(a) &&
		    strcasecmp(internet_address_mailbox_get_addr(
		    INTERNET_ADDRESS_MAILBOX(a)), addr) == 0)
			return true;
	}
	return false;
}

/* msgview_bcc - the Bcc: header's addresses plus the envelope's
 * recipients no To:, Cc: or Bcc: names (Mailpit's rule). */
static char *
msgview_bcc(GMimeMessage *m, const struct envelope *env)
{
	InternetAddressList *hdr = g_mime_message_get_bcc(m);
	InternetAddressList *all = internet_address_list_new();
	size_t i;
	char *out;

	internet_address_list_append(all, hdr);
	for (i = 0; env != NULL && i < env->nrcpt; i++) {
		const char *a = env->rcpts[i].addr;
		InternetAddress *mb;

		if (msgview_has_addr(g_mime_message_get_to(m), a) ||
		    msgview_has_addr(g_mime_message_get_cc(m), a) ||
		    msgview_has_addr(all, a))
			continue;
		mb = internet_address_mailbox_new(NULL, a);
		internet_address_list_add(all, mb);
		g_object_unref(mb);
	}
	out = msgview_list(all);
	g_object_unref(all);
	return out;
}

/* msgview_is_body - a text/plain or text/html part that is no
 * attachment: a candidate for Text or HTML. */
static bool
msgview_is_body(GMimeObject *o, const char *subtype)
{
	GMimeContentDisposition *d = g_mime_object_get_content_disposition(o);

	return GMIME_IS_TEXT_PART(o) && g_mime_content_type_is_type(
	    g_mime_object_get_content_type(o), "text", subtype) &&
	    (d == NULL || !g_mime_content_disposition_is_attachment(d));
}

/* The bodies and the other parts of a message, found in one walk. */
struct msgview_walk {
	GMimeObject	*text, *html;
	GMimeObject	*parts[MSGVIEW_PARTS_MAX];
	char		*paths[MSGVIEW_PARTS_MAX];
	bool		 inline_[MSGVIEW_PARTS_MAX];
	size_t		 nparts;
};

/* msgview_classify - one leaf part: the first text and HTML bodies, then
 * attachments (Content-Disposition attachment, or no Content-ID) and
 * inline parts (a Content-ID, not an attachment). */
static void
msgview_classify(struct msgview_walk *w, GMimeObject *o, const char *path)
{
	GMimeContentDisposition *d;
	bool att;

	if (w->text == NULL && msgview_is_body(o, "plain")) {
		w->text = o;
		return;
	}
	if (w->html == NULL && msgview_is_body(o, "html")) {
		w->html = o;
		return;
	}
	d = g_mime_object_get_content_disposition(o);
	att = d != NULL && g_mime_content_disposition_is_attachment(d);
	w->inline_[w->nparts] = !att &&
	    g_mime_part_get_content_id(GMIME_PART(o)) != NULL;
	w->parts[w->nparts] = o;
	w->paths[w->nparts++] = xstrdup(path);
}

/* msgview_walk - every leaf part of m, at most MSGVIEW_PARTS_MAX. */
static void
msgview_walk(GMimeMessage *m, struct msgview_walk *w)
{
	GMimePartIter *it;
	size_t seen = 0;

	memset(w, 0, sizeof(*w));
	if (g_mime_message_get_mime_part(m) == NULL)
		return;
	if (GMIME_IS_PART(g_mime_message_get_mime_part(m))) {
		msgview_classify(w, g_mime_message_get_mime_part(m), "1");
		return;
	}
	it = g_mime_part_iter_new(GMIME_OBJECT(m));
	while (g_mime_part_iter_is_valid(it) && seen++ < MSGVIEW_PARTS_MAX &&
	    w->nparts < MSGVIEW_PARTS_MAX) {
		GMimeObject *o = g_mime_part_iter_get_current(it);

		if (GMIME_IS_PART(o)) {
			char *path = g_mime_part_iter_get_path(it);

			msgview_classify(w, o, path);
			g_free(path);
		}
		if (!g_mime_part_iter_next(it))
			break;
	}
	g_mime_part_iter_free(it);
}

/* msgview_walk_clear - the paths msgview_walk copied. */
static void
msgview_walk_clear(struct msgview_walk *w)
{
	size_t i;

	for (i = 0; i < w->nparts; i++)
		free(w->paths[i]);
	w->nparts = 0;
}

/* msgview_part_text - a text part's content in UTF-8 (GLib heap). */
static char *
msgview_part_text(GMimeObject *o)
{
	char *t, *valid;

	if (o == NULL || (t = g_mime_text_part_get_text(GMIME_TEXT_PART(o)))
	    == NULL)
		return g_strdup("");
	valid = g_utf8_make_valid(t, -1);
	g_free(t);
	return valid;
}

/* msgview_strip_html - HTML's text, roughly: tags dropped (for the
 * snippet and the text of a message that has only HTML). */
static char *
msgview_strip_html(const char *html)
{
	GString *s = g_string_sized_new(strlen(html) / 2);
	bool tag = false;
	char *out;

	for (; *html != '\0'; html++) {
		if (*html == '<')
			tag = true;
		else if (*html == '>')
			tag = false;
		else if (!tag)
			g_string_append_c(s, *html);
	}
	out = xstrdup(s->str);
	g_string_free(s, TRUE);
	return out;
}

/* msgview_snippet - the first MSGVIEW_SNIPPET_MAX characters of text,
 * white space runs made one space. */
static char *
msgview_snippet(const char *text)
{
	GString *s = g_string_new(NULL);
	size_t n = 0;
	bool space = true;
	char *out;

	for (; *text != '\0' && n < MSGVIEW_SNIPPET_MAX;
	    text += g_utf8_skip[*(const guchar *)text]) {
		gunichar ch = g_utf8_get_char(text);

		if (g_unichar_isspace(ch) || g_unichar_iscntrl(ch)) {
			if (!space)
				g_string_append_c(s, ' ');
			space = true;
		} else {
			g_string_append_unichar(s, ch);
			space = false;
		}
		n++;
	}
	while (s->len > 0 && s->str[s->len - 1] == ' ')
		g_string_truncate(s, s->len - 1);
	out = s->len > 0 ? xstrdup(s->str) : NULL;
	g_string_free(s, TRUE);
	return out;
}

/* msgview_body_text - Text, else the HTML without its tags (heap). */
static char *
msgview_body_text(const struct msgview_walk *w)
{
	char *t, *out;

	if (w->text != NULL || w->html == NULL) {
		t = msgview_part_text(w->text);
		out = xstrdup(t);
	} else {
		t = msgview_part_text(w->html);
		out = msgview_strip_html(t);
	}
	g_free(t);
	return out;
}

int
msgview_summary(const char *path, const struct envelope *env,
    struct msgview_sum *out)
{
	GMimeMessage *m = msgview_open(path);
	struct msgview_walk *w;
	char *text;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (m == NULL)
		return -1;
	out->from = msgview_list(g_mime_message_get_from(m));
	out->to = msgview_list(g_mime_message_get_to(m));
	out->cc = msgview_list(g_mime_message_get_cc(m));
	out->bcc = msgview_bcc(m, env);
	out->reply_to = msgview_list(g_mime_message_get_reply_to(m));
	out->subject = msgview_dup(g_mime_message_get_subject(m), true);
	out->message_id = msgview_dup(g_mime_message_get_message_id(m), true);
	w = xmalloc(sizeof(*w));
	msgview_walk(m, w);
	for (i = 0; i < w->nparts; i++)
		*(w->inline_[i] ? &out->inlines : &out->attachments) += 1;
	text = msgview_body_text(w);
	out->snippet = msgview_snippet(text);
	free(text);
	msgview_walk_clear(w);
	free(w);
	g_object_unref(m);
	return 0;
}

void
msgview_sum_clear(struct msgview_sum *s)
{
	char **strs[] = { &s->from, &s->to, &s->cc, &s->bcc, &s->reply_to,
	    &s->subject, &s->message_id, &s->snippet };
	size_t i;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	memset(s, 0, sizeof(*s));
}

/* msgview_add_mailboxes - l's mailboxes (groups opened) onto arr. */
static void
msgview_add_mailboxes(json_t *arr, InternetAddressList *l, int depth)
{
	int i, n = l != NULL ? internet_address_list_length(l) : 0;

	for (i = 0; i < n && depth < 4; i++) {
		InternetAddress *a = internet_address_list_get_address(l, i);
		const char *name = internet_address_get_name(a);

		if (INTERNET_ADDRESS_IS_GROUP(a)) {
			msgview_add_mailboxes(arr,
			    internet_address_group_get_members(
			    INTERNET_ADDRESS_GROUP(a)), depth + 1);
			continue;
		}
		(void)json_array_append_new(arr, json_pack("{s:o, s:o}",
		    "Name", msgview_jstr(name), "Address", msgview_jstr(
		    internet_address_mailbox_get_addr(
		    INTERNET_ADDRESS_MAILBOX(a)))));
	}
}

json_t *
msgview_addresses(const char *list)
{
	json_t *arr = json_array();
	InternetAddressList *l;

	if (list == NULL || (l = internet_address_list_parse(NULL, list)) ==
	    NULL)
		return arr;
	msgview_add_mailboxes(arr, l, 0);
	g_object_unref(l);
	return arr;
}

json_t *
msgview_address(const char *list)
{
	json_t *arr = msgview_addresses(list), *first;

	first = json_array_get(arr, 0);
	first = first != NULL ? json_incref(first) :
	    json_pack("{s:s, s:s}", "Name", "", "Address", "");
	json_decref(arr);
	return first;
}

/* msgview_jstr - a JSON string of s made valid UTF-8 ("" for NULL). */
static json_t *
msgview_jstr(const char *s)
{
	char *valid = g_utf8_make_valid(s != NULL ? s : "", -1);
	json_t *j = json_string(valid);

	g_free(valid);
	return j != NULL ? j : json_string("");
}

/* msgview_decoded - a leaf part's decoded content (GLib byte array). */
static GByteArray *
msgview_decoded(GMimeObject *o)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(GMIME_PART(o));
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *ba;

	if (dw != NULL)
		(void)g_mime_data_wrapper_write_to_stream(dw, mem);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	g_object_unref(mem);
	return ba;
}

/* msgview_attachment - Mailpit's Attachment object for one part. */
static json_t *
msgview_attachment(GMimeObject *o, const char *path)
{
	GByteArray *ba = msgview_decoded(o);
	char *type = g_mime_content_type_get_mime_type(
	    g_mime_object_get_content_type(o));
	char *md5 = g_compute_checksum_for_data(G_CHECKSUM_MD5, ba->data,
	    ba->len);
	char *sha1 = g_compute_checksum_for_data(G_CHECKSUM_SHA1, ba->data,
	    ba->len);
	char *sha256 = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
	    ba->data, ba->len);
	json_t *a = json_object();

	(void)json_object_set_new(a, "PartID", msgview_jstr(path));
	(void)json_object_set_new(a, "FileName",
	    msgview_jstr(g_mime_part_get_filename(GMIME_PART(o))));
	(void)json_object_set_new(a, "ContentType", msgview_jstr(type));
	(void)json_object_set_new(a, "ContentID",
	    msgview_jstr(g_mime_part_get_content_id(GMIME_PART(o))));
	(void)json_object_set_new(a, "Size", json_integer((json_int_t)ba->len));
	(void)json_object_set_new(a, "Checksums", json_pack("{s:s, s:s, s:s}",
	    "MD5", md5, "SHA1", sha1, "SHA256", sha256));
	g_free(md5);
	g_free(sha1);
	g_free(sha256);
	g_free(type);
	g_byte_array_unref(ba);
	return a;
}

/* msgview_date - the Date: header as RFC 3339, else fallback. */
static json_t *
msgview_date(GMimeMessage *m, const char *fallback)
{
	GDateTime *dt = g_mime_message_get_date(m);
	char *s;
	json_t *j;

	if (dt == NULL)
		return msgview_jstr(fallback);
	s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S%:z");
	j = msgview_jstr(s != NULL ? s : fallback);
	g_free(s);
	return j;
}

/* msgview_unsubscribe - Mailpit's ListUnsubscribe object (the header
 * as given; links between <> that are http(s) or mailto). */
static json_t *
msgview_unsubscribe(GMimeMessage *m)
{
	GMimeObject *o = GMIME_OBJECT(m);
	const char *h = g_mime_object_get_header(o, "List-Unsubscribe");
	const char *post = g_mime_object_get_header(o, "List-Unsubscribe-Post");
	json_t *links = json_array();
	const char *p = h, *end;

	while (p != NULL && (p = strchr(p, '<')) != NULL &&
	    (end = strchr(p, '>')) != NULL && json_array_size(links) < 16) {
		char *link = g_strndup(p + 1, (gsize)(end - p - 1));

		(void)json_array_append_new(links, msgview_jstr(link));
		g_free(link);
		p = end + 1;
	}
	return json_pack("{s:o, s:o, s:s, s:o}", "Header", msgview_jstr(h),
	    "Links", links, "Errors", "", "HeaderPost", msgview_jstr(post));
}

int
msgview_message(const char *path, const char *fallback_date, json_t *o)
{
	GMimeMessage *m = msgview_open(path);
	struct msgview_walk *w;
	json_t *inl = json_array(), *att = json_array();
	char *t;
	size_t i;

	if (m == NULL) {
		json_decref(inl);
		json_decref(att);
		return -1;
	}
	w = xmalloc(sizeof(*w));
	msgview_walk(m, w);
	(void)json_object_set_new(o, "Date", msgview_date(m, fallback_date));
	t = msgview_part_text(w->text);
	(void)json_object_set_new(o, "Text", msgview_jstr(t));
	g_free(t);
	t = msgview_part_text(w->html);
	(void)json_object_set_new(o, "HTML", msgview_jstr(t));
	g_free(t);
	for (i = 0; i < w->nparts; i++)
		(void)json_array_append_new(w->inline_[i] ? inl : att,
		    msgview_attachment(w->parts[i], w->paths[i]));
	(void)json_object_set_new(o, "Inline", inl);
	(void)json_object_set_new(o, "Attachments", att);
	(void)json_object_set_new(o, "ListUnsubscribe", msgview_unsubscribe(m));
	msgview_walk_clear(w);
	free(w);
	g_object_unref(m);
	return 0;
}

/* msgview_add_headers - the fields of one header list onto o. */
static void
msgview_add_headers(json_t *o, GMimeHeaderList *hl)
{
	int i, n = hl != NULL ? g_mime_header_list_get_count(hl) : 0;

	for (i = 0; i < n && i < 1000; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *name = g_mime_header_get_name(h);
		char *v = g_mime_utils_header_decode_text(NULL,
		    g_mime_header_get_value(h));
		char *vn = g_utf8_make_valid(name, -1);
		json_t *arr = json_object_get(o, vn);

		if (arr == NULL) {
			arr = json_array();
			(void)json_object_set_new(o, vn, arr);
		}
		(void)json_array_append_new(arr, msgview_jstr(v));
		g_free(vn);
		g_free(v);
	}
}

json_t *
msgview_headers(const char *path)
{
	GMimeMessage *m = msgview_open(path);
	GMimeObject *part;
	json_t *o;

	if (m == NULL)
		return NULL;
	o = json_object();
	msgview_add_headers(o, g_mime_object_get_header_list(GMIME_OBJECT(m)));
	part = g_mime_message_get_mime_part(m);
	if (part != NULL)
		msgview_add_headers(o, g_mime_object_get_header_list(part));
	g_object_unref(m);
	return o;
}

int
msgview_part(const char *path, const char *part_id, char **data_out,
    size_t *len_out, char **type_out, char **name_out)
{
	GMimeMessage *m = msgview_open(path);
	struct msgview_walk *w;
	size_t i;
	int rc = -1;

	if (m == NULL)
		return -1;
	w = xmalloc(sizeof(*w));
	msgview_walk(m, w);
	for (i = 0; i < w->nparts && rc != 0; i++) {
		GByteArray *ba;
		char *type;

		if (strcmp(w->paths[i], part_id) != 0)
			continue;
		ba = msgview_decoded(w->parts[i]);
		*len_out = ba->len;
		*data_out = xmalloc(ba->len + 1);
		if (ba->len > 0)
			memcpy(*data_out, ba->data, ba->len);
		g_byte_array_unref(ba);
		type = g_mime_content_type_get_mime_type(
		    g_mime_object_get_content_type(w->parts[i]));
		*type_out = xstrdup(type);
		g_free(type);
		*name_out = msgview_dup(g_mime_part_get_filename(
		    GMIME_PART(w->parts[i])), false);
		if (*name_out == NULL)
			*name_out = xstrdup("");
		rc = 0;
	}
	msgview_walk_clear(w);
	free(w);
	g_object_unref(m);
	return rc;
}

/* msgview_body - the text (html false) or HTML body of path (heap). */
static char *
msgview_body(const char *path, bool html)
{
	GMimeMessage *m = msgview_open(path);
	struct msgview_walk *w;
	char *t, *out;

	if (m == NULL)
		return xstrdup("");
	w = xmalloc(sizeof(*w));
	msgview_walk(m, w);
	if (html) {
		t = msgview_part_text(w->html);
		out = xstrdup(t);
		g_free(t);
	} else {
		out = msgview_body_text(w);
	}
	msgview_walk_clear(w);
	free(w);
	g_object_unref(m);
	return out;
}

char *
msgview_text(const char *path)
{
	return msgview_body(path, false);
}

char *
msgview_html(const char *path)
{
	return msgview_body(path, true);
}
