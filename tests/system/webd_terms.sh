#!/usr/bin/env bash
# tests/system/webd_terms.sh - Korea's standard terms for mobile vouchers
# through gl-webd end to end (issue 7): a full refund within 7 days of
# purchase (phone bill: a credit on the statement and the month's limit
# freed; card: the authorization reversed at the acquirer emulator), the
# cash-out of the remainder to a bank account once 60% (80% up to 10,000
# KRW) is used and its bank transfer file, expiry notices 30 days ahead,
# and the extension of validity.  The real gl-webd, gl-smsc and gl-acq on
# loopback; every SMS read at the SMSC; `glctl ledger check` after each
# flow; bad input on every new endpoint.  Prints "N passed, N failed".
#
#   GL_BUILD=$PWD/build bash tests/system/webd_terms.sh
. "$(dirname "${BASH_SOURCE[0]}")/webd_lib.bash"

ME=01012345678
OTHER=01087654321
CARD_OK=4111111111111111

G merchant add --id M1 --name "Store One" --group g1 >/dev/null
G product add --id BOOK --issuer KYOBO --brand "Kyobo Books" --type books \
  --prefix 627402 --face 5000,10000 --validity-days 180 --partial \
  --group g1 >/dev/null
G product add --id DEPT --issuer LOTTE --brand "Lotte Dept" --type department \
  --prefix 627401 --face 50000 --validity-days 365 --partial --group g1 >/dev/null
G product add --id SHORT --issuer KYOBO --brand "Kyobo Books" --type books \
  --prefix 627403 --face 10000 --validity-days 20 --partial --group g1 >/dev/null
G member add --phone "$ME" >/dev/null
G member add --phone "$OTHER" >/dev/null

webd_smsc_start
webd_acq_start
check "gl-acq ready (port $ACQ_PORT)" test -n "$ACQ_PORT"
charged() { acq "charged $1" | sed -n 's/^ok \([0-9-]*\).*/\1/p'; }

webd_ini "$T/webd.ini" <<EOF
[limits]
codes_per_phone = 20
codes_per_ip = 100
[acquirer]
host = 127.0.0.1
port = $ACQ_PORT
plain = yes
terminal_id = GLWEB001
merchant_id = GIFTLINK0000001
timeout_ms = 1500
[billing]
monthly_limit = 100000
[jobs]
period = 1
notice_days = 30
notice_period = 1
[log]
level = info
EOF
eq "--check-config with [jobs] notice_days and notice_period" "config ok" \
  "$("$B/gl-webd" --config "$T/webd.ini" --check-config 2>&1)"
MKEY=$("$B/gl-webd" --config "$T/webd.ini" --make-merchant-key M1)

check "gl-webd starts and logs its port" webd_start "$T/webd.ini"

sms_wait_text() { # PHONE PATTERN: waits until an SMS to PHONE matches
  for _ in $(seq 1 100); do
    smsc "save $T/sms.txt" >/dev/null
    grep "^$1	" "$T/sms.txt" | grep -q "$2" && return 0
    sleep 0.1
  done
  return 1
}
sms_matching() { # PHONE PATTERN -> how many SMS to PHONE match
  smsc "save $T/sms.txt" >/dev/null
  grep "^$1	" "$T/sms.txt" | grep -c "$2"
}
TOK=$(signin "$ME")
check "signed in as the member" grep -qE '^[0-9A-Fa-f]{64}$' <<<"$TOK"
OTOK=$(signin "$OTHER")
AUTH=(-H "Authorization: Bearer $TOK")
OAUTH=(-H "Authorization: Bearer $OTOK")
buy() { post /v1/purchases "$2" "${AUTH[@]}" -H "Idempotency-Key: $1"; }
status_of() { req GET "/v1/vouchers/$1" "${AUTH[@]}"; jget 'j["status"]'; }
remaining() { req GET /v1/purchases "${AUTH[@]}"; jget 'j["phone_bill"]["remaining"]'; }

# ---- refund: phone bill ------------------------------------------------------
buy r1 '{"product":"BOOK","face":10000,"count":2,"payment":{"method":"phone_bill"}}'
eq "phone bill purchase: 201" 201 "$ST"
PID1=$(jget 'j["purchase_id"]')
V1=$(jget '" ".join(sorted(j["vouchers"]))')
eq "phone bill: 80,000 of the month's limit left" 80000 "$(remaining)"

