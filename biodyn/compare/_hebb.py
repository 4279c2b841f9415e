r"""Association: a supervised Hebbian rule in Brian2 against the delta rule (gradient descent on
the squared error) for a linear associator.

**Task.** Map inputs :math:`x \in \mathbb R^d` to targets :math:`y \in \mathbb R^m` with a
linear associator :math:`\hat y = Wx`. The dataset (seeded): :math:`N` inputs, either
*correlated* (Gaussian, whitened and coloured so that :math:`C_{xx} = \mathrm E[xx^{\top}]` is
exactly :math:`(1-\rho)I + \rho\,\mathbf 1\mathbf 1^{\top}`) or *orthonormal*
(:math:`N \le d` patterns :math:`\sqrt N q_n` with orthonormal :math:`q_n`, so that
:math:`C_{xx}` is the projector onto their span, the identity for :math:`N = d`), and targets
:math:`y = Ax + \sigma\xi` from a random teacher :math:`A`.

**Biological learner.** The catalog's ``hebb`` synapses with decay
(:math:`\dot w = \eta\,r_{pre}\,r_{post} - \gamma w`, here :math:`\gamma = \eta`; Dayan & Abbott
2001, Eq. 8.3) between input rates and rate neurons whose input is clamped to the target
(teacher forcing: :math:`r_{post} = y`), in Brian2, samples shown one per time step in epochs
of random permutations. Its averaged flow is :math:`\dot W = \eta(C_{yx} - W)`, with the fixed
point :math:`C_{yx} = \mathrm E[yx^{\top}]` — the outer-product (correlation-matrix) memory of
Kohonen (1972) and Anderson (1972).

**Artificial learner.** Gradient descent on :math:`L = \frac1{2N}\sum_n\lVert Wx_n -
y_n\rVert^2` (:func:`biodyn.ann.linear_associator`), i.e. the delta rule of Widrow & Hoff
(1960) in its batch form, :math:`\Delta W = lr\,(C_{yx} - WC_{xx})`, from :math:`W = 0` (the
same start as the Hebbian synapses), in the learning time :math:`s = \eta t` (one GD step
advances :math:`s` by ``lr``).

**Known answers.** The delta rule's fixed point is the least-squares solution
:math:`W_{LS} = C_{yx}C_{xx}^{+}` (the minimum-norm one, reached from :math:`W = 0`); the
Hebbian fixed point is :math:`C_{yx}`. They are equal when :math:`C_{yx}C_{xx}^{+} = C_{yx}`,
in particular for orthonormal inputs; then the two averaged flows coincide, and the
alignment :math:`\cos(\mathrm E[\Delta W_{Hebb}], -\nabla L)` is exactly 1 at every
:math:`W` whose rows lie in the inputs' span (for :math:`N = d`: everywhere). With
correlated inputs the Hebbian memory is biased by :math:`C_{xx}` (cross-talk) and the
alignment measures by how much.

References
----------
Dayan P, Abbott LF (2001) Theoretical Neuroscience. MIT Press (section 8.2, Eq. 8.3).
Widrow B, Hoff ME (1960) Adaptive switching circuits. IRE WESCON Convention Record 4:96-104.
Kohonen T (1972) Correlation matrix memories. IEEE Trans Comput C-21:353-359.
doi:10.1109/TC.1972.5008975
Anderson JA (1972) A simple neural network generating an interactive memory. Math Biosci
14:197-220. doi:10.1016/0025-5564(72)90075-2
"""

from __future__ import annotations

import numpy as np

from .. import build
from ..errors import SpecError
from ._base import Setting, cosine, epochs, pca_projection, register_comparison
from ._brian import rule_update, run_rate_rule

__all__ = ["hebb_vs_delta", "association_dataset"]

SETTINGS = {
    "inputs": Setting("correlated", "str", "input statistics", choices=("correlated", "orthonormal")),
    "d": Setting(4, "int", "input dimension", low=0),
    "m": Setting(2, "int", "output dimension", low=0),
    "n_samples": Setting(None, "int", "samples (default 100 correlated, d orthonormal)", low=0),
    "correlation": Setting(0.6, "float", "correlation rho between inputs (correlated inputs)"),
    "noise": Setting(0.1, "float", "standard deviation of the target noise"),
    "eta": Setting("1 Hz", "Hz", "learning rate of the rule (hebb's eta; gamma = eta)", low=0),
    "dt": Setting("1 ms", "ms", "Brian2 time step (one sample per step)", low=0),
    "duration": Setting("10 second", "second", "simulated time (learning time s = eta*t)", low=0),
    "lr": Setting(0.05, "float", "gradient-descent step of the delta rule, in learning time s", low=0),
    "record_interval": Setting("50 ms", "ms", "interval of the recorded series", low=0),
    "bound": Setting(100.0, "float", "the hebb rule's weight bounds [-bound, bound] (never reached)",
                     low=0),
}


