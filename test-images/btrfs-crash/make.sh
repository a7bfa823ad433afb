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
#   usage: make.sh [NAME...]     (default: all three)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/btrfs-crash.XXXXXX)
trap 'rm -rf "$work"' EXIT

# session NAME SECONDS SEED MKFS_OPTS MOUNT_OPTS FEATURES...
session() {
    local name=$1 secs=$2 seed=$3 mkfs=$4 mopts=$5; shift 5
    local d=$work/$name
    mkdir -p "$d/fuse" "$d/mnt"
    truncate -s 256M "$d/disk.img"
    mkfs.btrfs -q $mkfs "$d/disk.img" >/dev/null
    cp --sparse=always "$d/disk.img" "$d/start.img"
    python3 "$here/logfs.py" "$d/disk.img" "$d/log" "$d/fuse" >"$d/fuse.err" 2>&1 </dev/null &
    local fusepid=$!
    for _ in $(seq 50); do [ -e "$d/fuse/disk" ] && break; sleep 0.1; done
    local loop
    loop=$(losetup -f --show "$d/fuse/disk")
    mount -o "$mopts" "$loop" "$d/mnt"
    python3 "$here/workload.py" "$d/mnt" "$secs" "$seed" "$@"
    for _ in $(seq 30); do umount "$d/mnt" 2>/dev/null && break; sleep 1; done
    losetup -d "$loop"
    sleep 0.5
    umount "$d/fuse"
    wait "$fusepid" || true
    cp --sparse=always "$d/disk.img" "/tmp/$name.final.img"
    zstd -q -19 -f "$d/start.img" -o "$here/$name.start.img.zst"
    zstd -q -19 -T2 -f "$d/log" -o "$here/$name.log.zst"
    echo "$name: $(stat -c %s "$d/log") bytes of log"
}

names=${*:-balance-snap spacecache-v1 quota}
for n in $names; do
    case $n in
        # Snapshots made and deleted, a balance thread, orphans, fsync (log trees), prealloc.
        balance-snap) session "$n" 10 21 "" "commit=1" small snap balance ;;
        # The same on a v1 space cache instead of the free space tree.
        spacecache-v1) session "$n" 10 22 "-R ^free-space-tree" "commit=1,space_cache=v1" small snap balance ;;
        # With qgroups.
        quota) session "$n" 10 11 "" "commit=1" small snap quota balance ;;
        *) echo "unknown log $n" >&2; exit 2 ;;
    esac
done
{
    echo "made $(date -u +%F) by make.sh"
    echo "kernel: $(uname -r)"
    btrfs --version | head -1
} > "$here/MADE.txt"
