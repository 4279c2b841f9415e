"""Specs: TOML files read into validated, immutable descriptions of models.

A model spec is data, not code. It holds

* ``kind`` — ``neuron``, ``synapse``, ``population``, ``system`` or ``map``;
* the Brian2 equations and event code (``model``, ``threshold``, ``reset``,
  ``on_pre``, ``on_post``, ...);
* ``[parameters]`` — every parameter with its unit (``tau_m = "ms"``), so that a
  value in a wrong unit is caught before Brian2 sees it;
* ``[parameter_sets.NAME]`` — named sets of values with their citation
  (``inherits`` another set to change only a few values);
* ``[variants.AXIS.OPTION]`` — interchangeable pieces of code (a timing rule, a
  weight dependence, a pairing scheme) filled into ``{slot}`` placeholders of the
  code templates: composition as data, in the way of PyNN's ``STDPMechanism``;
* ``[initial]`` — initial values, as Brian2 expressions.

A spec in words::

    kind = "neuron"
    description = "Leaky integrate-and-fire neuron (Lapicque 1907)."
    model = '''
    dv/dt = (E_L - v + R*I)/tau_m : volt (unless refractory)
    I : amp
    '''
    threshold = "v > v_th"
    reset = "v = v_reset"
    refractory = "t_ref"
    default_parameter_set = "default"

    [parameters]
    tau_m = { unit = "ms", doc = "membrane time constant" }
    ...
    [citations.gerstner2014]
    authors = "Gerstner W, Kistler WM, Naud R, Paninski L"
    year = 2014
    journal = "Neuronal Dynamics, Cambridge University Press"

    [parameter_sets.default]
    citation = "gerstner2014"
    values = { tau_m = "10 ms", ... }

Everything wrong in a spec raises :class:`~biodyn.errors.SpecError` naming the
file, the key, what was expected and what was found.
"""

from __future__ import annotations

import itertools
import re
import string
import threading
import tomllib
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np

from ._quantity import (
    QuantityError,
    dimension_name,
    evaluate,
    exact_text,
    format_quantity,
    parse_unit,
    units_namespace,
)
from .errors import SpecError, display_path, suggest

__all__ = [
    "ModelSpec",
    "Resolved",
    "Parameter",
    "ParameterSet",
    "Citation",
    "Variant",
    "KindSchema",
    "Key",
    "KINDS",
    "MODEL_KINDS",
    "register_kind",
    "load_file",
    "read_toml",
    "parse_quantity",
    "format_quantity",
    "check_quantity",
    "parse_assignment",
]

# --------------------------------------------------------------------------
# Declarative schema
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """One allowed key of a spec table: its type(s), whether required, and what it is."""

    types: tuple
    required: bool = False
    doc: str = ""

    def type_name(self):
        names = {str: "a string", int: "an integer", float: "a number", dict: "a table",
                 list: "an array", bool: "true or false"}
        return " or ".join(names.get(t, t.__name__) for t in self.types)


@dataclass(frozen=True)
class KindSchema:
    """What a spec of one kind may contain.

    ``keys`` is the table of allowed top-level keys; ``code_keys`` are those whose
    strings are Brian2 code templates (``{slot}`` placeholders filled from
    variants); ``check`` is an optional function run on the loaded spec to check
    what the table cannot (equations, units).
    """

    kind: str
    keys: Mapping[str, Key]
    code_keys: tuple = ()
    check: Callable | None = None
    doc: str = ""


_COMMON_MODEL_KEYS = {
    "kind": Key((str,), True, "neuron, synapse, population, system or map"),
    "description": Key((str,), True, "what the model is, with its origin"),
    "notes": Key((str,), False, "free text: assumptions, implementation details"),
    "parameters": Key((dict,), False, "parameter -> unit (or {unit, doc})"),
    "parameter_sets": Key((dict,), False, "named parameter sets with citations"),
    "default_parameter_set": Key((str,), False, "the set used when none is named"),
    "citations": Key((dict,), False, "citations referred to by key from parameter sets"),
    "variants": Key((dict,), False, "interchangeable code pieces: AXIS.OPTION.slot"),
    "initial": Key((dict,), False, "initial values: variable -> Brian2 expression"),
}

#: Registry of spec kinds: kind name -> KindSchema. Later layers add kinds
#: (``register_kind``); a kind's schema is a table, checked by one function.
KINDS: dict[str, KindSchema] = {}

#: The kinds that are models (as opposed to protocols, sweeps, ...).
MODEL_KINDS = ("neuron", "synapse", "population", "system", "map")


def register_kind(kind, keys, code_keys=(), check=None, doc="", common=True):
    """Register (or extend) a spec kind.

    Parameters
    ----------
    kind : str
    keys : Mapping[str, Key]
        Allowed top-level keys in addition to the common model keys.
    code_keys : tuple of str
        Keys holding Brian2 code templates.
    check : callable(ModelSpec), optional
        Extra validation; raise :class:`SpecError` on failure.
    common : bool
        Whether the common model keys (parameters, parameter_sets, ...) apply.
    """
    all_keys = dict(_COMMON_MODEL_KEYS) if common else {}
    all_keys.update(keys)
    KINDS[kind] = KindSchema(kind, MappingProxyType(all_keys), tuple(code_keys), check, doc)
    return KINDS[kind]


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Citation:
    """A literature reference: authors, year, journal (with volume:pages), DOI."""

    authors: str
    year: int
    journal: str
    title: str | None = None
    doi: str | None = None
    note: str | None = None

    _FIELDS = ("authors", "year", "journal", "title", "doi", "note")

    def __str__(self):
        text = f"{self.authors} ({self.year})"
        if self.title:
            text += f". {self.title}"
        text += f". {self.journal}"
        if self.doi:
            text += f". doi:{self.doi}"
        return text

    def surnames(self):
        """Surnames from 'Song S, Miller KD, Abbott LF' or 'van Rossum MCW, Bi GQ'."""
        names = []
        for author in re.split(r"\s*(?:,|;|&|\band\b)\s*", self.authors):
            tokens = author.split()
            if not tokens:
                continue
            if len(tokens) > 1 and re.fullmatch(r"[A-Z][A-Z.\-]*", tokens[-1]):
                tokens = tokens[:-1]  # initials
            names.append(" ".join(tokens))
        return names

    def short(self):
        """'Song et al. 2000', 'Hodgkin & Huxley 1952', 'Oja 1982'."""
        names = self.surnames() or [self.authors]
        if len(names) == 1:
            who = names[0]
        elif len(names) == 2:
            who = f"{names[0]} & {names[1]}"
        else:
            who = f"{names[0]} et al."
        return f"{who} {self.year}"

    def as_dict(self):
        return {k: getattr(self, k) for k in self._FIELDS if getattr(self, k) is not None}


@dataclass(frozen=True)
class Parameter:
    """A declared parameter: its name, the unit values are expected in, and a doc line."""

    name: str
    unit: str
    dim: Any
    doc: str = ""


@dataclass(frozen=True)
class ParameterSet:
    """A named set of parameter values (text with units) and where they come from."""

    name: str
    values: Mapping[str, str]
    citation: Citation | None
    description: str = ""
    variants: Mapping[str, str] = field(default_factory=dict)
    inherits: str | None = None


@dataclass(frozen=True)
class Variant:
    """An axis of interchangeable code pieces (e.g. ``pairing``: all_to_all | nearest)."""

    axis: str
    default: str
    options: Mapping[str, Mapping[str, str]]  # option -> slot -> code
    docs: Mapping[str, str]
    doc: str = ""


def parse_quantity(text, dim=None, *, file=None, key="value", names=None, unit=None):
    """Parse ``text`` (``"16.8 ms"``) into a Brian2 quantity, checking its dimension.

    Parameters
    ----------
    text : str or number or Quantity
    dim : Dimension, optional
        The expected dimension; ``None`` accepts any.
    file, key : str
        Where the text comes from, for the error message.
    names : Mapping, optional
        Other names the expression may use (other parameters).
    unit : str, optional
        The unit as written in the spec, quoted in the error message.

    Raises
    ------
    SpecError
        If the text is not a quantity, or has another dimension than ``dim``.
    """
    from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions

    try:
        value = evaluate(text, names)
    except QuantityError as exc:
        raise SpecError(file, key, _expected_text(dim, unit), f"{text!r} ({exc})") from None
    if dim is not None:
        check_quantity(value, dim, file=file, key=key, unit=unit, text=text)
    try:
        got = get_dimensions(value)
    except Exception:
        raise SpecError(file, key, _expected_text(dim, unit), f"{text!r}") from None
    if got is DIMENSIONLESS:
        import numpy as np

        return float(value) if np.ndim(value) == 0 else value
    return value


def _expected_text(dim, unit=None):
    if dim is None:
        return "a quantity"
    from brian2.units.fundamentalunits import DIMENSIONLESS

    if dim is DIMENSIONLESS:
        return "a dimensionless number"
    name = dimension_name(dim)
    if unit:
        return f"a quantity in {unit} ({name})" if name != unit else f"a quantity in {unit}"
    return f"a quantity with dimension {name}"


