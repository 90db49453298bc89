#!/usr/bin/env bash
# Submits a sharded DataEngine run and its merge to Slurm:
#   deploy/slurm/submit.sh PIPELINE RUN_ROOT SHARDS OUT [INDICES] [-- more sbatch options for the array]
# INDICES (default 0-(SHARDS-1)) resubmits some shards, e.g. "3,17". Logs go to RUN_ROOT/logs/. Prints the array
# and merge job ids ("ARRAY MERGE"). With a quota stage the merge job submits the array and itself again after
# each quota round it plans (merge exits 3), until the rounds end. PIPELINE, RUN_ROOT and OUT must be on storage every node sees; set DATAENGINE
# to the binary's path if it is not on the nodes' PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage="usage: submit.sh PIPELINE RUN_ROOT SHARDS OUT [INDICES] [-- sbatch options]"
pipeline=${1:?$usage}; root=${2:?$usage}; shards=${3:?$usage}; out=${4:?$usage}
shift 4
indices=0-$((shards - 1))
if [ $# -gt 0 ] && [ "$1" != -- ]; then indices=$1; shift; fi
[ $# -gt 0 ] && [ "$1" = -- ] && shift
absolute() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
pipeline=$(absolute "$pipeline"); root=$(absolute "$root"); out=$(absolute "$out")
mkdir -p "$root/logs"
# the array's sbatch options, for the merge job to submit the array again after a quota round
if [ $# -gt 0 ]; then printf '%s\n' "$@"; fi > "$root/logs/array-options"
array=$(sbatch --parsable --array="$indices" --output="$root/logs/shard-%a-job-%A.out" \
  --export=ALL,PIPELINE="$pipeline",RUN_ROOT="$root",DATAENGINE_SHARD_COUNT="$shards" "$@" "$here/dataengine.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable --dependency=afterany:"$array" --output="$root/logs/merge-job-%j.out" \
  --export=ALL,RUN_ROOT="$root",OUT="$out",PIPELINE="$pipeline",DATAENGINE_SHARD_COUNT="$shards",DATAENGINE_SUBMIT="$here/submit.sh" \
  "$here/merge.sbatch")
echo "$array ${merge%%;*}"
