"""Quantities written as text: ``"16.8 ms"``, ``"8e-5 /mV**2"``, ``"1.05*A_plus"``.

Text is evaluated by a small, safe evaluator (a whitelist of Python's expression
syntax: numbers, names, ``+ - * / **``, unary signs and calls of a few
mathematical functions), in a namespace of Brian2's units plus any names the
caller provides (other parameters). A number followed by a space and a unit is
read as their product, so ``"16.8 ms"`` means ``16.8*ms``.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from functools import lru_cache

import numpy as np

__all__ = ["evaluate", "parse_unit", "dimension_name", "format_quantity", "exact_text",
           "readable_quantity", "readable_text", "QuantityError"]


class QuantityError(ValueError):
    """Text that is not a quantity; the message says why (caller adds the place)."""


_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}

# "16.8 ms", "5mV", and, after a space, a unit written as a reciprocal: "1e-4 1/mV**2"
# (the form biodyn's own hints print; without the space "21/ms" stays 21/ms).
_NUMBER_THEN_UNIT = re.compile(
    r"^\s*(?P<num>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)"
    r"(?:\s+(?P<rest>(?:[A-Za-z_(]|1\s*/).*)|(?![eE]([-+]?\d|\W|$))(?P<glued>[A-Za-z_(].*))$"
)


def _unit_namespace():
    from brian2.core.namespace import DEFAULT_CONSTANTS, DEFAULT_UNITS

    ns = dict(DEFAULT_UNITS)
    ns.update({k: v.value for k, v in DEFAULT_CONSTANTS.items() if k.isidentifier()})
    # Brian2 has no 's' (it would clash with loop variables in generated code); in a value
    # such as "0.5 s" it can only mean seconds.
    ns.setdefault("s", ns["second"])
    return ns


_UNITS = None


def units_namespace():
    """Brian2's unit names (``ms``, ``mV``, ``nS``, ``cm2``, ...) and ``pi``, ``e``, ``inf``."""
    global _UNITS
    if _UNITS is None:
        _UNITS = _unit_namespace()
    return _UNITS


_FUNCTIONS = None


def _functions():
    global _FUNCTIONS
    if _FUNCTIONS is None:
        _FUNCTIONS = _function_table()
    return _FUNCTIONS


def _function_table():
    import brian2

    return {
        "exp": np.exp,
        "log": np.log,
        "log10": np.log10,
        "sqrt": brian2.sqrt,
        "abs": abs,
        "sin": np.sin,
        "cos": np.cos,
        "tanh": np.tanh,
        "min": min,
        "max": max,
    }


def evaluate(text, names=None):
    """Evaluate ``text`` to a Brian2 quantity (or a float if dimensionless).

    Parameters
    ----------
    text : str or number or Quantity
        The expression. Numbers and quantities are returned as they are.
    names : Mapping, optional
        Extra names (e.g. the other parameters of a model). They shadow units.

    Raises
    ------
    QuantityError
        If ``text`` is not an expression of the allowed form, or names an
        unknown identifier.
    """
    if not isinstance(text, str):
        if isinstance(text, bool):
            raise QuantityError(f"a boolean ({text!r}) is not a quantity")
        return text
    cached = _VALUES.get(text)
    if cached is not None and (names is None or not any(n in names for n in cached[1])):
        return _fresh(cached[0])
    tree, identifiers = _parse(text)
    units = units_namespace()
    funcs = _functions()

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name):
            if names is not None and node.id in names:
                return names[node.id]
            if node.id in units:
                return units[node.id]
            raise QuantityError(f"unknown name {node.id!r} in {text!r}{_unit_hint(node.id, units)}")
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](ev(node.operand))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in funcs
            and not node.keywords
        ):
            return funcs[node.func.id](*[ev(a) for a in node.args])
        raise QuantityError(
            f"{text!r} is not a quantity expression (only numbers, units, names, "
            "+ - * / ** and exp/log/sqrt/... are allowed)"
        )

    try:
        value = ev(tree)
    except QuantityError:
        raise
    except Exception as exc:  # dimension mismatch in '1*ms + 1*mV', division by zero, ...
        raise QuantityError(f"{text!r} cannot be evaluated: {exc}") from None
    if names is None or not any(n in names for n in identifiers):
        # the value depends on the text alone (units and functions never change)
        if len(_VALUES) >= _MAX_VALUES:
            _VALUES.clear()
        _VALUES[text] = (value, identifiers)
        return _fresh(value)
    return value


#: Values of texts that use no caller's names (``"16.8 ms"``, ``"10 Hz"``): text ->
#: (value, identifiers); :func:`evaluate` returns copies (:func:`_fresh`).
_VALUES: dict = {}
_MAX_VALUES = 4096


