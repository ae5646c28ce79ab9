#!/usr/bin/env bash
# docs/gen-host-examples.sh - generates the "Examples" section of
# docs/host-interface.md from the example messages of tests/vectors, so the
# specification shows exactly what the codec puts on the wire.
#
#   docs/gen-host-examples.sh            prints the section (markdown) on stdout
#   docs/gen-host-examples.sh --update   rewrites the section of the document in
#                                        place, between the lines
#                                        <!-- examples:begin --> and
#                                        <!-- examples:end -->
#
# gl-iso is taken from $GL_ISO, else $GL_BUILD/bin/gl-iso, else
# build/bin/gl-iso.  Every vector is encoded with `gl-iso encode` (ASCII
# profile; the reference 0200 also in the BCD profile) and decoded back with
# `gl-iso decode --clear`; the frame is printed as hex wrapped at 64 hex
# digits a line, then the decoded field list.  The order below is fixed and
# grouped by MTI; a vector missing from it is appended under "Other
# examples" (so tests/system/spec_examples.sh reports the document as stale),
# a listed vector that does not exist is an error.
#
# Every frame is signed with the link's MAC (gl-iso --bdk) under the
# published test BDK its KSN belongs to: tests/keys/test-tdes.bdk for a
# 20-digit TDES KSN, tests/keys/test-aes128.bdk otherwise.
#
# Exit status: 0, or 1 with the reason on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

DOC=docs/host-interface.md
VEC=tests/vectors
ISO=${GL_ISO:-${GL_BUILD:-build}/bin/gl-iso}

die() {
  echo "gen-host-examples: $*" >&2
  exit 1
}

update=0
case "${1:-}" in
  --update) update=1 ;;
  '') ;;
  *) die "usage: $0 [--update]" ;;
esac
[ -x "$ISO" ] || die "no gl-iso at $ISO (set GL_ISO or GL_BUILD)"

# "= heading" starts a group; "file|title" is one example.
ORDER=(
  "= Network management (0800/0810)"
  "0800-signon.txt|0800 sign-on (DE 70 = 001)"
  "0810-signon.txt|0810 answer to the sign-on"
  "0800-echo.txt|0800 echo test (DE 70 = 301)"
  "= Authorization (0100/0110)"
  "0100-balance.txt|0100 balance inquiry (DE 3 = 316000)"
  "0110-balance.txt|0110 answer to the balance inquiry"
  "0100-hold.txt|0100 hold (DE 3 = 006000)"
  "0110-hold.txt|0110 answer to the hold"
  "= Financial (0200/0210)"
  "0200-redeem.txt|0200 redemption: the reference message"
  "0210-redeem.txt|0210 answer to the reference redemption"
  "0210-partial.txt|0210 partial approval (DE 39 = 10)"
  "0200-membership-pin.txt|0200 redemption by membership card, AES PIN block"
  "0210-membership.txt|0210 answer to the membership-card redemption (DE 48 VD)"
  "0200-legacy-pin.txt|0200 redemption from a TDES DUKPT terminal, PIN block in DE 52"
  "0210-decline.txt|0210 decline (DE 39 = 55) to the TDES terminal"
  "0200-nfc-phone.txt|0200 redemption by a phone wallet over NFC (DE 22 = 811)"
  "0200-refund.txt|0200 refund (DE 3 = 200060)"
  "0200-void.txt|0200 void (DE 3 = 026000, DE 90)"
  "0200-activate.txt|0200 counter sale / activation (DE 3 = 900060)"
  "= Advices (0220/0221/0230)"
  "0220-offline.txt|0220 advice of an offline approval (DE 48 OF = Y)"
  "0221-offline-repeat.txt|0221 repeat of the advice"
  "0230-offline.txt|0230 answer to the advice"
  "0220-completion.txt|0220 completion of a hold (DE 90 names the 0100)"
  "0230-completion.txt|0230 answer to the completion"
  "= Reversals (0400/0401/0410, 0420/0421/0430)"
  "0400-reversal.txt|0400 reversal after a time-out"
  "0401-reversal-repeat.txt|0401 repeat of the reversal"
  "0410-reversal.txt|0410 answer to the reversal"
  "0420-reversal-advice.txt|0420 reversal advice after a power cut"
  "0421-reversal-advice-repeat.txt|0421 repeat of the reversal advice"
  "0430-reversal-advice.txt|0430 answer to the reversal advice"
  "= Reconciliation and batch upload (0500/0510, 0320/0330)"
  "0500-reconcile.txt|0500 batch close with totals"
  "0510-reconcile.txt|0510 totals do not match (DE 39 = 95)"
  "0320-batch-upload.txt|0320 batch upload of one transaction"
  "0330-batch-upload.txt|0330 answer to the upload"
)
BCD_REF=0200-redeem.txt

# Field table of the codec: NAME[f], FMT[f] ("n 6", "n ..19", "ans ...999",
# "x+n 16", "b 8"), the notation the document's tables use.
declare -A NAME FMT
while read -r num type kind max name; do
  case "$type" in -) continue ;; esac
  NAME[$num]=$name
  case "$kind" in
    fixed) if [ "$type" = x+n ]; then FMT[$num]="x+n $((max - 1))"; else FMT[$num]="$type $max"; fi ;;
    LLVAR) FMT[$num]="$type ..$max" ;;
    LLLVAR) FMT[$num]="$type ...$max" ;;
  esac
