r"""Spiking networks of catalog neurons trained on tasks: surrogate-gradient BPTT and a
trained readout (the reservoir baseline).

**Network.** ``H`` neurons of a catalog model (:func:`biodyn.snn.read`: ``lif`` by default,
exponential current synapses, the spec's integration, threshold, reset and refractory period)
receive the task's input spikes through :math:`W_{in}` and their own spikes through
:math:`W_{rec}` (no self-connections), both in units of ``weight_unit`` (1 nA for current
synapses; 0.05 of the conductance's unit, i.e. 5 % of the leak conductance for ``lif_cond``,
whose excitatory g_max is 0.015 in Song et al. 2000): the learners see dimensionless numbers. The
readout is a leaky integrator (Bellec et al. 2020, Methods):
:math:`y_t = \kappa\,y_{t-1} + W_{out}^\top s_t`, :math:`\kappa = e^{-dt/\tau_{out}}`, output
:math:`o_t = y_t + b`, computed in the network's own time loop (:func:`biodyn.snn.run`'s
``readout``: the loss holds no ``T x B x H`` spike array, and its gradient no second loop over
stored spikes). With task readout ``"all"`` the output of a task step is :math:`o_t` at its last
network step; with ``"last"`` (classification) the logits are the time average of
:math:`o_t` over the sequence. Loss and metric are the task's (``mse`` over the scored
entries, PyTorch's ``MSELoss``; ``cross_entropy``; :func:`biodyn.learn.metric_value`).

**Inputs.** Tasks whose generator gives spikes (:data:`biodyn.learn._generators.SPIKING`,
e.g. ``spike_patterns``) are read one task step per network step. Other tasks' analog inputs
:math:`x \in [-1, 1]` are encoded, each task step held for ``steps_per_sample`` network steps,
into ``2 n_per_channel`` spike trains per input channel (one group for :math:`x^+`, one for
:math:`x^-`): ``poisson`` — a Bernoulli spike per step with probability
:math:`\nu_{max}\,dt\,|x^\pm|`; ``latency`` — one spike per task step, at sub-step
:math:`\lfloor (1 - |x^\pm|)(S - 1) \rfloor` (none if :math:`x^\pm = 0`; the earlier the
stronger, Gütig & Sompolinsky 2006). Draws use ``default_rng([seed, 3, set])``, set 0 train,
1 test, drawn once (frozen spike trains).

**Learners.** ``bptt``: the gradient of the loss by reverse-mode autodiff through the
network's scan over time, the spike's derivative replaced by the surrogate (Neftci, Mostafa &
Zenke 2019), for :math:`W_{in}, W_{rec}, W_{out}, b`. ``readout``: the same gradient for
:math:`W_{out}, b` only; :math:`W_{in}, W_{rec}` keep their initial values. Updates by
biodyn's optimisers (``adam`` default) on the flattened learned parameters, one per minibatch.
``eprop`` / ``eprop_random``: e-prop's estimate (Bellec et al. 2020;
:mod:`biodyn.learn._eprop`) for :math:`W_{in}, W_{rec}`, with symmetric or random feedback
in the learning signal, and the exact gradient for the readout. ``rstdp``: reward-modulated
STDP from the catalog's ``rstdp`` synapse spec (parameter set ``rule_params``) for
:math:`W_{in}, W_{rec}`, the trial's reward minus a running baseline as the third factor, and
the delta rule for the readout (:mod:`biodyn.learn._rstdp`).
Each epoch records, on the epoch's first minibatch, the **alignment**: the cosine between the
learner's update direction (minus its gradient, before the optimiser) and the BPTT surrogate
gradient over all parameters — 1 for ``bptt``; for ``readout``,
:math:`\lVert g_{out}\rVert / \lVert g\rVert`. And the **adjoint through time**
(``adjoint_norm``, one row per epoch): :math:`\lVert \partial E/\partial v_t\rVert` over the
first 32 test sequences and all neurons, per network step :math:`t`, in 1/(SI unit of the
threshold's variable :math:`v`: 1/V for the catalog's neurons; ``config["adjoint"]``; the
figures show it per mV) — BPTT's reverse-time
signal through the spikes' surrogate (exploding if it grows from :math:`t = T` back to 0).
For ``rstdp`` also ``alignment_rule``: the same cosine over :math:`W_{in}, W_{rec}` only (the
rule's own part, without the delta-rule readout).

**Initial weights** (seed ``[seed, 4]``): :math:`W_{in} \sim \mathcal N(\mu_{in}, \sigma_{in}^2)`
with :math:`\mu_{in} = \sigma_{in} = ` ``w_in`` :math:`/\sqrt M`, :math:`W_{rec} \sim \mathcal
N(0, g^2/H)` (``g`` = ``w_rec``), :math:`W_{out} \sim \mathcal N(0, 1/H)`, :math:`b = 0`.

References
----------
Bellec G, Scherr F, Subramoney A, Hajek E, Salaj D, Legenstein R, Maass W (2020) A solution to
the learning dilemma for recurrent networks of spiking neurons. Nat Commun 11:3625.
doi:10.1038/s41467-020-17236-y
Neftci EO, Mostafa H, Zenke F (2019) Surrogate gradient learning in spiking neural networks.
IEEE Signal Process Mag 36(6):51-63. doi:10.1109/MSP.2019.2931595
Gütig R, Sompolinsky H (2006) The tempotron. Nat Neurosci 9:420-428. doi:10.1038/nn1643
"""

