r"""Recurrent cells as maps: forward step and state Jacobian, in numpy.

A recurrent cell is a driven map :math:`s_{t+1} = F(s_t, x_t)` of its state :math:`s`
under an input :math:`x_t`. Its Lyapunov spectrum (under a given input sequence) comes
from products of the state Jacobians :math:`D_t = \partial F/\partial s\,(s_t, x_t)`, so
every cell here offers

* ``step(s, x)`` — the next state;
* ``jacobian(s, x)`` — :math:`D = \partial F/\partial s` as a dense matrix;
* ``jvp(s, x, Q)`` — :math:`D\,Q` without forming :math:`D` (one matrix product with the
  stacked recurrent weights; what the QR method needs);
* ``vjp(s, x, v)`` — :math:`v^\top D` (what backpropagation through time needs).

The forward equations are written once, over an array namespace (:func:`cell_step`,
``rnn_equations``, ``gru_equations``, ``lstm_equations`` take ``xp`` = ``numpy`` or
``jax.numpy``): the numpy cells below and the JAX networks of :mod:`biodyn.learn` run the
same code, and the Jacobians and reverse-time products written out here are the reference
the automatic derivatives are tested against.

States and inputs are 1-D arrays, or arrays with leading batch dimensions (``(..., n)``);
``jacobian`` then returns ``(..., n, n)``. Weights follow PyTorch's layout and gate
order, so that weights of ``torch.nn.RNNCell``/``GRUCell``/``LSTMCell`` can be passed as
they are (``W_ih`` is ``(gates*H, I)``, ``W_hh`` is ``(gates*H, H)``):

=========  ============================================================================
cell       update (:math:`\sigma` logistic, :math:`\odot` elementwise)
=========  ============================================================================
RNN        :math:`h' = \phi(W_{ih}x + b_{ih} + W_{hh}h + b_{hh})`, :math:`\phi` = tanh or relu
GRU        :math:`r = \sigma(a_r)`, :math:`z = \sigma(a_z)` with
           :math:`a_\ast = W_{i\ast}x + b_{i\ast} + W_{h\ast}h + b_{h\ast}`;
           :math:`n = \tanh(W_{in}x + b_{in} + r\odot(W_{hn}h + b_{hn}))`;
           :math:`h' = (1-z)\odot n + z\odot h` (Cho et al. 2014; gates r, z, n)
LSTM       :math:`i, f, g, o = \sigma(a_i), \sigma(a_f), \tanh(a_g), \sigma(a_o)`;
           :math:`c' = f\odot c + i\odot g`; :math:`h' = o\odot\tanh(c')`
           (Hochreiter & Schmidhuber 1997, with forget gate of Gers et al. 2000)
=========  ============================================================================

The state of an LSTM is the pair :math:`s = (h, c)`, stored as one vector
``concatenate([h, c])`` of length :math:`2H`. Its :meth:`LSTMCell.jacobian` is the full
:math:`2H\times 2H` Jacobian of that map,

.. math::

    D = \begin{pmatrix} \partial h'/\partial h & \partial h'/\partial c \\
                        \partial c'/\partial h & \partial c'/\partial c \end{pmatrix},
    \quad \partial c'/\partial c = \mathrm{diag}(f),\quad
    \partial h'/\partial c = \mathrm{diag}(o\,(1-\tanh^2 c')\,f),

so its Lyapunov exponents are those of the LSTM as a dynamical system (:math:`2H` of
them). Vogt et al. (2022) used the :math:`H\times H` block :math:`\partial h'/\partial h`
only (the cell state held fixed); :meth:`LSTMCell.jacobian_h` gives that block for
comparison — its "exponents" are not Lyapunov exponents of the LSTM map, because the cell
state also carries perturbations forward.

References
----------
Cho K et al. (2014) Learning phrase representations using RNN encoder-decoder for
statistical machine translation. Proc EMNLP 2014:1724-1734. doi:10.3115/v1/D14-1179
Hochreiter S, Schmidhuber J (1997) Long short-term memory. Neural Comput 9:1735-1780.
doi:10.1162/neco.1997.9.8.1735
Gers FA, Schmidhuber J, Cummins F (2000) Learning to forget: continual prediction with
LSTM. Neural Comput 12:2451-2471. doi:10.1162/089976600300015015
Vogt R, Puelma Touzel M, Shlizerman E, Lajoie G (2022) On Lyapunov exponents for RNNs:
understanding information propagation using dynamical systems tools. Front Appl Math Stat
8:818799. doi:10.3389/fams.2022.818799
"""

