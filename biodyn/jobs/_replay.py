"""The replay job: run a protocol, write its neo file, figure and JSON summary."""

from __future__ import annotations

from pathlib import Path

from .. import io, plot, protocols
from ..errors import SpecError

from ._base import JobResult, all_or_nothing, check_outputs, provenance_line

__all__ = ["replay", "replay_batch", "replay_from", "replicate_copies", "protocol_figure",
           "reference_curves"]


def protocol_figure(summary, protocol=None, ax=None, result=None):
    """The figure of a protocol result: the model against the data.

    The protocol's ``figure.kind`` chooses the drawing: the default draws the
    value per condition against the published data, with the reference curves
    of ``[[figure.curves]]``; other kinds (``weight_distribution``,
    ``weight_trajectories``, ``voltage_traces``, ...) draw from the arrays of
    ``result`` (a :class:`~biodyn.protocols.ProtocolResult`) as well, via
    :func:`biodyn.plot.protocol_extra`.
    """
    spec = protocol if protocol is not None else protocols.load(summary["protocol"])
    kind = spec.figure.get("kind", "conditions")
    figure = _figure_table(spec, kind)
    if kind != "conditions":
        extra = dict(result.extra) if result is not None else {}
        return plot.protocol_extra(kind, summary, extra, figure=figure,
                                   curves=reference_curves(spec))
    curves = reference_curves(spec)
    return plot.protocol_summary(summary, ax=ax, figure=figure, curves=curves)


def _figure_table(spec, kind):
    """The protocol's ``[figure]`` table with what the drawing needs from the rest of the
    spec: the y label from ``data.value_label`` when the figure names none, and the step
    current's window ``(t_on, t_off)`` in s for voltage traces."""
    figure = dict(spec.figure)
    if "ylabel" not in figure and spec.data and spec.data.get("value_label"):
        figure["ylabel"] = spec.data["value_label"]
    if kind == "voltage_traces" and {"t_on", "t_off"} <= set(spec.stimulus or {}):
        from brian2 import second

        from ..spec import parse_quantity

        try:
            figure["step"] = tuple(float(parse_quantity(spec.stimulus[k], second.dim, file=spec.file,
                                                        key=f"stimulus.{k}") / second)
                                   for k in ("t_on", "t_off"))
        except Exception:  # the engine has already checked these; the figure does without
            pass
    return figure


def reference_curves(spec):
    """Reference curves of a protocol's ``[[figure.curves]]``: ``(label, x, y)`` triples.

    Each curve is ``{label, expression, x_range = [lo, hi]}``, the expression
    written in the x label (with its unit) and giving a dimensionless value.
    """
    import numpy as np

    from ..spec import parse_quantity

    out = []
    x = spec.figure.get("x")
    for k, curve in enumerate(spec.figure.get("curves", [])):
        key = f"figure.curves[{k}]"
        if not isinstance(curve, dict) or "expression" not in curve or x is None:
            raise SpecError(spec.file, key, "a table {label, expression, x_range}", repr(curve))
        lo, hi = curve.get("x_range", [min(c.labels[x] for c in spec.conditions),
                                        max(c.labels[x] for c in spec.conditions)])
        dim, scale = spec.label_units()[x]
        xs = np.linspace(float(lo), float(hi), 400)
        ys = []
        for xv in xs:
            from ..protocols._spec import _quantity

            ys.append(float(parse_quantity(curve["expression"], None, file=spec.file, key=key,
                                           names={x: _quantity(xv * scale, dim)})))
        out.append((curve.get("label", "reference"), xs, np.array(ys)))
    return out


