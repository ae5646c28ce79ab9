#!/usr/bin/env bash
# tests/system/glctl_registry.sh - glctl's merchant, store, terminal,
# product, member, voucher and ledger groups on a real database file.
# Uses $GL_BUILD/bin/glctl when it dispatches these groups; until then a
# test-only front (tests/system/glctl_registry_main.c) built against the
# build's library.
set -u
cd "$(dirname "$0")/../.."
top=$(pwd)
: "${GL_BUILD:=$top/build}"
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { # description command...
  local d=$1; shift
  if "$@"; then ok; else bad "$d"; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

G=
if [ -x "$GL_BUILD/bin/glctl" ] &&
   "$GL_BUILD/bin/glctl" voucher --help 2>/dev/null | grep -q 'issue'; then
  G="$GL_BUILD/bin/glctl"
else
  san=
  if nm "$GL_BUILD/libgiftlink.a" 2>/dev/null | grep -q '__asan_init'; then
    san="-fsanitize=address,undefined -fno-omit-frame-pointer"
  fi
  # shellcheck disable=SC2086
  if ! gcc -std=c11 -Wall -Wextra -Werror -O1 -g -D_GNU_SOURCE $san \
       -Ihost-server -Ilib/common -Ilib/crypto \
       -o "$tmp/glctl" tests/system/glctl_registry_main.c \
       host-server/glctl_registry.c "$GL_BUILD/libgiftlink.a" \
       -lmbedtls -lmbedx509 -lmbedcrypto \
       $(pkg-config --libs libnfc libserialport sqlite3 inih) -lpthread -lm; then
    echo "cannot build the test front"; echo "0 passed, 1 failed"; exit 1
  fi
  G="$tmp/glctl"
fi

export GL_DB="$tmp/gl.db"
head -c 32 /dev/urandom > "$tmp/pin.key"
printf '4321\n' > "$tmp/pins1"
printf '1111\n2222\n' > "$tmp/pins2"

# --- help and usage ---------------------------------------------------
for g in merchant store terminal product member voucher ledger; do
  check "$g --help exits 0" "$G" "$g" --help
done
check "voucher issue --help mentions --pin-file" \
  bash -c "'$G' voucher issue --help | grep -q -- --pin-file"
"$G" voucher frobnicate >/dev/null 2>&1; rc=$?
check "unknown command exits 2 (got $rc)" test "$rc" -eq 2
"$G" merchant add --name X >/dev/null 2>&1; rc=$?
check "missing option exits 2 (got $rc)" test "$rc" -eq 2

# --- provisioning -----------------------------------------------------
check "merchant add" "$G" merchant add --id M-DEPT --name "Dept Store" --group dept
check "merchant add 2" "$G" merchant add --id M-BOOK --name "Book Shop" --group books
"$G" merchant add --id M-DEPT --name again >/dev/null 2>&1; rc=$?
check "duplicate merchant exits 1 (got $rc)" test "$rc" -eq 1
check "store add" "$G" store add --merchant M-DEPT --code S01 --name Gangnam
check "terminal add" "$G" terminal add --id T0000001 --merchant M-DEPT \
  --store S01 --cn T0000001 --key-id BDK1-0001
out=$("$G" terminal show --id T0000001 --json)
check "terminal json: $out" python3 -c '
import json,sys; t=json.loads(sys.argv[1])
assert t=={"id":"T0000001","merchant":"M-DEPT","store":"S01","cert_cn":"T0000001","key_id":"BDK1-0001","status":"active","batch":1}, t' "$out"
check "terminal disable" "$G" terminal disable --id T0000001
check "terminal disabled" bash -c "'$G' terminal show --id T0000001 | grep -q disabled"
check "product add" "$G" product add --id DEPT --issuer Shinsegae --brand SSG \
  --type department --prefix 627401 --face 10000,50000 --validity-days 365 \
  --partial --group dept
check "product add books" "$G" product add --id BOOK --issuer Kyobo \
  --brand Kyobo --type books --prefix 627402 --face 5000 --validity-days 30 \
  --group books
out=$("$G" product list --json)
check "product list json" python3 -c '
import json,sys; p=json.loads(sys.argv[1])
assert [x["id"] for x in p]==["BOOK","DEPT"], p
assert p[1]["faces"]==[10000,50000] and p[1]["partial"] is True and p[1]["groups"]==["dept"], p
assert p[0]["type"]=="books" and p[0]["validity_days"]==30, p' "$out"
check "member add" "$G" member add --phone +821012345678 --card 9410123412341234

# --- vouchers ---------------------------------------------------------
out=$("$G" voucher issue --product DEPT --count 3 --member +821012345678 \
      --pin-file "$tmp/pins1" --pin-key "$tmp/pin.key" --json)
check "issue 3 with PIN" python3 -c '
import json,sys
v=json.loads(sys.argv[1]); assert len(v)==3, v
def luhn_ok(n):
    s=0
    for i,c in enumerate(reversed(n)):
        d=int(c)
        if i%2: d*=2; d-= 9 if d>9 else 0
        s+=d
    return s%10==0
for x in v:
    n=x["number"]
    assert len(n)==16 and n.isdigit() and n.startswith("627401") and luhn_ok(n), n
    assert x["balance"]==10000 and x["pin"] is True and x["member"]=="+821012345678", x
assert len({x["number"] for x in v})==3' "$out"
num=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[0]["number"])' "$out")
out=$("$G" voucher issue --product BOOK --count 2)
check "issue 2 to the bearer (text)" test "$(echo "$out" | grep -c owner=bearer)" -eq 2
"$G" voucher issue --product DEPT --count 3 --pin-file "$tmp/pins2" \
  --pin-key "$tmp/pin.key" >/dev/null 2>&1; rc=$?
