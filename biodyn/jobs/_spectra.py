r"""The spectra job: ``biodyn analyze spectra SWEEP_DIR`` — Lyapunov spectra against performance.

Reads a finished ``job = "train"`` sweep (:mod:`biodyn.sweep`): for every point finished ``ok``,
its training document (``points/NAME/train.json``, ``biodyn train --json``'s ``{config,
curves, final}``) gives the final test performance and the Lyapunov spectrum recorded at the
last epoch (or at ``epoch``). Then :func:`biodyn.learn.spectra_study`: feature rank
correlations with confidence intervals, the AeLLE-style autoencoder's latent, and the
cross-validated good-versus-poor read-outs. Writes, all or nothing, ``OUT/spectra_vs_performance.png``
and, with ``json``, the document.

Performance: ``performance = "test_loss"`` (default) uses :math:`-L_{\mathrm{test}}`, so higher is
better and ties are rare; ``"test_metric"`` uses the task's metric (sign accuracy saturates at 1
and ties, which makes the thirds arbitrary among the tied networks — said in the document's
``notes`` when it happens).
"""

from __future__ import annotations

import json as _json
import time
from pathlib import Path

from .. import io, plot
from ..errors import BiodynError, SpecError
from ._analyze import DRAW
from ._base import JobResult, all_or_nothing, check_outputs

__all__ = ["analyze_spectra", "read_train_sweep"]

PERFORMANCE = ("test_loss", "test_metric", "train_loss", "train_metric")


def _read(path):
    try:
        return _json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def read_train_sweep(sweep_dir, epoch=None):
    """The networks of a finished train sweep in ``sweep_dir``: a list of dicts ``point``,
    ``params``, ``seed``, ``final`` (train/test loss and metric), ``exponents`` (the spectrum at
    the last record, or at ``epoch``), ``epoch``, ``config`` (the training configuration), and
    the list of points skipped with the reason. Raises :class:`BiodynError` with one clear
    message when the folder holds no train points or none with spectra."""
    d = Path(sweep_dir)
    if not d.is_dir():
        raise BiodynError(f"analyze spectra: {d} is not a folder (expected the folder of a finished "
                          "train sweep, holding sweep.json and points/)")
    files = sorted((d / "points").glob("*.json"))
    records = [r for r in (_read(p) for p in files) if isinstance(r, dict) and "point" in r]
    if not records:
        raise BiodynError(f"analyze spectra: {d} holds no sweep results (no points/*.json); run a sweep "
                          "with job = \"train\" and lyapunov_every set first (biodyn sweep SPEC)")
    jobs = sorted({str(r.get("job")) for r in records})
    train = [r for r in records if r.get("job") == "train"]
    if not train:
        raise BiodynError(f"analyze spectra: {d} holds results of job {', '.join(jobs)}, no train points; "
                          "analyze spectra reads a sweep with [run] job = \"train\"")
    ok = [r for r in train if r.get("status") == "ok"]
    if not ok:
        raise BiodynError(f"analyze spectra: none of the {len(train)} train points in {d} finished ok "
                          "(see summary.csv); run the sweep again to finish them")
    networks, skipped, no_spectrum = [], [], 0
    for r in ok:
        rel = (r.get("paths") or {}).get("json")
        candidates = [d / rel] if rel else []
        candidates.append(d / "points" / r["point"] / "train.json")
        doc = next((x for x in (_read(p) for p in candidates) if x), None)
        if doc is None:
            skipped.append({"point": r["point"], "reason": "its train.json is missing or unreadable"})
            continue
        curves = doc.get("curves", {})
        epochs = curves.get("lyapunov_epoch") or []
        if not epochs:
            no_spectrum += 1
            skipped.append({"point": r["point"], "reason": "no Lyapunov spectrum (lyapunov_every not set)"})
            continue
        if epoch is None:
            k = len(epochs) - 1
        elif epoch in epochs:
            k = epochs.index(epoch)
        else:
            raise SpecError("<arguments>", "--epoch", "an epoch with a spectrum in every point", str(epoch),
                            f"point {r['point']} has spectra at epochs {', '.join(map(str, epochs))}")
        networks.append({"point": r["point"], "params": r.get("params", {}), "seed": r.get("seed"),
                         "replicate": r.get("replicate"), "final": doc["final"], "epoch": epochs[k],
                         "exponents": curves["lyapunov_exponents"][k], "config": doc.get("config", {})})
    if not networks:
        if no_spectrum:
            raise BiodynError(f"analyze spectra: none of the {len(ok)} train points in {d} has a Lyapunov "
                              "spectrum; set lyapunov_every in the sweep's [run] table (e.g. "
                              "lyapunov_every = 10) and run it again in a new folder")
        raise BiodynError(f"analyze spectra: no readable training document (points/NAME/train.json) in {d}")
    return networks, skipped


def _footer(doc):
    s = doc["settings"]
    v = doc["versions"]
    return (f"sweep {doc['sweep']} · {doc['n_networks']} networks, spectra at "
            f"{'the last epoch' if doc['epoch'] is None else 'epoch ' + str(doc['epoch'])} · seed {s['seed']} · "
            f"zero tolerance {s['zero_tol']:g}/step · biodyn {v['biodyn']}, jax {v['jax']}, numpy {v['numpy']}")


def draw_spectra(doc):
    """The figure of a saved ``analyze spectra`` document (``biodyn plot FILE``)."""
    return plot.spectra_vs_performance(doc, footer=_footer(doc))


