#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Real content filters behind inletd's milter client: rspamd and
OpenDKIM from Debian, each started by the test in its own temp dir, on a
free loopback port, with its own configuration, and stopped by PID.

rspamd: its proxy worker in milter mode scanning by itself, every module
that would look anything up on the network (DNS lists, SPF, DKIM, DMARC,
fuzzy hashes, maps fetched over HTTPS) turned off and its resolver
pointed at a closed loopback port; no Redis.  GTUBE is refused on the mx
role with rspamd's 5xx and message, a clean message is delivered with
rspamd's headers (its queue id is ours), and with rspamd stopped the
message gets milter_default_action.

OpenDKIM: a key made by the test (opendkim-genkey), the public key given
to it by TestPublicKeys (no DNS).  On the submission role it signs what
alice submits, and the queued copy's DKIM-Signature verifies with
python3-dkim and a dnsfunc that returns the test key; on the mx role a
message signed by the test gets Authentication-Results: dkim=pass.

Only 127.0.0.1; every wait is bounded; nothing times.
"""
import os
import pwd
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402
from inlet_harness import WAIT  # noqa: E402
from milter_filter import free_port, python_with  # noqa: E402

START_WAIT = 60     # seconds: rspamd compiles its rules at start
DOMAIN = "example.org"
SELECTOR = "test"
ALICE = "alice@example.org"
PASSWORD = "alice-secret"
GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

# The modules of Debian's rspamd 3.4 that go to the network (DNS or
# HTTPS maps), or want Redis: off.
RSPAMD_OFF = ("arc", "asn", "bimi", "dkim", "dmarc", "emails",
              "fuzzy_check", "greylist", "hfilter", "history_redis",
              "mid", "mime_types", "multimap", "mx_check", "neural",
              "phishing", "ratelimit", "rbl", "replies", "reputation",
              "rspamd_update", "spf", "url_redirector", "whitelist")


def message(subject, body, sender=ALICE, to="bob@example.test"):
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}@example.org>\r\n"
            "Date: Fri, 04 Dec 2026 21:00:00 +0000\r\n\r\n").encode() + body


def wait_port(port, proc, what):
    """Until 127.0.0.1:port accepts (bounded); proc must not exit."""
    deadline = time.monotonic() + START_WAIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} never listened on {port}")


def stop_pid(proc):
    """SIGTERM by PID, a bounded wait, then SIGKILL."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(WAIT)


def milter_missing():
    """Why this inletd cannot run these tests (no milter key), or None."""
    d = harness.Daemon(start=False, prefix="inlet-filt-probe-")
    try:
        d.write_conf(f"milter inet:127.0.0.1:{free_port()} mx\n")
        r = harness.run_inletd(["-c", d.conf, "-n"])
    finally:
        d.cleanup()
    if r.returncode != 0:
        return ("inletd has no milter client: " +
                r.stderr.decode(errors="replace").strip())
    return None


