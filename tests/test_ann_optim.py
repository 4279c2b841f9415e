"""Optimisers as integrators of the gradient flow: stability limits from each update, orders,
continuous limits (Nesterov ODE = Bessel function, heavy ball = damped oscillator), Adam,
and the linear problems used by the comparisons."""

import math

import numpy as np
import pytest
from scipy.special import j1

from biodyn import ann


@pytest.mark.parametrize("name,options,closed_form", [
    ("gd", {}, 2.0),
    ("sgd", {}, 2.0),
    ("heun", {}, 2.0),
    ("heavy_ball", {"beta": 0.0}, 2.0),
    ("heavy_ball", {"beta": 0.5}, 3.0),
    ("heavy_ball", {"beta": 0.9}, 3.8),                      # 2(1 + beta)
    ("nesterov", {"beta": 0.5}, 3.0 / 2.0),
    ("nesterov", {"beta": 0.9}, 3.8 / 2.8),                  # (2 + 2 beta)/(1 + 2 beta)
    ("nesterov", {"beta": "schedule"}, 4.0 / 3.0),           # beta_k -> 1
    ("adam", {"beta1": 0.9}, 38.0),                          # frozen preconditioner: (2+2b1)/(1-b1)
    ("implicit_gd", {}, math.inf),
])
def test_stability_limit_computed_from_the_update_matches_closed_form(name, options, closed_form):
    limit = ann.optimiser(name, **options).stability_limit()
    if math.isinf(closed_form):
        assert math.isinf(limit)
    else:
        assert limit == pytest.approx(closed_form, rel=1e-6)


def _real_axis_limit(poly):
    """Largest x with |R(-x)| <= 1 on (0, x] for a stability polynomial (independent of the code)."""
    x = np.linspace(1e-4, 5, 500001)
    return x[np.argmax(np.abs(poly(-x)) > 1 + 1e-12)]


def test_rk4_and_dormand_prince_limits_match_their_stability_polynomials():
    rk4 = lambda z: sum(z ** k / math.factorial(k) for k in range(5))  # noqa: E731
    dp5 = lambda z: rk4(z) + z ** 5 / 120 + z ** 6 / 600  # noqa: E731  Hairer & Wanner (1996) IV.2
    assert ann.optimiser("rk4").stability_limit() == pytest.approx(_real_axis_limit(rk4), abs=2e-5)
    assert ann.optimiser("rk4").stability_limit() == pytest.approx(2.785, abs=1e-3)
    assert ann.optimiser("rk45").stability_limit() == pytest.approx(_real_axis_limit(dp5), abs=2e-5)


def test_dormand_prince_tableau_satisfies_the_order_conditions():
    dp = ann.DORMAND_PRINCE
    A = np.zeros((7, 7))
    for i, row in enumerate(dp["A"]):
        A[i, :len(row)] = row
    c = np.array(dp["c"])
    np.testing.assert_allclose(A.sum(1), c, atol=1e-14)
    for b, order in ((np.array(dp["b"]), 5), (np.array(dp["b_hat"]), 4)):
        assert b.sum() == pytest.approx(1)
        for q in range(1, order):  # bushy-tree conditions sum b c^q = 1/(q+1)
            assert b @ c ** q == pytest.approx(1 / (q + 1), abs=1e-13)
        assert b @ A @ c == pytest.approx(1 / 6, abs=1e-13)
        assert b @ A @ A @ c == pytest.approx(1 / 24, abs=1e-13)


def test_gd_on_a_quadratic_diverges_exactly_when_lr_times_lambda_max_exceeds_two():
    q = ann.Quadratic([4.0, 1.0, 0.25])
    th0 = np.ones(3)
    for lr, diverges in ((0.99 * 2 / 4, False), (1.01 * 2 / 4, True)):
        tr = ann.train(q, "gd", th0, lr=lr, steps=3000, max_norm=1e6)
        assert tr.diverged == diverges
        if not diverges:
            assert np.linalg.norm(tr.theta) < 1e-3


