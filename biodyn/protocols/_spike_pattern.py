"""The ``spike_pattern`` engine: scripted pre/post spike patterns through a synapse model.

Each condition is one synapse between its own presynaptic and postsynaptic
``SpikeGeneratorGroup`` neurons, so all conditions run side by side in one
Brian2 run. Within a repetition the presynaptic spikes fall at the offsets
``stimulus.pre`` and the postsynaptic ones at ``stimulus.post`` (expressions of
the condition's labels, e.g. ``post = ["delta_t"]``); the pattern is shifted so
that its first spike falls at ``stimulus.start``, and repeated
``stimulus.repetitions`` times at ``stimulus.frequency``. ``stimulus.burst_pre``
and ``stimulus.burst_post`` add spikes once per burst, at times in the frame of
the repetitions' pattern, expressions of the labels and ``repetitions``
(``burst_post = ["repetitions/frequency + delta_t"]``: one more postsynaptic
spike, a period after the last repetition's). A condition of a ``list`` may
give its own ``pre``, ``post``, ``repetitions``, ``frequency``, ``bursts``,
``burst_frequency``, ``burst_pre`` and ``burst_post``.

The reported value is the weight change of each synapse:
``relative_weight_change`` = (w_end - w0)/w0, ``weight_change`` = w_end - w0, or
``final_weight`` = w_end.
"""

from __future__ import annotations

import numpy as np

from .. import build, io, stimuli
from ..errors import SpecError
from ..spec import Key, parse_quantity
from ._engine import Engine, MonitorRows, _dt_text, Outcome, Plan, copy_values, register_engine


def _dims():
    from brian2.units.allunits import hertz, second

    return second.dim, hertz.dim


#: The last spike trains computed in this process (:meth:`SpikePatternEngine.trains`).
_TRAINS: dict = {}


