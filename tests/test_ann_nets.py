"""biodyn.ann networks: backprop against finite differences, the recorded reverse-time system,
Jacobian spectra (Saxe et al. 2014), mean-field gradient growth (Schoenholz et al. 2017),
exact Hessian-vector products."""

import numpy as np
import pytest

from biodyn import ann
from biodyn.errors import SpecError


def fd_grad(f, theta, eps=1e-6):
    """Central finite differences, one coordinate at a time (shares no code with backprop)."""
    g = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = eps
        g[i] = (f(theta + e) - f(theta - e)) / (2 * eps)
    return g


def assert_backprop_matches_fd(net, x, t, loss="mse"):
    theta = net.ravel()
    g = net.ravel(net.gradient(x, t, loss))
    g_fd = fd_grad(lambda th: net.loss(x, t, loss, net.unravel(th)), theta)
    np.testing.assert_allclose(g, g_fd, rtol=1e-6, atol=1e-8 * (1 + np.abs(g_fd).max()))


@pytest.mark.parametrize("activation", ["tanh", "relu", "linear"])
def test_mlp_backprop_gradient_equals_finite_differences(activation):
    rng = np.random.default_rng(0)
    net = ann.MLP([3, 6, 5, 2], activation, sigma_b=0.3, seed=1)
    assert_backprop_matches_fd(net, rng.standard_normal((7, 3)), rng.standard_normal((7, 2)))


def test_mlp_cross_entropy_gradient_equals_finite_differences():
    rng = np.random.default_rng(1)
    net = ann.MLP([3, 5, 4], "tanh", sigma_b=0.2, seed=2)
    assert_backprop_matches_fd(net, rng.standard_normal((6, 3)), rng.integers(0, 4, 6), "cross_entropy")


@pytest.mark.parametrize("shared,hidden", [(False, None), (True, 5), (False, 4)])
def test_resnet_backprop_gradient_equals_finite_differences(shared, hidden):
    rng = np.random.default_rng(2)
    net = ann.ResNet(3, 4, 3, 2, "tanh", hidden=hidden, step=0.5, shared=shared, sigma_b=0.2, seed=3)
    assert_backprop_matches_fd(net, rng.standard_normal((5, 3)), rng.standard_normal((5, 2)))


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("readout", ["last", "all"])
def test_recurrent_bptt_gradient_equals_finite_differences(cell, readout):
    rng = np.random.default_rng(3)
    net = ann.RNN(2, 4, 3, cell=cell, readout=readout, sigma_b=0.3, seed=4)
    x = rng.standard_normal((3, 6, 2))
    t = rng.standard_normal((3, 3) if readout == "last" else (3, 6, 3))
    assert_backprop_matches_fd(net, x, t)


def _tanh_prime(a):
    return 1.0 - np.tanh(a) ** 2


