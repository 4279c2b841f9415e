r"""Input statistics of a learning scenario: what the averaged flow averages over.

Rate inputs (rate-based rules: the presynaptic rates :math:`x \in \mathbb{R}^n` are random,
a new draw every time step):

* :class:`GaussianRates` — :math:`x \sim \mathcal N(\mu, C)`;
* :class:`PatternRates` — :math:`x = \xi^k` with probability :math:`p_k` (K patterns).

For a rule between input :math:`i` and a postsynaptic rate :math:`y = F(I)` of the summed
input :math:`I = w^\top x`, every average the flow needs is of the form
:math:`\mathrm E[h(x_i, I)]`: a function of the *pair* :math:`(x_i, I)`. For patterns it is a
finite sum. For Gaussian inputs the pair is bivariate Gaussian with mean
:math:`(\mu_i, w^\top\mu)` and covariance
:math:`\begin{pmatrix} C_{ii} & (Cw)_i \\ (Cw)_i & w^\top C w\end{pmatrix}`, and the average is
taken by tensor Gauss–Hermite quadrature in two dimensions (:func:`numpy.polynomial.hermite_e.hermegauss`),
exact for polynomials :math:`h` of degree below :math:`2m` in each variable (``m = 12`` nodes:
exact for every polynomial rate rule of the catalog, whose degree is at most 4).

Spike inputs (spike-based rules):

* :class:`PoissonRates` — independent, stationary Poisson trains at rates :math:`\nu_i`;
* :class:`MixturePoisson` — Poisson trains with lagged cross-correlations, built as a mixture
  (Kuhn, Aertsen & Rotter 2003): a mother Poisson train at rate :math:`\nu_m`; input :math:`i`
  copies each mother spike with probability :math:`s_i`, shifted by its delay :math:`d_i` and
  an independent Gaussian jitter of s.d. :math:`\sigma`, plus independent Poisson spikes at
  :math:`\nu_i - s_i\nu_m`. Each train is Poisson at :math:`\nu_i` (thinning and independent
  displacement keep a Poisson process Poisson), and for :math:`i \ne j`

  .. math::

      c_{ij}(u) = \langle S_i(t) S_j(t+u)\rangle - \nu_i\nu_j
               = s_i s_j \nu_m \, \mathcal N(u;\, d_j - d_i,\, 2\sigma^2),

  a bump at lag :math:`d_j - d_i` (:math:`j` follows :math:`i`); :math:`c_{ii}(u) = \nu_i\delta(u)`.
  Equal delays give lag-symmetric correlations, :math:`c_{ij}(u) = c_{ij}(-u)`; unequal delays
  temporally asymmetric ones.

All values are SI floats (rates of spike trains in Hz, times in seconds; rates of rate
neurons are dimensionless).

References
----------
Kuhn A, Aertsen A, Rotter S (2003) Higher-order statistics of input ensembles and the response
of simple model neurons. Neural Comput 15:67-101. doi:10.1162/089976603321043702
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import BiodynError

__all__ = ["Inputs", "GaussianRates", "PatternRates", "PoissonRates", "MixturePoisson",
           "QUADRATURE_NODES"]

#: Gauss-Hermite nodes per dimension for Gaussian averages (exact to degree 2*12 - 1).
QUADRATURE_NODES = 12


class Inputs:
    """Base class of input statistics."""

    kind = ""          #: "rate" or "spike"
    n: int = 0

    def describe(self):  # pragma: no cover - overridden
        return type(self).__name__


# --------------------------------------------------------------------------
# Rate inputs
# --------------------------------------------------------------------------


class _RateInputs(Inputs):
    kind = "rate"

    def second_moment(self):
        """:math:`\\mathrm E[x x^\\top]` (the correlation matrix of the rates)."""
        m = self.mean
        return self.covariance + np.outer(m, m)

    def pair_nodes(self, w):
        """Nodes of :math:`\\mathrm E[h(x_i, I)]` at weight vectors ``w`` (shape ``(B, n)``).

        Returns ``(X, I, q)``: ``X`` and ``I`` of shape ``(B, n, Q)`` (the values of
        :math:`x_i` and :math:`I = w^\\top x` at node ``q``), and the weights ``q`` (``(Q,)``,
        summing to 1), so that ``E[h] = (h(X, I) * q).sum(-1)`` for every synapse ``i``.
        """
        raise NotImplementedError

    def output_nodes(self, w):
        """Nodes of :math:`\\mathrm E[h(I)]`: ``(I, q)`` with ``I`` of shape ``(B, Q)``."""
        raise NotImplementedError

    def sample(self, size, rng):
        """``size`` independent draws of :math:`x` (shape ``(size, n)``)."""
        raise NotImplementedError


@dataclass
class GaussianRates(_RateInputs):
    """Gaussian rates :math:`x \\sim \\mathcal N(\\mu, C)` (a new draw every time step)."""

    mean: np.ndarray
    covariance: np.ndarray
    nodes: int = QUADRATURE_NODES

    def __post_init__(self):
        self.mean = np.atleast_1d(np.asarray(self.mean, dtype=float))
        self.covariance = np.atleast_2d(np.asarray(self.covariance, dtype=float))
        self.n = self.mean.size
        C = self.covariance
        if C.shape != (self.n, self.n):
            raise BiodynError(f"covariance: expected a matrix of shape ({self.n}, {self.n}), found shape {C.shape}")
        if not np.allclose(C, C.T, rtol=0, atol=1e-12 * max(1.0, np.abs(C).max())):
            raise BiodynError("covariance: expected a symmetric matrix")
        lam = np.linalg.eigvalsh(C)
        if lam.min() < -1e-12 * max(1.0, abs(lam).max()):
            raise BiodynError(f"covariance: expected a positive semi-definite matrix, found the "
                              f"eigenvalue {lam.min():g}")
        z, q = np.polynomial.hermite_e.hermegauss(self.nodes)
        q = q / q.sum()
        self._z1 = np.repeat(z, self.nodes)
        self._z2 = np.tile(z, self.nodes)
        self._q2 = np.repeat(q, self.nodes) * np.tile(q, self.nodes)
        self._z, self._q = z, q

    def describe(self):
        return f"Gaussian rates, mean {np.round(self.mean, 4).tolist()}, covariance {np.round(self.covariance, 4).tolist()}"

    def pair_nodes(self, w):
        w = np.atleast_2d(np.asarray(w, dtype=float))
        C, mu = self.covariance, self.mean
        Cw = w @ C                                   # (B, n): (C w)_i
        var_I = np.einsum("bi,bi->b", Cw, w)         # (B,)
        s_I = np.sqrt(np.maximum(var_I, 0.0))
        m_I = w @ mu
        safe = np.where(s_I > 0, s_I, 1.0)
        a = np.where(s_I[:, None] > 0, Cw / safe[:, None], 0.0)            # cov(x_i, I)/s_I
        b = np.sqrt(np.maximum(np.diag(C)[None, :] - a ** 2, 0.0))         # residual s.d.
        X = mu[None, :, None] + a[:, :, None] * self._z1 + b[:, :, None] * self._z2
        I = np.broadcast_to((m_I[:, None] + s_I[:, None] * self._z1)[:, None, :], X.shape)
        return X, I, self._q2

    def output_nodes(self, w):
        w = np.atleast_2d(np.asarray(w, dtype=float))
        var_I = np.einsum("bi,ij,bj->b", w, self.covariance, w)
        s_I = np.sqrt(np.maximum(var_I, 0.0))
        return (w @ self.mean)[:, None] + s_I[:, None] * self._z[None, :], self._q

    def sample(self, size, rng):
        return rng.multivariate_normal(self.mean, self.covariance, size=size, method="eigh")


@dataclass
class PatternRates(_RateInputs):
    """K rate patterns :math:`\\xi^k` (rows), shown with probabilities :math:`p_k`."""

    patterns: np.ndarray
    probabilities: np.ndarray

    def __post_init__(self):
        P = np.atleast_2d(np.asarray(self.patterns, dtype=float))
        p = np.atleast_1d(np.asarray(self.probabilities, dtype=float))
        if p.size != P.shape[0]:
            raise BiodynError(f"probabilities: expected one per pattern ({P.shape[0]}), found {p.size}")
        if np.any(p < 0) or abs(p.sum() - 1.0) > 1e-9:
            raise BiodynError(f"probabilities: expected non-negative numbers summing to 1, found {p.tolist()}")
        self.patterns, self.probabilities = P, p
        self.n = P.shape[1]
        self.mean = p @ P
        d = P - self.mean
        self.covariance = (d * p[:, None]).T @ d

    def describe(self):
        return f"{len(self.probabilities)} patterns with probabilities {np.round(self.probabilities, 4).tolist()}"

    def pair_nodes(self, w):
        w = np.atleast_2d(np.asarray(w, dtype=float))
        P = self.patterns                             # (K, n)
        I = w @ P.T                                   # (B, K)
        B = w.shape[0]
        X = np.broadcast_to(P.T[None, :, :], (B, self.n, P.shape[0]))
        return X, np.broadcast_to(I[:, None, :], X.shape), self.probabilities

    def output_nodes(self, w):
        w = np.atleast_2d(np.asarray(w, dtype=float))
        return w @ self.patterns.T, self.probabilities

    def sample(self, size, rng):
        k = rng.choice(len(self.probabilities), size=size, p=self.probabilities)
        return self.patterns[k]


# --------------------------------------------------------------------------
# Spike inputs
# --------------------------------------------------------------------------


@dataclass
class PoissonRates(Inputs):
    """Independent stationary Poisson trains at ``rates`` (Hz)."""

    rates: np.ndarray
    kind: str = field(default="spike", init=False)

    def __post_init__(self):
        self.rates = np.atleast_1d(np.asarray(self.rates, dtype=float))
        self.n = self.rates.size
        if np.any(self.rates < 0):
            raise BiodynError(f"rates: expected rates >= 0, found {self.rates.tolist()}")

    @property
    def correlated(self):
        return False

    def describe(self):
        return f"independent Poisson trains at {np.round(self.rates, 4).tolist()} Hz"


@dataclass
class MixturePoisson(PoissonRates):
    """Poisson trains with lagged cross-correlations from a shared mother train (see module).

    Parameters
    ----------
    rates : (n,) array, Hz
    mother_rate : float, Hz
    share : (n,) array
        Probability :math:`s_i` that input i copies a mother spike; :math:`s_i\\nu_m \\le \\nu_i`.
    delays : (n,) array, s
        Shift :math:`d_i` of input i's copies of the mother spikes.
    jitter : float, s
        S.d. :math:`\\sigma` of the independent Gaussian jitter of each copy.
    """

    mother_rate: float = 0.0
    share: np.ndarray = None
    delays: np.ndarray = None
    jitter: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        n = self.n
        self.share = np.zeros(n) if self.share is None else np.broadcast_to(
            np.asarray(self.share, dtype=float), (n,)).copy()
        self.delays = np.zeros(n) if self.delays is None else np.broadcast_to(
            np.asarray(self.delays, dtype=float), (n,)).copy()
        self.mother_rate = float(self.mother_rate)
        self.jitter = float(self.jitter)
        if np.any(self.share < 0) or np.any(self.share > 1):
            raise BiodynError(f"share: expected probabilities in [0, 1], found {self.share.tolist()}")
        excess = self.share * self.mother_rate - self.rates
        if np.any(excess > 1e-12):
            k = int(np.argmax(excess))
            raise BiodynError(f"share: input {k} copies {self.share[k] * self.mother_rate:g} Hz of "
                              f"mother spikes, more than its rate {self.rates[k]:g} Hz")
        if self.jitter < 0:
            raise BiodynError(f"jitter: expected a s.d. >= 0, found {self.jitter}")

    @property
    def correlated(self):
        return self.mother_rate > 0 and np.count_nonzero(self.share) > 1

    @property
    def lag_symmetric(self):
        """Whether every :math:`c_{ij}(u)` is even in the lag :math:`u`."""
        active = self.share > 0
        return bool(np.ptp(self.delays[active]) == 0) if np.count_nonzero(active) > 1 else True

    def amplitude(self):
        """:math:`\\kappa_{ij} = s_i s_j \\nu_m` (Hz), zero on the diagonal."""
        k = np.outer(self.share, self.share) * self.mother_rate
        np.fill_diagonal(k, 0.0)
        return k

    def lag(self):
        """:math:`m_{ij} = d_j - d_i` (s): the lag at which :math:`c_{ij}` peaks."""
        return self.delays[None, :] - self.delays[:, None]

    def cross_correlation(self, u):
        """:math:`c_{ij}(u)` for :math:`i \\ne j` (Hz^2) at lags ``u`` (s): shape ``(n, n, len(u))``
        (the diagonal, :math:`\\nu_i\\delta(u)`, is left out). Needs ``jitter > 0``."""
        if self.jitter <= 0:
            raise BiodynError("cross_correlation: the correlations are delta functions (jitter = 0)")
        u = np.atleast_1d(np.asarray(u, dtype=float))
        s = np.sqrt(2.0) * self.jitter
        g = np.exp(-0.5 * ((u[None, None, :] - self.lag()[:, :, None]) / s) ** 2) / (s * np.sqrt(2 * np.pi))
        return self.amplitude()[:, :, None] * g

    def describe(self):
        text = super().describe()
        if not self.correlated:
            return text
        text = text.replace("independent Poisson trains", "Poisson trains")
        kind = "lag-symmetric" if self.lag_symmetric else "temporally asymmetric"
        return (f"{text}, {kind} correlations (mother train {self.mother_rate:g} Hz, shares "
                f"{np.round(self.share, 4).tolist()}, delays {np.round(self.delays * 1e3, 4).tolist()} ms, "
                f"jitter {self.jitter * 1e3:g} ms)")
