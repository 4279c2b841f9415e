"""A text progress bar for long loops (Lyapunov spectra, sweeps), on stderr.

On a terminal it redraws one line (``\\r``); otherwise (logs, CI, pipes) it prints a line at
each tenth, so that logs stay short. Quiet runs pass no bar at all. Brian2 runs report
through Brian2's own ``report`` hook instead.
"""

from __future__ import annotations

import sys
import time

__all__ = ["ProgressBar", "eta_text"]


def eta_text(seconds):
    """``'12 s'``, ``'3 min'``, ``'1.5 h'``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class ProgressBar:
    """Call with the fraction done (0..1); ``close()`` ends the line.

    Parameters
    ----------
    label : str
        What runs (``"lyapunov lorenz"``).
    stream : file, optional
        Default ``sys.stderr``.
    width : int
        Characters of the bar.
    """

    def __init__(self, label, stream=None, width=30):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.start = time.perf_counter()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_tenth = -1
        self._last_draw = 0.0
        self._open = False

    def __call__(self, fraction):
        fraction = min(max(float(fraction), 0.0), 1.0)
        now = time.perf_counter()
        if self.tty:
            if now - self._last_draw < 0.2 and fraction < 1.0:
                return
            self._last_draw = now
            self.stream.write("\r" + self.text(fraction, now))
            self._open = True
        else:
            tenth = int(fraction * 10)
            if tenth == self._last_tenth:
                return
            self._last_tenth = tenth
            self.stream.write(self.text(fraction, now) + "\n")
        self.stream.flush()

    def text(self, fraction, now=None):
        now = time.perf_counter() if now is None else now
        elapsed = now - self.start
        filled = int(round(fraction * self.width))
        bar = "#" * filled + "." * (self.width - filled)
        if fraction >= 1.0:
            tail = f"done in {eta_text(elapsed)}"
        elif fraction > 0.0:
            tail = f"eta {eta_text(elapsed * (1.0 - fraction) / fraction)}"
        else:
            tail = ""
        return f"{self.label} [{bar}] {100 * fraction:3.0f}% {tail}"

    def close(self):
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