def test_implicit_gd_is_stable_for_every_learning_rate():
    q = ann.Quadratic(np.array([[3.0, 1.0], [1.0, 2.0]]), b=[1.0, -1.0])
    for lr in (0.1, 10.0, 1e4):
        tr = ann.train(q, "implicit_gd", np.array([5.0, -7.0]), lr=lr, steps=30)
        assert not tr.diverged
        assert np.all(np.diff(tr.values) <= 1e-12)       # proximal point decreases f monotonically
        if lr >= 10:
            np.testing.assert_allclose(tr.theta, q.minimiser, atol=1e-8)
    # one step is exactly the resolvent (I + lr A)^{-1}(theta + lr b)
    tr = ann.train(q, "implicit_gd", np.array([5.0, -7.0]), lr=0.7, steps=1)
    expect = np.linalg.solve(np.eye(2) + 0.7 * q.A, np.array([5.0, -7.0]) + 0.7 * q.b)
    np.testing.assert_allclose(tr.theta, expect, rtol=1e-10)


@pytest.mark.parametrize("name,order", [("gd", 1), ("implicit_gd", 1), ("heun", 2), ("rk4", 4)])
def test_optimiser_converges_to_gradient_flow_at_its_order(name, order):
    q = ann.Quadratic(np.array([[2.0, 0.5], [0.5, 1.0]]), b=[1.0, 0.0])
    errs = []
    for lr in (0.1, 0.05, 0.025):
        r = ann.against_gradient_flow(q, name, np.array([2.0, -1.0]), lr=lr, steps=int(round(2.0 / lr)))
        assert r["times"][-1] == pytest.approx(2.0)
        errs.append(r["error"][-1])
    slopes = np.diff(np.log(errs)) / np.log(0.5)
    np.testing.assert_allclose(slopes, order, atol=0.15)


def test_rk45_error_control_follows_gradient_flow_far_beyond_fixed_step_stability():
    q = ann.Quadratic([10.0, 1.0])
    r = ann.against_gradient_flow(q, "rk45", np.array([1.0, 1.0]), lr=1.0, steps=5, rtol=1e-8, atol=1e-10)
    assert 1.0 * 10.0 > ann.optimiser("rk45").stability_limit()  # a fixed step this long would diverge
    assert r["error"].max() < 1e-7
    assert r["trajectory"].n_grad[-1] > 7 * 5  # several sub-steps per step


def test_heavy_ball_follows_gradient_flow_in_rescaled_time():
    q = ann.Quadratic([1.0, 0.5])
    errs = [ann.against_gradient_flow(q, "heavy_ball", np.array([1.0, 1.0]), lr=lr, steps=int(round(3 * 0.5 / lr)),
                                      beta=0.5)["error"][-1] for lr in (0.02, 0.01)]
    assert errs[1] < 0.6 * errs[0] and errs[1] < 0.02


def test_heavy_ball_tracks_the_damped_oscillator_as_lr_shrinks():
    # beta = 1 - gamma sqrt(lr), t = k sqrt(lr): x'' + gamma x' + lam x = 0 (Polyak 1964)
    lam, gamma, T = 2.0, 0.5, 6.0
    q = ann.Quadratic([lam])
    ref = lambda t: ann.heavy_ball_ode(q, [1.0], t, gamma)  # noqa: E731
    errs = []
    for lr in (1e-3, 2.5e-4):
        h = math.sqrt(lr)
        tr = ann.train(q, "heavy_ball", np.array([1.0]), lr=lr, steps=int(round(T / h)), beta=1 - gamma * h)
        t = tr.steps * h
        errs.append(np.abs(tr.thetas[:, 0] - ref(t)[:, 0]).max())
    assert errs[1] < 0.6 * errs[0] and errs[1] < 0.05
    # the oscillator itself: underdamped closed form
    w = math.sqrt(lam - gamma ** 2 / 4)
    t = np.linspace(0, T, 50)
    exact = np.exp(-gamma * t / 2) * (np.cos(w * t) + gamma / (2 * w) * np.sin(w * t))
    np.testing.assert_allclose(ref(t)[:, 0], exact, atol=1e-8)


