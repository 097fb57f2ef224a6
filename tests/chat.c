/* SPDX-License-Identifier: ISC */
/*
 * chat - load and replay golden SMTP transcripts (see chat.h).
 * Test support code: shared by the unit and the integration tests.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"

/* chat_unescape - \r \n \t \\ \xHH in place; returns the new length. */
static size_t
chat_unescape(char *s)
{
	size_t i, o = 0;
	unsigned v;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] != '\\' || s[i + 1] == '\0') {
			s[o++] = s[i];
			continue;
		}
		i++;
		switch (s[i]) {
		case 'r':
			s[o++] = '\r';
			break;
		case 'n':
			s[o++] = '\n';
			break;
		case 't':
			s[o++] = '\t';
			break;
		case 'x':
			if (sscanf(s + i + 1, "%2x", &v) == 1) {
				s[o++] = (char)v;
				i += 2;
			}
			break;
		default:
			s[o++] = s[i];
			break;
		}
	}
	s[o] = '\0';
	return o;
}

/* chat_add - append a step. */
static struct chat_step *
chat_add(struct chat *c, enum chat_op op, const char *text, unsigned line)
{
	struct chat_step *st;

	c->steps = realloc(c->steps, (c->nsteps + 1) * sizeof(*c->steps));
	if (c->steps == NULL)
		abort();
	st = &c->steps[c->nsteps++];
	memset(st, 0, sizeof(*st));
	st->op = op;
	st->line = line;
	st->text = strdup(text != NULL ? text : "");
	if (st->text == NULL)
		abort();
	st->len = strlen(st->text);
	return st;
}

/* chat_add_alias - append line (and a newline) to c's aliases text. */
static void
chat_add_alias(struct chat *c, const char *line)
{
	size_t have = c->aliases != NULL ? strlen(c->aliases) : 0;

	c->aliases = realloc(c->aliases, have + strlen(line) + 2);
	if (c->aliases == NULL)
		abort();
	(void)snprintf(c->aliases + have, strlen(line) + 2, "%s\n", line);
}

/* chat_line - one line of a .chat file; -1 on a bad line. */
static int
chat_line(struct chat *c, char *l, unsigned no)
{
	struct chat_step *st;

	l[strcspn(l, "\r\n")] = '\0';
	if (l[0] == '\0' || l[0] == '#')
		return 0;
	if (strncmp(l, "C: ", 3) == 0 || strcmp(l, "C:") == 0) {
		st = chat_add(c, CHAT_SEND, l[2] == '\0' ? "" : l + 3, no);
		st->text = realloc(st->text, st->len + 3);
		memcpy(st->text + st->len, "\r\n", 3);
		st->len += 2;
	} else if (strncmp(l, "R: ", 3) == 0) {
		st = chat_add(c, CHAT_SEND, l + 3, no);
		st->len = chat_unescape(st->text);
	} else if (strncmp(l, "S: ", 3) == 0) {
		chat_add(c, CHAT_EXPECT, l + 3, no);
	} else if (strncmp(l, "N: ", 3) == 0) {
		chat_add(c, CHAT_EXPECT_NOT, l + 3, no);
	} else if (strcmp(l, "!starttls") == 0) {
		chat_add(c, CHAT_STARTTLS, NULL, no);
	} else if (strncmp(l, "!expect-maildir ", 16) == 0) {
		chat_add(c, CHAT_MAILDIR, NULL, no)->n = atol(l + 16);
	} else if (strcmp(l, "!close") == 0) {
		chat_add(c, CHAT_CLOSE, NULL, no);
	} else if (strncmp(l, "!alias ", 7) == 0 && c->nsteps == 0) {
		chat_add_alias(c, l + 7);
	} else if (strncmp(l, "!config ", 8) == 0 &&
	    c->noverrides < CHAT_MAX_OVERRIDES && c->nsteps == 0) {
		c->overrides[c->noverrides++] = strdup(l + 8);
	} else {
		return -1;
	}
	return 0;
}

