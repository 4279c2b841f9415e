"""Averaged plasticity dynamics: rate reductions of the catalog's learning rules.

* :func:`rate_reduction` — the expected drift ``<dw/dt>`` of a rule under stationary
  inputs (independent Poisson trains for spike-based rules, constant rates for rate-based
  rules), derived from the spec's own code with sympy, as a callable with units and a
  sympy expression (:class:`Reduction`).

Learning rules as flows (issue 6): for a scenario given as a protocol (a rule plus the
statistics of its inputs, read from the same spec the replay runs),

* :func:`scenario` — the :class:`Scenario` of a protocol (rule, neuron, :mod:`input statistics
  <biodyn.flow._inputs>`, initial weights, domain);
* :func:`averaged_field` — dw/dt = f(w) = E[Δw | w], derived from the rule's
  own equations (rate rules), its rate reduction (spike rules with a rate-driven Poisson neuron)
  or Kempter, Gerstner & van Hemmen's (1999) drift with input correlations (pair rules with a
  linear Poisson neuron; the window derived from the spec: :func:`pair_window`);
* :func:`measure_fields` — the same field measured from many short Brian2 runs (copies of the
  circuit at many weights in one run), with standard errors;
* :func:`gradient_test` — Jacobian symmetry over the domain, with a tolerance for measurement
  error; :func:`decompose` — the least-squares (Helmholtz-Hodge) potential and the fraction of
  the field it explains;
* :data:`OBJECTIVES` — the literature's objectives (Hebb with decay, covariance, Oja's Rayleigh
  quotient on the sphere, Intrator & Cooper's BCM objective, Kempter/Linsker's quadratic
  energy), checked against the field;
* :func:`analyze` — all of it for a protocol, with fixed points and their stability
  (:mod:`biodyn.dynamics`), rest points on the weight bounds, the Euler step limit
  2/|λ|, and where the Brian2 replay ends (:class:`FlowAnalysis`; the JSON of
  ``biodyn analyze flow`` is :meth:`FlowAnalysis.summary`).
"""

from ._reduction import REDUCERS, Reduction, ReductionError, rate_reduction

__all__ = ["rate_reduction", "Reduction", "ReductionError", "REDUCERS"]

from ._analysis import (SUMMARY_KEYS, FlowAnalysis, StableState, analyze, boundary_states,  # noqa: E402
                        euler_limit, fixed_points)
from ._field import AveragedField, averaged_field  # noqa: E402
from ._gradient import (Decomposition, GradientTest, decompose, gradient_test,  # noqa: E402
                        sample_points)
from ._inputs import GaussianRates, Inputs, MixturePoisson, PatternRates, PoissonRates  # noqa: E402
from ._kempter import PairWindow, correlation_matrix, pair_window  # noqa: E402
from ._measure import (MeasuredField, MeasuredFlow, measure_field, measure_fields,  # noqa: E402
                       measured_flow, measured_jacobians, simulate_rate, stencil)
from ._objectives import OBJECTIVES, Objective, check_objective, objective_for  # noqa: E402
from ._rate import RateRule  # noqa: E402
from ._scenario import READERS, Scenario, register_reader, scenario  # noqa: E402

__all__ += ["scenario", "Scenario", "READERS", "register_reader", "averaged_field", "AveragedField",
            "RateRule", "pair_window", "PairWindow", "correlation_matrix", "Inputs", "GaussianRates",
            "PatternRates", "PoissonRates", "MixturePoisson", "gradient_test", "GradientTest",
            "decompose", "Decomposition", "sample_points", "OBJECTIVES", "Objective",
            "objective_for", "check_objective", "measure_field", "measure_fields", "MeasuredField",
            "stencil", "measured_jacobians", "simulate_rate", "measured_flow", "MeasuredFlow",
            "analyze", "FlowAnalysis", "StableState",
            "fixed_points", "boundary_states", "euler_limit", "SUMMARY_KEYS"]

from ._basins import FlowBasins, end_states, flow_basins, initial_distribution  # noqa: E402

__all__ += ["FlowBasins", "end_states", "flow_basins", "initial_distribution"]