class Rspamd:
    """Debian's rspamd in dir/rspamd: one proxy worker in milter mode
    that scans by itself, on a free loopback port; run as _rspamd when
    we are root.  .port, .stop()."""

    def __init__(self, directory, normal=False):
        self.dir = os.path.join(directory, "rspamd")
        for sub in ("local.d", "db", "run", "log"):
            os.makedirs(os.path.join(self.dir, sub))
        self.port = free_port()
        self.normal_port = free_port() if normal else None
        self.log = os.path.join(self.dir, "log", "rspamd.log")
        self.write_conf()
        user = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("_rspamd")
            os.chmod(directory, 0o755)
            os.chmod(self.dir, 0o755)
            for sub in ("db", "run", "log"):
                os.chown(os.path.join(self.dir, sub), pw.pw_uid, pw.pw_gid)
            user = ["-u", "_rspamd", "-g", "_rspamd"]
        self.out = open(os.path.join(self.dir, "stdout"), "w")
        var = {"CONFDIR": "/etc/rspamd", "LOCAL_CONFDIR": self.dir,
               "RUNDIR": os.path.join(self.dir, "run"),
               "DBDIR": os.path.join(self.dir, "db"),
               "LOGDIR": os.path.join(self.dir, "log")}
        cmd = ["rspamd", "-f", "-c", os.path.join(self.dir, "rspamd.conf")]
        for k, v in var.items():
            cmd += ["--var", f"{k}={v}"]
        self.proc = subprocess.Popen(cmd + user, stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=self.out)
        try:
            wait_port(self.port, self.proc, "rspamd")
            if self.normal_port is not None:
                wait_port(self.normal_port, self.proc, "rspamd")
        except BaseException:
            self.stop()
            raise

    def write_conf(self):
        with open(os.path.join(self.dir, "rspamd.conf"), "w") as f:
            f.write(f"""\
.include "$CONFDIR/common.conf"
options {{
    pidfile = "$RUNDIR/rspamd.pid";
    .include "$CONFDIR/options.inc"
    .include(try=true; priority=1,duplicate=merge) "$LOCAL_CONFDIR/local.d/options.inc"
}}
logging {{
    type = "file";
    filename = "$LOGDIR/rspamd.log";
    level = "info";
}}
worker "rspamd_proxy" {{
    bind_socket = "127.0.0.1:{self.port}";
    milter = yes;
    timeout = 120s;
    count = 1;
    upstream "local" {{
        default = yes;
        self_scan = yes;
    }}
    reject_message = "Spam message rejected";
}}
""")
            if self.normal_port is not None:     # for rspamc
                f.write(f"""\
worker "normal" {{
    bind_socket = "127.0.0.1:{self.normal_port}";
    .include "$CONFDIR/worker-normal.inc"
}}
""")
        local = os.path.join(self.dir, "local.d")
        with open(os.path.join(local, "options.inc"), "w") as f:
            f.write('dns {\n    nameserver = ["127.0.0.1:1"];\n'
                    '    timeout = 0.1s;\n    retransmits = 1;\n}\n')
        for module in RSPAMD_OFF:
            with open(os.path.join(local, module + ".conf"), "w") as f:
                f.write("enabled = false;\n")
        with open(os.path.join(local, "milter_headers.conf"), "w") as f:
            # the test's client is 127.0.0.1: headers for it too
            f.write("extended_spam_headers = true;\nskip_local = false;\n"
                    "skip_authenticated = false;\n")

    def log_text(self):
        return harness.read(self.log).decode(errors="replace")

    def stop(self):
        stop_pid(self.proc)
        self.out.close()


