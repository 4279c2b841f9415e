"""Steps of a network read as a discrete-time dynamical system.

A network is a chain of maps :math:`s_l = F_l(s_{l-1}, u_l;\\theta_l)` (layers in depth, or
time steps of a recurrent net with inputs :math:`u_l`). Backprop is the linear system that
runs the chain backwards,

.. math::

    \\delta_{l-1} = J_l^{\\top}\\,\\delta_l + \\frac{\\partial L}{\\partial s_{l-1}}\\Big|_{\\rm direct},
    \\qquad J_l = \\frac{\\partial F_l}{\\partial s_{l-1}},\\qquad
    \\frac{\\partial L}{\\partial \\theta_l} = \\Big(\\frac{\\partial F_l}{\\partial\\theta_l}\\Big)^{\\top}\\delta_l ,

with :math:`\\delta_l = \\partial L/\\partial s_l`. Each step class here gives its forward map,
its vector–Jacobian products (the two transposed products above), its explicit Jacobian
:math:`J_l` per sample (for spectra and Lyapunov exponents), and — for :class:`Dense` and
:class:`Residual` — the directional derivative of both passes (Pearlmutter's R-operator),
which makes exact Hessian-vector products by forward-over-reverse differentiation.

Arrays are batched row-wise: a state is ``(batch, n)``; a weight ``W`` is ``(n_out, n_in)``
and acts as ``s @ W.T``.

References
----------
Rumelhart DE, Hinton GE, Williams RJ (1986) Learning representations by back-propagating
errors. Nature 323:533-536. doi:10.1038/323533a0
Pearlmutter BA (1994) Fast exact multiplication by the Hessian. Neural Computation
6(1):147-160. doi:10.1162/neco.1994.6.1.147
He K, Zhang X, Ren S, Sun J (2016) Deep residual learning for image recognition. CVPR
770-778. doi:10.1109/CVPR.2016.90
"""

from __future__ import annotations

import numpy as np

from ._activations import activation as _activation

__all__ = ["Dense", "Residual"]


class Dense:
    """:math:`s' = \\phi(s W^{\\top} + b)`.

    Parameters
    ----------
    n_in, n_out : int
    activation : str or Activation
        ``"tanh"``, ``"relu"``, ``"linear"``, ``"sigmoid"``.
    bias : bool
    name : str
        Prefix of the parameter names (``name.W``, ``name.b``). Two steps with the same
        name share their parameters (their gradients add up).
    """

    exact_hvp = True

    def __init__(self, n_in, n_out, activation="linear", bias=True, name="dense"):
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.act = _activation(activation)
        self.bias = bool(bias)
        self.name = name
        self.kW, self.kb = f"{name}.W", f"{name}.b"

    def __repr__(self):
        return f"Dense({self.n_in}->{self.n_out}, {self.act.name}, name={self.name!r})"

    @property
    def param_shapes(self):
        shapes = {self.kW: (self.n_out, self.n_in)}
        if self.bias:
            shapes[self.kb] = (self.n_out,)
        return shapes

    def init_params(self, rng, init):
        p = {self.kW: init.weight(self.n_out, self.n_in, rng)}
        if self.bias:
            p[self.kb] = init.bias(self.n_out, rng)
        return p

    # forward / reverse ------------------------------------------------------------------
    def forward(self, p, s, u=None):
        a = s @ p[self.kW].T
        if self.bias:
            a = a + p[self.kb]
        return self.act.f(a), (s, a)

    def vjp(self, p, cache, g):
        s, a = cache
        e = self.act.df(a) * g
        grads = {self.kW: e.T @ s}
        if self.bias:
            grads[self.kb] = e.sum(axis=0)
        return e @ p[self.kW], grads

    def jacobian(self, p, cache):
        s, a = cache
        return self.act.df(a)[:, :, None] * p[self.kW][None, :, :]

    # R-operator (directional derivatives along parameter direction v) ---------------------
    def rforward(self, p, v, cache, rs):
        s, a = cache
        ra = s @ v[self.kW].T
        if rs is not None:
            ra = ra + rs @ p[self.kW].T
        if self.bias:
            ra = ra + v[self.kb]
        return self.act.df(a) * ra, ra

    def rvjp(self, p, v, cache, rcache, rs, g, rg):
        s, a = cache
        ra = rcache
        d1 = self.act.df(a)
        e = d1 * g
        re = self.act.d2f(a) * ra * g + d1 * rg
        rg_s = re @ p[self.kW] + e @ v[self.kW]
        rW = re.T @ s
        if rs is not None:
            rW = rW + e.T @ rs
        rgrads = {self.kW: rW}
        if self.bias:
            rgrads[self.kb] = re.sum(axis=0)
        return rg_s, rgrads


