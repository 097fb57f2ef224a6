/* SPDX-License-Identifier: ISC */
/*
 * milter_proto - the MTA side of the Sendmail milter protocol, version 6:
 * the commands an MTA sends, encoded into a struct buf, and the filter's
 * replies, decoded incrementally from a byte stream.  Core: pure, no I/O.
 *
 * There is no RFC; the constants are those of Sendmail's libmilter
 * mfdef.h, the framing that of Postfix's milter8.c and the "Sendmail
 * Milter Protocol, Version 2" description: every packet is a 32-bit
 * big-endian length, one command byte, then length - 1 octets of data;
 * strings inside are NUL-terminated.
 */
#ifndef INLET_MILTER_PROTO_H
#define INLET_MILTER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MILTER_VERSION		6u
#define MILTER_CHUNK_MAX	65535u		/* MILTER_CHUNK_SIZE */
#define MILTER_PACKET_MAX	(1024u * 1024u)	/* a reply we accept */

/* Commands (SMFIC_*). */
#define MILTER_C_ABORT		'A'
#define MILTER_C_BODY		'B'
#define MILTER_C_CONNECT	'C'
#define MILTER_C_MACRO		'D'
#define MILTER_C_BODYEOB	'E'
#define MILTER_C_HELO		'H'
#define MILTER_C_QUIT_NC	'K'
#define MILTER_C_HEADER		'L'
#define MILTER_C_MAIL		'M'
#define MILTER_C_EOH		'N'
#define MILTER_C_OPTNEG		'O'
#define MILTER_C_QUIT		'Q'
#define MILTER_C_RCPT		'R'
#define MILTER_C_DATA		'T'

/* Actions the filter may take (SMFIF_*), offered in OPTNEG. */
#define MILTER_F_ADDHDRS	0x001u
#define MILTER_F_CHGBODY	0x002u
#define MILTER_F_ADDRCPT	0x004u
#define MILTER_F_DELRCPT	0x008u
#define MILTER_F_CHGHDRS	0x010u
#define MILTER_F_QUARANTINE	0x020u
#define MILTER_F_CHGFROM	0x040u
#define MILTER_F_ADDRCPT_PAR	0x080u
#define MILTER_F_SETSYMLIST	0x100u

/* Protocol steps (SMFIP_*): skipped (NO*) or not answered (NR_*). */
#define MILTER_P_NOCONNECT	0x000001u
#define MILTER_P_NOHELO		0x000002u
#define MILTER_P_NOMAIL		0x000004u
#define MILTER_P_NORCPT		0x000008u
#define MILTER_P_NOBODY		0x000010u
#define MILTER_P_NOHDRS		0x000020u
#define MILTER_P_NOEOH		0x000040u
#define MILTER_P_NR_HDR		0x000080u
#define MILTER_P_NOUNKNOWN	0x000100u
#define MILTER_P_NODATA		0x000200u
#define MILTER_P_SKIP		0x000400u
#define MILTER_P_RCPT_REJ	0x000800u
#define MILTER_P_NR_CONN	0x001000u
#define MILTER_P_NR_HELO	0x002000u
#define MILTER_P_NR_MAIL	0x004000u
#define MILTER_P_NR_RCPT	0x008000u
#define MILTER_P_NR_DATA	0x010000u
#define MILTER_P_NR_UNKN	0x020000u
#define MILTER_P_NR_EOH		0x040000u
#define MILTER_P_NR_BODY	0x080000u
#define MILTER_P_HDR_LEADSPC	0x100000u
/* Every step flag the MTA side here supports (all but the size ones). */
#define MILTER_P_ALL		0x1fffffu

/* Macro stages (SMFIM_*) of an OPTNEG reply's symbol lists. */
enum milter_stage {
	MILTER_STAGE_CONNECT,
	MILTER_STAGE_HELO,
	MILTER_STAGE_MAIL,
	MILTER_STAGE_RCPT,
	MILTER_STAGE_DATA,
	MILTER_STAGE_EOM,
	MILTER_STAGE_EOH,
	MILTER_STAGE_COUNT
};

