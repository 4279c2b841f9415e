"""The ``spike_trains`` engine: recorded pre/post spike trains replayed through a synapse model.

The input is a neo file (``.pkl``, ``.nwb`` or ``.nix``) or a ``neo.Block``
whose first Segment holds SpikeTrains annotated

* ``role`` — ``"pre"`` or ``"post"``,
* ``pair`` — an integer naming the synapse.

Each pair (one ``pre`` and one ``post`` train) is one synapse between its
own presynaptic and postsynaptic ``SpikeGeneratorGroup`` neurons, all pairs
side by side in one Brian2 run (as the conditions of ``spike_pattern``). The
conditions are the pairs, in increasing order of ``pair`` (label ``pair``);
the value of each is the synapse's weight change (the protocol's
``observable``), and the Block holds each pair's weight trajectory (one
channel per pair, array annotation ``pair``) and the trains as replayed
(times on the simulation's time grid).

Replaying recorded or natural spike trains through a plasticity rule follows
Froemke & Dan (2002), who predicted the plasticity induced by natural spike
trains from the timing of their spikes.

Errors name the file, the train (its position in the Segment and its name)
and what is wrong: a missing or unknown ``role``, a missing or non-integer
``pair``, a pair without one train of each role (or with two of one role),
unsorted or negative times, two spikes in one time step, an empty train.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import io, stimuli
from ..errors import SpecError, display_path
from ..spec import Key
from ._engine import register_engine
from ._spike_pattern import SpikePatternEngine, _dims


@register_engine
class SpikeTrainsEngine(SpikePatternEngine):
    name = "spike_trains"
    stimulus_keys = {
        "input": Key((str,), False, "the neo file to replay (given on the command line with --input)"),
        "tail": Key((str,), False, "time simulated after the last spike (default '100 ms')"),
    }
    condition_keys = ()
    input_keys = {"file": "a neo file (.pkl, .nwb or .nix) of spike trains (--input)",
                  "block": "a neo Block of spike trains"}

    @classmethod
    def validate(cls, protocol):
        from ..spec import check_table

        check_table(dict(protocol.stimulus), cls.stimulus_keys, file=protocol.file, prefix="stimulus.")
        if not protocol.from_engine or list(protocol.units) != ["pair"]:
            raise SpecError(protocol.file, "conditions", "from_engine = true with the one label "
                            "'pair' (units = { pair = \"1\" })", repr(dict(protocol.units)))
        if protocol.observable not in cls.observables:
            raise SpecError(protocol.file, "observable", "one of " + ", ".join(cls.observables),
                            repr(protocol.observable))

    def __init__(self, protocol, resolved, options):
        super().__init__(protocol, resolved, options)
        self.source, block = self._input_block()
        self.pairs, self._pre, self._post = self._read_pairs(block)
        self.protocol = protocol.with_conditions([{"pair": p} for p in self.pairs])

    # -- input -------------------------------------------------------------------------
    def _input_block(self):
        if "block" in self.inputs:
            return "<neo Block>", self.inputs["block"]
        path = self.inputs.get("file") or self.stimulus.get("input")
        if not path:
            raise SpecError("<command line>", "--input", "a neo file (.pkl, .nwb or .nix) holding "
                            "the spike trains to replay", "nothing")
        return display_path(path), io.read(path)

    def _read_pairs(self, block):
        file = self.source
        if not getattr(block, "segments", None):
            raise SpecError(file, "segments", "a Block with at least one Segment", "no Segment")
        trains = list(block.segments[0].spiketrains)
        if not trains:
            raise SpecError(file, "segments[0].spiketrains", "SpikeTrains annotated role and pair",
                            "no SpikeTrain")
        found = {}
        for k, st in enumerate(trains):
            where = f"segments[0].spiketrains[{k}]" + (f" ({st.name})" if st.name else "")
            ann = st.annotations
            role = ann.get("role")
            if role is None:
                raise SpecError(file, f"{where}.annotations.role", "'pre' or 'post'", "no role annotation")
            if role not in ("pre", "post"):
                raise SpecError(file, f"{where}.annotations.role", "'pre' or 'post'", repr(role))
            pair = ann.get("pair")
            if pair is None:
                raise SpecError(file, f"{where}.annotations.pair", "an integer naming the synapse",
                                "no pair annotation")
            if isinstance(pair, bool) or not isinstance(pair, (numbers.Integral, np.integer)):
                if isinstance(pair, (numbers.Real, np.floating)) and float(pair).is_integer():
                    pair = int(pair)
                else:
                    raise SpecError(file, f"{where}.annotations.pair", "an integer", repr(pair))
            pair = int(pair)
            if (pair, role) in found:
                other = found[(pair, role)][0]
                raise SpecError(file, f"{where}.annotations", f"one {role!r} train per pair",
                                f"a second {role!r} train for pair {pair} (the first is "
                                f"spiketrains[{other}])")
            name = f"{file}: {where}, pair {pair} {role} train"
            times = stimuli.check_train(st, self.dt, name)
            if times.size == 0:
                raise stimuli.StimulusError(f"{name}: expected at least one spike, found an empty train")
            t_stop = float(st.t_stop.rescale("s").magnitude)
            found[(pair, role)] = (k, times, t_stop)
        pairs = sorted({p for p, _ in found})
        for p in pairs:
            for role, other in (("pre", "post"), ("post", "pre")):
                if (p, role) not in found:
                    k = found[(p, other)][0]
                    raise SpecError(file, f"segments[0].spiketrains[{k}].annotations.pair",
                                    f"a {role!r} train for pair {p} too", f"only a {other!r} train")
        pre = [found[(p, "pre")] for p in pairs]
        post = [found[(p, "post")] for p in pairs]
        return pairs, pre, post

    # -- stimulus ------------------------------------------------------------------------
    def trains(self):
        return [t for _, t, _ in self._pre], [t for _, t, _ in self._post]

    def plan(self):
        from brian2 import second

        plan = super().plan()
        # the run lasts at least to the trains' t_stop (the recording's end)
        t_stop = max(s for _, _, s in self._pre + self._post)
        if t_stop * second > plan.duration:
            plan.duration = t_stop * second
            sig = list(plan.signature)
            sig[4] = int(round(float(plan.duration / self.dt)))
            plan.signature = tuple(sig)
        plan.signature = plan.signature + ("spike_trains",)
        return plan

    def collect(self, handles, plan, block=True):
        outcome = super().collect(handles, plan, block=block)
        if outcome.block is not None:
            outcome.block.annotate(input=str(self.source), pairs=str(list(self.pairs)))
            seg = outcome.block.segments[0]
            for sig in seg.analogsignals:
                sig.array_annotate(pair=np.asarray(self.pairs, dtype=np.int64))
            for st in seg.spiketrains:
                st.annotate(pair=int(self.pairs[st.annotations["index"]]),
                            role=st.annotations["population"])
        return outcome


__all__ = ["SpikeTrainsEngine", "_dims"]