from __future__ import annotations

import functools
import inspect
import json
from dataclasses import dataclass

import numpy as np

from .._version import __version__
from ..errors import BiodynError, SpecError, suggest
from ._generators import SPIKING
from ._task import SOURCES, Task, call_parameters, load_task, metric_value, settings_with_sources
from ._train import _KEYWORDS as _TRAIN_KEYWORDS
from ._train import _Oracle, check_clip_grad

__all__ = ["LEARNERS", "ENCODINGS", "SNN_DEFAULTS", "SOURCES", "DEFAULT_NEURON", "neuron_of", "settings",
           "settings_and_sources", "spiking_task", "train_snn", "SNNTrainResult", "encode",
           "snn_functions"]

LEARNERS = ("bptt", "readout", "eprop", "eprop_random", "rstdp")
ENCODINGS = ("poisson", "latency")
_ALL = ("W_in", "W_rec", "W_out", "b")
_LEARNED = {"bptt": _ALL, "readout": ("W_out", "b"), "eprop": _ALL, "eprop_random": _ALL, "rstdp": _ALL}


def _positive(value, flag, kind=int):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or kind(value) != value or value <= 0:
        raise SpecError("<arguments>", flag, f"a positive {'integer' if kind is int else 'number'}", repr(value))
    return kind(value)


def _threshold_variable(reading):
    return reading.membrane


def _hashable(q):
    return q if isinstance(q, str) else repr(q)


def encode(task, batch, *, encoding="poisson", rate_hz=100.0, steps_per_sample=10, n_per_channel=5, dt=1e-3,
           rng=None):
    """Input spikes ``(n, T S, M)`` of ``batch`` (see module doc); spiking tasks as they are."""
    if task.generator in SPIKING:
        return np.asarray(batch.x, float)
    x = np.asarray(batch.x, float)
    n, T, I = x.shape
    S, K = int(steps_per_sample), int(n_per_channel)
    amp = np.concatenate([np.maximum(x, 0), np.maximum(-x, 0)], axis=2)  # (n, T, 2I)
    amp = np.clip(np.repeat(amp, K, axis=2), 0.0, 1.0)  # (n, T, 2IK)
    if encoding == "poisson":
        p = np.repeat(amp, S, axis=1) * rate_hz * dt
        return (rng.random(p.shape) < p).astype(float)
    out = np.zeros((n, T, S, amp.shape[2]))
    sub = np.floor((1.0 - amp) * (S - 1)).astype(int)
    nn, tt, cc = np.nonzero(amp > 0)
    out[nn, tt, sub[nn, tt, cc], cc] = 1.0
    return out.reshape(n, T * S, amp.shape[2])


@functools.lru_cache(maxsize=16)
def _compiled(model, params, tau_syn, dt, readout, loss, steps_per_sample, tau_out, weight_unit, shape, width):
    """Jitted ``(evaluate, grad, eprop)``: ``evaluate(p, x, t, mask) -> (loss, outputs, mean spike
    count per step and neuron)`` and the loss gradient (cached: trainings of one configuration
    share their compiled code); ``eprop(p, x, t, mask, feedback)`` e-prop's estimate
    (:func:`biodyn.learn._eprop.eprop_online`; the two-pass form for a per-step cross-entropy). Call inside ``jax.enable_x64(True)``."""
    import jax

    import jax.numpy as jnp

    from .. import snn

    reading = snn.read(model, params, tau_syn=tau_syn, dt=dt)  # train_snn read it first
    forward, value, loss_of = snn_functions(reading, readout, loss, steps_per_sample, tau_out, weight_unit, shape,
                                            width)
    def evaluate(p, x, t, mask):
        y, s = forward(p, x)
        return loss_of(y, t, mask), y, s.mean()

    def eprop(p, x, t, mask, feedback):
        from ._eprop import eprop_gradient, eprop_online

        if readout == "last" or loss == "mse":  # online: memory independent of the sequence length
            return eprop_online(reading, p, x, t, mask, readout=readout, loss=loss, steps_per_sample=steps_per_sample,
                                kappa=float(np.exp(-reading.dt / tau_out)), weight_unit=weight_unit, shape=shape,
                                width=width, feedback=feedback)

        def readout_loss(S, W_out, b):
            return loss_of(forward.readout(S, W_out, b), t, mask)

        return eprop_gradient(reading, p, x, readout_loss, weight_unit=weight_unit, shape=shape, width=width,
                              feedback=feedback)

    var = _threshold_variable(reading)

    def adjoint(p, x, t, mask):
        """Norm over batch and neurons of dE/dv_t (v: the threshold's variable), per step t."""
        T, B, H = x.shape[1], x.shape[0], p["W_rec"].shape[0]

        def of_probe(pr):
            return loss_of(forward(p, x, {var: pr}, spikes=False)[0], t, mask)

        g = jax.grad(of_probe)(jnp.zeros((T, B, H)))
        return jnp.sqrt(jnp.sum(g ** 2, axis=(1, 2)))

    return jax.jit(evaluate), jax.jit(jax.grad(value)), jax.jit(eprop), jax.jit(adjoint)


