/* SPDX-License-Identifier: ISC */
/*
 * sinkapi - Mailpit's API v1 over the sink Maildir: the route table and
 * one handler per route, JSON through jansson with Mailpit's field names
 * and types (its swagger.json), the web page's files (www.h), the live
 * events for the page (Server-Sent Events named like Mailpit's websocket
 * Types) and the search that waits (wait=, an inlet extension).  IDs are
 * checked (mindex_is_valid_id) before anything else sees them; requests
 * that change state need a JSON body (415 otherwise: no cross-site form
 * posts).  Loop thread only.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "buf.h"
#include "chaos.h"
#include "http.h"
#include "log.h"
#include "mindex.h"
#include "msgview.h"
#include "search.h"
#include "sinkapi.h"
#include "www.h"
#include "xalloc.h"

#define SINKAPI_JSON	"application/json; charset=utf-8"
#define SINKAPI_TEXT	"text/plain; charset=utf-8"
#define SINKAPI_PAGE_CSP "default-src 'self'; script-src 'self'; " \
	"style-src 'self'; img-src 'self' data:; frame-src 'self'; " \
	"connect-src 'self'; object-src 'none'; base-uri 'none'; " \
	"form-action 'none'; frame-ancestors 'none'"
/* A message's HTML: no script, no plugin, no form, no navigation of the
 * page; images and styles may load (as a mail reader shows them). */
#define SINKAPI_VIEW_CSP "default-src 'none'; img-src data: cid: http: " \
	"https:; style-src 'unsafe-inline' data: http: https:; font-src " \
	"data: http: https:; frame-ancestors 'self'; sandbox"

/* A search parked by wait= until a match arrives or its time is up. */
struct sinkapi_wait {
	struct sinkapi			*api;
	struct evhttp_request		*req;
	struct evhttp_connection	*evcon;
	struct search			*search;
	size_t				 start, limit;
	struct event			*timer;
};

struct sinkapi {
	struct mindex			*ix;
	struct chaos			**chaos;	/* main's live set */
	struct http			*http;
	struct event_base		*base;
	time_t				 started;
	unsigned long			 deleted;
	struct evhttp_request		*sse[SINKAPI_SSE_MAX];
	struct evhttp_connection	*sse_conn[SINKAPI_SSE_MAX];
	size_t				 nsse;
	struct sinkapi_wait		*waits[SINKAPI_WAIT_MAX];
	size_t				 nwaits;
	struct event			*ping;		/* event streams */
	bool				 truncating;	/* deleting all */
};

/* One route: a path (exact, or a prefix ending in '/') and its handler,
 * given the rest of the path after a prefix. */
struct sinkapi_route {
	const char	*path;
	bool		 prefix;
	void		(*fn)(struct sinkapi *, struct evhttp_request *,
			    const char *rest);
};

static void	sinkapi_sse_send(struct sinkapi *api, const char *type,
		    json_t *data);
static void	sinkapi_stats(struct sinkapi *api);

/* sinkapi_json - answer with o (taken) as compact JSON. */
static void
sinkapi_json(struct evhttp_request *req, json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT);

	if (text == NULL)
		log_fatal("out of memory (json)");
	http_send(req, 200, SINKAPI_JSON, text, strlen(text));
	free(text);
	json_decref(o);
}

/* sinkapi_ok - Mailpit's answer to a change: text "ok". */
static void
sinkapi_ok(struct evhttp_request *req)
{
	http_send(req, 200, SINKAPI_TEXT, "ok", 2);
}

/* sinkapi_method - the request's method is allowed by mask, else 405. */
static bool
sinkapi_method(struct evhttp_request *req, int mask)
{
	if ((evhttp_request_get_command(req) & mask) != 0)
		return true;
	http_error(req, 405, "method not allowed");
	return false;
}

/* sinkapi_created - a time as RFC 3339 with milliseconds, UTC. */
static json_t *
sinkapi_created(const struct timespec *ts)
{
	char s[64];
	struct tm tm;

	if (gmtime_r(&ts->tv_sec, &tm) == NULL)
		return json_string("1970-01-01T00:00:00Z");
	(void)snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts->tv_nsec / 1000000);
	return json_string(s);
}

/* sinkapi_str - a JSON string, "" for NULL (index strings are UTF-8). */
static json_t *
sinkapi_str(const char *s)
{
	json_t *j = json_string(s != NULL ? s : "");

	return j != NULL ? j : json_string("");
}

/* sinkapi_common - the fields MessageSummary and Message share. */
static json_t *
sinkapi_common(const struct mindex_msg *m)
{
	json_t *o = json_object();

	(void)json_object_set_new(o, "ID", sinkapi_str(m->id));
	(void)json_object_set_new(o, "MessageID",
	    sinkapi_str(m->sum.message_id));
	(void)json_object_set_new(o, "From", msgview_address(m->sum.from));
	(void)json_object_set_new(o, "To", msgview_addresses(m->sum.to));
	(void)json_object_set_new(o, "Cc", msgview_addresses(m->sum.cc));
	(void)json_object_set_new(o, "Bcc", msgview_addresses(m->sum.bcc));
	(void)json_object_set_new(o, "ReplyTo",
	    msgview_addresses(m->sum.reply_to));
	(void)json_object_set_new(o, "Subject", sinkapi_str(m->sum.subject));
	(void)json_object_set_new(o, "Username", sinkapi_str(m->username));
	(void)json_object_set_new(o, "Tags", json_array());
	(void)json_object_set_new(o, "Size", json_integer((json_int_t)m->size));
	return o;
}

