"""poisson_network (song_2000): inputs, conditions, outcomes; the full run is slow and compiled."""

import numpy as np
import pytest

from biodyn import protocols, stimuli
from brian2 import Hz, ms, second

SMALL = dict(stimulus={"duration": "1 second"},
             network={"n_inputs": 60, "correlated_inputs": 20, "n_inhibitory": 10})


def test_song_conditions_labels_and_outcomes_on_a_small_network():
    r = protocols.run("song_2000", target="numpy", seed=4, **SMALL)
    s = r.summary
    assert [c["labels"] for c in s["conditions"]] == [
        {"input_rate": 10, "correlation": 0}, {"input_rate": 20, "correlation": 0},
        {"input_rate": 40, "correlation": 0}, {"input_rate": 10, "correlation": 0.2}]
    assert s["units"] == {"input_rate": "Hz", "correlation": "1"} and s["score"]["chi"] is None
    w = r.extra["w_final"]
    assert w.shape == (4, 60) and np.all((w >= 0) & (w <= 1))
    # the reported output rate is the neuron's spike count over the last 1 s (rate_window >= run)
    counts = np.array([t.size for t in r.extra["output_spikes"]])
    np.testing.assert_allclose(r.values, counts / 1.0)
    block = r.block
    sig = [x for x in block.segments[0].analogsignals if x.name == "w"][0]
    assert sig.shape[1] == 240 and list(sig.array_annotations["condition"][:2]) == [0, 0]
    assert block.annotations["seed"] == 4 and block.annotations["n_inputs"] == 60


def test_same_seed_same_inputs_other_seed_other_inputs():
    """Everything random is drawn with numpy from the run's seed, before the run (Brian2 draws
    nothing): equal seeds give equal inputs and initial weights, hence equal simulations."""
    from biodyn.protocols import _network

    spec = protocols.load("song_2000").select([3])
    res = protocols.resolve_model(spec)

    def plan(seed):
        _network._DRAWS.clear()
        eng = protocols.ENGINES[spec.engine](spec, res, protocols.RunOptions(
            target="numpy", seed=seed, **SMALL))
        assert not eng.brian_random()
        return eng.plan().data

    a, b, c = plan(5), plan(5), plan(6)
    for key in ("exc", "inh"):
        np.testing.assert_array_equal(a[key][0], b[key][0])
        np.testing.assert_array_equal(a[key][1], b[key][1])
    np.testing.assert_array_equal(a["w0"], b["w0"])
    assert not np.array_equal(a["exc"][1], c["exc"][1]) and not np.array_equal(a["w0"], c["w0"])


def test_poisson_inputs_are_event_driven_with_the_rate_and_fixed_size_arrays():
    spec = protocols.load("song_2000").select([2])  # 40 Hz
    res = protocols.resolve_model(spec)
    eng = protocols.ENGINES[spec.engine](spec, res, protocols.RunOptions(
        target="numpy", seed=1, stimulus={"duration": "20 second"}, network={"n_inputs": 200}))
    plan = eng.plan()
    idx, t = plan.data["exc"]
    real = t < 20.0
    counts = np.bincount(idx[real], minlength=200)
    assert abs(counts.mean() - 800) < 4 * np.sqrt(800 / 200)  # 40 Hz x 20 s, mean over 200 inputs
    assert idx.size == stimuli.capacity(200 * 40 * 20) and np.all(t[~real] >= 20.0)
    # on the grid, one spike per input per step, sorted by step
    bins = stimuli.timebins(t, 1e-4)
    assert np.all(np.diff(bins) >= 0)
    key = bins.astype(np.int64) * 1000 + idx
    assert np.unique(key[real]).size == real.sum()
    # another seed: another draw of the same size (the generated code would be the same)
    eng2 = protocols.ENGINES[spec.engine](spec, res, protocols.RunOptions(
        target="numpy", seed=2, stimulus={"duration": "20 second"}, network={"n_inputs": 200}))
    plan2 = eng2.plan()
    assert plan2.data["exc"][0].size == idx.size and plan2.signature == plan.signature


