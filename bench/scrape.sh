#!/usr/bin/env bash
# scrape.sh [--quick]: /metrics latency under load, for many tenants.
#
# What it measures: bench/fakegraph serves TENANTS (100; --quick: 5)
# synthetic tenants of USERS (500) users; the exporter polls all eight
# reports of each, unthrottled, with poll_interval POLL_INTERVAL (1h) so
# no poll runs during the load. Once /-/ready answers 200 (every tenant's
# first round done) and every report_up is 1, bench/scrapeload scrapes
# /metrics from C (4) clients back to back for D (20; --quick: 2) seconds,
# first with the headers Prometheus sends (OpenMetrics Accept, gzip), then
# without gzip. Latency is from sending the request to reading the whole
# body. The scrapers run on the same cores as the exporter, and back to
# back: far more load than Prometheus makes, so this is a worst case.
# EVERY (say 2s) makes each client wait between scrapes, as Prometheus
# does (every scrape compresses its own body). A POLL_INTERVAL of minutes makes
# the snapshots change during the load; EVERY_REPORT=1 polls every report
# at it (100 tenants at 2m: 6.7 snapshots a second). The CPU column is the
# exporter's CPU time during the load.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

TENANTS=${TENANTS:-100} USERS=${USERS:-500} C=${C:-4} D=${D:-20} EVERY=${EVERY:-0s} POLL_INTERVAL=${POLL_INTERVAL:-1h}
case ${1:-} in
--quick) TENANTS=5 D=2 ;;
"") ;;
*) die "usage: $0 [--quick]" ;;
esac

build
start_fake -tenants "$TENANTS" -users "$USERS" -reports all -poll-interval "$POLL_INTERVAL" ${EVERY_REPORT:+-every-report-every-poll}
start_exporter
log "exporter at $EXP_URL polling $TENANTS tenants at $FAKE_URL"

end=$((SECONDS + 300))
until [[ $(curl -s -o /dev/null -w '%{http_code}' "$EXP_URL/-/ready") == 200 ]]; do
	((SECONDS < end)) || die "not ready after 300 s; see $tmp/exporter.log (KEEP_TMP=1 keeps it)"
	sleep 0.2
done
scrape
up=$(metric_sum entra_authmethods_report_up)
want=$((TENANTS * 8))
[[ $up == "$want" ]] || die "$up of $want reports are up: $(grep -m1 'poll failed' "$tmp/exporter.log")"
log "ready: $up reports up; exporter RSS $(rss_mib "$EXP_PID") MiB, peak so far $(peak_rss_mib "$EXP_PID") MiB"

# kv KEY FILE prints the value of KEY=value in scrapeload's output.
kv() { grep -o "\b$1=[^ ]*" "$2" | head -1 | cut -d= -f2 | tr -d '"'; }

echo
echo "| tenants | gzip | clients | scrapes | errors | series | bytes per scrape | p50 ms | p90 ms | p99 ms | max ms | CPU s |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
bad=0
for gz in true false; do
	out=$tmp/scrapeload-$gz.txt
	cpu=$(cpu_seconds "$EXP_PID")
	"$tmp/scrapeload" -url "$EXP_URL/metrics" -c "$C" -d "${D}s" -every "$EVERY" -gzip=$gz >"$out"
	sed 's/^/# /' "$out" >&2
	[[ $(kv errors "$out") == 0 ]] || bad=1
	cpu=$(awk -v a="$cpu" -v b="$(cpu_seconds "$EXP_PID")" 'BEGIN { printf "%.2f\n", b - a }')
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$TENANTS" "$gz" "$C" \
		"$(kv scrapes "$out")" "$(kv errors "$out")" "$(kv series "$out")" "$(kv bytes_per_scrape "$out")" \
		"$(kv p50_ms "$out")" "$(kv p90_ms "$out")" "$(kv p99_ms "$out")" "$(kv max_ms "$out")" "$cpu"
done
log "after the load: exporter RSS $(rss_mib "$EXP_PID") MiB, peak $(peak_rss_mib "$EXP_PID") MiB"
exit "$bad"
