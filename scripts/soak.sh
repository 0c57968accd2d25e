#!/usr/bin/env bash
# The soak test (`make soak`): many mTLS clients against an in-process Caddy
# on loopback while the config is reloaded through the admin API, alternating
# two policies. See TestSoak in soak_test.go for what it asserts.
#
# Environment (all optional):
#   SOAK_DURATION      how long the clients run (default 60s)
#   SOAK_CLIENTS       number of clients, each with its own certificate (default 32)
#   SOAK_RELOAD_EVERY  interval between config reloads (default 250ms)
#   SOAK_PAUSE         pause between a client's requests (default 2ms)
#   SOAK_HEAPPROFILE   write a heap profile there at the end (go tool pprof)
#   SOAK_RACE=1        build with the race detector (slower)
#
# The last line printed by the test is the summary: requests, allowed, denied,
# reloads, errors, 5xx, violations, goroutines and heap samples.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v go >/dev/null || {
	echo "soak: go is not on PATH" >&2
	exit 1
}

args=(-count=1 -run '^TestSoak$' -timeout 30m -v)
if [[ ${SOAK_RACE:-} == 1 ]]; then
	args+=(-race)
fi

echo "==> SOAK=1 go test ${args[*]} . (duration ${SOAK_DURATION:-60s})"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
SOAK=1 go test "${args[@]}" . >"$log" 2>&1 || rc=$?
# Caddy logs to the same output; show the test's own lines.
grep -E '^(=== RUN|--- |PASS|FAIL|ok |soak: )|soak_test\.go:' "$log" || true
if ((rc != 0)); then
	echo "soak: FAILED (exit $rc); full output follows" >&2
	tail -n 200 "$log" >&2
fi
exit "$rc"
