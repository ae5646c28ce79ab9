#!/usr/bin/env bash
# tests/demo.sh BUILD - `make demo`: a deployment on the embedded defaults,
# end to end through the real programs:
#   1. the deployment's PKI and DUKPT keys (glctl pki),
#   2. a host database provisioned with a merchant, store, terminal, product,
#      a member with a membership card, and vouchers (glctl),
#   3. the reference redemption as the terminal sends it: encoded, MACed
#      under the terminal's DUKPT key, decoded and masked as an operator
#      sees it, verified as the host does, and refused when one byte is
#      changed on the way (gl-iso),
#   4. gl-hostd started on loopback; the devices of a counter played by
#      gl-emu on ptys (barcode scanner, magstripe reader, PN532 NFC reader,
#      IrDA phone link, receipt printer); gl-term signs on and works a day:
#      redemptions by barcode, by membership card with PIN, by an NFC phone
#      and an IrDA phone, a partial approval (split tender), a wrong PIN, a
#      void, the host hanging mid-request (reversal), the batch close;
#      receipts and the day's report as the printer received them;
#   5. the customers' side: gl-webd with SMS through gl-smsc: sign-in by
#      the code an SMS brings, two vouchers bought on the phone bill, one
#      given to a friend who signs in and accepts it;
#   6. everything stopped cleanly, a voucher's history, the ledger checked.
# Everything lives in a fresh directory under build/demo/ that is kept for
# a look afterwards.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
bin=$PWD/$build/bin
demo=$PWD/build/demo
rm -rf "$demo"
mkdir -p "$demo"
export GL_DB=$demo/giftlink.db
step() { printf '\n== %s\n' "$*"; }

step "1. PKI and keys of the deployment (in $demo/pki)"
"$bin/glctl" pki ca --dir "$demo/pki" --cn "giftlink demo CA"
"$bin/glctl" pki host --dir "$demo/pki" --cn host.giftlink.test
"$bin/glctl" pki terminal --dir "$demo/pki" --id GLT00001
"$bin/glctl" pki bdk --out "$demo/pki/bdk.hex" --aes128
"$bin/glctl" pki ikey --bdk-file "$demo/pki/bdk.hex" --key-id 1234567890123456 \
  --out "$demo/pki/term-GLT00001.ikey"
ls -l "$demo/pki" | sed 's/^/   /'

step "2. The host's catalogue and registry (SQLite: $GL_DB)"
"$bin/glctl" merchant add --id GLM000000000001 --name "Seoul Books Gangnam" --group books
"$bin/glctl" store add --merchant GLM000000000001 --code S001 --name "Gangnam branch"
"$bin/glctl" terminal add --id GLT00001 --merchant GLM000000000001 --store S001 \
  --cn GLT00001 --key-id 1234567890123456
"$bin/glctl" product add --id BOOK10K --issuer "Culture Land" --brand "Book Voucher" \
  --type books --prefix 9410 --face 10000,30000,50000 --validity-days 365 --partial --group books
"$bin/glctl" member add --phone 01012345678 --card 6274100000000014 --card-kind membership
"$bin/glctl" voucher issue --product BOOK10K --count 2 --face 30000 --member 01012345678 \
  --channel phone_bill | tee "$demo/issued.txt"
"$bin/glctl" voucher issue --product BOOK10K --count 1 --face 50000 --channel counter_cash
"$bin/glctl" product add --id GIFT20K --issuer "Culture Land" --brand "Gift Voucher" \
  --type culture --prefix 9420 --face 20000 --validity-days 365 --group books
"$bin/glctl" voucher list --member 01012345678

step "3. The reference redemption on the host link (docs/host-interface.md)"
echo "   request as the terminal builds it:"
sed 's/^/     /' tests/vectors/0200-redeem.txt
hex=$("$bin/gl-iso" encode --bdk "$demo/pki/bdk.hex" <tests/vectors/0200-redeem.txt)
echo "   framed and MACed (AES-CMAC under the DUKPT MAC key of the KSN in DE 48 KS):"
echo "$hex" | fold -w 64 | sed 's/^/     /'
echo "   as an operator sees it (masked), with the host's MAC check:"
echo "$hex" | "$bin/gl-iso" decode --bdk "$demo/pki/bdk.hex" | sed 's/^/     /'
echo "   the same frame with one amount digit changed on the way:"
bad=$(echo "$hex" | sed 's/303030303030303130303030/303030303030393130303030/')
if echo "$bad" | "$bin/gl-iso" decode --bdk "$demo/pki/bdk.hex" >/dev/null 2>"$demo/tamper.err"; then
  echo "   ERROR: the tampered frame verified" >&2
  exit 1
