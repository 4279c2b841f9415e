"""biodyn's cache folder: what is in it, and clearing it.

The cache is ``$BIODYN_CACHE``, else ``$XDG_CACHE_HOME/biodyn``, else ``~/.cache/biodyn``
(:func:`biodyn.build.cache_dir`). It holds only things biodyn can make again:

* ``standalone/KEY/`` — compiled cpp_standalone projects, one per build key (a protocol and
  model, an analysis, a sweep worker's slot), kept so that the next run of the same model
  recompiles nothing (``make`` sees unchanged files) — typically 20–60 MB each;
* ``standalone/slots/*.lock`` — the lock files by which sweep workers claim a project slot;
* ``objects/`` — compiled objects shared between projects (:mod:`biodyn._objcache`): a cold
  build reuses the object of every source that an earlier project compiled with the same
  compiler, flags and preprocessed text (``network.cpp``, ``run.cpp``, code objects that two
  models share, ...); ``objects/log`` counts the reuses (``hit``) and compilations (``miss``);
  ``objects/pch/`` holds the precompiled standard headers every source of a project includes
  (one per compiler and set of flags, ~45 MB with gcc 12; :func:`biodyn._objcache.precompiled_header`).

Clearing removes everything except what a running biodyn process holds: a project whose lock
(``.biodyn.lock``, taken while it is built or run) or a slot lock held by a live worker is
kept and reported. Later runs compile again (a kept build of a live process notices that its
project is gone and rebuilds). Brian2's own cython cache (``~/.cython/brian_extensions``) is
Brian2's, not biodyn's, and is left alone.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .build import cache_dir

__all__ = ["CacheItem", "directory", "contents", "clear", "size_text", "object_stats"]


@dataclass(frozen=True)
class CacheItem:
    """One thing in the cache: a compiled project, a slot lock, or another file/folder."""

    path: Path
    kind: str  # "project", "objects" (the object cache), "slot lock", "other"
    bytes: int
    files: int
    modified: float  # newest modification time (seconds since the epoch)

    @property
    def name(self):
        return self.path.name


def directory():
    """The cache folder (it may not exist yet)."""
    return cache_dir()


def _measure(path):
    path = Path(path)
    if path.is_symlink() or path.is_file():
        st = path.lstat()
        return st.st_size, 1, st.st_mtime
    total, count, newest = 0, 0, 0.0
    for root, dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:  # removed meanwhile
                continue
            total += st.st_size
            count += 1
            newest = max(newest, st.st_mtime)
    return total, count, newest or path.stat().st_mtime


def contents():
    """What the cache holds, as :class:`CacheItem` s (projects first, largest first)."""
    root = directory()
    items = []
    if not root.is_dir():
        return items
    standalone = root / "standalone"
    for path in sorted(root.iterdir()):
        if path == standalone and path.is_dir():
            continue
        kind = "objects" if path.name == "objects" and path.is_dir() else "other"
        items.append(CacheItem(path, kind, *_measure(path)))
    if standalone.is_dir():
        for path in sorted(standalone.iterdir()):
            if path.name == "slots" and path.is_dir():
                for lock in sorted(path.iterdir()):
                    items.append(CacheItem(lock, "slot lock", *_measure(lock)))
            elif path.is_dir():
                items.append(CacheItem(path, "project", *_measure(path)))
            else:
                items.append(CacheItem(path, "other", *_measure(path)))
    order = {"project": 0, "objects": 1, "other": 2, "slot lock": 3}
    return sorted(items, key=lambda it: (order[it.kind], -it.bytes, it.name))


def object_stats(root=None):
    """The object cache in numbers: ``{"objects": N, "bytes": B, "hits": H, "misses": M}``.

    ``hits``: objects reused instead of compiled; ``misses``: objects compiled and stored (both
    counted since the cache was last cleared, from ``objects/log``); ``bytes``: the objects and
    the precompiled headers.
    """
    folder = Path(root) if root is not None else directory() / "objects"
    out = {"objects": 0, "bytes": 0, "hits": 0, "misses": 0}
    if not folder.is_dir():
        return out
    for path in folder.glob("*/*.o"):
        try:
            out["bytes"] += path.stat().st_size
            out["objects"] += 1
        except OSError:  # removed meanwhile
            pass
    for path in folder.glob("pch/*/*.gch"):  # the precompiled headers count in the size
        try:
            out["bytes"] += path.stat().st_size
        except OSError:
            pass
    try:
        lines = (folder / "log").read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        word = line.split(" ", 1)[0]
        if word == "hit":
            out["hits"] += 1
        elif word == "miss":
            out["misses"] += 1
    return out


def _held(lock_path):
    """Whether another process holds an exclusive ``flock`` on ``lock_path``."""
    if not lock_path.exists():
        return False
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no locks to respect
        return False
    try:
        f = open(lock_path, "a+")
    except OSError:
        return True
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(f, fcntl.LOCK_UN)
        return False
    finally:
        f.close()


def _in_use(item):
    if item.kind == "project":
        return _held(item.path / ".biodyn.lock")
    if item.kind == "slot lock":
        return _held(item.path)
    return False


def clear():
    """Remove what the cache holds, except what a running process is using.

    Returns
    -------
    removed, kept : list of CacheItem
        What was removed, and what was kept because a live process holds its lock.
    """
    removed, kept = [], []
    for item in contents():
        if _in_use(item):
            kept.append(item)
            continue
        if item.path.is_dir() and not item.path.is_symlink():
            shutil.rmtree(item.path, ignore_errors=True)
        else:
            try:
                item.path.unlink()
            except FileNotFoundError:
                pass
        removed.append(item)
    standalone = directory() / "standalone"
    for folder in (standalone / "slots", standalone):
        try:
            folder.rmdir()  # only if empty
        except OSError:
            pass
    return removed, kept


def size_text(n):
    """``'439.2 MB'``: bytes in decimal units, as ``du -h --si`` would say."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} TB"  # pragma: no cover


def age_text(modified, now=None):
    """``'3 min ago'``, ``'2 days ago'``."""
    seconds = max(0.0, (time.time() if now is None else now) - modified)
    for limit, div, unit in ((90, 1, "s"), (5400, 60, "min"), (172800, 3600, "h")):
        if seconds < limit:
            return f"{seconds / div:.0f} {unit} ago"
    return f"{seconds / 86400:.0f} days ago"
