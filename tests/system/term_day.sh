#!/usr/bin/env bash
# tests/system/term_day.sh - a day at the counter, through the real
# programs: gl-hostd (provisioned by glctl, SQLite), gl-emu playing the
# scanner, magstripe reader, PN532 NFC reader (a phone wallet), IrDA phone
# and receipt printer on ptys, and gl-term in its scripted mode.
#   redeem by barcode, by membership card with PIN, by NFC phone, by IrDA
#   phone; a partial approval (split tender); a wrong PIN; a void; the host
#   hanging mid-request (reversal); balance inquiry; the batch close with
#   its Z report; reprint; CSV export.
# Asserts each answer, each receipt as the printer decoded it, the host's
# balances, the journal, and `glctl ledger check` at the end.
source "$(dirname "$0")/term_lib.bash"

term_setup || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
hostd_start || { cat "$T/hostd.log"; echo "0 passed, 1 failed"; exit 1; }
for d in "scanner scan" "magstripe msr" "printer prn" "pn532 nfc" "irda irda"; do
  # shellcheck disable=SC2086
  emu_start $d || bad "emulator $d did not start"
done
term_config

V1=$(issue BOOK --face 30000)
V2=$(issue BOOK --face 10000)
VM=$(issue BOOK --face 50000 --member "$PHONE")
echo 1234 > "$T/pin.txt"
VP=$(issue GIFT --face 20000 --pin-file "$T/pin.txt" --pin-key "$T/pin.key")
VN=$(issue BOOK --face 30000)
VI=$(issue BOOK --face 10000)
IMK=$(cat "$T/imk.hex")
mask() { echo "${1:0:6}******${1:12:4}"; }
receipt() { # NAME: the printer's capture, decoded, into $T/NAME.txt
  local r
  r=$(ctl prn "save $T/$1.txt")
  case "$r" in ok*) ;; *) bad "printer save $1: $r"; : > "$T/$1.txt" ;; esac
}
has() { # NAME TEXT
  grep -qF -- "$2" "$T/$1.txt"
}

check "gl-term starts and signs on" term_start
eq "ready line" "ready tid=$TID batch=000001 link=up" "$(grep '^ready' "$T/term.out" | head -n 1)"

# 1. barcode
ctl scan "scan $V1" >/dev/null
r=$(tc "redeem 10000 scan")
eq "barcode: approved" 00 "$(rf rc "$r")"
eq "barcode: balance" 20000 "$(rf balance "$r")"
eq "barcode: host balance" 20000 "$(balance "$V1")"
auth=$(rf auth "$r"); rrn=$(rf rrn "$r")
receipt r1
check "barcode: merchant and customer copies" test "$(grep -c 'COPY' "$T/r1.txt")" -eq 2
check "barcode: receipt masks the number" has r1 "$(mask "$V1")"
check "barcode: receipt never holds the full number" test "$(grep -c "$V1" "$T/r1.txt")" -eq 0
check "barcode: receipt shows the approval code $auth" has r1 "$auth"
check "barcode: receipt shows the reference as Code 128" has r1 "[CODE128 $rrn]"
check "barcode: receipt shows the amount" has r1 "10,000"
check "barcode: receipt shows the balance" has r1 "20,000"
check "barcode: receipt header" has r1 "Seoul Books Gangnam"

# 2. membership card with PIN (the PIN pad reads the next line)
ctl msr "card $CARD HONG/GILDONG 2912 101" >/dev/null
r=$(tc "redeem 15000 card" "1234")
eq "card: approved" 00 "$(rf rc "$r")"
eq "card: host balance of the member's voucher" 35000 "$(balance "$VM")"
receipt r2
check "card: receipt lists the voucher drawn" \
  grep -q "^$(mask "$VM" | sed 's/\*/[*]/g')  *15,000" "$T/r2.txt"
check "card: the card number is masked" has r2 "$(mask "$CARD")"
check "card: PIN prompt asked" grep -q '^pin?' "$T/term.out"

# 3. NFC phone: the customer enters the PIN on the phone
ctl nfc "tap phone 04A1B2C3D4E5F6 imk=$IMK pin=4321 voucher=$VN,1,3000000" >/dev/null
ctl nfc "phone enter 4321" >/dev/null
r=$(tc "redeem 5000 nfc")
eq "nfc phone: approved" 00 "$(rf rc "$r")"
eq "nfc phone: host balance" 25000 "$(balance "$VN")"
receipt r3
check "nfc phone: receipt says how" grep -qi 'NFC' "$T/r3.txt"
ctl nfc remove >/dev/null

# 4. IrDA phone
ctl irda "phone imk=$IMK pin=5555 voucher=$VI,1,1000000" >/dev/null
ctl irda "enter 5555" >/dev/null
r=$(tc "redeem 4000 irda")
eq "irda phone: approved" 00 "$(rf rc "$r")"
eq "irda phone: host balance" 6000 "$(balance "$VI")"
receipt r4
# a wrong PIN on the phone: refused on the phone, nothing sent
ctl irda "enter 0000" >/dev/null
r=$(tc "redeem 1000 irda")
eq "irda phone, wrong PIN: no host code" "-" "$(rf rc "$r")"
check "irda phone, wrong PIN: the cashier is told" grep -q 'Wrong PIN on the phone' <<<"$r"
eq "irda phone, wrong PIN: host balance unchanged" 6000 "$(balance "$VI")"