def check_quantity(value, dim, *, file=None, key="value", unit=None, text=None):
    """Raise :class:`SpecError` unless ``value`` has dimension ``dim``."""
    from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions

    try:
        got = get_dimensions(value)
    except Exception:
        got = None
    if got is not dim and got != dim:  # Brian2's Dimension == is np.allclose: try identity first
        shown = repr(text) if text is not None else repr(value)
        found_dim = "not a number" if got is None else (
            "dimensionless" if got is DIMENSIONLESS else dimension_name(got))
        hint = None
        if got is DIMENSIONLESS and dim is not DIMENSIONLESS:
            example = with_unit(text if text is not None else value, unit or _unit_example(dim), dim)
            hint = (f"give the unit, e.g. {example!r}" if example is not None
                    else f"give the unit ({unit or _unit_example(dim)})")
        raise SpecError(file, key, _expected_text(dim, unit), f"{shown} ({found_dim})", hint)


def _unit_example(dim):
    """A unit of dimension ``dim`` as text the parser reads back (``'metre ** -4 * ...'``,
    not Brian2's display form ``'m^-4 kg^-2 s^6 A^2'``)."""
    from brian2.units.fundamentalunits import get_unit

    return repr(get_unit(dim))


def with_unit(value, unit, dim):
    """``value`` (a dimensionless number or its text) written with ``unit``, in a form that
    :func:`parse_quantity` accepts and that has dimension ``dim``; ``None`` if none does.

    The hints of biodyn's errors are made with it, so a user can paste them back.
    """
    from brian2.units.fundamentalunits import get_dimensions

    text = str(value).strip()
    for candidate in (f"{text} {unit}", f"{text}*{unit}", f"({text})*({unit})"):
        try:
            if get_dimensions(evaluate(candidate)) == dim:
                return candidate
        except Exception:
            continue
    return None


def parse_assignment(text, *, file="<command line>", key="--set"):
    """Split ``NAME=VALUE`` (as given to ``--set``) into ``(name, value_text)``."""
    if "=" not in text:
        raise SpecError(file, key, "NAME=VALUE (e.g. tau_plus='16.8 ms')", repr(text))
    name, value = text.split("=", 1)
    name = name.strip()
    if not name.isidentifier():
        raise SpecError(file, key, "NAME=VALUE with NAME an identifier", repr(text))
    return name, value.strip()


def parse_value(text):
    """The value of a ``KEY=VALUE`` given on the command line (``--stimulus``), read as TOML.

    ``5`` is an integer, ``0.5`` a number, ``true`` a boolean, ``[[1, 0], [0, 1]]`` and
    ``['10 Hz', '20 Hz']`` arrays, ``'20 second'`` a string; text that is no TOML value
    (``20 second``, unquoted) is taken as it stands, so quantities need no quotes.
    """
    text = str(text).strip()
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
            return text[1:-1]
        return text


# --------------------------------------------------------------------------
# Reading TOML
# --------------------------------------------------------------------------


