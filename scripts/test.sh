#!/usr/bin/env bash
# The one command that passes all of Cairn's own tests on a fresh machine:
# formatting and vet, unit and integration tests (go test ./...: including
# 20 SIGKILL crash-recovery cycles and the spec runner's self-tests, then
# the concurrent packages again with -race), and
# the real-client checks: Motor/PyMongo from Debian (scripts/real-clients.sh)
# and the Node driver and mongosh from npm (scripts/node-clients.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test"
go test -count=1 ./...

# The packages whose state is shared between goroutines (the storage
# engine's caches and snapshots, the catalog's memory, the planner's
# lending of engine bytes, connections and cursors) again under the race
# detector, which also turns on Pebble's invariant checks.
echo "== go test -race (storage, catalog, planner, commands, server)"
go test -race -count=1 ./internal/storage/... ./internal/catalog ./internal/planner ./internal/commands ./internal/server

echo "== real clients: Motor and PyMongo"
bash scripts/real-clients.sh

echo "== real clients: Node driver and mongosh"
bash scripts/node-clients.sh
