"""Averaged plasticity dynamics: rate reductions of the catalog's learning rules.

* :func:`rate_reduction` — the expected drift ``<dw/dt>`` of a rule under stationary
  inputs (independent Poisson trains for spike-based rules, constant rates for rate-based
  rules), derived from the spec's own code with sympy, as a callable with units and a
  sympy expression (:class:`Reduction`).

Later: averaged vector fields over weight vectors, their fixed points, and whether a rule's
flow is the gradient of an objective.
"""

from ._reduction import REDUCERS, Reduction, ReductionError, rate_reduction

__all__ = ["rate_reduction", "Reduction", "ReductionError", "REDUCERS"]
