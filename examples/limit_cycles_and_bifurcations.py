"""Limit cycles and their bifurcations: four classic demonstrations with known numbers.

(a) Wilson & Cowan (1972) E-I populations (parameter set 'limit_cycle') in the input P: the
    equilibrium curve with its folds and Hopf point, and the branch of limit cycles born at the
    Hopf point (max/min of E), continued by multiple shooting until its period diverges.
(b) Van der Pol's period against mu: T -> 2 pi as mu -> 0 (harmonic oscillator), T = 6.6633
    at mu = 1, and T ~ (3 - 2 ln 2) mu + 7.014 mu^(-1/3) for relaxation oscillations at large mu
    (Cartwright 1952; Dorodnitsyn 1947; Strogatz 2015, section 7.5: the leading term).
(c) Roessler (1976) with a = b = 0.2: the period-doubling cascade of its cycle in c, each level
    found by branch switching at the previous period doubling (Kuznetsov 2004, 10.3.3), drawn
    over the local maxima of x of simulated orbits (the orbit diagram).
(d) The logistic map x -> r x (1 - x): its cascade r_1 = 3, r_2 = 1 + sqrt(6), ... and the
    ratios delta_j = (r_j - r_{j-1})/(r_{j+1} - r_j) tending to Feigenbaum's 4.6692016
    (Feigenbaum 1978), over the map's orbit diagram.

Times are in the models' time unit tau (biodyn's systems are written with time in units of
tau). All numbers are printed; one figure with four panels is written.

Run:  python examples/limit_cycles_and_bifurcations.py [OUT_FOLDER]    (default: results/)
      (about a minute on one core)
The same analyses from the command line:
    biodyn analyze bifurcation wilson_cowan --param P --range -1 4
    biodyn analyze cycles van_der_pol --set mu=5
    biodyn analyze cycles logistic --max-period 8
"""

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from biodyn import dynamics, jobs, plot

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
out.mkdir(parents=True, exist_ok=True)
fig, axes = plt.subplots(2, 2, figsize=(12.0, 9.0))
ax_wc, ax_vdp, ax_ro, ax_lo = np.ravel(axes)

# (a) Wilson-Cowan in P: equilibria, folds, Hopf point and the cycles born there
wc = jobs.analyze_bifurcation("wilson_cowan", "P", -1, 4, out=out, variable="E").summary
for p in wc["points"]:
    print(f"Wilson-Cowan: {p['type']} at P = {p['value']:.4f}")
for b in wc["cycle_branches"]:
    v, T = np.asarray(b["values"]), np.asarray(b["periods"])
    print(f"Wilson-Cowan cycles from the Hopf point at P = {b['hopf']:.4f}: P in [{v.min():.4f}, "
          f"{v.max():.4f}], period {T.min():.3f} to {T.max():.1f} tau "
          f"({'stable' if all(b['stable']) else 'partly unstable'}); end: {b['end'] or 'range'}")
plot.bifurcation_diagram(wc, ax_wc, variable="E")
plot.cycle_branches(wc, ax_wc, "E")
ax_wc.set_title("(a) Wilson-Cowan: equilibria and cycles in P")

# (b) van der Pol: period against mu, with both asymptotes
mus = np.geomspace(0.05, 30, 16)
periods = []
for mu in mus:
    cyc = dynamics.find_cycle(dynamics.read("van_der_pol", overrides={"mu": f"{mu:.6g}"}))
    periods.append(cyc.period)
periods = np.array(periods)
relax = (3 - 2 * np.log(2)) * mus
for mu, T in zip(mus, periods):
    print(f"van der Pol mu = {mu:7.3f}: T = {T:8.4f} tau   (2 pi = 6.2832; (3 - 2 ln 2) mu = "
          f"{(3 - 2 * np.log(2)) * mu:7.3f}; + 7.014 mu^(-1/3) = {(3 - 2 * np.log(2)) * mu + 7.014 * mu ** (-1 / 3):7.3f})")
T1 = dynamics.find_cycle(dynamics.read("van_der_pol", overrides={"mu": "1"})).period
print(f"van der Pol mu = 1: T = {T1:.4f} tau (published 6.6633)")
ax_vdp.loglog(mus, periods, "o-", color="k", ms=4, label="biodyn (multiple shooting)")
ax_vdp.axhline(2 * np.pi, color="C0", ls="--", lw=1, label=r"$2\pi$ (small $\mu$)")
ax_vdp.loglog(mus, relax, color="C3", ls="--", lw=1, label=r"$(3 - 2\ln 2)\,\mu$")
big = mus > 0.8
ax_vdp.loglog(mus[big], relax[big] + 7.014 * mus[big] ** (-1 / 3), color="C3", ls=":", lw=1,
              label=r"$(3 - 2\ln 2)\,\mu + 7.014\,\mu^{-1/3}$")
