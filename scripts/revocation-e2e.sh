#!/usr/bin/env bash
# End-to-end check of revocation checking (a stage of scripts/test.sh), with
# OpenSSL's own tools: a real `openssl ca` database, CRLs from
# `openssl ca -gencrl`, and `openssl ocsp -index ... -port` as the OCSP
# responder. It serves a Caddy built with the plugin on localhost and drives
# it with curl and openssl s_client:
#
#   - a CRL fetched from a URL: a certificate revoked with `openssl ca
#     -revoke` is denied (403, reason revoked) once the CRL is refreshed,
#     without a reload, on a new connection and on a connection kept alive
#     across the revocation (the same TLS connection, allowed before and
#     denied after); the TLS verifier refuses its handshake
#   - OCSP: good and revoked; with the responder stopped, a certificate it
#     was never asked about is denied under on_unknown deny (reason
#     revocation_unknown) and allowed under on_unknown allow
#   - Caddy restarted with the responder stopped and the CRL gone from its
#     URL: the answers kept in Caddy's storage still decide
#   - `caddy validate` of a configuration whose CRL URL never answers
#     returns at once
#
# Prints a table of the results; the exit status is 1 if any row FAILs.
# Builds build/caddy with xcaddy (scripts/demo.sh --build) when it is stale.
# Everything it writes is under build/revocation-e2e/, removed at the start:
# keys are made at run time, never kept in the repository.
#
# Environment:
#   E2E_HTTPS_PORT (9543)  Caddy's HTTPS site
#   E2E_CRL_PORT (9580)    Caddy's plain-HTTP site that serves the CRL
#   E2E_OCSP_PORT (9581)   openssl ocsp (it listens on every interface; also
#                          the URL that never answers, before it starts)
#   E2E_ADMIN_ADDR (localhost:9519)
#   FORCE_BUILD=1          rebuild build/caddy even if it looks up to date
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

case "${1:-}" in
"") ;;
-h | --help)
	sed -n '2,32p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "usage: scripts/revocation-e2e.sh" >&2
	exit 2
	;;
esac

die() {
	echo "revocation-e2e: $*" >&2
	exit 1
}

need_go revocation-e2e
for tool in curl openssl; do
	command -v "$tool" >/dev/null || die "$tool is not on PATH"
done

HTTPS_PORT=${E2E_HTTPS_PORT:-9543}
CRL_PORT=${E2E_CRL_PORT:-9580}
OCSP_PORT=${E2E_OCSP_PORT:-9581}
ADMIN_ADDR=${E2E_ADMIN_ADDR:-localhost:9519}

CADDY=build/caddy
DIR=$ROOT/build/revocation-e2e
CA=$DIR/ca     # the openssl ca database, keys and certificates
WWW=$DIR/www   # what Caddy's plain-HTTP site serves: the CRL
CNF=$ROOT/testdata/revocation-e2e/openssl.cnf
CRL_URL=http://localhost:$CRL_PORT/ca.crl
OCSP_URL=http://127.0.0.1:$OCSP_PORT

# ---------------------------------------------------------------- ports ----

check_free E2E_HTTPS_PORT localhost "$HTTPS_PORT"
check_free E2E_CRL_PORT localhost "$CRL_PORT"
check_free E2E_OCSP_PORT localhost "$OCSP_PORT"
[[ $ADMIN_ADDR == *:* ]] || die "E2E_ADMIN_ADDR: \"$ADMIN_ADDR\" is not HOST:PORT"
check_free E2E_ADMIN_ADDR "${ADMIN_ADDR%:*}" "${ADMIN_ADDR##*:}"

# ---------------------------------------------------------------- build ----

if caddy_is_stale "$CADDY"; then
	bash scripts/demo.sh --build
else
	step "build/caddy is up to date (FORCE_BUILD=1 rebuilds)"
fi

