"""Learning layer: tasks as specs, and networks of biodyn's cells trained on them.

* :mod:`biodyn.learn._generators` — seeded task generators (never downloads);
* :class:`Task`, :func:`load_task` — ``kind = "task"`` specs of the catalog's ``tasks`` group;
* :func:`train` — backprop through time with JAX gradients and biodyn's optimisers.
"""

from ._generators import GENERATORS, Batch
from ._task import METRICS, Task, load_task, metric_value

__all__ = ["GENERATORS", "Batch", "Task", "load_task", "METRICS", "metric_value"]
from ._train import NETS, TrainResult, load_result, train  # noqa: E402

__all__ += ["NETS", "TrainResult", "load_result", "train"]
from ._fixed_points import NetworkFixedPoint, network_fixed_points  # noqa: E402

__all__ += ["NetworkFixedPoint", "network_fixed_points"]
