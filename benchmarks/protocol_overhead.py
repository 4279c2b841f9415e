"""Benchmark: the per-point Python overhead of song_2000 protocol runs, batched and alone (issue 17).

64 points of ``protocols.run_batch("song_2000", ..., target="cpp_standalone", select=[0],
block=False)`` (A_plus 0.005, 10 s at 15 Hz, seeds differ) and 16 points of ``protocols.run``
(the same arguments, the kept build rerun), after one cold batch and one cold run that compile.

Overhead per point = CPU time of this process (``time.process_time``; the simulation binary is
a child process, its CPU is printed apart) minus the CPU time of the input draws and their
merge (``PoissonNetworkEngine._draw``, ``.merge``) and of writing the rerun's arrays
(``build._rerun_arguments``): what is left is biodyn's bookkeeping per point (set-up,
parameter resolution, signatures, values, reading results, summary and provenance).
Prints each of ``--repeats`` passes and the minimum (the machine may be shared), and with
``--profile`` a cProfile of one warm batch and of the runs alone (by cumulative and by own time).

Run: python benchmarks/protocol_overhead.py [--repeats 3] [--points 64] [--alone 16] [--profile]
"""
import argparse, cProfile, io as _io, os, pstats, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from biodyn import protocols, build
from biodyn.protocols import _network

EXCLUDED = {"draw": 0.0, "merge": 0.0, "rerun_args": 0.0}
CHILD = [0.0]


def wrap(owner, name, label):
    fn = getattr(owner, name)

    def wrapper(*a, **k):
        t = time.process_time()
        try:
            return fn(*a, **k)
        finally:
            EXCLUDED[label] += time.process_time() - t
    setattr(owner, name, wrapper)


wrap(_network.PoissonNetworkEngine, "_draw", "draw")
wrap(_network.PoissonNetworkEngine, "merge", "merge")
wrap(build, "_rerun_arguments", "rerun_args")


def point(s):
    return dict(overrides={"A_plus": "0.005"}, seed=s,
                stimulus={"duration": "10 second", "input_rate": "15 Hz"})


def batch(seeds):
    res = protocols.run_batch("song_2000", [point(s) for s in seeds], target="cpp_standalone",
                              select=[0], block=False)
    bad = [r for r in res if isinstance(r, Exception)]
    assert not bad, bad[0]
    assert all(r.summary["batch"]["size"] == len(seeds) for r in res), res[0].summary["batch"]
    return res


def alone(s):
    p = point(s)
    return protocols.run("song_2000", target="cpp_standalone", select=[0], block=False, **p)


def measure(fn):
    for k in EXCLUDED:
        EXCLUDED[k] = 0.0
    import resource
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    CHILD[0] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return cpu, wall, dict(EXCLUDED), out


def show(prof, n=35):
    for key in ("cumulative", "tottime"):
        s = _io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats(key).print_stats(n)
        print(s.getvalue())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--points", type=int, default=64)
    ap.add_argument("--alone", type=int, default=16)
    ap.add_argument("--dump", default="")
    a = ap.parse_args()
    n = a.points
    t = time.perf_counter()
    batch(range(1, n + 1))  # cold: compiles once (or reuses the object cache)
    alone(1)  # the alone build, kept
    print(f"cold: {time.perf_counter() - t:.1f} s", flush=True)
    rb, ra, tb, ta = [], [], [], []
    values = {}
    for r in range(a.repeats):
        seeds = range(1000 * (r + 1) + 1, 1000 * (r + 1) + 1 + n)
        cpu, wall, ex, res = measure(lambda: batch(seeds))
        values[f"b{r}"] = [x.summary["conditions"][0]["value"] for x in res]
        over = (cpu - sum(ex.values())) / n
        rb.append(over)
        tb.append((cpu + CHILD[0]) / n)
        print(f"batched  run {r}: binary cpu {CHILD[0]:.3f} s, cpu {cpu:.3f} s wall {wall:.3f} s excluded {ex} "
              f"-> overhead {1000 * over:.2f} ms/point", flush=True)
        seeds = range(5000 * (r + 1) + 1, 5000 * (r + 1) + 1 + a.alone)
        cpu, wall, ex, res = measure(lambda: [alone(s) for s in seeds])
        over = (cpu - sum(ex.values())) / a.alone
        ra.append(over)
        ta.append((cpu + CHILD[0]) / a.alone)
        print(f"alone    run {r}: binary cpu {CHILD[0]:.3f} s, cpu {cpu:.3f} s wall {wall:.3f} s excluded {ex} "
              f"-> overhead {1000 * over:.2f} ms/point", flush=True)
    print(f"MIN total cpu (process + binary) batched {1000 * min(tb):.1f} ms/point, alone {1000 * min(ta):.1f} ms/point")
    print(f"MIN overhead batched {1000 * min(rb):.2f} ms/point, alone {1000 * min(ra):.2f} ms/point")
    # same numbers check: a fixed batch and alone point
    res = batch(range(1, 9))
    print("check values", [x.summary["conditions"][0]["value"] for x in res][:4],
          alone(3).summary["conditions"][0]["value"])
    if a.dump:
        import json
        out = {"batch": [x.summary for x in res], "alone": alone(3).summary}
        for s in out["batch"] + [out["alone"]]:
            s.pop("sources", None)
        with open(a.dump, "w") as f:
            json.dump(out, f, sort_keys=True, default=str)
    if a.profile:
        seeds = range(90001, 90001 + n)
        prof = cProfile.Profile()
        prof.enable()
        batch(seeds)
        prof.disable()
        print("=" * 30, "PROFILE batched", n)
        show(prof)
        prof = cProfile.Profile()
        prof.enable()
        for s in range(95001, 95001 + a.alone):
            alone(s)
        prof.disable()
        print("=" * 30, "PROFILE alone", a.alone)
        show(prof)


if __name__ == "__main__":
    main()

