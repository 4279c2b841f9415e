r"""Numeric vector fields and maps compiled from a plan, with Jacobians derived by sympy.

A :class:`Field` is :math:`\dot x = f(x, t)` (a flow) or :math:`x_{t+1} = F(x_t)` (a map) of
a catalog model. The state is every state variable of every unit of every group, stacked
variable by variable: ``x = [v of units 0..N-1, w of units 0..N-1, ...]`` per group, groups
in order. Values are SI numbers (volt, amp, hertz, dimensionless); the time of a flow is in
the model's declared time unit (``time_unit``: ``tau`` for abstract systems, 1 second for
neurons and synapses), so :math:`f` is "SI per time unit" and exponents are "per time unit".

The Jacobian is never written by hand: the equations Brian2 parses (``str_to_sympy``) are
differentiated by sympy, per unit, and coupling terms enter through the chain rule
(:math:`\partial f_a/\partial u\;\partial u/\partial x_{pre}` for every summed variable
:math:`u`). Couplings of the form :math:`u_j = \sum_i w_{ij}\,g(x_i)` are kept as a (dense
or sparse) matrix :math:`W`, so that Jacobian products :math:`JQ` cost one product with
:math:`W` and never form :math:`J` (``jvp``): for the rate network,
:math:`JQ = -Q + W(\mathrm{sech}^2(h) \odot Q)`.

What is dropped: threshold, reset and refractoriness (a neuron is read as its subthreshold
flow), noise terms ``xi`` (set to 0), event-driven equations and spike-triggered couplings
(``on_pre``), and transmission delays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BiodynError, SpecError, suggest
from ._plan import evaluate_array, make_plan

__all__ = ["Field", "read", "state_text", "quantity_text"]

_COMPILED: dict = {}


def read(model, params=None, overrides=None, variants=None, *, reading="auto", seed=0):
    """The vector field (or map) of a catalog model.

    Parameters
    ----------
    model : str, path, ModelSpec or Resolved
        Any model of the catalog: system, map, population, neuron (subthreshold), synapse
        (clock-driven rate rule).
    params : str, optional
        Parameter set.
    overrides : dict, optional
        Parameter values with units, and values of model variables that are parameters of
        the equations (``{"I": "100 pA"}``) or partner variables of a synapse rule
        (``{"r_pre": "1"}``).
    variants : dict, optional
    reading : {"auto", "network", "mean_field"}
        See :func:`biodyn.dynamics.make_plan`.
    seed : int
        Seeds connectivity/weights (unless the spec names a seed parameter) and random
        initial values.

    Returns
    -------
    Field
    """
    plan = make_plan(model, params, overrides, variants, reading=reading, seed=seed)
    return Field(plan, dict(overrides or {}), params, dict(variants or {}))


# --------------------------------------------------------------------------
# Compiling one group
# --------------------------------------------------------------------------


@dataclass
class _Compiled:
    """The lambdified local dynamics of one unit model."""

    states: list
    inputs: list
    uvars: list
    params: list
    time_dependent: bool
    f: object          # (*args) -> list of m arrays
    fj: object         # (*args) -> f list + m*m Jacobian entries + m*r input derivatives
    sub: dict          # subexpression name -> sympy expr (in states/uvars/params)
    exprs: list        # sympy f_a


def _S(name):
    import sympy

    return sympy.Symbol(name, real=True)


def _substitute_subexpressions(expr, sub, depth=30):
    for _ in range(depth):
        names = {s for s in expr.free_symbols if str(s) in sub}
        if not names:
            return expr
        expr = expr.xreplace({s: sub[str(s)] for s in names})
    raise BiodynError("subexpressions refer to each other in a cycle")


def _parse_group(plan, g, inputs):
    """Sympy expressions of one group's unit: states, f_a, subexpressions, symbols used."""
    from brian2 import Equations
    from brian2.equations.equations import DIFFERENTIAL_EQUATION, PARAMETER, SUBEXPRESSION
    from brian2.parsing.sympytools import str_to_sympy

    from ..spec import map_state_variables
    from ._sympy import brian_to_sympy

    eqs = Equations(g.code["model"])
    maps = map_state_variables(eqs)
    if maps:
        states = maps
        rhs = {s: eqs[s + "_next"].expr.code for s in states}
    else:
        states = [n for n, eq in eqs.items() if eq.type == DIFFERENTIAL_EQUATION
                  and "event-driven" not in eq.flags]
        rhs = {s: eqs[s].expr.code for s in states}
    if not states:
        raise SpecError(g.file, g.key, "at least one state variable that is not event-driven",
                        "none (every differential equation is event-driven)")
    sub = {}
    for n, eq in eqs.items():
        if eq.type == SUBEXPRESSION and not (maps and n in {s + "_next" for s in states}):
            sub[n] = brian_to_sympy(str_to_sympy(eq.expr.code))
    for n in list(sub):
        sub[n] = _substitute_subexpressions(sub[n], sub)
    stochastic = set(eqs.stochastic_variables)
    exprs = []
    for s in states:
        e = brian_to_sympy(str_to_sympy(rhs[s]))
        e = _substitute_subexpressions(e, sub)
        if stochastic:
            e = e.xreplace({_S(x): 0 for x in stochastic})
        exprs.append(e)
    params_eq = [n for n, eq in eqs.items() if eq.type == PARAMETER and n not in states]
    dims = {n: eqs.dimensions[n] for n in eqs.names}
    return states, exprs, sub, params_eq, dims


