"""biodyn analyze lyapunov-function MODEL [--candidate EXPR]"""

from __future__ import annotations

import argparse

from . import add_model_options, parse_assignments
from ._output import say
from .analyze_lyapunov import add_box_option, add_reading_options, format_state_value, print_paths


def register(sub):
    p = sub.add_parser(
        "lyapunov-function", help="Lyapunov functions: quadratic certificates, or check your own V",
        description="Without --candidate: at every stable fixed point, the quadratic Lyapunov function "
        "V = z'Pz from the Lyapunov equation A'P + PA = -I (z the state relative to the point, scaled "
        "by the box of the spec's [ranges]) and an estimate of its region of attraction: the largest "
        "sublevel set V < c on which dV/dt < 0 at every sampled state. With --candidate EXPR: dV/dt = "
        "grad V . f derived symbolically from the model's equations (sympy), its sign where sympy can "
        "decide it (e.g. 'nonpositive'), and where it is negative, zero or positive on sampled states. "
        "EXPR uses the state variables (values in SI), parameters and unit names; its units are checked (terms of a sum alike, exp/log of dimensionless arguments) and dV/dt is reported in its units per second. Single-unit flows "
        "only. Writes OUT/MODEL_lyapunov_function.png; --json FILE writes {V, Vdot, symbolic, "
        "fractions, samples, region_of_attraction, P, ...}.",
        epilog="examples:\n  biodyn analyze lyapunov-function duffing\n"
               "  biodyn analyze lyapunov-function duffing --candidate 'y**2/2 - x**2/2 + x**4/4'\n"
               "  biodyn analyze lyapunov-function wilson_cowan --params bistable --json wc_lyap.json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="model name (biodyn list models) or spec path")
    p.add_argument("--candidate", metavar="EXPR", help="your V, an expression in the state variables")
    p.add_argument("--samples", type=int, default=4000, help="sampled states in the box (default 4000)")
    p.add_argument("--x", help="variable on the x axis of the figure (default the first)")
    p.add_argument("--y", help="variable on the y axis of the figure (default the second)")
    add_box_option(p)
    add_model_options(p, model=False)
    add_reading_options(p)
    p.set_defaults(func=run)


def run(args):
    from .. import jobs

    result = jobs.analyze_lyapunov_function(
        args.model, candidate=args.candidate, params=args.params,
        overrides=parse_assignments(args.overrides, "--set"),
        variants=parse_assignments(args.variants, "--variant"), seed=args.seed, reading=args.reading,
        out=args.out, json=args.json, ranges={r[0]: (r[1], r[2]) for r in args.ranges},
        samples=args.samples, x=args.x, y=args.y)
    # results, with or without -q (which silences progress only)
    s = result.summary
    unit = s.get("time_unit", "time unit")
    say(args, f"V = {s['V']}" + (f"   (in {s['V_unit']})" if "V_unit" in s else ""))
    if "Vdot_unit" in s:
        per = s["Vdot_unit"]
        if s.get("Vdot_per_second", 1.0) != 1.0:
            per += f"; x {s['Vdot_per_second']:g} for {s['Vdot_unit_per_second']}"
        say(args, f"dV/dt = {s['Vdot']}   (in {per}; symbolically: {s['symbolic']})")
    else:
        say(args, f"dV/dt = {s['Vdot']}   (per {unit}; symbolically: {s['symbolic']})")
    f = s["fractions"]
    say(args, f"on {s['n_samples']} samples: dV/dt < 0 at {100 * f['negative']:.2f} %, = 0 at "
          f"{100 * f['zero']:.2f} %, > 0 at {100 * f['positive']:.2f} %")
    for c in s["certificates"] or ([s] if "region_of_attraction" in s else []):
        st = ", ".join(f"{k} = {format_state_value(v, s['units'].get(k))}"
                       for k, v in list(c["fixed_point"]["state"].items())[:4])
        roa = c["region_of_attraction"]
        say(args, f"stable point {st}: V < {roa['level']:.6g} is in its basin (sampled estimate; "
              f"{100 * roa['fraction_of_samples_inside']:.1f} % of the box samples)")
    print_paths(result, args)
    return 0
