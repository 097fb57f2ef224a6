#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The test sink as a developer meets it: `inletd --sink`.

conf/sink.conf must say what --sink does (the effective configurations
that -n prints are compared); the sink's plain port offers no STARTTLS,
so clients that upgrade whenever it is offered and then verify the
certificate (nodemailer's default transport, Go's smtp.SendMail) still
deliver; the line printed per message names it.  The daemon runs with
--sink's own listen lines, their ports made 0 (127.0.0.1 only); every
wait is bounded.
"""
import base64
import os
import re
import shutil
import smtplib
import ssl
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402
from inlet_harness import WAIT, run_inletd  # noqa: E402

SRCDIR = os.environ.get("INLET_SRCDIR", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SINK_CONF = os.path.join(SRCDIR, "conf", "sink.conf")


def check_config(args, cwd):
    """inletd ARGS -n run in cwd: the effective configuration it prints."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        r = run_inletd(list(args) + ["-n"])
    finally:
        os.chdir(old)
    if r.returncode != 0:
        raise AssertionError(r.stderr.decode(errors="replace"))
    return r.stdout.decode()


class SinkCase(unittest.TestCase):
    """A temp dir to run in; sinkdir is its Maildir."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="inlet-sink-")
        self.sinkdir = os.path.join(self.tmp, "Maildir")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def sink_listen(self):
        """--sink's own listen lines, as one -o value with port 0."""
        text = check_config(["--sink", self.sinkdir], self.tmp)
        lines = [l.split(None, 1)[1] for l in text.splitlines()
                 if l.startswith("listen ")]
        return "listen=" + " ".join(re.sub(r":\d+ ", ":0 ", l)
                                    for l in lines)

    def start_sink(self):
        """inletd --sink on --sink's listeners, at port 0."""
        return harness.Daemon(prefix="inlet-sinkd-", args=[
            "--sink", self.sinkdir, "-o", self.sink_listen()])


class SinkConf(SinkCase):
    def test_sink_conf_is_what_sink_does(self):
        """-n prints the same for --sink and -c conf/sink.conf, but for
        the paths, which --sink makes absolute."""
        sink = check_config(["--sink"], self.tmp)
        conf = check_config(["-c", os.path.abspath(SINK_CONF)], self.tmp)
        self.assertIn("\nlisten 127.0.0.1:2525 mx notls\n", sink)
        self.assertIn("\nlisten 127.0.0.1:2587 submission\n", sink)
        self.assertIn("\nlisten 127.0.0.1:2465 submissions\n", sink)
        real = os.path.realpath(self.tmp)
        for prefix in {self.tmp, real}:
            sink = sink.replace(" " + prefix + "/", " ./")
        self.assertEqual(sink, conf)


class PlainPort(SinkCase):
    def test_plain_port_offers_no_starttls(self):
        d = self.start_sink()
        try:
            self.assertEqual([r for _, r in d.listeners],
                             ["mx", "submission", "submissions"])
            with smtplib.SMTP("127.0.0.1", d.port("mx"), timeout=WAIT) as s:
                s.ehlo("client.test")
                self.assertFalse(s.has_extn("starttls"), s.esmtp_features)
                self.assertTrue(s.has_extn("auth"))    # any login
                self.assertEqual(s.sendmail(
                    "app@example.net", ["someone@example.test"],
                    b"Subject: plain\r\n\r\nhi\r\n"), {})
            # STARTTLS stays on its own port
            with smtplib.SMTP("127.0.0.1", d.port("submission"),
                              timeout=WAIT) as s:
                s.ehlo("client.test")
                self.assertTrue(s.has_extn("starttls"))
                ctx = ssl.create_default_context(
                    cafile=os.path.join(self.sinkdir, "sink-cert.pem"))
                s.starttls(context=ctx)
                s.ehlo("client.test")
                self.assertEqual(s.sendmail(
                    "app@example.net", ["someone@example.test"],
                    b"Subject: tls\r\n\r\nhi\r\n"), {})
        finally:
            self.assertEqual(d.stop(), 0)
        try:
            self.assertEqual(len(d.new_files(self.sinkdir)), 2)
            self.assertRegex(d.log_text(), r'event=listen address="127\.0\.0'
                             r'\.1:\d+ mx notls"')
        finally:
            d.cleanup()


