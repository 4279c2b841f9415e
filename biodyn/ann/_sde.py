"""SGD read as a stochastic differential equation.

SGD with step :math:`\\eta` and minibatch-gradient noise of covariance :math:`\\Sigma`,

.. math:: \\theta_{k+1} = \\theta_k - \\eta\\nabla f(\\theta_k) + \\eta\\,\\xi_k,\\qquad
          \\xi_k \\sim \\mathcal N(0, \\Sigma),

is *exactly* one Euler–Maruyama step, with :math:`dt = \\eta`, of the SDE

.. math:: d\\theta = -\\nabla f(\\theta)\\,dt + \\sqrt{\\eta\\Sigma}\\,dW_t

(Li, Tai & E 2017 — their first-order weak approximation; Mandt, Hoffman & Blei 2017). On a
quadratic :math:`f = \\tfrac12\\theta^{\\top}A\\theta` both are linear and Gaussian, and their
stationary covariances are solutions of Lyapunov equations:

* SGD (exact, discrete): :math:`C = (I-\\eta A)\\,C\\,(I-\\eta A)^{\\top} + \\eta^2\\Sigma`
  (:func:`sgd_stationary_covariance`; exists iff :math:`\\rho(I-\\eta A) < 1`);
* SDE (continuous): :math:`AC + CA^{\\top} = \\eta\\Sigma` (:func:`sde_stationary_covariance`).

In one dimension they are :math:`\\eta\\sigma^2/(\\lambda(2-\\eta\\lambda))` and
:math:`\\eta\\sigma^2/(2\\lambda)`: the SDE's error relative to the exact SGD covariance is
:math:`\\eta\\lambda/2`, so it is accurate to a tolerance :math:`\\epsilon` for
:math:`\\eta\\lambda \\le 2\\epsilon`, and it misses the divergence of SGD's covariance as
:math:`\\eta\\lambda \\to 2` (:func:`sde_accuracy`, :func:`sde_accurate_range`).

References
----------
Li Q, Tai C, E W (2017) Stochastic modified equations and adaptive stochastic gradient
algorithms. ICML, PMLR 70:2101-2110. arXiv:1511.06251
Mandt S, Hoffman MD, Blei DM (2017) Stochastic gradient descent as approximate Bayesian
inference. JMLR 18(134):1-35.
Kloeden PE, Platen E (1992) Numerical Solution of Stochastic Differential Equations.
Springer. doi:10.1007/978-3-662-12616-5
"""

from __future__ import annotations

import numpy as np

from ..errors import BiodynError, SpecError

__all__ = ["sgd_stationary_covariance", "sde_stationary_covariance", "sde_accuracy",
           "sde_accurate_range", "euler_maruyama"]


def _mats(A, Sigma):
    A = np.atleast_2d(np.asarray(A, float))
    S = np.asarray(Sigma, float)
    S = S * np.eye(A.shape[0]) if S.ndim == 0 else (np.diag(S) if S.ndim == 1 else S)
    if A.shape != S.shape or A.shape[0] != A.shape[1]:
        raise SpecError(None, "Sigma", f"a ({A.shape[0]}, {A.shape[0]}) covariance", f"shape {S.shape}")
    return A, S


def sgd_stationary_covariance(A, Sigma, lr):
    """Exact stationary covariance of SGD on a quadratic: the discrete Lyapunov solution.

    Solves :math:`C = (I-\\eta A)C(I-\\eta A)^{\\top} + \\eta^2\\Sigma`.

    Raises
    ------
    BiodynError
        If :math:`\\rho(I - \\eta A) \\ge 1` (SGD has no stationary distribution).
    """
    from scipy.linalg import solve_discrete_lyapunov

    A, S = _mats(A, Sigma)
    M = np.eye(A.shape[0]) - lr * A
    rho = np.max(np.abs(np.linalg.eigvals(M)))
    if rho >= 1:
        raise BiodynError(f"SGD with lr={lr:g} has no stationary distribution: rho(I - lr A) = {rho:.6g} >= 1")
    C = solve_discrete_lyapunov(M, lr * lr * S)
    return 0.5 * (C + C.T)


def sde_stationary_covariance(A, Sigma, lr):
    """Stationary covariance of :math:`d\\theta = -A\\theta dt + \\sqrt{\\eta\\Sigma}dW`.

    Solves the continuous Lyapunov equation :math:`AC + CA^{\\top} = \\eta\\Sigma`.
    """
    from scipy.linalg import solve_continuous_lyapunov

    A, S = _mats(A, Sigma)
    if np.min(np.real(np.linalg.eigvals(A))) <= 0:
        raise BiodynError("the SDE has no stationary distribution: A is not positive definite")
    C = solve_continuous_lyapunov(A, lr * S)
    return 0.5 * (C + C.T)


