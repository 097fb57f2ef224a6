#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Policy and abuse resistance at the daemon level (issue: hardening).

Recipients file (550 5.1.1, nothing created for unknown addresses),
recipient_delimiter, greet_pause (pregreet refused), privilege drop seen
in /proc, a bounded flood of 1000 concurrent sessions all served or
cleanly refused, bare_newline at the daemon level.  Each test starts its
own inletd on 127.0.0.1 port 0; every wait is bounded; nothing times.
"""
import os
import pwd
import resource
import shutil
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402
from inlet_harness import WAIT  # noqa: E402


class Client(harness.Smtp):
    """A raw client whose replies are their lines joined by "\\n"; the
    greeting is not read for it."""

    def __init__(self, port):
        super().__init__(harness.dial(port))

    def reply(self):
        return b"\n".join(super().reply()[1])

    def closed(self):
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False


class Policy(unittest.TestCase):
    def start(self, conf="", tmpl="%d/%u"):
        """An inletd delivering to DIR/mail/TMPL; d.root is DIR/mail (the
        temp dir is 0755: the privilege drop needs to get there)."""
        d = harness.Daemon(conf, maildir="mail/" + tmpl, mode=0o755,
                           prefix="inlet-pol-")
        d.root = d.path("mail")
        self.addCleanup(d.cleanup)
        self.addCleanup(d.stop)
        return d

    def test_recipients_file(self):
        rcpt = tempfile.NamedTemporaryFile("w", delete=False, suffix=".rcpt")
        rcpt.write("# valid users\nalice@example.test\nBob@Example.Test\n")
        rcpt.close()
        self.addCleanup(os.unlink, rcpt.name)
        d = self.start(f"recipients {rcpt.name}\nrecipient_delimiter +\n")
        c = Client(d.port("mx"))
        self.assertTrue(c.reply().startswith(b"220"))
        c.cmd(b"EHLO client.test")
        self.assertTrue(c.cmd(b"MAIL FROM:<s@example.net>").startswith(b"250"))
        self.assertTrue(c.cmd(b"RCPT TO:<nobody@example.test>").startswith(
            b"550 5.1.1"))
        self.assertTrue(c.cmd(b"RCPT TO:<postmaster@example.test>")
                        .startswith(b"250"))
        self.assertTrue(c.cmd(b"RCPT TO:<alice+news@example.test>")
                        .startswith(b"250 2.1.5"))
        self.assertTrue(c.cmd(b"RCPT TO:<BOB@example.test>").startswith(
            b"250 2.1.5"))
        self.assertTrue(c.cmd(b"DATA").startswith(b"354"))
        self.assertTrue(c.cmd(b"Subject: t\r\n\r\nhi\r\n.").startswith(b"250"))
        c.close()
        base = os.path.join(d.root, "example.test")
        self.assertEqual(sorted(os.listdir(base)),
                         ["alice", "bob", "postmaster"])
        files = os.listdir(os.path.join(base, "alice", "new"))
        self.assertEqual(len(files), 1)
        with open(os.path.join(base, "alice", "new", files[0]), "rb") as f:
            self.assertIn(b"Delivered-To: alice+news@example.test\n", f.read())

    def test_recipients_file_bad_line(self):
        rcpt = tempfile.NamedTemporaryFile("w", delete=False, suffix=".rcpt")
        rcpt.write("alice@example.test\nnot-an-address\n")
        rcpt.close()
        self.addCleanup(os.unlink, rcpt.name)
        d = tempfile.mkdtemp(prefix="inlet-pol-")
        self.addCleanup(shutil.rmtree, d, True)
        conf = os.path.join(d, "c.conf")
        with open(conf, "w") as f:
            f.write(f"listen 127.0.0.1:0 mx\ndomains example.test\n"
                    f"maildir {d}/m\nrecipients {rcpt.name}\n")
        r = harness.run_inletd(["-d", "-c", conf])
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"{rcpt.name}:2:".encode(), r.stderr)

    def test_pregreet(self):
        d = self.start("greet_pause 1s\n")
        early = Client(d.port("mx"))
        early.sock.sendall(b"EHLO hasty.example\r\n")
        self.assertTrue(early.reply().startswith(b"554 5.5.1"))
        self.assertTrue(early.closed())
        early.close()
        patient = Client(d.port("mx"))
        self.assertTrue(patient.reply().startswith(b"220 mx.test"))
        self.assertTrue(patient.cmd(b"QUIT").startswith(b"221"))
        patient.close()
        self.assertIn("event=pregreet", d.log_text())

    def test_bare_newline_reject(self):
        d = self.start("bare_newline reject\n", "Maildir")
        c = Client(d.port("mx"))
        c.reply()
        c.cmd(b"EHLO client.test")
        c.cmd(b"MAIL FROM:<s@example.net>")
        c.cmd(b"RCPT TO:<u@example.test>")
        self.assertTrue(c.cmd(b"DATA").startswith(b"354"))
        c.sock.sendall(b"Subject: x\r\n\r\na\n.\nMAIL FROM:<evil@example.net>"
                    b"\r\n.\r\n")
        self.assertTrue(c.reply().startswith(b"550 5.5.2"))
        self.assertTrue(c.cmd(b"NOOP").startswith(b"250"))
        c.close()
        self.assertFalse(os.path.exists(os.path.join(d.root, "Maildir",
                                                     "new")) and
                         os.listdir(os.path.join(d.root, "Maildir", "new")))

    def test_data_timeout(self):
        d = self.start("data_timeout 1s\n", "Maildir")
        c = Client(d.port("mx"))
        c.reply()
        c.cmd(b"EHLO client.test")
        c.cmd(b"MAIL FROM:<s@example.net>")
        c.cmd(b"RCPT TO:<u@example.test>")
        self.assertTrue(c.cmd(b"DATA").startswith(b"354"))
        c.sock.sendall(b"Subject: slow\r\n\r\nthe rest never comes")
        self.assertTrue(c.reply().startswith(b"421 4.4.2"))
        self.assertTrue(c.closed())
        c.close()
        self.assertIn("event=timeout state=data", d.log_text())
        tmp = os.path.join(d.root, "Maildir", "tmp")
        self.assertEqual(os.listdir(tmp) if os.path.isdir(tmp) else [], [])

    @unittest.skipUnless(os.geteuid() == 0, "needs root to drop privileges")
    def test_privilege_drop(self):
        nobody = pwd.getpwnam("nobody")
        d = harness.Daemon("user nobody\n", maildir="mail/Maildir",
                           mode=0o755, prefix="inlet-pol-", start=False)
        self.addCleanup(d.cleanup)
        self.addCleanup(d.stop)
        d.root = d.path("mail")
        os.mkdir(d.root)
        os.chown(d.root, nobody.pw_uid, nobody.pw_gid)
        d.start()   # nobody makes mail/Maildir (test_user.py has more)
        with open(f"/proc/{d.proc.pid}/status") as f:
            status = {l.split(":")[0]: l.split(":")[1].split()
                      for l in f if ":" in l}
        self.assertEqual(set(status["Uid"]), {str(nobody.pw_uid)})
        self.assertEqual(set(status["Gid"]), {str(nobody.pw_gid)})
        self.assertEqual(status["CapEff"], ["0000000000000000"])
        c = Client(d.port("mx"))
        c.reply()
        c.cmd(b"EHLO client.test")
        c.cmd(b"MAIL FROM:<s@example.net>")
        c.cmd(b"RCPT TO:<u@example.test>")
        c.cmd(b"DATA")
        self.assertTrue(c.cmd(b"hi\r\n.").startswith(b"250 2.0.0"))
        c.close()
        self.assertIn("event=privileges user=nobody", d.log_text())

    def test_flood(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard, 4096)
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        n = 1000
        d = self.start("max_connections 600\nmax_connections_per_ip 0\n",
                       "Maildir")
        socks, greeted, refused = [], 0, 0
        try:
            for _ in range(n):
                s = socket.socket()
                s.settimeout(WAIT)
                s.connect(("127.0.0.1", d.port("mx")))
                socks.append(s)
            for s in socks:
                data = b""
                while b"\r\n" not in data:
                    chunk = s.recv(512)
                    if not chunk:
                        break
                    data += chunk
                if data.startswith(b"220 "):
                    greeted += 1
                elif data.startswith(b"421 4.7.0"):
                    refused += 1
        finally:
            for s in socks:
                s.close()
        self.assertEqual(greeted, 600)
        self.assertEqual(refused, n - 600)
        # and the daemon still serves
        c = Client(d.port("mx"))
        self.assertTrue(c.reply().startswith(b"220"))
        c.close()
        self.assertIsNone(d.proc.poll())


if __name__ == "__main__":
    sys.exit(harness.main("test_policy"))
