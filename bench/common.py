#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
#
# bench/common.py - what every piece of bench/run shares: the paths, the
# test domain and client names, the errors, say/now/run and two file
# helpers.

import os
import subprocess
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")
DOMAIN = "bench.test"
FROM = "bench@client.test"
HELO = "client.test"

SERVERS = ("inletd", "postfix", "sink", "floor", "inletd-nodirsync",
           "inletd-nofsync")
LABEL = {"inletd": "inletd", "postfix": "Postfix", "sink": "smtp-sink",
         "floor": "floor", "inletd-nodirsync": "inletd, no fsync of new/",
         "inletd-nofsync": "inletd, no fsync"}
# the what-if servers: inletd under bench/nosync.c (LD_PRELOAD), NOSYNC=
NOSYNC = {"inletd-nodirsync": "dir", "inletd-nofsync": "all"}


class BenchError(Exception):
    pass


class Stop(Exception):
    pass


def say(*a):
    print("bench:", *a, flush=True)


def now():
    return time.monotonic()


def run(cmd, timeout=600, check=True, **kw):
    """Run a command, bounded in time; return CompletedProcess."""
    p = subprocess.run(cmd, timeout=timeout, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, **kw)
    if check and p.returncode != 0:
        raise BenchError("%s failed (exit %d):\n%s" %
                         (" ".join(cmd), p.returncode, p.stdout[-3000:]))
    return p


def count_maildir(path, min_size):
    """(files in new/, files in tmp/, files smaller than min_size)."""
    new = os.path.join(path, "new")
    tmp = os.path.join(path, "tmp")
    n = small = 0
    if os.path.isdir(new):
        for e in os.scandir(new):
            n += 1
            if e.stat().st_size < min_size:
                small += 1
    t = len(os.listdir(tmp)) if os.path.isdir(tmp) else 0
    return n, t, small


def tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no log)"
