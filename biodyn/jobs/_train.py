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
    return (f"seed {c['seed']}, batch {c['batch_size']}, g = {c['g']:g}, {c['steps']} updates; "
            f"biodyn {v['biodyn']}, jax {v['jax']}, numpy {v['numpy']}")


@all_or_nothing()
def train(task, *, net="rnn", hidden=32, epochs=50, lr=1e-2, optimizer="adam", seed=0, batch_size=64, g=1.0,
          parameters=None, lyapunov_every=None, lyapunov_k=None, lyapunov_steps=1000, out="results", json=None,
          figure=True, progress=None):
    """Train a network on ``task`` and write its weights, figure and (optionally) JSON.

    Parameters are those of :func:`biodyn.learn.train` (``parameters``: the task's
    generator parameters to change); ``out`` is the output folder, ``json`` a path or ``"-"``.

    Returns
    -------
    JobResult
        ``summary`` is the JSON document; ``paths`` has ``weights``, ``figure``, ``json``; the
        :class:`~biodyn.learn.TrainResult` is ``result.trained``.
    """
    from .. import learn

    check_outputs(out, json)
    t0 = time.perf_counter()
    result = learn.train(task, net=net, hidden=hidden, epochs=epochs, lr=lr, optimizer=optimizer, seed=seed,
                         batch_size=batch_size, g=g, progress=progress, lyapunov_every=lyapunov_every,
                         lyapunov_k=lyapunov_k, lyapunov_steps=lyapunov_steps, **dict(parameters or {}))
    doc = result.document()
    doc["config"]["time_s"] = time.perf_counter() - t0
    stem = f"{result.config['task']['name']}-{net}-h{hidden}-s{seed}"
    paths = {"weights": result.save(Path(out) / f"{stem}.npz")}
    if figure:
        paths["figure"] = plot.save(plot.learning_curves(doc, footer=_footer(doc)), Path(out) / f"{stem}.png")
    if json:
        paths["json"] = io.write_json(doc, Path(json) if str(json) != "-" else "-")
    job = JobResult(doc, paths, {"total": time.perf_counter() - t0})
    job.trained = result
    return job
