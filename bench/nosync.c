/* SPDX-License-Identifier: ISC */
/*
 * nosync - an LD_PRELOAD object for bench/run's what-if servers (built
 * by it with cc -O2 -Wall -shared -fPIC).  It answers fsync() and
 * fdatasync() with success without asking the kernel:
 *
 *   NOSYNC=dir   only for directories (inletd-nodirsync: the message
 *                file is still fsynced, its new/ entry is not)
 *   NOSYNC=all   for every descriptor (inletd-nofsync: nothing is)
 *
 * Any other NOSYNC (or none) passes every call through.  A server
 * running under it is not durable; bench/run uses it only to show what
 * the fsyncs cost, beside the real inletd in the same run.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* skip - true when this call is to be answered without the kernel. */
static int
skip(int fd)
{
	const char *what = getenv("NOSYNC");
	struct stat st;

	if (what == NULL)
		return 0;
	if (strcmp(what, "all") == 0)
		return 1;
	return strcmp(what, "dir") == 0 && fstat(fd, &st) == 0 &&
	    S_ISDIR(st.st_mode);
}

int
fsync(int fd)
{
	return skip(fd) ? 0 : (int)syscall(SYS_fsync, fd);
}

int
fdatasync(int fd)
{
	return skip(fd) ? 0 : (int)syscall(SYS_fdatasync, fd);
}
