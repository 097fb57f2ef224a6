#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""inletd's milter client against a scripted filter (milter_filter.py,
python3-milter: libmilter itself): every reply at every stage, every
end-of-message edit checked in the delivered file, quarantine, a filter
that hangs, one that closes mid-message, one that is down, the no-reply
flags rspamd asks for, the skip-step flags and the skip reply, body
chunks of at most 64 KiB, roles and the TLS and AUTH macros, PIPELINING
with a refused recipient, one log line per decision, and (with a filter
on a raw socket) replies libmilter would never send.  Only 127.0.0.1 and
temp dirs; every wait bounded."""
import base64
import os
import socket
import struct
import sys
import tempfile
import threading
import shutil
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402
from milter_filter import ScriptedFilter, milter_python, free_port  # noqa

MSG = (b"From: a@sender.test\r\nTo: u@example.test\r\nSubject: hello\r\n"
       b"X-Old: one\r\nX-Old: two\r\n\r\nbody line\r\n")


class Base(unittest.TestCase):
    script = {}
    conf = {}
    unix = False

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="inlet-milter-")
        self.filter = ScriptedFilter(self.tmp, self.script, unix=self.unix)
        conf = {"milter": self.filter.conf, "milter_command_timeout": "2s",
                "milter_content_timeout": "2s"}
        conf.update(self.conf)
        self.d = harness.Daemon(conf)
        self.port = self.d.port("mx")

    def tearDown(self):
        self.d.stop()
        self.filter.stop()
        self.d.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def use(self, script, **conf):
        """A new script (read at the next connection), a new config."""
        self.filter.set_script(script)
        if conf:
            self.d.stop()
            base = {"milter": self.filter.conf,
                    "milter_command_timeout": "2s",
                    "milter_content_timeout": "2s"}
            base.update(conf)
            self.d.write_conf(base)
            self.d.start()
            self.port = self.d.port("mx")

    def client(self):
        return harness.connect(self.port)

    def send(self, rcpts=(b"u@example.test",), msg=MSG, ehlo=True):
        """One message: the replies of MAIL, each RCPT, DATA, the end."""
        s = self.client()
        try:
            if ehlo:
                s.ehlo()
            out = [s.cmd(b"MAIL FROM:<a@sender.test> SIZE=100")[0]]
            out += [s.cmd(b"RCPT TO:<" + r + b">")[0] for r in rcpts]
            code, lines = s.cmd(b"DATA")
            out.append(code)
            if code == 354:
                code, lines = s.cmd(msg + b".")
                out.append(code)
            self.last = lines
            s.cmd(b"QUIT")
        finally:
            s.close()
        return out

    def delivered(self):
        return [harness.read(p) for p in self.d.new_files()]


class Stages(Base):
    """Each reply at each stage, as the client sees it."""

    def test_continue_delivers_with_macros(self):
        self.assertEqual(self.send(), [250, 250, 354, 250])
        self.assertEqual(len(self.delivered()), 1)
        self.filter.wait_event("eom")
        ev = {e["stage"]: e for e in self.filter.events()}
        for stage in ("connect", "helo", "mail", "rcpt", "data", "eoh",
                      "body", "eom"):
            self.assertIn(stage, ev)
        self.assertEqual(ev["mail"]["sender"], "<a@sender.test>")
        self.assertIn("SIZE=100", ev["mail"]["params"])
        self.assertEqual(ev["connect"]["macros"].get("{client_addr}"),
                         "127.0.0.1")
        self.assertEqual(ev["connect"]["macros"].get("j"), "mx.test")
        self.assertIn("{daemon_name}", ev["connect"]["macros"])
        self.assertTrue(ev["eom"]["macros"].get("i"))
        names = [e["name"] for e in self.filter.events("header")]
        self.assertEqual(names[:2], ["Received", "From"])
        self.assertEqual(ev["eom"]["body"], "body line\r\n")

    def test_replies_by_stage(self):
        y = {"action": "reply", "code": "553", "xcode": "5.7.1",
             "text": "go away\x07now"}
        # stage, rule: the replies of MAIL, RCPT, DATA, end of data
        cases = [
            ("mail", "reject", [550, 503, 503]),
            ("mail", "tempfail", [451, 503, 503]),
            ("mail", y, [553, 503, 503]),
            ("rcpt", "reject", [250, 550, 554]),
            ("rcpt", "tempfail", [250, 451, 554]),
            ("rcpt", y, [250, 553, 554]),
            ("data", "reject", [250, 250, 354, 550]),
            ("header", "tempfail", [250, 250, 354, 451]),
            ("eoh", "reject", [250, 250, 354, 550]),
            ("body", "reject", [250, 250, 354, 550]),
            ("eom", "reject", [250, 250, 354, 550]),
            ("eom", "tempfail", [250, 250, 354, 451]),
            ("eom", y, [250, 250, 354, 553]),
            ("mail", "accept", [250, 250, 354, 250]),
            ("eom", "accept", [250, 250, 354, 250]),
        ]
        for stage, rule, want in cases:
            with self.subTest(stage=stage, rule=rule):
                before = len(self.d.new_files())
                self.use({"stages": {stage: rule}})
                self.assertEqual(self.send(), want)
                if want[-1] == 553:
                    self.assertEqual(self.last, [b"553 5.7.1 go away?now"])
                self.assertEqual(len(self.d.new_files()) - before,
                                 1 if want[-1] == 250 else 0)
        self.d.wait_log("event=milter ")
        lines = self.d.log_lines("event=milter ")
        self.assertTrue(any("action=reject" in l and "filter=inet:" in l
                            for l in lines), lines)
        self.assertTrue(any("stage=eom" in l and " id=" in l
                            for l in lines), lines)

    def test_connect_reject_answers_every_command(self):
        self.use({"stages": {"connect": "reject"}})
        s = self.client()
        try:
            self.assertEqual(s.cmd(b"EHLO c.test")[0], 554)
            self.assertEqual(s.cmd(b"MAIL FROM:<a@sender.test>")[0], 554)
            self.assertEqual(s.cmd(b"QUIT")[0], 221)
        finally:
            s.close()

    def test_connect_tempfail_is_421(self):
        self.use({"stages": {"connect": "tempfail"}})
        s = self.client()
        try:
            code, lines = s.reply() if s.buf else s.cmd(b"EHLO c.test")
            self.assertEqual(code, 421)
            s.read_to_eof()
        finally:
            s.close()

    def test_helo_reject(self):
        self.use({"stages": {"helo": "reject"}})
        s = self.client()
        try:
            self.assertEqual(s.cmd(b"EHLO c.test")[0], 550)
            self.assertEqual(s.cmd(b"MAIL FROM:<a@sender.test>")[0], 503)
        finally:
            s.close()

    def test_discard(self):
        for stage in ("eom", "rcpt"):
            with self.subTest(stage=stage):
                self.use({"stages": {stage: "discard"}})
                self.assertEqual(self.send(), [250, 250, 354, 250])
                self.assertEqual(self.delivered(), [])
        self.d.wait_log("action=discard", 2)

    def test_rcpt_reject_refuses_that_one_pipelined(self):
        self.use({"stages": {"rcpt": [{"if": "bad", "action": "reject"}]}})
        s = self.client()
        try:
            s.ehlo()
            s.sock.sendall(b"MAIL FROM:<a@sender.test>\r\n"
                           b"RCPT TO:<u@example.test>\r\n"
                           b"RCPT TO:<bad@example.test>\r\n"
                           b"RCPT TO:<v@example.test>\r\nDATA\r\n")
            codes = [s.reply()[0] for _ in range(5)]
            self.assertEqual(codes, [250, 250, 550, 250, 354])
            self.assertEqual(s.cmd(MSG + b".")[0], 250)
        finally:
            s.close()
        files = self.delivered()
        self.assertEqual(len(files), 2)
        self.assertFalse(any(b"Delivered-To: bad@" in f for f in files))

    def test_rset_aborts(self):
        s = self.client()
        try:
            s.ehlo()
            s.cmd(b"MAIL FROM:<a@sender.test>")
            s.cmd(b"RSET")
            s.cmd(b"QUIT")
        finally:
            s.close()
        self.filter.wait_event("abort")


class Steps(Base):
    """The body in chunks of at most 65535 octets, the skip reply, and
    the steps a filter asks not to see."""
    BIG = (b"Subject: big\r\n\r\n" +
           b"".join(b"%05d " % i + b"x" * 93 + b"\r\n"
                    for i in range(2000)))	# 200 KB

    def chunks(self):
        self.filter.wait_event("eom")
        return self.filter.events("body")

    def test_chunks(self):
        self.assertEqual(self.send(msg=self.BIG)[-1], 250)
        body = self.chunks()
        self.assertGreaterEqual(len(body), 4)
        self.assertTrue(all(0 < e["length"] <= 65535 for e in body))
        self.assertEqual(sum(e["length"] for e in body), 2000 * 101)

    def test_skip(self):
        self.use({"protocol": ["skip"], "stages": {"body": "skip"}})
        self.assertEqual(self.send(msg=self.BIG)[-1], 250)
        self.assertEqual(len(self.chunks()), 1)

    def test_no_steps(self):
        self.use({"nocallback": ["connect", "helo", "header", "eoh",
                                 "body", "data"]})
        self.assertEqual(self.send(), [250, 250, 354, 250])
        self.filter.wait_event("eom")
        seen = {e["stage"] for e in self.filter.events()}
        for stage in ("helo", "header", "eoh", "body", "data"):
            self.assertNotIn(stage, seen)
        self.assertIn("mail", seen)


class NoReply(Base):
    """rspamd's negotiation: no reply awaited before end of message."""
    script = {"noreply": ["connect", "helo", "mail", "rcpt", "data",
                          "header", "eoh", "body"],
              "edits": [{"op": "addheader", "name": "X-Spam",
                         "value": "no"}]}

    def test_delivered_with_header(self):
        self.assertEqual(self.send(), [250, 250, 354, 250])
        files = self.delivered()
        self.assertEqual(len(files), 1)
        self.assertIn(b"\nX-Spam: no\n", files[0])


