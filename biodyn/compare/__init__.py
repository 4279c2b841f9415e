r"""The same task, two learners: a biological rule and its artificial counterpart side by side.

Each comparison draws one dataset from its seed (recorded in the result), trains a rule from
the catalog in Brian2 and an artificial learner of :mod:`biodyn.ann` on it with matched
learning rates, and records both on common times (:class:`Comparison`):

* :func:`oja_vs_backprop` — principal subspace: Oja's subspace rule (``oja_subspace``, rate
  neurons in Brian2) against a linear autoencoder trained by gradient descent: subspace
  angles over time, convergence rates against the eigenvalue gaps and the linearisations at
  the end states, Jacobian spectra (projectors) at the end states;
* :func:`bcm_vs_gradient` — selectivity: the BCM rule (``bcm``) against gradient ascent on
  the Intrator–Cooper objective (:data:`biodyn.flow.OBJECTIVES`), the selective fixed points
  and their stability with a fast or a dynamic threshold;
* :func:`hebb_vs_delta` — association: supervised Hebb with decay (``hebb``, teacher-forced
  rate neurons) against the delta rule (gradient descent on the squared error of
  :func:`biodyn.ann.linear_associator`): the fixed points :math:`C_{yx}` and
  :math:`C_{yx}C_{xx}^{+}`, equal for orthonormal inputs;
* :func:`rnn_lyapunov_vs_bptt` — the transition to chaos of the ``rate_rnn`` network (gain
  :math:`g` from 0.5 to 3): its largest Lyapunov exponent against the growth rate of BPTT
  gradients over the horizon;
* :func:`eprop_vs_bptt`, :func:`rstdp_vs_bptt` — a spiking network of catalog neurons trained
  on one task by a local learner and by surrogate-gradient BPTT from the same seed and
  initial weights: learning curves, the alignment with BPTT's gradient per epoch, the adjoint
  norm through time, and the trained networks' largest Lyapunov exponents (two copies in
  Brian2) and firing statistics (:mod:`biodyn.compare._snn`).

For each learning comparison: the **gradient alignment** :math:`\cos(\Delta w_{bio},
-\nabla L_{ann})`, both at the same (biological) weights, the biological update being the
rule's expected update over the dataset read from its spec; the two learners' trajectories
in a **shared projection** (:func:`pca_projection` of both trajectories together); and one
figure (:func:`biodyn.plot.comparison_figure`). For the RNN the analogue of the alignment
is the relation between :math:`\lambda_{\max}` and the BPTT growth rate.

**Matched time.** A Brian2 rate rule with learning rate :math:`\eta` run with time step
``dt`` is forward Euler with step :math:`\eta\,dt` on its averaged flow (a sample per step,
up to sampling noise); gradient descent with step ``lr`` is forward Euler with step ``lr``
on the gradient flow. Both are recorded against the learning time :math:`s = \eta t` (or
seconds, where the objective carries :math:`\eta`, as for BCM).

**Decisions** (where the issue is silent):

* the datasets are exact where a known answer depends on them: Oja's data have exactly the
  requested covariance spectrum (whitened, then coloured), the correlated inputs of the
  associator exactly the requested :math:`C_{xx}`; samples are shown in epochs of random
  permutations (random reshuffling: less sampling noise than independent draws);
* the artificial learner starts from the biological one's initial weights (for the
  autoencoder :math:`W_1 = W_0, W_2 = W_0^{\top}`; for the associators :math:`W = 0`);
* the biological update in the alignment is the rule's *expected* update over the dataset at
  the simulated weights (the measured increments of the Brian2 run are recorded too, for
  Oja), so that the cosine compares directions, not sampling noise;
* the noise-free learners of ``oja_vs_backprop`` (averaged flow, GD) are continued beyond
  the Brian2 run for their asymptotic rates (``tail``);
* BCM's threshold starts at its adiabatic value :math:`\mathrm E[y^2]` at the initial
  weights (``theta0``), so that the two learners start from the same state of the objective;
* the RNN comparison runs at :math:`N = 200`, where the zero crossing of
  :math:`\lambda_{\max}` sits a little above the mean-field :math:`g = 1` (finite-size
  shift, and a marginal periodic regime just past it); both are reported;
* the Brian2 target defaults to ``numpy``: the networks have at most tens of synapses, and
  a 10^4-step run takes seconds without compiling (``benchmarks/compare_targets.py``
  compares with ``cpp_standalone``, whose first build costs ~20 s; both give the same
  numbers to rounding).

Run one with its function, by name with :func:`run`, from the command line with
``biodyn compare NAME`` (figure and JSON: :func:`biodyn.jobs.compare`), or over a grid with
a sweep (``job = "compare"``). The JSON holds exactly :data:`JSON_KEYS`:
``{"comparison", "seed", "versions", "series": {name: [...]}, "summary": {...}}``, the
series and summary keys documented by each function.

Examples
--------
>>> from biodyn import compare
>>> r = compare.hebb_vs_delta(seed=1, inputs="orthonormal", duration="2 second")  # doctest: +SKIP
>>> r.summary["fixed_point_distance"] < 1e-12                                       # doctest: +SKIP
True
"""

from ._base import (COMPARISONS, JSON_KEYS, Comparison, ComparisonSpec, Setting, cosine,
                    exponential_rate, pca_projection, run, subspace_angle)
from ._brian import RuleUpdate, rule_update, run_rate_rule
from ._oja import ae_balanced_rates, oja_vs_backprop, principal_dataset
from ._bcm import bcm_vs_gradient, selective_states
from ._hebb import association_dataset, hebb_vs_delta
from ._rnn import bptt_norms, rnn_lyapunov_vs_bptt
from ._snn import eprop_vs_bptt, rstdp_vs_bptt, snn_learners

__all__ = ["oja_vs_backprop", "bcm_vs_gradient", "hebb_vs_delta", "rnn_lyapunov_vs_bptt", "eprop_vs_bptt",
           "rstdp_vs_bptt", "snn_learners", "run",
           "COMPARISONS", "Comparison", "ComparisonSpec", "Setting", "JSON_KEYS", "cosine",
           "subspace_angle", "pca_projection", "exponential_rate", "run_rate_rule", "rule_update",
           "RuleUpdate", "principal_dataset", "ae_balanced_rates", "selective_states",
           "association_dataset", "bptt_norms"]