rm -rf "$DIR"
mkdir -p "$CA/newcerts" "$WWW" "$DIR/home"
# Keep Caddy's autosave.json and default storage out of the home directory.
export XDG_CONFIG_HOME=$DIR/home/config
export XDG_DATA_HOME=$DIR/home/data

# ------------------------------------------------------------ processes ----

CADDY_PID=
OCSP_PID=
KA_PID=
KA_WRITER=
CADDY_LOG=

stop_caddy() {
	[[ -n $CADDY_PID ]] || return 0
	stop_pid "$CADDY_PID"
	CADDY_PID=
}

stop_responder() {
	[[ -n $OCSP_PID ]] || return 0
	stop_pid "$OCSP_PID"
	OCSP_PID=
}

cleanup() {
	[[ -z $KA_WRITER ]] || stop_pid "$KA_WRITER"
	[[ -z $KA_PID ]] || stop_pid "$KA_PID"
	stop_caddy
	stop_responder
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ PKI ----

# The openssl.cnf reads these.
export E2E_CA_DIR=$CA E2E_CRL_PORT=$CRL_PORT E2E_OCSP_PORT=$OCSP_PORT

# ossl_ca ARGS... runs `openssl ca` on the test CA, quietly unless it fails.
ossl_ca() {
	local out
	out=$(openssl ca -config "$CNF" -batch "$@" 2>&1) || {
		printf '%s\n' "$out" >&2
		return 1
	}
}

# new_key NAME writes $CA/NAME-key.pem (P-256: quick to make).
new_key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$CA/$1-key.pem" 2>/dev/null
}

# issue NAME EXTENSIONS issues $CA/NAME.pem (CN=NAME) with the extensions
# section EXTENSIONS of openssl.cnf, recorded in the CA database.
issue() {
	local name=$1 ext=$2
	new_key "$name"
	openssl req -config "$CNF" -new -key "$CA/$name-key.pem" \
		-subj "/O=Revocation E2E/CN=$name" -out "$CA/$name.csr"
	ossl_ca -notext -extensions "$ext" -in "$CA/$name.csr" -out "$CA/$name.pem"
}

# publish_crl writes a new CRL from the CA database to $WWW/ca.crl (DER, as
# distribution points serve them), replacing the old one at once. It is
# valid for an hour: the policy's refresh (1s), not the CRL running out,
# makes Caddy fetch it again, and a CRL past its nextUpdate would turn every
# decision into unknown.
publish_crl() {
	ossl_ca -gencrl -crlhours 1 -out "$CA/ca.crl.pem"
	openssl crl -in "$CA/ca.crl.pem" -outform DER -out "$WWW/ca.crl.tmp"
	mv -f "$WWW/ca.crl.tmp" "$WWW/ca.crl"
}

step "making the CA ($CA) with openssl ca"
touch "$CA/index.txt"
echo 1000 >"$CA/serial"
echo 01 >"$CA/crlnumber"
new_key ca
openssl req -config "$CNF" -new -x509 -key "$CA/ca-key.pem" -days 30 \
	-extensions e2e_ca_ext -out "$CA/ca.pem"
issue server e2e_server_ext
issue ocsp e2e_ocsp_ext
# Clients: crl-good stays good; crl-victim is revoked while Caddy runs;
# ocsp-good stays good; ocsp-revoked is revoked before the responder
# starts; ocsp-never is first presented when the responder is down.
CLIENTS=(crl-good crl-victim ocsp-good ocsp-revoked ocsp-never)
for c in "${CLIENTS[@]}"; do
	issue "$c" e2e_client_ext
done
ossl_ca -revoke "$CA/ocsp-revoked.pem" -crl_reason keyCompromise
publish_crl
awk -F'\t' '{ printf "  %s %s %s\n", $1, $4, $6 }' "$CA/index.txt"

# ---------------------------------------------------------------- table ----

ROWS=()
FAILED=0

