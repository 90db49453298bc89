#!/usr/bin/env bash
# Label fidelity of generated images (issue 8): for encode ratios 0.3, 0.5, 0.7, generate one variant of each
# image of a COCO split with a model folder (its adapter labels them, no δ filter so AP sees the whole ranking),
# and score the labels with `dataengine eval` against the reference boxes moved into each crop. Beside it, the
# adapter's own detection-only AP on the same images (`dataengine detect`), and its detection-only AP50 on the
# generated images themselves (same reference boxes). Prints a table.
#
# Usage: tools/label_fidelity.sh [--model models/demo] [--split val] [--size 128] [--steps 30] [--work /tmp/fidelity]
#        [--ratios "0.3 0.5 0.7"] [--data data/demo/coco]  (--data: another COCO folder with annotations/ and SPLIT/,
#        e.g. the 200 held-out val images of `tools/train_demo_model.py --stage data`)
set -euo pipefail
cd "$(dirname "$0")/.."
model=models/demo split=val size=128 steps=30 work=/tmp/fidelity ratios="0.3 0.5 0.7" data=data/demo/coco
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;; --split) split=$2; shift 2 ;; --size) size=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;; --work) work=$2; shift 2 ;; --ratios) ratios=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bin=.build/release/dataengine
[ -x "$bin" ] || swift build -c release
root=$(pwd)
case "$data" in /*) demo=$data ;; *) demo=$root/$data ;; esac
case "$model" in /*) model_path=$model ;; *) model_path=$root/$model ;; esac
rm -rf "$work"; mkdir -p "$work"
gt=$demo/annotations/instances_$split.json
"$bin" detect --model "$model" --gt "$gt" --images "$demo/$split" --out "$work/detect.json" 2>/dev/null
det=$("$bin" eval --gt "$gt" --pred "$work/detect.json" --json "$work/detect-eval.json" | sed -n 2,3p | awk '{print $NF}' | paste -sd' ')
echo "| encode ratio | AP50 of labels | AP of labels | AP50 / detection-only AP50 | detection-only AP50 on the generated images |"
echo "|---|---|---|---|---|"
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
    model: $model_path
    variants: 1
    encode_ratio: $ratio
    steps: $steps
    size: $size
  - kind: label
  - id: out
    kind: write
YAML
  "$bin" run "$work/p-$ratio.yaml" --run-dir "$work/run-$ratio" >"$work/run-$ratio.log" 2>&1 \
    || { echo "the run at ratio $ratio failed:" >&2; tail -5 "$work/run-$ratio.log" >&2; exit 1; }
  out=$work/run-$ratio/output/out/annotations
  read -r ap ap50 < <("$bin" eval --gt "$out/reference_boxes_out.json" --pred "$out/instances_out.json" 2>/dev/null | sed -n 2,3p | awk '{print $NF}' | paste -sd' ')
  read -r _ det50 <<< "$det"
  # The same generated images read afresh (detection-only: empty prompt, t_det), against the same boxes: how much
  # of the gap is the generation moving objects rather than the last step's taps.
  "$bin" detect --model "$model" --gt "$out/reference_boxes_out.json" --images "$work/run-$ratio/output/out/images" \
    --out "$work/detect-generated-$ratio.json" 2>/dev/null
  gen50=$("$bin" eval --gt "$out/reference_boxes_out.json" --pred "$work/detect-generated-$ratio.json" 2>/dev/null | sed -n 3p | awk '{print $NF}')
  echo "| $ratio | $ap50 | $ap | $(awk -v a="$ap50" -v b="$det50" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') | $gen50 |"
done
echo
echo "detection-only on the real images: AP $(echo "$det" | cut -d' ' -f1), AP50 $(echo "$det" | cut -d' ' -f2)"
