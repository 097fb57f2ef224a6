#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Integration tests of TLS in the real inletd: STARTTLS (RFC 3207) and
implicit TLS (RFC 8314).

Each test starts server/inletd on 127.0.0.1 with port-0 listeners
(mx, submission, submissions), a temporary config, Maildir and
certificates made here with openssl(1); -R reports the bound ports in
config order.  Clients: openssl s_client, Python's smtplib and ssl,
swaks, curl and raw sockets.  Deliveries are checked by the files in
new/.  Every wait is bounded; nothing asserts timing.  A missing tool
fails under CI=true; elsewhere the whole script is skipped (exit 77).
"""
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402
from inlet_harness import LISTEN_ALL, WAIT, client_ctx, read  # noqa: E402

QUIET = 2   # seconds a client waits to show that nothing arrives
RECEIVED_TLS = re.compile(
    rb"with ESMTPS id \S+\n\t\(using TLSv1\.[23] with cipher [A-Z0-9_-]+ "
    rb"\(\d+ bits\)\)")

CERTS = {}      # name -> (cert path, key path), made by setUpModule
CERT_DIR = None


def setUpModule():
    global CERT_DIR
    CERT_DIR = tempfile.mkdtemp(prefix="inlet-tls-certs-")
    CERTS["rsa"] = harness.make_cert(CERT_DIR, "rsa", "localhost")
    CERTS["ec"] = harness.make_cert(CERT_DIR, "ec", "localhost", ec=True)
    CERTS["other"] = harness.make_cert(CERT_DIR, "other", "other.test")


def tearDownModule():
    if CERT_DIR is not None:
        shutil.rmtree(CERT_DIR, ignore_errors=True)


def der(name):
    """The DER form of one of our certificates."""
    with open(CERTS[name][0]) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def Daemon(certs=("rsa",), extra_conf="", listen=LISTEN_ALL, sink=False,
           args=None, umask=-1):
    """One inletd (inlet_harness.Daemon) with the certs named from CERTS,
    copied into its temp dir (so a test may overwrite them; .pairs)."""
    # submission roles need an AUTH backend; saslauthd is not contacted
    # until someone logs in, which these tests don't
    conf = ("sink yes\n" if sink else "sasl_pwcheck saslauthd\n") + extra_conf
    return harness.Daemon(conf, args=args, listen=listen,
                          domains="example.test example.org",
                          certs=[(n,) + CERTS[n] for n in certs],
                          prefix="inlet-tls-", umask=umask)


class Smtp(harness.Smtp):
    def send_mail(self, rcpt=b"a@example.test", subject=b"tls"):
        """MAIL, RCPT, DATA and a body: the code of the final reply."""
        code, _ = self.transaction(b"s@example.net", [rcpt], b"Subject: " +
                                   subject + b"\r\n\r\nbody\r\n")
        return code


def connect(port):
    """A plain connection, greeting read."""
    return harness.connect(port, cls=Smtp)


def connect_tls(port, ctx=None, server_hostname=None):
    """An implicit-TLS connection, greeting read."""
    return harness.connect_tls(port, ctx, server_hostname, cls=Smtp)


def peer_cert(port, server_hostname=None, starttls=False):
    """The DER certificate the daemon presents on a new connection."""
    if starttls:
        s = connect(port)
        s.cmd(b"EHLO c.test")
        s.starttls(client_ctx(), server_hostname)
    else:
        s = connect_tls(port, server_hostname=server_hostname)
    try:
        return s.sock.getpeercert(binary_form=True)
    finally:
        s.cmd(b"QUIT")
        s.close()


def ehlo_keywords(lines):
    return [l[4:].split(b" ")[0].upper() for l in lines[1:]]


class TlsTestCase(unittest.TestCase):
    """A daemon per test with the RSA certificate; see daemon_args."""
    daemon_args = {}

    def setUp(self):
        self.d = Daemon(**self.daemon_args)

    def tearDown(self):
        self.assertEqual(self.d.stop(), 0, self.d.log_text())
        self.d.cleanup()

    def cert(self):
        return self.d.pairs[0][0]

    def assert_tls_delivery(self, n=1):
        files = self.d.new_files()
        self.assertEqual(len(files), n)
        for f in files:
            self.assertRegex(read(f), RECEIVED_TLS)
        return files


class StartTls(TlsTestCase):
    """STARTTLS on an mx listener (and the submission role's rules)."""

    def test_openssl_s_client_starttls(self):
        r = subprocess.run(
            ["openssl", "s_client", "-starttls", "smtp", "-connect",
             f"127.0.0.1:{self.d.port('mx')}", "-quiet", "-CAfile",
             self.cert(), "-verify_return_error", "-verify_ip",
             "127.0.0.1"],
            input=b"EHLO sclient.test\r\nMAIL FROM:<s@example.net>\r\n"
                  b"RCPT TO:<a@example.test>\r\nDATA\r\n"
                  b"Subject: via s_client\r\n\r\nhello\r\n.\r\nQUIT\r\n",
            capture_output=True, timeout=WAIT * 3)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(b"250 2.0.0 Ok: queued as", r.stdout)
        self.assertIn(b"221 2.0.0", r.stdout)
        files = self.assert_tls_delivery()
        body = read(files[0])
        self.assertIn(b"Received: from sclient.test ([127.0.0.1])", body)
        self.assertTrue(body.endswith(b"Subject: via s_client\n\nhello\n"))
        self.assertRegex(self.d.log_text(),
                         r"event=tls version=TLSv1\.[23] cipher=\S+ "
                         r"bits=\d+")

    def test_smtplib_starttls(self):
        with smtplib.SMTP("127.0.0.1", self.d.port("mx"),
                          timeout=WAIT) as s:
            s.ehlo("client.test")
            self.assertTrue(s.has_extn("starttls"))
            code, msg = s.starttls(context=client_ctx(self.cert()))
            self.assertEqual((code, msg), (220, b"2.0.0 Ready to start TLS"))
            s.ehlo("client.test")
            self.assertFalse(s.has_extn("starttls"))
            self.assertTrue(s.has_extn("pipelining"))
            refused = s.sendmail("from@example.net", ["a@example.test"],
                                 b"Subject: smtplib tls\r\n\r\nsecret\r\n")
            self.assertEqual(refused, {})
        files = self.assert_tls_delivery()
        self.assertTrue(read(files[0]).endswith(
            b"Subject: smtplib tls\n\nsecret\n"))

    def test_swaks_tls(self):
        r = subprocess.run(
            ["swaks", "--to", "x@example.test", "--from", "s@example.net",
             "--server", f"127.0.0.1:{self.d.port('mx')}", "--helo",
             "swaks.test", "--tls", "--header", "Subject: swaks starttls"],
            capture_output=True, timeout=WAIT * 3)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(b"220 2.0.0 Ready to start TLS", r.stdout)
        self.assertIn(b"TLS started", r.stdout)
        self.assertIn(b"250 2.0.0 Ok: queued as", r.stdout)
        files = self.assert_tls_delivery()
        self.assertIn(b"Subject: swaks starttls", read(files[0]))

    def test_curl_starttls(self):
        mail = os.path.join(self.d.dir, "mail.txt")
        with open(mail, "wb") as f:
            f.write(b"Subject: curl starttls\r\n\r\ncurl body\r\n")
        r = subprocess.run(
            ["curl", "--silent", "--show-error", "--max-time", str(WAIT),
             f"smtp://127.0.0.1:{self.d.port('mx')}/client.test",
             "--ssl-reqd", "--cacert", self.cert(),
             "--mail-from", "c@example.net", "--mail-rcpt",
             "y@example.test", "--upload-file", mail],
            capture_output=True, timeout=WAIT * 3)
        self.assertEqual(r.returncode, 0, r.stderr)
        files = self.assert_tls_delivery()
        self.assertTrue(read(files[0]).endswith(
            b"Subject: curl starttls\n\ncurl body\n"))

    def test_starttls_injection_discarded(self):
        """CVE-2011-0411: commands pipelined after STARTTLS in clear text
        are thrown away, never answered before or after the handshake."""
        s = connect(self.d.port("mx"))
        try:
            s.sock.sendall(b"EHLO x\r\nSTARTTLS\r\nRSET\r\n")
            code, lines = s.reply()
            self.assertEqual(code, 250)
            self.assertIn(b"STARTTLS", ehlo_keywords(lines))
            code, lines = s.reply()
            self.assertEqual(lines, [b"220 2.0.0 Ready to start TLS"])
            self.assertEqual(s.buf, b"")     # no clear-text reply to RSET
            s.sock = client_ctx(self.cert()).wrap_socket(
                s.sock, server_hostname="localhost")
            code, lines = s.cmd(b"EHLO x")
            self.assertEqual(code, 250, lines)
            self.assertTrue(lines[0].startswith(b"250-mx.test"), lines)
            s.sock.sendall(b"QUIT\r\n")
            rest = s.read_to_eof()
        finally:
            s.close()
        self.assertEqual(rest, b"221 2.0.0 Bye\r\n")
        self.assertNotIn(b"2.0.0 Ok", b"\n".join(lines) + rest)
        self.d.wait_log("event=starttls-purge bytes=6")

    def test_starttls_partial_line_injection(self):
        """A half command after STARTTLS cannot be completed inside TLS."""
        s = connect(self.d.port("mx"))
        try:
            s.sock.sendall(b"EHLO x\r\nSTARTTLS\r\n"
                           b"MAIL FROM:<inj@example.net>")
            self.assertEqual(s.reply()[0], 250)
            self.assertEqual(s.reply()[1], [b"220 2.0.0 Ready to start TLS"])
            self.assertEqual(s.buf, b"")
            s.sock = client_ctx().wrap_socket(s.sock)
            s.sock.sendall(b"\r\nEHLO x\r\nRCPT TO:<a@example.test>\r\n")
            code, lines = s.reply()         # the empty line
            self.assertEqual(code, 500, lines)
            self.assertEqual(s.reply()[0], 250)
            code, lines = s.reply()         # no MAIL was ever accepted
            self.assertEqual(code, 503, lines)
        finally:
            s.close()
        self.assertEqual(self.d.new_files(), [])

    def test_ehlo_lists_and_state_reset(self):
        s = connect(self.d.port("mx"))
        try:
            code, lines = s.cmd(b"EHLO c.test")
            before = ehlo_keywords(lines)
            self.assertIn(b"STARTTLS", before)
            self.assertEqual(s.cmd(b"STARTTLS x"),
                             (501, [b"501 5.5.4 Syntax: STARTTLS"]))
            code, _ = s.cmd(b"MAIL FROM:<early@example.net>")
            self.assertEqual(code, 250)
            s.starttls(client_ctx(self.cert()))
            # RFC 3207 §4.2: everything before TLS is forgotten
            code, lines = s.cmd(b"MAIL FROM:<a@example.net>")
            self.assertEqual(code, 503, lines)
            self.assertIn(b"5.5.1", lines[0])
            code, lines = s.cmd(b"EHLO c.test")
            after = ehlo_keywords(lines)
            self.assertNotIn(b"STARTTLS", after)
            self.assertEqual([k for k in before if k != b"STARTTLS"], after)
            code, lines = s.cmd(b"RCPT TO:<a@example.test>")
            self.assertEqual(code, 503, lines)    # the MAIL went too
            self.assertEqual(s.cmd(b"STARTTLS"), (503, [
                b"503 5.5.1 Error: TLS already active"]))
            self.assertEqual(s.send_mail(), 250)
            self.assertEqual(s.cmd(b"QUIT")[0], 221)
        finally:
            s.close()
        self.assert_tls_delivery()

    def test_submission_requires_starttls_then_auth(self):
        s = connect(self.d.port("submission"))
        try:
            code, lines = s.cmd(b"EHLO c.test")
            self.assertIn(b"STARTTLS", ehlo_keywords(lines))
            self.assertEqual(s.cmd(b"MAIL FROM:<a@example.net>"), (530, [
                b"530 5.7.0 Must issue a STARTTLS command first"]))
            s.starttls(client_ctx(self.cert()))
            code, lines = s.cmd(b"EHLO c.test")
            self.assertNotIn(b"STARTTLS", ehlo_keywords(lines))
            self.assertEqual(s.cmd(b"MAIL FROM:<a@example.net>"), (530, [
                b"530 5.7.0 Authentication required"]))
            self.assertEqual(s.cmd(b"QUIT")[0], 221)
        finally:
            s.close()
        self.assertEqual(self.d.new_files(), [])

    def test_implicit_port_has_no_starttls(self):
        s = connect_tls(self.d.port("submissions"))
        try:
            code, lines = s.cmd(b"EHLO c.test")
            self.assertEqual(code, 250)
            self.assertNotIn(b"STARTTLS", ehlo_keywords(lines))
            self.assertEqual(s.cmd(b"STARTTLS"), (503, [
                b"503 5.5.1 Error: TLS already active"]))
        finally:
            s.close()


class Implicit(TlsTestCase):
    """Implicit TLS on the submissions listener (sink yes: no AUTH)."""
    daemon_args = {"sink": True}

    def test_openssl_s_client_implicit(self):
        r = subprocess.run(
            ["openssl", "s_client", "-connect",
             f"127.0.0.1:{self.d.port('submissions')}", "-quiet",
             "-CAfile", self.cert(), "-verify_return_error"],
            input=b"EHLO sclient.test\r\nMAIL FROM:<s@example.net>\r\n"
                  b"RCPT TO:<dev@anything.invalid>\r\nDATA\r\n"
                  b"Subject: implicit\r\n\r\nhello\r\n.\r\nQUIT\r\n",
            capture_output=True, timeout=WAIT * 3)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(r.stdout.startswith(b"220 mx.test"), r.stdout)
        self.assertIn(b"250 2.0.0 Ok: queued as", r.stdout)
        files = self.assert_tls_delivery()
        # the sink's one copy: its recipients are in its env/ record
        self.assertNotIn(b"Delivered-To:", read(files[0]))
        self.assertIn(b"\nrecipient <dev@anything.invalid>\n", read(
            os.path.join(self.d.maildir, "env", os.path.basename(files[0]))))

    def test_smtplib_smtp_ssl(self):
        with smtplib.SMTP_SSL("127.0.0.1", self.d.port("submissions"),
                              context=client_ctx(self.cert()),
                              timeout=WAIT) as s:
            s.ehlo("client.test")
            self.assertFalse(s.has_extn("starttls"))
            refused = s.sendmail("from@example.net", ["z@example.test"],
                                 b"Subject: smtp_ssl\r\n\r\nx\r\n")
            self.assertEqual(refused, {})
        files = self.assert_tls_delivery()
        self.assertTrue(read(files[0]).endswith(b"Subject: smtp_ssl\n\nx\n"))

    def test_swaks_tlsc(self):
        r = subprocess.run(
            ["swaks", "--to", "x@example.test", "--from", "s@example.net",
             "--server", f"127.0.0.1:{self.d.port('submissions')}",
             "--tlsc", "--header", "Subject: swaks implicit"],
            capture_output=True, timeout=WAIT * 3)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn(b"STARTTLS", r.stdout)
        self.assertIn(b"250 2.0.0 Ok: queued as", r.stdout)
        files = self.assert_tls_delivery()
        self.assertIn(b"Subject: swaks implicit", read(files[0]))

    def test_curl_smtps(self):
        mail = os.path.join(self.d.dir, "mail.txt")
        with open(mail, "wb") as f:
            f.write(b"Subject: from curl\r\n\r\ncurl body\r\n")
        r = subprocess.run(
            ["curl", "--silent", "--show-error", "--max-time", str(WAIT),
             f"smtps://127.0.0.1:{self.d.port('submissions')}/client.test",
             "--cacert", self.cert(), "--mail-from", "c@example.net",
             "--mail-rcpt", "y@example.test", "--upload-file", mail],
            capture_output=True, timeout=WAIT * 3)
        self.assertEqual(r.returncode, 0, r.stderr)
        files = self.assert_tls_delivery()
        self.assertTrue(read(files[0]).endswith(
            b"Subject: from curl\n\ncurl body\n"))

    def test_big_message_and_pipelining(self):
        s = connect_tls(self.d.port("submissions"))
        try:
            self.assertEqual(s.cmd(b"EHLO c.test")[0], 250)
            for line, want in ((b"MAIL FROM:<a@example.net>", 250),
                               (b"RCPT TO:<big@example.test>", 250),
                               (b"DATA", 354)):
                self.assertEqual(s.cmd(line)[0], want)
            line = b"x" * 998 + b"\r\n"
            s.sock.sendall(b"Subject: big\r\n\r\n" + line * 3000 + b".\r\n")
            self.assertEqual(s.reply()[0], 250)
            s.sock.sendall(b"RSET\r\nMAIL FROM:<a@example.net>\r\n"
                           b"RCPT TO:<p@example.test>\r\nDATA\r\n"
                           b"Subject: piped\r\n\r\nx\r\n.\r\nQUIT\r\n")
            rest = s.read_to_eof()
        finally:
            s.close()
        codes = [l[:3] for l in rest.split(b"\r\n") if l[3:4] == b" "]
        self.assertEqual(codes, [b"250", b"250", b"250", b"354", b"250",
                                 b"221"])
        files = self.assert_tls_delivery(2)
        sizes = sorted(len(read(f)) for f in files)
        self.assertGreater(sizes[1], 3000 * 999)

    def test_stop_with_tls_sessions(self):
        """SIGTERM: 421 inside TLS to an idle session; a connection still
        in its handshake is closed; exit 0."""
        s = connect_tls(self.d.port("submissions"))
        raw = socket.create_connection(
            ("127.0.0.1", self.d.port("submissions")), timeout=WAIT)
        p = connect(self.d.port("mx"))
        try:
            self.assertEqual(s.cmd(b"EHLO c.test")[0], 250)
            p.cmd(b"EHLO c.test")
            self.assertEqual(p.cmd(b"STARTTLS")[0], 220)
            self.d.wait_log("event=connect", 3)
            self.d.signal(signal.SIGTERM)
            self.assertEqual(s.reply(), (421, [
                b"421 4.3.2 mx.test Service shutting down, closing "
                b"transmission channel"]))
            self.assertEqual(s.read_to_eof(), b"")
            self.assertEqual(raw.recv(4096), b"")
            self.assertEqual(p.read_to_eof(), b"")
        finally:
            s.close()
            raw.close()
            p.close()
        self.assertEqual(self.d.stop(), 0)

    def test_plaintext_client_gets_no_greeting(self):
        port = self.d.port("submissions")
        # a client that waits for the greeting gets none in clear text
        with socket.create_connection(("127.0.0.1", port),
                                      timeout=QUIET) as sock:
            with self.assertRaises(socket.timeout):
                got = sock.recv(4096)
                raise AssertionError(f"unexpected bytes {got!r}")
        # a client that talks first gets no SMTP either
        data = b""
        with socket.create_connection(("127.0.0.1", port),
                                      timeout=QUIET) as sock:
            sock.sendall(b"EHLO x\r\n")
            try:
                while True:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except (socket.timeout, ConnectionResetError):
                pass
        self.assertNotIn(b"220", data)
        self.assertNotIn(b"250", data)
        self.d.wait_log("event=tls-failed", 1)
        s = connect_tls(port, client_ctx(self.cert()))
        try:
            self.assertEqual(s.cmd(b"EHLO c.test")[0], 250)
            self.assertEqual(s.send_mail(), 250)
        finally:
            s.close()
        self.assertIsNone(self.d.proc.poll())
        self.assert_tls_delivery()


def tls11_handshake_refused(testcase, port, starttls):
    """Offer only TLS 1.1; True when the handshake failed.  Falls back on
    openssl s_client when Python's OpenSSL cannot offer TLS 1.1."""
    ctx = client_ctx()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        ctx = None
    if ctx is not None:
        s = connect(port) if starttls else None
        raw = s.sock if s else socket.create_connection(("127.0.0.1", port),
                                                          timeout=WAIT)
        try:
            if s:
                s.cmd(b"EHLO c.test")
                s.cmd(b"STARTTLS")
            try:
                tls = ctx.wrap_socket(raw)
            except ssl.SSLError as e:
                if "NO_PROTOCOLS_AVAILABLE" not in str(e) and \
                        "NO_CIPHERS_AVAILABLE" not in str(e):
                    return True
            except (ConnectionResetError, BrokenPipeError):
                return True
            else:
                tls.close()
                return False
        finally:
            raw.close()
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
           "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]
    if starttls:
        cmd[2:2] = ["-starttls", "smtp"]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=WAIT * 3)
    testcase.assertNotIn(b"no protocols available", r.stderr)
    return r.returncode != 0 and b"\n220 " not in r.stdout


