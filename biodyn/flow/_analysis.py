r"""The flow analysis of a learning scenario: field, gradient test, potential, objective, stable
states, Euler limit, and where the Brian2 simulation of the same protocol ends.

:func:`analyze` answers, for a protocol read as a scenario (:func:`~biodyn.flow.scenario`):

1. the averaged field :math:`f(w)` (:func:`~biodyn.flow.averaged_field`);
2. whether it is a gradient flow: the normalised asymmetry of its Jacobian over the domain
   (:func:`~biodyn.flow.gradient_test`);
3. the least-squares potential and the fraction of the field it explains
   (:func:`~biodyn.flow.decompose`);
4. the literature's objective and :math:`\max|f - \nabla L|`, and whether :math:`L` grows along
   the simulated trajectories (:mod:`biodyn.flow._objectives`);
5. on the unit sphere (Oja): invariance, the Riemannian gradient, and the Jacobian on the
   tangent space at the fixed points;
6. fixed points with eigenvalues and stability (:func:`biodyn.dynamics.find_fixed_points`),
   and, for rules with hard bounds, the rest points of the clipped flow on the bounds (a face
   where the free weights' field vanishes and every clipped weight is pushed outwards);
7. the Euler view: a rate rule integrated with time step :math:`dt` and learning rate
   :math:`lr` is forward Euler with step :math:`h = lr\,dt` on the averaged flow (when the
   weights move little per input draw), which loses stability at a stable state once
   :math:`|1 + h\lambda| > 1` for an eigenvalue :math:`\lambda` of the Jacobian there:
   :math:`h^* = \min_\lambda 2|\mathrm{Re}\,\lambda|/|\lambda|^2` (:math:`2/|\lambda|` for real
   :math:`\lambda`);
8. the Brian2 replay of the protocol (:func:`biodyn.protocols.run`): its final weights and their
   distance to the nearest stable state.

Continua of fixed points (a line of equilibria, as the triplet rule's threshold set) are
recognised: a zero eigenvalue whose eigenvector points along more fixed points is a direction
of the continuum, and stability is judged from the other eigenvalues (normal hyperbolicity).

Where no reduction of the rule exists for the scenario's inputs (a rule reading a model
neuron's voltage, as Clopath et al. 2010; a pairing scheme outside Kempter's theory), the field
is measured from Brian2 (:func:`~biodyn.flow.measured_flow`): the gradient verdict then comes
from stencil Jacobians with their standard errors (a chi-square test), the potential from the
measured grid (weighted by 1/se^2), and the rest points from a polynomial surrogate of the
measured field (approximate: their accuracy is that of the fit, whose reduced chi-square is
reported).

Decisions a user should know: ``fixed_points`` lists the interior fixed points of the averaged
field (which ignores the weight bounds) inside the domain, then the rest points on the bounds;
``simulation`` reports the final weights of the analysed condition of the replay and their
distance to the nearest stable state of either kind; ``euler_limit`` is taken at that stable
state (or the most restrictive one without a simulation) and is ``null`` for spike-based rules
and for states with no free weight; ``asymmetry`` is :math:`\|J - J^\top\|_F/\|J\|_F`
aggregated over the sampled points (in [0, 2]).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field as dc_field
from typing import Any

import numpy as np

from ..errors import BiodynError
from ._field import AveragedField, averaged_field
from ._gradient import Decomposition, GradientTest, decompose, gradient_test, sample_points
from ._objectives import check_objective, objective_for
from ._scenario import scenario as read_scenario

__all__ = ["FlowAnalysis", "analyze", "StableState", "fixed_points", "boundary_states",
           "euler_limit", "SUMMARY_KEYS"]

#: The keys of :meth:`FlowAnalysis.summary` (the JSON of ``biodyn analyze flow``).
SUMMARY_KEYS = ("protocol", "model", "parameter_set", "overrides", "variants", "parameters",
                "stimulus", "network", "gradient", "asymmetry", "gradient_fraction", "objective",
                "objective_check", "fixed_points", "simulation", "basins", "euler_limit", "seed", "target",
                "dt", "versions", "sources", "analysis_options")


@dataclass
class StableState:
    """A rest point of the averaged flow (interior fixed point, or on the bounds).

    Attributes
    ----------
    w : ndarray
    eigenvalues : ndarray
        Of the Jacobian (interior), or of its free block (on the bounds: the clipped weights
        are pinned).
    type : str
    stable : bool
    boundary : tuple
        Indices of clipped weights (empty for interior points).
    continuum : int
        Dimension of the continuum of fixed points through ``w`` (0: isolated).
    """

    w: np.ndarray
    eigenvalues: np.ndarray
    type: str
    stable: bool
    boundary: tuple = ()
    continuum: int = 0

    def as_dict(self):
        order = np.argsort(-np.real(self.eigenvalues), kind="stable")
        return {"w": [float(v) for v in self.w], "stable": bool(self.stable),
                "eigenvalues": [[float(e.real), float(e.imag)] for e in np.asarray(self.eigenvalues)[order]]}


def _classify(field, x, J, jscale, tol=1e-7):
    """(type, stable, continuum dimension) with continua of fixed points recognised.

    ``jscale`` is the typical size of the Jacobian on the domain: an eigenvalue below 1e-7 of
    it is zero."""
    from ..dynamics import classify

    lam, vec = np.linalg.eig(J)
    zero = np.abs(lam) <= 1e-7 * jscale
    if np.all(zero):
        return "non-hyperbolic (degenerate: zero Jacobian)", False, 0
    if not np.any(zero):
        kind, stable = classify(lam, False, tol)
        return kind, stable, 0
    lo, hi = field.domain
    h = 1e-3 * float(np.max(hi - lo))
    fscale = max(float(np.max(np.abs(J))) * h, 1e-300)
    along = 0
    for k in np.nonzero(zero)[0]:
        v = np.real(vec[:, k])
        if np.linalg.norm(v) == 0:
            continue
        v = v / np.linalg.norm(v)
        if max(np.max(np.abs(field.f(x + h * v))), np.max(np.abs(field.f(x - h * v)))) <= 1e-4 * fscale:
            along += 1
    if along == 0:
        kind, stable = classify(lam, False, tol)
        return kind, stable, 0
    rest = lam[~zero]
    if rest.size == 0:
        return "continuum of fixed points", False, along
    if np.all(rest.real < 0):
        return "normally stable (continuum of fixed points)", True, along
    if np.all(rest.real > 0):
        return "normally unstable (continuum of fixed points)", False, along
    return "normally saddle (continuum of fixed points)", False, along


def _solve(f, jac, X0, lo, hi, tol, maxiter=80):
    """Roots of ``f`` from many starts at once: Levenberg-Marquardt, batched (the averaged
    fields evaluate a batch of points for the cost of one). Returns ``(X, converged)``."""
    X = np.array(X0, dtype=float)
    B, n = X.shape
    mu = np.full(B, 1e-3)
    F = f(X)
    cost = np.sum(F ** 2, axis=1)
    width = np.maximum(hi - lo, 1e-12)
    active = np.isfinite(cost)
    for _ in range(maxiter):
        done = cost <= tol ** 2
        act = active & ~done
        if not np.any(act):
            break
        idx = np.nonzero(act)[0]
        J = jac(X[idx])
        Fa = F[idx]
        JtJ = np.einsum("bki,bkj->bij", J, J)
        g = np.einsum("bki,bk->bi", J, Fa)
        diag = np.einsum("bii->bi", JtJ) + 1e-300
        improved = np.zeros(idx.size, dtype=bool)
        for _trial in range(6):
            A = JtJ + (mu[idx, None, None] * np.eye(n)[None]) * diag[:, :, None]
            try:
                dX = -np.linalg.solve(A, g[:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:
                dX = -np.einsum("bij,bj->bi", np.linalg.pinv(A), g)
            Xn = X[idx] + dX
            Fn = f(Xn)
            cn = np.sum(Fn ** 2, axis=1)
            ok = np.isfinite(cn) & (cn < cost[idx]) & ~improved
            sel = idx[ok]
            X[sel], F[sel], cost[sel] = Xn[ok], Fn[ok], cn[ok]
            mu[sel] = np.maximum(mu[sel] / 5.0, 1e-12)
            improved |= ok
            bad = idx[~improved]
            mu[bad] *= 8.0
            if improved.all():
                break
        stuck = idx[~improved]
        active[stuck[mu[stuck] > 1e12]] = False
        outside = np.any((X < lo - 2 * width) | (X > hi + 2 * width), axis=1)
        active &= ~outside
    return X, cost <= tol ** 2


def fixed_points(field, starts=None, box=None, seed=0, n_starts=None):
    """Interior fixed points of an averaged field in ``box`` (default its domain).

    Roots of :math:`f` from a Latin hypercube of starts in the box (plus ``starts``), by a
    batched Levenberg-Marquardt iteration; merged when closer than 1e-6 of the box; classified
    from the eigenvalues of the Jacobian by :func:`biodyn.dynamics.classify`, continua of fixed
    points recognised (module docstring).
    """
    lo, hi = box if box is not None else field.domain
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    n = field.n
    count = n_starts or (64 if n <= 3 else 24 * n)
    P = [sample_points((lo, hi), count=count, seed=seed), 0.5 * (lo + hi)[None, :]]
    if n <= 4:       # the box's vertices, and the origin if inside
        P.append(np.array(list(itertools.product(*zip(lo, hi))), dtype=float))
    if np.all(lo <= 0) and np.all(hi >= 0):
        P.append(np.zeros((1, n)))
    if starts is not None:
        P.append(np.atleast_2d(np.asarray(starts, dtype=float)))
    X0 = np.vstack(P)
    fscale = float(np.median(np.linalg.norm(field.f(X0), axis=1)))
    fscale = fscale if np.isfinite(fscale) and fscale > 0 else 1.0
    jscale = float(np.median(np.linalg.norm(field.jacobian(X0[:count]), axis=(1, 2))))
    jscale = jscale if np.isfinite(jscale) and jscale > 0 else 1.0
    tol = 1e-11 * fscale
    X, ok = _solve(field.f, field.jacobian, X0, lo, hi, tol)
    if np.any(ok):   # polish (degenerate roots converge slowly): iterate while |f| decreases
        X[ok], _ = _solve(field.f, field.jacobian, X[ok], lo, hi, 0.0, maxiter=60)
    width = hi - lo
    found = []
    for x in X[ok]:
        if np.any(x < lo - 1e-9 * width) or np.any(x > hi + 1e-9 * width):
            continue
        if any(np.max(np.abs(x - y) / width) < 1e-4 for y in found):
            continue
        found.append(x)
    out = []
    for x in found:
        J = field.jacobian(x)
        kind, stable, cont = _classify(field, x, J, jscale)
        if cont and any(o.continuum and o.type == kind and
                        np.max(np.abs(o.w - x) / width) < 0.2 for o in out):
            continue          # points of one continuum: keep those a fifth of the box apart
        out.append(StableState(x, np.linalg.eigvals(J), kind, stable, (), cont))
    out.sort(key=lambda s: tuple(s.w))
    return out


class _Face:
    """The field restricted to a face of the bound box (some weights pinned at a bound)."""

    def __init__(self, field, free, pinned):
        self.field, self.free, self.pinned = field, np.asarray(free, dtype=int), dict(pinned)
        self.n = len(free)
        lo, hi = field.domain
        self.domain = (lo[self.free], hi[self.free])

    def full(self, y):
        y = np.atleast_2d(y)
        X = np.zeros((len(y), self.field.n))
        X[:, self.free] = y
        for i, v in self.pinned.items():
            X[:, i] = v
        return X

    def f(self, y):
        single = np.ndim(y) == 1
        out = self.field.f(self.full(y))[:, self.free]
        return out[0] if single else out


def boundary_states(field, bounds, seed=0, max_dim=4):
    """Rest points of the clipped flow on the faces of the bound box (see the module docstring).

    For every assignment of the weights to {free, low, high} other than all free, the free
    weights' field is solved for zero (batched Levenberg-Marquardt from starts inside the bounds)
    and the point kept if every pinned weight is pushed outwards (``f_i < 0`` at its lower and
    ``f_i > 0`` at its upper bound); its eigenvalues are those of the free block of the
    Jacobian (a vertex has none and is stable when it is a rest point).
    """
    nw = field.n_weights
    if field.n != nw or nw > max_dim or bounds is None:
        return []
    blo, bhi = float(bounds[0]), float(bounds[1])
    dlo, dhi = field.domain
    corners = np.array(list(itertools.product(*zip(dlo, dhi))), dtype=float)
    ftol = 1e-9 * max(float(np.max(np.abs(field.f(corners)))), 1e-300)
    out = []
    for assign in itertools.product((None, "low", "high"), repeat=nw):
        if all(a is None for a in assign):
            continue
        if any((a == "low" and not dlo[i] <= blo <= dhi[i]) or (a == "high" and not dlo[i] <= bhi <= dhi[i])
               for i, a in enumerate(assign)):
            continue      # a bound outside the domain analysed
        free = [i for i, a in enumerate(assign) if a is None]
        pinned = {i: (blo if a == "low" else bhi) for i, a in enumerate(assign) if a is not None}
        face = _Face(field, free, pinned)
        candidates = []
        if not free:
            candidates.append(np.zeros(0))
        else:
            m = len(free)
            flo = np.maximum(np.full(m, blo), dlo[free])
            fhi = np.minimum(np.full(m, bhi), dhi[free])
            starts = sample_points((flo, fhi), count=16 if m <= 2 else 8 * m, seed=seed)
            fscale = float(np.median(np.linalg.norm(face.f(starts), axis=1))) or 1.0
            Y, ok = _solve(face.f, lambda Y: field.jacobian(face.full(Y))[:, face.free][:, :, face.free],
                           starts, flo, fhi, 1e-11 * fscale)
            for y in Y[ok]:
                if np.any(y < flo) or np.any(y > fhi):
                    continue
                if any(np.max(np.abs(y - c)) < 1e-6 * (bhi - blo) for c in candidates):
                    continue
                candidates.append(y)
        for y in candidates:
            x = face.full(y)[0]
            fx = field.f(x)
            outward = all((fx[i] < -ftol if v == blo else fx[i] > ftol) for i, v in pinned.items())
            if not outward:
                continue
            if free:
                J = field.jacobian(x)[np.ix_(free, free)]
                lam = np.linalg.eigvals(J)
                from ..dynamics import classify

                kind, stable = classify(lam, False)
            else:
                lam, kind, stable = np.zeros(0, dtype=complex), "stable vertex", True
            out.append(StableState(x, lam, kind if free else kind, stable, tuple(sorted(pinned))))
    return out


def euler_limit(state):
    """:math:`h^* = \\min 2|\\mathrm{Re}\\,\\lambda|/|\\lambda|^2` over the eigenvalues of a stable
    state (``None`` without eigenvalues)."""
    lam = np.asarray(state.eigenvalues, dtype=complex)
    lam = lam[np.abs(lam) > 0]
    lam = lam[lam.real < 0]
    if lam.size == 0:
        return None
    return float(np.min(2.0 * np.abs(lam.real) / np.abs(lam) ** 2))


# --------------------------------------------------------------------------
# The analysis
# --------------------------------------------------------------------------


@dataclass
class FlowAnalysis:
    """Everything :func:`analyze` finds (see the module docstring); :meth:`summary` is the JSON."""

    scenario: Any
    field: AveragedField
    points: np.ndarray
    values: np.ndarray
    jacobians: np.ndarray
    gradient: GradientTest
    decomposition: Decomposition
    objective: Any
    objective_check: Any
    states: list
    simulation: dict | None
    euler: float | None
    euler_state: Any
    seed: int
    manifold: dict | None = None
    threshold: dict | None = None
    measured: Any = None
    notes: list = dc_field(default_factory=list)
    versions: dict = dc_field(default_factory=dict)
    #: what shaped the analysis (:func:`biodyn.protocols.record`): set, overrides, variants,
    #: every parameter value, stimulus/network changes, target (of the replay), dt, sources
    record: dict = dc_field(default_factory=dict)
    #: end-state probabilities from the initial distribution (:func:`biodyn.flow.flow_basins`)
    basins: Any = None

    @property
    def stable_states(self):
        return [s for s in self.states if s.stable]

    def summary(self):
        """The JSON report of ``biodyn analyze flow`` (keys :data:`SUMMARY_KEYS`)."""
        sim = None
        if self.simulation is not None:
            sim = {"final_w": [float(v) for v in self.simulation["final_w"]],
                   "nearest_stable_distance": _num(self.simulation["nearest_stable_distance"])}
        check = None
        if self.objective_check is not None:
            check = {"max_abs_error": float(self.objective_check.max_abs_error),
                     "monotone": self.objective_check.monotone,
                     "lyapunov": self.objective_check.lyapunov}
        rec = {k: self.record.get(k) for k in ("parameter_set", "overrides", "variants",
                                                "parameters", "stimulus", "network", "target",
                                                "dt", "sources", "analysis_options")}
        out = {
            **rec,
            "protocol": self.scenario.name,
            "model": self.scenario.model,
            "gradient": bool(self.gradient.gradient),
            "asymmetry": float(self.gradient.asymmetry),
            "gradient_fraction": float(self.decomposition.fraction),
            "objective": self.objective.text if self.objective is not None else None,
            "objective_check": check,
            "fixed_points": [s.as_dict() for s in self.states],
            "simulation": sim,
            "basins": self.basins.as_dict() if self.basins is not None else None,
            "euler_limit": _num(self.euler),
            "seed": int(self.seed),
            "versions": dict(self.versions),
        }
        return {k: out[k] for k in SUMMARY_KEYS}

    def verdict(self):
        """The answer in words (what the CLI prints)."""
        sc = self.scenario
        lines = [f"{sc.name}: {sc.model} ({sc.rule.parameter_set}); {sc.inputs.describe()}",
                 f"averaged field: {self.field.description}",
                 ("gradient flow: " if self.gradient.gradient else "NOT a gradient flow: ")
                 + self.gradient.verdict().split(": ", 1)[1]
                 + f"; the gradient part explains {100 * self.decomposition.fraction:.1f} % of the "
                   "field on the domain"]
        if self.objective is not None:
            c = self.objective_check
            lines.append(f"objective: {self.objective.text} [{self.objective.citation}]; "
                         f"max |f - grad L| = {c.max_abs_error:.3g} 1/s (max |f| = {c.max_abs_field:.3g})"
                         + ("" if c.monotone is None else
                            f", {'monotone' if c.monotone else 'NOT monotone'} along the simulated "
                            f"trajectories"))
            if c.lyapunov is not None:
                lines.append(f"as a Lyapunov function V = -sign L: dV/dt < 0 at "
                             f"{100 * c.lyapunov['negative']:.1f} %, > 0 at {100 * c.lyapunov['positive']:.1f} % "
                             "of the sample points")
        if self.manifold:
            m = self.manifold
            lines.append(f"on the unit sphere: invariant (max |w.f| = {m['invariance']:.3g}), "
                         f"Riemannian gradient of the objective (max error {m['riemannian_error']:.3g}), "
                         f"tangent Jacobian asymmetry at the fixed points {m['tangent_asymmetry']:.3g}")
        if self.threshold:
            lines.append(self.threshold["text"])
        for s in self.states:
            where = "" if not s.boundary else f" on the bounds (clipped: {list(s.boundary)})"
            lines.append(f"{s.type:>24s} w = {np.round(s.w, 4).tolist()}{where}, eigenvalues "
                         f"{np.round(s.eigenvalues, 4).tolist()} 1/s")
        if not self.states:
            lines.append("no fixed point in the domain")
        if self.simulation is not None:
            d = self.simulation["nearest_stable_distance"]
            lines.append(f"simulation ({self.simulation['target']}, seed {self.seed}): ends at "
                         f"w = {np.round(self.simulation['final_w'], 4).tolist()}"
                         + (f", {d:.3g} from the nearest stable state" if d is not None else
                            ", no stable state to compare with"))
        if self.basins is not None:
            lines.extend(basin_lines(self.basins.as_dict(max_starts=0)))
        if self.euler is not None:
            lines.append(f"Euler view: forward Euler with step h = lr*dt loses stability at the stable "
                         f"state for h > {self.euler:.4g} s")
        for note in self.notes:
            lines.append("note: " + note)
        return "\n".join(lines)


def basin_lines(b, width=None):
    """The basin probabilities of a summary's ``basins`` in words, one line per stable state."""
    dist = b["initial_distribution"]
    where = (f"uniform in [{dist['low']:g}, {dist['high']:g}] per weight" if dist["kind"] == "uniform"
             else f"the {len(dist['points'])} listed initial weights")
    c = 100 * b["confidence"]
    lines = [f"ends of the averaged flow from {b['n_samples']} starts ({where}), {c:g} % Wilson intervals:"]
    for r in b["states"]:
        text = (f"  w = {np.round(r['w'], 4).tolist()}: {100 * r['probability']:.1f} % "
                f"[{100 * r['interval'][0]:.1f}, {100 * r['interval'][1]:.1f}]")
        if "simulated_count" in r:
            n = len(b["simulated_runs"])
            text += (f"; simulated {r['simulated_count']}/{n} "
                     f"[{100 * r['simulated_interval'][0]:.0f}, {100 * r['simulated_interval'][1]:.0f}] %"
                     + ("" if r["agree"] else "  (intervals do not overlap)"))
        lines.append(text)
    if b["other"]:
        lines.append("  " + ", ".join(f"{k}: {v}" for k, v in b["other"].items()))
    return lines


