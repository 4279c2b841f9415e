r"""Bring your own recurrent model: the map protocol, and adapters for JAX and PyTorch.

Everything :mod:`biodyn` does to a recurrent network — Lyapunov spectra under input
(:func:`biodyn.dynamics.lyapunov_spectrum` on a :class:`~biodyn.dynamics.DrivenCell`),
Jacobian-product exponents (:func:`biodyn.ann.jacobian_product_exponents`), the reverse-time linear
system of backprop — reads it as a driven map of its state,

.. math::

    s_{t+1} = F(s_t, x_t), \qquad D_t = \partial F/\partial s\,(s_t, x_t),

through four methods. Any object with them is a *map model* (:class:`MapModel`):

==========================  ===========================================================
``state_size``, ``input_size``  lengths of :math:`s` and :math:`x` (``input_size`` may be 0)
``step(s, x)``              :math:`F(s, x)`, a 1-D float64 array of length ``state_size``
``jvp(s, x, Q)``            :math:`D\,Q` for ``Q`` of shape ``(state_size, k)`` (the QR method)
``vjp(s, x, v)``            :math:`v^{\top} D` for a covector ``v`` (backprop through time)
==========================  ===========================================================

and optionally ``step_and_jvp(s, x, Q)`` (both at once, sharing work) and
``jacobian(s, x)`` (dense :math:`D`); :func:`as_map` fills in what is missing from the
rest (``jacobian`` as ``jvp`` of the identity) and checks the shapes once, on a probe
state, with one clear error. biodyn's own cells (:class:`biodyn.dynamics.RNNCell`,
``GRUCell``, ``LSTMCell``) are map models.

Adapters
--------
* :func:`from_jax` — a pure JAX function ``step(s, x)`` (or ``step(params, s, x)`` with a
  PyTree of parameters). Derivatives by JAX's forward and reverse modes (``jax.jvp``
  vectorised over the columns of :math:`Q` with ``jax.vmap``, ``jax.vjp``), each compiled once
  with ``jax.jit``. Computed in float64 inside ``jax.enable_x64(True)`` — a context, so
  the caller's JAX configuration is left as it was; float32 parameters are copied to float64
  (the caller's arrays are not touched).
* :func:`from_torch` — a PyTorch module. ``torch.nn.RNNCell``, ``GRUCell`` and ``LSTMCell``
  become biodyn's numpy cells with the module's weights (same equations, PyTorch's weight
  layout and gate order; exact and fast). Any other module ``m`` with the PyTorch cell
  convention ``m(x, s) -> s'`` (input first; 1-D tensors), or a function ``step(s, x)``
  of tensors, is differentiated by ``torch.func`` (``jvp`` under ``vmap``, ``vjp``) on
  float64 copies of its parameters and buffers (``torch.func.functional_call``; the
  module itself is not changed). PyTorch is optional: the adapter imports it when called.

Losses differ by constant factors between frameworks, which change every curvature and
stability limit; biodyn names them (:data:`biodyn.ann.LOSSES`): ``"mse"`` is PyTorch's
``MSELoss()`` (mean over all elements), ``"half_sse"`` the delta rule's
:math:`\frac{1}{2N}\sum\lVert y-t\rVert^2`.

Examples
--------
>>> import jax.numpy as jnp, numpy as np
>>> from biodyn import dynamics
>>> W = np.random.default_rng(0).normal(0, 2 / np.sqrt(50), (50, 50))
>>> model = dynamics.from_jax(lambda s, x: jnp.tanh(W @ s + x[0]), state_size=50, input_size=1)
>>> res = dynamics.lyapunov_spectrum(dynamics.DrivenCell(model, np.zeros((1, 1))),
...                                  duration=2000, transient=500, k=5)

References
----------
Bradbury J et al. (2018) JAX: composable transformations of Python+NumPy programs.
http://github.com/jax-ml/jax
Paszke A et al. (2019) PyTorch: an imperative style, high-performance deep learning
library. NeurIPS 32:8024-8035. arXiv:1912.01703
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import BiodynError

__all__ = ["MapModel", "as_map", "from_jax", "from_torch", "JaxMap", "TorchMap"]


@runtime_checkable
class MapModel(Protocol):
    """The map protocol (see the module docstring): what biodyn needs of a recurrent model."""

    state_size: int
    input_size: int

    def step(self, s, x): ...

    def jvp(self, s, x, Q): ...

    def vjp(self, s, x, v): ...


_REQUIRED = ("state_size", "input_size", "step", "jvp", "vjp")


class _Completed:
    """A map model with the optional methods filled in from the required ones."""

    def __init__(self, model):
        self.model = model
        self.state_size = int(model.state_size)
        self.input_size = int(model.input_size)
        self.hidden_size = int(getattr(model, "hidden_size", self.state_size))
        self.kind = getattr(model, "kind", type(model).__name__)

    def step(self, s, x):
        return np.asarray(self.model.step(s, x), dtype=float)

    def jvp(self, s, x, Q):
        return np.asarray(self.model.jvp(s, x, Q), dtype=float)

    def vjp(self, s, x, v):
        return np.asarray(self.model.vjp(s, x, v), dtype=float)

    def step_and_jvp(self, s, x, Q):
        if hasattr(self.model, "step_and_jvp"):
            y, DQ = self.model.step_and_jvp(s, x, Q)
            return np.asarray(y, dtype=float), np.asarray(DQ, dtype=float)
        return self.step(s, x), self.jvp(s, x, Q)

    def jacobian(self, s, x):
        if hasattr(self.model, "jacobian"):
            return np.asarray(self.model.jacobian(s, x), dtype=float)
        return self.jvp(s, x, np.eye(self.state_size))

    def zero_state(self, batch=()):
        return np.zeros(tuple(batch) + (self.state_size,))

    def __repr__(self):
        return f"map model {self.kind} (state {self.state_size}, input {self.input_size})"


def as_map(model, *, check=True):
    """``model`` as a complete map model (optional methods filled in), checked once.

    The check runs one step, one ``jvp`` with two tangent columns and one ``vjp`` at the
    zero state and zero input, and compares their shapes and finiteness with the declared
    sizes, so that a mistake shows here as one error rather than deep inside an analysis.

    Raises
    ------
    BiodynError
        naming the missing attribute or the method whose output has the wrong shape.
    """
    if isinstance(model, _Completed):
        return model
    missing = [name for name in _REQUIRED if not hasattr(model, name)]
    if missing:
        raise BiodynError(f"{type(model).__name__} is not a map model: it lacks {', '.join(missing)} "
                          "(needed: state_size, input_size, step(s, x), jvp(s, x, Q), vjp(s, x, v); "
                          "see biodyn.ann.MapModel, or adapt it with biodyn.ann.from_jax / from_torch)")
    out = _Completed(model)
    if check:
        n, m = out.state_size, out.input_size
        s, x = np.zeros(n), np.zeros(m)
        probes = (("step(s, x)", lambda: out.step(s, x), (n,)),
                  ("jvp(s, x, Q)", lambda: out.jvp(s, x, np.eye(n)[:, : min(2, n)]), (n, min(2, n))),
                  ("vjp(s, x, v)", lambda: out.vjp(s, x, np.ones(n)), (n,)))
        for what, call, shape in probes:
            try:
                value = call()
            except Exception as exc:
                raise BiodynError(f"map model {out.kind}: {what} failed on the zero state "
                                  f"(state_size {n}, input_size {m}): {type(exc).__name__}: {exc}") from exc
            if value.shape != shape:
                raise BiodynError(f"map model {out.kind}: {what} returned shape {value.shape}, "
                                  f"expected {shape} (state_size {n}, input_size {m})")
    return out


# --------------------------------------------------------------------------
# JAX
# --------------------------------------------------------------------------


class JaxMap:
    """A JAX function as a map model (see :func:`from_jax`)."""

    kind = "jax"

    def __init__(self, step, state_size, input_size, params=None, name=None):
        try:
            import jax
            import jax.numpy as jnp
        except ImportError as exc:  # pragma: no cover - jax is in the test extra
            raise BiodynError("from_jax needs JAX: pip install jax") from exc
        self._jax = jax
        self.state_size, self.input_size = int(state_size), int(input_size)
        self.hidden_size = self.state_size
        self.name = name or getattr(step, "__name__", "jax model")
        with jax.enable_x64(True):
            if params is not None:
                params = jax.tree_util.tree_map(
                    lambda a: jnp.asarray(a, dtype=jnp.float64)
                    if jnp.issubdtype(jnp.asarray(a).dtype, jnp.floating) else jnp.asarray(a), params)
                self.params = params

                def f(s, x):
                    return step(params, s, x)
            else:
                self.params = None
                f = step

            def jvp_cols(s, x, Q):  # D Q, one forward-mode pass per column, vectorised
                y, lin = jax.linearize(lambda u: f(u, x), s)
                return y, jax.vmap(lin, in_axes=1, out_axes=1)(Q)

            self._step = jax.jit(f)
            self._step_and_jvp = jax.jit(jvp_cols)
            self._jvp = jax.jit(lambda s, x, Q: jvp_cols(s, x, Q)[1])
            self._vjp = jax.jit(lambda s, x, v: jax.vjp(lambda u: f(u, x), s)[1](v)[0])
            self._jacobian = jax.jit(jax.jacfwd(f, argnums=0))

    def _call(self, fn, *arrays):
        with self._jax.enable_x64(True):
            out = fn(*(np.asarray(a, dtype=float) for a in arrays))
            if isinstance(out, tuple):
                return tuple(np.asarray(o, dtype=float) for o in out)
            return np.asarray(out, dtype=float)

    def step(self, s, x):
        return self._call(self._step, s, x)

    def jvp(self, s, x, Q):
        return self._call(self._jvp, s, x, Q)

    def step_and_jvp(self, s, x, Q):
        return self._call(self._step_and_jvp, s, x, Q)

    def vjp(self, s, x, v):
        return self._call(self._vjp, s, x, v)

    def jacobian(self, s, x):
        return self._call(self._jacobian, s, x)

    def __repr__(self):
        return f"JaxMap({self.name!r}, state_size={self.state_size}, input_size={self.input_size})"


def from_jax(step, state_size, input_size=0, params=None, name=None, check=True):
    """A pure JAX function as a map model :math:`s' = F(s, x)`.

    Parameters
    ----------
    step : callable
        ``step(s, x)`` of 1-D arrays ``(state_size,)`` and ``(input_size,)``, returning the
        next state; or ``step(params, s, x)`` when ``params`` is given. It must be
        traceable by JAX (``jax.numpy`` inside, no Python side effects).
    state_size, input_size : int
        ``input_size = 0`` for an autonomous map (``x`` is then an empty array).
    params : PyTree of arrays, optional
        Parameters passed as the first argument (copied to float64).
    name : str, optional
    check : bool
        Probe the shapes once (:func:`as_map`).

    Returns
    -------
    JaxMap
        with ``step``, ``jvp``, ``step_and_jvp``, ``vjp``, ``jacobian`` returning float64
        numpy arrays.
    """
    model = JaxMap(step, state_size, input_size, params, name)
    if check:
        as_map(model)
    return model


# --------------------------------------------------------------------------
# PyTorch
# --------------------------------------------------------------------------


class TorchMap:
    """A PyTorch module or function as a map model, differentiated by ``torch.func``."""

    kind = "torch"

    def __init__(self, fn, state_size, input_size, name=None):
        import torch

        self._torch = torch
        self.state_size, self.input_size = int(state_size), int(input_size)
        self.hidden_size = self.state_size
        self.name = name or getattr(fn, "__name__", type(fn).__name__)
        if isinstance(fn, torch.nn.Module):
            module = fn
            # float64 copies: the module's own tensors are left as they are
            state = {k: v.detach().to(torch.float64) for k, v in
                     list(module.named_parameters()) + list(module.named_buffers())}

            def f(s, x):
                return torch.func.functional_call(module, state, (x, s))
        else:
            f = fn
        self._f = f

    def _t(self, a):
        return self._torch.as_tensor(np.asarray(a, dtype=float), dtype=self._torch.float64)

    def step(self, s, x):
        with self._torch.no_grad():
            return self._f(self._t(s), self._t(x)).numpy().astype(float)

    def step_and_jvp(self, s, x, Q):
        torch = self._torch
        s_, x_ = self._t(s), self._t(x)

        def tangent(q):  # D q by forward mode; vmapped over the columns of Q
            return torch.func.jvp(lambda u: self._f(u, x_), (s_,), (q,))[1]

        DQt = torch.func.vmap(tangent)(self._t(Q).T.contiguous())
        with torch.no_grad():
            y = self._f(s_, x_)
        return y.numpy().astype(float), DQt.T.detach().numpy().astype(float)

    def jvp(self, s, x, Q):
        return self.step_and_jvp(s, x, Q)[1]

    def vjp(self, s, x, v):
        torch = self._torch
        x_ = self._t(x)
        _, pullback = torch.func.vjp(lambda u: self._f(u, x_), self._t(s))
        return pullback(self._t(v))[0].detach().numpy().astype(float)

    def jacobian(self, s, x):
        return self.jvp(s, x, np.eye(self.state_size))

    def __repr__(self):
        return f"TorchMap({self.name!r}, state_size={self.state_size}, input_size={self.input_size})"


def from_torch(module, state_size=None, input_size=None, name=None, check=True):
    """A PyTorch recurrent module (or a function of tensors) as a map model.

    Parameters
    ----------
    module : torch.nn.Module or callable
        ``torch.nn.RNNCell``, ``GRUCell`` or ``LSTMCell`` become biodyn's own numpy cells
        (:class:`biodyn.dynamics.RNNCell`, ...) with float64 copies of the module's
        weights — the same equations; an LSTM's state is ``concatenate([h, c])``. Any other
        module is called as ``module(x, s)`` (PyTorch's cell convention) on 1-D tensors; a
        plain function as ``fn(s, x)``. Both are differentiated by ``torch.func``.
    state_size, input_size : int, optional
        Required for anything but the three standard cells.

    Returns
    -------
    RNNCell, GRUCell, LSTMCell or TorchMap
    """
    try:
        import torch
    except ImportError as exc:
        raise BiodynError("from_torch needs PyTorch (not a biodyn dependency): pip install torch") from exc
    from ._rnn_cells import GRUCell, LSTMCell, RNNCell

    def weights(m):
        w = {k: v.detach().to(torch.float64).numpy().copy() for k, v in m.named_parameters()}
        return w["weight_ih"], w["weight_hh"], w.get("bias_ih"), w.get("bias_hh")

    if isinstance(module, torch.nn.RNNCell):
        return RNNCell(*weights(module), nonlinearity=module.nonlinearity)
    if isinstance(module, torch.nn.GRUCell):
        return GRUCell(*weights(module))
    if isinstance(module, torch.nn.LSTMCell):
        return LSTMCell(*weights(module))
    if state_size is None or input_size is None:
        raise BiodynError(f"from_torch: give state_size and input_size with the module {type(module).__name__} "
                          "(only torch.nn.RNNCell, GRUCell and LSTMCell carry their sizes)")
    model = TorchMap(module, state_size, input_size, name)
    if check:
        as_map(model)
    return model