def test_correlated_inputs_share_spikes_with_the_correlation_coefficient():
    rng = np.random.default_rng(0)
    c, rate, T, dt = 0.3, 20.0, 200.0, 1e-3
    idx, steps = stimuli.correlated_poisson_steps(20, rate * Hz, c, T * second, dt * second, rng)
    counts = np.zeros((20, int(T / dt)), dtype=np.int8)
    counts[idx, steps] = 1
    assert abs(counts.sum(axis=1).mean() / T - rate) < 0.5
    cc = np.corrcoef(counts)[np.triu_indices(20, 1)]
    assert abs(cc.mean() - c) < 0.02  # zero-lag count correlation = c (Kuhn et al. 2003)
    idx0, _ = stimuli.correlated_poisson_steps(20, rate * Hz, 0.0, 1 * second, dt * second, rng)
    assert idx0.size > 0


@pytest.fixture(scope="module")
def song_full():
    """The protocol as published in the catalog: 1000 inputs, 100 s, cpp_standalone, seed 0."""
    return protocols.run("song_2000", target="cpp_standalone", seed=0)


@pytest.mark.slow
@pytest.mark.compiled
def test_song_2000_full_network_bimodal_weights_and_correlated_group_wins(song_full):
    """The outcomes that have settled after the protocol's 100 s (1000 inputs, cpp_standalone).

    The 20 and 40 Hz neurons start far above threshold (140-230 Hz in the first 10 s) and STDP
    brings them to 15-21 Hz within 100 s (the 40 Hz one has settled, the 20 Hz one is still
    falling: about 14 Hz at 500-1000 s); the 10 Hz neuron starts below threshold (1-3 Hz) and
    its weights are still uniform at 100 s: its settled rate is the test below. Until
    2026-12-07 this test compared the 10 Hz transient (1.7 Hz) with the settled 40 Hz rate
    (16.6 Hz) and failed since it was written (0e8ab20: 2.3 vs 15.3 Hz); its bimodality check
    at 10 Hz held for the uniform start (0.4 of a uniform draw lies in (0.3, 0.7))."""
    r = song_full
    w = r.extra["w_final"]
    near_bounds = np.mean((w < 0.1) | (w > 0.9), axis=1)
    assert near_bounds[2] > 0.6  # 40 Hz: most weights pushed to 0 or g_max
    assert near_bounds[1] > 0.35  # 20 Hz: leaving the middle (a uniform draw gives 0.2)
    corr, uncorr = r.extra["correlated_weight_t"][3, -1], r.extra["uncorrelated_weight_t"][3, -1]
    assert corr > 0.8 and corr - uncorr > 0.3
    rates_in, rates_out = r.extra["input_rates"][:3], r.values[:3]
    assert rates_out[2] / rates_out[1] < rates_in[2] / rates_in[1]  # 20 -> 40 Hz: 21.2 -> 16.6 Hz
    # the transients say so: 10 Hz, 2.5 then 1.7 Hz over 80-90 and 90-100 s, too few spikes to
    # tell; 20 Hz, 29, 26, 24, 22.5 and 21 Hz over the last five 10-s windows (-31 %, 3.9 SE)
    assert r.settled.tolist() == [False, False, True, True] and r.summary["unsettled"] == [0, 1]


@pytest.mark.slow
@pytest.mark.compiled
def test_song_2000_settled_output_rate_grows_much_less_than_input_rate(song_full):
    """Song et al. (2000): with additive STDP the neuron's settled output rate depends only
    weakly on the input rate. The 10 Hz condition settles in about 1000 s (it starts below
    threshold, and STDP's changes scale with the pairs of pre and post spikes): at 1000 s it is
    still rising (seed 0: 11.3 then 12.5 Hz over 600-800 and 800-1000 s, 3.7 counting errors
    apart: not settled), so it is run alone for 2000 s and its rate taken over the last 200 s
    (11.7 Hz; 11.4-13.2 Hz over seeds 0-2, each settled by the two-window check), against the
    40 Hz neuron's rate after the protocol's 100 s (16.6 Hz, settled): the input rate x4, the
    output rate x1.4. Its weights have become bimodal: both bounds populated. The notes give
    this run."""
    from biodyn.protocols import _network

    try:
        r10 = protocols.run("song_2000", target="cpp_standalone", seed=0, select=[0],
                            stimulus={"duration": "2000 second", "rate_window": "200 second"})
    finally:
        _network._DRAWS.clear()  # 20 M input spikes
    assert r10.extra["input_rates"][0] == 10 and song_full.extra["input_rates"][2] == 40
    assert r10.settled.tolist() == [True] and song_full.settled[2]
    out10, out40 = r10.values[0], song_full.values[2]
    assert 5 < out10 and out40 / out10 < 2  # input x4
    w = r10.extra["w_final"][0]
    assert np.mean(w > 0.9) > 0.25 and np.mean(w < 0.1) > 0.15 and np.mean((w > 0.3) & (w < 0.7)) < 0.25


