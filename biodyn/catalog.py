"""The catalog: where specs are found.

Specs are TOML files; a spec's name is its file name without ``.toml``. They are
looked for, in this order (the first file of a name wins, as on ``PATH``):

1. the folders listed in the ``BIODYN_PATH`` environment variable (separated
   by ``os.pathsep``), searched recursively;
2. folders provided by installed packages through the entry-point group
   ``biodyn.catalog``; an entry point may name a folder (a string or
   ``pathlib.Path``), a module or package (its folder is used), or a callable
   returning one folder or a list of them::

       [project.entry-points."biodyn.catalog"]
       mymodels = "mypackage:catalog_folder"

3. biodyn's built-in ``models/``, ``protocols/`` and ``tasks/`` folders and its example
   sweeps (``examples/sweeps/``; ``biodyn list sweeps``, ``biodyn sweep NAME``).

A folder may hold models and protocols side by side: the ``kind`` key tells them
apart. Anywhere a name is accepted, a path to a ``.toml`` file is accepted too.

A file that cannot be read as a spec (a TOML syntax error, a duplicate key, no
``kind`` or an unknown one) is never silently dropped: :func:`broken` lists such
files with their errors (``biodyn list`` prints them on stderr), and asking for
its name (or a name it would hide, as it comes first on the search path) raises
its own error, with file, line and column, instead of "unknown name" or, worse,
the file of the same name it was meant to replace.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from .errors import SpecError, display_path, suggest
from .spec import MODEL_KINDS, load_file, read_toml

__all__ = ["Entry", "entries", "names", "find", "load", "builtin_dirs", "search_dirs",
           "refresh", "broken", "group_of", "ENTRY_POINT_GROUP", "GROUPS", "SINGULAR"]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "biodyn.catalog"

#: Groups of kinds that share a namespace of names.
GROUPS = {
    "models": MODEL_KINDS,
    "protocols": ("protocol",),
    "sweeps": ("sweep",),
    "tasks": ("task",),
}

#: One spec of a group, in words ("a model", not "a models"[:-1]).
SINGULAR = {"models": "model", "protocols": "protocol", "sweeps": "sweep", "tasks": "task"}


@dataclass(frozen=True)
class Entry:
    """One spec file found by the catalog."""

    name: str
    kind: str
    path: Path
    source: str  # "BIODYN_PATH", "entry point <name>", "built-in"
    shadowed: tuple = ()  # paths of files of the same name it hides
    error: SpecError | None = None  # why a broken file cannot be read (group "broken")
    rank: int = 0  # position on the search path (smaller: found first)

    @property
    def group(self):
        if self.error is not None:
            return "broken"
        for group, kinds in GROUPS.items():
            if self.kind in kinds:
                return group
        return "other"


def _package_root():
    return Path(__file__).resolve().parent


def builtin_dirs():
    """biodyn's own spec folders: the installed copy, or the source tree's (where the
    shipped sweeps live in ``examples/sweeps``, beside the scripts that run them)."""
    installed = _package_root() / "_data"
    if (installed / "models").is_dir():
        return [installed / "models", installed / "protocols", installed / "tasks", installed / "sweeps"]
    repo = _package_root().parent
    return [repo / "models", repo / "protocols", repo / "tasks", repo / "examples" / "sweeps"]


def _entry_point_dirs():
    dirs = []
    try:
        eps = metadata.entry_points(group=ENTRY_POINT_GROUP)
    except Exception:  # pragma: no cover - broken metadata
        return dirs
    for ep in eps:
        label = f"entry point {ep.name} ({ep.value})"
        try:
            obj = ep.load()
            if callable(obj) and not isinstance(obj, (str, os.PathLike)):
                obj = obj()
            if hasattr(obj, "__path__"):
                found = [Path(p) for p in obj.__path__]
            elif hasattr(obj, "__file__"):
                found = [Path(obj.__file__).parent]
            elif isinstance(obj, (list, tuple)):
                found = [Path(p) for p in obj]
            else:
                found = [Path(obj)]
        except Exception as exc:
            logger.warning("biodyn catalog: ignoring %s: %s", label, exc)
            continue
        for folder in found:
            if folder.is_dir():
                dirs.append((label, folder))
            else:
                logger.warning("biodyn catalog: %s names %s, which is not a folder", label, folder)
    return dirs


def search_dirs():
    """The folders searched, in order, as ``(source, path)`` pairs."""
    dirs = []
    for part in os.environ.get("BIODYN_PATH", "").split(os.pathsep):
        if part.strip():
            dirs.append(("BIODYN_PATH", Path(part.strip()).expanduser()))
    dirs += _entry_point_dirs()
    dirs += [("built-in", d) for d in builtin_dirs()]
    return dirs


def _all_kinds():
    from .spec import KINDS

    return sorted(set(KINDS) | {k for kinds in GROUPS.values() for k in kinds})


def _kind_of(path):
    """The ``kind`` of the spec at ``path``; a :class:`SpecError` (with the file, and the line
    and column of a TOML error) if the file cannot be read or its kind is missing or unknown."""
    data = read_toml(path)
    kind = data.get("kind")
    kinds = _all_kinds()
    if not isinstance(kind, str):
        raise SpecError(display_path(path), "kind", "one of " + ", ".join(kinds),
                        "no 'kind' key" if kind is None else repr(kind),
                        'every spec starts with its kind, e.g. kind = "neuron"')
    if kind not in kinds:
        raise SpecError(display_path(path), "kind", "one of " + ", ".join(kinds), repr(kind),
                        suggest(kind, kinds))
    return kind


@lru_cache(maxsize=8)
def _scan(key):
    found = {}
    rank = 0
    for source, folder in search_dirs():
        if not folder.is_dir():
            if source == "BIODYN_PATH":
                logger.warning("biodyn catalog: BIODYN_PATH folder %s does not exist", folder)
            continue
        for path in sorted(folder.rglob("*.toml")):
            rank += 1
            try:
                entry = Entry(path.stem, _kind_of(path), path, source, rank=rank)
            except SpecError as exc:
                entry = Entry(path.stem, "invalid", path, source, error=exc, rank=rank)
            group = entry.group
            k = (group, path.stem)
            if k in found:
                first = found[k]
                found[k] = Entry(first.name, first.kind, first.path, first.source,
                                 first.shadowed + (path,), first.error, first.rank)
            else:
                found[k] = entry
    return found


def _cache_key():
    return (os.environ.get("BIODYN_PATH", ""),)


def refresh():
    """Forget what was scanned (after adding files or changing ``BIODYN_PATH``)."""
    _scan.cache_clear()
    _load_cached.cache_clear()


def entries(group="models"):
    """The catalog's entries of a group (``models``, ``protocols``, ``sweeps``), by name."""
    return sorted((e for (g, _), e in _scan(_cache_key()).items() if g == group),
                  key=lambda e: (e.kind, e.name))


