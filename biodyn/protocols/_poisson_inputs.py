"""The ``poisson_inputs`` engine: a spike-based rule between Poisson inputs and a Poisson neuron.

Each condition is one copy of a small circuit: ``n`` plastic synapses (the protocol's rule)
from ``n`` Poisson inputs onto one Poisson neuron. The condition's labels ``w_0 ... w_{n-1}``
are the initial weights (missing labels: the protocol's or the model's initial weight), so a
list of conditions is a set of trajectories of the learning dynamics from several starts.
All copies run side by side in ONE Brian2 run; each draws its own inputs.

Inputs (``stimulus``), drawn event by event with numpy on the time grid, seeded:

* ``rates`` — one rate per input (their number is ``n``);
* optional correlations by the mixture construction (Kuhn, Aertsen & Rotter 2003): a mother
  Poisson train at ``mother_rate``; input i copies each mother spike with probability
  ``share[i]``, shifted by ``delays[i]`` and an independent Gaussian jitter of s.d.
  ``jitter``, and fires independent Poisson spikes at ``rates[i] - share[i]*mother_rate``.
  Equal delays give lag-symmetric cross-correlations, unequal ones temporally asymmetric
  correlations (input j follows input i by ``delays[j] - delays[i]``). Two spikes of one
  input in one time step (a copy meeting a background spike) are merged (a loss of order
  ``rate^2 dt``).

The neuron (``network.post``), a Poisson neuron firing with probability ``lambda*dt`` per step
(Brian2 ``rand()``, seeded):

* ``"rate"`` — rate-driven: :math:`\\lambda = \\nu_0 + g\\sum_j w_j \\nu_j` from the current
  weights and the inputs' *rates*: its spikes are independent of the input spike times (the
  independent-Poisson setting of rate reductions, e.g. the triplet rule's BCM-like threshold,
  Pfister & Gerstner 2006);
* ``"linear"`` — the linear Poisson neuron of Kempter, Gerstner & van Hemmen (1999):
  :math:`\\lambda(t) = \\nu_0 + g\\sum_j w_j \\sum_f \\epsilon(t - t_j^f)` with
  :math:`\\epsilon(t) = e^{-t/\\tau_\\epsilon}/\\tau_\\epsilon` (each input spike adds
  :math:`g w_j` expected output spikes).
* ``"neuron"`` — a model neuron of the catalog (``network.neuron``, its ``neuron_params``,
  ``neuron_set`` parameter values and ``neuron_initial`` values of its variables, e.g. a bias
  current ``{I = "500 pA"}``), each input spike acting on it as
  ``network.transmit`` says (``"vm_post += w*3*mV"``): for rules that read the postsynaptic
  voltage (Clopath et al. 2010), whose averaged field is measured, not derived.

Observables per condition: ``mean_weight`` (the copy's mean final weight) or
``weight_change`` (mean final minus mean initial weight). ``result.extra`` holds ``t``,
``w_t`` (conditions, inputs, times), ``w_final``, ``w0`` and ``output_rates``; the Block the
output spikes, the weights every ``record_dt`` and the final weights.

References
----------
Kempter R, Gerstner W, van Hemmen JL (1999) Hebbian learning and spiking neurons. Phys Rev E
59:4498-4514. doi:10.1103/PhysRevE.59.4498
Kuhn A, Aertsen A, Rotter S (2003) Higher-order statistics of input ensembles and the response
of simple model neurons. Neural Comput 15:67-101. doi:10.1162/089976603321043702
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from .. import build, io, stimuli
from ..errors import SpecError
from ..spec import Key
from ._engine import Engine, Outcome, Plan, register_engine

__all__ = ["PoissonSetup", "read_setup", "draw_inputs", "build_circuits", "initial_weights"]

_POSTS = ("rate", "linear", "neuron")


def _dims():
    from brian2.units.allunits import hertz, second

    return second.dim, hertz.dim


@dataclass(frozen=True)
class PoissonSetup:
    """The numbers of a ``poisson_inputs`` protocol (SI floats)."""

    rates: np.ndarray          # Hz, (n,)
    mother_rate: float         # Hz
    share: np.ndarray          # (n,)
    delays: np.ndarray         # s, (n,)
    jitter: float              # s
    post: str                  # "rate" or "linear"
    baseline: float            # Hz
    gain: float                # expected output spikes per input spike per unit weight
    tau_eps: float             # s (linear neuron only)
    duration: float            # s
    neuron: object = None      # Resolved model neuron ("neuron" only)
    transmit: str = ""         # what an input spike does to it ("neuron" only)
    neuron_initial: tuple = ()  # (variable, text) initial values of the neuron ("neuron" only)

    @property
    def n(self):
        return int(self.rates.size)


def _list(value, n, what, file, key):
    if isinstance(value, list):
        if n is not None and len(value) != n:
            raise SpecError(file, key, f"one {what} per input ({n})", f"{len(value)} values")
        return value
    return [value] * (n if n is not None else 1)


def read_setup(engine):
    """The :class:`PoissonSetup` of an engine's protocol (stimulus and network tables)."""
    from brian2 import Hz, second

    sec, hz = _dims()
    file = engine.protocol.file
    st, net = engine.stimulus, engine.network
    rate_texts = st["rates"]
    if not isinstance(rate_texts, list) or not rate_texts:
        raise SpecError(file, "stimulus.rates", "a list of rates, one per input ('10 Hz')", repr(rate_texts))
    n = len(rate_texts)
    rates = np.array([float(engine.quantity(t, hz, f"stimulus.rates[{k}]") / Hz)
                      for k, t in enumerate(rate_texts)])
    mother = float(engine.quantity(st.get("mother_rate", "0 Hz"), hz, "stimulus.mother_rate") / Hz)
    share = np.array([float(engine.quantity(str(v), None, f"stimulus.share[{k}]"))
                      for k, v in enumerate(_list(st.get("share", 0.0), n, "share", file, "stimulus.share"))])
    delays = np.array([float(engine.quantity(str(v), sec, f"stimulus.delays[{k}]") / second)
                       for k, v in enumerate(_list(st.get("delays", "0 ms"), n, "delay", file,
                                                   "stimulus.delays"))])
    jitter = float(engine.quantity(st.get("jitter", "0 ms"), sec, "stimulus.jitter") / second)
    duration = float(engine.quantity(st["duration"], sec, "stimulus.duration") / second)
    if np.any(rates < 0) or mother < 0 or jitter < 0 or duration <= 0:
        raise SpecError(file, "stimulus", "rates, mother_rate, jitter >= 0 and a duration > 0",
                        f"rates {rates.tolist()} Hz, mother_rate {mother} Hz, jitter {jitter} s, "
                        f"duration {duration} s")
    if np.any(share < 0) or np.any(share > 1):
        raise SpecError(file, "stimulus.share", "probabilities in [0, 1]", repr(share.tolist()))
    if np.any(share * mother > rates + 1e-9):
        k = int(np.argmax(share * mother - rates))
        raise SpecError(file, f"stimulus.share[{k}]", f"share*mother_rate <= rates[{k}] "
                        f"({rates[k]:g} Hz)", f"{share[k] * mother:g} Hz of copied mother spikes")
    post = net.get("post", "rate")
    if post not in _POSTS:
        from ..errors import suggest

        raise SpecError(file, "network.post", "one of " + ", ".join(_POSTS), repr(post), suggest(post, _POSTS))
    baseline = float(engine.quantity(net.get("baseline", "0 Hz"), hz, "network.baseline") / Hz)
    gain = float(engine.quantity(net.get("gain", "1"), None, "network.gain"))
    tau_eps = float(engine.quantity(net.get("tau_eps", "5 ms"), sec, "network.tau_eps") / second)
    if baseline < 0 or gain < 0 or tau_eps <= 0:
        raise SpecError(file, "network", "baseline >= 0, gain >= 0, tau_eps > 0",
                        f"{baseline} Hz, {gain}, {tau_eps} s")
    neuron, transmit = None, ""
    if post == "neuron":
        for key in ("neuron", "transmit"):
            if not net.get(key):
                raise SpecError(file, f"network.{key}", "the model neuron and what an input spike does "
                                "to it (network.post = 'neuron')", "nothing")
        try:
            neuron = build.resolve(net["neuron"], net.get("neuron_params"), net.get("neuron_set"))
        except SpecError as exc:
            raise SpecError(file, "network.neuron", exc.expected, exc.found, exc.hint) from None
        transmit = net["transmit"]
    initial = tuple(sorted((str(k), str(v)) for k, v in dict(net.get("neuron_initial", {})).items()))
    return PoissonSetup(rates, mother, share, delays, jitter, post, baseline, gain, tau_eps, duration,
                        neuron, transmit, initial)


