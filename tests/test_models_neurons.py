"""The neuron catalog against known answers.

Every model is simulated from its spec (numpy target) and compared with something that does
not come from the spec: a closed form (LIF period, rate relaxation, AdEx rheobase, Izhikevich
and FitzHugh-Nagumo fixed points and Hopf currents), a published number (Hodgkin-Huxley Hopf
and repetitive-firing currents, Izhikevich/Naud firing patterns), or an independent
implementation (Hodgkin-Huxley in the 1952 paper's own sign convention, integrated by scipy).

Each model runs as ONE Brian2 simulation holding all its conditions (a module-scoped fixture
where several tests read the same run), to keep the file within its time budget.
"""

import numpy as np
import pytest
from brian2 import SpikeMonitor, StateMonitor, amp, cm, mV, ms, nA, pA, uA

import biodyn
from biodyn import catalog
from biodyn.build import Simulation, resolve

NEURON_MODELS = ["lif", "alif", "rate", "adex", "izhikevich", "hodgkin_huxley", "fitzhugh_nagumo"]


def _trains(monitor, n):
    """Spike times (ms, numpy) of neurons 0..n-1 of a SpikeMonitor."""
    trains = monitor.spike_trains()
    return [np.asarray(trains[k] / ms) for k in range(n)]


def _values(model, params=None, **overrides):
    """The resolved parameter values of a set, as plain SI floats."""
    ns = resolve(model, params, overrides or None).namespace
    return {k: float(v) for k, v in ns.items()}


# ---------------------------------------------------------------------------------------------
# Catalog: every spec loads, every set resolves and runs, `biodyn show` prints the citations
# ---------------------------------------------------------------------------------------------


def test_every_neuron_model_is_listed_loads_and_every_set_has_a_citation():
    names = catalog.names("models")
    for model in NEURON_MODELS:
        assert model in names
        spec = biodyn.load(model)
        assert spec.kind == "neuron"
        assert spec.parameter_sets, model
        for name, pset in spec.parameter_sets.items():
            assert pset.citation is not None, (model, name)
            assert pset.citation.authors and pset.citation.year and pset.citation.journal
            resolved = spec.resolve(name)  # raises if a used parameter has no value
            assert resolved.namespace


def test_every_parameter_set_and_variant_builds_and_runs_in_brian2():
    with Simulation("numpy", dt=0.01 * ms, seed=3) as sim:
        objects = []
        for model in NEURON_MODELS:
            spec = biodyn.load(model)
            for name in spec.parameter_sets:
                for variants in list(spec.variant_combinations()) or [{}]:
                    objects.append(biodyn.neurons(model, 2, params=name, variants=variants))
        sim.run(0.5 * ms, *objects)  # check_finite: nothing became NaN/Inf
    assert len(objects) >= 1 + 1 + 2 + 11 + 7 + 1 + 2 + 7


def test_biodyn_show_prints_every_citation_of_a_model(capsys):
    from biodyn.cli import main

    for model in NEURON_MODELS:
        assert main(["show", model]) == 0
        out = capsys.readouterr().out
        for pset in biodyn.load(model).parameter_sets.values():
            cit = pset.citation
            assert cit.authors in out and str(cit.year) in out and cit.journal in out
            if cit.doi:
                assert cit.doi in out


def test_parameter_sets_hold_the_published_values():
    """A second transcription from the papers, guarding the specs against edits."""
    bg = _values("adex", "brette_gerstner_2005")
    expected = dict(C=281e-12, g_L=30e-9, E_L=-70.6e-3, V_T=-50.4e-3, Delta_T=2e-3, tau_w=0.144,
                    a=4e-9, b=0.0805e-9, V_r=-70.6e-3)
    for k, v in expected.items():
        assert bg[k] == pytest.approx(v, rel=1e-12), k
    hh = _values("hodgkin_huxley")
    # per m**2 in SI: 1 uF/cm2 = 1e-2 F/m2, 1 mS/cm2 = 10 S/m2
    for k, v in dict(C_m=1e-2, g_Na=1200, g_K=360, g_L=3, E_Na=50e-3, E_K=-77e-3,
                     E_L=-54.387e-3, phi=1).items():
        assert hh[k] == pytest.approx(v, rel=1e-12), k
    izh = {"regular_spiking": (0.02, 0.2, -65, 8), "intrinsically_bursting": (0.02, 0.2, -55, 4),
           "chattering": (0.02, 0.2, -50, 2), "fast_spiking": (0.1, 0.2, -65, 2),
           "low_threshold_spiking": (0.02, 0.25, -65, 2), "thalamo_cortical": (0.02, 0.25, -65, 0.05),
           "resonator": (0.1, 0.26, -65, 2)}
    for name, (a, b, c, d) in izh.items():
        p = _values("izhikevich", name)
        assert (p["a"], p["b"], p["c"] * 1e3, p["d"] * 1e3) == pytest.approx((a, b, c, d)), name


