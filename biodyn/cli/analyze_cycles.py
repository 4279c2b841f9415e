"""biodyn analyze cycles MODEL"""

from __future__ import annotations

import argparse

from . import add_model_options, parse_assignments
from ._output import say
from .analyze_lyapunov import add_reading_options, print_paths


def register(sub):
    p = sub.add_parser(
        "cycles", help="limit cycles: period, amplitude, Floquet multipliers, stability",
        description="Find the limit cycle reached from the model's initial state by multiple "
        "shooting with the variational equations (a stiff-capable integrator, LSODA), with its "
        "period, amplitude (max/min per variable), Floquet multipliers and stability; for a map, "
        "its periodic orbits of periods 2..--max-period with their multipliers. Smooth flows only: "
        "integrate-and-fire models (threshold and reset) are refused. Writes OUT/MODEL_cycles.png "
        "(phase plane with the fixed points; multipliers and the unit circle); --json FILE writes "
        "{model, cycles: [{period, max, min, multipliers, exponents, stable, orbit}], fixed_points, "
        "notes} (states in SI, periods in the model's time unit).",
        epilog="examples:\n  biodyn analyze cycles van_der_pol\n"
               "  biodyn analyze cycles hodgkin_huxley --set I='10 uA/cm**2' --json hh.json\n"
               "  biodyn analyze cycles logistic --set r=3.5 --max-period 4",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="model name (biodyn list models) or spec path")
    add_model_options(p, model=False)
    add_reading_options(p)
    p.add_argument("--segments", type=int, default=4, help="shooting segments (default 4)")
    p.add_argument("--max-period", type=int, default=4, help="maps: largest period searched (default 4)")
    p.set_defaults(func=run)


from .analyze_bifurcation import _period_text  # noqa: E402  one reading of a period


def run(args):
    from .. import jobs

    result = jobs.analyze_cycles(
        args.model, params=args.params, overrides=parse_assignments(args.overrides, "--set"),
        variants=parse_assignments(args.variants, "--variant"), seed=args.seed, reading=args.reading,
        out=args.out, json=args.json, segments=args.segments, max_period=args.max_period)
    s = result.summary
    # results, with or without -q (which silences progress only)
    for c in s["cycles"]:
        stab = "stable" if c["stable"] else "unstable"
        mus = ", ".join(f"{complex(*m):.4g}" for m in c["multipliers"][:4])
        if c.get("kind") == "orbit":
            say(args, f"period-{c['period']} orbit ({stab}); multipliers {mus}")
        else:
            amp = ", ".join(f"{k} in [{s_:.4g}, {c['max'][k]:.4g}]"
                            for k, s_ in list(c["min"].items())[:3])
            say(args, f"limit cycle ({stab}): period {_period_text(c['period'], c['time_unit'])}; {amp}; "
                  f"multipliers {mus}")
    for note in s.get("notes", []):
        say(args, note)
    if not s["cycles"] and not s.get("notes"):
        say(args, "no periodic orbit found")
    print_paths(result, args)
    return 0
