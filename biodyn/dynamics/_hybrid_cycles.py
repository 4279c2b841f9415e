r"""Limit cycles of integrate-and-fire neurons: periodic orbits through a threshold and reset, and
their Floquet multipliers by saltation matrices.

An integrate-and-fire neuron is a hybrid system: it flows by :math:`\dot x = f(x)` until the
threshold :math:`h(x) = 0` is crossed upwards, then jumps to :math:`x^+ = R(x^-)` (the reset),
and may hold the variables marked ``(unless refractory)`` for :math:`t_{ref}`. Repetitive
firing is a periodic orbit of this hybrid flow: a fixed point of the **return map**
:math:`P` that takes the state just after a reset to the state just after the next one (or the
:math:`k`-th next, for bursts of :math:`k` spikes).

Method
------
* The flow between resets and its variational equations :math:`\dot\Phi = J(x)\Phi` are
  integrated with LSODA (``rtol`` 1e-10; :math:`J` derived by sympy from the spec, as for
  every biodyn field), the threshold crossing located as an event of the integration. During
  refractoriness the clamped variables' rows of :math:`f` and :math:`J` are zero.
* At the reset the perturbations jump by the **saltation matrix** (Müller 1995; Leine & Nijmeijer
  2004; Bizzarri et al. 2016)

  .. math:: S = DR + \frac{(f^+ - DR\,f^-)\,\nabla h^\top}{\nabla h^\top f^-},

  :math:`f^\mp` the field just before and after the jump. The end of refractoriness is a
  switch in time; it is made a state event by a clock :math:`s` (time since the reset,
  :math:`\dot s = 1`, reset to 0), whose saltation adds :math:`(f_{free} - f_{clamped})\,\delta s`.
  The monodromy matrix of the extended state :math:`(x, s)` over one cycle is
  :math:`M = S_R\,\Phi_{free}\,S_{ref}\,\Phi_{ref}`; it has the **trivial multiplier 1**
  (along the flow) exactly when the saltation is right — reported as a check.
* The cycle's post-reset state is found by iterating :math:`P` from the spec's initial
  state (transients die out for attracting cycles; period-:math:`k` orbits of :math:`P` are
  recognised for :math:`k \le 8`), then Newton's method on :math:`P^k(x) = x` with
  :math:`DP` from the variational equations. :math:`DP = DR\,(I - f^-\nabla h^\top/\nabla
  h^\top f^-)\,\Phi` (the time to threshold varies with the start).
* **Non-trivial multipliers**: a reset that sets :math:`r` variables to constants (``v =
  V_r``) makes the post-reset states an :math:`(n - r)`-dimensional set; the eigenvalues of
  :math:`DP^k` restricted to the other variables are the multipliers (for AdEx and Izhikevich
  one: :math:`\partial w_{k+1}/\partial w_k`), and the other :math:`r - 1` are 0. A 1-D neuron
  (LIF) has none: every perturbation is erased by the reset. Stable: every non-trivial
  multiplier inside the unit circle.

Known answer (LIF, constant drive :math:`RI`): :math:`T = t_{ref} + \tau_m \ln\frac{RI + E_L -
v_r}{RI + E_L - v_{th}}`, the variational factor over the free flight
:math:`\Phi = e^{-(T - t_{ref})/\tau_m} = \frac{RI + E_L - v_{th}}{RI + E_L - v_r}` and the
saltation :math:`S = f^+/f^- = 1/\Phi` without refractoriness: :math:`M = 1` exactly.

Not handled (refused with a message): resets that assign other than state variables or read
``t``/``dt`` (adex_clopath's clamp), refractoriness given as a condition, networks.

References
----------
Müller PC (1995) Calculation of Lyapunov exponents for dynamic systems with discontinuities.
Chaos Solitons Fractals 5:1671-1681. doi:10.1016/0960-0779(94)00170-U
Leine RI, Nijmeijer H (2004) Dynamics and Bifurcations of Non-Smooth Mechanical Systems.
Springer (chapter 2). doi:10.1007/978-3-540-44398-8
Bizzarri F, Brambilla A, Storti Gajani G (2016) Lyapunov exponents computation for hybrid
neurons. J Comput Neurosci 35:201-212. doi:10.1007/s10827-013-0448-6
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import BiodynError

__all__ = ["hybrid_cycle", "HybridNeuron", "is_hybrid"]


def is_hybrid(field):
    """True for a single integrate-and-fire type unit (threshold and reset)."""
    return bool(getattr(field, "resets", False)) and not field.is_map


class HybridNeuron:
    """The hybrid reading of a one-unit integrate-and-fire model: flow, threshold, reset,
    refractoriness (module docstring)."""

    def __init__(self, field):
        import sympy
        from brian2 import Equations, second
        from brian2.parsing.sympytools import str_to_sympy

        from ..spec import parse_quantity
        from ._field import _substitute_subexpressions, _threshold_reset
        from ._sympy import brian_to_sympy, lambdify_numpy, si_namespace, units_si

        if not field._single:
            raise BiodynError(f"{field.name}: cycles through a reset are computed for one neuron, "
                              "not a network or population")
        grp = field.groups[0]
        g = grp.plan
        code = g.code
        self.field = field
        self.name = field.name
        self.n = field.n
        states = list(grp.states)
        self.states = states
        cond = _threshold_reset(grp)
        m = re.fullmatch(r"\s*(.+?)\s*(>=|>|<=|<)\s*(.+?)\s*", str(cond))
        if not m:
            raise BiodynError(f"{field.name}: threshold {cond!r} is not a comparison 'a > b': its cycles "
                              "through the reset are not computed")
        lhs, op, rhs = m.groups()
        text = f"({lhs}) - ({rhs})" if op.startswith(">") else f"({rhs}) - ({lhs})"
        values = dict(units_si())
        values.update(si_namespace(g.namespace))
        values.update({"not_refractory": 1.0, **grp.unit_values})
        for v, val in zip(grp.compiled.uvars, grp.uvar_values):
            values[v] = float(np.asarray(val))
        S = {s: sympy.Symbol(s, real=True) for s in states}

        def expr_of(src, where):
            e = _substitute_subexpressions(brian_to_sympy(str_to_sympy(src)), grp.compiled.sub)
            free = {str(s) for s in e.free_symbols}
            bad = sorted(free & {"t", "dt", "i", "N"}) + sorted(free - set(states) - set(values)
                                                                  - {"t", "dt", "i", "N"})
            if bad:
                raise BiodynError(f"{field.name}: the {where} {src!r} reads {bad[0]!r}: cycles through "
                                  "the reset are computed for resets and thresholds in the state "
                                  "variables and parameters only")
            return sympy.sympify(e.xreplace({sympy.Symbol(k, real=True): sympy.Float(float(v))
                                             for k, v in values.items() if k in free and k not in states}))

        h = expr_of(text, "threshold")
        self._h = lambdify_numpy(states, h)
        self._dh = lambdify_numpy(states, [sympy.diff(h, S[s]) for s in states])
        # the reset: statements 'x = e', 'x += e', ...
        R = {s: S[s] for s in states}
        for line in re.split(r"[\n;]", str(code.get("reset") or "")):
            line = line.split("#")[0].strip()
            if not line:
                continue
            mm = re.fullmatch(r"([A-Za-z_]\w*)\s*(=|\+=|-=|\*=|/=)\s*(.+)", line)
            if not mm or mm.group(1) not in states:
                raise BiodynError(f"{field.name}: reset statement {line!r} does not assign a state "
                                  f"variable ({', '.join(states)}): cycles through the reset are not "
                                  "computed for this model")
            var, op, src = mm.groups()
            e = expr_of(src, "reset").xreplace(R)     # statements in order: earlier ones apply
            R[var] = {"=": e, "+=": R[var] + e, "-=": R[var] - e, "*=": R[var] * e,
                      "/=": R[var] / e}[op]
        self.reset_exprs = [R[s] for s in states]
        self._R = lambdify_numpy(states, self.reset_exprs)
        self._DR = lambdify_numpy(states, [[sympy.diff(R[a], S[b]) for b in states] for a in states])
        #: variables the reset sets to constants (their post-reset value does not depend on x)
        self.constant = [k for k, e in enumerate(self.reset_exprs) if not (e.free_symbols & set(S.values()))]
        # refractoriness
        ref = str(code.get("refractory") or "").strip()
        self.t_ref = 0.0
        if ref:
            try:
                q = parse_quantity(ref, second.dim, file=g.file, key="refractory", names=dict(g.namespace))
            except Exception:
                raise BiodynError(f"{field.name}: refractoriness {ref!r} is not a duration: cycles "
                                  "through the reset are not computed") from None
            self.t_ref = float(np.asarray(q)) / float(field._T)
        clamped = set()
        if self.t_ref > 0:
            for name, eq in Equations(code["model"]).items():
                if "unless refractory" in eq.flags:
                    clamped.add(name)
        self.clamp = np.array([s in clamped for s in states])
        # typical sizes (tolerances): the spec's [ranges], else by unit; refined from the orbit
        lo, hi = field.ranges()
        typical = {"volt": 0.1, "amp": 1e-9, "siemens": 1e-8, "1": 1.0, "": 1.0, "hertz": 10.0}
        self.scale = np.array([hi[k] - lo[k] if np.isfinite(hi[k] - lo[k]) and hi[k] > lo[k]
                               else typical.get(field.units[k], 1.0) for k in range(self.n)])

    # -- pieces ----------------------------------------------------------------------------
    def h(self, x):
        return float(np.asarray(self._h(*x)))

    def grad_h(self, x):
        return np.array([float(np.asarray(v)) for v in self._dh(*x)])

    def reset(self, x):
        return np.array([float(np.asarray(v)) for v in self._R(*x)])

    def reset_jacobian(self, x):
        return np.array([[float(np.asarray(v)) for v in row] for row in self._DR(*x)])

    def f(self, x, clamped=False):
        F = np.asarray(self.field.f(x), float)
        return np.where(self.clamp, 0.0, F) if clamped else F

    def _run(self, x0, duration, clamped, variational, event, t_max=None):
        from scipy.integrate import solve_ivp

        n = self.n
        field = self.field
        mask = self.clamp if clamped else np.zeros(n, bool)

        def rhs(t, y):
            x = y[:n]
            F = np.where(mask, 0.0, field.f(x))
            if not variational:
                return F
            J = field.jacobian(x)
            J[mask, :] = 0.0
            return np.concatenate([F, (J @ y[n:].reshape(n, n)).ravel()])

        y0 = np.concatenate([x0, np.eye(n).ravel()]) if variational else np.asarray(x0, float)
        # Phi_ab is in units of x_a per x_b: tolerances scaled alike
        atol = (np.concatenate([1e-12 * self.scale, 1e-12 * np.outer(self.scale, 1 / self.scale).ravel()])
                if variational else 1e-12 * self.scale)
        events = None
        if event:
            def hit(t, y):
                return self.h(y[:n])
            hit.terminal, hit.direction = True, 1.0
            events = [hit]
        span = duration if duration is not None else t_max
        sol = solve_ivp(rhs, (0.0, span), y0, method="LSODA", rtol=1e-10, atol=atol, events=events,
                        dense_output=True)
        if not sol.success:
            raise BiodynError(f"{self.name}: integration failed between spikes ({sol.message})")
        if event:
            if not len(sol.t_events[0]):
                return None
            y = sol.y_events[0][0]
            return sol.t_events[0][0], y[:n], (y[n:].reshape(n, n) if variational else None), sol
        y = sol.y[:, -1]
        return duration, y[:n], (y[n:].reshape(n, n) if variational else None), sol

    def spike(self, x0, t_max, variational=True):
        """One inter-spike interval from the post-reset state ``x0``: ``(T, x_next, DP, M_ext,
        pieces)`` or ``None`` if no spike within ``t_max``."""
        n = self.n
        x = np.asarray(x0, float)
        Phi1 = np.eye(n)
        t1 = 0.0
        pieces = []
        if self.t_ref > 0:
            t1, x1, Phi1, sol1 = self._run(x, self.t_ref, True, variational, False)
            pieces.append(sol1)
        else:
            x1 = x
        out = self._run(x1, None, False, variational, True, t_max=t_max)
        if out is None:
            return None
        t2, xm, Phi2, sol2 = out
        pieces.append(sol2)
        xp = self.reset(xm)
        if not variational:
            return t1 + t2, xp, None, None, pieces
        fm = self.f(xm)
        g = self.grad_h(xm)
        den = float(g @ fm)
        if not den > 0:
            raise BiodynError(f"{self.name}: the orbit touches the threshold tangentially (grazing): "
                              "the saltation matrix is not defined there")
        DR = self.reset_jacobian(xm)
        Phi = Phi2 @ Phi1
        DP = DR @ (np.eye(n) - np.outer(fm, g) / den) @ Phi
        # the monodromy of the extended state (x, s), s the time since the reset
        fp = self.f(xp, clamped=self.t_ref > 0)
        E = np.eye(n + 1)
        P1 = E.copy(); P1[:n, :n] = Phi1                                        # noqa: E702
        S2 = E.copy()
        if self.t_ref > 0:
            S2[:n, n] = self.f(x1) - self.f(x1, clamped=True)
        P2 = E.copy(); P2[:n, :n] = Phi2                                        # noqa: E702
        DRe = np.zeros((n + 1, n + 1)); DRe[:n, :n] = DR                        # noqa: E702
        Fm = np.append(fm, 1.0)
        Fp = np.append(fp, 1.0)
        ge = np.append(g, 0.0)
        SR = DRe + np.outer(Fp - DRe @ Fm, ge) / den
        M = SR @ P2 @ S2 @ P1
        return t1 + t2, xp, DP, M, pieces


@dataclass
class _Orbit:
    state: np.ndarray
    k: int
    period: float
    DP: np.ndarray
    M: np.ndarray
    residual: float


def hybrid_cycle(field, x0=None, *, t_max=None, max_iterations=400, max_spikes_per_cycle=8, tol=1e-10):
    r"""The periodic firing of an integrate-and-fire neuron through its reset (module docstring).

    Parameters
    ----------
    field : Field
        A one-unit neuron with threshold and reset.
    x0 : (n,) array, optional
        Start of the transient (default the spec's initial state).
    t_max : float, optional
        Longest interval between spikes (time units; default 10 s): beyond it the neuron is
        taken to rest and no cycle is found.

    Returns
    -------
    Cycle
        With ``extra`` attributes: ``spikes_per_cycle``, ``intervals``, ``method``, the
        monodromy's trivial multiplier (1 when the saltation is right).

    Raises
    ------
    BiodynError
        The neuron does not fire repetitively (rests), fires irregularly (no period up to
        ``max_spikes_per_cycle`` spikes), or its reset/threshold/refractoriness is of a kind not
        handled.
    """
    from ._cycles import Cycle

    hn = HybridNeuron(field)
    T_unit = float(field._T)
    t_max = (10.0 / T_unit) if t_max is None else float(t_max)
    x = field.x0() if x0 is None else np.asarray(x0, float)
    # the first spike from the initial state (it starts anywhere, not after a reset)
    first = hn._run(x, None, False, False, True, t_max=t_max)
    if first is None:
        raise BiodynError(f"{field.name}: no spike within {t_max * T_unit:g} s from the initial state: "
                          "the neuron rests (no firing cycle); raise its drive (e.g. --set I=...)")
    x = hn.reset(first[1])
    history = [x]
    sc = hn.scale
    k_found = None
    for it in range(max_iterations):
        r = hn.spike(x, t_max, variational=False)
        if r is None:
            raise BiodynError(f"{field.name}: firing stops (no spike within {t_max * T_unit:g} s after "
                              f"spike {it + 1}): no firing cycle")
        x = r[1]
        history.append(x)
        for k in range(1, max_spikes_per_cycle + 1):
            if len(history) > 2 * k and all(np.max(np.abs(history[-1 - j] - history[-1 - j - k]) / sc) < 1e-7
                                            for j in range(k)):
                k_found = k
                break
        if k_found:
            break
    if not k_found:
        raise BiodynError(f"{field.name}: the spike train does not become periodic within "
                          f"{max_iterations} spikes (up to {max_spikes_per_cycle} spikes per cycle): "
                          "irregular or slowly converging firing, no cycle reported")
    k = k_found
    H = np.array(history + [first[1]])
    hn.scale = np.maximum(H.max(axis=0) - H.min(axis=0), 1e-3 * hn.scale)
    orbit = None
    for _ in range(8):     # Newton on P^k(x) = x over the variables the reset does not fix
        DP, M, T = np.eye(hn.n), np.eye(hn.n + 1), 0.0
        y = x.copy()
        for _j in range(k):
            Tj, y, DPj, Mj, _ = hn.spike(y, t_max)
            DP, M, T = DPj @ DP, Mj @ M, T + Tj
        res = (y - x) / sc
        orbit = _Orbit(x.copy(), k, T, DP, M, float(np.max(np.abs(res))))
        if orbit.residual < tol:
            break
        A = DP - np.eye(hn.n)
        step = np.linalg.lstsq(A, -(y - x), rcond=None)[0]
        x = x + step
    free = [i for i in range(hn.n) if i not in hn.constant]
    if hn.constant:
        Dfree = orbit.DP[np.ix_(free, free)]
        nontrivial = list(np.linalg.eigvals(Dfree)) if free else []
        nontrivial += [0.0] * (len(hn.constant) - 1)
    else:
        lam = np.linalg.eigvals(orbit.M)
        lam = np.delete(lam, int(np.argmin(np.abs(lam - 1.0))))
        nontrivial = list(np.delete(lam, int(np.argmin(np.abs(lam)))))   # the clock's
    lam_ext = np.linalg.eigvals(orbit.M)
    trivial = complex(lam_ext[int(np.argmin(np.abs(lam_ext - 1.0)))])
    nontrivial = sorted(nontrivial, key=lambda m: -abs(m))
    mult = np.array([trivial] + nontrivial, complex)
    stable = bool(all(abs(m) < 1 - 1e-9 for m in nontrivial))
    # the orbit sampled over one period (for figures), each flight from its dense output
    times, states, t0 = [], [], 0.0
    y = orbit.state.copy()
    for _j in range(k):
        r = hn.spike(y, t_max, variational=False)
        for sol in r[4]:
            ts = np.linspace(sol.t[0], sol.t[-1], 80)
            Y = sol.sol(ts)[:hn.n].T
            times.append(t0 + ts); states.append(Y)                       # noqa: E702
            t0 += sol.t[-1]
        y = r[1]
    times = np.concatenate(times)
    S = np.vstack(states)
    c = Cycle(orbit.state, orbit.period, mult, trivial, stable, orbit.residual, S.max(axis=0), S.min(axis=0),
              times, S)
    c.spikes_per_cycle = k
    c.method = ("hybrid: flights between resets with variational equations (LSODA), saltation "
                "matrices at the reset (Mueller 1995; Bizzarri et al. 2016), Newton on the return map")
    c.refractory = hn.t_ref
    return c
