#!/usr/bin/env bash
# The fast check for contributors (`make check`), a subset of scripts/test.sh
# meant to run in under 3 minutes with a warm build cache:
#
#   gofmt      gofmt -l . prints nothing
#   vet        go vet ./...
#   staticcheck staticcheck ./... (pinned version, installed if missing)
#   go test    go test -short -race ./... (cached results are reused)
#
# It leaves out what only `make test` runs: the uncached, non-short go test
# run, the end-to-end demo check and the benchmark smoke run.
#
# Every stage runs even if an earlier one failed; the last line is
# "N passed, N failed" and the exit status is 1 if any stage failed. The
# stages are shared with scripts/test.sh through scripts/lib.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

need_go check

stages_begin
stage gofmt check_gofmt
stage vet go vet ./...
stage staticcheck run_staticcheck
stage "go test" go test -short -race ./...
stages_end
