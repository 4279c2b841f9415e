r"""Selectivity: the BCM rule in Brian2 against gradient ascent on the Intrator–Cooper objective.

**Task.** A linear rate neuron :math:`y = w^{\top}x` sees one of :math:`K` input patterns
:math:`\xi^k` (rows of ``patterns``) at every time step, pattern :math:`k` with probability
:math:`p_k` (a seeded sequence of draws); it should become *selective*: answer one pattern
and not the others (Bienenstock, Cooper & Munro 1982).

**Biological learner.** The catalog's ``bcm`` synapses (``law_cooper_1994``: :math:`\dot w
= \eta\,x\,y\,(y - \theta_M)`, :math:`\tau_\theta\dot\theta_M = y^2 - \theta_M`; Law & Cooper
1994) onto the catalog's rate neuron, in Brian2 (Euler steps of ``dt``, a new pattern every
step).

**Artificial learner.** Gradient ascent on the objective of Intrator & Cooper (1992),
:math:`R(w) = \eta\,(\tfrac13\mathrm E[y^3] - \tfrac14\mathrm E[y^2]^2)`, as
:mod:`biodyn.flow` states it (``OBJECTIVES["bcm"]``, built from the same pattern statistics),
with :func:`biodyn.ann.ascend`: :math:`w \leftarrow w + lr\,\nabla R(w)` with ``lr`` in
seconds (:math:`R` carries :math:`\eta`), i.e. forward Euler with step ``lr`` on
:math:`\dot w = \nabla R`, the same time axis as the Brian2 run.

**Known answers.** :math:`\nabla R(w) = \eta\,\mathrm E[x\,y\,(y - \mathrm E[y^2])]` is the
averaged BCM field with the threshold at its adiabatic value :math:`\theta_M = \mathrm
E[y^2]` (fast threshold). With :math:`K = n` independent patterns the stable fixed points are
the selective states :math:`y_k = 1/p_k`, :math:`y_{j \ne k} = 0`, i.e.
:math:`w^*_k = \Xi^{-1} e_k/p_k`; they are stationary points (maxima) of :math:`R`, and the
averaged field's Jacobian there is the (symmetric) Hessian of :math:`R`. With the threshold
as a state variable the fixed points are the same (:math:`\theta^* = \mathrm E[y^2]`), but
their stability agrees with the objective's only where the threshold is fast (Intrator &
Cooper 1992; Law & Cooper 1994): the summary gives the eigenvalues of both linearisations.

**Gradient alignment.** :math:`\cos(\mathrm E[\Delta w \mid w(t), \theta_M(t)],
\nabla R(w(t)))` along the Brian2 run, the expected update read from the ``bcm`` spec with
the *simulated* threshold: 1 where the threshold sits at :math:`\mathrm E[y^2]`, below 1 where
it lags.

References
----------
Bienenstock EL, Cooper LN, Munro PW (1982) Theory for the development of neuron selectivity:
orientation specificity and binocular interaction in visual cortex. J Neurosci 2:32-48.
doi:10.1523/JNEUROSCI.02-01-00032.1982
Intrator N, Cooper LN (1992) Objective function formulation of the BCM theory of visual
cortical plasticity: statistical connections, stability conditions. Neural Netw 5:3-17.
doi:10.1016/S0893-6080(05)80003-6
Law CC, Cooper LN (1994) Formation of receptive fields in realistic visual environments
according to the BCM theory. Proc Natl Acad Sci USA 91:7797-7801. doi:10.1073/pnas.91.16.7797
"""

from __future__ import annotations

import numpy as np

from .. import build
from ..errors import SpecError
from ._base import Setting, cosine, pca_projection, register_comparison
from ._brian import rule_update, run_rate_rule

__all__ = ["bcm_vs_gradient", "selective_states"]

