"""Neuron models are accurate at the time step of the protocols that use them.

Each neuron spec states its accuracy step ``max_dt``: at or below it, spike counts agree with a
converged run (the same equations at dt -> 0) within one spike per second and first-spike times
within 0.5 ms, on the inputs its protocols give it (current steps; Poisson conductance input).
``biodyn.neurons`` warns once per model (``AccuracyWarning``) when a group is built above it.
"""

import warnings

import numpy as np
import pytest

from biodyn import build
from biodyn.errors import SpecError


@pytest.fixture
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(build, "_STEP_WARNED", set())


def _spikes(model, n, dt_ms, duration_ms, *, method=None, setup=None, params=None):
    """Spike trains (ms) of ``n`` neurons of ``model`` on the numpy target."""
    from brian2 import SpikeMonitor, ms

    import biodyn

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", build.AccuracyWarning)
        with biodyn.Simulation("numpy", dt=dt_ms * ms, seed=0) as sim:
            G = biodyn.neurons(model, n, params, method=method, name="g")
            objects = list(setup(G)) if setup else []
            M = SpikeMonitor(G, name="m")
            sim.run(duration_ms * ms, G, M, *objects)
            trains = M.spike_trains()
            return [np.asarray(trains[i] / ms) for i in range(n)]


def _assert_close_to_converged(got, ref, duration_ms, what):
    per_second = duration_ms / 1000.0
    for k, (g, r) in enumerate(zip(got, ref)):
        assert abs(len(g) - len(r)) <= max(1.0 * per_second, 1.0) + 1e-9, \
            f"{what}[{k}]: {len(g)} spikes, converged {len(r)}"
        assert (len(g) == 0) == (len(r) == 0), f"{what}[{k}]"
        if len(r):
            assert abs(g[0] - r[0]) <= 0.5, f"{what}[{k}]: first spike {g[0]} ms, converged {r[0]} ms"


# --------------------------------------------------------------------------
# max_dt: declared, validated, warned about
# --------------------------------------------------------------------------

SPEC = '''
kind = "neuron"
description = "A leaky integrator for tests."
model = "dv/dt = -v / (10*ms) : volt"
method = "exact"
max_dt = "{max_dt}"
'''


@pytest.mark.parametrize("text", ["5 mV", "0 ms", "-1 ms", "fast"])
def test_max_dt_must_be_a_positive_time(tmp_path, text):
    from biodyn.spec import load_file

    path = tmp_path / "leaky.toml"
    path.write_text(SPEC.replace("{max_dt}", text))
    with pytest.raises(SpecError) as err:
        load_file(path)
    assert "max_dt" in str(err.value) and str(path.name) in str(err.value)


def test_building_above_max_dt_warns_once_naming_model_dt_and_step(fresh_warnings):
    from brian2 import ms

    import biodyn

    with pytest.warns(build.AccuracyWarning) as record:
        with biodyn.Simulation("numpy", dt=0.1 * ms):
            biodyn.neurons("hodgkin_huxley", 1)
            biodyn.neurons("hodgkin_huxley", 2)  # the same model again: no second warning
    texts = [str(r.message) for r in record if issubclass(r.category, build.AccuracyWarning)]
    assert len(texts) == 1
    assert "hodgkin_huxley" in texts[0] and "dt = 0.1 ms" in texts[0] and "max_dt = 0.05 ms" in texts[0]


def test_no_warning_at_max_dt_or_with_a_method_of_ones_own(fresh_warnings):
    from brian2 import ms

    import biodyn

    with warnings.catch_warnings():
        warnings.simplefilter("error", build.AccuracyWarning)
        with biodyn.Simulation("numpy", dt=0.05 * ms):
            biodyn.neurons("hodgkin_huxley", 1)
        with biodyn.Simulation("numpy", dt=0.1 * ms):
            biodyn.neurons("hodgkin_huxley", 1, method="exponential_euler")
            biodyn.neurons("lif", 1)  # no max_dt: exact integration


# --------------------------------------------------------------------------
# Hodgkin-Huxley: current steps (Hodgkin & Huxley 1952; NEST's hh_psc_alpha)
# --------------------------------------------------------------------------

HH_CURRENTS = (7.0, 10.0, 20.0)  # uA/cm**2


def _hh(dt_ms, duration_ms, method=None):
    from brian2 import cm, uA

    def setup(G):
        G.I = np.array(HH_CURRENTS) * uA / cm ** 2
        return ()

    return _spikes("hodgkin_huxley", len(HH_CURRENTS), dt_ms, duration_ms, method=method, setup=setup)


