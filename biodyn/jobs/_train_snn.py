"""The spiking train job: ``biodyn train TASK --net lif --learner L`` — a network of catalog
neurons (:func:`biodyn.snn.read`) trained by surrogate-gradient BPTT or readout only
(:func:`biodyn.learn._snn.train_snn`).

Writes, all or nothing, into ``OUT``: ``TASK-NEURON-LEARNER-hH-sS.npz`` (trained weights,
learning curves and the configuration), ``TASK-NEURON-LEARNER-hH-sS.png`` (learning curves)
and, with ``json``, the document ``{"config", "curves", "final"}``; ``curves`` holds, per epoch,
train/test loss and metric, the mean firing rate on the test set (``rate_hz``) and the
alignment of the learner's update with the BPTT surrogate gradient (``alignment``); ``dynamics``
(unless ``dynamics=False``, ``--no-dynamics``) the trained network's largest Lyapunov exponent
by two copies in Brian2 and its firing statistics (:mod:`biodyn.snn._chaos`).
"""

from __future__ import annotations

import time
from pathlib import Path

from .. import io, plot
from ..snn._chaos import trained_dynamics
from ..build import resolve_target
from ._base import JobResult, all_or_nothing, check_outputs

__all__ = ["train_snn"]


def _footer(doc):
    from brian2 import ms

    from .._quantity import readable_quantity, readable_text

    c = doc["config"]
    v = c["versions"]
    clip = ""
    if c.get("clip_grad") is not None:
        clip = (f", update norm clipped at {c['clip_grad']:g} ({c.get('clipped_gradients', '?')} of "
                f"{c.get('gradients', '?')})")
    return (f"{c['model']} ({c['parameter_set']}), {c['synapse']} synapses, {c['method']}, dt = {readable_quantity(c['dt_ms'] * ms)}; "
            f"surrogate {c['surrogate']['shape']} {readable_text(c['surrogate']['width'])}; seed {c['seed']}, batch "
            f"{c['batch_size']}, {c['steps']} updates{clip}; biodyn {v['biodyn']}, jax {v['jax']}")


@all_or_nothing()
def train_snn(task, *, neuron=None, params=None, learner="bptt", hidden=None, epochs=None, out="results", json=None,
              figure=True, progress=None, brian_check=16, brian_target="numpy", dynamics=True,
              dynamics_duration=2.0, dynamics_transient=0.2, **options):
    """Train a spiking network on ``task`` and write its weights, figure and (optionally) JSON.

    ``neuron`` is the catalog neuron model (``model`` of :func:`biodyn.learn._snn.train_snn`;
    ``None``: the task's ``[training.spiking] neuron``, else ``lif``; the one used and its source
    are in ``config["model"]``, ``config["model_source"]``). ``options`` are those of
    :func:`biodyn.learn._snn.train_snn` (``lr``, ``seed``, ``dt``, ``parameters`` — the task's, a
    mapping, as :func:`biodyn.jobs.train`'s —, ...).
    ``brian_check``: the trained network is run in Brian2 (``brian_target``) on that many test
    sequences (:meth:`~biodyn.learn._snn.SNNTrainResult.brian_check`) and the document's
    ``brian`` entry holds the task's metric there beside the differentiable network's (0: not).
    ``dynamics`` (default on: a numpy Brian2 run of ``dynamics_duration`` seconds of two
    network copies, seconds against the training's minutes; a trained network's numbers are
    incomplete without its regime): the document's ``dynamics`` entry holds the trained network's
    largest Lyapunov exponent by two copies in Brian2 (per second, with its standard error)
    and its firing statistics (rate, CV of ISI, Fano factor), driven by the test sequences
    back to back (:func:`biodyn.snn._chaos.network_dynamics`, on ``brian_target``).
    """
    from ..learn._snn import train_snn as train

    check_outputs(out, json)
    if isinstance(brian_check, bool) or not isinstance(brian_check, int) or brian_check < 0:
        from ..errors import SpecError

        raise SpecError("<arguments>", "brian_check", "a number of test sequences >= 0 (0: no check)",
                        repr(brian_check))
    brian_target = resolve_target(brian_target)  # checked even when unused: a typo is never ignored
    t0 = time.perf_counter()
    result = train(task, model=neuron, params=params, learner=learner, hidden=hidden, epochs=epochs,
                   progress=progress, **options)
    doc = result.document()
    if brian_check:
        doc["brian"] = result.brian_check(int(brian_check), target=brian_target)
    if dynamics:
        doc["dynamics"] = trained_dynamics(result, duration=dynamics_duration, transient=dynamics_transient,
                                           target=brian_target)
    doc["config"]["time_s"] = time.perf_counter() - t0
    stem = f"{result.config['task']['name']}-{result.config['model']}-{learner}-h{result.config['hidden']}-s{result.config['seed']}"
    paths = {"weights": result.save(Path(out) / f"{stem}.npz")}
    if figure:
        paths["figure"] = plot.save(plot.snn_learning_curves(doc, footer=_footer(doc)), Path(out) / f"{stem}.png")
    if json:
        paths["json"] = io.write_json(doc, Path(json) if str(json) != "-" else "-")
    job = JobResult(doc, paths, {"total": time.perf_counter() - t0})
    job.trained = result
    return job
