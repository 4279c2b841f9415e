"""The flow job: ``biodyn analyze flow PROTOCOL`` — the averaged flow of a learning scenario.

Runs :func:`biodyn.flow.analyze` (field, gradient test, potential, objective, stable states,
Euler limit, and the Brian2 replay of the protocol), draws the figure
``OUT/PROTOCOL_flow.png`` (the field with the gradient part's potential, the simulated
trajectories and the stable states; the objective along the simulated trajectories) and, if
asked, writes the JSON report (the keys of :data:`biodyn.flow.SUMMARY_KEYS`, then ``"figure"``:
the figure's plain data, from which ``biodyn plot FILE`` redraws it) — both atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import io, plot
from ._base import JobResult, all_or_nothing, check_outputs, provenance_line

__all__ = ["analyze_flow", "analyze_flow_from", "flow_figure_data"]


@all_or_nothing()
def analyze_flow(protocol, *, model=None, params=None, overrides=None, variants=None,
                 condition=None, aux=None, objective=None, simulate=True, target="auto", seed=0,
                 stimulus=None, network=None, out="results", json=None, report=None, field="auto",
                 measure=None, grid=None, basins=None):
    """Analyse a protocol's averaged flow; write the figure (and the JSON with ``json``).

    Returns a :class:`JobResult` whose ``summary`` is the JSON report and whose ``extra``-like
    ``timings`` hold the wall time; the :class:`~biodyn.flow.FlowAnalysis` is in
    ``result.analysis``.
    """
    import time

    from .. import flow

    check_outputs(out, json)
    t0 = time.perf_counter()
    analysis = flow.analyze(protocol, model, params, overrides, variants, condition=condition,
                            aux=aux, objective=objective, simulate=simulate, target=target,
                            seed=seed, stimulus=stimulus, network=network, report=report,
                            field=field, measure=measure, grid=grid, basins=basins)
    summary = analysis.summary()
    portrait, obj = flow_figure_data(analysis)
    sc = analysis.scenario
    footer = provenance_line(dict(summary, target=summary["target"] or "no simulation"), width=220)
    ax = plot.flow_figure(portrait, obj, footer=footer)
    out = Path(out)
    fig_path = out / f"{sc.name}_flow.png"
    plot.save(ax, fig_path)
    paths = {"figure": fig_path}
    if json:
        from ._redraw import plain

        json_path = Path(json) if str(json) != "-" else "-"  # "-": stdout
        doc = dict(summary, figure=plain({"portrait": portrait, "objective": obj, "footer": footer}))
        io.write_json(doc, json_path)
        paths["json"] = json_path
    result = JobResult(summary, paths, {"total": time.perf_counter() - t0})
    result.analysis = analysis
    return result


def analyze_flow_from(path, *, out="results", json=None, report=None):
    """Rerun the flow analysis a JSON report of ``biodyn analyze flow`` records
    (``biodyn analyze flow --from PATH``): the same protocol, model, parameter values,
    overrides, variants, stimulus/network changes, seed, target and analysis options
    (``analysis_options``: condition, aux, objective, field, simulate, grid, measure), so the same
    numbers. Returns the :class:`JobResult` of :func:`analyze_flow`; ``result.notes`` say
    what differs (a spec file changed since)."""
    import json as _json

    from .. import protocols
    from ..errors import SpecError

    path = Path(path)
    try:
        doc = _json.loads(path.read_text())
    except FileNotFoundError:
        raise SpecError(str(path), "<file>", "a JSON report of biodyn analyze flow",
                        "no such file") from None
    except (OSError, ValueError) as exc:
        raise SpecError(str(path), "<file>", "a JSON report of biodyn analyze flow",
                        " ".join(str(exc).split())[:200]) from None
    if not isinstance(doc, dict) or "gradient" not in doc:
        raise SpecError(str(path), "<file>", "a JSON report of biodyn analyze flow "
                        "(with 'gradient')", "another kind of JSON")
    options = doc.get("analysis_options")
    if not isinstance(options, dict):
        raise SpecError(str(path), "analysis_options", "the analysis options (written by biodyn analyze "
                        "flow since results record what shaped them)", "nothing")
    try:
        kwargs, notes = protocols.rerun_arguments(dict(doc, target=doc.get("target") or "auto"))
    except SpecError as exc:
        raise SpecError(str(path), exc.key, exc.expected, exc.found, exc.hint) from None
    target = doc.get("target") or options.get("target") or "auto"
    result = analyze_flow(kwargs["protocol"], model=kwargs["model"], params=kwargs["params"],
                          overrides=kwargs["overrides"], variants=kwargs["variants"],
                          condition=options.get("condition"), aux=options.get("aux"),
                          objective=options.get("objective"), simulate=options.get("simulate", True),
                          target=target, seed=kwargs["seed"], stimulus=kwargs["stimulus"],
                          network=kwargs["network"], out=out, json=json, report=report,
                          field=options.get("field", "auto"), measure=options.get("measure"),
                          grid=options.get("grid"),
                          basins=options.get("basins", False) if "basins" in options else False)
    result.notes = notes
    return result


def flow_figure_data(analysis, grid=41):
    """The plain data of the figure's two panels (dicts for :func:`biodyn.plot.flow_portrait`
    and :func:`biodyn.plot.flow_objective`)."""
    sc = analysis.scenario
    field = analysis.field
    nw = field.n_weights
    lo, hi = field.domain
    sim = analysis.simulation
    names = field.names
    # the plane of the first two weights; other state variables at the simulation's end (or at
    # their adiabatic values / the domain's centre)
    base = 0.5 * (lo + hi)
    if sim is not None:
        base[:nw] = sim["final_w"]
    if field.n > nw:
        rule = field.parts.get("rule")
        if rule is not None:
            z = rule.adiabatic(sc.inputs, base[None, :nw])
            k = nw
            for name in rule.aux:
                v = np.asarray(z[name]).ravel()
                size = 1 if rule.shared[name] else nw
                base[k:k + size] = v[:size]
                k += size
    portrait = {"names": names[:2], "title": _title(analysis), "states": [], "trajectories": []}
    dec = analysis.decomposition
    if nw == 1 and field.n == 1:
        x = np.linspace(lo[0], hi[0], 200)
        portrait.update(x=x.tolist(), y=None, f=field.f(x[:, None])[:, 0].tolist(),
                        potential=dec.potential(x[:, None]).tolist())
    else:
        x = np.linspace(lo[0], hi[0], grid)
        y = np.linspace(lo[1], hi[1], grid)
        X, Y = np.meshgrid(x, y)
        P = np.repeat(base[None, :], X.size, axis=0)
        P[:, 0], P[:, 1] = X.ravel(), Y.ravel()
        F = field.f(P)
        pot = dec.potential(P).reshape(X.shape) if field.n == 2 else None
        portrait.update(x=x.tolist(), y=y.tolist(), fx=F[:, 0].reshape(X.shape).tolist(),
                        fy=F[:, 1].reshape(X.shape).tolist(),
                        potential=None if pot is None else pot.tolist())
        if field.n > 2:
            rest = ", ".join(f"{n} = {v:.3g}" for n, v in zip(names[2:], base[2:]))
            portrait["slice"] = f"slice: {rest}"
        if analysis.objective is not None and analysis.objective.manifold == "sphere":
            portrait["circle"] = True
    if analysis.measured is not None and field.n == 2:
        m = analysis.measured.grid
        portrait["measured"] = {"points": m.points.tolist(), "f": m.f.tolist()}
    probability = {}
    if getattr(analysis, "basins", None) is not None and field.n == 2:
        b = analysis.basins
        for k, w in enumerate(b.states):
            probability[tuple(np.round(w, 12))] = b.counts.get(str(k), 0) / max(b.n, 1)
    for s in analysis.states:
        portrait["states"].append({"w": [float(v) for v in s.w[:2]], "stable": bool(s.stable),
                                   "boundary": bool(s.boundary),
                                   "probability": probability.get(tuple(np.round(s.w[:nw], 12)))
                                   if s.stable else None})
    times, values = None, []
    if sim is not None:
        w_t = sim["w_t"]
        for w, fw in zip(w_t, sim["finals"]):
            portrait["trajectories"].append({"w": np.concatenate([w.T, fw[None, :]])[:, :2].tolist()})
        times = np.append(sim["t"], sim["t"][-1] + (sim["t"][-1] - sim["t"][-2] if len(sim["t"]) > 1 else 0))
    label, mono, drawdown = "potential of the gradient part", None, None
    fn = None
    if analysis.objective is not None:
        obj = analysis.objective
        fn = lambda W: obj.sign * np.real(obj.value(W))  # noqa: E731
        label = f"objective ({obj.key})"
        mono = analysis.objective_check.monotone if analysis.objective_check is not None else None
        drawdown = analysis.objective_check.drawdown if analysis.objective_check is not None else None
    elif field.n == nw:
        fn = lambda W: dec.potential(W)  # noqa: E731
    note = None
    if sim is not None and fn is not None:
        for w, fw in zip(sim["w_t"], sim["finals"]):
            W = np.concatenate([w.T, fw[None, :]])
            v = np.asarray(fn(W), dtype=float)
            outside = np.any((W < lo[:nw] - 1e-9) | (W > hi[:nw] + 1e-9), axis=1)
            if np.any(outside):      # the potential is fitted on the domain only
                v[outside] = np.nan
                note = "trajectories leave the domain analysed: not drawn outside it"
            values.append(v.tolist())
    text = _text(analysis)
    objective = {"t": None if times is None else times.tolist(), "values": values, "label": label,
                 "monotone": mono, "drawdown": drawdown, "text": text, "note": note}
    return portrait, objective


def _title(analysis):
    sc = analysis.scenario
    g = analysis.gradient
    verdict = "gradient flow" if g.gradient else "not a gradient flow"
    return (f"{sc.name}: {sc.model} — {verdict} (asymmetry {g.asymmetry:.2g}, gradient part "
            f"{100 * analysis.decomposition.fraction:.0f} %)")


def _text(analysis):
    s = analysis.summary()
    lines = [f"gradient: {s['gradient']}  asymmetry: {s['asymmetry']:.3g}",
             f"gradient fraction: {s['gradient_fraction']:.4f}"]
    if s["objective_check"] is not None:
        lines.append(f"max |f - grad L|: {s['objective_check']['max_abs_error']:.3g} 1/s")
    if analysis.threshold:
        th = [v for v in analysis.threshold["theta"].values() if v is not None]
        if th:
            lines.append(f"threshold on nu_post: {th[0]:.4g} Hz")
    n_stable = sum(1 for f in s["fixed_points"] if f["stable"])
    lines.append(f"rest points: {len(s['fixed_points'])} ({n_stable} stable)")
    if s["simulation"] is not None and s["simulation"]["nearest_stable_distance"] is not None:
        lines.append(f"simulation ends {s['simulation']['nearest_stable_distance']:.3g} from a stable state")
    if s.get("basins"):
        from ..flow._analysis import basin_lines

        lines.extend(line.replace("ends of the averaged flow", "ends of the flow")[:110]
                     for line in basin_lines(s["basins"])[:6])
    if s["euler_limit"] is not None:
        lines.append(f"Euler limit h* = {s['euler_limit']:.4g} s")
    return "\n".join(lines)