def test_nesterov_ode_matches_bessel_closed_form_on_a_1d_quadratic():
    # x'' + (3/t) x' + lam x = 0 from rest: x = x0 * 2 J1(t sqrt(lam)) / (t sqrt(lam))
    lam, x0 = 2.5, 1.7
    t = np.linspace(0, 12, 61)
    numeric = ann.nesterov_ode(ann.Quadratic([lam]), [x0], t)[:, 0]
    s = t * math.sqrt(lam)
    bessel = x0 * np.where(s == 0, 1.0, 2 * j1(s) / np.where(s == 0, 1, s))
    np.testing.assert_allclose(numeric, bessel, atol=1e-7)
    np.testing.assert_allclose(ann.nesterov_ode_quadratic(lam, x0, t), bessel, atol=1e-15)
    # and it really solves the ODE (finite-difference residual of the closed form)
    h = 1e-4
    tt = np.linspace(0.5, 10, 20)
    f = lambda u: ann.nesterov_ode_quadratic(lam, x0, u)  # noqa: E731
    res = (f(tt + h) - 2 * f(tt) + f(tt - h)) / h ** 2 + 3 / tt * (f(tt + h) - f(tt - h)) / (2 * h) + lam * f(tt)
    assert np.abs(res).max() < 1e-5


def test_implicit_gd_keeps_stepping_once_theta_is_tiny():
    # diag(10, 1, 0.1), lr = 100: each step multiplies x_i by 1/(1 + 100 lambda_i); after 50
    # steps |x| = 8.5e-53. A Newton stop at tol (1 + |theta|) froze it at 3.5e-12.
    lam = np.array([10.0, 1.0, 0.1])
    tr = ann.train(ann.Quadratic(lam), "implicit_gd", np.ones(3), lr=100.0, steps=50)
    exact = (1.0 / (1.0 + 100.0 * lam)) ** 50
    np.testing.assert_allclose(tr.theta, exact, rtol=1e-9, atol=0)
    assert np.linalg.norm(tr.theta) == pytest.approx(8.5186e-53, rel=1e-4)


def test_nesterov_schedule_is_su_boyd_candes_momentum_k_minus_1_over_k_plus_2():
    opt = ann.Nesterov("schedule")
    assert opt.beta_at(1) == 0.0 and opt.beta_at(2) == 0.25
    assert [opt.beta_at(k) for k in range(1, 40)] == [(k - 1) / (k + 2) for k in range(1, 40)]
    # the iterates are Su, Boyd & Candes (2016) eq. (3), written out independently:
    # x_k = y_{k-1} - s grad f(y_{k-1}), y_k = x_k + (k-1)/(k+2) (x_k - x_{k-1}), y_0 = x_0
    q = ann.Quadratic(np.array([[2.0, 0.5], [0.5, 1.0]]), b=[1.0, -0.5])
    s, n = 0.05, 60
    x_prev = x = y = np.array([1.0, -2.0])
    xs = []
    for k in range(1, n + 1):
        x_prev, x = x, y - s * q.grad(y)
        y = x + (k - 1) / (k + 2) * (x - x_prev)
        xs.append(x)
    tr = ann.train(q, "nesterov", np.array([1.0, -2.0]), lr=s, steps=n, beta="schedule")
    np.testing.assert_allclose(tr.thetas[1:], np.array(xs), rtol=1e-13, atol=1e-15)


def test_nesterov_with_su_boyd_candes_momentum_converges_to_the_nesterov_ode():
    lam = 1.0
    q = ann.Quadratic([lam])
    errs = []
    for lr in (1e-2, 2.5e-3):
        r = ann.against_gradient_flow(q, "nesterov", np.array([1.0]), lr=lr, steps=int(round(8 / math.sqrt(lr))),
                                      beta="schedule")
        assert r["reference"] == "nesterov_ode"
        np.testing.assert_allclose(r["flow"][:, 0], ann.nesterov_ode_quadratic(lam, 1.0, r["times"]), atol=1e-6)
        errs.append(r["error"].max())
    # first order in the ODE step sqrt(lr) (Su, Boyd & Candes 2016): lr / 4 halves the error
    assert 0.4 < errs[1] / errs[0] < 0.6 and errs[1] < 0.06


