"""RNN/GRU/LSTM cells: forward steps against hand-written updates, Jacobians against
central finite differences, jvp/vjp against the Jacobian."""

import numpy as np
import pytest

from biodyn.dynamics import GRUCell, LSTMCell, RNNCell


def finite_difference_jacobian(step, s, x, eps=1e-6):
    n = s.size
    J = np.empty((n, n))
    for k in range(n):
        e = np.zeros(n)
        e[k] = eps
        J[:, k] = (step(s + e, x) - step(s - e, x)) / (2 * eps)
    return J


CELL_TYPES = [(RNNCell, 1), (GRUCell, 3), (LSTMCell, 4)]


@pytest.mark.parametrize("cls, gates", CELL_TYPES)
def test_cell_jacobian_equals_finite_differences(cls, gates):
    cell = cls.random(7, 3, seed=1, g=1.5, bias=0.3)
    rng = np.random.default_rng(2)
    s = rng.normal(size=cell.state_size)
    x = rng.normal(size=3)
    J = cell.jacobian(s, x)
    assert J.shape == (cell.state_size, cell.state_size)
    np.testing.assert_allclose(J, finite_difference_jacobian(cell.step, s, x), atol=1e-8)


@pytest.mark.parametrize("cls, gates", CELL_TYPES)
def test_cell_jvp_and_vjp_are_products_with_the_jacobian(cls, gates):
    cell = cls.random(6, 2, seed=3, bias=0.5)
    rng = np.random.default_rng(4)
    s, x = rng.normal(size=cell.state_size), rng.normal(size=2)
    Q = rng.normal(size=(cell.state_size, 4))
    v = rng.normal(size=cell.state_size)
    J = cell.jacobian(s, x)
    np.testing.assert_allclose(cell.jvp(s, x, Q), J @ Q, atol=1e-12)
    np.testing.assert_allclose(cell.vjp(s, x, v), v @ J, atol=1e-12)
    s2, JQ = cell.step_and_jvp(s, x, Q)
    np.testing.assert_allclose(s2, cell.step(s, x))
    np.testing.assert_allclose(JQ, J @ Q, atol=1e-12)


def test_cells_accept_batches_of_states():
    cell = GRUCell.random(5, 2, seed=0)
    rng = np.random.default_rng(0)
    S, X = rng.normal(size=(3, 5)), rng.normal(size=(3, 2))
    J = cell.jacobian(S, X)
    assert J.shape == (3, 5, 5)
    for b in range(3):
        np.testing.assert_allclose(J[b], cell.jacobian(S[b], X[b]), atol=1e-13)
        np.testing.assert_allclose(cell.step(S, X)[b], cell.step(S[b], X[b]))


def test_gru_and_lstm_steps_follow_the_pytorch_equations():
    H, I = 4, 3
    rng = np.random.default_rng(5)
    h, c, x = rng.normal(size=H), rng.normal(size=H), rng.normal(size=I)
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    gru = GRUCell.random(H, I, seed=6, bias=0.2)
    Wi, Wh, bi, bh = gru.W_ih, gru.W_hh, gru.b_ih, gru.b_hh
    r = sig(Wi[:H] @ x + bi[:H] + Wh[:H] @ h + bh[:H])
    z = sig(Wi[H:2*H] @ x + bi[H:2*H] + Wh[H:2*H] @ h + bh[H:2*H])
    n = np.tanh(Wi[2*H:] @ x + bi[2*H:] + r * (Wh[2*H:] @ h + bh[2*H:]))
    np.testing.assert_allclose(gru.step(h, x), (1 - z) * n + z * h, rtol=1e-12)
    lstm = LSTMCell.random(H, I, seed=7, bias=0.2)
    a = lstm.W_ih @ x + lstm.b_ih + lstm.W_hh @ h + lstm.b_hh
    i, f, g, o = sig(a[:H]), sig(a[H:2*H]), np.tanh(a[2*H:3*H]), sig(a[3*H:])
    c2 = f * c + i * g
    np.testing.assert_allclose(lstm.step(np.r_[h, c], x), np.r_[o * np.tanh(c2), c2], rtol=1e-12)


def test_lstm_full_jacobian_has_forget_gate_block_and_vogt_block():
    cell = LSTMCell.random(5, 2, seed=8, bias=0.4)
    rng = np.random.default_rng(9)
    s, x = rng.normal(size=10), rng.normal(size=2)
    J = cell.jacobian(s, x)
    i, f, g, o, c, c2, tc = cell._parts(s, x)
    np.testing.assert_allclose(J[5:, 5:], np.diag(f), atol=1e-14)          # dc'/dc = diag(f)
    np.testing.assert_allclose(J[:5, 5:], np.diag(o * (1 - tc**2) * f), atol=1e-14)
    np.testing.assert_allclose(cell.jacobian_h(s, x), J[:5, :5], atol=1e-14)
