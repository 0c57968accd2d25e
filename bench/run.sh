#!/usr/bin/env bash
# Load harness of the client_certificate plugin (`make bench`).
#
# Builds Caddy with the plugin (build/caddy, reused when up to date) and stock
# Caddy of the same version (build/caddy-stock), generates a demo PKI, and for
# each row of the performance issue starts the two configurations it compares
# on loopback (free ports), checks that each answers a sample request the way
# the row assumes (aborts otherwise), then drives them with vegeta, 16
# workers at full speed, alternating A B A B ... (the ratios are corrected
# for drift, see pairRatios in bench/cmd/benchtool/table.go). It prints one
# markdown table of medians and ratios with the target of each row, and
# writes it to build/bench/results.md.
#
# Rows: 1-2 handler vs. no handler (HTTP/1.1, HTTP/2 keep-alive), 3 handler
# vs. stock Caddy + CEL expression, 4 trust_pool handler under mode request
# vs. require_and_verify, 5 verifier vs. none on new connections, 6-7 and 12
# `go test -bench Decision`, 8 10,000 distinct client certificates (RSS and
# heap), 9 nginx with and without a map $ssl_client_fingerprint allowlist
# (only if nginx is installed), 10-11 diagnostics for row 2: a no-op Caddy
# handler (vars) vs. none, and the client_certificate handler vs. that
# no-op handler, both over HTTP/2; 13 the handler with its decision metrics
# (the default) vs. the same handler with disable_metrics.
#
# Needs Go, the Go module proxy (xcaddy, vegeta) and Linux (/proc).
# Environment:
#   BENCH_DURATION=8s     length of one measured run
#   BENCH_REPEATS=5       measured runs per configuration and row
#   BENCH_WORKERS=16      vegeta workers (connections for HTTP/1.1)
#   BENCH_WARMUP=2s       unmeasured run of each configuration before a row
#   BENCH_SCHEDULE=alternate  A B A B ... one after the other; "together" runs
#                         A and B at the same time instead (each with its own
#                         vegeta and BENCH_WORKERS workers): both then see the
#                         same state of a shared machine, so drift between
#                         runs cancels, but the ratio is measured under
#                         contention (the two servers share the CPUs)
#   BENCH_CERTS=10000     distinct client certificates in row 8
#   BENCH_CERTS_EXTRA=    more distinct certificates after those, to show where
#                         memory levels off (default: as many as BENCH_CERTS)
#   BENCH_GOTEST_COUNT=5  go test -count for rows 6-7 and 12
#   BENCH_ROWS=h1,h2,cel,trustpool,verifier,gotest,manycerts,nginx,h2noop,h2own,metrics
#                         rows to run (the table shows the others as not run)
#   BENCH_NGINX=PATH|off  nginx binary (default: nginx on PATH, if any)
#   BENCH_PROFILE_ROWS=h2,h2noop,h2own
#                         load rows whose two Caddy configurations also get a
#                         CPU profile, in an extra run after the measured
#                         ones; both run with the admin endpoint on (idle
#                         during the measured runs); "off" for none
#   BENCH_PROFILE_SECONDS=8  length of each profile
#   FORCE_BUILD=1         rebuild build/caddy and build/caddy-stock
set -euo pipefail

VEGETA_VERSION=v12.13.0

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

DURATION=${BENCH_DURATION:-8s}
REPEATS=${BENCH_REPEATS:-5}
WORKERS=${BENCH_WORKERS:-16}
WARMUP=${BENCH_WARMUP:-2s}
SCHEDULE=${BENCH_SCHEDULE:-alternate}
CERTS=${BENCH_CERTS:-10000}
CERTS_EXTRA=${BENCH_CERTS_EXTRA:-$CERTS}
GOTEST_COUNT=${BENCH_GOTEST_COUNT:-5}
ALL_ROWS=h1,h2,cel,trustpool,verifier,gotest,manycerts,nginx,h2noop,h2own,metrics
ROWS=${BENCH_ROWS:-$ALL_ROWS}
PROFILE_ROWS=${BENCH_PROFILE_ROWS:-h2,h2noop,h2own}
PROFILE_SECONDS=${BENCH_PROFILE_SECONDS:-8}

