#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Operations tests against the real inletd: sd_notify, SIGHUP reloads,
shutdown_timeout, socket activation and the listen queue.

Each test starts server/inletd on 127.0.0.1 with a temporary config,
Maildir and NOTIFY_SOCKET (an AF_UNIX datagram socket the test binds, as
systemd would), and stops only the PIDs it started.  Every wait is
bounded.  Socket activation runs through systemd-socket-activate from the
systemd package; ports for it are found by binding port 0 first (the
small race is accepted).  A missing tool fails under CI=true; elsewhere
the script is skipped (exit 77).  A build without libsystemd (no
HAVE_SYSTEMD in config.h) has no sd_notify and no socket activation:
those tests are skipped, except under CI=true, where they fail.
"""
import glob
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402
from inlet_harness import CI, INLETD, WAIT  # noqa: E402

TOOLS = ("systemd-socket-activate", "openssl")
CERT = {}  # "cert", "key": a throwaway self-signed pair (setUpModule)


def have_systemd():
    """Whether this build has libsystemd (sd_notify, LISTEN_FDS)."""
    path = os.path.join(os.environ.get("INLET_BUILDDIR", os.path.join(
        os.path.dirname(INLETD), "..")), "config.h")
    try:
        with open(path) as f:
            return "#define HAVE_SYSTEMD 1" in f.read()
    except OSError:
        return True  # unknown: let the tests say


HAVE_SYSTEMD = have_systemd()
needs_systemd = unittest.skipUnless(HAVE_SYSTEMD or CI,
                                    "built without libsystemd")


def free_port():
    """A port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setUpModule():
    d = tempfile.mkdtemp(prefix="inlet-ops-tls-")
    cert, key = harness.make_cert(d, "ops", ec=True)
    CERT.update(dir=d, cert=cert, key=key)


def tearDownModule():
    shutil.rmtree(CERT["dir"], ignore_errors=True)


class Daemon(harness.Daemon):
    """One inletd (maybe under systemd-socket-activate) in its own temp
    dir, with its own notify socket; stopped by PID."""

    def __init__(self, conf="", args=None, activate=None):
        super().__init__(conf, prefix="inlet-ops-", start=False)
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify_path = self.path("notify")
        self.notify.bind(self.notify_path)
        wrap = ()
        if activate is not None:
            # systemd-socket-activate passes only the LISTEN_* variables
            # and the descriptors it made; it starts inletd on the first
            # connection.
            wrap = (["systemd-socket-activate",
                     "-E", "NOTIFY_SOCKET=" + self.notify_path] + activate)
        self.start(args, env={"NOTIFY_SOCKET": self.notify_path}, wrap=wrap,
                   report=activate is None)

    # here the log is waited for by regex: the count-th match
    wait_log = harness.Daemon.wait_log_re

    def wait_notify(self, word):
        """Read notify datagrams until one holds word; returns it (None
        without libsystemd, where nothing is sent)."""
        if not HAVE_SYSTEMD and not CI:
            return None
        deadline = time.monotonic() + WAIT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {word} on NOTIFY_SOCKET")
            self.notify.settimeout(left)
            try:
                msg = self.notify.recv(4096).decode()
            except socket.timeout:
                continue
            if word in msg.split("\n"):
                return msg

    def stop(self):
        rc = super().stop()
        self.notify.close()
        return rc


class Conversation(harness.Smtp):
    """A raw SMTP client: one command, one (multi-line) reply's lines."""

    def __init__(self, port):
        super().__init__(harness.dial(port))
        self.greeting = self.reply()

    def reply(self):
        return super().reply()[1]

    def size(self):
        """The SIZE an EHLO announces now."""
        for line in self.cmd("EHLO client.test"):
            if line[4:9] == b"SIZE ":
                return int(line[9:])
        return None


def ehlo_size(port):
    c = Conversation(port)
    try:
        return c.size()
    finally:
        c.close()


def send_one(port, rcpt="x@example.test"):
    with smtplib.SMTP("127.0.0.1", port, timeout=WAIT) as s:
        s.ehlo("client.test")
        s.sendmail("from@example.net", [rcpt],
                   b"Subject: ops\r\n\r\nbody\r\n")


