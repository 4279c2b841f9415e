"""Protocols: classic experiments replayed on a model, scored against published data.

A protocol spec (TOML, ``kind = "protocol"``) names its default model and
parameter set, the stimulus, the conditions and the published measurements.
:func:`run` simulates every condition in ONE Brian2 run (conditions are
independent synapses or neurons) and returns a :class:`ProtocolResult` whose
``summary`` follows the JSON contract of ``biodyn replay``::

    {"protocol", "model", "parameter_set", "overrides", "seed", "target", "dt",
     "versions", "units", "conditions": [{"labels", "value", "data", "error"}],
     "score": {"chi", "n"}, "files": {"block", "figure"}}

Engines (how a protocol is simulated) are registered in :data:`ENGINES`.
"""

from ._engine import (ENGINES, Engine, Outcome, ProtocolResult, RunOptions, format_time,
                      register_engine, resolve_model, run, score, summary)
from ._spec import Condition, ProtocolSpec, load
from . import _spike_pattern  # noqa: F401  (registers the engine)

__all__ = ["run", "load", "ProtocolSpec", "ProtocolResult", "Condition", "ENGINES", "Engine",
           "Outcome", "RunOptions", "register_engine", "score", "summary", "resolve_model",
           "format_time"]