# row DESCRIPTION CERT EXPECTED GOT [SHOWN] records one check; SHOWN (default
# GOT) is what the table prints, GOT is what is compared.
row() {
	local desc=$1 cert=$2 want=$3 got=$4 shown=${5:-$4} result=PASS
	if [[ $got != "$want" ]]; then
		result=FAIL
		FAILED=$((FAILED + 1))
	fi
	ROWS+=("$desc"$'\t'"$cert"$'\t'"$want"$'\t'"$shown"$'\t'"$result")
}


# elapsed_since START prints the seconds since START ($EPOCHREALTIME).
elapsed_since() {
	awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

# ------------------------------------------------------------- responder ----

# start_responder LOG runs openssl ocsp on the CA database (OCSP_PID) and
# waits until it listens. Its log says so: connecting to find out would
# wedge it, since OpenSSL 3.0's responder spins at 100% CPU, answering
# nobody, once a client closes a connection without sending a request.
#
# It re-reads index.txt when the file changes, but only before it waits for
# the next connection, so the first answer after a change is still the old
# one: ocsp-revoked is revoked before it starts.
start_responder() {
	local log=$1
	openssl ocsp -index "$CA/index.txt" -port "$OCSP_PORT" -CA "$CA/ca.pem" \
		-rsigner "$CA/ocsp.pem" -rkey "$CA/ocsp-key.pem" -nmin 10 >"$log" 2>&1 &
	OCSP_PID=$!
	local deadline=$((SECONDS + 10))
	until grep -q 'waiting for OCSP client connections' "$log"; do
		kill -0 "$OCSP_PID" 2>/dev/null || die "openssl ocsp exited; see $log"
		((SECONDS < deadline)) || die "openssl ocsp did not start within 10 s; see $log"
		sleep 0.1
	done
}

# ------------------------------------------------------------- validate ----

# A CRL URL that accepts the connection and never answers: a throwaway
# responder on the OCSP port, kept busy by a connection that sent only a
# request line. It serves one connection at a time and waits without a time
# limit for the rest of that request, so the kernel accepts the next
# connection and nobody answers it. With `timeout 60s` in the block, a
# validate that waited for the CRL would take a minute.
step "caddy validate, with a CRL URL that never answers (under timeout 20)"
cat >"$DIR/validate.Caddyfile" <<EOF
{
	admin off
	storage file_system $DIR/validate-storage
	skip_install_trust
	auto_https disable_redirects
}
https://localhost:$HTTPS_PORT {
	tls $CA/server.pem $CA/server-key.pem {
		client_auth {
			mode require_and_verify
			trust_pool file $CA/ca.pem
		}
	}
	client_certificate {
		revocation {
			crl http://127.0.0.1:$OCSP_PORT/never-answers.crl
			timeout 60s
		}
	}
	respond "ok"
}
EOF
start_responder "$DIR/ocsp-held.log"
exec 4<>"/dev/tcp/127.0.0.1/$OCSP_PORT"
printf 'POST / HTTP/1.0\r\n' >&4
start=$EPOCHREALTIME
rc=0
timeout 20 "$CADDY" validate --config "$DIR/validate.Caddyfile" --adapter caddyfile >"$DIR/validate.log" 2>&1 || rc=$?
took=$(elapsed_since "$start")
stop_responder
exec 4>&-
tail -n 1 "$DIR/validate.log"
if ((rc == 0)) && [[ ${took%.*} -lt 10 ]]; then
	got="valid"
elif ((rc == 0)); then
	got="valid, but slow"
elif ((rc == 124)); then
	got="hung (killed by timeout 20)"
else
	got="exit $rc: $(grep -m1 -io 'error.*' "$DIR/validate.log" | cut -c1-80)"
fi
row "caddy validate, CRL URL never answers" - "valid" "$got" "$got in $took s"

step "starting the OCSP responder: openssl ocsp -index index.txt -port $OCSP_PORT (log: $DIR/ocsp.log)"
start_responder "$DIR/ocsp.log"
openssl ocsp -issuer "$CA/ca.pem" -cert "$CA/ocsp-revoked.pem" -url "$OCSP_URL" \
	-CAfile "$CA/ca.pem" 2>&1 | sed -n 's/^/  /; 1,2p'

