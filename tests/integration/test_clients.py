#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Integration tests with real SMTP clients against the real inletd.

Each test starts server/inletd on 127.0.0.1 port 0 with a temporary
config and Maildir (-R reports the bound port), delivers with Python's
smtplib, swaks or curl, and checks the files in new/.  Every wait is
bounded.  A missing client tool fails under CI=true; elsewhere the whole
script is skipped (exit 77) so a developer machine without swaks still
runs `make check`.
"""
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import unittest
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402
from inlet_harness import WAIT, read  # noqa: E402

DOMAINS = "example.test example.org"


def start_daemon(args=None):
    """An inletd (inlet_harness.Daemon) taking mail for DOMAINS."""
    return harness.Daemon(domains=DOMAINS, prefix="inlet-py-", args=args)


class Clients(unittest.TestCase):
    def setUp(self):
        self.d = start_daemon()

    def tearDown(self):
        self.assertEqual(self.d.stop(), 0)
        self.d.cleanup()

    def test_smtplib_two_recipients(self):
        with smtplib.SMTP("127.0.0.1", self.d.port("mx"), timeout=WAIT) as s:
            code, _ = s.ehlo("client.test")
            self.assertEqual(code, 250)
            self.assertTrue(s.has_extn("pipelining"))
            self.assertEqual(s.esmtp_features["size"], "26214400")
            refused = s.sendmail(
                "from@example.net", ["a@example.test", "b@example.org"],
                b"Subject: smtplib\r\n\r\nline one\r\n.leading dot\r\n")
            self.assertEqual(refused, {})
        files = self.d.new_files()
        self.assertEqual(len(files), 2)
        bodies = [read(f) for f in files]
        for body, rcpt in zip(sorted(bodies), [b"a@example.test",
                                                b"b@example.org"]):
            self.assertTrue(body.startswith(
                b"Return-Path: <from@example.net>\nDelivered-To: " + rcpt
                + b"\nReceived: from client.test ([127.0.0.1])\n"), body)
            self.assertTrue(body.endswith(
                b"Subject: smtplib\n\nline one\n.leading dot\n"), body)
            self.assertNotIn(b"\r", body)

    def test_smtplib_refusals(self):
        with smtplib.SMTP("127.0.0.1", self.d.port("mx"), timeout=WAIT) as s:
            s.ehlo("client.test")
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
                s.sendmail("from@example.net", ["x@elsewhere.example"],
                           b"Subject: relay\r\n\r\nno\r\n")
            code, msg = cm.exception.recipients["x@elsewhere.example"]
            self.assertEqual(code, 550)
            self.assertTrue(msg.startswith(b"5.7.1"))
            code, msg = s.docmd("MAIL FROM:<a@example.net> SIZE=99999999999")
            self.assertEqual((code, msg[:5]), (552, b"5.3.4"))
        self.assertEqual(self.d.new_files(), [])

    def test_smtplib_smtputf8(self):
        msg = EmailMessage()
        msg["From"] = "jösé@example.net"
        msg["To"] = "ünï@example.test"
        msg["Subject"] = "grüße"
        msg.set_content("Grüße aus dem Test\n")
        with smtplib.SMTP("127.0.0.1", self.d.port("mx"), timeout=WAIT) as s:
            s.send_message(msg)  # smtplib adds SMTPUTF8 itself
        files = self.d.new_files()
        self.assertEqual(len(files), 1)
        data = read(files[0])
        self.assertIn("Delivered-To: ünï@example.test".encode(), data)
        self.assertIn(b"with UTF8SMTP id", data)

    def test_swaks(self):
        r = subprocess.run(
            ["swaks", "--to", "x@example.test", "--from", "s@example.net",
             "--server", f"127.0.0.1:{self.d.port('mx')}", "--helo",
             "swaks.test",
             "--header", "Subject: from swaks", "--pipeline"],
            capture_output=True, timeout=WAIT * 3)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(b"250 2.0.0 Ok: queued as", r.stdout)
        files = self.d.new_files()
        self.assertEqual(len(files), 1)
        self.assertIn(b"Subject: from swaks", read(files[0]))

    def test_swaks_relay_refused(self):
        r = subprocess.run(
            ["swaks", "--to", "x@elsewhere.example", "--server",
             f"127.0.0.1:{self.d.port('mx')}"], capture_output=True,
            timeout=WAIT * 3)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"550 5.7.1", r.stdout)
        self.assertEqual(self.d.new_files(), [])

    def test_curl(self):
        mail = os.path.join(self.d.dir, "mail.txt")
        with open(mail, "wb") as f:
            f.write(b"Subject: from curl\r\n\r\ncurl body\r\n")
        r = subprocess.run(
            ["curl", "--silent", "--show-error", "--max-time", str(WAIT),
             f"smtp://127.0.0.1:{self.d.port('mx')}/client.test",
             "--mail-from", "c@example.net", "--mail-rcpt",
             "y@example.test", "--upload-file", mail],
            capture_output=True, timeout=WAIT * 3)
        self.assertEqual(r.returncode, 0, r.stderr)
        files = self.d.new_files()
        self.assertEqual(len(files), 1)
        self.assertTrue(read(files[0]).endswith(
            b"Subject: from curl\n\ncurl body\n"))

    def test_raw_pipelined_one_write(self):
        with socket.create_connection(("127.0.0.1", self.d.port("mx")),
                                      timeout=WAIT) as sock:
            sock.recv(4096)
            sock.sendall(b"EHLO raw.test\r\nMAIL FROM:<r@example.net>\r\n"
                         b"RCPT TO:<z@example.test>\r\nDATA\r\n"
                         b"Subject: raw\r\n\r\nx\r\n.\r\nQUIT\r\n")
            data = b""
            while not data.endswith(b"221 2.0.0 Bye\r\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        codes = [l[:3] for l in data.split(b"\r\n") if l[3:4] == b" "]
        self.assertEqual(codes, [b"250", b"250", b"250", b"354", b"250",
                                 b"221"])
        self.assertEqual(len(self.d.new_files()), 1)


class Ipv6(unittest.TestCase):
    """A client on ::1: the Received: line names it as the address literal
    [IPv6:::1] (RFC 5321 §4.1.3).  No ::1 skips, except under CI."""

    def setUp(self):
        if not harness.has_ipv6_loopback():
            if harness.CI:
                self.fail("no IPv6 loopback (::1) to listen on under CI")
            self.skipTest("no IPv6 loopback (::1)")
        self.d = harness.Daemon(listen="listen [::1]:0 mx\n",
                                domains=DOMAINS, prefix="inlet-py6-")

    def tearDown(self):
        self.assertEqual(self.d.stop(), 0)
        self.d.cleanup()

    def test_received_ipv6_literal(self):
        with smtplib.SMTP("::1", self.d.port("mx"), timeout=WAIT) as s:
            s.ehlo("client.test")
            self.assertEqual(s.sendmail("from@example.net", ["a@example.test"],
                                        b"Subject: six\r\n\r\nhi\r\n"), {})
        files = self.d.new_files()
        self.assertEqual(len(files), 1)
        self.assertIn(b"\nReceived: from client.test ([IPv6:::1])\n",
                      read(files[0]))


class Sink(unittest.TestCase):
    def test_sink_any_domain(self):
        tmp = tempfile.mkdtemp(prefix="inlet-sink-")
        d = start_daemon(args=["--sink", os.path.join(tmp, "Maildir"),
                               "-o", "listen=127.0.0.1:0"])
        try:
            r = subprocess.run(
                ["swaks", "--to", "x@example.test,dev@anything.invalid",
                 "--server",
                 f"127.0.0.1:{d.port('mx')}", "--header", "Subject: sunk"],
                capture_output=True, timeout=WAIT * 3)
            self.assertEqual(r.returncode, 0, r.stdout)
        finally:
            self.assertEqual(d.stop(), 0)
        try:
            # one file per message, however many recipients
            self.assertEqual(len(d.new_files(os.path.join(tmp, "Maildir"))),
                             1)
            with open(os.path.join(d.dir, "stdout")) as f:
                out = f.read()
            self.assertIn("to=<x@example.test>,<dev@anything.invalid> "
                          "subject=\"sunk\"", out)
        finally:
            d.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(harness.main("test_clients", ("swaks", "curl")))