def snn_functions(reading, readout, loss, steps_per_sample, tau_out, weight_unit, shape, width):
    """``(forward(p, x) -> (outputs, spikes), value(p, x, t, mask), loss(y, t, mask))`` for parameter dicts ``p``
    (``W_in``, ``W_rec``, ``W_out``, ``b``) and inputs ``x`` ``(n, T', M)``. Call inside
    ``jax.enable_x64(True)``."""
    import jax
    import jax.numpy as jnp

    from ..snn import run

    kappa = float(np.exp(-reading.dt / tau_out))
    S = int(steps_per_sample)

    def net(p, x, probe=None, spikes=True):
        """``(outputs, spikes)``: the readout in the network's own time loop (see
        :func:`biodyn.snn.run`'s ``readout``); ``spikes=False`` neither stores nor returns the
        spikes (``None``), as the loss needs only the outputs."""
        H = p["W_rec"].shape[0]
        W_rec = p["W_rec"] * (1.0 - jnp.eye(H))
        tr = run(reading, p["W_in"] * weight_unit, W_rec * weight_unit, jnp.swapaxes(x, 0, 1), shape=shape,
                 width=width, probe=probe, readout=(p["W_out"], kappa), spikes=spikes)
        return outputs_of(tr.outputs, p["b"]), tr.spikes  # spikes (T', B, H)

    def outputs_of(y, b):
        o = y + b
        if readout == "last":
            return jnp.mean(o, axis=0)
        return jnp.swapaxes(o[S - 1::S], 0, 1)

    def readout_of(s, W_out, b):
        """The same outputs from spikes ``s`` ``(T', B, H)`` given apart (Brian2's, e-prop's)."""
        def filt(y, s_t):
            y = kappa * y + s_t @ W_out
            return y, y

        _, y = jax.lax.scan(filt, jnp.zeros((s.shape[1], W_out.shape[1])), s)
        return outputs_of(y, b)

    def loss_of(y, t, mask):
        if loss == "cross_entropy":
            logp = jax.nn.log_softmax(y, axis=-1)
            return -jnp.mean(jnp.take_along_axis(logp, t[:, None].astype(int), axis=-1))
        m = mask[..., None]
        return jnp.sum(m * (y - t) ** 2) / (jnp.sum(mask) * y.shape[-1])

    def value(p, x, t, mask):
        return loss_of(net(p, x, spikes=False)[0], t, mask)

    net.readout = readout_of
    return net, value, loss_of


@dataclass
class SNNTrainResult:
    """Trained parameters (``W_in``, ``W_rec`` in ``weight_unit``; ``W_out``, ``b``), learning
    curves and the configuration (everything that shaped them)."""

    params: dict
    curves: dict
    config: dict
    task: object

    def document(self):
        def finite(x):
            x = np.asarray(x, float)
            if x.ndim == 0:
                return None if not np.isfinite(x) else float(x)
            return [finite(v) for v in x]

        curves = {k: finite(v) for k, v in self.curves.items()}
        final = {k: curves[k][-1] for k in ("train_loss", "test_loss", "train_metric", "test_metric", "rate_hz")}
        return {"config": self.config, "curves": curves, "final": final}

    def brian_check(self, n=16, target="numpy"):
        """The trained network run in Brian2 on the first ``n`` test sequences.

        The ``n`` sequences run as ``n`` independent copies of the network in ONE Brian2 run
        (block-diagonal weights; :func:`biodyn.snn.brian_run`, the catalog spec's equations, any
        target); the readout is applied to Brian2's spikes. Returns ``{"target", "n_sequences",
        "test_metric_brian", "test_metric_jax", "identical_spikes", "spikes_brian",
        "spikes_jax"}``: the task's metric computed from Brian2's spikes beside the one of the
        differentiable network on the same sequences, and whether the spike trains are the same
        (step by step).
        """
        import jax
        import jax.numpy as jnp

        from ..snn import brian_run

        run = getattr(self, "_run", None)
        if run is None:
            raise BiodynError("brian_check needs the result of train_snn in this session")
        r, x_all = run["reading"], run["x_test"]
        n = int(min(n, len(x_all)))
        x = x_all[:n]
        _, T, M = x.shape
        p = self.params
        H = p["W_rec"].shape[0]
        W_in = np.kron(np.eye(n), p["W_in"]) * run["unit"]
        W_rec = np.kron(np.eye(n), p["W_rec"] * (1 - np.eye(H))) * run["unit"]
        seq, steps, chan = np.nonzero(x)
        out = brian_run(r, W_in, W_rec, seq * M + chan, steps, T, target=target)
        S_b = np.zeros((T, n, H))
        S_b[out["n"], out["i"] // H, out["i"] % H] = 1.0
        sub = type(run["test_set"])(run["test_set"].x[:n], run["test_set"].y[:n],
                                    None if run["test_set"].mask is None else run["test_set"].mask[:n])
        with jax.enable_x64(True):
            fwd, _, _ = snn_functions(r, self.task.readout, self.task.loss, run["steps_per_sample"], run["tau_out"],
                                      run["unit"], self.config["surrogate"]["shape"], 1.0)
            y_b = np.asarray(fwd.readout(jnp.asarray(S_b), jnp.asarray(p["W_out"]), jnp.asarray(p["b"])))
            pj = {k: jnp.asarray(v) for k, v in p.items()}
            y_j, S_j = fwd(pj, jnp.asarray(x))
            y_j, S_j = np.asarray(y_j), np.asarray(S_j)
        metric = self.task.metric
        return {"target": target, "n_sequences": n, "test_metric_brian": metric_value(metric, y_b, sub),
                "test_metric_jax": metric_value(metric, y_j, sub), "identical_spikes": bool(np.array_equal(S_b, S_j)),
                "spikes_brian": int(S_b.sum()), "spikes_jax": int(S_j.sum())}

    def save(self, path):
        from .. import io

        with io.atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **{f"param.{k}": v for k, v in self.params.items()},
                         **{f"curve.{k}": np.asarray(v) for k, v in self.curves.items()},
                         config=np.asarray(json.dumps(self.config)))
        return path


