#!/usr/bin/env bash
# One-command demo of the client_certificate plugin (`make demo`).
#
#   scripts/demo.sh           build Caddy with the plugin (if stale), generate a
#                             demo PKI, serve example.Caddyfile on localhost and
#                             drive it with curl; prints a table of the results
#   scripts/demo.sh --check   the same; used by scripts/test.sh (the table is
#                             the assertion: exit status 1 if any row is FAIL)
#   scripts/demo.sh --build   only build build/caddy with xcaddy (`make build`)
#
# Needs Go, curl and the Go module proxy. xcaddy is installed with `go install`
# if it is missing. Everything else stays under build/ (Caddy's config and data
# directories too), and curl only talks to localhost.
#
# Environment:
#   API_PORT (8443) INGEST_PORT (8444) HTTP_PORT (8080) ADMIN_ADDR (localhost:2019)
#   CADDYFILE      Caddyfile to serve (default example.Caddyfile)
#   CADDY_VERSION  Caddy version to build (default: the one in go.mod)
#   FORCE_BUILD=1  rebuild build/caddy even if it looks up to date
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

mode=demo
case "${1:-}" in
"") ;;
--check) mode=check ;;
--build) mode=build ;;
-h | --help)
	sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "usage: scripts/demo.sh [--check | --build]" >&2
	exit 2
	;;
esac

die() {
	echo "demo: $*" >&2
	exit 1
}

command -v go >/dev/null || die "go is not on PATH; install Go first (https://go.dev/dl/)"
command -v curl >/dev/null || die "curl is not on PATH"

MODULE=$(awk '$1 == "module" { print $2; exit }' go.mod)
[[ -n $MODULE && -n $CADDY_VERSION ]] || die "cannot read the module path or the Caddy version from go.mod"
CADDYFILE=${CADDYFILE:-example.Caddyfile}
CADDY=build/caddy
PKI_DIR=build/demo-pki
LOG=build/demo-caddy.log

# ---------------------------------------------------------------- ports ----

# Checked first, so that a taken port fails before a long build.
export API_PORT=${API_PORT:-8443}
export INGEST_PORT=${INGEST_PORT:-8444}
export HTTP_PORT=${HTTP_PORT:-8080}
export ADMIN_ADDR=${ADMIN_ADDR:-localhost:2019}

# Caddy sets SO_REUSEPORT, so it would start even on a taken port and share
# the connections with whatever holds it: check first.
check_ports() {
	check_free API_PORT localhost "$API_PORT" "make demo"
	check_free INGEST_PORT localhost "$INGEST_PORT" "make demo"
	# The example serves no plain-HTTP site (auto_https disable_redirects), so
	# Caddy does not listen on HTTP_PORT: a taken HTTP_PORT is only a warning.
	[[ $HTTP_PORT =~ ^[0-9]+$ ]] || die "HTTP_PORT: \"$HTTP_PORT\" is not a port number"
	if port_open localhost "$HTTP_PORT"; then
		echo "demo: note: port $HTTP_PORT (HTTP_PORT) is in use; the example does not listen on it, continuing" >&2
	fi
	if [[ $ADMIN_ADDR != off && $ADMIN_ADDR == *:* ]]; then
		check_free ADMIN_ADDR "${ADMIN_ADDR%:*}" "${ADMIN_ADDR##*:}" "make demo"
	fi
}
[[ $mode == build ]] || check_ports

# ---------------------------------------------------------------- build ----

build_caddy() {
	find_xcaddy
	step "building Caddy $CADDY_VERSION with $MODULE (xcaddy; the first build takes several minutes)"
	mkdir -p build
	local start=$SECONDS
	# The @v0.0.0=<dir> form makes xcaddy use this checkout through a replace
	# directive instead of asking the module proxy for an unpublished module.
	"$XCADDY" build "$CADDY_VERSION" --with "$MODULE@v0.0.0=$ROOT" --output "$CADDY.tmp"
	mv -f "$CADDY.tmp" "$CADDY"
	echo "built $CADDY in $((SECONDS - start)) s"
}

if [[ $mode == build ]]; then
	build_caddy
	"$CADDY" list-modules | grep client_certificate
	exit 0
fi

if caddy_is_stale "$CADDY"; then
	build_caddy
else
	step "build/caddy is up to date (FORCE_BUILD=1 rebuilds)"
fi
grep -qx 'http.handlers.client_certificate' <<<"$("$CADDY" list-modules)" ||
	die "$CADDY does not contain http.handlers.client_certificate; run FORCE_BUILD=1 scripts/demo.sh"

# ------------------------------------------------------------------ PKI ----

step "generating the demo PKI in $PKI_DIR"
rm -rf "$PKI_DIR"
go run ./internal/cmd/demopki -out "$PKI_DIR" >/dev/null
# shellcheck source=/dev/null
source "$PKI_DIR/thumbprints.env"
export PKI="$ROOT/$PKI_DIR"
# station-007 ("other") is the operations team's certificate: identity ops.
export OPS_THUMBPRINT=$OTHER_SHA1
echo "PKI=$PKI"
echo "OPS_THUMBPRINT=$OPS_THUMBPRINT (station-007)"

