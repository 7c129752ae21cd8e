#!/usr/bin/env bash
# attack.sh [--quick] [ATTACK...]: the exporter against a hostile Graph.
#
# For each attack of the fake (fakegraph.Attack; default: every one),
# bench/fakegraph serves TENANTS (10) tenants under that attack and one
# healthy tenant, and the exporter polls all of them (the default reports,
# poll_interval 15s, pacing effectively off so the attacks arrive as fast as
# they can) for DURATION seconds (75; --quick: 12). The exporter runs as a
# container would: in a cgroup with a 256 MiB memory limit when this
# machine lets us make one (cgroup v1 or v2, as root), where
# --auto-gomemlimit sets GOMEMLIMIT from it and the kernel kills the
# exporter past it; elsewhere with GOMEMLIMIT=230MiB. NO_LIMIT=1 runs it
# with neither, to see the memory it takes when nothing makes it collect.
#
# Checked for each attack, any failure fails the script:
#   - the exporter stays up, and its peak RSS (VmHWM) is under 256 MiB;
#   - /metrics answers every second, each scrape within MAX_SCRAPE_S (1 s;
#     --quick: 5 s, as CI shares a busy machine and checks only that scrapes
#     keep being answered), and the healthy tenant's reports are all up by
#     the end;
#   - no log line, /metrics, landing page or /-/reload answer holds a token
#     the fake sent (fakegraph.LeakedTokenPrefix) or a client secret;
#   - SIGTERM ends the exporter within 5 s.
# The table also shows when /-/ready first answered 200 (every tenant's first
# round done), in seconds after start; "-" if not within DURATION.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-75}
TENANTS=10
attacks=()
for arg in "$@"; do
	case $arg in
	--quick) DURATION=12 MAX_SCRAPE_S=${MAX_SCRAPE_S:-5} ;;
	-*) die "usage: $0 [--quick] [ATTACK...]" ;;
	*) attacks+=("$arg") ;;
	esac
done

