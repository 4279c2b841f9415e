r"""Local learning rules for spiking networks against surrogate-gradient BPTT, side by side.

**Setting.** A network of catalog neurons (:func:`biodyn.snn.read`, ``lif`` by default) learns a
task (``spike_patterns`` by default) with two learners of
:func:`biodyn.learn._snn.train_snn` — a local one (``eprop``: e-prop with symmetric feedback,
Bellec et al. 2020; ``rstdp``: reward-modulated STDP, Izhikevich 2007, Florian 2007) and
``bptt`` (the surrogate gradient through time, Neftci, Mostafa & Zenke 2019) — from the same
seed: the same data, the same input spike trains, the same initial weights (drawn from
``[seed, 4]``), the same minibatch order, the same optimiser and learning rate. The
comparison is generic over learner names (:func:`snn_learners`); any learner of
:data:`biodyn.learn._snn.LEARNERS` can be put against BPTT.

**Measures**, per learner:

* learning curves: the task's test metric and loss per epoch (epoch 0: the common start);
* **gradient alignment**: per epoch, on the epoch's first minibatch, the cosine between the
  learner's update direction and BPTT's gradient at the learner's own weights (over all
  parameters; ``alignment`` of :func:`~biodyn.learn._snn.train_snn`) — 1 for BPTT;
* the **adjoint norm through time** :math:`\lVert\partial E/\partial v_t\rVert` (BPTT's
  reverse-time signal, over the first 32 test sequences and all neurons) at each network
  step :math:`t`, at the start and at the end of training: vanishing or exploding
  backward signal of the network each learner produced;
* the trained network's **largest Lyapunov exponent** by two copies in Brian2, driven by the
  test sequences back to back (:func:`biodyn.snn._chaos.network_dynamics`, Benettin et al.
  1976; per second, ± SE; ``None`` = the copies merged, stable below what ``dt`` resolves),
  and its **firing statistics** (rate, CV of ISI, Fano factor) from the same Brian2 network;
  the untrained network (the common initial weights) is measured too, as the reference.

**Decisions.** The alignment is measured at each learner's own weights (not along BPTT's
trajectory): it says how well the rule follows the gradient where the rule has taken the
network. The exponent is measured on the network driven by its task (the regime it is used
in), not on the autonomous network, whose spiking stops without input.

References
----------
Bellec G et al. (2020) A solution to the learning dilemma for recurrent networks of spiking
neurons. Nat Commun 11:3625. doi:10.1038/s41467-020-17236-y
Neftci EO, Mostafa H, Zenke F (2019) Surrogate gradient learning in spiking neural networks.
IEEE Signal Process Mag 36(6):51-63. doi:10.1109/MSP.2019.2931595
Izhikevich EM (2007) Solving the distal reward problem through linkage of STDP and dopamine
signaling. Cereb Cortex 17:2443-2452. doi:10.1093/cercor/bhl152
Florian RV (2007) Reinforcement learning through modulation of spike-timing-dependent synaptic
plasticity. Neural Comput 19:1468-1502. doi:10.1162/neco.2007.19.6.1468
Benettin G, Galgani L, Strelcyn JM (1976) Kolmogorov entropy and numerical experiments.
Phys Rev A 14:2338-2345. doi:10.1103/PhysRevA.14.2338
"""

from __future__ import annotations

import time

import numpy as np

from ..errors import SpecError, suggest
from ._base import Setting, register_comparison

__all__ = ["eprop_vs_bptt", "rstdp_vs_bptt", "snn_learners", "snn_training"]


def _settings(learner, doc):
    from ..learn._snn import DEFAULT_NEURON, SNN_DEFAULTS

    def from_task(key, what):  # the training's own resolution: the task's table, else SNN_DEFAULTS
        default = SNN_DEFAULTS.get(key, DEFAULT_NEURON if key == "neuron" else None)
        default = f"{default:g}" if isinstance(default, float) else default
        return f"{what} (default: the task's [training.spiking] {key}, else {default})"

    return {
        "learner": Setting(learner, "str", doc),
        "task": Setting("spike_patterns", "str", "the task (catalog name or path of a task file)"),
        "neuron": Setting(None, "str", from_task("neuron", "catalog neuron model of the network")),
        "hidden": Setting(None, "int", from_task("hidden", "number of spiking neurons H"), low=0),
        "epochs": Setting(None, "int", from_task("epochs", "training epochs"), low=0),
        "lr": Setting(None, "float", from_task("lr", "learning rate of the optimiser (the task's [training.spiking] "
                                                     f"optimizer, else {SNN_DEFAULTS['optimizer']})"), low=0),
        "batch_size": Setting(None, "int", from_task("batch_size", "minibatch size"), low=0),
        "n_train": Setting(None, "int", "training sequences (default: the task's [sizes])", low=0),
        "n_test": Setting(None, "int", "test sequences (default: the task's [sizes])", low=0),
        "n_steps": Setting(None, "int", "sequence length in steps, for tasks with an n_steps parameter "
                           "(default: the task's [training.spiking] parameters, else its own)", low=0),
        "dynamics_duration": Setting("2 s", "second", "network time of the Lyapunov run, with its unit",
                                     low=0),
        "dynamics_transient": Setting("200 ms", "second", "discarded network time before it, with its unit; "
                                      "0 <= transient < duration"),
    }


