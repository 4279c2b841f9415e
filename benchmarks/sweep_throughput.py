"""Benchmark: a sweep of the song_2000 network, batched, point by point, plain Brian2 and NEST.

The sweep (issue 17): 64 points = 4 values of A_plus x 4 input rates x 4 seeds; each point is
ONE neuron of the song_2000 network (the protocol's first condition: 1000 excitatory Poisson
inputs through additive pair STDP, 200 inhibitory inputs at 10 Hz, conductance-based LIF),
``--duration`` s of simulated time at dt = 0.1 ms, on cpp_standalone, in this process.

* biodyn batched: :func:`biodyn.protocols.run_batch` — the points as independent copies of
  ONE Brian2 run, in batches of ``--batch`` points (default: sized to memory and to the L2
  cache, as a sweep's ``batch = "auto"``); each point's inputs drawn from its own seed.
* biodyn one point per run (today's sweep, ``--batch 1``): :func:`biodyn.protocols.run` per
  point; the first point compiles, the others rerun the kept binary with their values.
* plain Brian2: the benchmark's own script (``benchmarks/plain_song.py``, shared with
  ``benchmarks/song_2000.py``) with PoissonGroups (one random draw per input per time step),
  compiled once with A_plus and the input rate as variables and rerun per point with
  ``device.run(run_args=...)``.
* NEST (if importable): iaf_cond_exp, poisson_generator, stdp_synapse (additive, all-to-all):
  a few points (``--nest-points``), timed per point (NEST builds no code: every point pays
  its own simulation); skipped otherwise, with the last figure measured here quoted.

Times per point are wall times of the simulation work each tool needs for a point, compile
times excluded (they are paid once per sweep and are reported apart): for biodyn they include
drawing the inputs, merging them, running the binary and reading the results back; for plain
Brian2 running the binary and reading its results; for NEST ``Simulate``. biodyn batched runs
the sweep twice: a cold pass that compiles (its total is printed) and the measured pass with
other seeds, which reruns the kept builds; point by point, the first point compiles, then
every point is measured (one build serves every rate, seed and A_plus). Peak memory per
batch: the largest resident set of this process while the batch ran (the batch's inputs,
arrays and results) and of its simulation binary.

Prints per-point times, the ratios ("ratio plain/batched: X", "ratio unbatched/batched: Y"
on their own lines) and peak memory per batch.

Run: python benchmarks/sweep_throughput.py [--points 64] [--duration 100] [--batch auto]
     [--skip-plain] [--skip-unbatched] [--nest-points 2]
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

A_PLUS = (0.004, 0.005, 0.006, 0.007)
RATES = (10.0, 15.0, 20.0, 25.0)  # Hz
SEEDS = (1, 2, 3, 4)
#: NEST 3.10, 1 neuron of song_2000 for 100 s on this machine (issue 17): 23.1 s.
NEST_LAST = 23.1
#: The measured pass draws other seeds than the cold pass (no input draw is reused).
SHIFT = 1000


def grid(n):
    """The first ``n`` points of A_plus x rate x seed, spread over the grid (every k-th)."""
    full = list(itertools.product(A_PLUS, RATES, SEEDS))
    if n >= len(full):
        return full
    step = len(full) / n
    return [full[int(k * step)] for k in range(n)]


def point_args(a_plus, rate, seed, duration):
    return dict(overrides={"A_plus": repr(a_plus)}, seed=seed,
                stimulus={"duration": f"{duration:g} second", "input_rate": f"{rate:g} Hz"})


class PeakRSS:
    """The largest resident set (MB) of this process and of its children while active."""

    def __init__(self, every=0.25):
        self.every = every
        self.self_mb = 0.0
        self.child_mb = 0.0

    def _rss(self, pid):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return float(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def _children(self):
        """Child processes of this one, from /proc (no subprocess: its CPU would count)."""
        me, pids = os.getpid(), []
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                            pids.append(int(name))
                except (OSError, IndexError, ValueError):
                    pass
        return pids

    def _watch(self):
        while not self._stop.is_set():
            self.self_mb = max(self.self_mb, self._rss(os.getpid()))
            for pid in self._children():
                self.child_mb = max(self.child_mb, self._rss(pid))
            self._stop.wait(self.every)

    def __enter__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False


def cpu():
    """CPU seconds (user + system) of this process and its finished children (the binaries,
    the compilers): robust to other load on the machine, unlike wall time."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def compile_seconds(timings):
    """Code generation and compilation in a biodyn run's timings (the build minus its run)."""
    if "build" not in timings:
        return 0.0
    return max(0.0, timings["build"] - timings.get("standalone_run_binary", 0.0))


