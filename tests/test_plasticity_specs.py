"""The plasticity specs: catalog, show, citations, bounds, the lr switch, partner checks."""

import numpy as np
import pytest

import biodyn
from biodyn import build, catalog
from biodyn.errors import SpecError

RULES = ("stdp_pair", "stdp_triplet", "clopath_2010", "rstdp", "istdp_vogels_2011",
         "stp_tsodyks_markram", "hebb", "covariance", "oja", "bcm")
TRIPLET_SETS = ("visual_all_to_all_full", "visual_all_to_all_minimal", "visual_nearest_full",
                "visual_nearest_minimal", "hippocampal_all_to_all_full",
                "hippocampal_all_to_all_minimal", "hippocampal_nearest_full",
                "hippocampal_nearest_minimal")


def _cli(capsys, *args):
    from biodyn.cli import main

    code = main(list(args))
    return code, capsys.readouterr().out


def test_biodyn_list_models_shows_every_rule_and_the_clopath_neuron(capsys):
    code, out = _cli(capsys, "list", "models")
    assert code == 0
    listed = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    for rule in RULES:
        assert rule in listed and "synapse" in listed[rule] and "INVALID" not in listed[rule]
    assert "adex_clopath" in listed and "neuron" in listed["adex_clopath"]


def test_biodyn_show_prints_the_update_equations(capsys):
    code, out = _cli(capsys, "show", "stdp_triplet")
    assert code == 0
    assert "w = clip(w + lr*r1*(A2_plus + A3_plus*o2), w_min, w_max)" in out
    assert "Pfister JP, Gerstner W (2006)" in out
    for rule in RULES:
        text = catalog.load(rule).describe()
        assert "model:" in text and ("on_pre" in text or "dw/dt" in text), rule


@pytest.mark.parametrize("rule", RULES + ("adex_clopath",))
def test_every_parameter_set_cites_a_paper(rule):
    spec = catalog.load(rule)
    assert spec.parameter_sets
    for pset in spec.parameter_sets.values():
        c = pset.citation
        assert c is not None and c.authors and c.year and c.journal, (rule, pset.name)
        assert pset.description, (rule, pset.name)


def test_triplet_sets_are_the_eight_published_rows_with_their_pairing():
    spec = catalog.load("stdp_triplet")
    assert set(TRIPLET_SETS) <= set(spec.parameter_sets)
    for name in TRIPLET_SETS:
        resolved = build.resolve("stdp_triplet", name)
        assert resolved.variants["pairing"] == ("nearest" if "nearest" in name else "all_to_all")
        assert float(resolved.value("tau_plus") / 1e-3) == pytest.approx(16.8)
        assert float(resolved.value("tau_minus") / 1e-3) == pytest.approx(33.7)
        if name.endswith("minimal"):
            assert resolved.value("A3_minus") == 0
    v = build.resolve("stdp_triplet", "visual_all_to_all_full")
    assert (v.value("A2_plus"), v.value("A3_plus"), v.value("A2_minus"), v.value("A3_minus")) == \
        (5e-10, 6.2e-3, 7e-3, 2.3e-4)


def test_pairing_and_weight_options_keep_the_foundation_names():
    spec = catalog.load("stdp_pair")
    assert {"all_to_all", "nearest", "nearest_pre_centred", "nearest_restricted"} == \
        set(spec.variants["pairing"].options)
    assert {"additive", "multiplicative", "gutig", "van_rossum"} == set(spec.variants["weight"].options)
    assert spec.default_parameter_set == "song_2000"


# --------------------------------------------------------------------------
# lr: plasticity off for a test phase, without new objects
# --------------------------------------------------------------------------


def test_lr_zero_freezes_every_rule_between_two_runs_of_one_network():
    from brian2 import NeuronGroup, SpikeGeneratorGroup, ms, pA

    pre_t = np.arange(5, 400, 7.0) * ms
    post_t = np.arange(8, 400, 11.0) * ms
    with biodyn.Simulation("numpy", dt=0.1 * ms) as sim:
        pre = SpikeGeneratorGroup(1, np.zeros(pre_t.size, int), pre_t)
        post = SpikeGeneratorGroup(1, np.zeros(post_t.size, int), post_t)
        syns = [biodyn.synapses(m, pre, post, connect=True) for m in
                ("stdp_pair", "stdp_triplet", "istdp_vogels_2011", "rstdp")]
        cpost = biodyn.neurons("adex_clopath", 1, init={"u_homeo": "60*mV**2"})
        cpost.I = 900 * pA
        syns.append(biodyn.synapses("clopath_2010", pre, cpost, connect=True))
        rin = NeuronGroup(1, "r : 1")
        rin.r = 0.8
        rout = biodyn.neurons("rate", 1, variants={"dynamics": "instantaneous"})
        syns.append(biodyn.synapses("oja", rin, rout, connect=True))
        reward = SpikeGeneratorGroup(1, [0, 0], [100 * ms, 250 * ms])
        mod = build.modulator(reward, syns[3])
        objects = [pre, post, cpost, rin, rout, reward, mod] + syns
        sim.run(150 * ms, *objects)
        w_mid = [np.array(s.w[:]) for s in syns]
        for s in syns:
            s.lr = 0
        sim.run(150 * ms)
        w_end = [np.array(s.w[:]) for s in syns]
        c_end = float(syns[3].c[0])
    for s, a, b in zip(syns, w_mid, w_end):
        assert np.all(a == b), build.resolved_of(s).spec.name
    assert c_end != 0  # the eligibility trace still follows the spikes
    assert any(np.any(a != build.resolved_of(s).spec.initial.get("w")) for s, a in zip(syns, w_mid))


