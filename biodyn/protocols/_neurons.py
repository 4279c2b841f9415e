"""The ``current_steps`` engine: neuron models under current steps (f-I curves, firing patterns).

Each condition is one neuron of the protocol's (neuron) model, all in one
``NeuronGroup`` of a single Brian2 run, with the parameters declared per
neuron (``parameters_as="per_element"``) so that the neurons of one group can
hold the values of different parameter sets. Each neuron receives a current
step of amplitude ``stimulus.amplitude`` (an expression of the labels and
the neuron's parameters: ``"current"`` for an f-I curve, ``"I_step"`` for the
published step of each parameter set) from ``stimulus.t_on`` to
``stimulus.t_off``, added to the input variable ``stimulus.input`` (default
``I``) through a ``TimedArray`` (replaceable in a rerun of a compiled build).

Conditions come from the spec (``fi_curve``: a grid of currents) or, with
``conditions.from_engine``, from the model: one condition per parameter set
that has a value for ``I_step`` (``firing_patterns``; label ``pattern`` = the
set's position, the set names in the Block and ``extra``), or the sets listed
in ``stimulus.sets``.

Observables: ``firing_rate`` (Hz: spikes from ``t_on + stimulus.settle`` to
``t_off``, divided by that time), ``first_spike_latency`` (ms after ``t_on``),
``spike_count`` (during the step). The Block holds the spike trains and the
membrane potential (``network.voltage``, default ``v``) every ``record_dt``.
"""

from __future__ import annotations

import numpy as np

from .. import build, io
from ..errors import SpecError, suggest
from ..spec import Key
from ._engine import Engine, Outcome, Plan, register_engine


def _sec():
    from brian2.units.allunits import second

    return second.dim