class Edits(Base):
    """Every end-of-message edit, in the file that is delivered."""

    def edit(self, edits, rcpts=(b"u@example.test",)):
        self.use({"edits": edits})
        before = set(self.d.new_files())
        self.assertEqual(self.send(rcpts)[-1], 250)
        return [harness.read(p) for p in self.d.new_files()
                if p not in before]

    def test_headers(self):
        (f,) = self.edit([
            {"op": "addheader", "name": "X-Added", "value": "yes"},
            {"op": "insheader", "index": 0, "name": "X-First",
             "value": "top"},
            {"op": "chgheader", "name": "X-Old", "index": 2,
             "value": "changed"},
            {"op": "chgheader", "name": "Subject", "index": 1,
             "value": ""},
            {"op": "addheader", "name": "X-Fold",
             "value": "a\r\nInjected: no"}])
        head, body = f.split(b"\n\n", 1)
        lines = head.split(b"\n")
        # Return-Path and Delivered-To come first, then the message
        self.assertEqual(lines[2], b"X-First: top")
        self.assertIn(b"X-Old: one", lines)
        self.assertIn(b"X-Old: changed", lines)
        self.assertNotIn(b"X-Old: two", lines)
        self.assertFalse(any(l.startswith(b"Subject:") for l in lines))
        self.assertIn(b"X-Added: yes", lines)
        self.assertIn(b"X-Fold: a", lines)
        self.assertNotIn(b"Injected: no", lines)
        self.assertEqual(body, b"body line\n")
        self.d.wait_log("event=milter-edit")

    def test_replace_body(self):
        (f,) = self.edit([{"op": "replacebody",
                           "body": "new body\r\nsecond\r\n"}])
        self.assertTrue(f.endswith(b"\n\nnew body\nsecond\n"), f)

    def test_envelope(self):
        files = self.edit([{"op": "addrcpt", "rcpt": "<added@example.test>"},
                           {"op": "delrcpt", "rcpt": "<v@example.test>"},
                           {"op": "chgfrom", "sender": "<new@sender.test>"}],
                          rcpts=(b"u@example.test", b"v@example.test"))
        self.assertEqual(len(files), 2)
        tos = sorted(f.split(b"\n")[1] for f in files)
        self.assertEqual(tos, [b"Delivered-To: added@example.test",
                               b"Delivered-To: u@example.test"])
        for f in files:
            self.assertTrue(f.startswith(b"Return-Path: <new@sender.test>"))
        self.d.wait_log("edit=chgfrom")

    def test_bdat(self):
        self.use({"edits": [{"op": "addheader", "name": "X-Chunked",
                             "value": "yes"}]})
        s = self.client()
        try:
            s.ehlo()
            self.assertEqual(s.cmd(b"MAIL FROM:<a@sender.test>")[0], 250)
            self.assertEqual(s.cmd(b"RCPT TO:<u@example.test>")[0], 250)
            half = len(MSG) // 2
            s.sock.sendall(b"BDAT %d\r\n" % half + MSG[:half])
            self.assertEqual(s.reply()[0], 250)
            s.sock.sendall(b"BDAT %d LAST\r\n" % (len(MSG) - half) +
                           MSG[half:])
            self.assertEqual(s.reply()[0], 250)
        finally:
            s.close()
        (f,) = self.delivered()
        self.assertIn(b"\nX-Chunked: yes\n", f)
        self.filter.wait_event("eom")
        self.assertEqual(self.filter.events("eom")[-1]["body"],
                         "body line\r\n")

    def test_quarantine(self):
        q = self.d.path("quarantine")
        self.use({"edits": [{"op": "quarantine", "reason": "virus found"}]},
                 milter_quarantine=q)
        self.assertEqual(self.send()[-1], 250)
        self.assertEqual(self.delivered(), [])
        self.assertEqual(len(self.d.new_files(q)), 1)
        self.d.wait_log('action=quarantine')
        self.assertTrue(any("virus found" in l for l in
                            self.d.log_lines("action=quarantine")))
        self.d.wait_log("relay=quarantine")

    def test_quarantine_without_a_maildir_is_tempfail(self):
        self.use({"edits": [{"op": "quarantine", "reason": "virus"}]})
        self.assertEqual(self.send()[-1], 451)
        self.assertEqual(self.delivered(), [])


