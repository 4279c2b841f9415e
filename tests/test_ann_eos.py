"""Edge of stability (Cohen et al. 2021): top Hessian eigenvalue by Lanczos / power iteration on
exact (forward-over-reverse) or finite-difference Hessian-vector products, tracked against 2/lr."""

import numpy as np
import pytest

from biodyn import ann


def _small_problem(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x, t = rng.standard_normal((n, 3)), rng.standard_normal((n, 2))
    return ann.MLP([3, 6, 2], "tanh", sigma_b=0.3, seed=1).objective(x, t)


@pytest.mark.parametrize("method,hvp", [("lanczos", "exact"), ("lanczos", "fd"), ("power", "exact")])
def test_top_hessian_eigenvalue_matches_dense_eigendecomposition(method, hvp):
    obj = _small_problem()
    th = obj.initial()
    # dense Hessian from finite differences of the explicit gradient, symmetrised
    d = obj.dim
    H = np.column_stack([ann.fd_hvp(obj.grad, th, e) for e in np.eye(d)])
    w = np.linalg.eigvalsh(0.5 * (H + H.T))
    top, vec = ann.top_hessian_eigenvalues(obj, th, 1, method=method, hvp=hvp, tol=1e-10, maxiter=5000)
    assert top[0] == pytest.approx(w[-1], rel=1e-5)
    np.testing.assert_allclose(obj.hvp(th, vec[:, 0]), top[0] * vec[:, 0], atol=1e-4 * abs(top[0]))


def test_lanczos_returns_the_k_largest_eigenvalues_in_order():
    obj = _small_problem()
    th = obj.initial()
    H = np.column_stack([obj.hvp(th, e) for e in np.eye(obj.dim)])
    w = np.linalg.eigvalsh(H)[::-1]
    top, _ = ann.top_hessian_eigenvalues(obj, th, 3, tol=1e-10)
    np.testing.assert_allclose(top, w[:3], rtol=1e-7)


def test_gd_sharpness_rises_to_two_over_lr_and_hovers_there():
    # progressive sharpening, then the edge of stability, on a small tanh MLP with MSE
    rng = np.random.default_rng(6)
    x = rng.uniform(-1, 1, (100, 4))
    teacher = ann.MLP([4, 100, 1], "tanh", sigma_w=6.0, seed=11)
    t = teacher(x)
    t = t / t.std()
    obj = ann.MLP([4, 20, 20, 20, 1], "tanh", seed=6).objective(x, t, loss="half_sse")
    lr = 0.3
    eos = ann.edge_of_stability(obj, lr=lr, steps=900, every=50, tol=1e-3, seed=0)
    ratio = eos.sharpness / eos.threshold
    assert eos.threshold == pytest.approx(2 / lr)
    assert ratio[0] < 0.5                                   # starts far below 2/lr
    k = eos.first_crossing(0.95)
    assert k is not None and k <= 300                       # sharpening reaches 2/lr ...
    after = ratio[eos.steps >= k + 100]
    assert 0.9 < np.median(after) < 1.1                     # ... and hovers there
    assert after.max() < 2.0                                # catapults stay bounded (no divergence)
    assert eos.loss[-1] < 0.05 * eos.loss[0]                # while the loss keeps falling overall
    assert np.any(np.diff(eos.loss) > 0)                    # non-monotonically
    d = eos.to_dict()
    assert d["hvp"] == "exact" and d["seed"] == 0 and len(d["sharpness"]) == len(d["steps"])
