"""Principal subspace, two learners: Oja's subspace rule in Brian2 vs a linear autoencoder (GD).

One dataset (200 samples in 5 dimensions whose covariance has eigenvalues 4, 3, 1, 0.8, 0.6
exactly) is learnt by

* k = 2 linear rate neurons with the catalog's ``oja_subspace`` synapses (Oja 1989), simulated
  in Brian2, a sample per 1 ms step, eta = 1 Hz (learning time s = eta t);
* a linear autoencoder x -> W2 W1 x trained by full-batch gradient descent (Baldi & Hornik
  1989), step lr in the same learning time, starting from the same weights.

Both find the span of the top-2 eigenvectors. The printout compares the measured convergence
rates with the linearisations at the end states: Oja's averaged flow converges at the gap
lambda_2 - lambda_3 = 2; the autoencoder at the smallest non-zero Hessian eigenvalue, which the
balanced-minimum closed form gives (0.458 here, *not* the gap). The figure has the subspace
angles, the gradient alignment, both trajectories (as the maps W'W and W2 W1) in one PCA
projection, and the rates.

Run:  python examples/compare_oja_vs_backprop.py [OUT_FOLDER]      (default: results/)
The same from the command line:
    biodyn compare oja_vs_backprop --json results/oja_vs_backprop.json
"""

import sys
from pathlib import Path

from biodyn import compare, jobs

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results")

result = jobs.compare("oja_vs_backprop", seed=1, out=out, json=out / "oja_vs_backprop.json",
                      settings={"duration": "12 second", "record_interval": "20 ms", "lr": 0.02})
S = result.summary["summary"]
lin_oja, lin_ann = S["linearisation_oja"], S["linearisation_ann"]
print(f"eigenvalues {S['eigenvalues']}, k = {S['k']}: gap lambda_k - lambda_k+1 = {S['gap']:.3f}")
print(f"final subspace angles: Oja in Brian2 {S['final_angle_bio']:.2e} (noise floor "
      f"{S['noise_floor_bio']:.2e}), averaged flow {S['final_angle_flow']:.2e}, autoencoder "
      f"{S['final_angle_ann']:.2e} rad")
print(f"Oja: averaged flow rate {S['rate_flow']:.4f}, Jacobian's slowest rate {lin_oja['slowest_rate']:.6f}, "
      f"gap {S['gap']:.4f}")
print(f"Oja in Brian2: rate {S['rate_bio']:.3f} over s in {S['rate_bio_window']}, averaged flow over the "
      f"same window {S['rate_flow_same_window']:.3f}")
print(f"autoencoder: slowest Hessian mode decays at {S['rate_ann_slowest_mode']:.4f}, GD map's rate "
      f"{lin_ann['gd_map_rate']:.4f} (Hessian eigenvalue {lin_ann['slowest_rate']:.4f}; balanced "
      f"closed form {S['predicted_rate_ann']:.4f}); subspace angle {S['rate_ann']:.4f}")
print("Jacobian singular values at the end: W2 W1 " + " ".join(f"{v:.4f}" for v in S["jacobian_spectrum_ann"])
      + "; W'W " + " ".join(f"{v:.4f}" for v in S["jacobian_spectrum_bio"]))
a = result.comparison.series["alignment_flow"]
print(f"alignment cos(Oja update, -grad L) along the averaged flow: start {a[0]:.6f}, min {a.min():.4f}, "
      f"end {a[-1]:.9f} (1 once W W' = I)")
print(f"wrote {result.paths['figure']} and {result.paths['json']}")
assert set(compare.JSON_KEYS) == set(result.summary)