def names(group="models"):
    return [e.name for e in entries(group)]


def broken():
    """The spec files that cannot be read (TOML syntax error, duplicate key, missing or
    unknown ``kind``), in search order; each :class:`Entry` carries its ``error``.

    Files of one name are all listed (a broken file hidden by an earlier good one too)."""
    out = []
    for source, folder in search_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.toml")):
            try:
                _kind_of(path)
            except SpecError as exc:
                out.append(Entry(path.stem, "invalid", path, source, error=exc))
    return out


def _reraise(entry):
    """Raise (a fresh copy of) the error of a broken entry."""
    e = entry.error
    raise SpecError(e.file, e.key, e.expected, e.found, e.hint)


def _singular(group):
    return SINGULAR.get(group, "spec")


def group_of(name):
    """The group (``models``, ``protocols``, ``sweeps``) of the spec named ``name`` or at path
    ``name``: the group of the first file of that name on the search path.

    Raises
    ------
    SpecError
        The file's own error if that file is broken; "unknown name" (with the closest
        names) if no file has that name.
    """
    if _is_path(name):
        path = Path(name)
        if not path.is_file():
            raise SpecError(display_path(path), "<file>", "an existing spec file", "no such file")
        kind = _kind_of(path)
        for group, kinds in GROUPS.items():
            if kind in kinds:
                return group
        return "other"
    table = _scan(_cache_key())
    hits = sorted((e for (g, n), e in table.items() if n == name), key=lambda e: e.rank)
    if not hits:
        known = sorted({n for (g, n) in table if g in GROUPS})
        raise SpecError("catalog", "name", "a model, protocol or sweep in the catalog",
                        f"unknown name {name!r}",
                        suggest(name, known) or "`biodyn list all` shows them all")
    if hits[0].error is not None:
        _reraise(hits[0])
    return hits[0].group


def _is_path(name):
    name = os.fspath(name)
    return name.endswith(".toml") or os.sep in name or (os.altsep and os.altsep in name)


def find(name, group="models"):
    """The path of the spec named ``name`` in ``group`` (or ``name`` itself if it is a path)."""
    one = _singular(group)
    if _is_path(name):
        path = Path(name)
        if not path.is_file():
            raise SpecError(display_path(path), "<file>", f"an existing {one} spec file",
                            "no such file")
        return path
    table = _scan(_cache_key())
    bad = table.get(("broken", name))
    entry = table.get((group, name))
    if bad is not None and (entry is None or bad.rank < entry.rank):
        # a broken file of this name comes first: it was meant to be this spec (or to hide
        # the one found later); its own error, not "unknown name" or the other file
        _reraise(bad)
    if entry is not None:
        return entry.path
    known = [n for (g, n) in table if g == group]
    other = [e for (g, n), e in table.items() if n == name and g != group]
    hint = suggest(name, known)
    if other:
        what = other[0].kind if other[0].error is None else "broken file"
        hint = (f"{name!r} is {_article(what)} {what}, not {_article(one)} {one} "
                f"({display_path(other[0].path)})")
    elif hint is None:
        hint = f"`biodyn list {group}` shows them all"
    raise SpecError("catalog", one, f"the name of {_article(one)} {one} in the catalog",
                    f"unknown {one} {name!r}", hint)


def _article(word):
    return "an" if str(word)[:1].lower() in "aeiou" else "a"


@lru_cache(maxsize=256)
def _load_cached(path, mtime):
    return load_file(path)


def load(name):
    """Load and validate the model spec named ``name`` (or at path ``name``).

    Raises
    ------
    SpecError
        For an unknown name (suggesting the closest names) or a wrong spec.
    """
    from .spec import ModelSpec

    if isinstance(name, ModelSpec):
        return name
    path = find(name, "models")
    spec = _load_cached(str(path.resolve()), path.stat().st_mtime)
    if spec.kind not in MODEL_KINDS:
        raise SpecError(display_path(path), "kind", "a model kind (" + ", ".join(MODEL_KINDS) + ")",
                        repr(spec.kind))
    return spec
