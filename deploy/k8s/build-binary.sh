#!/usr/bin/env bash
# Builds the dataengine binary the container recipe ships: release, with the Swift runtime and Foundation linked
# statically (--static-swift-stdlib), so the image needs only Debian's libc, libstdc++, libgcc and the three C
# libraries (OpenBLAS, libjpeg-turbo, zstd). Used by the Dockerfile and by deploy/k8s/test.sh.
#   deploy/k8s/build-binary.sh [SCRATCH_PATH]      (default .build-static; prints the binary's path)
set -euo pipefail
cd "$(dirname "$0")/../.."
scratch=${1:-.build-static}
swift build -c release --product dataengine --static-swift-stdlib --scratch-path "$scratch" >&2
echo "$scratch/release/dataengine"
