# tests/system/term_lib.bash - shared set-up of the gl-term system tests and
# of `make demo` (sourced; not a test itself).  Everything real: glctl
# provisions the host's SQLite database, gl-hostd serves on loopback with
# TLS, gl-emu plays each device on a pty, gl-term runs its scripted mode.
#
# term_setup          PKI, keys, host registry (merchant, terminal, products,
#                     a member with a membership card), $T/hostd.ini
# hostd_start/_stop/_kill, hostd_pause/_resume   the host (port in $PORT)
# emu_start DEV TAG   a device emulator; its path in EMU_PATH[TAG]
# ctl TAG LINE        a control line to an emulator, its reply on stdout
# term_config [k=v...] writes $T/term.ini (extra lines appended as given)
# term_start / term_stop / term_kill   gl-term (stdin: the FIFO $T/term.in)
# tc LINE [MORE...]   sends a command (and following lines, e.g. a PIN),
#                     prints its result line
# rf NAME LINE        the value of NAME=... in a result line
# issue PRODUCT [glctl options]   a voucher's number
# balance NUMBER      its balance at the host
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
top=$(pwd)
: "${GL_BUILD:=$top/build}"
B=$GL_BUILD/bin
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { # description command...
  local d=$1; shift
  if "$@"; then ok; else bad "$d"; fi
}
eq() { # description expected actual
  if [ "$2" = "$3" ]; then ok; else bad "$1: expected '$2', got '$3'"; fi
}

: "${T:=$(mktemp -d)}"
mkdir -p "$T"
HPID=
TPID=
declare -A EMU_PATH EMU_PID
term_cleanup() {
  exec 7>&- 2>/dev/null
  [ -n "$TPID" ] && kill -9 "$TPID" 2>/dev/null
  [ -n "$HPID" ] && { kill -CONT "$HPID" 2>/dev/null; kill -9 "$HPID" 2>/dev/null; }
  local p
  for p in "${EMU_PID[@]}"; do kill -TERM "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ -n "${KEEP_T:-}" ] || rm -rf "$T"
}
trap term_cleanup EXIT
export GL_DB=$T/gl.db
KEYID=1234567890123456
TID=GLT00001
MID=GLM000000000001
CARD=6274100000000014
PHONE=01012345678
G() { "$B/glctl" "$@"; }

term_setup() {
  G pki ca --dir "$T" --cn "giftlink test CA" >/dev/null || return 1
  G pki host --dir "$T" --cn host.giftlink.test >/dev/null || return 1
  G pki terminal --dir "$T" --id "$TID" >/dev/null || return 1
  G pki bdk --out "$T/bdk.hex" --aes128 >/dev/null || return 1
  G pki ikey --bdk-file "$T/bdk.hex" --key-id "$KEYID" --out "$T/term.ikey" \
    --aes128 >/dev/null || return 1
  head -c 32 /dev/urandom > "$T/pin.key"
  chmod 600 "$T/pin.key"
  head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F > "$T/imk.hex"
  G merchant add --id "$MID" --name "Seoul Books Gangnam" --group books >/dev/null || return 1
  G store add --merchant "$MID" --code S001 --name "Gangnam branch" >/dev/null || return 1
  G terminal add --id "$TID" --merchant "$MID" --store S001 --cn "$TID" \
    --key-id "$KEYID" >/dev/null || return 1
  G product add --id BOOK --issuer "Culture Land" --brand "Book Voucher" \
    --type books --prefix 9410 --face 10000,30000,50000 --validity-days 365 \
    --partial --group books >/dev/null || return 1
  G product add --id GIFT --issuer "Culture Land" --brand "Gift Voucher" \
    --type culture --prefix 9420 --face 10000,20000 --validity-days 365 \
    --group books >/dev/null || return 1
  G member add --phone "$PHONE" --card "$CARD" --card-kind membership >/dev/null || return 1
  cat > "$T/hostd.ini" <<EOF2
[listen]
address = 127.0.0.1
port = 0
[tls]
ca = $T/ca.crt
cert = $T/host.crt
key = $T/host.key
[db]
path = $GL_DB
[keys]
bdk_file = $T/bdk.hex
bdk_type = aes128
pin_key_file = $T/pin.key
imk_file = $T/imk.hex
[log]
level = info
syslog = no
EOF2
}

issue() { # PRODUCT [glctl options] -> the number
  G voucher issue --product "$@" --count 1 --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["number"])'
}
balance() { # NUMBER -> balance at the host
  G voucher show "$1" --json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["balance"])'
}

hostd_start() {
  local since
  touch "$T/hostd.log"
  since=$(wc -l < "$T/hostd.log")
  "$B/gl-hostd" --config "$T/hostd.ini" 2>>"$T/hostd.log" &
  HPID=$!
  PORT=
  for _ in $(seq 1 100); do
    PORT=$(tail -n +"$((since + 1))" "$T/hostd.log" |
           sed -n 's/.*listening on [^:]*:\([0-9]*\) .*/\1/p' | tail -n 1)
    [ -n "$PORT" ] && break
    kill -0 "$HPID" 2>/dev/null || break
    sleep 0.1
  done
  # a restarted host keeps its port, as the terminal's configuration does
  [ -n "$PORT" ] && sed -i "s/^port = 0\$/port = $PORT/" "$T/hostd.ini"
  [ -n "$PORT" ]
}
hostd_stop() {
  [ -n "$HPID" ] || return 0
  kill -CONT "$HPID" 2>/dev/null
  kill -TERM "$HPID" 2>/dev/null
  wait "$HPID"; local rc=$?
  HPID=
  return $rc
}
hostd_kill() {
  [ -n "$HPID" ] || return 0
  kill -9 "$HPID" 2>/dev/null; wait "$HPID" 2>/dev/null
  HPID=
}
hostd_pause() { kill -STOP "$HPID"; }
hostd_resume() { kill -CONT "$HPID"; }

