#!/usr/bin/env bash
# The Slurm test (run by tools/test.sh, so by CI): on a single-node cluster started here (local-cluster.sh), a
# limited demo pipeline runs as a 3-task array plus the merge job (submit.sh); the merged output must equal an
# unsharded run's, byte for byte. Then a second array is submitted with slowed units, one task is cancelled
# part-way (scancel), the merge job must refuse naming that shard, the index is resubmitted with a new merge,
# and the result must again equal the unsharded run. Last, a pipeline with a quota stage loops (the merge job
# plans each round and submits the array and itself again) and must equal its unsharded run. Fails (never skips)
# when Slurm is missing.
#   deploy/slurm/test.sh [DATAENGINE_BINARY]     (default .build/release/dataengine)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
binary=$(cd "$(dirname "${1:-$repo/.build/release/dataengine}")" && pwd)/$(basename "${1:-dataengine}")
[ -x "$binary" ] || { echo "FAIL: no dataengine binary at $binary (build it: swift build -c release)" >&2; exit 1; }
for tool in sbatch scontrol scancel munged slurmctld slurmd; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing: the Slurm test needs Debian's slurm-wlm and munge (tools/install-test-packages.sh)" >&2; exit 1; }
done
started=$(date +%s)
work=$(mktemp -d /tmp/dataengine-slurm-XXXXXX)
cluster=$work/cluster
cleanup() { "$repo/deploy/slurm/local-cluster.sh" stop "$cluster" || true; [ "${KEEP:-0}" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT
"$repo/deploy/slurm/local-cluster.sh" start "$cluster"
export SLURM_CONF=$cluster/slurm.conf DATAENGINE=$binary
fail() { echo "FAIL: $*" >&2; exit 1; }

# The demo pipeline on 24 references, batches of 4: absolute paths, so every node reads the same files.
sed -e "s#\.\./#$repo/#g" -e 's/^batch_size: 8/batch_size: 4/' \
    -e "s#^  images: $repo/data/demo/coco/train\$#&\n  limit: 24#" "$repo/pipelines/demo.yaml" > "$work/demo-24.yaml"
grep -q '^  limit: 24$' "$work/demo-24.yaml" || fail "could not limit the demo pipeline"
"$binary" run "$work/demo-24.yaml" --run-dir "$work/whole" > "$work/whole.log" 2>&1 || { cat "$work/whole.log"; fail "the unsharded run failed"; }

# Waits for a job (all its array tasks) to leave the queue, at most 10 minutes; prints its final state.
wait_job() {
  local job=$1 deadline=$(( $(date +%s) + 600 ))
  while squeue -h -j "$job" 2>/dev/null | grep -q .; do
    [ "$(date +%s)" -lt "$deadline" ] || { scancel "$job"; fail "job $job still queued or running after 10 minutes"; }
    sleep 1
  done
  scontrol show job "$job" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | sort -u | tr '\n' ' '
}
same_as_whole() { diff -r "$1" "$work/whole/output" > "$work/diff.txt" || { head -20 "$work/diff.txt"; fail "$1 differs from the unsharded run"; }; }

# 1. A 3-task array and its merge job.
read -r array merge < <("$repo/deploy/slurm/submit.sh" "$work/demo-24.yaml" "$work/root" 3 "$work/merged" -- --cpus-per-task=1 --mem=1G)
echo "array $array: $(wait_job "$array")"
echo "merge $merge: $(wait_job "$merge")"
cat "$work/root/logs/merge-job-$merge.out"
same_as_whole "$work/merged"
echo "ok: 3-task array + merge == unsharded run"

# 2. Slowed units; cancel task 1 once it has committed a unit, before it finishes.
read -r array merge < <(DATAENGINE_UNIT_DELAY_MS=700 "$repo/deploy/slurm/submit.sh" "$work/demo-24.yaml" "$work/root2" 3 "$work/merged2" -- --cpus-per-task=1 --mem=1G)
shard1=$work/root2/shard-00001-of-00003
deadline=$(( $(date +%s) + 600 ))
until ls "$shard1/checkpoints/filter/" 2>/dev/null | grep -q batch; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "task 1 committed nothing in 10 minutes"
  sleep 0.2
done
scancel "${array}_1"
echo "array $array (task 1 cancelled): $(wait_job "$array")"
echo "merge $merge: $(wait_job "$merge")"
[ -f "$shard1/report.json" ] && fail "task 1 finished before it was cancelled: slow its units more"
grep -q "shard 1/3 is unfinished" "$work/root2/logs/merge-job-$merge.out" || { cat "$work/root2/logs/merge-job-$merge.out"; fail "the merge did not name the cancelled shard"; }
[ -e "$work/merged2" ] && fail "a refused merge wrote its output"
read -r array merge < <("$repo/deploy/slurm/submit.sh" "$work/demo-24.yaml" "$work/root2" 3 "$work/merged2" 1 -- --cpus-per-task=1 --mem=1G)
echo "array $array (index 1 again): $(wait_job "$array")"
echo "merge $merge: $(wait_job "$merge")"
same_as_whole "$work/merged2"
echo "ok: cancelled task resubmitted, merge == unsharded run"

# 3. A quota stage: the merge job plans each round (exit 3) and submits the array and itself again until the
#    rounds end; the final merge == the unsharded run.
sed -e "s#\.\./#$repo/#g" -e 's/^batch_size: 8/batch_size: 3/' -e 's/^    variants: 2$/    variants: 1/' \
    -e 's/^    threshold: adapter .*/    threshold: 0.3/' -e 's/^    input: confidence$/    input: quota/' \
    -e "s#^  images: $repo/data/demo/coco/train\$#&\n  limit: 12#" \
    -e 's/^  - id: demo_de$/  - id: quota\n    kind: quota\n    min_instances_per_category: 20\n  - id: demo_de/' \
    "$repo/pipelines/demo.yaml" > "$work/quota.yaml"
grep -q 'kind: quota' "$work/quota.yaml" && grep -q 'input: quota' "$work/quota.yaml" || fail "could not add a quota stage to the demo pipeline"
"$binary" run "$work/quota.yaml" --run-dir "$work/whole-quota" > "$work/whole-quota.log" 2>&1 || { cat "$work/whole-quota.log"; fail "the unsharded quota run failed"; }
read -r array merge < <("$repo/deploy/slurm/submit.sh" "$work/quota.yaml" "$work/root3" 3 "$work/merged3" -- --cpus-per-task=1 --mem=1G)
deadline=$(( $(date +%s) + 600 ))
while [ ! -d "$work/merged3" ]; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "the quota rounds did not end in a merge within 10 minutes"
  if ! squeue -h 2>/dev/null | grep -q .; then sleep 2; [ -d "$work/merged3" ] && break; tail -5 "$work"/root3/logs/merge-job-*.out; fail "the quota job chain stopped without a merged output"; fi
  sleep 1
done
rounds=$(grep -l "of stage \`quota\` is planned" "$work"/root3/logs/merge-job-*.out | wc -l)
[ "$rounds" -ge 2 ] || fail "expected at least 2 planned quota rounds, saw $rounds"
diff -r "$work/merged3" "$work/whole-quota/output" > "$work/diff.txt" || { head -20 "$work/diff.txt"; fail "the quota merge differs from the unsharded run"; }
echo "ok: quota stage across shards ($rounds rounds planned by merge jobs) == unsharded run"
echo "slurm test passed in $(( $(date +%s) - started )) s"