# ---------------------------------------------------------------------------------------------
# LIF: period under constant current, T = t_ref + tau ln((RI + E_L - v_reset)/(RI + E_L - v_th))
# ---------------------------------------------------------------------------------------------


def _lif_period(p, I):
    drive = p["R"] * I + p["E_L"]
    return p["t_ref"] + p["tau_m"] * np.log((drive - p["v_reset"]) / (drive - p["v_th"]))


def test_lif_period_and_first_spike_match_closed_form_within_one_dt_and_no_spike_below_rheobase():
    dt = 0.1e-3
    cases = {"dayan_abbott_2001": [1.45, 1.6, 2.0, 3.0, 5.0],   # nA; rheobase 1.5 nA
             "brunel_2000": [19.8, 22.0, 25.0, 40.0]}           # nA with R = 1 Mohm: RI in mV
    with Simulation("numpy", dt=dt * 1e3 * ms, seed=1) as sim:
        runs = {}
        for name, currents in cases.items():
            G = biodyn.neurons("lif", len(currents), params=name)
            G.I = np.array(currents) * nA
            runs[name] = (G, SpikeMonitor(G))
        sim.run(300 * ms, *[o for pair in runs.values() for o in pair])
        trains = {name: _trains(mon, len(cases[name])) for name, (G, mon) in runs.items()}
    for name, currents in cases.items():
        p = _values("lif", name)
        for I_nA, t in zip(currents, trains[name]):
            I = I_nA * 1e-9
            if p["R"] * I <= p["v_th"] - p["E_L"]:
                assert len(t) == 0, (name, I_nA)
                continue
            T = _lif_period(p, I)
            isi = np.diff(t) * 1e-3
            assert len(isi) >= 5
            np.testing.assert_array_less(np.abs(isi - T), dt + 1e-9)
            # first spike from v = E_L: no refractory period, reset value not involved
            t1 = p["tau_m"] * np.log(p["R"] * I / (p["R"] * I - (p["v_th"] - p["E_L"])))
            assert abs(t[0] * 1e-3 - t1) <= dt + 1e-9, (name, I_nA, t[0], t1)
    # brunel_2000 has v_reset != E_L: its period (without t_ref) differs from the first-spike
    # time by far more than dt, so the test distinguishes the generalised closed form
    p = _values("lif", "brunel_2000")
    t1 = p["tau_m"] * np.log(25.0 / 5.0)
    assert t1 - (_lif_period(p, 25e-9) - p["t_ref"]) > 50 * dt


# ---------------------------------------------------------------------------------------------
# ALIF: between spikes v and the threshold are closed forms; each interval follows from the last
# ---------------------------------------------------------------------------------------------


def test_alif_intervals_follow_the_closed_form_adaptive_threshold_and_lengthen():
    """Under a constant current, after a spike at step n the membrane is held at v_reset for
    t_ref, then v(t) = E_L + R I (1 - exp(-(t - t_n - t_ref)/tau_m)) (from v_reset = E_L), and the
    threshold is v_th + beta a(t), a(t) = sum_j exp(-(t - t_j)/tau_a) over the spikes so far
    (each a jump of 1, Bellec et al. 2020). The next spike is the first step whose closed-form v
    exceeds the threshold: computed here from Brian2's previous spikes alone, it must be
    Brian2's next spike, to one step; the intervals lengthen as a accumulates."""
    dt = 0.1e-3
    I_nA = 2.0  # R I = 20 mV, twice the threshold above rest
    with Simulation("numpy", dt=dt * 1e3 * ms, seed=1) as sim:
        G = biodyn.neurons("alif", 1)
        G.I = I_nA * nA
        mon = SpikeMonitor(G)
        sim.run(500 * ms, G, mon)
        t = np.round(_trains(mon, 1)[0] * 1e-3 / dt).astype(int)  # spike steps
    p = _values("alif")
    assert p["v_reset"] == p["E_L"]
    RI = p["R"] * I_nA * 1e-9
    ref = int(round(p["t_ref"] / dt))
    assert len(t) >= 15
    for k in range(1, len(t)):
        m = np.arange(t[k - 1] + 1, t[k - 1] + 20000)  # candidate steps; values at the end of step m
        held = np.maximum((m + 1 - t[k - 1] - 1) * dt - p["t_ref"], 0.0)
        v = p["E_L"] + RI * (1 - np.exp(-held / p["tau_m"]))
        a = np.exp(-np.subtract.outer(m, t[:k]) * dt / p["tau_a"]).sum(axis=1)
        pred = m[np.argmax(v > p["v_th"] + p["beta"] * a)]
        assert abs(pred - t[k]) <= 1, (k, pred, t[k])
    isi = np.diff(t) * dt
    assert isi[0] > ref * dt and np.all(np.diff(isi) >= -dt - 1e-12)
    lif = p["t_ref"] + p["tau_m"] * np.log(RI / (RI - p["v_th"]))  # the period with beta = 0
    assert isi[0] > lif and isi[-1] > 1.5 * lif  # a = 1 already after the first spike