def read_toml(path, content=None):
    """Read a TOML file; a syntax error becomes a :class:`SpecError` naming the line.

    ``content``: the file's bytes, if the caller has read them already."""
    path = Path(path)
    shown = display_path(path)
    try:
        if content is not None:
            return tomllib.loads(content.decode("utf-8"))
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise SpecError(shown, "<file>", "an existing TOML file", "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(path, shown, exc) from None
    except UnicodeDecodeError as exc:
        raise SpecError(shown, "<toml>", "UTF-8 text", str(exc)) from None


def _toml_error(path, shown, exc):
    """A TOML syntax error as a SpecError: ``FILE:LINE:COLUMN``, the message, the line's text,
    and a hint for the common cases (a key given twice)."""
    import re

    text = str(exc)
    m = re.search(r"\(at line (\d+), column (\d+)\)", text)
    where, found = shown, text
    if m:
        line, col = int(m.group(1)), int(m.group(2))
        where = f"{shown}:{line}:{col}"
        message = text[: m.start()].strip()
        found = message[:1].lower() + message[1:]
        try:
            source = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
            if 1 <= line <= len(source) and source[line - 1].strip():
                found += f" in line {line}: {source[line - 1].strip()[:80]!r}"
        except OSError:  # pragma: no cover
            pass
    hint = None
    if "overwrite" in text or "twice" in text or "duplicate" in text.lower():
        hint = "a key (or table) is given twice: TOML allows each once"
    elif "Illegal character '\\n'" in text:
        hint = "is a string missing its closing quote?"
    return SpecError(where, "<toml>", "valid TOML", found, hint)


def check_table(table, keys, *, file, prefix=""):
    """Check a TOML table against a schema (a mapping of key -> :class:`Key`)."""
    for name, value in table.items():
        if name not in keys:
            raise SpecError(
                file, f"{prefix}{name}", "one of the keys " + ", ".join(sorted(keys)),
                f"unknown key {name!r}", suggest(name, keys))
        spec = keys[name]
        types = spec.types
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise SpecError(file, f"{prefix}{name}", spec.type_name(),
                            f"{type(value).__name__} {value!r}"[:200])
    for name, spec in keys.items():
        if spec.required and name not in table:
            raise SpecError(file, f"{prefix}{name}", f"a required key ({spec.doc})", "nothing")


# --------------------------------------------------------------------------
# The model spec
# --------------------------------------------------------------------------

_CITATION_KEYS = {
    "authors": Key((str,), True, "the authors"),
    "year": Key((int,), True, "year of publication"),
    "journal": Key((str,), True, "journal with volume:pages, or the book"),
    "title": Key((str,), False, "title"),
    "doi": Key((str,), False, "DOI, where one exists"),
    "note": Key((str,), False, "what exactly is taken from the source"),
}
_SET_KEYS = {
    "citation": Key((str, dict), False, "a key of [citations] or an inline citation"),
    "description": Key((str,), False, "what this set models"),
    "values": Key((dict,), False, "parameter -> value with unit"),
    "variants": Key((dict,), False, "axis -> option this set uses"),
    "inherits": Key((str,), False, "the set whose values this one starts from"),
}
_PARAM_KEYS = {
    "unit": Key((str,), True, "the unit, '1' if dimensionless"),
    "doc": Key((str,), False, "what the parameter is"),
}
_FORMATTER = string.Formatter()


def _fill(template, fill, depth=5):
    """Fill ``{slot}`` placeholders; an option's code may hold slots of other axes."""
    for _ in range(depth):
        if not _slots(template):
            return template
        template = _FORMATTER.vformat(template, (), fill)
    return template


def _slots(template):
    """The ``{slot}`` names in a code template."""
    try:
        return {f for _, f, _, _ in _FORMATTER.parse(template) if f is not None}
    except ValueError:
        return None


class ModelSpec:
    """A validated model spec (immutable). Get one from :func:`biodyn.catalog.load`.

    Attributes
    ----------
    name, kind, path, description, notes : str
    parameters : Mapping[str, Parameter]
    parameter_sets : Mapping[str, ParameterSet]
        Values after inheritance.
    default_parameter_set : str or None
    variants : Mapping[str, Variant]
    templates : Mapping[str, str]
        The code keys of this kind, with ``{slot}`` placeholders.
    initial : Mapping[str, str]
    data : Mapping
        The whole TOML table, for kind-specific keys.
    """

    def __init__(self, name, kind, path, data, parameters, parameter_sets, default_set,
                 variants, templates, initial, citations):
        self.name = name
        self.kind = kind
        self.path = path
        self.data = MappingProxyType(data)
        self.description = data.get("description", "").strip()
        self.notes = data.get("notes", "").strip()
        self.parameters = MappingProxyType(parameters)
        self.parameter_sets = MappingProxyType(parameter_sets)
        self.default_parameter_set = default_set
        self.variants = MappingProxyType(variants)
        self.templates = MappingProxyType(templates)
        self.initial = MappingProxyType(initial)
        self.citations = MappingProxyType(citations)
        # resolve() results by their inputs (the spec is immutable; see _resolve_key)
        self._resolved = OrderedDict()

    # -- identity ---------------------------------------------------------------
    @property
    def file(self):
        """The spec's path as shown in messages."""
        return display_path(self.path) if self.path else f"<spec {self.name}>"

    def __repr__(self):
        return f"<ModelSpec {self.kind} {self.name!r} from {self.file}>"

    # -- variants -----------------------------------------------------------------
    def variant_choice(self, parameter_set=None, variants=None, *, key="variants"):
        """The option chosen on every axis: the set's choice, then ``variants``."""
        choice = {axis: v.default for axis, v in self.variants.items()}
        if parameter_set is not None:
            choice.update(self.parameter_sets[parameter_set].variants)
        for axis, option in (variants or {}).items():
            if axis not in self.variants:
                raise SpecError(self.file, f"{key}.{axis}",
                                "one of the variant axes " + (", ".join(self.variants) or "(none)"),
                                repr(axis), suggest(axis, self.variants))
            if option not in self.variants[axis].options:
                raise SpecError(self.file, f"{key}.{axis}",
                                "one of " + ", ".join(self.variants[axis].options),
                                repr(option), suggest(option, self.variants[axis].options))
            choice[axis] = option
        return choice

    def code(self, variants=None):
        """The code of this model with every ``{slot}`` filled for ``variants``.

        ``variants`` maps axis -> option; axes not given take their default.
        """
        choice = self.variant_choice(None, variants)
        fill = {}
        for axis, option in choice.items():
            fill.update(self.variants[axis].options[option])
        return {key: _fill(t, fill) if isinstance(t, str) else t for key, t in self.templates.items()}

    def variant_combinations(self):
        """Every combination of variant options (axis -> option dicts)."""
        axes = list(self.variants)
        for options in itertools.product(*(self.variants[a].options for a in axes)):
            yield dict(zip(axes, options))

    # -- parameters -----------------------------------------------------------------
    def resolve(self, parameter_set=None, overrides=None, variants=None):
        """Resolve parameter values and code: the model, ready to build.

        Parameters
        ----------
        parameter_set : str or ParameterSet, optional
            Name of a set, or a set read from a file; defaults to the spec's
            ``default_parameter_set``.
        overrides : Mapping[str, str or Quantity], optional
            Values that replace the set's (text with units, or quantities).
            Other values written as expressions of the overridden one follow it
            (``A_minus = "1.05*A_plus"``).
        variants : Mapping[str, str], optional
            Variant options that replace the set's choice.

        Returns
        -------
        Resolved
        """
        pset = self.get_parameter_set(parameter_set)
        key = _resolve_key(self, pset, overrides, variants)
        memo = self.__dict__.get("_resolved")
        hit = memo.get(key) if key is not None and memo is not None else None
        if hit is not None:
            with _MEMO_LOCK:  # sweeps may resolve in threads
                if key in memo:
                    memo.move_to_end(key)
            choice, namespace, code = hit
            return Resolved(self, pset.name if pset else None, pset, dict(overrides or {}),
                            dict(choice), _copy_values(namespace), dict(code))
        if pset is not None and pset.name not in self.parameter_sets:
            self._check_external_set(pset)
        choice = self.variant_choice(pset.name if pset and pset.name in self.parameter_sets else None,
                                     variants)
        if pset is not None and pset.name not in self.parameter_sets:
            choice.update({a: o for a, o in pset.variants.items() if not variants or a not in variants})
        code = self.code(choice)
        overrides = dict(overrides or {})
        texts = dict(pset.values) if pset else {}
        for name, value in overrides.items():
            if name not in self.parameters:
                raise SpecError("<overrides>", name,
                                f"a parameter of {self.name} (" + ", ".join(self.parameters) + ")",
                                repr(name), suggest(name, self.parameters))
            texts[name] = value
        namespace = self._evaluate_values(texts, pset, overrides)
        used = self._identifiers(code)
        missing = sorted(p for p in self.parameters if p in used and p not in namespace)
        if missing:
            where = f"parameter_sets.{pset.name}.values" if pset else "parameter_sets"
            raise SpecError(self.file, where, "a value for every parameter the model uses",
                            "no value for " + ", ".join(repr(m) for m in missing))
        if key is not None and memo is not None:
            with _MEMO_LOCK:
                memo[key] = (dict(choice), _copy_values(namespace), dict(code))
                while len(memo) > _RESOLVED_PER_SPEC:
                    memo.popitem(last=False)
        return Resolved(self, pset.name if pset else None, pset, overrides, choice,
                        namespace, code)

    def get_parameter_set(self, parameter_set=None):
        if isinstance(parameter_set, ParameterSet):
            return parameter_set
        if parameter_set is None:
            if self.default_parameter_set is None:
                return None
            parameter_set = self.default_parameter_set
        if parameter_set not in self.parameter_sets:
            raise SpecError(self.file, "parameter_sets",
                            "one of " + (", ".join(self.parameter_sets) or "(none)"),
                            f"unknown parameter set {parameter_set!r}",
                            suggest(parameter_set, self.parameter_sets))
        return self.parameter_sets[parameter_set]

    def _check_external_set(self, pset):
        for name in pset.values:
            if name not in self.parameters:
                raise SpecError(pset.name, f"values.{name}", f"a parameter of {self.name}",
                                repr(name), suggest(name, self.parameters))

    def _evaluate_values(self, texts, pset, overrides):
        """Evaluate value texts in dependency order; values may name other parameters."""
        values = {}
        evaluating = []
        own = pset is None or pset.name in self.parameter_sets
        src = self.file if own else pset.name  # once (display_path), not per value

        def where(name):
            if name in overrides:
                return "<overrides>", name
            return src, f"parameter_sets.{pset.name}.values.{name}" if pset else name

        def get(name):
            if name in values:
                return values[name]
            if name in evaluating:
                file, key = where(name)
                raise SpecError(file, key, "values that do not depend on themselves",
                                "a cycle " + " -> ".join(evaluating + [name]))
            evaluating.append(name)
            param = self.parameters[name]
            file, key = where(name)
            names = _LazyNames(texts, self.parameters, get)
            values[name] = parse_quantity(texts[name], param.dim, file=file, key=key,
                                          names=names, unit=param.unit)
            evaluating.pop()
            return values[name]

        for name in texts:
            get(name)
        return values

    def _identifiers(self, code):
        from brian2.utils.stringtools import get_identifiers

        ids = set()
        for text in code.values():
            if isinstance(text, str):
                ids |= get_identifiers(text)
        for text in self.initial.values():
            ids |= get_identifiers(str(text))
        return ids

    # -- display -------------------------------------------------------------------
    def describe(self):
        """A plain-text description: equations, variants, parameter sets, citations."""
        lines = [f"{self.name} ({self.kind}) — {self.file}", ""]
        if self.description:
            lines += [self.description, ""]
        code = self.code()
        for key in self.templates:
            text = code.get(key)
            if text is None:
                continue
            text = str(text).strip("\n")
            if "\n" in text:
                lines.append(f"{key}:")
                lines += ["    " + ln.strip() for ln in text.splitlines() if ln.strip()]
            else:
                lines.append(f"{key}: {text}")
        for axis, var in self.variants.items():
            lines += ["", f"variants.{axis} (default {var.default}){': ' + var.doc if var.doc else ''}"]
            for option, slots in var.options.items():
                doc = var.docs.get(option, "")
                lines.append(f"  {option}{': ' + doc if doc else ''}")
                for slot, text in slots.items():
                    lines.append(f"      {{{slot}}} = {' '.join(str(text).split())}")
        if self.parameters:
            lines += ["", "parameters:"]
            for p in self.parameters.values():
                lines.append(f"  {p.name} [{p.unit}]{'  ' + p.doc if p.doc else ''}")
        for pset in self.parameter_sets.values():
            default = " (default)" if pset.name == self.default_parameter_set else ""
            lines += ["", f"parameter set {pset.name}{default}"]
            if pset.description:
                lines.append(f"  {pset.description}")
            if pset.citation:
                lines.append(f"  citation: {pset.citation}")
            if pset.variants:
                lines.append("  variants: " + ", ".join(f"{a}={o}" for a, o in pset.variants.items()))
            for name, value in pset.values.items():
                lines.append(f"  {name} = {value}")
        if self.notes:
            lines += ["", "notes:", self.notes]
        return "\n".join(lines)


_MEMO_LOCK = threading.Lock()
#: How many resolved parameter sets a spec keeps (:meth:`ModelSpec.resolve`; a sweep's points).
_RESOLVED_PER_SPEC = 256
#: Value types of overrides and set values that :func:`_resolve_key` keys on (others: no memo).
_KEY_TYPES = (str, int, float)


def _resolve_key(spec, pset, overrides, variants):
    """The key of :meth:`ModelSpec.resolve`'s memo: everything its result depends on besides
    the (immutable) spec — the set's name and values (as text), the overrides and the
    variants, each with its type (``1`` and ``True`` are equal keys of a dict, not equal
    inputs). ``None`` (no memo) if any value is not text or a number (a quantity given in
    code, an array). A set read from a file is keyed by its content, never by its path: a
    file edited between two runs gives its new values."""
    try:
        if pset is None:
            pkey = None
        elif spec.parameter_sets.get(pset.name) is pset:
            pkey = ("own", pset.name)
        else:
            pkey = ("set", pset.name, _items_key(pset.values), _items_key(pset.variants))
        return (pkey, _items_key(overrides or {}), _items_key(variants or {}))
    except TypeError:
        return None


def _items_key(mapping):
    out = []
    for k, v in mapping.items():
        if type(v) not in _KEY_TYPES or not isinstance(k, str):
            raise TypeError(k)
        out.append((k, type(v).__name__, v))
    return tuple(out)


def _copy_values(namespace):
    """A namespace whose arrays (quantities) are copies: a memo's values are never shared."""
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in namespace.items()}


class _LazyNames(dict):
    """Names for evaluating one parameter text: other parameters, evaluated on demand."""

    def __init__(self, texts, parameters, get):
        super().__init__()
        self._texts, self._params, self._get = texts, parameters, get

    def __contains__(self, key):
        return key in self._texts and key in self._params

    def __getitem__(self, key):
        if key in self:
            return self._get(key)
        raise KeyError(key)

    def keys(self):
        return [k for k in self._texts if k in self._params]

    def __iter__(self):
        return iter(self.keys())

    def items(self):
        return [(k, self[k]) for k in self.keys()]