def _compile_group(plan, g, inputs):
    """Compile one group: returns (_Compiled, dims, uvar names, per-unit values)."""
    import sympy

    from ._sympy import lambdify_numpy, units_si

    states, exprs, sub, params_eq, dims = _parse_group(plan, g, inputs)
    for u in inputs:
        if u not in params_eq:
            raise SpecError(g.file, g.key, f"a parameter line '{u} : <unit>' in the model (a coupling "
                            "sums into it)", "none")
    uvars = [n for n in params_eq if n not in inputs]
    symbols = set().union(*[e.free_symbols for e in exprs])
    names = {str(s) for s in symbols}
    known = set(states) | set(inputs) | set(uvars) | {"i", "N", "t"}
    extra_uvars = []
    params = []
    unit_values = {}
    units = units_si()
    for n in sorted(names - known):
        if n in g.namespace:
            params.append(n)
        elif n in plan.unit_values:
            extra_uvars.append(n)     # a partner variable of a synapse rule, set by the user
        elif n in units:
            unit_values[n] = units[n]
        elif n in ("not_refractory",):
            unit_values[n] = 1.0
        else:
            hint = None
            if n.endswith("_pre") or n.endswith("_post"):
                hint = f"give it a value: --set {n}=VALUE (with its unit)"
            raise SpecError(g.file, g.key, "identifiers that are states, parameters or units",
                            f"{n!r} (no value)", hint or suggest(n, list(g.namespace) + list(known)))
    uvars = uvars + extra_uvars
    exprs = [e.xreplace({_S(k): v for k, v in unit_values.items()}) for e in exprs]
    sub = {k: v.xreplace({_S(kk): vv for kk, vv in unit_values.items()}) for k, v in sub.items()}
    key = (g.code["model"], tuple(states), tuple(inputs), tuple(uvars), tuple(params),
           tuple(sorted(unit_values.items())))
    compiled = _COMPILED.get(key)
    if compiled is None:
        args = states + inputs + uvars + params + ["i", "N", "t"]
        S = [_S(s) for s in states]
        U = [_S(u) for u in inputs]
        jac = [sympy.diff(e, s) for e in exprs for s in S]
        jin = [sympy.diff(e, u) for e in exprs for u in U]
        time_dependent = any(_S("t") in e.free_symbols for e in exprs)
        compiled = _Compiled(states, inputs, uvars, params, time_dependent,
                             lambdify_numpy(args, exprs), lambdify_numpy(args, exprs + jac + jin),
                             sub, exprs)
        _COMPILED[key] = compiled
    return compiled, dims, unit_values


_TERMS: dict = {}
_THRESHOLDS: dict = {}


def _terms_function(compiled):
    """``(*args) -> [sum_i |f_{a,i}|]`` of a compiled unit model (cached; see ``residual_scale``)."""
    fn = _TERMS.get(id(compiled))
    if fn is None:
        import sympy

        from ._sympy import lambdify_numpy

        sums = []
        for e in compiled.exprs:
            try:
                ex = sympy.expand(e, power_exp=False, power_base=False, log=False)
            except Exception:  # pragma: no cover - expansion is a refinement only
                ex = e
            sums.append(sympy.Add(*[sympy.Abs(term) for term in sympy.Add.make_args(ex)]))
        args = compiled.states + compiled.inputs + compiled.uvars + compiled.params + ["i", "N", "t"]
        fn = lambdify_numpy(args, sums)
        _TERMS[id(compiled)] = (fn, compiled)  # keep compiled alive so its id stays unique
        return fn
    return fn[0]


def _threshold_reset(grp):
    """The threshold condition of a group that also has a reset, else ``None``."""
    code = grp.plan.code if isinstance(grp.plan.code, dict) else {}
    if code.get("threshold") and str(code.get("reset") or "").strip():
        return code["threshold"]
    return None


def _threshold_function(grp, cond):
    """``(fn, names, {param: SI value})`` evaluating a group's threshold condition."""
    key = (id(grp.compiled), cond, id(grp.plan.namespace))
    hit = _THRESHOLDS.get(key)
    if hit is not None:
        return hit[:3]
    from brian2.parsing.sympytools import str_to_sympy

    from ._sympy import brian_to_sympy, lambdify_numpy, si_namespace, units_si

    try:
        expr = brian_to_sympy(str_to_sympy(str(cond)))
    except Exception as exc:
        raise SpecError(grp.plan.file, "threshold", "a Brian2 condition", f"{cond!r} ({exc})") from None
    expr = _substitute_subexpressions(expr, grp.compiled.sub)
    ns = si_namespace(grp.plan.namespace)
    units = units_si()
    known = set(grp.states) | set(grp.compiled.uvars) | {"i", "N", "t"}
    params = {}
    fixed = {"not_refractory": 1.0, **grp.unit_values}
    for sym in expr.free_symbols:
        n = str(sym)
        if n in known:
            continue
        if n in ns:
            params[n] = ns[n]
        elif n in fixed:
            params[n] = fixed[n]
        elif n in units:
            params[n] = units[n]
        elif n in grp.inputs:
            params[n] = 0.0
        else:
            raise SpecError(grp.plan.file, "threshold", "a condition on states, parameters and units",
                            f"{n!r} (no value) in {cond!r}")
    names = sorted(str(sym) for sym in expr.free_symbols)
    fn = lambdify_numpy(names, expr)
    _THRESHOLDS[key] = (fn, names, params, grp.compiled, grp.plan.namespace)
    return fn, names, params


def _threshold_parameters_text(grp, cond):
    """``"v_th = -50 mV"``: the parameters a threshold condition names, with their values."""
    import re

    parts = []
    for n in dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(cond))):
        if n in grp.plan.namespace and n not in grp.states:
            try:
                parts.append(f"{n} = {_threshold_text_value(grp.plan.namespace[n])}")
            except (TypeError, ValueError):  # pragma: no cover - an array value
                parts.append(f"{n} = {grp.plan.namespace[n]}")
    return ", ".join(parts)


# --------------------------------------------------------------------------
# Couplings
# --------------------------------------------------------------------------