# ---------------------------------------------------------------------------------------------
# Rate neuron: steady state F(I); leaky relaxation with time constant tau; instantaneous r = F(I)
# ---------------------------------------------------------------------------------------------

_GAINS = {
    "linear": lambda I, g, th, rmax: g * (I - th),
    "rectified": lambda I, g, th, rmax: np.maximum(g * (I - th), 0.0),
    "tanh": lambda I, g, th, rmax: rmax * np.tanh(g * (I - th)),
    "sigmoid": lambda I, g, th, rmax: rmax / (1 + np.exp(-g * (I - th))),
}


def test_rate_leaky_relaxes_exponentially_to_gain_and_instantaneous_equals_gain():
    params = dict(g="2", theta="0.25", r_max="1.5", tau="10 ms")
    g, th, rmax, tau = 2.0, 0.25, 1.5, 10.0
    I = np.array([-1.0, 0.0, 0.2, 0.5, 1.3])
    dt = 0.05
    with Simulation("numpy", dt=dt * ms, seed=1) as sim:
        leaky, instant = {}, {}
        for gain in _GAINS:
            G = biodyn.neurons("rate", len(I), overrides=params, variants={"gain": gain})
            G.I = I
            leaky[gain] = (G, StateMonitor(G, "r", record=True, dt=0.5 * ms))
            H = biodyn.neurons("rate", len(I), overrides=params,
                               variants={"gain": gain, "dynamics": "instantaneous"})
            H.I = I
            instant[gain] = H
            np.testing.assert_allclose(H.r[:], _GAINS[gain](I, g, th, rmax), rtol=1e-12, atol=1e-15)
        sim.run(120 * ms, *[o for pair in leaky.values() for o in pair], *instant.values())
        for gain, (G, mon) in leaky.items():
            F = _GAINS[gain](I, g, th, rmax)
            t = np.asarray(mon.t / ms)
            r = np.asarray(mon.r)
            expected = F[:, None] * (1 - np.exp(-t[None, :] / tau))
            # forward Euler at dt/tau = 0.005: the error is below dt/(2 tau) of |F|
            scale = max(np.abs(F).max(), 1e-12)
            assert np.abs(r - expected).max() < 0.5 * dt / tau * scale + 1e-12, gain
            k = np.argmin(np.abs(t - tau))  # one time constant: 1 - 1/e of the way
            np.testing.assert_allclose(r[:, k], F * (1 - np.exp(-1)), atol=2e-3 * scale)
            np.testing.assert_allclose(G.r[:], F, atol=1e-4 * scale)
            H = instant[gain]
            H.I = I[::-1]  # instantaneous: follows a new input at once, without running
            np.testing.assert_allclose(H.r[:], _GAINS[gain](I[::-1], g, th, rmax), rtol=1e-12,
                                       atol=1e-15)


# ---------------------------------------------------------------------------------------------
# AdEx: rheobase closed forms (Touboul & Brette 2008) and Naud et al. (2008) firing patterns
# ---------------------------------------------------------------------------------------------


def _adex_bifurcation(p):
    """(regime, I_SN, I_H): saddle-node if a < C/tau_w, else Hopf (Touboul & Brette 2008)."""
    gL, a, C, tw = p["g_L"], p["a"], p["C"], p["tau_w"]
    VT, EL, D = p["V_T"], p["E_L"], p["Delta_T"]
    I_sn = (gL + a) * (VT - EL - D + D * np.log(1 + a / gL)) if gL + a > 0 else np.nan
    r = C / (gL * tw)  # at the Hopf point exp((V - V_T)/Delta_T) = 1 + C/(g_L tau_w)
    V_h = VT + D * np.log(1 + r)
    I_h = (gL + a) * (V_h - EL) - gL * D * (1 + r)
    return ("saddle-node" if a < C / tw else "hopf"), I_sn, I_h


