"""Speed of continuing the Hodgkin–Huxley cycle branch from the Hopf point through the fold of cycles.

The unstable cycles born at the subcritical Hopf point (I = 9.78 uA/cm**2; Hassard 1978) are
continued in I down through the fold of cycles at I = 6.26 uA/cm**2 (Rinzel & Miller 1980) and
back up the stable spiking branch to I = 10 uA/cm**2 (range [5, 10]), by

* biodyn — ``biodyn.dynamics.continue_cycles(F, "I", lo, hi, hopf=...)`` on the catalog's
           ``hodgkin_huxley`` (multiple shooting with variational and parameter-sensitivity
           equations, LSODA; adaptive number of segments; multipliers from the cyclic block
           matrix; folds located by regula falsi on the tangent's parameter component);
* plain  — a plain scipy loop written here: the HH equations in numpy (mV, ms), pseudo-arclength
           continuation of multiple shooting (8 segments: single shooting does not converge on
           the unstable branch, whose leading multiplier reaches ~1e9) with
           ``scipy.integrate.solve_ivp`` (LSODA, rtol 1e-9) and ``scipy.optimize.fsolve`` (its
           finite-difference Jacobian); the fold located by refining the turning point of I
           along the arc (bisection on dI/ds by re-solving at intermediate arclengths) to the
           same accuracy as biodyn's (|difference of the fold values| is printed); it stops
           once past the fold at 6.26 (biodyn goes on up the spiking branch to I = 10, and
           continues with its default step control), or after 30 min.

Printed: both times, both fold values, and ``ratio plain/biodyn: X``. Goal: biodyn faster.
Times are wall-clock of one run each (the machine is shared: compare the ratio, not the
absolute numbers). Run: ``python benchmarks/cycles.py``.
"""

from __future__ import annotations

import os
import time

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

LO, HI = 5.0, 10.0          # uA/cm**2


# --------------------------------------------------------------------------
# plain scipy
# --------------------------------------------------------------------------


def _exprel(x):
    return np.where(np.abs(x) < 1e-8, 1.0 + x / 2, np.expm1(x) / np.where(x == 0, 1.0, x))


def hh(t, y, I):
    """Hodgkin & Huxley (1952), rest at -65 mV, 6.3 C; v in mV, t in ms, I in uA/cm**2."""
    v, m, h, n = y
    am = 1.0 / _exprel(-(v + 40.0) / 10.0)
    bm = 4.0 * np.exp(-(v + 65.0) / 18.0)
    ah = 0.07 * np.exp(-(v + 65.0) / 20.0)
    bh = 1.0 / (1.0 + np.exp(-(v + 35.0) / 10.0))
    an = 0.1 / _exprel(-(v + 55.0) / 10.0)
    bn = 0.125 * np.exp(-(v + 65.0) / 80.0)
    dv = 120.0 * m ** 3 * h * (50.0 - v) + 36.0 * n ** 4 * (-77.0 - v) + 0.3 * (-54.387 - v) + I
    return np.array([dv, am * (1 - m) - bm * m, ah * (1 - h) - bh * h, an * (1 - n) - bn * n])


SX = np.array([100.0, 1.0, 1.0, 1.0])   # scales of v (mV) and the gates
ST, SI = 10.0, 10.0                      # scales of T (ms) and I (uA/cm**2)
M_SEG = 8


def jac_fd(fun, x, *args):
    f0 = fun(x, *args)
    J = np.empty((len(f0), len(x)))
    for k in range(len(x)):
        dx = 1e-7 * max(1.0, abs(x[k]))
        xp = x.copy()
        xp[k] += dx
        J[:, k] = (fun(xp, *args) - f0) / dx
    return J


def equilibrium(I, x):
    from scipy.optimize import fsolve

    return fsolve(lambda y: hh(0, y, I), x, xtol=1e-13)


def plain_hopf():
    """The Hopf point: the real part of the leading eigenvalue of the rest state crosses 0."""
    from scipy.optimize import brentq

    x = np.array([-65.0, 0.05, 0.6, 0.32])
    state = {"x": x}

    def re(I):
        state["x"] = equilibrium(I, state["x"])
        lam = np.linalg.eigvals(jac_fd(lambda y: hh(0, y, I), state["x"]))
        return np.max(lam.real)

    I_H = brentq(re, 9.0, 10.5, xtol=1e-10)
    xH = equilibrium(I_H, state["x"])
    lam, V = np.linalg.eig(jac_fd(lambda y: hh(0, y, I_H), xH))
    k = int(np.argmax(lam.imag))
    return I_H, xH, lam[k].imag, V[:, k]


def flow(x, tau, I):
    from scipy.integrate import solve_ivp

    sol = solve_ivp(hh, (0.0, tau), x, method="LSODA", rtol=1e-9, atol=1e-9 * SX, args=(I,),
                    jac=lambda t, y, I: jac_fd(lambda z: hh(0, z, I), y))
    if not sol.success:
        raise RuntimeError(sol.message)
    return sol.y[:, -1]


def residual(y, xref, fref):
    X = y[:4 * M_SEG].reshape(M_SEG, 4) * SX
    T, I = y[-2] * ST, y[-1] * SI
    out = []
    for i in range(M_SEG):
        out.append((flow(X[i], T / M_SEG, I) - X[(i + 1) % M_SEG]) / SX)
    out.append([fref @ ((X[0] - xref) / SX)])
    return np.concatenate(out)