def draw_inputs(setup, copies, duration, dt, rng):
    """Spikes of ``copies`` independent copies of the inputs: ``(indices, steps)`` sorted by step
    then index; input ``i`` of copy ``c`` is neuron ``c*n + i``."""
    n = setup.n
    n_steps = int(round(duration / dt))
    from brian2 import Hz, second

    idx_parts, step_parts = [], []
    background = np.maximum(setup.rates - setup.share * setup.mother_rate, 0.0)
    b_idx, b_steps = stimuli.poisson_steps(np.tile(background, copies) * Hz, duration * second,
                                           dt * second, rng)
    idx_parts.append(b_idx.astype(np.int64))
    step_parts.append(b_steps.astype(np.int64))
    if setup.mother_rate > 0 and np.any(setup.share > 0):
        lo = min(0.0, float(setup.delays.min())) - 6 * setup.jitter
        hi = max(0.0, float(setup.delays.max())) + 6 * setup.jitter
        span = duration + hi - lo
        for c in range(copies):
            m = rng.poisson(setup.mother_rate * span)
            mother = rng.uniform(-hi, duration - lo, size=m)
            keep = rng.random((m, n)) < setup.share[None, :]
            spike, inp = np.nonzero(keep)
            t = mother[spike] + setup.delays[inp] + setup.jitter * rng.standard_normal(spike.size)
            steps = np.floor(t / dt + 1e-9).astype(np.int64)
            ok = (steps >= 0) & (steps < n_steps)
            idx_parts.append(c * n + inp[ok])
            step_parts.append(steps[ok])
    idx = np.concatenate(idx_parts)
    steps = np.concatenate(step_parts)
    key = np.unique(steps * (copies * n) + idx)          # one spike per input per step
    steps, idx = key // (copies * n), key % (copies * n)
    return idx.astype(np.int32), steps.astype(np.int64)


