#!/usr/bin/env bash
# tests/system/webd_api.sh - gl-webd, the customer HTTP JSON API, end to end:
# a host database provisioned with glctl, the SMSC emulator gl-smsc, gl-webd
# on port 0, and curl.  Sign-in reads the code from the SMS the emulated
# SMSC received.  Prints "N passed, N failed".
#
#   GL_BUILD=$PWD/build bash tests/system/webd_api.sh
. "$(dirname "${BASH_SOURCE[0]}")/webd_lib.bash"

ME=01012345678     # a member with two vouchers
V1PHONE=01012345678
OTHER=01087654321  # another member
NEWBIE=01055550000 # not a member
LIMITED=01033334444

# ---- the deployment ------------------------------------------------------
G merchant add --id M1 --name "Store One" --group g1 >/dev/null
G product add --id PART --issuer LOTTE --brand "Lotte Dept" --type department \
  --prefix 627401 --face 50000,10000 --validity-days 365 --partial \
  --group g1 >/dev/null
G product add --id BOOK --issuer KYOBO --brand "Kyobo Books" --type books \
  --prefix 627402 --face 5000,10000 --validity-days 180 --group g1 >/dev/null
G product add --id CULT --issuer LOTTE --brand "Culture Land" --type culture \
  --prefix 627403 --face 5000 --validity-days 365 --group g1 >/dev/null
V1=$(issue PART --face 50000 --member "$ME")
V2=$(issue BOOK --face 5000 --member "$ME")
VO=$(issue CULT --face 5000 --member "$OTHER")
check "three vouchers issued" test -n "$V1" -a -n "$V2" -a -n "$VO"
cp etc/gl-webd-info.json "$T/info.json"

# ---- the SMSC emulator ---------------------------------------------------
webd_smsc_start giftlink secret1
eq "gl-smsc ready line" "smsc ready port" "${SMSC_READY% *}"

webd_ini "$T/webd.ini" 1024 <<EOF
[otp]
code_ttl = 300
code_tries = 5
[session]
ttl = 900
[limits]
window = 3600
codes_per_phone = 3
codes_per_ip = 12
[info]
file = $T/info.json
[log]
level = info
syslog = no
EOF

# ---- configuration -------------------------------------------------------
out=$("$B/gl-webd" --config "$T/webd.ini" --check-config 2>&1)
eq "--check-config on a good file" "config ok" "$out"
sed 's/^code_tries = 5/code_tries = 5\nbogus = 1/' "$T/webd.ini" > "$T/bad.ini"
out=$("$B/gl-webd" --config "$T/bad.ini" --check-config 2>&1); rc=$?
eq "--check-config refuses an unknown key (status)" 1 "$rc"
check "--check-config names the key" grep -q "bogus" <<<"$out"
echo '{"notices": [], "oops": 1}' > "$T/badinfo.json"
sed "s|^file = .*|file = $T/badinfo.json|" "$T/webd.ini" > "$T/bad2.ini"
out=$("$B/gl-webd" --config "$T/bad2.ini" --check-config 2>&1); rc=$?
eq "--check-config refuses a bad info file" 1 "$rc"

# ---- start ---------------------------------------------------------------
check "gl-webd logs its port" webd_start "$T/webd.ini"

# The latest code the SMSC got for a phone (waits for it).
code_for() { # PHONE COUNT_BEFORE
  sms_wait "$2"
  sms_code "$1"
}

# ---- catalogue and info (no sign-in) ---------------------------------------
req GET /v1/catalogue
eq "catalogue: 200" 200 "$ST"
eq "catalogue: content type" "application/json" "$(header Content-Type)"
eq "catalogue: every product" "BOOK CULT PART" "$(jget '" ".join(p["id"] for p in j["products"])')"
eq "catalogue: a product's fields" \
  "KYOBO|Kyobo Books|books|[5000, 10000]|180|False" \
  "$(jget '"|".join(str(p[k]) for p in j["products"] if p["id"]=="BOOK" for k in ("issuer","brand","type","faces","validity_days","partial_use"))')"
