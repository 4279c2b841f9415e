"""Figures (matplotlib). Every function takes an ``Axes`` (or makes one) and returns it.

The functions draw from plain data — summary dicts, arrays — so a saved result
can be redrawn without rerunning anything. One private module per area
(``_protocol``, ...); the public names are re-exported here.

Decisions that hold for every figure (the figure tests check them over every figure kind,
``tests/test_plot_layout.py``, with :func:`layout_problems`):

- one colour per meaning (:data:`PALETTE`): data black open squares with SEM bars, the model
  blue, references dashed grey, pre-post (Δt > 0) red and post-pre blue, the biological
  learner blue and the artificial one orange; trajectories never in a nullcline's colour;
- no text overlaps other text or covers bars, no title runs past the figure's edge (long
  titles are wrapped to their axes), every axis with tick labels has a label, with its unit
  (states in the units Brian2 users read: mV, nA, nS; rates per the model's own time unit,
  ``1/τ`` for a dimensionless system);
- the provenance line is a footer under everything (:func:`footer`), wrapped to the figure's
  width, in a strip the layout keeps free — however long it grows;
- legends with long entries go under their axes, inside the layout.
"""

from ._base import PALETTE, TRAJECTORY_COLOURS, footer, new_axes, save
from ._layout import keep_legends_off_data, layout_problems, text_boxes
from ._protocol import fit_summary, protocol_extra, protocol_summary

__all__ = ["new_axes", "save", "footer", "PALETTE", "TRAJECTORY_COLOURS", "layout_problems",
           "text_boxes", "keep_legends_off_data", "protocol_summary", "protocol_extra", "fit_summary"]

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

from ._geometry import *  # noqa: E402,F401,F403  basins, Lyapunov functions
__all__ += _geometry.__all__  # noqa: F405
from ._learn import *  # noqa: E402,F401,F403  biodyn.learn figures
__all__ += _learn.__all__  # noqa: F405
from ._cycles import *  # noqa: E402,F401,F403  limit cycles and periodic orbits
__all__ += _cycles.__all__  # noqa: F405
from ._spectra import *  # noqa: E402,F401,F403  spectra against performance (biodyn analyze spectra)
__all__ += _spectra.__all__  # noqa: F405
from ._snn import *  # noqa: E402,F401,F403  spiking networks trained on tasks
__all__ += _snn.__all__  # noqa: F405
