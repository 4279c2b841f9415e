r"""Measured fields: :math:`\mathrm E[\Delta w \mid w]` from many short Brian2 simulations around w.

For each sample point :math:`w^{(p)}` the scenario's circuit (the rule, its neuron, its inputs)
is copied :math:`M` times; all :math:`P \times M` copies run side by side in ONE Brian2 run
(vectorised: one synapse group, one neuron group, one input group). Copy :math:`m` sees the
same input realisation at every point (common random numbers: differences between points, and
so Jacobians, are much less noisy than the points), and the copies are independent of each
other. The learning rate is set small (``lr``) so that the weights stay where they are put
(the averaging assumption); after a warm-up (traces and thresholds reach their stationary
state) the drift of copy :math:`m` at point :math:`p` is

.. math::

    \hat f_{pm} = \frac{w_{pm}(T) - w_{pm}(T_w)}{lr\,(T - T_w)},

its mean over copies is the measured field and :math:`s/\sqrt M` (the copies' standard
deviation over the square root of their number) its standard error. A Jacobian is measured
with a central stencil around a centre :math:`c` (points :math:`c \pm h e_j`), from the
per-copy difference quotients (so its standard error includes the correlation between the two
points).

Rate scenarios draw a new input sample every time step (the averaged field's assumption);
spike scenarios use the ``poisson_inputs`` engine's own inputs and neuron
(:func:`biodyn.protocols._poisson_inputs.build_circuits`), so the measurement and the replay
are the same circuit.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field

import numpy as np

from .. import build
from ..errors import BiodynError

__all__ = ["MeasuredField", "measure_field", "measure_fields", "stencil", "measured_jacobians",
           "simulate_rate", "MeasuredFlow", "measured_flow"]


@dataclass
class MeasuredField:
    """A measured field (see the module docstring).

    Attributes
    ----------
    points : (P, n) array
    f, se : (P, n) arrays
        Mean drift (1/s, for lr = 1) and its standard error.
    per_copy : (P, M, n) array
    """

    scenario: object
    points: np.ndarray
    f: np.ndarray
    se: np.ndarray
    per_copy: np.ndarray
    copies: int
    duration: float
    warmup: float
    lr: float
    dt: float
    target: str
    seed: int
    timings: dict = dc_field(default_factory=dict)

    def z_scores(self, reference):
        """``(f - reference)/se`` (reference: an analytic field at the same points)."""
        return (self.f - np.asarray(reference)) / np.maximum(self.se, 1e-300)


def stencil(centers, h):
    """Central-difference stencils: for each centre ``c`` the points ``c + h e_j`` and
    ``c - h e_j`` (``2n`` points per centre, in that order). ``h`` is a number or per weight."""
    C = np.atleast_2d(np.asarray(centers, dtype=float))
    n = C.shape[1]
    h = np.broadcast_to(np.asarray(h, dtype=float), (n,))
    pts = []
    for c in C:
        for j in range(n):
            e = np.zeros(n)
            e[j] = h[j]
            pts += [c + e, c - e]
    return np.array(pts)


def measured_jacobians(measured, centers, h):
    """Jacobians ``(C, n, n)`` and their standard errors from a field measured on
    :func:`stencil` points."""
    C = np.atleast_2d(np.asarray(centers, dtype=float))
    nC, n = C.shape
    h = np.broadcast_to(np.asarray(h, dtype=float), (n,))
    per = measured.per_copy.reshape(nC, n, 2, measured.copies, n)     # centre, j, +/-, copy, i
    d = (per[:, :, 0] - per[:, :, 1]) / (2 * h[None, :, None, None])  # centre, j, copy, i
    J = d.mean(axis=2).transpose(0, 2, 1)                             # centre, i, j
    S = (d.std(axis=2, ddof=1) / np.sqrt(measured.copies)).transpose(0, 2, 1)
    return J, S


def measure_field(scenario, points, **kwargs):
    """Measure one scenario's field at ``points`` (see :func:`measure_fields` for options)."""
    return measure_fields([(scenario, points)], **kwargs)[0]


