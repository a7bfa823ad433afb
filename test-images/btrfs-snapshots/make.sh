#!/bin/bash
# Snapshots that share whole subtrees: a subvolume of 4,000 small inodes on 4 KiB nodes (its
# tree three levels high, so that level-1 nodes are shared, not only leaves), and 16 snapshots
# taken between small changes: renames, deletions, new files, hard links across directories,
# writes, a nested subvolume, a snapshot of a snapshot. What the inode checks' shared-subtree
# summaries are tested on. Needs root, loop devices, btrfs-progs, zstd.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
w=$(mktemp -d /tmp/btrfs-snapshots.XXXXXX)
cleanup() { umount "$w/mnt" 2>/dev/null || true; rm -rf "$w"; }
trap cleanup EXIT
mkdir "$w/mnt"
truncate -s 160M "$w/fs.img"
mkfs.btrfs -q -n 4096 -m single -d single -U 00000000-0000-4000-8000-00000000aaaa "$w/fs.img" >/dev/null
mount -o loop "$w/fs.img" "$w/mnt"
m=$w/mnt
btrfs subvolume create "$m/sv" >/dev/null
for d in $(seq 0 39); do
    mkdir "$m/sv/d$d"
    for f in $(seq 0 99); do
        case $((f % 10)) in
            0) echo "inline $d $f" > "$m/sv/d$d/f$f" ;;
            1) ln -s "../d$(((d + 1) % 40))/f$f" "$m/sv/d$d/f$f" ;;
            *) : > "$m/sv/d$d/f$f" ;;
        esac
    done
done
# Hard links whose names live far from their inodes.
for d in $(seq 0 39 | shuf --random-source=<(yes)); do ln "$m/sv/d$d/f2" "$m/sv/d$(((d + 20) % 40))/link$d"; done
setfattr -n user.note -v shared "$m/sv/d3/f4" 2>/dev/null || true
btrfs subvolume create "$m/sv/nested" >/dev/null
echo nested > "$m/sv/nested/file"
dd if=/dev/zero of="$m/sv/d7/data" bs=64K count=4 status=none
sync
for i in $(seq 1 16); do
    btrfs subvolume snapshot -r "$m/sv" "$m/s$i" >/dev/null
    d=$(((i * 7) % 40))
    mv "$m/sv/d$d/f$((i + 10))" "$m/sv/d$(((d + 3) % 40))/moved$i"
    rm -f "$m/sv/d$(((d + 11) % 40))/f$((i + 30))"
    echo "new $i" > "$m/sv/d$(((d + 17) % 40))/new$i"
    ln "$m/sv/d$(((d + 5) % 40))/f$((i + 40))" "$m/sv/d$(((d + 29) % 40))/hl$i"
    dd if=/dev/urandom of="$m/sv/d7/data" bs=4K count=1 seek=$i conv=notrunc status=none
    sync
done
btrfs subvolume snapshot "$m/s4" "$m/s4-rw" >/dev/null
echo changed > "$m/s4-rw/d1/f3"
sync
umount "$m"
{
    echo "# btrfs check --readonly, btrfs-progs $(btrfs --version | awk '{print $2}')"
    btrfs check --readonly "$w/fs.img" 2>&1 | sed "s#$w/##g"
} > "$here/check.txt" || true
zstd -q -19 -f "$w/fs.img" -o "$here/fs.img.zst"
