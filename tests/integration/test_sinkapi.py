#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The sink's HTTP API against the real clients that use Mailpit's.

Each test starts the real inletd --sink (SMTP and HTTP on 127.0.0.1 port
0; the HTTP port is read from the event=http-listen log line), delivers
with smtplib or nodemailer, and reads the API with http.client or the
npm client mailpit-api (tests/js/mailpit_client.mjs, installed by
`npm ci --prefix tests/js`).  Every JSON answer is checked against
Mailpit's field names and types (its swagger.json: MessagesSummary,
MessageSummary, Message, Address, Attachment).  Also: the mail survives
a restart, retention removes the oldest, a waiting search answers once
the message arrives, the read state is the Maildir S flag, bad input
gets the right HTTP error and the daemon lives on.  Every wait is
bounded; no timing assertions.
"""
import http.client
import json
import os
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import threading
import unittest
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402
from inlet_harness import WAIT, run_inletd  # noqa: E402

SRCDIR = os.environ.get("INLET_SRCDIR", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", ".."))
JSDIR = os.path.join(SRCDIR, "tests", "js")

# Mailpit's types, from its swagger.json (see the module docstring).
ADDRESS = {"Name": str, "Address": str}
SUMMARY = {"ID": str, "MessageID": str, "Read": bool, "From": ADDRESS,
           "To": [ADDRESS], "Cc": [ADDRESS], "Bcc": [ADDRESS],
           "ReplyTo": [ADDRESS], "Subject": str, "Created": str,
           "Username": str, "Tags": [str], "Size": int, "Attachments": int,
           "Snippet": str}
PAGE = {"total": int, "unread": int, "count": int, "messages_count": int,
        "messages_unread": int, "start": int, "tags": [str],
        "messages": [SUMMARY]}
ATTACHMENT = {"PartID": str, "FileName": str, "ContentType": str,
              "ContentID": str, "Size": int,
              "Checksums": {"MD5": str, "SHA1": str, "SHA256": str}}
MESSAGE = {"ID": str, "MessageID": str, "From": ADDRESS, "To": [ADDRESS],
           "Cc": [ADDRESS], "Bcc": [ADDRESS], "ReplyTo": [ADDRESS],
           "ReturnPath": str, "Subject": str,
           "ListUnsubscribe": {"Header": str, "Links": [str], "Errors": str,
                               "HeaderPost": str},
           "Date": str, "Tags": [str], "Username": str, "Text": str,
           "HTML": str, "Size": int, "Inline": [ATTACHMENT],
           "Attachments": [ATTACHMENT]}
INFO = {"Version": str, "LatestVersion": str, "Database": str,
        "DatabaseSize": int, "Messages": int, "Unread": int, "Tags": {},
        "RuntimeStats": {"Memory": int, "Uptime": int,
                         "MessagesDeleted": int, "SMTPAccepted": int,
                         "SMTPAcceptedSize": int, "SMTPRejected": int,
                         "SMTPIgnored": int}}
WEBUI = {"Label": str, "MessageRelay": {
    "Enabled": bool, "SMTPServer": str, "ReturnPath": str,
    "AllowedRecipients": str, "BlockedRecipients": str, "OverrideFrom": str,
    "PreserveMessageIDs": bool}, "SpamAssassin": bool, "ChaosEnabled": bool,
    "DuplicatesIgnored": bool, "HideDeleteAllButton": bool}
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?"
                     r"(Z|[+-]\d\d:\d\d)")


def check_shape(test, value, shape, where="$"):
    """value has exactly shape's keys with its types (lists: each item)."""
    if isinstance(shape, dict):
        test.assertIsInstance(value, dict, where)
        test.assertEqual(sorted(value), sorted(shape), where)
        for k, v in shape.items():
            check_shape(test, value[k], v, f"{where}.{k}")
    elif isinstance(shape, list):
        test.assertIsInstance(value, list, where)
        for i, item in enumerate(value):
            check_shape(test, item, shape[0], f"{where}[{i}]")
    elif shape is int:
        test.assertTrue(isinstance(value, int) and
                        not isinstance(value, bool) and value >= 0, where)
    else:
        test.assertIsInstance(value, shape, where)


