/* SPDX-License-Identifier: ISC */
/*
 * fuzz_smtp_client - libFuzzer target for the SMTP client: the input is
 * what a (hostile) server replies.  The first octet chooses the session
 * (smtps, STARTTLS, STARTTLS with AUTH) and the message's BODY; the
 * client is driven as the relay drives it (TLS done, AUTH answered, the
 * body sent, RSET then QUIT after the message).  The same bytes are fed
 * whole and in pieces: the events must be the same, and after every
 * "done" each recipient must have a verdict.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "log.h"
#include "smtp_client.h"

#define EVENTS_MAX	64

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_open("fuzz_smtp_client", true, LOG_LEVEL_ERR);
	return 0;
}

struct run {
	struct smtp_client	 c;
	struct smtp_client_msg	 msg;
	struct smtp_client_rcpt	 rcpts[3];
	int			 sent;	/* messages started */
	enum smtp_client_event	 ev[EVENTS_MAX];
	size_t			 nev;
};

/* act - what the relay does on an event; false when the session ends. */
static bool
act(struct run *r, enum smtp_client_event ev)
{
	struct smtp_client_stuffer st;
	char out[64];
	size_t i, n;

	switch (ev) {
	case SMTP_CLIENT_MORE:
		return true;
	case SMTP_CLIENT_READY:
		if (r->sent++ == 0)
			smtp_client_send(&r->c, &r->msg);
		else
			smtp_client_quit(&r->c);
		return true;
	case SMTP_CLIENT_TLS:
		smtp_client_tls_done(&r->c);
		return true;
	case SMTP_CLIENT_AUTH:
		smtp_client_auth(&r->c, "PLAIN", "AGEAYg==");
		return true;
	case SMTP_CLIENT_AUTH_STEP:
		smtp_client_auth_step(&r->c, "=");
		return true;
	case SMTP_CLIENT_DATA:
		smtp_client_stuff_init(&st, !r->c.use_bdat);
		n = smtp_client_stuff(&st, ".x\n", 3, out);
		n += smtp_client_stuff_end(&st, out + n);
		if (r->c.use_bdat)
			smtp_client_bdat_len(&r->c, n);
		smtp_client_data_sent(&r->c);
		return true;
	case SMTP_CLIENT_DONE:
		for (i = 0; i < r->msg.nrcpt; i++)
			HARNESS_CHECK(r->rcpts[i].verdict !=
			    SMTP_CLIENT_V_NONE);
		smtp_client_rset(&r->c);
		return true;
	case SMTP_CLIENT_FAIL:
		HARNESS_CHECK(r->c.fail_reply[0] != '\0');
		return false;
	case SMTP_CLIENT_CLOSED:
		return false;
	}
	return false;
}

static void
run(struct run *r, unsigned opts, const uint8_t *data, size_t size,
    struct harness_split *sp)
{
	size_t off = 0, piece, used;

	memset(r, 0, sizeof(*r));
	r->rcpts[0].addr = "a@x.example";
	r->rcpts[1].addr = "b@x.example";
	r->rcpts[1].notify = SMTP_CLIENT_NOTIFY_FAILURE;
	r->rcpts[2].addr = "c@x.example";
	r->rcpts[2].orcpt = "rfc822;c@x.example";
	r->msg.sender = "s@x.example";
	r->msg.body = (enum smtp_client_body)((opts >> 2) % 3);
	r->msg.envid = "ID";
	r->msg.rcpts = r->rcpts;
	r->msg.nrcpt = 3;
	smtp_client_init(&r->c, "client.example", (opts & 3) == 0, true,
	    (opts & 3) == 2);
	while (off < size) {
		piece = sp != NULL ? harness_split_next(sp, size - off) :
		    size - off;
		while (piece > 0) {
			enum smtp_client_event ev = smtp_client_feed(&r->c,
			    (const char *)data + off, piece, &used);

			HARNESS_CHECK(used <= piece);
			off += used;
			piece -= used;
			if (ev != SMTP_CLIENT_MORE && r->nev < EVENTS_MAX)
				r->ev[r->nev++] = ev;
			buf_reset(&r->c.out);
			if (!act(r, ev))
				return;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run whole, split;
	struct harness_split sp;
	uint64_t seed;
	unsigned opts;

	seed = harness_take_seed(&data, &size, 2);
	opts = (unsigned)(seed & 0xff);
	harness_split_init(&sp, seed >> 8 | 1);
	run(&whole, opts, data, size, NULL);
	run(&split, opts, data, size, &sp);
	HARNESS_CHECK(whole.nev == split.nev);
	HARNESS_CHECK(memcmp(whole.ev, split.ev, whole.nev *
	    sizeof(whole.ev[0])) == 0);
	smtp_client_release(&whole.c);
	smtp_client_release(&split.c);
	return 0;
}
