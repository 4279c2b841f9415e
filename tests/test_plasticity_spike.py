"""Spike-based rules in Brian2 (numpy target) equal independent numpy references to 1e-9.

One Brian2 run holds every rule and variant: each scripted pattern (pairs at both orders,
triplets, quadruplets, simultaneous spikes, bursts, Poisson trains) is one synapse between
its own presynaptic and postsynaptic SpikeGeneratorGroup neurons, and every rule is one
Synapses object on the same generators. The references (tests/plasticity_reference.py) share
no code with the specs.
"""

import numpy as np
import pytest

import plasticity_reference as ref

DT_MS = 0.5
W0 = 0.45

PAIR_OVERRIDES = {"tau_plus": "16.8 ms", "tau_minus": "33.7 ms", "A_plus": "0.02",
                  "A_minus": "0.021", "w_min": "0.1", "w_max": "1", "mu_plus": "0.4",
                  "mu_minus": "0.7"}
PAIRINGS = ("all_to_all", "nearest", "nearest_pre_centred", "nearest_restricted")
WEIGHTS = ("additive", "multiplicative", "gutig", "van_rossum")
# Every option of each axis on the numpy target (all 16 combinations run on the compiled
# target, tests/test_plasticity_compiled.py): Brian2's code generation per Synapses object
# is what costs time here.
PAIR_COMBINATIONS = ([(p, "additive") for p in PAIRINGS]
                     + [("all_to_all", w) for w in WEIGHTS[1:]]
                     + [("nearest_restricted", "gutig"), ("nearest_pre_centred", "van_rossum")])
TRIPLET_SETS = ("visual_all_to_all_full", "hippocampal_nearest_full")
REWARDS_MS = (45.0, 150.0, 262.0)


def _floats(resolved):
    from brian2.units.fundamentalunits import Quantity

    return {k: float(np.asarray(v)) if isinstance(v, Quantity) else float(v)
            for k, v in resolved.namespace.items()}


@pytest.fixture(scope="module")
def spike_run():
    from brian2 import StateMonitor, ms, second

    import biodyn
    from biodyn import build, stimuli

    patterns = ref.scripted_patterns(DT_MS, poisson_ms=260.0, rate_hz=40.0)
    names = list(patterns)
    n = len(names)
    pre_trains = [patterns[k][0] for k in names]
    post_trains = [patterns[k][1] for k in names]
    end = max(max([t.max() for t in pre_trains + post_trains if t.size]), REWARDS_MS[-1] * 1e-3)
    out = {"names": names, "patterns": patterns, "syn": {}, "resolved": {}}
    with biodyn.Simulation("numpy", dt=DT_MS * ms, seed=1) as sim:
        pre = stimuli.generator([t * second for t in pre_trains], DT_MS * ms, name="pre")
        post = stimuli.generator([t * second for t in post_trains], DT_MS * ms, name="post")
        reward = stimuli.generator([np.array(REWARDS_MS) * 1e-3 * second], DT_MS * ms, name="reward")
        objects = [pre, post, reward]

        def add(key, model, params=None, **kw):
            syn = biodyn.synapses(model, pre, post, params, connect="one_to_one",
                                  name=f"s_{len(out['syn'])}", **kw)
            out["syn"][key] = syn
            out["resolved"][key] = build.resolved_of(syn)
            objects.append(syn)
            return syn

        for pairing, weight in PAIR_COMBINATIONS:
            add(("pair", pairing, weight), "stdp_pair", overrides=PAIR_OVERRIDES,
                variants={"pairing": pairing, "weight": weight}, init={"w": W0})
        for pset in TRIPLET_SETS:
            add(("triplet", pset), "stdp_triplet", pset, init={"w": 1.0})
        add(("vogels",), "istdp_vogels_2011", overrides={"eta": "0.05"}, init={"w": 1.0})
        for pairing in ("all_to_all", "nearest"):
            syn = add(("rstdp", pairing), "rstdp", overrides={"w_max": "1e6", "tau_s": "1 second"},
                      variants={"pairing": pairing}, init={"w": 1.0})
            objects.append(build.modulator(reward, syn))
        for pset in ("depressing", "facilitating"):
            syn = add(("stp", pset), "stp_tsodyks_markram", pset)
            mon = StateMonitor(syn, "r", record=np.arange(n), name=f"mon_r_{pset}", when="end")
            out[("stp_monitor", pset)] = mon
            objects.append(mon)
        sim.run(end * second + 5 * ms, *objects)
        for key, syn in out["syn"].items():
            out[key] = {v: np.array(getattr(syn, v)[:]) for v in syn.variables
                        if not v.startswith("_") and v in ("w", "c", "d", "r")}
        for pset in ("depressing", "facilitating"):
            mon = out.pop(("stp_monitor", pset))
            out[("stp_r", pset)] = np.array(mon.r[:]), np.array(mon.t[:])
    return out


