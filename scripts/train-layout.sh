#!/usr/bin/env bash
# Trains the shipped binary's code layout: which functions the operator and
# `rudder template` run, so that the release link places them together
# (scripts/hot-functions.txt, read by scripts/build-release.sh).
#
# Why: the kernel maps a binary's code in blocks around each page fault
# (fault-around, and whole large folios of the page cache, which readahead
# makes large), and every mapped page counts in the process's resident
# memory. In the compiler's order the functions `rudder run` executes are
# spread over the whole code, so most of the code became resident; grouped,
# their blocks are mostly their own.
#
# How: the release binary runs a training workload under valgrind's
# callgrind, which records every function a process executes, by the names
# of the binary's symbol table (standard library, libc and C included):
#   1. `rudder template` over every corpus chart with its golden arguments
#      (../shared/charts);
#   2. `rudder run` through scripts/bench-scale.py: 30 releases installed and
#      waited for, upgraded at once, and re-checked on a restart among 30 of
#      helm's own records;
# then every executed function is listed, the most instructions first.
# Nothing but the order changes. A function missing from the list (new,
# renamed) is placed after the listed ones and runs all the same; rerun
# this after large changes or dependency updates (build-release.sh prints
# how many listed functions it found).
#
# Needs valgrind, the scale benchmark's tools (go, openssl, curl, helm,
# kubectl) and ../shared. About a minute and a half once the release binary
# is built (the `rudder run` workload is slow under valgrind, so it is
# small).
# Usage: scripts/train-layout.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/scripts/hot-functions.txt
WORK=${CARGO_TARGET_DIR:-$ROOT/target}/layout-training
CHARTS=${CHARTS_DIR:-$ROOT/../shared/charts}
export PATH=$HOME/.local/bin:$PATH

command -v valgrind >/dev/null || { echo "valgrind is required" >&2; exit 1; }
[[ -d $CHARTS/golden ]] || { echo "training charts not found: $CHARTS/golden" >&2; exit 1; }
rm -rf "$WORK"
mkdir -p "$WORK/profiles"
bin=$("$ROOT/scripts/build-release.sh")
# The trained binary is a copy: the next build replaces the original.
cp "$bin" "$WORK/rudder"
# The traced binary: writes its profile to $PROFILE, or one per process
# when unset (bench-scale.py starts rudder more than once).
cat > "$WORK/rudder-traced" <<EOF
#!/usr/bin/env bash
exec valgrind --quiet --tool=callgrind --demangle=no \
  --callgrind-out-file="\${PROFILE:-$WORK/profiles/run-%p.out}" "$WORK/rudder" "\$@"
EOF
chmod +x "$WORK/rudder-traced"

echo "train-layout: rudder template over $CHARTS/golden" >&2
for args_file in "$CHARTS"/golden/*.args; do
  mapfile -t args < "$args_file"
  (cd "$CHARTS" && PROFILE="$WORK/profiles/template-$(basename "$args_file" .args).out" \
    "$WORK/rudder-traced" "${args[@]}" >/dev/null)
done

echo "train-layout: rudder run (scripts/bench-scale.py)" >&2
"$ROOT/scripts/bench-scale.py" --releases 30 --tools rudder --storm 30 \
  --helm-records 30 --rudder-binary "$WORK/rudder-traced" >&2

python3 "$ROOT/scripts/hot-functions.py" "$WORK/rudder" "$WORK"/profiles/*.out > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "train-layout: $(grep -cv '^#' "$OUT") functions listed in $OUT" >&2
