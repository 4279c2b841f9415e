"""Lyapunov spectra: linear systems, identities, literature values, and agreement of the QR
method with the two-trajectory estimate (numpy and Brian2)."""

import numpy as np
import pytest

from biodyn import dynamics
from biodyn.spec import from_dict


def linear_flow(A):
    """A spec dx/dt = A x (time unit tau), built from the matrix."""
    n = len(A)
    names = [f"x{i}" for i in range(n)]
    lines = []
    for i in range(n):
        rhs = " + ".join(f"({A[i][j]!r})*{names[j]}" for j in range(n))
        lines.append(f"d{names[i]}/dt = ({rhs})/tau : 1")
    data = {"kind": "system", "description": "linear flow", "model": "\n".join(lines),
            "time_unit": "tau", "parameters": {"tau": "ms"},
            "parameter_sets": {"default": {"values": {"tau": "1 ms"}}},
            "initial": {nm: str(0.3 + 0.1 * k) for k, nm in enumerate(names)}}
    return dynamics.read(from_dict(data, "linear_flow"))


def linear_map(A):
    n = len(A)
    names = [f"x{i}" for i in range(n)]
    lines = [f"{names[i]}_next = " + " + ".join(f"({A[i][j]!r})*{names[j]}" for j in range(n)) + " : 1"
             for i in range(n)]
    lines += [f"{nm} : 1" for nm in names]
    data = {"kind": "map", "description": "linear map", "model": "\n".join(lines),
            "initial": {nm: str(0.3 + 0.1 * k) for k, nm in enumerate(names)}}
    return dynamics.read(from_dict(data, "linear_map"))


def test_linear_flow_exponents_are_the_real_parts_of_the_eigenvalues():
    A = [[-0.5, -2.0, 0.0], [2.0, -0.5, 0.0], [0.3, 0.0, -1.2]]
    F = linear_flow(A)
    r = dynamics.lyapunov_spectrum(F, duration=60, dt=0.01, reorth_every=5)
    np.testing.assert_allclose(r.exponents, [-0.5, -0.5, -1.2], atol=0.02)
    assert r.exponents.sum() == pytest.approx(np.trace(A), abs=1e-6)  # exact for a linear flow


def test_linear_map_exponents_are_the_log_moduli_of_the_eigenvalues():
    A = [[1.2, 0.5], [0.0, 0.4]]
    r = dynamics.lyapunov_spectrum(linear_map(A), duration=400)
    np.testing.assert_allclose(r.exponents, np.log([1.2, 0.4]), atol=5e-3)
    assert r.time_unit == "iteration"


def test_exponents_sum_to_the_time_average_of_the_jacobian_trace():
    # van der Pol: div f = mu (1 - x^2) along the orbit, averaged independently here
    F = dynamics.read("van_der_pol")
    x0 = F.x0()
    r = dynamics.lyapunov_spectrum(F, x0, duration=60, dt=0.01, transient=20, tangent_transient=0)
    t, X = dynamics.trajectory(F, x0, 80, 0.01)
    x = X[2000:, 0]  # the same measured window (after the 20-unit transient)
    trace = 1.0 * (1 - x ** 2)
    mean_trace = (trace[:-1].sum() + trace[1:].sum()) / 2 / (len(x) - 1)  # trapezoid
    assert r.exponents.sum() == pytest.approx(mean_trace, abs=2e-3)
    assert abs(r.exponents[0]) < 0.02  # a limit cycle: the largest exponent is 0
    # Hénon: the sum is log|det J| = log b at every step, exactly
    h = dynamics.lyapunov_spectrum(dynamics.read("henon"), duration=2000, transient=100)
    assert h.exponents.sum() == pytest.approx(np.log(0.3), abs=1e-9)


def test_lorenz_spectrum_near_literature_with_a_zero_exponent():
    r = dynamics.lyapunov_spectrum(dynamics.read("lorenz"), duration=200, dt=0.01, transient=10)
    lam, se = r.exponents, r.standard_error
    assert lam[0] == pytest.approx(0.906, abs=max(0.05, 3 * se[0]))   # Sprott 2003: 0.9056
    assert abs(lam[1]) < max(0.02, 3 * se[1])                         # autonomous flow: 0
    assert lam[2] == pytest.approx(-14.57, abs=max(0.06, 3 * se[2]))  # -14.5723
    # constant divergence; RK4's tangent map keeps the volume to O(dt^4): 1e-4 at dt = 0.01
    assert lam.sum() == pytest.approx(-(10 + 1 + 8 / 3), abs=1e-3)
    assert r.kaplan_yorke == pytest.approx(2 + (lam[0] + lam[1]) / abs(lam[2]))
    assert r.entropy_rate == pytest.approx(lam[0])
    assert r.running.shape[1] == 3 and np.all(np.isfinite(r.standard_error))


