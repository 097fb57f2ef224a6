#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""inlet-relay against real peers: mail submitted to inletd on 587 (AUTH
over STARTTLS, into the queue) is handed by inlet-relay to a private
Postfix on 127.0.0.1 (its own config_directory, queue_directory and
port; STARTTLS with a certificate from a CA made here, Cyrus SASL,
check_recipient_access answering 450 and 550 for chosen addresses,
Maildir delivery), and a DSN for a refused recipient lands in the
sender's Maildir.  Faults: the smarthost down at start, a certificate for
another name, no STARTTLS offered (a scripted server that records what
it was sent), 535 at AUTH, 421 greeting, 552 after DATA, kill -9 of
inlet-relay in the middle of DATA.  Postfix is stopped by its master's
PID; every wait is bounded.
"""
import email
import email.policy
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
from inlet_harness import WAIT, Daemon, make_sasldb  # noqa: E402

RELAY = os.environ.get("INLET_RELAY", os.path.join(
    os.path.dirname(harness.INLETD), "inlet-relay"))
POSTFIX = "/usr/sbin/postfix"
SLOW = WAIT * 3     # Postfix's own steps (start, reload, delivery)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class Pki:
    """A test CA and certificates it signs (openssl(1))."""

    def __init__(self, d):
        self.dir = d
        self.ca_key = os.path.join(d, "ca-key.pem")
        self.ca = os.path.join(d, "ca.pem")
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", self.ca_key, "-out", self.ca, "-days", "30",
             "-subj", "/CN=inlet test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"], check=True)

    def issue(self, name, sans):
        key = os.path.join(self.dir, name + "-key.pem")
        csr = os.path.join(self.dir, name + ".csr")
        cert = os.path.join(self.dir, name + "-cert.pem")
        ext = os.path.join(self.dir, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=" + sans + "\n"
                    "extendedKeyUsage=serverAuth\n")
        run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-out", csr, "-subj", "/CN=" + name],
            check=True)
        run(["openssl", "x509", "-req", "-in", csr, "-CA", self.ca,
             "-CAkey", self.ca_key, "-CAcreateserial", "-out", cert,
             "-days", "30", "-extfile", ext], check=True)
        return cert, key


MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
127.0.0.1:{sport} inet n - n - - smtpd
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
tlsmgr     unix  -       -       n       1000?   1       tlsmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
flush      unix  n       -       n       1000?   0       flush
proxymap   unix  -       -       n       -       -       proxymap
proxywrite unix  -       -       n       -       1       proxymap
smtp       unix  -       -       n       -       -       smtp
relay      unix  -       -       n       -       -       smtp
showq      unix  n       -       n       -       -       showq
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
local      unix  -       n       n       -       -       local
virtual    unix  -       n       n       -       -       virtual
lmtp       unix  -       -       n       -       -       lmtp
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
postlog    unix-dgram n  -       n       -       1       postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = smarthost.test
mydomain = smarthost.test
myorigin = $myhostname
mydestination =
relayhost =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.2/32
alias_maps =
alias_database =
local_recipient_maps =
biff = no
maillog_file = {d}/data/maillog
maillog_file_prefixes = /var, /dev/stdout, {d}/data
virtual_mailbox_domains = remote.test
virtual_mailbox_base = {d}/mail
virtual_mailbox_maps = texthash:{d}/etc/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
default_transport = error:no mail leaves this test instance
relay_transport = error:no mail leaves this test instance
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = {d}/etc/sasl
smtpd_sasl_local_domain = smarthost.test
smtpd_recipient_restrictions =
  check_recipient_access texthash:{d}/etc/access,
  permit_sasl_authenticated, reject
"""

USERS = ("bob", "carol", "dave", "tempfail", "reject")