#: The converged run (rk4 at dt = 0.005 ms, Brian2 cython target; rk4 at 0.01 ms identical):
#: spikes in 1 s, and the first three spike times (ms; detected at the end of their step).
#: NEST 3.10's hh_psc_alpha (adaptive GSL) fires 59 / 69 / 87 as well.
HH_CONVERGED = {"count_1s": [59, 69, 87], "count_100ms": [6, 7, 9],
                "first3": [[2.375, 19.64, 36.785], [1.9, 16.82, 31.47], [1.27, 13.33, 24.93]]}


def _max_dt_ms(model):
    from biodyn import catalog
    from biodyn.spec import max_dt

    return float(max_dt(catalog.load(model)) / 1e-3)


def test_hodgkin_huxley_at_its_max_dt_matches_the_converged_spikes():
    got = _hh(_max_dt_ms("hodgkin_huxley"), 100.0)
    assert [len(g) for g in got] == HH_CONVERGED["count_100ms"]
    for g, r in zip(got, HH_CONVERGED["first3"]):
        np.testing.assert_allclose(g[:3], r, atol=0.5)


@pytest.mark.slow
def test_hodgkin_huxley_at_its_max_dt_matches_a_converged_run_over_1_s():
    duration = 1000.0
    ref = _hh(0.005, duration)
    assert [len(r) for r in ref] == HH_CONVERGED["count_1s"]
    got = _hh(_max_dt_ms("hodgkin_huxley"), duration)
    _assert_close_to_converged(got, ref, duration, "hodgkin_huxley")


# --------------------------------------------------------------------------
# lif_cond: Poisson conductance input at song_2000's step
# --------------------------------------------------------------------------

LIF_COND_SCALES = np.linspace(0.35, 0.75, 16)
#: The converged run (rk4 at dt = 0.001 ms, Brian2 cython target; exponential Euler at
#: 0.001 ms: the same counts, first spikes within 0.012 ms) on the input of _lif_cond_input.
LIF_COND_CONVERGED = {
    "count": [0, 8, 19, 31, 43, 53, 64, 74, 84, 94, 103, 113, 123, 132, 142, 151],
    "first": [None, 125.66, 61.7, 53.5, 40.14, 34.68, 31.84, 29.52, 27.71, 25.38, 23.39, 21.86,
              20.39, 19.43, 18.77, 18.22],
}


def _lif_cond_input(duration_ms=1000.0, n_in=1000, rate_hz=10.0, seed=3):
    """1000 Poisson trains at 10 Hz on the 0.1 ms grid (indices, times in ms)."""
    rng = np.random.default_rng(seed)
    steps = int(round(duration_ms / 0.1))
    idx, times = [], []
    for k in range(n_in):
        s = np.nonzero(rng.random(steps) < rate_hz * 1e-4)[0]
        idx.append(np.full(s.size, k))
        times.append(s * 0.1)
    return n_in, np.concatenate(idx), np.concatenate(times)


def _lif_cond(dt_ms, duration_ms=1000.0, method=None, target="numpy"):
    from brian2 import SpikeGeneratorGroup, SpikeMonitor, Synapses, ms

    import biodyn

    n_in, idx, times = _lif_cond_input(duration_ms)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", build.AccuracyWarning)
        with biodyn.Simulation(target, dt=dt_ms * ms, seed=0) as sim:
            G = biodyn.neurons("lif_cond", len(LIF_COND_SCALES), method=method, name="g")
            P = SpikeGeneratorGroup(n_in, idx, times * ms, name="inputs")
            S = Synapses(P, G, "w : 1", on_pre="g_e_post += w", name="input_synapses")
            S.connect()
            S.w[:] = np.tile(0.015 * LIF_COND_SCALES, n_in)
            M = SpikeMonitor(G, name="m")
            sim.run(duration_ms * ms, G, P, S, M)
            trains = M.spike_trains()
            return [np.asarray(trains[i] / ms) for i in range(len(LIF_COND_SCALES))]


def test_lif_cond_at_song_2000_step_matches_the_converged_run():
    from biodyn import protocols

    dt = float(protocols.load("song_2000").dt / 1e-3)
    assert dt <= _max_dt_ms("lif_cond")
    got = _lif_cond(dt)
    ref = [np.array([f] if f is not None else []) for f in LIF_COND_CONVERGED["first"]]
    for k, (g, n, r) in enumerate(zip(got, LIF_COND_CONVERGED["count"], ref)):
        assert abs(len(g) - n) <= 1, f"neuron {k}: {len(g)} spikes, converged {n}"
        assert (len(g) == 0) == (n == 0), f"neuron {k}"
        if n:
            assert abs(g[0] - r[0]) <= 0.5, f"neuron {k}: first spike {g[0]} ms, converged {r[0]} ms"


