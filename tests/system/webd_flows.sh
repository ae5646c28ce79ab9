#!/usr/bin/env bash
# tests/system/webd_flows.sh - the customer's flows through gl-webd end to
# end (issue 7): a host database provisioned with glctl, the SMSC emulator
# gl-smsc, the MMSC emulator gl-mmsc, the card acquirer emulator gl-acq
# (plain TCP), gl-webd on port 0, and curl.  Purchases by phone bill (and
# its monthly limit) and by card (approved, declined, no answer), a
# non-member who joins, idempotent retries, gifts accepted, refused and
# expired, online use by a merchant's web shop, and bad input on every new
# endpoint.  Every SMS and MMS is read at the emulators, and `glctl ledger
# check` runs after each flow.  Prints "N passed, N failed".
#
#   GL_BUILD=$PWD/build bash tests/system/webd_flows.sh
. "$(dirname "${BASH_SOURCE[0]}")/webd_lib.bash"

ME=01012345678     # a member
OTHER=01087654321  # another member: the gifts' recipient
NEWBIE=01055550000 # joins on the way
CARD_OK=4111111111111111
CARD_DECLINED=5555555555554444
CARD_SILENT=4012888888881881

# ---- the deployment ------------------------------------------------------
G merchant add --id M1 --name "Store One" --group g1 >/dev/null
G product add --id PART --issuer LOTTE --brand "Lotte Dept" --type department \
  --prefix 627401 --face 50000,10000 --validity-days 365 --partial \
  --group g1 >/dev/null
G product add --id BOOK --issuer KYOBO --brand "Kyobo Books" --type books \
  --prefix 627402 --face 5000,10000 --validity-days 180 --group g1 >/dev/null
G member add --phone "$ME" >/dev/null
G member add --phone "$OTHER" >/dev/null
check "members provisioned" test "$(G member list | grep -c '010')" -ge 2
mkdir -p "$T/content"

# ---- emulators -------------------------------------------------------------
webd_smsc_start giftlink secret1
eq "gl-smsc ready line" "smsc ready port" "${SMSC_READY% *}"
webd_mmsc_start
check "gl-mmsc ready ($MMSC_URL)" grep -q '^http://127.0.0.1:[0-9]*/mm7$' <<<"$MMSC_URL"
webd_acq_start
check "gl-acq ready (port $ACQ_PORT)" test -n "$ACQ_PORT"

charged() { acq "charged $1" | sed -n 's/^ok \([0-9-]*\).*/\1/p'; }

webd_ini "$T/webd.ini" <<EOF
[limits]
codes_per_phone = 20
codes_per_ip = 100
[mmsc]
url = $MMSC_URL
[acquirer]
host = 127.0.0.1
port = $ACQ_PORT
plain = yes
terminal_id = GLWEB001
merchant_id = GIFTLINK0000001
timeout_ms = 1500
[billing]
monthly_limit = 30000
[gift]
claim_base = https://gl.test/g/
expire_days = 7
content_dir = $T/content
[jobs]
period = 1
[log]
level = info
EOF

out=$("$B/gl-webd" --config "$T/webd.ini" --check-config 2>&1)
eq "--check-config with every new section" "config ok" "$out"
sed 's/^plain = yes/plain = no/' "$T/webd.ini" > "$T/bad.ini"
out=$("$B/gl-webd" --config "$T/bad.ini" --check-config 2>&1); rc=$?
eq "--check-config: TLS acquirer without files (status)" 1 "$rc"
check "--check-config names the missing files" grep -q "ca_file" <<<"$out"

