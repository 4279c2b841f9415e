r"""Lyapunov spectra against performance: features, rank correlations, an AeLLE-style autoencoder.

The question (Vogt, Puelma Touzel, Shlizerman & Lajoie 2022): across networks trained on one
task from different initialisations and hyperparameters, what in a network's Lyapunov spectrum
:math:`\lambda_1\ge\dots\ge\lambda_n` (per step, driven by the task's input) tells how well it
performs? Three readings, all on plain arrays (a spectrum per network, a performance per
network; :func:`spectra_study` runs them together):

**Features** (:func:`spectrum_features`): :math:`\lambda_1`; the mean, median and variance
(population, :math:`\frac1n\sum(\lambda_i-\bar\lambda)^2`) of the exponents; the number of
positive exponents; the Kaplan–Yorke dimension :math:`D_{KY} = j + \sum_{i\le j}\lambda_i /
|\lambda_{j+1}|` with :math:`j` the largest index whose partial sum is non-negative (0 if
:math:`\lambda_1<0`, :math:`n` if every partial sum is non-negative; Kaplan & Yorke 1979); the
entropy rate, the sum of the positive exponents (Pesin's bound on the Kolmogorov–Sinai entropy,
nats per step); the fraction of exponents within ``zero_tol`` of zero,
:math:`|\lambda_i| < \mathrm{tol}` (default 0.01 per step, the tolerance Engelken 2023 reads
"near zero" with). Exponents that are :math:`-\infty` (a dead ReLU unit; ``null`` in biodyn's
JSON) are set to the lowest finite exponent of the whole set first, so the moments stay finite
and ranks are unchanged.

**Rank correlations** (:func:`spearman_ci`): Spearman's :math:`r_s` of each feature with the
performance (average ranks for ties), with a :math:`1-\alpha` confidence interval from Fisher's
:math:`z = \operatorname{artanh} r_s` with the standard error of Bonett & Wright (2000),
:math:`\mathrm{SE} = \sqrt{(1 + r_s^2/2)/(n-3)}`, back-transformed:
:math:`\tanh(z \pm z_{1-\alpha/2}\,\mathrm{SE})` (their simulations: close to nominal coverage
for :math:`n \ge 10` and :math:`|\rho_s| \le 0.9`). A feature constant over the networks has no
correlation (``nan``, said so).

**AeLLE-style autoencoder** (:func:`train_autoencoder`; Vogt, Zheng & Shlizerman 2024, "AeLLE"):
the spectra, sorted and cut to a common length :math:`L` (the first :math:`L` exponents, by
default the shortest spectrum's length) and standardised exponent by exponent, are encoded by
:math:`z = W_2\tanh(W_1 x + b_1) + b_2` into :math:`d` = 2 or 3 dimensions and decoded by
:math:`\hat x = W_4\tanh(W_3 z + b_3) + b_4`; as in AeLLE a linear head :math:`\hat p = a^\top z
+ c` predicts the (standardised) performance from the latent, and the loss is
:math:`\frac1{NL}\sum\lVert \hat x - x\rVert^2 + \beta\,\frac1N\sum(\hat p - p)^2 +
\gamma\lVert W\rVert^2` (``prediction_weight`` :math:`\beta`, default 1; 0 gives a plain,
label-free autoencoder; weight decay :math:`\gamma = 10^{-4}`). Full-batch training with
biodyn's optimisers (Adam, Kingma & Ba 2015) on gradients from JAX, weights drawn from
``numpy.random.default_rng(seed)`` (Glorot-normal), float64.

**Read-out** (:func:`cross_validated_accuracy`): networks sorted by performance (ties kept in
input order), the bottom :math:`\lfloor n/3\rfloor` are "poor", the top :math:`\lfloor
n/3\rfloor` "good", the middle third is left out. A logistic regression (L2 penalty
:math:`\frac{\mu}{2}\lVert w\rVert^2`, :math:`\mu = 10^{-2}` on standardised inputs, intercept
unpenalised; Newton's method / IRLS, numpy) classifies them, scored by stratified k-fold
cross-validation (default 5 folds, repeated over ``repeats`` shuffles, default 5) — on the
autoencoder's latent (the autoencoder, standardisation and read-out refitted on each training
fold only, so no test network's spectrum or performance shapes its prediction) and on the best
single feature (the feature chosen on each training fold by its largest :math:`|r_s|` there,
then fitted and scored the same way). Each feature's own cross-validated accuracy is reported
too.

References
----------
Vogt R, Puelma Touzel M, Shlizerman E, Lajoie G (2022) On Lyapunov exponents for RNNs:
understanding information propagation using dynamical systems tools. Front Appl Math Stat
8:818799. doi:10.3389/fams.2022.818799
Vogt R, Zheng Y, Shlizerman E (2024) Lyapunov-guided representation of recurrent neural network
performance. Neural Computing and Applications (arXiv:2204.04876, 2022). doi:10.1007/s00521-024-09824-6
Bonett DG, Wright TA (2000) Sample size requirements for estimating Pearson, Kendall and
Spearman correlations. Psychometrika 65(1):23-28. doi:10.1007/BF02294183
Kaplan JL, Yorke JA (1979) Chaotic behavior of multidimensional difference equations. Lecture
Notes in Mathematics 730:204-227. doi:10.1007/BFb0064319
Engelken R (2023) Gradient flossing. NeurIPS 36. arXiv:2312.17306
Kingma DP, Ba J (2015) Adam: a method for stochastic optimization. ICLR. arXiv:1412.6980
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import BiodynError

__all__ = ["FEATURES", "spectrum_features", "spearman_ci", "fixed_length", "train_autoencoder",
           "fit_logistic", "predict_logistic", "classes_by_thirds", "cross_validated_accuracy",
           "spectra_study", "CI_METHOD"]

#: The features of a spectrum, in the order they are reported.
FEATURES = ("lambda_1", "mean", "median", "variance", "n_positive", "kaplan_yorke", "entropy_rate",
            "fraction_near_zero")

CI_METHOD = ("Fisher z = artanh(r_s) with the Bonett & Wright (2000) standard error "
             "sqrt((1 + r_s^2/2)/(n - 3)), back-transformed by tanh")


def _finite_spectra(spectra):
    """Each spectrum as a float array sorted in decreasing order, ``None``/``-inf`` set to the
    lowest finite exponent of the whole set."""
    arrays = [np.array([-np.inf if v is None else v for v in s], float) for s in spectra]
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays]) if arrays else np.array([])
    if finite.size == 0:
        raise BiodynError("spectra: no finite Lyapunov exponent in any spectrum")
    if any(np.isnan(a).any() or np.isposinf(a).any() for a in arrays):
        raise BiodynError("spectra: a spectrum holds NaN or +inf exponents")
    floor = float(finite.min())
    return [np.sort(np.where(np.isneginf(a), floor, a))[::-1] for a in arrays]


def kaplan_yorke(lam):
    """Kaplan–Yorke dimension of a decreasing spectrum (see the module's notes)."""
    c = np.cumsum(lam)
    if lam[0] < 0:
        return 0.0
    j = int(np.nonzero(c >= 0)[0][-1]) + 1  # number of exponents with non-negative partial sum
    if j == len(lam):
        return float(len(lam))
    return float(j + c[j - 1] / abs(lam[j]))


def spectrum_features(exponents, zero_tol=0.01):
    """The features (:data:`FEATURES`) of one spectrum ``exponents`` (any order, per step).

    Returns a dict feature -> float.
    """
    lam = _finite_spectra([exponents])[0]
    return {"lambda_1": float(lam[0]), "mean": float(lam.mean()), "median": float(np.median(lam)),
            "variance": float(lam.var()), "n_positive": float(np.sum(lam > 0)),
            "kaplan_yorke": kaplan_yorke(lam), "entropy_rate": float(lam[lam > 0].sum()),
            "fraction_near_zero": float(np.mean(np.abs(lam) < zero_tol))}


def _ranks(x):
    from scipy.stats import rankdata

    return rankdata(x)  # average ranks for ties


def spearman_ci(x, y, level=0.95):
    r"""Spearman's :math:`r_s` of ``x`` and ``y`` with its confidence interval (Fisher z,
    Bonett–Wright SE; :data:`CI_METHOD`).

    Returns
    -------
    dict
        ``r``, ``ci`` ``[lo, hi]``, ``n``, ``se_z`` (the SE on the z scale), ``note`` (why
        ``r`` is ``nan``, else ``None``).
    """
    from scipy.stats import norm

    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    if n < 4:
        return {"r": float("nan"), "ci": [float("nan")] * 2, "n": n, "se_z": float("nan"),
                "note": "fewer than 4 networks"}
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return {"r": float("nan"), "ci": [float("nan")] * 2, "n": n, "se_z": float("nan"),
                "note": "constant over the networks" if np.ptp(x) == 0 else "performance constant"}
    rx, ry = _ranks(x), _ranks(y)
    r = float(np.corrcoef(rx, ry)[0, 1])
    se = float(np.sqrt((1.0 + r * r / 2.0) / (n - 3)))
    z = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
    q = norm.ppf(0.5 + level / 2.0)
    lo, hi = float(np.tanh(z - q * se)), float(np.tanh(z + q * se))
    return {"r": r, "ci": [min(lo, r), max(hi, r)], "n": n, "se_z": se,
            "note": None}


def fixed_length(spectra, length=None):
    """The spectra sorted (decreasing) and cut to their first ``length`` exponents (default:
    the shortest spectrum's length): an array ``(networks, length)``."""
    arrays = _finite_spectra(spectra)
    shortest = min(len(a) for a in arrays)
    length = shortest if length is None else int(length)
    if not 1 <= length <= shortest:
        raise BiodynError(f"spectra: length {length} must be between 1 and the shortest spectrum's "
                          f"length {shortest}")
    return np.stack([a[:length] for a in arrays])


# --------------------------------------------------------------------------------------------
# the autoencoder
# --------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def _ae_functions(n_in, n_hidden, n_latent):
    import jax
    import jax.numpy as jnp

    shapes = [("W1", (n_hidden, n_in)), ("b1", (n_hidden,)), ("W2", (n_latent, n_hidden)), ("b2", (n_latent,)),
              ("W3", (n_hidden, n_latent)), ("b3", (n_hidden,)), ("W4", (n_in, n_hidden)), ("b4", (n_in,)),
              ("a", (n_latent,)), ("c", ())]
    sizes = [int(np.prod(s)) for _, s in shapes]
    offsets = np.concatenate([[0], np.cumsum(sizes)])

    def unpack(theta):
        return {name: theta[offsets[i]:offsets[i + 1]].reshape(s) for i, (name, s) in enumerate(shapes)}

    def encode(theta, X):
        p = unpack(theta)
        return jnp.tanh(X @ p["W1"].T + p["b1"]) @ p["W2"].T + p["b2"]

    def loss(theta, X, y, beta, gamma):
        p = unpack(theta)
        z = encode(theta, X)
        xhat = jnp.tanh(z @ p["W3"].T + p["b3"]) @ p["W4"].T + p["b4"]
        rec = jnp.mean((xhat - X) ** 2)
        pred = jnp.mean((z @ p["a"] + p["c"] - y) ** 2)
        decay = sum(jnp.sum(p[k] ** 2) for k in ("W1", "W2", "W3", "W4"))
        return rec + beta * pred + gamma * decay, (rec, pred)

    grad = jax.jit(jax.grad(lambda *a: loss(*a)[0]))
    return shapes, int(offsets[-1]), jax.jit(encode), jax.jit(loss), grad


class Autoencoder:
    """A trained autoencoder (:func:`train_autoencoder`): ``encode(spectra)`` gives the latent."""

    def __init__(self, theta, mean, scale, n_hidden, n_latent, history, config):
        self.theta, self.mean, self.scale = theta, mean, scale
        self.n_hidden, self.n_latent = n_hidden, n_latent
        self.history, self.config = history, config

    def encode(self, X):
        """Latent ``(networks, d)`` of fixed-length spectra ``X`` ``(networks, L)``."""
        import jax

        X = (np.asarray(X, float) - self.mean) / self.scale
        _, _, encode, _, _ = _ae_functions(X.shape[1], self.n_hidden, self.n_latent)
        with jax.enable_x64(True):
            return np.asarray(encode(self.theta, X))


def train_autoencoder(X, performance=None, *, latent=2, hidden=16, prediction_weight=1.0, weight_decay=1e-4,
                      steps=1500, lr=1e-2, optimizer="adam", seed=0):
    r"""Train the AeLLE-style autoencoder on fixed-length spectra ``X`` ``(networks, L)``.

    ``performance`` (one per network) feeds the linear prediction head (weight
    ``prediction_weight``; ignored if 0). Inputs and performance are standardised with their
    own mean and SD (stored; exponents with zero SD get scale 1). ``steps`` full-batch updates
    of biodyn's ``optimizer`` with learning rate ``lr``; initial weights Glorot-normal from
    ``numpy.random.default_rng(seed)``, biases 0. Returns an :class:`Autoencoder` whose
    ``history`` holds the final reconstruction and prediction losses.
    """
    import jax

    from ..ann import optimiser as make_optimiser

    X = np.asarray(X, float)
    if X.ndim != 2 or X.shape[0] < 2:
        raise BiodynError("autoencoder: needs spectra as an array (networks >= 2, exponents)")
    latent, hidden = int(latent), int(hidden)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    Xs = (X - mean) / scale
    beta = float(prediction_weight) if performance is not None else 0.0
    if performance is not None:
        p = np.asarray(performance, float)
        y = (p - p.mean()) / (p.std() if p.std() > 0 else 1.0)
    else:
        y = np.zeros(len(X))
    shapes, size, _, loss, grad = _ae_functions(X.shape[1], hidden, latent)
    rng = np.random.default_rng(seed)
    parts = []
    for name, s in shapes:
        if name.startswith("W") or name == "a":
            fan_in, fan_out = (s[1], s[0]) if len(s) == 2 else (s[0], 1)
            parts.append(rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=s).ravel())
        else:
            parts.append(np.zeros(int(np.prod(s))))
    theta = np.concatenate(parts)
    assert theta.size == size
    opt = make_optimiser(optimizer)

    class _Oracle:
        def grad(self, th):
            return np.asarray(grad(th, Xs, y, beta, float(weight_decay)))

        stochastic_grad = grad

    oracle = _Oracle()
    with jax.enable_x64(True):
        state = opt.init(theta)
        for k in range(int(steps)):
            theta, state = opt.step(theta, state, k, float(lr), oracle)
        total, (rec, pred) = loss(theta, Xs, y, beta, float(weight_decay))
    if not np.all(np.isfinite(theta)):
        raise BiodynError(f"autoencoder: the weights diverged (lr = {lr:g}); try a smaller learning rate")
    config = {"latent": latent, "hidden": hidden, "prediction_weight": beta, "weight_decay": float(weight_decay),
              "steps": int(steps), "lr": float(lr), "optimizer": opt.name, "seed": np.asarray(seed).tolist(),
              "length": int(X.shape[1]), "init": "Glorot-normal weights, zero biases"}
    return Autoencoder(theta, mean, scale, hidden, latent,
                       {"loss": float(total), "reconstruction_mse": float(rec), "prediction_mse": float(pred)},
                       config)


