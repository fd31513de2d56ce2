#!/usr/bin/env python3
"""Copies a compact subset of the Lava / Loihi golden set into the repository.

    python3 tools/make_lava_golden_subset.py [--source DIR] [--dest DIR]

Defaults: --source ../shared/golden/lava, --dest tests/data/golden/lava. The cases below cover
every kind and variant of the set (each slayer rule edge case, the Lava LIF wrap, saturation and
bias cases, every Dense sign mode and the graded input, a conv NetX chain with its lava-dl
net.h5, bias + delay, both SpikingJelly variants); ctest runs snn-golden on them. Standard
library only; rerunning reproduces the same files.
"""

import argparse
import json
import os
import shutil

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = ["c005", "c008", "c011", "c013", "c014", "c015", "c017", "c018",  # slayer_cuba
         "c021", "c025", "c026", "c028", "c031",                          # lava_lif_bitacc
         "c032", "c034", "c035", "c036", "c038",                          # lava_dense_lif
         "c041", "c042", "c045",                                          # netx_chain
         "c046", "c047", "c049"]                                          # sj_cuba


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default=os.path.join(REPO, "..", "shared", "golden", "lava"))
    ap.add_argument("--dest", default=os.path.join(REPO, "tests", "data", "golden", "lava"))
    args = ap.parse_args()
    with open(os.path.join(args.source, "manifest.json")) as f:
        manifest = json.load(f)
    by_name = {c["name"]: c for c in manifest["cases"]}
    missing = [n for n in CASES if n not in by_name]
    if missing:
        raise SystemExit("cases not in the source manifest: %s" % missing)
    if os.path.isdir(args.dest):
        shutil.rmtree(args.dest)
    os.makedirs(args.dest)
    subset = dict(manifest)
    subset["cases"] = [by_name[n] for n in CASES]
    subset["subset_of"] = "shared/golden/lava (%d of %d cases, tools/make_lava_golden_subset.py)" % (len(CASES), len(manifest["cases"]))
    for name in CASES:
        shutil.copytree(os.path.join(args.source, name), os.path.join(args.dest, name))
    with open(os.path.join(args.dest, "manifest.json"), "w") as f:
        json.dump(subset, f, indent=1)
        f.write("\n")
    shutil.copy(os.path.join(args.source, "README.md"), os.path.join(args.dest, "README.md"))
    print("%d cases written to %s" % (len(CASES), args.dest))


if __name__ == "__main__":
    main()