def measure_fields(requests, *, copies=40, duration=None, warmup=None, lr=None, seed=0,
                   target="numpy", dt=None, reference=None, report=None):
    """Measure several scenarios' fields in ONE Brian2 run (one compiled build on
    ``cpp_standalone``).

    Parameters
    ----------
    requests : list of (Scenario, points)
    copies : int
        Independent copies per point (M).
    duration : float, s
        Simulated time (default 20 s for rate rules, 10 s for spike rules), warm-up included.
    warmup : float, s
        Discarded beginning (default: 5x the slowest time constant of the rule's traces or
        other variables; at least 10 time steps).
    lr : float, optional
        Learning rate of the measurement (default: small enough that the weights move by
        less than 1e-5 of the domain's width, from the analytic field's size).
    dt : float, s
        Time step (default: the protocol's).
    seed : int
    target : str
    report : optional
        Progress on stderr, as for :class:`biodyn.build.Simulation` (``None``: quiet).

    Returns
    -------
    list of MeasuredField
    """
    from brian2 import second

    if not requests:
        return []
    kinds = {sc.kind for sc, _ in requests}
    dts = {float(dt) if dt is not None else sc.dt for sc, _ in requests}
    if len(dts) != 1:
        raise BiodynError("measure_fields: the scenarios of one run need one time step (dt); "
                          f"found {sorted(dts)} s")
    dt_s = dts.pop()
    if duration is None:
        duration = 20.0 if kinds == {"rate"} else 10.0
    duration = float(duration)
    rng = np.random.default_rng([int(seed), 2024])
    plans = []
    for k, (sc, pts) in enumerate(requests):
        pts = np.atleast_2d(np.asarray(pts, dtype=float))
        w_up = float(warmup) if warmup is not None else _default_warmup(sc, dt_s)
        if w_up >= duration:
            raise BiodynError(f"measure_fields: warm-up {w_up} s >= duration {duration} s")
        step_lr = float(lr) if lr is not None else _default_lr(sc, pts, duration)
        plans.append({"scenario": sc, "points": pts, "warmup": w_up, "lr": step_lr, "prefix": f"m{k}"})
    target = build.resolve_target(target)
    seed_brian = int(seed)
    import time

    t0 = time.perf_counter()
    with build.Simulation(target, dt=dt_s * second, seed=seed_brian, report=report,
                          build_key=f"flow-measure-{'-'.join(p['scenario'].name for p in plans)}") as sim:
        objects = []
        for p in plans:
            builder = _build_rate if p["scenario"].kind == "rate" else _build_spike
            p["handles"] = builder(sim, p, copies, duration, dt_s, rng)
            objects += p["handles"]["objects"]
        sim.run(duration * second, *objects)
        out = []
        for p in plans:
            out.append(_collect(p, copies, duration, dt_s, target, seed))
    elapsed = time.perf_counter() - t0
    for m in out:
        m.timings = {"total": elapsed, **dict(sim.timings)}
    return out


def _default_warmup(sc, dt):
    taus = []
    for name, value in sc.rule.namespace.items():
        if name.startswith("tau"):
            try:
                taus.append(float(value))
            except TypeError:
                pass
    if sc.kind == "spike" and sc.post.get("kind") == "linear":
        taus.append(float(sc.post["tau_eps"]))
    if sc.kind == "spike" and sc.post.get("kind") == "neuron":   # the neuron's own time constants
        for name, value in sc.post["neuron"].namespace.items():
            if name.startswith("tau"):
                try:
                    taus.append(float(value))
                except TypeError:
                    pass
    return max(5.0 * max(taus) if taus else 0.0, 10 * dt)


def _default_lr(sc, pts, duration):
    from ._field import averaged_field

    try:
        F = averaged_field(sc).f(pts)[:, :sc.n]
        scale = float(np.max(np.abs(F)))
    except BiodynError:  # no analytic field (a measured-only scenario): a conservative default
        scale = 0.0
    lo, hi = sc.domain
    width = float(np.min(hi - lo))
    if scale <= 0:
        return 1e-3
    return float(min(1.0, 1e-5 * width / (scale * duration)))


# --------------------------------------------------------------------------
# Rate scenarios
# --------------------------------------------------------------------------