class SinkLine(SinkCase):
    """The line on stdout per message: subject decoded, every file."""

    def send(self, port, subject, rcpts):
        with smtplib.SMTP("127.0.0.1", port, timeout=WAIT) as s:
            self.assertEqual(s.sendmail(
                "app@example.net", rcpts,
                b"Subject: " + subject + b"\r\n\r\nbody\r\n"), {})

    def test_sink_line(self):
        text = "Grüße ✓ — 日本"
        cases = [   # (raw Subject: value, what the line shows)
            (b"=?UTF-8?B?" + base64.b64encode(text.encode()) + b"?=",
             text),
            # adjacent encoded words join (RFC 2047 §6.2), charsets mix
            (b"=?ISO-8859-1?Q?caf=E9?= =?UTF-8?Q?_au_lait?=",
             "café au lait"),
            # a newline, quote, backslash, RTL override: spaces
            (b"=?UTF-8?Q?a=0Ab=22c=5Cd=E2=80=AEe?=", "a b c d e"),
            ("raw ütf-8".encode(), "raw ütf-8"),
            (b"caf\xe9 in Latin-1", "café in Latin-1"),
            (b"=?UTF-8?B?not-closed", "=?UTF-8?B?not-closed"),
        ]
        rcpts = ["one@example.test", "two@example.org",
                 "three@anywhere.invalid"]
        d = self.start_sink()
        try:
            self.send(d.port("mx"), cases[0][0], rcpts)
            for raw, _ in cases[1:]:
                self.send(d.port("mx"), raw, rcpts[:1])
        finally:
            self.assertEqual(d.stop(), 0)
        try:
            lines = d.out_text().splitlines()
            files = d.new_files(self.sinkdir)
            self.assertEqual(len(lines), len(cases), lines)
            self.assertEqual(len(files), len(cases))   # one per message
            for line, (_, shown) in zip(lines, cases):
                self.assertIn(f' subject="{shown}" ', line)
            first = lines[0]
            self.assertIn(" to=<one@example.test>,<two@example.org>,"
                          "<three@anywhere.invalid> ", first)
            named = re.findall(r" file=(\S+)", first)
            self.assertEqual(len(named), 1, first)
            self.assertTrue(first.endswith(" file=" + named[0]))
            self.assertIn(named[0], files)
            with open(named[0], "rb") as fp:     # stored as sent
                data = fp.read()
            self.assertIn(b"Subject: " + cases[0][0], data)
            self.assertTrue(data.startswith(
                b"Return-Path: <app@example.net>\nReceived: "), data)
            self.assertNotIn(b"Delivered-To:", data)
            # its envelope record, under the same name in env/
            env = os.path.join(self.sinkdir, "env")
            self.assertEqual(sorted(os.listdir(env)),
                             sorted(os.path.basename(f) for f in files))
            with open(os.path.join(env, os.path.basename(named[0]))) as fp:
                rec = fp.read()
            self.assertEqual(re.findall(r"^recipient <(\S+)>", rec, re.M),
                             rcpts)
            self.assertIn("\nsender <app@example.net>\n", rec)
            self.assertIn(f"\nsize {len(data)}\n", rec)
            self.assertIn("\nuser -\n", rec)
            # one delivery line per recipient, all naming the one file
            log = [l for l in d.log_text().splitlines()
                   if "event=delivery" in l]
            self.assertEqual(len(log), len(rcpts) + len(cases) - 1, log)
            for l in log[:len(rcpts)]:
                self.assertIn(f'file="{named[0]}"', l)
        finally:
            d.cleanup()


class SinkTemplate(unittest.TestCase):
    """A sink whose maildir is a template keeps one copy per recipient,
    each with its own Delivered-To:, and no env/ records."""

    def test_template_sink_stores_per_recipient(self):
        d = harness.Daemon("sink yes\n", maildir="Maildir/%d/%u",
                           prefix="inlet-sinkt-")
        try:
            with smtplib.SMTP("127.0.0.1", d.port("mx"), timeout=WAIT) as s:
                self.assertEqual(s.sendmail(
                    "app@example.net", ["a@one.test", "b@two.test"],
                    b"Subject: t\r\n\r\nhi\r\n"), {})
        finally:
            self.assertEqual(d.stop(), 0)
        try:
            for box, rcpt in (("one.test/a", "a@one.test"),
                              ("two.test/b", "b@two.test")):
                files = d.new_files(os.path.join(d.maildir, box))
                self.assertEqual(len(files), 1, box)
                with open(files[0]) as fp:
                    self.assertIn(f"Delivered-To: {rcpt}\n", fp.read())
                self.assertFalse(os.path.exists(
                    os.path.join(d.maildir, box, "env")))
        finally:
            d.cleanup()


if __name__ == "__main__":
    sys.exit(harness.main("test_sink"))