/* sinkapi_summary - Mailpit's MessageSummary of m. */
static json_t *
sinkapi_summary(const struct mindex_msg *m)
{
	json_t *o = sinkapi_common(m);

	(void)json_object_set_new(o, "Read", json_boolean(m->read));
	(void)json_object_set_new(o, "Created", sinkapi_created(&m->created));
	(void)json_object_set_new(o, "Attachments",
	    json_integer(m->sum.attachments));
	(void)json_object_set_new(o, "Snippet", sinkapi_str(m->sum.snippet));
	return o;
}

/* sinkapi_param - one query parameter of req into out ("" when absent);
 * false when the query string cannot be parsed. */
static bool
sinkapi_param(struct evhttp_request *req, const char *name, char *out,
    size_t outlen)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *q = evhttp_uri_get_query(uri);
	struct evkeyvalq params;
	const char *v;
	bool ok = true;

	out[0] = '\0';
	if (q == NULL)
		return true;
	TAILQ_INIT(&params);
	if (evhttp_parse_query_str(q, &params) != 0)
		return false;
	if ((v = evhttp_find_header(&params, name)) != NULL) {
		ok = strlen(v) < outlen;
		(void)snprintf(out, outlen, "%s", ok ? v : "");
	}
	evhttp_clear_headers(&params);
	return ok;
}

/* sinkapi_num - a numeric query parameter, def when absent; false (and
 * a 400 sent) when it is not a number up to max. */
static bool
sinkapi_num(struct evhttp_request *req, const char *name, size_t def,
    size_t max, size_t *out)
{
	char v[32], *end;
	unsigned long n;

	*out = def;
	if (!sinkapi_param(req, name, v, sizeof(v)))
		goto bad;
	if (v[0] == '\0')
		return true;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || v[0] == '-' || n > max)
		goto bad;
	*out = n;
	return true;
bad:
	http_error(req, 400, "bad number");
	return false;
}

/* sinkapi_page - Mailpit's MessagesSummary envelope around msgs. */
static json_t *
sinkapi_page(const struct sinkapi *api, json_t *msgs, size_t matched,
    size_t matched_unread, size_t start)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:[], s:o}",
	    "total", (json_int_t)mindex_count(api->ix, false),
	    "unread", (json_int_t)mindex_count(api->ix, true),
	    "count", (json_int_t)json_array_size(msgs),
	    "messages_count", (json_int_t)matched,
	    "messages_unread", (json_int_t)matched_unread,
	    "start", (json_int_t)start, "tags", "messages", msgs);
}

/* sinkapi_list - GET /api/v1/messages: newest first, start and limit. */
static void
sinkapi_list(struct sinkapi *api, struct evhttp_request *req)
{
	size_t start, limit, i;
	json_t *msgs;

	if (!sinkapi_num(req, "start", 0, SIZE_MAX / 2, &start) ||
	    !sinkapi_num(req, "limit", 50, SINKAPI_LIMIT_MAX, &limit))
		return;
	msgs = json_array();
	for (i = start; i < start + limit && mindex_at(api->ix, i) != NULL; i++)
		(void)json_array_append_new(msgs,
		    sinkapi_summary(mindex_at(api->ix, i)));
	sinkapi_json(req, sinkapi_page(api, msgs, mindex_count(api->ix, false),
	    mindex_count(api->ix, true), start));
}

/*
 * sinkapi_body - the request's JSON body as an object into *out (NULL
 * when there is no body).  Sends 415 for a body that is not
 * application/json, 400 for JSON that is not an object; false then.
 */
static bool
sinkapi_body(struct evhttp_request *req, json_t **out)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *type = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Content-Type");
	size_t len = evbuffer_get_length(in);
	json_error_t jerr;

	*out = NULL;
	if (len == 0)
		return true;
	if (type == NULL || strncasecmp(type, "application/json", 16) != 0) {
		http_error(req, 415, "a body must be application/json");
		return false;
	}
	*out = json_loadb((const char *)evbuffer_pullup(in, -1), len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (*out == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		http_error(req, 400, "the body is not a JSON object");
		return false;
	}
	return true;
}

/* sinkapi_ids - body's "IDs" (absent: an empty array), every one a
 * valid ID; NULL and 400 sent otherwise.  Borrowed from body. */
static json_t *
sinkapi_ids(struct evhttp_request *req, json_t *body)
{
	json_t *ids = body != NULL ? json_object_get(body, "IDs") : NULL;
	static json_t *none;
	size_t i;
	json_t *v;

	if (none == NULL)
		none = json_array();
	if (ids == NULL || json_is_null(ids))
		return none;
	if (!json_is_array(ids))
		goto bad;
	json_array_foreach(ids, i, v) {
		if (!json_is_string(v) ||
		    !mindex_is_valid_id(json_string_value(v)))
			goto bad;
	}
	return ids;
bad:
	http_error(req, 400, "IDs: an array of message IDs");
	return NULL;
}

/* sinkapi_set_read - PUT /api/v1/messages {"IDs": [...], "Read": bool}:
 * the S flag of those (all when IDs is empty). */
static void
sinkapi_set_read(struct sinkapi *api, struct evhttp_request *req)
{
	json_t *body, *ids, *v;
	bool read;
	size_t i;

	if (!sinkapi_body(req, &body))
		return;
	if (body == NULL) {
		http_error(req, 415, "a body must be application/json");
		return;
	}
	if ((ids = sinkapi_ids(req, body)) == NULL) {
		json_decref(body);
		return;
	}
	read = json_is_true(json_object_get(body, "Read"));
	if (json_array_size(ids) == 0) {
		for (i = 0; i < mindex_count(api->ix, false); i++)
			(void)mindex_set_read(api->ix,
			    mindex_at(api->ix, i)->id, read);
	}
	json_array_foreach(ids, i, v)
		(void)mindex_set_read(api->ix, json_string_value(v), read);
	json_decref(body);
	sinkapi_ok(req);
}

