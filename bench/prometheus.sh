#!/usr/bin/env bash
# prometheus.sh [--quick] [TENANTS...]: what a real Prometheus scraping the
# exporter costs, for many tenants, in Prometheus' text and protobuf
# (native histograms) modes, with and without compression.
#
# What it measures, for each count of TENANTS (100 1000; --quick: 20):
#   - bench/fakegraph serves TENANTS small tenants (tenants.sh's "small"
#     shape: USERS (50) users each, every default report, tenants.sh's
#     pacing). The exporter (--config.allow-custom-endpoints: the fake is on
#     loopback) polls them with poll_interval POLL (3600 s; --quick: 2 s),
#     so after /-/ready (first rounds staggered over at most a minute) no
#     poll runs during the measurements: the CPU is the scrapes' and the
#     idle exporter's. Every report_up must be 1.
#   - Then, one after the other on the same exporter, the modes:
#     idle: nothing scrapes it for DURATION (skipped by --quick or IDLE=0);
#     the baseline of the CPU column.
#     text, gzip: a fresh Prometheus (PROMETHEUS, Debian's 2.42: its own
#     TSDB under the temporary directory, a free port, scrape_interval 15s,
#     scrape_timeout 10s, one job scraping the exporter) runs for DURATION
#     (180 s; --quick: 30 s) after its /-/ready. It sends 2.42's Accept
#     header (accept_text below: OpenMetrics first) and Accept-Encoding:
#     gzip. native-histograms, gzip: the same with
#     --enable-feature=native-histograms, which makes it ask for protobuf
#     first (accept_proto below, as 2.42 sends it; later versions send
#     another).
#     text, identity and native-histograms, identity: compression off.
#     Prometheus 2.42 always sends Accept-Encoding: gzip and its scrape
#     configuration has no enable_compression (checked at start with
#     promtool check config; a Prometheus that has it is run with
#     enable_compression: false). Without it, these modes are curl only:
#     curl scrapes with that mode's Accept and Accept-Encoding: identity,
#     starting every 15 s, Prometheus' pace, for PACED (DURATION;
#     --quick: 5 s, one scrape), and the Prometheus columns are "-".
#   - samples, scrape median and max ms: Prometheus' scrape_samples_scraped
#     (its largest) and scrape_duration_seconds of the exporter's target,
#     quantile_over_time(0.5) and max_over_time over the whole run, queried
#     from its HTTP API at the run's end, before it is stopped. Every
#     scrape must be up. scrape_duration_seconds is more than the
#     exporter's answer: 2.42 takes it after parsing the body and
#     appending the samples (before the commit), and its first scrape
#     creates every series, so the max is usually the first scrape.
#   - curl TTLB p50, p99 and max ms: after Prometheus is stopped, SCRAPES (100;
#     --quick: 3) sequential curl scrapes 1.1 s apart (builds before 7def036
#     shared a compressed body for up to a second) with the mode's Accept
#     and Accept-Encoding (and Prometheus'
#     X-Prometheus-Scrape-Timeout-Seconds), each on a new connection, from
#     sending the request to the last byte (the body is not decompressed,
#     and goes to /dev/null: writing 35 MB to a file on disk added tens of
#     milliseconds to each time before it did; one more, untimed, scrape
#     keeps the body).
#     p99 is by nearest rank: of 100 scrapes it is the 99th; of fewer than
#     100 it is the slowest, as is max.
#   - answered: the Content-Type (text, openmetrics or protobuf) and
#     Content-Encoding (identity when none) of the last curl scrape; the
#     full headers and body sizes go to stderr.
#   - exporter CPU s/h: utime+stime from /proc/PID/stat (in CLK_TCK ticks)
#     consumed during the mode's DURATION (Prometheus modes: from its
#     /-/ready to the queries; curl modes: the paced scrapes; not the TTLB
#     scrapes), per hour. RSS and peak MiB: VmRSS and VmHWM at the end of
#     the mode; the peak is since the exporter started, so over the modes
#     before too, in the order of the table.
# Prometheus, curl, the fake and the exporter share the machine's cores:
# run on a quiet machine (it warns when the load average is high).
#
# Settings from the environment: USERS, POLL (seconds), DURATION, PACED,
# SCRAPES, IDLE=0, PROMETHEUS and PROMTOOL (paths), and EXPORTER, the path
# of another exporter binary to measure instead of this tree's (to compare
# a change under the same conditions). KEEP_TMP=1 keeps the temporary
# directory: logs, configs, Prometheus' TSDBs, the last body of each mode.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

