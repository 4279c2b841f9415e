r"""Principal-subspace learning: Oja's subspace rule in Brian2 against a linear autoencoder
trained by gradient descent, on the same data.

**Task.** A dataset :math:`X` of :math:`N` samples in :math:`d` dimensions whose covariance
:math:`C = X^{\top}X/N` is exactly :math:`U\Lambda U^{\top}` (Gaussian draws, centred,
whitened, then coloured with the chosen eigenvalues :math:`\lambda_1 > \dots > \lambda_d` and a
random orthogonal :math:`U`, all from the seed). Both learners should find the span of the
top-:math:`k` eigenvectors :math:`U_k`.

**Biological learner.** :math:`k` linear rate neurons :math:`y = Wx` with the catalog's
``oja_subspace`` synapses (Oja 1989), :math:`\Delta W = \eta\,dt\,(yx^{\top} - yy^{\top}W)`,
the samples shown one per time step in epochs of random permutations (random reshuffling).
Brian2's Euler step with :math:`\eta` and ``dt`` is forward Euler with step :math:`\eta\,dt` on
the averaged flow :math:`dW/ds = WC(I - W^{\top}W)` in the learning time :math:`s = \eta t`,
up to sampling noise; that averaged flow is also integrated (numpy Euler, same steps, the
rule's update read from its spec and averaged over the dataset) as the noise-free reference.

**Artificial learner.** The linear autoencoder :math:`\hat x = W_2W_1x` on
:math:`L = \frac1{2N}\sum_n\lVert\hat x_n - x_n\rVert^2` (:func:`biodyn.ann.linear_autoencoder`;
Baldi & Hornik 1989), full-batch gradient descent with step ``lr`` in the same learning time
(one GD step advances :math:`s` by ``lr``: GD with step :math:`\eta` on :math:`L` is the
time-:math:`\eta` Euler step of the gradient flow), starting from the biological network's
initial weights (:math:`W_1 = W_0`, :math:`W_2 = W_0^{\top}`: balanced, and gradient flow keeps
:math:`W_1W_1^{\top} - W_2^{\top}W_2` constant).

**Known answers.** (i) Both converge to the principal subspace (angle → 0); the
autoencoder's end-to-end map :math:`W_2W_1` becomes the projector :math:`U_kU_k^{\top}`
(Jacobian singular values 1 for the kept directions, 0 for the others), and so does the
biological network's reconstruction :math:`x \mapsto \hat x = W^{\top}Wx` (rows of :math:`W`
orthonormal). (ii) Near convergence the averaged Oja flow linearises to
:math:`\dot B_{ij} = -(\lambda_i - \lambda_j)B_{ij}` for the components :math:`B` of
:math:`W` outside the subspace (:math:`i \le k < j`), so the subspace angle decays at the
gap :math:`\lambda_k - \lambda_{k+1}` per unit of :math:`s` (Oja 1989; Xu 1993); the
autoencoder's gradient flow at a balanced minimum couples :math:`(B_1)_{ij}` with
:math:`(B_2^{\top})_{ij}` through
:math:`\begin{pmatrix}-\lambda_j & \lambda_j\\ \lambda_j & -\lambda_i\end{pmatrix}`, whose slow
rate :math:`\tfrac12[\lambda_i + \lambda_j - \sqrt{(\lambda_i-\lambda_j)^2 + 4\lambda_j^2}]` is
smallest for :math:`i = k, j = d`: the autoencoder is *not* set by the gap alone. Each
measured rate is compared with the linearisation at its own end state (the Jacobian of the
averaged field, the Hessian of :math:`L`; for GD the map's rate
:math:`-\ln(1 - lr\,h)/lr`).

**Gradient alignment.** The biological update is the rule's *expected* update over the
dataset at the simulated weights :math:`W(t)` (read from the spec); the artificial objective
is :math:`L` evaluated on the biological network itself, :math:`L(W) = L(W_1 = W, W_2 =
W^{\top})` — the reconstruction :math:`W^{\top}Wx` the Brian2 network computes in its
``xhat`` — whose gradient :math:`\nabla_{W_1}L + (\nabla_{W_2}L)^{\top}` comes from
:mod:`biodyn.ann`'s backprop. The alignment :math:`\cos(\Delta W_{bio}, -\nabla_W L)` is 1
exactly when the rows of :math:`W` are orthonormal (Oja's rule is then the gradient flow of
:math:`L` on the Stiefel manifold; Xu 1993) and for small :math:`W`.

References
----------
Oja E (1989) Neural networks, principal components, and subspaces. Int J Neural Syst 1:61-68.
doi:10.1142/S0129065789000475
Baldi P, Hornik K (1989) Neural networks and principal component analysis: learning from
examples without local minima. Neural Netw 2:53-58. doi:10.1016/0893-6080(89)90014-2
Xu L (1993) Least mean square error reconstruction principle for self-organizing neural-nets.
Neural Netw 6:627-648. doi:10.1016/S0893-6080(05)80107-8
"""

