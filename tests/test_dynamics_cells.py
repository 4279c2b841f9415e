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


def _h_block_and_full_spectra(cell, drive, steps=400):
    from biodyn.dynamics import DrivenCell, lyapunov_spectrum

    s0 = np.zeros(cell.state_size)
    kw = dict(duration=steps, transient=50, reorth_every=1, seed=3)
    return (lyapunov_spectrum(DrivenCell(cell, drive, block="h"), s0, **kw),
            lyapunov_spectrum(DrivenCell(cell, drive), s0, **kw))


def test_lstm_h_block_spectrum_is_the_top_of_the_full_spectrum_when_the_forget_gate_is_shut():
    # f = sigma(-60) ~ 1e-26: c' = i g no longer depends on c and dh'/dc = o (1 - tanh^2) f ~ 0, so
    # the full Jacobian is block-triangular [[dh'/dh, 0], [dc'/dh, 0]]: its H finite exponents are
    # those of the h-block products (Vogt et al. 2022), the other H are far below (log f ~ -60)
    H = 5
    cell = LSTMCell.random(H, 2, seed=4, g=1.5, bias=0.3)
    cell.b_hh = np.zeros(4 * H)
    cell.b_hh[H:2 * H] = -60.0
    drive = np.random.default_rng(5).normal(size=(37, 2))
    h_block, full = _h_block_and_full_spectra(cell, drive, steps=1000)
    assert h_block.exponents.shape == (H,) and h_block.n == H and full.exponents.shape == (2 * H,)
    # equal in the limit; over T steps the full tangent vectors also carry a c-part (dc'/dh v),
    # whose norm enters the QR factors only at the ends: a difference O(1/T)
    np.testing.assert_allclose(full.exponents[:H], h_block.exponents, rtol=0, atol=5e-3)
    assert np.min(-np.diff(h_block.exponents)) > 0.04  # ... well below the spacing of the exponents
    assert np.all(full.exponents[H:] < -30)  # the shut memory: far below (rounding keeps them above -60)


def test_lstm_h_block_exponents_sum_to_the_mean_log_determinant_of_the_h_block_not_of_the_full_jacobian():
    # sum of all QR exponents = (1/T) sum_t log|det D_t| for whichever tangent map D_t is iterated
    from biodyn.dynamics import DrivenCell

    H, steps = 4, 300
    cell = LSTMCell.random(H, 1, seed=6, g=2.0, bias=0.5)
    drive = np.random.default_rng(7).normal(size=(23, 1))
    h_block, full = _h_block_and_full_spectra(cell, drive, steps)
    d = DrivenCell(cell, drive)
    s, logdet_h, logdet_full = np.zeros(2 * H), 0.0, 0.0
    for t in range(50 + steps // 10 + steps):  # the transient, the alignment (duration/10), the measured steps
        if t >= 50 + steps // 10:
            logdet_h += np.linalg.slogdet(cell.jacobian_h(s, d.input(t)))[1]
            logdet_full += np.linalg.slogdet(cell.jacobian(s, d.input(t)))[1]
        s = d.step(s, t)
    assert abs(h_block.exponents.sum() - logdet_h / steps) < 1e-9
    assert abs(full.exponents.sum() - logdet_full / steps) < 1e-9
    assert abs(h_block.exponents.sum() - full.exponents.sum()) > 0.1  # two different spectra


def test_h_block_is_refused_for_cells_whose_state_is_h():
    from biodyn.dynamics import DrivenCell
    from biodyn.errors import BiodynError

    with pytest.raises(BiodynError, match="LSTM"):
        DrivenCell(GRUCell.random(3, 1), np.zeros((4, 1)), block="h")