#: Generic defaults of :func:`train_snn` — the ONE table of them: ``biodyn train --net lif``
#: passes only the flags given and prints these numbers in its help, and the spiking
#: comparisons (:mod:`biodyn.compare._snn`) resolve their settings through :func:`settings`.
#: A task's ``[training.spiking]`` table overrides them (all but ``dt``, ``surrogate`` and
#: ``surrogate_width``, which a task table cannot set); explicit arguments override both.
SNN_DEFAULTS = {"hidden": 64, "epochs": 20, "lr": 2e-2, "optimizer": "adam", "batch_size": 32, "tau_syn": "5 ms",
                "tau_out": "20 ms", "w_in": 3.0, "w_rec": 1.0, "encoding": "poisson", "rate": "100 Hz",
                "steps_per_sample": 10, "n_per_channel": 5, "dt": "1 ms", "surrogate": "fast_sigmoid",
                "surrogate_width": "1 mV"}



def settings(task, **given):
    """The training settings of :func:`train_snn` for ``task``: each of :data:`SNN_DEFAULTS` from
    ``given`` if not ``None``, else the task's ``[training.spiking]`` table, else the default."""
    return settings_and_sources(task, **given)[0]


def settings_and_sources(task, **given):
    """``(settings, sources)``: :func:`settings` and, per setting, where its value came from —
    ``"argument"`` (given, not ``None``), ``"task"`` (the task's ``[training.spiking]`` table) or
    ``"default"`` (:data:`SNN_DEFAULTS`); the resolution of rate networks too
    (:func:`biodyn.learn._task.settings_with_sources`)."""
    return settings_with_sources(given, load_task(task).spiking_training, SNN_DEFAULTS)


#: The neuron model of :func:`train_snn` when neither the caller nor the task's ``[training.spiking]``
#: table names one.
DEFAULT_NEURON = "lif"


def neuron_of(task, model=None):
    """``(model, source)``: the neuron model a spiking network on ``task`` is made of and where it
    comes from — ``"argument"`` (``model=``, ``neuron=`` of :func:`biodyn.jobs.train_snn`,
    ``--neuron``), else ``"task"`` (its ``[training.spiking] neuron``: the model the table's
    other values were tuned for, e.g. ``alif`` for ``cue_accumulation``, Bellec et al. 2020),
    else ``"default"`` (:data:`DEFAULT_NEURON`)."""
    if model is not None:
        return model, "argument"
    task = load_task(task)
    if "neuron" in task.spiking_training:
        return task.spiking_training["neuron"], "task"
    return DEFAULT_NEURON, "default"


def spiking_task(task, _given_as=None, **task_parameters):
    """``(task, applied)``: ``task`` with ``task_parameters`` and, for those neither they nor the
    Task object set, its ``[training.spiking] parameters`` (``applied``). ``_given_as``: how errors
    name a task parameter, ``{name: (file, key)}`` (default the keyword: ``<arguments>: name``)."""
    base = load_task(task)
    applied = {k: v for k, v in base.spiking_parameters.items()
               if k not in task_parameters and k not in base._overrides}
    if not applied and not task_parameters:
        return base, applied
    # errors name each value where it was given: the table's key, or the caller's keyword
    given_as = {**base._given_as, **{k: (base.file, f"training.spiking.parameters.{k}") for k in applied},
                **(_given_as or {})}
    return Task(base.name, base.path, base._data, {**base._overrides, **applied, **task_parameters},
                given_as), applied


