#!/usr/bin/env bash
# UNet speed and memory against diffusers, measured in the same run on the same machine:
#   tools/bench_unet.sh [--latent 32|64] [--batch 2] [--runs 3] [--arch sd2-base|sd15]
# Runs `dataengine bench unet` (release build) and tools/bench_reference.py (PyTorch, CPU, float32), alternating
# the order is not needed: each is a separate process and peak RSS is per process. Prints both and the ratios
# (< 1: the engine is faster / smaller). PYTHON defaults to /root/venv-ref/bin/python.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/root/venv-ref/bin/python}
args=("$@")
[ -x .build/release/dataengine ] || swift build -c release
engine=$(.build/release/dataengine bench unet --json "${args[@]}")
reference=$("$PYTHON" tools/bench_reference.py "${args[@]}")
"$PYTHON" - "$engine" "$reference" <<'PY'
import json, sys
e, r = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"UNet {e['arch']}, latent {e['latent']}, batch {e['batch']}")
for name, x in (("dataengine", e), (r["engine"], r)):
    print(f"  {name:40s} {x['seconds_per_call']:8.3f} s/call (median {x['median_seconds_per_call']:.3f})  "
          f"peak RSS {x['peak_rss_bytes'] / 1e9:.2f} GB  {x['threads']} threads  load {x['load_average']}")
print(f"  time ratio (engine / diffusers): {e['seconds_per_call'] / r['seconds_per_call']:.3f}")
print(f"  peak RSS ratio (engine / diffusers): {e['peak_rss_bytes'] / r['peak_rss_bytes']:.3f}")
print(f"  engine GFLOP/s: {e['gflops']:.1f} ({e['gflop_per_call']:.0f} GFLOP per call)")
for k in e.get("kernels", []):
    print(f"    {k['kernel']:38s} {k['seconds']:7.3f} s {100 * k['share']:5.1f} %")
PY
