#!/usr/bin/env bash
# The repeatable benchmark of issue 14: SIPp drives `pickupsim serve` and, when it is
# installed, Kamailio 5.6 (kamailio.cfg) with the same SIPp scenarios, run after run
# interleaved (pickupsim, Kamailio, pickupsim, ...), and prints every run, the medians and
# the ratios. Not part of CI's pass/fail.
#
#   cmd/pickupsim/testdata/bench/run.sh                  # from the repository root
#   PAIRS=1 SCENARIOS=register REG_RATE=10000 cmd/pickupsim/testdata/bench/run.sh
#
# Scenarios (SCENARIOS, default all three):
#   register  a REGISTER storm of REG_USERS distinct users at REG_RATE a second to one pool;
#             the server's CPU per REGISTER, and its memory per registration sampled every
#             0.5 s during the storm (peak) and SETTLE seconds after it (Go heap in use for
#             pickupsim, shared memory in use for Kamailio, and RSS of every process)
#   route     CALLS calls at CALL_RATE a second, SIPp uac -> proxy -> SIPp uas, INVITE/200/
#             ACK/BYE; neither proxy Record-Routes, so ACK and BYE go phone to phone
#   pickup    (pickupsim only) PICKUPS Group Call Pickups at PICKUP_RATE a second driven by
#             SIPp from outside: a caller rings bob, carol dials the group number 100
#             (the interoperability test's scenarios in ../sipp)
# Targets (TARGETS, default "pickupsim kamailio sipgo"): the register and route scenarios
# run against each in turn, pair after pair. sipgo is sipgofloor/, the floor: a bare sipgo
# server (stateless REGISTER 200, stateless proxy) that shows how much of pickupsim's CPU is
# sipgo's own (parsing, a server transaction and a goroutine for every request).
# "Clean" means no failed call and no retransmission. PROFILE=yes also saves a CPU profile
# of pickupsim for each run (go tool pprof -top FILE). Traffic stays on 127.0.0.1, on the
# fixed ports BASE+60..BASE+200 and BASE+1100..BASE+1160 (BASE=15000 unless set); every
# SIPp and server run is bounded by `timeout`.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
sipp_dir=$root/cmd/pickupsim/testdata/sipp
PAIRS=${PAIRS:-3}
SCENARIOS=${SCENARIOS:-register route pickup}
REG_USERS=${REG_USERS:-40000}
REG_RATE=${REG_RATE:-5000}
CALLS=${CALLS:-10000}
CALL_RATE=${CALL_RATE:-1000}
PICKUPS=${PICKUPS:-3000}
PICKUP_RATE=${PICKUP_RATE:-300}
SETTLE=${SETTLE:-35} # after a storm, before memory is sampled again (sipgo's Timer J is 32 s)
PROFILE=${PROFILE:-no}
TARGETS=${TARGETS:-pickupsim kamailio sipgo}
BASE=${BASE:-15000}
IP=127.0.0.1
P_POOL=$((BASE + 60)) P_POOL2=$((BASE + 62)) P_ADMIN=$((BASE + 80)) P_PPROF=$((BASE + 81)) P_KAM=$((BASE + 70))
P_STORM=$((BASE + 100)) P_UAS=$((BASE + 110)) P_UAC=$((BASE + 120)) P_CALLEE=$((BASE + 130)) P_PICKER=$((BASE + 140)) P_CALLER=$((BASE + 150))
BUFF=4194304

for tool in sipp curl go; do
	command -v $tool >/dev/null || { echo "run.sh: $tool is not installed" >&2; exit 2; }
done
with_kamailio=no
if command -v kamailio >/dev/null && command -v kamcmd >/dev/null; then with_kamailio=yes; fi
targets=""
for t in $TARGETS; do
	case $t in
	pickupsim | sipgo) targets="$targets $t" ;;
	kamailio) [ $with_kamailio = yes ] && targets="$targets $t" ;;
	*) echo "run.sh: unknown target $t" >&2; exit 2 ;;
	esac
