"""biodyn analyze flow PROTOCOL"""

from __future__ import annotations

import argparse

from . import (add_model_options, add_stimulus_option, check_protocol_changes, parse_assignments,
               parse_stimulus)
from ._output import print_paths, report_of, say


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
        "fixed_points, simulation, basins (the probability of ending in each stable state from the protocol's initial-weight distribution, with Wilson intervals, against the simulated end states), euler_limit, seed, versions} (rates per second).",
        epilog="examples:\n  biodyn analyze flow oja_pca\n"
               "  biodyn analyze flow bcm_selectivity --json bcm.json\n"
               "  biodyn analyze flow bcm_selectivity --aux state      # threshold as a state: not a gradient\n"
               "  biodyn analyze flow stdp_correlated_asymmetric --target numpy --stimulus duration='20 second'\n"
               "  biodyn analyze flow triplet_poisson --no-simulation\n"
               "  biodyn analyze flow clopath_correlated                 # no reduction: measured in Brian2\n"
               "  biodyn analyze flow oja_pca --field measured --target numpy\n"
               "  biodyn analyze flow --from oja.json --json oja_again.json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("protocol", nargs="?", help="protocol name (biodyn list protocols) or spec path")
    p.add_argument("--from", dest="from_json", metavar="FLOW.json",
                   help="rerun the analysis a JSON report (--json) records: its protocol, model, "
                   "parameter values, overrides, variants, stimulus, seed, target and analysis "
                   "options; --out and --json may be given, nothing else")
    add_model_options(p)
    p.set_defaults(seed=None)  # None: not given (0 by default; --from takes the recorded seed)
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
    add_stimulus_option(p)
    p.add_argument("--target", default="auto", help="Brian2 target of the replay: numpy, cython, "
                   "cpp_standalone, auto (default)")
    p.add_argument("--no-simulation", dest="simulate", action="store_false",
                   help="skip the Brian2 replay (no simulated trajectories)")
    p.add_argument("--basin-samples", type=int, default=400, metavar="N",
                   help="starts drawn from the protocol's initial-weight distribution for the "
                   "probability of ending in each stable state (default 400)")
    p.add_argument("--basin-seeds", type=int, default=0, metavar="K",
                   help="further seeded replays (numpy target) whose end states are compared with "
                   "those probabilities (default 0: the replay's own conditions only)")
    p.add_argument("--no-basins", dest="basins", action="store_false",
                   help="skip the end-state probabilities")
    p.add_argument("--out", "-o", default="results", help="folder of the figure (default results/)")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON to FILE "
                   "('-': to stdout, alone there, for jq)")
    p.set_defaults(func=run)


def run(args):
    from .. import jobs

    if args.from_json is not None:
        return _rerun(args)
    if args.protocol is None:
        from ..errors import SpecError

        raise SpecError("<command line>", "PROTOCOL", "a protocol name or spec path, or --from "
                        "FLOW.json", "nothing", "biodyn list protocols")
    stimulus = parse_stimulus(args.stimulus)
    check_protocol_changes(args.protocol, stimulus=stimulus)
    result = jobs.analyze_flow(
        args.protocol, model=args.model, params=args.params,
        overrides=parse_assignments(args.overrides, "--set"),
        variants=parse_assignments(args.variants, "--variant"), condition=args.condition,
        aux=args.aux, objective=args.objective, field=args.field, simulate=args.simulate,
        target=args.target,
        seed=args.seed or 0, stimulus=stimulus, out=args.out, json=args.json,
        report=report_of(args), basins=_basins(args))
    _report(result, args)
    return 0


def _basins(args):
    from ..errors import SpecError

    if not args.basins:
        return False
    if args.basin_samples < 1:
        raise SpecError("<command line>", "--basin-samples", "a positive integer", str(args.basin_samples))
    if args.basin_seeds < 0:
        raise SpecError("<command line>", "--basin-seeds", "a non-negative integer", str(args.basin_seeds))
    return {"samples": args.basin_samples, "seeds": args.basin_seeds}


def _rerun(args):
    import sys

    from .. import jobs
    from ..errors import SpecError

    given = [flag for flag, value, default in (
        ("PROTOCOL", args.protocol, None), ("--model", args.model, None),
        ("--params", args.params, None), ("--set", args.overrides, []),
        ("--variant", args.variants, []), ("--seed", args.seed, None),
        ("--stimulus", args.stimulus, []), ("--condition", args.condition, None),
        ("--aux", args.aux, None), ("--field", args.field, "auto"),
        ("--objective", args.objective, None), ("--target", args.target, "auto"),
        ("--no-simulation", args.simulate, True), ("--basin-samples", args.basin_samples, 400),
        ("--basin-seeds", args.basin_seeds, 0), ("--no-basins", args.basins, True)) if value != default]
    if given:
        raise SpecError("<command line>", "--from", "only --out and --json beside it (the JSON "
                        "records everything else)", ", ".join(given),
                        "drop them, or analyse the protocol without --from")
    result = jobs.analyze_flow_from(args.from_json, out=args.out, json=args.json,
                                    report=report_of(args))
    for note in result.notes:
        print(f"biodyn: note: {note}", file=sys.stderr)
    _report(result, args)
    return 0


def _report(result, args):
    say(args, result.analysis.verdict())  # a result: printed with -q too
    print_paths(result, args)