# --------------------------------------------------------------------------------------------
# the read-out
# --------------------------------------------------------------------------------------------

def fit_logistic(X, y, penalty=1e-2, max_iter=100, tol=1e-10):
    r"""L2-penalised logistic regression by Newton's method (IRLS): minimises
    :math:`-\sum_i[y_i\log\sigma(w^\top x_i+b) + (1-y_i)\log(1-\sigma(\cdot))] +
    \frac{\mu}{2}\lVert w\rVert^2` on inputs standardised with their training mean and SD.
    Returns a dict (``w``, ``b``, ``mean``, ``scale``) for :func:`predict_logistic`."""
    X = np.atleast_2d(np.asarray(X, float))
    if X.shape[0] != len(y):
        X = X.T
    y = np.asarray(y, float)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    Z = np.column_stack([(X - mean) / scale, np.ones(len(X))])
    beta = np.zeros(Z.shape[1])
    P = np.full(Z.shape[1], float(penalty))
    P[-1] = 0.0
    for _ in range(max_iter):
        eta = np.clip(Z @ beta, -35, 35)
        mu = 1.0 / (1.0 + np.exp(-eta))
        g = Z.T @ (mu - y) + P * beta
        Hm = (Z * (mu * (1 - mu))[:, None]).T @ Z + np.diag(P) + 1e-12 * np.eye(len(beta))
        step = np.linalg.solve(Hm, g)
        beta -= step
        if np.max(np.abs(step)) < tol:
            break
    return {"w": beta[:-1], "b": float(beta[-1]), "mean": mean, "scale": scale}