_ADEX_THRESHOLD_SETS = {  # set -> regime; near-threshold checks on these
    "naud_2008_tonic": "saddle-node",
    "brette_gerstner_2005": "hopf",
    "naud_2008_adapting": "hopf",
    "naud_2008_initial_burst": "hopf",
    "naud_2008_regular_bursting": "hopf",
    "naud_2008_transient_fig": "hopf",
}
_ADEX_PATTERN_SETS = ["naud_2008_tonic", "naud_2008_adapting", "naud_2008_initial_burst",
                      "naud_2008_regular_bursting", "naud_2008_delayed_accelerating",
                      "naud_2008_irregular", "naud_2008_delayed_regular_bursting_fig",
                      "naud_2008_transient_fig"]
_ADEX_T = 1000.0  # ms


@pytest.fixture(scope="module")
def adex_run():
    """One run: per set, neurons at [I_step, 0.98 I_th, 1.02 I_th] (I_th the closed form)."""
    out = {}
    with Simulation("numpy", dt=0.1 * ms, seed=2) as sim:
        objects, groups = [], {}
        for name in sorted(set(_ADEX_PATTERN_SETS) | set(_ADEX_THRESHOLD_SETS)):
            p = _values("adex", name)
            regime, I_sn, I_h = _adex_bifurcation(p)
            I_th = I_sn if regime == "saddle-node" else I_h
            if not np.isfinite(I_th):  # g_L + a = 0: the closed form is degenerate
                I_th = 0.0
            currents = [p.get("I_step", 0.0), 0.98 * I_th, 1.02 * I_th]
            G = biodyn.neurons("adex", 3, params=name)
            G.I = np.array(currents) * amp
            mon = SpikeMonitor(G)
            groups[name] = (mon, regime, I_sn, I_h, currents)
            objects += [G, mon]
        sim.run(_ADEX_T * ms, *objects)
        for name, (mon, *rest) in groups.items():
            out[name] = (_trains(mon, 3), *rest)
    return out


def test_adex_regimes_follow_touboul_brette_criterion():
    for name, regime in _ADEX_THRESHOLD_SETS.items():
        assert _adex_bifurcation(_values("adex", name))[0] == regime, name
    for name in ["naud_2008_delayed_accelerating", "naud_2008_delayed_regular_bursting",
                 "naud_2008_irregular"]:
        assert _adex_bifurcation(_values("adex", name))[0] == "saddle-node", name


def test_adex_saddle_node_rheobase_closed_form_no_spike_below_spikes_above(adex_run):
    trains, regime, I_sn, I_h, currents = adex_run["naud_2008_tonic"]
    assert regime == "saddle-node" and I_sn == pytest.approx(220.376e-12, rel=1e-4)
    below, above = trains[1], trains[2]
    assert len(below) == 0
    assert len(above) >= 5 and above[-1] > _ADEX_T - 100  # fires on, repetitively


def test_adex_hopf_sets_fire_repetitively_only_above_hopf_current(adex_run):
    """Below I_H at most the onset transient fires (one spike); above it firing persists."""
    for name, regime in _ADEX_THRESHOLD_SETS.items():
        if regime != "hopf":
            continue
        trains, regime, I_sn, I_h, currents = adex_run[name]
        below, above = trains[1], trains[2]
        assert len(below) <= 2 and np.all(below < 300), (name, below)
        # near a subcritical Hopf the first intervals can be ~0.5 s long: look for firing
        # beyond the onset transient, after half the run
        assert len(above) >= 2 and above[-1] > _ADEX_T / 2, (name, above)


def _isi(t):
    return np.diff(t)


