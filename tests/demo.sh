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
#   4. the ledger checked (glctl ledger check).
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
  --channel phone_bill
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

step "4. The ledger: every balance from its transfers, all balances sum to zero"
"$bin/glctl" ledger check

printf '\ndemo done: files in %s\n' "$demo"
