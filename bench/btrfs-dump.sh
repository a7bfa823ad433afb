#!/bin/bash
# Times `ondisk dump` against `btrfs inspect-internal dump-tree` on the large metadata-heavy image.
#
#   usage: bench/btrfs-dump.sh IMG [RUNS]
#
# IMG is built with ../shared/bench/make-large-btrfs.sh when it does not exist yet (about 4 min,
# ~2.7 GB of disk; put it under /tmp). RUNS (default 5) timed runs of each command, after one
# warm-up run each, both writing to /dev/null:
#   - wall time: hyperfine when installed (medians from its JSON), else a loop that alternates
#     the two commands and takes the medians;
#   - peak RSS: /usr/bin/time's maximum resident set (includes the pages of a memory-mapped image
#     that were touched), and the peak anonymous RSS sampled from /proc/PID/status (heap only:
#     what a tool allocates, as opposed to page cache it maps).
# Then prints the ratios ondisk / btrfs-progs.
#
# Environment: BENCH_NO_HYPERFINE=1 forces the loop; ONDISK (binary; default: this repository's target/release/ondisk, built if
# missing), ONDISK_SHARED (the shared inputs directory; default ../shared or ../../shared).
set -euo pipefail

img=${1:?usage: bench/btrfs-dump.sh IMG [RUNS]}
runs=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

find_shared() {
    for d in "${ONDISK_SHARED:-}" "$repo/../shared" "$repo/../../shared"; do
        if [ -n "$d" ] && [ -f "$d/bench/make-large-btrfs.sh" ]; then
            echo "$d"
            return
        fi
    done
    return 1
}

command -v btrfs >/dev/null || { echo "needs btrfs-progs (btrfs on PATH)" >&2; exit 1; }

if [ ! -s "$img" ]; then
    shared=$(find_shared) || { echo "cannot find ../shared/bench/make-large-btrfs.sh (set ONDISK_SHARED)" >&2; exit 1; }
    echo "building $img with $shared/bench/make-large-btrfs.sh (a few minutes)..." >&2
    mkdir -p "$(dirname "$img")"
    bash "$shared/bench/make-large-btrfs.sh" "$img" >&2
fi

ondisk=${ONDISK:-$repo/target/release/ondisk}
if [ -z "${ONDISK:-}" ] && [ ! -x "$ondisk" ]; then
    echo "building ondisk (release)..." >&2
    (cd "$repo" && cargo build --release --bin ondisk >&2)
fi
[ -x "$ondisk" ] || { echo "no ondisk binary at $ondisk" >&2; exit 1; }

ondisk_cmd=("$ondisk" dump "$img")
progs_cmd=(btrfs inspect-internal dump-tree "$img")

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Peak anonymous RSS (KiB) of a command, sampled every 10 ms; its stdout goes to /dev/null.
peak_anon_kib() {
    "$@" > /dev/null &
    local pid=$! peak=0 v
    while kill -0 "$pid" 2>/dev/null; do
        v=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
        if [ -n "$v" ] && [ "$v" -gt "$peak" ]; then peak=$v; fi
        sleep 0.01
    done
    wait "$pid"
    echo "$peak"
}

# Peak resident set (KiB) as the kernel accounts it at exit.
peak_rss_kib() {
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f '%M' -o /tmp/btrfs-dump-bench.$$ "$@" > /dev/null
        cat /tmp/btrfs-dump-bench.$$
        rm -f /tmp/btrfs-dump-bench.$$
    else
        # Without time(1): VmHWM read just before the process is reaped is the closest we get.
        "$@" > /dev/null &
        local pid=$! hwm=0 v
        while kill -0 "$pid" 2>/dev/null; do
            v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
            if [ -n "$v" ]; then hwm=$v; fi
            sleep 0.01
        done
        wait "$pid"
        echo "$hwm"
    fi
}

echo "image: $img ($(du -h "$img" | cut -f1) allocated, $(stat -c %s "$img") bytes apparent)"
echo "ondisk: $ondisk"
echo "btrfs-progs: $(btrfs --version)"
echo "runs: $runs each, after one warm-up run each; $(nproc) cores"
echo

if [ -z "${BENCH_NO_HYPERFINE:-}" ] && command -v hyperfine >/dev/null; then
    json=$(mktemp)
    hyperfine --style basic -w 1 -r "$runs" -N --export-json "$json" \
        -n ondisk "${ondisk_cmd[*]}" -n btrfs-progs "${progs_cmd[*]}" >&2
    read -r t_ondisk t_progs < <(python3 - "$json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print(" ".join("%.3f" % x["median"] for x in r))
EOF
)
    rm -f "$json"
else
    "${ondisk_cmd[@]}" > /dev/null
    "${progs_cmd[@]}" > /dev/null
    a=() b=()
    for _ in $(seq "$runs"); do
        s=$(date +%s.%N); "${ondisk_cmd[@]}" > /dev/null; e=$(date +%s.%N); a+=("$(echo "$e - $s" | bc)")
        s=$(date +%s.%N); "${progs_cmd[@]}" > /dev/null; e=$(date +%s.%N); b+=("$(echo "$e - $s" | bc)")
    done
    t_ondisk=$(printf '%s\n' "${a[@]}" | median)
    t_progs=$(printf '%s\n' "${b[@]}" | median)
fi

m_ondisk=$(peak_rss_kib "${ondisk_cmd[@]}")
m_progs=$(peak_rss_kib "${progs_cmd[@]}")
h_ondisk=$(peak_anon_kib "${ondisk_cmd[@]}")
h_progs=$(peak_anon_kib "${progs_cmd[@]}")

# Output sizes: a dump that prints less is not comparable, say so.
l_ondisk=$("${ondisk_cmd[@]}" | wc -l)
l_progs=$("${progs_cmd[@]}" | wc -l)

printf '\n%-14s %12s %16s %18s %14s\n' "" "median wall" "peak RSS" "peak anon RSS" "output lines"
printf '%-14s %11.3fs %13s MiB %15s MiB %14s\n' ondisk "$t_ondisk" "$((m_ondisk / 1024))" "$((h_ondisk / 1024))" "$l_ondisk"
printf '%-14s %11.3fs %13s MiB %15s MiB %14s\n' btrfs-progs "$t_progs" "$((m_progs / 1024))" "$((h_progs / 1024))" "$l_progs"
awk -v a="$t_ondisk" -v b="$t_progs" -v c="$m_ondisk" -v d="$m_progs" -v e="$h_ondisk" -v f="$h_progs" 'BEGIN {
    printf "ratio ondisk/btrfs-progs: time %.2f, peak RSS %.2f, peak anon RSS %.2f\n", a / b, c / d, (f > 0 ? e / f : 0)
}'
# dump-tree prints one line more: its "btrfs-progs vX.Y" banner.
if [ "$((l_ondisk + 1))" -ne "$l_progs" ]; then
    echo "note: the outputs differ in length ($l_ondisk vs $l_progs lines, 1 expected: the banner)"
fi
