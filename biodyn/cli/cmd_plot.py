"""biodyn plot FILE"""

from __future__ import annotations

import argparse


def register(sub):
    p = sub.add_parser(
        "plot", help="redraw the figure of a saved result (JSON) without rerunning it",
        description="Redraw a figure from a saved result: a replay summary (PROTOCOL.json, with "
        "PROTOCOL.figure.npz beside it where the figure shows arrays), the JSON of "
        "`biodyn analyze ... --json` (fixed points, bifurcation, Lyapunov, phase portrait, basins, "
        "Lyapunov function, flow, spectra), "
        "of `biodyn compare --json`, of `biodyn train --json` (its learning curves and spectra; "
        "the --fixed-points figure is not redrawn), of `biodyn analyze spectra --json`, a fit "
        "(PROTOCOL-MODEL-fit.json), a sweep's point record (OUT/points/NAME.json) or its table (OUT/summary.csv).",
        epilog="examples:\n  biodyn plot results/bi_poo_1998.json\n"
               "  biodyn plot lorenz.json --out lorenz_lyapunov.pdf\n"
               "  biodyn plot sweep_out/points/p0003.json -o p0003.png\n"
               "  biodyn plot sweep_out/summary.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE", help="saved result(s): JSON, or a sweep summary.csv")
    p.add_argument("--out", "-o", metavar="FIGURE",
                   help="figure file (.png, .pdf or .svg; default: FILE with .png; one FILE only)")
    p.set_defaults(func=run)


def run(args):
    from .. import jobs
    from ..errors import BiodynError

    if args.out and len(args.files) > 1:
        raise BiodynError("--out names one figure: give one FILE with it")
    for f in args.files:
        print(jobs.redraw(f, out=args.out))
    return 0
