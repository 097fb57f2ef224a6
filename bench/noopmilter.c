/* SPDX-License-Identifier: ISC */
/*
 * noopmilter - the cheapest milter a filter author can write with
 * Sendmail's libmilter (libmilter-dev): every callback answers continue,
 * no actions, no skipped steps.  bench/milter measures what talking the
 * protocol costs an MTA with it (the Python scripted filter of the tests
 * costs more CPU itself than either MTA does per message).
 *
 *     noopmilter inet:PORT@127.0.0.1
 */
#include <stdio.h>
#include <stdlib.h>

#include <libmilter/mfapi.h>

/* cont - the answer to every stage. */
static sfsistat
cont(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
conn_cb(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	(void)host;
	(void)sa;
	return cont(ctx);
}

static sfsistat
args_cb(SMFICTX *ctx, char **argv)
{
	(void)argv;
	return cont(ctx);
}

static sfsistat
helo_cb(SMFICTX *ctx, char *helo)
{
	(void)helo;
	return cont(ctx);
}

static sfsistat
hdr_cb(SMFICTX *ctx, char *name, char *value)
{
	(void)name;
	(void)value;
	return cont(ctx);
}

static sfsistat
body_cb(SMFICTX *ctx, unsigned char *p, size_t len)
{
	(void)p;
	(void)len;
	return cont(ctx);
}

int
main(int argc, char **argv)
{
	struct smfiDesc desc = {
		.xxfi_name = "noop",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = 0,
		.xxfi_connect = conn_cb,
		.xxfi_helo = helo_cb,
		.xxfi_envfrom = args_cb,
		.xxfi_envrcpt = args_cb,
		.xxfi_header = hdr_cb,
		.xxfi_eoh = cont,
		.xxfi_body = body_cb,
		.xxfi_eom = cont,
		.xxfi_abort = cont,
		.xxfi_close = cont,
	};

	if (argc != 2) {
		fprintf(stderr, "usage: noopmilter inet:PORT@127.0.0.1\n");
		return 2;
	}
	if (smfi_setconn(argv[1]) == MI_FAILURE ||
	    smfi_register(desc) == MI_FAILURE)
		return 1;
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
