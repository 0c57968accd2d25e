#!/usr/bin/env bash
# The whole test suite (`make test`, and CI through .ci/run):
#
#   gofmt      gofmt -l . prints nothing
#   vet        go vet ./...
#   staticcheck staticcheck ./... (pinned version, installed if missing)
#   go test    go test -race -count=1 ./... (with REQUIRE_OPENSSL=1: the
#              tests of the DN forms run openssl, which must be installed)
#   e2e        scripts/demo.sh --check: builds Caddy with xcaddy as a user
#              does, serves example.Caddyfile and drives it with curl
#   revocation scripts/revocation-e2e.sh: CRL and OCSP end to end with
#              openssl ca, openssl ocsp, curl and s_client against that Caddy
#   bench      every go test benchmark once (-benchtime 1x), then a short
#              run of the load harness (bench/run.sh) on a few rows, whose
#              sample requests check each configuration allows and denies
#              what its row assumes. Nothing here asserts on time.
#
# Every stage runs even if an earlier one failed; the last line is
# "N passed, N failed" and the exit status is 1 if any stage failed. The
# stage bookkeeping, gofmt and staticcheck stages are in scripts/lib.sh,
# shared with scripts/check.sh (`make check`, the fast subset).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

need_go test

# bench_smoke keeps the benchmarks and the load harness working; the
# numbers it prints are meaningless at these durations.
bench_smoke() {
	go test -run '^$' -bench . -benchtime 1x ./... || return 1
	BENCH_ROWS=h1,h2own,gotest,manycerts BENCH_DURATION=1s BENCH_WARMUP=500ms BENCH_REPEATS=2 \
		BENCH_CERTS=50 BENCH_CERTS_EXTRA=50 BENCH_GOTEST_COUNT=1 BENCH_PROFILE_SECONDS=1 BENCH_NGINX=off \
		bash bench/run.sh
}

stages_begin
stage gofmt check_gofmt
stage vet go vet ./...
stage staticcheck run_staticcheck
# TestOpenSSLFormsMatch runs openssl: required here, not skipped.
stage "go test" env REQUIRE_OPENSSL=1 go test -race -count=1 ./...
stage e2e bash scripts/demo.sh --check
stage revocation bash scripts/revocation-e2e.sh
stage bench bench_smoke
stages_end
