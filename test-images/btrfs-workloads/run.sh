#!/bin/bash
# One random kernel workload on a loop-mounted btrfs (made by mkfs.btrfs, or converted from ext4),
# then ondisk, btrfs check 6.2 and a newer btrfs check on what it left: sometimes a copy taken
# after fsyncs that followed the last commit (a log tree to replay), a copy taken while the
# filesystem was frozen (everything committed; orphans of files still open, a paused balance or
# subvolumes being dropped), and the image after unmount. Every one of them is clean: the kernel
# wrote it.
#
#   usage: sudo test-images/btrfs-workloads/run.sh SEED [OPS] [DEVICES]
#
# SEED seeds the choices (mkfs and mount options, the operations), but bash draws anew in every
# subshell and the kernel's timing varies, so a seed does not replay a run: ops.log says what was
# done, and a state that is not clean is kept with the tools' outputs. OPS (default 300) operations;
# DEVICES 1 (default) to 4 (RAID profiles, devices added, removed and replaced; checked through
# loop devices, as btrfs check finds a set's other members only among block devices). Needs root,
# loop devices, btrfs-progs, xfsprogs (xfs_io), attr, fsverity. ONDISK (default target/release/ondisk); ONDISK_BTRFS_NEWER names an
# unpacked newer btrfs-progs (bin/btrfs, sbin/mkfs.btrfs; default target/btrfs-progs-newer, which
# .ci/run makes). WORK (default /tmp/ondisk-workloads) holds each seed's folder: ops.log, and for a
# state that is not clean to all three (every state with KEEP=1), its image(s) and each tool's
# output. A kept image is a base for the differential: ONDISK_DIFF_IMAGE in
# tests/btrfs_differential.rs.
#
# File data is verified against its checksums by all three (--check-data-csum): every extent a
# committed tree names was written before the commit. ondisk reads every copy (--all-copies):
# every mirror of every tree block, and RAID5/6 data rebuilt from parity. Its dump is compared
# with btrfs-progs 6.2's dump-tree, line for line (the number of lines that differ).
#
# Prints one line per state: SEED STATE ondisk=EXIT progs62=EXIT newer=EXIT [lowmem62=EXIT]
# dump-diff=LINES | ondisk's totals | its error and warning kinds.
set -u
seed=${1:?usage: run.sh SEED [OPS] [DEVICES]}
ops=${2:-300}
devices=${3:-1}
repo=$(cd "$(dirname "$0")/../.." && pwd)
ONDISK=${ONDISK:-$repo/target/release/ondisk}
NEW=${ONDISK_BTRFS_NEWER:-$repo/target/btrfs-progs-newer}
W=${WORK:-/tmp/ondisk-workloads}/s$seed
RANDOM=$seed
r() { echo $((RANDOM % $1)); }
pick() { local a=("$@"); echo "${a[$((RANDOM % ${#a[@]}))]}"; }
log() { echo "$*" >> "$W/ops.log"; }

rm -rf "$W"; mkdir -p "$W/mnt"
imgs=()
for k in $(seq "$devices"); do imgs+=("$W/dev$k.img"); done
size=$(pick 700M 1G 2G)
truncate -s "$size" "${imgs[@]}"
if [ "$devices" -gt 1 ]; then
    mk=$NEW/sbin/mkfs.btrfs
    profiles=("-m raid1 -d raid1" "-m raid1 -d single" "-m raid1 -d raid0" "-m dup -d raid1" "-m raid1 -d raid5" "-m raid1 -d raid1 -O block-group-tree")
    [ "$devices" -ge 3 ] && profiles+=("-m raid1c3 -d raid1c3" "-m raid1c3 -d raid6" "-m raid1 -d raid5")
    [ "$devices" -ge 4 ] && profiles+=("-m raid1c4 -d raid10" "-m raid10 -d raid10" "-m raid1c3 -d raid6")
    read -ra mkopts <<< "$(pick "${profiles[@]}")"
else
    # 6.2 names the free space tree a runtime feature and knows no block group tree.
    mk=$(pick /sbin/mkfs.btrfs "$NEW/sbin/mkfs.btrfs")
    read -ra mkopts <<< "$(pick "" "" "-n 4096" "-n 65536" "-O ^no-holes" "-m single" "-M" "--csum xxhash" "--csum sha256" "--csum blake2")"
    [ "$mk" != /sbin/mkfs.btrfs ] && read -ra mkopts <<< "${mkopts[*]} $(pick "" "" "-O block-group-tree" "-O ^free-space-tree")"
