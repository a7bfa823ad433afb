#!/bin/bash
# Builds the seed/sprout chain of this folder. Needs root, loop devices, btrfs-progs and zstd:
# sprouting is `btrfs device add` on a mounted seed, which only the kernel does.
#
#   seed.img     filesystem A (mkfs, files, then `btrfstune -S 1`: a seed)
#   sprout.img   filesystem B: A mounted, sprout.img added, written to; then made a seed too
#   sprout2.img  filesystem C: B (with A) mounted, sprout2.img added, written to
#   other-seed.img  a seed of an unrelated filesystem D, for the refusal test
#
# Each image is 128 MiB sparse, committed as <name>.img.zst with btrfs-progs' own outputs:
# check-<fs>.txt (`btrfs check --readonly` with the members as loop devices; check-sprout-alone.txt
# of sprout.img with its seed absent), and
# dump-tree-<fs>.txt.zst (`btrfs inspect-internal dump-tree`).
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'umount "$work/mnt" 2>/dev/null || true; losetup -D 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir "$work/mnt"
img() { rm -f "$work/$1.img"; truncate -s 128M "$work/$1.img"; }
loop() { losetup -f --show "$work/$1.img"; }

img seed
mkfs.btrfs -q -U 5eed0000-0000-4000-8000-00000000000a "$work/seed.img"
mount -o loop "$work/seed.img" "$work/mnt"
echo "in the seed" > "$work/mnt/a"
mkdir "$work/mnt/d"
seq 1 30000 > "$work/mnt/d/numbers"
head -c 300000 /dev/zero | tr '\0' 'x' > "$work/mnt/d/gone-in-sprout"
umount "$work/mnt"
btrfstune -S 1 "$work/seed.img"

img sprout
A=$(loop seed); B=$(loop sprout)
mount "$A" "$work/mnt"
btrfs device add -K -f "$B" "$work/mnt"
mount -o remount,rw "$work/mnt"
echo "in the sprout" > "$work/mnt/b"
cp "$work/mnt/d/numbers" "$work/mnt/d/numbers-copy"
rm "$work/mnt/d/gone-in-sprout"
umount "$work/mnt"
# Made a seed first (btrfstune commits a transaction), so the outputs are of the committed bytes.
btrfstune -S 1 "$B"
btrfs check --readonly "$B" > check-sprout.txt 2>&1
btrfs inspect-internal dump-tree "$B" | zstd -q -19 -f -o dump-tree-sprout.txt.zst

img sprout2
C=$(loop sprout2)
mount "$B" "$work/mnt"
btrfs device add -K -f "$C" "$work/mnt"
mount -o remount,rw "$work/mnt"
echo "in the second sprout" > "$work/mnt/c"
rm "$work/mnt/a"
umount "$work/mnt"
btrfs check --readonly "$C" > check-sprout2.txt 2>&1
btrfs inspect-internal dump-tree "$C" | zstd -q -19 -f -o dump-tree-sprout2.txt.zst
losetup -D
# Without its seed a sprout cannot be opened: what btrfs check says then.
btrfs check --readonly "$work/sprout.img" > check-sprout-alone.txt 2>&1 || true

img other-seed
mkfs.btrfs -q "$work/other-seed.img"
btrfstune -S 1 "$work/other-seed.img"

for n in seed sprout sprout2 other-seed; do zstd -q -19 -f "$work/$n.img" -o "$n.img.zst"; done
# Device paths in the outputs are loop devices: keep them out of the goldens.
sed -i -e 's|/dev/loop[0-9]*|LOOP|g' -e "s|$work/||g" check-sprout.txt check-sprout2.txt check-sprout-alone.txt