def sink(tmp=None, conf=(), start=True):
    """A Daemon running inletd --sink on its own Maildir, port 0 for
    SMTP and HTTP; conf: more -o key=value."""
    d = harness.Daemon(prefix="inlet-sinkapi-", start=False)
    d.sinkdir = tmp or d.path("Maildir")
    d.sink_args = ["--sink", d.sinkdir, "-o", "listen=127.0.0.1:0 mx notls",
                   "-o", "http_listen=127.0.0.1:0"]
    for kv in conf:
        d.sink_args += ["-o", kv]
    if start:
        start_sink(d)
    return d


def start_sink(d):
    """(Re)start d's inletd --sink; learn its HTTP port from the log."""
    d.start(args=d.sink_args)
    m = d.wait_log_re(r'event=http-listen address="127\.0\.0\.1:(\d+)"')
    d.http = int(m.group(1))


def request(d, method, path, body=None, headers=None):
    """One HTTP request: (status, headers, body bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", d.http, timeout=WAIT * 7)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


def get_json(test, d, path):
    status, hdrs, body = request(d, "GET", path)
    test.assertEqual(status, 200, body)
    test.assertTrue(hdrs["Content-Type"].startswith("application/json"))
    return json.loads(body)


def send(d, subject, to=("bob@example.org",), rcpts=None, html=None,
         attach=None, text="plain body\n"):
    """Deliver one message with smtplib."""
    m = EmailMessage()
    m["From"] = "Alice <alice@example.org>"
    m["To"] = ", ".join(to)
    m["Subject"] = subject
    m.set_content(text)
    if html is not None:
        m.add_alternative(html, subtype="html")
    if attach is not None:
        m.add_attachment(attach[1], maintype="application",
                         subtype="octet-stream", filename=attach[0])
    with smtplib.SMTP("127.0.0.1", d.port("mx"), timeout=WAIT) as s:
        s.send_message(m, to_addrs=list(rcpts or to))


def msg_file(d, ident):
    """The file of message ident: new/ID or cur/ID:2,FLAGS."""
    for name in (os.path.join("new", ident),) + tuple(
            os.path.join("cur", n) for n in os.listdir(
                os.path.join(d.sinkdir, "cur")) if n.startswith(ident + ":")):
        if os.path.exists(os.path.join(d.sinkdir, name)):
            return os.path.join(d.sinkdir, name)
    raise AssertionError("no file for " + ident)


def messages(test, d):
    page = get_json(test, d, "/api/v1/messages")
    check_shape(test, page, PAGE)
    return page


class SinkApi(unittest.TestCase):
    def setUp(self):
        self.d = sink()

    def tearDown(self):
        self.assertEqual(self.d.stop(), 0, self.d.log_text())
        self.d.cleanup()

    def test_list_message_and_views(self):
        """A MIME message with smtplib: every route's JSON in Mailpit's
        shape, decoded text, HTML and attachment, raw and headers."""
        send(self.d, "=?utf-8?q?caf=C3=A9?= menu", html="<p>Hi <b>there</b>"
             "<script>alert(1)</script></p>", attach=("menu.bin", b"\0\1" * 50))
        page = messages(self, self.d)
        self.assertEqual(page["total"], 1)
        s = page["messages"][0]
        self.assertEqual(s["Subject"], "café menu")
        self.assertEqual(s["From"], {"Name": "Alice",
                                     "Address": "alice@example.org"})
        self.assertEqual(s["Attachments"], 1)
        self.assertFalse(s["Read"])
        self.assertRegex(s["Created"], RFC3339)
        self.assertEqual(s["Snippet"], "plain body")
        m = get_json(self, self.d, "/api/v1/message/" + s["ID"].replace(
            ",", "%2C").replace("=", "%3D"))  # as a client may encode it
        check_shape(self, m, MESSAGE)
        self.assertEqual(m["Text"], "plain body\n")
        self.assertIn("<b>there</b>", m["HTML"])
        a = m["Attachments"][0]
        self.assertEqual((a["FileName"], a["Size"]), ("menu.bin", 100))
        status, hdrs, part = request(self.d, "GET", "/api/v1/message/%s/part/%s"
                                     % (s["ID"], a["PartID"]))
        self.assertEqual((status, part), (200, b"\0\1" * 50))
        self.assertEqual(hdrs["Content-Disposition"], "attachment")
        latest = get_json(self, self.d, "/api/v1/message/latest")
        self.assertEqual(latest["ID"], s["ID"])
        hdrs_json = get_json(self, self.d,
                             "/api/v1/message/%s/headers" % s["ID"])
        self.assertEqual(hdrs_json["Subject"], ["café menu"])
        status, _, raw = request(self.d, "GET",
                                 "/api/v1/message/%s/raw" % s["ID"])
        self.assertEqual(status, 200)
        self.assertEqual(raw, harness.read(msg_file(self.d, s["ID"])))
        status, hdrs, html = request(self.d, "GET", "/view/%s.html" % s["ID"])
        self.assertEqual(status, 200)
        csp = hdrs["Content-Security-Policy"]
        self.assertIn("default-src 'none'", csp)
        self.assertTrue(csp.endswith("; sandbox"), csp)  # no allow-scripts
        self.assertIn(b"<script>", html)  # served as is, never run
        status, _, txt = request(self.d, "GET", "/view/%s.txt" % s["ID"])
        self.assertEqual((status, txt), (200, b"plain body\n"))
        info = get_json(self, self.d, "/api/v1/info")
        check_shape(self, info, INFO)
        self.assertEqual((info["Messages"], info["Unread"]), (1, 0))
        check_shape(self, get_json(self, self.d, "/api/v1/webui"), WEBUI)
        for path in ("/livez", "/readyz"):
            self.assertEqual(request(self.d, "GET", path)[0], 200)

    def test_html_only(self):
        """An HTML-only message: Text is the HTML's text (as Mailpit's),
        Snippet too; a bad Date: header falls back to the arrival."""
        m = EmailMessage()
        m["From"] = "a@example.org"
        m["To"] = "b@example.org"
        m["Subject"] = "html only"
        m["Date"] = "not a date"
        m.set_content("<p>Hello <b>world</b></p>", subtype="html")
        with smtplib.SMTP("127.0.0.1", self.d.port("mx"), timeout=WAIT) as s:
            s.send_message(m)
        page = messages(self, self.d)
        self.assertEqual(page["messages"][0]["Snippet"], "Hello world")
        got = get_json(self, self.d, "/api/v1/message/latest")
        self.assertEqual(got["Text"], "Hello world\n")
        self.assertEqual(got["HTML"], "<p>Hello <b>world</b></p>\n")
        self.assertRegex(got["Date"], RFC3339)

    def test_hostile_mime(self):
        """Deep multipart nesting, 600 parts, a huge header, 8-bit
        garbage and a broken boundary: a best-effort answer in Mailpit's
        shape for each, and the daemon lives on."""
        deep = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n"
                        b"\r\n--b%d\r\n" % (i, i) for i in range(300))
        many = b"Content-Type: multipart/mixed; boundary=m\r\n\r\n" + \
            b"".join(b"--m\r\nContent-Type: application/x-%d\r\n"
                     b"Content-Disposition: attachment; filename=f%d\r\n"
                     b"\r\nx\r\n" % (i, i) for i in range(600)) + b"--m--\r\n"
        bodies = {
            "deep": deep + b"Content-Type: text/plain\r\n\r\ndeep\r\n",
            "many": many,
            "huge": b"X-Big: " + b"a" * 500000 + b"\r\n\r\nbody\r\n",
            "garbage": b"Subject: \xff\xfe\x80 =?utf-8?b?////?=\r\n"
                       b"From: \xc3\x28 <@@>\r\n\r\n\xff\x01\xfe\r\n",
            "broken": b"Content-Type: multipart/alternative; boundary=\"\r\n"
                      b"Content-Transfer-Encoding: base64\r\n\r\n--\r\n!!\r\n",
        }
        for name, body in bodies.items():
            with smtplib.SMTP("127.0.0.1", self.d.port("mx"),
                              timeout=WAIT) as s:
                s.sendmail("a@example.org", ["b@example.org"],
                           b"Subject: " + name.encode() + b"\r\n" + body)
        page = messages(self, self.d)
        self.assertEqual(page["total"], len(bodies))
        for sm in page["messages"]:
            with self.subTest(subject=sm["Subject"]):
                m = get_json(self, self.d, "/api/v1/message/" + sm["ID"])
                check_shape(self, m, MESSAGE)
                self.assertLessEqual(len(m["Attachments"]), 500)
                check_shape(self, get_json(
                    self, self.d, "/api/v1/message/%s/headers" % sm["ID"]),
                    {k: [str] for k in get_json(
                        self, self.d,
                        "/api/v1/message/%s/headers" % sm["ID"])})
                for path in ("/view/%s.html", "/view/%s.txt"):
                    self.assertEqual(request(self.d, "GET",
                                             path % sm["ID"])[0], 200)
        self.assertEqual(request(self.d, "GET", "/livez")[0], 200)

    def test_read_flag_is_maildir_s(self):
        """Fetching a message marks it read: new/ID becomes cur/ID:2,S;
        PUT Read false takes S away; PUT Read true of all puts it back."""
        send(self.d, "flag me")
        ident = messages(self, self.d)["messages"][0]["ID"]
        self.assertEqual(len(self.d.new_files(self.d.sinkdir)), 1)
        get_json(self, self.d, "/api/v1/message/" + ident)
        cur = os.listdir(os.path.join(self.d.sinkdir, "cur"))
        self.assertEqual(cur, [ident + ":2,S"])
        page = messages(self, self.d)
        self.assertTrue(page["messages"][0]["Read"])
        self.assertEqual(page["unread"], 0)
        body = json.dumps({"IDs": [ident], "Read": False})
        status, _, text = request(self.d, "PUT", "/api/v1/messages", body,
                                  {"Content-Type": "application/json"})
        self.assertEqual((status, text), (200, b"ok"))
        self.assertEqual(os.listdir(os.path.join(self.d.sinkdir, "cur")),
                         [ident + ":2,"])
        self.assertEqual(messages(self, self.d)["unread"], 1)
        status, _, _ = request(self.d, "PUT", "/api/v1/messages",
                               json.dumps({"Read": True}),
                               {"Content-Type": "application/json"})
        self.assertEqual(status, 200)
        self.assertEqual(os.listdir(os.path.join(self.d.sinkdir, "cur")),
                         [ident + ":2,S"])

    def test_search_and_delete(self):
        """search and DELETE /api/v1/search; DELETE by IDs and all."""
        send(self.d, "apples", to=("fruit@example.org",))
        send(self.d, "pears", to=("fruit@example.org",))
        send(self.d, "carrots", to=("veg@example.org",))
        page = get_json(self, self.d, "/api/v1/search?query=to%3Afruit")
        check_shape(self, page, PAGE)
        self.assertEqual((page["total"], page["messages_count"]), (3, 2))
        self.assertEqual([m["Subject"] for m in page["messages"]],
                         ["pears", "apples"])
        page = get_json(self, self.d,
                        "/api/v1/search?query=-subject%3Aapples+fruit")
        self.assertEqual([m["Subject"] for m in page["messages"]], ["pears"])
        status, _, _ = request(self.d, "DELETE",
                               "/api/v1/search?query=subject%3Acarrots")
        self.assertEqual(status, 200)
        page = messages(self, self.d)
        self.assertEqual(page["total"], 2)
        ident = page["messages"][0]["ID"]
        status, _, _ = request(self.d, "DELETE", "/api/v1/messages",
                               json.dumps({"IDs": [ident]}),
                               {"Content-Type": "application/json"})
        self.assertEqual(status, 200)
        self.assertEqual(messages(self, self.d)["total"], 1)
        self.assertEqual(request(self.d, "GET", "/api/v1/message/" +
                                 ident)[0], 404)
        self.assertEqual(request(self.d, "DELETE", "/api/v1/messages")[0],
                         200)
        self.assertEqual(messages(self, self.d)["total"], 0)
        self.assertEqual(os.listdir(os.path.join(self.d.sinkdir, "new")), [])
        self.d.wait_log("event=sink-delete", 3)
        self.assertEqual(len(self.d.log_lines("reason=api")), 3)

    def test_wait_answers_on_delivery(self):
        """GET /api/v1/search?wait= parks until a match arrives."""
        result = {}

        def waiter():
            result["page"] = get_json(
                self, self.d, "/api/v1/search?query=subject%3Alater&wait=60s")
        t = threading.Thread(target=waiter)
        t.start()
        send(self.d, "not this one")
        send(self.d, "later arrival")
        t.join(WAIT * 7)
        self.assertFalse(t.is_alive())
        page = result["page"]
        check_shape(self, page, PAGE)
        self.assertEqual([m["Subject"] for m in page["messages"]],
                         ["later arrival"])

    def test_events_stream(self):
        """/api/events: Server-Sent Events, "new" with a MessageSummary,
        "update" when read, one "truncate" for delete-all."""
        s = socket.create_connection(("127.0.0.1", self.d.http), WAIT)
        s.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"retry:" not in data:
            data += s.recv(4096)
        self.assertIn(b"text/event-stream", data)
        send(self.d, "streamed")
        while b"event: stats" not in data:
            chunk = s.recv(4096)
            self.assertTrue(chunk)
            data += chunk
        line = re.search(rb"event: new\r?\ndata: (.*)\r?\n", data)
        ev = json.loads(line.group(1))
        self.assertEqual(ev["Type"], "new")
        check_shape(self, ev["Data"], SUMMARY)
        self.assertEqual(ev["Data"]["Subject"], "streamed")
        ident = ev["Data"]["ID"]
        get_json(self, self.d, "/api/v1/message/" + ident)  # read: update
        self.assertEqual(request(self.d, "DELETE", "/api/v1/messages")[0],
                         200)
        while b"event: truncate" not in data:
            chunk = s.recv(4096)
            self.assertTrue(chunk)
            data += chunk
        up = re.search(rb"event: update\r?\ndata: (.*)\r?\n", data)
        self.assertEqual(json.loads(up.group(1))["Data"],
                         {"ID": ident, "Read": True})
        self.assertNotIn(b"event: delete", data)  # one truncate instead
        s.close()
        # the streams and waits of clients that left are dropped: the
        # next message writes to none of them
        w = socket.create_connection(("127.0.0.1", self.d.http), WAIT)
        w.sendall(b"GET /api/v1/search?query=subject%3Anever&wait=60s "
                  b"HTTP/1.1\r\nHost: x\r\n\r\n")
        w.close()
        send(self.d, "after the streams closed")
        self.assertEqual(messages(self, self.d)["total"], 1)

    def test_events_backlog(self):
        """An /api/events client that never reads does not make inletd
        hold the events for it without bound: past SINKAPI_SSE_BACKLOG
        (256 KiB) waiting in its output the stream is closed and logged,
        the client reads to EOF, and the API, a stream that reads and a
        new stream still work."""
        heard = {}
        ready = threading.Event()

        def reader():  # a stream that keeps reading hears every event
            r = socket.create_connection(("127.0.0.1", self.d.http), WAIT)
            r.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while b"after the close" not in data and len(data) < 64 << 20:
                chunk = r.recv(1 << 16)
                if not chunk:
                    break
                data += chunk
                if b"retry:" in data:
                    ready.set()
            heard["new"] = data.count(b"event: new\n")
            r.close()
        t = threading.Thread(target=reader)
        t.start()
        self.assertTrue(ready.wait(WAIT))
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(WAIT)
        s.connect(("127.0.0.1", self.d.http))
        s.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"retry:" not in data:  # the stream is open; no more reads
            chunk = s.recv(4096)
            self.assertTrue(chunk)
            data += chunk
        # ~60 KiB of subject a "new" event; 200 of them (12 MB) are far
        # more than the kernel's socket buffers (tcp_wmem's 4 MiB) hold
        subject = " ".join("w%05d" % i for i in range(10000))
        for sent in range(1, 201):
            send(self.d, subject)
            if self.d.log_lines("event=sink-events-closed"):
                break
        line = self.d.wait_log_re(r"event=sink-events-closed "
                                  r"client=127\.0\.0\.1 port=\d+ "
                                  r"pending=(\d+)")
        self.assertGreater(int(line.group(1)), 256 * 1024)
        self.assertLess(int(line.group(1)), 256 * 1024 + 2 * len(subject))
        got = 0
        while got < 64 << 20:  # what the kernel held, then EOF
            try:
                chunk = s.recv(1 << 16)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += len(chunk)
        self.assertLess(got, 64 << 20)
        s.close()
        self.assertEqual(messages(self, self.d)["total"], sent)
        self.assertEqual(request(self.d, "GET", "/livez")[0], 200)
        # the slot is free: a new stream hears the next message
        s = socket.create_connection(("127.0.0.1", self.d.http), WAIT)
        s.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"retry:" not in data:
            chunk = s.recv(4096)
            self.assertTrue(chunk)
            data += chunk
        send(self.d, "after the close")
        while b"after the close" not in data:
            chunk = s.recv(4096)
            self.assertTrue(chunk)
            data += chunk
        s.close()
        t.join(WAIT * 7)
        self.assertFalse(t.is_alive())
        self.assertEqual(heard["new"], sent + 1)

    def test_bad_input(self):
        """Traversal IDs, huge queries, wrong content types, oversize
        bodies: the right HTTP error, and the daemon lives on."""
        send(self.d, "victim")
        ident = messages(self, self.d)["messages"][0]["ID"]
        cases = [
            ("GET", "/api/v1/message/..%2F..%2Fetc%2Fpasswd", None, {}, 400),
            ("GET", "/api/v1/message/../../etc/passwd", None, {}, 400),
            ("GET", "/api/v1/message/.hidden", None, {}, 400),
            ("GET", "/view/..%2fx.html", None, {}, 400),
            ("GET", "/api/v1/message/nosuchid", None, {}, 404),
            ("GET", "/api/v1/message/%s%%00/raw" % ident, None, {}, 400),
            ("GET", "/api/v1/message/a%0Ab", None, {}, 400),
            ("GET", "/api/v1/message/%s/part/..%%2f1" % ident, None, {}, 400),
            ("GET", "/api/v1/message/%s/part/9.9" % ident, None, {}, 404),
            ("GET", "/api/v1/search?query=" + "x" * 2000, None, {}, 400),
            ("GET", "/api/v1/messages?limit=-1", None, {}, 400),
            ("GET", "/api/v1/search?query=a&wait=forever", None, {}, 400),
            ("PUT", "/api/v1/messages", "IDs=x", {"Content-Type":
             "application/x-www-form-urlencoded"}, 415),
            ("PUT", "/api/v1/messages", None, {}, 415),
            ("DELETE", "/api/v1/messages", '{"IDs":["%s"]}' % ident,
             {"Content-Type": "text/plain"}, 415),
            ("DELETE", "/api/v1/messages", '{"IDs":["../x"]}',
             {"Content-Type": "application/json"}, 400),
            ("DELETE", "/api/v1/messages", '[1,2',
             {"Content-Type": "application/json"}, 400),
            ("POST", "/api/v1/messages", "{}",
             {"Content-Type": "application/json"}, 405),
            ("GET", "/nope", None, {}, 404),
            ("GET", "/api/v1/info", None, {"X-Big": "y" * 20000}, 400),
        ]
        for method, path, body, hdrs, code in cases:
            with self.subTest(method=method, path=path[:60]):
                self.assertEqual(request(self.d, method, path, body, hdrs)[0],
                                 code)
        # a body over HTTP_MAX_BODY (1 MiB) is refused before it is read
        s = socket.create_connection(("127.0.0.1", self.d.http), WAIT)
        s.sendall(b"PUT /api/v1/messages HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\n"
                  b"Content-Length: 2097152\r\n\r\n")
        self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 413 "))
        s.close()
        self.assertEqual(messages(self, self.d)["total"], 1)
        self.assertEqual(request(self.d, "GET", "/livez")[0], 200)

    def test_connection_limit(self):
        """Past HTTP_MAX_CONNS (64) connections at once: 503."""
        conns = []
        try:
            for _ in range(64):
                c = http.client.HTTPConnection("127.0.0.1", self.d.http,
                                               timeout=WAIT)
                c.request("GET", "/livez")
                self.assertEqual(c.getresponse().read(), b"ok")
                conns.append(c)
            self.assertEqual(request(self.d, "GET", "/livez")[0], 503)
        finally:
            for c in conns:
                c.close()
        self.assertEqual(request(self.d, "GET", "/livez")[0], 200)


CHAOS = {"Sender": {"ErrorCode": int, "Probability": int},
         "Recipient": {"ErrorCode": int, "Probability": int},
         "Authentication": {"ErrorCode": int, "Probability": int}}


class SinkChaos(unittest.TestCase):
    """GET/PUT /api/v1/chaos: Mailpit's triggers as sink_chaos rules,
    the configuration's rules kept."""

    def setUp(self):
        self.d = sink(conf=["sink_chaos=rcpt *@fail.test reply 550"])

    def tearDown(self):
        self.assertEqual(self.d.stop(), 0, self.d.log_text())
        self.d.cleanup()

    def rcpt(self, addr):
        with smtplib.SMTP("127.0.0.1", self.d.port("mx"), timeout=WAIT) as s:
            s.ehlo("client.test")
            s.mail("a@example.org")
            return s.rcpt(addr)[0]

    def put(self, body, ctype="application/json"):
        return request(self.d, "PUT", "/api/v1/chaos", body,
                       {"Content-Type": ctype})

    def test_triggers(self):
        got = get_json(self, self.d, "/api/v1/chaos")
        check_shape(self, got, CHAOS)
        self.assertEqual(got["Recipient"], {"ErrorCode": 451,
                                            "Probability": 0})
        status, _, body = self.put(json.dumps(
            {"Recipient": {"ErrorCode": 452, "Probability": 100}}))
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["Recipient"],
                         {"ErrorCode": 452, "Probability": 100})
        self.assertEqual(self.rcpt("bob@example.org"), 452)
        self.assertEqual(self.rcpt("x@fail.test"), 550)  # config rule
        self.assertEqual(self.put("{}")[0], 200)
        self.assertEqual(self.rcpt("bob@example.org"), 250)
        self.assertEqual(self.rcpt("x@fail.test"), 550)
        self.assertEqual(get_json(self, self.d, "/api/v1/chaos")[
            "Recipient"]["Probability"], 0)
        self.assertEqual(self.put('{"Sender": {"ErrorCode": 700}}')[0], 400)
        self.assertEqual(self.put('{"Sender": 1}')[0], 400)
        self.assertEqual(self.put("{}", "text/plain")[0], 415)
        self.d.wait_log("event=sink-chaos", 2)


