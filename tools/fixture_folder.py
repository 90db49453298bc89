"""The command line shared by the fixture builders of issue 17 (make_euler_fixtures.py, make_taesd_fixtures.py):
write the folder afresh, or with --check rebuild it in a temporary folder and compare every file byte for byte."""
import argparse
import filecmp
import os
import shutil
import sys
import tempfile


def files_under(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)


def main(doc, default_out, build):
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="rebuild in a temporary folder and compare (writes nothing)")
    parser.add_argument("--out", default=default_out)
    args = parser.parse_args()
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            build(tmp)
            names = files_under(tmp)
            _, mismatch, errors = filecmp.cmpfiles(args.out, tmp, names, shallow=False)
            extra = sorted(set(files_under(args.out)) - set(names))
            if mismatch or errors or extra:
                print("differs:", mismatch + errors + extra)
                sys.exit(1)
            print("identical")
        return
    shutil.rmtree(args.out, ignore_errors=True)
    build(args.out)
    print("wrote", os.path.normpath(args.out))
