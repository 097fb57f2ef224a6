#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The attack suite: what one hostile client may do to inletd over a real
socket, in each TLS mode (plain, STARTTLS, implicit TLS).

- pipelining floods of every verb in one write: the daemon lives, and the
  replies come in order (or the session ends with a 421);
- clients that never read: the daemon's memory stays bounded;
- every way a connection can end (FIN, RST, half-close) in every state
  (greeted, paused by the error budget, in DATA, in AUTH, in the TLS
  handshake, committing): every connection is freed exactly once
  (descriptors back to the baseline, one event=disconnect each) and
  SIGTERM is not held up;
- trickled bytes and endless over-limit RCPTs: the per-command deadline,
  the session ceiling and the error budget end them.

Each test starts its own inletd on 127.0.0.1 port 0 and stops it by PID;
every loop is bounded in count and time; nothing asserts a duration.
"""
import os
import re
import socket
import ssl
import struct
import sys
import select
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402
from inlet_harness import WAIT  # noqa: E402

CERTS = []      # (name, cert, key), made by setUpModule
MODES = ("plain", "starttls", "implicit")
REPLY = re.compile(rb"^[2-5][0-9][0-9][ -]")
MIB = 1024 * 1024
# Under AddressSanitizer freed memory waits in a quarantine: keep it
# small, and allow for it in the memory bound.
ASAN = b"__asan_init" in harness.read(harness.INLETD)
RSS_BOUND_KIB = (16 if ASAN else 4) * 1024


def setUpModule():
    d = tempfile.mkdtemp(prefix="inlet-attack-certs-")
    CERTS.append(("attack",) + harness.make_cert(d, "attack"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def nfds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rst(sock):
    """Close with a TCP reset (SO_LINGER 0)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                       struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class Attack(unittest.TestCase):
    def daemon(self, conf=None, **kw):
        """A sink inletd on mx, submission and submissions (with a
        certificate), conf's keys over this suite's defaults."""
        base = {"sink": "yes", "max_errors": 20, "command_timeout": "60s",
                "shutdown_timeout": "60s"}
        base.update(conf or {})
        conf = base
        d = harness.Daemon(conf, listen=harness.LISTEN_ALL, certs=CERTS,
                           prefix="inlet-attack-", start=False, **kw)
        asan = os.environ.get("ASAN_OPTIONS", "")
        d.start(env={"ASAN_OPTIONS": (asan + ":" if asan else "") +
                     "quarantine_size_mb=1"} if ASAN else None)
        self.addCleanup(d.cleanup)
        self.addCleanup(self.assert_clean_stop, d)
        return d

    def assert_clean_stop(self, d):
        """SIGTERM ends the daemon by itself (no SIGKILL, exit 0) and no
        sanitizer spoke."""
        rc = d.stop()
        log = d.log_text()
        self.assertEqual(rc, 0, log[-3000:])
        self.assertNotIn("AddressSanitizer", log)
        self.assertNotIn("runtime error", log)
        self.assertNotIn("can't happen", log)

    def open(self, d, mode, rcvbuf=None):
        """A socket in mode, greeting read (and EHLO + STARTTLS done for
        starttls): (sock, leftover bytes)."""
        role = "submissions" if mode == "implicit" else "mx"
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        raw.settimeout(WAIT)
        raw.connect(("127.0.0.1", d.port(role)))
        if mode == "implicit":
            raw = harness.client_ctx().wrap_socket(raw)
        s = harness.Smtp(raw)
        code, _ = s.reply()
        self.assertEqual(code, 220)
        if mode == "starttls":
            s.ehlo()
            s.starttls()
        return s.sock, s.buf

    def assert_alive(self, d, mode="plain"):
        self.assertIsNone(d.proc.poll(), d.log_text()[-3000:])
        sock, _ = self.open(d, mode)
        s = harness.Smtp(sock)
        s.ehlo()
        self.assertEqual(s.cmd(b"QUIT")[0], 221)
        s.close()

    # ---- 1. pipelined floods ------------------------------------------

    # verb -> (payload, whether each one is a client error); an error
    # past half of max_errors is held a second, so those floods are kept
    # under that (ERROR_RUN) and the replies still come back at once
    FLOODS = {
        "ehlo-long": (b"EHLO " + b"h" * 400 + b"\r\n", False),
        "ehlo": (b"EHLO client.test\r\n", False),
        "helo": (b"HELO client.test\r\n", False),
        "noop": (b"NOOP\r\n", False),
        "rset": (b"RSET\r\n", False),
        "help": (b"HELP\r\n", False),
        "vrfy": (b"VRFY postmaster\r\n", False),
        "mail-rset": (b"MAIL FROM:<a@example.test>\r\nRSET\r\n", False),
        "tx": (b"MAIL FROM:<a@example.test>\r\nRCPT TO:<x@example.test>\r\n"
               b"RSET\r\n", False),
        "quit": (b"QUIT\r\n", False),
        "expn": (b"EXPN list\r\n", True),
        "mail": (b"MAIL FROM:<a@example.test>\r\n", True),
        "rcpt": (b"RCPT TO:<x@example.test>\r\n", True),
        "data": (b"DATA\r\n", True),
        "bdat": (b"BDAT 1\r\nx", True),
        "unknown": (b"XYZZY\r\n", True),
        "toolong": (b"A" * 600 + b"\r\n", True),
        "bare-lf": (b"NOOP\n", False),
        "auth": (b"AUTH PLAIN\r\n*\r\n", True),
        "starttls": (b"STARTTLS\r\n", True),
    }
    ERROR_RUN = 400

    def flood(self, d, mode, payload, size=64 * 1024):
        """One run of payload repeated up to size bytes, between EHLO and
        QUIT, written as fast as the daemon takes it on a socket in mode
        while every reply is read, until the daemon closes (bounded): the
        reply lines.  One thread, non-blocking: an SSL socket must not be
        read and written from two threads at once."""
        sock, got = self.open(d, mode)
        data = (b"EHLO flood.test\r\n" +
                payload * max(1, size // len(payload)) + b"QUIT\r\n")
        sock.setblocking(False)
        off = 0
        deadline = time.monotonic() + WAIT * 3
        while time.monotonic() < deadline:
            progress = False
            if off < len(data):
                try:
                    off += sock.send(data[off:off + 16384])
                    progress = True
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError,
                        BlockingIOError):
                    pass
                except (OSError, ssl.SSLError):
                    off = len(data)         # the daemon closed
            try:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                got += chunk
                progress = True
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError,
                    BlockingIOError):
                pass
            except (OSError, ssl.SSLError):
                break
            if not progress:
                select.select([sock], [sock] if off < len(data) else [],
                              [], 0.2)
        sock.close()
        return got.split(b"\r\n")[:-1]

    def check_replies(self, name, mode, lines):
        """Every line the daemon sent is a well-formed reply line."""
        for line in lines:
            self.assertRegex(line, REPLY, f"{name}/{mode}: {line[:80]!r}")

    def test_floods_every_verb_every_mode(self):
        """Pipelining a long run of any command never ends the daemon."""
        d = self.daemon({"max_errors": 1000, "junk_command_limit": 100000,
                         "max_transactions": 100000})
        for mode in MODES:
            for name, (payload, error) in self.FLOODS.items():
                with self.subTest(mode=mode, verb=name):
                    size = (self.ERROR_RUN * len(payload) if error else
                            64 * 1024)
                    lines = self.flood(d, mode, payload, size)
                    self.assertIsNone(d.proc.poll(),
                                      f"{name}/{mode} killed inletd:\n" +
                                      d.log_text()[-2000:])
                    self.check_replies(name, mode, lines)
        self.assert_alive(d)

    def test_floods_small_limits(self):
        """The same floods where the limits end the sessions."""
        d = self.daemon({"max_errors": 4, "junk_command_limit": 10,
                         "max_transactions": 5})
        for mode in MODES:
            for name, (payload, _) in self.FLOODS.items():
                with self.subTest(mode=mode, verb=name):
                    self.check_replies(name, mode,
                                       self.flood(d, mode, payload))
                    self.assertIsNone(d.proc.poll(), d.log_text()[-2000:])
        self.assert_alive(d)

    def test_replies_in_order(self):
        """A pipelined run of 3000 NOOP/RSET pairs is answered in order:
        every reply, none lost, in each TLS mode."""
        d = self.daemon({"junk_command_limit": 100000})
        for mode in MODES:
            with self.subTest(mode=mode):
                lines = self.flood(d, mode, b"NOOP\r\nHELP\r\n",
                                   size=3000 * 12)
                codes = [l[:3] for l in lines if l[3:4] == b" "]
                self.assertEqual(codes[0], b"250")     # the EHLO
                self.assertEqual(codes[1:], [b"250", b"214"] * 3000 +
                                 [b"221"])

    # ---- 2. clients that never read ----------------------------------

    def nonreader(self, d, mode, payload, seconds=4):
        """Write payload over and over for a bounded time, never reading;
        the daemon's RSS growth in KiB."""
        sock, _ = self.open(d, mode, rcvbuf=4096)
        before = rss_kib(d.proc.pid)
        sock.settimeout(1)
        chunk = payload * (16384 // len(payload))
        sent = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and sent < 512 * MIB:
            try:
                sent += sock.send(chunk)
            except (socket.timeout, ssl.SSLError, BlockingIOError):
                continue
            except OSError:
                break
        after = rss_kib(d.proc.pid)
        rst(sock)
        return after - before, sent

    def test_nonreading_client_memory_bounded(self):
        """A client that pipelines and never reads is held at a bounded
        memory in every TLS mode (reading stops while 64 KiB of replies
        wait, whatever the stack of bufferevents)."""
        d = self.daemon({"junk_command_limit": 100000,
                         "max_transactions": 100000})
        self.assert_alive(d)
        for mode in MODES:
            for name, payload in (("ehlo", b"EHLO " + b"h" * 200 + b"\r\n"),
                                  ("noop", b"NOOP\r\n"),
                                  ("help", b"HELP\r\n")):
                with self.subTest(mode=mode, verb=name):
                    grew, sent = self.nonreader(d, mode, payload)
                    self.assertIsNone(d.proc.poll())
                    self.assertLess(grew, RSS_BOUND_KIB,
                                    f"{mode}/{name}: RSS grew {grew} KiB "
                                    f"after {sent} bytes sent")
        self.assert_alive(d)

    # ---- 3. every end in every state ---------------------------------

    def ehloed(self, d, mode):
        """A client in mode after a successful EHLO."""
        s = harness.Smtp(self.open(d, mode)[0])
        s.ehlo()
        return s

    def in_transaction(self, d):
        """A plain client with MAIL and one RCPT accepted."""
        s = self.ehloed(d, "plain")
        self.assertEqual(s.cmd(b"MAIL FROM:<a@example.test>")[0], 250)
        self.assertEqual(s.cmd(b"RCPT TO:<b@example.test>")[0], 250)
        return s

    def to_state(self, d, state):
        """A connection brought to state: (sock, ends-allowed)."""
        if state == "greeted":
            return self.open(d, "plain")[0]
        if state == "tls-greeted":
            return self.open(d, "implicit")[0]
        if state == "starttls-ready":
            return self.open(d, "starttls")[0]
        if state == "paused":
            sock, _ = self.open(d, "plain")
            sock.sendall(b"XYZZY\r\n" * 3)   # past half of max_errors 4
            return sock
        if state == "paused-backlog":
            # replies queued in the daemon, then the error-budget pause
            sock, _ = self.open(d, "plain", rcvbuf=2048)
            sock.sendall(b"EHLO " + b"h" * 400 + b"\r\n")
            sock.settimeout(2)
            try:
                sock.sendall((b"HELP\r\n" * 2000) + b"XYZZY\r\n" * 3)
            except (socket.timeout, OSError):
                pass
            return sock
        if state == "data":
            s = self.in_transaction(d)
            self.assertEqual(s.cmd(b"DATA")[0], 354)
            s.sock.sendall(b"Subject: x\r\n\r\nhalf a body")
            return s.sock
        if state == "bdat":
            s = self.in_transaction(d)
            s.sock.sendall(b"BDAT 100000 LAST\r\nSubject: x\r\n\r\n")
            return s.sock
        if state == "committing":
            s = self.in_transaction(d)
            self.assertEqual(s.cmd(b"DATA")[0], 354)
            s.sock.sendall(b"Subject: x\r\n\r\nbody\r\n.\r\n")
            return s.sock
        if state == "auth":
            s = self.ehloed(d, "implicit")
            self.assertEqual(s.cmd(b"AUTH LOGIN")[0], 334)
            return s.sock
        if state == "auth-failing":
            s = self.ehloed(d, "implicit")
            s.sock.sendall(b"AUTH PLAIN !!!!\r\n")
            return s.sock
        if state == "handshake":
            raw = harness.dial(d.port("submissions"))
            raw.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
            return raw
        if state == "starttls-handshake":
            s = harness.connect(d.port("mx"))
            s.ehlo()
            self.assertEqual(s.cmd(b"STARTTLS")[0], 220)
            s.sock.sendall(b"\x16\x03\x01\x02\x00")
            return s.sock
        raise AssertionError(state)

    STATES = ("greeted", "tls-greeted", "starttls-ready", "paused",
              "paused-backlog", "data", "bdat", "committing", "auth",
              "auth-failing", "handshake", "starttls-handshake")

    def end(self, sock, how):
        if how == "fin":
            sock.close()
        elif how == "rst":
            rst(sock)
        elif how == "half":
            raw = sock
            try:
                raw.shutdown(socket.SHUT_WR)
                raw.settimeout(WAIT)
                while raw.recv(65536):
                    pass
            except (OSError, ssl.SSLError):
                pass
            raw.close()
        else:
            raise AssertionError(how)

    def test_every_end_in_every_state_frees_the_connection(self):
        d = self.daemon({"max_errors": 4})
        self.assert_alive(d)
        d.wait_log("event=disconnect", 1)    # the probe's slot is free
        base = nfds(d.proc.pid)
        for _ in range(50):                  # and its socket closed
            time.sleep(0.05)
            if nfds(d.proc.pid) == base:
                break
            base = nfds(d.proc.pid)
        n = 1
        for state in self.STATES:
            for how in ("fin", "rst", "half"):
                with self.subTest(state=state, end=how):
                    sock = self.to_state(d, state)
                    self.end(sock, how)
                    n += 1
                    d.wait_log("event=disconnect", n)
                    deadline = time.monotonic() + WAIT
                    while (nfds(d.proc.pid) != base and
                           time.monotonic() < deadline):
                        time.sleep(0.05)
                    self.assertEqual(nfds(d.proc.pid), base,
                                     f"{state}/{how}: descriptor leaked")
        # each connection ended exactly once
        text = d.log_text()
        self.assertEqual(text.count("event=disconnect"), n)
        self.assert_alive(d)

    def test_leaked_slots_do_not_fill_max_connections(self):
        """Resets during the pause, repeated past max_connections: a new
        client is still served."""
        d = self.daemon({"max_errors": 4, "max_connections": 5,
                         "max_connections_per_ip": 0})
        for i in range(12):
            sock = self.to_state(d, "paused-backlog")
            rst(sock)
            d.wait_log("event=disconnect", i + 1)
        self.assert_alive(d)

    # ---- 5. timeouts an attacker cannot stretch ----------------------

    def test_trickled_command_meets_its_deadline(self):
        """A command line trickled a byte at a time, each byte well inside
        command_timeout, is still ended by the command's deadline."""
        for mode in MODES:
            with self.subTest(mode=mode):
                d = self.daemon({"command_timeout": "2s"})
                sock, _ = self.open(d, mode)
                line = b"EHLO " + b"t" * 200 + b"\r\n"
                sock.settimeout(0.3)
                got = b""
                sent = 0
                for b in line:      # at most ~3.5 s a byte apart 0.3 s
                    try:
                        sock.sendall(bytes([b]))
                        sent += 1
                    except (OSError, ssl.SSLError):
                        break
                    try:
                        chunk = sock.recv(4096)
                        if not chunk:
                            break
                        got += chunk
                    except (socket.timeout, ssl.SSLError):
                        continue
                    except OSError:
                        break
                self.assertIn(b"421 4.4.2", got, f"sent {sent} bytes")
                self.assertLess(sent, len(line))
                sock.close()
                d.wait_log("event=timeout")
                d.stop()

    def test_session_ceiling(self):
        """Commands that each finish in time cannot keep a session past
        session_timeout."""
        d = self.daemon({"session_timeout": "3s", "command_timeout": "2s",
                         "junk_command_limit": 100000})
        s = harness.connect(d.port("mx"))
        s.ehlo()
        got = None
        for _ in range(200):        # bounded: at most ~20 s
            try:
                code, lines = s.cmd(b"NOOP")
            except (EOFError, OSError):
                break
            if code != 250:
                got = lines
                break
            time.sleep(0.1)
        self.assertIsNotNone(got)
        self.assertTrue(got[0].startswith(b"421 4.4.2"), got)
        d.wait_log("event=session-timeout")

    def test_overlimit_rcpt_spends_the_error_budget(self):
        """RCPT beyond recipient_limit + recipient_overshoot_limit counts
        as an error, so an endless run of them ends the session."""
        d = self.daemon({"recipient_limit": 2, "recipient_overshoot_limit": 3,
                         "max_errors": 5})
        s = harness.connect(d.port("mx"))
        s.ehlo()
        self.assertEqual(s.cmd(b"MAIL FROM:<a@example.test>")[0], 250)
        codes = []
        for i in range(1000):       # bounded
            try:
                code, _ = s.cmd(b"RCPT TO:<r%d@example.test>" % i)
            except (EOFError, OSError):
                break
            codes.append(code)
            if code == 421:
                break
        self.assertEqual(codes[:2], [250, 250])
        self.assertEqual(codes[-1], 421)
        # 3 overshoot RCPTs are free; the next 5 spend the budget, and
        # the fifth one's 452 is followed by the 421
        self.assertEqual(len(codes), 2 + 3 + 5 + 1)
        self.assertTrue(all(c == 452 for c in codes[2:-1]), codes)


if __name__ == "__main__":
    sys.exit(harness.main("test_attack"))
