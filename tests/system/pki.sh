#!/usr/bin/env bash
# tests/system/pki.sh - the real glctl binary makes the deployment's
# certificates: CA, host, terminals.  OpenSSL checks them independently
# (chain, CN, validity, key usage, purpose); keys must be mode 0600; a
# second run without --force must refuse; --help works at every level.
set -u
GLCTL=${GL_BUILD:?GL_BUILD not set}/bin/glctl
pass=0
fail=0
T=$(mktemp -d /tmp/gl-pki-XXXXXX)
trap 'rm -rf "$T"' EXIT

check() { # description command...
  local d=$1; shift
  if "$@" >"$T/chk" 2>&1; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $d"
    sed 's/^/     /' "$T/chk" | head -n 10
  fi
}
# expect_rc want description command...: exit status must be exactly want
expect_rc() {
  local want=$1 d=$2 rc; shift 2
  "$@" >"$T/out" 2>"$T/err"
  rc=$?
  if [ "$rc" -eq "$want" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $d: exit $rc, expected $want"
    sed 's/^/     /' "$T/out" "$T/err" | head -n 10
  fi
}
mode_of() { stat -c %a "$1"; }

D=$T/pki
check "glctl binary exists" test -x "$GLCTL"

# --- creation --------------------------------------------------------------
expect_rc 0 "pki ca" "$GLCTL" pki ca --dir "$D" --cn "Test Deployment CA" --days 30
expect_rc 0 "pki host" "$GLCTL" pki host --dir "$D" --cn gl-host.example
expect_rc 0 "pki terminal" "$GLCTL" pki terminal --dir "$D" --id T0000001
expect_rc 0 "pki terminal (expired)" "$GLCTL" pki terminal --dir "$D" --id TOLD \
  --not-before 20200101000000 --not-after 20210101000000

for f in ca host term-T0000001 term-TOLD; do
  check "$f.crt exists" test -s "$D/$f.crt"
  check "$f.key exists" test -s "$D/$f.key"
  check "$f.key is 0600" test "$(mode_of "$D/$f.key")" = 600
  check "$f.crt is 0644" test "$(mode_of "$D/$f.crt")" = 644
done
check "dir is 0700" test "$(mode_of "$D")" = 700

# --- OpenSSL's view ----------------------------------------------------------
check "openssl: CA self-signed and valid" openssl verify -CAfile "$D/ca.crt" "$D/ca.crt"
check "openssl: host chains to CA" openssl verify -CAfile "$D/ca.crt" \
  -purpose sslserver "$D/host.crt"
check "openssl: terminal chains to CA" openssl verify -CAfile "$D/ca.crt" \
  -purpose sslclient "$D/term-T0000001.crt"
# The purposes are exclusive: a terminal's certificate is no server's.
check "openssl: terminal is not a server" \
  bash -c "! openssl verify -CAfile '$D/ca.crt' -purpose sslserver '$D/term-T0000001.crt'"
check "openssl: host name verifies" openssl verify -CAfile "$D/ca.crt" \
  -verify_hostname gl-host.example "$D/host.crt"
check "openssl: expired one refused" \
  bash -c "openssl verify -CAfile '$D/ca.crt' '$D/term-TOLD.crt' 2>&1 | grep -q 'certificate has expired'"
check "subject of terminal is its id" \
  bash -c "openssl x509 -in '$D/term-T0000001.crt' -noout -subject | grep -q 'CN *= *T0000001'"
check "issuer of host is the CA" \
  bash -c "openssl x509 -in '$D/host.crt' -noout -issuer | grep -q 'CN *= *Test Deployment CA'"
check "CA has basicConstraints CA:TRUE" \
  bash -c "openssl x509 -in '$D/ca.crt' -noout -text | grep -q 'CA:TRUE'"
check "CA key is EC P-256" \
  bash -c "openssl pkey -in '$D/ca.key' -noout -text | grep -q 'prime256v1'"
check "key matches certificate" \
  bash -c "[ \"\$(openssl pkey -in '$D/host.key' -pubout)\" = \"\$(openssl x509 -in '$D/host.crt' -noout -pubkey)\" ]"
check "CA validity is 30 days" \
  bash -c "openssl x509 -in '$D/ca.crt' -noout -checkend $((29 * 86400)) && ! openssl x509 -in '$D/ca.crt' -noout -checkend $((31 * 86400))"
check "serials differ" \
  bash -c "[ \"\$(openssl x509 -in '$D/host.crt' -noout -serial)\" != \"\$(openssl x509 -in '$D/term-T0000001.crt' -noout -serial)\" ]"

# --- refusals ----------------------------------------------------------------
cp "$D/ca.key" "$T/ca.key.before"
expect_rc 1 "second ca without --force refuses" "$GLCTL" pki ca --dir "$D"
check "refusal says why" grep -q "use --force" "$T/err"
check "CA key unchanged after refusal" cmp "$D/ca.key" "$T/ca.key.before"
expect_rc 1 "second terminal without --force refuses" \
  "$GLCTL" pki terminal --dir "$D" --id T0000001
expect_rc 0 "--force replaces" "$GLCTL" pki terminal --dir "$D" --id T0000001 --force
check "replaced key is still 0600" test "$(mode_of "$D/term-T0000001.key")" = 600
check "replaced terminal still verifies" openssl verify -CAfile "$D/ca.crt" "$D/term-T0000001.crt"
expect_rc 1 "host without a CA refuses" "$GLCTL" pki host --dir "$T/empty" --cn h
expect_rc 2 "bad terminal id" "$GLCTL" pki terminal --dir "$D" --id "../x"
expect_rc 2 "missing --dir" "$GLCTL" pki ca
expect_rc 2 "missing --cn for host" "$GLCTL" pki host --dir "$D"
expect_rc 2 "bad --days" "$GLCTL" pki ca --dir "$T/x" --days zero
expect_rc 2 "validity options only for terminals" "$GLCTL" pki host --dir "$D" \
  --cn h --not-before 20200101000000 --not-after 20210101000000
expect_rc 2 "not-after before not-before" "$GLCTL" pki terminal --dir "$D" \
  --id T9 --not-before 20210101000000 --not-after 20200101000000
expect_rc 2 "unknown group" "$GLCTL" nosuch
check "unknown group names itself on stderr" grep -q 'unknown group "nosuch"' "$T/err"
expect_rc 2 "unknown command" "$GLCTL" pki nosuch
expect_rc 2 "no arguments" "$GLCTL"
expect_rc 2 "group without command" "$GLCTL" pki

# --- help ----------------------------------------------------------------------
expect_rc 0 "glctl --help" "$GLCTL" --help
check "top help lists pki" grep -q "pki" "$T/out"
expect_rc 0 "glctl pki --help" "$GLCTL" pki --help
check "pki help lists its commands" \
  bash -c "grep -q '^  ca ' '$T/out' && grep -q '^  host ' '$T/out' && grep -q '^  terminal ' '$T/out' && grep -q '^  ikey ' '$T/out' && grep -q '^  bdk ' '$T/out'"
for c in ca host terminal; do
  expect_rc 0 "glctl pki $c --help" "$GLCTL" pki $c --help
  check "pki $c help has usage" grep -q "usage: glctl pki $c" "$T/out"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
