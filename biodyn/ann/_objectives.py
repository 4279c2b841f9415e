"""Objectives: a function of a flat parameter vector with its gradient (and more).

Every optimiser of :mod:`biodyn.ann` minimises an *objective*: any object with

* ``dim`` — the number of parameters,
* ``value(theta)`` and ``grad(theta)``,
* ``hvp(theta, v)`` — a Hessian-vector product (exact where the objective knows it,
  central finite differences of the gradient otherwise: :func:`fd_hvp`),
* ``stochastic_grad(theta, rng)`` — a minibatch (noisy) gradient; the full gradient for a
  deterministic objective.

Three kinds are provided: :class:`Objective` (your own function — gradient *ascent* is
``maximise=True``), :class:`Quadratic` (with optional additive Gaussian gradient noise of
covariance :math:`\\Sigma`, the model problem of the stability and SDE analyses) and
:class:`NetworkObjective` (a network's training loss, exact HVPs, true minibatches).
:func:`linear_autoencoder` and :func:`linear_associator` build the two classic linear
problems (Baldi & Hornik 1989; Widrow & Hoff 1960) as network objectives.

References
----------
Baldi P, Hornik K (1989) Neural networks and principal component analysis: learning from
examples without local minima. Neural Networks 2(1):53-58. doi:10.1016/0893-6080(89)90014-2
Widrow B, Hoff ME (1960) Adaptive switching circuits. IRE WESCON Convention Record 4:96-104.
"""

from __future__ import annotations

import numpy as np

from ..errors import BiodynError, SpecError

__all__ = ["Objective", "Quadratic", "NetworkObjective", "fd_hvp", "linear_autoencoder",
           "linear_associator"]


def fd_hvp(grad, theta, v, eps=None):
    """:math:`Hv \\approx [\\nabla f(\\theta + \\epsilon v) - \\nabla f(\\theta - \\epsilon v)]/(2\\epsilon)`.

    Central differences of the gradient: error :math:`O(\\epsilon^2)`. The default
    :math:`\\epsilon = 10^{-5}\\,(1 + \\lVert\\theta\\rVert)/\\lVert v\\rVert` balances truncation and
    round-off for float64.
    """
    v = np.asarray(v, float)
    nv = np.linalg.norm(v)
    if nv == 0:
        return np.zeros_like(v)
    if eps is None:
        eps = 1e-5 * (1.0 + np.linalg.norm(theta)) / nv
    return (grad(theta + eps * v) - grad(theta - eps * v)) / (2.0 * eps)


class Objective:
    """A user objective :math:`f(\\theta)` with its gradient.

    Parameters
    ----------
    f, grad : callable
        :math:`f(\\theta)` and :math:`\\nabla f(\\theta)` on a flat vector.
    dim : int
    hvp : callable, optional
        :math:`(\\theta, v) \\mapsto \\nabla^2 f(\\theta) v`; finite differences of ``grad`` if absent.
    maximise : bool
        Gradient *ascent* on ``f``: the optimisers minimise :math:`-f` (``value`` returns
        :math:`-f`; trajectories record ``sign = -1`` so that plots show ``f``).
    name : str

    Examples
    --------
    Gradient ascent on :math:`f(w) = -\\lVert w - 1\\rVert^2`:

    >>> obj = Objective(lambda w: -np.sum((w - 1)**2), lambda w: -2*(w - 1), dim=2, maximise=True)
    >>> train(obj, "gd", np.zeros(2), lr=0.1, steps=100).theta   # doctest: +SKIP
    """

    def __init__(self, f, grad, dim, hvp=None, maximise=False, name="objective"):
        self._f, self._grad, self._hvp = f, grad, hvp
        self.dim = int(dim)
        self.sign = -1.0 if maximise else 1.0
        self.name = name

    def value(self, theta):
        return self.sign * float(self._f(theta))

    def grad(self, theta):
        return self.sign * np.asarray(self._grad(theta), float)

    def hvp(self, theta, v):
        if self._hvp is not None:
            return self.sign * np.asarray(self._hvp(theta, v), float)
        return fd_hvp(self.grad, theta, v)

    def stochastic_grad(self, theta, rng):
        return self.grad(theta)


