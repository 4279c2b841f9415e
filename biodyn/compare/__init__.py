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
  gradients over the horizon.

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

__all__ = ["oja_vs_backprop", "bcm_vs_gradient", "hebb_vs_delta", "rnn_lyapunov_vs_bptt", "run",
           "COMPARISONS", "Comparison", "ComparisonSpec", "Setting", "JSON_KEYS", "cosine",
           "subspace_angle", "pca_projection", "exponential_rate", "run_rate_rule", "rule_update",
           "RuleUpdate", "principal_dataset", "ae_balanced_rates", "selective_states",
           "association_dataset", "bptt_norms"]
