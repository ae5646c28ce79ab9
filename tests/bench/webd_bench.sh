#!/usr/bin/env bash
# tests/bench/webd_bench.sh - purchases per second through gl-webd's API:
# BENCH_CONNS (default 8) clients with keep-alive connections, each a
# member signed in, POST /v1/purchases paid on the phone bill (one 5,000 KRW
# voucher, a fresh Idempotency-Key each) for BENCH_SECONDS (default 20), on
# the host's SQLite database (WAL, synchronous=FULL).  No SMSC: the SMS stay
# queued in the outbox (the purchase's own cost, not the sending).
# Sessions are made as webd_db.c makes them (HMAC of the OTP key over the
# token) so that the sign-in is not part of the figure.  Afterwards every
# 201 a client received must be a done purchase with its vouchers, and
# `glctl ledger check` must pass.  Prints
#   BENCH name=webd_purchases value=N unit=purchases/s
#   BENCH name=webd_purchase_latency_p50|p99|max value=N unit=ms
#   BENCH name=webd_purchases_missing value=N unit=count   (must be 0)
# Run by tests/bench/run.sh (make bench).
export GL_BUILD=${GL_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
source "$(dirname "$0")/../system/webd_lib.bash"
secs=${BENCH_SECONDS:-20}
conns=${BENCH_CONNS:-8}

G merchant add --id M1 --name "Store One" --group g1 >/dev/null || exit 1
G product add --id BOOK --issuer KYOBO --brand "Kyobo Books" --type books \
  --prefix 627402 --face 5000,10000 --validity-days 180 --group g1 >/dev/null || exit 1
for i in $(seq 1 "$conns"); do
  G member add --phone "$(printf '0109%07d' "$i")" >/dev/null || exit 1
done
head -c 32 /dev/urandom > "$T/otp.key"
cat > "$T/webd.ini" <<EOF
[listen]
address = 127.0.0.1
port = 0
[db]
path = $GL_DB
[keys]
otp_key_file = $T/otp.key
[billing]
monthly_limit = 100000000
[log]
level = info
EOF
"$B/gl-webd" --config "$T/webd.ini" --check-config >/dev/null || exit 1
webd_start "$T/webd.ini" ||
  { echo "# webd bench: gl-webd did not start"; cat "$T/webd.log"; exit 1; }

python3 - "$GL_DB" "$T/otp.key" "$WEBD_PORT" "$conns" "$secs" > "$T/run" <<'PY' || exit 1
import hmac, hashlib, http.client, json, os, sqlite3, sys, threading, time
db_path, key_path, port, conns, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
key = open(key_path, "rb").read()
db = sqlite3.connect(db_path, timeout=10)
tokens = []
now = int(time.time())
for i in range(conns):
    raw = os.urandom(32)
    h = hmac.new(key, b"session:" + raw, hashlib.sha256).digest()
    phone = "0109%07d" % (i + 1)
    db.execute("INSERT INTO webd_session (hash, phone, created, expires) VALUES (?, ?, ?, ?)",
               (h, phone, now, now + 3600))
    tokens.append(raw.hex())
db.commit()
db.close()
body = json.dumps({"product": "BOOK", "face": 5000, "payment": {"method": "phone_bill"}})
lat, ok, bad = [], [], [0]
lock = threading.Lock()
deadline = [0.0]
def client(n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    mine, seq = [], 0
    while time.monotonic() < deadline[0]:
        seq += 1
        k = "bench-%d-%d" % (n, seq)
        t0 = time.monotonic()
        c.request("POST", "/v1/purchases", body, {"Authorization": "Bearer " + tokens[n],
                  "Idempotency-Key": k, "Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        dt = time.monotonic() - t0
        if r.status == 201:
            mine.append((k, json.loads(data)["vouchers"][0], dt))
        else:
            with lock:
                bad[0] += 1
    with lock:
        ok.extend(mine)
# warm-up: one purchase per client
deadline[0] = time.monotonic() + 0.001
threads = [threading.Thread(target=client, args=(n,)) for n in range(conns)]
for t in threads: t.start()
for t in threads: t.join()
ok.clear()
deadline[0] = time.monotonic() + secs
t0 = time.monotonic()
threads = [threading.Thread(target=client, args=(n,)) for n in range(conns)]
for t in threads: t.start()
for t in threads: t.join()
wall = time.monotonic() - t0
lat = sorted(x[2] for x in ok)
def pct(p): return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else 0
print("BENCH name=webd_purchases value=%.1f unit=purchases/s" % (len(ok) / wall))
print("BENCH name=webd_purchase_latency_p50 value=%.2f unit=ms" % pct(0.50))
print("BENCH name=webd_purchase_latency_p99 value=%.2f unit=ms" % pct(0.99))
print("BENCH name=webd_purchase_latency_max value=%.2f unit=ms" % (lat[-1] * 1000 if lat else 0))
print("# %d purchases in %.1f s over %d connections, %d not 201" % (len(ok), wall, conns, bad[0]))
with open(os.path.join(os.path.dirname(key_path), "done"), "w") as f:
    for k, v, _ in ok:
        f.write("%s %s\n" % (k, v))
PY
grep -v '^BENCH' "$T/run"
grep '^BENCH' "$T/run"
webd_stop
missing=$(python3 - "$GL_DB" "$T/done" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
bad = 0
for line in open(sys.argv[2]):
    key, number = line.split()
    row = db.execute("SELECT state FROM shop_purchase WHERE idem_key = ?", (key,)).fetchone()
    v = db.execute("SELECT COUNT(*) FROM voucher WHERE number = ?", (number,)).fetchone()
    if row is None or row[0] != "done" or v[0] != 1:
        bad += 1
print(bad)
PY
)
echo "BENCH name=webd_purchases_missing value=$missing unit=count"
if ledger_ok; then echo "# ledger check: clean"; else echo "# ledger check: FAILED"; exit 1; fi
[ "$missing" = 0 ]
