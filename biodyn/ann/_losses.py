"""Losses: the value and its gradient with respect to the network output.

Conventions are named, because frameworks differ by constant factors that change every
curvature, sharpness and stability limit (a factor 2 in the loss halves :math:`2/\\lambda_{max}`):

* ``mse`` — the mean over *all* elements, as PyTorch's ``torch.nn.MSELoss()`` (reduction
  ``"mean"``), ``jnp.mean((y - t)**2)`` and Keras' ``MeanSquaredError``:
  :math:`L = \\frac{1}{N d}\\sum_n \\lVert y_n - t_n \\rVert^2` for :math:`N` samples of
  :math:`d` outputs; :math:`\\partial L/\\partial y_n = 2(y_n - t_n)/(N d)`; Hessian
  :math:`2I/(Nd)`.
* ``half_sse`` — half the sum of squares over the outputs, averaged over samples:
  :math:`L = \\frac{1}{2N}\\sum_n \\lVert y_n - t_n \\rVert^2`,
  :math:`\\partial L/\\partial y_n = (y_n - t_n)/N`; Hessian :math:`I/N`. The convention of the
  delta rule (Widrow & Hoff 1960) and of the linear autoencoder (Baldi & Hornik 1989), so that
  gradient descent on it *is* those rules with the same learning rate;
  :func:`~biodyn.ann.linear_autoencoder` and :func:`~biodyn.ann.linear_associator` use it.
  It equals ``mse`` times :math:`d/2`.
* ``cross_entropy`` (softmax): :math:`L = -\\frac1N\\sum_n \\log \\mathrm{softmax}(y_n)_{c_n}`,
  :math:`\\partial L/\\partial y_n = (p_n - e_{c_n})/N` (as ``torch.nn.CrossEntropyLoss()``);
  targets are class indices or one-hot rows.

Until biodyn 0.1 ``mse`` meant what is now ``half_sse``; the default of every ``loss=``
argument is ``"mse"``, PyTorch's convention.

Each loss also gives its output-space Hessian-vector product, which the exact
(forward-over-reverse) Hessian-vector products of :mod:`biodyn.ann` need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import SpecError, suggest

__all__ = ["Loss", "LOSSES", "loss_function"]


@dataclass(frozen=True)
class Loss:
    """A loss: ``value(y, t)``, ``grad(y, t)`` and ``hvp(y, t, ry)`` (all batch-averaged)."""

    name: str
    value: Callable
    grad: Callable
    hvp: Callable
    #: ``"values"`` (targets shaped like the outputs) or ``"classes"``
    targets: str = "values"

    def __repr__(self):
        return f"Loss({self.name!r})"


def _half_sse_value(y, t):
    return 0.5 * float(np.sum((y - t) ** 2)) / y.shape[0]


def _half_sse_grad(y, t):
    return (y - t) / y.shape[0]


def _half_sse_hvp(y, t, ry):
    return ry / y.shape[0]


def _mse_value(y, t):
    return float(np.sum((y - t) ** 2)) / y.size


def _mse_grad(y, t):
    return 2.0 * (y - t) / y.size


def _mse_hvp(y, t, ry):
    return 2.0 * ry / y.size


def _onehot(t, n):
    t = np.asarray(t)
    if t.ndim == 1 or (t.ndim == 2 and t.shape[1] == 1 and n > 1):
        out = np.zeros((t.shape[0], n))
        out[np.arange(t.shape[0]), t.reshape(-1).astype(int)] = 1.0
        return out
    return t.astype(float)


def _softmax(y):
    z = y - y.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _ce_value(y, t):
    z = y - y.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -float(np.sum(_onehot(t, y.shape[1]) * logp)) / y.shape[0]


def _ce_grad(y, t):
    return (_softmax(y) - _onehot(t, y.shape[1])) / y.shape[0]


def _ce_hvp(y, t, ry):
    p = _softmax(y)
    return (p * ry - p * np.sum(p * ry, axis=1, keepdims=True)) / y.shape[0]


#: Losses by name.
LOSSES = {
    "mse": Loss("mse", _mse_value, _mse_grad, _mse_hvp),
    "half_sse": Loss("half_sse", _half_sse_value, _half_sse_grad, _half_sse_hvp),
    "cross_entropy": Loss("cross_entropy", _ce_value, _ce_grad, _ce_hvp, targets="classes"),
}


def loss_function(spec, key="loss") -> Loss:
    """The :class:`Loss` named ``spec`` (or ``spec`` itself)."""
    if isinstance(spec, Loss):
        return spec
    if spec in LOSSES:
        return LOSSES[spec]
    raise SpecError(None, key, "one of " + ", ".join(LOSSES), repr(spec), suggest(str(spec), LOSSES))
