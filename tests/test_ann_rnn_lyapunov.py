"""Recurrent nets: (1/T) log sigma_i of the Jacobian product recorded by backprop through time,
against exact answers (fixed points, closed forms, 120-digit arithmetic) and against the QR
Lyapunov exponents of biodyn.dynamics."""

import mpmath
import numpy as np
import pytest

from biodyn import ann


def _symmetric_rnn(eigs, seed=0):
    net = ann.RNN(1, len(eigs), 1, cell="rnn", sigma_b=0.0, seed=seed)
    Q = ann.haar_orthogonal(len(eigs), len(eigs), np.random.default_rng(seed))
    net.params["cell.W_hh"] = Q @ np.diag(eigs) @ Q.T
    net.params["cell.b_ih"][:] = 0.0
    return net


def test_bptt_jacobian_product_exponents_are_log_abs_eigenvalues_at_a_fixed_point():
    # zero input, zero bias: h = 0 is a fixed point, D_t = W_hh (tanh'(0) = 1); for symmetric
    # W_hh the product W^T has singular values |mu_i|^T exactly, here over 2 * 400 * log(130)
    # ~ 3900 e-folds: far beyond what a direct SVD of the product can resolve
    eigs = np.array([1.3, -0.9, 0.5, 0.1, 0.01])
    net = _symmetric_rnn(eigs)
    rec = net.backprop(np.zeros((1, 400, 1)), np.zeros((1, 1)))
    lam = ann.jacobian_product_exponents([J[0] for J in rec.jacobians()])
    np.testing.assert_allclose(lam, np.sort(np.log(np.abs(eigs)))[::-1], atol=1e-12)


def test_product_exponents_match_120_digit_svd_where_float64_product_fails():
    rng = np.random.default_rng(0)
    Js = [0.8 * rng.standard_normal((6, 6)) for _ in range(40)]
    mpmath.mp.dps = 120
    P = mpmath.matrix(Js[0].tolist())
    for J in Js[1:]:
        P = mpmath.matrix(J.tolist()) * P
    ref = np.sort([float(mpmath.log(s)) for s in mpmath.svd_r(P, compute_uv=False)])[::-1] / 40
    naive = np.log(np.linalg.svd(np.linalg.multi_dot(Js[::-1]), compute_uv=False)) / 40
    assert np.abs(naive - ref).max() > 1e-3          # the float64 product has lost its small singular values
    np.testing.assert_allclose(ann.jacobian_product_exponents(Js), ref, atol=1e-13)


def test_product_exponents_of_a_non_normal_2x2_power_match_closed_form():
    # J^T = [[a^T, x_T], [0, b^T]], x_T = (b^T - a^T)/(b - a): sigma_1 ~ b^T sqrt(1 + 1/(b-a)^2)
    a, b, T = 0.1, 2.0, 1000
    c = 0.5 * np.log(1 + 1 / (b - a) ** 2) / T
    lam = ann.jacobian_product_exponents([np.array([[a, 1.0], [0.0, b]])] * T)
    np.testing.assert_allclose(lam, [np.log(b) + c, np.log(a) - c], atol=1e-13)


def test_exponents_sum_to_mean_log_determinant_for_a_driven_rnn_and_batches():
    net = ann.RNN(1, 4, 1, cell="rnn", sigma_w=1.5, seed=1)
    x = 0.3 * np.random.default_rng(2).standard_normal((3, 200, 1))
    rec = net.backprop(x, np.zeros((3, 1)), s0=0.1 * np.ones(4))
    Js = rec.jacobians()  # each (batch, n, n)
    lam = ann.jacobian_product_exponents(Js)
    assert lam.shape == (3, 4) and np.all(np.diff(lam, axis=1) <= 0)
    logdet = np.mean([np.linalg.slogdet(J)[1] for J in Js], axis=0)
    np.testing.assert_allclose(lam.sum(1), logdet, atol=1e-10)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_bptt_exponents_agree_with_qr_lyapunov_exponents_of_biodyn_dynamics(cell):
    dyn = pytest.importorskip("biodyn.dynamics")
    if not hasattr(dyn, "lyapunov_spectrum"):
        pytest.skip("biodyn.dynamics.lyapunov_spectrum not available yet")
    net = ann.RNN(1, 4, 1, cell=cell, sigma_w=1.5 if cell == "rnn" else 2.5, seed=3)
    inputs = 0.5 * np.random.default_rng(4).standard_normal((1100, 1))
    r = ann.rnn_lyapunov_comparison(net, inputs, transient=100)
    assert r["steps"] == 1000 and len(r["qr_exponents"]) == net.state_size
    assert r["svd_exponents"].sum() == pytest.approx(np.sum(r["qr_exponents"]), abs=1e-8)  # exact identity
    np.testing.assert_allclose(r["svd_exponents"], r["qr_exponents"], atol=0.01)  # O(1/T) apart
