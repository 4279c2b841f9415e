"""Recurrent networks (vanilla RNN, GRU, LSTM) and backprop through time.

The cells are those of :mod:`biodyn.dynamics` (forward step, state Jacobian
:math:`D_t = \\partial s_t/\\partial s_{t-1}`, state vector–Jacobian product; PyTorch's
weight layout and gate order). This module adds what training needs: the gradients with
respect to the weights, and the network around the cell (a linear readout of :math:`h`
at the last step or at every step).

Backprop through time is the reverse-time linear system

.. math::

    \\delta_T = \\frac{\\partial L}{\\partial s_T},\\qquad
    \\delta_{t-1} = D_t^{\\top}\\delta_t + \\frac{\\partial L}{\\partial s_{t-1}}\\Big|_{\\rm readout},

driven backwards by the readout errors; its growth or decay over :math:`T` steps is set by
the products :math:`D_T\\cdots D_{t+1}` — for long sequences, by the Lyapunov spectrum of
the forward dynamics (Pascanu et al. 2013; Vogt et al. 2022; Engelken 2023), compared in
:func:`biodyn.ann.jacobian_product_exponents`.

Parameter gradients (the cell's gate pre-activations :math:`a = a^x + a^h`,
:math:`a^x = W_{ih}x + b_{ih}`, :math:`a^h = W_{hh}h + b_{hh}`): with covectors
:math:`\\bar a^x, \\bar a^h` on them, :math:`\\nabla_{W_{ih}} = \\sum \\bar a^x x^{\\top}`,
:math:`\\nabla_{W_{hh}} = \\sum \\bar a^h h^{\\top}`, :math:`\\nabla_{b_{ih}} = \\sum\\bar a^x`,
:math:`\\nabla_{b_{hh}} = \\sum\\bar a^h`; :math:`\\bar a^x = \\bar a^h` except for the GRU's
candidate gate, where :math:`\\bar a^h_n = r\\odot\\bar a^x_n`.

References
----------
Werbos PJ (1990) Backpropagation through time: what it does and how to do it. Proc IEEE
78(10):1550-1560. doi:10.1109/5.58337
Pascanu R, Mikolov T, Bengio Y (2013) ICML, PMLR 28(3):1310-1318. arXiv:1211.5063
Engelken R (2023) Gradient flossing: improving gradient descent through dynamic control of
Jacobians. NeurIPS 36. arXiv:2312.17306
Cho K et al. (2014) Proc EMNLP 2014:1724-1734. doi:10.3115/v1/D14-1179
Hochreiter S, Schmidhuber J (1997) Neural Comput 9:1735-1780. doi:10.1162/neco.1997.9.8.1735
"""

from __future__ import annotations

import numpy as np

from ..errors import SpecError, suggest
from ._init import Gaussian, initialiser
from ._layers import Dense
from ._losses import loss_function
from ._nets import BackpropRecord, Network, chain_backward, chain_forward

__all__ = ["RNN", "CellStep"]


def _cells():
    from ..dynamics import CELLS

    return CELLS


