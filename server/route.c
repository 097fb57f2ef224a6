/* SPDX-License-Identifier: ISC */
/*
 * route - the delivery plan of each recipient, decided once at RCPT
 * time (route.h): refuse, deliver into local Maildirs, or queue.  Pure:
 * the recipients file and the aliases come loaded in the config, the
 * Maildir template is expanded with idn_expand(); no I/O.  RFC 5321
 * §4.5.1 (postmaster), §3.6 (relaying).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "idn.h"
#include "log.h"
#include "route.h"

#ifndef PATH_MAX
#define PATH_MAX	4096
#endif

/* route_untag - user+tag is delivered to user (recipient_delimiter);
 * a local part that begins with the delimiter keeps it. */
static void
route_untag(const struct config *cfg, char *local)
{
	const char *d = cfg->recipient_delimiter;

	if (d != NULL && local[0] != '\0' && local[0] != d[0])
		local[strcspn(local, d)] = '\0';
}

/*
 * route_box_set - box delivers into the Maildir tmpl names for
 * local@domain, with Delivered-To: to.  Both strings share one block,
 * freed through box->maildir.  -1 when the path does not fit.
 */
static int
route_box_set(struct route_box *box, const char *tmpl, const char *local,
    const char *domain, const char *to)
{
	char dir[PATH_MAX];
	size_t dl, tl = strlen(to);

	if (idn_expand(tmpl, local, domain, false, dir, sizeof(dir)) == -1)
		return -1;
	dl = strlen(dir);
	if ((box->maildir = malloc(dl + tl + 2)) == NULL)
		log_fatal("out of memory (route)");
	memcpy(box->maildir, dir, dl + 1);
	box->delivered_to = box->maildir + dl + 1;
	memcpy(box->delivered_to, to, tl + 1);
	return 0;
}

/* route_boxes - room for n mailboxes in r, now a local delivery. */
static void
route_boxes(struct route *r, size_t n)
{
	if ((r->boxes = calloc(n, sizeof(*r->boxes))) == NULL)
		log_fatal("out of memory (route)");
	r->kind = ROUTE_LOCAL;
}

/*
 * route_aliased - the boxes of an alias's final mailboxes to[0..n)
 * ("local@domain" each); frees to.  -1 when a path does not fit.
 */
static int
route_aliased(const struct config *cfg, struct route *r, char **to,
    size_t n)
{
	char local[SMTP_PATH_MAX + 1];
	const char *at;
	size_t i;
	int rc = 0;

	route_boxes(r, n);
	for (i = 0; i < n; i++) {
		at = strrchr(to[i], '@');
		(void)snprintf(local, sizeof(local), "%.*s",
		    (int)(at - to[i]), to[i]);
		if (rc == 0 && route_box_set(&r->boxes[i], cfg->maildir,
		    local, at + 1, to[i]) == 0)
			r->nboxes++;
		else
			rc = -1;
		free(to[i]);
	}
	free(to);
	return rc;
}

/*
 * route_local - the plan of a recipient in a local domain (or any, in
 * sink mode): an alias of it, itself when listed, its domain's
 * catch-all, itself when valid, else 550 5.1.1.
 */
static void
route_local(const struct config *cfg, const struct smtp_addr *a, bool any,
    struct route *r)
{
	char local[SMTP_LOCAL_MAX + 1], to[SMTP_PATH_MAX + 1], **aliased;
	size_t n;
	int rc;

	smtp_addr_unquote(a->local, local, sizeof(local));
	route_untag(cfg, local);
	if (conf_alias_expand(cfg, local, a->domain,
	    !conf_is_listed_recipient(cfg, local, a->domain), &aliased, &n)) {
		rc = route_aliased(cfg, r, aliased, n);
	} else if (any || strcasecmp(local, "postmaster") == 0 ||
	    conf_is_valid_recipient(cfg, local, a->domain)) {
		route_boxes(r, 1);
		rc = route_box_set(&r->boxes[0], cfg->maildir, local,
		    a->domain, smtp_addr_fmt(a, to, sizeof(to)));
		r->nboxes = rc == 0 ? 1 : 0;
	} else {
		r->reply = SMTP_R_UNKNOWN_USER;
		return;
	}
	if (rc != 0) {
		route_reset(r);
		r->reply = SMTP_R_LOCAL_ERROR;
	}
}

void
route_rcpt(const struct config *cfg, bool authenticated,
    struct smtp_addr *a, struct route *out)
{
	char name[IDN_COMPONENT_MAX + 1];
	bool bare = a->domain[0] == '\0';

	memset(out, 0, sizeof(*out));
	out->kind = ROUTE_REFUSE;
	if (!smtp_addr_is_safe_local(a) || (!bare &&
	    idn_domain_name(a->domain, name, sizeof(name)) == -1)) {
		out->reply = SMTP_R_BAD_MAILBOX;
		return;
	}
	if (bare)	/* <postmaster>, the sink's <root>: the primary domain */
		(void)snprintf(a->domain, sizeof(a->domain), "%s",
		    cfg->ndomains > 0 ? cfg->domains[0] : cfg->hostname);
	if (cfg->sink || bare || conf_is_local_domain(cfg, a->domain))
		route_local(cfg, a, cfg->sink || bare, out);
	else if (authenticated && cfg->queue != NULL)
		out->kind = ROUTE_QUEUE;	/* relayed: logged-in users only */
	else
		out->reply = SMTP_R_RELAY_DENIED;
}

void
route_reset(struct route *r)
{
	size_t i;

	for (i = 0; i < r->nboxes; i++)
		free(r->boxes[i].maildir);
	free(r->boxes);
	memset(r, 0, sizeof(*r));
	r->kind = ROUTE_REFUSE;
}

size_t
route_copies(const struct route *r, size_t n, struct route_copy *out)
{
	size_t i, b, k = 0;
	bool queued = false;

	for (i = 0; i < n; i++) {
		for (b = 0; r[i].kind == ROUTE_LOCAL && b < r[i].nboxes; b++) {
			if (out != NULL)
				out[k] = (struct route_copy){ i, b, false };
			k++;
		}
		if (r[i].kind != ROUTE_QUEUE || queued)
			continue;
		queued = true;
		if (out != NULL)
			out[k] = (struct route_copy){ i, 0, true };
		k++;
	}
	return k;
}