from __future__ import annotations

import numpy as np

from ..errors import BiodynError

__all__ = ["RNNCell", "GRUCell", "LSTMCell", "CELLS", "DrivenCell", "cell_step"]


# --------------------------------------------------------------------------
# The cell equations, written once over an array namespace ``xp`` (numpy here; jax.numpy in
# biodyn.learn, whose gradients by automatic differentiation are checked against the explicit
# Jacobians and reverse-time recursions of this module).
# --------------------------------------------------------------------------


def sigmoid(xp, a):
    r"""Logistic function :math:`1/(1+e^{-a}) = (1+\tanh(a/2))/2` (no overflow warnings).

    With ``jax.numpy``, JAX's own ``jax.nn.sigmoid`` (one primitive, ``lax.logistic``, the
    same function to rounding): through the tanh form, backprop through time of an LSTM
    (H = 128, T = 200) took 12-15% longer (``benchmarks/train.py``)."""
    if getattr(xp, "__name__", "") == "jax.numpy":
        import jax

        return jax.nn.sigmoid(a)
    return 0.5 * (1.0 + xp.tanh(0.5 * a))


def pre_activations(W_ih, W_hh, b_ih, b_hh, h, x):
    r"""Input and recurrent parts of the gate pre-activations, :math:`(xW_{ih}^\top + b_{ih},
    hW_{hh}^\top + b_{hh})`, ``(..., G*H)`` each."""
    return x @ W_ih.T + b_ih, h @ W_hh.T + b_hh


def rnn_equations(xp, ax, ah, nonlinearity="tanh"):
    r"""Elman cell: :math:`h' = \phi(a^x + a^h)`."""
    a = ax + ah
    return xp.tanh(a) if nonlinearity == "tanh" else xp.maximum(a, 0.0)


def gru_equations(xp, ax, ah, H):
    r"""GRU gates ``(r, z, u, n)`` from the pre-activations (PyTorch's order r, z, n);
    :math:`h' = (1-z)\odot n + z\odot h`."""
    r = sigmoid(xp, ax[..., :H] + ah[..., :H])
    z = sigmoid(xp, ax[..., H:2 * H] + ah[..., H:2 * H])
    u = ah[..., 2 * H:]
    n = xp.tanh(ax[..., 2 * H:] + r * u)
    return r, z, u, n


def lstm_equations(xp, ax, ah, c, H):
    r"""LSTM gates and new cell state ``(i, f, g, o, c', tanh c')`` (PyTorch's order i, f, g, o);
    :math:`h' = o\odot\tanh c'`."""
    a = ax + ah
    i = sigmoid(xp, a[..., :H])
    f = sigmoid(xp, a[..., H:2 * H])
    g = xp.tanh(a[..., 2 * H:3 * H])
    o = sigmoid(xp, a[..., 3 * H:])
    c2 = f * c + i * g
    return i, f, g, o, c2, xp.tanh(c2)


def cell_step(xp, kind, W_ih, W_hh, b_ih, b_hh, s, x, nonlinearity="tanh"):
    r"""One step :math:`s' = F(s, x)` of the cell ``kind`` (``rnn``, ``gru``, ``lstm``; the LSTM
    state is ``concatenate([h, c])``), in the namespace ``xp``: the equations the numpy cells
    below use, for any array library with numpy's API (``jax.numpy``)."""
    H = W_hh.shape[1]
    h = s[..., :H]
    ax, ah = pre_activations(W_ih, W_hh, b_ih, b_hh, h, x)
    if kind == "rnn":
        return rnn_equations(xp, ax, ah, nonlinearity)
    if kind == "gru":
        r, z, u, n = gru_equations(xp, ax, ah, H)
        return (1.0 - z) * n + z * h
    i, f, g, o, c2, tc = lstm_equations(xp, ax, ah, s[..., H:], H)
    return xp.concatenate([o * tc, c2], axis=-1)


