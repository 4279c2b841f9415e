"""The ``spike_trains`` engine: recorded pre/post spike trains replayed through a synapse model.

The input is a neo file (``.pkl``, ``.nwb`` or ``.nix``) or a ``neo.Block``
whose Segment (the first, or the one chosen with ``--segment``; a note names the others)
holds SpikeTrains annotated

* ``role`` — ``"pre"`` or ``"post"``,
* ``pair`` — an integer naming the synapse.

An NWB recording is read from its ``units`` table, each column an annotation — so a table
with ``role`` and ``pair`` columns, as an experimentalist writes it with pynwb, replays as it
is. Where the annotations are missing (neo's own NWB writer drops them), a train named
``pre[3]`` or ``post[3]`` (biodyn's and PyNN's naming, ``role[pair]``) gets ``role`` and
``pair`` from its name.

Only the recorded window is simulated: the run starts at the earliest ``t_start`` of the
trains and lasts to their latest ``t_stop`` (plus ``stimulus.tail`` after the last spike),
and every time in the outputs is the recording's own (a recording from 12.5 s to 22.5 s
gives trains and weights from 12.5 s on). The output trains keep the recording's names and
its annotations (ids, channels ...; one that clashes with the annotations biodyn writes is
kept as ``recording_<name>``).

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
    batch = None  # its trains come from a recording given per run: its points run alone
    stimulus_keys = {
        "input": Key((str,), False, "the neo file to replay (given on the command line with --input)"),
        "tail": Key((str,), False, "time simulated after the last spike (default '100 ms')"),
    }
    condition_keys = ()
    input_keys = {"file": "a neo file (.pkl, .nwb or .nix) of spike trains (--input)",
                  "block": "a neo Block of spike trains",
                  "segment": "the index of the Segment to replay (--segment; default the first)"}

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

    #: a train named ``role[pair]`` where the annotations are missing
    NAME_PATTERN = r"(?P<role>pre|post)\[(?P<pair>\d+)\]"

    def __init__(self, protocol, resolved, options):
        super().__init__(protocol, resolved, options)
        self.source, block = self._input_block()
        self.segment_index, self.notes = self._choose_segment(block)
        self._identity = {}
        self.pairs, self._pre, self._post = self._read_pairs(block)
        self.protocol = protocol.with_conditions([{"pair": p} for p in self.pairs])

    def _choose_segment(self, block):
        segments = list(getattr(block, "segments", None) or [])
        if not segments:
            raise SpecError(self.source, "segments", "a Block with at least one Segment", "no Segment")
        k = self.inputs.get("segment")
        if k is None:
            k = 0
            notes = ([f"{self.source} has {len(segments)} Segments; replaying the first "
                      f"({segments[0].name or 0}); choose another with --segment"] if len(segments) > 1 else [])
        else:
            notes = []
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= int(k) < len(segments):
                raise SpecError("<command line>", "--segment",
                                f"a Segment index from 0 to {len(segments) - 1}", repr(k))
        return int(k), notes

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
        import re

        file = self.source
        seg = self.segment_index
        trains = list(block.segments[seg].spiketrains)
        if not trains:
            raise SpecError(file, f"segments[{seg}].spiketrains", "SpikeTrains annotated role and pair",
                            "no SpikeTrain")
        from brian2 import second

        # the run starts at the recording's start, rounded down to the time grid, so that
        # every spike keeps its time step (results equal those of a run from 0)
        dt_s = float(self.dt / second)
        t0 = min(float(st.t_start.rescale("s").magnitude) for st in trains)
        t0 = max(0.0, np.floor(t0 / dt_s + 1e-9) * dt_s)
        self.t_offset = t0
        found = {}
        for k, st in enumerate(trains):
            where = f"segments[{seg}].spiketrains[{k}]" + (f" ({st.name})" if st.name else "")
            ann = dict(st.annotations)
            m = re.fullmatch(self.NAME_PATTERN, str(st.name or ""))
            if m and "role" not in ann and "pair" not in ann:
                ann.update(role=m.group("role"), pair=int(m.group("pair")))
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
            # the run starts at the recording's start: times from t0 on the simulation's clock
            times = stimuli.check_train(np.asarray(times, float) - t0, self.dt, name) if t0 else times
            t_stop = float(st.t_stop.rescale("s").magnitude) - t0
            self._identity[(pair, role)] = (st.name, {a: v for a, v in st.annotations.items()
                                                      if a not in ("role", "pair")})
            found[(pair, role)] = (k, times, t_stop)
        pairs = sorted({p for p, _ in found})
        for p in pairs:
            for role, other in (("pre", "post"), ("post", "pre")):
                if (p, role) not in found:
                    k = found[(p, other)][0]
                    raise SpecError(file, f"segments[{seg}].spiketrains[{k}].annotations.pair",
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
            self._restore_identity(outcome.block)
        return outcome

    def _restore_identity(self, out):
        """The recording's clock, names and annotations on the replayed trains and signals."""
        import neo
        import quantities as pq

        out.annotate(input=str(self.source), pairs=str(list(self.pairs)), input_segment=self.segment_index,
                     t_offset=self.t_offset * pq.s)
        seg = out.segments[0]
        shift = self.t_offset * pq.s
        for sig in seg.analogsignals:
            sig.array_annotate(pair=np.asarray(self.pairs, dtype=np.int64))
            if self.t_offset:
                sig.t_start = sig.t_start + shift
        trains = []
        for st in seg.spiketrains:
            pair, role = int(self.pairs[st.annotations["index"]]), st.annotations["population"]
            name, recorded = self._identity[(pair, role)]
            new = neo.SpikeTrain(st.times.rescale(pq.s) + shift, t_start=st.t_start.rescale(pq.s) + shift,
                                 t_stop=st.t_stop.rescale(pq.s) + shift, name=name or st.name)
            new.annotate(**st.annotations)
            new.annotate(pair=pair, role=role)
            for key, value in recorded.items():
                new.annotate(**{(f"recording_{key}" if key in new.annotations else key): value})
            new.segment = seg
            trains.append(new)
        seg.spiketrains = trains


__all__ = ["SpikeTrainsEngine", "_dims"]
