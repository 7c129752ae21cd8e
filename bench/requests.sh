#!/usr/bin/env bash
# requests.sh [--quick] [USERS...]: Graph requests per tenant per day with
# every report polled every poll_interval (30m), as before
# report_poll_intervals, and with the built-in report_poll_intervals.
#
# What it measures: bench/fakegraph serves one synthetic tenant of USERS
# users (default 10000 and 300000; --quick: 2000), pages of 1000 rows as
# Graph sends them. For each default report the exporter polls that report
# alone, once; its requests are the 2xx responses it counts
# (entra_authmethods_graph_requests_total) once it is ready. Requests per
# day are requests per poll times polls per day at each report's interval:
# 30m for every report before; the intervals the exporter reports
# (entra_authmethods_poll_interval_seconds) after.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

sizes=()
for arg in "$@"; do
	case $arg in
	--quick) sizes=(2000) ;;
	[0-9]*) sizes+=("$arg") ;;
	*) die "usage: $0 [--quick] [USERS...]" ;;
	esac
done
((${#sizes[@]})) || sizes=(10000 300000)
reports=(credential_registration_count user_registration_details user_events_summary user_mfa_signin_summary user_password_resets_summary)
before_interval=1800

build
rows=()
for users in "${sizes[@]}"; do
	log "generating a tenant of $users users"
	rm -rf "$tmp/fake"
	start_fake -users "$users" -page-size 1000 -reports default -poll-interval 30m \
		-client-rate-limit 1000 -client-rate-per 100ms
	cp "$tmp/fake/config.yaml" "$tmp/all.yaml"
	before=0 after=0
	for report in "${reports[@]}"; do
		sed -E "s/^    reports: .*/    reports: [$report]/" "$tmp/all.yaml" >"$tmp/fake/config.yaml"
		start_exporter
		for _ in $(seq 600); do
			curl -fsS -o /dev/null "$EXP_URL/-/ready" 2>/dev/null && break
			sleep 0.2
		done
		scrape
		[[ $(metric entra_authmethods_report_up "report=\"$report\"") == 1 ]] || die "$report: poll failed; see $tmp/exporter.log"
		n=$(metric_sum entra_authmethods_graph_requests_total 'code="200"')
		interval=$(metric entra_authmethods_poll_interval_seconds "report=\"$report\"")
		interval=$(awk -v v="$interval" 'BEGIN { printf "%.0f", v }')
		b=$((n * 86400 / before_interval))
		a=$((n * 86400 / interval))
		log "$users users, $report: $n requests a poll; every ${before_interval}s: $b a day; every ${interval}s: $a a day"
		rows+=("| $users | $report | $n | $b | $((interval / 60))m | $a |")
		before=$((before + b)) after=$((after + a))
		kill "$EXP_PID"
		wait "$EXP_PID" 2>/dev/null || true
	done
	rows+=("| $users | **all default reports** | | **$before** | | **$after** |")
	kill "$FAKE_PID"
	wait "$FAKE_PID" 2>/dev/null || true
done

echo
echo "| users | report | requests a poll | a day, every 30m | interval now | a day now |"
echo "|---:|---|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