def test_song_10hz_neuron_starts_below_threshold_and_20hz_above():
    """Why the 10 Hz condition takes ~10x longer to settle than 20 and 40 Hz: with the initial
    weights (uniform in [0, g_max], mean g_max/2) the mean conductances g_e = n r <w> tau_e and
    g_i = n_i r_i g_inh tau_i put the free membrane potential
    v = (E_L + g_e E_e + g_i E_i) / (1 + g_e + g_i) at -56.0 mV for 10 Hz inputs, below
    v_th = -54 mV (fluctuation-driven firing, 1-3 Hz), and at -46.7 mV for 20 Hz (mean-driven,
    over 100 Hz). Closed form from the protocol's and the neuron's numbers."""
    import re

    from biodyn import build
    from brian2 import mV

    spec = protocols.load("song_2000")
    net, stim = spec.network, spec.stimulus
    assert net["initial_weights"] == "uniform"
    ns = build.resolve(net["neuron"], net["neuron_params"]).namespace
    g_max = float(net["g_max"])
    g_inh = float(re.fullmatch(r"g_i_post \+= ([0-9.]+)", net["inhibitory_transmit"]).group(1))
    r_inh = float(stim["inhibitory_rate"].split()[0])
    g_i = net["n_inhibitory"] * r_inh * g_inh * float(ns["tau_i"])

    def v_free(rate):
        g_e = net["n_inputs"] * rate * 0.5 * g_max * float(ns["tau_e"])
        return (ns["E_L"] + g_e * ns["E_e"] + g_i * ns["E_i"]) / (1 + g_e + g_i)

    assert abs(v_free(10) / mV - (-56.0)) < 0.05 and v_free(10) < ns["v_th"]
    assert abs(v_free(20) / mV - (-46.67)) < 0.05 and v_free(20) > ns["v_th"]


def test_song_notes_give_a_python_call_for_a_smaller_network_that_runs():
    """The notes suggested network = {"n_inputs": 100}, which no CLI command takes and which the
    engine refuses (200 correlated inputs > 100). The call they now give is accepted as written;
    it is run here with a shorter duration (0.2 s) to stay cheap."""
    import ast
    import re

    notes = protocols.load("song_2000").notes
    (call,) = re.findall(r'biodyn\.protocols\.run\("song_2000", (.*)\)\s*$', notes, re.M)
    kwargs = {k: ast.literal_eval(v) for k, v in re.findall(r'(\w+)=("[^"]*"|\{[^}]*\})', call)}
    assert kwargs["network"]["n_inputs"] == 100 and kwargs["target"] == "numpy"
    kwargs["stimulus"] = {**kwargs["stimulus"], "duration": "0.2 second"}
    r = protocols.run("song_2000", seed=0, **kwargs)
    assert r.extra["w_final"].shape == (4, 100)


