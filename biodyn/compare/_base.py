r"""What every comparison shares: settings with units, the result and its JSON, the registry,
and the measures put on both learners' trajectories.

Measures (numpy, no Brian2):

* :func:`cosine` — :math:`\cos(a, b) = \langle a, b\rangle/(\lVert a\rVert\lVert b\rVert)` of
  flattened arrays (NaN where a norm is 0);
* :func:`subspace_angle` — the largest principal angle between two subspaces
  (Björck & Golub 1973), from :math:`\sin\theta_{\max} = \lVert (I - Q_B Q_B^{\top})Q_A\rVert_2`
  (accurate down to rounding, unlike :math:`\arccos` of the smallest cosine);
* :func:`pca_projection` — the top principal components of several trajectories taken
  together (one shared projection);
* :func:`exponential_rate` — the least-squares slope of :math:`-\log y` against :math:`t` over
  a window of values of :math:`y`.

References
----------
Björck Å, Golub GH (1973) Numerical methods for computing angles between linear subspaces.
Math Comp 27:579-594. doi:10.1090/S0025-5718-1973-0348991-3
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import SpecError, suggest

__all__ = ["Comparison", "Setting", "COMPARISONS", "register_comparison", "run", "cosine",
           "subspace_angle", "pca_projection", "exponential_rate", "first_passage_rate", "tail_rate",
           "jsonable", "JSON_KEYS"]

#: Top-level keys of a comparison's JSON (:meth:`Comparison.to_dict`).
JSON_KEYS = ("comparison", "seed", "versions", "series", "summary")


# --------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One setting of a comparison: its default, what it is, and a line of documentation.

    ``kind`` is ``"int"``, ``"float"``, ``"str"``, ``"bool"``, ``"list"`` (of numbers, or
    nested lists), or a Brian2 unit name (``"Hz"``, ``"ms"``, ``"second"``) for a quantity
    of that dimension; ``choices`` restricts a ``"str"``; ``low`` is an exclusive lower
    bound of numbers and quantities.
    """

    default: Any
    kind: str
    doc: str
    choices: tuple = ()
    low: float | None = None


def _unit(kind):
    import brian2

    return getattr(brian2, kind)


def _check_setting(comparison, name, setting, value):
    where = f"<settings of {comparison}>"
    kind = setting.kind
    if kind in ("int", "float"):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise SpecError(where, name, f"a number ({setting.doc})", repr(value)) from None
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise SpecError(where, name, f"a number ({setting.doc})", repr(value))
        if kind == "int":
            if float(value) != int(value):
                raise SpecError(where, name, f"an integer ({setting.doc})", repr(value))
            value = int(value)
        else:
            value = float(value)
        if setting.low is not None and not value > setting.low:
            raise SpecError(where, name, f"a number > {setting.low:g} ({setting.doc})", repr(value))
        return value
    if kind == "str":
        value = str(value)
        if setting.choices and value not in setting.choices:
            raise SpecError(where, name, "one of " + ", ".join(setting.choices), repr(value),
                            suggest(value, setting.choices))
        return value
    if kind == "bool":
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        if not isinstance(value, (bool, np.bool_)):
            raise SpecError(where, name, "true or false", repr(value))
        return bool(value)
    if kind == "list":
        if isinstance(value, str):
            import json

            try:
                value = json.loads(value)
            except ValueError:
                raise SpecError(where, name, f"a list of numbers ({setting.doc})", repr(value)) from None
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise SpecError(where, name, f"a list of numbers ({setting.doc})", repr(value)) from None
        arr = np.atleast_1d(arr)  # a number is a list of one (a sweep's grid point)
        if arr.size == 0 or not np.all(np.isfinite(arr)):
            raise SpecError(where, name, f"a non-empty list of finite numbers ({setting.doc})", repr(value))
        return arr
    # a quantity
    from ..spec import parse_quantity

    unit = _unit(kind)
    q = parse_quantity(value, unit.dim, file=where, key=name, unit=kind)
    if setting.low is not None and not float(q / unit) > setting.low:
        raise SpecError(where, name, f"a quantity > {setting.low:g} {kind} ({setting.doc})", repr(value))
    return q


def resolve_settings(comparison, table, given):
    """The settings of a comparison: ``table``'s defaults updated with ``given`` (checked)."""
    given = dict(given or {})
    out = {}
    for name in given:
        if name not in table:
            raise SpecError(f"<settings of {comparison}>", name, "one of " + ", ".join(table),
                            repr(name), suggest(name, table))
    for name, setting in table.items():
        value = given.get(name, setting.default)
        out[name] = None if value is None else _check_setting(comparison, name, setting, value)
    return out


def settings_text(settings):
    """Settings as JSON-able plain values (quantities as text that reads back: ``"1. Hz"``)."""
    from .._quantity import format_quantity
    from brian2.units.fundamentalunits import Quantity

    out = {}
    for k, v in settings.items():
        if isinstance(v, Quantity) and not v.is_dimensionless:
            out[k] = format_quantity(v)
        elif isinstance(v, np.ndarray):
            out[k] = v.tolist()
        else:
            out[k] = v
    return out