class _Coupling:
    """The summed-variable terms of one coupling: ``u_post[j] += e(pre_i, post_j, w_ij)``."""

    def __init__(self, plan, cp, groups):
        from brian2 import Equations
        from brian2.equations.equations import PARAMETER, SUBEXPRESSION
        from brian2.parsing.sympytools import str_to_sympy

        from ._sympy import brian_to_sympy, lambdify_numpy, si_namespace

        self.name = cp.name
        self.src = groups[cp.source]
        self.tgt = groups[cp.target]
        eqs = Equations(cp.model) if cp.model.strip() else Equations("")
        self.terms = []   # (target input name, kind, data)
        syn_sub = {n: brian_to_sympy(str_to_sympy(eq.expr.code)) for n, eq in eqs.items()
                   if eq.type == SUBEXPRESSION and "summed" not in eq.flags}
        syn_vars = [n for n, eq in eqs.items() if eq.type == PARAMETER]
        values = si_namespace(cp.namespace)
        n_syn = len(cp.i)
        syn_values = {}
        for v in syn_vars:
            syn_values[v] = np.asarray(cp.weights.get(v, np.zeros(n_syn)), float)
        for n, eq in eqs.items():
            if "summed" not in eq.flags:
                continue
            target_var = n[: -len("_post")]
            e = brian_to_sympy(str_to_sympy(eq.expr.code))
            e = _substitute_subexpressions(e, syn_sub)
            pre_syms, post_syms, rename = {}, {}, {}
            for s in list(e.free_symbols):
                name = str(s)
                for side, grp, table in (("_pre", self.src, pre_syms), ("_post", self.tgt, post_syms)):
                    if name.endswith(side):
                        base = name[: -len(side)]
                        rename[s] = grp.side_expression(base, side[1:], cp, self.name)
                        table[base] = True
            e = e.xreplace(rename)
            pre_states = [_S(f"pre__{s}") for s in self.src.states]
            post_states = [_S(f"post__{s}") for s in self.tgt.states]
            free = e.free_symbols
            names = sorted(str(s) for s in free)
            extra = {"N_pre": float(self.src.size), "N_post": float(self.tgt.size)}
            others = [n for n in names if not n.startswith(("pre__", "post__"))]
            for n in others:
                if n not in values and n not in syn_values and n not in extra and n not in ("i", "j"):
                    raise SpecError(plan.spec.file, cp.key + ".model",
                                    "identifiers that are synaptic variables, X_pre/X_post or parameters",
                                    f"unknown {n!r}", suggest(n, list(syn_values) + list(values)))
            indep, dep = e.as_independent(*pre_states, as_Add=False)
            dep_names = {str(s) for s in dep.free_symbols}
            indep_names = {str(s) for s in indep.free_symbols}
            linear = (all(n.startswith("pre__") for n in dep_names)
                      and not any(n.startswith(("pre__", "post__")) for n in indep_names))
            if linear:
                # u = W g(pre): W from the coefficient per synapse, g with its derivatives
                cnames = sorted(indep_names)
                cfn = lambdify_numpy(cnames, indep)
                arg = {**values, **syn_values, **extra, "i": cp.i.astype(float), "j": cp.j.astype(float)}
                coeff = np.broadcast_to(np.asarray(cfn(*[arg[n] for n in cnames]), float), (n_syn,))
                W = _matrix(coeff, cp.j, cp.i, self.tgt.size, self.src.size)
                gnames = sorted(dep_names)
                gfn = lambdify_numpy(gnames, [dep] + [sympy_diff(dep, s) for s in pre_states])
                self.terms.append((target_var, "linear", (W, gnames, gfn)))
            else:
                names = sorted({str(s) for s in free})
                der_pre = [sympy_diff(e, s) for s in pre_states]
                der_post = [sympy_diff(e, s) for s in post_states]
                fn = lambdify_numpy(names, [e] + der_pre + der_post)
                const = {**values, **syn_values, **extra, "i": cp.i.astype(float), "j": cp.j.astype(float)}
                self.terms.append((target_var, "general", (names, fn, const, cp.i, cp.j)))

    def _side_values(self, names, xs, i_idx=None, j_idx=None):
        out = []
        for n in names:
            if n.startswith("pre__"):
                v = self.src.local_value(n[5:], xs[self.src.name])
                out.append(v[i_idx] if (i_idx is not None and np.ndim(v)) else v)
            else:
                v = self.tgt.local_value(n[6:], xs[self.tgt.name])
                out.append(v[j_idx] if (j_idx is not None and np.ndim(v)) else v)
        return out

    def inputs(self, xs):
        """Contributions to the target's summed variables: ``{name: (N_post,) array}``."""
        out = {}
        for target_var, kind, data in self.terms:
            if kind == "linear":
                W, gnames, gfn = data
                gv = gfn(*self._side_values(gnames, xs))[0]
                g = np.broadcast_to(np.asarray(gv, float), (self.src.size,))
                out[target_var] = out.get(target_var, 0.0) + W @ g
            else:
                names, fn, const, i, j = data
                args = [const[n] if n in const else None for n in names]
                side = self._side_values([n for n in names if n not in const], xs, i, j)
                it = iter(side)
                args = [a if a is not None else next(it) for a in args]
                e = np.broadcast_to(np.asarray(fn(*args)[0], float), (len(i),))
                out[target_var] = out.get(target_var, 0.0) + np.bincount(j, e, minlength=self.tgt.size)
        return out

    def input_blocks(self, xs):
        """Dense ``du/dx`` blocks: ``[(target var, side, state index b, (N_post, N_side) array)]``."""
        import scipy.sparse as sp

        out = []
        for target_var, kind, data in self.terms:
            if kind == "linear":
                W, gnames, gfn = data
                vals = gfn(*self._side_values(gnames, xs))
                for b, d in enumerate(vals[1:]):
                    if np.ndim(d) == 0 and d == 0:
                        continue
                    d = np.broadcast_to(np.asarray(d, float), (self.src.size,))
                    block = (W.multiply(d[None, :]).toarray() if sp.issparse(W) else W * d[None, :])
                    out.append((target_var, "pre", b, block))
            else:
                names, fn, const, i, j = data
                args = [const[n] if n in const else None for n in names]
                side = self._side_values([n for n in names if n not in const], xs, i, j)
                it = iter(side)
                args = [a if a is not None else next(it) for a in args]
                vals = fn(*args)
                m_pre = len(self.src.states)
                for b in range(m_pre):
                    d = np.broadcast_to(np.asarray(vals[1 + b], float), (len(i),))
                    if np.any(d):
                        block = sp.coo_matrix((d, (j, i)), shape=(self.tgt.size, self.src.size)).toarray()
                        out.append((target_var, "pre", b, block))
                for b in range(len(self.tgt.states)):
                    d = np.broadcast_to(np.asarray(vals[1 + m_pre + b], float), (len(i),))
                    if np.any(d):
                        out.append((target_var, "post", b, np.diag(np.bincount(j, d, minlength=self.tgt.size))))
        return out

    def input_jvps(self, xs, Qs, factors=None):
        """``du/dx Q`` for each summed variable: ``{name: (N_post, k)}``.

        ``factors``: optional scalar per summed variable multiplying the result, folded into
        the per-column coefficients (one pass over Q fewer)."""
        out = {}
        for target_var, kind, data in self.terms:
            c = 1.0 if factors is None else factors.get(target_var, 1.0)
            if kind == "linear":
                W, gnames, gfn = data
                vals = gfn(*self._side_values(gnames, xs))
                Qsrc = Qs[self.src.name]
                acc = None
                for b, d in enumerate(vals[1:]):
                    if np.ndim(d) == 0 and d == 0:
                        continue
                    term = ((c * d)[:, None] if np.ndim(d) else c * d) * Qsrc[b]
                    acc = term if acc is None else acc + term
                if acc is None:
                    continue
                if isinstance(W, np.ndarray) and acc.flags.f_contiguous and acc.ndim == 2:
                    res = (acc.T @ W.T).T  # the same product, Fortran-ordered like Q
                else:
                    res = W @ acc
            else:
                names, fn, const, i, j = data
                args = [const[n] if n in const else None for n in names]
                side = self._side_values([n for n in names if n not in const], xs, i, j)
                it = iter(side)
                args = [a if a is not None else next(it) for a in args]
                vals = fn(*args)
                m_pre, m_post = len(self.src.states), len(self.tgt.states)
                k = next(iter(Qs.values()))[0].shape[1]
                res = np.zeros((self.tgt.size, k))
                import scipy.sparse as sp

                for b in range(m_pre):
                    d = np.broadcast_to(np.asarray(vals[1 + b], float), (len(i),))
                    if np.any(d):
                        D = sp.csr_matrix((d, (j, i)), shape=(self.tgt.size, self.src.size))
                        res += D @ Qs[self.src.name][b]
                for b in range(m_post):
                    d = np.broadcast_to(np.asarray(vals[1 + m_pre + b], float), (len(i),))
                    if np.any(d):
                        diag = np.bincount(j, d, minlength=self.tgt.size)
                        res += diag[:, None] * Qs[self.tgt.name][b]
                if c != 1.0:
                    res *= c
            out[target_var] = out.get(target_var, 0.0) + res
        return out


