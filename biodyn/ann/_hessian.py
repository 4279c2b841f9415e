"""Top Hessian eigenvalues from Hessian-vector products, and the edge of stability.

The *sharpness* :math:`\\lambda_{max}(\\nabla^2 L(\\theta))` is found without forming the
Hessian, from Hessian-vector products only:

* ``method="lanczos"``: implicitly restarted Lanczos (ARPACK, through
  :func:`scipy.sparse.linalg.eigsh`, ``which="LA"``) — the largest *algebraic*
  eigenvalues;
* ``method="power"``: power iteration — the eigenvalue of largest *modulus*
  (the same thing when the top of the spectrum dominates, as it does during training).

The products are exact (forward-over-reverse, Pearlmutter's R-operator, for MLPs and
ResNets: :meth:`Network.hvp`) or central finite differences of the explicit gradient
(:func:`fd_hvp`), as the objective provides (``hvp="exact"`` / ``"fd"``).

Edge of stability (Cohen et al. 2021): full-batch GD with step :math:`\\eta` is, on a
quadratic, stable iff :math:`\\lambda_{max} < 2/\\eta` (forward Euler, see
:mod:`biodyn.ann` optimisers). On neural losses the sharpness first rises (progressive
sharpening) until it reaches :math:`2/\\eta`, then hovers at or just above it while the
loss keeps decreasing non-monotonically. :func:`edge_of_stability` tracks it.

References
----------
Cohen JM, Kaur S, Li Y, Kolter JZ, Talwalkar A (2021) Gradient descent on neural networks
typically occurs at the edge of stability. ICLR 2021. arXiv:2103.00065
Pearlmutter BA (1994) Neural Computation 6(1):147-160. doi:10.1162/neco.1994.6.1.147
Lehoucq RB, Sorensen DC, Yang C (1998) ARPACK Users' Guide. SIAM. doi:10.1137/1.9780898719628
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import BiodynError, SpecError
from ._objectives import fd_hvp

__all__ = ["top_hessian_eigenvalues", "EdgeOfStability", "edge_of_stability"]


def _hvp_function(objective, hvp):
    if hvp == "exact":
        net = getattr(objective, "net", None)
        if net is not None:
            return lambda th, v: net.hvp(objective.x, objective.t, v, objective.loss, net.unravel(th))
        return objective.hvp
    if hvp == "fd":
        return lambda th, v: fd_hvp(objective.grad, th, v)
    raise SpecError(None, "hvp", "'exact' or 'fd'", repr(hvp))


def top_hessian_eigenvalues(objective, theta, k=1, method="lanczos", hvp="exact", v0=None, tol=1e-6,
                            maxiter=None, seed=0):
    """The ``k`` largest eigenvalues (and vectors) of :math:`\\nabla^2 f(\\theta)` from Hessian-vector products.

    Parameters
    ----------
    objective : object with ``grad`` (and ``hvp`` or a ``net``)
    theta : array (d,)
    k : int
    method : {"lanczos", "power"}
    hvp : {"exact", "fd"}
        Forward-over-reverse (exact) or central finite differences of the gradient.
    v0 : array, optional
        Starting vector (warm start from the previous eigenvector).
    tol : float
        Relative tolerance on the eigenvalue.

    Returns
    -------
    values : ndarray (k,), descending
    vectors : ndarray (d, k)
    """
    theta = np.asarray(theta, float)
    d = theta.size
    H = _hvp_function(objective, hvp)
    rng = np.random.default_rng(seed)
    v0 = rng.standard_normal(d) if v0 is None else np.asarray(v0, float)
    if method == "lanczos":
        from scipy.sparse.linalg import LinearOperator, eigsh

        if k >= d:
            M = np.column_stack([H(theta, e) for e in np.eye(d)])
            w, V = np.linalg.eigh(0.5 * (M + M.T))
            return w[::-1][:k], V[:, ::-1][:, :k]
        op = LinearOperator((d, d), matvec=lambda v: H(theta, np.ravel(v)), dtype=float)
        w, V = eigsh(op, k=k, which="LA", v0=v0, tol=tol, maxiter=maxiter)
        order = np.argsort(w)[::-1]
        return w[order], V[:, order]
    if method == "power":
        if k != 1:
            raise SpecError(None, "k", "k=1 with method='power'", repr(k))
        v = v0 / np.linalg.norm(v0)
        lam = 0.0
        for _ in range(maxiter or 1000):
            w = H(theta, v)
            new = float(v @ w)
            nw = np.linalg.norm(w)
            if nw == 0:
                return np.array([0.0]), v[:, None]
            v = w / nw
            if abs(new - lam) <= tol * max(abs(new), 1e-300):
                lam = new
                break
            lam = new
        return np.array([lam]), v[:, None]
    raise SpecError(None, "method", "'lanczos' or 'power'", repr(method))


@dataclass
class EdgeOfStability:
    """Full-batch GD on a network with its sharpness tracked.

    Attributes
    ----------
    lr : float
    threshold : float          :math:`2/\\eta`
    steps : ndarray            iterations at which the sharpness was measured
    sharpness : ndarray        :math:`\\lambda_{max}(\\nabla^2 L)` there
    loss_steps, loss : ndarray the training loss at every step
    hvp, method : str          how the sharpness was computed
    seed : int
    """

    lr: float
    threshold: float
    steps: np.ndarray
    sharpness: np.ndarray
    loss_steps: np.ndarray
    loss: np.ndarray
    hvp: str
    method: str
    seed: int
    trajectory: object = field(default=None, repr=False)

    def first_crossing(self, fraction=0.95):
        """First step at which the sharpness reaches ``fraction`` of :math:`2/\\eta` (``None`` if never)."""
        hit = np.nonzero(self.sharpness >= fraction * self.threshold)[0]
        return None if hit.size == 0 else int(self.steps[hit[0]])

    def to_dict(self):
        from ..build import versions

        return {"lr": self.lr, "threshold": self.threshold, "steps": self.steps.tolist(),
                "sharpness": self.sharpness.tolist(), "loss_steps": self.loss_steps.tolist(),
                "loss": self.loss.tolist(), "hvp": self.hvp, "method": self.method, "seed": self.seed,
                "versions": versions()}


def edge_of_stability(objective, lr, steps, every=10, hvp="exact", method="lanczos", theta0=None, seed=0,
                      tol=1e-5):
    """Run full-batch GD and measure the top Hessian eigenvalue every ``every`` steps.

    Parameters
    ----------
    objective : NetworkObjective (full batch) or any objective with ``hvp``
    lr : float
        :math:`\\eta`; the stability threshold of GD is :math:`2/\\eta`.
    steps, every : int
    hvp : {"exact", "fd"}
    method : {"lanczos", "power"}
    seed : int
        Seeds the Lanczos start vector (recorded).

    Returns
    -------
    EdgeOfStability
    """
    from ._optim import train

    if getattr(objective, "batch_size", None) not in (None, getattr(objective, "n", None)):
        raise SpecError(None, "objective.batch_size", "full-batch GD (batch_size=None)", repr(objective.batch_size))
    every = max(1, int(every))
    rec_steps, sharp = [], []
    state = {"v": None}

    def measure(k, th):
        w, V = top_hessian_eigenvalues(objective, th, 1, method, hvp, v0=state["v"], tol=tol, seed=seed)
        state["v"] = V[:, 0]
        rec_steps.append(k)
        sharp.append(float(w[0]))

    th0 = objective.initial() if theta0 is None else np.asarray(theta0, float)
    measure(0, th0)

    def callback(k, th):
        if k % every == 0:
            measure(k, th)

    traj = train(objective, "gd", th0, lr, steps, seed, callback=callback)
    if traj.diverged:
        raise BiodynError(f"edge_of_stability: GD diverged at step {traj.steps[-1]} (lr={lr:g})")
    return EdgeOfStability(float(lr), 2.0 / lr, np.array(rec_steps), np.array(sharp), traj.steps, traj.values,
                           hvp, method, int(seed), traj)
