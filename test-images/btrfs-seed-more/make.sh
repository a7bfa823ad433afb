#!/bin/bash
# Builds the images of this folder. Needs root, loop devices, btrfs-progs and zstd: sprouting is
# `btrfs device add` on a mounted seed, which only the kernel does.
#
#   raid1-seed.dev1.img, raid1-seed.dev2.img
#                      filesystem R: two devices, data and metadata RAID1, files written, then
#                      `btrfstune -S 1`: a two-device seed
#   raid1-sprout.img   filesystem S: R mounted (both devices), raid1-sprout.img added, written to
#
# Each image is 128 MiB sparse, committed as <name>.img.zst with btrfs-progs' own outputs:
# check-raid1-sprout.txt (`btrfs check --readonly` of the sprout, its two seed devices present as
# loop devices), check-raid1-sprout-without-dev1.txt and -without-dev2.txt (the same with one
# seed device absent), dump-tree-raid1-sprout.txt.zst (`btrfs inspect-internal dump-tree`), and
# mount-raid1-sprout-without-dev2.txt (what the running kernel says mounting the sprout with one
# seed device absent).
#
# The second case asked for, a seed with the METADATA_UUID incompat feature, cannot be made:
# btrfstune refuses the seeding flag on a filesystem with a changed metadata uuid and a metadata
# uuid on a seed, in either order or together. What it says is kept in
# btrfstune-metadata-uuid.txt (see README.md).
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
loops=()
cleanup() {
    umount "$work/mnt" 2>/dev/null || true
    # Only the loop devices made here, and the kernel's memory of them (other work on this
    # machine may hold loop devices of its own).
    for l in "${loops[@]}"; do
        btrfs device scan --forget "$l" 2>/dev/null || true
        losetup -d "$l" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/mnt"
img() { rm -f "$work/$1.img"; truncate -s 128M "$work/$1.img"; }
# Sets $REPLY to a new loop device of $work/$1.img (a command substitution would lose the array).
loop() { REPLY=$(losetup -f --show "$work/$1.img"); loops+=("$REPLY"); }
unloop() {
    btrfs device scan --forget "$1" 2>/dev/null || true
    losetup -d "$1"
    local kept=() l
    for l in "${loops[@]}"; do [ "$l" = "$1" ] || kept+=("$l"); done
    loops=("${kept[@]}")
}

img raid1-seed.dev1; img raid1-seed.dev2
loop raid1-seed.dev1; R1=$REPLY
loop raid1-seed.dev2; R2=$REPLY
mkfs.btrfs -q -U 5eed0000-0000-4000-8000-00000000001a -d raid1 -m raid1 "$R1" "$R2"
btrfs device scan "$R1" "$R2" > /dev/null
mount "$R1" "$work/mnt"
echo "in the raid1 seed" > "$work/mnt/a"
mkdir "$work/mnt/d"
seq 1 30000 > "$work/mnt/d/numbers"
head -c 300000 /dev/zero | tr '\0' 'x' > "$work/mnt/d/gone-in-sprout"
seq 1 5000 | sed 's/^/line /' > "$work/mnt/d/kept"
umount "$work/mnt"
btrfstune -S 1 "$R1"

img raid1-sprout
loop raid1-sprout; S=$REPLY
mount "$R1" "$work/mnt"
btrfs device add -K -f "$S" "$work/mnt"
mount -o remount,rw "$work/mnt"
echo "in the sprout" > "$work/mnt/b"
cp "$work/mnt/d/numbers" "$work/mnt/d/numbers-copy"
cat "$work/mnt/d/kept" "$work/mnt/a" > "$work/mnt/d/kept-and-a"
rm "$work/mnt/d/gone-in-sprout"
mkdir "$work/mnt/e"
seq 1 20000 | tac > "$work/mnt/e/reversed"
umount "$work/mnt"
btrfs check --readonly "$S" > check-raid1-sprout.txt 2>&1
btrfs inspect-internal dump-tree "$S" | zstd -q -19 -f -o dump-tree-raid1-sprout.txt.zst
# One mirror of the seed gone: what btrfs check says with only the other seed device present.
unloop "$R2"
btrfs check --readonly "$S" > check-raid1-sprout-without-dev2.txt 2>&1 || true
# And what the kernel says when asked to mount it read-only, plain and degraded (the kernel's
# lines from after a marker; a refused mount writes nothing).
{
    for opts in ro ro,degraded; do
        echo "ondisk-make-$$-$opts" > /dev/kmsg
        echo "\$ mount -o $opts SPROUT"
        mount -o "$opts" "$S" "$work/mnt" 2>&1 && { echo "(exit 0)"; umount "$work/mnt"; } || echo "(exit $?)"
        dmesg | sed -n "/ondisk-make-$$-$opts/,\$p" | grep BTRFS | sed 's/^\[[^]]*\] //' || true
        echo
    done
} > mount-raid1-sprout-without-dev2.txt
loop raid1-seed.dev2; R2=$REPLY
unloop "$R1"
btrfs check --readonly "$S" > check-raid1-sprout-without-dev1.txt 2>&1 || true
unloop "$R2"; unloop "$S"

# METADATA_UUID and seeding, in both orders and together: btrfstune refuses each.
{
    for order in "-M 5eed0000-0000-4000-8000-0000000000b2|-S 1" "-S 1|-M 5eed0000-0000-4000-8000-0000000000b2" "-S 1 -M 5eed0000-0000-4000-8000-0000000000b2|"; do
        img mu
        mkfs.btrfs -q -U 5eed0000-0000-4000-8000-0000000000b1 "$work/mu.img" > /dev/null 2>&1
        for step in "${order%%|*}" "${order#*|}"; do
            [ -n "$step" ] || continue
            echo "\$ btrfstune $step mu.img"
            # shellcheck disable=SC2086
            btrfstune $step "$work/mu.img" 2>&1 && echo "(exit 0)" || echo "(exit $?)"
        done
        echo
    done
} > btrfstune-metadata-uuid.txt
rm -f "$work/mu.img"

for n in raid1-seed.dev1 raid1-seed.dev2 raid1-sprout; do zstd -q -19 -f "$work/$n.img" -o "$n.img.zst"; done
# Device paths in the outputs are loop devices: keep them out of the goldens.
sed -i -e 's|/dev/loop[0-9]*|LOOP|g' -e "s|$work/||g" check-raid1-sprout*.txt mount-raid1-sprout-without-dev2.txt btrfstune-metadata-uuid.txt
sed -i -e 's|(device loop[0-9]*)|(device LOOP)|' -e 's|by mount ([0-9]*)|by mount (PID)|' mount-raid1-sprout-without-dev2.txt