/* sinkapi_delete_all - every message (the oldest first), and one
 * "truncate" event for the page, as Mailpit sends. */
static void
sinkapi_delete_all(struct sinkapi *api)
{
	api->truncating = true;
	while (mindex_count(api->ix, false) > 0)
		if (mindex_delete(api->ix, mindex_at(api->ix,
		    mindex_count(api->ix, false) - 1)->id, "api") != 0)
			break;
	api->truncating = false;
	sinkapi_sse_send(api, "truncate", json_null());
	sinkapi_stats(api);
}

/* sinkapi_delete - DELETE /api/v1/messages: {"IDs": [...]}, or all. */
static void
sinkapi_delete(struct sinkapi *api, struct evhttp_request *req)
{
	json_t *body, *ids, *v;
	size_t i;

	if (!sinkapi_body(req, &body))
		return;
	if ((ids = sinkapi_ids(req, body)) == NULL) {
		json_decref(body);
		return;
	}
	if (json_array_size(ids) == 0)
		sinkapi_delete_all(api);
	json_array_foreach(ids, i, v)
		(void)mindex_delete(api->ix, json_string_value(v), "api");
	json_decref(body);
	sinkapi_ok(req);
}

/* sinkapi_messages - /api/v1/messages. */
static void
sinkapi_messages(struct sinkapi *api, struct evhttp_request *req,
    const char *rest)
{
	(void)rest;
	if (!sinkapi_method(req, EVHTTP_REQ_GET | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE))
		return;
	if (evhttp_request_get_command(req) == EVHTTP_REQ_PUT)
		sinkapi_set_read(api, req);
	else if (evhttp_request_get_command(req) == EVHTTP_REQ_DELETE)
		sinkapi_delete(api, req);
	else
		sinkapi_list(api, req);
}

/* The body text of a message, read only if a search needs it. */
struct sinkapi_text {
	const struct sinkapi	*api;
	const struct mindex_msg	*m;
	char			*text;
};

/* sinkapi_text_cb - search_msg.text: the message's text (cached). */
static const char *
sinkapi_text_cb(void *ctx)
{
	struct sinkapi_text *t = ctx;
	char path[PATH_MAX];

	if (t->text == NULL) {
		mindex_path(t->api->ix, t->m, path, sizeof(path));
		t->text = msgview_text(path);
	}
	return t->text;
}

/* sinkapi_matches - whether m matches s. */
static bool
sinkapi_matches(const struct sinkapi *api, const struct search *s,
    const struct mindex_msg *m)
{
	struct sinkapi_text t = { api, m, NULL };
	struct search_msg sm = {
		.from = m->sum.from, .to = m->sum.to, .cc = m->sum.cc,
		.bcc = m->sum.bcc, .reply_to = m->sum.reply_to,
		.subject = m->sum.subject, .message_id = m->sum.message_id,
		.read = m->read, .has_attachment = m->sum.attachments > 0,
		.has_inline = m->sum.inlines > 0, .created = m->created.tv_sec,
		.size = m->size, .text = sinkapi_text_cb, .ctx = &t,
	};
	bool yes = search_match(s, &sm);

	free(t.text);
	return yes;
}

/* sinkapi_search_page - the page of s's matches from start. */
static json_t *
sinkapi_search_page(const struct sinkapi *api, const struct search *s,
    size_t start, size_t limit)
{
	json_t *msgs = json_array();
	size_t i, matched = 0, unread = 0;

	for (i = 0; i < mindex_count(api->ix, false); i++) {
		const struct mindex_msg *m = mindex_at(api->ix, i);

		if (!sinkapi_matches(api, s, m))
			continue;
		if (matched >= start && matched < start + limit)
			(void)json_array_append_new(msgs, sinkapi_summary(m));
		matched++;
		unread += !m->read;
	}
	return sinkapi_page(api, msgs, matched, unread, start);
}

/* sinkapi_parse_search - the query= of req, parsed; NULL and 400 sent
 * when it is bad. */
static struct search *
sinkapi_parse_search(struct evhttp_request *req)
{
	char q[SEARCH_QUERY_MAX + 1];
	struct search *s = NULL;
	const char *err = "query too long";

	if (!sinkapi_param(req, "query", q, sizeof(q)) ||
	    search_parse(q, &s, &err) != 0) {
		http_error(req, 400, err);
		return NULL;
	}
	return s;
}

/* sinkapi_delete_search - DELETE /api/v1/search?query=: its matches. */
static void
sinkapi_delete_search(struct sinkapi *api, struct evhttp_request *req)
{
	struct search *s = sinkapi_parse_search(req);
	size_t i;

	if (s == NULL)
		return;
	for (i = mindex_count(api->ix, false); i > 0; i--) {
		const struct mindex_msg *m = mindex_at(api->ix, i - 1);

		if (sinkapi_matches(api, s, m))
			(void)mindex_delete(api->ix, m->id, "api");
	}
	search_free(&s);
	sinkapi_ok(req);
}

/* sinkapi_wait_secs - wait=N, Ns or Nm (at most SINKAPI_WAIT_SECS); -1
 * when bad, 0 when absent. */
static long
sinkapi_wait_secs(struct evhttp_request *req)
{
	char v[16], *end;
	long n;

	if (!sinkapi_param(req, "wait", v, sizeof(v)))
		return -1;
	if (v[0] == '\0')
		return 0;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || n < 0 || end == v)
		return -1;
	if (*end == 'm' || *end == 's')
		n = *end++ == 's' || n > SINKAPI_WAIT_SECS ? n : n * 60;
	if (*end != '\0')
		return -1;
	return n > SINKAPI_WAIT_SECS ? SINKAPI_WAIT_SECS : n;
}