fi
if [ "$devices" = 1 ] && [ "$(r 4)" = 0 ]; then
    # An ext4 filesystem btrfs-convert (6.2) turned into btrfs, with its image in ext2_saved.
    src=$W/src; mkdir -p "$src/d"
    for k in $(seq 40); do head -c "$(r 200000)" /dev/urandom > "$src/f$k"; done
    for k in $(seq 300); do echo "$k" > "$src/d/n$k"; done
    ln -s f1 "$src/l"; ln "$src/f2" "$src/d/h"; truncate -s 10M "$src/sparse"
    read -ra mkopts <<< "$(pick "" "--no-datasum" "--no-inline" "--csum xxhash" "-O ^no-holes")"
    mkfs.ext4 -q -F -d "$src" "${imgs[0]}" && btrfs-convert "${mkopts[@]}" "${imgs[0]}" >> "$W/ops.log" 2>&1 || { echo "$seed convert failed: ${mkopts[*]}"; exit 1; }
    rm -rf "$src"; log "btrfs-convert ${mkopts[*]}"
else
    "$mk" -q -f "${mkopts[@]}" "${imgs[@]}" >> "$W/ops.log" 2>&1 || { echo "$seed mkfs failed: ${mkopts[*]}"; exit 1; }
    log "mkfs $mk ${mkopts[*]}"