def association_dataset(kind, n, d, m, correlation, noise, rng):
    """``(X, Y, A, Cxx)`` of a linear association task (see the module docstring)."""
    if kind == "orthonormal":
        Q, R = np.linalg.qr(rng.standard_normal((d, d)))
        Q = Q * np.sign(np.diag(R))
        X = np.sqrt(n) * Q[:, :n].T                       # rows sqrt(N) q_n
    else:
        Z = rng.standard_normal((n, d))
        S = Z.T @ Z / n
        s, V = np.linalg.eigh(S)
        Zw = Z @ (V / np.sqrt(s)) @ V.T                   # Zw'Zw/N = I exactly
        C = (1 - correlation) * np.eye(d) + correlation * np.ones((d, d))
        c, U = np.linalg.eigh(C)
        X = Zw @ (U * np.sqrt(c)) @ U.T                   # X'X/N = C exactly
    A = rng.standard_normal((m, d)) / np.sqrt(d)
    Y = X @ A.T + noise * rng.standard_normal((n, m))
    return X, Y, A, X.T @ X / n


def _whole(value, step, key):
    r = value / step
    k = int(round(r))
    if k < 1 or abs(r - k) > 1e-6 * max(1.0, r):
        raise SpecError("<settings of hebb_vs_delta>", key, "a whole multiple of the step", f"{r:g} steps")
    return k


@register_comparison("hebb_vs_delta", SETTINGS,
                     "association: supervised Hebb with decay (Brian2) vs the delta rule (GD on squared error)")
