/* SPDX-License-Identifier: ISC */
/*
 * relay_agent - inlet-relay's scheduler: which queued messages are due,
 * one connection to the smarthosts (tried in order) at a time, each
 * message's verdicts made durable before the next step, DSNs, finished
 * messages removed, and the timer for the next retry.  Edge (it drives
 * relay_conn and relay_queue on the event loop).
 */
#ifndef INLET_RELAY_AGENT_H
#define INLET_RELAY_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "conf.h"
#include "relay_conn.h"

struct relay_agent;

/* What the agent works with; main owns it and may swap it (reload). */
struct relay_env {
	const struct config	*cfg;
	SSL_CTX			*ctx;
	struct relay_cred	*creds;
	size_t			 ncreds;
};

struct relay_agent *relay_agent_new(struct event_base *base,
	    struct evdns_base *dns, const struct relay_env *env);

/*
 * relay_agent_set_env - a reloaded configuration (and its TLS context
 * and logins) for the next connection; env is borrowed for as long as
 * the agent runs or until the next call.
 */
void	relay_agent_set_env(struct relay_agent *a, const struct relay_env *env);

/*
 * relay_agent_kick - look at the queue soon (new mail, a signal);
 * with flush, deferred recipients are due now.
 */
void	relay_agent_kick(struct relay_agent *a, bool flush);

/*
 * relay_agent_stop - finish the transaction in flight, then no more;
 * done is called (on a later loop turn) once nothing runs.
 */
void	relay_agent_stop(struct relay_agent *a, void (*done)(void *),
	    void *arg);

void	relay_agent_free(struct relay_agent **ap);

#endif