@pytest.mark.parametrize("pairing,weight", PAIR_COMBINATIONS)
def test_pair_stdp_equals_pair_sum_reference(spike_run, pairing, weight):
    key = ("pair", pairing, weight)
    p = _floats(spike_run["resolved"][key])
    got = spike_run[key]["w"] - W0
    want = []
    for name in spike_run["names"]:
        pre, post = spike_run["patterns"][name]
        want.append(ref.pair_stdp(pre, post, pairing=pairing, weight=weight, w0=W0,
                                  **{k: p[k] for k in ("tau_plus", "tau_minus", "A_plus", "A_minus",
                                                       "w_min", "w_max", "mu_plus", "mu_minus")}) - W0)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15)
    assert np.count_nonzero(np.abs(want) > 1e-4) >= 10  # the patterns do move the weight


def test_pairing_schemes_differ_on_the_same_trains(spike_run):
    ws = {p: spike_run[("pair", p, "additive")]["w"] for p in PAIRINGS}
    for a in PAIRINGS:
        for b in PAIRINGS:
            if a < b:
                assert np.max(np.abs(ws[a] - ws[b])) > 1e-3, (a, b)


@pytest.mark.parametrize("pset", TRIPLET_SETS)
def test_triplet_stdp_equals_detector_sum_reference(spike_run, pset):
    key = ("triplet", pset)
    p = _floats(spike_run["resolved"][key])
    pairing = spike_run["resolved"][key].variants["pairing"]
    got = spike_run[key]["w"] - 1.0
    want = [ref.triplet_stdp(*spike_run["patterns"][name], pairing=pairing, w0=1.0,
                             **{k: p[k] for k in ("tau_plus", "tau_x", "tau_minus", "tau_y",
                                                  "A2_plus", "A3_plus", "A2_minus", "A3_minus",
                                                  "w_min", "w_max")}) - 1.0
            for name in spike_run["names"]]
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15)
    assert np.count_nonzero(want) >= 10


def test_triplet_reads_slow_trace_before_its_own_spike(spike_run):
    # post-pre-post: the second post spike's potentiation carries A3+ * exp(-10 ms/tau_y)
    # from the first post spike only; pre-post-pre's second pre carries A3- with r2 from the
    # first pre only. Checked on the all-to-all visual full set against the closed form.
    key = ("triplet", "visual_all_to_all_full")
    p = _floats(spike_run["resolved"][key])
    i = spike_run["names"].index("post_pre_post")
    e = np.exp
    dw = (-e(-5e-3 / p["tau_minus"]) * p["A2_minus"]
          + e(-5e-3 / p["tau_plus"]) * (p["A2_plus"] + p["A3_plus"] * e(-10e-3 / p["tau_y"])))
    assert spike_run[key]["w"][i] - 1.0 == pytest.approx(dw, rel=1e-9)