fi
loops=()
for i in "${imgs[@]}"; do loops+=("$(losetup -f --show "$i")"); done
btrfs device scan "${loops[@]}" >/dev/null 2>&1
mopts=$(pick "" "compress=zstd" "compress=lzo" "compress-force=zlib" "nodatacow" "nodatasum" "autodefrag" "max_inline=0" "compress=zstd:9,max_inline=2048" "discard=async" "commit=1")
[[ " ${mkopts[*]} " == *" ^free-space-tree"* ]] && mopts="${mopts:+$mopts,}space_cache=v1"
M=$W/mnt
release() { for l in "${loops[@]}"; do losetup -d "$l"; done; }
# A new empty device for `device add` and `replace`, and the files of the filesystem's members
# now (through `filesystem show`: a replaced or removed device is no longer one).
spare() { local f=$W/dev$(( ${#all_imgs[@]} + 1 )).img; truncate -s "$size" "$f"; all_imgs+=("$f"); l=$(losetup -f --show "$f"); loops+=("$l"); }
members() { local l; for l in $(btrfs filesystem show "$M" | grep -o '/dev/loop[0-9]*'); do losetup -n -O BACK-FILE "$l"; done; }
all_imgs=("${imgs[@]}")
mount ${mopts:+-o "$mopts"} "${loops[0]}" "$M" || { echo "$seed mount failed: $mopts"; release; exit 1; }
log "mount $mopts"
subs=("$M")
files=()

# A new file's path: in a random subvolume, sometimes one of its first directories.
newname() { local d; d=$(pick "${subs[@]}"); [ -d "$d/dir$(r 4)" ] && d=$d/dir$(r 4); echo "$d/f$RANDOM$RANDOM"; }
somefile() { [ ${#files[@]} -gt 0 ] && pick "${files[@]}"; }
forget() { local x=$1 k=(); for f in "${files[@]}"; do [[ $f == "$x" || $f == "$x"/* ]] || k+=("$f"); done; files=("${k[@]}"); }
filler() { head -c "$1" /dev/zero | tr '\0' "$2"; }

for _ in $(seq "$ops"); do
  f=; g=; s=
  case $(r 39) in
    0|1|2) f=$(newname); sz=$(pick 0 1 100 2000 4095 4096 5000 65536 300000 1048576 3000000 9000000)
       case $(r 3) in 0) head -c "$sz" /dev/urandom;; 1) head -c "$sz" /dev/zero;; 2) yes "line $RANDOM of text" | head -c "$sz";; esac > "$f"
       files+=("$f"); log "write $f $sz";;
    3) f=$(somefile) && xfs_io -c "pwrite -S $(r 255) $(( $(r 3000) * 1024 )) $(( ($(r 64) + 1) * 4096 ))" "$f"; log "pwrite $f";;
    4) f=$(somefile) && xfs_io -d -c "pwrite -S 7 $(( $(r 500) * 4096 )) 65536" "$f"; log "direct write $f";;
    5) f=$(somefile) && truncate -s $(( $(r 5000) * 1000 )) "$f"; log "truncate $f";;
    6) f=$(somefile) && fallocate $(pick "" "-n" "-p" "-z") -o $(( $(r 2000) * 4096 )) -l $(( ($(r 300) + 1) * 4096 )) "$f"; log "fallocate $f";;
    7) f=$(somefile) && g=$(newname) && cp --reflink=always "$f" "$g" && files+=("$g"); log "reflink $f $g";;
    8) f=$(somefile) && g=$(somefile) && xfs_io -c "reflink $f $(( $(r 100) * 4096 )) $(( $(r 100) * 4096 )) $(( ($(r 50) + 1) * 4096 ))" "$g"; log "reflink range $f $g";;
    9) f=$(somefile) && g=$(somefile) && xfs_io -c "dedupe $f 0 0 65536" "$g"; log "dedupe $f $g";;
    10) f=$(somefile) && g=$(newname) && ln "$f" "$g" && files+=("$g"); log "link $f $g";;
    11) f=$(somefile) && g=$(newname) && mv "$f" "$g" && { forget "$f"; files+=("$g"); }; log "rename $f $g";;
    12) f=$(somefile) && rm -f "$f" && forget "$f"; log "unlink $f";;
    13) d=$(pick "${subs[@]}")/dir$(r 4); mkdir -p "$d"; log "mkdir $d";;
    14) f=$(newname); ln -s "$(pick target "$(filler "$(( $(r 3000) + 1 ))" x)")" "$f"; log "symlink $f";;
    15) f=$(somefile) && setfattr -n "user.x$(r 20)" -v "$(filler "$(( $(r 3000) + 1 ))" v)" "$f"; log "xattr $f";;
    16) f=$(newname); touch "$f"; chattr +C "$f"; head -c $(( $(r 40) * 4096 )) /dev/urandom > "$f"; files+=("$f"); log "nocow $f";;
    17) s=$(pick "${subs[@]}"); n=$M/snap$RANDOM; btrfs subvolume snapshot $(pick "" "-r") "$s" "$n" && subs+=("$n"); log "snapshot $s $n";;
    18) n=$M/sub$RANDOM; btrfs subvolume create "$n" && subs+=("$n"); log "subvolume $n";;
    19) if [ ${#subs[@]} -gt 2 ]; then
          s=${subs[$(( 1 + RANDOM % (${#subs[@]} - 1) ))]}
          btrfs property set -f "$s" ro false; btrfs subvolume delete $(pick "" "-c") "$s"
          k=(); for x in "${subs[@]}"; do [ "$x" != "$s" ] && k+=("$x"); done; subs=("${k[@]}"); forget "$s"; log "delete $s"
        fi;;
    20) f=$(somefile) && xfs_io -c fsync "$f"; log "fsync $f";;
    21) sync; log sync;;
    22) btrfs balance start $(pick "-dusage=50" "-musage=50" "--full-balance" "-dusage=90 -musage=90") "$M"; log balance;;
    23) btrfs filesystem defragment -r $(pick "" "-czstd" "-clzo") "$(pick "${subs[@]}")"; log defragment;;
    24) btrfs quota $(pick enable enable disable) "$M"; log quota;;
    25) btrfs quota rescan -w "$M"; btrfs qgroup create "1/$(r 5)" "$M"; log "rescan, level-1 qgroup";;
    26) f=$(somefile) && fsverity enable "$f"; log "verity $f";;
    27) s=$(pick "${subs[@]}"); btrfs property set "$s" compression $(pick zstd lzo zlib none); log "compression property $s";;
    28) s=$(pick "${subs[@]}"); if [ "$s" != "$M" ]; then
          btrfs property set "$s" ro true; mkdir -p "$M/received"
          btrfs send -q "$s" | btrfs receive -q "$M/received"; btrfs property set -f "$s" ro false; log "send $s"
        fi;;
    29) btrfs scrub start -B "$M"; log scrub;;
    30) btrfs filesystem resize "-$(pick 50M 100M)" "$M"; btrfs filesystem resize max "$M"; log resize;;
    # (A failed `exec` redirection would end the script: the file must be there.)
    31) f=$(somefile) && [ -f "$f" ] && exec 3<"$f" && rm -f "$f" && forget "$f"; log "unlinked while open $f";;
    32) f=$(newname); xfs_io -f -c "pwrite 0 $(( ($(r 8) + 1) * 131072 ))" -c "fpunch 4096 8192" "$f" && files+=("$f"); log "punched $f";;
    34) d=$(pick "${subs[@]}")/many$(r 3); mkdir -p "$d"; for k in $(seq 400); do echo "$k" > "$d/entry-with-a-longer-name-$RANDOM$k"; done; log "400 names in $d";;
    35) [ -d "$M/ext2_saved" ] && btrfs subvolume delete "$M/ext2_saved"; log "ext2_saved deleted";;
    36) [ "$devices" -gt 1 ] && { spare; btrfs device add -f "$l" "$M"; log "device add $l"; };;
    37) [ "$devices" -gt 1 ] && { btrfs device remove "$(pick $(btrfs filesystem show "$M" | awk '/devid/ {print $2}'))" "$M"; log "device remove"; };;
    38) [ "$devices" -gt 1 ] && { spare; btrfs replace start -B -f "$(pick $(btrfs filesystem show "$M" | awk '/devid/ {print $2}'))" "$l" "$M"; log "replace with $l"; };;
    33) f=$(newname); xfs_io -f -c "falloc 0 1M" -c "pwrite 65536 4096" "$f" && files+=("$f"); log "preallocated $f";;
  esac >/dev/null 2>&1
done

# A log tree the next mount would replay: fsyncs after the last commit, the image copied before
# another (the filesystem idle meanwhile: nothing else writes).
logged=0
if [ "$(r 3)" = 0 ]; then
  sync
  for _ in 1 2 3; do f=$(newname); head -c "$(pick 100 5000 200000)" /dev/urandom > "$f"; xfs_io -c fsync "$f"; files+=("$f"); done
  f=$(somefile) && xfs_io -c "pwrite -S 9 0 8192" -c fsync "$f"
  mapfile -t imgs < <(members); for i in "${!imgs[@]}"; do cp --sparse=always "${imgs[$i]}" "$W/logged.$i.img"; done
  logged=1; log "fsynced after the last commit, copied"
fi >/dev/null 2>&1
# Work in flight at the freeze: a paused balance, or subvolumes the cleaner is dropping. (Not a
# running replace: it copies and swaps devices outside the transactions a freeze holds back, so
# the copies would not be one moment's.)
case $(r 3) in
  0) btrfs balance start --bg --full-balance "$M"; sleep "0.$(r 10)"; btrfs balance pause "$M"; log "balance paused";;
  1) for s in "${subs[@]:1:2}"; do btrfs property set -f "$s" ro false; btrfs subvolume delete "$s"; log "deleted at the freeze $s"; done;;
esac >/dev/null 2>&1
sleep "0.$(r 10)"
mapfile -t imgs < <(members)
fsfreeze -f "$M" && for i in "${!imgs[@]}"; do cp --sparse=always "${imgs[$i]}" "$W/frozen.$i.img"; done
fsfreeze -u "$M"
exec 3<&-
mapfile -t imgs < <(members)
umount "$M" || { sleep 2; umount "$M"; }
release
for i in "${!imgs[@]}"; do mv "${imgs[$i]}" "$W/final.$i.img"; done
rm -f "${all_imgs[@]}"

check() { # STATE: the three checkers on the images of one state
  local state=$1 paths=() l=() o p n oc pc nc lm=
  # The devices that carry a superblock, as a user would give them.
  for i in "$W/$1".*.img; do [ "$(dd if="$i" bs=8 skip=8200 count=1 2>/dev/null)" = _BHRfS_M ] && paths+=("$i"); done
  o=$(timeout 600 "$ONDISK" check --check-data-csum --all-copies "${paths[@]}" 2>&1); oc=$?
  for i in "${paths[@]}"; do l+=("$(losetup -f --show "$i")"); done
  btrfs device scan "${l[@]}" >/dev/null 2>&1
  p=$(timeout 600 btrfs check --readonly --check-data-csum "${l[0]}" 2>&1); pc=$?
  n=$(timeout 600 "$NEW/bin/btrfs" check --readonly --check-data-csum "${l[0]}" 2>&1); nc=$?
  # ondisk dump against btrfs-progs 6.2's dump-tree, whose first line is its version banner.
  local dump
  diff <(timeout 600 btrfs inspect-internal dump-tree "${l[0]}" 2>&1 | tail -n +2) <(timeout 600 "$ONDISK" dump "${paths[@]}" 2>&1) > "$W/$state.dump-diff"
  dump=$(grep -c '^[<>]' "$W/$state.dump-diff")
  # Where the original mode fails, what lowmem mode says: the original mode fails silently
  # ("errors found in fs roots" alone) on orphan inodes in leaves a snapshot shares.
  [ $pc != 0 ] && { timeout 600 btrfs check --readonly --mode=lowmem "${l[0]}" >/dev/null 2>&1; lm=" lowmem62=$?"; }
  for x in "${l[@]}"; do losetup -d "$x"; done
  local totals; totals=$(tail -1 <<< "$o")
  echo "$seed $state ondisk=$oc progs62=$pc newer=$nc$lm dump-diff=$dump | $totals | $(grep -E '^[a-z]+\.[a-z_0-9]+ \((error|warning)' <<< "$o" | cut -d' ' -f1 | tr '\n' ' ')"
  if [ -z "${KEEP:-}" ] && [ $oc = 0 ] && [ $pc = 0 ] && [ $nc = 0 ] && [ "$dump" = 0 ] && [[ $totals == *" 0 warnings"* ]]; then
      rm -f "$W/$state".*.img "$W/$state.dump-diff"
  else
      echo "$o" > "$W/$state.ondisk"; echo "$p" > "$W/$state.progs62"; echo "$n" > "$W/$state.newer"
  fi
}
[ $logged = 1 ] && check logged
check frozen
check final