# Keep Caddy's autosave.json and storage out of the user's home directory.
export XDG_CONFIG_HOME="$ROOT/build/demo-caddy-home/config"
export XDG_DATA_HOME="$ROOT/build/demo-caddy-home/data"

# ---------------------------------------------------------------- caddy ----

step "$CADDY validate --config $CADDYFILE --adapter caddyfile"
"$CADDY" validate --config "$CADDYFILE" --adapter caddyfile >build/demo-validate.log 2>&1 || {
	cat build/demo-validate.log >&2
	die "$CADDYFILE does not validate"
}
tail -n 1 build/demo-validate.log

step "starting Caddy (log: $LOG)"
CADDY_PID=
stop_caddy() {
	[[ -n $CADDY_PID ]] || return 0
	stop_pid "$CADDY_PID"
	CADDY_PID=
}
trap stop_caddy EXIT
trap 'exit 130' INT TERM

"$CADDY" run --config "$CADDYFILE" --adapter caddyfile >"$LOG" 2>&1 &
CADDY_PID=$!

deadline=$((SECONDS + 20))
until port_open localhost "$API_PORT" && port_open localhost "$INGEST_PORT"; do
	if ! kill -0 "$CADDY_PID" 2>/dev/null; then
		tail -n 20 "$LOG" >&2
		die "Caddy exited during startup; see $LOG"
	fi
	if ((SECONDS >= deadline)); then
		tail -n 20 "$LOG" >&2
		die "Caddy did not listen on ports $API_PORT and $INGEST_PORT within 20 s; see $LOG"
	fi
	sleep 0.2
done
echo "Caddy (pid $CADDY_PID) is serving https://localhost:$API_PORT (API) and https://localhost:$INGEST_PORT (ingest)"

# ---------------------------------------------------------------- cases ----

TMP=$(mktemp -d)
trap 'stop_caddy; rm -rf "$TMP"' EXIT

ROWS=()
FAILED=0
N=0

