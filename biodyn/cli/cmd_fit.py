"""biodyn fit PROTOCOL --free NAME[,NAME...]"""

from __future__ import annotations

import argparse
import math
import re
import sys

from . import (add_model_options, add_stimulus_option, check_protocol_changes, parse_assignments,
               parse_stimulus)
from ._output import round_to_uncertainty


def register(sub):
    p = sub.add_parser(
        "fit", help="fit a model's parameters to a protocol's published data",
        description="Weighted least squares (weights 1/SEM) of the free parameters of a model "
        "against the data of a protocol, from several starts; prints the fitted values with their "
        "standard errors and correlations (linear approximation at the optimum, Bates & Watts "
        "1988) and chi before and after (each value rounded to the decimal place of its standard "
        "error, given to 2 significant digits; in full where there is none), and writes a parameter-set TOML file that --params accepts, with the "
        "figure (.png: data, start and fitted model per condition) and the fit's JSON (.json; "
        "biodyn plot redraws from it) beside it. The TOML and JSON files keep the fitted values in "
        "full precision: they are what a rerun (--params) uses.",
        epilog="examples:\n"
               "  biodyn fit sjostrom_2001 --free A3_plus,A2_minus --bounds A3_plus=0:0.05 "
               "--bounds A2_minus=0:0.05\n"
               "  biodyn fit sjostrom_2001 --model stdp_triplet --params visual_all_to_all_minimal "
               "--free A3_plus,tau_y --bounds tau_y=20ms:300ms --out fitted.toml\n"
               "  biodyn replay sjostrom_2001 --params fitted.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("protocol", help="protocol name (biodyn list protocols) or spec path")
    add_model_options(p)
    p.add_argument("--free", required=True, action="append", metavar="NAME[,NAME...]",
                   help="parameters to fit (comma-separated; repeatable)")
    p.add_argument("--bounds", action="append", default=[], metavar="NAME=LO:HI",
                   help="bounds of a free parameter, in its unit or with units (tau_y=20ms:300ms); "
                   "default [x0/10, 10 x0] around its start value x0")
    p.add_argument("--starts", type=int, default=4,
                   help="starts: the set's values, then random points of the bounds (default 4)")
    p.add_argument("--max-evaluations", type=int, default=60,
                   help="evaluations of the residuals per start at most (default 60; scipy's max_nfev: the "
                   "finite-difference Jacobian's replays, one per free parameter, and the uncertainty "
                   "probes come on top)")
    p.add_argument("--target", default="auto", help="numpy, cython, cpp_standalone, or auto "
                   "(default; cpp_standalone reruns one compiled build for every evaluation)")
    p.add_argument("--out", "-o", metavar="FILE", help="the parameter-set TOML file to write "
                   "(default PROTOCOL-MODEL-fit.toml)")
    p.add_argument("--batch", "-b", metavar="N|auto", default="auto",
                   help="replays per Brian2 run: 'auto' (default: the starts in lock-step, the "
                   "columns of each finite-difference Jacobian and the uncertainties' probes as "
                   "copies of one run; the same fit to the last bit for amplitudes, ~1e-12 for a free time constant), N, or 1 (one replay per run, "
                   "as before)")
    add_stimulus_option(p)
    p.set_defaults(func=run)


def run(args):
    from .. import catalog, jobs, protocols

    overrides = parse_assignments(args.overrides, "--set")
    variants = parse_assignments(args.variants, "--variant")
    free = [name.strip() for item in args.free for name in item.split(",") if name.strip()]
    spec = protocols.load(args.protocol)
    stimulus = parse_stimulus(args.stimulus)
    check_protocol_changes(spec, stimulus=stimulus)
    model_spec = catalog.load(args.model or spec.model)
    bounds = jobs.parse_bounds(args.bounds, model_spec, free)

    def progress(k, values, chi):
        if not args.quiet:
            shown = ", ".join(f"{n} = {v:.6g}" for n, v in values.items())
            print(f"  evaluation {k}: {shown}: chi = {chi:.4f}" if chi is not None else
                  f"  evaluation {k}: {shown}", file=sys.stderr, flush=True)  # progress

    result = jobs.fit(spec, free=free, model=args.model, params=args.params, bounds=bounds,
                      overrides=overrides, variants=variants, target=args.target, seed=args.seed,
                      starts=args.starts, max_evaluations=args.max_evaluations, out=args.out,
                      progress=progress, stimulus=stimulus or None, batch=args.batch)
    for note in getattr(result, "notes", ()):
        print(f"note: {note}", file=sys.stderr)
    print(f"{spec.name}: {model_spec.name}, {len(free)} free parameter(s), {result.evaluations} "
          f"replays, {len(result.starts)} start(s)")
    unc = getattr(result, "uncertainty", None) or {}
    se, se_s = unc.get("standard_errors") or {}, unc.get("standard_errors_scaled") or {}
    identifiable = bool(se) and unc.get("identifiable", True)
    no_scale = identifiable and not _finite(unc.get("s2"))
    for name in free:
        value = result.values[name]
        line = f"  {name}: {result.start_values[name]} -> "
        if not se:
            line += f"{value} (no ±: the fit reported no standard errors)"
        elif not identifiable or not _finite(se.get(name)):
            line += f"{value} (no ±: J^T J is singular, the data do not separate the free parameters)"
        else:
            unit = unc["units"][unc["parameters"].index(name)]
            unit = "" if unit in ("1", "") else f" {unit}"
            # the value to the decimal place of the ± beside it (each ± to 2 significant digits;
            # the scaled one, in brackets, is read on its own)
            shown, err = _rounded(value, se[name])
            line += f"{shown} ± {err}{unit}"
            if _finite(se_s.get(name)):
                _, err_s = _rounded(value, se_s[name])
                line += f" (± {err_s}{unit} scaled by s² = {unc['s2']:.3g})"
            if name in unc.get("at_bound", ()):
                line += " [at a bound: the ± says little]"
        print(line)
    print(f"  chi: {result.chi_before:.4f} -> {result.chi_after:.4f} over {result.n} conditions")
    if identifiable:
        print("  ± : standard errors from the Jacobian at the optimum, (J^T J)^-1 with the data's "
              "SEMs; scaled: s^2 (J^T J)^-1, s^2 = sum r^2/(n-p) (Bates & Watts 1988); values "
              "rounded to their ± (2 significant digits), in full in the TOML and JSON files")
        if no_scale:
            print(f"  no scaled ±: n - p = {unc.get('dof', 0)} residual degrees of freedom, "
                  "no s^2 to estimate")
        if len(free) > 1:
            width = max(len(n) for n in free)
            print("  correlation:")
            for name, row in zip(unc["parameters"], unc["correlation"]):
                print(f"    {name:{width}s} " + " ".join(f"{c:+.3f}" for c in row))
    elif se:
        print("  the data do not separate these parameters (J^T J is singular): no standard errors; "
              "values in full")
    for path in (result.path, result.figure, result.json):
        print(path)
    return 0


def _finite(x):
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


_VALUE = re.compile(r"^(?P<number>[^ *]+)(?P<unit>(?: |\*\().*)?$")


def _rounded(text, error):
    """A fitted value's text (``0.0065``, ``300.0 ms``, ``1.5*(mV/ms)``, as the TOML file has
    it) with its number rounded to ``error``; and the error, 2 significant digits."""
    m = _VALUE.match(str(text))
    try:
        number = float(m.group("number"))
    except (AttributeError, ValueError):
        return str(text), f"{float(error):.2g}"
    shown, err = round_to_uncertainty(number, error)
    return shown + (m.group("unit") or ""), err
