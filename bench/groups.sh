#!/usr/bin/env bash
# groups.sh [--quick]: what a tenant's groups: cost the userRegistrationDetails
# poll: its time and the exporter's memory, with NGROUPS groups of
# GROUP_MEMBERS users against the same poll without groups.
#
# What it measures, on this machine, out of process:
#   - bench/fakegraph serves one synthetic tenant of USERS users (300000;
#     --quick: 5000), pages of 1000, and NGROUPS (20; --quick: 4) groups of
#     GROUP_MEMBERS (50000; --quick: 500) of those users each, drawn at
#     random (so they overlap), each also listing 2 users not in the report,
#     a device and a service principal. The fake serves transitiveMembers
#     in pages of up to 999 ($top); it writes what each group holds into
#     groups.tsv.
#   - Two exporters poll only that report, one after the other (or both at
#     once, see PARALLEL): "without" on config.yaml without its groups:,
#     "with" on config.yaml as written. poll_interval 1s and
#     report_poll_intervals: {}, so polls run back to back (paced: poll_interval
#     20m, or 4 s a page if more, since a poll is cut off after
#     max(poll_interval, 10m); polls after the first start 20m apart). The poll time is
#     the exporter's own report_duration_seconds, median of the first POLLS
#     polls; the first includes the token request. With groups, the poll
#     ends when the report and every group are read (the groups are read
#     while the report pages are, 4 at a time, through a client of their own
#     paced at 10 requests per second: a constant of the exporter).
#   - Every poll must read exactly USERS records; with groups every
#     group_up must be 1, group_members what the fake lists as user members
#     and group_users sum to those of them in the report.
#   - peak RSS: the exporter's VmHWM once it has done POLLS polls; RSS: its
#     VmRSS then. CPU s: user+system CPU of the exporter from its start to
#     then. extra: "with" minus "without".
#
# Conditions (CONDITIONS, default "unthrottled paced"; --quick: unthrottled):
#   - unthrottled: no throttle, no latency, the exporter's report pacing
#     effectively off (1000 requests per 100ms): the CPU and memory cost.
#   - paced ("as Graph paces it"): the default config's pacing of the
#     reports (graph_rate_limit 5 per 10s, graph_app_rate_limit 122 per
#     10s) and 1-3 s of latency on every Graph answer, group pages
#     included. The report's 300 pages then take about 12 minutes a poll,
#     so PACED_USERS (default USERS) and PACED_POLLS (default 1) set its
#     size, and its two exporters run at the same time (PARALLEL=1: they
#     wait on latency, not on the cores, and read the same fake tenant,
#     which does not throttle), about 13 minutes in all at 300,000 users.
#     The fake does not throttle unless DIRECTORY_RATE (e.g. "100 10s":
#     -directory-rate-limit/-directory-rate-per) asks it to.
#
# Settings from the environment: USERS, NGROUPS, GROUP_MEMBERS, POLLS (3;
# --quick: 1), CONDITIONS, PACED_USERS, PACED_POLLS, PARALLEL (unthrottled
# 0, paced 1), DIRECTORY_RATE. A full run at 300,000 users takes about
# 20 minutes: 6 unthrottled (3 polls each way; a poll with 20 groups of
# 50,000 is about 110 s, the groups' pacing) and 13 paced.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

USERS=${USERS:-300000} NGROUPS=${NGROUPS:-20} GROUP_MEMBERS=${GROUP_MEMBERS:-50000}
POLLS=${POLLS:-3} CONDITIONS=${CONDITIONS:-unthrottled paced}
for arg in "$@"; do
	case $arg in
	--quick) USERS=5000 NGROUPS=4 GROUP_MEMBERS=500 POLLS=1 CONDITIONS=unthrottled ;;
	*) die "usage: $0 [--quick]" ;;
	esac
done
PACED_USERS=${PACED_USERS:-$USERS} PACED_POLLS=${PACED_POLLS:-1}
report=user_registration_details

build

