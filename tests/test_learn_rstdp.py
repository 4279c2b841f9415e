"""The rstdp learner: reward-modulated STDP from the catalog spec, tied to its Brian2 simulation."""

import numpy as np
import pytest

pytest.importorskip("jax")


def _brian_weight_change(pre, post, rpe, dt, rule_params=None, variants=None):
    """Delta w of every synapse (P, H) from Brian2 running the catalog's rstdp spec (numpy target):
    one trial, a modulator event of d_release*rpe at t_R = T dt, w read as its exact limit."""
    import brian2 as b2

    from biodyn import build

    T, P = pre.shape
    H = post.shape[1]
    r = build.resolve("rstdp", rule_params, variants=variants)
    d_release = float(r.namespace["d_release"])
    over = {"d_release": repr(d_release * rpe), "w_min": "-1e9", "w_max": "1e9"}
    net = b2.Network()
    ti, ii = np.nonzero(pre)
    G_pre = b2.SpikeGeneratorGroup(P, ii, ti * dt * b2.second, dt=dt * b2.second)
    ti, jj = np.nonzero(post)
    G_post = b2.SpikeGeneratorGroup(H, jj, ti * dt * b2.second, dt=dt * b2.second)
    R = b2.SpikeGeneratorGroup(1, [0], [T * dt] * b2.second, dt=dt * b2.second)
    S = build.synapses("rstdp", G_pre, G_post, rule_params, overrides=over, variants=variants, connect=True,
                       dt=dt * b2.second, init={"w": 0.0})
    M = build.modulator(R, S, dt=dt * b2.second)
    net.add(G_pre, G_post, R, S, M)
    old = b2.prefs.codegen.target
    b2.prefs.codegen.target = "numpy"
    try:
        net.run((T + 1) * dt * b2.second, namespace={})
    finally:
        b2.prefs.codegen.target = old
    tau_c, tau_d, tau_s = (float(r.namespace[k]) for k in ("tau_c", "tau_d", "tau_s"))
    tau_cd = 1.0 / (1.0 / tau_c + 1.0 / tau_d)
    w = np.asarray(S.w[:]) + np.asarray(S.c[:]) * np.asarray(S.d[:]) * tau_cd / tau_s  # exact limit t -> inf
    out = np.zeros((P, H))
    out[np.asarray(S.i[:]), np.asarray(S.j[:])] = w
    return out


@pytest.mark.parametrize("pairing", ["all_to_all", "nearest"])
def test_rstdp_learner_weight_change_equals_brian2_simulation_of_the_catalog_rstdp_synapse(pairing):
    import brian2 as b2
    import jax

    from biodyn.learn._rstdp import read_rule, weight_change

    rng = np.random.default_rng(7)
    T, P, H, dt = 80, 5, 4, 1e-3
    pre = (rng.random((T, P)) < 0.12).astype(float)
    post = (rng.random((T, H)) < 0.10).astype(float)
    post[10] = pre[10] = 1.0  # coinciding spikes: pre before post
    variants = {"pairing": pairing}
    rule = read_rule("rstdp", variants=variants)
    assert rule.pairing == pairing and rule.parameter_set == "izhikevich_2007"
    for rpe in (0.7, -1.3):
        with jax.enable_x64(True):
            dw = np.asarray(weight_change(rule, pre[:, None], post[:, None], np.array([rpe]), dt))
        ref = _brian_weight_change(pre, post, rpe, dt, variants=variants)
        assert np.abs(ref).max() > 1.0  # a real change, both signs
        np.testing.assert_allclose(dw, ref, rtol=0, atol=1e-12 * np.abs(ref).max())


def test_rstdp_baseline_is_the_running_average_of_earlier_trials_rewards():
    from biodyn.learn._rstdp import Baseline, trial_rewards

    b = Baseline(n=4)
    np.testing.assert_allclose(b.errors([1.0, 1.0, -1.0]), [1.0, 0.75, -1.4375])  # baselines 0, 1/4, 7/16
    assert b.value == 0.25 + 0.75 / 4 - 1.4375 / 4
    frozen = Baseline(n=4, value=0.5)
    np.testing.assert_allclose(frozen.errors([1.0], update=False), [0.5])
    assert frozen.value == 0.5
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(trial_rewards("accuracy", logits, np.array([0, 1]), None, "cross_entropy"), [1, -1])


def test_rstdp_rule_reader_rejects_a_synapse_spec_without_a_modulator_naming_the_block():
    from biodyn.errors import SpecError
    from biodyn.learn._rstdp import read_rule

    with pytest.raises(SpecError, match="on_modulator|c \\+= -A_minus"):
        read_rule("stdp_pair")


def test_rule_params_is_an_error_for_learners_other_than_rstdp():
    from biodyn.errors import SpecError
    from biodyn.learn._snn import train_snn

    with pytest.raises(SpecError, match="rule_params.*--learner rstdp"):
        train_snn("spike_patterns", learner="bptt", rule_params="izhikevich_2007", epochs=0)


@pytest.mark.slow  # long; moved out of the default run (CI budget)
def test_biodyn_train_learner_rstdp_records_the_rule_and_its_alignment_with_bptt(tmp_path):
    import json

    from biodyn import catalog
    from biodyn.cli import main

    import re

    text = catalog.find("spike_patterns", "tasks").read_text()
    text = re.sub(r"train = \d+", "train = 16", re.sub(r"test = \d+", "test = 8", text))
    spec = tmp_path / "small_spike_patterns.toml"
    spec.write_text(text)
    out = tmp_path / "out"
    code = main(["-q", "train", str(spec), "--net", "lif", "--learner", "rstdp", "--hidden", "10", "--epochs", "2",
                 "--batch-size", "8", "--set", "n_steps=40", "--seed", "1", "--out", str(out), "--brian-check", "0",
                 "--rule-params", "izhikevich_2007", "--json", str(tmp_path / "run.json")])
    assert code == 0
    doc = json.loads((tmp_path / "run.json").read_text())
    c = doc["config"]
    assert c["learner"] == "rstdp" and c["rule"]["parameter_set"] == "izhikevich_2007"
    assert c["rule"]["values_si"]["tau_c"] == 1.0 and c["rule"]["pairing"] == "all_to_all"
    for key in ("alignment", "alignment_rule"):
        a = doc["curves"][key]
        assert len(a) == 3 and a[0] is None and all(-1 <= v <= 1 for v in a[1:])
    assert (out / "small_spike_patterns-lif-rstdp-h10-s1.png").is_file()


def test_rstdp_reward_on_a_regression_task_is_minus_each_trials_mse_over_its_scored_steps():
    from biodyn.learn._rstdp import trial_rewards

    y = np.zeros((2, 3, 1))
    t = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 4.0]])[..., None]
    mask = np.array([[True, True, False], [False, True, True]])
    # trial 0: (1 + 4)/2 over its two scored steps; trial 1: (0 + 16)/2
    np.testing.assert_allclose(trial_rewards("r2", y, t, mask, "mse"), [-2.5, -8.0])
    np.testing.assert_allclose(trial_rewards("sign_accuracy", y, t, mask, "mse"), [-2.5, -8.0])
