#!/usr/bin/env python3
"""tests/bench/term_driver.py - drives one gl-term through a day of scanned
redemptions and times each one (run by term_bench.sh, which sets up the
host, the emulators and the configuration).

  term_driver.py --term BIN --config INI --preload SO --log FILE
                 --scan-sock SOCK --prn-sock SOCK --vouchers FILE
                 [--n N] [--warmup W] [--per-voucher K] [--amount KRW]
                 [--samples FILE] [--wrap "COMMAND ARGS"]

gl-term runs in its scripted mode with stdin and stdout on pipes of this
process (the same environment as term_start of tests/system/term_lib.bash:
the pty interposer preloaded).  One transaction, timed with a monotonic
clock from just before the first byte to the end of the result line:
  1. "scan <number>" on the scanner emulator's control socket, and its
     "ok" read back (the emulator has written the code into the pty);
  2. "redeem <amount> scan" on gl-term's stdin;
  3. gl-term's stdout read up to the line starting with "result" or "error".
The control sockets stay connected for the whole run (the emulators serve
one client at a time).  W warm-up transactions come first, untimed; then
`status` (heap, peak RSS), the N timed transactions (with an untimed
`status` every 1000, to show how the heap grows), `status` again, the
batch close (the day's end: Z report, printed), `status` for the day's
peak RSS, `quit`.  Every K transactions take the next voucher; the printer
emulator's capture is cleared every 100 (between transactions, untimed).

Prints BENCH lines and "# " comment lines; exits 1 when any transaction
was not approved (rc=00 for the whole amount) or gl-term misbehaved.
"""
import argparse
import math
import os
import re
import select
import shlex
import socket
import statistics
import subprocess
import sys
import time

TARGET_MEDIAN_MS = 30.0
TARGET_RSS_KIB = 8 * 1024
TARGET_HEAP_GROWTH = 0
TIMEOUT_S = 60  # no answer for this long: gl-term or an emulator is stuck