#: The comparison's settings that are keywords of :func:`biodyn.learn._snn.train_snn` of the same
#: name (``neuron``, the other training setting, is its ``model``).
_TRAINING = ("hidden", "epochs", "lr", "batch_size")


def snn_training(settings, comparison):
    """``(task, arguments, record)``: what the learners of a spiking comparison are trained with,
    resolved as ``biodyn train TASK --net lif`` resolves it, by the same functions
    (:func:`biodyn.learn._snn.spiking_task`, :func:`~biodyn.learn._snn.neuron_of`,
    :func:`~biodyn.learn._snn.settings_and_sources`): a setting given (not ``None``) wins, else the
    task's ``[training.spiking]`` table, else :data:`biodyn.learn._snn.SNN_DEFAULTS`. The table's
    ``parameters`` apply unless ``n_steps`` sets that one, and so do the table's settings the
    comparison has no setting of (``optimizer``, ``w_in``, ``w_rec``, ``tau_syn``, ``tau_out``, the
    input encoding): every key of the table applies.

    ``task`` is the task the learners see (sizes changed by ``n_train``/``n_test``, every task
    parameter applied); ``arguments`` the keywords of :func:`~biodyn.learn._snn.train_snn` (the
    task with its sizes, ``n_steps`` as a task parameter); ``record`` holds ``training`` (every
    training setting's value), ``training_sources`` (``"argument"`` — here: the comparison's
    setting —, ``"task"`` or ``"default"`` for each, as ``config["sources"]``),
    ``task_parameters_for_spiking`` (the table's parameters applied) and ``settings`` (the
    comparison's training settings as resolved, for its footer). A task parameter out of range
    is refused naming the comparison's setting (``n_steps``) or the task file's key
    (``training.spiking.parameters.delay``), before anything trains.
    """
    from ..learn._snn import neuron_of, settings_and_sources, spiking_task
    from ..learn._task import Task, load_task

    where = f"<settings of {comparison}>"
    base = load_task(settings["task"])
    data = dict(base._data)
    sizes = dict(data.get("sizes", {}))
    for key, setting in (("train", "n_train"), ("test", "n_test")):
        if settings[setting] is not None:
            sizes[key] = int(settings[setting])
    data["sizes"] = sizes
    base = Task(base.name, base.path, data, dict(base._overrides))
    parameters = {} if settings["n_steps"] is None else {"n_steps": settings["n_steps"]}
    task, applied = spiking_task(base, _given_as={k: (where, k) for k in parameters}, **parameters)
    model, model_source = neuron_of(task, settings["neuron"])
    values, sources = settings_and_sources(task, **{k: settings[k] for k in _TRAINING})
    arguments = dict(task=base, model=settings["neuron"], parameters=parameters,
                     **{k: settings[k] for k in _TRAINING})
    record = {"training": {"neuron": model, **values}, "training_sources": {"neuron": model_source, **sources},
              "task_parameters_for_spiking": applied,
              "settings": {"neuron": model, **{k: values[k] for k in _TRAINING}}}
    return task, arguments, record


