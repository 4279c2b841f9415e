"""biodyn compare NAME"""

from __future__ import annotations

import argparse

from . import seed_arg


def _names():
    from ..compare import COMPARISONS

    return COMPARISONS


def register(sub):
    comps = _names()
    listing = "\n".join(f"  {name:<22} {spec.doc}" for name, spec in comps.items())
    p = sub.add_parser(
        "compare", help="a biological learning rule and its artificial counterpart on the same task",
        description="Train a rule of the catalog (in Brian2) and its artificial counterpart "
        "(biodyn.ann) on one dataset drawn from the seed, with matched learning rates, and put them "
        "on the same axes: the task measure over time, the gradient alignment cos(bio update, "
        "-grad L), both trajectories in a shared PCA projection, rates against the "
        "linearisations. Writes OUT/NAME.png; --json FILE writes {comparison, seed, versions, "
        "series, summary}.\n\ncomparisons:\n" + listing,
        epilog="examples:\n  biodyn compare oja_vs_backprop\n"
               "  biodyn compare hebb_vs_delta --set inputs=orthonormal --json hebb.json\n"
               "  biodyn compare bcm_vs_gradient --set tau_theta='1 second' --seed 3\n"
               "  biodyn compare rnn_lyapunov_vs_bptt --set g='[0.5, 1, 2, 3]' --set N=400\n"
               "  biodyn compare eprop_vs_bptt --set hidden=32 --set epochs=20 --json eprop.json\n"
               "  biodyn compare oja_vs_backprop --settings     # list the settings and defaults",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", metavar="NAME", help="the comparison: " + ", ".join(comps))
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                   help="change a setting of the comparison, with its unit where it has one: "
                   "--set eta='2 Hz' --set k=3 (repeatable)")
    p.add_argument("--seed", type=seed_arg, default=0, help="random seed of the dataset and the runs "
                   "(default 0; recorded in the outputs)")
    p.add_argument("--target", default="numpy", help="Brian2 target of the biological learner: numpy "
                   "(default; the networks are small), cython, cpp_standalone, auto")
    p.add_argument("--out", "-o", default="results", help="folder of the figure (default results/)")
    p.add_argument("--json", metavar="FILE", help="also write the series and summary as JSON to "
                   "FILE ('-': to stdout, alone there, for jq)")
    p.add_argument("--settings", dest="list_settings", action="store_true",
                   help="print the comparison's settings (their defaults, changed by any --set) and stop")
    p.set_defaults(func=run)


def _parse(items):
    from ..errors import SpecError

    out = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise SpecError("<command line>", "--set", "KEY=VALUE", repr(item))
        out[key.strip()] = value.strip().strip("'\"")
    return out


def _check_name(name):
    from ..errors import SpecError, suggest

    comps = _names()
    if name not in comps:
        raise SpecError("<command line>", "NAME", "a comparison (" + ", ".join(comps) + ")",
                        repr(name), suggest(name, comps))
    return comps[name]


def run(args):
    from .. import jobs

    spec = _check_name(args.name)
    if args.list_settings:  # the values that would run: defaults with the --set changes (checked)
        from ..compare._base import resolve_settings

        given = _parse(args.settings)
        resolve_settings(args.name, spec.settings, given)
        width = max(len(k) for k in spec.settings) + 2
        for key, s in spec.settings.items():
            value = given.get(key, s.default)
            value = "(see its line)" if value is None else value
            print(f"{key:<{width}}{str(value):<28} {s.doc}")
        return 0
    from .. import build
    from ._output import report_of

    with build.progress(report_of(args)):  # the learners' Brian2 runs, on stderr
        result = jobs.compare(args.name, seed=args.seed, target=args.target,
                              settings=_parse(args.settings), out=args.out, json=args.json)
    from ._output import print_paths, say

    say(args, _verdict(result.summary))
    print_paths(result, args)
    return 0


def _fmt(v, spec=".3g"):
    return "n/a" if v is None else format(float(v), spec)


def _verdict(doc):
    """One or two lines on what the comparison found."""
    name, s = doc["comparison"], doc["summary"]
    if name == "oja_vs_backprop":
        return (f"oja_vs_backprop: final subspace angles {_fmt(s['final_angle_bio'])} (Oja, Brian2), "
                f"{_fmt(s['final_angle_ann'])} rad (autoencoder); rates {_fmt(s['rate_bio'])} (Brian2), "
                f"{_fmt(s['rate_flow'])} (averaged flow) vs gap {_fmt(s['gap'])}; autoencoder "
                f"{_fmt(s['rate_ann'])} vs linearisation {_fmt(s['linearisation_ann']['gd_map_rate'])}")
    if name == "bcm_vs_gradient":
        return (f"bcm_vs_gradient: BCM ends {_fmt(s['final_distance_bio'])} from selective state "
                f"{s['final_state_bio']}, the ascent on R {_fmt(s['final_distance_ann'])} from state "
                f"{s['final_state_ann']}; median alignment {_fmt(s['median_alignment'])}")
    if name == "hebb_vs_delta":
        return (f"hebb_vs_delta ({s['inputs']} inputs): |C_yx - W_LS| = {_fmt(s['fixed_point_distance'])}; "
                f"Hebb ends {_fmt(s['final_error_hebb_bio'])} from C_yx, the delta rule "
                f"{_fmt(s['final_error_ls_ann'])} from W_LS; final alignment {_fmt(s['final_alignment'])}")
    if name == "rnn_lyapunov_vs_bptt":
        return (f"rnn_lyapunov_vs_bptt: lambda_max crosses 0 at g = {_fmt(s['crossing_g'])} "
                f"(BPTT growth at g = {_fmt(s['crossing_g_bptt'])}; N -> infinity: 1); largest "
                f"|BPTT rate - lambda_max| = {_fmt(s['max_rate_difference'])} per {s['time_unit']}")
    if name in ("eprop_vs_bptt", "rstdp_vs_bptt"):
        parts = []
        for L in s["learners"]:
            r = s["per_learner"][L]
            d = r["dynamics"]
            lam = "-inf" if d["lambda_max_per_s"] is None else \
                f"{d['lambda_max_per_s']:.3g} +- {_fmt(d['lambda_max_se_per_s'], '.2g')}"
            parts.append(f"{L}: {s['metric']} {_fmt(r['final_test_metric'])}, alignment "
                         f"{_fmt(r['mean_alignment'])}, lambda_max {lam} /s, {_fmt(d['firing']['rate_hz'])} Hz")
        return f"{name} ({s['task']['name']}): " + "; ".join(parts)
    return name