/* What a reply asks (SMFIR_*). */
enum milter_reply_kind {
	MILTER_R_CONTINUE,	/* 'c' */
	MILTER_R_ACCEPT,	/* 'a' */
	MILTER_R_REJECT,	/* 'r' */
	MILTER_R_TEMPFAIL,	/* 't' */
	MILTER_R_REPLYCODE,	/* 'y' text */
	MILTER_R_DISCARD,	/* 'd' */
	MILTER_R_CONN_FAIL,	/* 'f' */
	MILTER_R_SHUTDOWN,	/* '4' */
	MILTER_R_PROGRESS,	/* 'p' */
	MILTER_R_SKIP,		/* 's' */
	MILTER_R_ADDHEADER,	/* 'h' name value */
	MILTER_R_INSHEADER,	/* 'i' index name value */
	MILTER_R_CHGHEADER,	/* 'm' index name value ("" deletes) */
	MILTER_R_REPLBODY,	/* 'b' data */
	MILTER_R_ADDRCPT,	/* '+' rcpt */
	MILTER_R_ADDRCPT_PAR,	/* '2' rcpt args */
	MILTER_R_DELRCPT,	/* '-' rcpt */
	MILTER_R_CHGFROM,	/* 'e' from [args] */
	MILTER_R_QUARANTINE,	/* 'q' reason */
	MILTER_R_OPTNEG,	/* 'O' (see milter_optneg_parse) */
};

/* One packet as read: cmd and len octets of data (not NUL-terminated,
 * but data[len] is a NUL the reader adds). */
struct milter_packet {
	char		 cmd;
	const char	*data;
	size_t		 len;
};

/* A decoded reply; pointers point into the packet's data. */
struct milter_reply {
	enum milter_reply_kind	 kind;
	uint32_t		 index;	/* INSHEADER, CHGHEADER */
	const char		*a;	/* name, rcpt, from, text, reason */
	const char		*b;	/* value, args (NULL when absent) */
	const char		*data;	/* REPLBODY */
	size_t			 len;	/* REPLBODY */
};

/* The filter's OPTNEG answer. */
struct milter_optneg {
	uint32_t	 version;
	uint32_t	 actions;
	uint32_t	 protocol;
	const char	*macros[MILTER_STAGE_COUNT];	/* or NULL */
};

/* The incremental reader of the filter's stream. */
struct milter_reader {
	unsigned char	 hdr[4];
	size_t		 hdr_len;
	uint32_t	 want;		/* packet length once hdr is read */
	struct buf	 pkt;		/* cmd + data + NUL */
};

enum milter_read_result {
	MILTER_READ_MORE,	/* all input used; no packet yet */
	MILTER_READ_OK,		/* *out holds a packet until the next feed */
	MILTER_READ_ERROR,	/* length 0 or above MILTER_PACKET_MAX */
};

void	milter_reader_init(struct milter_reader *r);
void	milter_reader_release(struct milter_reader *r);

/*
 * milter_reader_feed - take bytes of the filter's stream; *used_out says
 * how many were consumed (all of them unless a packet completed first).
 * After MILTER_READ_ERROR the stream is broken: drop the connection.
 */
enum milter_read_result milter_reader_feed(struct milter_reader *r,
	    const char *in, size_t len, size_t *used_out,
	    struct milter_packet *out);

/*
 * milter_reply_parse - a reply packet into *out: 0, or -1 when the
 * command is unknown or its data is malformed (missing NULs, short).
 */
int	milter_reply_parse(const struct milter_packet *p,
	    struct milter_reply *out);

/* milter_reply_is_edit - h i m b + 2 - e q: end of message only. */
bool	milter_reply_is_edit(enum milter_reply_kind kind);

/*
 * milter_optneg_parse - the OPTNEG reply: 0, or -1 when malformed or
 * the version is below 2.  Symbol lists past the three words are kept
 * per stage (pointers into the packet); unknown stages are ignored.
 */