fi
sed 's/^/     /' "$demo/tamper.err"
echo "   the same frame in the BCD profile:"
"$bin/gl-iso" encode --profile bcd --bdk "$demo/pki/bdk.hex" <tests/vectors/0200-redeem.txt |
  fold -w 64 | sed 's/^/     /'

step "4. gl-hostd on loopback, the counter's devices, and gl-term at work"
head -c 32 /dev/urandom > "$demo/pki/pin.key"
chmod 600 "$demo/pki/pin.key"
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F > "$demo/pki/imk.hex"
chmod 600 "$demo/pki/imk.hex"
VP=$("$bin/glctl" voucher issue --product GIFT20K --count 1 --face 20000 \
      --pin-file <(echo 1234) --pin-key "$demo/pki/pin.key" --json |
     sed -n 's/.*"number": *"\([0-9]*\)".*/\1/p')
num() { "$bin/glctl" voucher issue --product BOOK10K --count 1 --face "$1" --json |
        sed -n 's/.*"number": *"\([0-9]*\)".*/\1/p'; }
VB=$(num 30000); VN=$(num 30000); VI=$(num 10000); VS=$(num 10000)
# The numbers in full are printed once, when issued; listings mask them.
mapfile -t VM < <(cut -d' ' -f1 "$demo/issued.txt")
# The emulators, gl-hostd and gl-term are run by the functions the system
# tests use (tests/system/term_lib.bash), in this directory.
T=$demo KEEP_T=1 GL_BUILD=$PWD/$build
# shellcheck source=tests/system/term_lib.bash
source tests/system/term_lib.bash
set +u
export GL_DB=$demo/giftlink.db   # the library points it at its own
cat > "$T/hostd.ini" <<EOF
[listen]
address = 127.0.0.1
port = 0
[tls]
ca = $demo/pki/ca.crt
cert = $demo/pki/host.crt
key = $demo/pki/host.key
[db]
path = $GL_DB
[keys]
bdk_file = $demo/pki/bdk.hex
bdk_type = aes128
pin_key_file = $demo/pki/pin.key
imk_file = $demo/pki/imk.hex
[log]
level = info
syslog = no
EOF
hostd_start || { cat "$T/hostd.log"; exit 1; }
echo "   gl-hostd listening on 127.0.0.1:$PORT (log: $T/hostd.log)"
for d in "scanner scan" "magstripe msr" "pn532 nfc" "irda irda" "printer prn"; do
  # shellcheck disable=SC2086
  emu_start $d || { echo "emulator $d did not start" >&2; exit 1; }
  # shellcheck disable=SC2086
  set -- $d
  echo "   gl-emu $1 on ${EMU_PATH[$2]}"
