#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""http_auth end to end: inletd --sink with an htpasswd file.

Without credentials, with a wrong password, an unknown user or a
malformed header the page and the API answer 401 with a Basic challenge;
each user of the file (bcrypt, SHA-crypt, yescrypt) gets in with the
right password.  A file inletd must refuse (a plaintext password,
Apache's $apr1$ MD5, a missing file) stops it at start with exit status
2 and an error naming file:line.  HTTP on 127.0.0.1 port 0; standard
library only; every wait bounded.
"""
import base64
import http.client
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402
from inlet_harness import WAIT, run_inletd  # noqa: E402

PASSWORD = "s3cret pass:word"
# made with libxcrypt (Python's crypt module) for PASSWORD
USERS = {
    "bc": "$2y$04$abcdefghijklmnopqrstuus4QrAiYzHZbBJgdJrKg0ATgQV/22xpu",
    "sha": "$6$rounds=1000$saltsalt$vfMV65oulKmbPpRij/7o3Tf52EGOFA8ZQ2eW"
           "FdqygAim0VR4dLj/Vtaf3.oeL22L.jvGCrYBbtuc//k26yVxa0",
    "yes": "$y$j9T$abcdefghijklmnop$IkMIQy6N1R44kxtb9ZgeuWPFnuJFHMCJjCURco"
           "/4T25",
}


def basic(user, password):
    raw = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


class HttpAuth(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="inlet-httpauth-")
        self.users = os.path.join(self.tmp, "users")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write_users(self, text):
        with open(self.users, "w") as f:
            f.write(text)

    def sink(self):
        return harness.Daemon(prefix="inlet-httpauthd-", args=[
            "--sink", os.path.join(self.tmp, "Maildir"),
            "-o", "listen=127.0.0.1:0 mx notls",
            "-o", "http_listen=127.0.0.1:0",
            "-o", "http_auth=" + self.users])

    def get(self, port, path, auth=None):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        try:
            c.request("GET", path,
                      headers={"Authorization": auth} if auth else {})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def test_users_get_in_and_no_one_else(self):
        self.write_users("# the page's users\n\n" + "".join(
            f"{u}:{h}\n" for u, h in USERS.items()))
        d = self.sink()
        try:
            m = d.wait_log_re(
                r'event=http-listen address="127\.0\.0\.1:(\d+)"')
            port = int(m.group(1))
            for auth in (None, basic("bc", "wrong"), basic("bc", ""),
                         basic("nobody", PASSWORD), "Basic !!!!",
                         "Bearer " + basic("bc", PASSWORD)[6:],
                         basic("bc", PASSWORD)[:-2]):
                with self.subTest(auth=auth):
                    status, headers, _ = self.get(port, "/", auth)
                    self.assertEqual(status, 401)
                    self.assertIn("Basic", headers.get(
                        "WWW-Authenticate", ""))
                    status, _, _ = self.get(port, "/api/v1/messages", auth)
                    self.assertEqual(status, 401)
            for user in USERS:
                with self.subTest(user=user):
                    status, _, body = self.get(port, "/",
                                               basic(user, PASSWORD))
                    self.assertEqual(status, 200)
                    self.assertIn(b"<title>inlet sink</title>", body)
                    status, _, body = self.get(port, "/api/v1/messages",
                                               basic(user, PASSWORD))
                    self.assertEqual(status, 200)
                    self.assertIn(b'"messages_count"', body)
        finally:
            self.assertEqual(d.stop(), 0)
            d.cleanup()

    def test_refused_files(self):
        for text, err in (
                ("alice:secret\n", ":1: user 'alice': not a crypt(5) hash"),
                ("# x\nalice:$apr1$abc$0123456789012345678901\n",
                 ":2: user 'alice': unsupported hash type"),
                ("", ": no users")):
            with self.subTest(text=text):
                self.write_users(text)
                r = run_inletd([
                    "--sink", os.path.join(self.tmp, "Maildir"),
                    "-o", "listen=127.0.0.1:0 mx notls",
                    "-o", "http_listen=127.0.0.1:0",
                    "-o", "http_auth=" + self.users])
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(self.users + err, r.stderr.decode())
        os.unlink(self.users)
        r = run_inletd(["--sink", os.path.join(self.tmp, "Maildir"),
                        "-o", "listen=127.0.0.1:0 mx notls",
                        "-o", "http_listen=127.0.0.1:0",
                        "-o", "http_auth=" + self.users])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(self.users + ": No such file or directory",
                      r.stderr.decode())


if __name__ == "__main__":
    sys.exit(harness.main("test_httpauth"))
