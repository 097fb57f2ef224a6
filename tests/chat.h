/* SPDX-License-Identifier: ISC */
/*
 * chat - golden transcript files (tests/chat/ *.chat), replayed against
 * the pure session with fake ops (check_session) and against the real
 * daemon over loopback (check_daemon).
 *
 * Format, one step per line:
 *   # comment            ignored, as are blank lines
 *   !config key=value    a config override (before the first step)
 *   !alias line          a line of the aliases file the run is given
 *   C: text              the client sends text CRLF
 *   R: text              the client sends text with \r \n \t \\ \xHH
 *                        escapes and nothing added (raw bytes)
 *   S: text              the next reply (all its lines) must have a line
 *                        that starts with text; "250-X" lines match "250 X"
 *   N: text              the next reply must have no such line
 *   !starttls            complete a TLS handshake now
 *   !expect-maildir N    N message files delivered so far
 *   !close               the server must have closed the connection
 */
#ifndef INLET_TEST_CHAT_H
#define INLET_TEST_CHAT_H

#include <stdbool.h>
#include <stddef.h>

#define CHAT_MAX_OVERRIDES	16
#define CHAT_REPLY_MAX		8192

enum chat_op {
	CHAT_SEND,
	CHAT_EXPECT,
	CHAT_EXPECT_NOT,
	CHAT_STARTTLS,
	CHAT_MAILDIR,
	CHAT_CLOSE,
};

struct chat_step {
	enum chat_op	 op;
	char		*text;		/* bytes to send / expected prefix */
	size_t		 len;
	long		 n;		/* for CHAT_MAILDIR */
	unsigned	 line;		/* line number in the file */
};

struct chat {
	char		*name;
	char		*overrides[CHAT_MAX_OVERRIDES];
	size_t		 noverrides;
	char		*aliases;	/* the !alias lines, or NULL */
	struct chat_step *steps;
	size_t		 nsteps;
};

/* What a runner must provide. */
struct chat_io {
	/* send bytes; 0 or -1 */
	int	(*send)(void *ctx, const char *data, size_t len);
	/* the next complete reply (lines joined by \n) into buf; 1 ok,
	 * 0 connection closed, -1 error or timeout */
	int	(*reply)(void *ctx, char *buf, size_t buflen);
	/* TLS handshake; 0 or -1 */
	int	(*starttls)(void *ctx);
	/* message files delivered so far, or -1 */
	long	(*maildir_count)(void *ctx);
	/* 1 when the server has closed the connection, 0 if not */
	int	(*is_closed)(void *ctx);
};

/* chat_load - parse a .chat file; NULL on error (message on stderr). */
struct chat *chat_load(const char *path);

/* chat_free - NULL-safe. */
void	chat_free(struct chat *c);

/*
 * chat_run - replay c through io.  Returns 0, or -1 with a message
 * "file:line: what went wrong" in err (size errlen).
 */
int	chat_run(const struct chat *c, const struct chat_io *io, void *ctx,
	    char *err, size_t errlen);

/* chat_reply_matches - whether a reply (lines joined by \n) has a line
 * beginning with want, treating "NNN-" as "NNN ". */
bool	chat_reply_matches(const char *reply, const char *want);

/* chat_list - the sorted *.chat paths in dir; count in *n.  Free each. */
char	**chat_list(const char *dir, size_t *n);

#endif