done
command -v ss >/dev/null || ss() { :; } # without iproute2, a busy port shows when it is bound
for p in $P_POOL $P_POOL2 $P_ADMIN $P_PPROF $P_KAM $P_STORM $P_UAS $P_UAC $P_CALLEE $P_PICKER $P_CALLER; do
	for q in $p $((p + 1000)) $((p + 1002)); do # SIPp's media ports are the SIP port + 1000, and + 2
		if [ -n "$(ss -Hlnu "sport = :$q")$(ss -Hlnt "sport = :$q")" ]; then
			echo "run.sh: port $q is in use; set BASE to move the benchmark's ports" >&2
			exit 2
		fi
	done
done

work=$(mktemp -d "${TMPDIR:-/tmp}/pickupsim-bench.XXXXXX") # kept: logs, SIPp statistics, profiles
server_pid=""
sampler_pid=""
profile_pid=""
cleanup() {
	[ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
	[ -n "$server_pid" ] && kill -TERM -- "-$server_pid" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT
echo "work folder $work; load average $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; kamailio: $with_kamailio"

(cd "$root" && go build -o "$work/pickupsim" ./cmd/pickupsim && go build -o "$work/sipgofloor" ./cmd/pickupsim/testdata/bench/sipgofloor)

# The topology serve loads: pool01 and pool02 on fixed ports, bob and carol in group 100,
# alice, and the storm's users r1..rN.
{
	echo "domain: contoso.com"
	echo "pools:"
	echo "  - {fqdn: pool01.contoso.com, backup: pool02.contoso.com, address: '$IP:$P_POOL'}"
	echo "  - {fqdn: pool02.contoso.com, backup: pool01.contoso.com, address: '$IP:$P_POOL2'}"
	echo "orbits:"
	echo "  - {identity: pickup-pool01, start: 100, end: 199, service: pool01, type: GroupPickup}"
	echo "users:"
	echo "  - {name: alice, home: pool01}"
	echo "  - {name: bob, home: pool01, pickup: 100}"
	echo "  - {name: carol, home: pool01, pickup: 100}"
	awk -v n="$REG_USERS" 'BEGIN { for (i = 1; i <= n; i++) printf "  - {name: r%d, home: pool01}\n", i }'
} >"$work/topology.src.yaml"
sed -e "s|@PORT@|$P_KAM|" -e "s|@CTL@|$work/kamailio.ctl|" "$here/kamailio.cfg" >"$work/kamailio.cfg"

# --- servers -------------------------------------------------------------------------

start_server() { # pickupsim | sipgo | kamailio; sets server_pid (a process group of its own) and port
	case $1 in
	pickupsim)
		cp "$work/topology.src.yaml" "$work/topology.yaml"
		setsid timeout -k 5 900 "$work/pickupsim" serve --topology "$work/topology.yaml" --admin "$IP:$P_ADMIN" \
			--pprof "$IP:$P_PPROF" --log-level error >"$work/serve.out" 2>"$work/serve.err" &
		server_pid=$!
		port=$P_POOL
		for _ in $(seq 300); do grep -q "Ctrl-C stops" "$work/serve.out" 2>/dev/null && return; sleep 0.1; done
		;;
	sipgo)
		setsid timeout -k 5 900 "$work/sipgofloor" -addr "$IP:$P_POOL" -pprof "$IP:$P_PPROF" >"$work/floor.out" 2>"$work/floor.err" &
		server_pid=$!
		port=$P_POOL
		for _ in $(seq 300); do grep -q "listening" "$work/floor.out" 2>/dev/null && return; sleep 0.1; done
		;;
	kamailio)
		mkdir -p "$work/kamrun"
		setsid timeout -k 5 900 kamailio -f "$work/kamailio.cfg" -DD -E -m 2048 -M 16 -x tlsf -X tlsf -Y "$work/kamrun" \
			>"$work/kamailio.log" 2>&1 &
		server_pid=$!
		port=$P_KAM
		for _ in $(seq 300); do kamcmd -s "unix:$work/kamailio.ctl" core.uptime >/dev/null 2>&1 && return; sleep 0.1; done
		;;
	esac
	echo "run.sh: $1 did not start; see $work" >&2
	exit 1
}

stop_server() {
	if [ -n "$profile_pid" ]; then wait "$profile_pid" || true; profile_pid=""; fi
	kill -TERM -- "-$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=""
	sleep 1
}

server_pids() { pgrep -g "$server_pid" | grep -vx "$server_pid" || true; } # not the timeout wrapper