class Broken(Base):
    """A filter that hangs, closes or is not there: the default action."""

    def test_hang_then_default(self):
        for action, want in (("tempfail", [451, 503, 503]),
                             ("reject", [550, 503, 503]),
                             ("accept", [250, 250, 354, 250])):
            with self.subTest(default=action):
                self.use({"stages": {"mail": {"action": "hang",
                                              "seconds": 5}}},
                         milter_default_action=action,
                         milter_command_timeout="1s")
                self.assertEqual(self.send(), want)
        self.d.wait_log("event=milter-error")

    def test_content_timeout(self):
        self.use({"stages": {"body": {"action": "hang", "seconds": 5}}},
                 milter_content_timeout="1s")
        self.assertEqual(self.send(), [250, 250, 354, 451])
        self.assertEqual(self.delivered(), [])
        self.d.wait_log('error="timeout"')

    def test_close_mid_message(self):
        self.use({"stages": {"body": "close"}})
        self.assertEqual(self.send(), [250, 250, 354, 451])
        self.assertEqual(self.delivered(), [])
        self.d.wait_log("event=milter-error")

    def test_filter_down(self):
        down = f"inet:127.0.0.1:{free_port()}"
        for action, want in (("tempfail", [451, 503, 503]),
                             ("accept", [250, 250, 354, 250])):
            with self.subTest(default=action):
                self.d.stop()
                self.d.write_conf({"milter": down,
                                   "milter_default_action": action})
                self.d.start()
                self.port = self.d.port("mx")
                self.assertEqual(self.send(), want)
        self.assertTrue(self.d.log_lines("event=milter-error"))


