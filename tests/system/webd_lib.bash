# tests/system/webd_lib.bash - shared set-up of the gl-webd system tests
# (tests/system/webd_*.sh), its benchmark (tests/bench/webd_bench.sh) and
# the customers' part of `make demo` (sourced; not a test itself).
#
# Sourced alone it sources hostd_lib.bash first (check, eq, finish, G,
# issue, $T, $B, $GL_DB; see there) and stops everything it started on
# exit (webd_cleanup, then hostd_lib's cleanup).  Sourced after another
# library (term_lib.bash, in the demo) it uses that one's, and the caller
# runs webd_cleanup from its own EXIT trap.
#
# Emulators (control lines over the FIFOs $T/NAME.in and $T/NAME.out):
# webd_emu_start NAME CMD...  starts CMD; sets ${NAME}_IN, ${NAME}_OUT (fds),
#                     ${NAME}_PID and ${NAME}_READY (its first line); fails
#                     when no line came within 10 s
# webd_emu_cmd NAME LINE   a control line; the reply's lines on stdout
#                     without the closing "ok"; status 1 on "error ..."
#                     (on stderr) or no answer
# webd_emu_stop NAME  "quit", then waits for it; its exit status
# webd_emu_wait NAME N [K]  waits up to 8 s until its "count" is K (1) more
#                     than N
# webd_smsc_start [SYSTEM_ID [PASSWORD]]   gl-smsc as SMSC (giftlink,
#                     secret1); sets SMSC_PORT
# webd_mmsc_start     gl-mmsc as MMSC; sets MMSC_URL
# webd_acq_start      gl-acq --plain as ACQ; sets ACQ_PORT
# smsc LINE, mmsc LINE     webd_emu_cmd SMSC / MMSC
# acq LINE            a script line to gl-acq; its one reply line
# sms_count           the number of SMS the SMSC holds
# sms_wait N [K]      webd_emu_wait SMSC N [K]
# sms_last PHONE      the text of the last SMS to PHONE (all in $T/sms.txt)
# sms_code PHONE      the 6-digit sign-in code in that text
# mms_wait N [K]      webd_emu_wait MMSC N [K]
#
# gl-webd and its API:
# webd_ini FILE [MAX_BODY] < more   a gl-webd configuration: [listen] on
#                     127.0.0.1 port 0 (max_body, 2048), [db] $GL_DB, [keys]
#                     $T/otp.key (made when missing), [smsc] when gl-smsc
#                     runs (SMSC_PORT); then stdin, the test's own sections
# webd_start CONFIG [LOG]  gl-webd, its log in LOG ($T/webd.log, emptied);
#                     sets WPID, WEBD_PORT, URL; fails if no port was logged
#                     (needs hostd_lib.bash's log_port: not in the demo)
# webd_stop           SIGTERM and wait; gl-webd's exit status
# webd_cleanup        kills gl-webd and the emulators still running
# req METHOD PATH [curl args...]   sets ST (status), BODY, HDR (headers file)
# post PATH JSON [curl args...]    req POST with a JSON body
# jget EXPR           prints a python expression over j, the JSON of $BODY
# header NAME         a header of the last answer
# is_json_error DESC STATUS ERROR  four checks of the last answer: status,
#                     "error", a "detail", Content-Type application/json
# signin PHONE        code by SMS, then a session: prints the token
# basket TOKEN        the active voucher numbers, sorted, on one line
# rows SQL            sqlite3 on $GL_DB
# ledger_ok           `glctl ledger check` passes
# shellcheck disable=SC2034 # the variables set here are for the sourcing script
if ! declare -F check >/dev/null; then
  # shellcheck source=tests/system/hostd_lib.bash
  . "$(dirname "${BASH_SOURCE[0]}")/hostd_lib.bash"
  trap 'webd_cleanup; cleanup' EXIT
fi

WPID=
WEBD_PORT=
URL=
WEBD_EMUS=()

