r"""The dynamics of a (trained) spiking network in Brian2: its largest Lyapunov exponent and
firing statistics.

**Largest Lyapunov exponent** (:func:`network_lyapunov`). The network of a
:class:`~biodyn.snn.Reading` with weights ``W_in``, ``W_rec`` (the catalog spec's equations,
threshold, reset, refractory period and method, as :func:`biodyn.snn.brian_run` builds it) is
turned into a :class:`biodyn.dynamics.Plan` — a group ``hidden`` of the ``H`` neurons, a group
``inputs`` of ``M`` input units that spike when the task's input does (a ``TimedArray`` of the
input spikes; a one-millisecond decaying trace ``bd_u`` is their only state, identical in both
copies up to the initial perturbation), couplings ``W_in`` and ``W_rec`` split by sign onto the
excitatory and inhibitory synaptic variables — and its largest exponent is measured by
:func:`biodyn.dynamics.brian_two_trajectory` (Benettin et al. 1976): two copies of the network
in one Brian2 run, driven by the same input, the second pulled back to distance :math:`d_0`
every ``renorm_every`` steps. **Distance**: each state variable is measured in units of its
standard deviation (over neurons and time, after the transient) in a run of the same network
and input — in SI, a volt and an ampere differ by ~10^7 in effect, and the synaptic currents
would be invisible in the norm (after a common reset they are the whole difference, and the
copies would be taken as merged); ``d0`` is in these units (the default of
:func:`~biodyn.dynamics.brian_two_trajectory`: 1e-6 of the typical scaled state). The input is the test set's sequences played back to back
(repeated as needed to fill ``transient + duration``): the exponent is that of the network
*as it is used*, driven by its task. Units: per second. A value of ``-inf`` (JSON ``null``)
means the copies merged (a reset erased a perturbation of size :math:`d_0`: the network is
stable to it below what ``dt`` resolves, see :mod:`biodyn.dynamics._brian`); the result
keeps ``merged_intervals`` and ``d0``. Beside it, ``lambda_finite_per_s``: the same
measurement with a finite separation ``d0_finite`` (1 in SD units over all ``n`` variables,
about ``1/sqrt(n)`` SD each, by default), which moves spikes across time steps — the
infinitesimal exponent of a network on a time grid never sees a spike move, and with one
silent neuron it is exactly that neuron's subthreshold decay. The finite one depends on
``d0_finite`` ("stable chaos", Monteforte & Wolf 2012): report it with it.

**Firing statistics** (:func:`firing_statistics`), from one Brian2 run of the same network and
input (:func:`biodyn.snn.brian_run`) after the transient: the mean rate (spikes per neuron
per second, over all neurons), the fraction of silent neurons, the coefficient of variation
of the inter-spike intervals :math:`\mathrm{CV} = \sigma_{ISI}/\mu_{ISI}` (per neuron with at
least 3 spikes, then the mean; 1 for a Poisson process, 0 for a clock; Softky & Koch 1993) and
the Fano factor :math:`F = \mathrm{Var}(n)/\mathrm{E}(n)` of the spike counts in windows of
``window`` (default 50 ms; per neuron with a non-zero mean count, then the mean; 1 for
Poisson).

References
----------
Benettin G, Galgani L, Strelcyn JM (1976) Kolmogorov entropy and numerical experiments.
Phys Rev A 14:2338-2345. doi:10.1103/PhysRevA.14.2338
Monteforte M, Wolf F (2012) Dynamic flux tubes form reservoirs of stability in neuronal
circuits. Phys Rev X 2:041007. doi:10.1103/PhysRevX.2.041007
Softky WR, Koch C (1993) The highly irregular firing of cortical cells is inconsistent with
temporal integration of random EPSPs. J Neurosci 13:334-350.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["firing_statistics", "network_lyapunov", "network_dynamics", "tile_inputs", "trained_dynamics"]


def firing_statistics(i, n, N, n_steps, dt, *, start=0, window=0.05):
    """Rate, CV of ISI and Fano factor of spikes ``(i, n)`` (neuron, step) of ``N`` neurons.

    Only spikes at steps ``start <= n < n_steps`` count. Returns a dict (see module doc):
    ``rate_hz``, ``silent_fraction``, ``cv_isi`` (``None`` without a neuron of >= 3 spikes),
    ``cv_isi_neurons`` (neurons it averages), ``fano`` (``None`` if no window count),
    ``fano_window_s``, ``fano_neurons``, ``duration_s``.
    """
    i = np.asarray(i, int)
    n = np.asarray(n, int)
    keep = (n >= start) & (n < n_steps)
    i, n = i[keep], n[keep]
    T = (n_steps - start) * dt
    counts = np.bincount(i, minlength=N)
    cvs = []
    for k in range(N):
        t = np.sort(n[i == k]) * dt
        if len(t) >= 3:
            isi = np.diff(t)
            if isi.mean() > 0:
                cvs.append(isi.std() / isi.mean())
    w = max(1, int(round(window / dt)))
    n_win = (n_steps - start) // w
    fanos = []
    if n_win >= 2:
        win = (n - start) // w
        ok = win < n_win
        C = np.zeros((N, n_win))
        np.add.at(C, (i[ok], win[ok]), 1.0)
        m = C.mean(axis=1)
        v = C.var(axis=1)
        fanos = list(v[m > 0] / m[m > 0])
    return {"rate_hz": float(counts.sum() / (N * T)) if T > 0 else None,
            "silent_fraction": float(np.mean(counts == 0)),
            "cv_isi": float(np.mean(cvs)) if cvs else None, "cv_isi_neurons": len(cvs),
            "fano": float(np.mean(fanos)) if fanos else None, "fano_window_s": w * dt,
            "fano_neurons": len(fanos), "duration_s": T}


def tile_inputs(x, n_steps):
    """Input spikes ``(n_steps, M)``: the sequences of ``x`` ``(n, T, M)`` back to back, repeated."""
    x = np.asarray(x, float)
    flat = x.reshape(-1, x.shape[-1])
    reps = int(math.ceil(n_steps / len(flat)))
    return np.tile(flat, (reps, 1))[:n_steps]


def _equations_text(eqs):
    """Equations as text with base-unit names (``str(Equations)`` abbreviates, e.g. ``A``)."""
    from brian2.equations.equations import DIFFERENTIAL_EQUATION, PARAMETER, SUBEXPRESSION

    from ._brian import _unit_text

    lines = []
    for name, eq in _items(eqs):
        unit = "boolean" if eq.var_type == "boolean" else ("integer" if eq.var_type == "integer"
                                                            else _unit_text(eq.dim))
        flags = f" ({', '.join(eq.flags)})" if eq.flags else ""
        if eq.type == DIFFERENTIAL_EQUATION:
            lines.append(f"d{name}/dt = {eq.expr} : {unit}{flags}")
        elif eq.type == SUBEXPRESSION:
            lines.append(f"{name} = {eq.expr} : {unit}{flags}")
        elif eq.type == PARAMETER:
            lines.append(f"{name} : {unit}{flags}")
    return "\n".join(lines)


def _items(eqs):
    return list(eqs._equations.items())


def _plan(reading, W_in, W_rec, stim, seed):
    from brian2 import TimedArray, second

    from ..dynamics._plan import CouplingPlan, GroupPlan, Plan
    from ._brian import _unit_text

    M, H = W_in.shape
    dt = reading.dt
    file = getattr(getattr(reading.resolved, "spec", None), "file", "<snn>")
    code = {"model": _equations_text(reading.equations), "threshold": reading.threshold_text}
    if reading.reset_text.strip():
        code["reset"] = reading.reset_text
    if reading.refractory_text is not None:
        code["refractory"] = reading.refractory_text
    initial = {var: repr(float(np.mean(reading.initial[var]))) for var in reading.state}
    hidden = GroupPlan("hidden", H, code, dict(reading.namespace), initial, reading.method, file, "model",
                       reading.resolved, spiking=True)
    # one zero row at the end: a TimedArray holds its last value beyond its end
    table = TimedArray(np.vstack([stim, np.zeros((1, M))]), dt=dt * second)
    inputs = GroupPlan("inputs", M, {"model": "dbd_u/dt = -bd_u/(1*ms) : 1",
                                     "threshold": f"bd_stim(t, i % {M}) > 0.5", "reset": "bd_u = 0"},
                       {"bd_stim": table}, {"bd_u": "0.0"}, "exact", file, "inputs", None, spiking=True)
    unit = reading.weight_unit()
    utext = _unit_text(unit)
    exc, inh = reading.targets["exc"], reading.targets["inh"]
    couplings = []
    for src, W in (("inputs", W_in), ("hidden", W_rec)):
        if W is None:
            continue
        W = np.asarray(W, float)
        parts = [(exc, np.maximum(W, 0.0)), (inh, np.maximum(-W, 0.0))] if exc != inh else [(exc, W)]
        for k, (var, Wp) in enumerate(parts):
            ii, jj = np.nonzero(Wp)
            if len(ii) == 0:
                continue
            couplings.append(CouplingPlan(f"{src}_{k}", src, "hidden", f"w_snn : {utext}",
                                          f"{var}_post += w_snn", "", None, ii, jj,
                                          {"w_snn": Wp[ii, jj]}, {}, f"couplings.{src}"))
    return Plan(reading.resolved.spec if hasattr(reading.resolved, "spec") else None, reading.resolved,
                "network", [hidden, inputs], couplings, [], dict(reading.namespace), 1.0 * second, "s",
                False, {}, int(seed))


def network_lyapunov(reading, W_in, W_rec, stim, *, duration=2.0, transient=0.2, d0=None, renorm_every=None,
                     target="numpy", seed=0, scales=None):
    """Largest Lyapunov exponent (per second) of the network driven by ``stim`` ``(n_steps, M)``.

    ``W_in``, ``W_rec`` in SI units of the synaptic variable; ``duration``, ``transient`` in
    seconds; ``scales`` ``{var: SI}`` the size of each state variable in the distance. Returns
    the :class:`biodyn.dynamics.LyapunovResult` of
    :func:`biodyn.dynamics.brian_two_trajectory` (see module doc).
    """
    from ..dynamics import brian_two_trajectory

    plan = _plan(reading, np.asarray(W_in, float), None if W_rec is None else np.asarray(W_rec, float),
                 np.asarray(stim, float), seed)
    return brian_two_trajectory(plan, duration=duration, transient=transient, dt=reading.dt, d0=d0,
                                renorm_every=renorm_every, target=target, seed=seed,
                                scales=None if scales is None else {"hidden": dict(scales)})


def network_dynamics(reading, W_in, W_rec, x, *, duration=2.0, transient=0.2, d0=None, renorm_every=None,
                     target="numpy", seed=0, window=0.05, d0_finite=1.0):
    """λmax (two copies in Brian2) and firing statistics of the network driven by the sequences
    ``x`` ``(n, T, M)`` played back to back; weights in SI. A JSON-ready dict.

    ``renorm_every`` defaults to 10 ms of steps (a contraction at 1/tau_syn then shrinks the
    distance by e^-2 per interval, far from the merge threshold of 1e-9). ``d0_finite``
    (the total distance over all variables in units of their SDs, about ``1/sqrt(n)`` SD per
    variable; ``None``: not) adds the exponent of *finite*
    perturbations (``lambda_finite_per_s``), which can move spikes across time steps: on a time
    grid an infinitesimal perturbation never moves a spike, and the infinitesimal exponent of a
    network with a silent neuron is exactly its subthreshold decay (-1/tau_m for ``lif``);
    the finite one is the instability of spike patterns (Monteforte & Wolf 2012)."""
    from ._brian import brian_run

    W_in = np.asarray(W_in, float)
    M, H = W_in.shape
    if W_rec is not None:
        W_rec = np.asarray(W_rec, float) * (1 - np.eye(H))
    dt = reading.dt
    n_trans = int(round(transient / dt))
    n_steps = n_trans + int(round(duration / dt))
    stim = tile_inputs(x, n_steps + 1)
    steps, chan = np.nonzero(stim[:n_steps])
    run = brian_run(reading, W_in, W_rec, chan, steps, n_steps, target=target, seed=seed, record=reading.state)
    stats = firing_statistics(run["i"], run["n"], H, n_steps, dt, start=n_trans, window=window)
    scales = {}
    for var in reading.state:
        sd = float(np.std(run[var][n_trans:]))
        scales[var] = sd if sd > 0 and np.isfinite(sd) else 1.0
    if renorm_every is None:
        renorm_every = max(1, int(round(0.01 / dt)))
    lyap = network_lyapunov(reading, W_in, W_rec, stim, duration=duration, transient=transient, d0=d0,
                            renorm_every=renorm_every, target=target, seed=seed, scales=scales)
    lam = float(lyap.exponents[0])
    se = float(lyap.standard_error[0])
    finite = {}
    if d0_finite:
        big = network_lyapunov(reading, W_in, W_rec, stim, duration=duration, transient=transient,
                               d0=float(d0_finite), renorm_every=renorm_every, target=target, seed=seed,
                               scales=scales)
        lf, sf = float(big.exponents[0]), float(big.standard_error[0])
        finite = {"lambda_finite_per_s": lf if np.isfinite(lf) else None,
                  "lambda_finite_se_per_s": sf if np.isfinite(sf) else None, "d0_finite": float(d0_finite)}
    return {"lambda_max_per_s": lam if np.isfinite(lam) else None,
            "lambda_max_se_per_s": se if np.isfinite(se) else None,
            "merged_intervals": lyap.extra.get("merged_intervals"), "intervals": lyap.extra.get("intervals"),
            "d0": float(lyap.extra["d0"]), "scales": scales, "renorm_every_steps": lyap.extra.get("renorm_every_steps"),
            "duration_s": float(duration), "transient_s": float(transient), "target": lyap.extra.get("target"),
            "seed": int(seed), "method": "two_trajectory_brian2 (Benettin et al. 1976)",
            "input": "test sequences back to back", "notes": lyap.extra.get("notes", []),
            **finite, "firing": stats}


def trained_dynamics(result, *, duration=2.0, transient=0.2, target="numpy"):
    """λmax and firing statistics of a :class:`~biodyn.learn._snn.SNNTrainResult`'s network (made in this session) in
    Brian2 (:func:`biodyn.snn._chaos.network_dynamics`; seed: the training's)."""
    from ..errors import BiodynError

    run = getattr(result, "_run", None)
    if run is None:
        raise BiodynError("the network's dynamics need the result of train_snn in this session")
    p = result.params
    return network_dynamics(run["reading"], p["W_in"] * run["unit"], p["W_rec"] * run["unit"], run["x_test"],
                            duration=duration, transient=transient, target=target, seed=result.config["seed"])