class Quadratic:
    """:math:`f(\\theta) = \\tfrac12\\theta^{\\top}A\\theta - b^{\\top}\\theta + c`, optionally with noisy gradients.

    The stochastic gradient is :math:`A\\theta - b + \\xi`, :math:`\\xi \\sim \\mathcal N(0,\\Sigma)`
    (additive noise of constant covariance: the model of minibatch noise near a minimum used
    in the SGD-as-SDE analyses, Mandt, Hoffman & Blei 2017; Li, Tai & E 2017).

    Parameters
    ----------
    A : array (d, d) or (d,) or float
        Symmetric Hessian (a vector or a number means a diagonal).
    b : array (d,), optional
    c : float
    noise_cov : array (d, d) or (d,) or float, optional
        :math:`\\Sigma`.
    """

    def __init__(self, A, b=None, c=0.0, noise_cov=None, name="quadratic"):
        A = np.asarray(A, float)
        if A.ndim == 0:
            A = A.reshape(1, 1)
        elif A.ndim == 1:
            A = np.diag(A)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or not np.allclose(A, A.T, atol=1e-12 * (1 + np.abs(A).max())):
            raise SpecError(None, "A", "a symmetric square matrix", f"shape {A.shape}")
        self.A = A
        self.dim = A.shape[0]
        self.b = np.zeros(self.dim) if b is None else np.asarray(b, float).reshape(self.dim)
        self.c = float(c)
        self.name = name
        self.sign = 1.0
        if noise_cov is None:
            self.noise_cov, self._chol = None, None
        else:
            S = np.asarray(noise_cov, float)
            S = S * np.eye(self.dim) if S.ndim == 0 else (np.diag(S) if S.ndim == 1 else S)
            if S.shape != A.shape:
                raise SpecError(None, "noise_cov", f"a ({self.dim}, {self.dim}) covariance", f"shape {S.shape}")
            self.noise_cov = S
            w, V = np.linalg.eigh(S)
            if w.min() < -1e-12 * max(1.0, w.max()):
                raise SpecError(None, "noise_cov", "a positive semi-definite matrix", f"eigenvalue {w.min():g}")
            self._chol = V * np.sqrt(np.clip(w, 0, None))

    @property
    def eigenvalues(self):
        return np.linalg.eigvalsh(self.A)

    @property
    def minimiser(self):
        return np.linalg.lstsq(self.A, self.b, rcond=None)[0]

    def value(self, theta):
        theta = np.asarray(theta, float)
        return float(0.5 * theta @ self.A @ theta - self.b @ theta + self.c)

    #: ``grad`` and ``hvp`` accept stacks of vectors ``(..., d)``
    batched = True

    def grad(self, theta):
        return np.asarray(theta, float) @ self.A.T - self.b

    def hvp(self, theta, v):
        return np.asarray(v, float) @ self.A.T

    def stochastic_grad(self, theta, rng):
        g = self.grad(theta)
        if self._chol is None:
            return g
        return g + rng.standard_normal(g.shape) @ self._chol.T

    def gradient_flow(self, theta0, times):
        """Exact :math:`\\theta(t) = \\theta^* + e^{-At}(\\theta_0 - \\theta^*)` at ``times``; ``(n, d)``."""
        w, V = np.linalg.eigh(self.A)
        star = self.minimiser
        c0 = V.T @ (np.asarray(theta0, float) - star)
        t = np.asarray(times, float)[:, None]
        return star + (np.exp(-w[None, :] * t) * c0) @ V.T