def _num(v):
    if v is None:
        return None
    v = float(v)
    return v if np.isfinite(v) else None


def analyze(protocol, model=None, params=None, overrides=None, variants=None, *, condition=None,
            aux=None, objective=None, simulate=True, target="auto", seed=0, stimulus=None,
            network=None, grid=None, report=None, field="auto", measure=None, basins=None):
    """The flow analysis of a protocol (module docstring): a :class:`FlowAnalysis`.

    Parameters
    ----------
    protocol : str or ProtocolSpec
    model, params, overrides, variants
        As in :func:`biodyn.protocols.run`.
    condition : int, optional
        The condition whose input statistics are analysed (default ``flow.condition`` or 0).
    aux : {"adiabatic", "state"}, optional
        Rate rules with other variables (BCM's threshold): see :func:`averaged_field`.
    objective : str, optional
        A key of :data:`~biodyn.flow.OBJECTIVES` (default: the rule's), ``"none"`` for none.
    simulate : bool
        Replay the protocol in Brian2 (``target``, ``seed``; ``stimulus``/``network`` changes
        as in :func:`biodyn.protocols.run`) and compare where it ends.
    grid : int, optional
        Sample points per dimension of the domain (default 9 for n <= 2).
    field : {"auto", "analytic", "measured"}
        Where the averaged field comes from: the rule's reduction (``"analytic"``), many short
        Brian2 runs (``"measured"``: :func:`~biodyn.flow.measured_flow`, on ``target``), or the
        reduction where one exists and else the measurement (``"auto"``). A measured field's
        gradient verdict comes from stencil Jacobians with their standard errors, its potential
        from the measured grid (weighted), its fixed points from a polynomial surrogate.
    measure : dict, optional
        Options of :func:`~biodyn.flow.measured_flow` (``copies``, ``duration``, ``grid``,
        ``degree``, ``h``).
    basins : dict or False, optional
        Options of :func:`~biodyn.flow.flow_basins` (``samples``, default 400; ``seeds``, further
        seeded replays, default 0; ``target`` of those, default numpy): the probability of ending
        in each stable state from the protocol's initial-weight distribution, against the
        simulated end states. Computed when the flow has a stable state and no other state
        variables than the weights; ``False`` skips it.
    """
    from .. import build, protocols
    from ._reduction import ReductionError

    if field not in ("auto", "analytic", "measured"):
        raise BiodynError(f"field must be 'auto', 'analytic' or 'measured', not {field!r}")
    sc = read_scenario(protocol, model, params, overrides, variants, stimulus=stimulus,
                       network=network, condition=condition, seed=seed)
    options = {"condition": sc.condition, "aux": aux, "objective": objective, "field": field,
               "simulate": bool(simulate), "target": target, "grid": grid,
               "measure": dict(measure) if measure else None}
    if basins is not False:
        basins = {"samples": 400, "seeds": 0, "target": "numpy", **dict(basins or {})}
        unknown = sorted(set(basins) - {"samples", "seeds", "target"})
        if unknown:
            raise BiodynError(f"basins options are samples, seeds and target, not {unknown[0]!r}")
        if int(basins["samples"]) < 1 or int(basins["seeds"]) < 0:
            raise BiodynError("basins: samples must be positive and seeds non-negative, found "
                              f"{basins['samples']!r} and {basins['seeds']!r}")
        options["basins"] = dict(basins)
    notes = []
    if sc.settings.get("note"):
        notes.append(str(sc.settings["note"]))
    mflow = None
    if field != "measured":
        try:
            averaged = averaged_field(sc, aux=aux)
        except ReductionError as exc:
            if field == "analytic":
                raise
            notes.append(f"no analytic average ({exc}): the field is measured in Brian2")
            averaged = None
    if field == "measured" or averaged is None:
        from ._measure import measured_flow

        mtarget = "numpy" if target in (None, "auto") and sc.kind == "rate" else target
        options = dict(sc.settings.get("measure", {}) or {})
        options.update(measure or {})
        allowed = ("copies", "duration", "warmup", "grid", "degree", "h")
        for key in options:
            if key not in allowed:
                from ..errors import SpecError, suggest

                raise SpecError(sc.file, f"flow.measure.{key}", "one of " + ", ".join(allowed),
                                repr(key), suggest(key, allowed))
        mflow = measured_flow(sc, seed=seed, target=build.resolve_target(mtarget), report=report,
                              **options)
        averaged = mflow.field
    field = averaged
    # -- simulation ------------------------------------------------------------------
    simulation, trajectories = None, []
    if simulate:
        result = protocols.run(sc.protocol, model, params, overrides, variants, target=target,
                               seed=seed, stimulus=stimulus, network=network, block=False,
                               report=report)
        extra = result.extra
        if "w_t" not in extra:
            raise BiodynError(f"{sc.name}: the {sc.protocol.engine} engine returns no weight "
                              "trajectories (extra['w_t'])")
        w_t = np.asarray(extra["w_t"], dtype=float)[list(sc.same)]   # (C, n, T)
        t = np.asarray(extra["t"], dtype=float)
        finals = np.asarray(extra.get("w_final", w_t[:, :, -1]), dtype=float)[list(sc.same)]
        trajectories = [np.concatenate([w.T, f[None, :]]) for w, f in zip(w_t, finals)]
        k = list(sc.same).index(sc.condition)
        simulation = {"t": t, "w_t": w_t, "final_w": finals[k], "finals": finals,
                      "target": result.summary["target"], "summary": result.summary}
    # -- domain: widen a default one to hold the fixed points and trajectories ----------
    if not sc.domain_given and sc.bounds is None and mflow is None:
        lo, hi = field.domain
        nw = field.n_weights
        R = float(np.max(np.abs(np.concatenate([lo[:nw], hi[:nw]]))))
        search = (np.concatenate([np.full(nw, -4 * R), lo[nw:]]), np.concatenate([np.full(nw, 4 * R), hi[nw:]]))
        found = fixed_points(field, starts=np.atleast_2d(sc.initial) if field.n == nw else None,
                             box=search, seed=seed)
        pts = [s.w[:nw] for s in found if s.stable] + [w for w in np.atleast_2d(sc.initial)]
        pts += [tr[-1] for tr in trajectories]
        if pts:
            R2 = 1.15 * float(np.max(np.abs(np.asarray(pts))))
            if R2 > R:
                sc.domain = (np.full(sc.n, -R2), np.full(sc.n, R2))
                field = averaged_field(sc, aux=aux)
    lo, hi = field.domain
    # -- fixed points and rest points on the bounds --------------------------------------
    starts = None
    if field.n == field.n_weights:
        starts = np.vstack([np.atleast_2d(sc.initial)] + [tr[-1:] for tr in trajectories])
        starts = np.clip(starts, lo, hi)
    states = fixed_points(field, starts=starts, seed=seed)
    if sc.bounds is not None:
        states += boundary_states(field, sc.bounds, seed=seed)
    # -- gradient test and decomposition ----------------------------------------------
    if mflow is None:
        points = sample_points(field.domain, grid=grid or sc.settings.get("grid"), seed=seed)
        values = field.f(points)
        jac = field.jacobian(points)
        test = gradient_test(jac)
        dec = decompose(points, values, domain=field.domain)
    else:
        points, values = mflow.grid.points, mflow.grid.f
        jac = mflow.jacobians
        test = gradient_test(mflow.jacobians, errors=mflow.jacobian_errors)
        dec = decompose(points, values, errors=mflow.grid.se, domain=field.domain)
    # -- objective ---------------------------------------------------------------------
    obj = objective_for(field, objective) if (mflow is None or sc.kind == "rate") else None
    check = None
    if obj is not None:
        check = check_objective(field, obj, points, trajectories)
        if mflow is not None and obj.manifold is None:   # against the measured values themselves
            G = obj.sign * obj.gradient(points)
            check.max_abs_error = float(np.max(np.abs(values - G)))
    manifold = _sphere(field, obj, states) if (obj is not None and obj.manifold == "sphere") else None
    threshold = _threshold(sc, field)
    # -- simulation against stable states, Euler limit ---------------------------------
    euler, euler_state = None, None
    stable = [s for s in states if s.stable]
    if simulation is not None:
        fw = simulation["final_w"]
        if stable:
            d = [float(np.linalg.norm(s.w[:field.n_weights] - fw)) for s in stable]
            simulation["nearest_stable_distance"] = min(d)
            simulation["nearest_stable"] = stable[int(np.argmin(d))]
        else:
            simulation["nearest_stable_distance"] = None
            simulation["nearest_stable"] = None
    if sc.kind == "rate":
        target_state = simulation.get("nearest_stable") if simulation else None
        candidates = [target_state] if target_state is not None else stable
        limits = [(euler_limit(s), s) for s in candidates if s is not None]
        limits = [(h, s) for h, s in limits if h is not None]
        if limits:
            euler, euler_state = min(limits, key=lambda p: p[0])
    else:
        notes.append("Euler limit: not defined for spike-based rules (their updates are events, not "
                     "steps of the averaged flow)")
    if not field.exact and mflow is None:
        notes.append("the averaged field uses approximations beyond its stated assumptions")
    rec = protocols.record(sc.protocol, sc.rule, seed,
                           simulation["target"] if simulation is not None else None, sc.changes)
    rec["analysis_options"] = options
    fa = FlowAnalysis(sc, field, points, values, jac, test, dec, obj, check, states, simulation,
                      euler, euler_state, int(seed), manifold, threshold, measured=mflow,
                      notes=notes, versions=build.versions(), record=rec)
    #: what a further seeded replay needs (:func:`biodyn.flow.flow_basins`, ``seeds``)
    fa.replay_arguments = {"protocol": sc.protocol, "model": model, "params": params,
                           "overrides": overrides, "variants": variants, "stimulus": stimulus,
                           "network": network}
    if basins is not False:
        if field.n != field.n_weights:
            notes.append("basins: not computed with the rule's other variables as states (--aux state)")
        elif not fa.stable_states:
            notes.append("basins: the averaged flow has no stable state")
        else:
            from ._basins import flow_basins

            fa.basins = flow_basins(fa, samples=int(basins["samples"]), seeds=int(basins["seeds"]),
                                    target=basins["target"], report=report)
    return fa