emu_start() { # DEV TAG
  local dev=$1 tag=$2 line=
  "$B/gl-emu" "$dev" --link "$T/$tag.link" --control "$T/$tag.sock" \
    </dev/null >"$T/$tag.out" 2>"$T/$tag.err" &
  EMU_PID[$tag]=$!
  for _ in $(seq 1 100); do
    if [ -s "$T/$tag.out" ] && [ -S "$T/$tag.sock" ]; then
      line=$(head -n 1 "$T/$tag.out")
      break
    fi
    sleep 0.1
  done
  [ -n "$line" ] || return 1
  # "<dev> ready <path> ..."; the pn532 prints its libnfc connection string
  EMU_PATH[$tag]=$(echo "$line" | cut -d' ' -f3)
}
ctl() { # TAG LINE -> reply
  printf '%s\n' "$2" | timeout 20 socat -t 15 - UNIX-CONNECT:"$T/$1.sock" 2>/dev/null |
    head -n 1
}

term_config() { # extra "[section]" or "key = value" lines are appended
  cat > "$T/term.ini" <<EOF2
[terminal]
id = $TID
merchant = $MID
cashier = C001
language = ${TERM_LANG:-en}
receipt_header = Seoul Books Gangnam\nTel 02-555-0100
pin_prefixes = 9420
card_pin = yes
offline = ${TERM_OFFLINE:-no}
floor_limit = ${TERM_FLOOR:-0}
[host]
address = 127.0.0.1
port = $PORT
server_cn = host.giftlink.test
connect_timeout = 5
response_timeout = ${TERM_RESPONSE_TIMEOUT:-5}
repeat_first = ${TERM_REPEAT_FIRST:-2}
repeat_max = 10
reconnect_max = 2
[tls]
ca = $T/ca.crt
cert = $T/term-$TID.crt
key = $T/term-$TID.key
[keys]
ikey_file = $T/term.ikey
[journal]
path = $T/term.db
export_dir = $T
[devices]
scanner = ${EMU_PATH[scan]:-}
magstripe = ${EMU_PATH[msr]:-}
membership_prefixes = 627410
brand_prefixes = 627420
nfc = ${EMU_PATH[nfc]:-}
irda = ${EMU_PATH[irda]:-}
printer = ${EMU_PATH[prn]:-}
pinpad = stdin
present_timeout = ${TERM_PRESENT_TIMEOUT:-10}
pin_timeout = 10
[log]
level = ${TERM_LOG_LEVEL:-info}
EOF2
  local l
  for l in "$@"; do echo "$l" >> "$T/term.ini"; done
}

term_start() {
  rm -f "$T/term.in"
  mkfifo "$T/term.in"
  # The emulated serial devices are ptys: the pty interposer is preloaded
  # into the unchanged binary (hal/pty_ioctl.c); ASan must then accept not
  # being first in the library list.
  LD_PRELOAD=$GL_BUILD/lib/libgl-ptyioctl.so \
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
    "$B/gl-term" --config "$T/term.ini" --script <"$T/term.in" \
    >>"$T/term.out" 2>>"$T/term.log" &
  TPID=$!
  exec 7>"$T/term.in"
  for _ in $(seq 1 300); do
    [ "$(grep -c '^ready' "$T/term.out" 2>/dev/null)" -gt "${TERM_STARTS:-0}" ] && break
    kill -0 "$TPID" 2>/dev/null || return 1
    sleep 0.1
  done
  TERM_STARTS=$(grep -c '^ready' "$T/term.out")
}
term_stop() {
  [ -n "$TPID" ] || return 0
  echo quit >&7
  exec 7>&-
  wait "$TPID"; local rc=$?
  TPID=
  return $rc
}
term_kill() {
  [ -n "$TPID" ] || return 0
  exec 7>&- 2>/dev/null
  kill -9 "$TPID" 2>/dev/null; wait "$TPID" 2>/dev/null
  TPID=
} 2>/dev/null
# tc LINE [MORE...]: the result line of the command (empty after 60 s or
# when gl-term ended)
tc() {
  local before n l
  before=$(grep -c '^result\|^error' "$T/term.out" 2>/dev/null)
  for l in "$@"; do printf '%s\n' "$l" >&7; done
  for _ in $(seq 1 600); do
    n=$(grep -c '^result\|^error' "$T/term.out" 2>/dev/null)
    if [ "$n" -gt "$before" ]; then
      grep '^result\|^error' "$T/term.out" | sed -n "$((before + 1))p"
      return 0
    fi
    kill -0 "$TPID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
rf() { # NAME LINE -> value
  echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1
}