def test_adam_first_bias_corrected_step_is_minus_lr_sign_of_gradient():
    q = ann.Quadratic([1.0, 4.0, 0.01], b=[0.3, -2.0, 1e-3])
    th0 = np.array([1.0, 1.0, -5.0])
    g = q.grad(th0)
    lr = 0.05
    tr = ann.train(q, "adam", th0, lr=lr, steps=1)
    np.testing.assert_allclose(tr.theta - th0, -lr * np.sign(g), rtol=1e-6)
    tr0 = ann.train(q, ann.Adam(eps=0.0), th0, lr=lr, steps=1)
    np.testing.assert_allclose(tr0.theta - th0, -lr * np.sign(g), rtol=1e-14)


def test_stability_limits_are_sharp_for_the_actual_iteration():
    # the limit computed from M(z) predicts divergence of the real run just above it
    q = ann.Quadratic([1.0])
    for name, opts in (("heavy_ball", {"beta": 0.7}), ("nesterov", {"beta": 0.7}), ("rk4", {})):
        z = ann.optimiser(name, **opts).stability_limit()
        assert not ann.train(q, name, [1.0], lr=0.99 * z, steps=4000, max_norm=1e3, **opts).diverged
        assert ann.train(q, name, [1.0], lr=1.01 * z, steps=4000, max_norm=1e3, **opts).diverged


def test_gradient_descent_on_linear_autoencoder_finds_principal_subspace():
    rng = np.random.default_rng(0)
    d, k, n = 5, 2, 200
    C = np.diag([4.0, 2.0, 0.5, 0.2, 0.1])
    R = ann.haar_orthogonal(d, d, rng)
    X = rng.standard_normal((n, d)) @ np.sqrt(C) @ R.T
    obj = ann.linear_autoencoder(X, k, sigma_w=0.1, seed=1)
    tr = ann.train(obj, "gd", lr=0.1, steps=1500, record_every=100)
    W2 = obj.net.unravel(tr.theta)["layer2.W"]  # decoder (d, k)
    U = np.linalg.eigh(X.T @ X / n)[1][:, ::-1][:, :k]
    P_learned = W2 @ np.linalg.pinv(W2)
    np.testing.assert_allclose(P_learned, U @ U.T, atol=1e-3)  # Baldi & Hornik 1989


def test_delta_rule_converges_to_the_least_squares_associator():
    rng = np.random.default_rng(1)
    X, W_true = rng.standard_normal((50, 4)), rng.standard_normal((2, 4))
    Y = X @ W_true.T + 0.1 * rng.standard_normal((50, 2))
    obj = ann.linear_associator(X, Y)
    tr = ann.train(obj, "gd", lr=0.3, steps=400, record_every=50)
    W = obj.net.unravel(tr.theta)["layer1.W"]
    np.testing.assert_allclose(W, np.linalg.lstsq(X, Y, rcond=None)[0].T, atol=1e-8)
    # one GD step is Widrow-Hoff: W += lr <(y - W x) x^T>
    tr1 = ann.train(obj, "gd", lr=0.3, steps=1)
    np.testing.assert_allclose(obj.net.unravel(tr1.theta)["layer1.W"], 0.3 * (Y.T @ X) / 50, rtol=1e-12)


def test_gradient_ascent_one_liner_maximises():
    tr = ann.ascend(lambda w: -np.sum((w - 1.5) ** 2), lambda w: -2 * (w - 1.5), np.zeros(3), lr=0.1, steps=200)
    np.testing.assert_allclose(tr.theta, 1.5, atol=1e-10)
    assert tr.objective_values[-1] > tr.objective_values[0]


def test_trajectory_records_seed_and_versions():
    q = ann.Quadratic([1.0], noise_cov=[0.1])
    a = ann.train(q, "sgd", [1.0], lr=0.1, steps=20, seed=7)
    b = ann.train(q, "sgd", [1.0], lr=0.1, steps=20, seed=7)
    np.testing.assert_array_equal(a.thetas, b.thetas)
    d = a.to_dict()
    assert d["seed"] == 7 and "brian2" in d["versions"] and d["optimiser"] == "sgd"
