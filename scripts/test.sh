#!/usr/bin/env bash
# The whole test suite (`make test`, and CI through .ci/run):
#
#   gofmt      gofmt -l . prints nothing
#   vet        go vet ./...
#   staticcheck staticcheck ./... (pinned version, installed if missing)
#   go test    go test -race -count=1 ./...
#   e2e        scripts/demo.sh --check: builds Caddy with xcaddy as a user
#              does, serves example.Caddyfile and drives it with curl
#   bench      every go test benchmark once (-benchtime 1x), then a short
#              run of the load harness (bench/run.sh) on a few rows, whose
#              sample requests check each configuration allows and denies
#              what its row assumes. Nothing here asserts on time.
#
# Every stage runs even if an earlier one failed; the last line is
# "N passed, N failed" and the exit status is 1 if any stage failed.
set -euo pipefail

STATICCHECK_VERSION=v0.8.2 # works with Go 1.26

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

command -v go >/dev/null || {
	echo "test: go is not on PATH" >&2
	exit 1
}

PASSED=0
FAILED=0
SUMMARY=()

# stage NAME COMMAND... runs one stage and records its result.
stage() {
	local name=$1
	shift
	printf '\n==> %s: %s\n' "$name" "$*"
	local start=$SECONDS rc=0
	"$@" || rc=$?
	local took=$((SECONDS - start))
	if ((rc == 0)); then
		PASSED=$((PASSED + 1))
		SUMMARY+=("$(printf 'PASS  %-12s %4ds' "$name" "$took")")
	else
		FAILED=$((FAILED + 1))
		SUMMARY+=("$(printf 'FAIL  %-12s %4ds  (exit %d)' "$name" "$took" "$rc")")
	fi
}

check_gofmt() {
	local out
	out=$(gofmt -l .)
	if [[ -n $out ]]; then
		echo "gofmt -l . lists files that need gofmt -w:"
		echo "$out"
		return 1
	fi
}

# find_staticcheck sets STATICCHECK to a staticcheck of the pinned version:
# the one on PATH or in GOPATH/bin if it is that version, else one installed
# into build/tools (so a different version of the user's is left alone).
find_staticcheck() {
	local gobin cand
	gobin=$(go env GOBIN)
	[[ -n $gobin ]] || gobin="$(go env GOPATH | cut -d: -f1)/bin"
	for cand in "$(command -v staticcheck || true)" "$gobin/staticcheck" "$ROOT/build/tools/staticcheck"; do
		[[ -n $cand && -x $cand ]] || continue
		if go version -m "$cand" 2>/dev/null | awk '$1 == "mod" && $2 == "honnef.co/go/tools" { print $3 }' | grep -qx "$STATICCHECK_VERSION"; then
			STATICCHECK=$cand
			return 0
		fi
	done
	echo "installing staticcheck $STATICCHECK_VERSION into build/tools (go install)"
	GOBIN="$ROOT/build/tools" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" || return 1
	STATICCHECK=$ROOT/build/tools/staticcheck
}

run_staticcheck() {
	find_staticcheck || return 1
	"$STATICCHECK" -version
	"$STATICCHECK" ./...
}

# bench_smoke keeps the benchmarks and the load harness working; the
# numbers it prints are meaningless at these durations.
bench_smoke() {
	go test -run '^$' -bench . -benchtime 1x ./... || return 1
	BENCH_ROWS=h1,h2own,gotest,manycerts BENCH_DURATION=1s BENCH_WARMUP=500ms BENCH_REPEATS=2 \
		BENCH_CERTS=50 BENCH_CERTS_EXTRA=50 BENCH_GOTEST_COUNT=1 BENCH_PROFILE_SECONDS=1 BENCH_NGINX=off \
		bash bench/run.sh
}

start=$SECONDS
stage gofmt check_gofmt
stage vet go vet ./...
stage staticcheck run_staticcheck
stage "go test" go test -race -count=1 ./...
stage e2e bash scripts/demo.sh --check
stage bench bench_smoke

printf '\n==> summary (%d s)\n' "$((SECONDS - start))"
printf '%s\n' "${SUMMARY[@]}"
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
