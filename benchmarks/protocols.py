"""Benchmark: every protocol replayed cold and warm on cpp_standalone.

For each protocol of biodyn's catalog, in one process:

* cold — the first replay, into an empty cache folder: code generation, compilation of the
  standalone project, the run;
* warm — a second replay in the same process with another value of one parameter (the run
  rules' amplitude or rate, see WARM below): the compiled build is rerun with the new values as
  command-line arguments (no code generation, no compilation).

Both are timed for ``biodyn.protocols.run`` (simulation, results in memory) and the warm one
also for ``biodyn.jobs.replay`` (writing the .pkl, .png and .json files). ``spike_trains`` replays
a neo file of 20 pairs of Poisson trains (10 Hz, 10 s) written by this script.

The cold replays start from an empty biodyn cache (a fresh temporary ``BIODYN_CACHE``, removed
at the end): no compiled project and no compiled object of an earlier run. The protocols are
replayed one after another, so a later protocol's cold build reuses the objects of sources an
earlier one compiled identically (biodyn's object cache, :mod:`biodyn._objcache`); the number of
reused objects is printed. ``--no-object-cache`` measures without it (``BIODYN_OBJECT_CACHE=0``).
The first cold build also precompiles the standard headers every source includes (gcc; once per
compiler and flags, then shared by every project: about half of each project's compilation was
parsing them); ``--no-pch`` measures without them (``BIODYN_PCH=0``). Every build compiles
``objects.cpp`` and ``main.cpp`` (no model arithmetic) at ``-O1``
(:func:`biodyn.build.light_units_make_args`).
Brian2's cython cache (``~/.cython``) plays no part: every replay here is cpp_standalone.
The machine's load average is printed before and after: on a shared machine, compare runs
only at similar loads.

Printed: a table per protocol and the totals; beside each cold wall time its CPU time (this
process, make, the compilers and the binary: on a busy machine the figure to compare). Goals (issue 17, 2-core machine): warm total
(all plasticity protocols) under 4 s, cold total under 40 s.

Run: python benchmarks/protocols.py [--skip clopath_2010,...] [--no-object-cache] [--no-pch]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: protocol -> (override of the warm replay, plasticity protocol?)
WARM = {
    "bi_poo_1998": ({"A_plus": "0.0051"}, True),
    "sjostrom_2001": ({"A3_plus": "6.6e-3"}, True),
    "wang_2005": ({"A3_plus": "8.1e-3"}, True),
    "clopath_2010": ({"A_LTP": "8.1e-5 /mV**2"}, True),
    "clopath_2010_clamp": ({"A_LTP": "8.1e-5 /mV**2"}, True),
    "song_2000": ({"A_plus": "0.0051"}, True),
    "oja_pca": ({"eta": "1.1 Hz"}, True),
    "bcm_selectivity": ({"eta": "1.1 Hz"}, True),
    "spike_trains": ({"A_plus": "0.0051"}, True),
    "fi_curve": ({"tau_m": "11 ms"}, False),
    "firing_patterns": ({"tau_w": "31 ms"}, False),
}


def spike_train_file(folder):
    import neo
    import numpy as np
    import quantities as pq

    rng = np.random.default_rng(0)
    block = neo.Block(name="benchmark trains")
    seg = neo.Segment()
    block.segments.append(seg)
    for pair in range(20):
        for role in ("pre", "post"):
            steps = np.nonzero(rng.random(100_000) < 10.0 * 1e-4)[0]
            st = neo.SpikeTrain(steps * 1e-4 * pq.s, t_stop=10 * pq.s)
            st.annotate(role=role, pair=pair)
            seg.spiketrains.append(st)
    path = Path(folder) / "trains.pkl"
    neo.io.PickleIO(str(path)).write_block(block)
    return path


def cpu_seconds():
    """CPU time of this process and of its finished children (make, the compilers, the binaries):
    unlike wall time, it hardly depends on what else the machine runs."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", default="", help="protocols to leave out (comma-separated)")
    parser.add_argument("--no-object-cache", action="store_true",
                        help="compile every cold build in full (BIODYN_OBJECT_CACHE=0)")
    parser.add_argument("--no-pch", action="store_true",
                        help="compile without precompiled standard headers (BIODYN_PCH=0)")
    args = parser.parse_args()
    if args.no_object_cache:
        os.environ["BIODYN_OBJECT_CACHE"] = "0"
    if args.no_pch:
        os.environ["BIODYN_PCH"] = "0"
    load_before = os.getloadavg()
    from brian2 import prefs

    prefs.logging.console_log_level = "ERROR"
    cache = Path(tempfile.mkdtemp(prefix="biodyn_bench_cache_"))
    os.environ["BIODYN_CACHE"] = str(cache)
    out = cache / "results"
    from biodyn import jobs, protocols

    trains = spike_train_file(cache)
    object_log = cache / "objects" / "log"
    skip = {s for s in args.skip.split(",") if s}
    rows = []
    try:
        for name, (override, plastic) in WARM.items():
            if name in skip:
                continue
            inputs = {"file": str(trains)} if name == "spike_trains" else None
            t0, c0 = time.perf_counter(), cpu_seconds()
            cold = protocols.run(name, target="cpp_standalone", inputs=inputs)
            t_cold = time.perf_counter() - t0
            cpu_cold = cpu_seconds() - c0
            t0 = time.perf_counter()
            warm = protocols.run(name, target="cpp_standalone", overrides=override, inputs=inputs)
            t_warm = time.perf_counter() - t0
            t0 = time.perf_counter()
            jobs.replay(name, target="cpp_standalone", overrides=override, inputs=inputs, out=out)
            t_files = time.perf_counter() - t0
            rows.append((name, plastic, len(cold.summary["conditions"]), t_cold,
                         cold.timings.get("standalone_run_binary", float("nan")), t_warm,
                         warm.timings.get("rerun", float("nan")), t_files,
                         "rerun" in warm.timings, cpu_cold))
            print(f"  {name:20s} done", flush=True)
        log = [line.split(" ", 3) for line in
               (object_log.read_text().splitlines() if object_log.exists() else []) if line]
        objects = [entry[0] for entry in log]
        pch = any(len(entry) > 2 and entry[2].endswith("+pch") for entry in log)
        reused_sources = {}
        for entry in log:
            if entry[0] == "hit":
                reused_sources[entry[-1]] = reused_sources.get(entry[-1], 0) + 1
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print()
    print(f"{'protocol':20s} {'cond.':>5s} {'cold':>8s} {'(cpu)':>8s} {'(binary)':>9s} {'warm':>8s} "
          f"{'(rerun)':>8s} {'warm+files':>10s}")
    for name, plastic, n, tc, tb, tw, tr, tf, reused, cc in rows:
        print(f"{name:20s} {n:5d} {tc:8.2f} {cc:8.2f} {tb:9.2f} {tw:8.2f} {tr:8.2f} {tf:10.2f}"
              + ("" if reused else "   (warm did not reuse the build!)"))
    plastic = [r for r in rows if r[1]]
    print()
    print(f"plasticity protocols ({len(plastic)}): cold total {sum(r[3] for r in plastic):.1f} s "
          f"(CPU {sum(r[9] for r in plastic):.1f} s), "
          f"warm total {sum(r[5] for r in plastic):.1f} s (simulation reruns "
          f"{sum(r[6] for r in plastic):.1f} s), warm with files {sum(r[7] for r in plastic):.1f} s")
    print(f"all protocols ({len(rows)}): cold total {sum(r[3] for r in rows):.1f} s "
          f"(CPU {sum(r[9] for r in rows):.1f} s), "
          f"warm total {sum(r[5] for r in rows):.1f} s, warm with files {sum(r[7] for r in rows):.1f} s")
    hits = objects.count("hit")
    misses = objects.count("miss")
    print(f"object cache: {'off' if args.no_object_cache else f'{hits} objects reused, {misses} compiled'}"
          + ("" if args.no_object_cache else
             f"; precompiled headers {'off' if args.no_pch else 'on' if pch else 'not used'}"))
    if reused_sources:
        print("  reused: " + ", ".join(f"{src} x{k}" for src, k in sorted(reused_sources.items(), key=lambda kv: -kv[1])))
    print("load average (1 min) before %.2f, after %.2f; %d cores" % (load_before[0], os.getloadavg()[0],
                                                                    os.cpu_count()))


if __name__ == "__main__":
    main()
