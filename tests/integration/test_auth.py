#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Integration tests of SMTP AUTH (RFC 4954) in the real inletd.

Each test starts server/inletd on 127.0.0.1 with port-0 listeners (mx,
submission, submissions) and a temporary config, per-user Maildirs, a
queue, certificates made here with openssl(1) and a Cyrus sasldb made
with saslpasswd2(8); -R reports the bound ports in config order.
Clients: raw sockets, Python's smtplib (PLAIN, LOGIN, CRAM-MD5 and an
RFC 5802/7677 SCRAM-SHA-256 client written here), swaks and curl.
Deliveries are checked by the files in new/ (and env/ for the queue).
Every wait is bounded; nothing asserts timing: the throttle's delays are
checked only through the log's delay= field.  No test may leave a
password in the daemon's log.  A missing tool fails under CI=true;
elsewhere the whole script is skipped (exit 77).
"""
import base64
import glob
import hashlib
import hmac
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402
from inlet_harness import LISTEN_ALL, WAIT, client_ctx, read  # noqa: E402

MECHS = "PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256"

ALICE = "alice@example.test"
ADMIN = "admin@example.test"
PASSWORDS = {ALICE: "Alice-pw.4954", ADMIN: "Admin-pw.4616"}
WRONG = "Wrong-pw.535"          # a bad password some tests send
SINK_PW = "Sink-pw.any"         # whatever a sink client sends

R_OK = b"235 2.7.0 Authentication successful"
R_FAILED = b"535 5.7.8 Authentication credentials invalid"
R_CANCELLED = b"501 5.7.0 Authentication cancelled"
R_BADB64 = b"501 5.5.2 Invalid base64 data"
R_MECH = b"504 5.5.4 Unrecognized authentication type"
R_ENCRYPT = (b"538 5.7.11 Encryption required for requested "
             b"authentication mechanism")
R_NOT_IMPL = b"502 5.5.1 Error: command not implemented"
R_TWICE = b"503 5.5.1 Error: already authenticated"
R_IN_TX = b"503 5.5.1 Error: AUTH not allowed during a mail transaction"
R_TOOLONG = b"500 5.5.6 Error: authentication line too long"
R_REQUIRED = b"530 5.7.0 Authentication required"
R_BANNED = (b"421 4.7.0 mx.test Error: too many failed authentications, "
            b"try again later")

FILES = {}      # "cert", "key", "sasldb" -> path, made by setUpModule
FILE_DIR = None


def setUpModule():
    global FILE_DIR
    FILE_DIR = tempfile.mkdtemp(prefix="inlet-auth-files-")
    cert, key = harness.make_cert(FILE_DIR, "auth")
    sasldb = harness.make_sasldb(os.path.join(FILE_DIR, "sasldb2"),
                                 PASSWORDS)
    FILES.update(cert=cert, key=key, sasldb=sasldb)


def tearDownModule():
    if FILE_DIR is not None:
        shutil.rmtree(FILE_DIR, ignore_errors=True)


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data)


def plain(authcid, password, authzid=""):
    """An RFC 4616 PLAIN response, base64."""
    return b64(f"{authzid}\0{authcid}\0{password}")


class Daemon(harness.Daemon):
    """One inletd (inlet_harness.Daemon) with per-user Maildirs and a
    queue in its temp dir.

    opts are inlet.conf keys added to (or replacing) the AUTH defaults
    below; a value of None drops a key.
    """

    def __init__(self, opts=None, listen=LISTEN_ALL, args=None):
        super().__init__(listen=listen, domains="example.test example.org",
                         maildir="Maildir/%d/%u", prefix="inlet-auth-",
                         start=False)
        self.queue = self.path("queue")
        conf = {
            "tls_cert": FILES["cert"],
            "tls_key": FILES["key"],
            "sasl_db": FILES["sasldb"],
            "sasl_mechanisms": MECHS,
            "sasl_proxy_users": ADMIN,
            "queue": self.queue,
            "sender_login_match": "yes",
        }
        conf.update(opts or {})
        self.write_conf(conf)
        self.start(args)

    def user_files(self, user, domain="example.test"):
        return self.new_files(os.path.join(self.maildir, domain, user))

    def all_mail(self):
        return sorted(glob.glob(os.path.join(self.maildir, "*", "*",
                                             "new", "*")))

    def queue_files(self):
        return self.new_files(self.queue)


class Smtp(harness.Smtp):
    def send_mail(self, sender, rcpts, subject=b"auth"):
        """A whole transaction that must succeed: the queue id."""
        code, lines = self.transaction(sender, rcpts, b"Subject: " + subject +
                                       b"\r\n\r\nauthenticated body\r\n")
        m = re.fullmatch(rb"250 2\.0\.0 Ok: queued as (\S+)", lines[0])
        if m is None:
            raise AssertionError(f"end of DATA got {lines!r}")
        return m.group(1)


def connect(port):
    """A plain connection, greeting read (SNI localhost after STARTTLS)."""
    return harness.connect(port, cls=Smtp, server_hostname="localhost")


def connect_tls(port):
    """An implicit-TLS connection (SNI localhost), greeting read."""
    return harness.connect_tls(port, server_hostname="localhost", cls=Smtp)


def raw_greeting(port):
    """All a new plain connection receives before EOF or its first line."""
    with harness.dial(port) as sk:
        data = b""
        while b"\r\n" not in data:
            chunk = sk.recv(4096)
            if not chunk:
                break
            data += chunk
        if data.startswith(b"220"):
            sk.sendall(b"QUIT\r\n")
        return data


def ehlo_auth(lines):
    """The mechanisms of the AUTH keyword of an EHLO reply, or None."""
    for l in lines[1:]:
        words = l[4:].decode().split()
        if words and words[0].upper() == "AUTH":
            return set(words[1:])
    return None


def saslname(name):
    return name.replace("=", "=3D").replace(",", "=2C")


class ScramSha256:
    """An RFC 5802 / RFC 7677 SCRAM-SHA-256 client as smtplib's authobject:
    called with no argument for an initial response, then with each
    decoded 334 challenge; returns the next client message."""

    def __init__(self, user, password, authzid=""):
        self.password = password.encode()
        self.gs2 = "n," + (f"a={saslname(authzid)}" if authzid else "") + ","
        self.nonce = base64.b64encode(os.urandom(24)).decode()
        self.first_bare = f"n={saslname(user)},r={self.nonce}"
        self.step = 0
        self.server_signature = None
        self.verified = False

    def __call__(self, challenge=None):
        if self.step == 0:
            if challenge not in (None, b""):
                raise AssertionError(f"first challenge {challenge!r}")
            self.step = 1
            return self.gs2 + self.first_bare
        challenge = challenge.decode()
        if self.step == 1:
            self.step = 2
            attrs = dict(kv.split("=", 1) for kv in challenge.split(","))
            nonce, salt = attrs["r"], base64.b64decode(attrs["s"])
            if not nonce.startswith(self.nonce) or nonce == self.nonce:
                raise AssertionError(f"server nonce {nonce!r}")
            salted = hashlib.pbkdf2_hmac("sha256", self.password, salt,
                                         int(attrs["i"]))
            client_key = hmac.new(salted, b"Client Key", "sha256").digest()
            stored_key = hashlib.sha256(client_key).digest()
            final_bare = ("c=" + base64.b64encode(self.gs2.encode()).decode()
                          + ",r=" + nonce)
            auth_msg = ",".join((self.first_bare, challenge,
                                 final_bare)).encode()
            signature = hmac.new(stored_key, auth_msg, "sha256").digest()
            proof = bytes(a ^ b for a, b in zip(client_key, signature))
            server_key = hmac.new(salted, b"Server Key", "sha256").digest()
            self.server_signature = base64.b64encode(hmac.new(
                server_key, auth_msg, "sha256").digest()).decode()
            return final_bare + ",p=" + base64.b64encode(proof).decode()
        if self.step == 2:
            self.step = 3
            self.verified = challenge == "v=" + self.server_signature
            if not self.verified:
                raise AssertionError(f"server-final {challenge!r}")
            return ""                   # the empty response (RFC 4954 §4)
        raise AssertionError(f"unexpected challenge {challenge!r}")


class AuthTestCase(unittest.TestCase):
    """A daemon per test (see daemon_opts); no password ever logged."""
    daemon_opts = {}

    def setUp(self):
        self.d = Daemon(self.daemon_opts)

    def tearDown(self):
        try:
            self.assertEqual(self.d.stop(), 0, self.d.log_text())
            self.assert_no_passwords()
        finally:
            self.d.cleanup()

    def assert_no_passwords(self):
        text = self.d.log_text() + self.d.out_text()
        for pw in list(PASSWORDS.values()) + [WRONG, SINK_PW]:
            self.assertNotIn(pw, text)
            self.assertNotIn(b64(pw).decode().rstrip("="), text)

    def sub(self):
        """submission after STARTTLS and the second EHLO."""
        s = connect(self.d.port("submission"))
        s.ehlo()
        s.starttls()
        s.lines = s.ehlo()
        return s

    def subs(self):
        """submissions (implicit TLS) after EHLO."""
        s = connect_tls(self.d.port("submissions"))
        s.lines = s.ehlo()
        return s

    def login(self, s, user=ALICE, password=None):
        password = PASSWORDS[user] if password is None else password
        self.assertEqual(s.line(b"AUTH PLAIN " + plain(user, password)),
                         R_OK)

    def assert_auth_logged(self, user=ALICE, mech="PLAIN", count=1):
        self.d.wait_log(f'event=auth client=127.0.0.1 user="{user}" '
                        f'mech={mech}', count)


class Offer(AuthTestCase):
    """Where AUTH is offered: RFC 4954 §4, RFC 8314, RFC 6409."""

    def test_submission_hides_auth_before_tls(self):
        s = connect(self.d.port("submission"))
        try:
            lines = s.ehlo()
            self.assertIsNone(ehlo_auth(lines), lines)
            self.assertIn(b"250 STARTTLS", lines)
            for line in (b"AUTH PLAIN " + plain(ALICE, PASSWORDS[ALICE]),
                         b"AUTH CRAM-MD5", b"AUTH SCRAM-SHA-256",
                         b"AUTH LOGIN"):
                self.assertEqual(s.line(line), R_ENCRYPT, line)
            self.assertEqual(s.line(b"MAIL FROM:<alice@example.test>"),
                             b"530 5.7.0 Must issue a STARTTLS command first")
            s.starttls()
            lines = s.ehlo()
            self.assertEqual(ehlo_auth(lines), set(MECHS.split()), lines)
            self.assertEqual(s.line(b"MAIL FROM:<alice@example.test>"),
                             R_REQUIRED)
            self.assertEqual(s.line(b"RCPT TO:<bob@example.test>"),
                             R_REQUIRED)
            self.assertEqual(s.line(b"NOOP"), b"250 2.0.0 Ok")
            self.login(s)
            self.assertEqual(s.line(b"MAIL FROM:<alice@example.test>")[:3],
                             b"250")
            self.assertEqual(s.line(b"QUIT")[:3], b"221")
        finally:
            s.close()
        self.assertNotIn("event=auth-failed", self.d.log_text())
        self.assert_auth_logged()

    def test_submissions_offers_auth_at_once(self):
        s = self.subs()
        try:
            self.assertEqual(ehlo_auth(s.lines), set(MECHS.split()))
            self.assertEqual(s.line(b"MAIL FROM:<alice@example.test>"),
                             R_REQUIRED)
            self.login(s)
        finally:
            s.close()

    def test_mx_without_mx_auth(self):
        s = connect(self.d.port("mx"))
        try:
            lines = s.ehlo()
            self.assertIsNone(ehlo_auth(lines), lines)
            self.assertEqual(s.line(b"AUTH PLAIN " +
                                    plain(ALICE, PASSWORDS[ALICE])),
                             R_NOT_IMPL)
            s.starttls()
            lines = s.ehlo()
            self.assertIsNone(ehlo_auth(lines), lines)
            self.assertEqual(s.line(b"AUTH CRAM-MD5"), R_NOT_IMPL)
            # mx still takes local mail without AUTH
            s.send_mail(b"x@example.net", [b"bob@example.test"])
        finally:
            s.close()
        self.assertEqual(len(self.d.user_files("bob")), 1)

    def test_auth_before_ehlo(self):
        s = connect_tls(self.d.port("submissions"))
        try:
            code, lines = s.cmd(b"AUTH PLAIN " +
                                plain(ALICE, PASSWORDS[ALICE]))
            self.assertEqual(code, 503, lines)
            self.assertTrue(lines[0].startswith(b"503 5.5.1 "), lines)
            s.ehlo()
            self.login(s)
        finally:
            s.close()


class Replies(AuthTestCase):
    """Each AUTH reply with its code and enhanced code (RFC 4954 §4, §6)."""

    def test_plain_initial_response(self):
        s = self.subs()
        try:
            self.login(s)
        finally:
            s.close()
        self.assert_auth_logged()

    def test_plain_without_initial_response(self):
        s = self.sub()
        try:
            self.assertEqual(s.line(b"AUTH PLAIN"), b"334 ")
            self.assertEqual(s.line(plain(ALICE, PASSWORDS[ALICE])), R_OK)
        finally:
            s.close()
        self.assert_auth_logged()

    def test_login_dialog(self):
        s = self.subs()
        try:
            self.assertEqual(s.line(b"AUTH LOGIN"), b"334 VXNlcm5hbWU6")
            self.assertEqual(s.line(b64(ALICE)), b"334 UGFzc3dvcmQ6")
            self.assertEqual(s.line(b64(PASSWORDS[ALICE])), R_OK)
        finally:
            s.close()
        # the username as initial response skips the first challenge
        s = self.sub()
        try:
            self.assertEqual(s.line(b"AUTH LOGIN " + b64(ALICE)),
                             b"334 UGFzc3dvcmQ6")
            self.assertEqual(s.line(b64(PASSWORDS[ALICE])), R_OK)
        finally:
            s.close()
        self.assert_auth_logged(mech="LOGIN", count=2)

    def test_cancel(self):
        s = self.subs()
        try:
            self.assertEqual(s.line(b"AUTH PLAIN"), b"334 ")
            self.assertEqual(s.line(b"*"), R_CANCELLED)
            self.assertEqual(s.line(b"AUTH LOGIN"), b"334 VXNlcm5hbWU6")
            self.assertEqual(s.line(b64(ALICE)), b"334 UGFzc3dvcmQ6")
            self.assertEqual(s.line(b"*"), R_CANCELLED)
            code, lines = s.cmd(b"AUTH CRAM-MD5")
            self.assertEqual(code, 334, lines)
            self.assertEqual(s.line(b"*"), R_CANCELLED)
            self.assertEqual(s.line(b"NOOP"), b"250 2.0.0 Ok")
            self.assertEqual(s.line(b"MAIL FROM:<alice@example.test>"),
                             R_REQUIRED)
            self.login(s)
        finally:
            s.close()
        self.assertNotIn("event=auth-failed", self.d.log_text())

    def test_bad_base64(self):
        s = self.subs()
        try:
            self.assertEqual(s.line(b"AUTH PLAIN AAA"), R_BADB64)
            # not base64 at all: a syntax error of the command (RFC 4954
            # §4 grammar) or bad base64, either way a 501
            self.assertEqual(s.line(b"AUTH PLAIN !!!!")[:3], b"501")
            self.assertEqual(s.line(b"AUTH PLAIN"), b"334 ")
            self.assertEqual(s.line(b"not*base64"), R_BADB64)
            self.assertEqual(s.line(b"AUTH LOGIN"), b"334 VXNlcm5hbWU6")
            self.assertEqual(s.line(b64(ALICE)), b"334 UGFzc3dvcmQ6")
            self.assertEqual(s.line(b"@@@@"), R_BADB64)
            self.assertEqual(s.line(b"NOOP"), b"250 2.0.0 Ok")
            self.login(s)
        finally:
            s.close()

    def test_unknown_mechanism(self):
        s = self.subs()
        try:
            # DIGEST-MD5 and ANONYMOUS are installed but not configured
            for mech in (b"FOO", b"DIGEST-MD5", b"ANONYMOUS", b"GSSAPI",
                         b"SCRAM-SHA-1"):
                self.assertEqual(s.line(b"AUTH " + mech), R_MECH, mech)
            self.assertEqual(s.line(b"AUTH X-UNKNOWN dGVzdA=="), R_MECH)
            self.login(s)
        finally:
            s.close()

    def test_bad_password_and_unknown_user(self):
        s = self.subs()
        try:
            self.assertEqual(s.line(b"AUTH PLAIN " + plain(ALICE, WRONG)),
                             R_FAILED)
            self.assertEqual(s.line(b"AUTH PLAIN " +
                                    plain("nobody@example.test", WRONG)),
                             R_FAILED)
            self.assertEqual(s.line(b"MAIL FROM:<alice@example.test>"),
                             R_REQUIRED)
            self.login(s)
        finally:
            s.close()
        failed = self.d.log_lines("event=auth-failed")
        self.assertEqual(len(failed), 2, failed)
        self.assertRegex(failed[0], r'event=auth-failed client=127\.0\.0\.1 '
                         r'user="alice@example\.test" mech=PLAIN fails=1 '
                         r'delay=1s$')
        self.assertRegex(failed[1], r'event=auth-failed client=127\.0\.0\.1 '
                         r'user="nobody@example\.test" mech=PLAIN fails=2 '
                         r'delay=2s$')

    def test_login_without_realm_is_under_hostname(self):
        """With no sasl_realm a bare login is looked up as alice@mx.test."""
        s = self.subs()
        try:
            self.assertEqual(s.line(b"AUTH PLAIN " +
                                    plain("alice", PASSWORDS[ALICE])),
                             R_FAILED)
        finally:
            s.close()
        self.d.wait_log('event=auth-failed client=127.0.0.1 user="alice" '
                        'mech=PLAIN fails=1 delay=1s')

    def test_auth_twice(self):
        s = self.subs()
        try:
            self.login(s)
            self.assertEqual(s.line(b"AUTH PLAIN " +
                                    plain(ALICE, PASSWORDS[ALICE])), R_TWICE)
            self.assertEqual(s.line(b"AUTH LOGIN"), R_TWICE)
            self.assertEqual(s.line(b"AUTH FOO"), R_TWICE)
            # still logged in
            self.assertEqual(s.line(b"MAIL FROM:<alice@example.test>"),
                             b"250 2.1.0 Sender ok")
        finally:
            s.close()
        self.assert_auth_logged()

    def test_response_too_long(self):
        s = self.subs()
        try:
            self.assertEqual(s.line(b"AUTH PLAIN"), b"334 ")
            self.assertEqual(s.line(b"QUFB" * 3300), R_TOOLONG)
            self.assertEqual(s.line(b"NOOP"), b"250 2.0.0 Ok")
            self.assertEqual(s.buf, b"")
            self.assertEqual(s.line(b"MAIL FROM:<alice@example.test>"),
                             R_REQUIRED)
            self.assertEqual(s.line(b"AUTH LOGIN"), b"334 VXNlcm5hbWU6")
            self.assertEqual(s.line(b"A" * 20000), R_TOOLONG)
            self.login(s)
        finally:
            s.close()

    def test_mail_requires_auth(self):
        s = self.sub()
        try:
            for line in (b"MAIL FROM:<alice@example.test>",
                         b"RCPT TO:<bob@example.test>", b"DATA",
                         b"BDAT 0 LAST"):
                self.assertEqual(s.line(line), R_REQUIRED, line)
            self.login(s)
            s.send_mail(b"alice@example.test", [b"bob@example.test"])
        finally:
            s.close()
        self.assertEqual(len(self.d.user_files("bob")), 1)

    def test_sender_login_match(self):
        s = self.subs()
        try:
            self.login(s)
            self.assertEqual(
                s.line(b"MAIL FROM:<bob@example.test>"),
                b"553 5.7.1 Sender address rejected: not owned by user "
                b"alice@example.test")
            self.assertEqual(s.line(b"MAIL FROM:<ALICE@Example.Test>"),
                             b"250 2.1.0 Sender ok")
            self.assertEqual(s.line(b"RSET")[:3], b"250")
            self.assertEqual(s.line(b"MAIL FROM:<>"), b"250 2.1.0 Sender ok")
            self.assertEqual(s.line(b"RSET")[:3], b"250")
            # RFC 4954 §5: the AUTH= parameter is accepted
            self.assertEqual(s.line(b"MAIL FROM:<alice@example.test> "
                                    b"AUTH=<>"), b"250 2.1.0 Sender ok")
            self.assertEqual(s.line(b"RSET")[:3], b"250")
            self.assertEqual(s.line(b"MAIL FROM:<alice@example.test> "
                                    b"AUTH=alice@example.test"),
                             b"250 2.1.0 Sender ok")
        finally:
            s.close()

    def test_authzid_allowed(self):
        """admin is in sasl_proxy_users and acts as alice."""
        s = self.subs()
        try:
            self.assertEqual(s.line(b"AUTH PLAIN " + plain(
                ADMIN, PASSWORDS[ADMIN], authzid=ALICE)), R_OK)
            self.assertEqual(s.line(b"MAIL FROM:<admin@example.test>"),
                             b"553 5.7.1 Sender address rejected: not owned "
                             b"by user alice@example.test")
            qid = s.send_mail(b"alice@example.test", [b"bob@example.test"])
        finally:
            s.close()
        self.assert_auth_logged(user=ALICE)
        self.d.wait_log(f"event=queued id={qid.decode()} "
                        'from="<alice@example.test>"')
        self.assertIn(' user="alice@example.test"',
                      self.d.log_lines("event=queued")[0])
        # an authzid equal to the login is no proxying at all
        s = self.subs()
        try:
            self.assertEqual(s.line(b"AUTH PLAIN " + plain(
                ALICE, PASSWORDS[ALICE], authzid=ALICE)), R_OK)
        finally:
            s.close()
        self.assertNotIn("event=auth-failed", self.d.log_text())

    def test_authzid_refused(self):
        """alice is not in sasl_proxy_users: she may not act as admin."""
        s = self.subs()
        try:
            self.assertEqual(s.line(b"AUTH PLAIN " + plain(
                ALICE, PASSWORDS[ALICE], authzid=ADMIN)), R_FAILED)
            self.assertEqual(s.line(b"MAIL FROM:<admin@example.test>"),
                             R_REQUIRED)
            self.login(s)
        finally:
            s.close()
        self.d.wait_log('event=auth-failed client=127.0.0.1 '
                        'user="alice@example.test" mech=PLAIN fails=1 '
                        'delay=1s')
        self.assertNotIn('user="admin@example.test"', self.d.log_text())


    def test_authzid_with_control_characters(self):
        """A proxy user's authzid never forges log lines or envelope
        lines: refused, or kept on its own line (escaped)."""
        authzid = (ALICE + '" x="1\nrecipient <evil@remote.example>\n'
                   "2026-01-01T00:00:00Z inletd[info]: event=auth-failed "
                   "client=192.0.2.9")
        s = self.subs()
        try:
            line = s.line(b"AUTH PLAIN " + plain(ADMIN, PASSWORDS[ADMIN],
                                                 authzid=authzid))
            self.assertIn(line, (R_OK, R_FAILED))
            if line == R_OK:
                s.send_mail(b"", [b"x@remote.example"])
        finally:
            s.close()
        for l in self.d.log_text().splitlines():
            self.assertRegex(l, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "
                             r"inletd\[\w+\]: ", "a forged log line")
        self.assertNotIn("client=192.0.2.9", "".join(
            l for l in self.d.log_text().splitlines()
            if "event=auth-failed" in l and "client=127.0.0.1" not in l))
        for path in self.d.queue_files():
            env = read(os.path.join(self.d.queue, "env",
                                    os.path.basename(path))).decode()
            lines = env.splitlines()
            self.assertEqual(len(lines), 9, env)
            self.assertEqual([l for l in lines if l.startswith("recip")],
                             ["recipient <x@remote.example>"], env)


class Realm(AuthTestCase):
    """sasl_realm example.test: alice logs in as alice."""
    daemon_opts = {"sasl_realm": "example.test"}

    def test_bare_login(self):
        s = self.subs()
        try:
            self.assertEqual(s.line(b"AUTH PLAIN " +
                                    plain("alice", PASSWORDS[ALICE])), R_OK)
            s.send_mail(b"alice@example.test", [b"bob@example.test"])
        finally:
            s.close()
        self.assert_auth_logged(user=ALICE)
        with smtplib.SMTP_SSL("127.0.0.1", self.d.port("submissions"),
                              context=client_ctx(), timeout=WAIT) as c:
            c.ehlo("client.test")
            c.user, c.password = "alice", PASSWORDS[ALICE]
            self.assertEqual(c.auth("CRAM-MD5", c.auth_cram_md5),
                             (235, R_OK[4:]))
        self.assert_auth_logged(user=ALICE, mech="CRAM-MD5")


class Mechanisms(AuthTestCase):
    """CRAM-MD5 and SCRAM-SHA-256 with real clients; curl."""

    def test_cram_md5_swaks(self):
        r = subprocess.run(
            ["swaks", "--server", f"127.0.0.1:{self.d.port('submission')}",
             "--tls", "--auth", "CRAM-MD5", "--auth-user", ALICE,
             "--auth-password", PASSWORDS[ALICE], "--from", ALICE,
             "--to", "bob@example.test", "--helo", "swaks.test",
             "--header", "Subject: swaks cram"],
            capture_output=True, timeout=WAIT * 3)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(b"~> AUTH CRAM-MD5", r.stdout)
        self.assertIn(b"<~  " + R_OK, r.stdout)
        self.assertIn(b"250 2.0.0 Ok: queued as", r.stdout)
        self.assert_auth_logged(mech="CRAM-MD5")
        files = self.d.user_files("bob")
        self.assertEqual(len(files), 1)
        self.assertIn(b"Subject: swaks cram", read(files[0]))
        self.assertIn(b" with ESMTPSA id ", read(files[0]))

    def test_cram_md5_smtplib(self):
        with smtplib.SMTP("127.0.0.1", self.d.port("submission"),
                          timeout=WAIT) as c:
            c.ehlo("client.test")
            c.starttls(context=client_ctx())
            c.ehlo("client.test")
            c.esmtp_features["auth"] = "CRAM-MD5"
            self.assertEqual(c.login(ALICE, PASSWORDS[ALICE]),
                             (235, R_OK[4:]))
            self.assertEqual(c.sendmail(ALICE, ["bob@example.test"],
                                        b"Subject: cram\r\n\r\nx\r\n"), {})
        self.assert_auth_logged(mech="CRAM-MD5")
        self.assertEqual(len(self.d.user_files("bob")), 1)
        # a wrong password
        with smtplib.SMTP_SSL("127.0.0.1", self.d.port("submissions"),
                              context=client_ctx(), timeout=WAIT) as c:
            c.ehlo("client.test")
            c.user, c.password = ALICE, WRONG
            with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
                c.auth("CRAM-MD5", c.auth_cram_md5)
            self.assertEqual((cm.exception.smtp_code,
                              cm.exception.smtp_error), (535, R_FAILED[4:]))
        self.d.wait_log('user="alice@example.test" mech=CRAM-MD5 fails=1 '
                        'delay=1s')

    def test_smtplib_plain_and_login(self):
        for mech in ("PLAIN", "LOGIN"):
            with smtplib.SMTP_SSL("127.0.0.1", self.d.port("submissions"),
                                  context=client_ctx(), timeout=WAIT) as c:
                c.ehlo("client.test")
                c.esmtp_features["auth"] = mech
                self.assertEqual(c.login(ALICE, PASSWORDS[ALICE]),
                                 (235, R_OK[4:]))
            self.assert_auth_logged(mech=mech)

    def test_scram_sha_256(self):
        for initial in (False, True):
            with smtplib.SMTP_SSL("127.0.0.1", self.d.port("submissions"),
                                  context=client_ctx(), timeout=WAIT) as c:
                c.ehlo("client.test")
                scram = ScramSha256(ALICE, PASSWORDS[ALICE])
                self.assertEqual(
                    c.auth("SCRAM-SHA-256", scram,
                           initial_response_ok=initial),
                    (235, R_OK[4:]), initial)
                self.assertTrue(scram.verified, initial)
                self.assertEqual(scram.step, 3)
                self.assertEqual(c.sendmail(
                    ALICE, ["bob@example.test"],
                    b"Subject: scram\r\n\r\nx\r\n"), {})
        self.assert_auth_logged(mech="SCRAM-SHA-256", count=2)
        self.assertEqual(len(self.d.user_files("bob")), 2)
        self.assertNotIn("event=auth-failed", self.d.log_text())

    def test_scram_sha_256_proxy(self):
        with smtplib.SMTP_SSL("127.0.0.1", self.d.port("submissions"),
                              context=client_ctx(), timeout=WAIT) as c:
            c.ehlo("client.test")
            scram = ScramSha256(ADMIN, PASSWORDS[ADMIN], authzid=ALICE)
            self.assertEqual(c.auth("SCRAM-SHA-256", scram,
                                    initial_response_ok=False),
                             (235, R_OK[4:]))
            self.assertEqual(c.docmd("MAIL", "FROM:<alice@example.test>"),
                             (250, b"2.1.0 Sender ok"))
        self.assert_auth_logged(user=ALICE, mech="SCRAM-SHA-256")

    def test_scram_sha_256_wrong_password(self):
        with smtplib.SMTP_SSL("127.0.0.1", self.d.port("submissions"),
                              context=client_ctx(), timeout=WAIT) as c:
            c.ehlo("client.test")
            scram = ScramSha256(ALICE, WRONG)
            with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
                c.auth("SCRAM-SHA-256", scram, initial_response_ok=False)
            self.assertEqual((cm.exception.smtp_code,
                              cm.exception.smtp_error), (535, R_FAILED[4:]))
            self.assertFalse(scram.verified)
            self.assertEqual(c.docmd("MAIL", "FROM:<alice@example.test>"),
                             (530, R_REQUIRED[4:]))
        self.d.wait_log("mech=SCRAM-SHA-256 fails=1 delay=1s")

    def curl(self, url, *extra):
        mail = os.path.join(self.d.dir, "mail.txt")
        with open(mail, "wb") as f:
            f.write(b"Subject: from curl\r\n\r\ncurl body\r\n")
        return subprocess.run(
            ["curl", "--silent", "--show-error", "--max-time", str(WAIT),
             url, "--insecure", "--user", f"{ALICE}:{PASSWORDS[ALICE]}",
             "--mail-from", ALICE, "--mail-rcpt", "bob@example.test",
             "--upload-file", mail] + list(extra),
            capture_output=True, timeout=WAIT * 3)

    def test_curl(self):
        r = self.curl(f"smtps://127.0.0.1:{self.d.port('submissions')}"
                      "/client.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.curl(f"smtp://127.0.0.1:{self.d.port('submission')}"
                      "/client.test", "--ssl-reqd")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.d.wait_log('event=auth client=127.0.0.1 '
                        'user="alice@example.test" mech=', 2)
        files = self.d.user_files("bob")
        self.assertEqual(len(files), 2)
        for f in files:
            body = read(f)
            self.assertIn(b" with ESMTPSA id ", body)
            self.assertTrue(body.endswith(b"Subject: from curl\n\n"
                                          b"curl body\n"), body)
        # and with a wrong password curl fails, nothing delivered
        r = subprocess.run(
            ["curl", "--silent", "--show-error", "--max-time", str(WAIT),
             f"smtps://127.0.0.1:{self.d.port('submissions')}/client.test",
             "--insecure", "--user", f"{ALICE}:{WRONG}",
             "--mail-from", ALICE, "--mail-rcpt", "bob@example.test",
             "--upload-file", os.path.join(self.d.dir, "mail.txt")],
            capture_output=True, timeout=WAIT * 3)
        self.assertEqual(r.returncode, 67, r.stderr)   # login denied
        self.assertEqual(len(self.d.user_files("bob")), 2)


class Delivery(AuthTestCase):
    """Authenticated mail to a local user and to the queue."""

    def test_local_delivery(self):
        s = self.sub()
        try:
            self.login(s)
            qid = s.send_mail(b"alice@example.test", [b"bob@example.test"],
                              b"local")
            self.assertEqual(s.line(b"QUIT")[:3], b"221")
        finally:
            s.close()
        files = self.d.user_files("bob")
        self.assertEqual(len(files), 1)
        self.assertEqual(self.d.all_mail(), files)
        self.assertEqual(self.d.queue_files(), [])
        body = read(files[0])
        self.assertTrue(body.startswith(
            b"Return-Path: <alice@example.test>\n"
            b"Delivered-To: bob@example.test\n"
            b"Received: from client.test ([127.0.0.1])\n"
            b"\tby mx.test (inlet) with ESMTPSA id " + qid + b"\n"), body)
        self.assertTrue(body.endswith(b"Subject: local\n\n"
                                      b"authenticated body\n"), body)
        line = self.d.log_lines("event=queued")[0]
        self.assertIn(f'id={qid.decode()} from="<alice@example.test>" '
                      'nrcpt=1', line)
        self.assertTrue(line.endswith(' user="alice@example.test"'), line)

    def test_queue_delivery(self):
        s = self.subs()
        try:
            self.login(s)
            qid = s.send_mail(b"alice@example.test",
                              [b"x@remote.example", b"bob@example.test",
                               b"y@other.example"], b"queued")
            qid2 = s.send_mail(b"", [b"z@remote.example"], b"bounce")
        finally:
            s.close()
        bob = self.d.user_files("bob")
        self.assertEqual(len(bob), 1)
        self.assertTrue(read(bob[0]).startswith(
            b"Return-Path: <alice@example.test>\n"
            b"Delivered-To: bob@example.test\n"))
        queued = self.d.queue_files()
        self.assertEqual(len(queued), 2)
        self.assertEqual(glob.glob(os.path.join(self.d.queue, "tmp", "*")),
                         [])
        envs = {}
        for path in queued:
            name = os.path.basename(path)
            body = read(path)
            self.assertNotIn(b"Return-Path:", body)
            self.assertNotIn(b"Delivered-To:", body)
            self.assertTrue(body.startswith(
                b"Received: from client.test ([127.0.0.1])\n"
                b"\tby mx.test (inlet) with ESMTPSA id "), body)
            env = read(os.path.join(self.d.queue, "env", name)).decode()
            lines = env.split("\n")
            self.assertEqual(lines[-1], "", env)   # ends in a newline
            envs[lines[0]] = (lines[:-1], body)
        self.assertEqual(sorted(envs), sorted([f"queue-id {qid.decode()}",
                                               f"queue-id {qid2.decode()}"]))
        lines, body = envs[f"queue-id {qid.decode()}"]
        self.assertEqual(len(lines), 10, lines)
        self.assertRegex(lines[1],
                         r"^arrival \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(lines[2], "client 127.0.0.1")
        self.assertEqual(lines[3], "user alice@example.test")
        self.assertEqual(lines[4], "sender <alice@example.test>")
        self.assertEqual(lines[5], "body 7BIT")
        self.assertEqual(lines[6], "smtputf8 no")
        self.assertEqual(lines[7], f"size {len(body)}")
        self.assertEqual(lines[8], "recipient <x@remote.example>")
        self.assertEqual(lines[9], "recipient <y@other.example>")
        self.assertIn(b" id " + qid + b"\n", body)
        self.assertTrue(body.endswith(b"Subject: queued\n\n"
                                      b"authenticated body\n"), body)
        lines, body = envs[f"queue-id {qid2.decode()}"]
        self.assertEqual(lines[2:], ["client 127.0.0.1",
                                     "user alice@example.test", "sender <>",
                                     "body 7BIT", "smtputf8 no",
                                     f"size {len(body)}",
                                     "recipient <z@remote.example>"])
        self.assertTrue(body.endswith(b"Subject: bounce\n\n"
                                      b"authenticated body\n"), body)
        self.assertEqual(len(self.d.all_mail()), 1)
        queued_lines = self.d.log_lines("event=queued")
        self.assertEqual(len(queued_lines), 2)
        for line in queued_lines:
            self.assertTrue(line.endswith(' user="alice@example.test"'),
                            line)

    def test_dsn_parameters_recorded(self):
        """RFC 3461 through smtplib on 465: DSN offered, RET/ENVID and
        NOTIFY/ORCPT recorded in the queue's envelope with BODY, SMTPUTF8
        and the stored size; the local recipient's are not recorded."""
        with smtplib.SMTP_SSL("127.0.0.1", self.d.port("submissions"),
                              context=client_ctx(), timeout=WAIT) as c:
            c.ehlo("client.test")
            self.assertTrue(c.has_extn("dsn"), c.esmtp_features)
            c.login(ALICE, PASSWORDS[ALICE])
            c.mail(ALICE, ["RET=HDRS", "ENVID=QQ+2B123", "BODY=8BITMIME",
                           "SMTPUTF8"])
            self.assertEqual(c.rcpt("x@remote.example", [
                "NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;x@remote.example"])[0],
                250)
            self.assertEqual(c.rcpt("bob@example.test", ["NOTIFY=NEVER"])[0],
                             250)
            self.assertEqual(c.rcpt("y@other.example")[0], 250)
            self.assertEqual(c.rcpt("z@other.example", [
                "NOTIFY=DELAY", "NOTIFY=DELAY"]),
                (501, b"5.5.4 Parameter given more than once"))
            self.assertEqual(c.rcpt("z@other.example", ["ORCPT=rfc822"]),
                             (501, b"5.5.4 Bad parameter value: RCPT "
                                   b"parameter"))
            self.assertEqual(c.data(b"Subject: dsn\r\n\r\n\xc3\xa9\r\n")[0],
                             250)
        queued = self.d.queue_files()
        self.assertEqual(len(queued), 1)
        env = read(os.path.join(self.d.queue, "env",
                                os.path.basename(queued[0]))).decode()
        lines = env.splitlines()
        self.assertEqual(lines[4:], [
            "sender <alice@example.test>", "body 8BITMIME", "smtputf8 yes",
            f"size {len(read(queued[0]))}", "ret HDRS", "envid QQ+2B123",
            "recipient <x@remote.example> notify=SUCCESS,FAILURE "
            "orcpt=rfc822;x@remote.example",
            "recipient <y@other.example>"], env)

    def test_dsn_not_on_mx(self):
        """mx without a login: no DSN in EHLO, the parameters unknown."""
        s = connect(self.d.port("mx"))
        try:
            lines = s.ehlo()
            self.assertEqual([l for l in lines if l[4:] == b"DSN"], [], lines)
            self.assertEqual(s.line(b"MAIL FROM:<a@example.net> RET=FULL"),
                             b"555 5.5.4 Unsupported parameter")
        finally:
            s.close()

    def test_unauthenticated_relay_refused(self):
        s = connect(self.d.port("mx"))
        try:
            s.ehlo()
            self.assertEqual(s.line(b"MAIL FROM:<a@example.net>")[:3],
                             b"250")
            self.assertEqual(s.line(b"RCPT TO:<x@remote.example>"),
                             b"550 5.7.1 Relay access denied")
        finally:
            s.close()
        self.assertEqual(self.d.queue_files(), [])


