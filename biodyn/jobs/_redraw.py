"""Redrawing a saved result: ``biodyn plot FILE``.

Every job writes a JSON file from which its figure can be drawn again without rerunning
anything: the analyses (``biodyn analyze fixed-points|bifurcation|lyapunov|phase-portrait
--json``) and comparisons (``biodyn compare --json``) and trainings (``biodyn train --json``: the learning curves) draw
from their numbers alone; the flow
report (``biodyn analyze flow --json``) and a fit (``PROTOCOL-MODEL-fit.json``) carry the figure's plain data under ``"figure"``;
a replay summary (``PROTOCOL.json``) draws from its conditions, and protocols whose figure
shows arrays (weight distributions, trajectories, voltage traces) keep those arrays in
``PROTOCOL.figure.npz`` beside it (named in the summary's ``files``). A sweep's point record
(``points/NAME.json``) redraws the figure of the job it ran, and its ``summary.csv`` the
sweep's figure (each result against the first swept parameter).

Decision: the redrawn figure goes beside the JSON file with the extension ``.png`` unless
``out`` names another file (its extension — ``.png``, ``.pdf``, ``.svg`` — chooses the
format), so that editing a saved result's JSON by hand and redrawing is one command.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .. import io, plot
from ..errors import BiodynError
from ._base import all_or_nothing, check_outputs

__all__ = ["redraw", "sweep_table", "sweep_value_label", "sweep_footer", "plain", "FIGURE_ARRAYS", "save_figure_arrays", "load_figure_arrays"]

#: Arrays of :attr:`biodyn.protocols.ProtocolResult.extra` that protocol figures draw from.
FIGURE_ARRAYS = ("w_final", "bounds", "output_rates", "t", "correlated_weight_t",
                 "uncorrelated_weight_t", "mean_weight_t", "w_t", "reference", "v", "names",
                 "amplitudes")


def plain(obj):
    """``obj`` with numpy scalars/arrays as Python numbers/lists and NaN/inf as ``None``
    (strict JSON); what :func:`biodyn.io.write_json` accepts."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return plain(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    return obj


def save_figure_arrays(extra, path):
    """Write the figure arrays of a protocol result (those of :data:`FIGURE_ARRAYS` it has
    and that are rectangular) to ``path`` (``.npz``), atomically; returns the path or
    ``None`` when there is nothing to keep."""
    arrays = {}
    for key in FIGURE_ARRAYS:
        if key not in extra or extra[key] is None:
            continue
        try:
            a = np.asarray(extra[key])
        except ValueError:  # ragged: the drawing falls back without it
            continue
        if a.dtype != object:
            arrays[key] = a
    if not arrays:
        return None
    with io.atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    return Path(path)


def load_figure_arrays(path):
    """The arrays written by :func:`save_figure_arrays` (``names`` as a list of str)."""
    with np.load(path, allow_pickle=False) as data:
        out = {k: data[k] for k in data.files}
    for key in ("names", "amplitudes"):
        if key in out:
            out[key] = [str(v) for v in out[key]]
    if "bounds" in out:
        out["bounds"] = tuple(float(v) for v in out["bounds"])
    return out


def _kind(doc):
    if not isinstance(doc, dict):
        return None
    from ._analyze import DRAW

    if doc.get("analysis") in DRAW:
        return "analysis"
    if isinstance(doc.get("fit"), dict) and "after" in doc:
        return "fit"
    if "comparison" in doc and "series" in doc:
        return "compare"
    if "gradient_fraction" in doc and "protocol" in doc:
        return "flow"
    if "protocol" in doc and "conditions" in doc:
        return "replay"
    if isinstance(doc.get("config"), dict) and "net" in doc["config"] and "curves" in doc:
        return "train"
    return None


def _draw(doc, path):
    kind = _kind(doc)
    if kind == "analysis":
        from ._analyze import draw_analysis

        return draw_analysis(doc)
    if kind == "fit":
        return plot.fit_summary(doc)
    if kind == "compare":
        from ._compare import comparison_footer

        return plot.comparison_figure(doc, footer=comparison_footer(doc))
    if kind == "train":  # the learning curves (a --fixed-points figure is not redrawn)
        if "learner" in doc.get("config", {}):  # a spiking network (biodyn train --net lif)
            from ._train_snn import _footer as snn_footer

            return plot.snn_learning_curves(doc, footer=snn_footer(doc))
        from ._train import _footer

        return plot.learning_curves(doc, footer=_footer(doc))
    if kind == "flow":
        fig = doc.get("figure")
        if not isinstance(fig, dict) or "portrait" not in fig:
            raise BiodynError(f"{path}: this flow report has no figure data (key 'figure'); "
                              "rerun `biodyn analyze flow ... --json FILE` to write it")
        return plot.flow_figure(fig["portrait"], fig["objective"], footer=fig.get("footer"))
    if kind == "replay":
        from .. import protocols
        from ._replay import protocol_figure

        spec = protocols.load(doc["protocol"])
        result = None
        data_file = doc.get("files", {}).get("figure_data")
        if data_file:
            npz = Path(path).parent / data_file
            if not npz.exists():
                raise BiodynError(f"{path}: the figure's arrays {npz} are missing "
                                  "(keep PROTOCOL.figure.npz beside PROTOCOL.json)")
            result = _Arrays(load_figure_arrays(npz))
        return protocol_figure(doc, spec, result=result)
    if isinstance(doc, dict) and "sweep" in doc and "job" in doc and "paths" in doc:
        return _draw_point(doc, path)
    raise BiodynError(f"{path}: not a biodyn result (expected the JSON written by replay, fit, "
                      "analyze ... --json, compare --json, train --json, or a sweep point)")


