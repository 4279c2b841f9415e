"""Neural ODEs: a vector field given by a small MLP, trained by the adjoint method.

The model is :math:`\\dot z = f(z, t;\\theta)` with :math:`f` an MLP, :math:`z(0) = z_0`, and a
loss :math:`L(z(T))`. Two ways to get :math:`\\nabla_\\theta L` and :math:`\\nabla_{z_0} L`:

* **Continuous adjoint** (Pontryagin; Chen et al. 2018): with :math:`a(t) = \\partial L/\\partial z(t)`,

  .. math::

      \\dot a = -a^{\\top}\\frac{\\partial f}{\\partial z}, \\quad a(T) = \\frac{\\partial L}{\\partial z(T)},\\qquad
      \\frac{dL}{d\\theta} = \\int_0^T a^{\\top}\\frac{\\partial f}{\\partial\\theta}\\,dt ,

  solved backwards in time together with :math:`z` (re-integrated backwards, as Chen et al.;
  or read from the forward solution's dense output, ``reconstruct="dense"``), with scipy's
  DOP853. The vector–Jacobian products are the MLP's explicit backward pass.
* **Backprop through a fixed-step solver** (discrete adjoint): the explicit Runge–Kutta
  steps (``"euler"``, ``"rk4"``) are differentiated exactly, stage by stage. With ``"euler"``
  and :math:`N` steps of :math:`h = T/N` the solver *is* a ResNet with one shared block
  :math:`s \\mapsto s + h f(s)` (:meth:`NeuralODE.as_resnet`); as :math:`N \\to \\infty` its
  output and gradients converge to the ODE's at order 1 (:func:`resnet_euler_convergence`).

References
----------
Chen RTQ, Rubanova Y, Bettencourt J, Duvenaud D (2018) Neural ordinary differential
equations. NeurIPS 31:6571-6583. arXiv:1806.07366
Pontryagin LS, Boltyanskii VG, Gamkrelidze RV, Mishchenko EF (1962) The Mathematical Theory
of Optimal Processes. Interscience.
Haber E, Ruthotto L (2017) Stable architectures for deep neural networks. Inverse Problems
34(1):014004. doi:10.1088/1361-6420/aa9a90
E W (2017) A proposal on machine learning via dynamical systems. Commun Math Stat 5:1-11.
doi:10.1007/s40304-017-0103-z
Hairer E, Nørsett SP, Wanner G (1993) Solving Ordinary Differential Equations I, 2nd ed.
Springer. doi:10.1007/978-3-540-78862-1
"""

from __future__ import annotations

import numpy as np

from ..errors import BiodynError, SpecError, suggest
from ._losses import loss_function
from ._nets import MLP, ResNet, chain_backward, chain_forward

__all__ = ["NeuralODE", "FIXED_STEP_TABLEAUX", "resnet_euler_convergence"]


def _tableaux():
    from ._optim import GD, RK4, Heun

    return {"euler": (GD.A, GD.b), "heun": (Heun.A, Heun.b), "rk4": (RK4.A, RK4.b)}


#: Butcher tableaux (A, b) of the fixed-step solvers (the same tables the optimisers use).
FIXED_STEP_TABLEAUX = _tableaux()