def _axpy(acc, X, coeff, scale, owned):
    """``acc + scale*coeff*X`` (coeff a scalar or a per-row vector), reusing ``X`` when owned."""
    if np.ndim(coeff) == 0:
        c = float(coeff) * scale
        if c == 0.0:
            return acc
        if acc is None:
            if owned:
                if c != 1.0:
                    X *= c
                return X
            return X * c
        if c == 1.0:
            acc += X
        elif c == -1.0:
            acc -= X
        else:
            from scipy.linalg import blas

            if acc.dtype == np.float64 and X.dtype == np.float64 and acc.flags.f_contiguous \
                    and X.flags.f_contiguous and acc.shape == X.shape:
                blas.daxpy(X.ravel(order="K"), acc.ravel(order="K"), a=c)  # in place, one pass
            else:
                acc += c * X
        return acc
    col = (np.asarray(coeff, float) * scale)[:, None]
    if acc is None:
        if owned:
            X *= col
            return X
        return col * X
    acc += col * X
    return acc


def _add_into(acc, B):
    acc += B
    return acc


def sympy_diff(expr, sym):
    import sympy

    return sympy.diff(expr, sym)


def _matrix(coeff, rows, cols, n_rows, n_cols):
    """A (rows x cols) matrix from triplets (duplicates summed): dense if dense enough."""
    import scipy.sparse as sp

    M = sp.coo_matrix((coeff, (rows, cols)), shape=(n_rows, n_cols)).tocsr()
    if M.nnz > 0.15 * n_rows * n_cols:
        return np.ascontiguousarray(M.toarray())
    return M


# --------------------------------------------------------------------------
# A group at run time
# --------------------------------------------------------------------------


class _Group:
    def __init__(self, field, plan, g, inputs, offset, rng):
        self.name = g.name
        self.size = g.size
        self.plan = g
        self.compiled, self.dims, self.unit_values = _compile_group(plan, g, inputs)
        c = self.compiled
        self.states = c.states
        self.inputs = list(inputs)
        self.offset = offset
        self.m = len(self.states)
        from ._sympy import si_namespace

        ns = si_namespace(g.namespace)
        self.param_values = [ns[p] for p in c.params]
        self.uvar_values = []
        for v in c.uvars:
            self.uvar_values.append(_unit_variable_value(plan, g, v, self.dims.get(v), rng))
        self.index = np.arange(self.size, dtype=float)
        self.time_dependent = False
        if c.time_dependent:  # does t survive the parameter values (forcing amplitude 0)?
            values = {_S(p): float(np.asarray(v)) for p, v in zip(c.params, self.param_values)
                      if np.ndim(v) == 0}
            self.time_dependent = any("t" in {str(s) for s in e.xreplace(values).free_symbols}
                                      for e in c.exprs)

    def args(self, xg, inputs, t_si):
        ins = [inputs.get(u, 0.0) for u in self.inputs]
        return (list(xg) + ins + self.uvar_values + self.param_values
                + [self.index, float(self.size), t_si])

    def local_value(self, name, xg):
        """A state, unit variable or subexpression of this group, per unit (for couplings)."""
        if name in self.states:
            return xg[self.states.index(name)]
        if name in self.compiled.uvars:
            return self.uvar_values[self.compiled.uvars.index(name)]
        raise KeyError(name)

    def side_expression(self, base, side, cp, coupling):
        """The sympy expression of ``base_pre``/``base_post`` in prefixed symbols."""
        prefix = f"{side}__"
        if base in self.states or base in self.compiled.uvars:
            return _S(prefix + base)
        if base in self.compiled.sub:
            e = self.compiled.sub[base]
            ren = {}
            for s in e.free_symbols:
                n = str(s)
                if n in self.states or n in self.compiled.uvars:
                    ren[s] = _S(prefix + n)
                elif n in self.compiled.params:
                    ren[s] = float(self.param_values[self.compiled.params.index(n)])
                elif n in self.inputs:
                    raise SpecError(self.plan.file, f"{cp.key}.model",
                                    f"{base}_{side} not depending on summed inputs",
                                    f"{base} depends on {n}")
            return e.xreplace(ren)
        raise SpecError(self.plan.file, f"{cp.key}.model", f"a variable of group {self.name!r} for "
                        f"{base}_{side}", repr(base), suggest(base, self.states + list(self.compiled.sub)))