def test_henon_largest_exponent_and_logistic_r4_exponent_ln2():
    h = dynamics.lyapunov_spectrum(dynamics.read("henon"), duration=20000, transient=100)
    assert h.exponents[0] == pytest.approx(0.41922, abs=0.01)
    lg = dynamics.lyapunov_spectrum(dynamics.read("logistic"), duration=20000, transient=100)
    assert lg.exponents[0] == pytest.approx(np.log(2), abs=3e-3)


def test_qr_largest_exponent_agrees_with_two_trajectories_on_lorenz():
    F = dynamics.read("lorenz")
    qr = dynamics.lyapunov_spectrum(F, duration=150, dt=0.01, transient=10, k=1)
    tt = dynamics.two_trajectory_exponent(F, duration=150, dt=0.01, transient=10)
    tol = 3 * np.hypot(qr.standard_error[0], tt.standard_error[0])
    assert qr.exponents[0] == pytest.approx(tt.exponents[0], abs=tol)
    assert qr.exponents[0] == pytest.approx(0.906, abs=0.08)


def test_qr_agrees_with_the_two_copy_estimate_run_in_brian2_on_a_chaotic_rate_network():
    over = {"N": "200", "g": "3"}
    F = dynamics.read("rate_rnn", overrides=over)
    qr = dynamics.lyapunov_spectrum(F, duration=150, dt=0.05, transient=30, k=1, integrator="euler")
    # Brian2's euler on the same network is the same map: two copies in one numpy-target run
    b2 = dynamics.brian_two_trajectory("rate_rnn", overrides=over, duration=150, transient=30, dt=0.05,
                                       target="numpy")
    assert qr.exponents[0] > 0.05  # chaotic
    tol = 3 * np.hypot(qr.standard_error[0], b2.standard_error[0])
    assert b2.exponents[0] == pytest.approx(qr.exponents[0], abs=tol)
    assert b2.time_unit == qr.time_unit


def test_reorthonormalisation_interval_and_partial_spectra_do_not_change_the_exponents():
    F = dynamics.read("rossler")
    a = dynamics.lyapunov_spectrum(F, duration=30, dt=0.02, reorth_every=1, tangent_transient=0)
    b = dynamics.lyapunov_spectrum(F, duration=30, dt=0.02, reorth_every=7, tangent_transient=0)
    c = dynamics.lyapunov_spectrum(F, duration=30, dt=0.02, tangent_transient=0)  # adaptive
    np.testing.assert_allclose(a.exponents, b.exponents, atol=1e-9)
    np.testing.assert_allclose(a.exponents, c.exponents, atol=1e-9)
    k2 = dynamics.lyapunov_spectrum(F, duration=30, dt=0.02, k=2, tangent_transient=0)
    np.testing.assert_allclose(k2.exponents, a.exponents[:2], atol=1e-9)  # same seed: Q's first columns


def test_kaplan_yorke_dimension_and_entropy_rate_closed_forms():
    assert dynamics.kaplan_yorke([0.9, 0.0, -14.6]) == pytest.approx(2 + 0.9 / 14.6)
    assert dynamics.kaplan_yorke([-0.1, -1.0]) == 0.0
    assert dynamics.kaplan_yorke([0.5, 0.2], complete=False) is None
    assert dynamics.entropy_rate([0.4, 0.1, -2.0]) == pytest.approx(0.5)


@pytest.mark.parametrize("cls", [dynamics.GRUCell, dynamics.LSTMCell])
def test_driven_gru_and_lstm_spectra_sum_to_the_mean_log_determinant(cls):
    cell = cls.random(8, 2, seed=3, g=2.0)
    inputs = np.random.default_rng(4).standard_normal((300, 2))
    sys_ = dynamics.DrivenCell(cell, inputs)
    s0 = np.zeros(cell.state_size)
    r = dynamics.lyapunov_spectrum(sys_, s0, duration=300, tangent_transient=0)
    assert len(r.exponents) == cell.state_size  # 2H for the LSTM: the full (h, c) state
    s, logdets = s0, []
    for t in range(300):
        logdets.append(np.linalg.slogdet(cell.jacobian(s, inputs[t]))[1])
        s = cell.step(s, inputs[t])
    assert r.exponents.sum() == pytest.approx(np.mean(logdets), abs=1e-8)
    assert r.time_unit == "step"


