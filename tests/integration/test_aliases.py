#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The aliases file (inlet.conf(5), ALIASES) against the real inletd.

One-to-many delivery into each final mailbox's Maildir with that
mailbox in Delivered-To, a domain's catch-all, one delivery log line per
mailbox, a loop refused at start (exit 2, file:line), and SIGHUP: a
changed file takes effect, a bad one keeps the old aliases.  Only
127.0.0.1, every wait bounded.
"""
import glob
import os
import signal
import smtplib
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402
from inlet_harness import WAIT  # noqa: E402

DOMAINS = "example.test example.org"


def send(port, rcpts):
    """One message to rcpts; the refused ones (address: code)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=WAIT) as s:
        s.ehlo("client.test")
        return s.sendmail("s@example.net", rcpts,
                          b"Subject: a\r\n\r\nhi\r\n")


class Aliases(unittest.TestCase):
    def start(self, aliases, conf=""):
        d = harness.Daemon(start=False, domains=DOMAINS,
                           maildir="m/%d/%u")
        self.aliases = d.path("aliases")
        self.write(aliases)
        d.write_conf(f"aliases {self.aliases}\nrecipient_delimiter +\n" +
                     conf)
        d.start()
        self.addCleanup(d.cleanup)
        self.addCleanup(d.stop)
        return d

    def write(self, text):
        with open(self.aliases, "w") as f:
            f.write(text)

    def box(self, d, domain, user):
        """The messages in new/ of user@domain's Maildir, as bytes."""
        out = []
        for p in sorted(glob.glob(d.path("m", domain, user, "new", "*"))):
            with open(p, "rb") as f:
                out.append(f.read())
        return out

    def delivered_to(self, d, domain, user):
        return [m.split(b"\n")[1] for m in self.box(d, domain, user)]

    def test_one_to_many_and_catch_all(self):
        d = self.start("postmaster: alice\n"
                       "team: alice, bob@example.org  # two people\n"
                       "@example.org: carol\n")
        self.assertEqual(send(d.port("mx"), ["team+x@example.test",
                                             "postmaster@example.org",
                                             "nobody@example.org",
                                             "dave@example.test"]), {})
        self.assertEqual(self.delivered_to(d, "example.test", "alice"),
                         [b"Delivered-To: alice@example.test"])
        self.assertEqual(self.delivered_to(d, "example.org", "bob"),
                         [b"Delivered-To: bob@example.org"])
        # postmaster's own alias wins over the domain's catch-all
        self.assertEqual(self.delivered_to(d, "example.org", "alice"),
                         [b"Delivered-To: alice@example.org"])
        self.assertEqual(self.delivered_to(d, "example.org", "carol"),
                         [b"Delivered-To: carol@example.org"])
        self.assertEqual(self.delivered_to(d, "example.test", "dave"),
                         [b"Delivered-To: dave@example.test"])
        # nothing went to a Maildir named after an alias
        for name in ("team", "postmaster", "nobody"):
            self.assertEqual(glob.glob(d.path("m", "*", name)), [])
        # one delivery line per mailbox, the alias in to=
        text = d.wait_log("event=delivery", 5)
        lines = [l for l in text.splitlines() if "event=delivery" in l]
        self.assertEqual(len(lines), 5, text)
        team = [l for l in lines if 'to="<team+x@example.test>"' in l]
        self.assertEqual(len(team), 2, text)
        self.assertTrue(any('mailbox="<alice@example.test>"' in l
                            for l in team), text)
        self.assertTrue(any('mailbox="<bob@example.org>"' in l
                            for l in team), text)
        dave = [l for l in lines if "dave@" in l]
        self.assertNotIn("mailbox=", dave[0])

    def test_alias_composes_with_recipients(self):
        rcpt = os.path.join(tempfile.gettempdir(),
                            f"inlet-al-{os.getpid()}.rcpt")
        with open(rcpt, "w") as f:
            f.write("alice@example.test\n")
        self.addCleanup(os.unlink, rcpt)
        d = self.start("sales: alice\n", f"recipients {rcpt}\n")
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as e:
            send(d.port("mx"), ["zed@example.test"])
        self.assertEqual(e.exception.recipients["zed@example.test"][0], 550)
        self.assertEqual(send(d.port("mx"), ["SALES+q@example.test"]), {})
        self.assertEqual(self.delivered_to(d, "example.test", "alice"),
                         [b"Delivered-To: alice@example.test"])

    def test_loop_refused_at_start(self):
        d = harness.Daemon(start=False, domains=DOMAINS)
        self.addCleanup(d.cleanup)
        path = d.path("aliases")
        with open(path, "w") as f:
            f.write("# a loop\na: b\nb: c\nc: a\n")
        d.write_conf(f"aliases {path}\n")
        r = harness.run_inletd(["-d", "-c", d.conf])
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 2, err)
        self.assertIn(f"{path}:2: alias loop: a@example.test -> "
                      "b@example.test -> c@example.test -> a@example.test",
                      err)

    def test_sighup_reload(self):
        d = self.start("info: alice\n")
        send(d.port("mx"), ["info@example.test"])
        self.assertEqual(len(self.box(d, "example.test", "alice")), 1)
        # a changed file takes effect
        self.write("info: bob, carol\n")
        d.signal(signal.SIGHUP)
        d.wait_log("event=reload", 1)
        self.assertIn("status=ok", d.log_lines("event=reload")[-1])
        send(d.port("mx"), ["info@example.test"])
        self.assertEqual(len(self.box(d, "example.test", "alice")), 1)
        self.assertEqual(self.delivered_to(d, "example.test", "bob"),
                         [b"Delivered-To: bob@example.test"])
        self.assertEqual(len(self.box(d, "example.test", "carol")), 1)
        # a bad file: the reload fails, naming file:line; the old stays
        self.write("info: dave\nbroken line\n")
        d.signal(signal.SIGHUP)
        d.wait_log("event=reload", 2)
        last = d.log_lines("event=reload")[-1]
        self.assertIn(f"{self.aliases}:2:", last)
        self.assertNotIn("status=ok", last)
        send(d.port("mx"), ["info@example.test"])
        self.assertEqual(len(self.box(d, "example.test", "bob")), 2)
        self.assertEqual(self.box(d, "example.test", "dave"), [])
        self.assertIsNone(d.proc.poll())


if __name__ == "__main__":
    sys.exit(harness.main("test_aliases"))
