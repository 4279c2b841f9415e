"""Learning layer: tasks as specs, and networks of biodyn's cells trained on them.

* :mod:`biodyn.learn._generators` — seeded task generators (never downloads);
* :class:`Task`, :func:`load_task` — ``kind = "task"`` specs of the catalog's ``tasks`` group;
* :func:`train` — backprop through time with JAX gradients and biodyn's optimisers, learning
  curves, Lyapunov spectra along training (``lyapunov_every``) and the Jacobian product
  backprop sees; :class:`TrainResult` (``.save`` / :func:`load_result`: ``.npz``);
* :func:`network_fixed_points` — fixed points of a trained network (Sussillo & Barak 2013);
* gradient flossing (``train(..., floss=K)``, :mod:`biodyn.learn._floss`): the first K Lyapunov
  exponents, QR-estimated in JAX under the task's input, pushed to zero (Engelken 2023).

The networks' forward step is :func:`biodyn.dynamics.cell_step`, the cells' equations written
once over an array namespace: numpy for the cells of :mod:`biodyn.dynamics` and
:mod:`biodyn.ann` (whose explicit Jacobians and reverse-time recursion are the reference),
``jax.numpy`` here. JAX is needed for :func:`train` only (``pip install jax``); it always runs
inside ``jax.enable_x64(True)``.
"""

from ._generators import GENERATORS, Batch
from ._task import METRICS, TRAIN_DEFAULTS, Task, load_task, metric_value

__all__ = ["GENERATORS", "Batch", "Task", "load_task", "METRICS", "TRAIN_DEFAULTS", "metric_value"]
from ._train import NETS, TrainResult, load_result, train  # noqa: E402

__all__ += ["NETS", "TrainResult", "load_result", "train"]
from ._fixed_points import NetworkFixedPoint, network_fixed_points  # noqa: E402

__all__ += ["NetworkFixedPoint", "network_fixed_points"]
from ._spectra import FEATURES, spearman_ci, spectra_study, spectrum_features, train_autoencoder  # noqa: E402

__all__ += ["FEATURES", "spearman_ci", "spectra_study", "spectrum_features", "train_autoencoder"]