def test_vogels_istdp_equals_reference(spike_run):
    key = ("vogels",)
    p = _floats(spike_run["resolved"][key])
    got = spike_run[key]["w"] - 1.0
    want = [ref.vogels(*spike_run["patterns"][name], w0=1.0,
                       **{k: p[k] for k in ("tau", "eta", "rho0", "w_min", "w_max")}) - 1.0
            for name in spike_run["names"]]
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("pairing", ["all_to_all", "nearest"])
def test_rstdp_weight_eligibility_and_dopamine_equal_reference(spike_run, pairing):
    key = ("rstdp", pairing)
    p = _floats(spike_run["resolved"][key])
    names = spike_run["names"]
    rewards = np.array(REWARDS_MS) * 1e-3
    got_w, got_c, got_d = (spike_run[key][v] for v in ("w", "c", "d"))
    for k, name in enumerate(names):
        w, c, d = ref.rstdp(*spike_run["patterns"][name], rewards, pairing=pairing, w0=1.0,
                            **{q: p[q] for q in ("tau_plus", "tau_minus", "A_plus", "A_minus",
                                                 "tau_c", "tau_d", "tau_s", "d_release",
                                                 "w_min", "w_max")})
        assert got_w[k] - 1.0 == pytest.approx(w - 1.0, rel=1e-9, abs=1e-15), name
        assert got_c[k] == pytest.approx(c, rel=1e-9, abs=1e-15), name
        assert got_d[k] == pytest.approx(d, rel=1e-9, abs=1e-15), name
    assert np.count_nonzero(np.abs(got_w - 1.0) > 1e-6) >= 10


def test_rstdp_closed_form_equals_quadrature_of_c_times_d():
    """The exact advance w += c d tau_cd/tau_s (1 - exp(-dt/tau_cd)) against numerical quadrature."""
    from scipy.integrate import quad

    tau_c, tau_d, tau_s = 1.0, 0.2, 1e-3
    c0, d0, T = 0.3, 0.5, 0.7
    exact = ref.rstdp([], [], [], pairing="all_to_all", tau_plus=0.02, tau_minus=0.02, A_plus=1,
                      A_minus=1.5, tau_c=tau_c, tau_d=tau_d, tau_s=tau_s, d_release=0.5,
                      w_min=-1e9, w_max=1e9, w0=0.0)
    assert exact[0] == 0.0
    numeric, _ = quad(lambda t: c0 * np.exp(-t / tau_c) * d0 * np.exp(-t / tau_d) / tau_s, 0, T,
                      epsabs=1e-13, epsrel=1e-13)
    tau_cd = 1 / (1 / tau_c + 1 / tau_d)
    assert c0 * d0 * tau_cd / tau_s * (1 - np.exp(-T / tau_cd)) == pytest.approx(numeric, rel=1e-10)


@pytest.mark.parametrize("pset", ["depressing", "facilitating"])
def test_tsodyks_markram_release_per_spike_equals_recursion(spike_run, pset):
    p = _floats(spike_run["resolved"][("stp", pset)])
    r, t = spike_run[("stp_r", pset)]
    steps = np.round(t / (DT_MS * 1e-3)).astype(int)
    for k, name in enumerate(spike_run["names"]):
        pre, _ = spike_run["patterns"][name]
        want = ref.tsodyks_markram(pre, U=p["U"], tau_rec=p["tau_rec"],
                                   tau_facil=p.get("tau_facil") if pset == "facilitating" else None)
        idx = np.searchsorted(steps, np.round(pre / (DT_MS * 1e-3)).astype(int))
        np.testing.assert_allclose(r[k, idx], want, rtol=1e-9, atol=1e-15)


def test_tsodyks_markram_depressing_first_spike_releases_U_and_depresses():
    r = ref.tsodyks_markram([0.0, 0.01], U=0.5, tau_rec=0.8)
    x1 = 1 - (1 - 0.5) * np.exp(-0.01 / 0.8)
    assert r[0] == 0.5 and r[1] == pytest.approx(0.5 * x1)
