r"""Models as dynamical systems: vector fields and maps from specs, and their analysis.

Every model of the catalog is also a vector field :math:`\dot x = f(x)` (or a map
:math:`x \mapsto F(x)`) whose Jacobian is *derived* from the same Brian2 equations by sympy:

* :func:`read` — the :class:`Field` of a model: systems, maps, populations (N coupled units,
  or the ``[mean_field]`` of a spiking population), neurons (subthreshold), synapse rules
  (clock-driven);
* :func:`find_fixed_points` — multi-start root finding, eigenvalues, classification;
* :func:`continuation` — pseudo-arclength continuation of equilibria with fold, Hopf,
  branch and period-doubling points;
* :func:`lyapunov_spectrum` — the QR method for flows and maps (and for RNN/GRU/LSTM cells
  under input: :class:`DrivenCell`); :func:`two_trajectory_exponent` — the largest exponent
  from two nearby trajectories; :func:`brian_two_trajectory` — the same for any model run
  in Brian2 (spiking networks: two copies in one run);
* :func:`find_cycle` — limit cycles of flows by multiple shooting, Floquet multipliers;
  :func:`continue_cycles` — their continuation from Hopf points (folds of cycles, period
  doublings, Neimark–Sacker); :func:`periodic_orbits`, :class:`IteratedMap`,
  :func:`period_doubling_cascade` — period-k orbits of maps and their cascade;
  :func:`poincare_section` — crossings of a section, the first-return map of a flow;
* :func:`trajectory` — numpy trajectories; :func:`simulate` — Brian2 runs of the same plan;
* :func:`saddle_manifolds` — stable and unstable manifolds of saddles (1-D branches, 2-D orbit
  meshes of 3-D flows); :func:`basins` — basins of attraction with Wilson intervals;
  :func:`quadratic_lyapunov` and :func:`check_lyapunov_function` — Lyapunov functions.

Units: state values are SI (volt, amp, hertz, 1); the time of a flow is in the model's
declared ``time_unit`` (``tau`` for abstract systems, 1 second for neurons and synapses),
so exponents are per time unit; maps count iterations.
"""

from ._brian import SimulationResult, brian_two_trajectory, simulate
from ._cycles import (Cascade, Cycle, CycleBranch, CycleContinuation, CyclePoint, IteratedMap,
                      PeriodicOrbit, Section, continue_cycles, find_cycle, period_doubling_cascade,
                      floquet_multipliers, periodic_orbits, poincare_section)
from ._continuation import Branch, Continuation, ParameterHandle, SpecialPoint, continuation
from ._field import Field, quantity_text, read, state_text
from ._fixed_points import TYPES, FixedPoint, classify, find_fixed_points, relative_residual, search_box
from ._functions import FUNCTIONS, siegert_lif_rate
from ._lyapunov import (INTEGRATORS, RK4, Euler, LyapunovResult, MapStep, Stepper, batch_means,
                        convergence, entropy_rate, kaplan_yorke, lyapunov_spectrum, qr_r_diagonal,
                        stepper_for, two_trajectory_exponent)
from ._manifolds import Manifold, integrate_orbit, saddle_manifolds
from ._basins import Basins, basins, batch_field, wilson_interval
from ._lyapunov_functions import (LyapunovFunction, check_lyapunov_function, quadratic_lyapunov,
                                  symbolic_field)
from ._plan import READINGS, Plan, make_plan
from ._adapters import JaxMap, MapModel, TorchMap, as_map, from_jax, from_torch
from ._rnn_cells import CELLS, DrivenCell, GRUCell, LSTMCell, RNNCell, cell_step
from ._simulate import default_dt, trajectory

__all__ = [
    "read", "Field", "state_text", "quantity_text", "make_plan", "Plan", "READINGS",
    "find_fixed_points", "FixedPoint", "classify", "TYPES", "search_box", "relative_residual",
    "continuation", "Continuation", "Branch", "SpecialPoint", "ParameterHandle",
    "find_cycle", "Cycle", "continue_cycles", "CycleContinuation", "CycleBranch", "CyclePoint",
    "IteratedMap", "periodic_orbits", "PeriodicOrbit", "period_doubling_cascade", "Cascade",
    "poincare_section", "Section", "floquet_multipliers",
    "lyapunov_spectrum", "two_trajectory_exponent", "LyapunovResult", "kaplan_yorke",
    "entropy_rate", "Stepper", "RK4", "Euler", "MapStep", "INTEGRATORS", "stepper_for",
    "qr_r_diagonal", "batch_means", "convergence",
    "trajectory", "default_dt", "simulate", "brian_two_trajectory", "SimulationResult",
    "RNNCell", "GRUCell", "LSTMCell", "CELLS", "DrivenCell", "cell_step",
    "MapModel", "as_map", "from_jax", "from_torch", "JaxMap", "TorchMap",
    "FUNCTIONS", "siegert_lif_rate",
    "saddle_manifolds", "Manifold", "integrate_orbit",
    "basins", "Basins", "wilson_interval", "batch_field",
    "quadratic_lyapunov", "check_lyapunov_function", "LyapunovFunction", "symbolic_field",
]

# cycles of integrate-and-fire neurons through their reset (saltation matrices)
from ._hybrid_cycles import hybrid_cycle  # noqa: E402

__all__ += ["hybrid_cycle"]
