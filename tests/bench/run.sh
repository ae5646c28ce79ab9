#!/usr/bin/env bash
# tests/bench/run.sh BUILD - runs every benchmark of BUILD/bench and prints
# their BENCH lines; for the codec it also counts instructions per operation
# with callgrind (repeatable on a noisy machine): the difference between
# runs of 20,000 and 10,000 operations, divided by 10,000, so start-up cost
# cancels out.
set -u
build=${1:-build}
cd "$(dirname "$0")/../.."
echo "# machine: $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo none)"
status=0

instr() { # bench op iterations -> total instructions
  local out
  out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" "$build/bench/$1" \
    --only "$2" --iterations "$3" >/dev/null 2>&1
  awk '/^summary:/ {print $2}' "$out"
  rm -f "$out"
}

for b in "$build"/bench/bench_*; do
  [ -x "$b" ] || continue
  "$b" || { echo "# $(basename "$b") exited with status $?"; status=1; }
done

if command -v valgrind >/dev/null && [ -x "$build/bench/bench_iso" ]; then
  for op in pack unpack; do
    a=$(instr bench_iso "$op" 10000)
    c=$(instr bench_iso "$op" 20000)
    if [ -n "$a" ] && [ -n "$c" ]; then
      echo "BENCH name=iso_${op}_0200_instructions value=$(( (c - a) / 10000 )) unit=instructions/op"
    fi
  done
fi
# The host under load: 64 terminals over TLS for BENCH_SECONDS (default 60).
if [ -x "$build/bin/gl-hostd" ] && [ -x "$build/bin/gl-load" ]; then
  GL_BUILD=$PWD/$build bash tests/bench/hostd_bench.sh || status=1
fi
# The customers' API: purchases per second on the phone bill through
# gl-webd (BENCH_CONNS clients, BENCH_SECONDS, default 8 and 20).
if [ -x "$build/bin/gl-webd" ] && [ -x "$build/bin/glctl" ]; then
  GL_BUILD=$PWD/$build bash tests/bench/webd_bench.sh || status=1
fi
# The terminal: a day of scanned redemptions against the real host
# (TERM_BENCH_N, default 10,000), its heap, peak RSS and binary size.
if [ -x "$build/bin/gl-term" ] && [ -x "$build/bin/gl-hostd" ] && [ -x "$build/bin/gl-emu" ]; then
  bash tests/bench/term_bench.sh "$build" || status=1
fi
exit $status
