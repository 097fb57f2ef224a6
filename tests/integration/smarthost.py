# SPDX-License-Identifier: ISC
"""smarthost - a private Postfix 3.7 on loopback, the smarthost of the
relay's tests (and of bench/'s relay case).

    import smarthost
    sh = smarthost.start(tmpdir)            # raises smarthost.Error
    try:
        ...  # send to 127.0.0.1:sh.ports["submission"] (STARTTLS, AUTH)
        msgs = sh.wait_messages(1)          # [(path, bytes)], bounded
    finally:
        sh.stop()

What start(tmpdir, ...) makes, all inside tmpdir/smarthost (the system's
Postfix, its /etc/postfix and its queue are never touched; tmpdir gets
o+x, since the postfix user and nobody must reach inside it):

  * A test CA and a server certificate signed by it for sh.host (default
    "localhost"; cert_host= puts another name in the certificate, for a
    wrong-name test), with subjectAltName DNS:<name> and IP:127.0.0.1,
    made with openssl.  sh.ca_path is the CA's PEM (relay_ca_file).
  * A Cyrus sasldb (saslpasswd2 -f) with one account, sh.user (default
    "relay@<host>") / sh.password, and the smtpd.conf Postfix finds
    through cyrus_sasl_config_path (smtpd_sasl_path = smtpd): auxprop
    sasldb, mechanisms PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256
    (Debian's Postfix reads it from $config_directory/sasl instead, so
    it is written there too).
    AUTH is offered only inside TLS (smtpd_tls_auth_only).
  * Its own config_directory (main.cf, master.cf, the access table),
    queue_directory and data_directory (maillog_file there; no syslog),
    started with `postfix -c DIR start`, stopped with `postfix -c DIR
    stop` and, if its master is still up after a bounded wait, SIGKILL to
    that master's PID (read from its own pid file).
  * Listeners on free loopback ports (127.0.0.1 only), in sh.ports:
    "submission" (STARTTLS required before MAIL, RFC 3207), "smtps"
    (implicit TLS, RFC 8314) and "plain" (no TLS offered at all: a
    relay must refuse to send there).
  * Relaying needs AUTH: an unauthenticated RCPT gets 554 5.7.1.  Every
    domain is delivered locally by virtual(8) into ONE Maildir,
    sh.maildir (files in new/ carry Delivered-To: <recipient>); nothing
    leaves the instance.
  * check_recipient_access (texthash, checked after the relay rule):
    sh.tempfail (default "busy@remote.example") gets 450 4.2.0, sh.permfail
    (default "nouser@remote.example") 550 5.1.1.  sh.set_access({addr:
    "450 4.2.0 text", ...}) rewrites the table and reloads Postfix (new
    sessions see it), e.g. to let a deferred recipient through later.
  * Postfix's own DSN, 8BITMIME, SMTPUTF8 (smtputf8_enable yes), SIZE
    and PIPELINING are offered; main= adds or overrides main.cf settings
    (e.g. {"message_size_limit": "2000"} for a 552 after DATA).

It needs root (the Postfix master), the postfix user and postdrop group
(Debian's postfix package makes them), openssl and saslpasswd2
(sasl2-bin); missing() names what is absent.  Standard library only;
every wait is bounded.
"""
import os
import pwd
import shutil
import signal
import socket
import smtplib
import ssl
import subprocess
import time

WAIT = 20   # seconds: the bound on starting, stopping and waiting

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = {host}
mydomain = {host}
myorigin = $myhostname
mydestination =
relayhost =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks =
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtputf8_enable = yes
maillog_file = {d}/data/maillog
maillog_file_prefixes = {d}/data
virtual_mailbox_domains = static:all
virtual_mailbox_base = {d}/mail
virtual_mailbox_maps = static:Maildir/
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_mailbox_limit = 0
default_transport = error:smarthost test: no mail leaves this instance
relay_transport = error:smarthost test: no mail leaves this instance
smtpd_tls_cert_file = {d}/tls/server-cert.pem
smtpd_tls_key_file = {d}/tls/server-key.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = {d}/sasl
smtpd_sasl_security_options = noanonymous
smtpd_sasl_local_domain =
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions =
    check_recipient_access texthash:{d}/etc/access, permit
"""

MASTER_CF = """\
127.0.0.1:{submission} inet n - n - - smtpd
  -o smtpd_tls_security_level=encrypt
127.0.0.1:{smtps} inet n - n - - smtpd
  -o smtpd_tls_wrappermode=yes
127.0.0.1:{plain} inet n - n - - smtpd
  -o smtpd_tls_security_level=none
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

SMTPD_CONF = """\
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: {d}/sasl/sasldb2
mech_list: PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256
"""

NOBODY = 65534


class Error(Exception):
    """The smarthost could not be made, started or stopped."""