# ---- emulators ---------------------------------------------------------------
# Each emulator reads its control lines from a FIFO and answers into another
# (bash keeps only one coproc's descriptors reliably).
webd_emu_start() { # NAME command...
  local name=$1 fin fout line=
  shift
  mkfifo "$T/$name.in" "$T/$name.out" || return 1
  "$@" < "$T/$name.in" > "$T/$name.out" &
  printf -v "${name}_PID" %s "$!"
  WEBD_EMUS+=("$name")
  exec {fin}>"$T/$name.in" {fout}<"$T/$name.out"
  printf -v "${name}_IN" %s "$fin"
  printf -v "${name}_OUT" %s "$fout"
  read -r -t 10 line <&"$fout"
  printf -v "${name}_READY" %s "$line"
  [ -n "$line" ]
}
webd_emu_cmd() { # NAME LINE
  local in=${1}_IN out=${1}_OUT l
  echo "$2" >&"${!in}"
  while read -r -t 10 l <&"${!out}"; do
    [ "$l" = ok ] && return 0
    case $l in error*) echo "$l" >&2; return 1 ;; esac
    echo "$l"
  done
  return 1
}
webd_emu_stop() { # NAME
  local pv=${1}_PID in=${1}_IN pid rc
  pid=${!pv:-}
  [ -n "$pid" ] || return 0
  { echo quit >&"${!in}"; } 2>/dev/null
  wait "$pid"; rc=$?
  printf -v "$pv" %s ""
  return $rc
}
webd_smsc_start() { # [SYSTEM_ID [PASSWORD]]
  webd_emu_start SMSC "$B/gl-smsc" --system-id "${1:-giftlink}" \
    --password "${2:-secret1}" || return 1
  SMSC_PORT=${SMSC_READY##* }
}
webd_mmsc_start() {
  webd_emu_start MMSC "$B/gl-mmsc" || return 1
  MMSC_URL=${MMSC_READY##* url }
}
webd_acq_start() {
  webd_emu_start ACQ "$B/gl-acq" --plain || return 1
  ACQ_PORT=${ACQ_READY##* }
}
smsc() { webd_emu_cmd SMSC "$1"; }
mmsc() { webd_emu_cmd MMSC "$1"; }
acq() { # one script line -> its reply
  local l=
  echo "$1" >&"$ACQ_IN"
  read -r -t 10 l <&"$ACQ_OUT"
  echo "$l"
}
sms_count() { smsc count; }
webd_emu_wait() { # NAME COUNT_BEFORE [N]
  local want=$(( $2 + ${3:-1} ))
  for _ in $(seq 1 80); do
    [ "$(webd_emu_cmd "$1" count)" -ge "$want" ] && return 0
    sleep 0.1
  done
  return 1
}
sms_wait() { webd_emu_wait SMSC "$@"; }
mms_wait() { webd_emu_wait MMSC "$@"; }
sms_last() { # PHONE
  smsc "save $T/sms.txt" >/dev/null
  grep "^$1	" "$T/sms.txt" | tail -n 1 | cut -f2-
}
sms_code() { # PHONE
  sms_last "$1" | sed -n 's/.*인증번호 \([0-9]\{6\}\).*/\1/p'
}

# ---- gl-webd -----------------------------------------------------------------
webd_ini() {
  [ -s "$T/otp.key" ] || head -c 32 /dev/urandom > "$T/otp.key"
  {
    printf '[listen]\naddress = 127.0.0.1\nport = 0\nmax_body = %s\n' "${2:-2048}"
    printf '[db]\npath = %s\n[keys]\notp_key_file = %s\n' "$GL_DB" "$T/otp.key"
    if [ -n "${SMSC_PORT:-}" ]; then
      printf '[smsc]\nhost = 127.0.0.1\nport = %s\nsystem_id = giftlink\npassword = secret1\n' "$SMSC_PORT"
    fi
    cat
  } > "$1"
}
webd_start() { # CONFIG [LOG]
  local log=${2:-$T/webd.log}
  : > "$log"
  "$B/gl-webd" --config "$1" 2>>"$log" &
  WPID=$!
  WEBD_PORT=$(log_port "$log" "$WPID")
  URL=http://127.0.0.1:$WEBD_PORT
  [ -n "$WEBD_PORT" ]
}
webd_stop() {
  local rc
  [ -n "$WPID" ] || return 0
  kill -TERM "$WPID"
  wait "$WPID"; rc=$?
  WPID=
  return $rc
}
webd_cleanup() {
  local name pv in
  if [ -n "$WPID" ]; then kill -9 "$WPID" 2>/dev/null; wait "$WPID" 2>/dev/null; fi
  WPID=
  for name in "${WEBD_EMUS[@]}"; do
    pv=${name}_PID in=${name}_IN
    [ -n "${!pv:-}" ] || continue
    { echo quit >&"${!in}"; } 2>/dev/null
    kill -9 "${!pv}" 2>/dev/null; wait "${!pv}" 2>/dev/null
    printf -v "$pv" %s ""
  done
}

req() { # METHOD PATH [curl args...]
  local m=$1 p=$2; shift 2
  ST=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X "$m" "$@" "$URL$p")
  BODY=$(cat "$T/body")
  HDR=$T/hdr
}
post() { # PATH JSON [curl args...]
  local p=$1 b=$2; shift 2
  req POST "$p" -H 'Content-Type: application/json' --data-binary "$b" "$@"
}
jget() { # python expression over j
  python3 -c "import json,sys; j=json.loads(sys.stdin.read()); print($1)" <<<"$BODY"
}
header() { # NAME
  sed -n "s/^$1: *//Ip" "$HDR" | tr -d '\r' | tail -n 1
}
is_json_error() { # description status error
  eq "$1: status" "$2" "$ST"
  eq "$1: error" "$3" "$(jget 'j["error"]' 2>/dev/null)"
  eq "$1: has a detail" True "$(jget '"detail" in j and len(j["detail"]) > 0' 2>/dev/null)"
  eq "$1: content type" "application/json" "$(header Content-Type)"
}
signin() { # PHONE -> token
  local n code
  n=$(sms_count)
  post /v1/auth/code "{\"phone\":\"$1\"}"
  sms_wait "$n" || return 1
  code=$(sms_code "$1")
  post /v1/auth/session "{\"phone\":\"$1\",\"code\":\"$code\"}"
  jget 'j["token"]'
}
basket() { # TOKEN -> sorted active numbers
  req GET /v1/vouchers -H "Authorization: Bearer $1"
  jget '" ".join(sorted(v["number"] for v in j["vouchers"] if v["status"]=="active"))'
}
rows() { sqlite3 "$GL_DB" "$1"; }
ledger_ok() { G ledger check >/dev/null; }
