#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""inlet-relay against real peers: mail submitted to inletd on 587 (AUTH
over STARTTLS, into the queue) is handed by inlet-relay to a private
Postfix on 127.0.0.1 (smarthost.py: its own config and queue; STARTTLS
or implicit TLS with a certificate from a test CA, Cyrus SASL,
check_recipient_access answering 450 and 550 for chosen addresses,
Maildir delivery), and a DSN for a refused recipient lands in the
sender's Maildir.  Faults: the smarthost down at start, a certificate for
another name, no STARTTLS offered, 535 at AUTH, and, with a scripted
server that records what it was sent, 421 greeting, 552 after DATA and
kill -9 of inlet-relay in the middle of DATA.  Every wait is bounded.
"""
import email
import email.policy
import grp
import email.utils
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402
import smarthost  # noqa: E402
from inlet_harness import WAIT, Daemon, make_sasldb  # noqa: E402

RELAY = os.environ.get("INLET_RELAY", os.path.join(
    os.path.dirname(harness.INLETD), "inlet-relay"))
SLOW = WAIT * 3     # Postfix's own steps (start, reload, delivery)
BUSY = "busy@remote.example"        # the smarthost answers 450 4.2.0
NOUSER = "nouser@remote.example"    # and 550 5.1.1
ASAN = os.access(RELAY, os.R_OK) and b"__asan_init" in harness.read(RELAY)
free_port = smarthost.free_port


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=SLOW, **kw)


def wait_for(cond, timeout=SLOW, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def maildir_files(d):
    out = []
    for sub in ("new", "cur"):
        p = os.path.join(d, sub)
        if os.path.isdir(p):
            out += [os.path.join(p, f) for f in sorted(os.listdir(p))]
    return out


class FakeServer(threading.Thread):
    """A scripted smarthost on 127.0.0.1: greeting, EHLO (STARTTLS when
    tls is given: an SSLContext), then MAIL/RCPT/DATA with the replies
    asked for; records every command; with hang_after_data it never
    answers the final dot (so a test can kill the client then)."""

    def __init__(self, tls=None, greeting=b"220 fake ESMTP",
                 final=b"250 2.0.0 ok", hang_after_data=False,
                 eightbit=True, release=None, chunking=False):
        super().__init__(daemon=True)
        self.eightbit = eightbit
        self.chunking = chunking    # CHUNKING, BINARYMIME; BDAT taken
        self.chunks = []
        self.release = release  # an Event: the final reply waits for it
        self.tls, self.greeting, self.final = tls, greeting, final
        self.hang = hang_after_data
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(5)
        self.lsock.settimeout(SLOW)
        self.port = self.lsock.getsockname()[1]
        self.commands = []
        self.got_data = threading.Event()
        self.stop_ev = threading.Event()

    def run(self):
        try:
            while not self.stop_ev.is_set():
                try:
                    c, _ = self.lsock.accept()
                except OSError:
                    return
                c.settimeout(SLOW)
                self.conns = [c]
                try:
                    self.session(c)
                except (OSError, ssl.SSLError):
                    pass
                finally:
                    for s in self.conns:
                        s.close()
        finally:
            self.lsock.close()

    def session(self, c, greeting=None):
        f = c.makefile("rb")
        greeting = greeting or self.greeting
        c.sendall(greeting + b"\r\n")
        if not greeting.startswith(b"220"):
            return
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.rstrip(b"\r\n")
            self.commands.append(cmd)
            verb = cmd.split(b" ")[0].upper()
            if verb == b"EHLO":
                c.sendall(b"250-fake\r\n" +
                          (b"250-STARTTLS\r\n" if self.tls and
                           not isinstance(c, ssl.SSLSocket) else b"") +
                          (b"250-CHUNKING\r\n250-BINARYMIME\r\n"
                           if self.chunking else b"") +
                          (b"250 8BITMIME\r\n" if self.eightbit else
                           b"250 SIZE 1000000\r\n"))
            elif verb == b"STARTTLS" and self.tls:
                c.sendall(b"220 2.0.0 go\r\n")
                c = self.tls.wrap_socket(c, server_side=True)
                self.conns.append(c)
                f = c.makefile("rb")
            elif verb == b"DATA":
                c.sendall(b"354 go\r\n")
                while f.readline() not in (b".\r\n", b""):
                    pass
                self.got_data.set()
                if self.hang:
                    self.stop_ev.wait(SLOW)
                    return
                if self.release is not None:
                    self.release.wait(SLOW)
                c.sendall(self.final + b"\r\n")
            elif verb == b"BDAT" and self.chunking:
                self.chunks.append(f.read(int(cmd.split(b" ")[1])))
                c.sendall(self.final + b"\r\n")
            elif verb == b"QUIT":
                c.sendall(b"221 bye\r\n")
                return
            else:
                c.sendall(b"250 ok\r\n")

    def close(self):
        self.stop_ev.set()
        self.lsock.close()


class ParallelFake(FakeServer):
    """FakeServer taking sessions at once, each in a thread of its own
    (at most 32); counts the sessions open at once.  With cap, a session
    beyond cap open ones is greeted with 421, as providers do."""

    def __init__(self, cap=None, **kw):
        super().__init__(**kw)
        self.cap = cap
        self.lock = threading.Lock()
        self.conns = []
        self.open = self.max_open = self.sessions = 0

    def run(self):
        try:
            while not self.stop_ev.is_set() and self.sessions < 32:
                try:
                    c, _ = self.lsock.accept()
                except OSError:
                    return
                with self.lock:
                    self.sessions += 1
                    self.conns.append(c)
                threading.Thread(target=self.one, args=(c,),
                                 daemon=True).start()
        finally:
            self.lsock.close()

    def one(self, c):
        c.settimeout(SLOW)
        with self.lock:
            self.open += 1
            self.max_open = max(self.max_open, self.open)
            over = self.cap is not None and self.open > self.cap
        try:
            self.session(c, b"421 4.7.0 too many sessions" if over else
                         None)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self.lock:
                self.open -= 1

    def close(self):
        super().close()
        with self.lock:
            for c in self.conns:
                c.close()


def postfix_sessions(log):
    """The smarthost's sessions from localhost in its log: the most open
    at once (connect and disconnect lines in order), and the mail=
    count of each session."""
    open_now = most = 0
    mails = []
    for m in re.finditer(r"smtpd\[\d+\]: (connect|disconnect) from "
                         r"localhost\[127\.0\.0\.1\]([^\n]*)", log):
        if m.group(1) == "connect":
            open_now += 1
            most = max(most, open_now)
        else:
            open_now -= 1
            n = re.search(r" mail=(\d+)", m.group(2))
            mails.append(int(n.group(1)) if n else 0)
    return most, mails


def fake_tls(directory):
    """A server context for FakeServer (a certificate for 127.0.0.1) and
    the CA that signed it."""
    ca, cert, key = smarthost.make_ca_cert(directory, "fake.test")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx, ca


def delivered(sh, rcpt, subject):
    """The smarthost's copies of the message subject for rcpt."""
    return [p for p, data in sh.messages()
            if re.search(rb"^Delivered-To: " + re.escape(rcpt.encode()) +
                         rb"\r?$", data, re.M) and
            re.search(rb"^Subject: " + re.escape(subject.encode()) +
                      rb"\r?$", data, re.M)]


class RelayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="inlet-relay-")
        cls.smarthost = smarthost.start(cls.work)
        cls.inlet_cert = harness.make_cert(cls.work, "inlet")
        cls.sasldb = make_sasldb(os.path.join(cls.work, "inlet-sasldb"),
                                 {"alice@example.test": "alicepw"})

    @classmethod
    def tearDownClass(cls):
        cls.smarthost.stop()
        shutil.rmtree(cls.work, ignore_errors=True)

    def setUp(self):
        self.smarthost.set_access({
            BUSY: "450 4.2.0 Mailbox busy, try again later",
            NOUSER: "550 5.1.1 No such user here"})
        self.d = Daemon({
            "sasl_db": self.sasldb, "queue": None, "relay_host": None,
        }, listen="listen 127.0.0.1:0 submission\n",
            maildir="mail/%d/%u", certs=[("inlet",) + self.inlet_cert],
            start=False)
        self.queue = self.d.path("queue")
        self.authfile = self.d.path("relay-auth")
        self.write_auth(self.smarthost.password)
        self.relay_conf = {
            "sasl_db": self.sasldb, "queue": self.queue,
            "relay_host": "smtp://localhost:%d" %
            self.smarthost.ports["submission"],
            "relay_auth_file": self.authfile,
            "relay_ca_file": self.smarthost.ca_path,
            "relay_retry_min": "1s", "relay_retry_max": "2s",
            "command_timeout": "20s",
        }
        self.d.write_conf(self.relay_conf)
        self.d.start()
        self.relay = None
        self.relay_log = self.d.path("relay.log")

    def tearDown(self):
        self.stop_relay()
        self.d.stop()
        self.d.cleanup()

    def write_auth(self, password):
        user = self.smarthost.user
        with open(self.authfile, "w") as f:
            f.write(f"# smarthost logins\nlocalhost {user} {password}\n"
                    f"127.0.0.1 {user} {password}\n")
        os.chmod(self.authfile, 0o600)

    def set_conf(self, **kw):
        self.relay_conf.update(kw)
        self.d.write_conf(self.relay_conf)

    def start_relay(self, *args, umask=-1):
        self.logf = open(self.relay_log, "a")
        env = None
        if ASAN:
            # freed memory waits in AddressSanitizer's quarantine: keep
            # it small, or the peak RSS says nothing
            asan = os.environ.get("ASAN_OPTIONS", "")
            env = dict(os.environ, ASAN_OPTIONS=(asan + ":" if asan else "")
                       + "quarantine_size_mb=1")
        self.relay = subprocess.Popen(
            [RELAY, "-d", "-c", self.d.conf] + list(args), env=env,
            stdout=self.logf, stderr=self.logf, stdin=subprocess.DEVNULL,
            umask=umask)

    def stop_relay(self, sig=signal.SIGTERM):
        if self.relay is None:
            return None
        if self.relay.poll() is None:
            self.relay.send_signal(sig)
        try:
            rc = self.relay.wait(SLOW)
        except subprocess.TimeoutExpired:
            self.relay.kill()
            rc = self.relay.wait(WAIT)
        self.relay = None
        self.logf.close()
        return rc

    def relay_text(self):
        with open(self.relay_log, errors="replace") as f:
            return f.read()

    def wait_relay_log(self, pattern, count=1, since=0):
        """Wait for count lines matching pattern in the relay's log (after
        its first since characters)."""
        return wait_for(lambda: len(re.findall(
            pattern, self.relay_text()[since:])) >= count,
            what=pattern + " in\n" + self.relay_text())

    def submit(self, rcpts, subject="hello", body="Hi there.\n",
               rcpt_options=()):
        """AUTH on 587 (STARTTLS) as alice, as a mail client does."""
        ctx = ssl.create_default_context(cafile=self.inlet_cert[0])
        with smtplib.SMTP("127.0.0.1", self.d.port("submission"),
                          timeout=WAIT) as s:
            s.ehlo("client.test")
            s.starttls(context=ctx)
            s.ehlo("client.test")
            s.login("alice@example.test", "alicepw")
            msg = (f"From: alice@example.test\r\nTo: {', '.join(rcpts)}\r\n"
                   f"Subject: {subject}\r\nMessage-ID: <{subject}@client."
                   f"test>\r\n\r\n{body}")
            s.sendmail("alice@example.test", rcpts, msg,
                       rcpt_options=rcpt_options)

    def alice_session(self):
        """A submission session on 587: STARTTLS, then AUTH as alice."""
        s = smtplib.SMTP("127.0.0.1", self.d.port("submission"),
                         timeout=WAIT)
        s.starttls(context=ssl.create_default_context(
            cafile=self.inlet_cert[0]))
        s.login("alice@example.test", "alicepw")
        return s

    def submit_many(self, rcpt, subjects, body="Hi there.\n"):
        """One submission session, one message for each subject."""
        with self.alice_session() as s:
            for subject in subjects:
                s.sendmail("alice@example.test", [rcpt],
                           f"From: alice@example.test\r\nTo: {rcpt}\r\n"
                           f"Subject: {subject}\r\nMessage-ID: <{subject}"
                           f"@client.test>\r\n\r\n{body}")

    def use_smarthost(self):
        """Back to the Postfix smarthost (after a fake one)."""
        self.set_conf(relay_host="smtp://localhost:%d" %
                      self.smarthost.ports["submission"],
                      relay_auth_file=self.authfile,
                      relay_ca_file=self.smarthost.ca_path)

    def queue_names(self):
        p = os.path.join(self.queue, "new")
        return sorted(os.listdir(p)) if os.path.isdir(p) else []

    def alice_dsns(self):
        return maildir_files(self.d.path("mail", "example.test", "alice"))

    def relay_cmd(self, *args):
        return run([RELAY, "-c", self.d.conf] + list(args))

    # ---- modes: group_access ------------------------------------------

    def modes_after_relay(self, umask):
        """With inletd and inlet-relay started under umask (systemd's
        UMask=0077 is what the units set): a message for carol (local), a
        queued one for BUSY (deferred: it stays, with a state) and NOUSER
        (a DSN into alice's Maildir, which inlet-relay makes).  The modes
        of what each made: {what: (mode, path)}."""
        self.d.stop()
        for sub in ("queue", "mail"):
            shutil.rmtree(self.d.path(sub), ignore_errors=True)
        self.d.start(umask=umask)
        self.submit(["carol@example.test"], subject="local")
        self.submit([BUSY, NOUSER], subject="modes")
        name = wait_for(self.queue_names, what="the queued message")[0]
        self.start_relay(umask=umask)
        self.wait_relay_log(r"status=deferred dsn=4\.2\.0")
        dsn = wait_for(self.alice_dsns, what="the DSN")[0]
        carol = self.d.path("mail", "example.test", "carol")
        alice = os.path.dirname(os.path.dirname(dsn))
        paths = {
            "queue": self.queue,
            "queue/new": os.path.join(self.queue, "new"),
            "queue/tmp": os.path.join(self.queue, "tmp"),
            "queue/env": os.path.join(self.queue, "env"),
            "queue/state": os.path.join(self.queue, "state"),
            "message": os.path.join(self.queue, "new", name),
            "envelope": os.path.join(self.queue, "env", name),
            "state": os.path.join(self.queue, "state", name),
            "carol": carol, "carol/new": os.path.join(carol, "new"),
            "carol/cur": os.path.join(carol, "cur"),
            "delivered": maildir_files(carol)[0],
            "mail/example.test": os.path.dirname(alice),
            "alice": alice, "alice/new": os.path.dirname(dsn),
            "alice/tmp": os.path.join(alice, "tmp"), "dsn": dsn,
        }
        return {k: (os.stat(p).st_mode & 0o7777, p) for k, p in paths.items()}

    FILES = ("message", "envelope", "state", "delivered", "dsn")

    def test_group_access_modes(self):
        """group_access yes: every directory inletd and inlet-relay make
        is 0770 and every file 0640, even under umask 077."""
        self.set_conf(group_access="yes")
        got = self.modes_after_relay(0o077)
        for what, (mode, path) in got.items():
            want = 0o640 if what in self.FILES else 0o770
            self.assertEqual(mode, want, f"{what} {path}: {mode:o}")

    def test_default_modes_stay_private(self):
        """Without group_access: 0700 and 0600, even under umask 0."""
        got = self.modes_after_relay(0)
        for what, (mode, path) in got.items():
            want = 0o600 if what in self.FILES else 0o700
            self.assertEqual(mode, want, f"{what} {path}: {mode:o}")

    # ---- the happy path and the refusals ------------------------------

    def test_delivers_and_bounces(self):
        self.start_relay()
        self.submit(["bob@remote.example", NOUSER], subject="first")
        wait_for(lambda: delivered(self.smarthost, "bob@remote.example",
                                   "first"), what="bob's mail")
        self.wait_relay_log(r"event=delivery .*to=\"<bob@remote\.example>\" "
                            r"relay=\"localhost\[127\.0\.0\.1\]:\d+\" "
                            r"delay=\d+s status=sent dsn=2\.0\.0")
        self.wait_relay_log(r"to=\"<nouser@remote\.example>\".*"
                            r"status=bounced dsn=5\.1\.1 reply=\"550 5\.1\.1")
        dsns = wait_for(self.alice_dsns, what="the DSN")
        with open(dsns[0], "rb") as f:
            m = email.message_from_binary_file(f, policy=email.policy.default)
        self.assertEqual(m.get_content_type(), "multipart/report")
        self.assertEqual(m.get_param("report-type"), "delivery-status")
        self.assertEqual(m["Return-Path"], "<>")
        self.assertEqual(m["Auto-Submitted"], "auto-replied")
        parts = list(m.iter_parts())
        self.assertEqual(parts[1].get_content_type(),
                         "message/delivery-status")
        blocks = parts[1].get_payload()
        self.assertEqual(len(blocks), 2)    # per message, one recipient
        self.assertEqual(blocks[0]["Reporting-MTA"], "dns; mx.test")
        rcpt = blocks[1]
        self.assertEqual(rcpt["Final-Recipient"], "rfc822; " + NOUSER)
        self.assertEqual(rcpt["Action"], "failed")
        self.assertEqual(rcpt["Status"], "5.1.1")
        self.assertIn("550 5.1.1", rcpt["Diagnostic-Code"])
        self.assertEqual(rcpt["Remote-MTA"], "dns; localhost")
        self.assertEqual(parts[2].get_content_type(), "text/rfc822-headers")
        self.assertIn("Subject: first", parts[2].get_content())
        wait_for(lambda: self.queue_names() == [], what="an empty queue")
        self.assertEqual(len(self.alice_dsns()), 1)

    def test_tempfail_is_retried_then_delivered(self):
        self.start_relay()
        self.submit([BUSY], subject="later")
        self.wait_relay_log(r"to=\"<busy@remote\.example>\".*"
                            r"status=deferred dsn=4\.2\.0")
        listing = self.relay_cmd("-l").stdout.decode()
        self.assertRegex(listing, r"<busy@remote\.example> deferred until "
                         r"\S+, 1 tries: 450 4\.2\.0 ")
        self.assertRegex(listing, r"<alice@example\.test>")
        self.smarthost.set_access({NOUSER: "550 5.1.1 No such user here"})
        wait_for(lambda: delivered(self.smarthost, BUSY, "later"),
                 what="the retried delivery")
        self.wait_relay_log(r"to=\"<busy@remote\.example>\".*status=sent")
        wait_for(lambda: self.queue_names() == [], what="an empty queue")
        self.assertEqual(self.alice_dsns(), [])

    def test_delay_warning_once_and_as_notify_asks(self):
        self.set_conf(delay_warning_time="2s")
        self.start_relay()
        self.submit([BUSY], subject="slow")
        self.submit([BUSY], subject="quiet", rcpt_options=["NOTIFY=NEVER"])
        self.submit([BUSY], subject="nodelay",
                    rcpt_options=["NOTIFY=FAILURE"])
        dsns = wait_for(self.alice_dsns, what="the delay warning")
        self.wait_relay_log(r"event=dsn id=\S+ to=\"<alice@example\.test>\" "
                            r"action=delayed rcpts=1 status=delivered")
        with open(dsns[0], "rb") as f:
            m = email.message_from_binary_file(f, policy=email.policy.default)
        self.assertEqual(m.get_content_type(), "multipart/report")
        self.assertEqual(m.get_param("report-type"), "delivery-status")
        self.assertEqual(m["Return-Path"], "<>")
        self.assertEqual(m["Subject"], "Delayed Mail (still being retried)")
        parts = list(m.iter_parts())
        self.assertEqual(parts[1].get_content_type(),
                         "message/delivery-status")
        blocks = parts[1].get_payload()
        self.assertEqual(len(blocks), 2)
        rcpt = blocks[1]
        self.assertEqual(rcpt["Final-Recipient"], "rfc822; " + BUSY)
        self.assertEqual(rcpt["Action"], "delayed")
        self.assertEqual(rcpt["Status"], "4.2.0")
        self.assertIn("450 4.2.0", rcpt["Diagnostic-Code"])
        # arrival + queue_lifetime (5 days): in 4 to 6 days from now
        until = email.utils.parsedate_to_datetime(rcpt["Will-Retry-Until"])
        left = until.timestamp() - time.time()
        self.assertTrue(4 * 86400 < left < 6 * 86400, left)
        self.assertEqual(parts[2].get_content_type(), "text/rfc822-headers")
        self.assertIn("Subject: slow", parts[2].get_content())
        # the retries go on (past delay_warning_time for all three), and
        # no second warning comes, nor one against NOTIFY
        since = len(self.relay_text())
        self.wait_relay_log(r"to=\"<busy@remote\.example>\".*"
                            r"status=deferred", count=6, since=since)
        self.assertEqual(len(self.alice_dsns()), 1)
        self.assertEqual(len(re.findall(r"event=dsn ",
                                        self.relay_text())), 1)
        listing = self.relay_cmd("-l").stdout.decode()
        self.assertEqual(len(re.findall(r"\) warned\n", listing)), 1,
                         listing)
        self.stop_relay()
        # the flag survives a restart: still no second warning
        self.start_relay()
        since = len(self.relay_text())
        self.wait_relay_log(r"to=\"<busy@remote\.example>\".*"
                            r"status=deferred", count=3, since=since)
        self.assertEqual(len(self.alice_dsns()), 1)

    def test_orphaned_envelopes_removed_after_a_grace_period(self):
        self.set_conf(relay_host=f"smtp://127.0.0.1:{free_port()}")
        self.submit(["bob@remote.example"], subject="stays")
        names = self.queue_names()
        self.assertEqual(len(names), 1)
        env = os.path.join(self.queue, "env")
        old = time.time() - 7200
        # the queued message's own envelope, old too: never removed
        own = os.path.join(env, names[0])
        os.utime(own, (old, old))
        orphans = {}
        for what, age in (("old", old), ("fresh", time.time() - 60)):
            p = os.path.join(env, f"1764800000.M1P{len(orphans)}Q1."
                             f"mx.test,S=10")
            with open(p, "w") as f:
                f.write("from: <alice@example.test>\n")
            os.utime(p, (age, age))
            orphans[what] = p
        self.start_relay()
        self.wait_relay_log(r"event=orphan file=\"" +
                            re.escape(orphans["old"]) + r"\" age=\d+s")
        self.assertFalse(os.path.exists(orphans["old"]))
        # younger than the grace period: may be inletd's, mid-commit
        self.assertTrue(os.path.exists(orphans["fresh"]))
        self.assertTrue(os.path.exists(own))
        self.assertEqual(self.queue_names(), names)
        self.assertEqual(len(re.findall(r"event=orphan",
                                        self.relay_text())), 1)

    def test_connection_reused(self):
        # two messages queued before the agent starts: one connection
        # (relay_connections 1: with more, the second could go on a
        # connection of its own)
        self.set_conf(relay_connections="1")
        self.submit(["carol@remote.example"], subject="one")
        self.submit(["carol@remote.example", "dave@remote.example"],
                    subject="two")
        self.start_relay()
        wait_for(lambda: delivered(self.smarthost, "dave@remote.example",
                                   "two"), what="the second message")
        self.wait_relay_log(r"status=sent", count=3)
        self.assertEqual(len(delivered(self.smarthost, "carol@remote.example",
                                       "one")), 1)
        # one session: AUTH once, two transactions, RSET between them
        # (Postfix logs it once the QUIT is in)
        session = (r"disconnect from localhost\[127\.0\.0\.1\] ehlo=2 "
                   r"starttls=1 auth=1 mail=2 rcpt=3 data=2 rset=1 quit=1")
        wait_for(lambda: re.search(session, self.smarthost.log_text()),
                 what=session + " in\n" + self.smarthost.log_text())

    def test_implicit_tls(self):
        self.set_conf(relay_host="smtps://localhost:%d" %
                      self.smarthost.ports["smtps"])
        self.start_relay()
        self.submit(["bob@remote.example"], subject="smtps")
        wait_for(lambda: delivered(self.smarthost, "bob@remote.example",
                                   "smtps"), what="the message")

    # ---- parallel connections -----------------------------------------

    def test_parallel_connections_deliver_each_once(self):
        """40 messages queued, relay_connections 4: each reaches the
        smarthost's Maildir exactly once, over more than one session at
        a time, at most 4 sessions, each reused for several."""
        mark = len(self.smarthost.log_text())
        subjects = ["par-%02d" % i for i in range(40)]
        self.submit_many("bob@remote.example", subjects)
        self.assertEqual(len(self.queue_names()), 40)
        self.set_conf(relay_connections="4")
        self.start_relay()
        wait_for(lambda: self.queue_names() == [], what="an empty queue")
        for subject in subjects:
            wait_for(lambda: delivered(self.smarthost, "bob@remote.example",
                                       subject), what=subject)
        self.wait_relay_log(r"status=sent", count=40)
        self.stop_relay()
        for subject in subjects:
            self.assertEqual(len(delivered(
                self.smarthost, "bob@remote.example", subject)), 1, subject)
        self.assertEqual(len(re.findall(r"status=sent", self.relay_text())),
                         40)
        wait_for(lambda: sum(postfix_sessions(
            self.smarthost.log_text()[mark:])[1]) == 40,
            what="40 MAIL commands in the smarthost's log")
        most, mails = postfix_sessions(self.smarthost.log_text()[mark:])
        self.assertGreater(most, 1, "no two sessions at once")
        self.assertLessEqual(most, 4)
        self.assertLessEqual(len(mails), 4, mails)

    def test_parallel_smarthost_down_no_storm(self):
        """relay_connections 4 and 10 messages due: a smarthost that
        refuses connections sees one attempt (the probe) per round, not
        one per connection or per message; with a second relay_host that
        works, the round moves on to it and everything is sent."""
        dead = f"smtp://127.0.0.1:{free_port()}"
        self.submit_many("bob@remote.example",
                         ["down-%d" % i for i in range(10)])
        self.set_conf(relay_host=dead, relay_connections="4",
                      relay_retry_min="1h", relay_retry_max="1h")
        self.start_relay()
        self.wait_relay_log(r"status=deferred dsn=4\.4\.2", count=10)
        self.stop_relay()
        self.assertEqual(len(re.findall(r"event=connection .*Connection "
                                        r"refused", self.relay_text())), 1,
                         self.relay_text())
        self.assertEqual(len(self.queue_names()), 10)
        mark = len(self.relay_text())
        self.set_conf(relay_host=dead + " smtp://localhost:%d" %
                      self.smarthost.ports["submission"])
        self.start_relay()
        self.wait_relay_log(r"event=start", since=mark)
        r = self.relay_cmd("-f")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: self.queue_names() == [], what="an empty queue")
        self.wait_relay_log(r"status=sent", count=10, since=mark)
        self.assertEqual(len(re.findall(r"event=connection ",
                                        self.relay_text()[mark:])), 1,
                         self.relay_text()[mark:])

    def four_in_data(self, fake, ca):
        """inlet-relay with relay_connections 4 against the fake (its CA
        ca), until four transactions are in DATA at once."""
        self.set_conf(relay_host=f"smtp://127.0.0.1:{fake.port}",
                      relay_auth_file=None, relay_ca_file=ca,
                      relay_connections="4")
        self.start_relay()
        wait_for(lambda: fake.commands.count(b"DATA") >= 4,
                 what="four transactions in DATA at once")

    def test_kill_9_during_parallel_data_loses_nothing(self):
        """relay_connections 4, 8 messages, a smarthost that never
        answers the final dot: four sessions at once, each in DATA, when
        inlet-relay is killed (-9).  Nothing was acknowledged, so the
        restarted agent sends each message once, and loses none."""
        ctx, ca = fake_tls(os.path.join(self.d.dir, "fakepar"))
        fake = ParallelFake(tls=ctx, hang_after_data=True)
        fake.start()
        subjects = ["kill-%d" % i for i in range(8)]
        self.submit_many("bob@remote.example", subjects)
        try:
            self.four_in_data(fake, ca)
            self.assertEqual(fake.max_open, 4)
            self.stop_relay(signal.SIGKILL)
        finally:
            fake.close()
        self.assertEqual(fake.commands.count(b"DATA"), 4)
        self.assertEqual(len(self.queue_names()), 8)
        self.use_smarthost()
        self.start_relay()
        wait_for(lambda: self.queue_names() == [], what="an empty queue")
        for subject in subjects:
            wait_for(lambda: delivered(self.smarthost, "bob@remote.example",
                                       subject), what=subject)
        self.stop_relay()
        for subject in subjects:
            self.assertEqual(len(delivered(
                self.smarthost, "bob@remote.example", subject)), 1, subject)

    def test_session_cap_lowers_the_count(self):
        """A smarthost that takes two sessions and greets more with 421:
        of four connections two are refused once, the round goes on with
        two (no new attempts), and every message is sent."""
        ctx, ca = fake_tls(os.path.join(self.d.dir, "fakecap"))
        release = threading.Event()
        fake = ParallelFake(tls=ctx, release=release, cap=2)
        fake.start()
        self.submit_many("bob@remote.example",
                         ["cap-%d" % i for i in range(12)])
        try:
            self.set_conf(relay_host=f"smtp://127.0.0.1:{fake.port}",
                          relay_auth_file=None, relay_ca_file=ca,
                          relay_connections="4")
            self.start_relay()
            self.wait_relay_log(r"event=connection .*421 4\.7\.0", count=2)
            release.set()
            wait_for(lambda: self.queue_names() == [], what="an empty queue")
            self.wait_relay_log(r"status=sent", count=12)
            self.stop_relay()
        finally:
            fake.close()
        self.assertEqual(fake.sessions, 4)
        self.assertEqual(len(re.findall(r"event=connection",
                                        self.relay_text())), 2)
        self.assertEqual(fake.commands.count(b"DATA"), 12)

    def test_sigterm_finishes_every_connection(self):
        """SIGTERM while four connections each wait for their final
        reply: all four transactions finish (sent), each connection
        QUITs, nothing more is started, and the agent exits 0."""
        ctx, ca = fake_tls(os.path.join(self.d.dir, "faketerm4"))
        release = threading.Event()
        fake = ParallelFake(tls=ctx, release=release)
        fake.start()
        self.submit_many("bob@remote.example",
                         ["term-%d" % i for i in range(8)])
        try:
            self.four_in_data(fake, ca)
            self.relay.send_signal(signal.SIGTERM)
            self.wait_relay_log(r"event=stop signal=TERM")
            release.set()
            self.assertEqual(self.stop_relay(), 0)
            wait_for(lambda: fake.commands.count(b"QUIT") == 4,
                     what="four QUITs")
        finally:
            fake.close()
        self.assertEqual(fake.commands.count(b"DATA"), 4)
        self.assertEqual(len(re.findall(r"status=sent", self.relay_text())),
                         4)
        self.assertEqual(len(self.queue_names()), 4)

    def test_big_message_streamed(self):
        """A 9 MiB message (the smarthost takes 10 MB at most) with
        dot-lines everywhere (chunk boundaries included) arrives intact,
        and inlet-relay never holds it whole: its peak resident size
        grows by well under the message's size (holding it, and its
        wire form, grew it by three times that)."""
        line = 0
        parts = []
        size = 0
        while size < 9 * 1024 * 1024:
            # lengths vary so dots and CRLFs fall on every offset
            t = "." * (1 + line % 3) + "line %d " % line + \
                "y" * (line * 7919 % 97) + "\r\n"
            parts.append(t)
            size += len(t)
            line += 1
        body = "".join(parts)

        def hwm():
            with open("/proc/%d/status" % self.relay.pid) as f:
                return 1024 * int(re.search(r"VmHWM:\s+(\d+) kB",
                                            f.read()).group(1))
        # a small message first: the connection and TLS are paid for
        self.start_relay()
        self.submit(["bob@remote.example"], subject="small")
        wait_for(lambda: delivered(self.smarthost, "bob@remote.example",
                                   "small"), what="the small message")
        wait_for(lambda: self.queue_names() == [], what="an empty queue")
        before = hwm()
        self.submit_many("bob@remote.example", ["big"], body=body)
        got = wait_for(lambda: delivered(self.smarthost, "bob@remote.example",
                                         "big"), what="the big message")
        wait_for(lambda: self.queue_names() == [], what="an empty queue")
        after = hwm()
        self.stop_relay()
        with open(got[0], "rb") as f:
            data = f.read().replace(b"\r\n", b"\n")
        self.assertEqual(data.split(b"\n\n", 1)[1],
                         body.replace("\r\n", "\n").encode())
        self.assertLess(after - before, 3 * 1024 * 1024,
                        "inlet-relay's peak RSS %d kB, then %d kB" %
                        (before // 1024, after // 1024))

    def test_binarymime_streamed_with_bdat(self):
        """A BINARYMIME message of 600 KiB (8-bit bytes, dot-lines) goes
        out as one BDAT LAST whose count is the octets that follow, with
        no dot stuffing and no end-of-data dot, read from the file in
        chunks."""
        ctx, ca = fake_tls(os.path.join(self.d.dir, "fakebdat"))
        fake = FakeServer(tls=ctx, chunking=True)
        fake.start()
        lines = [b".%d \xe9\xff\x80 " % i + b"z" * (i % 90) + b"\r\n"
                 for i in range(12000)]
        body = b"".join(lines)
        msg = b"Subject: binary\r\n\r\n" + body
        try:
            self.set_conf(relay_host=f"smtp://127.0.0.1:{fake.port}",
                          relay_auth_file=None, relay_ca_file=ca)
            self.start_relay()
            with self.alice_session() as s:
                s.mail("alice@example.test", ["BODY=BINARYMIME"])
                s.rcpt("bob@remote.example")
                s.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
                self.assertEqual(s.getreply()[0], 250)
            self.wait_relay_log(r"to=\"<bob@remote\.example>\".*"
                                r"status=sent")
            wait_for(lambda: self.queue_names() == [], what="empty queue")
        finally:
            fake.close()
        self.assertEqual(len(fake.chunks), 1)
        self.assertTrue(fake.chunks[0].endswith(msg), fake.chunks[0][-200:])
        self.assertIn(b"MAIL FROM:<alice@example.test> BODY=BINARYMIME",
                      fake.commands)

    # ---- faults --------------------------------------------------------

    def test_smarthost_down_at_start_then_flush(self):
        self.set_conf(relay_host=f"smtp://127.0.0.1:{free_port()}")
        self.start_relay()
        self.submit(["bob@remote.example"], subject="down")
        self.wait_relay_log(r"event=connection .*Connection refused")
        self.wait_relay_log(r"status=deferred dsn=4\.4\.2")
        self.assertEqual(len(self.queue_names()), 1)
        # the smarthost is back (here: the right one is configured)
        self.set_conf(relay_host="smtp://localhost:%d" %
                      self.smarthost.ports["submission"],
                      relay_retry_min="1h", relay_retry_max="1h")
        self.relay.send_signal(signal.SIGHUP)
        self.wait_relay_log(r"event=reload status=ok")
        r = self.relay_cmd("-f")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: self.queue_names() == [], what="the flush")
        self.wait_relay_log(r"to=\"<bob@remote\.example>\".*status=sent")

    def test_wrong_certificate_name_defers(self):
        other = smarthost.start(tempfile.mkdtemp(prefix="inlet-relay-",
                                                 dir=self.work),
                                cert_host="other.example")
        try:
            self.set_conf(relay_host="smtp://localhost:%d" %
                          other.ports["submission"],
                          relay_ca_file=other.ca_path)
            self.start_relay()
            self.submit(["bob@remote.example"], subject="wrongname")
            self.wait_relay_log(r"event=connection .*certificate: "
                                r"[Hh]ostname mismatch")
            self.wait_relay_log(r"status=deferred")
            self.assertEqual(other.messages(), [])
            self.assertNotRegex(other.log_text(), r"(?i)sasl_method|from=<")
        finally:
            other.stop()
        self.assertEqual(len(self.queue_names()), 1)

    def test_no_starttls_offered_sends_nothing_in_clear(self):
        self.set_conf(relay_host="smtp://localhost:%d" %
                      self.smarthost.ports["plain"])
        self.start_relay()
        self.submit(["bob@remote.example"], subject="clear")
        self.wait_relay_log(r"STARTTLS is required but not offered")
        self.wait_relay_log(r"status=deferred")
        fake = FakeServer(tls=None)
        fake.start()
        try:
            self.stop_relay()
            mark = len(self.relay_text())
            self.set_conf(relay_host=f"smtp://127.0.0.1:{fake.port}")
            self.start_relay()
            self.wait_relay_log(r"STARTTLS is required", since=mark)
            verbs = [c.split(b" ")[0].upper() for c in fake.commands]
            self.assertIn(b"EHLO", verbs)
            self.assertNotIn(b"MAIL", verbs)
            self.assertNotIn(b"AUTH", verbs)
        finally:
            fake.close()

    def test_535_at_auth_defers(self):
        self.write_auth("wrong")
        self.start_relay()
        self.submit(["bob@remote.example"], subject="badauth")
        self.wait_relay_log(r"event=connection .*535 5\.7\.8")
        self.wait_relay_log(r"status=deferred dsn=4\.7\.8")
        self.assertEqual(len(self.queue_names()), 1)
        self.assertEqual(self.alice_dsns(), [])

    @staticmethod
    def can_write(path):
        """Whether a small file can be written and fsynced at path (it
        is removed again)."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        except OSError:
            return False
        try:
            os.write(fd, b"x" * 200)
            os.fsync(fd)
            return True
        except OSError:
            return False
        finally:
            os.close(fd)
            os.unlink(path)

    def test_disk_full_while_writing_state_sends_once(self):
        """The state cannot be written (state/ is a full tmpfs): what was
        sent is not sent again while the agent runs, and the message
        leaves once there is room.  Needs mount(2) (root); else skipped."""
        state = os.path.join(self.queue, "state")
        os.makedirs(state)
        if run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs",
                state]).returncode != 0:
            self.skipTest("cannot mount a tmpfs here")
        try:
            # dot files: the agent's clean-up of state/ leaves them be
            filler = os.path.join(state, ".filler")
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                while os.write(fd, b"x" * 4096) > 0:
                    pass
            except OSError:
                pass
            finally:
                os.close(fd)
            if self.can_write(os.path.join(state, ".probe")):
                self.skipTest("this tmpfs does not fill up")
            self.start_relay()
            self.submit(["bob@remote.example"], subject="diskfull")
            wait_for(lambda: delivered(self.smarthost, "bob@remote.example",
                                       "diskfull"), what="the delivery")
            self.wait_relay_log(r"event=state .*error=\"No space left")
            # retries come every 1-2 s here: more tries, no second copy
            self.wait_relay_log(r"event=state .*error=", count=3)
            self.assertEqual(len(delivered(
                self.smarthost, "bob@remote.example", "diskfull")), 1)
            self.assertEqual(len(self.queue_names()), 1)
            os.unlink(filler)
            self.relay_cmd("-f")
            wait_for(lambda: self.queue_names() == [], what="empty queue")
            self.assertEqual(len(delivered(
                self.smarthost, "bob@remote.example", "diskfull")), 1)
            self.stop_relay()
        finally:
            self.stop_relay()
            run(["umount", state])

    def test_421_greeting_and_552_after_data(self):
        fake = FakeServer(greeting=b"421 4.3.2 not now")
        fake.start()
        try:
            self.set_conf(relay_host=f"smtp://127.0.0.1:{fake.port}")
            self.start_relay()
            self.submit(["bob@remote.example"], subject="busy")
            self.wait_relay_log(r"status=deferred dsn=4\.3\.2 "
                                r"reply=\"421 4\.3\.2 not now\"")
        finally:
            fake.close()
        self.stop_relay()
        ctx, ca = fake_tls(os.path.join(self.d.dir, "fake"))
        fake = FakeServer(tls=ctx, final=b"552 5.3.4 too big for me")
        fake.start()
        try:
            self.set_conf(relay_host=f"smtp://127.0.0.1:{fake.port}",
                          relay_auth_file=None, relay_ca_file=ca)
            self.start_relay()
            self.relay_cmd("-f")
            self.wait_relay_log(r"to=\"<bob@remote\.example>\".*"
                                r"status=bounced dsn=5\.3\.4")
            wait_for(self.alice_dsns, what="the DSN for the 552")
            wait_for(lambda: self.queue_names() == [], what="empty queue")
        finally:
            fake.close()

    def test_no_silent_downgrade(self):
        """An 8-bit message (BODY=8BITMIME) and a smarthost without
        8BITMIME: bounced with 5.6.3, nothing sent."""
        ctx, ca = fake_tls(os.path.join(self.d.dir, "fake8"))
        fake = FakeServer(tls=ctx, eightbit=False)
        fake.start()
        try:
            self.set_conf(relay_host=f"smtp://127.0.0.1:{fake.port}",
                          relay_auth_file=None, relay_ca_file=ca)
            self.start_relay()
            c = ssl.create_default_context(cafile=self.inlet_cert[0])
            with smtplib.SMTP("127.0.0.1", self.d.port("submission"),
                              timeout=WAIT) as s:
                s.starttls(context=c)
                s.login("alice@example.test", "alicepw")
                s.sendmail("alice@example.test", ["bob@remote.example"],
                           "Subject: caf\u00e9\r\n\r\nd\u00e9j\u00e0 vu\r\n"
                           .encode(), mail_options=["BODY=8BITMIME"])
            self.wait_relay_log(r"to=\"<bob@remote\.example>\".*"
                                r"status=bounced dsn=5\.6\.3 reply=\"5\.6\.3 "
                                r"the message has 8-bit data")
            dsns = wait_for(self.alice_dsns, what="the DSN")
            with open(dsns[0], "rb") as f:
                m = email.message_from_binary_file(
                    f, policy=email.policy.default)
            status = list(m.iter_parts())[1].get_payload()[1]
            self.assertEqual(status["Status"], "5.6.3")
            verbs = [c.split(b" ")[0].upper() for c in fake.commands]
            self.assertIn(b"EHLO", verbs)
            self.assertNotIn(b"MAIL", verbs)
        finally:
            fake.close()

    def test_sigterm_finishes_the_transaction(self):
        """SIGTERM while the smarthost holds the final reply: the agent
        waits for it, records the recipient as sent, QUITs and exits 0."""
        ctx, ca = fake_tls(os.path.join(self.d.dir, "faketerm"))
        release = threading.Event()
        fake = FakeServer(tls=ctx, release=release)
        fake.start()
        try:
            self.set_conf(relay_host=f"smtp://127.0.0.1:{fake.port}",
                          relay_auth_file=None, relay_ca_file=ca)
            self.start_relay()
            self.submit(["bob@remote.example"], subject="term")
            self.assertTrue(fake.got_data.wait(SLOW), "no DATA at the fake")
            self.relay.send_signal(signal.SIGTERM)
            self.wait_relay_log(r"event=stop signal=TERM")
            release.set()
            self.assertEqual(self.stop_relay(), 0)
            self.assertRegex(self.relay_text(),
                             r"event=stop[^\n]*\n(.*\n)*.*"
                             r"to=\"<bob@remote\.example>\".*status=sent")
            self.assertEqual(self.queue_names(), [])
            wait_for(lambda: b"QUIT" in fake.commands, what="QUIT")
        finally:
            fake.close()

    def test_kill_9_during_data_loses_nothing(self):
        """kill -9 while the smarthost holds the final reply: nothing is
        lost, and the restarted agent's delivery is the only copy at the
        smarthost, since this one never said 250.  (The duplicate the
        design allows, a 250 that arrives just before the kill, leaves
        the state unsaved and so sends the message once more.)"""
        ctx, ca = fake_tls(os.path.join(self.d.dir, "fake9"))
        fake = FakeServer(tls=ctx, hang_after_data=True)
        fake.start()
        try:
            self.set_conf(relay_host=f"smtp://127.0.0.1:{fake.port}",
                          relay_auth_file=None, relay_ca_file=ca)
            self.start_relay()
            self.submit(["bob@remote.example", "carol@remote.example"],
                        subject="killed")
            self.assertTrue(fake.got_data.wait(SLOW), "no DATA at the fake")
            self.stop_relay(signal.SIGKILL)
        finally:
            fake.close()
        self.assertEqual(len(self.queue_names()), 1)
        self.use_smarthost()
        self.start_relay()
        for u in ("bob@remote.example", "carol@remote.example"):
            wait_for(lambda: delivered(self.smarthost, u, "killed"),
                     what=u + "'s copy")
        wait_for(lambda: self.queue_names() == [], what="an empty queue")
        self.stop_relay()
        for u in ("bob@remote.example", "carol@remote.example"):
            self.assertEqual(len(delivered(self.smarthost, u, "killed")), 1)

    # ---- the command line ----------------------------------------------

    def test_one_agent_per_queue(self):
        r = self.relay_cmd("-f")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"not running", r.stderr)
        self.start_relay()
        self.wait_relay_log(r"event=start")
        r = run([RELAY, "-d", "-c", self.d.conf])
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"another inlet-relay runs", r.stderr)
        r = self.relay_cmd("-f")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_relay_log(r"event=flush")
        self.assertEqual(self.stop_relay(), 0)

    def test_delete_list_and_check(self):
        self.set_conf(relay_host=f"smtp://127.0.0.1:{free_port()}")
        self.submit(["bob@remote.example"], subject="todelete")
        names = self.queue_names()
        self.assertEqual(len(names), 1)
        r = self.relay_cmd("-l")
        self.assertIn(b"<bob@remote.example> pending", r.stdout)
        self.assertIn(b"1 message in the queue", r.stdout)
        r = self.relay_cmd("-D", names[0])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.queue_names(), [])
        self.assertFalse(os.path.exists(os.path.join(self.queue, "env",
                                                     names[0])))
        r = self.relay_cmd("-D", names[0])
        self.assertEqual(r.returncode, 1)
        # a state left behind (a -D while it was being sent) is cleaned
        os.makedirs(os.path.join(self.queue, "state"), exist_ok=True)
        orphan = os.path.join(self.queue, "state", names[0])
        with open(orphan, "w") as f:
            f.write("<bob@remote.example> sent 0 1 no 250 ok\n")
        self.start_relay()
        wait_for(lambda: not os.path.exists(orphan), what="the cleanup")
        self.wait_relay_log(r"event=orphan file=\"" + re.escape(orphan) +
                            r"\" age=")
        self.stop_relay()
        self.assertEqual(self.relay_cmd("-n").returncode, 0)
        os.chmod(self.authfile, 0o644)
        r = self.relay_cmd("-n")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"it holds passwords", r.stderr)
        os.chmod(self.authfile, 0o600)
        self.set_conf(relay_host="http://x.test")
        r = self.relay_cmd("-n")
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr.decode(), r"inlet\.conf:\d+: relay_host")


def tool(name):
    return shutil.which(name) or shutil.which(os.path.join("/usr/sbin", name))


@unittest.skipUnless(os.geteuid() == 0 and tool("useradd") and
                     tool("groupadd"), "needs root and useradd")
class TwoUsersTest(RelayTest):
    """inletd as one user and inlet-relay as another, sharing a group
    (the units' inlet and inlet-relay): two system users and their group
    made with useradd for this test and removed after."""

    def setUp(self):
        tag = "inl%d" % os.getpid()
        self.group, self.duser, self.ruser = tag, tag + "d", tag + "r"
        run([tool("groupadd"), "--system", self.group], check=True)
        self.addCleanup(run, [tool("groupdel"), self.group])
        for u in (self.duser, self.ruser):
            run([tool("useradd"), "--system", "--gid", self.group,
                 "--no-create-home", "--home-dir", "/nonexistent",
                 "--shell", "/usr/sbin/nologin", u], check=True)
            self.addCleanup(run, [tool("userdel"), u])
        self.gid = grp.getgrnam(self.group).gr_gid
        self.duid = pwd.getpwnam(self.duser).pw_uid
        self.ruid = pwd.getpwnam(self.ruser).pw_uid
        super().setUp()
        self.d.stop()
        shutil.rmtree(self.queue, ignore_errors=True)
        # the daemon's dir is inletd's user's (it makes mail/ and the
        # queue there); what it reads after dropping privileges is
        # group-readable, the relay's logins stay root's
        os.chown(self.d.dir, self.duid, self.gid)
        os.chmod(self.d.dir, 0o770)
        sasldb = self.d.path("sasldb")
        shutil.copyfile(self.sasldb, sasldb)
        for f in [sasldb] + [p for pair in self.d.pairs for p in pair]:
            os.chown(f, 0, self.gid)
            os.chmod(f, 0o640)
        self.set_conf(sasl_db=sasldb, user=self.duser,
                      relay_user=self.ruser, group_access="yes")
        self.d.start(umask=0o077)

    def uid_of(self, pid):
        with open(f"/proc/{pid}/status") as f:
            return int(re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1))

    def test_two_users_share_the_queue(self):
        self.submit(["bob@remote.example", NOUSER], subject="twousers")
        self.start_relay(umask=0o077)
        wait_for(lambda: delivered(self.smarthost, "bob@remote.example",
                                   "twousers"), what="bob's mail")
        dsn = wait_for(self.alice_dsns, what="the DSN")[0]
        wait_for(lambda: self.queue_names() == [], what="an empty queue")
        self.assertEqual(self.uid_of(self.relay.pid), self.ruid)
        self.assertEqual(self.uid_of(self.d.proc.pid), self.duid)
        st = os.stat(dsn)
        self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o777),
                         (self.ruid, self.gid, 0o640))
        # inletd delivers into the Maildir inlet-relay made, and the
        # relay's state/ was the relay user's
        self.submit(["alice@example.test"], subject="local")
        self.assertEqual(len(wait_for(
            lambda: len(self.alice_dsns()) == 2 and self.alice_dsns(),
            what="alice's mail")), 2)
        st = os.stat(os.path.join(self.queue, "state"))
        self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o7777),
                         (self.ruid, self.gid, 0o770))
        self.assertNotIn("Permission denied", self.relay_text())

    def test_private_queue_names_the_key(self):
        """A queue inletd keeps to itself (group_access no): inlet-relay
        as the other user stops with one line naming group_access."""
        self.d.stop()
        shutil.rmtree(self.queue, ignore_errors=True)
        self.set_conf(group_access="no")
        self.d.start()
        self.submit(["bob@remote.example"], subject="private")
        r = self.relay_cmd("-l")
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 1, err)
        self.assertRegex(err, r"event=queue file=\"[^\"]*/queue\" "
                         r"error=\"Permission denied: inlet-relay runs as "
                         r"user " + self.ruser + r",.* group_access is yes")
        self.start_relay()
        self.assertEqual(self.relay.wait(SLOW), 1)
        self.assertIn("group_access", self.relay_text())


for _name in [n for n in dir(RelayTest) if n.startswith("test_")]:
    setattr(TwoUsersTest, _name, None)  # RelayTest's own tests run once

if __name__ == "__main__":
    if not os.access(RELAY, os.X_OK):
        print("missing: " + RELAY)
        sys.exit(1 if harness.CI else 77)
    missing = smarthost.missing()
    if missing:
        print("missing: " + ", ".join(missing))
        sys.exit(1 if harness.CI else 77)
    sys.exit(harness.main("test_relay", ("openssl", "saslpasswd2")))
