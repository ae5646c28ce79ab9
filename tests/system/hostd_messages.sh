#!/usr/bin/env bash
# tests/system/hostd_messages.sh - every message type of the host link and
# the response codes of gl-hostd, driven over TLS with real DUKPT MACs by
# gl-load send, checked against the ledger (glctl).
source "$(dirname "$0")/hostd_lib.bash"

TERM_DECLINES=8 hostd_setup || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
hostd_term GLT00002 M2
hostd_term GLT00009
hostd_start || { cat "$T/hostd.log"; echo "0 passed, 1 failed"; exit 1; }
D7=1125100000
TID=GLT00001

m() { # MTI PROC PAN AMOUNT STAN [field=value...]
  local mti=$1 proc=$2 pan=$3 amt=$4 stan=$5; shift 5
  echo  # leading: $(m ...) keeps it, so messages stay separated
  echo "mti=$mti"
  [ -n "$pan" ] && echo "2=$pan"
  [ -n "$proc" ] && echo "3=$proc"
  [ -n "$amt" ] && printf '4=%012d\n' "$amt"
  echo "7=${DE7:-$D7}"
  echo "11=$stan"
  echo "12=100000"; echo "13=1125"
  echo "22=${DE22:-031}"; echo "25=00"
  echo "41=$TID"; echo "42=${MER:-M1}"
  echo "48=${DE48:-CA004C001}"
  echo "49=${CUR:-410}"
  for kv in "$@"; do echo "$kv"; done
}
de90() { printf '%s%s%s0000000000000000000000' "$1" "$2" "${3:-$D7}"; }
run() { # TID (messages on stdin, sign-on added) -> $T/out
  local tid=$1; shift
  { signon "$tid" "${MER:-M1}"; cat; } | send "$tid" "$@" > "$T/out"
}
ans() { # N FIELD: field of the Nth answer in $T/out (1 = the sign-on's)
  awk -v n="$1" 'BEGIN{RS=""} NR==n' "$T/out" | field "$2"
}
rcs() { # the DE 39 of every answer after the sign-on, space-separated
  awk 'BEGIN{RS=""} NR>1' "$T/out" | sed -n 's/^39=//p' | tr '\n' ' ' | sed 's/ $//'
}

V1=$(issue PART --face 50000)
V2=$(issue WHOLE)
VO=$(issue OTHER)
VF=$(issue PART --face 10000)
VP=$(issue PART --face 10000 --pin-file <(echo 4321) --pin-key "$T/pin.key")
G voucher freeze "$VF" >/dev/null

# --- network management, sign-on rules --------------------------------
{ m 0100 316000 "$V1" "" 000001; } | send $TID > "$T/out"
eq "request before sign-on: 91" 91 "$(ans 1 39)"
eq "before sign-on: RS" "KS024${KEYID}00000001RS013SIGN ON FIRST" "$(ans 1 48)"
{ signon $TID; printf 'mti=0800\n41=%s\n48=CA004C001\n70=301\n\nmti=0800\n41=%s\n48=CA004C001\n70=002\n\n' $TID $TID
  m 0100 316000 "$V1" "" 000002; } | send $TID --auto > "$T/out"
eq "sign-on, echo, sign-off, then 91" "00 00 00 91" \
   "$(awk 'BEGIN{RS=""} {print}' "$T/out" | sed -n 's/^39=//p' | tr '\n' ' ' | sed 's/ $//')"
eq "0810 echoes DE 70" 001 "$(ans 1 70)"
check "every answer's MAC verifies" bash -c "! grep -q 'mac=BAD' '$T/out'"
signon GLT00002 M1 | send GLT00002 --auto > "$T/out"
eq "sign-on with another merchant's DE 42: 58" 58 "$(ans 1 39)"
G terminal disable --id GLT00009 >/dev/null
signon GLT00009 | send GLT00009 --auto > "$T/out"
eq "disabled terminal: 58" 58 "$(ans 1 39)"
G terminal enable --id GLT00009 >/dev/null 2>&1 || sqlite3 "$GL_DB" "UPDATE terminal SET status=0 WHERE id='GLT00009'"