class MxAuth(AuthTestCase):
    """mx_auth yes: AUTH on the mx role too (PLAIN and LOGIN only over
    TLS)."""
    daemon_opts = {"mx_auth": "yes"}

    def test_mx_auth_offered(self):
        s = connect(self.d.port("mx"))
        try:
            lines = s.ehlo()
            self.assertEqual(ehlo_auth(lines), {"CRAM-MD5", "SCRAM-SHA-256"},
                             lines)
            # RFC 4954 §4: no plaintext password over a clear channel
            code, lines = s.cmd(b"AUTH PLAIN " +
                                plain(ALICE, PASSWORDS[ALICE]))
            self.assertIn(lines[0], (R_MECH, R_ENCRYPT), lines)
            s.starttls()
            lines = s.ehlo()
            self.assertEqual(ehlo_auth(lines), set(MECHS.split()), lines)
            self.login(s)
            qid = s.send_mail(b"alice@example.test", [b"x@remote.example"])
        finally:
            s.close()
        self.assertEqual(len(self.d.queue_files()), 1)
        self.assertIn(b" with ESMTPSA id " + qid,
                      read(self.d.queue_files()[0]))

    def test_cram_md5_in_clear_text_then_starttls(self):
        """ESMTPA without TLS; STARTTLS forgets the login (RFC 3207
        §4.2)."""
        with smtplib.SMTP("127.0.0.1", self.d.port("mx"),
                          timeout=WAIT) as c:
            c.ehlo("client.test")
            c.user, c.password = ALICE, PASSWORDS[ALICE]
            self.assertEqual(c.auth("CRAM-MD5", c.auth_cram_md5),
                             (235, R_OK[4:]))
            self.assertEqual(c.sendmail(ALICE, ["bob@example.test"],
                                        b"Subject: esmtpa\r\n\r\nx\r\n"), {})
            c.starttls(context=client_ctx())
            c.ehlo("client.test")
            self.assertIn("PLAIN", c.esmtp_features["auth"].split())
            self.assertEqual(c.docmd("AUTH", "PLAIN " + plain(
                ALICE, PASSWORDS[ALICE]).decode()), (235, R_OK[4:]))
        self.assert_auth_logged(mech="CRAM-MD5")
        self.assert_auth_logged(mech="PLAIN")
        files = self.d.user_files("bob")
        self.assertEqual(len(files), 1)
        self.assertIn(b" with ESMTPA id ", read(files[0]))

    def test_auth_inside_transaction(self):
        s = connect(self.d.port("mx"))
        try:
            s.ehlo()
            s.starttls()
            s.ehlo()
            self.assertEqual(s.line(b"MAIL FROM:<x@example.net>"),
                             b"250 2.1.0 Sender ok")
            self.assertEqual(s.line(b"AUTH PLAIN " +
                                    plain(ALICE, PASSWORDS[ALICE])), R_IN_TX)
            self.assertEqual(s.line(b"RCPT TO:<bob@example.test>")[:3],
                             b"250")
            self.assertEqual(s.line(b"AUTH CRAM-MD5"), R_IN_TX)
            self.assertEqual(s.line(b"RSET")[:3], b"250")
            self.login(s)
        finally:
            s.close()