def _build_rate(sim, p, copies, duration, dt, rng):
    from brian2 import NeuronGroup, StateMonitor, TimedArray, second

    sc = p["scenario"]
    pts = p["points"]
    P, n = pts.shape
    M = copies
    steps = int(round(duration / dt)) + 1
    X = sc.inputs.sample(steps * M, rng).reshape(steps, M, n).reshape(steps, M * n)
    prefix = p["prefix"]
    table = TimedArray(X, dt=dt * second, name=f"{prefix}_samples")
    pre = NeuronGroup(M * n, "r : 1", name=f"{prefix}_inputs", namespace={f"{prefix}_samples": table})
    pre.run_regularly(f"r = {prefix}_samples(t, i)", when="start", name=f"{prefix}_draw")
    post = build.neurons(sc.post["neuron"], P * M, name=f"{prefix}_post")
    pidx, midx, kidx = np.meshgrid(np.arange(P), np.arange(M), np.arange(n), indexing="ij")
    i = (midx * n + kidx).ravel()
    j = (pidx * M + midx).ravel()
    w0 = np.broadcast_to(pts[:, None, :], (P, M, n)).ravel()
    weight = sc.rule.spec.data.get("weight", "w")
    syn = build.synapses(sc.rule, pre, post, connect={"i": i, "j": j}, name=f"{prefix}_synapses",
                         init={weight: w0})
    syn.lr = p["lr"]
    mon = StateMonitor(syn, weight, record=np.arange(len(i)), dt=p["warmup"] * second,
                       name=f"{prefix}_weights")
    return {"objects": [pre, post, syn, mon], "synapses": syn, "monitor": mon, "weight": weight,
            "shape": (P, M, n)}


# --------------------------------------------------------------------------
# Spike scenarios (the poisson_inputs engine's circuit)
# --------------------------------------------------------------------------


def _setup_of(sc):
    from ..protocols._poisson_inputs import PoissonSetup

    inputs = sc.inputs
    share = getattr(inputs, "share", np.zeros(sc.n))
    return PoissonSetup(np.asarray(inputs.rates, float), float(getattr(inputs, "mother_rate", 0.0)),
                        np.asarray(share, float), np.asarray(getattr(inputs, "delays", np.zeros(sc.n)), float),
                        float(getattr(inputs, "jitter", 0.0)), sc.post["kind"], float(sc.post["baseline"]),
                        float(sc.post["gain"]), float(sc.post["tau_eps"]), 0.0, sc.post.get("neuron"),
                        sc.post.get("transmit", ""), tuple(sc.post.get("neuron_initial", ())))


def _build_spike(sim, p, copies, duration, dt, rng):
    from brian2 import StateMonitor, second

    from ..protocols._poisson_inputs import build_circuits, draw_inputs

    sc = p["scenario"]
    pts = p["points"]
    P, n = pts.shape
    M = copies
    setup = _setup_of(sc)
    idx, steps = draw_inputs(setup, M, duration, dt, rng)            # M copies of the inputs
    # the same realisation of copy m at every point: neuron (p*M + m)*n + i
    all_idx = np.concatenate([idx + q * M * n for q in range(P)])
    all_steps = np.tile(steps, P)
    order = np.lexsort((all_idx, all_steps))
    spikes = (all_idx[order].astype(np.int32), all_steps[order])
    weights = np.repeat(pts, M, axis=0)                               # (P*M, n)
    h = build_circuits(sim, sc.rule, setup, weights, spikes, lr=p["lr"], name=p["prefix"], record=False)
    mon = StateMonitor(h["synapses"], h["weight"], record=np.arange(P * M * n),
                       dt=p["warmup"] * second, name=f"{p['prefix']}_weights")
    h["objects"] = h["objects"] + [mon]
    h["monitor"] = mon
    h["shape"] = (P, M, n)
    return h


def _collect(p, copies, duration, dt, target, seed):
    from brian2 import second

    h = p["handles"]
    P, M, n = h["shape"]
    syn, mon, weight = h["synapses"], h["monitor"], h["weight"]
    w_end = np.asarray(getattr(syn, weight)[:], dtype=float)
    t = np.asarray(mon.t[:] / second)
    k = int(np.argmin(np.abs(t - p["warmup"])))
    w_start = np.asarray(getattr(mon, weight)[:, k], dtype=float)
    span = duration - t[k]
    per = ((w_end - w_start) / (p["lr"] * span)).reshape(P, M, n)
    f = per.mean(axis=1)
    se = per.std(axis=1, ddof=1) / np.sqrt(M)
    return MeasuredField(p["scenario"], p["points"], f, se, per, M, duration, float(t[k]), p["lr"],
                         dt, target, int(seed))