class Versions(TlsTestCase):
    """TLS below 1.2 is refused (RFC 8996); tls_min_version TLSv1.3."""

    def test_tls11_refused(self):
        for role, starttls in (("submissions", False), ("mx", True)):
            port = self.d.port(role)
            self.assertTrue(tls11_handshake_refused(self, port, starttls),
                            role)
        self.d.wait_log("event=tls-failed", 2)
        # the daemon keeps serving
        s = connect_tls(self.d.port("submissions"))
        try:
            self.assertEqual(s.cmd(b"EHLO c.test")[0], 250)
        finally:
            s.close()
        s = connect(self.d.port("mx"))
        try:
            s.cmd(b"EHLO c.test")
            s.starttls(client_ctx())
            self.assertEqual(s.cmd(b"EHLO c.test")[0], 250)
        finally:
            s.close()

    def test_no_weak_tls12_ciphers(self):
        """TLS 1.2 only with forward secrecy and AEAD."""
        ctx = client_ctx()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("AES128-SHA:AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA")
        with socket.create_connection(
                ("127.0.0.1", self.d.port("submissions")),
                timeout=WAIT) as raw:
            with self.assertRaises((ssl.SSLError, ConnectionResetError)):
                ctx.wrap_socket(raw).close()
        self.d.wait_log("event=tls-failed")
        ctx = client_ctx()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        s = connect_tls(self.d.port("submissions"), ctx)
        try:
            self.assertEqual(s.sock.version(), "TLSv1.2")
            self.assertRegex(s.sock.cipher()[0], r"^(ECDHE|DHE)-.*"
                             r"(GCM|CHACHA20)")
        finally:
            s.close()

    def test_handshake_timeout(self):
        """command_timeout bounds a handshake that never starts."""
        self.d.stop()
        self.d.cleanup()
        self.d = Daemon(extra_conf="command_timeout 1s\n")
        with socket.create_connection(
                ("127.0.0.1", self.d.port("submissions")),
                timeout=WAIT) as raw:
            self.assertEqual(raw.recv(4096), b"")
        p = connect(self.d.port("mx"))
        try:
            p.cmd(b"EHLO c.test")
            self.assertEqual(p.cmd(b"STARTTLS")[0], 220)
            self.assertEqual(p.read_to_eof(), b"")
        finally:
            p.close()
        self.d.wait_log('reason="handshake timeout"', 2)

    def test_min_version_tls13(self):
        self.d.stop()
        self.d.cleanup()
        self.d = Daemon(extra_conf="tls_min_version TLSv1.3\n")
        ctx = client_ctx()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection(
                ("127.0.0.1", self.d.port("submissions")),
                timeout=WAIT) as raw:
            with self.assertRaises((ssl.SSLError, ConnectionResetError)):
                ctx.wrap_socket(raw).close()
        self.d.wait_log("event=tls-failed")
        s = connect_tls(self.d.port("submissions"))
        try:
            self.assertEqual(s.sock.version(), "TLSv1.3")
        finally:
            s.close()
        # STARTTLS on mx too
        s = connect(self.d.port("mx"))
        try:
            s.cmd(b"EHLO c.test")
            s.cmd(b"STARTTLS")
            with self.assertRaises((ssl.SSLError, ConnectionResetError)):
                ctx.wrap_socket(s.sock)
        finally:
            s.close()
        self.d.wait_log("event=tls-failed", 2)
        s = connect(self.d.port("mx"))
        try:
            s.cmd(b"EHLO c.test")
            s.starttls(client_ctx())
            self.assertEqual(s.sock.version(), "TLSv1.3")
            s.cmd(b"EHLO c.test")
            self.assertEqual(s.send_mail(), 250)
        finally:
            s.close()
        files = self.assert_tls_delivery()
        self.assertIn(b"(using TLSv1.3 with cipher", read(files[0]))