class RawFilter:
    """A filter written by hand on a raw socket (no libmilter), for what
    libmilter never sends: replies out of protocol.  It negotiates
    version 6 with the given actions and the no-reply flags for every
    step before end of message, then answers E with eom (packets)."""

    NR_ALL = 0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x80 | \
        0x40000 | 0x80000

    def __init__(self, actions, eom):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.srv.settimeout(harness.WAIT)
        self.conf = "inet:127.0.0.1:%d" % self.srv.getsockname()[1]
        self.actions, self.eom = actions, eom
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @staticmethod
    def packet(cmd, data=b""):
        return struct.pack(">I", len(data) + 1) + cmd + data

    def serve(self):
        try:
            conn, _ = self.srv.accept()
        except OSError:
            return
        conn.settimeout(harness.WAIT)
        buf = b""
        try:
            while True:
                while len(buf) < 4 or len(buf) < 4 + struct.unpack(
                        ">I", buf[:4])[0]:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                n = struct.unpack(">I", buf[:4])[0]
                cmd, buf = buf[4:5], buf[4 + n:]
                if cmd == b"O":
                    conn.sendall(self.packet(b"O", struct.pack(
                        ">III", 6, self.actions, self.NR_ALL)))
                elif cmd == b"E":
                    conn.sendall(b"".join(self.eom))
                elif cmd == b"Q":
                    return
        except OSError:
            return
        finally:
            conn.close()

    def stop(self):
        self.srv.close()
        self.thread.join(harness.WAIT)