# --------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------


def jsonable(value):
    """Plain JSON data: arrays to lists, numpy scalars to numbers, NaN/inf to ``None``."""
    from brian2.units.fundamentalunits import Quantity

    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Quantity):
        if value.is_dimensionless:
            return jsonable(np.asarray(value))
        from .._quantity import format_quantity

        return format_quantity(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc":
            return jsonable(value.tolist())
        return value.tolist()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    return value


@dataclass
class Comparison:
    """The result of one comparison: measured series and a summary, with seed and versions.

    Attributes
    ----------
    comparison : str
        Its name (a key of :data:`COMPARISONS`).
    seed : int
        The seed every random draw came from.
    versions : dict
        ``biodyn.build.versions()`` of the run.
    series : dict
        Measured series by name (arrays; times in the keys documented by each comparison).
    summary : dict
        Scalars and small tables: rates, fixed points, known answers, the settings used
        (``summary["settings"]``; a setting whose default is ``None`` and that the comparison
        resolved itself, returned as ``summary["resolved_settings"]``, holds the value it ran
        with), the dataset (``summary["dataset"]``), timings.
    """

    comparison: str
    seed: int
    versions: dict
    series: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)

    def to_dict(self):
        """The JSON document: exactly the keys of :data:`JSON_KEYS`, plain data."""
        return {"comparison": self.comparison, "seed": int(self.seed),
                "versions": dict(self.versions), "series": jsonable(self.series),
                "summary": jsonable(self.summary)}

    def __repr__(self):
        return f"<Comparison {self.comparison}, seed {self.seed}: {len(self.series)} series>"


@dataclass(frozen=True)
class ComparisonSpec:
    """A registered comparison: its function, settings table, one-line doc and citations."""

    name: str
    function: Callable
    settings: Mapping[str, Setting]
    doc: str
    brian2: bool = True


#: Registered comparisons by name.
COMPARISONS: dict[str, ComparisonSpec] = {}


def register_comparison(name, settings, doc, brian2=True):
    """Decorator: register ``fn(settings, seed, target) -> (series, summary)`` as a comparison
    and return the public function ``name(seed=0, target="numpy", **settings) -> Comparison``."""

    def deco(fn):
        import inspect

        def public(seed=0, target="numpy", **settings):
            return run(name, seed=seed, target=target, **settings)

        params = [inspect.Parameter("seed", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=0),
                  inspect.Parameter("target", inspect.Parameter.POSITIONAL_OR_KEYWORD, default="numpy")]
        params += [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v.default)
                   for k, v in settings.items()]
        public.__signature__ = inspect.Signature(params)
        public.__name__ = name
        public.__qualname__ = name
        public.__doc__ = fn.__doc__
        public.__module__ = fn.__module__
        COMPARISONS[name] = ComparisonSpec(name, fn, dict(settings), doc, brian2)
        return public

    return deco


def run(name, seed=0, target="numpy", **settings):
    """Run the comparison ``name`` (a key of :data:`COMPARISONS`) with ``settings``.

    Returns
    -------
    Comparison
    """
    from .. import build

    spec = COMPARISONS.get(name)
    if spec is None:
        raise SpecError("<command line>", "comparison", "one of " + ", ".join(sorted(COMPARISONS)),
                        repr(name), suggest(str(name), COMPARISONS))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SpecError(f"<settings of {name}>", "seed", "a non-negative integer", repr(seed))
    values = resolve_settings(name, spec.settings, settings)
    target = build.resolve_target(target) if spec.brian2 else target
    t0 = time.perf_counter()
    series, summary = spec.function(values, int(seed), target)
    summary = dict(summary)
    # a setting left at None that the comparison resolved itself (a spiking comparison's hidden:
    # the task's [training.spiking] table, else the training's default) is recorded as it ran
    resolved = summary.pop("resolved_settings", {})
    summary["settings"] = settings_text({**values, **{k: v for k, v in resolved.items() if values.get(k) is None}})
    if spec.brian2:
        summary.setdefault("target", target)
    summary["timings"] = {"total": time.perf_counter() - t0, **summary.get("timings", {})}
    return Comparison(name, int(seed), build.versions(), series, summary)


# --------------------------------------------------------------------------
# Measures
# --------------------------------------------------------------------------


def cosine(a, b):
    """:math:`\\langle a, b\\rangle/(\\lVert a\\rVert\\,\\lVert b\\rVert)` of flattened arrays;
    NaN if either is zero."""
    a = np.ravel(np.asarray(a, float))
    b = np.ravel(np.asarray(b, float))
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0 or not (np.isfinite(na) and np.isfinite(nb)):
        return float("nan")
    return float(np.clip(a @ b / (na * nb), -1.0, 1.0))


def _orth(A):
    A = np.asarray(A, float)
    if A.ndim == 1:
        A = A[:, None]
    U, s, _ = np.linalg.svd(A, full_matrices=False)
    rank = int(np.sum(s > s.max() * max(A.shape) * np.finfo(float).eps)) if s.size and s.max() > 0 else 0
    return U[:, :rank]


