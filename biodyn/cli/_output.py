"""Where the command line writes: results on stdout, progress on stderr.

``-q`` silences progress only; results (the numbers a command computed, the paths of the files
it wrote) are always printed. With ``--json -`` the JSON document is the only thing on stdout
(``biodyn analyze lyapunov lorenz --json - | jq .exponents``), and the lines that would
have been printed there go to stderr.
"""

from __future__ import annotations

import sys

__all__ = ["results_stream", "say", "print_paths", "report_of"]


def json_to_stdout(args):
    return getattr(args, "json", None) == "-"


def results_stream(args):
    """stdout, unless the JSON document goes there (``--json -``): then stderr."""
    return sys.stderr if json_to_stdout(args) else sys.stdout


def say(args, *parts):
    """Print a result line."""
    print(*parts, file=results_stream(args), flush=True)


def print_paths(result, args=None):
    """The files a job wrote, one per line (not the JSON when it went to stdout)."""
    stream = results_stream(args) if args is not None else sys.stdout
    for key in ("figure", "json"):
        path = result.paths.get(key)
        if path is not None and str(path) != "-":
            print(path, file=stream, flush=True)


def report_of(args):
    """The progress setting of a job: ``None`` with ``-q``, else ``"text"`` (on stderr)."""
    return None if args.quiet else "text"