def plain_continuation(ds=0.05, max_steps=400, max_time=1800.0):
    from scipy.optimize import fsolve

    t0 = time.perf_counter()
    I_H, xH, w, q = plain_hopf()
    T0 = 2 * np.pi / w
    ts = np.arange(M_SEG) * T0 / M_SEG
    U = np.array([np.real(q * np.exp(1j * w * t)) for t in ts])
    U /= np.max(np.abs(U) / SX)
    yH = np.concatenate([np.ravel(np.tile(xH, (M_SEG, 1)) / SX), [T0 / ST, I_H / SI]])
    tan = np.concatenate([np.ravel(U / SX), [0.0, 0.0]])
    tan /= np.linalg.norm(tan)

    def solve(y_pred, tan):
        X = y_pred[:4 * M_SEG].reshape(M_SEG, 4) * SX
        xref = X[0].copy()
        fref = hh(0, xref, y_pred[-1] * SI) * SX
        fref /= np.linalg.norm(fref)
        sol, info, ier, msg = fsolve(
            lambda y: np.concatenate([residual(y, xref, fref), [tan @ (y - y_pred)]]),
            y_pred, full_output=True, xtol=1e-10)
        return sol if ier == 1 else None

    pd_test = []

    def tangent(y, prev, record=True):
        X = y[:4 * M_SEG].reshape(M_SEG, 4) * SX
        xref = X[0].copy()
        fref = hh(0, xref, y[-1] * SI) * SX
        fref /= np.linalg.norm(fref)
        A = jac_fd(residual, y, xref, fref)
        P = np.eye(4)                     # the monodromy matrix (scaled), for a PD check
        for i in range(M_SEG):
            P = A[4 * i:4 * i + 4, 4 * i:4 * i + 4] @ P
        if record:
            pd_test.append((y[-1] * SI, float(np.linalg.det(P + np.eye(4)))))
        t = np.linalg.solve(np.vstack([A, prev]), np.r_[np.zeros(len(y) - 1), 1.0])
        t /= np.linalg.norm(t)
        return t if t @ prev > 0 else -t

    y = solve(yH + 0.01 * np.linalg.norm(np.ravel(U / SX)) * tan, tan)
    if y is None:
        raise RuntimeError("plain: no small cycle near the Hopf point")
    tan = tangent(y, tan)
    if tan @ (y - yH) < 0:
        tan = -tan
    pts, tans = [y], [tan]
    h = ds
    folds = []
    for _ in range(max_steps):
        yn = solve(y + h * tan, tan)
        if yn is None:
            h *= 0.5
            if h < 1e-6:
                break
            continue
        tn = tangent(yn, tan)
        if tn[-1] * tan[-1] < 0:              # the parameter turned: a fold of cycles
            a, b, ya, ta = 0.0, float(np.linalg.norm(yn - y)), y, tan
            for _ in range(30):                # bisection on the sign of dI/ds along the arc
                c = 0.5 * (a + b)
                yc = solve(ya + c * ta, ta)
                if yc is None:
                    break
                tc = tangent(yc, ta, record=False)
                if tc[-1] * ta[-1] > 0:
                    a = c
                else:
                    b = c
                if (b - a) < 1e-7:
                    break
            folds.append(yc[-1] * SI)
        y, tan = yn, tn
        pts.append(y)
        tans.append(tan)
        h = min(1.3 * h, 0.2)
        if any(f < 7.0 for f in folds):       # past the onset fold (6.26): stop (biodyn goes on
            break                             # up the spiking branch to I = 10: more work)
        if time.perf_counter() - t0 > max_time:
            print(f"plain: stopped after {max_time:.0f} s at I = {y[-1] * SI:.4f} without reaching "
                  "the fold at 6.26")
            break
        if y[-1] * SI < LO:
            break
    # det(M + I) changes sign where a real multiplier crosses -1 (an independent check of the
    # period doublings biodyn reports; from the finite-difference segment matrices)
    pds = [0.5 * (a[0] + b[0]) for a, b in zip(pd_test[:-1], pd_test[1:]) if a[1] * b[1] < 0]
    return time.perf_counter() - t0, folds, np.array([p[-1] * SI for p in pts]), pds


# --------------------------------------------------------------------------
# biodyn
# --------------------------------------------------------------------------


def biodyn_continuation():
    from biodyn import dynamics

    F = dynamics.read("hodgkin_huxley")
    t0 = time.perf_counter()
    c = dynamics.continuation(F, "I", LO / 100, HI / 100)   # A/m**2 = 100 uA/cm**2
    (h,) = [p for p in c.points if p.type == "hopf"]
    t_hopf = time.perf_counter() - t0
    cc = dynamics.continue_cycles(F, "I", LO / 100, HI / 100, hopf=h, max_steps=200)
    t = time.perf_counter() - t0
    folds = [p.value * 100 for p in cc.points if p.type == "cycle_fold"]
    return t, t_hopf, folds, cc


def main():
    tb, th, fb, cc = biodyn_continuation()
    print(f"biodyn: {tb:.1f} s (Hopf point {th:.1f} s); folds of cycles at I = "
          + ", ".join(f"{v:.5f}" for v in fb) + " uA/cm**2")
    print("biodyn: period doublings at I = "
          + ", ".join(f"{p.value * 100:.5f}" for p in cc.points if p.type == "period_doubling"))
    tp, fp, vals, pds = plain_continuation()
    print(f"plain:  {tp:.1f} s; folds of cycles at I = " + ", ".join(f"{v:.5f}" for v in fp)
          + f" uA/cm**2 ({len(vals)} points); det(M + I) changes sign near I = "
          + ", ".join(f"{v:.4f}" for v in pds))
    lowb, lowp = min(fb), (min(fp) if fp else float("nan"))
    print(f"lowest fold (onset of repetitive firing): biodyn {lowb:.5f}, plain {lowp:.5f}, "
          f"difference {abs(lowb - lowp):.1e} uA/cm**2 (Rinzel & Miller 1980: 6.26)")
    print(f"ratio plain/biodyn: {tp / tb:.2f}")


if __name__ == "__main__":
    main()