from __future__ import annotations

import numpy as np

from .. import build
from ..errors import SpecError
from ._base import (Setting, cosine, epochs, exponential_rate, first_passage_rate, noise_floor,
                    pca_projection, register_comparison, subspace_angle, tail_rate)
from ._brian import rule_update, run_rate_rule

__all__ = ["oja_vs_backprop", "principal_dataset", "ae_balanced_rates"]

SETTINGS = {
    "d": Setting(5, "int", "input dimension", low=1),
    "k": Setting(2, "int", "number of output neurons (subspace dimension)", low=0),
    "eigenvalues": Setting([4.0, 3.0, 1.0, 0.8, 0.6], "list", "eigenvalues of the data covariance, "
                           "descending (d of them)"),
    "n_samples": Setting(200, "int", "samples in the dataset", low=0),
    "eta": Setting("1 Hz", "Hz", "learning rate of the rule (oja_subspace's eta)", low=0),
    "dt": Setting("1 ms", "ms", "Brian2 time step (one sample per step)", low=0),
    "duration": Setting("20 second", "second", "simulated time (learning time s = eta*t)", low=0),
    "lr": Setting(0.05, "float", "gradient-descent step of the autoencoder, in learning time s",
                  low=0),
    "record_interval": Setting("50 ms", "ms", "interval of the recorded series", low=0),
    "init_scale": Setting(0.1, "float", "standard deviation of the initial weights", low=0),
    "tail": Setting(60.0, "float", "learning time up to which the noise-free learners (averaged flow, "
                    "GD) continue beyond the Brian2 run, for their asymptotic rates (they stop once "
                    "their angle is below 1e-11)", low=0),
}

#: the noise-free learners stop their tail below this subspace angle (rounding is near)
TAIL_STOP = 1e-11


def principal_dataset(n_samples, eigenvalues, rng):
    """``(X, U)``: ``n_samples`` rows whose covariance :math:`X^{\\top}X/N` is exactly
    :math:`U\\,\\mathrm{diag}(\\lambda)\\,U^{\\top}` (Gaussian draws, centred, whitened and
    coloured) and the random orthogonal :math:`U` (columns: eigenvectors, in order)."""
    lam = np.asarray(eigenvalues, float)
    d = lam.size
    Z = rng.standard_normal((n_samples, d))
    Z -= Z.mean(axis=0)
    S = Z.T @ Z / n_samples
    s, V = np.linalg.eigh(S)
    Zw = Z @ (V / np.sqrt(s)) @ V.T
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    U = Q * np.sign(np.diag(R))            # Haar-distributed orthogonal matrix
    return Zw @ (np.sqrt(lam)[:, None] * U.T), U


def ae_balanced_rates(eigenvalues, k):
    """Rates :math:`\\tfrac12[\\lambda_i + \\lambda_j - \\sqrt{(\\lambda_i - \\lambda_j)^2 +
    4\\lambda_j^2}]` (:math:`i \\le k < j`) of the linear autoencoder's gradient flow at a
    balanced minimum, for the components outside the principal subspace; ``(k, d-k)`` array."""
    lam = np.asarray(eigenvalues, float)
    li, lj = lam[:k, None], lam[None, k:]
    return 0.5 * (li + lj - np.sqrt((li - lj) ** 2 + 4 * lj ** 2))


