#!/usr/bin/env bash
# poll.sh [--quick] [USERS]: how long the exporter takes to poll a big
# tenant's userRegistrationDetails, against a bare serial paging client.
#
# What it measures, on this machine, out of process:
#   - bench/fakegraph serves one synthetic tenant of USERS users (default
#     300000; --quick: 5000), pages of 1000, no throttling. It shares the
#     cores with the clients and pays for encoding every page, so the
#     figures are for the whole path, the same for both clients.
#   - The bare client (bench/bareclient: net/http + encoding/json, typed
#     records, no aggregation) reads the report 3 times; its time runs from
#     the first page request to the last page decoded, without the token.
#   - The exporter polls only that report, with its pacing effectively off
#     (1000 requests per 100ms), poll_interval 1s and report_poll_intervals: {}
#     (every report every poll), so its rounds run back
#     to back. The poll time is its own report_duration_seconds for each of
#     the first POLLS (3) polls seen; the first includes the token request.
#     Every poll must have read exactly USERS records, and the users gauge
#     must sum to USERS. Peak RSS is the exporter's VmHWM after those polls.
# The table shows medians; the single runs are logged on stderr.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

USERS=${USERS:-300000}
POLLS=${POLLS:-3}
for arg in "$@"; do
	case $arg in
	--quick) USERS=5000 ;;
	[0-9]*) USERS=$arg ;;
	*) die "usage: $0 [--quick] [USERS]" ;;
	esac
done
report=user_registration_details

build
log "generating a tenant of $USERS users"
start_fake -users "$USERS" -page-size 1000 -reports userRegistrationDetails -every-report-every-poll -poll-interval 1s
log "fake Graph at $FAKE_URL"

bare=()
for i in 1 2 3; do
	fake_cpu=$(cpu_seconds "$FAKE_PID")
	out=$(/usr/bin/time -o "$tmp/bare.time" -f "%U %S" "$tmp/bareclient" -dir "$tmp/fake")
	log "bare client run $i: $out cpu_s=$(awk '{ print $1 + $2 }' "$tmp/bare.time") fake_cpu_s=$(awk -v a="$fake_cpu" -v b="$(cpu_seconds "$FAKE_PID")" 'BEGIN { print b - a }')"
	[[ $out == *"records=$USERS "* ]] || die "bare client read the wrong number of records: $out"
	bare+=("$(sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$out")")
done

fake_cpu0=$(cpu_seconds "$FAKE_PID")
start_exporter
log "exporter at $EXP_URL (pid $EXP_PID)"
polls=() last="" bad=0
timeout=$((120 + USERS / 1000 * POLLS))
end=$((SECONDS + timeout))
while ((${#polls[@]} < POLLS)); do
	((SECONDS < end)) || die "fewer than $POLLS polls in $timeout s; see $tmp/exporter.log (KEEP_TMP=1 keeps it)"
	kill -0 "$EXP_PID" 2>/dev/null || die "exporter exited: $(tail -5 "$tmp/exporter.log")"
	sleep 0.2
	scrape || continue
	ts=$(metric entra_authmethods_report_last_success_timestamp_seconds "report=\"$report\"")
	if [[ -z $ts ]]; then
		[[ $(metric entra_authmethods_report_up "report=\"$report\"") == 0 ]] &&
			die "a poll failed: $(grep -m1 'poll failed' "$tmp/exporter.log")"
		continue
	fi
	[[ $ts == "$last" ]] && continue
	last=$ts
	d=$(metric entra_authmethods_report_duration_seconds "report=\"$report\"")
	n=$(metric_sum entra_authmethods_report_records "report=\"$report\"")
	log "exporter poll $((${#polls[@]} + 1)): records=$n seconds=$d"
	[[ $n == "$USERS" ]] || { log "WRONG: report_records $n, want $USERS"; bad=1; }
	polls+=("$d")
done
users_sum=$(metric_sum entra_authmethods_users)
[[ $users_sum == "$USERS" ]] || { log "WRONG: entra_authmethods_users sums to $users_sum, want $USERS"; bad=1; }
rss=$(peak_rss_mib "$EXP_PID")
log "CPU seconds since the exporter started: exporter $(cpu_seconds "$EXP_PID"), fake $(awk -v a="$fake_cpu0" -v b="$(cpu_seconds "$FAKE_PID")" 'BEGIN { print b - a }') (about $POLLS polls and a few seconds of the next)"
overruns=$(metric_sum entra_authmethods_poll_overruns_total)
log "exporter rounds counted as overruns (expected with poll_interval 1s): $overruns"

bm=$(median "${bare[@]}")
em=$(median "${polls[@]}")
echo
echo "| users | bare client median s | exporter poll median s ($POLLS polls) | exporter/bare | exporter peak RSS MiB |"
echo "|---:|---:|---:|---:|---:|"
printf '| %s | %.3f | %.3f | %s | %s |\n' "$USERS" "$bm" "$em" "$(ratio "$em" "$bm")" "$rss"
exit "$bad"
