#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Where mail lands: recipient addresses never name a path outside the
Maildir root, and internationalised names reach one Maildir.

Every hostile recipient below (address literals with '/', '..', '.',
leading dots, "%2f", quoted local parts with '/' and backslashes, UTF-8,
the longest allowed) is tried under each role (mx, submission after
STARTTLS and AUTH, sink) and each template shape ("%d/%u", "%u", "%d",
"x/%d/y/%u/Maildir").  The root sits four directories deep in the test's
temp dir and no address climbs more than four levels, so an escape on
a broken build stays inside that temp dir where the walk finds it.
Every reply must be a 250 or a refusal with an enhanced status code.  Each daemon is stopped by its PID; every wait is
bounded; only 127.0.0.1 is used.
"""
import base64
import os
import re
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402

TOOLS = ("openssl", "saslpasswd2")
ROOT = "r1/r2/r3/mail"          # four levels below the temp dir
TEMPLATES = ("%d/%u", "%u", "%d", "x/%d/y/%u/Maildir")
ROLES = ("mx", "submission", "sink")
USER, PASSWORD = "alice@example.test", "Paths-pw.1"
FILES = {}                      # cert, key, sasldb (setUpModule)
REPLY = re.compile(rb"^([245])\d\d[ -]([245])\.\d{1,3}\.\d{1,3}( |$)")

# local parts (the domain is example.test, a local domain)
HOSTILE_LOCAL = [
    b'".."', b'"."', b'".hidden"', b'"../../../../etc"', b'"a/../../b"',
    b'"\\/etc"', b'"..\\/..\\/x"', b'"a\\\\b"', b'%2e%2e%2fx', b'%2F..',
    b'"%2e%2e"', b'"a b"', b'"\\.."', b'"x/"', b'"/"',
    "jösé".encode(), "JÖSÉ".encode(), '"ö/../ö"'.encode(),
    b"a" * 64, b'"' + b"/" * 62 + b'"',
]
# whole addresses with hostile domains (and some hostile locals too)
HOSTILE_ADDR = [
    b"x@[x:/../../../y]", b"x@[tag:..]", b"x@[tag:/..]", b"x@[a:.]",
    b"x@[x:/../../../etc]", b"x@[a:%2f..%2f..%2f]", b"x@[IPv6:::1]",
    b"x@[IPv6:::ffff:127.0.0.1]", b"x@[127.0.0.1]", b"x@[x:/etc/passwd]",
    b"..@[x:../..]", b'".."@[x:/../..]', b"x@[x:" + b"/a" * 120 + b"]",
    b"x@[x:" + b"/" * 240 + b"]", b"x@[x:" + b"." * 240 + b"]",
    "x@exämple.test".encode(), "x@EXÄMPLE.test".encode(),
    b"x@xn--exmple-cua.test", b"x@xn--zz.test", b"x@" + b"a." * 120 + b"b",
    b"x@example.test.", b"postmaster", b"x@-x.test",
]


# too long to become one component once escaped: refused at RCPT
LONG = (b"x@[x:" + b"/a" * 120 + b"]", b"x@[x:" + b"/" * 240 + b"]")


def setUpModule():
    FILES["dir"] = tempfile.mkdtemp(prefix="inlet-paths-files-")
    cert, key = harness.make_cert(FILES["dir"], "paths")
    FILES.update(cert=cert, key=key, sasldb=harness.make_sasldb(
        os.path.join(FILES["dir"], "sasldb2"), {USER: PASSWORD}))


def tearDownModule():
    shutil.rmtree(FILES["dir"], ignore_errors=True)


def start(role, tmpl, domains="example.test"):
    """An inletd for role with maildir DIR/ROOT/tmpl."""
    conf = {"recipient_limit": 1000}
    listen = harness.LISTEN_MX
    certs = ()
    if role == "submission":
        listen = "listen 127.0.0.1:0 submission\n"
        certs = (("tls", FILES["cert"], FILES["key"]),)
        conf.update(sasl_db=FILES["sasldb"], sasl_mechanisms="PLAIN",
                    queue="queue")
    elif role == "sink":
        conf["sink"] = "yes"
    d = harness.Daemon(conf, listen=listen, domains=domains,
                       maildir=ROOT + "/" + tmpl, certs=certs,
                       prefix="inlet-paths-", start=False)
    if role == "submission":    # the queue inside the temp dir, not ./
        conf["queue"] = d.path("queue")
        d.write_conf(conf)
    d.start()
    d.root = d.path(ROOT)
    return d


def session(d, role):
    """A greeted client, after EHLO (and STARTTLS and AUTH for
    submission)."""
    s = harness.connect(d.port(role if role != "sink" else "mx"))
    s.ehlo()
    if role == "submission":
        s.starttls()
        s.ehlo()
        auth = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode())
        code, lines = s.cmd(b"AUTH PLAIN " + auth)
        if code != 235:
            raise AssertionError(f"AUTH got {lines!r}")
    return s


def outside(top, root):
    """Every file or directory under top that is neither root, one of
    its parents, inside root, nor one of the harness's own files."""
    root = os.path.realpath(root)
    bad = []
    for dirpath, dirs, files in os.walk(top):
        for name in dirs + files:
            p = os.path.realpath(os.path.join(dirpath, name))
            if p == root or p.startswith(root + os.sep):
                continue
            if root.startswith(p + os.sep):
                continue        # r1, r1/r2, ...
            if os.path.dirname(p) == os.path.realpath(top) and \
                    name in ("inlet.conf", "inletd.log", "stdout",
                             "tls-cert.pem", "tls-key.pem"):
                continue
            if p == os.path.realpath(os.path.join(top, "queue")) or \
                    p.startswith(os.path.realpath(os.path.join(
                        top, "queue")) + os.sep):
                continue
            bad.append(os.path.relpath(p, top))
    return sorted(bad)


