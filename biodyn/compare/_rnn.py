r"""The transition to chaos seen twice: the largest Lyapunov exponent of a random rate network
and the growth of backprop-through-time gradients over the horizon.

**Network.** The catalog's ``rate_rnn`` (Sompolinsky, Crisanti & Sommers 1988):
:math:`\tau\dot h = -h + J\tanh(h)`, :math:`J_{ij} \sim \mathcal N(0, g^2/N)`, :math:`J_{ii} =
0`, the couplings drawn from the seed; time in units of :math:`\tau`. For :math:`N \to
\infty` the quiescent state is stable for :math:`g < 1` and the dynamics chaotic for
:math:`g > 1`; at finite :math:`N` the transition is shifted and smeared (stable non-zero
fixed points and limit cycles just above :math:`g = 1`).

**Forward reading.** The largest Lyapunov exponent :math:`\lambda_{\max}` by the QR method
(:func:`biodyn.dynamics.lyapunov_spectrum`, Euler steps of ``dt``, Jacobians derived from the
spec) — of the Euler map :math:`h_{t+1} = h_t + dt\,f(h_t)`, which is also the network that
backprop unrolls.

Both readings measure the same stretch :math:`[t_0 + T_a, t_0 + T_a + T]` of one trajectory
(after a transient :math:`t_0`), each after an alignment time :math:`T_a` of its own: the QR
tangent vector is carried forward over :math:`[t_0, t_0 + T_a]` first, and the loss is put at
:math:`t_0 + 2T_a + T`, so that the backward signal has aligned with the leading adjoint
direction when it enters the stretch. They are then two readings of one product of Jacobians,
:math:`\lVert P q\rVert` and :math:`\lVert P^{\top}\delta\rVert` for aligned unit vectors,
and agree far more closely than either agrees with the :math:`T \to \infty` limit.

**Backward reading.** Backprop through time of a loss :math:`L = c^{\top}h_T` at the horizon
(a random unit readout :math:`c`): :math:`\delta_T = c`, :math:`\delta_{t-1} =
D_t^{\top}\delta_t` with :math:`D_t = I + dt\,\partial f/\partial h(h_{t-1})` — the
reverse-time linear system of :mod:`biodyn.ann`, here with the Jacobians of the same field.
Since :math:`\delta_0 = (D_T\cdots D_1)^{\top}c` for a horizon of :math:`T` steps,

.. math::

    \frac1T\log\frac{\lVert\delta_0\rVert}{\lVert\delta_T\rVert} \to \lambda_{\max}
    \qquad (T \to \infty)

(Oseledets 1968; the exponents of a product and of its transpose agree), with a
:math:`O(1/T)` bias from the readout's overlap with the leading singular vector (which the
alignment time removes from ``bptt_rate``; ``bptt_rate_horizon`` keeps it: the rate measured
straight from the loss, as a user training the network would see it).
Exploding gradients (:math:`\lambda_{\max} > 0`) and vanishing ones (:math:`\lambda_{\max} < 0`)
are the two sides of the transition (Pascanu, Mikolov & Bengio 2013; Engelken 2023).

There is no learning trajectory here: the analogue of the other comparisons' gradient
alignment is the relation between :math:`\lambda_{\max}` and the BPTT growth rate, one point
per gain :math:`g`; the shared projection shows the forward trajectories of every gain on the
top principal components of all of them.

**Known answers.** Below the transition (:math:`g < 1`) the trajectory settles at
:math:`h = 0`, where both rates equal the linearisation
:math:`\max_\mu \ln|1 + dt(\mu - 1)|/dt` over the eigenvalues :math:`\mu` of :math:`J`
(:math:`\approx g - 1` by the circular law); :math:`\lambda_{\max}` crosses 0 near
:math:`g = 1` (Sompolinsky et al. 1988), and the BPTT rate follows it on both sides.

References
----------
Sompolinsky H, Crisanti A, Sommers HJ (1988) Chaos in random neural networks. Phys Rev Lett
61:259-262. doi:10.1103/PhysRevLett.61.259
Oseledets VI (1968) A multiplicative ergodic theorem. Trans Moscow Math Soc 19:197-231.
Pascanu R, Mikolov T, Bengio Y (2013) On the difficulty of training recurrent neural
networks. ICML, PMLR 28(3):1310-1318. arXiv:1211.5063
Engelken R (2023) Gradient flossing: improving gradient descent through dynamic control of
Jacobians. NeurIPS 36. arXiv:2312.17306
Engelken R, Wolf F, Abbott LF (2023) Lyapunov spectra of chaotic recurrent neural networks.
Phys Rev Research 5:043044. doi:10.1103/PhysRevResearch.5.043044
"""