class OutOfProtocol(unittest.TestCase):
    """Replies libmilter would never send: the default action."""

    def run_raw(self, actions, eom):
        f = RawFilter(actions, eom)
        d = harness.Daemon({"milter": f.conf})
        try:
            s = harness.connect(d.port("mx"))
            s.ehlo()
            code = s.transaction(b"a@sender.test", [b"u@example.test"],
                                 MSG)[0]
            s.close()
            files = [harness.read(p) for p in d.new_files()]
            return code, files, d.log_text()
        finally:
            d.stop()
            f.stop()
            d.cleanup()

    def test_cases(self):
        P = RawFilter.packet
        cases = [
            ("edit not negotiated", 0, [P(b"h", b"X-A\0v\0"), P(b"c")],
             451, "edit not negotiated"),
            ("negotiated edit", 0x01, [P(b"h", b"X-A\0v\0"), P(b"c")],
             250, None),
            ("progress, then continue", 0, [P(b"p"), P(b"p"), P(b"c")],
             250, None),
            ("zero length", 0, [b"\0\0\0\0"], 451, "bad packet length"),
            ("too long", 0, [b"\x7f\0\0\0c"], 451, "bad packet length"),
            ("unknown reply", 0, [P(b"Z")], 451, "malformed reply"),
            ("y without a code", 0, [P(b"y", b"hello\0")], 451, None),
            ("y with 250", 0, [P(b"y", b"250 fine\0")], 451, None),
            ("y with 554", 0, [P(b"y", b"554 5.7.1 no\r\nX: y\0")], 554,
             None),
            ("two answers", 0, [P(b"c"), P(b"c")], 250, None),
        ]
        for name, actions, eom, want, err in cases:
            with self.subTest(name):
                code, files, log = self.run_raw(actions, eom)
                self.assertEqual(code, want, log)
                self.assertEqual(len(files), 1 if want == 250 else 0)
                if err is not None:
                    self.assertIn('error="%s"' % err, log)
                if name == "negotiated edit":
                    self.assertIn(b"\nX-A: v\n", files[0])


class Roles(unittest.TestCase):
    """Each milter line applies to its roles only; on implicit TLS with
    AUTH the filter gets {tls_version}, {cipher} and {auth_authen}."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="inlet-milter-roles-")
        cert, key = harness.make_cert(self.tmp, "m")
        sasldb = harness.make_sasldb(os.path.join(self.tmp, "sasldb2"),
                                     {"alice@example.test": "secret"})
        self.mx = ScriptedFilter(self.tmp, {}, name="mx")
        self.sub = ScriptedFilter(self.tmp, {}, name="sub")
        self.d = harness.Daemon(
            f"tls_cert {cert}\ntls_key {key}\nsasl_db {sasldb}\n"
            f"milter {self.mx.conf} mx\n"
            f"milter {self.sub.conf} submission submissions\n",
            listen="listen 127.0.0.1:0 mx\n"
            "listen 127.0.0.1:0 submissions\n")

    def tearDown(self):
        self.d.stop()
        self.mx.stop()
        self.sub.stop()
        self.d.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_roles_and_macros(self):
        s = harness.connect(self.d.port("mx"))
        s.ehlo()
        self.assertEqual(s.transaction(b"a@sender.test", [b"u@example.test"],
                                       MSG)[0], 250)
        s.close()
        s = harness.connect_tls(self.d.port("submissions"),
                                server_hostname="localhost")
        s.ehlo()
        plain = base64.b64encode(b"\0alice@example.test\0secret")
        self.assertEqual(s.cmd(b"AUTH PLAIN " + plain)[0], 235)
        self.assertEqual(s.transaction(b"alice@example.test",
                                       [b"u@example.test"], MSG)[0], 250)
        s.close()
        self.mx.wait_event("eom")
        self.sub.wait_event("eom")
        self.assertEqual(len(self.mx.events("mail")), 1)
        self.assertEqual(len(self.sub.events("mail")), 1)
        helo = self.sub.events("helo")[0]["macros"]
        self.assertTrue(helo.get("{tls_version}", "").startswith("TLSv1"))
        self.assertTrue(helo.get("{cipher}"))
        mail = self.sub.events("mail")[0]["macros"]
        self.assertEqual(mail.get("{auth_authen}"), "alice@example.test")
        self.assertEqual(mail.get("{auth_type}"), "PLAIN")
        self.assertNotIn("{auth_authen}", self.mx.events("mail")[0]["macros"])


class UnixSocket(Base):
    unix = True
    script = {"stages": {"rcpt": [{"if": "bad", "action": "reject"}]}}

    def test_unix(self):
        self.assertEqual(self.send((b"bad@example.test",
                                    b"u@example.test")),
                         [250, 550, 250, 354, 250])


if __name__ == "__main__":
    if milter_python() is None:
        print("missing: python3-milter")
        sys.exit(1 if harness.CI else 77)
    sys.exit(harness.main("test_milter", ("openssl", "saslpasswd2")))