@register_engine
class SpikePatternEngine(Engine):
    name = "spike_pattern"
    stimulus_keys = {
        "pre": Key((list,), True, "presynaptic spike times in a repetition (expressions of labels)"),
        "post": Key((list,), True, "postsynaptic spike times in a repetition"),
        "repetitions": Key((int, str), True, "number of repetitions (or an expression of labels)"),
        "frequency": Key((str,), True, "repetition frequency (e.g. '1 Hz' or 'frequency')"),
        "start": Key((str,), False, "time of the first spike (default '100 ms')"),
        "tail": Key((str,), False, "time simulated after the last spike (default '100 ms')"),
        "bursts": Key((int, str), False, "the repetitions form a burst, repeated this many times (default 1)"),
        "burst_frequency": Key((str,), False, "repetition frequency of the bursts (e.g. '0.1 Hz')"),
        "burst_pre": Key((list,), False, "presynaptic spikes once per burst, in the repetitions' frame "
                                        "(expressions of labels and repetitions, e.g. 'repetitions/frequency')"),
        "burst_post": Key((list,), False, "postsynaptic spikes once per burst, in the repetitions' frame"),
    }
    condition_keys = ("pre", "post", "repetitions", "frequency", "bursts", "burst_frequency",
                      "burst_pre", "burst_post")
    observables = ("relative_weight_change", "weight_change", "final_weight")

    @classmethod
    def validate(cls, protocol):
        super().validate(protocol)
        file = protocol.file
        entries = [("stimulus", protocol.stimulus)] + [
            (f"conditions[{c.index}]", c.extra) for c in protocol.conditions if c.extra]
        for where, entry in entries:
            for key in ("pre", "post", "burst_pre", "burst_post"):
                if key in entry and not isinstance(entry[key], list):
                    raise SpecError(file, f"{where}.{key}", "a list of time expressions", repr(entry[key]))
                for k, text in enumerate(entry.get(key, [])):
                    if not isinstance(text, str):
                        raise SpecError(file, f"{where}.{key}[{k}]",
                                        "a time expression ('0 ms', 'delta_t')", repr(text))

    # -- stimulus ----------------------------------------------------------------
    def trains(self):
        """Per condition: presynaptic and postsynaptic spike times (seconds).

        They depend on the protocol's conditions and stimulus (and a run's changes to it),
        never on the model: a fit's or a sweep's points over parameters get them from the
        last computation of this process with the same protocol text, stimulus and time step
        (copies; 5.6 ms a point for sjostrom_2001, a quarter of a batched fit's time).
        """
        pre, post, _, _ = self._stimulus_arrays()
        return pre, post

    def _stimulus_arrays(self):
        """``(pre trains, post trains, (pre indices, times), (post indices, times))``, copies of
        the cached ones (:meth:`trains`; the merged arrays, checked once, as well)."""
        if type(self).trains is not SpikePatternEngine.trains:  # trains of its own (a file's)
            pre_trains, post_trains = self.trains()
            return (pre_trains, post_trains, _merged(pre_trains, self.dt, "pre"),
                    _merged(post_trains, self.dt, "post"))
        key = self._trains_key()
        hit = _TRAINS.get(key)
        if hit is None:
            pre_trains, post_trains = self._trains()
            hit = (pre_trains, post_trains, _merged(pre_trains, self.dt, "pre"),
                   _merged(post_trains, self.dt, "post"))
            _TRAINS.clear()  # the last protocol's only
            _TRAINS[key] = hit
        return ([t.copy() for t in hit[0]], [t.copy() for t in hit[1]],
                tuple(a.copy() for a in hit[2]), tuple(a.copy() for a in hit[3]))

    def _trains_key(self):
        p = self.protocol
        return (p.name, str(getattr(p, "path", "")), repr(sorted(p.stimulus.items())),
                repr([(c.index, sorted(c.labels.items()), sorted(c.extra.items()))
                      for c in p.conditions]),
                repr(p.label_units()), repr(sorted((self.options.stimulus or {}).items())),
                _dt_text(self.dt), repr(sorted(self.stimulus.items())))

    def _trains(self):
        from brian2 import second

        sec, hz = _dims()
        units = self.protocol.label_units()
        start = float(self.quantity(self.stimulus.get("start", "100 ms"), sec, "stimulus.start") / second)
        pre_trains, post_trains = [], []
        for cond in self.protocol.conditions:
            labels = cond.quantities(units)
            where = f"conditions[{cond.index}]" if cond.extra else "stimulus"
            entry = dict(self.stimulus)
            entry.update(cond.extra)
            entry.update(self.options.stimulus or {})  # a run's changes apply to every condition
            pre = [float(self.quantity(t, sec, f"{where}.pre[{k}]", labels) / second)
                   for k, t in enumerate(entry["pre"])]
            post = [float(self.quantity(t, sec, f"{where}.post[{k}]", labels) / second)
                    for k, t in enumerate(entry["post"])]
            reps = entry["repetitions"]
            if isinstance(reps, str):
                reps = self.quantity(reps, None, f"{where}.repetitions", labels)
            reps = int(round(float(reps)))
            if reps < 0:
                raise SpecError(self.protocol.file, f"{where}.repetitions", "a number >= 0", repr(reps))
            freq = self.quantity(entry["frequency"], hz, f"{where}.frequency", labels)
            shift = start - min(pre + post) if (pre or post) else start
            pre_t = np.asarray(stimuli.pattern_train(np.array(pre) * second + shift * second, reps,
                                                     freq) / second)
            post_t = np.asarray(stimuli.pattern_train(np.array(post) * second + shift * second, reps,
                                                      freq) / second)
            # spikes once per burst: expressions of the labels and of the burst's repetitions
            for side in ("pre", "post"):
                if not isinstance(entry.get(f"burst_{side}", []), list):
                    raise SpecError(self.protocol.file, f"{where}.burst_{side}",
                                    "a list of time expressions", repr(entry[f"burst_{side}"]))
            in_burst = dict(labels, repetitions=reps)
            once = {side: np.array([float(self.quantity(t, sec, f"{where}.burst_{side}[{k}]", in_burst)
                                          / second) + shift
                                    for k, t in enumerate(entry.get(f"burst_{side}", []))])
                    for side in ("pre", "post")}
            pre_t = np.concatenate([pre_t, once["pre"]])
            post_t = np.concatenate([post_t, once["post"]])
            bursts = entry.get("bursts", 1)
            if isinstance(bursts, str):
                bursts = self.quantity(bursts, None, f"{where}.bursts", labels)
            bursts = int(round(float(bursts)))
            if bursts < 1:
                raise SpecError(self.protocol.file, f"{where}.bursts", "a number >= 1", repr(bursts))
            if bursts > 1:
                if "burst_frequency" not in entry:
                    raise SpecError(self.protocol.file, f"{where}.burst_frequency",
                                    "the repetition frequency of the bursts", "nothing")
                bf = self.quantity(entry["burst_frequency"], hz, f"{where}.burst_frequency", labels)
                period = 1.0 / float(bf * second)
                both = np.concatenate([pre_t, post_t])
                length = float(both.max() - both.min()) if both.size else 0.0
                if length >= period:
                    raise SpecError(self.protocol.file, f"{where}.burst_frequency",
                                    f"bursts shorter than their period ({period:g} s)",
                                    f"a burst of {length:g} s")
                offsets = np.arange(bursts) * period
                pre_t = (pre_t[None, :] + offsets[:, None]).ravel()
                post_t = (post_t[None, :] + offsets[:, None]).ravel()
            pre_trains.append(np.sort(pre_t))
            post_trains.append(np.sort(post_t))
        return pre_trains, post_trains

    def initial_weight(self):
        """w0: the protocol's initial weight (or the model's), evaluated with the model's parameters."""
        spec = self.resolved.spec
        weight = spec.data.get("weight", "w")
        text = self.protocol.initial.get(weight, spec.initial.get(weight))
        if text is None:
            raise SpecError(self.protocol.file, f"initial.{weight}", "an initial weight", "none")
        value = parse_quantity(str(text), None, file=self.protocol.file, key=f"initial.{weight}",
                               names=dict(self.resolved.namespace))
        return weight, float(value)

    # -- compile once, run many times -------------------------------------------------
    reusable = True

    def plan(self):
        """Spike trains of every condition, and the build's signature."""
        from brian2 import second

        sec, _ = _dims()
        pre_trains, post_trains, (pre_idx, pre_t), (post_idx, post_t) = self._stimulus_arrays()
        n = len(pre_trains)
        last = max([t.max() for t in pre_trains + post_trains if t.size] or [0.0])
        tail = float(self.quantity(self.stimulus.get("tail", "100 ms"), sec, "stimulus.tail") / second)
        duration = (last + tail) * second
        weight, w0 = self.initial_weight()
        init_names = tuple(sorted(set(self.protocol.initial) | {weight}))
        dt_steps = int(round(float(duration / self.dt)))
        signature = ("spike_pattern", n, pre_idx.size, post_idx.size, dt_steps,
                     _dt_text(self.record_dt), self.protocol.observable, init_names)
        return Plan(signature, duration, {
            "n": n, "pre_trains": pre_trains, "post_trains": post_trains,
            "pre": (pre_idx, pre_t), "post": (post_idx, post_t), "weight": weight, "w0": w0})

    def init(self, plan):
        init = {plan.data["weight"]: plan.data["w0"]}
        for var, text in self.protocol.initial.items():
            if var != plan.data["weight"]:
                init[var] = text
        return init

    def build(self, sim, plan):
        from brian2 import StateMonitor, second

        d = plan.data
        n = d["n"]
        replaceable = sim.target == "cpp_standalone"
        pre = stimuli.spike_generator(n, d["pre"][0], d["pre"][1] * second, name="pre",
                                      replaceable=replaceable)
        post = stimuli.spike_generator(n, d["post"][0], d["post"][1] * second, name="post",
                                       replaceable=replaceable)
        syn = build.synapses(self.resolved, pre, post, connect={"i": np.arange(n), "j": np.arange(n)},
                             name="synapses", parameters_as="variables", initialise=False,
                             varying=d.get("varying", ()))
        wmon = StateMonitor(syn, d["weight"], record=np.arange(n), dt=self.record_dt,
                            name="weight_monitor")
        # No SpikeMonitors on the generators: they emit the planned trains on the time grid
        # (emitted_trains), and every object less is one call less per time step.
        return {"objects": [pre, post, syn, wmon], "pre": pre, "post": post,
                "synapses": syn, "wmon": wmon,
                "built_spikes": {"pre": d["pre"], "post": d["post"]}}

    def values(self, handles, plan, rerun=False):
        syn = handles["synapses"]
        out = {(syn, k): v for k, v in
               build.start_values(syn, self.init(plan), resolved=self.resolved).items()}
        if rerun:  # spikes the build does not hold already
            d = plan.data
            for side in ("pre", "post"):
                built = handles["built_spikes"][side]
                if not (np.array_equal(built[0], d[side][0]) and np.array_equal(built[1], d[side][1])):
                    out.update(stimuli.generator_values(handles[side], *d[side], self.dt))
        return out

    def collect(self, handles, plan, block=True):
        d = plan.data
        w_end = np.asarray(getattr(handles["synapses"], d["weight"])[:], dtype=float)
        post_trains = (io.spike_monitor_trains(handles["mpost"], d["n"])
                       if block and "mpost" in handles else None)
        return self._outcome(plan, w_end, handles["wmon"], block, post_trains)

    def _outcome(self, plan, w_end, wmon, block, post_trains=None):
        """The Outcome of one run (or one copy of a batch) from its final weights; ``wmon``
        reads like the weight monitor of its synapses; ``post_trains`` (default: the
        planned ones, as the generator emits them) the postsynaptic spikes."""
        d = plan.data
        n, weight, w0, duration = d["n"], d["weight"], d["w0"], plan.duration
        obs = self.protocol.observable
        if obs == "relative_weight_change":
            if w0 == 0:
                raise SpecError(self.protocol.file, f"initial.{weight}",
                                "a non-zero initial weight for a relative change", "0")
            values = (w_end - w0) / w0
        elif obs == "weight_change":
            values = w_end - w0
        else:
            values = w_end
        out = None
        if block:
            out = io.new_block(self.protocol.name, self.protocol.description.splitlines()[0],
                               w0=w0, weight_variable=weight, record_dt=str(self.record_dt),
                               observable=obs)
            seg = out.segments[0]
            io.add_spiketrains(seg, emitted_trains(d["pre_trains"], self.dt), duration, "pre")
            if post_trains is None:
                post_trains = emitted_trains(d["post_trains"], self.dt)
            io.add_spiketrains(seg, post_trains, duration, "post")
            io.state_monitor_signal(seg, wmon, weight, population="synapses",
                                    indices=np.arange(n))
            io.add_signal(seg, f"{weight}_final", w_end[None, :], duration, t_start=duration,
                          population="synapses")
        return Outcome(values=values, block=out,
                       extra={"w0": w0, "w_end": w_end, "duration": duration})

    # -- batches: the points of a sweep as copies of one run ----------------------------
    batch = "copies"
    batch_stimulus = ("pre", "post", "burst_pre", "burst_post")

    def batch_signature(self, plan):
        sig = plan.signature  # without the numbers of spikes (they add up in a batch)
        return sig[:2] + sig[4:]

    def estimate_bytes(self):
        return 2e5 + 4e3 * len(self.protocol.conditions)

    def merge(self, plans, engines):
        d0 = plans[0].data
        n = d0["n"]
        merged = {}
        for side in ("pre", "post"):
            idx = np.concatenate([p.data[side][0].astype(np.int64) + k * n for k, p in enumerate(plans)])
            t = np.concatenate([p.data[side][1] for p in plans])
            order = np.argsort(t, kind="stable")  # by time, then copy, then the copy's order
            merged[side] = (idx[order].astype(np.int32), t[order])
        sig = plans[0].signature
        signature = ("spike_pattern copies", len(plans), sig[1], merged["pre"][0].size,
                     merged["post"][0].size) + sig[4:]
        data = dict(d0, n=n * len(plans), pre=merged["pre"], post=merged["post"], copies=plans)
        return Plan(signature, plans[0].duration, data)

    def build_copies(self, sim, merged):
        return self.build(sim, merged)

    def values_copies(self, handles, merged, engines, rerun=False):
        plans = merged.data["copies"]
        syn = handles["synapses"]
        starts = [build.start_values(syn, e.init(p), resolved=e.resolved) for p, e in zip(plans, engines)]
        out = {(syn, k): v for k, v in copy_values(syn, starts, [p.data["n"] for p in plans]).items()}
        if rerun:
            d = merged.data
            for side in ("pre", "post"):
                built = handles["built_spikes"][side]
                if not (np.array_equal(built[0], d[side][0]) and np.array_equal(built[1], d[side][1])):
                    out.update(stimuli.generator_values(handles[side], *d[side], self.dt))
        return out

    def collect_copies(self, handles, merged, engines, block=True):
        plans = merged.data["copies"]
        weight = merged.data["weight"]
        w_all = np.asarray(getattr(handles["synapses"], weight)[:], dtype=float)
        out, start = [], 0
        for plan, engine in zip(plans, engines):
            rows = slice(start, start + plan.data["n"])
            start += plan.data["n"]
            wmon = MonitorRows(handles["wmon"], weight, rows) if block else None
            out.append(engine._outcome(plan, w_all[rows], wmon, block))
        return out


def _merged(trains, dt, side):
    """Per-condition trains (seconds) merged into ``(indices, times)`` sorted by time."""
    from brian2 import second

    names = [f"{side} spikes of condition {i}" for i in range(len(trains))]
    idx, times = stimuli.merge([t * second for t in trains], dt, names)
    return np.asarray(idx, dtype=np.int32), np.asarray(times / second, dtype=float)


def emitted_trains(trains, dt):
    """The spike times a ``SpikeGeneratorGroup`` emits for ``trains`` (seconds): each time
    on its time step, ``int((t + 1e-3 dt)/dt) * dt``."""
    from brian2 import second

    dt_s = float(dt / second)
    return [stimuli.timebins(t, dt_s).astype(np.float64) * dt_s for t in trains]