def test_large_rate_network_partial_spectrum_runs_without_dense_jacobians():
    F = dynamics.read("rate_rnn", overrides={"N": "1500", "g": "2"})
    r = dynamics.lyapunov_spectrum(F, duration=4, dt=0.1, transient=2, k=5, integrator="euler",
                                   segments=2)
    assert r.exponents.shape == (5,) and np.all(np.isfinite(r.exponents))
    assert np.all(np.diff(r.exponents) <= 1e-12)


def test_spiking_network_copies_in_brian2_merge_for_infinitesimal_perturbations():
    # LIF networks are stable to infinitesimal perturbations (Jahnke et al. 2008; Monteforte &
    # Wolf 2012); on a time grid a reset erases them: the copies merge and biodyn says so.
    over = {"N_E": "200", "epsilon": "0.2"}
    r = dynamics.brian_two_trajectory("brunel_2000", overrides=over, duration=0.1, transient=0.02,
                                      dt=1e-4, target="numpy", d0=1e-12)
    assert r.extra["merged_intervals"] > 0 and r.exponents[0] == -np.inf and r.extra["notes"]
    assert r.as_dict()["exponents"] == [None]


@pytest.mark.compiled
@pytest.mark.slow
def test_two_copy_estimate_runs_in_cpp_standalone_and_agrees_with_qr():
    over = {"N": "200", "g": "3"}
    F = dynamics.read("rate_rnn", overrides=over)
    qr = dynamics.lyapunov_spectrum(F, duration=150, dt=0.05, transient=30, k=1, integrator="euler")
    b2 = dynamics.brian_two_trajectory("rate_rnn", overrides=over, duration=150, transient=30, dt=0.05,
                                       target="cpp_standalone", build_key="test_dynamics_two_copies")
    assert b2.extra["target"] == "cpp_standalone"
    tol = 3 * np.hypot(qr.standard_error[0], b2.standard_error[0])
    assert b2.exponents[0] == pytest.approx(qr.exponents[0], abs=tol)


# ---------------------------------------------------------------------------------------------
# Standard errors that match the scatter of restarts; convergence warnings
# ---------------------------------------------------------------------------------------------


def test_lyapunov_standard_error_matches_the_scatter_of_independent_restarts_at_logistic_r38():
    # Independent restarts (random initial states on the attractor) of 5000 iterations: their
    # scatter is what the SE of one run must predict. Ten fixed segments gave, for the default
    # run from x0 = 0.3 (20000 iterations), 0.00086: 2.7x below the scatter of restarts.
    F = dynamics.read("logistic", overrides={"r": "3.8"})
    rng = np.random.default_rng(2024)
    est, ses = [], []
    for s in range(16):
        r = dynamics.lyapunov_spectrum(F, np.array([rng.uniform(0.05, 0.95)]), duration=5000,
                                       transient=500, seed=s)
        est.append(r.exponents[0])
        ses.append(r.standard_error[0])
    scatter = np.std(est, ddof=1)     # itself uncertain by ~18 % (15 degrees of freedom)
    assert 0.7 < np.mean(ses) / scatter < 1.45
    assert 0.5 < min(ses) / scatter and max(ses) / scatter < 2.0
    # the default run (x0 = 0.3, 20000 iterations): SE ~ scatter / sqrt(4)
    r = dynamics.lyapunov_spectrum(F, duration=20000, transient=2000, seed=0)
    assert 0.6 < r.standard_error[0] / (scatter / 2) < 1.7
    assert "batch means" in r.extra["standard_error_method"] and r.extra["warnings"] == []


def test_batch_means_standard_error_of_a_strongly_correlated_series_is_the_true_one():
    # AR(1) with rho = 0.98: the variance of the mean of n terms is
    # sigma^2/n (1 + rho)/(1 - rho) asymptotically (99 times the iid value)
    rho, n, reps = 0.98, 40000, 40
    rng = np.random.default_rng(7)
    true = np.sqrt(1 / (1 - rho ** 2) / n * (1 + rho) / (1 - rho))
    ratios = []
    for _ in range(reps):
        e = rng.standard_normal(n)
        x = np.empty(n)
        x[0] = e[0] / np.sqrt(1 - rho ** 2)
        for i in range(1, n):
            x[i] = rho * x[i - 1] + e[i]
        bins = x.reshape(1000, 40).sum(axis=1)[:, None]
        se, est, batch_T = dynamics.batch_means(bins, np.full(1000, 40.0), n_steps=n)
        ratios.append(se[0] / true)
        assert batch_T >= 200     # batches merged to well beyond the correlation time (50)
    assert 0.8 < np.mean(ratios) < 1.1


