"""Artificial learning as a dynamical system.

The lens of :mod:`biodyn` turned on artificial networks (numpy/scipy; every backward pass
written out, so that it can be recorded):

* **Networks** — :class:`MLP`, :class:`ResNet`, :class:`RNN` (cells ``"rnn"``, ``"gru"``,
  ``"lstm"`` from :mod:`biodyn.dynamics`); Gaussian (:math:`\\sigma_w, \\sigma_b`) and
  orthogonal initialisations.
* **Backprop as a reverse-time system** — :meth:`Network.backprop` records forward states,
  backward signals :math:`\\delta_{l-1} = J_l^{\\top}\\delta_l`, per-layer Jacobians and
  gradient norms (:class:`BackpropRecord`); :func:`jacobian_spectrum`,
  :func:`mean_field`, :func:`diagnose`; for RNNs :func:`jacobian_product_exponents` and
  :func:`rnn_lyapunov_comparison` (against :mod:`biodyn.dynamics`' QR exponents).
* **Optimisers as integrators** of the gradient flow — ``OPTIMISERS`` (GD = forward Euler,
  implicit GD = backward Euler, Heun, RK4, adaptive RK45, heavy ball, Nesterov, Adam, SGD)
  sharing one loop, :func:`train`; each with its real-axis stability limit computed from
  its own update (:meth:`Optimiser.stability_limit`) and :func:`against_gradient_flow`;
  continuous limits :func:`gradient_flow`, :func:`nesterov_ode`, :func:`heavy_ball_ode`.
* **SGD as an SDE** — :func:`sgd_stationary_covariance` (discrete Lyapunov) against
  :func:`sde_stationary_covariance`, :func:`sde_accurate_range`, :func:`euler_maruyama`.
* **Edge of stability** — :func:`top_hessian_eigenvalues` (Lanczos / power iteration on
  exact forward-over-reverse Hessian-vector products or finite differences) and
  :func:`edge_of_stability`.
* **Your own model** — any recurrent model with ``step``/``jvp``/``vjp`` is a
  :class:`MapModel`; :func:`from_jax` (a JAX function) and :func:`from_torch` (a PyTorch
  module) adapt one, for Lyapunov spectra and Jacobian products. Losses name their
  convention: ``"mse"`` is PyTorch's ``MSELoss()``, ``"half_sse"`` the delta rule's.
* **Neural ODEs** — :class:`NeuralODE` (continuous adjoint, backprop through fixed-step
  solvers) and :func:`resnet_euler_convergence`.

One-liners for the comparisons with biological rules::

    train(linear_autoencoder(X, k), "gd", lr=0.05, steps=2000)      # Baldi & Hornik 1989
    train(linear_associator(X, Y), "gd", lr=0.1, steps=500)         # delta rule (Widrow & Hoff 1960)
    train(linear_associator(X, Y, batch_size=1), "sgd", lr=0.01, steps=5000)   # online LMS
    ascend(f, grad, theta0, lr=0.1, steps=500)                      # gradient ascent on f

Everything here is dimensionless (time is in units of the learning rate: a step of GD
advances the gradient flow by :math:`\\eta`). Random draws take explicit seeds, recorded
in the results.
"""

from ..dynamics._adapters import JaxMap, MapModel, TorchMap, as_map, from_jax, from_torch
from ._activations import ACTIVATIONS, Activation
from ._continuous import gradient_flow, heavy_ball_ode, nesterov_ode, nesterov_ode_quadratic
from ._diagnostics import (diagnose, jacobian_product_exponents, jacobian_spectrum, mean_field,
                           rnn_lyapunov_comparison)
from ._hessian import EdgeOfStability, edge_of_stability, top_hessian_eigenvalues
from ._init import Gaussian, Orthogonal, haar_orthogonal
from ._layers import Dense, Residual
from ._losses import LOSSES
from ._nets import MLP, BackpropRecord, Network, ResNet
from ._node import NeuralODE, resnet_euler_convergence
from ._objectives import (NetworkObjective, Objective, Quadratic, fd_hvp, linear_associator,
                          linear_autoencoder)
from ._optim import (DORMAND_PRINCE, GD, OPTIMISERS, RK4, RK45, SGD, Adam, HeavyBall, Heun, ImplicitGD,
                     Nesterov, Optimiser, Trajectory, against_gradient_flow, ascend, optimiser,
                     stability_limit, stability_limits, train)
from ._rnn import RNN, CellStep
from ._sde import (euler_maruyama, sde_accuracy, sde_accurate_range, sde_stationary_covariance,
                   sgd_stationary_covariance)

__all__ = [
    # your own model: the map protocol and adapters (JAX, PyTorch)
    "MapModel", "as_map", "from_jax", "from_torch", "JaxMap", "TorchMap",
    # networks
    "MLP", "ResNet", "RNN", "Network", "BackpropRecord", "Dense", "Residual", "CellStep",
    "Gaussian", "Orthogonal", "haar_orthogonal", "ACTIVATIONS", "Activation", "LOSSES",
    # backprop as a dynamical system
    "jacobian_spectrum", "mean_field", "diagnose", "jacobian_product_exponents", "rnn_lyapunov_comparison",
    # objectives
    "Objective", "Quadratic", "NetworkObjective", "fd_hvp", "linear_autoencoder", "linear_associator",
    # optimisers as integrators
    "OPTIMISERS", "optimiser", "Optimiser", "GD", "ImplicitGD", "Heun", "RK4", "RK45", "HeavyBall",
    "Nesterov", "Adam", "SGD", "DORMAND_PRINCE", "train", "ascend", "Trajectory", "stability_limit",
    "stability_limits", "against_gradient_flow",
    "gradient_flow", "nesterov_ode", "nesterov_ode_quadratic", "heavy_ball_ode",
    # SGD as an SDE
    "sgd_stationary_covariance", "sde_stationary_covariance", "sde_accuracy", "sde_accurate_range",
    "euler_maruyama",
    # edge of stability
    "top_hessian_eigenvalues", "edge_of_stability", "EdgeOfStability",
    # neural ODEs
    "NeuralODE", "resnet_euler_convergence",
]