OUT=build/bench
PKI=$ROOT/$OUT/pki
CADDY=build/caddy
STOCK=build/caddy-stock
TOOLS=build/tools
VEGETA=$TOOLS/vegeta
BENCHTOOL=$OUT/benchtool

die() {
	echo "bench: $*" >&2
	exit 1
}

[[ $REPEATS =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPEATS must be a positive integer"
[[ $WORKERS =~ ^[1-9][0-9]*$ ]] || die "BENCH_WORKERS must be a positive integer"
[[ $CERTS =~ ^[1-9][0-9]*$ ]] || die "BENCH_CERTS must be a positive integer"
[[ $CERTS_EXTRA =~ ^[0-9]+$ ]] || die "BENCH_CERTS_EXTRA must be a non-negative integer"
[[ $GOTEST_COUNT =~ ^[1-9][0-9]*$ ]] || die "BENCH_GOTEST_COUNT must be a positive integer"
[[ $PROFILE_SECONDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_PROFILE_SECONDS must be a positive integer"
[[ $SCHEDULE == alternate || $SCHEDULE == together ]] || die "BENCH_SCHEDULE is alternate or together"
for d in "$DURATION" "$WARMUP"; do
	[[ $d =~ ^[0-9]+(ms|s|m)$ ]] || die "durations look like 8s or 500ms, got \"$d\""
done
# in_list LIST ITEM succeeds if ITEM is in the comma-separated LIST.
in_list() { [[ ,$1, == *,$2,* ]]; }
for r in ${ROWS//,/ }; do
	in_list "$ALL_ROWS" "$r" || die "BENCH_ROWS: unknown row \"$r\" (rows: $ALL_ROWS)"
done
want_row() { in_list "$ROWS" "$1"; }

command -v go >/dev/null || die "go is not on PATH"
[[ -r /proc/self/status ]] || die "/proc is needed (Linux)"

# ------------------------------------------------------------ processes ----

PIDS=()

stop_all() {
	local pid
	for pid in "${PIDS[@]}"; do
		stop_pid "$pid"
	done
	PIDS=()
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- ports ----

# port_open PORT succeeds if something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

USED_PORTS=" "
# free_port VAR sets VAR to a port nobody listens on (below the ephemeral
# range, so vegeta's own connections cannot collide with it). Caddy sets
# SO_REUSEPORT and would start on a taken port, so this is checked first.
free_port() {
	local p tries=0
	while ((tries++ < 500)); do
		p=$((20000 + RANDOM % 10000))
		[[ $USED_PORTS == *" $p "* ]] && continue
		port_open "$p" && continue
		if command -v ss >/dev/null && [[ -n $(ss -Htanl "sport = :$p" 2>/dev/null) ]]; then
			continue
		fi
		USED_PORTS+="$p "
		printf -v "$1" '%s' "$p"
		return 0
	done
	die "found no free port"
}

# wait_listening NAME PID PORT LOG
wait_listening() {
	local name=$1 pid=$2 port=$3 log=$4
	local deadline=$((SECONDS + 30))
	until port_open "$port"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 20 "$log" >&2
			die "$name exited during startup; see $log"
		fi
		((SECONDS < deadline)) || {
			tail -n 20 "$log" >&2
			die "$name did not listen on port $port within 30 s; see $log"
		}
		sleep 0.1
	done
}

# ---------------------------------------------------------------- tools ----

# mod_version BINARY MODULE prints the version of MODULE built into BINARY.
mod_version() {
	go version -m "$1" 2>/dev/null | awk -v m="$2" '($1 == "mod" || $1 == "dep") && $2 == m { print $3; exit }'
}

[[ -n $CADDY_VERSION ]] || die "cannot read the Caddy version from go.mod"

step "building (Caddy $CADDY_VERSION with and without the plugin, vegeta $VEGETA_VERSION, benchtool)"
mkdir -p build "$TOOLS"
if caddy_is_stale "$CADDY"; then
	bash scripts/demo.sh --build
else
	echo "$CADDY is up to date"
fi
grep -qx 'http.handlers.client_certificate' <<<"$("$CADDY" list-modules)" || die "$CADDY lacks the plugin"

if want_row cel; then
	if [[ ${FORCE_BUILD:-0} == 1 || ! -x $STOCK || $("$STOCK" version 2>/dev/null) != "$CADDY_VERSION"* ]]; then
		find_xcaddy
		echo "building $STOCK (stock Caddy $CADDY_VERSION, no plugins; xcaddy, several minutes the first time)"
		# Outside the checkout, so that xcaddy cannot pick up this module.
		(cd "$(mktemp -d)" && "$XCADDY" build "$CADDY_VERSION" --output "$ROOT/$STOCK.tmp")
		mv -f "$STOCK.tmp" "$STOCK"
	else
		echo "$STOCK is up to date"
	fi
	if grep -q client_certificate <<<"$("$STOCK" list-modules)"; then
		die "$STOCK contains the plugin; remove it and run again"
	fi
fi

if [[ $(mod_version "$VEGETA" github.com/tsenart/vegeta/v12) != "$VEGETA_VERSION" ]]; then
	echo "installing vegeta $VEGETA_VERSION into $TOOLS (go install)"
	GOBIN="$ROOT/$TOOLS" go install "github.com/tsenart/vegeta/v12@$VEGETA_VERSION"
else
	echo "$VEGETA $VEGETA_VERSION is installed"
fi

rm -rf "$OUT"
mkdir -p "$OUT/raw" "$OUT/notes" "$OUT/logs"
go build -o "$BENCHTOOL" ./bench/cmd/benchtool

NGINX=${BENCH_NGINX:-$(command -v nginx || true)}
[[ $NGINX == off ]] && NGINX=

# ------------------------------------------------------------------ PKI ----

step "generating the demo PKI in $OUT/pki"
go run ./internal/cmd/demopki -out "$PKI" >/dev/null
# shellcheck source=/dev/null
source "$PKI/thumbprints.env"
export PKI GOOD_SHA1 GOOD_SHA256
export GOOD_SUBJECT="CN=station-042,OU=Stations,O=Contoso Weather,C=US"
export GOOD_ISSUER="CN=Contoso Weather Issuing CA,O=Contoso Weather,C=US"
export XDG_CONFIG_HOME=$ROOT/$OUT/caddy-home/config
export XDG_DATA_HOME=$ROOT/$OUT/caddy-home/data
echo "GOOD_SHA1=$GOOD_SHA1 GOOD_SHA256=$GOOD_SHA256"

# --------------------------------------------------------------- header ----

cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
git_rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]]; then
	git_rev+=" + uncommitted changes"
fi
nginx_version=
[[ -n $NGINX ]] && nginx_version=$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')
settings="BENCH_SCHEDULE=$SCHEDULE BENCH_DURATION=$DURATION BENCH_REPEATS=$REPEATS BENCH_WORKERS=$WORKERS BENCH_WARMUP=$WARMUP BENCH_CERTS=$CERTS BENCH_CERTS_EXTRA=$CERTS_EXTRA BENCH_GOTEST_COUNT=$GOTEST_COUNT"
if [[ $SCHEDULE == together ]]; then
	schedule_text="A and B at the same time (one vegeta each), $REPEATS times, after a $WARMUP warm-up"
	pair_text="B/A: median over the repetitions of B i / A i, the two runs made at the same time (estimates: lowest–highest of those ratios)"
else
	schedule_text="alternating A B A B, $REPEATS runs of each, after a $WARMUP warm-up of each"
	pair_text="B/A: median of drift-corrected ratios: each B run against the mean of the A runs just before and after it, and each A run after the first against the mean of the B runs around it (estimates: lowest–highest of those ratios)"
fi
cat >"$OUT/header.md" <<EOF
Run $(date -u +%Y-%m-%dT%H:%M:%SZ) · plugin at $git_rev · Caddy $CADDY_VERSION (\`build/caddy\` with the plugin, \`build/caddy-stock\` without) · vegeta $VEGETA_VERSION · ${nginx_version:-no nginx}
Machine: $(nproc) CPUs ($cpu_model), $(go version | awk '{ print $3, $4 }'), Linux $(uname -r)
Settings: $settings; vegeta \`-rate=0 -workers=$WORKERS -max-workers=$WORKERS\`, runs of $DURATION, $schedule_text
EOF
cat >"$OUT/footer.md" <<EOF
A and B columns: medians over the runs, (min–max) of req/s, n runs; server CPU is the user+system time of the server process (nginx: master and workers, from /proc) per successful request. $pair_text. The p99 and CPU/request ratios are estimated the same way. The result uses the req/s ratio and, where the target names it, the p99 ratio; CPU/request is for information. Load generator and servers share the same CPUs, so absolute numbers are noise here; only ratios are meaningful.
EOF

# -------------------------------------------------------- go test -bench ----

if want_row gotest; then
	step "go test -run '^\$' -bench Decision -benchmem -count $GOTEST_COUNT .  (rows 6-7, 12)"
	if ! go test -run '^$' -bench Decision -benchmem -count "$GOTEST_COUNT" . 2>&1 | tee "$OUT/gotest.txt"; then
		echo "go test failed (see $OUT/gotest.txt)" >"$OUT/notes/gotest.txt"
	fi
fi

# -------------------------------------------------------------- servers ----

declare -A URL=() SERVER_PID=()
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)

# launch NAME PORT DESC COMMAND...: starts a server (output in
# logs/NAME.log), waits until it listens on PORT and records its URL and pid.
launch() {
	local name=$1 port=$2 desc=$3 log=$OUT/logs/$1.log
	shift 3
	"$@" >"$log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	wait_listening "$name" "$pid" "$port" "$log"
	URL[$name]=https://localhost:$port/
	SERVER_PID[$name]=$pid
	echo "  $name: $desc, pid $pid, ${URL[$name]}"
}

want_profile() { in_list "$PROFILE_ROWS" "$1"; }

declare -A ADMIN=()

# start_caddy NAME BINARY CADDYFILE [PROFILE] starts a configuration on a
# free port; with PROFILE=1 its admin endpoint is on (for pprof).
start_caddy() {
	local name=$1 bin=$2 file=$3 profile=${4:-0} port admin=off
	free_port port
	if ((profile)); then
		free_port ADMIN["$name"]
		admin=127.0.0.1:${ADMIN[$name]}
	fi
	launch "$name" "$port" "$bin $file" env PORT="$port" BENCH_ADMIN="$admin" "$bin" run --config "$file" --adapter caddyfile
}

# start_nginx NAME ALLOWLIST(0|1)
start_nginx() {
	local name=$1 allow=$2 port
	free_port port
	local dir=$ROOT/$OUT/$name
	mkdir -p "$dir/tmp"
	local check=
	((allow)) && check='if ($bench_allowed = 0) { return 403; }'
	sed -e "s|@DIR@|$dir|g" -e "s|@PKI@|$PKI|g" -e "s|@PORT@|$port|g" \
		-e "s|@GOOD_SHA1_LOWER@|${GOOD_SHA1,,}|g" -e "s|@CHECK@|$check|g" \
		bench/nginx/nginx.conf.in >"$dir/nginx.conf"
	launch "$name" "$port" "$NGINX -c $dir/nginx.conf" "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
}

# probe NAME CERT WANT [h2]: one request with demo certificate CERT ("-" for
# none); aborts the harness if the answer is not WANT (200 means 200 "ok").
probe() {
	local name=$1 cert=$2 want=$3 h2=${4:-}
	local args=(-name "$name" -url "${URL[$name]}" -ca "$PKI/root.pem" -want "$want")
	[[ $cert != - ]] && args+=(-cert "$PKI/$cert.pem" -key "$PKI/$cert-key.pem")
	[[ $want == 200 ]] && args+=(-body ok)
	[[ $h2 == h2 ]] && args+=(-h2)
	"$BENCHTOOL" probe "${args[@]}" || die "sample request to $name did not get the expected answer; not measuring"
}

# probe_config NAME MODE checks what each configuration must do: allow
# station-042 (good), and deny station-007 (other, same CA) where a check
# is configured.
probe_config() {
	local name=$1 mode=$2
	local h2=
	[[ $mode == h2 ]] && h2=h2
	probe "$name" good 200 $h2
	case $name in
	verified | noop | nginx-plain) probe "$name" other 200 ;;
	handler | handler-nometrics | cel | nginx-map) probe "$name" other 403 ;;
	trustpool)
		probe "$name" other 403
		probe "$name" - 403
		probe "$name" from-other-ca 403
		;;
	verifier) probe "$name" other refused ;;
	esac
}

# ----------------------------------------------------------------- load ----

# attack URL MODE DURATION OUTFILE: vegeta at full speed with WORKERS workers.
attack() {
	local url=$1 mode=$2 dur=$3 out=$4
	local args=(-rate=0 -workers="$WORKERS" -max-workers="$WORKERS" -duration="$dur" -timeout=10s
		-cert="$PKI/good.pem" -key="$PKI/good-key.pem" -root-certs="$PKI/root.pem")
	case $mode in
	h1) args+=(-http2=false -keepalive=true) ;;
	h2) args+=(-http2=true -keepalive=true) ;;
	newconn) args+=(-http2=false -keepalive=false) ;;
	esac
	echo "GET $url" | "$VEGETA" attack "${args[@]}" | "$VEGETA" report -type=json >"$out"
}

# server_cpu NAME prints the CPU seconds the server NAME has used so far.
server_cpu() { "$BENCHTOOL" cputime -hz "$HZ" "${SERVER_PID[$1]}"; }

# record ROW SIDE REP NAME FILE CPU0 CPU1 adds a run to runs.tsv and prints it.
record() {
	local row=$1 side=$2 rep=$3 name=$4 f=$5 cpu
	cpu=$(awk -v a="$6" -v b="$7" 'BEGIN { printf "%.3f", b - a }')
	printf '%s\t%s\t%s\t%s\t%s\n' "$row" "$side" "$rep" "$f" "$cpu" >>"$OUT/runs.tsv"
	printf '  %-10s %s run %d %-12s ' "$row" "$side" "$rep" "$name"
	printf '%s  server CPU %ss\n' "$("$BENCHTOOL" summary "$f")" "$cpu"
}

# measure ROW MODE NAME_A NAME_B: warm-up, then A B A B ... REPEATS times
# (BENCH_SCHEDULE=together: A and B at the same time, REPEATS times). Each
# run also records the CPU time the server (and its children) used.
measure() {
	local row=$1 mode=$2 a=$3 b=$4 rep side name f fa fb cpu0 cpu1 a0 a1 b0 b1 job
	if [[ $SCHEDULE == together ]]; then
		echo "  warm-up: $WARMUP, A and B at the same time"
		attack "${URL[$a]}" "$mode" "$WARMUP" "$OUT/raw/$row-A-warmup.json" &
		job=$!
		attack "${URL[$b]}" "$mode" "$WARMUP" "$OUT/raw/$row-B-warmup.json"
		wait "$job" || die "vegeta failed"
		for rep in $(seq "$REPEATS"); do
			fa=$OUT/raw/$row-A-$rep.json
			fb=$OUT/raw/$row-B-$rep.json
			sleep 1
			a0=$(server_cpu "$a")
			b0=$(server_cpu "$b")
			attack "${URL[$a]}" "$mode" "$DURATION" "$fa" &
			job=$!
			attack "${URL[$b]}" "$mode" "$DURATION" "$fb"
			wait "$job" || die "vegeta failed"
			a1=$(server_cpu "$a")
			b1=$(server_cpu "$b")
			record "$row" A "$rep" "$a" "$fa" "$a0" "$a1"
			record "$row" B "$rep" "$b" "$fb" "$b0" "$b1"
		done
		return
	fi
	echo "  warm-up: $WARMUP each"
	attack "${URL[$a]}" "$mode" "$WARMUP" "$OUT/raw/$row-A-warmup.json"
	attack "${URL[$b]}" "$mode" "$WARMUP" "$OUT/raw/$row-B-warmup.json"
	for rep in $(seq "$REPEATS"); do
		for side in A B; do
			name=$a
			[[ $side == B ]] && name=$b
			f=$OUT/raw/$row-$side-$rep.json
			sleep 1
			cpu0=$(server_cpu "$name")
			attack "${URL[$name]}" "$mode" "$DURATION" "$f"
			cpu1=$(server_cpu "$name")
			record "$row" "$side" "$rep" "$name" "$f" "$cpu0" "$cpu1"
		done
	done
}

# profile ROW SIDE NAME MODE: a CPU profile of the server NAME under the
# same load, in a run of its own after the measured ones (profiling costs
# CPU, so it never overlaps a measurement).
profile() {
	local row=$1 side=$2 name=$3 mode=$4 job
	local f=$OUT/profiles/$row-$side-$name.pprof
	mkdir -p "$OUT/profiles"
	attack "${URL[$name]}" "$mode" "$((PROFILE_SECONDS + 2))s" "$OUT/profiles/$row-$side-$name.vegeta.json" &
	job=$!
	sleep 1
	if ! curl -sSf -o "$f" "http://127.0.0.1:${ADMIN[$name]}/debug/pprof/profile?seconds=$PROFILE_SECONDS"; then
		kill "$job" 2>/dev/null || true
		die "could not fetch the CPU profile of $name"
	fi
	wait "$job" || die "vegeta failed"
	printf '%s\t%s\t%s\t%s\n' "$row" "$side" "$name" "$f" >>"$OUT/profiles.tsv"
	echo "  CPU profile of $name ($side): $f"
}

# load_row ROW MODE NAME_A BIN_A NAME_B BIN_B TITLE
load_row() {
	local row=$1 mode=$2 a=$3 abin=$4 b=$5 bbin=$6 title=$7 prof=0
	want_row "$row" || return 0
	want_profile "$row" && prof=1
	step "row $row: $title"
	start_caddy "$a" "$abin" "bench/caddy/$a.Caddyfile" "$prof"
	start_caddy "$b" "$bbin" "bench/caddy/$b.Caddyfile" "$prof"
	probe_config "$a" "$mode"
	probe_config "$b" "$mode"
	measure "$row" "$mode" "$a" "$b"
	if ((prof)); then
		profile "$row" A "$a" "$mode"
		profile "$row" B "$b" "$mode"
	fi
	stop_all
}

load_row h1 h1 verified "$CADDY" handler "$CADDY" "keep-alive HTTP/1.1: no handler (A) vs. handler (B)"
load_row h2 h2 verified "$CADDY" handler "$CADDY" "keep-alive HTTP/2: no handler (A) vs. handler (B)"
load_row cel h1 cel "$STOCK" handler "$CADDY" "keep-alive HTTP/1.1: stock Caddy + CEL (A) vs. handler (B)"
load_row trustpool h1 verified "$CADDY" trustpool "$CADDY" "keep-alive HTTP/1.1: require_and_verify (A) vs. mode request + trust_pool handler (B)"
load_row verifier newconn verified "$CADDY" verifier "$CADDY" "new connection per request: no verifier (A) vs. verifier (B)"
load_row h2noop h2 verified "$CADDY" noop "$CADDY" "keep-alive HTTP/2 (diagnostic): no handler (A) vs. a no-op vars handler (B)"
load_row h2own h2 noop "$CADDY" handler "$CADDY" "keep-alive HTTP/2 (diagnostic): no-op vars handler (A) vs. client_certificate handler (B)"
load_row metrics h1 handler-nometrics "$CADDY" handler "$CADDY" "keep-alive HTTP/1.1: handler with disable_metrics (A) vs. the same handler counting its decisions (B)"

if want_row nginx; then
	step "row nginx: nginx without (A) and with (B) a map \$ssl_client_fingerprint allowlist"
	if [[ -z $NGINX ]]; then
		if [[ ${BENCH_NGINX:-} == off ]]; then
			echo "BENCH_NGINX=off; skipping"
			echo "skipped (BENCH_NGINX=off)" >"$OUT/notes/nginx.txt"
		else
			echo "nginx is not installed (e.g. apt-get install nginx-light); skipping"
			echo "skipped: nginx not installed" >"$OUT/notes/nginx.txt"
		fi
	else
		start_nginx nginx-plain 0
		start_nginx nginx-map 1
		probe_config nginx-plain h1
		probe_config nginx-map h1
		measure nginx h1 nginx-plain nginx-map
		stop_all
	fi
fi

# ------------------------------------------------------------ manycerts ----

if want_row manycerts; then
	step "row manycerts: $CERTS distinct client certificates against one trust_pool policy"
	free_port mc_port
	free_port mc_admin
	if ! "$BENCHTOOL" manycerts -caddy "$CADDY" -caddyfile bench/caddy/manycerts.Caddyfile \
		-dir "$OUT/manycerts" -port "$mc_port" -admin-port "$mc_admin" -n "$CERTS" -extra "$CERTS_EXTRA" -out "$OUT/manycerts.json"; then
		echo "failed (see the output of make bench and $OUT/manycerts/caddy.log)" >"$OUT/notes/manycerts.txt"
	fi
fi

# ---------------------------------------------------------------- table ----

step "results ($OUT/results.md)"
echo
"$BENCHTOOL" table -dir "$OUT" -schedule "$SCHEDULE" -out "$OUT/results.md"