build
((${#attacks[@]})) || mapfile -t attacks < <("$tmp/fakegraph" -list-attacks)

# cgroup makes a memory cgroup of 256 MiB and prints the file to write a
# PID into, or nothing when this machine does not allow it.
cgroup() {
	local name="entra-attack-$$" dir
	if [[ -w /sys/fs/cgroup/cgroup.subtree_control ]] && grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
		dir=/sys/fs/cgroup/$name
		mkdir "$dir" 2>/dev/null && echo $((256 << 20)) >"$dir/memory.max" && echo 0 >"$dir/memory.swap.max" 2>/dev/null
	elif [[ -w /sys/fs/cgroup/memory ]]; then
		dir=/sys/fs/cgroup/memory/$name
		mkdir "$dir" 2>/dev/null && echo $((256 << 20)) >"$dir/memory.limit_in_bytes"
	fi
	[[ -n ${dir:-} && -d $dir ]] && echo "$dir/cgroup.procs"
}
CGROUP_PROCS=
[[ -n ${NO_LIMIT:-} ]] || CGROUP_PROCS=$(cgroup || true)
if [[ -n ${NO_LIMIT:-} ]]; then
	log "NO_LIMIT: the exporter runs without a memory limit"
elif [[ -n $CGROUP_PROCS ]]; then
	log "exporter runs in the memory cgroup $(dirname "$CGROUP_PROCS") (limit 256 MiB)"
	trap 'cleanup; rmdir "$(dirname "$CGROUP_PROCS")" 2>/dev/null || true' EXIT
else
	log "no memory cgroup can be made here: the exporter runs with GOMEMLIMIT=230MiB"
fi

# start_limited starts the exporter as start_exporter does, but within the
# cgroup (or with GOMEMLIMIT).
start_limited() {
	local port
	port=$(free_port)
	EXP_URL="http://127.0.0.1:$port"
	if [[ -n $CGROUP_PROCS ]]; then
		SSL_CERT_FILE="$tmp/fake/ca.pem" sh -c 'echo $$ >"$0" && exec "$@"' "$CGROUP_PROCS" \
			"$tmp/exporter" --config.file="$tmp/fake/config.yaml" --config.allow-custom-endpoints --web.enable-lifecycle --web.listen-address="127.0.0.1:$port" >"$tmp/exporter.log" 2>&1 &
	else
		local limit=(GOMEMLIMIT=230MiB)
		[[ -n ${NO_LIMIT:-} ]] && limit=(--unset=GOMEMLIMIT)
		env "${limit[@]}" SSL_CERT_FILE="$tmp/fake/ca.pem" \
			"$tmp/exporter" --config.file="$tmp/fake/config.yaml" --config.allow-custom-endpoints --web.enable-lifecycle --web.listen-address="127.0.0.1:$port" >"$tmp/exporter.log" 2>&1 &
	fi
	EXP_PID=$!
	pids+=("$EXP_PID")
	wait_listening
}

echo
echo "| attack | peak RSS MiB | slowest scrape s | ready after s | healthy tenant up | leaks | SIGTERM to exit s | result |"
echo "|---|---:|---:|---:|---|---:|---:|---|"
failed=0
for attack in "${attacks[@]}"; do
	log "attack $attack"
	rm -rf "$tmp/fake"
	start_fake -tenants $((TENANTS + 1)) -healthy 1 -attack "$attack" -users 2000 -page-size 1000 -reports default -poll-interval 15s
	"$tmp/exporter" --config.file="$tmp/fake/config.yaml" --config.allow-custom-endpoints --config.check >/dev/null || die "the exporter rejects the fake's config"
	start_limited
	healthy=$(printf 't%03d' $((TENANTS + 1)))
	problems=() slowest=0 ready=-
	for ((i = 0; i < DURATION; i++)); do
		sleep 1
		[[ $ready == - ]] && curl -fsS -m 1 -o /dev/null "$EXP_URL/-/ready" 2>/dev/null && ready=$((i + 1))
		kill -0 "$EXP_PID" 2>/dev/null || {
			problems+=("exporter died: $(tail -3 "$tmp/exporter.log" | tr '\n' ' ')")
			break
		}
		t=$(curl -sS -m 5 -o "$tmp/metrics" -w '%{time_total}' "$EXP_URL/metrics" || echo fail)
		if [[ $t == fail ]]; then
			problems+=("a scrape failed")
			continue
		fi
		slowest=$(awk -v a="$slowest" -v b="$t" 'BEGIN { print (b > a) ? b : a }')
	done
	rss=$(peak_rss_mib "$EXP_PID" 2>/dev/null || echo dead)
	up=$(awk -v t="tenant=\"$healthy\"" 'index($0, "entra_authmethods_report_up{") == 1 && index($0, t) { n++; s += $NF } END { printf "%d/%d", s, n }' "$tmp/metrics")
	# Everything an outsider can read or the operator logs.
	curl -sS -m 5 "$EXP_URL/" >"$tmp/landing.html" || true
	curl -sS -m 5 -X POST "$EXP_URL/-/reload" >"$tmp/reload.txt" || true
	secrets=$(grep -o 'client_secret: "[^"]*"' "$tmp/fake/config.yaml" | cut -d'"' -f2)
	leaks=$(cat "$tmp/exporter.log" "$tmp/metrics" "$tmp/landing.html" "$tmp/reload.txt" |
		grep -cF -e LEAKED-ACCESS-TOKEN- $(printf -- '-e %s ' $secrets) || true)
	start=$(date +%s.%N)
	kill -TERM "$EXP_PID" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$EXP_PID" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$EXP_PID" 2>/dev/null && { problems+=("still running 5 s after SIGTERM"); kill -KILL "$EXP_PID"; }
	exit_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
	kill "$FAKE_PID" 2>/dev/null || true
	wait "$FAKE_PID" 2>/dev/null || true

	[[ $rss == dead || $rss -ge 256 ]] && problems+=("peak RSS $rss MiB")
	awk -v s="$slowest" -v m="${MAX_SCRAPE_S:-1}" 'BEGIN { exit !(s > m) }' && problems+=("a scrape took ${slowest}s")
	[[ $leaks -gt 0 ]] && problems+=("$leaks lines hold a token or secret")
	[[ $up =~ ^([0-9]+)/([0-9]+)$ && ${BASH_REMATCH[1]} == "${BASH_REMATCH[2]}" && ${BASH_REMATCH[2]} -gt 0 ]] ||
		problems+=("healthy tenant's reports up: $up")
	result=ok
	if ((${#problems[@]})); then
		result="FAIL: $(
			IFS=';'
			echo "${problems[*]}"
		)"
		failed=1
		cp "$tmp/exporter.log" "$tmp/exporter-$attack.log"
	fi
	printf '| %s | %s | %.3f | %s | %s | %s | %s | %s |\n' "$attack" "$rss" "$slowest" "$ready" "$up" "$leaks" "$exit_s" "$result"
done
exit "$failed"