cpu_ticks() { # user+system clock ticks of the server's processes
	local t=0 pid
	for pid in $(server_pids); do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
	done
	echo $t
}

rss_kb() {
	local r=0 pid
	for pid in $(server_pids); do
		r=$((r + $(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)))
	done
	echo $r
}

mem_bytes() { # pickupsim, sipgo: Go heap in use; Kamailio: shared memory in use
	case $1 in
	pickupsim | sipgo) curl -s --max-time 5 "http://$IP:$P_PPROF/debug/vars" | grep -o '"HeapInuse":[0-9]*' | cut -d: -f2 ;;
	kamailio) kamcmd -s "unix:$work/kamailio.ctl" core.shmmem | awk '/real_used:/ {print $2}' ;;
	esac
}

start_sampler() { # every 0.5 s: RSS (kB) and memory in use (bytes)
	(while :; do echo "$(rss_kb) $(mem_bytes "$1")"; sleep 0.5; done) >"$work/samples" 2>/dev/null &
	sampler_pid=$!
}

stop_sampler() {
	kill "$sampler_pid" 2>/dev/null || true
	wait "$sampler_pid" 2>/dev/null || true
	sampler_pid=""
}

# --- SIPp ----------------------------------------------------------------------------

stat_field() { # FILE COLUMN-NAME: the column's value on the last line of a -trace_stat file
	awk -F';' -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i } END { print $c + 0 }' "$1"
}

sipp_run() { # LIMIT-SECONDS ARGS...: a bounded SIPp run; its exit status is not fatal here
	local limit=$1
	shift
	timeout -s INT -k 5 "$limit" sipp "$@" -nostdin -buff_size $BUFF >/dev/null 2>&1 || true
}

register_user() { # USER LOCAL-PORT
	sipp_run 20 "$IP:$port" -sf "$here/register-user.xml" -key user "$1" -i $IP -p "$2" -mp $(($2 + 1000)) -m 1
}

profile() { # TARGET NAME SECONDS: a CPU profile of pickupsim in the background (PROFILE=yes)
	[ "$PROFILE" = yes ] && [ "$1" != kamailio ] || return 0
	curl -s -o "$work/$1-$2.pprof" "http://$IP:$P_PPROF/debug/pprof/profile?seconds=$3" &
	profile_pid=$!
}

settled_mem() { # memory in use once what the storm left behind could be freed
	[ "$1" != kamailio ] && curl -s -o /dev/null "http://$IP:$P_PPROF/debug/pprof/heap?gc=1" # runs a GC first
	mem_bytes "$1"
}

now() { date +%s.%N; }

# record SCENARIO TARGET PAIR key=value...
record() { echo "$*" | tee -a "$work/results.txt"; }

# --- scenarios -----------------------------------------------------------------------