done < <("$ISO" fields)
[ "${#NAME[@]}" -gt 100 ] || die "gl-iso fields printed no table"

# A value as a markdown table cell: a code span, '|' escaped.
cell() {
  local v=${1//|/\\|}
  if [[ "$v" == *'`'* ]]; then printf '`` %s ``' "$v"; else printf '`%s`' "$v"; fi
}

# DE 48 as "TAG `value`" items; a withheld value stays "(withheld)".
tlv_items() {
  local v=$1 out="" tag len val
  while [ -n "$v" ]; do
    tag=${v:0:2}
    len=${v:2:3}
    [[ "$len" =~ ^[0-9]{3}$ ]] || { echo "malformed"; return; }
    if [ "${v:5:10}" = "(withheld)" ]; then
      val="(withheld)"
      v=${v:15}
    else
      val=${v:5:$((10#$len))}
      v=${v:$((5 + 10#$len))}
    fi
    out+="${out:+, }**$tag** $(cell "$val")"
  done
  printf '%s' "$out"
}

# One example: heading, source and description, frame hex, field table.
example() {
  local file=$1 title=$2 profile=${3:-ascii} path=$VEC/$1 hex desc nbytes
  local -a flags=(--profile "$profile")
  if grep -q '^48=.*KS020' "$path"; then
    flags+=(--bdk tests/keys/test-tdes.bdk)
  else
    flags+=(--bdk tests/keys/test-aes128.bdk)
  fi
  hex=$("$ISO" encode "${flags[@]}" <"$path") || die "$file: gl-iso encode failed"
  desc=$(sed -n 's/^# \{0,1\}//p' "$path" | tr '\n' ' ' | sed 's/ *$//')
  nbytes=$((${#hex} / 2))
  echo "#### $title"
  echo
  echo "\`tests/vectors/$file\`, ${profile^^} profile. $desc"
  echo
  echo "Frame: $nbytes bytes (2-byte length header, then $((nbytes - 2)) bytes of message):"
  echo
  echo '```'
  echo "$hex" | fold -w 64
  echo '```'
  echo
  if [ "$profile" != ascii ]; then
    echo "Decodes to the same field list as the ASCII frame above."
    echo
    return
  fi
  echo "| DE | Name | Format | Value |"
  echo "|---:|---|---|---|"
  local line key val tlv=""
  while IFS= read -r line; do
    key=${line%%=*}
    val=${line#*=}
    if [ "$key" = mti ]; then
      echo "| MTI | Message type indicator | n 4 | $(cell "$val") |"
      continue
    fi
    echo "| $key | ${NAME[$key]} | ${FMT[$key]} | $(cell "$val") |"
    [ "$key" = 48 ] && tlv=$val
  done < <(echo "$hex" | "$ISO" decode --clear --framed "${flags[@]}" |
           grep -v '^mac=verified$' ||
           die "$file: gl-iso decode failed (or its MAC did not verify)")
  echo
  if [ -n "$tlv" ]; then
    echo "DE 48 elements: $(tlv_items "$tlv")."
    echo
  fi
}

generate() {
  local entry file title
  local -A listed=()
  echo "<!-- Generated by docs/gen-host-examples.sh from tests/vectors; do not edit by hand. -->"
  echo
  for entry in "${ORDER[@]}"; do
    if [ "${entry:0:2}" = "= " ]; then
      echo "### ${entry:2}"
      echo
      continue
    fi
    file=${entry%%|*}
    title=${entry#*|}
    [ -f "$VEC/$file" ] || die "listed vector $VEC/$file does not exist"
    listed[$file]=1
    example "$file" "$title"
  done
  local others=()
  for file in "$VEC"/*.txt; do
    file=${file##*/}
    [ -n "${listed[$file]:-}" ] || others+=("$file")
  done
  if [ "${#others[@]}" -gt 0 ]; then
    echo "### Other examples"
    echo
    for file in "${others[@]}"; do
      example "$file" "${file%.txt}"
    done
  fi
  echo "### The reference 0200 in the BCD profile"
  echo
  example "$BCD_REF" "0200 redemption: the reference message, BCD profile" bcd
}

if [ "$update" -eq 0 ]; then
  generate
  exit 0
fi

tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.doc"' EXIT
generate >"$tmp"
[ "$(grep -c '^<!-- examples:begin -->$' "$DOC")" -eq 1 ] &&
  [ "$(grep -c '^<!-- examples:end -->$' "$DOC")" -eq 1 ] ||
  die "$DOC must hold exactly one <!-- examples:begin --> and one <!-- examples:end --> line"
awk -v gen="$tmp" '
  /^<!-- examples:begin -->$/ { print; while ((getline l < gen) > 0) print l; skip = 1; next }
  /^<!-- examples:end -->$/ { skip = 0 }
  !skip { print }
' "$DOC" >"$tmp.doc"
cat "$tmp.doc" >"$DOC"
echo "gen-host-examples: $DOC updated" >&2