class OpsCase(unittest.TestCase):
    conf = "message_size_limit 1M\n"
    args = None

    def setUp(self):
        self.d = Daemon(self.conf, args=self.args)

    def tearDown(self):
        self.assertEqual(self.d.stop(), 0, self.d.log_text())
        self.d.cleanup()


@needs_systemd
class Notify(OpsCase):
    def test_ready(self):
        """READY=1 and a STATUS= with the counts once listening."""
        msg = self.d.wait_notify("READY=1")
        self.assertRegex(msg, r"STATUS=0 sessions, 0 messages accepted")
        send_one(self.d.port("mx"))
        self.d.signal(signal.SIGHUP)
        self.d.wait_notify("RELOADING=1")
        msg = self.d.wait_notify("READY=1")
        self.assertIn("1 messages accepted", msg)

    def test_stopping(self):
        self.d.wait_notify("READY=1")
        self.d.signal(signal.SIGTERM)
        msg = self.d.wait_notify("STOPPING=1")
        self.assertIn("STATUS=stopping:", msg)
        self.assertEqual(self.d.proc.wait(WAIT), 0)


class Backlog(OpsCase):
    def test_listen_queue_holds_a_burst(self):
        """While inletd accepts nothing (SIGSTOP), 600 connections still
        complete their handshake: its listen queue is 4096 (capped by
        net.core.somaxconn), not 511, so a burst of clients is not left
        to SYN retransmits."""
        with open("/proc/sys/net/core/somaxconn") as f:
            somaxconn = int(f.read())
        if somaxconn < 600:
            self.skipTest("net.core.somaxconn is %d" % somaxconn)
        self.d.wait_notify("READY=1")
        port = self.d.port("mx")
        socks = []
        self.d.signal(signal.SIGSTOP)
        try:
            for _ in range(600):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", port))
                socks.append(s)
            pending = set(socks)
            end = time.monotonic() + WAIT
            while pending and time.monotonic() < end:
                for s in list(pending):
                    if s.getsockopt(socket.SOL_SOCKET,
                                    socket.SO_ERROR) == 0:
                        try:
                            s.getpeername()
                        except OSError:
                            continue    # still in SYN_SENT
                        pending.discard(s)
                if pending:
                    time.sleep(0.05)
                if len(pending) < 600 - 520:
                    break       # past 511 + 1: the queue is longer
            done = 600 - len(pending)
        finally:
            self.d.signal(signal.SIGCONT)
            for s in socks:
                s.close()
        self.assertGreater(done, 520, "connections completed while "
                           "inletd was stopped")


class Reload(OpsCase):
    def reload(self, n=1):
        self.d.signal(signal.SIGHUP)
        self.d.wait_notify("RELOADING=1")
        self.d.wait_notify("READY=1")
        return self.d.wait_log(r"event=reload .*status=(ok|failed)", n)

    def test_size_changes(self):
        """A new message_size_limit reaches new sessions only."""
        self.d.wait_notify("READY=1")
        old = Conversation(self.d.port("mx"))
        try:
            self.assertEqual(old.size(), 1048576)
            self.d.write_conf("message_size_limit 2M\n")
            self.assertEqual(self.reload().group(1), "ok")
            self.assertEqual(ehlo_size(self.d.port("mx")), 2097152)
            # the session from before the reload keeps its configuration
            self.assertEqual(old.size(), 1048576)
            self.assertEqual(old.cmd("QUIT")[0][:3], b"221")
        finally:
            old.close()
        send_one(self.d.port("mx"))
        self.assertEqual(len(self.d.new_files()), 1)

    def test_broken_config_kept(self):
        """A bad file is logged with file:line; the old config stays."""
        self.d.wait_notify("READY=1")
        self.d.write_conf("message_size_limit 2M\nmessage_size_limit 25MB\n")
        self.assertEqual(self.reload().group(1), "failed")
        line = self.d.wait_log(r".*event=reload.*status=failed.*").group(0)
        self.assertIn(self.d.conf + ":6: ", line)
        self.assertIn("keeping the running configuration", line)
        self.assertEqual(ehlo_size(self.d.port("mx")), 1048576)
        # a good file afterwards still works
        self.d.write_conf("message_size_limit 3M\n")
        self.assertEqual(self.reload(2).group(1), "ok")
        self.assertEqual(ehlo_size(self.d.port("mx")), 3 * 1048576)

    def test_missing_file_kept(self):
        self.d.wait_notify("READY=1")
        os.unlink(self.d.conf)
        self.assertEqual(self.reload().group(1), "failed")
        self.assertIn("No such file", self.d.wait_log(
            r".*status=failed.*").group(0))
        self.assertEqual(ehlo_size(self.d.port("mx")), 1048576)

    def test_listener_added_and_removed(self):
        self.d.wait_notify("READY=1")
        self.d.write_conf("listen 127.0.0.1:0 mx\n")
        self.assertEqual(self.reload().group(1), "ok")
        self.d.wait_log(r"added=1 removed=0")
        ports = [int(p) for p in re.findall(
            r'event=listen address="127\.0\.0\.1:(\d+) mx"',
            self.d.log_text())]
        self.assertEqual(len(ports), 2)
        self.assertEqual(ports[0], self.d.port("mx"))  # kept, not re-bound
        send_one(ports[1])
        self.assertEqual(len(self.d.new_files()), 1)
        self.d.write_conf(self.conf)
        self.assertEqual(self.reload(2).group(1), "ok")
        self.d.wait_log(r"added=0 removed=1")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", ports[1]), timeout=WAIT)
        self.assertEqual(ehlo_size(self.d.port("mx")), 1048576)

    def test_bind_failure_changes_nothing(self):
        """A listener that cannot be bound fails the whole reload."""
        self.d.wait_notify("READY=1")
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            self.d.write_conf(f"message_size_limit 2M\n"
                              f"listen 127.0.0.1:{port} mx\n")
            self.assertEqual(self.reload().group(1), "failed")
        self.assertIn(f"listen 127.0.0.1:{port}", self.d.wait_log(
            r".*status=failed.*").group(0))
        self.assertEqual(ehlo_size(self.d.port("mx")), 1048576)