@all_or_nothing()
def replay(protocol, *, model=None, params=None, overrides=None, variants=None, target="auto",
           seed=0, fmt="pkl", out="results", report=None, stimulus=None, build_key=None,
           inputs=None, network=None, select=None):
    """Run a protocol and write ``PROTOCOL.{pkl,nwb,nix}``, ``PROTOCOL.png`` and ``PROTOCOL.json``
    (and ``PROTOCOL.figure.npz``, the arrays its figure draws, for protocols whose figure
    shows more than the value per condition: ``biodyn plot PROTOCOL.json`` redraws it).

    Returns a :class:`JobResult`; the summary is what the JSON file holds (its
    ``files`` entry names the other files relative to the JSON file's folder).
    ``build_key`` names the standalone project folder (see
    :class:`biodyn.build.Simulation`); sweeps give one per worker. ``inputs``
    are engine inputs that are not spec entries (``{"file": path}`` for
    ``spike_trains``). ``select``: run only some conditions, by index or ``"label=value"``
    (:meth:`~biodyn.protocols.ProtocolSpec.selection`); the JSON records their indices
    (``select``), so that :func:`replay_from` reruns the same conditions. A bad index or
    label is an error before any work.
    """
    spec = protocols.load(protocol)
    if select is not None and not callable(select):
        select = spec.selection(select, file="<arguments>", key="select")
    if fmt not in io.FORMATS:
        raise SpecError("<command line>", "--format", "one of " + ", ".join(io.FORMATS), repr(fmt))
    out = Path(out)
    check_outputs(out)
    result = protocols.run(spec, model, params, overrides, variants, target=target, seed=seed,
                           report=report, stimulus=stimulus, build_key=build_key, inputs=inputs,
                           network=network, select=select)
    return _write_result(result, out, fmt)


def _write_result(result, out, fmt):
    """Write a replay's neo file, figure, figure arrays and JSON into ``out``."""
    spec = result.protocol  # with the conditions an engine made from its input
    summary = result.summary
    block_path = out / f"{spec.name}.{fmt}"
    figure_path = out / f"{spec.name}.png"
    json_path = out / f"{spec.name}.json"
    io.write(result.block, block_path)
    summary["footer"] = provenance_line(summary)  # the figure's grey line, also in the JSON
    ax = protocol_figure(summary, spec, result=result)
    plot.save(ax, figure_path)
    summary["files"] = {"block": block_path.name, "figure": figure_path.name}
    paths = {"block": block_path, "figure": figure_path, "json": json_path}
    if spec.figure.get("kind", "conditions") != "conditions":  # arrays for `biodyn plot`
        from ._redraw import save_figure_arrays

        npz = save_figure_arrays(result.extra, out / f"{spec.name}.figure.npz")
        if npz is not None:
            summary["files"]["figure_data"] = npz.name
            paths["figure_data"] = npz
    io.write_json(summary, json_path)
    return JobResult(summary, paths, result.timings)


@all_or_nothing()
def replay_batch(protocol, points, *, target="auto", fmt="pkl", report=None, build_key=None,
                 max_copies=None, select=None):
    """Replay several points of one protocol, batched: :func:`biodyn.protocols.run_batch` runs
    the points that share their code as copies of one Brian2 run; each point's files are
    those :func:`replay` writes for it alone (its JSON records the batch: ``batch``, and so do
    its neo annotations and its figure's line).

    ``points``: dicts with ``out`` (the point's folder) and the keys of
    :func:`~biodyn.protocols.run_batch`'s points. Returns per point its :class:`JobResult`
    or the exception of its own input. The files of all points are written together or,
    if the batch is interrupted or fails as a whole, not at all. ``select``: the conditions
    every point runs, as for :func:`replay`.
    """
    spec = protocols.load(protocol)
    if select is not None and not callable(select):
        select = spec.selection(select, file="<arguments>", key="select")
    if fmt not in io.FORMATS:
        raise SpecError("<command line>", "--format", "one of " + ", ".join(io.FORMATS), repr(fmt))
    outs = [Path(p["out"]) for p in points]
    for out in outs:
        check_outputs(out)
    runs = [{k: v for k, v in p.items() if k != "out"} for p in points]
    results = protocols.run_batch(spec, runs, target=target, report=report, build_key=build_key,
                                  max_copies=max_copies, select=select)
    written = []
    for result, out in zip(results, outs):
        if isinstance(result, Exception):
            written.append(result)
            continue
        written.append(_write_result(result, out, fmt))
    return written


