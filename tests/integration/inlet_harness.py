# SPDX-License-Identifier: ISC
"""The harness the integration tests (test_*.py beside this file) share.

Daemon starts server/inletd on 127.0.0.1 with a temporary config and
Maildir in its own temp dir, reads the "listen ADDR:PORT ROLE [notls]" lines up
to "ready" that -R reports, and stops only the PID it started.  Smtp is a
bounded line-oriented SMTP client on a plain or TLS socket.  make_cert and
make_sasldb make throwaway certificates and Cyrus sasldbs; main runs a
test module and prints the "test_NAME: N passed, N failed" line that
quickstart counts.  Every wait is bounded by WAIT; only 127.0.0.1 (and
::1, for the IPv6 tests) is used; standard library only.
"""
import collections.abc
import glob
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

INLETD = os.environ.get("INLETD", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "server",
    "inletd"))
WAIT = 10   # seconds, the bound on every wait
CI = os.environ.get("CI") == "true"
LISTEN_MX = "listen 127.0.0.1:0 mx\n"
LISTEN_ALL = ("listen 127.0.0.1:0 mx\nlisten 127.0.0.1:0 submission\n"
              "listen 127.0.0.1:0 submissions\n")
REPORT_LINE = re.compile(
    r"listen (?:127\.0\.0\.1|\[::1\]):(\d+) (\S+)(?: notls)?")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def run_inletd(args, timeout=WAIT):
    """inletd run to its end (a config check, say): CompletedProcess."""
    return subprocess.run([INLETD] + list(args), stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout)


class Daemon:
    """One inletd with its own temp dir; stopped by PID.

    The config is "hostname mx.test", listen (lines), "domains DOMAINS",
    "maildir DIR/MAILDIR", a tls_cert/tls_key pair for each of certs
    ((name, cert, key), copied into the temp dir as NAME-cert.pem and
    NAME-key.pem, listed in .pairs), then conf: text, or a mapping of
    keys (a value of None drops the key).  .maildir is DIR/MAILDIR up to
    its first %-template part.  args replace "-d -c CONF" (--sink ...);
    mode is the temp dir's mode.  With start=False the caller may rewrite
    the config and then calls start() itself.
    """

    def __init__(self, conf="", *, listen=LISTEN_MX, domains="example.test",
                 maildir="Maildir", certs=(), prefix="inlet-", mode=None,
                 start=True, **start_args):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        if mode is not None:
            os.chmod(self.dir, mode)
        self.conf = self.path("inlet.conf")
        self.logpath = self.path("inletd.log")
        self.outpath = self.path("stdout")
        self.listen, self.domains = listen, domains
        self.maildir_conf = self.path(maildir)
        self.maildir = self.path(maildir.split("/%", 1)[0])
        self.pairs = []
        for name, cert, key in certs:
            pair = (self.path(name + "-cert.pem"), self.path(name + "-key.pem"))
            shutil.copyfile(cert, pair[0])
            shutil.copyfile(key, pair[1])
            self.pairs.append(pair)
        self.proc = None
        self.listeners = []     # (port, role), in config order
        self.write_conf(conf)
        if start:
            self.start(**start_args)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write_conf(self, conf=""):
        """(Re)write the config file: the base lines, then conf."""
        text = ("hostname mx.test\n" + self.listen +
                f"domains {self.domains}\nmaildir {self.maildir_conf}\n")
        text += "".join(f"tls_cert {c}\ntls_key {k}\n" for c, k in self.pairs)
        if isinstance(conf, collections.abc.Mapping):
            text += "".join(f"{k} {v}\n" for k, v in conf.items()
                            if v is not None)
        else:
            text += conf
        with open(self.conf, "w") as f:
            f.write(text)

    def start(self, args=None, *, env=None, wrap=(), report=True, umask=-1):
        """Start inletd (args, default "-d -c CONF") behind the command
        wrap, with env added to ours; with report, pass -R and wait
        (bounded) for the listeners and "ready"."""
        cmd = list(wrap) + [INLETD] + list(args or ["-d", "-c", self.conf])
        if "--sink" in cmd and not any(a.startswith("http_listen=")
                                       for a in cmd):
            cmd += ["-o", "http_listen=127.0.0.1:0"]  # never a fixed port
        fds = ()
        if report:
            rfd, wfd = os.pipe()
            cmd += ["-R", str(wfd)]
            fds = (wfd,)
        self.log = open(self.logpath, "w")
        self.out = open(self.outpath, "w")
        try:
            self.proc = subprocess.Popen(
                cmd, pass_fds=fds, env=dict(os.environ, **(env or {})),
                stdout=self.out, stderr=self.log, stdin=subprocess.DEVNULL,
                umask=umask)
        finally:
            if report:
                os.close(wfd)
        if report:
            self.listeners = self._read_report(rfd)

    def _read_report(self, rfd):
        data = b""
        deadline = time.monotonic() + WAIT
        try:
            while b"ready\n" not in data:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([rfd], [], [], left)[0]:
                    break
                chunk = os.read(rfd, 4096)
                if not chunk:
                    break
                data += chunk
        finally:
            os.close(rfd)
        found = []
        for line in data.decode(errors="replace").splitlines():
            m = REPORT_LINE.fullmatch(line)
            if m:
                found.append((int(m.group(1)), m.group(2)))
        if b"ready\n" not in data or not found:
            self.stop()
            text = self.log_text()
            self.cleanup()
            raise RuntimeError("inletd did not report ready: " + text)
        return found

    def port(self, role):
        """The port of the first listener with this role."""
        for port, r in self.listeners:
            if r == role:
                return port
        raise KeyError(role)

    def new_files(self, maildir=None):
        """The files in new/ of maildir (default: .maildir), sorted."""
        return sorted(glob.glob(os.path.join(maildir or self.maildir,
                                             "new", "*")))

    def log_text(self):
        return read(self.logpath).decode(errors="replace")

    def out_text(self):
        return read(self.outpath).decode(errors="replace")

    def log_lines(self, needle):
        return [l for l in self.log_text().splitlines() if needle in l]

    def _poll_log(self, found, what):
        deadline = time.monotonic() + WAIT
        while True:
            text = self.log_text()
            result = found(text)
            if result is not None:
                return result
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"log never had {what}:\n{text}")
            time.sleep(0.05)

    def wait_log(self, needle, count=1):
        """Poll the log until needle occurs count times (bounded); the
        log's text."""
        return self._poll_log(
            lambda text: text if text.count(needle) >= count else None,
            f"{count} x {needle!r}")

    def wait_log_re(self, pattern, count=1):
        """Poll the log until the regex pattern has matched count times
        (bounded); the count-th match."""
        def found(text):
            m = list(re.finditer(pattern, text))
            return m[count - 1] if len(m) >= count else None
        return self._poll_log(found, f"{count} x {pattern!r}")

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self):
        """SIGTERM, a bounded wait (then SIGKILL); the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(WAIT)
        self.log.close()
        self.out.close()
        return self.proc.returncode

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def dial(port, timeout=WAIT):
    """A plain TCP connection to 127.0.0.1:port."""
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def has_ipv6_loopback():
    """Whether this machine has ::1: IPv6 built in and a bind that works."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def client_ctx(cafile=None):
    """A client context: verifying against cafile, else verifying nothing."""
    if cafile is not None:
        return ssl.create_default_context(cafile=cafile)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def default_name(ctx, server_hostname):
    """A verifying context checks the name; ours carry IP:127.0.0.1."""
    if server_hostname is None and ctx.check_hostname:
        return "127.0.0.1"
    return server_hostname


