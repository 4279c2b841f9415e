"""The builder: specs become ordinary Brian2 objects; Simulation picks the target and checks state."""

import numpy as np
import pytest
from brian2 import NeuronGroup, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, ms, mV, nA, second

import biodyn
from biodyn import build
from biodyn.errors import SimulationError, SpecError

from test_spec import GOOD_NEURON


def test_neurons_carry_their_namespace_and_overrides():
    G = biodyn.neurons("lif", 2, overrides={"tau_m": "20 ms"})
    assert isinstance(G, NeuronGroup)
    assert G.namespace["tau_m"] == 20 * ms
    assert G.namespace["R"] is not None
    assert np.all(G.v[:] == -65 * mV)  # [initial] v = "E_L"
    assert build.resolved_of(G).overrides == {"tau_m": "20 ms"}


def test_objects_run_in_a_plain_brian_script():
    """No biodyn machinery needed to run: objects carry everything (default network, numpy)."""
    from brian2 import Network, prefs

    prefs.codegen.target = "numpy"
    G = biodyn.neurons("lif", 1)
    G.I = 3 * nA
    M = SpikeMonitor(G)
    Network(G, M).run(100 * ms)
    assert M.num_spikes > 5


def test_lif_period_matches_closed_form_in_simulation():
    """T = t_ref + tau*ln((R*I + E_L - v_reset)/(R*I + E_L - v_th)) within one time step."""
    currents = np.array([2.0, 3.0, 5.0]) * nA
    with biodyn.Simulation("numpy", dt=0.01 * ms) as sim:
        G = biodyn.neurons("lif", 3)
        G.I = currents
        M = SpikeMonitor(G)
        sim.run(200 * ms, G, M)
        trains = M.spike_trains()
    ns = build.resolved_of(G).namespace
    for k, I in enumerate(currents):
        T = ns["t_ref"] + ns["tau_m"] * np.log((ns["R"] * I + ns["E_L"] - ns["v_reset"])
                                               / (ns["R"] * I + ns["E_L"] - ns["v_th"]))
        periods = np.diff(trains[k])
        assert len(periods) > 3
        assert np.all(np.abs(periods - T) <= 0.0101 * ms)


def test_synapses_require_partner_variables(catalog_path):
    (catalog_path / "needs_v.toml").write_text('''
kind = "synapse"
description = "Reads the postsynaptic potential."
model = "w : 1"
on_pre = "w += int(v_post > v_th)"
[requires]
post = { v = "volt" }
[parameters]
v_th = "mV"
[citations.t]
authors = "Doe J"
year = 2020
journal = "J Tests 1:1"
[parameter_sets.default]
citation = "t"
values = { v_th = "-50 mV" }
''')
    pre = SpikeGeneratorGroup(1, [0], [1] * ms)
    post = SpikeGeneratorGroup(1, [0], [2] * ms)
    with pytest.raises(SpecError) as info:
        biodyn.synapses("needs_v", pre, post)
    assert info.value.key == "requires.post.v" and "no such variable" in info.value.found
    G = biodyn.neurons("lif", 1)
    S = biodyn.synapses("needs_v", pre, G, connect=True)
    assert S.namespace["v_th"] == -50 * mV


def test_synapse_spec_using_undeclared_partner_variable_is_rejected(catalog_path):
    (catalog_path / "undeclared.toml").write_text('''
kind = "synapse"
description = "Uses v_post without declaring it."
model = "w : 1"
on_pre = "w += v_post/mV"
''')
    with pytest.raises(SpecError) as info:
        biodyn.load("undeclared")
    assert "v_post" in info.value.found and "[requires.post]" in str(info.value)


def test_wrong_kind_for_builder():
    with pytest.raises(SpecError) as info:
        biodyn.neurons("stdp_pair", 1)
    assert "neuron model" in info.value.expected


def test_parameters_as_variables_give_the_same_dynamics():
    """Shared constant variables (for standalone run_args) change nothing in the results."""
    out = []
    for mode in ("namespace", "variables"):
        with biodyn.Simulation("numpy", dt=0.1 * ms) as sim:
            G = biodyn.neurons("lif", 1, parameters_as=mode)
            G.I = 2.5 * nA
            M = StateMonitor(G, "v", record=0)
            sim.run(50 * ms, G, M)
            out.append(np.asarray(M.v[0]))
    np.testing.assert_array_equal(out[0], out[1])
    G = biodyn.neurons("lif", 1, parameters_as="variables")
    assert "tau_m" in G.variables and "tau_m" not in G.namespace


def test_simulation_stops_on_nan_naming_variable_and_time(catalog_path):
    (catalog_path / "blowup.toml").write_text(GOOD_NEURON.replace(
        "dv/dt = (E_L - v) / tau : volt", "dv/dt = v**2 / (tau*mV) : volt").replace(
        'threshold = "v > v_th"\nreset = "v = E_L"\nmethod = "exact"', 'method = "euler"').replace(
        '[parameters]', '[initial]\nv = "10*mV"\n\n[parameters]'))
    with pytest.raises(SimulationError) as info:
        with biodyn.Simulation("numpy", dt=0.1 * ms, check_interval=1 * ms) as sim:
            G = biodyn.neurons("blowup", 1)
            sim.run(100 * ms, G)
    text = str(info.value)
    assert "'v'" in text and "t = " in text
    assert "became" in text


def test_unknown_target_is_a_clear_error():
    with pytest.raises(SpecError) as info:
        build.resolve_target("gpu")
    assert info.value.key == "--target" and "numpy" in info.value.expected


def test_simulation_restores_target_and_dt():
    from brian2 import defaultclock, prefs

    prefs.codegen.target = "numpy"
    before = defaultclock.dt
    with biodyn.Simulation("numpy", dt=0.05 * ms):
        assert defaultclock.dt == 0.05 * ms
    assert defaultclock.dt == before
    assert prefs.codegen.target == "numpy"


def test_same_seed_same_numbers_on_numpy():
    """Brian2's random numbers are seeded by Simulation(seed=...)."""
    runs = []
    for _ in range(2):
        with biodyn.Simulation("numpy", dt=0.1 * ms, seed=42) as sim:
            G = biodyn.neurons("lif", 5, init={"v": "E_L + rand()*10*mV"})
            runs.append(np.asarray(G.v[:]).copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert np.ptp(runs[0]) > 0


def test_rule_thresholds_are_not_confused_with_the_neurons_theta():
    """Regression: the covariance rule's postsynaptic threshold once resolved to the rate
    neuron's own `theta`. One Euler step must use the rule's thresholds only."""
    from brian2 import Hz

    with biodyn.Simulation("numpy", dt=1 * ms) as sim:
        pre = biodyn.neurons("rate", 1, variants={"dynamics": "instantaneous"})
        post = biodyn.neurons("rate", 1, variants={"dynamics": "instantaneous"},
                              overrides={"theta": "0.3"})
        pre.I = 0.9
        post.I = 1.0  # r_post = g*(I - theta) = 0.7
        S = biodyn.synapses("covariance", pre, post, connect=True, init={"w": 0.0},
                            variants={"transmission": "none"}, parameters_as="variables")
        sim.run(1 * ms, pre, post, S)
        w = float(S.w[0])
    ns = build.resolved_of(S).namespace
    expected = 1e-3 * float(ns["eta"] / Hz) * (0.9 - ns["theta_x"]) * (0.7 - ns["theta_y"])
    assert w == pytest.approx(expected, rel=1e-12)