from __future__ import annotations

import time

import numpy as np

from ..errors import SpecError
from ._base import Setting, pca_projection, register_comparison

__all__ = ["rnn_lyapunov_vs_bptt", "bptt_norms"]

SETTINGS = {
    "N": Setting(200, "int", "number of units", low=1),
    "g": Setting([0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0], "list", "gains g (coupling strength)"),
    "dt": Setting(0.05, "float", "Euler step, in units of tau", low=0),
    "transient": Setting(50.0, "float", "time discarded first, in units of tau"),
    "duration": Setting(200.0, "float", "measured time T (the Lyapunov run and the BPTT stretch), "
                        "in units of tau", low=0),
    "align": Setting(20.0, "float", "alignment time T_a of the tangent vector and of the backward "
                     "signal, in units of tau"),
    "segments": Setting(10, "int", "segments for the standard error of lambda_max", low=0),
    "sample_every": Setting(1.0, "float", "interval of the recorded curves, in units of tau", low=0),
}


def bptt_norms(field, h0, steps, dt, readout):
    """Forward Euler states and backward BPTT signals of :math:`L = c^{\\top}h_T`.

    Returns ``(states (steps+1, n), log_norms (steps+1,))`` where ``log_norms[j]`` is
    :math:`\\ln\\lVert\\delta_{T-j}\\rVert` (:math:`j` steps back from the horizon), the
    backward signal renormalised at every step (no overflow) and its logarithm accumulated.
    """
    n = field.n
    H = np.empty((steps + 1, n))
    H[0] = h0
    for t in range(steps):
        H[t + 1] = H[t] + dt * field.f(H[t])
    delta = np.asarray(readout, float).copy()
    log_norm = np.empty(steps + 1)
    acc = np.log(np.linalg.norm(delta))
    delta /= np.linalg.norm(delta)
    log_norm[0] = acc
    eye = np.eye(n)
    for j in range(1, steps + 1):
        D = eye + dt * field.jacobian(H[steps - j])
        delta = D.T @ delta
        nrm = np.linalg.norm(delta)
        acc += np.log(nrm)
        delta /= nrm
        log_norm[j] = acc
    return H, log_norm


def _coupling_matrix(field):
    """The dense coupling matrix J (post x pre) of the field's plan (for the linearisation)."""
    cp = field.plan.couplings[0]
    J = np.zeros((field.n, field.n))
    np.add.at(J, (np.asarray(cp.j), np.asarray(cp.i)), np.asarray(cp.weights["w"], float))
    return J


@register_comparison("rnn_lyapunov_vs_bptt", SETTINGS,
                     "transition to chaos: largest Lyapunov exponent vs BPTT gradient growth of a "
                     "rate RNN", brian2=False)
