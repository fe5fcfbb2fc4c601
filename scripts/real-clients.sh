#!/usr/bin/env bash
# The real-client check: Motor and PyMongo from Debian against a fresh Cairn.
#
#   bash scripts/real-clients.sh
#
# Installs python3-motor, python3-pymongo, python3-gridfs and python3-aiohttp
# when /usr/bin/python3 can't import them, builds cmd/cairn, starts it on a
# free port with an empty data directory, and runs against it:
#   - scripts/tutorial_check.py (the project's own walk through Motor's
#     asyncio tutorial, including aiohttp and GridFS);
#   - ../shared/acceptance/tutorial_doctest.py and webapp_check.py, when
#     ../shared/acceptance exists.
# The server is stopped by its PID on exit. Exits non-zero if anything failed.
#
# CAIRN_BIN=/path/to/cairn uses that binary instead of building one.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$PATH:/usr/local/go/bin"
PY=/usr/bin/python3

log() { echo "real-clients: $*"; }

# --- client libraries -------------------------------------------------------
if ! "$PY" -c 'import motor, aiohttp, pymongo, gridfs' >/dev/null 2>&1; then
	log "installing python3-motor python3-pymongo python3-gridfs python3-aiohttp"
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		sudo="sudo"
	fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update
	$sudo apt-get install -y python3-motor python3-pymongo python3-gridfs python3-aiohttp
	"$PY" -c 'import motor, aiohttp, pymongo, gridfs'
fi
"$PY" -c 'import motor, pymongo, aiohttp; print("real-clients: Motor %s, PyMongo %s, aiohttp %s" % (motor.version, pymongo.version, aiohttp.__version__))'

# --- build and start the server -------------------------------------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/cairn-real-clients.XXXXXX")"
pid=""
cleanup() {
	status=$?
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "server $pid did not stop on SIGTERM within 10s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		wait "$pid" 2>/dev/null || true
	fi
	if [ "$status" -ne 0 ] && [ -s "$tmp/cairn.log" ]; then
		log "last lines of the server log:"
		tail -n 40 "$tmp/cairn.log" | sed 's/^/    /'
	fi
	rm -rf "$tmp"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${CAIRN_BIN:-}" ]; then
	bin="$CAIRN_BIN"
	log "using $bin"
else
	bin="$tmp/cairn"
	log "building ./cmd/cairn"
	go build -o "$bin" ./cmd/cairn
fi

port="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
mkdir -p "$tmp/data"
"$bin" --listen-addr "127.0.0.1:$port" --data-dir "$tmp/data" >"$tmp/cairn.log" 2>&1 &
pid=$!
log "started cairn (pid $pid) on 127.0.0.1:$port"

ready=""
for _ in $(seq 1 300); do # up to 30s
	if ! kill -0 "$pid" 2>/dev/null; then
		log "cairn exited before accepting connections"
		exit 1
	fi
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		ready=1
		break
	fi
	sleep 0.1
done
if [ -z "$ready" ]; then
	log "cairn did not accept connections on 127.0.0.1:$port within 30s"
	exit 1
fi

uri="mongodb://127.0.0.1:$port/"

# --- the checks -------------------------------------------------------------
failed=()
run_check() {
	local name="$1"
	shift
	log "== $name"
	if "$@"; then
		log "$name: passed"
	else
		log "$name: FAILED (exit $?)"
		failed+=("$name")
	fi
}

run_check "tutorial_check.py" "$PY" scripts/tutorial_check.py --uri "$uri"

acceptance="$root/../shared/acceptance"
if [ -d "$acceptance" ]; then
	run_check "acceptance/tutorial_doctest.py" "$PY" "$acceptance/tutorial_doctest.py" --uri "$uri"
	run_check "acceptance/webapp_check.py" "$PY" "$acceptance/webapp_check.py" --uri "$uri"
else
	log "no $acceptance: skipping the shared acceptance scripts"
fi

if ! kill -0 "$pid" 2>/dev/null; then
	log "cairn is no longer running after the checks"
	failed+=("server still running")
fi

if [ "${#failed[@]}" -gt 0 ]; then
	log "FAILED: ${failed[*]}"
	exit 1
fi
log "all real-client checks passed"