# --------------------------------------------------------------------------
# Bounds
# --------------------------------------------------------------------------


@pytest.mark.parametrize("model,params,overrides,low,high", [
    ("stdp_pair", "song_2000", {"A_plus": "0.3", "A_minus": "0.3"}, 0.0, 1.0),
    ("stdp_pair", "rubin_2001", {"A_plus": "0.9", "A_minus": "0.9"}, 0.0, 1.0),
    ("stdp_triplet", "visual_all_to_all_full", {"A3_plus": "3", "A2_minus": "3", "w_max": "1.3"}, 0.0, 1.3),
    ("istdp_vogels_2011", None, {"eta": "2", "w_max": "3"}, 0.0, 3.0),
])
def test_weights_stay_inside_their_bounds_and_reach_them_exactly(model, params, overrides, low, high):
    from brian2 import StateMonitor, ms, second

    from biodyn import stimuli

    # pre-before-post bursts on synapse 0 (potentiation), post-before-pre on synapse 1
    pre = [np.arange(10, 300, 10.0) * 1e-3, np.arange(14, 300, 10.0) * 1e-3]
    post = [np.arange(12, 300, 10.0) * 1e-3, np.arange(10, 300, 10.0) * 1e-3]
    with biodyn.Simulation("numpy", dt=0.1 * ms) as sim:
        g_pre = stimuli.generator([t * second for t in pre])
        g_post = stimuli.generator([t * second for t in post])
        syn = biodyn.synapses(model, g_pre, g_post, params, overrides=overrides,
                              connect="one_to_one", init={"w": 0.5 * (low + high)})
        mon = StateMonitor(syn, "w", record=[0, 1], when="end")
        sim.run(320 * ms, g_pre, g_post, syn, mon)
        w = np.array(mon.w)
    assert w.min() >= low and w.max() <= high
    hit = {float(w[0].max()), float(w[1].min())}
    assert high in hit or low in hit  # the rule drives a weight onto a bound, exactly
    if model != "istdp_vogels_2011":  # symmetric iSTDP potentiates both synapses
        assert w[0].max() == high and w[1].min() == low


def test_clopath_weight_is_clipped_in_the_continuous_ltp_term():
    from brian2 import StateMonitor, ms, pA, second

    from biodyn import stimuli

    with biodyn.Simulation("numpy", dt=0.1 * ms) as sim:
        post = biodyn.neurons("adex_clopath", 1, init={"u_homeo": "60*mV**2"})
        post.I = 1500 * pA
        pre = stimuli.generator([np.arange(5, 300, 4.0) * 1e-3 * second])
        syn = biodyn.synapses("clopath_2010", pre, post, connect=True, overrides={"A_LTP": "8e-3 /mV**2"},
                              init={"w": 2.5})
        mon = StateMonitor(syn, "w", record=[0], when="end")
        sim.run(300 * ms, pre, post, syn, mon)
    assert mon.w[0].max() == 3.0 and np.all(mon.w[0] <= 3.0)


# --------------------------------------------------------------------------
# Partners
# --------------------------------------------------------------------------


def test_clopath_rule_needs_the_filtered_voltages_of_its_postsynaptic_group():
    from brian2 import SpikeGeneratorGroup, ms

    with biodyn.Simulation("numpy", dt=0.1 * ms):
        pre = SpikeGeneratorGroup(1, [0], [1 * ms])
        lif = biodyn.neurons("lif", 1)
        with pytest.raises(SpecError, match="requires.post.u_minus_read"):
            biodyn.synapses("clopath_2010", pre, lif, connect=True)


def test_modulator_needs_a_rule_with_on_modulator():
    from brian2 import SpikeGeneratorGroup, ms

    with biodyn.Simulation("numpy", dt=0.1 * ms):
        g = SpikeGeneratorGroup(1, [0], [1 * ms])
        syn = biodyn.synapses("stdp_pair", g, g, connect=True)
        with pytest.raises(SpecError, match="on_modulator"):
            build.modulator(g, syn)


def test_a_rule_variable_named_like_a_partner_parameter_is_a_clear_error(catalog_path):
    """The rate neuron's gain `g` (a parameter of its subexpression r = g*(I - theta)) is a
    variable of the group; a rule declaring its own `g` is refused with one clear line."""
    from brian2 import NeuronGroup, ms

    (catalog_path / "clash.toml").write_text('''
kind = "synapse"
description = "A rate rule whose variable g has the name of the rate neuron's gain."
model = """
dw/dt = g*r_pre*r_post/second : 1 (clock-driven)
g : 1
"""
method = "euler"
[requires.pre]
r = "1"
[requires.post]
r = "1"
''')
    with biodyn.Simulation("numpy", dt=1 * ms):
        pre = NeuronGroup(1, "r : 1")
        post = biodyn.neurons("rate", 1, variants={"dynamics": "instantaneous"})
        with pytest.raises(SpecError, match="clash.toml.*'g' has the same name.*rename"):
            biodyn.synapses("clash", pre, post, connect=True)
