"""Protocol specs: conditions, labels, published data and reference curves as specified."""

import math

import numpy as np
import pytest

from biodyn import jobs, protocols
from biodyn.errors import SpecError

ALL = ["bi_poo_1998", "sjostrom_2001", "wang_2005", "clopath_2010", "clopath_2010_clamp",
       "song_2000", "oja_pca", "bcm_selectivity", "fi_curve", "firing_patterns", "spike_trains"]


@pytest.mark.parametrize("name", ALL)
def test_every_protocol_loads_with_citation_engine_and_labels(name):
    spec = protocols.load(name)
    assert spec.engine in protocols.ENGINES
    assert spec.citation.doi or spec.citation.journal
    assert spec.units and all(spec.label_units()[k] for k in spec.units)
    if not spec.from_engine:
        assert len(spec.conditions) >= 4


def test_sjostrom_conditions_are_five_frequencies_times_two_timings_with_the_published_data():
    spec = protocols.load("sjostrom_2001")
    labels = {(c.labels["frequency"], c.labels["delta_t"]) for c in spec.conditions}
    assert labels == {(f, d) for f in (0.1, 10, 20, 40, 50) for d in (10, -10)}
    assert dict(spec.units) == {"frequency": "Hz", "delta_t": "ms"}
    table = {(0.1, 10): (-0.04, 0.05), (0.1, -10): (-0.29, 0.08), (10, 10): (0.14, 0.10),
             (10, -10): (-0.41, 0.11), (20, 10): (0.29, 0.14), (20, -10): (-0.34, 0.10),
             (40, 10): (0.53, 0.11), (40, -10): (0.56, 0.32), (50, 10): (0.56, 0.26),
             (50, -10): (0.75, 0.19)}
    for c in spec.conditions:
        assert spec.data_for(c.index) == table[(c.labels["frequency"], c.labels["delta_t"])]
    assert spec.model == "stdp_triplet" and spec.parameter_set == "visual_all_to_all_minimal"


def test_sjostrom_trains_are_60_pairings_at_the_frequency_with_the_timing():
    spec = protocols.load("sjostrom_2001")
    res = protocols.resolve_model(spec)
    engine = protocols.ENGINES[spec.engine](spec, res, protocols.RunOptions(target="numpy"))
    pre, post = engine.trains()
    for c, p, q in zip(spec.conditions, pre, post):
        f, d = c.labels["frequency"], c.labels["delta_t"] * 1e-3
        assert p.size == q.size == 60
        np.testing.assert_allclose(np.diff(p), 1 / f, rtol=1e-9)
        np.testing.assert_allclose(q - p, d, atol=1e-12)
        assert min(p[0], q[0]) == pytest.approx(0.1)


def test_wang_conditions_patterns_and_data():
    spec = protocols.load("wang_2005")
    trip = [c for c in spec.conditions if c.labels["pattern"] in (0, 1)]
    quad = [c for c in spec.conditions if c.labels["pattern"] == 2]
    assert {(c.labels["dt1"], c.labels["dt2"]) for c in trip if c.labels["pattern"] == 0} == \
        {(5, -5), (10, -10), (15, -5), (5, -15)}
    assert {(c.labels["dt1"], c.labels["dt2"]) for c in trip if c.labels["pattern"] == 1} == \
        {(-5, 5), (-10, 10), (-15, 5), (-5, 15)}
    assert len(quad) == 12 and all(c.labels["dt2"] == 5 for c in quad)
    assert all(spec.data_for(c.index)[0] is not None for c in trip)
    assert all(spec.data_for(c.index) == (None, None) for c in quad)
    # post-pre-post triplets potentiate in the data, symmetric pre-post-pre ones do not
    assert all(spec.data_for(c.index)[0] > 0.15 for c in trip if c.labels["pattern"] == 1)