# summarize FILE prints a short form of a response body.
summarize() {
	local body
	body=$(tr -d '\r' <"$1" | head -c 200)
	if [[ $body =~ \"station\":\"([^\"]*)\" ]]; then
		printf 'identity=%s' "${BASH_REMATCH[1]}"
	else
		body=${body%%$'\n'*}
		((${#body} > 64)) && body="${body:0:61}..."
		printf '"%s"' "$body"
	fi
}

# clip TEXT shortens TEXT for the table (the comparison uses the full text).
clip() {
	if ((${#1} > 40)); then
		printf '%s...' "${1:0:37}"
	else
		printf '%s' "$1"
	fi
}

# run_case DESCRIPTION CERT PORT PATH EXPECTED
#   CERT is a demo PKI name (good, expired, ...) or "-" for no certificate.
#   EXPECTED is 'CODE BODY-SUMMARY' (as printed by summarize) or
#   'handshake refused'.
run_case() {
	local desc=$1 cert=$2 port=$3 path=$4 want=$5
	N=$((N + 1))
	local id
	id=$(printf 'c%02d' "$N")
	local args=(-q --silent --show-error --noproxy '*' --max-time 10
		--cacert "$PKI_DIR/root.pem" -A "client-certificate-demo/$id"
		-o "$TMP/$id.body" -w '%{http_code}')
	if [[ $cert != - ]]; then
		args+=(--cert "$PKI_DIR/$cert.pem" --key "$PKI_DIR/$cert-key.pem")
	fi
	local code rc=0
	code=$(curl "${args[@]}" "https://localhost:$port$path" 2>"$TMP/$id.err") || rc=$?
	local got shown
	if ((rc == 0)); then
		got="$code $(summarize "$TMP/$id.body")"
		shown=$got
	elif [[ $code == 000 ]] && ((rc == 35 || rc == 55 || rc == 56)); then
		# 35: alert during the handshake (TLS 1.2); 55/56: with TLS 1.3 the
		# server's alert arrives after the client finished its handshake.
		got="handshake refused"
		shown="handshake refused (curl $rc)"
	else
		got="curl exit $rc"
		shown="curl exit $rc: $(tr '\t\n' '  ' <"$TMP/$id.err")"
	fi
	local result=OK
	if [[ $got != "$want" ]]; then
		result=FAIL
		FAILED=$((FAILED + 1))
	fi
	[[ $cert == - ]] && cert="(none)"
	ROWS+=("$desc"$'\t'"$cert"$'\t'"$(clip "$want")"$'\t'"$(clip "$shown")"$'\t'"$result")
	CASE_ID[N]=$id
}
declare -a CASE_ID

step "sending requests with curl --cacert $PKI_DIR/root.pem"
API=$API_PORT
ING=$INGEST_PORT
run_case "/health (public)" - "$API" /health '200 "ok"'
run_case "/api/observations, partner station" good "$API" /api/observations '200 identity=station-042'
id_good=${CASE_ID[$N]}
run_case "/api/observations, no certificate" - "$API" /api/observations '403 "Invalid client certificate"'
id_none=${CASE_ID[$N]}
run_case "/api/observations, ops (pinned SHA-1)" other "$API" /api/observations '200 identity=ops'
run_case "/api/observations, expired" expired "$API" /api/observations '403 "Invalid client certificate"'
id_expired=${CASE_ID[$N]}
run_case "/api/observations, rogue CA, same issuer DN" from-rogue-ca "$API" /api/observations '403 "Invalid client certificate"'
id_rogue=${CASE_ID[$N]}
run_case "/api/observations, self-signed copy" self-signed "$API" /api/observations '403 "Invalid client certificate"'
run_case "/api/observations, serverAuth-only EKU" server-auth-only "$API" /api/observations '403 "Invalid client certificate"'
run_case "/forecast, partner station" good "$API" /forecast '200 "detailed forecast for station-042"'
run_case "/forecast, no certificate" - "$API" /forecast '200 "public forecast"'
run_case "ingest port, partner station" good "$ING" / '200 "ingested from CN=station-042,OU=Stations,O=Contoso Weather,C=US"'
run_case "ingest port, station-007 (wrong subject)" other "$ING" / 'handshake refused'
run_case "ingest port, no certificate" - "$ING" / 'handshake refused'

# ------------------------------------------------------------------ log ----

# Give Caddy a moment to write the last access log entries.
sleep 0.3

# json_field LINE KEY prints the first string or number value of "KEY".
json_field() {
	local re="\"$2\":(\"([^\"]*)\"|([0-9.]+))"
	if [[ $1 =~ $re ]]; then
		printf '%s' "${BASH_REMATCH[2]}${BASH_REMATCH[3]}"
	fi
}

# access_line ID prints the access log entry of case ID.
access_line() {
	grep -F '"msg":"handled request"' "$LOG" | grep -F "client-certificate-demo/$1\"" | tail -n 1 || true
}

# deny_reason LINE prints "=REASON" if the deny reason of an access log
# entry is recorded, and nothing if it is not: a field of the entry whose name
# ends in "reason" (log_append), else the reason of the debug "client
# certificate decision" entry of the same connection (global debug option).
deny_reason() {
	local line=$1 re='"([A-Za-z_.]*reason)":"([^"]*)"'
	if [[ $line =~ $re ]]; then
		printf '=%s' "${BASH_REMATCH[2]}"
		return
	fi
	local port
	port=$(json_field "$line" remote_port)
	[[ -n $port ]] || return 0
	local dec
	dec=$(grep -F '"msg":"client certificate decision"' "$LOG" | grep -F ":$port\"" | tail -n 1 || true)
	[[ -n $dec ]] && printf '=%s' "$(json_field "$dec" reason)"
	return 0
}

# reason_text LINE prints reason=REASON, or reason=(not logged).
reason_text() {
	local r
	r=$(deny_reason "$1")
	if [[ $r == = ]]; then
		printf 'reason=""'
	elif [[ -n $r ]]; then
		printf 'reason=%s' "${r#=}"
	else
		printf 'reason=(not logged)'
	fi
}

# condense LINE prints the interesting fields of an access log entry.
condense() {
	local line=$1
	printf '%s %s status=%s user_id="%s" tls.client_common_name="%s" %s' \
		"$(json_field "$line" method)" "$(json_field "$line" uri)" "$(json_field "$line" status)" \
		"$(json_field "$line" user_id)" "$(json_field "$line" client_common_name)" "$(reason_text "$line")"
}

log_case() {
	local desc=$1 cert=$2 want=$3 got=$4
	local result=OK
	if [[ $got != "$want" ]]; then
		result=FAIL
		FAILED=$((FAILED + 1))
	fi
	ROWS+=("$desc"$'\t'"$cert"$'\t'"$want"$'\t'"$got"$'\t'"$result")
}

line_good=$(access_line "$id_good")
line_expired=$(access_line "$id_expired")
line_rogue=$(access_line "$id_rogue")
line_none=$(access_line "$id_none")
log_case "access log: who called (allowed)" good "user_id=station-042" "user_id=$(json_field "$line_good" user_id)"
log_case "access log: deny reason" expired "reason=expired" "$(reason_text "$line_expired")"
log_case "access log: deny reason" "(none)" "reason=no_certificate" "$(reason_text "$line_none")"

# ---------------------------------------------------------------- table ----


echo
echo "API https://localhost:$API_PORT (client_auth mode request + client_certificate handler/matcher)"
echo "ingest https://localhost:$INGEST_PORT (client_auth require_and_verify + client_certificate verifier)"
echo
print_table description

echo
echo "Caddy access log ($LOG), condensed:"
for line in "$line_good" "$line_expired" "$line_rogue"; do
	if [[ -n $line ]]; then
		echo "  $(condense "$line")"
	else
		echo "  (entry missing)"
	fi
done

echo
total=${#ROWS[@]}
if ((FAILED > 0)); then
	echo "demo: $FAILED of $total checks FAILED (Caddy log: $LOG)"
	exit 1
fi
echo "demo: all $total checks OK"
