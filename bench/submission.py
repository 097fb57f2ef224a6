#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
#
# bench/submission.py - the submission path as offices use it: every
# message on its own connection with TLS (STARTTLS on the submission
# port, or implicit TLS on submissions) and AUTH PLAIN, one message,
# QUIT; against inletd and a private Postfix set up the same way (the same
# EC P-256 certificate, the same Cyrus sasldb).  The clients are several
# bench/subclient.c processes (one per concurrent session; C with OpenSSL,
# so that the client costs less than the servers), their CPU counted
# apart (wait4).  Also: idle TLS sessions' memory.

import json
import os
import socket
import ssl
import subprocess
import time

from common import DOMAIN, LABEL, BenchError, now, say, count_maildir, run
from measure import new_result, run_clients
from servers import Postfix, tree_cpu, tree_kib

LOGIN = "bench@" + DOMAIN
PASSWORD = "bench-password"
CLIENT = None   # the built bench/subclient.c, set by bench/run

# (name, port role, client mode, resume)
SUB_CASES = [
    ("sub-starttls", "submission", "starttls", False),
    ("sub-starttls-resume", "submission", "starttls", True),
    ("subs-tls", "submissions", "tls", False),
    ("subs-tls-resume", "submissions", "tls", True),
    ("hs-tls", "submissions", "hs", False),
    ("hs-tls-resume", "submissions", "hs", True),
]