post "/v1/purchases/$PID1/refund" '' "${OAUTH[@]}"
is_json_error "refund of someone else's purchase" 404 not_found
post "/v1/purchases/999999/refund" '' "${AUTH[@]}"
is_json_error "refund of an unknown purchase" 404 not_found
post "/v1/purchases/12ab/refund" '' "${AUTH[@]}"
is_json_error "refund of a malformed id" 404 not_found
req GET "/v1/purchases/$PID1/refund" "${AUTH[@]}"
is_json_error "refund by GET" 405 method_not_allowed
post "/v1/purchases/$PID1/refund" '{"why":"x"}' "${AUTH[@]}"
is_json_error "refund with members in the body" 400 invalid_request
post "/v1/purchases/$PID1/refund" ''
is_json_error "refund without a session" 401 unauthorized
for v in $V1; do eq "nothing refunded by bad requests: $v" active "$(status_of "$v")"; done

post "/v1/purchases/$PID1/refund" '' "${AUTH[@]}"
eq "refund: 201" 201 "$ST"
FIRST=$BODY
eq "refund: refunded" refunded "$(jget 'j["result"]')"
eq "refund: the amount" 20000 "$(jget 'j["amount"]')"
eq "refund: the method" phone_bill "$(jget 'j["method"]')"
eq "refund: the cancelled vouchers" "$V1" "$(jget '" ".join(sorted(j["cancelled"]))')"
for v in $V1; do eq "refund: $v is cancelled" cancelled "$(status_of "$v")"; done
eq "refund: the month's limit is free again" 100000 "$(remaining)"
check "refund: the SMS reached the SMSC" sms_wait_text "$ME" "구매 취소"
check "refund: the SMS says the amount" sms_wait_text "$ME" "20,000원 환불"
req GET /v1/purchases "${AUTH[@]}"
check "refund: the history shows it" test -n "$(jget '[p for p in j["purchases"] if p["purchase_id"]=='"$PID1"'][0]["refunded"]')"
post "/v1/purchases/$PID1/refund" '' "${AUTH[@]}"
eq "refund again: 200" 200 "$ST"
eq "refund again: the same body" "$FIRST" "$BODY"
eq "refund again: Idempotent-Replayed" true "$(header Idempotent-Replayed)"
eq "refund again: one refund SMS" 1 "$(sms_matching "$ME" "구매 취소")"
month=$(TZ=Asia/Seoul date +%Y-%m)
stmt=$(G billing statement --month "$month")
eq "statement: the header" "month,phone,purchases,vouchers,amount,refunds,refunded,net" "$(head -n 1 <<<"$stmt")"
eq "statement: the charge and its credit" "$month,$ME,1,2,20000,1,20000,0" "$(grep ",$ME," <<<"$stmt")"
check "ledger check after the phone-bill refund" ledger_ok

# A voucher of the purchase frozen (or used, or given): no refund.
buy r2 '{"product":"BOOK","face":5000,"count":2,"payment":{"method":"phone_bill"}}'
PID2=$(jget 'j["purchase_id"]')
V2=$(jget 'j["vouchers"][0]')
G voucher freeze "$V2" >/dev/null
post "/v1/purchases/$PID2/refund" '' "${AUTH[@]}"
is_json_error "refund with a frozen voucher" 409 used
G voucher unfreeze "$V2" >/dev/null
eq "refused refund: the voucher still active" active "$(status_of "$V2")"
eq "refused refund: no refund row" 0 "$(rows "SELECT COUNT(*) FROM shop_refund WHERE purchase_id = $PID2")"

# ---- refund: card ----------------------------------------------------------------
acq reset >/dev/null
buy c1 "{\"product\":\"BOOK\",\"face\":10000,\"payment\":{\"method\":\"card\",\"number\":\"$CARD_OK\",\"expiry\":\"3012\"}}"
eq "card purchase: 201" 201 "$ST"
PC=$(jget 'j["purchase_id"]')
VC=$(jget 'j["vouchers"][0]')
eq "card purchase: charged at the acquirer" 10000 "$(charged "$CARD_OK")"
post "/v1/purchases/$PC/refund" '' "${AUTH[@]}"
eq "card refund: 201" 201 "$ST"
eq "card refund: the method" card "$(jget 'j["method"]')"
eq "card refund: the voucher cancelled" cancelled "$(status_of "$VC")"
for _ in $(seq 1 50); do [ "$(charged "$CARD_OK")" = 0 ] && break; sleep 0.2; done
eq "card refund: the authorization reversed at the acquirer" 0 "$(charged "$CARD_OK")"
for _ in $(seq 1 20); do [ "$(rows 'SELECT COUNT(*) FROM shop_reversal')" = 0 ] && break; sleep 0.2; done
eq "card refund: no card data left" "0 0" "$(rows "SELECT COUNT(*) FROM shop_reversal") $(rows "SELECT COUNT(*) FROM shop_card_keep WHERE purchase_id = $PC")"
check "card refund: the SMS" sms_wait_text "$ME" "카드 승인 취소"
check "ledger check after the card refund" ledger_ok

