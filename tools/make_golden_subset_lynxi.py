#!/usr/bin/env python3
"""Copies a compact, representative subset of the Lynxi golden set into the repository.

    python3 tools/make_golden_subset_lynxi.py [--source DIR] [--dest DIR]

Defaults: --source ../shared/golden/lynxi (relative to the repository root), --dest
tests/data/golden/lynxi. ctest runs snn-golden on the subset (scalar, SIMD and, on a GPU
machine, CUDA), so it must stay small. Cases are picked greedily (most uncovered features
first, then the smaller case, then the name): every kind on every device, every output mode and
analog point/activation, every distinct parameter set, every divisor T, and per kind a case with
exact threshold ties, subnormal or non-finite values. Deterministic; standard library only.
"""

import argparse
import json
import os
import shutil
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def elements(case):
    n = 1
    for d in case["shape"]:
        n *= d
    return n


def param_key(params):
    """The parameters as the kernels see them (binary16 bits or given values), descriptions dropped."""
    key = {}
    for name, value in params.items():
        if isinstance(value, dict):
            key[name] = value.get("f16_bits", value.get("given"))
        else:
            key[name] = value
    return json.dumps(key, sort_keys=True)


def features(case):
    kind, device, params = case["kind"], case["device"], case["params"]
    f = {("kind x device", kind, device), ("params", kind, param_key(params))}
    if "mode" in params:
        f.add(("output", kind, params["mode"], json.dumps(params.get("memb_mode"))))
    if "T_div" in params:
        f.add(("T", kind, json.dumps(params["T_div"].get("given"))))
    stats = case.get("stats", {})
    for name, value in stats.items():
        if value and (name.startswith("n_subnormal") or name.startswith("n_inf") or name.startswith("n_nan")
                      or name == "n_v_pre_equal_threshold"):
            f.add(("stat", kind, name))
    return f


def select(cases):
    covered, wanted, chosen = set(), set(), []
    for c in cases:
        wanted |= features(c)
    remaining = list(cases)
    while covered != wanted:
        best = min(remaining, key=lambda c: (-len(features(c) - covered), elements(c), c["name"]))
        gain = features(best) - covered
        if not gain:
            break
        chosen.append(best)
        covered |= gain
        remaining.remove(best)
    return sorted(chosen, key=lambda c: c["name"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=os.path.join(REPO, "..", "shared", "golden", "lynxi"))
    parser.add_argument("--dest", default=os.path.join(REPO, "tests", "data", "golden", "lynxi"))
    args = parser.parse_args()

    with open(os.path.join(args.source, "manifest.json")) as f:
        manifest = json.load(f)
    if manifest.get("format") != "snn-golden/1":
        sys.exit("make_golden_subset_lynxi: %s: not an snn-golden/1 manifest" % args.source)

    chosen = select(manifest["cases"])
    if os.path.isdir(args.dest):
        shutil.rmtree(args.dest)
    os.makedirs(args.dest)
    for case in chosen:
        for table in ("inputs", "outputs"):
            for rel in case[table].values():
                target = os.path.join(args.dest, rel)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(os.path.join(args.source, rel), target)

    subset = {
        "format": manifest["format"],
        "source": manifest["source"],
        "conventions": manifest["conventions"],
        "subset": ("%d of the %d cases of shared/golden/lynxi, picked by tools/make_golden_subset_lynxi.py to "
                   "cover every kind, device, output mode, parameter set and divisor; the cases keep their "
                   "names and files" % (len(chosen), len(manifest["cases"]))),
        "cases": chosen,
    }
    with open(os.path.join(args.dest, "manifest.json"), "w") as f:
        json.dump(subset, f, indent=1)
        f.write("\n")
    total = 0
    for root, _, files in os.walk(args.dest):
        total += sum(os.path.getsize(os.path.join(root, name)) for name in files)
    print("make_golden_subset_lynxi: %d cases, %d bytes in %s" % (len(chosen), total, args.dest))


if __name__ == "__main__":
    main()
