/* SPDX-License-Identifier: ISC */
/*
 * milter_proto - the milter protocol's packets, MTA side (milter_proto.h).
 * Core: pure encoding and decoding, no I/O.  The reader is a small state
 * machine over the stream (four length octets, then the packet), so a
 * reply split anywhere decodes the same; a length of 0 or above
 * MILTER_PACKET_MAX breaks the stream rather than the daemon's memory.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "milter_proto.h"
#include "xalloc.h"

/* put32 - a 32-bit big-endian word. */
static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* get32 - a 32-bit big-endian word. */
static uint32_t
get32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 |
	    (uint32_t)u[2] << 8 | (uint32_t)u[3];
}

void
milter_reader_init(struct milter_reader *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->pkt, MILTER_PACKET_MAX + 1);
}

void
milter_reader_release(struct milter_reader *r)
{
	buf_release(&r->pkt);
	r->hdr_len = 0;
	r->want = 0;
}

enum milter_read_result
milter_reader_feed(struct milter_reader *r, const char *in, size_t len,
    size_t *used_out, struct milter_packet *out)
{
	size_t used = 0, n;

	if (r->hdr_len == 4 && r->pkt.len == r->want)	/* the last one */
		r->hdr_len = 0;
	while (used < len && r->hdr_len < 4) {
		r->hdr[r->hdr_len++] = (unsigned char)in[used++];
		if (r->hdr_len < 4)
			continue;
		r->want = get32((const char *)r->hdr);
		buf_reset(&r->pkt);
		if (r->want == 0 || r->want > MILTER_PACKET_MAX) {
			*used_out = used;
			return MILTER_READ_ERROR;
		}
	}
	if (r->hdr_len == 4 && r->pkt.len < r->want) {
		n = r->want - r->pkt.len;
		if (n > len - used)
			n = len - used;
		(void)buf_add(&r->pkt, in + used, n);	/* fits: max + 1 */
		used += n;
	}
	*used_out = used;
	if (r->hdr_len < 4 || r->pkt.len < r->want)
		return MILTER_READ_MORE;
	out->cmd = r->pkt.data[0];
	out->data = buf_cstr(&r->pkt) + 1;
	out->len = r->pkt.len - 1;
	return MILTER_READ_OK;
}

/*
 * take_str - the NUL-terminated string at *off in p, moving *off past
 * its NUL; NULL when there is none before the end.
 */
static const char *
take_str(const struct milter_packet *p, size_t *off)
{
	const char *s, *nul;

	if (*off >= p->len)
		return NULL;
	s = p->data + *off;
	nul = memchr(s, '\0', p->len - *off);
	if (nul == NULL)
		return NULL;
	*off += (size_t)(nul - s) + 1;
	return s;
}

/*
 * What each reply kind carries (in enum milter_reply_kind order): no data
 * (any is ignored, as Postfix does), raw data ('b'), one string, two
 * strings, an index and two strings, or one string and an optional one
 * ('e': the ESMTP arguments).
 */
enum reply_shape { SH_NONE, SH_DATA, SH_STR, SH_STR2, SH_IDX_STR2, SH_OPT2 };

static const unsigned char reply_shapes[] = {
	[MILTER_R_CONTINUE] = SH_NONE, [MILTER_R_ACCEPT] = SH_NONE,
	[MILTER_R_REJECT] = SH_NONE, [MILTER_R_TEMPFAIL] = SH_NONE,
	[MILTER_R_REPLYCODE] = SH_STR, [MILTER_R_DISCARD] = SH_NONE,
	[MILTER_R_CONN_FAIL] = SH_NONE, [MILTER_R_SHUTDOWN] = SH_NONE,
	[MILTER_R_PROGRESS] = SH_NONE, [MILTER_R_SKIP] = SH_NONE,
	[MILTER_R_ADDHEADER] = SH_STR2, [MILTER_R_INSHEADER] = SH_IDX_STR2,
	[MILTER_R_CHGHEADER] = SH_IDX_STR2, [MILTER_R_REPLBODY] = SH_DATA,
	[MILTER_R_ADDRCPT] = SH_STR, [MILTER_R_ADDRCPT_PAR] = SH_STR2,
	[MILTER_R_DELRCPT] = SH_STR, [MILTER_R_CHGFROM] = SH_OPT2,
	[MILTER_R_QUARANTINE] = SH_STR, [MILTER_R_OPTNEG] = SH_NONE,
};

