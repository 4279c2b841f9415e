"""Analyse your own recurrent model (written in JAX) with biodyn's dynamical-systems tools.

Your model is a function ``step(params, s, x) -> s'`` in JAX. ``biodyn.ann.from_jax`` reads it
as a driven map (JAX gives its Jacobian-vector and vector-Jacobian products, in float64, without
touching your JAX configuration); then the QR Lyapunov spectrum under the input drive
(Benettin et al. 1980; Vogt et al. 2022) and backprop's Jacobian-product exponents
(Pascanu et al. 2013) are the same calls as for biodyn's own cells. Runs in a few seconds.

A PyTorch module works the same way through ``biodyn.ann.from_torch`` (PyTorch is optional).
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from biodyn import ann, dynamics  # noqa: E402


def gru_step(params, h, x):
    """A GRU cell written by hand (Cho et al. 2014), as a user would write it."""
    Wz, Uz, Wr, Ur, Wn, Un = params
    z = jax.nn.sigmoid(Wz @ x + Uz @ h)
    r = jax.nn.sigmoid(Wr @ x + Ur @ h)
    n = jnp.tanh(Wn @ x + r * (Un @ h))
    return (1 - z) * n + z * h


H, I, g = 64, 2, 3.0
rng = np.random.default_rng(0)
params = tuple(rng.normal(0, (1 if k % 2 == 0 else g) / np.sqrt(I if k % 2 == 0 else H),
                          (H, I if k % 2 == 0 else H)) for k in range(6))
model = ann.from_jax(gru_step, state_size=H, input_size=I, params=params, name="my GRU")

inputs = rng.normal(0, 1, (500, I))                  # the drive: white noise, cycled
driven = dynamics.DrivenCell(model, inputs)
spectrum = dynamics.lyapunov_spectrum(driven, duration=3000, transient=500, k=8, seed=1)
print(f"model: {model}")
print("Lyapunov exponents (per step), first 8:",
      " ".join(f"{l:+.3f}" for l in spectrum.exponents))
print(f"standard errors: {np.max(spectrum.standard_error):.3f} at most")

# backprop's view: singular values of the product of the state Jacobians along one trajectory
s = np.zeros(H)
jacobians = []
for t in range(300):
    jacobians.append(model.jacobian(s, inputs[t]))
    s = model.step(s, inputs[t])
product = ann.jacobian_product_exponents(jacobians[100:])
print("Jacobian-product exponents (per step), first 3:", " ".join(f"{l:+.3f}" for l in product[:3]))
print(f"JAX's x64 mode is still {jax.config.jax_enable_x64} (as the script left it)")
