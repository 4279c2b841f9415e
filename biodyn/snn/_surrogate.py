r"""Surrogate spikes: a Heaviside step forward, a smooth pseudo-derivative backward.

A neuron spikes in a step when its threshold margin :math:`h` (``v - v_th`` for the
threshold ``v > v_th``) is positive. The spike :math:`s = \Theta(h)` has derivative zero
almost everywhere, so gradient descent through it sees nothing; surrogate-gradient learning
keeps :math:`\Theta` in the forward pass and replaces :math:`\Theta'` by the derivative of a
smooth step :math:`\sigma` of width :math:`\delta` (Zenke & Ganguli 2018; Neftci, Mostafa &
Zenke 2019):

``fast_sigmoid`` (SuperSpike, Zenke & Ganguli 2018, eq. 10)
    :math:`\sigma(h) = \tfrac12\bigl(1 + \frac{h/\delta}{1 + |h/\delta|}\bigr)`,
    :math:`\sigma'(h) = \frac{1}{2\delta\,(1 + |h|/\delta)^2}`;
``sigmoid`` (logistic; Neftci et al. 2019)
    :math:`\sigma(h) = 1/(1 + e^{-h/\delta})`, :math:`\sigma'(h) = \sigma(1-\sigma)/\delta`.

Both :math:`\sigma` are distribution functions (0 to 1), so :math:`\sigma'` integrates to one
whatever :math:`\delta`: the width changes the range of margins that receive gradient, not the
total. (Zenke & Ganguli write :math:`(1 + \beta|h|)^{-2}` without the normalisation; with
:math:`\beta = 1/\delta` the two differ by the constant factor :math:`2\delta`, which an
adaptive optimiser such as Adam absorbs.) ``smooth=True`` uses :math:`\sigma` itself in the
forward pass — the network whose exact gradient the surrogate gradient approximates, used to
check autodiff against finite differences.

References
----------
Zenke F, Ganguli S (2018) SuperSpike: supervised learning in multilayer spiking neural
networks. Neural Comput 30:1514-1541. doi:10.1162/neco_a_01086
Neftci EO, Mostafa H, Zenke F (2019) Surrogate gradient learning in spiking neural networks.
IEEE Signal Process Mag 36(6):51-63. doi:10.1109/MSP.2019.2931595
"""

from __future__ import annotations

from ..errors import SpecError, suggest

__all__ = ["SHAPES", "smooth_step", "step_derivative", "spike_function"]

SHAPES = ("fast_sigmoid", "sigmoid")


def _check(shape):
    if shape not in SHAPES:
        raise SpecError("<surrogate>", "shape", "one of " + ", ".join(SHAPES), repr(shape), suggest(shape, SHAPES))


def smooth_step(jnp, shape, h, width):
    """:math:`\\sigma(h)` of the surrogate ``shape`` with width ``width`` (same unit as ``h``)."""
    _check(shape)
    x = h / width
    if shape == "fast_sigmoid":
        return 0.5 * (1.0 + x / (1.0 + jnp.abs(x)))
    return 0.5 * (1.0 + jnp.tanh(0.5 * x))  # the logistic function, without overflow


def step_derivative(jnp, shape, h, width):
    """:math:`\\sigma'(h)`, the surrogate derivative of the spike."""
    _check(shape)
    x = h / width
    if shape == "fast_sigmoid":
        return 0.5 / (width * (1.0 + jnp.abs(x)) ** 2)
    s = 0.5 * (1.0 + jnp.tanh(0.5 * x))
    return s * (1.0 - s) / width


def spike_function(shape="fast_sigmoid", width=1e-3, inclusive=False):
    """``spike(h)``: :math:`\\Theta(h)` (``h > 0``, or ``h >= 0`` if ``inclusive``) as float,
    with derivative :math:`\\sigma'(h)` (a ``jax.custom_jvp``)."""
    import jax
    import jax.numpy as jnp

    _check(shape)
    width = float(width)

    @jax.custom_jvp
    def spike(h):
        return jnp.where(h >= 0 if inclusive else h > 0, 1.0, 0.0).astype(h.dtype)

    @spike.defjvp
    def _jvp(primals, tangents):
        (h,), (dh,) = primals, tangents
        return spike(h), step_derivative(jnp, shape, h, width) * dh

    return spike
