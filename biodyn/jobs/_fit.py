"""The fit job: weighted least squares of a model's parameters against a protocol's data.

.. math::

    \\chi^2(\\theta) = \\frac{1}{n} \\sum_{k=1}^{n} \\left(\\frac{v_k(\\theta) - d_k}{s_k}\\right)^2

over the ``n`` conditions with published data ``d_k`` and SEM ``s_k``, ``v_k`` the
model's value (the protocol replayed with parameters ``theta``): ``chi`` is the
score of ``biodyn replay``. The free parameters are fitted within bounds by
trust-region reflective least squares (``scipy.optimize.least_squares``,
Branch, Coleman & Li 1999) from several starts — the given parameter set's
values and random points of the box drawn with the seed — in coordinates
scaled to the box (logarithmic for a positive range spanning more than two
decades). Each evaluation is one replay; on ``cpp_standalone`` it reruns the
compiled build with the new values (no code generation), see
:func:`biodyn.protocols.run`.

Batching (issue 17). By default (``batch="auto"``, ``biodyn fit --batch auto``) the replays
that can run together run as independent copies of one Brian2 run
(:func:`biodyn.protocols.run_batch`): the starts advance in lock-step (one thread each,
only the main thread runs Brian2), and what they ask for at the same time — their trial
points, the ``p`` forward-difference columns of each start's Jacobian
(:func:`forward_jacobian`, biodyn's own, with the steps of scipy's ``jac="2-point"``:
:func:`forward_steps`) — plus the ``2p``
probes of the uncertainties run in batches of ``starts * (p + 1)`` copies, every batch the
same build (a short one padded with copies of its first point). A trial point's ``p``
forward-difference probes are replayed ahead, in the same run as the trial point (the
Jacobian asks for them when scipy accepts the step), so that a lock-step
iteration is one run; a probe is counted as an evaluation only once it is asked for. Each replay's result is the
one it has alone and each start asks for the same points in the same order, so the fit is
the same to the last bit as with ``batch=1`` (one replay per run) where the arithmetic is the
same: free amplitudes. A free time constant is a per-copy variable in a batch, which Brian2
divides by, where a run alone multiplies by its reciprocal (hoisted out of the loop by its
loop-invariant optimisation): each replay agrees with its run alone to ~1e-15 relative and the
fits end ~1e-12 apart. What differs otherwise is the number of Brian2 runs, recorded with the
batch size in the JSON's ``fit.batch``.

Uncertainties. At the best point :math:`\\hat\\theta` the Jacobian
:math:`J_{kj} = \\partial r_k / \\partial \\theta_j` of the weighted residuals
:math:`r_k = (v_k - d_k)/s_k` is measured by central differences (one-sided at a bound; its
:math:`2p` replays are counted in the evaluations), and the covariance of the estimates is
the linear approximation (Bates & Watts 1988, *Nonlinear Regression Analysis and Its
Applications*, Wiley, §2.3)

.. math::

    C = (J^T J)^{-1}, \\qquad C_s = s^2 (J^T J)^{-1}, \\quad s^2 = \\frac{1}{n-p}\\sum_k r_k^2 .

:math:`C` takes the published SEMs as the data's standard deviations
(``scipy.optimize.curve_fit(..., absolute_sigma=True)``); :math:`C_s` takes them as relative
weights and estimates the scale from the misfit (Bates & Watts' :math:`s^2 (J^T J)^{-1}`,
``curve_fit``'s default). Both are reported: where :math:`s^2 > 1` the model misses the data
by more than their SEMs and :math:`C_s` is the honest one; where :math:`s^2 < 1` (or
:math:`n = p`, no degrees of freedom left) :math:`C` is. The correlation matrix is the same for
both. The approximation is local: for a parameter at a bound of its box, or a nearly
singular :math:`J^T J` (parameters the data do not separate: standard errors ``inf``, as
``curve_fit`` reports them), the figures say little; they are flagged.

The result is written as a parameter-set TOML file that ``--params`` accepts
(:func:`biodyn.spec.read_parameter_set`): the fitted values over the set they
started from, with the fit's provenance in a ``[fit]`` table; beside it, with the
same stem, the figure (``.png``: data, start and fitted model per condition) and the
JSON of the fit (``.json``: both replay summaries; ``biodyn plot`` redraws from it).
Both files keep every fitted value in full (``repr`` of the double): they are what a rerun
(``--params``) reads. ``biodyn fit`` prints each value rounded to the decimal place of its
standard error (:math:`C`'s, printed beside it), given to 2 significant digits; the
scaled error follows in brackets, also to 2 significant digits. A value without a finite
standard error (a singular :math:`J^T J`) is printed in full with the reason.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import build, io, protocols
from ..errors import SpecError, suggest
from ._base import all_or_nothing, check_outputs
from .._quantity import QuantityError, evaluate, parse_unit
from ._base import provenance_line

__all__ = ["fit", "FitResult", "parse_bounds", "fit_document", "write_fit_figure"]


@dataclass
class FitResult:
    """What a fit found and wrote.

    Attributes
    ----------
    values : dict
        Fitted value per free parameter, as text with its unit (``"0.0071"``, ``"16.8 ms"``).
    start_values : dict
        The values the fit started from (the given set), as text.
    chi_before, chi_after : float
        Score of the start values and of the fitted values (``n`` conditions with data).
    path : Path or None
        The parameter-set TOML file written.
    figure, json : Path or None
        The figure and the JSON document of the fit, beside ``path``.
    starts : list of dict
        Per start: initial and final values (in the parameters' units) and chi.
    uncertainty : dict
        The estimates' covariance, standard errors (per parameter, in its unit) and
        correlation matrix (:func:`uncertainties`), the parameters at a bound, and the
        replays the Jacobian took (``evaluations``, included in ``evaluations`` above).
    batch : dict
        How the replays ran: ``requested`` (the ``batch`` argument), ``size`` (copies per
        Brian2 run; 1: one replay per run), ``batched``, ``lock_step_starts``, ``runs``
        (Brian2 runs), ``padded`` (copies that only filled a batch), ``ahead`` (probes
        replayed ahead of scipy's asking) and ``ahead_used`` (those it then asked for: only
        these count in ``evaluations``), and ``alone`` where the engine runs points alone.
    notes : list of str
        What the user should know about how the fit ran (a start value outside its bounds,
        moved onto the nearest bound for the first start); printed by ``biodyn fit`` and
        kept in the JSON.
    """

    values: dict
    start_values: dict
    chi_before: float
    chi_after: float
    n: int
    evaluations: int
    path: Path | None
    starts: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    figure: Path | None = None
    json: Path | None = None
    uncertainty: dict = field(default_factory=dict)
    batch: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


def _unit_text(value, unit):
    if unit in ("1", ""):
        return repr(float(value))
    if re.fullmatch(r"[A-Za-z_]\w*", unit):
        return f"{float(value)!r} {unit}"
    return f"{float(value)!r}*({unit})"


def parse_bounds(items, spec, free, *, key="--bounds"):
    """``["NAME=LO:HI", ...]`` -> ``{name: (lo, hi)}`` in each parameter's declared unit.

    LO and HI are numbers in the parameter's unit (``tau_plus=5:50`` for ms) or
    quantities with a unit (``tau_plus=5ms:50ms``).
    """
    out = {}
    for item in items or []:
        if "=" not in item or ":" not in item.split("=", 1)[1]:
            raise SpecError("<command line>", key, "NAME=LO:HI (e.g. A_plus=0:0.05)", repr(item))
        name, rng = item.split("=", 1)
        name = name.strip()
        if name not in free:
            raise SpecError("<command line>", key, "a bound for one of the free parameters (" +
                            ", ".join(free) + ")", repr(name), suggest(name, free))
        param = spec.parameters[name]
        dim, scale = parse_unit(param.unit)
        ends = []
        for text in rng.split(":", 1):
            try:
                q = evaluate(text.strip())
            except QuantityError as exc:
                raise SpecError("<command line>", f"{key} {name}", f"a number in {param.unit} or a "
                                "quantity", f"{text!r} ({exc})") from None
            from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions

            got = get_dimensions(q)
            if got is DIMENSIONLESS:
                ends.append(float(q))
            elif got == dim:
                ends.append(float(np.asarray(q)) / scale)
            else:
                raise SpecError("<command line>", f"{key} {name}", f"a quantity in {param.unit}",
                                repr(text))
        lo, hi = ends
        if not lo < hi:
            raise SpecError("<command line>", f"{key} {name}", "LO < HI", f"{lo} : {hi}")
        out[name] = (lo, hi)
    return out


class _Box:
    """Maps the free parameters between their units and coordinates u in [0, 1]."""

    def __init__(self, lo, hi):
        self.lo, self.hi = np.asarray(lo, float), np.asarray(hi, float)
        self.log = (self.lo > 0) & (self.hi / np.where(self.lo > 0, self.lo, 1) > 100)

    def to_x(self, u):
        u = np.clip(np.asarray(u, float), 0.0, 1.0)
        lin = self.lo + u * (self.hi - self.lo)
        with np.errstate(divide="ignore", invalid="ignore"):
            logv = np.exp(np.log(np.where(self.log, self.lo, 1)) +
                          u * (np.log(np.where(self.log, self.hi, 1)) - np.log(np.where(self.log, self.lo, 1))))
        return np.where(self.log, logv, lin)

    def to_u(self, x):
        x = np.clip(np.asarray(x, float), self.lo, self.hi)
        lin = (x - self.lo) / (self.hi - self.lo)
        with np.errstate(divide="ignore", invalid="ignore"):
            logu = (np.log(np.where(self.log, x, 1)) - np.log(np.where(self.log, self.lo, 1))) / (
                np.log(np.where(self.log, self.hi, 1)) - np.log(np.where(self.log, self.lo, 1)))
        return np.where(self.log, logu, lin)


def jacobian(evaluate, u, lo=0.0, hi=1.0, step=1e-3):
    """Central-difference Jacobian of a vector function at ``u`` within the box [lo, hi].

    ``evaluate(points)`` maps a list of points to a list of residual vectors (all the
    probes at once, so that a caller may run them together). Where ``u ± step`` leaves the box
    the difference is one-sided (forward or backward, with the same step).

    Returns
    -------
    J : ndarray, shape (n, p)
    """
    u = np.asarray(u, float)
    p = u.size
    probes, spans = [], []
    for j in range(p):
        a, b = u.copy(), u.copy()
        a[j] = min(u[j] + step, hi) if u[j] + step <= hi else u[j]
        b[j] = max(u[j] - step, lo) if u[j] - step >= lo else u[j]
        if a[j] == b[j]:  # a box narrower than the step: take its ends
            a[j], b[j] = hi, lo
        probes += [a, b]
        spans.append(a[j] - b[j])
    values = [np.asarray(v, float) for v in evaluate(probes)]
    return np.column_stack([(values[2 * j] - values[2 * j + 1]) / spans[j] for j in range(p)])


#: The relative step scipy falls back to for a forward difference (its ``sqrt(eps)``).
_SQRT_EPS = float(np.finfo(float).eps ** 0.5)


def forward_steps(u, rel_step, lo=0.0, hi=1.0):
    r"""The steps :math:`h_i` of a forward difference at ``u`` inside the box [lo, hi].

    .. math::

        h_i = r\,s_i\,|u_i|, \qquad s_i = \begin{cases} +1 & u_i \ge 0 \\ -1 & u_i < 0\end{cases}

    with the relative step :math:`r` (``rel_step``); where that step vanishes in floating
    point (:math:`u_i + h_i = u_i`, e.g. at :math:`u_i = 0`) it is
    :math:`\sqrt{\epsilon}\,s_i\max(1, |u_i|)` instead. A step that would leave the box
    is reversed if the reversed one fits (:math:`|h_i| \le` the larger distance to a
    bound), else it goes to the farther bound.

    This is the rule of ``scipy.optimize.least_squares(..., jac="2-point", diff_step=r,
    bounds=(lo, hi))`` (read in scipy 1.17's ``scipy/optimize/_numdiff.py``; scipy's helpers
    for it are private, so biodyn keeps its own copy): a fit whose Jacobian is
    :func:`forward_jacobian` takes exactly the steps, and so reaches exactly the numbers, it
    took with scipy's own finite differences.
    """
    u = np.asarray(u, float)
    sign = np.where(u >= 0, 1.0, -1.0)
    h = rel_step * sign * np.abs(u)
    h = np.where((u + h) - u == 0, _SQRT_EPS * sign * np.maximum(1.0, np.abs(u)), h)
    lo = np.broadcast_to(np.asarray(lo, float), u.shape)
    hi = np.broadcast_to(np.asarray(hi, float), u.shape)
    if np.all(np.isneginf(lo) & np.isposinf(hi)):
        return h
    below, above = u - lo, hi - u
    leaves = ((u + h) < lo) | ((u + h) > hi)
    fits = np.abs(h) <= np.maximum(below, above)
    h = np.where(leaves & fits, -h, h)
    h = np.where(~fits & (above >= below), above, h)
    h = np.where(~fits & (above < below), -below, h)
    return h


def forward_jacobian(evaluate, u, f0, rel_step, lo=0.0, hi=1.0):
    r"""Forward-difference Jacobian of a vector function at ``u`` within the box [lo, hi].

    .. math:: J_{:,i} = \frac{f(u + h_i e_i) - f(u)}{(u_i + h_i) - u_i}

    with the steps :math:`h_i` of :func:`forward_steps` (the denominator is the step as
    represented in floating point). ``evaluate(points)`` maps the list of the ``p`` probes
    to their residual vectors (all at once, so that a caller may replay them together);
    ``f0`` is :math:`f(u)`.

    Returns
    -------
    J : ndarray, shape (n, p)
    """
    u = np.asarray(u, float)
    f0 = np.asarray(f0, float)
    h = forward_steps(u, rel_step, lo, hi)
    probes = []
    for i in range(u.size):
        q = u.copy()
        q[i] = u[i] + h[i]
        probes.append(q)
    values = evaluate(probes)
    # column by column into the rows of Jᵀ, returned as its transpose (Fortran order), as scipy
    # lays out its own: LAPACK's SVD in the trust-region step then rounds the same way
    J_t = np.empty((u.size, f0.size))
    for i, v in enumerate(values):
        J_t[i] = (np.asarray(v, float) - f0) / ((u[i] + h[i]) - u[i])
    return J_t.T


def uncertainties(J, r):
    """Covariance, standard errors and correlations of least-squares estimates.

    Linear approximation at the optimum (Bates & Watts 1988, §2.3): with ``J`` the
    Jacobian of the weighted residuals ``r`` (``n`` of them, ``p`` parameters),
    :math:`C = (J^T J)^{-1}` (the weights' SEs taken as the data's standard deviations) and
    :math:`C_s = s^2 C`, :math:`s^2 = \\sum r_k^2/(n-p)` (the scale estimated from the
    residuals). Computed from the singular values of ``J``; if ``J`` has rank below ``p``
    (within ``max(n, p)`` times the machine epsilon of its largest singular value) the
    parameters are not identifiable from these data and every entry is ``inf``, as
    ``scipy.optimize.curve_fit`` reports it.

    Returns
    -------
    dict
        ``covariance``, ``covariance_scaled`` (p x p lists), ``standard_errors``,
        ``standard_errors_scaled`` (length p), ``correlation`` (p x p), ``s2``
        (:math:`\\sum r^2/(n-p)`, ``nan`` if ``n <= p``), ``dof`` (``n - p``),
        ``identifiable`` (bool).
    """
    J = np.atleast_2d(np.asarray(J, float))
    r = np.asarray(r, float)
    n, p = J.shape
    _, sv, vt = np.linalg.svd(J, full_matrices=False)
    tol = (sv.max() if sv.size else 0.0) * max(n, p) * np.finfo(float).eps
    identifiable = bool(sv.size == p and np.all(sv > tol) and np.all(np.isfinite(J)))
    dof = n - p
    s2 = float(np.sum(r ** 2) / dof) if dof > 0 else float("nan")
    if identifiable:
        cov = (vt.T / sv ** 2) @ vt
        se = np.sqrt(np.diag(cov))
        corr = cov / np.outer(se, se)
        np.fill_diagonal(corr, 1.0)
    else:
        cov = np.full((p, p), np.inf)
        se = np.full(p, np.inf)
        corr = np.full((p, p), np.nan)
    with np.errstate(invalid="ignore"):
        scaled = cov * s2  # nan where n <= p (no scale to estimate)
    return {"covariance": cov.tolist(), "covariance_scaled": scaled.tolist(),
            "standard_errors": se.tolist(), "standard_errors_scaled": np.sqrt(np.diag(scaled)).tolist(),
            "correlation": corr.tolist(), "s2": s2, "dof": int(dof), "identifiable": identifiable}


@all_or_nothing()
def fit(protocol, *, free, model=None, params=None, bounds=None, overrides=None, variants=None,
        target="auto", seed=0, starts=4, max_evaluations=60, out=None, stimulus=None,
        network=None, report=None, progress=None, batch="auto"):
    """Fit the ``free`` parameters of a model to a protocol's data (weighted least squares).

    Parameters
    ----------
    protocol : str or ProtocolSpec
        A protocol with published data (``sjostrom_2001``, ``wang_2005``, ...).
    free : list of str
        Parameters of the model to fit.
    model, params, overrides, variants
        As for :func:`biodyn.protocols.run`; ``params`` (a set name or a fitted file)
        gives the start values and the values of the other parameters.
    bounds : dict, optional
        ``{name: (lo, hi)}`` in each parameter's declared unit (see :func:`parse_bounds`).
        Without bounds a parameter ranges over [x0/10, 10 x0] around its start
        value x0 (which must then be non-zero).
    starts : int
        Number of starts: the start values, then ``starts - 1`` random points of the
        box (uniform in the scaled coordinates, drawn with ``seed``).
    max_evaluations : int
        Evaluations of the residuals per start at most (scipy's ``max_nfev``; with
        ``method="trf"`` the replays of the finite-difference Jacobian, p per Jacobian, are
        not counted, nor are the uncertainty probes: a start may take up to about
        ``(p + 1) * max_evaluations`` replays).
    out : path, optional
        The parameter-set TOML file to write (default: ``PROTOCOL-MODEL-fit.toml`` in
        the working folder); ``False`` writes nothing.
    batch : int or "auto"
        Replays per Brian2 run (:func:`biodyn.protocols.run_batch`, issue 17). With
        ``batch > 1`` the starts advance in lock-step, and what they ask for together — their
        trial points, the ``p`` forward-difference columns of each start's Jacobian
        (:func:`forward_jacobian`), the ``2p`` probes of the uncertainties' Jacobian — runs as copies
        of one run, ``batch`` at a time (a last, smaller chunk padded with copies of its
        first point, so that every run is one build). Every replay's result is the one it has
        alone, and each start evaluates the same points as it does unbatched, so the fit
        (optimum, uncertainties, evaluation counts) is the same to the last bit for free
        amplitudes (a free time constant: ~1e-12, see the module doc). ``"auto"``
        (default): ``starts * (p + 1)`` (every start's trial point and its probes at once;
        at least ``2p``);
        ``1``: one replay per run (as before batching). Engines that run points alone fall
        back to one replay per run.

    Returns
    -------
    FitResult
    """
    from scipy.optimize import least_squares

    spec = protocols.load(protocol)
    resolved = protocols.resolve_model(spec, model, params, overrides, variants)
    mspec = resolved.spec
    free = [f.strip() for f in (free or []) if f.strip()]
    if not free:
        raise SpecError("<command line>", "--free", "at least one parameter to fit", "nothing")
    for name in free:
        if name not in mspec.parameters:
            raise SpecError("<command line>", "--free", f"parameters of {mspec.name} (" +
                            ", ".join(mspec.parameters) + ")", repr(name), suggest(name, mspec.parameters))
    if len(set(free)) != len(free):
        raise SpecError("<command line>", "--free", "each parameter once", ", ".join(free))
    for flag, n in (("--starts", starts), ("--max-evaluations", max_evaluations)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise SpecError("<command line>", flag, "a whole number >= 1", repr(str(n)))
    if out is not False:  # the .toml, and the .png and .json beside it
        target_path = Path(out) if out else Path(f"{spec.name}-{mspec.name}-fit.toml")
        for suffix in (target_path.suffix, ".png", ".json"):
            check_outputs(target_path.with_suffix(suffix), out_is_folder=False)
    points = [p for p in (spec.data or {}).get("points", ())]
    if not points:
        raise SpecError(spec.file, "data.points", "published data to fit against", "none (data is null)")
    units = [mspec.parameters[n].unit for n in free]
    scales = [parse_unit(u)[1] for u in units]
    x0 = np.array([float(np.asarray(resolved.namespace[n])) / s for n, s in zip(free, scales)])
    bounds = dict(bounds or {})
    lo, hi = [], []
    for name, x in zip(free, x0):
        if name in bounds:
            a, b = bounds[name]
        elif x > 0:
            a, b = x / 10, x * 10
        elif x < 0:
            a, b = x * 10, x / 10
        else:
            raise SpecError("<command line>", "--bounds", f"bounds for {name} (its start value is 0: "
                            f"give --bounds {name}=LO:HI)", "none")
        lo.append(a)
        hi.append(b)
    box = _Box(lo, hi)
    # a start value outside its bounds: the first start is its projection onto the box, and
    # chi_before (at the start values themselves) may then be better than the fit's chi
    notes = [f"the start value of {name} ({_unit_text(x, u)}) lies outside its bounds "
             f"[{_unit_text(a, u)}, {_unit_text(b, u)}]: the first start is "
             f"{_unit_text(min(max(x, a), b), u)}, and chi before is that of the start values"
             for name, x, a, b, u in zip(free, x0, lo, hi, units)
             if not a <= x <= b]
    fixed = dict(overrides or {})
    if model is None or model == spec.model:
        fixed = {**dict(spec.set), **fixed}
    run_kwargs = dict(target=target, seed=seed, stimulus=stimulus, network=network, block=False)
    size = _batch_size(batch, starts, len(free))
    cache, failed, ahead = {}, {}, {}  # ahead: replayed in advance, not yet asked for
    counter = {"n": 0}
    batching = {"requested": batch, "size": size, "runs": 0, "padded": 0, "ahead": 0, "ahead_used": 0,
                "batched": size > 1,
                "lock_step_starts": size > 1 and int(starts) > 1}
    t0 = time.perf_counter()

    def key_of(x):  # exact: points closer than rounding would share a replay in an order
        return tuple(float(v) for v in np.asarray(x, float))  # that batching changes

    def record(x, result, speculative=False):
        key = key_of(x)
        if speculative:
            batching["ahead"] += 1
            if not isinstance(result, Exception):
                ahead[key] = (np.asarray(x, float), result)
            return
        if isinstance(result, Exception):
            failed[key] = result
            return
        counter["n"] += 1
        cache[key] = result.summary
        failed.pop(key, None)
        if progress is not None:
            progress(counter["n"], dict(zip(free, x)), result.summary["score"]["chi"])

    def overrides_at(x):
        ov = dict(overrides or {})
        ov.update({n: _unit_text(v, u) for n, v, u in zip(free, x, units)})
        return ov

    def run_points(xs, guesses=()):
        """Replay the points ``xs`` not yet replayed: one by one (batch 1, today's), or as
        copies of one Brian2 run, ``size`` at a time (padded to ``size`` with the chunk's
        first point, so that every batch is the same build). ``guesses``: points likely
        asked for next, replayed in the batch's free copies and kept apart (``ahead``)
        until asked for — only then counted."""
        todo, seen = [], set()
        for x in xs:
            key = key_of(x)
            if key in ahead and key not in cache:
                batching["ahead_used"] += 1
                record(*ahead.pop(key))
            if key not in cache and key not in seen:
                seen.add(key)
                todo.append(np.asarray(x, float))
        n_asked = len(todo)
        if batching["size"] > 1 and n_asked:
            room = -n_asked % batching["size"]
            for x in guesses:
                key = key_of(x)
                if room and key not in cache and key not in seen and key not in ahead:
                    seen.add(key)
                    todo.append(np.asarray(x, float))
                    room -= 1
        if not todo:
            return
        if batching["size"] == 1:
            for x in todo:
                batching["runs"] += 1
                try:
                    record(x, protocols.run(spec, model, params, overrides_at(x), variants, **run_kwargs))
                except Exception as exc:
                    record(x, exc)
            return
        for i in range(0, len(todo), batching["size"]):
            chunk = todo[i:i + batching["size"]]
            padded = chunk + [chunk[0]] * (batching["size"] - len(chunk))
            batching["padded"] += len(padded) - len(chunk)
            pts = [dict(model=model, params=params, overrides=overrides_at(x), variants=variants,
                        seed=seed, stimulus=stimulus, network=network) for x in padded]
            results = protocols.run_batch(spec, pts, target=target, block=False,
                                          max_copies=batching["size"], varying=tuple(free))
            batching["runs"] += 1
            for j, (x, r) in enumerate(zip(chunk, results)):
                record(x, r, speculative=i + j >= n_asked)
            alone = [r.summary["batch"].get("alone") for r in results if not isinstance(r, Exception)]
            if alone and all(alone):  # the engine runs points alone: no copies, no padding
                batching.update(size=1, batched=False, lock_step_starts=False, alone=alone[0])
                batching["runs"] += len(padded) - 1
                return run_points(todo[i + len(chunk):n_asked])

    import threading

    local = threading.local()  # a lock-step start's thread asks the coordinator (local.need)

    def replay(x):
        key = key_of(x)
        if key in ahead:
            batching["ahead_used"] += 1
            record(*ahead.pop(key))
        if key not in cache:
            getattr(local, "need", run_points)([x], getattr(local, "guesses", ()))
        if key not in cache:
            raise failed[key]
        return cache[key]

    def residuals(x):
        s = replay(x)
        r = [(c["value"] - c["data"]) / c["error"] for c in s["conditions"]
             if c.get("data") is not None and c.get("error")]
        return np.asarray(r, float)

    def chi_of(x):
        r = residuals(x)
        return float(math.sqrt(np.mean(r ** 2))) if r.size else float("nan")

    run_points([x0, np.clip(x0, box.lo, box.hi)])  # together where the fit batches
    chi_before = chi_of(x0)
    rng = np.random.default_rng(seed)
    u_starts = [box.to_u(np.clip(x0, box.lo, box.hi))]
    u_starts += [rng.uniform(0.0, 1.0, len(free)) for _ in range(max(0, int(starts) - 1))]
    best_x, best_chi = np.clip(x0, box.lo, box.hi), chi_of(np.clip(x0, box.lo, box.hi))

    def one_start(u0, need):
        """A start's least squares; ``need(xs)`` replays points not yet replayed."""
        x_init = box.to_x(u0)
        local.need = need
        batched = batching["size"] > 1

        def fun(u):
            # a trial point's forward-difference probes, which jac asks for if the step is
            # accepted: replayed ahead in the batch's free copies (a trial that is rejected
            # costs only those copies; the numbers are those of the points asked for)
            local.guesses = [box.to_x(q) for q in _forward_probes(u, _DIFF_STEP)] if batched else ()
            try:
                return residuals(box.to_x(u))
            finally:
                local.guesses = ()

        def probes(points):  # the p columns' replays together (one batch where the fit batches)
            need([box.to_x(q) for q in points])
            return [residuals(box.to_x(q)) for q in points]

        def jac(u):  # f(u) was replayed by fun(u) just before: from the cache
            return forward_jacobian(probes, u, residuals(box.to_x(u)), _DIFF_STEP)

        try:
            sol = least_squares(fun, u0, jac=jac, bounds=(0.0, 1.0),
                                method="trf", x_scale=1.0, max_nfev=int(max_evaluations))
            x_end = box.to_x(sol.x)
        except Exception as exc:  # a failed start is reported, the others go on
            return {"start": dict(zip(free, x_init.tolist())), "error": str(exc)[:200]}
        return {"start": dict(zip(free, x_init.tolist())), "end": dict(zip(free, x_end.tolist())),
                "chi": chi_of(x_end), "evaluations": int(sol.nfev), "_x": x_end}

    if batching["lock_step_starts"]:
        runs = _LockStep(run_points).run([(lambda need, u0=u0: one_start(u0, need)) for u0 in u_starts])
    else:
        runs = [one_start(u0, run_points) for u0 in u_starts]
    for r in runs:
        x_end = r.pop("_x", None)
        if x_end is not None and r["chi"] < best_chi:
            best_x, best_chi = x_end, r["chi"]
    # any evaluated point better than the ends (finite-difference probes included), in the
    # order of the points (not of their replays: the same answer batched or not)
    for key in sorted(cache):
        c = chi_of(np.asarray(key))
        if c < best_chi and np.all((np.asarray(key) >= box.lo) & (np.asarray(key) <= box.hi)):
            best_x, best_chi = np.asarray(key), c
    n = len(residuals(best_x))
    values = {name: _unit_text(v, u) for name, v, u in zip(free, best_x, units)}
    start_values = {name: _unit_text(v, u) for name, v, u in zip(free, x0, units)}
    before_jacobian = counter["n"]
    uncertainty = _uncertainty(residuals, box, best_x, free, units, run_points)
    uncertainty["evaluations"] = counter["n"] - before_jacobian
    timings = {"total": time.perf_counter() - t0}
    result = FitResult(values, start_values, chi_before, best_chi, n, counter["n"], None, runs,
                       timings, replay(best_x), uncertainty=uncertainty, batch=batching, notes=notes)
    if out is not False:
        path = Path(out) if out else Path(f"{spec.name}-{mspec.name}-fit.toml")
        result.path = write_parameter_set(path, resolved, values, fixed, spec, result,
                                          dict(zip(free, zip(box.lo.tolist(), box.hi.tolist()))),
                                          dict(target=result.summary.get("target", target),
                                               target_requested=target, seed=seed, starts=int(starts),
                                               max_evaluations=int(max_evaluations),
                                               batch=int(batching["size"])))
        doc = fit_document(result, spec, mspec, free, replay(x0), seed, target)
        result.figure = write_fit_figure(doc, path.with_suffix(".png"))
        result.json = io.write_json(doc, path.with_suffix(".json"))
    return result


#: Relative step of the fit's forward-difference Jacobian in the box's scaled coordinates
#: (the same fraction, 0.1 %, of every parameter's range).
_DIFF_STEP = 1e-3


def _forward_probes(u, rel_step):
    """The points of :func:`forward_jacobian` at ``u`` in the box [0, 1]."""
    u = np.asarray(u, float)
    h = forward_steps(u, rel_step)
    out = []
    for i in range(u.size):
        q = u.copy()
        q[i] = u[i] + h[i]
        out.append(q)
    return out


def _batch_size(batch, starts, p):
    """Copies per Brian2 run for ``batch`` (``"auto"``: ``max(starts * (p + 1), 2p)``)."""
    if batch is None or (isinstance(batch, str) and batch.strip().lower() == "auto"):
        return max(int(starts) * (p + 1), 2 * p)
    try:
        n = int(batch)
        ok = n >= 1 and float(batch) == n
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise SpecError("<command line>", "--batch", "a whole number >= 1 (replays per Brian2 run; "
                        "1: one each) or 'auto'", repr(batch))
    return n


class _LockStep:
    """Runs the starts of a multi-start in lock-step, one thread each, so that the points they
    need at the same time run together.

    Each start's thread calls ``need(xs)`` and waits; when every start still running waits,
    the calling (main) thread replays what they asked for, in the order of the starts, with
    ``run_points`` — in one batch where it fits — and lets them go on. Only the main thread
    runs Brian2. A start's own sequence of evaluations does not depend on the others (each
    replay's result is the one it has alone), so each start ends where it ends unbatched.
    """

    def __init__(self, run_points):
        import threading

        self.run_points = run_points
        self.cond = threading.Condition()
        self.pending = {}  # start index -> points it waits for
        self.alive = 0
        self.error = None

    def _need(self, index, xs, guesses=()):
        with self.cond:
            self.pending[index] = (list(xs), list(guesses))
            self.cond.notify_all()
            while index in self.pending and self.error is None:
                self.cond.wait()
            if self.error is not None:
                raise RuntimeError(f"the batched replays failed: {self.error}")

    def run(self, jobs):
        """``jobs[i](need)`` -> result, all in lock-step; returns the results in order."""
        import threading

        results = [None] * len(jobs)

        def body(i):
            try:
                results[i] = jobs[i](lambda xs, guesses=(): self._need(i, xs, guesses))
            except BaseException as exc:  # reported as this start's error
                results[i] = {"error": str(exc)[:200]}
            finally:
                with self.cond:
                    self.alive -= 1
                    self.cond.notify_all()

        threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(len(jobs))]
        self.alive = len(jobs)
        for t in threads:
            t.start()
        while True:
            with self.cond:
                while len(self.pending) < self.alive:
                    self.cond.wait()
                if self.alive == 0:
                    break
                asked = [self.pending[i] for i in sorted(self.pending)]
            try:
                self.run_points([x for xs, _ in asked for x in xs], [x for _, g in asked for x in g])
            except BaseException as exc:
                with self.cond:
                    self.error = exc
                    self.cond.notify_all()
                for t in threads:
                    t.join()
                raise
            with self.cond:
                self.pending.clear()
                self.cond.notify_all()
        for t in threads:
            t.join()
        return results


def _uncertainty(residuals, box, x, free, units, need=None):
    """:func:`uncertainties` of the fit at ``x`` (parameter units), named per parameter.

    The Jacobian is taken in the box's scaled coordinates ``u`` (where the fit works, so the
    step is the same fraction of every range) and carried to the parameters' units by the
    chain rule, :math:`J_x = J_u \\, \\mathrm{diag}(du/dx)`.
    """
    u = box.to_u(x)
    def evaluate(points):
        if need is not None:  # the 2p probes together (one batch where the fit batches)
            need([box.to_x(q) for q in points])
        return [residuals(box.to_x(q)) for q in points]

    J_u = jacobian(evaluate, u)
    x = np.asarray(x, float)
    ratio = np.where(box.log, box.hi / np.where(box.log, box.lo, 1.0), np.e)
    with np.errstate(divide="ignore", invalid="ignore"):
        du_dx = np.where(box.log, 1.0 / (x * np.log(ratio)), 1.0 / (box.hi - box.lo))
    out = uncertainties(J_u * du_dx, residuals(x))
    at_bound = [name for name, xi, a, b in zip(free, x, box.lo, box.hi)
                if np.isclose(xi, a, rtol=1e-9, atol=0) or np.isclose(xi, b, rtol=1e-9, atol=0)]
    out.update({
        "parameters": list(free), "units": list(units),
        "standard_errors": dict(zip(free, out["standard_errors"])),
        "standard_errors_scaled": dict(zip(free, out["standard_errors_scaled"])),
        "at_bound": at_bound,
        "method": "linear approximation at the optimum, central-difference Jacobian of the "
                  "residuals (v-d)/SEM: covariance (J^T J)^-1, covariance_scaled s^2 (J^T J)^-1 "
                  "with s^2 = sum r^2/(n-p) (Bates & Watts 1988, Nonlinear Regression Analysis "
                  "and Its Applications, Wiley, section 2.3)",
    })
    return out


def fit_document(result, protocol, model_spec, free, start_summary, seed, target):
    """The JSON of a fit: ``{"fit": {...}, "before": summary, "after": summary}`` — the
    replay summaries at the start and fitted values (from which ``biodyn plot`` redraws
    the figure)."""
    from ._redraw import plain

    fit = {"protocol": protocol.name, "model": model_spec.name, "free": list(free),
           "values": dict(result.values), "start_values": dict(result.start_values),
           "chi_before": result.chi_before, "chi_after": result.chi_after, "n": result.n,
           "evaluations": result.evaluations, "starts": result.starts, "seed": int(seed),
           "uncertainty": result.uncertainty, "batch": result.batch, "notes": list(result.notes),
           "target": result.summary.get("target", target), "versions": build.versions(),
           "parameter_set_file": str(result.path) if result.path else None,
           "value_label": protocol.figure.get("ylabel") or (protocol.data or {}).get("value_label")}
    after = result.summary
    # what shaped every replay of the fit (the replays' own records are in before/after)
    for key in ("parameter_set", "overrides", "variants", "stimulus", "network"):
        fit[key] = after.get(key)
    fit["footer"] = (f"{result.evaluations} replays, {len(result.starts)} start(s) · "
                     + provenance_line(dict(after, overrides={k: v for k, v in
                                                              (after.get("overrides") or {}).items()
                                                              if k not in free})))
    return plain({"fit": fit, "before": start_summary, "after": after})


def write_fit_figure(doc, path):
    """Draw :func:`biodyn.plot.fit_summary` of a fit document to ``path`` (atomically)."""
    from .. import plot

    return plot.save(plot.fit_summary(doc), path)


def _toml_str(text):
    return json.dumps(str(text), ensure_ascii=False)


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v)) if math.isfinite(v) else _toml_str(str(v))
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return _toml_str(v)


