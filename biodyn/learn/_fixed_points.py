r"""Fixed points of a trained network under a constant input (Sussillo & Barak 2013).

For a constant input :math:`u` the network is an autonomous map :math:`s \mapsto F(s, u)`.
Its fixed and slow points are found as Sussillo & Barak (2013) do, by minimising

.. math::

    q(s) = \tfrac12\,\lVert F(s, u) - s\rVert^2,\qquad
    \nabla q = (D - I)^\top (F(s, u) - s),

(:math:`D = \partial F/\partial s`, the cell's own ``vjp``) from states visited by the network
on the task's inputs (Golub & Sussillo 2018 sample them the same way). Minima with
:math:`q` below ``q_tol`` (default :math:`10^{-6}`) are refined by Newton's method on :math:`F(s) - s = 0` (Jacobian
:math:`D - I`, ``scipy.optimize.root``), merged when closer than ``merge`` (max norm), and
kept if then :math:`\max|F(s)-s| < 10^{-8}`, and
classified by the eigenvalues of :math:`D`: *stable* if all have modulus < 1 (a map).
Points where :math:`q` stays above ``q_tol`` are slow points, not reported.

References
----------
Sussillo D, Barak O (2013) Opening the black box: low-dimensional dynamics in
high-dimensional recurrent neural networks. Neural Comput 25:626-649. doi:10.1162/NECO_a_00409
Golub MD, Sussillo D (2018) FixedPointFinder: a Tensorflow toolbox for identifying and
characterizing fixed points in recurrent neural networks. JOSS 3(31):1003. doi:10.21105/joss.01003
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NetworkFixedPoint", "network_fixed_points"]


@dataclass
class NetworkFixedPoint:
    """A fixed point :math:`s^* = F(s^*, u)` of a trained network."""

    state: np.ndarray
    output: np.ndarray
    eigenvalues: np.ndarray
    stable: bool
    residual: float

    def as_dict(self):
        return {"state": self.state.tolist(), "output": self.output.tolist(), "stable": bool(self.stable),
                "spectral_radius": float(np.max(np.abs(self.eigenvalues))), "residual": float(self.residual)}


def network_fixed_points(result, u=None, starts=None, n_starts=256, seed=0, q_tol=1e-6, merge=1e-4,
                         outlier_scale=10.0):
    """Fixed points of the trained network of ``result`` (a :class:`TrainResult`) under the
    constant input ``u`` (default zero), from ``starts`` ``(m, state)`` or from ``n_starts``
    states visited on the task's test inputs (plus small noise), drawn with ``seed``.
    Points farther from the starts' centroid than ``outlier_scale`` times the starts' median
    distance from it are dropped, as in Golub & Sussillo (2018): far from the visited states
    a saturated gate (a GRU's :math:`z \to 1`) makes :math:`F(s) \approx s` there without the
    network ever going there.

    Returns
    -------
    list of NetworkFixedPoint
        Sorted by their outputs (lexicographically).
    """
    from scipy.optimize import minimize, root

    net = result.network()
    cell = net.cell()
    u = np.zeros(cell.input_size) if u is None else np.asarray(u, float).reshape(cell.input_size)
    rng = np.random.default_rng([int(seed), 5])
    if starts is None:
        task = result.task
        if task is None:
            from ._task import load_task

            cfg = result.config["task"]
            task = load_task(cfg["file"] or cfg["name"], **cfg["parameters"])
        test = task.generate(min(32, task.sizes["test"]), [int(result.config["seed"]), 1])
        states = np.stack(net.run(test.x)[0][1:], axis=1).reshape(-1, cell.state_size)
        starts = states[rng.choice(len(states), size=min(int(n_starts), len(states)), replace=False)]
        starts = starts + 0.01 * rng.standard_normal(starts.shape)
    starts = np.atleast_2d(np.asarray(starts, float))

    def q_and_grad(s):
        r = cell.step(s, u) - s
        return 0.5 * float(r @ r), cell.vjp(s, u, r) - r

    centre = starts.mean(axis=0)
    reach = outlier_scale * max(float(np.median(np.linalg.norm(starts - centre, axis=1))), 1e-12)
    found = []
    for s0 in starts:
        opt = minimize(q_and_grad, s0, jac=True, method="L-BFGS-B", options={"maxiter": 2000, "gtol": 1e-12,
                                                                                "ftol": 1e-16})
        if opt.fun > q_tol:
            continue  # a slow point or a failed search
        sol = root(lambda s: cell.step(s, u) - s, opt.x, jac=lambda s: cell.jacobian(s, u) - np.eye(len(s)))
        s = sol.x if sol.success else opt.x
        res = float(np.max(np.abs(cell.step(s, u) - s)))
        if res > 1e-8 or np.linalg.norm(s - centre) > reach or any(np.max(np.abs(s - p.state)) < merge
                                                                     for p in found):
            continue
        ev = np.linalg.eigvals(cell.jacobian(s, u))
        H = cell.hidden_size
        y = net.params["readout.W"] @ s[:H] + net.params["readout.b"]
        found.append(NetworkFixedPoint(s, y, ev, bool(np.max(np.abs(ev)) < 1.0), res))
    return sorted(found, key=lambda p: tuple(np.round(p.output, 6)))