/* reply_kind - the kind of a reply command; -1 for none. */
static int
reply_kind(char cmd)
{
	static const char cmds[] = "cartydf4pshimb+2-eqO";
	const char *k;

	if (cmd == '\0' || (k = strchr(cmds, cmd)) == NULL)
		return -1;
	return (int)(k - cmds);
}

bool
milter_reply_is_edit(enum milter_reply_kind kind)
{
	return kind >= MILTER_R_ADDHEADER && kind <= MILTER_R_QUARANTINE;
}

int
milter_reply_parse(const struct milter_packet *p, struct milter_reply *out)
{
	int k = reply_kind(p->cmd);
	size_t off = 0;
	unsigned shape;

	memset(out, 0, sizeof(*out));
	if (k < 0)
		return -1;
	out->kind = (enum milter_reply_kind)k;
	shape = reply_shapes[k];
	if (shape == SH_NONE)
		return 0;
	if (shape == SH_DATA) {
		out->data = p->data;
		out->len = p->len;
		return 0;
	}
	if (shape == SH_IDX_STR2) {
		if (p->len < 4)
			return -1;
		out->index = get32(p->data);
		off = 4;
	}
	if ((out->a = take_str(p, &off)) == NULL)
		return -1;
	if (shape == SH_OPT2)
		out->b = take_str(p, &off);	/* the arguments are optional */
	if (shape == SH_STR || shape == SH_OPT2)
		return 0;
	if ((out->b = take_str(p, &off)) == NULL)
		return -1;
	/* a header edit names its header */
	return out->a[0] == '\0' && k != MILTER_R_ADDRCPT_PAR ? -1 : 0;
}

int
milter_optneg_parse(const struct milter_packet *p, struct milter_optneg *out)
{
	size_t off = 12;
	uint32_t stage;
	const char *list;

	memset(out, 0, sizeof(*out));
	if (p->cmd != MILTER_C_OPTNEG || p->len < 12)
		return -1;
	out->version = get32(p->data);
	out->actions = get32(p->data + 4);
	out->protocol = get32(p->data + 8);
	if (out->version < 2)
		return -1;
	while (p->len - off >= 4) {
		stage = get32(p->data + off);
		off += 4;
		if ((list = take_str(p, &off)) == NULL)
			return -1;
		if (stage < MILTER_STAGE_COUNT)
			out->macros[stage] = list;
	}
	return off == p->len ? 0 : -1;
}

/* enc_start - room for a packet of n data octets: its header. */
static int
enc_start(struct buf *b, char cmd, size_t n)
{
	unsigned char h[5];

	if (n >= MILTER_PACKET_MAX || buf_room(b) < n + 5)
		return -1;
	put32(h, (uint32_t)(n + 1));
	h[4] = (unsigned char)cmd;
	return buf_add(b, h, 5);
}

int
milter_enc_optneg(struct buf *b, uint32_t version, uint32_t actions,
    uint32_t protocol)
{
	unsigned char d[12];

	put32(d, version);
	put32(d + 4, actions);
	put32(d + 8, protocol);
	if (enc_start(b, MILTER_C_OPTNEG, sizeof(d)) != 0)
		return -1;
	return buf_add(b, d, sizeof(d));
}

int
milter_enc_strings(struct buf *b, char cmd, const char *const *strs,
    size_t n)
{
	size_t i, total = 0;

	for (i = 0; i < n; i++)
		total += strlen(strs[i]) + 1;
	if (enc_start(b, cmd, total) != 0)
		return -1;
	for (i = 0; i < n; i++)
		(void)buf_add(b, strs[i], strlen(strs[i]) + 1);
	return 0;
}

int
milter_enc_macros(struct buf *b, char cmd, const char *const *pairs,
    size_t n)
{
	size_t i, total = 1;

	for (i = 0; i < n; i++)
		if (pairs[2 * i + 1] != NULL && pairs[2 * i + 1][0] != '\0')
			total += strlen(pairs[2 * i]) +
			    strlen(pairs[2 * i + 1]) + 2;
	if (enc_start(b, MILTER_C_MACRO, total) != 0)
		return -1;
	(void)buf_addc(b, cmd);
	for (i = 0; i < n; i++) {
		if (pairs[2 * i + 1] == NULL || pairs[2 * i + 1][0] == '\0')
			continue;
		(void)buf_add(b, pairs[2 * i], strlen(pairs[2 * i]) + 1);
		(void)buf_add(b, pairs[2 * i + 1],
		    strlen(pairs[2 * i + 1]) + 1);
	}
	return 0;
}