class Throttle(AuthTestCase):
    """auth_fail_limit 3, auth_ban_time 2s: growing delays, then a ban."""
    daemon_opts = {"auth_fail_limit": "3", "auth_ban_time": "2s"}

    def test_delays_and_ban(self):
        s = self.subs()
        try:
            bad = b"AUTH PLAIN " + plain(ALICE, WRONG)
            self.assertEqual(s.line(bad), R_FAILED)
            self.d.wait_log("fails=1 delay=1s")
            self.assertEqual(s.line(bad), R_FAILED)
            self.d.wait_log("fails=2 delay=2s")
            self.assertEqual(s.cmd(bad), (421, [R_BANNED]))
            self.assertEqual(s.read_to_eof(), b"")
        finally:
            s.close()
        self.d.wait_log("event=auth-ban client=127.0.0.1 fails=3 seconds=2")
        failed = self.d.log_lines("event=auth-failed")
        self.assertEqual(len(failed), 3, failed)
        for n, line in enumerate(failed[:2], 1):
            self.assertTrue(line.endswith(
                f'client=127.0.0.1 user="alice@example.test" mech=PLAIN '
                f'fails={n} delay={n}s'), line)
        self.assertIn("fails=3", failed[2])
        # a new connection from the address is refused at once
        self.assertEqual(raw_greeting(self.d.port("submission")),
                         R_BANNED + b"\r\n")
        self.d.wait_log("event=refused client=127.0.0.1 reason=auth-ban")
        # until the ban ends (bounded poll)
        deadline = time.monotonic() + WAIT
        while True:
            got = raw_greeting(self.d.port("mx"))
            if got.startswith(b"220 "):
                break
            self.assertEqual(got, R_BANNED + b"\r\n")
            self.assertLess(time.monotonic(), deadline, "ban never ended")
            time.sleep(0.2)
        s = self.sub()
        try:
            self.login(s)
        finally:
            s.close()
        self.assert_auth_logged()


