#!/usr/bin/env python3
"""Copies a compact, representative subset of the SpikingJelly golden set into the repository.

    python3 tools/make_golden_subset.py [--source DIR] [--dest DIR]

Defaults: --source ../shared/golden/sj (relative to the repository root), --dest
tests/data/golden/sj. The unit tests run snn-golden on the subset, so it must stay small (well
under 2 MB) yet exercise every path of the tool and the kernels. Cases are picked greedily: each
step takes the case that covers the most features not yet covered (dtype/device/backend variant,
surrogate, surrogate x dtype, model x variant, reset kind, detach_reset, decay_input, tau,
threshold, shape, every comparison rule, multi-step coverage per variant), preferring small
shapes; the known_defect cases are always included. The selection is deterministic, so rerunning
the script reproduces the same files.

Only the standard library is used (json, shutil), so it runs anywhere python3 does.
"""

import argparse
import json
import os
import shutil
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def variant(case):
    return "%s/%s/%s" % (case["dtype"], case["device"], case["backend"])


def reset_kind(neuron):
    if neuron["v_reset"] is None:
        return "soft"
    return "hard %g" % neuron["v_reset"]


def elements(case):
    n = 1
    for d in case["shape"]:
        n *= d
    return n


def features(case):
    """What a case exercises; the subset covers the union of these over the whole set."""
    n = case["neuron"]
    model = n["model"]
    sur = n["surrogate"]["name"]
    v = variant(case)
    f = {
        ("variant", v),
        ("surrogate", sur),
        ("surrogate x dtype", sur, case["dtype"]),
        ("model x variant", model, v),
        ("reset", model, reset_kind(n)),
        ("detach_reset", model, n["detach_reset"]),
        ("decay_input", model, n["decay_input"]),
        ("tau", model, n["tau"]),
        ("v_threshold", n["v_threshold"]),
        ("shape", tuple(case["shape"])),
        ("policy", json.dumps(case["policy"], sort_keys=True)),
    }
    for output, rule in case["compare"].items():
        f.add(("rule", output, json.dumps(rule, sort_keys=True)))
    if case["shape"][0] > 1:  # a real time loop (BPTT through several steps) per variant
        f.add(("multi-step", v))
    return f


def select(cases):
    """Known defects first, then greedy set cover; ties go to the smaller case, then the name."""
    chosen = [c for c in cases if c.get("known_defect")]
    covered = set()
    for c in chosen:
        covered |= features(c)
    wanted = set()
    for c in cases:
        wanted |= features(c)
    remaining = [c for c in cases if not c.get("known_defect")]
    while covered != wanted:
        best = min(remaining, key=lambda c: (-len(features(c) - covered), elements(c), c["name"]))
        gain = features(best) - covered
        if not gain:
            break
        chosen.append(best)
        covered |= gain
        remaining.remove(best)
    return sorted(chosen, key=lambda c: c["name"])


def copy_case(case, source, dest):
    for table in ("inputs", "outputs"):
        for rel in case[table].values():
            target = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(os.path.join(source, rel), target)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=os.path.join(REPO, "..", "shared", "golden", "sj"))
    parser.add_argument("--dest", default=os.path.join(REPO, "tests", "data", "golden", "sj"))
    args = parser.parse_args()

    with open(os.path.join(args.source, "manifest.json")) as f:
        manifest = json.load(f)
    if manifest.get("format") != "snn-golden/1":
        sys.exit("make_golden_subset: %s: not an snn-golden/1 manifest" % args.source)

    chosen = select(manifest["cases"])
    if os.path.isdir(args.dest):
        shutil.rmtree(args.dest)  # no stale case folders from an earlier selection
    os.makedirs(args.dest)
    for case in chosen:
        copy_case(case, args.source, args.dest)

    subset = {
        "format": manifest["format"],
        "source": manifest["source"],
        "loss": manifest["loss"],
        "subset": ("%d of the %d cases of shared/golden/sj, picked by tools/make_golden_subset.py to cover "
                   "every variant, surrogate, model, reset, rule and the known defects; the cases keep "
                   "their names and files" % (len(chosen), len(manifest["cases"]))),
        "cases": chosen,
    }
    with open(os.path.join(args.dest, "manifest.json"), "w") as f:
        json.dump(subset, f, indent=1)
        f.write("\n")

    total = 0
    for root, _, files in os.walk(args.dest):
        total += sum(os.path.getsize(os.path.join(root, name)) for name in files)
    print("make_golden_subset: %d cases, %d bytes in %s" % (len(chosen), total, args.dest))


if __name__ == "__main__":
    main()
