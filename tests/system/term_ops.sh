#!/usr/bin/env bash
# tests/system/term_ops.sh - the rest of the cashier's transactions through
# gl-term and the real gl-hostd: activation of a till card, reload, refund
# of a named redemption (and too much of it), cash-out (allowed and not),
# void by reference, a second cashier, a balance inquiry without answer
# (dropped, not reversed), and a batch close whose totals differ from the
# host's (0510 95 -> 0320 uploads -> 0500 again, accepted).
source "$(dirname "$0")/term_lib.bash"

term_setup || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
hostd_start || { cat "$T/hostd.log"; echo "0 passed, 1 failed"; exit 1; }
emu_start scanner scan || bad "scanner emulator"
emu_start printer prn || bad "printer emulator"
term_config "[host]" "echo_idle = 1"
term_start || { cat "$T/term.log"; echo "0 passed, 1 failed"; exit 1; }
msg() { echo "$1" | sed -n 's/.*msg="\(.*\)"$/\1/p'; }

# an idle link is kept alive with echoes (0800 301) on the same session
s1=$(tc status)
sleep 3
s2=$(tc status)
check "idle: echoes sent" test "$(rf sent "$s2")" -ge $(( $(rf sent "$s1") + 2 ))
eq "idle: answered" "$(( $(rf sent "$s2") ))" "$(rf received "$s2")"
eq "idle: no reconnect" "$(rf reconnects "$s1")" "$(rf reconnects "$s2")"

# activation of a till card (issued without value)
TC=$(issue BOOK --face 10000 --unfunded)
r=$(tc "redeem 1000 key:$TC")
eq "till card before activation: 78" 78 "$(rf rc "$r")"
eq "78: the cashier message" "Not activated" "$(msg "$r")"
r=$(tc "activate 5000 key:$TC")
eq "activation with another amount than the face: 13" 13 "$(rf rc "$r")"
r=$(tc "activate 10000 key:$TC")
eq "activation: approved" 00 "$(rf rc "$r")"
eq "activation: host balance" 10000 "$(balance "$TC")"
r=$(tc "activate 10000 key:$TC")
eq "second activation: 12" 12 "$(rf rc "$r")"

# reload
V=$(issue BOOK --face 30000)
ctl scan "scan $V" >/dev/null
r=$(tc "reload 5000 scan")
eq "reload: approved" 00 "$(rf rc "$r")"
eq "reload: balance" 35000 "$(balance "$V")"

# refund of a named redemption
r=$(tc "redeem 8000 key:$V")
rrn=$(rf rrn "$r")
r=$(tc "refund 3000 key:$V $rrn")
eq "refund of a redemption: approved" 00 "$(rf rc "$r")"
eq "refund: balance" 30000 "$(balance "$V")"
r=$(tc "refund 6000 key:$V $rrn")
eq "refund beyond what is left of the redemption: 13" 13 "$(rf rc "$r")"
r=$(tc "refund 1000 key:$V 000000000000")
check "refund naming nothing: refused at the counter" grep -q 'No transaction to void' <<<"$r"

# cash-out: allowed once 80 % of a 10,000 face value is used
C=$(issue BOOK --face 10000)
r=$(tc "cashout key:$C")
eq "cash-out of an unused voucher: 57" 57 "$(rf rc "$r")"
r=$(tc "redeem 8500 key:$C")
r=$(tc "cashout key:$C")
eq "cash-out: approved" 00 "$(rf rc "$r")"
eq "cash-out: the whole balance" 1500 "$(rf amount "$r")"
eq "cash-out: host balance" 0 "$(balance "$C")"

# void by reference, not the last one
A=$(issue BOOK --face 10000)
r=$(tc "redeem 4000 key:$A"); ra=$(rf rrn "$r")
r=$(tc "redeem 1000 key:$V")
r=$(tc "void $ra")
eq "void by reference: approved" 00 "$(rf rc "$r")"
eq "void by reference: balance restored" 10000 "$(balance "$A")"
r=$(tc "void $ra")
check "void of a voided sale: refused at the counter" grep -q 'No transaction to void' <<<"$r"

# a second cashier
r=$(tc "cashier C002")
eq "cashier changed" C002 "$(rf cashier "$r")"
r=$(tc "redeem 2000 key:$V")
eq "C002 sale" 00 "$(rf rc "$r")"
eq "DE 48 CA journalled" C002 "$(sqlite3 "$T/term.db" "SELECT cashier FROM txn WHERE rrn='$(rf rrn "$r")'")"
ctl prn clear >/dev/null
r=$(tc report)
ctl prn "save $T/x.txt" >/dev/null
check "X report: cashier C001" grep -q '^C001 ' "$T/x.txt"
check "X report: cashier C002" grep -q '^C002 ' "$T/x.txt"

# a balance inquiry without an answer is dropped, not reversed
hostd_pause
r=$(tc "balance key:$V")
hostd_resume
check "balance without answer: the cashier is told" grep -q 'No answer from host' <<<"$r"
eq "balance without answer: dropped" dropped \
  "$(sqlite3 "$T/term.db" "SELECT state FROM txn WHERE rrn='$(rf rrn "$r")'")"
eq "balance without answer: no reversal owed" 0 "$(rf reversals "$(tc status)")"

# a close out of balance: the journal says one sale was 1,000 larger
term_stop
id=$(sqlite3 "$T/term.db" "SELECT max(id) FROM txn WHERE kind='redeem' AND state='done' AND rc='00'")
sqlite3 "$T/term.db" "UPDATE txn SET approved = approved + 1000 WHERE id = $id"
term_start
r=$(tc close)
eq "close after uploads: accepted" 00 "$(rf rc "$r")"
check "the first 0500 was answered 95" grep -q 'out of balance: uploading' "$T/term.log"
check "the upload found the one difference" grep -q '1 differ' "$T/term.log"
check "the host was told" grep -qi '0320\|upload' "$T/hostd.log"
term_stop
check "host stops cleanly" hostd_stop
check "glctl ledger check" G ledger check >/dev/null
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
