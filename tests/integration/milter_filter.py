#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""A scripted milter filter for the tests (python3-milter, i.e. libmilter).

    milter_filter.py SOCKET SCRIPT LOG

SOCKET is libmilter's form: inet:PORT@127.0.0.1 or unix:/path.  SCRIPT is
a JSON file saying what to answer at each stage and which edits to do at
end of message; it is read again at every new MTA connection, so a test
may rewrite it between connections without restarting the filter.  LOG
gets one JSON object per line for every event the filter saw (what the
MTA sent: macros, envelope, headers, body).  "ready" is printed on stdout
once the socket listens.  Only loopback and a temp dir are used.

The script (every key optional):

    {"stages": {STAGE: RULE or [RULE, ...]},
     "edits": [EDIT, ...],            done at end of message, in order
     "noreply": [STAGE, ...],         SMFIP_NR_* asked for (answer NOREPLY)
     "nocallback": [STAGE, ...],      SMFIP_NO* asked for (MTA skips them)
     "actions": [NAME, ...],          SMFIF_* wanted (default: all offered)
     "protocol": [NAME, ...],         extra SMFIP_*: skip, rcpt_rej, hdr_leadspc
     "macros": {STAGE: "j {client_addr}"},  setsymlist (if offered)
     "log": false                     log nothing (a no-op filter: bench/)
    }

