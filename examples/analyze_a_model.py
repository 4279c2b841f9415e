"""Analyse catalog models as dynamical systems: fixed points, a bifurcation, Lyapunov exponents.

Every model of the catalog is also a vector field whose Jacobian biodyn derives from the same
Brian2 equations. Here:

1. the Wilson & Cowan (1972) E-I populations in their hysteresis regime: fixed points and their
   classes, then the folds that bound the bistable range of the input P;
2. the Lorenz (1963) system: its Lyapunov spectrum by the QR method (literature: 0.906, 0,
   -14.57 per unit time), and the same largest exponent from two trajectories;
3. a figure of the bifurcation diagram.

Run:  python examples/analyze_a_model.py [OUT_FOLDER]      (default: results/)
The same analyses from the command line:
    biodyn analyze fixed-points wilson_cowan --params bistable
    biodyn analyze bifurcation wilson_cowan --params bistable --param P --range -1 1
    biodyn analyze lyapunov lorenz --duration 100 --dt 0.01 --json lorenz.json
"""

import sys
from pathlib import Path

from biodyn import dynamics, plot

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results")

# 1. Fixed points of the Wilson-Cowan equations (parameter set 'bistable', P = 0)
wc = dynamics.read("wilson_cowan", params="bistable")
for fp in dynamics.find_fixed_points(wc):
    E, I = fp.state
    print(f"Wilson-Cowan fixed point E = {E:.4f}, I = {I:.4f}: {fp.type}")

# ... and where the bistability ends: folds of the equilibrium curve in the input P
cont = dynamics.continuation(wc, "P", -1, 1)
for p in cont.points:
    print(f"{p.type} at P = {p.value:.4f}")

# 2. The Lorenz spectrum (time in units of the model's tau) and the two-trajectory check
lorenz = dynamics.read("lorenz")
qr = dynamics.lyapunov_spectrum(lorenz, duration=100, dt=0.01, transient=10)
lam = ", ".join(f"{v:.3f} ± {e:.3f}" for v, e in zip(qr.exponents, qr.standard_error))
print(f"Lorenz Lyapunov spectrum: {lam} per {qr.time_unit}")
print(f"Kaplan-Yorke dimension {qr.kaplan_yorke:.3f}; sum {qr.exponents.sum():.3f} "
      f"(divergence -(sigma + 1 + beta) = {-(10 + 1 + 8 / 3):.3f})")
two = dynamics.two_trajectory_exponent(lorenz, duration=100, dt=0.01, transient=10)
print(f"largest exponent from two trajectories: {two.exponents[0]:.3f} ± {two.standard_error[0]:.3f}")

# 3. The bifurcation diagram, drawn from the continuation's plain-data summary
summary = dict(cont.as_dict(variables=["E"]), model="wilson_cowan")
ax = plot.bifurcation_diagram(summary, variable="E")
path = plot.save(ax, out / "wilson_cowan_hysteresis.png")
print(f"figure: {path}")