USERS=${USERS:-50} POLL=${POLL:-3600} DURATION=${DURATION:-180} SCRAPES=${SCRAPES:-100} IDLE=${IDLE:-1}
PROMETHEUS=${PROMETHEUS:-prometheus} PROMTOOL=${PROMTOOL:-promtool}
counts=()
for arg in "$@"; do
	case $arg in
	--quick)
		quick=1
		DURATION=30 PACED=5 SCRAPES=3 POLL=2 IDLE=0
		;;
	[0-9]*) counts+=("$arg") ;;
	*) die "usage: $0 [--quick] [TENANTS...]" ;;
	esac
done
if ((${#counts[@]} == 0)); then
	if [[ -n ${quick:-} ]]; then counts=(20); else counts=(100 1000); fi
fi
PACED=${PACED:-$DURATION}
interval=15 timeout=10
reports_per_tenant=5 # config.DefaultReports()
hz=$(getconf CLK_TCK)

# The Accept headers Prometheus 2.42.0 sends (captured from it): text mode,
# and with --enable-feature=native-histograms.
accept_text='application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
accept_proto='application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'

command -v "$PROMETHEUS" >/dev/null || die "no $PROMETHEUS (PROMETHEUS=path)"
command -v "$PROMTOOL" >/dev/null || die "no $PROMTOOL (PROMTOOL=path)"
command -v jq >/dev/null || die "jq is needed to read Prometheus' API"
prom_version=$("$PROMETHEUS" --version 2>&1 | awk 'NR == 1 { print $3 }')
[[ $prom_version == 2.42.* ]] || log "WARNING: Prometheus $prom_version, not 2.42: its Accept headers may differ from the ones curl sends"

warn_if_busy
if [[ -n ${EXPORTER:-} ]]; then
	log "building the fake into $tmp; measuring $EXPORTER"
	(cd "$root" && go build -o "$tmp/fakegraph" ./bench/fakegraph)
	cp "$EXPORTER" "$tmp/exporter"
else
	log "building into $tmp"
	(cd "$root" && go build -o "$tmp/exporter" ./cmd/entra-authmethods-exporter && go build -o "$tmp/fakegraph" ./bench/fakegraph)
fi

now_ns() { date +%s%N; }

# until_ns NS: sleep until the time NS (nanoseconds since the epoch).
until_ns() { sleep "$(awk -v t="$1" -v now="$(now_ns)" 'BEGIN { d = (t - now) / 1e9; printf "%.3f\n", (d > 0) ? d : 0 }')"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# per_hour TICKS NS: CPU seconds per hour from TICKS of CPU in NS of time.
per_hour() { awk -v t="$1" -v ns="$2" -v hz="$hz" 'BEGIN { printf "%.1f\n", t / hz / (ns / 1e9) * 3600 }'; }

# ms SECONDS: milliseconds with one decimal, or "-" for nothing.
ms() { if [[ -z $1 ]]; then echo -; else awk -v s="$1" 'BEGIN { printf "%.1f\n", s * 1000 }'; fi; }

# rank P VALUES...: the P-th percentile by nearest rank (ceil(P/100*N)-th
# smallest): of 100 values, p50 is the 50th and p99 the 99th.
rank() {
	local p=$1
	shift
	printf '%s\n' "$@" | sort -g | awk -v p="$p" '{ v[NR] = $1 } END { r = int(p / 100 * NR); if (r < p / 100 * NR) r++; if (r < 1) r = 1; print v[r] }'
}

# header NAME FILE: the value of response header NAME in FILE (curl -D).
header() { tr -d '\r' <"$2" | awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$1")" -F': ' 'tolower($1) == n { print $2; exit }'; }

# short CONTENT-TYPE: text, openmetrics or protobuf.
short() {
	case $1 in
	text/plain*) echo text ;;
	application/openmetrics-text*) echo openmetrics ;;
	*protobuf*) echo protobuf ;;
	*) echo "${1:-none}" ;;
	esac
}

