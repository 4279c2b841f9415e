r"""Special functions that equations read by :mod:`biodyn.dynamics` may call.

Brian2's own functions (``exp``, ``tanh``, ``clip``, ``int``, ...) are translated to sympy
by the reader. The functions here are what mean-field reductions need beyond them; each is a
sympy function whose partial derivatives are closed forms (so Jacobians stay *derived*), with
a numpy implementation and its units (for the check of the equations that use it).

``siegert_lif(mu, sigma, tau, theta, V_r, tau_rp)``
    Stationary rate of a leaky integrate-and-fire neuron driven by white noise of mean
    :math:`\mu` and standard deviation :math:`\sigma` (the Siegert formula, in Brunel's 2000
    notation, his eq. for :math:`\nu_0`):

    .. math::

        \phi = \Big(\tau_{rp} + \tau\sqrt\pi \int_{y_r}^{y_\theta} e^{u^2}(1 + \mathrm{erf}\,u)\,du
        \Big)^{-1}, \qquad y_\theta = \frac{\theta-\mu}{\sigma},\; y_r = \frac{V_r-\mu}{\sigma}.

    The integrand is :math:`\mathrm{erfcx}(-u)` (computed without overflow for
    :math:`u < 0`); with :math:`I = \int_{y_r}^{y_\theta}` and :math:`g(u) = \mathrm{erfcx}(-u)`,
    :math:`\partial\phi/\partial\mu = \phi^2\tau\sqrt\pi\,(g(y_\theta) - g(y_r))/\sigma`,
    :math:`\partial\phi/\partial\sigma = \phi^2\tau\sqrt\pi\,(y_\theta g(y_\theta) - y_r g(y_r))/\sigma`,
    :math:`\partial\phi/\partial\tau = -\phi^2\sqrt\pi I`,
    :math:`\partial\phi/\partial\theta = -\phi^2\tau\sqrt\pi\,g(y_\theta)/\sigma`,
    :math:`\partial\phi/\partial V_r = \phi^2\tau\sqrt\pi\,g(y_r)/\sigma`,
    :math:`\partial\phi/\partial\tau_{rp} = -\phi^2`.

References
----------
Siegert AJF (1951) On the first passage time probability problem. Phys Rev 81:617-623.
doi:10.1103/PhysRev.81.617
Brunel N (2000) Dynamics of sparsely connected networks of excitatory and inhibitory spiking
neurons. J Comput Neurosci 8:183-208. doi:10.1023/A:1008925309027
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["FUNCTIONS", "SpecialFunction", "siegert_lif_rate"]

_SQRT_PI = math.sqrt(math.pi)
_Y_MAX = 26.0  # beyond, exp(u^2) overflows the integral: the rate is 0 to double precision


def _integral(y_r, y_t):
    import warnings

    from scipy.integrate import IntegrationWarning, quad
    from scipy.special import erfcx

    if y_t > _Y_MAX:
        return math.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        value, _ = quad(lambda u: erfcx(-u), y_r, y_t, limit=200, epsabs=0.0, epsrel=1e-10)
    return value


def _broadcast(*args):
    arrays = np.broadcast_arrays(*[np.asarray(a, dtype=float) for a in args])
    return [a.ravel() for a in arrays], arrays[0].shape


def _siegert_parts(mu, sigma, tau, theta, V_r, tau_rp):
    (mu, sigma, tau, theta, V_r, tau_rp), shape = _broadcast(mu, sigma, tau, theta, V_r, tau_rp)
    y_t = (theta - mu) / sigma
    y_r = (V_r - mu) / sigma
    I = np.array([_integral(a, b) for a, b in zip(y_r, y_t)])
    with np.errstate(over="ignore", invalid="ignore"):
        rate = 1.0 / (tau_rp + tau * _SQRT_PI * I)
    rate = np.where(np.isfinite(I), rate, 0.0)
    return dict(mu=mu, sigma=sigma, tau=tau, y_t=y_t, y_r=y_r, I=I, rate=rate), shape


def siegert_lif_rate(mu, sigma, tau, theta, V_r, tau_rp):
    """The Siegert rate (SI in, Hz out); see the module docstring."""
    parts, shape = _siegert_parts(mu, sigma, tau, theta, V_r, tau_rp)
    return parts["rate"].reshape(shape)


def _siegert_derivative(k):
    from scipy.special import erfcx

    def derivative(mu, sigma, tau, theta, V_r, tau_rp):
        p, shape = _siegert_parts(mu, sigma, tau, theta, V_r, tau_rp)
        r2 = p["rate"] ** 2
        with np.errstate(over="ignore", invalid="ignore"):
            g_t = np.where(p["y_t"] > _Y_MAX, 0.0, erfcx(-np.minimum(p["y_t"], _Y_MAX)))
            g_r = erfcx(-np.minimum(p["y_r"], _Y_MAX))
            c = r2 * p["tau"] * _SQRT_PI / p["sigma"]
            out = [
                c * (g_t - g_r),                                   # d/d mu
                c * (p["y_t"] * g_t - p["y_r"] * g_r),             # d/d sigma
                -r2 * _SQRT_PI * np.where(np.isfinite(p["I"]), p["I"], 0.0),  # d/d tau
                -c * g_t,                                          # d/d theta
                c * g_r,                                           # d/d V_r
                -r2,                                               # d/d tau_rp
            ][k]
        out = np.where(p["rate"] > 0, out, 0.0)
        return out.reshape(shape)

    return derivative


class SpecialFunction:
    """A function usable in equations: sympy class, numpy implementations, units."""

    def __init__(self, name, nargs, numpy_impl, derivatives, arg_units, return_unit, doc=""):
        self.name = name
        self.nargs = nargs
        self.numpy_impl = numpy_impl
        self.derivatives = derivatives
        self.arg_units = arg_units
        self.return_unit = return_unit
        self.doc = doc
        self._sympy = None

    @property
    def sympy_class(self):
        """A sympy ``Function`` whose ``fdiff`` gives the closed-form partial derivatives."""
        if self._sympy is None:
            import sympy

            names = [f"{self.name}_d{k}" for k in range(self.nargs)]
            dclasses = [type(n, (sympy.Function,), {"nargs": self.nargs}) for n in names]

            def fdiff(obj, argindex=1):
                return dclasses[argindex - 1](*obj.args)

            self._sympy = type(self.name, (sympy.Function,), {"nargs": self.nargs, "fdiff": fdiff})
            self._dnames = names
        return self._sympy

    def numpy_namespace(self):
        """Names -> numpy callables, for ``sympy.lambdify``."""
        self.sympy_class  # noqa: B018 - creates the derivative names
        ns = {self.name: self.numpy_impl}
        ns.update(dict(zip(self._dnames, self.derivatives)))
        return ns

    def brian_function(self):
        """A Brian2 ``Function`` (numpy target) with its units, for unit checks and runs."""
        from brian2 import Function

        return Function(self.numpy_impl, arg_units=list(self.arg_units),
                        return_unit=self.return_unit, stateless=True)


def _units(*names):
    from brian2 import Hz, second, volt

    table = {"volt": volt, "second": second, "Hz": Hz}
    return [table[n] for n in names]


def _make_registry():
    from brian2 import Hz

    return {
        "siegert_lif": SpecialFunction(
            "siegert_lif", 6, siegert_lif_rate, [_siegert_derivative(k) for k in range(6)],
            _units("volt", "volt", "second", "volt", "volt", "second"), Hz,
            "stationary LIF rate under white noise (mu, sigma, tau, theta, V_r, tau_rp) -> Hz"),
    }


class _Registry(dict):
    """Filled on first use (Brian2 units are imported lazily)."""

    def _fill(self):
        if not dict.__len__(self):
            self.update(_make_registry())

    def __getitem__(self, key):
        self._fill()
        return dict.__getitem__(self, key)

    def __contains__(self, key):
        self._fill()
        return dict.__contains__(self, key)

    def __iter__(self):
        self._fill()
        return dict.__iter__(self)

    def items(self):
        self._fill()
        return dict.items(self)

    def keys(self):
        self._fill()
        return dict.keys(self)


#: Special functions by name (see the module docstring).
FUNCTIONS = _Registry()