run_register() {
	local target=$1 pair=$2
	start_server "$target"
	sleep 1
	local rss0 mem0 cpu0 t0 t1 cpu1
	mem0=$(settled_mem "$target") rss0=$(rss_kb) cpu0=$(cpu_ticks)
	start_sampler "$target"
	profile "$target" "register-$pair" $(((REG_USERS + REG_RATE - 1) / REG_RATE))
	t0=$(now)
	sipp_run $((REG_USERS / REG_RATE + 90)) "$IP:$port" -sf "$here/reg-storm.xml" -i $IP -p $P_STORM -mp $((P_STORM + 1000)) \
		-r "$REG_RATE" -rp 1000 -m "$REG_USERS" -trace_stat -stf "$work/reg.csv" -fd 1 -timeout 80s
	t1=$(now)
	cpu1=$(cpu_ticks)
	stop_sampler
	local rss_peak mem_peak
	rss_peak=$(awk 'BEGIN {m = 0} $1 > m {m = $1} END {print m}' "$work/samples")
	mem_peak=$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$work/samples")
	sleep "$SETTLE"
	local rss2 mem2
	mem2=$(settled_mem "$target") rss2=$(rss_kb)
	local ok failed retrans
	ok=$(stat_field "$work/reg.csv" "SuccessfulCall(C)")
	failed=$(stat_field "$work/reg.csv" "FailedCall(C)")
	retrans=$(stat_field "$work/reg.csv" "Retransmissions(C)")
	record register "$target" "$pair" \
		rate=$(awk -v n="$ok" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", n / (b - a)}') ok="$ok" failed="$failed" retrans="$retrans" \
		cpu_us=$(awk -v c=$((cpu1 - cpu0)) -v n="$ok" 'BEGIN {printf "%.1f", n ? c * 10000 / n : 0}') \
		mem_peak_B=$(awk -v a="$mem_peak" -v b="$mem0" -v n="$ok" 'BEGIN {printf "%.0f", n ? (a - b) / n : 0}') \
		mem_settled_B=$(awk -v a="$mem2" -v b="$mem0" -v n="$ok" 'BEGIN {printf "%.0f", n ? (a - b) / n : 0}') \
		rss_peak_B=$(awk -v a="$rss_peak" -v b="$rss0" -v n="$ok" 'BEGIN {printf "%.0f", n ? (a - b) * 1024 / n : 0}') \
		rss_settled_B=$(awk -v a="$rss2" -v b="$rss0" -v n="$ok" 'BEGIN {printf "%.0f", n ? (a - b) * 1024 / n : 0}')
	stop_server
}

run_route() {
	local target=$1 pair=$2
	start_server "$target"
	register_user bob $P_UAS
	sipp_run $((CALLS / CALL_RATE + 90)) -sf "$here/uas.xml" -i $IP -p $P_UAS -mp $((P_UAS + 1000)) -m "$CALLS" -timeout 80s &
	local uas=$!
	sleep 0.5
	local cpu0 t0 t1 cpu1
	cpu0=$(cpu_ticks)
	profile "$target" "route-$pair" $(((CALLS + CALL_RATE - 1) / CALL_RATE))
	t0=$(now)
	sipp_run $((CALLS / CALL_RATE + 90)) "$IP:$port" -sf "$here/uac-direct.xml" -s bob -i $IP -p $P_UAC -mp $((P_UAC + 1000)) \
		-r "$CALL_RATE" -rp 1000 -m "$CALLS" -trace_stat -stf "$work/uac.csv" -fd 1 -timeout 80s
	t1=$(now)
	cpu1=$(cpu_ticks)
	wait $uas || true
	local ok failed retrans
	ok=$(stat_field "$work/uac.csv" "SuccessfulCall(C)")
	failed=$(stat_field "$work/uac.csv" "FailedCall(C)")
	retrans=$(stat_field "$work/uac.csv" "Retransmissions(C)")
	record route "$target" "$pair" \
		rate=$(awk -v n="$ok" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", n / (b - a)}') ok="$ok" failed="$failed" retrans="$retrans" \
		cpu_us=$(awk -v c=$((cpu1 - cpu0)) -v n="$ok" 'BEGIN {printf "%.1f", n ? c * 10000 / n : 0}')
	stop_server
}

run_pickup() {
	local pair=$1
	start_server pickupsim
	register_user bob $P_CALLEE
	register_user carol $P_PICKER
	register_user alice $P_CALLER
	local limit=$((PICKUPS / PICKUP_RATE + 90))
	sipp_run $limit -sf "$sipp_dir/callee-picked-up.xml" -key user bob -i $IP -p $P_CALLEE -mp $((P_CALLEE + 1000)) -m "$PICKUPS" -timeout 80s \
		-trace_stat -stf "$work/callee.csv" -fd 1 &
	local callee=$!
	local cpu0 t0 t1 cpu1
	cpu0=$(cpu_ticks)
	profile pickupsim "pickup-$pair" $(((PICKUPS + PICKUP_RATE - 1) / PICKUP_RATE + 1))
	sipp_run $limit "$IP:$port" -sf "$sipp_dir/caller.xml" -key user alice -s bob -i $IP -p $P_CALLER -mp $((P_CALLER + 1000)) \
		-r "$PICKUP_RATE" -rp 1000 -m "$PICKUPS" -timeout 80s -trace_stat -stf "$work/caller.csv" -fd 1 &
	local caller=$!
	sleep 1 # the group's queue fills first, so that every pickup finds a call ringing
	t0=$(now)
	sipp_run $limit "$IP:$port" -sf "$sipp_dir/picker.xml" -key user carol -s 100 -i $IP -p $P_PICKER -mp $((P_PICKER + 1000)) \
		-r "$PICKUP_RATE" -rp 1000 -m "$PICKUPS" -timeout 80s -trace_stat -stf "$work/picker.csv" -fd 1
	t1=$(now)
	wait $caller || true
	cpu1=$(cpu_ticks)
	wait $callee || true
	local ok failed retrans
	ok=$(stat_field "$work/picker.csv" "SuccessfulCall(C)")
	failed=$(($(stat_field "$work/picker.csv" "FailedCall(C)") + $(stat_field "$work/caller.csv" "FailedCall(C)") + $(stat_field "$work/callee.csv" "FailedCall(C)")))
	retrans=$(($(stat_field "$work/picker.csv" "Retransmissions(C)") + $(stat_field "$work/caller.csv" "Retransmissions(C)") + $(stat_field "$work/callee.csv" "Retransmissions(C)")))
	record pickup pickupsim "$pair" \
		rate=$(awk -v n="$ok" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", n / (b - a)}') ok="$ok" failed="$failed" retrans="$retrans" \
		cpu_us=$(awk -v c=$((cpu1 - cpu0)) -v n="$ok" 'BEGIN {printf "%.1f", n ? c * 10000 / n : 0}')
	stop_server
}

echo "targets:$targets"
echo "register: $REG_USERS users at $REG_RATE/s; route: $CALLS calls at $CALL_RATE/s; pickup: $PICKUPS at $PICKUP_RATE/s; $PAIRS pairs"
for pair in $(seq "$PAIRS"); do
	for s in $SCENARIOS; do
		case $s in
		register | route)
			for t in $targets; do "run_$s" "$t" "$pair"; done
			;;
		pickup) run_pickup "$pair" ;;
		*) echo "run.sh: unknown scenario $s" >&2; exit 2 ;;
		esac
	done
