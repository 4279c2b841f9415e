"""The biological learner of the comparisons: biodyn.compare.run_rate_rule equals numpy Euler
loops to 1e-9 (sample n shown in step n; teacher clamp; BCM's threshold), and the expected
updates read from the specs equal closed forms; the shared measures on known cases."""

import numpy as np
import pytest

from biodyn import build, compare

DT = 1e-3


def _dt():
    from brian2 import ms

    return DT * 1000 * ms


def test_supervised_hebb_with_teacher_equals_numpy_euler():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 3))
    T = rng.standard_normal((300, 2))
    W0 = 0.1 * rng.standard_normal((2, 3))
    rule = build.resolve("hebb", "with_decay", {"eta": "3 Hz", "gamma": "1.5 Hz", "w_min": "-50",
                                                "w_max": "50"})
    out = compare.run_rate_rule(rule, X, W0, dt=_dt(), record_every=100, teacher=T)
    W = W0.copy()
    want = [W.copy()]
    for n in range(300):
        W = W + DT * (3.0 * np.outer(T[n], X[n]) - 1.5 * W)
        if (n + 1) % 100 == 0:
            want.append(W.copy())
    np.testing.assert_allclose(out["w"], np.array(want), rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(out["t"], [0, 0.1, 0.2, 0.3])


def test_bcm_with_recorded_threshold_equals_numpy_euler():
    rng = np.random.default_rng(4)
    X = rng.uniform(0, 1, (400, 2))
    w0 = np.array([[0.4, 0.6]])
    rule = build.resolve("bcm", None, {"eta": "5 Hz", "tau_theta": "50 ms"})
    out = compare.run_rate_rule(rule, X, w0, dt=_dt(), record_every=400, record=("theta_M",),
                                init={"theta_M": 0.2})
    w, th = w0[0].copy(), 0.2
    for x in X:
        y = w @ x
        w, th = w + DT * 5.0 * x * y * (y - th), th + DT * (y * y - th) / 0.05
    np.testing.assert_allclose(out["w"][-1, 0], w, rtol=1e-9)
    np.testing.assert_allclose(out["theta_M"][-1, 0], [th, th], rtol=1e-9)


def test_expected_updates_read_from_the_specs_equal_the_closed_forms():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((50, 4))
    Y = rng.standard_normal((50, 2))
    W = rng.standard_normal((2, 4))
    C, Cyx = X.T @ X / 50, Y.T @ X / 50
    oja = compare.rule_update(build.resolve("oja_subspace", None, {"eta": "2 Hz"}))
    np.testing.assert_allclose(oja.expected(X, W), 2.0 * (W @ C - W @ C @ W.T @ W), rtol=1e-12)
    hebb = compare.rule_update(build.resolve("hebb", "with_decay", {"gamma": "1 Hz"}))
    np.testing.assert_allclose(hebb.expected(X, W, Y=Y), Cyx - W, rtol=1e-12, atol=1e-14)
    bcm = compare.rule_update(build.resolve("bcm"))
    p = np.full(50, 1 / 50)
    y = X @ W[0]
    np.testing.assert_allclose(bcm.expected(X, W[:1], weights=p, theta_M=0.3)[0],
                               (X * (y * (y - 0.3))[:, None]).mean(axis=0), rtol=1e-12)
    assert "xhat_pre" in oja.arguments and "theta_M" in bcm.arguments


def test_subspace_angle_cosine_pca_and_rates_on_known_cases():
    e = np.eye(3)
    assert compare.subspace_angle(e[:, :1], e[:, :1]) == 0.0
    th = 1e-9
    v = np.array([np.cos(th), np.sin(th), 0.0])
    assert compare.subspace_angle(v[:, None], e[:, :1]) == pytest.approx(th, rel=1e-6)  # no cancellation
    assert compare.subspace_angle(e[:, [0, 1]], e[:, [1, 2]]) == pytest.approx(np.pi / 2)
    assert compare.cosine([1, 0], [1, 1]) == pytest.approx(np.sqrt(0.5))
    assert np.isnan(compare.cosine([0, 0], [1, 1]))
    a = np.column_stack([np.linspace(-1, 1, 20), np.zeros(20)])
    proj = compare.pca_projection([a, a + [0, 1e-3]])
    assert proj["explained"][0] > 0.999
    t = np.linspace(0, 5, 50)
    rate, window, n = compare.exponential_rate(t, 3 * np.exp(-0.7 * t), 1e-3, 1.0)
    assert rate == pytest.approx(0.7, rel=1e-9) and n > 3


@pytest.mark.compiled
@pytest.mark.slow
def test_a_comparison_on_cpp_standalone_gives_the_numpy_targets_numbers():
    a = compare.hebb_vs_delta(seed=4, duration="1 second", target="numpy")
    b = compare.hebb_vs_delta(seed=4, duration="1 second", target="cpp_standalone")
    assert b.summary["target"] == "cpp_standalone"
    np.testing.assert_allclose(b.series["w_bio"], a.series["w_bio"], rtol=1e-12, atol=1e-15)