done
cat > "$T/term.ini" <<EOF
[terminal]
id = GLT00001
merchant = GLM000000000001
cashier = C001
language = en
receipt_header = Seoul Books Gangnam\nTel 02-555-0100
pin_prefixes = 9420
card_pin = yes
[host]
address = 127.0.0.1
port = $PORT
server_cn = host.giftlink.test
response_timeout = 3
repeat_first = 2
reconnect_max = 2
[tls]
ca = $demo/pki/ca.crt
cert = $demo/pki/term-GLT00001.crt
key = $demo/pki/term-GLT00001.key
[keys]
ikey_file = $demo/pki/term-GLT00001.ikey
[journal]
path = $demo/gl-term.db
export_dir = $demo
[devices]
scanner = ${EMU_PATH[scan]}
magstripe = ${EMU_PATH[msr]}
membership_prefixes = 627410
nfc = ${EMU_PATH[nfc]}
irda = ${EMU_PATH[irda]}
printer = ${EMU_PATH[prn]}
pinpad = stdin
present_timeout = 10
[log]
level = info
EOF
echo "   gl-term configuration: $T/term.ini (journal $demo/gl-term.db)"
term_start || { cat "$T/term.log"; exit 1; }
echo "   $(grep '^ready' "$T/term.out" | head -n 1)"
errors=0
say() { printf '\n   -- %s\n' "$*"; }
run() { # expected-rc command [PIN line]: sends it, prints the result
  local want=$1 r
  shift
  r=$(tc "$@")
  echo "   > $1"
  echo "     $r"
  if [ "$(rf rc "$r")" != "$want" ]; then
    echo "   ERROR: expected rc=$want" >&2
    errors=$((errors + 1))
  fi
}
show_receipt() { # title
  ctl prn "save $T/receipt.txt" >/dev/null
  echo "     the printer received ($1):"
  sed 's/^/       | /' "$T/receipt.txt"
}
say "a voucher on a phone screen, scanned: 10,000 of 30,000"
ctl scan "scan $VB" >/dev/null
run 00 "redeem 10000 scan"
show_receipt "merchant and customer copies"
say "a membership card swiped; the customer keys the PIN on the pad (1234)"
ctl msr "card 6274100000000014 HONG/GILDONG 2912 101" >/dev/null
run 00 "redeem 15000 card" "1234"
say "a phone tapped on the NFC reader; the customer enters the PIN on the phone"
IMK=$(cat "$demo/pki/imk.hex")
ctl nfc "tap phone 04A1B2C3D4E5F6 imk=$IMK pin=4321 voucher=$VN,1,3000000" >/dev/null
ctl nfc "phone enter 4321" >/dev/null
run 00 "redeem 5000 nfc"
ctl nfc remove >/dev/null
say "a phone over the IrDA link"
ctl irda "phone imk=$IMK pin=5555 voucher=$VI,1,1000000" >/dev/null
ctl irda "enter 5555" >/dev/null
run 00 "redeem 4000 irda"
say "45,000 asked of a 30,000 voucher that allows partial use: split tender"
ctl prn clear >/dev/null
ctl scan "scan ${VM[1]}" >/dev/null
run 10 "redeem 45000 scan"
ctl prn "save $T/partial.txt" >/dev/null
grep -E 'Amount|Approved amount|Left to collect' "$T/partial.txt" | head -n 3 |
  sed 's/^/       | /'
say "a PIN voucher with a wrong PIN (9999), then the right one (1234)"
ctl scan "scan $VP" >/dev/null
run 14 "redeem 3000 scan" "9999"
ctl scan "scan $VP" >/dev/null
run 00 "redeem 3000 scan" "1234"
say "the cashier voids the last sale"
run 00 "void last"
ctl prn clear >/dev/null
say "the host hangs mid-request: no answer, the terminal reverses (0400/0401)"
hostd_pause
ctl scan "scan $VS" >/dev/null
run - "redeem 2000 scan"
hostd_resume
for _ in $(seq 1 60); do
  s=$(tc status)
  [ "$(rf reversals "$s")" = 0 ] && break
  sleep 0.5
done
echo "     $s"
echo "     balance of ${VS:0:6}******${VS:12:4} at the host: $(balance "$VS") (restored)"
[ "$(balance "$VS")" = 10000 ] || { echo "   ERROR: not restored" >&2; errors=$((errors + 1)); }
say "closing the day: 0500 with the batch totals, the Z report"
run 00 close
show_receipt "the day's report"
run - "export $demo/day.csv"
term_stop || { echo "gl-term did not stop cleanly" >&2; exit 1; }
for p in "${EMU_PID[@]}"; do kill -TERM "$p"; wait "$p" || true; done
EMU_PID=()

step "5. The customers' side: gl-webd, with SMS through an emulated SMSC"
# A customer signs in with the code the SMS brings, buys two vouchers on
# the phone bill, and gives one to a friend, who signs in and accepts it.
ME=01012345678 FRIEND=01099998888
"$bin/glctl" member add --phone "$FRIEND" >/dev/null
head -c 32 /dev/urandom > "$demo/pki/otp.key"
chmod 600 "$demo/pki/otp.key"
# gl-smsc, gl-webd and the API calls: the functions the gl-webd system tests
# use (tests/system/webd_lib.bash), their files in this directory too.
# shellcheck source=tests/system/webd_lib.bash
source tests/system/webd_lib.bash
trap 'webd_cleanup; term_cleanup' EXIT
webd_smsc_start giftlink demo-pw || { echo "gl-smsc did not start" >&2; exit 1; }
cat > "$demo/gl-webd.ini" <<EOF
[listen]
address = 127.0.0.1
port = 0
[db]
path = $GL_DB
[keys]
otp_key_file = $demo/pki/otp.key
[smsc]
host = 127.0.0.1
port = $SMSC_PORT
system_id = giftlink
password = demo-pw
[gift]
claim_base = https://giftlink.example/g/
content_dir = $demo/content
[log]
level = info
EOF
mkdir -p "$demo/content"
"$bin/gl-webd" --config "$demo/gl-webd.ini" 2>"$demo/gl-webd.log" &
WEBD_PID=$!
EMU_PID[webd]=$WEBD_PID
WPORT=
for _ in $(seq 1 100); do
  WPORT=$(sed -n 's/.*listening on [^:]*:\([0-9]*\) .*/\1/p' "$demo/gl-webd.log" | tail -n 1)
  [ -n "$WPORT" ] && break
  sleep 0.1
