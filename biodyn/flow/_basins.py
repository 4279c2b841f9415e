r"""Which stable state a learning rule ends in: basin probabilities of the averaged flow from the
scenario's initial-weight distribution, against the end states of the Brian2 simulation.

"The dynamics partition the space into basins; which basin training starts in decides which
solution it reaches." For a rule with more than one stable state (BCM's selective states, the
corners a Hebbian/covariance rule runs to, the all-or-none states of competitive STDP), the
question a user asks is: *with the initial weights of my protocol, how often does the rule end
in each?* Here:

1. **The initial distribution** is the protocol's: for the ``rate_inputs`` engine with
   ``network.initial_weights = "random"``, independent uniform weights in
   ``network.initial_range`` (as the engine draws them); otherwise the listed initial weights
   of the conditions that share the analysed input statistics (each with equal probability: a
   discrete distribution, whose "probability" is then the fraction of listed starts).
2. **The averaged flow** :math:`\dot w = f(w)` is integrated from :math:`M` starts drawn from
   it (seeded; ``samples``) by classical Runge–Kutta with step :math:`h = 0.05/\rho`
   (:math:`\rho` the largest spectral radius of the Jacobian at the starts and the stable
   states), projected onto the rule's hard bounds after every step (the clipped flow the
   simulation follows, so that rest points on the bounds are reached exactly). A trajectory
   ends in a stable state when it comes within :math:`10^{-3}` of the domain's diagonal of it;
   trajectories that do neither within :math:`t_{max} = 100/\min|\mathrm{Re}\,\lambda|` are
   ``unresolved``, those that leave :math:`10^3` domain sizes ``diverges``.
3. **Probabilities** :math:`\hat p_k = m_k/M` with Wilson score intervals
   (:func:`biodyn.dynamics.wilson_interval`; Wilson 1927) at ``confidence``.
4. **The simulation's end states**: the final weights of every simulated run of the analysed
   statistics (the conditions ``same`` of the replay, and of ``seeds`` further replays with
   seeds ``seed + 1 ... seed + seeds``, whose initial weights the engine draws anew) are
   assigned to the nearest stable state (stochastic rules end near, not at, it; the distance
   is reported); their fractions carry Wilson intervals too, and ``agree`` says whether each
   simulated fraction's interval overlaps the flow's. With few runs this is a coarse check:
   the intervals say how coarse.

The flow ignores the fluctuations of the weights around their average (the drift is exact
only to first order in the learning rate; van Kampen 1981): near a basin boundary a stochastic
rule can cross it, so the simulated fractions may be pulled towards 1/2 there.

References
----------
Wilson EB (1927) Probable inference, the law of succession, and statistical inference.
J Am Stat Assoc 22:209-212. doi:10.1080/01621459.1927.10502953
Bienenstock EL, Cooper LN, Munro PW (1982) Theory for the development of neuron selectivity.
J Neurosci 2:32-48. doi:10.1523/JNEUROSCI.02-01-00032.1982
van Kampen NG (1981) Stochastic Processes in Physics and Chemistry. North-Holland.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field

import numpy as np

from ..errors import BiodynError

__all__ = ["FlowBasins", "end_states", "flow_basins", "initial_distribution"]


@dataclass
class FlowBasins:
    """End-state probabilities of an averaged flow and of the simulation.

    Attributes
    ----------
    states : (K, n) array
        The stable states (weights).
    distribution : dict
        ``{"kind": "uniform", "low", "high"}`` or ``{"kind": "points", "points"}``.
    counts : dict
        Label -> number of flow trajectories ending there (labels ``"0".."K-1"``,
        ``"unresolved"``, ``"diverges"``).
    n : int
    simulated : list of dict
        Per simulated run: ``{"seed", "condition", "w_final", "state", "distance"}``.
    """

    states: np.ndarray
    distribution: dict
    counts: dict
    n: int
    confidence: float
    starts: np.ndarray = None
    labels: np.ndarray = None
    simulated: list = dc_field(default_factory=list)
    method: str = ""
    notes: list = dc_field(default_factory=list)

    def as_dict(self, max_starts=400):
        from ..dynamics import wilson_interval

        rows = []
        sim_n = len(self.simulated)
        for k, w in enumerate(self.states):
            c = int(self.counts.get(str(k), 0))
            row = {"w": [float(v) for v in w], "count": c, "probability": c / max(self.n, 1),
                   "interval": list(wilson_interval(c, self.n, self.confidence))}
            if sim_n:
                s = sum(1 for r in self.simulated if r["state"] == k)
                iv = list(wilson_interval(s, sim_n, self.confidence))
                row["simulated_count"] = s
                row["simulated_fraction"] = s / sim_n
                row["simulated_interval"] = iv
                row["agree"] = bool(iv[0] <= row["interval"][1] and row["interval"][0] <= iv[1])
            rows.append(row)
        other = {k: int(v) for k, v in self.counts.items() if not k.isdigit() and v}
        idx = slice(0, min(self.n, max_starts))
        return {"states": rows, "other": other, "n_samples": int(self.n), "confidence": self.confidence,
                "initial_distribution": self.distribution, "method": self.method,
                "simulated_runs": [dict(r, w_final=[float(v) for v in r["w_final"]]) for r in self.simulated],
                "starts": None if self.starts is None else self.starts[idx].tolist(),
                "labels": None if self.labels is None else [int(v) for v in self.labels[idx]],
                "notes": list(self.notes)}


def initial_distribution(sc):
    """The initial-weight distribution of a scenario (module docstring, item 1)."""
    net = getattr(sc.protocol, "network", None) or {}
    if sc.protocol is not None and sc.protocol.engine == "rate_inputs" \
            and net.get("initial_weights", "random") == "random":
        lo, hi = (float(v) for v in net.get("initial_range", [-0.5, 0.5]))
        return {"kind": "uniform", "low": lo, "high": hi}
    return {"kind": "points", "points": np.atleast_2d(sc.initial).tolist()}


def _draw(dist, n, samples, seed):
    if dist["kind"] == "uniform":
        rng = np.random.default_rng([int(seed), 5151])
        return rng.uniform(dist["low"], dist["high"], (int(samples), n))
    pts = np.asarray(dist["points"], float)
    return pts.copy()


def end_states(f, starts, states, *, bounds=None, jacobian=None, scale=1.0, max_time=None,
               h=None, max_steps=200000):
    r"""Integrate :math:`\dot w = f(w)` (vectorised: ``f((M, n)) -> (M, n)``) from ``starts``,
    projected onto ``bounds`` (``(lo, hi)`` or None), and label each end: the index of the
    stable state in ``states`` it reaches (within ``1e-3 * scale``), ``-1`` unresolved, ``-2``
    diverged (beyond ``1e3 * scale``).

    ``h`` defaults to :math:`0.05/\rho` with :math:`\rho` the largest spectral radius of
    ``jacobian`` (a function ``(M, n) -> (M, n, n)``) at the starts and states; ``max_time`` to
    :math:`100/\min|\mathrm{Re}\,\lambda|` over the states. Every RK4 stage is evaluated at
    its point projected onto ``bounds``, so that a stable state on a bound is the projected
    scheme's fixed point. Starts are integrated in blocks of 50 steps; a start that a block
    leaves exactly where it was (a fixed point of the projected scheme that is no listed state,
    e.g. a corner of the bounds) is final and keeps the label ``-1``. Returns ``(labels, W)``.
    """
    W = np.array(starts, float)
    S = np.atleast_2d(np.asarray(states, float))
    M = len(W)
    lo = hi = None
    if bounds is not None:
        lo, hi = float(bounds[0]), float(bounds[1])
        W = np.clip(W, lo, hi)
    rho, slow = None, None
    if jacobian is not None:
        P = np.vstack([W, S]) if len(S) else W
        lam = np.linalg.eigvals(jacobian(P))
        rho = float(np.max(np.abs(lam))) if lam.size else None
        if len(S):
            ls = np.linalg.eigvals(jacobian(S))
            re = np.abs(ls.real[np.abs(ls.real) > 0]) if ls.size else np.array([])
            slow = float(np.min(re)) if re.size else None
    if h is None:
        h = 0.05 / rho if rho else 1e-2
    if max_time is None:
        max_time = 100.0 / slow if slow else 2000.0 * h
    tol = 1e-3 * scale
    labels = np.full(M, -1, int)
    active = np.ones(M, bool)
    steps = 0
    # The projected RK4 evaluates every stage at a point projected onto the bounds: a stage
    # taken outside them (w + h/2 k1 past a bound the flow pushes against) reads the field where
    # the clipped flow never goes, and its fixed point is then not the flow's. For a stable state
    # on a bound (hebb_decay's w = [1, 0.652]) the unprojected stages ended every start at
    # w_1 = 0.671, 0.02 away, so 399 of 400 starts were "unresolved" after the full max_time.
    def g(X):
        return f(X) if lo is None else f(np.clip(X, lo, hi))

    while active.any() and steps * h < max_time and steps < max_steps:
        A = W[active]
        for _ in range(50):
            k1 = g(A)
            k2 = g(A + 0.5 * h * k1)
            k3 = g(A + 0.5 * h * k2)
            k4 = g(A + h * k3)
            A = A + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
            if lo is not None:
                A = np.clip(A, lo, hi)
        steps += 50
        # a start that this block of steps left exactly where it was sits on a fixed point of the
        # (deterministic) projected RK4 map, e.g. a corner of the bounds the flow pushes into
        # that is no listed stable state: no later block moves it, so its end and label (below)
        # are final now, not after max_time or max_steps (triplet_poisson: 200000 steps).
        still = np.all(A == W[active], axis=1)
        W[active] = A
        idx = np.where(active)[0]
        with np.errstate(invalid="ignore"):
            bad = ~np.all(np.isfinite(A), axis=1) | (np.max(np.abs(A), axis=1) > 1e3 * scale)
        labels[idx[bad]] = -2
        active[idx[bad]] = False
        if len(S):
            good = ~bad
            D = np.linalg.norm(A[good][:, None, :] - S[None, :, :], axis=2)
            near = np.min(D, axis=1) < tol
            j = idx[good][near]
            labels[j] = np.argmin(D[near], axis=1)
            active[j] = False
        active[idx[still]] = False
    return labels, W


def flow_basins(analysis, *, samples=400, seeds=0, seed=None, confidence=0.95, target="numpy",
                report=None):
    """End-state probabilities of a :class:`~biodyn.flow.FlowAnalysis` (module docstring).

    Parameters
    ----------
    analysis : FlowAnalysis
    samples : int
        Starts drawn from a continuous initial distribution.
    seeds : int
        Further seeded replays of the protocol (target ``target``) whose end states are counted
        beside the analysis's own simulation.

    Returns
    -------
    FlowBasins
    """
    field = analysis.field
    sc = analysis.scenario
    nw = field.n_weights
    seed = analysis.seed if seed is None else int(seed)
    stable = [s for s in analysis.states if s.stable]
    dist = initial_distribution(sc)
    notes = []
    if field.n != nw:
        raise BiodynError(f"{sc.name}: basins of the averaged flow are computed over the weights alone "
                          "(--aux adiabatic), not with the rule's other variables as states")
    S = np.array([s.w[:nw] for s in stable]) if stable else np.zeros((0, nw))
    lo, hi = field.domain
    scale = float(np.linalg.norm(hi[:nw] - lo[:nw]))
    starts = _draw(dist, nw, samples, seed)
    labels, _ = end_states(field.f, starts, S, bounds=sc.bounds, jacobian=field.jacobian, scale=scale)
    counts = {str(k): int(np.sum(labels == k)) for k in range(len(S))}
    counts["unresolved"] = int(np.sum(labels == -1))
    counts["diverges"] = int(np.sum(labels == -2))
    sim_rows = []

    def add(finals, run_seed, conds):
        for c, w in zip(conds, np.atleast_2d(finals)):
            if len(S):
                d = np.linalg.norm(S - w[None, :nw], axis=1)
                k = int(np.argmin(d))
                sim_rows.append({"seed": int(run_seed), "condition": int(c), "w_final": w[:nw],
                                 "state": k, "distance": float(d[k])})
            else:
                sim_rows.append({"seed": int(run_seed), "condition": int(c), "w_final": w[:nw],
                                 "state": None, "distance": None})

    if analysis.simulation is not None:
        add(analysis.simulation["finals"], seed, sc.same)
    for j in range(1, int(seeds) + 1):
        add(_replay(analysis, seed + j, target, report), seed + j, sc.same)
    method = (f"averaged flow from {len(starts)} starts of the initial distribution, classical RK4"
              + (" projected onto the bounds" if sc.bounds is not None else "")
              + f"; Wilson intervals at {confidence:g}; simulated ends assigned to the nearest stable state")
    if dist["kind"] == "points":
        notes.append("the protocol lists its initial weights (no random draw): the probabilities are "
                     "fractions of those starts")
    if not len(S):
        notes.append("no stable state of the averaged flow: every start is unresolved or diverges")
    return FlowBasins(S, dist, counts, len(starts), confidence, starts, labels, sim_rows, method, notes)


def _replay(analysis, seed, target, report):
    """Final weights of the analysed statistics' conditions in one more seeded replay."""
    from .. import protocols

    a = analysis.replay_arguments
    res = protocols.run(a["protocol"], a["model"], a["params"], a["overrides"], a["variants"],
                        target=target, seed=seed, stimulus=a["stimulus"], network=a["network"],
                        block=False, report=report)
    w_t = np.asarray(res.extra["w_t"], dtype=float)
    finals = np.asarray(res.extra.get("w_final", w_t[:, :, -1]), dtype=float)
    return finals[list(analysis.scenario.same)]
