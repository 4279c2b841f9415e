"""biodyn analyze basins MODEL [--grid N | --samples M]"""

from __future__ import annotations

import argparse

from . import add_model_options, parse_assignments
from ._output import say
from .analyze_lyapunov import add_box_option, add_reading_options, format_state_value, print_paths


def register(sub):
    p = sub.add_parser(
        "basins", help="basins of attraction: which attractor each initial state reaches",
        description="Integrate many initial states of a flow (a grid on a 2-D slice, or states drawn "
        "uniformly in the spec's [ranges] box) and assign each to the attractor it reaches: a fixed "
        "point, a bounded attractor (cycle or chaotic, not told apart) or 'unbounded'. Gives the "
        "fraction of starts per attractor with a Wilson confidence interval, and the basin map of a "
        "2-D slice (with the stable manifolds of saddles for 2-D flows). Writes "
        "OUT/MODEL_basins[_X_Y].png; --json FILE writes {attractors: [{kind, type, state, count, "
        "fraction, interval}], labels, grid_x, grid_y, ...} (states in SI). Default: a 101 x 101 map "
        "for 2-D flows, 2000 sampled states otherwise.",
        epilog="examples:\n  biodyn analyze basins duffing --grid 101 --json duffing_basins.json\n"
               "  biodyn analyze basins wilson_cowan --params bistable\n"
               "  biodyn analyze basins lorenz --samples 500",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="model name (biodyn list models) or spec path")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--grid", type=int, help="points per axis of a basin map on the --x/--y plane")
    g.add_argument("--samples", type=int, help="number of initial states drawn uniformly in the box")
    p.add_argument("--x", help="variable on the x axis of the map (default the first)")
    p.add_argument("--y", help="variable on the y axis of the map (default the second)")
    p.add_argument("--duration", help="integration time per start (time units or a quantity)")
    p.add_argument("--dt", help="time step (time units or a quantity)")
    p.add_argument("--confidence", type=float, default=0.95, help="level of the intervals (default 0.95)")
    add_box_option(p)
    add_model_options(p, model=False)
    add_reading_options(p)
    p.set_defaults(func=run)


def run(args):
    from .. import jobs

    result = jobs.analyze_basins(
        args.model, params=args.params, overrides=parse_assignments(args.overrides, "--set"),
        variants=parse_assignments(args.variants, "--variant"), seed=args.seed, reading=args.reading,
        out=args.out, json=args.json, ranges={r[0]: (r[1], r[2]) for r in args.ranges},
        grid=args.grid, samples=args.samples, x=args.x, y=args.y,
        duration=args.duration, dt=args.dt, confidence=args.confidence)
    # results, with or without -q (which silences progress only)
    s = result.summary
    for a in s["attractors"]:
        where = ""
        if "state" in a:
            where = " at " + ", ".join(f"{k} = {format_state_value(v, s['units'].get(k))}"
                                       for k, v in list(a["state"].items())[:4])
        lo, hi = a["interval"]
        say(args, f"{a['type']}{where}: {100 * a['fraction']:.2f} % of {s['n_starts']} "
              f"[{100 * lo:.2f}, {100 * hi:.2f}] %")
    print_paths(result, args)
    return 0
