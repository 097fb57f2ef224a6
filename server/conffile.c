/* SPDX-License-Identifier: ISC */
/*
 * conffile - inlet.conf and the lists it names, from disk, for inletd
 * and inlet-relay alike.  Edge (file I/O); what the text means is
 * conf's.  Errors name the file (and line, from conf) and, for a file
 * this user may not read, the user.
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conffile.h"
#include "xalloc.h"

char *
conffile_read(const char *path, size_t *len_out)
{
	FILE *fp = fopen(path, "re");
	char *text;
	size_t n;

	if (fp == NULL)
		return NULL;
	text = xmalloc(CONFFILE_MAX + 1);
	n = fread(text, 1, CONFFILE_MAX + 1, fp);
	if (ferror(fp) || n > CONFFILE_MAX) {
		int err = ferror(fp) ? EIO : EFBIG;

		(void)fclose(fp);
		free(text);
		errno = err;
		return NULL;
	}
	(void)fclose(fp);
	text[n] = '\0';
	*len_out = n;
	return text;
}

char *
conffile_path_err(const char *key, const char *path, const char *how,
    int err)
{
	struct passwd *pw = getpwuid(geteuid());

	if (pw != NULL)
		return xasprintf("%s %s: %s by user %s: %s", key, path, how,
		    pw->pw_name, strerror(err));
	return xasprintf("%s %s: %s by uid %u: %s", key, path, how,
	    (unsigned)geteuid(), strerror(err));
}

/*
 * load_list - read the list file path (the key's value, or NULL) and
 * hand its text to load.
 */
static int
load_list(struct config *c, const char *key, const char *path,
    int (*load)(struct config *, const char *, const char *, size_t,
    char **), char **err_out)
{
	char *text;
	size_t len;
	int rc;

	if (path == NULL)
		return 0;
	if ((text = conffile_read(path, &len)) == NULL) {
		*err_out = errno == EACCES ? conffile_path_err(key, path,
		    "not readable", errno) : xasprintf("%s: %s", path,
		    strerror(errno));
		return -1;
	}
	rc = load(c, path, text, len, err_out);
	free(text);
	return rc;
}

int
conffile_load_lists(struct config *c, char **err_out)
{
	if (load_list(c, "recipients", c->recipients, conf_load_recipients,
	    err_out) != 0)
		return -1;
	return load_list(c, "aliases", c->aliases, conf_load_aliases,
	    err_out);
}

struct config *
conffile_load(const char *name, const char *text, size_t len,
    char *const *overrides, size_t n, char **err_out)
{
	struct config *c;
	char host[256];
	size_t i;

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		(void)snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	c = conf_new(host);
	if (conf_parse(c, name, text, len, err_out) != 0)
		goto fail;
	for (i = 0; i < n; i++)
		if (conf_set(c, overrides[i], err_out) != 0)
			goto fail;
	if (conf_check(c, err_out) != 0 || conffile_load_lists(c, err_out) != 0)
		goto fail;
	return c;
fail:
	conf_free(&c);
	return NULL;
}