def _sphere(field, obj, states):
    """Invariance of the unit sphere, the Riemannian gradient and the tangent Jacobians there."""
    n = field.n_weights
    rng = np.random.default_rng(7)
    P = rng.standard_normal((200, n))
    P /= np.linalg.norm(P, axis=1)[:, None]
    F = field.f(P)
    invariance = float(np.max(np.abs(np.sum(P * F, axis=1))))
    G = obj.gradient(P)
    G = G - np.sum(G * P, axis=1)[:, None] * P
    err = float(np.max(np.abs(F - G)))
    tangent = []
    asym = []
    for s in states:
        r = np.linalg.norm(s.w)
        if abs(r - 1.0) > 1e-6:
            continue
        w = s.w / r
        Q = np.linalg.svd(np.eye(n) - np.outer(w, w))[0][:, :n - 1]       # tangent basis
        Jt = Q.T @ field.jacobian(s.w) @ Q
        tangent.append({"w": s.w.tolist(), "eigenvalues": np.linalg.eigvals(Jt).tolist()})
        asym.append(float(np.linalg.norm(Jt - Jt.T) / max(np.linalg.norm(Jt), 1e-300)))
    return {"invariance": invariance, "riemannian_error": err, "tangent": tangent,
            "tangent_asymmetry": max(asym) if asym else 0.0}


