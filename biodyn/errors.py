"""The errors biodyn reports to its users.

Every error that a user's input can cause (a malformed spec, a missing unit, an
unknown model, an unsorted spike train, ...) is a :class:`BiodynError`. The
command line prints such errors as one line and exits with status 2; anything
else escaping from the library is a bug in biodyn.
"""

from __future__ import annotations

import difflib
from os import PathLike

__all__ = ["BiodynError", "SpecError", "SimulationError", "Interrupted", "suggest", "shorten"]


class BiodynError(Exception):
    """Base class of the errors biodyn reports to a user."""


class SpecError(BiodynError, ValueError):
    """A spec (model, protocol, sweep, parameter override) is wrong.

    The message names the file, the key, what was expected and what was found::

        models/neurons/lif.toml: parameter_sets.default.values.tau_m: expected a
        quantity in ms (time), found '10' (dimensionless)

    Parameters
    ----------
    file : str or PathLike or None
        The file the bad value comes from (``None`` for values given in code or
        on the command line; ``"<command line>"`` reads better there).
    key : str
        The dotted key of the bad value inside the file.
    expected : str
        What was expected, in words.
    found : str
        What was found, quoted where it is a value.
    hint : str, optional
        What to do instead ("did you mean 'stdp_pair'?").
    """

    def __init__(self, file, key, expected, found, hint=None):
        self.file = None if file is None else str(file)
        self.key = key
        self.expected = expected
        self.found = found
        self.hint = hint
        super().__init__(self._message())

    def _message(self):
        where = self.file if self.file else "<input>"
        text = f"{where}: {self.key}: expected {self.expected}, found {self.found}"
        if self.hint:
            text += f"; {self.hint}"
        return text


class SimulationError(BiodynError, RuntimeError):
    """A simulation went wrong in a way the user has to know about.

    Raised, for example, when a state variable becomes NaN or infinite: the
    message names the variable and the simulated time at which it happened.
    """


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal before its end: it has no result.

    Raised when Ctrl-C (``SIGINT``) or ``SIGTERM`` arrives while biodyn runs: a Brian2
    run that the signal stopped early is never taken for a finished one, and no
    result file is written. A subclass of ``KeyboardInterrupt``, so that
    ``except Exception`` does not swallow it; the command line prints
    ``biodyn: interrupted`` and exits with :attr:`exit_code` (``128 + signal``:
    130 for SIGINT, 143 for SIGTERM, the shells' convention).

    Parameters
    ----------
    signum : int
        The signal that stopped the run.
    """

    def __init__(self, signum=2, message=None):
        import signal

        self.signum = int(signum)
        try:
            name = signal.Signals(self.signum).name
        except ValueError:  # pragma: no cover - not a signal number of this platform
            name = f"signal {self.signum}"
        super().__init__(message or f"interrupted by {name}")

    def __reduce__(self):  # it travels back from sweep workers
        return (type(self), (self.signum, str(self)))

    @property
    def exit_code(self):
        return 128 + self.signum


def suggest(name: str, candidates, n: int = 3) -> str | None:
    """Return a 'did you mean ...?' hint for ``name`` among ``candidates``."""
    close = difflib.get_close_matches(str(name), list(candidates), n=n, cutoff=0.5)
    if not close:
        return None
    return "did you mean " + " or ".join(repr(c) for c in close) + "?"


def shorten(text, width: int = 300) -> str:
    """``text`` on one line, cut at a word boundary to at most ``width`` characters (with
    "…" where cut): for quoting another library's message inside one of ours without
    ending on half a word."""
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    space = cut.rfind(" ")
    if space > width // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def install_excepthook():
    """Keep Brian2's "please report this Brian 2 bug" banner away from biodyn's errors.

    Brian2 replaces ``sys.excepthook`` when it is imported; an uncaught
    :class:`BiodynError` (a user's typo, an unknown model) is not a Brian2 bug, so
    it gets Python's plain traceback instead. Anything else still goes to Brian2's hook.
    """
    import sys

    previous = sys.excepthook
    if getattr(previous, "_biodyn", False):
        return

    def hook(exc_type, exc, tb):
        if isinstance(exc_type, type) and issubclass(exc_type, BiodynError):
            return sys.__excepthook__(exc_type, exc, tb)
        return previous(exc_type, exc, tb)

    hook._biodyn = True
    sys.excepthook = hook


def display_path(path: str | PathLike | None) -> str | None:
    """A path as a user would like to read it: relative to the cwd if inside it."""
    if path is None:
        return None
    import os

    path = os.fspath(path)
    key = (os.getcwd(), path)  # relpath is string arithmetic on the cwd and the path
    shown = _DISPLAYED.get(key)
    if shown is None:
        try:
            rel = os.path.relpath(path)
        except ValueError:  # other drive on Windows
            rel = ".."
        shown = path if rel.startswith("..") else rel
        if len(_DISPLAYED) >= 1024:
            _DISPLAYED.clear()
        _DISPLAYED[key] = shown
    return shown


#: :func:`display_path` by (cwd, path).
_DISPLAYED: dict = {}
