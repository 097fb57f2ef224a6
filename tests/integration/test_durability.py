#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The commit path's promise under a crash: kill -9 and a simulated power
cut lose nothing acknowledged.

Many sessions send at once (each message on its own connection, some to
two recipients, some larger than the 64 KiB spool buffer so that both the
commit-created and the loop-created file are exercised); inletd is killed
with SIGKILL at an arbitrary moment while they do.  Then every message
whose 250 a client saw must be in each of its recipients' new/, complete,
and no file in new/ or cur/ may be partial (a message the daemon had
linked but not yet acknowledged may be there: at least once).  tmp/ may
hold debris (the tmp/ cleaner's business; no reader looks there).

The power cut (PowerLossTest) needs root and a loop device: the Maildirs
live on a fresh ext4 (journaled, Debian's default) on a loop device that
writes straight to its image file (--direct-io=on), so the image holds
exactly what the "disk" was given and the page cache above it is the
volatile part.  inletd is frozen (SIGSTOP) while clients send, the replies
already on the wire are collected, and the image is copied: the copy is
what a machine that lost power at that moment would boot with (every
write the disk took, none that sat dirty in memory -- without the fsyncs,
acknowledged messages are missing from it).  The copy is mounted (the
journal replays) and checked like the kill -9 case.  Without root,
losetup or a free loop device the test is skipped, saying why.

Every wait is bounded; only the daemon this test started is signalled,
and every mount and loop device it made is undone.
"""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402
from inlet_harness import WAIT  # noqa: E402

SENDERS = 16
MARKER = re.compile(rb"^X-Marker: (\S+)$", re.M)


def body(marker, size):
    """A message of about size octets (CRLF lines) ending in a trailer
    line that names it, so a truncated copy is told from a whole one."""
    line = b"x" * 70 + b"\r\n"
    n = max(1, size // len(line))
    return (b"From: <s@client.test>\r\nSubject: durability " + marker +
            b"\r\nX-Marker: " + marker + b"\r\n\r\n" + line * n +
            b"END " + marker + b"\r\n")


def complete(data, marker, size):
    """Whether a stored file (LF line ends) holds all of the message."""
    want = body(marker, size).replace(b"\r\n", b"\n")
    return data.endswith(want)


class Sender(threading.Thread):
    """Sends messages one per connection until told to stop or the
    daemon goes away; notes the ones that got a 250."""

    def __init__(self, port, idx, acked, lock, stop, rng):
        super().__init__(daemon=True)
        self.port, self.idx = port, idx
        self.acked, self.lock, self.stop = acked, lock, stop
        self.rng = rng
        self.sent = 0

    def one(self, n):
        marker = b"m%d-%d" % (self.idx, n)
        size = 100 * 1024 if n % 5 == 4 else 1024 + 97 * (n % 7)
        rcpts = [b"a@example.test"] + ([b"b@example.test"] if n % 3 == 0
                                        else [])
        s = harness.connect(self.port)
        try:
            s.sock.settimeout(WAIT)
            s.ehlo()
            code, _ = s.transaction(b"s@client.test", rcpts,
                                    body(marker, size))
            if code == 250:
                with self.lock:
                    self.acked[marker] = (size, rcpts)
            s.sock.sendall(b"QUIT\r\n")
        finally:
            s.close()

    def run(self):
        n = 0
        while not self.stop.is_set() and n < 2000:
            try:
                self.one(n)
            except (OSError, EOFError, AssertionError, ValueError):
                if self.stop.is_set():
                    return
                time.sleep(0.01)     # refused while dying: try once more
            n += 1
            self.sent = n


def scan(maildir):
    """{marker: [(path, data)]} of the files in new/ and cur/ of every
    Maildir under maildir, and the number of files in tmp/."""
    found, debris = {}, 0
    for user in (os.listdir(maildir) if os.path.isdir(maildir) else ()):
        for sub in ("new", "cur"):
            d = os.path.join(maildir, user, sub)
            if not os.path.isdir(d):
                continue
            for name in os.listdir(d):
                path = os.path.join(d, name)
                with open(path, "rb") as f:
                    data = f.read()
                m = MARKER.search(data)
                key = (user, m.group(1) if m else None)
                found.setdefault(key, []).append((path, data))
        t = os.path.join(maildir, user, "tmp")
        if os.path.isdir(t):
            debris += len(os.listdir(t))
    return found, debris


class Load:
    """SENDERS senders at d's mx port, noting the messages that got a
    250 (acked, under lock)."""

    def __init__(self, d, rng):
        self.acked, self.lock = {}, threading.Lock()
        self.stop, self.rng = threading.Event(), rng
        self.senders = [Sender(d.port("mx"), i, self.acked, self.lock,
                               self.stop, rng) for i in range(SENDERS)]

    def run_until(self, n):
        """Start them; return once n are acknowledged (bounded), a
        random moment later."""
        for t in self.senders:
            t.start()
        end = time.monotonic() + 3 * WAIT
        while time.monotonic() < end:
            with self.lock:
                if len(self.acked) >= n:
                    break
            time.sleep(0.002)
        time.sleep(self.rng.uniform(0, 0.02))

    def seen(self):
        with self.lock:
            return dict(self.acked)

    def close(self, d):
        """Whatever happened: the senders told to stop, the daemon d
        killed if it still runs, its files removed."""
        self.stop.set()
        if d.proc.poll() is None:
            d.signal(signal.SIGKILL)
        d.stop()
        d.cleanup()

    def finish(self):
        """Stop them; whether every one ended (bounded)."""
        self.stop.set()
        for t in self.senders:
            t.join(WAIT + 2)
        return not any(t.is_alive() for t in self.senders)


def check_stored(test, seen, found, what):
    """Every acknowledged message (seen) whole in each recipient's new/ or
    cur/ (found, from scan), and every stored file whole."""
    sizes = {m: v[0] for m, v in seen.items()}
    for m, (size, rcpts) in seen.items():
        for r in rcpts:
            user = r.split(b"@")[0].decode()
            copies = found.get((user, m), [])
            test.assertTrue(copies, f"{m!r} for {user}: acknowledged, not "
                            f"in new/ ({what})")
            for path, data in copies:
                test.assertTrue(complete(data, m, size), f"{path}: partial")
    for (user, m), copies in found.items():
        test.assertIsNotNone(m, f"a file without a marker: {copies}")
        idx, n = (int(x) for x in m[1:].split(b"-"))
        size = sizes.get(m, 100 * 1024 if n % 5 == 4 else
                         1024 + 97 * (n % 7))
        for path, data in copies:
            test.assertTrue(complete(data, m, size),
                            f"{path}: partial (unacknowledged)")


def run(*cmd):
    """A command's stdout; CalledProcessError (with its stderr) if it fails."""
    return subprocess.run(cmd, check=True, capture_output=True, text=True,
                          timeout=60).stdout.strip()


class LoopDisk:
    """An ext4 on a loop device over image, mounted at mnt; close() undoes
    the mount and the device whatever happened."""

    def __init__(self, image, mnt, direct_io=True, make=True):
        self.mnt, self.dev = mnt, None
        if make:
            with open(image, "wb") as f:
                f.truncate(256 << 20)
            run("mkfs.ext4", "-q", "-F", image)
        self.dev = run("losetup", "--direct-io=" + ("on" if direct_io
                                                      else "off"),
                       "--find", "--show", image)
        os.makedirs(mnt, exist_ok=True)
        try:
            run("mount", "-t", "ext4", self.dev, mnt)
        except BaseException:
            self.close()
            raise
        self.mounted = True

    def close(self):
        if getattr(self, "mounted", False):
            for _ in range(50):
                if subprocess.run(["umount", self.mnt],
                                  capture_output=True).returncode == 0:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError(f"cannot unmount {self.mnt}")
            self.mounted = False
        if self.dev is not None:
            subprocess.run(["losetup", "--detach", self.dev],
                           capture_output=True)
            self.dev = None


class KillTest(unittest.TestCase):
    def round(self, rng, kill_after):
        d = harness.Daemon(maildir="mail/%u", domains="example.test",
                           conf={"max_connections_per_ip": "0"})
        load = Load(d, rng)
        try:
            load.run_until(kill_after)
            d.signal(signal.SIGKILL)
            d.proc.wait(WAIT)
            seen = load.seen()      # what a client had been told
            self.assertTrue(load.finish())
            self.assertEqual(d.proc.returncode, -signal.SIGKILL)
            self.assertGreaterEqual(len(seen), min(kill_after, 1))
            found, debris = scan(d.maildir)
            check_stored(self, seen, found, f"kill after {kill_after}")
            return len(seen), sum(len(v) for v in found.values()), debris
        finally:
            load.close(d)

    def test_kill9_loses_nothing_acknowledged(self):
        seed = int(os.environ.get("INLET_TEST_SEED", time.time()))
        rng = random.Random(seed)
        print(f"seed {seed} (INLET_TEST_SEED repeats it)")
        for kill_after in (1, rng.randrange(20, 60), rng.randrange(80, 200)):
            with self.subTest(kill_after=kill_after):
                acked, stored, debris = self.round(rng, kill_after)
                print(f"killed after {kill_after}+ acknowledged: {acked} "
                      f"acknowledged, {stored} files in new/ (all whole), "
                      f"{debris} in tmp/")


class PowerLossTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("a power cut needs root (loop device, mount)")
        for tool in ("losetup", "mkfs.ext4", "mount", "umount"):
            if shutil.which(tool) is None:
                self.skipTest(f"no {tool}")
        self.work = tempfile.mkdtemp(prefix="inlet-powerloss.")
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        try:
            probe = LoopDisk(os.path.join(self.work, "probe.img"),
                             os.path.join(self.work, "probe"))
        except subprocess.CalledProcessError as e:
            self.skipTest(f"no loop device here: {' '.join(e.cmd)}: "
                          f"{e.stderr.strip()}")
        probe.close()
        os.unlink(os.path.join(self.work, "probe.img"))

    def round(self, rng, stop_after, tag):
        image = os.path.join(self.work, tag + ".img")
        copy = os.path.join(self.work, tag + "-after.img")
        disk = LoopDisk(image, os.path.join(self.work, tag))
        self.addCleanup(disk.close)
        d = harness.Daemon(maildir=os.path.join(disk.mnt, "mail", "%u"),
                           domains="example.test",
                           conf={"max_connections_per_ip": "0"})
        load = Load(d, rng)
        try:
            load.run_until(stop_after)
            d.signal(signal.SIGSTOP)    # the power goes
            time.sleep(0.3)             # replies already sent arrive
            seen = load.seen()
            run("cp", "--sparse=always", image, copy)
            d.signal(signal.SIGKILL)
            d.proc.wait(WAIT)
            self.assertTrue(load.finish())
            self.assertGreaterEqual(len(seen), min(stop_after, 1))
        finally:
            load.close(d)
            disk.close()
        # What the machine boots with: the journal replays at mount.
        after = LoopDisk(copy, os.path.join(self.work, tag + "-after"),
                         direct_io=False, make=False)
        try:
            found, debris = scan(os.path.join(after.mnt, "mail"))
            check_stored(self, seen, found, f"power cut after {stop_after}")
            return len(seen), sum(len(v) for v in found.values()), debris
        finally:
            after.close()

    def test_power_cut_loses_nothing_acknowledged(self):
        seed = int(os.environ.get("INLET_TEST_SEED", time.time()))
        rng = random.Random(seed)
        print(f"seed {seed} (INLET_TEST_SEED repeats it)")
        for i, stop_after in enumerate((1, rng.randrange(40, 150))):
            with self.subTest(stop_after=stop_after):
                acked, stored, debris = self.round(rng, stop_after,
                                                   f"r{i}")
                print(f"power cut after {stop_after}+ acknowledged: "
                      f"{acked} acknowledged, {stored} files in new/ on "
                      f"the disk (all whole), {debris} in tmp/")


if __name__ == "__main__":
    sys.exit(harness.main("test_durability"))
