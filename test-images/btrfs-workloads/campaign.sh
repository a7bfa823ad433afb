#!/bin/bash
# Runs run.sh for seeds FROM..TO, half of them on one device and the others on two to four, and
# sums up what the three checkers said of each state.
#   usage: sudo test-images/btrfs-workloads/campaign.sh FROM TO [OPS]
set -u
from=${1:?usage: campaign.sh FROM TO [OPS]}; to=${2:?}; ops=${3:-300}
here=$(dirname "$0")
out=${WORK:-/tmp/ondisk-workloads}/campaign-$from-$to.txt
mkdir -p "$(dirname "$out")"; : > "$out"
for seed in $(seq "$from" "$to"); do
    devices=1
    (( seed % 2 )) && devices=$(( 2 + seed / 2 % 3 ))
    "$here/run.sh" "$seed" "$ops" "$devices" 2>/dev/null | tee -a "$out"
done
echo "states, by what the checkers said (ondisk's totals after the bar):"
sed 's/^[0-9]* [a-z]* //; s/, [0-9]* infos//' "$out" | sort | uniq -c | sort -rn