# An add-on in the catalogue (the tables exist after --check-config; the
# operator's tool for it is gift_content_add: here the row and file by hand).
printf '\x89PNG\r\n\x1a\n-a-theme-card-' > "$T/card.png"
SHA=$(sha256sum "$T/card.png" | cut -d' ' -f1)
ADDON=$(G content add --kind theme_card --title '생일 카드' --mime image/png \
          --file "$T/card.png" --dir "$T/content" --json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
check "glctl content add: the file is in the content directory" \
  cmp -s "$T/card.png" "$T/content/$SHA"
G content add --kind theme_card --title x --mime audio/mpeg --file "$T/card.png" \
  --dir "$T/content" >/dev/null 2>&1
eq "glctl content add: a theme card must be an image (status)" 1 "$?"

MKEY=$("$B/gl-webd" --config "$T/webd.ini" --make-merchant-key M1)
check "--make-merchant-key prints a key" grep -qE '^glk_[0-9a-f]{16}_[0-9a-f]{64}$' <<<"$MKEY"
out=$("$B/gl-webd" --config "$T/webd.ini" --make-merchant-key NOPE 2>&1); rc=$?
eq "--make-merchant-key for an unknown merchant (status)" 1 "$rc"
eq "only the key's hash is stored" 0 \
  "$(sqlite3 "$GL_DB" "SELECT COUNT(*) FROM online_key WHERE quote(online_key.secret_hash) LIKE '%${MKEY##*_}%'" 2>/dev/null || echo 0)"

# ---- start -------------------------------------------------------------------
check "gl-webd logs its port" webd_start "$T/webd.ini"

TOK=$(signin "$ME")
check "signed in as the member" grep -qE '^[0-9A-Fa-f]{64}$' <<<"$TOK"
AUTH=(-H "Authorization: Bearer $TOK")
buy() { # KEY JSON [token]
  local t=${3:-$TOK}
  post /v1/purchases "$2" -H "Authorization: Bearer $t" -H "Idempotency-Key: $1"
}

# ---- flow 1: phone bill ------------------------------------------------------
n=$(sms_count)
buy p1 '{"product":"BOOK","face":10000,"count":2,"payment":{"method":"phone_bill"}}'
eq "phone bill: 201" 201 "$ST"
FIRST=$BODY
eq "phone bill: done" done "$(jget 'j["result"]')"
eq "phone bill: amount" 20000 "$(jget 'j["amount"]')"
P1=$(jget '" ".join(sorted(j["vouchers"]))')
eq "phone bill: two voucher numbers" 2 "$(wc -w <<<"$P1")"
check "phone bill: the vouchers are in the basket" test "$(basket "$TOK")" = "$P1"
check "phone bill: the SMS reached the SMSC" sms_wait "$n"
check "phone bill: the SMS is the purchase text" grep -q "구매 완료" <<<"$(sms_last "$ME")"
check "phone bill: the SMS masks the numbers" bash -c "! grep -q '${P1%% *}' <<<'$(sms_last "$ME")'"
check "ledger check after the phone-bill purchase" ledger_ok

# Idempotent retry: the same answer, nothing new.
buy p1 '{"product":"BOOK","face":10000,"count":2,"payment":{"method":"phone_bill"}}'
eq "retry: 200" 200 "$ST"
eq "retry: the same body" "$FIRST" "$BODY"
eq "retry: Idempotent-Replayed" true "$(header Idempotent-Replayed)"
check "retry: no new voucher" test "$(basket "$TOK")" = "$P1"
buy p1 '{"product":"BOOK","face":5000,"count":1,"payment":{"method":"phone_bill"}}'
is_json_error "the key with other content" 409 conflict

# The monthly limit (30,000): 20,000 used, 20,000 more is refused.
buy p2 '{"product":"BOOK","face":10000,"count":2,"payment":{"method":"phone_bill"}}'
is_json_error "monthly limit reached" 403 limit
eq "limit: what remains" 10000 "$(jget 'j["remaining"]')"
check "limit: nothing issued" test "$(basket "$TOK")" = "$P1"
req GET /v1/purchases "${AUTH[@]}"
eq "purchase history: 200" 200 "$ST"
eq "purchase history: newest first" "limit done" "$(jget '" ".join(p["result"] for p in j["purchases"])')"
eq "purchase history: the bill's remainder" "30000 10000" "$(jget 'str(j["phone_bill"]["limit"])+" "+str(j["phone_bill"]["remaining"])')"
check "ledger check after the limit" ledger_ok

# ---- flow 2: a non-member joins ------------------------------------------------
NTOK=$(signin "$NEWBIE")
buy n1 '{"product":"BOOK","face":5000,"payment":{"method":"phone_bill"}}' "$NTOK"
is_json_error "non-member: 409" 409 not_member
post /v1/members '' -H "Authorization: Bearer $NTOK"
eq "join: 201" 201 "$ST"
eq "join: joined" joined "$(jget 'j["status"]')"
post /v1/members '{}' -H "Authorization: Bearer $NTOK"
eq "join again: 200" 200 "$ST"
eq "join again: already a member" already_member "$(jget 'j["status"]')"
buy n1 '{"product":"BOOK","face":5000,"payment":{"method":"phone_bill"}}' "$NTOK"
eq "after joining the same key buys: 201" 201 "$ST"
eq "after joining: one voucher" 1 "$(jget 'len(j["vouchers"])')"
req POST /v1/members
is_json_error "join without sign-in" 401 unauthorized
check "ledger check after the join" ledger_ok

# ---- flow 3: cards ---------------------------------------------------------------
buy c1 "{\"product\":\"PART\",\"face\":10000,\"count\":1,\"payment\":{\"method\":\"card\",\"number\":\"$CARD_OK\",\"expiry\":\"3012\"}}"
eq "card approved: 201" 201 "$ST"
C1=$(jget 'j["vouchers"][0]')
check "card approved: an approval code" test -n "$(jget 'j["payment_ref"]')"
eq "card approved: the acquirer charged it" 10000 "$(charged $CARD_OK)"
check "card approved: in the basket" grep -q "$C1" <<<"$(basket "$TOK")"
check "ledger check after the card" ledger_ok

# A slow acquirer does not hold the other customers up: the card purchase
# waits on the card worker, its connection suspended.
acq "delay 1000" >/dev/null
curl -s -o "$T/slow.body" -w '%{http_code}' -X POST "$URL/v1/purchases" "${AUTH[@]}" \
  -H "Idempotency-Key: c1slow" -H 'Content-Type: application/json' \
  --data-binary "{\"product\":\"BOOK\",\"face\":5000,\"payment\":{\"method\":\"card\",\"number\":\"$CARD_OK\",\"expiry\":\"3012\"}}" \
  > "$T/slow.st" &
slow=$!
sleep 0.3
t0=$(date +%s%N)
req GET /v1/catalogue
t1=$(date +%s%N)
eq "during a slow card payment the catalogue answers" 200 "$ST"
check "...at once ($(( (t1 - t0) / 1000000 )) ms)" test $(( (t1 - t0) / 1000000 )) -lt 500
wait "$slow"
eq "the slow card payment: 201" 201 "$(cat "$T/slow.st")"
acq "delay 0" >/dev/null
eq "the card charged twice now" 15000 "$(charged $CARD_OK)"

acq "decline $CARD_DECLINED 51" >/dev/null
before=$(basket "$TOK")
buy c2 "{\"product\":\"BOOK\",\"face\":5000,\"payment\":{\"method\":\"card\",\"number\":\"$CARD_DECLINED\",\"expiry\":\"3012\"}}"
is_json_error "card declined" 402 declined
eq "declined: the acquirer's code" 51 "$(jget 'j["acq_rc"]')"
eq "declined: nothing charged" 0 "$(charged $CARD_DECLINED)"
eq "declined: nothing issued" "$before" "$(basket "$TOK")"
buy c2 "{\"product\":\"BOOK\",\"face\":5000,\"payment\":{\"method\":\"card\",\"number\":\"$CARD_DECLINED\",\"expiry\":\"3012\"}}"
eq "declined, retried: the same answer" 402 "$ST"
eq "declined, retried: replayed" true "$(header Idempotent-Replayed)"

acq "silent 1" >/dev/null
buy c3 "{\"product\":\"BOOK\",\"face\":5000,\"payment\":{\"method\":\"card\",\"number\":\"$CARD_SILENT\",\"expiry\":\"3012\"}}"
is_json_error "acquirer time-out" 504 payment_timeout
eq "time-out: nothing issued" "$before" "$(basket "$TOK")"
for _ in $(seq 1 30); do
  [ "$(rows 'SELECT COUNT(*) FROM shop_reversal')" = 0 ] && break
  sleep 0.2
done
eq "time-out: the reversal was answered" 0 "$(rows 'SELECT COUNT(*) FROM shop_reversal')"
eq "time-out: the emulator's charge is 0 after the reversal" 0 "$(charged $CARD_SILENT)"
check "time-out: a reversal reached the acquirer" grep -qE 'reversals=[1-9]' <<<"$(acq stats)"
check "card numbers never in the log" bash -c "! grep -qE '$CARD_OK|$CARD_SILENT|$CARD_DECLINED' '$T/webd.log'"
check "ledger check after the declined and timed-out cards" ledger_ok

# ---- flow 4: gifts -----------------------------------------------------------------
read -r G1 G2 <<<"$P1"
G3=$C1
OTOK=$(signin "$OTHER")
OAUTH=(-H "Authorization: Bearer $OTOK")
gift() { # KEY JSON
  post /v1/gifts "$2" "${AUTH[@]}" -H "Idempotency-Key: $1"
}
post /v1/gifts/preview "{\"recipient\":\"$OTHER\",\"message\":\"생일 축하해\",\"items\":[{\"number\":\"$G1\"}],\"addons\":[$ADDON]}" "${AUTH[@]}"
eq "preview: 200" 200 "$ST"
eq "preview: total and add-on" "10000 theme_card" "$(jget 'str(j["total"])+" "+j["addons"][0]["kind"]')"
eq "preview: nothing stored" 0 "$(rows 'SELECT COUNT(*) FROM gift')"

n=$(sms_count); m=$(mmsc count)
gift g1 "{\"recipient\":\"$OTHER\",\"message\":\"생일 축하해\",\"items\":[{\"number\":\"$G1\"}],\"addons\":[$ADDON]}"
eq "gift sent: 201" 201 "$ST"
LINK=$(jget 'j["link"]')
TOKEN=${LINK##*/}
check "gift sent: a claim link" grep -q '^https://gl.test/g/[0-9a-f]\{32\}$' <<<"$LINK"
eq "gift sent: pending" pending "$(jget 'j["state"]')"
check "gift sent: the recipient's SMS at the SMSC" sms_wait "$n"
check "gift sent: the SMS holds the link" grep -qF "$LINK" <<<"$(sms_last "$OTHER")"
check "gift sent: the recipient's MMS at the MMSC" mms_wait "$m"
mlist=$(mmsc list | tail -n 1)
check "gift MMS: to the recipient with the link" grep -q "^$OTHER	.*$TOKEN" <<<"$mlist"
check "gift MMS: the add-on image" grep -q "image/png" <<<"$mlist"
check "gift MMS: no voucher number" bash -c "! grep -q '$G1' <<<'$mlist'"
req GET /v1/vouchers/"$G1" "${AUTH[@]}"
eq "the gifted voucher is reserved (frozen)" frozen "$(jget 'j["status"]')"

req GET "/v1/claims/$TOKEN"
eq "claim page: 200 without sign-in" 200 "$ST"
eq "claim page: the message and state" "생일 축하해 pending" "$(jget 'j["message"]+" "+j["state"]')"
eq "claim page: masked numbers only" "None" "$(jget 'j["items"][0].get("number")')"
req POST "/v1/claims/$TOKEN/accept" "${AUTH[@]}"
is_json_error "accept by the giver" 403 wrong_recipient
req POST "/v1/claims/$TOKEN/accept"
is_json_error "accept without sign-in" 401 unauthorized
n=$(sms_count); m=$(mmsc count)
req POST "/v1/claims/$TOKEN/accept" "${OAUTH[@]}"
eq "accept by the recipient: 200" 200 "$ST"
eq "accept: the whole number for the recipient" "$G1" "$(jget 'j["items"][0]["number"]')"
check "accepted: in the recipient's basket" grep -q "$G1" <<<"$(basket "$OTOK")"
check "accepted: not in the giver's basket" bash -c "! grep -q '$G1' <<<'$(basket "$TOK")'"
check "accepted: the giver is told by SMS" sms_wait "$n"
check "accepted: the giver's SMS" grep -q "giftlink" <<<"$(sms_last "$ME")"
check "accepted: the barcode MMS" mms_wait "$m"
check "barcode MMS: an image to the recipient" grep -q "^$OTHER	.*image/png" <<<"$(mmsc list | tail -n 1)"
req POST "/v1/claims/$TOKEN/accept" "${OAUTH[@]}"
eq "accept again: the first answer" 200 "$ST"
eq "accept again: replayed" true "$(header Idempotent-Replayed)"
req POST "/v1/claims/$TOKEN/refuse"
is_json_error "refuse an accepted gift" 409 closed
eq "closed: how it closed" accepted "$(jget 'j["state"]')"
req GET '/v1/gifts?box=received' "${OAUTH[@]}"
eq "received box" "accepted" "$(jget '" ".join(g["state"] for g in j["gifts"])')"
check "ledger check after the accepted gift" ledger_ok

# Refused: back with the giver, who is told.
n=$(sms_count)
gift g2 "{\"recipient\":\"$OTHER\",\"items\":[{\"number\":\"$G2\"}]}"
eq "second gift: 201" 201 "$ST"
T2=$(jget 'j["link"]'); T2=${T2##*/}
req POST "/v1/claims/$T2/refuse"
eq "refuse: 200" 200 "$ST"
eq "refuse: refused" refused "$(jget 'j["state"]')"
check "refused: back in the giver's basket, active" grep -q "$G2" <<<"$(basket "$TOK")"
check "refused: not with the recipient" bash -c "! grep -q '$G2' <<<'$(basket "$OTOK")'"
check "refused: the giver is told" sms_wait "$n" 2
check "refused: the giver's SMS says so" grep -q "거절" <<<"$(sms_last "$ME")"
req POST "/v1/claims/$T2/accept" "${OAUTH[@]}"
is_json_error "accept a refused gift" 409 closed
check "ledger check after the refused gift" ledger_ok

# Expired: the sweep (every second here) returns it.
gift g3 "{\"recipient\":\"$OTHER\",\"items\":[{\"number\":\"$G3\",\"amount\":4000}]}"
eq "a part of a voucher as a gift: 201" 201 "$ST"
T3=$(jget 'j["link"]'); T3=${T3##*/}
req GET /v1/vouchers/"$G3" "${AUTH[@]}"
eq "the part left the original" 6000 "$(jget 'j["balance"]')"
n=$(sms_count)
rows "UPDATE gift SET expires_at = strftime('%s','now') - 1 WHERE state = 'pending'"
for _ in $(seq 1 40); do
  [ "$(rows "SELECT state FROM gift WHERE idem_key='g3'")" = expired ] && break
  sleep 0.1
done
req GET "/v1/claims/$T3"
eq "expired: the claim page says so" expired "$(jget 'j["state"]')"
req GET /v1/vouchers/"$G3" "${AUTH[@]}"
eq "expired: the value is back in the original" 10000 "$(jget 'j["balance"]')"
check "expired: the giver is told" sms_wait "$n"
req POST "/v1/claims/$T3/accept" "${OAUTH[@]}"
is_json_error "accept an expired gift" 409 closed
req GET '/v1/gifts?box=sent' "${AUTH[@]}"
eq "sent box, newest first" "expired refused accepted" "$(jget '" ".join(g["state"] for g in j["gifts"])')"
check "ledger check after the expired gift" ledger_ok

# ---- add-on content --------------------------------------------------------------
req GET /v1/content
eq "content list: 200" 200 "$ST"
eq "content list: the card" "$ADDON theme_card image/png" "$(jget '" ".join(str(c[k]) for c in j["content"] for k in ("id","kind","mime"))')"
req GET "/v1/content/$ADDON"
eq "content file: 200" 200 "$ST"
eq "content file: its MIME type" image/png "$(header Content-Type)"
check "content file: the bytes" cmp -s "$T/body" "$T/card.png"
req GET /v1/content/999
is_json_error "unknown content" 404 not_found
req GET '/v1/content?kind=hat'
is_json_error "content: unknown kind" 400 invalid_request

# ---- flow 5: online use by a web shop ----------------------------------------------
MAUTH=(-H "Authorization: Merchant $MKEY")
online() { # OP KEY JSON
  post "/v1/online/$1" "$3" "${MAUTH[@]}" -H "Idempotency-Key: $2"
}
online authorize o1 "{\"voucher\":\"$G2\",\"amount\":3000}"
eq "authorize: 200" 200 "$ST"
eq "authorize: approved 00" "approved 00 3000" "$(jget 'j["result"]+" "+j["code"]+" "+str(j["amount"])')"
AU=$(jget 'j["auth_id"]')
AFIRST=$BODY
online authorize o1 "{\"voucher\":\"$G2\",\"amount\":3000}"
eq "authorize retried: the same body" "$AFIRST" "$BODY"
eq "authorize retried: replayed" true "$(header Idempotent-Replayed)"
online capture o2 "{\"auth_id\":\"$AU\",\"amount\":2000}"
eq "capture: 200" 200 "$ST"
eq "capture: moved and released" "2000 1000" "$(jget 'str(j["amount"])+" "+str(j["released"])')"
req GET /v1/vouchers/"$G2" "${AUTH[@]}"
eq "capture: the voucher's balance" 8000 "$(jget 'j["balance"]')"
online void o3 "{\"auth_id\":\"$AU\"}"
eq "void after capture: refunded" "200 2000" "$ST $(jget 'j["amount"]')"
online void o4 "{\"auth_id\":\"$AU\"}"
is_json_error "void twice" 409 not_allowed
eq "void twice: the DE 39-like code" 12 "$(jget 'j["code"]')"
online authorize o5 "{\"voucher\":\"$G2\",\"amount\":900000}"
is_json_error "insufficient funds" 402 insufficient_funds
eq "insufficient: code 51" 51 "$(jget 'j["code"]')"
online authorize o6 "{\"voucher\":\"6274029999999999\",\"amount\":1000}"
is_json_error "unknown voucher" 402 invalid_number_or_pin
online capture o7 '{"auth_id":"au_00000000000000000000000000000000","amount":1}'
is_json_error "unknown authorization" 404 not_found
post /v1/online/authorize "{\"voucher\":\"$G2\",\"amount\":1}" -H "Idempotency-Key: x1"
is_json_error "no merchant key" 401 unauthorized
last=${MKEY: -1}; [ "$last" = 0 ] && last=1 || last=0
post /v1/online/authorize "{\"voucher\":\"$G2\",\"amount\":1}" -H "Idempotency-Key: x1" \
  -H "Authorization: Merchant ${MKEY%?}$last"
is_json_error "a wrong merchant key" 401 unauthorized
post /v1/online/authorize "{\"voucher\":\"$G2\",\"amount\":1}" "${AUTH[@]}" -H "Idempotency-Key: x1"
is_json_error "a customer's token is no merchant key" 401 unauthorized
post /v1/online/authorize "{\"voucher\":\"$G2\",\"amount\":1}" "${MAUTH[@]}"
is_json_error "online without an Idempotency-Key" 400 idempotency_key_required
req GET /v1/vouchers/"$G2" "${AUTH[@]}"
eq "online: the voucher's balance after the refund" 10000 "$(jget 'j["balance"]')"
check "ledger check after online use" ledger_ok

# ---- bad input on the new endpoints: a clear 4xx, nothing changed ---------------
state() { rows "SELECT (SELECT COUNT(*) FROM shop_purchase) || '/' || (SELECT COUNT(*) FROM gift) || '/' || (SELECT COUNT(*) FROM outbox) || '/' || (SELECT COUNT(*) FROM online_auth) || '/' || (SELECT COUNT(*) FROM voucher)"; }
before=$(state)
buy b1 '{"product":'
is_json_error "purchase: malformed JSON" 400 malformed_json
buy b1 '{"product":"BOOK","face":"5000","payment":{"method":"phone_bill"}}'
is_json_error "purchase: face of the wrong type" 400 invalid_request
buy b1 '{"product":"BOOK","face":5000,"payment":"phone_bill"}'
is_json_error "purchase: payment not an object" 400 invalid_request
buy b1 '{"product":"BOOK","face":5000,"payment":{"method":"cash"}}'
is_json_error "purchase: unknown method" 400 invalid_request
buy b1 '{"product":"BOOK","face":5000,"payment":{"method":"phone_bill","cvv":"123"}}'
is_json_error "purchase: a CVV is refused" 400 invalid_request
buy b1 '{"product":"NOPE","face":5000,"payment":{"method":"phone_bill"}}'
is_json_error "purchase: unknown product" 400 invalid_request
buy b1 '{"product":"BOOK","face":7000,"payment":{"method":"phone_bill"}}'
is_json_error "purchase: a face not offered" 400 invalid_request
buy b1 '{"product":"BOOK","face":5000,"count":11,"payment":{"method":"phone_bill"}}'
is_json_error "purchase: too many" 400 invalid_request
buy b1 '{"product":"BOOK","face":5000,"count":4294967297,"payment":{"method":"phone_bill"}}'
is_json_error "purchase: a count past int" 400 invalid_request
buy b1 '{"product":"BOOK","face":5000,"payment":{"method":"card","number":"4111111111111112","expiry":"3012"}}'
is_json_error "purchase: a card number failing Luhn" 400 invalid_request
buy 'a b' '{"product":"BOOK","face":5000,"payment":{"method":"phone_bill"}}'
is_json_error "purchase: a key with a space" 400 invalid_request
head -c 5000 /dev/zero | tr '\0' 'a' > "$T/big"
req POST /v1/purchases "${AUTH[@]}" -H "Idempotency-Key: b2" -H 'Content-Type: application/json' --data-binary @"$T/big"
is_json_error "purchase: a huge body" 413 body_too_large
req POST /v1/gifts "${AUTH[@]}" -H "Idempotency-Key: b2" -H 'Content-Type: application/json' --data-binary @"$T/big"
is_json_error "gift: a huge body" 413 body_too_large
req POST /v1/online/authorize "${MAUTH[@]}" -H "Idempotency-Key: b2" -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @"$T/big"
is_json_error "online: a huge chunked body" 413 body_too_large
buy b1 '{"product":"BOOK","face":5000,"payment":{"method":"phone_bill"}}' 0000000000000000000000000000000000000000000000000000000000000000
is_json_error "purchase: an unknown token" 401 unauthorized
gift b3 "{\"recipient\":\"$OTHER\",\"items\":[{\"number\":\"6274029999999999\"}]}"
is_json_error "gift: an unknown voucher" 404 not_found
unknown_body=$BODY
OV=$(basket "$OTOK" | cut -d' ' -f1)
gift b3 "{\"recipient\":\"$OTHER\",\"items\":[{\"number\":\"$OV\"}]}"
is_json_error "gift: someone else's voucher" 404 not_found
eq "gift: unknown and someone else's answer alike" "$unknown_body" "$BODY"
gift b3 "{\"recipient\":\"$ME\",\"items\":[{\"number\":\"$G2\"}]}"
eq "gift to oneself: 400" 400 "$ST"
gift b3 "{\"recipient\":\"$OTHER\",\"items\":[]}"
is_json_error "gift: no items" 400 invalid_request
gift b3 "{\"recipient\":\"$OTHER\",\"items\":[{\"number\":\"$G2\",\"amount\":\"all\"}]}"
is_json_error "gift: amount of the wrong type" 400 invalid_request
gift b3 "{\"recipient\":\"$OTHER\",\"items\":[{\"number\":\"$G2\"}],\"addons\":[\"x\"]}"
is_json_error "gift: add-on of the wrong type" 400 invalid_request
post /v1/gifts "{\"recipient\":\"$OTHER\",\"items\":[{\"number\":\"$G2\"}]}" "${AUTH[@]}"
is_json_error "gift without an Idempotency-Key" 400 idempotency_key_required
req GET '/v1/gifts?box=spam' "${AUTH[@]}"
is_json_error "gifts: unknown box" 400 invalid_request
req GET /v1/claims/0123456789abcdef0123456789abcdef
is_json_error "claim: unknown token" 404 not_found
req GET '/v1/claims/../../etc'
eq "claim: a path trick" 404 "$ST"
req POST "/v1/claims/$TOKEN/refuse" -H 'Content-Type: application/json' --data-binary '{"why":"no"}'
is_json_error "refuse with members" 400 invalid_request
req POST "/v1/claims/$TOKEN/accept" "${OAUTH[@]}" -H 'Content-Type: application/json' --data-binary '{'
is_json_error "accept with malformed JSON" 400 malformed_json
online authorize b4 '{"voucher":12,"amount":1}'
is_json_error "online: voucher of the wrong type" 400 invalid_request
online authorize b4 "{\"voucher\":\"$G2\",\"amount\":0}"
is_json_error "online: amount 0" 400 invalid_request
online capture b4 '{"auth_id":"x"}'
is_json_error "online: capture without an amount" 400 invalid_request
req DELETE /v1/gifts "${AUTH[@]}"
is_json_error "gifts: wrong method" 405 method_not_allowed
eq "bad input changed nothing" "$before" "$(state)"
check "ledger check after bad input" ledger_ok

# ---- the carrier's statement -----------------------------------------------------
month=$(TZ=Asia/Seoul date +%Y-%m)
stmt=$(G billing statement --month "$month")
eq "billing statement: its header" "month,phone,purchases,vouchers,amount,refunds,refunded,net" "$(head -n 1 <<<"$stmt")"
check "billing statement: the member's phone-bill purchases ($month)" \
  grep -qE "^$month,$ME,[1-9][0-9]*,[1-9][0-9]*,[1-9][0-9]*,0,0,[1-9][0-9]*\$" <<<"$stmt"
G billing statement --month 2026-13 >/dev/null 2>&1
eq "billing statement: a bad month (status)" 2 "$?"

# ---- the log ---------------------------------------------------------------------
for v in $P1 $C1; do
  check "voucher number never in the log" bash -c "! grep -q '$v' '$T/webd.log'"
done
check "claim tokens never in the log" bash -c "! grep -q '$TOKEN' '$T/webd.log'"
check "the merchant key never in the log" bash -c "! grep -q '${MKEY##*_}' '$T/webd.log'"
check "route templates in the log" grep -q "POST /v1/claims/{token}/accept -> 200" "$T/webd.log"
webd_stop; rc=$?
eq "SIGTERM: exit 0" 0 "$rc"

if [ "$fail" -gt 0 ]; then
  echo "--- gl-webd log (tail)"; tail -n 60 "$T/webd.log"
fi
finish
