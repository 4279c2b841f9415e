"""Weight initialisations: Gaussian (mean-field scaling) and orthogonal (Haar).

Gaussian: :math:`W_{ij} \\sim \\mathcal N(0, \\sigma_w^2/n_{in})`,
:math:`b_i \\sim \\mathcal N(0, \\sigma_b^2)` — the parametrisation of the mean-field theory of
deep networks (Poole et al. 2016; Schoenholz et al. 2017), in which the order-to-chaos
transition of a tanh net sits at :math:`\\chi_1 = \\sigma_w^2\\,E[\\phi'(h)^2] = 1`.

Orthogonal: :math:`W = g\\,Q` with :math:`Q` Haar-distributed (semi-)orthogonal, drawn as the Q
factor of a Gaussian matrix with the signs of ``diag(R)`` fixed (Mezzadri 2007). With
:math:`g = 1` a deep *linear* network has an input–output Jacobian whose singular values are
all exactly 1 (Saxe, McClelland & Ganguli 2014), and tanh nets near :math:`\\chi_1 = 1`
approach dynamical isometry (Pennington, Schoenholz & Ganguli 2017).

References
----------
Poole B, Lahiri S, Raghu M, Sohl-Dickstein J, Ganguli S (2016) Exponential expressivity in
deep neural networks through transient chaos. NeurIPS 29:3360-3368. arXiv:1606.05340.
Schoenholz SS, Gilmer J, Ganguli S, Sohl-Dickstein J (2017) Deep information propagation.
ICLR 2017. arXiv:1611.01232.
Saxe AM, McClelland JL, Ganguli S (2014) Exact solutions to the nonlinear dynamics of learning
in deep linear neural networks. ICLR 2014. arXiv:1312.6120.
Pennington J, Schoenholz SS, Ganguli S (2017) Resurrecting the sigmoid in deep learning
through dynamical isometry: theory and practice. NeurIPS 30:4785-4795. arXiv:1711.04735.
Mezzadri F (2007) How to generate random matrices from the classical compact groups.
Notices of the AMS 54(5):592-604.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SpecError, suggest

__all__ = ["Gaussian", "Orthogonal", "INITS", "initialiser", "haar_orthogonal"]


def haar_orthogonal(n_out, n_in, rng):
    """A Haar-distributed ``(n_out, n_in)`` matrix with orthonormal rows or columns."""
    n, m = max(n_out, n_in), min(n_out, n_in)
    a = rng.standard_normal((n, m))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))  # Mezzadri 2007: makes the distribution Haar
    return q if n_out >= n_in else q.T


@dataclass(frozen=True)
class Gaussian:
    """:math:`W \\sim \\mathcal N(0, \\sigma_w^2/n_{in})`, :math:`b \\sim \\mathcal N(0, \\sigma_b^2)`."""

    sigma_w: float = 1.0
    sigma_b: float = 0.0

    def weight(self, n_out, n_in, rng):
        return rng.standard_normal((n_out, n_in)) * (self.sigma_w / np.sqrt(n_in))

    def bias(self, n, rng):
        return rng.standard_normal(n) * self.sigma_b if self.sigma_b else np.zeros(n)


@dataclass(frozen=True)
class Orthogonal:
    """:math:`W = \\sigma_w Q`, :math:`Q` Haar (semi-)orthogonal; :math:`b \\sim \\mathcal N(0, \\sigma_b^2)`."""

    sigma_w: float = 1.0
    sigma_b: float = 0.0

    def weight(self, n_out, n_in, rng):
        return self.sigma_w * haar_orthogonal(n_out, n_in, rng)

    def bias(self, n, rng):
        return rng.standard_normal(n) * self.sigma_b if self.sigma_b else np.zeros(n)


#: Initialisations by name.
INITS = {"gaussian": Gaussian, "orthogonal": Orthogonal}


def initialiser(init="gaussian", sigma_w=1.0, sigma_b=0.0):
    """An initialiser object from a name (``"gaussian"``, ``"orthogonal"``) or itself."""
    if hasattr(init, "weight") and hasattr(init, "bias"):
        return init
    if init in INITS:
        return INITS[init](float(sigma_w), float(sigma_b))
    raise SpecError(None, "init", "one of " + ", ".join(INITS), repr(init), suggest(str(init), INITS))