def batch_sizes(points, duration, batch):
    """Points per batch: ``auto`` as a sweep sizes them (memory of one worker), else ``batch``."""
    from biodyn import protocols
    from biodyn.protocols import ENGINES, load
    from biodyn.protocols._engine import RunOptions, batch_copies_for_cache, batch_memory

    if batch == "auto":
        spec = load("song_2000").select([0])
        resolved = protocols.resolve_model(spec)
        engines = [ENGINES[spec.engine](spec, resolved, RunOptions(
            stimulus=point_args(*p, duration)["stimulus"])) for p in points]
        worst = max(float(e.estimate_bytes()) for e in engines)
        by_cache = batch_copies_for_cache(max(e.copy_state_bytes() for e in engines)) or 256
        batch = max(1, min(256, int(batch_memory(1) // worst), by_cache, len(points)))
    batch = int(batch)
    n_batches = -(-len(points) // batch)
    return [round(k * len(points) / n_batches) for k in range(n_batches + 1)]


def biodyn_batched(points, duration, bounds, seed_shift=0):
    """One pass of the batched sweep: (results, wall s, compile s, per batch (size, MB, MB, s))."""
    from biodyn import protocols

    args = [point_args(a, r, s + seed_shift, duration) for a, r, s in points]
    wall, compile_s, memory, results = 0.0, 0.0, [], []
    c0 = cpu()
    for a, b in zip(bounds[:-1], bounds[1:]):
        t0 = time.perf_counter()
        with PeakRSS() as peak:
            part = protocols.run_batch("song_2000", args[a:b], target="cpp_standalone", select=[0],
                                       block=False)
        elapsed = time.perf_counter() - t0
        for r in part:
            if isinstance(r, Exception):
                raise r
        c = compile_seconds(part[0].timings)
        wall += elapsed
        compile_s += c
        memory.append((b - a, peak.self_mb, peak.child_mb, elapsed - c))
        results += part
    return results, wall, compile_s, memory, cpu() - c0


def biodyn_unbatched(points, duration, seed_shift=0):
    """Every point its own run (``--batch 1``): the first run compiles, not counted; then every
    point reruns the kept build (the spikes, of any number, are run arguments: points of
    other rates, seeds and A_plus share one build)."""
    from biodyn import protocols

    t0 = time.perf_counter()
    protocols.run("song_2000", target="cpp_standalone", select=[0], block=False,
                  build_key="bench-unbatched", **point_args(*points[0], duration))
    warmup = time.perf_counter() - t0
    wall, results = 0.0, []
    c0 = cpu()
    for a, r, s in points:
        t0 = time.perf_counter()
        res = protocols.run("song_2000", target="cpp_standalone", select=[0], block=False,
                            build_key="bench-unbatched", **point_args(a, r, s + seed_shift, duration))
        wall += time.perf_counter() - t0
        if "rerun" not in res.timings:
            print(f"    (point A_plus={a}, rate={r} built again: {res.timings})")
        results.append(res)
    return results, wall, warmup, 1, cpu() - c0


def plain_brian2(points, duration, directory):
    """The song_2000 neuron written in Brian2 (``plain_song.py``), compiled once, rerun per point
    with run_args."""
    from brian2 import Hz, set_device

    from plain_song import song_network

    net = song_network(duration, directory)
    dev, stdp, exc, spikes = net["device"], net["stdp"], net["exc"], net["spikes"]
    t0 = time.perf_counter()
    dev.build(directory=str(directory), compile=True, run=False, with_output=False)
    compile_s = time.perf_counter() - t0
    times, rates = [], []
    c0 = cpu()
    for a_plus, rate, _seed in points:  # the binary seeds its random numbers itself per run
        t0 = time.perf_counter()
        dev.run(directory=str(directory), with_output=False,
                run_args={stdp.A_plus: a_plus, exc.rates: rate * Hz})
        n = spikes.num_spikes
        w_mean = float(stdp.w[:].mean())
        times.append(time.perf_counter() - t0)
        rates.append(n / duration)
    cpu_s = cpu() - c0
    set_device("runtime")
    return times, compile_s, rates, cpu_s


def nest_points(points, duration):
    """The song_2000 neuron in NEST (iaf_cond_exp, stdp_synapse), one simulation per point."""
    import nest

    times, cpus = [], []
    for a_plus, rate, seed in points:
        nest.ResetKernel()
        nest.set_verbosity("M_ERROR")
        nest.SetKernelStatus({"resolution": 0.1, "rng_seed": seed, "local_num_threads": 1})
        # conductances in nS with g_L = 10 nS (C_m = 200 pF, tau_m = 20 ms); Song's g_max = 0.015
        # g_L, g_inh = 0.05 g_L; exponential synaptic conductances of 5 ms
        neuron = nest.Create("iaf_cond_exp", params={
            "C_m": 200.0, "g_L": 10.0, "E_L": -70.0, "V_th": -54.0, "V_reset": -60.0, "t_ref": 0.0,
            "E_ex": 0.0, "E_in": -70.0, "tau_syn_ex": 5.0, "tau_syn_in": 5.0, "V_m": -70.0})
        exc = nest.Create("poisson_generator", params={"rate": rate})
        inh = nest.Create("poisson_generator", params={"rate": 10.0})
        pe = nest.Create("parrot_neuron", 1000)
        pi = nest.Create("parrot_neuron", 200)
        nest.Connect(exc, pe)
        nest.Connect(inh, pi)
        g_max = 0.015 * 10.0
        nest.CopyModel("stdp_synapse", "song", {"tau_plus": 20.0, "lambda": a_plus, "alpha": 1.05,
                                                "mu_plus": 0.0, "mu_minus": 0.0, "Wmax": g_max})
        nest.SetStatus(neuron, {"tau_minus": 20.0})
        nest.Connect(pe, neuron, syn_spec={"synapse_model": "song",
                                          "weight": nest.random.uniform(0.0, g_max)})
        nest.Connect(pi, neuron, syn_spec={"weight": 0.05 * 10.0})
        t0, c0 = time.perf_counter(), cpu()
        nest.Simulate(duration * 1000.0)
        times.append(time.perf_counter() - t0)
        cpus.append(cpu() - c0)
    return times, cpus


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=64, help="points of the sweep (default 64)")
    parser.add_argument("--duration", type=float, default=100.0, help="simulated seconds per point (100)")
    parser.add_argument("--batch", default="auto", help="points per batch: auto (default) or N")
    parser.add_argument("--skip-plain", action="store_true", help="no plain Brian2 comparison")
    parser.add_argument("--skip-unbatched", action="store_true", help="no point-by-point comparison")
    parser.add_argument("--nest-points", type=int, default=2, help="points simulated in NEST (0: none)")
    args = parser.parse_args()
    from brian2 import prefs

    prefs.logging.console_log_level = "ERROR"
    points = grid(args.points)
    n = len(points)
    cache = Path(tempfile.mkdtemp(prefix="biodyn_sweep_bench_"))
    os.environ["BIODYN_CACHE"] = str(cache)
    print(f"song_2000 sweep: {n} points (A_plus x input rate x seed), one neuron each (1000 + 200 "
          f"Poisson inputs), {args.duration:g} s at dt 0.1 ms, cpp_standalone, one thread")
    try:
        bounds = batch_sizes(points, args.duration, args.batch)
        cold, c_wall, c_compile, _, _ = biodyn_batched(points, args.duration, bounds)
        print(f"  biodyn batched, cold (compiling): {c_wall:.1f} s in all, {c_compile:.1f} s of it "
              f"compiling ({len(bounds) - 1} batch(es) of up to {max(np.diff(bounds))} points)")
        batched, b_wall, b_compile, memory, b_cpu = biodyn_batched(points, args.duration, bounds, SHIFT)
        b_point, b_cpu = (b_wall - b_compile) / n, b_cpu / n
        print(f"  biodyn batched:        {b_point:8.4f} s per point wall, {b_cpu:.4f} s CPU "
              f"({b_wall:.1f} s in all, other seeds, the kept builds rerun)")
        for k, (size, mb_self, mb_child, secs) in enumerate(memory):
            print(f"    batch {k}: {size} points, {secs:.1f} s; peak memory {mb_self:.0f} MB (process), "
                  f"{mb_child:.0f} MB (simulation binary)")
        u_point = u_cpu = None
        if not args.skip_unbatched:
            alone, u_wall, warmup, n_builds, u_cpu = biodyn_unbatched(points, args.duration, SHIFT)
            u_point, u_cpu = u_wall / n, u_cpu / n
            print(f"  biodyn point by point: {u_point:8.4f} s per point wall, {u_cpu:.4f} s CPU "
                  f"({u_wall:.1f} s in all; {n_builds} builds compiled first, {warmup:.1f} s, not counted)")
            same = all(a.values.tolist() == b.values.tolist() and
                       (a.extra["w_final"] == b.extra["w_final"]).all() for a, b in zip(alone, batched))
            print(f"  batched results identical to point-by-point results: {same}")
        p_point = p_cpu = None
        if not args.skip_plain:
            times, p_compile, rates, p_cpu = plain_brian2(points, args.duration, cache / "plain")
            p_point, p_cpu = sum(times) / n, p_cpu / n
            print(f"  plain Brian2 (PoissonGroup, compiled once, run_args): {p_point:8.4f} s per point "
                  f"wall, {p_cpu:.4f} s CPU ({p_compile:.1f} s compiling once; output rates "
                  f"{min(rates):.1f}-{max(rates):.1f} Hz)")
        if args.nest_points > 0:
            try:
                nest_times, nest_cpu = nest_points(points[:args.nest_points], args.duration)
                print(f"  NEST: {sum(nest_times) / len(nest_times):8.4f} s per point wall, "
                      f"{sum(nest_cpu) / len(nest_cpu):.4f} s CPU ({len(nest_times)} of the points "
                      "simulated)")
            except ImportError:
                print(f"  NEST: not installed (skipped); last measured here: {NEST_LAST} s per "
                      "point at 100 s")
        b_rates = [r.values[0] for r in batched]
        print(f"  biodyn output rates over the last 10 s: {min(b_rates):.1f}-{max(b_rates):.1f} Hz")
        print(f"  per point, CPU s: batched {b_cpu:.4f}"
              + (f", unbatched {u_cpu:.4f}" if u_cpu else "")
              + (f", plain {p_cpu:.4f}" if p_cpu else "")
              + "; wall s: batched " + f"{b_point:.4f}"
              + (f", unbatched {u_point:.4f}" if u_point else "")
              + (f", plain {p_point:.4f}" if p_point else ""))
        print("  (ratios of CPU time per point: wall times swing with the machine's other load)")
        if p_cpu:
            print(f"ratio plain/batched: {p_cpu / b_cpu:.2f}")
        if u_cpu:
            print(f"ratio unbatched/batched: {u_cpu / b_cpu:.2f}")
        print(f"peak memory of this process over the benchmark: "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
