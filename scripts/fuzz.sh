#!/usr/bin/env bash
# Runs every fuzz target for a bounded time each.
#
#   FUZZTIME=20s scripts/fuzz.sh            # all targets, 20 s each (default)
#   FUZZTIME=5m scripts/fuzz.sh FuzzPipeline  # only targets whose name matches
#
# A target that finds a failure writes the input to the package's
# testdata/fuzz/<Target>/ directory (Go's standard behaviour) and the
# script goes on with the next target; it exits non-zero if any target
# failed and lists the new files. Reproduce one with
#   go test ./<pkg> -run '<Target>/<file>'
# Commit a crasher as a regression seed only once the bug is fixed.
set -u
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-20s}"
FILTER="${1:-}"
# Every fuzz target, as "./pkg FuzzName", as the go command lists them
# (so that a new target cannot be left out, and build tags count).
module=$(go list -m)
if ! listed=$(go test -list '^Fuzz' ./... 2>&1); then
  echo "$listed" >&2
  echo "fuzz.sh: go test -list failed" >&2
  exit 1
fi
mapfile -t TARGETS < <(echo "$listed" |
  awk -v m="$module" '/^Fuzz/ { names[++n] = $1; next }
    /^ok / { sub("^" m, ".", $2); for (i = 1; i <= n; i++) print $2 " " names[i]; n = 0 }')
if (( ${#TARGETS[@]} == 0 )); then
  echo "fuzz.sh: no fuzz targets found" >&2
  exit 1
fi
failed=()
start=$(date +%s)
for t in "${TARGETS[@]}"; do
  pkg=${t% *}
  name=${t#* }
  if [[ -n "$FILTER" && "$name" != *"$FILTER"* ]]; then
    continue
  fi
  echo "=== $name ($pkg) for $FUZZTIME"
  before=$(ls "$pkg/testdata/fuzz/$name" 2>/dev/null | sort)
  if ! go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" 2>&1 | tail -n 25; then
    :
  fi
  after=$(ls "$pkg/testdata/fuzz/$name" 2>/dev/null | sort)
  new=$(comm -13 <(echo "$before") <(echo "$after") | sed '/^$/d')
  if [[ -n "$new" ]]; then
    echo "--- $name found failing inputs:"
    for f in $new; do echo "    $pkg/testdata/fuzz/$name/$f"; done
    failed+=("$name")
  fi
done
echo "=== fuzzed for $(( $(date +%s) - start ))s in total"
if (( ${#failed[@]} > 0 )); then
  echo "FAIL: ${failed[*]}"
  exit 1
fi
echo "PASS"
