#!/usr/bin/env bash
# tests/run.sh BUILD... - runs every unit test program and system test of
# each build directory, adds up their closing "N passed, N failed" lines and
# ends with the total.  A program that dies or exits non-zero without such a
# line counts as one failure.  Logs go to build/test-logs/<builds>/ (emptied first);
# at the end every log is searched for the keys and PIN blocks listed in
# tests/secrets.txt, and any hit fails the run.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
total_pass=0
total_fail=0
logdir=$top/build/test-logs/$(echo "$*" | tr '/ ' '_-')
rm -rf "$logdir"
mkdir -p "$logdir"

run_one() { # label logfile command...
  local label=$1 log=$2; shift 2
  local rc line p f
  "$@" >"$log" 2>&1 </dev/null
  rc=$?
  line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 |
         sed -E 's/^[A-Za-z]+: //')
  if [ -n "$line" ]; then
    p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
  else
    p=0; f=0
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
    echo "  $label exited with status $rc without reporting a failure"
  fi
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f))
  if [ "$f" -ne 0 ]; then
    printf 'FAIL %-40s %s passed, %s failed (log: %s)\n' "$label" "$p" "$f" "${log#$top/}"
    grep -E 'FAIL|ERROR|runtime error|Sanitizer' "$log" | head -n 20 | sed 's/^/     /'
  else
    printf 'ok   %-40s %s passed\n' "$label" "$p"
  fi
}

for build in "$@"; do
  tag=$(echo "$build" | tr '/' '_')
  echo "== $build"
  for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    run_one "$build: $name" "$logdir/$tag.$name.log" "$t"
  done
  for s in tests/system/*.sh; do
    [ -f "$s" ] || continue
    name=$(basename "$s" .sh)
    run_one "$build: system/$name" "$logdir/$tag.system.$name.log" \
      env GL_BUILD="$top/$build" bash "$s"
  done
done

# No log of the run may hold a key or PIN block of the test vectors.
pats=$(mktemp)
grep -v -e '^#' -e '^$' tests/secrets.txt >"$pats"
leaks=$(grep -ril -f "$pats" "$logdir" 2>/dev/null)
rm -f "$pats"
if [ -n "$leaks" ]; then
  total_fail=$((total_fail + 1))
  echo "FAIL secrets: key material or a PIN block appears in:"
  echo "$leaks" | sed 's/^/     /'
else
  total_pass=$((total_pass + 1))
  echo "ok   secrets: no key or PIN block of tests/secrets.txt in any log"
fi

if [ "$total_pass" -eq 0 ] && [ "$total_fail" -eq 0 ]; then
  echo "no test ran"; total_fail=1
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