check "2 PINs for 3 vouchers exits 2 (got $rc)" test "$rc" -eq 2
"$G" voucher issue --product DEPT --count 1 --pin-file "$tmp/pins1" \
  >/dev/null 2>&1; rc=$?
check "PIN without key exits 2 (got $rc)" test "$rc" -eq 2
"$G" voucher issue --product NOPE --count 2 >/dev/null 2>&1; rc=$?
check "unknown product exits 1 (got $rc)" test "$rc" -eq 1
"$G" voucher issue --product DEPT --count 2 --face 777 >/dev/null 2>&1; rc=$?
check "face not offered exits 1 (got $rc)" test "$rc" -eq 1
n=$(sqlite3 "$GL_DB" 'SELECT COUNT(*) FROM voucher')
check "refused issues created nothing (5 vouchers, got $n)" test "$n" -eq 5

check "freeze" "$G" voucher freeze "$num"
check "frozen" bash -c "'$G' voucher show '$num' --json | grep -q '\"status\":\"frozen\"'"
check "unfreeze" "$G" voucher unfreeze "$num"
check "active" bash -c "'$G' voucher show '$num' --json | grep -q '\"status\":\"active\"'"
out=$("$G" voucher show "$num")
check "show masks the number" bash -c "echo '$out' | grep -q '^627401\*\*\*\*\*\*${num:12:4} '"
out=$("$G" voucher history "$num" --json)
check "history: one issue of +10000" python3 -c '
import json,sys; h=json.loads(sys.argv[1])
assert len(h)==1 and h[0]["kind"]=="issue" and h[0]["delta"]==10000 and h[0]["id"].startswith("issue:"), h' "$out"
check "history: the issue transfer id does not hold the number" bash -c "! grep -q '$num' <<<'$out'"
check "history (text): the number only masked" bash -c "! '$G' voucher history '$num' | grep -q '$num'"
out=$("$G" voucher usable --member +821012345678 --merchant M-DEPT --json)
check "usable at M-DEPT: 3" python3 -c 'import json,sys; assert len(json.loads(sys.argv[1]))==3' "$out"
out=$("$G" voucher usable --member +821012345678 --merchant M-BOOK --json)
check "usable at M-BOOK: 0" python3 -c 'import json,sys; assert json.loads(sys.argv[1])==[]' "$out"

# --- ledger check -----------------------------------------------------
out=$("$G" ledger check); rc=$?
check "clean ledger exits 0 (got $rc: $out)" test "$rc" -eq 0
check "clean ledger says so" bash -c "echo '$out' | grep -q 'ledger clean: 8 accounts, sum 0'"
acct=$(sqlite3 "$GL_DB" "SELECT account_id FROM voucher WHERE number='$num'")
sqlite3 "$GL_DB" "UPDATE account SET balance = balance + 5 WHERE id = $acct"
out=$("$G" ledger check); rc=$?
check "corrupt ledger exits 1 (got $rc)" test "$rc" -eq 1
check "report names the sum" bash -c "echo '$out' | grep -q 'sum of all balances is 5, expected 0'"
check "report names the account" bash -c "echo '$out' | grep -q \"account $acct (voucher 627401\*\*\*\*\*\*${num:12:4}): stored balance 10005, its transfers give 10000\""
out=$("$G" ledger check --json); rc=$?
check "corrupt ledger json" python3 -c '
import json,sys; r=json.loads(sys.argv[1]); acct=int(sys.argv[2])
assert r["clean"] is False and r["sum"]==5, r
b=[f for f in r["findings"] if f["what"]=="balance"]
assert len(b)==1 and b[0]["account"]==acct and b[0]["expected"]==10000 and b[0]["actual"]==10005, r' "$out" "$acct"
check "overdrafts: none" bash -c "'$G' ledger overdrafts --json | grep -qx '\[\]'"
check "expire: none" bash -c "'$G' ledger expire | grep -q '0 holds released'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