# 5. partial approval: 30,000 asked, 20,000 left on V1
ctl scan "scan $V1" >/dev/null
r=$(tc "redeem 30000 scan")
eq "partial: code 10" 10 "$(rf rc "$r")"
eq "partial: approved amount" 20000 "$(rf approved "$r")"
eq "partial: left to collect" 10000 "$(rf collect "$r")"
eq "partial: host balance" 0 "$(balance "$V1")"
receipt r5
check "partial: receipt tells what is left to collect" grep -q 'Left to collect.*10,000' "$T/r5.txt"

# 6. wrong PIN on a PIN voucher: 14, no receipt, no value moved
ctl scan "scan $VP" >/dev/null
r=$(tc "redeem 3000 scan" "9999")
eq "wrong PIN: 14" 14 "$(rf rc "$r")"
eq "wrong PIN: cashier message" "Invalid number or PIN" "$(echo "$r" | sed -n 's/.*msg="\(.*\)"$/\1/p')"
eq "wrong PIN: host balance" 20000 "$(balance "$VP")"
receipt r6
check "wrong PIN: nothing printed" test ! -s "$T/r6.txt"

# 7. the right PIN, then a void of it
ctl scan "scan $VP" >/dev/null
r=$(tc "redeem 3000 scan" "1234")
eq "PIN voucher: approved" 00 "$(rf rc "$r")"
eq "PIN voucher: host balance" 17000 "$(balance "$VP")"
r=$(tc "void last")
eq "void: approved" 00 "$(rf rc "$r")"
eq "void: host balance restored" 20000 "$(balance "$VP")"
r=$(tc "void last")
eq "void twice: nothing to void" "-" "$(rf rc "$r")"
receipt r7

# 8. the host hangs mid-request: no answer, reversal, balance restored
hostd_pause
ctl scan "scan $V2" >/dev/null
r=$(tc "redeem 5000 scan")
eq "host hung: no answer" "-" "$(rf rc "$r")"
check "host hung: cashier told the transaction is cancelled" \
  grep -q 'No answer from host: transaction cancelled' <<<"$r"
hostd_resume
rev=1
for _ in $(seq 1 60); do
  s=$(tc status)
  rev=$(rf reversals "$s")
  [ "$rev" = 0 ] && break
  sleep 0.5
done
eq "host hung: the reversal was answered" 0 "$rev"
eq "host hung: host balance restored" 10000 "$(balance "$V2")"
eq "host hung: journal row reversed" reversed \
  "$(sqlite3 "$T/term.db" "SELECT state FROM txn WHERE pan='$V2'")"
receipt r8
check "host hung: nothing printed" test ! -s "$T/r8.txt"

# 9. balance inquiry, reprint, X report, CSV export
r=$(tc "balance key:$V2")
eq "balance inquiry" 10000 "$(rf balance "$r")"
r=$(tc reprint)
receipt r9
check "reprint: marked as such" has r9 "REPRINT"
r=$(tc report)
receipt x
check "X report printed" has x "X REPORT"
r=$(tc "export $T/day.csv")
check "CSV of the figures exported" grep -q '^settlement,debits,' "$T/day.csv"
check "CSV of the rows exported" test "$(grep -cF "$(mask "$V1")" "$T/day-rows.csv")" -ge 2

# 10. close: totals agree with the host
r=$(tc close)
eq "close: accepted" 00 "$(rf rc "$r")"
eq "close: message" "Batch closed" "$(echo "$r" | sed -n 's/.*msg="\(.*\)"$/\1/p')"
eq "close: next batch" 000002 "$(rf next "$r")"
receipt z
check "Z report printed" has z "Z REPORT"
# debits 10000+15000+5000+4000+20000+3000 = 57,000; the void 3,000
check "Z report: debits" has z "57,000"
check "Z report: net" has z "54,000"

check "gl-term stops cleanly" term_stop
check "host stops cleanly" hostd_stop
check "glctl ledger check" G ledger check >/dev/null
# the journal and the host agree on every voucher's balance
for v in "$V1:30000" "$V2:10000" "$VN:30000" "$VI:10000" "$VP:20000"; do
  n=${v%%:*}; face=${v##*:}
  used=$(sqlite3 "$T/term.db" "SELECT coalesce(sum(approved),0) FROM counted
           WHERE pan='$n' AND kind='redeem' AND voided_by=0")
  eq "journal and host agree on $(mask "$n")" "$((face - used))" "$(balance "$n")"
done
check "no full voucher number in gl-term's log" \
  test "$(grep -c -e "$V1" -e "$VP" -e "$VM" "$T/term.log")" -eq 0
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
