#!/usr/bin/env bash
# tests/bench/term_bench.sh [BUILD] - gl-term on a day of scanned
# redemptions: the real gl-hostd on loopback (TLS, DUKPT MACs, SQLite),
# gl-emu's scanner and printer on ptys, gl-term in its scripted mode driven
# by tests/bench/term_driver.py.  TERM_BENCH_N timed redemptions of 100 KRW
# (default 10,000) after 200 untimed warm-up ones, then the batch close.
# Prints
#   BENCH name=term_scan_to_approval_median_ms / _p99_ms   (target: median
#         <= 30 ms) from the scan's control line to gl-term's result line
#   BENCH name=term_heap_growth_bytes    malloc'd bytes at the end minus
#         after the warm-up (target 0); _second_half_bytes: the end minus
#         half-way, with N >= 4000 (SQLite's page cache has filled by then)
#   BENCH name=term_peak_rss_kib         VmHWM at the day's end (<= 8 MiB)
#   BENCH name=term_binary_bytes, term_text_data_bytes   BUILD/bin/gl-term,
#         and text + data of `size` (the file keeps its -g debug sections)
#   BENCH name=term_failed_redemptions   (must be 0)
# and "# ..." lines with each target and whether it is met.  Exits non-zero
# when a redemption was not approved, the close failed or the host's
# ledger check fails; a missed speed or memory target is reported, not
# failed.  TERM_BENCH_WRAP="strace -c -f -o FILE" (or perf record ...)
# runs gl-term under a profiler; the per-transaction times in $T/samples
# (KEEP_T=1 keeps $T).  Run by tests/bench/run.sh (make bench).
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${GL_BUILD:-$here/../../build}}
export GL_BUILD
GL_BUILD=$(cd "$build" && pwd) || exit 1
# shellcheck source=tests/system/term_lib.bash
source "$here/../system/term_lib.bash"
n=${TERM_BENCH_N:-10000}
warmup=200
per=400 # 50,000 KRW vouchers, 100 KRW each: 400 of the 500 possible uses

term_setup || { echo "# term bench: setup failed"; exit 1; }
hostd_start || { echo "# term bench: gl-hostd did not start"; cat "$T/hostd.log"; exit 1; }
emu_start scanner scan || { echo "# term bench: no scanner emulator"; exit 1; }
emu_start printer prn || { echo "# term bench: no printer emulator"; exit 1; }
# shellcheck disable=SC2119 # (no extra lines)
term_config
G voucher issue --product BOOK --face 50000 --count $(( (n + warmup) / per + 1 )) --json |
  python3 -c 'import json,sys; [print(v["number"]) for v in json.load(sys.stdin)]' > "$T/vs"

status=0
python3 "$here/term_driver.py" --term "$B/gl-term" --config "$T/term.ini" \
  --preload "$GL_BUILD/lib/libgl-ptyioctl.so" --log "$T/term.log" \
  --scan-sock "$T/scan.sock" --prn-sock "$T/prn.sock" --vouchers "$T/vs" \
  --n "$n" --warmup "$warmup" --per-voucher "$per" --samples "$T/samples" \
  --wrap "${TERM_BENCH_WRAP:-}" ||
  status=1

echo "BENCH name=term_binary_bytes value=$(stat -c %s "$B/gl-term") unit=bytes"
# shellcheck disable=SC2046
set -- $(size "$B/gl-term" | awk 'NR == 2 {print $1, $2}')
echo "BENCH name=term_text_data_bytes value=$(( $1 + $2 )) unit=bytes"
echo "# gl-term: text $1, data $2; stripped file $(strip -o "$T/gl-term.stripped" "$B/gl-term" &&
  stat -c %s "$T/gl-term.stripped") bytes; shared libraries not counted"

hostd_stop
if G ledger check >/dev/null; then echo "# ledger check: clean"; else echo "# ledger check: FAILED"; status=1; fi
[ "$status" = 0 ] || echo "# term bench: FAILED (gl-term log: $(tail -n 3 "$T/term.log" | tr '\n' ' '))"
exit $status
