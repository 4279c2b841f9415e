"""Reading backprop as a dynamical system: spectra, growth rates, diagnosis.

* :func:`jacobian_spectrum` — singular values of the input–output Jacobian
  :math:`J = J_L\\cdots J_1` (per sample). Deep linear nets with orthogonal weights have all
  singular values exactly 1 (Saxe et al. 2014); "dynamical isometry" is a spectrum
  concentrated near 1 (Pennington et al. 2017).
* :func:`mean_field` — the infinite-width prediction: the pre-activation variance fixed
  point :math:`q^* = \\sigma_w^2\\,E[\\phi(\\sqrt{q^*}z)^2] + \\sigma_b^2` and
  :math:`\\chi_1 = \\sigma_w^2\\,E[\\phi'(\\sqrt{q^*}z)^2]`, the mean growth per layer of
  :math:`\\lVert\\delta_l\\rVert^2` (Poole et al. 2016; Schoenholz et al. 2017). Gaussian expectations
  by Gauss–Hermite quadrature.
* :func:`diagnose` — vanishing / exploding gradients from a recorded backward pass: the
  ratio :math:`\\lVert\\delta_0\\rVert/\\lVert\\delta_L\\rVert`, its per-layer rate, the per-layer
  parameter-gradient norms (Pascanu et al. 2013).
* :func:`jacobian_product_exponents` — :math:`\\frac1T\\log\\sigma_i(J_T\\cdots J_1)`: for a
  recurrent net these converge to the Lyapunov exponents of its forward dynamics (Oseledets
  1968), the quantity gradient flossing regularises (Engelken 2023). Computed from a
  product renormalised at every step (its singular values are accurate while
  :math:`e^{(\\lambda_1-\\lambda_n)T}` stays within float64's range, about
  :math:`(\\lambda_1-\\lambda_n)T \\lesssim 30`); :func:`rnn_lyapunov_comparison` sets them
  against the QR (Benettin) exponents of :mod:`biodyn.dynamics`.

References
----------
Saxe AM, McClelland JL, Ganguli S (2014) ICLR 2014. arXiv:1312.6120
Pennington J, Schoenholz SS, Ganguli S (2017) NeurIPS 30:4785-4795. arXiv:1711.04735
Poole B et al. (2016) NeurIPS 29:3360-3368. arXiv:1606.05340
Schoenholz SS, Gilmer J, Ganguli S, Sohl-Dickstein J (2017) ICLR 2017. arXiv:1611.01232
Pascanu R, Mikolov T, Bengio Y (2013) ICML, PMLR 28(3):1310-1318. arXiv:1211.5063
Oseledets VI (1968) A multiplicative ergodic theorem. Trans Moscow Math Soc 19:197-231.
Benettin G, Galgani L, Giorgilli A, Strelcyn JM (1980) Lyapunov characteristic exponents
for smooth dynamical systems and for Hamiltonian systems. Meccanica 15:9-30.
doi:10.1007/BF02128236
Engelken R (2023) Gradient flossing. NeurIPS 36. arXiv:2312.17306
"""

from __future__ import annotations

import numpy as np

from ..errors import BiodynError
from ._activations import activation as _activation

__all__ = ["jacobian_spectrum", "mean_field", "diagnose", "jacobian_product_exponents",
           "rnn_lyapunov_comparison"]


def jacobian_spectrum(net, x, params=None):
    """Singular values of :math:`\\partial y/\\partial x` per sample, descending; ``(batch, min(n_out, n_in))``.

    For a recurrent net, the state-to-state Jacobian :math:`\\partial s_T/\\partial s_0`.
    """
    J = net.input_output_jacobian(x, params)
    return np.linalg.svd(J, compute_uv=False)


def mean_field(activation, sigma_w, sigma_b=0.0, n_quad=100, max_iter=2000, tol=1e-13):
    """Mean-field fixed point :math:`q^*` and :math:`\\chi_1` of a deep random net.

    Gaussian expectations use an even-order Gauss–Hermite rule (``n_quad`` nodes), which
    has no node at :math:`z = 0` and is symmetric, so the kink of ReLU is integrated
    exactly for the even moments used here.

    Returns
    -------
    dict
        ``q_star``, ``chi1`` (per-layer growth of :math:`\\lVert\\delta\\rVert^2`), ``rate``
        (:math:`\\sqrt{\\chi_1}`, per-layer growth of :math:`\\lVert\\delta\\rVert`), ``converged``.
    """
    act = _activation(activation)
    z, w = np.polynomial.hermite_e.hermegauss(n_quad)
    w = w / w.sum()
    sw2, sb2 = float(sigma_w) ** 2, float(sigma_b) ** 2
    q, converged = 1.0, False
    for _ in range(max_iter):
        new = sw2 * float(w @ act.f(np.sqrt(q) * z) ** 2) + sb2
        if not np.isfinite(new) or new > 1e12:
            break
        if abs(new - q) <= tol * max(1.0, q):
            q, converged = new, True
            break
        q = new
    chi1 = sw2 * float(w @ act.df(np.sqrt(q) * z) ** 2)
    return {"q_star": q, "chi1": chi1, "rate": float(np.sqrt(chi1)), "converged": converged}


