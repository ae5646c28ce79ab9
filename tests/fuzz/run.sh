#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS BUILD - runs every libFuzzer harness of
# build/fuzz for SECONDS each, from a seed corpus made of the example
# messages (tests/vectors, encoded by gl-iso in both profiles), and reports
# executions and crashes per harness.  Crash inputs are kept in
# build/fuzz/artifacts/; corpora grow in build/fuzz/corpus/<harness>/.
set -u
secs=${1:-30}
build=${2:-build}
cd "$(dirname "$0")/../.."
iso=$build/bin/gl-iso
out=build/fuzz
mkdir -p "$out/artifacts"

seed() { # harness
  local h=$1 dir=$out/corpus/$1 i=0
  mkdir -p "$dir"
  case "$h" in
    fuzz_iso_unpack)
      for v in tests/vectors/*.txt; do
        i=$((i + 1))
        { printf '\x00'; "$iso" encode --raw <"$v" | xxd -r -p; } >"$dir/seed-a$i"
        { printf '\x01'; "$iso" encode --raw --profile bcd <"$v" | xxd -r -p; } >"$dir/seed-b$i"
      done ;;
    fuzz_iso_reasm)
      { printf '\x07'; for v in tests/vectors/*.txt; do "$iso" encode <"$v" | xxd -r -p; done; } >"$dir/seed-all"
      { printf '\x00'; "$iso" encode <tests/vectors/0200-redeem.txt | xxd -r -p; } >"$dir/seed-one" ;;
    fuzz_config)
      printf '[host]\naddress=127.0.0.1\nport=7443\n[offline]\nenabled=yes\nfloor_limit=20000\n' >"$dir/seed-ok"
      printf '[host]\naddress = a ; comment\n' >"$dir/seed-comment" ;;
    # device harnesses: the lines, swipes, frames and receipts of the unit
    # tests (test_scanner, test_magstripe, test_irda, test_escpos)
    fuzz_scanner) # eol/aim, max_line, allowed set, chunk seed, then bytes
      printf '\x03\x00\x00\x05ABC\rDEF\rA\nB\r\r\n\n\r4111111111111111\r\n' >"$dir/seed-eol"
      printf '\x04\x00\x01\x07]C04111111111111111\r]Q1hello\r4111111111111111\r]C\r]C0\r' >"$dir/seed-aim"
      { printf '\x02\x14\x00\x09' ; printf '12\r\n1\r2\r\n41\x0111\r\n'
        printf '7%.0s' $(seq 30); printf '\r\n'; } >"$dir/seed-crlf" ;;
    fuzz_magstripe) # LRC flag, chunk seed, then the reader's bytes
      { printf '\x00\x05%s%s\r\n' '%B9410123456789012^HONG/GILDONG^2712101000000?' ';9410123456789012=2712101000000?'
        printf ';6277001234567890=2812201?\n;4111111111111111=2812201?\r\r\n'
        printf ';9410123456789012=2713101?\n%%A9410123456789012^HONG^2712101?\n'; } >"$dir/seed-swipes"
      printf '\x01\x03%s!%s1\r' '%B9410123456789012^HONG/GILDONG^2712101000000?' ';9410123456789012=2712101000000?' >"$dir/seed-lrc" ;;
    fuzz_irda) # mode 0: line bytes; mode 1: R-APDU size, then records
      printf '\x00\x07\x55\xc1\xc0\xc0\x05\x30\x7d\xe0\x7d\x5d\x00\xa4\x89\x90\xc1\xc0\x05\x30\x7d\xc1\xc0\x05\x34\x7d\xe0\x7d\x5d\x00\xa4\x89\x90\xc1' >"$dir/seed-frames"
      # UA with both device addresses, the R-APDU, UA to DISC
      printf '\x01\x05\xff\x01\x0a\x42\x73NOHP\x01\x00\x4d\x7e\x01\x06\x42\x30\x01\x02\x90\x00\x01\x02\x42\x73' >"$dir/seed-session"
      # the phone busy (RR, and RR again while polled) before its answer;
      # then a phone that says DM
      printf '\x01\x09\x04\x01\x0a\x42\x73NOHP\x01\x00\x4d\x7e\x01\x02\x42\x31\x01\x02\x42\x31\x01\x06\x42\x30\x01\x02\x90\x00\x01\x02\x42\x73' >"$dir/seed-busy"
      printf '\x01\x02\x10\x01\x02\x42\x1f' >"$dir/seed-dm" ;;
    fuzz_escpos) # mode 0: output size, printer bytes; mode 1: fields
      { printf '\x00\xf0\x1b@\x1bt\x00\x1bR\x0d\x1bE\x01Amount: 12,500\x1c&'
        printf '승인금액' | iconv -f UTF-8 -t EUC-KR
        printf '\x1c.\n\x1bE\x00\x1ba\x01\x1dh\x50\x1dw\x02\x1dH\x02\x1dk\x49\x08{C\x00\x01\x17\x2d\x43\x59'
        printf '\x1d(k\x0a\x001P0GL-4111\x1d(k\x03\x001Q0\x1bd\x03\x1dV\x01\x10\x04\x01'; } >"$dir/seed-receipt"
      printf '\x00\x10ab\x1b\x99' >"$dir/seed-bad"
      printf '\x00\x40\x1dk\x49\x09{B12' >"$dir/seed-cut"
      printf '\x01Amount: 12,500원 승인금액\n\x00000123456789\x00https://giftlink.example/v/4111' >"$dir/seed-roundtrip" ;;
    fuzz_mm7) # HTTP status (2 bytes), then the SubmitRsp or fault body
      printf '\x00\xc8<env:Envelope><env:Body><SubmitRsp><Status><StatusCode>1000</StatusCode><StatusText>Success</StatusText></Status><MessageID>MMSC000001</MessageID></SubmitRsp></env:Body></env:Envelope>' >"$dir/seed-ok"
      printf '\x01\xf4<env:Fault><faultstring>Validation error</faultstring><StatusCode>4004</StatusCode></env:Fault>' >"$dir/seed-fault"
      printf '\x01\xf7<StatusCode>4006</StatusCode><StatusText>Service Unavailable</StatusText>' >"$dir/seed-throttle" ;;
    fuzz_webd_http) # selector (1 bearer, 2 bearer of the recipient, 3 merchant
      # key; +4 Content-Type; +8 Idempotency-Key), then the request; @V0..@V4,
      # @P0, @P1, @T0, @A0 stand for the harness's vouchers, purchases,
      # claim token and hold (docs/customer-api.md)
      wq() { # name selector method path [body]
        local b=${5-}
        { printf "\\x$(printf %02x "$2")"
          printf '%s %s HTTP/1.1\r\nHost: gl\r\n' "$3" "$4"
          if [ -n "$b" ]; then printf 'Content-Length: %d\r\n\r\n%s' "${#b}" "$b"
          else printf '\r\n'; fi; } >"$dir/seed-$1"; }
      wq code 4 POST /v1/auth/code '{"phone": "01012345678"}'
      wq session 4 POST /v1/auth/session '{"phone": "01012345678", "code": "482913"}'
      wq signout 1 DELETE /v1/auth/session
      wq catalogue 0 GET '/v1/catalogue?type=books&amount=10000'
      wq info 0 GET /v1/info
      wq basket 1 GET /v1/vouchers
      wq voucher 1 GET /v1/vouchers/@V0
      wq history 1 GET /v1/vouchers/@V1/history
      wq member 1 POST /v1/members '{}'
      wq buy 13 POST /v1/purchases '{"product": "BOOK", "face": 10000, "count": 2, "payment": {"method": "phone_bill"}}'
      wq buycard 13 POST /v1/purchases '{"product": "BOOK", "face": 5000, "count": 1, "payment": {"method": "card", "number": "4111111111111111", "expiry": "3012"}}'
      wq purchases 1 GET /v1/purchases
      wq refund 5 POST /v1/purchases/@P0/refund '{}'
      wq cashout-q 1 GET /v1/vouchers/@V2/cashout
      wq cashout 5 POST /v1/vouchers/@V2/cashout '{"bank": "004", "account": "12345678901234"}'
      wq extend 5 POST /v1/vouchers/@V1/extend '{"days": 30}'
      wq preview 5 POST /v1/gifts/preview '{"recipient": "01087654321", "message": "hi", "items": [{"number": "@V0"}, {"number": "@V3", "amount": 4000}], "addons": []}'
      wq gift 13 POST /v1/gifts '{"recipient": "01087654321", "message": "hi", "items": [{"number": "@V0"}], "addons": []}'
      wq gifts 1 GET '/v1/gifts?box=received'
      wq claim 0 GET /v1/claims/@T0
      wq accept 6 POST /v1/claims/@T0/accept '{}'
      wq refuse 4 POST /v1/claims/@T0/refuse '{}'
      wq content 0 GET '/v1/content?kind=theme_card'
      wq content1 0 GET /v1/content/1
      wq authorize 15 POST /v1/online/authorize '{"voucher": "@V3", "amount": 3000}'
      wq capture 15 POST /v1/online/capture '{"auth_id": "@A0", "amount": 2000}'
      wq void 15 POST /v1/online/void '{"auth_id": "@A0"}'
      printf '\x05POST /v1/vouchers/@V1/extend HTTP/1.1\r\nHost: gl\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"day\r\n8\r\ns": 30}\r\n0\r\n\r\n' >"$dir/seed-chunked"
      printf '\x01GET /v1/vouchers HTTP/1.1\r\nHost: gl\r\n\r\nGET /v1/purchases HTTP/1.1\r\nHost: gl\r\n\r\n' >"$dir/seed-pipelined"
      printf '\x04POST /v1/auth/code HTTP/1.1\r\nHost: gl\r\nExpect: 100-continue\r\nContent-Length: 24\r\n\r\n{"phone": "01012345678"}' >"$dir/seed-expect"
      printf '\x04POST /v1/auth/code HTTP/1.1\r\nHost: gl\r\nContent-Length: 9\r\n\r\n{"phone":' >"$dir/seed-short"
      printf '\x00GET /v1/vouchers/../../etc HTTP/1.0\r\n\r\n' >"$dir/seed-dots"
      printf '\x00\x00\xff garbage\r\n\r\n' >"$dir/seed-garbage" ;;
    fuzz_smpp_receipt) # mode 0: a deliver_sm body; mode 1: raw PDUs
      local rcpt='id:SMSC0000000001 sub:001 dlvrd:001 submit date:2612011200 done date:2612011201 stat:DELIVRD err:000 text:'
      local tlvs='\x00\x1e\x00\x0fSMSC0000000001\x00\x04\x27\x00\x01\x02'
      dsm() { # esm_class, short_message, TLVs (printf escapes)
        printf '\x00\x01\x01821012345678\x00\x00\x001588\x00%b\x00\x00\x00\x00\x00\x00\x00\x00' "$1"
        printf "\\x$(printf %02x ${#2})%s%b" "$2" "$3"; }
      { printf '\x00'; dsm '\x04' "$rcpt" "$tlvs"; } >"$dir/seed-receipt"
      { printf '\x00'; dsm '\x04' "$rcpt" ''; } >"$dir/seed-text"
      { printf '\x00'; dsm '\x04' 'stat:UNDELIV err:001' "$tlvs"; } >"$dir/seed-tlv"
      { printf '\x00'; dsm '\x04' '' '\x04\x27\x00\x01\x05\x00\x1e\x00\x03ab\x00'; } >"$dir/seed-state"
      { printf '\x00'; dsm '\x00' 'hello' ''; } >"$dir/seed-mo"
      # enquire_link, the receipt as a whole PDU, an unbind
      { printf '\x01\x00\x00\x00\x10\x00\x00\x00\x15\x00\x00\x00\x00\x00\x00\x00\x07'
        body=$(dsm '\x04' "$rcpt" "$tlvs" | xxd -p | tr -d '\n')
        local L=$((16 + ${#body} / 2))
        printf "$(printf '\\x%02x' $((L >> 24)) $((L >> 16 & 255)) $((L >> 8 & 255)) $((L & 255)))"
        printf '\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x08'
        printf '%s' "$body" | xxd -r -p
        printf '\x00\x00\x00\x10\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00\x09'; } >"$dir/seed-stream" ;;
  esac
}

status=0
for f in "$out"/fuzz_*; do
  [ -x "$f" ] || continue
  h=$(basename "$f")
  seed "$h"
  log=$out/$h.log
  "$f" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$out/artifacts/$h-" \
    "$out/corpus/$h" >"$log" 2>&1
  rc=$?
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  crashes=$(ls "$out/artifacts/" 2>/dev/null | grep -c "^$h-" || true)
  echo "FUZZ harness=$h seconds=$secs executions=${execs:-0} crashes=$crashes exit=$rc"
  [ "$rc" -ne 0 ] && { status=1; tail -n 30 "$log"; }
done
exit $status