@dataclass(frozen=True)
class Resolved:
    """A model with its parameter values and code fixed: what the builder builds.

    Attributes
    ----------
    spec : ModelSpec
    parameter_set : str or None
    parameter_set_obj : ParameterSet or None
    overrides : Mapping[str, str]
        Overrides as given (text or quantities).
    variants : Mapping[str, str]
        The option chosen on every variant axis.
    namespace : Mapping[str, Quantity]
        Parameter values (Brian2 quantities; floats where dimensionless).
    code : Mapping[str, str]
        Equations and event code with every slot filled.
    """

    spec: ModelSpec
    parameter_set: str | None
    parameter_set_obj: ParameterSet | None
    overrides: Mapping[str, Any]
    variants: Mapping[str, str]
    namespace: Mapping[str, Any]
    code: Mapping[str, str]

    @property
    def equations(self):
        """The model's equations as a Brian2 ``Equations`` object."""
        from brian2 import Equations

        return Equations(self.code["model"])

    @property
    def initial(self):
        return self.spec.initial

    @property
    def citation(self):
        return self.parameter_set_obj.citation if self.parameter_set_obj else None

    def overrides_text(self):
        """Overrides as text (for result files): ``{name: "16.8 ms"}``."""
        return {k: v if isinstance(v, str) else exact_text(v) for k, v in self.overrides.items()}

    def value(self, name):
        """One parameter value (a quantity)."""
        return self.namespace[name]


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def load_file(path, name=None):
    """Read and validate the model spec at ``path`` (its name is the file stem)."""
    path = Path(path)
    data = read_toml(path)
    return from_dict(data, name or path.stem, path)


def from_dict(data, name, path=None):
    """Validate a spec given as a dict (as read from TOML) and build a :class:`ModelSpec`."""
    file = display_path(path) if path else f"<spec {name}>"
    if not isinstance(data.get("kind"), str):
        raise SpecError(file, "kind", "one of " + ", ".join(sorted(KINDS)),
                        repr(data.get("kind", "nothing")))
    kind = data["kind"]
    if kind not in KINDS:
        raise SpecError(file, "kind", "one of " + ", ".join(sorted(KINDS)), repr(kind),
                        suggest(kind, KINDS))
    schema = KINDS[kind]
    check_table(data, schema.keys, file=file)
    _check_methods(data, file)

    citations = {}
    for key, table in data.get("citations", {}).items():
        citations[key] = _citation(table, file, f"citations.{key}")
    parameters = _parameters(data.get("parameters", {}), file)
    templates = {k: data[k] for k in schema.code_keys if k in data}
    variants = _variants(data.get("variants", {}), templates, file)
    sets = _parameter_sets(data.get("parameter_sets", {}), parameters, variants, citations, file)
    default_set = data.get("default_parameter_set")
    if default_set is None and sets:
        default_set = next(iter(sets))
    if default_set is not None and default_set not in sets:
        raise SpecError(file, "default_parameter_set", "one of " + (", ".join(sets) or "(no sets)"),
                        repr(default_set), suggest(default_set, sets))
    initial = {}
    for var, text in data.get("initial", {}).items():
        if not isinstance(text, (str, int, float)) or isinstance(text, bool):
            raise SpecError(file, f"initial.{var}", "a Brian2 expression (text) or a number",
                            repr(text))
        initial[var] = str(text)
    spec = ModelSpec(name, kind, path, data, parameters, sets, default_set, variants,
                     templates, initial, citations)
    if schema.check is not None:
        schema.check(spec)
    return spec


def integration_methods():
    """The names of Brian2's registered state updaters (``euler``, ``rk4``, ``exact``, ...)."""
    from brian2 import StateUpdateMethod

    return sorted(StateUpdateMethod.stateupdaters)


def check_method(value, *, file, key="method"):
    """Raise :class:`SpecError` unless ``value`` names a Brian2 integration method.

    Brian2 checks the method only when it builds a group, with a long traceback;
    a spec's typo (``method = "eulr"``) is reported here, when the spec loads,
    against Brian2's own registry ``StateUpdateMethod.stateupdaters``.
    """
    methods = integration_methods()
    if value not in methods:
        raise SpecError(file, key, "a Brian2 integration method (" + ", ".join(methods) + ")",
                        repr(value), suggest(str(value), methods))


def _check_methods(data, file):
    """Check ``method`` at the top of a model spec and in its ``groups``/``couplings`` tables."""
    if isinstance(data.get("method"), str):
        check_method(data["method"], file=file)
    for table in ("groups", "couplings"):
        for name, sub in (data.get(table) or {}).items():
            if isinstance(sub, dict) and isinstance(sub.get("method"), str):
                check_method(sub["method"], file=file, key=f"{table}.{name}.method")


def _citation(table, file, key):
    if not isinstance(table, dict):
        raise SpecError(file, key, "a table with authors, year, journal", repr(table))
    check_table(table, _CITATION_KEYS, file=file, prefix=key + ".")
    return Citation(**{k: table.get(k) for k in Citation._FIELDS})


def _parameters(table, file):
    params = {}
    for name, decl in table.items():
        key = f"parameters.{name}"
        if not name.isidentifier():
            raise SpecError(file, key, "an identifier as parameter name", repr(name))
        if isinstance(decl, str):
            decl = {"unit": decl}
        if not isinstance(decl, dict):
            raise SpecError(file, key, "a unit string ('ms') or a table {unit, doc}", repr(decl))
        check_table(decl, _PARAM_KEYS, file=file, prefix=key + ".")
        try:
            dim, _ = parse_unit(decl["unit"])
        except QuantityError as exc:
            raise SpecError(file, key + ".unit", "a unit such as 'ms', 'mV', 'nS' or '1'",
                            f"{decl['unit']!r} ({exc})") from None
        params[name] = Parameter(name, decl["unit"], dim, decl.get("doc", ""))
    return params


def _variants(table, templates, file):
    variants = {}
    used_slots = set()
    for key, template in templates.items():
        if not isinstance(template, str):
            continue
        slots = _slots(template)
        if slots is None:
            raise SpecError(file, key, "code with {slot} placeholders (braces balanced)",
                            "unbalanced braces")
        used_slots |= slots
    for axis_table in table.values():  # options may use slots of other axes
        if isinstance(axis_table, dict):
            for option, slots in axis_table.items():
                if isinstance(slots, dict):
                    for slot, code in slots.items():
                        if slot != "doc":
                            used_slots |= _slots(str(code)) or set()
    provided = {}
    for axis, axis_table in table.items():
        key = f"variants.{axis}"
        if not isinstance(axis_table, dict):
            raise SpecError(file, key, "a table of options", repr(axis_table))
        doc = axis_table.get("doc", "")
        default = axis_table.get("default")
        options = {}
        docs = {}
        for option, slots in axis_table.items():
            if option in ("doc", "default"):
                continue
            okey = f"{key}.{option}"
            if not isinstance(slots, dict):
                raise SpecError(file, okey, "a table slot -> code", repr(slots))
            docs[option] = slots.get("doc", "")
            options[option] = {s: str(c) for s, c in slots.items() if s != "doc"}
        if not options:
            raise SpecError(file, key, "at least one option", "none")
        if default is None:
            default = next(iter(options))
        if default not in options:
            raise SpecError(file, f"{key}.default", "one of " + ", ".join(options), repr(default),
                            suggest(default, options))
        first_name = next(iter(options))
        first = set(options[first_name])
        for option, slots in options.items():
            if set(slots) != first:
                raise SpecError(file, f"{key}.{option}",
                                f"the same slots as option {first_name!r}: " + ", ".join(sorted(first)),
                                "slots " + ", ".join(sorted(slots)))
        for slot in first:
            if slot not in used_slots:
                raise SpecError(file, f"{key}.{first_name}.{slot}",
                                "a slot used as {" + slot + "} in the code",
                                "a slot no code uses", suggest(slot, used_slots))
            if slot in provided:
                raise SpecError(file, f"{key}.{first_name}.{slot}",
                                "each slot filled by one axis only",
                                f"slot {slot!r} also filled by axis {provided[slot]!r}")
            provided[slot] = axis
        variants[axis] = Variant(axis, default, MappingProxyType(options), MappingProxyType(docs), doc)
    missing = used_slots - set(provided)
    if missing:
        slot = sorted(missing)[0]
        raise SpecError(file, "variants", "an option filling every {slot} in the code",
                        f"nothing fills {{{slot}}}")
    return variants


