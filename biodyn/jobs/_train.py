"""The train job: ``biodyn train TASK`` — a network of biodyn's cells trained on a task by BPTT.

Runs :func:`biodyn.learn.train` and writes, all or nothing, into ``OUT``:
``TASK-NET-hH-sS.npz`` (trained weights with the learning curves and the configuration, see
:meth:`biodyn.learn.TrainResult.save`), ``TASK-NET-hH-sS.png`` (learning curves, train and
test loss and metric per epoch; with ``lyapunov_every``, a third panel: the Lyapunov
spectra along training, coloured by epoch) and, with ``json``, the JSON document
``{"config", "curves", "final"}``.
"""

from __future__ import annotations

import time
from pathlib import Path

from .. import io, plot
from ._base import JobResult, all_or_nothing, check_outputs

__all__ = ["train"]


def _footer(doc):
    c = doc["config"]
    v = c["versions"]
    f = c.get("floss")
    floss = ""
    if f is not None:
        during = "" if f["every"] is None else f", then every {f['every']} training epochs"
        floss = f" (flossing K = {f['k']}, w = {f['weight']:g}: {f['pre_training_steps']} updates before{during})"
    clip = ""
    if c.get("clip_grad") is not None:
        clip = (f", gradient norm clipped at {c['clip_grad']:g} ({c.get('clipped_gradients', '?')} of "
                f"{c.get('gradients', '?')} gradients)")
    return (f"seed {c['seed']}, batch {c['batch_size']}, g = {c['g']:g}, {c['steps']} updates{floss}{clip}; "
            f"biodyn {v['biodyn']}, jax {v['jax']}, numpy {v['numpy']}")


def fixed_point_document(result, seed):
    """Fixed points of the trained network (:func:`biodyn.learn.network_fixed_points`) under
    each constant input of the task (:meth:`biodyn.learn.Task.constant_inputs`, in
    ``by_input``); the first input's points also at the top level with, for the figure, test
    trajectories and the points on the top 3 principal components of the hidden states
    :math:`h` visited on 8 test sequences."""
    import numpy as np

    from .. import learn

    import inspect

    search = {k: p.default for k, p in inspect.signature(learn.network_fixed_points).parameters.items()
              if k in ("n_starts", "q_tol", "merge", "outlier_scale")}
    found = [(label, u, learn.network_fixed_points(result, u=u, seed=seed))
             for label, u in result.task.constant_inputs()]
    label0, u0, fps = found[0]
    net = result.network()
    test = result.task.generate(8, [int(result.config["seed"]), 1])
    H = net.n_hidden
    hs = np.stack([s[:, :H] for s in net.run(test.x)[0]], axis=1)  # (8, T+1, H)
    flat = hs.reshape(-1, H)
    mean = flat.mean(axis=0)
    _, sv, Vt = np.linalg.svd(flat - mean, full_matrices=False)
    k = min(3, Vt.shape[0])
    proj = lambda h: ((h - mean) @ Vt[:k].T).tolist()  # noqa: E731
    by_input = [{"label": label, "input": u.tolist(), "points": [p.as_dict() for p in pts],
                 "n_stable": sum(p.stable for p in pts), "n_unstable": sum(not p.stable for p in pts)}
                for label, u, pts in found]
    return {"input": label0, "input_value": u0.tolist(),
            "method": "Sussillo & Barak 2013: min |F(s)-s|^2/2, Newton refinement, stable if all "
                      "|eigenvalues of D| < 1",
            "settings": {"seed": int(seed), **search},
            "points": [dict(p.as_dict(), pc=proj(p.state[:H])) for p in fps],
            "n_stable": sum(p.stable for p in fps), "n_unstable": sum(not p.stable for p in fps),
            "explained_variance": (sv[:k] ** 2 / np.sum(sv ** 2)).tolist(),
            "trajectories_pc": [proj(h) for h in hs], "by_input": by_input}


@all_or_nothing()
def train(task, *, net="rnn", hidden=None, epochs=None, lr=None, optimizer=None, seed=0, batch_size=None, g=None,
          parameters=None, lyapunov_every=None, lyapunov_k=None, lyapunov_steps=1000, lyapunov_block="full",
          fixed_points=False, out="results", json=None, figure=True, progress=None, floss=None, floss_weight=None,
          floss_epochs=None, floss_every=None, floss_transient=None, floss_fixed_trajectory=False, clip_grad=None):
    """Train a network on ``task`` and write its weights, figure and (optionally) JSON.

    Parameters are those of :func:`biodyn.learn.train` (``None``: the task's training default;
    ``parameters``: the task's
    generator parameters to change, a mapping such as ``{"delay": 20}``; an error about one names
    it as ``parameters.delay``); ``out`` is the output folder, ``json`` a path or ``"-"``.

    Returns
    -------
    JobResult
        ``summary`` is the JSON document; ``paths`` has ``weights``, ``figure``, ``json``; the
        :class:`~biodyn.learn.TrainResult` is ``result.trained``.
    """
    from .. import learn

    check_outputs(out, json)
    t0 = time.perf_counter()
    # errors about a task parameter name the keyword it came in (<arguments>: parameters.delay;
    # biodyn train: --set delay), or the task file's key when the file's own value is wrong
    result = learn.train(task, parameters=parameters, net=net, hidden=hidden, epochs=epochs, lr=lr,
                         optimizer=optimizer, seed=seed, batch_size=batch_size, g=g, progress=progress,
                         lyapunov_every=lyapunov_every, lyapunov_k=lyapunov_k, lyapunov_steps=lyapunov_steps,
                         lyapunov_block=lyapunov_block,
                         floss=floss, floss_weight=floss_weight, floss_epochs=floss_epochs, floss_every=floss_every,
                         floss_transient=floss_transient, floss_fixed_trajectory=floss_fixed_trajectory,
                         clip_grad=clip_grad)
    doc = result.document()
    if fixed_points:
        doc["fixed_points"] = fixed_point_document(result, seed)
    doc["config"]["time_s"] = time.perf_counter() - t0
    stem = f"{result.config['task']['name']}-{net}-h{result.config['hidden']}-s{seed}"
    paths = {"weights": result.save(Path(out) / f"{stem}.npz")}
    if figure:
        paths["figure"] = plot.save(plot.learning_curves(doc, footer=_footer(doc)), Path(out) / f"{stem}.png")
        if fixed_points:
            paths["fixed_points_figure"] = plot.save(plot.network_fixed_points(doc, footer=_footer(doc)),
                                                     Path(out) / f"{stem}-fixed_points.png")
    if json:
        paths["json"] = io.write_json(doc, Path(json) if str(json) != "-" else "-")
    job = JobResult(doc, paths, {"total": time.perf_counter() - t0})
    job.trained = result
    return job