/* sinkapi_wait_end - answer a parked search with its page now and
 * forget it. */
static void
sinkapi_wait_end(struct sinkapi_wait *w)
{
	struct sinkapi *api = w->api;
	size_t i;

	sinkapi_json(w->req, sinkapi_search_page(api, w->search, w->start,
	    w->limit));
	for (i = 0; i < api->nwaits; i++)
		if (api->waits[i] == w)
			api->waits[i] = api->waits[--api->nwaits];
	event_free(w->timer);
	search_free(&w->search);
	free(w);
}

/* sinkapi_wait_cb - a parked search's time is up. */
static void
sinkapi_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sinkapi_wait_end(arg);
}

/* sinkapi_park - keep req until a message matches s or secs pass; false
 * when SINKAPI_WAIT_MAX searches already wait. */
static bool
sinkapi_park(struct sinkapi *api, struct evhttp_request *req,
    struct search *s, size_t start, size_t limit, long secs)
{
	struct timeval tv = { secs, 0 };
	struct sinkapi_wait *w;

	if (api->nwaits == SINKAPI_WAIT_MAX)
		return false;
	w = xcalloc(1, sizeof(*w));
	*w = (struct sinkapi_wait){ api, req,
	    evhttp_request_get_connection(req), s, start, limit, NULL };
	w->timer = evtimer_new(api->base, sinkapi_wait_cb, w);
	if (w->timer == NULL || evtimer_add(w->timer, &tv) != 0)
		log_fatal("cannot set up a search wait");
	api->waits[api->nwaits++] = w;
	return true;
}

/* sinkapi_search - GET /api/v1/search?query=&start=&limit=[&wait=]. */
static void
sinkapi_search(struct sinkapi *api, struct evhttp_request *req,
    const char *rest)
{
	struct search *s;
	size_t start, limit;
	long secs;
	json_t *page;

	(void)rest;
	if (!sinkapi_method(req, EVHTTP_REQ_GET | EVHTTP_REQ_DELETE))
		return;
	if (evhttp_request_get_command(req) == EVHTTP_REQ_DELETE) {
		sinkapi_delete_search(api, req);
		return;
	}
	if (!sinkapi_num(req, "start", 0, SIZE_MAX / 2, &start) ||
	    !sinkapi_num(req, "limit", 50, SINKAPI_LIMIT_MAX, &limit))
		return;
	if ((secs = sinkapi_wait_secs(req)) < 0) {
		http_error(req, 400, "wait: a duration (10s, 1m)");
		return;
	}
	if ((s = sinkapi_parse_search(req)) == NULL)
		return;
	page = sinkapi_search_page(api, s, start, limit);
	if (secs > 0 && json_integer_value(json_object_get(page,
	    "messages_count")) == 0) {
		json_decref(page);
		if (sinkapi_park(api, req, s, start, limit, secs))
			return;
		search_free(&s);
		http_error(req, 503, "too many waiting searches");
		return;
	}
	search_free(&s);
	sinkapi_json(req, page);
}

/* sinkapi_lookup - the message of an ID path segment ("latest" is the
 * newest); NULL and 400 or 404 sent when there is none. */
static const struct mindex_msg *
sinkapi_lookup(struct sinkapi *api, struct evhttp_request *req,
    const char *id)
{
	const struct mindex_msg *m;

	if (strcmp(id, "latest") == 0)
		m = mindex_at(api->ix, 0);
	else if (!mindex_is_valid_id(id)) {
		http_error(req, 400, "bad message ID");
		return NULL;
	} else
		m = mindex_find(api->ix, id);
	if (m == NULL)
		http_error(req, 404, "no such message");
	return m;
}

/* sinkapi_message_json - GET /api/v1/message/ID: Mailpit's Message;
 * fetching it marks it read, as Mailpit does. */
static void
sinkapi_message_json(struct sinkapi *api, struct evhttp_request *req,
    const struct mindex_msg *m)
{
	char path[PATH_MAX], id[MINDEX_ID_MAX + 1];
	json_t *o = sinkapi_common(m), *created = sinkapi_created(&m->created);

	(void)json_object_set_new(o, "ReturnPath",
	    sinkapi_str(m->return_path));
	mindex_path(api->ix, m, path, sizeof(path));
	if (msgview_message(path, json_string_value(created), o) != 0) {
		json_decref(created);
		json_decref(o);
		http_error(req, 404, "no such message");
		return;
	}
	json_decref(created);
	(void)snprintf(id, sizeof(id), "%s", m->id);
	(void)mindex_set_read(api->ix, id, true);
	sinkapi_json(req, o);
}

