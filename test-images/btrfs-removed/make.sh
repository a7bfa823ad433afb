#!/bin/bash
# A three-device RAID1 filesystem that lost its third device and went on without it: mounted
# degraded without it, `btrfs device remove missing`, written to, unmounted. The third device's
# image keeps its superblock (devid 3, an older generation): a disk removed while absent that
# came back. Needs root, loop devices, btrfs-progs, zstd.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
w=$(mktemp -d /tmp/btrfs-removed.XXXXXX)
loops=()
cleanup() { umount "$w/mnt" 2>/dev/null || true; for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done; btrfs device scan --forget >/dev/null 2>&1 || true; rm -rf "$w"; }
trap cleanup EXIT
mkdir "$w/mnt"
for i in 1 2 3; do truncate -s 256M "$w/dev$i.img"; done
mkfs.btrfs -q -m raid1 -d raid1 -U 00000000-0000-4000-8000-00000000e3e3 "$w"/dev{1,2,3}.img >/dev/null
for i in 1 2 3; do loops+=("$(losetup -f --show "$w/dev$i.img")"); done
btrfs device scan "${loops[@]}" >/dev/null
mount "${loops[0]}" "$w/mnt"
for i in $(seq 40); do printf 'file %d\n%.0s' "$i" $(seq 2000) > "$w/mnt/f$i"; done
umount "$w/mnt"
# The third disk goes away.
losetup -d "${loops[2]}"; unset 'loops[2]'
btrfs device scan --forget >/dev/null
btrfs device scan "${loops[@]}" >/dev/null
mount -o degraded "${loops[0]}" "$w/mnt"
btrfs device remove missing "$w/mnt"
for i in $(seq 41 60); do printf 'file %d\n%.0s' "$i" $(seq 2000) > "$w/mnt/f$i"; done
umount "$w/mnt"
{
    echo "# btrfs check --readonly of devices 1 and 2 (the filesystem), btrfs-progs $(btrfs --version | awk '{print $2}')"
    btrfs check --readonly "${loops[0]}" 2>&1 | sed "s#${loops[0]}#dev1#g"
} > "$here/check.txt" || true
for i in 1 2 3; do zstd -q -19 -f "$w/dev$i.img" -o "$here/dev$i.img.zst"; done
