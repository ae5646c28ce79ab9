#!/usr/bin/env bash
# tests/system/gl_emu.sh - the real `gl-emu` program, device by device
# (scanner, magstripe, irda, printer, pn532), as a person or a system test
# uses it: started with --link and --control in a temporary directory, it
# must print the path to give the terminal (the pty link), answer control
# lines on its socket (stats, a device command, an unknown command), and
# end on "quit" and on SIGTERM with exit status 0, its link and socket
# removed and no process left behind.  The PN532 is also driven by the
# stock `nfc-list` of libnfc-bin through LIBNFC_DEVICE: it must open the
# reader and list the card or phone tapped on it, and nothing when the
# field is empty.
set -u
GL_BUILD=${GL_BUILD:-build}
cd "$(dirname "$0")/../.."
EMU=$GL_BUILD/bin/gl-emu
pass=0
fail=0
T=$(mktemp -d /tmp/gl-emu-sys.XXXXXX)
pids=()

cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null
  done
  rm -rf "$T"
}
trap cleanup EXIT

eq() { # name expected actual
  if [ "$2" == "$3" ]; then
    pass=$((pass + 1))
    echo "ok   $1"
  else
    fail=$((fail + 1))
    echo "FAIL $1: expected [$2], got [$3]"
  fi
}

check() { # name command...
  local name=$1
  shift
  if "$@"; then
    pass=$((pass + 1))
    echo "ok   $name"
  else
    fail=$((fail + 1))
    echo "FAIL $name"
  fi
}

ctl() { # socket line -> the reply line
  printf '%s\n' "$2" | timeout 10 socat -t 5 - UNIX-CONNECT:"$1" 2>/dev/null | head -n 1
}

# start DEVICE TAG: the emulator in the background ($pid), its first
# stdout line in $ready (empty when it never came within 10 s).
start() {
  local i
  "$EMU" "$1" --link "$T/$2.link" --control "$T/$2.sock" \
    </dev/null >"$T/$2.out" 2>"$T/$2.err" &
  pid=$!
  pids+=("$pid")
  ready=
  for ((i = 0; i < 100; i++)); do
    if [ -s "$T/$2.out" ] && [ -S "$T/$2.sock" ]; then
      ready=$(head -n 1 "$T/$2.out")
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
}

# gone PID: 0 once the process has ended (within 10 s); its status in $st.
gone() {
  local i
  for ((i = 0; i < 100; i++)); do
    if ! kill -0 "$1" 2>/dev/null; then
      wait "$1"
      st=$?
      return 0
    fi
    sleep 0.1
  done
  st=timeout
  return 1
}

# No process at all (any user's) still mentions this run's directory.
no_leftovers() {
  ! pgrep -f -- "$T/$1" >/dev/null
}

# The checks of one device; how it ends: quit or term.
one_device() { # device tag device-command expected-reply end
  local dev=$1 tag=$2 cmd=$3 want=$4 end=$5 link pty
  link=$T/$tag.link
  start "$dev" "$tag"
  if [ "$dev" = pn532 ]; then
    eq "$tag: prints its libnfc connection string" \
      "pn532 ready pn532_uart:$link:115200" "$ready"
  else
    eq "$tag: prints its serial path" \
      "$dev ready /dev/../../..$link (pty $(readlink "$link"), link $link)" \
      "$ready"
  fi
  pty=$(readlink "$link")
  check "$tag: the link points at a pty ($pty)" \
    test -c "$pty" -a "${pty#/dev/pts/}" != "$pty"
  case "$dev" in
    pn532) eq "$tag: stats" "ok ops=0 card=0 atc=0 tries=0" \
             "$(ctl "$T/$tag.sock" stats)" ;;
    *) eq "$tag: stats" "ok ops=0" \
         "$(ctl "$T/$tag.sock" stats | cut -d' ' -f1-2)" ;;
  esac
  eq "$tag: $cmd" "$want" "$(ctl "$T/$tag.sock" "$cmd")"
  eq "$tag: an unknown command" "err unknown command" \
    "$(ctl "$T/$tag.sock" "no-such-command 1")"
  if [ "$dev" = pn532 ]; then
    nfc_list_checks "$tag"
  fi
  if [ "$end" = quit ]; then
    ctl "$T/$tag.sock" quit >/dev/null
  else
    kill -TERM "$pid"
  fi
  check "$tag: ends on $end" gone "$pid"
  eq "$tag: exit status after $end" 0 "$st"
  check "$tag: link removed" test ! -e "$link" -a ! -L "$link"
  check "$tag: control socket removed" test ! -e "$T/$tag.sock"
  check "$tag: no process left behind" no_leftovers "$tag"
  eq "$tag: nothing on stderr" "" "$(cat "$T/$tag.err")"
}

nfc_list() { # tag -> nfc-list's output
  LIBNFC_DEVICE="pn532_uart:$T/$1.link:115200" LIBNFC_AUTO_SCAN=false \
    LIBNFC_LOG_LEVEL=0 timeout 60 nfc-list 2>&1
}

nfc_list_checks() { # tag
  local tag=$1 out
  out=$(nfc_list "$tag")
  check "$tag: nfc-list opens the reader" \
    grep -q '^NFC device: .* opened' <<<"$out"
  eq "$tag: nfc-list finds no target in an empty field" 0 \
    "$(grep -c 'passive target(s) found' <<<"$out")"
  ctl "$T/$tag.sock" "tap card 04A1B2C3D4E5F6 6390123412341234" >/dev/null
  out=$(nfc_list "$tag")
  check "$tag: nfc-list lists the card" \
    grep -q '^1 ISO14443A passive target(s) found' <<<"$out"
  eq "$tag: the card's UID" "04  a1  b2  c3  d4  e5  f6" \
    "$(sed -n 's/^ *UID (NFCID1): //p' <<<"$out" | sed 's/ *$//')"
  eq "$tag: the card's ATQA and SAK" "03  44|20" \
    "$(sed -n 's/^ *ATQA (SENS_RES): //p; s/^ *SAK (SEL_RES): //p' <<<"$out" |
       sed 's/ *$//' | paste -sd'|')"
  ctl "$T/$tag.sock" "tap phone 08A1B2C3 imk=000102030405060708090A0B0C0D0E0F pin=2468 voucher=6391000012345674,1001,50000" >/dev/null
  out=$(nfc_list "$tag")
  # a UID starting with 08 is a random one: nfc-list calls it NFCID3
  eq "$tag: nfc-list lists the phone" "08  a1  b2  c3|00  04" \
    "$(sed -n 's/^ *UID (NFCID[13]): //p; s/^ *ATQA (SENS_RES): //p' <<<"$out" |
       sed 's/ *$//' | sort -r | paste -sd'|')"
  check "$tag: the reader was driven" \
    test "$(ctl "$T/$tag.sock" stats | sed -n 's/^ok ops=\([0-9]*\).*/\1/p')" -gt 0
  eq "$tag: remove" ok "$(ctl "$T/$tag.sock" remove)"
}

IMK=000102030405060708090A0B0C0D0E0F
for end in quit term; do
  one_device scanner "scanner-$end" "eol crlf" ok "$end"
  one_device magstripe "magstripe-$end" "lrc on" ok "$end"
  one_device irda "irda-$end" \
    "phone imk=$IMK pin=4321 voucher=9410000000000014,300,50000" \
    "ok phone vouchers=1" "$end"
  one_device printer "printer-$end" "paper near" ok "$end"
  one_device pn532 "pn532-$end" "remove" ok "$end"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
