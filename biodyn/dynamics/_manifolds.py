r"""Stable and unstable manifolds of saddle points of flows.

At a hyperbolic saddle :math:`x^*` with Jacobian :math:`J = Df(x^*)`, the unstable manifold
:math:`W^u` is tangent to the span of the eigenvectors with :math:`\operatorname{Re}\lambda > 0`
and the stable manifold :math:`W^s` to those with :math:`\operatorname{Re}\lambda < 0`
(stable manifold theorem; Guckenheimer & Holmes 1983, section 1.3; Strogatz 2015, section 6.4).

Method (the orbit-integration method of the literature, e.g. Krauskopf et al. 2005, section 2):

* a **one-dimensional** manifold (a single eigenvalue of its sign, real) has two branches;
  each is the orbit started at :math:`x^* \pm \delta\,v` (``v`` the unit eigenvector,
  :math:`\delta` = ``offset`` times the box size), integrated forward in time for
  :math:`W^u` and backward (the flow of :math:`-f`) for :math:`W^s`;
* a **two-dimensional** manifold of a 3-D flow (two eigenvalues of one sign: a real pair or a
  complex pair, whose eigenplane is spanned by the real and imaginary parts) is returned as
  a mesh of ``n_orbits`` orbits started on the circle of radius :math:`\delta` in the
  eigenplane. Orbits are not re-meshed as they separate (Krauskopf & Osinga's geodesic-level-set
  method would), so far from the saddle the mesh is coarse: a picture and a set of points on
  the manifold, not a triangulation.

Integration is classical RK4 with the step chosen for a fixed arc length (``ds`` = 0.5 % of
the box diagonal, at most ``h_max``), so that slow passages near the saddle are not
undersampled and fast excursions are resolved. An orbit stops, and says where it ended
(``end``), when it

* ``"fixed point"``: comes within ``1e-3`` box sizes of a fixed point (``end_index`` in the
  list of fixed points; for a saddle it is a heteroclinic or homoclinic connection to the
  accuracy of the integration);
* ``"left the box"``: leaves the box widened by half its size on every side (or diverges);
* ``"bounded"``: reaches ``duration``, or an arc length of ``max_length`` box diagonals
  (default 20), inside the box without approaching a fixed point — it tends to a cycle or
  another bounded attractor (not identified here; on a chaotic attractor such as Lorenz's the
  orbit is cut there).

References
----------
Guckenheimer J, Holmes P (1983) Nonlinear Oscillations, Dynamical Systems, and Bifurcations of
Vector Fields. Springer, New York. doi:10.1007/978-1-4612-1140-2
Krauskopf B, Osinga HM, Doedel EJ, Henderson ME, Guckenheimer J, Vladimirsky A, Dellnitz M,
Junge O (2005) A survey of methods for computing (un)stable manifolds of vector fields.
Int J Bifurcat Chaos 15:763-791. doi:10.1142/S0218127405012533
Strogatz SH (2015) Nonlinear Dynamics and Chaos, 2nd ed. Westview Press.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field

import numpy as np

from ..errors import BiodynError

__all__ = ["Manifold", "saddle_manifolds", "integrate_orbit"]


@dataclass
class Manifold:
    """One branch (1-D) or the orbit mesh (2-D) of a stable or unstable manifold.

    Attributes
    ----------
    kind : {"stable", "unstable"}
    dimension : int
        1 or 2.
    saddle : (n,) array
        The saddle (SI).
    eigenvalues : (d,) complex array
        The eigenvalues whose eigenspace the manifold is tangent to (per time unit).
    directions : (d, n) array
        Unit eigenvector (1-D), or an orthonormal basis of the eigenplane (2-D).
    orbits : list of (m, n) arrays
        One orbit (1-D branch: ``sign`` says which side of the saddle) or ``n_orbits`` (2-D),
        each starting next to the saddle, in the order of integration (time running backward
        along a stable manifold).
    ends : list of str
        Per orbit: ``"fixed point"``, ``"left the box"`` or ``"bounded"`` (see the module).
    end_index : list of int or None
        Per orbit, the index of the fixed point reached.
    sign : int
        +1 or -1 (which side of the eigenvector) for 1-D branches, 0 for 2-D meshes.
    """

    kind: str
    dimension: int
    saddle: np.ndarray
    eigenvalues: np.ndarray
    directions: np.ndarray
    orbits: list
    ends: list
    end_index: list
    sign: int = 0
    extra: dict = dc_field(default_factory=dict)

    @property
    def points(self):
        """The orbit of a 1-D branch (``(m, n)``), or all points of a 2-D mesh stacked."""
        return self.orbits[0] if len(self.orbits) == 1 else np.concatenate(self.orbits)

    @property
    def end(self):
        """Where a 1-D branch ends (the first orbit's end for a mesh)."""
        return self.ends[0]

    def as_dict(self, field=None, components=None, max_points=1500):
        """JSON-ready: ``{"kind", "dimension", "sign", "eigenvalues", "directions",
        "orbits": [{"end", "end_index", "points": {name: [...]}}]}`` (SI values)."""
        n = len(self.saddle)
        names = field.names if field is not None else [f"x{k}" for k in range(n)]
        comps = list(range(n)) if components is None else list(components)
        orbits = []
        for X, end, idx in zip(self.orbits, self.ends, self.end_index):
            stride = max(1, int(np.ceil(len(X) / max_points)))
            sel = np.r_[np.arange(0, len(X), stride), len(X) - 1] if len(X) else np.arange(0)
            sel = np.unique(sel)
            orbits.append({"end": end, "end_index": idx,
                           "points": {names[k]: [float(v) for v in X[sel, k]] for k in comps}})
        return {"kind": self.kind, "dimension": self.dimension, "sign": int(self.sign),
                "saddle": {names[k]: float(self.saddle[k]) for k in range(n)},
                "eigenvalues": [[float(np.real(e)), float(np.imag(e))] for e in self.eigenvalues],
                "directions": [[float(v) for v in d] for d in self.directions],
                "orbits": orbits}


def integrate_orbit(field, x0, *, direction=1.0, box, duration, ds, h_max, targets=(),
                    near=1e-3, ignore_until=None, max_steps=200000):
    """RK4 orbit of ``direction * f`` from ``x0`` with arc-length steps; stops at a target
    point, outside ``box`` widened by half, or at ``duration``.

    Returns
    -------
    points : (m, n) array
    end : str
        ``"fixed point"``, ``"left the box"`` or ``"bounded"``.
    index : int or None
        The target reached.
    """
    lo, hi = box
    size = np.maximum(hi - lo, 1e-300)
    wlo, whi = lo - 0.5 * size, hi + 0.5 * size
    targets = [np.asarray(p, float) for p in targets]
    x = np.array(x0, float)
    pts = [x.copy()]
    t = 0.0
    far = ignore_until if ignore_until is not None else 0.0
    start = x.copy()
    left_start = False

    def g(y):
        return direction * field.f(y)

    for _ in range(max_steps):
        fx = g(x)
        speed = float(np.linalg.norm(fx / size))
        if not np.isfinite(speed):
            return np.array(pts), "left the box", None
        h = min(h_max, ds / speed) if speed > 0 else h_max
        h = min(h, duration - t)
        k1 = fx
        k2 = g(x + 0.5 * h * k1)
        k3 = g(x + 0.5 * h * k2)
        k4 = g(x + h * k3)
        x = x + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        t += h
        if not np.all(np.isfinite(x)) or np.any(x < wlo) or np.any(x > whi):
            return np.array(pts), "left the box", None
        pts.append(x.copy())
        if not left_start and np.max(np.abs(x - start) / size) > far:
            left_start = True
        if left_start:
            for k, p in enumerate(targets):
                if np.max(np.abs(x - p) / size) < near:
                    return np.array(pts), "fixed point", k
        if t >= duration * (1 - 1e-12):
            return np.array(pts), "bounded", None
    return np.array(pts), "bounded", None   # max_steps: the arc-length limit


def _real_basis(vecs):
    """Orthonormal real basis of the span of (possibly complex-conjugate) eigenvectors."""
    cols = []
    for v in vecs.T:
        cols.append(np.real(v))
        if np.any(np.abs(np.imag(v)) > 1e-12):
            cols.append(np.imag(v))
    q, r = np.linalg.qr(np.array(cols).T)
    keep = np.abs(np.diag(r)) > 1e-10 * np.max(np.abs(np.diag(r)))
    return q[:, keep].T


def saddle_manifolds(field, saddle, *, fixed_points=None, box=None, offset=1e-4, duration=None,
                     n_orbits=40, kinds=("stable", "unstable"), ds=None, h_max=None, max_length=20.0):
    r"""Stable and unstable manifolds of a saddle of a flow (see the module docstring).

    Parameters
    ----------
    field : Field
        An autonomous flow.
    saddle : FixedPoint or (n,) array
    fixed_points : list of FixedPoint, optional
        Where orbits may end (default: :func:`find_fixed_points` of ``field``).
    box : (lo, hi), optional
        Default :func:`search_box`. Orbits stop outside it widened by half on every side.
    offset : float
        Start at ``offset`` times the box size (max norm) from the saddle along the
        eigenvector(s).
    duration : float, optional
        Longest orbit in the field's time units (default ``40 / r_min``, ``r_min`` the
        smallest non-zero :math:`|\operatorname{Re}\lambda|` over the fixed points).
    n_orbits : int
        Orbits of the mesh of a 2-D manifold.
    kinds : tuple
        ``"stable"`` and/or ``"unstable"``.
    max_length : float
        Longest orbit, in box diagonals (arc length in box-scaled variables).

    Returns
    -------
    list of Manifold
        Two branches per 1-D manifold (sign +1, -1), one mesh per 2-D manifold. Manifolds of
        dimension above 2 are not computed (a :class:`BiodynError` if that is all there is).
    """
    from ._fixed_points import find_fixed_points, search_box

    if field.is_map:
        raise BiodynError(f"{field.name} is a map: manifolds are computed for flows only")
    if not field.autonomous:
        raise BiodynError(f"{field.name}: the field depends on time (forcing); saddles and their "
                          "manifolds need an autonomous flow (use parameters without forcing)")
    x_s = np.asarray(getattr(saddle, "state", saddle), float)
    J = field.jacobian(x_s)
    lam, vec = np.linalg.eig(J)
    scale = max(float(np.max(np.abs(lam))), 1e-300)
    if np.any(np.abs(lam.real) <= 1e-7 * scale):
        raise BiodynError(f"{field.name}: the point is not hyperbolic (an eigenvalue with zero real "
                          "part); its stable and unstable manifolds are not defined by linearisation")
    if not (np.any(lam.real > 0) and np.any(lam.real < 0)):
        raise BiodynError(f"{field.name}: the point is not a saddle (eigenvalues {np.round(lam, 6)})")
    if fixed_points is None:
        fixed_points = find_fixed_points(field)
    fps = [np.asarray(getattr(p, "state", p), float) for p in fixed_points]
    lo, hi = box if box is not None else search_box(field)
    size = np.maximum(hi - lo, 1e-300)
    if duration is None:
        rates = [abs(e.real) for p in fps for e in np.linalg.eigvals(field.jacobian(p))]
        rates = [r for r in rates + list(np.abs(lam.real)) if r > 1e-9 * scale]
        duration = 40.0 / min(rates)
    ds = ds if ds is not None else 0.005 * float(np.sqrt(field.n))
    h_max = h_max if h_max is not None else 0.1 / scale
    delta = offset * size
    out = []
    for kind in kinds:
        if kind not in ("stable", "unstable"):
            raise BiodynError(f"unknown manifold kind {kind!r} (expected 'stable' or 'unstable')")
        sel = lam.real > 0 if kind == "unstable" else lam.real < 0
        dim = int(np.sum(sel))
        direction = 1.0 if kind == "unstable" else -1.0
        basis = _real_basis(vec[:, sel])
        common = dict(direction=direction, box=(lo, hi), duration=duration, ds=ds, h_max=h_max,
                      targets=fps, ignore_until=10 * offset,
                      max_steps=int(np.ceil(max_length * np.sqrt(field.n) / ds)))
        if dim == 1:
            v = basis[0] / np.linalg.norm(basis[0])
            v = v if v[np.argmax(np.abs(v))] > 0 else -v   # sign +1: largest component positive
            for sign in (1, -1):
                X, end, idx = integrate_orbit(field, x_s + sign * delta * v, **common)
                X = np.vstack([x_s, X])
                out.append(Manifold(kind, 1, x_s, lam[sel], v[None, :], [X], [end], [idx], sign))
        elif dim == 2:
            orbits, ends, idxs = [], [], []
            for th in np.linspace(0, 2 * np.pi, n_orbits, endpoint=False):
                d = np.cos(th) * basis[0] + np.sin(th) * basis[1]
                X, end, idx = integrate_orbit(field, x_s + delta * d, **common)
                orbits.append(np.vstack([x_s, X]))
                ends.append(end)
                idxs.append(idx)
            out.append(Manifold(kind, 2, x_s, lam[sel], basis, orbits, ends, idxs, 0))
    if not out:
        raise BiodynError(f"{field.name}: the saddle's manifolds have dimension above 2; only 1-D "
                          "and 2-D manifolds are computed")
    return out
