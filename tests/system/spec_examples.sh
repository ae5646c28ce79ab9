#!/usr/bin/env bash
# tests/system/spec_examples.sh - keeps docs/host-interface.md true to the
# codec.
#
#  - The examples section (between <!-- examples:begin --> and
#    <!-- examples:end -->) must be exactly what docs/gen-host-examples.sh
#    prints with $GL_BUILD/bin/gl-iso today; otherwise the diff is shown
#    (fix: docs/gen-host-examples.sh --update).  A tampered copy of the
#    section must be caught by the same comparison.
#  - Every vector of tests/vectors and every MTI of the link has an example.
#  - The reference 0200 has exactly the fields the document promises.
#  - Every vector obeys the MAC-field rule (DE 128 when a field 65..127 is
#    present, else DE 64, never both) and carries a KS of 24 or 20 upper-case
#    hex digits in a well-formed DE 48.
#  - The data element table of section 3 gives, for every DE it lists, the
#    codec's name and format.
# Prints "N passed, N failed"; exits non-zero on failure.
set -u
GL_BUILD=${GL_BUILD:-build}
cd "$(dirname "$0")/../.."
ISO=$GL_BUILD/bin/gl-iso
DOC=docs/host-interface.md
GEN=docs/gen-host-examples.sh
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$ISO" ]; then
  bad "no gl-iso at $ISO"
  finish
fi
ok

# The lines strictly between the markers of file $1.
section() {
  awk '/^<!-- examples:end -->$/ { on = 0 } on { print } /^<!-- examples:begin -->$/ { on = 1 }' "$1"
}

nb=$(grep -c '^<!-- examples:begin -->$' "$DOC")
ne=$(grep -c '^<!-- examples:end -->$' "$DOC")
lb=$(grep -n '^<!-- examples:begin -->$' "$DOC" | head -n 1 | cut -d: -f1)
le=$(grep -n '^<!-- examples:end -->$' "$DOC" | head -n 1 | cut -d: -f1)
if [ "$nb" -eq 1 ] && [ "$ne" -eq 1 ] && [ "$lb" -lt "$le" ]; then
  ok
else
  bad "$DOC needs one begin marker before one end marker (found $nb begin, $ne end)"
  finish
fi

# 1. The section is what the generator prints now.
if GL_ISO=$ISO bash "$GEN" >"$tmp/generated.md" 2>"$tmp/gen.err"; then
  ok
else
  bad "$GEN failed: $(cat "$tmp/gen.err")"
  finish
fi
section "$DOC" >"$tmp/doc.md"
if [ "$(wc -l <"$tmp/generated.md")" -gt 100 ]; then ok; else bad "generator printed only $(wc -l <"$tmp/generated.md") lines"; fi
if diff -u "$tmp/doc.md" "$tmp/generated.md" >"$tmp/diff"; then
  ok
else
  bad "the examples of $DOC are stale (run $GEN --update); diff doc -> generated:"
  head -n 60 "$tmp/diff"
fi
# The comparison catches a one-digit change in a frame.
awk 'BEGIN { done = 0 } length($0) == 64 && /^[0-9A-F]+$/ && !done { $0 = (substr($0, 1, 1) == "0" ? "1" : "0") substr($0, 2); done = 1 } { print }' \
  "$tmp/doc.md" >"$tmp/tampered.md"
if ! cmp -s "$tmp/doc.md" "$tmp/tampered.md" && ! diff -q "$tmp/tampered.md" "$tmp/generated.md" >/dev/null; then
  ok
else
  bad "a tampered section was not told apart from the generated one"
fi