class OpenDKIM:
    """Debian's opendkim in dir/opendkim on a free loopback port, Mode sv,
    signing for DOMAIN with a key made here (run as opendkim when we are
    root).  Mail from an authenticated sender ({auth_type}, as OpenDKIM
    reads it with its stock MacroList) is signed,
    the rest verified; 127.0.0.1 is not an internal host here, since
    every test client comes from there.  .port, .private, .dns_txt,
    .stop()."""

    def __init__(self, directory):
        self.dir = os.path.join(directory, "opendkim")
        os.makedirs(self.dir)
        subprocess.run(["opendkim-genkey", "-b", "1024", "-d", DOMAIN,
                        "-s", SELECTOR, "-D", self.dir], check=True,
                       capture_output=True, timeout=WAIT * 3)
        self.private = os.path.join(self.dir, SELECTOR + ".private")
        record = harness.read(os.path.join(self.dir, SELECTOR + ".txt"))
        text = record.decode().split("(", 1)[1].split(")", 1)[0]
        self.dns_txt = "".join(text.split('"')[1::2])
        keys = os.path.join(self.dir, "keys")
        with open(keys, "w") as f:
            f.write(f"{SELECTOR}._domainkey.{DOMAIN} {self.dns_txt}\n")
        self.port = free_port()
        conf = os.path.join(self.dir, "opendkim.conf")
        with open(conf, "w") as f:
            f.write(f"""\
Syslog no
Background no
Socket inet:{self.port}@127.0.0.1
PidFile {self.dir}/opendkim.pid
Mode sv
Domain {DOMAIN}
Selector {SELECTOR}
KeyFile {self.private}
InternalHosts 192.0.2.1
Canonicalization relaxed/simple
TestPublicKeys {keys}
RequireSafeKeys false
""")
            if os.geteuid() == 0:
                f.write("UserID opendkim\n")
        if os.geteuid() == 0:
            pw = pwd.getpwnam("opendkim")
            os.chmod(directory, 0o755)
            os.chmod(self.dir, 0o755)
            for name in os.listdir(self.dir):
                os.chown(os.path.join(self.dir, name), pw.pw_uid, pw.pw_gid)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.out = open(os.path.join(directory, "opendkim.out"), "w")
        self.proc = subprocess.Popen(["opendkim", "-f", "-x", conf],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=self.out)
        try:
            wait_port(self.port, self.proc, "opendkim")
        except BaseException:
            self.stop()
            raise

    def stop(self):
        stop_pid(self.proc)
        self.out.close()


def dkim_run(script, data):
    """Run a python3-dkim snippet on data (stdin); its stdout."""
    exe = python_with("dkim")
    r = subprocess.run([exe, "-c", script], input=data,
                       capture_output=True, timeout=WAIT * 3)
    if r.returncode != 0:
        raise AssertionError(r.stderr.decode(errors="replace"))
    return r.stdout


