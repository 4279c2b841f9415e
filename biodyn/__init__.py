"""biodyn — learning as a dynamical system, on top of the Brian2 simulator.

Models are written once, as Brian2 equations in TOML specs (``biodyn list
models``), and read three ways: simulated in Brian2, analysed as vector fields,
and averaged into the flow of a learning rule.

Public entry points:

* :func:`load` — a model spec from the catalog;
* :func:`neurons`, :func:`synapses` — Brian2 objects from a spec;
* :class:`Simulation` — run on a chosen code-generation target;
* :mod:`biodyn.protocols` — replay classic experiments against published data.
"""

import brian2 as _brian2  # noqa: F401  (biodyn is a Brian2 plugin: load it, then its hooks)

from ._version import __version__
from .errors import install_excepthook as _install_excepthook
from .build import Simulation, neurons, synapses
from .catalog import load
from .errors import BiodynError, SimulationError, SpecError

__all__ = ["__version__", "load", "neurons", "synapses", "Simulation", "BiodynError",
           "SpecError", "SimulationError"]

_install_excepthook()