class NeuralODE:
    """:math:`\\dot z = f(z[, t];\\theta)` with :math:`f` an MLP ``[d(+1), *hidden, d]``.

    Parameters
    ----------
    dim : int
    hidden : sequence of int
    activation : str
    time_dependent : bool
        Feed :math:`t` to the field as an extra input.
    init, sigma_w, sigma_b, seed : as :class:`MLP`
    """

    def __init__(self, dim, hidden=(16,), activation="tanh", time_dependent=False, init="gaussian",
                 sigma_w=1.0, sigma_b=0.0, seed=0):
        self.dim = int(dim)
        self.time_dependent = bool(time_dependent)
        self.hidden = tuple(int(h) for h in hidden)
        self.field = MLP([self.dim + self.time_dependent, *self.hidden, self.dim], activation, "linear", init,
                         sigma_w, sigma_b, True, seed)
        self.seed = int(seed)

    def __repr__(self):
        return f"NeuralODE(dim={self.dim}, hidden={self.hidden}, time_dependent={self.time_dependent})"

    @property
    def params(self):
        return self.field.params

    @params.setter
    def params(self, value):
        self.field.params = value

    @property
    def n_params(self):
        return self.field.n_params

    def ravel(self, params=None):
        return self.field.ravel(params)

    def unravel(self, vec):
        return self.field.unravel(vec)

    # the vector field and its vector-Jacobian products ----------------------------------
    def _inp(self, z, t):
        z = np.atleast_2d(z)
        return np.hstack([z, np.full((z.shape[0], 1), float(t))]) if self.time_dependent else z

    def f(self, z, t=0.0, params=None):
        """:math:`f(z, t)` for a batch ``(B, d)``."""
        return self.field(self._inp(z, t), params)

    def vjp(self, z, t, a, params=None):
        """:math:`(a^{\\top}\\partial f/\\partial z,\\; a^{\\top}\\partial f/\\partial\\theta)` and :math:`f` itself."""
        p = self.field.params if params is None else params
        states, caches = chain_forward(self.field.steps, p, self._inp(z, t))
        deltas, grads, _ = chain_backward(self.field.steps, p, caches, {len(self.field.steps): np.atleast_2d(a)})
        gz = deltas[0][:, :self.dim]
        for k in p:
            grads.setdefault(k, np.zeros_like(p[k]))
        return gz, grads, states[-1]

    # solves -------------------------------------------------------------------------------
    def solve(self, z0, T, rtol=1e-9, atol=1e-11, params=None, dense=False):
        """:math:`z(T)` by DOP853 (a batch ``(B, d)``); with ``dense=True`` also the scipy solution."""
        from scipy.integrate import solve_ivp

        z0 = np.atleast_2d(np.asarray(z0, float))
        B = z0.shape[0]
        sol = solve_ivp(lambda t, y: self.f(y.reshape(B, -1), t, params).ravel(), (0.0, float(T)), z0.ravel(),
                        method="DOP853", rtol=rtol, atol=atol, dense_output=dense)
        if not sol.success:
            raise BiodynError(f"NeuralODE.solve failed: {sol.message}")
        zT = sol.y[:, -1].reshape(B, -1)
        return (zT, sol) if dense else zT

    def solve_fixed(self, z0, T, n_steps, method="euler", params=None):
        """Fixed-step explicit Runge–Kutta; returns :math:`z(T)` and a tape for :meth:`backprop_fixed`."""
        if method not in FIXED_STEP_TABLEAUX:
            raise SpecError(None, "method", "one of " + ", ".join(FIXED_STEP_TABLEAUX), repr(method),
                            suggest(str(method), FIXED_STEP_TABLEAUX))
        A, b = FIXED_STEP_TABLEAUX[method]
        c = [sum(row[:i]) for i, row in enumerate(A)]
        n_steps = int(n_steps)
        if n_steps < 1:
            raise SpecError(None, "n_steps", "a positive number of steps", repr(n_steps))
        h = float(T) / n_steps
        z = np.atleast_2d(np.asarray(z0, float))
        tape = []
        for n in range(n_steps):
            t = n * h
            ys, ks = [], []
            for i in range(len(b)):
                y = z
                for j in range(i):
                    if A[i][j]:
                        y = y + h * A[i][j] * ks[j]
                ys.append((y, t + c[i] * h))
                ks.append(self.f(y, t + c[i] * h, params))
            tape.append(ys)
            z = z + h * sum(bi * ki for bi, ki in zip(b, ks) if bi)
        return z, {"tape": tape, "h": h, "method": method, "params": params}

    def backprop_fixed(self, tape, dL_dzT):
        """Exact reverse pass through :meth:`solve_fixed`.

        Returns :math:`\\partial L/\\partial z_0` and :math:`\\nabla_\\theta L` (flat).

        For a step :math:`z' = z + h\\sum_i b_i k_i`, :math:`k_i = f(Y_i)`,
        :math:`Y_i = z + h\\sum_{j<i}a_{ij}k_j`, given :math:`\\bar z'`:
        :math:`\\bar k_i = h b_i\\bar z' + \\sum_{m>i} h a_{mi}\\bar Y_m`,
        :math:`\\bar Y_i = (\\partial f/\\partial z)^{\\top}\\bar k_i`,
        :math:`\\bar\\theta \\mathrel{+}= (\\partial f/\\partial\\theta)^{\\top}\\bar k_i`,
        :math:`\\bar z = \\bar z' + \\sum_i \\bar Y_i`.
        """
        A, b = FIXED_STEP_TABLEAUX[tape["method"]]
        h, params = tape["h"], tape["params"]
        p = self.field.params if params is None else params
        zbar = np.atleast_2d(np.asarray(dL_dzT, float)).copy()
        gtheta = {k: np.zeros_like(v) for k, v in p.items()}
        s = len(b)
        for ys in reversed(tape["tape"]):
            Ybar = [None] * s
            for i in range(s - 1, -1, -1):
                kbar = h * b[i] * zbar
                for m in range(i + 1, s):
                    if A[m][i]:
                        kbar = kbar + h * A[m][i] * Ybar[m]
                y, t = ys[i]
                gz, gp, _ = self.vjp(y, t, kbar, p)
                Ybar[i] = gz
                for k in gtheta:
                    gtheta[k] += gp[k]
            zbar = zbar + sum(Ybar)
        return zbar, self.ravel(gtheta)

    def adjoint(self, z0, T, dL_dzT, rtol=1e-9, atol=1e-11, params=None, reconstruct="backward"):
        """Continuous adjoint: :math:`\\partial L/\\partial z_0` and :math:`\\nabla_\\theta L` (flat).

        Integrates :math:`[z, a, g]` from :math:`T` to 0 with
        :math:`\\dot z = f`, :math:`\\dot a = -a^{\\top}\\partial_z f`,
        :math:`\\dot g = -a^{\\top}\\partial_\\theta f`, :math:`a(T) = \\partial L/\\partial z(T)`,
        :math:`g(T) = 0`; then :math:`\\nabla_\\theta L = g(0)`, :math:`\\partial L/\\partial z_0 = a(0)`.

        Parameters
        ----------
        reconstruct : {"backward", "dense"}
            Re-integrate :math:`z` backwards with the adjoint (Chen et al. 2018; O(1) memory)
            or interpolate the forward solve's dense output (robust when the backward
            flow is unstable).
        """
        from scipy.integrate import solve_ivp

        z0 = np.atleast_2d(np.asarray(z0, float))
        B, d = z0.shape
        P = self.n_params
        zT, sol = self.solve(z0, T, rtol, atol, params, dense=True)
        aT = np.atleast_2d(np.asarray(dL_dzT, float)).reshape(B, d)
        p = self.field.params if params is None else params
        if reconstruct not in ("backward", "dense"):
            raise SpecError(None, "reconstruct", "'backward' or 'dense'", repr(reconstruct))

        def rhs(t, y):
            if reconstruct == "backward":
                z = y[:B * d].reshape(B, d)
                a = y[B * d:2 * B * d].reshape(B, d)
            else:
                z = sol.sol(t).reshape(B, d)
                a = y[:B * d].reshape(B, d)
            gz, gp, fz = self.vjp(z, t, a, p)
            parts = [fz.ravel()] if reconstruct == "backward" else []
            return np.concatenate(parts + [-gz.ravel(), -self.ravel(gp)])

        y0 = np.concatenate(([zT.ravel()] if reconstruct == "backward" else []) + [aT.ravel(), np.zeros(P)])
        back = solve_ivp(rhs, (float(T), 0.0), y0, method="DOP853", rtol=rtol, atol=atol)
        if not back.success:
            raise BiodynError(f"NeuralODE.adjoint failed: {back.message}")
        y = back.y[:, -1]
        off = B * d if reconstruct == "backward" else 0
        return y[off:off + B * d].reshape(B, d), y[off + B * d:]

    # losses and gradients ------------------------------------------------------------------
    def loss_and_gradient(self, z0, T, target, method="adjoint", n_steps=100, loss="mse", params=None, **kw):
        """:math:`L(z(T))` and :math:`\\nabla_\\theta L` (flat).

        ``method`` is ``"adjoint"`` or backprop through ``"euler"``, ``"heun"`` or ``"rk4"``
        with ``n_steps`` steps.
        """
        lf = loss_function(loss)
        if method == "adjoint":
            zT = self.solve(z0, T, kw.get("rtol", 1e-9), kw.get("atol", 1e-11), params)
            g = lf.grad(zT, target)
            return lf.value(zT, target), self.adjoint(z0, T, g, params=params, **kw)[1]
        zT, tape = self.solve_fixed(z0, T, n_steps, method, params)
        return lf.value(zT, target), self.backprop_fixed(tape, lf.grad(zT, target))[1]

    def as_resnet(self, T, depth):
        """The ResNet that *is* forward Euler with ``depth`` steps of :math:`h = T/\\text{depth}`.

        One shared residual block :math:`s \\mapsto s + h\\,(W_2\\phi(W_1 s + b_1) + b_2)`
        carrying this field's parameters (one hidden layer, time-independent fields).
        """
        if self.time_dependent or len(self.hidden) != 1:
            raise BiodynError("as_resnet: needs a time-independent field with one hidden layer")
        net = ResNet(self.dim, self.dim, int(depth), self.dim, self.field.activation, hidden=self.hidden[0],
                     step=float(T) / int(depth), shared=True, embed=False, readout=False)
        fp = self.field.params
        net.params = {"block.1.W": fp["layer1.W"].copy(), "block.1.b": fp["layer1.b"].copy(),
                      "block.2.W": fp["layer2.W"].copy(), "block.2.b": fp["layer2.b"].copy()}
        return net