def _rnn_lyapunov_vs_bptt(settings, seed, target):
    """Largest Lyapunov exponent of the ``rate_rnn`` network against the growth rate of its
    BPTT gradients, for each gain ``g`` (see :mod:`biodyn.compare._rnn` for the maths).

    Parameters
    ----------
    seed : int
        Seeds the couplings (the spec's ``seed`` parameter), the initial state, the QR
        method's tangent vectors and the BPTT readout.
    **settings
        ``N``, ``g`` (list), ``dt``, ``transient``, ``duration`` (the measured stretch),
        ``align``, ``sample_every`` (in units of :math:`\\tau`), ``segments``.

    Returns
    -------
    Comparison
        ``series``: ``g``; per gain (lists over ``g``): ``lambda_max``, ``lambda_se``,
        ``lambda_linear`` (the linearisation at :math:`h = 0`), ``bptt_rate`` (the growth
        of :math:`\\ln\\lVert\\delta\\rVert` across the measured stretch, per unit time, after the
        alignment), ``bptt_rate_horizon`` (:math:`\\frac1T\\ln(\\lVert\\delta_0\\rVert/\\lVert
        \\delta_T\\rVert)` over the first :math:`T` back from the loss, no alignment),
        ``bptt_slope`` (least-squares slope over the stretch), ``activity`` (rms of :math:`h`
        over the stretch); ``horizon`` (times back from the loss, :math:`\\tau`) and
        ``log_delta`` (per gain, :math:`\\ln\\lVert\\delta\\rVert` at those times); ``projection`` (per gain, the forward trajectory on the shared top-2
        principal components).
        ``summary``: ``crossing_g`` (where :math:`\\lambda_{\\max}` crosses 0, linear
        interpolation), ``crossing_g_bptt``, ``max_rate_difference``, ``rate_differences``
        in standard errors, the time unit, the projection's explained variance.
    """
    from .. import dynamics

    gains = np.atleast_1d(settings["g"]).astype(float)
    if gains.ndim != 1 or np.any(gains <= 0):
        raise SpecError("<settings of rnn_lyapunov_vs_bptt>", "g", "a list of positive gains",
                        repr(gains.tolist()))
    if settings["transient"] < 0:
        raise SpecError("<settings of rnn_lyapunov_vs_bptt>", "transient", "a time >= 0",
                        repr(settings["transient"]))
    if settings["align"] < 0:
        raise SpecError("<settings of rnn_lyapunov_vs_bptt>", "align", "a time >= 0",
                        repr(settings["align"]))
    N, dt = settings["N"], settings["dt"]
    steps = int(round(settings["duration"] / dt))
    n_align = int(round(settings["align"] / dt))
    every = max(1, int(round(settings["sample_every"] / dt)))
    rows = {k: [] for k in ("lambda_max", "lambda_se", "lambda_linear", "bptt_rate",
                            "bptt_rate_horizon", "bptt_slope", "activity")}
    log_delta, forward, timings = [], [], []
    time_unit = None
    for g in gains:
        t0 = time.perf_counter()
        field = dynamics.read("rate_rnn", overrides={"N": str(N), "g": repr(float(g)),
                                                     "seed": str(int(seed))}, seed=seed)
        time_unit = field.time_unit_text
        x0 = field.x0(seed)
        res = dynamics.lyapunov_spectrum(field, x0, duration=settings["duration"], dt=dt,
                                         transient=settings["transient"], k=1, integrator="euler",
                                         segments=settings["segments"], seed=seed,
                                         tangent_transient=n_align * dt)
        rows["lambda_max"].append(float(res.exponents[0]))
        rows["lambda_se"].append(float(res.standard_error[0]))
        mu = np.linalg.eigvals(_coupling_matrix(field))
        rows["lambda_linear"].append(float(np.max(np.log(np.abs(1 + dt * (mu - 1)))) / dt))
        h = np.array(x0, float)
        for _ in range(int(round(settings["transient"] / dt))):
            h = h + dt * field.f(h)
        readout = np.random.default_rng([seed, 31, len(log_delta)]).standard_normal(N)
        total = steps + 2 * n_align
        H, ln = bptt_norms(field, h, total, dt, readout)
        T = steps * dt
        # the stretch [t0 + Ta, t0 + Ta + T] is n_align .. n_align + steps back from the loss
        rows["bptt_rate"].append(float((ln[n_align + steps] - ln[n_align]) / T))
        rows["bptt_rate_horizon"].append(float((ln[steps] - ln[0]) / T))
        back = np.arange(total + 1) * dt
        inner = (back >= n_align * dt) & (back <= (n_align + steps) * dt)
        rows["bptt_slope"].append(float(np.polyfit(back[inner], ln[inner], 1)[0]))
        rows["activity"].append(float(np.sqrt(np.mean(H[n_align:n_align + steps + 1] ** 2))))
        log_delta.append(ln[::every])
        forward.append(H[n_align:n_align + steps + 1:every])
        timings.append(time.perf_counter() - t0)
    lam = np.array(rows["lambda_max"])
    bptt = np.array(rows["bptt_rate"])
    se = np.array(rows["lambda_se"])
    proj = pca_projection(forward)
    series = {"g": gains, **{k: np.array(v) for k, v in rows.items()},
              "horizon": np.arange(steps + 2 * n_align + 1)[::every] * dt, "log_delta": log_delta,
              "projection": proj["projections"]}
    summary = {
        "crossing_g": _crossing(gains, lam), "crossing_g_bptt": _crossing(gains, bptt),
        "crossing_g_mean_field": 1.0,
        "max_rate_difference": float(np.max(np.abs(bptt - lam))),
        "rate_differences_in_se": (bptt - lam) / np.maximum(se, 1e-12),
        "time_unit": time_unit, "N": N,
        "projection_explained": proj["explained"],
        "note": ("no learning trajectory: the analogue of gradient alignment is lambda_max against "
                 "the BPTT growth rate (1/T) ln(|delta_0|/|delta_T|), one point per gain"),
        "timings": {"per_gain": timings},
    }
    return series, summary


def _crossing(x, y):
    """The first zero crossing of ``y(x)`` (upwards), by linear interpolation; ``None`` if none."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    order = np.argsort(x)
    x, y = x[order], y[order]
    for i in range(len(x) - 1):
        if y[i] < 0 <= y[i + 1]:
            return float(x[i] + (x[i + 1] - x[i]) * (-y[i]) / (y[i + 1] - y[i]))
    return None


rnn_lyapunov_vs_bptt = _rnn_lyapunov_vs_bptt
