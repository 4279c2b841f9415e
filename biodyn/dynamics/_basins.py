r"""Basins of attraction: where the flow takes each initial state.

Every initial state of a set — a grid on a 2-D slice of state space (the basin map), or
states drawn uniformly in a box — is integrated (classical RK4, all states at once) for
``duration`` and assigned to the attractor it reaches:

* a **fixed point**, when its final state is within ``tol`` (max norm, relative to the box)
  of one of the fixed points found by :func:`find_fixed_points` (a state started exactly on a
  saddle's stable manifold ends at the saddle: it is counted there, a set of measure zero);
* **unbounded**, when it leaves the box enlarged 100 times (or becomes non-finite);
* a **bounded attractor** otherwise (a limit cycle or a chaotic attractor — not told apart
  here): integration continues for a further quarter of ``duration``; then the orbit of one
  such state is followed for ``duration`` more, and every state whose final point lies
  within ``tol_bounded`` (relative to the box, max norm) of that orbit belongs to the same
  attractor; the next unassigned state's orbit is followed in turn, and joins an attractor
  found before if it comes within ``tol_bounded`` of that attractor's orbits (two orbits on
  one chaotic attractor come close; orbits on distinct attractors never do), else starts a
  new one. This is independent of the phase on a cycle when ``duration`` covers a period.
  In more than ``MAX_SEPARATED`` (10) dimensions the bounded states are reported as one group,
  not told apart (orbits on one chaotic attractor there rarely come close within a run).

The fraction of states in each basin comes with a Wilson score interval (Wilson 1927; Brown,
Cai & DasGupta 2001) at level ``confidence``: for states drawn at random this is the
confidence interval of the basin's share of the box's volume (the probability that a
uniformly drawn start ends there); for a grid the states are not random, the fraction is a
quadrature of the area and the interval is reported as if the grid points were independent
draws (an approximation, stated in the result).

The state space of a flow divides into these basins (Strogatz 2015, section 6.2; for the
double-well Duffing oscillator the boundary is the stable manifold of the saddle,
Guckenheimer & Holmes 1983, section 2.2).

References
----------
Wilson EB (1927) Probable inference, the law of succession, and statistical inference.
J Am Stat Assoc 22:209-212. doi:10.1080/01621459.1927.10502953
Brown LD, Cai TT, DasGupta A (2001) Interval estimation for a binomial proportion.
Stat Sci 16:101-133. doi:10.1214/ss/1009213286
Strogatz SH (2015) Nonlinear Dynamics and Chaos, 2nd ed. Westview Press.
Guckenheimer J, Holmes P (1983) Nonlinear Oscillations, Dynamical Systems, and Bifurcations of
Vector Fields. Springer. doi:10.1007/978-1-4612-1140-2
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BiodynError, SpecError

__all__ = ["Basins", "basins", "wilson_interval", "batch_field"]

#: above this dimension, bounded attractors (cycles, chaos) are not told apart (one group)
MAX_SEPARATED = 10


def wilson_interval(k, n, confidence=0.95):
    r"""Wilson score interval of a binomial proportion :math:`k/n`:

    .. math:: \frac{\hat p + z^2/2n \pm z\sqrt{\hat p(1-\hat p)/n + z^2/4n^2}}{1 + z^2/n}

    with :math:`z` the :math:`1 - (1-c)/2` quantile of the standard normal. Returns ``(lo, hi)``.
    """
    from scipy.stats import norm

    if n <= 0:
        return 0.0, 1.0
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z / den * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # exact at the ends (k = 0: lower bound 0; k = n: upper bound 1), not 1 - 2e-16
    lo = 0.0 if k <= 0 else max(0.0, centre - half)
    hi = 1.0 if k >= n else min(1.0, centre + half)
    return float(lo), float(hi)


def batch_field(field):
    """``F(X)``: the field evaluated on the rows of ``X`` (``(M, n)`` -> ``(M, n)``), in one
    vectorised call for single-unit models (the lambdified equations take arrays), else row
    by row."""
    if field._single:
        g0 = field.groups[0]
        tail = field._tail
        scale = 1.0 if field.is_map else field._T

        def F(X):
            with np.errstate(all="ignore"):
                vals = g0.compiled.f(*X.T, *tail, 0.0)
            out = np.empty_like(X)
            for k, v in enumerate(vals):
                out[:, k] = v
            return out * scale

        probe = np.random.default_rng(0).standard_normal((3, field.n)) * 0.1 + field.x0()
        try:
            if np.allclose(F(probe), np.array([field.f(p) for p in probe]), rtol=1e-10, atol=1e-300,
                           equal_nan=True):
                return F
        except (TypeError, ValueError):
            pass
    return lambda X: np.array([field.f(x) for x in X])


@dataclass
class Basins:
    """Result of :func:`basins`.

    Attributes
    ----------
    starts : (M, n) array
        The initial states (SI).
    labels : (M,) int array
        Index into ``attractors`` of the attractor each start reaches.
    attractors : list of dict
        ``{"kind": "fixed point"|"bounded"|"unbounded", "type" (fixed-point class, or
        "cycle or chaotic", or "unbounded"), "state" (fixed point) or "range" ((n, 2) min/max
        over the recorded orbit), "count", "fraction", "interval"}``.
    confidence : float
    grid : dict or None
        For a basin map: ``{"x", "y" (component indices), "grid_x", "grid_y", "reference"}``;
        ``labels`` then has ``len(grid_y) * len(grid_x)`` entries, row-major in ``y``.
    duration, dt : float
        Integration time and step (time units).
    """

    starts: np.ndarray
    labels: np.ndarray
    attractors: list
    confidence: float
    grid: dict | None
    duration: float
    dt: float
    sampling: str
    seed: int

    @property
    def label_map(self):
        """``(len(grid_y), len(grid_x))`` labels of a basin map."""
        if self.grid is None:
            raise BiodynError("not a basin map (the starts were sampled, not a grid)")
        return self.labels.reshape(len(self.grid["grid_y"]), len(self.grid["grid_x"]))

    def as_dict(self, field=None):
        n = self.starts.shape[1]
        names = field.names if field is not None else [f"x{k}" for k in range(n)]
        atts = []
        for a in self.attractors:
            d = {k: v for k, v in a.items() if k not in ("state", "range")}
            if "state" in a:
                d["state"] = {names[k]: float(a["state"][k]) for k in range(n)}
            if "range" in a:
                d["range"] = {names[k]: [float(a["range"][k, 0]), float(a["range"][k, 1])]
                              for k in range(n)}
            d["interval"] = [float(v) for v in a["interval"]]
            atts.append(d)
        out = {"attractors": atts, "confidence": self.confidence, "n_starts": int(len(self.labels)),
               "sampling": self.sampling, "duration": self.duration, "dt": self.dt,
               "interval_method": "Wilson score" + (" (grid points treated as independent draws)"
                                                    if self.grid is not None else "")}
        if self.grid is not None:
            g = self.grid
            out.update({"x": names[g["x"]], "y": names[g["y"]], "grid_x": list(map(float, g["grid_x"])),
                        "grid_y": list(map(float, g["grid_y"])),
                        "labels": self.label_map.tolist(),
                        "reference": {names[k]: float(g["reference"][k]) for k in range(n)}})
        else:
            out["labels"] = self.labels.tolist()
        return out


def basins(field, *, grid=None, x=None, y=None, samples=None, box=None, reference=None,
           fixed_points=None, duration=None, dt=None, tol=1e-3, tol_bounded=0.05, seed=0,
           max_steps=500000,
           confidence=0.95):
    r"""Basins of attraction of a flow, from a grid on a 2-D slice or from sampled states.

    Parameters
    ----------
    field : Field
        An autonomous flow.
    grid : int, optional
        Points per axis of a basin map on the plane of components ``x`` and ``y`` (names or
        indices; default the first two), the other components held at ``reference``
        (default the first stable fixed point, else the initial state). The default when
        neither ``grid`` nor ``samples`` is given: a 101 x 101 map for 2-D flows, 2000
        samples otherwise.
    samples : int or (M, n) array, optional
        Number of states drawn uniformly in the box (with ``seed``), or the states.
    box : (lo, hi), optional
        Default :func:`search_box` (the spec's ``[ranges]``).
    fixed_points : list of FixedPoint, optional
        Default :func:`find_fixed_points`.
    duration : float, optional
        Time units (default ``40 / r``, ``r`` the slowest non-zero decay rate
        :math:`|\operatorname{Re}\lambda|` of the stable fixed points, at least 200 steps;
        8000 steps of ``dt`` — 400 of the fastest linear time scales — when there is none).
    dt : float, optional
        Default: 5 % of the fastest linear time scale over the fixed points and box corners.
    tol, tol_bounded : float
        See the module docstring (relative to the box).
    max_steps : int
        Refuse (with a message naming the box) when ``duration/dt`` exceeds it.
    confidence : float
        Level of the Wilson intervals.

    Returns
    -------
    Basins
    """
    from scipy.spatial import cKDTree

    from ._fixed_points import find_fixed_points, search_box
    from ._simulate import default_dt

    if field.is_map:
        raise BiodynError(f"{field.name} is a map: basins are computed for flows only")
    if not field.autonomous:
        raise BiodynError(f"{field.name}: the field depends on time (forcing); basins need an "
                          "autonomous flow (use parameters without forcing)")
    if grid is not None and samples is not None:
        raise SpecError("<arguments>", "--grid/--samples", "one of a grid or samples", "both")
    n = field.n
    if grid is None and samples is None:
        if n == 2:
            grid = 101
        else:
            samples = 2000
    if grid is not None and (int(grid) != grid or grid < 2):
        raise SpecError("<arguments>", "--grid", "an integer >= 2 (points per axis)", repr(grid))
    if fixed_points is None:
        fixed_points = find_fixed_points(field, seed=seed)
    lo, hi = box if box is not None else search_box(field)
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    size = np.maximum(hi - lo, 1e-300)
    fps = [np.asarray(p.state, float) for p in fixed_points]
    stable = [p for p in fixed_points if p.stable]
    if reference is None:
        reference = stable[0].state if stable else field.x0(seed)
    reference = np.asarray(reference, float)
    rng = np.random.default_rng([int(seed), 31337])
    grid_info = None
    if grid is not None:
        if n < 2:
            raise BiodynError(f"{field.name} has one state variable: use samples, not a 2-D grid")
        ix = int(field.indices(x)[0]) if isinstance(x, str) else (0 if x is None else int(x))
        iy = int(field.indices(y)[0]) if isinstance(y, str) else ((1 if ix != 1 else 0) if y is None else int(y))
        if ix == iy:
            raise SpecError("<arguments>", "--y", "a variable other than --x", repr(y))
        gx = np.linspace(lo[ix], hi[ix], int(grid))
        gy = np.linspace(lo[iy], hi[iy], int(grid))
        X, Y = np.meshgrid(gx, gy)
        starts = np.tile(reference, (X.size, 1))
        starts[:, ix] = X.ravel()
        starts[:, iy] = Y.ravel()
        grid_info = {"x": ix, "y": iy, "grid_x": gx, "grid_y": gy, "reference": reference}
        sampling = f"grid {int(grid)} x {int(grid)}"
    elif np.ndim(samples) == 0:
        m = int(samples)
        if m < 1:
            raise SpecError("<arguments>", "--samples", "a positive number of initial states", repr(samples))
        starts = lo + rng.random((m, n)) * size
        sampling = f"{m} states uniform in the box (seed {int(seed)})"
    else:
        starts = np.atleast_2d(np.asarray(samples, float))
        if starts.shape[1] != n:
            raise SpecError("<arguments>", "samples", f"states with {n} components", f"{starts.shape[1]}")
        sampling = f"{len(starts)} given states"
    # time step and duration
    corners = np.array([lo, hi, np.where(np.arange(n) % 2, lo, hi), np.where(np.arange(n) % 2, hi, lo)])
    probe = np.vstack([corners] + ([np.array(fps)] if fps else []))
    if dt is None:
        dt = default_dt(field, reference, samples=probe, fraction=0.05)
    rates = []
    for p in stable:
        r = np.abs(np.asarray(p.eigenvalues).real)
        rates += list(r[r > 0])
    if duration is None:
        duration = 40.0 / min(rates) if rates else 400.0 * dt / 0.05
        duration = max(duration, 200 * dt)
    F = batch_field(field)
    ok = bool(np.isfinite(dt) and dt > 0 and np.isfinite(duration) and duration / dt <= max_steps)
    n_steps = int(np.ceil(duration / dt)) if ok else 0
    if not ok:
        box_text = ", ".join(f"{nm} in [{a:.3g}, {b:.3g}] {u}" for nm, a, b, u
                             in zip(field.names[:4], lo, hi, field.units))
        raise BiodynError(
            f"{field.name}: the time step from the box's fastest time scale is dt = {dt:.3g} "
            f"{field.time_unit_text}, so {duration:.3g} would take more than {max_steps} steps: "
            f"the box ({box_text}) holds states where the field is very fast (e.g. the exponential "
            "upstroke of a spiking neuron). Give a smaller box (--range VAR LO HI), or --dt and "
            "--duration")
    Xs = starts.copy()
    alive = np.ones(len(Xs), bool)
    big_lo, big_hi = lo - 50 * size, hi + 50 * size

    def rk4(Z):
        k1 = F(Z)
        k2 = F(Z + 0.5 * dt * k1)
        k3 = F(Z + 0.5 * dt * k2)
        k4 = F(Z + dt * k3)
        return Z + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)

    P = np.array(fps) if fps else np.zeros((0, n))

    def nearest(Z):
        if not len(P):
            return np.full(len(Z), -1), np.full(len(Z), np.inf)
        d = np.max(np.abs(Z[:, None, :] - P[None, :, :]) / size, axis=2)
        return np.argmin(d, axis=1), np.min(d, axis=1)

    stable_idx = {k for k, p in enumerate(fixed_points) if p.stable}
    prev = np.full_like(Xs, np.nan)
    for step in range(n_steps):
        with np.errstate(all="ignore"):
            Xs[alive] = rk4(Xs[alive])
        out = ~np.all(np.isfinite(Xs), axis=1) | np.any(Xs < big_lo, axis=1) | np.any(Xs > big_hi, axis=1)
        alive &= ~out
        if step % 50 == 49:  # stop early once every state sits on a stable point (or rests
            k, d = nearest(Xs[alive])   # exactly on another fixed point) or has left
            still = np.all(np.abs(Xs[alive] - prev[alive]) <= 1e-12 * size, axis=1)
            if np.all((d < 0.1 * tol) & (np.isin(k, list(stable_idx)) | still)):
                break
            prev = Xs.copy()
    labels = np.full(len(Xs), -1)
    attractors = []
    fp_label = {}
    k, d = nearest(Xs)
    at_fp = alive & (d < tol)
    for j in np.unique(k[at_fp]):
        fp_label[int(j)] = len(attractors)
        p = fixed_points[int(j)]
        attractors.append({"kind": "fixed point", "type": p.type, "state": np.asarray(p.state, float),
                           "fixed_point_index": int(j)})
        labels[at_fp & (k == j)] = fp_label[int(j)]
    rest = np.where(alive & ~at_fp)[0]
    if len(rest):
        # bounded, not at a fixed point: run on (a quarter of the duration more), then group
        # by orbits — a state joins an attractor when its final point lies within tol_bounded
        # of the representative's recorded orbit (phase-independent once that covers a period)
        Z = Xs[rest].copy()
        ok = np.ones(len(Z), bool)
        for _ in range(max(1, n_steps // 4)):
            with np.errstate(all="ignore"):
                Z[ok] = rk4(Z[ok])
            bad = ~np.all(np.isfinite(Z), axis=1) | np.any(Z < big_lo, axis=1) | np.any(Z > big_hi, axis=1)
            ok &= ~bad
        alive[rest[~ok]] = False
        todo = np.where(ok)[0]
        clusters = []     # [orbits (scaled), tree, attractor index]
        if len(todo) and n > MAX_SEPARATED:
            # in many dimensions orbits on one chaotic attractor rarely come within tol_bounded
            # of each other (each start would follow an orbit of its own, with a k-d tree in n
            # dimensions): the bounded states are reported together, not told apart
            attractors.append({"kind": "bounded", "type": f"cycle or chaotic (not separated in "
                                                          f"more than {MAX_SEPARATED} dimensions)",
                               "range": np.stack([Z[todo].min(axis=0), Z[todo].max(axis=0)], axis=1)})
            labels[rest[todo]] = len(attractors) - 1
            todo = todo[:0]
        while len(todo):
            orbit = [Z[todo[0]][None, :]]
            z = Z[todo[0]][None, :].copy()
            for _ in range(n_steps):
                with np.errstate(all="ignore"):
                    z = rk4(z)
                if not np.all(np.isfinite(z)):
                    break
                orbit.append(z.copy())
            orbit = np.concatenate(orbit) / size
            target = None
            for c in clusters:   # the same attractor if this orbit comes close to its orbits
                dist, _ = c[1].query(orbit, k=1, p=np.inf, distance_upper_bound=tol_bounded)
                if np.any(np.isfinite(dist)):
                    target = c
                    break
            if target is None:
                attractors.append({"kind": "bounded", "type": "cycle or chaotic"})
                target = [[orbit], None, len(attractors) - 1]
                clusters.append(target)
            else:
                target[0].append(orbit)
            allpts = np.concatenate(target[0])
            target[1] = cKDTree(allpts)
            a = attractors[target[2]]
            a["range"] = np.stack([allpts.min(axis=0) * size, allpts.max(axis=0) * size], axis=1)
            dist, _ = target[1].query(Z[todo] / size, k=1, p=np.inf, distance_upper_bound=tol_bounded)
            hits = todo[np.isfinite(dist)]
            hits = np.union1d(hits, todo[:1])
            labels[rest[hits]] = target[2]
            todo = np.setdiff1d(todo, hits)
    if np.any(~alive):
        labels[~alive] = len(attractors)
        attractors.append({"kind": "unbounded", "type": "unbounded"})
    M = len(labels)
    for j, a in enumerate(attractors):
        c = int(np.sum(labels == j))
        a["count"] = c
        a["fraction"] = c / M
        a["interval"] = wilson_interval(c, M, confidence)
    return Basins(starts, labels, attractors, confidence, grid_info, float(duration), float(dt),
                  sampling, int(seed))
