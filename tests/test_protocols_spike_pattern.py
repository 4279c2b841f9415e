"""spike_pattern protocols against an independent event-driven reference of the triplet rule."""

import math

import numpy as np
import pytest

from biodyn import protocols


def triplet_reference(pre, post, dt, p, w0, pairing="all_to_all"):
    """Pfister & Gerstner's (2006) triplet rule, event by event, written from the paper's equations.

    Spike times are put on the time grid as Brian2 does (int((t + 1e-3 dt)/dt)); a pre and a
    post spike in one step count as pre first. Traces decay exactly between events.
    """
    events = [(int((t + 1e-3 * dt) / dt), 0) for t in pre] + [(int((t + 1e-3 * dt) / dt), 1) for t in post]
    events.sort()
    r1 = r2 = o1 = o2 = 0.0
    w, last = w0, 0.0
    for step, kind in events:
        t = step * dt
        gap = t - last
        r1 *= math.exp(-gap / p["tau_plus"])
        r2 *= math.exp(-gap / p["tau_x"])
        o1 *= math.exp(-gap / p["tau_minus"])
        o2 *= math.exp(-gap / p["tau_y"])
        last = t
        if kind == 0:
            w = min(max(w - o1 * (p["A2_minus"] + p["A3_minus"] * r2), p["w_min"]), p["w_max"])
            if pairing == "all_to_all":
                r1 += 1
                r2 += 1
            else:
                r1 = r2 = 1.0
        else:
            w = min(max(w + r1 * (p["A2_plus"] + p["A3_plus"] * o2), p["w_min"]), p["w_max"])
            if pairing == "all_to_all":
                o1 += 1
                o2 += 1
            else:
                o1 = o2 = 1.0
    return w


HIPPO_MIN = dict(tau_plus=16.8e-3, tau_x=946e-3, tau_minus=33.7e-3, tau_y=40e-3, A2_plus=5.3e-3,
                 A3_plus=8e-3, A2_minus=3.5e-3, A3_minus=0.0, w_min=0.0, w_max=100.0)
VISUAL_FULL = dict(tau_plus=16.8e-3, tau_x=101e-3, tau_minus=33.7e-3, tau_y=125e-3, A2_plus=5e-10,
                   A3_plus=6.2e-3, A2_minus=7e-3, A3_minus=2.3e-4, w_min=0.0, w_max=100.0)


def _engine(name, **kw):
    spec = protocols.load(name)
    if "select" in kw:
        spec = spec.select(kw["select"])
    res = protocols.resolve_model(spec, kw.get("model"), kw.get("params"))
    return protocols.ENGINES[spec.engine](spec, res, protocols.RunOptions(
        target="numpy", stimulus=kw.get("stimulus", {})))


def test_wang_triplets_and_quadruplets_match_the_event_driven_reference():
    stim = {"repetitions": 3}
    r = protocols.run("wang_2005", target="numpy", stimulus=stim)
    pre, post = _engine("wang_2005", stimulus=stim).trains()
    expected = [triplet_reference(p, q, 1e-3, HIPPO_MIN, 1.0) - 1.0 for p, q in zip(pre, post)]
    np.testing.assert_allclose(r.values, expected, rtol=1e-9, atol=1e-15)
    assert [c["labels"]["pattern"] for c in r.summary["conditions"]][:8] == [0] * 4 + [1] * 4
    assert r.summary["score"]["n"] == 8


def test_sjostrom_high_frequencies_with_the_full_visual_set_match_the_reference():
    stim = {"repetitions": 7}
    sel = lambda l: l["frequency"] >= 20  # noqa: E731
    r = protocols.run("sjostrom_2001", target="numpy", stimulus=stim, select=sel,
                      params="visual_all_to_all_full")
    eng = _engine("sjostrom_2001", stimulus=stim)
    pre, post = eng.trains()
    keep = [i for i, c in enumerate(eng.protocol.conditions) if sel(c.labels)]
    expected = [triplet_reference(pre[i], post[i], 1e-3, VISUAL_FULL, 1.0) - 1.0 for i in keep]
    np.testing.assert_allclose(r.values, expected, rtol=1e-9, atol=1e-15)
    assert r.summary["parameter_set"] == "visual_all_to_all_full"