struct chat *
chat_load(const char *path)
{
	struct chat *c;
	char line[16384];
	unsigned no = 0;
	FILE *fp;

	fp = fopen(path, "r");
	if (fp == NULL) {
		perror(path);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	c->name = strdup(path);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (chat_line(c, line, ++no) != 0) {
			(void)fprintf(stderr, "%s:%u: bad chat line\n", path,
			    no);
			(void)fclose(fp);
			chat_free(c);
			return NULL;
		}
	}
	(void)fclose(fp);
	return c;
}

void
chat_free(struct chat *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nsteps; i++)
		free(c->steps[i].text);
	for (i = 0; i < c->noverrides; i++)
		free(c->overrides[i]);
	free(c->aliases);
	free(c->steps);
	free(c->name);
	free(c);
}

bool
chat_reply_matches(const char *reply, const char *want)
{
	size_t wl = strlen(want);
	const char *l = reply;

	while (*l != '\0') {
		size_t ll = strcspn(l, "\n");

		if (ll >= wl && (strncmp(l, want, wl) == 0 ||
		    (ll >= 4 && wl >= 4 && l[3] == '-' && want[3] == ' ' &&
		    strncmp(l, want, 3) == 0 &&
		    strncmp(l + 4, want + 4, wl - 4) == 0)))
			return true;
		l += ll;
		if (*l == '\n')
			l++;
	}
	return wl == 0;
}

/* chat_step_run - one step; 0 or -1 with err. */
static int
chat_step_run(const struct chat *c, const struct chat_step *st,
    const struct chat_io *io, void *ctx, char *err, size_t errlen)
{
	char reply[CHAT_REPLY_MAX];
	long n;
	int r;

	switch (st->op) {
	case CHAT_SEND:
		if (io->send(ctx, st->text, st->len) == 0)
			return 0;
		(void)snprintf(err, errlen, "%s:%u: send failed", c->name,
		    st->line);
		return -1;
	case CHAT_EXPECT:
		r = io->reply(ctx, reply, sizeof(reply));
		if (r == 1 && chat_reply_matches(reply, st->text))
			return 0;
		(void)snprintf(err, errlen, "%s:%u: expected \"%s\", got %s%s%s",
		    c->name, st->line, st->text, r == 1 ? "\"" : "",
		    r == 1 ? reply : r == 0 ? "connection closed" : "timeout",
		    r == 1 ? "\"" : "");
		return -1;
	case CHAT_EXPECT_NOT:
		r = io->reply(ctx, reply, sizeof(reply));
		if (r == 1 && !chat_reply_matches(reply, st->text))
			return 0;
		(void)snprintf(err, errlen, "%s:%u: did not expect \"%s\" in "
		    "%s%s%s", c->name, st->line, st->text, r == 1 ? "\"" : "",
		    r == 1 ? reply : r == 0 ? "connection closed" : "timeout",
		    r == 1 ? "\"" : "");
		return -1;
	case CHAT_STARTTLS:
		if (io->starttls(ctx) == 0)
			return 0;
		(void)snprintf(err, errlen, "%s:%u: TLS handshake failed",
		    c->name, st->line);
		return -1;
	case CHAT_MAILDIR:
		n = io->maildir_count(ctx);
		if (n == st->n)
			return 0;
		(void)snprintf(err, errlen, "%s:%u: expected %ld delivered, "
		    "found %ld", c->name, st->line, st->n, n);
		return -1;
	case CHAT_CLOSE:
		if (io->is_closed(ctx) == 1)
			return 0;
		(void)snprintf(err, errlen, "%s:%u: connection still open",
		    c->name, st->line);
		return -1;
	}
	return -1;
}

int
chat_run(const struct chat *c, const struct chat_io *io, void *ctx,
    char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < c->nsteps; i++)
		if (chat_step_run(c, &c->steps[i], io, ctx, err, errlen) != 0)
			return -1;
	return 0;
}

/* chat_cmp - qsort by name. */
static int
chat_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
chat_list(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t len;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".chat") != 0)
			continue;
		v = realloc(v, (*n + 1) * sizeof(*v));
		v[*n] = malloc(strlen(dir) + len + 2);
		(void)sprintf(v[*n], "%s/%s", dir, de->d_name);
		(*n)++;
	}
	(void)closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), chat_cmp);
	return v;
}