def _unit_variable_value(plan, g, name, dim, rng):
    """Value of a model variable that is a parameter of the equations (e.g. ``I : amp``)."""
    from ..spec import parse_quantity

    if name in plan.unit_values:
        value = parse_quantity(plan.unit_values[name], dim, file="<overrides>", key=name)
        arr = np.asarray(value, dtype=float)
        return float(arr) if arr.ndim == 0 else arr
    if name in g.initial:
        arr = evaluate_array(g.initial[name], g.namespace, g.size, rng, file=g.file,
                             key=f"{g.key}.initial.{name}")
        return float(arr[0]) if np.all(arr == arr[0]) else arr
    return 0.0


# --------------------------------------------------------------------------
# The field
# --------------------------------------------------------------------------


class Field:
    r"""The vector field :math:`f` (or map :math:`F`) of a model, with derived Jacobian.

    Get one with :func:`read`. Call ``field.f(x, t)``; ``field.jacobian(x, t)``;
    ``field.jvp(x, Q, t)`` for :math:`J(x)\,Q` without forming :math:`J`.

    Attributes
    ----------
    name : str
        The model's name.
    is_map : bool
    n : int
        Dimension of the state.
    names : list of str
        State components (``"x"``, ``"h[3]"``, ``"E.v[12]"``).
    units : list of str
        SI unit of each component (``"V"``, ``"1"``, ``"Hz"``).
    time_unit : Quantity or None
        One unit of the flow's time (``None`` for maps: one iteration).
    time_unit_text : str
    autonomous : bool
        False if the field depends on ``t`` (forcing) after the parameters are set.
    """

    def __init__(self, plan, overrides=None, params=None, variants=None):
        self.plan = plan
        self.name = plan.spec.name
        self.is_map = plan.is_map
        self._overrides = dict(overrides or {})
        self._params_arg = params
        self._variants = dict(variants or {})
        summed = {}
        for cp in plan.couplings:
            if cp.model.strip():
                from brian2 import Equations

                for n, eq in Equations(cp.model).items():
                    if "summed" in eq.flags:
                        summed.setdefault(cp.target, []).append(n[: -len("_post")])
        self.groups = []
        offset = 0
        rng = np.random.default_rng([plan.seed, 104729])
        for g in plan.groups:
            inputs = list(dict.fromkeys(summed.get(g.name, [])))
            grp = _Group(self, plan, g, inputs, offset, rng)
            self.groups.append(grp)
            offset += grp.m * grp.size
        self.n = offset
        by_name = {grp.name: grp for grp in self.groups}
        self.couplings = [_Coupling(plan, cp, by_name) for cp in plan.couplings
                          if cp.target in summed and cp.model.strip()]
        g0 = self.groups[0]
        #: one unit, no coupling: scalars in, a small dense Jacobian out (the fast path)
        self._single = (len(self.groups) == 1 and not self.couplings and g0.size == 1
                        and not g0.inputs)
        if self._single:
            self._tail = list(g0.uvar_values) + list(g0.param_values) + [0.0, 1.0]
        self.time_unit = plan.time_unit
        self.time_unit_text = plan.time_unit_text
        self._T = 1.0 if self.is_map else float(np.asarray(plan.time_unit))
        self.autonomous = not any(grp.time_dependent for grp in self.groups)
        self.names, self.units, self.var_of, self._dims = [], [], [], []
        multi = len(self.groups) > 1
        from .._quantity import dimension_name  # noqa: F401

        for grp in self.groups:
            for s in grp.states:
                unit = _si_unit_text(grp.dims[s])
                for k in range(grp.size):
                    label = s if grp.size == 1 else f"{s}[{k}]"
                    self.names.append(f"{grp.name}.{label}" if multi else label)
                    self.units.append(unit)
                    self.var_of.append((grp.name, s))
                    self._dims.append(grp.dims[s])

    # -- structure -------------------------------------------------------------
    def __repr__(self):
        kind = "map" if self.is_map else "flow"
        return f"<Field {self.name} ({self.plan.reading}, {kind}, n = {self.n})>"

    @property
    def variables(self):
        """State variables of the (first) unit model, e.g. ``["x", "y", "z"]``."""
        return [s for grp in self.groups for s in grp.states]

    def split(self, x):
        """``{group: [array per state variable]}`` views of a state vector (or matrix)."""
        out = {}
        for grp in self.groups:
            parts = []
            for b in range(grp.m):
                start = grp.offset + b * grp.size
                parts.append(x[start:start + grp.size])
            out[grp.name] = parts
        return out

    def indices(self, variable):
        """Indices in the state vector of a variable (``"v"``, ``"E.v"``, ``"h[3]"``)."""
        if variable in self.names:
            return np.array([self.names.index(variable)])
        group = None
        var = variable
        if "." in variable:
            group, var = variable.split(".", 1)
        idx = [k for k, (g, s) in enumerate(self.var_of) if s == var and (group is None or g == group)]
        if not idx:
            raise SpecError("<arguments>", "variable", "a state variable (" + ", ".join(
                dict.fromkeys(f"{g}.{s}" if len(self.groups) > 1 else s for g, s in self.var_of)) + ")",
                repr(variable), suggest(variable, [s for _, s in self.var_of] + self.names[:50]))
        return np.array(idx)

    # -- evaluation ------------------------------------------------------------
    def _inputs(self, xs):
        ins = {grp.name: {} for grp in self.groups}
        for c in self.couplings:
            for var, val in c.inputs(xs).items():
                ins[c.tgt.name][var] = ins[c.tgt.name].get(var, 0.0) + val
        return ins

    def f(self, x, t=0.0):
        """:math:`f(x, t)` of a flow (SI per time unit), or :math:`F(x)` of a map."""
        with np.errstate(all="ignore"):
            return self._f(x, t)

    def _f(self, x, t=0.0):
        if self._single:
            out = np.array(self.groups[0].compiled.f(*x, *self._tail, t * self._T), dtype=float)
            return out if self.is_map else out * self._T
        x = np.asarray(x, dtype=float)
        xs = self.split(x)
        ins = self._inputs(xs)
        out = np.empty(self.n)
        t_si = t * self._T
        for grp in self.groups:
            vals = grp.compiled.f(*grp.args(xs[grp.name], ins[grp.name], t_si))
            for b, v in enumerate(vals):
                start = grp.offset + b * grp.size
                out[start:start + grp.size] = v
        if not self.is_map:
            out *= self._T
        return out

    __call__ = f

    def f_and_jvp(self, x, Q, t=0.0, alpha=1.0, base=None, overwrite=False):
        """``(f(x, t), base + alpha * J(x, t) @ Q)`` sharing one evaluation; ``Q`` is ``(n, k)``.

        ``alpha`` and ``base`` let an integrator ask for ``Q + dt J Q`` (Euler) in one pass
        over ``Q``: scalar factors are folded into the coefficient vectors, ``+-1`` factors
        are not multiplied, and the result of the coupling product is updated in place.
        """
        with np.errstate(all="ignore"):
            if overwrite and base is Q:
                fast = self._plus_q_in_place(x, Q, t, alpha)
                if fast is not None:
                    return fast
            return self._f_and_jvp(x, Q, t, alpha, base)

    def _plus_q_in_place(self, x, Q, t, alpha):
        """``Q + alpha J Q`` written into ``Q`` by one BLAS call (``dgemm`` with ``beta``) for
        the structure of rate networks — one group, one variable, one dense linear coupling,
        scalar df/dh and df/du: ``(1 + s J_loc) Q + s K W (g' * Q)``. ``None`` otherwise."""
        if len(self.groups) != 1 or len(self.couplings) != 1 or Q.ndim != 2:
            return None
        grp, cpl = self.groups[0], self.couplings[0]
        if grp.m != 1 or len(grp.inputs) != 1 or len(cpl.terms) != 1 or cpl.terms[0][1] != "linear":
            return None
        W, gnames, gfn = cpl.terms[0][2]
        if not (isinstance(W, np.ndarray) and Q.flags.f_contiguous and Q.dtype == np.float64
                and W.flags.c_contiguous and W.shape[0] == W.shape[1] == self.n):
            return None
        xs = self.split(np.asarray(x, dtype=float))
        ins = self._inputs(xs)
        vals = grp.compiled.fj(*grp.args(xs[grp.name], ins[grp.name], t * self._T))
        f, jloc, K = vals[0], vals[1], vals[2]
        if np.ndim(jloc) or np.ndim(K):
            return None
        scale = float(alpha) * (1.0 if self.is_map else self._T)
        gv = gfn(*cpl._side_values(gnames, xs))
        d = np.broadcast_to(np.asarray(gv[1], float), (self.n,))
        P = (scale * float(K) * d)[:, None] * Q
        from scipy.linalg import blas

        out = blas.dgemm(1.0, W.T, P, beta=1.0 + scale * float(jloc), c=Q, trans_a=True,
                         overwrite_c=True)
        fv = np.array(np.broadcast_to(np.asarray(f, float), (self.n,)))
        if not self.is_map:
            fv *= self._T
        return fv, out

    def _f_and_jvp(self, x, Q, t=0.0, alpha=1.0, base=None):
        if self._single:
            m = self.n
            vals = self.groups[0].compiled.fj(*x, *self._tail, t * self._T)
            f = np.array(vals[:m], dtype=float)
            J = np.array(vals[m:m + m * m], dtype=float).reshape(m, m)
            if not self.is_map:
                f *= self._T
                J *= self._T
            JQ = J @ Q
            if alpha != 1.0:
                JQ *= alpha
            return f, (JQ if base is None else base + JQ)
        x = np.asarray(x, dtype=float)
        Q = np.asarray(Q, dtype=float)
        squeeze = Q.ndim == 1
        if squeeze:
            Q = Q[:, None]
            if base is not None:
                base = np.asarray(base, float)[:, None]
        plus_q = base is Q  # Q + alpha J Q: the identity joins the diagonal coefficients
        xs = self.split(x)
        Qs = self.split(Q)
        ins = self._inputs(xs)
        scale = float(alpha) * (1.0 if self.is_map else self._T)
        t_si = t * self._T
        f = np.empty(self.n)
        evaluated = {}
        factors = {}
        for grp in self.groups:
            m, r = grp.m, len(grp.inputs)
            vals = grp.compiled.fj(*grp.args(xs[grp.name], ins[grp.name], t_si))
            evaluated[grp.name] = vals
            kv = vals[m + m * m:]
            if m == 1:  # one output per unit: a scalar df/du is folded into the coupling product
                factors[grp.name] = {u: float(kv[c]) * scale for c, u in enumerate(grp.inputs)
                                     if np.ndim(kv[c]) == 0}
        din = {grp.name: {} for grp in self.groups}
        folded = {grp.name: set() for grp in self.groups}
        for c in self.couplings:
            fac = factors.get(c.tgt.name, {})
            for var, val in c.input_jvps(xs, Qs, fac).items():
                prev = din[c.tgt.name].get(var)
                din[c.tgt.name][var] = val if prev is None else prev + val
                if var in fac:
                    folded[c.tgt.name].add(var)
        blocks = []
        for grp in self.groups:
            m, r = grp.m, len(grp.inputs)
            vals = evaluated[grp.name]
            fv, jv, kv = vals[:m], vals[m:m + m * m], vals[m + m * m:]
            Qg = Qs[grp.name]
            for a in range(m):
                start = grp.offset + a * grp.size
                f[start:start + grp.size] = fv[a]
                acc = None
                for c_idx, u in enumerate(grp.inputs):  # coupling products: updated in place
                    du = din[grp.name].get(u)
                    if du is None:
                        continue
                    if u in folded[grp.name]:
                        acc = du if acc is None else _add_into(acc, du)
                    else:
                        acc = _axpy(acc, du, kv[a * r + c_idx], scale, owned=(m == 1))
                for b in range(m):
                    coeff = jv[a * m + b]
                    if plus_q and a == b:  # + Q, folded: (1/scale + J_aa) * scale
                        coeff = coeff + 1.0 / scale if scale != 0 else coeff
                    acc = _axpy(acc, Qg[b], coeff, scale, owned=False)
                if base is not None and not plus_q:
                    bb = base[start:start + grp.size]
                    acc = bb.copy() if acc is None else _add_into(acc, bb)
                if acc is None and plus_q:
                    acc = Qg[a].copy()
                blocks.append((start, grp.size, acc))
        if len(blocks) == 1 and blocks[0][1] == self.n and blocks[0][2] is not None:
            JQ = blocks[0][2]
        else:
            JQ = np.zeros_like(Q)
            for start, size, acc in blocks:
                if acc is not None:
                    JQ[start:start + size] = acc
        if not self.is_map:
            f *= self._T
        return f, (JQ[:, 0] if squeeze else JQ)

    def jvp(self, x, Q, t=0.0):
        """:math:`J(x, t)\\,Q` without forming :math:`J`."""
        return self.f_and_jvp(x, Q, t)[1]

    def jacobian(self, x, t=0.0):
        """The dense Jacobian :math:`\\partial f/\\partial x` (per time unit for flows).

        Assembled block by block (local derivatives on the diagonals, coupling blocks
        :math:`\\mathrm{diag}(\\partial f/\\partial u)\\,W\\,\\mathrm{diag}(g')`): O(n^2) work for
        dense couplings, no matrix product.
        """
        if self._single:
            return self.f_and_jvp(x, np.eye(self.n), t)[1]
        x = np.asarray(x, dtype=float)
        xs = self.split(x)
        ins = self._inputs(xs)
        J = np.zeros((self.n, self.n))
        t_si = t * self._T
        K = {}
        for grp in self.groups:
            m, r, N = grp.m, len(grp.inputs), grp.size
            vals = grp.compiled.fj(*grp.args(xs[grp.name], ins[grp.name], t_si))
            jv, kv = vals[m:m + m * m], vals[m + m * m:]
            idx = np.arange(N)
            for a in range(m):
                for b in range(m):
                    J[grp.offset + a * N + idx, grp.offset + b * N + idx] += jv[a * m + b]
            K[grp.name] = kv
        by_name = {grp.name: grp for grp in self.groups}
        for c in self.couplings:
            tgt = by_name[c.tgt.name]
            for u, side, b, block in c.input_blocks(xs):
                src = by_name[c.src.name] if side == "pre" else tgt
                cu = tgt.inputs.index(u)
                r = len(tgt.inputs)
                cols = slice(src.offset + b * src.size, src.offset + (b + 1) * src.size)
                for a in range(tgt.m):
                    d = K[tgt.name][a * r + cu]
                    if np.ndim(d) == 0 and d == 0:
                        continue
                    rows = slice(tgt.offset + a * tgt.size, tgt.offset + (a + 1) * tgt.size)
                    J[rows, cols] += (np.asarray(d)[:, None] if np.ndim(d) else d) * block
        if not self.is_map:
            J *= self._T
        return J

    def residual(self, x, t=0.0):
        """:math:`f(x)` for a flow, :math:`F(x) - x` for a map: zero at fixed points."""
        r = self.f(x, t)
        return r - x if self.is_map else r

    def residual_scale(self, x, t=0.0):
        r"""Per component, the size of what cancels at a root: :math:`\sum_i |f_{a,i}(x)|`.

        :math:`f_a = \sum_i f_{a,i}` is the expanded right-hand side (products multiplied
        out, every summand its own term; a summed coupling input is one term). For a map
        the residual is :math:`F(x) - x`, so :math:`|x_a|` is added. A point is a root to
        relative accuracy :math:`\epsilon` where :math:`|f_a| \le \epsilon\,\sum_i |f_{a,i}|`:
        the terms cancel. At the vertex of the quadratic integrate-and-fire parabola above
        rheobase :math:`|f|` is a few per cent of its terms: a minimum of :math:`|f|`, not a root.
        """
        x = np.asarray(x, dtype=float)
        xs = self.split(x)
        ins = self._inputs(xs) if self.couplings else {grp.name: {} for grp in self.groups}
        out = np.empty(self.n)
        t_si = t * self._T
        for grp in self.groups:
            fn = _terms_function(grp.compiled)
            vals = fn(*grp.args(xs[grp.name], ins[grp.name], t_si))
            for b, v in enumerate(vals):
                start = grp.offset + b * grp.size
                out[start:start + grp.size] = v
        if self.is_map:
            out += np.abs(x)
        else:
            out *= self._T
        return out

    @property
    def resets(self):
        """True if some group has a threshold *and* a reset (integrate-and-fire type units)."""
        return any(_threshold_reset(grp) for grp in self.groups)

    def threshold_crossed(self, x):
        """``[(group, unit, condition text, parameter values text)]`` for every unit with a
        threshold and a reset whose threshold condition holds at the state ``x``: a state the
        neuron never rests in, since it is reset there (a root there is not a fixed point).
        A threshold without a reset (spike detection, as for Hodgkin–Huxley) excludes nothing."""
        x = np.asarray(x, dtype=float)
        xs = self.split(x)
        out = []
        for grp in self.groups:
            cond = _threshold_reset(grp)
            if not cond:
                continue
            fn, names, params = _threshold_function(grp, cond)
            values = dict(zip(grp.states, xs[grp.name]))
            values.update(zip(grp.compiled.uvars, grp.uvar_values))
            values.update(params)
            values.update({"i": grp.index, "N": float(grp.size), "t": 0.0})
            with np.errstate(all="ignore"):
                hit = np.broadcast_to(np.asarray(fn(*[values[n] for n in names]), dtype=bool), (grp.size,))
            shown = _threshold_parameters_text(grp, cond)
            out.extend((grp.name, int(k), str(cond), shown) for k in np.flatnonzero(hit))
        return out

    def residual_jacobian(self, x, t=0.0):
        J = self.jacobian(x, t)
        return J - np.eye(self.n) if self.is_map else J

    # -- parameters and states -------------------------------------------------
    def with_params(self, **values):
        """The same model with other parameter values (text with units, or quantities)."""
        overrides = dict(self._overrides)
        overrides.update(values)
        return read(self.plan.resolved.spec, self._params_arg, overrides, self._variants,
                    reading=self.plan.reading, seed=self.plan.seed)

    def parameter(self, name):
        """``(value, unit_text)`` of a parameter in its declared unit (spec parameters) or
        in SI (model variables set as parameters)."""
        spec = self.plan.spec
        from .._quantity import parse_unit

        if name in spec.parameters:
            unit = spec.parameters[name].unit
            _, scale = parse_unit(unit)
            return float(np.asarray(self.plan.namespace[name])) / scale, unit
        for grp in self.groups:
            if name in grp.compiled.uvars:
                v = grp.uvar_values[grp.compiled.uvars.index(name)]
                if np.ndim(v):
                    raise BiodynError(f"{name} differs between units: not a scalar parameter")
                return float(v), _si_unit_text(grp.dims.get(name))
        raise SpecError("<arguments>", "parameter", "a parameter of " + self.name + " (" +
                        ", ".join(list(spec.parameters) + [u for g in self.groups for u in g.compiled.uvars])
                        + ")", repr(name), suggest(name, list(spec.parameters)))

    def parameter_text(self, name, value):
        """Text with unit for ``value`` of parameter ``name`` (in the unit of :meth:`parameter`)."""
        _, unit = self.parameter(name)
        return repr(float(value)) if unit in ("1", "") else f"{float(value)!r}*{unit}"

    def x0(self, seed=None):
        """The initial state: the spec's ``[initial]`` (random parts drawn with ``seed``)."""
        from ._plan import initial_values

        init = initial_values(self.plan, seed)
        x = np.zeros(self.n)
        for grp in self.groups:
            for b, s in enumerate(grp.states):
                if s in init.get(grp.name, {}):
                    start = grp.offset + b * grp.size
                    x[start:start + grp.size] = init[grp.name][s]
        return x

    def value_text(self, k, value, digits=6):
        """Text of ``value`` (SI) of component ``k`` in its best unit: ``"-35 mV"``."""
        return quantity_text(value, self._dims[k], digits)

    def state_text(self, x, limit=None, digits=6):
        """``"v = -35 mV, w = 0.1 nA"`` (the first ``limit`` components; ``", ..."`` after)."""
        k_max = self.n if limit is None else min(self.n, limit)
        text = ", ".join(f"{self.names[k]} = {self.value_text(k, x[k], digits)}" for k in range(k_max))
        return text + (", ..." if k_max < self.n else "")

    def state_dict(self, x):
        """``{component name: value}`` (SI)."""
        return {n: float(v) for n, v in zip(self.names, x)}

    def ranges(self):
        """``(lo, hi)`` per component from the spec's ``[ranges]`` (NaN where not given)."""
        lo = np.full(self.n, np.nan)
        hi = np.full(self.n, np.nan)
        for k, (g, s) in enumerate(self.var_of):
            if s in self.plan.ranges:
                lo[k], hi[k] = self.plan.ranges[s]
        return lo, hi


