#!/usr/bin/env bash
# tenants.sh [--quick] [TENANTS...]: what many tenants cost the exporter:
# memory, goroutines, start-up time and /metrics scrape time.
#
# What it measures, for each count of TENANTS (100 500 1000; --quick: 20)
# and each SHAPES (small mixed):
#   - small: bench/fakegraph serves TENANTS synthetic tenants of USERS (50)
#     users each. mixed: the same count, but BIG of them (TENANTS/100, at
#     least 2) are large: half of BIG_A (10000) users, half of BIG_B (50000).
#     fakegraph makes tenants of one size, so a mixed run starts one fake per
#     size and merges their config.yaml files (the large tenants are named
#     bNNNN and cNNNN) and CA certificates (one SSL_CERT_FILE bundle).
#   - The exporter polls every default report of every tenant with
#     poll_interval POLL (30s; --quick: 2s). Its first rounds are staggered
#     over at most POLL (collector.stagger), so /-/ready comes after about
#     POLL however many tenants there are. The pacing has as many slots as
#     the defaults (5 per tenant, 122 per app registration) but per 100ms
#     rather than 10s, so large tenants are read in seconds; its memory is
#     the same as with the defaults.
#   - healthy ms and ready s: from starting the process to the first 200 of
#     /-/healthy (polled every ~10 ms: configuration, credentials and
#     pollers set up, listener open) and of /-/ready (every tenant's first
#     round done, every report up; checked).
#   - At ready and again ROUNDS (2) poll intervals later: RSS (VmRSS) and
#     peak RSS (VmHWM) from /proc, go_goroutines, open sockets. RSS/tenant
#     is the later RSS over TENANTS (start-up overhead included).
#   - series and bytes: one text-format scrape (exporter's and runtime
#     metrics); gz bytes: the same with Accept-Encoding: gzip.
#   - scrape ms: median of SCRAPES (20; --quick: 5) sequential curl scrapes
#     of /metrics with Prometheus's Accept header, without and then with
#     gzip (the body is read whole, not decompressed), from sending the
#     request to the last byte, after the later sample. Scrapes are 1.1 s
#     apart, as at Prometheus' pace; each compresses its own body.
# The fakes, curl and the exporter share the machine's cores, and polling
# goes on during the scrapes (POLL is short): run on a quiet machine.
#
# Settings from the environment: USERS, BIG, BIG_A, BIG_B, POLL, ROUNDS,
# SCRAPES, SHAPES (e.g. SHAPES=small), and EXPORTER, the path of another
# exporter binary to measure instead of this tree's (to compare a change
# under the same conditions). KEEP_TMP=1 keeps logs, configs and the last
# scrape of each run.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

USERS=${USERS:-50} BIG_A=${BIG_A:-10000} BIG_B=${BIG_B:-50000}
POLL=${POLL:-30} ROUNDS=${ROUNDS:-2} SCRAPES=${SCRAPES:-20} SHAPES=${SHAPES:-small mixed}
counts=()
for arg in "$@"; do
	case $arg in
	--quick)
		quick=1
		POLL=2 SCRAPES=5 BIG_A=2000 BIG_B=5000
		;;
	[0-9]*) counts+=("$arg") ;;
	*) die "usage: $0 [--quick] [TENANTS...]" ;;
	esac
