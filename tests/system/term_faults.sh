#!/usr/bin/env bash
# tests/system/term_faults.sh - gl-term when things go wrong, through the
# real programs (gl-hostd, gl-emu devices, gl-term):
#   - kill -9 of gl-term at every step of the journal in turn (a request
#     journalled, about to be sent, sent, answered, the answer journalled;
#     a reversal journalled, a reversal answered; a close answered): after
#     the restart the host's balance and the terminal's journal agree,
#     nothing is owed, and `glctl ledger check` passes;
#   - the link dropped mid-request (the host killed, then back): the
#     reversal reaches the host and the balance is restored;
#   - offline mode: approvals under the floor limit while the host is down,
#     refused above it and for PIN vouchers, advices (0220) when it is back,
#     an advice for an unknown number refused by the host;
#   - garbage from the scanner and the magstripe reader, a number that is
#     not a voucher: refused at the counter, nothing sent;
#   - the printer out of paper: the sale stands, the cashier is told, a
#     reprint after loading paper;
#   - Korean messages.
source "$(dirname "$0")/term_lib.bash"

term_setup || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
hostd_start || { cat "$T/hostd.log"; echo "0 passed, 1 failed"; exit 1; }
emu_start scanner scan || bad "scanner emulator"
emu_start magstripe msr || bad "magstripe emulator"
emu_start printer prn || bad "printer emulator"
term_config
mask() { echo "${1:0:6}******${1:12:4}"; }
jstate() { sqlite3 "$T/term.db" "SELECT group_concat(state) FROM txn WHERE pan='$1'"; }
owed() { # waits until nothing is owed; prints the count left
  local s n=1
  for _ in $(seq 1 80); do
    s=$(tc status) || break
    n=$(( $(rf reversals "$s") + $(rf advices "$s") ))
    [ "$n" -eq 0 ] && break
    sleep 0.5
  done
  echo "$n"
}
sent() { rf sent "$(tc status)"; }