req GET '/v1/catalogue?type=books'
eq "catalogue: type=books" "BOOK" "$(jget '" ".join(p["id"] for p in j["products"])')"
req GET '/v1/catalogue?issuer=LOTTE'
eq "catalogue: issuer=LOTTE" "CULT PART" "$(jget '" ".join(p["id"] for p in j["products"])')"
req GET '/v1/catalogue?amount=10000'
eq "catalogue: amount=10000" "BOOK PART" "$(jget '" ".join(p["id"] for p in j["products"])')"
req GET '/v1/catalogue?type=department&issuer=LOTTE&amount=50000'
eq "catalogue: all three filters" "PART" "$(jget '" ".join(p["id"] for p in j["products"])')"
req GET '/v1/catalogue?type=books&amount=50000'
eq "catalogue: nothing matches" "0" "$(jget 'len(j["products"])')"
req GET '/v1/catalogue?type=shoes'
is_json_error "catalogue: unknown type" 400 invalid_request
req GET '/v1/catalogue?amount=ten'
is_json_error "catalogue: amount not a number" 400 invalid_request
req GET '/v1/catalogue?amount=-5'
is_json_error "catalogue: negative amount" 400 invalid_request
req GET '/v1/catalogue?colour=red'
is_json_error "catalogue: unknown parameter" 400 invalid_request
req GET '/v1/catalogue?type=books&type=culture'
is_json_error "catalogue: repeated parameter" 400 invalid_request
req GET /v1/info
eq "info: 200" 200 "$ST"
eq "info: the call centre of the info file" "1588-0000" "$(jget 'j["call_centre"]["phone"]')"
eq "info: notices" "1" "$(jget 'len(j["notices"])')"

# ---- sign-in ---------------------------------------------------------------
n0=$(sms_count)
post /v1/auth/code "{\"phone\":\"$ME\"}"
eq "code for a member: 202" 202 "$ST"
member_answer=$BODY
CODE=$(code_for "$ME" "$n0")
check "the SMS holds a 6-digit code" test "${#CODE}" -eq 6
check "the SMS text is Korean" grep -q "인증번호" "$T/sms.txt"
eq "the code is stored only as a 32-byte hash" "1|32" \
  "$(rows "SELECT COUNT(*), length(hash) FROM webd_code WHERE phone='$ME' AND used=0")"
eq "no column holds the code" 0 \
  "$(rows "SELECT COUNT(*) FROM webd_code WHERE hash LIKE '%$CODE%' OR ip LIKE '%$CODE%'")"
eq "the SMS was queued with an idempotency key" 1 \
  "$(rows "SELECT COUNT(*) FROM outbox WHERE phone='$ME' AND idem_key LIKE 'webd-otp:%'")"

n1=$(sms_count)
post /v1/auth/code "{\"phone\":\"$NEWBIE\"}"
eq "code for a non-member: 202" 202 "$ST"
eq "member and non-member get the same answer" "$member_answer" "$BODY"
NEWCODE=$(code_for "$NEWBIE" "$n1")
check "a non-member gets a code too (sign-in before the first purchase)" test "${#NEWCODE}" -eq 6

