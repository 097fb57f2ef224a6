#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""soak - the whole daemon under random hostile clients for a bounded time.

Starts one inletd (sink; mx, submission and submissions with a
certificate; small limits so that sessions end often) on 127.0.0.1 port
0 and runs SOAK_CLIENTS threads for SOAK_SECONDS.  Each thread opens
connection after connection in a random TLS mode (plain, STARTTLS,
implicit) and sends a random mix of what a hostile client sends: valid
commands, mutated commands (flipped, inserted, deleted, NUL and 8-bit
bytes), raw junk, pipelined bursts, DATA and BDAT bodies with bare CR/LF,
NUL and dots, wrong BDAT sizes, AUTH exchanges, STARTTLS with and without
a handshake; it may read its replies or never; it ends the connection by
QUIT, FIN, RST, a half-close or by going silent.  Every random choice
comes from SOAK_SEED (printed), so a failing run can be replayed.

Afterwards: the daemon is alive; every connection was freed (the
descriptor count is back to its baseline, as many event=disconnect lines
as event=connect ones); its RSS grew by less than SOAK_RSS_MIB; SIGTERM
ends it with status 0; and its log holds no sanitizer report and no
"can't happen".  Prints "test_soak: N passed, N failed" (quickstart
counts it).  Only 127.0.0.1; every wait is bounded.
"""
import os
import random
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inlet_harness as harness  # noqa: E402

SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "8"))
SEED = int(os.environ.get("SOAK_SEED", str(int(time.time()))))
RSS_MIB = int(os.environ.get("SOAK_RSS_MIB", "64"))
IO_TIMEOUT = 2.0

COMMANDS = [
    b"EHLO soak.test", b"HELO soak.test", b"EHLO " + b"h" * 300,
    b"MAIL FROM:<a@example.test>", b"MAIL FROM:<> BODY=8BITMIME",
    b"MAIL FROM:<a@example.test> BODY=BINARYMIME SMTPUTF8 SIZE=100",
    b"RCPT TO:<b@example.test>", b"RCPT TO:<root>", b"RCPT TO:<postmaster>",
    b"RCPT TO:<\"x y\"@example.test>", b"RCPT TO:<x@[127.0.0.1]>",
    b"RCPT TO:<x@[x:/../../etc]>", b"RCPT TO:<../../x@example.test>",
    b"RCPT TO:<j\xc3\xb6s\xc3\xa9@ex\xc3\xa4mple.test>",
    b"DATA", b"BDAT 10", b"BDAT 0 LAST", b"BDAT 99999999999999999999",
    b"RSET", b"NOOP", b"HELP", b"VRFY x", b"EXPN x", b"QUIT",
    b"STARTTLS", b"AUTH PLAIN", b"AUTH PLAIN AHVzZXIAcGFzcw==",
    b"AUTH LOGIN", b"*", b"AUTH  CRAM-MD5", b"GET / HTTP/1.1",
    b"MAIL  FROM:<a@b>  SIZE=1  SIZE=2", b"A" * 600, b"",
]
BODIES = [
    b"Subject: soak\r\n\r\nbody\r\n.\r\n",
    b"Subject: bare\r\n\r\nx\ry\nz\r\n..dot\r\n.\r\n",
    b"Subject: nul\r\n\r\na\x00b\r\n.\r\n",
    b"\r\n.\r\n",
    b"x" * 5000 + b"\r\n.\r\n",
    b".\n.\r.\r\n",
]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.connections = 0
        self.bytes = 0
        self.errors = []

    def add(self, n):
        with self.lock:
            self.connections += 1
            self.bytes += n


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(4)
        pos = rng.randint(0, len(data))
        if op == 0 and data:
            data[min(pos, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[pos:pos] = bytes([rng.choice((0, 10, 13, 46, 0xff, 0x80,
                                               rng.randrange(256)))])
        elif op == 2 and data:
            del data[min(pos, len(data) - 1)]
        else:
            data[pos:pos] = bytes(rng.randrange(256)
                                  for _ in range(rng.randint(1, 16)))
    return bytes(data)


def payload(rng):
    """A burst of client bytes."""
    parts = []
    for _ in range(rng.randint(1, 40)):
        kind = rng.randrange(10)
        if kind < 5:
            parts.append(rng.choice(COMMANDS) + b"\r\n")
        elif kind < 7:
            parts.append(mutate(rng, rng.choice(COMMANDS) + b"\r\n"))
        elif kind == 7:
            parts.append(rng.choice(BODIES))
        elif kind == 8:
            parts.append(rng.choice(COMMANDS) + b"\r\n" * 1 *
                         rng.randint(1, 200))
        else:
            parts.append(bytes(rng.randrange(256)
                               for _ in range(rng.randint(1, 300))))
    return b"".join(parts)


def open_conn(rng, ports):
    mode = rng.choice(("plain", "starttls", "implicit"))
    raw = socket.create_connection(("127.0.0.1", ports[mode]),
                                   timeout=IO_TIMEOUT)
    if rng.random() < 0.2:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock = raw
    if mode == "implicit":
        if rng.random() < 0.1:      # a broken handshake
            raw.sendall(mutate(rng, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc"))
            return raw
        sock = harness.client_ctx().wrap_socket(raw)
    elif mode == "starttls":
        s = harness.Smtp(raw)
        s.reply()
        s.cmd(b"EHLO soak.test")
        code, _ = s.cmd(b"STARTTLS")
        if code != 220:
            return raw
        sock = harness.client_ctx().wrap_socket(raw)
    return sock


def end_conn(rng, sock):
    how = rng.randrange(5)
    try:
        if how == 0:
            sock.sendall(b"QUIT\r\n")
            sock.recv(65536)
        elif how == 1:
            raw = sock
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                           struct.pack("ii", 1, 0))
        elif how == 2:
            sock.shutdown(socket.SHUT_WR)
            sock.recv(65536)
        elif how == 3:
            time.sleep(rng.random())        # silent, then gone
    except (OSError, ssl.SSLError, ValueError):
        pass
    sock.close()


def client(rng, ports, deadline, stats):
    while time.monotonic() < deadline:
        sent = 0
        try:
            sock = open_conn(rng, ports)
        except (OSError, ssl.SSLError, EOFError) as e:
            if not isinstance(e, (ConnectionResetError, socket.timeout,
                                  ssl.SSLError, EOFError,
                                  ConnectionRefusedError)):
                stats.errors.append(repr(e))
            continue
        reads = rng.random() < 0.7
        try:
            for _ in range(rng.randint(1, 8)):
                data = payload(rng)
                if rng.random() < 0.3:      # trickle a little
                    for i in range(0, min(len(data), 40)):
                        sock.sendall(data[i:i + 1])
                    data = data[40:]
                sock.sendall(data)
                sent += len(data)
                if reads:
                    sock.settimeout(0.2)
                    try:
                        while sock.recv(65536):
                            pass
                    except (socket.timeout, ssl.SSLError):
                        pass
                    sock.settimeout(IO_TIMEOUT)
                if time.monotonic() >= deadline:
                    break
        except (OSError, ssl.SSLError, ValueError):
            pass
        end_conn(rng, sock)
        stats.add(sent)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    print(f"soak: seed {SEED}, {CLIENTS} clients, {SECONDS:.0f} s "
          f"(SOAK_SEED={SEED} replays it)", flush=True)
    certdir = tempfile.mkdtemp(prefix="inlet-soak-certs-")
    cert, key = harness.make_cert(certdir, "soak")
    d = harness.Daemon({"sink": "yes", "max_errors": 10,
                        "command_timeout": "5s", "data_timeout": "10s",
                        "session_timeout": "20s", "max_connections": 200,
                        "max_connections_per_ip": 0,
                        "message_size_limit": "64K", "recipient_limit": 5,
                        "recipient_overshoot_limit": 5,
                        "shutdown_timeout": "5s"},
                       listen=harness.LISTEN_ALL,
                       certs=[("soak", cert, key)], prefix="inlet-soak-",
                       start=False)
    # under ASan, freed memory waits in a quarantine (256 MiB by default)
    # that would hide what the daemon itself holds: keep it small
    asan = os.environ.get("ASAN_OPTIONS", "")
    d.start(env={"ASAN_OPTIONS": (asan + ":" if asan else "") +
                 "quarantine_size_mb=8"})
    failures = []
    try:
        ports = {"plain": d.port("mx"), "starttls": d.port("mx"),
                 "implicit": d.port("submissions")}
        pid = d.proc.pid
        time.sleep(0.2)
        base_fds = len(os.listdir(f"/proc/{pid}/fd"))
        base_rss = rss_kib(pid)
        stats = Stats()
        deadline = time.monotonic() + SECONDS
        threads = [threading.Thread(
            target=client, args=(random.Random(SEED * 1000 + i), ports,
                                 deadline, stats), daemon=True)
            for i in range(CLIENTS)]
        for t in threads:
            t.start()
        peak = base_rss
        while time.monotonic() < deadline:
            time.sleep(1)
            if d.proc.poll() is not None:
                break
            peak = max(peak, rss_kib(pid))
        for t in threads:
            t.join(harness.WAIT * 2)
        if d.proc.poll() is not None:
            failures.append(f"inletd exited with {d.proc.returncode}")
        else:
            # every connection freed: the descriptors come back (bounded
            # wait: the daemon's own timeouts end silent ones)
            end = time.monotonic() + 30
            while (len(os.listdir(f"/proc/{pid}/fd")) != base_fds and
                   time.monotonic() < end):
                time.sleep(0.2)
            fds = len(os.listdir(f"/proc/{pid}/fd"))
            if fds != base_fds:
                failures.append(f"descriptors {fds}, baseline {base_fds}")
            text = d.log_text()
            conns, discs = (text.count("event=connect "),
                            text.count("event=disconnect "))
            if conns != discs:
                failures.append(f"{conns} connects, {discs} disconnects")
            grew = peak - base_rss
            if grew > RSS_MIB * 1024:
                failures.append(f"RSS grew {grew} KiB")
            print(f"soak: {stats.connections} connections, "
                  f"{stats.bytes} bytes sent, {conns} sessions logged, "
                  f"RSS {base_rss} KiB -> peak {peak} KiB, "
                  f"descriptors {fds}/{base_fds}", flush=True)
        rc = d.stop()
        if rc != 0:
            failures.append(f"SIGTERM: exit status {rc}")
        text = d.log_text()
        for bad in ("AddressSanitizer", "runtime error", "can't happen",
                    "LeakSanitizer"):
            if bad in text:
                i = text.index(bad)
                failures.append(f"log: {text[max(0, i - 200):i + 800]}")
        failures.extend(stats.errors[:5])
    finally:
        d.stop()
        d.cleanup()
        harness.shutil.rmtree(certdir, ignore_errors=True)
    for f in failures:
        print("FAIL: " + f)
    print(f"test_soak: {0 if failures else 1} passed, "
          f"{1 if failures else 0} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