@pytest.mark.slow
@pytest.mark.compiled
def test_lif_cond_converged_run_is_converged():
    """The converged numbers above, recomputed: rk4 at 0.002 ms (cython)."""
    got = _lif_cond(0.002, method="rk4", target="cython")
    assert [len(g) for g in got] == LIF_COND_CONVERGED["count"]
    for g, f in zip(got, LIF_COND_CONVERGED["first"]):
        if f is not None:
            assert g[0] == pytest.approx(f, abs=0.01)


# --------------------------------------------------------------------------
# AdEx: the Naud et al. (2008) sets under their step currents (firing_patterns)
# --------------------------------------------------------------------------

#: The converged run (Euler at dt = 0.002 ms, Brian2 cython target; 0.01 ms within 0.04 ms):
#: spikes during the 500 ms step and the first spike after its onset (ms), per set with I_step.
#: NEST 3.10's aeif_cond_exp (RKF45) gives first spikes within 0.01 ms of these.
ADEX_CONVERGED = {
    "naud_2008_tonic": (51, 14.232), "naud_2008_adapting": (10, 14.912),
    "naud_2008_initial_burst": (10, 5.462), "naud_2008_regular_bursting": (9, 16.138),
    "naud_2008_delayed_accelerating": (36, 33.582), "naud_2008_delayed_regular_bursting": (0, None),
    "naud_2008_transient": (87, 8.024), "naud_2008_irregular": (27, 15.626),
    "naud_2008_delayed_regular_bursting_fig": (26, 57.180), "naud_2008_transient_fig": (1, 30.300),
}


def _adex_steps(dt_ms, step_ms=500.0, onset_ms=100.0):
    """Spike times after the step onset, one neuron per set (as the current_steps engine)."""
    from brian2 import SpikeMonitor, ms

    import biodyn
    from biodyn import catalog

    spec = catalog.load("adex")
    sets = list(ADEX_CONVERGED)
    resolved = [spec.resolve(s) for s in sets]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", build.AccuracyWarning)
        with biodyn.Simulation("numpy", dt=dt_ms * ms, seed=0) as sim:
            G = biodyn.neurons(spec, len(sets), parameters_as="per_element", name="g")
            for p in G._biodyn_parameters:
                getattr(G, p)[:] = [r.namespace[p] for r in resolved]
            G.v = "E_L"  # [initial] again, now with each set's E_L
            G.w = "0*pA"
            M = SpikeMonitor(G, name="m")
            sim.run(onset_ms * ms, G, M)
            G.I[:] = [r.namespace["I_step"] for r in resolved]
            sim.run(step_ms * ms)
            trains = M.spike_trains()
            return {s: np.asarray(trains[k] / ms) - onset_ms for k, s in enumerate(sets)}


def test_adex_at_firing_patterns_step_matches_the_converged_run():
    from biodyn import protocols

    dt = float(protocols.load("firing_patterns").dt / 1e-3)
    assert dt <= _max_dt_ms("adex")
    got = _adex_steps(dt)
    for name, (count, first) in ADEX_CONVERGED.items():
        t = got[name]
        assert abs(len(t) - count) <= 1, f"{name}: {len(t)} spikes, converged {count}"
        if first is None:
            assert len(t) == 0, name
        else:
            assert abs(t[0] - first) <= 0.5, f"{name}: first spike {t[0]} ms, converged {first} ms"


# --------------------------------------------------------------------------
# Optional: NEST 3's models on the same input (skipped without NEST)
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nest_module():
    nest = pytest.importorskip("nest")
    try:
        nest.set_verbosity("M_ERROR")
    except Exception:  # noqa: BLE001 - verbosity is cosmetic
        pass
    return nest


def _nest_trains(cells, recorder):
    ev = recorder.get("events")
    senders, times = np.asarray(ev["senders"]), np.asarray(ev["times"])
    return [np.sort(times[senders == gid]) for gid in cells.tolist()]