def tls_greeting(port):
    """The greeting read inside implicit TLS (role submissions)."""
    ctx = ssl.create_default_context(cafile=CERT["cert"])
    ctx.check_hostname = False
    with harness.dial(port) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            return s.recv(4096)


# "sink yes": the submission roles need no AUTH backend then.
TLS_CONF = f"sink yes\ntls_cert {{cert}}\ntls_key {{key}}\n"


class Role(OpsCase):
    """A listen line whose role changes keeps its socket."""

    def setUp(self):
        self.fixed = free_port()
        self.conf = (f"listen 127.0.0.1:{self.fixed} mx\n" +
                     TLS_CONF.format(**CERT))
        super().setUp()

    def test_role_change(self):
        self.d.wait_notify("READY=1")
        c = Conversation(self.fixed)
        self.assertEqual(c.greeting[0][:4], b"220 ")
        c.close()
        self.d.write_conf(self.conf.replace(" mx\n", " submissions\n"))
        self.d.signal(signal.SIGHUP)
        self.d.wait_log(r"status=ok .*added=0 removed=0")
        self.d.wait_log(rf'event=listen address="127\.0\.0\.1:{self.fixed} '
                        r'submissions"')
        self.assertEqual(tls_greeting(self.fixed)[:4], b"220 ")


class Shutdown(OpsCase):
    conf = "shutdown_timeout 1s\n"

    def test_timeout(self):
        """A body still arriving when shutdown_timeout runs out."""
        self.d.wait_notify("READY=1")
        c = Conversation(self.d.port("mx"))
        try:
            c.cmd("EHLO client.test")
            c.cmd("MAIL FROM:<a@example.net>")
            c.cmd("RCPT TO:<x@example.test>")
            self.assertEqual(c.cmd("DATA")[0][:3], b"354")
            c.sock.sendall(b"Subject: slow\r\n\r\npart of a body\r\n")
            self.d.signal(signal.SIGTERM)
            self.assertEqual(self.d.proc.wait(WAIT), 0)
        finally:
            c.close()
        self.d.wait_log(r"event=stop signal=15 sessions=1 timeout=1s")
        self.d.wait_log(r"event=stop reason=timeout sessions=1")
        self.assertEqual(self.d.new_files(), [])
        # the half-received message's tmp/ file went with the daemon
        self.assertEqual(os.listdir(os.path.join(self.d.maildir, "tmp")), [])