# --------------------------------------------------------------------------
# The Euler view: a rate rule run with large steps
# --------------------------------------------------------------------------


def simulate_rate(scenario, w0, *, duration, dt, lr=1.0, copies=1, seed=0, target="numpy",
                  overrides=None):
    r"""Brian2 run of a rate scenario with a new input draw every time step.

    Brian2 integrates the rule with Euler steps of ``dt``: each step is
    :math:`w \leftarrow w + lr\,dt\,D(x_t, y_t, w)` with a fresh sample :math:`x_t` — forward
    Euler with step :math:`h = lr\,dt` on the averaged flow, up to the sampling noise (for
    rules linear in w, such as Hebb with decay, the *mean* over copies follows the Euler map of
    the averaged field exactly, the samples being independent of the current weights).

    Parameters
    ----------
    scenario : Scenario
        A rate scenario (its rule, neuron and input statistics).
    w0 : (n,) array
        Initial weights of every copy.
    duration, dt : float, s
    lr : float
    copies : int
        Independent copies (each its own input samples).

    Returns
    -------
    t : (T,) array
        Times of the states (s), the initial state included.
    w : (copies, T, n) array
    """
    from brian2 import NeuronGroup, StateMonitor, TimedArray, second

    sc = scenario
    if sc.kind != "rate":
        raise BiodynError(f"simulate_rate: {sc.name} is not a rate scenario")
    n = sc.n
    M = int(copies)
    steps = int(round(duration / dt))
    rng = np.random.default_rng([int(seed), 77])
    X = sc.inputs.sample((steps + 1) * M, rng).reshape(steps + 1, M * n)
    rule = sc.rule if not overrides else build.resolve(sc.rule, None, overrides)
    with build.Simulation(target, dt=dt * second, seed=int(seed), check_finite=False,
                          build_key=f"flow-euler-{sc.name}") as sim:
        table = TimedArray(X, dt=dt * second, name="euler_samples")
        pre = NeuronGroup(M * n, "r : 1", name="euler_inputs", namespace={"euler_samples": table})
        pre.run_regularly("r = euler_samples(t, i)", when="start", name="euler_draw")
        post = build.neurons(sc.post["neuron"], M, name="euler_post")
        weight = sc.rule.spec.data.get("weight", "w")
        syn = build.synapses(rule, pre, post, name="euler_synapses",
                             connect={"i": np.arange(M * n), "j": np.repeat(np.arange(M), n)},
                             init={weight: np.tile(np.asarray(w0, dtype=float), M)})
        syn.lr = lr
        mon = StateMonitor(syn, weight, record=np.arange(M * n), name="euler_weights")
        sim.run(steps * dt * second, pre, post, syn, mon)
        w_t = np.asarray(getattr(mon, weight)[:], dtype=float)          # (M*n, steps)
        w_end = np.asarray(getattr(syn, weight)[:], dtype=float)
    W = np.concatenate([w_t, w_end[:, None]], axis=1).reshape(M, n, steps + 1).transpose(0, 2, 1)
    return np.arange(steps + 1) * dt, W


# --------------------------------------------------------------------------
# A measured averaged field: where no reduction exists
# --------------------------------------------------------------------------


@dataclass
class MeasuredFlow:
    """A scenario's field measured on a grid and on stencils, with a smooth surrogate.

    Attributes
    ----------
    grid : MeasuredField
        The field on a grid of the domain (for the potential and the surrogate).
    centres : (C, n) array
    jacobians, jacobian_errors : (C, n, n) arrays
        Stencil Jacobians at the centres (for the gradient verdict with its tolerance).
    field : AveragedField
        A polynomial fit of the measured field (degree ``degree``, weighted by 1/se^2), for
        fixed points and drawing.
    residual_chi2 : float
        Reduced chi-square of the fit (about 1 if the polynomial describes the field within
        the measurement errors).
    """

    grid: MeasuredField
    centres: np.ndarray
    jacobians: np.ndarray
    jacobian_errors: np.ndarray
    field: object
    degree: int
    residual_chi2: float
    stencil_h: np.ndarray


