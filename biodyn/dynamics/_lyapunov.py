r"""Lyapunov spectra by the QR method, and the largest exponent by two trajectories.

**QR method** (Benettin, Galgani, Giorgilli & Strelcyn 1980; Shimada & Nagashima 1979).
An orthonormal set :math:`Q_0` of :math:`k` tangent vectors is carried along a trajectory
by the linearised dynamics — for a map :math:`Q \leftarrow DF(x_t)\,Q`; for a flow, the
variational equation :math:`\dot Q = J(x, t)\,Q` integrated *with* the state by the same
scheme (for RK4 this is exactly the derivative of the RK4 step) — and re-orthonormalised
every ``reorth_every`` steps by a QR factorisation :math:`Q R = M`. The exponents are

.. math::

    \lambda_i = \frac{1}{T}\sum_{\text{QR steps}} \ln |R_{ii}|,

in units of 1/time unit for flows (the model's declared time unit) and per iteration for
maps. Because a product of upper-triangular factors is upper triangular, the result does
not depend on how often one re-orthonormalises (in exact arithmetic); the interval only
keeps :math:`Q` well conditioned. By default it adapts: it is halved when the spread of
:math:`\ln|R_{ii}|` over one interval exceeds 15 and doubled below 3.75 (Householder QR is
backward stable: a spread :math:`e^{s}` leaves relative errors of about :math:`10^{-16}e^{s}`
in the smallest :math:`R_{ii}`, so the exponents' sum keeps the identity
:math:`\sum\lambda_i = \langle\ln|\det D|\rangle` to ~1e-9; much longer intervals do not:
the discrete rate map at N = 300, g = 2 with a QR every 10 steps gives -3.6 for its smallest
exponent instead of -6.6).

Returned with the exponents: a standard error by **batch means** (:func:`batch_means`):
the measured run is cut into :math:`M` consecutive batches of equal duration, the exponent
of each batch is computed, and :math:`\mathrm{SE} = s/\sqrt{M}` (:math:`s` the standard
deviation of the batch exponents). It starts from :math:`M \approx \sqrt{n}` batches of
:math:`\sqrt{n}` steps each (:math:`n` steps measured: the consistent choice of Flegal &
Jones 2010) and merges neighbouring batches pairwise while their estimates are still
positively correlated (lag-1 autocorrelation above :math:`2/\sqrt{M}`, down to 8 batches), so
that batches are longer than the correlation time of the local expansion rates; if the 8
batches are still correlated, the SE is inflated by the AR(1) factor
:math:`\sqrt{(1+\rho)/(1-\rho)}` and a warning says the run is too short for a reliable SE. Ten fixed
segments, as before, gave at logistic r = 3.8 an SE 2.7 times smaller than the scatter of
independent restarts (an SE from 9 degrees of freedom is itself that uncertain); the test
suite checks the SE against restarts. A **convergence check** (:func:`convergence`) tests
the batch estimates of the largest exponent for a trend: where there is one, the estimate
measured a transient, and the result carries a ``warnings`` entry that names the drift (the
estimates of the two halves of the run) and the duration needed. Also returned: running
estimates; the Kaplan–Yorke dimension
:math:`D_{KY} = j + \sum_{i\le j}\lambda_i/|\lambda_{j+1}|` (:math:`j` the largest index with a
non-negative partial sum; Kaplan & Yorke 1979); and the entropy rate
:math:`\sum_{\lambda_i>0}\lambda_i` (an upper bound of the Kolmogorov–Sinai entropy, equal to it
for SRB measures: Pesin 1977), in nats per time unit.

**Two trajectories** (Benettin et al. 1976): a reference and a perturbed copy at distance
:math:`d_0`, renormalised back to :math:`d_0` every ``renorm_every`` steps;
:math:`\lambda_1 = \frac{1}{T}\sum \ln(d/d_0)`. Needs no Jacobian; for threshold-reset
(spiking) models it is the only consistent choice, see :mod:`biodyn.dynamics._brian`.

Assumptions and failure modes
-----------------------------
* The run must be long compared with :math:`1/|\lambda_i - \lambda_{i+1}|` (alignment of
  the tangent vectors: ``tangent_transient``) and with the mixing time of the attractor;
  too short a run gives a large standard error — look at it and at the running estimates.
* Fixed-step explicit integration: stiff systems need a small ``dt`` (the exponents of the
  discretised flow converge to those of the flow as dt -> 0; RK4 to 4th order).
* A flow that is autonomous and off fixed points has one exponent 0 (the direction of the
  flow); its numerical value measures the accuracy of the run.
* Non-autonomous fields (forcing) are integrated with their time dependence; the spectrum
  has no zero exponent for the forcing phase.

References
----------
Benettin G, Galgani L, Giorgilli A, Strelcyn JM (1980) Lyapunov characteristic exponents
for smooth dynamical systems and for Hamiltonian systems; a method for computing all of
them. Meccanica 15:9-20 and 21-30. doi:10.1007/BF02128236
Shimada I, Nagashima T (1979) A numerical approach to ergodic problem of dissipative
dynamical systems. Prog Theor Phys 61:1605-1616. doi:10.1143/PTP.61.1605
Benettin G, Galgani L, Strelcyn JM (1976) Kolmogorov entropy and numerical experiments.
Phys Rev A 14:2338-2345. doi:10.1103/PhysRevA.14.2338
Kaplan JL, Yorke JA (1979) Chaotic behavior of multidimensional difference equations.
Lecture Notes in Mathematics 730:204-227. doi:10.1007/BFb0064319
Pesin YB (1977) Characteristic Lyapunov exponents and smooth ergodic theory. Russ Math
Surveys 32:55-114. doi:10.1070/RM1977v032n04ABEH001639
Engelken R, Wolf F, Abbott LF (2023) Lyapunov spectra of chaotic recurrent neural networks.
Phys Rev Research 5:043044. doi:10.1103/PhysRevResearch.5.043044
Flegal JM, Jones GL (2010) Batch means and spectral variance estimators in Markov chain
Monte Carlo. Ann Stat 38:1034-1070. doi:10.1214/09-AOS735
Schmeiser B (1982) Batch size effects in the analysis of simulation output. Oper Res
30:556-568. doi:10.1287/opre.30.3.556
Mann HB (1945) Nonparametric tests against trend. Econometrica 13:245-259. doi:10.2307/1907187
White KP (1997) An effective truncation heuristic for bias reduction in simulation output.
Simulation 69:323-334. doi:10.1177/003754979706900601
Kendall MG (1975) Rank Correlation Methods, 4th ed. Griffin, London.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import BiodynError, SpecError, suggest

__all__ = ["lyapunov_spectrum", "two_trajectory_exponent", "LyapunovResult", "Stepper", "RK4",
           "Euler", "MapStep", "INTEGRATORS", "stepper_for", "kaplan_yorke", "entropy_rate",
           "qr_r_diagonal", "batch_means", "convergence"]


# --------------------------------------------------------------------------
# Steppers: one step of the state and of the tangent vectors
# --------------------------------------------------------------------------


class Stepper:
    """One step of a system: ``step(x, t)`` and ``step_tangent(x, t, Q)``.

    ``dt`` is the time of one step in the system's time unit (1 for maps).
    """

    dt = 1.0
    name = "step"

    def step(self, x, t):
        raise NotImplementedError

    def step_tangent(self, x, t, Q):
        """``(x_next, M Q)`` with ``M`` the Jacobian of the step."""
        raise NotImplementedError


class RK4(Stepper):
    r"""Classical Runge–Kutta of order 4, with the tangent propagated by the derivative of
    the same step: :math:`K_1 = J(x)Q`, :math:`K_2 = J(x + \tfrac h2 k_1)(Q + \tfrac h2 K_1)`, ...,
    :math:`Q' = Q + \tfrac h6(K_1 + 2K_2 + 2K_3 + K_4)`."""

    name = "rk4"

    def __init__(self, field, dt):
        self.field, self.dt = field, float(dt)

    def step(self, x, t):
        f, h = self.field.f, self.dt
        k1 = f(x, t)
        k2 = f(x + 0.5 * h * k1, t + 0.5 * h)
        k3 = f(x + 0.5 * h * k2, t + 0.5 * h)
        k4 = f(x + h * k3, t + h)
        return x + (h / 6.0) * (k1 + 2.0 * (k2 + k3) + k4)

    def step_tangent(self, x, t, Q):
        fj, h = self.field.f_and_jvp, self.dt
        k1, K1 = fj(x, Q, t)
        k2, K2 = fj(x + 0.5 * h * k1, Q + 0.5 * h * K1, t + 0.5 * h)
        k3, K3 = fj(x + 0.5 * h * k2, Q + 0.5 * h * K2, t + 0.5 * h)
        k4, K4 = fj(x + h * k3, Q + h * K3, t + h)
        K2 += K3
        K2 *= 2.0
        K2 += K1
        K2 += K4
        K2 *= h / 6.0
        K2 += Q
        return x + (h / 6.0) * (k1 + 2.0 * (k2 + k3) + k4), K2


class Euler(Stepper):
    r"""Forward Euler: :math:`x' = x + h f(x)`, :math:`Q' = Q + h J(x) Q` (the Jacobian of the
    Euler map, :math:`I + hJ`, as in Engelken et al. 2023)."""

    name = "euler"

    def __init__(self, field, dt):
        self.field, self.dt = field, float(dt)

    def step(self, x, t):
        return x + self.dt * self.field.f(x, t)

    def step_tangent(self, x, t, Q, overwrite=False):
        """``overwrite=True`` lets the field write ``Q + dt J Q`` into ``Q`` (one BLAS call for
        rate networks); :func:`lyapunov_spectrum` allows it, since it discards the old ``Q``."""
        f, Q2 = self.field.f_and_jvp(x, Q, t, alpha=self.dt, base=Q, overwrite=overwrite)
        return x + self.dt * f, Q2


class MapStep(Stepper):
    """One iteration of a map (a :class:`Field` map, or a :class:`DrivenCell`)."""

    name = "map"
    dt = 1.0

    def __init__(self, system):
        self.system = system

    def step(self, x, t):
        s = self.system
        return s.step(x, t) if hasattr(s, "step_and_jvp") else s.f(x, t)

    def step_tangent(self, x, t, Q):
        s = self.system
        if hasattr(s, "step_and_jvp"):
            return s.step_and_jvp(x, t, Q)
        return s.f_and_jvp(x, Q, t)


#: Integrators of flows by name.
INTEGRATORS = {"rk4": RK4, "euler": Euler}


def stepper_for(system, dt=None, integrator="rk4"):
    """The :class:`Stepper` of a field or map (``dt`` in the system's time unit)."""
    if isinstance(system, Stepper):
        return system
    if getattr(system, "is_map", False):
        return MapStep(system)
    if integrator not in INTEGRATORS:
        raise SpecError("<arguments>", "integrator", "one of " + ", ".join(INTEGRATORS),
                        repr(integrator), suggest(integrator, INTEGRATORS))
    if dt is None or not dt > 0:
        raise SpecError("<arguments>", "dt", "a positive time step (in the model's time unit) for a flow",
                        repr(dt))
    return INTEGRATORS[integrator](system, dt)


def _dim(system):
    return system.n


def _time_unit_text(system):
    return getattr(system, "time_unit_text", "1")


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------


def kaplan_yorke(exponents, complete=True):
    r"""Kaplan–Yorke dimension :math:`j + \sum_{i\le j}\lambda_i / |\lambda_{j+1}|`.

    ``None`` if every partial sum is non-negative and the spectrum is not ``complete``
    (the dimension is then at least ``k``); ``n`` for a complete spectrum with
    non-negative sum.
    """
    lam = np.sort(np.asarray(exponents, float))[::-1]
    if lam.size == 0:
        return None
    if lam[0] < 0:
        return 0.0
    c = np.cumsum(lam)
    nonneg = np.nonzero(c >= 0)[0]
    j = int(nonneg[-1])
    if j == lam.size - 1:
        return float(lam.size) if complete else None
    return float(j + 1 + c[j] / abs(lam[j + 1]))


def entropy_rate(exponents):
    """Sum of the positive exponents (Pesin): nats per time unit."""
    lam = np.asarray(exponents, float)
    return float(lam[lam > 0].sum())


@dataclass
class LyapunovResult:
    """Exponents and how they were obtained (see :func:`lyapunov_spectrum`).

    Attributes
    ----------
    exponents : (k,) array
        Largest first, per time unit (flows) or per iteration (maps).
    standard_error : (k,) array
    time_unit : str
    duration : float
        Measured time (after the transients), in time units (iterations for maps).
    running_times, running : arrays
        Times and cumulative estimates ``(n_points, k)``.
    segments : (M, k) array
        The estimate of every segment.
    kaplan_yorke, entropy_rate : float or None
    """

    exponents: np.ndarray
    standard_error: np.ndarray
    time_unit: str
    duration: float
    transient: float
    tangent_transient: float
    dt: float
    method: str
    integrator: str
    k: int
    n: int
    reorth_every: object
    n_qr: int
    running_times: np.ndarray
    running: np.ndarray
    segments: np.ndarray
    kaplan_yorke: float | None
    entropy_rate: float
    final_state: np.ndarray
    extra: dict = field(default_factory=dict)

    def as_dict(self):
        """JSON-ready summary (no arrays of states)."""

        def clean(v):
            return None if v is None or not math.isfinite(v) else float(v)

        out = {
            "exponents": [clean(v) for v in self.exponents],
            "standard_error": [clean(v) for v in self.standard_error],
            "time_unit": self.time_unit,
            "kaplan_yorke": clean(self.kaplan_yorke) if self.kaplan_yorke is not None else None,
            "entropy_rate": clean(self.entropy_rate),
            "duration": float(self.duration),
            "transient": float(self.transient),
            "tangent_transient": float(self.tangent_transient),
            "dt": float(self.dt),
            "method": self.method,
            "integrator": self.integrator,
            "k": int(self.k),
            "dimension": int(self.n),
            "reorth_every": self.reorth_every,
            "qr_factorisations": int(self.n_qr),
            "segments": int(len(self.segments)),
        }
        out.update(self.extra)
        return out


# --------------------------------------------------------------------------
# Standard error and convergence
# --------------------------------------------------------------------------

#: bins the measured run is recorded in (QR points at their edges; batches merge them)
_BINS = 256


def _bounds(n_meas, segments):
    """Step indices of the recorded bins: ``segments`` batches if given, else fine bins."""
    count = _BINS if segments is None else int(segments)
    count = max(1, min(count, n_meas))
    return np.linspace(0, n_meas, count + 1).round().astype(int)


def batch_means(sums, times, n_steps=None, min_batches=8):
    r"""Exponents of batches and the batch-means standard error.

    Parameters
    ----------
    sums : (F, k) array
        :math:`\sum \ln|R_{ii}|` (or :math:`\sum\ln d/d_0`) of each of ``F`` consecutive bins.
    times : (F,) array
        Duration of each bin.
    n_steps : int, optional
        Steps measured (default ``F``): the start is :math:`M = \lceil\sqrt{n}\rceil` batches
        (Flegal & Jones 2010), at most ``F``.
    min_batches : int
        Batches are merged pairwise while the lag-1 autocorrelation of the batch estimates
        exceeds :math:`2/\sqrt M` (for each exponent separately), but not below this many;
        still correlated there, the SE is inflated by :math:`\sqrt{(1+\rho)/(1-\rho)}`.

    Returns
    -------
    (se, estimates, batch_time)
        ``se`` (k,), the batch estimates (M, k) and the mean batch duration, both with the
        batches of the first exponent.
    """
    sums = np.atleast_2d(np.asarray(sums, float))
    if sums.shape[0] != len(times):
        sums = sums.T
    times = np.asarray(times, float)
    F = len(times)
    n = F if n_steps is None else int(n_steps)
    M = max(1, min(F, int(math.ceil(math.sqrt(max(n, 1))))))

    def batches(M):
        edges = np.linspace(0, F, M + 1).round().astype(int)
        S = np.add.reduceat(sums, edges[:-1], axis=0)
        T = np.add.reduceat(times, edges[:-1])
        return S / T[:, None], T

    M0 = M
    if M < 2:
        est, T = batches(M)
        return np.full(sums.shape[1], np.nan), est, float(T.mean())
    # each exponent its own batch size (testing all of them together merges on chance
    # correlations of some of the k columns); the first exponent's batches are returned
    se = np.empty(sums.shape[1])
    first = None
    for j in range(sums.shape[1]):
        M = M0
        est, T = batches(M)
        col = est[:, j:j + 1]
        while M >= 2 * min_batches and _lag1(col)[0] > 2.0 / math.sqrt(M):
            M //= 2
            est, T = batches(M)
            col = est[:, j:j + 1]
        # batches of (nearly) equal duration: the plain mean of batch estimates is the run's
        # estimate up to rounding of the bin edges
        s_j = float(col.std(ddof=1)) / math.sqrt(M)
        # at the floor of batches and still correlated (a run not much longer than the
        # correlation time): inflate by the AR(1) factor sqrt((1 + rho)/(1 - rho)), rho <= 0.9
        rho = float(np.clip(_lag1(col)[0], 0.0, 0.9))
        if rho > 2.0 / math.sqrt(M):
            s_j *= math.sqrt((1 + rho) / (1 - rho))
        se[j] = s_j
        if j == 0:
            first = (est, T)
    est, T = first
    return se, est, float(T.mean())


def _lag1(est):
    """Lag-1 autocorrelation of each column of batch estimates."""
    c = est - est.mean(axis=0)
    den = (c * c).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (c[:-1] * c[1:]).sum(axis=0) / np.where(den > 0, den, 1.0), 0.0)