class Reload(TlsTestCase):
    """SIGHUP loads the certificates again; a bad pair keeps the old."""
    daemon_args = {"sink": True}

    def test_reload(self):
        cert, key = self.d.pairs[0]
        port = self.d.port("submissions")
        self.assertEqual(peer_cert(port), der("rsa"))
        old = connect_tls(port)     # a session running across the reload
        try:
            self.assertEqual(old.cmd(b"EHLO c.test")[0], 250)
            shutil.copyfile(CERTS["ec"][0], cert)
            shutil.copyfile(CERTS["ec"][1], key)
            self.d.signal(signal.SIGHUP)
            self.d.wait_log("event=reload tls=ok")
            self.assertEqual(peer_cert(port), der("ec"))
            self.assertEqual(peer_cert(self.d.port("mx"), starttls=True),
                             der("ec"))
            self.assertEqual(old.sock.getpeercert(binary_form=True),
                             der("rsa"))
            self.assertEqual(old.send_mail(), 250)
            self.assertEqual(old.cmd(b"QUIT")[0], 221)
        finally:
            old.close()
        # a key that belongs to another certificate: keep the EC pair
        shutil.copyfile(CERTS["other"][1], key)
        self.d.signal(signal.SIGHUP)
        text = self.d.wait_log("event=reload tls=failed")
        line = [l for l in text.splitlines()
                if "event=reload tls=failed" in l][0]
        self.assertIn(key, line)
        self.assertEqual(text.count("event=reload tls=ok"), 1)
        self.assertEqual(peer_cert(port), der("ec"))
        self.assertEqual(peer_cert(self.d.port("mx"), starttls=True),
                         der("ec"))
        self.assertIsNone(self.d.proc.poll())
        self.assert_tls_delivery()


