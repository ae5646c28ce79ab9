#!/usr/bin/env bash
# toolchain/deps.sh - installs the Debian 12 packages giftlink needs.
#
# Installs only what is missing, so a second run does nothing; needs root
# (or sudo) when something is missing, and says what is missing otherwise.
set -euo pipefail

PACKAGES=(
  # build
  build-essential pkg-config clang libclang-rt-14-dev
  # libraries the code links (DESIGN.md "Dependencies")
  libmbedtls-dev libsqlite3-dev libnfc-dev libnfc-bin libserialport-dev
  libinih-dev libncurses-dev
  # SMS notifications over SMPP 3.4 (host-server/smpp_client.c, gl-smsc)
  libsmpp34-dev
  # the customer HTTP JSON API (host-server/webd_*.c, gl-webd)
  libmicrohttpd-dev libjansson-dev
  # MMS over MM7 (host-server/mms.c): HTTP POST, the barcode PNG (libzint
  # below); the MMSC emulator gl-mmsc runs on libmicrohttpd
  libcurl4-openssl-dev libpng-dev
  # test tools: the ISO 8583 oracle, instruction counts, ptys, certificates
  tshark wireshark-common valgrind socat sqlite3 xxd python3 openssl
  # gl-hostd sync tests: fault injection into fdatasync (strace -e inject)
  strace
  # receipt tests: render decoded barcodes (libzint) and scan them back (zbarimg)
  libzint-dev zbar-tools
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
  else
    echo "deps: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the answer does not matter
# to the project (it only reads files), so keep the default quietly.
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "deps: done"
