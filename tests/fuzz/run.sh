#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS BUILD - runs every libFuzzer harness of
# build/fuzz for SECONDS each, from a seed corpus made of the example
# messages (tests/vectors, encoded by gl-iso in both profiles), and reports
# executions and crashes per harness.  Crash inputs are kept in
# build/fuzz/artifacts/; corpora grow in build/fuzz/corpus/<harness>/.
set -u
secs=${1:-30}
build=${2:-build}
cd "$(dirname "$0")/../.."
iso=$build/bin/gl-iso
out=build/fuzz
mkdir -p "$out/artifacts"

seed() { # harness
  local h=$1 dir=$out/corpus/$1 i=0
  mkdir -p "$dir"
  case "$h" in
    fuzz_iso_unpack)
      for v in tests/vectors/*.txt; do
        i=$((i + 1))
        { printf '\x00'; "$iso" encode --raw <"$v" | xxd -r -p; } >"$dir/seed-a$i"
        { printf '\x01'; "$iso" encode --raw --profile bcd <"$v" | xxd -r -p; } >"$dir/seed-b$i"
      done ;;
    fuzz_iso_reasm)
      { printf '\x07'; for v in tests/vectors/*.txt; do "$iso" encode <"$v" | xxd -r -p; done; } >"$dir/seed-all"
      { printf '\x00'; "$iso" encode <tests/vectors/0200-redeem.txt | xxd -r -p; } >"$dir/seed-one" ;;
    fuzz_config)
      printf '[host]\naddress=127.0.0.1\nport=7443\n[offline]\nenabled=yes\nfloor_limit=20000\n' >"$dir/seed-ok"
      printf '[host]\naddress = a ; comment\n' >"$dir/seed-comment" ;;
  esac
}

status=0
for f in "$out"/fuzz_*; do
  [ -x "$f" ] || continue
  h=$(basename "$f")
  seed "$h"
  log=$out/$h.log
  "$f" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$out/artifacts/$h-" \
    "$out/corpus/$h" >"$log" 2>&1
  rc=$?
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  crashes=$(ls "$out/artifacts/" 2>/dev/null | grep -c "^$h-" || true)
  echo "FUZZ harness=$h seconds=$secs executions=${execs:-0} crashes=$crashes exit=$rc"
  [ "$rc" -ne 0 ] && { status=1; tail -n 30 "$log"; }
done
exit $status