def measured_flow(scenario, *, grid=5, degree=3, copies=40, duration=None, warmup=None, seed=0,
                  target="numpy", h=None, report=None):
    """Measure a scenario's field on a grid of its domain and on Jacobian stencils at the
    centres of its quadrants (one Brian2 run), and fit a polynomial surrogate.

    The surrogate :math:`\\hat f` (each component a polynomial of degree ``degree`` in the
    weights scaled to [-1, 1], least squares weighted by 1/se^2) stands in for the averaged
    field where no reduction exists (fixed points, figure); the gradient verdict uses the
    stencil Jacobians and their standard errors, not the surrogate. The stencil half-width
    ``h`` (a fraction of the domain's width) trades the bias of a central difference on a
    curved field (of order h^2, itself asymmetric) against noise (of order 1/h): by default 0.02
    for rate rules, whose copies share their input samples so that differences are almost
    noise-free, and 0.15 for spike rules, whose neurons draw their own spikes. ``report``:
    progress on stderr, as for :class:`biodyn.build.Simulation`.
    """
    if h is None:
        h = 0.02 if scenario.kind == "rate" else 0.15
    from ._field import AveragedField
    from ._gradient import _exponents, sample_points

    sc = scenario
    lo, hi = (np.asarray(d, dtype=float) for d in sc.domain)
    n = sc.n
    width = hi - lo
    # grid points kept off the bounds (clipping would bias the drift there)
    pts = sample_points((lo, hi), grid=grid, margin=0.05)
    q = np.array(list(np.ndindex(*([2] * min(n, 3)))), dtype=float)
    centres = np.full((len(q), n), 0.5) if n > 3 else None
    if centres is None:
        centres = lo + width * (0.3 + 0.4 * q)
    else:
        centres[:, :3] = 0.3 + 0.4 * q
        centres = lo + width * centres
    hh = h * width
    sten = stencil(centres, hh)
    m_grid, m_sten = measure_fields([(sc, pts), (sc, sten)], copies=copies, duration=duration,
                                    warmup=warmup, seed=seed, target=target, report=report)
    J, S = measured_jacobians(m_sten, centres, hh)
    # surrogate: weighted polynomial least squares on every measured point
    X = np.vstack([m_grid.points, m_sten.points])
    F = np.vstack([m_grid.f, m_sten.f])
    E = np.vstack([m_grid.se, m_sten.se])
    pos = E[E > 0]
    E = np.maximum(E, 1e-3 * float(np.median(pos)) if pos.size else 1.0)
    center, scale = 0.5 * (lo + hi), np.maximum(0.5 * width, 1e-12)
    expo = np.vstack([np.zeros((1, n), dtype=int), _exponents(n, degree)])

    def basis(Y):
        U = (np.atleast_2d(Y) - center) / scale
        return np.prod(U[:, None, :] ** expo[None, :, :], axis=2)

    B = basis(X)
    coef = np.empty((len(expo), n))
    chi2, dof = 0.0, 0
    for i in range(n):
        w = 1.0 / E[:, i]
        c, *_ = np.linalg.lstsq(B * w[:, None], F[:, i] * w, rcond=None)
        coef[:, i] = c
        chi2 += float(np.sum(((B @ c - F[:, i]) * w) ** 2))
        dof += len(X) - len(expo)
    red = chi2 / max(dof, 1)

    def f(W):
        return basis(W) @ coef

    weight = sc.rule.spec.data.get("weight", "w")
    field = AveragedField(sc, f, [f"{weight}[{i}]" for i in range(n)],
                          f"measured from Brian2 ({copies} copies per point, {m_grid.duration:g} s, "
                          f"dt = {m_grid.dt * 1e3:g} ms, lr = {m_grid.lr:.3g}), fitted by a polynomial of "
                          f"degree {degree} (reduced chi-square {red:.3g})",
                          ["the field is measured, not derived: no reduction of this rule exists for "
                           "these inputs", "weights frozen during each measurement (small lr)"],
                          exact=False)
    field.kind = "measured"
    return MeasuredFlow(m_grid, centres, J, S, field, degree, red, hh)
