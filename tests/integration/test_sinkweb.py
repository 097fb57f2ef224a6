#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The sink's web page in a real browser: Debian's headless Chromium,
driven by chromium-driver through python3-selenium, against a real
`inletd --sink` (SMTP and HTTP on 127.0.0.1 port 0).

A message sent with smtplib appears without a reload (Server-Sent
Events); it opens; its HTML is shown inside the sandboxed iframe and a
<script> in the mail does not run (it would change titles, set a
property on the page's window and add an element); the Text, Headers and
Raw tabs show the message as text; search narrows the list; the keyboard
moves and opens; delete removes it from the list and from the sink.  The
page runs under inletd's Content-Security-Policy with no violation.

Skips (77) only when the browser, its driver or selenium is missing and
neither INLET_REQUIRE_BROWSER nor CI=true is set; quickstart sets
INLET_REQUIRE_BROWSER=1, so CI really runs it.  With INLET_SCREENSHOT=PATH
it saves a screenshot of the page with a message open (doc/sink-page.png
is made this way).  Every wait is bounded by WAIT.
"""
import json
import os
import shutil
import smtplib
import sys
import tempfile
import unittest
import urllib.request

# python3-selenium is Debian's: when the python3 on PATH is another one
# (pyenv, a venv), run again under Debian's, once.
try:
    import selenium  # noqa: F401
except ImportError:
    if (os.path.exists("/usr/bin/python3") and
            os.path.realpath(sys.executable) !=
            os.path.realpath("/usr/bin/python3") and
            not os.environ.get("INLET_SINKWEB_REEXEC")):
        os.environ["INLET_SINKWEB_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402
from inlet_harness import WAIT  # noqa: E402

try:
    from selenium import webdriver
    from selenium.common.exceptions import (
        StaleElementReferenceException, TimeoutException)
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOT = os.environ.get("INLET_SCREENSHOT")

SUBJECT = "Your order #1234 has shipped"
TEXT = "Your order has shipped.\r\nTrack it at https://shop.example/t/1234\r\n"
HTML = """<html><head><title>order</title></head>
<body style="font-family: sans-serif">
<h1 id="mail-h1" style="color: #1f5fbf">Your order has shipped</h1>
<p>Thanks for shopping with us. Track it
<a href="https://shop.example/t/1234">online</a>.</p>
<script>
document.title = "PWNED";
try { parent.document.title = "PWNED"; } catch (e) {}
try { window.top.pwned = 1; } catch (e) {}
var p = document.createElement("p"); p.id = "script-ran";
document.body.appendChild(p);
</script>
<img src="x" width="1" height="1" alt="" onerror="document.title='PWNED-ONERROR'">
</body></html>
"""
MESSAGE = (
    "From: Shop <orders@shop.example>\r\n"
    "To: Bob <bob@example.test>\r\n"
    f"Subject: {SUBJECT}\r\n"
    "Message-ID: <order-1234@shop.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=MIX\r\n"
    "\r\n"
    "--MIX\r\n"
    "Content-Type: multipart/alternative; boundary=ALT\r\n"
    "\r\n"
    "--ALT\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n" + TEXT +
    "--ALT\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n" + HTML.replace("\n", "\r\n") +
    "--ALT--\r\n"
    "--MIX\r\n"
    "Content-Type: application/pdf\r\n"
    "Content-Disposition: attachment; filename=invoice.pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0xLjQKJeLjz9MK\r\n"
    "--MIX--\r\n").encode()


def missing():
    """What the browser test needs and this machine lacks."""
    out = []
    if not HAVE_SELENIUM:
        out.append("python3-selenium")
    if not os.access(CHROMIUM, os.X_OK):
        out.append("chromium")
    if not os.access(DRIVER, os.X_OK):
        out.append("chromium-driver")
    return out


def browser(profile):
    """A headless Chromium with its own profile dir, console logs kept."""
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-first-run", "--window-size=1280,800",
              "--user-data-dir=" + profile):
        o.add_argument(a)
    if os.geteuid() == 0:
        o.add_argument("--no-sandbox")  # Chromium refuses root otherwise
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(DRIVER), options=o)
    d.set_page_load_timeout(WAIT)
    d.set_script_timeout(WAIT)
    return d


class SinkPage(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="inlet-sinkweb-")
        sinkdir = os.path.join(self.tmp, "Maildir")
        self.d = harness.Daemon(prefix="inlet-sinkwebd-", args=[
            "--sink", sinkdir, "-o",
            "listen=127.0.0.1:0 mx notls", "-o",
            "http_listen=127.0.0.1:0"])
        self.smtp_port = self.d.port("mx")
        m = self.d.wait_log_re(
            r'event=http-listen address="127\.0\.0\.1:(\d+)"')
        self.base = f"http://127.0.0.1:{m.group(1)}"
        try:
            self.b = browser(os.path.join(self.tmp, "profile"))
        except Exception:
            self.d.stop()
            self.d.cleanup()
            raise

    def tearDown(self):
        try:
            self.b.quit()
        finally:
            rc = self.d.stop()
            self.d.cleanup()
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertEqual(rc, 0, "inletd's exit status")

    def wait(self, cond, what):
        """cond()'s first true value, within WAIT.  The list is redrawn
        as events arrive, so an element found may go stale: look again."""
        try:
            return WebDriverWait(
                self.b, WAIT, poll_frequency=0.1,
                ignored_exceptions=(StaleElementReferenceException,)).until(
                    lambda b: cond())
        except TimeoutException:
            self.fail("timed out waiting for " + what)

    def click_item(self, subject):
        """Click the list's row for subject (found afresh if redrawn)."""
        def click():
            li = self.item_with(subject)
            if li is None:
                return False
            li.click()
            return True
        self.wait(click, "a row to click: " + subject)

    def send(self, message, rcpts=("bob@example.test",)):
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=WAIT) as s:
            self.assertEqual(
                s.sendmail("orders@shop.example", list(rcpts), message), {})

    def items(self):
        return self.b.find_elements(By.CSS_SELECTOR, "#list .item")

    def item_with(self, subject):
        for li in self.items():
            if subject in li.text:
                return li
        return None

    def api_count(self):
        with urllib.request.urlopen(self.base + "/api/v1/messages",
                                    timeout=WAIT) as r:
            return json.load(r)["messages_count"]

    def console_errors(self):
        return [e for e in self.b.get_log("browser")
                if e["level"] == "SEVERE"]

    def open_page(self):
        self.b.get(self.base + "/")
        self.wait(lambda: self.b.find_element(By.ID, "live").text == "live",
                  "the event stream")
        # a mark that a reload would wipe out
        self.b.execute_script("window.inletMark = 'no reload';")

    def test_page(self):
        """Live, open, the sandbox holds, the tabs, delete."""
        b = self.b
        # the page is served under a strict policy (and works under it:
        # no console error at the end)
        with urllib.request.urlopen(self.base + "/", timeout=WAIT) as r:
            csp = r.headers.get("Content-Security-Policy", "")
        self.assertIn("script-src 'self'", csp)
        self.assertIn("style-src 'self'", csp)
        self.assertNotIn("unsafe", csp)
        self.open_page()
        self.assertEqual(self.items(), [])
        for who, subject in (("Alice Example <alice@example.net>",
                              "Minutes of Tuesday's meeting"),
                             ("CI <ci@build.example>",
                              "Build #5120 passed")):
            self.send(f"From: {who}\r\nTo: bob@example.test\r\n"
                      f"Subject: {subject}\r\n\r\nSee the notes.\r\n"
                      .encode())
        self.wait(lambda: len(self.items()) == 2, "two messages")
        # one message for two recipients, one of them in no header (Bcc)
        self.send(MESSAGE, ("bob@example.test", "qa@example.test"))

        # it appears without a reload
        self.wait(lambda: self.item_with(SUBJECT), "the new message")
        self.assertEqual(b.execute_script("return window.inletMark"),
                         "no reload")
        self.wait(lambda: "unread" in self.item_with(SUBJECT).get_attribute(
            "class") and "Shop" in self.item_with(SUBJECT).text and
            "1 attachment" in self.item_with(SUBJECT).text,
            "an unread row from Shop with 1 attachment")

        # it opens; its HTML is in the sandboxed frame, not in the page
        self.click_item(SUBJECT)
        self.wait(lambda: b.find_element(By.ID, "m-subject").text ==
                  SUBJECT, "the message to open")
        frame = b.find_element(By.ID, "html-frame")
        self.assertEqual(frame.get_attribute("sandbox"), "")
        src = frame.get_attribute("src")
        msg_id = self.wait(lambda: self.item_with(SUBJECT).get_attribute(
            "data-id"), "the row's ID")
        self.assertTrue(src.endswith(f"/view/{msg_id}.html"), src)
        self.assertEqual(b.find_elements(By.ID, "mail-h1"), [])
        meta = b.find_element(By.ID, "m-meta").text
        self.assertIn("orders@shop.example", meta)
        self.assertIn("bob@example.test", meta)
        self.assertIn("Bcc\nqa@example.test", meta)
        self.assertIn("invoice.pdf",
                      b.find_element(By.ID, "m-attachments").text)
        link = b.find_element(By.CSS_SELECTOR, "#m-attachment-list a")
        with urllib.request.urlopen(link.get_attribute("href"),
                                    timeout=WAIT) as r:
            self.assertTrue(r.read().startswith(b"%PDF-1.4"))
        b.switch_to.frame(frame)
        try:
            h1 = self.wait(lambda: b.find_elements(By.ID, "mail-h1"),
                           "the mail's HTML in the frame")
            self.assertEqual(h1[0].text, "Your order has shipped")
            # the mail's script did not run
            self.assertEqual(b.find_elements(By.ID, "script-ran"), [])
            self.assertEqual(b.execute_script("return document.title"),
                             "order")
        finally:
            b.switch_to.default_content()
        self.assertNotIn("PWNED", b.title)
        self.assertIsNone(b.execute_script("return window.pwned"))
        # opening it marked it read
        self.wait(lambda: "unread" not in
                  self.item_with(SUBJECT).get_attribute("class"),
                  "the message to be read")
        if SCREENSHOT:
            b.save_screenshot(SCREENSHOT)

        # the Text tab shows the text part, as text
        b.find_element(By.ID, "tab-text").click()
        text = b.find_element(By.ID, "text")
        self.wait(text.is_displayed, "the text tab")
        self.assertIn("Track it at https://shop.example/t/1234", text.text)
        self.assertFalse(frame.is_displayed())
        # Headers and Raw, by their keys
        b.find_element(By.TAG_NAME, "body").send_keys("e")
        self.wait(lambda: "Message-ID" in
                  b.find_element(By.ID, "headers").text, "the headers")
        b.find_element(By.TAG_NAME, "body").send_keys("r")
        self.wait(lambda: "<script>" in b.find_element(By.ID, "raw").text,
                  "the raw source (as text)")
        self.assertEqual(b.find_elements(By.ID, "script-ran"), [])

        # delete removes it from the list and the sink
        b.find_element(By.ID, "delete-one").click()
        self.wait(lambda: self.item_with(SUBJECT) is None,
                  "the message to leave the list")
        self.assertFalse(b.find_element(By.ID, "message-pane").is_displayed())
        self.assertEqual(self.api_count(), 2)
        self.assertEqual(len(self.items()), 2)
        self.assertEqual(b.execute_script("return window.inletMark"),
                         "no reload")
        self.assertEqual(self.console_errors(), [])

    def test_keyboard_and_search(self):
        """Newest first; j/k, Enter, Esc, Delete, / and a search."""
        b = self.b
        self.open_page()
        for n in ("first", "second", "third"):
            self.send(f"From: a@example.net\r\nTo: bob@example.test\r\n"
                      f"Subject: {n} note\r\n\r\nbody of the {n}\r\n".encode())
        self.wait(lambda: len(self.items()) == 3, "three messages")
        # newest first
        self.assertIn("third note", self.items()[0].text)
        self.assertIn("first note", self.items()[2].text)
        body = b.find_element(By.TAG_NAME, "body")
        body.send_keys("j")             # the second row: "second note"
        body.send_keys(Keys.ENTER)
        self.wait(lambda: b.find_element(By.ID, "m-subject").text ==
                  "second note", "Enter to open the selected message")
        # no HTML part: the Text tab is shown
        self.assertTrue(b.find_element(By.ID, "text").is_displayed())
        self.assertEqual(b.find_element(By.ID, "text").text,
                         "body of the second")
        body.send_keys(Keys.ESCAPE)
        self.wait(lambda: not b.find_element(
            By.ID, "message-pane").is_displayed(), "Esc to close")
        body.send_keys("k")             # back to "third note"
        body.send_keys(Keys.DELETE)
        self.wait(lambda: len(self.items()) == 2, "Delete to delete")
        self.assertIsNone(self.item_with("third note"))
        # / searches with Mailpit's syntax
        body.send_keys("/")
        search = b.find_element(By.ID, "search")
        self.assertEqual(b.switch_to.active_element, search)
        search.send_keys("subject:first", Keys.ENTER)
        self.wait(lambda: [li.find_element(By.CLASS_NAME, "subj").text
                           for li in self.items()] == ["first note"],
                  "the search to narrow the list")
        self.assertIn("1 match", b.find_element(By.ID, "stats").text)
        self.assertEqual(self.console_errors(), [])

    def test_narrow_window(self):
        """One pane at a time on a narrow window; Back returns."""
        b = self.b
        b.set_window_size(400, 760)
        self.open_page()
        self.send(b"From: a@example.net\r\nTo: bob@example.test\r\n"
                  b"Subject: small screen\r\n\r\nhello\r\n")
        self.click_item("small screen")
        back = b.find_element(By.ID, "back")
        self.wait(back.is_displayed, "the Back button")
        self.assertFalse(b.find_element(By.ID, "list").is_displayed())
        back.click()
        self.wait(lambda: b.find_element(By.ID, "list").is_displayed(),
                  "the list again")


def main():
    gone = missing()
    if gone:
        print("missing: " + ", ".join(gone))
        required = os.environ.get("INLET_REQUIRE_BROWSER") or harness.CI
        return 1 if required else 77
    return harness.main("test_sinkweb")


if __name__ == "__main__":
    sys.exit(main())