def _as_weights(name, W, shape):
    W = np.asarray(W, dtype=float)
    if W.shape != shape:
        raise BiodynError(f"{name}: expected an array of shape {shape}, found {W.shape}")
    return W


class _Cell:
    """Common part of the cells: weights, sizes, random initialisation."""

    gates = 1
    kind = "cell"

    def __init__(self, W_ih, W_hh, b_ih=None, b_hh=None):
        W_hh = np.asarray(W_hh, dtype=float)
        if W_hh.ndim != 2 or W_hh.shape[0] != self.gates * W_hh.shape[1]:
            raise BiodynError(f"{type(self).__name__}: W_hh must have shape ({self.gates}*H, H), "
                              f"found {W_hh.shape}")
        H = W_hh.shape[1]
        W_ih = np.asarray(W_ih, dtype=float)
        if W_ih.ndim == 1 and W_ih.size == self.gates * H:
            W_ih = W_ih[:, None]
        if W_ih.ndim != 2 or W_ih.shape[0] != self.gates * H:
            raise BiodynError(f"{type(self).__name__}: W_ih must have shape ({self.gates}*H, I) "
                              f"with H = {H}, found {W_ih.shape}")
        self.hidden_size = H
        self.input_size = W_ih.shape[1]
        self.W_ih = W_ih
        self.W_hh = W_hh
        zeros = np.zeros(self.gates * H)
        self.b_ih = zeros if b_ih is None else _as_weights("b_ih", b_ih, (self.gates * H,))
        self.b_hh = zeros if b_hh is None else _as_weights("b_hh", b_hh, (self.gates * H,))

    @property
    def state_size(self):
        """Length of the state vector (``H``; ``2H`` for the LSTM's ``(h, c)``)."""
        return self.hidden_size

    @classmethod
    def random(cls, hidden_size, input_size=1, *, seed=0, g=1.0, bias=0.0, **kwargs):
        r"""A cell with Gaussian weights: :math:`W_{hh} \sim \mathcal N(0, g^2/H)`,
        :math:`W_{ih} \sim \mathcal N(0, 1/I)`, biases :math:`\mathcal N(0, \text{bias}^2)`.

        ``seed`` seeds ``numpy.random.default_rng``; ``g`` is the recurrent gain.
        """
        rng = np.random.default_rng(seed)
        G, H, I = cls.gates, int(hidden_size), int(input_size)
        W_hh = rng.normal(0.0, g / np.sqrt(H), size=(G * H, H))
        W_ih = rng.normal(0.0, 1.0 / np.sqrt(max(I, 1)), size=(G * H, I))
        b_ih = rng.normal(0.0, bias, size=G * H) if bias else None
        return cls(W_ih, W_hh, b_ih, None, **kwargs)

    def _pre(self, h, x):
        """Input part and recurrent part of the gate pre-activations, ``(..., G*H)`` each."""
        x = np.asarray(x, dtype=float)
        if x.ndim == 0 or (x.shape[-1] != self.input_size and self.input_size == 1):
            x = x[..., None]
        return pre_activations(self.W_ih, self.W_hh, self.b_ih, self.b_hh, h, x)

    def zero_state(self, batch=()):
        return np.zeros(tuple(batch) + (self.state_size,))

    def jacobian(self, s, x):
        """The state Jacobian :math:`\\partial F/\\partial s`, ``(..., n, n)``."""
        s = np.asarray(s, dtype=float)
        n = self.state_size
        eye = np.broadcast_to(np.eye(n), s.shape[:-1] + (n, n))
        # J = jvp with Q = identity: exact, and shares the code of jvp
        return self.jvp(s, x, eye)

    def vjp(self, s, x, v):
        """:math:`v^\\top D` for a covector ``v`` of shape ``(..., n)``."""
        return np.einsum("...i,...ij->...j", v, self.jacobian(s, x))

    def __repr__(self):
        return f"{type(self).__name__}(hidden_size={self.hidden_size}, input_size={self.input_size})"