def predict_logistic(model, X):
    """Class 1 probabilities of :func:`fit_logistic`'s model at ``X`` ``(n, features)``."""
    X = np.atleast_2d(np.asarray(X, float))
    eta = ((X - model["mean"]) / model["scale"]) @ model["w"] + model["b"]
    return 1.0 / (1.0 + np.exp(-np.clip(eta, -35, 35)))


def classes_by_thirds(performance):
    """Indices of the poor (bottom third) and good (top third) networks: sorted by performance
    (a stable sort, ties in input order), the first and last :math:`\\lfloor n/3\\rfloor`."""
    p = np.asarray(performance, float)
    order = np.argsort(p, kind="stable")
    m = len(p) // 3
    return np.sort(order[:m]), np.sort(order[len(p) - m:])


def _stratified_folds(y, k, rng):
    folds = [[] for _ in range(k)]
    for label in (0, 1):
        idx = rng.permutation(np.nonzero(y == label)[0])
        for j, i in enumerate(idx):
            folds[j % k].append(i)
    return [np.array(sorted(f)) for f in folds]


def cross_validated_accuracy(fit_predict, y, folds=5, repeats=5, seed=0):
    """Stratified k-fold cross-validated accuracy of ``fit_predict(train_idx, test_idx) ->
    predicted labels of test_idx``, over ``repeats`` shuffles (``default_rng([seed, r])``).

    Returns ``{"mean", "sd", "per_repeat", "folds", "repeats"}`` (``sd`` over repeats)."""
    y = np.asarray(y, int)
    per_repeat = []
    for r in range(int(repeats)):
        rng = np.random.default_rng([int(seed), r])
        correct = 0
        for test in _stratified_folds(y, int(folds), rng):
            train = np.setdiff1d(np.arange(len(y)), test)
            correct += int(np.sum(np.asarray(fit_predict(train, test)) == y[test]))
        per_repeat.append(correct / len(y))
    return {"mean": float(np.mean(per_repeat)), "sd": float(np.std(per_repeat)), "per_repeat": per_repeat,
            "folds": int(folds), "repeats": int(repeats)}


