#!/usr/bin/env bash
# Benchmark: renders every corpus chart with rudder and with helm (same
# arguments, the golden args), whole process, best of N runs each, and peak
# resident memory (GNU time's "Maximum resident set size").
# Usage: scripts/bench.sh [RUNS]   (default 5). Needs helm on PATH and /usr/bin/time.
set -euo pipefail
RUNS=${1:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# ../shared/charts relative to the repository (searched upwards for worktrees).
find_charts() {
  local d=$ROOT
  while [ "$d" != "/" ]; do
    if [ -d "$d/../shared/charts/golden" ]; then (cd "$d/../shared/charts" && pwd); return; fi
    d=$(dirname "$d")
  done
  echo "$ROOT/../shared/charts"
}
CHARTS=${CHARTS_DIR:-$(find_charts)}
command -v helm >/dev/null || { echo "helm not found on PATH (run ../shared/tools/install-helm)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time (GNU time) is required" >&2; exit 1; }
# The shipped binary (static PIE on Linux), as `make release` builds it.
RUDDER=$("$ROOT/scripts/build-release.sh")

# peak_rss CMD...: the largest "Maximum resident set size" (KiB) over RUNS runs.
peak_rss() {
  local rss=0 i r f
  f=$(mktemp)
  for ((i = 0; i < RUNS; i++)); do
    /usr/bin/time -f '%M' -o "$f" "$@" >/dev/null 2>&1 || true
    r=$(tail -n1 "$f")
    if [ "${r:-0}" -gt "$rss" ]; then rss=$r; fi
  done
  rm -f "$f"
  echo "$rss"
}

# Best wall time in microseconds over RUNS runs (after one warm-up), read
# from bash's own clock ($EPOCHREALTIME): no process is spawned around the
# run (forking `date` twice would add ~2 ms to a 3 ms render).
best_ms() {
  local best="" i s e d
  "$@" >/dev/null 2>&1 || true
  for ((i = 0; i < RUNS; i++)); do
    s=${EPOCHREALTIME/[.,]/}; "$@" >/dev/null 2>&1 || true; e=${EPOCHREALTIME/[.,]/}
    d=$(( e - s ))
    if [ -z "$best" ] || [ "$d" -lt "$best" ]; then best=$d; fi
  done
  echo "$best"
}

cd "$CHARTS"
printf '%-26s %10s %10s %8s %10s %10s %8s %s\n' chart rudder_ms helm_ms speedup rudder_MB helm_MB mem_ratio ok
for args_file in golden/*.args; do
  name=$(basename "$args_file" .args)
  mapfile -t args < "$args_file"
  ok=same
  if ! "$RUDDER" "${args[@]}" 2>/dev/null | cmp -s - "golden/$name.yaml"; then ok=DIFF; fi
  r_us=$(best_ms "$RUDDER" "${args[@]}")
  h_us=$(best_ms helm "${args[@]}")
  r_kb=$(peak_rss "$RUDDER" "${args[@]}")
  h_kb=$(peak_rss helm "${args[@]}")
  speed=$(awk -v h="$h_us" -v r="$r_us" 'BEGIN{ if (r > 0) printf "%.1fx", h / r; else print "inf" }')
  mem=$(awk -v h="$h_kb" -v r="$r_kb" 'BEGIN{ if (h > 0) printf "%.2f", r / h; else print "?" }')
  printf '%-26s %10.1f %10.1f %8s %10.1f %10.1f %8s %s\n' "$name" \
    "$(awk -v x="$r_us" 'BEGIN{print x/1000}')" "$(awk -v x="$h_us" 'BEGIN{print x/1000}')" "$speed" \
    "$(awk -v x="$r_kb" 'BEGIN{print x/1024}')" "$(awk -v x="$h_kb" 'BEGIN{print x/1024}')" "$mem" "$ok"
done
echo "goal: rudder >= 5x faster than helm on every chart and <= 0.25 of its peak memory"
exit 0
