"""Figures of :mod:`biodyn.ann`: backprop as a dynamical system, optimisers as integrators.

Every function takes an ``Axes`` (or makes one) and returns it, and draws from plain data:
the dicts of ``BackpropRecord.summary()``, ``Trajectory.to_dict()``,
``EdgeOfStability.to_dict()``, ``against_gradient_flow(...)`` — or the objects
themselves, which are converted.
"""

from __future__ import annotations

import numpy as np

from ._base import PALETTE, new_axes

__all__ = ["layer_gradient_norms", "singular_value_spectrum", "optimiser_trajectory",
           "sharpness_vs_threshold", "stability_limits", "lyapunov_comparison"]


def _plain(obj):
    if hasattr(obj, "summary") and not isinstance(obj, dict):
        return obj.summary()
    if hasattr(obj, "to_dict") and not isinstance(obj, dict):
        return obj.to_dict()
    return obj


def layer_gradient_norms(records, ax=None, which="both"):
    """Per-layer gradient norms :math:`\\lVert\\nabla_{\\theta_l}L\\rVert` and backward signals.

    The backward signals are :math:`\\lVert\\delta_l\\rVert` (dashed).

    Parameters
    ----------
    records : BackpropRecord or its ``summary()``, or a dict ``{label: record}``
    which : {"both", "grads", "deltas"}

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        ax = new_axes()
    if not isinstance(records, dict) or "step_grad_norms" in records:
        records = {"": records}
    for k, (label, rec) in enumerate(records.items()):
        s = _plain(rec)
        color = f"C{k % 10}"
        if which in ("both", "grads"):
            g = np.asarray(s["step_grad_norms"])
            ax.semilogy(np.arange(1, g.size + 1), g, "-o", ms=3, color=color,
                        label=(f"{label}: " if label else "") + r"$\|\nabla_{\theta_l} L\|$")
        if which in ("both", "deltas"):
            d = np.asarray(s["delta_norms"])
            ax.semilogy(np.arange(d.size), d, "--", color=color,
                        label=(f"{label}: " if label else "") + r"$\|\delta_l\|$")
    ax.set_xlabel("layer (or time step) l")
    ax.set_ylabel("norm")
    ax.set_title("backprop as a reverse-time system", fontsize=10)
    ax.legend(fontsize=7)
    return ax


def singular_value_spectrum(spectra, ax=None, bins=60, log=True):
    """Distribution of the singular values of input–output Jacobians.

    Parameters
    ----------
    spectra : array or dict ``{label: array}``
        Singular values (any shape; flattened).
    log : bool
        Logarithmic singular-value axis.
    """
    if ax is None:
        ax = new_axes()
    if not isinstance(spectra, dict):
        spectra = {"": spectra}
    allv = np.concatenate([np.ravel(v) for v in spectra.values()])
    allv = allv[allv > 0]
    if log:
        lo, hi = np.log10(allv.min()), np.log10(allv.max())
        if hi - lo < 1e-6:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.logspace(lo, hi, bins + 1)
        ax.set_xscale("log")
    else:
        edges = np.linspace(allv.min(), allv.max() + 1e-12, bins + 1)
    for k, (label, v) in enumerate(spectra.items()):
        v = np.ravel(v)
        v = v[v > 0]
        ax.hist(v, bins=edges, weights=np.full(v.size, 1.0 / max(v.size, 1)), histtype="step", lw=1.5,
                color=f"C{k % 10}", label=label or None)
    ax.axvline(1.0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("singular value of the input–output Jacobian")
    ax.set_ylabel("fraction per bin")
    if any(spectra):
        ax.legend(fontsize=7)
    return ax


def optimiser_trajectory(results, ax=None, plane=None):
    """Optimiser trajectories against their continuous-time limit.

    Parameters
    ----------
    results : dict from :func:`biodyn.ann.against_gradient_flow`, or ``{label: that}``
    plane : bool, optional
        Draw in the parameter plane (default when :math:`d = 2`); otherwise the objective
        against gradient-flow time.
    """
    if ax is None:
        ax = new_axes()
    if "trajectory" in results:
        results = {"": results}
    for k, (label, r) in enumerate(results.items()):
        traj = _plain(r["trajectory"])
        th = np.asarray(traj["thetas"])
        flow = np.asarray(r["flow"])
        color = f"C{k % 10}"
        name = label or f"{traj['optimiser']} (η = {traj['lr']:g})"
        use_plane = (th.shape[1] == 2) if plane is None else plane
        ref = "Nesterov ODE" if r.get("reference") == "nesterov_ode" else "gradient flow"
        if use_plane:
            ax.plot(th[:, 0], th[:, 1], "o-", ms=3, lw=1, color=color, label=name)
            ax.plot(flow[:, 0], flow[:, 1], "-", lw=2, alpha=0.35, color=color, label=f"{ref}" if k == 0 else None)
            ax.set_xlabel(r"$\theta_1$")
            ax.set_ylabel(r"$\theta_2$")
        else:
            t = np.asarray(traj["times"])
            ax.plot(t, traj["values"], "o-", ms=3, lw=1, color=color, label=name)
            ax.plot(t, r["flow_values"], "-", lw=2, alpha=0.35, color=color, label=ref if k == 0 else None)
            ax.set_xlabel("gradient-flow time t")
            ax.set_ylabel("objective")
            if np.all(np.asarray(r["flow_values"]) > 0):
                ax.set_yscale("log")
    ax.set_title("optimisers as integrators", fontsize=10)
    ax.legend(fontsize=7)
    return ax


def sharpness_vs_threshold(eos, ax=None, loss=True):
    """Edge of stability: the top Hessian eigenvalue against :math:`2/\\eta` (and the loss on a twin axis)."""
    if ax is None:
        ax = new_axes()
    d = _plain(eos)
    ax.plot(d["steps"], d["sharpness"], "o-", ms=3, color="C0", label=r"sharpness $\lambda_{max}(\nabla^2 L)$")
    ax.axhline(d["threshold"], color="C3", ls="--", label=rf"$2/\eta$ = {d['threshold']:.3g}")
    ax.set_xlabel("GD step")
    ax.set_ylabel("sharpness")
    ax.set_ylim(0, max(max(d["sharpness"]), d["threshold"]) * 1.25)
    ax.set_title(f"edge of stability (η = {d['lr']:g}; {d['hvp']} HVPs, {d['method']})", fontsize=10)
    if loss:
        ax2 = ax.twinx()
        ax2.semilogy(d["loss_steps"], d["loss"], color="0.5", lw=0.8, label="training loss")
        ax2.set_ylabel("loss", color="0.4")
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="lower right")
    else:
        ax.legend(fontsize=7)
    return ax


def stability_limits(limits, ax=None, expected=None):
    """Bar chart of the real-axis stability limits :math:`\\max\\eta\\lambda` (``inf`` drawn as an
    arrow at the top); dashed black lines mark the expected (closed-form) limits, in the legend.

    The axis is linear with plain numbers unless the finite limits span more than a factor
    of 20 (then logarithmic, still labelled with plain numbers — never "2×10⁰")."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, NullFormatter

    if ax is None:
        ax = new_axes()
    names = list(limits)
    vals = np.array([limits[n] for n in names], float)
    finite = np.isfinite(vals)
    top = (vals[finite].max() if finite.any() else 1.0) * 1.3
    colours = [PALETTE["model"] if f else PALETTE["unbounded"] for f in finite]
    ax.bar(np.arange(len(names)), np.where(finite, vals, top), color=colours)
    for i, (v, f) in enumerate(zip(vals, finite)):
        ax.text(i, (v if f else top), f"{v:.3g}" if f else "∞", ha="center", va="bottom", fontsize=7)
    handles = [Patch(color=PALETTE["model"], label="measured limit")]
    if not finite.all():
        handles.append(Patch(color=PALETTE["unbounded"], label="no limit (A-stable): ∞"))
    if expected:
        shown = False
        for i, n in enumerate(names):
            if n in expected and np.isfinite(expected[n]):
                ax.plot([i - 0.4, i + 0.4], [expected[n]] * 2, "k--", lw=1)
                shown = True
        if shown:
            handles.append(Line2D([], [], color="k", ls="--", lw=1, label="expected (closed form)"))
    ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right", fontsize=8)
    ax.set_xlabel("optimiser / integrator")
    pos = vals[finite & (vals > 0)]
    if pos.size and pos.max() / pos.min() > 20:
        ax.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_ylim(top=top * 2.0)
    else:
        ax.set_ylim(0, top * 1.15)
    ax.set_ylabel(r"stability limit $\max\,\eta\lambda$ (dimensionless)")
    ax.set_title("real-axis stability on f = λx²/2", fontsize=10)
    ax.legend(handles=handles, fontsize=7, loc="upper left", frameon=False)
    return ax


def lyapunov_comparison(result, ax=None):
    """Exponents :math:`\\frac1T\\log\\sigma_i` of the Jacobian product against QR Lyapunov exponents."""
    if ax is None:
        ax = new_axes()
    svd = np.asarray(result["svd_exponents"])
    i = np.arange(1, svd.size + 1)
    ax.plot(i, svd, "o", color="C0", label=r"$\frac{1}{T}\log\sigma_i(D_T\cdots D_1)$")
    if result.get("qr_exponents") is not None:
        ax.plot(i, np.asarray(result["qr_exponents"]), "x", ms=8, color="C3", label="QR (biodyn.dynamics)")
    ax.axhline(0, color="0.8", lw=0.8)
    ax.set_xlabel("index i")
    ax.set_ylabel("exponent (per step)")
    ax.legend(fontsize=7)
    return ax