def missing():
    """What this machine lacks to run the smarthost (a list; empty: ok)."""
    out = [t for t in ("postfix", "openssl", "saslpasswd2")
           if shutil.which(t) is None]
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        out.append("user postfix")
    if os.geteuid() != 0:
        out.append("root (the Postfix master)")
    return out


def free_port():
    """A loopback port free now (closed again: the caller binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args, timeout=WAIT, **kw):
    try:
        r = subprocess.run(args, capture_output=True, timeout=timeout, **kw)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Error(f"{args[0]}: {e}") from e
    if r.returncode != 0:
        raise Error(f"{' '.join(args)}: exit {r.returncode}: "
                    f"{r.stderr.decode(errors='replace').strip()}")
    return r


def make_ca_cert(directory, name, ca_name="inlet test CA"):
    """A test CA (ca-cert.pem, ca-key.pem) and a server certificate it
    signs for name (server-cert.pem, server-key.pem; SAN DNS:name and
    IP:127.0.0.1) in directory: (ca_cert, server_cert, server_key)."""
    os.makedirs(directory, exist_ok=True)
    p = lambda f: os.path.join(directory, f)   # noqa: E731
    _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
          "-keyout", p("ca-key.pem"), "-out", p("ca-cert.pem"),
          "-days", "30", "-subj", "/CN=" + ca_name,
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    _run(["openssl", "req", "-newkey", "rsa:2048", "-nodes",
          "-keyout", p("server-key.pem"), "-out", p("server.csr"),
          "-subj", "/CN=" + name])
    with open(p("server.ext"), "w") as f:
        f.write(f"subjectAltName=DNS:{name},IP:127.0.0.1\n"
                "basicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n")
    _run(["openssl", "x509", "-req", "-in", p("server.csr"),
          "-CA", p("ca-cert.pem"), "-CAkey", p("ca-key.pem"),
          "-CAcreateserial", "-days", "30", "-out", p("server-cert.pem"),
          "-extfile", p("server.ext")])
    return p("ca-cert.pem"), p("server-cert.pem"), p("server-key.pem")


class Smarthost:
    """One private Postfix instance; made by start(), ended by stop()."""

    def __init__(self, tmpdir, host, cert_host, user, password, tempfail,
                 permfail, main):
        self.dir = os.path.join(tmpdir, "smarthost")
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.log = os.path.join(self.dir, "data", "maillog")
        self.host = host
        self.user = user if user is not None else "relay@" + host
        self.password = password
        self.tempfail = tempfail
        self.permfail = permfail
        self.maildir = os.path.join(self.dir, "mail", "Maildir")
        self.ports = {"submission": free_port(), "smtps": free_port(),
                      "plain": free_port()}
        self.pid = None
        self.started = False
        self._make(cert_host or host, main)

    def _make(self, cert_name, main):
        d = self.dir
        for sub in ("etc", "queue", "data", "mail", "tls", "sasl"):
            os.makedirs(os.path.join(d, sub))
        pw = pwd.getpwnam("postfix")
        # master.lock lives in data/; virtual(8) writes mail/ as nobody
        os.chown(os.path.join(d, "data"), pw.pw_uid, pw.pw_gid)
        os.chown(os.path.join(d, "mail"), NOBODY, NOBODY)
        self.ca_path = make_ca_cert(os.path.join(d, "tls"), cert_name)[0]
        text = MAIN_CF.format(d=d, host=self.host, uid=NOBODY, gid=NOBODY)
        for k, v in (main or {}).items():
            text += f"{k} = {v}\n"      # a later line wins in main.cf
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(text)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(**self.ports))
        self._write_access({self.tempfail: "450 4.2.0 Mailbox busy, "
                            "try again later",
                            self.permfail: "550 5.1.1 No such user here"})
        self._make_sasl(pw)

    def _make_sasl(self, pw):
        sasl = os.path.join(self.dir, "sasl")
        # Upstream Postfix looks for smtpd.conf in cyrus_sasl_config_path;
        # Debian's build ignores that and looks in $config_directory/sasl
        # (seen with strace on 3.7.11): put it in both.
        for conf_dir in (sasl, os.path.join(self.etc, "sasl")):
            os.makedirs(conf_dir, exist_ok=True)
            with open(os.path.join(conf_dir, "smtpd.conf"), "w") as f:
                f.write(SMTPD_CONF.format(d=self.dir))
        login, _, realm = self.user.partition("@")
        args = ["saslpasswd2", "-p", "-c", "-f",
                os.path.join(sasl, "sasldb2")]
        _run(args + (["-u", realm] if realm else []) + [login],
             input=self.password.encode())
        # smtpd runs as postfix: it must read the sasldb
        for name in ("sasldb2", "smtpd.conf"):
            os.chown(os.path.join(sasl, name), pw.pw_uid, pw.pw_gid)
            os.chmod(os.path.join(sasl, name), 0o640)

    def _write_access(self, table):
        path = os.path.join(self.etc, "access")
        with open(path + ".tmp", "w") as f:
            for addr, action in table.items():
                f.write(f"{addr} {action}\n")
        os.replace(path + ".tmp", path)

    def postfix(self, *args):
        """Run `postfix -c <this instance's etc> ARGS`."""
        return _run(["postfix", "-c", self.etc] + list(args))

    def start(self):
        self.started = True
        try:
            self.postfix("start")
        except Error as e:
            raise Error(f"{e}\n{self.log_text()[-2000:]}") from e
        pidfile = os.path.join(self.queue, "pid", "master.pid")
        end = time.monotonic() + WAIT
        while time.monotonic() < end and not self._master_alive():
            try:
                with open(pidfile) as f:
                    self.pid = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
            time.sleep(0.1)
        if not self._master_alive():
            raise Error("Postfix master did not start:\n" +
                        self.log_text()[-2000:])
        for port in self.ports.values():
            self._wait_greeting(port)

    def _master_alive(self):
        if self.pid is None:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def _wait_greeting(self, port):
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            try:
                with socket.create_connection(("127.0.0.1", port),
                                              timeout=2) as s:
                    if port == self.ports["smtps"]:
                        return      # the greeting comes inside TLS
                    if s.recv(512).startswith(b"220"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise Error(f"no greeting on 127.0.0.1:{port}")

    def set_access(self, table):
        """Replace the check_recipient_access table ({address: action})
        and reload: sessions that start after this see it.  A reload is
        asynchronous (an smtpd from before it may still take the next
        session, with the old table in memory), so the table carries a
        probe address with a reply of its own, and this returns once a
        new session gets that reply (bounded)."""
        self._generation = getattr(self, "_generation", 0) + 1
        probe = f"probe-{self._generation}@probe.invalid"
        reply = f"450 4.2.0 probe {self._generation}"
        self._write_access(dict(table, **{probe: reply}))
        self.postfix("reload")
        ctx = ssl.create_default_context(cafile=self.ca_path)
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            try:
                with smtplib.SMTP("localhost", self.ports["submission"],
                                  timeout=WAIT) as c:
                    c.starttls(context=ctx)
                    c.login(self.user, self.password)
                    c.mail("probe@probe.invalid")
                    code, text = c.rcpt(probe)
                if code == 450 and text.endswith(reply[10:].encode()):
                    self._wait_sessions_logged(end)
                    return
            except (OSError, smtplib.SMTPException):
                pass
            time.sleep(0.1)
        raise Error(f"the access table of {self.dir} did not take effect")

    def _wait_sessions_logged(self, end):
        """Until every session's disconnect is in the log (the probes'
        too), so that a test that reads the log from here on sees only
        its own sessions."""
        while time.monotonic() < end:
            log = self.log_text()
            if log.count(": connect from ") == log.count(
                    ": disconnect from "):
                return
            time.sleep(0.05)

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def messages(self):
        """Every delivered message: [(path, bytes)], oldest first."""
        new = os.path.join(self.maildir, "new")
        try:
            names = sorted(os.listdir(new),
                           key=lambda n: os.stat(os.path.join(new, n))
                           .st_mtime_ns)
        except FileNotFoundError:
            return []
        out = []
        for n in names:
            with open(os.path.join(new, n), "rb") as f:
                out.append((os.path.join(new, n), f.read()))
        return out

    def wait_messages(self, n, timeout=WAIT):
        """Wait, bounded, until at least n messages are delivered."""
        end = time.monotonic() + timeout
        while True:
            got = self.messages()
            if len(got) >= n or time.monotonic() >= end:
                return got
            time.sleep(0.1)

    def stop(self):
        """Stop this instance: `postfix stop`, then SIGKILL to its master
        if it is still up after WAIT seconds.  Safe to call twice."""
        if not self.started:
            return
        self.started = False
        try:
            self.postfix("stop")
        except Error:
            pass
        end = time.monotonic() + WAIT
        while self._master_alive() and time.monotonic() < end:
            time.sleep(0.1)
        if self._master_alive():
            os.kill(self.pid, signal.SIGKILL)


def start(tmpdir, host="localhost", cert_host=None, user=None,
          password="relay-secret", tempfail="busy@remote.example",
          permfail="nouser@remote.example", main=None):
    """Make and start a smarthost in tmpdir/smarthost (see the module
    text); returns the started Smarthost.  On failure it is stopped and
    Error raised."""
    missing_now = missing()
    if missing_now:
        raise Error("smarthost needs: " + ", ".join(missing_now))
    # postfix (master.lock, the sasldb) and nobody (virtual's Maildir)
    # must reach inside: mkdtemp() makes tmpdir 0700
    mode = os.stat(tmpdir).st_mode & 0o7777
    os.chmod(tmpdir, mode | 0o711)
    sh = Smarthost(tmpdir, host, cert_host, user, password, tempfail,
                   permfail, main)
    try:
        sh.start()
    except BaseException:
        sh.stop()
        raise
    return sh
