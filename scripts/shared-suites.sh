#!/usr/bin/env bash
# Runs the shared suites against a freshly built cairn:
#   ../shared/acceptance/tutorial_doctest.py and webapp_check.py (Motor),
#   ../shared/spec-tests through cmd/cairn-spec.
# Installs the Debian packages the acceptance scripts need when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
shared="${SHARED_DIR:-$root/../shared}"
export PATH="$PATH:/usr/local/go/bin"

if [ ! -d "$shared" ]; then
	echo "shared-suites: $shared not found" >&2
	exit 1
fi

bash scripts/install-python-clients.sh

tmp=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/cairn" ./cmd/cairn
go build -o "$tmp/cairn-spec" ./cmd/cairn-spec
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$tmp/cairn" --listen-addr "127.0.0.1:$port" --data-dir "$tmp/data" --enable-test-commands --log-level warn >"$tmp/cairn.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
	if (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then break; fi
	sleep 0.1
done
uri="mongodb://127.0.0.1:$port/"
status=0

echo "== acceptance: tutorial_doctest.py"
/usr/bin/python3 "$shared/acceptance/tutorial_doctest.py" --uri "$uri" || status=1
echo "== acceptance: webapp_check.py"
/usr/bin/python3 "$shared/acceptance/webapp_check.py" --uri "$uri" || status=1

echo "== spec tests"
"$tmp/cairn-spec" --uri "$uri" --spec-dir "$shared/spec-tests" \
	--expected-failures "$root/spectest-expected-failures.txt" \
	crud gridfs collection-management index-management run-command \
	command-logging-and-monitoring/tests/monitoring versioned-api \
	read-write-concern/tests/operation retryable-reads || status=1

if [ "$status" -ne 0 ]; then
	echo "shared-suites: FAILED (server log follows)"; tail -50 "$tmp/cairn.log"
fi
exit "$status"
