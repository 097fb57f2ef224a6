#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
#
# bench/servers.py - the daemons under test, each started and stopped by
# this script only (by PID): inletd (-R report), a private Postfix
# instance, smtp-sink, floor (bench/floor.c, the minimum durable server);
# and the /proc helpers that read their CPU and memory.

import os
import pwd
import selectors
import signal
import socket
import subprocess
import time

from common import CLK_TCK, DOMAIN, BenchError, say, now, run, \
    count_maildir, tail

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_greeting(port, timeout=30):
    """Connect until a 220 comes back (then QUIT); bounded."""
    end = now() + timeout
    last = None
    while now() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                f = s.makefile("rb")
                line = f.readline()
                if line.startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    f.readline()
                    return
                last = line
        except OSError as e:
            last = e
        time.sleep(0.1)
    raise BenchError("no 220 from 127.0.0.1:%d within %ds (%r)" %
                     (port, timeout, last))


# --------------------------------------------------------------- /proc

def proc_stat(pid):
    """(ppid, utime+stime+cutime+cstime in ticks) or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); ppid is field 4, utime..cstime 14..17
    return int(rest[1]), sum(int(x) for x in rest[11:15])


def tree_pids(root):
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = proc_stat(int(d))
        if st:
            kids.setdefault(st[0], []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def tree_cpu(root):
    """CPU-seconds of root and all its descendants, including the reaped
    ones (cutime/cstime); monotonic as children come and go."""
    ticks = 0
    for p in tree_pids(root):
        st = proc_stat(p)
        if st:
            ticks += st[1]
    return ticks / CLK_TCK


def rss_kib(pid, key="Rss"):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    if key == "Rss":
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    return 0


def tree_kib(root, key):
    return sum(rss_kib(p, key) for p in tree_pids(root))


def alive(pid):
    st = None
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2] != "Z"


# ---------------------------------------------------------------- servers

class Inletd:
    name = "inletd"

    def __init__(self, exe, work, tag="inletd", extra="", env=None):
        """env: more environment (the what-if servers' LD_PRELOAD of
        bench/nosync.c); tag names it, in results too."""
        self.name = tag
        self.env = dict(os.environ, **env) if env else None
        self.exe = exe
        self.dir = os.path.join(work, tag)
        self.mail = os.path.join(self.dir, "mail")
        self.log = os.path.join(self.dir, "inletd.log")
        self.proc = None
        self.port = None
        os.makedirs(self.mail)
        self.conf = os.path.join(self.dir, "inlet.conf")
        with open(self.conf, "w") as f:
            f.write("hostname %s\nlisten 127.0.0.1:0 mx\ndomains %s\n"
                    "maildir %s/%%d/%%u\nmax_connections 20000\n"
                    "max_connections_per_ip 0\nmessage_size_limit 0\n"
                    % (DOMAIN, DOMAIN, self.mail) + extra)
        self.ports = {}

    def start(self):
        r, w = os.pipe()
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [self.exe, "-d", "-c", self.conf, "-R", str(w)],
            pass_fds=(w,), stdin=subprocess.DEVNULL, stdout=logf,
            stderr=subprocess.STDOUT, env=self.env)
        os.close(w)
        logf.close()
        buf = b""
        end = now() + 20
        sel = selectors.DefaultSelector()
        sel.register(r, selectors.EVENT_READ)
        try:
            while b"ready\n" not in buf and now() < end:
                if sel.select(timeout=max(0.0, end - now())):
                    chunk = os.read(r, 4096)
                    if not chunk:
                        break
                    buf += chunk
        finally:
            sel.close()
            os.close(r)
        if b"ready\n" not in buf:
            self.stop()
            raise BenchError("inletd did not become ready:\n" + tail(self.log))
        for line in buf.decode().splitlines():
            if line.startswith("listen "):
                port = int(line.split()[1].rsplit(":", 1)[1])
                role = line.split()[2] if len(line.split()) > 2 else "mx"
                self.ports.setdefault(role, port)
                if role == "mx" and not self.port:
                    self.port = port
        if not self.port:
            raise BenchError("inletd reported no listener: %r" % buf)
        self.pid = self.proc.pid
        wait_greeting(self.port)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def maildir(self, user):
        return os.path.join(self.mail, DOMAIN, user)

    def drain(self, user, n, timeout):
        return True     # the 250 follows the fsync of new/

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                say("inletd (pid %d) still up 40 s after SIGTERM: SIGKILL"
                    % self.proc.pid)
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
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
myhostname = postfix.{domain}
mydomain = {domain}
myorigin = $myhostname
mydestination =
relayhost =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtputf8_enable = no
maillog_file = {d}/data/maillog
maillog_file_prefixes = /var, /dev/stdout, {d}/data
message_size_limit = 0
mailbox_size_limit = 0
virtual_mailbox_limit = 0
virtual_mailbox_domains = {domain}
virtual_mailbox_base = {d}/mail
virtual_mailbox_maps = texthash:{d}/etc/vmailbox
default_transport = error:bench: no mail leaves this instance
relay_transport = error:bench: no mail leaves this instance
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
"""


SUB_MAIN_CF = """\
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_session_cache_database = btree:{d}/data/smtpd_scache
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = {d}/etc/sasl
"""

SUB_MASTER_CF = """\
127.0.0.1:{sub} inet n - n - - smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
127.0.0.1:{subs} inet n - n - - smtpd
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
"""