def convergence(sums, times, exponents, se, batches, names=None, time_unit="", z=3.0, index=0):
    r"""Has the running estimate of exponent ``index`` settled? A trend test on the batches.

    The batch estimates of :func:`batch_means` are (nearly) uncorrelated when the run is
    stationary. A transient shows as a monotone trend in them: Mann–Kendall's statistic
    :math:`S = \sum_{i<j}\mathrm{sign}(e_j - e_i)`, with variance :math:`M(M-1)(2M+5)/18`,
    is tested at :math:`|z| > 3` (Mann 1945; Kendall 1975). Only the largest exponent is
    tested (its sign decides chaos; testing all of them would need a multiple-testing
    correction that leaves no power at 8 batches).

    The drift is reported as the estimates of the two halves of the run,
    :math:`\lambda_a, \lambda_b`. A transient that adds a fixed amount :math:`c` to
    :math:`\sum\ln R` biases the estimate by :math:`c/T`, and :math:`c = (\lambda_a - \lambda_b)T/2`;
    the bias falls below the SE (which shrinks as :math:`T^{-1/2}`) for
    :math:`T' \ge T\,(|\lambda_a-\lambda_b|/2\,\mathrm{SE})^2` — a lower bound when the
    transient has not ended within the run.

    Returns
    -------
    list of dict
        Empty if converged (or fewer than 8 batches); else one entry: ``index``,
        ``first_half``, ``second_half``, ``drift``, ``trend_z``, ``duration_needed``, ``message``.
    """
    sums = np.atleast_2d(np.asarray(sums, float))
    if sums.shape[0] != len(times):
        sums = sums.T
    times = np.asarray(times, float)
    e = np.asarray(batches, float)
    e = e[:, index] if e.ndim == 2 else e
    M = len(e)
    if M < 8 or len(times) < 2 or not np.all(np.isfinite(e)):
        return []
    S = float(sum(np.sign(e[j + 1:] - e[j]).sum() for j in range(M - 1)))
    var = M * (M - 1) * (2 * M + 5) / 18.0
    zs = (S - np.sign(S)) / math.sqrt(var) if S != 0 else 0.0
    name = names[index] if names else f"lambda{index + 1}"
    unit = f" per {time_unit}" if time_unit and time_unit != "1" else ""
    if abs(zs) <= z:
        # the cut is chosen to fit the data, so its difference is tested more strictly
        return _initial_transient(e, times, z + 1.0, index, name, unit)
    F = len(times)
    half = F // 2
    la = float(sums[:half, index].sum() / times[:half].sum())
    lb = float(sums[half:, index].sum() / times[half:].sum())
    T_total = float(times.sum())
    drift = lb - la
    se_i = float(se[index]) if np.isfinite(se[index]) and se[index] > 0 else abs(drift) / 2
    needed = T_total * max(1.0, (abs(drift) / (2.0 * se_i)) ** 2)
    msg = (f"{name} has not converged: its estimate drifts through the run (Mann-Kendall z = "
           f"{zs:+.2f} over {M} batches): {la:+.4g} over the first half, {lb:+.4g} over the second "
           f"half{unit}, so the run still measures a transient; run for at least {needed:.3g} time "
           "units (--duration), or discard more of the start (--transient)")
    return [{"index": int(index), "first_half": la, "second_half": lb, "drift": drift,
             "trend_z": float(zs), "duration_needed": float(needed), "message": msg}]