int	milter_optneg_parse(const struct milter_packet *p,
	    struct milter_optneg *out);

/*
 * Encoders: each appends one whole packet to b (a buf with room; -1 and
 * b unchanged when it is full, else 0).
 * milter_enc_optneg - 'O' version, actions, protocol flags.
 * milter_enc_macros - 'D' for command cmd: n name/value pairs, where a
 *	NULL or empty value leaves the pair out.
 * milter_enc_connect - 'C' host, family '4', '6', 'L' or 'U', port and
 *	address (port and address left out for 'U').
 * milter_enc_strings - cmd followed by n NUL-terminated strings (H, M
 *	with its ESMTP arguments, R, L name value, q...).
 * milter_enc_body - 'B' with at most MILTER_CHUNK_MAX octets.
 * milter_enc_cmd - a command with no data (T, N, E, A, Q, K).
 */
int	milter_enc_optneg(struct buf *b, uint32_t version, uint32_t actions,
	    uint32_t protocol);
int	milter_enc_macros(struct buf *b, char cmd, const char *const *pairs,
	    size_t n);
int	milter_enc_connect(struct buf *b, const char *host, char family,
	    uint16_t port, const char *addr);
int	milter_enc_strings(struct buf *b, char cmd, const char *const *strs,
	    size_t n);
int	milter_enc_body(struct buf *b, const char *data, size_t len);
int	milter_enc_cmd(struct buf *b, char cmd);

/*
 * milter_reply_text - sanitise a 'y' reply text for the client: its
 * first line only, a 4xx or 5xx code ("421", "45x", "55x"...) followed by
 * a space, a hyphen or the end; an enhanced code whose class matches is
 * skipped; the rest made printable ASCII ('?' for anything else) and cut
 * at MILTER_TEXT_MAX.  Returns the code (400-599) with the text in dst
 * (size dstlen, NUL-terminated, possibly empty), or 0 when the reply
 * carries no usable code.
 */
#define MILTER_TEXT_MAX	200
unsigned milter_reply_text(const char *text, char *dst, size_t dstlen);

/*
 * Messages as the spool holds them (LF line ends): the header section
 * split into fields, and the edits a filter asks for at end of message
 * applied to a copy.
 *
 * milter_hdr - one field: its bytes (name, colon, value and any folded
 * lines, with the final LF) and the length of its name.  A line without
 * a colon is kept as a field with name_len 0, which no edit names.
 */
struct milter_hdr {
	const char	*p;
	size_t		 len;
	size_t		 name_len;
};

/*
 * milter_headers - the fields of msg into *out (heap, free() it) and
 * their number; *body_out is the offset of the body (after the blank
 * line, or len when there is none).
 */
size_t	milter_headers(const char *msg, size_t len, struct milter_hdr **out,
	    size_t *body_out);

enum milter_edit_kind {
	MILTER_EDIT_ADD,	/* 'h': append a field */
	MILTER_EDIT_INSERT,	/* 'i': a field at index (0: the top) */
	MILTER_EDIT_CHANGE,	/* 'm': the index-th (from 1) field of that
				 * name; an empty value deletes it, a
				 * missing field is added */
};

struct milter_edit {
	enum milter_edit_kind kind;
	uint32_t	 index;
	const char	*name;
	const char	*value;	/* as the filter sent it */
};

/*
 * milter_edit_apply - msg with edits applied in order, into out: the new
 * fields as "Name: value" (the value as given when leadspc, the filter
 * having negotiated SMFIP_HDR_LEADSPC, else after one space), CR LF and
 * bare LF in values made LF plus a tab so no edit can add a field of its
 * own; with body non-NULL the body is replaced by it (CR LF made LF).
 * Edits naming an invalid field name are skipped.  Returns 0, or -1 when
 * out is full.
 */
int	milter_edit_apply(const char *msg, size_t len,
	    const struct milter_edit *edits, size_t nedits, bool leadspc,
	    const struct buf *body, struct buf *out);

#endif