def test_adex_naud_2008_firing_patterns_by_isi_statistics(adex_run):
    get = {name: adex_run[name][0][0] for name in _ADEX_PATTERN_SETS}  # at I_step
    # tonic: regular from the start, every ISI within 10% of the last
    isi = _isi(get["naud_2008_tonic"])
    assert len(isi) > 50 and np.all(np.abs(isi / isi[-1] - 1) < 0.10)
    assert np.std(isi[-20:]) / np.mean(isi[-20:]) < 0.01
    # adapting: ISIs grow monotonically (x3 or more) and converge
    isi = _isi(get["naud_2008_adapting"])
    assert np.all(np.diff(isi[:7]) > 0) and isi[-1] > 3 * isi[0]
    assert abs(isi[-1] - isi[-2]) / isi[-1] < 0.01
    # initial burst: 2-3 short ISIs at the onset, then regular ISIs at least 5x longer
    isi = _isi(get["naud_2008_initial_burst"])
    short = isi < 10
    assert 2 <= short.sum() <= 4 and np.all(short[: short.sum()])
    assert isi[short.sum():].min() > 5 * isi[short].max()
    assert np.std(isi[-5:]) / np.mean(isi[-5:]) < 0.01
    # regular bursting: bimodal ISIs that keep alternating (short within, long between bursts)
    isi = _isi(get["naud_2008_regular_bursting"])[2:]
    short, long_ = isi[isi < 20], isi[isi > 50]
    assert len(short) >= 3 and len(long_) >= 3 and len(short) + len(long_) == len(isi)
    assert long_.min() > 10 * short.max()
    # delayed accelerating: a first-spike latency longer than the first ISI, then shortening ISIs
    t = get["naud_2008_delayed_accelerating"]
    isi = _isi(t)
    assert t[0] > isi[0] and np.all(np.diff(isi[:10]) < 0) and isi[-1] < 0.6 * isi[0]
    # irregular: aperiodic intervals under constant current (ISI CV well above a periodic train)
    t = get["naud_2008_irregular"]
    isi = _isi(t[t > 200])
    assert len(isi) > 10 and np.std(isi) / np.mean(isi) > 0.3
    # delayed regular bursting (figure values): a latency, then bursts (bimodal ISIs)
    t = get["naud_2008_delayed_regular_bursting_fig"]
    isi = _isi(t)
    assert t[0] > 40 and (isi < 10).sum() >= 5 and (isi > 40).sum() >= 5
    # transient (figure values): firing at the onset only
    t = get["naud_2008_transient_fig"]
    assert 1 <= len(t) <= 3 and t[-1] < 100


# ---------------------------------------------------------------------------------------------
# Izhikevich: rest and bifurcations from the quadratic nullcline; Fig. 2 classes at I = 10
# ---------------------------------------------------------------------------------------------


def _izh_fixed_point(b, I):
    """Lower root of 0.04 v^2 + (5 - b) v + 140 + I = 0 (mV), the rest state; u = b v."""
    disc = (5 - b) ** 2 - 0.16 * (140 + I)
    return (-(5 - b) - np.sqrt(disc)) / 0.08


def _izh_currents(a, b):
    I_sn = (5 - b) ** 2 / 0.16 - 140           # the fixed points vanish
    v_h = (a - 5) / 0.08                       # trace of the Jacobian vanishes
    I_h = -(0.04 * v_h ** 2 + (5 - b) * v_h + 140)
    return I_sn, I_h


_IZH_T = 600.0  # ms
_IZH_SETS = ["regular_spiking", "intrinsically_bursting", "chattering", "fast_spiking",
             "low_threshold_spiking", "thalamo_cortical", "resonator"]


@pytest.fixture(scope="module")
def izhikevich_run():
    """Neuron 0 of every set: I = 0 from the spec's initial state; neuron 1: I_step.
    regular_spiking has three more: just below I_H and just above I_H (both started at their
    fixed point + 0.1 mV), and just above I_SN (started at the I = 0 rest)."""
    a, b = 0.02, 0.2
    I_sn, I_h = _izh_currents(a, b)
    extra = [(I_h - 0.05, True), (I_h + 0.1, True), (I_sn + 0.05, False)]
    out = {}
    with Simulation("numpy", dt=0.1 * ms, seed=4) as sim:
        objects, mons = [], {}
        for name in _IZH_SETS:
            p = _values("izhikevich", name)
            n = 2 + (len(extra) if name == "regular_spiking" else 0)
            G = biodyn.neurons("izhikevich", n, params=name)
            I = [0.0, p.get("I_step", 0.0) * 1e3]
            if name == "regular_spiking":
                for k, (I_k, at_fixed_point) in enumerate(extra, start=2):
                    I.append(I_k)
                    v_k = _izh_fixed_point(b, I_k if at_fixed_point else 0.0)
                    G.v[k] = (v_k + (0.1 if at_fixed_point else 0.0)) * mV
                    G.u[k] = b * v_k * mV
            G.I = np.array(I) * mV
            mons[name] = (SpikeMonitor(G), StateMonitor(G, "v", record=[0]), n)
            objects += [G, mons[name][0], mons[name][1]]
        sim.run(_IZH_T * ms, *objects)
        for name, (spk, st, n) in mons.items():
            out[name] = (_trains(spk, n), float(st.v[0][-1] / mV))
    return out, (I_sn, I_h)