done
[ -n "$WPORT" ] || { cat "$demo/gl-webd.log"; exit 1; }
URL=http://127.0.0.1:$WPORT
echo "   gl-webd on $URL (docs/customer-api.md), gl-smsc on port $SMSC_PORT"
TOK=$(signin "$ME")
echo "   $ME signed in with the code of this SMS:"
sms_last "$ME" | sed 's/[0-9]\{6\}/******/; s/^/     /'
post /v1/purchases '{"product":"BOOK10K","face":10000,"count":2,"payment":{"method":"phone_bill"}}' \
  -H "Authorization: Bearer $TOK" -H "Idempotency-Key: demo-purchase-1"
[ "$ST" = 201 ] || { echo "   ERROR: purchase answered $ST: $BODY" >&2; exit 1; }
echo "   bought on the phone bill: $(jget '"%d vouchers, %d KRW" % (len(j["vouchers"]), j["amount"])')"
G1=$(jget 'sorted(j["vouchers"])[0]')
n=$(sms_count)
post /v1/gifts "{\"recipient\":\"$FRIEND\",\"message\":\"생일 축하해!\",\"items\":[{\"number\":\"$G1\"}]}" \
  -H "Authorization: Bearer $TOK" -H "Idempotency-Key: demo-gift-1"
[ "$ST" = 201 ] || { echo "   ERROR: gift answered $ST: $BODY" >&2; exit 1; }
CLAIM=$(jget 'j["link"]')
echo "   gave ${G1:0:6}******${G1:12:4} to $FRIEND: the friend's SMS says"
sms_wait "$n" || true
sms_last "$FRIEND" | sed 's/^/     /'
FTOK=$(signin "$FRIEND")
post "/v1/claims/${CLAIM##*/}/accept" '' -H "Authorization: Bearer $FTOK"
[ "$ST" = 200 ] || { echo "   ERROR: accept answered $ST" >&2; exit 1; }
echo "   the friend accepted; baskets now:"
masked='", ".join(v["number"][:6]+"******"+v["number"][12:]+" "+v["status"] for v in j["vouchers"])'
req GET /v1/vouchers -H "Authorization: Bearer $TOK"
echo "     $ME:     $(jget "$masked")"
req GET /v1/vouchers -H "Authorization: Bearer $FTOK"
echo "     $FRIEND: $(jget "$masked")"
post /v1/purchases '{"product":"BOOK10K","face":10000,"count":1,"payment":{"method":"phone_bill"}}' \
  -H "Authorization: Bearer $TOK" -H "Idempotency-Key: demo-purchase-2"
PID2=$(jget 'j["purchase_id"]')
n=$(sms_count)
post "/v1/purchases/$PID2/refund" '' -H "Authorization: Bearer $TOK"
[ "$ST" = 201 ] || { echo "   ERROR: refund answered $ST: $BODY" >&2; exit 1; }
echo "   one more bought and refunded within 7 days (the standard terms): the SMS says"
sms_wait "$n" || true
sms_last "$ME" | sed 's/^/     /'
kill -TERM "$WEBD_PID"; wait "$WEBD_PID" || { echo "gl-webd did not stop cleanly" >&2; exit 1; }
unset 'EMU_PID[webd]'
webd_emu_stop SMSC || true

step "6. Close: the host stops cleanly, a voucher's history, the ledger"
hostd_stop || { echo "gl-hostd did not stop cleanly" >&2; exit 1; }
tail -n 1 "$T/hostd.log" | sed 's/^/   /'
"$bin/glctl" voucher history "$VB"
"$bin/glctl" ledger check
[ "$errors" -eq 0 ] || { echo "demo: $errors unexpected answer(s)" >&2; exit 1; }

printf '\ndemo done: files in %s\n' "$demo"
