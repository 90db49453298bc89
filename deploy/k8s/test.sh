#!/usr/bin/env bash
# The container recipe's binary needs nothing but Debian's libc, libm, libstdc++, libgcc and the three C
# libraries (run by tools/test.sh, so by CI): builds it as the Dockerfile does (build-binary.sh) and checks
# `ldd`. Libraries that OpenBLAS itself pulls in (libgfortran, libquadmath) come with Debian's libopenblas0.
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$(date +%s)
binary=$(deploy/k8s/build-binary.sh)
ldd "$binary" | tee /tmp/dataengine-ldd.txt
direct=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
echo "needed: $(echo $direct)"
allowed='^(libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libopenblas\.so\.0|libjpeg\.so\.62|libzstd\.so\.1|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libutil\.so\.1|ld-linux-x86-64\.so\.2)$'
bad=$(echo "$direct" | grep -Ev "$allowed" || true)
[ -z "$bad" ] || { echo "FAIL: $binary needs libraries the image does not ship: $bad" >&2; exit 1; }
grep -q "libswiftCore\|libFoundation" /tmp/dataengine-ldd.txt && { echo "FAIL: the Swift runtime is linked dynamically" >&2; exit 1; }
grep -q "not found" /tmp/dataengine-ldd.txt && { echo "FAIL: ldd finds libraries missing" >&2; exit 1; }
"$binary" --version
# the smoke run the image offers, with this binary
smoke=$(mktemp -d /tmp/dataengine-static-XXXXXX)
trap 'rm -rf "$smoke"' EXIT
"$binary" run pipelines/demo-filter.yaml --run-dir "$smoke/run" > "$smoke/log" 2>&1 || { cat "$smoke/log"; echo "FAIL: the static binary's smoke run failed" >&2; exit 1; }
tail -3 "$smoke/log"
echo "static binary check passed in $(( $(date +%s) - started )) s"