class Lifecycle(AuthTestCase):
    """An exchange cut short by the command timeout or by SIGTERM."""
    daemon_opts = {"command_timeout": "2s"}

    def test_timeout_inside_exchange(self):
        s = self.subs()
        try:
            self.assertEqual(s.line(b"AUTH LOGIN"), b"334 VXNlcm5hbWU6")
            self.assertEqual(s.line(b64(ALICE)), b"334 UGFzc3dvcmQ6")
            self.assertEqual(s.reply(), (421, [
                b"421 4.4.2 mx.test Error: timeout exceeded"]))
            self.assertEqual(s.read_to_eof(), b"")
        finally:
            s.close()
        self.d.wait_log("event=timeout state=auth client=127.0.0.1")
        self.assertNotIn("event=auth-failed", self.d.log_text())

    def test_sigterm_during_failure_delay(self):
        s = self.subs()
        try:
            s.sock.sendall(b"AUTH PLAIN " + plain(ALICE, WRONG) + b"\r\n")
            self.d.wait_log("event=auth-failed")
            self.d.proc.send_signal(signal.SIGTERM)
            rest = s.read_to_eof()
        finally:
            s.close()
        # the 535 may or may not beat the signal; the 421 ends it
        self.assertIn(rest, (
            b"421 4.3.2 mx.test Service shutting down, closing "
            b"transmission channel\r\n",
            R_FAILED + b"\r\n421 4.3.2 mx.test Service shutting down, "
            b"closing transmission channel\r\n"))
        self.assertEqual(self.d.proc.wait(WAIT), 0)