class CellStep:
    """A :mod:`biodyn.dynamics` cell as a step of the chain, with its weight gradients.

    Parameters are ``name.W_ih`` ``(G*H, I)``, ``name.W_hh`` ``(G*H, H)``, ``name.b_ih``,
    ``name.b_hh`` ``(G*H,)`` (G = 1, 3, 4 gates for rnn, gru, lstm).
    """

    exact_hvp = False

    def __init__(self, kind, n_input, n_hidden, nonlinearity="tanh", name=None):
        cells = _cells()
        if kind not in cells:
            raise SpecError(None, "cell", "one of " + ", ".join(cells), repr(kind), suggest(str(kind), cells))
        if kind == "rnn" and nonlinearity not in ("tanh", "relu"):
            raise SpecError(None, "nonlinearity", "'tanh' or 'relu'", repr(nonlinearity))
        self.kind, self.cls = kind, cells[kind]
        self.G = self.cls.gates
        self.n_input, self.H = int(n_input), int(n_hidden)
        self.n_in = self.n_out = 2 * self.H if kind == "lstm" else self.H
        self.nonlinearity = nonlinearity
        self.name = name or kind
        self.keys = {k: f"{self.name}.{k}" for k in ("W_ih", "W_hh", "b_ih", "b_hh")}

    def __repr__(self):
        return f"CellStep({self.kind}, {self.n_input}->{self.H})"

    @property
    def param_shapes(self):
        G, H, I = self.G, self.H, self.n_input
        return {self.keys["W_ih"]: (G * H, I), self.keys["W_hh"]: (G * H, H),
                self.keys["b_ih"]: (G * H,), self.keys["b_hh"]: (G * H,)}

    def init_params(self, rng, init, input_init=None):
        G, H, I = self.G, self.H, self.n_input
        input_init = input_init or Gaussian(1.0, 0.0)
        W_hh = np.vstack([init.weight(H, H, rng) for _ in range(G)])
        W_ih = np.vstack([input_init.weight(H, I, rng) for _ in range(G)])
        return {self.keys["W_ih"]: W_ih, self.keys["W_hh"]: W_hh,
                self.keys["b_ih"]: np.concatenate([init.bias(H, rng) for _ in range(G)]),
                self.keys["b_hh"]: np.zeros(G * H)}

    def cell(self, p):
        """The :mod:`biodyn.dynamics` cell carrying these parameters."""
        k = self.keys
        kw = {"nonlinearity": self.nonlinearity} if self.kind == "rnn" else {}
        return self.cls(p[k["W_ih"]], p[k["W_hh"]], p[k["b_ih"]], p[k["b_hh"]], **kw)

    def forward(self, p, s, u=None):
        c = self.cell(p)
        return c.step(s, u), (c, s, u)

    def jacobian(self, p, cache):
        c, s, u = cache
        return c.jacobian(s, u)

    def vjp(self, p, cache, g):
        c, s, u = cache
        bx, bh = c.pre_covectors(s, u, g)
        h = s[..., :self.H]
        k = self.keys
        grads = {k["W_ih"]: bx.T @ u, k["W_hh"]: bh.T @ h, k["b_ih"]: bx.sum(axis=0), k["b_hh"]: bh.sum(axis=0)}
        return c.vjp(s, u, g), grads


