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

3. biodyn's built-in ``models/`` and ``protocols/`` folders.

A folder may hold models and protocols side by side: the ``kind`` key tells them
apart. Anywhere a name is accepted, a path to a ``.toml`` file is accepted too.
"""

from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from .errors import SpecError, display_path, suggest
from .spec import MODEL_KINDS, load_file

__all__ = ["Entry", "entries", "names", "find", "load", "builtin_dirs", "search_dirs",
           "refresh", "ENTRY_POINT_GROUP", "GROUPS"]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "biodyn.catalog"

#: Groups of kinds that share a namespace of names.
GROUPS = {
    "models": MODEL_KINDS,
    "protocols": ("protocol",),
    "sweeps": ("sweep",),
}


@dataclass(frozen=True)
class Entry:
    """One spec file found by the catalog."""

    name: str
    kind: str
    path: Path
    source: str  # "BIODYN_PATH", "entry point <name>", "built-in"
    shadowed: tuple = ()  # paths of files of the same name it hides

    @property
    def group(self):
        for group, kinds in GROUPS.items():
            if self.kind in kinds:
                return group
        return "other"


def _package_root():
    return Path(__file__).resolve().parent


def builtin_dirs():
    """biodyn's own spec folders: the installed copy, or the source tree's."""
    installed = _package_root() / "_data"
    if (installed / "models").is_dir():
        return [installed / "models", installed / "protocols"]
    repo = _package_root().parent
    return [repo / "models", repo / "protocols"]


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


def _kind_of(path):
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None  # reported when the file is loaded by name
    kind = data.get("kind")
    return kind if isinstance(kind, str) else None


@lru_cache(maxsize=8)
def _scan(key):
    found = {}
    for source, folder in search_dirs():
        if not folder.is_dir():
            if source == "BIODYN_PATH":
                logger.warning("biodyn catalog: BIODYN_PATH folder %s does not exist", folder)
            continue
        for path in sorted(folder.rglob("*.toml")):
            kind = _kind_of(path)
            entry = Entry(path.stem, kind or "unknown", path, source)
            group = entry.group
            k = (group, path.stem)
            if k in found:
                first = found[k]
                found[k] = Entry(first.name, first.kind, first.path, first.source,
                                 first.shadowed + (path,))
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


def _is_path(name):
    name = os.fspath(name)
    return name.endswith(".toml") or os.sep in name or (os.altsep and os.altsep in name)


def find(name, group="models"):
    """The path of the spec named ``name`` in ``group`` (or ``name`` itself if it is a path)."""
    if _is_path(name):
        path = Path(name)
        if not path.is_file():
            raise SpecError(display_path(path), "<file>", f"an existing {group[:-1]} spec file",
                            "no such file")
        return path
    table = _scan(_cache_key())
    if (group, name) in table:
        return table[(group, name)].path
    known = [n for (g, n) in table if g == group]
    other = [g for (g, n) in table if n == name and g != group]
    hint = suggest(name, known)
    if other:
        hint = f"{name!r} is a {other[0][:-1]}, not a {group[:-1]}"
    elif hint is None:
        hint = f"`biodyn list {group}` shows them all"
    raise SpecError("catalog", group[:-1], f"the name of a {group[:-1]} in the catalog",
                    f"unknown {group[:-1]} {name!r}", hint)


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
