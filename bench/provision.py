#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
#
# bench/provision.py - getting the machine ready: the packages (build
# packages, Debian's postfix for smtp-source and smtp-sink), the inletd
# build, the open files limit, the fsync probe, and the facts about the
# machine and the tree that the output names.

import os
import platform
import resource
import shutil
import subprocess
import tempfile

from common import TOP, BenchError, say, now, run

BUILD_PKGS = ("build-essential autoconf automake autoconf-archive pkgconf "
              "libevent-dev libssl-dev libsasl2-dev libsasl2-modules "
              "libsasl2-modules-db sasl2-bin check libsystemd-dev "
              "openssl libidn2-dev libunistring-dev libgmime-3.0-dev").split()


def installed(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True)
    return "install ok installed" in p.stdout


def apt_install(pkgs, env_extra=None):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if env_extra:
        env.update(env_extra)
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + pkgs
    p = subprocess.run(cmd, env=env, timeout=900, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        say("apt-get install failed; running apt-get update and trying again")
        run(["apt-get", "update", "-q"], timeout=600, env=env)
        run(cmd, timeout=900, env=env)


def ensure_packages(need_build):
    missing = [p for p in BUILD_PKGS if need_build and not installed(p)]
    if missing:
        say("installing build packages:", " ".join(missing))
        apt_install(missing)
    if shutil.which("smtp-source") is None and \
            not os.path.exists("/usr/sbin/smtp-source"):
        say("smtp-source is missing: installing Debian's postfix package "
            "(preseeded 'No configuration': no system instance is set up)")
        p = subprocess.run(["debconf-set-selections"], text=True,
                           input="postfix postfix/main_mailer_type select "
                                 "No configuration\n",
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        if p.returncode != 0:
            raise BenchError("debconf-set-selections failed: " + p.stdout)
        apt_install(["postfix"])
    os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    for t in ("smtp-source", "smtp-sink", "postfix", "postconf"):
        if shutil.which(t) is None:
            raise BenchError("%s not found after installing postfix" % t)


def build_inletd(build_dir):
    if not os.path.exists(os.path.join(TOP, "configure")):
        say("no ./configure: running autoreconf -fi in", TOP)
        run(["autoreconf", "-fi"], cwd=TOP, timeout=600)
    os.makedirs(build_dir, exist_ok=True)
    if not os.path.exists(os.path.join(build_dir, "Makefile")):
        say("configuring in", build_dir)
        run([os.path.join(TOP, "configure"), "-q"], cwd=build_dir,
            timeout=600)
    say("building inletd in", build_dir)
    run(["make", "-j%d" % (os.cpu_count() or 2)], cwd=build_dir, timeout=900)
    exe = os.path.join(build_dir, "server", "inletd")
    if not os.access(exe, os.X_OK):
        raise BenchError("no %s after make" % exe)
    return exe


def build_tool(build_dir, name, libs=()):
    """bench/NAME.c (a client or server of the bench, or the nosync
    object: libs are more cc arguments, -shared too) into build_dir."""
    os.makedirs(build_dir, exist_ok=True)
    exe = os.path.join(build_dir, name)
    src = os.path.join(TOP, "bench", name + ".c")
    run(["cc", "-O2", "-Wall", "-o", exe, src] + list(libs), timeout=300)
    return exe


def build_subclient(build_dir):
    """bench/subclient.c, the submission client."""
    return build_tool(build_dir, "subclient", ("-lssl", "-lcrypto"))


def raise_nofile():
    """Raise the open files limit (inherited by inletd and smtp-source)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    for want in (65536, hard):
        if hard != resource.RLIM_INFINITY and want > hard and \
                os.geteuid() != 0:
            continue
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)
                               if hard != resource.RLIM_INFINITY else hard))
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def fsync_probe(work, n=200, limit=20.0, cpu=None):
    """Serial Maildir-style commits per second on the bench's file system
    (create in tmp/, write 1 KiB, fsync, link into new/, unlink, fsync
    new/): what one thread that commits by itself can reach right now.
    With a list cpu, also appends the CPU microseconds (user + system,
    this thread) one commit took: the file system's own share of a
    message, below which no durable server here can go."""
    d = tempfile.mkdtemp(prefix="fsync-probe.", dir=work)
    os.mkdir(os.path.join(d, "tmp"))
    os.mkdir(os.path.join(d, "new"))
    dfd = os.open(os.path.join(d, "new"), os.O_RDONLY | os.O_DIRECTORY)
    data = b"x" * 1024
    t0 = now()
    c0 = resource.getrusage(resource.RUSAGE_THREAD)
    done = 0
    try:
        while done < n and now() - t0 < limit:
            tmp = os.path.join(d, "tmp", str(done))
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.write(fd, data)
            os.fsync(fd)
            os.close(fd)
            os.link(tmp, os.path.join(d, "new", str(done)))
            os.unlink(tmp)
            os.fsync(dfd)
            done += 1
    finally:
        c1 = resource.getrusage(resource.RUSAGE_THREAD)
        os.close(dfd)
        shutil.rmtree(d, ignore_errors=True)
    if cpu is not None:
        cpu.append((c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime)
                   * 1e6 / max(done, 1))
    return done / max(now() - t0, 1e-6)


def revision():
    """The tree's HEAD, and whether server/ differs from it."""
    try:
        head = subprocess.run(["git", "-C", TOP, "rev-parse", "--short",
                               "HEAD"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True,
                              timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", TOP, "status", "--porcelain",
                                "--", "server", "configure.ac"],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True,
                               timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not head:
        return "unknown (not a git tree)"
    return head + (" with uncommitted changes in server/" if dirty else "")


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%d CPUs, %s, Linux %s" % (os.cpu_count() or 0, model,
                                       platform.release())