def _parameter_sets(table, parameters, variants, citations, file):
    raw = {}
    for name, st in table.items():
        key = f"parameter_sets.{name}"
        if not isinstance(st, dict):
            raise SpecError(file, key, "a table with citation, values, ...", repr(st))
        check_table(st, _SET_KEYS, file=file, prefix=key + ".")
        raw[name] = st

    resolved = {}

    def build(name, chain=()):
        if name in resolved:
            return resolved[name]
        if name in chain:
            raise SpecError(file, f"parameter_sets.{name}.inherits", "no inheritance cycle",
                            " -> ".join(chain + (name,)))
        st = raw[name]
        key = f"parameter_sets.{name}"
        parent = st.get("inherits")
        values, set_variants, citation, description = {}, {}, None, ""
        if parent is not None:
            if parent not in raw:
                raise SpecError(file, f"{key}.inherits", "one of " + ", ".join(raw), repr(parent),
                                suggest(parent, raw))
            base = build(parent, chain + (name,))
            values.update(base.values)
            set_variants.update(base.variants)
            citation = base.citation
        for pname, text in st.get("values", {}).items():
            vkey = f"{key}.values.{pname}"
            if pname not in parameters:
                raise SpecError(file, vkey, "a parameter declared in [parameters]", repr(pname),
                                suggest(pname, parameters) or "declare it in [parameters] with its unit")
            if isinstance(text, bool) or not isinstance(text, (str, int, float)):
                raise SpecError(file, vkey, "a value with unit, as text ('10 ms')", repr(text))
            values[pname] = text if isinstance(text, str) else repr(text)
        for axis, option in st.get("variants", {}).items():
            vkey = f"{key}.variants.{axis}"
            if axis not in variants:
                raise SpecError(file, vkey, "a variant axis (" + (", ".join(variants) or "none") + ")",
                                repr(axis), suggest(axis, variants))
            if option not in variants[axis].options:
                raise SpecError(file, vkey, "one of " + ", ".join(variants[axis].options),
                                repr(option), suggest(option, variants[axis].options))
            set_variants[axis] = option
        if "citation" in st:
            cit = st["citation"]
            if isinstance(cit, str):
                if cit not in citations:
                    raise SpecError(file, f"{key}.citation", "a key of [citations] (" +
                                    (", ".join(citations) or "none") + ")", repr(cit),
                                    suggest(cit, citations))
                citation = citations[cit]
            else:
                citation = _citation(cit, file, f"{key}.citation")
        description = st.get("description", "")
        pset = ParameterSet(name, MappingProxyType(values), citation, description,
                            MappingProxyType(set_variants), parent)
        resolved[name] = pset
        return pset

    for name in raw:
        build(name)
    # check the values' units now, so that a wrong unit is found at load time
    for name, pset in resolved.items():
        _check_set_units(pset, parameters, file)
    return resolved


def _check_set_units(pset, parameters, file):
    values = {}
    pending = dict(pset.values)

    def get(n):
        if n not in values:
            param = parameters[n]
            values[n] = parse_quantity(pending[n], param.dim, file=file,
                                       key=f"parameter_sets.{pset.name}.values.{n}",
                                       names=_LazyNames(pending, parameters, get), unit=param.unit)
        return values[n]

    for n in pending:
        get(n)


def read_parameter_set(path, spec):
    """Read a parameter set from its own TOML file (as written by ``biodyn fit``).

    The file holds ``values = {...}`` and optionally ``citation``, ``description``,
    ``variants`` and ``inherits`` (a set of ``spec``).
    """
    path = Path(path)
    file = display_path(path)
    data = read_toml(path)
    allowed = dict(_SET_KEYS)
    allowed["model"] = Key((str,), False, "the model these values are for")
    allowed["fit"] = Key((dict,), False, "how the values were fitted")
    check_table(data, allowed, file=file)
    if "model" in data and data["model"] != spec.name:
        raise SpecError(file, "model", f"{spec.name!r}", repr(data["model"]))
    values = {}
    if "inherits" in data:
        values.update(spec.get_parameter_set(data["inherits"]).values)
    for pname, text in data.get("values", {}).items():
        if pname not in spec.parameters:
            raise SpecError(file, f"values.{pname}", f"a parameter of {spec.name}", repr(pname),
                            suggest(pname, spec.parameters))
        values[pname] = text if isinstance(text, str) else repr(text)
    citation = None
    if isinstance(data.get("citation"), dict):
        citation = _citation(data["citation"], file, "citation")
    elif isinstance(data.get("citation"), str) and data["citation"] in spec.citations:
        citation = spec.citations[data["citation"]]
    pset = ParameterSet(str(file), MappingProxyType(values), citation, data.get("description", ""),
                        MappingProxyType(dict(data.get("variants", {}))), data.get("inherits"))
    _check_set_units(pset, spec.parameters, file)
    spec.variant_choice(None, pset.variants, key=f"{file}: variants")
    return pset


# --------------------------------------------------------------------------
# Brian2 checks: equations parse, units agree (no Brian2 objects are created)
# --------------------------------------------------------------------------


def _brian_variables(spec, resolved, equations, extra=()):
    """A table of Brian2 ``Variable`` objects for checking units of ``spec``'s code."""
    from brian2.core.functions import DEFAULT_FUNCTIONS
    from brian2.core.variables import Constant, Variable
    from brian2.units.allunits import second
    from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions

    variables = {}
    for name in equations.names:
        variables[name] = Variable(name, dimensions=equations.dimensions[name])
    for name in equations.stochastic_variables:
        variables[name] = Variable(name, dimensions=(second ** -0.5).dim)
    for name, value in resolved.namespace.items():
        variables[name] = Constant(name, value=float(value) if get_dimensions(value) is DIMENSIONLESS
                                   else value, dimensions=get_dimensions(value))
    for name, dim in (("t", second.dim), ("dt", second.dim), ("lastspike", second.dim),
                      ("t_in_timesteps", DIMENSIONLESS), ("i", DIMENSIONLESS),
                      ("N", DIMENSIONLESS)):
        variables.setdefault(name, Variable(name, dimensions=dim))
    variables.setdefault("not_refractory", Variable("not_refractory", dtype=bool))
    for name, dim in extra:
        variables[name] = Variable(name, dimensions=dim)
    variables.update({k: v for k, v in DEFAULT_FUNCTIONS.items() if k not in variables})
    return variables


def _add_units(variables, text):
    from brian2.core.variables import Constant
    from brian2.units.fundamentalunits import get_dimensions
    from brian2.utils.stringtools import get_identifiers

    units = units_namespace()
    for ident in get_identifiers(text):
        if ident not in variables and ident in units:
            value = units[ident]
            variables[ident] = Constant(ident, value=value, dimensions=get_dimensions(value))
    return variables


def _unknown_identifiers(variables, text):
    from brian2.utils.stringtools import get_identifiers

    return sorted(i for i in get_identifiers(text) if i not in variables
                  and i not in ("True", "False", "and", "or", "not"))


def check_brian_code(spec, extra_variables=(), event_keys=(), expression_keys=(),
                     requires_key=None, extra_for=None):
    """Check that every variant of ``spec`` parses and has consistent units.

    Parameters
    ----------
    extra_variables : iterable of (name, Dimension)
        Variables available to the code besides the model's own (``v_post``, ...).
    event_keys : tuple
        Keys holding statements (``reset``, ``on_pre``): units of assignments checked.
    expression_keys : tuple
        Keys holding expressions (``threshold``, ``refractory``).
    """
    from brian2 import Equations
    from brian2.equations.unitcheck import check_dimensions, check_units_statements
    from brian2.parsing.expressions import parse_expression_dimensions
    from brian2.units.allunits import second
    from brian2.units.fundamentalunits import DimensionMismatchError

    if spec.default_parameter_set is None and spec.parameters:
        raise SpecError(spec.file, "parameter_sets", "at least one parameter set", "none")
    for choice in _checked_combinations(spec):
        label = "" if not spec.variants else " (variants " + ", ".join(
            f"{a}={o}" for a, o in choice.items()) + ")"
        resolved = spec.resolve(None, None, choice)
        code = resolved.code
        try:
            equations = Equations(code["model"])
        except Exception as exc:
            raise SpecError(spec.file, "model" + label, "Brian2 equations",
                            _first_line(exc)) from None
        extra = list(extra_variables)
        if extra_for is not None:
            extra += list(extra_for(equations))
        variables = _brian_variables(spec, resolved, equations, extra)
        for eq in equations.values():
            if eq.expr is None:
                continue
            text = str(eq.expr)
            _add_units(variables, text)
            unknown = _unknown_identifiers(variables, text)
            if unknown:
                raise SpecError(spec.file, f"model{label}", "identifiers that are variables, "
                                "parameters, units or functions",
                                f"unknown {unknown[0]!r} in the equation of {eq.varname!r}",
                                _requires_hint(unknown[0], requires_key) or suggest(unknown[0], variables))
            expected = equations.dimensions[eq.varname]
            if eq.type == "differential equation":
                expected = expected / second.dim
            try:
                check_dimensions(text, expected, variables)
            except DimensionMismatchError as exc:
                raise SpecError(spec.file, f"model{label}", "consistent units",
                                f"in the equation of {eq.varname!r}: {_first_line(exc)}") from None
        for key in expression_keys:
            text = code.get(key)
            if not text:
                continue
            _add_units(variables, text)
            unknown = _unknown_identifiers(variables, text)
            if unknown:
                raise SpecError(spec.file, key + label, "identifiers that are variables, "
                                "parameters, units or functions", f"unknown {unknown[0]!r}",
                                _requires_hint(unknown[0], requires_key) or suggest(unknown[0], variables))
            try:
                parse_expression_dimensions(text, variables)
            except DimensionMismatchError as exc:
                raise SpecError(spec.file, key + label, "an expression with consistent units",
                                _first_line(exc)) from None
            except Exception as exc:
                raise SpecError(spec.file, key + label, "a Brian2 expression",
                                _first_line(exc)) from None
        for key in event_keys:
            text = code.get(key)
            if not text:
                continue
            _add_units(variables, text)
            from brian2.codegen.translation import analyse_identifiers

            try:
                _, _, unknown = analyse_identifiers(text, variables)
            except Exception as exc:
                raise SpecError(spec.file, key + label, "Brian2 statements",
                                _first_line(exc)) from None
            unknown = sorted(u for u in unknown if u not in ("True", "False"))
            if unknown:
                raise SpecError(spec.file, key + label, "identifiers that are variables, "
                                "parameters, units or functions", f"unknown {unknown[0]!r}",
                                _requires_hint(unknown[0], requires_key) or suggest(unknown[0], variables))
            try:
                check_units_statements(text, variables)
            except DimensionMismatchError as exc:
                raise SpecError(spec.file, key + label, "statements with consistent units",
                                _first_line(exc)) from None
            except Exception as exc:
                raise SpecError(spec.file, key + label, "Brian2 statements",
                                _first_line(exc)) from None
        for var, text in spec.initial.items():
            if var not in equations.names:
                raise SpecError(spec.file, f"initial.{var}", "a variable of the model (" +
                                ", ".join(equations.names) + ")", repr(var),
                                suggest(var, equations.names))
            _add_units(variables, text)
            unknown = _unknown_identifiers(variables, text)
            if unknown:
                raise SpecError(spec.file, f"initial.{var}", "an expression of parameters and units",
                                f"unknown {unknown[0]!r}", suggest(unknown[0], variables))
            try:
                check_dimensions(text, equations.dimensions[var], variables)
            except DimensionMismatchError as exc:
                raise SpecError(spec.file, f"initial.{var}", "the unit of the variable",
                                _first_line(exc)) from None