# ---- cash-out ------------------------------------------------------------------------
buy k1 '{"product":"BOOK","face":10000,"count":1,"payment":{"method":"phone_bill"}}'
VK=$(jget 'j["vouchers"][0]')
req GET "/v1/vouchers/$VK/cashout" "${AUTH[@]}"
eq "cash-out check: 200" 200 "$ST"
eq "cash-out check: too little used" too_little_used "$(jget 'j["verdict"]')"
eq "cash-out check: 80% needed for 10,000 KRW" 80 "$(jget 'j["used_pct_required"]')"
post "/v1/vouchers/$VK/cashout" '{"bank":"004","account":"12345678901234"}' "${AUTH[@]}"
is_json_error "cash-out of an unused voucher" 409 too_little_used
MAUTH=(-H "Authorization: Merchant $MKEY")
post /v1/online/authorize "{\"voucher\":\"$VK\",\"amount\":8000}" "${MAUTH[@]}" -H "Idempotency-Key: a1"
AUTHID=$(jget 'j["auth_id"]')
post /v1/online/capture "{\"auth_id\":\"$AUTHID\",\"amount\":8000}" "${MAUTH[@]}" -H "Idempotency-Key: c1"
eq "8,000 of 10,000 used online" 200 "$ST"
req GET "/v1/vouchers/$VK/cashout" "${AUTH[@]}"
eq "cash-out check: ok" ok "$(jget 'j["verdict"]')"
eq "cash-out check: the payout" 2000 "$(jget 'j["payout"]')"
req GET "/v1/vouchers/$VK/cashout" "${OAUTH[@]}"
is_json_error "cash-out check of someone else's voucher" 404 not_found
post "/v1/vouchers/$VK/cashout" '{"bank":"004","account":"12345678901234"}' "${OAUTH[@]}"
is_json_error "cash-out of someone else's voucher" 404 not_found
post "/v1/vouchers/$VK/cashout" '{"bank":"4","account":"12345678901234"}' "${AUTH[@]}"
is_json_error "cash-out: a bad bank code" 400 invalid_request
post "/v1/vouchers/$VK/cashout" '{"bank":"004","account":"1234-5678"}' "${AUTH[@]}"
is_json_error "cash-out: a bad account number" 400 invalid_request
post "/v1/vouchers/$VK/cashout" '{"bank":"004"}' "${AUTH[@]}"
is_json_error "cash-out: no account" 400 invalid_request
post "/v1/vouchers/$VK/cashout" '{"bank":4,"account":"12345678901234"}' "${AUTH[@]}"
is_json_error "cash-out: a number for the bank" 400 invalid_request
post "/v1/vouchers/$VK/cashout" '{"bank":"004","account":"12345678901234","x":1}' "${AUTH[@]}"
is_json_error "cash-out: an unknown member" 400 invalid_request
post "/v1/vouchers/$VK/cashout" '{"bank":"004",' "${AUTH[@]}"
is_json_error "cash-out: malformed JSON" 400 malformed_json
eq "bad cash-outs moved nothing" 0 "$(rows 'SELECT COUNT(*) FROM online_payout')"
post "/v1/vouchers/$VK/cashout" '{"bank":"004","account":"12345678901234"}' "${AUTH[@]}"
eq "cash-out: 201" 201 "$ST"
FIRST=$BODY
eq "cash-out: payout due" payout_due "$(jget 'j["result"]')"
eq "cash-out: the amount" 2000 "$(jget 'j["amount"]')"
check "cash-out: the account masked in the answer" bash -c "! grep -q 12345678901234 <<<'$BODY'"
req GET "/v1/vouchers/$VK" "${AUTH[@]}"
eq "cash-out: nothing left on the voucher" 0 "$(jget 'j["balance"]')"
check "cash-out: the SMS" sms_wait_text "$ME" "2,000원 환급"
post "/v1/vouchers/$VK/cashout" '{"bank":"004","account":"12345678901234"}' "${AUTH[@]}"
eq "cash-out again: 200" 200 "$ST"
eq "cash-out again: the same body" "$FIRST" "$BODY"
eq "cash-out again: one payout" 1 "$(rows 'SELECT COUNT(*) FROM online_payout')"
check "ledger check after the cash-out" ledger_ok
G payout export --out "$T/payouts.csv" >/dev/null
eq "payout export: the bank's line" "004,12345678901234,2000,$ME" "$(sed -n 2p "$T/payouts.csv" | cut -d, -f3-)"
G payout export --out "$T/payouts.csv" >/dev/null 2>&1
eq "payout export onto an existing file (status)" 2 "$?"
G payout export --out "$T/payouts2.csv" >/dev/null
eq "payout export: nothing twice" 1 "$(wc -l < "$T/payouts2.csv")"