class Control:
    """A line-oriented client of a gl-emu control socket."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.s.settimeout(TIMEOUT_S)
        self.buf = b""

    def cmd(self, line):
        self.s.sendall(line.encode() + b"\n")
        while b"\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                raise RuntimeError("emulator closed its control socket")
            self.buf += chunk
        reply, self.buf = self.buf.split(b"\n", 1)
        return reply.decode(errors="replace")

    def close(self):
        self.s.close()


class Term:
    """gl-term in scripted mode on two pipes."""

    def __init__(self, binary, config, preload, log, wrap=""):
        env = dict(os.environ)
        env["LD_PRELOAD"] = preload
        asan = env.get("ASAN_OPTIONS", "")
        env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + \
            "verify_asan_link_order=0"
        self.log = open(log, "ab")
        argv = shlex.split(wrap) + [binary, "--config", config, "--script"]
        self.p = subprocess.Popen(argv,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.log, env=env, bufsize=0)
        self.fd = self.p.stdout.fileno()
        self.buf = b""
        self.inp = self.p.stdin

    def line(self):
        """The next line of gl-term's stdout (read in large chunks: a
        readline on the unbuffered pipe would cost a system call a byte)."""
        while b"\n" not in self.buf:
            if not select.select([self.fd], [], [], TIMEOUT_S)[0]:
                raise RuntimeError("gl-term silent for %d s" % TIMEOUT_S)
            chunk = os.read(self.fd, 65536)
            if not chunk:
                raise RuntimeError("gl-term ended (exit status %s)"
                                   % self.p.poll())
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\n", 1)
        return raw.decode(errors="replace")

    def wait_ready(self):
        while True:
            l = self.line()
            if l.startswith("ready"):
                return l

    def send(self, line):
        self.inp.write(line.encode() + b"\n")

    def result(self):
        """The next result or error line (other output is skipped)."""
        while True:
            l = self.line()
            if l.startswith("result") or l.startswith("error"):
                return l

    def command(self, line):
        self.send(line)
        return self.result()

    def stop(self):
        try:
            self.send("quit")
            self.inp.close()
        except BrokenPipeError:
            pass
        try:
            rc = self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        self.log.close()
        return rc


def field(line, name):
    m = re.search(r"(?:^| )" + name + r"=(\S+)", line)
    return m.group(1) if m else None


def bench(name, value, unit):
    print("BENCH name=%s value=%s unit=%s" % (name, value, unit))


def verdict(name, ok, target):
    print("# %s: target %s: %s" % (name, target, "met" if ok else "NOT MET"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--term", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--preload", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--scan-sock", required=True)
    ap.add_argument("--prn-sock", required=True)
    ap.add_argument("--vouchers", required=True)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--per-voucher", type=int, default=400)
    ap.add_argument("--amount", type=int, default=100)
    ap.add_argument("--samples")
    ap.add_argument("--wrap", default="",
                    help="a command gl-term runs under (a profiler)")
    a = ap.parse_args()

    if a.n < 1 or a.warmup < 0:
        print("# term bench: --n must be 1 or more, --warmup 0 or more")
        return 1
    vouchers = [v.strip() for v in open(a.vouchers) if v.strip()]
    total = a.warmup + a.n
    if len(vouchers) * a.per_voucher < total:
        print("# term bench: %d vouchers are too few for %d transactions"
              % (len(vouchers), total))
        return 1

    scan = Control(a.scan_sock)
    prn = Control(a.prn_sock)
    term = Term(a.term, a.config, a.preload, a.log, a.wrap)
    failures = 0
    first_failures = []
    times = []
    curve = []  # heap bytes / VmHWM kB every 1000 timed transactions
    status = 0
    try:
        ready = term.wait_ready()
        print("# %s" % ready)
        if field(ready, "link") != "up":
            print("# term bench: gl-term is not signed on")
            return 1
        warm = half = None
        for i in range(total):
            if i % 100 == 0:
                r = prn.cmd("clear")
                if not r.startswith("ok"):
                    raise RuntimeError("printer clear: " + r)
            if i == a.warmup:
                warm = term.command("status")
            k = i - a.warmup
            if k > 0 and (k % 1000 == 0 or k == a.n // 2):
                st = term.command("status")
                curve.append("%d:%s/%s" % (k, field(st, "heap"),
                                           field(st, "hwm")))
                if k == a.n // 2:
                    half = st
            number = vouchers[i // a.per_voucher]
            t0 = time.perf_counter_ns()
            r = scan.cmd("scan " + number)
            if not r.startswith("ok"):
                raise RuntimeError("scan: " + r)
            term.send("redeem %d scan" % a.amount)
            res = term.result()
            t1 = time.perf_counter_ns()
            if i >= a.warmup:
                times.append((t1 - t0) / 1e6)
            if not (res.startswith("result redeem ") and
                    field(res, "rc") == "00" and
                    field(res, "approved") == str(a.amount)):
                failures += 1
                if len(first_failures) < 5:
                    first_failures.append("%d: %s" % (i, res))
        end = term.command("status")
        prn.cmd("clear")
        close = term.command("close")
        day = term.command("status")
    finally:
        rc = term.stop()
        scan.close()
        prn.close()
    if rc != 0:
        print("# term bench: gl-term exited with status %d" % rc)
        status = 1

    if a.samples:
        with open(a.samples, "w") as f:
            f.write("".join("%.3f\n" % t for t in times))
    s = sorted(times)
    median = statistics.median(s)
    p99 = s[max(0, math.ceil(0.99 * len(s)) - 1)]
    print("# %d timed redemptions of %d KRW after %d warm-up, loopback host"
          % (len(s), a.amount, a.warmup))
    print("# min %.2f ms, mean %.2f ms, p90 %.2f ms, max %.2f ms"
          % (s[0], statistics.fmean(s), s[max(0, math.ceil(0.9 * len(s)) - 1)],
             s[-1]))
    if len(times) >= 2000:
        # the median of each 1000 in order: shows a cost growing with the
        # journal
        print("# median of each 1000, ms: %s" % " ".join(
            "%.2f" % statistics.median(times[k:k + 1000])
            for k in range(0, len(times) - 999, 1000)))
    bench("term_scan_to_approval_median_ms", "%.2f" % median, "ms")
    verdict("term_scan_to_approval_median_ms", median <= TARGET_MEDIAN_MS,
            "<= %g ms" % TARGET_MEDIAN_MS)
    bench("term_scan_to_approval_p99_ms", "%.2f" % p99, "ms")

    print("# status after warm-up: %s" % warm)
    print("# status after the timed run: %s" % end)
    if curve:
        print("# heap bytes/VmHWM kB after k timed: %s" % " ".join(curve))
    print("# batch close: %s" % close)
    print("# status at the day's end: %s" % day)
    growth = int(field(end, "heap")) - int(field(warm, "heap"))
    bench("term_heap_growth_bytes", growth, "bytes")
    verdict("term_heap_growth_bytes", growth <= TARGET_HEAP_GROWTH,
            "%d bytes" % TARGET_HEAP_GROWTH)
    if half is not None and a.n >= 4000:
        # the SQLite page cache (cache_size = -512, KiB) fills during the
        # first ~2,000 redemptions; growth after it would be a leak (shorter
        # runs leave the line out: their second half still fills the cache)
        g2 = int(field(end, "heap")) - int(field(half, "heap"))
        bench("term_heap_growth_second_half_bytes", g2, "bytes")
        verdict("term_heap_growth_second_half_bytes", g2 <= TARGET_HEAP_GROWTH,
                "%d bytes" % TARGET_HEAP_GROWTH)
    hwm = int(field(day, "hwm"))
    bench("term_peak_rss_kib", hwm, "KiB")
    verdict("term_peak_rss_kib", 0 <= hwm <= TARGET_RSS_KIB,
            "<= %d KiB" % TARGET_RSS_KIB)

    bench("term_failed_redemptions", failures, "count")
    for f in first_failures:
        print("# failed %s" % f)
    if failures or field(close, "rc") != "00":
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
