#!/bin/sh
# Installs what x1367ids needs on Debian 12 and builds it in place.
# Used by the README's two quick-start commands and by CI.
set -eu
cd "$(dirname "$0")/.."

# Build and test dependencies, all Debian 12 packages.
PACKAGES="build-essential autoconf automake libtool pkg-config python3
libpcap-dev libndpi-dev libjson-c-dev libmaxminddb-dev libgcrypt20-dev libcriterion-dev
clang libclang-rt-14-dev tshark tcpreplay iproute2
librelp-dev libgnutls28-dev rsyslog rsyslog-relp rsyslog-gnutls openssl
libmicrohttpd-dev prometheus curl"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "bootstrap: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure
make -j"$(nproc)"