class SinkStore(unittest.TestCase):
    def setUp(self):
        self.d = None

    def tearDown(self):
        if self.d is not None:
            self.d.stop()
            self.d.cleanup()

    def test_restart_keeps_mail(self):
        """The Maildir is the store: a restart finds the same messages
        and read state."""
        self.d = sink()
        send(self.d, "first")
        send(self.d, "second")
        ident = messages(self, self.d)["messages"][1]["ID"]
        get_json(self, self.d, "/api/v1/message/" + ident)
        self.assertEqual(self.d.stop(), 0)
        start_sink(self.d)
        page = messages(self, self.d)
        self.assertEqual([(m["Subject"], m["Read"]) for m in page["messages"]],
                         [("second", False), ("first", True)])

    def test_retention_removes_oldest(self):
        """sink_max_messages 3: the oldest go first, each logged."""
        self.d = sink(conf=["sink_max_messages=3"])
        for i in range(5):
            send(self.d, "msg %d" % i)
        page = messages(self, self.d)
        self.assertEqual([m["Subject"] for m in page["messages"]],
                         ["msg 4", "msg 3", "msg 2"])
        self.assertEqual(len(os.listdir(os.path.join(self.d.sinkdir,
                                                     "new"))), 3)
        self.d.wait_log("event=sink-delete", 2)
        self.assertEqual(len(self.d.log_lines("reason=max-messages")), 2)

    def test_bcc_from_envelope(self):
        """Bcc: the env/ record's recipients that no header names."""
        self.d = sink(start=False)
        for sub in ("new", "cur", "tmp", "env"):
            os.makedirs(os.path.join(self.d.sinkdir, sub))
        name = "1700000000.M1P1Q1.test"
        with open(os.path.join(self.d.sinkdir, "new", name), "wb") as f:
            f.write(b"From: a@example.org\nTo: Bob <bob@example.org>\n"
                    b"Subject: bcc\n\nbody\n")
        with open(os.path.join(self.d.sinkdir, "env", name), "w") as f:
            f.write("queue-id 1\narrival 2023-11-14T22:13:20Z\nclient "
                    "127.0.0.1\nuser carol\nsender <a@example.org>\n"
                    "recipient <bob@example.org>\n"
                    "recipient <hidden@example.org>\n")
        start_sink(self.d)
        m = get_json(self, self.d, "/api/v1/message/" + name)
        self.assertEqual(m["Bcc"], [{"Name": "", "Address":
                                     "hidden@example.org"}])
        self.assertEqual((m["Username"], m["ReturnPath"]),
                         ("carol", "a@example.org"))
        page = get_json(self, self.d, "/api/v1/search?query=bcc%3Ahidden")
        self.assertEqual(page["messages_count"], 1)

    def test_config_errors(self):
        """Off loopback without http_auth, or without a sink: exit 2
        naming the line."""
        d = harness.Daemon(prefix="inlet-sinkapi-", start=False)
        self.d = d
        for conf, want in (
                ("sink yes\nhttp_listen 0.0.0.0:0\n", "set http_auth"),
                ("http_listen 127.0.0.1:0\n", "needs sink yes"),
                ("sink yes\nhttp_listen 127.0.0.1\n", "missing :PORT")):
            d.write_conf(conf)
            r = run_inletd(["-d", "-c", d.conf])
            err = r.stderr.decode()
            self.assertEqual(r.returncode, 2, err)
            self.assertIn(d.conf + ":", err)
            self.assertIn(want, err)