def _requires_hint(name, requires_key):
    if requires_key and (name.endswith("_pre") or name.endswith("_post")):
        side = "pre" if name.endswith("_pre") else "post"
        base = name.rsplit("_", 1)[0]
        return f"declare it in [{requires_key}.{side}] as {base} = \"<unit>\""
    return None


def _checked_combinations(spec, limit=64):
    combos = list(itertools.islice(spec.variant_combinations(), limit))
    return combos or [{}]


def _first_line(exc):
    text = str(exc).strip() or type(exc).__name__
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " ".join(lines[:3])[:400]


# --------------------------------------------------------------------------
# The built-in kinds
# --------------------------------------------------------------------------


def _check_neuron(spec):
    check_brian_code(spec, event_keys=("reset",), expression_keys=("threshold", "refractory"))
    max_dt(spec)


def max_dt(spec):
    """The spec's accuracy step ``max_dt`` (a Brian2 time), or None if it declares none.

    The largest time step at which the spec's integration ``method`` gives spike counts
    within one per second and first-spike times within 0.5 ms of a converged run
    (dt -> 0) on the inputs of the protocols that use the model; each spec says in its
    notes how it was measured.
    """
    text = spec.data.get("max_dt")
    if text is None:
        return None
    from brian2.units.allunits import second

    value = parse_quantity(text, second.dim, file=spec.file, key="max_dt", unit="ms")
    if not float(value) > 0:
        raise SpecError(spec.file, "max_dt", "a positive time step", repr(text))
    return value


def _partner_variables(spec):
    from brian2.units.fundamentalunits import DIMENSIONLESS

    from brian2.units.allunits import second

    extra = [("lastupdate", second.dim), ("delay", second.dim), ("N_incoming", DIMENSIONLESS),
             ("N_outgoing", DIMENSIONLESS), ("j", DIMENSIONLESS), ("N_pre", DIMENSIONLESS),
             ("N_post", DIMENSIONLESS)]
    requires = spec.data.get("requires", {})
    for side in ("pre", "post"):
        table = requires.get(side, {})
        if not isinstance(table, dict):
            raise SpecError(spec.file, f"requires.{side}", "a table variable -> unit", repr(table))
        for var, unit in table.items():
            try:
                dim, _ = parse_unit(unit)
            except QuantityError as exc:
                raise SpecError(spec.file, f"requires.{side}.{var}", "a unit", f"{unit!r} ({exc})") from None
            extra.append((f"{var}_{side}", dim))
    for side in ("pre", "post"):  # lastspike of partners, and i/j as _pre/_post
        extra.append((f"lastspike_{side}", second.dim))
        extra.append((f"i_{side}", DIMENSIONLESS))
    return extra


#: Values of a synapse spec's ``pathway_order`` (after its variant slots are filled).
PATHWAY_ORDERS = ("pre_first", "post_first")


def _check_pathway_order(spec):
    """``pathway_order`` is pre_first or post_first under every variant combination."""
    if "pathway_order" not in spec.templates:
        return
    for choice in spec.variant_combinations():
        found = spec.code(choice)["pathway_order"].strip()
        if found not in PATHWAY_ORDERS:
            where = ", ".join(f"{a}={o}" for a, o in choice.items())
            raise SpecError(spec.file, "pathway_order", " or ".join(PATHWAY_ORDERS),
                            repr(found) + (f" (with {where})" if where else ""),
                            suggest(found, PATHWAY_ORDERS))


def _check_synapse(spec):
    requires = spec.data.get("requires", {})
    if not isinstance(requires, dict):
        raise SpecError(spec.file, "requires", "a table with pre and/or post", repr(requires))
    for side in requires:
        if side not in ("pre", "post"):
            raise SpecError(spec.file, f"requires.{side}", "pre or post", repr(side),
                            suggest(side, ("pre", "post")))
    for name in spec.parameters:
        if name.endswith(("_pre", "_post")):
            raise SpecError(spec.file, f"parameters.{name}", "a name without the suffix _pre or _post",
                            repr(name), "Brian2 reads NAME_pre/NAME_post in synapse code as the "
                            "partner's variable NAME (which may silently exist); rename the parameter")
    _check_pathway_order(spec)
    weight = spec.data.get("weight", "w")
    check_brian_code(spec, extra_variables=_partner_variables(spec),
                     event_keys=("on_pre", "on_post", "on_modulator"), requires_key="requires")
    from brian2 import Equations

    eqs = Equations(spec.code()["model"])
    if weight not in eqs.names:
        raise SpecError(spec.file, "weight", "the name of a variable of the model (" +
                        ", ".join(eqs.names) + ")", repr(weight), suggest(weight, eqs.names))


register_kind(
    "neuron",
    {
        "model": Key((str,), True, "Brian2 equations"),
        "threshold": Key((str,), False, "spike condition"),
        "reset": Key((str,), False, "reset statements"),
        "refractory": Key((str,), False, "refractory period or condition"),
        "method": Key((str,), False, "Brian2 integration method"),
        "max_dt": Key((str,), False, "largest time step at which the model's method is accurate "
                      "(a time, e.g. '0.025 ms'); biodyn.neurons warns above it"),
    },
    code_keys=("model", "threshold", "reset", "refractory"),
    check=_check_neuron,
    doc="a single-neuron model: one NeuronGroup",
)

register_kind(
    "synapse",
    {
        "model": Key((str,), True, "Brian2 synaptic equations"),
        "on_pre": Key((str,), False, "statements run on a presynaptic spike"),
        "on_post": Key((str,), False, "statements run on a postsynaptic spike"),
        "method": Key((str,), False, "Brian2 integration method"),
        "requires": Key((dict,), False, "variables read from partners: pre/post -> {var: unit}"),
        "weight": Key((str,), False, "the weight variable (default 'w')"),
        "bounds": Key((dict,), False, "documented bounds of the weight: {low, high} parameter names"),
        "on_modulator": Key((str,), False, "statements run on a neuromodulator event, delivered "
                            "by biodyn.build.modulator (variables of the synapse written plainly)"),
        "pathway_order": Key((str,), False, "which event code runs first when pre and post spikes "
                             "share a time step: pre_first (Brian2's order, the default) or post_first"),
    },
    code_keys=("model", "on_pre", "on_post", "on_modulator", "pathway_order"),
    check=_check_synapse,
    doc="a synapse model (transmission and/or plasticity): one Synapses",
)


# --------------------------------------------------------------------------
# Kinds read by biodyn.dynamics: system, map, population
# --------------------------------------------------------------------------
#
# system      Brian2 differential equations of abstract state variables, with the time
#             unit declared (``time_unit = "tau"``): ``dx/dt = sigma*(y - x)/tau : 1``.
# map         a map x -> F(x): for every state variable ``x : unit`` the model defines
#             ``x_next = F(...) : unit``; one iteration per time step.
# population  N units (``size``) of a Brian2 model (``model``, or several ``[groups]``,
#             each inline or a catalog neuron), coupled by ``[couplings]`` (Brian2
#             Synapses code with a declared connectivity and random weights with their
#             seed), driven by ``[inputs]``, optionally spiking, optionally with a
#             ``[mean_field]`` reduction. ``system`` and ``map`` accept ``size`` and
#             ``[couplings]`` too (Lorenz-96 is N coupled copies of one equation).
# The full schema is documented in biodyn/dynamics/_spec.py (the reader).

