#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The runtime user (`user nobody`) against the real inletd.

What inletd creates (the catch-all Maildir's tmp/ new/ cur/, template
Maildirs, the queue) belongs to the user it runs as; a Maildir, queue,
recipients file, sasldb or TLS key that user cannot use stops the start
with one line naming the path and the user (exit 2), and a SIGHUP to
such a config keeps the running one.  Needs root (to drop privileges):
CI runs as root; elsewhere the tests skip.  The temp dirs are 0755 so
that nobody can reach what each test hands it; only 127.0.0.1 is used,
every wait is bounded.
"""
import os
import pwd
import signal
import smtplib
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402
from inlet_harness import WAIT  # noqa: E402

NOBODY = pwd.getpwnam("nobody")
IS_ROOT = os.geteuid() == 0


def give(path):
    """Make path (a dir, created if missing) nobody's."""
    os.makedirs(path, exist_ok=True)
    os.chown(path, NOBODY.pw_uid, NOBODY.pw_gid)
    return path


def root_only(path, sub=()):
    """Make path (a dir, created if missing) root's, mode 0700, with the
    subdirectories sub made the same way."""
    for p in [path] + [os.path.join(path, s) for s in sub]:
        os.makedirs(p, exist_ok=True)
        os.chown(p, 0, 0)
        os.chmod(p, 0o700)
    return path


def send(port, rcpt="u@example.test"):
    """One message: the final reply code (250, or the refusal's)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=WAIT) as s:
        s.ehlo("client.test")
        try:
            s.sendmail("s@example.net", [rcpt], b"Subject: u\r\n\r\nhi\r\n")
        except smtplib.SMTPDataError as e:
            return e.smtp_code
    return 250


def owner(path):
    return os.stat(path).st_uid


@unittest.skipUnless(IS_ROOT, "needs root to drop privileges")
class UserCase(unittest.TestCase):
    def daemon(self, conf="", maildir="mail/Maildir"):
        """A Daemon (not started) running as nobody, in a 0755 temp dir;
        d.mail is DIR/mail, made nobody's."""
        d = harness.Daemon("user nobody\n" + conf, maildir=maildir,
                           mode=0o755, prefix="inlet-user-", start=False)
        self.addCleanup(d.cleanup)
        self.addCleanup(d.stop)
        d.mail = give(d.path("mail"))
        return d

    def refused(self, d):
        """Start d expecting a refusal: its one stderr line."""
        r = harness.run_inletd(["-d", "-c", d.conf])
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 2, err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("nobody", err)
        return err


class Create(UserCase):
    def test_empty_catchall_is_made_by_the_user(self):
        """inletd makes tmp/ new/ cur/ as nobody, and delivers."""
        d = self.daemon()
        give(d.maildir)
        d.start()
        self.assertEqual(send(d.port("mx")), 250)
        for sub in ("tmp", "new", "cur"):
            self.assertEqual(owner(os.path.join(d.maildir, sub)),
                             NOBODY.pw_uid, sub)
        files = d.new_files()
        self.assertEqual(len(files), 1)
        self.assertEqual(owner(files[0]), NOBODY.pw_uid)

    def test_missing_catchall_is_made_by_the_user(self):
        d = self.daemon()
        d.start()
        self.assertEqual(owner(d.maildir), NOBODY.pw_uid)
        self.assertEqual(send(d.port("mx")), 250)

    def test_template_maildir_is_made_by_the_user(self):
        """%u: the recipient's Maildir, made at delivery, is nobody's."""
        d = self.daemon(maildir="mail/%u")
        d.start()
        self.assertEqual(send(d.port("mx"), "alice@example.test"), 250)
        alice = os.path.join(d.mail, "alice")
        for p in (alice, os.path.join(alice, "tmp"),
                  os.path.join(alice, "new"), os.path.join(alice, "cur")):
            self.assertEqual(owner(p), NOBODY.pw_uid, p)
        self.assertEqual(len(d.new_files(alice)), 1)

    def test_queue_is_made_by_the_user(self):
        d = self.daemon()
        queue = os.path.join(d.mail, "queue")
        d.write_conf(f"user nobody\nqueue {queue}\n")
        d.start()
        for sub in ("", "tmp", "new", "cur"):
            self.assertEqual(owner(os.path.join(queue, sub)), NOBODY.pw_uid)


class Refuse(UserCase):
    def test_root_maildir(self):
        """An (empty) Maildir only root may write: exit 2, one line."""
        d = self.daemon()
        root_only(d.maildir)
        err = self.refused(d)
        self.assertIn(d.maildir, err)

    def test_root_subdirs(self):
        """tmp/ new/ cur/ left by a root inletd: exit 2, one line."""
        d = self.daemon()
        give(d.maildir)
        root_only(os.path.join(d.maildir, "tmp"))
        give(os.path.join(d.maildir, "new"))
        give(os.path.join(d.maildir, "cur"))
        err = self.refused(d)
        self.assertIn(d.maildir, err)

    def test_root_queue(self):
        d = self.daemon()
        queue = root_only(d.path("queue"), ("tmp", "new", "cur"))
        d.write_conf(f"user nobody\nqueue {queue}\n")
        err = self.refused(d)
        self.assertIn(queue, err)
        self.assertIn("queue", err)

    def test_unreadable_recipients(self):
        d = self.daemon()
        rcpt = d.path("recipients")
        with open(rcpt, "w") as f:
            f.write("u@example.test\n")
        os.chmod(rcpt, 0o600)
        d.write_conf(f"user nobody\nrecipients {rcpt}\n")
        err = self.refused(d)
        self.assertIn(rcpt, err)

    def test_unreadable_sasl_db(self):
        d = self.daemon()
        db = harness.make_sasldb(d.path("sasldb2"),
                                 {"alice@example.test": "secret"})
        os.chmod(db, 0o600)
        d.write_conf(f"user nobody\nsasl_db {db}\nmx_auth yes\n")
        err = self.refused(d)
        self.assertIn(db, err)

    def test_unreadable_tls_key(self):
        d = self.daemon()
        cert, key = harness.make_cert(d.dir, "u")
        os.chmod(key, 0o600)
        d.write_conf(f"user nobody\ntls_cert {cert}\ntls_key {key}\n")
        err = self.refused(d)
        self.assertIn(key, err)


class Reload(UserCase):
    def reload_refused(self, d, path):
        """SIGHUP: the reload fails with one line naming path and the
        user; the daemon still delivers into the old Maildir."""
        d.signal(signal.SIGHUP)
        line = d.wait_log_re(r".*event=reload .*status=failed.*").group(0)
        self.assertIn(path, line)
        self.assertIn("nobody", line)
        self.assertIsNone(d.proc.poll())
        self.assertEqual(send(d.port("mx")), 250)
        self.assertEqual(len(d.new_files()), 1)

    def test_root_maildir(self):
        """A new catch-all whose tmp/ new/ cur/ root made: refused."""
        d = self.daemon()
        d.start()
        other = root_only(d.path("other"), ("tmp", "new", "cur"))
        os.chmod(other, 0o755)
        d.maildir_conf = other
        d.write_conf("user nobody\n")
        self.reload_refused(d, other)

    def test_unreadable_recipients(self):
        d = self.daemon()
        d.start()
        rcpt = d.path("recipients")
        with open(rcpt, "w") as f:
            f.write("u@example.test\n")
        os.chmod(rcpt, 0o600)
        d.write_conf(f"user nobody\nrecipients {rcpt}\n")
        self.reload_refused(d, rcpt)


if __name__ == "__main__":
    sys.exit(harness.main("test_user", ("openssl", "saslpasswd2")))