def subspace_angle(A, B):
    """Largest principal angle (radians) between the column spaces of ``A`` and ``B``.

    :math:`\\sin\\theta_{\\max} = \\lVert (I - Q_BQ_B^{\\top})Q_A\\rVert_2` for spaces of equal
    dimension (Björck & Golub 1973); :math:`\\pi/2` if ``A`` has lower rank than ``B``.
    """
    QA, QB = _orth(A), _orth(B)
    if QA.shape[1] < QB.shape[1]:
        return math.pi / 2
    R = QA - QB @ (QB.T @ QA)
    s = np.linalg.norm(R, 2) if R.size else 0.0
    return float(math.asin(min(1.0, s)))


def pca_projection(trajectories, n=2):
    """One shared principal-component projection of several trajectories.

    Parameters
    ----------
    trajectories : sequence of arrays ``(T_i, ...)``
        Each row (flattened) is a point; all have the same number of values per row.
    n : int

    Returns
    -------
    dict
        ``projections`` (list of ``(T_i, n)`` arrays), ``components`` (``(n, D)``), ``mean``
        (``(D,)``), ``explained`` (fraction of the total variance per component).
    """
    flat = [np.asarray(t, float).reshape(len(t), -1) for t in trajectories]
    allx = np.concatenate(flat)
    mean = allx.mean(axis=0)
    _, s, Vt = np.linalg.svd(allx - mean, full_matrices=False)
    n = min(n, Vt.shape[0])
    comps = Vt[:n]
    # a deterministic sign: the largest loading of each component positive
    for i in range(n):
        if comps[i, np.argmax(np.abs(comps[i]))] < 0:
            comps[i] = -comps[i]
    total = float(np.sum(s ** 2))
    explained = (s[:n] ** 2 / total) if total > 0 else np.zeros(n)
    return {"projections": [(f - mean) @ comps.T for f in flat], "components": comps,
            "mean": mean, "explained": explained}


def exponential_rate(t, y, low, high):
    """The rate :math:`r` of :math:`y \\approx c\\,e^{-rt}` fitted over the points with
    ``low < y < high`` (least squares on :math:`\\log y`).

    Returns ``(rate, (t_first, t_last), points)``; ``(nan, None, 0)`` with fewer than 3 points.
    """
    t = np.asarray(t, float)
    y = np.asarray(y, float)
    m = np.isfinite(y) & (y > low) & (y < high)
    if m.sum() < 3:
        return float("nan"), None, int(m.sum())
    slope = np.polyfit(t[m], np.log(y[m]), 1)[0]
    return float(-slope), (float(t[m][0]), float(t[m][-1])), int(m.sum())


def first_passage_rate(t, y, low, high):
    """The exponential rate of a noisy decaying series over its first passage from ``high``
    down to ``low``: from the first point below ``high`` to the last point before the first
    one below ``low`` (later excursions above ``low``, noise around a floor, are left out)."""
    t = np.asarray(t, float)
    y = np.asarray(y, float)
    below_high = np.nonzero(y < high)[0]
    if below_high.size == 0:
        return float("nan"), None, 0
    i0 = int(below_high[0])
    below_low = np.nonzero(y[i0:] <= low)[0]
    i1 = i0 + int(below_low[0]) if below_low.size else len(y)
    if i1 - i0 < 3:
        return float("nan"), None, int(i1 - i0)
    sel = slice(i0, i1)
    slope = np.polyfit(t[sel], np.log(y[sel]), 1)[0]
    return float(-slope), (float(t[i0]), float(t[i1 - 1])), int(i1 - i0)


def tail_rate(t, y, low=1e-10, fraction=0.4):
    """The exponential rate of a noise-free decaying series over its tail: the last
    ``fraction`` of the points above ``low`` (below it, rounding takes over). Returns
    ``(rate, window, points)`` as :func:`exponential_rate`."""
    t = np.asarray(t, float)
    y = np.asarray(y, float)
    ok = np.nonzero(np.isfinite(y) & (y > low))[0]
    if ok.size < 3:
        return float("nan"), None, int(ok.size)
    last = ok[-1]
    first = int(last - max(2, int(round(fraction * (last + 1)))) + 1)
    first = max(first, 0)
    sel = np.arange(first, last + 1)
    sel = sel[np.isfinite(y[sel]) & (y[sel] > low)]
    if sel.size < 3:
        return float("nan"), None, int(sel.size)
    slope = np.polyfit(t[sel], np.log(y[sel]), 1)[0]
    return float(-slope), (float(t[sel][0]), float(t[sel][-1])), int(sel.size)


def noise_floor(y, tail=0.2):
    """The level a noisy decaying series settles at: the median of its last ``tail`` fraction."""
    y = np.asarray(y, float)
    k = max(3, int(len(y) * tail))
    return float(np.median(y[-k:]))


def epochs(n_samples, steps, rng):
    """Sample indices for ``steps`` presentations in epochs: each epoch a random permutation
    of the ``n_samples`` samples (random reshuffling)."""
    reps = -(-int(steps) // int(n_samples))
    return np.concatenate([rng.permutation(n_samples) for _ in range(reps)])[:steps]
