#!/usr/bin/env bash
# tests/system/term_screen.sh - gl-term's cashier screen (ncurses) on a real
# pseudo-terminal, against the real gl-hostd: the cashier types a balance
# inquiry and a redemption by keyed number, the screen shows the answers in
# words, F10 ends the session cleanly.  Also the configuration check: the
# example etc/gl-term.ini passes, broken files are refused with the reason.
source "$(dirname "$0")/term_lib.bash"

# ---- configuration --------------------------------------------------------
out=$("$B/gl-term" --config etc/gl-term.ini --check-config 2>&1)
eq "etc/gl-term.ini passes --check-config" "etc/gl-term.ini: ok" "$out"
bad_cfg() { # description expected-text config-text
  printf '%b' "$3" > "$T/bad.ini"
  local o rc
  o=$("$B/gl-term" --config "$T/bad.ini" --check-config 2>&1); rc=$?
  check "config $1: refused" test "$rc" -ne 0
  check "config $1: says why ($2)" grep -qF -- "$2" <<<"$o"
}
base='[terminal]\nid = GLT00001\nmerchant = GLM000000000001\n[host]\naddress = h\nserver_cn = h\n[tls]\nca = c\ncert = c\nkey = k\n[keys]\nikey_file = i\n[journal]\npath = j\n'
bad_cfg "short terminal id" "id must be 8 characters" "${base/GLT00001/T1}"
bad_cfg "offline without a floor limit" "needs a floor_limit" "${base}[terminal]\noffline = yes\n"
bad_cfg "unknown language" "language must be ko or en" "${base}[terminal]\nlanguage = fr\n"
bad_cfg "a timeout that is not a number" "response_timeout" "${base}[host]\nresponse_timeout = soon\n"
bad_cfg "missing journal" "path" "${base/path = j/}"
o=$("$B/gl-term" --config "$T/nope.ini" --check-config 2>&1)
check "a missing file: says so" grep -q 'nope.ini' <<<"$o"

# ---- the screen -------------------------------------------------------------
term_setup || { echo "setup failed"; echo "$pass passed, $((fail + 1)) failed"; exit 1; }
hostd_start || { cat "$T/hostd.log"; echo "$pass passed, $((fail + 1)) failed"; exit 1; }
term_config
V=$(issue BOOK --face 30000)
echo 1234 > "$T/pin.txt"
VP=$(issue GIFT --face 20000 --pin-file "$T/pin.txt" --pin-key "$T/pin.key")
python3 - "$B/gl-term" "$T/term.ini" "$V" "$T/screen.txt" "$VP" <<'PY' >"$T/screen.result"
import os, pty, select, sys, time
binary, cfg, number, dump, pinv = sys.argv[1:6]
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "xterm"
    os.environ["LINES"], os.environ["COLUMNS"] = "30", "120"
    os.execv(binary, [binary, "--config", cfg, "--screen"])
seen = b""
def read_until(text, timeout=30):
    global seen
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return False
            seen += chunk
            if text.encode() in seen:
                return True
    return False
def type_line(line):
    for ch in line:
        os.write(fd, ch.encode())
        time.sleep(0.01)
    os.write(fd, b"\r")
ok = read_until("redeem AMOUNT")
print("start", "ok" if ok else "FAIL")
mark = len(seen)
type_line("balance key:" + number)
ok = read_until("Approved") and read_until("balance=30000")
print("balance", "ok" if ok else "FAIL")
type_line("redeem 7000 key:" + number)
ok = read_until("balance=23000")
print("redeem", "ok" if ok else "FAIL")
type_line("redeem 2000 key:" + pinv)
ok = read_until("Customer: enter PIN")
mark = len(seen)
for ch in "4321\r":  # a PIN with digits that appear nowhere else
    os.write(fd, ch.encode())
    time.sleep(0.01)
ok = ok and read_until("Invalid number or PIN") and b"4321" not in seen[mark:]
print("pin", "ok" if ok else "FAIL")
type_line("frobnicate")
ok = read_until("unknown command")
print("unknown", "ok" if ok else "FAIL")
os.write(fd, b"\x1b[21~")  # F10
status = None
end = time.time() + 20
while time.time() < end:
    try:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            seen += os.read(fd, 65536)
    except OSError:
        pass
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = st
        break
print("exit", "ok" if status is not None and os.WIFEXITED(status)
      and os.WEXITSTATUS(status) == 0 else "FAIL %r" % (status,))
open(dump, "wb").write(seen)
PY
for k in start balance redeem pin unknown exit; do
  eq "screen: $k" "$k ok" "$(grep "^$k " "$T/screen.result")"
done
eq "screen: the redemption reached the host" 23000 "$(balance "$V")"
check "screen: the history shows the keyed number masked" \
  grep -qaF "balance key:${V:0:6}******${V:12:4}" "$T/screen.txt"
check "host stops cleanly" hostd_stop
check "glctl ledger check" G ledger check >/dev/null
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
