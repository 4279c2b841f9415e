"""biodyn analyze spectra SWEEP_DIR"""

from __future__ import annotations

import argparse

from . import seed_arg
from ._output import print_paths, say


def register(sub):
    p = sub.add_parser(
        "spectra", help="Lyapunov spectra of a train sweep's networks against their performance",
        description="Read a finished sweep with job = \"train\" and lyapunov_every set: each network's "
        "final performance and its Lyapunov spectrum (at the last epoch, or --epoch). For every spectrum "
        "feature (λ1, mean, median, variance, number positive, Kaplan-Yorke dimension, entropy rate = "
        "sum of positive exponents, fraction within --zero-tol of 0) its Spearman correlation with "
        "performance with a confidence interval (Fisher z with the Bonett & Wright 2000 standard error); "
        "an AeLLE-style autoencoder (Vogt, Zheng & Shlizerman 2024) giving a 2-3 dimensional latent of "
        "the sorted spectra; the cross-validated accuracy of a logistic read-out classifying good (top "
        "third) against poor (bottom third) networks from the latent and from the best single feature. "
        "Writes OUT/spectra_vs_performance.png; --json FILE writes the numbers.",
        epilog="examples:\n  biodyn sweep examples/sweeps/spectra_delayed_copy.toml\n"
               "  biodyn analyze spectra results/spectra_delayed_copy --json spectra.json\n"
               "  biodyn analyze spectra results/spectra_delayed_copy --epoch 0 --performance test_metric",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sweep_dir", metavar="SWEEP_DIR", help="the folder of a finished train sweep")
    p.add_argument("--epoch", type=int, help="read the spectra recorded at this epoch (default: the last)")
    p.add_argument("--performance", default="test_loss",
                   choices=["test_loss", "test_metric", "train_loss", "train_metric"],
                   help="performance measure (losses are negated: higher is better; default test_loss)")
    p.add_argument("--zero-tol", type=float, default=0.01,
                   help="|λ| below this (per step) counts as near zero (default 0.01)")
    p.add_argument("--level", type=float, default=0.95, help="confidence level of the intervals (default 0.95)")
    p.add_argument("--latent", type=int, default=2, choices=[1, 2, 3], help="latent dimensions (default 2)")
    p.add_argument("--length", type=int, help="exponents fed to the autoencoder (default: the shortest spectrum's)")
    p.add_argument("--prediction-weight", type=float, default=1.0,
                   help="weight of the autoencoder's linear performance head, as in AeLLE (0: label-free; default 1)")
    p.add_argument("--ae-steps", type=int, default=1500, help="Adam steps of the autoencoder (default 1500)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (stratified; default 5)")
    p.add_argument("--repeats", type=int, default=5, help="cross-validation shuffles (default 5)")
    p.add_argument("--seed", type=seed_arg, default=0, help="seed of the autoencoder and the folds (default 0)")
    p.add_argument("--out", "-o", help="folder of the figure (default: SWEEP_DIR)")
    p.add_argument("--json", metavar="FILE", help="also write the numbers as JSON to FILE ('-': stdout)")
    p.set_defaults(func=run)


def run(args):
    from .. import jobs

    result = jobs.analyze_spectra(
        args.sweep_dir, epoch=args.epoch, performance=args.performance, zero_tol=args.zero_tol, level=args.level,
        latent=args.latent, length=args.length, prediction_weight=args.prediction_weight, steps=args.ae_steps,
        folds=args.folds, repeats=args.repeats, seed=args.seed, out=args.out, json=args.json)
    s = result.summary
    say(args, f"{s['n_networks']} networks ({s['task']}), performance {s['performance']['label']}; "
              f"Spearman r_s with {100 * s['settings']['level']:g}% CI ({s['settings']['ci_method']}):")
    for name, c in s["correlations"].items():
        if c["r"] is None:
            say(args, f"  {name:20s} —  ({c['note']})")
        else:
            say(args, f"  {name:20s} {c['r']:+.3f}  [{c['ci'][0]:+.3f}, {c['ci'][1]:+.3f}]")
    ro = s["readout"]
    chosen = ", ".join(f"{k} ×{v}" for k, v in ro["best_feature"]["chosen"].items())
    say(args, f"good vs poor ({len(s['classes']['good'])} + {len(s['classes']['poor'])} networks), "
              f"{ro['latent']['folds']}-fold CV × {ro['latent']['repeats']}: "
              f"AE latent (d = {s['autoencoder']['latent']}) "
              f"{ro['latent']['mean']:.3f} ± {ro['latent']['sd']:.3f}; best single feature "
              f"{ro['best_feature']['mean']:.3f} ± {ro['best_feature']['sd']:.3f} ({chosen})")
    for note in s.get("notes", []):
        say(args, "note:", note)
    print_paths(result, args)
    return 0
