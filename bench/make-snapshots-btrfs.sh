#!/bin/bash
# A snapshot-heavy btrfs image for bench/btrfs-check.sh: a subvolume of 100,000 files in 200
# directories (a third of them 5,000 bytes, the rest 100-byte inline), then 200 read-only
# snapshots with three files rewritten between each two. Every snapshot shares nearly all of its
# 3,600 leaves with the others, as on a machine that keeps hourly snapshots.
#
#   usage: [QUOTA=1] bench/make-snapshots-btrfs.sh OUT.img     (root, loop devices, btrfs-progs, python3)
#
# QUOTA=1 turns traditional qgroups on before the files are written and ends with a rescan, so
# that every snapshot's qgroup holds the kernel's own counts.
set -euo pipefail
out=${1:?usage: bench/make-snapshots-btrfs.sh OUT.img}
mnt=$(mktemp -d)
trap 'umount "$mnt" 2>/dev/null || true; rmdir "$mnt"' EXIT
rm -f "$out"
truncate -s 4G "$out"
mkfs.btrfs -q -f "$out" >/dev/null
mount -o loop "$out" "$mnt"
if [ "${QUOTA:-0}" = 1 ]; then btrfs quota enable "$mnt"; fi
btrfs subvolume create "$mnt/sv" >/dev/null
python3 - "$mnt/sv" <<'PY'
import os, sys
base = sys.argv[1]
for d in range(200):
    os.mkdir(f"{base}/d{d}")
    for f in range(500):
        with open(f"{base}/d{d}/f{f}", "wb") as fh:
            fh.write(b"x" * (5000 if f % 3 == 0 else 100))
PY
sync
for i in $(seq 1 200); do
    btrfs subvolume snapshot -r "$mnt/sv" "$mnt/s$i" >/dev/null
    for j in 1 2 3; do echo "$i$j" > "$mnt/sv/d$(((i * 7 + j) % 200))/f$(((i * 13 + j) % 500))"; done
done
if [ "${QUOTA:-0}" = 1 ]; then btrfs quota rescan -w "$mnt" >/dev/null; fi
sync
umount "$mnt"