class NetworkObjective:
    """A network's training loss as a function of its flat parameter vector.

    Parameters
    ----------
    net : biodyn.ann.Network
    x, t : arrays
        Inputs and targets of the whole training set.
    loss : str
    batch_size : int, optional
        Minibatch size of :meth:`stochastic_grad` (sampled without replacement); ``None``
        means full batch.
    """

    def __init__(self, net, x, t, loss="mse", batch_size=None, name=None):
        self.net, self.x, self.t, self.loss = net, np.asarray(x, float), np.asarray(t), loss
        self.dim = net.n_params
        self.n = self.x.shape[0]
        self.sign = 1.0
        self.name = name or f"{type(net).__name__} {loss}"
        if batch_size is not None and not 1 <= int(batch_size) <= self.n:
            raise SpecError(None, "batch_size", f"an integer in [1, {self.n}]", repr(batch_size))
        self.batch_size = None if batch_size is None else int(batch_size)
        self._cache = None

    def initial(self):
        """The network's current parameters as a flat vector (the default starting point)."""
        return self.net.ravel()

    def value_and_grad(self, theta):
        """The full-batch loss and gradient from one backprop pass (cached for the last ``theta``)."""
        theta = np.asarray(theta, float)
        if self._cache is not None and np.array_equal(self._cache[0], theta):
            return self._cache[1], self._cache[2]
        rec = self.net.backprop(self.x, self.t, self.loss, self.net.unravel(theta))
        out = (float(rec.loss), self.net.ravel(rec.grads))
        self._cache = (theta.copy(), *out)
        return out

    def value(self, theta):
        return self.value_and_grad(theta)[0]

    def grad(self, theta, idx=None):
        if idx is None:
            return self.value_and_grad(theta)[1].copy()
        return self.net.ravel(self.net.gradient(self.x[idx], self.t[idx], self.loss, self.net.unravel(theta)))

    def hvp(self, theta, v):
        try:
            return self.net.hvp(self.x, self.t, v, self.loss, self.net.unravel(theta))
        except BiodynError:
            return fd_hvp(self.grad, theta, v)

    def stochastic_grad(self, theta, rng):
        if self.batch_size is None or self.batch_size == self.n:
            return self.grad(theta)
        idx = rng.choice(self.n, self.batch_size, replace=False)
        return self.grad(theta, idx)

    def per_sample_grads(self, theta):
        """:math:`\\nabla\\ell_n(\\theta)` of every sample (each scaled as the loss of one sample), ``(n, dim)``."""
        return np.array([self.grad(theta, [i]) for i in range(self.n)])

    def gradient_noise_covariance(self, theta, batch_size=None):
        """Covariance :math:`\\Sigma(\\theta)` of the minibatch gradient.

        For a batch of :math:`B` of :math:`N` samples drawn without replacement,
        :math:`\\Sigma = \\frac{N-B}{B(N-1)}\\,\\mathrm{Cov}_n[\\nabla\\ell_n]` (with the population
        covariance over the :math:`N` samples).
        """
        B = batch_size or self.batch_size
        if B is None:
            raise BiodynError("gradient_noise_covariance: give a batch_size")
        G = self.per_sample_grads(theta)
        C = np.cov(G.T, bias=True)
        return np.atleast_2d(C) * (self.n - B) / (B * (self.n - 1)) if self.n > 1 else np.zeros((self.dim, self.dim))


def linear_autoencoder(X, k, init="gaussian", sigma_w=0.1, seed=0, batch_size=None):
    """Linear autoencoder :math:`\\hat x = W_2 W_1 x` on :math:`\\tfrac{1}{2N}\\sum\\lVert \\hat x_n - x_n\\rVert^2`.

    Its global minima span the top-``k`` principal subspace of the data, with no spurious
    local minima (Baldi & Hornik 1989); GD on it is the same flow as the symmetric subspace
    rule of Oja (1989) when :math:`W_2 = W_1^{\\top}`.

    Returns
    -------
    NetworkObjective
        with ``.net`` an ``MLP([d, k, d], "linear", bias=False)``.
    """
    from ._nets import MLP

    X = np.asarray(X, float)
    net = MLP([X.shape[1], int(k), X.shape[1]], "linear", init=init, sigma_w=sigma_w, bias=False, seed=seed)
    return NetworkObjective(net, X, X, "half_sse", batch_size, name=f"linear autoencoder d={X.shape[1]} k={k}")


def linear_associator(X, Y, seed=0, batch_size=None, sigma_w=0.0):
    """Linear associator :math:`y = Wx` on :math:`\\tfrac{1}{2N}\\sum\\lVert Wx_n - y_n\\rVert^2`.

    Gradient descent on it is the delta rule (Widrow & Hoff 1960),
    :math:`\\Delta W = \\eta\\,\\langle (y - Wx)\\,x^{\\top}\\rangle`; with ``batch_size=1`` and
    ``"sgd"`` it is the online LMS rule. ``W`` starts at zero unless ``sigma_w > 0``.
    """
    from ._nets import MLP

    X, Y = np.asarray(X, float), np.asarray(Y, float)
    if Y.ndim == 1:
        Y = Y[:, None]
    net = MLP([X.shape[1], Y.shape[1]], "linear", sigma_w=sigma_w or 1.0, bias=False, seed=seed)
    if not sigma_w:
        net.params = {k: np.zeros_like(v) for k, v in net.params.items()}
    return NetworkObjective(net, X, Y, "half_sse", batch_size, name="linear associator (delta rule)")
