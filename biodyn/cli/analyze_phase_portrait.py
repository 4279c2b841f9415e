"""biodyn analyze phase-portrait MODEL --x VAR --y VAR"""

from __future__ import annotations

import argparse

from . import add_model_options, parse_assignments
from .analyze_lyapunov import add_reading_options, print_paths


def register(sub):
    p = sub.add_parser(
        "phase-portrait", help="vector field, nullclines, trajectories and fixed points on one figure",
        description="Draw the phase portrait of a model on two state variables: the vector field (the "
        "displacement F(x) - x for maps), the nullclines (for maps the curves x_next = x, y_next = y), "
        "trajectories and fixed points; a phase line for one-dimensional systems. With more than two "
        "state components the field is drawn on the plane through a reference state (the first stable "
        "fixed point, else the initial state). The stable (teal, dashed) and unstable (magenta) "
        "manifolds of saddles of a flow (up to 10 components) are drawn and written to the JSON (key "
        "'manifolds', each orbit with where it ends: 'fixed point', 'left the box' or 'bounded'); "
        "--no-manifolds leaves them out. "
        "Writes OUT/MODEL_phase_portrait_X_Y.png.",
        epilog="examples:\n  biodyn analyze phase-portrait van_der_pol\n"
               "  biodyn analyze phase-portrait wilson_cowan --x E --y I --params bistable\n"
               "  biodyn analyze phase-portrait lorenz --x x --y z --duration 30\n"
               "  biodyn analyze phase-portrait duffing   # saddle with its manifolds",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="model name (biodyn list models) or spec path")
    p.add_argument("--x", help="variable on the x axis (default the first)")
    p.add_argument("--y", help="variable on the y axis (default the second)")
    p.add_argument("--duration", help="length of the trajectories (time units or a quantity)")
    p.add_argument("--dt", help="time step (time units or a quantity)")
    p.add_argument("--trajectories", type=int, default=4, help="number of trajectories (default 4)")
    p.add_argument("--grid", type=int, default=25, help="grid points per axis of the vector field")
    p.add_argument("--no-manifolds", dest="manifolds", action="store_false",
                   help="do not compute the stable and unstable manifolds of saddles")
    add_model_options(p, model=False)
    add_reading_options(p)
    p.set_defaults(func=run)


def run(args):
    from .. import jobs

    result = jobs.analyze_phase_portrait(
        args.model, x=args.x, y=args.y, params=args.params,
        overrides=parse_assignments(args.overrides, "--set"),
        variants=parse_assignments(args.variants, "--variant"), seed=args.seed, reading=args.reading,
        out=args.out, json=args.json, duration=args.duration, dt=args.dt,
        n_trajectories=args.trajectories, grid=args.grid, manifolds=args.manifolds)
    print_paths(result, args)
    return 0
