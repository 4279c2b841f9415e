"""Wall time of the Brian2-backed comparisons (biodyn.compare) per code-generation target.

The biological learners of the comparisons are tiny networks (at most a few tens of synapses)
run for 10^4 - 10^5 time steps: the cost is per time step, not per synapse. This prints, for
each comparison at its default settings, the total wall time and the Brian2 part on the numpy
target and on cpp_standalone (first build in a fresh cache folder, then a second run that
reuses the compiled project), and checks that the targets give the same numbers.

Run:  python benchmarks/compare_targets.py [NAME ...]     (default: the three Brian2 comparisons)
Takes a few minutes (cpp_standalone compiles one project per comparison).
"""

import os
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("BIODYN_CACHE", tempfile.mkdtemp(prefix="biodyn_bench_cache_"))

from biodyn import build, compare  # noqa: E402

names = sys.argv[1:] or ["hebb_vs_delta", "bcm_vs_gradient", "oja_vs_backprop"]
targets = ["numpy"] + (["cpp_standalone", "cpp_standalone"] if build.has_compiler() else [])
print(f"biodyn {build.versions()['biodyn']}, brian2 {build.versions()['brian2']}, "
      f"{os.cpu_count()} cores; cache {os.environ['BIODYN_CACHE']}")
for name in names:
    results = []
    for k, target in enumerate(targets):
        t0 = time.perf_counter()
        r = compare.run(name, seed=0, target=target)
        total = time.perf_counter() - t0
        label = target + (" (warm)" if target == "cpp_standalone" and targets[:k].count(target) else "")
        steps = round(float(r.summary["settings"]["duration"].split()[0]) * 1000)  # dt = 1 ms defaults
        brian = r.summary["timings"].get("brian2") or float("nan")
        print(f"{name:<18} {label:<24} total {total:7.2f} s, Brian2 {brian:7.2f} s "
              f"({1e6 * brian / steps:6.1f} us per step, {steps} steps)")
        results.append(r)
    w = [np.asarray(r.series["w_bio"], float) for r in results]
    diff = max(float(np.max(np.abs(x - w[0]))) for x in w)
    print(f"{name:<18} largest weight difference between targets: {diff:.2e}")