done

# --- medians and ratios --------------------------------------------------------------
echo
echo "medians over $PAIRS runs (clean = 0 failed and 0 retransmissions); ratio A/B > 1: A does better"
echo "(pickupsim/sipgo: the share of pickupsim's CPU that sipgo's floor costs, as cpu per op)"
awk '
function median(list,   n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	key = $1 " " $2
	if (!(key in seen)) { seen[key] = 1; order[++k] = key }
	for (i = 4; i <= NF; i++) { split($i, kv, "="); v[key, kv[1]] = v[key, kv[1]] " " kv[2]; names[kv[1]] = 1 }
	runs[key]++
	if ($0 ~ / failed=0 / && $0 ~ / retrans=0( |$)/) clean[key]++
}
END {
	split("rate cpu_us failed retrans mem_peak_B mem_settled_B rss_peak_B rss_settled_B", cols, " ")
	for (i = 1; i <= k; i++) {
		key = order[i]
		line = sprintf("%-22s clean %d/%d", key, clean[key], runs[key])
		for (c = 1; c in cols; c++) if ((key, cols[c]) in v) { m[key, cols[c]] = median(v[key, cols[c]]); line = line sprintf("  %s %s", cols[c], m[key, cols[c]]) }
		print line
	}
	split("register route", sc, " ")
	split("pickupsim kamailio sipgo kamailio pickupsim sipgo", vs, " ")
	for (s = 1; s in sc; s++) for (w = 1; w in vs; w += 2) {
		p = sc[s] " " vs[w]; q = sc[s] " " vs[w + 1]
		if (!((p, "rate") in m) || !((q, "rate") in m)) continue
		line = sprintf("%-28s rate %.2fx", sc[s] " " vs[w] "/" vs[w + 1], m[p, "rate"] / m[q, "rate"])
		if (m[p, "cpu_us"] > 0) line = line sprintf("  cpu per op %.2fx", m[q, "cpu_us"] / m[p, "cpu_us"])
		if (sc[s] == "register" && m[p, "mem_peak_B"] > 0) line = line sprintf("  memory per registration: peak %.2fx, settled %.2fx", m[q, "mem_peak_B"] / m[p, "mem_peak_B"], m[q, "mem_settled_B"] / (m[p, "mem_settled_B"] > 0 ? m[p, "mem_settled_B"] : 1))
		print line
	}
}' "$work/results.txt"
