"""Optimisers as integrators of the gradient flow :math:`\\dot\\theta = -\\nabla f(\\theta)`.

Each optimiser is a small class with one method, ``step`` (like a torchdiffeq solver's
``_step_func``); the loop (:func:`train`) is shared. Read as integrators with step
:math:`\\eta` (the learning rate):

=====================  ===================================================================
``gd``                 forward Euler, :math:`\\theta_{k+1} = \\theta_k - \\eta\\nabla f(\\theta_k)`
``implicit_gd``        backward Euler = proximal point,
                       :math:`\\theta_{k+1} = \\theta_k - \\eta\\nabla f(\\theta_{k+1})`
                       (Rockafellar 1976), solved by Newton–Krylov on Hessian-vector products
``heun``, ``rk4``      explicit Runge–Kutta of order 2 and 4 (Butcher 2016)
``rk45``               Dormand–Prince 5(4) with embedded error control (Dormand & Prince
                       1980): each step integrates the flow over a time :math:`\\eta` with as
                       many internal steps as the tolerance needs
``heavy_ball``         Polyak (1964), :math:`\\theta_{k+1} = \\theta_k - \\eta\\nabla f(\\theta_k) +
                       \\beta(\\theta_k - \\theta_{k-1})`: a damped oscillator
                       :math:`\\ddot\\theta + \\gamma\\dot\\theta + \\nabla f = 0` with
                       :math:`t = k\\sqrt\\eta`, :math:`\\gamma = (1-\\beta)/\\sqrt\\eta`
``nesterov``           Nesterov (1983), :math:`y_k = \\theta_k + \\beta_k(\\theta_k - \\theta_{k-1})`,
                       :math:`\\theta_{k+1} = y_k - \\eta\\nabla f(y_k)`; with
                       :math:`\\beta_k = (k-1)/(k+2)` (Su, Boyd & Candès 2016) its limit is the ODE
                       :math:`\\ddot x + \\tfrac3t\\dot x + \\nabla f = 0`, :math:`t = k\\sqrt\\eta`
                       (Su, Boyd & Candès 2016)
``adam``               Kingma & Ba (2015), bias-corrected moments
``sgd``                Euler–Maruyama-like: forward Euler on minibatch gradients
                       (see :mod:`biodyn.ann` ``sde_*`` for the SDE reading)
=====================  ===================================================================

Every optimiser reports its **real-axis stability limit**: the largest :math:`z = \\eta\\lambda`
for which its iteration on :math:`f = \\lambda x^2/2` does not diverge. It is *computed from
the optimiser's own* ``step``: the step applied to the basis vectors of its state (parameter
plus internal memory) on that quadratic gives its linear update matrix :math:`M(z)`, and the
limit is the first :math:`z` at which the spectral radius :math:`\\rho(M(z))` exceeds 1. The
closed forms the tests check: GD 2, Heun 2, RK4 ≈ 2.785, heavy ball :math:`2(1+\\beta)`,
Nesterov :math:`(2+2\\beta)/(1+2\\beta)`, implicit GD :math:`\\infty`. Adam is not linear; its
limit is that of its linearisation with a frozen preconditioner (the preconditioned
sharpness bound :math:`(2+2\\beta_1)/(1-\\beta_1)` of Cohen et al. 2022), and ``rk45`` reports
the limit of one fixed Dormand–Prince step (its error control makes the *outer* step stable
for every :math:`\\eta`).

References
----------
Polyak BT (1964) Some methods of speeding up the convergence of iteration methods. USSR
Comput Math Math Phys 4(5):1-17. doi:10.1016/0041-5553(64)90137-5
Nesterov YE (1983) A method for solving the convex programming problem with convergence rate
O(1/k^2). Soviet Mathematics Doklady 27:372-376.
Su W, Boyd S, Candès EJ (2016) A differential equation for modeling Nesterov's accelerated
gradient method: theory and insights. JMLR 17(153):1-43. (NeurIPS 2014 version.)
Kingma DP, Ba J (2015) Adam: a method for stochastic optimization. ICLR 2015. arXiv:1412.6980
Rockafellar RT (1976) Monotone operators and the proximal point algorithm. SIAM J Control
Optim 14(5):877-898. doi:10.1137/0314056
Dormand JR, Prince PJ (1980) A family of embedded Runge-Kutta formulae. J Comput Appl Math
6(1):19-26. doi:10.1016/0771-050X(80)90013-3
Butcher JC (2016) Numerical Methods for Ordinary Differential Equations, 3rd ed. Wiley.
doi:10.1002/9781119121534
Cohen JM, Ghorbani B, Krishnan S, et al. (2022) Adaptive gradient methods at the edge of
stability. arXiv:2207.14484
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import BiodynError, SpecError, suggest

__all__ = ["Optimiser", "GD", "ImplicitGD", "Heun", "RK4", "RK45", "HeavyBall", "Nesterov", "Adam", "SGD",
           "OPTIMISERS", "optimiser", "Trajectory", "train", "stability_limit", "against_gradient_flow",
           "ExplicitRK", "DORMAND_PRINCE", "ascend", "stability_limits"]


class _Oracle:
    """The objective seen by an optimiser: counts gradient and Hessian-vector evaluations."""

    def __init__(self, objective, rng):
        self.objective, self.rng = objective, rng
        self.n_grad = 0
        self.n_hvp = 0

    def grad(self, theta):
        self.n_grad += 1
        return self.objective.grad(theta)

    def stochastic_grad(self, theta):
        self.n_grad += 1
        return self.objective.stochastic_grad(theta, self.rng)

    def hvp(self, theta, v):
        self.n_hvp += 1
        return self.objective.hvp(theta, v)


class Optimiser:
    """Base class: one ``step``; the loop, the stability analysis and the flow comparison are shared.

    Subclasses set ``name``, ``order`` (as an integrator of the gradient flow; 0 if it is
    not a consistent integrator of it) and implement ``step(theta, state, k, lr, oracle)``
    returning ``(theta_new, state_new)``. ``state`` is a dict of arrays shaped like
    ``theta`` (the optimiser's memory), created by ``init(theta)``.
    """

    name = "optimiser"
    order = 1
    #: the continuous-time limit a trajectory is compared with
    reference = "gradient_flow"

    def init(self, theta):
        return {}

    def step(self, theta, state, k, lr, oracle):  # pragma: no cover - abstract
        raise NotImplementedError

    def time_per_step(self, lr):
        """Gradient-flow time advanced by one step (:math:`\\eta`; :math:`\\eta/(1-\\beta)` with momentum)."""
        return float(lr)

    def hyperparameters(self):
        return {}

    def __repr__(self):
        hp = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({hp})"

    # linear stability on f = lambda x^2 / 2 ------------------------------------------------
    def _linear_step(self, theta, state, k, lr, oracle):
        """The step whose linear update matrix defines the stability limit (default: ``step``)."""
        return self.step(theta, state, k, lr, oracle)

    def _linear_init(self, theta):
        return self.init(theta)

    def update_matrix(self, z, k=10**6):
        """The linear update matrix :math:`M(z)` of one step on :math:`f = x^2/2` with :math:`\\eta = z`.

        The state vector is ``[theta, *memory]``; column :math:`j` is the step applied to the
        :math:`j`-th basis state. ``k`` is the iteration number (schedules such as Nesterov's
        :math:`\\beta_k` are taken at ``k``; the default is their limit). Raises
        :class:`BiodynError` if the step is not linear on the quadratic.
        """
        from ._objectives import Quadratic

        oracle = _Oracle(Quadratic([[1.0]]), np.random.default_rng(0))
        keys = sorted(self._linear_init(np.zeros(1)))
        n = 1 + len(keys)

        def apply(vec):
            st = {key: vec[1 + i:2 + i].copy() for i, key in enumerate(keys)}
            th, st = self._linear_step(vec[:1].copy(), st, k, z, oracle)
            return np.concatenate([np.ravel(th)] + [np.ravel(st[key]) for key in keys])

        M = np.column_stack([apply(e) for e in np.eye(n)])
        u = np.random.default_rng(1).standard_normal(n)
        if not np.allclose(apply(u), M @ u, rtol=1e-8, atol=1e-10 * (1 + np.abs(M).max())):
            raise BiodynError(f"{self.name}: its step is not linear on a quadratic; no update matrix")
        return M

    def spectral_radius(self, z, k=10**6):
        """:math:`\\rho(M(z))`."""
        return float(np.max(np.abs(np.linalg.eigvals(self.update_matrix(z, k)))))

    def stability_limit(self, z_max=1e4, k=10**6, tol=1e-9):
        """Largest :math:`z = \\eta\\lambda` with :math:`\\rho(M(z')) \\le 1` for all :math:`0 < z' \\le z`.

        Scans :math:`z` on a grid (400 points on (0, 10], 60 geometric up to ``z_max``) for
        the first point with :math:`\\rho > 1 + \\text{tol}` and refines it by bisection to
        machine precision; ``inf`` if none. (An unstable window narrower than the grid
        spacing, 0.025 below 10, would be missed; no optimiser here has one.)
        """
        grid = np.concatenate([np.linspace(1e-2, 10.0, 400), np.geomspace(10.0, z_max, 61)[1:]])
        prev = 0.0
        for z in grid:
            if self.spectral_radius(z, k) > 1 + tol:
                lo, hi = prev, z
                for _ in range(60):
                    mid = 0.5 * (lo + hi)
                    if self.spectral_radius(mid, k) > 1 + tol:
                        hi = mid
                    else:
                        lo = mid
                return float(0.5 * (lo + hi))
            prev = float(z)
        return float("inf")


# ------------------------------------------------------------------------------------------
# explicit Runge-Kutta family: GD (Euler), Heun, RK4, and adaptive Dormand-Prince
# ------------------------------------------------------------------------------------------
def _rk_stages(theta, lr, grad, A, c_count):
    ks = []
    for i in range(c_count):
        y = theta
        for j, a in enumerate(A[i][:i]):
            if a:
                y = y + lr * a * ks[j]
        ks.append(-grad(y))
    return ks


class ExplicitRK(Optimiser):
    """An explicit Runge–Kutta step on :math:`\\dot\\theta = -\\nabla f` with Butcher tableau ``(A, b)``.

    :math:`k_i = -\\nabla f(\\theta + \\eta\\sum_{j<i} a_{ij}k_j)`,
    :math:`\\theta' = \\theta + \\eta\\sum_i b_i k_i`.
    """

    A = ((0.0,),)
    b = (1.0,)

    def step(self, theta, state, k, lr, oracle):
        ks = _rk_stages(theta, lr, oracle.grad, self.A, len(self.b))
        return theta + lr * sum(bi * ki for bi, ki in zip(self.b, ks) if bi), state


class GD(ExplicitRK):
    """Gradient descent = forward Euler: :math:`\\theta_{k+1} = \\theta_k - \\eta\\nabla f(\\theta_k)`."""

    name, order = "gd", 1
    A, b = ((0.0,),), (1.0,)


class Heun(ExplicitRK):
    """Heun's method (explicit trapezoid, RK2): :math:`R(z) = 1 - z + z^2/2`, stable for :math:`z \\le 2`."""

    name, order = "heun", 2
    A, b = ((0.0, 0.0), (1.0, 0.0)), (0.5, 0.5)


class RK4(ExplicitRK):
    """Classical fourth-order Runge–Kutta; real-axis stability :math:`z \\lesssim 2.785`."""

    name, order = "rk4", 4
    A = ((0, 0, 0, 0), (0.5, 0, 0, 0), (0, 0.5, 0, 0), (0, 0, 1.0, 0))
    b = (1 / 6, 1 / 3, 1 / 3, 1 / 6)


#: Dormand & Prince (1980) RK5(4)7M: nodes c, matrix A, 5th-order weights b, 4th-order b_hat.
DORMAND_PRINCE = {
    "c": (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0),
    "A": ((),
          (1 / 5,),
          (3 / 40, 9 / 40),
          (44 / 45, -56 / 15, 32 / 9),
          (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
          (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
          (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84)),
    "b": (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0),
    "b_hat": (5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40),
}


class RK45(ExplicitRK):
    """Adaptive Dormand–Prince 5(4): each step advances the gradient flow by a time :math:`\\eta`.

    Inside a step, sub-steps :math:`h` are accepted when the embedded error estimate
    :math:`\\lVert(\\theta_5 - \\theta_4)/(a + r\\max(|\\theta|,|\\theta'|))\\rVert_{\\rm rms} \\le 1` and
    resized by :math:`0.9\\,\\text{err}^{-1/5}` (clipped to [0.2, 5]) (Hairer, Nørsett & Wanner
    1993, II.4). The stability limit reported is that of one fixed Dormand–Prince step
    (≈ 3.31); the error control keeps the outer iteration stable for any :math:`\\eta`.

    Parameters
    ----------
    rtol, atol : float
    """

    name, order = "rk45", 5
    A = DORMAND_PRINCE["A"]
    b = DORMAND_PRINCE["b"]

    def __init__(self, rtol=1e-6, atol=1e-9, max_substeps=100000):
        self.rtol, self.atol, self.max_substeps = float(rtol), float(atol), int(max_substeps)

    def hyperparameters(self):
        return {"rtol": self.rtol, "atol": self.atol}

    def _linear_step(self, theta, state, k, lr, oracle):
        return ExplicitRK.step(self, theta, state, k, lr, oracle)

    def step(self, theta, state, k, lr, oracle):
        T, t = float(lr), 0.0
        h = state.get("_h")
        h = T if h is None or not np.isfinite(h) or h <= 0 else min(float(h), T)
        y = theta
        bh = DORMAND_PRINCE["b_hat"]
        for _ in range(self.max_substeps):
            if t >= T * (1 - 1e-14):
                break
            h = min(h, T - t)
            ks = _rk_stages(y, h, oracle.grad, self.A, 7)
            y5 = y + h * sum(bi * ki for bi, ki in zip(self.b, ks) if bi)
            y4 = y + h * sum(bi * ki for bi, ki in zip(bh, ks) if bi)
            scale = self.atol + self.rtol * np.maximum(np.abs(y), np.abs(y5))
            err = float(np.sqrt(np.mean(((y5 - y4) / scale) ** 2)))
            if err <= 1.0:
                t += h
                y = y5
            if not np.isfinite(err):
                h *= 0.2
                continue
            h *= min(5.0, max(0.2, 0.9 * (err if err > 0 else 1e-10) ** -0.2))
        else:
            raise BiodynError(f"rk45: more than {self.max_substeps} sub-steps in one step of lr={lr:g}")
        return y, {"_h": h}  # the controller's last proposal starts the next step


# ------------------------------------------------------------------------------------------
# implicit: backward Euler / proximal point
# ------------------------------------------------------------------------------------------
class ImplicitGD(Optimiser):
    """Implicit GD = backward Euler = proximal point.

    :math:`\\theta_{k+1} = \\theta_k - \\eta\\nabla f(\\theta_{k+1})
    = \\arg\\min_\\theta f(\\theta) + \\lVert\\theta-\\theta_k\\rVert^2/(2\\eta)` (for convex
    :math:`f`). Solved by Newton's method on
    :math:`r(\\theta) = \\theta - \\theta_k + \\eta\\nabla f(\\theta)`, each Newton system
    :math:`(I + \\eta H)\\,d = -r` by MINRES on Hessian-vector products (directly, from
    :math:`n` HVPs, below ``dense_below`` parameters; exact for a quadratic in one Newton
    step). On :math:`f = \\lambda x^2/2`, :math:`M(z) = 1/(1+z)`: stable for every :math:`\\eta`.

    Newton stops when :math:`\\lVert r\\rVert \\le \\text{tol}\\,\\lVert r_0\\rVert` with
    :math:`r_0 = \\eta\\nabla f(\\theta_k)` (the explicit step, the scale of the residual), or
    when :math:`\\lVert r\\rVert` is at its rounding floor
    :math:`8\\epsilon(\\lVert\\theta\\rVert + \\lVert\\theta_k\\rVert + \\eta\\lVert\\nabla f\\rVert)`:
    scale-free, so a step is taken however small :math:`\\theta` has become.
    """

    name, order = "implicit_gd", 1

    def __init__(self, tol=1e-10, max_newton=50, dense_below=64):
        self.tol, self.max_newton, self.dense_below = float(tol), int(max_newton), int(dense_below)

    def hyperparameters(self):
        return {"tol": self.tol}

    def step(self, theta, state, k, lr, oracle):
        from scipy.sparse.linalg import LinearOperator, minres

        y = np.array(theta, float)
        n = y.size
        eps = np.finfo(float).eps
        r0 = None
        for _ in range(self.max_newton):
            g = oracle.grad(y)
            r = y - theta + lr * g
            nr = np.linalg.norm(r)
            if r0 is None:
                r0 = nr  # = lr |grad f(theta_k)|: the size of the explicit step, the scale of r
            # relative to the step, not to 1 + |theta| (which skips every step once theta is
            # small); the floor is the rounding error of r itself
            floor = 8 * eps * (np.linalg.norm(y) + np.linalg.norm(theta) + lr * np.linalg.norm(g))
            if nr <= max(self.tol * r0, floor):
                break
            if n < self.dense_below:  # small problems: the Newton matrix from n HVPs, solved directly
                K = np.eye(n) + lr * np.column_stack([oracle.hvp(y, e) for e in np.eye(n)])
                d = np.linalg.solve(K, -r)
            else:
                op = LinearOperator((n, n), matvec=lambda v, y=y: v + lr * oracle.hvp(y, v), dtype=float)
                d, info = minres(op, -r, rtol=1e-13, maxiter=10 * n + 50)
            y = y + d
        return y, state


# ------------------------------------------------------------------------------------------
# momentum
# ------------------------------------------------------------------------------------------
def _beta(beta, key="beta"):
    b = float(beta)
    if not 0.0 <= b < 1.0:
        raise SpecError(None, key, "a momentum in [0, 1)", repr(beta))
    return b


class HeavyBall(Optimiser):
    """Polyak's heavy ball.

    :math:`\\theta_{k+1} = \\theta_k - \\eta\\nabla f(\\theta_k) + \\beta(\\theta_k - \\theta_{k-1})`.

    On :math:`f = \\lambda x^2/2` the characteristic polynomial is
    :math:`\\mu^2 - (1+\\beta-z)\\mu + \\beta`; at :math:`\\mu = -1` this gives the limit
    :math:`z = 2(1+\\beta)`. A step advances gradient-flow time :math:`\\eta/(1-\\beta)`.
    """

    name, order = "heavy_ball", 1

    def __init__(self, beta=0.9):
        self.beta = _beta(beta)

    def hyperparameters(self):
        return {"beta": self.beta}

    def init(self, theta):
        return {"prev": np.array(theta, float)}

    def time_per_step(self, lr):
        return float(lr) / (1.0 - self.beta)

    def step(self, theta, state, k, lr, oracle):
        new = theta - lr * oracle.grad(theta) + self.beta * (theta - state["prev"])
        return new, {"prev": np.array(theta, float)}


class Nesterov(Optimiser):
    """Nesterov's accelerated gradient.

    :math:`y_k = \\theta_k + \\beta_k(\\theta_k - \\theta_{k-1})`,
    :math:`\\theta_{k+1} = y_k - \\eta\\nabla f(y_k)`. Constant :math:`\\beta` gives the
    characteristic polynomial :math:`\\mu^2 - (1+\\beta)(1-z)\\mu + \\beta(1-z)`, hence the limit
    :math:`z = (2+2\\beta)/(1+2\\beta)`. ``beta="schedule"`` uses the momentum of Su, Boyd &
    Candès (2014, 2016), :math:`\\beta_k = (k-1)/(k+2)` with :math:`x_0 = y_0` (so
    :math:`\\beta_1 = 0`, :math:`\\beta_2 = 1/4`; ``k`` counts steps from 0 and :math:`\\theta_k`
    is their :math:`x_k`), whose limit for :math:`\\eta\\to0` with :math:`t_k = k\\sqrt\\eta` is
    :math:`\\ddot x + \\tfrac3t\\dot x + \\nabla f(x) = 0`; see :func:`biodyn.ann.nesterov_ode`.
    (Su, W., Boyd, S. & Candès, E. J. (2016). A differential equation for modeling Nesterov's
    accelerated gradient method. JMLR 17(153):1–43, eq. (3); NeurIPS 2014.)
    """

    name, order = "nesterov", 1

    def __init__(self, beta=0.9):
        self.schedule = isinstance(beta, str)
        if self.schedule and beta != "schedule":
            raise SpecError(None, "beta", "a number in [0, 1) or 'schedule'", repr(beta))
        self.beta = beta if self.schedule else _beta(beta)
        if self.schedule:
            self.reference = "nesterov_ode"

    def hyperparameters(self):
        return {"beta": self.beta}

    def beta_at(self, k):
        return max(k - 1.0, 0.0) / (k + 2.0) if self.schedule else self.beta

    def init(self, theta):
        return {"prev": np.array(theta, float)}

    def time_per_step(self, lr):
        return float(np.sqrt(lr)) if self.schedule else float(lr) / (1.0 - self.beta)

    def step(self, theta, state, k, lr, oracle):
        y = theta + self.beta_at(k) * (theta - state["prev"])
        return y - lr * oracle.grad(y), {"prev": np.array(theta, float)}


class Adam(Optimiser):
    """Adam (Kingma & Ba 2015).

    :math:`m_k = \\beta_1 m_{k-1} + (1-\\beta_1)g_k`, :math:`v_k = \\beta_2 v_{k-1} + (1-\\beta_2)g_k^2`,
    :math:`\\hat m_k = m_k/(1-\\beta_1^k)`, :math:`\\hat v_k = v_k/(1-\\beta_2^k)`,
    :math:`\\theta_k = \\theta_{k-1} - \\eta\\,\\hat m_k/(\\sqrt{\\hat v_k} + \\epsilon)`.
    The first step is :math:`-\\eta\\,g/(|g|+\\epsilon) \\approx -\\eta\\,\\mathrm{sign}(g)`.

    Stability: Adam is not linear; the limit reported is that of its linearisation with
    the preconditioner :math:`P = \\sqrt{\\hat v}+\\epsilon` frozen (z measured in
    preconditioned units, :math:`\\eta\\lambda/P`): EMA momentum, limit
    :math:`(2+2\\beta_1)/(1-\\beta_1)` (Cohen et al. 2022).
    """

    name, order = "adam", 0

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8):
        self.beta1, self.beta2 = _beta(beta1, "beta1"), _beta(beta2, "beta2")
        self.eps = float(eps)

    def hyperparameters(self):
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def init(self, theta):
        return {"m": np.zeros_like(theta, dtype=float), "v": np.zeros_like(theta, dtype=float)}

    def _first_moment(self, m, g):
        return self.beta1 * m + (1.0 - self.beta1) * g

    def step(self, theta, state, k, lr, oracle):
        g = oracle.grad(theta)
        m = self._first_moment(state["m"], g)
        v = self.beta2 * state["v"] + (1.0 - self.beta2) * g * g
        mhat = m / (1.0 - self.beta1 ** (k + 1))
        vhat = v / (1.0 - self.beta2 ** (k + 1))
        return theta - lr * mhat / (np.sqrt(vhat) + self.eps), {"m": m, "v": v}

    def _linear_init(self, theta):
        return {"m": np.zeros_like(theta, dtype=float)}

    def _linear_step(self, theta, state, k, lr, oracle):
        # frozen preconditioner P = 1, bias corrections at their limit (k -> infinity)
        m = self._first_moment(state["m"], oracle.grad(theta))
        return theta - lr * m, {"m": m}


class SGD(Optimiser):
    """Stochastic gradient descent: :math:`\\theta_{k+1} = \\theta_k - \\eta\\,\\hat g(\\theta_k)`.

    :math:`\\hat g` is the objective's ``stochastic_grad`` (a minibatch gradient, or the
    gradient plus Gaussian noise for :class:`Quadratic`). Its mean iteration is GD.
    """

    name, order = "sgd", 1

    def step(self, theta, state, k, lr, oracle):
        return theta - lr * oracle.stochastic_grad(theta), state


#: Optimisers by name (torchdiffeq-style registry).
OPTIMISERS = {
    "gd": GD, "implicit_gd": ImplicitGD, "heun": Heun, "rk4": RK4, "rk45": RK45,
    "heavy_ball": HeavyBall, "nesterov": Nesterov, "adam": Adam, "sgd": SGD,
}


def optimiser(spec="gd", **options):
    """An optimiser from its name (``OPTIMISERS``) and options, or the object itself."""
    if isinstance(spec, Optimiser):
        if options:
            raise SpecError(None, "optimiser", "options only with an optimiser name", repr(sorted(options)))
        return spec
    if spec not in OPTIMISERS:
        raise SpecError(None, "optimiser", "one of " + ", ".join(OPTIMISERS), repr(spec),
                        suggest(str(spec), OPTIMISERS))
    try:
        return OPTIMISERS[spec](**options)
    except TypeError as exc:
        import inspect

        allowed = list(inspect.signature(OPTIMISERS[spec]).parameters)
        raise SpecError(None, f"optimiser {spec!r}", "options among " + (", ".join(allowed) or "(none)"),
                        repr(sorted(options))) from exc


_make_optimiser = optimiser


def stability_limit(spec, **options):
    """Real-axis stability limit :math:`\\max\\eta\\lambda` of an optimiser (see :meth:`Optimiser.stability_limit`)."""
    return optimiser(spec, **options).stability_limit()


# ------------------------------------------------------------------------------------------
# the shared loop
# ------------------------------------------------------------------------------------------
@dataclass
class Trajectory:
    """A recorded optimisation run.

    Attributes
    ----------
    optimiser : str
    hyperparameters : dict
    lr : float
    seed : int
    steps : ndarray (n,)      iteration numbers recorded
    times : ndarray (n,)      gradient-flow time of each record (``steps * time_per_step``)
    thetas : ndarray (n, d)
    values : ndarray (n,)     the minimised function (``sign * f`` for an ascent)
    n_grad : ndarray (n,)     cumulative gradient evaluations
    diverged : bool           the run stopped because the state left ``max_norm`` or went non-finite
    sign : float              -1 for a gradient ascent (``objective_values = sign * values``)
    """

    optimiser: str
    hyperparameters: dict
    lr: float
    seed: int
    steps: np.ndarray
    times: np.ndarray
    thetas: np.ndarray
    values: np.ndarray
    n_grad: np.ndarray
    diverged: bool = False
    sign: float = 1.0
    objective: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def theta(self):
        """The last parameter vector."""
        return self.thetas[-1]

    @property
    def objective_values(self):
        return self.sign * self.values

    def to_dict(self):
        """Plain data (JSON-able) with the seed and versions."""
        from ..build import versions

        return {"optimiser": self.optimiser, "hyperparameters": self.hyperparameters, "lr": self.lr,
                "seed": self.seed, "objective": self.objective, "diverged": self.diverged,
                "steps": self.steps.tolist(), "times": self.times.tolist(), "values": self.values.tolist(),
                "n_grad": self.n_grad.tolist(), "thetas": self.thetas.tolist(), "versions": versions()}


def train(objective, optimiser="gd", theta0=None, lr=0.01, steps=100, seed=0, record_every=1,
          max_norm=1e12, callback=None, **options):
    """Run an optimiser on an objective: the one loop every optimiser shares.

    Parameters
    ----------
    objective : Objective, Quadratic, NetworkObjective, ...
    optimiser : str or Optimiser
        A name of ``OPTIMISERS`` (options as keywords: ``beta=0.9``, ...) or an instance.
    theta0 : array, optional
        Start; default ``objective.initial()`` (a network's current parameters).
    lr : float
        :math:`\\eta`, the step of the integrator.
    steps : int
    seed : int
        Seeds minibatch / gradient-noise draws (recorded in the trajectory).
    record_every : int
    max_norm : float
        The run stops (``diverged=True``) when :math:`\\lVert\\theta\\rVert` exceeds this or
        any value is not finite; divergence is a result here, not an error.
    callback : callable, optional
        ``callback(k, theta)`` after every step; returning ``True`` stops the run.

    Returns
    -------
    Trajectory

    Examples
    --------
    The delta rule as GD on a linear associator:

    >>> traj = train(linear_associator(X, Y), "gd", lr=0.1, steps=200)   # doctest: +SKIP
    """
    opt = optimiser if isinstance(optimiser, Optimiser) else _make_optimiser(optimiser, **options)
    if isinstance(optimiser, Optimiser) and options:
        raise SpecError(None, "optimiser", "options only with an optimiser name", repr(sorted(options)))
    if theta0 is None:
        if not hasattr(objective, "initial"):
            raise SpecError(None, "theta0", "a starting parameter vector", "None")
        theta0 = objective.initial()
    theta = np.array(theta0, float).reshape(-1)
    if theta.size != objective.dim:
        raise SpecError(None, "theta0", f"a vector of {objective.dim} parameters", f"{theta.size}")
    lr = float(lr)
    if not lr > 0:
        raise SpecError(None, "lr", "a positive learning rate", repr(lr))
    steps, record_every = int(steps), max(1, int(record_every))
    rng = np.random.default_rng(seed)
    oracle = _Oracle(objective, rng)
    state = opt.init(theta)
    dt = opt.time_per_step(lr)
    ks, thetas, values, ngrad = [0], [theta.copy()], [objective.value(theta)], [0]
    diverged = False
    for k in range(steps):
        with np.errstate(over="ignore", invalid="ignore"):
            theta, state = opt.step(theta, state, k, lr, oracle)
        bad = not np.all(np.isfinite(theta)) or np.linalg.norm(theta) > max_norm
        if bad or (k + 1) % record_every == 0 or k + 1 == steps:
            ks.append(k + 1)
            thetas.append(theta.copy())
            with np.errstate(over="ignore", invalid="ignore"):
                values.append(objective.value(theta) if not bad else np.inf)
            ngrad.append(oracle.n_grad)
        if bad:
            diverged = True
            break
        if callback is not None and callback(k + 1, theta):
            break
    ks = np.array(ks)
    return Trajectory(opt.name, opt.hyperparameters(), lr, int(seed), ks, ks * dt, np.array(thetas),
                      np.array(values, float), np.array(ngrad), diverged, getattr(objective, "sign", 1.0),
                      getattr(objective, "name", type(objective).__name__))


def against_gradient_flow(objective, optimiser="gd", theta0=None, lr=0.01, steps=100, seed=0, **options):
    """An optimiser's trajectory next to the continuous-time solution it discretises.

    The reference is the gradient flow :math:`\\dot\\theta = -\\nabla f` at the times
    :math:`t_k = k\\,\\tau(\\eta)` (``time_per_step``: :math:`\\eta`, or :math:`\\eta/(1-\\beta)`
    with momentum) — exact for :class:`Quadratic`, a tight DOP853 solve otherwise; for
    Nesterov with ``beta="schedule"`` it is the Nesterov ODE at :math:`t_k = k\\sqrt\\eta`.

    Returns
    -------
    dict
        ``trajectory`` (:class:`Trajectory`), ``times``, ``flow`` (reference states),
        ``flow_values``, ``error`` (:math:`\\lVert\\theta_k - \\theta(t_k)\\rVert` per record),
        ``reference``.
    """
    from ._continuous import gradient_flow, nesterov_ode

    opt = optimiser if isinstance(optimiser, Optimiser) else _make_optimiser(optimiser, **options)
    traj = train(objective, opt, theta0, lr, steps, seed)
    th0 = traj.thetas[0]
    if opt.reference == "nesterov_ode":
        flow = nesterov_ode(objective, th0, traj.times)
    else:
        flow = gradient_flow(objective, th0, traj.times)
    err = np.linalg.norm(traj.thetas - flow, axis=1)
    return {"trajectory": traj, "times": traj.times, "flow": flow,
            "flow_values": np.array([objective.value(th) for th in flow]), "error": err,
            "reference": opt.reference}


def ascend(f, grad, theta0, lr=0.01, steps=100, optimiser="gd", seed=0, **options):
    """Gradient *ascent* on :math:`f` — ``train`` on :math:`-f`; ``trajectory.objective_values`` is :math:`f`.

    Examples
    --------
    >>> traj = ascend(lambda w: -np.sum((w - 1)**2), lambda w: -2*(w - 1), np.zeros(2), lr=0.1, steps=100)
    >>> np.allclose(traj.theta, 1)
    True
    """
    from ._objectives import Objective

    theta0 = np.asarray(theta0, float)
    obj = Objective(f, grad, theta0.size, maximise=True, name=getattr(f, "__name__", "objective"))
    return train(obj, optimiser, theta0, lr, steps, seed, **options)


def stability_limits(names=None, **options_by_name):
    """Real-axis stability limits of the registered optimisers with default hyperparameters.

    ``stability_limits(heavy_ball={"beta": 0.5})`` changes one optimiser's options.
    Returns ``{name: limit}``.
    """
    names = list(OPTIMISERS) if names is None else list(names)
    return {n: _make_optimiser(n, **options_by_name.get(n, {})).stability_limit() for n in names}