int
milter_enc_connect(struct buf *b, const char *host, char family,
    uint16_t port, const char *addr)
{
	size_t total = strlen(host) + 2;
	unsigned char pb[2];

	if (family != 'U')
		total += 2 + strlen(addr) + 1;
	if (enc_start(b, MILTER_C_CONNECT, total) != 0)
		return -1;
	(void)buf_add(b, host, strlen(host) + 1);
	(void)buf_addc(b, family);
	if (family == 'U')
		return 0;
	pb[0] = (unsigned char)(port >> 8);
	pb[1] = (unsigned char)port;
	(void)buf_add(b, pb, 2);
	(void)buf_add(b, addr, strlen(addr) + 1);
	return 0;
}

int
milter_enc_body(struct buf *b, const char *data, size_t len)
{
	if (len > MILTER_CHUNK_MAX || enc_start(b, MILTER_C_BODY, len) != 0)
		return -1;
	return buf_add(b, data, len);
}

int
milter_enc_cmd(struct buf *b, char cmd)
{
	return enc_start(b, cmd, 0);
}

/* is_enh - "c.n.n " (RFC 3463 class.subject.detail) of class cls. */
static size_t
is_enh(const char *p, char cls)
{
	size_t i = 0, dots = 0, digits = 0;

	if (p[0] != cls || p[1] != '.')
		return 0;
	for (i = 2; p[i] != '\0' && p[i] != ' '; i++) {
		if (p[i] == '.' && digits > 0 && dots == 0) {
			dots++;
			digits = 0;
		} else if (p[i] >= '0' && p[i] <= '9' && digits < 3) {
			digits++;
		} else {
			return 0;
		}
	}
	return dots == 1 && digits > 0 ? i : 0;
}

unsigned
milter_reply_text(const char *text, char *dst, size_t dstlen)
{
	unsigned code;
	size_t i, n = 0, enh;
	const char *p = text;

	if (dstlen == 0)
		return 0;
	dst[0] = '\0';
	if ((p[0] != '4' && p[0] != '5') || p[1] < '0' || p[1] > '9' ||
	    p[2] < '0' || p[2] > '9' || (p[3] != ' ' && p[3] != '-' &&
	    p[3] != '\0'))
		return 0;
	code = (unsigned)(p[0] - '0') * 100 + (unsigned)(p[1] - '0') * 10 +
	    (unsigned)(p[2] - '0');
	p += p[3] == '\0' ? 3 : 4;
	if ((enh = is_enh(p, text[0])) > 0)
		p += enh;
	while (*p == ' ')
		p++;
	for (i = 0; p[i] != '\0' && p[i] != '\r' && p[i] != '\n' &&
	    n + 1 < dstlen && n < MILTER_TEXT_MAX; i++) {
		unsigned char c = (unsigned char)p[i];

		dst[n++] = (c >= 0x20 && c < 0x7f && c != '%') ? (char)c : '?';
	}
	while (n > 0 && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
	return code;
}

size_t
milter_headers(const char *msg, size_t len, struct milter_hdr **out,
    size_t *body_out)
{
	struct milter_hdr *h = NULL;
	size_t n = 0, cap = 0, off = 0, end;
	const char *nl, *colon;

	while (off < len && msg[off] != '\n') {
		end = off;
		do {	/* a field: its line and the folded ones after it */
			nl = memchr(msg + end, '\n', len - end);
			end = nl != NULL ? (size_t)(nl - msg) + 1 : len;
		} while (end < len && (msg[end] == ' ' || msg[end] == '\t'));
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			h = xrealloc(h, cap, sizeof(*h));
		}
		h[n].p = msg + off;
		h[n].len = end - off;
		colon = memchr(msg + off, ':', end - off);
		h[n].name_len = colon != NULL ? (size_t)(colon - (msg + off)) :
		    0;
		n++;
		off = end;
	}
	*body_out = off < len ? off + 1 : len;
	*out = h;
	return n;
}

