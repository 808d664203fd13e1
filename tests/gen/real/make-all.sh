#!/bin/bash
# make-all.sh — regenerate every capture under pcaps/real/ (about 2 minutes, as root).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
"$HERE/modbus-pymodbus.sh"
"$HERE/modbus-poller-pause.sh"
"$HERE/modbus-same-tid.sh"
"$HERE/echonet-npm.sh"
"$HERE/appendix-i1-scan.sh"
"$HERE/mqtt-mosquitto.sh"
"$HERE/coap-libcoap.sh"
"$HERE/tls-openssl.sh"
"$HERE/enip-npm.sh"
"$HERE/bacnet-npm.sh"
"$HERE/s7-snap7.sh"
"$HERE/opcua-npm.sh"
