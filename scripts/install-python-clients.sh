#!/usr/bin/env bash
# Installs Debian's Motor, PyMongo, GridFS and aiohttp for /usr/bin/python3
# when they are missing.
set -euo pipefail
if /usr/bin/python3 -c 'import motor, pymongo, gridfs, aiohttp' 2>/dev/null; then
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3-motor python3-pymongo python3-gridfs python3-aiohttp >/dev/null