def initial_weights(engine, n):
    """``(conditions, n)`` initial weights: labels ``w_k``, else the protocol's/model's initial."""
    from ..spec import parse_quantity

    spec = engine.resolved.spec
    weight = spec.data.get("weight", "w")
    text = engine.protocol.initial.get(weight, spec.initial.get(weight, "0"))
    default = float(parse_quantity(str(text), None, file=engine.protocol.file, key=f"initial.{weight}",
                                   names=dict(engine.resolved.namespace)))
    rows = []
    for cond in engine.protocol.conditions:
        rows.append([float(cond.labels.get(f"w_{k}", default)) for k in range(n)])
        extra = sorted(set(cond.labels) - {f"w_{k}" for k in range(n)})
        bad = [e for e in extra if re.fullmatch(r"w_\d+", e)]
        if bad:
            raise SpecError(engine.protocol.file, f"conditions.{bad[0]}",
                            f"initial weights w_0 ... w_{n - 1} (one per input)", repr(bad[0]))
    return np.array(rows, dtype=float)


def _with_drive(resolved, gain):
    """The rule with two extra lines: its input's rate and the summed drive of a rate-driven
    Poisson neuron (``drive_post = gain*w*nu_in``)."""
    code = dict(resolved.code)
    weight = resolved.spec.data.get("weight", "w")
    code["model"] = (code["model"].rstrip() + "\nnu_in : Hz (constant)\n"
                     f"drive_post = {float(gain)!r}*{weight}*nu_in : Hz (summed)\n")
    return dataclasses.replace(resolved, code=code)