def train_snn(task, *, model=None, params=None, learner="bptt", hidden=None, epochs=None, lr=None, optimizer=None,
              seed=0, batch_size=None, dt=None, tau_syn=None, tau_out=None, surrogate=None,
              surrogate_width=None, w_in=None, w_rec=None, weight_unit=None, encoding=None, rate=None,
              steps_per_sample=None, n_per_channel=None, progress=None, rule_params=None, clip_grad=None,
              parameters=None, **task_parameters):
    """Train a spiking network of catalog neurons on ``task`` (see module doc).

    Parameters
    ----------
    task : str or Task
    model, params : str
        The neuron model (``lif``, ``alif``, ``adex``, ``lif_cond``) and its parameter set (default
        the spec's). ``model=None``: the task's ``[training.spiking] neuron`` (the model its
        defaults were tuned for), else ``lif`` (:func:`neuron_of`); the model and where it came
        from are recorded as ``config["model"]`` and ``config["model_source"]`` (``"argument"``,
        ``"task"`` or ``"default"``).
    learner : {"bptt", "readout", "eprop", "eprop_random", "rstdp"}
    rule_params : str, optional
        ``rstdp``: the parameter set of the catalog's ``rstdp`` spec (default the spec's).
    hidden : int
        Number of spiking neurons :math:`H`.
    epochs, lr, optimizer, batch_size, seed
        As :func:`biodyn.learn.train`; ``seed`` seeds data, encoding, weights and minibatches.
        Every argument left at ``None`` (here and below) takes the task's ``[training.spiking]``
        value, else :data:`SNN_DEFAULTS`; the table's ``parameters`` apply unless given in
        ``task_parameters`` (recorded as ``config["task_parameters_for_spiking"]``); the names
        of the settings the table gave are ``config["task_defaults_used"]``, and
        ``config["sources"]`` says for each setting of :data:`SNN_DEFAULTS` and the neuron
        where its value came from: ``"argument"``, ``"task"`` or ``"default"``
        (:func:`settings_and_sources`).
    dt, tau_syn, tau_out : str
        Time step, synaptic and readout time constants (with units; defaults ``"1 ms"``, ``"5 ms"``,
        ``"20 ms"``; ``dt`` is not a key of a task's table).
    surrogate, surrogate_width : str
        Surrogate shape (:data:`biodyn.snn.SHAPES`; default ``"fast_sigmoid"``) and width (unit of
        the threshold margin; default ``"1 mV"``); not keys of a task's table.
    w_in, w_rec : float
        Initial input and recurrent weight scales (in ``weight_unit``).
    encoding, rate, steps_per_sample, n_per_channel
        How analog task inputs become spikes (defaults ``"poisson"``, ``"100 Hz"``, 10, 5); for
        tasks whose inputs are spikes they do not apply, and giving them is an error.
    parameters : mapping, optional
        Task parameters, as ``parameters`` of :func:`biodyn.jobs.train` (``{"rate": 20}``: the
        generator's ``rate`` of ``spike_patterns``, where the keyword ``rate=`` is the encoding's);
        an error about one names it ``parameters.NAME`` (``biodyn train``: ``--set NAME``).
    **task_parameters
        Task parameters as further keywords (``n_steps=40``), by the rules of
        :func:`biodyn.learn.train`'s (one check, :func:`biodyn.learn._task.call_parameters`): a
        loose keyword that names a training setting is refused — with a pointer to
        ``parameters=`` when it is also a parameter of the task, else with the training it
        belongs to (``g=1.0``: a setting of :func:`biodyn.learn.train`'s rate networks); a name
        given both ways is an error. ``rate=`` (or another encoding keyword) on a task whose
        inputs are already spikes and which has a parameter of that name (``spike_patterns``,
        ``spike_sine_generation``) is refused too, pointing to ``parameters={"rate": ...}``: the
        keyword is the encoding's rate on every task, and biodyn does not guess from the task
        that the caller meant the task's (a script looping over tasks would change its meaning
        silently; spikes per step and Hz are not one quantity).
    clip_grad : float, optional
        Gradient norm clipping (Pascanu, Mikolov & Bengio 2013, ICML), as
        :func:`biodyn.learn.train`'s: every update direction the optimiser sees — the learner's
        (BPTT's surrogate gradient, e-prop's estimate, R-STDP's update) over the weights it
        trains, all together — is rescaled to global L2 norm at most ``clip_grad``, its direction
        kept (:func:`biodyn.learn._train.clip_by_global_norm`), before the optimiser's update.
        Default ``None``: no clipping. Recorded as ``config["clip_grad"]``, with
        ``config["clipped_gradients"]`` of ``config["gradients"]`` when set.

    Returns
    -------
    SNNTrainResult
    """
    import jax
    import jax.numpy as jnp

    from .. import snn
    from .._quantity import evaluate
    from ..ann import optimiser as make_optimiser

    # task parameters by the rules of learn.train (one helper): parameters= is for any name; a loose
    # keyword naming a training setting, or an encoding keyword on a task whose inputs are spikes that
    # the task has a parameter of (rate= on spike_patterns), is refused, pointing to parameters=
    encoding_given = {k: v for k, v in (("encoding", encoding), ("rate", rate), ("steps_per_sample",
                      steps_per_sample), ("n_per_channel", n_per_channel)) if v is not None}
    task_parameters, named = call_parameters(
        task, parameters, task_parameters, function="train_snn", keywords=_KEYWORDS,
        others={"rate networks (biodyn.learn.train)": _TRAIN_KEYWORDS,
                "the job biodyn.jobs.train_snn": _JOB_KEYWORDS - {"neuron"},
                "the job biodyn.jobs.train_snn (its neuron is train_snn's model)": {"neuron"}},
        inapplicable=encoding_given if load_task(task).generator in SPIKING else None)
    task, applied = spiking_task(task, _given_as=named, **task_parameters)
    model, model_source = neuron_of(task, model)
    if task.generator in SPIKING and encoding_given:
        raise SpecError("<arguments>", ", ".join(encoding_given), f"no input encoding for {task.name!r}, whose "
                        "inputs are already spikes", repr(encoding_given))
    # where each setting came from (recorded: config["sources"], as learn.train records its own;
    # config["task_defaults_used"]: the names the table gave)
    _resolved, sources = settings_and_sources(
        task, hidden=hidden, epochs=epochs, lr=lr, optimizer=optimizer, batch_size=batch_size, tau_syn=tau_syn,
        tau_out=tau_out, w_in=w_in, w_rec=w_rec, encoding=encoding, rate=rate, steps_per_sample=steps_per_sample,
        n_per_channel=n_per_channel, dt=dt, surrogate=surrogate, surrogate_width=surrogate_width)
    sources = {"neuron": model_source, **sources}
    from_task = sorted(k for k, v in sources.items() if v == "task")
    hidden, epochs, lr, optimizer, batch_size = (_resolved[k] for k in ("hidden", "epochs", "lr", "optimizer",
                                                                        "batch_size"))
    tau_syn, tau_out, w_in, w_rec = (_resolved[k] for k in ("tau_syn", "tau_out", "w_in", "w_rec"))
    encoding, rate, steps_per_sample, n_per_channel = (_resolved[k] for k in ("encoding", "rate", "steps_per_sample",
                                                                              "n_per_channel"))
    dt, surrogate, surrogate_width = (_resolved[k] for k in ("dt", "surrogate", "surrogate_width"))
    if learner not in LEARNERS:
        raise SpecError("<arguments>", "learner", "one of " + ", ".join(LEARNERS), repr(learner),
                        suggest(str(learner), LEARNERS))
    from ..snn import SHAPES

    if surrogate not in SHAPES:
        raise SpecError("<arguments>", "surrogate", "one of " + ", ".join(SHAPES), repr(surrogate),
                        suggest(str(surrogate), SHAPES))
    if encoding not in ENCODINGS:
        raise SpecError("<arguments>", "encoding", "one of " + ", ".join(ENCODINGS), repr(encoding),
                        suggest(str(encoding), ENCODINGS))
    hidden = _positive(hidden, "hidden")
    epochs = _positive(epochs, "epochs") if epochs != 0 else 0
    batch_size = _positive(batch_size, "batch_size")
    lr = _positive(float(lr), "lr", float)
    steps_per_sample = _positive(steps_per_sample, "steps_per_sample")
    n_per_channel = _positive(n_per_channel, "n_per_channel")
    for flag, value, low in (("w_in", w_in, "> 0"), ("w_rec", w_rec, ">= 0")):  # scales of normal draws
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
            (value > 0 if low == "> 0" else value >= 0)
        if not ok:
            raise SpecError("<arguments>", flag, f"a weight scale {low} (the standard deviation of the initial "
                            "weights scales with it)", repr(value))
    if task.generator in SPIKING:
        steps_per_sample = 1
    if rule_params is not None and learner != "rstdp":
        raise SpecError("<arguments>", "rule_params", "--learner rstdp (the parameter set of its synapse rule)",
                        f"--learner {learner}")
    clip_grad = check_clip_grad(clip_grad)  # the rate networks' check
    opt = make_optimiser(optimizer)
    if opt.name == "implicit_gd":
        raise SpecError("<arguments>", "optimizer", "an optimiser without Hessian-vector products", repr(optimizer))
    try:
        reading = snn.read(model, params, tau_syn=tau_syn, dt=dt)
    except SpecError as e:
        # the task's neuron, read with its own parameter set: what is wrong is the task's choice
        if model_source != "task" or params is not None or e.file in ("<snn>", "<arguments>"):
            raise
        raise SpecError(task.file, "training.spiking.neuron", "a neuron model the spiking reading "
                        "(biodyn.snn.read) supports, e.g. lif, alif, adex, lif_cond", f"{model!r} ({e})",
                        "or give the neuron (--neuron, model=)") from None

    def seconds(text, flag, dim="second"):
        q = evaluate(text) if isinstance(text, str) else text
        from brian2.units.fundamentalunits import get_dimensions
        import brian2

        if get_dimensions(q) is not getattr(brian2, dim).dim or float(q) <= 0:
            raise SpecError("<arguments>", flag, f"a positive quantity in {dim}", repr(text))
        return float(q)

    tau_out_s = seconds(tau_out, "tau_out")
    rate_hz = seconds(rate, "rate", "hertz")
    margin_unit = reading.units[reading.membrane]
    wq = evaluate(surrogate_width) if isinstance(surrogate_width, str) else surrogate_width
    from brian2.units.fundamentalunits import get_dimensions, have_same_dimensions

    if not have_same_dimensions(wq, margin_unit) or float(wq) <= 0:
        raise SpecError("<arguments>", "surrogate_width", f"a positive value in the threshold margin's unit "
                        f"({margin_unit})", repr(surrogate_width))
    if weight_unit is None:
        unit_q = evaluate("1 nA") if reading.synapse == "current" else 0.05 * reading.weight_unit()
    else:
        unit_q = evaluate(weight_unit) if isinstance(weight_unit, str) else weight_unit
        if not have_same_dimensions(unit_q, reading.weight_unit()):
            raise SpecError("<arguments>", "weight_unit", f"a quantity in {reading.weight_unit()}", repr(weight_unit))
    unit = float(unit_q)
    seed = int(seed)
    train_set, test_set = task.data(seed)
    enc = dict(encoding=encoding, rate_hz=rate_hz, steps_per_sample=steps_per_sample, n_per_channel=n_per_channel,
               dt=reading.dt)
    x_train = encode(task, train_set, rng=np.random.default_rng([seed, 3, 0]), **enc)
    x_test = encode(task, test_set, rng=np.random.default_rng([seed, 3, 1]), **enc)
    M, H, O = x_train.shape[2], hidden, task.n_outputs
    rng_w = np.random.default_rng([seed, 4])
    p = {"W_in": rng_w.normal(w_in / np.sqrt(M), w_in / np.sqrt(M), (M, H)),
         "W_rec": rng_w.normal(0.0, w_rec / np.sqrt(H), (H, H)) * (1 - np.eye(H)),
         "W_out": rng_w.normal(0.0, 1.0 / np.sqrt(H), (H, O)), "b": np.zeros(O)}
    learned = _LEARNED[learner]
    keys = sorted(p)
    shapes = {k: p[k].shape for k in keys}

    def flat(d, names):
        return np.concatenate([np.asarray(d[k], float).ravel() for k in names])

    def unflat(theta, names, base):
        out, i = dict(base), 0
        for k in names:
            size = int(np.prod(shapes[k]))
            out[k] = theta[i:i + size].reshape(shapes[k])
            i += size
        return out

    def targets(b):
        return b.y if task.readout == "last" else np.asarray(b.y, float)

    def mask(b):
        return np.ones(len(b), bool) if b.mask is None else b.mask

    config = {"task": task.as_dict(), "task_parameters_for_spiking": applied, "net": f"{model} ({learner})",
              "model": model, "model_source": model_source, "task_defaults_used": from_task,
              "sources": sources,
              "parameter_set": reading.resolved.parameter_set, "learner": learner, "hidden": H, "epochs": epochs,
              "lr": lr, "optimizer": opt.name, "optimizer_options": opt.hyperparameters(), "seed": seed,
              "batch_size": min(batch_size, len(train_set)), "dt_ms": reading.dt * 1e3, "method": reading.method,
              "synapse": reading.synapse, "tau_syn": str(tau_syn), "tau_out": str(tau_out),
              "surrogate": {"shape": surrogate, "width": str(surrogate_width)}, "weight_unit": str(unit_q),
              "init": {"w_in": w_in, "w_rec": w_rec}, "clip_grad": clip_grad,
              # the adjoint's variable and its SI unit: adjoint_norm is per that unit (1/V for v)
              "adjoint": {"variable": reading.membrane, "unit": str(reading.units[reading.membrane])},
              "readout": task.readout, "n_inputs": M, "n_outputs": O,
              "encoding": None if task.generator in SPIKING else {"kind": encoding, "rate": str(rate),
                                                                  "steps_per_sample": steps_per_sample,
                                                                  "n_per_channel": n_per_channel},
              "versions": {"biodyn": __version__, "jax": jax.__version__, "numpy": np.__version__}}
    curves = {k: [] for k in ("epoch", "train_loss", "test_loss", "train_metric", "test_metric", "rate_hz",
                              "alignment", "adjoint_norm")}
    bs = min(batch_size, len(train_set))
    rng = np.random.default_rng([seed, 2])
    with jax.enable_x64(True):
        evaluate, grad, eprop, adjoint = _compiled(model, params, _hashable(tau_syn), _hashable(dt), task.readout,
                                                 task.loss, steps_per_sample, tau_out_s, unit, surrogate, float(wq))

        def jp(d):
            return {k: jnp.asarray(v) for k, v in d.items()}

        feedback = None
        if learner == "eprop_random":
            feedback = jnp.asarray(np.random.default_rng([seed, 5]).normal(0.0, 1.0 / np.sqrt(H), (H, O)))

        rstdp = None
        if learner == "rstdp":
            from ._rstdp import RstdpLearner

            rstdp = RstdpLearner(reading, task, steps_per_sample=steps_per_sample, tau_out=tau_out_s,
                                 weight_unit=unit, shape=surrogate, width=float(wq), rule_params=rule_params)
            config["rule"] = rstdp.describe()

        def learner_grad(pd, xb, tb, mb, update=False):
            if rstdp is not None:
                return rstdp.grad(jp(pd), xb, tb, mb, update=update)
            if learner.startswith("eprop"):
                return eprop(jp(pd), xb, tb, mb, feedback)
            return grad(jp(pd), xb, tb, mb)

        def alignment(pd, xb, tb, mb):
            g = grad(jp(pd), xb, tb, mb)
            full = flat(g, keys)
            mg = learner_grad(pd, xb, tb, mb)
            mine = np.concatenate([np.asarray(mg[k]).ravel() if k in learned else np.zeros(p[k].size) for k in keys])
            den = np.linalg.norm(full) * np.linalg.norm(mine)
            if rstdp is not None:  # the rule's own part: W_in, W_rec only
                net = [i for i, k in enumerate(np.repeat(keys, [p[k].size for k in keys])) if k in ("W_in", "W_rec")]
                dn = np.linalg.norm(full[net]) * np.linalg.norm(mine[net])
                curves["alignment_rule"].append(float(mine[net] @ full[net] / dn) if dn > 0 else np.nan)
            return float(mine @ full / den) if den > 0 else np.nan

        def evaluate_epoch(epoch, pd):
            curves["epoch"].append(epoch)
            for name, b, x in (("train", train_set, x_train), ("test", test_set, x_test)):
                value, y, rate = evaluate(jp(pd), x, targets(b), mask(b))
                curves[f"{name}_loss"].append(float(value))
                curves[f"{name}_metric"].append(metric_value(task.metric, np.asarray(y), b))
            curves["rate_hz"].append(float(rate) / reading.dt)
            k_adj = min(32, len(test_set))
            norms = np.asarray(adjoint(jp(pd), x_test[:k_adj], targets(test_set)[:k_adj], mask(test_set)[:k_adj]))
            curves["adjoint_norm"].append(norms)
            if progress is not None:
                progress(epoch, curves)

        curves["alignment"].append(np.nan)
        if rstdp is not None:
            curves["alignment_rule"] = [np.nan]
        evaluate_epoch(0, p)
        theta = flat(p, learned)
        state = opt.init(theta)
        k = n_grad = n_clipped = 0
        for epoch in range(1, epochs + 1):
            order = rng.permutation(len(train_set))
            for start in range(0, len(train_set) - bs + 1, bs):
                idx = order[start:start + bs]
                xb, tb, mb = x_train[idx], targets(train_set)[idx], mask(train_set)[idx]
                if start == 0:
                    curves["alignment"].append(alignment(unflat(theta, learned, p), xb, tb, mb))

                oracle = _Oracle(lambda th: flat(learner_grad(unflat(th, learned, p), xb, tb, mb, update=True),
                                                 learned), clip_grad)
                with np.errstate(over="ignore", invalid="ignore"):
                    theta, state = opt.step(theta, state, k, lr, oracle)
                k += 1
                n_grad, n_clipped = n_grad + oracle.n_grad, n_clipped + oracle.n_clipped
                if not np.all(np.isfinite(theta)):
                    raise BiodynError(f"biodyn train: the weights diverged at update {k} (epoch {epoch}, "
                                      f"lr = {lr:g}); try a smaller --lr")
            p = unflat(theta, learned, p)
            evaluate_epoch(epoch, p)
    config["steps"] = k
    if clip_grad is not None:
        config["gradients"], config["clipped_gradients"] = n_grad, n_clipped
    result = SNNTrainResult({k: np.asarray(v) for k, v in p.items()}, {k: np.asarray(v, float) for k, v in
                                                                        curves.items()}, config, task)
    result._run = {"reading": reading, "x_test": x_test, "test_set": test_set, "unit": unit,
                   "tau_out": tau_out_s, "steps_per_sample": steps_per_sample, "evaluate": evaluate,
                   "targets": targets(test_set), "mask": mask(test_set)}
    return result


#: The keywords of :func:`train_snn` (a training setting among them is one train_snn has).
_KEYWORDS = frozenset(inspect.signature(train_snn).parameters) - {"task", "parameters", "task_parameters"}
#: The training settings of the job :func:`biodyn.jobs.train_snn` that are no keywords of
#: :func:`train_snn` (the job's ``neuron`` is ``model`` here): named in the hint about one given
#: to :func:`train_snn` (a test checks them against the job's signature).
_JOB_KEYWORDS = frozenset(("neuron", "brian_check", "brian_target", "dynamics"))