def _fresh(value):
    """A cached value as :func:`evaluate` computes it anew: arrays (quantities) copied, so
    that no caller shares one; Brian2's units (``evaluate("ms")`` is the unit itself) and
    immutable numbers as they are."""
    from brian2.units.fundamentalunits import Unit

    if isinstance(value, np.ndarray) and not isinstance(value, Unit):
        return value.copy()
    return value


@lru_cache(maxsize=4096)
def _parse(text):
    """The syntax tree of a quantity's text and the names it uses (cached by text: the tree
    is only read)."""
    source = text.strip()
    if not source:
        raise QuantityError("empty text")
    m = _NUMBER_THEN_UNIT.match(source)
    if m:
        source = f"{m.group('num')} * ({m.group('rest') or m.group('glued')})"
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise QuantityError(f"{text!r} is not an expression ({exc.msg})") from None
    return tree, frozenset(node.id for node in ast.walk(tree) if isinstance(node, ast.Name))


_LONG_NAMES = {"S": "siemens", "F": "farad", "H": "henry", "C": "coulomb", "T": "tesla", "W": "watt",
               "J": "joule", "N": "newton", "Pa": "pascal"}


def _unit_hint(name, units):
    """'mS' -> " (Brian2 spells it 'msiemens')": Brian2 writes some units in full."""
    for short, long in _LONG_NAMES.items():
        if name.endswith(short):
            candidate = name[: -len(short)] + long
            if candidate in units:
                return f" (Brian2 spells it {candidate!r})"
    return ""


def parse_unit(text):
    """The Brian2 dimension and scale of a unit string; ``"1"`` or ``""`` is dimensionless.

    Returns ``(dim, scale)``: the `Dimension` expected of values in this unit, and
    the unit's size in SI (``"ms"`` -> ``(second, 0.001)``).
    """
    from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions

    if text is None or str(text).strip() in ("", "1"):
        return DIMENSIONLESS, 1.0
    value = evaluate(str(text))
    return get_dimensions(value), float(np.asarray(value))


def get_dim(value):
    from brian2.units.fundamentalunits import get_dimensions

    return get_dimensions(value)


_DIM_NAMES = {
    "s": "time",
    "V": "voltage",
    "A": "current",
    "S": "conductance",
    "F": "capacitance",
    "Hz": "frequency",
    "ohm": "resistance",
    "m": "length",
    "1": "dimensionless",
}


def dimension_name(dim) -> str:
    """A short human name for a dimension: ``time``, ``voltage``, ``m^-2 A`` ..."""
    from brian2.units.fundamentalunits import DIMENSIONLESS, get_unit

    if dim is DIMENSIONLESS or dim == DIMENSIONLESS:
        return "dimensionless"
    unit = get_unit(dim)
    name = str(unit)
    return _DIM_NAMES.get(name, name)


def format_quantity(value) -> str:
    """Text for a quantity that :func:`evaluate` reads back to the same value."""
    from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity, get_dimensions

    if isinstance(value, str):
        return value
    if isinstance(value, Quantity) and get_dimensions(value) is not DIMENSIONLESS:
        return str(value)
    return repr(float(value)) if np.ndim(value) == 0 else str(value)


def readable_quantity(value, digits=4) -> str:
    """Text for a reader (figure footers, provenance lines), not for reading back.

    The value in the SI-prefixed unit that puts its number in [1, 1000) (Brian2's best
    unit), to ``digits`` significant digits, micro written ``µ``: ``2e-05 * second`` →
    ``"20 µs"``, ``1 * second`` → ``"1 s"``, ``0.25 * Hz`` → ``"250 mHz"``. A quantity
    with no named unit keeps Brian2's SI text (``"80 m^-4 kg^-2 s^6 A^2"``); a plain
    number is written with ``digits`` significant digits. What a result records is
    :func:`exact_text`; this is only how a figure shows it.
    """
    from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity, get_dimensions

    if not isinstance(value, Quantity) or get_dimensions(value) is DIMENSIONLESS:
        return f"{float(value):.{digits}g}"
    if float(value) == 0.0:
        unit = value.get_best_unit()
        unit_text = str(unit)
        return "0 " + (unit_text[3:] if unit_text.startswith("1. ") else unit_text)
    unit = value.get_best_unit()
    unit_text = str(unit)
    if unit_text.startswith("1. "):  # no named unit: SI base units
        return f"{float(value):.{digits}g} {unit_text[3:]}"
    number = float(value / unit)
    return f"{number:.{digits}g} {_micro(unit_text)}"


_PLAIN_NUMBER_THEN_UNIT = re.compile(r"^\s*(?P<num>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*(?:\*\s*|\s)(?P<unit>[A-Za-zµ]\w*)\s*$")


