"""Recurrent nets: (1/T) log sigma_i of the Jacobian product recorded by backprop through time,
against exact answers and against the QR Lyapunov exponents of biodyn.dynamics."""

import numpy as np
import pytest

from biodyn import ann


def _symmetric_rnn(eigs, seed=0):
    net = ann.RNN(1, len(eigs), 1, cell="rnn", sigma_b=0.0, seed=seed)
    Q = ann.haar_orthogonal(len(eigs), len(eigs), np.random.default_rng(seed))
    net.params["cell.W_hh"] = Q @ np.diag(eigs) @ Q.T
    net.params["cell.b_ih"][:] = 0.0
    return net


def test_jacobian_product_exponents_are_log_abs_eigenvalues_at_a_fixed_point():
    # zero input, zero bias: h = 0 is a fixed point, D_t = W_hh (tanh'(0) = 1); for symmetric
    # W_hh the product W^T has singular values |mu_i|^T exactly
    eigs = np.array([1.3, -0.9, 0.5, 0.25])
    net = _symmetric_rnn(eigs)
    rec = net.backprop(np.zeros((1, 15, 1)), np.zeros((1, 1)))  # (log 1.3 - log 0.25) * 15 ~ 25 < 30
    lam = ann.jacobian_product_exponents([J[0] for J in rec.jacobians()])
    np.testing.assert_allclose(lam, np.sort(np.log(np.abs(eigs)))[::-1], atol=1e-12)


def test_exponents_sum_to_mean_log_determinant_and_equal_the_plain_product_svd():
    net = ann.RNN(1, 4, 1, cell="rnn", sigma_w=1.5, seed=1)
    x = 0.3 * np.random.default_rng(2).standard_normal((1, 20, 1))
    rec = net.backprop(x, np.zeros((1, 1)), s0=0.1 * np.ones(4))
    Js = [J[0] for J in rec.jacobians()]
    lam = ann.jacobian_product_exponents(Js)
    assert (lam[0] - lam[-1]) * len(Js) < 30  # within the documented range of the direct product
    logdet = np.mean([np.linalg.slogdet(J)[1] for J in Js])
    assert lam.sum() == pytest.approx(logdet, abs=1e-9)
    P = np.linalg.multi_dot(Js[::-1])  # the plain product, no renormalisation
    np.testing.assert_allclose(lam, np.log(np.linalg.svd(P, compute_uv=False)) / len(Js), atol=1e-10)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_bptt_exponents_agree_with_qr_lyapunov_exponents_of_biodyn_dynamics(cell):
    dyn = pytest.importorskip("biodyn.dynamics")
    if not hasattr(dyn, "lyapunov_spectrum"):
        pytest.skip("biodyn.dynamics.lyapunov_spectrum not available yet")
    net = ann.RNN(1, 4, 1, cell=cell, sigma_w=1.5 if cell == "rnn" else 2.5, seed=3)
    inputs = 0.5 * np.random.default_rng(4).standard_normal((400, 1))
    r = ann.rnn_lyapunov_comparison(net, inputs, transient=100)
    assert r["svd_exponents"].sum() == pytest.approx(np.sum(r["qr_exponents"]), abs=1e-8)
    np.testing.assert_allclose(r["svd_exponents"], r["qr_exponents"], atol=0.03)
