#!/usr/bin/env bash
# The README's test command (and CI's, through .ci/run): installs the test packages if needed, runs the Swift
# tests (release build, as the engine's numeric tests need), then the Slurm test on a single-node cluster it
# starts and stops itself, and the container recipe's static binary (deploy/k8s/test.sh). Prints the time of each test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-test-packages.sh
start=$(date +%s)
swift test -c release -Xswiftc -enable-testing 2>&1 | tee /tmp/dataengine-test.log
echo "--- time per test suite"
grep -E "^Test Suite '.*' (passed|failed)" -A1 /tmp/dataengine-test.log | grep -oE "Test Suite '[^']+'|Executed .*" | paste - - | grep -v "All tests\|\.xctest" || true
swift_done=$(date +%s)
echo "--- Slurm test"
deploy/slurm/test.sh .build/release/dataengine
slurm_done=$(date +%s)
echo "--- container binary test"
deploy/k8s/test.sh
echo "--- total: $(( $(date +%s) - start )) s (Swift tests $(( swift_done - start )) s, Slurm test $(( slurm_done - swift_done )) s, container binary $(( $(date +%s) - slurm_done )) s)"