def _draw_point(rec, path):
    """A sweep's point record (``OUT/points/NAME.json``): draw from the JSON its job wrote
    (``paths`` are relative to the sweep's folder ``OUT``)."""
    if rec.get("status") != "ok":
        raise BiodynError(f"{path}: point {rec.get('point')} did not finish "
                          f"({rec.get('status')}: {rec.get('error')}); nothing to draw")
    rel = rec["paths"].get("json")
    if not rel:
        raise BiodynError(f"{path}: the point's job ({rec['job']}) wrote no JSON result to redraw from")
    target = Path(path).resolve().parent.parent / rel
    if not target.exists():
        raise BiodynError(f"{path}: the point's result {target} is missing")
    return _draw(json.loads(target.read_text()), target)


def sweep_value_label(csv_path):
    """The axis label of the values of a sweep of replays (``OUT/summary.csv``): the observable
    of its protocol, with its unit (its data's ``value_label``, else its figure's ``ylabel``), found through the first finished point's record (``OUT/points/*.json``)
    and the replay JSON it names; ``None`` when the sweep ran no replay or nothing says."""
    from .. import protocols

    folder = Path(csv_path).parent
    for rec_path in sorted((folder / "points").glob("*.json")):
        try:
            rec = json.loads(rec_path.read_text())
            rel = (rec.get("paths") or {}).get("json") if rec.get("status") == "ok" else None
            doc = json.loads((folder / rel).read_text()) if rel else None
        except (OSError, ValueError):
            continue
        if not isinstance(doc, dict) or "protocol" not in doc:
            continue
        try:
            spec = protocols.load(doc["protocol"])
        except BiodynError:
            return None
        return (spec.data or {}).get("value_label") or (spec.figure or {}).get("ylabel")
    return None


def sweep_footer(csv_path):
    """The provenance line of a sweep's figure, from its ``sweep.json`` beside the table: the
    sweep and its job, the job's fixed settings (``[run]``), the sweep's seed (each point's own
    is in sweep.json) and the versions its points ran with; ``None`` without ``sweep.json``."""
    folder = Path(csv_path).parent
    try:
        manifest = json.loads((folder / "sweep.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    run = dict((manifest.get("fingerprint_data") or {}).get("run") or {})
    run.pop("job", None)
    parts = [f"sweep {manifest.get('sweep', folder.name)} (job {manifest.get('job', '?')})"]
    if run:
        from .._quantity import readable_text

        parts.append(", ".join(f"{k}={readable_text(v) if isinstance(v, str) else json.dumps(v, separators=(',', ':'))}"
                               for k, v in run.items() if v is not None))
    parts.append(f"sweep seed {manifest.get('seed')} (each point's seed in sweep.json)")
    for rec_path in sorted((folder / "points").glob("*.json")):
        try:
            versions = json.loads(rec_path.read_text()).get("versions")
        except (OSError, ValueError, AttributeError):
            continue
        if versions:
            parts.append(", ".join(f"{k} {v}" for k, v in versions.items()))
            break
    return " · ".join(parts)


def sweep_table(csv_path):
    """:func:`biodyn.plot.sweep_table` with the observable's label (:func:`sweep_value_label`)
    and the figure's provenance line (:func:`sweep_footer`)."""
    table = plot.sweep_table(csv_path)
    label = sweep_value_label(csv_path)
    if label:
        table["value_label"] = label
    footer = sweep_footer(csv_path)
    if footer:
        table["footer"] = footer
    return table


class _Arrays:
    """Stands in for a ProtocolResult where the figure only needs its ``extra``."""

    def __init__(self, extra):
        self.extra = extra


@all_or_nothing()
def redraw(path, out=None):
    """Redraw the figure of the saved result ``path`` (a JSON file); returns the figure path.

    ``out``: the figure file (default: ``path`` with the extension ``.png``).
    """
    path = Path(path)
    if not path.exists():
        raise BiodynError(f"{path}: no such file")
    out = Path(out) if out else path.with_suffix(".png")
    if out.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise BiodynError(f"--out {out}: the figure's extension must be .png, .pdf or .svg")
    check_outputs(out, out_is_folder=False)
    if path.suffix.lower() == ".csv":  # a sweep's summary table
        try:
            table = sweep_table(path)
        except (ValueError, IndexError, UnicodeDecodeError) as exc:
            raise BiodynError(f"{path}: not a sweep's summary.csv ({exc})") from None
        return plot.save(plot.sweep_summary(table), out)
    try:
        doc = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BiodynError(f"{path}: not a JSON file ({exc})") from None
    ax = _draw(doc, path)
    return plot.save(ax, out)