def free_port():
    """A port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SinkActivation(unittest.TestCase):
    """A socket systemd names "http" is the HTTP API's (LISTEN_FDNAMES),
    through systemd-socket-activate, which starts inletd on the first
    connection."""

    def setUp(self):
        if shutil.which("systemd-socket-activate") is None:
            if harness.CI:
                self.fail("systemd-socket-activate is missing")
            self.skipTest("no systemd-socket-activate")
        self.d = harness.Daemon(prefix="inlet-sinkapi-", start=False)

    def tearDown(self):
        self.assertEqual(self.d.stop(), 0, self.d.log_text())
        self.d.cleanup()

    def test_http_socket(self):
        smtp, web = free_port(), free_port()
        self.d.http = web
        self.d.start(args=["--sink", self.d.path("Maildir")], report=False,
                     wrap=["systemd-socket-activate", "-l",
                           f"127.0.0.1:{smtp}", "-l", f"127.0.0.1:{web}",
                           "--fdname=mx:http"])
        for port in (smtp, web):
            self.d.wait_log(f"Listening on 127.0.0.1:{port} as")
        self.assertEqual(request(self.d, "GET", "/livez")[0], 200)
        self.d.wait_log(f'event=http-listen address="127.0.0.1:{web}" '
                        "auth=none inherited=yes")
        self.d.listeners = [(smtp, "mx")]
        send(self.d, "activated")
        self.assertEqual(messages(self, self.d)["messages"][0]["Subject"],
                         "activated")


class MailpitClient(unittest.TestCase):
    """The npm client mailpit-api 2.1.0 and nodemailer, for real."""

    def setUp(self):
        if not os.path.isdir(os.path.join(JSDIR, "node_modules",
                                          "mailpit-api")):
            # quickstart runs npm ci in the clone; a tarball's tree (make
            # distcheck) has no node_modules and no network to get them
            # (quickstart check sets INLET_REQUIRE_BROWSER: no skipping)
            required = harness.CI or os.environ.get("INLET_REQUIRE_BROWSER")
            if required and os.path.exists(os.path.join(SRCDIR, ".git")):
                self.fail("npm ci --prefix tests/js has not been run")
            self.skipTest("no tests/js/node_modules (npm ci --prefix "
                          "tests/js)")
        self.d = sink()

    def tearDown(self):
        self.assertEqual(self.d.stop(), 0)
        self.d.cleanup()

    def test_mailpit_api(self):
        r = subprocess.run(["node", os.path.join(JSDIR, "mailpit_client.mjs"),
                            str(self.d.port("mx")), str(self.d.http)],
                           capture_output=True, timeout=WAIT * 6, cwd=JSDIR)
        out = r.stdout.decode()
        print(out.split("RESULT ")[0], end="")
        self.assertEqual(r.returncode, 0, r.stderr.decode() + out)
        res = json.loads(out.split("RESULT ", 1)[1])
        check_shape(self, res["listMessages"], PAGE)
        check_shape(self, res["searchMessages"], PAGE)
        check_shape(self, res["afterDelete"], PAGE)
        for k in ("waitForMessage", "getMessageSummary"):
            check_shape(self, res[k], MESSAGE)
        m = res["getMessageSummary"]
        self.assertIn("https://example.org/confirm?t=1", m["Text"])
        self.assertIn('<a href="https://example.org/confirm?t=1">', m["HTML"])
        self.assertEqual([a["FileName"] for a in m["Attachments"]],
                         ["report.csv"])
        self.assertEqual(m["Attachments"][0]["Size"], 8)
        self.assertEqual(m["Cc"], [{"Name": "", "Address": "cc@example.org"}])
        self.assertEqual([a["Address"] for a in m["Bcc"]],
                         ["secret@example.org"])  # from the env/ record
        self.assertEqual(m["ReturnPath"], "node@example.org")
        self.assertEqual(res["listMessages"]["total"], 1)  # one per
        # transaction, whatever the number of recipients
        self.assertIn("Subject: =?UTF-8?Q?nodemailer_report_=E2=9C=93?=",
                      res["getMessageSource"])
        self.assertEqual(res["getMessageHeaders"]["Subject"],
                         ["nodemailer report ✓"])
        self.assertIn("confirm</a>", res["renderMessageHTML"])
        check_shape(self, res["getInfo"], INFO)
        check_shape(self, res["getConfiguration"], WEBUI)
        check_shape(self, res["getChaosTriggers"], CHAOS)
        self.assertEqual(res["getChaosTriggers"], res["setChaosTriggers"])
        self.assertEqual(res["deleteMessages"], "ok")
        self.assertEqual(res["afterDelete"]["total"],
                         res["listMessages"]["total"] - 1)


if __name__ == "__main__":
    sys.exit(harness.main("test_sinkapi", ("node",)))
