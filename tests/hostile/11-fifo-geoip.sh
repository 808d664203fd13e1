#!/bin/sh
# Defect 6. --geoip names a FIFO.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fifo.sh"
mkfifo "$work/GeoLite2-City.mmdb"
fifo_case "--geoip FIFO" 'GeoLite2-City.mmdb: a FIFO, not a regular file: refused' --rules "$rules" \
	--geoip "$work/GeoLite2-City.mmdb"