class Smtp:
    """A line-level SMTP client on a plain or TLS socket; every read is
    bounded by the socket's timeout.  server_hostname is the SNI that
    starttls() sends by default."""

    def __init__(self, sock, server_hostname=None):
        self.sock = sock
        self.buf = b""
        self.server_hostname = server_hostname

    def reply(self):
        """One whole (possibly multiline) reply: (code, [lines])."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(4096)
                if not chunk:
                    raise EOFError(f"closed after {lines!r} {self.buf!r}")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line)
            if line[3:4] != b"-":
                return int(line[:3]), lines

    def cmd(self, line):
        """Send a command (bytes or str); its reply."""
        if isinstance(line, str):
            line = line.encode()
        self.sock.sendall(line + b"\r\n")
        return self.reply()

    def line(self, line):
        """Send a command; its one-line reply."""
        code, lines = self.cmd(line)
        if len(lines) != 1:
            raise AssertionError(f"{line!r}: multiline {lines!r}")
        return lines[0]

    def ehlo(self, name=b"client.test"):
        """EHLO that must succeed: the reply's lines."""
        code, lines = self.cmd(b"EHLO " + name)
        if code != 250:
            raise AssertionError(f"EHLO got {lines!r}")
        return lines

    def starttls(self, ctx=None, server_hostname=None):
        """STARTTLS that must succeed (with nothing after the 220), then
        the handshake: ctx defaults to client_ctx()."""
        code, lines = self.cmd(b"STARTTLS")
        if (code, lines) != (220, [b"220 2.0.0 Ready to start TLS"]):
            raise AssertionError(f"STARTTLS got {lines!r}")
        if self.buf:
            raise AssertionError(f"bytes after the 220: {self.buf!r}")
        ctx = ctx or client_ctx()
        self.sock = ctx.wrap_socket(self.sock, server_hostname=default_name(
            ctx, server_hostname or self.server_hostname))

    def transaction(self, sender, rcpts, message):
        """MAIL, RCPT for each of rcpts and DATA, each of which must
        succeed, then message (CRLF lines) and the dot: the final reply."""
        for line, want in ([(b"MAIL FROM:<" + sender + b">", 250)] +
                           [(b"RCPT TO:<" + r + b">", 250) for r in rcpts] +
                           [(b"DATA", 354)]):
            code, lines = self.cmd(line)
            if code != want:
                raise AssertionError(f"{line!r} got {lines!r}")
        return self.cmd(message + b".")

    def read_to_eof(self):
        data = self.buf
        self.buf = b""
        while True:
            chunk = self.sock.recv(4096)
            if not chunk:
                return data
            data += chunk

    def close(self):
        self.sock.close()