class Sink(unittest.TestCase):
    """--sink: any login with PLAIN, LOGIN or CRAM-MD5, on any port."""

    def test_sink_any_login(self):
        tmp = tempfile.mkdtemp(prefix="inlet-auth-sink-")
        sinkdir = os.path.join(tmp, "Maildir")
        d = Daemon(args=["--sink", sinkdir, "-o",
                         "listen=127.0.0.1:0 127.0.0.1:0 submission "
                         "127.0.0.1:0 submissions"])
        try:
            self.assertEqual([r for _, r in d.listeners],
                             ["mx", "submission", "submissions"])
            n = 0
            for role in ("mx", "submission", "submissions"):
                for mech in ("PLAIN", "LOGIN", "CRAM-MD5"):
                    n += 1
                    user = f"u{n}-{mech.lower()}@any.invalid"
                    if role == "submissions":
                        c = smtplib.SMTP_SSL("127.0.0.1", d.port(role),
                                             context=client_ctx(),
                                             timeout=WAIT)
                    else:
                        c = smtplib.SMTP("127.0.0.1", d.port(role),
                                         timeout=WAIT)
                    with c:
                        c.ehlo("client.test")
                        self.assertEqual(c.esmtp_features["auth"].split(),
                                         ["PLAIN", "LOGIN", "CRAM-MD5"])
                        c.esmtp_features["auth"] = mech
                        self.assertEqual(c.login(user, SINK_PW),
                                         (235, R_OK[4:]), (role, mech))
                        self.assertEqual(c.sendmail(
                            user, ["dev@anything.invalid"],
                            f"Subject: {role} {mech}\r\n\r\nx\r\n"), {})
                    d.wait_log(f'event=auth client=127.0.0.1 user="{user}" '
                               f'mech={mech}')
            # raw dialogs; and nothing requires AUTH
            s = connect(d.port("submission"))
            try:
                s.ehlo()
                self.assertEqual(s.line(b"AUTH LOGIN"), b"334 VXNlcm5hbWU6")
                self.assertEqual(s.line(b64("who")), b"334 UGFzc3dvcmQ6")
                self.assertEqual(s.line(b64(SINK_PW)), R_OK)
            finally:
                s.close()
            s = connect(d.port("mx"))
            try:
                s.ehlo()
                self.assertEqual(s.line(b"AUTH PLAIN"), b"334 ")
                self.assertEqual(s.line(plain("anyone", SINK_PW)), R_OK)
            finally:
                s.close()
            s = connect_tls(d.port("submissions"))
            try:
                s.ehlo()
                code, lines = s.cmd(b"AUTH CRAM-MD5")
                self.assertEqual(code, 334, lines)
                chal = base64.b64decode(lines[0][4:])
                self.assertRegex(chal, rb"^<[^<>@]+@[^<>]+>$")
                digest = hmac.new(SINK_PW.encode(), chal, "md5").hexdigest()
                self.assertEqual(s.line(b64(f"crammer {digest}")), R_OK)
            finally:
                s.close()
            s = connect(d.port("submission"))
            try:
                s.ehlo()
                s.send_mail(b"x@example.net", [b"dev@anything.invalid"])
            finally:
                s.close()
            d.wait_log('user="crammer" mech=CRAM-MD5')
        finally:
            rc = d.stop()
        try:
            self.assertEqual(rc, 0, d.log_text())
            text = d.log_text() + d.out_text()
            self.assertNotIn(SINK_PW, text)
            self.assertNotIn(b64(SINK_PW).decode().rstrip("="), text)
            self.assertNotIn("event=auth-failed", text)
            files = glob.glob(os.path.join(sinkdir, "new", "*"))
            self.assertEqual(len(files), 10)
        finally:
            d.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)


class StartupErrors(harness.ConfigErrorCase):
    """A sasl_db that cannot be read is a configuration error: exit 2."""

    def run_conf(self, extra):
        """The one line of stderr for the base config plus extra."""
        return super().run_conf(
            "hostname mx.test\n" + LISTEN_ALL + "domains example.test\n"
            f"maildir {self.dir}/Maildir\n"
            f"tls_cert {FILES['cert']}\ntls_key {FILES['key']}\n" + extra)[1]

    def test_missing_sasl_db(self):
        missing = os.path.join(self.dir, "no-such-sasldb2")
        err = self.run_conf(f"sasl_db {missing}\n")
        self.assertIn(missing, err)
        self.assertFalse(os.path.exists(missing))

    def test_sasl_db_in_missing_dir(self):
        missing = os.path.join(self.dir, "nodir", "sasldb2")
        err = self.run_conf(f"sasl_db {missing}\n"
                            f"sasl_mechanisms {MECHS}\n")
        self.assertIn(missing, err)


if __name__ == "__main__":
    sys.exit(harness.main("test_auth",
                          ("openssl", "swaks", "curl", "saslpasswd2"),
                          ("Net::SSLeay", "Digest::MD5")))
