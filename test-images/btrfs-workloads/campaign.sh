#!/bin/bash
# Runs run.sh for seeds FROM..TO, one device and two in turn, and sums up what the three
# checkers said of each state.
#   usage: sudo test-images/btrfs-workloads/campaign.sh FROM TO [OPS]
set -u
from=${1:?usage: campaign.sh FROM TO [OPS]}; to=${2:?}; ops=${3:-300}
here=$(dirname "$0")
out=${WORK:-/tmp/ondisk-workloads}/campaign-$from-$to.txt
mkdir -p "$(dirname "$out")"; : > "$out"
for seed in $(seq "$from" "$to"); do
    "$here/run.sh" "$seed" "$ops" $(( seed % 2 + 1 )) 2>/dev/null | tee -a "$out"
done
echo "states, by what the checkers said (ondisk's totals after the bar):"
sed 's/^[0-9]* [a-z]* //; s/, [0-9]* infos//' "$out" | sort | uniq -c | sort -rn
