"""biodyn analyze WHAT ...: analyses, one module ``analyze_<what>.py`` per kind of analysis."""

from __future__ import annotations

import argparse
import importlib
import pkgutil


def register(sub):
    p = sub.add_parser("analyze", help="analyse a model or protocol as a dynamical system",
                       description="Analyses of models as vector fields and maps, and of learning "
                       "rules as flows. Each writes a figure; --json FILE writes the numbers "
                       "(biodyn plot FILE redraws the figure from them).",
                       epilog="examples:\n  biodyn analyze fixed-points wilson_cowan --params bistable\n"
                       "  biodyn analyze bifurcation hopf --param mu --range -1 1\n"
                       "  biodyn analyze lyapunov lorenz --json lorenz.json\n"
                       "  biodyn analyze phase-portrait van_der_pol\n"
                       "  biodyn analyze flow oja_pca --json oja.json",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    inner = p.add_subparsers(dest="analysis", metavar="ANALYSIS")
    inner.required = True
    from . import __path__ as cli_path

    for m in sorted(pkgutil.iter_modules(cli_path), key=lambda m: m.name):
        if m.name.startswith("analyze_"):
            importlib.import_module(f"{__package__}.{m.name}").register(inner)
    p.set_defaults(func=lambda args: p.error("choose an analysis"))