# start_exporter_on CFG NAME starts an exporter on CFG, logging into
# $tmp/NAME.log, and waits until it serves; sets EXP_PID and EXP_URL.
start_exporter_on() {
	"$tmp/exporter" --config.file="$1" --config.allow-custom-endpoints --config.check >/dev/null ||
		die "the exporter rejects $1"
	local port
	port=$(free_port)
	EXP_URL="http://127.0.0.1:$port"
	SSL_CERT_FILE="$tmp/fake/ca.pem" "$tmp/exporter" --config.file="$1" --config.allow-custom-endpoints \
		--web.listen-address="127.0.0.1:$port" >"$tmp/$2.log" 2>&1 &
	EXP_PID=$!
	pids+=("$EXP_PID")
	wait_listening
}

# check_groups NAME: the groups' series in $tmp/metrics against groups.tsv;
# prints what is wrong, nothing if all is right.
check_groups() {
	local tenant group id members known up got users
	while IFS=$'\t' read -r tenant group id members known; do
		[[ $tenant == tenant ]] && continue
		up=$(metric entra_authmethods_group_up "group=\"$group\"")
		got=$(metric entra_authmethods_group_members "group=\"$group\"")
		users=$(metric_sum entra_authmethods_group_users "group=\"$group\"")
		[[ $up == 1 ]] || echo "$1: group_up{group=\"$group\"} is '$up', want 1 ($(grep -m1 "$id" "$tmp/$1.log" || true))"
		[[ $got == "$members" || $(printf '%.0f' "${got:-0}") == "$members" ]] ||
			echo "$1: group_members{group=\"$group\"} is '$got', want $members"
		[[ $users == "$known" ]] || echo "$1: group_users{group=\"$group\"} sums to $users, want $known"
	done <"$tmp/fake/groups.tsv"
}

# run_condition NAME USERS POLLS PARALLEL INTERVAL FAKE_ARGS...: one fake,
# the exporter without and with groups, poll_interval INTERVAL seconds;
# appends rows to $tmp/rows.
run_condition() {
	local cond=$1 users=$2 polls_want=$3 parallel=$4 interval=$5
	shift 5
	log "$cond: generating a tenant of $users users and $NGROUPS groups of $GROUP_MEMBERS"
	rm -rf "$tmp/fake"
	start_fake -users "$users" -page-size 1000 -reports userRegistrationDetails -every-report-every-poll -poll-interval "${interval}s" \
		-groups "$NGROUPS" -group-members "$GROUP_MEMBERS" "$@"
	log "$cond: fake Graph at $FAKE_URL"
	# Without groups: the same file less its groups: block.
	awk '/^    groups:$/ { skip = 1; next } skip && /^      / { next } { skip = 0; print }' \
		"$tmp/fake/config.yaml" >"$tmp/fake/without.yaml"
	cp "$tmp/fake/config.yaml" "$tmp/fake/with.yaml"
	! grep -q 'groups:' "$tmp/fake/without.yaml" || die "groups: left in without.yaml"

	local pages=$(((users + 999) / 1000))
	local gpages=$((NGROUPS * ((GROUP_MEMBERS + 2 + 998) / 999)))
	local per_poll=$((pages * 3 + gpages))
	local timeout=$((300 + polls_want * (interval > per_poll ? interval : per_poll)))
	local batches
	if ((parallel)); then batches=("without with"); else batches=(without with); fi

	local batch v
	for batch in "${batches[@]}"; do
		declare -A pid=() url=() last=() n_polls=() durs=() done_=()
		for v in $batch; do
			start_exporter_on "$tmp/fake/$v.yaml" "$cond-$v"
			pid[$v]=$EXP_PID url[$v]=$EXP_URL last[$v]="" n_polls[$v]=0 durs[$v]=""
			log "$cond/$v: exporter at $EXP_URL (pid $EXP_PID)"
		done
		local end=$((SECONDS + timeout)) left
		left=$(wc -w <<<"$batch")
		while ((left > 0)); do
			((SECONDS < end)) || die "$cond: fewer than $polls_want polls in $timeout s; see $tmp/*.log (KEEP_TMP=1 keeps them)"
			sleep 0.5
			for v in $batch; do
				[[ -n ${done_[$v]:-} ]] && continue
				kill -0 "${pid[$v]}" 2>/dev/null || die "$cond/$v: exporter exited: $(tail -5 "$tmp/$cond-$v.log")"
				EXP_URL=${url[$v]}
				scrape || continue
				local ts d n
				ts=$(metric entra_authmethods_report_last_success_timestamp_seconds "report=\"$report\"")
				if [[ -z $ts ]]; then
					[[ $(metric entra_authmethods_report_up "report=\"$report\"") == 0 ]] &&
						die "$cond/$v: a poll failed: $(grep -m1 'poll failed' "$tmp/$cond-$v.log")"
					continue
				fi
				[[ $ts == "${last[$v]}" ]] && continue
				last[$v]=$ts
				d=$(metric entra_authmethods_report_duration_seconds "report=\"$report\"")
				n=$(metric_sum entra_authmethods_report_records "report=\"$report\"")
				n_polls[$v]=$((n_polls[$v] + 1))
				log "$cond/$v: poll ${n_polls[$v]}: records=$n seconds=$d"
				[[ $n == "$users" ]] || { log "WRONG: $cond/$v: report_records $n, want $users"; bad=1; }
				if [[ $v == with ]]; then
					local wrong
					wrong=$(check_groups "$cond-$v")
					[[ -z $wrong ]] || { log "WRONG: $wrong"; bad=1; }
				elif [[ -n $(metric entra_authmethods_group_up) ]]; then
					log "WRONG: $cond/$v: group series without groups"
					bad=1
				fi
				durs[$v]+="$d "
				if ((n_polls[$v] >= polls_want)); then
					local peak rss cpu
					peak=$(peak_rss_mib "${pid[$v]}") rss=$(rss_mib "${pid[$v]}") cpu=$(cpu_seconds "${pid[$v]}")
					stop "${pid[$v]}"
					done_[$v]=1 left=$((left - 1))
					# shellcheck disable=SC2086 # a list of numbers
					printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cond" "$users" "$v" "$(median ${durs[$v]})" "$n" "$peak" "$rss" "$cpu" >>"$tmp/rows"
					log "$cond/$v: peak RSS $peak MiB, RSS $rss MiB, CPU $cpu s; polls: ${durs[$v]}"
				fi
			done
		done
		unset pid url last n_polls durs done_
	done
	stop "$FAKE_PID"
}

