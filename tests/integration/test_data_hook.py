#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""data_hook (inlet.conf(5)): a program run on each message before the
reply, chasquid's post-data hook.

Exit 0 and its output prepended as header lines; exit 20 a 550 5.7.1
with its first line; any other exit, a hang past data_hook_timeout, too
much output, bad header lines or a program that cannot start a 451
4.7.1, nothing delivered and nothing left in tmp/; its environment and
its standard input (the message); a hook that reads nothing of a large
message (no SIGPIPE reaches inletd); other sessions served while a hook
hangs; one event=data-hook line each.  Hooks are small sh scripts in the
test's temp dir; only 127.0.0.1; every wait is bounded; nothing times.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402

MESSAGE = (b"From: s@example.net\r\nTo: a@example.test\r\n"
           b"Subject: hook test\r\n\r\nHello hook.\r\n")


class DataHook(unittest.TestCase):
    def start(self, script, conf=""):
        """An inletd whose data_hook is the sh script given (its body)."""
        d = harness.Daemon(start=False, prefix="inlet-hook-")
        self.addCleanup(d.cleanup)
        hook = d.path("hook")
        with open(hook, "w") as f:
            f.write("#!/bin/sh\n" + script)
        os.chmod(hook, 0o755)
        d.write_conf(f"data_hook {hook}\n" + conf)
        d.start()
        self.addCleanup(d.stop)
        return d

    def send(self, d, message=MESSAGE, rcpts=(b"a@example.test",)):
        """One message: the final reply's (code, first line)."""
        c = harness.connect(d.port("mx"))
        try:
            c.ehlo()
            code, lines = c.transaction(b"s@example.net", list(rcpts),
                                        message)
            return code, lines[0].decode()
        finally:
            c.close()

    def assert_nothing_stored(self, d):
        self.assertEqual(d.new_files(), [])
        self.assertEqual(os.listdir(os.path.join(d.maildir, "tmp")), [])

    def test_exit_0_prepends_headers(self):
        """The output goes before the message, after the delivery lines
        and before our Received:; the environment is chasquid's plus
        INLET_QUEUE_ID; stdin is the message as stored."""
        d = self.start('env > "$0.env"\ncat > "$0.in"\n'
                       'printf "X-Hook: yes\\r\\nX-Folded: a\\r\\n b\\r\\n"\n')
        code, line = self.send(d, rcpts=(b"a@example.test",
                                          b"b@example.test"))
        self.assertEqual(code, 250, line)
        qid = line.rsplit(" ", 1)[1]
        files = d.new_files()
        self.assertEqual(len(files), 2)
        for path in files:
            text = harness.read(path)
            self.assertRegex(text, rb"\AReturn-Path: <s@example.net>\n"
                             rb"Delivered-To: [ab]@example.test\n"
                             rb"X-Hook: yes\nX-Folded: a\n b\nReceived: ")
            self.assertTrue(text.endswith(b"\nHello hook.\n"))
        env = dict(l.split("=", 1) for l in
                   harness.read(d.path("hook.env")).decode().splitlines()
                   if "=" in l)
        self.assertEqual(env["REMOTE_ADDR"], "127.0.0.1")
        self.assertEqual(env["EHLO_DOMAIN"], "client.test")
        self.assertEqual(env["MAIL_FROM"], "s@example.net")
        self.assertEqual(env["RCPT_TO"], "a@example.test b@example.test")
        self.assertEqual(env["AUTH_AS"], "")
        self.assertEqual(env["ON_TLS"], "0")
        self.assertEqual(env["INLET_QUEUE_ID"], qid)
        stdin = harness.read(d.path("hook.in"))
        self.assertTrue(stdin.startswith(b"Received: from client.test"),
                        stdin[:80])
        self.assertIn(b"\nSubject: hook test\n\nHello hook.\n", stdin)
        self.assertNotIn(b"Return-Path", stdin)
        d.wait_log_re(r"event=data-hook id=" + qid +
                      r" result=accept end=exit code=0 headers=27\b")

    def test_empty_output_delivers_unchanged(self):
        d = self.start("exit 0\n")
        self.assertEqual(self.send(d)[0], 250)
        text = harness.read(d.new_files()[0])
        self.assertRegex(text, rb"\AReturn-Path: <s@example.net>\n"
                         rb"Delivered-To: a@example.test\nReceived: ")

    def test_exit_20_rejects_with_its_first_line(self):
        """550 5.7.1 with the first line, made safe; the session goes on:
        the next message is accepted once the hook says so."""
        d = self.start('if grep -q spam; then\n'
                       ' printf "Spam \\033[1mdetected\\nsecond line\\n"\n'
                       ' exit 20\nfi\n')
        c = harness.connect(d.port("mx"))
        c.ehlo()
        code, lines = c.transaction(
            b"s@example.net", [b"a@example.test"],
            b"Subject: spam\r\n\r\nspam\r\n")
        self.assertEqual(lines, [b"550 5.7.1 Spam ?[1mdetected"])
        self.assert_nothing_stored(d)
        code, lines = c.transaction(b"s@example.net", [b"a@example.test"],
                                    MESSAGE)
        self.assertEqual(code, 250, lines)
        c.close()
        self.assertEqual(len(d.new_files()), 1)
        d.wait_log("event=data-hook id=")
        self.assertRegex(d.log_text(),
                         r"event=data-hook id=\w+ result=reject end=exit "
                         r"code=20\n")
        self.assertRegex(d.log_text(), r"event=reject cmd=DATA code=550 "
                         r"enh=5.7.1 .*reply=\"550 5.7.1 Spam")

    def test_bdat_refused_and_accepted(self):
        """BDAT LAST is judged as DATA is: the refusal is the reply to
        the BDAT (logged cmd=BDAT), and the next chunked message goes
        through with the hook's header."""
        d = self.start('if grep -q spam; then echo "No spam"; exit 20; fi\n'
                       'echo "X-Checked: yes"\n')
        c = harness.connect(d.port("mx"))
        c.ehlo()
        for body, want in ((b"Subject: spam\r\n\r\nspam\r\n",
                            b"550 5.7.1 No spam"),
                           (MESSAGE, b"250 2.0.0 Ok: queued as ")):
            self.assertEqual(c.cmd(b"MAIL FROM:<s@example.net>")[0], 250)
            self.assertEqual(c.cmd(b"RCPT TO:<a@example.test>")[0], 250)
            c.sock.sendall(b"BDAT %d LAST\r\n" % len(body) + body)
            code, lines = c.reply()
            self.assertTrue(lines[0].startswith(want), lines)
        c.close()
        self.assertIn(b"\nX-Checked: yes\nReceived: ",
                      harness.read(d.new_files()[0]))
        d.wait_log("event=reject cmd=BDAT code=550")

    def test_exit_20_without_text(self):
        d = self.start("exit 20\n")
        self.assertEqual(self.send(d), (
            550, "550 5.7.1 Message rejected by content policy"))
        self.assert_nothing_stored(d)

    def test_other_exits_are_temporary(self):
        for status in (1, 19, 21, 75):
            with self.subTest(status=status):
                d = self.start(f"echo 'X-Not: used'\nexit {status}\n")
                self.assertEqual(self.send(d), (
                    451, "451 4.7.1 Message content check failed, try "
                    "again later"))
                self.assert_nothing_stored(d)
                d.wait_log(f"result=tempfail end=exit code={status}")

    def test_killed_by_a_signal(self):
        d = self.start("kill -TERM $$\n")
        self.assertEqual(self.send(d)[0], 451)
        self.assert_nothing_stored(d)
        d.wait_log("result=tempfail end=signal code=15")

    def test_bad_header_output_is_temporary(self):
        d = self.start("echo 'this is not a header'\n")
        self.assertEqual(self.send(d)[0], 451)
        self.assert_nothing_stored(d)
        d.wait_log('end=exit code=0 why="bad field name"')

    def test_hang_times_out_and_others_are_served(self):
        """A hook that never ends is killed (its whole process group)
        after data_hook_timeout: 451.  Meanwhile another client gets
        its replies: the loop does not wait for the hook."""
        d = self.start('echo $$ > "$0.pid"\nsleep 300 &\nwait\n',
                       "data_hook_timeout 2s\n")
        c = harness.connect(d.port("mx"))
        c.ehlo()
        for line in (b"MAIL FROM:<s@example.net>",
                     b"RCPT TO:<a@example.test>", b"DATA"):
            c.cmd(line)
        c.sock.sendall(MESSAGE + b".\r\n")
        pidfile = d.path("hook.pid")
        d._poll_log(lambda t: True if os.path.exists(pidfile) and
                    harness.read(pidfile).strip() else None, "the hook")
        other = harness.connect(d.port("mx"))
        other.ehlo()
        self.assertEqual(other.cmd(b"NOOP")[0], 250)
        other.close()
        code, lines = c.reply()
        self.assertEqual(code, 451, lines)
        c.close()
        self.assert_nothing_stored(d)
        d.wait_log("result=tempfail end=timeout")
        pid = int(harness.read(pidfile))
        d._poll_log(lambda t: True if not os.path.exists(
            f"/proc/{pid}") else None, "the hook's end")

    def test_stop_kills_a_running_hook(self):
        """SIGTERM while a hook runs: inletd waits shutdown_timeout, then
        exits, and the hook's whole process group is gone with it, and
        the message's tmp/ file."""
        d = self.start('echo $$ > "$0.pid"\nsleep 300\n',
                       "shutdown_timeout 1s\n")
        c = harness.connect(d.port("mx"))
        self.addCleanup(c.close)
        c.ehlo()
        for line in (b"MAIL FROM:<s@example.net>",
                     b"RCPT TO:<a@example.test>", b"DATA"):
            c.cmd(line)
        c.sock.sendall(MESSAGE + b".\r\n")
        pidfile = d.path("hook.pid")
        d._poll_log(lambda t: True if os.path.exists(pidfile) and
                    harness.read(pidfile).strip() else None, "the hook")
        pgid = int(harness.read(pidfile))
        self.assertEqual(d.stop(), 0)
        self.assertIn("event=stop reason=timeout", d.log_text())
        self.assert_nothing_stored(d)

        def group():
            left = []
            for p in os.listdir("/proc"):
                try:
                    stat = harness.read(f"/proc/{p}/stat").decode()
                except OSError:
                    continue
                fields = stat.rsplit(")", 1)[1].split()
                if p.isdigit() and int(fields[2]) == pgid and \
                        fields[0] != "Z":
                    left.append(p)
            return left or None
        for _ in range(100):     # bounded: 5 s
            if group() is None:
                break
            time.sleep(0.05)
        self.assertIsNone(group())

    def test_huge_output_is_cut_and_temporary(self):
        d = self.start("while :; do echo 'X-Big: yyyyyyyyyyyyyyyyyyyy'; "
                       "done\n")
        self.assertEqual(self.send(d)[0], 451)
        self.assert_nothing_stored(d)
        d.wait_log("result=tempfail end=overflow")

    def test_output_at_the_limit_is_kept(self):
        """64 KiB of header lines is the most; all of it is prepended."""
        line = "X-Pad: " + "p" * 56 + "\n"       # 64 octets
        d = self.start(f"i=0; while [ $i -lt 1024 ]; do printf '{line[:-1]}"
                       "\\n'; i=$((i+1)); done\n")
        self.assertEqual(self.send(d)[0], 250)
        text = harness.read(d.new_files()[0])
        self.assertEqual(text.count(line.encode()), 1024)

    def test_hook_reading_nothing_of_a_large_message(self):
        """The message is a file on stdin, not a pipe: a hook that reads
        none of it and exits costs inletd nothing (no SIGPIPE)."""
        d = self.start("echo 'X-Quick: 1'\n",
                       "message_size_limit 10M\n")
        body = b"".join(b"%07d " % i + b"x" * 70 + b"\r\n"
                        for i in range(40000))      # about 3 MB
        for _ in range(2):
            code, line = self.send(d, b"Subject: big\r\n\r\n" + body)
            self.assertEqual(code, 250, line)
        self.assertEqual(len(d.new_files()), 2)
        self.assertIsNone(d.proc.poll())
        text = harness.read(d.new_files()[0])
        self.assertIn(b"\nX-Quick: 1\nReceived: ", text)
        self.assertTrue(text.endswith(b"0039999 " + b"x" * 70 + b"\n"))

    def test_program_that_cannot_start(self):
        d = harness.Daemon(start=False, prefix="inlet-hook-")
        self.addCleanup(d.cleanup)
        d.write_conf(f"data_hook {d.path('missing')}\n")
        d.start()
        self.addCleanup(d.stop)
        self.assertEqual(self.send(d)[0], 451)
        self.assert_nothing_stored(d)
        d.wait_log('result=tempfail end=nostart error="No such file')

    def test_relative_path_refused_at_start(self):
        d = harness.Daemon(start=False, prefix="inlet-hook-")
        self.addCleanup(d.cleanup)
        r = harness.run_inletd(["-c", d.conf, "-o", "data_hook=hook", "-n"])
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"data_hook: bad value 'hook' (an absolute path)",
                      r.stderr)

    def test_timeout_key_bounds(self):
        d = harness.Daemon(start=False, prefix="inlet-hook-")
        self.addCleanup(d.cleanup)
        r = harness.run_inletd(["-c", d.conf, "-n"])
        self.assertIn(b"\ndata_hook_timeout 1m\n", r.stdout)
        r = harness.run_inletd(["-c", d.conf, "-o", "data_hook_timeout=0",
                                "-n"])
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    sys.exit(harness.main("test_data_hook", ("sh",)))