def _threshold(sc, field):
    """For spike rules with a rate-driven neuron: the rule's threshold on the postsynaptic rate
    (the positive root of the rate reduction in nu_post at each input rate)."""
    if sc.kind != "spike" or sc.post.get("kind") != "rate" or "reduction" not in field.parts:
        return None
    import sympy

    red = field.parts["reduction"]
    nu_pre, nu_post = sympy.Symbol("nu_pre"), sympy.Symbol("nu_post")
    w = sympy.Symbol(sc.rule.spec.data.get("weight", "w"))
    expr = sympy.factor(red.expression)
    out = {}
    for i, rate in enumerate(np.asarray(sc.inputs.rates, float)):
        e = expr.subs({nu_pre: float(rate)})
        if w in e.free_symbols:
            return None
        roots = [complex(r) for r in sympy.solve(sympy.Eq(e, 0), nu_post)]
        pos = sorted(r.real for r in roots if abs(r.imag) < 1e-12 and r.real > 0)
        out[i] = pos[0] if pos else None
    vals = [v for v in out.values() if v is not None]
    if not vals:
        return None
    text = ("BCM-like threshold on the postsynaptic rate: theta = " +
            ", ".join(f"{v:.4g} Hz (input {i} at {sc.inputs.rates[i]:g} Hz)" for i, v in out.items()
                      if v is not None) + "; depression below, potentiation above")
    return {"theta": out, "text": text}