# --- balance, redemption, partial approval, declines ------------------
run $TID <<EOF
$(m 0100 316000 "$V1" "" 000010)
$(m 0200 006000 "$V1" 15000 000011 37=000000000011)
$(m 0200 006000 "$V1" 40000 000012 37=000000000012)
$(m 0200 006000 "$V2" 6000 000013 37=000000000013)
$(m 0200 006000 6274019999999999 1000 000014 37=000000000014)
$(m 0200 006000 "$VO" 1000 000015 37=000000000015)
$(m 0200 006000 "$VF" 1000 000016 37=000000000016)
$(CUR=840 m 0200 006000 "$V2" 1000 000017 37=000000000017)
$(m 0200 123456 "$V2" 1000 000018 37=000000000018)
$(DE22=991 m 0200 006000 "$V2" 1000 000019 37=000000000019)
$(m 0200 006000 "$V2" 0 000020 37=000000000020)
$(MER=M2 m 0200 006000 "$V2" 1000 000021 37=000000000021)
EOF
eq "balance, redeem, partial, 51, 14, 58, 62, 13, 12, 30, 13, 58" \
   "00 00 10 51 14 58 62 13 12 30 13 58" "$(rcs)"
eq "balance inquiry DE 54" 6002410C000000050000 "$(ans 2 54)"
check "balance answer has a host RRN (DE 37)" test -n "$(ans 2 37)"
eq "redeem DE 54" 6002410C000000035000 "$(ans 3 54)"
check "redeem approval code" test -n "$(ans 3 38)"
eq "partial: DE 4 = approved" 000000035000 "$(ans 4 4)"
eq "partial: DE 54 available 0" 6002410C000000000000 "$(ans 4 54)"
eq "51 carries DE 54" 6002410C000000005000 "$(ans 5 54)"
eq "14 RS" "INVALID NUMBER OR PIN" "$(ans 6 48 | sed 's/^.*RS[0-9][0-9][0-9]//')"
eq "V1 balance after redeem + partial" 0 "$(balance "$V1")"
eq "V2 untouched" 5000 "$(balance "$V2")"