# curl_scrape ACCEPT ENCODING HEADERS-FILE BODY-FILE: one scrape like
# Prometheus'; prints "seconds bytes".
curl_scrape() {
	curl -fsS -o "$4" -D "$3" -H "Accept: $1" -H "Accept-Encoding: $2" \
		-H "X-Prometheus-Scrape-Timeout-Seconds: $timeout" -w '%{time_total} %{size_download}\n' "$EXP_URL/metrics"
}

# compression_key: whether Prometheus' scrape configuration has
# enable_compression (2.49 and later; not 2.42).
compression_key() {
	cat >"$tmp/compression.yml" <<-EOF
		scrape_configs:
		  - job_name: exporter
		    enable_compression: false
		    static_configs:
		      - targets: ['127.0.0.1:9']
	EOF
	"$PROMTOOL" check config "$tmp/compression.yml" >"$tmp/compression.out" 2>&1
}

# start_prometheus DIR FEATURE COMPRESSION: a fresh Prometheus scraping the
# exporter, with its TSDB and configuration in DIR; waits for /-/ready and
# sets PROM_PID and PROM_URL.
start_prometheus() {
	local dir=$1 feature=$2 compression=$3 port
	mkdir -p "$dir"
	{
		echo "global:"
		echo "  scrape_interval: ${interval}s"
		echo "  scrape_timeout: ${timeout}s"
		echo "scrape_configs:"
		echo "  - job_name: exporter"
		[[ $compression == true ]] || echo "    enable_compression: false"
		echo "    static_configs:"
		echo "      - targets: ['${EXP_URL#http://}']"
	} >"$dir/prometheus.yml"
	"$PROMTOOL" check config "$dir/prometheus.yml" >"$dir/promtool.out" 2>&1 || die "promtool rejects $dir/prometheus.yml: $(cat "$dir/promtool.out")"
	port=$(free_port)
	PROM_URL="http://127.0.0.1:$port"
	"$PROMETHEUS" --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
		--web.listen-address="127.0.0.1:$port" ${feature:+"--enable-feature=$feature"} >"$dir/prometheus.log" 2>&1 &
	PROM_PID=$!
	pids+=("$PROM_PID")
	for _ in $(seq 600); do
		[[ $(curl -s -o /dev/null -w '%{http_code}' "$PROM_URL/-/ready") == 200 ]] && return
		kill -0 "$PROM_PID" 2>/dev/null || die "prometheus exited: $(tail -5 "$dir/prometheus.log")"
		sleep 0.1
	done
	die "prometheus not ready after 60 s; see $dir/prometheus.log"
}

# query EXPR: the value of Prometheus' instant query EXPR at QTIME (the end
# of the run, so that a scrape during the queries counts in none), or
# nothing.
query() {
	curl -fsS "$PROM_URL/api/v1/query" --data-urlencode "query=$1" --data-urlencode "time=$QTIME" | jq -r '.data.result[0].value[1] // empty'
}