def replicate_copies(protocol, point, n, batch="auto"):
    """Copies per Brian2 run for ``n`` replicates (seeds) of one replay point.

    ``batch="auto"`` sizes the runs as a sweep's ``batch = "auto"`` does (issue 17): at
    most the copies whose memory fits a quarter of the memory available
    (:func:`~biodyn.protocols._engine.batch_memory`, the engine's estimate per copy) and
    whose per-event state fits one core's L2 cache
    (:func:`~biodyn.protocols._engine.batch_copies_for_cache`), and the ``n`` replicates in
    as few runs of equal shares as that allows (20 replicates at most 16 a run: 2 runs of
    10). An integer ``batch`` is the most copies per run (equal shares too); 1: one run per
    replicate.

    Returns
    -------
    (int, str)
        The copies per run (``max_copies`` of :func:`replay_batch`) and what set it.
    """
    from ..protocols._engine import RunOptions, batch_copies_for_cache, batch_memory

    if batch == "auto":
        spec = protocols.load(protocol)
        try:
            resolved = protocols.resolve_model(spec, point.get("model"), point.get("params"),
                                               point.get("overrides"), point.get("variants"))
            engine = protocols.ENGINES[spec.engine](spec, resolved,
                                                    RunOptions(stimulus=point.get("stimulus") or {}))
            memory, state = float(engine.estimate_bytes()), float(engine.copy_state_bytes())
        except Exception:  # the point's own error shows when it runs
            memory, state = 0.0, 0.0
        by_memory = int(batch_memory() // max(memory, 1.0))
        by_cache = batch_copies_for_cache(state) or n
        limit = max(1, min(by_memory, by_cache, n))
        why = ("auto: memory and one core's L2 cache" if limit < n else "auto")
    else:
        limit, why = max(1, min(int(batch), n)), f"--batch {int(batch)}"
    runs = -(-n // limit)
    return -(-n // runs), why


def replay_from(path, *, out="results", fmt=None, target=None, report=None, build_key=None):
    """Rerun the replay a result JSON records (``biodyn replay --from PATH``).

    Everything that shaped the result comes from the JSON (:func:`biodyn.protocols.rerun_arguments`:
    the protocol, the model, every parameter value, overrides, variants, stimulus and network
    changes, inputs, seed, target); on the same target the numbers are the same. ``out``
    (the output folder, as for :func:`replay`), ``fmt`` (default: the recorded block's
    format) and ``target`` (default: the recorded one) may be chosen.

    Returns the :class:`JobResult`; its ``notes`` list what differs from the recorded run
    (a spec file changed since, a target changed).
    """
    import json

    path = Path(path)
    try:
        summary = json.loads(path.read_text())
    except FileNotFoundError:
        raise SpecError(str(path), "<file>", "a result JSON of biodyn replay", "no such file") from None
    except (OSError, ValueError) as exc:
        raise SpecError(str(path), "<file>", "a result JSON of biodyn replay",
                        " ".join(str(exc).split())[:200]) from None
    if not isinstance(summary, dict) or "conditions" not in summary:
        raise SpecError(str(path), "<file>", "a result JSON of biodyn replay (with 'conditions')",
                        "another kind of JSON")
    try:
        kwargs, notes = protocols.rerun_arguments(summary)
    except SpecError as exc:
        raise SpecError(str(path), exc.key, exc.expected, exc.found, exc.hint) from None
    if target is not None and target != kwargs["target"]:
        notes.append(f"target {target} instead of the recorded {kwargs['target']}: the numbers "
                     "agree to the targets' rounding, not bit for bit")
        kwargs["target"] = target
    if fmt is None:
        block = (summary.get("files") or {}).get("block") or ""
        fmt = Path(block).suffix.lstrip(".") or "pkl"
    spec = kwargs.pop("protocol")
    record_dt = kwargs.pop("record_dt")
    if record_dt is not None:  # pragma: no cover - replay never sets it
        raise SpecError(str(path), "record_dt", "a replay's result", repr(record_dt))
    result = replay(spec, fmt=fmt, out=out, report=report,
                    build_key=build_key, **kwargs)
    result.notes = notes
    return result