class Sni(TlsTestCase):
    """Two pairs: the first is the default, the other chosen by SNI."""
    daemon_args = {"certs": ("rsa", "other")}

    def test_sni(self):
        port = self.d.port("submissions")
        self.assertEqual(peer_cert(port, "other.test"), der("other"))
        self.assertEqual(peer_cert(port, "OTHER.TEST"), der("other"))
        self.assertEqual(peer_cert(port, "localhost"), der("rsa"))
        self.assertEqual(peer_cert(port, "unknown.test"), der("rsa"))
        self.assertEqual(peer_cert(port), der("rsa"))
        self.assertEqual(peer_cert(self.d.port("mx"), "other.test",
                                   starttls=True), der("other"))
        self.assertEqual(peer_cert(self.d.port("mx"), starttls=True),
                         der("rsa"))
        # a client verifying other.test fully is satisfied
        s = connect_tls(port, client_ctx(self.d.pairs[1][0]), "other.test")
        try:
            self.assertEqual(s.cmd(b"EHLO c.test")[0], 250)
        finally:
            s.close()
        self.d.wait_log('sni="other.test"')


class StartupErrors(harness.ConfigErrorCase):
    """A bad TLS setup is a configuration error: exit 2, one line."""

    def base(self, listen="listen 127.0.0.1:0 mx\n"):
        return ("hostname mx.test\n" + listen + "domains example.test\n"
                f"maildir {self.dir}/Maildir\n")

    def test_missing_cert_file(self):
        missing = os.path.join(self.dir, "no-such-cert.pem")
        _, err = self.run_conf(self.base() + f"tls_cert {missing}\n"
                               f"tls_key {CERTS['rsa'][1]}\n")
        self.assertIn(missing, err)

    def test_missing_key_file(self):
        missing = os.path.join(self.dir, "no-such-key.pem")
        _, err = self.run_conf(self.base() + f"tls_cert {CERTS['rsa'][0]}\n"
                               f"tls_key {missing}\n")
        self.assertIn(missing, err)

    def test_key_does_not_match(self):
        _, err = self.run_conf(self.base() + f"tls_cert {CERTS['rsa'][0]}\n"
                               f"tls_key {CERTS['other'][1]}\n")
        self.assertIn(CERTS["other"][1], err)
        self.assertRegex(err, "does not match|mismatch")

    def test_submissions_without_cert(self):
        conf, err = self.run_conf(
            "hostname mx.test\nlisten 127.0.0.1:0 mx\n"
            "listen 127.0.0.1:0 submissions\n"
            f"domains example.test\nmaildir {self.dir}/Maildir\n")
        self.assertIn(f"{conf}:3", err)
        self.assertIn("submissions", err)

    def test_submission_without_cert(self):
        conf, err = self.run_conf(
            "hostname mx.test\nlisten 127.0.0.1:0 submission\n"
            f"maildir {self.dir}/Maildir\n")
        self.assertIn(f"{conf}:2", err)

    def test_cert_without_key(self):
        self.run_conf(self.base() + f"tls_cert {CERTS['rsa'][0]}\n")

    def test_mx_without_tls_offers_no_starttls(self):
        d = Daemon(certs=(), listen="listen 127.0.0.1:0 mx\n")
        try:
            s = connect(d.port("mx"))
            try:
                code, lines = s.cmd(b"EHLO c.test")
                self.assertNotIn(b"STARTTLS", ehlo_keywords(lines))
                self.assertEqual(s.cmd(b"STARTTLS"),
                                 (454, [b"454 4.7.0 TLS not available"]))
                self.assertEqual(s.cmd(b"NOOP")[0], 250)
            finally:
                s.close()
        finally:
            self.assertEqual(d.stop(), 0)
            d.cleanup()


