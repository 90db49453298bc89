#!/usr/bin/env python3
"""Time pycocotools' COCO(FILE) (json.load + index) and report its peak memory, as JSON on stdout.

Usage: tools/bench_load_reference.py FILE
Needs pycocotools (pip install pycocotools). pycocotools' own progress lines go to stderr.
"""
import contextlib
import json
import os
import resource
import sys
import time


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path = sys.argv[1]
    try:
        from pycocotools.coco import COCO
    except ImportError:
        print("pycocotools is not installed: pip install pycocotools", file=sys.stderr)
        return 3
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        coco = COCO(path)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    file_bytes = os.path.getsize(path)
    print(json.dumps({
        "file": path,
        "file_bytes": file_bytes,
        "images": len(coco.imgs),
        "annotations": len(coco.anns),
        "categories": len(coco.cats),
        "seconds": seconds,
        "images_per_second": len(coco.imgs) / seconds if seconds > 0 else 0,
        "peak_rss_before_bytes": rss_before,
        "peak_rss_bytes": peak,
        "peak_rss_over_file_size": peak / file_bytes if file_bytes else 0,
    }, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
