"""Selectivity, two learners: the BCM rule in Brian2 vs gradient ascent on Intrator & Cooper's
objective.

A linear rate neuron sees one of two patterns, (1, 0.3) and (0.3, 1), each with probability
1/2, a new one every 1 ms step (the bcm_selectivity protocol's patterns). The catalog's ``bcm``
synapses (Law & Cooper 1994 threshold, tau_theta = 50 ms, eta = 2 Hz) learn it in Brian2;
gradient ascent on R(w) = eta (E[y^3]/3 - E[y^2]^2/4) (Intrator & Cooper 1992, as
biodyn.flow states it) learns it in numpy. Both become selective: y = 1/p = 2 for one pattern
and 0 for the other. The selective states are stationary points of R and fixed points of the
averaged BCM flow, stable on both readings while the threshold is fast; with a slow threshold
(tau_theta = 5 s) the BCM flow loses them (an oscillation) although R still has its maxima
there.

Run:  python examples/compare_bcm_vs_gradient.py [OUT_FOLDER]      (default: results/)
The same from the command line:
    biodyn compare bcm_vs_gradient --set eta='2 Hz' --set tau_theta='50 ms' --set duration='15 second'
"""

import sys
from pathlib import Path

import numpy as np

from biodyn import compare, jobs

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results")

result = jobs.compare("bcm_vs_gradient", seed=0, out=out, json=out / "bcm_vs_gradient.json",
                      settings={"eta": "2 Hz", "tau_theta": "50 ms", "duration": "15 second"})
S = result.summary["summary"]
for k, st in enumerate(S["selective_states"]):
    print(f"selective state {k}: w = {np.round(st['w'], 4).tolist()}, y = {np.round(st['y'], 6).tolist()}, "
          f"|grad R| = {st['gradient_norm']:.1e}, |f| = {st['field_norm']:.1e}, Hessian eigenvalues of R "
          f"{np.round(st['hessian_eigenvalues'], 4).tolist()}, |J_f - H_R| = {st['jacobian_vs_hessian']:.1e}, "
          f"stable with the threshold as a state: {st['stable_with_threshold_state']}")
print(f"BCM (Brian2) ends in state {S['final_state_bio']} (distance {S['final_distance_bio']:.3f}, "
      f"selectivity {S['final_selectivity_bio']:.3f}); the ascent on R in state {S['final_state_ann']} "
      f"(distance {S['final_distance_ann']:.1e}, selectivity {S['final_selectivity_ann']:.4f}); "
      f"perfect selectivity {S['perfect_selectivity']}")
print(f"|adiabatic BCM field - grad R| along the run: {S['adiabatic_field_vs_gradient']:.1e}; "
      f"median alignment with the simulated threshold {S['median_alignment']:.3f}")

slow = compare.bcm_vs_gradient(seed=0, tau_theta="5 second", duration="100 ms")
st = slow.summary["selective_states"][0]
print(f"tau_theta = 5 s: stable on the objective {st['stable_on_objective']}, stable with the threshold "
      f"as a state {st['stable_with_threshold_state']} (eigenvalues "
      + ", ".join(f"{a:.3f}{b:+.3f}j" for a, b in zip(st["state_field_eigenvalues_real"],
                                                      st["state_field_eigenvalues_imag"])) + ")")
print(f"wrote {result.paths['figure']} and {result.paths['json']}")