_NEXT_SUFFIX = "_next"

_RANGES_DOC = "plot/search range per variable: var -> [lo, hi] (with units)"

_COUPLING_KEYS = {
    "doc": Key((str,), False, "what the coupling is"),
    "source": Key((str,), False, "the presynaptic group (default: the only group)"),
    "target": Key((str, list), False, "the postsynaptic group(s) (default: the only group)"),
    "model": Key((str,), False, "Brian2 Synapses equations; '(summed)' lines feed the target"),
    "on_pre": Key((str,), False, "statements run on a presynaptic spike"),
    "on_post": Key((str,), False, "statements run on a postsynaptic spike"),
    "connect": Key((str, dict), True, "a Brian2 condition on i, j, or {j | p | in_degree | condition}"),
    "weights": Key((dict,), False, "synaptic variable -> expression or {distribution, ...}"),
    "delay": Key((str,), False, "transmission delay (spiking couplings)"),
    "seed": Key((str, int), False, "seed of the random connectivity/weights (a parameter name or number)"),
    "autapses": Key((bool,), False, "allow i -> i connections within a group (default true)"),
}
_GROUP_KEYS = {
    "doc": Key((str,), False, "what the group is"),
    "size": Key((str, int), True, "number of units: an expression of parameters"),
    "model": Key((str,), False, "Brian2 equations of one unit (or use 'neuron')"),
    "neuron": Key((str,), False, "a neuron model of the catalog (instead of 'model')"),
    "params": Key((str,), False, "the neuron model's parameter set"),
    "values": Key((dict,), False, "neuron parameter -> expression of this spec's parameters"),
    "threshold": Key((str,), False, "spike condition"),
    "reset": Key((str,), False, "reset statements"),
    "refractory": Key((str,), False, "refractory period or condition"),
    "method": Key((str,), False, "Brian2 integration method"),
    "initial": Key((dict,), False, "initial values of this group: variable -> expression"),
}
_INPUT_KEYS = {
    "doc": Key((str,), False, "what the input is"),
    "kind": Key((str,), True, "'poisson': count independent Poisson trains of a rate per unit"),
    "target": Key((str, list), False, "group(s) driven (default: all groups)"),
    "variable": Key((str,), True, "the variable each input spike changes"),
    "count": Key((str, int), True, "number of independent trains per unit"),
    "rate": Key((str,), True, "rate of each train"),
    "weight": Key((str,), True, "the jump of 'variable' per input spike"),
    "when_refractory": Key((str,), False, "'ignore' (default: spikes during refractoriness are "
                           "lost) or 'add'"),
}
_MEAN_FIELD_KEYS = {
    "description": Key((str,), True, "what the reduction is, with its origin"),
    "model": Key((str,), True, "Brian2 equations of the reduced (population-rate) dynamics"),
    "initial": Key((dict,), False, "initial values: variable -> expression"),
    "ranges": Key((dict,), False, _RANGES_DOC),
    "notes": Key((str,), False, "assumptions and limits of the reduction"),
}


class _SpecView:
    """A spec seen with other code and initial values, to run :func:`check_brian_code`
    on a group or another block of code of the same spec."""

    def __init__(self, spec, code, initial):
        self._spec = spec
        self._code = dict(code)
        self.initial = MappingProxyType(dict(initial))

    def __getattr__(self, name):
        return getattr(self._spec, name)

    def resolve(self, parameter_set=None, overrides=None, variants=None):
        import dataclasses

        resolved = self._spec.resolve(parameter_set, overrides, variants)
        return dataclasses.replace(resolved, code=MappingProxyType(dict(self._code)))


def _rekey(exc, prefix):
    return SpecError(exc.file, f"{prefix}.{exc.key}", exc.expected, exc.found, exc.hint)


def map_state_variables(equations):
    """The state of a map: every parameter ``x`` for which ``x_next`` is a subexpression.

    Returns a list of names in the order of the ``x_next`` lines.
    """
    from brian2.equations.equations import PARAMETER, SUBEXPRESSION

    out = []
    for name, eq in equations.items():
        if eq.type == SUBEXPRESSION and name.endswith(_NEXT_SUFFIX) and len(name) > len(_NEXT_SUFFIX):
            base = name[: -len(_NEXT_SUFFIX)]
            if base in equations and equations[base].type == PARAMETER:
                out.append(base)
    return out


def _differential_names(equations):
    from brian2.equations.equations import DIFFERENTIAL_EQUATION

    return [n for n, eq in equations.items() if eq.type == DIFFERENTIAL_EQUATION]


def _check_map_pairs(spec, equations, key):
    """Every ``x_next`` needs a parameter ``x`` of the same unit."""
    from brian2.equations.equations import SUBEXPRESSION

    for name, eq in equations.items():
        if eq.type == SUBEXPRESSION and name.endswith(_NEXT_SUFFIX):
            base = name[: -len(_NEXT_SUFFIX)]
            if base not in equations:
                raise SpecError(spec.file, key, f"a state variable {base!r} declared as "
                                f"'{base} : <unit>' for the map line {name!r}", "none",
                                f"add the line '{base} : {_unit_text_of(equations.dimensions[name])}'")
            if equations.dimensions[base] != equations.dimensions[name]:
                raise SpecError(spec.file, key, f"{base!r} and {name!r} in the same unit",
                                f"{dimension_name(equations.dimensions[base])} and "
                                f"{dimension_name(equations.dimensions[name])}")


def _unit_text_of(dim):
    from brian2.units.fundamentalunits import DIMENSIONLESS, get_unit

    return "1" if dim is DIMENSIONLESS else str(get_unit(dim))


def _evaluate_each_set(spec, text, key, dim=None, integer=False):
    """Evaluate ``text`` (an expression of parameters) in every parameter set."""
    from brian2.units.allunits import second  # noqa: F401  (units namespace is loaded)
    import numpy as np

    sets = list(spec.parameter_sets) or [None]
    for set_name in sets:
        resolved = spec.resolve(set_name)
        value = parse_quantity(str(text), dim, file=spec.file, key=key,
                               names=dict(resolved.namespace))
        if integer:
            v = float(np.asarray(value))
            if v < 1 or abs(v - round(v)) > 1e-9:
                raise SpecError(spec.file, key, "a positive whole number", f"{text!r} = {v:g}"
                                + (f" in parameter set {set_name!r}" if set_name else ""))


def _check_time_unit(spec, required):
    from brian2.units.allunits import second

    text = spec.data.get("time_unit")
    if text is None:
        if required:
            raise SpecError(spec.file, "time_unit", "the time unit of the model's time: a parameter "
                            "name or a quantity ('tau', '1 ms')", "nothing")
        return
    _evaluate_each_set(spec, text, "time_unit", second.dim)


def _check_ranges(spec, table, key="ranges"):
    for var, bounds in table.items():
        if (not isinstance(bounds, list) or len(bounds) != 2
                or not all(isinstance(b, (str, int, float)) and not isinstance(b, bool) for b in bounds)):
            raise SpecError(spec.file, f"{key}.{var}", "[lo, hi] (numbers or quantities as text)",
                            repr(bounds))


def _parse_equations(spec, text, key):
    from brian2 import Equations

    try:
        return Equations(text)
    except Exception as exc:
        raise SpecError(spec.file, key, "Brian2 equations", _first_line(exc)) from None


def _group_names(spec):
    groups = spec.data.get("groups")
    return list(groups) if groups else ["units"]


def _check_couplings(spec):
    groups = _group_names(spec)
    for name, table in spec.data.get("couplings", {}).items():
        key = f"couplings.{name}"
        if not isinstance(table, dict):
            raise SpecError(spec.file, key, "a table {model, connect, weights, ...}", repr(table))
        check_table(table, _COUPLING_KEYS, file=spec.file, prefix=key + ".")
        for side in ("source", "target"):
            value = table.get(side, groups[0] if len(groups) == 1 else None)
            if value is None:
                raise SpecError(spec.file, f"{key}.{side}", "a group name (" + ", ".join(groups) + ")",
                                "nothing (the population has several groups)")
            for g in (value if isinstance(value, list) else [value]):
                if g not in groups:
                    raise SpecError(spec.file, f"{key}.{side}", "one of the groups " + ", ".join(groups),
                                    repr(g), suggest(g, groups))
        if "model" in table:
            eqs = _parse_equations(spec, table["model"], f"{key}.model")
            for var, eq in eqs.items():
                if "summed" in eq.flags and not var.endswith("_post"):
                    raise SpecError(spec.file, f"{key}.model", "a (summed) variable named X_post",
                                    repr(var))
        connect = table["connect"]
        if isinstance(connect, dict):
            allowed = {"j": Key((str,), False, "target index as an expression of i"),
                       "p": Key((str, float), False, "connection probability"),
                       "condition": Key((str,), False, "a Brian2 condition on i and j"),
                       "in_degree": Key((str, int), False, "fixed number of inputs per target unit")}
            check_table(connect, allowed, file=spec.file, prefix=f"{key}.connect.")
            if "j" in connect and ("p" in connect or "in_degree" in connect):
                raise SpecError(spec.file, f"{key}.connect", "j, or p/in_degree (not both)", repr(connect))
        for var, w in table.get("weights", {}).items():
            if isinstance(w, dict):
                allowed = {"distribution": Key((str,), True, "normal, uniform or lognormal"),
                           "mean": Key((str, int, float), False, "mean (normal, lognormal of the log)"),
                           "std": Key((str, int, float), False, "standard deviation"),
                           "low": Key((str, int, float), False, "lower bound (uniform)"),
                           "high": Key((str, int, float), False, "upper bound (uniform)")}
                check_table(w, allowed, file=spec.file, prefix=f"{key}.weights.{var}.")
                if w["distribution"] not in ("normal", "uniform", "lognormal"):
                    raise SpecError(spec.file, f"{key}.weights.{var}.distribution",
                                    "normal, uniform or lognormal", repr(w["distribution"]))
            elif not isinstance(w, (str, int, float)) or isinstance(w, bool):
                raise SpecError(spec.file, f"{key}.weights.{var}", "an expression or a "
                                "{distribution, ...} table", repr(w))