def quantity_text(value, dim, digits=6):
    """``value`` (SI, of dimension ``dim``) as text in Brian2's best unit: ``"-35 mV"``."""
    from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity

    value = float(value)
    if dim is None or dim is DIMENSIONLESS or not np.isfinite(value):
        return f"{value:.{digits}g}"
    q = Quantity(value, dim=dim)
    best = q.get_best_unit()
    return f"{float(q / best):.{digits}g} {best}"


def state_text(state, units=None, limit=4, digits=6):
    """``"v = -35 mV, w = 102 pA"`` from ``{name: SI value}`` and ``{name or variable: SI unit
    text}`` (as in an analysis summary); the first ``limit`` components, ``", ..."`` after."""
    from brian2.units.fundamentalunits import DIMENSIONLESS

    from .._quantity import parse_unit

    units = units or {}
    items = list(state.items())
    parts = []
    for name, value in items[:limit]:
        unit = units.get(name, units.get(name.split("[")[0].split(".")[-1], "1"))
        dim = DIMENSIONLESS
        if unit not in (None, "", "1"):
            try:
                dim, scale = parse_unit(unit)
                value = float(value) * scale
            except Exception:  # an unknown unit text: the SI number with it
                parts.append(f"{name} = {float(value):.{digits}g} {unit}")
                continue
        parts.append(f"{name} = {quantity_text(value, dim, digits)}")
    return ", ".join(parts) + (", ..." if len(items) > limit else "")


def _threshold_text_value(value):
    from brian2.units.fundamentalunits import Quantity, get_dimensions

    if isinstance(value, Quantity):
        return quantity_text(float(np.asarray(value)), get_dimensions(value))
    return f"{float(np.asarray(value)):.6g}"


def _si_unit_text(dim):
    from brian2.units.fundamentalunits import DIMENSIONLESS, get_unit

    if dim is None or dim is DIMENSIONLESS:
        return "1"
    return repr(get_unit(dim))