def readable_text(text, digits=4):
    """A quantity written as text, for a reader: ``"2e-05 second"`` → ``"20 µs"``,
    Brian2's ``"100. s"`` → ``"100 s"``.

    Text that is a number and one unit name with the number between 0.001 and 10 000
    keeps its number and unit as written (``"16.8345 ms"``, ``"0.01 Hz"``; only a trailing
    decimal point goes and ``u`` becomes ``µ``); any other number and unit is rewritten by
    :func:`readable_quantity`; a compound unit or an expression stays as written.
    Text that is no quantity with a unit (a name, ``"auto"``, a plain number, a list)
    comes back as it was.
    """
    from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity, get_dimensions

    if not isinstance(text, str):
        return readable_quantity(text, digits) if isinstance(text, Quantity) else str(text)
    try:
        value = evaluate(text)
    except Exception:  # noqa: BLE001 - any text that is not a quantity stays as it is
        return text
    if not isinstance(value, Quantity) or get_dimensions(value) is DIMENSIONLESS or np.ndim(value) != 0:
        return text
    m = _PLAIN_NUMBER_THEN_UNIT.match(text)
    if not m or m.group("unit") not in units_namespace():
        return text  # a compound unit ("1e-4 1/mV**2"), an expression: as the user wrote it
    number = abs(float(m.group("num")))
    if number == 0 or 1e-3 <= number < 1e4:
        num = m.group("num")
        return f"{num[:-1] if num.endswith('.') else num} {_micro(m.group('unit'))}"
    return readable_quantity(value, digits)


def _micro(unit_text):
    """Brian2's ``u`` prefix (``us``, ``uV``) as ``µ``."""
    if len(unit_text) > 1 and unit_text[0] == "u" and unit_text[1:2].isalpha():
        return "µ" + unit_text[1:]
    return unit_text


_BASE_UNITS = ("metre", "kilogram", "second", "amp", "kelvin", "mole", "candela")


def exact_text(value) -> str:
    """Text for a quantity that :func:`evaluate` reads back to the SAME float.

    In the quantity's best unit where that round trip is exact (``"16.8 ms"``), else
    in SI base units with the float's shortest exact repr
    (``"0.000123456789123 * second"``). What a result records as its parameter values,
    so that a rerun from the record uses bit-identical numbers.
    """
    from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity, get_dimensions

    if isinstance(value, str):
        return value
    dim = get_dimensions(value)
    if not isinstance(value, Quantity) or dim is DIMENSIONLESS:
        return repr(float(value))
    if np.ndim(value) != 0:
        raise QuantityError(f"{value!r} is not a scalar")
    key = (float(value).hex(), dim)  # the text depends on the float (-0.0 too) and dimension
    text = _EXACT.get(key)
    if text is None:
        text = _exact_text(value, dim)
        if len(_EXACT) >= _MAX_VALUES:
            _EXACT.clear()
        _EXACT[key] = text
    return text


#: :func:`exact_text` of scalar quantities by (float, dimension).
_EXACT: dict = {}


def _exact_text(value, dim):
    from brian2.units.fundamentalunits import get_dimensions

    for text in _unit_texts(value, dim):
        try:
            back = evaluate(text)
        except QuantityError:
            continue
        if float(back) == float(value) and get_dimensions(back) == dim:
            return text
    powers = [(name, dim._dims[k]) for k, name in enumerate(_BASE_UNITS) if dim._dims[k] != 0]
    return " * ".join([repr(float(value))] + [name if p == 1 else f"{name}**{p:g}"
                                              for name, p in powers])


_BY_DIM = None


def _unit_texts(value, dim, tries=8):
    """Texts of ``value`` in units of its dimension, those reading as 1-1000 first."""
    from brian2.units.fundamentalunits import Quantity, get_dimensions

    global _BY_DIM
    if _BY_DIM is None:
        _BY_DIM = {}
        for name, u in units_namespace().items():
            if isinstance(u, Quantity) and name.isidentifier() and float(u) > 0:
                _BY_DIM.setdefault(get_dimensions(u), []).append((name, u))
    v = abs(float(value))
    units = _BY_DIM.get(dim, [])

    def score(item):
        if v == 0:
            return (float(item[1]) != 1.0, len(item[0]))
        x = math.log10(v) - math.log10(float(item[1]))
        return (0 if 0 <= x < 3 else min(abs(x), abs(x - 3)), len(item[0]))

    try:
        best = value.get_best_unit()
        yield f"{float(value / best)!r} {best}"
    except Exception:  # pragma: no cover - Brian2 finds no unit
        pass
    for name, u in sorted(units, key=score)[:tries]:
        yield f"{float(value / u)!r} {name}"


def is_finite_number(x) -> bool:
    try:
        return math.isfinite(float(np.asarray(x)))
    except (TypeError, ValueError):
        return False
