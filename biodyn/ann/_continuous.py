"""The continuous-time limits of the optimisers.

* Gradient flow :math:`\\dot\\theta = -\\nabla f(\\theta)` — the limit of GD and of every
  consistent integrator (:func:`gradient_flow`).
* The Nesterov ODE :math:`\\ddot x + \\tfrac{3}{t}\\dot x + \\nabla f(x) = 0`,
  :math:`x(0) = x_0`, :math:`\\dot x(0) = 0` — the limit of Nesterov's method with
  :math:`\\beta_k = (k-1)/(k+2)` and :math:`t = k\\sqrt\\eta` (Su, Boyd & Candès 2016, eq. 3)
  (:func:`nesterov_ode`). On :math:`f = \\lambda x^2/2` it is a Bessel equation,
  :math:`x(t) = x_0\\,2J_1(t\\sqrt\\lambda)/(t\\sqrt\\lambda)`, because
  :math:`y = t^{-n}J_n(\\omega t)` solves :math:`y'' + \\tfrac{2n+1}{t}y' + \\omega^2 y = 0`
  (take :math:`n = 1`) and :math:`2J_1(s)/s \\to 1`, :math:`(2J_1(s)/s)' \\to 0` as
  :math:`s \\to 0` (:func:`nesterov_ode_quadratic`).
* The heavy-ball ODE :math:`\\ddot x + \\gamma\\dot x + \\nabla f(x) = 0` (a damped oscillator),
  the limit of Polyak's method with :math:`\\beta = 1-\\gamma\\sqrt\\eta`,
  :math:`t = k\\sqrt\\eta` (Polyak 1964; :func:`heavy_ball_ode`).

References
----------
Su W, Boyd S, Candès EJ (2016) A differential equation for modeling Nesterov's accelerated
gradient method: theory and insights. JMLR 17(153):1-43.
Polyak BT (1964) USSR Comput Math Math Phys 4(5):1-17. doi:10.1016/0041-5553(64)90137-5
"""

from __future__ import annotations

import numpy as np

from ..errors import BiodynError

__all__ = ["gradient_flow", "nesterov_ode", "nesterov_ode_quadratic", "heavy_ball_ode"]

_RTOL, _ATOL = 1e-10, 1e-12


def _solve(rhs, y0, t0, times, rtol, atol):
    from scipy.integrate import solve_ivp

    times = np.asarray(times, float)
    out = np.empty((times.size, y0.size))
    later = times > t0
    out[~later] = y0
    if later.any():
        sol = solve_ivp(rhs, (t0, times[later].max()), y0, method="DOP853", t_eval=times[later],
                        rtol=rtol, atol=atol)
        if not sol.success:
            raise BiodynError(f"continuous-time reference failed: {sol.message}")
        out[later] = sol.y.T
    return out


def gradient_flow(objective, theta0, times, rtol=_RTOL, atol=_ATOL):
    """:math:`\\theta(t)` of :math:`\\dot\\theta = -\\nabla f(\\theta)` at ``times``, ``(n, d)``.

    Exact for objectives that know their flow (:class:`Quadratic`); otherwise DOP853 with
    ``rtol``/``atol``.
    """
    if hasattr(objective, "gradient_flow"):
        return objective.gradient_flow(theta0, times)
    th0 = np.array(theta0, float)
    return _solve(lambda t, y: -objective.grad(y), th0, 0.0, times, rtol, atol)


def nesterov_ode(objective, theta0, times, rtol=_RTOL, atol=_ATOL):
    """Solve :math:`\\ddot x + \\tfrac{3}{t}\\dot x + \\nabla f(x) = 0` from rest at :math:`x_0`; ``(n, d)``.

    The coefficient :math:`3/t` is singular at :math:`t = 0`; the solve starts at a small
    :math:`t_0` from the series :math:`x = x_0 - \\nabla f(x_0)\\,t^2/8 + O(t^4)`,
    :math:`\\dot x = -\\nabla f(x_0)\\,t/4 + O(t^3)`.
    """
    x0 = np.array(theta0, float)
    times = np.asarray(times, float)
    d = x0.size
    g0 = objective.grad(x0)
    tpos = times[times > 0]
    t0 = 1e-5 * (tpos.min() if tpos.size else 1.0)
    y0 = np.concatenate([x0 - g0 * t0 ** 2 / 8.0, -g0 * t0 / 4.0])

    def rhs(t, y):
        x, v = y[:d], y[d:]
        return np.concatenate([v, -3.0 / t * v - objective.grad(x)])

    out = _solve(rhs, y0, t0, times, rtol, atol)[:, :d]
    out[times <= t0] = x0
    return out


def nesterov_ode_quadratic(lam, x0, t):
    """Closed form on :math:`f = \\lambda x^2/2`: :math:`x(t) = x_0\\,2J_1(t\\sqrt\\lambda)/(t\\sqrt\\lambda)`."""
    from scipy.special import j1

    s = np.asarray(t, float) * np.sqrt(float(lam))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(s == 0, 1.0, 2.0 * j1(s) / np.where(s == 0, 1.0, s))
    return np.multiply.outer(r, np.asarray(x0, float)) if np.ndim(x0) else x0 * r


def heavy_ball_ode(objective, theta0, times, gamma, rtol=_RTOL, atol=_ATOL):
    """Solve the damped oscillator :math:`\\ddot x + \\gamma\\dot x + \\nabla f(x) = 0` from rest; ``(n, d)``."""
    x0 = np.array(theta0, float)
    d = x0.size

    def rhs(t, y):
        return np.concatenate([y[d:], -gamma * y[d:] - objective.grad(y[:d])])

    return _solve(rhs, np.concatenate([x0, np.zeros(d)]), 0.0, times, rtol, atol)[:, :d]
