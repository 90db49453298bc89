#!/usr/bin/env bash
# Fuzz one parser of outside input with libFuzzer (issue 19): tools/fuzz.sh TARGET SECONDS [libFuzzer options]
# Targets: coco-instances coco-captions coco-results voc-xml pipeline-yaml safetensors-header shard-index jpeg
#          model-config clip-tokenizer clip-tokenizer-folder. Builds Fuzz/ (a separate package; never built by `swift build` or CI) with
#          -sanitize=fuzzer,address into .build-fuzz, seeds the corpus from the test fixtures, runs for SECONDS and
#          keeps the corpus in Fuzz/corpus/TARGET and crash inputs in Fuzz/crashes/TARGET (both ignored by git;
#          replay a crash as an XCTest case, then delete it). Run it from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: tools/fuzz.sh TARGET SECONDS}
seconds=${2:?usage: tools/fuzz.sh TARGET SECONDS}
shift 2
# FUZZ_SKIP_BUILD=1 runs the fuzzer built last (tools/fuzz_campaign.sh builds once, so later source edits
# cannot break a long campaign half-way).
if [ "${FUZZ_SKIP_BUILD:-0}" != 1 ]; then
  swift build --package-path Fuzz --scratch-path .build-fuzz -c debug \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >&2
fi
binary=.build-fuzz/debug/DataEngineFuzz
corpus=Fuzz/corpus/$target
crashes=Fuzz/crashes/$target
mkdir -p "$corpus" "$crashes"
seed() { for f in "$@"; do [ -f "$f" ] && cp -n "$f" "$corpus/seed-$(basename "$(dirname "$f")")-$(basename "$f")" 2>/dev/null || true; done; }
case $target in
  coco-instances) seed Tests/DatasetsTests/Fixtures/coco/*.json data/demo/coco/annotations/instances_val.json ;;
  coco-captions) seed data/demo/coco/annotations/captions_val.json ;;
  coco-results) seed Tests/EvaluationTests/Fixtures/eval/*/results.json ;;
  voc-xml) seed Tests/DatasetsTests/Fixtures/voc/VOCdevkit/*/Annotations/*.xml data/demo/VOCdevkit/VOC2007/Annotations/00000[1-5].xml ;;
  pipeline-yaml) seed pipelines/*.yaml ;;
  safetensors-header) seed Tests/TensorsTests/Fixtures/safetensors/*.safetensors ;;
  shard-index) seed Tests/TensorsTests/Fixtures/safetensors/*.json Tests/DiffusionTests/Fixtures/model-folder/*/*/*.index*.json ;;
  jpeg) seed Tests/ImagingTests/Fixtures/*.jpg ;;
  clip-tokenizer)
    # every string of the tokenizer reference fixture, one seed each
    python3 -c 'import json, sys
for i, s in enumerate(json.load(open(sys.argv[1]))["strings"]): open(f"{sys.argv[2]}/seed-string-{i:04d}", "w").write(s)' \
      Tests/DiffusionTests/Fixtures/tokenizer/expected_ids.json "$corpus" ;;
  clip-tokenizer-folder)
    # a folder's files joined by the bytes FF 00 FF, in the order vocab, merges, tokenizer_config, special_tokens_map
    for dir in models/demo/tokenizer Tests/DiffusionTests/Fixtures/parity/*/tokenizer; do
      out="$corpus/seed-$(echo "$dir" | tr / -)"
      [ -f "$out" ] && continue
      for name in vocab.json merges.txt tokenizer_config.json special_tokens_map.json; do
        cat "$dir/$name" 2>/dev/null || true; printf '\xff\x00\xff'
      done > "$out"
    done ;;
  model-config) seed Tests/DiffusionTests/Fixtures/parity/*/*/config.json models/demo/*/config.json ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac
export DATAENGINE_FUZZ_TARGET=$target
ASAN_OPTIONS=detect_leaks=0 "$binary" "$corpus" -artifact_prefix="$crashes/" -max_total_time="$seconds" -max_len=65536 \
  -timeout=10 -print_final_stats=1 "$@"
