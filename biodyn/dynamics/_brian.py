r"""The same plan in Brian2: simulation, and the largest Lyapunov exponent by two copies.

:func:`build` turns a :class:`~biodyn.dynamics.Plan` into Brian2 objects — one
``NeuronGroup`` per group (``copies`` copies of it side by side: unit ``k`` of copy ``c`` is
neuron ``c*N + k``), one ``Synapses`` per coupling with the plan's connectivity and weights
(repeated block-diagonally in every copy), maps as ``run_regularly`` updates
(``x = x_next`` for all variables at once), and Poisson inputs drawn once per unit and
time step in a drive group shared by all copies (so two copies see the same input).
:func:`simulate` runs it on any target through :class:`biodyn.build.Simulation`.

**Two trajectories in one Brian2 run** (:func:`brian_two_trajectory`; Benettin et al. 1976).
Copy 1 starts at distance :math:`d_0` from copy 0 (a random direction in the space of all
state variables, each in its SI unit) and is pulled back to :math:`d_0` along the current
separation every ``renorm_every`` time steps, in Brian2 code (so it runs in C++ standalone
too): each unit reads its twin through a linked variable, a summed variable totals
:math:`d^2` in a one-neuron meter, which records :math:`g_k = \ln(d_k/d_0)`, then copy 1 is
rescaled; :math:`\lambda_1 = \sum_k g_k / T`. This is the method for threshold-reset
(spiking) networks: their Jacobian misses the spike-time terms (the state jumps at a
threshold crossing whose time depends on the state), so the QR method on the subthreshold
Jacobian is wrong for them (Monteforte & Wolf 2010 compute exact spike-to-spike Jacobians
instead, for networks that allow it). Caveats: a perturbation that moves one spike of one
copy across a time step (or across the threshold) produces a jump of order
:math:`\theta - V_r`; for networks with "stable chaos" (Monteforte & Wolf 2012: negative
exponent for infinitesimal perturbations but instability to finite ones) the estimate
depends on :math:`d_0` — report it with :math:`d_0` and check its dependence. Delays are
state too (spikes in transit are not renormalised). Refractory clocks are not part of the
distance.

References
----------
Benettin G, Galgani L, Strelcyn JM (1976) Kolmogorov entropy and numerical experiments.
Phys Rev A 14:2338-2345. doi:10.1103/PhysRevA.14.2338
Monteforte M, Wolf F (2010) Dynamical entropy production in spiking neuron networks in the
balanced state. Phys Rev Lett 105:268104. doi:10.1103/PhysRevLett.105.268104
Monteforte M, Wolf F (2012) Dynamic flux tubes form reservoirs of stability in neuronal
circuits. Phys Rev X 2:041007. doi:10.1103/PhysRevX.2.041007
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import BiodynError, SpecError
from ._plan import initial_values, make_plan

__all__ = ["build", "simulate", "brian_two_trajectory", "Built", "SimulationResult"]


@dataclass
class Built:
    """Brian2 objects of a plan (created inside a :class:`biodyn.build.Simulation`)."""

    plan: object
    copies: int
    groups: dict
    synapses: list
    objects: list
    state_vars: dict   # group -> list of state variables
    dims: dict         # group -> var -> Brian2 dimension


@dataclass
class SimulationResult:
    """A Brian2 run: recorded state variables and spikes, with how it was made."""

    times: np.ndarray                                  # seconds
    states: dict                                       # group -> var -> (T, n_recorded) array (SI)
    indices: dict                                      # group -> recorded unit indices
    spikes: dict = field(default_factory=dict)         # group -> (indices, times in s)
    info: dict = field(default_factory=dict)


def _unit_name(dim):
    from brian2.units.fundamentalunits import DIMENSIONLESS, get_unit

    return "1" if dim is DIMENSIONLESS else repr(get_unit(dim))


def _group_equations(g):
    from brian2 import Equations

    from ..spec import map_state_variables

    eqs = Equations(g.code["model"])
    maps = map_state_variables(eqs)
    if maps:
        states = maps
    else:
        from brian2.equations.equations import DIFFERENTIAL_EQUATION

        states = [n for n, eq in eqs.items() if eq.type == DIFFERENTIAL_EQUATION
                  and "event-driven" not in eq.flags]
    return eqs, states, bool(maps)


def build(plan, copies=1, *, seed=None, init=None, perturbation=None, twins=False,
          renorm=None):
    """Brian2 objects for ``plan`` (call inside ``with Simulation(...)``).

    Parameters
    ----------
    copies : int
        Copies of the whole network side by side (for two-trajectory estimates).
    seed : int, optional
        Seed of random initial values (default the plan's).
    init : dict, optional
        ``{group: {var: (N,) array}}`` initial values replacing the plan's.
    perturbation : dict, optional
        ``{group: {var: (N,) array}}`` added to copy 1.
    twins : bool
        Add ``<var>_twin`` linked variables (each unit sees its partner in the other copy).
    renorm : dict, optional
        Two-trajectory machinery: ``{"interval": Quantity, "d0": float}``.
    """
    from brian2 import NeuronGroup, Synapses, linked_var

    from ..build import _wrap_brian_error  # one place for Brian2 errors about a spec

    values = initial_values(plan, seed)
    if init:
        for g, tab in init.items():
            values.setdefault(g, {}).update(tab)
    groups, synapses, objects = {}, [], []
    state_vars, dims = {}, {}
    drives = {}
    inputs_by_group = {}
    for inp in plan.inputs:
        for t in inp.targets:
            inputs_by_group.setdefault(t, []).append(inp)
    for order_base, g in enumerate(plan.groups):
        eqs, states, is_map = _group_equations(g)
        state_vars[g.name] = states
        dims[g.name] = {n: eqs.dimensions[n] for n in eqs.names}
        lines = [g.code["model"]]
        namespace = dict(g.namespace)
        for inp in inputs_by_group.get(g.name, []):
            lines.append(f"bd_n_{inp.name} : 1 (linked)")
            namespace[f"bd_w_{inp.name}"] = inp.weight
        if twins:
            namespace["bd_d0"] = renorm["d0"]
            for s in states:
                lines.append(f"{s}_twin : {_unit_name(eqs.dimensions[s])} (linked)")
            lines.append("bd_d2 : 1")
            lines.append("bd_D2 : 1 (linked)")
        kwargs = dict(model="\n".join(lines), namespace=namespace, order=12)
        if g.code.get("threshold"):
            kwargs["threshold"] = g.code["threshold"]
        if g.code.get("reset"):
            kwargs["reset"] = g.code["reset"]
        if g.code.get("refractory"):
            ref = g.code["refractory"]
            from .._quantity import QuantityError, evaluate

            try:
                ref = evaluate(ref, dict(g.namespace))
            except (QuantityError, TypeError):
                pass
            kwargs["refractory"] = ref
        if not is_map:
            kwargs["method"] = g.method
        N = g.size * copies
        try:
            G = NeuronGroup(N, name=f"biodyn_{g.name}", **kwargs)
        except Exception as exc:
            raise _wrap_brian_error(g.resolved or plan.resolved, g.key, exc) from exc
        # initial values (the same in every copy), model variables set by the user
        for var, arr in values.get(g.name, {}).items():
            if var in G.variables and not var.startswith("_"):
                G.variables[var].set_value(np.tile(arr, copies))
        for name, text in plan.unit_values.items():
            if name in eqs.names and name not in states:
                from ..spec import parse_quantity

                G.variables[name].set_value(
                    np.broadcast_to(np.asarray(parse_quantity(text, eqs.dimensions[name],
                                                              file="<overrides>", key=name), float), (N,)))
        if perturbation and copies > 1:
            for var, delta in perturbation.get(g.name, {}).items():
                cur = np.asarray(G.variables[var].get_value(), float).copy()
                cur[g.size:2 * g.size] += delta
                G.variables[var].set_value(cur)
        if is_map:
            tmp = "\n".join(f"bd_{s}_new = {s}_next" for s in states)
            assign = "\n".join(f"{s} = bd_{s}_new" for s in states)
            objects.append(G.run_regularly(tmp + "\n" + assign, when="groups", order=13,
                                           name=f"biodyn_{g.name}_map"))
        groups[g.name] = G
        objects.append(G)
    # Poisson drives, shared by the copies
    for inp in plan.inputs:
        for t in inp.targets:
            gp = plan.group(t)
            key = (inp.name, t)
            from brian2 import Hz

            D = NeuronGroup(gp.size, "bd_n : 1", name=f"biodyn_drive_{inp.name}_{t}", order=0,
                            namespace={"bd_lam": inp.count * inp.rate * Hz})
            objects.append(D.run_regularly("bd_n = poisson(bd_lam*dt)", when="start",
                                           name=f"biodyn_drive_{inp.name}_{t}_draw"))
            G = groups[t]
            setattr(G, f"bd_n_{inp.name}", linked_var(D, "bd_n", index=np.tile(np.arange(gp.size), copies)))
            gate = "*int(not_refractory)" if (inp.when_refractory == "ignore"
                                               and "not_refractory" in G.variables) else ""
            objects.append(G.run_regularly(f"{inp.variable} += bd_w_{inp.name}*bd_n_{inp.name}{gate}",
                                           when="synapses", name=f"biodyn_{t}_input_{inp.name}"))
            drives[key] = D
            objects.append(D)
    # couplings, repeated in every copy
    for cp in plan.couplings:
        src, tgt = groups[cp.source], groups[cp.target]
        ns_src, ns_tgt = plan.group(cp.source).size, plan.group(cp.target).size
        args = dict(model=cp.model or "", namespace=dict(cp.namespace),
                    name=f"biodyn_coupling_{cp.name}")
        if cp.on_pre:
            args["on_pre"] = cp.on_pre
        if cp.on_post:
            args["on_post"] = cp.on_post
        if cp.delay is not None:
            args["delay"] = cp.delay
        try:
            S = Synapses(src, tgt, **args)
            ii = np.concatenate([cp.i + c * ns_src for c in range(copies)])
            jj = np.concatenate([cp.j + c * ns_tgt for c in range(copies)])
            S.connect(i=ii, j=jj)
            for var, w in cp.weights.items():
                S.variables[var].set_value(np.tile(w, copies))
        except Exception as exc:
            raise _wrap_brian_error(plan.resolved, cp.key, exc) from exc
        synapses.append(S)
        objects.append(S)
    if twins:
        from brian2 import NeuronGroup as _NG

        meter_lines = [f"bd_D2_{g.name} : 1" for g in plan.groups]
        meter_lines.append("bd_D2 = " + " + ".join(f"bd_D2_{g.name}" for g in plan.groups) + " : 1")
        meter_lines.append("bd_g : 1")
        meter_lines.append("bd_merged : 1")
        interval = renorm["interval"]
        d0 = renorm["d0"]
        tiny = (1e-9 * d0) ** 2  # below: the copies have merged (a reset erased the difference)
        n_total = sum(g.size * len(state_vars[g.name]) for g in plan.groups)
        kick = float(d0) / math.sqrt(n_total)
        M = _NG(1, "\n".join(meter_lines), name="biodyn_meter", order=8,
                namespace={"bd_d0": d0, "bd_tiny": tiny})
        objects.append(M)
        for g in plan.groups:
            G, N = groups[g.name], g.size
            partner = np.concatenate([np.arange(N, 2 * N), np.arange(N)])
            for s in state_vars[g.name]:
                setattr(G, f"{s}_twin", linked_var(G, s, index=partner))
            G.bd_D2 = linked_var(M, "bd_D2", index=np.zeros(2 * N, dtype=int))
            scales = (renorm.get("scales") or {}).get(g.name, {})

            def unit_of(s):  # the variable's scale in its unit (1 in SI unless ``scales`` says)
                u = _unit_name(dims[g.name][s])
                k = float(scales.get(s, 1.0))
                return (f"({k!r}*{u})" if k != 1.0 else f"({u})") if u != "1" else (f"{k!r}" if k != 1.0 else "")

            terms = " + ".join(f"(({s} - {s}_twin)/{unit_of(s)})**2" if unit_of(s) else f"({s} - {s}_twin)**2"
                               for s in state_vars[g.name])
            objects.append(G.run_regularly(f"bd_d2 = {terms}", dt=interval, when="groups", order=6,
                                           name=f"biodyn_{g.name}_d2"))
            S = Synapses(G, M, f"bd_D2_{g.name}_post = bd_d2_pre : 1 (summed)", dt=interval,
                         name=f"biodyn_meter_{g.name}")
            S.connect(i=np.arange(N, 2 * N), j=np.zeros(N, dtype=int))
            objects.append(S)
            scale = "(1 - bd_d0/sqrt(bd_D2 + bd_tiny))"
            G.namespace["bd_tiny"] = tiny
            code = "\n".join(
                f"{s} = {s} + int(i >= {N})*(({s}_twin - {s})*{scale} + int(bd_D2 < bd_tiny)*{kick!r}"
                + (f"*{unit_of(s)})" if unit_of(s) else ")")
                for s in state_vars[g.name])
            objects.append(G.run_regularly(code, dt=interval, when="groups", order=9,
                                           name=f"biodyn_{g.name}_renorm"))
        objects.append(M.run_regularly("bd_g = 0.5*log(bd_D2/bd_d0**2 + 1e-300)\n"
                                       "bd_merged = int(bd_D2 < bd_tiny)", dt=interval, when="groups",
                                       order=8, name="biodyn_meter_log"))
        groups["_meter"] = M
    return Built(plan, copies, groups, synapses, objects, state_vars, dims)


def _time_quantity(plan, value, what):
    """A duration/step in the model's time unit (or a quantity) -> a Brian2 quantity."""
    from brian2 import second
    from brian2.units.fundamentalunits import Quantity, get_dimensions

    if isinstance(value, Quantity) and get_dimensions(value) == second.dim:
        return value
    if plan.time_unit is None:
        raise SpecError("<arguments>", what, "a quantity with a time unit for a map's Brian2 clock",
                        repr(value))
    return float(value) * plan.time_unit


def simulate(model, duration, *, params=None, overrides=None, variants=None, reading="network",
             target="numpy", dt=None, seed=0, record=None, max_units=50, build_key=None,
             report=None):
    """Run a model in Brian2 (any kind read by :func:`make_plan`) and record it.

    Parameters
    ----------
    duration, dt : float or Quantity
        In the model's time unit (floats) or Brian2 quantities. For maps, ``dt`` is the
        clock step (one iteration per step; default 1 ms) and ``duration`` a number of
        iterations or a quantity.
    record : list of str, optional
        State variables to record (default all), for the first ``max_units`` units.
    target : str
        ``numpy``, ``cython``, ``cpp_standalone`` or ``auto``.

    Returns
    -------
    SimulationResult
    """
    from brian2 import SpikeMonitor, StateMonitor, ms

    from ..build import Simulation, versions

    plan = model if hasattr(model, "groups") and hasattr(model, "couplings") else \
        make_plan(model, params, overrides, variants, reading=reading, seed=seed)
    if plan.is_map:
        dt_q = dt if dt is not None and not isinstance(dt, (int, float)) else 1 * ms
        T = duration * dt_q if isinstance(duration, (int, float)) else duration
    else:
        dt_q = _time_quantity(plan, dt, "dt") if dt is not None else 0.1 * ms
        T = _time_quantity(plan, duration, "duration")
    with Simulation(target, dt=dt_q, seed=seed, build_key=build_key, report=report) as sim:
        built = build(plan, seed=seed)
        monitors, spikes = {}, {}
        for g in plan.groups:
            G = built.groups[g.name]
            vars_ = [v for v in built.state_vars[g.name] if record is None or v in record]
            idx = np.arange(min(g.size, max_units))
            if vars_:
                monitors[g.name] = (StateMonitor(G, vars_, record=idx), vars_, idx)
            if g.spiking:
                spikes[g.name] = SpikeMonitor(G)
        mons = [m for m, _, _ in monitors.values()] + list(spikes.values())
        sim.run(T, *built.objects, *mons)
        states, indices, times = {}, {}, np.zeros(0)
        for name, (mon, vars_, idx) in monitors.items():
            times = np.asarray(mon.t[:] / (1.0 * ms)) * 1e-3
            states[name] = {v: np.asarray(getattr(mon, v)[:], float).T for v in vars_}
            indices[name] = idx
        spk = {name: (np.asarray(m.i[:]), np.asarray(m.t[:] / (1.0 * ms)) * 1e-3)
               for name, m in spikes.items()}
        info = {"target": sim.target, "dt": float(dt_q / (1.0 * ms)) * 1e-3, "seed": int(seed),
                "versions": versions(), "model": plan.spec.name, "timings": dict(sim.timings)}
    return SimulationResult(times, states, indices, spk, info)


def brian_two_trajectory(model, *, duration, transient=0.0, params=None, overrides=None,
                         variants=None, reading="network", target="numpy", dt=None, seed=0,
                         d0=None, renorm_every=None, build_key=None, report=None, segments=None,
                         scales=None):
    r"""Largest Lyapunov exponent of a model run in Brian2, from two copies in one run.

    Parameters
    ----------
    duration, transient : float
        Measured time and discarded time, in the model's time unit (iterations for maps).
    dt : float, optional
        Time step in the model's time unit (maps: ignored, one iteration per step).
    d0 : float, optional
        Separation kept between the copies (Euclidean over all state variables in SI;
        default ``1e-6`` times the typical size of the state, at least 1e-12).
    renorm_every : int, optional
        Time steps between renormalisations (default: about one time unit, but at most
        100 steps and at least 20 intervals in the run).
    target : str
        Brian2 target; the whole measurement runs in Brian2 code (works in C++ standalone).
    scales : dict, optional
        ``{group: {var: scale (SI)}}``: the distance is Euclidean in the variables divided by
        their scales (default 1 in SI for all; pass typical sizes when variables of different
        units share a network, e.g. volts and nanoamps, so that no variable is invisible in
        the norm); ``d0`` is in these scaled units.

    Returns
    -------
    LyapunovResult
        One exponent, per time unit (per iteration for maps), with a standard error from
        batch means (or ``segments`` fixed segments), see :func:`biodyn.dynamics.batch_means`;
        ``extra`` holds ``d0`` and the Brian2 settings.
    """
    from brian2 import StateMonitor, ms

    from ..build import Simulation, versions
    from ._lyapunov import LyapunovResult

    plan = model if hasattr(model, "groups") and hasattr(model, "couplings") else \
        make_plan(model, params, overrides, variants, reading=reading, seed=seed)
    if plan.is_map:
        dt_q = 1 * ms
        unit = dt_q
    else:
        if dt is None:
            raise SpecError("<arguments>", "dt", "a time step (in the model's time unit)", "nothing")
        dt_q = _time_quantity(plan, dt, "dt")
        unit = plan.time_unit
    steps_per_unit = float(unit / dt_q)
    if renorm_every:
        m = int(renorm_every)
    else:  # about one time unit, at most 100 steps, and at least 20 intervals in the run
        m = max(1, min(int(round(steps_per_unit)), 100, int(duration * steps_per_unit / 20)))
    interval = m * dt_q
    n_trans = int(math.ceil(transient * steps_per_unit / m))
    n_meas = int(round(duration * steps_per_unit / m))
    if n_meas < 2:
        raise SpecError("<arguments>", "duration", "at least two renormalisation intervals",
                        f"{duration} ({n_meas} intervals of {m} steps)")
    values = initial_values(plan, seed)
    rng = np.random.default_rng([int(seed), 2024])
    pert, total, typical = {}, 0.0, []
    for g in plan.groups:
        _, states, _ = _group_equations(g)
        pert[g.name] = {}
        sc = (scales or {}).get(g.name, {})
        for s in states:
            v = rng.standard_normal(g.size)
            pert[g.name][s] = v * float(sc.get(s, 1.0))
            total += float(v @ v)
            if s in values.get(g.name, {}):
                typical.append(np.abs(values[g.name][s]).mean() / float(sc.get(s, 1.0)))
    scale = max(max(typical) if typical else 1.0, 1e-6)
    d0 = float(d0) if d0 is not None else max(1e-6 * scale, 1e-12)
    norm = math.sqrt(total)
    for g in pert:
        for s in pert[g]:
            pert[g][s] = pert[g][s] * (d0 / norm)
    T = (n_trans + n_meas) * interval + dt_q  # one step more: the tick at the end measures
    with Simulation(target, dt=dt_q, seed=seed, build_key=build_key, report=report) as sim:
        built = build(plan, copies=2, seed=seed, perturbation=pert, twins=True,
                      renorm={"interval": interval, "d0": d0, "scales": scales})
        mon = StateMonitor(built.groups["_meter"], ["bd_g", "bd_merged"], record=0, dt=interval, when="end")
        sim.run(T, *built.objects, mon)
        g_series = np.asarray(mon.bd_g[0], float)
        merged_series = np.asarray(mon.bd_merged[0], float)[1:] > 0.5
        t_series = np.asarray(mon.t[:] / (1.0 * ms)) * 1e-3
        timings = dict(sim.timings)
        target_used = sim.target
    # the meter's k-th record (at t = k*interval, after the update of that tick) is the growth
    # over the interval that ends there; the first tick (t = 0) measures the initial d0
    g_series = g_series[1:]
    if len(g_series) < n_trans + n_meas:
        raise BiodynError("the Brian2 run recorded fewer intervals than expected")
    g_meas = g_series[n_trans:n_trans + n_meas].copy()
    merged = merged_series[n_trans:n_trans + n_meas]
    if not np.all(np.isfinite(g_meas[~merged])):
        raise BiodynError("the distance between the two copies became non-finite (NaN): reduce dt")
    g_meas[merged] = -np.inf  # the difference vanished: contraction beyond what the time grid resolves
    T_meas = n_meas * m * float(dt_q / unit)  # time units (iterations for maps)
    lam = np.array([g_meas.sum() / T_meas])
    from ._lyapunov import _bounds, _error_extra, _standard_error

    edges = _bounds(n_meas, segments)
    seg_T = np.diff(edges) * m * float(dt_q / unit)
    with np.errstate(invalid="ignore"):
        seg_sums = np.add.reduceat(g_meas, edges[:-1])[:, None]
    if np.all(np.isfinite(seg_sums)):
        se, seg_est, batch_T = _standard_error(seg_sums, seg_T, n_meas, segments)
        error_extra = _error_extra(seg_sums, seg_T, lam, se, seg_est, batch_T, segments, plan.time_unit_text)
    else:
        seg_est = seg_sums / seg_T[:, None]
        se, error_extra = np.array([np.nan]), {"warnings": []}
    times = np.arange(1, n_meas + 1) * m * float(dt_q / unit)
    running = (np.cumsum(g_meas) / times)[:, None]
    from ._lyapunov import entropy_rate

    return LyapunovResult(
        exponents=lam, standard_error=se, time_unit=plan.time_unit_text, duration=T_meas,
        transient=n_trans * m * float(dt_q / unit), tangent_transient=0.0,
        dt=float(dt_q / unit), method="two_trajectory_brian2", integrator=str(plan.groups[0].method),
        k=1, n=sum(g.size * len(built.state_vars[g.name]) for g in plan.groups), reorth_every=m,
        n_qr=0, running_times=times, running=running, segments=seg_est, kaplan_yorke=None,
        entropy_rate=entropy_rate(lam), final_state=np.zeros(0),
        extra={"d0": d0, "target": target_used, "renorm_every_steps": m,
               "merged_intervals": int(merged.sum()), "intervals": int(n_meas),
               "notes": ([] if not merged.any() else [
                   f"the copies merged in {int(merged.sum())} of {n_meas} intervals: a perturbation of "
                   f"size d0 = {d0:.3g} was erased (in threshold-reset models, by a reset that no spike "
                   "time shift on the time grid carries on). The exponent for perturbations this small "
                   "is below what dt resolves (reported as -inf/null): the network is stable to them. "
                   "Pass a larger d0 for the growth of finite perturbations."]),
               "brian2_dt_seconds": float(dt_q / (1.0 * ms)) * 1e-3, "timings": timings,
               "versions": versions(), **error_extra})