class Sink(OpsCase):
    """In --sink mode a reload applies the sink configuration again."""

    def setUp(self):
        self.sinkdir = tempfile.mkdtemp(prefix="inlet-ops-sink-")
        self.args = ["--sink", os.path.join(self.sinkdir, "Maildir"),
                     "-o", "listen=127.0.0.1:0", "-o",
                     "message_size_limit=1M"]
        super().setUp()

    def tearDown(self):
        super().tearDown()
        shutil.rmtree(self.sinkdir, ignore_errors=True)

    def test_sink_reload(self):
        self.d.wait_notify("READY=1")
        self.d.signal(signal.SIGHUP)
        self.d.wait_notify("RELOADING=1")
        self.d.wait_notify("READY=1")
        self.d.wait_log(r"event=reload tls=ok certificates=1 status=ok "
                        r"listeners=1 added=0 removed=0")
        self.assertEqual(ehlo_size(self.d.port("mx")), 1048576)
        send_one(self.d.port("mx"), "anyone@anywhere.invalid")
        self.assertEqual(len(glob.glob(os.path.join(
            self.sinkdir, "Maildir", "new", "*"))), 1)


@needs_systemd
class Activation(unittest.TestCase):
    """Sockets passed by systemd (LISTEN_FDS, LISTEN_FDNAMES) replace the
    listen lines; the descriptor's name is its role."""
    expect_rc = 0

    def start(self, names, conf=""):
        self.ports = [free_port() for _ in names]
        activate = []
        for p in self.ports:
            activate += ["-l", f"127.0.0.1:{p}"]
        activate.append("--fdname=" + ":".join(names))
        self.d = Daemon(conf, activate=activate)
        for p in self.ports:
            self.d.wait_log(rf"Listening on 127\.0\.0\.1:{p} as")

    def tearDown(self):
        self.assertEqual(self.d.stop(), self.expect_rc, self.d.log_text())
        self.d.cleanup()

    def test_mx(self):
        self.start(["mx"])
        c = Conversation(self.ports[0])  # this starts inletd
        try:
            self.assertEqual(c.greeting[0][:4], b"220 ")
        finally:
            c.close()
        self.d.wait_notify("READY=1")
        self.d.wait_log(rf'event=listen address="127\.0\.0\.1:'
                        rf'{self.ports[0]} mx" inherited=yes')
        self.assertNotRegex(self.d.log_text(), r'127\.0\.0\.1:0 ')
        send_one(self.ports[0])
        self.assertEqual(len(self.d.new_files()), 1)
        # a reload keeps the passed sockets, whatever the listen lines say
        self.d.write_conf("message_size_limit 2M\n")
        self.d.signal(signal.SIGHUP)
        self.d.wait_log(r"status=ok listeners=1 added=0 removed=0")
        self.assertEqual(ehlo_size(self.ports[0]), 2097152)

    def test_roles_by_name(self):
        self.start(["submissions", "mx"], TLS_CONF.format(**CERT))
        self.assertEqual(tls_greeting(self.ports[0])[:4], b"220 ")
        self.d.wait_log(rf'address="127\.0\.0\.1:{self.ports[0]} '
                        r'submissions" inherited=yes')
        self.d.wait_log(rf'address="127\.0\.0\.1:{self.ports[1]} mx" '
                        r'inherited=yes')
        send_one(self.ports[1])
        self.assertEqual(len(self.d.new_files()), 1)

    def test_tls_role_needs_certificate(self):
        self.expect_rc = 2
        self.start(["submissions"], "sink yes\n")
        try:
            socket.create_connection(("127.0.0.1", self.ports[0]),
                                     timeout=WAIT).close()
        except OSError:
            pass
        self.assertEqual(self.d.proc.wait(WAIT), 2)
        self.assertIn("needs tls_cert", self.d.log_text())

    def test_tls_role_needs_auth(self):
        self.expect_rc = 2
        self.start(["submissions"],
                   "tls_cert {cert}\ntls_key {key}\n".format(**CERT))
        try:
            socket.create_connection(("127.0.0.1", self.ports[0]),
                                     timeout=WAIT).close()
        except OSError:
            pass
        self.assertEqual(self.d.proc.wait(WAIT), 2)
        self.assertIn("needs sasl_db", self.d.log_text())


if __name__ == "__main__":
    sys.exit(harness.main("test_ops", TOOLS))