bad=0
: >"$tmp/rows"
for cond in $CONDITIONS; do
	case $cond in
	unthrottled) run_condition unthrottled "$USERS" "$POLLS" "${PARALLEL:-0}" 1 ;;
	paced)
		extra=()
		if [[ -n ${DIRECTORY_RATE:-} ]]; then
			read -r dn dper <<<"$DIRECTORY_RATE"
			extra=(-directory-rate-limit "$dn" -directory-rate-per "$dper")
		fi
		# A poll is given max(poll_interval, 10m) before it is cut off, and
		# takes about 2.4 s a page here: poll_interval is the larger of
		# 20m and 4 s a page.
		pages=$(((PACED_USERS + 999) / 1000))
		run_condition paced "$PACED_USERS" "$PACED_POLLS" "${PARALLEL:-1}" $((pages * 4 > 1200 ? pages * 4 : 1200)) \
			-min-latency 1s -max-latency 3s -client-rate-limit 5 -client-rate-per 10s \
			-client-app-rate-limit 122 -client-app-rate-per 10s "${extra[@]}"
		;;
	*) die "unknown condition $cond (unthrottled or paced)" ;;
	esac
done

echo
echo "| condition | users | groups | poll s (median) | with/without | records | peak RSS MiB | extra peak MiB | RSS after MiB | exporter CPU s |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"
awk -F'\t' -v g="$NGROUPS" -v m="$GROUP_MEMBERS" '
	$3 == "without" { t[$1] = $4; p[$1] = $6 }
	{
		groups = ($3 == "with") ? g " × " m : "none"
		r = ($3 == "with" && t[$1] > 0) ? sprintf("%.2f", $4 / t[$1]) : ""
		x = ($3 == "with") ? sprintf("%+d", $6 - p[$1]) : ""
		printf "| %s | %d | %s | %.3f | %s | %d | %d | %s | %d | %.1f |\n", $1, $2, groups, $4, r, $5, $6, x, $7, $8
	}' "$tmp/rows"
exit "$bad"