def build_circuits(sim, resolved, setup, weights, spikes, *, record_dt=None, lr=None,
                   name="circuits", record=True):
    """Create ``len(weights)`` copies of the circuit in ``sim``; returns handles.

    ``weights`` is ``(copies, n)``; ``spikes`` the ``(indices, steps)`` of :func:`draw_inputs`;
    ``lr`` (optional) sets the rule's learning rate.
    """
    from brian2 import Hz, NeuronGroup, SpikeMonitor, StateMonitor, second

    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    copies, n = weights.shape
    dt = float(sim.dt / second)
    idx, steps = spikes
    gen = stimuli.spike_generator(copies * n, idx, steps * dt * second, name=f"{name}_inputs")
    ns = {"nu_0": setup.baseline * Hz, "tau_eps": setup.tau_eps * second}
    connect = {"i": np.arange(copies * n), "j": np.repeat(np.arange(copies), n)}
    if setup.post == "rate":
        post = NeuronGroup(copies, "drive : Hz\nlam = nu_0 + drive : Hz",
                           threshold="rand() < lam*dt", name=f"{name}_post", namespace=ns)
        syn = build.synapses(_with_drive(resolved, setup.gain), gen, post, connect=connect,
                             name=f"{name}_synapses")
        syn.nu_in = np.tile(setup.rates, copies) * Hz
    elif setup.post == "neuron":
        post = build.neurons(setup.neuron, copies, name=f"{name}_post",
                             init=dict(setup.neuron_initial) or None)
        syn = build.synapses(resolved, gen, post, connect=connect, name=f"{name}_synapses",
                             transmit=setup.transmit)
    else:
        post = NeuronGroup(copies, "drho/dt = -rho/tau_eps : Hz\nlam = nu_0 + rho : Hz",
                           threshold="rand() < lam*dt", name=f"{name}_post", namespace=ns,
                           method="exact")
        weight = resolved.spec.data.get("weight", "w")
        syn = build.synapses(resolved, gen, post, connect=connect, name=f"{name}_synapses",
                             transmit=f"rho_post += {setup.gain!r}*{weight}/({setup.tau_eps!r}*second)")
    weight = resolved.spec.data.get("weight", "w")
    setattr(syn, weight, weights.ravel())
    if lr is not None:
        syn.lr = lr
    objects = [gen, post, syn]
    handles = {"inputs": gen, "post": post, "synapses": syn, "weight": weight, "copies": copies, "n": n}
    if record:
        wmon = StateMonitor(syn, weight, record=np.arange(copies * n),
                            dt=record_dt if record_dt is not None else sim.dt, name=f"{name}_weights")
        smon = SpikeMonitor(post, name=f"{name}_spikes")
        objects += [wmon, smon]
        handles.update(wmon=wmon, smon=smon)
    handles["objects"] = objects
    return handles


