# Shared helpers for bench/*.sh; source it, do not run it. It sets up a
# temporary directory and an EXIT trap that stops every process started
# through it (by PID) and removes the directory.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/entra-bench.XXXXXX")
pids=()

cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ -n "${KEEP_TMP:-}" ]]; then
		echo "kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "# $*" >&2; }
die() {
	echo "error: $*" >&2
	exit 1
}

# warn_if_busy warns when something else keeps the cores busy: the fake,
# the clients and the exporter share them, so timings would be skewed.
warn_if_busy() {
	local load
	read -r load _ </proc/loadavg
	if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
		log "WARNING: load average $load before starting; timings will be noisy"
	fi
}

# build compiles the exporter and the bench programs into $tmp.
build() {
	warn_if_busy
	log "building into $tmp"
	(cd "$root" && go build -o "$tmp/exporter" ./cmd/entra-authmethods-exporter &&
		go build -o "$tmp/fakegraph" ./bench/fakegraph &&
		go build -o "$tmp/bareclient" ./bench/bareclient &&
		go build -o "$tmp/scrapeload" ./bench/scrapeload)
}

# free_port prints a loopback TCP port nobody listens on, below the
# kernel's range of ephemeral ports: there, the outgoing connections of the
# fake, curl and the exporter itself could take it between this check and
# the exporter's bind (it happened in CI). A small race with other
# programs is accepted.
free_port() {
	local p low
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
	((low > 11000)) || low=32768
	for _ in $(seq 100); do
		p=$((10000 + RANDOM % (low - 10000)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port found"
}

# start_fake ARGS... starts bench/fakegraph writing into $tmp/fake and
# waits for its "ready" line; sets FAKE_URL.
start_fake() {
	"$tmp/fakegraph" -dir "$tmp/fake" "$@" >"$tmp/fake.out" 2>"$tmp/fake.err" &
	FAKE_PID=$!
	pids+=("$FAKE_PID")
	for _ in $(seq 1200); do
		if grep -q '^ready ' "$tmp/fake.out" 2>/dev/null; then
			FAKE_URL=$(awk '/^ready /{print $2}' "$tmp/fake.out")
			log "$(cat "$tmp/fake.err")"
			return
		fi
		kill -0 "$FAKE_PID" 2>/dev/null || die "fakegraph exited: $(cat "$tmp/fake.err")"
		sleep 0.25
	done
	die "fakegraph not ready after 300 s"
}

# start_exporter starts the exporter on $tmp/fake/config.yaml, trusting the
# fake's CA through SSL_CERT_FILE, and waits until it serves HTTP; sets
# EXP_PID and EXP_URL.
start_exporter() {
	"$tmp/exporter" --config.file="$tmp/fake/config.yaml" --config.allow-custom-endpoints --config.check >/dev/null ||
		die "the exporter rejects $tmp/fake/config.yaml"
	local port
	port=$(free_port)
	EXP_URL="http://127.0.0.1:$port"
	env ${EXPORTER_ENV:-} SSL_CERT_FILE="$tmp/fake/ca.pem" "$tmp/exporter" --config.file="$tmp/fake/config.yaml" --config.allow-custom-endpoints \
		--web.listen-address="127.0.0.1:$port" >"$tmp/exporter.log" 2>&1 &
	EXP_PID=$!
	pids+=("$EXP_PID")
	wait_listening
}

# wait_listening waits until the exporter at EXP_URL (process EXP_PID)
# answers /-/healthy.
wait_listening() {
	for _ in $(seq 200); do
		curl -fsS -o /dev/null "$EXP_URL/-/healthy" 2>/dev/null && return
		kill -0 "$EXP_PID" 2>/dev/null || die "exporter exited: $(tail -5 "$tmp/exporter.log")"
		sleep 0.1
	done
	die "exporter not listening after 20 s"
}

# scrape saves the exporter's /metrics (text format) into $tmp/metrics.
scrape() { curl -fsS -o "$tmp/metrics" "$EXP_URL/metrics"; }

# metric NAME [LABEL_MATCH] prints the value of the first sample of NAME in
# $tmp/metrics whose labels contain LABEL_MATCH (e.g. 'report="x"'), or
# nothing if there is none.
metric() {
	awk -v name="$1" -v want="${2:-}" '
		$1 == name || index($0, name "{") == 1 {
			if (want == "" || index($0, want) > 0) { print $NF; exit }
		}' "$tmp/metrics"
}

# metric_sum NAME [LABEL_MATCH] sums the matching samples (0 if none), as an
# integer: the text format writes 1000000 as 1e+06.
metric_sum() {
	awk -v name="$1" -v want="${2:-}" '
		$1 == name || index($0, name "{") == 1 {
			if (want == "" || index($0, want) > 0) s += $NF
		}
		END { printf "%.0f\n", s }' "$tmp/metrics"
}

# peak_rss_mib PID prints the process's peak resident set (VmHWM) in MiB;
# rss_mib PID its current one (VmRSS).
peak_rss_mib() { awk '/^VmHWM:/ { printf "%.0f\n", $2 / 1024 }' "/proc/$1/status"; }
rss_mib() { awk '/^VmRSS:/ { printf "%.0f\n", $2 / 1024 }' "/proc/$1/status"; }

# median prints the median of its numeric arguments.
# cpu_seconds PID: user plus system CPU time the process has used so far.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ratio A B prints A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", (b > 0) ? a / b : 0 }'; }

# forget PID...: take stopped processes off the list the EXIT trap kills.
forget() {
	local keep=() p q
	for p in "${pids[@]}"; do
		for q in "$@"; do [[ $p == "$q" ]] && continue 2; done
		keep+=("$p")
	done
	pids=("${keep[@]}")
}

# stop PID...: end processes started here, and wait for them.
stop() {
	local p
	for p in "$@"; do kill "$p" 2>/dev/null || true; done
	for p in "$@"; do wait "$p" 2>/dev/null || true; done
	forget "$@"
}