@pytest.mark.parametrize("select", [[0], [3], None])
def test_plan_inputs_are_the_seeds_poisson_draws_merged_padded_and_binned(select):
    """A plan's inputs, rebuilt from the public draws: per condition its excitatory trains
    (the correlated subgroup by the mixture construction, then the other inputs) and its
    inhibitory trains, from the run's seed in that order, then the initial weights; the spikes
    sorted by step then neuron, times = steps * dt, padded by stimuli.pad, bins = timebins.
    One condition (drawn straight into the padded arrays), a correlated one, all four."""
    from biodyn.protocols import _network

    spec = protocols.load("song_2000")
    spec = spec.select(select) if select else spec
    res = protocols.resolve_model(spec)
    net = {"n_inputs": 60, "correlated_inputs": 20, "n_inhibitory": 10}
    _network._DRAWS.clear()
    eng = protocols.ENGINES[spec.engine](spec, res, protocols.RunOptions(
        target="numpy", seed=9, stimulus={"duration": "7 second"}, network=net))
    d = eng.plan().data
    dt, duration, n_in, n_corr, n_inh = 1e-4, 7.0, 60, 20, 10
    rng = np.random.default_rng(9)
    exc, inh = ([], []), ([], [])
    for k, (rate, c) in enumerate(d["conditions"]):
        if c > 0:
            i1, s1 = stimuli.correlated_poisson_steps(n_corr, rate * Hz, c, duration * second,
                                                      dt * second, rng)
            i2, s2 = stimuli.poisson_steps(np.full(n_in - n_corr, rate) * Hz, duration * second,
                                           dt * second, rng)
            idx, st = np.concatenate([i1, i2 + n_corr]), np.concatenate([s1, s2])
        else:
            idx, st = stimuli.poisson_steps(np.full(n_in, rate) * Hz, duration * second,
                                            dt * second, rng)
        exc[0].append(idx + k * n_in)
        exc[1].append(st)
        idx, st = stimuli.poisson_steps(np.full(n_inh, 10.0) * Hz, duration * second, dt * second,
                                        rng)
        inh[0].append(idx + k * n_inh)
        inh[1].append(st)
    for side, (idx, st) in (("exc", exc), ("inh", inh)):
        idx, st = np.concatenate(idx), np.concatenate(st)
        order = np.lexsort((idx, st))
        size = d[side][0].size
        ref_i, ref_t = stimuli.pad(idx[order], st[order] * dt, size, duration, dt)
        assert np.array_equal(d[side][0], ref_i) and np.array_equal(d[side][1], ref_t)
        assert d[side][0].dtype == np.int32 and d[f"{side}_bins"].dtype == np.int32
        assert np.array_equal(d[f"{side}_bins"], stimuli.timebins(ref_t, dt))
        if side == "exc":
            assert d["n_exc_spikes"] == idx.size
    lo, hi = d["bounds"]
    assert np.array_equal(d["w0"], rng.uniform(lo, hi, len(d["conditions"]) * n_in))


# -- settledness of the output rate (_network.rate_settledness) -------------------------------

def _poisson_train(rate, t0, t1, rng):
    n = rng.poisson(rate * (t1 - t0))
    return np.sort(rng.uniform(t0, t1, n))


def test_rate_settledness_known_answers_constant_halving_sparse_and_short_runs():
    """Known answers: a constant Poisson rate is settled (flagged less often than the two-sided
    3-SE false-alarm rate of each test, 0.27 %); a rate that falls from 150 to 50 Hz is not
    ("falling"), nor one that drifts by 20 % over five windows (the trend); 1 Hz is too few
    spikes to tell; a run shorter than two windows cannot be tested."""
    from biodyn.protocols._network import rate_settledness

    rng = np.random.default_rng(0)
    T, W = 20.0, 5.0
    steady = [_poisson_train(100.0, 0, T, rng) for _ in range(4000)]
    got = rate_settledness(steady, T, W)
    flagged = np.mean([not g["settled"] for g in got])
    assert flagged < 0.01  # expected 0.0027 (4000 trains: 11 +- 3)
    g = got[0]
    t = steady[0]
    assert g["spikes"] == np.sum(t >= T - W) and g["spikes_before"] == np.sum((t >= T - 2 * W) & (t < T - W))
    assert g["rate_hz"] == g["spikes"] / W and g["rate_before_hz"] == g["spikes_before"] / W
    # a rate falling linearly from 150 to 50 Hz: 75 then 62.5 Hz mean over the last two windows
    u = rng.uniform(0, T, rng.poisson(100 * T * 1.5))
    falling = np.sort(u[rng.uniform(0, 150, u.size) < 150 - 5 * u])
    (f,) = rate_settledness([falling], T, W)
    assert not f["settled"] and f["z"] < -3 and "falling" in f["reason"]
    # a slow drift two adjacent windows miss: 100, 95, 90, 85, 80 Hz over five 10-s windows;
    # the last two are 1.2 SE and 6 % apart, the trend over the five is -5.3 SE and -22 % of the
    # mean rate (90 Hz)
    slow = np.concatenate([np.sort(rng.uniform(10 * i, 10 * (i + 1), int(round(10 * r))))
                           for i, r in enumerate((100, 95, 90, 85, 80))])
    (s,) = rate_settledness([slow], 50.0, 10.0)
    assert abs(s["z"]) < 3 and s["trend_windows"] == 5
    assert np.isclose(s["trend_z"], -50 / np.sqrt(900 / 10)) and np.isclose(s["trend_change"], -200 / 900)
    assert not s["settled"] and "falling over the last 5 windows by 22 %" in s["reason"]
    # ... and the same shape, 10 times smaller, is within the 15 % tolerance: settled
    small = np.concatenate([np.sort(rng.uniform(10 * i, 10 * (i + 1), int(round(10 * r))))
                            for i, r in enumerate((100, 99.5, 99, 98.5, 98))])
    assert rate_settledness([small], 50.0, 10.0)[0]["settled"]
    (sparse,) = rate_settledness([_poisson_train(1.0, 0, T, rng)], T, W)
    assert not sparse["settled"] and "too few spikes" in sparse["reason"]
    (short,) = rate_settledness([steady[1]], 8.0, W)
    assert not short["settled"] and short["rate_before_hz"] is None and "shorter than two" in short["reason"]