class RNNCell(_Cell):
    r"""Elman cell :math:`h' = \phi(W_{ih}x + b_{ih} + W_{hh}h + b_{hh})`.

    Jacobian :math:`D = \mathrm{diag}(\phi'(a))\,W_{hh}`.

    Parameters
    ----------
    W_ih : (H, I) array
    W_hh : (H, H) array
    b_ih, b_hh : (H,) arrays, optional
    nonlinearity : {"tanh", "relu"}
    """

    gates = 1
    kind = "rnn"

    def __init__(self, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
        super().__init__(W_ih, W_hh, b_ih, b_hh)
        if nonlinearity not in ("tanh", "relu"):
            raise BiodynError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', found {nonlinearity!r}")
        self.nonlinearity = nonlinearity

    def _phi(self, a):
        if self.nonlinearity == "tanh":
            y = np.tanh(a)
            return y, 1.0 - y * y
        return np.maximum(a, 0.0), (a > 0).astype(float)

    def step(self, h, x):
        ax, ah = self._pre(np.asarray(h, float), x)
        return rnn_equations(np, ax, ah, self.nonlinearity)

    def jvp(self, h, x, Q):
        h = np.asarray(h, float)
        ax, ah = self._pre(h, x)
        _, d = self._phi(ax + ah)
        return d[..., :, None] * (self.W_hh @ Q)

    def step_and_jvp(self, h, x, Q):
        h = np.asarray(h, float)
        ax, ah = self._pre(h, x)
        y, d = self._phi(ax + ah)
        return y, d[..., :, None] * (self.W_hh @ Q)

    def pre_covectors(self, h, x, v):
        """Covectors :math:`(\\bar a^x, \\bar a^h)` of ``v`` on the input and recurrent
        pre-activations (what backprop needs for the weight gradients): both ``v * phi'(a)``."""
        h = np.asarray(h, float)
        ax, ah = self._pre(h, x)
        b = v * self._phi(ax + ah)[1]
        return b, b

    def vjp(self, h, x, v):
        return self.pre_covectors(h, x, v)[1] @ self.W_hh


class GRUCell(_Cell):
    r"""Gated recurrent unit (PyTorch's convention: gates ``r, z, n``).

    .. math::

        D = \mathrm{diag}(z) + \mathrm{diag}\big((h-n)\,z(1-z)\big) W_{hz}
            + \mathrm{diag}\big((1-z)(1-n^2)\big)\big[\mathrm{diag}(u\,r(1-r))\,W_{hr}
            + \mathrm{diag}(r)\,W_{hn}\big],

    with :math:`u = W_{hn}h + b_{hn}`.

    Parameters
    ----------
    W_ih : (3H, I) array
    W_hh : (3H, H) array
    b_ih, b_hh : (3H,) arrays, optional
    """

    gates = 3
    kind = "gru"

    def _parts(self, h, x):
        ax, ah = self._pre(h, x)
        return gru_equations(np, ax, ah, self.hidden_size)

    def step(self, h, x):
        h = np.asarray(h, float)
        r, z, u, n = self._parts(h, x)
        return (1.0 - z) * n + z * h

    def _jvp(self, h, parts, Q):
        H = self.hidden_size
        r, z, u, n = parts
        P = self.W_hh @ Q  # (..., 3H, k): one product for the three gates
        dn = (1.0 - n * n)[..., :, None] * ((u * r * (1.0 - r))[..., :, None] * P[..., :H, :]
                                            + r[..., :, None] * P[..., 2 * H:, :])
        return (z[..., :, None] * Q + ((h - n) * z * (1.0 - z))[..., :, None] * P[..., H:2 * H, :]
                + (1.0 - z)[..., :, None] * dn)

    def jvp(self, h, x, Q):
        h = np.asarray(h, float)
        return self._jvp(h, self._parts(h, x), Q)

    def step_and_jvp(self, h, x, Q):
        h = np.asarray(h, float)
        parts = self._parts(h, x)
        r, z, u, n = parts
        return (1.0 - z) * n + z * h, self._jvp(h, parts, Q)

    def pre_covectors(self, h, x, v):
        """Covectors of ``v`` on the input and recurrent pre-activations (reset, update,
        candidate); they differ in the candidate block, where the recurrent part is gated by r."""
        h = np.asarray(h, float)
        r, z, u, n = self._parts(h, x)
        w = v * (1.0 - z) * (1.0 - n * n)
        br, bz = w * u * r * (1.0 - r), v * (h - n) * z * (1.0 - z)
        return np.concatenate([br, bz, w], axis=-1), np.concatenate([br, bz, w * r], axis=-1)

    def vjp(self, h, x, v):
        return v * self._parts(h, x)[1] + self.pre_covectors(h, x, v)[1] @ self.W_hh


class LSTMCell(_Cell):
    r"""Long short-term memory cell (PyTorch's convention: gates ``i, f, g, o``).

    The state is ``s = concatenate([h, c])`` (length :math:`2H`); :meth:`step` maps it to
    the next ``(h', c')`` and :meth:`jacobian` is the full :math:`2H\times 2H` Jacobian
    (see the module docstring). :meth:`jacobian_h` is the :math:`H\times H` block
    :math:`\partial h'/\partial h` at fixed :math:`c` used by Vogt et al. (2022).

    Parameters
    ----------
    W_ih : (4H, I) array
    W_hh : (4H, H) array
    b_ih, b_hh : (4H,) arrays, optional
    """

    gates = 4
    kind = "lstm"

    @property
    def state_size(self):
        return 2 * self.hidden_size

    def split(self, s):
        """``(h, c)`` views of a state vector."""
        H = self.hidden_size
        return s[..., :H], s[..., H:]

    def _parts(self, s, x):
        H = self.hidden_size
        h, c = self.split(s)
        ax, ah = self._pre(h, x)
        i, f, g, o, c2, tc = lstm_equations(np, ax, ah, c, H)
        return i, f, g, o, c, c2, tc

    def step(self, s, x):
        s = np.asarray(s, float)
        i, f, g, o, c, c2, tc = self._parts(s, x)
        return np.concatenate([o * tc, c2], axis=-1)

    def _jvp(self, parts, Q):
        H = self.hidden_size
        i, f, g, o, c, c2, tc = parts
        Qh, Qc = Q[..., :H, :], Q[..., H:, :]
        P = self.W_hh @ Qh  # (..., 4H, k)
        col = lambda v: v[..., :, None]  # noqa: E731
        dc = (col(g * i * (1 - i)) * P[..., :H, :] + col(c * f * (1 - f)) * P[..., H:2 * H, :]
              + col(i * (1 - g * g)) * P[..., 2 * H:3 * H, :] + col(f) * Qc)
        dh = col(tc * o * (1 - o)) * P[..., 3 * H:, :] + col(o * (1 - tc * tc)) * dc
        return np.concatenate([dh, dc], axis=-2)

    def jvp(self, s, x, Q):
        s = np.asarray(s, float)
        return self._jvp(self._parts(s, x), Q)

    def step_and_jvp(self, s, x, Q):
        s = np.asarray(s, float)
        parts = self._parts(s, x)
        i, f, g, o, c, c2, tc = parts
        return np.concatenate([o * tc, c2], axis=-1), self._jvp(parts, Q)

    def _covectors(self, s, x, v):
        s = np.asarray(s, float)
        H = self.hidden_size
        i, f, g, o, c, c2, tc = self._parts(s, x)
        vh, vc = v[..., :H], v[..., H:]
        vc2 = vc + vh * o * (1 - tc * tc)  # covector on c'
        delta = np.concatenate([vc2 * g * i * (1 - i), vc2 * c * f * (1 - f),
                                vc2 * i * (1 - g * g), vh * tc * o * (1 - o)], axis=-1)
        return delta, vc2 * f

    def pre_covectors(self, s, x, v):
        """Covectors of ``v`` on the input and recurrent pre-activations (i, f, g, o): equal."""
        delta = self._covectors(s, x, v)[0]
        return delta, delta

    def vjp(self, s, x, v):
        delta, back_c = self._covectors(s, x, v)
        return np.concatenate([delta @ self.W_hh, back_c], axis=-1)

    def jacobian_h(self, s, x):
        r"""The block :math:`\partial h'/\partial h` at fixed :math:`c` (Vogt et al. 2022)."""
        H = self.hidden_size
        s = np.asarray(s, float)
        eye = np.zeros(s.shape[:-1] + (2 * H, H))
        eye[..., :H, :] = np.eye(H)
        return self.jvp(s, x, eye)[..., :H, :]


#: The cells by name.
CELLS = {"rnn": RNNCell, "gru": GRUCell, "lstm": LSTMCell}


class DrivenCell:
    r"""A cell under a fixed input sequence, as a map of its state: ``s_{t+1} = F(s_t, x_t)``.

    This is the object :func:`biodyn.dynamics.lyapunov_spectrum` takes for RNN, GRU and
    LSTM spectra: step ``t`` uses ``inputs[t % len(inputs)]``.

    Parameters
    ----------
    cell : RNNCell, GRUCell, LSTMCell, or any map model (:class:`MapModel`, e.g. from
        :func:`from_jax`; missing optional methods are filled in by :func:`as_map`)
    inputs : (T, I) array
        The input sequence (cycled if the run is longer).
    block : {"full", "h"}
        The tangent map whose exponents are measured. ``"full"`` (default): the Jacobian of
        the whole state, :math:`2H\times 2H` for the LSTM's :math:`(h, c)` — the Lyapunov
        exponents of the map. ``"h"`` (LSTM only): the products of the :math:`H\times H`
        blocks :math:`\partial h_{t+1}/\partial h_t` at fixed :math:`c`
        (:meth:`LSTMCell.jacobian_h`) along the same trajectory, the spectrum Vogt et al.
        (2022) computed for LSTMs; the cell state's memory of perturbations is left out, so
        these :math:`H` numbers are not exponents of the LSTM map (its ``tangent_size`` is
        then :math:`H`, the state's size still :math:`2H`).
    """

    is_map = True
    time_unit_text = "step"

    def __init__(self, cell, inputs, block="full"):
        if not hasattr(cell, "step_and_jvp") or not hasattr(cell, "jacobian"):
            from ._adapters import as_map  # a user's map model: fill in what it lacks

            cell = as_map(cell)
        self.cell = cell
        inputs = np.asarray(inputs, dtype=float)
        if inputs.ndim == 1:
            inputs = inputs[:, None] if cell.input_size else inputs[:, None][:, :0]
        if inputs.ndim != 2 or inputs.shape[1] != cell.input_size:
            raise BiodynError(f"inputs must have shape (T, {cell.input_size}), found {inputs.shape}")
        self.inputs = inputs
        self.n = cell.state_size
        kind = getattr(cell, "name", None) or getattr(cell, "kind", type(cell).__name__)
        self.name = f"{kind} (H = {getattr(cell, 'hidden_size', cell.state_size)})"
        if block not in ("full", "h"):
            raise BiodynError(f"DrivenCell: block must be 'full' or 'h', found {block!r}")
        if block == "h" and not isinstance(cell, LSTMCell):
            raise BiodynError(f"DrivenCell: block 'h' (Vogt et al. 2022) is for the LSTM, whose state is (h, c); "
                              f"the state of cell {kind!r} is h already: use block 'full'")
        self.block = block
        if block == "h":
            self.tangent_size = cell.hidden_size
            self.name += ", h-block"

    def input(self, t):
        return self.inputs[int(t) % len(self.inputs)]

    def step(self, s, t):
        return self.cell.step(s, self.input(t))

    def step_and_jvp(self, s, t, Q):
        if self.block == "h":  # (dh'/dh) Q: the tangent vectors with no c component, h' rows only
            H = self.cell.hidden_size
            full = np.zeros((2 * H,) + Q.shape[1:])
            full[:H] = Q
            s2, JQ = self.cell.step_and_jvp(s, self.input(t), full)
            return s2, np.asfortranarray(JQ[:H])
        return self.cell.step_and_jvp(s, self.input(t), Q)

    def jacobian(self, s, t):
        if self.block == "h":
            return self.cell.jacobian_h(s, self.input(t))
        return self.cell.jacobian(s, self.input(t))
