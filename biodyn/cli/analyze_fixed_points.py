"""biodyn analyze fixed-points MODEL"""

from __future__ import annotations

import argparse

from . import add_model_options, parse_assignments
from ._output import say
from .analyze_lyapunov import add_reading_options, print_paths


def register(sub):
    p = sub.add_parser(
        "fixed-points", help="fixed points, their eigenvalues and classes",
        description="Find the fixed points of a model read as a vector field (or map) by multi-start "
        "root finding with the Jacobian derived from its equations; classify them from the "
        "eigenvalues (stable/unstable node or focus, saddle, centre, non-hyperbolic). Writes "
        "OUT/MODEL_fixed_points.png; --json FILE writes {model, fixed_points: [{state, eigenvalues, "
        "type, stable}]} (states in SI, eigenvalues per the model's time unit).",
        epilog="examples:\n  biodyn analyze fixed-points lorenz\n"
               "  biodyn analyze fixed-points wilson_cowan --params bistable --json wc.json\n"
               "  biodyn analyze fixed-points lif --set I='150 pA'",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="model name (biodyn list models) or spec path")
    add_model_options(p, model=False)
    add_reading_options(p)
    p.add_argument("--starts", type=int, default=None, help="number of starting points of the root search")
    p.set_defaults(func=run)


def run(args):
    from .. import jobs

    result = jobs.analyze_fixed_points(
        args.model, params=args.params, overrides=parse_assignments(args.overrides, "--set"),
        variants=parse_assignments(args.variants, "--variant"), seed=args.seed, reading=args.reading,
        out=args.out, json=args.json, n_starts=args.starts)
    from ..dynamics import state_text

    summary = result.summary  # results, with or without -q (which silences progress only)
    units = summary.get("units", {})
    for fp in summary["fixed_points"]:
        say(args, f"{fp['type']:15s} {state_text(fp['state'], units)}")
    if not summary["fixed_points"]:
        say(args, "no fixed point found")
    if summary.get("excluded_roots"):
        say(args, "not fixed points (roots of the subthreshold flow the threshold excludes):")
        for fp in summary["excluded_roots"]:
            say(args, f"  {state_text(fp['state'], units)}: {fp['excluded']}")
    if summary.get("note"):
        say(args, summary["note"])
    print_paths(result, args)
    return 0