SETTINGS = {
    "patterns": Setting([[1.0, 0.3], [0.3, 1.0]], "list", "input patterns, one per row (default: "
                        "the bcm_selectivity protocol's)"),
    "probabilities": Setting([0.5, 0.5], "list", "probability of each pattern"),
    "eta": Setting("1 Hz", "Hz", "learning rate of the rule (bcm's eta)", low=0),
    "tau_theta": Setting("100 ms", "ms", "time constant of the sliding threshold", low=0),
    "dt": Setting("1 ms", "ms", "Brian2 time step (one pattern per step)", low=0),
    "duration": Setting("30 second", "second", "simulated time", low=0),
    "lr": Setting("10 ms", "ms", "step of the gradient ascent on R (R carries eta: a time)", low=0),
    "record_interval": Setting("100 ms", "ms", "interval of the recorded series", low=0),
    "init_low": Setting(0.1, "float", "initial weights: uniform in [init_low, init_high]"),
    "init_high": Setting(0.3, "float", "initial weights: uniform in [init_low, init_high]"),
    "theta0": Setting("adiabatic", "str", "initial threshold: 'adiabatic' (E[y^2] at the initial "
                      "weights) or a number"),
}


def selective_states(patterns, probabilities):
    """:math:`w^*_k = \\Xi^{-1}e_k/p_k` for ``K = n`` independent patterns (rows of ``(K, n)``)."""
    P = np.asarray(patterns, float)
    p = np.asarray(probabilities, float)
    return np.array([np.linalg.solve(P, np.eye(len(p))[k] / p[k]) for k in range(len(p))])


def _check(settings):
    where = "<settings of bcm_vs_gradient>"
    P = settings["patterns"]
    p = settings["probabilities"]
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        raise SpecError(where, "patterns", "K patterns of K inputs (a square table: the selective "
                        "states have a closed form for K = n independent patterns)", f"shape {P.shape}")
    if np.linalg.matrix_rank(P) < P.shape[0]:
        raise SpecError(where, "patterns", "linearly independent patterns", repr(P.tolist()))
    if p.ndim != 1 or p.size != P.shape[0] or np.any(p <= 0) or abs(p.sum() - 1) > 1e-9:
        raise SpecError(where, "probabilities", f"{P.shape[0]} positive probabilities summing to 1",
                        repr(p.tolist()))
    if not settings["init_high"] > settings["init_low"]:
        raise SpecError(where, "init_high", "a number above init_low", repr(settings["init_high"]))
    th = settings["theta0"]
    if th != "adiabatic":
        try:
            float(th)
        except ValueError:
            raise SpecError(where, "theta0", "'adiabatic' or a number", repr(th)) from None


def _whole(value, step, key):
    r = value / step
    n = int(round(r))
    if n < 1 or abs(r - n) > 1e-6 * max(1.0, r):
        raise SpecError("<settings of bcm_vs_gradient>", key, "a whole multiple of the step",
                        f"{r:g} steps")
    return n


@register_comparison("bcm_vs_gradient", SETTINGS,
                     "selectivity: the BCM rule (Brian2) vs gradient ascent on Intrator & Cooper's objective")
