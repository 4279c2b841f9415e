"""The ``rate_inputs`` engine: a rate neuron per condition learning from random input vectors.

Each condition is one postsynaptic rate neuron (``network.neuron``, default the
``rate`` model with instantaneous linear gain, y = w.x) fed by its own
``n`` input rates through the protocol's rate-based synapse model (``oja``,
``bcm``, ``hebb``, ...), all conditions in one Brian2 run. The input vector x
is piecewise constant: a new sample every ``stimulus.sample_interval``, drawn
with numpy (seeded by the run's seed) before the run and replayed from a
``TimedArray`` (one row per sample, one column per input of every
condition), so that a rerun of a compiled build can replace the samples.

Stimulus kinds:

* ``gaussian`` — x ~ N(mean, C) with C = R(angle) diag(std**2) R(angle)^T in
  two dimensions (``std``, ``angle`` in degrees: the direction of the first
  principal axis, expressions of the labels). Oja's rule converges to the unit
  principal eigenvector e1 of C (Oja 1982).
* ``patterns`` — one of ``patterns`` (vectors) per sample, chosen with
  ``probabilities`` (expressions of the labels). BCM with the sliding
  threshold theta = E[y**2] becomes selective (Bienenstock, Cooper & Munro
  1982): at its stable fixed points the neuron answers one pattern k with
  y = 1/p_k and the others with 0.

Observables: ``weight_angle`` (direction of w in degrees, modulo 180),
``alignment`` (|cos| of the angle between w and e1), ``weight_norm``,
``selectivity`` (1 - mean response / max response over the patterns, the
measure of Bienenstock et al. 1982), ``max_response``. The Block holds the
weights every ``record_dt`` and the final weights; ``extra`` the trajectories
and the reference (e1 or the selective fixed point).
"""

from __future__ import annotations

import math

import numpy as np

from .. import build, io
from ..errors import SpecError
from ..spec import Key
from ._engine import Engine, Outcome, Plan, register_engine


def _dims():
    from brian2.units.allunits import second

    return second.dim


