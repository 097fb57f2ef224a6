#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""sink_chaos against the real inletd (inlet.conf(5), SINK FAULTS).

Rules keyed on the envelope: a delay holds a reply (and, at the end of
DATA, the commit) without blocking other clients; a disconnect at the
end of DATA stores nothing; an auth rule refuses one login; rates count
across connections; a reload rebuilds the rules; a bad rule is a config
error naming file:line.  No timing assertions: a delay is seen in the
log and in the reply arriving.
"""
import base64
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402
from inlet_harness import connect  # noqa: E402

MSG = b"Subject: chaos\r\n\r\nbody\r\n"


class Chaos(unittest.TestCase):
    def start(self, *rules):
        conf = "sink yes\n" + "".join(f"sink_chaos {r}\n" for r in rules)
        d = harness.Daemon(conf, prefix="inlet-chaos-")
        self.addCleanup(d.cleanup)
        self.addCleanup(d.stop)
        return d

    def client(self, d):
        s = connect(d.port("mx"))
        self.addCleanup(s.close)
        s.ehlo()
        return s

    def test_rcpt_delay_then_the_usual_reply(self):
        d = self.start("rcpt *@slow.test delay 300ms")
        s = self.client(d)
        other = self.client(d)     # served while the first one waits
        self.assertEqual(s.line("MAIL FROM:<a@x.test>")[:3], b"250")
        s.sock.sendall(b"RCPT TO:<b@slow.test>\r\n")
        self.assertEqual(other.line("NOOP")[:3], b"250")
        self.assertEqual(s.reply()[1], [b"250 2.1.5 Recipient ok"])
        self.assertEqual(s.line("RCPT TO:<c@fast.test>")[:3], b"250")
        d.wait_log("event=chaos stage=rcpt action=delay ms=300")
        self.assertEqual(len(d.log_lines("event=chaos")), 1)

    def test_data_delay_commits_after_it(self):
        d = self.start("data *@slow.test delay 200ms")
        s = self.client(d)
        code, lines = s.transaction(b"a@x.test", [b"b@slow.test"], MSG)
        self.assertEqual(code, 250, lines)
        self.assertEqual(len(d.new_files()), 1)
        d.wait_log("event=chaos stage=data action=delay ms=200")
        code, lines = s.transaction(b"a@x.test", [b"b@other.test"], MSG)
        self.assertEqual(code, 250, lines)
        self.assertEqual(len(d.log_lines("event=chaos")), 1)

    def test_data_disconnect_stores_nothing(self):
        d = self.start("data *@drop.test disconnect")
        s = self.client(d)
        for line in (b"MAIL FROM:<a@x.test>", b"RCPT TO:<ok@x.test>",
                     b"RCPT TO:<z@drop.test>"):
            self.assertEqual(s.cmd(line)[0], 250)
        self.assertEqual(s.cmd(b"DATA")[0], 354)
        s.sock.sendall(MSG + b".\r\n")
        self.assertEqual(s.read_to_eof(), b"")
        d.wait_log("event=disconnect")
        self.assertEqual(d.new_files(), [])
        self.assertEqual(os.listdir(os.path.join(d.maildir, "tmp")), [])
        d.wait_log("event=chaos stage=data action=disconnect")

    def test_auth_rule_refuses_one_login(self):
        d = self.start("auth alice reply 535 Bad luck")
        s = self.client(d)
        plain = base64.b64encode(b"\0alice\0pw").decode()
        self.assertEqual(s.line("AUTH PLAIN " + plain),
                         b"535 5.7.8 Bad luck")
        plain = base64.b64encode(b"\0bob\0pw").decode()
        self.assertEqual(s.line("AUTH PLAIN " + plain)[:3], b"235")
        d.wait_log("event=chaos stage=auth action=reply code=535")

    def test_rate_counts_across_connections(self):
        d = self.start("mail * 50% reply 451")
        got = []
        for _ in range(4):
            s = self.client(d)
            got.append(s.line("MAIL FROM:<a@x.test>")[:3])
            s.close()
        self.assertEqual(got, [b"451", b"250", b"451", b"250"])

    def test_reload_rebuilds_the_rules(self):
        d = self.start("rcpt *@a.test reply 550")
        s = self.client(d)
        s.line("MAIL FROM:<x@x.test>")
        self.assertEqual(s.line("RCPT TO:<u@a.test>")[:3], b"550")
        d.write_conf("sink yes\nsink_chaos rcpt *@b.test reply 450\n")
        d.signal(signal.SIGHUP)
        d.wait_log("event=reload tls=none")
        s = self.client(d)
        s.line("MAIL FROM:<x@x.test>")
        self.assertEqual(s.line("RCPT TO:<u@a.test>")[:3], b"250")
        self.assertEqual(s.line("RCPT TO:<u@b.test>"),
                         b"450 4.2.0 Mailbox unavailable (sink_chaos)")


class ChaosConfig(harness.ConfigErrorCase):
    def test_bad_rule_names_file_and_line(self):
        conf, err = self.run_conf(
            "listen 127.0.0.1:0\nmaildir " + self.dir + "/M\nsink yes\n"
            "sink_chaos rcpt * reply 250\n")
        self.assertIn(conf + ":4: sink_chaos: bad value 'rcpt * reply 250'"
                      " (bad reply code", err)

    def test_rules_need_sink(self):
        conf, err = self.run_conf(
            "listen 127.0.0.1:0\nmaildir " + self.dir + "/M\n"
            "domains x.test\nsink_chaos rcpt * reply 550\n")
        self.assertIn("sink_chaos: fault rules only with sink yes", err)


if __name__ == "__main__":
    sys.exit(harness.main("test_chaos"))