done
if ((${#counts[@]} == 0)); then
	if [[ -n ${quick:-} ]]; then counts=(20); else counts=(100 500 1000); fi
fi
POLL=${POLL%s}
reports_per_tenant=5 # config.DefaultReports()

# Prometheus's Accept header (as bench/scrapeload sends it); the exporter
# answers it in the text format.
accept='application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2'

if [[ -n ${EXPORTER:-} ]]; then
	warn_if_busy
	log "building the fake into $tmp; measuring $EXPORTER"
	(cd "$root" && go build -o "$tmp/fakegraph" ./bench/fakegraph)
	cp "$EXPORTER" "$tmp/exporter"
else
	warn_if_busy
	log "building into $tmp"
	(cd "$root" && go build -o "$tmp/exporter" ./cmd/entra-authmethods-exporter && go build -o "$tmp/fakegraph" ./bench/fakegraph)
fi

now_ms() { echo $(($(date +%s%N) / 1000000)); }
code_of() { curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$1" || true; }
sockets() { find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null | wc -l; }
goroutines() { awk '$1 == "go_goroutines" { print $2 }' "$1"; }

# fake DIR COUNT USERS SEED: start a fakegraph of COUNT tenants of USERS
# users writing into DIR; waits for it and appends its PID to fakes.
fake() {
	local dir=$1 n=$2 users=$3 seed=$4 pid
	"$tmp/fakegraph" -dir "$dir" -tenants "$n" -users "$users" -seed "$seed" -reports default \
		-poll-interval "${POLL}s" -client-rate-limit 5 -client-rate-per 100ms \
		-client-app-rate-limit 122 -client-app-rate-per 100ms >"$dir.out" 2>"$dir.err" &
	pid=$!
	pids+=("$pid")
	fakes+=("$pid")
	for _ in $(seq 1200); do
		if grep -q '^ready ' "$dir.out" 2>/dev/null; then
			log "$(cat "$dir.err")"
			return
		fi
		kill -0 "$pid" 2>/dev/null || die "fakegraph exited: $(cat "$dir.err")"
		sleep 0.1
	done
	die "fakegraph not ready after 120 s"
}

# merge OUT PREFIX DIR: append DIR's tenants to OUT/config.yaml, renamed
# PREFIXnnnn, and its CA to OUT/ca.pem.
merge() {
	local out=$1 prefix=$2 dir=$3
	awk -v p="$prefix" '
		/^tenants:/ { on = 1; next }
		on && /^  - name: / { n++; printf "  - name: %s%04d\n", p, n; next }
		on { print }' "$dir/config.yaml" >>"$out/config.yaml"
	cat "$dir/ca.pem" >>"$out/ca.pem"
}

# scrape_ms ENCODING: median time of SCRAPES scrapes in ms, and the bytes of
# the last, as "ms bytes".
scrape_ms() {
	local enc=$1 times=() out
	for _ in $(seq "$SCRAPES"); do
		out=$(curl -fsS -o /dev/null -H "Accept: $accept" ${enc:+-H "Accept-Encoding: $enc"} \
			-w '%{time_total} %{size_download}' "$EXP_URL/metrics")
		sleep 1.1
		times+=("$(awk -v t="${out% *}" 'BEGIN { printf "%.1f", t * 1000 }')")
	done
	log "scrapes (${enc:-plain}) ms: ${times[*]}"
	echo "$(median "${times[@]}") ${out#* }"
}

# run COUNT SHAPE: one measurement; prints a table row.
run() {
	local n=$1 shape=$2 big=0 small out=$tmp/run
	fakes=()
	rm -rf "$out" "$tmp"/fake-*
	mkdir -p "$out"
	if [[ $shape == mixed ]]; then
		big=$((n / 100 > 2 ? n / 100 : 2))
	fi
	small=$((n - big))
	local nb=$(((big + 1) / 2)) nc=$((big / 2))
	log "run: $n tenants ($shape): $small of $USERS users, $nb of $BIG_A, $nc of $BIG_B"
	fake "$tmp/fake-a" "$small" "$USERS" 1
	cp "$tmp/fake-a/config.yaml" "$out/config.yaml"
	cp "$tmp/fake-a/ca.pem" "$out/ca.pem"
	if ((nb > 0)); then
		fake "$tmp/fake-b" "$nb" "$BIG_A" 100001
		merge "$out" b "$tmp/fake-b"
	fi
	if ((nc > 0)); then
		fake "$tmp/fake-c" "$nc" "$BIG_B" 200001
		merge "$out" c "$tmp/fake-c"
	fi
	"$tmp/exporter" --config.file="$out/config.yaml" --config.allow-custom-endpoints --config.check >/dev/null ||
		die "the exporter rejects $out/config.yaml"

	local port t0 healthy ready
	port=$(free_port)
	EXP_URL="http://127.0.0.1:$port"
	t0=$(now_ms)
	env SSL_CERT_FILE="$out/ca.pem" "$tmp/exporter" --config.file="$out/config.yaml" --config.allow-custom-endpoints \
		--web.listen-address="127.0.0.1:$port" >"$out/exporter.log" 2>&1 &
	EXP_PID=$!
	pids+=("$EXP_PID")
	until [[ $(code_of "$EXP_URL/-/healthy") == 200 ]]; do
		kill -0 "$EXP_PID" 2>/dev/null || die "exporter exited: $(tail -5 "$out/exporter.log")"
		(($(now_ms) - t0 < 60000)) || die "not healthy after 60 s"
		sleep 0.005
	done
	healthy=$(($(now_ms) - t0))
	until [[ $(code_of "$EXP_URL/-/ready") == 200 ]]; do
		kill -0 "$EXP_PID" 2>/dev/null || die "exporter exited: $(tail -5 "$out/exporter.log")"
		(($(now_ms) - t0 < (POLL + 600) * 1000)) || die "not ready after $((POLL + 600)) s; see $out/exporter.log (KEEP_TMP=1 keeps it)"
		sleep 0.05
	done
	ready=$(($(now_ms) - t0))
	local rss1 hwm1 cpu1 g1 s1
	rss1=$(rss_mib "$EXP_PID") hwm1=$(peak_rss_mib "$EXP_PID") cpu1=$(cpu_seconds "$EXP_PID") s1=$(sockets "$EXP_PID")
	curl -fsS -H "Accept: $accept" -o "$tmp/metrics" "$EXP_URL/metrics"
	g1=$(goroutines "$tmp/metrics")
	local up want=$((n * reports_per_tenant))
	up=$(metric_sum entra_authmethods_report_up)
	[[ $up == "$want" ]] || die "$up of $want reports are up: $(grep -m1 'poll failed' "$out/exporter.log")"
	log "ready after $ready ms: $up reports up; RSS $rss1 MiB, peak $hwm1 MiB, $g1 goroutines, $s1 sockets, CPU $cpu1 s"

	log "waiting $ROUNDS more rounds ($((ROUNDS * POLL)) s)"
	sleep $((ROUNDS * POLL))
	local rss2 hwm2 cpu2 g2 s2 series bytes plain gz
	rss2=$(rss_mib "$EXP_PID") hwm2=$(peak_rss_mib "$EXP_PID") cpu2=$(cpu_seconds "$EXP_PID") s2=$(sockets "$EXP_PID")
	curl -fsS -H "Accept: $accept" -o "$tmp/metrics" "$EXP_URL/metrics"
	g2=$(goroutines "$tmp/metrics")
	series=$(grep -vc '^#' "$tmp/metrics")
	bytes=$(wc -c <"$tmp/metrics")
	local overruns
	overruns=$(metric_sum entra_authmethods_poll_overruns_total)
	log "later: RSS $rss2 MiB, peak $hwm2 MiB, $g2 goroutines, $s2 sockets, CPU $cpu2 s, $overruns overruns"
	plain=$(scrape_ms "")
	gz=$(scrape_ms gzip)
	if [[ -n ${KEEP_TMP:-} ]]; then
		cp "$tmp/metrics" "$tmp/metrics-$n-$shape.txt"
		cp "$out/exporter.log" "$tmp/exporter-$n-$shape.log"
	fi

	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
		"$n" "$shape" "$series" "$bytes" "${gz#* }" "$healthy" "$(awk -v r="$ready" 'BEGIN { printf "%.1f", r / 1000 }')" \
		"$rss1" "$hwm1" "$g1" "$rss2" "$hwm2" "$g2" "$s2" \
		"$(awk -v r="$rss2" -v n="$n" 'BEGIN { printf "%.2f", r / n }')" "${plain% *}" "${gz% *}"
	stop "$EXP_PID" "${fakes[@]}"
}

log "POLL=${POLL}s ROUNDS=$ROUNDS SCRAPES=$SCRAPES USERS=$USERS BIG_A=$BIG_A BIG_B=$BIG_B; $(nproc) cores"
echo
echo "| tenants | shape | series | bytes | gz bytes | healthy ms | ready s | RSS MiB at ready | peak MiB at ready | goroutines at ready | RSS MiB later | peak MiB later | goroutines later | sockets later | RSS MiB/tenant | scrape ms | gzip scrape ms |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in "${counts[@]}"; do
	for shape in $SHAPES; do
		run "$n" "$shape"
	done
done