class FilterCase(unittest.TestCase):
    def setUp(self):
        if SKIP:
            self.skipTest(SKIP)
        self.tmp = tempfile.mkdtemp(prefix="inlet-filters-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def daemon(self, conf, **kw):
        d = harness.Daemon(conf, prefix="inlet-filt-", **kw)
        self.addCleanup(d.cleanup)
        self.addCleanup(d.stop)
        return d

    def send(self, port, msg, sender=b"s@example.net",
             rcpts=(b"bob@example.test",)):
        """One message over the mx port: the final reply's (code, line)."""
        c = harness.connect(port)
        try:
            c.ehlo(b"client.example")
            for line, want in ([(b"MAIL FROM:<" + sender + b">", 250)] +
                               [(b"RCPT TO:<" + r + b">", 250)
                                for r in rcpts] + [(b"DATA", 354)]):
                code, lines = c.cmd(line)
                if code != want:
                    return code, lines[0].decode()
            code, lines = c.cmd(msg + b".")
            return code, lines[0].decode()
        finally:
            c.close()


class RspamdMx(FilterCase):
    """rspamd's proxy worker as the mx role's filter: one for the class
    (it takes seconds to start), one of its own for the test that stops
    it."""

    @classmethod
    def setUpClass(cls):
        cls.shared = None
        if SKIP:
            return
        cls.shared_dir = tempfile.mkdtemp(prefix="inlet-filters-")
        cls.shared = Rspamd(cls.shared_dir)

    @classmethod
    def tearDownClass(cls):
        if cls.shared is not None:
            cls.shared.stop()
            shutil.rmtree(cls.shared_dir, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.rspamd = self.shared

    def start(self, extra=""):
        return self.daemon(f"milter inet:127.0.0.1:{self.rspamd.port} mx\n"
                           + extra)

    def test_gtube_refused_with_rspamds_message(self):
        d = self.start()
        code, line = self.send(d.port("mx"), message(
            "gtube", GTUBE + b"\r\n", sender="s@example.net"))
        self.assertEqual(line, "554 5.7.1 Gtube pattern")
        self.assertEqual(d.new_files(), [])
        self.assertEqual(os.listdir(os.path.join(d.maildir, "tmp")), [])
        self.assertIn("GTUBE", self.rspamd.log_text())

    def test_clean_message_gets_rspamds_headers(self):
        d = self.start()
        code, line = self.send(d.port("mx"), message(
            "lunch", b"Shall we have lunch at noon?\r\n",
            sender="s@example.net"))
        self.assertEqual(code, 250, line)
        qid = line.rsplit(" ", 1)[1]
        text = harness.read(d.new_files()[0]).decode()
        head = text.split("\n\n", 1)[0]
        # rspamd's headers, in the order it chose, after the message's
        self.assertRegex(head, r"\nDate: [^\n]*\nX-R?[Ss]pam")
        self.assertIn("\nX-Spamd-Result: default: False [", head)
        self.assertRegex(head, r"\nX-Rspamd-Action: no action(\n|$)")
        self.assertRegex(head, f"\nX-Rspamd-Queue-Id: {qid}(\n|$)")
        self.assertTrue(text.endswith("\n\nShall we have lunch at noon?\n"))
        # nothing was fetched from the network
        self.assertNotIn("https://", self.rspamd.log_text())

    def test_rspamd_stopped_default_action(self):
        """Each default action once rspamd is gone: tempfail (the
        default) is 451 4.7.1, accept delivers without its headers,
        reject is 550 5.7.1.  Before the stop it answered."""
        self.rspamd = Rspamd(self.tmp)
        self.addCleanup(self.rspamd.stop)
        d = self.start()
        self.assertEqual(self.send(d.port("mx"), message(
            "before", b"hi\r\n"))[0], 250)
        self.rspamd.stop()
        for action, want in (("tempfail", "451 4.7.1 "),
                             ("accept", "250 2.0.0 "),
                             ("reject", "550 5.7.1 ")):
            with self.subTest(action=action):
                extra = "" if action == "tempfail" else \
                    f"milter_default_action {action}\n"
                d2 = self.start(extra)
                code, line = self.send(d2.port("mx"), message(
                    "after", b"hi\r\n"))
                self.assertTrue(line.startswith(want), line)
                files = d2.new_files()
                self.assertEqual(len(files), action == "accept")
                if files:
                    self.assertNotIn(b"X-Spamd-Result",
                                     harness.read(files[0]))


class RspamcHook(FilterCase):
    """README's data_hook example, rspamc against rspamd's normal worker
    (the port made the test's): GTUBE gets 550 5.7.1 with its text, a
    clean message X-Spam-Score, and with rspamd gone 451 4.7.1."""

    HOOK = """#!/bin/sh
# /etc/inlet/post-data: reject what rspamd rejects
out=$(rspamc -h 127.0.0.1:11333) || exit 75
case $out in *'Action: reject'*) echo 'Spam message rejected'; exit 20;; esac
printf '%s\\n' "$out" | sed -n 's/^Score: /X-Spam-Score: /p'
"""

    def test_readme_hook(self):
        if shutil.which("rspamc") is None:
            self.skipTest("no rspamc")
        rspamd = Rspamd(self.tmp, normal=True)
        self.addCleanup(rspamd.stop)
        hook = os.path.join(self.tmp, "post-data")
        with open(hook, "w") as f:
            f.write(self.HOOK.replace(":11333", f":{rspamd.normal_port}"))
        os.chmod(hook, 0o755)
        d = self.daemon(f"data_hook {hook}\n")
        self.assertEqual(self.send(d.port("mx"), message(
            "gtube", GTUBE + b"\r\n")),
            (550, "550 5.7.1 Spam message rejected"))
        code, line = self.send(d.port("mx"), message("lunch", b"noon?\r\n"))
        self.assertEqual(code, 250, line)
        self.assertRegex(harness.read(d.new_files()[0]),
                         rb"\AReturn-Path: <s@example.net>\nDelivered-To: "
                         rb"bob@example.test\nX-Spam-Score: [0-9.]+ / "
                         rb"[0-9.]+\nReceived: ")
        rspamd.stop()
        self.assertEqual(self.send(d.port("mx"), message("later", b"x\r\n"))[0],
                         451)


class OpenDKIMRoles(FilterCase):
    """OpenDKIM on submission (signing) and mx (verifying)."""

    def setUp(self):
        super().setUp()
        if python_with("dkim") is None:
            self.skipTest("no python3-dkim")
        self.dkim = OpenDKIM(self.tmp)
        self.addCleanup(self.dkim.stop)
        cert, key = harness.make_cert(self.tmp, "filt")
        sasldb = harness.make_sasldb(os.path.join(self.tmp, "sasldb2"),
                                     {ALICE: PASSWORD})
        self.conf = {"tls_cert": cert, "tls_key": key, "sasl_db": sasldb,
                     "queue": None, "milter": f"inet:127.0.0.1:"
                     f"{self.dkim.port} submission submissions mx"}

    def test_submission_is_signed(self):
        """alice's message to another domain is queued signed, and the
        signature verifies against the test key."""
        d = harness.Daemon(start=False, listen=harness.LISTEN_ALL,
                           domains="example.test", prefix="inlet-filt-")
        self.addCleanup(d.cleanup)
        self.conf["queue"] = d.path("queue")
        d.write_conf(self.conf)
        d.start()
        self.addCleanup(d.stop)
        msg = message("signed", b"Please sign me.\r\n",
                      to="carol@remote.example")
        with smtplib.SMTP_SSL("127.0.0.1", d.port("submissions"),
                              context=harness.client_ctx(),
                              timeout=WAIT) as c:
            c.ehlo("client.example")
            c.login(ALICE, PASSWORD)
            c.sendmail(ALICE, ["carol@remote.example"], msg)
        queued = d.new_files(d.path("queue"))
        self.assertEqual(len(queued), 1)
        stored = harness.read(queued[0])
        self.assertTrue(stored.startswith(b"DKIM-Signature: v=1; "
                                          b"a=rsa-sha256;"), stored[:200])
        self.assertIn(b" d=example.org; s=test;", stored)
        out = dkim_run(f"""
import dkim, sys
txt = {self.dkim.dns_txt!r}.encode()
def dnsfunc(name, timeout=5):
    assert name == b"test._domainkey.example.org.", name
    return txt
data = sys.stdin.buffer.read().replace(b"\\n", b"\\r\\n")
print(dkim.verify(data, dnsfunc=dnsfunc))
""", stored)
        self.assertEqual(out.strip(), b"True")

    def test_mx_verifies(self):
        """A message signed with the test key arrives on mx: it gets
        OpenDKIM's Authentication-Results with dkim=pass."""
        d = self.daemon(self.conf, domains="example.test")
        raw = message("verify me", b"Signed by the test.\r\n",
                      to="bob@example.test")
        signed = dkim_run(f"""
import dkim, sys
key = open({self.dkim.private!r}, "rb").read()
msg = sys.stdin.buffer.read()
sig = dkim.sign(msg, b"test", b"example.org", key,
                canonicalize=(b"relaxed", b"simple"),
                include_headers=[b"from", b"to", b"subject", b"date"])
sys.stdout.buffer.write(sig + msg)
""", raw)
        code, line = self.send(d.port("mx"), signed)
        self.assertEqual(code, 250, line)
        text = harness.read(d.new_files()[0]).decode()
        head = text.split("\n\n", 1)[0]
        self.assertRegex(head, r"\nAuthentication-Results: mx\.test;\n"
                         r"\tdkim=pass \(1024-bit key\) "
                         r"header\.d=example\.org")
        self.assertIn("\nDKIM-Signature: v=1;", head)


SKIP = None

if __name__ == "__main__":
    SKIP = milter_missing()
    sys.exit(harness.main("test_filters", ("rspamd", "opendkim",
                                           "opendkim-genkey")))
