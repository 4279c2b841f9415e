"""Reading backprop as a dynamical system: spectra, growth rates, diagnosis.

* :func:`jacobian_spectrum` — singular values of the input–output Jacobian
  :math:`J = J_L\\cdots J_1` (per sample). Deep linear nets with orthogonal weights have all
  singular values exactly 1 (Saxe et al. 2014); "dynamical isometry" is a spectrum
  concentrated near 1 (Pennington et al. 2017).
* :func:`mean_field` — the infinite-width prediction: the pre-activation variance fixed
  point :math:`q^* = \\sigma_w^2\\,E[\\phi(\\sqrt{q^*}z)^2] + \\sigma_b^2` and
  :math:`\\chi_1 = \\sigma_w^2\\,E[\\phi'(\\sqrt{q^*}z)^2]`, the mean growth per layer of
  :math:`\\lVert\\delta_l\\rVert^2` (Poole et al. 2016; Schoenholz et al. 2017). Gaussian expectations
  by adaptive quadrature.
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
from ._init import haar_orthogonal

__all__ = ["jacobian_spectrum", "mean_field", "diagnose", "jacobian_product_exponents",
           "rnn_lyapunov_comparison"]


def jacobian_spectrum(net, x, params=None):
    """Singular values of :math:`\\partial y/\\partial x` per sample, descending; ``(batch, min(n_out, n_in))``.

    For a recurrent net, the state-to-state Jacobian :math:`\\partial s_T/\\partial s_0`.
    """
    J = net.input_output_jacobian(x, params)
    return np.linalg.svd(J, compute_uv=False)


_RULES: dict = {}


def _hermite_rule(n):
    """Nodes and weights (summing to 1) of the n-node Gauss–Hermite rule for N(0, 1)."""
    if n not in _RULES:
        from scipy.special import roots_hermitenorm

        z, w = roots_hermitenorm(int(n))
        _RULES[n] = (z, w / w.sum())
    return _RULES[n]


def _gauss_expectation(g, q, rule):
    """:math:`E[g(\\sqrt q\\,z)]`, :math:`z\\sim N(0,1)`: adaptive quadrature, or a Gauss–Hermite ``rule``."""
    if rule is None and q <= 1.0:
        rule = _hermite_rule(200)  # smooth on the rule's scale: exact to rounding (and fast)
    if rule is not None:
        z, w = rule
        return float(w @ g(np.sqrt(q) * z))
    from scipy.integrate import quad

    s = np.sqrt(q)
    c = 1.0 / np.sqrt(2.0 * np.pi)

    def h(z):
        return float(g(np.asarray(s * z, float))) * c * np.exp(-0.5 * z * z)

    # pieces split at 0 (ReLU's kink) and at |u| = 1, 4 in the activation's own variable
    # u = sqrt(q) z, where tanh and sigmoid bend; the tails beyond |z| = 40 are < 1e-340
    cuts = sorted({0.0, *(b / s for b in (1.0, 4.0) if b / s < 40.0), 40.0})
    edges = [-e for e in cuts[:0:-1]] + cuts
    total = 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        total += quad(h, a, b, epsabs=1e-300, epsrel=1e-13, limit=200)[0]
    return total


def mean_field(activation, sigma_w, sigma_b=0.0, n_quad=None, max_iter=2000, tol=1e-13):
    """Mean-field fixed point :math:`q^*` and :math:`\\chi_1` of a deep random net.

    :math:`q^* = \\sigma_w^2\\,E[\\phi(\\sqrt{q^*}z)^2] + \\sigma_b^2` (iterated from
    :math:`q = 1`), :math:`\\chi_1 = \\sigma_w^2\\,E[\\phi'(\\sqrt{q^*}z)^2]`,
    :math:`z\\sim N(0,1)` (Poole et al. 2016, eq. 3; Schoenholz et al. 2017, eq. 5).

    The Gaussian expectations are computed, for :math:`q > 1`, by adaptive quadrature
    (QUADPACK's QAGS through :func:`scipy.integrate.quad`, relative tolerance 1e-13) on
    pieces split at :math:`z = 0` and where :math:`\\sqrt q\\,z = \\pm1, \\pm4`, and for
    :math:`q \\le 1` (where :math:`\\phi(\\sqrt q z)` varies on scales of at least 1) by a
    200-node Gauss–Hermite rule (exact for ReLU's kink at 0 by symmetry): for large :math:`\\sigma_w`,
    :math:`q^*` is large and :math:`\\phi'(\\sqrt q z)^2` is a spike of width
    :math:`1/\\sqrt{q^*}` that a fixed Gauss–Hermite rule of 100 nodes misses (at tanh,
    :math:`\\sigma_w = 4` it gave :math:`\\tfrac12\\ln\\chi_1 = 0.4088` for 0.4329).

    Parameters
    ----------
    n_quad : int, optional
        Use an ``n_quad``-node Gauss–Hermite rule instead (nodes from
        :func:`scipy.special.roots_hermitenorm`, stable for any ``n_quad``); faster, and
        accurate only while :math:`\\phi` is smooth on the scale :math:`1/\\sqrt{q}`.

    Returns
    -------
    dict
        ``q_star``, ``chi1`` (per-layer growth of :math:`\\lVert\\delta\\rVert^2`), ``rate``
        (:math:`\\sqrt{\\chi_1}`, per-layer growth of :math:`\\lVert\\delta\\rVert`), ``converged``.
    """
    act = _activation(activation)
    rule = None
    if n_quad is not None:
        if int(n_quad) < 2:
            raise BiodynError(f"mean_field: n_quad must be at least 2, got {n_quad!r}")
        rule = _hermite_rule(int(n_quad))
    sw2, sb2 = float(sigma_w) ** 2, float(sigma_b) ** 2
    f2 = lambda u: act.f(u) ** 2  # noqa: E731
    df2 = lambda u: act.df(u) ** 2  # noqa: E731
    q, converged = 1.0, False
    for _ in range(max_iter):
        new = sw2 * _gauss_expectation(f2, q, rule) + sb2
        if not np.isfinite(new) or new > 1e12:
            break
        if abs(new - q) <= tol * max(1.0, q):
            q, converged = new, True
            break
        q = new
    chi1 = sw2 * _gauss_expectation(df2, q, rule)
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


def _graded_product(Js):
    """Row-scaled R factor of :math:`J_T\\cdots J_1 = Q R`: ``R = diag(exp(ell)) @ U`` (unit rows)."""
    n = Js[0].shape[0]
    # a random orthogonal start (sigma(P Q0) = sigma(P)) lets the QR steps align with the
    # growth directions, so that R becomes graded (largest rows first) as in Stewart (1995)
    Q = haar_orthogonal(n, n, np.random.default_rng(12345))
    ell, U = np.zeros(n), np.eye(n)
    for J in Js:
        Q, Rt = np.linalg.qr(J @ Q)
        # R_new = Rt diag(e^ell) U: row i = sum_k Rt_ik e^{ell_k} U_k, factored by its largest
        # term e^{m_i}, m_i = max_k (ell_k + log|Rt_ik|): every exponent <= 0, nothing overflows
        with np.errstate(divide="ignore", invalid="ignore"):
            logc = np.log(np.abs(Rt)) + ell[None, :]
            m = np.max(logc, axis=1)
            w = np.where(Rt != 0, np.sign(Rt) * np.exp(logc - np.where(np.isfinite(m), m, 0.0)[:, None]), 0.0)
        rows = w @ U
        nrm = np.linalg.norm(rows, axis=1)
        with np.errstate(divide="ignore"):
            ell = m + np.log(nrm)
        U = rows / np.where(nrm > 0, nrm, 1.0)[:, None]
    return ell, U


def _scaled_jacobi_log_singular_values(ell, U, tol=1e-14, max_sweeps=80):
    """:math:`\\log\\sigma_i` of :math:`R = \\mathrm{diag}(e^{\\ell})U` by one-sided (Hestenes) Jacobi.

    The Jacobi rotations act on :math:`R^{\\top}`.

    The columns :math:`x_j = e^{\\ell_j}u_j` of :math:`R^{\\top}` are kept as (log-scale, unit
    vector) pairs, and each rotation is written in those terms, so that singular values spread
    over any number of decades are computed to high relative accuracy (Demmel & Veselić 1992).
    """
    ell = np.array(ell, float)
    X = np.array(U, float)
    n = ell.size
    alive = np.isfinite(ell)
    for _ in range(max_sweeps):
        off = 0.0
        for i in range(n - 1):
            for j in range(i + 1, n):
                if not (alive[i] and alive[j]):
                    continue
                a, b = (i, j) if ell[i] >= ell[j] else (j, i)
                ua, ub = X[a], X[b]
                g = float(ua @ ub)
                A, B = float(ua @ ua), float(ub @ ub)
                if g == 0.0:
                    continue
                cosang = abs(g) / np.sqrt(A * B)
                off = max(off, cosang)
                if cosang < tol:
                    continue
                q = np.exp(2.0 * (ell[b] - ell[a]))  # r^2 <= 1, r = e^{ell_b - ell_a}
                num = q * B - A
                sgn = 1.0 if num * g >= 0 else -1.0
                w = sgn / (abs(num) / (2 * abs(g)) + np.sqrt(q + (num / (2 * g)) ** 2))  # t / r
                c = 1.0 / np.sqrt(1.0 + w * w * q)
                xa = c * ua - c * w * q * ub          # e^{ell_a}(c u_a - s r u_b)
                xb = c * w * ua + c * ub              # e^{ell_b}(s/r u_a + c u_b)
                na, nb = np.linalg.norm(xa), np.linalg.norm(xb)
                X[a], X[b] = xa / na, xb / nb
                ell[a] += np.log(na)
                ell[b] += np.log(nb)
        if off < tol:
            break
    return np.sort(ell)[::-1]


def jacobian_product_exponents(jacobians):
    """:math:`\\frac1T\\log\\sigma_i(J_T\\cdots J_1)` for a sequence of Jacobians, accurate for any :math:`T`.

    The product is never formed: it is accumulated as :math:`QR` (:math:`J_t Q_{t-1} = Q_t
    \\tilde R_t`, :math:`R = \\tilde R_T\\cdots\\tilde R_1`, the graded QR decomposition of
    products of Stewart 1995), with the rows of :math:`R` stored as (log-scale, unit vector);
    the singular values of :math:`R` then come from a one-sided Jacobi SVD written in the same
    scaled variables. Singular values many more decades apart than float64 can hold (which a
    direct SVD of the product would return as round-off) are thus resolved, and
    :math:`\\sum_i\\log\\sigma_i = \\log|\\det\\prod_t J_t|` holds to round-off.

    Parameters
    ----------
    jacobians : sequence of arrays ``(n, n)`` or ``(batch, n, n)``
        :math:`J_1, \\dots, J_T` in order of application.

    Returns
    -------
    ndarray ``(n,)`` or ``(batch, n)``, descending.

    References
    ----------
    Stewart GW (1995) On graded QR decompositions of products of matrices. Electron Trans
    Numer Anal 3:39-49.
    Demmel J, Veselić K (1992) Jacobi's method is more accurate than QR. SIAM J Matrix Anal
    Appl 13(4):1204-1245. doi:10.1137/0613074
    """
    Js = [np.asarray(J, float) for J in jacobians]
    if not Js:
        raise BiodynError("jacobian_product_exponents: no Jacobians")
    single = Js[0].ndim == 2
    per_sample = [Js] if single else [[J[b] for J in Js] for b in range(Js[0].shape[0])]
    out = np.array([_scaled_jacobi_log_singular_values(*_graded_product(seq)) for seq in per_sample]) / len(Js)
    return out[0] if single else out


def rnn_lyapunov_comparison(rnn, inputs, s0=None, transient=0, params=None, **qr_options):
    """Backprop's Jacobian-product exponents of a recurrent net against its QR Lyapunov spectrum.

    Runs the net on one input sequence ``inputs`` ``(T, n_in)``, drops ``transient`` steps,
    and computes :math:`\\frac1{T'}\\log\\sigma_i(D_T\\cdots D_{t_0})` from the recorded state
    Jacobians; the QR (Benettin) exponents of the same driven map come from
    :func:`biodyn.dynamics.lyapunov_spectrum` on :class:`biodyn.dynamics.DrivenCell`.
    Both measure the same steps (the QR run starts from the same state, with no tangent
    transient unless ``tangent_transient`` is passed in ``qr_options``). The two converge to
    the same limits as :math:`T\\to\\infty` (each with an :math:`O(1/T)` bias), and their
    sums agree exactly at every :math:`T` (both equal
    :math:`\\frac1{T'}\\log|\\det\\prod D_t|`).

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
    opts = {"tangent_transient": 0.0, **qr_options}
    qr = lyapunov_spectrum(driven, states[transient][0], duration=len(Js), **opts).exponents
    return {"svd_exponents": svd, "qr_exponents": np.asarray(qr, float), "steps": len(Js)}
