"""The trained spiking network's dynamics in Brian2: λmax by two copies and firing statistics."""

import numpy as np
import pytest

from biodyn.snn import brian_run, read
from biodyn.snn._chaos import firing_statistics, network_dynamics, tile_inputs


def _inputs(M=12, H=16, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.random((3, 80, M)) < 0.05).astype(float)
    W_in = rng.normal(1.0, 1.0, (M, H)) * 3e-9 / np.sqrt(M)
    return rng, x, W_in


def _rates(r):
    return 1.0 / float(r.namespace["tau_m"]), 1.0 / float(r.namespace["tau_syn"])


def test_silent_network_exponent_is_the_slowest_subthreshold_decay_minus_one_over_tau_m():
    """No input, no spike: the network is linear, v decays with tau_m and I_syn with tau_syn
    (5 ms < tau_m): lambda_max = -1/tau_m exactly (Brian2's exact integration)."""
    r = read("lif", dt="1 ms")
    _, x, W_in = _inputs()
    d = network_dynamics(r, 0 * W_in, np.zeros((16, 16)), x, duration=0.5, transient=0.1, d0_finite=None)
    assert d["firing"]["rate_hz"] == 0
    assert d["lambda_max_per_s"] == pytest.approx(-_rates(r)[0], rel=1e-6)


def test_zero_recurrent_weights_driven_network_is_not_chaotic():
    """Without recurrence, each LIF neuron is a driven leaky integrator: lambda_max <= 0 within
    its SE — between -1/tau_syn (resets erase v's difference, the current's remains) and
    -1/tau_m (no reset)."""
    r = read("lif", dt="1 ms")
    _, x, W_in = _inputs()
    d = network_dynamics(r, W_in, np.zeros((16, 16)), x, duration=0.6, transient=0.1)
    lam, se = d["lambda_max_per_s"], d["lambda_max_se_per_s"]
    slow, fast = _rates(r)
    assert d["firing"]["rate_hz"] > 20 and d["merged_intervals"] == 0
    assert -fast - 3 * se <= lam <= -slow + 3 * se
    assert lam + 2 * se < 0
    # finite perturbations move spikes, but without recurrence nothing carries a moved spike on
    lf, sf = d["lambda_finite_per_s"], d["lambda_finite_se_per_s"]
    assert d["d0_finite"] == 1.0 and (lf is None or lf <= 2 * sf)


def test_firing_statistics_match_a_direct_computation_on_the_spikes():
    r = read("lif", dt="1 ms")
    _, x, W_in = _inputs()
    n_steps, start, H, dt = 400, 50, 16, 1e-3
    stim = tile_inputs(x, n_steps)
    steps, chan = np.nonzero(stim)
    out = brian_run(r, W_in, None, chan, steps, n_steps)
    st = firing_statistics(out["i"], out["n"], H, n_steps, dt, start=start, window=0.05)
    keep = out["n"] >= start
    i, n = out["i"][keep], out["n"][keep]
    assert st["rate_hz"] == pytest.approx(len(i) / (H * (n_steps - start) * dt))
    cvs = []
    for k in range(H):
        t = n[i == k] * dt
        if len(t) >= 3:
            isi = np.diff(np.sort(t))
            cvs.append(np.std(isi) / np.mean(isi))
    assert cvs and st["cv_isi"] == pytest.approx(np.mean(cvs))
    # Fano: counts in 7 windows of 50 steps
    fanos = []
    for k in range(H):
        c = np.array([np.sum((i == k) & (n >= start + 50 * w) & (n < start + 50 * (w + 1))) for w in range(7)])
        if c.mean() > 0:
            fanos.append(c.var() / c.mean())
    assert st["fano"] == pytest.approx(np.mean(fanos))