def test_hodgkin_huxley_agrees_with_nest_hh_psc_alpha(nest_module):
    """hh_psc_alpha (C_m = 100 pF: 1 uA/cm**2 is 100 pA) under the same current steps."""
    nest = nest_module
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": 0.05})
    n = len(HH_CURRENTS)
    cells = nest.Create("hh_psc_alpha", n)
    for k, current in enumerate(HH_CURRENTS):
        # biodyn's E_L is HH's -54.387 mV (NEST's default -54.402 mV)
        cells[k].set({"I_e": current * 100.0, "E_L": -54.387, "V_m": -65.0})
    rec = nest.Create("spike_recorder")
    nest.Connect(cells, rec)
    nest.Simulate(1000.0)
    theirs = _nest_trains(cells, rec)
    assert [len(t) for t in theirs] == HH_CONVERGED["count_1s"]
    for t, r in zip(theirs, HH_CONVERGED["first3"]):
        np.testing.assert_allclose(t[:3], r, atol=0.5)


def test_adex_agrees_with_nest_aeif_cond_exp_under_the_naud_steps(nest_module):
    from biodyn import catalog

    nest = nest_module
    spec = catalog.load("adex")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": 0.01})
    names = list(ADEX_CONVERGED)
    cells = nest.Create("aeif_cond_exp", len(names))
    for k, name in enumerate(names):
        p = {q: float(v) for q, v in spec.resolve(name).namespace.items()}
        cells[k].set({"C_m": p["C"] * 1e12, "g_L": p["g_L"] * 1e9, "E_L": p["E_L"] * 1e3,
                      "V_th": p["V_T"] * 1e3, "Delta_T": p["Delta_T"] * 1e3, "a": p["a"] * 1e9,
                      "tau_w": p["tau_w"] * 1e3, "b": p["b"] * 1e12, "V_reset": p["V_r"] * 1e3,
                      "V_peak": p["V_peak"] * 1e3, "t_ref": 0.0, "V_m": p["E_L"] * 1e3, "w": 0.0})
        # the generator's amplitude reaches the neuron one connection delay later
        gen = nest.Create("step_current_generator", params={
            "amplitude_times": [100.0 - 0.01, 600.0 - 0.01], "amplitude_values": [p["I_step"] * 1e12, 0.0]})
        nest.Connect(gen, cells[k], syn_spec={"delay": 0.01})
    rec = nest.Create("spike_recorder")
    nest.Connect(cells, rec)
    nest.Simulate(650.0)
    theirs = _nest_trains(cells, rec)
    for name, t in zip(names, theirs):
        count, first = ADEX_CONVERGED[name]
        t = t - 100.0
        assert abs(len(t) - count) <= 1, (name, len(t), count)
        if first is not None:
            assert abs(t[0] - first) <= 0.5, (name, t[0], first)


def test_lif_cond_agrees_with_nest_iaf_cond_exp_on_the_same_poisson_input(nest_module):
    from biodyn import catalog

    nest = nest_module
    p = {q: float(v) for q, v in catalog.load("lif_cond").resolve().namespace.items()}
    g_L = 10.0  # nS; C_m = g_L * tau_m
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": 0.1})
    n = len(LIF_COND_SCALES)
    cells = nest.Create("iaf_cond_exp", n, params={
        "C_m": g_L * p["tau_m"] * 1e3, "g_L": g_L, "E_L": p["E_L"] * 1e3, "V_th": p["v_th"] * 1e3,
        "V_reset": p["v_reset"] * 1e3, "t_ref": p["t_ref"] * 1e3, "E_ex": p["E_e"] * 1e3,
        "E_in": p["E_i"] * 1e3, "tau_syn_ex": p["tau_e"] * 1e3, "tau_syn_in": p["tau_i"] * 1e3,
        "V_m": p["E_L"] * 1e3})
    n_in, idx, times = _lif_cond_input()
    gens = nest.Create("spike_generator", n_in)
    d = 0.1  # a spike emitted at t - d arrives at t, as in Brian2's step at t
    for k in range(n_in):
        gens[k].spike_times = [round(x - d, 6) for x in times[idx == k] if x - d > 0]
    for j in range(n):
        nest.Connect(gens, cells[j], syn_spec={"weight": 0.015 * LIF_COND_SCALES[j] * g_L, "delay": d})
    rec = nest.Create("spike_recorder")
    nest.Connect(cells, rec)
    nest.Simulate(1000.0)
    theirs = _nest_trains(cells, rec)
    for k, (t, count, first) in enumerate(zip(theirs, LIF_COND_CONVERGED["count"], LIF_COND_CONVERGED["first"])):
        assert abs(len(t) - count) <= 1, (k, len(t), count)
        if first is not None:
            assert abs(t[0] - first) <= 0.5, (k, t[0], first)