class RNN(Network):
    """A recurrent network: a cell (``"rnn"``, ``"gru"``, ``"lstm"``) and a linear readout of :math:`h`.

    :math:`s_t = F(s_{t-1}, x_t)`, :math:`y_t = V h_t + c`; the loss is on :math:`y_T`
    (``readout="last"``) or on every :math:`y_t` (``readout="all"``, averaged over batch and
    time).

    Parameters
    ----------
    n_in, n_hidden, n_out : int
    cell : {"rnn", "gru", "lstm"}
    nonlinearity : {"tanh", "relu"}
        Vanilla RNN only.
    init : {"gaussian", "orthogonal"}
        For each gate block of :math:`W_{hh}`: :math:`\\mathcal N(0, \\sigma_w^2/H)` or
        :math:`\\sigma_w\\times` Haar orthogonal; :math:`b_{ih} \\sim \\mathcal N(0,\\sigma_b^2)`,
        :math:`b_{hh} = 0`; :math:`W_{ih} \\sim \\mathcal N(0, \\text{input\\_scale}^2/I)`.
    sigma_w, sigma_b, input_scale : float
    readout : {"last", "all"}
    seed : int

    Inputs are ``(batch, T, n_in)``; the initial state is zero unless ``s0`` is given.
    """

    def __init__(self, n_in, n_hidden, n_out, cell="rnn", nonlinearity="tanh", init="gaussian", sigma_w=1.0,
                 sigma_b=0.0, input_scale=1.0, readout="last", seed=0):
        if readout not in ("last", "all"):
            raise SpecError(None, "readout", "'last' or 'all'", repr(readout))
        self.cellstep = CellStep(cell, n_in, n_hidden, nonlinearity, name="cell")
        self.kind = cell
        self.n_in, self.n_hidden, self.n_out = int(n_in), int(n_hidden), int(n_out)
        self.state_size = self.cellstep.n_out
        self.readout_mode = readout
        self.readout = Dense(n_hidden, n_out, "linear", True, name="readout")
        self.init = initialiser(init, sigma_w, sigma_b)
        self.seed = int(seed)
        rng = np.random.default_rng(self.seed)
        self.params = {**self.cellstep.init_params(rng, self.init, Gaussian(float(input_scale), 0.0)),
                       **self.readout.init_params(rng, Gaussian(1.0, 0.0))}
        self.steps = [self.cellstep]

    def __repr__(self):
        return (f"RNN({self.kind}, {self.n_in}->{self.n_hidden}->{self.n_out}, "
                f"readout={self.readout_mode!r}, seed={self.seed})")

    def cell(self, params=None):
        """The :mod:`biodyn.dynamics` cell with the current weights (for Lyapunov spectra)."""
        return self.cellstep.cell(self.params if params is None else params)

    def _check_input(self, x):
        x = np.asarray(x, float)
        if x.ndim == 2 and self.n_in == 1:
            x = x[..., None]
        if x.ndim != 3 or x.shape[2] != self.n_in:
            raise SpecError(None, "x", f"inputs of shape (batch, T, {self.n_in})", f"shape {np.shape(x)}")
        return x

    def run(self, x, params=None, s0=None):
        """States :math:`[s_0..s_T]` (``(batch, state)`` each) and the caches, for inputs ``(batch, T, n_in)``."""
        p = self.params if params is None else params
        x = self._check_input(x)
        B, T, _ = x.shape
        s0 = np.zeros((B, self.state_size)) if s0 is None else np.broadcast_to(np.asarray(s0, float),
                                                                               (B, self.state_size)).copy()
        return chain_forward([self.cellstep] * T, p, s0, [x[:, t, :] for t in range(T)])

    def forward(self, x, params=None, s0=None):
        return self.run(x, params, s0)

    def __call__(self, x, params=None, s0=None):
        p = self.params if params is None else params
        states = self.run(x, p, s0)[0]
        H = self.n_hidden
        if self.readout_mode == "last":
            return self.readout.forward(p, states[-1][:, :H])[0]
        hs = np.stack([s[:, :H] for s in states[1:]], axis=1)  # (B, T, H)
        B, T, _ = hs.shape
        return self.readout.forward(p, hs.reshape(B * T, H))[0].reshape(B, T, -1)

    def backprop(self, x, t, loss="mse", params=None, s0=None):
        """Backprop through time, recorded (:class:`BackpropRecord`; step :math:`l` = time step)."""
        p = self.params if params is None else params
        lf = loss_function(loss)
        states, caches = self.run(x, p, s0)
        B, T, H = states[0].shape[0], len(states) - 1, self.n_hidden
        pad = self.state_size - H

        def to_state(gh):
            return np.hstack([gh, np.zeros((gh.shape[0], pad))]) if pad else gh

        if self.readout_mode == "last":
            y, rc = self.readout.forward(p, states[-1][:, :H])
            tt = np.asarray(t, float).reshape(y.shape) if lf.targets == "values" else t
            value = lf.value(y, tt)
            gh, rgrads = self.readout.vjp(p, rc, lf.grad(y, tt))
            direct = {T: to_state(gh)}
        else:
            hs = np.stack([s[:, :H] for s in states[1:]], axis=1).reshape(B * T, H)
            y, rc = self.readout.forward(p, hs)
            t_arr = np.asarray(t)
            if t_arr.ndim < 2 or t_arr.shape[:2] != (B, T):
                raise SpecError(None, "t", f"targets of shape ({B}, {T}, ...) for readout='all'",
                                f"shape {t_arr.shape}")
            tt = t_arr.reshape(B * T, *t_arr.shape[2:])
            if lf.targets == "values":
                tt = tt.astype(float).reshape(y.shape)
            value = lf.value(y, tt)
            gh, rgrads = self.readout.vjp(p, rc, lf.grad(y, tt))
            gh = gh.reshape(B, T, H)
            direct = {t_ + 1: to_state(gh[:, t_, :]) for t_ in range(T)}
        deltas, grads, norms = chain_backward([self.cellstep] * T, p, caches, direct)
        grads.update(rgrads)
        return BackpropRecord(value, states, deltas, grads, norms, [self.cellstep] * T, p, caches)

    def loss(self, x, t, loss="mse", params=None):
        return self.backprop(x, t, loss, params).loss

    def hvp(self, *args, **kwargs):
        from ..errors import BiodynError

        raise BiodynError("RNN: no exact Hessian-vector products (no R-operator for the cells); use fd_hvp")

    def input_output_jacobian(self, x, params=None):
        """:math:`\\partial s_T/\\partial s_0 = D_T\\cdots D_1` per sample (the state-to-state Jacobian)."""
        rec_states, caches = self.run(x, params)
        P = None
        p = self.params if params is None else params
        for c in caches:
            J = self.cellstep.jacobian(p, c)
            P = J if P is None else J @ P
        return P
