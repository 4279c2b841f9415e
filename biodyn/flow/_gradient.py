r"""Is a flow a gradient flow? Jacobian symmetry and the Helmholtz–Hodge decomposition.

**Gradient test.** A smooth field :math:`f` on a simply connected domain is a gradient,
:math:`f = \nabla\Phi`, iff its Jacobian is symmetric everywhere (the curl vanishes; Poincaré's
lemma). Over sample points :math:`x_k` of the domain the normalised asymmetry is

.. math::

    a = \frac{\big(\sum_k \|J_k - J_k^\top\|_F^2\big)^{1/2}}{\big(\sum_k \|J_k\|_F^2\big)^{1/2}}
    \in [0, 2]

(0 for a symmetric Jacobian, 2 for an antisymmetric one). The verdict compares :math:`a` with a
tolerance: for an analytic field the numerical error of the differentiated Jacobian (``1e-7``);
for a measured field the level that measurement noise alone reaches with probability 1 %. With
independent errors of s.d. :math:`\sigma_{ij}` on the entries, under symmetry every
:math:`D_{ij} = J_{ij} - J_{ji}` (:math:`i < j`) is :math:`\mathcal N(0, v_{ij})`,
:math:`v_{ij} = \sigma_{ij}^2 + \sigma_{ji}^2`, so :math:`\chi^2 = \sum D_{ij}^2/v_{ij}` is
:math:`\chi^2_m` (:math:`m` pairs over all points); the verdict is "gradient" iff
:math:`\chi^2 \le \chi^2_{m, 0.99}`, and the tolerance reported is the asymmetry at that
quantile, :math:`(2\,\bar v\,\chi^2_{m,0.99})^{1/2}/(\sum_k\|J_k\|_F^2)^{1/2}` with
:math:`\bar v` the mean variance.

**Decomposition.** The gradient part is the least-squares potential on the domain,

.. math::

    \Phi = \arg\min_{\Phi \in \mathcal P_d} \sum_k \omega_k \|f(x_k) - \nabla\Phi(x_k)\|^2,

over polynomials of degree :math:`\le d` in coordinates scaled to :math:`[-1, 1]` (weights
:math:`\omega = 1/\sigma^2` for measured fields). This is the discrete :math:`L^2` projection
onto gradient fields — the Helmholtz–Hodge decomposition :math:`f = \nabla\Phi + r` whose
remainder :math:`r` is orthogonal to every gradient on the samples (divergence-free with no flux
through the boundary, in the continuum limit). Because it is an orthogonal projection,
:math:`\|f\|^2 = \|\nabla\Phi\|^2 + \|r\|^2`, and the fraction of the field the gradient part
explains is :math:`\|\nabla\Phi\|^2 / \|f\|^2` (1 for a gradient field whose potential the
basis contains: every polynomial field of degree below :math:`d`).

References
----------
Bhatia H, Norgard G, Pascucci V, Bremer PT (2013) The Helmholtz-Hodge decomposition — a survey.
IEEE Trans Vis Comput Graph 19:1386-1404. doi:10.1109/TVCG.2012.316
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

__all__ = ["GradientTest", "gradient_test", "Decomposition", "decompose", "sample_points",
           "ANALYTIC_TOLERANCE"]

#: Tolerance of the asymmetry of an analytic field's (differentiated) Jacobian.
ANALYTIC_TOLERANCE = 1e-7


@dataclass
class GradientTest:
    """The verdict of :func:`gradient_test`.

    Attributes
    ----------
    asymmetry : float
        :math:`a` over the sampled points.
    tolerance : float
    gradient : bool
    per_point : ndarray
        :math:`\\|J_k - J_k^\\top\\|_F / \\|J_k\\|_F` per point.
    chi2, dof, p_value : float or None
        For measured Jacobians.
    """

    asymmetry: float
    tolerance: float
    gradient: bool
    per_point: np.ndarray
    chi2: float | None = None
    dof: int | None = None
    p_value: float | None = None
    method: str = "analytic"

    def verdict(self):
        what = "a gradient flow" if self.gradient else "NOT a gradient flow"
        extra = ""
        if self.p_value is not None:
            extra = f", chi2 = {self.chi2:.3g} on {self.dof} dof, p = {self.p_value:.3g}"
        return (f"{what}: asymmetry ||J - J'||/||J|| = {self.asymmetry:.3g} "
                f"({'<=' if self.asymmetry <= self.tolerance else '>'} tolerance {self.tolerance:.3g}{extra})")


def gradient_test(jacobians, errors=None, tolerance=None, level=0.99):
    """Symmetry of the Jacobians over a domain (see the module docstring).

    Parameters
    ----------
    jacobians : (K, n, n) array
    errors : (K, n, n) array, optional
        Standard errors of measured Jacobians (then the chi-square verdict).
    tolerance : float, optional
        For analytic Jacobians (default :data:`ANALYTIC_TOLERANCE`).
    """
    from scipy.stats import chi2 as chi2_dist

    J = np.asarray(jacobians, dtype=float)
    if J.ndim == 2:
        J = J[None]
    K, n, _ = J.shape
    D = J - np.swapaxes(J, 1, 2)
    normJ = np.sqrt(np.sum(J ** 2))
    normD = np.sqrt(np.sum(D ** 2))
    per = np.sqrt(np.sum(D ** 2, axis=(1, 2))) / np.maximum(np.sqrt(np.sum(J ** 2, axis=(1, 2))), 1e-300)
    a = float(normD / normJ) if normJ > 0 else 0.0
    if n == 1:
        return GradientTest(0.0, 0.0, True, np.zeros(K), method="one-dimensional (every 1-D field "
                            "is a gradient)")
    if errors is None:
        tol = ANALYTIC_TOLERANCE if tolerance is None else float(tolerance)
        return GradientTest(a, tol, bool(a <= tol), per)
    S = np.asarray(errors, dtype=float)
    if S.ndim == 2:
        S = S[None]
    iu = np.triu_indices(n, 1)
    d = D[:, iu[0], iu[1]].ravel()
    v = (S[:, iu[0], iu[1]] ** 2 + S[:, iu[1], iu[0]] ** 2).ravel()
    v = np.maximum(v, 1e-300)
    chi2 = float(np.sum(d ** 2 / v))
    m = d.size
    q = float(chi2_dist.ppf(level, m))
    tol = float(np.sqrt(2.0 * np.mean(v) * q) / normJ) if normJ > 0 else np.inf
    p = float(chi2_dist.sf(chi2, m))
    return GradientTest(a, tol, bool(chi2 <= q), per, chi2, m, p, method="measured")


# --------------------------------------------------------------------------
# Sample points
# --------------------------------------------------------------------------


def sample_points(domain, grid=None, count=None, seed=0, margin=0.0):
    """Points of a box: a grid of ``grid`` points per dimension (default for n <= 3), else a
    Latin hypercube of ``count`` points. ``margin`` shrinks the box (fraction of each width)."""
    lo, hi = (np.asarray(d, dtype=float) for d in domain)
    n = lo.size
    width = hi - lo
    lo, hi = lo + margin * width, hi - margin * width
    if grid is None and count is None:
        grid = 9 if n <= 2 else 5 if n == 3 else None
    if grid is not None and n <= 4:
        axes = [np.linspace(a, b, int(grid)) for a, b in zip(lo, hi)]
        return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, n)
    count = int(count or max(64, 40 * n))
    rng = np.random.default_rng([int(seed), 31337])
    u = (rng.permuted(np.tile(np.arange(count), (n, 1)), axis=1).T + rng.random((count, n))) / count
    return lo + u * (hi - lo)


# --------------------------------------------------------------------------
# Helmholtz-Hodge
# --------------------------------------------------------------------------


def _exponents(n, degree):
    out = []
    for d in range(1, degree + 1):
        for combo in itertools.combinations_with_replacement(range(n), d):
            e = np.zeros(n, dtype=int)
            for i in combo:
                e[i] += 1
            out.append(e)
    return np.array(out)


@dataclass
class Decomposition:
    """:math:`f = \\nabla\\Phi + r` on sample points (see the module docstring).

    Attributes
    ----------
    points, field, gradient_part, remainder : (K, n) arrays
    fraction : float
        :math:`\\|\\nabla\\Phi\\|^2/\\|f\\|^2` (weighted for measured fields).
    degree : int
    """

    points: np.ndarray
    field: np.ndarray
    gradient_part: np.ndarray
    remainder: np.ndarray
    fraction: float
    degree: int
    coefficients: np.ndarray
    exponents: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    offset: float = 0.0
    extra: dict = field(default_factory=dict)

    def potential(self, x):
        """:math:`\\Phi(x)` (up to a constant: zero at the domain's centre)."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        u = (x - self.center) / self.scale
        monos = np.prod(u[:, None, :] ** self.exponents[None, :, :], axis=2)
        out = monos @ self.coefficients
        return out

    def gradient(self, x):
        """:math:`\\nabla\\Phi(x)`."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        return _grad_basis(x, self.exponents, self.center, self.scale) @ self.coefficients


def _grad_basis(x, E, center, scale):
    """``(K, n, P)``: d/dx_i of every monomial at every point."""
    u = (x - center) / scale
    K, n = u.shape
    P = len(E)
    G = np.zeros((K, n, P))
    for i in range(n):
        Ei = E.copy()
        coef = Ei[:, i].astype(float)
        Ei[:, i] = np.maximum(Ei[:, i] - 1, 0)
        monos = np.prod(u[:, None, :] ** Ei[None, :, :], axis=2)
        G[:, i, :] = monos * coef[None, :] / scale[i]
    return G


def decompose(points, values, errors=None, degree=None, domain=None):
    """The least-squares potential of a sampled field and the remainder (module docstring).

    Parameters
    ----------
    points, values : (K, n) arrays
    errors : (K, n) array, optional
        Standard errors (weights 1/error^2; errors floored at 1e-3 of their median).
    degree : int, optional
        Degree of the polynomial potential (default 4, lowered in high dimension so that the
        basis stays below a third of the equations).
    domain : (lo, hi), optional
        Scales the coordinates (default: the points' box).
    """
    X = np.atleast_2d(np.asarray(points, dtype=float))
    F = np.atleast_2d(np.asarray(values, dtype=float))
    K, n = X.shape
    lo, hi = (X.min(axis=0), X.max(axis=0)) if domain is None else (np.asarray(domain[0], float),
                                                                      np.asarray(domain[1], float))
    center = 0.5 * (lo + hi)
    scale = np.maximum(0.5 * (hi - lo), 1e-12)
    if degree is None:
        degree = 4
        while degree > 1 and len(_exponents(n, degree)) > K * n / 3:
            degree -= 1
    E = _exponents(n, degree)
    G = _grad_basis(X, E, center, scale)                    # (K, n, P)
    if errors is None:
        w = np.ones_like(F)
    else:   # an exactly known value (zero error, e.g. a field vanishing at w = 0) gets a large,
        # finite weight: its error is floored at 1e-3 of the median positive error
        err = np.asarray(errors, dtype=float)
        pos = err[err > 0]
        floor = 1e-3 * float(np.median(pos)) if pos.size else 1.0
        w = 1.0 / np.maximum(err, floor) ** 2
    sw = np.sqrt(w)
    A = (G * sw[:, :, None]).reshape(K * n, -1)
    b = (F * sw).ravel()
    colnorm = np.maximum(np.linalg.norm(A, axis=0), 1e-300)
    c, *_ = np.linalg.lstsq(A / colnorm, b, rcond=None)
    c = c / colnorm
    grad = np.einsum("knp,p->kn", G, c)
    rem = F - grad
    total = float(np.sum(w * F ** 2))
    fraction = float(np.sum(w * grad ** 2) / total) if total > 0 else 1.0
    dec = Decomposition(X, F, grad, rem, min(max(fraction, 0.0), 1.0), degree, c, E, center, scale)
    dec.offset = float(dec.potential(center[None, :])[0])
    return dec
