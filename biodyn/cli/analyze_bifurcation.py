"""biodyn analyze bifurcation MODEL --param P --range LO HI"""

from __future__ import annotations

import argparse

from . import add_model_options, parse_assignments
from ._output import say
from .analyze_lyapunov import add_reading_options, print_paths


def register(sub):
    p = sub.add_parser(
        "bifurcation", help="one-parameter continuation of equilibria: folds, Hopf, branch points",
        description="Continue the equilibria (fixed points of maps) of a model in one parameter by "
        "pseudo-arclength continuation; detect folds, Hopf points, branch points, period doublings "
        "(maps). Writes OUT/MODEL_bifurcation_P.png; --json FILE writes {model, param, points: "
        "[{type, value, state}], branches}. LO and HI are numbers in the parameter's declared unit "
        "or quantities ('50 pA').",
        epilog="examples:\n  biodyn analyze bifurcation saddle_node --param r --range -1 1\n"
               "  biodyn analyze bifurcation wilson_cowan --params bistable --param P --range -1 1\n"
               "  biodyn analyze bifurcation logistic --param r --range 0.5 3.5 --json logistic.json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="model name (biodyn list models) or spec path")
    p.add_argument("--param", required=True, help="the parameter to vary")
    p.add_argument("--range", nargs=2, required=True, metavar=("LO", "HI"), help="the parameter range")
    p.add_argument("--variable", help="state variable on the diagram's y axis (default the first)")
    p.add_argument("--max-steps", type=int, default=600, help="continuation steps per branch and direction")
    p.add_argument("--no-cycles", dest="cycles", action="store_false",
                   help="do not continue the limit cycles born at Hopf points (flows)")
    add_model_options(p, model=False)
    add_reading_options(p)
    p.set_defaults(func=run)


def run(args):
    from .. import jobs

    result = jobs.analyze_bifurcation(
        args.model, args.param, args.range[0], args.range[1], params=args.params,
        overrides=parse_assignments(args.overrides, "--set"),
        variants=parse_assignments(args.variants, "--variant"), seed=args.seed, reading=args.reading,
        out=args.out, json=args.json, variable=args.variable, max_steps=args.max_steps,
        cycles=args.cycles)
    s = result.summary  # results, with or without -q (which silences progress only)
    unit = "" if s["param_unit"] in ("1", "") else f" {s['param_unit']}"
    from ..dynamics import state_text

    for pt in s["points"]:
        state = state_text(pt["state"], s.get("units", {}), limit=3)
        say(args, f"{pt['type']:16s} {s['param']} = {pt['value']:.6g}{unit}   ({state})")
    for pt in s.get("cycle_points", []):
        say(args, f"{pt['type']:16s} {s['param']} = {pt['value']:.6g}{unit}   "
                  f"(period {_period_text(pt['period'], s['time_unit'])})")
    if not s["points"]:
        say(args, f"no bifurcation of equilibria found for {s['param']} in [{s['range'][0]:g}, "
                  f"{s['range'][1]:g}]{unit} ({len(s['branches'])} branch(es))")
    for note in s.get("notes", []):
        say(args, "note:", note)
    print_paths(result, args)
    return 0


def _period_text(period, time_unit):
    """A cycle's period for reading: in ms when the model's time unit is the second ("1 second"),
    else in its own time unit without a leading "1 " ("2.5 tau", "6.28 1" -> "6.28")."""
    text = str(time_unit or "").strip()
    if text in ("1 second", "second", "s", "1 s"):
        return f"{period * 1e3:.6g} ms"
    if text.startswith("1 "):
        text = text[2:]
    return f"{period:.6g} {text}".strip() if text not in ("", "1") else f"{period:.6g}"
