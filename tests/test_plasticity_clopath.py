"""Clopath et al. (2010): the adex_clopath neuron and the clopath_2010 rule against numpy Euler.

The neuron (spike clamp, held filtered voltages, homeostatic average) is checked against an
independent Euler integration; the rule is checked on the postsynaptic traces Brian2 produced
(recorded where the synapse reads them: after the groups' update, before the threshold), so a
neuron error cannot hide a rule error or the reverse.
"""

import numpy as np
import pytest

import plasticity_reference as ref

DT_MS = 0.1
T_MS = 300.0


def _si(resolved):
    from brian2.units.fundamentalunits import Quantity

    return {k: float(np.asarray(v)) if isinstance(v, Quantity) else float(v)
            for k, v in resolved.namespace.items()}


@pytest.fixture(scope="module")
def clopath_run():
    from brian2 import StateMonitor, ms, pA, second, mV

    import biodyn
    from biodyn import build, stimuli

    rng = np.random.default_rng(3)
    n_pre = 6
    pre_trains = [ref.poisson(40.0, T_MS - 10, DT_MS, rng) for _ in range(n_pre)]
    currents = np.array([0.0, 850.0, 1200.0])  # pA: silent, slow and fast firing
    out = {"pre": pre_trains, "I": currents}
    with biodyn.Simulation("numpy", dt=DT_MS * ms, seed=2) as sim:
        post = biodyn.neurons("adex_clopath", len(currents), init={"u_homeo": "60*mV**2"})
        post.I = currents * pA
        pre = stimuli.generator([t * second for t in pre_trains], DT_MS * ms, name="pre")
        # every presynaptic neuron onto every postsynaptic neuron, both homeostasis variants
        sliding = biodyn.synapses("clopath_2010", pre, post, connect=True, init={"w": 1.0})
        fixed = biodyn.synapses("clopath_2010", pre, post, connect=True, init={"w": 1.0},
                                variants={"homeostasis": "fixed"})
        mon = StateMonitor(post, ["v", "vm", "u_minus_read", "u_plus_read", "u_homeo"],
                           record=True, when="thresholds", order=-1)
        sim.run(T_MS * ms, pre, post, sliding, fixed, mon)
        out["trace"] = {v: np.array(getattr(mon, v)) for v in
                        ("v", "vm", "u_minus_read", "u_plus_read", "u_homeo")}
        for key, syn in (("sliding", sliding), ("fixed", fixed)):
            out[key] = dict(w=np.array(syn.w[:]), i=np.array(syn.i[:]), j=np.array(syn.j[:]))
        out["neuron"] = _si(build.resolved_of(post))
        out["rule"] = _si(build.resolved_of(sliding))
        out["u_homeo0"] = float(60 * mV * mV)
    return out


def test_adex_clopath_equals_euler_reference(clopath_run):
    p = clopath_run["neuron"]
    keys = ("C", "g_L", "E_L", "Delta_T", "V_T_rest", "V_T_max", "tau_VT", "a", "b", "tau_w",
            "I_sp", "tau_z", "v_spike", "V_clamp", "t_clamp", "v_reset", "tau_minus",
            "tau_plus", "tau_homeo", "t_read")
    n_steps = clopath_run["trace"]["v"].shape[1]
    n_spiking = 0
    for k, current in enumerate(clopath_run["I"]):
        want, spikes = ref.adex_clopath(np.full(n_steps, current * 1e-12), dt=DT_MS * 1e-3,
                                        u_homeo0=clopath_run["u_homeo0"],
                                        **{q: p[q] for q in keys})
        n_spiking += spikes.size > 2
        for var in ("v", "vm", "u_minus_read", "u_plus_read"):
            np.testing.assert_allclose(clopath_run["trace"][var][k], want[var], rtol=1e-9,
                                       atol=1e-12, err_msg=f"{var}, I = {current} pA")
        np.testing.assert_allclose(clopath_run["trace"]["u_homeo"][k], want["u_homeo"], rtol=1e-9,
                                   atol=1e-18)
    assert n_spiking == 2  # two of the three neurons fire repeatedly


def test_adex_clopath_spike_is_clamped_and_filters_are_held(clopath_run):
    p = clopath_run["neuron"]
    v = clopath_run["trace"]["v"][2]
    vm = clopath_run["trace"]["vm"][2]
    up = clopath_run["trace"]["u_plus_read"][2]
    crossings = np.nonzero(vm > p["v_spike"])[0]  # recorded before the reset
    assert crossings.size >= 3
    K = int(round(p["t_clamp"] / (DT_MS * 1e-3)))
    R = int(round((p["t_clamp"] + p["t_read"]) / (DT_MS * 1e-3)))
    for s in crossings[:-1]:
        assert v[s] == min(vm[s], p["V_clamp"])
        assert np.all(v[s + 1:s + K + 1] == p["V_clamp"])  # clamped for t_clamp
        assert v[s + K + 1] < p["V_clamp"] and vm[s + 1] == p["v_reset"]
        assert np.all(up[s + 1:s + R + 1] == up[s + 1])  # held at the pre-spike value
        assert up[s + R + 1] != up[s + 1]


@pytest.mark.parametrize("variant", ["sliding", "fixed"])
def test_clopath_rule_equals_reference_on_the_recorded_voltages(clopath_run, variant):
    p = clopath_run["rule"]
    res = clopath_run[variant]
    tr = clopath_run["trace"]
    dt = DT_MS * 1e-3
    moved = 0
    for w, i, j in zip(res["w"], res["i"], res["j"]):
        steps = np.round(clopath_run["pre"][i] / dt).astype(int)
        want = ref.clopath_rule(steps, tr["v"][j], tr["u_minus_read"][j], tr["u_plus_read"][j],
                                tr["u_homeo"][j], dt=dt, w0=1.0, homeostasis=variant == "sliding",
                                **{q: p[q] for q in ("A_LTD", "A_LTP", "theta_minus", "theta_plus",
                                                     "tau_x", "u_ref2", "w_min", "w_max")})
        assert w - 1.0 == pytest.approx(want - 1.0, rel=1e-9, abs=1e-15), (i, j)
        moved += abs(want - 1.0) > 1e-4
    assert moved >= 8


def test_clopath_ltp_needs_depolarisation_before_the_spike():
    """An isolated postsynaptic spike from rest does not potentiate: u_plus is read at its pre-spike value."""
    p = dict(A_LTD=0.0, A_LTP=8e-5 * 1e6, theta_minus=-70.6e-3, theta_plus=-45.3e-3, tau_x=15e-3,
             u_ref2=60e-6, w_min=0.0, w_max=3.0)
    n = 200
    V = np.full(n, -70.6e-3)
    V[100:121] = 31.131e-3
    UP = np.full(n, -70.6e-3)  # held at rest during the spike
    w = ref.clopath_rule([50], V, UP, UP, np.zeros(n), dt=1e-4, w0=0.5, **p)
    assert w == 0.5
    UP[100:121] = -60e-3  # depolarised before the spike
    assert ref.clopath_rule([50], V, UP, UP, np.zeros(n), dt=1e-4, w0=0.5, **p) > 0.5
