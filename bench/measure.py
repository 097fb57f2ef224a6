#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
#
# bench/measure.py - the measurements: one load run (bench/gen.c, or
# smtp-source with --gen smtp-source) against a server, the idle
# sessions, and the report of medians and targets.

import errno
import os
import selectors
import socket
import statistics
import subprocess
import tempfile
import time

from common import DOMAIN, FROM, HELO, LABEL, NOSYNC, now, say, count_maildir, tail
from servers import Inletd, Postfix, rss_kib, tree_cpu, tree_kib

# the load generator: bench/gen.c's binary (run sets it), or None for
# Debian's smtp-source
GEN = None

# ------------------------------------------------------------- load runs

def mailbox(cname, rnd):
    return "%s-r%d" % (cname, rnd)


def new_result(srv, cname, rnd, n):
    """A run's result dict, not ok yet; with "error" set when srv is not
    running (then the caller returns it as it is)."""
    res = {"server": srv.name, "case": cname, "round": rnd, "n": n,
           "ok": False}
    if not srv.alive():
        res["error"] = "server not running"
    return res


def one_run(srv, case, rnd, args, deadline):
    """Drive srv with the load generator (GEN, or smtp-source) for one
    case; return a result dict."""
    cname, size, sessions, msgs = case
    user = mailbox(cname, rnd)
    res = new_result(srv, cname, rnd, msgs)
    if "error" in res:
        return res
    # several generator processes, so that the generator is not the
    # bottleneck: sessions and messages split among them
    gens = max(1, min(args.gens, sessions, msgs))
    timeout = min(max(60, msgs / 5), max(10, deadline - now()))
    cmds = []
    for g in range(gens):
        cmd = [GEN or "smtp-source",
               "-s", str(sessions // gens + (g < sessions % gens)),
               "-m", str(msgs // gens + (g < msgs % gens)),
               "-l", str(size), "-f", FROM, "-t", "%s@%s" % (user, DOMAIN),
               "-M", HELO]
        if args.reuse:
            cmd.append("-d")
        if GEN:
            cmd += ["-T", "%.0f" % timeout, str(srv.port)]
        else:
            cmd.append("127.0.0.1:%d" % srv.port)
        cmds.append(cmd)
    cpu0 = tree_cpu(srv.pid)
    t0 = now()
    out, rc, client, _ = run_clients(cmds, timeout)
    t1 = now()
    res["gens"] = gens
    res["client_cpu_per_1000"] = client * 1000.0 / msgs
    # gen's "regreet N": connections it made again after no 220 within
    # its -g seconds (a listen queue that overflowed); not an error.
    # gen's "span START END" (CLOCK_MONOTONIC): the run's time is from
    # the first process's first connect to the last one's end, without
    # the processes' start and exit (which weigh on a 0.2 s run)
    kept, spans = [], []
    for line in out.splitlines():
        if line.startswith("regreet ") and line[8:].isdigit():
            res["regreet"] = res.get("regreet", 0) + int(line[8:])
        elif line.startswith("span ") and len(line.split()) == 3:
            try:
                spans.append(tuple(float(x) for x in line.split()[1:]))
            except ValueError:
                kept.append(line)
        else:
            kept.append(line)
    out = "\n".join(kept)
    drained = srv.drain(user, msgs, timeout=min(60 + msgs / 20,
                                                max(10, deadline - now())))
    t2 = now()
    cpu1 = tree_cpu(srv.pid) if srv.alive() else None
    res["wall_s"] = t1 - t0
    res["secs"] = t1 - t0
    if rc == 0 and len(spans) == len(cmds):
        span = max(b for a, b in spans) - min(a for a, b in spans)
        if 0 < span <= t1 - t0:
            res["secs"] = span
    res["msgs_s"] = msgs / res["secs"]
    res["drain_s"] = t2 - t1
    if cpu1 is not None:
        res["cpu_per_1000"] = (cpu1 - cpu0) * 1000.0 / msgs
    problems = []
    if rc != 0:
        problems.append("%s exit %s: %s" % (gen_name(), rc,
                                            out.strip()[-600:]))
    elif out.strip():
        problems.append("%s said: %s" % (gen_name(), out.strip()[-600:]))
    if not srv.alive():
        problems.append("server died:\n" + tail(srv.log))
    if not drained:
        problems.append("not drained within the time limit; last log "
                        "lines:\n" + tail(srv.log, 5))
    md = srv.maildir(user)
    if md is not None:
        # stored with LF line ends (both servers), hence 0.9
        n, t, small = count_maildir(md, int(size * 0.9))
        res["stored"] = n
        if n != msgs:
            problems.append("Maildir %s holds %d messages, %d sent" %
                            (md, n, msgs))
        if t:
            problems.append("%d files left in %s/tmp" % (t, md))
        if small:
            problems.append("%d files in %s/new smaller than %d bytes" %
                            (small, md, int(size * 0.9)))
    if problems:
        res["error"] = "; ".join(problems)
    else:
        res["ok"] = True
    if isinstance(srv, Postfix) and not drained:
        srv.purge()
    return res


def gen_name():
    return "bench/gen" if GEN else "smtp-source"


def run_clients(cmds, timeout):
    """Run the commands in parallel, bounded: (their outputs joined, 0 or
    the first failure, their CPU-seconds from wait4, each output)."""
    outs = [tempfile.TemporaryFile() for _ in cmds]    # no pipe to fill
    procs = [subprocess.Popen(c, stdout=o, stderr=subprocess.STDOUT)
             for c, o in zip(cmds, outs)]
    end = now() + timeout
    texts, rc, cpu = [], 0, 0.0
    for p, o in zip(procs, outs):
        while p.returncode is None:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                p.returncode = os.waitstatus_to_exitcode(status)
                cpu += ru.ru_utime + ru.ru_stime
                break
            if now() > end:
                for q in procs:
                    if q.returncode is None:
                        q.kill()
                rc = rc or "timeout after %ds" % timeout
                end = now() + 10
            time.sleep(0.005)
        o.seek(0)
        text = o.read().decode(errors="replace")
        o.close()
        texts.append(text)
        if p.returncode != 0 and not rc:
            rc = p.returncode
    return "".join(texts), rc, cpu, texts


def fmt_run(r):
    s = "%-16s %-10s round %d: " % (r["server"], r["case"], r["round"])
    if "msgs_s" in r:
        s += "%7.0f msg/s" % r["msgs_s"]
        if "cpu_per_1000" in r:
            s += "  cpu %.2f s/1000" % r["cpu_per_1000"]
        if "client_cpu_per_1000" in r:
            s += " (client %.2f, %d proc)" % (r["client_cpu_per_1000"],
                                              r["gens"])
        if r.get("regreet"):
            s += "  (%d connections without a 220 made again)" % \
                r["regreet"]
        if r["server"] == "postfix":
            s += "  (delivered %.1f s after the last 250)" % r["drain_s"]
        if "stored" in r:
            s += "  stored %d/%d" % (r["stored"], r["n"])
    s += "  OK" if r["ok"] else "  FAILED: " + r.get("error", "?")
    return s


# ---------------------------------------------------------- idle sessions

def idle_sessions(port, n, timeout, window=500):
    """Open n sessions to 127.0.0.1:port (at most `window` waiting for
    their greeting at a time), hold the greeted ones.  Return (greeted
    sockets, counts dict).  The caller closes the sockets."""
    sel = selectors.DefaultSelector()
    greeted, pending = [], {}
    counts = {"greeted": 0, "refused": 0, "other_reply": 0, "closed": 0,
              "connect_error": 0, "timeout": 0, "first_other": ""}
    started = 0
    end = now() + timeout
    while (started < n or pending) and now() < end:
        while started < n and len(pending) < window:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            started += 1
            err = s.connect_ex(("127.0.0.1", port))
            if err not in (0, errno.EINPROGRESS):
                counts["connect_error"] += 1
                s.close()
                continue
            pending[s.fileno()] = (s, b"")
            sel.register(s, selectors.EVENT_READ)
        for key, _ in sel.select(timeout=0.5):
            s, buf = pending[key.fd]
            try:
                chunk = s.recv(4096)
            except OSError:
                chunk = None
            if not chunk:
                counts["connect_error" if chunk is None else "closed"] += 1
                sel.unregister(s)
                del pending[key.fd]
                s.close()
                continue
            buf += chunk
            if b"\n" not in buf:
                pending[key.fd] = (s, buf)
                continue
            sel.unregister(s)
            del pending[key.fd]
            line = buf.split(b"\n", 1)[0]
            if line.startswith(b"220 ") or line.startswith(b"220-"):
                greeted.append(s)
            else:
                counts["other_reply"] += 1
                if not counts["first_other"]:
                    counts["first_other"] = line.decode(errors="replace")
                s.close()
    counts["timeout"] = len(pending) + (n - started)
    for s, _ in pending.values():
        sel.unregister(s)
        s.close()
    sel.close()
    counts["greeted"] = len(greeted)
    return greeted, counts


def still_open(socks):
    """How many of socks the server has not closed (no EOF, no data)."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    ready = sel.select(timeout=0.2)
    sel.close()
    return len(socks) - len(ready)


def idle_part(exe, work, sizes, timeout, postfix=None):
    rows = []
    for n in sizes:
        srv = Inletd(exe, work, "idle-%d" % n)
        try:
            srv.start()
            time.sleep(0.5)
            before = rss_kib(srv.pid)
            t0 = now()
            socks, c = idle_sessions(srv.port, n, timeout)
            dt = now() - t0
            time.sleep(1.0)     # let the daemon settle
            after = rss_kib(srv.pid)
            held = still_open(socks)
            up = srv.alive()
            for s in socks:
                s.close()
            per = (after - before) / c["greeted"] if c["greeted"] else 0
            row = {"server": "inletd", "n": n, "greeted": c["greeted"],
                   "held": held, "rss_before_kib": before,
                   "rss_after_kib": after, "kib_per_session": per,
                   "secs": dt, "counts": c, "alive": up}
            if not up:
                row["log"] = tail(srv.log)
            rows.append(row)
            say("idle %5d -> inletd: %d greeted in %.1f s, %d still open at "
                "the measurement; RSS %d -> %d KiB = %.1f KiB/session%s" %
                (n, c["greeted"], dt, held, before, after, per,
                 "" if c["greeted"] == n else "; %r" % c))
        finally:
            srv.stop()
    if postfix is not None and postfix.alive():
        # Postfix for comparison, one size only: PSS of the whole instance,
        # restarted first so that no smtpd is left idle from the load runs
        n = min(sizes)
        postfix.stop()
        postfix.start()
        time.sleep(2)
        before = tree_kib(postfix.pid, "Pss")
        socks, c = idle_sessions(postfix.port, n, min(timeout, 10))
        time.sleep(1.0)
        after = tree_kib(postfix.pid, "Pss")
        for s in socks:
            s.close()
        per = (after - before) / c["greeted"] if c["greeted"] else 0
        rows.append({"server": "postfix", "n": n, "greeted": c["greeted"],
                     "kib_per_session": per, "pss_before_kib": before,
                     "pss_after_kib": after, "counts": c})
        say("idle %5d -> Postfix: %d greeted in 10 s (the others wait in "
            "its backlog); PSS of the instance %d -> %d KiB = %.0f "
            "KiB/session" % (n, c["greeted"], before, after, per))
    return rows


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def report(cases, results, idle_rows, rounds):
    def pick(srv, cname, key):
        return med([r.get(key) for r in results
                    if r["server"] == srv and r["case"] == cname and r["ok"]])

    def f0(v):
        return "-" if v is None else "%.0f" % v

    def f2(v):
        return "-" if v is None else "%.2f" % v

    lines = []
    lines.append("Medians of %d round%s; msg/s = messages / %s; CPU = "
                 "server CPU-seconds per 1000 messages." %
                 (rounds, "" if rounds == 1 else "s",
                  "bench/gen's span (first connect to last session's end)"
                  if GEN else "smtp-source's wall time"))
    lines.append("")
    lines.append("| case | inletd msg/s | Postfix msg/s | smtp-sink msg/s |"
                 " floor msg/s | inletd / Postfix | inletd CPU |"
                 " Postfix CPU | smtp-sink CPU | floor CPU |"
                 " client CPU (inletd run) | Maildirs |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    summary = {}
    for cname, size, sessions, msgs in cases:
        i = pick("inletd", cname, "msgs_s")
        p = pick("postfix", cname, "msgs_s")
        s = pick("sink", cname, "msgs_s")
        ratio = i / p if i and p else None
        runs = [r for r in results if r["case"] == cname
                and r["server"] != "sink"]
        bad = [r for r in runs if not r["ok"]]
        check = "all exact" if runs and not bad else \
            ("%d of %d runs FAILED" % (len(bad), len(runs)) if runs else "-")
        ci = pick("inletd", cname, "cpu_per_1000")
        summary[cname] = (ratio, ci)
        lines.append("| %s (%d x %s, %d session%s) | %s | %s | %s | %s |"
                     " %s | %s | %s | %s | %s | %s | %s |" %
                     (cname, msgs, "%d KiB" % (size // 1024), sessions,
                      "" if sessions == 1 else "s",
                      f0(i), f0(p), f0(s),
                      f0(pick("floor", cname, "msgs_s")),
                      "-" if ratio is None else "%.2fx" % ratio,
                      f2(ci), f2(pick("postfix", cname, "cpu_per_1000")),
                      f2(pick("sink", cname, "cpu_per_1000")),
                      f2(pick("floor", cname, "cpu_per_1000")),
                      f2(pick("inletd", cname, "client_cpu_per_1000")),
                      check))
    whatif = [x for x in NOSYNC if any(r["server"] == x for r in results)]
    if whatif:
        lines.append("")
        lines.append("What the fsyncs cost: inletd beside the same inletd "
                     "under bench/nosync.c, which answers fsync() without "
                     "the kernel (%s; NOT durable, a what-if only); "
                     "%% = of smtp-sink's rate in the same run." %
                     ", ".join("%s: %s" % (x, LABEL[x]) for x in whatif))
        lines.append("")
        lines.append("| case | smtp-sink msg/s | inletd msg/s | " +
                     " | ".join("%s msg/s" % x for x in whatif) +
                     " | inletd CPU | " +
                     " | ".join("%s CPU" % x for x in whatif) + " |")
        lines.append("|---|---|---|" + "---|" * (2 * len(whatif) + 1))
        for cname, size, sessions, msgs in cases:
            s = pick("sink", cname, "msgs_s")

            def pct(v):
                return f0(v) + ("" if not v or not s else
                                " (%.0f%%)" % (100.0 * v / s))
            lines.append("| %s | %s | %s | %s | %s | %s |" % (
                cname, f0(s), pct(pick("inletd", cname, "msgs_s")),
                " | ".join(pct(pick(x, cname, "msgs_s")) for x in whatif),
                f2(pick("inletd", cname, "cpu_per_1000")),
                " | ".join(f2(pick(x, cname, "cpu_per_1000"))
                           for x in whatif)))
    if idle_rows:
        lines.append("")
        lines.append("| idle sessions | server | greeted | memory per session |")
        lines.append("|---|---|---|---|")
        for r in idle_rows:
            what = "RSS" if r["server"] == "inletd" else "PSS, whole instance"
            lines.append("| %d | %s | %d | %.1f KiB (%s) |" %
                         (r["n"], LABEL[r["server"]], r["greeted"],
                          r["kib_per_session"], what))
    # the targets of the Performance issue
    lines.append("")
    t = []
    r1 = summary.get("1k-c10", (None, None))
    r2 = summary.get("100k-c10", (None, None))

    def verdict(ok):
        return "?" if ok is None else ("met" if ok else "NOT met")
    t.append("1 KiB at 10 sessions >= 2x Postfix: %s (%s)" %
             (verdict(None if r1[0] is None else r1[0] >= 2),
              "-" if r1[0] is None else "%.2fx" % r1[0]))
    t.append("100 KiB at 10 sessions >= 1.5x Postfix: %s (%s)" %
             (verdict(None if r2[0] is None else r2[0] >= 1.5),
              "-" if r2[0] is None else "%.2fx" % r2[0]))
    t.append("inletd CPU <= 0.5 s per 1000 messages (1 KiB, 10 sessions): "
             "%s (%s)" % (verdict(None if r1[1] is None else r1[1] <= 0.5),
                          f2(r1[1])))
    # issue 16 (group commit): half the protocol ceiling, 0.2 CPU-s, and
    # no drop with more sessions
    i10 = pick("inletd", "1k-c10", "msgs_s")
    s10 = pick("sink", "1k-c10", "msgs_s")
    if i10 and s10:
        t.append("1 KiB at 10 sessions >= 50%% of smtp-sink's rate: %s "
                 "(%.0f%%)" % (verdict(i10 >= s10 / 2), 100.0 * i10 / s10))
    if s10:
        for x in whatif:
            v = pick(x, "1k-c10", "msgs_s")
            if v:
                t.append("  what-if, %s: %.0f%% of smtp-sink (%.0f msg/s, "
                         "CPU %s)" % (LABEL[x], 100.0 * v / s10, v,
                                      f2(pick(x, "1k-c10", "cpu_per_1000"))))
    if r1[1] is not None:
        t.append("inletd CPU <= 0.2 s per 1000 messages (1 KiB, 10 "
                 "sessions): %s (%s)" % (verdict(r1[1] <= 0.2), f2(r1[1])))
    fl = pick("floor", "1k-c10", "cpu_per_1000")
    if fl:
        t.append("durable floor (floor: one thread, protocol + create, "
                 "write, fsync, link, fsync new/), CPU at 1k-c10: %.2f s "
                 "per 1000%s" % (fl, "" if r1[1] is None else
                                 "; inletd %.2f = %.1fx the floor" %
                                 (r1[1], r1[1] / fl)))
    for more in ("1k-c100", "1k-c1000"):
        im = pick("inletd", more, "msgs_s")
        if i10 and im:
            t.append("%s no lower than 1k-c10: %s (%.0f vs %.0f msg/s)" %
                     (more, verdict(im >= i10), im, i10))
    ii = [r for r in idle_rows if r["server"] == "inletd"]
    if ii:
        worst = max(r["kib_per_session"] for r in ii)
        t.append("<= 16 KiB per idle session: %s (%.1f KiB at most)" %
                 (verdict(worst <= 16), worst))
        big = [r for r in ii if r["n"] >= 10000]
        if big:
            t.append("10000 idle sessions all greeted: %s (%d greeted)" %
                     (verdict(big[0]["greeted"] == big[0]["n"]),
                      big[0]["greeted"]))
    lines.append("Targets:")
    lines.extend("  " + x for x in t)
    return "\n".join(lines)
