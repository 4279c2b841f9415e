"""Pointwise nonlinearities with their first and second derivatives.

An activation is a small immutable record of three vectorised functions,
:math:`\\phi`, :math:`\\phi'` and :math:`\\phi''`. The second derivative is what the exact
Hessian-vector products (Pearlmutter's R-operator) need; it is zero almost everywhere for
ReLU and linear units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import SpecError, suggest

__all__ = ["Activation", "ACTIVATIONS", "activation"]


@dataclass(frozen=True)
class Activation:
    """A pointwise nonlinearity :math:`\\phi` with :math:`\\phi'` and :math:`\\phi''`.

    Parameters
    ----------
    name : str
    f, df, d2f : callable
        :math:`\\phi(a)`, :math:`\\phi'(a)`, :math:`\\phi''(a)`, vectorised over arrays.
    """

    name: str
    f: Callable
    df: Callable
    d2f: Callable

    def __call__(self, a):
        return self.f(a)

    def __repr__(self):
        return f"Activation({self.name!r})"


def _sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _dsigmoid(a):
    s = _sigmoid(a)
    return s * (1.0 - s)


def _d2sigmoid(a):
    s = _sigmoid(a)
    return s * (1.0 - s) * (1.0 - 2.0 * s)


def _dtanh(a):
    return 1.0 - np.tanh(a) ** 2


def _d2tanh(a):
    t = np.tanh(a)
    return -2.0 * t * (1.0 - t * t)


#: The registry of activations, by name.
ACTIVATIONS = {
    "tanh": Activation("tanh", np.tanh, _dtanh, _d2tanh),
    "relu": Activation("relu", lambda a: np.maximum(a, 0.0), lambda a: (a > 0).astype(float),
                       lambda a: np.zeros_like(a, dtype=float)),
    "linear": Activation("linear", lambda a: np.asarray(a, dtype=float), lambda a: np.ones_like(a, dtype=float),
                         lambda a: np.zeros_like(a, dtype=float)),
    "sigmoid": Activation("sigmoid", _sigmoid, _dsigmoid, _d2sigmoid),
}


def activation(spec, key="activation") -> Activation:
    """The :class:`Activation` named ``spec`` (or ``spec`` itself if it is one).

    Raises
    ------
    SpecError
        For an unknown name, with a 'did you mean' hint.
    """
    if isinstance(spec, Activation):
        return spec
    if spec is None:
        spec = "linear"
    if isinstance(spec, str) and spec in ACTIVATIONS:
        return ACTIVATIONS[spec]
    raise SpecError(None, key, "one of " + ", ".join(sorted(ACTIVATIONS)), repr(spec),
                    suggest(str(spec), ACTIVATIONS))
