#!/bin/bash
# tls-certs.sh DIR — make the throw-away PKI that tls-openssl.sh uses, in DIR.
# Nothing here is committed: keys are made fresh on every run (P-256, small).
#
#   ca.pem / ca.key            "plant CA": the CA every honest peer trusts
#   rogue-ca.pem / .key        the attacker's CA: nobody trusts it
#   device.pem / .key          server certificate from the plant CA, valid 10 years
#   expired.pem / .key         server certificate from the plant CA, valid only
#                              2020-01-01 .. 2021-01-01 (made with `openssl ca
#                              -startdate/-enddate`: OpenSSL 3.0's x509 and req have
#                              no way to set a start date in the past, and faketime is
#                              not in Debian's base system)
#   forged.pem / .key          server certificate for the same name from the rogue CA
#   gateway.pem / .key         client certificate from the plant CA
#   forged-client.pem / .key   client certificate from the rogue CA (X.1367 I.2)
set -euo pipefail
D=$1
mkdir -p "$D"
cd "$D"
O=openssl

key() { $O genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

# A self-signed CA (req -x509 adds basicConstraints CA:TRUE from the default config).
ca() {
	key "$1"
	$O req -x509 -new -key "$1.key" -subj "/O=$2/CN=$2 Root" -days 3650 -sha256 -out "$1.pem"
}

# A leaf certificate signed by CA $2 for subject CN $3; $4 = serverAuth or clientAuth.
leaf() {
	key "$1"
	$O req -new -key "$1.key" -subj "/O=x1367 test/CN=$3" -out "$1.csr"
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=DNS:%s\n' \
		"$4" "$3" >"$1.ext"
	$O x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 3650 -sha256 \
		-extfile "$1.ext" -out "$1.pem" 2>/dev/null
}

ca ca "Plant"
ca rogue-ca "Rogue"
leaf device ca device1.plant.example serverAuth
leaf forged rogue-ca device1.plant.example serverAuth
leaf gateway ca gateway.plant.example clientAuth
leaf forged-client rogue-ca gateway.plant.example clientAuth

# The expired one: `openssl ca` is the tool that takes explicit dates.
key expired
$O req -new -key expired.key -subj "/O=x1367 test/CN=device2.plant.example" -out expired.csr
mkdir -p ca-db
: >ca-db/index.txt
echo 1000 >ca-db/serial
cat >ca-db/ca.cnf <<EOF
[ ca ]
default_ca = plant
[ plant ]
database = $D/ca-db/index.txt
new_certs_dir = $D/ca-db
serial = $D/ca-db/serial
default_md = sha256
policy = any
unique_subject = no
x509_extensions = server
[ any ]
organizationName = optional
commonName = supplied
[ server ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:device2.plant.example
EOF
$O ca -batch -config ca-db/ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
	-startdate 20200101000000Z -enddate 20210101000000Z -notext 2>/dev/null

# Sanity: what each certificate is, as OpenSSL's verifier sees it.
for c in device expired forged; do
	printf '%s: ' "$c"
	{ $O verify -CAfile ca.pem "$c.pem" 2>&1 || true; } | grep -E 'OK|error [0-9]+' | head -n 1
done
