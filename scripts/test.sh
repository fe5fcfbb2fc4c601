#!/usr/bin/env bash
# The one command that passes all of Cairn's own tests on a fresh machine:
# formatting and vet, unit and integration tests (go test ./...), short
# fuzzing runs, and the real-client check (Motor/PyMongo from Debian).
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

echo "== real clients"
bash scripts/real-clients.sh
