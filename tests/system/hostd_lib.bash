# tests/system/hostd_lib.bash - shared set-up of the gl-hostd system tests
# (sourced by tests/system/hostd_*.sh; not a test itself).
#
# hostd_setup    a deployment in $T: CA, host certificate, AES-128 BDK,
#                a terminal initial key (key id $KEYID), PIN key, phone IMK,
#                database with merchant M1 (group g1), merchant M2 (group
#                g2), products PART (partial use, 50000/10000) and WHOLE (no
#                partial use, 5000) accepted in g1, OTHER accepted in g2,
#                and terminal GLT00001 of M1; a config file $T/hostd.ini.
#                ([listen] loops = $LOOPS when set, else the host's default).
# hostd_term TID [MERCHANT]   certificate + registry entry of a terminal
# hostd_start / hostd_stop / hostd_kill   the server (port in $PORT)
# log_port LOG [PID]   waits up to 10 s for a server's "listening on" line
#                in LOG and prints its port; fails (sooner if PID ends) when
#                none came
# send TID [gl-load options] < messages   gl-load send
# field NAME < answer   the value of "NAME=" in the first answer
# issue PRODUCT [glctl options]   issues one voucher, prints its number
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
finish() {
  # The host's own keys never reach its log.
  local k
  for k in "$T/bdk.hex" "$T/imk.hex"; do
    if [ -s "$k" ] && [ -f "$T/hostd.log" ]; then
      if grep -qiF "$(tr -d ' \n' < "$k")" "$T/hostd.log"; then
        bad "the key of $(basename "$k") appears in the host's log"
      else
        ok
      fi
    fi
  done
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}

T=$(mktemp -d)
HPID=
cleanup() {
  if [ -n "$HPID" ]; then kill -9 "$HPID" 2>/dev/null; wait "$HPID" 2>/dev/null; fi
  rm -rf "$T"
}
trap cleanup EXIT
export GL_DB=$T/gl.db
KEYID=0102030405060708
G() { "$B/glctl" "$@"; }

hostd_term() { # TID [MERCHANT]
  G pki terminal --dir "$T" --id "$1" >/dev/null &&
  G terminal add --id "$1" --merchant "${2:-M1}" --cn "$1" --key-id "$KEYID" >/dev/null
}

hostd_setup() {
  G pki ca --dir "$T" >/dev/null || return 1
  G pki host --dir "$T" --cn gl-hostd.test >/dev/null || return 1
  G pki bdk --out "$T/bdk.hex" --aes128 >/dev/null || return 1
  G pki ikey --bdk-file "$T/bdk.hex" --key-id "$KEYID" --out "$T/ikey" \
    --aes128 >/dev/null || return 1
  head -c 32 /dev/urandom > "$T/pin.key"
  head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F > "$T/imk.hex"
  G merchant add --id M1 --name "Store One" --group g1 >/dev/null || return 1
  G merchant add --id M2 --name "Store Two" --group g2 >/dev/null || return 1
  G product add --id PART --issuer I --brand B --type department \
    --prefix 627401 --face 50000,10000 --validity-days 365 --partial \
    --group g1 >/dev/null || return 1
  G product add --id WHOLE --issuer I --brand B --type books \
    --prefix 627402 --face 5000 --validity-days 365 --group g1 >/dev/null || return 1
  G product add --id OTHER --issuer I --brand B --type culture \
    --prefix 627403 --face 5000 --validity-days 365 --group g2 >/dev/null || return 1
  hostd_term GLT00001 || return 1
  cat > "$T/hostd.ini" <<EOF
[listen]
address = 127.0.0.1
port = 0
${LOOPS:+loops = $LOOPS}
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
[policy]
void_window = ${VOID_WINDOW:-86400}
hold_timeout = ${HOLD_TIMEOUT:-7200}
frame_timeout = ${FRAME_TIMEOUT:-30}
[limits]
term_declines = ${TERM_DECLINES:-10}
voucher_declines = ${VOUCHER_DECLINES:-5}
[log]
level = ${LOG_LEVEL:-info}
syslog = no
EOF
}

log_port() { # LOG [PID]
  local p=
  for _ in $(seq 1 100); do
    p=$(sed -n 's/.*listening on [^:]*:\([0-9]*\) .*/\1/p' "$1" | tail -n 1)
    [ -n "$p" ] && break
    [ -z "${2:-}" ] || kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$p" ] && echo "$p"
}

hostd_start() {
  : > "$T/hostd.log"
  "$B/gl-hostd" --config "$T/hostd.ini" 2>>"$T/hostd.log" &
  HPID=$!
  PORT=$(log_port "$T/hostd.log" "$HPID")
}

hostd_stop() {
  [ -n "$HPID" ] || return 0
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

COMMON() { echo --port "$PORT" --ca "$T/ca.crt" --cert-dir "$T" --server-cn gl-hostd.test --ikey "$T/ikey"; }
send() { # TID [options]
  local tid=$1; shift
  # shellcheck disable=SC2046
  "$B/gl-load" send --tid "$tid" $(COMMON) "$@"
}
field() { # NAME: first value of NAME= in stdin
  sed -n "s/^$1=//p" | head -n 1
}
issue() { # PRODUCT [options]
  G voucher issue --product "$@" --count 1 --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["number"])'
}
balance() { # NUMBER -> balance
  G voucher show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["balance"])'
}
signon() { # TID [MERCHANT] -> a sign-on message
  cat <<EOF
mti=0800
41=$1
42=$(printf '%-15s' "${2:-M1}")
48=CA004C001
70=001

EOF
}