/* is_field_name - RFC 5322 §3.6.8: printable ASCII but ':', not empty. */
static bool
is_field_name(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < '!' || s[i] > '~' || s[i] == ':')
			return false;
	return i > 0;
}

/* edited field - one field of the output: from msg, or made here. */
struct out_field {
	const char	*p;
	size_t		 len;
	size_t		 name_len;
	char		*own;	/* made by an edit (heap) */
};

/* make_field - "Name: value\n" from an edit, folds kept folded. */
static void
make_field(struct out_field *f, const struct milter_edit *e, bool leadspc)
{
	struct buf b;
	const char *v = e->value;
	size_t i;

	buf_init(&b, SIZE_MAX);
	(void)buf_adds(&b, e->name);
	(void)buf_addc(&b, ':');
	if (!leadspc)
		(void)buf_addc(&b, ' ');
	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] == '\r')
			continue;
		(void)buf_addc(&b, v[i]);
		if (v[i] == '\n' && v[i + 1] != ' ' && v[i + 1] != '\t')
			(void)buf_addc(&b, '\t');
	}
	(void)buf_addc(&b, '\n');
	f->name_len = strlen(e->name);
	f->len = b.len;
	f->own = xmalloc(b.len + 1);
	memcpy(f->own, b.data, b.len);
	f->p = f->own;
	buf_release(&b);
}

/* find_field - the index-th (from 1) field named name, or n. */
static size_t
find_field(const struct out_field *f, size_t n, const char *name,
    uint32_t index)
{
	size_t i, len = strlen(name);
	uint32_t seen = 0;

	for (i = 0; i < n; i++)
		if (f[i].name_len == len && strncasecmp(f[i].p, name, len) ==
		    0 && ++seen == index)
			return i;
	return n;
}

/* apply_one - one edit to the field list f (room for one more). */
static void
apply_one(struct out_field *f, size_t *n, const struct milter_edit *e,
    bool leadspc)
{
	struct out_field nf;
	size_t at = *n;

	if (e->kind == MILTER_EDIT_CHANGE) {
		at = find_field(f, *n, e->name, e->index);
		if (at < *n) {
			free(f[at].own);
			memmove(&f[at], &f[at + 1], (*n - at - 1) * sizeof(*f));
			(*n)--;
		} else {
			at = *n;
		}
		if (e->value[0] == '\0')
			return;
	} else if (e->kind == MILTER_EDIT_INSERT && e->index < *n) {
		at = e->index;
	}
	make_field(&nf, e, leadspc);
	memmove(&f[at + 1], &f[at], (*n - at) * sizeof(*f));
	f[at] = nf;
	(*n)++;
}

int
milter_edit_apply(const char *msg, size_t len,
    const struct milter_edit *edits, size_t nedits, bool leadspc,
    const struct buf *body, struct buf *out)
{
	struct milter_hdr *h;
	struct out_field *f;
	size_t nh, n, i, off, hdr_end;
	int rc = 0;

	nh = milter_headers(msg, len, &h, &off);
	hdr_end = nh > 0 ? (size_t)(h[nh - 1].p + h[nh - 1].len - msg) : 0;
	f = xcalloc(nh + nedits + 1, sizeof(*f));
	for (n = 0; n < nh; n++) {
		f[n].p = h[n].p;
		f[n].len = h[n].len;
		f[n].name_len = h[n].name_len;
	}
	free(h);
	for (i = 0; i < nedits; i++)
		if (is_field_name(edits[i].name))
			apply_one(f, &n, &edits[i], leadspc);
	for (i = 0; i < n; i++) {
		if (rc == 0)
			rc = buf_add(out, f[i].p, f[i].len);
		free(f[i].own);
	}
	free(f);
	if (rc == 0 && hdr_end < len)	/* the blank line */
		rc = buf_addc(out, '\n');
	if (body == NULL)
		return rc == 0 ? buf_add(out, msg + off, len - off) : -1;
	for (i = 0; rc == 0 && i < body->len; i++)
		if (body->data[i] != '\r' || i + 1 >= body->len ||
		    body->data[i + 1] != '\n')
			rc = buf_addc(out, body->data[i]);
	return rc;
}
