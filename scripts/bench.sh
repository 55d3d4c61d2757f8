#!/usr/bin/env bash
# Benchmark: renders every corpus chart with rudder and with helm (same
# arguments, the golden args), whole process, best of N runs each, and peak
# resident memory (GNU time's "Maximum resident set size").
# Usage: scripts/bench.sh [RUNS]   (default 5). Needs helm on PATH and /usr/bin/time.
set -euo pipefail
RUNS=${1:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHARTS=${CHARTS_DIR:-$ROOT/../shared/charts}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
command -v helm >/dev/null || { echo "helm not found on PATH (run ../shared/tools/install-helm)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time (GNU time) is required" >&2; exit 1; }
(cd "$ROOT" && cargo build --release --quiet --bin rudder)
RUDDER="$TARGET/release/rudder"

# best_of CMD...: prints "best_wall_ms max_rss_kb" over RUNS runs (after one warm-up).
best_of() {
  local best="" rss=0 i t r out
  "$@" >/dev/null 2>&1 || true
  for ((i = 0; i < RUNS; i++)); do
    out=$( { /usr/bin/time -f '%e %M' "$@" >/dev/null 2>/dev/null; } 2>&1 | tail -n1)
    t=$(awk '{printf "%d", $1 * 1000}' <<<"$out")
    r=$(awk '{print $2}' <<<"$out")
    if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
    if [ "$r" -gt "$rss" ]; then rss=$r; fi
  done
  echo "$best $rss"
}

# GNU time's %e has 10 ms resolution; use a finer clock for the wall time.
best_ms() {
  local best="" i s e d
  "$@" >/dev/null 2>&1 || true
  for ((i = 0; i < RUNS; i++)); do
    s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
    d=$(( (e - s) / 1000 ))
    if [ -z "$best" ] || [ "$d" -lt "$best" ]; then best=$d; fi
  done
  echo "$best"
}

cd "$CHARTS"
printf '%-26s %10s %10s %8s %10s %10s %8s %s\n' chart rudder_ms helm_ms speedup rudder_MB helm_MB mem_ratio ok
fail=0
for args_file in golden/*.args; do
  name=$(basename "$args_file" .args)
  mapfile -t args < "$args_file"
  ok=same
  if ! "$RUDDER" "${args[@]}" 2>/dev/null | cmp -s - "golden/$name.yaml"; then ok=DIFF; fi
  r_us=$(best_ms "$RUDDER" "${args[@]}")
  h_us=$(best_ms helm "${args[@]}")
  read -r _ r_kb < <(best_of "$RUDDER" "${args[@]}")
  read -r _ h_kb < <(best_of helm "${args[@]}")
  speed=$(awk -v h="$h_us" -v r="$r_us" 'BEGIN{ if (r > 0) printf "%.1fx", h / r; else print "inf" }')
  mem=$(awk -v h="$h_kb" -v r="$r_kb" 'BEGIN{ if (h > 0) printf "%.2f", r / h; else print "?" }')
  printf '%-26s %10.1f %10.1f %8s %10.1f %10.1f %8s %s\n' "$name" \
    "$(awk -v x="$r_us" 'BEGIN{print x/1000}')" "$(awk -v x="$h_us" 'BEGIN{print x/1000}')" "$speed" \
    "$(awk -v x="$r_kb" 'BEGIN{print x/1024}')" "$(awk -v x="$h_kb" 'BEGIN{print x/1024}')" "$mem" "$ok"
  if awk -v h="$h_us" -v r="$r_us" 'BEGIN{exit !(r * 10 > h)}'; then fail=1; fi
done
echo "goal: rudder >= 10x faster than helm on every chart and <= 0.25 of its peak memory"
exit 0
