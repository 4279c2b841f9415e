"""Benchmark: the Python side of a batch's Poisson inputs (issue 17, sweep throughput).

The batch of ``benchmarks/sweep_throughput.py``: ``--points`` points of song_2000's first
condition (1000 excitatory Poisson inputs at 10, 15, 20 or 25 Hz, 200 inhibitory at 10 Hz, one
neuron per point), ``--duration`` s at dt = 0.1 ms, each point with its own seed. Timed, in
CPU seconds of this process (user + system: page faults count):

* ``plan`` — :meth:`PoissonNetworkEngine.plan` of every point (its draw of the inputs, padded
  to their fixed sizes, and the rest of the plan), of which ``draw`` is ``_draw``;
* ``merge`` — :meth:`PoissonNetworkEngine.merge` of the points into one batch's inputs.

Each is repeated ``--repeat`` times (no draw reused: the engine's last-draw cache is emptied)
and the minimum printed, with each repetition's system time and page faults (the points'
padded arrays are new memory every time: about 50 000 pages for 64 points of 10 s). Goals
(issue 17): draw + merge of 64 points of 10 s under 0.35 s; long runs as fast per spike
(``--points 16 --duration 100``: about 45 ms of drawing per point, 1.7 million spikes). The
machine's load average is printed: on a shared machine compare runs at similar loads.

Run: OPENBLAS_NUM_THREADS=1 python benchmarks/input_draws.py [--points 64] [--duration 10]
     [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RATES = (10.0, 15.0, 20.0, 25.0)  # Hz


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=64)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    from biodyn import protocols
    from biodyn.protocols import ENGINES, load
    from biodyn.protocols import _network
    from biodyn.protocols._engine import RunOptions

    spec = load("song_2000").select([0])
    resolved = protocols.resolve_model(spec)
    engines = [ENGINES[spec.engine](spec, resolved, RunOptions(seed=1000 + k, stimulus={
        "duration": f"{args.duration:g} second", "input_rate": f"{RATES[k % 4]:g} Hz"}))
        for k in range(args.points)]
    draw = [0.0]
    original = _network.PoissonNetworkEngine._draw

    def timed(self, *a, **k):
        t0 = time.process_time()
        try:
            return original(self, *a, **k)
        finally:
            draw[0] += time.process_time() - t0

    _network.PoissonNetworkEngine._draw = timed
    print(f"load average {os.getloadavg()[0]:.2f}")
    best = {"plan": [], "draw": [], "merge": []}
    try:
        for _ in range(args.repeat):
            draw[0] = 0.0
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.process_time()
            plans = []
            for e in engines:
                _network._DRAWS.clear()
                plans.append(e.plan())
            t1 = time.process_time()
            merged = engines[0].merge(plans, engines)
            t2 = time.process_time()
            r2 = resource.getrusage(resource.RUSAGE_SELF)
            best["plan"].append(t1 - t0)
            best["draw"].append(draw[0])
            best["merge"].append(t2 - t1)
            print(f"plan {t1 - t0:.3f} s (draw {draw[0]:.3f} s)  merge {t2 - t1:.3f} s  "
                  f"(of which system {r2.ru_stime - r0.ru_stime:.3f} s, "
                  f"{r2.ru_minflt - r0.ru_minflt} page faults)", flush=True)
            del plans, merged
    finally:
        _network.PoissonNetworkEngine._draw = original
        _network._DRAWS.clear()
    lo = {k: min(v) for k, v in best.items()}
    print(f"minimum over {args.repeat}: plan {lo['plan']:.3f} s, draw {lo['draw']:.3f} s, "
          f"merge {lo['merge']:.3f} s; draw + merge {lo['draw'] + lo['merge']:.3f} s "
          f"({(lo['draw'] + lo['merge']) / args.points * 1e3:.1f} ms per point)")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