def test_wang_spike_times_follow_pfister_gerstner_definitions():
    spec = protocols.load("wang_2005")
    res = protocols.resolve_model(spec)
    engine = protocols.ENGINES[spec.engine](spec, res, protocols.RunOptions(target="numpy"))
    pre, post = engine.trains()
    for c, p, q in zip(spec.conditions, pre, post):
        d1, d2 = c.labels["dt1"] * 1e-3, c.labels["dt2"] * 1e-3
        p1, q1 = p[p < p[0] + 0.5], q[q < p[0] + 0.5]  # the first repetition
        if c.labels["pattern"] == 0:  # pre-post-pre: t_post - t_pre1 = dt1, t_post - t_pre2 = dt2
            assert p1.size == 2 and q1.size == 1
            np.testing.assert_allclose([q1[0] - p1[0], q1[0] - p1[1]], [d1, d2], atol=1e-12)
        elif c.labels["pattern"] == 1:  # post-pre-post: t_post1 - t_pre = dt1, t_post2 - t_pre = dt2
            assert p1.size == 1 and q1.size == 2
            np.testing.assert_allclose(q1 - p1[0], [d1, d2], atol=1e-12)
        else:  # quadruplet: post-pre pair (-5 ms) and pre-post pair (+5 ms), centres T apart
            both = np.sort(np.concatenate([p, q]))[:4]
            pp, qq = np.sort(p[:2]), np.sort(q[:2])
            T = d1
            first_pair = 0.5 * (qq[0] + pp[0])
            second_pair = 0.5 * (pp[1] + qq[1])
            if T > 0:
                np.testing.assert_allclose([pp[0] - qq[0], qq[1] - pp[1]], [0.005, 0.005], atol=1e-12)
                np.testing.assert_allclose(second_pair - first_pair, T, atol=1e-12)
            assert both.size == 4
        assert p.size == 60 * (2 if c.labels["pattern"] in (0, 2) else 1)


def test_bi_poo_figure_carries_the_bi_poo_2001_fit():
    spec = protocols.load("bi_poo_1998")
    curves = jobs.reference_curves(spec)
    assert len(curves) == 2
    (_, x1, y1), (_, x2, y2) = curves
    assert y1[0] == pytest.approx(0.777) and x1[0] == 0
    assert y2[-1] == pytest.approx(-0.273) and x2[-1] == 0
    k = np.argmin(abs(x1 - 16.8))  # one time constant: 1/e of the amplitude
    assert y1[k] == pytest.approx(0.777 * math.exp(-x1[k] / 16.8), rel=1e-9)
    k = np.argmin(abs(x2 + 33.7))
    assert y2[k] == pytest.approx(-0.273 * math.exp(x2[k] / 33.7), rel=1e-9)


def test_select_keeps_conditions_and_their_data():
    spec = protocols.load("sjostrom_2001").select(lambda l: l["frequency"] == 50)
    assert [c.labels["delta_t"] for c in spec.conditions] == [10, -10]
    assert spec.data_for(0) == (0.56, 0.26) and spec.data_for(1) == (0.75, 0.19)
    with pytest.raises(SpecError):
        protocols.load("sjostrom_2001").select([99])


def test_clopath_protocols_conditions():
    freq = protocols.load("clopath_2010")
    assert [(c.labels["frequency"], c.labels["delta_t"]) for c in freq.conditions][:2] == \
        [(0.1, 10), (0.1, -10)]
    assert dict(freq.variants) == {"homeostasis": "fixed"} and freq.model == "clopath_2010"
    assert sum(freq.data_for(c.index)[0] is not None for c in freq.conditions) == 10
    clamp = protocols.load("clopath_2010_clamp")
    v = [c.labels["v_clamp"] for c in clamp.conditions]
    assert v[0] == -80 and v[-1] == -20 and len(v) == 25


def test_network_and_rate_and_neuron_protocols_conditions():
    song = protocols.load("song_2000")
    assert [(c.labels["input_rate"], c.labels["correlation"]) for c in song.conditions] == \
        [(10, 0), (20, 0), (40, 0), (10, 0.2)]
    assert song.network["n_inputs"] == 1000 and song.network["n_inhibitory"] == 200
    assert [c.labels["angle"] for c in protocols.load("oja_pca").conditions] == [15, 45, 75, 105, 135, 165]
    assert [c.labels["p1"] for c in protocols.load("bcm_selectivity").conditions] == [0.3, 0.4, 0.5, 0.6, 0.7]
    fi = protocols.load("fi_curve")
    assert len(fi.conditions) == 41 and fi.conditions[-1].labels["current"] == 4
    assert protocols.load("firing_patterns").from_engine
    assert protocols.load("spike_trains").from_engine


def test_summary_contract_keys_are_exact_for_a_new_engine():
    r = protocols.run("oja_pca", target="numpy", stimulus={"duration": "0.2 second"},
                      select=[0, 1])
    s = r.summary
    assert set(s) == {"protocol", "model", "parameter_set", "overrides", "seed", "target", "dt",
                      "versions", "units", "conditions", "score", "files", "variants", "parameters",
                      "stimulus", "network", "inputs", "select", "record_dt", "sources"}
    assert set(s["conditions"][0]) == {"labels", "value", "data", "error"}
    assert s["score"] == {"chi": None, "n": 0} and s["units"] == {"angle": "1"}
