"""Feed-forward networks (MLP, ResNet) and backprop read as a reverse-time system.

A network is a chain :math:`s_l = F_l(s_{l-1};\\theta_l)`, :math:`l = 1..L`, with
:math:`s_0 = x` and output :math:`y = s_L`. Backprop runs the linear system

.. math::

    \\delta_L = \\partial L/\\partial y, \\qquad
    \\delta_{l-1} = J_l^{\\top}\\delta_l, \\qquad
    \\nabla_{\\theta_l} L = (\\partial F_l/\\partial\\theta_l)^{\\top}\\delta_l ,

backwards in depth; :func:`Network.backprop` records the forward states :math:`s_l`, the
backward signals :math:`\\delta_l`, the per-layer gradient norms and, on demand, the
per-layer Jacobians :math:`J_l` (per sample). The input–output Jacobian is the product
:math:`J = J_L\\cdots J_1`; its singular values (Saxe et al. 2014; Pennington et al. 2017)
say whether the backward signal vanishes or explodes (Pascanu et al. 2013).

References
----------
Pascanu R, Mikolov T, Bengio Y (2013) On the difficulty of training recurrent neural
networks. ICML, PMLR 28(3):1310-1318. arXiv:1211.5063.
Saxe AM, McClelland JL, Ganguli S (2014) ICLR 2014. arXiv:1312.6120.
Pennington J, Schoenholz SS, Ganguli S (2017) NeurIPS 30:4785-4795. arXiv:1711.04735.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import BiodynError, SpecError
from ._init import initialiser
from ._layers import Dense, Residual
from ._losses import loss_function

__all__ = ["BackpropRecord", "Network", "MLP", "ResNet", "chain_forward", "chain_backward"]


# ----------------------------------------------------------------------------------------
# the chain: forward and reverse passes shared by every network
# ----------------------------------------------------------------------------------------
def chain_forward(steps, params, s0, inputs=None):
    """Run :math:`s_l = F_l(s_{l-1}, u_l)`; return the states ``[s_0..s_L]`` and the caches."""
    states, caches = [s0], []
    for l, step in enumerate(steps):
        s, c = step.forward(params, states[-1], None if inputs is None else inputs[l])
        states.append(s)
        caches.append(c)
    return states, caches


def chain_backward(steps, params, caches, direct, shape_of=None):
    """Run the reverse-time system :math:`\\delta_{l-1} = J_l^{\\top}\\delta_l + d_{l-1}`.

    Parameters
    ----------
    direct : dict {l: array}
        Direct loss gradients :math:`d_l = \\partial L/\\partial s_l` injected at state ``l``
        (the output for a feed-forward net; every readout time for a recurrent one).

    Returns
    -------
    deltas : list of arrays, :math:`\\delta_0..\\delta_L`
    grads : dict of parameter gradients (summed over shared steps)
    step_norms : array (L,), :math:`\\lVert\\nabla_{\\theta} L\\rVert` of each step's own contribution
    """
    L = len(steps)
    deltas = [None] * (L + 1)
    deltas[L] = direct[L]
    grads, norms = {}, np.zeros(L)
    for l in range(L, 0, -1):
        g, gr = steps[l - 1].vjp(params, caches[l - 1], deltas[l])
        norms[l - 1] = np.sqrt(sum(float(np.sum(v * v)) for v in gr.values()))
        for k, v in gr.items():
            grads[k] = grads[k] + v if k in grads else v
        if (l - 1) in direct:
            g = g + direct[l - 1]
        deltas[l - 1] = g
    return deltas, grads, norms


@dataclass
class BackpropRecord:
    """The forward and backward trajectories of one backprop pass.

    Attributes
    ----------
    loss : float
    states : list of arrays
        Forward states :math:`s_0 = x, s_1, \\dots, s_L` (each ``(batch, n_l)``).
    deltas : list of arrays
        Backward signals :math:`\\delta_l = \\partial L/\\partial s_l`, same shapes.
    grads : dict
        :math:`\\nabla_\\theta L` by parameter name.
    step_grad_norms : ndarray (L,)
        :math:`\\lVert\\nabla_{\\theta_l}L\\rVert_F` of step :math:`l` (a layer, or a time step's
        contribution to the shared recurrent weights).
    """

    loss: float
    states: list
    deltas: list
    grads: dict
    step_grad_norms: np.ndarray
    _steps: list = field(repr=False, default=None)
    _params: dict = field(repr=False, default=None)
    _caches: list = field(repr=False, default=None)

    @property
    def depth(self):
        return len(self.states) - 1

    @property
    def delta_norms(self):
        """:math:`\\lVert\\delta_l\\rVert_F` (over the batch) for :math:`l = 0..L`."""
        return np.array([np.sqrt(np.sum(d * d)) for d in self.deltas])

    def jacobian(self, l):
        """:math:`J_l = \\partial s_l/\\partial s_{l-1}` per sample, ``(batch, n_l, n_{l-1})``; ``l = 1..L``."""
        if not 1 <= l <= self.depth:
            raise BiodynError(f"jacobian({l}): the layer index runs from 1 to {self.depth}")
        return self._steps[l - 1].jacobian(self._params, self._caches[l - 1])

    def jacobians(self):
        """``[J_1, ..., J_L]`` (each per sample)."""
        return [self.jacobian(l) for l in range(1, self.depth + 1)]

    def input_output_jacobian(self, first=1, last=None):
        """:math:`J_{last}\\cdots J_{first}` per sample (default: the whole network)."""
        last = self.depth if last is None else last
        P = None
        for l in range(first, last + 1):
            J = self.jacobian(l)
            P = J if P is None else J @ P
        return P

    def summary(self):
        """Plain data for plots and JSON: loss, per-step gradient and delta norms."""
        return {"loss": float(self.loss), "step_grad_norms": self.step_grad_norms.tolist(),
                "delta_norms": self.delta_norms.tolist()}


# ----------------------------------------------------------------------------------------
# networks
# ----------------------------------------------------------------------------------------
class Network:
    """Base class: a parameter dict, flattening, loss/gradient/HVP helpers.

    Subclasses set ``self.steps`` (and ``self.params``) and may override
    :meth:`backprop` (recurrent nets add readouts at every time step).
    """

    seed: int = 0

    def _init_params(self, init, seed, extra=None):
        rng = np.random.default_rng(seed)
        params = {}
        for step in self.steps:
            if all(k in params for k in step.param_shapes):
                continue  # shared parameters: drawn once
            params.update(step.init_params(rng, init))
        self.params = params

    # parameters as one flat vector (the optimisers' view) -------------------------------
    @property
    def param_names(self):
        return list(self.params)

    @property
    def n_params(self):
        return int(sum(v.size for v in self.params.values()))

    def ravel(self, params=None):
        """The parameters as one flat vector (in ``param_names`` order)."""
        params = self.params if params is None else params
        return np.concatenate([np.asarray(params[k], float).ravel() for k in self.params])

    def unravel(self, vec):
        """A parameter dict from a flat vector."""
        vec = np.asarray(vec, float)
        if vec.shape != (self.n_params,):
            raise BiodynError(f"unravel: expected a vector of {self.n_params} parameters, found shape {vec.shape}")
        out, i = {}, 0
        for k, v in self.params.items():
            out[k] = vec[i:i + v.size].reshape(v.shape)
            i += v.size
        return out

    def copy(self, params=None):
        """The same network with other (or copied) parameters."""
        import copy as _copy

        new = _copy.copy(self)
        src = self.params if params is None else params
        new.params = {k: np.array(v, float) for k, v in src.items()}
        return new

    # forward ------------------------------------------------------------------------------
    def _check_input(self, x):
        x = np.asarray(x, float)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise SpecError(None, "x", f"inputs of shape (batch, {self.n_in})", f"shape {np.shape(x)}")
        return x

    def forward(self, x, params=None):
        """States :math:`[s_0..s_L]` and the caches of every step."""
        p = self.params if params is None else params
        return chain_forward(self.steps, p, self._check_input(x))

    def __call__(self, x, params=None):
        return self.forward(x, params)[0][-1]

    # backprop ----------------------------------------------------------------------------
    def backprop(self, x, t, loss="mse", params=None):
        """One forward and one reverse-time pass, recorded (:class:`BackpropRecord`)."""
        p = self.params if params is None else params
        lf = loss_function(loss)
        states, caches = self.forward(x, p)
        y = states[-1]
        t = np.asarray(t, float) if lf.targets == "values" else np.asarray(t)
        if lf.targets == "values" and t.shape != y.shape:
            t = t.reshape(y.shape) if t.size == y.size else t
            if t.shape != y.shape:
                raise SpecError(None, "t", f"targets of shape {y.shape}", f"shape {t.shape}")
        deltas, grads, norms = chain_backward(self.steps, p, caches, {len(self.steps): lf.grad(y, t)})
        return BackpropRecord(lf.value(y, t), states, deltas, grads, norms, self.steps, p, caches)

    def loss(self, x, t, loss="mse", params=None):
        """The loss value."""
        lf = loss_function(loss)
        return lf.value(self(x, params), t)

    def gradient(self, x, t, loss="mse", params=None):
        """:math:`\\nabla_\\theta L` as a dict."""
        return self.backprop(x, t, loss, params).grads

    def hvp(self, x, t, v, loss="mse", params=None):
        """Exact Hessian-vector product :math:`H v` by forward-over-reverse (R-operator).

        Pearlmutter's R-operator :math:`R_v\\{\\cdot\\} = \\frac{d}{dr}(\\cdot)(\\theta + r v)|_{r=0}`
        is pushed through the forward pass and then through the backward pass; the
        R-image of the gradient is :math:`Hv` exactly (no finite-difference step).

        Parameters
        ----------
        v : dict or flat array
            The direction (same structure as the parameters).

        Returns
        -------
        dict (or flat array if ``v`` was flat)
        """
        if not all(getattr(s, "exact_hvp", False) for s in self.steps):
            raise BiodynError(f"{type(self).__name__}: exact Hessian-vector products need steps with an "
                              "R-operator (Dense, Residual); use biodyn.ann.fd_hvp instead")
        flat = not isinstance(v, dict)
        vd = self.unravel(v) if flat else v
        p = self.params if params is None else params
        lf = loss_function(loss)
        states, caches = self.forward(x, p)
        rstates, rcaches = [None], []
        for step, c in zip(self.steps, caches):
            rs, rc = step.rforward(p, vd, c, rstates[-1])
            rstates.append(rs)
            rcaches.append(rc)
        y = states[-1]
        deltas, _, _ = chain_backward(self.steps, p, caches, {len(self.steps): lf.grad(y, t)})
        rg = lf.hvp(y, t, rstates[-1])
        out = {}
        for l in range(len(self.steps), 0, -1):
            rg, rgr = self.steps[l - 1].rvjp(p, vd, caches[l - 1], rcaches[l - 1], rstates[l - 1],
                                             deltas[l], rg)
            for k, val in rgr.items():
                out[k] = out[k] + val if k in out else val
        for k in self.params:
            out.setdefault(k, np.zeros_like(self.params[k]))
        return self.ravel(out) if flat else out

    def input_output_jacobian(self, x, params=None):
        """:math:`\\partial y/\\partial x = J_L\\cdots J_1` per sample, ``(batch, n_out, n_in)``."""
        p = self.params if params is None else params
        states, caches = self.forward(x, p)
        P = None
        for step, c in zip(self.steps, caches):
            J = step.jacobian(p, c)
            P = J if P is None else J @ P
        return P

    def objective(self, x, t, loss="mse", batch_size=None):
        """The training loss as a function of the flat parameter vector (for the optimisers)."""
        from ._objectives import NetworkObjective

        return NetworkObjective(self, x, t, loss=loss, batch_size=batch_size)


def _check_sizes(sizes):
    try:
        sizes = [int(n) for n in sizes]
    except (TypeError, ValueError):
        raise SpecError(None, "sizes", "a list of layer widths (ints)", repr(sizes)) from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise SpecError(None, "sizes", "at least two positive widths [n_in, ..., n_out]", repr(sizes))
    return sizes


class MLP(Network):
    """Multilayer perceptron :math:`s_l = \\phi_l(W_l s_{l-1} + b_l)`.

    Parameters
    ----------
    sizes : list of int
        ``[n_in, n_1, ..., n_out]``; a net of depth ``len(sizes) - 1``.
    activation : str
        Hidden nonlinearity: ``"tanh"``, ``"relu"``, ``"linear"``.
    output_activation : str
        Nonlinearity of the last layer (default ``"linear"``; pass ``None`` to use
        ``activation`` everywhere, as in the Jacobian-spectrum analyses).
    init : {"gaussian", "orthogonal"} or initialiser
        :math:`W \\sim \\mathcal N(0,\\sigma_w^2/n_{in})` or :math:`\\sigma_w\\times` Haar orthogonal;
        biases :math:`\\mathcal N(0, \\sigma_b^2)`.
    sigma_w, sigma_b : float
    bias : bool
    seed : int
        Seed of the initialisation (recorded as ``net.seed``).

    Examples
    --------
    >>> net = MLP([3, 16, 16, 1], "tanh", seed=1)
    >>> rec = net.backprop(np.ones((5, 3)), np.zeros((5, 1)))
    >>> len(rec.deltas)
    4
    """

    def __init__(self, sizes, activation="tanh", output_activation="linear", init="gaussian",
                 sigma_w=1.0, sigma_b=0.0, bias=True, seed=0):
        sizes = _check_sizes(sizes)
        out_act = activation if output_activation is None else output_activation
        self.sizes = sizes
        self.n_in, self.n_out = sizes[0], sizes[-1]
        self.activation = activation
        self.init = initialiser(init, sigma_w, sigma_b)
        self.seed = int(seed)
        L = len(sizes) - 1
        self.steps = [Dense(sizes[i], sizes[i + 1], activation if i < L - 1 else out_act, bias, name=f"layer{i + 1}")
                      for i in range(L)]
        self._init_params(self.init, self.seed)

    def __repr__(self):
        return f"MLP({self.sizes}, {self.activation!r}, seed={self.seed})"


class ResNet(Network):
    """Residual network :math:`s_l = s_{l-1} + h\\,F_l(s_{l-1})`, between an input embedding and a readout.

    With ``shared=True`` every block uses the same :math:`F` and the stack of ``depth`` blocks
    with :math:`h = T/\\text{depth}` is forward Euler for the neural ODE :math:`\\dot z = F(z)`
    on :math:`[0, T]` (see :func:`biodyn.ann.resnet_euler_convergence`).

    Parameters
    ----------
    n_in, width, depth, n_out : int
    activation : str
    hidden : int or None
        Hidden width of each block's :math:`F` (``None``: :math:`F(s) = \\phi(Ws + b)`).
    step : float
        :math:`h`.
    shared : bool
        One :math:`F` for all blocks (weight tying).
    embed, readout : bool
        Linear maps ``n_in -> width`` and ``width -> n_out`` (needed when the widths differ).
    init, sigma_w, sigma_b, bias, seed : as :class:`MLP`
    """

    def __init__(self, n_in, width, depth, n_out, activation="tanh", hidden=None, step=1.0, shared=False,
                 embed=True, readout=True, init="gaussian", sigma_w=1.0, sigma_b=0.0, bias=True, seed=0):
        n_in, width, depth, n_out = (int(v) for v in (n_in, width, depth, n_out))
        if not embed and n_in != width:
            raise SpecError(None, "embed", f"embed=True when n_in ({n_in}) != width ({width})", "embed=False")
        if not readout and n_out != width:
            raise SpecError(None, "readout", f"readout=True when n_out ({n_out}) != width ({width})", "readout=False")
        if depth < 0:
            raise SpecError(None, "depth", "a non-negative number of blocks", repr(depth))
        self.n_in, self.width, self.depth, self.n_out = n_in, width, depth, n_out
        self.activation, self.h, self.shared = activation, float(step), bool(shared)
        self.init = initialiser(init, sigma_w, sigma_b)
        self.seed = int(seed)
        steps = [Dense(n_in, width, "linear", bias, name="embed")] if embed else []
        steps += [Residual(width, hidden, activation, step, bias, name="block" if shared else f"block{i + 1}")
                  for i in range(depth)]
        if readout:
            steps.append(Dense(width, n_out, "linear", bias, name="readout"))
        self.steps = steps
        self._init_params(self.init, self.seed)

    def __repr__(self):
        return (f"ResNet({self.n_in}->{self.width}x{self.depth}->{self.n_out}, {self.activation!r}, "
                f"step={self.h:g}, shared={self.shared}, seed={self.seed})")
