#!/bin/sh
# First process of the enclave app (Odyn runs it). Starts the database relay, then hands over to the supervisor.
set -eu
# acra-server speaks raw TCP to the database; Enclaver only offers an HTTP CONNECT egress proxy on :10000
# (issue enclaver#69), so a local socat bridges 127.0.0.1:5432 to the parent's DB relay through that proxy.
socat TCP4-LISTEN:5432,bind=127.0.0.1,reuseaddr,fork PROXY:127.0.0.1:host:${DB_RELAY_PORT:-15432},proxyport=10000 &
mkdir -p /run/acra/keys
chmod 0700 /run/acra/keys
exec node /opt/enclave/supervisor.mjs --config /etc/enclave/supervisor.json