/* sinkapi_raw - GET .../raw: the stored bytes as text/plain. */
static void
sinkapi_raw(struct sinkapi *api, struct evhttp_request *req,
    const struct mindex_msg *m)
{
	char path[PATH_MAX];
	struct evbuffer *b;
	struct stat st;
	int fd;

	mindex_path(api->ix, m, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) != 0) {
		if (fd >= 0)
			(void)close(fd);
		http_error(req, 404, "no such message");
		return;
	}
	if ((b = evbuffer_new()) == NULL)
		log_fatal("out of memory (http)");
	if (st.st_size == 0)
		(void)close(fd);
	else if (evbuffer_add_file(b, fd, 0, st.st_size) != 0) {
		/* whether fd was closed is not said: a leak, never a
		 * double close; a client never ends the daemon */
		log_event(LOG_LEVEL_WARN, NULL, "event=http-error",
		    LOG_Q("file", path), LOG_Q("error", "cannot send"));
		evbuffer_free(b);
		http_error(req, 500, "cannot read the message");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", SINKAPI_TEXT);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "X-Content-Type-Options", "nosniff");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* sinkapi_is_part_id - "1", "1.2": digits and dots, short. */
static bool
sinkapi_is_part_id(const char *p)
{
	size_t n = strspn(p, "0123456789.");

	return n > 0 && n <= 64 && p[n] == '\0' && p[0] != '.';
}

/* sinkapi_part - GET .../part/PARTID: the decoded part, as a download
 * (never rendered in our origin). */
static void
sinkapi_part(struct sinkapi *api, struct evhttp_request *req,
    const struct mindex_msg *m, const char *part_id)
{
	char path[PATH_MAX], *data, *type, *name;
	size_t len;

	if (!sinkapi_is_part_id(part_id)) {
		http_error(req, 400, "bad part ID");
		return;
	}
	mindex_path(api->ix, m, path, sizeof(path));
	if (msgview_part(path, part_id, &data, &len, &type, &name) != 0) {
		http_error(req, 404, "no such part");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Disposition", "attachment");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Security-Policy", "default-src 'none'; sandbox");
	http_send(req, 200, strchr(type, '\n') == NULL && strchr(type, '\r')
	    == NULL ? type : "application/octet-stream", data, len);
	free(data);
	free(type);
	free(name);
}

/* sinkapi_message - /api/v1/message/ID[/headers|/raw|/part/PARTID]. */
static void
sinkapi_message(struct sinkapi *api, struct evhttp_request *req,
    const char *rest)
{
	char id[MINDEX_ID_MAX + 2], path[PATH_MAX];
	const char *slash = strchr(rest, '/');
	size_t idlen = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
	const struct mindex_msg *m;
	json_t *h;

	if (!sinkapi_method(req, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD))
		return;
	if (idlen >= sizeof(id)) {
		http_error(req, 400, "bad message ID");
		return;
	}
	memcpy(id, rest, idlen);
	id[idlen] = '\0';
	if ((m = sinkapi_lookup(api, req, id)) == NULL)
		return;
	if (slash == NULL)
		sinkapi_message_json(api, req, m);
	else if (strcmp(slash, "/raw") == 0)
		sinkapi_raw(api, req, m);
	else if (strncmp(slash, "/part/", 6) == 0)
		sinkapi_part(api, req, m, slash + 6);
	else if (strcmp(slash, "/headers") == 0) {
		mindex_path(api->ix, m, path, sizeof(path));
		if ((h = msgview_headers(path)) == NULL)
			http_error(req, 404, "no such message");
		else
			sinkapi_json(req, h);
	} else
		http_error(req, 404, "not found");
}

/* sinkapi_view - GET /view/ID.html (under a sandboxing CSP) and
 * /view/ID.txt. */
static void
sinkapi_view(struct sinkapi *api, struct evhttp_request *req,
    const char *rest)
{
	char id[MINDEX_ID_MAX + 8], path[PATH_MAX], *body;
	size_t n = strlen(rest);
	const struct mindex_msg *m;
	bool html;

	if (!sinkapi_method(req, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD))
		return;
	html = n > 5 && strcmp(rest + n - 5, ".html") == 0;
	if ((!html && (n <= 4 || strcmp(rest + n - 4, ".txt") != 0)) ||
	    n >= sizeof(id)) {
		http_error(req, 404, "not found");
		return;
	}
	(void)snprintf(id, sizeof(id), "%.*s", (int)(n - (html ? 5 : 4)), rest);
	if ((m = sinkapi_lookup(api, req, id)) == NULL)
		return;
	mindex_path(api->ix, m, path, sizeof(path));
	body = html ? msgview_html(path) : msgview_text(path);
	if (html)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Security-Policy", SINKAPI_VIEW_CSP);
	http_send(req, 200, html ? "text/html; charset=utf-8" : SINKAPI_TEXT,
	    body, strlen(body));
	free(body);
}

/* sinkapi_info - GET /api/v1/info: Mailpit's AppInformation. */
static void
sinkapi_info(struct sinkapi *api, struct evhttp_request *req,
    const char *rest)
{
	(void)rest;
	if (!sinkapi_method(req, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD))
		return;
	sinkapi_json(req, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:{}, "
	    "s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
	    "Version", "inlet " PACKAGE_VERSION, "LatestVersion", "",
	    "Database", "", "DatabaseSize", (json_int_t)0,
	    "Messages", (json_int_t)mindex_count(api->ix, false),
	    "Unread", (json_int_t)mindex_count(api->ix, true), "Tags",
	    "RuntimeStats", "Memory", (json_int_t)0, "Uptime",
	    (json_int_t)(time(NULL) - api->started), "MessagesDeleted",
	    (json_int_t)api->deleted, "SMTPAccepted", (json_int_t)0,
	    "SMTPAcceptedSize", (json_int_t)0, "SMTPRejected", (json_int_t)0,
	    "SMTPIgnored", (json_int_t)0));
}

/* Mailpit's chaos triggers: their JSON names, stages (as chaos_fmt
 * prints them) and default error codes. */
static const struct {
	const char		*name;
	const char		*stage;
	enum chaos_trigger	 t;
	int			 code;
} sinkapi_triggers[] = {
	{ "Sender", "mail", CHAOS_TRIGGER_SENDER, 451 },
	{ "Recipient", "rcpt", CHAOS_TRIGGER_RECIPIENT, 451 },
	{ "Authentication", "auth", CHAOS_TRIGGER_AUTH, 535 },
};
#define SINKAPI_NTRIGGERS \
	(sizeof(sinkapi_triggers) / sizeof(sinkapi_triggers[0]))

/* sinkapi_chaos_json - Mailpit's ChaosTriggers of set c (a trigger that
 * is not set shows Mailpit's default: its code, probability 0). */
