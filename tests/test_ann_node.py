"""Neural ODEs: continuous-adjoint gradients against finite differences and against backprop
through fixed-step solvers; a ResNet is forward Euler (Chen et al. 2018; E 2017)."""

import numpy as np
import pytest

from biodyn import ann


@pytest.fixture(scope="module")
def problem():
    node = ann.NeuralODE(2, (8,), "tanh", sigma_w=1.5, sigma_b=0.5, seed=3)
    z0 = np.array([[0.5, -0.3], [1.0, 0.2], [0.1, 0.1]])
    target = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    return node, z0, target, 1.5


def _loss(node, z0, target, T, theta):
    zT = node.solve(z0, T, rtol=1e-12, atol=1e-14, params=node.unravel(theta))
    return 0.5 * np.sum((zT - target) ** 2) / z0.shape[0]


@pytest.mark.parametrize("reconstruct", ["backward", "dense"])
def test_adjoint_gradient_matches_finite_differences(problem, reconstruct):
    node, z0, target, T = problem
    L, g = node.loss_and_gradient(z0, T, target, reconstruct=reconstruct)
    th = node.ravel()
    rng = np.random.default_rng(0)
    eps = 1e-5
    for v in rng.standard_normal((4, th.size)):  # directional derivatives along random directions
        fd = (_loss(node, z0, target, T, th + eps * v) - _loss(node, z0, target, T, th - eps * v)) / (2 * eps)
        assert g @ v == pytest.approx(fd, rel=1e-6, abs=1e-9)
    assert L == pytest.approx(_loss(node, z0, target, T, th), rel=1e-8)


def test_adjoint_state_gradient_matches_finite_differences(problem):
    node, z0, target, T = problem
    zT = node.solve(z0, T)
    a0, _ = node.adjoint(z0, T, (zT - target) / z0.shape[0])
    eps = 1e-6
    fd = np.zeros_like(z0)
    for idx in np.ndindex(z0.shape):
        e = np.zeros_like(z0)
        e[idx] = eps
        lp = 0.5 * np.sum((node.solve(z0 + e, T, 1e-12, 1e-14) - target) ** 2) / 3
        lm = 0.5 * np.sum((node.solve(z0 - e, T, 1e-12, 1e-14) - target) ** 2) / 3
        fd[idx] = (lp - lm) / (2 * eps)
    np.testing.assert_allclose(a0, fd, rtol=1e-6, atol=1e-9)


def test_backprop_through_rk4_is_the_exact_gradient_of_the_discrete_solver(problem):
    node, z0, target, T = problem
    _, g = node.loss_and_gradient(z0, T, target, method="rk4", n_steps=7)
    th = node.ravel()
    eps = 1e-6

    def loss(theta):
        zT, _ = node.solve_fixed(z0, T, 7, "rk4", params=node.unravel(theta))
        return 0.5 * np.sum((zT - target) ** 2) / 3

    fd = np.array([(loss(th + eps * e) - loss(th - eps * e)) / (2 * eps) for e in np.eye(th.size)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)


def test_discrete_gradients_converge_to_the_adjoint_at_the_solver_order(problem):
    node, z0, target, T = problem
    _, g_adj = node.loss_and_gradient(z0, T, target, rtol=1e-12, atol=1e-14)
    for method, order in (("euler", 1), ("heun", 2), ("rk4", 4)):
        e = [np.linalg.norm(node.loss_and_gradient(z0, T, target, method=method, n_steps=n)[1] - g_adj)
             for n in (20, 40)]
        assert np.log2(e[0] / e[1]) == pytest.approx(order, abs=0.2)


def test_resnet_with_shared_block_is_forward_euler_and_converges_at_first_order(problem):
    node, z0, target, T = problem
    net = node.as_resnet(T, 12)
    np.testing.assert_allclose(net(z0), node.solve_fixed(z0, T, 12, "euler")[0], rtol=1e-14, atol=1e-15)
    r = ann.resnet_euler_convergence(node, z0, T, [8, 16, 32, 64], target=target)
    assert r["order_output"] == pytest.approx(-1.0, abs=0.1)
    assert r["order_gradient"] == pytest.approx(-1.0, abs=0.1)
    assert r["gradient_error"][-1] < 0.01
