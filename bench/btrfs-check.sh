#!/bin/bash
# Times `ondisk check` against `btrfs check --readonly` on the large metadata-heavy image.
#
#   usage: bench/btrfs-check.sh IMG [RUNS]
#
# IMG: the image from ../shared/bench/make-large-btrfs.sh (see bench/btrfs-dump.sh to build it).
# RUNS (default 5) alternating runs of each tool. As root the page cache is dropped before every
# run, so both read cold (btrfs check drops the image from the cache itself when it opens and
# closes it, so alternating runs are cold anyway); otherwise the runs are as warm as they come.
# Reports the median wall time and the median peak RssAnon (private memory: the page-cache pages
# of a memory-mapped image are not ours), sampled from /proc, and the ratios.
set -euo pipefail
img=${1:?usage: bench/btrfs-check.sh IMG [RUNS]}
runs=${2:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
ondisk=${ONDISK:-$repo/target/release/ondisk}
[ -x "$ondisk" ] || (cd "$repo" && cargo build --release --quiet)
command -v btrfs >/dev/null || { echo "needs btrfs-progs" >&2; exit 1; }

# run CMD... -> "seconds peak_rss_anon_kib"
run() {
    if [ "$(id -u)" = 0 ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
    local start end pid peak=0 a
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        a=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
        if [ -n "$a" ] && [ "$a" -gt "$peak" ]; then peak=$a; fi
        sleep 0.01
    done
    wait "$pid" || true
    end=$(date +%s.%N)
    echo "$(echo "$end - $start" | bc) $peak"
}

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

o_t=(); o_m=(); p_t=(); p_m=()
for i in $(seq "$runs"); do
    read -r t m < <(run "$ondisk" check "$img"); o_t+=("$t"); o_m+=("$m")
    read -r t m < <(run btrfs check --readonly "$img"); p_t+=("$t"); p_m+=("$m")
    echo "run $i: ondisk ${o_t[-1]} s ${o_m[-1]} KiB, btrfs check ${p_t[-1]} s ${p_m[-1]} KiB" >&2
done
ot=$(printf '%s\n' "${o_t[@]}" | median); om=$(printf '%s\n' "${o_m[@]}" | median)
pt=$(printf '%s\n' "${p_t[@]}" | median); pm=$(printf '%s\n' "${p_m[@]}" | median)
printf '%-14s %10s %16s\n' "" "median wall" "median RssAnon"
printf '%-14s %9.2fs %12d KiB\n' ondisk "$ot" "$om" "btrfs check" "$pt" "$pm"
awk -v a="$ot" -v b="$pt" -v c="$om" -v d="$pm" 'BEGIN { printf "ondisk is %.1fx faster, uses %.3f of the memory (1/%.0f)\n", b / a, c / d, d / c }'