#: A small song_2000 neuron that fires at about 200 Hz (100 inputs at 20 Hz, g_max x10).
FAST = dict(select=[1], network={"n_inputs": 100, "correlated_inputs": 0, "n_inhibitory": 20,
                                 "g_max": "0.15"},
            stimulus={"duration": "1 second", "rate_window": "0.5 second"})


def test_song_non_plastic_neuron_reports_its_output_rate_settled():
    """With A+ = A- = 0 (A_minus = 1.05*A_plus) the weights stay where they start and the
    output is stationary: the two windows agree, the summary says settled."""
    r = protocols.run("song_2000", target="numpy", seed=0, overrides={"A_plus": "0"}, **FAST)
    np.testing.assert_array_equal(r.extra["w_final"], r.extra["w0"])  # nothing learnt
    c = r.summary["conditions"][0]
    assert r.settled.tolist() == [True] and c["settled"] is True and r.summary["unsettled"] == []
    s = c["settling"]
    t = np.asarray(r.extra["output_spikes"][0])
    assert s["spikes_before"] == np.sum((t >= 0) & (t < 0.5)) and s["spikes"] + s["spikes_before"] >= 144
    assert s["rate_hz"] == c["value"] and s["window_s"] == 0.5
    assert not any(n.startswith("NOT SETTLED") for n in r.summary.get("notes", []))


def test_song_depressing_stdp_transient_reports_not_settled():
    """Pure depression (A+ = 0, A- = 0.005) from weights at g_max: weights can only fall, and
    the output rate falls from about 410 to about 200 Hz in 1 s (5-6 counting errors between
    the halves, seeds 0-2): a transient, reported as not settled in the summary, the result,
    a note naming the condition and the Block."""
    r = protocols.run("song_2000", target="numpy", seed=0, overrides={"A_plus": "0", "A_minus": "0.005"},
                      **{**FAST, "network": {**FAST["network"], "initial_weights": "1"}})
    c = r.summary["conditions"][0]
    assert r.settled.tolist() == [False] and r.summary["unsettled"] == [0]
    assert c["settling"]["z"] < -3 and c["settling"]["rate_before_hz"] > 1.5 * c["value"]
    assert any(n.startswith("NOT SETTLED in the run: input_rate=20 Hz, correlation=0")
               for n in r.summary["notes"])
    import json

    assert json.loads(r.block.annotations["settled"]) == [False]  # neo annotations: JSON text


@pytest.mark.slow
@pytest.mark.compiled
def test_song_2000_first_30_seconds_of_the_20_hz_condition_are_not_settled():
    """The 20 Hz neuron of the protocol as published starts far above threshold and STDP
    brings its rate down (notes: 140-230 Hz in the first 10 s): over 10-20 s and 20-30 s it
    fires 78-88 then 52-57 Hz (seeds 0-2, 7-8 counting errors apart): not settled."""
    r = protocols.run("song_2000", target="cpp_standalone", seed=0, select=[1],
                      stimulus={"duration": "30 second", "rate_window": "10 second"})
    s = r.summary["conditions"][0]["settling"]
    assert r.settled.tolist() == [False] and s["z"] < -3 and s["rate_before_hz"] > s["rate_hz"] + 15