def snn_learners(learners, settings, seed, target, comparison):
    """Train each of ``learners`` with the same seed and measure them (see module doc).

    Returns ``(series, summary)`` of a comparison: ``series`` holds ``epoch``, ``step_ms``
    (network time of the adjoint's steps), and per learner ``L``: ``test_metric_L``,
    ``test_loss_L``, ``train_loss_L``, ``alignment_L`` (epoch 0: ``None``), ``rate_hz_L``
    (mean rate of the differentiable network on the test set), ``adjoint_start_L`` and
    ``adjoint_end_L`` (:math:`\\lVert\\partial E/\\partial v_t\\rVert` per step);
    ``summary`` holds ``learners``, ``metric``, ``task`` (name, parameters, sizes), per learner
    (``per_learner[L]``) the final metric, the mean and final alignment, the trained network's
    ``dynamics`` (λmax ± SE, firing statistics, how they were measured) and the training's
    ``config``, and ``initial_dynamics`` (the untrained network).
    """
    from ..snn._chaos import trained_dynamics
    from ..learn._snn import LEARNERS, train_snn
    from brian2 import second

    where = f"<settings of {comparison}>"
    if len(set(learners)) != len(learners):
        raise SpecError(where, "learner", "a learner other than " + learners[-1], repr(learners[0]))
    for name in learners:
        if name not in LEARNERS:
            raise SpecError(where, "learner", "a learner of train_snn (" + ", ".join(LEARNERS) + ")", repr(name),
                            suggest(str(name), LEARNERS) or ("it is not registered in this biodyn; compare "
                                                            "another learner with --set learner=NAME"))
    task, common, record = snn_training(settings, comparison)
    common["seed"] = seed
    duration, transient = (float(settings[k] / second) for k in ("dynamics_duration", "dynamics_transient"))
    if not 0 <= transient < duration:
        raise SpecError(where, "dynamics_transient", f"a time >= 0 and shorter than dynamics_duration "
                        f"({duration:g} s)", f"{transient:g} s")
    dyn = dict(duration=duration, transient=transient, target=target)
    series, per, timings = {}, {}, {}
    t0 = time.perf_counter()
    initial = train_snn(learner="bptt", **{**common, "epochs": 0})
    init_dyn = trained_dynamics(initial, **dyn)
    timings["initial"] = time.perf_counter() - t0
    for name in learners:
        t0 = time.perf_counter()
        r = train_snn(learner=name, **common)
        t1 = time.perf_counter()
        d = trained_dynamics(r, **dyn)
        timings[name] = {"train": t1 - t0, "dynamics": time.perf_counter() - t1}
        c = r.curves
        series["epoch"] = np.asarray(c["epoch"], int)
        for k in ("test_metric", "test_loss", "train_loss", "alignment", "rate_hz"):
            series[f"{k}_{name}"] = np.asarray(c[k], float)
        adj = np.asarray(c["adjoint_norm"], float)
        series[f"adjoint_start_{name}"] = adj[0]
        series[f"adjoint_end_{name}"] = adj[-1]
        al = np.asarray(c["alignment"], float)[1:]
        per[name] = {"final_test_metric": float(c["test_metric"][-1]), "initial_test_metric": float(c["test_metric"][0]),
                     "final_test_loss": float(c["test_loss"][-1]),
                     "mean_alignment": float(np.nanmean(al)) if np.any(np.isfinite(al)) else None,
                     "final_alignment": float(al[-1]) if len(al) else None,
                     "adjoint_ratio_end": _ratio(adj[-1]), "dynamics": d, "config": r.config}
        series["step_ms"] = np.arange(adj.shape[1]) * r.config["dt_ms"]
    summary = {"learners": list(learners), "metric": task.metric, "task": task.as_dict(),
               "sizes": dict(task._data.get("sizes", {})), "per_learner": per, "initial_dynamics": init_dyn,
               "time_unit": "s", "timings": timings, "training": record["training"],
               "training_sources": record["training_sources"],
               "task_parameters_for_spiking": record["task_parameters_for_spiking"],
               "resolved_settings": record["settings"]}
    return series, summary


def _ratio(a):
    """:math:`\\lVert\\delta_0\\rVert / \\lVert\\delta_{t_1}\\rVert`, :math:`t_1` the last step with a
    non-zero adjoint: growth (> 1) or decay of the adjoint from the end back to the first step."""
    a = np.asarray(a, float)
    nz = np.nonzero(a > 0)[0]
    return float(a[0] / a[nz[-1]]) if len(nz) and a[0] > 0 else None


@register_comparison("eprop_vs_bptt", _settings("eprop", "the local learner put against bptt (eprop; or "
                                                          "eprop_random, readout, ...)"),
                     "spiking network: e-prop vs surrogate-gradient BPTT (curves, alignment, adjoint, lambda_max)")
def _eprop_vs_bptt(settings, seed, target):
    """e-prop (Bellec et al. 2020) against BPTT on the same task, seed and initial weights (see
    :mod:`biodyn.compare._snn`); series and summary of :func:`snn_learners`."""
    return snn_learners((settings["learner"], "bptt"), settings, seed, target, "eprop_vs_bptt")


@register_comparison("rstdp_vs_bptt", _settings("rstdp", "the local learner put against bptt (rstdp; any "
                                                          "learner of train_snn)"),
                     "spiking network: reward-modulated STDP vs surrogate-gradient BPTT")
def _rstdp_vs_bptt(settings, seed, target):
    """Reward-modulated STDP against BPTT on the same task, seed and initial weights (see
    :mod:`biodyn.compare._snn`); series and summary of :func:`snn_learners`."""
    return snn_learners((settings["learner"], "bptt"), settings, seed, target, "rstdp_vs_bptt")


eprop_vs_bptt = _eprop_vs_bptt
rstdp_vs_bptt = _rstdp_vs_bptt