# ---- expiry notices and extension ----------------------------------------------------
VS=$(G voucher issue --product SHORT --count 1 --member "$ME" --channel card | grep -oE '[0-9]{16}' | head -n 1)
check "a voucher that ends in 20 days" test -n "$VS"
check "expiry notice: the SMS within 30 days" sms_wait_text "$ME" "에 끝납니다"
sleep 2.5 # two more notice runs
eq "expiry notice: once per voucher and date" 1 "$(sms_matching "$ME" "에 끝납니다")"
check "expiry notice: the number masked" bash -c "! grep -q '$VS' '$T/sms.txt'"
post "/v1/vouchers/$VS/extend" '{"days":0}' "${AUTH[@]}"
is_json_error "extend by 0 days" 400 invalid_request
post "/v1/vouchers/$VS/extend" '{"days":"30"}' "${AUTH[@]}"
is_json_error "extend by a string" 400 invalid_request
post "/v1/vouchers/$VS/extend" '{"days":30}' "${OAUTH[@]}"
is_json_error "extend someone else's voucher" 404 not_found
post "/v1/vouchers/$VS/extend" '{"days":30}' "${AUTH[@]}"
eq "extend: 200" 200 "$ST"
eq "extend: extended" extended "$(jget 'j["result"]')"
check "extend: the SMS with the new date" sms_wait_text "$ME" "30일 연장"
post "/v1/vouchers/$VS/extend" '{"days":30}' "${AUTH[@]}"
is_json_error "extend twice" 409 already_extended
post "/v1/vouchers/$VK/extend" '{"days":30}' "${AUTH[@]}"
is_json_error "extend a voucher with nothing left" 409 nothing_left
sleep 2.5
eq "no notice for the new date (50 days away)" 1 "$(sms_matching "$ME" "에 끝납니다")"
check "ledger check at the end" ledger_ok

for v in $V1 $VK $VS; do
  check "voucher number never in the log" bash -c "! grep -q '$v' '$T/webd.log'"
done
check "the bank account never in the log" bash -c "! grep -q 12345678901234 '$T/webd.log'"
webd_stop; rc=$?
eq "SIGTERM: exit 0" 0 "$rc"

# ---- one address's connections ([listen] conns_per_ip) -----------------------
sed 's/^max_body = .*/&\nconns_per_ip = 3/' "$T/webd.ini" > "$T/webd3.ini"
check "gl-webd with conns_per_ip = 3 starts" webd_start "$T/webd3.ini" "$T/webd3.log"
out=$(python3 - "$WEBD_PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
held = []
for _ in range(3):  # three half-sent requests hold their slots
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"GET /v1/info HTTP/1.1\r\n")
    held.append(s)
time.sleep(0.3)
def ask():
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    try:
        s.sendall(b"GET /v1/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = s.recv(64)
    except OSError:
        data = b""
    s.close()
    return data.split(b"\r\n")[0].decode(errors="replace") or "closed"
fourth = ask()
for s in held:
    s.close()
time.sleep(0.5)
print(fourth + "|" + ask())
PY
)
eq "a fourth connection of the address is refused; the slots free again" "closed|HTTP/1.1 200 OK" "$out"
webd_stop
if [ "$fail" -gt 0 ]; then
  echo "--- gl-webd log (tail)"; tail -n 60 "$T/webd.log"
fi
finish
