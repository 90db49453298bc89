#!/usr/bin/env bash
# Compare COCO instances loading: DataEngine's COCOReader vs pycocotools' COCO(path), on the same file, in
# the same run. Builds release, generates a synthetic train2017-scale file (or smaller), runs both, prints a
# table with both times, both peak RSS figures and the ratios.
#
# Usage: tools/bench_load.sh [--images N] [--annotations M] [--keep DIR] [--file PATH]
#   --keep DIR   keep the generated file in DIR (default: a temp dir, removed afterwards)
#   --file PATH  use an existing instances file (e.g. the real instances_train2017.json) instead
# Needs: swift, python3 with pycocotools (pip install pycocotools); ~2 GB free disk at full scale.
set -euo pipefail
cd "$(dirname "$0")/.."

images=118287
annotations=860001
keep=""
file=""
while [ $# -gt 0 ]; do
    case "$1" in
        --images) images="$2"; shift 2 ;;
        --annotations) annotations="$2"; shift 2 ;;
        --keep) keep="$2"; shift 2 ;;
        --file) file="$2"; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

python3 -c 'import pycocotools' 2>/dev/null || { echo "pycocotools is missing: pip install pycocotools" >&2; exit 3; }

echo "building release..." >&2
swift build -c release --product dataengine >&2
bin="$(swift build -c release --show-bin-path)/dataengine"
"$bin" bench load --help >/dev/null 2>&1 || {
    echo "this dataengine has no 'bench load' command: BenchLoadCommand must be registered under a 'bench' group" >&2
    exit 4
}

cleanup=""
if [ -n "$file" ]; then
    ours=$("$bin" bench load --file "$file" --json)
else
    dir="$keep"
    if [ -z "$dir" ]; then dir=$(mktemp -d); cleanup="$dir"; fi
    trap '[ -n "$cleanup" ] && rm -rf "$cleanup"' EXIT
    echo "generating and loading with dataengine ($images images, $annotations annotations)..." >&2
    ours=$("$bin" bench load --images "$images" --annotations "$annotations" --keep "$dir" --json)
fi
path=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["file"])' "$ours")
echo "loading with pycocotools..." >&2
ref=$(python3 tools/bench_load_reference.py "$path")

python3 - "$ours" "$ref" <<'PY'
import json, sys
ours, ref = json.loads(sys.argv[1]), json.loads(sys.argv[2])
mb = lambda b: f"{b / 1e6:,.0f} MB"
print(f"file: {ours['file']} ({mb(ours['file_bytes'])}, {ours['images']:,} images, {ours['annotations']:,} annotations)")
print(f"{'':24}{'dataengine':>14}{'pycocotools':>14}")
print(f"{'load time':24}{ours['seconds']:>12.2f} s{ref['seconds']:>12.2f} s")
print(f"{'images/s':24}{ours['images_per_second']:>14,.0f}{ref['images_per_second']:>14,.0f}")
print(f"{'peak RSS':24}{mb(ours['peak_rss_bytes']):>14}{mb(ref['peak_rss_bytes']):>14}")
print(f"{'peak RSS / file size':24}{ours['peak_rss_over_file_size']:>14.2f}{ref['peak_rss_over_file_size']:>14.2f}")
print(f"time ratio dataengine / pycocotools: {ours['seconds'] / ref['seconds']:.3f} "
      f"({ref['seconds'] / ours['seconds']:.1f}x faster)")
print(f"dataengine RSS before load: {mb(ours['rss_before_bytes'])}; peak reset before load: {ours['peak_reset_before_load']}")
if ours["annotations"] != ref["annotations"] or ours["images"] != ref["images"]:
    print(f"WARNING: counts differ (pycocotools: {ref['images']} images, {ref['annotations']} annotations; "
          f"dataengine dropped or skipped some: {ours['issues']} issues)")
PY