def sde_accuracy(A, Sigma, lrs):
    """Relative error :math:`\\lVert C_{SDE} - C_{SGD}\\rVert_F/\\lVert C_{SGD}\\rVert_F` for each learning rate."""
    out = []
    for lr in np.atleast_1d(lrs):
        c = sgd_stationary_covariance(A, Sigma, lr)
        out.append(np.linalg.norm(sde_stationary_covariance(A, Sigma, lr) - c) / np.linalg.norm(c))
    return np.array(out)


def sde_accurate_range(A, Sigma, tol=0.1):
    """Largest :math:`\\eta` for which the SDE's stationary covariance is within ``tol`` (relative) of SGD's.

    The error grows monotonically with :math:`\\eta` (it is :math:`\\eta\\lambda/2` in 1-D, where
    the answer is :math:`\\eta = 2\\,\\text{tol}/\\lambda`); found by bisection on
    :math:`(0, 2/\\lambda_{max})`.
    """
    A, _ = _mats(A, Sigma)
    lam = np.max(np.linalg.eigvalsh(0.5 * (A + A.T)))
    lo, hi = 0.0, 2.0 / lam * (1 - 1e-12)
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if sde_accuracy(A, Sigma, mid)[0] <= tol:
            lo = mid
        else:
            hi = mid
    return lo


def euler_maruyama(objective, theta0, lr, duration, dt=None, seed=0, n_paths=1, noise_cov=None,
                   record_every=1):
    """Euler–Maruyama paths of :math:`d\\theta = -\\nabla f\\,dt + \\sqrt{\\eta\\Sigma(\\theta)}\\,dW`.

    :math:`\\theta_{n+1} = \\theta_n - \\nabla f(\\theta_n)\\,\\Delta t + \\sqrt{\\eta\\,\\Delta t}\\,
    \\Sigma^{1/2}\\zeta_n`, :math:`\\zeta_n \\sim \\mathcal N(0, I)`. With :math:`\\Delta t = \\eta` this is
    SGD itself; :math:`\\Delta t \\ll \\eta` approximates the SDE.

    Parameters
    ----------
    objective : Quadratic (constant :math:`\\Sigma` = ``noise_cov``) or NetworkObjective
        (state-dependent :math:`\\Sigma(\\theta)` from ``gradient_noise_covariance``) or any
        objective with ``noise_cov`` given here.
    theta0 : array (d,)
    lr : float
        :math:`\\eta` (sets the noise amplitude).
    duration : float
        Time :math:`T`; ``round(T/dt)`` steps.
    dt : float, optional
        Default :math:`\\eta/10`.
    seed : int
    n_paths : int
        Independent paths, simulated together when the objective is ``batched``.
    noise_cov : array, optional
        Constant :math:`\\Sigma` (overrides the objective's).

    Returns
    -------
    dict
        ``times`` (n,), ``paths`` (n, n_paths, d), ``seed``, ``dt``, ``lr``.
    """
    dt = lr / 10.0 if dt is None else float(dt)
    n = int(round(duration / dt))
    if n < 1:
        raise SpecError(None, "duration", f"at least one step of dt={dt:g}", repr(duration))
    rng = np.random.default_rng(seed)
    S = noise_cov if noise_cov is not None else getattr(objective, "noise_cov", None)
    state_dependent = S is None
    if state_dependent and not hasattr(objective, "gradient_noise_covariance"):
        raise BiodynError("euler_maruyama: give noise_cov (the objective has no gradient-noise model)")

    def sqrt_cov(C):
        w, V = np.linalg.eigh(np.atleast_2d(C))
        return V * np.sqrt(np.clip(w, 0, None))

    th = np.tile(np.asarray(theta0, float), (n_paths, 1))
    d = th.shape[1]
    L = None if state_dependent else sqrt_cov(np.asarray(S, float) * (np.eye(d) if np.ndim(S) == 0 else 1))
    batched = getattr(objective, "batched", False)
    rec_t, rec = [0.0], [th.copy()]
    amp = np.sqrt(lr * dt)
    for i in range(n):
        g = objective.grad(th) if batched else np.array([objective.grad(p) for p in th])
        z = rng.standard_normal((n_paths, d))
        if state_dependent:
            noise = np.array([sqrt_cov(objective.gradient_noise_covariance(p)) @ zz for p, zz in zip(th, z)])
        else:
            noise = z @ L.T
        th = th - g * dt + amp * noise
        if (i + 1) % record_every == 0 or i + 1 == n:
            rec_t.append((i + 1) * dt)
            rec.append(th.copy())
    return {"times": np.array(rec_t), "paths": np.array(rec), "seed": int(seed), "dt": dt, "lr": float(lr)}
