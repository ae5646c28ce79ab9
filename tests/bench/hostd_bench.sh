#!/usr/bin/env bash
# tests/bench/hostd_bench.sh - gl-hostd throughput and latency: 64 terminal
# connections over TLS with DUKPT MACs (gl-load, on the same machine),
# 70% redeem, 20% balance, 10% refund, for BENCH_SECONDS (default 60);
# then every approval a client received is looked up in the ledger and the
# ledger is checked.  Prints gl-load's BENCH lines and
#   BENCH name=hostd_approvals_missing value=N unit=count   (must be 0)
# Run by tests/bench/run.sh (make bench).
export GL_BUILD=${GL_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
source "$(dirname "$0")/../system/hostd_lib.bash"
secs=${BENCH_SECONDS:-60}
conns=${BENCH_CONNS:-64}

hostd_setup || { echo "# hostd bench: setup failed"; exit 1; }
for i in $(seq 1 "$conns"); do hostd_term "$(printf 'BN%06d' "$i")" || exit 1; done
G voucher issue --product PART --face 50000 --count 2000 --json |
  python3 -c 'import json,sys; [print(v["number"]) for v in json.load(sys.stdin)]' > "$T/vs"
hostd_start || { cat "$T/hostd.log"; exit 1; }
# shellcheck disable=SC2046
"$B/gl-load" run $(COMMON) --tid-prefix BN --merchant M1 -c "$conns" -d "$secs" \
  --vouchers "$T/vs" --mix redeem=70,balance=20,refund=10 --amount 100 \
  --approvals "$T/appr" > "$T/run" 2>&1
grep '^BENCH' "$T/run"
grep -E '^(sent|rc )' "$T/run" | sed 's/^/# /'
hostd_stop
missing=$(python3 - "$GL_DB" "$T/appr" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
bad = 0
for line in open(sys.argv[2]):
    tid, amount, kind = line.split()
    row = db.execute("SELECT amount FROM transfer WHERE id = ?", (tid,)).fetchone()
    if row is None or row[0] != int(amount):
        bad += 1
print(bad)
PY
)
echo "BENCH name=hostd_approvals_missing value=$missing unit=count"
if G ledger check >/dev/null; then echo "# ledger check: clean"; else echo "# ledger check: FAILED"; exit 1; fi
[ "$missing" = 0 ]
