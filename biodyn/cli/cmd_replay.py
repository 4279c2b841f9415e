"""biodyn replay PROTOCOL"""

from __future__ import annotations

import argparse
import sys

from . import (add_model_options, add_stimulus_option, check_protocol_changes, parse_assignments,
               parse_stimulus)
from ._output import report_of


def register(sub):
    p = sub.add_parser(
        "replay", help="replay a classic experiment on a model, against the published data",
        description="Run every condition of a protocol in one Brian2 run and write PROTOCOL.pkl "
        "(a neo Block; .nwb/.nix with --format), PROTOCOL.png (model against data) and "
        "PROTOCOL.json (summary and score).",
        epilog="examples:\n  biodyn replay bi_poo_1998\n"
               "  biodyn replay bi_poo_1998 --set tau_plus='16.8 ms' --target numpy --out results/\n"
               "  biodyn replay bi_poo_1998 --variant pairing=nearest --format nix\n"
               "  biodyn replay sjostrom_2001 --model stdp_triplet --params visual_all_to_all_full\n"
               "  biodyn replay spike_trains --input recording.nix --model stdp_pair --params song_2000\n"
               "  biodyn replay bi_poo_1998 --stimulus repetitions=5 --target numpy\n"
               "  biodyn replay song_2000 --replicates 8 --seed 1   # seeds 1..8 as copies (runs sized to memory, L2 cache)\n"
               "  biodyn replay song_2000 --select 0 --stimulus duration='2000 second' "
               "--stimulus rate_window='200 second'\n"
               "  biodyn replay --from results/bi_poo_1998.json --out rerun/",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("protocol", nargs="?", help="protocol name (biodyn list protocols) or spec path")
    p.add_argument("--from", dest="from_json", metavar="RESULT.json",
                   help="rerun the replay a result JSON records (its protocol, model, parameter "
                   "values, overrides, variants, stimulus, inputs, seed and target): the same numbers; "
                   "--out, --format and --target may be given, nothing else")
    add_model_options(p)
    p.set_defaults(seed=None)  # None: not given (0 by default; --from takes the recorded seed)
    p.add_argument("--target", default="auto", help="numpy, cython, cpp_standalone, or auto "
                   "(cpp_standalone if a C++ compiler is found; default)")
    p.add_argument("--format", dest="format_given", default=None, choices=["pkl", "nwb", "nix"],
                   help="file format of the neo Block (default pkl; with --from, the recorded one)")
    p.add_argument("--out", "-o", default="results", help="output folder (default results/)")
    p.add_argument("--input", "-i", metavar="FILE",
                   help="input of protocols that replay data (spike_trains: a neo .pkl/.nwb/.nix file "
                   "whose Segment holds SpikeTrains annotated role='pre'/'post' and pair=INT, or an NWB units table with role and pair columns)")
    p.add_argument("--segment", type=int, metavar="K",
                   help="the Segment of --input to replay (default: the first, with a note when "
                   "the file has more)")
    p.add_argument("--replicates", "-R", type=int, metavar="R",
                   help="R replicates with the seeds SEED, SEED+1, ..., SEED+R-1, as independent "
                   "copies of one Brian2 run where the protocol's engine batches (else one run "
                   "each; runs sized by --batch); each is written to OUT/seed_S/ with its own JSON recording its seed "
                   "and the batch")
    p.add_argument("--select", metavar="I[,J...]",
                   help="run only these conditions: indices from 0 in the order of the protocol's "
                   "conditions, or label=value, e.g. --select 0,2 or --select input_rate=10 (the value in "
                   "the label's unit); the JSON records the indices, --from reruns them")
    p.add_argument("--batch", "-b", metavar="N|auto", default=None,
                   help="with --replicates: replicates per Brian2 run: 'auto' (default: sized to "
                   "memory and to one core's L2 cache, as a sweep's batches), N, or 1 (one run "
                   "each); the replicates are split into runs of equal shares")
    add_stimulus_option(p)
    p.set_defaults(func=run)


def _select(args):
    """``--select`` as condition indices (checked against the protocol before any work)."""
    if args.select is None:
        return None
    from .. import protocols

    items = [s for s in args.select.split(",") if s.strip()]
    return protocols.load(args.protocol).selection(items, file="<command line>", key="--select")


def _inputs(args):
    if args.segment is not None and not args.input:
        from ..errors import SpecError

        raise SpecError("<command line>", "--segment", "--input FILE too (a Segment of that file)",
                        f"--segment {args.segment} alone")
    inputs = {"file": args.input} if args.input else {}
    if args.segment is not None:
        inputs["segment"] = args.segment
    return inputs or None


def run(args):
    from .. import jobs

    if args.from_json is not None:
        return _rerun(args)
    if args.protocol is None:
        from ..errors import SpecError

        raise SpecError("<command line>", "PROTOCOL", "a protocol name or spec path, or --from "
                        "RESULT.json", "nothing", "biodyn list protocols")
    overrides = parse_assignments(args.overrides, "--set")
    variants = parse_assignments(args.variants, "--variant")
    stimulus = parse_stimulus(args.stimulus)
    inputs = _inputs(args)
    select = _select(args)
    check_protocol_changes(args.protocol, stimulus=stimulus, inputs=inputs)
    if args.replicates is not None:
        return _replicates(args, overrides, variants, stimulus, inputs, select)
    if args.batch is not None:
        from ..errors import SpecError

        raise SpecError("<command line>", "--batch", "--replicates R too (the replicates per "
                        "Brian2 run; one replay is one run)", f"--batch {args.batch} alone")
    result = jobs.replay(args.protocol, model=args.model, params=args.params, overrides=overrides,
                         variants=variants, target=args.target, seed=args.seed or 0,
                         fmt=args.format_given or "pkl",
                         out=args.out, report=report_of(args), stimulus=stimulus or None, inputs=inputs,
                         select=select)
    _report(result, args)
    return 0


def _replicates(args, overrides, variants, stimulus, inputs, select=None):
    """``--replicates R``: the seeds SEED .. SEED+R-1 of one replay, batched."""
    from pathlib import Path

    import numpy as np

    from .. import jobs, protocols
    from ..errors import SpecError

    if args.replicates < 1:
        raise SpecError("<command line>", "--replicates", "a number of replicates >= 1",
                        str(args.replicates))
    if inputs:
        raise SpecError("<command line>", "--replicates", "a protocol without --input (a "
                        "recording has one realisation)", "--input")
    batch = "auto" if args.batch is None else args.batch
    if isinstance(batch, str) and batch.strip().isdigit():
        batch = int(batch)
    if batch != "auto" and not (isinstance(batch, int) and batch >= 1):
        raise SpecError("<command line>", "--batch", "'auto' or a number of replicates per run "
                        ">= 1 (1: one run each)", repr(args.batch))
    seed = args.seed or 0
    seeds = list(range(seed, seed + args.replicates))
    out = Path(args.out)
    points = [dict(model=args.model, params=args.params, overrides=overrides, variants=variants,
                   stimulus=stimulus or None, seed=s, out=out / f"seed_{s}") for s in seeds]
    copies, why = jobs.replicate_copies(args.protocol, points[0], len(seeds), batch)
    results = jobs.replay_batch(args.protocol, points, target=args.target,
                                fmt=args.format_given or "pkl", report=report_of(args), select=select,
                                max_copies=copies)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    first = results[0].summary
    sizes = [r.summary.get("batch", {}).get("size", 1) for r in results]
    runs = sum(1 for r in results if r.summary.get("batch", {}).get("copy", 0) == 0)
    if max(sizes) > 1 and runs == 1:
        how = f"as copies of one Brian2 run (batch of {sizes[0]})"
    elif max(sizes) > 1:
        how = (f"as copies of {runs} Brian2 runs (batches of {max(sizes)} at most; {why})")
    elif copies == 1 and len(seeds) > 1:
        how = f"one run each ({why})"
    else:
        how = f"one run each ({first.get('batch', {}).get('alone', 'not batched')})"
    print(f"{first['protocol']}: {first['model']} ({first['parameter_set']}) on {first['target']}, "
          f"{len(results)} replicates (seeds {seeds[0]}..{seeds[-1]}) {how}")
    values = np.array([[c["value"] for c in r.summary["conditions"]] for r in results])
    spec = protocols.load(args.protocol)
    what = (spec.data or {}).get("value_label") or (spec.figure or {}).get("ylabel") or spec.observable
    print(f"  {what}, mean ± s.d. over the {len(results)} replicates:")
    units = first.get("units", {})
    for k, cond in enumerate(first["conditions"]):
        labels = ", ".join(f"{n}={v}" + ("" if units.get(n) in (None, "", "1") else f" {units[n]}")
                           for n, v in cond["labels"].items())
        sd = values[:, k].std(ddof=1) if len(results) > 1 else 0.0
        print(f"  {labels}: {values[:, k].mean():.4g} ± {sd:.2g}")
    for r in results:
        line = unsettled_line(r.summary)
        if line:
            print(f"seed {r.summary['seed']}: {line}")
    for r in results:
        print(r.paths["json"])
    return 0


def unsettled_line(summary):
    """One line naming the conditions whose value had not settled by the end of the run
    (``summary["unsettled"]``), or ``None``."""
    from ..protocols import condition_text

    bad = summary.get("unsettled") or []
    if not bad:
        return None
    conds, units = summary["conditions"], summary.get("units", {})
    names = "; ".join(f"[{k}] {condition_text(conds[k]['labels'], units)}: "
                      f"{(conds[k].get('settling') or {}).get('reason', 'not settled')}" for k in bad)
    return (f"NOT SETTLED in the run ({len(bad)} of {len(conds)} conditions; values are transients, "
            f"see 'settling' in the JSON): {names}")


def _rerun(args):
    from .. import jobs
    from ..errors import SpecError

    given = [flag for flag, value in (("PROTOCOL", args.protocol), ("--model", args.model),
                                      ("--params", args.params), ("--set", args.overrides),
                                      ("--variant", args.variants), ("--seed", args.seed),
                                      ("--stimulus", args.stimulus), ("--input", args.input),
                                      ("--segment", args.segment), ("--replicates", args.replicates),
                                      ("--select", args.select), ("--batch", args.batch))
             if value not in (None, [])]
    if given:
        raise SpecError("<command line>", "--from", "only --out, --format and --target beside it "
                        "(the result JSON records everything else)", ", ".join(given),
                        "drop them, or replay the protocol without --from")
    target = None if args.target == "auto" else args.target
    result = jobs.replay_from(args.from_json, out=args.out, fmt=args.format_given, target=target,
                              report=report_of(args))
    for note in result.notes:
        print(f"biodyn: note: {note}", file=sys.stderr)
    _report(result, args)
    return 0


def _report(result, args):
    s = result.summary  # results, with or without -q (which silences progress only)
    unsettled = unsettled_line(s)
    for note in s.get("notes", []):
        if not (unsettled and note.startswith("NOT SETTLED")):  # printed below, on stdout
            print(f"note: {note}", file=sys.stderr)
    chi = s["score"]["chi"]
    score = f"chi = {chi:.3f} over {s['score']['n']} conditions" if chi is not None else "no published data to score"
    print(f"{s['protocol']}: {s['model']} ({s['parameter_set']}) on {s['target']}, "
          f"{len(s['conditions'])} conditions, {score}")
    if unsettled:
        print(unsettled)
    for key in ("block", "figure", "json"):
        print(result.paths[key])
