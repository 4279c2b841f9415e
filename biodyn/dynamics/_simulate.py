"""Trajectories of fields and maps in numpy (fixed-step RK4/Euler, or iteration), and the
default time step of a flow.

These are the numpy reading of a model (for phase portraits, starting points of root
finding, transients); Brian2 runs of the same plan are in :mod:`._brian`.
"""

from __future__ import annotations

import numpy as np

from ._lyapunov import stepper_for

__all__ = ["trajectory", "default_dt", "fast_rate"]


def fast_rate(field, x, t=0.0):
    """The largest modulus of the Jacobian's eigenvalues at ``x`` (1/time unit): the fastest
    linear rate. Uses the dense Jacobian for n <= 400, else a power-iteration estimate."""
    n = field.n
    if n <= 400:
        lam = np.linalg.eigvals(field.jacobian(x, t))
        return float(np.max(np.abs(lam))) if lam.size else 0.0
    rng = np.random.default_rng(0)
    v = rng.standard_normal(n)
    v /= np.linalg.norm(v)
    est = 0.0
    for _ in range(30):
        w = field.jvp(x, v, t)
        est = float(np.linalg.norm(w))
        if est == 0:
            return 0.0
        v = w / est
    return est


def default_dt(field, x=None, t=0.0, fraction=0.05, samples=None):
    """A time step of a flow: ``fraction`` of the fastest linear time scale at ``x`` (and at
    the points of ``samples``), rounded down to 1, 2 or 5 times a power of ten."""
    if field.is_map:
        return 1.0
    x = field.x0() if x is None else x
    rates = [fast_rate(field, x, t)]
    for s in (samples if samples is not None else []):
        rates.append(fast_rate(field, s, t))
    rate = max(r for r in rates if np.isfinite(r)) if rates else 0.0
    if rate <= 0:
        return 0.01
    dt = fraction / rate
    exp = np.floor(np.log10(dt))
    mant = dt / 10 ** exp
    mant = 5.0 if mant >= 5 else 2.0 if mant >= 2 else 1.0
    return float(mant * 10 ** exp)


def trajectory(field, x0=None, duration=None, dt=None, *, integrator="rk4", t0=0.0, every=1,
               bound=1e12):
    """States of a flow (fixed step) or a map (iterations) from ``x0``.

    Stops early (and returns what it has) if the state leaves ``|x| < bound`` or becomes
    non-finite — trajectories that blow up (a saddle-node past its fold) are legal.

    Returns
    -------
    times : (m,) array
        In the field's time unit (iterations for maps).
    states : (m, n) array
    """
    x = np.array(field.x0() if x0 is None else x0, dtype=float)
    if dt is None:
        dt = default_dt(field, x)
    stepper = stepper_for(field, dt, integrator)
    h = stepper.dt
    n_steps = int(round(duration / h))
    times, states = [t0], [x.copy()]
    t = t0
    for k in range(n_steps):
        x = stepper.step(x, t)
        t += h
        if not np.all(np.isfinite(x)) or np.max(np.abs(x)) > bound:
            break
        if (k + 1) % every == 0:
            times.append(t)
            states.append(x.copy())
    return np.array(times), np.array(states)
