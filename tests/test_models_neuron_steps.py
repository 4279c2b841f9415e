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


def _spikes(model, n, dt_ms, duration_ms, *, method=None, setup=None, params=None, extra=()):
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
        assert abs(len(g) - len(r)) <= max(1.0 * per_second, 0.0) + 1e-9, \
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
ADEX_CONVERGED = {
    "naud_2008_tonic": (51, 14.228), "naud_2008_adapting": (10, 14.910),
    "naud_2008_initial_burst": (10, 5.422), "naud_2008_regular_bursting": (9, 15.848),
    "naud_2008_delayed_accelerating": (36, 33.666), "naud_2008_delayed_regular_bursting": (0, None),
    "naud_2008_transient": (87, 8.340), "naud_2008_irregular": (27, 17.044),
    "naud_2008_delayed_regular_bursting_fig": (25, 61.944), "naud_2008_transient_fig": (1, 29.714),
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