def spectra_study(spectra, performance, *, zero_tol=0.01, level=0.95, latent=2, length=None, hidden=16,
                  prediction_weight=1.0, steps=1500, lr=1e-2, folds=5, repeats=5, seed=0):
    """Features, rank correlations, autoencoder latent and cross-validated read-outs of a set
    of spectra (one per network, any lengths) against their performance (higher = better).

    Returns a dict: ``features`` (name -> list over networks), ``correlations`` (name ->
    :func:`spearman_ci`), ``latent`` (``(networks, d)``, the autoencoder trained on all networks,
    for display), ``autoencoder`` (its configuration and losses), ``classes`` (``poor``,
    ``good`` indices), ``readout`` (``latent``, ``best_feature``, ``per_feature``
    cross-validated accuracies with the feature chosen per fold), ``settings``.
    """
    n = len(spectra)
    performance = np.asarray(performance, float)
    if len(performance) != n:
        raise BiodynError(f"spectra: {n} spectra but {len(performance)} performances")
    if not np.all(np.isfinite(performance)):
        raise BiodynError("spectra: a performance is NaN or infinite")
    poor, good = classes_by_thirds(performance)
    if len(poor) < folds:
        raise BiodynError(f"spectra: {n} networks give {len(poor)} per class (a third each), fewer than the "
                          f"{folds} cross-validation folds; use fewer folds or more networks")
    feats = [spectrum_features(s, zero_tol) for s in _finite_spectra(spectra)]
    table = {f: np.array([d[f] for d in feats]) for f in FEATURES}
    correlations = {f: spearman_ci(table[f], performance, level) for f in FEATURES}
    X = fixed_length(spectra, length)
    ae_options = dict(latent=latent, hidden=hidden, prediction_weight=prediction_weight, steps=steps, lr=lr)

    ae = train_autoencoder(X, performance, seed=seed, **ae_options)
    Z = ae.encode(X)

    sel = np.concatenate([poor, good])
    labels = np.concatenate([np.zeros(len(poor), int), np.ones(len(good), int)])
    Xc, pc = X[sel], performance[sel]
    counter = iter(range(10**9))

    def latent_readout(tr, te):
        # the autoencoder sees the training fold's spectra (and performances) only
        model = train_autoencoder(Xc[tr], pc[tr], seed=[seed, 1, next(counter)], **ae_options)
        clf = fit_logistic(model.encode(Xc[tr]), labels[tr])
        return (predict_logistic(clf, model.encode(Xc[te])) > 0.5).astype(int)

    def feature_readout(name):
        def fp(tr, te):
            v = table[name][sel]
            clf = fit_logistic(v[tr, None], labels[tr])
            return (predict_logistic(clf, v[te, None]) > 0.5).astype(int)
        return fp

    chosen = []

    def best_feature_readout(tr, te):
        best, best_r = FEATURES[0], -1.0
        for name in FEATURES:  # the feature with the largest |r_s| on the training fold
            r = spearman_ci(table[name][sel][tr], pc[tr], level)["r"]
            if np.isfinite(r) and abs(r) > best_r:
                best, best_r = name, abs(r)
        chosen.append(best)
        return feature_readout(best)(tr, te)

    cv = dict(folds=folds, repeats=repeats, seed=seed)
    readout = {"latent": cross_validated_accuracy(latent_readout, labels, **cv),
               "best_feature": cross_validated_accuracy(best_feature_readout, labels, **cv),
               "per_feature": {f: cross_validated_accuracy(feature_readout(f), labels, **cv) for f in FEATURES}}
    readout["best_feature"]["chosen"] = {f: chosen.count(f) for f in FEATURES if f in chosen}
    return {"features": {f: table[f].tolist() for f in FEATURES}, "correlations": correlations,
            "latent": Z.tolist(), "autoencoder": dict(ae.config, **ae.history),
            "classes": {"poor": poor.tolist(), "good": good.tolist()}, "readout": readout,
            "settings": {"zero_tol": zero_tol, "level": level, "ci_method": CI_METHOD, "folds": folds,
                         "repeats": repeats, "seed": seed, "length": int(X.shape[1]),
                         "classes": "bottom and top floor(n/3) by performance (stable sort); middle third "
                                    "left out of the read-out",
                         "readout": "L2-penalised (mu = 0.01) logistic regression by IRLS on standardised "
                                    "inputs; stratified k-fold CV repeated over shuffles; the autoencoder and "
                                    "the best feature are refitted / rechosen on each training fold"}}
