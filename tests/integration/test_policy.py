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
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest

INLETD = os.environ.get("INLETD", os.path.join(
    os.path.dirname(__file__), "..", "..", "server", "inletd"))
WAIT = 10


class Daemon:
    def __init__(self, conf="", maildir_tmpl="%d/%u"):
        self.dir = tempfile.mkdtemp(prefix="inlet-pol-")
        os.chmod(self.dir, 0o755)
        self.root = os.path.join(self.dir, "mail")
        path = os.path.join(self.dir, "inlet.conf")
        with open(path, "w") as f:
            f.write("hostname mx.test\nlisten 127.0.0.1:0 mx\n"
                    "domains example.test\n"
                    f"maildir {self.root}/{maildir_tmpl}\n{conf}")
        rfd, wfd = os.pipe()
        self.log_path = os.path.join(self.dir, "inletd.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [INLETD, "-d", "-c", path, "-R", str(wfd)], pass_fds=(wfd,),
            stdout=subprocess.DEVNULL, stderr=self.log,
            stdin=subprocess.DEVNULL)
        os.close(wfd)
        data = b""
        with os.fdopen(rfd, "rb") as r:
            while b"ready\n" not in data:
                ready, _, _ = select.select([r], [], [], WAIT)
                chunk = r.read1(4096) if ready else b""
                if not chunk:
                    break
                data += chunk
        self.port = None
        for line in data.decode().splitlines():
            if line.startswith("listen 127.0.0.1:"):
                self.port = int(line.split(":")[1].split()[0])
        if self.port is None:
            self.stop()
            raise RuntimeError("inletd did not start: " + self.logtext())

    def logtext(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(WAIT)
        self.log.close()
        return self.proc.returncode

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Client:
    """A line-oriented SMTP client on a raw socket, bounded reads."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.buf = b""

    def reply(self):
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.s.recv(65536)
                if not chunk:
                    return lines and b"\n".join(lines) or b""
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line)
            if len(line) < 4 or line[3:4] == b" ":
                return b"\n".join(lines)

    def cmd(self, line):
        self.s.sendall(line + b"\r\n")
        return self.reply()

    def closed(self):
        try:
            return self.s.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.s.close()


class Policy(unittest.TestCase):
    def start(self, conf="", tmpl="%d/%u"):
        d = Daemon(conf, tmpl)
        self.addCleanup(d.cleanup)
        self.addCleanup(d.stop)
        return d

    def test_recipients_file(self):
        rcpt = tempfile.NamedTemporaryFile("w", delete=False, suffix=".rcpt")
        rcpt.write("# valid users\nalice@example.test\nBob@Example.Test\n")
        rcpt.close()
        self.addCleanup(os.unlink, rcpt.name)
        d = self.start(f"recipients {rcpt.name}\nrecipient_delimiter +\n")
        c = Client(d.port)
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
        r = subprocess.run([INLETD, "-d", "-c", conf], capture_output=True,
                           timeout=WAIT, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"{rcpt.name}:2:".encode(), r.stderr)

    def test_pregreet(self):
        d = self.start("greet_pause 1s\n")
        early = Client(d.port)
        early.s.sendall(b"EHLO hasty.example\r\n")
        self.assertTrue(early.reply().startswith(b"554 5.5.1"))
        self.assertTrue(early.closed())
        early.close()
        patient = Client(d.port)
        self.assertTrue(patient.reply().startswith(b"220 mx.test"))
        self.assertTrue(patient.cmd(b"QUIT").startswith(b"221"))
        patient.close()
        self.assertIn("event=pregreet", d.logtext())

    def test_bare_newline_reject(self):
        d = self.start("bare_newline reject\n", "Maildir")
        c = Client(d.port)
        c.reply()
        c.cmd(b"EHLO client.test")
        c.cmd(b"MAIL FROM:<s@example.net>")
        c.cmd(b"RCPT TO:<u@example.test>")
        self.assertTrue(c.cmd(b"DATA").startswith(b"354"))
        c.s.sendall(b"Subject: x\r\n\r\na\n.\nMAIL FROM:<evil@example.net>"
                    b"\r\n.\r\n")
        self.assertTrue(c.reply().startswith(b"550 5.5.2"))
        self.assertTrue(c.cmd(b"NOOP").startswith(b"250"))
        c.close()
        self.assertFalse(os.path.exists(os.path.join(d.root, "Maildir",
                                                     "new")) and
                         os.listdir(os.path.join(d.root, "Maildir", "new")))

    def test_data_timeout(self):
        d = self.start("data_timeout 1s\n", "Maildir")
        c = Client(d.port)
        c.reply()
        c.cmd(b"EHLO client.test")
        c.cmd(b"MAIL FROM:<s@example.net>")
        c.cmd(b"RCPT TO:<u@example.test>")
        self.assertTrue(c.cmd(b"DATA").startswith(b"354"))
        c.s.sendall(b"Subject: slow\r\n\r\nthe rest never comes")
        self.assertTrue(c.reply().startswith(b"421 4.4.2"))
        self.assertTrue(c.closed())
        c.close()
        self.assertIn("event=timeout state=data", d.logtext())
        tmp = os.path.join(d.root, "Maildir", "tmp")
        self.assertEqual(os.listdir(tmp) if os.path.isdir(tmp) else [], [])

    @unittest.skipUnless(os.geteuid() == 0, "needs root to drop privileges")
    def test_privilege_drop(self):
        nobody = pwd.getpwnam("nobody")
        d = self.start("user nobody\n", "Maildir")
        os.makedirs(os.path.join(d.root, "Maildir"), exist_ok=True)
        for sub in ("", "tmp", "new", "cur"):
            p = os.path.join(d.root, "Maildir", sub)
            os.makedirs(p, exist_ok=True)
            os.chown(p, nobody.pw_uid, nobody.pw_gid)
        os.chown(d.root, nobody.pw_uid, nobody.pw_gid)
        with open(f"/proc/{d.proc.pid}/status") as f:
            status = {l.split(":")[0]: l.split(":")[1].split()
                      for l in f if ":" in l}
        self.assertEqual(set(status["Uid"]), {str(nobody.pw_uid)})
        self.assertEqual(set(status["Gid"]), {str(nobody.pw_gid)})
        self.assertEqual(status["CapEff"], ["0000000000000000"])
        c = Client(d.port)
        c.reply()
        c.cmd(b"EHLO client.test")
        c.cmd(b"MAIL FROM:<s@example.net>")
        c.cmd(b"RCPT TO:<u@example.test>")
        c.cmd(b"DATA")
        self.assertTrue(c.cmd(b"hi\r\n.").startswith(b"250 2.0.0"))
        c.close()
        self.assertIn("event=privileges user=nobody", d.logtext())

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
                s.connect(("127.0.0.1", d.port))
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
        c = Client(d.port)
        self.assertTrue(c.reply().startswith(b"220"))
        c.close()
        self.assertIsNone(d.proc.poll())


def main():
    if not os.access(INLETD, os.X_OK):
        print("missing: " + INLETD)
        return 1 if os.environ.get("CI") == "true" else 77
    suite = unittest.defaultTestLoader.loadTestsFromModule(
        sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(
        suite)
    failed = len(result.failures) + len(result.errors)
    print(f"test_policy: {result.testsRun - failed - len(result.skipped)} "
          f"passed, {failed} failed")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
