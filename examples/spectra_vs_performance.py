"""Lyapunov spectra against performance: the whole study, in minutes on 2 cores.

Forty vanilla tanh RNNs (H = 16) are trained briefly on delayed_copy (delay 5 steps) from initial
recurrent gains g in [0.5, 3] (8 values) x 5 replicate seeds (examples/sweeps/spectra_delayed_copy.toml,
a sweep with job = "train"); each records its Lyapunov spectrum under the task's input at epoch 0 and
at the end. Then, as Vogt, Puelma Touzel, Shlizerman & Lajoie (2022) and AeLLE (Vogt, Zheng &
Shlizerman 2024) ask: which features of the spectrum go with the final test loss (Spearman r_s with
95% CIs), and can a linear read-out of an autoencoder's 2-D latent of the spectra tell the good
third of the networks from the poor third as well as the best single feature? Asked twice: with
the spectra at the end of training, and with those at initialisation (epoch 0), which predict
before any training is done.

The same from the command line:
    biodyn sweep examples/sweeps/spectra_delayed_copy.toml --workers 2
    biodyn analyze spectra results/spectra_delayed_copy --json spectra.json
    biodyn analyze spectra results/spectra_delayed_copy --epoch 0 --out results/spectra_epoch0

Run:  python examples/spectra_vs_performance.py [OUTPUT_FOLDER]   (default results/spectra_delayed_copy)
"""

import sys
import time
from pathlib import Path

from biodyn import jobs, sweep

HERE = Path(__file__).resolve().parent


def report(doc, title):
    print(f"\n{title}: {doc['n_networks']} networks, performance = {doc['performance']['label']}")
    print(f"  {'feature':20s} {'Spearman r_s':>12s}   95% CI (Fisher z, Bonett-Wright SE)")
    for name, c in doc["correlations"].items():
        if c["r"] is None:
            print(f"  {name:20s} {'—':>12s}   ({c['note']})")
        else:
            print(f"  {name:20s} {c['r']:+12.3f}   [{c['ci'][0]:+.3f}, {c['ci'][1]:+.3f}]")
    ro = doc["readout"]
    print(f"  good vs poor ({len(doc['classes']['good'])} + {len(doc['classes']['poor'])} networks), "
          f"{ro['latent']['folds']}-fold CV x {ro['latent']['repeats']} shuffles:")
    lat = ro["latent"]
    print(f"    AE latent (d = {doc['autoencoder']['latent']}):        {lat['mean']:.3f} ± {lat['sd']:.3f}")
    chosen = ", ".join(f"{k} x{v}" for k, v in ro["best_feature"]["chosen"].items())
    print(f"    best single feature (per fold): {ro['best_feature']['mean']:.3f} ± {ro['best_feature']['sd']:.3f}"
          f"  ({chosen})")


def main(out=None):
    spec = sweep.load(HERE / "sweeps" / "spectra_delayed_copy.toml")
    out = Path(out or "results/spectra_delayed_copy")
    print(f"sweep {spec.name}: {len(spec.points)} networks, job {spec.job}, seed {spec.seed}")
    t0 = time.perf_counter()
    result = sweep.run(spec, out=out, workers=2)
    t_sweep = time.perf_counter() - t0
    print(f"trained on {result.executor}: {result.computed} computed, {result.skipped} finished earlier, "
          f"{t_sweep:.0f} s")
    if not result.ok:
        print(f"failed points: {', '.join(result.failed)}")
        return 1
    t1 = time.perf_counter()
    final = jobs.analyze_spectra(out, json=out / "spectra.json")
    t_final = time.perf_counter() - t1
    report(final.summary, "spectra at the end of training")
    t2 = time.perf_counter()
    early = jobs.analyze_spectra(out, epoch=0, json=out / "spectra_epoch0.json", out=out / "epoch0")
    t_early = time.perf_counter() - t2
    report(early.summary, "spectra at initialisation (epoch 0)")
    print(f"\nwall time: sweep {t_sweep:.0f} s, analysis {t_final:.0f} s + {t_early:.0f} s")
    print(final.paths["figure"])
    print(early.paths["figure"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
