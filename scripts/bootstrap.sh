#!/bin/sh
# Install what dmsc needs on Debian 12 (only what is missing), then build it
# in the source tree. Used by demo.sh and run-tests.sh; safe to run again.
set -eu

cd "$(dirname "$0")/.."

# Build and test dependencies, as Debian 12 packages.
PACKAGES="build-essential autoconf automake libtool pkg-config
  libp11-kit-dev p11-kit p11-kit-modules libssl-dev openssl libxml2-dev libsqlite3-dev sqlite3
  check opensc softhsm2 gnutls-bin libengine-pkcs11-openssl util-linux xxd
  clang libclang-rt-14-dev time
  xmlsec1 libxmlsec1-dev libwbxml2-utils python3
  libnss3-tools openjdk-17-jdk-headless python3-pykcs11
  libpcsclite-dev pcscd vsmartcard-vpcd python3-virtualsmartcard python3-asn1crypto python3-cryptography
  libtasn1-6-dev libtasn1-bin"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    echo "==> Installing Debian packages:$missing"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || {
            echo "error: not root and sudo is missing; install as root:$missing" >&2
            exit 1
        }
        SUDO=sudo
    fi
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

echo "==> Building dmsc"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
    ./autogen.sh >/dev/null 2>&1 || ./autogen.sh
fi
if [ ! -f Makefile ] || [ configure -nt config.status ]; then
    ./configure --sysconfdir=/etc --enable-werror --quiet
fi
make -j"$(nproc)" --no-print-directory >/dev/null
echo "==> Built $(pwd)/.libs/dmsc-pkcs11.so"
