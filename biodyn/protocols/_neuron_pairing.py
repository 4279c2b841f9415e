"""The ``neuron_pairing`` engine: spike pairings onto a model neuron, or a clamped neuron.

Each condition is one presynaptic ``SpikeGeneratorGroup`` neuron connected by
the protocol's synapse model to its own postsynaptic model neuron
(``network.neuron``, e.g. ``adex_clopath``), all conditions side by side in
one Brian2 run. The presynaptic spikes and the postsynaptic spike times follow
the stimulus of ``spike_pattern`` (``pre``, ``post``, ``repetitions``,
``frequency``, ``bursts``, ``burst_frequency``, ``burst_pre``, ``burst_post``). A
postsynaptic spike is not imposed but evoked, as in the experiments: a current pulse
(``network.pulse_amplitude`` for ``network.pulse_duration``, setting the
neuron's ``network.pulse_target`` variable, which is 0 otherwise) starts
``network.pulse_lead`` before each postsynaptic time, so that the neuron fires at that time (the
latency of the default pulse, 10 nA for 1 ms on ``adex_clopath``, is 1.0 ms;
the Block records the spikes as fired). The three are expressions of the neuron's
parameters and of the time step ``dt``: ``clopath_2010`` forces each spike within one step,
as Clopath et al.'s code does, with ``pulse_amplitude = "2*C*(v_spike - E_L)/dt"``,
``pulse_duration = pulse_lead = "dt"``. A protocol without postsynaptic
times (``post = []``) holds each neuron where ``network.neuron_init`` puts it:
with a voltage-clamp variant of the neuron (``adex_clopath``'s
``membrane = voltage_clamp``) that is the voltage-clamp protocol.

``network.neuron_init`` gives initial values of the neuron per condition as
expressions of the labels (``{ vm = "v_clamp" }``). The value per condition is
the synapse's weight change (``relative_weight_change``, ``weight_change`` or
``final_weight``).
"""

from __future__ import annotations

import numpy as np

from .. import build, io, stimuli
from ..errors import SpecError
from ..spec import Key
from ._engine import Outcome, Plan, register_engine
from ._spike_pattern import SpikePatternEngine, _dims, _merged


