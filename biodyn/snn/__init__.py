"""The differentiable reading: catalog neuron specs as JAX step functions with surrogate spikes.

* :func:`read` — a catalog neuron model with exponential synapses read into the step Brian2
  integrates (:mod:`biodyn.snn._reading`);
* :func:`run` — a recurrent network of such neurons over input spikes, ``jax.lax.scan``
  (:mod:`biodyn.snn._network`); :func:`simulate` the same in float64 from numpy inputs;
* :func:`brian_run` — the same network in Brian2 (any target), the reference of the forward
  identity and the way trained weights run back in Brian2;
* :func:`biodyn.snn._chaos.network_dynamics` — a network's largest Lyapunov exponent by two
  copies in Brian2 (:func:`biodyn.dynamics.brian_two_trajectory`) and its firing statistics;
* surrogate derivatives of the spike (:mod:`biodyn.snn._surrogate`).

JAX is a dependency of this reading only; every computation runs inside
``jax.enable_x64(True)`` (a context: the user's JAX configuration is untouched).
"""

from ._brian import brian_run
from ._network import Trace, run, spike_indices
from ._reading import SYNAPSES, Reading, read
from ._surrogate import SHAPES, smooth_step, spike_function, step_derivative

__all__ = ["read", "Reading", "SYNAPSES", "run", "simulate", "Trace", "spike_indices", "brian_run",
           "SHAPES", "smooth_step", "spike_function", "step_derivative"]


def simulate(reading, W_in, W_rec, x, **kwargs):
    """:func:`run` in float64 (inside ``jax.enable_x64(True)``) with numpy results:
    ``spikes`` ``(T, B, N)``, the recorded states and the readout's ``outputs``."""
    import jax
    import numpy as np

    with jax.enable_x64(True):
        import jax.numpy as jnp

        tr = run(reading, jnp.asarray(W_in, dtype=jnp.float64),
                 None if W_rec is None else jnp.asarray(W_rec, dtype=jnp.float64), x, **kwargs)
        return Trace(None if tr.spikes is None else np.asarray(tr.spikes),
                     {k: np.asarray(v) for k, v in tr.states.items()}, tr.final,
                     None if tr.outputs is None else np.asarray(tr.outputs))