# --- duplicates -------------------------------------------------------
V3=$(issue PART --face 50000)
run $TID <<EOF
$(m 0200 006000 "$V3" 1000 000030 37=000000000030 repeat=5)
$(m 0200 006000 "$V3" 2000 000030 37=000000000030)
EOF
eq "five transmissions, five answers 00, then 94" "00 00 00 00 00 94" "$(rcs)"
a2=$(awk 'BEGIN{RS=""} NR==2' "$T/out" | grep -v -e '^48=' -e '^64=' -e '^128=' -e '^mac=')
a6=$(awk 'BEGIN{RS=""} NR==6' "$T/out" | grep -v -e '^48=' -e '^64=' -e '^128=' -e '^mac=')
eq "repeats get the identical answer" "$a2" "$a6"
eq "one debit for five transmissions" 49000 "$(balance "$V3")"
n=$(G voucher history "$V3" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
eq "history: issue + one redemption" 2 "$n"

# --- PIN: format 4 under the DUKPT PIN key, lockout --------------------
run $TID <<EOF
$(m 0200 006000 "$VP" 1000 000040 37=000000000040 pin=4321)
$(m 0200 006000 "$VP" 1000 000041 37=000000000041)
$(m 0200 006000 "$VP" 1000 000042 37=000000000042 pin=1111)
$(m 0200 006000 "$VP" 1000 000043 37=000000000043 pin=1112)
$(m 0200 006000 "$VP" 1000 000044 37=000000000044 pin=1113)
$(m 0200 006000 "$VP" 1000 000045 37=000000000045 pin=4321)
EOF
eq "right PIN 00; none, 3 wrong, then locked: all 14" "00 14 14 14 14 14" "$(rcs)"
eq "wrong PIN and locked give the same RS" "$(ans 4 48 | sed 's/KS.\{27\}//')" "$(ans 7 48 | sed 's/KS.\{27\}//')"
eq "PIN voucher debited once" 9000 "$(balance "$VP")"

# --- refund, void, reversal, reversal before original ------------------
V4=$(issue PART --face 50000)
run $TID <<EOF
$(m 0200 006000 "$V4" 10000 000050 37=000000000050)
$(m 0200 200060 "$V4" 4000 000051 37=000000000051 90=$(de90 0200 000050))
$(m 0200 200060 "$V4" 7000 000052 37=000000000052 90=$(de90 0200 000050))
$(m 0200 200060 "$V4" 9000 000053 37=000000000053)
$(m 0200 006000 "$V4" 5000 000054 37=000000000054)
$(m 0200 026000 "$V4" 4000 000055 37=000000000055 90=$(de90 0200 000054))
$(m 0200 026000 "$V4" 5000 000056 37=000000000056 90=$(de90 0200 000054))
$(m 0200 026000 "$V4" 5000 000057 37=000000000057 90=$(de90 0200 000054))
$(m 0200 026000 "$V4" 5000 000058 37=000000000058 90=$(de90 0200 999999))
$(m 0200 006000 "$V4" 3000 000059 37=000000000059)
$(m 0400 006000 "$V4" 3000 000060 90=$(de90 0200 000059))
$(m 0401 006000 "$V4" 3000 000060 90=$(de90 0200 000059))
$(m 0420 006000 "$V4" 2000 000061 90=$(de90 0200 000062))
$(m 0200 006000 "$V4" 2000 000062 37=000000000062)
$(m 0400 006000 "$V4" 3000 000063 90=$(de90 0200 000059))
$(m 0400 006000 "$V4" 9999 000064 90=$(de90 0200 000050))
EOF
eq "refund 00, over 13, no-DE90 over 13, redeem, void 13/00/12/25, redeem, 0400, 0401, 0420 unseen, late original 12, reversal again 00, wrong amount 12" \
   "00 00 13 13 00 13 00 12 25 00 00 00 00 12 00 12" "$(rcs)"
eq "late original RS" "REVERSED BEFORE ARRIVAL" "$(ans 15 48 | sed 's/^.*RS[0-9][0-9][0-9]//')"
eq "0410 echoes DE 90" "$(de90 0200 000059)" "$(ans 12 90)"
eq "0401 answered as 0410" 0410 "$(ans 13 mti)"
eq "V4: -10000 +4000, void and reversal restored" 44000 "$(balance "$V4")"

# --- holds: 0100 006000, completion 0220, reversal, over-completion -----
V5=$(issue PART --face 50000)
run $TID --clear <<EOF
$(m 0100 006000 "$V5" 20000 000070 37=000000000070)
$(m 0220 006000 "$V5" 15000 000071 37=000000000071 38=000001 39=00 90=$(de90 0100 000070))
$(m 0100 006000 "$V5" 10000 000072 37=000000000072)
$(m 0400 006000 "$V5" 10000 000073 90=$(de90 0100 000072))
$(m 0220 006000 "$V5" 10000 000074 37=000000000074 38=000001 39=00 90=$(de90 0100 000072))
$(m 0100 006000 "$V5" 5000 000075 37=000000000075)
$(m 0221 006000 "$V5" 9000 000076 37=000000000076 38=000001 39=00 90=$(de90 0100 000075))
$(m 0100 006000 "$V5" 90000 000077 37=000000000077)
EOF
eq "hold, completion, hold, reversal, completion of reversed 25, hold, 0221 over 10, big hold 51" \
   "00 00 00 00 25 00 10 51" "$(rcs)"
eq "hold DE 54: ledger and available" 6001410C0000000500006002410C000000030000 "$(ans 2 54)"
eq "over-completion posts the held amount" 000000005000 "$(ans 8 4)"
eq "V5: 15000 + 5000 taken" 30000 "$(balance "$V5")"
eq "0230 answers 0221" 0230 "$(ans 8 mti)"

# --- offline advice with overdraft ------------------------------------
V6=$(issue WHOLE)
run $TID <<EOF
$(m 0220 006000 "$V6" 7000 000080 37=000000000080 38=OFF080 39=00 48=CA004C001OF001Y)
$(m 0220 006000 6274029999999999 7000 000081 37=000000000081 38=OFF081 39=00 48=CA004C001OF001Y)
EOF
eq "offline advice over the balance 00, unknown number 14" "00 14" "$(rcs)"
eq "overdraft: DE 54 sign D" 6002410D000000002000 "$(ans 2 54)"
check "overdraft flagged in the ledger" bash -c "G() { '$B/glctl' \"\$@\"; }; G ledger overdrafts | grep -q ."

# --- reload, cash-out ---------------------------------------------------
V7=$(issue PART --face 10000)
run $TID <<EOF
$(m 0200 210060 "$V7" 5000 000090 37=000000000090)
$(m 0200 210060 "$V7" 1999000 000091 37=000000000091)
$(m 0200 616000 "$V7" 15000 000092 37=000000000092)
$(m 0200 006000 "$V7" 13000 000093 37=000000000093)
$(m 0200 616000 "$V7" 1000 000094 37=000000000094)
$(m 0200 616000 "$V7" 2000 000095 37=000000000095)
EOF
eq "reload 00, over max 61, cash-out too early 57, redeem, wrong amount 13, cash-out 00" \
   "00 61 57 00 13 00" "$(rcs)"
eq "V7 empty after cash-out" 0 "$(balance "$V7")"

# --- membership card: several vouchers, VD ------------------------------
G member add --phone +821011112222 --card 9410555566667777 --card-kind membership >/dev/null
M1V=$(issue PART --face 10000 --member +821011112222)
M2V=$(issue PART --face 10000 --member +821011112222)
run $TID <<EOF
$(DE22=021 m 0100 316000 9410555566667777 "" 000100)
$(DE22=021 m 0200 006000 9410555566667777 15000 000101 37=000000000101)
$(DE22=021 m 0200 006000 9410555566667777 9000 000102 37=000000000102)
$(DE22=021 m 0400 006000 9410555566667777 9000 000103 90=$(de90 0200 000102))
EOF
eq "member balance, redeem 15000 over two vouchers, partial, reversal" "00 00 10 00" "$(rcs)"
eq "member balance: sum" 6002410C000000020000 "$(ans 2 54)"
eq "VD lists both vouchers" "VD044${M1V:0:6}******${M1V:12:4}:10000,${M2V:0:6}******${M2V:12:4}:5000" \
   "$(ans 3 48 | sed 's/^KS024.\{24\}//')"
eq "second voucher restored by the reversal" 5000 "$(balance "$M2V")"

# --- phone wallet: cryptogram and ATC ------------------------------------
V8=$(issue PART --face 10000)
crypt() { # NUMBER AMOUNT TID CHALLENGE ATC -> cryptogram hex
  python3 - "$T/imk.hex" "$@" <<'PY'
import sys
from cryptography.hazmat.primitives.cmac import CMAC
from cryptography.hazmat.primitives.ciphers import algorithms
imk = bytes.fromhex(open(sys.argv[1]).read().strip())
num, amt, tid, ch, atc = sys.argv[2:7]
def cmac(k, d):
    c = CMAC(algorithms.AES(k)); c.update(d); return c.finalize()
kv = cmac(imk, b"\x01GLWALLET\x00" + bytes.fromhex(num) + b"\x00\x80")
mac = cmac(kv, bytes.fromhex("%012d" % int(amt)) + tid.encode() + bytes.fromhex(ch) + int(atc).to_bytes(4, "big"))
print(mac[:8].hex().upper())
PY
}
C1=$(crypt "$V8" 1000 $TID C1C2C3C4C5C6C7C8 7)
C2=$(crypt "$V8" 1000 $TID C1C2C3C4C5C6C7C9 8)
run $TID <<EOF
$(DE22=811 DE48="CA004C001PC016${C1}CH016C1C2C3C4C5C6C7C8AT00500007" m 0200 006000 "$V8" 1000 000110 37=000000000110)
$(DE22=811 DE48="CA004C001PC016${C1}CH016C1C2C3C4C5C6C7C8AT00500007" m 0200 006000 "$V8" 1000 000111 37=000000000111)
$(DE22=811 DE48="CA004C001PC016${C2}CH016C1C2C3C4C5C6C7C9AT00500008" m 0200 006000 "$V8" 1000 000112 37=000000000112)
$(DE22=811 DE48="CA004C001PC016${C2}CH016C1C2C3C4C5C6C7C9AT00500009" m 0200 006000 "$V8" 1000 000113 37=000000000113)
EOF
eq "phone: cryptogram 00, replayed ATC 14, next ATC 00, wrong cryptogram 14" "00 14 00 14" "$(rcs)"
eq "phone: two redemptions" 8000 "$(balance "$V8")"

# --- reconciliation and batch upload --------------------------------------
hostd_term GLT00003
TID=GLT00003
V9=$(issue PART --face 50000)
run $TID <<EOF
$(m 0200 006000 "$V9" 1000 000200 37=000000000200)
$(m 0200 006000 "$V9" 2000 000201 37=000000000201)
$(m 0200 200060 "$V9" 500 000202 37=000000000202)
$(m 0200 026000 "$V9" 2000 000203 37=000000000203 90=$(de90 0200 000201))
EOF
recon() { # STAN cr crRev dr drRev crAmt crRevAmt drAmt drRevAmt NET
  echo
  printf 'mti=0500\n7=%s\n11=%s\n15=1125\n41=%s\n42=M1\n48=CA004C001BN006000001\n49=410\n' "$D7" "$1" "$TID"
  printf '74=%010d\n75=%010d\n76=%010d\n77=%010d\n' "$2" "$3" "$4" "$5"
  printf '86=%016d\n87=%016d\n88=%016d\n89=%016d\n97=%s\n' "$6" "$7" "$8" "$9" "${10}"
}
up() { # STAN ORIGSTAN AMOUNT PROC [extra]
  local s=$1 o=$2 a=$3 p=$4; shift 4
  m 0320 "$p" "$V9" "$a" "$s" 37=000000$o 38=000001 "90=$(de90 0200 "$o")" "$@" | sed 's/^48=CA004C001$/48=CA004C001BN006000001/'
}
# host: credits 1/500, debits 2/3000 (the voided one counts), debit
# reversals 1/2000.  The terminal also counts an offline 1000 the host
# never received: debits 3/4000, net D1500.
run $TID <<EOF
$(recon 000210 1 0 3 1 500 0 4000 2000 D0000000000001500)
$(up 000211 000200 1000 006000)
$(up 000212 000201 2000 006000)
$(up 000213 000299 1000 006000)
$(up 000214 000202 600 200060)
$(DE48=CA004C001BN006000001OF001Y up 000216 000298 1000 006000)
$(up 000217 000203 2000 026000)
$(up 000218 000202 500 200060)
$(recon 000219 1 0 3 1 500 0 4000 2000 D0000000000001500)
$(recon 000221 1 0 3 1 500 0 4000 2000 D0000000000001500)
EOF
eq "totals differ 95; uploads 00 00, unknown 25, amount 13, offline never received 00, void 00, refund 00; close on uploads 00; closed batch 12" \
   "95 00 00 25 13 00 00 00 00 12" "$(rcs)"
eq "0510 echoes BN" "BN006000001" "$(ans 2 48 | grep -o 'BN006000001')"
eq "the offline upload moved its value" 48500 "$(balance "$V9")"
eq "terminal batch advanced" 2 "$(G terminal show --id GLT00003 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["batch"])')"

# --- activation of a till card ---------------------------------------------
# Till cards are registered without value (glctl voucher issue --unfunded)
# until a counter sale activates them.
VT=$(issue PART --face 10000 --unfunded)
eq "a till card has no value before its sale" 0 "$(balance "$VT")"
TID=GLT00001
run $TID <<EOF
$(m 0200 006000 "$VT" 1000 000300 37=000000000300)
$(m 0200 900060 "$VT" 5000 000301 37=000000000301)
$(m 0200 900060 "$VT" 10000 000302 37=000000000302)
$(m 0200 900060 "$VT" 10000 000303 37=000000000303)
$(m 0200 006000 "$VT" 1000 000304 37=000000000304)
EOF
eq "till card: 78 before sale, wrong amount 13, activation 00, again 12, then usable" \
   "78 13 00 12 00" "$(rcs)"
eq "till card balance" 9000 "$(balance "$VT")"

# --- MAC failures: no answer, closed after three ---------------------------
TID=GLT00001
run $TID --timeout 2 <<EOF
$(m 0100 316000 "$V2" "" 000400 mac=bad)
$(m 0100 316000 "$V2" "" 000401)
$(m 0100 316000 "$V2" "" 000402 mac=bad)
$(m 0100 316000 "$V2" "" 000403 mac=bad)
$(m 0100 316000 "$V2" "" 000404)
EOF
eq "bad MAC: no answer; good one answered; third bad MAC closes" \
   "no answer|00|no answer|closed|closed" \
   "$(awk 'BEGIN{RS=""} NR>1 {if ($0 ~ /^mti=/) {match($0, /39=[0-9]+/); print substr($0, RSTART+3, RLENGTH-3)} else print $0}' "$T/out" | tr '\n' '|' | sed 's/|$//')"
check "MAC failure logged masked" grep -q "MAC failure 1" "$T/hostd.log"
check "log masks voucher numbers" bash -c "! grep -q '$V2' '$T/hostd.log'"

# --- enumeration cool-down: 05 after too many 14s --------------------------
TID=GLT00009
run $TID <<EOF
$(m 0100 316000 6274010000000001 "" 000500)
$(m 0100 316000 6274010000000002 "" 000501)
$(m 0100 316000 6274010000000003 "" 000502)
$(m 0100 316000 6274010000000004 "" 000503)
$(m 0100 316000 6274010000000005 "" 000504)
$(m 0100 316000 6274010000000006 "" 000505)
$(m 0100 316000 6274010000000007 "" 000506)
$(m 0100 316000 6274010000000008 "" 000507)
$(m 0100 316000 6274010000000009 "" 000508)
$(m 0100 316000 "$V2" "" 000509)
EOF
eq "nine 14s, then 05 even for a valid voucher" "14 14 14 14 14 14 14 14 14 05" "$(rcs)"
check "cool-down alarm logged" grep -q "alarm: terminal GLT00009" "$T/hostd.log"

# --- one connection per terminal: a second one replaces the first ------------
# (with several loops the two land on different loops: connections are dealt
# out in turn)
repl=$(python3 - "$T" "$PORT" <<'PY'
import socket, ssl, sys, time
T, port = sys.argv[1], int(sys.argv[2])
def conn():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(T + "/ca.crt")
    ctx.load_cert_chain(T + "/term-GLT00001.crt", T + "/term-GLT00001.key")
    ctx.check_hostname = False
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
a = conn(); time.sleep(0.3)
b = conn(); b.settimeout(1)
a.settimeout(5)
try:
    first = "closed" if a.recv(10) == b"" else "data"
except (OSError, ssl.SSLError):
    first = "closed"
try:
    second = "closed" if b.recv(10) == b"" else "data"
except socket.timeout:
    second = "open"
print(first, second)
PY
)
eq "second connection of GLT00001: first closed, second open" "closed open" "$repl"
check "replacement logged" grep -q "GLT00001: connection closed: replaced by a new connection" "$T/hostd.log"

# --- the ledger stays consistent; SIGTERM stops cleanly ---------------------
out=$(G ledger check); rc=$?
check "glctl ledger check: $out" test "$rc" -eq 0
hostd_stop; rc=$?
eq "SIGTERM: exit 0" 0 "$rc"
check "stop logged" grep -q "stopped: success" "$T/hostd.log"
finish
