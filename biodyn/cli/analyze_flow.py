"""biodyn analyze flow PROTOCOL"""

from __future__ import annotations

import argparse

from . import add_model_options, parse_assignments


def register(sub):
    p = sub.add_parser(
        "flow", help="a learning rule as a flow: averaged field, gradient test, objective, stable states",
        description="Read a protocol as a learning scenario (a rule plus the statistics of its inputs) "
        "and answer: the averaged flow of the weights (derived from the rule's equations), whether it "
        "is a gradient flow (Jacobian asymmetry over the domain), the potential of its gradient part "
        "and the fraction it explains, the literature's objective checked against the field, the "
        "fixed points and their stability, the Euler step limit of rate rules, and where the Brian2 "
        "replay of the same protocol ends. Writes OUT/PROTOCOL_flow.png; --json FILE writes "
        "{protocol, model, gradient, asymmetry, gradient_fraction, objective, objective_check (with "
        "'lyapunov': where dV/dt of V = -L is negative/zero/positive), "
        "fixed_points, simulation, euler_limit, seed, versions} (rates per second).",
        epilog="examples:\n  biodyn analyze flow oja_pca\n"
               "  biodyn analyze flow bcm_selectivity --json bcm.json\n"
               "  biodyn analyze flow bcm_selectivity --aux state      # threshold as a state: not a gradient\n"
               "  biodyn analyze flow stdp_correlated_asymmetric --target numpy --stimulus duration='20 second'\n"
               "  biodyn analyze flow triplet_poisson --no-simulation\n"
               "  biodyn analyze flow clopath_correlated                 # no reduction: measured in Brian2\n"
               "  biodyn analyze flow oja_pca --field measured --target numpy",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("protocol", help="protocol name (biodyn list protocols) or spec path")
    add_model_options(p)
    p.add_argument("--condition", type=int, default=None,
                   help="index of the condition whose input statistics are analysed (default: the "
                   "protocol's flow.condition, else 0)")
    p.add_argument("--aux", choices=["adiabatic", "state"], default=None,
                   help="rate rules with other variables (BCM's threshold): at their average "
                   "(adiabatic, default) or as state variables of the flow")
    p.add_argument("--field", choices=["auto", "analytic", "measured"], default="auto",
                   help="where the averaged field comes from: the rule's reduction, many short Brian2 "
                   "runs, or the reduction where one exists (auto, default)")
    p.add_argument("--objective", default=None, help="objective to check (a key of "
                   "biodyn.flow.OBJECTIVES, or 'none'; default: the rule's)")
    p.add_argument("--stimulus", dest="stimulus", action="append", default=[], metavar="KEY=VALUE",
                   help="change a stimulus entry of the protocol for the replay and the analysis "
                   "(--stimulus duration='20 second')")
    p.add_argument("--target", default="auto", help="Brian2 target of the replay: numpy, cython, "
                   "cpp_standalone, auto (default)")
    p.add_argument("--no-simulation", dest="simulate", action="store_false",
                   help="skip the Brian2 replay (no simulated trajectories)")
    p.add_argument("--out", "-o", default="results", help="folder of the figure (default results/)")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON to FILE")
    p.set_defaults(func=run)


def _stimulus(items):
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        if not name or not _:
            from ..errors import SpecError

            raise SpecError("<command line>", "--stimulus", "KEY=VALUE", repr(item))
        value = value.strip().strip("'\"")
        try:
            out[name.strip()] = int(value)
        except ValueError:
            out[name.strip()] = value
    return out


def run(args):
    from .. import jobs

    result = jobs.analyze_flow(
        args.protocol, model=args.model, params=args.params,
        overrides=parse_assignments(args.overrides, "--set"),
        variants=parse_assignments(args.variants, "--variant"), condition=args.condition,
        aux=args.aux, objective=args.objective, field=args.field, simulate=args.simulate,
        target=args.target,
        seed=args.seed, stimulus=_stimulus(args.stimulus), out=args.out, json=args.json,
        report=None if args.quiet else "text")
    if not args.quiet:
        print(result.analysis.verdict())
    for key in ("figure", "json"):
        if key in result.paths:
            print(result.paths[key])
    return 0