def test_recorded_delta_recursion_reproduces_the_gradient_mlp():
    rng = np.random.default_rng(4)
    net = ann.MLP([3, 6, 6, 2], "tanh", output_activation=None, sigma_b=0.3, seed=5)
    x, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    rec = net.backprop(x, t)
    # 1) delta_{l-1} = J_l^T delta_l, with the explicit per-sample Jacobians
    for l in range(rec.depth, 0, -1):
        J = rec.jacobian(l)
        np.testing.assert_allclose(np.einsum("bij,bi->bj", J, rec.deltas[l]), rec.deltas[l - 1], rtol=1e-12, atol=1e-15)
    # 2) delta_0 is dL/dx (finite differences in the input)
    g_x = fd_grad(lambda xx: net.loss(xx.reshape(x.shape), t), x.ravel()).reshape(x.shape)
    np.testing.assert_allclose(rec.deltas[0], g_x, rtol=1e-6, atol=1e-9)
    # 3) dL/dW_l = sum_b (phi'(a_l) * delta_l) s_{l-1}^T from the recorded states (independent formula)
    theta_fd = fd_grad(lambda th: net.loss(x, t, params=net.unravel(th)), net.ravel())
    fd = net.unravel(theta_fd)
    for l in range(1, rec.depth + 1):
        W, b = net.params[f"layer{l}.W"], net.params[f"layer{l}.b"]
        a = rec.states[l - 1] @ W.T + b
        e = _tanh_prime(a) * rec.deltas[l]
        np.testing.assert_allclose(e.T @ rec.states[l - 1], fd[f"layer{l}.W"], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(e.sum(0), fd[f"layer{l}.b"], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_recorded_bptt_is_the_transposed_state_jacobian_system(cell):
    rng = np.random.default_rng(5)
    net = ann.RNN(2, 3, 2, cell=cell, readout="last", sigma_b=0.3, seed=6)
    x, t = rng.standard_normal((2, 5, 2)), rng.standard_normal((2, 2))
    s0 = 0.3 * rng.standard_normal((2, net.state_size))
    rec = net.backprop(x, t, s0=s0)
    for l in range(rec.depth, 0, -1):
        np.testing.assert_allclose(np.einsum("bij,bi->bj", rec.jacobian(l), rec.deltas[l]), rec.deltas[l - 1],
                                   rtol=1e-10, atol=1e-14)
    g_s0 = fd_grad(lambda s: net.backprop(x, t, s0=s.reshape(s0.shape)).loss, s0.ravel()).reshape(s0.shape)
    np.testing.assert_allclose(rec.deltas[0], g_s0, rtol=1e-6, atol=1e-9)


def test_deep_linear_orthogonal_net_has_all_jacobian_singular_values_one():
    rng = np.random.default_rng(6)
    net = ann.MLP([40] * 21, "linear", output_activation=None, init="orthogonal", seed=7)
    s = ann.jacobian_spectrum(net, rng.standard_normal((3, 40)))
    np.testing.assert_allclose(s, 1.0, atol=1e-10)
    # the Gaussian net of the same depth does not have this property (Pennington et al. 2017)
    gauss = ann.MLP([40] * 21, "linear", output_activation=None, seed=7)
    g = ann.jacobian_spectrum(gauss, rng.standard_normal((1, 40)))
    assert g.max() / g.min() > 1e3


def test_residual_jacobian_is_identity_plus_step_times_block_jacobian():
    rng = np.random.default_rng(7)
    net = ann.ResNet(3, 3, 1, 3, "tanh", step=0.1, embed=False, readout=False, seed=8)
    x = rng.standard_normal((1, 3))
    J = net.input_output_jacobian(x)[0]
    eps = 1e-6
    J_fd = np.column_stack([(net(x + eps * e) - net(x - eps * e))[0] / (2 * eps) for e in np.eye(3)])
    np.testing.assert_allclose(J, J_fd, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("sigma_w,sigma_b,verdict",
                         [(0.6, 0.05, "vanishing"), (1.5, 0.1, "stable"), (3.0, 0.3, "exploding")])
def test_backward_signal_grows_per_layer_by_mean_field_chi(sigma_w, sigma_b, verdict):
    # Schoenholz et al. 2017: E||delta_{l-1}||^2 = chi_1 ||delta_l||^2 at the fixed point q*
    mf = ann.mean_field("tanh", sigma_w, sigma_b)
    width, depth = 300, 20
    net = ann.MLP([width] * (depth + 1), "tanh", output_activation=None, sigma_w=sigma_w, sigma_b=sigma_b, seed=1)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((16, width)) * np.sqrt(mf["q_star"])
    rec = net.backprop(x, rng.standard_normal((16, width)))
    d = ann.diagnose(rec)
    assert np.exp(d["log_rate_fit"]) == pytest.approx(mf["rate"], rel=0.02)
    assert d["verdict"] == verdict  # rate**20: 3e-5, 3.4, 470


def _mean_field_mpmath(sigma_w, sigma_b, dps=25):
    """q* and chi1 of a tanh net by mpmath (tanh-sinh quadrature, findroot): no code shared."""
    import mpmath as mp

    mp.mp.dps = dps
    sw, sb = mp.mpf(sigma_w), mp.mpf(sigma_b)

    def E(g, q):
        s = mp.sqrt(q)
        return mp.quad(lambda z: g(s * z) * mp.exp(-z * z / 2), [-mp.inf, -1, 0, 1, mp.inf]) / mp.sqrt(2 * mp.pi)

    q0 = float(sw ** 2 * 0.9 + sb ** 2)
    q = mp.findroot(lambda q: sw ** 2 * E(lambda u: mp.tanh(u) ** 2, q) + sb ** 2 - q, q0)
    chi = sw ** 2 * E(lambda u: (1 - mp.tanh(u) ** 2) ** 2, q)
    return float(q), float(chi)


@pytest.mark.parametrize("sigma_w,sigma_b", [(1.5, 0.05), (4.0, 0.0), (10.0, 0.0), (10.0, 0.3)])
def test_mean_field_tanh_matches_a_high_precision_integral_up_to_sigma_w_10(sigma_w, sigma_b):
    # a 100-node Gauss-Hermite rule gave 1/2 ln chi1 = 0.4088 at sigma_w = 4 (exact 0.43288)
    q_ref, chi_ref = _mean_field_mpmath(sigma_w, sigma_b)
    mf = ann.mean_field("tanh", sigma_w, sigma_b)
    assert mf["converged"]
    assert mf["q_star"] == pytest.approx(q_ref, rel=1e-10)
    assert mf["chi1"] == pytest.approx(chi_ref, rel=1e-10)
    if (sigma_w, sigma_b) == (4.0, 0.0):
        assert 0.5 * np.log(mf["chi1"]) == pytest.approx(0.4328778557577, abs=1e-12)


def test_mean_field_gauss_hermite_option_is_finite_for_many_nodes():
    # numpy's hermegauss overflowed beyond ~300 nodes and returned NaN
    q_ref, chi_ref = _mean_field_mpmath(4.0, 0.0)
    for n in (400, 2000):
        mf = ann.mean_field("tanh", 4.0, 0.0, n_quad=n)
        assert np.isfinite(mf["chi1"]) and mf["converged"]
        assert mf["chi1"] == pytest.approx(chi_ref, rel=1e-3)


def test_mean_field_closed_forms_for_linear_and_relu():
    # linear: q* = sigma_b^2/(1 - sigma_w^2), chi1 = sigma_w^2; relu: chi1 = sigma_w^2/2 (He et al. 2015)
    lin = ann.mean_field("linear", 0.7, 0.5)
    assert lin["q_star"] == pytest.approx(0.25 / (1 - 0.49), rel=1e-9)
    assert lin["chi1"] == pytest.approx(0.49, rel=1e-12)
    assert ann.mean_field("relu", 1.2, 0.1)["chi1"] == pytest.approx(0.72, rel=1e-12)


@pytest.mark.parametrize("make", [
    lambda: ann.MLP([3, 5, 4, 2], "tanh", sigma_b=0.3, seed=1),
    lambda: ann.MLP([3, 5, 2], "relu", sigma_b=0.3, seed=2),
    lambda: ann.ResNet(3, 4, 2, 2, "tanh", hidden=5, step=0.5, shared=True, sigma_b=0.2, seed=3),
])
def test_exact_hessian_vector_product_equals_finite_differences_of_gradient(make):
    net = make()
    rng = np.random.default_rng(9)
    x, t = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    obj = net.objective(x, t)
    th, v = net.ravel(), rng.standard_normal(net.n_params)
    hv = net.hvp(x, t, v)
    np.testing.assert_allclose(hv, ann.fd_hvp(obj.grad, th, v), rtol=1e-5, atol=1e-7)
    # and the Hessian it implies is symmetric
    H = np.column_stack([net.hvp(x, t, e) for e in np.eye(net.n_params)])
    np.testing.assert_allclose(H, H.T, atol=1e-10)


def test_cross_entropy_exact_hvp_equals_finite_differences():
    net = ann.MLP([3, 5, 4], "tanh", sigma_b=0.3, seed=4)
    rng = np.random.default_rng(10)
    x, t = rng.standard_normal((6, 3)), rng.integers(0, 4, 6)
    obj = net.objective(x, t, loss="cross_entropy")
    v = rng.standard_normal(net.n_params)
    np.testing.assert_allclose(net.hvp(x, t, v, loss="cross_entropy"), ann.fd_hvp(obj.grad, net.ravel(), v),
                               rtol=1e-5, atol=1e-8)


def test_bad_inputs_raise_spec_errors_naming_the_key():
    with pytest.raises(SpecError, match="activation.*did you mean 'tanh'"):
        ann.MLP([2, 3, 1], "tahn")
    with pytest.raises(SpecError, match="init"):
        ann.MLP([2, 3, 1], init="xavier")
    with pytest.raises(SpecError, match="x: expected inputs of shape \\(batch, 2\\)"):
        ann.MLP([2, 3, 1])(np.ones((4, 3)))
    with pytest.raises(SpecError, match="cell"):
        ann.RNN(1, 2, 1, cell="lstn")
    with pytest.raises(SpecError, match="optimiser.*did you mean 'heavy_ball'"):
        ann.optimiser("heavyball")
    with pytest.raises(SpecError, match="beta"):
        ann.optimiser("heavy_ball", beta=1.2)