def test_izhikevich_starts_and_stays_at_rest_the_lower_root_of_the_quadratic_nullcline(
        izhikevich_run):
    runs, _ = izhikevich_run
    for name in _IZH_SETS:
        trains, v_end = runs[name]
        b = _values("izhikevich", name)["b"]
        G = biodyn.neurons("izhikevich", 1, params=name)
        assert float(G.v[0] / mV) == pytest.approx(_izh_fixed_point(b, 0.0), abs=1e-9), name
        assert float(G.u[0] / mV) == pytest.approx(b * _izh_fixed_point(b, 0.0), abs=1e-9), name
        assert len(trains[0]) == 0, name
        assert v_end == pytest.approx(_izh_fixed_point(b, 0.0), abs=1e-6), name
    assert _izh_fixed_point(0.2, 0.0) == pytest.approx(-70.0, abs=1e-12)


def test_izhikevich_rs_rest_loses_stability_at_hopf_before_saddle_node(izhikevich_run):
    """b > a: the rest turns unstable at I_H = 3.7975 (trace = 0), before the fixed points
    vanish at I_SN = (5 - b)^2/0.16 - 140 = 4; above I_SN the neuron fires from any start."""
    runs, (I_sn, I_h) = izhikevich_run
    assert I_sn == pytest.approx(4.0, abs=1e-12) and I_h == pytest.approx(3.7975, abs=1e-12)
    trains, _ = runs["regular_spiking"]
    below_h, above_h, above_sn = trains[2], trains[3], trains[4]
    assert len(below_h) == 0                   # stable focus: the 0.1 mV perturbation decays
    assert len(above_h) >= 2                   # unstable: the perturbation grows into spiking
    assert len(above_sn) >= 2                  # no fixed point left


def test_izhikevich_classes_of_fig2_at_step_current_10(izhikevich_run):
    runs, _ = izhikevich_run
    t = {name: runs[name][0][1] for name in _IZH_SETS[:5]}
    rate = {name: len(x) for name, x in t.items()}
    assert rate["fast_spiking"] > 4 * rate["regular_spiking"]          # FS fires faster than RS
    assert rate["low_threshold_spiking"] > 2 * rate["regular_spiking"]
    isi = np.diff(t["regular_spiking"])
    assert isi[-1] > 1.5 * isi[0]                                       # RS: the period increases
    isi = np.diff(t["low_threshold_spiking"])
    assert isi[-1] > 3 * isi[0]                                         # LTS: noticeable adaptation
    isi = np.diff(t["intrinsically_bursting"])                          # IB: burst, then singles
    assert isi[0] < 6 and np.all(isi[isi.argmax():] > 20) and (isi < 6).sum() <= 3
    isi = np.diff(t["chattering"][t["chattering"] > 100])               # CH: repeated bursts
    short, long_ = isi[isi < 8], isi[isi > 25]
    assert len(short) >= 10 and len(long_) >= 5 and len(short) + len(long_) == len(isi)
    burst_period = np.diff(t["chattering"][np.r_[True, np.diff(t["chattering"]) > 25]]).mean()
    assert 1000 / burst_period <= 40                                    # "as high as 40 Hz"


# ---------------------------------------------------------------------------------------------
# Hodgkin-Huxley: rest, thresholds, Hopf (from the spec's vector field), spike shape
# ---------------------------------------------------------------------------------------------


def _hh_reference(I, T=50.0):
    """Hodgkin & Huxley (1952) in the paper's own convention (u = rest - E, mV; ms; per cm2),
    written independently of the spec; returns (t, v) with v = -65 - u (modern convention)."""
    from scipy.integrate import solve_ivp

    def rates(u):
        return (0.1 * (u + 25) / np.expm1((u + 25) / 10), 4 * np.exp(u / 18),
                0.07 * np.exp(u / 20), 1 / (np.exp((u + 30) / 10) + 1),
                0.01 * (u + 10) / np.expm1((u + 10) / 10), 0.125 * np.exp(u / 80))

    def rhs(t, y):
        u, m, h, n = y
        am, bm, ah, bh, an, bn = rates(u)
        i_ion = 120 * m ** 3 * h * (u + 115) + 36 * n ** 4 * (u - 12) + 0.3 * (u + 10.613)
        return [-(i_ion + I), am * (1 - m) - bm * m, ah * (1 - h) - bh * h, an * (1 - n) - bn * n]

    am, bm, ah, bh, an, bn = rates(0.0)
    y0 = [0.0, am / (am + bm), ah / (ah + bh), an / (an + bn)]
    t = np.arange(0, T, 0.005)
    sol = solve_ivp(rhs, (0, T), y0, method="LSODA", rtol=1e-8, atol=1e-9, max_step=0.05, t_eval=t)
    return sol.t, -65 - sol.y[0]


