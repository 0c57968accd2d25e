# Shell helpers shared by scripts/demo.sh and bench/run.sh (sourced).

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
