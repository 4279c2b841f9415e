"""Bring your own model: the map protocol, the JAX and PyTorch adapters, loss conventions."""

import numpy as np
import pytest

from biodyn import ann, dynamics
from biodyn.errors import BiodynError

jax = pytest.importorskip("jax")
jnp = jax.numpy


def _rnn_weights(n=12, m=2, g=0.8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1 / np.sqrt(m), (n, m)), rng.normal(0, g / np.sqrt(n), (n, n)), rng.normal(0, 0.1, n)


def _jax_lstm(params, s, x):
    W_ih, W_hh, b = params
    H = W_hh.shape[1]
    h, c = s[:H], s[H:]
    a = W_ih @ x + W_hh @ h + b
    i, f, g, o = (jax.nn.sigmoid(a[:H]), jax.nn.sigmoid(a[H:2 * H]), jnp.tanh(a[2 * H:3 * H]),
                  jax.nn.sigmoid(a[3 * H:]))
    c2 = f * c + i * g
    return jnp.concatenate([o * jnp.tanh(c2), c2])


def test_jax_rnn_equals_the_numpy_cell_in_step_jacobian_jvp_and_vjp():
    U, W, b = _rnn_weights()
    model = ann.from_jax(lambda p, s, x: jnp.tanh(p[0] @ x + p[1] @ s + p[2]), 12, 2, params=(U, W, b))
    cell = dynamics.RNNCell(U, W, b)
    rng = np.random.default_rng(1)
    s, x, Q, v = rng.normal(size=12), rng.normal(size=2), rng.normal(size=(12, 3)), rng.normal(size=12)
    np.testing.assert_allclose(model.step(s, x), cell.step(s, x), atol=1e-15)
    np.testing.assert_allclose(model.jacobian(s, x), cell.jacobian(s, x), atol=1e-15)
    np.testing.assert_allclose(model.jvp(s, x, Q), cell.jvp(s, x, Q), atol=1e-14)
    np.testing.assert_allclose(model.vjp(s, x, v), cell.vjp(s, x, v), atol=1e-14)
    y, DQ = model.step_and_jvp(s, x, Q)
    np.testing.assert_allclose(DQ, cell.jvp(s, x, Q), atol=1e-14)


def test_jax_lstm_spectrum_equals_the_numpy_lstm_spectrum():
    # a contracting LSTM (small weights): both trajectories stay together, so the two QR
    # spectra agree to round-off, not merely within their statistical error
    rng = np.random.default_rng(2)
    H, I = 6, 1
    W_ih, W_hh = rng.normal(0, 0.5, (4 * H, I)), rng.normal(0, 0.8 / np.sqrt(H), (4 * H, H))
    b = rng.normal(0, 0.1, 4 * H)
    model = ann.from_jax(_jax_lstm, 2 * H, I, params=(W_ih, W_hh, b), name="my lstm")
    cell = dynamics.LSTMCell(W_ih, W_hh, b)
    inputs = rng.normal(size=(50, I))
    kw = dict(duration=400, transient=50, seed=3)
    mine = dynamics.lyapunov_spectrum(dynamics.DrivenCell(model, inputs), **kw)
    ref = dynamics.lyapunov_spectrum(dynamics.DrivenCell(cell, inputs), **kw)
    np.testing.assert_allclose(mine.exponents, ref.exponents, atol=1e-10)
    assert "my lstm" in dynamics.DrivenCell(model, inputs).name


def test_linear_jax_map_has_the_log_moduli_of_its_eigenvalues_as_exponents():
    # s' = W s with W normal (here symmetric): exponents = log|eig(W)|, a closed form
    rng = np.random.default_rng(4)
    A = rng.normal(size=(5, 5))
    Qm, _ = np.linalg.qr(A)
    eig = np.array([1.3, 0.9, -0.7, 0.5, 0.2])
    W = Qm @ np.diag(eig) @ Qm.T
    model = ann.from_jax(lambda s, x: jnp.asarray(W) @ s, 5, 0)
    res = dynamics.lyapunov_spectrum(dynamics.DrivenCell(model, np.zeros((1, 0))), x0=np.ones(5),
                                     duration=200, seed=0)
    # the tangent vectors' initial misalignment costs O(1/duration)
    np.testing.assert_allclose(res.exponents, np.sort(np.log(np.abs(eig)))[::-1], atol=1e-6)


def test_jax_adapter_leaves_the_callers_jax_config_and_arrays_alone():
    assert not jax.config.jax_enable_x64
    U, W, b = (np.asarray(a, np.float32) for a in _rnn_weights())
    params = (jnp.asarray(U), jnp.asarray(W), jnp.asarray(b))
    model = ann.from_jax(lambda p, s, x: jnp.tanh(p[0] @ x + p[1] @ s + p[2]), 12, 2, params=params)
    out = model.step(np.ones(12), np.ones(2))
    assert out.dtype == np.float64                      # computed in float64 ...
    assert not jax.config.jax_enable_x64                # ... without turning x64 on for the caller
    assert all(p.dtype == jnp.float32 for p in params)  # the caller's parameters untouched
    assert jnp.zeros(3).dtype == jnp.float32


def test_as_map_names_what_a_model_lacks_and_wrong_shapes():
    class Half:
        state_size, input_size = 3, 1

        def step(self, s, x):
            return s

    with pytest.raises(BiodynError, match="lacks jvp, vjp"):
        ann.as_map(Half())
    with pytest.raises(BiodynError, match=r"step\(s, x\) returned shape \(4,\), expected \(3,\)"):
        ann.from_jax(lambda s, x: jnp.concatenate([s, x]), 3, 1)
    with pytest.raises(BiodynError, match=r"inputs must have shape \(T, 1\)"):
        dynamics.DrivenCell(ann.from_jax(lambda s, x: s * x[0], 3, 1), np.zeros((4, 2)))


