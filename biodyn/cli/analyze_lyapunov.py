"""biodyn analyze lyapunov MODEL"""

from __future__ import annotations

import argparse
import sys

from . import add_model_options, parse_assignments
from ._output import report_of, say


def add_box_option(p):
    """``--range VAR LO HI`` (repeatable): the box of the state space an analysis samples."""
    p.add_argument("--range", dest="ranges", nargs=3, action="append", default=[],
                   metavar=("VAR", "LO", "HI"),
                   help="the box of VAR, with units (--range v '-80 mV' '-40 mV'; repeatable; default "
                   "the spec's [ranges])")


def add_reading_options(p):
    """Options of every analysis: --reading, --out, --json."""
    p.add_argument("--reading", default="auto", choices=["auto", "network", "mean_field"],
                   help="for populations with a [mean_field]: the network or its mean field "
                   "(auto: the mean field for spiking networks)")
    p.add_argument("--out", "-o", default="results", help="folder of the figure (default results/)")
    p.add_argument("--json", metavar="FILE", help="also write the numbers as JSON to FILE "
                   "('-': to stdout, alone there, for jq)")


def print_paths(result, args=None):
    from ._output import print_paths as _print_paths

    _print_paths(result, args)


def register(sub):
    p = sub.add_parser(
        "lyapunov", help="Lyapunov exponents (QR method; two trajectories for spiking networks)",
        description="Lyapunov spectrum of a model by the QR method (Benettin; Shimada & Nagashima), "
        "the variational equation integrated with the state, or the largest exponent from two "
        "trajectories (numpy, or two copies of the network in one Brian2 run — the method for "
        "spiking networks). Times are numbers in the model's time unit or quantities ('2 s'); maps "
        "count iterations. Writes OUT/MODEL_lyapunov.png; --json FILE writes {model, exponents, "
        "standard_error, time_unit, kaplan_yorke, entropy_rate, duration, ...}.",
        epilog="examples:\n  biodyn analyze lyapunov lorenz --duration 200 --dt 0.01\n"
               "  biodyn analyze lyapunov henon --duration 20000 --json henon.json\n"
               "  biodyn analyze lyapunov rate_rnn --set N=500 --k 50 --duration 100\n"
               "  biodyn analyze lyapunov brunel_2000 --set N_E=2000 --duration '0.5 s' --target cpp_standalone",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="model name (biodyn list models) or spec path")
    p.add_argument("--duration", help="measured time after the transients (time units, or a quantity)")
    p.add_argument("--dt", help="time step (time units, or a quantity)")
    p.add_argument("--transient", help="time discarded first (default 10%% of the duration)")
    p.add_argument("--k", type=int, help="number of exponents (QR; default all)")
    p.add_argument("--method", default="auto", choices=["auto", "qr", "two-trajectory", "brian2"],
                   help="auto: brian2 for spiking networks, qr otherwise")
    p.add_argument("--integrator", default="rk4", choices=["rk4", "euler"], help="numpy integrator of flows")
    p.add_argument("--reorth", type=int, metavar="STEPS",
                   help="steps between QR factorisations / renormalisations (default adaptive / one time unit)")
    p.add_argument("--segments", type=int, default=None,
                   help="fixed segments for the standard error (default: batch means, about sqrt(n) "
                   "batches, merged while correlated; Flegal & Jones 2010)")
    p.add_argument("--target", default="auto", help="Brian2 target of --method brian2: numpy, cython, "
                   "cpp_standalone, auto")
    p.add_argument("--d0", type=float, help="separation of the two trajectories (SI)")
    add_model_options(p, model=False)
    add_reading_options(p)
    p.set_defaults(func=run)


def run(args):
    from .. import jobs

    result = jobs.analyze_lyapunov(
        args.model, params=args.params, overrides=parse_assignments(args.overrides, "--set"),
        variants=parse_assignments(args.variants, "--variant"), seed=args.seed, reading=args.reading,
        out=args.out, json=args.json, duration=args.duration, dt=args.dt, transient=args.transient,
        k=args.k, method=args.method, integrator=args.integrator, reorth_every=args.reorth,
        segments=args.segments, target=args.target, d0=args.d0,
        report=report_of(args))
    # results, with or without -q (which silences progress only)
    s = result.summary
    lam = s["exponents"]
    se = s["standard_error"]
    shown = ", ".join("-inf (see notes)" if v is None else f"{v:.4g} ± {e:.2g}" if e is not None
                      else f"{v:.4g}" for v, e in list(zip(lam, se))[:8])
    say(args, f"{s['model']} ({s['method']}): λ = {shown}{', ...' if len(lam) > 8 else ''} "
              f"per {s['time_unit']}")
    for note in s.get("notes", []):
        say(args, "note:", note)
    if s.get("standard_error_method"):
        say(args, f"standard error: {s['standard_error_method']}")
    if s.get("kaplan_yorke") is not None:
        say(args, f"Kaplan-Yorke dimension {s['kaplan_yorke']:.4g}, entropy rate "
                  f"{s['entropy_rate']:.4g} per {s['time_unit']}")
    for warning in s.get("warnings", []):
        print(f"biodyn: warning: {warning}", file=sys.stderr)
    print_paths(result, args)
    return 0


def format_state_value(value, unit):
    """A state value for printing, in the unit a neuroscientist reads: mV for volts, pA for
    amps, nS for siemens, Hz for hertz; SI with its unit otherwise (nothing for "1")."""
    scale = {"V": (1e3, "mV"), "volt": (1e3, "mV"), "A": (1e12, "pA"), "amp": (1e12, "pA"),
             "S": (1e9, "nS"), "siemens": (1e9, "nS"), "Hz": (1.0, "Hz"), "hertz": (1.0, "Hz")}
    unit = (unit or "1").strip()
    if unit in ("1", ""):
        return f"{value:.6g}"
    if unit in scale:
        k, u = scale[unit]
        return f"{value * k:.6g} {u}"
    return f"{value:.6g} {unit}"