def _bcm_vs_gradient(settings, seed, target):
    """The BCM rule (rate neuron in Brian2) against gradient ascent on the Intrator–Cooper
    objective, on the same patterns (see :mod:`biodyn.compare._bcm` for the maths).

    Parameters
    ----------
    seed : int
        Seeds the initial weights and the sequence of patterns.
    target : str
        Brian2 target of the biological learner (default ``"numpy"``).
    **settings
        ``patterns``, ``probabilities``, ``eta`` (Hz), ``tau_theta``, ``dt``, ``duration``,
        ``lr``, ``record_interval`` (quantities), ``init_low``, ``init_high``, ``theta0``.

    Returns
    -------
    Comparison
        ``series``: ``t`` (s), ``w_bio``, ``w_ann`` (``(T, n)``), ``theta_bio`` (the simulated
        threshold), ``theta_adiabatic`` (:math:`\\mathrm E[y^2]` at the Brian2 weights),
        ``y_bio``, ``y_ann`` (responses to each pattern, ``(T, K)``), ``R_bio``, ``R_ann``
        (the objective), ``selectivity_bio``, ``selectivity_ann`` (:math:`1 -
        \\overline{y}/\\max y`), ``distance_bio``, ``distance_ann`` (to the nearest selective
        state), ``alignment`` (expected BCM update at the simulated threshold vs
        :math:`\\nabla R`), ``gradient_norm`` (:math:`\\lVert\\nabla R\\rVert` at the Brian2
        weights), ``projection_bio``, ``projection_ann``, ``projection_states``.
        ``summary``: ``selective_states`` (weights, responses, objective, gradient norm,
        Hessian eigenvalues of R, eigenvalues of the field with the threshold as a state,
        stable), the state each learner ends in and its distance, the largest
        :math:`|f_{adiabatic} - \\nabla R|` along the run, the final alignment, the dataset.
    """
    from brian2 import second

    from .. import ann, flow

    _check(settings)
    P = settings["patterns"]
    p = settings["probabilities"]
    K, n = P.shape
    dt = float(settings["dt"] / second)
    duration = float(settings["duration"] / second)
    lr = float(settings["lr"] / second)
    interval = float(settings["record_interval"] / second)
    stride = _whole(interval, dt, "record_interval")
    steps = int(round(duration / dt))
    if steps % stride:
        raise SpecError("<settings of bcm_vs_gradient>", "duration", "a whole number of record "
                        "intervals", f"{duration / interval:g}")
    ann_stride = _whole(interval, lr, "lr")
    rng = np.random.default_rng([seed, 11])
    w0 = rng.uniform(settings["init_low"], settings["init_high"], n)
    order = np.random.default_rng([seed, 12]).choice(K, size=steps, p=p)

    rule = build.resolve("bcm", "law_cooper_1994",
                         {"eta": settings["eta"], "tau_theta": settings["tau_theta"]})
    neuron = build.resolve("rate", None, None, {"dynamics": "instantaneous", "gain": "linear"})
    inputs = flow.PatternRates(P, p)
    span = 3 * max(1.0, float(np.max(np.abs(selective_states(P, p)))))
    sc = flow.Scenario("bcm_vs_gradient", rule, "rate", inputs, {"neuron": neuron}, w0[None],
                       (np.full(n, -span), np.full(n, span)))
    field = flow.averaged_field(sc)                       # threshold adiabatic
    R = flow.OBJECTIVES["bcm"](field)
    th0 = float(p @ (P @ w0) ** 2) if settings["theta0"] == "adiabatic" else float(settings["theta0"])

    # -- the biological learner (Brian2)
    bio = run_rate_rule(rule, P[order], w0[None], dt=settings["dt"], record_every=stride,
                        record=("theta_M",), init={"theta_M": th0}, target=target, seed=seed,
                        build_key="compare-bcm_vs_gradient")
    t = bio["t"]
    Wb = bio["w"][:, 0, :]
    theta = bio["theta_M"][:, 0, 0]

    # -- the artificial learner: gradient ascent on R
    traj = ann.ascend(lambda w: float(R(w)), lambda w: R.gradient(w)[0], w0, lr=lr,
                      steps=ann_stride * (len(t) - 1), record_every=ann_stride, seed=seed)
    Wa = np.asarray(traj.thetas)

    # -- measures
    update = rule_update(rule)
    grad_b = R.gradient(Wb)
    exp_b = np.array([update.expected(P, w[None], weights=p, theta_M=th)[0]
                      for w, th in zip(Wb, theta)])
    align = np.array([cosine(a, b) for a, b in zip(exp_b, grad_b)])
    adiabatic_err = float(np.max(np.abs(field.f(Wb) - grad_b)))
    yb, ya = Wb @ P.T, Wa @ P.T
    states = selective_states(P, p)

    def nearest(W):
        d = np.linalg.norm(W[:, None, :] - states[None], axis=2)
        return d.min(axis=1), d.argmin(axis=1)

    def selectivity(Y):
        mx = Y.max(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(mx > 0, 1 - Y.mean(axis=1) / mx, np.nan)

    dist_b, idx_b = nearest(Wb)
    dist_a, idx_a = nearest(Wa)
    proj = pca_projection([Wb, Wa, states])

    state_field = flow.averaged_field(sc, aux="state")
    info = []
    for k, ws in enumerate(states):
        g = R.gradient(ws)[0]
        h = 1e-6
        Hs = np.column_stack([(R.gradient(ws + h * e)[0] - R.gradient(ws - h * e)[0]) / (2 * h)
                              for e in np.eye(n)])
        hess = np.linalg.eigvalsh(0.5 * (Hs + Hs.T))
        x = np.concatenate([ws, [float(p @ (P @ ws) ** 2)]])
        ev_state = np.linalg.eigvals(state_field.jacobian(x))
        J_ad = field.jacobian(ws)
        info.append({"w": ws, "y": P @ ws, "R": float(R(ws)), "gradient_norm": float(np.linalg.norm(g)),
                     "field_norm": float(np.linalg.norm(field.f(ws))),
                     "hessian_eigenvalues": hess, "stable_on_objective": bool(np.all(hess < 0)),
                     "jacobian_asymmetry": float(np.max(np.abs(J_ad - J_ad.T))),
                     "jacobian_vs_hessian": float(np.max(np.abs(J_ad - Hs))),
                     "state_field_eigenvalues_real": np.real(ev_state),
                     "state_field_eigenvalues_imag": np.imag(ev_state),
                     "stable_with_threshold_state": bool(np.all(np.real(ev_state) < 0))})

    series = {
        "t": t, "w_bio": Wb, "w_ann": Wa, "theta_bio": theta, "theta_adiabatic": (yb ** 2) @ p,
        "y_bio": yb, "y_ann": ya, "R_bio": R(Wb), "R_ann": R(Wa),
        "selectivity_bio": selectivity(yb), "selectivity_ann": selectivity(ya),
        "distance_bio": dist_b, "distance_ann": dist_a, "alignment": align,
        "gradient_norm": np.linalg.norm(grad_b, axis=1),
        "projection_bio": proj["projections"][0], "projection_ann": proj["projections"][1],
        "projection_states": proj["projections"][2],
    }
    summary = {
        "selective_states": info,
        "final_state_bio": int(idx_b[-1]), "final_distance_bio": float(dist_b[-1]),
        "final_state_ann": int(idx_a[-1]), "final_distance_ann": float(dist_a[-1]),
        "same_state": bool(idx_b[-1] == idx_a[-1]),
        "relative_distance_bio": float(dist_b[-1] / np.linalg.norm(states[idx_b[-1]])),
        "final_selectivity_bio": float(selectivity(yb[-1:])[0]),
        "final_selectivity_ann": float(selectivity(ya[-1:])[0]),
        "perfect_selectivity": float(1 - 1 / K),
        "adiabatic_field_vs_gradient": adiabatic_err,
        "final_alignment": float(align[-1]),
        "median_alignment": float(np.nanmedian(align)),
        "objective": R.text, "objective_citation": R.citation,
        "projection_explained": proj["explained"],
        "time_mapping": "both in seconds: Brian2 Euler steps of dt; ascent steps of lr on dw/dt = grad R",
        "dataset": {"patterns": P, "probabilities": p, "w0": w0, "theta0": th0,
                    "pattern_sequence": "numpy default_rng([seed, 12]).choice", "seed": seed},
        "timings": {"brian2": bio["timings"].get("run")},
    }
    return series, summary


bcm_vs_gradient = _bcm_vs_gradient