def try_rcpt(d, role, rcpt):
    """One transaction to rcpt: the replies to RCPT and to the end of
    DATA (None when RCPT was refused)."""
    s = session(d, role)
    try:
        utf8 = b" SMTPUTF8" if any(c >= 0x80 for c in rcpt) else b""
        sender = b"alice@example.test" if role == "submission" else \
            b"s@example.net"
        code, lines = s.cmd(b"MAIL FROM:<" + sender + b">" + utf8)
        if code != 250:
            raise AssertionError(f"MAIL got {lines!r}")
        code, rlines = s.cmd(b"RCPT TO:<" + rcpt + b">")
        if code != 250:
            return rlines[0], None
        code, lines = s.cmd(b"DATA")
        if code != 354:
            return rlines[0], lines[0]
        code, lines = s.cmd(b"Subject: paths\r\n\r\nx\r\n.")
        return rlines[0], lines[0]
    finally:
        s.close()


class Containment(unittest.TestCase):
    """No recipient address names a path outside the Maildir root."""

    def check(self, role, tmpl):
        d = start(role, tmpl)
        self.addCleanup(d.cleanup)
        try:
            rcpts = [l + b"@example.test" for l in HOSTILE_LOCAL] + \
                HOSTILE_ADDR
            delivered = 0
            wrong = []      # replies that are no proper 250 or refusal
            for rcpt in rcpts:
                rr, dr = try_rcpt(d, role, rcpt)
                for r in (rr, dr):
                    m = REPLY.match(r) if r is not None else True
                    if m is None or (m is not True and
                                     m.group(1) != m.group(2)):
                        wrong.append((rcpt, r))
                if rcpt in LONG and not rr.startswith(b"553 5.1.3 "):
                    wrong.append((rcpt, rr))
                if dr is not None and dr.startswith(b"250"):
                    delivered += 1
        finally:
            self.assertEqual(d.stop(), 0, d.log_text())
        bad = outside(d.dir, d.root)
        print(f"{role} {tmpl}: {delivered} delivered, "
              f"{len(bad)} outside the root", file=sys.stderr)
        self.assertEqual(bad, [], f"{role} {tmpl}")
        self.assertEqual(wrong, [])
        inside = 0
        for dirpath, _, files in os.walk(d.root):
            if os.path.basename(dirpath) == "new":
                inside += len(files)
        queued = 0
        for dirpath, _, files in os.walk(d.path("queue")):
            if os.path.basename(dirpath) == "new":
                queued += len(files)
        self.assertEqual(inside + queued, delivered)
        self.assertGreater(inside, 0)


class Idn(unittest.TestCase):
    """Internationalised domains compare in one form (A-labels), and a
    UTF-8 local part reaches one Maildir whatever its case."""

    def deliver(self, d, rcpts):
        s = harness.connect(d.port("mx"))
        try:
            s.ehlo()
            self.assertEqual(s.cmd(b"MAIL FROM:<s@example.net> SMTPUTF8")[0],
                             250)
            for rcpt in rcpts:
                code, lines = s.cmd(b"RCPT TO:<" + rcpt.encode() + b">")
                self.assertEqual(code, 250, (rcpt, lines))
            self.assertEqual(s.cmd(b"DATA")[0], 354)
            code, lines = s.cmd(b"Subject: idn\r\n\r\nx\r\n.")
            self.assertEqual(code, 250, lines)
        finally:
            s.close()

    def check(self, domains, rcpt_file=None):
        d = harness.Daemon(
            f"recipients {rcpt_file}\n" if rcpt_file else "",
            domains=domains, maildir=ROOT + "/%d/%u", prefix="inlet-idn-")
        self.addCleanup(d.cleanup)
        try:
            self.deliver(d, ["x@exämple.test", "x@EXÄMPLE.TEST",
                             "x@xn--exmple-cua.test"])
            self.deliver(d, ["JÖSÉ@xn--exmple-cua.test"])
            self.deliver(d, ["jösé@exämple.test", "JO\u0308SE\u0301@"
                             "xn--EXMPLE-cua.test"])
            s = harness.connect(d.port("mx"))
            try:
                s.ehlo()
                s.cmd(b"MAIL FROM:<s@example.net> SMTPUTF8")
                self.assertEqual(s.line("RCPT TO:<x@exämple.tést>".encode()),
                                 b"550 5.7.1 Relay access denied")
            finally:
                s.close()
        finally:
            self.assertEqual(d.stop(), 0, d.log_text())
        base = os.path.join(d.path(ROOT), "xn--exmple-cua.test")
        self.assertEqual(os.listdir(d.path(ROOT)), ["xn--exmple-cua.test"])
        self.assertEqual(sorted(os.listdir(base)), ["jösé", "x"])
        self.assertEqual(len(d.new_files(os.path.join(base, "x"))), 3)
        self.assertEqual(len(d.new_files(os.path.join(base, "jösé"))), 3)

    def test_a_label_config(self):
        self.check("xn--exmple-cua.test")

    def test_u_label_config(self):
        self.check("EXÄMPLE.test")

    def test_recipients_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".rcpt", delete=False,
                                         encoding="utf-8") as f:
            f.write("x@EXÄMPLE.test\nJösé@xn--exmple-cua.test\n")
        self.addCleanup(os.unlink, f.name)
        self.check("exämple.test", f.name)


def make_case(role, tmpl):
    return lambda self: self.check(role, tmpl)


for _role in ROLES:
    for _i, _tmpl in enumerate(TEMPLATES):
        setattr(Containment, f"test_{_role}_{_i}", make_case(_role, _tmpl))


if __name__ == "__main__":
    sys.exit(harness.main("test_paths", TOOLS))