def test_firing_statistics_of_a_clock_have_zero_cv_and_fano():
    # neuron 0 spikes every 10 steps: CV 0, counts 5 per 50-step window: Fano 0
    n = np.arange(0, 1000, 10)
    st = firing_statistics(np.zeros(len(n), int), n, 2, 1000, 1e-3, window=0.05)
    assert st["rate_hz"] == pytest.approx(100 / (2 * 1.0))
    assert st["cv_isi"] == pytest.approx(0.0) and st["fano"] == pytest.approx(0.0)
    assert st["silent_fraction"] == 0.5


@pytest.mark.slow  # long; moved out of the default run (CI budget)
def test_train_job_document_holds_the_trained_networks_dynamics(tmp_path):
    pytest.importorskip("jax")
    from biodyn import jobs

    from test_learn_snn import small_task_file

    spec = small_task_file(tmp_path, "spike_patterns", 16, 8)
    r = jobs.train_snn(str(spec), learner="readout", hidden=8, epochs=1, batch_size=8, n_steps=40, brian_check=0,
                       out=tmp_path / "o", figure=False, dynamics_duration=0.3, dynamics_transient=0.05)
    d = r.summary["dynamics"]
    assert d["duration_s"] == 0.3 and d["seed"] == 0 and d["target"] == "numpy"
    assert d["lambda_max_per_s"] is None or d["lambda_max_per_s"] <= 0  # d0 -> 0 on a time grid
    assert d["firing"]["duration_s"] == pytest.approx(0.3) and set(d["scales"]) == {"v", "I_syn"}


@pytest.mark.slow  # two trainings and 2 s of two-copy Brian2 runs
def test_biodyn_train_net_lif_json_holds_the_trained_networks_lambda_max_and_firing(tmp_path):
    import json

    pytest.importorskip("jax")
    from biodyn.cli import main

    from test_learn_snn import small_task_file

    spec = small_task_file(tmp_path, "spike_patterns", 16, 8)
    args = ["-q", "train", str(spec), "--net", "lif", "--learner", "readout", "--hidden", "10", "--epochs", "1",
            "--batch-size", "8", "--set", "n_steps=40", "--brian-check", "0", "--out", str(tmp_path / "o")]
    assert main(args + ["--json", str(tmp_path / "a.json")]) == 0
    d = json.loads((tmp_path / "a.json").read_text())["dynamics"]
    assert d["method"].startswith("two_trajectory_brian2") and d["target"] == "numpy" and d["duration_s"] == 2.0
    assert d["lambda_max_per_s"] is None or d["lambda_max_se_per_s"] is not None
    assert d["firing"]["rate_hz"] >= 0 and d["firing"]["duration_s"] == pytest.approx(2.0)
    assert main(args + ["--no-dynamics", "--json", str(tmp_path / "b.json")]) == 0
    assert "dynamics" not in json.loads((tmp_path / "b.json").read_text())


def test_distance_in_scaled_units_keeps_the_current_difference_a_reset_leaves():
    """In SI a common reset erases v's difference and leaves one in I_syn of ~1e-17 A, which
    the SI norm takes for a merge (lambda = -inf); measured in units of the variables' sizes
    the copies never merge and lambda = -1/tau_syn within its SE (the current's decay)."""
    from biodyn.snn._chaos import network_lyapunov

    r = read("lif", dt="1 ms")
    rng = np.random.default_rng(0)
    M, H = 20, 30
    x = (rng.random((4, 100, M)) < 0.05).astype(float)
    W_in = rng.normal(1, 1, (M, H)) * 3e-9 / np.sqrt(M)
    stim = tile_inputs(x, 1300)
    si = network_lyapunov(r, W_in, None, stim, duration=1.0, transient=0.2)
    assert si.extra["merged_intervals"] > 0 and si.exponents[0] == -np.inf
    scaled = network_lyapunov(r, W_in, None, stim, duration=1.0, transient=0.2,
                              scales={"v": 5e-3, "I_syn": 2e-9})
    assert scaled.extra["merged_intervals"] == 0
    assert scaled.exponents[0] == pytest.approx(-_rates(r)[1], abs=3 * scaled.standard_error[0] + 5)