def _check(settings):
    where = "<settings of oja_vs_backprop>"
    d, k = settings["d"], settings["k"]
    lam = settings["eigenvalues"]
    if lam.ndim != 1 or lam.size != d:
        raise SpecError(where, "eigenvalues", f"{d} eigenvalues (one per input dimension d)",
                        f"{lam.size}")
    if np.any(lam <= 0) or np.any(np.diff(lam) >= 0):
        raise SpecError(where, "eigenvalues", "positive eigenvalues in strictly descending order",
                        repr(lam.tolist()))
    if not 1 <= k < d:
        raise SpecError(where, "k", f"a subspace dimension between 1 and d - 1 = {d - 1}", repr(k))
    if settings["n_samples"] < d:
        raise SpecError(where, "n_samples", f"at least d = {d} samples", repr(settings["n_samples"]))


def _stride(interval, step, expected, key):
    r = interval / step
    n = int(round(r))
    if n < 1 or abs(r - n) > 1e-6 * max(1.0, r):
        raise SpecError("<settings of oja_vs_backprop>", key, expected, f"{r:g} of them")
    return n


@register_comparison("oja_vs_backprop", SETTINGS,
                     "principal subspace: Oja's subspace rule (Brian2) vs a linear autoencoder (GD)")
def _oja_vs_backprop(settings, seed, target):
    """Oja's subspace rule (rate neurons in Brian2) against a linear autoencoder trained by
    gradient descent on the same data (see :mod:`biodyn.compare._oja` for the maths).

    Parameters
    ----------
    seed : int
        Seeds the dataset, the initial weights and the order of the samples.
    target : str
        Brian2 target of the biological learner (default ``"numpy"``).
    **settings
        ``d``, ``k``, ``eigenvalues``, ``n_samples``, ``eta`` (Hz), ``dt``, ``duration``,
        ``record_interval`` (quantities), ``lr`` (GD step in learning time, dividing
        :math:`\\eta\\,`record_interval), ``init_scale``, ``tail``.

    Returns
    -------
    Comparison
        ``series``: ``t`` (s), ``s`` (learning time :math:`\\eta t`), ``angle_bio``,
        ``angle_flow``, ``angle_ann`` (largest principal angle of the encoders' row spaces to
        :math:`U_k`, radians), ``angle_ann_decoder`` (column space of :math:`W_2`),
        ``loss_bio``, ``loss_ann`` (:math:`L` of each learner), ``alignment`` (along the Brian2
        run), ``alignment_flow`` (along the averaged flow), ``alignment_measured`` (the Brian2
        run's measured increments between records instead of the expected update),
        ``gradient_norm`` (:math:`\\lVert\\nabla_W L\\rVert` at the Brian2 weights),
        ``projection_bio``, ``projection_ann`` (the maps :math:`W^{\\top}W` and
        :math:`W_2W_1` on their shared top-2 principal components), ``projection_target``
        (:math:`U_kU_k^{\\top}` there), ``w_bio`` and ``w_ann_encoder`` (flattened weights);
        ``tail_s_flow``, ``tail_angle_flow``, ``tail_s_ann``, ``tail_angle_ann``: the noise-free
        learners continued beyond the Brian2 run (to learning time ``tail``, or until their
        angle is below 1e-11) for their asymptotic rates.
        ``summary``: eigenvalues and gap; fitted rates with their windows: ``rate_bio`` (the
        Brian2 angle's first passage from 0.2 down to 4 times its noise floor),
        ``rate_flow_same_window`` (the averaged flow over the same window), ``rate_flow`` and
        ``rate_ann`` (the last 40 % of the noise-free tails), ``rate_ann_slowest_mode`` (the
        GD tail projected on the Hessian's slowest eigenvector: that mode alone); the predictions
        (``predicted_rate_oja`` = gap, ``predicted_rate_ann``), the linearisations at the
        end states (``linearisation_oja``: eigenvalues of the averaged field's Jacobian per
        unit s, ``linearisation_ann``: Hessian eigenvalues, slowest non-zero rates, the GD
        map's rate), Jacobian spectra (``jacobian_spectrum_ann``: singular values of
        :math:`W_2W_1`; ``jacobian_spectrum_bio``: of :math:`W^{\\top}W`;
        ``singular_values_bio``: of :math:`W`), distances to the projector, final angles,
        the noise floor, the dataset.
    """
    from brian2 import second

    from .. import ann

    _check(settings)
    d, k, N = settings["d"], settings["k"], settings["n_samples"]
    lam = settings["eigenvalues"]
    eta = float(settings["eta"] / (1 / second))
    dt = float(settings["dt"] / second)
    duration = float(settings["duration"] / second)
    interval = float(settings["record_interval"] / second)
    lr = settings["lr"]
    steps = int(round(duration / dt))
    stride = _stride(interval, dt, "a record_interval that is a whole number of time steps dt",
                     "record_interval")
    ann_stride = _stride(eta * interval, lr, f"a GD step lr that divides eta*record_interval = "
                         f"{eta * interval:g} (the learning time between records)", "lr")
    if steps % stride:
        raise SpecError("<settings of oja_vs_backprop>", "duration",
                        "a whole number of record intervals", f"{duration / interval:g} of them")
    # forward Euler on the averaged flows: the norm modes (rate 2 lambda_1) need step * 2 lambda_1 < 2
    where = "<settings of oja_vs_backprop>"
    if eta * dt * 2 * lam[0] >= 2:
        raise SpecError(where, "eta", f"eta*dt*2*lambda_1 < 2 (the Euler step of the averaged flow is "
                        f"unstable beyond)", f"{eta * dt * 2 * lam[0]:g}", "lower eta or dt")
    if lr * 2 * lam[0] >= 2:
        raise SpecError(where, "lr", "lr*2*lambda_1 < 2 (gradient descent on the autoencoder diverges "
                        "beyond: its Hessian's largest eigenvalue is about 2 lambda_1)",
                        f"{lr * 2 * lam[0]:g}")
    rng = np.random.default_rng([seed, 7])
    X, U = principal_dataset(N, lam, rng)
    C = X.T @ X / N
    Uk = U[:, :k]
    P = Uk @ Uk.T
    W0 = settings["init_scale"] * rng.standard_normal((k, d))
    order = epochs(N, steps, np.random.default_rng([seed, 8]))

    # -- the biological learner (Brian2)
    rule = build.resolve("oja_subspace", None, {"eta": settings["eta"]})
    bio = run_rate_rule(rule, X[order], W0, dt=settings["dt"], record_every=stride, target=target,
                        seed=seed, build_key="compare-oja_vs_backprop")
    t = bio["t"]
    Wb = bio["w"]                                        # (T, k, d)
    s = eta * t

    # -- the averaged flow (numpy Euler, same steps): the noise-free reference
    update = rule_update(rule)
    Wf = [W0.copy()]
    W = W0.copy()
    for n in range(steps):
        W = W + dt * update.expected(X, W)
        if (n + 1) % stride == 0:
            Wf.append(W.copy())
    Wf = np.array(Wf)

    # -- the artificial learner (GD on the linear autoencoder)
    obj = ann.linear_autoencoder(X, k, seed=seed)
    k1, k2 = obj.net.param_names
    theta0 = obj.net.ravel({k1: W0, k2: W0.T})
    ann_steps = ann_stride * (len(t) - 1)
    traj = ann.train(obj, "gd", theta0, lr=lr, steps=ann_steps, seed=seed, record_every=ann_stride)
    enc = np.array([obj.net.unravel(th)[k1] for th in traj.thetas])      # (T, k, d)
    dec = np.array([obj.net.unravel(th)[k2] for th in traj.thetas])      # (T, d, k)

    # -- measures on the common grid
    angle_bio = np.array([subspace_angle(w.T, Uk) for w in Wb])
    angle_flow = np.array([subspace_angle(w.T, Uk) for w in Wf])
    angle_ann = np.array([subspace_angle(w.T, Uk) for w in enc])
    angle_dec = np.array([subspace_angle(w, Uk) for w in dec])

    def tied_theta(w):
        return obj.net.ravel({k1: w, k2: w.T})

    def tied_gradient(w):
        g = obj.net.unravel(obj.grad(tied_theta(w)))
        return g[k1] + g[k2].T

    loss_bio = np.array([obj.value(tied_theta(w)) for w in Wb])
    loss_ann = np.asarray(traj.values, float)
    grads = np.array([tied_gradient(w) for w in Wb])
    align = np.array([cosine(update.expected(X, w), -g) for w, g in zip(Wb, grads)])
    align_flow = np.array([cosine(update.expected(X, w), -tied_gradient(w)) for w in Wf])
    align_meas = np.array([cosine(Wb[i + 1] - Wb[i], -tied_gradient(Wb[i])) for i in range(len(Wb) - 1)]
                          + [np.nan])
    maps_bio = np.einsum("tki,tkj->tij", Wb, Wb)                 # W'W
    maps_ann = np.einsum("tik,tkj->tij", dec, enc)               # W2 W1
    proj = pca_projection([maps_bio, maps_ann, P[None]])

    # -- the noise-free learners continued beyond the common horizon (asymptotic rates)
    s_max = max(settings["tail"], s[-1])
    tail_flow_s, tail_flow = [s[-1]], [angle_flow[-1]]
    W = Wf[-1].copy()
    while tail_flow_s[-1] < s_max - 1e-12 and tail_flow[-1] > TAIL_STOP:
        for _ in range(stride):
            W = W + dt * update.expected(X, W)
        tail_flow_s.append(tail_flow_s[-1] + eta * interval)
        tail_flow.append(subspace_angle(W.T, Uk))
    W_flow_end = W
    tail_ann_s, tail_ann, th = [s[-1]], [angle_ann[-1]], traj.thetas[-1]
    tail_thetas = [th]
    chunk = max(1, int(round(1.0 / lr)))               # check every unit of learning time
    while tail_ann_s[-1] < s_max - 1e-12 and tail_ann[-1] > TAIL_STOP:
        more = ann.train(obj, "gd", th, lr=lr, steps=chunk * ann_stride, record_every=ann_stride, seed=seed)
        for th_k in more.thetas[1:]:
            tail_ann_s.append(tail_ann_s[-1] + lr * ann_stride)
            tail_ann.append(subspace_angle(obj.net.unravel(th_k)[k1].T, Uk))
            tail_thetas.append(th_k)
        th = more.thetas[-1]
    tail_flow_s, tail_flow = np.array(tail_flow_s), np.array(tail_flow)
    tail_ann_s, tail_ann = np.array(tail_ann_s), np.array(tail_ann)

    # -- rates and linearisations
    gap = float(lam[k - 1] - lam[k])
    floor = noise_floor(angle_bio)
    rate_bio, win_bio, _ = first_passage_rate(s, angle_bio, 4 * floor, 0.2)
    same = np.zeros_like(s, bool) if win_bio is None else (s >= win_bio[0]) & (s <= win_bio[1])
    rate_flow_same = exponential_rate(s[same], angle_flow[same], 0, np.inf)[0] if same.sum() > 2 else float("nan")
    all_flow_s = np.concatenate([s, tail_flow_s[1:]])
    rate_flow, win_flow, _ = tail_rate(all_flow_s, np.concatenate([angle_flow, tail_flow[1:]]), low=10 * TAIL_STOP)
    all_ann_s = np.concatenate([s, tail_ann_s[1:]])
    rate_ann, win_ann, _ = tail_rate(all_ann_s, np.concatenate([angle_ann, tail_ann[1:]]), low=10 * TAIL_STOP)

    def oja_field(v):
        return update.expected(X, v.reshape(k, d)).ravel()

    wf = W_flow_end.ravel()
    h = 1e-5
    Jf = np.column_stack([(oja_field(wf + h * e) - oja_field(wf - h * e)) / (2 * h)
                          for e in np.eye(k * d)])
    ev_oja = np.sort(np.real(np.linalg.eigvals(Jf)))[::-1] / eta
    slow_oja = _slowest_nonzero(-ev_oja)
    th_end = tail_thetas[-1]
    H = np.array([obj.hvp(th_end, e) for e in np.eye(obj.dim)])
    ev_ann, V_ann = np.linalg.eigh(0.5 * (H + H.T))
    slow_ann = _slowest_nonzero(ev_ann)
    # the slowest mode alone: the tail's deviations from its end projected on its eigenvector
    mode = None
    if slow_ann is not None:
        v1 = V_ann[:, int(np.argmin(np.where(ev_ann > 1e-6 * ev_ann.max(), ev_ann, np.inf)))]
        c = np.abs((np.array(tail_thetas) - th_end) @ v1)
        mode = tail_rate(tail_ann_s[: len(c)], c, low=1e-9 * np.linalg.norm(th_end))[0]
    balanced = ae_balanced_rates(lam, k)
    pred_ann = float(balanced.min())
    gd_rate = float(-np.log(1 - lr * slow_ann) / lr) if slow_ann is not None and lr * slow_ann < 1 else None

    x_probe = X[:1]
    end_ann = obj.net.unravel(traj.thetas[-1])
    sv_ann = np.sort(ann.jacobian_spectrum(obj.net, x_probe, end_ann)[0])[::-1]
    Wend = Wb[-1]
    sv_bio_map = np.linalg.svd(Wend.T @ Wend, compute_uv=False)
    sv_bio = np.linalg.svd(Wend, compute_uv=False)

    series = {
        "t": t, "s": s, "angle_bio": angle_bio, "angle_flow": angle_flow, "angle_ann": angle_ann,
        "angle_ann_decoder": angle_dec, "loss_bio": loss_bio, "loss_ann": loss_ann,
        "alignment": align, "alignment_flow": align_flow, "alignment_measured": align_meas,
        "gradient_norm": np.linalg.norm(grads.reshape(len(t), -1), axis=1),
        "projection_bio": proj["projections"][0], "projection_ann": proj["projections"][1],
        "projection_target": proj["projections"][2],
        "w_bio": Wb.reshape(len(t), -1), "w_ann_encoder": enc.reshape(len(t), -1),
        "tail_s_flow": tail_flow_s, "tail_angle_flow": tail_flow,
        "tail_s_ann": tail_ann_s, "tail_angle_ann": tail_ann,
    }
    summary = {
        "eigenvalues": lam, "k": k, "gap": gap,
        "predicted_rate_oja": gap, "predicted_rate_oja_per_second": eta * gap,
        "predicted_rate_ann": pred_ann, "ann_balanced_rates": balanced,
        "rate_bio": rate_bio, "rate_bio_window": win_bio, "noise_floor_bio": floor,
        "rate_flow": rate_flow, "rate_flow_window": win_flow, "rate_flow_same_window": rate_flow_same,
        "rate_ann": rate_ann, "rate_ann_window": win_ann, "rate_ann_slowest_mode": mode,
        "linearisation_oja": {"eigenvalues": ev_oja, "slowest_rate": slow_oja,
                              "zero_modes_expected": k * (k - 1) // 2,
                              "note": "eigenvalues of the averaged field's Jacobian at the end of "
                                      "the averaged flow (tail included), per unit learning time s"},
        "linearisation_ann": {"hessian_eigenvalues": ev_ann, "slowest_rate": slow_ann,
                              "gd_map_rate": gd_rate, "zero_modes_expected": k * k,
                              "note": "Hessian of L at the autoencoder's end state (tail included); "
                                      "GD's map contracts the slowest mode by 1 - lr*h per step"},
        "jacobian_spectrum_ann": sv_ann, "jacobian_spectrum_bio": sv_bio_map,
        "singular_values_bio": sv_bio,
        "projector_distance_ann": float(np.linalg.norm(maps_ann[-1] - P, 2)),
        "projector_distance_bio": float(np.linalg.norm(maps_bio[-1] - P, 2)),
        "projector_distance_flow": float(np.linalg.norm(Wf[-1].T @ Wf[-1] - P, 2)),
        "balance_ann": float(np.linalg.norm(enc[-1] @ enc[-1].T - dec[-1].T @ dec[-1])),
        "final_angle_bio": float(angle_bio[-1]), "final_angle_flow": float(angle_flow[-1]),
        "final_angle_ann": float(angle_ann[-1]), "tail_end_angle_flow": float(tail_flow[-1]),
        "tail_end_angle_ann": float(tail_ann[-1]),
        "loss_minimum": float(0.5 * lam[k:].sum()),
        "final_alignment": float(align[-1]),
        "projection_explained": proj["explained"],
        "time_mapping": ("Brian2: Euler steps of dt on dW/dt = eta*E[D] (learning time s = eta*t); "
                         f"GD: one step of lr = {lr:g} advances s by lr"),
        "dataset": {"kind": "gaussian, whitened and coloured: X'X/N = U diag(eigenvalues) U'",
                    "n_samples": N, "d": d, "X": X, "U": U, "order": "epochs of random permutations",
                    "seed": seed},
        "timings": {"brian2": bio["timings"].get("run")},
    }
    return series, summary


def _slowest_nonzero(rates, rel=1e-6):
    """The smallest of ``rates`` above ``rel`` times the largest (the zero modes removed)."""
    r = np.asarray(rates, float)
    big = np.max(np.abs(r)) if r.size else 0.0
    nz = r[r > rel * big]
    return float(nz.min()) if nz.size else None


oja_vs_backprop = _oja_vs_backprop
