"""Benchmark: the flow analysis (biodyn analyze flow) — analytic fields and measured fields.

What is timed (wall clock, one process, after imports):

* analytic — ``biodyn.flow.analyze(NAME, simulate=False)`` for every learning scenario: the
  averaged field derived from the rule's spec, its Jacobian on the sampled domain, the gradient
  test, the potential, the objective, fixed points and rest points on the bounds;
* measured — ``biodyn.flow.measure_fields`` of a rate scenario (oja_pca) and of a spike scenario
  (stdp_correlated_symmetric) at 5 points x M copies in ONE Brian2 run, on numpy and on
  cpp_standalone (cold: into an empty cache folder; warm: the same run again, reusing the
  compiled project), printed as copy-seconds of simulated learning per wall-clock second.

Run:  python benchmarks/flow.py [--copies 40] [--duration 5] [--no-standalone]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=40)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--no-standalone", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("BIODYN_CACHE", tempfile.mkdtemp(prefix="biodyn_bench_flow_"))
    import numpy as np

    from biodyn import build, flow

    scenarios = ["oja_pca", "bcm_selectivity", "hebb_decay", "covariance_rule", "triplet_poisson",
                 "stdp_correlated_symmetric", "stdp_correlated_asymmetric"]
    flow.analyze(scenarios[0], simulate=False)           # warm the imports and sympy caches
    print("analytic flow analysis (no simulation):")
    total = 0.0
    for name in scenarios:
        t0 = time.perf_counter()
        a = flow.analyze(name, simulate=False)
        dt = time.perf_counter() - t0
        total += dt
        print(f"  {name:28s} {dt:6.2f} s   gradient={a.gradient.gradient!s:5s} "
              f"asymmetry={a.gradient.asymmetry:.3g}  rest points={len(a.states)}")
    print(f"  total {total:.2f} s")
    targets = ["numpy"] + ([] if args.no_standalone or not build.has_compiler() else ["cpp_standalone"])
    print(f"measured fields: 5 points x {args.copies} copies, {args.duration:g} s each, one Brian2 run")
    for name in ("oja_pca", "stdp_correlated_symmetric"):
        sc = flow.scenario(name)
        pts = flow.sample_points(sc.domain, count=5, seed=1)
        for target in targets:
            runs = ("cold", "warm") if target == "cpp_standalone" else ("run",)
            for label in runs:
                t0 = time.perf_counter()
                m = flow.measure_field(sc, pts, copies=args.copies, duration=args.duration,
                                       seed=1, target=target)
                dt = time.perf_counter() - t0
                copy_s = 5 * args.copies * args.duration
                z = np.max(np.abs(m.z_scores(flow.averaged_field(sc).f(pts))))
                print(f"  {name:28s} {target:15s} {label:5s} {dt:7.2f} s wall, "
                      f"{copy_s / dt:9.1f} copy-seconds per second, max |z| = {z:.2f}")


if __name__ == "__main__":
    main()
