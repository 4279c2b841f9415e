"""Losses: the value and its gradient with respect to the network output.

* ``mse``: :math:`L = \\frac{1}{2N}\\sum_n \\lVert y_n - t_n \\rVert^2`,
  :math:`\\partial L/\\partial y_n = (y_n - t_n)/N`; its Hessian in :math:`y` is :math:`I/N`.
* ``cross_entropy`` (softmax): :math:`L = -\\frac1N\\sum_n \\log \\mathrm{softmax}(y_n)_{c_n}`,
  :math:`\\partial L/\\partial y_n = (p_n - e_{c_n})/N`; targets are class indices or one-hot
  rows.

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

    def __repr__(self):
        return f"Loss({self.name!r})"


def _mse_value(y, t):
    return 0.5 * float(np.sum((y - t) ** 2)) / y.shape[0]


def _mse_grad(y, t):
    return (y - t) / y.shape[0]


def _mse_hvp(y, t, ry):
    return ry / y.shape[0]


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
    "cross_entropy": Loss("cross_entropy", _ce_value, _ce_grad, _ce_hvp),
}


def loss_function(spec, key="loss") -> Loss:
    """The :class:`Loss` named ``spec`` (or ``spec`` itself)."""
    if isinstance(spec, Loss):
        return spec
    if spec in LOSSES:
        return LOSSES[spec]
    raise SpecError(None, key, "one of " + ", ".join(LOSSES), repr(spec), suggest(str(spec), LOSSES))
