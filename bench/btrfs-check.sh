#!/bin/bash
# Times `ondisk check` against `btrfs check --readonly` on the large metadata-heavy image.
#
#   usage: [CHECK_ARGS=...] [IN_MEMORY=1] bench/btrfs-check.sh IMG [RUNS]
#
# CHECK_ARGS: options given to both checks, e.g. CHECK_ARGS=--check-data-csum.
# IN_MEMORY=1: first copy the image (sparse) to /dev/shm and time both tools there. Pages of a
# tmpfs file are never dropped (not by drop_caches, nor by btrfs check's fadvise), so no disk
# takes part: the ratio is that of the two tools' work alone, whatever disk the machine has.
# IMG: the image from ../shared/bench/make-large-btrfs.sh (see bench/btrfs-dump.sh to build it).
# RUNS (default 5) alternating runs of each tool. As root the page cache is dropped before every
# run, so both read cold (btrfs check drops the image from the cache itself when it opens and
# closes it, so alternating runs are cold anyway); otherwise the runs are as warm as they come.
# Reports the median wall time and the median peak RssAnon (private memory: the page-cache pages
# of a memory-mapped image are not ours), and the ratios. Times come from runs with nothing
# beside them; memory from three more runs of each, sampled from /proc.
set -euo pipefail
img=${1:?usage: bench/btrfs-check.sh IMG [RUNS]}
runs=${2:-5}
read -ra extra <<< "${CHECK_ARGS:-}"
repo=$(cd "$(dirname "$0")/.." && pwd)
ondisk=${ONDISK:-$repo/target/release/ondisk}
[ -x "$ondisk" ] || (cd "$repo" && cargo build --release --quiet)
command -v btrfs >/dev/null || { echo "needs btrfs-progs" >&2; exit 1; }
if [ "${IN_MEMORY:-}" = 1 ]; then
    mem=/dev/shm/ondisk-bench.$$.img
    trap 'rm -f "$mem"' EXIT
    cp --sparse=always "$img" "$mem"
    img=$mem
    echo "in memory: $img ($(du -h "$img" | cut -f1) of pages)" >&2
fi

drop_caches() {
    # Not in memory: dropping caches does not free a tmpfs file's pages, but afterwards (kernel
    # 6.18 here) ondisk's mapping of them faulted page by page, in every later run too: 207,000
    # faults where there had been 26,000, 0.47 s against 0.28 s. That measures the kernel.
    if [ "$(id -u)" = 0 ] && [ -z "${mem:-}" ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
}

# seconds CMD... -> wall seconds, nothing else running beside it (a sampler polling /proc would
# take CPU from the tool measured, and ondisk runs threads on both cores).
seconds() {
    drop_caches
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

# peak CMD... -> peak RssAnon in KiB, sampled from /proc every 10 ms in a separate run.
peak() {
    drop_caches
    local pid peak=0 a line
    "$@" >/dev/null 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        a=0
        while read -r line; do
            case $line in RssAnon:*) a=${line//[!0-9]/} ;; esac
        done < "/proc/$pid/status" 2>/dev/null || true
        if [ "$a" -gt "$peak" ]; then peak=$a; fi
        sleep 0.01
    done
    wait "$pid" || true
    echo "$peak"
}

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

o_t=(); o_m=(); p_t=(); p_m=(); f_t=()
for i in $(seq "$runs"); do
    o_t+=("$(seconds "$ondisk" check "${extra[@]}" "$img")")
    p_t+=("$(seconds btrfs check --readonly "${extra[@]}" "$img")")
    # The read floor: the same walk reading every tree block once, with no checks. How fast the
    # disk is on the day decides it, and with it the best ratio any checker could reach.
    f_t+=("$(seconds "$ondisk" stats "$img")")
    echo "run $i: ondisk ${o_t[-1]} s, btrfs check ${p_t[-1]} s, read floor ${f_t[-1]} s" >&2
done
for i in $(seq 3); do
    o_m+=("$(peak "$ondisk" check "${extra[@]}" "$img")")
    p_m+=("$(peak btrfs check --readonly "${extra[@]}" "$img")")
    echo "memory run $i: ondisk ${o_m[-1]} KiB, btrfs check ${p_m[-1]} KiB" >&2
done
ot=$(printf '%s\n' "${o_t[@]}" | median); om=$(printf '%s\n' "${o_m[@]}" | median)
pt=$(printf '%s\n' "${p_t[@]}" | median); pm=$(printf '%s\n' "${p_m[@]}" | median)
ft=$(printf '%s\n' "${f_t[@]}" | median)
printf '%-14s %10s %16s\n' "" "median wall" "median RssAnon"
printf '%-14s %9.2fs %12d KiB\n' ondisk "$ot" "$om" "btrfs check" "$pt" "$pm"
printf '%-14s %9.2fs  (ondisk stats: every tree block read once, no checks)\n' "read floor" "$ft"
awk -v a="$ot" -v b="$pt" -v c="$om" -v d="$pm" -v f="$ft" 'BEGIN { printf "ondisk is %.1fx faster, uses %.3f of the memory (1/%.0f); the read floor is %.1fx below btrfs check\n", b / a, c / d, d / c, b / f }'
# The speed of this shared disk drifts over minutes: the ratio within each run (the two tools
# timed seconds apart) is steadier than the ratio of the medians.
r=(); for i in "${!o_t[@]}"; do r+=("$(echo "${p_t[$i]} / ${o_t[$i]}" | bc -l)"); done
printf 'per-run ratios:'; printf ' %.1f' "${r[@]}"; printf ', median %.1fx\n' "$(printf '%s\n' "${r[@]}" | median)"
