#!/bin/bash
# Makes the write logs of tests/btrfs_crash.rs: for each NAME, NAME.start.img.zst (the image as
# mkfs.btrfs left it) and NAME.log.zst (every write a Linux kernel made to it while a workload
# ran on a loop mount, in the order they completed; format in logfs.py). Any prefix of a log
# replayed over its start image is a crash state.
#
# Needs root, loop devices, FUSE (/dev/fuse, libfuse3), python3 with mfusepy
# (`pip install mfusepy`), btrfs-progs and zstd. The workloads race on time and threads: a new
# run gives different logs, and the tests' expectations hold for any of them (see README.md).
#
#   usage: make.sh [NAME...]     (default: all five)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/btrfs-crash.XXXXXX)
trap 'rm -rf "$work"' EXIT

# session NAME DEVICES SECONDS SEED MKFS_OPTS MOUNT_OPTS FEATURES...
session() {
    local name=$1 ndev=$2 secs=$3 seed=$4 mkfs=$5 mopts=$6; shift 6
    local d=$work/$name i
    local imgs=() loops=()
    mkdir -p "$d/fuse" "$d/mnt"
    for ((i = 0; i < ndev; i++)); do
        truncate -s 256M "$d/disk$i.img"
        imgs+=("$d/disk$i.img")
    done
    # With "spare" among the features the last device is left out, for the workload to add.
    local members=("${imgs[@]}")
    case " $* " in *" spare "*) unset 'members[-1]' ;; esac
    mkfs.btrfs -q $mkfs "${members[@]}" >/dev/null
    for ((i = 0; i < ndev; i++)); do
        cp --sparse=always "$d/disk$i.img" "$d/start$i.img"
    done
    python3 "$here/logfs.py" "$d/log" "$d/fuse" "${imgs[@]}" >"$d/fuse.err" 2>&1 </dev/null &
    local fusepid=$!
    for _ in $(seq 50); do [ -e "$d/fuse/disk0" ] && break; sleep 0.1; done
    for ((i = 0; i < ndev; i++)); do
        loops+=("$(losetup -f --show "$d/fuse/disk$i")")
    done
    btrfs device scan "${loops[@]:0:${#members[@]}}" >/dev/null
    mount -o "$mopts" "${loops[0]}" "$d/mnt"
    SPARE_DEV=${loops[-1]} python3 "$here/workload.py" "$d/mnt" "$secs" "$seed" "$@"
    for _ in $(seq 30); do umount "$d/mnt" 2>/dev/null && break; sleep 1; done
    for l in "${loops[@]}"; do losetup -d "$l"; done
    sleep 0.5
    umount "$d/fuse"
    wait "$fusepid" || true
    if [ "$ndev" = 1 ]; then
        zstd -q -19 -f "$d/start0.img" -o "$here/$name.start.img.zst"
    else
        for ((i = 0; i < ndev; i++)); do
            zstd -q -19 -f "$d/start$i.img" -o "$here/$name.start.dev$((i + 1)).img.zst"
        done
    fi
    zstd -q -19 -T2 -f "$d/log" -o "$here/$name.log.zst"
    echo "$name: $(stat -c %s "$d/log") bytes of log"
}

names=${*:-balance-snap spacecache-v1 quota raid1 device-add-remove}
for n in $names; do
    case $n in
        # Snapshots made and deleted, a balance thread, orphans, fsync (log trees), prealloc.
        balance-snap) session "$n" 1 10 21 "" "commit=1" small snap balance ;;
        # The same on a v1 space cache instead of the free space tree.
        spacecache-v1) session "$n" 1 10 22 "-R ^free-space-tree" "commit=1,space_cache=v1" small snap balance ;;
        # With qgroups.
        quota) session "$n" 1 10 11 "" "commit=1" small snap quota balance ;;
        # Two devices, RAID1 metadata and data: a commit writes a superblock to each.
        raid1) session "$n" 2 10 31 "-m raid1 -d raid1" "commit=1" small snap balance ;;
        # A RAID1 pair and a third device added and removed over and over.
        device-add-remove) session "$n" 3 10 41 "-m raid1 -d raid1" "commit=1" small balance spare ;;
        *) echo "unknown log $n" >&2; exit 2 ;;
    esac
done
{
    echo "made $(date -u +%F) by make.sh"
    echo "kernel: $(uname -r)"
    btrfs --version | head -1
} > "$here/MADE.txt"