def test_lyapunov_of_a_slow_transient_warns_with_the_drift_and_the_duration_needed():
    # dx/dt = -x^3 from x = 1: the local rate -3x^2 = -3/(1 + 2t) decays; lambda(T) -> 0 like
    # -1.5 ln(1 + 2T)/T, so a run of 200 time units measures a transient
    F = dynamics.read("pitchfork", overrides={"r": "0"})
    r = dynamics.lyapunov_spectrum(F, np.array([1.0]), duration=200, dt=0.05, transient=0)
    (w,) = r.extra["warnings"]
    assert "lambda1 has not converged" in w and "first half" in w and "--duration" in w
    (d,) = r.extra["drift"]
    # closed form of the halves (measured after the tangent transient of 20): t in [20, 120]
    # and [120, 220], -1.5 ln((1 + 2 t1)/(1 + 2 t0))/100
    assert d["first_half"] == pytest.approx(-1.5 * np.log(241 / 41) / 100, rel=0.02)
    assert d["second_half"] == pytest.approx(-1.5 * np.log(441 / 241) / 100, rel=0.02)
    assert d["trend_z"] > 3 and d["duration_needed"] > 200
    # a converged chaotic run does not warn
    r = dynamics.lyapunov_spectrum(dynamics.read("henon"), duration=20000, transient=1000)
    assert r.extra["warnings"] == []


def test_rate_rnn_default_network_is_still_chaotic_after_700_tau():
    # README: "biodyn analyze lyapunov rate_rnn --k 20  # g = 2: chaos". The seed-1 network was
    # only transiently chaotic: with the default integrator (RK4, dt = 0.02 tau) it settles on a
    # stable fixed point between 250 and 600 tau (lambda_1 = -0.084 per tau after that), while
    # the default run measured 10..110 tau (+0.041). The default set's network keeps moving.
    F = dynamics.read("rate_rnn")
    _, X = dynamics.trajectory(F, F.x0(0), 700, 0.02)
    speeds = [np.linalg.norm(F.f(x)) / np.sqrt(F.n) for x in X[-10000::1000]]
    assert min(speeds) > 0.1              # at the seed-1 fixed point: 0


@pytest.mark.slow
def test_rate_rnn_default_network_long_run_matches_the_documented_exponent():
    # rate_rnn.toml: lambda_1 = +0.060 +- 0.003 per tau over 3000 tau (RK4, dt = 0.02, after 500)
    F = dynamics.read("rate_rnn")
    r = dynamics.lyapunov_spectrum(F, duration=1500, dt=0.02, transient=500, k=1)
    assert r.exponents[0] == pytest.approx(0.060, abs=0.012) and r.standard_error[0] < 0.006
    assert r.extra["warnings"] == []


def test_convergence_flags_an_initial_transient_that_is_a_step_not_a_trend():
    # the seed-1 rate network at g = 2 (--k 5 --duration 1000): 3 of 14 batches of transient
    # chaos (+0.04..0.09), then a stable fixed point (-0.084): the run reported -0.053 +- 0.016
    # with no warning. These are its batch estimates of lambda_1.
    e = np.array([0.037, 0.051, 0.088, -0.075, -0.084, -0.085, -0.083, -0.085, -0.082, -0.085,
                  -0.084, -0.082, -0.086, -0.082])[:, None]
    T = np.full(14, 1000 / 14)
    se = [e.std(ddof=1) / np.sqrt(14)]
    (w,) = dynamics.convergence(e * T[:, None], T, [e.mean()], se, e, ["lambda1"], "tau")
    assert 3 * 1000 / 14 - 1e-9 <= w["transient_needed"] <= 4 * 1000 / 14 + 1e-9
    assert w["second_half"] == pytest.approx(-0.0837, abs=1e-3) and "--transient" in w["message"]
    # stationary batches (independent draws) are not flagged
    rng = np.random.default_rng(0)
    flagged = 0
    for _ in range(200):
        e = 0.06 + 0.01 * rng.standard_normal((14, 1))
        flagged += bool(dynamics.convergence(e * T[:, None], T, [e.mean()], [0.003], e))
    assert flagged <= 4     # the cut is chosen on the data, hence tested at z = 4
