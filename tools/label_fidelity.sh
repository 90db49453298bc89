#!/usr/bin/env bash
# Label fidelity of generated images (issue 8): for encode ratios 0.3, 0.5, 0.7, generate one variant of each
# image of a COCO split with a model folder (its adapter labels them, no δ filter so AP sees the whole ranking),
# and score the labels with `dataengine eval` against the reference boxes moved into each crop. Beside it, the
# adapter's own detection-only AP on the same images (`dataengine detect`). Prints a table.
#
# Usage: tools/label_fidelity.sh [--model models/demo] [--split val] [--size 128] [--steps 30] [--work /tmp/fidelity]
set -euo pipefail
cd "$(dirname "$0")/.."
model=models/demo split=val size=128 steps=30 work=/tmp/fidelity ratios="0.3 0.5 0.7"
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;; --split) split=$2; shift 2 ;; --size) size=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;; --work) work=$2; shift 2 ;; --ratios) ratios=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bin=.build/release/dataengine
[ -x "$bin" ] || swift build -c release
root=$(pwd) demo=$(pwd)/data/demo/coco
rm -rf "$work"; mkdir -p "$work"
gt=$demo/annotations/instances_$split.json
"$bin" detect --model "$model" --gt "$gt" --images "$demo/$split" --out "$work/detect.json" 2>/dev/null
det=$("$bin" eval --gt "$gt" --pred "$work/detect.json" --json "$work/detect-eval.json" | sed -n 2,3p | awk '{print $NF}' | paste -sd' ')
echo "| encode ratio | AP50 of labels | AP of labels | AP50 / detection-only AP50 |"
echo "|---|---|---|---|"
for ratio in $ratios; do
  cat > "$work/p-$ratio.yaml" <<YAML
seed: 0
batch_size: 8
source:
  format: coco
  instances: $gt
  captions: $demo/annotations/captions_$split.json
  images: $demo/$split
stages:
  - kind: generate
    model: $root/$model
    variants: 1
    encode_ratio: $ratio
    steps: $steps
    size: $size
  - kind: label
  - id: out
    kind: write
YAML
  "$bin" run "$work/p-$ratio.yaml" --run-dir "$work/run-$ratio" >/dev/null 2>&1
  out=$work/run-$ratio/output/out/annotations
  read -r ap ap50 < <("$bin" eval --gt "$out/reference_boxes_out.json" --pred "$out/instances_out.json" 2>/dev/null | sed -n 2,3p | awk '{print $NF}' | paste -sd' ')
  read -r _ det50 <<< "$det"
  echo "| $ratio | $ap50 | $ap | $(awk -v a="$ap50" -v b="$det50" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') |"
done
echo
echo "detection-only on the real images: AP $(echo "$det" | cut -d' ' -f1), AP50 $(echo "$det" | cut -d' ' -f2)"