def resnet_euler_convergence(node, z0, T, depths, target=None, loss="mse"):
    """ResNet-as-Euler: output and gradient errors of ``depth``-block shared ResNets against the ODE.

    For each depth :math:`N` the ResNet of :meth:`NeuralODE.as_resnet` is run and
    backpropagated (its own :meth:`Network.backprop`), and compared with the accurate ODE
    solution :math:`z(T)` and the continuous-adjoint gradient. Forward Euler has global
    order 1, so both errors fall like :math:`1/N`.

    Returns
    -------
    dict
        ``depths``, ``output_error`` (max-norm of :math:`z_N - z(T)`), ``gradient_error``
        (relative, 2-norm), ``order_output`` and ``order_gradient`` (fitted slopes of
        log error against log N, expected ≈ -1).
    """
    z0 = np.atleast_2d(np.asarray(z0, float))
    zT = node.solve(z0, T, rtol=1e-11, atol=1e-13)
    target = np.zeros_like(zT) if target is None else np.asarray(target, float)
    lf = loss_function(loss)
    g_ref = node.adjoint(z0, T, lf.grad(zT, target), rtol=1e-11, atol=1e-13)[1]
    name_map = {"block.1.W": "layer1.W", "block.1.b": "layer1.b", "block.2.W": "layer2.W", "block.2.b": "layer2.b"}
    out_err, grad_err = [], []
    for N in depths:
        net = node.as_resnet(T, N)
        rec = net.backprop(z0, target, loss)
        out_err.append(float(np.max(np.abs(rec.states[-1] - zT))))
        g = node.ravel({name_map[k]: v for k, v in rec.grads.items()})
        grad_err.append(float(np.linalg.norm(g - g_ref) / np.linalg.norm(g_ref)))
    depths = np.asarray(depths, float)
    slope = lambda e: float(np.polyfit(np.log(depths), np.log(e), 1)[0])
    return {"depths": depths.astype(int).tolist(), "output_error": out_err, "gradient_error": grad_err,
            "order_output": slope(out_err), "order_gradient": slope(grad_err)}
