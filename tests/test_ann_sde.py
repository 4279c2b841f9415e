"""SGD as an SDE: the exact discrete stationary covariance (discrete Lyapunov equation) against
simulated SGD, the SDE's continuous Lyapunov covariance against Euler-Maruyama paths, and the
range of learning rates where the SDE is accurate (Li, Tai & E 2017)."""

import numpy as np
import pytest

from biodyn import ann
from biodyn.errors import BiodynError

A = np.array([[1.0, 0.3], [0.3, 0.5]])
SIGMA = np.array([[1.0, 0.2], [0.2, 0.5]])


def test_discrete_lyapunov_solution_satisfies_its_equation_and_1d_closed_form():
    lr = 0.7
    C = ann.sgd_stationary_covariance(A, SIGMA, lr)
    M = np.eye(2) - lr * A
    np.testing.assert_allclose(C, M @ C @ M.T + lr ** 2 * SIGMA, atol=1e-13)
    # 1-D: eta sigma^2 / (lambda (2 - eta lambda)) and the SDE's eta sigma^2 / (2 lambda)
    lam, s2 = 1.3, 0.4
    assert ann.sgd_stationary_covariance(lam, s2, lr)[0, 0] == pytest.approx(lr * s2 / (lam * (2 - lr * lam)))
    assert ann.sde_stationary_covariance(lam, s2, lr)[0, 0] == pytest.approx(lr * s2 / (2 * lam))


def test_simulated_sgd_stationary_covariance_is_the_discrete_lyapunov_solution_not_the_sde_one():
    lr = 1.0  # large: the SDE is off by a factor of about 2 here
    q = ann.Quadratic(A, noise_cov=SIGMA)
    tr = ann.train(q, "sgd", np.zeros(2), lr=lr, steps=30000, seed=3)
    emp = np.cov(tr.thetas[200:].T)
    exact = ann.sgd_stationary_covariance(A, SIGMA, lr)
    sde = ann.sde_stationary_covariance(A, SIGMA, lr)
    assert np.linalg.norm(emp - exact) / np.linalg.norm(exact) < 0.06
    assert np.linalg.norm(emp - sde) / np.linalg.norm(exact) > 0.3


def test_euler_maruyama_paths_reach_the_continuous_lyapunov_covariance():
    lr = 0.1
    q = ann.Quadratic(A, noise_cov=SIGMA)
    r = ann.euler_maruyama(q, np.zeros(2), lr, duration=400.0, dt=0.02, n_paths=32, seed=4, record_every=10)
    P = r["paths"][r["times"] > 20.0].reshape(-1, 2)
    sde = ann.sde_stationary_covariance(A, SIGMA, lr)
    assert np.linalg.norm(np.cov(P.T) - sde) / np.linalg.norm(sde) < 0.08
    assert r["seed"] == 4


def test_euler_maruyama_with_dt_equal_lr_is_sgd():
    lr = 0.3
    q = ann.Quadratic(A, noise_cov=SIGMA)
    r = ann.euler_maruyama(q, np.ones(2), lr, duration=400 * lr, dt=lr, n_paths=64, seed=5)
    P = r["paths"][r["times"] > 30].reshape(-1, 2)
    exact = ann.sgd_stationary_covariance(A, SIGMA, lr)
    assert np.linalg.norm(np.cov(P.T) - exact) / np.linalg.norm(exact) < 0.08


def test_sde_accuracy_range_has_the_1d_closed_form_and_shrinks_with_tolerance():
    # relative error of the SDE covariance in 1-D is eta lambda / 2
    for lam in (0.5, 2.0):
        assert ann.sde_accurate_range(lam, 1.0, tol=0.1) == pytest.approx(0.2 / lam, rel=1e-9)
        np.testing.assert_allclose(ann.sde_accuracy(lam, 1.0, [0.1, 0.5]), np.array([0.1, 0.5]) * lam / 2, rtol=1e-10)
    lr_max = 2 / np.linalg.eigvalsh(A).max()
    assert ann.sde_accurate_range(A, SIGMA, 0.01) < ann.sde_accurate_range(A, SIGMA, 0.1) < lr_max
    err = ann.sde_accuracy(A, SIGMA, [0.01, 0.02])
    assert err[1] / err[0] == pytest.approx(2, rel=0.05)  # first order in eta


def test_no_stationary_distribution_beyond_the_stability_limit():
    with pytest.raises(BiodynError, match="no stationary distribution"):
        ann.sgd_stationary_covariance(A, SIGMA, 2.01 / np.linalg.eigvalsh(A).max())


def test_network_minibatch_noise_covariance_matches_sampled_minibatch_gradients():
    rng = np.random.default_rng(6)
    x, t = rng.standard_normal((12, 2)), rng.standard_normal((12, 1))
    obj = ann.MLP([2, 3, 1], "tanh", seed=1).objective(x, t, batch_size=4)
    th = obj.initial()
    S = obj.gradient_noise_covariance(th)
    g = obj.grad(th)
    draws = np.array([obj.stochastic_grad(th, rng) for _ in range(6000)])
    np.testing.assert_allclose(draws.mean(0), g, atol=4 * np.sqrt(np.diag(S).max() / 6000))
    emp = np.cov(draws.T)
    assert np.linalg.norm(emp - S) / np.linalg.norm(S) < 0.1