def _hebb_vs_delta(settings, seed, target):
    """A supervised Hebbian rule (rate neurons in Brian2, teacher-forced) against the delta rule
    (gradient descent on the squared error of a linear associator), on the same data (see
    :mod:`biodyn.compare._hebb` for the maths).

    Parameters
    ----------
    seed : int
        Seeds the dataset and the order of the samples.
    target : str
        Brian2 target of the biological learner (default ``"numpy"``).
    **settings
        ``inputs`` (``"correlated"`` or ``"orthonormal"``), ``d``, ``m``, ``n_samples``,
        ``correlation``, ``noise``, ``eta`` (Hz), ``dt``, ``duration``, ``record_interval``
        (quantities), ``lr`` (GD step in learning time), ``bound``.

    Returns
    -------
    Comparison
        ``series``: ``t`` (s), ``s`` (:math:`\\eta t`), ``w_bio``, ``w_ann`` (flattened
        ``(T, m*d)``), ``error_hebb_bio`` (:math:`\\lVert W_{bio} - C_{yx}\\rVert_F`),
        ``error_ls_bio``, ``error_ls_ann`` (to :math:`W_{LS}`), ``error_hebb_ann``, ``loss_bio``,
        ``loss_ann`` (:math:`L`), ``alignment`` (expected Hebbian update vs
        :math:`-\\nabla L` at the Brian2 weights), ``alignment_ann`` (the same at the delta
        rule's weights), ``gradient_norm`` (:math:`\\lVert\\nabla L\\rVert` at the Brian2
        weights), ``projection_bio``, ``projection_ann``, ``projection_fixed_points``
        (:math:`C_{yx}` then :math:`W_{LS}`).
        ``summary``: ``C_yx``, ``W_ls``, the distance between them, the final errors, the
        loss at each fixed point, the final and minimum alignment, the largest weight reached
        (against the bound), the dataset.
    """
    from brian2 import second

    from .. import ann

    where = "<settings of hebb_vs_delta>"
    kind, d, m = settings["inputs"], settings["d"], settings["m"]
    N = settings["n_samples"] if settings["n_samples"] is not None else (100 if kind == "correlated" else d)
    if kind == "orthonormal" and N > d:
        raise SpecError(where, "n_samples", f"at most d = {d} orthonormal patterns", repr(N))
    if kind == "correlated" and not -1.0 / (d - 1 if d > 1 else 1) < settings["correlation"] < 1:
        raise SpecError(where, "correlation", "a correlation making C_xx positive definite "
                        f"(-1/(d-1) < rho < 1)", repr(settings["correlation"]))
    if kind == "correlated" and N < d:
        raise SpecError(where, "n_samples", f"at least d = {d} samples for correlated inputs", repr(N))
    eta = float(settings["eta"] * second)
    dt = float(settings["dt"] / second)
    duration = float(settings["duration"] / second)
    interval = float(settings["record_interval"] / second)
    lr = settings["lr"]
    stride = _whole(interval, dt, "record_interval")
    steps = int(round(duration / dt))
    if steps % stride:
        raise SpecError(where, "duration", "a whole number of record intervals", f"{duration / interval:g}")
    ann_stride = _whole(eta * interval, lr, "lr")
    rng = np.random.default_rng([seed, 21])
    X, Y, A, Cxx = association_dataset(kind, N, d, m, settings["correlation"], settings["noise"], rng)
    Cyx = Y.T @ X / N
    W_ls = Cyx @ np.linalg.pinv(Cxx)
    order = epochs(N, steps, np.random.default_rng([seed, 22]))
    b = settings["bound"]
    rule = build.resolve("hebb", "with_decay", {"eta": settings["eta"], "gamma": settings["eta"],
                                                "w_min": str(-b), "w_max": str(b)})

    # -- the biological learner: teacher-forced Hebb in Brian2
    W0 = np.zeros((m, d))
    bio = run_rate_rule(rule, X[order], W0, dt=settings["dt"], record_every=stride, teacher=Y[order],
                        target=target, seed=seed, build_key="compare-hebb_vs_delta")
    t = bio["t"]
    Wb = bio["w"]

    # -- the artificial learner: the delta rule (GD on the linear associator)
    obj = ann.linear_associator(X, Y, seed=seed)
    traj = ann.train(obj, "gd", np.zeros(obj.dim), lr=lr, steps=ann_stride * (len(t) - 1),
                     record_every=ann_stride, seed=seed)
    Wa = np.asarray(traj.thetas).reshape(len(t), m, d)

    # -- measures
    update = rule_update(rule)

    def hebb_update(W):
        return update.expected(X, W, Y=Y)

    def neg_grad(W):
        return -obj.grad(W.ravel()).reshape(m, d)

    grads = np.array([neg_grad(w) for w in Wb])
    align = np.array([cosine(hebb_update(w), g) for w, g in zip(Wb, grads)])
    align_ann = np.array([cosine(hebb_update(w), neg_grad(w)) for w in Wa])
    err = lambda W, R: np.linalg.norm(W - R[None], axis=(1, 2))  # noqa: E731
    proj = pca_projection([Wb, Wa, np.array([Cyx, W_ls])])

    series = {
        "t": t, "s": eta * t, "w_bio": Wb.reshape(len(t), -1), "w_ann": Wa.reshape(len(t), -1),
        "error_hebb_bio": err(Wb, Cyx), "error_ls_bio": err(Wb, W_ls),
        "error_ls_ann": err(Wa, W_ls), "error_hebb_ann": err(Wa, Cyx),
        "loss_bio": np.array([obj.value(w.ravel()) for w in Wb]),
        "loss_ann": np.asarray(traj.values, float),
        "alignment": align, "alignment_ann": align_ann,
        "gradient_norm": np.linalg.norm(grads.reshape(len(t), -1), axis=1),
        "projection_bio": proj["projections"][0], "projection_ann": proj["projections"][1],
        "projection_fixed_points": proj["projections"][2],
    }
    summary = {
        "inputs": kind, "C_yx": Cyx, "W_ls": W_ls, "teacher": A,
        "fixed_point_distance": float(np.linalg.norm(Cyx - W_ls)),
        "final_error_hebb_bio": float(series["error_hebb_bio"][-1]),
        "final_error_ls_bio": float(series["error_ls_bio"][-1]),
        "final_error_ls_ann": float(series["error_ls_ann"][-1]),
        "loss_at_C_yx": float(obj.value(Cyx.ravel())), "loss_at_W_ls": float(obj.value(W_ls.ravel())),
        "final_alignment": float(align[-1]), "min_alignment": float(np.nanmin(align)),
        "max_abs_weight_bio": float(np.max(np.abs(Wb))), "bound": b,
        "projection_explained": proj["explained"],
        "time_mapping": ("Brian2: Euler steps of dt on dW/dt = eta*(y x' - W) (learning time s = "
                         f"eta*t); GD: one step of lr = {lr:g} advances s by lr"),
        "dataset": {"inputs": kind, "X": X, "Y": Y, "C_xx": Cxx, "n_samples": N,
                    "order": "epochs of random permutations", "seed": seed},
        "timings": {"brian2": bio["timings"].get("run")},
    }
    if np.max(np.abs(Wb)) >= b:
        summary["warning"] = "the Hebbian weights reached their bound: raise 'bound'"
    return series, summary


hebb_vs_delta = _hebb_vs_delta
