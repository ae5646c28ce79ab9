#!/usr/bin/env bash
# tests/system/hostd_purge.sh - gl-hostd keeps request identities and their
# answers HOSTD_ANSWER_DAYS (35) days, then sweeps them while it stores new
# ones: rows past the limit go, except those of a batch still open (its
# close counts them); recent rows and everything of the ledger stay.  Old
# rows are planted in the database before the host starts (the host has no
# clock to move), then 300 requests over TLS drive the sweep.
# Prints "N passed, N failed".
source "$(dirname "$0")/hostd_lib.bash"

hostd_setup || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
hostd_term PG000001 || { echo "0 passed, 1 failed"; exit 1; }
hostd_term PG000002 || { echo "0 passed, 1 failed"; exit 1; }
# The host makes its tables at its first start.
hostd_start && hostd_stop || { cat "$T/hostd.log"; echo "0 passed, 1 failed"; exit 1; }

# 200 answers 40 days old of PG000001's closed batch 1 (its open batch is 2),
# 50 of PG000002's open batch 1, 20 of 30 days old.
old=$(( $(date +%s) - 40 * 86400 )); young=$(( $(date +%s) - 30 * 86400 ))
sqlite3 "$GL_DB" "UPDATE terminal SET batch_no = 2 WHERE id = 'PG000001'"
python3 - "$GL_DB" "$old" "$young" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); old = int(sys.argv[2]); young = int(sys.argv[3])
cols = ("tid, stan, de7, mti, digest, proc, pan, req_amount, amount, rc, op,"
        " pieces, state, refunded, batch, bcls, target, resp, created")
def put(tid, n, batch, created, tag):
    for i in range(n):
        db.execute("INSERT INTO hostd_txn (" + cols + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   (tid, "%06d" % (i + 1), tag, "0200", "", "000000", "", 0, 0,
                    "00", 0, "", 0, 0, batch, 0, "", b"", created))
put("PG000001", 200, 1, old, "0101000000")
put("PG000002", 50, 1, old, "0101000000")
put("PG000001", 20, 1, young, "0102000000")
db.commit()
PY
eq "planted rows" 270 "$(sqlite3 "$GL_DB" 'SELECT COUNT(*) FROM hostd_txn')"
hostd_start || { cat "$T/hostd.log"; echo "0 passed, 1 failed"; exit 1; }

: > "$T/vs"
for i in $(seq 1 10); do issue PART --face 50000 >> "$T/vs"; done
# shellcheck disable=SC2046
"$B/gl-load" run $(COMMON) --tid-prefix PG --merchant M1 -c 2 -n 300 \
  --vouchers "$T/vs" --mix redeem=100 --amount 10 > "$T/run" 2>&1
eq "300 requests answered" 300 "$(sed -n 's/.*answered=\([0-9]*\).*/\1/p' "$T/run")"
q() { sqlite3 "$GL_DB" "$1"; }
eq "answers past 35 days of a closed batch: swept" 0 \
  "$(q "SELECT COUNT(*) FROM hostd_txn WHERE de7 = '0101000000' AND tid = 'PG000001'")"
eq "answers past 35 days of an open batch: kept" 50 \
  "$(q "SELECT COUNT(*) FROM hostd_txn WHERE de7 = '0101000000' AND tid = 'PG000002'")"
eq "answers of 30 days: kept" 20 "$(q "SELECT COUNT(*) FROM hostd_txn WHERE de7 = '0102000000'")"
eq "the new answers: kept" 300 "$(q "SELECT COUNT(*) FROM hostd_txn WHERE created > $young + 86400")"
out=$(G ledger check); rc=$?
check "ledger check: $out" test "$rc" -eq 0
hostd_stop
finish