static json_t *
sinkapi_chaos_json(const struct chaos *c)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < SINKAPI_NTRIGGERS; i++) {
		int code = 0, p = 0;

		if (c == NULL || !chaos_mailpit(c, sinkapi_triggers[i].t,
		    &code, &p))
			code = sinkapi_triggers[i].code;
		(void)json_object_set_new(o, sinkapi_triggers[i].name,
		    json_pack("{s:i, s:i}", "ErrorCode", code, "Probability",
		    p));
	}
	return o;
}

/* sinkapi_chaos_copy - old's rules but its Mailpit triggers into c (the
 * sink_chaos lines stay; the triggers are what a PUT replaces).  A
 * trigger's rule is the line chaos_fmt prints for it. */
static void
sinkapi_chaos_copy(const struct chaos *old, struct chaos *c)
{
	char skip[SINKAPI_NTRIGGERS][64], *line, *next;
	const char *err;
	struct buf b;
	size_t i;

	for (i = 0; i < SINKAPI_NTRIGGERS; i++) {
		int code, p;

		skip[i][0] = '\0';
		if (old == NULL || !chaos_mailpit(old, sinkapi_triggers[i].t,
		    &code, &p))
			continue;
		if (p == 100)	/* chaos_fmt leaves a rate of 100% out */
			(void)snprintf(skip[i], sizeof(skip[i]),
			    "%s * reply %d", sinkapi_triggers[i].stage, code);
		else
			(void)snprintf(skip[i], sizeof(skip[i]),
			    "%s * %d%% reply %d", sinkapi_triggers[i].stage, p,
			    code);
	}
	buf_init(&b, (size_t)CHAOS_RULES_MAX * 1024);
	if (old != NULL)
		chaos_fmt(old, &b);
	(void)buf_cstr(&b);
	for (line = b.len > 0 ? b.data : NULL; line != NULL && *line != '\0';
	    line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		for (i = 0; i < SINKAPI_NTRIGGERS; i++)
			if (skip[i][0] != '\0' && strcmp(line, skip[i]) == 0)
				break;
		if (i < SINKAPI_NTRIGGERS)
			skip[i][0] = '\0';	/* that one only */
		else if (chaos_add(c, line, &err) != 0)
			log_fatal("can't happen: chaos rule %s: %s", line, err);
	}
	buf_release(&b);
}

/* sinkapi_chaos_put - a new live set: the old one's sink_chaos rules
 * and the body's triggers.  NULL and *err_out when one is bad. */
static struct chaos *
sinkapi_chaos_put(const struct chaos *old, json_t *body, const char **err_out)
{
	struct chaos *c = chaos_new();
	size_t i;

	sinkapi_chaos_copy(old, c);
	for (i = 0; i < SINKAPI_NTRIGGERS; i++) {
		json_t *t = json_object_get(body, sinkapi_triggers[i].name);
		json_int_t code, p;

		if (t == NULL || json_is_null(t))
			continue;
		code = json_integer_value(json_object_get(t, "ErrorCode"));
		p = json_integer_value(json_object_get(t, "Probability"));
		if (code == 0)
			code = sinkapi_triggers[i].code;
		if (!json_is_object(t) || code > 999 || p > 999 ||
		    chaos_add_mailpit(c, sinkapi_triggers[i].t, (int)code,
		    (int)p, err_out) != 0) {
			*err_out = json_is_object(t) ? *err_out :
			    "a trigger is {\"ErrorCode\": N, "
			    "\"Probability\": N}";
			chaos_unref(&c);
			return NULL;
		}
	}
	return c;
}

/* sinkapi_chaos - GET and PUT /api/v1/chaos: Mailpit's triggers, mapped
 * onto the sink's deterministic rules (chaos.h). */
static void
sinkapi_chaos(struct sinkapi *api, struct evhttp_request *req,
    const char *rest)
{
	const char *err = "a JSON object is needed";
	struct chaos *c;
	json_t *body;

	(void)rest;
	if (!sinkapi_method(req, EVHTTP_REQ_GET | EVHTTP_REQ_PUT))
		return;
	if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
		sinkapi_json(req, sinkapi_chaos_json(*api->chaos));
		return;
	}
	if (!sinkapi_body(req, &body))
		return;
	if (body == NULL ||
	    (c = sinkapi_chaos_put(*api->chaos, body, &err)) == NULL) {
		json_decref(body);
		http_error(req, body == NULL ? 415 : 400, err);
		return;
	}
	json_decref(body);
	chaos_unref(api->chaos);	/* transactions keep their own ref */
	*api->chaos = c;
	log_event(LOG_LEVEL_INFO, NULL, "event=sink-chaos",
	    LOG_U("rules", chaos_count(c)), LOG_TOK("by", "api"));
	sinkapi_json(req, sinkapi_chaos_json(c));
}

/* sinkapi_webui - GET /api/v1/webui: Mailpit's WebUIConfiguration
 * (no relay, no SpamAssassin; chaos on). */
static void
sinkapi_webui(struct sinkapi *api, struct evhttp_request *req,
    const char *rest)
{
	(void)api;
	(void)rest;
	if (!sinkapi_method(req, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD))
		return;
	sinkapi_json(req, json_pack("{s:s, s:{s:b, s:s, s:s, s:s, s:s, s:s, "
	    "s:b}, s:b, s:b, s:b, s:b}", "Label", "inlet",
	    "MessageRelay", "Enabled", 0, "SMTPServer", "", "ReturnPath", "",
	    "AllowedRecipients", "", "BlockedRecipients", "", "OverrideFrom",
	    "", "PreserveMessageIDs", 0, "SpamAssassin", 0, "ChaosEnabled", 1,
	    "DuplicatesIgnored", 0, "HideDeleteAllButton", 0));
}