def _spike_shape(t, v):
    """Peak (mV), threshold (dv/dt at 5% of its maximum, mV), half-width (ms) at the level
    halfway between threshold and peak, of the first spike."""
    dv = np.gradient(v, t)
    ip = int(np.argmax(v[: np.searchsorted(t, t[np.argmax(v > 0)] + 3)]))
    i0 = int(np.argmax(dv > 0.05 * dv[:ip + 1].max()))
    half = 0.5 * (v[ip] + v[i0])
    above = np.nonzero(v[i0:ip + int(5 / (t[1] - t[0]))] > half)[0]
    return v[ip], v[i0], (above[-1] - above[0]) * (t[1] - t[0])


def _vector_field(model, params=None):
    """The spec's differential equations as numpy functions f(x, I), J(x, I) in SI units,
    read through sympy from the same Brian2 equations the simulation uses."""
    import sympy
    from brian2.parsing.sympytools import str_to_sympy

    from biodyn._quantity import units_namespace

    r = resolve(model, params)
    eqs = r.equations
    subexpr = {sympy.Symbol(n, real=True): str_to_sympy(eqs[n].expr.code) for n in eqs.subexpr_names}
    states = sorted(eqs.diff_eq_names)
    rhs = []
    for s in states:
        e = str_to_sympy(eqs[s].expr.code)
        for _ in range(5):
            e = e.subs(subexpr)
        rhs.append(e)
    units = units_namespace()
    values = {}
    for sym in set().union(*(e.free_symbols for e in rhs)):
        if sym.name in states or sym.name == "I":
            continue
        values[sym] = float(r.namespace[sym.name] if sym.name in r.namespace else units[sym.name])
    rhs = [e.subs(values) for e in rhs]
    X = [sympy.Symbol(s, real=True) for s in states]
    I = sympy.Symbol("I", real=True)
    modules = [{"exprel": lambda x: np.expm1(x) / x}, "numpy"]
    f = sympy.lambdify([X, I], rhs, modules=modules)
    J = sympy.lambdify([X, I], sympy.Matrix(rhs).jacobian(X), modules=modules)
    return states, f, J


def test_hh_spec_vector_field_has_hopf_at_published_current():
    """Subcritical Hopf of the rest state at I = 9.78 uA/cm2 (Hassard 1978), computed from the
    spec's own equations (sympy Jacobian at the fixed point)."""
    from scipy.optimize import brentq, fsolve

    states, f, J = _vector_field("hodgkin_huxley")
    scale = np.array([1.0 if s == "v" else 1e-3 for s in states])
    x_rest = np.array([{"h": 0.6, "m": 0.05, "n": 0.32, "v": -0.065}[s] for s in states])

    def fixed_point(I_uA):
        return fsolve(lambda x: np.array(f(x, I_uA * 1e-2)) * scale, x_rest, xtol=1e-13)

    x0 = fixed_point(0.0)
    assert x0[states.index("v")] * 1e3 == pytest.approx(-65.0, abs=0.01)

    def growth(I_uA):
        return np.linalg.eigvals(np.array(J(fixed_point(I_uA), I_uA * 1e-2), float)).real.max()

    assert growth(9.0) < 0 < growth(10.5)
    assert brentq(growth, 9.0, 10.5, xtol=1e-5) == pytest.approx(9.78, abs=0.01)


@pytest.fixture(scope="module")
def hh_run():
    currents = np.array([0.0, 2.1, 2.4, 6.0, 6.5, 10.0])  # uA/cm2
    dt = 0.05
    with Simulation("numpy", dt=dt * ms, seed=5) as sim:
        G = biodyn.neurons("hodgkin_huxley", len(currents))
        G.I = currents * uA / cm ** 2
        spikes = SpikeMonitor(G)
        trace = StateMonitor(G, "v", record=[0, 5])
        sim.run(120 * ms, G, spikes, trace)
        return (currents, _trains(spikes, len(currents)), np.asarray(trace.t / ms),
                np.asarray(trace.v / mV))


def test_hh_rest_single_spike_threshold_and_repetitive_firing_threshold(hh_run):
    currents, trains, t, v = hh_run
    # rest: -65 mV (E_L = -54.387 mV is chosen by HH for zero net current there)
    assert v[0, -1] == pytest.approx(-65.0, abs=0.01) and len(trains[0]) == 0
    # one spike at the onset of a long step above ~2.24 uA/cm2 (independent reference below)
    ref = {I: _hh_reference(I)[1].max() > 0 for I in (2.1, 2.4)}
    assert ref == {2.1: False, 2.4: True}
    assert len(trains[1]) == 0 and len(trains[2]) == 1
    # repetitive firing: not below the limit point of periodic orbits (6.26 uA/cm2, Rinzel &
    # Miller 1980), where only onset spikes occur; sustained above it
    assert len(trains[3]) <= 3 and np.all(trains[3] < 50)
    assert len(trains[4]) >= 5 and trains[4][-1] > 100
    period = np.diff(trains[4])[-3:]
    assert np.ptp(period) < 0.2  # periodic


