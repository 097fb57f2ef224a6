#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Logs an MX operator can grep and a client cannot forge (issue 11).

Hostile clients send HELO names, quoted local parts, AUTH user names and
SNI full of quotes, '=', spaces, backslashes, control bytes, UTF-8 and
bytes that are not UTF-8.  Then every line the daemon logged is read
back with a strict key=value parser (bare tokens, or double-quoted
values with \\" \\\\ and \\xHH escapes): each line must parse, begin with
session= and event=, hold no key twice, and give back exactly the bytes
that were sent.  A delivered message logs one line per recipient
(to=, status=sent, the file), and a refused RCPT logs the sender, the
recipient, the client and the reply's text.
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
from inlet_harness import (Daemon, client_ctx, connect,  # noqa: E402
                           WAIT)

PREFIX = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ inletd\[(debug|info|"
                    rb"warn|error)\]: ")
KEY = re.compile(rb"[a-z0-9_-]+")
BARE = re.compile(rb'[^ "\\=\x00-\x1f\x7f-\xff]+')
SESSION = re.compile(rb"[0-9A-F]{16}|-")

# Hostile values: every one must come back byte for byte.
EVIL_LOCAL = b'"x\\" user=evil"'            # "x\" user=evil"
EVIL_LOCAL2 = b'"a\\\\b =c\\"d"'            # "a\\b =c\"d"
EVIL_UTF8 = '"ü ser=\\"é"'.encode()         # with SMTPUTF8
EVIL_HELO = b'h"x\\y=z"user=evil\\'
LONG_HELO = b"a" * 200 + b'"=\\' * 60
EVIL_SNI = 'sni" user=evil\\x=1'
EVIL_USER = b'mallory" user=root =x'        # spaces: not an identity
EVIL_USER_OK = b'eve"=admin\\'               # quotes, '=', '\\': one
EVIL_LOGIN = b'evil" user=root\x01\x1b[31m\r\n\xff\xc3\xa9'


def parse_value(line, i):
    """The value at line[i:]: (bytes, next index).  Raises ValueError."""
    if line[i:i + 1] != b'"':
        m = BARE.match(line, i)
        if not m:
            raise ValueError(f"no value at {i}")
        return m.group(0), m.end()
    out = bytearray()
    i += 1
    while True:
        if i >= len(line):
            raise ValueError("unterminated quote")
        c = line[i]
        if c == ord('"'):
            return bytes(out), i + 1
        if c == ord("\\"):
            e = line[i + 1:i + 2]
            if e in (b'"', b"\\"):
                out += e
                i += 2
            elif e == b"x" and re.fullmatch(rb"[0-9a-f]{2}",
                                            line[i + 2:i + 4]):
                out.append(int(line[i + 2:i + 4], 16))
                i += 4
            else:
                raise ValueError(f"bad escape at {i}")
            continue
        if c < 0x20 or c == 0x7f:
            raise ValueError(f"raw control byte at {i}")
        out.append(c)
        i += 1


def parse_line(raw):
    """One log line: [(key, value bytes)].  Raises ValueError."""
    raw.decode("utf-8")         # a log line is always valid UTF-8
    m = PREFIX.match(raw)
    if not m:
        raise ValueError("no time stamp and level")
    i, fields = m.end(), []
    while i < len(raw):
        k = KEY.match(raw, i)
        if not k or raw[k.end():k.end() + 1] != b"=":
            raise ValueError(f"no key= at {i}")
        value, i = parse_value(raw, k.end() + 1)
        fields.append((k.group(0).decode(), value))
        if i < len(raw):
            if raw[i:i + 1] != b" ":
                raise ValueError(f"no space after a value at {i}")
            i += 1
    return fields


class LogCase(unittest.TestCase):
    """Reads a daemon's whole log strictly."""

    def events(self, d):
        """Every line of d's log as a dict; each is checked first."""
        with open(d.logpath, "rb") as f:
            lines = f.read().split(b"\n")
        self.assertEqual(lines[-1], b"")
        out = []
        for raw in lines[:-1]:
            try:
                fields = parse_line(raw)
            except ValueError as e:
                self.fail(f"{e}: {raw!r}")
            keys = [k for k, _ in fields]
            self.assertEqual(len(keys), len(set(keys)), raw)
            self.assertEqual(keys[:2], ["session", "event"], raw)
            self.assertRegex(fields[0][1], SESSION)
            out.append(dict(fields))
        return out

    def only(self, events, name, **match):
        """The one event called name whose fields include match."""
        want = {k: v.encode() if isinstance(v, str) else v
                for k, v in match.items()}
        found = [e for e in events if e["event"] == name.encode() and
                 all(e.get(k) == v for k, v in want.items())]
        self.assertEqual(len(found), 1, (name, match, events))
        return found[0]


def b64(data):
    return base64.b64encode(data)


class Hostile(LogCase):
    """--sink: takes every address and any login, and offers STARTTLS."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="inlet-logs-")
        self.d = Daemon(args=["--sink", os.path.join(self.tmp, "Maildir"),
                              "-o", "listen=127.0.0.1:0"])

    def tearDown(self):
        self.d.stop()
        self.d.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_hostile_session(self):
        port = self.d.port("mx")
        s = connect(port)
        try:
            s.ehlo(EVIL_HELO)
            s.starttls(server_hostname=EVIL_SNI)
            s.ehlo(LONG_HELO)
            code, lines = s.cmd(b"AUTH PLAIN " + b64(b"\0" + EVIL_USER_OK +
                                                    b"\0pw"))
            self.assertEqual(code, 235, lines)
            code, lines = s.cmd(b"MAIL FROM:<" + EVIL_LOCAL +
                                b"@example.test> SMTPUTF8")
            self.assertEqual(code, 250, lines)
            for rcpt in (EVIL_LOCAL2, EVIL_UTF8):
                code, lines = s.cmd(b"RCPT TO:<" + rcpt + b"@example.test>")
                self.assertEqual(code, 250, lines)
            self.assertEqual(s.cmd(b"DATA")[0], 354)
            code, lines = s.cmd(b"Subject: x\r\n\r\nbody\r\n.")
            self.assertEqual(code, 250, lines)
            self.assertEqual(s.cmd(b"QUIT")[0], 221)
        finally:
            s.close()
        # LOGIN with control bytes and bad UTF-8, PLAIN with spaces:
        # refused as identities (as a real backend does), logged as sent.
        s = connect(port)
        try:
            s.ehlo()
            self.assertEqual(s.cmd(b"AUTH LOGIN " + b64(EVIL_LOGIN))[0], 334)
            code, lines = s.cmd(b64(b"pw"))
            self.assertEqual(code, 535, lines)
            code, lines = s.cmd(b"AUTH PLAIN " + b64(b"\0" + EVIL_USER +
                                                    b"\0pw"))
            self.assertEqual(code, 535, lines)
            self.assertEqual(s.cmd(b"QUIT")[0], 221)
        finally:
            s.close()
        self.d.wait_log("event=disconnect", 2)
        ev = self.events(self.d)

        self.only(ev, "helo", helo=EVIL_HELO)
        self.only(ev, "helo", helo=LONG_HELO)
        self.only(ev, "tls", sni=EVIL_SNI)
        self.only(ev, "auth", user=EVIL_USER_OK, mech="PLAIN")
        self.only(ev, "auth-failed", user=EVIL_USER, mech="PLAIN")
        self.only(ev, "auth-failed", user=EVIL_LOGIN, mech="LOGIN")
        frm = b"<" + EVIL_LOCAL + b"@example.test>"
        q = self.only(ev, "queued", **{"from": frm})
        self.assertEqual(q["user"], EVIL_USER_OK)
        self.assertEqual(q["nrcpt"], b"2")
        for rcpt in (EVIL_LOCAL2, EVIL_UTF8):
            dl = self.only(ev, "delivery", to=b"<" + rcpt + b"@example.test>")
            self.assertEqual(dl["status"], b"sent")
            self.assertEqual(dl["id"], q["id"])
            self.assertTrue(os.path.isfile(dl["file"]), dl)
        # nobody can make a line say user=evil, user=root or to=evil
        for e in ev:
            self.assertNotIn(e.get("user"), (b"evil", b"root"), e)
            self.assertNotIn(b"evil", {k for k in e if k not in
                                       ("helo", "from", "to", "user", "sni")})
        # and every session event names a session
        sessions = {e["session"] for e in ev if e["event"] in
                    (b"connect", b"helo", b"tls", b"auth", b"auth-failed",
                     b"sasl-result", b"queued", b"delivery",
                     b"disconnect")}
        self.assertEqual(len(sessions), 2, sessions)
        self.assertNotIn(b"-", sessions)
        self.only(ev, "sasl-result", result="bad-identity", mech="LOGIN")
        self.only(ev, "sasl-result", result="bad-identity", mech="PLAIN")


class Delivery(LogCase):
    """An MX for example.test: one line per recipient; refusals say why."""

    def setUp(self):
        self.d = Daemon()

    def tearDown(self):
        self.d.stop()
        self.d.cleanup()

    def test_delivery_and_reject_lines(self):
        s = connect(self.d.port("mx"))
        try:
            s.ehlo(EVIL_HELO)
            frm = EVIL_LOCAL + b"@example.org"
            self.assertEqual(s.cmd(b"MAIL FROM:<" + frm + b">")[0], 250)
            for to, want in ((b"bob@example.test", 250),
                             (b"x@elsewhere.test", 550),
                             (EVIL_LOCAL2 + b"@elsewhere.test", 550),
                             (EVIL_LOCAL + b"@example.test", 250)):
                code, lines = s.cmd(b"RCPT TO:<" + to + b">")
                self.assertEqual(code, want, (to, lines))
            self.assertEqual(s.cmd(b"DATA")[0], 354)
            code, lines = s.cmd(b"Subject: x\r\n\r\nbody\r\n.")
            self.assertEqual(code, 250, lines)
            qid = lines[0].split()[-1]
            s.cmd(b"QUIT")
        finally:
            s.close()
        self.d.wait_log("event=disconnect")
        ev = self.events(self.d)
        self.only(ev, "queued", id=qid, **{"from": b"<" + frm + b">",
                                           "nrcpt": b"2"})
        files = set(self.d.new_files())
        for to in (b"bob@example.test", EVIL_LOCAL + b"@example.test"):
            dl = self.only(ev, "delivery", to=b"<" + to + b">")
            self.assertEqual((dl["id"], dl["status"], dl["relay"]),
                             (qid, b"sent", b"maildir"))
            self.assertIn(dl["file"].decode(), files)
            files.discard(dl["file"].decode())
        self.assertEqual(files, set())
        for to in (b"x@elsewhere.test", EVIL_LOCAL2 + b"@elsewhere.test"):
            r = self.only(ev, "reject", to=b"<" + to + b">")
            self.assertEqual((r["cmd"], r["code"], r["enh"], r["client"],
                              r["from"], r["reply"]),
                             (b"RCPT", b"550", b"5.7.1", b"127.0.0.1",
                              b"<" + frm + b">",
                              b"550 5.7.1 Relay access denied"))
        # grep 'to="<bob@example.test>"' finds the delivery
        with open(self.d.logpath, "rb") as f:
            hits = [l for l in f.read().splitlines()
                    if b'to="<bob@example.test>"' in l]
        self.assertEqual(len(hits), 1, hits)
        self.assertIn(b"event=delivery", hits[0])

    def test_commit_failure_defers_each_recipient(self):
        s = connect(self.d.port("mx"))
        try:
            s.ehlo()
            self.assertEqual(s.cmd(b"MAIL FROM:<a@example.org>")[0], 250)
            for to in (b"bob@example.test", EVIL_LOCAL + b"@example.test"):
                self.assertEqual(s.cmd(b"RCPT TO:<" + to + b">")[0], 250)
            self.assertEqual(s.cmd(b"DATA")[0], 354)
            # new/ turns into a file: the rename into it cannot work
            new = os.path.join(self.d.maildir, "new")
            os.rmdir(new)
            with open(new, "w"):
                pass
            code, lines = s.cmd(b"Subject: x\r\n\r\nbody\r\n.")
            self.assertEqual(code, 451, lines)
            s.cmd(b"QUIT")
        finally:
            s.close()
        self.d.wait_log("event=disconnect")
        ev = self.events(self.d)
        for to in (b"bob@example.test", EVIL_LOCAL + b"@example.test"):
            dl = self.only(ev, "delivery", to=b"<" + to + b">")
            self.assertEqual(dl["status"], b"deferred")
            self.assertNotIn("file", dl)
            self.assertTrue(dl["error"], dl)
        self.assertFalse([e for e in ev if e["event"] == b"queued"])
        self.only(ev, "reject", code="451", **{"from": "<a@example.org>"})

    def test_reject_outside_a_transaction(self):
        s = connect(self.d.port("mx"))
        try:
            self.assertEqual(s.cmd(b"MAIL FROM:<a@b.test>")[0], 503)
            s.ehlo()
            self.assertEqual(s.cmd(b'NOOP "=\\ \x01 x=y')[0], 250)
            self.assertEqual(s.cmd(b'X"Y=1 \xff')[0], 500)
            s.cmd(b"QUIT")
        finally:
            s.close()
        self.d.wait_log("event=disconnect")
        ev = self.events(self.d)
        r = self.only(ev, "reject", code="503")
        self.assertEqual(r["cmd"], b"MAIL")
        self.assertNotIn("from", r)
        self.assertNotIn("to", r)
        self.assertEqual(r["reply"],
                         b"503 5.5.1 Error: send HELO/EHLO first")
        self.only(ev, "reject", code="500", cmd="UNKNOWN")


if __name__ == "__main__":
    sys.exit(harness.main("test_logs"))
