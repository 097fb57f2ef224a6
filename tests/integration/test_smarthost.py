#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""test_smarthost - the private Postfix smarthost (smarthost.py) the
relay's tests send to: one message through submission with STARTTLS and
AUTH (smtplib), read back from its Maildir; implicit TLS on the smtps
port; the check_recipient_access answers (450 4.2.0, 550 5.1.1) and a
changed table after set_access(); no relaying without AUTH, no AUTH
before TLS, no TLS on the plain port; the certificate verifies against
the test CA for the chosen name only; stop() ends the instance.  Needs
root, postfix, openssl and saslpasswd2 (else a skip, a failure under CI).
"""
import os
import shutil
import smtplib
import ssl
import sys
import tempfile
import time
import unittest

import inlet_harness as harness
import smarthost

WAIT = harness.WAIT


class Smarthost(unittest.TestCase):
    """One instance for the whole class (starting Postfix takes seconds)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="inlet-smarthost-")
        cls.sh = smarthost.start(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        try:
            pid = cls.sh.pid
            cls.sh.stop()
            with cls.assertRaises(cls, ProcessLookupError):
                os.kill(pid, 0)
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def ctx(self):
        return ssl.create_default_context(cafile=self.sh.ca_path)

    def submission(self):
        """A session on the submission port after STARTTLS and AUTH."""
        c = smtplib.SMTP("localhost", self.sh.ports["submission"],
                         timeout=WAIT)
        c.ehlo("client.test")
        c.starttls(context=self.ctx())
        c.ehlo("client.test")
        c.login(self.sh.user, self.sh.password)
        return c

    def delivered_to(self, rcpt):
        """The messages delivered to rcpt, waiting (bounded) for one."""
        end = time.monotonic() + WAIT
        while True:
            got = [m for _, m in self.sh.messages()
                   if b"\nDelivered-To: " + rcpt.encode() + b"\n" in m]
            if got or time.monotonic() >= end:
                return got
            time.sleep(0.1)

    def test_submission_starttls_auth_delivers(self):
        with self.submission() as c:
            self.assertTrue(c.has_extn("dsn"))
            self.assertEqual(c.sendmail(
                "alice@inlet.test", ["one@remote.example"],
                b"Subject: through the smarthost\r\n\r\nhello\r\n"), {})
        got = self.delivered_to("one@remote.example")
        self.assertEqual(len(got), 1, self.sh.log_text()[-2000:])
        self.assertTrue(got[0].startswith(b"Return-Path: <alice@inlet.test>\n"),
                        got[0])
        self.assertIn(b" with ESMTPSA ", got[0])
        self.assertIn(b"\nSubject: through the smarthost\n", got[0])
        self.assertTrue(got[0].endswith(b"\n\nhello\n"), got[0])

    def test_smtps_implicit_tls(self):
        with smtplib.SMTP_SSL("localhost", self.sh.ports["smtps"],
                              context=self.ctx(), timeout=WAIT) as c:
            c.login(self.sh.user, self.sh.password)
            self.assertEqual(c.sendmail("a@inlet.test", ["two@other.example"],
                                        b"Subject: smtps\r\n\r\nx\r\n"), {})
        self.assertEqual(len(self.delivered_to("two@other.example")), 1)

    def test_access_replies(self):
        with self.submission() as c:
            c.mail("a@inlet.test")
            code, text = c.rcpt(self.sh.tempfail)
            self.assertEqual((code, text[:5]), (450, b"4.2.0"), text)
            code, text = c.rcpt(self.sh.permfail)
            self.assertEqual((code, text[:5]), (550, b"5.1.1"), text)
            self.assertEqual(c.rcpt("fine@remote.example")[0], 250)
            c.rset()

    def test_set_access_lets_a_deferred_recipient_through(self):
        addr = "later@remote.example"
        self.sh.set_access({addr: "450 4.2.0 Not yet",
                            self.sh.permfail: "550 5.1.1 No such user"})
        try:
            with self.submission() as c:
                c.mail("a@inlet.test")
                self.assertEqual(c.rcpt(addr)[0], 450)
                c.rset()
            self.sh.set_access({self.sh.permfail: "550 5.1.1 No such user"})
            with self.submission() as c:
                self.assertEqual(c.sendmail("a@inlet.test", [addr],
                                            b"Subject: later\r\n\r\nx\r\n"),
                                 {})
            self.assertEqual(len(self.delivered_to(addr)), 1)
        finally:
            self.sh.set_access({
                self.sh.tempfail: "450 4.2.0 Mailbox busy, try again later",
                self.sh.permfail: "550 5.1.1 No such user here"})

    def test_no_auth_before_tls_and_no_relay_without_auth(self):
        with smtplib.SMTP("localhost", self.sh.ports["submission"],
                          timeout=WAIT) as c:
            c.ehlo("client.test")
            self.assertNotIn("auth", c.esmtp_features)
            self.assertIn("starttls", c.esmtp_features)
            code, _ = c.mail("a@inlet.test")
            self.assertEqual(code // 100, 5)     # encryption required
            c.starttls(context=self.ctx())
            c.ehlo("client.test")
            self.assertIn("auth", c.esmtp_features)
            c.mail("a@inlet.test")
            code, text = c.rcpt("x@remote.example")
            self.assertEqual((code, text[:5]), (554, b"5.7.1"), text)

    def test_plain_port_offers_no_tls(self):
        with smtplib.SMTP("localhost", self.sh.ports["plain"],
                          timeout=WAIT) as c:
            c.ehlo("client.test")
            self.assertNotIn("starttls", c.esmtp_features)
            self.assertNotIn("auth", c.esmtp_features)

    def test_certificate_for_the_address_too(self):
        """The certificate names 127.0.0.1 too (subjectAltName IP)."""
        with smtplib.SMTP("127.0.0.1", self.sh.ports["submission"],
                          timeout=WAIT) as c:
            self.assertEqual(c.starttls(context=self.ctx())[0], 220)


class WrongName(unittest.TestCase):
    """cert_host: a certificate for another name than the host's."""

    def test_cert_host(self):
        tmp = tempfile.mkdtemp(prefix="inlet-smarthost-")
        try:
            sh = smarthost.start(tmp, cert_host="not-the-smarthost.test")
            try:
                with smtplib.SMTP("localhost", sh.ports["submission"],
                                  timeout=WAIT) as c:
                    ctx = ssl.create_default_context(cafile=sh.ca_path)
                    with self.assertRaises(ssl.SSLCertVerificationError):
                        c.starttls(context=ctx)
            finally:
                sh.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if smarthost.missing():
        print("missing: " + ", ".join(smarthost.missing()))
        sys.exit(1 if harness.CI else 77)
    sys.exit(harness.main("test_smarthost",
                          ("postfix", "openssl", "saslpasswd2")))