def diagnose(record, threshold=1e2):
    """Vanishing / exploding gradients from a :class:`BackpropRecord`.

    Parameters
    ----------
    threshold : float
        ``"vanishing"`` if :math:`\\lVert\\delta_0\\rVert/\\lVert\\delta_L\\rVert < 1/\\text{threshold}`,
        ``"exploding"`` if it exceeds ``threshold``, else ``"stable"``.

    Returns
    -------
    dict
        ``verdict``, ``ratio`` (:math:`\\lVert\\delta_0\\rVert/\\lVert\\delta_L\\rVert`), ``rate`` (its
        per-step geometric mean, :math:`\\text{ratio}^{1/L}`), ``log_rate_fit`` (slope of
        :math:`\\log\\lVert\\delta_l\\rVert` against :math:`L - l`), ``delta_norms``,
        ``step_grad_norms``, ``grad_norm_ratio`` (first step / last step).
    """
    d = record.delta_norms
    L = len(d) - 1
    if L < 1:
        raise BiodynError("diagnose: needs at least one step")
    with np.errstate(divide="ignore"):
        ratio = float(d[0] / d[-1]) if d[-1] > 0 else float("nan")
        logs = np.log(np.maximum(d, 1e-300))
    back = np.arange(L + 1)[::-1]  # L - l
    slope = float(np.polyfit(back, logs, 1)[0]) if L >= 2 else float(logs[0] - logs[-1])
    gn = np.asarray(record.step_grad_norms)
    verdict = "vanishing" if ratio < 1.0 / threshold else ("exploding" if ratio > threshold else "stable")
    return {"verdict": verdict, "ratio": ratio, "rate": ratio ** (1.0 / L) if ratio > 0 else 0.0,
            "log_rate_fit": slope, "delta_norms": d.tolist(), "step_grad_norms": gn.tolist(),
            "grad_norm_ratio": float(gn[0] / gn[-1]) if gn[-1] > 0 else float("nan"), "depth": L}


def jacobian_product_exponents(jacobians):
    """:math:`\\frac1T\\log\\sigma_i(J_T\\cdots J_1)` for a sequence of Jacobians.

    Parameters
    ----------
    jacobians : sequence of arrays ``(n, n)`` or ``(batch, n, n)``
        :math:`J_1, \\dots, J_T` in order of application.

    Returns
    -------
    ndarray ``(n,)`` or ``(batch, n)``, descending.
    """
    Js = [np.asarray(J, float) for J in jacobians]
    if not Js:
        raise BiodynError("jacobian_product_exponents: no Jacobians")
    single = Js[0].ndim == 2
    P = Js[0][None] if single else Js[0]
    logscale = np.zeros(P.shape[0])
    for J in Js[1:]:
        P = (J[None] if single else J) @ P
        nrm = np.linalg.norm(P, axis=(1, 2))
        P = P / nrm[:, None, None]
        logscale += np.log(nrm)
    s = np.linalg.svd(P, compute_uv=False)
    with np.errstate(divide="ignore"):
        out = (np.log(s) + logscale[:, None]) / len(Js)
    return out[0] if single else out


def rnn_lyapunov_comparison(rnn, inputs, s0=None, transient=0, params=None, **qr_options):
    """Backprop's Jacobian-product exponents of a recurrent net against its QR Lyapunov spectrum.

    Runs the net on one input sequence ``inputs`` ``(T, n_in)``, drops ``transient`` steps,
    and computes :math:`\\frac1{T'}\\log\\sigma_i(D_T\\cdots D_{t_0})` from the recorded state
    Jacobians; the QR (Benettin) exponents of the same driven map come from
    :func:`biodyn.dynamics.lyapunov_spectrum` on :class:`biodyn.dynamics.DrivenCell`.
    The two converge to the same limits as :math:`T\\to\\infty`, and their sums agree
    exactly at every :math:`T` (both equal :math:`\\frac1{T'}\\log|\\det\\prod D_t|`).

    Returns
    -------
    dict
        ``svd_exponents`` and ``qr_exponents`` (descending), ``steps``.
    """
    try:
        from ..dynamics import lyapunov_spectrum
    except ImportError as exc:
        raise BiodynError("rnn_lyapunov_comparison needs biodyn.dynamics.lyapunov_spectrum "
                          "(not available in this version of biodyn.dynamics)") from exc
    from ..dynamics import DrivenCell

    inputs = np.asarray(inputs, float)
    if inputs.ndim == 1:
        inputs = inputs[:, None]
    states, caches = rnn.run(inputs[None], params, s0)
    p = rnn.params if params is None else params
    Js = [rnn.cellstep.jacobian(p, c)[0] for c in caches[transient:]]
    svd = jacobian_product_exponents(Js)
    cell = rnn.cell(p)
    driven = DrivenCell(cell, inputs[transient:])
    qr = lyapunov_spectrum(driven, states[transient][0], len(Js), **qr_options)
    return {"svd_exponents": svd, "qr_exponents": qr, "steps": len(Js)}