def write_parameter_set(path, resolved, values, fixed, protocol, result, bounds, how):
    """Write a fitted parameter set (TOML) that ``--params PATH`` reads back."""
    spec = resolved.spec
    pset = resolved.parameter_set_obj
    lines = [f"# Parameter set fitted by biodyn fit {protocol.name} "
             f"({time.strftime('%Y-%m-%d %H:%M:%S')})", ""]
    lines.append(f"model = {_toml_str(spec.name)}")
    inherits = pset.name if pset is not None and pset.name in spec.parameter_sets else None
    all_values = {}
    if inherits is None and pset is not None:
        all_values.update(dict(pset.values))
    for name, text in fixed.items():
        if name in spec.parameters:
            all_values[name] = text if isinstance(text, str) else str(text)
    all_values.update(values)
    if inherits:
        lines.append(f"inherits = {_toml_str(inherits)}")
    desc = (f"{', '.join(values)} fitted to {protocol.name} (chi {result.chi_before:.3f} -> "
            f"{result.chi_after:.3f} over {result.n} conditions)"
            + (f", other values from {inherits}" if inherits else ""))
    lines.append(f"description = {_toml_str(desc)}")
    citation_key = None
    if pset is not None and pset.citation is not None:
        for key, cit in spec.citations.items():
            if cit == pset.citation:
                citation_key = key
    if citation_key:
        lines.append(f"citation = {_toml_str(citation_key)}")
    lines.append("values = " + _toml_value(all_values))
    lines.append("variants = " + _toml_value(dict(resolved.variants)))
    lines += ["", "[fit]"]
    lines.append(f"protocol = {_toml_str(protocol.name)}")
    lines.append(f"free = {_toml_value(list(values))}")
    for key in ("stimulus", "network"):  # changes to the protocol the values were fitted under
        if result.summary.get(key):
            lines.append(f"{key} = {_toml_value(result.summary[key])}")
    lines.append(f"bounds = {_toml_value({k: list(v) for k, v in bounds.items()})}")
    lines.append(f"start_values = {_toml_value(result.start_values)}")
    lines.append(f"chi_before = {_toml_value(result.chi_before)}")
    lines.append(f"chi_after = {_toml_value(result.chi_after)}")
    lines.append(f"n = {result.n}")
    lines.append(f"evaluations = {result.evaluations}")
    unc = result.uncertainty or {}
    if unc.get("standard_errors"):
        lines.append(f"standard_errors = {_toml_value(unc['standard_errors'])}")
        lines.append(f"standard_errors_scaled = {_toml_value(unc['standard_errors_scaled'])}")
    for k, v in how.items():
        lines.append(f"{k} = {_toml_value(v)}")
    lines.append(f"versions = {_toml_value(build.versions())}")
    lines.append('method = "weighted least squares, weights 1/SEM (scipy.optimize.least_squares, trf)"')
    if protocol.data_citation is not None:
        c = protocol.data_citation
        lines += ["", "[fit.data_citation]"]
        for k, v in c.as_dict().items():
            lines.append(f"{k} = {_toml_value(v)}")
    text = "\n".join(lines) + "\n"
    with io.atomic_path(path) as tmp:
        Path(tmp).write_text(text)
    return Path(path)