def _check_units_and_maps(spec, equations, key, map_allowed=True, ode_allowed=True):
    odes = _differential_names(equations)
    maps = map_state_variables(equations)
    _check_map_pairs(spec, equations, key)
    if odes and maps:
        raise SpecError(spec.file, key, "differential equations or map lines (x_next = ...), not both",
                        f"both ({odes[0]!r} and {maps[0]}_next)")
    if not odes and not maps:
        what = ("differential equations (dx/dt = ...)" if not map_allowed else
                "map lines (x_next = ... with x : unit)" if not ode_allowed else
                "differential equations or map lines (x_next = ...)")
        raise SpecError(spec.file, key, f"at least one state variable: {what}", "none")
    if maps and not map_allowed:
        raise SpecError(spec.file, key, "differential equations (a 'system'); use kind = 'map' "
                        "for x_next = ... lines", f"map line {maps[0]}_next")
    if odes and not ode_allowed:
        raise SpecError(spec.file, key, "map lines only (x_next = ...)", f"differential equation of {odes[0]!r}")
    return odes, maps


def _check_system(spec):
    check_brian_code(spec)
    eqs = _parse_equations(spec, spec.code()["model"], "model")
    _check_units_and_maps(spec, eqs, "model", map_allowed=False)
    _check_time_unit(spec, required=True)
    _check_size_and_couplings(spec)
    _check_ranges(spec, spec.data.get("ranges", {}))


def _check_map(spec):
    for choice in _checked_combinations(spec):
        eqs = _parse_equations(spec, spec.code(choice)["model"], "model")
        _check_units_and_maps(spec, eqs, "model", ode_allowed=False)
    check_brian_code(spec)
    _check_size_and_couplings(spec)
    _check_ranges(spec, spec.data.get("ranges", {}))


def _check_size_and_couplings(spec):
    if "size" in spec.data:
        _evaluate_each_set(spec, spec.data["size"], "size", integer=True)
    _check_couplings(spec)


def _check_population(spec):
    data = spec.data
    has_model, groups = "model" in data, data.get("groups")
    if has_model == bool(groups):
        raise SpecError(spec.file, "model", "either 'model' (one group of 'size' units) or "
                        "[groups.NAME] tables", "both" if has_model else "neither")
    any_ode = False
    if has_model:
        check_brian_code(spec, event_keys=("reset",), expression_keys=("threshold", "refractory"))
        for choice in _checked_combinations(spec):
            eqs = _parse_equations(spec, spec.code(choice)["model"], "model")
            odes, _ = _check_units_and_maps(spec, eqs, "model")
            any_ode = any_ode or bool(odes)
        if "size" in data:
            _evaluate_each_set(spec, data["size"], "size", integer=True)
    else:
        for gname, table in groups.items():
            key = f"groups.{gname}"
            if not isinstance(table, dict):
                raise SpecError(spec.file, key, "a table {size, model | neuron, ...}", repr(table))
            check_table(table, _GROUP_KEYS, file=spec.file, prefix=key + ".")
            if ("model" in table) == ("neuron" in table):
                raise SpecError(spec.file, key, "either 'model' (inline equations) or 'neuron' "
                                "(a catalog model)", "both" if "model" in table else "neither")
            _evaluate_each_set(spec, table["size"], f"{key}.size", integer=True)
            for var, value in table.get("values", {}).items():
                if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                    raise SpecError(spec.file, f"{key}.values.{var}", "an expression of this spec's "
                                    "parameters", repr(value))
            if "model" in table:
                code = {k: table[k] for k in ("model", "threshold", "reset", "refractory") if k in table}
                initial = {k: str(v) for k, v in table.get("initial", {}).items()}
                try:
                    check_brian_code(_SpecView(spec, code, initial), event_keys=("reset",),
                                     expression_keys=("threshold", "refractory"))
                except SpecError as exc:
                    raise _rekey(exc, key) from None
                odes, _ = _check_units_and_maps(spec, _parse_equations(spec, table["model"], f"{key}.model"),
                                                f"{key}.model")
                any_ode = any_ode or bool(odes)
            else:
                any_ode = True  # a catalog neuron: checked when it is loaded
    if any_ode or "time_unit" in data:
        _check_time_unit(spec, required=any_ode)
    _check_couplings(spec)
    for name, table in data.get("inputs", {}).items():
        key = f"inputs.{name}"
        if not isinstance(table, dict):
            raise SpecError(spec.file, key, "a table {kind, variable, count, rate, weight}", repr(table))
        check_table(table, _INPUT_KEYS, file=spec.file, prefix=key + ".")
        if table["kind"] != "poisson":
            raise SpecError(spec.file, f"{key}.kind", "'poisson'", repr(table["kind"]))
        from brian2.units.allunits import hertz

        _evaluate_each_set(spec, table["rate"], f"{key}.rate", hertz.dim)
        _evaluate_each_set(spec, table["count"], f"{key}.count", integer=True)
        if table.get("when_refractory", "ignore") not in ("ignore", "add"):
            raise SpecError(spec.file, f"{key}.when_refractory", "'ignore' or 'add'",
                            repr(table["when_refractory"]))
        for g in (lambda t: t if isinstance(t, list) else [t])(table.get("target", _group_names(spec))):
            if g not in _group_names(spec):
                raise SpecError(spec.file, f"{key}.target", "one of the groups " +
                                ", ".join(_group_names(spec)), repr(g), suggest(g, _group_names(spec)))
    if "mean_field" in data:
        mf = data["mean_field"]
        if not isinstance(mf, dict):
            raise SpecError(spec.file, "mean_field", "a table {description, model, initial}", repr(mf))
        check_table(mf, _MEAN_FIELD_KEYS, file=spec.file, prefix="mean_field.")
        eqs = _parse_equations(spec, mf["model"], "mean_field.model")
        _check_units_and_maps(spec, eqs, "mean_field.model", map_allowed=False)
        _check_ranges(spec, mf.get("ranges", {}), "mean_field.ranges")
        _check_time_unit(spec, required=True)
    _check_ranges(spec, data.get("ranges", {}))


_DYNAMICS_COMMON = {
    "size": Key((str, int), False, "number of units: an expression of parameters (default 1)"),
    "couplings": Key((dict,), False, "coupling between units: NAME -> {model, connect, weights, ...}"),
    "ranges": Key((dict,), False, _RANGES_DOC),
    "method": Key((str,), False, "Brian2 integration method (default rk4 for systems, euler else)"),
}

register_kind(
    "system",
    dict(_DYNAMICS_COMMON, **{
        "model": Key((str,), True, "Brian2 differential equations of the state"),
        "time_unit": Key((str,), True, "the unit of the model's time: a parameter or a quantity"),
    }),
    code_keys=("model",),
    check=_check_system,
    doc="an abstract dynamical system dx/dt = f(x) (optionally N coupled units)",
)

register_kind(
    "map",
    dict(_DYNAMICS_COMMON, **{
        "model": Key((str,), True, "Brian2 equations: 'x : unit' and 'x_next = F : unit' per state variable"),
    }),
    code_keys=("model",),
    check=_check_map,
    doc="a map x -> F(x), one iteration per time step",
)

register_kind(
    "population",
    dict(_DYNAMICS_COMMON, **{
        "model": Key((str,), False, "Brian2 equations of one unit (or [groups])"),
        "time_unit": Key((str,), False, "the unit of the model's time (needed for differential equations)"),
        "threshold": Key((str,), False, "spike condition"),
        "reset": Key((str,), False, "reset statements"),
        "refractory": Key((str,), False, "refractory period or condition"),
        "groups": Key((dict,), False, "groups of units: NAME -> {size, model | neuron, ...}"),
        "inputs": Key((dict,), False, "external drives: NAME -> {kind = 'poisson', ...}"),
        "mean_field": Key((dict,), False, "a reduction to population rates {description, model}"),
    }),
    code_keys=("model", "threshold", "reset", "refractory"),
    check=_check_population,
    doc="a population: N coupled units (rate or spiking), groups, inputs, a mean field",
)
