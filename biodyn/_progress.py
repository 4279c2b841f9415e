"""Progress on stderr: a bar for long loops (Lyapunov spectra, sweeps), elapsed-time lines
for steps whose progress cannot be measured (a compiler, a standalone binary).

On a terminal it redraws one line (``\\r``); otherwise (logs, CI, pipes) it prints a line at
each tenth (a bar) or every ``every`` seconds (a phase), so that logs stay short. Quiet runs
pass no bar at all. Brian2 runs on runtime targets report through Brian2's own ``report``
hook, sent to stderr (:class:`biodyn.build.Simulation`).

Results go to stdout and progress to stderr, so that ``biodyn ... > results.txt`` or
``biodyn ... --json - | jq`` get results only.
"""

from __future__ import annotations

import sys
import threading
import time

__all__ = ["ProgressBar", "Phase", "eta_text", "elapsed_text"]


def eta_text(seconds):
    """``'12 s'``, ``'3 min'``, ``'1.5 h'``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def elapsed_text(seconds):
    """``'0.4 s'``, ``'12 s'``, ``'3 min'``: one decimal below 10 s."""
    return f"{seconds:.1f} s" if seconds < 10 else eta_text(seconds)


class Phase:
    """Elapsed-time lines on stderr for a step that cannot say how far it is.

    Used as a context manager around a blocking call (a compiler, a compiled binary)::

        with Phase("cpp_standalone bi_poo_1998: compiling"):
            device.build(...)

    prints ``LABEL ...`` when it starts, ``LABEL: 20 s so far`` every ``every`` seconds
    while it runs (from a background thread; on a terminal one redrawn line), and
    ``LABEL: done in 12 s`` (or ``failed after 12 s``) at the end. It claims no fraction
    done: it knows none.
    """

    def __init__(self, label, stream=None, every=10.0):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.every = float(every)
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._stop = threading.Event()
        self._thread = None
        self._lock = threading.Lock()
        self.elapsed = None

    def _write(self, text, final=False):
        with self._lock:
            if self.tty:
                self.stream.write("\r\x1b[K" + text + ("\n" if final else ""))
            else:
                self.stream.write(text + "\n")
            self.stream.flush()

    def _beat(self):
        while not self._stop.wait(self.every):
            self._write(f"{self.label}: {elapsed_text(time.perf_counter() - self.start)} so far")

    def __enter__(self):
        self.start = time.perf_counter()
        self._write(f"{self.label} ...")
        self._thread = threading.Thread(target=self._beat, name="biodyn-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self._stop.set()
        self._thread.join()
        self.elapsed = time.perf_counter() - self.start
        word = "done in" if exc_type is None else "failed after"
        if exc_type is KeyboardInterrupt:
            word = "interrupted after"
        self._write(f"{self.label}: {word} {elapsed_text(self.elapsed)}", final=True)
        return False


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
