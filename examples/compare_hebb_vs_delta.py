"""Association, two learners: supervised Hebb in Brian2 vs the delta rule (gradient descent).

A linear associator y = W x learns targets y = A x + noise. The catalog's ``hebb`` synapses
with decay (gamma = eta: dW/dt = eta (y x' - W)) between input rates and rate neurons clamped to
the targets learn in Brian2; the delta rule (Widrow & Hoff 1960: gradient descent on the
squared error of biodyn.ann.linear_associator) learns in numpy, on the same samples.

* correlated inputs (C_xx = 0.4 I + 0.6 11'): Hebb ends at the outer-product memory C_yx, the
  delta rule at the least-squares solution C_yx C_xx^-1 — different points, and the Hebbian
  update turns away from the gradient as it learns;
* orthonormal inputs (C_xx = I): the two fixed points and the two flows are the same, and
  the alignment cos(Hebb update, -grad L) is 1 throughout.

Run:  python examples/compare_hebb_vs_delta.py [OUT_FOLDER]      (default: results/)
The same from the command line:
    biodyn compare hebb_vs_delta --set inputs=orthonormal --json results/hebb.json
"""

import sys
from pathlib import Path

import numpy as np

from biodyn import jobs

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results")

for inputs in ("correlated", "orthonormal"):
    result = jobs.compare("hebb_vs_delta", seed=2, out=out / inputs, json=out / inputs / "hebb_vs_delta.json",
                          settings={"inputs": inputs, "duration": "6 second"})
    S = result.summary["summary"]
    a = np.asarray(result.summary["series"]["alignment"], float)
    print(f"{inputs} inputs: |C_yx - W_LS| = {S['fixed_point_distance']:.3e}; Hebb (Brian2) ends "
          f"{S['final_error_hebb_bio']:.3e} from C_yx, the delta rule {S['final_error_ls_ann']:.3e} from "
          f"W_LS; loss at C_yx {S['loss_at_C_yx']:.4f}, at W_LS {S['loss_at_W_ls']:.4f}; alignment "
          f"min {np.nanmin(a):.6f}, end {a[-1]:.6f}")
    print(f"wrote {result.paths['figure']}")
