"""Brian2 expressions as sympy, and sympy as numpy: the one translation layer.

Brian2 parses its code into sympy (``brian2.parsing.sympytools.str_to_sympy``); a few of its
functions are not plain sympy (``int``, ``clip``, random numbers) and are rewritten here into
sympy that can be differentiated (``Piecewise``, ``Min``/``Max``), or into numpy draws.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["brian_to_sympy", "si_namespace", "lambdify_numpy", "units_si"]

_UNITS_SI = None


def units_si():
    """Brian2's unit names (and ``pi``, ``e``, ``inf``) -> their SI values as floats."""
    global _UNITS_SI
    if _UNITS_SI is None:
        from .._quantity import units_namespace

        _UNITS_SI = {}
        for name, value in units_namespace().items():
            try:
                _UNITS_SI[name] = float(np.asarray(value))
            except (TypeError, ValueError):
                pass
    return _UNITS_SI


def si_namespace(namespace):
    """Units and parameter values (Brian2 quantities) as SI floats (arrays kept)."""
    out = dict(units_si())
    for name, value in namespace.items():
        arr = np.asarray(value, dtype=float)
        out[name] = float(arr) if arr.ndim == 0 else arr
    return out


def _exprel_numpy(x):
    if isinstance(x, (float, np.floating)):   # scalar fast path (lambdified single units);
        x = float(x)                          # numpy floats out: inf, not OverflowError, later
        if x == 0.0:
            return np.float64(1.0)
        try:
            return np.float64(math.expm1(x) / x)
        except OverflowError:
            return np.float64(math.inf)
    from scipy.special import exprel

    return exprel(x)


def _exprel_d1_numpy(x):
    """d/dx (e^x - 1)/x = (x e^x - e^x + 1)/x^2, by its series near 0."""
    if isinstance(x, (float, np.floating)):   # scalar fast path
        x = float(x)
        if abs(x) < 1e-3:
            return np.float64(0.5 + x / 3.0 + x * x / 8.0)
        try:
            return np.float64((x * math.exp(x) - math.expm1(x)) / (x * x))
        except OverflowError:
            return np.float64(math.inf)
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-3
    xs = np.where(small, 1.0, x)
    with np.errstate(over="ignore", invalid="ignore"):
        exact = (xs * np.exp(xs) - np.expm1(xs)) / (xs * xs)
    series = 0.5 + x / 3.0 + x * x / 8.0
    return np.where(small, series, exact)


def _exprel_d2_numpy(x):
    """Second derivative of exprel (for derivatives of derivatives), by its series near 0."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-2
    xs = np.where(small, 1.0, x)
    with np.errstate(over="ignore", invalid="ignore"):
        exact = (np.exp(xs) * (xs * xs - 2 * xs + 2) - 2) / xs ** 3
    series = 1.0 / 3.0 + x / 4.0 + x * x / 10.0
    return np.where(small, series, exact)


_EXPREL = None


def exprel_classes():
    """``exprel(x) = (e^x - 1)/x`` as a sympy function with its derivatives (numpy: scipy's
    ``exprel`` and series near 0), so that ``exprel`` in rate functions (Hodgkin-Huxley) stays
    smooth and fast."""
    global _EXPREL
    if _EXPREL is None:
        import sympy

        d2 = type("exprel_d2", (sympy.Function,), {"nargs": 1})
        d1 = type("exprel_d1", (sympy.Function,), {"nargs": 1, "fdiff": lambda self, i=1: d2(self.args[0])})
        ex = type("exprel_", (sympy.Function,), {"nargs": 1, "fdiff": lambda self, i=1: d1(self.args[0])})
        _EXPREL = (ex, {"exprel_": _exprel_numpy, "exprel_d1": _exprel_d1_numpy,
                        "exprel_d2": _exprel_d2_numpy})
    return _EXPREL


def _sympy_names():
    import sympy

    return {"sqrt": sympy.sqrt, "exp": sympy.exp, "log": sympy.log, "abs": sympy.Abs,
            "exprel": lambda x: exprel_classes()[0](x)}


class _LazyNames(dict):
    def _fill(self):
        if not dict.__len__(self):
            self.update(_sympy_names())

    def __contains__(self, key):
        self._fill()
        return dict.__contains__(self, key)

    def __getitem__(self, key):
        self._fill()
        return dict.__getitem__(self, key)


_SYMPY_NAMES = _LazyNames()


def brian_to_sympy(expr):
    """Rewrite Brian2's sympy functions into differentiable sympy.

    ``int_(c)`` -> ``Piecewise((1, c), (0, True))``; ``clip(x, a, b)`` -> ``Min(Max(x, a), b)``;
    special functions of :data:`biodyn.dynamics.FUNCTIONS` -> their sympy classes (with
    closed-form derivatives). ``rand``/``randn``/``poisson`` stay (drawn by numpy).
    """
    import sympy
    from sympy.core.function import AppliedUndef

    from ._functions import FUNCTIONS

    def is_named(name):
        return lambda e: isinstance(e, sympy.Function) and type(e).__name__ == name

    expr = expr.replace(lambda e: (isinstance(e, sympy.Function) and type(e).__name__ in _SYMPY_NAMES
                                   and (isinstance(e, AppliedUndef) or type(e).__name__ == "exprel")),
                        lambda e: _SYMPY_NAMES[type(e).__name__](*e.args))
    expr = expr.replace(is_named("int_"), lambda e: sympy.Piecewise((1, e.args[0]), (0, True)))
    expr = expr.replace(is_named("clip"), lambda e: sympy.Min(sympy.Max(e.args[0], e.args[1]), e.args[2]))
    for name, fn in FUNCTIONS.items():
        cls = fn.sympy_class
        expr = expr.replace(lambda e, n=name: isinstance(e, AppliedUndef) and type(e).__name__ == n,
                            lambda e, c=cls: c(*e.args))
    # one kind of symbol per name (Brian2 makes t positive, others real)
    return expr.xreplace({s: sympy.Symbol(s.name, real=True) for s in expr.free_symbols
                          if isinstance(s, sympy.Symbol)})


def _numpy_modules(random=None):
    from ._functions import FUNCTIONS

    mods = {}
    for fn in FUNCTIONS.values():
        mods.update(fn.numpy_namespace())
    if random is not None:
        rng, size = random
        mods["rand"] = lambda *_: rng.random(size)
        mods["randn"] = lambda *_: rng.standard_normal(size)
        mods["poisson"] = lambda lam, *_: rng.poisson(lam, size)
    mods["Heaviside"] = lambda x, h0=0.5: np.heaviside(x, h0)
    mods.update(exprel_classes()[1])
    return [mods, "numpy"]


def lambdify_numpy(names, exprs, random=None, cse=True):
    """``sympy.lambdify`` with numpy, biodyn's special functions and (optionally) random draws.

    ``names`` are argument names (symbols are made ``real=True`` as Brian2 makes them).
    """
    import sympy

    args = [sympy.Symbol(n, real=True) for n in names]
    placeholder = sympy.Symbol("_placeholder_arg", real=True)
    if random is not None:
        args = args + [placeholder]
        fn = sympy.lambdify(args, exprs, modules=_numpy_modules(random), cse=cse)
        return lambda *values: fn(*values, 0.0)
    return sympy.lambdify(args, exprs, modules=_numpy_modules(None), cse=cse)