@register_engine
class NeuronPairingEngine(SpikePatternEngine):
    name = "neuron_pairing"
    batch = None  # a neuron per condition, built otherwise: its points run alone
    network_keys = {
        "neuron": Key((str,), True, "the postsynaptic neuron model"),
        "neuron_params": Key((str,), False, "its parameter set (default: the model's)"),
        "neuron_variants": Key((dict,), False, "its variant options"),
        "neuron_init": Key((dict,), False, "initial values of the neuron per condition (expressions of labels)"),
        "pulse_amplitude": Key((str,), False, "amplitude of the current pulse evoking a postsynaptic spike "
                                              "(default '10 nA'; may use the neuron's parameters and dt)"),
        "pulse_duration": Key((str,), False, "its duration, at least one step (default '1 ms'; 'dt': one step)"),
        "pulse_lead": Key((str,), False, "how long before the postsynaptic time the pulse starts (default '1 ms')"),
        "pulse_target": Key((str,), False, "the neuron's input variable the pulse sets (default 'I')"),
        "transmit": Key((str,), False, "what a presynaptic spike does to the neuron (default: nothing)"),
    }

    def neuron_model(self):
        return build.resolve(self.network["neuron"], self.network.get("neuron_params"), None,
                             dict(self.network.get("neuron_variants", {})))

    def extra_code(self):
        return (self.network.get("transmit", ""),)

    def plan(self):
        from brian2 import second

        sec, _ = _dims()
        plan = super().plan()
        d = plan.data
        lead = float(self.pulse_quantity("pulse_lead", sec) / second)
        duration_pulse = float(self.pulse_quantity("pulse_duration", sec) / second)
        dt_s = float(self.dt / second)
        if duration_pulse < dt_s * (1 - 1e-9):
            raise SpecError(self.protocol.file, "network.pulse_duration",
                            f"at least one time step ({dt_s * 1e3:g} ms); write 'dt' for one step",
                            f"{duration_pulse * 1e3:g} ms")
        onsets = [t - lead for t in d["post_trains"]]
        if any(p.size and p.min() < 0 for p in onsets):
            raise SpecError(self.protocol.file, "stimulus.start", "a start later than network.pulse_lead",
                            "a pulse before t = 0")
        # one trigger spike at each pulse's onset and one at its end: the pulse synapse toggles
        edges = [np.sort(np.concatenate([p, p + duration_pulse])) for p in onsets]
        if any(np.any(np.diff(e) <= 0) for e in edges):
            raise SpecError(self.protocol.file, "network.pulse_duration",
                            "pulses shorter than the interval between postsynaptic spikes",
                            f"{duration_pulse * 1e3:g} ms")
        d["trigger"] = _merged(edges, self.dt, "pulse edge") if any(p.size for p in onsets) else None
        d["neuron"] = self.neuron_model()
        d["neuron_init"] = self._neuron_init()
        neuron = d["neuron"]
        plan.signature = plan.signature + (
            "neuron_pairing", None if d["trigger"] is None else d["trigger"][0].size, duration_pulse,
            self.network.get("pulse_target", "I"), self.network.get("transmit", ""),
            neuron.spec.name, tuple(sorted(neuron.code.items())), tuple(sorted(neuron.namespace)),
            tuple(sorted(d["neuron_init"])))
        d["pulse_duration"] = duration_pulse
        return plan

    #: defaults of the pulse evoking a postsynaptic spike
    pulse_defaults = {"pulse_amplitude": "10 nA", "pulse_duration": "1 ms", "pulse_lead": "1 ms"}

    def pulse_quantity(self, key, dim):
        """``network.<key>``: an expression of the neuron's parameters and the time step ``dt``."""
        from ..spec import parse_quantity

        names = dict(self.neuron_model().namespace)
        names["dt"] = self.dt
        return parse_quantity(str(self.network.get(key, self.pulse_defaults[key])), dim,
                              file=self.protocol.file, key=f"network.{key}", names=names)

    def _neuron_init(self):
        table = dict(self.network.get("neuron_init", {}))
        if not table:
            return {}
        units = self.protocol.label_units()
        names = dict(self.neuron_model().namespace)
        out = {}
        for var, text in table.items():
            vals = []
            for cond in self.protocol.conditions:
                labels = dict(names)
                labels.update(cond.quantities(units))
                from ..spec import parse_quantity

                vals.append(parse_quantity(str(text), None, file=self.protocol.file,
                                           key=f"network.neuron_init.{var}", names=labels))
            out[var] = _stack(vals)
        return out

    def build(self, sim, plan):
        from brian2 import SpikeMonitor, StateMonitor, Synapses, second

        d = plan.data
        n = d["n"]
        replaceable = sim.target == "cpp_standalone"
        pre = stimuli.spike_generator(n, d["pre"][0], d["pre"][1] * second, name="pre",
                                      replaceable=replaceable)
        post = build.neurons(d["neuron"], n, name="post", parameters_as="variables", initialise=False)
        syn = build.synapses(self.resolved, pre, post, connect={"i": np.arange(n), "j": np.arange(n)},
                             name="synapses", parameters_as="variables", initialise=False,
                             transmit=self.network.get("transmit") or None)
        objects = [pre, post, syn]
        handles = {"pre": pre, "post_neurons": post, "synapses": syn,
                   "built_spikes": {"pre": d["pre"], "trigger": d["trigger"]}}
        if d["trigger"] is not None:
            target = self.network.get("pulse_target", "I")
            if target not in post.variables:
                raise SpecError(self.protocol.file, "network.pulse_target",
                                f"a variable of the neuron {d['neuron'].spec.name}", repr(target))
            unit = post.variables[target].dim
            from brian2.units.fundamentalunits import get_unit

            trig = stimuli.spike_generator(n, d["trigger"][0], d["trigger"][1] * second, name="trigger",
                                           replaceable=replaceable)
            pulses = Synapses(trig, post, model=f"I_pulse : {get_unit(unit)!r} (shared, constant)",
                              on_pre=f"{target}_post = I_pulse*int({target}_post == 0*I_pulse)",
                              name="pulses", namespace={})
            pulses.connect(j="i")
            objects += [trig, pulses]
            handles.update(trigger=trig, pulses=pulses)
        weight = d["weight"]
        wmon = StateMonitor(syn, weight, record=np.arange(n), dt=self.record_dt, name="weight_monitor")
        mpost = SpikeMonitor(post, name="post_spikes")
        objects += [wmon, mpost]
        handles.update(objects=objects, wmon=wmon, mpost=mpost)
        return handles

    def values(self, handles, plan, rerun=False):
        d = plan.data
        post, syn = handles["post_neurons"], handles["synapses"]
        out = {(post, k): v for k, v in build.start_values(post, resolved=d["neuron"]).items()}
        out.update({(post, k): v for k, v in d["neuron_init"].items()})
        out.update({(syn, k): v for k, v in
                    build.start_values(syn, self.init(plan), resolved=self.resolved).items()})
        if "pulses" in handles:
            amp = self.pulse_quantity("pulse_amplitude", None)
            out[(handles["pulses"], "I_pulse")] = amp
        if rerun:
            for side, key in (("pre", "pre"), ("trigger", "trigger")):
                built, now = handles["built_spikes"][side], d[key]
                if built is None:
                    continue
                if not (np.array_equal(built[0], now[0]) and np.array_equal(built[1], now[1])):
                    out.update(stimuli.generator_values(handles[side], *now, self.dt))
        return out

    def collect(self, handles, plan, block=True):
        handles = dict(handles)
        outcome = super().collect(handles, plan, block=block)
        d = plan.data
        post_trains = io.spike_monitor_trains(handles["mpost"], d["n"])
        extra = dict(outcome.extra)
        extra["post_spikes"] = post_trains
        extra["intended_post"] = d["post_trains"]
        if outcome.block is not None:
            outcome.block.annotate(neuron=d["neuron"].spec.name,
                                   pulse_amplitude=str(self.network.get("pulse_amplitude", "10 nA")),
                                   pulse_duration=str(self.network.get("pulse_duration", "1 ms")),
                                   pulse_lead=str(self.network.get("pulse_lead", "1 ms")))
        return Outcome(outcome.values, outcome.block, extra)


def _stack(values):
    from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity, get_dimensions

    dim = get_dimensions(values[0])
    arr = np.array([float(np.asarray(v)) for v in values])
    return arr if dim is DIMENSIONLESS else Quantity(arr, dim=dim)