STAGE: negotiate (hang/close only), connect, helo, mail, rcpt, data,
header, eoh, body, eom, abort, unknown.  A RULE is an action name or
{"action": A, ...}; in a list, the first rule whose "if" (a substring of
the stage's first argument: the address, the header name...) matches and
whose "nth" (1-based count of that stage on this connection) matches is
used; none matching means continue.  Actions:

    continue accept reject tempfail discard skip
    reply       {"code": "550", "xcode": "5.7.1", "text": "..."}  (y)
    quarantine  {"reason": "..."}   (eom; then continue)
    hang        {"seconds": 60}     never answer (sleep, bounded)
    close       drop the MTA's connections mid-stream (shutdown)

EDIT: {"op": "addheader", "name", "value"} | {"op": "insheader", "index",
"name", "value"} | {"op": "chgheader", "name", "index", "value"} (value
"" or null deletes) | {"op": "replacebody", "body"} | {"op": "addrcpt",
"rcpt", "params"?} | {"op": "delrcpt", "rcpt"} | {"op": "chgfrom",
"sender", "params"?} | {"op": "quarantine", "reason"} | {"op": "progress"}

Tests import this file for ScriptedFilter (start, script, events, stop);
only main() needs python3-milter, so the importing interpreter need not
have it: the filter itself runs under milter_python().
"""
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time

WAIT = 10   # seconds, the bound on every wait of the test side

MACROS = ("j", "_", "i", "v", "{daemon_name}", "{daemon_addr}",
          "{daemon_port}", "{if_name}", "{if_addr}", "{client_addr}",
          "{client_name}", "{client_port}", "{client_ptr}",
          "{client_resolve}", "{auth_authen}", "{auth_type}",
          "{auth_ssf}", "{auth_author}", "{tls_version}", "{cipher}",
          "{cipher_bits}", "{cert_subject}", "{cert_issuer}",
          "{mail_addr}", "{mail_host}", "{mail_mailer}", "{rcpt_addr}",
          "{rcpt_host}", "{rcpt_mailer}")

STAGES = ("negotiate", "connect", "helo", "mail", "rcpt", "data",
          "header", "eoh", "body", "eom", "abort", "unknown")


# --- the test side (no python3-milter needed) ---------------------------

def python_with(module, first=None):
    """An interpreter that can import module (first, this one, or
    Debian's /usr/bin/python3: Debian's python3-* packages are there),
    or None."""
    for exe in (first, sys.executable, "/usr/bin/python3"):
        if not exe or not os.access(exe, os.X_OK):
            continue
        try:
            r = subprocess.run([exe, "-c", "import " + module],
                               capture_output=True, timeout=WAIT)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if r.returncode == 0:
            return exe
    return None


def milter_python():
    """An interpreter that has python3-milter ($MILTER_PYTHON first)."""
    return python_with("Milter", os.environ.get("MILTER_PYTHON"))


def free_port():
    """A loopback TCP port free a moment ago (for peers that cannot
    report a bound port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ScriptedFilter:
    """One milter_filter.py process in directory, stopped by PID.

    .conf is the socket as inlet.conf's milter line takes it
    (inet:127.0.0.1:PORT or unix:PATH)."""

    def __init__(self, directory, script=None, *, unix=False, name="f"):
        exe = milter_python()
        if exe is None:
            raise RuntimeError("no python3 with python3-milter (Milter)")
        self.script_path = os.path.join(directory, name + "-script.json")
        self.log_path = os.path.join(directory, name + "-log.json")
        self.set_script(script or {})
        open(self.log_path, "w").close()
        if unix:
            path = os.path.join(directory, name + ".sock")
            spec, self.conf = "unix:" + path, "unix:" + path
        else:
            port = free_port()
            spec = f"inet:{port}@127.0.0.1"
            self.conf = f"inet:127.0.0.1:{port}"
        self.stderr = open(os.path.join(directory, name + "-stderr"), "w")
        # stdin: a pipe we never write, so that the filter ends with the
        # test even when the test never calls stop() (see main)
        self.proc = subprocess.Popen(
            [exe, os.path.abspath(__file__), spec, self.script_path,
             self.log_path], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.stderr)
        if not self._ready():
            self.stop()
            raise RuntimeError("milter_filter.py did not start: " +
                               open(self.stderr.name).read())

    def _ready(self):
        fd = self.proc.stdout.fileno()
        data = b""
        deadline = time.monotonic() + WAIT
        while b"ready\n" not in data:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return False
            chunk = os.read(fd, 256)
            if not chunk:
                return False
            data += chunk
        return True

    def set_script(self, script):
        """Replace the script (the next MTA connection reads it)."""
        tmp = self.script_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(script, f)
        os.replace(tmp, self.script_path)

    def events(self, stage=None):
        """The events logged so far (of one stage if given), in order."""
        out = []
        with open(self.log_path) as f:
            for line in f:
                if line.endswith("\n"):
                    ev = json.loads(line)
                    if stage is None or ev["stage"] == stage:
                        out.append(ev)
        return out

    def wait_event(self, stage, count=1):
        """Poll (bounded) until count events of stage are logged."""
        deadline = time.monotonic() + WAIT
        while True:
            evs = self.events(stage)
            if len(evs) >= count:
                return evs
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"filter never logged {count} x "
                                     f"{stage}: {self.events()!r}")
            time.sleep(0.05)

    def stop(self):
        """SIGKILL by PID (libmilter takes seconds to stop on SIGTERM,
        and the filter keeps nothing worth a clean exit); the status."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT)
        self.proc.stdin.close()
        self.proc.stdout.close()
        self.stderr.close()
        return self.proc.returncode


# --- the filter side (python3-milter) -----------------------------------

def exit_with_parent():
    """When stdin is a pipe, the filter's life is its writer's: at EOF
    (the test process ended, however it ended) exit at once."""
    import stat
    if not stat.S_ISFIFO(os.fstat(0).st_mode):
        return

    def watch():
        while os.read(0, 4096):
            pass
        os._exit(0)
    threading.Thread(target=watch, daemon=True).start()


def main(argv):
    import Milter

    if len(argv) != 4:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    spec, script_path, log_path = argv[1:]
    exit_with_parent()
    log_lock = threading.Lock()
    conn_ids = iter(range(1, 1 << 30))

    def log(ev):
        with log_lock, open(log_path, "a") as f:
            f.write(json.dumps(ev) + "\n")

    def text(v):
        if isinstance(v, bytes):
            return v.decode("utf-8", "surrogateescape").encode(
                "utf-8", "backslashreplace").decode()
        return v.encode("utf-8", "surrogateescape").decode(
            "utf-8", "backslashreplace") if isinstance(v, str) else v

    nr_bits = {"connect": Milter.P_NR_CONN, "helo": Milter.P_NR_HELO,
               "mail": Milter.P_NR_MAIL, "rcpt": Milter.P_NR_RCPT,
               "data": Milter.P_NR_DATA, "header": Milter.P_NR_HDR,
               "eoh": Milter.P_NR_EOH, "body": Milter.P_NR_BODY,
               "unknown": Milter.P_NR_UNKN}
    no_bits = {"connect": Milter.P_NOCONNECT, "helo": Milter.P_NOHELO,
               "mail": Milter.P_NOMAIL, "rcpt": Milter.P_NORCPT,
               "data": Milter.P_NODATA, "header": Milter.P_NOHDRS,
               "eoh": Milter.P_NOEOH, "body": Milter.P_NOBODY,
               "unknown": Milter.P_NOUNKNOWN}
    proto_bits = {"skip": Milter.P_SKIP, "rcpt_rej": Milter.P_RCPT_REJ,
                  "hdr_leadspc": Milter.P_HDR_LEADSPC}
    act_bits = {"addhdrs": Milter.ADDHDRS, "chgbody": Milter.CHGBODY,
                "addrcpt": Milter.ADDRCPT,
                "addrcpt_par": Milter.ADDRCPT_PAR,
                "delrcpt": Milter.DELRCPT, "chghdrs": Milter.CHGHDRS,
                "quarantine": Milter.QUARANTINE,
                "chgfrom": Milter.CHGFROM, "setsymlist": Milter.SETSYMLIST}
    macro_stages = {"connect": Milter.M_CONNECT, "helo": Milter.M_HELO,
                    "mail": Milter.M_ENVFROM, "rcpt": Milter.M_ENVRCPT,
                    "data": Milter.M_DATA, "eoh": Milter.M_EOH,
                    "eom": Milter.M_EOM}
    codes = {"continue": Milter.CONTINUE, "accept": Milter.ACCEPT,
             "reject": Milter.REJECT, "tempfail": Milter.TEMPFAIL,
             "discard": Milter.DISCARD, "skip": Milter.SKIP}

    def drop_connections():
        """close - shut down every connected stream socket of this
        process (the MTA's; the listener stays): libmilter offers no
        way to close one session's socket from a callback."""
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            try:
                s = socket.socket(fileno=os.dup(fd))
            except OSError:
                continue
            try:
                if (s.type == socket.SOCK_STREAM and
                        not s.getsockopt(socket.SOL_SOCKET,
                                         socket.SO_ACCEPTCONN)):
                    s.getpeername()
                    s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            finally:
                s.close()

    class Scripted(Milter.Base):
        def __init__(self):
            self.id = next(conn_ids)
            try:
                with open(script_path) as f:
                    self.script = json.load(f)
            except (OSError, ValueError) as e:
                self.script = {}
                log({"conn": self.id, "stage": "error",
                     "error": f"script: {e}"})
            self.counts = {}
            self.reset()

        def reset(self):
            self.sender, self.rcpts, self.headers = None, [], []
            self.body_bytes = b""

        def macros(self):
            out = {}
            for m in MACROS + tuple(self.script.get("extra_macros", ())):
                v = self.getsymval(m)
                if v is not None:
                    out[m] = text(v)
            return out

        def event(self, stage, **kw):
            if not self.script.get("log", True):
                return
            ev = {"conn": self.id, "stage": stage}
            if self._ctx is not None and stage not in ("negotiate",
                                                        "close"):
                ev["macros"] = self.macros()
            ev.update(kw)
            log(ev)

        def rule(self, stage, arg=""):
            n = self.counts[stage] = self.counts.get(stage, 0) + 1
            rules = self.script.get("stages", {}).get(stage, "continue")
            if not isinstance(rules, list):
                rules = [rules]
            for r in rules:
                if isinstance(r, str):
                    r = {"action": r}
                if "if" in r and r["if"] not in (arg or ""):
                    continue
                if "nth" in r and r["nth"] != n:
                    continue
                return r
            return {"action": "continue"}

        def answer(self, stage, arg=""):
            r = self.rule(stage, arg)
            a = r.get("action", "continue")
            if a == "hang":
                deadline = time.monotonic() + float(r.get("seconds", 60))
                while time.monotonic() < deadline:
                    time.sleep(0.1)
                a = "continue"
            elif a == "close":
                drop_connections()
                a = "continue"
            elif a == "reply":
                self.setreply(str(r.get("code", "550")), r.get("xcode"),
                              r.get("text", ""))
                a = ("reject" if str(r.get("code", "5")).startswith("5")
                     else "tempfail")
            elif a == "quarantine":
                self.quarantine(r.get("reason", "scripted"))
                a = "continue"
            if (a == "continue" and stage in nr_bits and
                    self._protocol & nr_bits[stage]):
                return Milter.NOREPLY
            return codes[a]

        def negotiate(self, opts):
            actions, proto = opts[0], opts[1]
            self.event("negotiate", offered_actions=actions,
                       offered_protocol=proto)
            want_acts = self.script.get("actions")
            if want_acts is not None:
                mask = 0
                for a in want_acts:
                    mask |= act_bits[a]
                actions &= mask
            self._actions = actions
            want = 0
            for s in self.script.get("noreply", ()):
                want |= nr_bits[s]
            for s in self.script.get("nocallback", ()):
                want |= no_bits[s]
            for p in self.script.get("protocol", ()):
                want |= proto_bits[p]
            opts[0] = actions
            opts[1] = self._protocol = proto & want
            opts[2] = opts[3] = 0
            for stage, syms in self.script.get("macros", {}).items():
                if actions & Milter.SETSYMLIST:
                    self.setsymlist(macro_stages[stage], syms)
            r = self.rule("negotiate")
            if r.get("action") == "hang":
                time.sleep(float(r.get("seconds", 60)))
            elif r.get("action") == "close":
                drop_connections()
            return Milter.CONTINUE

        def connect(self, hostname, family, hostaddr):
            self.event("connect", hostname=text(hostname),
                       family=family, hostaddr=list(hostaddr)
                       if isinstance(hostaddr, tuple) else text(hostaddr))
            return self.answer("connect", text(hostname))

        def hello(self, hostname):
            self.event("helo", helo=text(hostname))
            return self.answer("helo", text(hostname))

        def envfrom(self, f, *params):
            self.reset()
            self.sender = text(f)
            self.event("mail", sender=self.sender,
                       params=[text(p) for p in params])
            return self.answer("mail", self.sender)

        def envrcpt(self, to, *params):
            self.rcpts.append(text(to))
            self.event("rcpt", rcpt=text(to),
                       params=[text(p) for p in params])
            return self.answer("rcpt", text(to))

        def data(self):
            self.event("data")
            return self.answer("data")

        def header(self, name, value):
            self.headers.append([text(name), text(value)])
            self.event("header", name=text(name), value=text(value))
            return self.answer("header", text(name))

        def eoh(self):
            self.event("eoh")
            return self.answer("eoh")

        def body(self, chunk):
            self.body_bytes += chunk
            self.event("body", length=len(chunk))
            return self.answer("body")

        def eom(self):
            self.event("eom", sender=self.sender, rcpts=self.rcpts,
                       headers=self.headers, body=text(self.body_bytes))
            for e in self.script.get("edits", ()):
                self.edit(e)
            rc = self.answer("eom")
            self.reset()
            return rc

        def edit(self, e):
            op = e["op"]
            if op == "addheader":
                self.addheader(e["name"], e["value"])
            elif op == "insheader":
                self.addheader(e["name"], e["value"], int(e["index"]))
            elif op == "chgheader":
                self.chgheader(e["name"], int(e.get("index", 1)),
                               e.get("value") or "")
            elif op == "replacebody":
                self.replacebody(e["body"].encode())
            elif op == "addrcpt":
                self.addrcpt(e["rcpt"], e.get("params"))
            elif op == "delrcpt":
                self.delrcpt(e["rcpt"])
            elif op == "chgfrom":
                self.chgfrom(e["sender"], e.get("params"))
            elif op == "quarantine":
                self.quarantine(e.get("reason", "scripted"))
            elif op == "progress":
                self.progress()
            else:
                raise ValueError("unknown edit " + op)

        def abort(self):
            self.event("abort")
            self.reset()
            return self.answer("abort")

        def unknown(self, cmd):
            self.event("unknown", command=text(cmd))
            return self.answer("unknown", text(cmd))

        def close(self):
            self.event("close")
            return Milter.CONTINUE

    Milter.factory = Scripted
    import milter
    milter.set_connect_callback(Milter.connect_callback)
    milter.set_helo_callback(lambda ctx, host: ctx.getpriv().hello(host))
    milter.set_envfrom_callback(
        lambda ctx, *b: ctx.getpriv().envfrom_bytes(*b))
    milter.set_envrcpt_callback(
        lambda ctx, *b: ctx.getpriv().envrcpt_bytes(*b))
    milter.set_header_callback(
        lambda ctx, f, v: ctx.getpriv().header_bytes(f, v))
    milter.set_eoh_callback(lambda ctx: ctx.getpriv().eoh())
    milter.set_body_callback(lambda ctx, chunk: ctx.getpriv().body(chunk))
    milter.set_eom_callback(lambda ctx: ctx.getpriv().eom())
    milter.set_abort_callback(lambda ctx: ctx.getpriv().abort())
    milter.set_close_callback(Milter.close_callback)
    milter.setconn(spec)
    milter.register("inlet-test",
                    data=lambda ctx: ctx.getpriv().data(),
                    unknown=lambda ctx, cmd: ctx.getpriv().unknown(cmd),
                    negotiate=Milter.negotiate_callback)
    milter.opensocket(True)
    print("ready", flush=True)
    milter.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