# ---------------------------------------------------------------- caddy ----

cat >"$DIR/Caddyfile" <<EOF
{
	admin $ADMIN_ADDR
	http_port $CRL_PORT
	https_port $HTTPS_PORT
	storage file_system $DIR/storage
	skip_install_trust
	auto_https disable_redirects
	# The plugin logs its decisions, CRL loads and fetch failures.
	debug
}

# Every path requires a certificate of the test CA (the TLS layer verifies
# it); each route checks revocation its own way.
https://localhost:$HTTPS_PORT {
	tls $CA/server.pem $CA/server-key.pem {
		client_auth {
			mode require_and_verify
			trust_pool file $CA/ca.pem
		}
	}
	log
	log_append client_certificate_reason {http.client_certificate.reason}

	handle /crl/* {
		client_certificate {
			revocation {
				crl $CRL_URL
				refresh 1s
				recheck 1s
			}
		}
		respond "ok {http.client_certificate.revocation}"
	}
	handle /ocsp-deny/* {
		client_certificate {
			revocation {
				ocsp
				on_unknown deny
				timeout 2s
			}
		}
		respond "ok {http.client_certificate.revocation}"
	}
	handle /ocsp-allow/* {
		client_certificate {
			revocation {
				ocsp
				on_unknown allow
				timeout 2s
			}
		}
		respond "ok {http.client_certificate.revocation}"
	}
	handle_errors {
		respond "denied {http.client_certificate.reason} {http.client_certificate.revocation}" {err.status_code}
	}
}

# The same CRL checked by the TLS verifier: a revoked certificate's
# handshake is refused.
https://verifier.localhost:$HTTPS_PORT {
	tls $CA/server.pem $CA/server-key.pem {
		client_auth {
			mode require_and_verify
			trust_pool file $CA/ca.pem
			verifier client_certificate {
				revocation {
					crl $CRL_URL
					refresh 1s
					recheck 1s
				}
			}
		}
	}
	respond "ok verifier"
}

# The CRL distribution point of the client certificates.
http://localhost:$CRL_PORT {
	root * $WWW
	file_server
}
EOF

# start_caddy N starts Caddy (log $DIR/caddy-N.log) and waits for its ports.
start_caddy() {
	CADDY_LOG=$DIR/caddy-$1.log
	"$CADDY" run --config "$DIR/Caddyfile" --adapter caddyfile >"$CADDY_LOG" 2>&1 &
	CADDY_PID=$!
	local deadline=$((SECONDS + 20))
	until port_open localhost "$HTTPS_PORT" && port_open localhost "$CRL_PORT"; do
		kill -0 "$CADDY_PID" 2>/dev/null || {
			tail -n 20 "$CADDY_LOG" >&2
			die "Caddy exited during startup; see $CADDY_LOG"
		}
		((SECONDS < deadline)) || die "Caddy did not listen on $HTTPS_PORT and $CRL_PORT within 20 s; see $CADDY_LOG"
		sleep 0.1
	done
	echo "Caddy (pid $CADDY_PID) is serving https://localhost:$HTTPS_PORT and $CRL_URL"
}

# wait_log TEXT waits up to 15 s for TEXT in the Caddy log.
wait_log() {
	local deadline=$((SECONDS + 15))
	until grep -qF "$1" "$CADDY_LOG"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

step "starting Caddy (log: $DIR/caddy-1.log)"
start_caddy 1
# The CRL source fetches at start, possibly before Caddy's own HTTP site is
# up (it then retries after refresh): the first case waits for the load.
wait_log '"msg":"client certificate revocation: CRL loaded"' ||
	echo "revocation-e2e: note: no \"CRL loaded\" in the log after 15 s" >&2

# ---------------------------------------------------------------- cases ----

# request CERT URL prints what Caddy answered: 'CODE BODY', or 'handshake
# refused (curl N)', or 'curl exit N'.
request() {
	local cert=$1 url=$2 code rc=0
	local args=(-q --silent --show-error --noproxy '*' --max-time 10 --cacert "$CA/ca.pem"
		--resolve "verifier.localhost:$HTTPS_PORT:127.0.0.1"
		-o "$DIR/body" -w '%{http_code}')
	[[ $cert == - ]] || args+=(--cert "$CA/$cert.pem" --key "$CA/$cert-key.pem")
	rm -f "$DIR/body"
	code=$(curl "${args[@]}" "$url" 2>"$DIR/curl.err") || rc=$?
	if ((rc == 0)); then
		printf '%s %s' "$code" "$(head -c 100 "$DIR/body")"
	elif [[ $code == 000 ]] && ((rc == 35 || rc == 55 || rc == 56)); then
		# 35: alert during the handshake; 55/56: with TLS 1.3 the server's
		# alert arrives after the client finished its handshake.
		printf 'handshake refused (curl %d)' "$rc"
	else
		printf 'curl exit %d' "$rc"
	fi
}

# check DESCRIPTION CERT PATH EXPECTED sends one request on a new connection.
check() {
	local desc=$1 cert=$2 path=$3 want=$4
	row "$desc" "$cert" "$want" "$(request "$cert" "https://localhost:$HTTPS_PORT$path")"
}

# is_refused TEXT succeeds for a refused handshake, whatever curl's code.
is_refused() { [[ $1 == "handshake refused"* ]]; }

# poll DESCRIPTION CERT URL BEFORE AFTER repeats a request on new
# connections until it gets AFTER, for up to 15 s; anything else than
# BEFORE or AFTER on the way fails at once. "handshake refused" matches
# every curl code of a refused handshake.
poll() {
	local desc=$1 cert=$2 url=$3 before=$4 after=$5 got norm start
	start=$EPOCHREALTIME
	local deadline=$((SECONDS + 15))
	while :; do
		got=$(request "$cert" "$url")
		norm=$got
		is_refused "$got" && norm="handshake refused"
		[[ $norm == "$after" ]] && break
		if [[ $norm != "$before" ]] || ((SECONDS >= deadline)); then
			break
		fi
		sleep 0.2
	done
	row "$desc" "$cert" "$after" "$norm" "$got (after $(elapsed_since "$start") s)"
}

HTTPS=https://localhost:$HTTPS_PORT
VERIFIER=https://verifier.localhost:$HTTPS_PORT

step "CRL: $CRL_URL (refresh 1s, recheck 1s)"
check "CRL: good" crl-good /crl/ "200 ok good"
check "CRL: not yet revoked" crl-victim /crl/ "200 ok good"
got=$(request crl-victim "$VERIFIER/")
row "CRL, TLS verifier: not yet revoked" crl-victim "200 ok verifier" "$got"

# One TLS connection, kept alive across the revocation: openssl s_client
# reads from a FIFO that a writer (KA_WRITER) feeds one request, then, once
# the gate file exists (new connections see the revocation), a second one
# with Connection: close, so that the server ends the connection and
# s_client exits. Both answers come from the one connection of the one
# s_client process. (Separate processes rather than a pipeline, so that
# cleanup can stop each.)
KA_OUT=$DIR/keepalive.out
KA_GATE=$DIR/keepalive.gate
KA_FIFO=$DIR/keepalive.fifo
# http_request PATH AGENT CONNECTION prints an HTTP/1.1 request.
http_request() {
	printf 'GET %s HTTP/1.1\r\nHost: localhost:%s\r\nUser-Agent: %s\r\nConnection: %s\r\n\r\n' "$1" "$HTTPS_PORT" "$2" "$3"
}
keepalive_writer() {
	http_request /crl/keepalive e2e-keepalive/1 keep-alive
	local deadline=$((SECONDS + 40))
	until [[ -e $KA_GATE ]] || ((SECONDS >= deadline)); do sleep 0.1; done
	http_request /crl/keepalive e2e-keepalive/2 close
}
mkfifo "$KA_FIFO"
keepalive_writer >"$KA_FIFO" &
KA_WRITER=$!
openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername localhost \
	-CAfile "$CA/ca.pem" -verify_return_error -cert "$CA/crl-victim.pem" -key "$CA/crl-victim-key.pem" \
	-quiet -nocommands <"$KA_FIFO" >"$KA_OUT" 2>"$DIR/keepalive.err" &
KA_PID=$!

# responses FILE prints 'CODE BODY' for each HTTP/1.1 response in FILE.
responses() {
	local rest headers len
	local re_len=$'[Cc]ontent-[Ll]ength: ([0-9]+)'
	rest=$(cat "$1")
	while [[ $rest == "HTTP/1.1 "* && $rest == *$'\r\n\r\n'* ]]; do
		headers=${rest%%$'\r\n\r\n'*}
		rest=${rest#*$'\r\n\r\n'}
		len=0
		[[ $headers =~ $re_len ]] && len=${BASH_REMATCH[1]}
		printf '%s %s\n' "${headers:9:3}" "${rest:0:len}"
		rest=${rest:len}
	done
}

# The first answer arrives before the revocation.
deadline=$((SECONDS + 10))
until [[ -n $(responses "$KA_OUT") ]] || ((SECONDS >= deadline)); do sleep 0.1; done
ka_first=$EPOCHREALTIME

step "revoking crl-victim: openssl ca -revoke, openssl ca -gencrl"
ossl_ca -revoke "$CA/crl-victim.pem" -crl_reason superseded
publish_crl
openssl crl -inform DER -in "$WWW/ca.crl" -noout -text |
	awk '/CRL Number/ { getline; n = $1 } /Serial Number:/ { s = s " " $3 } END { printf "  CRL number %s, revoked serials:%s\n", n, s }'

poll "CRL: revoked, new connection, no reload" crl-victim "$HTTPS/crl/" "200 ok good" "403 denied revoked revoked"
poll "CRL, TLS verifier: revoked" crl-victim "$VERIFIER/" "200 ok verifier" "handshake refused"
check "CRL: good, after the revocation" crl-good /crl/ "200 ok good"

# The connection's verdict stands for recheck (1s) after the first answer:
# the second request goes out only once that has passed.
until awk -v a="$ka_first" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a >= 1.5) }'; do sleep 0.1; done
touch "$KA_GATE"
deadline=$((SECONDS + 15))
while kill -0 "$KA_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
stop_pid "$KA_PID"
stop_pid "$KA_WRITER"
KA_PID='' KA_WRITER=''
mapfile -t ka < <(responses "$KA_OUT")
row "CRL: kept-alive, request 1 (before)" crl-victim "200 ok good" "${ka[0]:-(no answer)}"
row "CRL: kept-alive, request 2 (after)" crl-victim "403 denied revoked revoked" "${ka[1]:-(no answer)}"

# access_port AGENT prints the client port of the request sent with AGENT,
# from Caddy's access log.
access_port() {
	grep -F '"msg":"handled request"' "$CADDY_LOG" | grep -F "\"$1\"" | grep -o '"remote_port":"[0-9]*"' | head -n 1 | tr -dc 0-9
}
p1=$(access_port e2e-keepalive/1)
p2=$(access_port e2e-keepalive/2)
same="different connections"
[[ -n $p1 && $p1 == "$p2" ]] && same="same connection"
row "CRL: kept-alive, one TLS connection" crl-victim "same connection" "$same" "$same (client ports ${p1:-?}, ${p2:-?})"

# The revocation took effect without a reload: the one Caddy process loaded
# its configuration once (a reload through the admin API logs "load
# complete").
loads=$(grep -cE '"msg":"(serving initial configuration|load complete)"' "$CADDY_LOG" || true)
alive=exited
kill -0 "$CADDY_PID" 2>/dev/null && alive=running
row "CRL: no reload" - "running, 1 config load" "$alive, $loads config load$( ((loads == 1)) || echo s)" \
	"$alive (pid $CADDY_PID), $loads config load$( ((loads == 1)) || echo s)"

step "OCSP: $OCSP_URL (the certificates' authority information access)"
check "OCSP (on_unknown deny): good" ocsp-good /ocsp-deny/ "200 ok good"
check "OCSP (on_unknown allow): good" ocsp-good /ocsp-allow/ "200 ok good"
check "OCSP (on_unknown deny): revoked" ocsp-revoked /ocsp-deny/ "403 denied revoked revoked"
check "OCSP (on_unknown allow): revoked" ocsp-revoked /ocsp-allow/ "403 denied revoked revoked"

step "stopping the OCSP responder"
stop_responder

# down URL prints how a plain request to URL ends: the status code, or
# 'refused' when nothing listens.
down() {
	local code rc=0
	code=$(curl -q --silent --noproxy '*' --max-time 5 -o /dev/null -w '%{http_code}' "$1") || rc=$?
	if ((rc == 7)); then
		echo refused
	elif ((rc == 0)); then
		echo "$code"
	else
		echo "curl exit $rc"
	fi
}

row "OCSP responder stopped" - "refused" "$(down "$OCSP_URL")"
check "OCSP (on_unknown deny): never asked, down" ocsp-never /ocsp-deny/ "403 denied revocation_unknown unknown"
check "OCSP (on_unknown allow): never asked, down" ocsp-never /ocsp-allow/ "200 ok unknown"

kept() {
	local ocsp crl
	ocsp=$(find "$DIR/storage" -path '*client_certificate/ocsp/*' -type f | wc -l)
	crl=$(find "$DIR/storage" -path '*client_certificate/crl/*' -type f | wc -l)
	printf 'ocsp=%d crl=%d' "$ocsp" "$crl"
}
row "storage before the restart" - "ocsp=2 crl=1" "$(kept)"

step "restarting Caddy with the responder stopped and the CRL removed from $CRL_URL"
stop_caddy
rm -f "$WWW/ca.crl"
start_caddy 2

row "OCSP responder still stopped" - "refused" "$(down "$OCSP_URL")"
row "CRL URL after the restart" - "404" "$(down "$CRL_URL")"
check "restart, OCSP: good, from storage" ocsp-good /ocsp-deny/ "200 ok good"
check "restart, OCSP: revoked, from storage" ocsp-revoked /ocsp-deny/ "403 denied revoked revoked"
check "restart, OCSP: never asked, down" ocsp-never /ocsp-deny/ "403 denied revocation_unknown unknown"
check "restart, CRL: good, from storage" crl-good /crl/ "200 ok good"
check "restart, CRL: revoked, from storage" crl-victim /crl/ "403 denied revoked revoked"
got=$(request crl-victim "$VERIFIER/")
norm=$got
is_refused "$got" && norm="handshake refused"
row "restart, CRL, TLS verifier: revoked" crl-victim "handshake refused" "$norm" "$got"

# ---------------------------------------------------------------- report ----

echo
print_table case
echo
total=${#ROWS[@]}
if ((FAILED > 0)); then
	# The plugin's lines, warnings and errors: the debug log is mostly TLS.
	for log in "$DIR"/caddy-*.log; do
		echo "---- $log (plugin lines, warnings and errors; last 40)"
		grep -E 'client_certificate|revocation|"level":"(warn|error)"' "$log" | tail -n 40 || true
	done
	echo "---- $DIR/ocsp.log"
	tail -n 20 "$DIR/ocsp.log"
	echo "revocation-e2e: $FAILED of $total checks FAILED (logs in $DIR)"
	exit 1
fi
echo "revocation-e2e: all $total checks PASS"