# 2. Every vector and every MTI of the link has an example.
for v in tests/vectors/*.txt; do
  if grep -q "^\`$v\`, ASCII profile\." "$tmp/generated.md"; then ok; else bad "no example for $v"; fi
done
for m in 0100 0110 0200 0210 0220 0221 0230 0320 0330 0400 0401 0410 0420 0421 0430 0500 0510 0800 0810; do
  if grep -q "^| MTI | Message type indicator | n 4 | \`$m\` |$" "$tmp/generated.md"; then ok; else bad "no example with MTI $m"; fi
done
if grep -q '^#### 0200 redemption: the reference message, BCD profile$' "$tmp/generated.md"; then ok; else bad "no BCD example"; fi

# 3. The reference 0200 carries exactly DE 2 3 4 7 11 12 13 22 25 37 41 42 48 49 64.
ref=$("$ISO" encode <tests/vectors/0200-redeem.txt | "$ISO" decode --clear | cut -d= -f1 | tr '\n' ' ')
want="mti 2 3 4 7 11 12 13 22 25 37 41 42 48 49 64 "
if [ "$ref" = "$want" ]; then ok; else bad "reference 0200 fields: got '$ref', want '$want'"; fi
# "Decodes to the same field list as the ASCII frame": true of every vector.
for v in tests/vectors/*.txt; do
  a=$("$ISO" encode <"$v" | "$ISO" decode --clear)
  b=$("$ISO" encode --profile bcd <"$v" | "$ISO" decode --clear --profile bcd)
  if [ -n "$a" ] && [ "$a" = "$b" ]; then ok; else bad "$(basename "$v"): the BCD frame decodes differently"; fi
done

# 4. MAC field and KS of every vector.
for v in tests/vectors/*.txt; do
  name=$(basename "$v")
  fields=$("$ISO" encode <"$v" | "$ISO" decode --clear | cut -d= -f1)
  high=0; has64=0; has128=0
  for f in $fields; do
    [ "$f" = mti ] && continue
    if [ "$f" -gt 64 ] && [ "$f" -lt 128 ]; then high=1; fi
    [ "$f" = 64 ] && has64=1
    [ "$f" = 128 ] && has128=1
  done
  if [ "$high" -eq 1 ] && [ "$has128" -eq 1 ] && [ "$has64" -eq 0 ]; then
    ok
  elif [ "$high" -eq 0 ] && [ "$has64" -eq 1 ] && [ "$has128" -eq 0 ]; then
    ok
  else
    bad "$name: MAC field (fields 65..127 present: $high, DE 64: $has64, DE 128: $has128)"
  fi
  de48=$(sed -n 's/^48=//p' "$v")
  ks="" rest=$de48 wellformed=1
  while [ -n "$rest" ]; do
    if ! [[ "$rest" =~ ^[A-Za-z0-9]{2}[0-9]{3} ]]; then wellformed=0; break; fi
    tag=${rest:0:2}; len=$((10#${rest:2:3}))
    if [ "${#rest}" -lt $((5 + len)) ]; then wellformed=0; break; fi
    [ "$tag" = KS ] && [ -z "$ks" ] && ks=${rest:5:$len}
    rest=${rest:$((5 + len))}
  done
  if [ "$wellformed" -eq 1 ] && [[ "$ks" =~ ^([0-9A-F]{24}|[0-9A-F]{20})$ ]]; then
    ok
  else
    bad "$name: DE 48 '$de48' is not well-formed TLV with a KS of 24 or 20 upper-case hex digits"
  fi
done

# 5. Section 3's table against the codec's field table.
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
rows=0
while IFS='|' read -r _ num name fmt _; do
  num=$(echo "$num" | tr -d ' '); name=$(echo "$name" | sed 's/^ *//; s/ *$//'); fmt=$(echo "$fmt" | sed 's/^ *//; s/ *$//')
  [[ "$num" =~ ^[0-9]+$ ]] || continue
  rows=$((rows + 1))
  if [ "$name" = "${NAME[$num]:-}" ] && [ "$fmt" = "${FMT[$num]:-}" ]; then
    ok
  else
    bad "section 3, DE $num: doc says '$name' / '$fmt', codec says '${NAME[$num]:-undefined}' / '${FMT[$num]:-}'"
  fi
done < <(awk '/^## 3 Data elements/ { on = 1; next } /^## / { on = 0 } on' "$DOC")
if [ "$rows" -ge 40 ]; then ok; else bad "section 3 lists only $rows data elements"; fi

finish