class Postfix:
    name = "postfix"

    def __init__(self, work, users, sub=None):
        self.dir = os.path.join(work, "postfix")
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.mail = os.path.join(self.dir, "mail")
        self.log = os.path.join(self.dir, "data", "maillog")
        self.pid = None
        self.started = False
        self.port = free_port()
        for d in (self.etc, self.queue, os.path.join(self.dir, "data"),
                  self.mail):
            os.makedirs(d)
        os.chown(self.mail, 65534, 65534)       # nobody: virtual writes so
        pw = pwd.getpwnam("postfix")            # master locks files there
        os.chown(os.path.join(self.dir, "data"), pw.pw_uid, pw.pw_gid)
        self.ports = {"mx": self.port}
        main_cf = MAIN_CF.format(d=self.dir, domain=DOMAIN, uid=65534,
                                 gid=65534)
        master_cf = MASTER_CF.format(port=self.port)
        if sub is not None:
            # submission (STARTTLS required) and submissions (implicit
            # TLS), AUTH through Cyrus SASL from the same sasldb as
            # inletd's (a copy its smtpd, running as postfix, can read)
            self.ports.update(submission=free_port(), submissions=free_port())
            sasl = os.path.join(self.etc, "sasl")
            os.makedirs(sasl)
            db = os.path.join(sasl, "sasldb2")
            with open(sub["sasldb"], "rb") as f, open(db, "wb") as g:
                g.write(f.read())
            os.chown(db, pw.pw_uid, pw.pw_gid)
            with open(os.path.join(sasl, "smtpd.conf"), "w") as f:
                f.write("pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
                        "sasldb_path: %s\nmech_list: PLAIN LOGIN\n" % db)
            main_cf += SUB_MAIN_CF.format(d=self.dir, cert=sub["cert"],
                                          key=sub["key"])
            master_cf += SUB_MASTER_CF.format(sub=self.ports["submission"],
                                              subs=self.ports["submissions"])
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(main_cf)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(master_cf)
        with open(os.path.join(self.etc, "vmailbox"), "w") as f:
            # one Maildir per recipient, like inletd's %d/%u (virtual(8)
            # allows no $1 substitution from a regexp table: list them)
            for u in users:
                f.write("%s@%s %s/%s/\n" % (u, DOMAIN, DOMAIN, u))

    def pf(self, *args, timeout=120, check=True):
        return run(["postfix", "-c", self.etc] + list(args), timeout=timeout,
                   check=check)

    def start(self):
        self.started = True
        try:
            self.pf("start")
        except BenchError as e:
            raise BenchError("%s\n%s" % (e, tail(self.log)))
        pidfile = os.path.join(self.queue, "pid", "master.pid")
        end = now() + 20
        while now() < end:
            try:
                with open(pidfile) as f:
                    self.pid = int(f.read().split()[0])
                if alive(self.pid):
                    break
            except (OSError, ValueError, IndexError):
                pass
            time.sleep(0.1)
        if not self.pid or not alive(self.pid):
            raise BenchError("Postfix master did not start:\n" +
                             tail(self.log))
        wait_greeting(self.port)

    def alive(self):
        return self.pid is not None and alive(self.pid)

    def maildir(self, user):
        return os.path.join(self.mail, DOMAIN, user)

    def queue_count(self):
        n = 0
        for q in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _, _, files in os.walk(os.path.join(self.queue, q)):
                n += len(files)
        return n

    def drain(self, user, n, timeout):
        """Wait, bounded, until n messages are in the Maildir and the queue
        is empty."""
        end = now() + timeout
        while now() < end:
            if count_maildir(self.maildir(user), 0)[0] >= n and \
                    self.queue_count() == 0:
                return True
            time.sleep(0.05)
        return False

    def purge(self):
        run(["postsuper", "-c", self.etc, "-d", "ALL"], check=False,
            timeout=60)

    def stop(self):
        if not self.started:
            return
        self.started = False
        self.pf("stop", check=False)
        end = now() + 30
        while self.pid and alive(self.pid) and now() < end:
            time.sleep(0.2)
        if self.pid and alive(self.pid):
            say("Postfix master (pid %d) still up 30 s after 'postfix stop':"
                " SIGKILL to it" % self.pid)
            os.kill(self.pid, signal.SIGKILL)
        # its children exit when the master goes; wait for them, bounded
        end = now() + 15
        while now() < end and self.pid and len(tree_pids(self.pid)) > 1:
            time.sleep(0.2)


class Child:
    """A server that is one child process of the bench (smtp-sink,
    floor): running while it has not exited, stopped with SIGTERM (then
    SIGKILL after 10 s).  Without a Maildir unless a subclass has one;
    its 250 needs no draining."""
    proc = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def maildir(self, user):
        return None

    def drain(self, user, n, timeout):
        return True

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None


class Sink(Child):
    name = "sink"

    def __init__(self, work):
        self.port = free_port()
        self.proc = None
        self.log = os.path.join(work, "smtp-sink.log")

    def start(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            ["smtp-sink", "-u", "nobody", "127.0.0.1:%d" % self.port, "1024"],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        self.pid = self.proc.pid
        wait_greeting(self.port)


class Floor(Child):
    """bench/floor.c: one thread, the protocol and the Maildir commit
    inline before each 250; DIR/<local part>/ per recipient."""
    name = "floor"

    def __init__(self, exe, work):
        self.exe = exe
        self.mail = os.path.join(work, "floor")
        self.log = os.path.join(work, "floor.log")
        self.proc = None
        self.port = None
        os.makedirs(self.mail)

    def start(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [self.exe, "-p", "0", "-d", self.mail], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=logf)
        logf.close()
        self.pid = self.proc.pid
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            line = self.proc.stdout.readline() if sel.select(timeout=20) \
                else b""
        finally:
            sel.close()
        if not line.startswith(b"port "):
            self.stop()
            raise BenchError("floor did not report its port (%r):\n%s" %
                             (line, tail(self.log)))
        self.port = int(line.split()[1])
        wait_greeting(self.port)

    def maildir(self, user):
        return os.path.join(self.mail, user)   # the 250 follows its fsync
