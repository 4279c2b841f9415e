"""Benchmark: the README's fit (``biodyn fit sjostrom_2001 --free A3_plus,A2_minus``), timed.

The fit of README "Fit a rule to data"::

    biodyn fit sjostrom_2001 --free A3_plus,A2_minus --bounds A3_plus=0:0.05 --bounds A2_minus=0:0.05

run through :func:`biodyn.jobs.fit` with the command's defaults (4 starts, at most 60 replays
per start, seed 0, target ``auto``: cpp_standalone where a compiler is found), into a fresh
temporary cache. First one replay compiles the project (timed apart: a fit pays it once,
and the object cache and the machine decide it, not the fit); then the fit is timed: wall
time, replays (evaluations: the least-squares iterations and their finite-difference
probes, the starts, and the 2p replays of the Jacobian for the uncertainties), seconds per
replay, chi before and after, the fitted values with their standard errors.

Variants: ``today`` — one replay per evaluation (the compiled build rerun with new values).
``--batch N`` adds the batched fit (evaluations that can run together — the columns of a
finite-difference Jacobian, the starts — as copies in one run; issue 17) once
:func:`biodyn.jobs.fit` takes ``batch=``, and prints ``ratio today/batched: X`` (goal >= 4).

Run: python benchmarks/fit.py [--batch N] [--starts 4] [--target cpp_standalone]
"""

from __future__ import annotations

import argparse
import inspect
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROTOCOL = "sjostrom_2001"
FREE = ["A3_plus", "A2_minus"]
BOUNDS = {"A3_plus": (0.0, 0.05), "A2_minus": (0.0, 0.05)}


def run_fit(variant, args, out):
    """One fit; ``variant`` is ``"today"`` or ``("batch", N)``. Returns (wall seconds, result)."""
    from biodyn import jobs

    kwargs = dict(free=FREE, bounds=BOUNDS, target=args.target, seed=args.seed, starts=args.starts,
                  max_evaluations=args.max_evaluations, out=False)
    if variant != "today":
        if "batch" not in inspect.signature(jobs.fit).parameters:
            print(f"  --batch: this biodyn's fit has no batch= yet (issue 17): skipped")
            return None, None
        kwargs["batch"] = variant[1]
    else:
        kwargs["batch"] = 1
    c0 = _cpu()
    t0 = time.perf_counter()
    result = jobs.fit(PROTOCOL, **kwargs)
    wall = time.perf_counter() - t0
    result.cpu = _cpu() - c0
    return wall, result


def _cpu():
    """CPU seconds of this process and its finished children (the compiled runs)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def report(name, wall, result):
    n = result.evaluations
    print(f"{name}: {wall:.1f} s wall, {result.cpu:.1f} s CPU, {n} replays ({wall / max(n, 1) * 1000:.0f} ms each), "
          f"{len(result.starts)} starts, chi {result.chi_before:.4f} -> {result.chi_after:.4f}")
    if getattr(result, "batch", None):
        print(f"  batch: {result.batch}")
    se = (result.uncertainty or {}).get("standard_errors") or {}
    for p in FREE:
        extra = f" ± {se[p]:.2g}" if p in se else ""
        print(f"  {p} = {result.values[p]}{extra}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", default=None, metavar="N|auto",
                        help="also run the batched fit with batches of N evaluations")
    parser.add_argument("--starts", type=int, default=4)
    parser.add_argument("--max-evaluations", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", default="auto")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    cache = Path(tempfile.mkdtemp(prefix="biodyn_bench_fit_"))
    os.environ["BIODYN_CACHE"] = str(cache)
    from brian2 import prefs

    prefs.logging.console_log_level = "ERROR"
    from biodyn import build, protocols

    target = build.resolve_target(args.target)
    print(f"{PROTOCOL}: fit {', '.join(FREE)} on {target}, {args.starts} starts, at most "
          f"{args.max_evaluations} replays per start")
    try:
        t0 = time.perf_counter()
        protocols.run(PROTOCOL, target=target, seed=args.seed, block=False)
        print(f"first replay (code generation, compilation, run): {time.perf_counter() - t0:.1f} s")
        wall, result = run_fit("today", args, cache)
        report("today (one replay per evaluation)", wall, result)
        if args.batch is not None:
            # cold: the batched fit's first run generates and compiles its copies' build (once,
            # like the first replay above); warm: the same fit again, reusing that build
            wall_c, result_c = run_fit(("batch", args.batch), args, cache)
            if result_c is not None:
                report(f"batched (--batch {args.batch}), cold: its build compiled", wall_c, result_c)
                wall_b, result_b = run_fit(("batch", args.batch), args, cache)
                report(f"batched (--batch {args.batch}), warm: build reused", wall_b, result_b)
                same = (result.values == result_b.values and result.chi_after == result_b.chi_after
                        and result.uncertainty == result_b.uncertainty and result.starts == result_b.starts)
                print(f"same fit (values, chi, starts, uncertainties bit for bit): {same}")
                print(f"ratio today/batched cold (its compilation included): {wall / wall_c:.1f}")
                print(f"CPU ratio today/batched: {result.cpu / result_b.cpu:.1f}")
                print(f"ratio today/batched: {wall / wall_b:.1f}")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print("load average (1 min) before %.2f, after %.2f; %d cores"
          % (load_before, os.getloadavg()[0], os.cpu_count()))


if __name__ == "__main__":
    main()
