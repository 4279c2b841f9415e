"""biodyn sweep SPEC [--scheduler ADDRESS] [--workers N] [--out DIR] [--batch N|auto]"""

from __future__ import annotations

import argparse
import sys

EPILOG = """examples:
  biodyn sweep examples/sweeps/stdp_tau_plus.toml                 # local dask cluster, all CPUs
  biodyn sweep examples/sweeps/stdp_tau_plus.toml --workers 2 --out results/tau/
  biodyn sweep my_sweep --scheduler tcp://10.0.0.5:8786          # workers of a running cluster
  biodyn sweep my_sweep --dry-run                                 # points, seeds, what is finished
  biodyn sweep my_sweep --batch 1                                 # every point its own Brian2 run

Run it again to resume: finished points are skipped, failed and missing ones run.
Start a cluster by hand with `dask scheduler` and `dask worker ADDRESS --nthreads 1`.
Without --scheduler, dask's configuration is honoured (DASK_SCHEDULER_ADDRESS, or
scheduler-address in a dask YAML file); --workers N starts a local cluster instead.
Workers need not share a filesystem with this machine: each point's files come back
with its result and are written here. Lost workers (and the points dask ran again
elsewhere) are reported on stderr and in OUT/sweep.json.
Exit status: 0 all points ok, 1 some points failed, 2 bad input.
"""


def register(sub):
    p = sub.add_parser(
        "sweep", help="run a job over a parameter grid and seeds, locally or on a dask cluster",
        description="Run a sweep spec (kind = \"sweep\"): its job (replay, a Python callable, ...) "
        "at every point of its grid and for every replicate, in parallel. Results stream to "
        "OUT/points/NAME.json (one per point, written atomically) and OUT/summary.csv (updated as "
        "points finish); an interrupted sweep resumes where it stopped.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", help="sweep name (in a BIODYN_PATH folder) or spec path")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="dask scheduler address (tcp://HOST:PORT); default: dask's configured "
                   "scheduler-address (DASK_SCHEDULER_ADDRESS), else a local dask cluster on this machine")
    p.add_argument("--workers", "-w", type=int, metavar="N",
                   help="worker processes of the local cluster (default: the number of CPUs, at "
                   "most the points to run); 0 runs every point in this process")
    p.add_argument("--out", "-o", metavar="DIR",
                   help="output folder (default: the spec's out, else results/NAME)")
    p.add_argument("--batch", "-b", metavar="N|auto",
                   help="points per Brian2 run (replay): 'auto' (default: points that share their "
                   "code run as independent copies of one run, in batches sized to memory), N, or "
                   "1 (every point its own run, as before); overrides [run] batch; a batch is one "
                   "task of a worker")
    p.add_argument("--dry-run", action="store_true",
                   help="list the points (parameters, seed, finished or not) and run nothing")
    p.set_defaults(func=run)


def run(args):
    from .. import sweep
    from ..errors import BiodynError

    if args.scheduler is not None and args.workers is not None:
        raise BiodynError("--workers applies to the local cluster only; with --scheduler the "
                          "cluster's workers run the points")
    progress = None if args.quiet else True
    if args.dry_run:
        result = sweep.run(args.spec, out=args.out, dry_run=True, batch=args.batch,
                           workers=args.workers)
        spec = result.spec
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
        print(f"sweep {spec.name} ({spec.job}): {len(spec.points)} points, seed {spec.seed}, "
              f"out {result.out}")
        task_of = {name: (k, len(b)) for k, b in enumerate(result.batches) for name in b}
        batched = any(len(b) > 1 for b in result.batches)
        for p in spec.points:
            rec = result.records.get(p.name)
            state = "to run" if rec is None else ("finished" if rec["status"] == "ok" else "failed, to run")
            if batched and p.name in task_of:
                k, n = task_of[p.name]
                state += f" in batch {k + 1} of {len(result.batches)} ({n} point{'s' if n != 1 else ''})"
            print(f"  {p.name}  seed {p.seed}  {state}  ({p.label()})")
        return 0
    result = sweep.run(args.spec, out=args.out, scheduler=args.scheduler,
                       workers=args.workers, progress=progress, batch=args.batch)
    print(result.csv)
    if result.figure is not None:
        print(result.figure)
    line = unsettled_line(result)
    if line:
        print(line)
    if result.failed:
        print(f"biodyn: {len(result.failed)} of {len(result.spec.points)} points failed (errors in "
              f"{result.csv}); run the sweep again to retry them", file=sys.stderr)
        return 1
    return 0


def unsettled_line(result):
    """One ``NOT SETTLED`` line naming how many finished points had values that had not
    settled by the end of their run (``result.unsettled``), or ``None``."""
    bad = result.unsettled
    if not bad:
        return None
    n_ok = sum(r["status"] == "ok" for r in result.records.values())
    n_values = sum(len(v) for v in bad.values())
    return (f"NOT SETTLED: {len(bad)} of {n_ok} points had conditions whose value had not settled "
            f"by the end of the run ({n_values} value{'s' if n_values != 1 else ''}: settled(...) "
            f"false in {result.csv.name}, drawn open in summary.png); they are "
            "transients, not results: run longer (stimulus.duration)")
