#!/usr/bin/env bash
# The whole demo model recipe (issue 16), resumable: rerun the same command after a stop and every step continues
# from its checkpoint or is skipped when done.
#   1. tools/train_demo_model.py: data (the first 500 images of demo seed 0 = the trainability benchmark's a),
#      tokenizer, VAE, latents, UNet + text encoder, export to OUT (without an adapter)
#   2. tools/train_adapter.py on the same 500 images (teacher independence), no VAE encoder tap (so `final-latent`
#      labels work too), half the images replaced by their VAE reconstructions; validated on the 200 seed-0 val
#      images (never the benchmark's held-out seed-1 set)
#   3. tools/calibrate_adapter.py on those val images: the adapter's label threshold (`threshold: adapter`)
# Nothing is copied into models/demo: ship OUT there by hand once the trainability benchmark favours it
# (docs/trainability.md).
#
# Usage: tools/train_demo_all.sh [WORK (default /work/demo-v2)] [OUT (default WORK/model)]
# Environment: UNET_ITERS (3000), ADAPTER_ITERS (4000), GENERATED_PROB (0: train_adapter.py --generated-prob, the
# share of training images replaced by generated variants; ship that adapter only if it labels generated images
# better), GENERATED_RATIOS ("0.2 0.4": the encode ratios of those variants), UNLABELLED_IMAGES (0: captioned images
# after the labelled 500 that the VAE, UNet and text encoder also learn from, boxes never read), THREADS (2),
# PYTHON (/root/venv-ref/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/work/demo-v2}
out=${2:-$work/model}
py=${PYTHON:-/root/venv-ref/bin/python}
threads=${THREADS:-2}
data=$work/data/coco

for stage in data tokenizer vae latents unet; do
  extra=()
  [ "$stage" = unet ] && extra=(--unet-iters "${UNET_ITERS:-3000}")
  "$py" tools/train_demo_model.py --work "$work" --out "$out" --stage "$stage" --threads "$threads" \
    --unlabelled-images "${UNLABELLED_IMAGES:-0}" "${extra[@]}"
done
if [ ! -f "$work/export.done" ]; then
  "$py" tools/train_demo_model.py --work "$work" --out "$out" --stage export --threads "$threads" \
    --unlabelled-images "${UNLABELLED_IMAGES:-0}"
  touch "$work/export.done"
fi
if [ ! -f "$out/adapter/config.json" ]; then
  "$py" tools/train_adapter.py --model "$out" --instances "$data/annotations/instances_train.json" --images "$data/train" \
    --val-instances "$data/annotations/instances_val.json" --val-images "$data/val" --channels 128 --tower-convs 4 \
    --recon-prob 0.5 --iters "${ADAPTER_ITERS:-4000}" --batch 8 --threads "$threads" --work "$work/adapter-train" \
    --captions "$data/annotations/captions_train.json" --generated-prob "${GENERATED_PROB:-0}" \
    --generated-ratios ${GENERATED_RATIOS:-0.2 0.4} \
    --log "$work/adapter_training_log.txt"
  cp "$work/adapter_training_log.txt" "$out/adapter_training_log.txt"
fi
if ! grep -q '"calibration"' "$out/adapter/config.json"; then
  [ -x .build/release/dataengine ] || swift build -c release
  python3 tools/calibrate_adapter.py --model "$out" --instances "$data/annotations/instances_val.json" \
    --images "$data/val" --size 128 --work "$work/calibrate" | tee "$work/calibration.txt"
fi
echo "done: $out (adapter calibrated); next: the demo run and tools/trainability.py (docs/trainability.md)"
