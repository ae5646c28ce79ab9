#!/usr/bin/env bash
# tests/system/hostd_load.sh - gl-hostd under concurrent load over TLS:
# 200 redemptions of one voucher from 50 terminals approve exactly what the
# voucher affords; kill -9 under load loses no approval a client received;
# the ledger checks clean after both.
source "$(dirname "$0")/hostd_lib.bash"

hostd_setup || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
for i in $(seq 1 50); do hostd_term "$(printf 'LD%06d' "$i")" || break; done
hostd_start || { cat "$T/hostd.log"; echo "0 passed, 1 failed"; exit 1; }
LOAD() { # gl-load run options
  # shellcheck disable=SC2046
  "$B/gl-load" run $(COMMON) --tid-prefix LD --merchant M1 "$@"
}

# --- 200 concurrent redemptions of one 10,000 KRW voucher ----------------
V=$(issue WHOLE)      # 5000, no partial use
echo "$V" > "$T/one"
LOAD -c 50 -n 200 --vouchers "$T/one" --mix redeem=100 --amount 100 \
  --approvals "$T/appr1" > "$T/run1" 2>&1
approved=$(sed -n 's/.*approved_redeem=\([0-9]*\).*/\1/p' "$T/run1")
eq "sent 200" 200 "$(sed -n 's/^sent=\([0-9]*\).*/\1/p' "$T/run1")"
eq "answered 200" 200 "$(sed -n 's/.*answered=\([0-9]*\).*/\1/p' "$T/run1")"
eq "exactly 50 of 200 approved (5000 / 100)" 50 "$approved"
eq "the rest declined 51" "rc 51=150" "$(grep '^rc 51' "$T/run1")"
eq "voucher at zero, not below" 0 "$(balance "$V")"
n=$(sqlite3 "$GL_DB" "SELECT COUNT(*) FROM transfer WHERE kind = 2 AND debit = (SELECT account_id FROM voucher WHERE number = '$V')")
eq "50 redemption transfers in the ledger" 50 "$n"
out=$(G ledger check); rc=$?
check "ledger check after the race: $out" test "$rc" -eq 0

# --- kill -9 under load ---------------------------------------------------
: > "$T/vs"
for i in $(seq 1 20); do issue PART --face 50000 >> "$T/vs"; done
LOAD -c 20 -d 20 --vouchers "$T/vs" --mix redeem=80,balance=10,refund=10 \
  --amount 100 --approvals "$T/appr2" > "$T/run2" 2>&1 &
LPID=$!
sleep 3
check "host approved something before the kill" test -s "$T/appr2"
hostd_kill
sleep 1
wait "$LPID"
n2=$(wc -l < "$T/appr2")
check "approvals were received ($n2)" test "$n2" -gt 0
missing=$(python3 - "$GL_DB" "$T/appr2" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
bad = 0
for line in open(sys.argv[2]):
    tid, amount, kind = line.split()
    row = db.execute("SELECT amount FROM transfer WHERE id = ?", (tid,)).fetchone()
    if row is None or row[0] != int(amount):
        bad += 1
        print("missing:", kind, tid, amount, row, file=sys.stderr)
print(bad)
PY
)
eq "every approval a client received is in the ledger" 0 "$missing"
hostd_start || bad "restart"
out=$(G ledger check); rc=$?
check "ledger check after kill -9 and restart: $out" test "$rc" -eq 0
LOAD -c 5 -n 20 --vouchers "$T/vs" --mix balance=100 > "$T/run3" 2>&1
eq "restarted host answers" "rc 00=20" "$(grep '^rc ' "$T/run3")"
hostd_stop
check "clean stop" grep -q "stopped: success" "$T/hostd.log"
finish