ax_vdp.set_xlabel(r"$\mu$")
ax_vdp.set_ylabel(r"period ($\tau$)")
ax_vdp.set_title("(b) van der Pol: period against $\\mu$")
ax_vdp.legend(fontsize=8)

# (c) Roessler: the cascade in c by continuation and branch switching
ro = dynamics.read("rossler", overrides={"c": "2.5"})
cc = dynamics.continue_cycles(ro, "c", 2.0, 4.5, cycle=dynamics.find_cycle(ro), max_steps=150)
pd = min((p for p in cc.points if p.type == "period_doubling"), key=lambda p: p.value)
cascade = [pd]
while len(cascade) < 4:
    nxt = dynamics.continue_cycles(ro, "c", 2.0, 6.0, period_doubling=cascade[-1], max_steps=150)
    later = [p for p in nxt.points if p.type == "period_doubling" and p.value > cascade[-1].value + 1e-4]
    if not later:
        break
    cascade.append(min(later, key=lambda p: p.value))
c_pd = np.array([p.value for p in cascade])
for p in cascade:
    print(f"Roessler: period doubling at c = {p.value:.5f} (cycle period {p.period:.4f} tau before "
          "doubling)")
d_ro = (c_pd[1:-1] - c_pd[:-2]) / (c_pd[2:] - c_pd[1:-1])
print("Roessler delta estimates: " + ", ".join(f"{d:.3f}" for d in d_ro) + "  (Feigenbaum 4.669)")
# the orbit diagram: all values of c at once, classical RK4 (step 0.01 tau), maxima of x
cs = np.linspace(2.0, 6.0, 201)


def rossler(s, a=0.2, b=0.2):
    x, y, z = s
    return np.array([-y - z, x + a * y, b + z * (x - cs)])


s, h = np.tile(np.array([[1.0], [1.0], [0.0]]), (1, cs.size)), 0.01
xs = []
for step in range(70000):
    k1 = rossler(s)
    k2 = rossler(s + 0.5 * h * k1)
    k3 = rossler(s + 0.5 * h * k2)
    k4 = rossler(s + h * k3)
    s = s + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    if step >= 40000:
        xs.append(s[0].copy())
xs = np.array(xs)
peak = (xs[1:-1] > xs[:-2]) & (xs[1:-1] >= xs[2:])
for j, c in enumerate(cs):
    ax_ro.plot(np.full(peak[:, j].sum(), c), xs[1:-1, j][peak[:, j]], ",", color="0.3")
for p in cascade:
    ax_ro.axvline(p.value, color="C3", lw=0.8, ls="--")
ax_ro.set_xlabel("c")
ax_ro.set_ylabel("local maxima of x")
ax_ro.set_title("(c) Roessler: period doublings (dashed) over the orbit diagram")

# (d) the logistic map: cascade and Feigenbaum ratios
lm = dynamics.read("logistic")
cas = dynamics.period_doubling_cascade(lm, "r", 2.5, 3.57, levels=7)
for k, r in zip(cas.periods, cas.values):
    print(f"logistic: period {k} -> {2 * k} at r = {r:.8f}")
print(f"  (exact r_1 = 3, r_2 = 1 + sqrt(6) = {1 + np.sqrt(6):.8f})")
print("logistic delta estimates: " + ", ".join(f"{d:.4f}" for d in cas.deltas) + "  (Feigenbaum 4.6692016)")
rs = np.linspace(2.8, 4.0, 1200)
x = np.full_like(rs, 0.3)
for _ in range(600):
    x = rs * x * (1 - x)
for _ in range(200):
    x = rs * x * (1 - x)
    ax_lo.plot(rs, x, ",", color="0.3", alpha=0.4)
for r in cas.values:
    ax_lo.axvline(r, color="C3", lw=0.6, ls="--")
ax_lo.set_xlabel("r")
ax_lo.set_ylabel("x (after transients)")
ax_lo.set_title("(d) logistic map: period doublings (dashed), $\\delta$ = "
                + f"{cas.deltas[-1]:.4f}")

fig.tight_layout()
path = out / "limit_cycles_and_bifurcations.png"
fig.savefig(path, dpi=110)
print(f"figure: {path}")