def _greeted(s):
    try:
        code, lines = s.reply()
    except BaseException:
        s.close()
        raise
    if code != 220:
        s.close()
        raise AssertionError(f"greeting {lines!r}")
    return s


def connect(port, cls=Smtp, server_hostname=None):
    """A plain connection (a cls), greeting read."""
    return _greeted(cls(dial(port), server_hostname))


def connect_tls(port, ctx=None, server_hostname=None, cls=Smtp):
    """An implicit-TLS connection (a cls), greeting read."""
    raw = dial(port)
    try:
        ctx = ctx or client_ctx()
        sock = ctx.wrap_socket(
            raw, server_hostname=default_name(ctx, server_hostname))
    except BaseException:
        raw.close()
        raise
    return _greeted(cls(sock, server_hostname))


def make_cert(directory, name, cn="localhost", ec=False):
    """A self-signed certificate for cn (and IP 127.0.0.1) with its key,
    as DIRECTORY/NAME-cert.pem and NAME-key.pem: (cert, key)."""
    cert = os.path.join(directory, name + "-cert.pem")
    key = os.path.join(directory, name + "-key.pem")
    newkey = (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
              if ec else ["-newkey", "rsa:2048"])
    subprocess.run(
        ["openssl", "req", "-x509"] + newkey +
        ["-nodes", "-keyout", key, "-out", cert, "-days", "30",
         "-subj", "/CN=" + cn,
         "-addext", f"subjectAltName=DNS:{cn},IP:127.0.0.1"],
        check=True, capture_output=True, timeout=WAIT * 3)
    return cert, key


def make_sasldb(path, passwords):
    """A Cyrus sasldb at path with passwords {"user@realm": password}."""
    for login, password in passwords.items():
        user, realm = login.split("@")
        subprocess.run(["saslpasswd2", "-p", "-c", "-f", path, "-u",
                        realm, user], input=password.encode(), check=True,
                       capture_output=True, timeout=WAIT)
    return path


class ConfigErrorCase(unittest.TestCase):
    """Configs that inletd must refuse at start: exit 2, one line."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="inlet-bad-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_conf(self, text):
        """Run inletd -d on text: (the config's path, its stderr)."""
        conf = os.path.join(self.dir, "inlet.conf")
        with open(conf, "w") as f:
            f.write(text)
        r = run_inletd(["-d", "-c", conf])
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 2, err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        return conf, err


def missing_tools(tools=(), perl_modules=()):
    """What of tools, inletd and (for swaks) perl_modules is missing."""
    missing = [t for t in tools if shutil.which(t) is None]
    if perl_modules and "swaks" in tools and "swaks" not in missing:
        try:
            r = subprocess.run(["perl"] + ["-M" + m for m in perl_modules] +
                               ["-e", "1"], capture_output=True,
                               timeout=WAIT)
            if r.returncode != 0:
                missing.append("perl " + " / ".join(perl_modules))
        except (OSError, subprocess.TimeoutExpired):
            missing.append("perl")
    if not os.access(INLETD, os.X_OK):
        missing.append(INLETD)
    return missing


def main(module_name, required_tools=(), perl_modules=(), module="__main__"):
    """Run the tests of module; print "MODULE_NAME: N passed, N failed"
    (and "(N skipped)").  A missing tool: exit 77 (skip), 1 under CI."""
    missing = missing_tools(required_tools, perl_modules)
    if missing:
        print("missing: " + ", ".join(missing))
        return 1 if CI else 77
    suite = unittest.defaultTestLoader.loadTestsFromModule(
        sys.modules[module])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(
        suite)
    # a test may fail and then error in tearDown: count tests, not reports
    # (a failed subTest is reported as its own object: count its test)
    failed = len({id(getattr(t, "test_case", t))
                  for t, _ in result.failures + result.errors})
    skipped = len(result.skipped)
    print(f"{module_name}: {result.testsRun - failed - skipped} passed, "
          f"{failed} failed" + (f" ({skipped} skipped)" if skipped else ""))
    return 0 if result.wasSuccessful() else 1
