# shellcheck shell=bash
# Shell helpers shared by scripts/demo.sh, scripts/test.sh, scripts/check.sh,
# scripts/fuzz.sh and bench/run.sh (sourced, after the caller has cd'ed to
# the repository root and set ROOT to it): pinned tool versions, xcaddy and
# staticcheck lookup, process and build helpers, and the stages of the test
# scripts.

XCADDY_VERSION=v0.4.5
STATICCHECK_VERSION=v0.8.2 # works with Go 1.26

# The Caddy version the plugin is built against: go.mod's, unless set.
CADDY_VERSION=${CADDY_VERSION:-$(awk '$1 == "github.com/caddyserver/caddy/v2" { print $2; exit }' go.mod)}

# step prints a heading for the next thing the script does.
step() { printf '\n==> %s\n' "$*"; }

# gobin_dir prints where go install puts binaries: GOBIN, else GOPATH/bin.
gobin_dir() {
	local gobin
	gobin=$(go env GOBIN)
	[[ -n $gobin ]] || gobin="$(go env GOPATH | cut -d: -f1)/bin"
	printf '%s\n' "$gobin"
}

# find_xcaddy sets XCADDY to an xcaddy binary: the one in GOBIN (or
# GOPATH/bin), else on PATH, else it installs the pinned version there
# through the Go module proxy.
find_xcaddy() {
	local gobin
	gobin=$(gobin_dir)
	if [[ -x $gobin/xcaddy ]]; then
		XCADDY=$gobin/xcaddy
	elif command -v xcaddy >/dev/null; then
		XCADDY=$(command -v xcaddy)
	else
		step "installing xcaddy $XCADDY_VERSION (go install)"
		go install "github.com/caddyserver/xcaddy/cmd/xcaddy@$XCADDY_VERSION"
		XCADDY=$gobin/xcaddy
		if [[ ! -x $XCADDY ]]; then
			echo "go install did not produce $XCADDY" >&2
			return 1
		fi
	fi
}

# stop_pid PID stops a process the calling script started: TERM, up to 5 s
# for it to exit, then KILL.
stop_pid() {
	local pid=$1
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# caddy_is_stale BINARY succeeds if BINARY is missing, reports another Caddy
# version than CADDY_VERSION, or is older than a Go source that goes into it
# (non-test *.go files outside bench/, internal/ and testdata, which are
# tools and test helpers), go.mod or go.sum. FORCE_BUILD=1 makes it succeed.
caddy_is_stale() {
	local bin=$1 newer
	[[ ${FORCE_BUILD:-0} == 1 || ! -x $bin ]] && return 0
	[[ $("$bin" version 2>/dev/null) == "$CADDY_VERSION"* ]] || return 0
	newer=$(find . \( -path ./build -o -path ./.git -o -path ./bench -o -path ./internal -o -name testdata \) -prune -o \
		\( \( -name '*.go' ! -name '*_test.go' \) -o -name go.mod -o -name go.sum \) \
		-newer "$bin" -print -quit)
	[[ -n $newer ]]
}

# need_go NAME exits with an error naming the calling script (NAME) if go is
# not on PATH.
need_go() {
	command -v go >/dev/null || {
		echo "$1: go is not on PATH" >&2
		exit 1
	}
}

# Stages (scripts/test.sh, scripts/check.sh): stages_begin, then one
# `stage NAME COMMAND...` per stage (each runs even if an earlier one
# failed), then stages_end, which prints the summary, ending with
# "N passed, N failed", and fails if any stage failed.

# stages_begin resets the bookkeeping of stage and starts the clock.
stages_begin() {
	PASSED=0
	FAILED=0
	SUMMARY=()
	STAGES_START=$SECONDS
}

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

# stages_end prints one line per stage and "N passed, N failed"; it fails if
# any stage failed.
stages_end() {
	printf '\n==> summary (%d s)\n' "$((SECONDS - STAGES_START))"
	printf '%s\n' "${SUMMARY[@]}"
	echo "$PASSED passed, $FAILED failed"
	((FAILED == 0))
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
	gobin=$(gobin_dir)
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

# port_open HOST PORT succeeds if something accepts TCP connections there.
port_open() {
	local host=$1 port=$2
	[[ $host == localhost || -z $host ]] && host=127.0.0.1
	(exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# check_free NAME HOST PORT [COMMAND] fails (through the caller's die) if
# PORT is taken, suggesting another port for NAME (and COMMAND to run with
# it). Caddy sets SO_REUSEPORT, so it would start even on a taken port and
# share its connections with whatever holds it: check first, before a long
# build.
check_free() {
	local name=$1 host=$2 port=$3 command=${4:-}
	[[ $port =~ ^[0-9]+$ ]] || die "$name: \"$port\" is not a port number"
	if port_open "$host" "$port"; then
		local example=$((port + 10000))
		[[ $name == *ADMIN_ADDR ]] && example="${host:-localhost}:$example"
		die "port $port ($name) is already in use (another Caddy?); stop that process or choose another, e.g. $name=$example${command:+ $command}"
	fi
}

# print_table FIRST_HEADER prints the global ROWS (tab-separated: first
# column, client certificate, expected, got, result) as an aligned table.
print_table() {
	local w1=${#1} w2=18 w3=8 w4=3 row d c e g r
	for row in "${ROWS[@]}"; do
		IFS=$'\t' read -r d c e g _ <<<"$row"
		((${#d} > w1)) && w1=${#d}
		((${#c} > w2)) && w2=${#c}
		((${#e} > w3)) && w3=${#e}
		((${#g} > w4)) && w4=${#g}
	done
	local fmt="%-${w1}s | %-${w2}s | %-${w3}s | %-${w4}s | %s\n"
	# shellcheck disable=SC2059
	printf "$fmt" "$1" "client certificate" expected got result
	printf '%s\n' "$(printf '%*s' $((w1 + w2 + w3 + w4 + 18)) '' | tr ' ' -)"
	for row in "${ROWS[@]}"; do
		IFS=$'\t' read -r d c e g r <<<"$row"
		# shellcheck disable=SC2059
		printf "$fmt" "$d" "$c" "$e" "$g" "$r"
	done
}
