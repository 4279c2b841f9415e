"""Where the command line writes: results on stdout, progress on stderr.

``-q`` silences progress only; results (the numbers a command computed, the paths of the files
it wrote) are always printed. With ``--json -`` the JSON document is the only thing on stdout
(``biodyn analyze lyapunov lorenz --json - | jq .exponents``), and the lines that would
have been printed there go to stderr.
"""

from __future__ import annotations

import math
import sys
from decimal import ROUND_HALF_UP, Decimal, localcontext

__all__ = ["results_stream", "say", "print_paths", "report_of", "round_to_uncertainty"]


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


def round_to_uncertainty(value, uncertainty, digits=2):
    """A value and its standard error as text, the value to the precision the error supports.

    The usual convention (e.g. JCGM 100:2008, *Guide to the expression of uncertainty in
    measurement*, §7.2.6; the Particle Data Group's rounding): the uncertainty is rounded to
    ``digits`` significant digits (half up, from the shortest decimal that reads back as the
    float, i.e. what ``repr`` shows: ``0.00095`` stays ``0.00095``, ``0.000995`` becomes
    ``0.0010``, the leading digit having moved one place up), and the value to the same
    decimal place. Fixed notation unless the larger of the two begins more than 4 places
    after the decimal point, or has more than 6 digits before it with zeros only filling
    places (then ``6.50e-9`` / ``0.69e-9``: one power of ten shared by both, so they read
    off the same decimal place).

    Parameters
    ----------
    value : float
    uncertainty : float or None
        The standard error; ``None``, ``nan``, ``inf`` or ``<= 0`` mean there is none.
    digits : int
        Significant digits of the uncertainty (default 2).

    Returns
    -------
    (str, str or None)
        The rounded value and uncertainty; with no usable uncertainty (or a value that is not
        finite), the value in full (``repr``) and ``None``: nothing to round it to. An
        uncertainty below ``1e-15`` of the value (finer than a double resolves) leaves the
        value in full and gives the uncertainty alone (``1.0e-300``).
    """
    v = float(value)
    try:
        u = float(uncertainty)
    except (TypeError, ValueError):
        u = math.nan
    if not math.isfinite(v) or not math.isfinite(u) or u <= 0:
        return repr(v), None
    if u < abs(v) * 1e-15:  # finer than the double itself: the value in full, the ± alone
        return repr(v), f"{u:.{max(int(digits) - 1, 0)}e}"
    with localcontext() as ctx:
        ctx.prec = 1000  # exact quantize of any double (up to ~770 significant places)
        du = Decimal(repr(u))
        place = du.adjusted() - (int(digits) - 1)
        ur = du.quantize(Decimal(1).scaleb(place), rounding=ROUND_HALF_UP)
        if ur.adjusted() > du.adjusted():  # 0.000995 -> 0.00100: keep 2 digits, 0.0010
            place += 1
            ur = du.quantize(Decimal(1).scaleb(place), rounding=ROUND_HALF_UP)
        vr = Decimal(repr(v)).quantize(Decimal(1).scaleb(place), rounding=ROUND_HALF_UP)
        if vr.is_zero():
            vr = vr.copy_abs()  # no "-0.000"
        lead = max(ur.adjusted(), vr.adjusted() if not vr.is_zero() else ur.adjusted())
        if lead >= -4 and (place <= 0 or lead < 6):
            return format(vr, "f"), format(ur, "f")
        return (f"{format(vr.scaleb(-lead), 'f')}e{lead}",
                f"{format(ur.scaleb(-lead), 'f')}e{lead}")