@register_engine
class RateInputsEngine(Engine):
    name = "rate_inputs"
    stimulus_keys = {
        "kind": Key((str,), True, "'gaussian' or 'patterns'"),
        "duration": Key((str,), True, "simulated time"),
        "sample_interval": Key((str,), True, "how long each input sample is held"),
        "std": Key((list,), False, "gaussian: standard deviations along the principal axes"),
        "angle": Key((str,), False, "gaussian: direction of the first principal axis (degrees)"),
        "mean": Key((list,), False, "gaussian: mean input (default 0)"),
        "patterns": Key((list,), False, "patterns: the input vectors"),
        "probabilities": Key((list,), False, "patterns: the probability of each pattern"),
    }
    network_keys = {
        "neuron": Key((str,), False, "the rate neuron model (default 'rate')"),
        "neuron_params": Key((str,), False, "its parameter set"),
        "neuron_variants": Key((dict,), False, "its variants (default instantaneous, linear)"),
        "initial_weights": Key((str,), False, "'random' (uniform in [lo, hi]) or a value (default 'random')"),
        "initial_range": Key((list,), False, "[lo, hi] of random initial weights (default [-0.5, 0.5])"),
    }
    observables = ("weight_angle", "alignment", "weight_norm", "selectivity", "max_response")
    reusable = True

    def neuron_model(self):
        variants = {"dynamics": "instantaneous", "gain": "linear"}
        variants.update(self.network.get("neuron_variants", {}))
        return build.resolve(self.network.get("neuron", "rate"), self.network.get("neuron_params"),
                             None, variants)

    # -- plan ---------------------------------------------------------------------------
    def plan(self):
        from brian2 import second

        sec = _dims()
        kind = self.stimulus["kind"]
        if kind not in ("gaussian", "patterns"):
            raise SpecError(self.protocol.file, "stimulus.kind", "'gaussian' or 'patterns'", repr(kind))
        duration = self.quantity(self.stimulus["duration"], sec, "stimulus.duration")
        interval = self.quantity(self.stimulus["sample_interval"], sec, "stimulus.sample_interval")
        n_samples = int(math.ceil(float(duration / interval)))
        rng = np.random.default_rng(self.options.seed)
        units = self.protocol.label_units()
        samples, references, covs, pattern_sets, probs = [], [], [], [], []
        for cond in self.protocol.conditions:
            labels = cond.quantities(units)
            if kind == "gaussian":
                std = [float(self.quantity(str(s), None, f"stimulus.std[{k}]", labels))
                       for k, s in enumerate(self.stimulus.get("std", []))]
                if len(std) != 2:
                    raise SpecError(self.protocol.file, "stimulus.std", "two standard deviations (2-D inputs)",
                                    repr(self.stimulus.get("std")))
                angle = float(self.quantity(self.stimulus.get("angle", "0"), None, "stimulus.angle", labels))
                a = math.radians(angle)
                R = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
                C = R @ np.diag(np.square(std)) @ R.T
                mean = np.array([float(self.quantity(str(m), None, f"stimulus.mean[{k}]", labels))
                                 for k, m in enumerate(self.stimulus.get("mean", [0, 0]))])
                x = rng.multivariate_normal(mean, C, size=n_samples)
                evals, evecs = np.linalg.eigh(C)
                references.append(evecs[:, np.argmax(evals)])
                covs.append(C)
            else:
                pats = np.array(self.stimulus.get("patterns", []), dtype=float)
                if pats.ndim != 2 or pats.shape[0] < 2:
                    raise SpecError(self.protocol.file, "stimulus.patterns", "a list of two or more vectors",
                                    repr(self.stimulus.get("patterns")))
                p = np.array([float(self.quantity(str(t), None, f"stimulus.probabilities[{k}]", labels))
                              for k, t in enumerate(self.stimulus.get("probabilities", []))])
                if p.size != pats.shape[0] or np.any(p < 0) or not math.isclose(p.sum(), 1.0, abs_tol=1e-9):
                    raise SpecError(self.protocol.file, "stimulus.probabilities",
                                    f"{pats.shape[0]} probabilities summing to 1", repr(p.tolist()))
                choice = rng.choice(pats.shape[0], size=n_samples, p=p)
                x = pats[choice]
                pattern_sets.append(pats)
                probs.append(p)
            samples.append(x)
        n_in = samples[0].shape[1]
        table = np.concatenate(samples, axis=1)  # (samples, conditions*n_in)
        init = self.network.get("initial_weights", "random")
        n_syn = table.shape[1]
        if init == "random":
            lo, hi = (float(v) for v in self.network.get("initial_range", [-0.5, 0.5]))
            w0 = rng.uniform(lo, hi, n_syn)
        else:
            w0 = np.full(n_syn, float(self.quantity(init, None, "network.initial_weights")))
        neuron = self.neuron_model()
        steps = int(round(float(duration / self.dt)))
        signature = ("rate_inputs", len(samples), n_in, n_samples, steps, str(interval),
                     str(self.record_dt), neuron.spec.name, tuple(sorted(neuron.code.items())),
                     tuple(sorted(neuron.namespace)))
        return Plan(signature, duration, {
            "kind": kind, "table": table, "n_in": n_in, "n_cond": len(samples), "interval": interval,
            "w0": w0, "neuron": neuron, "references": references, "covariances": covs,
            "patterns": pattern_sets, "probabilities": probs})

    # -- build --------------------------------------------------------------------------
    def build(self, sim, plan):
        from brian2 import NeuronGroup, StateMonitor, TimedArray

        d = plan.data
        n_cond, n_in = d["n_cond"], d["n_in"]
        stim = TimedArray(d["table"], dt=d["interval"], name="input_samples")
        inputs = NeuronGroup(n_cond * n_in, "r : 1", name="inputs", namespace={"input_samples": stim})
        inputs.run_regularly("r = input_samples(t, i)", when="start", name="inputs_sample")
        post = build.neurons(d["neuron"], n_cond, name="post", parameters_as="variables",
                             initialise=False)
        syn = build.synapses(self.resolved, inputs, post, name="synapses", parameters_as="variables",
                             initialise=False, connect={"i": np.arange(n_cond * n_in),
                                                        "j": np.repeat(np.arange(n_cond), n_in)})
        weight = self.resolved.spec.data.get("weight", "w")
        wmon = StateMonitor(syn, weight, record=np.arange(n_cond * n_in), dt=self.record_dt,
                            name="weight_monitor")
        return {"objects": [inputs, post, syn, wmon], "inputs": inputs, "post": post, "synapses": syn,
                "wmon": wmon, "stim": stim, "weight": weight, "built_table": d["table"]}

    def values(self, handles, plan, rerun=False):
        d = plan.data
        post, syn = handles["post"], handles["synapses"]
        out = {(post, k): v for k, v in build.start_values(post, resolved=d["neuron"]).items()}
        init = {handles["weight"]: d["w0"]}
        out.update({(syn, k): v for k, v in build.start_values(syn, init, resolved=self.resolved).items()})
        if rerun and not np.array_equal(handles["built_table"], d["table"]):
            out[handles["stim"]] = d["table"]
        return out

    # -- results ------------------------------------------------------------------------
    def collect(self, handles, plan, block=True):
        from brian2 import second

        d = plan.data
        n_cond, n_in = d["n_cond"], d["n_in"]
        w_end = np.asarray(getattr(handles["synapses"], handles["weight"])[:], float).reshape(n_cond, n_in)
        wmon = handles["wmon"]
        w_t = np.asarray(getattr(wmon, handles["weight"])[:], float).reshape(n_cond, n_in, -1)
        t = np.asarray(wmon.t[:] / second)
        norm = np.linalg.norm(w_end, axis=1)
        angle = np.degrees(np.arctan2(w_end[:, 1], w_end[:, 0])) % 180.0 if n_in == 2 else np.full(n_cond, np.nan)
        extra = {"t": t, "w_t": w_t, "w_final": w_end, "w0": d["w0"].reshape(n_cond, n_in)}
        obs = self.protocol.observable
        if d["kind"] == "gaussian":
            e1 = np.array(d["references"])
            alignment = np.abs(np.sum(w_end * e1, axis=1)) / np.where(norm > 0, norm, 1)
            extra["reference"] = e1 * np.sign(np.sum(w_end * e1, axis=1))[:, None]
            extra["principal_eigenvector"] = e1
            extra["alignment"] = alignment
            table = {"weight_angle": angle, "alignment": alignment, "weight_norm": norm}
        else:
            responses = np.array([d["patterns"][k] @ w_end[k] for k in range(n_cond)])
            mx = responses.max(axis=1)
            sel = 1 - responses.mean(axis=1) / np.where(mx > 0, mx, np.nan)
            winner = np.argmax(responses, axis=1)
            fixed = np.array([1.0 / d["probabilities"][k][winner[k]] for k in range(n_cond)])
            extra.update(responses=responses, winner=winner, fixed_point_response=fixed,
                         response_t=np.einsum("kpi,kit->kpt", np.array(d["patterns"]), w_t))
            extra["reference"] = np.array([np.linalg.lstsq(d["patterns"][k],
                                                           np.where(np.arange(len(d["patterns"][k])) == winner[k], fixed[k], 0.0),
                                                           rcond=None)[0] for k in range(n_cond)])
            table = {"selectivity": sel, "max_response": mx, "weight_norm": norm, "weight_angle": angle}
        if obs not in table:
            raise SpecError(self.protocol.file, "observable", "one of " + ", ".join(table) +
                            f" for stimulus kind {d['kind']!r}", repr(obs))
        values = table[obs]
        out = None
        if block:
            out = io.new_block(self.protocol.name, self.protocol.description.splitlines()[0],
                               observable=obs, stimulus_kind=d["kind"], n_inputs=n_in,
                               sample_interval=str(d["interval"]), record_dt=str(self.record_dt))
            seg = out.segments[0]
            sig = io.state_monitor_signal(seg, wmon, handles["weight"], population="synapses",
                                          indices=np.arange(n_cond * n_in))
            sig.array_annotate(condition=np.repeat(np.arange(n_cond), n_in),
                               input=np.tile(np.arange(n_in), n_cond))
            io.add_signal(seg, f"{handles['weight']}_final", w_end.reshape(1, -1), plan.duration,
                          t_start=plan.duration, population="synapses")
        return Outcome(values=np.asarray(values, float), block=out, extra=extra)
