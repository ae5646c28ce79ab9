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
#   4. gl-hostd started on loopback, and a terminal (gl-load send, real TLS
#      with its certificate, its DUKPT keys and MACs) signs on and works a
#      short day at the counter: balance, redemptions, a PIN, a wrong PIN, a
#      partial approval, a repeat, a void;
#   5. the host stopped cleanly, a voucher's history, the ledger checked.
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

step "4. gl-hostd on loopback, and a terminal at the counter"
head -c 32 /dev/urandom > "$demo/pki/pin.key"
chmod 600 "$demo/pki/pin.key"
VP=$("$bin/glctl" voucher issue --product BOOK10K --count 1 --face 10000 \
      --pin-file <(echo 1234) --pin-key "$demo/pki/pin.key" --json |
     sed -n 's/.*"number": *"\([0-9]*\)".*/\1/p')
# The numbers in full are printed once, when issued; listings mask them.
mapfile -t VM < <(cut -d' ' -f1 "$demo/issued.txt")
cat > "$demo/gl-hostd.ini" <<EOF
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
[log]
level = info
syslog = no
EOF
"$bin/gl-hostd" --config "$demo/gl-hostd.ini" 2>"$demo/gl-hostd.log" &
hpid=$!
trap 'kill -9 $hpid 2>/dev/null' EXIT
port=
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*listening on [^:]*:\([0-9]*\) .*/\1/p' "$demo/gl-hostd.log" | tail -n 1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$demo/gl-hostd.log"; exit 1; }
echo "   gl-hostd listening on 127.0.0.1:$port (log: $demo/gl-hostd.log)"
msg() { # MTI PROC PAN AMOUNT [extra lines]
  printf 'mti=%s\n2=%s\n3=%s\n' "$1" "$3" "$2"
  [ -n "$4" ] && printf '4=%012d\n' "$4"
  printf '12=101500\n13=1125\n22=031\n25=00\n41=GLT00001\n42=GLM000000000001\n48=CA004C001\n49=410\n'
  shift 4
  for l in "$@"; do echo "$l"; done
  echo
}
{
  printf 'mti=0800\n41=GLT00001\n42=GLM000000000001\n48=CA004C001\n70=001\n\n'
  msg 0100 316000 "${VM[0]}" ""
  msg 0200 006000 "${VM[0]}" 10000 11=000101 37=DEMO00000101
  msg 0200 006000 "${VM[0]}" 10000 11=000101 37=DEMO00000101
  msg 0200 006000 "$VP" 3000 pin=1234 37=DEMO00000102
  msg 0200 006000 "$VP" 3000 pin=9999 37=DEMO00000103
  msg 0200 006000 "${VM[1]}" 45000 37=DEMO00000104
} > "$demo/day.txt"
echo "   the terminal sends (gl-load fills DE 7, DE 11, KS and the MAC):"
echo "     sign-on; balance of ${VM[0]:0:6}******${VM[0]:12}; redeem 10,000 from it, and the"
echo "     same request again; 3,000 from a PIN voucher with PIN 1234, then with a"
echo "     wrong PIN; 45,000 from a 30,000 voucher that allows partial use"
"$bin/gl-load" send --tid GLT00001 --auto --port "$port" --ca "$demo/pki/ca.crt" \
  --cert-dir "$demo/pki" --server-cn host.giftlink.test \
  --ikey "$demo/pki/term-GLT00001.ikey" < "$demo/day.txt" > "$demo/answers.txt"
awk 'BEGIN{RS=""; n=0} {n++; printf "   answer %d:", n;
     for (i = 1; i <= NF; i++) if ($i ~ /^(mti|4|11|38|39|54)=/ || $i ~ /^mac=/) printf " %s", $i;
     print ""}' "$demo/answers.txt"
echo "   (39=00 approved, 10 partial: DE 4 is what was approved; 14 wrong PIN or"
echo "    unknown number, the same answer; the repeat got the first answer again)"
rcs=$(sed -n 's/^39=//p' "$demo/answers.txt" | tr '\n' ' ')
if [ "$rcs" != "00 00 00 00 00 14 10 " ]; then
  echo "   ERROR: unexpected answers: $rcs" >&2
  exit 1
fi

step "5. Close: the host stops cleanly, a voucher's history, the ledger"
kill -TERM "$hpid"
wait "$hpid" || { echo "gl-hostd did not stop cleanly" >&2; exit 1; }
trap - EXIT
tail -n 1 "$demo/gl-hostd.log" | sed 's/^/   /'
"$bin/glctl" voucher history "${VM[0]}"
"$bin/glctl" ledger check

printf '\ndemo done: files in %s\n' "$demo"