class Sink(unittest.TestCase):
    """--sink makes its own certificate and speaks TLS on two ports."""

    def test_sink_tls(self):
        tmp = tempfile.mkdtemp(prefix="inlet-tls-sink-")
        sinkdir = os.path.join(tmp, "Maildir")
        cert = os.path.join(sinkdir, "sink-cert.pem")
        key = os.path.join(sinkdir, "sink-key.pem")
        args = ["--sink", sinkdir, "-o",
                "listen=127.0.0.1:0 127.0.0.1:0 submission "
                "127.0.0.1:0 submissions"]
        d = Daemon(args=args, umask=0o022)
        try:
            self.assertEqual([r for _, r in d.listeners],
                             ["mx", "submission", "submissions"])
            self.assertEqual(os.stat(cert).st_mode & 0o777, 0o644)
            self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
            ctx = client_ctx(cert)  # SAN IP:127.0.0.1: full verification
            with smtplib.SMTP("127.0.0.1", d.port("submission"),
                              timeout=WAIT) as s:
                s.ehlo("client.test")
                self.assertTrue(s.has_extn("starttls"))
                s.starttls(context=ctx)
                s.ehlo("client.test")
                self.assertEqual(s.sendmail(
                    "a@example.net", ["x@example.test"],
                    b"Subject: sink starttls\r\n\r\n1\r\n"), {})
            with smtplib.SMTP_SSL("127.0.0.1", d.port("submissions"),
                                  context=ctx, timeout=WAIT) as s:
                self.assertEqual(s.sendmail(
                    "a@example.net", ["dev@anything.invalid"],
                    b"Subject: sink implicit\r\n\r\n2\r\n"), {})
            d.wait_log("event=tls-selfsigned")
            first = read(cert)
        finally:
            self.assertEqual(d.stop(), 0)
        try:
            files = d.new_files(sinkdir)
            self.assertEqual(len(files), 2)
            for f in files:
                self.assertRegex(read(f), RECEIVED_TLS)
            out = read(os.path.join(d.dir, "stdout"))
            self.assertIn(b'subject="sink starttls"', out)
            self.assertIn(b'subject="sink implicit"', out)
            # a second start keeps the certificate
            d2 = Daemon(args=args, umask=0o022)
            try:
                self.assertEqual(
                    peer_cert(d2.port("submissions")),
                    ssl.PEM_cert_to_DER_cert(first.decode()))
                self.assertNotIn("tls-selfsigned", d2.log_text())
            finally:
                self.assertEqual(d2.stop(), 0)
                d2.cleanup()
            self.assertEqual(read(cert), first)
        finally:
            d.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(harness.main("test_tls", ("openssl", "swaks", "curl"),
                          ("Net::SSLeay",)))