/* sinkapi_health - /livez and /readyz: alive and serving. */
static void
sinkapi_health(struct sinkapi *api, struct evhttp_request *req,
    const char *rest)
{
	(void)api;
	(void)rest;
	if (sinkapi_method(req, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD))
		sinkapi_ok(req);
}

/*
 * sinkapi_sse_push - b to event stream i.  A client that does not read
 * would make its connection's output grow with every message: once more
 * than SINKAPI_SSE_BACKLOG bytes wait for it, the stream is closed (its
 * events are lost; EventSource reconnects and the page reloads the list).
 * Freeing the connection runs sinkapi_closed, which forgets stream i by
 * moving the last stream into its slot.
 */
static void
sinkapi_sse_push(struct sinkapi *api, size_t i, struct evbuffer *b)
{
	struct evhttp_connection *evcon = api->sse_conn[i];
	struct bufferevent *bev;
	char *addr = NULL;
	size_t pending;
	ev_uint16_t port = 0;

	evhttp_send_reply_chunk(api->sse[i], b);
	if (evhttp_request_get_connection(api->sse[i]) == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL)
		return;
	pending = evbuffer_get_length(bufferevent_get_output(bev));
	if (pending <= SINKAPI_SSE_BACKLOG)
		return;
	evhttp_connection_get_peer(evcon, &addr, &port);
	log_event(LOG_LEVEL_INFO, NULL, "event=sink-events-closed",
	    LOG_TOK("client", addr), LOG_U("port", port),
	    LOG_U("pending", pending));
	evhttp_connection_free(evcon);
}

/* sinkapi_sse_send - one event to every /api/events client (the last
 * first: sinkapi_sse_push may close one, which moves the last). */
static void
sinkapi_sse_send(struct sinkapi *api, const char *type, json_t *data)
{
	json_t *o = json_pack("{s:s, s:O}", "Type", type, "Data", data);
	char *text = json_dumps(o, JSON_COMPACT);
	size_t i;

	for (i = api->nsse; text != NULL && i > 0; i--) {
		struct evbuffer *b = evbuffer_new();

		if (b == NULL || evbuffer_add_printf(b,
		    "event: %s\ndata: %s\n\n", type, text) < 0)
			log_fatal("out of memory (events)");
		sinkapi_sse_push(api, i - 1, b);
		evbuffer_free(b);
	}
	free(text);
	json_decref(o);
}

/* sinkapi_ping_cb - a comment line to every event stream, so that
 * proxies keep it and a vanished client is noticed (the write fails). */
static void
sinkapi_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sinkapi *api = arg;
	size_t i;

	(void)fd;
	(void)what;
	for (i = api->nsse; i > 0; i--) {
		struct evbuffer *b = evbuffer_new();

		if (b == NULL || evbuffer_add(b, ": ping\n\n", 8) != 0)
			log_fatal("out of memory (events)");
		sinkapi_sse_push(api, i - 1, b);
		evbuffer_free(b);
	}
}

/* sinkapi_events - GET /api/events: a Server-Sent Events stream
 * (text/event-stream) of new, delete and stats events. */
static void
sinkapi_events(struct sinkapi *api, struct evhttp_request *req,
    const char *rest)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *b;

	(void)rest;
	if (!sinkapi_method(req, EVHTTP_REQ_GET))
		return;
	if (api->nsse == SINKAPI_SSE_MAX) {
		http_error(req, 503, "too many event streams");
		return;
	}
	evhttp_add_header(out, "Content-Type", "text/event-stream");
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_send_reply_start(req, 200, "OK");
	/* a stream outlives the request timeout; the ping finds dead ones */
	evhttp_connection_set_timeout(evhttp_request_get_connection(req),
	    SINKAPI_SSE_TIMEOUT_SECS);
	if ((b = evbuffer_new()) == NULL)
		log_fatal("out of memory (events)");
	evbuffer_add_printf(b, "retry: 2000\n\n");
	evhttp_send_reply_chunk(req, b);
	evbuffer_free(b);
	api->sse_conn[api->nsse] = evhttp_request_get_connection(req);
	api->sse[api->nsse++] = req;
}

/* sinkapi_www - GET / and /static/NAME: the page's files, with a CSP
 * that allows only the page's own scripts and styles. */
static void
sinkapi_www(struct sinkapi *api, struct evhttp_request *req,
    const char *rest)
{
	const char *name = rest[0] != '\0' ? rest : "index.html";
	size_t i;

	(void)api;
	if (!sinkapi_method(req, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD))
		return;
	for (i = 0; i < www_nfiles; i++) {
		if (strcmp(www_files[i].path, name) != 0)
			continue;
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Security-Policy", SINKAPI_PAGE_CSP);
		http_send(req, 200, www_files[i].type, www_files[i].data,
		    www_files[i].len);
		return;
	}
	http_error(req, 404, "not found");
}

static const struct sinkapi_route sinkapi_routes[] = {
	{ "/api/v1/messages", false, sinkapi_messages },
	{ "/api/v1/search", false, sinkapi_search },
	{ "/api/v1/message/", true, sinkapi_message },
	{ "/api/v1/info", false, sinkapi_info },
	{ "/api/v1/chaos", false, sinkapi_chaos },
	{ "/api/v1/webui", false, sinkapi_webui },
	{ "/api/events", false, sinkapi_events },
	{ "/view/", true, sinkapi_view },
	{ "/livez", false, sinkapi_health },
	{ "/readyz", false, sinkapi_health },
	{ "/static/", true, sinkapi_www },
	{ "/", false, sinkapi_www },
};

/* sinkapi_is_clean_path - a decoded path with no "..", control
 * character or (raw) encoded NUL, fit to route. */