# mode N NAME ACCEPT ENCODING FEATURE: measure one mode on the running
# exporter; prints a table row. ACCEPT empty: idle. FEATURE "-": curl only.
mode() {
	local n=$1 name=$2 accept=$3 enc=$4 feature=$5 dir
	dir=$tmp/$n-$(tr -c 'a-z0-9\n' - <<<"$name")
	mkdir -p "$dir"
	local t0 c0 t1 c1 samples=- med=- max=-
	if [[ -z $accept ]]; then
		log "$n tenants, $name: $DURATION s"
		c0=$(ticks "$EXP_PID") t0=$(now_ns)
		sleep "$DURATION"
		c1=$(ticks "$EXP_PID") t1=$(now_ns)
	elif [[ $feature == - ]]; then
		log "$n tenants, $name: curl every $interval s for $PACED s"
		local times=() out end next k=0
		c0=$(ticks "$EXP_PID") t0=$(now_ns)
		end=$((t0 + PACED * 1000000000))
		# A scrape starts every interval from t0, as Prometheus' do.
		while next=$((t0 + k * interval * 1000000000)) && ((next < end)); do
			until_ns "$next"
			out=$(curl_scrape "$accept" "$enc" "$dir/headers" /dev/null)
			times+=("$(ms "${out% *}")")
			k=$((k + 1))
		done
		until_ns "$end"
		c1=$(ticks "$EXP_PID") t1=$(now_ns)
		log "paced scrapes ms: ${times[*]}"
	else
		local compression=true
		[[ $enc == gzip ]] || compression=false
		start_prometheus "$dir" "$feature" "$compression"
		log "$n tenants, $name: Prometheus $prom_version at $PROM_URL${feature:+ --enable-feature=$feature} for $DURATION s"
		c0=$(ticks "$EXP_PID") t0=$(now_ns)
		sleep "$DURATION"
		c1=$(ticks "$EXP_PID") t1=$(now_ns)
		QTIME=$(awk -v ns="$t1" 'BEGIN { printf "%.3f", ns / 1e9 }')
		local r=$((DURATION + 60)) sel='{job="exporter"}' scrapes up
		scrapes=$(query "count_over_time(up${sel}[${r}s])")
		up=$(query "sum_over_time(up${sel}[${r}s])")
		samples=$(query "max_over_time(scrape_samples_scraped${sel}[${r}s])")
		med=$(ms "$(query "quantile_over_time(0.5, scrape_duration_seconds${sel}[${r}s])")")
		max=$(ms "$(query "max_over_time(scrape_duration_seconds${sel}[${r}s])")")
		log "Prometheus: ${up:-0} of ${scrapes:-0} scrapes up; samples min $(query "min_over_time(scrape_samples_scraped${sel}[${r}s])") max $samples;" \
			"scrape_duration_seconds ms: $(curl -fsS "$PROM_URL/api/v1/query" --data-urlencode "query=scrape_duration_seconds${sel}[${r}s]" --data-urlencode "time=$QTIME" |
				jq -r '[.data.result[0].values[][1] | tonumber * 1000 | . * 10 | round / 10] | map(tostring) | join(" ")')"
		[[ -n $scrapes && $up == "$scrapes" ]] ||
			die "Prometheus scraped ${up:-0} of ${scrapes:-0} times successfully: $(curl -fsS "$PROM_URL/api/v1/targets" | jq -r '.data.activeTargets[0].lastError')"
		stop "$PROM_PID"
	fi
	local cpu
	cpu=$(per_hour $((c1 - c0)) $((t1 - t0)))
	log "exporter CPU: $((c1 - c0)) ticks (CLK_TCK $hz) in $(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", ns / 1e9 }') s: $cpu s/h"

	local p50=- p99=- slowest=- answered=-
	if [[ -n $accept ]]; then
		local times=() sizes=() out i
		for i in $(seq "$SCRAPES"); do
			((i == 1)) || sleep 1.1
			out=$(curl_scrape "$accept" "$enc" "$dir/headers" /dev/null)
			times+=("$(ms "${out% *}")")
			sizes+=("${out#* }")
		done
		p50=$(rank 50 "${times[@]}") p99=$(rank 99 "${times[@]}") slowest=$(rank 100 "${times[@]}")
		curl_scrape "$accept" "$enc" "$dir/headers" "$dir/body" >/dev/null # untimed: the body kept
		local ctype cenc
		ctype=$(header Content-Type "$dir/headers") cenc=$(header Content-Encoding "$dir/headers")
		answered="$(short "$ctype"), ${cenc:-identity}"
		log "curl (Accept-Encoding: $enc) ms: ${times[*]}"
		log "bytes: $(printf '%s\n' "${sizes[@]}" | sort -n | uniq -c | awk '{ printf "%s%s×%s", (NR > 1 ? ", " : ""), $2, $1 }'); Content-Type: $ctype; Content-Encoding: ${cenc:-none}"
	fi
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
		"$n" "$name" "$samples" "$med" "$max" "$p50" "$p99" "$slowest" "$answered" "$cpu" "$(rss_mib "$EXP_PID")" "$(peak_rss_mib "$EXP_PID")"
}

