#!/usr/bin/env bash
# Runs the real-client checks in clients/node against a freshly built cairn:
#   clients/node/check.js         the official MongoDB Node.js driver (6.x)
#   clients/node/mongosh-check.js mongosh (2.x) with --quiet --eval
# Installs the pinned npm packages (npm ci) when node_modules is missing.
# The server gets a free loopback port and an empty temporary data dir, and
# is killed on exit. Exits non-zero when either check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="$PATH:/usr/local/go/bin"
clients="$root/clients/node"

if [ ! -d "$clients/node_modules" ]; then
	echo "== npm ci (clients/node)"
	(cd "$clients" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

tmp=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/cairn" ./cmd/cairn
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
"$tmp/cairn" --listen-addr "127.0.0.1:$port" --data-dir "$tmp/data" >"$tmp/cairn.log" 2>&1 &
pid=$!

up=0
for _ in $(seq 1 100); do
	if ! kill -0 "$pid" 2>/dev/null; then break; fi
	if (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then up=1; break; fi
	sleep 0.1
done
if [ "$up" -ne 1 ]; then
	echo "node-clients: cairn did not start listening on 127.0.0.1:$port (log follows)" >&2
	tail -50 "$tmp/cairn.log" >&2
	exit 1
fi

uri="mongodb://127.0.0.1:$port/"
status=0

echo "== node driver: clients/node/check.js"
node "$clients/check.js" "$uri" || status=1
echo "== mongosh: clients/node/mongosh-check.js"
node "$clients/mongosh-check.js" "$uri" || status=1

if ! kill -0 "$pid" 2>/dev/null; then
	echo "node-clients: cairn exited during the checks" >&2
	status=1
fi
if [ "$status" -ne 0 ]; then
	echo "node-clients: FAILED (server log follows)"
	tail -50 "$tmp/cairn.log"
else
	echo "node-clients: ok"
fi
exit "$status"
