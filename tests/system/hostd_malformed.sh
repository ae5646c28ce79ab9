#!/usr/bin/env bash
# tests/system/hostd_malformed.sh - gl-hostd against malformed input:
# oversize and zero length headers, a sender that never finishes a frame,
# a frame cut inside its MAC (answered 30), frames of the codec's fuzz
# corpus (when build/fuzz/corpus exists); the host stays up and answers
# another terminal meanwhile.
source "$(dirname "$0")/hostd_lib.bash"

FRAME_TIMEOUT=2 hostd_setup || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
hostd_term GLT00002
hostd_start || { cat "$T/hostd.log"; echo "0 passed, 1 failed"; exit 1; }
V=$(issue PART --face 10000)

probe() { # one balance inquiry from GLT00002 -> its DE 39
  { signon GLT00002; printf 'mti=0100\n2=%s\n3=316000\n12=100000\n13=1125\n22=031\n25=00\n41=GLT00002\n42=M1\n48=CA004C001\n49=410\n\n' "$V"; } |
    send GLT00002 --auto --timeout 5 | awk 'BEGIN{RS=""} NR==2' | field 39
}
session() { # raw frame hex... -> what the host did with the last one
  { signon GLT00001; for h in "$@"; do printf 'raw=%s\nwait=%s\n\n' "$h" "${WAIT:-5}"; done; } |
    send GLT00001 --auto --timeout 5 > "$T/out"
  awk 'BEGIN{RS=""} END {print}' "$T/out"
}

eq "oversize length header: closed" closed "$(session FFFF0000)"
eq "zero length header: closed" closed "$(session 0000)"
eq "host answers another terminal" 00 "$(probe)"

# A sender that starts a frame and stops: closed after frame_timeout (2 s),
# while another terminal is answered meanwhile.
WAIT=6 session 00400200 > "$T/slow" &
SPID=$!
sleep 0.5
eq "answered while a frame hangs" 00 "$(probe)"
wait "$SPID"
eq "unfinished frame: closed" closed "$(cat "$T/slow")"
check "unfinished frame logged" grep -q "frame left unfinished" "$T/hostd.log"

# A 0200 cut short inside its MAC: the fields before it still give MTI,
# STAN, DE 41 and KS, so the host answers 30.
hex=$(printf 'mti=0200\n2=%s\n3=006000\n4=000000001000\n7=1125100000\n11=000777\n12=100000\n13=1125\n22=031\n25=00\n41=GLT00001\n42=M1             \n48=KS024%s00000001\n49=410\n64=0000000000000000\n' \
      "$V" "$KEYID" | "$B/gl-iso" encode --raw | tr -d ' \n')
cut=${hex:0:$(( ${#hex} - 2 ))}
len=$(printf '%04X' $(( ${#cut} / 2 )))
session "$len$cut" > "$T/cut"
eq "truncated MAC: answered 30" 30 "$(field 39 < "$T/cut")"
eq "the 30 answers 0210 with the STAN" "0210 000777" "$(field mti < "$T/cut") $(field 11 < "$T/cut")"
eq "and DE 48 echoes KS with RS" "KS024${KEYID}00000001RS012FORMAT ERROR" "$(field 48 < "$T/cut")"
# Without a readable KS nothing can be answered: closed.
hex2=$(printf 'mti=0200\n2=%s\n3=006000\n4=000000001000\n7=1125100000\n11=000778\n41=GLT00001\n' "$V" |
       "$B/gl-iso" encode --raw | tr -d ' \n')
cut2=${hex2:0:$(( ${#hex2} - 2 ))}
eq "cut before DE 41: closed" closed "$(session "$(printf '%04X' $(( ${#cut2} / 2 )))$cut2")"
# DE 41 of another terminal: closed.
hex3=$(printf 'mti=0800\n7=1125100000\n11=000779\n41=GLT00002\n48=KS024%s00000001\n70=301\n64=0000000000000000\n' "$KEYID" |
       "$B/gl-iso" encode --raw | tr -d ' \n')
eq "DE 41 not the certificate's CN: closed" closed \
   "$(session "$(printf '%04X' $(( ${#hex3} / 2 )))$hex3")"

# Frames of the fuzz corpus (inputs that reached new code in the unpacker).
corpus=build/fuzz/corpus/fuzz_iso_unpack
if [ -d "$corpus" ]; then
  n=0
  for f in $(ls "$corpus" | head -n 40); do
    sz=$(stat -c %s "$corpus/$f")
    [ "$sz" -gt 0 ] && [ "$sz" -le 8192 ] || continue
    h=$(od -An -tx1 -v "$corpus/$f" | tr -d ' \n')
    printf 'raw=%04X%s\nwait=0.3\n\n' "$sz" "$h"
    n=$((n + 1))
  done > "$T/fuzz.txt"
  { signon GLT00001; cat "$T/fuzz.txt"; } | send GLT00001 --auto --timeout 2 > "$T/out"
  check "fuzz frames: no answer other than 30 (${n} frames)" \
    bash -c "! grep '^39=' '$T/out' | sed 1d | grep -v '^39=30$' | grep -q ."
else
  echo "note: no fuzz corpus in $corpus (run make fuzz): skipped"
fi
check "host still running" kill -0 "$HPID"
eq "host answers after all of it" 00 "$(probe)"
out=$(G ledger check); rc=$?
check "ledger clean: $out" test "$rc" -eq 0
hostd_stop; eq "clean stop" 0 "$?"
finish
