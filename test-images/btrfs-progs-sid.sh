#!/bin/bash
# Unpacks Debian unstable's amd64 btrfs-progs (the newest packaged: 7.3 in November 2026) into DIR,
# with the libraries it runs on, for ONDISK_BTRFS_NEWER=DIR: DIR/bin/btrfs and
# DIR/sbin/mkfs.btrfs run it through unstable's own loader, so a stable release whose C library
# is older than the one it was built against can run it. Nothing is installed: apt works from a
# private state, and the machine's package lists stay as they were.
#
#   usage: test-images/btrfs-progs-sid.sh DIR
#
# Not used by CI (.ci/run unpacks bookworm-backports' build): unstable moves every day. The
# README says what the differential and the mkfs layouts found with it.
set -euo pipefail
dir=${1:?usage: btrfs-progs-sid.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
apt_dir=$(mktemp -d)
trap 'rm -rf "$apt_dir"' EXIT
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/deb"
echo "deb http://deb.debian.org/debian sid main" > "$apt_dir/sources.list"
apt_opts=(-qq -o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" -o APT::Sandbox::User=root
    -o Dir::State::Status=/dev/null)
apt-get "${apt_opts[@]}" update
# btrfs-progs and everything it depends on, down to the C library (virtual packages aside).
mapfile -t pkgs < <(apt-cache "${apt_opts[@]}" depends --recurse --no-recommends --no-suggests \
    --no-conflicts --no-breaks --no-replaces --no-enhances btrfs-progs | grep -v '^ \|<' | sort -u)
(cd "$apt_dir/deb" && apt-get "${apt_opts[@]}" download "${pkgs[@]}")
rm -rf "$dir/root"
mkdir -p "$dir/root" "$dir/bin" "$dir/sbin"
for deb in "$apt_dir"/deb/*.deb; do dpkg -x "$deb" "$dir/root"; done
lib=$dir/root/usr/lib/x86_64-linux-gnu
for tool in bin/btrfs sbin/mkfs.btrfs; do
    printf '#!/bin/sh\nexec %s/ld-linux-x86-64.so.2 --library-path %s %s/root/usr/%s "$@"\n' \
        "$lib" "$lib" "$dir" "$tool" > "$dir/$tool"
    chmod +x "$dir/$tool"
done
"$dir/bin/btrfs" --version
