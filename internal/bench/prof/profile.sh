#!/bin/sh
# Profiles one full one-shot sync of a simulated Cursor team through the host
# and the plugin, and prints the top CPU and heap entries of the host (one
# process since issue 11, profiled as "parent") and the plugin. The binaries
# are the profiling wrappers in internal/bench/prof/{host,plugin}: the same
# code as baton-cursor and baton-cursor-plugin.
#
# usage, from the module root after `make build simulator`:
#   internal/bench/prof/profile.sh [members (100000)] [out-dir (prof.out)] [activity days (30)]
set -eu
members=${1:-100000}
out=${2:-prof.out}
days=${3:-30}
rm -rf "$out"
mkdir -p "$out"
go build -o "$out/baton-cursor" ./internal/bench/prof/host
go build -o "$out/baton-cursor-plugin" ./internal/bench/prof/plugin

CURSOR_SIMULATOR_API_KEY=crsr_simulated-demo-key \
	bin/cursor-simulator --members "$members" >"$out/url" 2>"$out/simulate.log" &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
while [ ! -s "$out/url" ]; do
	if ! kill -0 $sim 2>/dev/null; then
		echo "cursor-simulator did not start (make simulator?):" >&2
		cat "$out/simulate.log" >&2
		exit 1
	fi
	sleep 0.1
done

start=$(date +%s.%N)
CURSOR_BENCH_PROFILE_DIR="$out" BATON_CURSOR_API_KEY=crsr_simulated-demo-key \
	"$out/baton-cursor" --cursor-base-url "$(cat "$out/url")" --cursor-activity-days "$days" \
	--plugin-path "$out/baton-cursor-plugin" -f "$out/sync.c1z" >"$out/sync.log" 2>&1
echo "sync of $members members took $(echo "$(date +%s.%N) - $start" | bc) s (profiled)"

for role in parent plugin; do
	bin="$out/baton-cursor"
	[ "$role" = plugin ] && bin="$out/baton-cursor-plugin"
	# A slice cut short by the process's end is empty; pprof merges the rest.
	cpu=$(find "$out" -name "$role-*-cpu-*.pprof" -size +0 | sort)
	echo
	echo "=== $role: CPU (flat)"
	go tool pprof -top -nodecount 20 "$bin" $cpu 2>/dev/null | sed -n '1,28p'
	echo
	echo "=== $role: CPU (cumulative)"
	go tool pprof -top -cum -nodecount 25 "$bin" $cpu 2>/dev/null | sed -n '6,32p'
	echo
	echo "=== $role: heap in use at its highest live heap (inuse_space)"
	go tool pprof -top -sample_index=inuse_space -nodecount 15 "$bin" "$out"/"$role"-*-heap-peak.pprof 2>/dev/null | sed -n '1,22p'
	echo
	echo "=== $role: allocations over the sync (alloc_space)"
	go tool pprof -top -sample_index=alloc_space -nodecount 15 "$bin" "$out"/"$role"-*-heap.pprof 2>/dev/null | sed -n '4,22p'
done