# ---- kill -9 at each journal step of a redemption ----------------------
# step: expected journal state after recovery, expected amount taken
for c in journalled:reversed:0 before_send:reversed:0 after_send:reversed:0 \
         answered:reversed:0 answer_journalled:done:1000; do
  step=${c%%:*}; rest=${c#*:}; want_state=${rest%%:*}; taken=${rest##*:}
  V=$(issue BOOK --face 10000)
  export GL_TERM_KILL_AT=$step
  term_start || bad "$step: gl-term did not start"
  ctl scan "scan $V" >/dev/null
  tc "redeem 1000 scan" >/dev/null
  for _ in $(seq 1 50); do kill -0 "$TPID" 2>/dev/null || break; sleep 0.1; done
  check "kill at $step: gl-term died there" grep -q "killed at $step" "$T/term.log"
  term_kill
  unset GL_TERM_KILL_AT
  term_start || bad "$step: gl-term did not restart"
  eq "kill at $step: nothing owed after the restart" 0 "$(owed)"
  eq "kill at $step: journal" "$want_state" "$(jstate "$V")"
  eq "kill at $step: host balance" "$((10000 - taken))" "$(balance "$V")"
  term_stop || bad "$step: gl-term did not stop cleanly"
done

# a reversal journalled (the host hung), then killed; and a reversal
# answered, then killed before the answer was journalled
V=$(issue BOOK --face 10000)
export GL_TERM_KILL_AT=reversal_journalled
term_start
hostd_pause
ctl scan "scan $V" >/dev/null
tc "redeem 1000 scan" >/dev/null
for _ in $(seq 1 100); do kill -0 "$TPID" 2>/dev/null || break; sleep 0.1; done
check "kill at reversal_journalled: died there" grep -q "killed at reversal_journalled" "$T/term.log"
term_kill
hostd_resume
export GL_TERM_KILL_AT=reversal_answered
term_start  # the restart sends the owed 0400 and dies when it is answered
for _ in $(seq 1 100); do kill -0 "$TPID" 2>/dev/null || break; sleep 0.1; done
check "kill at reversal_answered: died there" grep -q "killed at reversal_answered" "$T/term.log"
term_kill
unset GL_TERM_KILL_AT
term_start
eq "reversal killed twice: nothing owed" 0 "$(owed)"
eq "reversal killed twice: journal" reversed "$(jstate "$V")"
eq "reversal killed twice: host balance restored" 10000 "$(balance "$V")"
check "reversal killed twice: the repeat went as 0401" \
  test "$(sqlite3 "$T/term.db" "SELECT rev_sends FROM txn WHERE pan='$V'")" -ge 2

# a close answered, killed before the answer was journalled: the restart
# resumes the close with the same identity and the host accepts the repeat
term_stop
export GL_TERM_KILL_AT=close_answered
term_start
r=$(tc close)
for _ in $(seq 1 50); do kill -0 "$TPID" 2>/dev/null || break; sleep 0.1; done
check "kill at close_answered: died there" grep -q "killed at close_answered" "$T/term.log"
term_kill
unset GL_TERM_KILL_AT
term_start
check "close resumed at the restart" grep -q '^resume close' "$T/term.out"
r=$(grep '^result close' "$T/term.out" | tail -n 1)
eq "resumed close: accepted" 00 "$(rf rc "$r")"
eq "resumed close: next batch" 000002 "$(rf next "$r")"
eq "resumed close: the terminal is on batch 2" 000002 "$(rf batch "$(tc status)")"
term_stop

# ---- the link dropped mid-request --------------------------------------
V=$(issue BOOK --face 10000)
term_start
hostd_pause
ctl scan "scan $V" >/dev/null
printf 'redeem 2000 scan\n' >&7
sleep 1
hostd_kill           # the connection drops with the request in flight
r=$(tc status)       # answered once the redemption gave up
r=$(grep '^result redeem' "$T/term.out" | tail -n 1)
check "link dropped: the cashier is told" grep -q 'No answer from host' <<<"$r"
eq "link dropped: a reversal is owed" 1 "$(rf reversals "$(tc status)")"
hostd_start || bad "host restart"
eq "link dropped: the reversal reached the host" 0 "$(owed)"
eq "link dropped: journal" reversed "$(jstate "$V")"
eq "link dropped: host balance restored" 10000 "$(balance "$V")"
# a request while the link is down and offline mode is off
hostd_stop
ctl scan "scan $V" >/dev/null
r=$(tc "redeem 1000 scan")
check "host down, offline off: refused" grep -q 'Host link down' <<<"$r"
eq "host down, offline off: nothing journalled" reversed "$(jstate "$V")"
term_stop
hostd_start || bad "host restart"

# ---- offline mode --------------------------------------------------------
TERM_OFFLINE=yes TERM_FLOOR=20000 term_config
V=$(issue BOOK --face 30000)
echo 1234 > "$T/pin.txt"
VP=$(issue GIFT --face 20000 --pin-file "$T/pin.txt" --pin-key "$T/pin.key")
UNKNOWN=9410000000000005   # Luhn-valid, never issued
term_start
hostd_stop
ctl prn clear >/dev/null
ctl scan "scan $V" >/dev/null
r=$(tc "redeem 5000 scan")
eq "offline: approved by the terminal" 00 "$(rf rc "$r")"
check "offline: the cashier is told" grep -q 'Approved offline' <<<"$r"
check "offline: approval code OFF + STAN" grep -q 'auth=OFF[0-9][0-9][0-9] ' <<<"$r"
ctl prn "save $T/off.txt" >/dev/null
check "offline: receipt marked" grep -q 'OFFLINE' "$T/off.txt"
ctl scan "scan $V" >/dev/null
r=$(tc "redeem 25000 scan")
check "offline: above the floor limit refused" grep -q 'Host link down' <<<"$r"
ctl scan "scan $VP" >/dev/null
r=$(tc "redeem 1000 scan")
check "offline: a PIN voucher refused" grep -q 'Host link down' <<<"$r"
ctl scan "scan $UNKNOWN" >/dev/null
r=$(tc "redeem 3000 scan")
eq "offline: an unknown number is approved at the counter" 00 "$(rf rc "$r")"
eq "offline: two advices owed" 2 "$(rf advices "$(tc status)")"
hostd_start || bad "host restart"
eq "offline: the advices reached the host" 0 "$(owed)"
eq "offline: host balance" 25000 "$(balance "$V")"
eq "offline: journal" done "$(jstate "$V")"
eq "offline: the unknown number refused by the host (14)" refused "$(jstate "$UNKNOWN")"
term_stop
term_config

# ---- bad input from devices ----------------------------------------------
term_start
before=$(sent)
ctl scan "fail 1 garbage" >/dev/null
ctl scan "scan $V" >/dev/null
r=$(tc "redeem 1000 scan")
check "scanner garbage: refused" grep -q 'Not a voucher number: scan again' <<<"$r"
ctl scan "scan 9410000000000003" >/dev/null   # wrong check digit
r=$(tc "redeem 1000 scan")
check "wrong check digit: refused" grep -q 'Not a voucher number' <<<"$r"
ctl scan "scan 12345" >/dev/null
r=$(tc "redeem 1000 scan")
check "short code: refused" grep -q 'Not a voucher number' <<<"$r"
ctl msr "swipe ;6274100000000014=2912101?x" >/dev/null
ctl msr "swipe garbage" >/dev/null
r=$(tc "redeem 1000 card")
check "bad swipe: refused" grep -q 'Bad swipe' <<<"$r"
r=$(tc "redeem 1000 scan")
check "nothing scanned: told after the time-out" grep -q 'No card or phone presented' <<<"$r"
r=$(tc "redeem abc scan")
check "a bad amount: the command is refused" grep -q '^error redeem: amount' <<<"$r"
r=$(tc "frobnicate")
check "an unknown command" grep -q '^error frobnicate: unknown command' <<<"$r"
eq "bad input: nothing was sent to the host" "$before" "$(sent)"

# ---- the printer out of paper --------------------------------------------
ctl prn "paper out" >/dev/null
ctl scan "scan $V" >/dev/null
r=$(tc "redeem 1000 scan")
eq "paper out: the sale stands" 00 "$(rf rc "$r")"
check "paper out: the cashier is told" grep -q 'print="Printer out of paper' <<<"$r"
ctl prn "paper in" >/dev/null
ctl prn clear >/dev/null
r=$(tc reprint)
ctl prn "save $T/re.txt" >/dev/null
check "paper back: the reprint prints" grep -q 'REPRINT' "$T/re.txt"
check "paper back: the reprint is the last sale" grep -qF "$(rf rrn "$r")" "$T/re.txt"
term_stop

# ---- the journal's disk full ---------------------------------------------
# A file-size limit on the running gl-term (prlimit) makes journal writes
# fail as on a full disk: the terminal refuses sales with a clear message,
# and what it could not journal is reversed once the journal takes writes
# again.  No value is lost or created.
V=$(issue BOOK --face 50000)
term_start
lim=$(( $(stat -c %s "$T/term.db") > $(stat -c %s "$T/term.db-wal" 2>/dev/null || echo 0) ?
        $(stat -c %s "$T/term.db") : $(stat -c %s "$T/term.db-wal") ))
prlimit --pid "$TPID" --fsize=$((lim + 40000)):unlimited || bad "prlimit"
full=
for _ in $(seq 1 40); do
  ctl scan "scan $V" >/dev/null
  r=$(tc "redeem 100 scan")
  if grep -q 'Terminal storage full' <<<"$r"; then full=$r; break; fi
done
check "disk full: the cashier is told the sale is cancelled" test -n "$full"
r=$(tc "redeem 100 key:$V")
check "disk full: the next sale is refused too" grep -q 'Terminal storage full' <<<"$r"
prlimit --pid "$TPID" --fsize=unlimited:unlimited || bad "prlimit raise"
ctl scan "scan $V" >/dev/null
r=$(tc "redeem 100 scan")
eq "disk freed: sales again" 00 "$(rf rc "$r")"
eq "disk freed: nothing owed" 0 "$(owed)"
used=$(sqlite3 "$T/term.db" "SELECT coalesce(sum(approved),0) FROM counted WHERE pan='$V'")
eq "disk full: journal and host agree" "$((50000 - used))" "$(balance "$V")"
check "disk full: logged" grep -q 'journal cannot be written' "$T/term.log"
term_stop

# ---- Korean ----------------------------------------------------------------
TERM_LANG=ko term_config
term_start
ctl scan "scan $UNKNOWN" >/dev/null
r=$(tc "redeem 1000 scan")
eq "ko: 14" 14 "$(rf rc "$r")"
check "ko: the message in Korean" grep -q '번호 또는 비밀번호가 올바르지 않습니다' <<<"$r"
term_stop

check "host stops cleanly" hostd_stop
check "glctl ledger check" G ledger check >/dev/null
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