WRONG=$(printf '%06d' $(( (10#$CODE + 1) % 1000000 )))
post /v1/auth/session "{\"phone\":\"$ME\",\"code\":\"$WRONG\"}"
is_json_error "wrong code" 401 invalid_code
post /v1/auth/session "{\"phone\":\"$OTHER\",\"code\":\"$CODE\"}"
is_json_error "the code of another phone" 401 invalid_code
post /v1/auth/session "{\"phone\":\"$ME\",\"code\":\"$CODE\"}"
eq "right code: 201" 201 "$ST"
TOKEN=$(jget 'j["token"]')
check "token: 64 hex digits" grep -qE '^[0-9A-Fa-f]{64}$' <<<"$TOKEN"
eq "token: expires_in" 900 "$(jget 'j["expires_in"]')"
eq "the token is not stored" 0 \
  "$(rows "SELECT COUNT(*) FROM webd_session WHERE hex(hash) = upper('$TOKEN') OR phone = '$TOKEN'")"
post /v1/auth/session "{\"phone\":\"$ME\",\"code\":\"$CODE\"}"
is_json_error "a used code again" 401 invalid_code
AUTH=(-H "Authorization: Bearer $TOKEN")

# ---- the basket --------------------------------------------------------------
req GET /v1/vouchers "${AUTH[@]}"
eq "basket: 200" 200 "$ST"
eq "basket: the member's vouchers, numbers in full" "$(printf '%s\n' "$V1" "$V2" | sort | tr '\n' ' ')" \
  "$(jget '" ".join(sorted(v["number"] for v in j["vouchers"]))+" "')"
eq "basket: face, balance, status of the first" "PART|50000|50000|active|Lotte Dept" \
  "$(jget '"|".join(str(x) for x in [[v for v in j["vouchers"] if v["product"]=="PART"][0][k] for k in ("product","face","balance","status","brand")])')"
check "basket: expiry given" test -n "$(jget '[v["expires"] for v in j["vouchers"]][0]')"
req GET "/v1/vouchers/$V1" "${AUTH[@]}"
eq "own voucher: 200" 200 "$ST"
eq "own voucher: number and balance" "$V1 50000" "$(jget 'j["number"]+" "+str(j["balance"])')"
req GET "/v1/vouchers/$VO" "${AUTH[@]}"
is_json_error "someone else's voucher" 404 not_found
other_body=$BODY
req GET "/v1/vouchers/6274039999999999" "${AUTH[@]}"
is_json_error "an unknown voucher" 404 not_found
eq "unknown and someone else's answer alike" "$other_body" "$BODY"
req GET "/v1/vouchers/abc" "${AUTH[@]}"
is_json_error "a malformed number" 404 not_found
req GET "/v1/vouchers/$V1/history" "${AUTH[@]}"
eq "history: 200" 200 "$ST"
eq "history: the issue" "issue|50000|50000|50000" \
  "$(jget '"|".join(str(h[k]) for h in j["history"] for k in ("kind","amount","change","balance_after"))')"
req GET "/v1/vouchers/$VO/history" "${AUTH[@]}"
is_json_error "someone else's history" 404 not_found
req GET "/v1/vouchers/$V1/ledger" "${AUTH[@]}"
is_json_error "an unknown sub-resource" 404 not_found

# ---- tokens ------------------------------------------------------------------
req GET /v1/vouchers
is_json_error "basket without a token" 401 unauthorized
eq "401 names the scheme" "Bearer" "$(header WWW-Authenticate)"
req GET /v1/vouchers -H "Authorization: Bearer 0123"
is_json_error "a malformed token" 401 unauthorized
req GET /v1/vouchers -H "Authorization: Bearer $(head -c 32 /dev/urandom | xxd -p -c 64)"
is_json_error "an unknown token" 401 unauthorized
req GET /v1/vouchers -H "Authorization: Basic $TOKEN"
is_json_error "another scheme" 401 unauthorized
req DELETE /v1/auth/session "${AUTH[@]}"
eq "logout: 200" 200 "$ST"
eq "logout: status" signed_out "$(jget 'j["status"]')"
req GET /v1/vouchers "${AUTH[@]}"
is_json_error "the token replayed after logout" 401 unauthorized
req DELETE /v1/auth/session "${AUTH[@]}"
is_json_error "logout twice" 401 unauthorized

# ---- a code dies after five wrong answers -------------------------------------
n2=$(sms_count)
post /v1/auth/code "{\"phone\":\"$OTHER\"}"
eq "code for the other member: 202" 202 "$ST"
OCODE=$(code_for "$OTHER" "$n2")
OWRONG=$(printf '%06d' $(( (10#$OCODE + 7) % 1000000 )))
for i in 1 2 3 4 5; do
  post /v1/auth/session "{\"phone\":\"$OTHER\",\"code\":\"$OWRONG\"}"
  eq "wrong answer $i: 401" 401 "$ST"
done
post /v1/auth/session "{\"phone\":\"$OTHER\",\"code\":\"$OCODE\"}"
is_json_error "the right code after five wrong ones" 401 invalid_code
# A fresh code works, and the other member sees only their own voucher.
n3=$(sms_count)
post /v1/auth/code "{\"phone\":\"$OTHER\"}"
OCODE2=$(code_for "$OTHER" "$n3")
post /v1/auth/session "{\"phone\":\"$OTHER\",\"code\":\"$OCODE2\"}"
eq "a fresh code signs in" 201 "$ST"
OAUTH=(-H "Authorization: Bearer $(jget 'j["token"]')")
req GET /v1/vouchers "${OAUTH[@]}"
eq "the other member's basket" "$VO" "$(jget '" ".join(v["number"] for v in j["vouchers"])')"
req GET "/v1/vouchers/$V1" "${OAUTH[@]}"
is_json_error "my voucher seen by the other member" 404 not_found
# A non-member's basket is empty.
post /v1/auth/session "{\"phone\":\"$NEWBIE\",\"code\":\"$NEWCODE\"}"
eq "a non-member signs in" 201 "$ST"
req GET /v1/vouchers -H "Authorization: Bearer $(jget 'j["token"]')"
eq "a non-member's basket is empty" 0 "$(jget 'len(j["vouchers"])')"

# ---- bad input: a clear 4xx, nothing changed ------------------------------------
state() { rows "SELECT (SELECT COUNT(*) FROM webd_code) || '/' || (SELECT COUNT(*) FROM webd_session) || '/' || (SELECT COUNT(*) FROM outbox)"; }
before=$(state)
post /v1/auth/code '{"phone":'
is_json_error "malformed JSON" 400 malformed_json
post /v1/auth/code '{"phone":"01012345678","phone":"01012345678"}'
is_json_error "a repeated member" 400 malformed_json
post /v1/auth/code '["01012345678"]'
is_json_error "not an object" 400 invalid_request
post /v1/auth/code '{"phone":1012345678}'
is_json_error "phone of the wrong type" 400 invalid_request
post /v1/auth/code '{}'
is_json_error "phone missing" 400 invalid_request
post /v1/auth/code "{\"phone\":\"$ME\",\"admin\":true}"
is_json_error "an unknown member" 400 invalid_request
post /v1/auth/code '{"phone":"02-123-4567"}'
is_json_error "not a mobile number" 400 invalid_phone
post /v1/auth/code ''
is_json_error "empty body" 400 malformed_json
post /v1/auth/session "{\"phone\":\"$ME\"}"
is_json_error "session: code missing" 400 invalid_request
post /v1/auth/session "{\"phone\":\"$ME\",\"code\":123456}"
is_json_error "session: code of the wrong type" 400 invalid_request
post /v1/auth/session "{\"phone\":\"$ME\",\"code\":\"12ab56\"}"
is_json_error "session: code not 6 digits" 400 invalid_request
req POST /v1/auth/code -H 'Content-Type: text/plain' --data-binary "{\"phone\":\"$ME\"}"
is_json_error "not application/json" 415 unsupported_media_type
head -c 5000 /dev/zero | tr '\0' 'a' > "$T/big"
req POST /v1/auth/code -H 'Content-Type: application/json' --data-binary @"$T/big"
is_json_error "a huge body" 413 body_too_large
req POST /v1/auth/code -H 'Content-Type: application/json' \
  -H 'Transfer-Encoding: chunked' --data-binary @"$T/big"
is_json_error "a huge chunked body" 413 body_too_large
req GET /v1/auth/code
is_json_error "wrong method" 405 method_not_allowed
eq "405 tells the allowed methods" "POST" "$(header Allow)"
req PUT /v1/vouchers
is_json_error "PUT on the basket" 405 method_not_allowed
req GET /v1/nothing
is_json_error "an unknown route" 404 not_found
req GET /v1/catalogue/
is_json_error "a trailing slash" 404 not_found
req GET '/v1/info?x=1'
is_json_error "a query on info" 400 invalid_request
req GET /v1/info -H 'Content-Type: application/json' --data-binary '{}'
is_json_error "a body on a GET" 400 invalid_request
post /v1/purchases '{"product":"PART","face":10000,"count":1}' "${OAUTH[@]}"
is_json_error "purchases without an Idempotency-Key" 400 idempotency_key_required
eq "bad input changed nothing" "$before" "$(state)"

# ---- rate limits ---------------------------------------------------------------
for i in 1 2 3; do
  post /v1/auth/code "{\"phone\":\"$LIMITED\"}"
  eq "code $i of 3 for one phone" 202 "$ST"
done
post /v1/auth/code "{\"phone\":\"$LIMITED\"}"
is_json_error "a fourth code within the hour" 429 rate_limited
ra=$(header Retry-After)
check "Retry-After within the hour ($ra)" test "${ra:-0}" -gt 3500 -a "${ra:-0}" -le 3601
# Codes from this address so far: ME, NEWBIE, OTHER x2, LIMITED x3 = 7; the
# limit is 12, so five more phones get codes and the sixth is refused.
used=$(rows "SELECT COUNT(*) FROM webd_code WHERE ip='127.0.0.1'")
eq "codes counted for the address" 7 "$used"
for i in 1 2 3 4 5; do
  post /v1/auth/code "{\"phone\":\"0107000000$i\"}"
  eq "code for fresh phone $i" 202 "$ST"
done
post /v1/auth/code '{"phone":"01070000009"}'
is_json_error "one address past its limit" 429 rate_limited

# ---- logs, shutdown, ledger ----------------------------------------------------
for p in "$ME" "$OTHER" "$NEWBIE" "$LIMITED"; do
  check "phone $p never in the log in full" bash -c "! grep -q '$p' '$T/webd.log'"
done
for v in "$V1" "$V2" "$VO"; do
  check "voucher number never in the log" bash -c "! grep -q '$v' '$T/webd.log'"
done
check "the token never in the log" bash -c "! grep -qi '$TOKEN' '$T/webd.log'"
check "no SMS text in the log" bash -c "! grep -q '인증번호' '$T/webd.log'"
check "masked phones in the log" grep -q "010\*\*\*\*5678" "$T/webd.log"
check "route templates in the log" grep -q "GET /v1/vouchers/{number} -> 404" "$T/webd.log"
webd_stop; rc=$?
eq "SIGTERM: exit 0" 0 "$rc"
check "SIGTERM: stopped line" grep -q "stopped" "$T/webd.log"

# ---- members only, no SMSC: codes stay queued -----------------------------------
# A second run on the same database: the address limit is counted from the
# stored codes, so it still holds after the restart.
sed -e 's/^host = .*/host =/' -e 's/^port = [0-9]*$/port = 0/' \
    -e 's/^code_tries = 5/code_tries = 5\nmembers_only = yes/' \
    "$T/webd.ini" > "$T/webd2.ini"
check "second run: gl-webd logs its port" webd_start "$T/webd2.ini"
check "second run: no sender without an SMSC" grep -q "no SMSC configured" "$T/webd.log"
post /v1/auth/code '{"phone":"01070000008"}'
is_json_error "the address limit survives a restart" 429 rate_limited
sed -i 's/^codes_per_ip = 12/codes_per_ip = 100/' "$T/webd2.ini"
webd_stop
check "third run: gl-webd logs its port" webd_start "$T/webd2.ini"
outbox() { rows "SELECT COUNT(*) FROM outbox"; }
before=$(outbox)
post /v1/auth/code '{"phone":"01066667777"}'
eq "members only: a non-member still gets 202" 202 "$ST"
eq "members only: ...and the same answer" "$member_answer" "$BODY"
eq "members only: no SMS for a non-member" "$before" "$(outbox)"
post /v1/auth/code '{"phone":"01066667777"}'
post /v1/auth/code '{"phone":"01066667777"}'
post /v1/auth/code '{"phone":"01066667777"}'
is_json_error "members only: a non-member is rate limited like a member" 429 rate_limited
n4=$(sms_count)
post /v1/auth/code "{\"phone\":\"$V1PHONE\"}"
eq "members only: a member gets 202" 202 "$ST"
eq "no SMSC: the member's code waits queued in the outbox" queued \
  "$(rows "SELECT state FROM outbox WHERE phone='$V1PHONE' ORDER BY id DESC LIMIT 1")"
sleep 0.5
eq "no SMSC: nothing reached the SMSC" "$n4" "$(sms_count)"
webd_stop; rc=$?
eq "second run: SIGTERM exit 0" 0 "$rc"
check "the ledger is clean" ledger_ok

if [ "$fail" -gt 0 ]; then
  echo "--- gl-webd log (tail)"; tail -n 40 "$T/webd.log"
fi
[ -n "${WEBD_LOG_COPY:-}" ] && cp "$T/webd.log" "$WEBD_LOG_COPY"
finish