# run N: the fake and the exporter for N tenants, then every mode.
run() {
	local n=$1
	rm -rf "$tmp/fake" "$tmp/fake.out" "$tmp/fake.err"
	log "run: $n tenants of $USERS users, every default report, poll_interval ${POLL}s"
	start_fake -tenants "$n" -users "$USERS" -seed 1 -reports default -poll-interval "${POLL}s" \
		-client-rate-limit 5 -client-rate-per 100ms -client-app-rate-limit 122 -client-app-rate-per 100ms
	start_exporter
	local end=$((SECONDS + 600))
	until [[ $(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$EXP_URL/-/ready") == 200 ]]; do
		kill -0 "$EXP_PID" 2>/dev/null || die "exporter exited: $(tail -5 "$tmp/exporter.log")"
		((SECONDS < end)) || die "not ready after 600 s; see $tmp/exporter.log (KEEP_TMP=1 keeps it)"
		sleep 0.2
	done
	scrape
	local up want=$((n * reports_per_tenant))
	up=$(metric_sum entra_authmethods_report_up)
	[[ $up == "$want" ]] || die "$up of $want reports are up: $(grep -m1 'poll failed' "$tmp/exporter.log")"
	log "ready: $up reports up, $(grep -vc '^#' "$tmp/metrics") series; RSS $(rss_mib "$EXP_PID") MiB, peak $(peak_rss_mib "$EXP_PID") MiB; load average $(cut -d' ' -f1-3 /proc/loadavg)"

	((IDLE == 0)) || mode "$n" "idle (no scrapes)" "" "" ""
	mode "$n" "text, gzip" "$accept_text" gzip ""
	mode "$n" "native-histograms, gzip" "$accept_proto" gzip native-histograms
	local how=- suffix=" (curl)"
	if ((compressible)); then how="" suffix=""; fi
	mode "$n" "text, identity$suffix" "$accept_text" identity "$how"
	mode "$n" "native-histograms, identity$suffix" "$accept_proto" identity "${how:-native-histograms}"
	cp "$tmp/exporter.log" "$tmp/exporter-$n.log"
	stop "$EXP_PID" "$FAKE_PID"
}

if compression_key; then
	compressible=1
	log "Prometheus $prom_version has enable_compression: the identity modes are scraped by Prometheus too"
else
	compressible=0
	log "Prometheus $prom_version has no enable_compression ($(grep -m1 -o 'field enable_compression.*' "$tmp/compression.out" || tail -1 "$tmp/compression.out")):" \
		"it always asks for gzip; the identity modes are measured by curl only"
fi
log "DURATION=${DURATION}s PACED=${PACED}s SCRAPES=$SCRAPES POLL=${POLL}s USERS=$USERS; scrape_interval ${interval}s, scrape_timeout ${timeout}s;" \
	"$(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| tenants | mode | samples | scrape median ms | scrape max ms | curl TTLB p50 ms | curl TTLB p99 ms | curl TTLB max ms | answered | exporter CPU s/h | RSS MiB | peak MiB |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"
for n in "${counts[@]}"; do
	run "$n"
done
