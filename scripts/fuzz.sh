#!/usr/bin/env bash
# Runs every Fuzz* target of the root package (`make fuzz`), one after the
# other, and stops at the first failure (go test leaves the failing input in
# testdata/fuzz/<target>/).
#
# Environment:
#   FUZZTIME=30s          -fuzztime of each target
#   FUZZMINIMIZETIME=10x  -fuzzminimizetime of each target. Minimising each
#                         new input with the default (60 s) stalls targets
#                         whose coverage keeps growing (x509 parsing under
#                         FuzzDecision).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

FUZZTIME=${FUZZTIME:-30s}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-10x}

need_go fuzz

list=$(go test -list 'Fuzz.*' .)
targets=$(grep '^Fuzz' <<<"$list" || true)
[[ -n $targets ]] || {
	echo "no Fuzz targets in the root package"
	exit 1
}
for t in $targets; do
	echo "==> go test -run '^\$' -fuzz '^$t\$' -fuzztime $FUZZTIME -fuzzminimizetime $FUZZMINIMIZETIME ."
	go test -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" . || exit 1
done
