"""Figures (matplotlib). Every function takes an ``Axes`` (or makes one) and returns it.

The functions draw from plain data — summary dicts, arrays — so a saved result
can be redrawn without rerunning anything. One private module per area
(``_protocol``, ...); the public names are re-exported here.
"""

from ._base import new_axes, save
from ._protocol import fit_summary, protocol_extra, protocol_summary

__all__ = ["new_axes", "save", "protocol_summary", "protocol_extra", "fit_summary"]

from ._ann import *  # noqa: E402,F401,F403  biodyn.ann figures
__all__ += _ann.__all__  # noqa: F405

from ._dynamics import *  # noqa: E402,F401,F403  biodyn.dynamics figures
__all__ += _dynamics.__all__  # noqa: F405

from ._flow import *  # noqa: E402,F401,F403  biodyn.flow figures
__all__ += _flow.__all__  # noqa: F405

from ._compare import *  # noqa: E402,F401,F403  biodyn.compare figures
__all__ += _compare.__all__  # noqa: F405

from ._sweep import *  # noqa: E402,F401,F403  biodyn.sweep figures
__all__ += _sweep.__all__  # noqa: F405

from ._cycles import *  # noqa: E402,F401,F403  limit cycles and periodic orbits
__all__ += _cycles.__all__  # noqa: F405