def make_files(work):
    """An EC P-256 certificate and key, and a sasldb with LOGIN."""
    d = os.path.join(work, "sub-files")
    os.makedirs(d)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
         cert, "-days", "30", "-subj", "/CN=localhost", "-addext",
         "subjectAltName=DNS:localhost,IP:127.0.0.1"], timeout=60)
    db = os.path.join(d, "sasldb2")
    user, realm = LOGIN.split("@")
    p = subprocess.run(["saslpasswd2", "-p", "-c", "-f", db, "-u", realm,
                        user], input=PASSWORD.encode(), timeout=60,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise BenchError("saslpasswd2: %s" % p.stdout.decode())
    return {"cert": cert, "key": key, "sasldb": db}


def inletd_conf(files):
    return ("listen 127.0.0.1:0 submission\nlisten 127.0.0.1:0 submissions\n"
            "tls_cert %s\ntls_key %s\nsasl_db %s\n" %
            (files["cert"], files["key"], files["sasldb"]))


def mailbox(cname, rnd):
    return "%s-r%d" % (cname, rnd)


def run_subclients(port, mode, resume, msgs, sessions, rcpt, size,
                   timeout):
    """sessions client processes sharing msgs: (ok, failed, resumed,
    errors, wall seconds, client CPU-seconds)."""
    cmds = []
    for i in range(sessions):
        n = msgs // sessions + (i < msgs % sessions)
        if n > 0:
            cmds.append([CLIENT, str(port), mode, "1" if resume else "0",
                         str(n), LOGIN, PASSWORD, rcpt, str(size)])
    t0 = now()
    _, rc, cpu, texts = run_clients(cmds, timeout)
    ok, failed, resumed, errors = 0, 0, 0, []
    if isinstance(rc, str):
        errors.append(rc)
    for text in texts:
        try:
            r = json.loads(text.strip().splitlines()[-1])
            ok += r["ok"]
            failed += r["failed"]
            resumed += r["resumed"]
            errors.extend(r["errors"][:1])
        except (ValueError, IndexError, KeyError):
            failed += 1
            errors.append(text[-300:])
    return ok, failed, resumed, errors, now() - t0, cpu


def sub_run(srv, case, rnd, msgs, sessions, deadline):
    cname, role, mode, resume = case
    user = mailbox(cname, rnd)
    res = new_result(srv, cname, rnd, msgs)
    if "error" in res:
        return res
    timeout = min(max(60, msgs / 5), max(10, deadline - now()))
    cpu0 = tree_cpu(srv.pid)
    ok, failed, resumed, errors, secs, client = run_subclients(
        srv.ports[role], mode, resume, msgs, sessions,
        "%s@%s" % (user, DOMAIN), 1024, timeout)
    t1 = now()
    problems = []
    if mode != "hs" and not srv.drain(user, msgs, timeout=min(
            60 + msgs / 20, max(10, deadline - now()))):
        problems.append("not drained within the time limit")
    cpu1 = tree_cpu(srv.pid) if srv.alive() else None
    res.update(secs=secs, msgs_s=msgs / secs, drain_s=now() - t1,
               client_cpu_per_1000=client * 1000.0 / msgs,
               resumed=resumed, gens=sessions)
    if cpu1 is not None:
        res["cpu_per_1000"] = (cpu1 - cpu0) * 1000.0 / msgs
    if failed or ok != msgs:
        problems.append("%d of %d failed: %s" % (failed, msgs,
                                                 "; ".join(errors[:3])))
    if resume and ok and resumed < (ok - sessions) * 0.9 and \
            not isinstance(srv, Postfix):   # Postfix's: reported only
        problems.append("only %d of %d connections resumed a TLS session"
                        % (resumed, ok))
    if mode != "hs":
        n, t, small = count_maildir(srv.maildir(user), 900)
        res["stored"] = n
        if n != msgs or t or small:
            problems.append("Maildir: %d in new/ (%d sent), %d in tmp/, "
                            "%d small" % (n, msgs, t, small))
    if problems:
        res["error"] = "; ".join(problems)
    else:
        res["ok"] = True
    if isinstance(srv, Postfix) and problems:
        srv.purge()
    return res


def fmt_sub(r):
    s = "%-8s %-20s round %d: " % (r["server"], r["case"], r["round"])
    if "msgs_s" in r:
        s += "%6.0f conn/s" % r["msgs_s"]
        if "cpu_per_1000" in r:
            s += "  cpu %.2f s/1000 (client %.2f)" % (
                r["cpu_per_1000"], r["client_cpu_per_1000"])
        s += "  resumed %d" % r["resumed"]
        if "stored" in r:
            s += "  stored %d/%d" % (r["stored"], r["n"])
    s += "  OK" if r["ok"] else "  FAILED: " + r.get("error", "?")
    return s


def idle_tls(srv, n, timeout):
    """Open n implicit-TLS sessions (handshake done, 220 read), hold them,
    and return (greeted, KiB per session: RSS for inletd, PSS of the
    instance for Postfix)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    key = "Pss" if isinstance(srv, Postfix) else "Rss"
    time.sleep(0.5)
    before = tree_kib(srv.pid, key)
    socks = []
    end = now() + timeout
    try:
        while len(socks) < n and now() < end:
            raw = socket.create_connection(("127.0.0.1",
                                            srv.ports["submissions"]),
                                           timeout=5)
            try:
                s = ctx.wrap_socket(raw, server_hostname="localhost")
                buf = b""
                while b"\r\n" not in buf:
                    chunk = s.recv(512)
                    if not chunk:
                        break
                    buf += chunk
                if not buf.startswith(b"220"):
                    s.close()
                    break
                socks.append(s)
            except OSError:
                raw.close()
                break
        time.sleep(1.0)
        after = tree_kib(srv.pid, key)
    finally:
        for s in socks:
            s.close()
    per = (after - before) / len(socks) if socks else 0
    return len(socks), per, before, after


def submission_part(objs, files, rounds, msgs, sessions, idle_n, deadline):
    """Every submission case on inletd and Postfix, rounds times, the
    first server alternating; then the idle TLS sessions."""
    results, idle_rows = [], []
    order = [x for x in ("inletd", "postfix") if x in objs]
    for rnd in range(1, rounds + 1):
        for case in SUB_CASES:
            for name in order:
                if now() > deadline:
                    raise BenchError("--max-time reached; stopping early")
                r = sub_run(objs[name], case, rnd, msgs, sessions, deadline)
                results.append(r)
                say(fmt_sub(r))
                time.sleep(0.3)
            order = order[1:] + order[:1]
    for name in ("inletd", "postfix"):
        if name not in objs or not objs[name].alive() or not idle_n:
            continue
        n = idle_n if name == "inletd" else min(idle_n, 90)
        greeted, per, before, after = idle_tls(objs[name], n, 60)
        idle_rows.append({"server": name, "n": n, "greeted": greeted,
                          "kib_per_session": per, "before_kib": before,
                          "after_kib": after})
        say("idle TLS %d -> %s: %d greeted; %s %d -> %d KiB = %.1f "
            "KiB/session" % (n, name, greeted,
                             "PSS" if name == "postfix" else "RSS",
                             before, after, per))
    return results, idle_rows


def report_sub(results, idle_rows, rounds, msgs, sessions):
    def med(srv, cname, key):
        v = sorted(r[key] for r in results if r["server"] == srv and
                   r["case"] == cname and r["ok"] and key in r)
        return v[len(v) // 2] if v else None

    def f(v, fmt):
        return "-" if v is None else fmt % v

    lines = ["", "Submission (%d x 1 KiB per case, %d client processes at "
             "once, each message on its own connection; hs = TLS "
             "handshake, 220, QUIT only); medians of %d round%s.  CPU = "
             "CPU-seconds per 1000 connections; client = the subclient "
             "processes' CPU in the inletd runs." %
             (msgs, sessions, rounds, "" if rounds == 1 else "s"), "",
             "| case | inletd conn/s | Postfix conn/s | inletd / Postfix |"
             " inletd CPU | Postfix CPU | client CPU | TLS resumed (inletd,"
             " Postfix) | Maildirs |",
             "|---|---|---|---|---|---|---|---|---|"]
    targets = []
    for cname, _, mode, resume in SUB_CASES:
        i, p = med("inletd", cname, "msgs_s"), med("postfix", cname, "msgs_s")
        ci = med("inletd", cname, "cpu_per_1000")
        cp = med("postfix", cname, "cpu_per_1000")
        runs = [r for r in results if r["case"] == cname]
        bad = [r for r in runs if not r["ok"]]
        check = ("-" if mode == "hs" else "all exact") if runs and not bad \
            else ("%d of %d runs FAILED" % (len(bad), len(runs))
                  if runs else "-")
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s, %s | %s |" % (
            cname, f(i, "%.0f"), f(p, "%.0f"),
            f(i / p if i and p else None, "%.2fx"), f(ci, "%.2f"),
            f(cp, "%.2f"), f(med("inletd", cname, "client_cpu_per_1000"),
                             "%.2f"),
            f(med("inletd", cname, "resumed"), "%d"),
            f(med("postfix", cname, "resumed"), "%d"), check))
        if mode != "hs" and i and p and ci and cp:
            targets.append("%s: %.2fx Postfix's rate (>= 3x: %s), %.2f of "
                           "its CPU per message (<= 1/3: %s)" %
                           (cname, i / p, "met" if i / p >= 3 else "NOT met",
                            ci / cp, "met" if ci / cp <= 1 / 3 else
                            "NOT met"))
    if idle_rows:
        lines += ["", "| idle TLS sessions (implicit TLS, handshake done) |"
                  " server | greeted | memory per session |",
                  "|---|---|---|---|"]
        for r in idle_rows:
            lines.append("| %d | %s | %d | %.1f KiB (%s) |" % (
                r["n"], LABEL[r["server"]], r["greeted"],
                r["kib_per_session"], "RSS" if r["server"] == "inletd"
                else "PSS, whole instance"))
            if r["server"] == "inletd":
                targets.append("idle TLS session <= 64 KiB: %s (%.1f KiB)" %
                               ("met" if r["kib_per_session"] <= 64
                                else "NOT met", r["kib_per_session"]))
    if targets:
        lines += ["", "Submission targets:"] + ["  " + t for t in targets]
    return "\n".join(lines)