static bool
sinkapi_is_clean_path(const char *raw, const char *path)
{
	const unsigned char *p;

	if (path == NULL || strstr(path, "..") != NULL ||
	    strstr(raw, "%00") != NULL)
		return false;
	for (p = (const unsigned char *)path; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/*
 * sinkapi_request - http's handler: the route of the path, %-decoded
 * (a client may write an ID's "," and "=" as %2C and %3D) and clean
 * (sinkapi_is_clean_path) before any route sees it.
 */
static void
sinkapi_request(struct evhttp_request *req, void *arg)
{
	const char *raw = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(
	    req));
	char *path = raw != NULL ? evhttp_uridecode(raw, 0, NULL) : NULL;
	size_t i, n;

	if (raw == NULL || !sinkapi_is_clean_path(raw, path)) {
		free(path);
		http_error(req, 400, "bad path");
		return;
	}
	for (i = 0; i < sizeof(sinkapi_routes) / sizeof(sinkapi_routes[0]);
	    i++) {
		const struct sinkapi_route *r = &sinkapi_routes[i];

		n = strlen(r->path);
		if (r->prefix ? strncmp(path, r->path, n) == 0 :
		    strcmp(path, r->path) == 0) {
			r->fn(arg, req, r->prefix ? path + n : "");
			break;
		}
	}
	if (i == sizeof(sinkapi_routes) / sizeof(sinkapi_routes[0]))
		http_error(req, 404, "not found");
	free(path);
}

/*
 * sinkapi_release - a held request whose connection is going.  When the
 * client went away (EOF, timeout), evhttp has cut the request loose
 * (no connection) and left it to us: ending it frees it.  Otherwise
 * (evhttp_free at exit) evhttp frees it with its connection.
 */
static void
sinkapi_release(struct evhttp_request *req)
{
	if (evhttp_request_get_connection(req) == NULL)
		evhttp_send_reply_end(req);
}

/* sinkapi_closed - http: a connection went away; forget its parked
 * searches and event streams, and release their requests. */
static void
sinkapi_closed(struct evhttp_connection *evcon, void *arg)
{
	struct sinkapi *api = arg;
	size_t i;

	for (i = api->nsse; i > 0; i--) {
		if (api->sse_conn[i - 1] != evcon)
			continue;
		sinkapi_release(api->sse[i - 1]);
		api->sse[i - 1] = api->sse[--api->nsse];
		api->sse_conn[i - 1] = api->sse_conn[api->nsse];
	}
	for (i = api->nwaits; i > 0; i--) {
		struct sinkapi_wait *w = api->waits[i - 1];

		if (w->evcon != evcon)
			continue;
		sinkapi_release(w->req);
		api->waits[i - 1] = api->waits[--api->nwaits];
		event_free(w->timer);
		search_free(&w->search);
		free(w);
	}
}

/* sinkapi_stats - the "stats" event: the totals now. */
static void
sinkapi_stats(struct sinkapi *api)
{
	json_t *data = json_pack("{s:I, s:I}",
	    "Total", (json_int_t)mindex_count(api->ix, false),
	    "Unread", (json_int_t)mindex_count(api->ix, true));

	sinkapi_sse_send(api, "stats", data);
	json_decref(data);
}

/*
 * sinkapi_index_cb - mindex: a message came ("new": answer the parked
 * searches it matches), went ("delete") or was read or unread
 * ("update"); tell the event streams, with Mailpit's event names, and
 * the new totals.  While every message goes (truncating) the streams
 * hear one "truncate" afterwards instead.
 */
static void
sinkapi_index_cb(void *arg, const char *type, const struct mindex_msg *m)
{
	struct sinkapi *api = arg;
	json_t *data;
	size_t i;

	if (strcmp(type, "new") == 0) {
		for (i = api->nwaits; i > 0; i--)
			if (i - 1 < api->nwaits && sinkapi_matches(api,
			    api->waits[i - 1]->search, m))
				sinkapi_wait_end(api->waits[i - 1]);
		data = sinkapi_summary(m);
	} else if (strcmp(type, "update") == 0) {
		data = json_pack("{s:s, s:b}", "ID", m->id, "Read", m->read);
	} else {
		api->deleted++;
		data = json_pack("{s:[s]}", "IDs", m->id);
	}
	if (!api->truncating) {
		sinkapi_sse_send(api, type, data);
		sinkapi_stats(api);
	}
	json_decref(data);
}

struct sinkapi *
sinkapi_new(struct event_base *base, struct mindex *ix, struct chaos **chaos,
    const char *addrport, int fd, const struct htpasswd *auth,
    char *name_out, size_t namelen, const char **err_out)
{
	struct sinkapi *api = xcalloc(1, sizeof(*api));
	struct timeval ping = { SINKAPI_PING_SECS, 0 };

	api->ix = ix;
	api->chaos = chaos;
	api->base = base;
	api->started = time(NULL);
	api->http = http_new(base, addrport, fd, auth, sinkapi_request,
	    sinkapi_closed, api, name_out, namelen, err_out);
	if (api->http == NULL) {
		free(api);
		return NULL;
	}
	api->ping = event_new(base, -1, EV_PERSIST, sinkapi_ping_cb, api);
	if (api->ping == NULL || evtimer_add(api->ping, &ping) != 0)
		log_fatal("cannot set up the event stream timer");
	mindex_set_events(ix, sinkapi_index_cb, api);
	return api;
}

void
sinkapi_free(struct sinkapi **ap)
{
	struct sinkapi *api;

	if (ap == NULL || (api = *ap) == NULL)
		return;
	mindex_set_events(api->ix, NULL, NULL);
	http_free(&api->http);	/* drops streams, waits: sinkapi_closed */
	while (api->nwaits > 0)
		sinkapi_closed(api->waits[0]->evcon, api);
	event_free(api->ping);
	free(api);
	*ap = NULL;
}