@register_engine
class CurrentStepsEngine(Engine):
    name = "current_steps"
    stimulus_keys = {
        "amplitude": Key((str,), True, "step amplitude (expression of labels and parameters, e.g. 'I_step')"),
        "t_on": Key((str,), True, "onset of the step"),
        "t_off": Key((str,), True, "end of the step"),
        "duration": Key((str,), True, "simulated time"),
        "settle": Key((str,), False, "time after t_on before the rate is measured (default '0 ms')"),
        "input": Key((str,), False, "the neuron's input variable (default 'I')"),
        "sets": Key((list,), False, "from_engine conditions: the parameter sets (default: all with I_step)"),
    }
    network_keys = {
        "voltage": Key((str,), False, "the membrane potential variable to record (default 'v')"),
    }
    observables = ("firing_rate", "first_spike_latency", "spike_count")
    reusable = True

    def __init__(self, protocol, resolved, options):
        super().__init__(protocol, resolved, options)
        if resolved.spec.kind != "neuron":
            raise SpecError("<command line>", "--model", f"a neuron model for protocol {protocol.name}",
                            f"{resolved.spec.name!r} ({resolved.spec.kind})")
        self.set_names = None
        if protocol.from_engine:
            self.set_names = self._pattern_sets()
            self.protocol = protocol.with_conditions([{"pattern": k} for k in range(len(self.set_names))])

    def _pattern_sets(self):
        spec = self.resolved.spec
        names = self.stimulus.get("sets")
        if names:
            for n in names:
                if n not in spec.parameter_sets:
                    raise SpecError(self.protocol.file, "stimulus.sets", f"parameter sets of {spec.name}",
                                    repr(n), suggest(n, spec.parameter_sets))
            return list(names)
        names = [n for n, ps in spec.parameter_sets.items() if "I_step" in ps.values]
        if not names:
            raise SpecError(spec.file, "parameter_sets", f"sets with an I_step value for protocol "
                            f"{self.protocol.name} (the published step current of each firing pattern)",
                            "none")
        return names

    def _per_condition(self):
        """Resolved model per condition (parameter set per pattern, or the run's set)."""
        if self.set_names is None:
            return [self.resolved] * len(self.protocol.conditions)
        out = []
        for name in self.set_names:
            out.append(build.resolve(self.resolved.spec, name, dict(self.resolved.overrides),
                                     dict(self.resolved.variants)))
        codes = {tuple(sorted((k, v) for k, v in r.code.items() if isinstance(v, str))) for r in out}
        if len(codes) > 1:
            raise SpecError(self.resolved.spec.file, "parameter_sets", "sets whose code is the same "
                            "(the same variants) to run in one group", ", ".join(self.set_names))
        return out

    # -- plan ---------------------------------------------------------------------------
    def plan(self):
        from brian2 import second

        sec = _sec()
        t_on = self.quantity(self.stimulus["t_on"], sec, "stimulus.t_on")
        t_off = self.quantity(self.stimulus["t_off"], sec, "stimulus.t_off")
        duration = self.quantity(self.stimulus["duration"], sec, "stimulus.duration")
        settle = self.quantity(self.stimulus.get("settle", "0 ms"), sec, "stimulus.settle")
        if not (0 * second <= t_on < t_off <= duration):
            raise SpecError(self.protocol.file, "stimulus", "0 <= t_on < t_off <= duration",
                            f"{t_on}, {t_off}, {duration}")
        models = self._per_condition()
        units = self.protocol.label_units()
        amps = []
        for cond, res in zip(self.protocol.conditions, models):
            names = dict(res.namespace)
            names.update(cond.quantities(units))
            from ..spec import parse_quantity

            amps.append(parse_quantity(self.stimulus["amplitude"], None, file=self.protocol.file,
                                       key="stimulus.amplitude", names=names))
        n = len(amps)
        steps = int(round(float(duration / self.dt)))
        on, off = int(round(float(t_on / self.dt))), int(round(float(t_off / self.dt)))
        from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity, get_dimensions

        dim = get_dimensions(amps[0])
        if any(get_dimensions(a) != dim for a in amps):
            raise SpecError(self.protocol.file, "stimulus.amplitude", "amplitudes of one dimension",
                            ", ".join(str(a) for a in amps))
        amp = np.array([float(np.asarray(a)) for a in amps])
        table = np.zeros((steps + 1, n))
        table[on:off, :] = amp[None, :]
        table = table if dim is DIMENSIONLESS else Quantity(table, dim=dim)
        signature = ("current_steps", n, steps, str(self.record_dt), self.stimulus.get("input", "I"),
                     self.network.get("voltage", "v"), str(dim),
                     tuple(sorted((k, v) for k, v in self.resolved.code.items() if isinstance(v, str))),
                     tuple(sorted(self.resolved.namespace)))
        return Plan(signature, duration, {"n": n, "models": models, "table": table, "t_on": t_on,
                                          "t_off": t_off, "settle": settle, "amplitudes": amps})

    # -- build --------------------------------------------------------------------------
    def build(self, sim, plan):
        from brian2 import SpikeMonitor, StateMonitor, TimedArray

        d = plan.data
        n = d["n"]
        group = build.neurons(d["models"][0], n, name="neurons", parameters_as="per_element",
                              initialise=False)
        target = self.stimulus.get("input", "I")
        if target not in group.variables:
            raise SpecError(self.protocol.file, "stimulus.input",
                            f"an input variable of {self.resolved.spec.name}", repr(target),
                            suggest(target, [v for v in group.variables if not v.startswith("_")]))
        from brian2.units.fundamentalunits import get_dimensions

        want, got = group.variables[target].dim, get_dimensions(d["table"])
        if want != got:
            from .._quantity import dimension_name

            raise SpecError(self.protocol.file, "stimulus.amplitude",
                            f"a quantity of dimension {dimension_name(want)} for the input {target!r} of "
                            f"{self.resolved.spec.name}",
                            f"dimension {dimension_name(got)} (this protocol's amplitudes do not fit the "
                            "model's input; use a protocol whose amplitude has the model's unit)")
        stim = TimedArray(d["table"], dt=self.dt, name="step_current")
        group.run_regularly(f"{target} = step_current(t, i)", when="start", name="neurons_step")
        group.namespace["step_current"] = stim
        voltage = self.network.get("voltage", "v")
        if voltage not in group.variables:
            raise SpecError(self.protocol.file, "network.voltage", f"a variable of {self.resolved.spec.name}",
                            repr(voltage))
        vmon = StateMonitor(group, voltage, record=np.arange(n), dt=self.record_dt, name="voltage_monitor")
        smon = SpikeMonitor(group, name="spikes")
        return {"objects": [group, vmon, smon], "group": group, "stim": stim, "vmon": vmon,
                "smon": smon, "voltage": voltage, "built_table": d["table"]}

    def values(self, handles, plan, rerun=False):
        d = plan.data
        group = handles["group"]
        per = [build.start_values(group, resolved=r) for r in d["models"]]
        out = {}
        for name in per[0]:
            vals = [p[name] for p in per]
            if any(isinstance(v, str) for v in vals):
                if len({str(v) for v in vals}) > 1:
                    raise SpecError(self.resolved.spec.file, f"initial.{name}",
                                    "initial values that are numbers (to differ per neuron)", repr(vals[0]))
                out[(group, name)] = vals[0]
            else:
                from ._neuron_pairing import _stack

                out[(group, name)] = _stack(vals)
        if rerun and not np.array_equal(np.asarray(handles["built_table"]), np.asarray(d["table"])):
            out[handles["stim"]] = d["table"]
        return out

    # -- results ------------------------------------------------------------------------
    def collect(self, handles, plan, block=True):
        from brian2 import ms, second

        d = plan.data
        n = d["n"]
        trains = io.spike_monitor_trains(handles["smon"], n)
        t_on, t_off = float(d["t_on"] / second), float(d["t_off"] / second)
        start = t_on + float(d["settle"] / second)
        window = t_off - start
        rates = np.array([np.sum((t >= start) & (t < t_off)) / window if window > 0 else np.nan
                          for t in trains])
        counts = np.array([np.sum((t >= t_on) & (t < t_off)) for t in trains], float)
        latency = np.array([(t[t >= t_on][0] - t_on) * 1e3 if np.any(t >= t_on) else np.nan
                            for t in trains])
        obs = self.protocol.observable
        values = {"firing_rate": rates, "first_spike_latency": latency, "spike_count": counts}[obs]
        if obs == "first_spike_latency" and np.any(~np.isfinite(values)):
            raise SpecError(self.protocol.file, "observable", "a first spike in every condition "
                            "(first_spike_latency)", "no spike during the step in some conditions")
        vmon = handles["vmon"]
        extra = {"t": np.asarray(vmon.t[:] / second), "v": _to_mV(getattr(vmon, handles["voltage"])[:]),
                 "spikes": trains, "names": self.set_names, "rates": rates, "counts": counts,
                 "latency_ms": latency, "amplitudes": [str(a) for a in d["amplitudes"]]}
        out = None
        if block:
            out = io.new_block(self.protocol.name, self.protocol.description.splitlines()[0],
                               observable=obs, parameter_sets=self.set_names or [],
                               amplitudes=[str(a) for a in d["amplitudes"]],
                               t_on=str(d["t_on"]), t_off=str(d["t_off"]), record_dt=str(self.record_dt))
            seg = out.segments[0]
            io.add_spiketrains(seg, trains, plan.duration, "neurons")
            sig = io.state_monitor_signal(seg, vmon, handles["voltage"], population="neurons",
                                          indices=np.arange(n))
            if self.set_names:
                sig.array_annotate(parameter_set=np.array(self.set_names))
        return Outcome(values=np.asarray(values, float), block=out, extra=extra)


def _to_mV(values):
    from brian2 import mV
    from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions

    if get_dimensions(values) is DIMENSIONLESS:
        return np.asarray(values, float)
    return np.asarray(values / mV, float)