def test_nearest_spike_variant_matches_the_reference():
    stim = {"repetitions": 5}
    sel = [6, 7]  # 40 Hz, +-10 ms
    r = protocols.run("sjostrom_2001", target="numpy", stimulus=stim, select=sel,
                      params="visual_nearest_full")
    pre, post = _engine("sjostrom_2001", stimulus=stim).trains()
    p = dict(tau_plus=16.8e-3, tau_x=714e-3, tau_minus=33.7e-3, tau_y=40e-3, A2_plus=8.8e-11,
             A3_plus=5.3e-2, A2_minus=6.6e-3, A3_minus=3.1e-3, w_min=0.0, w_max=100.0)
    expected = [triplet_reference(pre[i], post[i], 1e-3, p, 1.0, "nearest") - 1.0 for i in sel]
    np.testing.assert_allclose(r.values, expected, rtol=1e-9)


def test_bursts_repeat_the_pattern_at_the_burst_frequency():
    stim = {"repetitions": 5, "bursts": 3, "burst_frequency": "0.5 Hz"}
    eng = _engine("sjostrom_2001", stimulus=stim, select=lambda l: l["frequency"] == 20)
    pre, post = eng.trains()
    k = [dict(c.labels) for c in eng.protocol.conditions].index({"frequency": 20, "delta_t": 10})
    p = pre[k]
    assert p.size == 15
    starts = p[::5]
    np.testing.assert_allclose(np.diff(starts), 2.0, atol=1e-12)  # 0.5 Hz bursts
    np.testing.assert_allclose(np.diff(p[:5]), 0.05, atol=1e-12)  # 20 Hz within a burst


def test_burst_longer_than_its_period_is_a_clear_error():
    from biodyn.errors import SpecError

    with pytest.raises(SpecError) as info:
        _engine("sjostrom_2001", stimulus={"repetitions": 5, "bursts": 2,
                                           "burst_frequency": "1 Hz"}).trains()
    assert "burst_frequency" in str(info.value)


def test_condition_values_are_exact_for_the_pair_rule_on_the_sjostrom_protocol():
    """The pair rule (stdp_pair, all-to-all, additive) with widely separated pairings (0.1 Hz)
    gives n*A_plus*exp(-dt/tau_plus) per pairing pattern: the closed form of the foundation."""
    stim = {"repetitions": 2}
    r = protocols.run("sjostrom_2001", target="numpy", model="stdp_pair", stimulus=stim,
                      select=[0, 1])
    w0 = 0.5
    expected = [2 * 0.005 * math.exp(-10 / 20) / w0, -2 * 1.05 * 0.005 * math.exp(-10 / 20) / w0]
    np.testing.assert_allclose(r.values, expected, rtol=1e-9)


def test_spike_trains_of_a_protocol_are_computed_once_for_points_of_other_parameters(monkeypatch):
    """A fit's or sweep's points differ in model parameters, not in their spike trains: the
    second plan reuses the first's trains (copies), while a stimulus change, another protocol or
    another time step computes them anew (issue 17: 5.6 ms a point, a quarter of a batched fit)."""
    from biodyn.protocols import ENGINES, _spike_pattern, load
    from biodyn.protocols._engine import RunOptions

    def engine(protocol="sjostrom_2001", overrides=None, stimulus=None):
        spec = load(protocol)
        return ENGINES[spec.engine](spec, protocols.resolve_model(spec, overrides=overrides),
                                    RunOptions(stimulus=dict(stimulus or {})))

    computed = []
    original = _spike_pattern.SpikePatternEngine._trains
    monkeypatch.setattr(_spike_pattern.SpikePatternEngine, "_trains",
                        lambda self: computed.append(self.protocol.name) or original(self))
    _spike_pattern._TRAINS.clear()
    first = engine().plan()
    first.data["pre_trains"][0][:] = -1.0  # a caller's changes stay its own
    second = engine(overrides={"A3_plus": "7e-3"}).plan()
    assert computed == ["sjostrom_2001"]
    fresh = original(engine())
    for a, b in zip(second.data["pre_trains"] + second.data["post_trains"], fresh[0] + fresh[1]):
        np.testing.assert_array_equal(a, b)
    assert np.array_equal(second.data["pre"][0], engine().plan().data["pre"][0])
    engine(stimulus={"repetitions": 3}).plan()
    assert len(computed) == 2
    engine("wang_2005").plan()
    assert computed[-1] == "wang_2005"