def test_hh_spike_shape_matches_independent_reference_and_published_range(hh_run):
    currents, trains, t, v = hh_run
    peak, thr, width = _spike_shape(t, v[1])
    t_ref, v_ref = _hh_reference(10.0, T=30.0)
    peak_r, thr_r, width_r = _spike_shape(t_ref, v_ref)
    # the spec (rk4, dt = 0.05 ms) against scipy LSODA on the 1952 equations
    assert peak == pytest.approx(peak_r, abs=1.5)
    assert width == pytest.approx(width_r, abs=0.1)
    assert trains[5][0] == pytest.approx(t_ref[np.argmax(v_ref > 0)], abs=0.2)
    # published measurement of the HH (1952) cell at 6.3 C (NeuroML-DB, model NMLCL001426):
    # half-width 1.20 ms, amplitude 100.4 mV; peak bounded by E_Na = +50 mV
    assert 30 < peak < 50 and 95 < peak - (-65) < 115
    assert 1.0 < width < 1.5


# ---------------------------------------------------------------------------------------------
# FitzHugh-Nagumo: fixed point of the cubic, Hopf currents where tr J = 0
# ---------------------------------------------------------------------------------------------


def _fhn_fixed_point(a, b, I):
    roots = np.roots([-1 / 3, 0, 1 - 1 / b, I - a / b])  # v - v^3/3 - (v + a)/b + I = 0
    v = roots[np.abs(roots.imag) < 1e-9].real
    assert len(v) == 1
    return float(v[0]), float((v[0] + a) / b)


def _fhn_hopf_currents(a, b, eps):
    vs = np.sqrt(1 - eps * b)
    return [v ** 3 / 3 - v + (v + a) / b for v in (-vs, vs)]


def test_fhn_rest_hopf_currents_and_oscillation_window():
    sets = ["izhikevich_fitzhugh_2006", "fitzhugh_1961"]
    dI, dv = 0.02, 0.02
    with Simulation("numpy", dt=0.2 * ms, seed=6) as sim:
        objects, runs = [], {}
        for name in sets:
            p = _values("fitzhugh_nagumo", name)
            I_h1, I_h2 = _fhn_hopf_currents(p["a"], p["b"], p["epsilon"])
            currents = [0.0, I_h1 - dI, I_h1 + dI, I_h2 - dI, I_h2 + dI]
            G = biodyn.neurons("fitzhugh_nagumo", len(currents), params=name)
            v0 = float(G.v[0])
            fps = [_fhn_fixed_point(p["a"], p["b"], I) for I in currents]
            # neuron 0 keeps the spec's initial state; the others start at their fixed point,
            # perturbed by dv (towards lower v at the upper Hopf, away from v_spike)
            G.v = [v0] + [fp[0] + (dv if k < 3 else -dv) for k, fp in enumerate(fps)][1:]
            G.w = [float(G.w[0])] + [fp[1] for fp in fps][1:]
            G.I = currents
            mon = SpikeMonitor(G)
            st = StateMonitor(G, "v", record=[0])
            runs[name] = (G, mon, st, currents, (I_h1, I_h2), fps[0])
            objects += [G, mon, st]
        sim.run(800 * ms, *objects)
        results = {name: (_trains(mon, 5), np.asarray(st.v[0]), cur, ih, fp0)
                   for name, (G, mon, st, cur, ih, fp0) in runs.items()}
    ih_default = results["izhikevich_fitzhugh_2006"][3]
    assert ih_default[0] == pytest.approx(0.3313, abs=1e-4)
    assert ih_default[1] == pytest.approx(1.4187, abs=1e-4)
    for name, (trains, v_rest, currents, (I_h1, I_h2), fp0) in results.items():
        assert len(trains[0]) == 0
        np.testing.assert_allclose(v_rest, fp0[0], atol=1e-5)  # [initial] is the I = 0 rest
        assert len(trains[1]) == 0, name                        # below I_H1: stable rest
        assert len(trains[2]) >= 5, name                        # above: relaxation spikes
        assert len(trains[3]) >= 5, name                        # below I_H2: still oscillating
        assert np.all(trains[4] < 100), name                    # above I_H2: no sustained spikes