def test_a_minimal_numpy_map_model_gets_its_missing_methods_and_a_spectrum():
    # only step, jvp and vjp: DrivenCell fills in step_and_jvp and jacobian
    W = np.diag([0.5, 2.0])

    class Linear:
        state_size, input_size = 2, 0

        def step(self, s, x):
            return W @ s

        def jvp(self, s, x, Q):
            return W @ Q

        def vjp(self, s, x, v):
            return v @ W

    assert isinstance(Linear(), ann.MapModel)
    res = dynamics.lyapunov_spectrum(dynamics.DrivenCell(Linear(), np.zeros((1, 0))), x0=np.ones(2),
                                     duration=100)
    np.testing.assert_allclose(res.exponents, [np.log(2.0), np.log(0.5)], atol=1e-10)


# ---- losses: named conventions ---------------------------------------------------------------


def test_mse_is_the_mean_over_all_elements_and_half_sse_the_delta_rules_convention():
    rng = np.random.default_rng(5)
    y, t = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    mse, half = ann.LOSSES["mse"], ann.LOSSES["half_sse"]
    assert mse.value(y, t) == pytest.approx(np.mean((y - t) ** 2), rel=1e-14)
    assert half.value(y, t) == pytest.approx(0.5 * np.sum((y - t) ** 2) / 7, rel=1e-14)
    assert half.value(y, t) == pytest.approx(3 / 2 * mse.value(y, t), rel=1e-14)
    for loss in (mse, half):   # gradients and Hessian-vector products by central differences
        e = 1e-6
        fd = np.zeros_like(y)
        for idx in np.ndindex(*y.shape):
            d = np.zeros_like(y)
            d[idx] = e
            fd[idx] = (loss.value(y + d, t) - loss.value(y - d, t)) / (2 * e)
        np.testing.assert_allclose(loss.grad(y, t), fd, atol=1e-9)
        r = rng.normal(size=y.shape)
        np.testing.assert_allclose(loss.hvp(y, t, r), (loss.grad(y + e * r, t) - loss.grad(y - e * r, t)) / (2 * e),
                                   atol=1e-8)


def test_default_network_loss_is_mse_and_linear_problems_keep_the_delta_rule_scaling():
    net = ann.MLP([3, 4, 2], "tanh", seed=0)
    x, t = np.ones((5, 3)), np.zeros((5, 2))
    assert net.loss(x, t) == pytest.approx(np.mean(net(x) ** 2))
    obj = ann.linear_associator(np.eye(3), np.ones((3, 1)))
    assert obj.loss == "half_sse"
    # the delta rule: gradient of (1/2N) sum |Wx - y|^2 at W = 0 is -<y x^T>
    np.testing.assert_allclose(obj.grad(obj.initial()), -np.ones(3) / 3)


# ---- PyTorch (optional: skipped where torch is not installed) --------------------------------


def test_torch_cells_become_biodyn_cells_equal_to_torch_and_its_jacobians():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    m = torch.nn.LSTMCell(3, 5)
    cell = ann.from_torch(m)
    assert isinstance(cell, dynamics.LSTMCell)
    x = torch.randn(3, dtype=torch.float64)
    h, c = torch.randn(5, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    m64 = torch.nn.LSTMCell(3, 5).double()
    m64.load_state_dict({k: v.double() for k, v in m.state_dict().items()})
    h2, c2 = m64(x, (h, c))
    s = np.concatenate([h.numpy(), c.numpy()])
    np.testing.assert_allclose(cell.step(s, x.numpy()), np.concatenate([h2.detach().numpy(), c2.detach().numpy()]),
                               atol=1e-14)
    J = torch.func.jacrev(lambda hc: torch.cat(m64(x, (hc[:5], hc[5:]))))(torch.as_tensor(s))
    np.testing.assert_allclose(cell.jacobian(s, x.numpy()), J.detach().numpy(), atol=1e-14)
    assert next(m.parameters()).dtype == torch.float32      # the user's module is left as it was


def test_a_custom_torch_module_is_differentiated_by_torch_func_and_matches_the_exact_cell():
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)

    class Elman(torch.nn.Module):   # PyTorch's cell convention: module(x, h) -> h'
        def __init__(self):
            super().__init__()
            self.inp = torch.nn.Linear(2, 6)
            self.rec = torch.nn.Linear(6, 6, bias=False)

        def forward(self, x, h):
            return torch.tanh(self.inp(x) + self.rec(h))

    m = Elman()
    model = ann.from_torch(m, state_size=6, input_size=2)
    cell = dynamics.RNNCell(m.inp.weight.detach().double().numpy(), m.rec.weight.detach().double().numpy(),
                            m.inp.bias.detach().double().numpy())
    rng = np.random.default_rng(6)
    s, x, Q, v = rng.normal(size=6), rng.normal(size=2), rng.normal(size=(6, 2)), rng.normal(size=6)
    np.testing.assert_allclose(model.step(s, x), cell.step(s, x), atol=1e-14)
    np.testing.assert_allclose(model.jvp(s, x, Q), cell.jvp(s, x, Q), atol=1e-14)
    np.testing.assert_allclose(model.vjp(s, x, v), cell.vjp(s, x, v), atol=1e-14)
    assert m.inp.weight.dtype == torch.float32


def test_mse_equals_torchs_mse_loss():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    y, t = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    ref = torch.nn.MSELoss()(torch.as_tensor(y), torch.as_tensor(t)).item()
    assert ann.LOSSES["mse"].value(y, t) == pytest.approx(ref, rel=1e-14)