class Residual:
    """:math:`s' = s + h\\,F(s)`, with :math:`F` a small chain of :class:`Dense` steps.

    With :math:`F` shared across blocks and :math:`h = T/L`, a stack of ``L`` blocks is the
    forward-Euler discretisation of the neural ODE :math:`\\dot z = F(z)` on ``[0, T]``.

    Parameters
    ----------
    width : int
    hidden : int or None
        Width of the hidden layer of :math:`F`; ``None`` makes :math:`F(s) = \\phi(sW^{\\top}+b)`
        (one layer), otherwise :math:`F(s) = \\phi(sW_1^{\\top} + b_1)W_2^{\\top} + b_2`.
    activation : str or Activation
    step : float
        :math:`h`.
    name : str
    """

    exact_hvp = True

    def __init__(self, width, hidden=None, activation="tanh", step=1.0, bias=True, name="block"):
        self.n_in = self.n_out = int(width)
        self.h = float(step)
        self.name = name
        if hidden is None:
            self.inner = [Dense(width, width, activation, bias, name=f"{name}.1")]
        else:
            self.inner = [Dense(width, hidden, activation, bias, name=f"{name}.1"),
                          Dense(hidden, width, "linear", bias, name=f"{name}.2")]

    def __repr__(self):
        widths = [self.n_in] + [d.n_out for d in self.inner]
        return f"Residual({'->'.join(map(str, widths))}, step={self.h:g}, name={self.name!r})"

    @property
    def param_shapes(self):
        out = {}
        for d in self.inner:
            out.update(d.param_shapes)
        return out

    def init_params(self, rng, init):
        out = {}
        for d in self.inner:
            out.update(d.init_params(rng, init))
        return out

    def forward(self, p, s, u=None):
        x, caches = s, []
        for d in self.inner:
            x, c = d.forward(p, x)
            caches.append(c)
        return s + self.h * x, caches

    def vjp(self, p, caches, g):
        gx, grads = self.h * g, {}
        for d, c in zip(reversed(self.inner), reversed(caches)):
            gx, gr = d.vjp(p, c, gx)
            grads.update(gr)
        return g + gx, grads

    def jacobian(self, p, caches):
        J = None
        for d, c in zip(self.inner, caches):
            Jd = d.jacobian(p, c)
            J = Jd if J is None else Jd @ J
        return np.eye(self.n_in)[None] + self.h * J

    def rforward(self, p, v, caches, rs):
        rx, rcaches = rs, []
        for d, c in zip(self.inner, caches):
            rout, ra = d.rforward(p, v, c, rx)
            rcaches.append((rx, ra))
            rx = rout
        rout = self.h * rx if rs is None else rs + self.h * rx
        return rout, rcaches

    def rvjp(self, p, v, caches, rcaches, rs, g, rg):
        # forward gradients of the inner chain are needed for its R-backward pass
        gs = [self.h * g]
        for d, c in zip(reversed(self.inner), reversed(caches)):
            gs.append(d.vjp(p, c, gs[-1])[0])
        gs = gs[::-1]  # gs[k] = dL/d(output of inner[k-1]) ... gs[-1] = h g
        rgx, rgrads = self.h * rg, {}
        for k in range(len(self.inner) - 1, -1, -1):
            d, c = self.inner[k], caches[k]
            rin, ra = rcaches[k]
            rgx, rgr = d.rvjp(p, v, c, ra, rin, gs[k + 1], rgx)
            rgrads.update(rgr)
        return rg + rgx, rgrads
