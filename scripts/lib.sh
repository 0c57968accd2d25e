# Shell helpers shared by scripts/demo.sh and bench/run.sh (sourced, after
# the caller has cd'ed to the repository root).

XCADDY_VERSION=v0.4.5

# The Caddy version the plugin is built against: go.mod's, unless set.
CADDY_VERSION=${CADDY_VERSION:-$(awk '$1 == "github.com/caddyserver/caddy/v2" { print $2; exit }' go.mod)}

# step prints a heading for the next thing the script does.
step() { printf '\n==> %s\n' "$*"; }

# find_xcaddy sets XCADDY to an xcaddy binary: the one in GOBIN (or
# GOPATH/bin), else on PATH, else it installs the pinned version there
# through the Go module proxy.
find_xcaddy() {
	local gobin
	gobin=$(go env GOBIN)
	[[ -n $gobin ]] || gobin="$(go env GOPATH | cut -d: -f1)/bin"
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
