#!/usr/bin/env bash
# throttle.sh [--quick]: how close the exporter's pacing gets to a Graph
# throttle without tripping it.
#
# What it measures: bench/fakegraph throttles each tenant to 5 Graph
# requests in any 2 s window (a sliding window, as Graph counts; token
# requests are not counted) and serves userRegistrationDetails in exactly
# REQUESTS pages (40; --quick: 10) of 1000 users; the exporter does not send
# $top for that report, so the fake's page size decides. The exporter polls
# only that report, paced with graph_rate_limit 5 per 2s. The poll's time is
# its report_duration_seconds (including the token request); the least a
# poll can take is (REQUESTS - 5) * 2 / 5 s: five requests at once, then
# five more each 2 s. The 429s are the exporter's graph_requests_total with
# code="429" (absent = 0); a pacing that matches the throttle has none.
#
# Settings from the environment: REQUESTS, LIMIT (5) and PER (2, seconds)
# for the throttle, MIN_LATENCY and MAX_LATENCY (e.g. 1s and 3s: each page
# answer is held that long, as Graph's are) and EXPORTER, the path of
# another exporter binary to measure instead of this tree's (to compare
# two versions under the same conditions). With latency, the minimum in the
# table leaves the latency out.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

REQUESTS=${REQUESTS:-40}
case ${1:-} in
--quick) REQUESTS=10 ;;
"") ;;
*) die "usage: $0 [--quick]" ;;
esac
LIMIT=${LIMIT:-5} PER=${PER:-2}
report=user_registration_details

build
if [[ -n ${EXPORTER:-} ]]; then
	cp "$EXPORTER" "$tmp/exporter"
fi
start_fake -users $((REQUESTS * 1000)) -page-size 1000 -reports userRegistrationDetails -every-report-every-poll \
	-rate-limit $LIMIT -rate-per ${PER}s -client-rate-limit $LIMIT -client-rate-per ${PER}s -poll-interval 1h \
	-min-latency "${MIN_LATENCY:-0s}" -max-latency "${MAX_LATENCY:-0s}"
start_exporter
log "exporter at $EXP_URL polling the fake at $FAKE_URL"

end=$((SECONDS + 60 + REQUESTS * (PER + 3)))
until scrape && [[ -n $(metric entra_authmethods_report_up "report=\"$report\"") ]]; do
	((SECONDS < end)) || die "no poll finished in time; see $tmp/exporter.log (KEEP_TMP=1 keeps it)"
	sleep 0.2
done
[[ $(metric entra_authmethods_report_up "report=\"$report\"") == 1 ]] ||
	die "the poll failed: $(grep -m1 'poll failed' "$tmp/exporter.log")"
d=$(metric entra_authmethods_report_duration_seconds "report=\"$report\"")
n=$(metric_sum entra_authmethods_report_records "report=\"$report\"")
ok=$(metric_sum entra_authmethods_graph_requests_total 'code="200"')
throttled=$(metric_sum entra_authmethods_graph_requests_total 'code="429"')
all=$(metric_sum entra_authmethods_graph_requests_total)
minimum=$(awk -v r=$REQUESTS -v l=$LIMIT -v p=$PER 'BEGIN { print (r - l) * p / l }')
log "records=$n requests: 200=$ok 429=$throttled all=$all"
bad=0
[[ $n == $((REQUESTS * 1000)) && $ok == "$REQUESTS" ]] || { log "WRONG: want $((REQUESTS * 1000)) records in $REQUESTS requests"; bad=1; }

echo
echo "| requests | limit | minimum s | exporter poll s | poll/minimum | 429 responses |"
echo "|---:|---|---:|---:|---:|---:|"
printf '| %s | %s per %ss | %s | %.3f | %s | %s |\n' "$REQUESTS" "$LIMIT" "$PER" "$minimum" "$d" "$(ratio "$d" "$minimum")" "$throttled"
exit "$bad"