@register_engine
class PoissonInputsEngine(Engine):
    name = "poisson_inputs"
    stimulus_keys = {
        "duration": Key((str,), True, "simulated time (e.g. '200 second')"),
        "rates": Key((list,), True, "one rate per input (['10 Hz', '20 Hz'])"),
        "mother_rate": Key((str,), False, "rate of the shared mother train (default '0 Hz': independent)"),
        "share": Key((list, float, int), False, "probability that an input copies a mother spike (one per input, or one for all)"),
        "delays": Key((list, str), False, "shift of each input's copies (['0 ms', '5 ms'])"),
        "jitter": Key((str,), False, "s.d. of the Gaussian jitter of each copy (default '0 ms')"),
    }
    network_keys = {
        "post": Key((str,), False, "'rate' (rate-driven Poisson neuron, default), 'linear' (Kempter's linear "
                    "Poisson neuron) or 'neuron' (a model neuron of the catalog)"),
        "baseline": Key((str,), False, "spontaneous rate nu_0 of the neuron (default '0 Hz')"),
        "gain": Key((str,), False, "expected output spikes per input spike per unit weight (default '1')"),
        "tau_eps": Key((str,), False, "time constant of the linear neuron's response kernel (default '5 ms')"),
        "neuron": Key((str,), False, "post = 'neuron': the model neuron (e.g. 'adex_clopath')"),
        "neuron_params": Key((str,), False, "its parameter set"),
        "neuron_set": Key((dict,), False, "its parameter values (e.g. {I = '500 pA'})"),
        "neuron_initial": Key((dict,), False, "initial values of its variables (e.g. {I = '500 pA'})"),
        "transmit": Key((str,), False, "post = 'neuron': what an input spike does ('vm_post += w*3*mV')"),
    }
    observables = ("mean_weight", "weight_change")

    def brian_random(self):
        return True  # the Poisson neuron draws rand() (a model neuron may, too)

    def plan(self):
        setup = read_setup(self)
        w0 = initial_weights(self, setup.n)
        dt = float(self.dt / _second())
        rng = np.random.default_rng(self.options.seed)
        spikes = draw_inputs(setup, len(w0), setup.duration, dt, rng)
        return Plan(("poisson_inputs", len(w0), setup.n, spikes[0].size), setup.duration * _second(),
                    {"setup": setup, "w0": w0, "spikes": spikes})

    def build(self, sim, plan):
        d = plan.data
        return build_circuits(sim, self.resolved, d["setup"], d["w0"], d["spikes"],
                              record_dt=self.record_dt, name="circuits")

    def values(self, handles, plan, rerun=False):
        return {}

    def collect(self, handles, plan, block=True):
        from brian2 import second

        d = plan.data
        w0 = d["w0"]
        C, n = w0.shape
        weight = handles["weight"]
        w_end = np.asarray(getattr(handles["synapses"], weight)[:], dtype=float).reshape(C, n)
        wmon = handles["wmon"]
        t = np.asarray(wmon.t[:] / second)
        w_t = np.asarray(getattr(wmon, weight)[:], dtype=float).reshape(C, n, -1)
        # the state at the end of the run (the monitor records at the start of each step)
        t = np.append(t, float(plan.duration / second))
        w_t = np.concatenate([w_t, w_end[:, :, None]], axis=2)
        duration = float(plan.duration / second)
        trains = io.spike_monitor_trains(handles["smon"], C)
        rates = np.array([len(tr) / duration for tr in trains])
        obs = self.protocol.observable
        if obs == "relative_weight_change":
            obs = "mean_weight"
        values = w_end.mean(axis=1) if obs == "mean_weight" else w_end.mean(axis=1) - w0.mean(axis=1)
        out = None
        if block:
            out = io.new_block(self.protocol.name, self.protocol.description.splitlines()[0],
                               observable=obs, n_inputs=n, post=d["setup"].post,
                               record_dt=str(self.record_dt))
            seg = out.segments[0]
            io.add_spiketrains(seg, trains, plan.duration, "post")
            sig = io.state_monitor_signal(seg, wmon, weight, population="synapses",
                                          indices=np.arange(C * n))
            sig.array_annotate(condition=np.repeat(np.arange(C), n), input=np.tile(np.arange(n), C))
            final = io.add_signal(seg, f"{weight}_final", w_end.reshape(1, -1), plan.duration,
                                  t_start=plan.duration, population="synapses")
            final.array_annotate(condition=np.repeat(np.arange(C), n), input=np.tile(np.arange(n), C))
        return Outcome(values=values, block=out,
                       extra={"t": t, "w_t": w_t, "w_final": w_end, "w0": w0, "output_rates": rates,
                              "duration": duration})

    def simulate(self, sim):
        plan = self.plan()
        handles = self.build(sim, plan)
        sim.run(plan.duration, *handles["objects"])
        return self.collect(handles, plan)


def _second():
    from brian2 import second

    return second