def _initial_transient(e, times, z, index, name, unit):
    r"""An initial transient the trend test misses (a step, as transient chaos that ends on a
    fixed point early in the run): the truncation point :math:`d^*` of MSER (White 1997),
    :math:`\arg\min_d \sum_{i>d}(e_i - \bar e_{>d})^2/(M-d)^2` over :math:`d \le M/2`, is
    reported if the first :math:`d^*` batches differ from the rest by more than :math:`z`
    standard errors (4 by default: the cut is chosen on the same data)."""
    M = len(e)
    stats = [float(np.var(e[d:]) / (M - d)) for d in range(0, M // 2 + 1)]
    d = int(np.argmin(stats))
    if d == 0:
        return []
    head, tail = e[:d], e[d:]
    s_tail = float(np.std(tail, ddof=1)) if len(tail) > 1 else 0.0
    diff = float(head.mean() - tail.mean())
    if not abs(diff) > z * max(s_tail, 1e-300) * math.sqrt(1.0 / d + 1.0 / len(tail)):
        return []
    edges = np.linspace(0, len(times), M + 1).round().astype(int)
    t_cut = float(np.asarray(times, float)[:edges[d]].sum())
    msg = (f"{name} has not converged: the first {t_cut:.3g} time units of the run are a transient "
           f"(their estimate {head.mean():+.4g} against {tail.mean():+.4g}{unit} for the rest; MSER "
           f"truncation, White 1997), so the result mixes two regimes; discard at least {t_cut:.3g} "
           "more time units at the start (--transient) and run as long again (--duration)")
    return [{"index": int(index), "first_half": float(head.mean()), "second_half": float(tail.mean()),
             "drift": -diff, "trend_z": 0.0, "transient_needed": t_cut,
             "duration_needed": float(np.asarray(times, float).sum()), "message": msg}]


# --------------------------------------------------------------------------
# QR method
# --------------------------------------------------------------------------


_LWORK = {}


def _qr_lwork(m, n):
    if (m, n) not in _LWORK:
        from scipy.linalg import lapack

        work, info = lapack.dgeqrf_lwork(m, n)
        _LWORK[(m, n)] = max(int(work) if info == 0 else 1, 64 * max(n, 1))
    return _LWORK[(m, n)]


def qr_r_diagonal(M):
    """Orthonormal ``Q`` and ``|diag(R)|`` of ``M = QR`` (LAPACK geqrf + orgqr, no copies kept)."""
    from scipy.linalg import lapack

    m, n = M.shape
    lwork = _qr_lwork(m, n)  # the blocked (level-3) algorithm needs its workspace
    qr, tau, work, info = lapack.dgeqrf(np.asfortranarray(M), lwork=lwork, overwrite_a=True)
    if info != 0:
        raise BiodynError(f"QR factorisation failed (LAPACK info {info})")
    r = np.abs(np.diag(qr)).copy()
    q, work, info = lapack.dorgqr(qr, tau, lwork=lwork, overwrite_a=True)
    if info != 0:
        raise BiodynError(f"QR factorisation failed (LAPACK info {info})")
    return q, r


def lyapunov_spectrum(system, x0=None, *, duration, dt=None, transient=0.0, k=None,
                      reorth_every=None, integrator="rk4", segments=None, tangent_transient=None,
                      seed=0, max_points=2000, check_finite=True, progress=None):
    r"""Lyapunov spectrum by the QR method (see the module docstring).

    Parameters
    ----------
    system : Field or DrivenCell or Stepper
        A flow (integrated with ``integrator`` and ``dt``) or a map.
    x0 : array, optional
        Initial state (default: the field's ``x0(seed)``).
    duration : float
        Measured time after the transients, in the system's time unit (iterations for maps).
    dt : float
        Time step of a flow, in its time unit.
    transient : float
        Time the state is evolved first, alone (to reach the attractor).
    k : int, optional
        Number of exponents (default all).
    reorth_every : int, optional
        Steps between QR factorisations (default adaptive).
    integrator : {"rk4", "euler"}
    segments : int, optional
        Number of fixed consecutive segments for the standard error; default: batch means
        with automatic batch size (module docstring).
    tangent_transient : float, optional
        Time the tangent vectors are evolved (and re-orthonormalised) before measuring,
        so that they align with the Lyapunov vectors (default ``duration/10``).
    seed : int
        Seeds the initial tangent vectors (and the initial state).
    progress : callable, optional
        Called with the fraction of all steps done (transients included), e.g. a
        :class:`biodyn._progress.ProgressBar`.

    Returns
    -------
    LyapunovResult
    """
    stepper = stepper_for(system, dt, integrator)
    inner = getattr(stepper, "field", None) or getattr(stepper, "system", None) or system
    n = _dim(inner)
    # the tangent space: the state's, or a block of it (an LSTM's h-block, DrivenCell(block="h"))
    n_tan = int(getattr(inner, "tangent_size", n))
    k = n_tan if k is None else int(k)
    if not 1 <= k <= n_tan:
        raise SpecError("<arguments>", "k", f"a number of exponents between 1 and {n_tan}", repr(k))
    h = stepper.dt
    if x0 is None:
        x0 = inner.x0(seed) if hasattr(inner, "x0") else np.zeros(n)
    x = np.array(x0, dtype=float)
    if x.shape != (n,):
        raise SpecError("<arguments>", "x0", f"a state of length {n}", f"shape {x.shape}")
    n_trans = int(round(transient / h))
    n_meas = int(round(duration / h))
    if n_meas < 1:
        raise SpecError("<arguments>", "duration", "a duration of at least one step", repr(duration))
    if tangent_transient is None:
        tangent_transient = 0.1 * duration
    n_align = int(round(tangent_transient / h))
    rng = np.random.default_rng([int(seed), 31337])
    tick = _ticker(progress, n_trans + n_align + n_meas)
    t = 0.0
    for i in range(n_trans):
        x = stepper.step(x, t)
        t += h
        if i % 1000 == 999:
            tick(i + 1)
    if check_finite and not np.all(np.isfinite(x)):
        raise BiodynError("the state became NaN or infinite during the transient: reduce dt or check "
                          "the parameters")
    # drawn as k rows of n: the first j vectors do not depend on k (partial spectra = leading part)
    Q = np.asfortranarray(np.linalg.qr(rng.standard_normal((k, n_tan)).T)[0])  # LAPACK's layout
    adaptive = reorth_every is None
    m = 1 if adaptive else max(1, int(reorth_every))
    # alignment of the tangent vectors (QR, nothing recorded)
    done = 0
    kw = {"overwrite": True} if isinstance(stepper, Euler) else {}
    while done < n_align:
        steps = min(m, n_align - done)
        for _ in range(steps):
            x, Q = stepper.step_tangent(x, t, Q, **kw)
            t += h
        done += steps
        tick(n_trans + done)
        Q, r = qr_r_diagonal(Q)
        if adaptive:
            m = _adapt(m, r, steps)
    # measurement: bin boundaries are QR points (each bin a whole number of QR intervals)
    bounds = _bounds(n_meas, segments)
    n_bins = len(bounds) - 1
    sums = np.zeros(k)
    seg_sums = np.zeros((n_bins, k))
    seg_T = np.diff(bounds) * h
    times, running = [], []
    n_qr = 0
    done = 0
    b = 0
    record_stride = 1
    while done < n_meas:
        while done >= bounds[b + 1]:
            b += 1
        steps = min(m, bounds[b + 1] - done)
        for _ in range(steps):
            x, Q = stepper.step_tangent(x, t, Q, **kw)
            t += h
        done += steps
        tick(n_trans + n_align + done)
        Q, r = qr_r_diagonal(Q)
        n_qr += 1
        if check_finite and not (np.all(np.isfinite(r)) and np.all(r > 0)):
            raise BiodynError(f"the tangent dynamics became singular or non-finite at t = {t:g}: "
                              "reduce dt or the re-orthonormalisation interval")
        logs = np.log(r)
        sums += logs
        seg_sums[b] += logs
        if n_qr % record_stride == 0:
            times.append(done * h)
            running.append(sums / (done * h))
            if len(times) >= 2 * max_points:
                times, running = times[::2], running[::2]
                record_stride *= 2
        if adaptive:
            m = _adapt(m, r, steps)
    if check_finite and not np.all(np.isfinite(x)):
        raise BiodynError("the state became NaN or infinite: reduce dt or check the parameters")
    T = n_meas * h
    exps = sums / T
    keep = seg_T > 0
    se, seg_est, batch_T = _standard_error(seg_sums[keep], seg_T[keep], n_meas, segments)
    order = np.argsort(-exps, kind="stable")  # QR gives them ordered up to noise; keep pairs aligned
    extra = _error_extra(seg_sums[keep][:, order], seg_T[keep], exps[order], se[order], seg_est,
                         batch_T, segments, _time_unit_text(inner))
    return LyapunovResult(
        exponents=exps[order], standard_error=se[order], time_unit=_time_unit_text(inner),
        duration=T, transient=n_trans * h, tangent_transient=n_align * h, dt=h,
        method="qr", integrator=stepper.name, k=k, n=n_tan,
        reorth_every="adaptive" if adaptive else int(m), n_qr=n_qr,
        running_times=np.array(times), running=np.array(running)[:, order] if running else np.zeros((0, k)),
        segments=seg_est[:, order], kaplan_yorke=kaplan_yorke(exps, complete=(k == n_tan)),
        entropy_rate=entropy_rate(exps), final_state=x, extra=extra)


def _standard_error(bin_sums, bin_T, n_meas, segments):
    """``(se, batch estimates, batch duration)``: batch means, or ``segments`` fixed batches."""
    k = bin_sums.shape[1]
    if segments is not None:
        M = len(bin_T)
        est = bin_sums / bin_T[:, None]
        se = est.std(axis=0, ddof=1) / math.sqrt(M) if M > 1 else np.full(k, np.nan)
        return se, est, float(bin_T.mean()) if M else 0.0
    if len(bin_T) < 2:
        return np.full(k, np.nan), bin_sums / np.maximum(bin_T, 1e-300)[:, None], float(bin_T.sum())
    return batch_means(bin_sums, bin_T, n_steps=n_meas)


def _error_extra(bin_sums, bin_T, exps, se, est, batch_T, segments, time_unit):
    names = [f"lambda{i + 1}" for i in range(len(exps))]
    drift = convergence(bin_sums, bin_T, exps, se, est, names, time_unit)
    correlated = []
    if segments is None and len(est) >= 2:
        rho = _lag1(est)
        if rho[0] > 2.0 / math.sqrt(len(est)):
            correlated.append(
                f"the standard error of lambda1 is uncertain: its {len(est)} batches of {batch_T:.3g} "
                f"time units are still correlated (lag-1 {rho[0]:.2f}; inflated by the AR(1) factor); "
                "a run several times longer gives a reliable one")
    method = (f"batch means: {len(est)} batches of {batch_T:.4g} time units (Flegal & Jones 2010)"
              if segments is None else f"{len(est)} fixed segments of {batch_T:.4g} time units")
    out = {"standard_error_method": method, "batch_duration": float(batch_T),
           "warnings": [d["message"] for d in drift] + correlated}
    if drift:
        out["drift"] = [{k: v for k, v in d.items() if k != "message"} for d in drift]
    return out


def _ticker(progress, total):
    """``tick(steps_done)``: calls ``progress(fraction)`` at most every 1/200 of the run."""
    if progress is None or total <= 0:
        return lambda done: None
    every = max(1, total // 200)
    state = {"next": 0}

    def tick(done):
        if done >= state["next"] or done >= total:
            state["next"] = done + every
            progress(done / total)

    return tick


def _adapt(m, r, steps):
    """Halve/double the QR interval from the spread of log|R_ii| over the last interval."""
    with np.errstate(divide="ignore"):
        logs = np.log(r)
    finite = logs[np.isfinite(logs)]
    spread = (finite.max() - finite.min()) if finite.size else 0.0
    if spread > 15.0 and m > 1:
        return max(1, m // 2)
    if spread < 3.75 and steps == m and m < 256:
        return m * 2
    return m


# --------------------------------------------------------------------------
# Two trajectories
# --------------------------------------------------------------------------


def two_trajectory_exponent(system, x0=None, *, duration, dt=None, transient=0.0, d0=1e-8,
                            renorm_every=None, integrator="rk4", segments=None, seed=0, progress=None):
    r"""Largest exponent from the divergence of two nearby trajectories (Benettin et al. 1976).

    The perturbed copy starts at distance ``d0`` (Euclidean, SI) in a random direction and is
    brought back to ``d0`` along the current separation every ``renorm_every`` steps
    (default: about one time unit, or 1 iteration for maps). ``progress`` as for
    :func:`lyapunov_spectrum`.

    Returns
    -------
    LyapunovResult
        With one exponent.
    """
    stepper = stepper_for(system, dt, integrator)
    inner = getattr(stepper, "field", None) or getattr(stepper, "system", None) or system
    n = _dim(inner)
    h = stepper.dt
    if x0 is None:
        x0 = inner.x0(seed) if hasattr(inner, "x0") else np.zeros(n)
    x = np.array(x0, dtype=float)
    t = 0.0
    n_trans = int(round(transient / h))
    tick = _ticker(progress, n_trans + int(round(duration / h)))
    for i in range(n_trans):
        x = stepper.step(x, t)
        t += h
        if i % 1000 == 999:
            tick(i + 1)
    rng = np.random.default_rng([int(seed), 4242])
    v = rng.standard_normal(n)
    y = x + d0 * v / np.linalg.norm(v)
    m = int(renorm_every) if renorm_every else max(1, int(round(1.0 / h)) if h < 1 else 1)
    n_meas = int(round(duration / h))
    if n_meas < 1:
        raise SpecError("<arguments>", "duration", "a duration of at least one step", repr(duration))
    bounds = _bounds(n_meas, segments)
    seg_sums = np.zeros(len(bounds) - 1)
    seg_T = np.diff(bounds) * h
    total, done, b = 0.0, 0, 0
    times, running = [], []
    while done < n_meas:
        while done >= bounds[b + 1]:
            b += 1
        steps = min(m, bounds[b + 1] - done)
        for _ in range(steps):
            x = stepper.step(x, t)
            y = stepper.step(y, t)
            t += h
        done += steps
        tick(n_trans + done)
        d = np.linalg.norm(y - x)
        if not (d > 0 and np.isfinite(d)):
            raise BiodynError(f"the two trajectories {'merged' if d == 0 else 'diverged to NaN'} at t = {t:g}")
        g = math.log(d / d0)
        total += g
        seg_sums[b] += g
        y = x + (y - x) * (d0 / d)
        times.append(done * h)
        running.append([total / (done * h)])
    T = n_meas * h
    keep = seg_T > 0
    lam = np.array([total / T])
    se, seg_est, batch_T = _standard_error(seg_sums[keep][:, None], seg_T[keep], n_meas // m, segments)
    extra = _error_extra(seg_sums[keep][:, None], seg_T[keep], lam, se, seg_est, batch_T, segments,
                         _time_unit_text(inner))
    extra["d0"] = d0
    return LyapunovResult(
        exponents=lam, standard_error=se, time_unit=_time_unit_text(inner), duration=T,
        transient=round(transient / h) * h, tangent_transient=0.0, dt=h, method="two_trajectory",
        integrator=stepper.name, k=1, n=n, reorth_every=m, n_qr=0,
        running_times=np.array(times), running=np.array(running), segments=seg_est,
        kaplan_yorke=None, entropy_rate=entropy_rate(lam), final_state=x, extra=extra)
