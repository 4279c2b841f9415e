"""Jobs: the units of work the command line and sweeps run, each writing its result files.

A job calls the library (``protocols``, ``dynamics``, ``flow``, ``compare``),
then writes what a user keeps: the data (a neo file or JSON), a figure, and a
JSON summary, all atomically. This layer sits above ``plot`` and below
``sweep`` and ``cli`` in the dependency order (``protocols`` may not import
``plot``, so drawing and writing happen here). One private module per job
family; public names re-exported here.
"""

from ._base import JobResult, provenance_line
from ._fit import FitResult, fit, parse_bounds
from ._replay import (protocol_figure, reference_curves, replay, replay_batch, replay_from,
                      replicate_copies)

__all__ = ["JobResult", "replay", "replay_batch", "replay_from", "replicate_copies", "protocol_figure", "reference_curves", "fit",
           "FitResult", "parse_bounds", "provenance_line"]

from ._analyze import *  # noqa: E402,F401,F403  biodyn.dynamics analyses
__all__ += _analyze.__all__  # noqa: F405

from ._flow import *  # noqa: E402,F401,F403  biodyn.flow: the averaged flow of a learning scenario
__all__ += _flow.__all__  # noqa: F405

from ._compare import *  # noqa: E402,F401,F403  biodyn.compare: a rule against its artificial counterpart
__all__ += _compare.__all__  # noqa: F405

from ._redraw import *  # noqa: E402,F401,F403  biodyn plot: redraw a saved result
__all__ += _redraw.__all__  # noqa: F405

from ._geometry import *  # noqa: E402,F401,F403  basins of attraction, Lyapunov functions
__all__ += _geometry.__all__  # noqa: F405
from ._train import *  # noqa: E402,F401,F403  biodyn.learn: train a network on a task
__all__ += _train.__all__  # noqa: F405
from ._cycles import *  # noqa: E402,F401,F403  limit cycles and periodic orbits
__all__ += _cycles.__all__  # noqa: F405
from ._spectra import *  # noqa: E402,F401,F403  Lyapunov spectra of a train sweep against performance
__all__ += _spectra.__all__  # noqa: F405
from ._train_snn import *  # noqa: E402,F401,F403  biodyn.learn._snn: a spiking network of catalog neurons
__all__ += _train_snn.__all__  # noqa: F405