DRAW["spectra"] = draw_spectra


@all_or_nothing()
def analyze_spectra(sweep_dir, *, epoch=None, performance="test_loss", zero_tol=0.01, level=0.95, latent=2,
                    length=None, hidden=16, prediction_weight=1.0, steps=1500, lr=1e-2, folds=5, repeats=5,
                    seed=0, out=None, json=None, figure=True):
    """Lyapunov spectra of a train sweep's networks against their final performance.

    Parameters
    ----------
    sweep_dir : path
        A finished sweep with ``job = "train"`` and ``lyapunov_every`` set.
    epoch : int, optional
        The epoch whose spectrum is read (default: each network's last).
    performance : {"test_loss", "test_metric", "train_loss", "train_metric"}
        What "performance" is; losses are negated (higher is better).
    zero_tol, level, latent, length, hidden, prediction_weight, steps, lr, folds, repeats, seed
        Those of :func:`biodyn.learn.spectra_study`.
    out : path, optional
        Folder of the figure ``spectra_vs_performance.png`` (default: ``sweep_dir``).
    json : path or "-", optional

    Returns
    -------
    JobResult
        ``summary`` is the document (``correlations``, ``readout``, ``latent``, ``networks``...).
    """
    import jax
    import numpy as np

    from .. import learn
    from .._version import __version__

    if performance not in PERFORMANCE:
        raise SpecError("<arguments>", "--performance", "one of " + ", ".join(PERFORMANCE), repr(performance))
    if latent not in (1, 2, 3):
        raise SpecError("<arguments>", "--latent", "1, 2 or 3 latent dimensions", repr(latent))
    if not (isinstance(folds, int) and folds >= 2):
        raise SpecError("<arguments>", "--folds", "an integer >= 2", repr(folds))
    if not zero_tol > 0:
        raise SpecError("<arguments>", "--zero-tol", "a positive tolerance (per step)", repr(zero_tol))
    out = Path(sweep_dir) if out is None else Path(out)
    check_outputs(out, json)
    t0 = time.perf_counter()
    networks, skipped = read_train_sweep(sweep_dir, epoch)
    sign = -1.0 if performance.endswith("loss") else 1.0
    values = [n["final"][performance] for n in networks]
    bad = [n["point"] for n, v in zip(networks, values) if v is None or not np.isfinite(v)]
    if bad:
        raise BiodynError(f"analyze spectra: {len(bad)} networks have no finite {performance} "
                          f"(e.g. {bad[0]})")
    perf = sign * np.asarray(values, float)
    study = learn.spectra_study([n["exponents"] for n in networks], perf, zero_tol=zero_tol, level=level,
                                latent=latent, length=length, hidden=hidden, prediction_weight=prediction_weight,
                                steps=steps, lr=lr, folds=folds, repeats=repeats, seed=seed)
    notes = []
    m = len(perf) // 3
    srt = np.sort(perf)
    if m and (srt[m - 1] == srt[m] or srt[len(perf) - m - 1] == srt[len(perf) - m]):
        notes.append(f"{performance} ties at a third's boundary: the classes are arbitrary among the tied "
                     "networks (in sweep order)")
    partial = sorted({n["point"] for n in networks if (n["config"].get("lyapunov") or {}).get("k")})
    if partial:
        notes.append(f"{len(partial)} spectra hold only the first k exponents (lyapunov_k): their mean, median, "
                     "variance and Kaplan-Yorke dimension are those of the first k, not of the whole spectrum")
    if skipped:
        notes.append(f"{len(skipped)} points skipped (see 'skipped')")

    def clean(x):
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        if isinstance(x, (float, np.floating)):
            return float(x) if np.isfinite(x) else None
        if isinstance(x, np.integer):
            return int(x)
        return x

    cfg0 = networks[0]["config"]
    task = cfg0.get("task", {})
    label = ("−test loss" if performance == "test_loss" else "−train loss" if performance == "train_loss"
             else f"{performance.replace('_', ' ')} ({task.get('metric', 'metric')})")
    doc = clean({
        "analysis": "spectra", "sweep": str(sweep_dir), "epoch": epoch,
        "title": f"Lyapunov spectra against performance: {len(networks)} networks on {task.get('name', '?')}",
        "n_networks": len(networks), "task": task.get("name"),
        "performance": {"name": performance, "sign": sign, "label": label, "values": perf.tolist(),
                        "note": "losses negated: higher is better"},
        "correlations": study["correlations"], "readout": study["readout"], "latent": study["latent"],
        "autoencoder": study["autoencoder"], "classes": study["classes"], "settings": study["settings"],
        "networks": [{"point": n["point"], "params": n["params"], "seed": n["seed"], "epoch": n["epoch"],
                      "performance": float(p), "final": n["final"],
                      "features": {f: study["features"][f][i] for f in learn.FEATURES}}
                     for i, (n, p) in enumerate(zip(networks, perf))],
        "skipped": skipped, "notes": notes,
        "versions": {"biodyn": __version__, "jax": jax.__version__, "numpy": np.__version__},
    })
    doc["time_s"] = time.perf_counter() - t0
    paths = {}
    if figure:
        paths["figure"] = plot.save(plot.spectra_vs_performance(doc, footer=_footer(doc)),
                                    out / "spectra_vs_performance.png")
    if json:
        paths["json"] = io.write_json(doc, Path(json) if str(json) != "-" else "-")
    return JobResult(doc, paths, {"total": time.perf_counter() - t0})