class Smarthost:
    """A private Postfix: submission with STARTTLS on .port, implicit TLS
    on .sport, SASL login relay / secret, Maildirs for USERS@remote.test."""

    def __init__(self, work, pki):
        self.dir = os.path.join(work, "postfix")
        self.etc = os.path.join(self.dir, "etc")
        self.port, self.sport = free_port(), free_port()
        self.pid = None
        for d in ("etc/sasl", "queue", "data", "mail"):
            os.makedirs(os.path.join(self.dir, d))
        pw = pwd.getpwnam("postfix")
        os.chown(os.path.join(self.dir, "data"), pw.pw_uid, pw.pw_gid)
        os.chown(os.path.join(self.dir, "mail"), 65534, 65534)
        cert, key = pki.issue("smarthost", "DNS:smarthost.test,IP:127.0.0.1")
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(d=self.dir, cert=cert, key=key))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=self.port, sport=self.sport))
        with open(os.path.join(self.etc, "vmailbox"), "w") as f:
            for u in USERS:
                f.write(f"{u}@remote.test remote.test/{u}/\n")
        sasldb = os.path.join(self.etc, "sasl", "sasldb2")
        make_sasldb(sasldb, {"relay@smarthost.test": "secret"})
        os.chown(sasldb, pw.pw_uid, pw.pw_gid)
        with open(os.path.join(self.etc, "sasl", "smtpd.conf"), "w") as f:
            f.write(f"pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
                    f"sasldb_path: {sasldb}\nmech_list: PLAIN LOGIN\n")
        self.set_access(tempfail=True)

    def set_access(self, tempfail):
        with open(os.path.join(self.etc, "access"), "w") as f:
            f.write("reject@remote.test 550 5.1.1 no such user here\n")
            if tempfail:
                f.write("tempfail@remote.test 450 4.2.0 try again later\n")

    def pf(self, *args):
        return run([POSTFIX, "-c", self.etc] + list(args))

    def start(self):
        r = self.pf("start")
        pidfile = os.path.join(self.dir, "queue", "pid", "master.pid")

        def master():
            try:
                with open(pidfile) as f:
                    return int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                return None
        self.pid = wait_for(master, what="Postfix master: %r" % (r,))
        wait_for(lambda: self._greets(), what="Postfix greeting")

    def _greets(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), 1) as s:
                return s.recv(100).startswith(b"220")
        except OSError:
            return False

    def reload(self):
        self.pf("reload")
        time.sleep(1)       # the master re-reads; new smtpd processes

    def stop(self):
        """SIGTERM to the master we started; it ends its children."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        end = time.monotonic() + SLOW
        while time.monotonic() < end:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        self.pid = None

    def maildir(self, user):
        return os.path.join(self.dir, "mail", "remote.test", user)

    def log(self):
        try:
            with open(os.path.join(self.dir, "data", "maillog"),
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class FakeServer(threading.Thread):
    """A scripted smarthost on 127.0.0.1: greeting, EHLO (STARTTLS when
    tls is given: an SSLContext), then MAIL/RCPT/DATA with the replies
    asked for; records every command; with hang_after_data it never
    answers the final dot (so a test can kill the client then)."""

    def __init__(self, tls=None, greeting=b"220 fake ESMTP",
                 final=b"250 2.0.0 ok", hang_after_data=False):
        super().__init__(daemon=True)
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

    def session(self, c):
        f = c.makefile("rb")
        c.sendall(self.greeting + b"\r\n")
        if not self.greeting.startswith(b"220"):
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
                          b"250 8BITMIME\r\n")
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
                c.sendall(self.final + b"\r\n")
            elif verb == b"QUIT":
                c.sendall(b"221 bye\r\n")
                return
            else:
                c.sendall(b"250 ok\r\n")

    def close(self):
        self.stop_ev.set()
        self.lsock.close()


class RelayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="inlet-relay-")
        os.chmod(cls.work, 0o755)
        cls.pki = Pki(cls.work)
        cls.smarthost = Smarthost(cls.work, cls.pki)
        cls.smarthost.start()
        cls.inlet_cert = harness.make_cert(cls.work, "inlet")
        cls.sasldb = make_sasldb(os.path.join(cls.work, "inlet-sasldb"),
                                 {"alice@example.test": "alicepw"})

    @classmethod
    def tearDownClass(cls):
        cls.smarthost.stop()
        shutil.rmtree(cls.work, ignore_errors=True)

    def setUp(self):
        self.smarthost.set_access(tempfail=True)
        self.d = Daemon({
            "sasl_db": self.sasldb, "queue": None, "relay_host": None,
        }, listen="listen 127.0.0.1:0 submission\n",
            maildir="mail/%d/%u", certs=[("inlet",) + self.inlet_cert],
            start=False)
        self.queue = self.d.path("queue")
        self.authfile = self.d.path("relay-auth")
        self.write_auth("secret")
        self.relay_conf = {
            "sasl_db": self.sasldb, "queue": self.queue,
            "relay_host": f"smtp://127.0.0.1:{self.smarthost.port}",
            "relay_auth_file": self.authfile,
            "relay_ca_file": self.pki.ca,
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
        with open(self.authfile, "w") as f:
            f.write(f"# smarthost logins\n127.0.0.1 relay {password}\n"
                    f"localhost relay {password}\n")
        os.chmod(self.authfile, 0o600)

    def set_conf(self, **kw):
        self.relay_conf.update(kw)
        self.d.write_conf(self.relay_conf)

    def start_relay(self, *args):
        self.logf = open(self.relay_log, "a")
        self.relay = subprocess.Popen(
            [RELAY, "-d", "-c", self.d.conf] + list(args),
            stdout=self.logf, stderr=self.logf, stdin=subprocess.DEVNULL)

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

    def wait_relay_log(self, pattern, count=1):
        return wait_for(lambda: len(re.findall(pattern, self.relay_text()))
                        >= count, what=pattern + " in\n" + self.relay_text())

    def submit(self, rcpts, subject="hello", body="Hi there.\n"):
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
            s.sendmail("alice@example.test", rcpts, msg)

    def queue_names(self):
        p = os.path.join(self.queue, "new")
        return sorted(os.listdir(p)) if os.path.isdir(p) else []

    def alice_dsns(self):
        return maildir_files(self.d.path("mail", "example.test", "alice"))

    def relay_cmd(self, *args):
        return run([RELAY, "-c", self.d.conf] + list(args))

    # ---- the happy path and the refusals ------------------------------

    def test_delivers_and_bounces(self):
        self.start_relay()
        self.submit(["bob@remote.test", "reject@remote.test"],
                    subject="first")
        bob = self.smarthost.maildir("bob")
        files = wait_for(lambda: maildir_files(bob), what="bob's mail")
        with open(files[0], "rb") as f:
            self.assertIn(b"Subject: first", f.read())
        self.wait_relay_log(r"event=delivery .*to=\"<bob@remote\.test>\" "
                            r"relay=\"127\.0\.0\.1\[127\.0\.0\.1\]:\d+\" "
                            r"delay=\d+s status=sent dsn=2\.0\.0")
        self.wait_relay_log(r"to=\"<reject@remote\.test>\".*status=bounced "
                            r"dsn=5\.1\.1 reply=\"550 5\.1\.1")
        dsns = wait_for(self.alice_dsns, what="the DSN")
        with open(dsns[0], "rb") as f:
            m = email.message_from_binary_file(f, policy=email.policy.default)
        self.assertEqual(m.get_content_type(), "multipart/report")
        self.assertEqual(m.get_param("report-type"), "delivery-status")
        self.assertEqual(m["Return-Path"], "<>")
        parts = list(m.iter_parts())
        self.assertEqual(parts[1].get_content_type(),
                         "message/delivery-status")
        status = parts[1].get_payload()
        fields = {k: v for blk in status for k, v in blk.items()}
        self.assertEqual(fields["Final-Recipient"],
                         "rfc822; reject@remote.test")
        self.assertEqual(fields["Action"], "failed")
        self.assertEqual(fields["Status"], "5.1.1")
        self.assertIn("550 5.1.1", fields["Diagnostic-Code"])
        self.assertEqual(fields["Reporting-MTA"], "dns; mx.test")
        self.assertEqual(parts[2].get_content_type(), "text/rfc822-headers")
        self.assertIn("Subject: first", parts[2].get_content())
        # bob was not bounced, and the message left the queue
        self.assertNotIn("bob@remote.test", fields["Final-Recipient"])
        wait_for(lambda: self.queue_names() == [], what="an empty queue")
        self.assertEqual(len(self.alice_dsns()), 1)

    def test_tempfail_is_retried_then_delivered(self):
        self.start_relay()
        self.submit(["tempfail@remote.test"], subject="later")
        self.wait_relay_log(r"to=\"<tempfail@remote\.test>\".*"
                            r"status=deferred dsn=4\.2\.0")
        listing = self.relay_cmd("-l").stdout.decode()
        self.assertRegex(listing, r"<tempfail@remote\.test> deferred until "
                         r"\S+, 1 tries: 450 4\.2\.0 ")
        self.assertRegex(listing, r"<alice@example\.test>")
        self.smarthost.set_access(tempfail=False)
        self.smarthost.reload()
        wait_for(lambda: maildir_files(self.smarthost.maildir("tempfail")),
                 what="the retried delivery")
        self.wait_relay_log(r"to=\"<tempfail@remote\.test>\".*status=sent")
        wait_for(lambda: self.queue_names() == [], what="an empty queue")
        self.assertEqual(self.alice_dsns(), [])

    def test_connection_reused_and_pipelined(self):
        # two messages queued before the agent starts: one connection
        self.submit(["carol@remote.test"], subject="one")
        self.submit(["carol@remote.test", "dave@remote.test"],
                    subject="two")
        self.start_relay()
        wait_for(lambda: len(maildir_files(self.smarthost.maildir("carol")))
                 == 2, what="carol's two messages")
        self.wait_relay_log(r"status=sent", count=3)
        self.assertEqual(len(re.findall(r"event=connection",
                                        self.relay_text())), 0)

    # ---- faults --------------------------------------------------------

    def test_smarthost_down_at_start_then_flush(self):
        self.set_conf(relay_host=f"smtp://127.0.0.1:{free_port()}")
        self.start_relay()
        self.submit(["bob@remote.test"], subject="down")
        self.wait_relay_log(r"event=connection .*Connection refused")
        self.wait_relay_log(r"status=deferred dsn=4\.4\.2")
        self.assertEqual(len(self.queue_names()), 1)
        # the smarthost is back (here: the right one is configured)
        self.set_conf(relay_host=f"smtps://127.0.0.1:{self.smarthost.sport}",
                      relay_retry_min="1h", relay_retry_max="1h")
        self.relay.send_signal(signal.SIGHUP)
        self.wait_relay_log(r"event=reload status=ok")
        r = self.relay_cmd("-f")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: self.queue_names() == [], what="the flush")
        self.wait_relay_log(r"to=\"<bob@remote\.test>\".*status=sent")

    def test_wrong_certificate_name_defers(self):
        self.set_conf(relay_host=f"smtp://localhost:{self.smarthost.port}")
        self.start_relay()
        self.submit(["bob@remote.test"], subject="wrongname")
        self.wait_relay_log(r"event=connection .*certificate: "
                            r"[Hh]ostname mismatch")
        self.wait_relay_log(r"status=deferred")
        self.assertEqual(maildir_files(self.smarthost.maildir("bob")), [])
        self.assertEqual(len(self.queue_names()), 1)

    def test_no_starttls_offered_sends_nothing_in_clear(self):
        fake = FakeServer(tls=None)
        fake.start()
        try:
            self.set_conf(relay_host=f"smtp://127.0.0.1:{fake.port}")
            self.start_relay()
            self.submit(["bob@remote.test"], subject="clear")
            self.wait_relay_log(r"STARTTLS is required but not offered")
            self.wait_relay_log(r"status=deferred")
            verbs = [c.split(b" ")[0].upper() for c in fake.commands]
            self.assertNotIn(b"MAIL", verbs)
            self.assertNotIn(b"AUTH", verbs)
        finally:
            fake.close()

    def test_535_at_auth_defers(self):
        self.write_auth("wrong")
        self.start_relay()
        self.submit(["bob@remote.test"], subject="badauth")
        self.wait_relay_log(r"event=connection .*535 5\.7\.8")
        self.wait_relay_log(r"status=deferred dsn=4\.7\.8")
        self.assertEqual(len(self.queue_names()), 1)
        self.assertEqual(self.alice_dsns(), [])

    def test_421_greeting_and_552_after_data(self):
        fake = FakeServer(greeting=b"421 4.3.2 not now")
        fake.start()
        try:
            self.set_conf(relay_host=f"smtp://127.0.0.1:{fake.port}")
            self.start_relay()
            self.submit(["bob@remote.test"], subject="busy")
            self.wait_relay_log(r"status=deferred dsn=4\.3\.2 "
                                r"reply=\"421 4\.3\.2 not now\"")
        finally:
            fake.close()
        self.stop_relay()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert, key = self.pki.issue("fake", "IP:127.0.0.1")
        ctx.load_cert_chain(cert, key)
        fake = FakeServer(tls=ctx, final=b"552 5.3.4 too big for me")
        fake.start()
        try:
            self.set_conf(relay_host=f"smtp://127.0.0.1:{fake.port}",
                          relay_auth_file=None)
            self.start_relay()
            self.relay_cmd("-f")
            self.wait_relay_log(r"to=\"<bob@remote\.test>\".*status=bounced "
                                r"dsn=5\.3\.4")
            wait_for(self.alice_dsns, what="the DSN for the 552")
            wait_for(lambda: self.queue_names() == [], what="empty queue")
        finally:
            fake.close()

    def test_kill_9_during_data_loses_nothing(self):
        """kill -9 while the smarthost holds the final reply: nothing is
        lost and, since this smarthost never said 250, the restarted
        agent's delivery to Postfix is the only copy (the duplicate case,
        a 250 that arrives before the state is saved, sends it twice)."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert, key = self.pki.issue("fake9", "IP:127.0.0.1")
        ctx.load_cert_chain(cert, key)
        fake = FakeServer(tls=ctx, hang_after_data=True)
        fake.start()
        try:
            self.set_conf(relay_host=f"smtp://127.0.0.1:{fake.port}",
                          relay_auth_file=None)
            self.start_relay()
            self.submit(["bob@remote.test", "carol@remote.test"],
                        subject="killed")
            self.assertTrue(fake.got_data.wait(SLOW), "no DATA at the fake")
            self.stop_relay(signal.SIGKILL)
        finally:
            fake.close()
        self.assertEqual(len(self.queue_names()), 1)
        self.set_conf(relay_host=f"smtp://127.0.0.1:{self.smarthost.port}",
                      relay_auth_file=self.authfile)
        self.start_relay()
        for u in ("bob", "carol"):
            wait_for(lambda: maildir_files(self.smarthost.maildir(u)),
                     what=u + "'s copy")
        wait_for(lambda: self.queue_names() == [], what="an empty queue")
        time.sleep(1)
        for u in ("bob", "carol"):
            got = [p for p in maildir_files(self.smarthost.maildir(u))
                   if b"Subject: killed" in harness.read(p)]
            self.assertEqual(len(got), 1, u)

    # ---- the command line ----------------------------------------------

    def test_delete_and_check(self):
        self.set_conf(relay_host=f"smtp://127.0.0.1:{free_port()}")
        self.submit(["bob@remote.test"], subject="todelete")
        names = self.queue_names()
        self.assertEqual(len(names), 1)
        r = self.relay_cmd("-l")
        self.assertIn(b"<bob@remote.test> pending", r.stdout)
        self.assertIn(b"1 message in the queue", r.stdout)
        r = self.relay_cmd("-D", names[0])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.queue_names(), [])
        self.assertFalse(os.path.exists(os.path.join(self.queue, "env",
                                                     names[0])))
        r = self.relay_cmd("-D", names[0])
        self.assertEqual(r.returncode, 1)
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


if __name__ == "__main__":
    if not os.access(RELAY, os.X_OK):
        print("missing: " + RELAY)
        sys.exit(1 if harness.CI else 77)
    sys.exit(harness.main("test_relay", ("openssl", "saslpasswd2",
                                          POSTFIX)))
